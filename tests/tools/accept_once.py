#!/usr/bin/env python3
# accept_once.py - a one-connection server for tests/e2e/shim.sh: listens on 0.0.0.0:PORT (a
# blocking socket: accept and recv block), says "listening", accepts one connection, sends back
# PREFIX and what the first recv got, then waits for the client to close first (so that the
# server's side ends without TIME_WAIT) and exits.
#
#   accept_once.py PORT [PREFIX]
import socket
import sys

ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("0.0.0.0", int(sys.argv[1])))
ls.listen(4)
print("listening", flush=True)
c, _ = ls.accept()
c.sendall((sys.argv[2] if len(sys.argv) > 2 else "").encode() + c.recv(64))
c.recv(1)
c.close()
