#!/bin/bash
# sink.sh - the bulk (sink) benchmark: streams into ixdpd --sink-tcp against the Linux twin.
#
#   BUILD=build bench/sink.sh        (as root, after make)
#
#   env: CONNS="1 8" RUNS=3 DURATION=5 WARMUP=1 WRITE_SIZE=65536 SRV_CPU=0 CLI_CPU=1 NQ=1
#        PORT=7000 RETRIES=2 CONTENDED_PCT=10 QUIET_WAIT=0 PROFILE=0 IXDPD_ARGS= LINUX_ARGS=
#
# C kernel-TCP connections in the peer namespace (bench/rr_client -B) write WRITE_SIZE chunks
# as fast as their sockets take them for DURATION s after WARMUP s, into a discard service on
# 198.18.0.1:PORT: ixdpd --sink-tcp (one worker) or bench/echo_server -k (the Linux twin, one
# epoll thread), one at a time, alternating run by run, with the same pinning (server on
# SRV_CPU, client on CLI_CPU) and one veth queue (as bench/echo_rr.sh, for the same reasons).
#
# Throughput is what the receiver ACKNOWLEDGED in the window (the client's bytes written minus
# SIOCOUTQ at both edges), in Gbit/s of TCP payload.  CPU per GB: the server process's
# scheduler runtime (all threads) and whole-VM busy time (/proc/stat), over the same window.
# On veth the receiver's work is billed to the sender's CPU and the sender's ACK-clocked
# transmissions run inside the receiver's ACKs (shared/notes/afxdp-veth.md §4), so the split
# between the two CPUs says where the kernel ran the work, not whose work it was: read the
# whole-VM figure and the client's CPU share together.
#
# The headline per connection count is the median of the per-run ratios ixdp/linux (the two
# halves of a pair ran back to back), as bench/raw.sh does; contended runs (other CPU over
# CONTENDED_PCT % of a CPU) are repeated, at most RETRIES times, and marked.
#
# PROFILE=1 adds one unmeasured run of each system at the largest connection count under perf
# record -e cpu-clock (server process), summarised in $BUILD/bench/sink-profile-{ixdp,linux}.txt.
#
# Output: the table on stdout and in $BUILD/bench/sink.txt, every run in $BUILD/bench/sink.csv,
# the plot in $BUILD/bench/sink.png, copied to docs/img/sink.png.
# A benchmark reports; it never fails on a number.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_root

rr_settings
CONNS=${CONNS:-"1 8"}
WRITE_SIZE=${WRITE_SIZE:-65536}
need_numbers WRITE_SIZE
for v in $CONNS; do
	if ! [[ $v =~ ^[0-9]+$ ]] || [ "$v" -lt 1 ]; then
		fail "CONNS is a list of numbers >= 1"
	fi
done
[ "$WRITE_SIZE" -ge 1 ] || fail "WRITE_SIZE must be >= 1"

bench_init sink
pinning=$(rr_pinning "")
cc=$(sysctl -n net.ipv4.tcp_congestion_control 2>/dev/null)

columns=(date commit system conns run write_size gbps bytes srv_s_per_gb vm_s_per_gb srv_cpu_pct
	cli_cpu_pct vm_cpu_pct other_cpu_pct softirqd_pct contended errors peer_tx_dropped
	dut_rxq_drops cli_retrans cli_timeouts srv_retrans srv_segs_in srv_segs_out
	srv_mean_batch client_failed window_s kept drop try)
(IFS=,; echo "${columns[*]}") >"$csv"

# record RUN FILE: one CSV row from a run's key=value file.
record() {
	local f=$2 k
	declare -A v
	for k in system conns bytes gbps srv_cpu_ns cli_cpu_ns vm_busy_ns other_cpu_pct \
		softirqd_ns window_ns contended errors peer_tx_dropped dut_rxq_drops cli_retrans \
		cli_timeouts srv_retrans srv_segs_in srv_segs_out srv_mean_batch client_failed kept \
		try; do
		v[$k]=$(kv "$k" "$f")
		[ -n "${v[$k]}" ] || v[$k]=0
	done
	if [ "${v[system]}" = linux ]; then
		v[srv_retrans]='' v[srv_segs_in]='' v[srv_segs_out]='' v[srv_mean_batch]=
	fi
	awk -v date="$date" -v commit="$commit" -v sys="${v[system]}" -v c="${v[conns]}" \
		-v run="$1" -v ws="$WRITE_SIZE" -v gbps="${v[gbps]}" -v b="${v[bytes]}" \
		-v s="${v[srv_cpu_ns]}" -v cl="${v[cli_cpu_ns]}" -v vm="${v[vm_busy_ns]}" \
		-v oth="${v[other_cpu_pct]}" -v sq="${v[softirqd_ns]}" -v w="${v[window_ns]}" \
		-v cont="${v[contended]}" -v err="${v[errors]}" -v ptd="${v[peer_tx_dropped]}" \
		-v drq="${v[dut_rxq_drops]}" -v crt="${v[cli_retrans]}" -v cto="${v[cli_timeouts]}" \
		-v srt="${v[srv_retrans]}" -v si="${v[srv_segs_in]}" -v so="${v[srv_segs_out]}" \
		-v smb="${v[srv_mean_batch]}" -v cf="${v[client_failed]}" -v kept="${v[kept]}" \
		-v drop="$(kv drop "$f")" -v try="${v[try]}" 'BEGIN {
		gb = b > 0 ? b / 1e9 : 1
		ww = w > 0 ? w : 1
		printf "%s,%s,%s,%d,%d,%d,%.3f,%.0f,%.3f,%.3f,", date, commit, sys, c, run, ws, gbps,
			b, s / 1e9 / gb, vm / 1e9 / gb
		printf "%.1f,%.1f,%.1f,%.1f,%.1f,%d,%d,%d,%d,%d,%d,", 100 * s / ww, 100 * cl / ww,
			100 * vm / ww, oth, 100 * sq / ww, cont, err, ptd, drq, crt, cto
		printf "%s,%s,%s,%s,%d,%.3f,%d,%s,%d\n", srt, si, so, smb, cf, w / 1e9, kept, drop, try
	}' >>"$csv"
}

rr_up
echo "sink: ${WRITE_SIZE}-byte writes, ${DURATION} s per run after ${WARMUP} s, $RUNS runs each"
echo "commit $commit, kernel $kernel, $pinning, congestion control $cc, $date"
for run in $(seq "$RUNS"); do
	for c in $CONNS; do
		for sys in $(pair_order "$run" linux ixdp); do
			echo "run $run: $sys, $c connection(s)"
			f=$tmp_dir/sink.$sys.$c.$run
			keep_run "record $run" "$f" measure "$sys" sink "$f" -B -c "$c" -s "$WRITE_SIZE"
		done
	done
done

# profile SYS CONNS: one unmeasured run of SYS under perf (see rr_profile).
profile() {
	rr_profile "$out/sink-profile-$1.txt" "$1" sink "$1 sink, $2 connection(s)" \
		'gbps|srv_cpu_ns|cli_cpu_ns|window_ns' -B -c "$2" -s "$WRITE_SIZE"
}
if [ "$PROFILE" = 1 ]; then
	# shellcheck disable=SC2086 # CONNS is a list
	maxc=$(printf '%s\n' $CONNS | sort -n | tail -1)
	profile ixdp "$maxc"
	profile linux "$maxc"
fi

# --- report --------------------------------------------------------------------------------------

# conns_median CONNS SYSTEM COLUMN: the median of COLUMN over that system's kept runs (0 if none).
conns_median() {
	awk -F, -v c="$1" -v s="$2" -v k="$3" 'NR > 1 && $4 == c && $3 == s && $28 == 1 {
		print $k }' "$csv" | median 0
}

# pair_ratios CONNS COLUMN: ixdp/linux of COLUMN, one line per run whose two halves were kept.
pair_ratios() {
	awk -F, -v c="$1" -v k="$2" 'NR > 1 && $4 == c && $28 == 1 { r = $5;
		if ($3 == "linux") l[r] = $k; else x[r] = $k }
		END { for (r in l) if ((r in x) && l[r] > 0) printf "%.4f\n", x[r] / l[r] }' "$csv"
}

report() {
	local c s rr
	echo "sink: ${WRITE_SIZE}-byte writes, ${DURATION} s per run after ${WARMUP} s, $RUNS runs each"
	echo "commit $commit, kernel $kernel, 2 vCPUs, $pinning, congestion control $cc, $date"
	echo "Gbit/s = TCP payload the receiver acknowledged; CPU per GB = seconds of CPU per 1e9 bytes"
	echo
	printf '%-6s %5s %4s %8s %11s %10s %6s %6s %6s %6s %s\n' system conns run Gbit/s \
		"srv s/GB" "VM s/GB" "srv%" "cli%" "oth%" errors \
		"drops: peer-tx/xsk-rx, cli retrans/RTO, srv retrans, srv batch"
	for c in $CONNS; do
		awk -F, -v c="$c" 'NR > 1 && $4 == c {
			printf "%-6s %5d %3d%s %8.2f %11.3f %10.3f %6.0f %6.0f %6.0f %6d %d/%d, %d/%d, %s, %s%s\n",
				$3, $4, $5, ($28 ? " " : "x"), $7, $9, $10, $11, $12, $14, $17, $18, $19,
				$20, $21, ($22 == "" ? "-" : $22), ($25 == "" ? "-" : $25),
				($28 ? "" : " dropped: " $29) }' "$csv"
		for s in linux ixdp; do
			printf '%-6s %5d %4s %8.2f %11.3f %10.3f\n' "$s" "$c" med \
				"$(conns_median "$c" "$s" 7)" "$(conns_median "$c" "$s" 9)" \
				"$(conns_median "$c" "$s" 10)"
		done
		rr=$(pair_ratios "$c" 7)
		echo "  $c connection(s): per-run ratios ixdp/linux, Gbit/s:" \
			"$(sort -g <<<"$rr" | awk '{ printf "%.3f ", $1 }')"
		echo "  $c connection(s): ratio ixdp/linux (median of the per-run ratios): Gbit/s" \
			"$(median - %.3f <<<"$rr")" \
			"(target >= 1: $(median 0 <<<"$rr" | awk '{ print ($1 >= 1 ? "met" : "missed") }'))," \
			"server CPU/GB $(pair_ratios "$c" 9 | median - %.3f)," \
			"VM CPU/GB $(pair_ratios "$c" 10 | median - %.3f)" \
			"($(grep -c . <<<"$rr") of $RUNS pairs with both halves kept)"
	done
	echo "(x: dropped, in no median or ratio)"
	drop_summary "$csv" 28 29
	echo "csv: $csv"
}
echo
report | tee "$out/sink.txt"

dat=$tmp_dir/sink.dat
{
	echo "# label linux ixdp linux_s_per_gb ixdp_s_per_gb"
	for c in $CONNS; do
		printf '%s' "${c}-conn"
		for k in 7 10; do
			for s in linux ixdp; do
				printf ' %s' "$(conns_median "$c" "$s" "$k")"
			done
		done
		echo
	done
} >"$dat"
plot_pair sink 1000,450 "top left" "sink: bulk TCP into a discard service, \
${WRITE_SIZE}-byte writes, veth\ncommit $commit, $date, $pinning (medians of $RUNS runs)" \
	"$dat" \
	'set yrange [0:*]; set ylabel "Gbit/s acknowledged"; set title "throughput (higher is better)"' \
	'set ylabel "whole-VM CPU seconds per GB"; set title "whole-VM CPU per GB (lower is better)"' \
	"Linux (epoll)" ixdp
echo "plot: $out/sink.png (copied to docs/img/sink.png)"
