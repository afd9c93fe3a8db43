#!/bin/bash
# shim_redis.sh - redis through the shim, with its fork: Debian's redis-server, unmodified,
# under ixdp-run.  10,000 keys set over one connection (redis-cli --pipe), 8 connections held
# open (tests/tools/redis_hold.py) and redis-benchmark's 16 running while redis forks three
# BGSAVE children: each child inherits every client and closes its listener (redis does that in
# the child), writes the snapshot and leaves by _exit() without a word to ixdpd; the parent's
# listener and connections are unaffected (the benchmark ends with no error, every held
# connection reads all 10,000 keys back afterwards), and a last snapshot holds every key
# (redis-check-rdb).  Every connection through ixdp (ixdpd's opens, no passive open in the
# DUT's kernel), the forks attach no context, and fds, contexts and connections return to their
# baseline; redis exits 0 on SIGTERM.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
need_root

RUN=$BUILD/bin/ixdp-run
export IXDP_CONTROL=$CONTROL
for t in redis-check-rdb redis-cli redis-benchmark; do
	command -v "$t" >/dev/null || fail "$t is not installed (scripts/install-deps.sh: redis-tools)"
done
rcli() { in_peer timeout 10 redis-cli -h "$DUT_IP" -p 6379 "$@"; }
info() { rcli info "$1" | tr -d '\r' | sed -n "s/^$2://p"; }
fds() { find "/proc/$pid/fd" -mindepth 1 2>/dev/null | wc -l; }

# bgsave N: a BGSAVE, waited for (bounded), which must succeed
bgsave() {
	local reply
	reply=$(rcli bgsave)
	[ "$reply" = "Background saving started" ] || fail "BGSAVE $1: $reply"
	for _ in $(seq 100); do
		[ "$(info persistence rdb_bgsave_in_progress)" = 0 ] && break
		sleep 0.1
	done
	[ "$(info persistence rdb_bgsave_in_progress)" = 0 ] || fail "BGSAVE $1 did not finish"
	[ "$(info persistence rdb_last_bgsave_status)" = ok ] ||
		fail "BGSAVE $1 failed: $(tail -5 "$tmp_dir/redis.log")"
}

netns_up 2
ixdpd_start --workers 2 || fail "ixdpd did not start"
apps0=$(stats_json | jq .apps.attached)

# Debian's redis-server is redis-check-rdb by another name (its package ships the symlink, and
# a service we do not want here); redis picks its role from argv[0].
ln -s "$(command -v redis-check-rdb)" "$tmp_dir/redis-server" || fail "ln redis-server"
mkdir -p "$tmp_dir/rd"
ip netns exec "$ns_dut" "$RUN" "$tmp_dir/redis-server" --bind "$DUT_IP" --port 6379 --save "" \
	--appendonly no --dir "$tmp_dir/rd" --protected-mode no --daemonize no \
	>"$tmp_dir/redis.log" 2>&1 &
pid=$!
_pids+=("$pid")
for _ in $(seq 100); do
	in_dut ss -tln "sport = :6379" | grep -q LISTEN && break
	kill -0 "$pid" 2>/dev/null || fail "redis exited: $(cat "$tmp_dir/redis.log")"
	sleep 0.1
done
opened0=$(tcp_opened)
kern0=$(kernel_opens)
[ "$(rcli ping)" = PONG ] || fail "no PONG: $(tail -5 "$tmp_dir/redis.log")"

out=$(seq 10000 | awk '{ printf "SET k%d v%d\r\n", $1, $1 }' | rcli --pipe 2>&1) ||
	fail "redis-cli --pipe: $out"
echo "$out" | grep -q "errors: 0, replies: 10000" || fail "setting 10,000 keys: $out"
[ "$(rcli dbsize)" = 10000 ] || fail "dbsize $(rcli dbsize), not 10000"
ok "10,000 keys set through the shim: $(echo "$out" | tail -1)"
conns_zero 20 || fail "ixdpd still holds the setting connections"
fd0=$(fds)

coproc HOLD { in_peer timeout 120 python3 tests/tools/redis_hold.py "$DUT_IP" 6379 8 10000 2>&1; }
_pids+=("$HOLD_PID")
read -r -t 20 line <&"${HOLD[0]}" && [ "$line" = held ] || fail "redis_hold: ${line:-nothing}"
held=$("$IXDPCTL" --control "$CONTROL" conns --json | jq --argjson p "$pid" '[.conns[] |
	select((.local | endswith(":6379")) and .state == "ESTABLISHED" and .app_pid == $p)] |
	length')
[ "$held" -ge 8 ] || fail "ixdpctl conns shows $held of redis's connections, not 8"

in_peer timeout 60 redis-benchmark -h "$DUT_IP" -p 6379 -t get,set -n 300000 -c 16 -r 10000 \
	-q >"$tmp_dir/bench.out" 2>&1 &
bpid=$!
_pids+=("$bpid")
sleep 0.5
forks0=$(info stats total_forks)
for i in 1 2 3; do
	bgsave "$i"
	kill -0 "$bpid" 2>/dev/null || break
done
forks=$(($(info stats total_forks) - forks0))
[ "$forks" -ge 1 ] || fail "redis forked no BGSAVE child"
wait "$bpid" || fail "redis-benchmark: $(tail -c 400 "$tmp_dir/bench.out")"
grep -qi error "$tmp_dir/bench.out" && fail "redis-benchmark: $(grep -i error "$tmp_dir/bench.out")"
rps=$(tr '\r' '\n' <"$tmp_dir/bench.out" | grep -E '^(GET|SET): [0-9.]+ requests per second' |
	awk '{ printf "%s %s/s ", $1, $2 }')
[ -n "$rps" ] || fail "redis-benchmark gave no result: $(tail -c 400 "$tmp_dir/bench.out")"
[ "$(stats_json | jq .apps.attached)" = $((apps0 + 1)) ] ||
	fail "a BGSAVE child attached a context: $(stats_json | jq -c .apps)"
echo >&"${HOLD[1]}"
read -r -t 60 line <&"${HOLD[0]}"
[ "$line" = "ok 8 connections, 10000 gets" ] ||
	fail "redis_hold after the BGSAVEs: ${line:-nothing}"
wait "$HOLD_PID" 2>/dev/null
ok "$forks BGSAVE children forked under load (redis-benchmark -c 16: $rps, 0 errors); 8" \
	"connections held across them read every key back; no child attached a context"

# (the benchmark's SETs added keys of their own: the last snapshot, taken quiet, has them all)
bgsave last
keys=$(rcli dbsize)
out=$(redis-check-rdb "$tmp_dir/rd/dump.rdb" 2>&1) || fail "redis-check-rdb: $out"
echo "$out" | grep -q "\] $keys keys read" || fail "the snapshot, not $keys keys: $out"
opened=$(($(tcp_opened) - opened0))
kern=$(($(kernel_opens) - kern0))
[ "$opened" -ge 25 ] && [ "$kern" -eq 0 ] ||
	fail "not through ixdp: ixdpd opened $opened, the DUT kernel $kern"
for _ in $(seq 50); do
	[ "$(fds)" -eq "$fd0" ] && conns_zero 1 && break
	sleep 0.1
done
[ "$(fds)" -eq "$fd0" ] || fail "redis holds $(fds) fds, $fd0 before the clients"
conns_zero 1 || fail "ixdpd still holds connections"
ok "the last snapshot holds all $keys keys (redis-check-rdb); every connection through ixdp" \
	"(ixdpd opened $opened, the DUT kernel 0); redis back to $fd0 fds"

kill -TERM "$pid"
for _ in $(seq 100); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$pid" 2>/dev/null && fail "redis did not exit on SIGTERM"
wait "$pid" || fail "redis exit status $?: $(tail -5 "$tmp_dir/redis.log")"
for _ in $(seq 50); do
	[ "$(apps_now)" = 0 ] && break
	sleep 0.1
done
[ "$(apps_now)" = 0 ] || fail "ixdpd still has redis's context"
log_clean "$tmp_dir/redis.log" || fail "errors in redis's log"
ixdpd_stop || fail "ixdpd exit status $?"
log_clean "$tmp_dir/ixdpd.log" || fail "errors in ixdpd's log"
ok "redis exited 0 on SIGTERM, its context gone, ixdpd exited cleanly"
