#!/bin/bash
# fg_move.sh - `ixdpctl fg move` at runtime: later frames of the moved group land on the new
# worker, nothing is lost, and bad moves are refused with a clear message.  Under 32 live echo
# connections, moving a group that holds some is refused (the count named) and they keep
# echoing; `--force` moves it and resets exactly that group's connections, the others go on.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
need_root

netns_up 2
ixdpd_start --workers 2 --reflect-udp 9000 --echo-tcp 7000

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

# Live TCP: 32 echo connections, one round trip on each every 50 ms, until hold_stop.
hold_start 7000 32 50
json=$(stats_json)
g=$(echo "$json" | jq '[.flow_groups[] | select(.conns > 0)][0].id')
n=$(echo "$json" | jq ".flow_groups[$g].conns")
from=$(echo "$json" | jq ".flow_groups[$g].owner")
to=$((1 - from))
out=$("$IXDPCTL" --control "$CONTROL" fg move "$g" "$to" 2>&1) &&
	fail "group $g moved under $n live connections: $out"
echo "$out" | grep -q "flow group $g has $n TCP connection" || fail "unclear refusal: $out"
[ "$(stats_json | jq ".flow_groups[$g].owner")" -eq "$from" ] || fail "owner changed"
r0=$(hold_rounds)
sleep 1
[ "$(hold_rounds)" -gt $((r0 + 5)) ] && [ "$(hold_broken)" -eq 0 ] ||
	fail "the connections stopped echoing: $(tail -3 "$tmp_dir/holder.out")"
ok "group $g with $n live connections not moved: '$out'; all 32 keep echoing" \
	"($(hold_rounds) rounds)"

out=$("$IXDPCTL" --control "$CONTROL" fg move --force "$g" "$to" 2>&1) ||
	fail "fg move --force: $out"
[ "$(stats_json | jq ".flow_groups[$g].owner")" -eq "$to" ] || fail "owner not updated"
for _ in $(seq 100); do
	[ "$(hold_broken)" -ge "$n" ] && break
	sleep 0.1
done
[ "$(hold_broken)" -eq "$n" ] ||
	fail "after the forced move $(hold_broken) connections broke, not the group's $n"
r0=$(hold_rounds)
sleep 1
[ "$(hold_rounds)" -gt $((r0 + 5)) ] && [ "$(hold_broken)" -eq "$n" ] ||
	fail "the other connections stopped echoing: $(tail -3 "$tmp_dir/holder.out")"
for _ in $(seq 40); do
	[ "$(stats_json | jq ".flow_groups[$g].conns")" -eq 0 ] && break
	sleep 0.1
done
[ "$(stats_json | jq ".flow_groups[$g].conns")" -eq 0 ] ||
	fail "group $g still holds connections after the forced move:" \
		"$(stats_json | jq -c ".flow_groups[$g]") $(tail -3 "$tmp_dir/ixdpd.log")"
grep -q "flow group $g moved by force: $n TCP connections reset" "$tmp_dir/ixdpd.log" ||
	fail "the forced move was not logged"
ok "--force: group $g moved, its $n connections reset at once ($(grep -m1 broken: \
	"$tmp_dir/holder.out")), the other $((32 - n)) keep echoing"
hold_stop || fail "echo client: $(tail -3 "$tmp_dir/holder.out")"

ixdpd_stop || fail "ixdpd exit status $?"
