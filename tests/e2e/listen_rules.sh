#!/bin/bash
# listen_rules.sh - where an app that is not root may listen (docs/security.md).  Kernel
# services listen in the DUT namespace (198.18.0.1:8000, 0.0.0.0:8001, [::]:8002); a member of
# the app group runs ix-echo on those ports and is refused with the rule named, and the kernel
# services keep getting their clients' bytes (the port hijack of the security review).  A port
# outside app-ports and a port inside the kernel's ephemeral range are refused too, each with
# its rule named; a port in app-ports is served; root still listens anywhere.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
need_root
export IXDP_CONTROL=$CONTROL
GROUP=ixdpr$$ # this run's own group, removed after it

groupadd --system "$GROUP" || fail "groupadd $GROUP"
cleanup_extra() { groupdel "$GROUP" 2>/dev/null; }

netns_up 1
ipv6_up
user_copy "$BUILD/bin/ix-echo" # nobody runs it: the checkout may be closed to other users
UECHO=$tmp_dir/u/bin/ix-echo
# The kernel's ephemeral range in the DUT namespace, fixed for the test.
in_dut sysctl -qw net.ipv4.ip_local_port_range="40000 40999" || fail "ip_local_port_range"

# kernel_service ADDR PORT: a kernel TCP service in the DUT namespace that answers
# "kernel:" + what it received, until the test ends (bounded by timeout).
kernel_service() {
	ip netns exec "$ns_dut" timeout 300 python3 - "$1" "$2" <<'PY' >>"$tmp_dir/kernel.log" 2>&1 &
import socket, sys
addr, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if ":" in addr:
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # dual stack: IPv4 too
s.bind((addr, port))
s.listen(16)
while True:
    c, _ = s.accept()
    c.settimeout(5)
    try:
        c.sendall(b"kernel:" + c.recv(100))
    except OSError:
        pass
    c.close()
PY
	_pids+=($!)
	for _ in $(seq 50); do
		[ -n "$(in_dut ss -Hltn "sport = :$2")" ] && return 0
		sleep 0.1
	done
	fail "kernel service on $1:$2 did not come up: $(cat "$tmp_dir/kernel.log")"
}

# kernel_answers PORT: a client in the peer namespace gets the kernel service's answer.
kernel_answers() {
	local out
	out=$(in_peer timeout 10 python3 -c '
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
c.sendall(b"hello")
got = b""
while True:
    b = c.recv(100)
    if not b:
        break
    got += b
print(got.decode())' "$DUT_IP" "$1" 2>&1)
	[ "$out" = "kernel:hello" ] || fail "port $1: the client got '$out', not the kernel's answer"
}

# member_refused PORT RULE: the group member's ix-echo on PORT fails, naming RULE; so does
# ixdpd's log.
member_refused() {
	local out rc
	out=$(timeout 10 setpriv --reuid nobody --regid "$GROUP" --clear-groups "$UECHO" -p "$1" \
		-t 1 2>&1)
	rc=$?
	[ $rc -eq 0 ] || [ $rc -eq 124 ] && fail "port $1: the member's ix-echo listened: $out"
	echo "$out" | grep -q "$2" || fail "port $1: refusal does not say '$2': $out"
	grep -q "port $1: .*$2" "$tmp_dir/ixdpd.log" ||
		fail "port $1: ixdpd's log does not say '$2': $(tail -3 "$tmp_dir/ixdpd.log")"
	echo "$out" | grep "cannot listen"
}

kernel_service "$DUT_IP" 8000
kernel_service 0.0.0.0 8001
kernel_service :: 8002
ixdpd_start --app-group "$GROUP" --app-ports "8000-8010, 40500"

for p in 8000 8001 8002; do
	out=$(member_refused $p "the kernel has a listener on it") || exit 1
	kernel_answers $p
	ok "kernel listener on port $p: $out; the kernel still gets its clients' bytes"
done
out=$(member_refused 8020 "app-ports") || exit 1
ok "port 8020, outside app-ports: $out"
out=$(member_refused 40500 "ephemeral range") || exit 1
ok "port 40500, in app-ports but inside the kernel's ephemeral range: $out"

# A port in app-ports that nobody else has: the member's app serves it.
setpriv --reuid nobody --regid "$GROUP" --clear-groups "$UECHO" -p 8005 -t 1 \
	>"$tmp_dir/member.log" 2>&1 &
member=$!
_pids+=("$member")
for _ in $(seq 100); do
	grep -q "listening on port 8005" "$tmp_dir/member.log" && break
	kill -0 "$member" 2>/dev/null || fail "member's ix-echo: $(cat "$tmp_dir/member.log")"
	sleep 0.1
done
out=$(in_peer "$NETTOOL" tcp-streams "$DUT_IP" 8005 4 -n 1 -m 65536 -r 5) ||
	fail "member's ix-echo on 8005: $out $(cat "$tmp_dir/member.log")"
ok "port 8005, in app-ports: the member's ix-echo serves: $(echo "$out" | tail -1)"
kill "$member"

# Root listens anywhere: outside app-ports and inside the kernel's ephemeral range.
"$BUILD/bin/ix-echo" -p 40600 -t 1 >"$tmp_dir/root.log" 2>&1 &
root=$!
_pids+=("$root")
for _ in $(seq 100); do
	grep -q "listening on port 40600" "$tmp_dir/root.log" && break
	kill -0 "$root" 2>/dev/null || fail "root's ix-echo: $(cat "$tmp_dir/root.log")"
	sleep 0.1
done
out=$(in_peer "$NETTOOL" tcp-streams "$DUT_IP" 40600 4 -n 1 -m 65536 -r 6) ||
	fail "root's ix-echo on 40600: $out"
ok "root's ix-echo on 40600 (outside app-ports, inside the ephemeral range) serves"
kill "$root"
kernel_answers 8000
ixdpd_stop || fail "ixdpd exit status $?"
ok "ixdpd exited cleanly"
