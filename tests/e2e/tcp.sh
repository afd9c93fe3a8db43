#!/bin/bash
# tcp.sh - the TCP dataplane against the kernel's TCP in the peer namespace: concurrent streams
# of 1 B to 8 MiB echoed intact (half-close included) over 2 and 4 workers, 10,000 connections
# held open at once and served, no checksum errors or resets at the peer, the kernel still
# serving everything else, neighbours resolved and re-resolved through the kernel, and a client
# behind a gateway reached through the kernel's routes, followed as they change.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
need_root
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

peer_tcp_errors() {
	in_peer nstat -az TcpInCsumErrors TcpEstabResets TcpInErrs | awk '/Tcp/ { s += $2 } END { print s + 0 }'
}

streams() { # workers cpus
	local workers=$1 cpus=$2 out json
	netns_up "$workers"
	ixdpd_start --workers "$workers" --cpus "$cpus" --echo-tcp 7000
	out=$(in_peer "$NETTOOL" tcp-streams "$DUT_IP" 7000 64 -n 1 -m 8388608 -r "$workers") ||
		fail "$workers workers: $out"
	ok "$workers workers, 64 concurrent streams of 1 B to 8 MiB: $(echo "$out" | tail -1)"
	[ "$(peer_tcp_errors)" -eq 0 ] || fail "peer counted TCP checksum errors or resets"
	json=$(stats_json)
	echo "$json" | jq -e --argjson w "$workers" '
		(.workers | length == $w) and all(.workers[]; .tcp.opened > 0) and
		([.workers[].tcp.opened] | add == 64) and ([.workers[].misrouted] | add == 0)' \
		>/dev/null || fail "connections not spread over the workers: $(echo "$json" |
			jq -c '[.workers[] | {id, tcp}]')"
	ok "$workers workers: every worker served connections, none misrouted, peer saw no errors"
	conns_zero || fail "connections left open"
	ok "$workers workers: all connections closed"
	ixdpd_stop || fail "ixdpd exit status $?"
	ip netns del "$ns_dut"
	ip netns del "$ns_peer"
}

streams 2 0,1
streams 4 0,1,0,1

# A client behind a gateway: ixdpd's answers go to the next hop of the kernel's route, and a
# route deleted or added while ixdpd runs is followed.  CLIENT_IP sits on the peer's lo; the
# DUT reaches it through the peer (PEER_IP) as its gateway.
CLIENT_IP=198.19.1.1
gw_echo() { # timeout_s: 100 KiB echoed intact from CLIENT_IP; prints what happened
	timeout $(($1 + 5)) ip netns exec "$ns_peer" python3 -c '
import os, socket, sys
data = os.urandom(102400)
try:
	s = socket.create_connection((sys.argv[1], 7000), timeout=float(sys.argv[3]),
				     source_address=(sys.argv[2], 0))
	s.sendall(data)
	s.shutdown(socket.SHUT_WR)
	got = bytearray()
	while True:
		b = s.recv(65536)
		if not b:
			break
		got += b
except OSError as e:
	print("failed:", e)
	sys.exit(1)
print("%d of %d bytes echoed %s" % (len(got), len(data), "intact" if got == data else "CORRUPT"))
sys.exit(0 if got == data else 1)' "$DUT_IP" "$CLIENT_IP" "$1"
}
netns_up 1
in_peer ip addr add "$CLIENT_IP/32" dev lo
in_dut ip route add 198.19.1.0/24 via "$PEER_IP" dev dut0
ixdpd_start --workers 1 --echo-tcp 7000
out=$(gw_echo 5) || fail "from $CLIENT_IP through the gateway $PEER_IP: $out"
ok "from $CLIENT_IP through the gateway $PEER_IP (a mirrored route): $out"
in_dut ip route del 198.19.1.0/24 via "$PEER_IP" dev dut0
sleep 0.5
tcp_sum() { stats_json | jq "[.workers[].tcp.$1] | add"; }
segs0=$(tcp_sum segs_in) drop0=$(tcp_sum dropped)
out=$(gw_echo 3) && fail "the route is gone but ixdpd still answered $CLIENT_IP: $out"
# No answer for the right reason: the SYNs reached ixdpd, and its answers had nowhere to go.
echo "$out" | grep -q "timed out" || fail "route deleted: expected no answer (a timeout), got: $out"
kill -0 "$IXDPD_PID" || fail "ixdpd died"
segs=$(($(tcp_sum segs_in) - segs0)) drops=$(($(tcp_sum dropped) - drop0))
[ "$segs" -ge 1 ] || fail "route deleted: the SYNs never reached ixdpd, so this proves nothing"
[ "$drops" -ge 1 ] || fail "route deleted: $segs segments in, but no answer counted as unroutable"
ok "route deleted: no answer to $CLIENT_IP ($out): $segs SYNs in, $drops answers without a route"
in_dut ip route add 198.19.1.0/24 via "$PEER_IP" dev dut0
out=$(gw_echo 5) || fail "the route is back but ixdpd does not answer $CLIENT_IP: $out"
ok "route added again: $out"
conns_zero 20
json=$(stats_json)
echo "$json" | jq -e '([.workers[].tcp.opened] | add >= 2) and ([.workers[].tcp.conns] | add == 0)' \
	>/dev/null || fail "tcp counters: $(echo "$json" | jq -c '[.workers[].tcp]')"
ixdpd_stop || fail "ixdpd exit status $?"
ok "routes followed: $(echo "$json" | jq -c '[.workers[].tcp | {conns, opened, closed}]')"
ip netns del "$ns_dut"
ip netns del "$ns_peer"

# 10,000 connections open at once, then each echoes a small stream.
netns_up 2
in_dut ip neigh del "$PEER_IP" dev dut0 # resolved through the kernel, not preset
ixdpd_start --workers 2 --echo-tcp 7000
ip netns exec "$ns_dut" "$NETTOOL" tcp-echo-server 7100 60 &
_pids+=($!)
in_peer "$NETTOOL" tcp-streams "$DUT_IP" 7000 10000 -n 64 -m 1024 -r 3 -t 240 -H 3 \
	>"$tmp_dir/streams.out" 2>&1 &
streams=$!
_pids+=("$streams")
for _ in $(seq 200); do
	grep -q "open at once" "$tmp_dir/streams.out" && break
	kill -0 "$streams" 2>/dev/null || break
	sleep 0.1
done
sleep 0.5
# While all 10,000 are open: every one listed, established, on the worker owning its group.
"$IXDPCTL" --control "$CONTROL" conns --json >"$tmp_dir/conns.json" || fail "ixdpctl conns"
json=$(stats_json)
jq -e --argjson fg "$(echo "$json" | jq '[.flow_groups[].owner]')" '
	(.conns | length == 10000) and .truncated == 0 and
	all(.conns[]; .state == "ESTABLISHED" and .worker == $fg[.flow_group])' \
	"$tmp_dir/conns.json" >/dev/null ||
	fail "ixdpctl conns: $(jq -c '{n: (.conns | length), truncated, first: .conns[0]}' "$tmp_dir/conns.json")"
echo "$json" | jq -e '([.flow_groups[].conns] | add == 10000) and
	([.workers[].tcp.conns] | add == 10000)' >/dev/null || fail "connection counts"
ok "10,000 connections open at once: all listed by ixdpctl conns, established, each on its group's owner"
wait "$streams" || fail "10,000 connections: $(cat "$tmp_dir/streams.out")"
ok "10,000 connections held and served: $(tail -1 "$tmp_dir/streams.out")"
in_dut ip neigh show "$PEER_IP" dev dut0 | grep -q "$PEER_MAC" ||
	fail "the kernel has no neighbour entry: ixdpd did not have it resolved"
ok "the peer's MAC was resolved by the kernel on ixdpd's request"
[ "$(peer_tcp_errors)" -eq 0 ] || fail "peer counted TCP checksum errors or resets"

# The kernel keeps serving the rest while ixdpd serves TCP on the same address.
out=$(in_peer ping -c 2 -i 0.2 -W 2 "$DUT_IP" 2>&1) || fail "ping: $out"
out=$(in_peer "$NETTOOL" tcp-echo "$DUT_IP" 7100 100000) || fail "kernel TCP: $out"
ok "ping and a kernel TCP service on the same address still work"

# The peer changes its MAC: once the kernel knows, ixdpd's answers follow without a restart.
NEW_MAC=02:00:c6:12:00:22
in_peer ip link set peer0 address "$NEW_MAC"
in_dut ip neigh replace "$PEER_IP" lladdr "$NEW_MAC" dev dut0 nud reachable
out=$(in_peer "$NETTOOL" tcp-streams "$DUT_IP" 7000 16 -n 1000 -m 100000 -r 4 -t 30) ||
	fail "after the peer's MAC changed: $out"
ok "after the peer's MAC changed: $(echo "$out" | tail -1)"
ixdpd_stop || fail "ixdpd exit status $?"
