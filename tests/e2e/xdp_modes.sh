#!/bin/bash
# xdp_modes.sh - generic mode, and external mode: a program attached with `ip link ... xdp obj`
# is found and used, left passing everything when ixdpd stops, and refused in native mode.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
need_root

BPF_OBJ=$BUILD/bpf/ixdp_steer.bpf.o
netns_up 2

ixdpd_start --workers 2 --reflect-udp 9000 --xdp-mode generic
out=$(in_peer "$NETTOOL" udp-flows "$DUT_IP" 9000 64 10) || fail "generic: $out"
mode=$(stats_json | jq -r '.xdp.mode + "/" + .xdp.attach')
[ "$mode" = "generic/skb" ] || fail "generic mode reported as $mode"
ixdpd_stop || fail "ixdpd exit status $?"
xdp_attached && fail "generic: XDP left attached"
ok "generic (skb) mode: $out"

ip -n "$ns_dut" link set dev dut0 xdp obj "$BPF_OBJ" sec xdp || fail "ip link xdp obj"
out=$(in_peer "$NETTOOL" udp-refused "$DUT_IP" 9000) ||
	fail "an external program without ixdpd must pass everything: $out"
ok "external program alone passes everything to the kernel"

ixdpd_start --workers 2 --reflect-udp 9000 --xdp-mode external
out=$(in_peer "$NETTOOL" udp-flows "$DUT_IP" 9000 64 10) || fail "external: $out"
[ "$(stats_json | jq -r .xdp.mode)" = external ] || fail "mode not reported as external"
ok "external mode serves: $out"
ixdpd_stop || fail "ixdpd exit status $?"
xdp_attached || fail "external program removed by ixdpd; it belongs to the operator"
out=$(in_peer "$NETTOOL" udp-refused "$DUT_IP" 9000) || fail "after stop: $out"
ok "after ixdpd stops, the external program passes everything again"

# Native mode over someone else's program: a clear error, exit 1, their program untouched.
out=$(ip netns exec "$ns_dut" "$IXDPD" --foreground --interface dut0 --control "$CONTROL" 2>&1)
rc=$?
[ $rc -eq 1 ] || fail "native over an attached program exited $rc"
echo "$out" | grep -q "already has an XDP program" || fail "unclear error: $out"
xdp_attached || fail "the existing program was removed"
ok "native mode over an attached program refused: $(echo "$out" | grep already)"

# External mode with nothing attached: exit 1 and a hint.
ip -n "$ns_dut" link set dev dut0 xdp off
out=$(ip netns exec "$ns_dut" "$IXDPD" --foreground --interface dut0 --control "$CONTROL" \
	--xdp-mode external 2>&1)
rc=$?
[ $rc -eq 1 ] || fail "external with no program exited $rc"
echo "$out" | grep -q "no XDP program is attached" || fail "unclear error: $out"
ok "external mode without a program refused"
