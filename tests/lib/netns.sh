# shellcheck shell=bash
# netns.sh - namespace topology and cleanup for ixdp's end-to-end tests and benchmarks (sourced).
#
#   ns_dut  (ixdpd side)          ns_peer (kernel peer / load generator)
#   dut0  198.18.0.1/24  <-- veth -->  peer0  198.18.0.2/24
#
# Both ends live in namespaces made here, never in the root namespace; addresses come from
# 198.18.0.0/15.  Everything is torn down by the EXIT trap, also when a test fails.

: "${BUILD:=build}"
IXDPD=${IXDPD:-$BUILD/bin/ixdpd}
IXDPCTL=${IXDPCTL:-$BUILD/bin/ixdpctl}
NETTOOL=${NETTOOL:-$BUILD/bin/ixdp-nettool}

DUT_IP=198.18.0.1
PEER_IP=198.18.0.2
DUT_MAC=02:00:c6:12:00:01
PEER_MAC=02:00:c6:12:00:02

ns_tag="ixdp$$"
ns_dut="${ns_tag}-dut"
ns_peer="${ns_tag}-peer"
ns_relay="${ns_tag}-relay"
DUT_IP6=2001:db8::1
PEER_IP6=2001:db8::2
tmp_dir=$(mktemp -d /tmp/ixdp-test.XXXXXX)
CONTROL="$tmp_dir/ixdpd.sock"
_pids=()

# Skip (exit 77) unless root: namespaces, XDP and AF_XDP need CAP_NET_ADMIN and CAP_BPF.
need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: $(basename "$0") needs root (namespaces, XDP, AF_XDP)"
		exit 77
	fi
}

# How long (tenths of a second) a process gets to exit on SIGTERM.  A sanitized one checks for
# leaks on its way out, and a SIGKILL in the middle of that leaves LeakSanitizer's tracer behind.
STOP_TENTHS=100
[ "${SANITIZE:-0}" = 1 ] && STOP_TENTHS=600

cleanup() {
	local p
	for p in "${_pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${_pids[@]}"; do
		# bounded wait, then force
		for _ in $(seq "$STOP_TENTHS"); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	# Anything still naming this test's control socket (a tracer left by a forced kill).
	pkill -9 -f -- "$CONTROL" 2>/dev/null
	ip netns del "$ns_dut" 2>/dev/null
	ip netns del "$ns_peer" 2>/dev/null
	ip netns del "$ns_relay" 2>/dev/null
	rm -rf "$tmp_dir"
	if declare -F cleanup_extra >/dev/null; then
		cleanup_extra
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

ok() {
	echo "ok: $*"
}

# log_clean FILE: no error line from ixdpd, no crash or sanitizer report, no failed assertion.
log_clean() {
	! grep -E "^ixdpd: error:|Segmentation fault|AddressSanitizer|LeakSanitizer|runtime error:|Assertion .* failed" "$1" >&2
}

in_dut() { ip netns exec "$ns_dut" "$@"; }
in_peer() { ip netns exec "$ns_peer" "$@"; }

# netns_up QUEUES: the two namespaces, a veth pair with QUEUES rx/tx queues, static neighbours.
netns_up() {
	local nq=${1:-1}
	ip netns add "$ns_dut" || fail "ip netns add"
	ip netns add "$ns_peer" || fail "ip netns add"
	local ns
	for ns in "$ns_dut" "$ns_peer"; do
		# IPv6 off unless a test turns it on: no router solicitations or DAD in the counters.
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
		ip -n "$ns" link set lo up
	done
	ip -n "$ns_dut" link add dut0 numtxqueues "$nq" numrxqueues "$nq" address "$DUT_MAC" \
		type veth peer name peer0 numtxqueues "$nq" numrxqueues "$nq" \
		address "$PEER_MAC" netns "$ns_peer" || fail "veth"
	ip -n "$ns_dut" addr add "$DUT_IP/24" dev dut0
	ip -n "$ns_peer" addr add "$PEER_IP/24" dev peer0
	ip -n "$ns_dut" link set dut0 up
	ip -n "$ns_peer" link set peer0 up
	ip -n "$ns_peer" neigh replace "$DUT_IP" lladdr "$DUT_MAC" dev peer0 nud permanent
	ip -n "$ns_dut" neigh replace "$PEER_IP" lladdr "$PEER_MAC" dev dut0 nud permanent
	# The peer's stack must put real checksums on the wire (not CHECKSUM_PARTIAL).
	in_peer ethtool -K peer0 tx off >/dev/null || fail "ethtool tx off"
}

# netns_up_relay QUEUES: as netns_up, but the two ends meet in a third namespace whose
# interfaces r0 (peer side) and r1 (DUT side) a relay can bridge (nettool impair r0 r1 ...).
#   dut0 <-> r1 [relay] r0 <-> peer0
netns_up_relay() {
	local nq=${1:-1} ns
	for ns in "$ns_dut" "$ns_peer" "$ns_relay"; do
		ip netns add "$ns" || fail "ip netns add"
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
		ip -n "$ns" link set lo up
	done
	ip -n "$ns_dut" link add dut0 numtxqueues "$nq" numrxqueues "$nq" address "$DUT_MAC" \
		type veth peer name r1 numtxqueues "$nq" numrxqueues "$nq" netns "$ns_relay" ||
		fail "veth"
	ip -n "$ns_peer" link add peer0 numtxqueues "$nq" numrxqueues "$nq" address "$PEER_MAC" \
		type veth peer name r0 numtxqueues "$nq" numrxqueues "$nq" netns "$ns_relay" ||
		fail "veth"
	ip -n "$ns_dut" addr add "$DUT_IP/24" dev dut0
	ip -n "$ns_peer" addr add "$PEER_IP/24" dev peer0
	ip -n "$ns_dut" link set dut0 up
	ip -n "$ns_peer" link set peer0 up
	ip -n "$ns_relay" link set r0 up promisc on
	ip -n "$ns_relay" link set r1 up promisc on
	in_peer ethtool -K peer0 tx off >/dev/null || fail "ethtool tx off"
}

# ipv6_up: IPv6 on dut0 and peer0 with 2001:db8::1/64 and ::2/64, no DAD.
ipv6_up() {
	local ns dev addr
	for ns in "$ns_dut" "$ns_peer"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=0
	done
	in_dut sysctl -qw net.ipv6.conf.dut0.disable_ipv6=0 net.ipv6.conf.dut0.accept_dad=0
	in_peer sysctl -qw net.ipv6.conf.peer0.disable_ipv6=0 net.ipv6.conf.peer0.accept_dad=0
	ip -n "$ns_dut" addr add "$DUT_IP6/64" dev dut0 nodad
	ip -n "$ns_peer" addr add "$PEER_IP6/64" dev peer0 nodad
	for _ in $(seq 50); do
		ip -n "$ns_dut" -6 addr show dev dut0 | grep -q tentative || break
		sleep 0.1
	done
}

# ixdpd_start ARGS...: ixdpd in the DUT namespace, foreground, logging to $tmp_dir/ixdpd.log;
# waits (bounded) until its control socket answers.
ixdpd_start() {
	# Not through in_dut: $! must be ixdpd itself (ip netns exec execs it), not a subshell.
	ip netns exec "$ns_dut" "$IXDPD" --foreground --interface dut0 --control "$CONTROL" "$@" \
		>>"$tmp_dir/ixdpd.log" 2>&1 &
	IXDPD_PID=$!
	_pids+=("$IXDPD_PID")
	local i
	for i in $(seq 100); do
		if "$IXDPCTL" --control "$CONTROL" status >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$IXDPD_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$tmp_dir/ixdpd.log" >&2
	fail "ixdpd did not come up"
}

# ixdpd_stop: SIGTERM and a bounded wait; returns ixdpd's exit status.
ixdpd_stop() {
	local rc
	kill -TERM "$IXDPD_PID" 2>/dev/null
	for _ in $(seq "$STOP_TENTHS"); do kill -0 "$IXDPD_PID" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$IXDPD_PID" 2>/dev/null && { kill -9 "$IXDPD_PID"; fail "ixdpd ignored SIGTERM"; }
	wait "$IXDPD_PID"
	rc=$?
	return $rc
}

stats_json() {
	"$IXDPCTL" --control "$CONTROL" stats --json
}

# nginx_conf FILE TOP EVENTS LISTEN ROOT: an nginx configuration in FILE (for the shim's tests
# and bench/nginx.sh): TOP, the main context's own lines (master_process, workers, ...); EVENTS,
# what goes inside events {}; one static server on LISTEN serving ROOT by sendfile, keepalive,
# no access log; its pid, error log (notice) and temporary files under $tmp_dir/ngx.
nginx_conf() {
	mkdir -p "$tmp_dir/ngx" || fail "mkdir $tmp_dir/ngx"
	cat >"$1" <<CONF || fail "writing $1"
daemon off;
$2
pid $tmp_dir/ngx/nginx.pid;
error_log $tmp_dir/ngx/error.log notice;
events { $3 }
http {
	access_log off;
	client_body_temp_path $tmp_dir/ngx/body;
	proxy_temp_path $tmp_dir/ngx/proxy;
	fastcgi_temp_path $tmp_dir/ngx/fastcgi;
	uwsgi_temp_path $tmp_dir/ngx/uwsgi;
	scgi_temp_path $tmp_dir/ngx/scgi;
	sendfile on;
	tcp_nopush on;
	tcp_nodelay on;
	keepalive_timeout 30;
	keepalive_requests 1000000;
	default_type application/octet-stream;
	server {
		listen $4;
		root $5;
	}
}
CONF
}

# The counters the shim's tests prove "through ixdp" with, and its contexts.
tcp_opened() { stats_json | jq '[.workers[].tcp.opened] | add'; }	# by ixdpd
# passive opens of the DUT namespace's kernel TCP
kernel_opens() { in_dut nstat -az TcpPassiveOpens | awk '/TcpPassiveOpens/ { print $2 }'; }
apps_now() { stats_json | jq .apps.attached_now; }
app_sum() { stats_json | jq "[.workers[].app.$1] | add"; }	# app_sum COUNTER: all workers'

# pool_full: once idle, every frame is in the pool or with the kernel (its rings): none lost
# (waits 5 s at most, then fails the test).
pool_full() {
	local json
	for _ in $(seq 50); do
		json=$(stats_json)
		echo "$json" | jq -e '.af_xdp | .frames_free + .frames_kernel == .frames' >/dev/null &&
			return 0
		sleep 0.1
	done
	fail "frames lost: $(echo "$json" | jq -c .af_xdp)"
}

# conns_zero [TRIES]: wait (TRIES x 0.25 s, default 40) until ixdpd holds no TCP connection;
# status 0 if it got there.
conns_zero() {
	for _ in $(seq "${1:-40}"); do
		[ "$(stats_json | jq '[.workers[].tcp.conns] | add')" -eq 0 ] && return 0
		sleep 0.25
	done
	return 1
}

# user_copy BIN...: copies of BIN (apps built with rpath $ORIGIN/../lib) and libix.so.1 under
# $tmp_dir/u/{bin,lib}, which any user can read and run: the checkout itself may sit in a
# directory other users cannot enter (a clone under /root).  Prints nothing; fails the test.
user_copy() {
	local b
	mkdir -p "$tmp_dir/u/bin" "$tmp_dir/u/lib" || fail "mkdir $tmp_dir/u"
	cp "$BUILD/lib/libix.so.1" "$tmp_dir/u/lib/" || fail "copy libix.so.1"
	for b; do
		cp "$b" "$tmp_dir/u/bin/" || fail "copy $b"
	done
	chmod 0755 "$tmp_dir" "$tmp_dir/u" "$tmp_dir/u/bin" "$tmp_dir/u/lib" "$tmp_dir"/u/bin/* \
		"$tmp_dir/u/lib/libix.so.1"
}

# xdp_attached: is any XDP program on dut0?
xdp_attached() {
	ip -n "$ns_dut" -d link show dev dut0 | grep -q 'prog/xdp'
}

# hold_start PORT CONNS PERIOD_MS: hold CONNS echo connections from the peer to the DUT's PORT,
# one round trip on each every PERIOD_MS (tests/lib/echo_hold.py), until hold_stop; waits (10 s
# at most) for the first round.  HOLDER is its pid; hold_rounds and hold_broken read its count
# of rounds and of connections broken so far, $tmp_dir/holder.out has its output.
hold_start() {
	rm -f "$tmp_dir/stop"
	in_peer timeout 300 python3 tests/lib/echo_hold.py "$DUT_IP" "$1" "$2" "$3" "$tmp_dir/stop" \
		>"$tmp_dir/holder.out" 2>&1 &
	HOLDER=$!
	_pids+=("$HOLDER")
	for _ in $(seq 100); do
		[ -n "$(hold_rounds)" ] && return 0
		sleep 0.1
	done
	fail "echo connections did not start: $(cat "$tmp_dir/holder.out")"
}
hold_rounds() { grep '^round' "$tmp_dir/holder.out" | tail -1 | awk '{ print $2 }'; }
hold_broken() { grep '^round' "$tmp_dir/holder.out" | tail -1 | awk '{ print $4 }'; }

# hold_stop: end the holder; status 0 if it ended well (some connection still echoing).
hold_stop() {
	touch "$tmp_dir/stop"
	wait "$HOLDER"
}
