#!/usr/bin/env python3
# shim_probe.py - the peer of tests/tools/shim_probe.c: connects, then does what each line the
# probe sends says, until the probe's FIN.
#
#   shim_probe.py IP PORT
#
#   send N   send N bytes (digits, letters or x's)
#   later N  the same, 0.3 s from now
#   drain    wait 1.5 s (the probe fills its send buffer), then read the NULs it sent
#   split    send "abc", 100 ms later "def"
#   (EOF)    send "bye" and shut down our side
import socket
import sys
import time

c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20)
buf = bytearray()
payload = {10: b"0123456789", 5: b"abcde", 3: b"xyz"}


def line():
    while b"\n" not in buf:
        b = c.recv(65536)
        if not b:
            return None
        buf.extend(b)
    i = buf.index(b"\n")
    s = bytes(buf[:i]).decode()
    del buf[:i + 1]
    return s


while True:
    cmd = line()
    if cmd is None:
        c.sendall(b"bye")
        c.shutdown(socket.SHUT_WR)
        time.sleep(0.5)
        break
    if cmd.startswith("send "):
        c.sendall(payload[int(cmd[5:])])
    elif cmd.startswith("later "):
        time.sleep(0.3)
        c.sendall(payload[int(cmd[6:])])
    elif cmd == "drain":
        time.sleep(1.5)
        while True:     # the NULs, up to the next line
            while buf and buf[0] == 0:
                del buf[0]
            if buf:
                break
            b = c.recv(1 << 20)
            if not b:
                break
            buf.extend(b)
    elif cmd == "split":
        c.sendall(b"abc")
        time.sleep(0.1)
        c.sendall(b"def")
    else:
        sys.exit("shim_probe.py: unknown command %r" % cmd)
