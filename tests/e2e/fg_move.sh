#!/bin/bash
# fg_move.sh - `ixdpctl fg move` at runtime: later frames of the moved group land on the new
# worker, nothing is lost, and bad moves are refused with a clear message.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
need_root

netns_up 2
ixdpd_start --workers 2 --reflect-udp 9000

# The same 64 flows (fixed source ports) twice, with a move in between.
send() {
	local out
	out=$(in_peer "$NETTOOL" udp-flows "$DUT_IP" 9000 64 10 -b 30000) || fail "traffic: $out"
}
send
json=$(stats_json)
g=$(echo "$json" | jq '[.flow_groups[] | select(.packets > 0)][0].id')
from=$(echo "$json" | jq ".flow_groups[$g].owner")
to=$((1 - from))
pkts=$(echo "$json" | jq ".flow_groups[$g].packets")
old_from=$(echo "$json" | jq ".flow_groups[$g].worker_packets[$from]")
[ "$old_from" -eq "$pkts" ] || fail "group $g: owner handled $old_from of $pkts"

out=$("$IXDPCTL" --control "$CONTROL" fg move "$g" "$to") || fail "fg move: $out"
ok "moved group $g ($pkts frames so far) from worker $from to worker $to"
[ "$(stats_json | jq ".flow_groups[$g].owner")" -eq "$to" ] || fail "owner not updated"

send
json=$(stats_json)
now_pkts=$(echo "$json" | jq ".flow_groups[$g].packets")
now_from=$(echo "$json" | jq ".flow_groups[$g].worker_packets[$from]")
now_to=$(echo "$json" | jq ".flow_groups[$g].worker_packets[$to]")
[ "$now_pkts" -eq $((2 * pkts)) ] || fail "group $g: $now_pkts frames, expected $((2 * pkts))"
[ "$now_from" -eq "$old_from" ] || fail "old owner handled frames after the move"
[ "$now_to" -eq "$pkts" ] || fail "new owner handled $now_to frames, expected $pkts"
ok "after the move all $pkts new frames of group $g went to worker $to, none to worker $from"

# Bad requests: a clear error and exit status 1, nothing changed.
out=$("$IXDPCTL" --control "$CONTROL" fg move 4096 0 2>&1) && fail "moving group 4096 worked"
echo "$out" | grep -q "no flow group 4096" || fail "unclear error: $out"
out=$("$IXDPCTL" --control "$CONTROL" fg move 0 2 2>&1) && fail "moving to worker 2 worked"
echo "$out" | grep -q "worker 2" || fail "unclear error: $out"
"$IXDPCTL" --control "$CONTROL" fg move x 1 >/dev/null 2>&1
[ $? -eq 2 ] || fail "a non-numeric group is not a usage error"
ok "bad moves refused: $out"

ixdpd_stop || fail "ixdpd exit status $?"
