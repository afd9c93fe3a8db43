#!/bin/bash
# fwd.sh - frames that reach a worker which does not own their flow group go to the owner over
# the worker-to-worker ring, and the owner handles them as if it had received them.  The test
# steers one group to the wrong worker on purpose: it rewrites the fg_owner map of this
# daemon's own XDP program behind ixdpd's back (bpftool), so ixdpd's table still names the old
# owner.  UDP: every reflection comes back and the owner handles every frame of the group, the
# counters saying exactly how many crossed.  TCP: a held echo connection keeps working (the
# wrong worker's stack has no such connection: without forwarding it answers with a reset).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
need_root
command -v bpftool >/dev/null || fail "bpftool is missing (a build dependency)"

netns_up 2
ixdpd_start --workers 2 --reflect-udp 9000 --echo-tcp 7000

prog=$(stats_json | jq .xdp.prog_id)
map=
for id in $(bpftool prog show id "$prog" --json | jq '.map_ids[]'); do
	[ "$(bpftool map show id "$id" --json | jq -r .name)" = fg_owner ] && map=$id
done
[ -n "$map" ] || fail "no fg_owner map on XDP program $prog"
le32() { printf '%d %d %d %d' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24)); }
# steer GROUP WORKER: the program sends GROUP's frames to WORKER; ixdpd's table is not told.
steer() {
	# shellcheck disable=SC2046
	bpftool map update id "$map" key $(le32 "$1") value $(le32 "$2") ||
		fail "bpftool: cannot write fg_owner[$1]"
}
fwd_json() { stats_json | jq -c '[.workers[] | {misrouted, fwd_out, fwd_dropped, fwd_in}]'; }

# --- UDP: the same 64 flows twice, one group steered wrong in between -----------------------
send() {
	local out
	out=$(in_peer "$NETTOOL" udp-flows "$DUT_IP" 9000 64 10 -b 30000) || fail "traffic: $out"
	echo "$out"
}
send >/dev/null
json=$(stats_json)
g=$(echo "$json" | jq '[.flow_groups[] | select(.packets > 0)][0].id')
owner=$(echo "$json" | jq ".flow_groups[$g].owner")
wrong=$((1 - owner))
pkts=$(echo "$json" | jq ".flow_groups[$g].packets")
echo "$json" | jq -e '[.workers[] | .misrouted, .fwd_out, .fwd_in] | add == 0' >/dev/null ||
	fail "frames forwarded before anything was steered wrong: $(fwd_json)"

steer "$g" "$wrong"
out=$(send)
ok "group $g ($pkts frames a round) steered to worker $wrong behind ixdpd's back: $out"
json=$(stats_json)
echo "$json" | jq -e --argjson g "$g" --argjson o "$owner" --argjson x "$wrong" \
	--argjson p "$pkts" '
	(.flow_groups[$g].owner == $o) and
	(.flow_groups[$g].worker_packets[$o] == 2 * $p) and
	(.flow_groups[$g].worker_packets[$x] == 0) and
	(.workers[$x].misrouted == $p) and (.workers[$x].fwd_out == $p) and
	(.workers[$x].fwd_dropped == 0) and (.workers[$o].fwd_in == $p) and
	(.workers[$o].misrouted == 0) and (.workers[$x].fwd_in == 0)' >/dev/null ||
	fail "group $g: $(echo "$json" | jq -c ".flow_groups[$g]") workers: $(fwd_json)"
ok "all $pkts frames of group $g reached worker $wrong, went to owner $owner over the ring and" \
	"were answered: $(fwd_json)"
steer "$g" "$owner"

# --- TCP: one held echo connection, one round trip every 20 ms, until hold_stop -------------
hold_start 7000 1 20
conn=$("$IXDPCTL" --control "$CONTROL" conns --json | jq -c '[.conns[] | select(.local | endswith(":7000"))][0]')
g=$(echo "$conn" | jq .flow_group)
owner=$(echo "$conn" | jq .worker)
wrong=$((1 - owner))
in0=$(stats_json | jq ".workers[$owner].fwd_in")

steer "$g" "$wrong"
r0=$(hold_rounds)
sleep 1
r1=$(hold_rounds)
[ "$(hold_broken)" -eq 0 ] || fail "the connection broke: $(tail -2 "$tmp_dir/holder.out")"
[ "$r1" -gt $((r0 + 10)) ] || fail "the connection stalled: rounds $r0 -> $r1"
json=$(stats_json)
in1=$(echo "$json" | jq ".workers[$owner].fwd_in")
[ "$in1" -ge $((in0 + r1 - r0)) ] ||
	fail "worker $owner took $((in1 - in0)) forwarded frames for $((r1 - r0)) round trips: $(fwd_json)"
echo "$json" | jq -e --argjson x "$wrong" '.workers[$x].fwd_dropped == 0' >/dev/null ||
	fail "frames dropped on the ring: $(fwd_json)"
ok "TCP connection of group $g (owner $owner) steered to worker $wrong: $((r1 - r0)) more" \
	"round trips in 1 s, $((in1 - in0)) segments forwarded to the owner"

steer "$g" "$owner"
hold_stop || fail "echo client: $(tail -2 "$tmp_dir/holder.out")"
conns_zero || fail "connections left: $(stats_json | jq -c '[.workers[].tcp.conns]')"
pool_full
ok "no frame lost: $(stats_json | jq -c .af_xdp)"
ixdpd_stop || fail "ixdpd exit status $?"
