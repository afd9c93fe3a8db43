#!/usr/bin/env python3
# thread_echo.py - a thread-per-connection echo server for tests/e2e/shim.sh: the main thread
# accepts on 0.0.0.0:PORT (blocking) and hands each connection to a new thread, which echoes
# with blocking recv/sendall until the peer's EOF, closes and exits.  Says "listening" when it
# listens; stops on SIGTERM.
#
#   thread_echo.py PORT
import signal
import socket
import sys
import threading


def serve(c):
    with c:
        while True:
            b = c.recv(65536)
            if not b:
                return
            c.sendall(b)


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("0.0.0.0", int(sys.argv[1])))
ls.listen(64)
print("listening", flush=True)
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
