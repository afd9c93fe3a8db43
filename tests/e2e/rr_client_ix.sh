#!/bin/bash
# rr_client_ix.sh - bench/rr_client -X (its libix transport, which ping-pong times ixdp <-> ixdp
# with): through a second ixdpd in the peer namespace against ix-rr server, every answer checked
# (exit 0, errors=0, requests counted, transport=ix); then against a kernel server in the DUT
# namespace that answers with every byte changed, the checking counts the mismatches.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
need_root

RR=$BUILD/bench/rr_client
IX_RR=$BUILD/bin/ix-rr
PEER_CTL=$tmp_dir/peer.sock

kv() { sed -n "s/^$1=//p" "$2" | head -1; }

netns_up 1
ixdpd_start --workers 1
IXDP_CONTROL=$CONTROL "$IX_RR" server -p 7000 -t 1 >"$tmp_dir/app.log" 2>&1 &
app=$!
_pids+=("$app")
ip netns exec "$ns_peer" "$IXDPD" --foreground --interface peer0 --control "$PEER_CTL" \
	--workers 1 >>"$tmp_dir/peer-ixdpd.log" 2>&1 &
peer=$!
_pids+=("$peer")
for _ in $(seq 100); do
	"$IXDPCTL" --control "$PEER_CTL" status >/dev/null 2>&1 &&
		[ "$(stats_json | jq .apps.attached_now)" = 1 ] && break
	sleep 0.1
done
"$IXDPCTL" --control "$PEER_CTL" status >/dev/null 2>&1 || fail "the peer's ixdpd did not come up"
[ "$(stats_json | jq .apps.attached_now)" = 1 ] || fail "ix-rr server did not attach: $(cat "$tmp_dir/app.log")"
sleep 0.3 # the server's listen reaches the worker

f=$tmp_dir/rr.out
IXDP_CONTROL=$PEER_CTL ip netns exec "$ns_peer" timeout 60 "$RR" -X -a "$DUT_IP" -p 7000 \
	-c 2 -D 2 -s 64 -d 1 -w 1 -T 10 -L "$peer" >"$f" 2>&1 ||
	fail "rr_client -X: $(cat "$f") $(tail -5 "$tmp_dir/peer-ixdpd.log")"
[ "$(kv transport "$f")" = ix ] || fail "rr_client -X did not say transport=ix: $(cat "$f")"
[ "$(kv connected "$f")" = 2 ] || fail "rr_client -X: not both connections up: $(cat "$f")"
[ "$(kv errors "$f")" = 0 ] || fail "rr_client -X saw errors: $(cat "$f")"
[ "$(kv requests "$f")" -gt 0 ] || fail "rr_client -X completed no request: $(cat "$f")"
[ "$(kv cli_cpu_ns "$f")" -gt 0 ] || fail "rr_client -X -L: no client CPU time: $(cat "$f")"
ok "rr_client -X through the peer's ixdpd to ix-rr server, 2 connections x 2 in flight:" \
	"$(kv requests "$f") requests, errors 0, p50 $(kv p50_us "$f") us, p99 $(kv p99_us "$f") us"
[ "$(jq '[.workers[].tcp.opened] | add' <("$IXDPCTL" --control "$PEER_CTL" stats --json))" -ge 2 ] ||
	fail "the peer's ixdpd opened no connection: rr_client did not go through it"
ok "the connections were the peer ixdpd's"

# A server that is not an echo: every byte answered XOR 1 (a kernel listener on dut0, the DUT's
# ixdpd and its app gone).
kill -TERM "$app"
wait "$app" || fail "ix-rr server failed: $(cat "$tmp_dir/app.log")"
ixdpd_stop || fail "ixdpd exited with status $?"
# the DUT's kernel now answers the peer's ixdpd, which checks checksums: real ones on the wire
in_dut ethtool -K dut0 tx off >/dev/null || fail "ethtool tx off"
ip netns exec "$ns_dut" timeout 60 python3 -c '
import socket, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.0.1", 7001))
s.listen(8)
print("ready", flush=True)
def serve(c):
    while True:
        d = c.recv(65536)
        if not d:
            return
        c.sendall(bytes(b ^ 1 for b in d))
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
' >"$tmp_dir/bad.log" 2>&1 &
bad=$!
_pids+=("$bad")
for _ in $(seq 100); do
	grep -q '^ready' "$tmp_dir/bad.log" && break
	sleep 0.1
done
grep -q '^ready' "$tmp_dir/bad.log" || fail "the corrupting server did not start: $(cat "$tmp_dir/bad.log")"
f=$tmp_dir/bad.out
IXDP_CONTROL=$PEER_CTL ip netns exec "$ns_peer" timeout 60 "$RR" -X -a "$DUT_IP" -p 7001 \
	-c 2 -D 2 -s 64 -d 1 -w 1 -T 10 >"$f" 2>&1 || fail "rr_client -X against the bad server: $(cat "$f")"
[ "$(kv connected "$f")" = 2 ] || fail "rr_client -X: not both connections up: $(cat "$f")"
[ "$(kv mismatches "$f")" = 2 ] && [ "$(kv errors "$f")" = 2 ] && [ "$(kv requests "$f")" = 0 ] ||
	fail "corrupted answers not caught: $(cat "$f")"
ok "against a server that changes every byte: both connections' first answer a mismatch, no request counted"

kill -TERM "$peer"
for _ in $(seq 50); do kill -0 "$peer" 2>/dev/null || break; sleep 0.1; done
wait "$peer" || fail "the peer's ixdpd exited with status $?: $(tail -5 "$tmp_dir/peer-ixdpd.log")"
log_clean "$tmp_dir/peer-ixdpd.log" || fail "errors in the peer's ixdpd log"
log_clean "$tmp_dir/ixdpd.log" || fail "errors in ixdpd's log"
ok "both daemons exited cleanly"
