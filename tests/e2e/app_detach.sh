#!/bin/bash
# app_detach.sh - a dead app is reclaimed even when a worker answers its detach late: with every
# detach held 6 s on purpose (IXDP_DEBUG_DETACH_DELAY_MS) two apps holding connections die at
# once, so the first one's detach times out on both workers and the second finds both workers'
# mailboxes busy.  Both contexts stay dying while the workers hold them, and afterwards their
# contexts, connections, listens (the ports serve a new app), memory and fds are all reclaimed.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
need_root

ECHO=$BUILD/bin/ix-echo
export IXDP_CONTROL=$CONTROL

ctx_held() { stats_json | jq '[.workers[].app.contexts] | add'; }
app_conns() { stats_json | jq '[.workers[].app.conns] | add'; }
# the daemon's app memory: memfd mappings and fds named ixdp-app-*
app_memfds() {
	{ grep -c 'ixdp-app-' "/proc/$IXDPD_PID/maps"
	  ls -l "/proc/$IXDPD_PID/fd" | grep -c 'ixdp-app-'; } | paste -sd+ | bc
}

netns_up 2
IXDP_DEBUG_DETACH_DELAY_MS=6000 ixdpd_start --workers 2 --echo-tcp 7000
grep -q 'IXDP_DEBUG_DETACH_DELAY_MS' "$tmp_dir/ixdpd.log" || fail "the debug delay is not on"
fds_before=$(ls "/proc/$IXDPD_PID/fd" | wc -l)

"$ECHO" -p 7002 -t 1 >"$tmp_dir/a.log" 2>&1 &
a_pid=$!
_pids+=("$a_pid")
"$ECHO" -p 7003 -t 1 >"$tmp_dir/b.log" 2>&1 &
b_pid=$!
_pids+=("$b_pid")
for _ in $(seq 100); do
	[ "$(stats_json | jq .apps.attached_now)" -eq 2 ] && break
	sleep 0.1
done
[ "$(stats_json | jq .apps.attached_now)" -eq 2 ] || fail "the two apps did not attach"
# 16 idle connections to each (held open by the peer)
for p in 7002 7003; do
	in_peer "$NETTOOL" tcp-streams "$DUT_IP" "$p" 16 -n 1 -m 1 -H 60 -t 90 \
		>"$tmp_dir/hold$p.out" 2>&1 &
	_pids+=($!)
done
for _ in $(seq 100); do
	[ "$(app_conns)" -eq 32 ] && break
	sleep 0.1
done
[ "$(app_conns)" -eq 32 ] || fail "expected 32 app connections, have $(app_conns)"
[ "$(app_memfds)" -gt 0 ] || fail "no app memory seen in the daemon's maps"
ok "two apps attached, 32 connections held, their memory mapped"

t0=$(date +%s.%N)
kill -KILL "$a_pid" "$b_pid"
wait "$a_pid" "$b_pid" 2>/dev/null
# The control thread spends 2 x 2 s on the first app's detach; then both are dying.
sleep 5
json=$(stats_json)
held=$(echo "$json" | jq '[.workers[].app.contexts] | add')
[ "$(echo "$json" | jq .apps.attached_now)" -eq 0 ] ||
	fail "the dead apps still count as attached: $(echo "$json" | jq -c .apps)"
[ "$held" -ge 1 ] ||
	fail "the delay did not hold any detach (workers hold $held contexts): the test proves nothing"
ok "the apps are dead, the workers still hold $held of their contexts (detach delayed)"

# Reclaimed: bounded wait (the second app's detaches are posted by ticks after the first's).
for _ in $(seq 120); do
	[ "$(ctx_held)" -eq 0 ] && [ "$(app_conns)" -eq 0 ] && [ "$(app_memfds)" -eq 0 ] && break
	sleep 0.25
done
t1=$(date +%s.%N)
[ "$(ctx_held)" -eq 0 ] || fail "a worker still holds a dead app's context: $(stats_json | jq -c '[.workers[].app]')"
[ "$(app_conns)" -eq 0 ] || fail "dead apps' connections left: $(app_conns)"
[ "$(app_memfds)" -eq 0 ] || fail "dead apps' memory left: $(grep ixdp-app- "/proc/$IXDPD_PID/maps")"
conns_zero || fail "TCP connections left on the workers"
grep -q 'every worker let go: reclaimed' "$tmp_dir/ixdpd.log" ||
	fail "no context was reclaimed by the retry: $(grep 'app ' "$tmp_dir/ixdpd.log" | tail -5)"
ok "after the delay both contexts, their connections and memory are reclaimed ($(echo "$t1 - $t0" | bc | cut -c1-4) s)"

# Their listens were given up: new apps get the same ports and serve them.
"$ECHO" -p 7002 -t 1 >"$tmp_dir/a2.log" 2>&1 &
_pids+=($!)
"$ECHO" -p 7003 -t 1 >"$tmp_dir/b2.log" 2>&1 &
_pids+=($!)
for p in 7002 7003; do
	for _ in $(seq 50); do
		in_peer "$NETTOOL" tcp-echo "$DUT_IP" "$p" 1000 >/dev/null 2>&1 && break
		sleep 0.2
	done
	out=$(in_peer "$NETTOOL" tcp-echo "$DUT_IP" "$p" 1000 2>&1) ||
		fail "port $p not served by a new app: $out $(cat "$tmp_dir"/*2.log)"
done
ok "the dead apps' ports serve new apps"
fds_now=$(ls "/proc/$IXDPD_PID/fd" | wc -l)
# the two new apps hold 2 + 2 x (2 + workers) fds in the daemon: socket, memfd, wakeups
[ "$fds_now" -le $((fds_before + 2 * 5)) ] ||
	fail "fds leaked: $fds_before before, $fds_now now with two apps"
ok "no fd leaked ($fds_before before, $fds_now with two new apps)"
ixdpd_stop || fail "ixdpd exited with $?"
