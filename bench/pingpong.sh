#!/bin/bash
# pingpong.sh - the ping-pong benchmark (shared/BENCH.md): one connection, 64-byte requests,
# one in flight, both ends on ixdp against both ends on the kernel, side by side.
#
#   BUILD=build bench/pingpong.sh        (as root, after make)
#
#   env: RUNS=3 DURATION=5 SIZE=64 SRV_CPU=0 CLI_CPU=1 PORT=7000
#
#   kernel <-> kernel: bench/echo_server (epoll, one thread on SRV_CPU) in the DUT namespace,
#     bench/rr_client (busy-polling, CLI_CPU) in the peer namespace.
#   ixdp <-> ixdp: an ixdpd in each namespace (one worker each: SRV_CPU, CLI_CPU), the native
#     app ix-rr as server on SRV_CPU and as client on CLI_CPU, each beside its own daemon's
#     worker.
#
# The round trip of each request is timed by each system's own client (rr_client, ix-rr): write
# of a request to the read of the last byte of its echo.  RUNS pairs, kernel first, then ixdp;
# the ratio is the median of the per-pair ratios.  A benchmark reports; it never fails on a
# number.  Output: the table on stdout and in $BUILD/bench/pingpong.txt, every run in
# $BUILD/bench/pingpong.csv.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_root

rr_settings
SIZE=${SIZE:-64}
need_numbers SIZE
bench_init pingpong
echo "date,commit,system,run,rps,p50_us,p99_us,p999_us" >"$csv"

# kernel RUN: one kernel <-> kernel run.
kernel() {
	local f=$tmp_dir/k.$1
	serve_linux echo
	ip netns exec "$ns_peer" "$RR_CLIENT" -a "$DUT_IP" -p "$PORT" -C "$CLI_CPU" -c 1 -D 1 \
		-s "$SIZE" -d "$DURATION" -w 1 -S >"$f" 2>&1 || fail "rr_client: $(cat "$f")"
	stop_pid "$SRV_PID" "$tmp_dir/srv.out" echo_server
	echo "$date,$commit,kernel,$1,$(kv rps "$f"),$(kv p50_us "$f"),$(kv p99_us "$f")," \
		"$(kv p999_us "$f")" | tr -d ' ' >>"$csv"
}

# ixdp RUN: one ixdp <-> ixdp run.
ixdp() {
	local f=$tmp_dir/x.$1 peer_ctl=$tmp_dir/peer.sock peer_pid app line
	ixdpd_start --workers 1 --cpus "$SRV_CPU" $IXDPD_ARGS
	IXDP_CONTROL=$CONTROL taskset -c "$SRV_CPU" "$IX_RR" server -p "$PORT" -t 1 \
		>"$tmp_dir/app.out" 2>&1 &
	app=$!
	_pids+=("$app")
	ip netns exec "$ns_peer" "$IXDPD" --foreground --interface peer0 --control "$peer_ctl" \
		--workers 1 --cpus "$CLI_CPU" $IXDPD_ARGS >>"$tmp_dir/peer.log" 2>&1 &
	peer_pid=$!
	_pids+=("$peer_pid")
	for _ in $(seq 100); do
		"$IXDPCTL" --control "$peer_ctl" status >/dev/null 2>&1 &&
			[ "$(stats_json | jq .apps.attached_now)" = 1 ] && break
		sleep 0.1
	done
	sleep 0.3 # the server's listen reaches the worker
	IXDP_CONTROL=$peer_ctl timeout $((DURATION + 30)) taskset -c "$CLI_CPU" "$IX_RR" client \
		"$DUT_IP" "$PORT" -c 1 -d 1 -s "$SIZE" -T "$DURATION" >"$f" 2>&1 ||
		fail "ix-rr client: $(cat "$f" "$tmp_dir/peer.log")"
	kill -TERM "$peer_pid"
	wait_pid "$peer_pid" 50 || fail "the peer's ixdpd ignored SIGTERM"
	stop_pid "$app" "$tmp_dir/app.out" ix-rr
	ixdpd_stop || fail "ixdpd exited with status $?"
	line=$(grep '^requests' "$f")
	echo "$date,$commit,ixdp,$1,$(echo "$line" | awk '{ printf "%.0f,%s,%s,%s", $4, $6, $8, $10 }')" \
		>>"$csv"
}

netns_up 1
pinning="server CPU $SRV_CPU, client CPU $CLI_CPU"
echo "ping-pong: 1 connection, $SIZE-byte requests, 1 in flight, ${DURATION} s per run"
echo "commit $commit, kernel $kernel, $pinning, $date"
for run in $(seq "$RUNS"); do
	echo "run $run: kernel <-> kernel"
	kernel "$run"
	echo "run $run: ixdp <-> ixdp"
	ixdp "$run"
done

report() {
	local k
	echo "ping-pong: 1 connection, $SIZE-byte requests, 1 in flight, ${DURATION} s per run"
	echo "commit $commit, kernel $kernel, 2 vCPUs, $pinning, $date"
	printf '%-8s %4s %10s %9s %9s %9s\n' system run "req/s" "p50 us" "p99 us" "p99.9 us"
	awk -F, 'NR > 1 { printf "%-8s %4d %10.0f %9.1f %9.1f %9.1f\n", $3, $4, $5, $6, $7, $8 }' \
		"$csv"
	for k in 6 7 8; do
		printf '%s ' "$(awk -F, -v k="$k" 'NR > 1 { if ($3 == "kernel") l[$4] = $k; else x[$4] = $k }
			END { for (r in l) if ((r in x) && l[r] > 0) print x[r] / l[r] }' "$csv" |
			median - %.2f)"
	done | awk '{ printf "ratio ixdp/kernel, median of the per-run ratios: p50 %s, p99 %s, p99.9 %s\n", $1, $2, $3
		printf "target (shared/BENCH.md): RTT <= 0.25 x kernel: p50 %s (%s)\n", $1,
			($1 != "-" && $1 + 0 <= 0.25) ? "met" : "missed" }'
	echo "csv: $csv"
}
echo
report | tee "$out/pingpong.txt"
