#!/usr/bin/env python3
# epoll_echo.py - an ordinary epoll echo server (Python's own select.epoll, socket module):
# for tests/e2e/shim.sh, which runs it unmodified under ixdp-run.
#
#   epoll_echo.py PORT [et]      listen on the wildcard address, echo every byte, until SIGTERM
#
# Non-blocking sockets, level-triggered (edge-triggered with "et", reading and writing until
# EAGAIN), partial writes kept and finished on EPOLLOUT.  Prints "listening" once ready and, at
# SIGTERM, "served N bytes M conns".
import errno
import select
import signal
import socket
import sys

port = int(sys.argv[1])
et = len(sys.argv) > 2 and sys.argv[2] == "et"
stop = False


def term(sig, frame):
    global stop
    stop = True


signal.signal(signal.SIGTERM, term)
ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("0.0.0.0", port))
ls.listen(128)
ls.setblocking(False)
ep = select.epoll()
flag = select.EPOLLET if et else 0
ep.register(ls.fileno(), select.EPOLLIN | flag)
conns, pending, served, nconns = {}, {}, 0, 0
print("listening", flush=True)
while not stop:
    try:
        events = ep.poll(1.0)
    except InterruptedError:
        continue
    for fd, ev in events:
        if fd == ls.fileno():
            while True:
                try:
                    c, _ = ls.accept()
                except BlockingIOError:
                    break
                c.setblocking(False)
                c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                conns[c.fileno()] = c
                pending[c.fileno()] = b""
                nconns += 1
                ep.register(c.fileno(), select.EPOLLIN | select.EPOLLRDHUP | flag)
                if not et:
                    break
            continue
        c = conns.get(fd)
        if c is None:
            continue
        closed = False
        if ev & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR):
            while True:
                try:
                    b = c.recv(65536)
                except BlockingIOError:
                    break
                except OSError:
                    closed = True
                    break
                if not b:
                    closed = True
                    break
                pending[fd] += b
                if not et:
                    break
        if pending[fd]:
            try:
                n = c.send(pending[fd])
                served += n
                pending[fd] = pending[fd][n:]
            except BlockingIOError:
                pass
            except OSError:
                closed = True
        if closed and not pending[fd]:
            ep.unregister(fd)
            c.close()
            del conns[fd], pending[fd]
            continue
        want = select.EPOLLIN | select.EPOLLRDHUP | flag
        if pending[fd]:
            want |= select.EPOLLOUT
        ep.modify(fd, want)
print("served %d bytes %d conns" % (served, nconns), flush=True)
