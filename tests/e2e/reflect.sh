#!/bin/bash
# reflect.sh - 256 UDP flows from the kernel peer to the reflector, with 2 and 4 workers on a veth
# with as many queues: every datagram answered intact, no checksum error at the peer, and every
# frame of a flow group handled by the group's owner.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
need_root

FLOWS=256
COUNT=${COUNT:-20}

run() {
	local workers=$1 cpus=$2 out json
	netns_up "$workers"
	ixdpd_start --workers "$workers" --cpus "$cpus" --reflect-udp 9000
	in_peer nstat -n >/dev/null # reset the peer's counter history

	out=$(in_peer "$NETTOOL" udp-flows "$DUT_IP" 9000 "$FLOWS" "$COUNT" -b 20000 -s 200) ||
		fail "$workers workers: $out"
	ok "$workers workers: $out"

	local csum
	csum=$(in_peer nstat -az UdpInCsumErrors UdpInErrors | awk '/Udp/ { s += $2 } END { print s + 0 }')
	[ "$csum" -eq 0 ] || fail "$workers workers: peer counted $csum UDP checksum/other errors"
	ok "$workers workers: peer saw no checksum errors"

	json=$(stats_json) || fail "stats"
	local total=$((FLOWS * COUNT))
	echo "$json" | jq -e --argjson total "$total" --argjson w "$workers" '
		(.xdp.redirected == $total) and
		([.workers[].rx_packets] | add == $total) and
		([.workers[].tx_packets] | add == $total) and
		([.workers[].misrouted] | add == 0) and
		([.workers[].rx_dropped] | add == 0) and
		(.workers | length == $w) and
		(all(.workers[]; .rx_packets > 0))' >/dev/null ||
		fail "$workers workers: counters do not add up: $(echo "$json" | jq -c '{xdp, workers: [.workers[] | {id, rx_packets, tx_packets, misrouted, rx_dropped}]}')"
	ok "$workers workers: $total frames redirected, received and sent, spread over all workers"

	# Per flow group: only the owner handled its frames, and it handled all the XDP steered.
	echo "$json" | jq -e '
		all(.flow_groups[];
		    . as $g
		    | ([range(0; $g.worker_packets | length) | select(. != $g.owner)
			| $g.worker_packets[.]] | add // 0) == 0
		    and $g.worker_packets[$g.owner] == $g.packets)' >/dev/null ||
		fail "$workers workers: a flow group was handled by a worker that does not own it"
	local groups
	groups=$(echo "$json" | jq '[.flow_groups[] | select(.packets > 0)] | length')
	ok "$workers workers: every frame handled by its group's owner ($groups groups carried traffic)"

	ixdpd_stop || fail "ixdpd exit status $?"
	xdp_attached && fail "XDP program still attached after a clean stop"
	ok "$workers workers: clean stop, XDP detached"
	ip netns del "$ns_dut"
	ip netns del "$ns_peer"
}

run 2 0,1
run 4 0,1,0,1
