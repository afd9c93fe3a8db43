#!/usr/bin/env python3
# echo_hold.py - hold echo connections open and make one round trip on each every PERIOD_MS,
# until STOPFILE exists: a live connection that must keep working while the daemon changes
# something under it (tests/lib/netns.sh, hold_start).
#
#   echo_hold.py IP PORT CONNS PERIOD_MS STOPFILE
#
# Prints "open" once every connection is up, then one line per round, "round R broken B" (B:
# connections that failed so far; a failed one is not used again), and "broken: WHY" for each
# failure.  Exit 0 at STOPFILE, 1 once no connection is left (or none could be opened).
import os
import socket
import sys
import time

ip, port, n, period_ms, stop = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    int(sys.argv[4]), sys.argv[5]
try:
    conns = [socket.create_connection((ip, port), timeout=5) for _ in range(n)]
except OSError as e:
    print("broken: connect:", e, flush=True)
    sys.exit(1)
print("open", flush=True)
alive, r = list(conns), 0
while not os.path.exists(stop):
    r += 1
    msg = b"r%06d\n" % r
    for c in list(alive):
        try:
            c.sendall(msg)
            got = b""
            while len(got) < len(msg):
                b = c.recv(len(msg) - len(got))
                if not b:
                    raise OSError("closed")
                got += b
            if got != msg:
                raise OSError("echoed %r for %r" % (got, msg))
        except OSError as e:
            alive.remove(c)
            print("broken:", e, flush=True)
    print("round %d broken %d" % (r, n - len(alive)), flush=True)
    if not alive:
        sys.exit(1)
    time.sleep(period_ms / 1000)
