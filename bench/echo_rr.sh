#!/bin/bash
# echo_rr.sh - the echo-rr benchmark: an echo server on ixdp against the Linux twin, side by side.
#
#   BUILD=build bench/echo_rr.sh        (as root, after make)
#
#   IXSYS=ixapp (default): the ixdp side is the native libix app ix-rr (server mode) on ixdpd,
#     both on SRV_CPU; its CPU counts as the server's (rr_client -A).  Output echo_rr_app.*.
#   IXSYS=ixev: the same with ix-echo, the ixev echo server.  Output echo_rr_ixev.*.
#   IXSYS=ixdp: the ixdp side is ixdpd's built-in --echo-tcp.  Output echo_rr.*.  With ixapp,
#     the cost of the app channel.
#
#   env: CONNS="1 64 1024 10000" DEPTHS="1 8" RUNS=3 DURATION=5 WARMUP=1 SIZE=64 SRV_CPU=0 CLI_CPU=1
#        NQ=1 PORT=7000 RETRIES=2 CONTENDED_PCT=10 QUIET_WAIT=0
#        LAT_CONNS=64 LAT_FRACTION=0.5 LAT_RUNS=3 SWEEP="0.1 0.25 0.5 0.75 1 1.25 1.5 2" SWEEP_DURATION=3
#        CLIENT_SPIN=1 PROFILE=0 PROFILE_CONNS="64 10000" IXDPD_ARGS= LINUX_ARGS=
#        (LINUX_ARGS=-S: the twin busy-polls)
#        REPORT_ONLY=1: no runs, the table and plots again from the last $BUILD/bench/echo_rr.csv
#
# Two services answer 64-byte requests on 198.18.0.1:PORT in the DUT namespace, one at a time,
# with the same pinning: ixdpd --echo-tcp (one worker) and bench/echo_server (the Linux kernel's
# TCP behind one epoll thread).  The same client (bench/rr_client, kernel TCP in the peer
# namespace) drives both.  Three parts:
#
#  1. saturation: for every C in CONNS and D in DEPTHS, C connections each keep D requests in
#     flight (closed loop) for DURATION s after WARMUP s.  The client busy-polls (CLIENT_SPIN=1,
#     rr_client -S): a client that sleeps pays a ~40 us cross-CPU wakeup per answer on this VM
#     and saturates its CPU first, measuring itself rather than the server (at 1 x 1 a
#     sleeping client measured Linux 17 k and ixdp 46 k requests/s, a spinning one 42 k and
#     143 k; at 64 x 1, 156 k / 205 k against 172 k / 244 k).  RUNS passes over the whole
#     matrix; a configuration's figure is the median over the passes and its ratio the median
#     of the per-pass ratios (this VM changes speed by 20-30 % between runs, both systems at
#     once: see "Noise" in docs/benchmarks.md).  Reported: requests/s, p50/p99/p99.9, server
#     CPU per request (scheduler runtime of every thread of the server process: echo_server,
#     or ixdpd with its workers and control thread), whole-VM CPU per request (/proc/stat).
#     Linux first, then ixdp, back to back, so a ratio compares runs seconds apart.
#  2. equal load: LAT_CONNS connections, open loop at LAT_FRACTION of the Linux maximum that
#     part 1 measured at LAT_CONNS x 1: p50/p99/p99.9 of both at a load both sustain
#     (shared/BENCH.md: latency is compared there, not at saturation).  LAT_RUNS pairs, Linux
#     then ixdp; the ratios are the medians of the per-pair ratios (tails move by 2x from one
#     run to the next here, see docs/benchmarks.md).
#  3. sweep: the same open loop at SWEEP fractions of that maximum, for a latency-throughput
#     curve of both (SWEEP_DURATION s each; SWEEP= skips it).
#
# Pinning: the server on SRV_CPU (0), the client on CLI_CPU (1).  On veth the receiving side's
# stack work is billed to the sending CPU (shared/notes/afxdp-veth.md §4 and gotcha 9): the
# client's TCP receive runs inside the server's send on SRV_CPU, and the server's receive
# (Linux: its TCP input; ixdp: dut0's XDP program and the copy into the umem) runs inside the
# client's send on CLI_CPU.  So "server CPU" holds some client work, and the reverse; the
# whole-VM figure is the honest total at saturation.
#
# One veth queue (NQ=1): a single worker serves every queue anyway, the client is one thread,
# and the Linux path does not use queues (veth without XDP hands packets to the sending CPU's
# backlog).  More queues only add sockets for the one worker to poll (NQ=2 was tried: the same
# drops at 10,000 connections, see docs/benchmarks.md).
#
# Contention: each run records the whole-VM busy time that was neither the server's, the
# client's nor ksoftirqd's (other_cpu_pct); a run where that exceeds CONTENDED_PCT % of one CPU
# is repeated, at most RETRIES times, and marked * if it stays contended.
#
# PROFILE=1 adds unmeasured runs of each system under perf record -e cpu-clock (the server
# process only): PROFILE_CONNS x 1 (default "LAT_CONNS 10000"), summarised in
# $BUILD/bench/echo_rr-profile-{$IXSYS,linux}[-CONNS].txt, and equal load, in
# echo_rr-profile-{$IXSYS,linux}-equal.txt.
#
# Output: the table on stdout and in $BUILD/bench/echo_rr.txt, every run in
# $BUILD/bench/echo_rr.csv, plots $BUILD/bench/echo_rr.png (requests/s and server CPU per
# request per configuration) and echo_rr_latency.png (the sweep), both copied to docs/img/.
# A benchmark reports; it never fails on a number.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_root

rr_settings
CONNS=${CONNS:-"1 64 1024 10000"}
DEPTHS=${DEPTHS:-"1 8"}
SIZE=${SIZE:-64}
LAT_CONNS=${LAT_CONNS:-64}
PROFILE_CONNS=${PROFILE_CONNS:-"$LAT_CONNS 10000"}
LAT_FRACTION=${LAT_FRACTION:-0.5}
LAT_RUNS=${LAT_RUNS:-3}
SWEEP=${SWEEP-"0.1 0.25 0.5 0.75 1 1.25 1.5 2"}
SWEEP_DURATION=${SWEEP_DURATION:-3}
QMAX=64	# open loop: most requests in flight per connection before one counts as overflow
CLIENT_SPIN=${CLIENT_SPIN:-1}
REPORT_ONLY=${REPORT_ONLY:-0}
IXSYS=${IXSYS:-ixapp}
case $IXSYS in
ixapp) ixlabel="ixdp, native app (ix-rr)" name=echo_rr_app APP=native ;;
ixev) ixlabel="ixdp, ixev app (ix-echo)" name=echo_rr_ixev APP=ixev IXSYS=ixapp ;;
ixdp) ixlabel="ixdp, built-in echo" name=echo_rr ;;
*) fail "IXSYS is ixapp, ixev or ixdp" ;;
esac
export APP
need_numbers SIZE LAT_CONNS LAT_RUNS SWEEP_DURATION CLIENT_SPIN
for v in $CONNS $DEPTHS; do
	if ! [[ $v =~ ^[0-9]+$ ]] || [ "$v" -lt 1 ]; then
		fail "CONNS and DEPTHS are lists of numbers >= 1"
	fi
done
for v in $LAT_FRACTION $SWEEP; do
	[[ $v =~ ^[0-9]*\.?[0-9]+$ ]] || fail "LAT_FRACTION and SWEEP are fractions (got '$v')"
done
[ "$SIZE" -ge 1 ] || fail "SIZE must be >= 1"

bench_init "$name"
spin=
[ "$CLIENT_SPIN" = 1 ] && spin=-S
pinning=$(rr_pinning "${spin:+client busy-polls}")
cc=$(sysctl -n net.ipv4.tcp_congestion_control 2>/dev/null)

columns=(date commit phase system conns depth size offered_rps rps p50_us p99_us p999_us
	mean_us max_us errors srv_cpu_pct cli_cpu_pct vm_cpu_pct other_cpu_pct srv_us_per_req
	vm_us_per_req srv_cpu_idle_pct softirqd_pct contended sent_rps overflow lag_p99_us
	connect_ms peer_tx_dropped dut_rxq_drops cli_retrans cli_timeouts srv_retrans srv_sleeps
	srv_mean_batch srv_conns_left client_failed window_s lag_max_us run)
if [ "$REPORT_ONLY" = 1 ]; then
	[ -s "$csv" ] || fail "REPORT_ONLY=1: no $csv to report"
	[ "$(head -1 "$csv")" = "$(IFS=,; echo "${columns[*]}")" ] ||
		fail "REPORT_ONLY=1: $csv has other columns (an older version of this script?)"
	commit=$(awk -F, 'NR == 2 { print $2 }' "$csv")
	date=$(awk -F, 'NR == 2 { print $1 }' "$csv")
else
	(IFS=,; echo "${columns[*]}") >"$csv"
fi

# record PHASE FILE [RUN]: one CSV row from a run's key=value file.
record() {
	local f=$2 k run=${3:-1}
	declare -A v
	for k in system conns depth size rps p50_us p99_us p999_us lat_mean_us lat_max_us errors \
		srv_cpu_ns cli_cpu_ns vm_busy_ns other_cpu_pct requests window_ns srv_cpu_idle_ns \
		softirqd_ns contended offered_rps sent_rps overflow lag_p99_us connect_ms \
		peer_tx_dropped dut_rxq_drops cli_retrans cli_timeouts srv_retrans srv_sleeps \
		srv_mean_batch srv_conns_left client_failed lag_max_us; do
		v[$k]=$(kv "$k" "$f")
		[ -n "${v[$k]}" ] || v[$k]=0
	done
	[ "${v[system]}" = 0 ] && v[system]=unknown
	[ "${v[srv_retrans]}" = 0 ] && [ "${v[system]}" = linux ] && v[srv_retrans]=
	[ "${v[srv_sleeps]}" = 0 ] && [ "${v[system]}" = linux ] && v[srv_sleeps]=
	[ "${v[srv_mean_batch]}" = 0 ] && [ "${v[system]}" = linux ] && v[srv_mean_batch]=
	awk -v date="$date" -v commit="$commit" -v phase="$1" -v sys="${v[system]}" \
		-v c="${v[conns]}" -v d="${v[depth]}" -v sz="${v[size]}" -v off="${v[offered_rps]}" \
		-v rps="${v[rps]}" -v p50="${v[p50_us]}" -v p99="${v[p99_us]}" \
		-v p999="${v[p999_us]}" -v mean="${v[lat_mean_us]}" -v mx="${v[lat_max_us]}" \
		-v err="${v[errors]}" -v s="${v[srv_cpu_ns]}" -v cl="${v[cli_cpu_ns]}" \
		-v vm="${v[vm_busy_ns]}" -v oth="${v[other_cpu_pct]}" -v n="${v[requests]}" \
		-v w="${v[window_ns]}" -v idle="${v[srv_cpu_idle_ns]}" -v sq="${v[softirqd_ns]}" \
		-v cont="${v[contended]}" -v sent="${v[sent_rps]}" -v ovf="${v[overflow]}" \
		-v lag="${v[lag_p99_us]}" -v cms="${v[connect_ms]}" -v ptd="${v[peer_tx_dropped]}" \
		-v drq="${v[dut_rxq_drops]}" -v crt="${v[cli_retrans]}" -v cto="${v[cli_timeouts]}" \
		-v srt="${v[srv_retrans]}" -v ssl="${v[srv_sleeps]}" -v smb="${v[srv_mean_batch]}" \
		-v left="${v[srv_conns_left]}" -v cf="${v[client_failed]}" \
		-v lagmax="${v[lag_max_us]}" -v run="$run" 'BEGIN {
		r = n > 0 ? n : 1
		ww = w > 0 ? w : 1
		printf "%s,%s,%s,%s,%d,%d,%d,%.0f,%.0f,%.2f,%.2f,%.2f,%.2f,%.2f,%d,", date, commit,
			phase, sys, c, d, sz, off, rps, p50, p99, p999, mean, mx, err
		printf "%.1f,%.1f,%.1f,%.1f,%.3f,%.3f,%.1f,%.1f,%d,", 100 * s / ww, 100 * cl / ww,
			100 * vm / ww, oth, s / r / 1e3, vm / r / 1e3, 100 * idle / ww, 100 * sq / ww,
			cont
		printf "%.0f,%d,%.2f,%.0f,%d,%d,%d,%d,%s,%s,%s,%s,%d,%.3f,%.1f,%d\n", sent, ovf, lag,
			cms, ptd, drq, crt, cto, srt, ssl, smb, left, cf, w / 1e9, lagmax, run
	}' >>"$csv"
}

# col NAME: the CSV column number of NAME.
col() {
	local i
	for i in "${!columns[@]}"; do
		[ "${columns[$i]}" = "$1" ] && { echo $((i + 1)); return; }
	done
	fail "no column $1"
}

# value PHASE SYSTEM CONNS DEPTH COLUMN: the median over that configuration's runs, or empty.
value() {
	awk -F, -v p="$1" -v s="$2" -v c="$3" -v d="$4" -v k="$(col "$5")" \
		'NR > 1 && $3 == p && $4 == s && $5 == c && $6 == d { print $k }' "$csv" | median ''
}

if [ "$REPORT_ONLY" != 1 ]; then
rr_up
echo "echo-rr: $SIZE-byte requests, ${DURATION} s per run after ${WARMUP} s of warm-up"
echo "commit $commit, kernel $kernel, $pinning, congestion control $cc, $date"

# --- 1. saturation ---------------------------------------------------------------------------
for run in $(seq "$RUNS"); do
	for c in $CONNS; do
		for d in $DEPTHS; do
			for sys in linux "$IXSYS"; do
				echo "saturation, pass $run: $sys, $c connections x $d in flight"
				f=$tmp_dir/max.$sys.$c.$d.$run
				measure_retry "$sys" echo "$f" -c "$c" -D "$d" -s "$SIZE" $spin
				record max "$f" "$run"
			done
		done
	done
done

# --- 2. equal load, 3. sweep -------------------------------------------------------------------
lin_max=$(value max linux "$LAT_CONNS" 1 rps)
if [ -z "$lin_max" ] || [ "${lin_max%.*}" -le 0 ]; then
	echo "equal load: measuring the Linux maximum at $LAT_CONNS x 1 first"
	f=$tmp_dir/max.linux.$LAT_CONNS.1
	measure_retry linux echo "$f" -c "$LAT_CONNS" -D 1 -s "$SIZE" $spin
	record max "$f"
	lin_max=$(value max linux "$LAT_CONNS" 1 rps)
fi
lat_rate=$(awk -v m="$lin_max" -v f="$LAT_FRACTION" 'BEGIN { printf "%.0f", m * f }')
if [ "$lat_rate" -gt 0 ]; then
	for run in $(seq "$LAT_RUNS"); do
		for sys in linux "$IXSYS"; do
			echo "equal load, run $run: $sys, $LAT_CONNS connections, open loop at" \
				"$lat_rate requests/s"
			f=$tmp_dir/equal.$sys.$run
			measure_retry "$sys" echo "$f" -c "$LAT_CONNS" -R "$lat_rate" -Q "$QMAX" \
				-s "$SIZE"
			record equal "$f" "$run"
		done
	done
	sweep_dur=$SWEEP_DURATION
	for frac in $SWEEP; do
		rate=$(awk -v m="$lin_max" -v f="$frac" 'BEGIN { printf "%.0f", m * f }')
		[ "$rate" -ge 1 ] || continue
		for sys in linux "$IXSYS"; do
			echo "sweep: $sys, open loop at $rate requests/s ($frac x the Linux maximum)"
			f=$tmp_dir/sweep.$sys.$frac
			DURATION=$sweep_dur measure_retry "$sys" echo "$f" -c "$LAT_CONNS" -R "$rate" \
				-Q "$QMAX" -s "$SIZE"
			record sweep "$f"
		done
	done
else
	echo "equal load: no Linux maximum at $LAT_CONNS x 1, skipped"
fi

# --- profile -----------------------------------------------------------------------------------

# profile SYS CONNS: one unmeasured CONNS x 1 run of SYS under perf (see rr_profile); the
# LAT_CONNS one keeps the plain file name.
profile() {
	local name=echo_rr-profile-$1
	[ "$2" = "$LAT_CONNS" ] || name=$name-$2
	rr_profile "$out/$name.txt" "$1" echo "$1, $2 x 1" 'rps|p99_us' -c "$2" -D 1 -s "$SIZE" \
		$spin
}
# profile_equal SYS: the same at equal load (LAT_CONNS, open loop at lat_rate).
profile_equal() {
	rr_profile "$out/echo_rr-profile-$1-equal.txt" "$1" echo \
		"$1, $LAT_CONNS connections at $lat_rate requests/s" 'rps|p99_us' -c "$LAT_CONNS" \
		-R "$lat_rate" -Q "$QMAX" -s "$SIZE"
}
if [ "$PROFILE" = 1 ]; then
	for c in $PROFILE_CONNS; do
		profile "$IXSYS" "$c"
		profile linux "$c"
	done
	if [ "$lat_rate" -gt 0 ]; then
		profile_equal "$IXSYS"
		profile_equal linux
	fi
fi
fi # REPORT_ONLY
lat_rate=$(awk -F, 'NR > 1 && $3 == "equal" { print $8; exit }' "$csv")
lat_rate=${lat_rate:-0}

# --- report ------------------------------------------------------------------------------------

# pair_median PHASE COLUMN [CONNS DEPTH]: median over runs of ixdp/linux of COLUMN ("-" if no
# pair); the two halves of a pair ran back to back.
pair_median() {
	awk -F, -v p="$1" -v k="$2" -v c="${3:-}" -v d="${4:-}" 'NR > 1 && $3 == p &&
		(c == "" || ($5 == c && $6 == d)) { r = $40;
		if ($4 == "linux") l[r] = $k; else x[r] = $k }
		END { for (r in l) if ((r in x) && l[r] > 0) print x[r] / l[r] }' "$csv" | median - %.2f
}

# verdict RATIO OP LIMIT: met, missed, or not measured.
verdict() {
	awk -v r="$1" -v op="$2" -v l="$3" 'BEGIN { if (r == "-") print "not measured";
		else if ((op == ">=" && r + 0 >= l) || (op == "<=" && r + 0 <= l)) print "met";
		else print "missed" }'
}

# ratio A B: A / B to two places ("-" when either is missing or B is 0).
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-";
		else printf "%.2f", a / b }'
}

report() {
	local c d sys r_rps r_cpu r_p99 own64 own10k k
	local -A pr ratios
	echo "echo-rr: $SIZE-byte requests, ${DURATION} s per run after ${WARMUP} s of warm-up"
	echo "commit $commit, kernel $kernel, 2 vCPUs, $pinning, congestion control $cc, $date"
	echo
	echo "saturation (closed loop), $RUNS passes: server CPU = scheduler runtime of the server"
	echo "process per request; VM CPU = whole-VM busy time per request (both CPUs, tick-sampled)"
	printf '%-10s %-6s %4s %10s %9s %9s %9s %8s %8s %5s %5s %5s %6s %s\n' "conns x D" \
		system pass "req/s" "p50 us" "p99 us" "p99.9 us" "srv us" "VM us" "srv%" "cli%" \
		"oth%" errors "drops: peer-tx/xsk-rx, cli retrans/RTO, srv retrans, conns left"
	for c in $CONNS; do
		for d in $DEPTHS; do
			awk -F, -v c="$c" -v d="$d" 'NR > 1 && $3 == "max" && $5 == c && $6 == d {
				printf "%-10s %-6s %4d %10.0f %9.0f %9.0f %9.0f %8.2f %8.2f %5.0f %5.0f %4.0f%s %6d %d/%d, %d/%d, %s, %d%s\n",
					c " x " d, $4, $40, $9, $10, $11, $12, $20, $21, $16, $17, $19,
					($24 ? "*" : " "), $15, $29, $30, $31, $32, ($33 == "" ? "-" : $33),
					$36, ($37 ? " CLIENT FAILED" : "") }' "$csv"
			for sys in linux "$IXSYS"; do
				printf '%-10s %-6s %4s %10.0f %9.0f %9.0f %9.0f %8.2f %8.2f\n' "$c x $d" \
					"$sys" med "$(value max "$sys" "$c" "$d" rps)" \
					"$(value max "$sys" "$c" "$d" p50_us)" \
					"$(value max "$sys" "$c" "$d" p99_us)" \
					"$(value max "$sys" "$c" "$d" p999_us)" \
					"$(value max "$sys" "$c" "$d" srv_us_per_req)" \
					"$(value max "$sys" "$c" "$d" vm_us_per_req)"
			done
			r_rps=$(pair_median max "$(col rps)" "$c" "$d")
			r_cpu=$(pair_median max "$(col srv_us_per_req)" "$c" "$d")
			r_p99=$(pair_median max "$(col p99_us)" "$c" "$d")
			ratios[$c.$d]=$r_rps
			echo "  $c x $d: $IXSYS/linux, median of the per-pass ratios: req/s $r_rps," \
				"server CPU/req $r_cpu, p99 at saturation $r_p99"
		done
	done
	echo "(* contended: other work took over $CONTENDED_PCT % of a CPU in all $((RETRIES + 1)) tries)"
	echo
	echo "equal load: $LAT_CONNS connections, open loop (Poisson) at $LAT_FRACTION x the Linux" \
		"maximum at $LAT_CONNS x 1 = $lat_rate requests/s," \
		"$(awk -F, -v ix="$IXSYS" 'NR > 1 && $3 == "equal" && $4 == ix' "$csv" | wc -l) runs each"
	printf '%-6s %4s %10s %10s %9s %9s %9s %9s %9s %9s %6s\n' system run offered achieved \
		"p50 us" "p99 us" "p99.9 us" "max us" "lag p99" "lag max" errors
	awk -F, 'NR > 1 && $3 == "equal" {
		printf "%-6s %4d %10.0f %10.0f %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %6d%s\n",
			$4, $40, $8, $9, $10, $11, $12, $14, $27, $39, $15, ($24 ? " *" : "") }' "$csv"
	for k in 10 11 12; do
		pr[$k]=$(pair_median equal "$k")
	done
	r_p99=${pr[11]}
	echo "ratio $IXSYS/linux at equal load (median of the per-run ratios): p50 ${pr[10]}," \
		"p99 ${pr[11]}, p99.9 ${pr[12]}"
	echo "(lag: how late the client wrote a request after it was due; a lag max of milliseconds"
	echo " is the client stalled, and every request due meanwhile is charged that wait)"
	if [ -n "$SWEEP" ]; then
		echo
		echo "sweep: $LAT_CONNS connections, open loop, ${SWEEP_DURATION} s per point"
		printf '%-6s %10s %10s %9s %9s %9s %9s %9s %8s\n' system offered achieved "p50 us" \
			"p99 us" "p99.9 us" "lag p99" "lag max" overflow
		awk -F, 'NR > 1 && $3 == "sweep" { printf "%-6s %10.0f %10.0f %9.1f %9.1f %9.1f %9.1f %9.1f %8d%s%s\n",
			$4, $8, $9, $10, $11, $12, $27, $39, $26, ($26 > 0 ? " saturated" : ""),
			($24 ? " *" : "") }' "$csv"
		echo "(saturated: requests came due on connections that already had $QMAX in flight and"
		echo " were not sent (overflow): the offered rate is above what that system sustains)"
	fi
	echo
	echo "targets (shared/BENCH.md), reported, never enforced:"
	r_rps=${ratios[$LAT_CONNS.1]:--}
	echo "  $LAT_CONNS x 1 requests/s $IXSYS/linux >= 2: $r_rps ($(verdict "$r_rps" ">=" 2))"
	echo "  p99 at equal load $IXSYS/linux <= 0.5: $r_p99 ($(verdict "$r_p99" "<=" 0.5))"
	for d in $DEPTHS; do
		own64=$(value max "$IXSYS" 64 "$d" rps)
		own10k=$(value max "$IXSYS" 10000 "$d" rps)
		r_rps=$(ratio "$own10k" "$own64")
		echo "  $IXSYS 10000 x $d / $IXSYS 64 x $d >= 0.8 (medians): $r_rps" \
			"($(verdict "$r_rps" ">=" 0.8)); Linux's own: $(ratio \
			"$(value max linux 10000 "$d" rps)" "$(value max linux 64 "$d" rps)")"
	done
	echo "csv: $csv"
}
echo
report | tee "$out/$name.txt"

# --- plots -------------------------------------------------------------------------------------
dat=$tmp_dir/max.dat
{
	echo "# label linux $IXSYS linux_us ${IXSYS}_us"
	for c in $CONNS; do
		for d in $DEPTHS; do
			echo "${c}x$d $(value max linux "$c" "$d" rps) $(value max "$IXSYS" "$c" "$d" rps)" \
				"$(value max linux "$c" "$d" srv_us_per_req)" \
				"$(value max "$IXSYS" "$c" "$d" srv_us_per_req)"
		done
	done
} >"$dat"
plot_pair "$name" 1100,480 "top right" "echo-rr: $SIZE-byte requests, conns x in flight, \
closed loop; veth, 2 vCPUs\ncommit $commit, $date, $pinning" "$dat" "Linux (epoll)" "$ixlabel" \
	'set logscale y; set xtics rotate by -30; set ylabel "requests/s (log)"
set title "throughput (higher is better)"' \
	'unset logscale y; set yrange [0:*]; set ylabel "server process CPU us / request"
set title "server CPU per request (lower is better)"'
if [ -n "$SWEEP" ]; then
	for sys in linux "$IXSYS"; do
		awk -F, -v s="$sys" 'NR > 1 && $3 == "sweep" && $4 == s && $9 > 0 {
			print $8, $10, $11, $12, ($26 > 0 ? $11 : "NaN") }' "$csv" |
			sort -g >"$tmp_dir/sweep.$sys.dat"
	done
	gnuplot <<EOF || fail "gnuplot"
set terminal pngcairo noenhanced size 900,520 font ",10"
set output "$out/${name}_latency.png"
set title "echo-rr latency vs throughput: $LAT_CONNS connections, open loop (Poisson), $SIZE B\n\
commit $commit, $date, $pinning"
set xlabel "offered requests/s (open loop); crossed: saturated, some requests could not be sent"
set ylabel "latency, us (log)"
set logscale y
set grid
set key top left
set xrange [0:*]
plot "$tmp_dir/sweep.linux.dat" using 1:3 with linespoints lw 2 pt 7 lc rgb "#808080" title "Linux p99", \
	"" using 1:2 with linespoints dt 2 pt 6 lc rgb "#808080" title "Linux p50", \
	"$tmp_dir/sweep.$IXSYS.dat" using 1:3 with linespoints lw 2 pt 7 lc rgb "#2060c0" title "$ixlabel p99", \
	"" using 1:2 with linespoints dt 2 pt 6 lc rgb "#2060c0" title "$ixlabel p50", \
	"$tmp_dir/sweep.linux.dat" using 1:5 with points pt 2 ps 2.5 lc rgb "#808080" notitle, \
	"$tmp_dir/sweep.$IXSYS.dat" using 1:5 with points pt 2 ps 2.5 lc rgb "#2060c0" notitle
EOF
	cp "$out/${name}_latency.png" "docs/img/${name}_latency.png" ||
		fail "copy the plot to docs/img"
fi
echo "plots: $out/$name.png, $out/${name}_latency.png (copied to docs/img/)"
