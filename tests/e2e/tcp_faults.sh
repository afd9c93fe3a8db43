#!/bin/bash
# tcp_faults.sh - TCP through loss, duplication and reordering in both directions (a relay
# namespace between the peer and ixdpd), resets mid-stream, peers closing or half-closing with
# data in flight, the same 4-tuple reused, TCP over IPv6, and the peer reconnecting after ixdpd
# restarts.  Every byte must arrive intact, and nothing is left behind.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
need_root

netns_up_relay 2
# 1 % loss, 1 % duplication, 5 % reordering, each direction.
ip netns exec "$ns_relay" "$NETTOOL" impair r0 r1 300 -l 10000 -d 10000 -o 50000 -r 5 \
	>"$tmp_dir/relay.log" 2>&1 &
relay=$!
_pids+=("$relay")
ixdpd_start --workers 2 --echo-tcp 7000

out=$(in_peer "$NETTOOL" tcp-streams "$DUT_IP" 7000 32 -n 1 -m 1048576 -r 21 -t 200) ||
	fail "through loss, duplication and reordering: $out"
retrans=$(stats_json | jq '[.workers[].tcp.retrans] | add')
[ "$retrans" -gt 0 ] || fail "no retransmission counted through a lossy relay"
ok "1 % loss, 1 % duplication, 5 % reordering both ways: $(echo "$out" | tail -1), $retrans retransmitted by ixdpd"

# The relay really did all three, both ways: it says so when it ends (SIGTERM, bounded wait).
kill -TERM "$relay"
for _ in $(seq 50); do kill -0 "$relay" 2>/dev/null || break; sleep 0.1; done
kill -0 "$relay" 2>/dev/null && fail "the relay ignored SIGTERM"
wait "$relay" || fail "relay exit status $?: $(cat "$tmp_dir/relay.log")"
sed 's/^/      relay: /' "$tmp_dir/relay.log"
[ "$(awk '/: forwarded / && $5 > 0 && $7 > 0 && $9 > 0' "$tmp_dir/relay.log" | wc -l)" -eq 2 ] ||
	fail "the relay did not drop, duplicate and reorder in both directions"
did=$(awk '/: forwarded / { d += $5; u += $7; o += $9 }
	END { printf "dropped %d, duplicated %d, reordered %d frames", d, u, o }' "$tmp_dir/relay.log")
ok "the relay $did, each of the three in both directions"

ixdpd_stop || fail "ixdpd exit status $?"
for ns in "$ns_dut" "$ns_peer" "$ns_relay"; do ip netns del "$ns"; done

# The same 4-tuple again and again; IPv6; the peer reconnecting after a restart.
netns_up 2
ipv6_up
ixdpd_start --workers 2 --echo-tcp 7000
# Resets half way through: the server side is torn down, the others finish intact.  (On a
# lossless link: a lost RST leaves a half-open connection on any TCP server until it sends.)
out=$(in_peer "$NETTOOL" tcp-streams "$DUT_IP" 7000 64 -n 1000 -m 200000 -r 22 -A 300000 \
	-t 200) || fail "with resets: $out"
conns_zero 80 ||
	fail "reset connections left on the server: $(stats_json | jq -c '[.workers[].tcp]')"
json=$(stats_json)
[ "$(echo "$json" | jq '[.workers[].tcp.opened] | add')" -eq \
	"$(echo "$json" | jq '[.workers[].tcp.closed] | add')" ] || fail "opened != closed"
ok "streams reset half way ($(echo "$out" | tail -1)): every server connection closed"

# Closed with data in flight: 32 peers write to the echo until the windows close (up to 4 MiB,
# never reading), then close(): the kernel resets (unread data) while ixdpd still has echo data
# queued.  Nothing may be left behind: connections, frames.
aborts=$(in_peer nstat -az TcpExtTCPAbortOnClose | awk '/Tcp/ { print $2 }')
out=$(timeout 30 ip netns exec "$ns_peer" python3 -c '
import socket, sys, threading
sent = []
def one():
	s = socket.socket()
	s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
	s.settimeout(5)
	s.connect((sys.argv[1], 7000))
	s.settimeout(1)
	buf, n = bytes(65536), 0
	try:
		while n < 4 << 20:
			n += s.send(buf)
	except socket.timeout:
		pass
	s.close()
	sent.append(n)
t = [threading.Thread(target=one) for _ in range(32)]
[x.start() for x in t]
[x.join() for x in t]
print("%d connections closed after writing %d to %d bytes" % (len(sent), min(sent or [0]),
      max(sent or [0])))
sys.exit(0 if len(sent) == 32 and min(sent) > 0 else 1)' "$DUT_IP") ||
	fail "closing with data in flight: $out"
aborts=$(($(in_peer nstat -az TcpExtTCPAbortOnClose | awk '/Tcp/ { print $2 }') - aborts))
[ "$aborts" -eq 32 ] || fail "the peer reset $aborts connections on close, not 32"
conns_zero ||
	fail "connections closed with data in flight left on the server: $(stats_json |
		jq -c '[.workers[].tcp]')"
ok "$out, each reset by the peer: every server connection closed"
# Half-closed with data in flight: the FIN arrives while the echo is still under way.
out=$(timeout 60 ip netns exec "$ns_peer" python3 -c '
import os, socket, sys, threading
good, bad = [], []
def write(s, data):
	s.sendall(data)
	s.shutdown(socket.SHUT_WR)
def one(i):
	data, got = os.urandom(1 << 20), bytearray()
	try:
		s = socket.create_connection((sys.argv[1], 7000), timeout=20)
		w = threading.Thread(target=write, args=(s, data))
		w.start()
		while True:
			b = s.recv(65536)
			if not b:
				break
			got += b
		w.join()
		s.close()
	except OSError as e:
		bad.append("%d: %s" % (i, e))
		return
	(good if got == data else bad).append("%d: %d of %d bytes" % (i, len(got), len(data)))
t = [threading.Thread(target=one, args=(i,)) for i in range(32)]
[x.start() for x in t]
[x.join() for x in t]
print("%d connections wrote 1 MiB, half-closed at once and got it back intact%s" %
      (len(good), "; " + "; ".join(bad[:4]) if bad else ""))
sys.exit(0 if len(good) == 32 else 1)' "$DUT_IP") || fail "half-closed with data in flight: $out"
ok "$out"
out=$(in_peer "$NETTOOL" tcp-streams "$DUT_IP" 7000 32 -n 1 -m 1048576 -r 25 -t 60) ||
	fail "after connections closed with data in flight: $out"
ok "still serving: $(echo "$out" | tail -1)"
pool_full
ok "idle again: every frame back in the pool ($(stats_json | jq -c '.af_xdp | {frames, frames_free, frames_kernel}'))"

out=$(in_peer "$NETTOOL" tcp-reconnect "$DUT_IP" 7000 40000 50) || fail "4-tuple reuse: $out"
ok "$out"

out=$(in_peer "$NETTOOL" tcp-streams "$DUT_IP6" 7000 32 -n 1 -m 2097152 -r 23) ||
	fail "IPv6: $out"
ok "IPv6 ($DUT_IP6): $(echo "$out" | tail -1)"
out=$(in_peer "$NETTOOL" tcp-reconnect "$DUT_IP6" 7000 40001 10) || fail "IPv6 reuse: $out"
[ "$(in_peer nstat -az TcpInCsumErrors | awk '/Tcp/ { print $2 }')" -eq 0 ] ||
	fail "checksum errors at the peer"

ixdpd_stop || fail "ixdpd exit status $?"
ixdpd_start --workers 2 --echo-tcp 7000
out=$(in_peer "$NETTOOL" tcp-streams "$DUT_IP" 7000 16 -n 1 -m 100000 -r 24) ||
	fail "after a restart: $out"
ok "the peer connects again after ixdpd restarted: $(echo "$out" | tail -1)"
ixdpd_stop || fail "ixdpd exit status $?"
