#!/bin/bash
# restart.sh - SIGKILL of ixdpd leaves nothing behind: the XDP program is gone, the kernel serves
# the reflector port again (ICMP port unreachable), and a restart needs no manual cleanup (stale
# control socket, reserved ports).  A clean stop gives the kernel its reserved ports back.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
need_root

netns_up 2
reserved() { in_dut cat /proc/sys/net/ipv4/ip_local_reserved_ports; }
in_dut sh -c 'echo 8080 > /proc/sys/net/ipv4/ip_local_reserved_ports'
[ "$(reserved)" = "8080" ] || fail "could not set up reserved ports"

ixdpd_start --workers 2 --reflect-udp 9000 --ephemeral-ports 61000-61999
[ "$(reserved)" = "8080,61000-61999" ] || fail "range not reserved: '$(reserved)'"
out=$(in_peer "$NETTOOL" udp-flows "$DUT_IP" 9000 16 10) || fail "reflector: $out"
ok "reflector up, ports 61000-61999 reserved: $out"

kill -9 "$IXDPD_PID"
wait "$IXDPD_PID" 2>/dev/null
xdp_attached && fail "XDP program still attached after SIGKILL"
ok "SIGKILL: the BPF link took the XDP program with it"
out=$(in_peer "$NETTOOL" udp-refused "$DUT_IP" 9000) || fail "after SIGKILL: $out"
ok "after SIGKILL the kernel answers port 9000 itself: $out"
[ -S "$CONTROL" ] || fail "expected a stale control socket to test the restart against"

ixdpd_start --workers 2 --reflect-udp 9000 --ephemeral-ports 61000-61999
out=$(in_peer "$NETTOOL" udp-flows "$DUT_IP" 9000 16 10) || fail "after restart: $out"
grep -q "restoring .* left by an earlier ixdpd: '8080'" "$tmp_dir/ixdpd.log" ||
	fail "the restart did not restore the reserved ports the killed daemon left"
[ "$(reserved)" = "8080,61000-61999" ] || fail "after restart: '$(reserved)'"
ok "restart with a stale socket and a leftover port reservation works: $out"

ixdpd_stop || fail "ixdpd exit status $?"
[ "$(reserved)" = "8080" ] || fail "clean stop left reserved ports '$(reserved)'"
[ -e "$CONTROL" ] && fail "clean stop left the control socket"
[ -e "$CONTROL.ports" ] && fail "clean stop left the ports state file"
ok "clean stop: reserved ports back to '8080', control socket removed"

# Without --foreground ixdpd goes to the background once it serves, and its exit status says so.
ip netns exec "$ns_dut" "$IXDPD" --interface dut0 --control "$CONTROL" --reflect-udp 9000 \
	2>>"$tmp_dir/ixdpd.log" || fail "background start failed"
"$IXDPCTL" --control "$CONTROL" status >/dev/null || fail "background daemon not answering"
pid=$(ip netns pids "$ns_dut" | while read -r p; do
	[ "$(cat /proc/"$p"/comm 2>/dev/null)" = ixdpd ] && echo "$p"; done)
[ -n "$pid" ] || fail "no background ixdpd in the namespace"
_pids+=("$pid")
out=$(in_peer "$NETTOOL" udp-flows "$DUT_IP" 9000 4 5) || fail "background daemon: $out"
kill -TERM "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "background ixdpd ignored SIGTERM"
xdp_attached && fail "XDP still attached after the background daemon stopped"
ok "background mode: started, served ($out), stopped on SIGTERM"
