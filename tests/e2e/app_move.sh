#!/bin/bash
# app_move.sh - connections handed between the contexts of one process (ix_move, ixev_move)
# under traffic: an echo whose every connection moves to the next of its 3 loops each 8 KiB
# while 32 peers check every byte of their echoed streams (order and content), and then the
# same with one loop's context ending mid-run: the daemon stays up, connections that were not
# on the ending context finish intact, a fresh batch after it is served whole by the other two,
# every conn is released by exactly one loop (also those moved to the ending one just before it
# ended), and every connection and frame is reclaimed.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
need_root

MOVE=$BUILD/bin/ixdp-move-echo
export IXDP_CONTROL=$CONTROL

attached() { # N: until N contexts are attached (bounded)
	for _ in $(seq 100); do
		[ "$(stats_json | jq .apps.attached_now)" -eq "$1" ] && return 0
		sleep 0.1
	done
	fail "expected $1 contexts, have $(stats_json | jq .apps.attached_now)"
}
sum() { stats_json | jq "[.workers[].app.$1] | add"; }
app_conns_zero() {
	for _ in $(seq 50); do
		[ "$(sum conns)" -eq 0 ] && return 0
		sleep 0.1
	done
	fail "app connections left: $(stats_json | jq -c '[.workers[].app]')"
}

netns_up 2
ixdpd_start --workers 2 || fail "ixdpd did not start"
pool_full

# Back and forth under traffic.
"$MOVE" 7010 3 8192 120 >"$tmp_dir/move1.out" 2>"$tmp_dir/move1.log" &
mv=$!
_pids+=("$mv")
attached 3
out=$(in_peer "$NETTOOL" tcp-streams "$DUT_IP" 7010 32 -n 65536 -m 4194304 -r 7 -t 90) ||
	fail "streams through moving connections: $out $(tail -3 "$tmp_dir/move1.log")"
moves=$(sum moves)
refused=$(sum moves_refused)
kill -TERM "$mv"
wait "$mv" || fail "move-echo exit status $?: $(cat "$tmp_dir/move1.log")"
read -r _ asked _ arrived _ unreleased <"$tmp_dir/move1.out" || fail "move-echo printed nothing"
[ "$unreleased" -eq 0 ] || fail "$unreleased conns never released with every context alive"
[ "$moves" -ge 100 ] || fail "only $moves moves carried out (move-echo asked for $asked)"
[ "$refused" -eq 0 ] || fail "$refused moves refused with every context alive"
[ "$arrived" -ge "$moves" ] || fail "$moves moves but only $arrived arrivals seen"
ok "32 streams of 64 KiB to 4 MiB echoed intact while their connections moved between 3" \
	"contexts every 8 KiB: $moves moves ($arrived arrivals), none refused; $(echo "$out" | tail -1)"
attached 0
app_conns_zero
pool_full
ok "every context, connection and frame reclaimed"

# A context that ends mid-run: loop 1 after 1.5 s, while 0 and 2 move connections to it.
m0=$(sum moves)
"$MOVE" 7011 3 4096 120 1 1500 >"$tmp_dir/move2.out" 2>"$tmp_dir/move2.log" &
mv=$!
_pids+=("$mv")
attached 3
# (8 to 32 MiB each: ~650 MiB in all, still flowing when loop 1 ends at 1.5 s)
in_peer "$NETTOOL" tcp-streams "$DUT_IP" 7011 32 -n 8388608 -m 33554432 -r 8 -t 60 \
	>"$tmp_dir/streams2.out" 2>&1 &
streams=$!
_pids+=("$streams")
for _ in $(seq 100); do
	grep -q "thread 1 ends its context" "$tmp_dir/move2.log" && break
	sleep 0.1
done
grep -q "thread 1 ends its context" "$tmp_dir/move2.log" || fail "loop 1 never ended"
# the premise: the other loops were still moving connections to it then
kill -0 "$streams" 2>/dev/null ||
	fail "the streams ended before loop 1's context did: $(tail -1 "$tmp_dir/streams2.out")"
attached 2
wait "$streams"
during=$(tail -1 "$tmp_dir/streams2.out")
kill -0 "$IXDPD_PID" || fail "ixdpd died"
out=$(in_peer "$NETTOOL" tcp-streams "$DUT_IP" 7011 16 -n 65536 -m 2097152 -r 9 -t 60) ||
	fail "the two loops left after the end: $out"
after=$(($(sum moves) - m0))
refused=$(sum moves_refused)
[ "$after" -gt 0 ] || fail "no move carried out in the second run"
# move-echo's other loops go on moving conns to loop 1 for 200 ms after its ix_end().
[ "$refused" -gt 0 ] || fail "no move to the ended context was refused"
ok "loop 1's context ended mid-run ($during); then 16 more streams echoed intact by the other" \
	"two, still moving: $after moves; $refused moves to the ended context refused"
kill -TERM "$mv"
wait "$mv" || fail "move-echo exit status $?: $(cat "$tmp_dir/move2.log")"
read -r _ _ _ _ _ unreleased <"$tmp_dir/move2.out" || fail "move-echo printed nothing"
# ix_end(): every conn moved to loop 1 before its end is announced to it, and released.
[ "$unreleased" -eq 0 ] || fail "$unreleased conns moved to the ending loop released by none"
lost=$(sum moved_lost)
[ "$lost" -eq 0 ] || fail "$lost MOVEDs the ending context never read"
ok "every conn released exactly once across the end (moved_lost 0)"
attached 0
app_conns_zero
pool_full
ok "every context, connection and frame reclaimed after it"
ixdpd_stop || fail "ixdpd exit status $?"
ok "ixdpd exited cleanly"
