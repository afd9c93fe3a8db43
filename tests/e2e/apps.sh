#!/bin/bash
# apps.sh - apps on libix against the kernel's TCP in the peer namespace: the ixev echo server
# and the memcached-protocol KV server at once on one daemon (memccapable, memcaslap), the KV
# server again with --dispatch (thread 0 accepts and hands each connection over), an app
# killed with SIGKILL mid-stream (its peers see the connections end, the other apps go on,
# nothing leaks), a hostile app scribbling over its rings for 30 s while the others serve, an
# app of another ABI version and an app outside the allowed group refused with a clear error.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
need_root

ECHO=$BUILD/bin/ix-echo
KV=$BUILD/bin/ix-kv
HOSTILE=$BUILD/bin/ixdp-hostile-app
export IXDP_CONTROL=$CONTROL

app_start() { # NAME CMD...: an app in the background, logging to $tmp_dir/NAME.log
	local name=$1
	shift
	"$@" >"$tmp_dir/$name.log" 2>&1 &
	_pids+=($!)
	eval "${name}_pid=$!"
}

wait_apps() { # N: until N contexts are attached (bounded); logs of the apps on failure
	for _ in $(seq 100); do
		[ "$(stats_json | jq .apps.attached_now)" -ge "$1" ] && return 0
		sleep 0.1
	done
	tail -n 5 "$tmp_dir"/*.log >&2
	fail "expected $1 app contexts, have $(stats_json | jq .apps.attached_now)"
}

# The app group: made for this run (its own name, so runs side by side never share one) and
# removed after it.
GROUP=ixdpt$$
groupadd --system "$GROUP" || fail "groupadd $GROUP"
cleanup_extra() { groupdel "$GROUP" 2>/dev/null; }

netns_up 2
# nobody runs a copy of ix-echo (the checkout may sit where other users cannot enter), and
# reaches the control socket in $tmp_dir (made 0755); app-ports lets the member listen on 7003.
user_copy "$ECHO"
UECHO=$tmp_dir/u/bin/ix-echo
ixdpd_start --workers 2 --echo-tcp 7000 --app-group "$GROUP" --app-ports 7003 ||
	fail "ixdpd did not start"

pool_full

# Two apps at once: echo (2 threads = 2 contexts) and the KV server (2 contexts).
app_start echo "$ECHO" -p 7001 -t 2
app_start kv "$KV" -p 11211 -t 2 -m 512 # no eviction in 5 s of memcaslap: every get must hit
wait_apps 4
out=$(in_peer "$NETTOOL" tcp-streams "$DUT_IP" 7001 64 -n 1 -m 1048576 -r 1) ||
	fail "ix-echo: $out"
ok "ix-echo, 64 concurrent streams of 1 B to 1 MiB echoed intact: $(echo "$out" | tail -1)"
out=$(in_peer "$NETTOOL" tcp-streams "$DUT_IP" 7000 16 -n 1 -m 65536 -r 2) ||
	fail "built-in echo next to the apps: $out"
ok "the built-in echo still serves next to them"
out=$(in_peer timeout 120 memccapable -h "$DUT_IP" -p 11211 -a 2>&1) || fail "memccapable: $out"
ok "memccapable (ascii) against ix-kv: $(echo "$out" | grep -c pass) passed"
# --verify: memcaslap checks the value of a tenth of its gets against what it set; with nothing
# evicted, a verified get that misses is an error too.
out=$(in_peer timeout 60 memcaslap -s "$DUT_IP:11211" -t 5s -T 2 -c 16 --verify=0.1 2>&1) ||
	fail "memcaslap: $out"
mc() { echo "$out" | awk -v k="$1:" '$1 == k { print $2 }'; }
[ -n "$(mc verify_failed)" ] && [ -n "$(mc verify_misses)" ] ||
	fail "memcaslap printed no verification counts: $out"
[ "$(mc verify_failed)" -eq 0 ] && [ "$(mc verify_misses)" -eq 0 ] && [ "$(mc cmd_get)" -gt 0 ] &&
	[ "$(mc cmd_set)" -gt 0 ] || fail "memcaslap reported errors: $out"
ok "memcaslap 5 s, 16 connections, 10 % of gets verified: $(mc cmd_get) gets, $(mc cmd_set) sets," \
	"verify_failed 0, verify_misses 0; $(echo "$out" | grep -E '^Run time' | tr '\n' ' ')"

# memcached's own model: ix-kv --dispatch, thread 0 alone listens and hands every connection to
# thread 1 or 2 (ixev_move); the same two clients, and every connection they made was moved.
moves() { stats_json | jq "[.workers[].app.$1] | add"; }
m0=$(moves moves)
app_start kvd "$KV" -p 11212 -t 3 -m 512 --dispatch
wait_apps 7
out=$(in_peer timeout 120 memccapable -h "$DUT_IP" -p 11212 -a 2>&1) ||
	fail "memccapable, --dispatch: $out"
ok "memccapable (ascii) against ix-kv --dispatch: $(echo "$out" | grep -c pass) passed"
opened0=$(stats_json | jq '[.workers[].tcp.opened] | add')
m1=$(moves moves)
out=$(in_peer timeout 60 memcaslap -s "$DUT_IP:11212" -t 5s -T 2 -c 16 --verify=0.1 2>&1) ||
	fail "memcaslap, --dispatch: $out"
[ -n "$(mc verify_failed)" ] && [ "$(mc verify_failed)" -eq 0 ] &&
	[ "$(mc verify_misses)" -eq 0 ] && [ "$(mc cmd_get)" -gt 0 ] && [ "$(mc cmd_set)" -gt 0 ] ||
	fail "memcaslap, --dispatch, reported errors: $out"
opened=$(($(stats_json | jq '[.workers[].tcp.opened] | add') - opened0))
moved=$(($(moves moves) - m1))
[ "$moved" -ge 16 ] && [ "$moved" -ge "$opened" ] ||
	fail "--dispatch: $moved moves for memcaslap's $opened connections"
[ "$(moves moves_refused)" -eq 0 ] || fail "$(moves moves_refused) moves refused"
ok "memcaslap against ix-kv --dispatch: $(mc cmd_get) gets, $(mc cmd_set) sets, verify_failed 0," \
	"verify_misses 0; each of its $opened connections handed over ($moved moves, $((m1 - m0))" \
	"for memccapable), none refused"
kill -TERM "$kvd_pid"
wait "$kvd_pid" || fail "ix-kv --dispatch exit status $?"
wait_apps 4

# TIME_WAIT reuse: "quit" makes ix-kv close first, so the TIME_WAIT is ixdp's; the peer
# reconnects at once from the same port (4-tuple) and must be served, not stalled for 2 MSL.
before=$(stats_json | jq '[.workers[].tcp.tw_reused] | add')
syn_retrans() { in_peer nstat -asz TcpExtTCPSynRetrans | awk '$1 == "TcpExtTCPSynRetrans" { print $2 }'; }
syn0=$(syn_retrans)
out=$(in_peer timeout 30 python3 - "$DUT_IP" <<'PY' 2>&1
import socket, sys, time
for i in range(5):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 31000))  # outside the ephemeral range: no TIME_WAIT of memcaslap there
    s.settimeout(3)
    try:
        s.connect((sys.argv[1], 11211))
    except OSError as e:
        import subprocess
        print(i, e, subprocess.run(["ss", "-tanoi", "sport", "=", "31000"], capture_output=True, text=True).stdout)
        raise
    s.sendall(b"set tw%d 0 0 1\r\nx\r\nget tw%d\r\nquit\r\n" % (i, i))
    got = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        got += b
    s.close()
    assert got == b"STORED\r\nVALUE tw%d 0 1\r\nx\r\nEND\r\n" % i, got
    time.sleep(0.2)  # our side's LAST_ACK completes
print("5 connections from port 31000, each after ix-kv closed the last one first")
PY
) || fail "TIME_WAIT reuse: $out"
reused=$(( $(stats_json | jq '[.workers[].tcp.tw_reused] | add') - before ))
[ "$reused" -ge 4 ] || fail "TIME_WAIT reuse: only $reused SYNs took over a TIME_WAIT pcb"
# A SYN that met the TIME_WAIT pcb instead of replacing it is answered with an ACK; the peer then
# resets and sends its SYN again after a second: a count, not a clock, tells.
[ "$(syn_retrans)" -eq "$syn0" ] ||
	fail "TIME_WAIT reuse: $(($(syn_retrans) - syn0)) SYNs had to be sent again"
ok "$out: $reused TIME_WAIT connections taken over by a new SYN"

# Outgoing connections: a second ixdpd in the peer namespace (2 workers) and ix-rr as a client
# on it, against ix-echo: each worker connects from a source port whose replies hash to a flow
# group it owns, so no reply is misrouted.
PEER_CTL=$tmp_dir/peer.sock
ip netns exec "$ns_peer" "$IXDPD" --foreground --interface peer0 --control "$PEER_CTL" \
	--workers 2 >>"$tmp_dir/peer-ixdpd.log" 2>&1 &
_pids+=($!)
for _ in $(seq 100); do
	"$IXDPCTL" --control "$PEER_CTL" status >/dev/null 2>&1 && break
	sleep 0.1
done
out=$(IXDP_CONTROL=$PEER_CTL timeout 60 "$BUILD/bin/ix-rr" client "$DUT_IP" 7001 -c 64 -d 4 \
	-s 200 -T 2 2>&1) || fail "ix-rr client on ixdp: $out $(tail -5 "$tmp_dir/peer-ixdpd.log")"
json=$("$IXDPCTL" --control "$PEER_CTL" stats --json)
echo "$json" | jq -e '([.workers[].misrouted] | add == 0) and all(.workers[]; .tcp.opened > 0)' \
	>/dev/null || fail "client side: $(echo "$json" | jq -c '[.workers[] | {misrouted, tcp}]')"
ok "ix-rr on a second ixdpd, 64 connections x 4 in flight to ix-echo, every byte checked:" \
	"$(echo "$out" | tail -1); both workers connected, no reply misrouted"

# SIGKILL mid-stream: its peers' connections end, the other apps are untouched, nothing leaks.
app_start victim "$ECHO" -p 7002 -t 1
wait_apps 5
in_peer "$NETTOOL" tcp-streams "$DUT_IP" 7002 32 -n 4194304 -m 8388608 -r 3 -t 30 \
	>"$tmp_dir/victim_streams.out" 2>&1 &
victim_streams=$!
_pids+=("$victim_streams")
in_peer "$NETTOOL" tcp-streams "$DUT_IP" 7001 32 -n 65536 -m 2097152 -r 4 -t 60 \
	>"$tmp_dir/other_streams.out" 2>&1 &
other_streams=$!
_pids+=("$other_streams")
sleep 1
kill -KILL "$victim_pid"
wait "$victim_pid" 2>/dev/null
if wait "$victim_streams"; then
	fail "the killed app's streams completed: $(cat "$tmp_dir/victim_streams.out")"
fi
grep -qE 'bad [1-9]' "$tmp_dir/victim_streams.out" ||
	fail "the killed app's peers saw their streams go on: $(tail -3 "$tmp_dir/victim_streams.out")"
ok "SIGKILL mid-stream: its peers saw the connections end ($(tail -1 "$tmp_dir/victim_streams.out"))"
wait "$other_streams" || fail "the other app's streams broke: $(cat "$tmp_dir/other_streams.out")"
ok "the other app served its 32 streams meanwhile"
wait_apps 4
for _ in $(seq 50); do
	[ "$(stats_json | jq '.apps.attached_now')" -eq 4 ] && break
	sleep 0.1
done
json=$(stats_json)
echo "$json" | jq -e '.apps.attached_now == 4 and .apps.detached >= 1' >/dev/null ||
	fail "the dead app's context was not reclaimed: $(echo "$json" | jq -c .apps)"
for _ in $(seq 50); do
	[ "$(stats_json | jq '[.workers[].app.conns] | add')" -eq 0 ] && break
	sleep 0.1
done
[ "$(stats_json | jq '[.workers[].app.conns] | add')" -eq 0 ] ||
	fail "app connections left: $(stats_json | jq -c '[.workers[].app]')"
pool_full
ok "context reclaimed, no app connection left, frame pool back to full"

# A hostile app for 30 s while the echo app serves.
"$HOSTILE" "$CONTROL" 30 7 >"$tmp_dir/hostile.out" 2>&1 &
hostile=$!
_pids+=("$hostile")
rounds=0
while kill -0 "$hostile" 2>/dev/null; do
	out=$(in_peer "$NETTOOL" tcp-streams "$DUT_IP" 7001 16 -n 1 -m 262144 -r $((10 + rounds)) \
		-t 30) || fail "ix-echo while the hostile app runs (round $rounds): $out"
	out=$(in_peer "$NETTOOL" tcp-streams "$DUT_IP" 7000 4 -n 1 -m 65536 -r $((50 + rounds)) \
		-t 30) || fail "built-in echo while the hostile app runs: $out"
	rounds=$((rounds + 1))
done
wait "$hostile" || fail "hostile app: $(cat "$tmp_dir/hostile.out")"
kill -0 "$IXDPD_PID" || fail "ixdpd died"
json=$(stats_json)
bad=$(echo "$json" | jq '[.workers[].app.cmds_bad] | add')
[ "$bad" -gt 0 ] || fail "no bad command counted: $(echo "$json" | jq -c '[.workers[].app]')"
ok "hostile app 30 s ($(cat "$tmp_dir/hostile.out")): $bad bad commands refused and counted," \
	"$rounds rounds of streams served meanwhile"
wait_apps 4
pool_full

# Refusals: another ABI version, a user outside the app group; a member is let in.
out=$("$HOSTILE" "$CONTROL" --version 999) || fail "ABI version 999 was accepted: $out"
echo "$out" | grep -q "ABI version 999" || fail "version refusal without a clear message: $out"
ok "ABI version 999 refused: $out"
# An app built against version 1 (handles that named their worker), 2 (no idle or shared
# listens) or 3 (one SEND in flight: no short rule) is refused the same way.
for v in 3 2 1; do
	out=$("$HOSTILE" "$CONTROL" --version "$v") || fail "ABI version $v was accepted: $out"
	echo "$out" | grep -q "ABI version $v, ixdpd speaks version 4" ||
		fail "version $v refusal without a clear message: $out"
done
ok "ABI versions 1, 2 and 3 refused: $out"
out=$(setpriv --reuid nobody --regid nogroup --clear-groups "$UECHO" -p 7003 -t 1 2>&1) &&
	fail "nobody was let in: $out"
echo "$out" | grep -qiE 'permission|denied|EACCES' || fail "no clear refusal: $out"
ok "a user outside the app group refused by the socket's mode: $(echo "$out" | head -1)"
chmod 0666 "$CONTROL" # now only ixdpd's own check stands in the way
refused=$(stats_json | jq .apps.refused)
out=$(setpriv --reuid nobody --regid nogroup --clear-groups "$UECHO" -p 7003 -t 1 2>&1) &&
	fail "nobody was let in: $out"
echo "$out" | grep -q "not root and not in ixdpd's app-group" || fail "no clear refusal: $out"
[ "$(stats_json | jq .apps.refused)" -gt "$refused" ] || fail "the refusal was not counted"
chmod 0660 "$CONTROL"
ok "... and by ixdpd's credential check: $(echo "$out" | head -1)"
setpriv --reuid nobody --regid "$GROUP" --clear-groups "$UECHO" -p 7003 -t 1 \
	>"$tmp_dir/member.log" 2>&1 &
member=$!
_pids+=("$member")
wait_apps 5
out=$(in_peer "$NETTOOL" tcp-streams "$DUT_IP" 7003 4 -n 1 -m 65536 -r 99) ||
	fail "app-group member's echo: $out"
kill "$member"
ok "a member of the app group attached and served"

# The apps end cleanly on SIGTERM; the daemon empties the service table after them.
kill -TERM "$echo_pid" "$kv_pid"
wait "$echo_pid" || fail "ix-echo exit status $?"
wait "$kv_pid" || fail "ix-kv exit status $?"
wait_apps 0
out=$(in_peer "$NETTOOL" tcp-echo "$DUT_IP" 7001 10 2>&1) && fail "port 7001 still served: $out"
ok "apps exited cleanly; their port is the kernel's again"
ixdpd_stop || fail "ixdpd exit status $?"
ok "ixdpd exited cleanly"
