#!/usr/bin/env python3
# redis_hold.py - connections held across a redis BGSAVE, for tests/e2e/shim_redis.sh: opens N
# connections to redis at HOST:PORT, checks each with PING, says "held" and waits for a line on
# stdin (the test forks the BGSAVE child meanwhile and lets it finish), then reads KEYS keys
# k1..kKEYS back over every one of them, round robin, each value checked ("v<i>"), and closes
# them.  Prints "ok N connections, M gets" or exits 1 with what was wrong.
#
#   redis_hold.py HOST PORT N KEYS
import socket
import sys


def fail(msg):
    print("redis_hold: " + msg, flush=True)
    sys.exit(1)


class Conn:
    def __init__(self, host, port):
        self.s = socket.create_connection((host, port), timeout=10)
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            got = self.s.recv(65536)
            if not got:
                fail("connection closed by redis")
            self.buf += got
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln

    def exact(self, n):
        while len(self.buf) < n + 2:
            got = self.s.recv(65536)
            if not got:
                fail("connection closed by redis")
            self.buf += got
        v, self.buf = self.buf[:n], self.buf[n + 2:]
        return v

    def call(self, *args):
        req = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode()
            req += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(req)
        ln = self.line()
        if ln[:1] == b"$":
            n = int(ln[1:])
            return None if n < 0 else self.exact(n)
        if ln[:1] == b"-":
            fail("redis error: " + ln.decode())
        return ln[1:]


host, port, n, keys = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
conns = [Conn(host, port) for _ in range(n)]
for c in conns:
    if c.call("PING") != b"PONG":
        fail("no PONG")
print("held", flush=True)
sys.stdin.readline()
gets = 0
for i in range(1, keys + 1):
    got = conns[i % n].call("GET", "k%d" % i)
    if got != b"v%d" % i:
        fail("k%d read back %r on connection %d" % (i, got, i % n))
    gets += 1
for c in conns:
    c.s.close()
print("ok %d connections, %d gets" % (n, gets), flush=True)
