#!/bin/bash
# hostile.sh - malformed and hostile frames at the interface: random bytes, every truncation of a
# service datagram, bad IHL, impossible IPv4 and UDP lengths, bad checksums to the reflector.
# ixdpd must not crash, must answer none of the bad ones, and the counters must account for
# every frame sent.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
need_root

ROUNDS=${ROUNDS:-20}
netns_up 1
ixdpd_start --workers 1 --reflect-udp 9000

total() { jq '.xdp.redirected + .xdp.passed + .xdp.not_parsed + .xdp.no_socket'; }
# Every frame the peer transmits (the garbage, and the kernel's own answers to the DUT kernel's
# reactions to it, e.g. ARP) reaches dut0's XDP program exactly once.
peer_tx() { ip -n "$ns_peer" -s -j link show peer0 | jq '.[0].stats64.tx.packets'; }
before=$(stats_json)
tx_before=$(peer_tx)
out=$(in_peer "$NETTOOL" garbage peer0 "$DUT_MAC" "$DUT_IP" 9000 -n "$ROUNDS" -r 0x5eed) ||
	fail "garbage: $out"
read -r _ sent _ bad _ good <<<"$out"
ok "sent $sent hostile frames ($bad bad-checksum and $good padded valid datagrams to the reflector)"

sleep 0.5 # the last frames are still in the worker's burst
after=$(stats_json)
tx=$(($(peer_tx) - tx_before))
kill -0 "$IXDPD_PID" || fail "ixdpd died"
[ "$tx" -ge "$sent" ] || fail "the peer transmitted $tx frames, fewer than the $sent sent"
d_total=$(($(echo "$after" | total) - $(echo "$before" | total)))
[ "$d_total" -eq "$tx" ] || fail "XDP counted $d_total frames, the peer transmitted $tx"
ok "XDP accounted for every frame the peer sent ($tx): $(echo "$after" | jq -c '.xdp | del(.mode, .attach, .prog_id)')"

echo "$after" | jq -e --argjson bad "$bad" --argjson good "$good" '
	.xdp.redirected == $bad + $good and
	.workers[0].rx_packets == $bad + $good and
	.workers[0].rx_invalid == $bad and
	.workers[0].tx_packets == $good' >/dev/null ||
	fail "worker counters: $(echo "$after" | jq -c '.workers[0] | {rx_packets, rx_invalid, rx_unhandled, tx_packets}')"
ok "the worker dropped and counted all $bad bad datagrams and answered the $good valid ones"

out=$(in_peer "$NETTOOL" udp-flows "$DUT_IP" 9000 16 10) || fail "after the garbage: $out"
ok "still serving: $out"
ixdpd_stop || fail "ixdpd exit status $?"
