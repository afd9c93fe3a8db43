#!/bin/bash
# app_limits.sh - what remote hosts can make the daemon hold for an app that does not keep up:
# with app-ctx-conns 100 and app-rx-size 64 KiB, an app that accepts every knock and never
# returns receive space (ixdp-hostile-app --stall) holds at most 100 connections (the 50 more
# the peer opens are reset) and is handed at most 64 KiB of their 100 MiB; the rest waits in
# the stack with the window closed.  Everything is reclaimed when it exits.  With uid-contexts 2
# a user of the app group gets two contexts and a third is refused with a message; root gets in.
# With uid-listens 3 that user's fourth listen (from a second process) is refused with EMFILE
# and a log line naming the key, while root listens on four more ports; with uid-conns 30 two
# contexts of the user hold exactly 30 of the peer's 40 connections together.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
need_root

HOSTILE=$BUILD/bin/ixdp-hostile-app
app_conns() { stats_json | jq '[.workers[].app.conns] | add'; }
# app_conns_max: the most connections the apps held in 5 s, sampled every 0.2 s.
app_conns_max() {
	local n max=0
	for _ in $(seq 25); do
		n=$(app_conns)
		[ "$n" -gt "$max" ] && max=$n
		sleep 0.2
	done
	echo "$max"
}
# app_stat KEY: the workers' app-channel counter KEY (ixdpctl stats: workers[].app), summed.
app_stat() { stats_json | jq "[.workers[].app.$1] | add"; }

# The app group: this run's own, removed after it.
GROUP=ixdpl$$
groupadd --system "$GROUP" || fail "groupadd $GROUP"
cleanup_extra() { groupdel "$GROUP" 2>/dev/null; }

netns_up 1
chmod 0755 "$tmp_dir" # the control socket must be reachable by the group's user
ixdpd_start --workers 1 --app-ctx-conns 100 --app-rx-size 65536 --app-group "$GROUP" \
	--uid-contexts 2 --uid-listens 3 --uid-conns 30 --app-ports 7200-7210
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
# 50 more, one after another, each to its end: the handshake completes (the knock comes with the
# accept), then the reset must come, never an echo or a silence.  Each is settled before the next,
# so every one of them has reached the daemon's count when this ends.
in_peer timeout 120 python3 - "$DUT_IP" >"$tmp_dir/peer2.out" 2>&1 <<'PY' &
import socket, sys
reset, served, silent = 0, 0, 0
for i in range(50):
    try:
        s = socket.create_connection((sys.argv[1], 7100), timeout=5)
    except (ConnectionRefusedError, ConnectionResetError):
        reset += 1	# the reset came before connect() returned
        continue
    s.settimeout(5)
    try:
        s.sendall(b"x")
        if s.recv(1):
            served += 1
        else:
            reset += 1
    except (ConnectionResetError, BrokenPipeError):
        reset += 1
    except socket.timeout:
        silent += 1
    s.close()
print(f"reset {reset} served {served} silent {silent}")
sys.exit(0 if reset == 50 else 1)
PY
peer2=$!
_pids+=("$peer2")
max=$(app_conns_max)
[ "$max" -le 100 ] || fail "the app held $max connections, app-ctx-conns is 100"
wait "$peer2" || fail "the 50 connections over the cap were not all reset: $(cat "$tmp_dir/peer2.out")"
refused=$(app_stat knocks_refused) capped=$(app_stat conns_capped)
[ "$refused" -ge 50 ] && [ "$capped" -ge 50 ] ||
	fail "the 50 refused connections counted knocks_refused $refused, conns_capped $capped"
ok "app-ctx-conns 100: the app held at most $max connections, the 50 more were refused (knocks_refused $refused, conns_capped $capped)"

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

# uid-contexts 2: nobody (in the app group) gets two contexts, not a third; root still gets one.
# nobody runs a copy it can read: the checkout may sit in a directory nobody cannot enter.
user_copy "$HOSTILE"
UHOSTILE=$tmp_dir/u/bin/$(basename "$HOSTILE")
NOBODY=(setpriv --reuid nobody --regid "$GROUP" --clear-groups)
as_nobody() { "${NOBODY[@]}" "$@"; }
upids=()
for i in 1 2; do
	"${NOBODY[@]}" "$UHOSTILE" "$CONTROL" --stall 15 $((7200 + i)) 15 >"$tmp_dir/u$i.out" 2>&1 &
	upids+=($!) # the app itself: setpriv execs it
	_pids+=($!)
done
for _ in $(seq 50); do
	[ "$(stats_json | jq .apps.attached_now)" -eq 2 ] && break
	sleep 0.1
done
[ "$(stats_json | jq .apps.attached_now)" -eq 2 ] ||
	fail "nobody's two contexts: $(cat "$tmp_dir"/u?.out)"
out=$(as_nobody "$UHOSTILE" "$CONTROL" --stall 1 7203 1 2>&1) && fail "a third context for nobody: $out"
echo "$out" | grep -q 'uid-contexts' || fail "the third context refused without the reason: $out"
ok "uid-contexts 2: a third context for nobody refused: $out"
out=$("$HOSTILE" "$CONTROL" --stall 1 7204 1 2>&1) || fail "root refused: $out"
ok "root still gets a context"

# nobody's contexts end; what they held goes with them.
kill "${upids[@]}"
wait "${upids[@]}" 2>/dev/null
attached_zero() {
	for _ in $(seq 100); do
		[ "$(stats_json | jq .apps.attached_now)" -eq 0 ] && return 0
		sleep 0.1
	done
	return 1
}
attached_zero || fail "nobody's contexts still attached: $(stats_json | jq -c .apps) $(grep 'app ' "$tmp_dir/ixdpd.log" | tail -5)"

# uid-listens 3: nobody's listens, of all its processes together, stop at three; root is not
# limited.  (The root app above listened elsewhere: it does not count for nobody.)
"${NOBODY[@]}" "$UHOSTILE" "$CONTROL" --listens 30 7201 7202 >"$tmp_dir/l1.out" 2>&1 &
l1=$!
_pids+=("$l1")
for _ in $(seq 50); do
	[ "$(grep -c '^listen ' "$tmp_dir/l1.out")" -ge 2 ] && break
	sleep 0.1
done
[ "$(grep -c ': ok$' "$tmp_dir/l1.out")" -eq 2 ] || fail "nobody's first two listens: $(cat "$tmp_dir/l1.out")"
out=$(as_nobody "$UHOSTILE" "$CONTROL" --listens 1 7203 7204 2>&1) || fail "nobody's second app: $out"
echo "$out" | grep -q '^listen 7203: ok$' || fail "nobody's third listen refused: $out"
echo "$out" | grep -q "^listen 7204: error -24 (Too many open files)$" ||
	fail "nobody's fourth listen not refused with EMFILE: $out"
grep -q "uid $(id -u nobody) holds 3 listens (uid-listens)" "$tmp_dir/ixdpd.log" ||
	fail "the refusal does not name uid-listens in the log"
ok "uid-listens 3: nobody's fourth listen (in a second process) refused: $(echo "$out" | tail -1)"
out=$("$HOSTILE" "$CONTROL" --listens 1 7205 7206 7207 7208 2>&1) || fail "root's listens: $out"
[ "$(echo "$out" | grep -c ': ok$')" -eq 4 ] || fail "root's four listens: $out"
ok "root listens on four ports meanwhile"
kill "$l1"
wait "$l1" 2>/dev/null
attached_zero || fail "nobody's listening app still attached"

# uid-conns 30: two contexts of nobody, each well under app-ctx-conns 100, hold 30 of the
# peer's 40 connections together; the rest are reset.  Root's app above held 100: not limited.
for i in 1 2; do
	"${NOBODY[@]}" "$UHOSTILE" "$CONTROL" --stall 30 $((7200 + i)) 30 >"$tmp_dir/c$i.out" 2>&1 &
	_pids+=($!)
done
sleep 0.5
cpeers=()
for i in 1 2; do
	in_peer "$NETTOOL" tcp-streams "$DUT_IP" $((7200 + i)) 20 -n 1 -m 1 -H 15 -t 25 \
		>"$tmp_dir/cpeer$i.out" 2>&1 &
	cpeers+=($!)
	_pids+=($!)
done
for _ in $(seq 100); do
	[ "$(app_conns)" -ge 30 ] && break
	sleep 0.2
done
max=$(app_conns_max)
[ "$max" -eq 30 ] || fail "nobody's two contexts held at most $max connections, uid-conns is 30"
[ "$(app_conns)" -eq 30 ] || fail "nobody's two contexts hold $(app_conns) connections, not 30"
r=$(($(app_stat knocks_refused) - refused)) k=$(($(app_stat conns_capped) - capped))
[ "$r" -ge 10 ] && [ "$k" -ge 10 ] ||
	fail "the 10 connections over uid-conns counted knocks_refused +$r, conns_capped +$k"
ok "uid-conns 30: nobody's two contexts held exactly 30 of the peer's 40 connections (knocks_refused +$r, conns_capped +$k)"
ixdpd_stop || fail "ixdpd exited with $?"
