#!/bin/bash
# app_limits.sh - what remote hosts can make the daemon hold for an app that does not keep up:
# with app-ctx-conns 100 and app-rx-size 64 KiB, an app that accepts every knock and never
# returns receive space (ixdp-hostile-app --stall) holds at most 100 connections (the 50 more
# the peer opens are reset) and is handed at most 64 KiB of their 100 MiB; the rest waits in
# the stack with the window closed.  Everything is reclaimed when it exits.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
need_root

HOSTILE=$BUILD/bin/ixdp-hostile-app
app_conns() { stats_json | jq '[.workers[].app.conns] | add'; }

netns_up 1
ixdpd_start --workers 1 --app-ctx-conns 100 --app-rx-size 65536
"$HOSTILE" "$CONTROL" --stall 40 7100 15 >"$tmp_dir/stall.out" 2>&1 &
stall=$!
_pids+=("$stall")
sleep 0.5
in_peer "$NETTOOL" tcp-streams "$DUT_IP" 7100 100 -n 1048576 -m 1048576 -t 35 \
	>"$tmp_dir/peer1.out" 2>&1 &
_pids+=($!)
for _ in $(seq 100); do
	[ "$(app_conns)" -ge 100 ] && break
	sleep 0.2
done
[ "$(app_conns)" -eq 100 ] || fail "expected the app to hold 100 connections, has $(app_conns)"
in_peer "$NETTOOL" tcp-streams "$DUT_IP" 7100 50 -n 1 -m 1 -H 20 -t 30 >"$tmp_dir/peer2.out" 2>&1 &
peer2=$!
_pids+=("$peer2")
max=0
for _ in $(seq 25); do
	n=$(app_conns)
	[ "$n" -gt "$max" ] && max=$n
	sleep 0.2
done
[ "$max" -le 100 ] || fail "the app held $max connections, app-ctx-conns is 100"
if wait "$peer2"; then
	fail "the 50 connections over the cap were served: $(tail -2 "$tmp_dir/peer2.out")"
fi
ok "app-ctx-conns 100: the app held at most $max connections, the 50 more were refused"

for _ in $(seq 100); do
	grep -q deaf "$tmp_dir/stall.out" && break
	sleep 0.2
done
line=$(grep deaf "$tmp_dir/stall.out") || fail "the stalling app said nothing: $(cat "$tmp_dir/stall.out")"
bytes=$(echo "$line" | sed -n 's/.*(\([0-9]*\) bytes).*/\1/p')
echo "    $line"
[ -n "$bytes" ] && [ "$bytes" -gt 0 ] || fail "no data reached the app"
[ "$bytes" -le 65536 ] || fail "the app was handed $bytes bytes it never returned: app-rx-size is 65536"
ok "app-rx-size 64 KiB: the app was handed $bytes bytes of 100 MiB and never returned them"

kill "$stall"
wait "$stall" 2>/dev/null
for _ in $(seq 100); do
	[ "$(app_conns)" -eq 0 ] && break
	sleep 0.2
done
[ "$(app_conns)" -eq 0 ] || fail "the app's connections were not reclaimed"
conns_zero || fail "TCP connections left"
ok "its connections reclaimed when it exits"
ixdpd_stop || fail "ixdpd exited with $?"
