#!/bin/bash
# raw.sh - the raw reflect benchmark: ixdpd's UDP reflector against a bare AF_XDP L2 reflector.
#
#   make bench-raw        (= BUILD=build bench/raw.sh, as root, after make)
#
#   env: RUNS=3 DURATION=5 FLOWS=256 REFL_CPU=0 GEN_CPU=1 RETRIES=2 CONTENDED_PCT=10
#        QUIET_WAIT=0 NICE=0 PROFILE=0 IXDPD_ARGS=   (more ixdpd options, e.g. --idle-spin-us N)
#
# 60-byte UDP frames (64 on the wire) from a live-frames XDP generator in the peer namespace go
# to 198.18.0.1:9000 over FLOWS source ports.  Two reflectors serve the DUT side, one at a time,
# alternating, on the same veth pair, with the same pinning: the bare AF_XDP L2 reflector
# (bench/xsk_reflect) and ixdpd --reflect-udp.  The figure of merit is the ratio of their median
# reflected rates, taken per run (bare run i and ixdp run i ran back to back) and summarised by
# the median over the runs (shared/BENCH.md: absolute numbers drift on these VMs, a ratio taken
# side by side does not).  The generator offers more than either reflector can send back, so the
# reflected rate is each one's saturation throughput.
#
# CPU per packet is reported two ways, both over exactly the generation window: the reflector
# process's own scheduler runtime (all its threads), and whole-VM busy time from /proc/stat.  On
# veth the receive work (XDP, copy into the umem) runs on the sender's CPU and the peer's receive
# of every reflected frame runs on the reflector's CPU (shared/notes/afxdp-veth.md §4), so neither
# number alone is "the reflector's cost".
#
# Other people's work on this shared 2-CPU machine is the main noise.  Each run records the CPU
# time that was neither the reflector's nor the generator's (other_cpu_pct: whole-VM busy time
# minus both).  The drop rule is bench/lib.sh's, the same in every benchmark: a run that failed
# (the generator exited non-zero) or was contended (other_cpu_pct over CONTENDED_PCT, default 10,
# in % of one CPU) is repeated, at most RETRIES times (default 2); a run never kept is dropped:
# its tries stay in the CSV (kept=0, and why), no median and no ratio uses them, and a pair
# counts only when both halves were kept.  Which reflector goes first alternates from run to
# run.  QUIET_WAIT=N first waits up to N seconds for a quiet second before each run.
#
# NICE (e.g. -10) runs the generator and the reflectors at that nice level, to shield them from
# other work on the machine; PROFILE=1 adds one extra, unmeasured run of each reflector under
# `perf record -e cpu-clock` and writes the top symbols to $BUILD/bench/raw-profile-*.txt.
#
# Output: a table on stdout and in $BUILD/bench/raw.txt, $BUILD/bench/raw.csv,
# $BUILD/bench/raw.png, docs/img/raw.png.
# A benchmark reports; it never fails on a number.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_root

bench_settings
FLOWS=${FLOWS:-256}
REFL_CPU=${REFL_CPU:-0}
GEN_CPU=${GEN_CPU:-1}
NICE=${NICE:-0}
PORT=9000
NQ=1	# one queue: redirected frames land on rq[sender CPU % queues] anyway (notes §1)
need_numbers FLOWS REFL_CPU GEN_CPU
[[ $NICE =~ ^-?[0-9]+$ ]] || fail "NICE must be a number (got '$NICE')"
[ "$FLOWS" -ge 1 ] || fail "FLOWS must be >= 1"
need_cpus REFL_CPU GEN_CPU

XSK_REFLECT=$BUILD/bench/xsk_reflect
XDPGEN=$BUILD/bench/xdpgen
need_built "$XSK_REFLECT" "$XDPGEN" "$XSK_REFLECT.bpf.o" "$XDPGEN.bpf.o" "$IXDPD" "$IXDPCTL"

bench_init raw
png=$out/raw.png
pinning="reflector CPU $REFL_CPU, generator CPU $GEN_CPU"
[ "$NICE" != 0 ] && pinning="$pinning, nice $NICE"
[ -n "$IXDPD_ARGS" ] && pinning="$pinning, ixdpd $IXDPD_ARGS"

# --- helpers -------------------------------------------------------------------------------------

# dut_idle: no XDP program on dut0 (the last reflector's link is gone), bounded.
dut_idle() {
	for _ in $(seq 50); do
		xdp_attached || return 0
		sleep 0.1
	done
	fail "an XDP program stayed on dut0 after its reflector exited"
}

# link_drops: "DUT_DROPS XMIT_ERR", the drop counters of the veth pair a run is checked against:
# frames dut0's XDP redirected that found an AF_XDP RX ring full, and frames peer0's generator
# could not hand over to dut0.
link_drops() {
	echo "$(ethsum "$ns_dut" dut0 '^rx_queue_[0-9]+_drops:')" \
		"$(ethsum "$ns_peer" peer0 'xdp_xmit_errors:')"
}

# renice_all PID: every thread of PID (renice -p moves one thread only).
renice_all() {
	local t
	[ "$NICE" = 0 ] && return 0
	for t in /proc/"$1"/task/*; do
		renice -n "$NICE" -p "${t##*/}" >/dev/null 2>&1
	done
}

# generate REFL_PID LOG: the load, in the foreground of this script but interruptible; returns
# the generator's status (a failed run is dropped, not fatal: see the drop rule).
generate() {
	local gpid rc
	timeout -k 2 $((DURATION + 30)) ip netns exec "$ns_peer" nice -n "$NICE" "$XDPGEN" \
		-i peer0 -m "$DUT_MAC" -S "$PEER_IP" -D "$DUT_IP" -p "$PORT" -f "$FLOWS" \
		-d "$DURATION" -c "$GEN_CPU" -P "$1" -R "$REFL_CPU" -o "$XDPGEN.bpf.o" >"$2" 2>&1 &
	gpid=$!
	_pids+=("$gpid")
	wait "$gpid"
	rc=$?
	[ "$rc" = 0 ] || echo "  the generator failed (exit $rc): $(head -c 300 "$2")" >&2
	return "$rc"
}

# profile PID NAME: perf samples of PID's threads for 2 s, from 1 s into the load (DURATION >= 3).
profile() {
	sleep 1
	timeout 30 perf record -q -e cpu-clock -g -p "$1" -o "$tmp_dir/$2.perf" -- sleep 2 \
		>/dev/null 2>&1
	{
		echo "# $2: perf record -e cpu-clock -p PID, 2 s under load; share by DSO, then symbol"
		perf_shares "$tmp_dir/$2.perf" --no-children --sort dso
		echo
		perf_shares "$tmp_dir/$2.perf" --no-children --sort sym | head -40
	} >"$out/raw-profile-$2.txt"
}

# record RUN FILE: one CSV row from a try's key=value file (run_one's).
record() {
	local g=$2 k
	declare -A v
	for k in sent elapsed_ns reflected vm_busy_ns refl_cpu_ns gen_cpu_ns refl_cpu_idle_ns \
		bg dut_drops xmit_err refl_drops refl_invalid kept try; do
		v[$k]=$(kv "$k" "$g")
		[[ ${v[$k]} =~ ^[0-9]+$ ]] || v[$k]=0
	done
	awk -v sys="$(kv system "$g")" -v run="$1" -v sent="${v[sent]}" -v el="${v[elapsed_ns]}" \
		-v rp="${v[reflected]}" -v vm="${v[vm_busy_ns]}" \
		-v rc="${v[refl_cpu_ns]}" -v gc="${v[gen_cpu_ns]}" \
		-v ri="${v[refl_cpu_idle_ns]}" -v bg="${v[bg]}" -v dd="${v[dut_drops]}" \
		-v xe="${v[xmit_err]}" -v rd="${v[refl_drops]}" -v inv="${v[refl_invalid]}" \
		-v notes="$(kv notes "$g")" -v date="$date" -v commit="$commit" \
		-v d="$DURATION" -v fl="$FLOWS" -v rcpu="$REFL_CPU" -v gcpu="$GEN_CPU" -v nice="$NICE" \
		-v cont="$(kv contended "$g")" -v kept="${v[kept]}" -v drop="$(kv drop "$g")" \
		-v try="${v[try]}" '
	BEGIN {
		r = rp > 0 ? rp : 1
		e = el > 0 ? el : 1
		printf "%s,%s,%s,%d,%d,%d,%d,%d,%d,%.0f,%.4f,%.4f,%.1f,%.1f,", date, commit, sys,
			run, d, fl, rcpu, gcpu, nice, sent, sent * 1e3 / e, rp * 1e3 / e, rc / r,
			vm / r
		printf "%.0f,%.0f,%.1f,%.1f,%.1f,%.1f,%d,%d,", rp, el, 100 * rc / e,
			100 * ri / e, 100 * gc / e, other(vm, rc, gc, e), cont + 0, bg
		printf "%.0f,%.0f,%.0f,%.0f,%s,%d,%s,%d\n", dd, xe, rd, inv, notes, kept, drop, try
	}
	function other(vm, rc, gc, e,   o) {
		o = 100 * (vm - rc - gc) / e
		return o < 0 ? 0 : o # tick-sampled /proc/stat against precise runtimes
	}' >>"$csv"
}

# --- one run of each reflector -------------------------------------------------------------------

# refl_start_bare RUN: the bare AF_XDP reflector on REFL_CPU; sets REFL_PID.
refl_start_bare() {
	local rlog=$tmp_dir/bare.$1.log
	ip netns exec "$ns_dut" nice -n "$NICE" "$XSK_REFLECT" -i dut0 -q "$NQ" -c "$REFL_CPU" \
		-d $((DURATION + 30)) -o "$XSK_REFLECT.bpf.o" >"$rlog" 2>&1 &
	REFL_PID=$!
	_pids+=("$REFL_PID")
	wait_ready "$REFL_PID" "$rlog" xsk_reflect
}

# refl_stop_bare RUN: stop it; sets REFL_DROPS, REFL_INVALID and REFL_NOTES from its counters.
refl_stop_bare() {
	local rlog=$tmp_dir/bare.$1.log
	stop_pid "$REFL_PID" "$rlog" xsk_reflect
	REFL_DROPS=$(kv xsk_rx_ring_full "$rlog")
	REFL_INVALID=0
	REFL_NOTES="kicks=$(kv kicks "$rlog")"
}

# refl_start_ixdp RUN: ixdpd --reflect-udp, one worker on REFL_CPU; sets REFL_PID.
refl_start_ixdp() {
	# shellcheck disable=SC2086 # IXDPD_ARGS is a list of options
	ixdpd_start --reflect-udp "$PORT" --workers 1 --cpus "$REFL_CPU" $IXDPD_ARGS
	renice_all "$IXDPD_PID"
	REFL_PID=$IXDPD_PID
}

# refl_stop_ixdp RUN: stop it; sets REFL_DROPS, REFL_INVALID and REFL_NOTES from its counters.
refl_stop_ixdp() {
	local js=$tmp_dir/ixdp.$1.json
	stats_json >"$js" || fail "ixdpctl stats"
	ixdpd_stop || fail "ixdpd exited with status $?"
	REFL_DROPS=$(jq '[.workers[].xsk_rx_dropped] | add' "$js")
	REFL_INVALID=$(jq '[.workers[].rx_invalid] | add' "$js")
	REFL_NOTES=$(jq -r '"sleeps=\([.workers[].sleeps] | add)" +
		" fill_empty=\([.queues[].fill_empty] | add)" +
		" tx_dropped=\([.workers[].tx_dropped] | add)" +
		" misrouted=\([.workers[].misrouted] | add)"' "$js")
}

# run_one SYS RUN OUT [profile]: one run of reflector SYS (bare or ixdp) under the load, its
# key=value lines (the generator's, the drop counters, failed= and contended= for the drop
# rule) into OUT; with "profile", an unmeasured run under perf instead.
run_one() {
	local sys=$1 run=$2 o=$3 glog=$tmp_dir/$1.$2.gen bg d0 d1 pp= rc k st0 st1
	dut_idle
	bg=$(bg_load)
	d0=$(link_drops)
	"refl_start_$sys" "$run"
	st0=$(steal_ticks)
	if [ "${4:-}" = profile ]; then
		profile "$REFL_PID" "$sys" &
		pp=$!
		_pids+=("$pp")
	fi
	generate "$REFL_PID" "$glog"
	rc=$?
	st1=$(steal_ticks)
	[ -n "$pp" ] && wait "$pp"
	"refl_stop_$sys" "$run"
	[ "${4:-}" = profile ] && return 0
	d1=$(link_drops)
	{
		cat "$glog"
		echo "system=$sys"
		echo "bg=$bg"
		echo "dut_drops=$((${d1% *} - ${d0% *}))"
		echo "xmit_err=$((${d1#* } - ${d0#* }))"
		echo "refl_drops=$REFL_DROPS"
		echo "refl_invalid=$REFL_INVALID"
		echo "notes=$REFL_NOTES"
	} >"$o"
	for k in sent elapsed_ns reflected vm_busy_ns refl_cpu_ns gen_cpu_ns; do
		[[ $(kv "$k" "$o") =~ ^[0-9]+$ ]] || rc=1
	done
	echo "failed=$((rc != 0))" >>"$o"
	awk -v vm="$(kv vm_busy_ns "$o")" -v rc="$(kv refl_cpu_ns "$o")" \
		-v gc="$(kv gen_cpu_ns "$o")" -v el="$(kv elapsed_ns "$o")" -v lim="$CONTENDED_PCT" \
		-v st="$(steal_pct "$st0" "$st1")" \
		'BEGIN { o = el > 0 ? 100 * (vm - rc - gc) / el : 0
		printf "other_cpu_pct=%.1f\nstolen_pct=%.1f\ncontended=%d\n", o, st,
			(o > lim || st > lim) }' >>"$o"
}

# --- the runs ------------------------------------------------------------------------------------

netns_up "$NQ"
echo "raw reflect: $DURATION s x $RUNS runs each, $FLOWS flows, 60-byte UDP frames to $DUT_IP:$PORT"
echo "commit $commit, kernel $kernel, $pinning, $date"

columns=(date commit system run duration_s flows refl_cpu gen_cpu nice sent offered_mpps
	reflected_mpps refl_cpu_ns_per_pkt vm_cpu_ns_per_pkt reflected window_ns refl_cpu_pct
	refl_cpu_idle_pct gen_cpu_pct other_cpu_pct contended bg_busy_pct dut_rxq_drops
	gen_xmit_errors reflector_rx_drops reflector_invalid notes kept drop try)
(IFS=,; echo "${columns[*]}") >"$csv"
for run in $(seq "$RUNS"); do
	for sys in $(pair_order "$run" bare ixdp); do
		echo "run $run: $sys"
		keep_run "record $run" "$tmp_dir/run.$sys.$run" run_one "$sys" "$run" \
			"$tmp_dir/run.$sys.$run"
	done
done
if [ "$PROFILE" = 1 ]; then
	echo "profiling (one more run of each, not measured)..."
	run_one bare 0 /dev/null profile
	run_one ixdp 0 /dev/null profile
fi

# --- report --------------------------------------------------------------------------------------

# sys_median SYS COLUMN: median of a CSV column over one system's kept runs (0 if none).
sys_median() {
	awk -F, -v s="$1" -v c="$2" 'NR > 1 && $3 == s && $28 == 1 { print $c }' "$csv" | median 0
}

# ratio A B: A / B to three places (0 when B is 0).
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'
}

# pairs COLUMN: "run ratio" per run whose two halves were kept, ixdp/bare of COLUMN.  The two
# halves of a pair ran back to back, so a drift of the whole VM between runs (seen here: every
# rate up 25 % from one run to the next, both systems) cancels in a pair but not across the
# medians of all runs.
pairs() {
	awk -F, -v c="$1" 'NR > 1 && $28 == 1 { k = $4; if ($3 == "bare") b[k] = $c; else x[k] = $c }
		END { for (k in b) if ((k in x) && b[k] > 0) printf "%d %.4f\n", k, x[k] / b[k] }' \
		"$csv" | sort -n
}

declare -A med
for s in bare ixdp; do
	for c in 11 12 13 14; do
		med[$s.$c]=$(sys_median "$s" "$c")
	done
done
ratio_med=$(ratio "${med[ixdp.12]}" "${med[bare.12]}")
cpu_ratio_med=$(ratio "${med[ixdp.13]}" "${med[bare.13]}")
rate_pairs=$(pairs 12)
cpu_pairs=$(pairs 13)
# pair_median PAIRS: median ratio over the kept pairs ("-" if none).
pair_median() {
	awk '{ print $2 }' <<<"$1" | median - %.3f
}
ratio=$(pair_median "$rate_pairs")
cpu_ratio=$(pair_median "$cpu_pairs")

report() {
	echo "raw reflect: $DURATION s x $RUNS runs each, $FLOWS flows, 60-byte UDP to $DUT_IP:$PORT"
	echo "commit $commit, kernel $kernel, $pinning, $date"
	echo
	printf '%-6s %5s %8s %9s %13s %9s %9s %9s %8s %8s\n' system run offered reflected \
		"reflector CPU" "VM CPU" reflector "its CPU" gen other
	printf '%-6s %5s %8s %9s %13s %9s %9s %9s %8s %8s\n' "" "" Mpps Mpps ns/pkt ns/pkt \
		"CPU %" "idle %" "CPU %" "CPU %"
	awk -F, 'NR > 1 { printf "%-6s %4d%s %8.3f %9.3f %13.0f %9.0f %9.0f %9.0f %8.0f %8.0f%s\n",
		$3, $4, ($28 == 1 ? " " : "x"), $11, $12, $13, $14, $17, $18, $19, $20,
		($28 == 1 ? "" : "  dropped: " $29) }' "$csv"
	for s in bare ixdp; do
		printf '%-6s %5s %8.3f %9.3f %13.0f %9.0f\n' "$s" med "${med[$s.11]}" \
			"${med[$s.12]}" "${med[$s.13]}" "${med[$s.14]}"
	done
	echo "(x: dropped, in no median or ratio)"
	drop_summary "$csv" 28 29
	echo
	echo "per-run ratios ixdp/bare, reflected Mpps: $(awk '{ printf "%.3f ", $2 }' \
		<<<"$rate_pairs")"
	echo "ratio ixdp/bare, reflected Mpps (median of the per-run ratios): $ratio (target >= 0.9)"
	echo "ratio ixdp/bare, reflector CPU ns/pkt (median of the per-run ratios): $cpu_ratio"
	echo "ratio of the medians: reflected Mpps $ratio_med, reflector CPU ns/pkt $cpu_ratio_med"
	echo "csv: $csv"
}
echo
report | tee "$out/raw.txt"

# The plot: reflected rate per run and the medians, one cluster per run.
dat=$tmp_dir/raw.dat
{
	echo "# label bare ixdp bare_ns ixdp_ns"
	for run in $(seq "$RUNS"); do
		awk -F, -v r="$run" 'NR > 1 && $4 == r && $28 == 1 { m[$3] = $12; n[$3] = $13 }
			END { printf "run%d %s %s %s %s\n", r, m["bare"], m["ixdp"], n["bare"], n["ixdp"] }' "$csv"
	done
	echo "median ${med[bare.12]} ${med[ixdp.12]} ${med[bare.13]} ${med[ixdp.13]}"
} >"$dat"
plot_pair raw 1000,450 "top left" "raw reflect: 60-byte UDP, $FLOWS flows, veth, AF_XDP copy \
mode — ixdp/bare = $ratio (median of per-run ratios)\ncommit $commit, $date, $pinning" \
	"$dat" \
	'set yrange [0:*]; set ylabel "reflected Mpps"; set title "reflected rate (higher is better)"' \
	'set ylabel "reflector CPU ns / reflected packet"
set title "reflector process CPU per packet (lower is better)"' "bare AF_XDP" ixdpd
echo "plot: $png (copied to docs/img/raw.png)"
