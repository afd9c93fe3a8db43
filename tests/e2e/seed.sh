#!/bin/bash
# seed.sh - the flow hash seed: drawn at every start unless flow-hash-seed sets it, used alike by
# the XDP program and the workers (no frame misrouted, every group's frames handled by its
# owner), and shown to root only.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
need_root

# The app group: this run's own, removed after it.
GROUP=ixdps$$
groupadd --system "$GROUP" || fail "groupadd $GROUP"
cleanup_extra() { groupdel "$GROUP" 2>/dev/null; }
netns_up 2
# The member runs a copy of ixdpctl it can read (the checkout may be closed to it), and reaches
# the control socket in $tmp_dir (user_copy makes it 0755).
user_copy "$IXDPCTL"
UIXDPCTL=$tmp_dir/u/bin/$(basename "$IXDPCTL")

# run ARGS...: start ixdpd, 64 UDP flows x 10 through the reflector, check the steering; sets
# $seed, $random and $groups (packets per flow group, as a JSON array), then stops.
run() {
	local out json
	ixdpd_start --workers 2 --reflect-udp 9000 --app-group "$GROUP" "$@"
	out=$(in_peer "$NETTOOL" udp-flows "$DUT_IP" 9000 64 10 -b 20000) || fail "udp-flows: $out"
	json=$(stats_json) || fail "stats"
	echo "$json" | jq -e '
		([.workers[].misrouted] | add == 0) and
		all(.flow_groups[]; . as $g
		    | ([range(0; $g.worker_packets | length) | select(. != $g.owner)
			| $g.worker_packets[.]] | add // 0) == 0
		    and $g.worker_packets[$g.owner] == $g.packets)' >/dev/null ||
		fail "steering: $(echo "$json" | jq -c '{flow_hash, misrouted: [.workers[].misrouted]}')"
	seed=$(echo "$json" | jq .flow_hash.seed)
	random=$(echo "$json" | jq .flow_hash.random)
	groups=$(echo "$json" | jq -c '[.flow_groups[].packets]')
	# Who is not root (here a member of app-group) does not learn the seed.
	out=$(setpriv --reuid nobody --regid "$GROUP" --clear-groups "$UIXDPCTL" --control "$CONTROL" \
		stats --json) || fail "stats as a member of app-group: $out"
	[ "$(echo "$out" | jq -c .flow_hash)" = "{\"seed\":null,\"random\":$random}" ] ||
		fail "a user who is not root was shown $(echo "$out" | jq -c .flow_hash)"
	ixdpd_stop || fail "ixdpd exit status $?"
}

run
seed1=$seed groups1=$groups
[ "$random" = true ] || fail "no flow-hash-seed set, yet the seed is not drawn: random=$random"
run
[ "$random" = true ] && [ "$seed" != "$seed1" ] ||
	fail "two starts drew the same seed $seed (or random=$random)"
[ "$groups" != "$groups1" ] || fail "the same flows fell into the same groups with seeds $seed1 and $seed"
ok "two starts drew seeds $seed1 and $seed; the same 64 flows fell into other groups; no frame misrouted; hidden from non-root"

run --flow-hash-seed 12345
[ "$seed" = 12345 ] && [ "$random" = false ] || fail "flow-hash-seed 12345: seed $seed, random=$random"
groups3=$groups
run --flow-hash-seed 12345
[ "$seed" = 12345 ] && [ "$groups" = "$groups3" ] ||
	fail "flow-hash-seed 12345 twice: seed $seed, groups differ"
ok "flow-hash-seed 12345: used as configured, the same groups on both starts, no frame misrouted"
