#!/bin/bash
# shim.sh - unmodified socket apps on ixdp through libix-preload.so (ixdp-run): Python's own
# epoll echo server, level- and edge-triggered, serves streams from the kernel TCP of the peer
# namespace through ixdp (ixdpd counts the app connections; no established kernel socket on
# the port), a loopback client reaches the same wildcard listener through the kernel, and
# everything is reclaimed when the app exits; without ixdpd, ixdp-run refuses to start.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
need_root

RUN=$BUILD/bin/ixdp-run
export IXDP_CONTROL=$CONTROL

netns_up 2
ixdpd_start --workers 2 || fail "ixdpd did not start"

# app_start NAME READY CMD...: CMD in the DUT namespace (stdout NAME.out, stderr NAME.log in
# $tmp_dir), $pid its pid, once READY is in NAME.out, or, for READY ":PORT", the port listens.
# Not in_dut (a function: & would make a subshell): $pid must be the app itself.
app_start() {
	local name=$1 ready=$2
	shift 2
	ip netns exec "$ns_dut" "$@" >"$tmp_dir/$name.out" 2>"$tmp_dir/$name.log" &
	pid=$!
	_pids+=("$pid")
	for _ in $(seq 100); do
		if [ "${ready#:}" != "$ready" ]; then
			in_dut ss -tln "sport = $ready" | grep -q LISTEN && return 0
		else
			grep -q "$ready" "$tmp_dir/$name.out" && return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	fail "$name did not start: $(tail -5 "$tmp_dir/$name.log")"
}
app_fds() { find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l; }

# leak_check NAME FDS0: the app's fd count is back to FDS0 and ixdpd holds no connection
# (waits 5 s for the last closes).
leak_check() {
	local name=$1 fds0=$2 fds
	for _ in $(seq 50); do
		fds=$(app_fds)
		[ "$fds" -eq "$fds0" ] && conns_zero 1 && return 0
		sleep 0.1
	done
	fail "$name: fds $fds (at the start $fds0): $(ls -l "/proc/$pid/fd" | tail -n +2 |
		awk '{ print $9 $10 $11 }' | tr '\n' ' '); ixdpd's connections:
		$("$IXDPCTL" --control "$CONTROL" conns)"
}
# gone_check NAME APPS0: once the app exited, ixdpd is back to APPS0 contexts.
gone_check() {
	for _ in $(seq 50); do
		[ "$(apps_now)" -eq "$2" ] && return 0
		sleep 0.1
	done
	fail "$1: ixdpd still has $(apps_now) app contexts (before it $2)"
}
apps0=$(apps_now)

# ask WHERE ADDR PORT MESSAGE: a client in a namespace (WHERE: in_peer or in_dut) sends MESSAGE
# (with Python's backslash escapes: \r\n) to ADDR:PORT and prints what one recv of the answer
# gets.
ask() {
	"$1" python3 -c '
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
c.sendall(sys.argv[3].encode().decode("unicode_escape").encode())
print(c.recv(64).decode())' "$2" "$3" "$4" 2>&1
}

# Without ixdpd answering: a clear refusal, exit 1 (no silent fallback).
out=$(IXDP_CONTROL=$tmp_dir/none.sock "$RUN" true 2>&1) && fail "ixdp-run ran without ixdpd"
echo "$out" | grep -q "ixdpd is not running" || fail "unclear refusal: $out"
IXDP_CONTROL=$tmp_dir/none.sock IXDP_FALLBACK=kernel "$RUN" true ||
	fail "IXDP_FALLBACK=kernel did not run the app"
ok "no ixdpd: ixdp-run refuses ($out); IXDP_FALLBACK=kernel runs it"

for mode in lt et; do
	port=7101
	[ "$mode" = et ] && port=7102
	app_start "echo-$mode" listening env IXDP_DEBUG=1 "$RUN" python3 tests/tools/epoll_echo.py \
		"$port" $mode
	grep -q "listens on 0.0.0.0:$port: ixdp and kernel" "$tmp_dir/echo-$mode.log" ||
		fail "$mode: the listener was not classified as ixdp's: $(cat "$tmp_dir/echo-$mode.log")"
	fds0=$(app_fds)
	opened0=$(tcp_opened)
	kern0=$(kernel_opens)
	out=$(in_peer "$NETTOOL" tcp-streams "$DUT_IP" "$port" 32 -n 1 -m 1048576 -r 3 -t 60) ||
		fail "$mode: streams through the shim: $out $(tail -5 "$tmp_dir/echo-$mode.log")"
	opened=$(($(tcp_opened) - opened0))
	kern=$(($(kernel_opens) - kern0))
	[ "$opened" -ge 32 ] && [ "$kern" -eq 0 ] ||
		fail "$mode: not through ixdp: ixdpd opened $opened connections, the kernel $kern"
	ok "$mode: 32 streams of 1 B to 1 MiB echoed intact by python3's epoll server, all 32" \
		"through ixdp (ixdpd opened $opened, the DUT kernel 0): $(echo "$out" | tail -1)"
	# the same wildcard listener, from loopback: the kernel's connection
	out=$(in_dut python3 -c '
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
c.sendall(b"hello over loopback")
got = b""
while len(got) < 19:
    b = c.recv(64)
    if not b:
        break
    got += b
print(got.decode())' "$port" 2>&1)
	[ "$out" = "hello over loopback" ] || fail "$mode: loopback through the kernel: $out"
	[ "$(($(kernel_opens) - kern0))" -eq 1 ] || fail "$mode: the loopback client was not the kernel's"
	ok "$mode: a loopback client of the same listener is served by the kernel"
	leak_check "$mode" "$fds0"
	kill -TERM "$pid"
	wait "$pid" || fail "$mode: the server exited $?: $(tail -5 "$tmp_dir/echo-$mode.log")"
	gone_check "$mode" "$apps0"
	ok "$mode: no fd left over ($fds0 as before the load), no ixdpd connection, context gone"
	grep -q "served" "$tmp_dir/echo-$mode.out" || fail "$mode: no summary"
	log_clean "$tmp_dir/echo-$mode.log"
	ok "$mode: $(tail -1 "$tmp_dir/echo-$mode.out")"
done
# A blocking accept() that is already waiting when the connection comes (woken by the shim).
app_start blocking listening "$RUN" python3 tests/tools/accept_once.py 7104
sleep 1 # it is in accept() now
out=$(ask in_peer "$DUT_IP" 7104 woken)
[ "$out" = woken ] || fail "a blocking accept was not woken: $out $(cat "$tmp_dir/blocking.log")"
wait "$pid" || fail "the blocking server exited $?: $(cat "$tmp_dir/blocking.log")"
ok "a blocking accept() and read() through ixdp, woken when the connection and its bytes came"
# A thread per connection (blocking recv/sendall in each, the main thread accepts): each
# connection moves to its thread's context on the thread's first recv; a thread that exits
# leaves its context to the next one; beyond IXDP_CONTEXTS threads share (with IXDP_CONTEXTS=1
# every thread shares the one, and nothing moves).  Three rounds of 16 concurrent streams.
for bound in 8 1; do
	app_start "threads$bound" listening env IXDP_CONTEXTS=$bound "$RUN" python3 \
		tests/tools/thread_echo.py 7107
	moves0=$(app_sum moves)
	refused0=$(app_sum moves_refused)
	for round in 1 2 3; do
		out=$(in_peer "$NETTOOL" tcp-streams "$DUT_IP" 7107 16 -n 1 -m 1048576 -r "$round" \
			-t 60) || fail "thread per connection (IXDP_CONTEXTS=$bound), round $round:" \
			"$out $(tail -5 "$tmp_dir/threads$bound.log")"
	done
	ctxs=$(($(apps_now) - apps0))
	moves=$(($(app_sum moves) - moves0))
	refused=$(($(app_sum moves_refused) - refused0))
	if [ "$bound" -eq 1 ]; then
		[ "$ctxs" -eq 1 ] && [ "$moves" -eq 0 ]
	else
		[ "$ctxs" -ge 2 ] && [ "$ctxs" -le "$bound" ] && [ "$moves" -ge 16 ] &&
			[ "$refused" -eq 0 ]
	fi ||
		fail "thread per connection (IXDP_CONTEXTS=$bound): $ctxs contexts, $moves moves," \
			"$refused refused"
	conns_zero || fail "thread per connection: connections left in ixdpd"
	kill -TERM "$pid"
	wait "$pid" || fail "thread_echo exited $?: $(tail -5 "$tmp_dir/threads$bound.log")"
	gone_check "thread per connection" "$apps0"
	log_clean "$tmp_dir/threads$bound.log"
	ok "thread per connection, IXDP_CONTEXTS=$bound: 3 rounds of 16 streams (1 B to 1 MiB)" \
		"echoed intact; $ctxs contexts, $moves connections moved to their thread's, 0 refused"
done
# A listener made by one thread and accepted from by another (bench/echo_server: its main
# thread listens, its serving thread accepts): the port's ixdp listen moves to the serving
# thread's context, so its connections arrive there and do not each move; a burst of 6,000
# connects, more than the backlog (4,096), is queued, not reset (ixdpd has completed their
# handshakes: the kernel would have the clients try again instead).
app_start burst "ready" env IXDP_DEBUG=1 "$RUN" "$BUILD/bench/echo_server" -a "$DUT_IP" -p 7109 \
	-t 1 -d 60
moves0=$(app_sum moves)
out=$(in_peer "$BUILD/bench/rr_client" -a "$DUT_IP" -p 7109 -c 6000 -D 1 -d 2 -w 1 2>&1) ||
	fail "6,000 connections to echo_server under the shim: $out"
val() { echo "$out" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'; }
moves=$(($(app_sum moves) - moves0))
[ "$(val connected)" = 6000 ] && [ "$(val errors)" = 0 ] && [ "$(val resets)" = 0 ] ||
	fail "6,000 connections to echo_server under the shim: $out"
grep -q "port 7109 moved from context 0 to 1" "$tmp_dir/burst.log" && [ "$moves" -lt 3000 ] ||
	fail "the listener did not move to the accepting thread: $moves connections moved," \
		"$(grep -c moved "$tmp_dir/burst.log") log lines"
kill -TERM "$pid"
wait "$pid" || fail "echo_server exited $?: $(tail -3 "$tmp_dir/burst.log")"
conns_zero || fail "echo_server: connections left in ixdpd"
ok "a burst of 6,000 connections (backlog 4,096) to echo_server, whose main thread listens" \
	"and whose serving thread accepts: all connected and served ($(val rps) requests/s, 0" \
	"errors); the listen moved to the serving thread's context, $moves connections moved"

# Bytes left behind: a thread sends 4 MiB (its connection moves to the thread's context),
# closes and exits, while the main thread waits on its listener only (another context): the
# shim's progress thread sees the buffered bytes out, then the FIN.
app_start leftover listening "$RUN" python3 -c '
import socket, threading
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("0.0.0.0", 7108))
ls.listen(4)
print("listening", flush=True)
def send(c):
    c.sendall(bytes(range(256)) * 16384)
    c.close()
c, _ = ls.accept()
t = threading.Thread(target=send, args=(c,))
t.start()
t.join()
ls.accept()[0].close()'
out=$(in_peer python3 -c '
import socket, sys, time
c = socket.create_connection((sys.argv[1], 7108), timeout=10)
time.sleep(0.5)
got = bytearray()
while True:
    b = c.recv(1 << 20)
    if not b:
        break
    got += b
print(len(got), got == bytes(range(256)) * 16384)
socket.create_connection((sys.argv[1], 7108), timeout=10).close()' "$DUT_IP" 2>&1)
wait "$pid" || fail "leftover bytes: the app exited $?: $(tail -3 "$tmp_dir/leftover.log")"
[ "$out" = "4194304 True" ] ||
	fail "leftover bytes: the peer got $out $(tail -3 "$tmp_dir/leftover.log")"
ok "4 MiB sent by a thread that closed and exited, its context waited on by nobody: all of it," \
	"intact, then the FIN (the progress thread)"

# exec keeps the preload: a child started with an empty environment (no LD_PRELOAD, no IXDP_*)
# is served through ixdp all the same (IXDP_DEBUG came back too: it says so).
app_start exec listening env IXDP_DEBUG=1 "$RUN" python3 -c '
import os, sys
os.execve(sys.executable, [sys.executable, "tests/tools/accept_once.py", "7105"], {})'
opened0=$(tcp_opened)
out=$(ask in_peer "$DUT_IP" 7105 "after exec")
[ "$out" = "after exec" ] || fail "exec: $out $(cat "$tmp_dir/exec.log")"
wait "$pid" || fail "the exec'd server exited $?: $(cat "$tmp_dir/exec.log")"
grep -q "listens on 0.0.0.0:7105: ixdp" "$tmp_dir/exec.log" && [ "$(tcp_opened)" -gt "$opened0" ] ||
	fail "exec: the new image was not served through ixdp: $(cat "$tmp_dir/exec.log")"
ok "execve() with an empty environment: the new image still preloads the shim (and IXDP_DEBUG)," \
	"and its listener is served through ixdp"

# close_range() (os.closerange) closes an ixdp listener: its fd number, handed out again by the
# kernel, is a plain socketpair's, and a new listener on the port is ixdp's again.
app_start closerange listening env IXDP_DEBUG=1 "$RUN" python3 -c '
import os, socket
def listener():
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", 7106))
    ls.listen(4)
    return ls
ls = listener()
fd = ls.detach()
os.closerange(fd, fd + 1)
a, b = socket.socketpair()
print("reused:", fd in (a.fileno(), b.fileno()), flush=True)
a.sendall(b"plain")
print("socketpair:", b.recv(16).decode(), flush=True)
ls = listener()
print("listening", flush=True)
c, _ = ls.accept()
c.sendall(c.recv(64))
c.recv(1)'
out=$(ask in_peer "$DUT_IP" 7106 "after closerange")
wait "$pid" || fail "close_range: the app exited $?: $(cat "$tmp_dir/closerange.log")"
[ "$out" = "after closerange" ] && grep -q '^reused: True' "$tmp_dir/closerange.out" &&
	grep -q '^socketpair: plain' "$tmp_dir/closerange.out" &&
	[ "$(grep -c 'listens on 0.0.0.0:7106: ixdp' "$tmp_dir/closerange.log")" -eq 2 ] ||
	fail "close_range: $out $(cat "$tmp_dir/closerange.out" "$tmp_dir/closerange.log")"
ok "close_range() of an ixdp listener: its fd number came back as a working socketpair, and" \
	"the port's next listener was ixdp's again and served the peer"

# Its listen is gone and so is its last connection: the port is the kernel's again.
ip netns exec "$ns_dut" timeout 20 python3 tests/tools/accept_once.py 7104 kernel: \
	>"$tmp_dir/kernel7104.out" 2>&1 &
_pids+=("$!")
for _ in $(seq 50); do
	out=$(ask in_peer "$DUT_IP" 7104 hi) && break
	sleep 0.2
done
[ "$out" = kernel:hi ] || fail "port 7104 did not go back to the kernel: $out"
ok "once the app's listen and its last connection were gone, the port went back to the kernel"

# The same calls on the kernel and through the shim must say the same (tests/tools/shim_probe.c).
probe() { # PORT NAME [RUNNER]: the probe with its client in the peer
	local port=$1 out=$2
	shift 2
	app_start "$out" ready "$@" "$BUILD/bin/ixdp-shim-probe" "$port"
	in_peer timeout 60 python3 tests/tools/shim_probe.py "$DUT_IP" "$port" \
		>>"$tmp_dir/$out.log" 2>&1 || fail "probe client: $(tail -3 "$tmp_dir/$out.log")"
	wait "$pid" || fail "probe exited $?: $(tail -3 "$tmp_dir/$out.log") $(tail -3 "$tmp_dir/$out.out")"
}
probe 7201 probe-kernel
probe 7202 probe-shim env IXDP_DEBUG=1 IXDP_SPIN_US=400000 "$RUN"
grep -q "listens on 0.0.0.0:7202: ixdp" "$tmp_dir/probe-shim.log" ||
	fail "the probe's listener was not ixdp's: $(cat "$tmp_dir/probe-shim.log")"
sed -i 's/^\(\(syscall \)\?local port:\) 720[12]$/\1 P/' "$tmp_dir"/probe-*.out
diff -u "$tmp_dir/probe-kernel.out" "$tmp_dir/probe-shim.out" >"$tmp_dir/probe.diff" ||
	fail "the shim and the kernel differ: $(cat "$tmp_dir/probe.diff")"
grep -q '^end$' "$tmp_dir/probe-shim.out" || fail "the probe did not get to the end"
sed 's/^/    /' "$tmp_dir/probe-shim.out"
ok "$(grep -c . "$tmp_dir/probe-shim.out") probe results alike on the kernel and through the shim" \
	"on a connection whose listener was closed (EAGAIN, FIONREAD, MSG_PEEK, ET once / LT" \
	"again, ONESHOT, EEXIST/ENOENT, poll, select, EPOLLOUT after a full buffer, MSG_WAITALL," \
	"SO_ERROR, SO_RCVTIMEO, EINTR, a closed dup's registration, a fork child's close, RDHUP," \
	"the calls by syscall() number," \
	"EOF, EPIPE, dup+close)"

# Outgoing connections: the same calls on the kernel and through the shim
# (tests/tools/connect_probe.py) to an echo server in the peer namespace, a closed port there
# and a loopback echo server beside the app; through the shim every connection to the peer is
# ixdpd's and only the loopback one the kernel's.
kernel_actives() { in_dut nstat -az TcpActiveOpens | awk '/TcpActiveOpens/ { print $2 }'; }
echo_srv='
import socket, sys, threading
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((sys.argv[1], int(sys.argv[2])))
ls.listen(16)
def serve(c):
    while True:
        b = c.recv(65536)
        if not b:
            break
        c.sendall(b)
    c.close()
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()'
ip netns exec "$ns_peer" timeout 300 python3 -c "$echo_srv" 0.0.0.0 7300 &
_pids+=("$!")
ip netns exec "$ns_dut" timeout 300 python3 -c "$echo_srv" 127.0.0.1 7301 &
_pids+=("$!")
for p in "$ns_peer 7300" "$ns_dut 7301"; do
	for _ in $(seq 50); do
		ip netns exec ${p% *} ss -tln "sport = :${p#* }" | grep -q LISTEN && break
		sleep 0.1
	done
done
app_start connect-kernel end python3 tests/tools/connect_probe.py "$PEER_IP" 7300 7399 7301
wait "$pid" || fail "connect probe on the kernel: $(tail -3 "$tmp_dir/connect-kernel.log")"
opened0=$(tcp_opened)
kern0=$(kernel_actives)
app_start connect-shim end env IXDP_DEBUG=1 "$RUN" python3 tests/tools/connect_probe.py \
	"$PEER_IP" 7300 7399 7301
wait "$pid" || fail "connect probe through the shim: $(tail -3 "$tmp_dir/connect-shim.log")"
opened=$(($(tcp_opened) - opened0))
kern=$(($(kernel_actives) - kern0))
diff -u "$tmp_dir/connect-kernel.out" "$tmp_dir/connect-shim.out" >"$tmp_dir/connect.diff" ||
	fail "connect: the shim and the kernel differ: $(cat "$tmp_dir/connect.diff")"
[ "$(grep -c 'connects to 198.18.0.2:.*: ixdp$' "$tmp_dir/connect-shim.log")" -eq 4 ] &&
	[ "$opened" -ge 2 ] && [ "$kern" -eq 1 ] ||
	fail "connect: not through ixdp: ixdpd opened $opened, the DUT kernel $kern: $(cat \
		"$tmp_dir/connect-shim.log")"
sed 's/^/    /' "$tmp_dir/connect-shim.out"
ok "$(grep -c . "$tmp_dir/connect-shim.out") connect results alike on the kernel and through" \
	"the shim (blocking and non-blocking connect, names, 1 KiB and 1 MiB echoed, connect" \
	"again, refused both ways, a failed connect's epoll events and SO_ERROR); the 4 to the" \
	"peer through ixdp (ixdpd opened $opened), the loopback one the kernel's"

# memcached from Debian, unmodified: libevent's epoll, a dispatcher thread that accepts and
# worker threads that serve: each thread has its own context, and every connection moves from
# the dispatcher's to its worker's when the worker registers it.
for t in 1 4; do
	port=$((11210 + t))
	app_start "mc$t" ":$port" "$RUN" memcached -u root -U 0 -t "$t" -p "$port" -m 512
	# the baseline once every worker thread's epoll set has had an ixdp member (the shim's
	# part of a set, its kick eventfd, is made then and lasts as long as the set)
	in_peer python3 -c '
import socket, sys
cs = [socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5) for _ in range(8)]
for c in cs:
    c.sendall(b"version\r\n")
    assert c.recv(64).startswith(b"VERSION")
for c in cs:
    c.close()' "$DUT_IP" "$port" || fail "memcached -t $t: no VERSION"
	conns_zero || fail "memcached -t $t: the first 8 connections stayed open"
	ctxs=$(($(apps_now) - apps0))
	[ "$ctxs" -eq $((t + 1)) ] ||
		fail "memcached -t $t: $ctxs contexts, not one for the dispatcher and each worker"
	fds0=$(app_fds)
	moves0=$(app_sum moves)
	refused0=$(app_sum moves_refused)
	opened0=$(tcp_opened)
	kern0=$(kernel_opens)
	out=$(in_peer timeout 120 memccapable -h "$DUT_IP" -p "$port" -a 2>&1) ||
		fail "memcached -t $t: memccapable: $out $(tail -5 "$tmp_dir/mc$t.log")"
	ok "memcached -t $t: memccapable (ascii): $(echo "$out" | grep -c pass) passed"
	in_peer timeout 60 memcaslap -s "$DUT_IP:$port" -t 10s -T 2 -c 16 --verify=0.1 \
		>"$tmp_dir/caslap$t.out" 2>&1 &
	cpid=$!
	_pids+=("$cpid")
	sleep 3
	# ixdpctl conns names the app: memcached's pid on each of memcaslap's 16 connections
	held=$("$IXDPCTL" --control "$CONTROL" conns --json | jq --arg p ":$port" --argjson pid "$pid" \
		'[.conns[] | select((.local | endswith($p)) and .state == "ESTABLISHED" and
		.app_pid == $pid)] | length')
	wait "$cpid" || fail "memcached -t $t: memcaslap: $(cat "$tmp_dir/caslap$t.out")"
	out=$(cat "$tmp_dir/caslap$t.out")
	[ "$held" -ge 16 ] || fail "memcached -t $t: ixdpctl conns names pid $pid on $held connections"
	mc() { echo "$out" | awk -v k="$1:" '$1 == k { print $2 }'; }
	[ -n "$(mc verify_failed)" ] && [ "$(mc verify_failed)" -eq 0 ] &&
		[ "$(mc verify_misses)" -eq 0 ] && [ "$(mc cmd_get)" -gt 0 ] ||
		fail "memcached -t $t: memcaslap reported errors: $out"
	opened=$(($(tcp_opened) - opened0))
	kern=$(($(kernel_opens) - kern0))
	[ "$opened" -ge 16 ] && [ "$kern" -eq 0 ] ||
		fail "memcached -t $t: not through ixdp: ixdpd opened $opened, the kernel $kern"
	moves=$(($(app_sum moves) - moves0))
	refused=$(($(app_sum moves_refused) - refused0))
	[ "$moves" -eq "$opened" ] && [ "$refused" -eq 0 ] ||
		fail "memcached -t $t: $moves of $opened connections moved to their worker's context," \
			"$refused moves refused"
	ok "memcached -t $t: memcaslap 10 s, 16 connections, 10 % verified: $(mc cmd_get) gets," \
		"$(mc cmd_set) sets, verify_failed 0, verify_misses 0; every connection through ixdp" \
		"(ixdpd opened $opened, the DUT kernel 0; ixdpctl conns: $held with memcached's pid);" \
		"$ctxs contexts, each connection moved once to its worker's ($moves moves, 0 refused)"
	leak_check "memcached -t $t" "$fds0"
	kill -TERM "$pid"
	wait "$pid"
	gone_check "memcached -t $t" "$apps0"
	log_clean "$tmp_dir/mc$t.log"
	ok "memcached -t $t: no fd left over ($fds0 as before the load), no ixdpd connection," \
		"context gone"
done

# nginx from Debian, unmodified, as one process (master_process off; a master with forked
# workers: shim_fork.sh): static files of 0 B to 8 MiB with sendfile and keepalive,
# checked by sha256, then wrk for 10 s with an `nginx -s reload` in the middle, 0 errors.
www=$tmp_dir/www
mkdir -p "$www" "$tmp_dir/ngx"
: >"$www/0"
for f in 1024 1048576 8388608; do
	head -c "$f" /dev/urandom >"$www/$f" || fail "nginx: test files"
done
nginx_conf "$tmp_dir/nginx.conf" "master_process off;" "worker_connections 1024;" 8080 "$www"
nginx_cmd=(nginx -e "$tmp_dir/ngx/startup.log" -c "$tmp_dir/nginx.conf")
app_start nginx ":8080" env IXDP_DEBUG=1 "$RUN" "${nginx_cmd[@]}"
grep -q "listens on 0.0.0.0:8080: ixdp and kernel" "$tmp_dir/nginx.log" ||
	fail "nginx: its listener is not ixdp's: $(cat "$tmp_dir/nginx.log")"
opened0=$(tcp_opened)
kern0=$(kernel_opens)
mkdir -p "$tmp_dir/got"
# one curl, one keepalive connection for all four
out=$(in_peer curl -s -w '%{http_code} %{size_download} %{num_connects}\n' \
	-o "$tmp_dir/got/0" "http://$DUT_IP:8080/0" -o "$tmp_dir/got/1024" "http://$DUT_IP:8080/1024" \
	-o "$tmp_dir/got/1048576" "http://$DUT_IP:8080/1048576" \
	-o "$tmp_dir/got/8388608" "http://$DUT_IP:8080/8388608" 2>&1) ||
	fail "nginx: curl: $out $(tail -3 "$tmp_dir/ngx/error.log")"
[ "$(echo "$out" | awk '{ c += $3 } $1 != 200 { bad = 1 } END { print (bad ? -1 : c) }')" = 1 ] ||
	fail "nginx: not 4 answers on one connection: $out"
for f in 0 1024 1048576 8388608; do
	[ "$(sha256sum <"$www/$f")" = "$(sha256sum <"$tmp_dir/got/$f")" ] ||
		fail "nginx: /$f came back different"
done
ok "nginx (one process): 0 B, 1 KiB, 1 MiB and 8 MiB through sendfile on one keepalive" \
	"connection, sha256 alike"
in_peer timeout 60 wrk -t 1 -c 16 -d 10s "http://$DUT_IP:8080/1024" >"$tmp_dir/wrk.out" 2>&1 &
wpid=$!
_pids+=("$wpid")
sleep 3
ip netns exec "$ns_dut" "${nginx_cmd[@]}" -s reload || fail "nginx -s reload"
wait "$wpid" || fail "wrk: $(cat "$tmp_dir/wrk.out")"
reqs=$(awk '/requests in/ { print $1 }' "$tmp_dir/wrk.out")
[ -n "$reqs" ] && [ "$reqs" -gt 0 ] && ! grep -q -e 'Socket errors' -e 'Non-2xx' "$tmp_dir/wrk.out" ||
	fail "nginx: wrk saw errors: $(cat "$tmp_dir/wrk.out")"
grep -q reconfiguring "$tmp_dir/ngx/error.log" || fail "nginx did not reload: $(cat "$tmp_dir/ngx/error.log")"
opened=$(($(tcp_opened) - opened0))
kern=$(($(kernel_opens) - kern0))
[ "$opened" -ge 17 ] && [ "$kern" -eq 0 ] ||
	fail "nginx: not through ixdp: ixdpd opened $opened, the DUT kernel $kern"
ok "nginx: wrk 10 s, 16 connections: $reqs requests of 1 KiB, 0 errors, with an nginx -s" \
	"reload in the middle; every connection through ixdp (ixdpd opened $opened, the DUT kernel 0)"
kill -TERM "$pid"
wait "$pid" || fail "nginx exited $?: $(tail -3 "$tmp_dir/ngx/error.log")"
gone_check nginx "$apps0"

ixdpd_stop || fail "ixdpd exit status $?"
ok "ixdpd exited cleanly"

# ixdpd killed under two apps, memcached -t 4 under memcaslap's load and the Python server
# holding 4 connections: their ixdp connections are reset, neither hangs nor spins, and their
# wildcard listeners go on accepting from the kernel.
ixdpd_start --workers 2 || fail "ixdpd did not start again"
app_start mc-kill ":11215" "$RUN" memcached -u root -U 0 -t 4 -p 11215 -m 64
mcpid=$pid
# (memcaslap prints its report at 15 s, then may wait for ever on a connection that was idle
# when ixdpd died, as on any peer that vanished silently: timeout ends it)
in_peer timeout 25 memcaslap -s "$DUT_IP:11215" -t 15s -T 2 -c 16 >"$tmp_dir/caslap-kill.out" 2>&1 &
cpid=$!
_pids+=("$cpid")
app_start echo-kill listening "$RUN" python3 tests/tools/epoll_echo.py 7103
hold_start 7103 4 20
sleep 2 # memcaslap is in full swing
kill -KILL "$IXDPD_PID"
wait "$IXDPD_PID" 2>/dev/null
for _ in $(seq 100); do
	[ "$(hold_broken)" -eq 4 ] && break
	sleep 0.1
done
[ "$(hold_broken)" -eq 4 ] || fail "the held connections did not end: $(tail -3 "$tmp_dir/holder.out")"
cpu() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
c0=$(cpu)
sleep 2
spent=$(($(cpu) - c0))
[ "$spent" -lt 20 ] || fail "the app spins without ixdpd: $spent ticks of CPU in 2 s"
grep -q "ixdpd went away" "$tmp_dir/echo-kill.log" || fail "the shim did not say ixdpd went away"
out=$(ask in_dut 127.0.0.1 7103 "still here")
[ "$out" = "still here" ] || fail "the listener's kernel side after ixdpd died: $out"
kill -TERM "$pid"
wait "$pid" || fail "the app exited $? after ixdpd died: $(tail -3 "$tmp_dir/echo-kill.log")"
ok "ixdpd killed: the Python app's 4 ixdp connections were reset, it used $spent ticks of CPU" \
	"in 2 s after, its listener still served a loopback client, and it exited 0 on SIGTERM"
# memcached: its load ended (memcaslap saw the resets), it idles, answers on loopback, exits 0
wait "$cpid"
grep -q '^cmd_get:' "$tmp_dir/caslap-kill.out" ||
	fail "memcaslap did not get to its report: $(tail -3 "$tmp_dir/caslap-kill.out")"
mc_cpu() { awk '{ print $14 + $15 }' "/proc/$mcpid/stat"; }
c0=$(mc_cpu)
sleep 2
spent=$(($(mc_cpu) - c0))
[ "$spent" -lt 20 ] || fail "memcached spins without ixdpd: $spent ticks of CPU in 2 s"
out=$(ask in_dut 127.0.0.1 11215 'version\r\n')
[ "${out%% *}" = VERSION ] || fail "memcached after ixdpd died: $out $(tail -3 "$tmp_dir/mc-kill.log")"
kill -TERM "$mcpid"
wait "$mcpid" || fail "memcached exited $? after ixdpd died: $(tail -3 "$tmp_dir/mc-kill.log")"
ok "ixdpd killed 2 s into memcaslap's 15 s against memcached -t 4: memcaslap got to its" \
	"report ($(awk '/^cmd_get:/ { print $2; exit }' "$tmp_dir/caslap-kill.out") gets)," \
	"memcached used $spent ticks of CPU in the 2 s after, answered a loopback client and" \
	"exited 0 on SIGTERM"
