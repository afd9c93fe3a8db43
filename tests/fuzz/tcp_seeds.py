#!/usr/bin/env python3
# tcp_seeds.py - write the hand-made seeds of tcp_fuzz (tests/fuzz/corpus/tcp/), one program each,
# in tcp_fuzz.c's encoding.  Run from the repository root; the seed files are checked in.
# Files named regression_* in that directory are inputs the fuzzer found, kept as they were.
import os
import struct

G_RAW, G_NEIGH_UNKNOWN, G_APP, G_LIMITS, G_VLAN = 1, 2, 4, 8, 16
CONNECT, SEG, TICK, RAW, LISTEN, APP, APP_CONNECT, ADDR, FLUSH = range(9)
ECHO, SINK, APPP, CLOSED = 0, 1, 2, 3      # port index of CONNECT
FIN, SYN, RST, PSH, ACK, URG = 1, 2, 4, 8, 16, 32

MSS = bytes([2, 4, 0x05, 0xb4])
WS = bytes([3, 3, 7])
SACKP = bytes([4, 2])
TS = bytes([8, 10, 0, 0, 0, 1, 0, 0, 0, 0])
NOP = bytes([1])


def op(kind, arg=0):
    return bytes([kind | arg << 4])


def connect(port=ECHO, v6=False, half=False, opts=b""):
    return op(CONNECT, int(v6) | port << 1 | int(half) << 3) + bytes([len(opts)]) + opts


def seg(conn=0, flags=ACK, dseq=0, dack=0, win=65535, plen=0, opts=b"", doff=0, cut=0, addr2=False):
    return (op(SEG, conn | int(addr2) << 3) + bytes([flags]) + struct.pack("<hhH", dseq, dack, win)
            + bytes([plen, len(opts)]) + opts + bytes([doff | cut << 4]))


def tick(n=1):
    out = b""
    while n > 0:
        out += op(TICK, min(n, 16) - 1)
        n -= 16
    return out


def app(conn, sub, n=0):
    return op(APP, conn) + bytes([sub]) + struct.pack("<H", n)


def raw(frame, fix=True):
    return op(RAW, int(fix)) + struct.pack("<H", len(frame)) + frame


def eth(ethertype):
    return bytes([2, 0, 0xc6, 0x12, 0, 1, 2, 0, 0xc6, 0x12, 0, 2]) + struct.pack(">H", ethertype)


def tcp4(flags, doff=5, opts=b"", payload=b"", sport=40000, dport=7):
    th = struct.pack(">HHIIBBHHH", sport, dport, 1, 0, doff << 4, flags, 65535, 0, 0) + opts + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(th), 0, 0, 64, 6, 0,
                     bytes([198, 18, 0, 2]), bytes([198, 18, 0, 1]))
    return eth(0x0800) + ip + th


seeds = {
    "handshake_echo_close": bytes([0]) + connect() + seg(flags=PSH | ACK, plen=2) + tick()
    + seg(flags=FIN | ACK) + tick(4),
    "syn_options": bytes([0]) + connect(opts=MSS + WS + SACKP + TS + NOP + NOP)
    + seg(flags=PSH | ACK, plen=200) + tick(2),
    "syn_garbage_options": bytes([0]) + connect(opts=bytes([2, 0, 3, 1, 0xff, 40, 8, 2, 4, 1]))
    + connect(opts=bytes([2, 4, 0, 0])) + connect(opts=bytes([3, 3, 200])) + seg(1, flags=ACK, plen=5),
    "data_options_and_bad_offsets": bytes([0]) + connect() + seg(flags=ACK | PSH, plen=3, opts=TS)
    + seg(flags=ACK, plen=2, doff=15) + seg(flags=ACK, plen=2, doff=3) + seg(flags=ACK, plen=4, cut=5),
    "out_of_order": bytes([0]) + connect(SINK) + seg(flags=ACK, dseq=1200, plen=200)
    + seg(flags=ACK, dseq=2400, plen=200) + seg(flags=ACK, plen=200) + tick(2),
    "zero_window_and_probes": bytes([0]) + connect() + seg(flags=ACK, win=0)
    + seg(flags=ACK | PSH, plen=100, win=0) + tick(8) + seg(flags=ACK, win=1) + tick(4)
    + seg(flags=ACK, win=65535) + tick(2),
    "rst_syn_fin_in_states": bytes([0]) + connect(half=True) + seg(flags=RST)
    + connect() + seg(1, flags=SYN) + seg(1, flags=RST, dseq=100) + seg(1, flags=RST)
    + connect() + seg(2, flags=FIN | ACK) + tick() + seg(2, flags=RST | ACK)
    + connect() + seg(3, flags=SYN | FIN | RST | PSH | URG | ACK, plen=1) + tick(),
    "ipv6": bytes([0]) + connect(v6=True, opts=MSS + WS) + seg(flags=PSH | ACK, plen=40)
    + seg(flags=FIN | ACK) + tick(3),
    "vlan": bytes([G_VLAN]) + connect() + seg(flags=PSH | ACK, plen=10) + tick(),
    "app_listen_read_send_close": bytes([G_APP]) + connect(APPP) + seg(flags=PSH | ACK, plen=50)
    + app(0, 0, 100) + app(0, 1, 3000) + tick() + app(0, 2) + seg(flags=FIN | ACK) + app(0, 3),
    # Regression: an app unlistens while a connection to it is half-open; the ACK that completes
    # the handshake used to reach the freed listener (ASan: heap-use-after-free).
    "unlisten_half_open": bytes([G_APP]) + connect(APPP, half=True) + op(LISTEN, 1)
    + seg(flags=ACK) + tick(2),
    "syn_flood_limits": bytes([G_LIMITS]) + b"".join(connect(ECHO, half=True) for _ in range(5))
    + connect(SINK, half=True) + connect(SINK) + tick(90),
    "app_connect_out": bytes([0]) + op(APP_CONNECT, 2) + seg(flags=SYN | ACK) + app(0, 1, 10)
    + seg(flags=ACK, plen=1) + tick() + app(0, 4),
    "neighbour_unknown_and_address_gone": bytes([G_NEIGH_UNKNOWN]) + op(ADDR, 0)
    + connect() + tick() + seg(flags=ACK | PSH, plen=4) + op(ADDR, 1) + tick(),
    "raw_frames": bytes([G_RAW]) + b"".join(
        struct.pack("<H", len(f)) + f for f in
        [tcp4(SYN), tcp4(SYN, doff=15), tcp4(SYN, doff=2), tcp4(ACK | PSH, payload=b"xx"), eth(0x0800)[:10]]),
    "raw_fixed_checksums": bytes([0]) + raw(tcp4(SYN, doff=6, opts=bytes([2, 4, 0, 1])))
    + raw(tcp4(SYN, doff=8, opts=bytes([0xff] * 12))) + raw(tcp4(SYN), fix=False) + op(FLUSH),
}

out = "tests/fuzz/corpus/tcp"
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
print(f"{len(seeds)} seeds in {out}")
