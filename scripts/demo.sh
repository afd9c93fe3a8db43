#!/bin/bash
# demo.sh - ixdp in two namespaces: ixdpd serves a TCP echo service (each worker its own TCP
# stack) and a UDP reflector on one side of a 2-queue veth with 2 workers, the kernel peer on
# the other side opens 32 TCP connections and sends 64 UDP flows; then it shows what each
# worker served and what the kernel kept (ping, a kernel TCP service on the same address).
# Everything is removed at the end.  Run as root: `sudo make demo`.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/netns.sh
if [ "$(id -u)" -ne 0 ]; then
	echo "demo.sh: needs root (network namespaces, XDP, AF_XDP): sudo make demo" >&2
	exit 1
fi

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "topology: namespace $ns_dut (dut0 $DUT_IP, ixdpd) <-- 2-queue veth --> namespace $ns_peer (peer0 $PEER_IP, Linux)"
netns_up 2

say "ixdpd --interface dut0 --workers 2 --echo-tcp 7 --reflect-udp 9000"
ixdpd_start --workers 2 --echo-tcp 7 --reflect-udp 9000
sed 's/^/  /' "$tmp_dir/ixdpd.log"

# A kernel TCP echo service on the same address, another port: the kernel keeps it.
ip netns exec "$ns_dut" "$NETTOOL" tcp-echo-server 7000 20 &
_pids+=($!)
sleep 0.2

say "peer -> 198.18.0.1:9000: 64 UDP flows x 400 datagrams, each checked on return"
in_peer "$NETTOOL" udp-flows "$DUT_IP" 9000 64 400 -s 128 | sed 's/^/  /' ||
	fail "the reflector lost or corrupted datagrams"

say "peer -> 198.18.0.1:7 (TCP echo): 32 connections, streams of 1 KiB to 4 MiB, checked on return"
in_peer "$NETTOOL" tcp-streams "$DUT_IP" 7 32 -n 1024 -m 4194304 -H 1 | sed 's/^/  /' ||
	fail "the TCP echo lost or corrupted data"

say "peer -> the kernel on the same address"
in_peer ping -c 3 -i 0.2 -q "$DUT_IP" | sed -n 's/^/  ping: /; /packets/p'
in_peer "$NETTOOL" tcp-echo "$DUT_IP" 7000 100000 | sed 's/^/  kernel TCP service on port 7000: /'

say "ixdpctl status"
"$IXDPCTL" --control "$CONTROL" status | sed 's/^/  /'

say "what each worker served (flow groups that carried traffic)"
stats_json | jq -r '
	.workers as $w
	| [.flow_groups[] | select(.packets > 0)] as $g
	| $w[] | . as $me
	| "  worker \(.id) (CPU \(.cpu)): \(.tcp.opened) TCP connections (\(.tcp.bytes_in) bytes echoed), "
	  + "\(.rx_packets) frames in, \(.tx_packets) out, "
	  + "\([$g[] | select(.owner == $me.id)] | length) active flow groups: "
	  + ([$g[] | select(.owner == $me.id) | "\(.id)"] | .[:12] | join(" "))
	  + (if ([$g[] | select(.owner == $me.id)] | length) > 12 then " ..." else "" end)'
stats_json | jq -r '"  the kernel kept \(.xdp.passed) frames (ping, TCP, ARP); \(.xdp.not_parsed) were unparsable"'

say "stopping ixdpd (SIGTERM): XDP detaches, ports are given back"
ixdpd_stop && echo "  ixdpd exited 0"
xdp_attached && fail "XDP still attached" || echo "  no XDP program left on dut0"
