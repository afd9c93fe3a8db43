#!/bin/bash
# coexist.sh - while ixdpd serves the reflector, the kernel keeps everything else on the same
# address: ICMP echo, a TCP connection to a kernel listener, UDP to another port.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
need_root

netns_up 2
ixdpd_start --workers 2 --reflect-udp 9000

# Kernel services in the DUT namespace, on other ports, bounded lifetimes.
ip netns exec "$ns_dut" "$NETTOOL" tcp-echo-server 7000 30 &
_pids+=($!)
ip netns exec "$ns_dut" "$NETTOOL" udp-echo-server 7001 30 &
_pids+=($!)
sleep 0.3

before=$(stats_json | jq '.xdp.passed')

out=$(in_peer ping -c 3 -i 0.2 -W 2 "$DUT_IP" 2>&1) || fail "ping: $out"
ok "ping to $DUT_IP answered by the kernel"

out=$(in_peer "$NETTOOL" tcp-echo "$DUT_IP" 7000 200000) || fail "kernel TCP: $out"
ok "kernel TCP listener on port 7000: $out"

out=$(in_peer "$NETTOOL" udp-flows "$DUT_IP" 7001 8 10) || fail "kernel UDP: $out"
ok "kernel UDP echo on port 7001: $out"

out=$(in_peer "$NETTOOL" udp-flows "$DUT_IP" 9000 32 10) || fail "reflector: $out"
ok "reflector on port 9000 at the same time: $out"

json=$(stats_json)
after=$(echo "$json" | jq '.xdp.passed')
[ "$after" -gt "$before" ] || fail "the XDP program counted no frame passed to the kernel"
echo "$json" | jq -e '([.workers[].rx_unhandled] | add) == 0 and .xdp.redirected == 320' \
	>/dev/null || fail "kernel traffic reached the workers: $(echo "$json" | jq -c '.xdp')"
ok "$((after - before)) frames passed to the kernel, none of them reached a worker"

ixdpd_stop || fail "ixdpd exit status $?"
ok "clean stop"
