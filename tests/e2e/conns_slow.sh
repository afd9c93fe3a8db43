#!/bin/bash
# conns_slow.sh - `ixdpctl conns` cannot hold the control thread while a worker is slow: with
# every CONNS request held 3 s in each worker on purpose (IXDP_DEBUG_CONNS_DELAY_MS), the request
# ends within its 250 ms bound with "worker N did not answer", a second one finds the worker
# still busy and ends at once, and `ixdpctl status` is answered meanwhile.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
need_root

# timed CMD...: run it, print "STATUS SECONDS" and keep its output in $tmp_dir/timed.out
timed() {
	local t0 t1 rc
	t0=$(date +%s.%N)
	"$@" >"$tmp_dir/timed.out" 2>&1
	rc=$?
	t1=$(date +%s.%N)
	echo "$rc $(echo "$t1 - $t0" | bc)"
}
under() { [ "$(echo "$1 < $2" | bc)" -eq 1 ]; }

netns_up 2
IXDP_DEBUG_CONNS_DELAY_MS=3000 ixdpd_start --workers 2 --echo-tcp 7000
grep -q 'IXDP_DEBUG_CONNS_DELAY_MS' "$tmp_dir/ixdpd.log" || fail "the debug delay is not on"

read -r rc secs <<<"$(timed "$IXDPCTL" --control "$CONTROL" conns)"
[ "$rc" -ne 0 ] || fail "conns succeeded although every worker holds it 3 s"
grep -q 'did not answer' "$tmp_dir/timed.out" || fail "conns: $(cat "$tmp_dir/timed.out")"
under "$secs" 0.8 || fail "conns held the control thread $secs s"
ok "conns with a slow worker ends in $secs s: $(cat "$tmp_dir/timed.out")"

read -r rc secs <<<"$(timed "$IXDPCTL" --control "$CONTROL" status)"
[ "$rc" -eq 0 ] || fail "status while the worker is slow: $(cat "$tmp_dir/timed.out")"
under "$secs" 0.8 || fail "status took $secs s"
ok "status is answered meanwhile ($secs s)"

read -r rc secs <<<"$(timed "$IXDPCTL" --control "$CONTROL" conns)"
[ "$rc" -ne 0 ] && under "$secs" 0.8 || fail "a second conns: $rc in $secs s: $(cat "$tmp_dir/timed.out")"
ok "a second conns finds the worker still busy and ends in $secs s"
sleep 3.5
ixdpd_stop || fail "ixdpd exited with $?"
