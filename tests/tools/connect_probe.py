#!/usr/bin/env python3
# connect_probe.py - outgoing connections, the same calls on the kernel and under the shim, for
# tests/e2e/shim.sh, which runs it twice (plain, then under ixdp-run) and compares what it
# prints line by line.
#
#   connect_probe.py PEER_IP ECHO_PORT CLOSED_PORT LOOPBACK_PORT
#
# ECHO_PORT: an echo server on PEER_IP; CLOSED_PORT: nothing listens there (refused);
# LOOPBACK_PORT: a kernel echo server on 127.0.0.1 beside us.  Checks a blocking connect and
# its names, a non-blocking one (EINPROGRESS, EPOLLOUT, SO_ERROR 0), connect again (0 the
# first time after EINPROGRESS, then EISCONN),
# reads and writes both ways, a refused connect, blocking (ECONNREFUSED) and non-blocking (the
# epoll events of a failed connect, SO_ERROR once, then 0), a read on the failed socket, and a
# loopback connect.  Every line is a value both stacks must give alike.
import errno
import select
import socket
import sys

peer, port, closed, lo = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])


def err(e):
    return errno.errorcode.get(e, str(e)) if e else "0"


def events(mask):
    names = [("IN", select.EPOLLIN), ("OUT", select.EPOLLOUT), ("ERR", select.EPOLLERR),
             ("HUP", select.EPOLLHUP), ("RDHUP", select.EPOLLRDHUP)]
    return " ".join(n for n, b in names if mask & b) or "none"


def echo(s, data):
    s.sendall(data)
    got = b""
    while len(got) < len(data):
        b = s.recv(65536)
        if not b:
            break
        got += b
    return got == data


c = socket.create_connection((peer, port), timeout=10)
print("blocking connect: ok")
print("local:", c.getsockname()[0], "port set:", c.getsockname()[1] != 0)
print("peer:", c.getpeername())
print("echo 1 KiB:", echo(c, b"a" * 1024))
print("echo 1 MiB:", echo(c, bytes(range(256)) * 4096))
print("connect again:", err(c.connect_ex((peer, port))))
print("and again:", err(c.connect_ex((peer, port))))
c.close()

s = socket.socket()
s.setblocking(False)
print("non-blocking connect:", err(s.connect_ex((peer, port))))
ep = select.epoll()
ep.register(s.fileno(), select.EPOLLOUT | select.EPOLLIN)
evs = ep.poll(10)
print("epoll:", [events(m) for _, m in evs])
print("so_error:", s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
print("connect again:", err(s.connect_ex((peer, port))))
print("and again:", err(s.connect_ex((peer, port))))
s.send(b"ping")
select.select([s], [], [], 10)
print("recv:", s.recv(64))
ep.close()
s.close()

r = socket.socket()
r.settimeout(10)
try:
    r.connect((peer, closed))
    print("refused connect: 0")
except OSError as e:
    print("refused connect:", err(e.errno))
r.close()

r = socket.socket()
r.setblocking(False)
print("non-blocking refused:", err(r.connect_ex((peer, closed))))
ep = select.epoll()
ep.register(r.fileno(), select.EPOLLOUT | select.EPOLLIN | select.EPOLLRDHUP)
evs = ep.poll(10)
print("epoll:", [events(m) for _, m in evs])
print("so_error:", err(r.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)))
print("so_error again:", r.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
try:
    print("recv after:", r.recv(16))
except OSError as e:
    print("recv after:", err(e.errno))
ep.close()
r.close()

l = socket.create_connection(("127.0.0.1", lo), timeout=10)
print("loopback echo:", echo(l, b"over loopback"))
l.close()
print("end")
