#!/bin/bash
# tcp_faults.sh - TCP through loss, duplication and reordering in both directions (a relay
# namespace between the peer and ixdpd), resets mid-stream, the same 4-tuple reused, TCP over
# IPv6, and the peer reconnecting after ixdpd restarts.  Every byte must arrive intact.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
need_root

netns_up_relay 2
# 1 % loss, 1 % duplication, 5 % reordering, each direction.
ip netns exec "$ns_relay" "$NETTOOL" impair r0 r1 300 -l 10000 -d 10000 -o 50000 -r 5 \
	>"$tmp_dir/relay.log" 2>&1 &
relay=$!
_pids+=("$relay")
ixdpd_start --workers 2 --echo-tcp 7000

out=$(in_peer "$NETTOOL" tcp-streams "$DUT_IP" 7000 32 -n 1 -m 1048576 -r 21 -t 200) ||
	fail "through loss, duplication and reordering: $out"
retrans=$(stats_json | jq '[.workers[].tcp.retrans] | add')
[ "$retrans" -gt 0 ] || fail "no retransmission counted through a lossy relay"
ok "1 % loss, 1 % duplication, 5 % reordering both ways: $(echo "$out" | tail -1), $retrans retransmitted by ixdpd"

kill "$relay"
wait "$relay" 2>/dev/null
sed 's/^/      relay: /' "$tmp_dir/relay.log"

ixdpd_stop || fail "ixdpd exit status $?"
for ns in "$ns_dut" "$ns_peer" "$ns_relay"; do ip netns del "$ns"; done

# The same 4-tuple again and again; IPv6; the peer reconnecting after a restart.
netns_up 2
ipv6_up
ixdpd_start --workers 2 --echo-tcp 7000
# Resets half way through: the server side is torn down, the others finish intact.  (On a
# lossless link: a lost RST leaves a half-open connection on any TCP server until it sends.)
out=$(in_peer "$NETTOOL" tcp-streams "$DUT_IP" 7000 64 -n 1000 -m 200000 -r 22 -A 300000 \
	-t 200) || fail "with resets: $out"
for _ in $(seq 80); do
	[ "$(stats_json | jq '[.workers[].tcp.conns] | add')" -eq 0 ] && break
	sleep 0.25
done
json=$(stats_json)
[ "$(echo "$json" | jq '[.workers[].tcp.conns] | add')" -eq 0 ] ||
	fail "reset connections left on the server: $(echo "$json" | jq -c '[.workers[].tcp]')"
[ "$(echo "$json" | jq '[.workers[].tcp.opened] | add')" -eq \
	"$(echo "$json" | jq '[.workers[].tcp.closed] | add')" ] || fail "opened != closed"
ok "streams reset half way ($(echo "$out" | tail -1)): every server connection closed"

out=$(in_peer "$NETTOOL" tcp-reconnect "$DUT_IP" 7000 40000 50) || fail "4-tuple reuse: $out"
ok "$out"

out=$(in_peer "$NETTOOL" tcp-streams "$DUT_IP6" 7000 32 -n 1 -m 2097152 -r 23) ||
	fail "IPv6: $out"
ok "IPv6 ($DUT_IP6): $(echo "$out" | tail -1)"
out=$(in_peer "$NETTOOL" tcp-reconnect "$DUT_IP6" 7000 40001 10) || fail "IPv6 reuse: $out"
[ "$(in_peer nstat -az TcpInCsumErrors | awk '/Tcp/ { print $2 }')" -eq 0 ] ||
	fail "checksum errors at the peer"

ixdpd_stop || fail "ixdpd exit status $?"
ixdpd_start --workers 2 --echo-tcp 7000
out=$(in_peer "$NETTOOL" tcp-streams "$DUT_IP" 7000 16 -n 1 -m 100000 -r 24) ||
	fail "after a restart: $out"
ok "the peer connects again after ixdpd restarted: $(echo "$out" | tail -1)"
ixdpd_stop || fail "ixdpd exit status $?"
