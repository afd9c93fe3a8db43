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
#   IXSYS=shim: the ixdp side is the Linux twin's own bench/echo_server, unmodified, under the
#     shim (ixdp-run), against itself on the kernel ("linux", sleeping in epoll_wait as it does
#     under the shim; LINUX_SPIN defaults to 0 here) and against the native ix-rr ("ixapp", run
#     in the same passes: ALSO=ixapp), both on SRV_CPU.  Output echo_rr_shim.*.
#   WORKERS=2: the first thing a user tries on this 2-vCPU machine: a worker on each CPU (and an
#     app thread per worker), the Linux twin with 2 threads, neither the twin's threads nor the
#     client pinned, 2 veth queues.  Output *_w2.*.
#
#   env: CONNS="1 64 1024 10000" DEPTHS="1 8" RUNS=3 DURATION=5 WARMUP=1 SIZE=64 SRV_CPU=0 CLI_CPU=1
#        WORKERS=1 NQ=WORKERS PORT=7000 RETRIES=2 CONTENDED_PCT=10 QUIET_WAIT=0 LINUX_SPIN=1
#        LAT_CONNS=64 LAT_FRACTION=0.5 LAT_RUNS=3 CPU_RUNS=LAT_RUNS
#        SWEEP="0.1 0.25 0.5 0.75 1 1.25 1.5 2" SWEEP_DURATION=3
#        CLIENT_SPIN=1 PROFILE=0 PROFILE_CONNS="64 10000" IXDPD_ARGS= LINUX_ARGS=
#        REPORT_ONLY=1: no runs, the table and plots again from the last CSV
#
# The services answer 64-byte requests on 198.18.0.1:PORT in the DUT namespace, one at a time,
# with the same pinning: ixdp (see IXSYS) and its Linux twin, bench/echo_server (the kernel's TCP
# behind epoll threads), in two configurations (shared/BENCH.md: the twin at its best beside its
# default): "linux" sleeps in epoll_wait as an ordinary server does, "linux-spin" busy-polls
# (epoll_wait(..., 0)), as ixdp's workers spin (LINUX_SPIN=0 leaves it out).  The same client
# (bench/rr_client, kernel TCP in the peer namespace) drives all of them.  Four parts:
#
#  1. saturation: for every C in CONNS and D in DEPTHS, C connections each keep D requests in
#     flight (closed loop) for DURATION s after WARMUP s.  The client busy-polls (CLIENT_SPIN=1,
#     rr_client -S): a client that sleeps pays a ~40 us cross-CPU wakeup per answer on this VM
#     and saturates its CPU first, measuring itself rather than the server.  RUNS passes over
#     the whole matrix; a configuration's figure is the median over the passes and a ratio the
#     median of the per-pass ratios (this VM changes speed by 20-30 % between runs, every system
#     at once: see "Noise" in docs/benchmarks.md).  Reported: requests/s, p50/p99/p99.9, server
#     CPU per request (scheduler runtime of every thread of the server process and its app),
#     whole-VM CPU per request (/proc/stat).  The systems of a pass run back to back, in an
#     order that alternates from pass to pass (bench/lib.sh pair_order).
#  2. equal load: LAT_CONNS connections, open loop at LAT_FRACTION of the Linux maximum that
#     part 1 measured at LAT_CONNS x 1: p50/p99/p99.9 of every system at a load all sustain
#     (shared/BENCH.md: latency is compared there, not at saturation).  LAT_RUNS rounds.
#  3. CPU per request without idle polling: the same offered load, CPU_RUNS rounds of "linux"
#     (sleeping: its CPU is its work and its wakeups) and of ixdp with its idle spinning off
#     (ixdpd --idle-spin-us 0, the app with IXDP_SPIN_US=0).  A spinning server's runtime is a
#     whole CPU whatever it serves, so at saturation runtime over rate is only the throughput
#     ratio again; here it is what a request costs.  (linux-spin is left out: its idle polling
#     cannot be taken out.)
#  4. sweep: the open loop at SWEEP fractions of that maximum, for a latency-throughput curve of
#     every system (SWEEP_DURATION s each; SWEEP= skips it).
#
# Pinning: the server on SRV_CPU (0), the client on CLI_CPU (1) (with WORKERS > 1, see above).
# On veth the receiving side's stack work is billed to the sending CPU (shared/notes/
# afxdp-veth.md §4 and gotcha 9): the client's TCP receive runs inside the server's send on
# SRV_CPU, and the server's receive (Linux: its TCP input; ixdp: dut0's XDP program and the
# copy into the umem) inside the client's send on CLI_CPU.  So "server CPU" holds some client
# work, and the reverse; the whole-VM figure is the honest total at saturation, and PROFILE=1
# profiles both CPUs.
#
# One veth queue per worker: a worker serves its queues, the client is one thread, and the
# Linux path does not use queues (veth without XDP hands packets to the sending CPU's backlog).
#
# The drop rule (bench/lib.sh, the same in every benchmark): a run that failed (client error,
# wrong answer) or was contended (other work took more than CONTENDED_PCT % of a CPU) is
# repeated, RETRIES times at most; a run never kept is dropped, stays in the CSV marked, and
# counts in no median and no ratio.  The report says how many were dropped, and why.
#
# PROFILE=1 adds unmeasured runs of each system under perf record -a (both CPUs):
# PROFILE_CONNS x 1 (default "LAT_CONNS 10000") and equal load, summarised in
# $BUILD/bench/NAME-profile-SYSTEM[-CONNS|-equal].txt.
#
# Output: the table on stdout and in $BUILD/bench/NAME.txt, every try in $BUILD/bench/NAME.csv,
# plots $BUILD/bench/NAME.png (requests/s and server CPU per request per configuration) and
# NAME_latency.png (the sweep), both copied to docs/img/.
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
CPU_RUNS=${CPU_RUNS:-$LAT_RUNS}
SWEEP=${SWEEP-"0.1 0.25 0.5 0.75 1 1.25 1.5 2"}
SWEEP_DURATION=${SWEEP_DURATION:-3}
QMAX=64	# open loop: most requests in flight per connection before one counts as overflow
CLIENT_SPIN=${CLIENT_SPIN:-1}
REPORT_ONLY=${REPORT_ONLY:-0}
IXSYS=${IXSYS:-ixapp}
ALSO=
case $IXSYS in
ixapp) ixlabel="ixdp, native app (ix-rr)" name=echo_rr_app APP=native ;;
ixev) ixlabel="ixdp, ixev app (ix-echo)" name=echo_rr_ixev APP=ixev IXSYS=ixapp ;;
ixdp) ixlabel="ixdp, built-in echo" name=echo_rr ;;
shim) ixlabel="ixdp, echo_server under the shim" name=echo_rr_shim IXSYS=ixshim ALSO=ixapp
	APP=native LINUX_SPIN=${LINUX_SPIN:-0} ;;
*) fail "IXSYS is ixapp, ixev, ixdp or shim" ;;
esac
LINUX_SPIN=${LINUX_SPIN:-1}
[ "$WORKERS" = 1 ] || name=${name}_w$WORKERS
export APP
need_numbers SIZE LAT_CONNS LAT_RUNS CPU_RUNS SWEEP_DURATION CLIENT_SPIN LINUX_SPIN
for v in $CONNS $DEPTHS; do
	if ! [[ $v =~ ^[0-9]+$ ]] || [ "$v" -lt 1 ]; then
		fail "CONNS and DEPTHS are lists of numbers >= 1"
	fi
done
for v in $LAT_FRACTION $SWEEP; do
	[[ $v =~ ^[0-9]*\.?[0-9]+$ ]] || fail "LAT_FRACTION and SWEEP are fractions (got '$v')"
done
[ "$SIZE" -ge 1 ] || fail "SIZE must be >= 1"
# The systems, in the order of odd passes (even ones reverse it), and the Linux twin's.
twins=linux
[ "$LINUX_SPIN" = 1 ] && twins="linux linux-spin"
systems="$twins $IXSYS${ALSO:+ $ALSO}"

bench_init "$name"
spin=
[ "$CLIENT_SPIN" = 1 ] && spin=-S
pinning=$(rr_pinning "${spin:+client busy-polls}")
cc=$(sysctl -n net.ipv4.tcp_congestion_control 2>/dev/null)

columns=(date commit phase system conns depth size offered_rps rps p50_us p99_us p999_us
	mean_us max_us errors srv_cpu_pct cli_cpu_pct vm_cpu_pct other_cpu_pct srv_us_per_req
	vm_us_per_req srv_cpu_idle_pct softirqd_pct contended sent_rps overflow lag_p99_us
	connect_ms peer_tx_dropped dut_rxq_drops cli_retrans cli_timeouts srv_retrans srv_sleeps
	srv_mean_batch srv_conns_left client_failed window_s lag_max_us run kept drop try)
csv_open "${columns[@]}"

# record PHASE RUN FILE: one CSV row from a try's key=value file.
record() {
	local f=$3 k run=$2
	declare -A v
	for k in system conns depth size rps p50_us p99_us p999_us lat_mean_us lat_max_us errors \
		srv_cpu_ns cli_cpu_ns vm_busy_ns other_cpu_pct requests window_ns srv_cpu_idle_ns \
		softirqd_ns contended offered_rps sent_rps overflow lag_p99_us connect_ms \
		peer_tx_dropped dut_rxq_drops cli_retrans cli_timeouts srv_retrans srv_sleeps \
		srv_mean_batch srv_conns_left client_failed lag_max_us kept try; do
		v[$k]=$(kv "$k" "$f")
		[ -n "${v[$k]}" ] || v[$k]=0
	done
	[ "${v[system]}" = 0 ] && v[system]=unknown
	if [[ ${v[system]} = linux* ]]; then
		v[srv_retrans]='' v[srv_sleeps]='' v[srv_mean_batch]=''
	fi
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
		-v lagmax="${v[lag_max_us]}" -v run="$run" -v kept="${v[kept]}" \
		-v drop="$(kv drop "$f")" -v try="${v[try]}" 'BEGIN {
		r = n > 0 ? n : 1
		ww = w > 0 ? w : 1
		printf "%s,%s,%s,%s,%d,%d,%d,%.0f,%.0f,%.2f,%.2f,%.2f,%.2f,%.2f,%d,", date, commit,
			phase, sys, c, d, sz, off, rps, p50, p99, p999, mean, mx, err
		printf "%.1f,%.1f,%.1f,%.1f,%.3f,%.3f,%.1f,%.1f,%d,", 100 * s / ww, 100 * cl / ww,
			100 * vm / ww, oth, s / r / 1e3, vm / r / 1e3, 100 * idle / ww, 100 * sq / ww,
			cont
		printf "%.0f,%d,%.2f,%.0f,%d,%d,%d,%d,%s,%s,%s,%s,%d,%.3f,%.1f,%d,%d,%s,%d\n", sent,
			ovf, lag, cms, ptd, drq, crt, cto, srt, ssl, smb, left, cf, w / 1e9, lagmax, run,
			kept, drop, try
	}' >>"$csv"
}

C_RUN=$(col run) C_KEPT=$(col kept) C_DROP=$(col drop)

# value PHASE SYSTEM CONNS DEPTH COLUMN: the median over that configuration's kept runs, or empty.
value() {
	awk -F, -v p="$1" -v s="$2" -v c="$3" -v d="$4" -v k="$(col "$5")" -v kc="$C_KEPT" \
		'NR > 1 && $3 == p && $4 == s && $5 == c && $6 == d && $kc == 1 { print $k }' "$csv" |
		median ''
}

if [ "$REPORT_ONLY" != 1 ]; then
rr_up
echo "echo-rr: $SIZE-byte requests, ${DURATION} s per run after ${WARMUP} s of warm-up"
echo "commit $commit, kernel $kernel, $pinning, congestion control $cc, $date"

# --- 1. saturation ---------------------------------------------------------------------------
for run in $(seq "$RUNS"); do
	for c in $CONNS; do
		for d in $DEPTHS; do
			for sys in $(pair_order "$run" $systems); do
				echo "saturation, pass $run: $sys, $c connections x $d in flight"
				f=$tmp_dir/max.$sys.$c.$d.$run
				keep_run "record max $run" "$f" measure "$sys" echo "$f" -c "$c" -D "$d" \
					-s "$SIZE" $spin
			done
		done
	done
done

# --- 2. equal load, 3. CPU per request, 4. sweep -----------------------------------------------
lin_max=$(value max linux "$LAT_CONNS" 1 rps)
if [ -z "$lin_max" ] || [ "${lin_max%.*}" -le 0 ]; then
	echo "equal load: measuring the Linux maximum at $LAT_CONNS x 1 first"
	f=$tmp_dir/max.linux.$LAT_CONNS.1
	keep_run "record max 1" "$f" measure linux echo "$f" -c "$LAT_CONNS" -D 1 -s "$SIZE" $spin
	lin_max=$(value max linux "$LAT_CONNS" 1 rps)
fi
lat_rate=$(awk -v m="${lin_max:-0}" -v f="$LAT_FRACTION" 'BEGIN { printf "%.0f", m * f }')
if [ "$lat_rate" -gt 0 ]; then
	for run in $(seq "$LAT_RUNS"); do
		for sys in $(pair_order "$run" $systems); do
			echo "equal load, run $run: $sys, $LAT_CONNS connections, open loop at" \
				"$lat_rate requests/s"
			f=$tmp_dir/equal.$sys.$run
			keep_run "record equal $run" "$f" measure "$sys" echo "$f" -c "$LAT_CONNS" \
				-R "$lat_rate" -Q "$QMAX" -s "$SIZE"
		done
	done
	for run in $(seq "$CPU_RUNS"); do
		for sys in $(pair_order "$run" linux "$IXSYS"); do
			echo "CPU per request, run $run: $sys without idle polling, open loop at" \
				"$lat_rate requests/s"
			f=$tmp_dir/cpu.$sys.$run
			IDLE_SPIN_OFF=1 keep_run "record cpu $run" "$f" measure "$sys" echo "$f" \
				-c "$LAT_CONNS" -R "$lat_rate" -Q "$QMAX" -s "$SIZE"
		done
	done
	sweep_dur=$SWEEP_DURATION
	for frac in $SWEEP; do
		rate=$(awk -v m="$lin_max" -v f="$frac" 'BEGIN { printf "%.0f", m * f }')
		[ "$rate" -ge 1 ] || continue
		for sys in $systems; do
			echo "sweep: $sys, open loop at $rate requests/s ($frac x the Linux maximum)"
			f=$tmp_dir/sweep.$sys.$frac
			DURATION=$sweep_dur keep_run "record sweep 1" "$f" measure "$sys" echo "$f" \
				-c "$LAT_CONNS" -R "$rate" -Q "$QMAX" -s "$SIZE"
		done
	done
else
	echo "equal load: no Linux maximum at $LAT_CONNS x 1, skipped"
fi

# --- profile -----------------------------------------------------------------------------------

# profile SYS CONNS: one unmeasured CONNS x 1 run of SYS under perf, both CPUs (rr_profile); the
# LAT_CONNS one keeps the plain file name.
profile() {
	local pname=$name-profile-$1
	[ "$2" = "$LAT_CONNS" ] || pname=$pname-$2
	rr_profile "$out/$pname.txt" "$1" echo "$1, $2 x 1" 'rps|p99_us' -c "$2" -D 1 -s "$SIZE" \
		$spin
}
# profile_equal SYS: the same at equal load (LAT_CONNS, open loop at lat_rate).
profile_equal() {
	rr_profile "$out/$name-profile-$1-equal.txt" "$1" echo \
		"$1, $LAT_CONNS connections at $lat_rate requests/s" 'rps|p99_us' -c "$LAT_CONNS" \
		-R "$lat_rate" -Q "$QMAX" -s "$SIZE"
}
if [ "$PROFILE" = 1 ]; then
	for c in $PROFILE_CONNS; do
		for sys in $systems; do
			profile "$sys" "$c"
		done
	done
	if [ "$lat_rate" -gt 0 ]; then
		for sys in $systems; do
			profile_equal "$sys"
		done
	fi
fi
fi # REPORT_ONLY
lat_rate=$(awk -F, 'NR > 1 && $3 == "equal" { print $8; exit }' "$csv")
lat_rate=${lat_rate:-0}
twins=$(awk -F, 'NR > 1 && $4 ~ /^linux/ { print $4 }' "$csv" | sort -u | xargs)
systems="$twins $IXSYS${ALSO:+ $ALSO}"

# --- report ------------------------------------------------------------------------------------

# ratio_of PHASE COLUMN BASE [CONNS DEPTH]: the median over runs of IXSYS / BASE in COLUMN, from
# the runs where both were kept ("-" if none).  BASE is a system, or best-max / best-min: in
# each run the better Linux twin (the higher value, or the lower).
ratio_of() {
	awk -F, -v p="$1" -v k="$2" -v base="$3" -v c="${4:-}" -v d="${5:-}" -v ix="$IXSYS" \
		-v rc="$C_RUN" -v kc="$C_KEPT" 'NR > 1 && $3 == p && $kc == 1 &&
		(c == "" || ($5 == c && $6 == d)) { r = $rc
		if ($4 == ix)
			x[r] = $k
		else if ($4 == base)
			b[r] = $k
		else if (base ~ /^best/ && $4 ~ /^linux/ && (!(r in b) ||
			 (base == "best-max" ? $k + 0 > b[r] + 0 : $k + 0 < b[r] + 0)))
			b[r] = $k }
		END { for (r in x) if ((r in b) && b[r] > 0) print x[r] / b[r] }' "$csv" | median - %.2f
}

# ratios PHASE COLUMN MODE [CONNS DEPTH]: "/linux A, /linux-spin B, /better C" (MODE max or min:
# what "better" is for COLUMN).
ratios() {
	local t line=
	for t in $twins; do
		line="$line/$t $(ratio_of "$1" "$2" "$t" "${@:4}"), "
	done
	if [ "$(wc -w <<<"$twins")" -gt 1 ]; then
		echo "${line}/better twin $(ratio_of "$1" "$2" "best-$3" "${@:4}")"
	else
		echo "${line%, }"
	fi
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

# rows PHASE FORMAT FIELDS: every try of PHASE as FORMAT over FIELDS (awk), "x" after the run
# number of a dropped one and why at the end.
rows() {
	awk -F, -v p="$1" -v kc="$C_KEPT" -v dc="$C_DROP" "NR > 1 && \$3 == p {
		printf \"$2\", $3; print (\$kc == 1 ? \"\" : \"  dropped: \" \$dc) }" "$csv"
}

report() {
	local c d sys r k own64 own10k
	echo "echo-rr: $SIZE-byte requests, ${DURATION} s per run after ${WARMUP} s of warm-up"
	echo "commit $commit, kernel $kernel, 2 vCPUs, $pinning, congestion control $cc, $date"
	echo "systems: $systems (linux sleeps in epoll_wait, linux-spin busy-polls it)"
	echo
	echo "1. saturation (closed loop), $RUNS passes: server CPU = scheduler runtime of the server"
	echo "process (and app) per request; VM CPU = whole-VM busy time per request (both CPUs)"
	printf '%-10s %-10s %4s %10s %9s %9s %9s %8s %8s %5s %5s %5s %6s %s\n' "conns x D" \
		system pass "req/s" "p50 us" "p99 us" "p99.9 us" "srv us" "VM us" "srv%" "cli%" \
		"oth%" errors "drops: peer-tx/xsk-rx, cli retrans/RTO, srv retrans, conns left"
	for c in $CONNS; do
		for d in $DEPTHS; do
			awk -F, -v c="$c" -v d="$d" -v kc="$C_KEPT" -v dc="$C_DROP" \
				'NR > 1 && $3 == "max" && $5 == c && $6 == d {
				printf "%-10s %-10s %3d%s %10.0f %9.0f %9.0f %9.0f %8.2f %8.2f %5.0f %5.0f %5.0f %6d %d/%d, %d/%d, %s, %d%s\n",
					c " x " d, $4, $40, ($kc == 1 ? " " : "x"), $9, $10, $11, $12, $20,
					$21, $16, $17, $19, $15, $29, $30, $31, $32, ($33 == "" ? "-" : $33),
					$36, ($kc == 1 ? "" : "  dropped: " $dc) }' "$csv"
			for sys in $systems; do
				printf '%-10s %-10s %4s %10.0f %9.0f %9.0f %9.0f %8.2f %8.2f\n' \
					"$c x $d" "$sys" med "$(value max "$sys" "$c" "$d" rps)" \
					"$(value max "$sys" "$c" "$d" p50_us)" \
					"$(value max "$sys" "$c" "$d" p99_us)" \
					"$(value max "$sys" "$c" "$d" p999_us)" \
					"$(value max "$sys" "$c" "$d" srv_us_per_req)" \
					"$(value max "$sys" "$c" "$d" vm_us_per_req)"
			done
			echo "  $c x $d, $IXSYS over (median of the per-pass ratios):" \
				"req/s $(ratios max "$(col rps)" max "$c" "$d");" \
				"server CPU/req $(ratios max "$(col srv_us_per_req)" min "$c" "$d")"
			[ -n "$ALSO" ] && echo "  $c x $d, $IXSYS / $ALSO: req/s" \
				"$(ratio_of max "$(col rps)" "$ALSO" "$c" "$d"), server CPU/req" \
				"$(ratio_of max "$(col srv_us_per_req)" "$ALSO" "$c" "$d")"
		done
	done
	echo "(x: dropped, in no median or ratio)"
	echo
	echo "2. equal load: $LAT_CONNS connections, open loop (Poisson) at $LAT_FRACTION x the" \
		"Linux maximum at $LAT_CONNS x 1 = $lat_rate requests/s"
	printf '%-10s %4s %10s %10s %9s %9s %9s %9s %9s %9s %6s\n' system run offered achieved \
		"p50 us" "p99 us" "p99.9 us" "max us" "lag p99" "lag max" errors
	rows equal '%-10s %3d%s %10.0f %10.0f %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %6d' \
		'$4, $40, ($41 == 1 ? " " : "x"), $8, $9, $10, $11, $12, $14, $27, $39, $15'
	for k in p50_us p99_us p999_us; do
		echo "  ${k%_us}, $IXSYS over (median of the per-run ratios): $(ratios equal "$(col "$k")" min)"
		[ -n "$ALSO" ] && echo "  ${k%_us}, $IXSYS / $ALSO: $(ratio_of equal "$(col "$k")" "$ALSO")"
	done
	echo "(lag: how late the client wrote a request after it was due; a lag max of milliseconds"
	echo " is the client stalled, and every request due meanwhile is charged that wait)"
	echo
	echo "3. CPU per request without idle polling: the same load, $IXSYS with ixdpd"
	echo "--idle-spin-us 0 (and IXDP_SPIN_US=0 for an app), linux sleeping in epoll_wait"
	printf '%-10s %4s %10s %10s %8s %8s %6s %6s %9s %9s\n' system run offered achieved "srv us" \
		"VM us" "srv%" "cli%" "p50 us" "p99 us"
	rows cpu '%-10s %3d%s %10.0f %10.0f %8.2f %8.2f %6.1f %6.1f %9.1f %9.1f' \
		'$4, $40, ($41 == 1 ? " " : "x"), $8, $9, $20, $21, $16, $17, $10, $11'
	echo "  server CPU/req $IXSYS/linux (median of the per-run ratios):" \
		"$(ratio_of cpu "$(col srv_us_per_req)" linux); VM CPU/req" \
		"$(ratio_of cpu "$(col vm_us_per_req)" linux)"
	if [ -n "$SWEEP" ]; then
		echo
		echo "4. sweep: $LAT_CONNS connections, open loop, ${SWEEP_DURATION} s per point"
		printf '%-10s %10s %10s %9s %9s %9s %9s %9s %8s\n' system offered achieved "p50 us" \
			"p99 us" "p99.9 us" "lag p99" "lag max" overflow
		rows sweep '%-10s %10.0f %10.0f %9.1f %9.1f %9.1f %9.1f %9.1f %8d%s' \
			'$4, $8, $9, $10, $11, $12, $27, $39, $26, ($26 > 0 ? " saturated" : "")'
		echo "(saturated: requests came due on connections that already had $QMAX in flight and"
		echo " were not sent (overflow): the offered rate is above what that system sustains)"
	fi
	echo
	echo "targets (shared/BENCH.md), against the better Linux twin of each pass; reported, never enforced:"
	r=$(ratio_of max "$(col rps)" best-max "$LAT_CONNS" 1)
	echo "  $LAT_CONNS x 1 requests/s $IXSYS/linux >= 2: $r ($(verdict "$r" ">=" 2))"
	r=$(ratio_of equal "$(col p99_us)" best-min)
	echo "  p99 at equal load $IXSYS/linux <= 0.5: $r ($(verdict "$r" "<=" 0.5))"
	for d in $DEPTHS; do
		own64=$(value max "$IXSYS" 64 "$d" rps)
		own10k=$(value max "$IXSYS" 10000 "$d" rps)
		r=$(ratio "$own10k" "$own64")
		echo "  $IXSYS 10000 x $d / $IXSYS 64 x $d >= 0.8 (medians): $r" \
			"($(verdict "$r" ">=" 0.8)); Linux's own: $(ratio \
			"$(value max linux 10000 "$d" rps)" "$(value max linux 64 "$d" rps)")"
	done
	if [ -n "$ALSO" ]; then
		r=$(ratio_of max "$(col rps)" "$ALSO" "$LAT_CONNS" 1)
		echo "  $LAT_CONNS x 1 requests/s $IXSYS/$ALSO >= 0.7: $r ($(verdict "$r" ">=" 0.7))"
	fi
	drop_summary "$csv" "$C_KEPT" "$C_DROP"
	echo "csv: $csv"
}
echo
report | tee "$out/$name.txt"

# --- plots -------------------------------------------------------------------------------------
dat=$tmp_dir/max.dat
labels=()
for sys in $systems; do
	case $sys in
	linux) labels+=("Linux (epoll, sleeping)") ;;
	linux-spin) labels+=("Linux (epoll, busy-polling)") ;;
	"$IXSYS") labels+=("$ixlabel") ;;
	*) labels+=("ixdp, native app (ix-rr)") ;;
	esac
done
{
	echo "# label $systems, then us per request of each"
	for c in $CONNS; do
		for d in $DEPTHS; do
			printf '%s' "${c}x$d"
			for k in rps srv_us_per_req; do
				for sys in $systems; do
					printf ' %s' "$(value max "$sys" "$c" "$d" "$k")"
				done
			done
			echo
		done
	done
} >"$dat"
plot_pair "$name" 1100,480 "top right" "echo-rr: $SIZE-byte requests, conns x in flight, \
closed loop; veth, 2 vCPUs\ncommit $commit, $date, $pinning" "$dat" \
	'set logscale y; set xtics rotate by -30; set ylabel "requests/s (log)"
set title "throughput (higher is better)"' \
	'unset logscale y; set yrange [0:*]; set ylabel "server process CPU us / request"
set title "server CPU per request (lower is better)"' "${labels[@]}"
if [ -n "$SWEEP" ]; then
	plots=
	for sys in $systems; do
		awk -F, -v s="$sys" -v kc="$C_KEPT" 'NR > 1 && $3 == "sweep" && $4 == s && $9 > 0 &&
			$kc == 1 { print $8, $10, $11, $12, ($26 > 0 ? $11 : "NaN") }' "$csv" |
			sort -g >"$tmp_dir/sweep.$sys.dat"
		case $sys in
		linux) color="#808080" label="Linux, sleeping" ;;
		linux-spin) color="#e08020" label="Linux, busy-polling" ;;
		"$IXSYS") color="#2060c0" label=$ixlabel ;;
		*) color="#20a040" label="ixdp, native app (ix-rr)" ;;
		esac
		plots="$plots${plots:+, }\"$tmp_dir/sweep.$sys.dat\" using 1:3 with linespoints lw 2 pt 7 lc rgb \"$color\" title \"$label p99\", \"\" using 1:2 with linespoints dt 2 pt 6 lc rgb \"$color\" title \"$label p50\", \"\" using 1:5 with points pt 2 ps 2.5 lc rgb \"$color\" notitle"
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
plot $plots
EOF
	cp "$out/${name}_latency.png" "docs/img/${name}_latency.png" ||
		fail "copy the plot to docs/img"
fi
echo "plots: $out/$name.png, $out/${name}_latency.png (copied to docs/img/)"
