#!/bin/bash
# pingpong.sh - the ping-pong benchmark (shared/BENCH.md): one connection, 64-byte requests,
# one in flight, both ends on ixdp against both ends on the kernel, side by side.
#
#   BUILD=build bench/pingpong.sh        (as root, after make)
#
#   env: RUNS=3 DURATION=5 WARMUP=1 SIZE=64 SRV_CPU=0 CLI_CPU=1 PORT=7000 RETRIES=2
#        CONTENDED_PCT=10 QUIET_WAIT=0 IXDPD_ARGS=
#
#   kernel <-> kernel: bench/echo_server (epoll, one thread on SRV_CPU) in the DUT namespace,
#     bench/rr_client (kernel sockets, busy-polling, CLI_CPU) in the peer namespace; twice, as
#     "kernel" (the server sleeps in epoll_wait) and "kernel-spin" (it busy-polls too, as ixdp's
#     worker and app do: the kernel at its best beside its default, shared/BENCH.md).
#   ixdp <-> ixdp: an ixdpd in each namespace (one worker each: SRV_CPU, CLI_CPU), the native
#     app ix-rr as server on SRV_CPU beside the DUT's worker, and bench/rr_client -X (its libix
#     transport: IXDP_CONTROL is the peer ixdpd's control socket) on CLI_CPU beside the peer's
#     worker.
#
# Both systems are timed by the same client, rr_client: the same loop, clock, request checking
# and histogram, spinning in both (-S; -X spins in ix_poll(..., 0)), from the write of a request
# to the receipt of the last byte of its echo, over DURATION s after WARMUP s.
#
# Each run goes through bench/lib.sh's measure and drop rule (keep_run): a run is dropped when
# the client failed (exit != 0, or errors > 0) or was contended (other CPU over CONTENDED_PCT %
# of a CPU).  "Ours" is, for kernel <-> kernel, echo_server, rr_client and the ksoftirqds; for
# ixdp <-> ixdp, the DUT's ixdpd and ix-rr server (rr_client -P, -A: srv_cpu_ns) and the peer's
# ixdpd and rr_client (rr_client -L adds the peer ixdpd to cli_cpu_ns), sampled by rr_client at
# the window's edges.  A run not kept is tried again, RETRIES times at most; every try is a row
# of the CSV (kept, drop, try), and only kept runs enter a median or a ratio.  RUNS rounds of the three;
# the order alternates from round to round (pair_order).  A ratio is the median of the per-round
# ratios ixdp/kernel, ixdp/kernel-spin and ixdp/the better of the two, from kept tries; the
# target is judged against the better.  The peer's ixdpd is up
# through the whole ixdp run, measure's background sample (bg_busy_pct, with QUIET_WAIT its
# wait) included, where its idle worker sleeps.  A benchmark reports; it never fails on a
# number.  Output: the table on stdout and in $BUILD/bench/pingpong.txt, every try in
# $BUILD/bench/pingpong.csv.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_root

rr_settings
SIZE=${SIZE:-64}
need_numbers SIZE
[ "$WORKERS" = 1 ] || fail "ping-pong runs one worker on each side (WORKERS=1)"
bench_init pingpong
pinning="server CPU $SRV_CPU, client CPU $CLI_CPU"
[ -n "$IXDPD_ARGS" ] && pinning="$pinning, ixdpd $IXDPD_ARGS"

columns=(date commit system run rps p50_us p99_us p999_us lat_mean_us lat_max_us errors
	other_cpu_pct client_failed kept drop try)
(IFS=,; echo "${columns[*]}") >"$csv"

# record RUN SYSTEM FILE: one CSV row from a try's key=value file.
record() {
	local f=$3 k row="$date,$commit,$2,$1"
	for k in rps p50_us p99_us p999_us lat_mean_us lat_max_us errors other_cpu_pct \
		client_failed kept drop try; do
		row="$row,$(kv "$k" "$f" | tr -d ',')"
	done
	echo "$row" >>"$csv"
}

# run_kernel OUT: one kernel <-> kernel try (bench/lib.sh measure: the Linux twin, echo).
run_kernel() {
	measure linux echo "$1" -c 1 -D 1 -s "$SIZE" -S
}

# run_kernel-spin OUT: the same with the server busy-polling too (epoll_wait(..., 0)), as ixdp's
# workers and app spin: the kernel at its best beside its default (shared/BENCH.md).
run_kernel-spin() {
	measure linux-spin echo "$1" -c 1 -D 1 -s "$SIZE" -S
}

# run_ixdp OUT: one ixdp <-> ixdp try: the peer's ixdpd, then measure with the DUT's ixdpd and
# ix-rr server (serve_ixapp) and rr_client -X through the peer's ixdpd.
run_ixdp() {
	local peer_ctl=$tmp_dir/peer.sock peer_pid rc
	# shellcheck disable=SC2086 # IXDPD_ARGS is a list of options
	ip netns exec "$ns_peer" "$IXDPD" --foreground --interface peer0 --control "$peer_ctl" \
		--workers 1 --cpus "$CLI_CPU" $IXDPD_ARGS >>"$tmp_dir/peer.log" 2>&1 &
	peer_pid=$!
	_pids+=("$peer_pid")
	for _ in $(seq 100); do
		"$IXDPCTL" --control "$peer_ctl" status >/dev/null 2>&1 && break
		kill -0 "$peer_pid" 2>/dev/null || break
		sleep 0.1
	done
	"$IXDPCTL" --control "$peer_ctl" status >/dev/null 2>&1 ||
		fail "the peer's ixdpd did not come up: $(tail -5 "$tmp_dir/peer.log")"
	# serve_ixapp gives its app IXDP_CONTROL=$CONTROL; rr_client (measure's client) takes this
	IXDP_CONTROL=$peer_ctl measure ixapp echo "$1" -c 1 -D 1 -s "$SIZE" -X -L "$peer_pid"
	kill -TERM "$peer_pid"
	wait_pid "$peer_pid" 50 || fail "the peer's ixdpd ignored SIGTERM"
	wait "$peer_pid"
	rc=$?
	[ "$rc" = 0 ] || fail "the peer's ixdpd exited with status $rc: $(tail -5 "$tmp_dir/peer.log")"
}

netns_up 1
echo "ping-pong: 1 connection, $SIZE-byte requests, 1 in flight, ${DURATION} s per run after ${WARMUP} s"
echo "commit $commit, kernel $kernel, $pinning, $date"
for run in $(seq "$RUNS"); do
	for sys in $(pair_order "$run" kernel kernel-spin ixdp); do
		echo "run $run: $sys <-> $sys"
		f=$tmp_dir/pp.$sys.$run
		keep_run "record $run $sys" "$f" "run_$sys" "$f"
	done
done

# pair_ratio COLUMN BASE: the median over runs of ixdp / BASE in COLUMN, from kept tries; BASE
# kernel, kernel-spin, or better (in each run the kernel system with the lower value).
pair_ratio() {
	awk -F, -v k="$1" -v base="$2" 'NR > 1 && $14 == 1 { r = $4
		if ($3 == "ixdp")
			x[r] = $k
		else if ($3 == base || (base == "better" && $3 ~ /^kernel/ &&
			 (!(r in b) || $k + 0 < b[r] + 0)))
			b[r] = $k }
		END { for (r in x) if ((r in b) && b[r] > 0) print x[r] / b[r] }' "$csv" | median - %.2f
}

# pairs_kept BASE: runs where ixdp and BASE (better: any kernel system) were both kept.
pairs_kept() {
	awk -F, -v base="$1" 'NR > 1 && $14 == 1 { if ($3 == "ixdp") x[$4] = 1
		else if ($3 == base || (base == "better" && $3 ~ /^kernel/)) b[$4] = 1 }
		END { for (r in x) if (r in b) p++; print p + 0 }' "$csv"
}

report() {
	local k base r
	echo "ping-pong: 1 connection, $SIZE-byte requests, 1 in flight, ${DURATION} s per run after ${WARMUP} s"
	echo "commit $commit, kernel $kernel, 2 vCPUs, $pinning, $date"
	echo "both timed by bench/rr_client (kernel sockets; -X: libix through the peer's ixdpd)"
	printf '%-11s %4s %10s %9s %9s %9s %6s\n' system run "req/s" "p50 us" "p99 us" "p99.9 us" "oth%"
	awk -F, 'NR > 1 { printf "%-11s %3d%s %10.0f %9.1f %9.1f %9.1f %6.1f%s\n", $3, $4,
		($14 == 1 ? " " : "x"), $5, $6, $7, $8, $12,
		($14 == 1 ? "" : " dropped (try " $16 "): " $15) }' "$csv"
	for base in kernel kernel-spin better; do
		for k in 6 7 8; do
			printf '%s ' "$(pair_ratio "$k" "$base")"
		done | awk -v base="$base" -v pairs="$(pairs_kept "$base")" -v runs="$RUNS" '{
			printf "ratio ixdp/%s, median of the per-run ratios (%d of %d runs with both kept): p50 %s, p99 %s, p99.9 %s\n", base, pairs, runs, $1, $2, $3 }'
	done
	r=$(pair_ratio 6 better)
	echo "target (shared/BENCH.md): RTT <= 0.25 x kernel (the better kernel of each run): p50 $r" \
		"($(awk -v r="$r" 'BEGIN { print (r != "-" && r + 0 <= 0.25) ? "met" : "missed" }'))"
	echo "(x: dropped, in no median or ratio)"
	drop_summary "$csv" 14 15
	echo "csv: $csv"
}
echo
report | tee "$out/pingpong.txt"
