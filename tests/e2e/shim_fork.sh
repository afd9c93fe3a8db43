#!/bin/bash
# shim_fork.sh - a pre-forking server through the shim: Debian's nginx, unmodified, with a
# master and 1 or 4 forked workers, accept_mutex on and off, with and without reuseport.
# The master listens and never accepts, so ixdpd hands it nothing; each worker claims the
# listener it inherited on its first wait, and ixdpd spreads new connections over the workers
# (in turn between holders of one socket, by flow over a reuseport group).  Each run: static
# files of 0 B to 8 MiB with sendfile on one keepalive connection, checked by sha256, wrk for
# 10 s on keepalive connections, then wrk for 5 s with a connection per request and an
# `nginx -s reload` in the middle, 0 errors in both, and the server closing first (its FIN
# with the reply, as on the kernel: few TIME_WAITs at the client); every connection through
# ixdp (ixdpd's counters, no passive open in the DUT's kernel), and nothing left once nginx
# exits.  One ixdpd serves all eight runs: ~100,000 connections each, its TIME_WAITs reused.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
need_root

RUN=$BUILD/bin/ixdp-run
export IXDP_CONTROL=$CONTROL

netns_up 2
# The load generator's side (the peer namespace, ours): more source ports for eight runs of a
# connection per request at full speed (each port comes back to ixdpd while it still holds the
# last connection's TIME_WAIT: a SYN past it opens a new one, tw_reused).
in_peer sysctl -qw net.ipv4.ip_local_port_range="10000 60999" || fail "peer sysctl"
tw_peer() { in_peer ss -Htan state time-wait | wc -l; }

www=$tmp_dir/www
mkdir -p "$www" "$tmp_dir/got"
: >"$www/0"
for f in 1024 1048576 8388608; do
	head -c "$f" /dev/urandom >"$www/$f" || fail "test files"
done

# fork_conf WORKERS MUTEX REUSEPORT: the configuration for one run
fork_conf() {
	local rp=""
	[ "$3" = on ] && rp=" reuseport"
	nginx_conf "$tmp_dir/nginx.conf" "master_process on; worker_processes $1; user root;" \
		"worker_connections 1024; accept_mutex $2;" "8080$rp" "$www"
}

# workers_up N: nginx's master ($pid) has N worker children (bounded wait)
workers_up() {
	for _ in $(seq 100); do
		[ "$(pgrep -c -P "$pid" nginx)" -eq "$1" ] && return 0
		sleep 0.1
	done
	fail "nginx: $(pgrep -c -P "$pid" nginx) workers, not $1: $(tail -5 "$tmp_dir/ngx/error.log")"
}

run_one() {
	local w=$1 mutex=$2 rp=$3 name="nginx $1 workers, accept_mutex $2, reuseport $3"
	local out opened kern reqs reqs2 pids held0 nfiles tw0 tw
	apps0=$(apps_now)
	fork_conf "$w" "$mutex" "$rp"
	: >"$tmp_dir/ngx/error.log"
	nginx_cmd=(nginx -e "$tmp_dir/ngx/startup.log" -c "$tmp_dir/nginx.conf")
	ip netns exec "$ns_dut" "$RUN" "${nginx_cmd[@]}" >"$tmp_dir/nginx.out" 2>"$tmp_dir/nginx.log" &
	pid=$!
	_pids+=("$pid")
	for _ in $(seq 100); do
		in_dut ss -tln "sport = :8080" | grep -q LISTEN && break
		kill -0 "$pid" 2>/dev/null || fail "$name: nginx exited: $(cat "$tmp_dir/nginx.log")"
		sleep 0.1
	done
	workers_up "$w"
	opened0=$(tcp_opened)
	kern0=$(kernel_opens)
	held0=$(app_sum knocks_held)
	rm -f "$tmp_dir"/got/*
	out=$(in_peer curl -s -m 20 -w '%{http_code} %{size_download} %{num_connects}\n' \
		-o "$tmp_dir/got/0" "http://$DUT_IP:8080/0" \
		-o "$tmp_dir/got/1024" "http://$DUT_IP:8080/1024" \
		-o "$tmp_dir/got/1048576" "http://$DUT_IP:8080/1048576" \
		-o "$tmp_dir/got/8388608" "http://$DUT_IP:8080/8388608" 2>&1) ||
		fail "$name: curl: $out $(tail -3 "$tmp_dir/ngx/error.log")"
	[ "$(echo "$out" | awk '{ c += $3 } $1 != 200 { bad = 1 } END { print (bad ? -1 : c) }')" = 1 ] ||
		fail "$name: not 4 answers on one connection: $out"
	for f in 0 1024 1048576 8388608; do
		[ "$(sha256sum <"$www/$f")" = "$(sha256sum <"$tmp_dir/got/$f")" ] ||
			fail "$name: /$f came back different"
	done
	in_peer timeout 60 wrk -t 2 -c 32 -d 10s "http://$DUT_IP:8080/1024" >"$tmp_dir/wrk.out" 2>&1 &
	wpid=$!
	_pids+=("$wpid")
	sleep 3
	# the connections are the workers': ixdpctl conns names their pids, never the master's
	pids=$("$IXDPCTL" --control "$CONTROL" conns --json | jq -r '[.conns[] |
		select((.local | endswith(":8080")) and .state == "ESTABLISHED") | .app_pid] |
		unique | join(" ")')
	for p in $pids; do
		[ "$p" != "$pid" ] && [ "$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null)" = "$pid" ] ||
			fail "$name: a connection held by $p, not one of the master $pid's workers"
	done
	wait "$wpid" || fail "$name: wrk: $(cat "$tmp_dir/wrk.out")"
	reqs=$(awk '/requests in/ { print $1 }' "$tmp_dir/wrk.out")
	[ -n "$reqs" ] && [ "$reqs" -gt 0 ] &&
		! grep -q -e 'Socket errors' -e 'Non-2xx' "$tmp_dir/wrk.out" ||
		fail "$name: wrk saw errors: $(cat "$tmp_dir/wrk.out")"
	# A reload under load: new workers claim the listener, the old ones let go of it.  A
	# connection per request (the old workers close their keepalive connections, and wrk counts
	# the request it had just sent on one as failed, on the kernel too): not one may fail.
	tw0=$(tw_peer)
	in_peer timeout 60 wrk -t 2 -c 16 -d 5s -H "Connection: close" \
		"http://$DUT_IP:8080/1024" >"$tmp_dir/wrk2.out" 2>&1 &
	wpid=$!
	_pids+=("$wpid")
	sleep 2
	ip netns exec "$ns_dut" "${nginx_cmd[@]}" -s reload || fail "$name: nginx -s reload"
	wait "$wpid" || fail "$name: wrk: $(cat "$tmp_dir/wrk2.out")"
	reqs2=$(awk '/requests in/ { print $1 }' "$tmp_dir/wrk2.out")
	[ -n "$reqs2" ] && [ "$reqs2" -gt 0 ] &&
		! grep -q -e 'Socket errors' -e 'Non-2xx' "$tmp_dir/wrk2.out" ||
		fail "$name: wrk across the reload saw errors: $(cat "$tmp_dir/wrk2.out");" \
			"ixdpd: $(stats_json | jq -c '[.workers[] | .app + {tcp: .tcp}]')"
	grep -q reconfiguring "$tmp_dir/ngx/error.log" ||
		fail "$name: nginx did not reload: $(cat "$tmp_dir/ngx/error.log")"
	# nginx closes after the reply: its FIN must come with it, before wrk closes on its own
	tw=$(($(tw_peer) - tw0))
	[ "$tw" -ge 0 ] || tw=0	# older ones expired meanwhile
	[ "$tw" -lt "$((reqs2 / 10))" ] ||
		fail "$name: $tw of $reqs2 connections in TIME_WAIT at the client: it closed first"
	opened=$(($(tcp_opened) - opened0))
	kern=$(($(kernel_opens) - kern0))
	[ "$opened" -ge "$((33 + reqs2))" ] && [ "$kern" -eq 0 ] ||
		fail "$name: not through ixdp: ixdpd opened $opened, the DUT kernel $kern"
	nfiles=$(echo "$pids" | wc -w)
	ok "$name: 0 B to 8 MiB by sendfile on one keepalive connection, sha256 alike; wrk 10 s," \
		"32 keepalive connections: $reqs requests, 0 errors; wrk 5 s, a connection per" \
		"request: $reqs2 requests, 0 errors, with an nginx -s reload in the middle," \
		"$tw in TIME_WAIT at the client;" \
		"every connection through ixdp (ixdpd opened $opened, the DUT kernel 0), held by" \
		"$nfiles worker(s) (pids $pids), none by the master; knocks held" \
		"$(($(app_sum knocks_held) - held0))"
	kill -QUIT "$pid"
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && fail "$name: nginx did not exit on QUIT"
	wait "$pid" 2>/dev/null
	for _ in $(seq 50); do
		[ "$(apps_now)" -eq "$apps0" ] && conns_zero 1 && break
		sleep 0.1
	done
	[ "$(apps_now)" -eq "$apps0" ] ||
		fail "$name: ixdpd still has $(apps_now) app contexts (before: $apps0)"
	conns_zero 1 || fail "$name: ixdpd still holds connections"
	log_clean "$tmp_dir/nginx.log" || fail "$name: errors in its log"
}

ixdpd_start --workers 2 || fail "ixdpd did not start"

# SHIM_FORK_ONLY="WORKERS MUTEX REUSEPORT" runs that one alone (while debugging)
if [ -n "${SHIM_FORK_ONLY:-}" ]; then
	# shellcheck disable=SC2086
	run_one $SHIM_FORK_ONLY
else
	for w in 1 4; do
		for mutex in off on; do
			for rp in off on; do
				run_one "$w" "$mutex" "$rp"
			done
		done
	done
fi
tws=$(stats_json | jq '[.workers[].tcp.tw_reused] | add')
ixdpd_stop || fail "ixdpd exit status $?"
log_clean "$tmp_dir/ixdpd.log" || fail "errors in ixdpd's log"
ok "one ixdpd served every run ($tws SYNs reused a TIME_WAIT of its own) and exited cleanly"
