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

set -u
cd "$(dirname "$0")/.." || exit 1

BUILD=${BUILD:-build}
CONNS=${CONNS:-"1 8"}
RUNS=${RUNS:-3}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
WRITE_SIZE=${WRITE_SIZE:-65536}
SRV_CPU=${SRV_CPU:-0}
CLI_CPU=${CLI_CPU:-1}
NQ=${NQ:-1}
PORT=${PORT:-7000}
RETRIES=${RETRIES:-2}
CONTENDED_PCT=${CONTENDED_PCT:-10}
QUIET_WAIT=${QUIET_WAIT:-0}
PROFILE=${PROFILE:-0}
IXDPD_ARGS=${IXDPD_ARGS:-}
LINUX_ARGS=${LINUX_ARGS:-}

# shellcheck source-path=SCRIPTDIR/.. source=tests/lib/netns.sh
. tests/lib/netns.sh
# shellcheck source-path=SCRIPTDIR source=bench/rr_lib.sh
. bench/rr_lib.sh
need_root

for v in RUNS DURATION WARMUP WRITE_SIZE SRV_CPU CLI_CPU NQ PORT RETRIES CONTENDED_PCT \
	QUIET_WAIT; do
	[[ ${!v} =~ ^[0-9]+$ ]] || fail "$v must be a number (got '${!v}')"
done
for v in $CONNS; do
	if ! [[ $v =~ ^[0-9]+$ ]] || [ "$v" -lt 1 ]; then
		fail "CONNS is a list of numbers >= 1"
	fi
done
if [ "$RUNS" -lt 1 ] || [ "$DURATION" -lt 1 ] || [ "$NQ" -lt 1 ] || [ "$WRITE_SIZE" -lt 1 ]; then
	fail "RUNS, DURATION, NQ and WRITE_SIZE must be >= 1"
fi
[ "$SRV_CPU" != "$CLI_CPU" ] || fail "SRV_CPU and CLI_CPU must differ"
ncpu=$(nproc --all)
if [ "$SRV_CPU" -ge "$ncpu" ] || [ "$CLI_CPU" -ge "$ncpu" ]; then
	fail "this machine has $ncpu CPUs"
fi
for f in "$RR_CLIENT" "$ECHO_SERVER" "$IXDPD" "$IXDPCTL"; do
	[ -x "$f" ] || fail "$f is missing: run make first"
done
for t in jq gnuplot ethtool timeout; do
	command -v "$t" >/dev/null || fail "$t is not installed"
done
[ "$PROFILE" = 1 ] && { command -v perf >/dev/null || fail "PROFILE=1 needs perf"; }

out=$BUILD/bench
csv=$out/sink.csv
mkdir -p "$out" docs/img || fail "mkdir $out docs/img"
commit=$(git_commit)
date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
kernel=$(uname -r)
pinning="server CPU $SRV_CPU, client CPU $CLI_CPU, $NQ veth queue(s)"
[ -n "$IXDPD_ARGS" ] && pinning="$pinning, ixdpd $IXDPD_ARGS"
[ -n "$LINUX_ARGS" ] && pinning="$pinning, echo_server $LINUX_ARGS"
cc=$(sysctl -n net.ipv4.tcp_congestion_control 2>/dev/null)

columns=(date commit system conns run write_size gbps bytes srv_s_per_gb vm_s_per_gb srv_cpu_pct
	cli_cpu_pct vm_cpu_pct other_cpu_pct softirqd_pct contended errors peer_tx_dropped
	dut_rxq_drops cli_retrans cli_timeouts srv_retrans srv_segs_in srv_segs_out
	srv_mean_batch client_failed window_s)
(IFS=,; echo "${columns[*]}") >"$csv"

# record RUN FILE: one CSV row from a run's key=value file.
record() {
	local f=$2 k
	declare -A v
	for k in system conns bytes gbps srv_cpu_ns cli_cpu_ns vm_busy_ns other_cpu_pct \
		softirqd_ns window_ns contended errors peer_tx_dropped dut_rxq_drops cli_retrans \
		cli_timeouts srv_retrans srv_segs_in srv_segs_out srv_mean_batch client_failed; do
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
		-v smb="${v[srv_mean_batch]}" -v cf="${v[client_failed]}" 'BEGIN {
		gb = b > 0 ? b / 1e9 : 1
		ww = w > 0 ? w : 1
		printf "%s,%s,%s,%d,%d,%d,%.3f,%.0f,%.3f,%.3f,", date, commit, sys, c, run, ws, gbps,
			b, s / 1e9 / gb, vm / 1e9 / gb
		printf "%.1f,%.1f,%.1f,%.1f,%.1f,%d,%d,%d,%d,%d,%d,", 100 * s / ww, 100 * cl / ww,
			100 * vm / ww, oth, 100 * sq / ww, cont, err, ptd, drq, crt, cto
		printf "%s,%s,%s,%s,%d,%.3f\n", srt, si, so, smb, cf, w / 1e9
	}' >>"$csv"
}

netns_up "$NQ"
echo "sink: ${WRITE_SIZE}-byte writes, ${DURATION} s per run after ${WARMUP} s, $RUNS runs each"
echo "commit $commit, kernel $kernel, $pinning, congestion control $cc, $date"
for run in $(seq "$RUNS"); do
	for c in $CONNS; do
		for sys in linux ixdp; do
			echo "run $run: $sys, $c connection(s)"
			f=$tmp_dir/sink.$sys.$c.$run
			measure_retry "$sys" sink "$f" -B -c "$c" -s "$WRITE_SIZE"
			record "$run" "$f"
		done
	done
done

# profile SYS CONNS: one unmeasured run with perf sampling the server process for 2 s.
profile() {
	local sys=$1 c=$2 f=$tmp_dir/profile.$1 pf=$tmp_dir/$1.perf rep=$out/sink-profile-$1.txt
	local DURATION=$((DURATION > 3 ? DURATION : 3)) cpid
	"serve_$sys" sink
	timeout -k 5 $((DURATION + WARMUP + 120)) ip netns exec "$ns_peer" "$RR_CLIENT" \
		-a "$DUT_IP" -p "$PORT" -C "$CLI_CPU" -K "$SRV_CPU" -P "$SRV_PID" -B -c "$c" \
		-s "$WRITE_SIZE" -d "$DURATION" -w "$WARMUP" >"$f" 2>&1 &
	cpid=$!
	_pids+=("$cpid")
	sleep $((WARMUP + 1))
	timeout 30 perf record -q -e cpu-clock -g -p "$SRV_PID" -o "$pf" -- sleep 2 >/dev/null 2>&1
	wait "$cpid" || echo "profile: the client failed: $(cat "$f")" >&2
	"stop_$sys" "$f"
	{
		echo "# $sys sink, $c connection(s): perf record -e cpu-clock -g -p SERVER_PID, 2 s"
		echo "# $(grep -E '^(gbps|srv_cpu_ns|cli_cpu_ns|window_ns)=' "$f" | tr '\n' ' ')"
		echo "# commit $commit, $date, $pinning"
		echo "## share by DSO"
		perf report -i "$pf" --no-children --sort dso --stdio -g none 2>/dev/null |
			grep -E '^ +[0-9.]+%'
		echo "## self, by symbol"
		perf report -i "$pf" --no-children --sort dso,sym --stdio -g none 2>/dev/null |
			grep -E '^ +[0-9.]+%' | grep -v liblwip | head -40
		if [ "$sys" = ixdp ]; then
			echo "## self, lwIP (resolved against Debian's liblwip.so.0; static functions"
			echo "## are counted under the exported symbol before them)"
			perf report -i "$pf" --no-children --sort dso,sym --stdio -g none 2>/dev/null |
				grep -E '^ +[0-9.]+%' | lwip_symbols | head -15
		fi
		echo "## with callees (children), by symbol"
		perf report -i "$pf" --children --sort sym --stdio -g none 2>/dev/null |
			grep -E '^ +[0-9.]+%' | head -60
	} >"$rep"
	echo "profile: $rep"
}
if [ "$PROFILE" = 1 ]; then
	# shellcheck disable=SC2086 # CONNS is a list
	maxc=$(printf '%s\n' $CONNS | sort -n | tail -1)
	profile ixdp "$maxc"
	profile linux "$maxc"
fi

# --- report --------------------------------------------------------------------------------------

# median: of the numbers on stdin, one per line (0 if none).
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2)
		print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# pair_ratios CONNS COLUMN: "ratio contended" per run, ixdp/linux of COLUMN.
pair_ratios() {
	awk -F, -v c="$1" -v k="$2" 'NR > 1 && $4 == c { r = $5;
		if ($3 == "linux") { l[r] = $k; lc[r] = $16 } else { x[r] = $k; xc[r] = $16 } }
		END { for (r in l) if ((r in x) && l[r] > 0)
			printf "%.4f %d\n", x[r] / l[r], (lc[r] || xc[r]) }' "$csv"
}

report() {
	local c s rr n
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
				$3, $4, $5, ($16 ? "*" : " "), $7, $9, $10, $11, $12, $14, $17, $18, $19,
				$20, $21, ($22 == "" ? "-" : $22), ($25 == "" ? "-" : $25),
				($26 ? " CLIENT FAILED" : "") }' "$csv"
		for s in linux ixdp; do
			printf '%-6s %5d %4s %8.2f %11.3f %10.3f\n' "$s" "$c" med \
				"$(awk -F, -v c="$c" -v s="$s" 'NR > 1 && $4 == c && $3 == s { print $7 }' \
					"$csv" | median)" \
				"$(awk -F, -v c="$c" -v s="$s" 'NR > 1 && $4 == c && $3 == s { print $9 }' \
					"$csv" | median)" \
				"$(awk -F, -v c="$c" -v s="$s" 'NR > 1 && $4 == c && $3 == s { print $10 }' \
					"$csv" | median)"
		done
		rr=$(pair_ratios "$c" 7)
		n=$(awk '$2 == 0' <<<"$rr" | wc -l)
		echo "  $c connection(s): per-run ratios ixdp/linux, Gbit/s:" \
			"$(sort -g <<<"$rr" | awk '{ printf "%.3f%s ", $1, ($2 ? "*" : "") }')"
		echo "  $c connection(s): ratio ixdp/linux (median of the per-run ratios): Gbit/s" \
			"$(awk '{ print $1 }' <<<"$rr" | median | awk '{ printf "%.3f", $1 }')" \
			"(target >= 1: $(awk '{ print $1 }' <<<"$rr" | median |
				awk '{ print ($1 >= 1 ? "met" : "missed") }')), server CPU/GB" \
			"$(pair_ratios "$c" 9 | awk '{ print $1 }' | median | awk '{ printf "%.3f", $1 }')," \
			"VM CPU/GB $(pair_ratios "$c" 10 | awk '{ print $1 }' | median |
				awk '{ printf "%.3f", $1 }')" \
			"($n of $RUNS pairs uncontended)"
	done
	echo "(* contended: other work took over $CONTENDED_PCT % of a CPU in all $((RETRIES + 1)) tries)"
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
				printf ' %s' "$(awk -F, -v c="$c" -v s="$s" -v k="$k" \
					'NR > 1 && $4 == c && $3 == s { print $k }' "$csv" | median)"
			done
		done
		echo
	done
} >"$dat"
gnuplot <<EOF || fail "gnuplot"
set terminal pngcairo noenhanced size 1000,450 font ",10"
set output "$out/sink.png"
set multiplot layout 1,2 title "sink: bulk TCP into a discard service, ${WRITE_SIZE}-byte writes, veth\n\
commit $commit, $date, $pinning (medians of $RUNS runs)"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set key top left
set grid ytics
set yrange [0:*]
set ylabel "Gbit/s acknowledged"
set title "throughput (higher is better)"
plot "$dat" using 2:xtic(1) title "Linux (epoll)" lc rgb "#808080", \
	"" using 3 title "ixdp" lc rgb "#2060c0"
set ylabel "whole-VM CPU seconds per GB"
set title "whole-VM CPU per GB (lower is better)"
plot "$dat" using 4:xtic(1) title "Linux (epoll)" lc rgb "#808080", \
	"" using 5 title "ixdp" lc rgb "#2060c0"
unset multiplot
EOF
cp "$out/sink.png" docs/img/sink.png || fail "copy the plot to docs/img"
echo "plot: $out/sink.png (copied to docs/img/sink.png)"
