#!/bin/bash
# kv.sh - the kv benchmark (shared/BENCH.md): unmodified memcached from Debian under the shim
# (ixdp-run: libix-preload.so over ixdpd's TCP) against the same memcached on the kernel's TCP,
# side by side in one run, driven by the same client.
#
#   sudo BUILD=build bench/kv.sh        (after make)
#
#   env: RUNS=3 DURATION=5 WARMUP=1 CONNS="32" DEPTHS="1 8" MC_THREADS=1 SRV_CPU=0 CLI_CPU=1
#        LAT_CONNS=32 LAT_FRACTION=0.5 LAT_RUNS=RUNS PORT=11211 RETRIES=2 CONTENDED_PCT=10
#        QUIET_WAIT=0 IXDPD_ARGS= REPORT_ONLY=1 (no runs: the table and plot again from the CSV)
#
# The load: bench/rr_client -M, memcached's text protocol with 32-byte keys and values, 90 % get
# / 10 % set, every answer checked (a get's value included; each connection sets its own keys
# first, in the warm-up, so a miss is an error).  Not memcaslap, which BENCH.md also allows: it
# keeps a power-of-two latency histogram only and its --tps does not pace (asked for 38 k ops/s
# it did 95 k), so it has no equal-load latency to give; rr_client has the open loop, the exact
# percentiles, the CPU sampling and the checks of echo-rr.  tests/e2e/shim.sh still runs
# memcaslap --verify and memccapable against memcached under the shim.
#
# memcached runs MC_THREADS worker threads pinned to SRV_CPU, on 198.18.0.1:PORT in the DUT
# namespace: "mc-linux" on the kernel, "mc-shim" under ixdp-run beside one ixdpd worker on the
# same SRV_CPU (the twin has that CPU alone: the shim's server is memcached and ixdpd together,
# and both count as the server's CPU).  The client runs on CLI_CPU in the peer namespace.
#
#  1. saturation: for each C in CONNS and D in DEPTHS, C connections keep D requests in flight
#     (closed loop, the client busy-polls), DURATION s after WARMUP s, RUNS passes in an order
#     that alternates (bench/lib.sh pair_order): requests/s, gets/s, p50/p99/p99.9, server CPU
#     per request.
#  2. equal load: LAT_CONNS connections, open loop (Poisson) at LAT_FRACTION x the Linux
#     maximum of part 1 at LAT_CONNS x 1, LAT_RUNS rounds: latency at a load both sustain.
#
# The drop rule is bench/lib.sh's (the same in every benchmark): a run that failed (client
# error, a wrong answer) or was contended (other work took more than CONTENDED_PCT % of a CPU)
# is tried again, RETRIES times at most; one never kept is dropped, stays in the CSV marked,
# and counts in no median and no ratio.
#
# Output: the table on stdout and in $BUILD/bench/kv.txt, every try in $BUILD/bench/kv.csv,
# the plot $BUILD/bench/kv.png (copied to docs/img/).  A benchmark reports; it never fails on
# a number.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_root

rr_settings
[ "$WORKERS" = 1 ] || fail "kv.sh runs one worker (WORKERS=1)"
PORT=${PORT_KV:-11211}
CONNS=${CONNS:-32}
DEPTHS=${DEPTHS:-"1 8"}
MC_THREADS=${MC_THREADS:-1}
LAT_CONNS=${LAT_CONNS:-32}
LAT_FRACTION=${LAT_FRACTION:-0.5}
LAT_RUNS=${LAT_RUNS:-$RUNS}
REPORT_ONLY=${REPORT_ONLY:-0}
QMAX=64
RUN=$BUILD/bin/ixdp-run
need_numbers MC_THREADS LAT_CONNS LAT_RUNS
for v in $CONNS $DEPTHS; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || fail "CONNS and DEPTHS are lists of numbers >= 1"
done
[[ $LAT_FRACTION =~ ^[0-9]*\.?[0-9]+$ ]] || fail "LAT_FRACTION is a fraction"
command -v memcached >/dev/null || fail "memcached is not installed (scripts/install-deps.sh)"
need_built "$RUN" "$BUILD/lib/libix-preload.so"
systems="mc-linux mc-shim"

bench_init kv
pinning="memcached -t $MC_THREADS on CPU $SRV_CPU (mc-shim: with one ixdpd worker there), client on CPU $CLI_CPU, client busy-polls"
[ -n "$IXDPD_ARGS" ] && pinning="$pinning, ixdpd $IXDPD_ARGS"
columns=(date commit phase system conns depth offered_rps rps gets_per_s p50_us p99_us p999_us
	mean_us max_us errors srv_us_per_req srv_cpu_pct other_cpu_pct lag_max_us srv_conns_left
	run kept drop try)
csv_open "${columns[@]}"

# memcached in the DUT namespace on SRV_CPU, through RUNNER... (nothing, or ixdp-run); sets
# MC_PID once it listens.  taskset and ixdp-run exec: $! is memcached itself.
mc_start() {
	ip netns exec "$ns_dut" taskset -c "$SRV_CPU" "$@" memcached -u root -U 0 \
		-t "$MC_THREADS" -l "$DUT_IP" -p "$PORT" -m 1024 -c 4096 >"$tmp_dir/mc.log" 2>&1 &
	MC_PID=$!
	_pids+=("$MC_PID")
	for _ in $(seq 100); do
		in_dut ss -tln "sport = :$PORT" | grep -q LISTEN && return 0
		kill -0 "$MC_PID" 2>/dev/null || break
		sleep 0.1
	done
	fail "memcached did not start: $(cat "$tmp_dir/mc.log")"
}

# The two systems, as bench/lib.sh's measure() runs them (serve_SYS MODE, stop_SYS OUT).
serve_mc-linux() {
	mc_start
	SRV_PID=$MC_PID APP_PID=
}
stop_mc-linux() {
	stop_pid "$MC_PID" "$tmp_dir/mc.log" memcached
	echo "srv_conns_left=0" >>"$1"
}
serve_mc-shim() {
	# shellcheck disable=SC2086,SC2046 # IXDPD_ARGS is a list of options
	ixdpd_start --workers 1 --cpus "$SRV_CPU" $IXDPD_ARGS $(ixdpd_idle_args) ||
		fail "ixdpd did not start"
	mc_start env IXDP_CONTROL="$CONTROL" "$RUN"
	SRV_PID=$IXDPD_PID APP_PID=$MC_PID
	stats_json >"$tmp_dir/ix0.json" || fail "ixdpctl stats"
}
stop_mc-shim() {
	stop_pid "$MC_PID" "$tmp_dir/mc.log" "memcached under the shim"
	APP_PID=
	stop_ixdp "$1"
}

# record PHASE RUN FILE: one CSV row from a try's key=value file.
record() {
	local f=$3
	awk -F= -v date="$date" -v commit="$commit" -v phase="$1" -v run="$2" '
		{ v[$1] = substr($0, length($1) + 2) }
		END {
			w = v["window_ns"] > 0 ? v["window_ns"] : 1
			r = v["requests"] > 0 ? v["requests"] : 1
			printf "%s,%s,%s,%s,%d,%d,%.0f,%.0f,%.0f,%.2f,%.2f,%.2f,%.2f,%.2f,%d,", date,
				commit, phase, v["system"], v["conns"], v["depth"], v["offered_rps"],
				v["rps"], v["gets_per_s"], v["p50_us"], v["p99_us"], v["p999_us"],
				v["lat_mean_us"], v["lat_max_us"], v["errors"]
			printf "%.3f,%.1f,%.1f,%.1f,%s,%d,%d,%s,%d\n", v["srv_cpu_ns"] / r / 1e3,
				100 * v["srv_cpu_ns"] / w, v["other_cpu_pct"], v["lag_max_us"],
				v["srv_conns_left"], run, v["kept"], v["drop"], v["try"] }' "$f" >>"$csv"
}

C_RUN=$(col run) C_KEPT=$(col kept) C_DROP=$(col drop)

# value PHASE SYSTEM CONNS DEPTH COLUMN: the median over that configuration's kept runs.
value() {
	awk -F, -v p="$1" -v s="$2" -v c="$3" -v d="$4" -v k="$(col "$5")" -v kc="$C_KEPT" \
		'NR > 1 && $3 == p && $4 == s && (c == "" || ($5 == c && $6 == d)) && $kc == 1 {
			print $k }' "$csv" | median ''
}
# ratio_of PHASE COLUMN [CONNS DEPTH]: the median over runs of mc-shim / mc-linux where both
# were kept ("-" if none).
ratio_of() {
	awk -F, -v p="$1" -v k="$(col "$2")" -v c="${3:-}" -v d="${4:-}" -v rc="$C_RUN" \
		-v kc="$C_KEPT" 'NR > 1 && $3 == p && $kc == 1 && (c == "" || ($5 == c && $6 == d)) {
		if ($4 == "mc-shim") x[$rc] = $k; else b[$rc] = $k }
		END { for (r in x) if ((r in b) && b[r] > 0) print x[r] / b[r] }' "$csv" | median - %.2f
}
verdict() {
	awk -v r="$1" -v op="$2" -v l="$3" 'BEGIN { if (r == "-" || r == "") print "not measured";
		else if ((op == ">=" && r + 0 >= l) || (op == "<=" && r + 0 <= l)) print "met";
		else print "missed" }'
}

if [ "$REPORT_ONLY" != 1 ]; then
	rr_up
	echo "kv: memcached, 90 % get / 10 % set, 32-byte keys and values, ${DURATION} s per run" \
		"after ${WARMUP} s of warm-up"
	echo "commit $commit, kernel $kernel, $pinning, $date"
	for run in $(seq "$RUNS"); do
		for c in $CONNS; do
			for d in $DEPTHS; do
				for sys in $(pair_order "$run" $systems); do
					echo "saturation, pass $run: $sys, $c connections x $d in flight"
					f=$tmp_dir/max.$sys.$c.$d.$run
					keep_run "record max $run" "$f" measure "$sys" kv "$f" -M \
						-c "$c" -D "$d" -S
				done
			done
		done
	done
	lin_max=$(value max mc-linux "$LAT_CONNS" 1 rps)
	if [ -z "$lin_max" ]; then
		echo "equal load: measuring the Linux maximum at $LAT_CONNS x 1 first"
		f=$tmp_dir/max.mc-linux.$LAT_CONNS.1
		keep_run "record max 1" "$f" measure mc-linux kv "$f" -M -c "$LAT_CONNS" -D 1 -S
		lin_max=$(value max mc-linux "$LAT_CONNS" 1 rps)
	fi
	lat_rate=$(awk -v m="${lin_max:-0}" -v f="$LAT_FRACTION" 'BEGIN { printf "%.0f", m * f }')
	if [ "$lat_rate" -gt 0 ]; then
		for run in $(seq "$LAT_RUNS"); do
			for sys in $(pair_order "$run" $systems); do
				echo "equal load, run $run: $sys, $LAT_CONNS connections, open loop at" \
					"$lat_rate requests/s"
				f=$tmp_dir/equal.$sys.$run
				keep_run "record equal $run" "$f" measure "$sys" kv "$f" -M \
					-c "$LAT_CONNS" -R "$lat_rate" -Q "$QMAX"
			done
		done
	fi
fi
lat_rate=$(awk -F, 'NR > 1 && $3 == "equal" { print $7; exit }' "$csv")

report() {
	local c d sys r
	echo "kv: memcached $(memcached -V 2>/dev/null | awk '{ print $2 }'), bench/rr_client -M:" \
		"90 % get / 10 % set, 32-byte keys and values, ${DURATION} s per run"
	echo "commit $commit, kernel $kernel, 2 vCPUs, $pinning, $date"
	echo
	echo "1. saturation (closed loop), $RUNS passes; server CPU = scheduler runtime of memcached"
	echo "(and ixdpd) per request"
	printf '%-10s %-9s %4s %10s %10s %9s %9s %9s %8s %6s %6s %6s\n' "conns x D" system pass \
		"req/s" "gets/s" "p50 us" "p99 us" "p99.9 us" "srv us" "srv%" "oth%" errors
	for c in $CONNS; do
		for d in $DEPTHS; do
			awk -F, -v c="$c" -v d="$d" -v kc="$C_KEPT" -v dc="$C_DROP" \
				'NR > 1 && $3 == "max" && $5 == c && $6 == d {
				printf "%-10s %-9s %3d%s %10.0f %10.0f %9.1f %9.1f %9.1f %8.2f %6.1f %6.1f %6d%s\n",
					c " x " d, $4, $21, ($kc == 1 ? " " : "x"), $8, $9, $10, $11,
					$12, $16, $17, $18, $15, ($kc == 1 ? "" : "  dropped: " $dc) }' "$csv"
			for sys in $systems; do
				printf '%-10s %-9s %4s %10.0f %10.0f %9.1f %9.1f %9.1f %8.2f\n' "$c x $d" \
					"$sys" med "$(value max "$sys" "$c" "$d" rps)" \
					"$(value max "$sys" "$c" "$d" gets_per_s)" \
					"$(value max "$sys" "$c" "$d" p50_us)" \
					"$(value max "$sys" "$c" "$d" p99_us)" \
					"$(value max "$sys" "$c" "$d" p999_us)" \
					"$(value max "$sys" "$c" "$d" srv_us_per_req)"
			done
			echo "  $c x $d, mc-shim / mc-linux (median of the per-pass ratios): gets/s" \
				"$(ratio_of max gets_per_s "$c" "$d"), server CPU/req" \
				"$(ratio_of max srv_us_per_req "$c" "$d")"
		done
	done
	echo "(x: dropped, in no median or ratio)"
	echo
	echo "2. equal load: $LAT_CONNS connections, open loop (Poisson) at $LAT_FRACTION x the" \
		"Linux maximum at $LAT_CONNS x 1 = ${lat_rate:-0} requests/s"
	printf '%-9s %4s %10s %10s %9s %9s %9s %9s %9s %6s\n' system run offered achieved "p50 us" \
		"p99 us" "p99.9 us" "max us" "lag max" errors
	awk -F, -v kc="$C_KEPT" -v dc="$C_DROP" 'NR > 1 && $3 == "equal" {
		printf "%-9s %3d%s %10.0f %10.0f %9.1f %9.1f %9.1f %9.1f %9.1f %6d%s\n", $4, $21,
			($kc == 1 ? " " : "x"), $7, $8, $10, $11, $12, $14, $19, $15,
			($kc == 1 ? "" : "  dropped: " $dc) }' "$csv"
	for k in p50_us p99_us p999_us; do
		echo "  ${k%_us}, mc-shim / mc-linux (median of the per-run ratios): $(ratio_of equal "$k")"
	done
	echo
	echo "targets (shared/BENCH.md), reported, never enforced:"
	r=$(ratio_of max gets_per_s "$LAT_CONNS" 1)
	echo "  gets/s at $LAT_CONNS x 1, mc-shim / mc-linux >= 1.5: $r ($(verdict "$r" ">=" 1.5))"
	for d in $DEPTHS; do
		[ "$d" = 1 ] && continue
		r=$(ratio_of max gets_per_s "$LAT_CONNS" "$d")
		echo "  gets/s at $LAT_CONNS x $d, mc-shim / mc-linux >= 1.5: $r ($(verdict "$r" ">=" 1.5))"
	done
	r=$(value equal mc-shim "" "" p99_us)
	echo "  mc-shim p99 at equal load <= 500 us: ${r:--} ($(verdict "${r:--}" "<=" 500))"
	drop_summary "$csv" "$C_KEPT" "$C_DROP"
	echo "csv: $csv"
}
echo
report | tee "$out/kv.txt"

dat=$tmp_dir/kv.dat
{
	echo "# config, gets/s linux shim, server CPU us/request linux shim"
	for c in $CONNS; do
		for d in $DEPTHS; do
			printf '%s %s %s %s %s\n' "${c}x$d" "$(value max mc-linux "$c" "$d" gets_per_s)" \
				"$(value max mc-shim "$c" "$d" gets_per_s)" \
				"$(value max mc-linux "$c" "$d" srv_us_per_req)" \
				"$(value max mc-shim "$c" "$d" srv_us_per_req)"
		done
	done
} >"$dat"
plot_pair kv 1100,480 "below" "kv: memcached, 90 % get / 10 % set, 32 B keys and values, \
conns x in flight, closed loop\ncommit $commit, $date, $pinning" "$dat" \
	'set yrange [0:*]; set ylabel "gets/s"; set title "gets/s (higher is better)"' \
	'set yrange [0:*]; set ylabel "server CPU us / request"
set title "server CPU per request (lower is better)"' \
	"memcached on the kernel" "memcached under the shim (ixdp)"
echo "plot: $out/kv.png (copied to docs/img/)"
