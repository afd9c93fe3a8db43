#!/bin/bash
# config.sh - bad configuration: a one-line error naming the key, exit status 2, and nothing
# attached or created (no XDP program, no control socket, no reserved ports).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
need_root

netns_up 2

# bad KEY_IN_MESSAGE ARGS...: ixdpd must refuse with status 2 and a message naming the key.
bad() {
	local key=$1 out rc lines
	shift
	out=$(ip netns exec "$ns_dut" "$IXDPD" --foreground --control "$CONTROL" "$@" 2>&1)
	rc=$?
	[ $rc -eq 2 ] || fail "ixdpd $* exited $rc, not 2: $out"
	lines=$(printf '%s\n' "$out" | wc -l)
	[ "$lines" -eq 1 ] || fail "ixdpd $*: $lines lines of error: $out"
	printf '%s\n' "$out" | grep -q -- "$key" || fail "ixdpd $*: error does not name '$key': $out"
	xdp_attached && fail "ixdpd $*: XDP attached despite the bad configuration"
	[ -e "$CONTROL" ] && fail "ixdpd $*: control socket created"
	[ -z "$(in_dut cat /proc/sys/net/ipv4/ip_local_reserved_ports)" ] ||
		fail "ixdpd $*: ports reserved"
	ok "$out"
}

bad interface --workers 1
bad "interface: no such interface" --interface nosuch0
bad workers --interface dut0 --workers 0
bad workers --interface dut0 --workers 65
bad workers --interface dut0 --workers two
bad flow-groups --interface dut0 --flow-groups 100
bad flow-groups --interface dut0 --flow-groups 8192
bad flow-groups --interface dut0 --workers 4 --flow-groups 2
bad xdp-mode --interface dut0 --xdp-mode turbo
bad cpus --interface dut0 --workers 2 --cpus 0
bad cpus --interface dut0 --cpus 4095
bad cpus --interface dut0 --cpus 1-0
bad queues --interface dut0 --queues 3
bad rx-ring --interface dut0 --rx-ring 1000
bad frame-size --interface dut0 --frame-size 3000
bad reflect-udp --interface dut0 --reflect-udp 70000
bad reflect-udp --interface dut0 --reflect-udp 61000
bad echo-tcp --interface dut0 --echo-tcp 62000
bad sink-tcp --interface dut0 --echo-tcp 7 --sink-tcp 7
bad echo-tcp --interface dut0 --echo-tcp 65536
bad ephemeral-ports --interface dut0 --ephemeral-ports 5-1
bad zerocopy --interface dut0 --zerocopy maybe
bad log-level --interface dut0 --log-level loud
bad control --interface dut0 --control relative.sock
bad app-ports --interface dut0 --app-ports "8000;8001"
bad app-ports --interface dut0 --app-ports 8099-8000
bad app-ports --interface dut0 --app-ports 0
bad app-ports --interface dut0 --app-ports 80
bad app-ports --interface dut0 --app-ports 60000-62000
bad uid-listens --interface dut0 --uid-listens 0
bad uid-conns --interface dut0 --uid-conns 16777217
bad "unknown option" --interface dut0 --no-such-option 1
bad "unexpected argument" --interface dut0 extra

conf="$tmp_dir/ixdpd.conf"
printf '[ixdpd]\ninterface = dut0\n# a comment\nworkers = 2\nturbo = yes\n' >"$conf"
bad "$conf:5: turbo: unknown key" -c "$conf"
printf 'interface = dut0\nworkers = many\n' >"$conf"
bad "$conf:2: workers" -c "$conf"
printf '[other]\ninterface = dut0\n' >"$conf"
bad "unknown section" -c "$conf"
printf 'interface dut0\n' >"$conf"
bad "$conf:1: expected 'key = value'" -c "$conf"
bad "No such file" -c "$tmp_dir/missing.conf"

# A good file with a command-line override: the override wins, whatever the order.
printf '[ixdpd]\ninterface = dut0\nworkers = 2\nreflect-udp = 9001\n' >"$conf"
ixdpd_start --reflect-udp 9000 -c "$conf"
[ "$(stats_json | jq '.reflect_udp, (.workers | length)' | tr '\n' ' ')" = "9000 2 " ] ||
	fail "config file + override: $(stats_json | jq -c '{reflect_udp, w: (.workers | length)}')"
ok "config file read, --reflect-udp overrides it"

# A second daemon on the same control socket is refused (exit 1), the first keeps serving.
out=$(ip netns exec "$ns_dut" "$IXDPD" --foreground --interface dut0 --control "$CONTROL" \
	--xdp-mode external 2>&1)
rc=$?
[ $rc -eq 1 ] || fail "second daemon exited $rc: $out"
echo "$out" | grep -q "another ixdpd answers" || fail "unclear error: $out"
out2=$(in_peer "$NETTOOL" udp-flows "$DUT_IP" 9000 4 5) || fail "first daemon disturbed: $out2"
ok "second daemon refused: $(echo "$out" | head -1)"
ixdpd_stop || fail "ixdpd exit status $?"

# An interface name that JSON must escape ('"' and '\' are legal in one): `stats --json` still
# parses and gives the name back.  Both ends of the veth are in the DUT namespace.
odd='ix"d\0'
in_dut ip link add "$odd" type veth peer name ixodd1 || fail "ip link add"
in_dut ip link set "$odd" up && in_dut ip link set ixodd1 up || fail "ip link set up"
ixdpd_start --interface "$odd" --workers 1
name=$(stats_json | jq -r .interface) || fail "stats --json does not parse: $(stats_json)"
[ "$name" = "$odd" ] || fail "interface name in JSON: '$name', not '$odd'"
ok "interface $odd: escaped in JSON, read back whole"

# `ixdpctl counters` is generated from the same list as the JSON: every key it names is there.
json=$(stats_json)
n=0
while read -r path _; do
	case $path in
	.workers*) base=${path%.KEY}; continue ;;
	esac
	[ "$(echo "$json" | jq "$base.$path | type" 2>/dev/null)" = '"number"' ] ||
		fail "ixdpctl counters names ${base}.$path, stats --json has no such number"
	n=$((n + 1))
done < <("$IXDPCTL" counters | sed 's/^\(workers[^ ]*\).*/\1 -/; s/^  \([a-z_]*\) .*/\1 -/' |
	sed 's/^workers\[\]/.workers[0]/')
[ "$n" -ge 30 ] || fail "ixdpctl counters listed $n counters"
ok "ixdpctl counters: all $n counters are numbers in stats --json"
ixdpd_stop || fail "ixdpd exit status $?"
