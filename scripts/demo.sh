#!/bin/bash
# demo.sh - ixdp in two namespaces: on one side of a 2-queue veth, ixdpd (2 workers, each its
# own TCP stack) serves two apps on libix, the memcached-protocol server ix-kv and the echo
# server ix-echo, plus its UDP reflector; the kernel peer on the other side stores and reads
# keys, opens 32 echo connections and sends 64 UDP flows; then it shows what each worker and
# app served and what the kernel kept (ping, a kernel TCP service on the same address).
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

say "ixdpd --interface dut0 --workers 2 --reflect-udp 9000"
ixdpd_start --workers 2 --reflect-udp 9000
sed 's/^/  /' "$tmp_dir/ixdpd.log"

say "apps (separate processes, shared memory with ixdpd): ix-kv -p 11211 -t 2, ix-echo -p 7 -t 2"
export IXDP_CONTROL=$CONTROL
"$BUILD/bin/ix-kv" -p 11211 -t 2 >"$tmp_dir/kv.log" 2>&1 &
kv_pid=$!
"$BUILD/bin/ix-echo" -p 7 -t 2 >"$tmp_dir/echo.log" 2>&1 &
echo_pid=$!
_pids+=("$kv_pid" "$echo_pid")
for _ in $(seq 50); do
	[ "$(stats_json | jq .apps.attached_now)" -ge 4 ] && break
	sleep 0.1
done
sleep 0.3
sed 's/^/  /' "$tmp_dir/kv.log" "$tmp_dir/echo.log"

# A kernel TCP echo service on the same address, another port: the kernel keeps it.
ip netns exec "$ns_dut" "$NETTOOL" tcp-echo-server 7000 20 &
_pids+=($!)
sleep 0.2

say "peer -> 198.18.0.1:9000: 64 UDP flows x 400 datagrams, each checked on return"
in_peer "$NETTOOL" udp-flows "$DUT_IP" 9000 64 400 -s 128 | sed 's/^/  /' ||
	fail "the reflector lost or corrupted datagrams"

say "peer -> 198.18.0.1:11211 (ix-kv): set, get, incr, delete"
printf 'set demo 0 0 13\r\nhello, ixdp!\n\r\nget demo\r\nset n 0 0 2\r\n41\r\nincr n 1\r\ndelete demo\r\nget demo\r\nquit\r\n' |
	in_peer timeout 5 python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 11211), timeout=3)
s.sendall(sys.stdin.buffer.read())
out = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    out += b
for line in out.decode().splitlines():
    print("  " + line)' "$DUT_IP" || fail "ix-kv did not answer"
in_peer timeout 30 memcaslap -s "$DUT_IP:11211" -t 2s -T 1 -c 8 2>&1 |
	grep -E 'Run time' | sed 's/^ */  memcaslap: /'

say "peer -> 198.18.0.1:7 (ix-echo): 32 connections, streams of 1 KiB to 4 MiB, checked on return"
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
	| "  worker \(.id) (CPU \(.cpu)): \(.tcp.opened) TCP connections (\(.tcp.bytes_in) bytes in), "
	  + "\(.app.cmds) app commands, \(.app.events) app events, "
	  + "\(.rx_packets) frames in, \(.tx_packets) out, "
	  + "\([$g[] | select(.owner == $me.id)] | length) active flow groups: "
	  + ([$g[] | select(.owner == $me.id) | "\(.id)"] | .[:12] | join(" "))
	  + (if ([$g[] | select(.owner == $me.id)] | length) > 12 then " ..." else "" end)'
stats_json | jq -r '"  the kernel kept \(.xdp.passed) frames (ping, TCP, ARP); \(.xdp.not_parsed) were unparsable"'

say "stopping the apps and ixdpd (SIGTERM): XDP detaches, ports are given back"
kill -TERM "$kv_pid" "$echo_pid"
wait "$kv_pid" && wait "$echo_pid" && echo "  ix-kv and ix-echo exited 0"
ixdpd_stop && echo "  ixdpd exited 0"
xdp_attached && fail "XDP still attached" || echo "  no XDP program left on dut0"
