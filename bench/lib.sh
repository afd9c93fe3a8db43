# shellcheck shell=bash
# lib.sh - what the benchmarks bench/raw.sh, bench/echo_rr.sh and bench/sink.sh share (sourced).
#
# Sourcing it sets -u, moves to the repository root (where BUILD, docs/img and tests/lib are)
# and brings tests/lib/netns.sh along (namespaces, ixdpd_start, the cleanup trap, _pids, fail;
# BUILD defaults to build).  Two parts: what every benchmark uses (its common settings and
# their checks, counters, CPU load, medians, plots, perf summaries), then one measured run of a
# TCP service (ixdpd or its Linux twin, bench/echo_server) under bench/rr_client, for
# echo_rr.sh and sink.sh.
#
# A run of a TCP service leaves key=value lines in a file: the client's (rr_client's output:
# rates, latency percentiles, the CPU samples it took at the window's edges), then the server's
# and the network's counters added here.  Nothing here judges a number; the callers report.

set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
# shellcheck source-path=SCRIPTDIR/.. source=tests/lib/netns.sh
. tests/lib/netns.sh

# --- every benchmark ---------------------------------------------------------------------------

# need_numbers VAR...: each named variable holds a whole number.
need_numbers() {
	local v
	for v in "$@"; do
		[[ ${!v} =~ ^[0-9]+$ ]] || fail "$v must be a number (got '${!v}')"
	done
}

# need_cpus VAR_A VAR_B: the two named variables are two different CPUs of this machine.
need_cpus() {
	local ncpu
	[ "${!1}" != "${!2}" ] || fail "$1 and $2 must differ"
	ncpu=$(nproc --all)
	if [ "${!1}" -ge "$ncpu" ] || [ "${!2}" -ge "$ncpu" ]; then
		fail "this machine has $ncpu CPUs"
	fi
}

# need_built FILE...: what make builds (programs, which must be executable, and BPF objects).
need_built() {
	local f
	for f in "$@"; do
		case $f in
		*.o) [ -f "$f" ] ;;
		*) [ -x "$f" ] ;;
		esac || fail "$f is missing: run make first"
	done
}

# need_tools: the tools every benchmark runs, and perf when PROFILE=1 asks for profiles.
need_tools() {
	local t
	for t in jq gnuplot ethtool timeout; do
		command -v "$t" >/dev/null || fail "$t is not installed"
	done
	if [ "${PROFILE:-0}" = 1 ]; then
		command -v perf >/dev/null || fail "PROFILE=1 needs perf (linux-perf)"
	fi
}

# bench_settings: the settings every benchmark has (the scripts' headers list them), from the
# environment or these defaults, checked, and the tools every benchmark runs.
# shellcheck disable=SC2034 # the caller's settings
bench_settings() {
	RUNS=${RUNS:-3}
	DURATION=${DURATION:-5}
	RETRIES=${RETRIES:-2}
	CONTENDED_PCT=${CONTENDED_PCT:-10}
	QUIET_WAIT=${QUIET_WAIT:-0}
	PROFILE=${PROFILE:-0}
	IXDPD_ARGS=${IXDPD_ARGS:-}
	need_numbers RUNS DURATION RETRIES CONTENDED_PCT QUIET_WAIT
	if [ "$RUNS" -lt 1 ] || [ "$DURATION" -lt 1 ]; then
		fail "RUNS and DURATION must be >= 1"
	fi
	need_tools
}

# git_commit: short hash, "-dirty" if the tree has uncommitted changes.
git_commit() {
	local c
	c=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
	[ -n "$(git status --porcelain 2>/dev/null)" ] && c="$c-dirty"
	echo "$c"
}

# bench_init NAME: out (the build folder the results go to, made here with docs/img), csv
# ($out/NAME.csv), and what every report's header names: commit, date, kernel.
# shellcheck disable=SC2034 # csv, date, kernel: the caller's
bench_init() {
	out=$BUILD/bench
	csv=$out/$1.csv
	mkdir -p "$out" docs/img || fail "mkdir $out docs/img"
	commit=$(git_commit)
	date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	kernel=$(uname -r)
}

# csv_open COLUMN...: the CSV ($csv, of bench_init) with these columns: a new one with its
# header, or with REPORT_ONLY=1 the last run's, checked to have them, whose first row's commit
# and date the report then names.
# shellcheck disable=SC2034 # commit, date: the caller's
csv_open() {
	local want
	want=$(IFS=,; echo "$*")
	if [ "${REPORT_ONLY:-0}" != 1 ]; then
		echo "$want" >"$csv"
		return
	fi
	[ -s "$csv" ] || fail "REPORT_ONLY=1: no $csv to report"
	[ "$(head -1 "$csv")" = "$want" ] ||
		fail "REPORT_ONLY=1: $csv has other columns (an older version of this script?)"
	commit=$(awk -F, 'NR == 2 { print $2 }' "$csv")
	date=$(awk -F, 'NR == 2 { print $1 }' "$csv")
}

# col NAME: the CSV column number of NAME in the caller's columns array (csv_open's).
col() {
	local i
	for i in "${!columns[@]}"; do
		[ "${columns[$i]}" = "$1" ] && { echo $((i + 1)); return; }
	done
	fail "no column $1"
}

# kv KEY FILE: the value of a key=value line (empty if absent).
kv() {
	sed -n "s/^$1=//p" "$2" | head -1
}

# wait_pid PID TENTHS: bounded wait for a process to exit; 0 if it did.
wait_pid() {
	for _ in $(seq "$2"); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	! kill -0 "$1" 2>/dev/null
}

# wait_ready PID LOG NAME: bounded wait for program NAME (PID) to print its "ready" line to LOG.
wait_ready() {
	for _ in $(seq 100); do
		grep -q '^ready' "$2" && return 0
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	grep -q '^ready' "$2" && return 0
	cat "$2" >&2
	fail "$3 did not come up"
}

# stop_pid PID LOG NAME: SIGTERM to program NAME (PID), which must exit, and exit 0, soon.
stop_pid() {
	kill -TERM "$1" 2>/dev/null
	wait_pid "$1" 50 || { kill -9 "$1"; fail "$3 ignored SIGTERM"; }
	wait "$1" || { cat "$2" >&2; fail "$3 failed"; }
}

# ethsum NS DEV REGEX: sum of the ethtool -S counters whose name matches REGEX.
ethsum() {
	ip netns exec "$1" ethtool -S "$2" 2>/dev/null |
		awk -v re="$3" '$1 ~ re { s += $2 } END { print s + 0 }'
}

# cpu_ticks: "busy total" jiffies of the whole VM from /proc/stat.
cpu_ticks() {
	awk '$1 == "cpu" { busy = $2 + $3 + $4 + $7 + $8; print busy, busy + $5 + $6 + $9 }' /proc/stat
}

# steal_ticks: "steal total" jiffies of the whole VM from /proc/stat: time the hypervisor gave
# our vCPUs to someone else, which no process of ours is charged for.
steal_ticks() {
	awk '$1 == "cpu" { print $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat
}

# steal_pct A B: percent of the VM's time stolen between two steal_ticks samples.
steal_pct() {
	awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ");
		d = y[2] - x[2]; printf "%.1f", (d > 0 ? 100 * (y[1] - x[1]) / d : 0) }'
}

# bg_load: percent of the VM busy over one second with nothing of ours running; with QUIET_WAIT=N
# it first waits (at most N seconds) for a second under 10 %.
bg_load() {
	local t0 t1 pct waited=0
	while :; do
		t0=$(cpu_ticks)
		sleep 1
		t1=$(cpu_ticks)
		pct=$(awk -v a="$t0" -v b="$t1" 'BEGIN { split(a, x, " "); split(b, y, " ");
			d = y[2] - x[2]; printf "%.0f", (d > 0 ? 100 * (y[1] - x[1]) / d : 0) }')
		waited=$((waited + 1))
		[ "$pct" -lt 10 ] || [ "$waited" -gt "$QUIET_WAIT" ] && break
	done
	echo "$pct"
}

# median NONE [FORMAT]: the median of the numbers on stdin, one a line (empty lines ignored), in
# printf FORMAT if given; NONE if there are none.
median() {
	sort -g | awk -v none="$1" -v fmt="${2:-}" '
		function put(m) { if (fmt == "") print m; else printf fmt "\n", m }
		NF { v[++n] = $1 }
		END { if (n == 0) print none; else if (n % 2) put(v[(n + 1) / 2]);
			else put((v[n / 2] + v[n / 2 + 1]) / 2) }'
}

# perf_shares PERF_DATA REPORT_OPTION...: the lines of perf report that carry a share.
perf_shares() {
	local pf=$1
	shift
	perf report -i "$pf" "$@" --stdio -g none 2>/dev/null | grep -E '^ +[0-9.]+%'
}

# plot_pair NAME SIZE KEY TITLE DAT LEFT RIGHT LABEL...: $out/NAME.png, copied to docs/img/,
# two clustered histograms side by side (SIZE "WIDTH,HEIGHT" pixels, the legend at KEY, TITLE
# over both) of 2 or 3 systems (LABEL..., the first grey, the last blue), a cluster per line of
# DAT: columns 2..N+1 on the left, N+2..2N+1 on the right.  LEFT and RIGHT are the gnuplot
# commands (";" or a newline between them) that set up each panel.
plot_pair() {
	local png=$out/$1.png size=$2 key=$3 title=$4 dat=$5 left=$6 right=$7 n i l r
	local colors=("#808080" "#e08020" "#2060c0")
	shift 7
	n=$#
	[ "$n" -ge 2 ] && [ "$n" -le 3 ] || fail "plot_pair: 2 or 3 systems"
	[ "$n" = 2 ] && colors=("#808080" "#2060c0")
	l="plot \"$dat\" using 2:xtic(1) title \"$1\" lc rgb \"${colors[0]}\""
	r="plot \"$dat\" using $((n + 2)):xtic(1) title \"$1\" lc rgb \"${colors[0]}\""
	for ((i = 2; i <= n; i++)); do
		l="$l, \"\" using $((i + 1)) title \"${!i}\" lc rgb \"${colors[i - 1]}\""
		r="$r, \"\" using $((n + i + 1)) title \"${!i}\" lc rgb \"${colors[i - 1]}\""
	done
	gnuplot <<EOF || fail "gnuplot"
set terminal pngcairo noenhanced size $size font ",10"
set output "$png"
set multiplot layout 1,2 title "$title"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set key $key
set grid ytics
$left
$l
$right
$r
unset multiplot
EOF
	cp "$png" "docs/img/${png##*/}" || fail "copy $png to docs/img"
}

# --- one run of a TCP service (echo_rr.sh, sink.sh) --------------------------------------------

RR_CLIENT=$BUILD/bench/rr_client
ECHO_SERVER=$BUILD/bench/echo_server
IX_RR=$BUILD/bin/ix-rr
IX_ECHO=$BUILD/bin/ix-echo

# rr_settings: bench_settings and those echo_rr.sh and sink.sh add (their headers list them),
# checked, and the programs their runs need.
# shellcheck disable=SC2034 # the caller's settings
rr_settings() {
	bench_settings
	WARMUP=${WARMUP:-1}
	WORKERS=${WORKERS:-1}
	SRV_CPU=${SRV_CPU:-0}
	CLI_CPU=${CLI_CPU:-1}
	NQ=${NQ:-$WORKERS}
	PORT=${PORT:-7000}
	LINUX_ARGS=${LINUX_ARGS:-}
	PEER_RPS=${PEER_RPS:-0}
	need_numbers WARMUP WORKERS SRV_CPU CLI_CPU NQ PORT PEER_RPS
	[ "$NQ" -ge 1 ] || fail "NQ must be >= 1"
	[ "$WORKERS" -ge 1 ] && [ "$WORKERS" -le "$(nproc --all)" ] ||
		fail "WORKERS must be 1 to $(nproc --all)"
	if [ "$WORKERS" = 1 ]; then
		need_cpus SRV_CPU CLI_CPU
		SRV_CPUS=$SRV_CPU
	else
		# As a user first runs it: a worker on each CPU, the Linux twin's threads and the
		# client wherever the scheduler puts them.
		SRV_CPUS=0-$((WORKERS - 1)) SRV_CPU= CLI_CPU= PEER_RPS=0
	fi
	need_built "$RR_CLIENT" "$ECHO_SERVER" "$IXDPD" "$IXDPCTL" "$IX_RR"
}

# rr_up: the topology (netns_up NQ); with PEER_RPS=1, peer0 steers what it receives to the
# client's CPU (RPS), so the client's receive no longer runs in the softirq of the server's
# transmit on the server's CPU (veth's billing, shared/notes/afxdp-veth.md §4): closer to two
# machines.  The same for both systems.
rr_up() {
	local q
	netns_up "$NQ"
	[ "$PEER_RPS" = 1 ] || return 0
	for q in $(seq 0 $((NQ - 1))); do
		in_peer sh -c "printf %x $((1 << CLI_CPU)) >/sys/class/net/peer0/queues/rx-$q/rps_cpus" ||
			fail "RPS on peer0"
	done
}

# rr_pinning NOTE: where everything ran and with which options, for the headers; NOTE (if not
# empty) says how the client ran.
rr_pinning() {
	local p="server CPU $SRV_CPU, client CPU $CLI_CPU, $NQ veth queue(s)${1:+, $1}"
	[ "$WORKERS" = 1 ] || p="$WORKERS ixdpd workers on CPUs $SRV_CPUS, Linux twin $WORKERS threads unpinned, client unpinned, $NQ veth queues${1:+, $1}"
	[ "$PEER_RPS" = 1 ] && p="$p, peer0 RPS to CPU $CLI_CPU"
	[ -n "$IXDPD_ARGS" ] && p="$p, ixdpd $IXDPD_ARGS"
	[ -n "$LINUX_ARGS" ] && p="$p, echo_server $LINUX_ARGS"
	echo "$p"
}

# snmp NS PROTO FIELD: a counter of /proc/net/snmp or /proc/net/netstat inside namespace NS
# (per namespace, unlike nstat's history file, which every user of the machine shares).
snmp() {
	ip netns exec "$1" cat /proc/net/snmp /proc/net/netstat 2>/dev/null |
		awk -v p="$2:" -v f="$3" '$1 == p { if (!hdr) { for (i = 2; i <= NF; i++)
			if ($i == f) col = i; hdr = 1 } else { if (col) print $col; exit } }' |
		awk '{ v = $1 } END { print v + 0 }'
}

# net_counters: the drop and retransmission counters a run is checked against, one line.
#  peer_tx_dropped  skbs veth dropped on their way from peer0 into dut0 (with XDP on dut0: its
#                   256-entry ring was full; the client's TCP then holds the segment unsent)
#  dut_rxq_drops    frames dut0's XDP redirected that found the AF_XDP RX ring full
#  cli_retrans / cli_timeouts   the client kernel's TCP retransmissions and RTO expiries
net_counters() {
	echo "$(ip netns exec "$ns_peer" cat /sys/class/net/peer0/statistics/tx_dropped)" \
		"$(ethsum "$ns_dut" dut0 '^rx_queue_[0-9]+_drops:')" \
		"$(snmp "$ns_peer" Tcp RetransSegs)" "$(snmp "$ns_peer" TcpExt TCPTimeouts)"
}

# serve_linux MODE [-S]: the Linux twin (echo or sink): WORKERS epoll threads, with one worker
# pinned to SRV_CPU; -S: each spins in epoll_wait(..., 0) instead of sleeping (the twin at its
# best, as ixdp's workers spin).  Sets SRV_PID.
serve_linux() {
	local opts=(-t "$WORKERS")
	[ "$1" = sink ] && opts+=(-k)
	[ "${2:-}" = -S ] && opts+=(-S)
	[ -n "$SRV_CPU" ] && opts+=(-c "$SRV_CPU")
	# Not through in_dut: $! must be the server itself (ip netns exec execs it).
	# shellcheck disable=SC2086 # LINUX_ARGS is a list of options
	ip netns exec "$ns_dut" "$ECHO_SERVER" -a "$DUT_IP" -p "$PORT" "${opts[@]}" \
		-d $((DURATION + WARMUP + 150)) $LINUX_ARGS >"$tmp_dir/srv.out" 2>&1 &
	SRV_PID=$!
	_pids+=("$SRV_PID")
	wait_ready "$SRV_PID" "$tmp_dir/srv.out" echo_server
}

# serve_linux-spin MODE, stop_linux-spin OUT: the twin busy-polling.
serve_linux-spin() {
	serve_linux "$1" -S
}
stop_linux-spin() {
	stop_linux "$1"
}

# stop_linux OUT: stop the twin, add its counters (srv_*) to OUT.
stop_linux() {
	stop_pid "$SRV_PID" "$tmp_dir/srv.out" echo_server
	sed -n 's/^\([a-z_]*=\)/srv_\1/p' "$tmp_dir/srv.out" >>"$1"
	echo "srv_conns_left=0" >>"$1"
}

# ixdpd_idle_args: with IDLE_SPIN_OFF=1, the options that make ixdpd's workers sleep as soon as
# they have nothing to do (CPU per request without idle polling; the app's side is IXDP_SPIN_US).
ixdpd_idle_args() {
	[ "${IDLE_SPIN_OFF:-0}" = 1 ] && echo "--idle-spin-us 0"
}

# serve_ixdp MODE: ixdpd with --echo-tcp or --sink-tcp, WORKERS workers on SRV_CPUS; sets SRV_PID.
serve_ixdp() {
	# shellcheck disable=SC2086,SC2046 # IXDPD_ARGS is a list of options
	ixdpd_start "--$1-tcp" "$PORT" --workers "$WORKERS" --cpus "$SRV_CPUS" $IXDPD_ARGS \
		$(ixdpd_idle_args)
	SRV_PID=$IXDPD_PID
	stats_json >"$tmp_dir/ix0.json" || fail "ixdpctl stats"
}

# stop_ixdp OUT: ixdpd's counters over the run (srv_*) into OUT, then stop it.
#  srv_conns_left: connections still open 2 s after the client aborted all of its own (each
#  abort is a RST; one that is lost leaves ixdpd a connection nobody will ever use again).
stop_ixdp() {
	local js=$tmp_dir/ix1.json left
	stats_json >"$js" || fail "ixdpctl stats"
	for _ in $(seq 20); do
		left=$(stats_json | jq '[.workers[].tcp.conns] | add')
		[ "$left" = 0 ] && break
		sleep 0.1
	done
	jq -r --slurpfile a "$tmp_dir/ix0.json" '
		def d(f): ([.workers[] | f] | add) - ([$a[0].workers[] | f] | add);
		"srv_retrans=\(d(.tcp.retrans))", "srv_segs_in=\(d(.tcp.segs_in))",
		"srv_segs_out=\(d(.tcp.segs_out))", "srv_sleeps=\(d(.sleeps))",
		"srv_tx_dropped=\(d(.tx_dropped))", "srv_xsk_rx_dropped=\(d(.xsk_rx_dropped))",
		"srv_tcp_dropped=\(d(.tcp.dropped))", "srv_rx_invalid=\(d(.rx_invalid))",
		"srv_mean_batch=\(if d(.rx_bursts) > 0 then (d(.rx_packets) / d(.rx_bursts) * 100 |
			round / 100) else 0 end)",
		"srv_busy_pct=\([.workers[].busy_pct] | add)"' "$js" >>"$1" ||
		fail "ixdpctl stats: unexpected JSON"
	echo "srv_conns_left=${left:-unknown}" >>"$1"
	ixdpd_stop || fail "ixdpd exited with status $?"
}

# serve_ixapp MODE: ixdpd (WORKERS workers on SRV_CPUS, no diagnostic service) and an echo app
# with a thread per worker on the same CPUs (shared/BENCH.md: the same CPUs as the Linux twin;
# with several workers unpinned, as the twin's threads): the native ix-rr, or with APP=ixev the
# ixev ix-echo; sets SRV_PID and APP_PID.  (echo only.)
serve_ixapp() {
	local app=("$IX_RR" server) pin=() envs=(IXDP_CONTROL="$CONTROL")
	[ "$1" = echo ] || fail "ixapp serves echo only"
	[ "${APP:-native}" = ixev ] && app=("$IX_ECHO")
	[ -n "$SRV_CPU" ] && pin=(taskset -c "$SRV_CPU")
	# shellcheck disable=SC2086,SC2046 # IXDPD_ARGS is a list of options
	ixdpd_start --workers "$WORKERS" --cpus "$SRV_CPUS" $IXDPD_ARGS $(ixdpd_idle_args)
	SRV_PID=$IXDPD_PID
	[ "${IDLE_SPIN_OFF:-0}" = 1 ] && envs+=(IXDP_SPIN_US=0)
	# env execs the app: $! is the app itself
	env "${envs[@]}" "${pin[@]}" "${app[@]}" -p "$PORT" -t "$WORKERS" >"$tmp_dir/app.out" 2>&1 &
	APP_PID=$!
	_pids+=("$APP_PID")
	# one context per app thread
	for _ in $(seq 50); do
		[ "$(stats_json | jq .apps.attached_now)" = "$WORKERS" ] && break
		sleep 0.1
	done
	[ "$(stats_json | jq .apps.attached_now)" = "$WORKERS" ] ||
		fail "the echo app did not attach $WORKERS contexts: $(cat "$tmp_dir/app.out")"
	sleep 0.2 # its listen reaches every worker
	stats_json >"$tmp_dir/ix0.json" || fail "ixdpctl stats"
}

# stop_ixapp OUT: the app, then ixdpd as stop_ixdp.
stop_ixapp() {
	stop_pid "$APP_PID" "$tmp_dir/app.out" "echo app"
	APP_PID=
	stop_ixdp "$1"
}

# serve_ixshim MODE: ixdpd as for serve_ixapp, and the Linux twin's own epoll echo server
# (bench/echo_server, unmodified, sleeping in epoll_wait as an ordinary server does) under the
# shim (ixdp-run) with WORKERS threads on the same CPUs; sets SRV_PID and APP_PID.  (echo only.)
serve_ixshim() {
	local pin=() envs=(IXDP_CONTROL="$CONTROL")
	[ "$1" = echo ] || fail "the shim serves echo only here"
	[ -n "$SRV_CPU" ] && pin=(-c "$SRV_CPU")
	# shellcheck disable=SC2086,SC2046 # IXDPD_ARGS is a list of options
	ixdpd_start --workers "$WORKERS" --cpus "$SRV_CPUS" $IXDPD_ARGS $(ixdpd_idle_args)
	SRV_PID=$IXDPD_PID
	[ "${IDLE_SPIN_OFF:-0}" = 1 ] && envs+=(IXDP_SPIN_US=0)
	# ip netns exec, env and ixdp-run exec: $! is the echo server itself
	ip netns exec "$ns_dut" env "${envs[@]}" "$BUILD/bin/ixdp-run" "$ECHO_SERVER" -a "$DUT_IP" \
		-p "$PORT" -t "$WORKERS" "${pin[@]}" -d $((DURATION + WARMUP + 150)) \
		>"$tmp_dir/app.out" 2>&1 &
	APP_PID=$!
	_pids+=("$APP_PID")
	wait_ready "$APP_PID" "$tmp_dir/app.out" "echo_server under the shim"
	stats_json >"$tmp_dir/ix0.json" || fail "ixdpctl stats"
}

# stop_ixshim OUT: the echo server, then ixdpd as stop_ixdp.
stop_ixshim() {
	stop_pid "$APP_PID" "$tmp_dir/app.out" "echo_server under the shim"
	APP_PID=
	stop_ixdp "$1"
}

# client OUT ERR CLIENT_ARGS...: rr_client against the service SRV_PID serves (with the app
# APP_PID, if set), in the background (its pid in CLIENT_PID), sampling the server's CPU and
# ksoftirqd's over the window.
client() {
	local o=$1 e=$2
	shift 2
	timeout -k 5 $((DURATION + WARMUP + 120)) ip netns exec "$ns_peer" "$RR_CLIENT" \
		-a "$DUT_IP" -p "$PORT" ${CLI_CPU:+-C "$CLI_CPU"} ${SRV_CPU:+-K "$SRV_CPU"} \
		-P "$SRV_PID" ${APP_PID:+-A "$APP_PID"} \
		-d "$DURATION" -w "$WARMUP" "$@" >"$o" 2>"$e" &
	CLIENT_PID=$!
	_pids+=("$CLIENT_PID")
}

# measure SYS MODE OUT CLIENT_ARGS...: one run of SYS (linux, linux-spin or ixdp, ixapp)
# serving MODE (echo or sink) under rr_client CLIENT_ARGS; everything it learnt goes to OUT as
# key=value lines, with failed= and contended= for the drop rule (run_verdict).  A client that
# failed is recorded, not fatal: a benchmark reports what happened.  A server that fails to stop
# cleanly is fatal: that is a bug to see, not noise to drop.
measure() {
	local sys=$1 mode=$2 out=$3 bg n0 n1 rc st0 st1
	shift 3
	bg=$(bg_load)
	n0=$(net_counters)
	"serve_$sys" "$mode"
	st0=$(steal_ticks)
	client "$out" "$out.err" "$@"
	wait "$CLIENT_PID"
	rc=$?
	st1=$(steal_ticks)
	"stop_$sys" "$out"
	n1=$(net_counters)
	{
		echo "system=$sys"
		echo "bg_busy_pct=$bg"
		echo "client_failed=$((rc != 0))"
		[ "$rc" != 0 ] && echo "client_error=$(tr '\n,' '; ' <"$out.err")"
		awk -v a="$n0" -v b="$n1" 'BEGIN { split(a, x, " "); split(b, y, " ");
			printf "peer_tx_dropped=%d\ndut_rxq_drops=%d\ncli_retrans=%d\ncli_timeouts=%d\n",
				y[1] - x[1], y[2] - x[2], y[3] - x[3], y[4] - x[4] }'
	} >>"$out"
	if [ "$rc" != 0 ]; then
		echo "  $sys: the client failed (exit $rc): $(head -c 300 "$out.err")" >&2
		echo "failed=1" >>"$out"
		return 0
	fi
	echo "failed=$(( $(kv errors "$out") + 0 > 0 ))" >>"$out"
	# other = whole-VM busy time that was not the server's, the client's or ksoftirqd's;
	# stolen = the VM's time the hypervisor gave to others while the client ran
	awk -v vm="$(kv vm_busy_ns "$out")" -v s="$(kv srv_cpu_ns "$out")" \
		-v c="$(kv cli_cpu_ns "$out")" -v k="$(kv softirqd_ns "$out")" \
		-v w="$(kv window_ns "$out")" -v lim="$CONTENDED_PCT" \
		-v st="$(steal_pct "$st0" "$st1")" 'BEGIN {
		o = w > 0 ? 100 * (vm - s - c - k) / w : 0
		if (o < 0)
			o = 0 # tick-sampled /proc/stat against precise runtimes
		printf "other_cpu_pct=%.1f\nstolen_pct=%.1f\ncontended=%d\n", o, st,
			(o > lim || st > lim) }' >>"$out"
}

# --- the drop rule: the same in every benchmark ------------------------------------------------
#
# A run is kept when it ran to its end without failing (the load generator or client exited
# non-zero, or the client saw a wrong answer) and was not contended (work that was neither ours
# nor the kernel's softirq threads took more than CONTENDED_PCT % of a CPU in its window, or the
# hypervisor took more than CONTENDED_PCT % of the VM's time from it: steal, which no process
# is charged for, and which made runs with a stalled client look clean before).  A
# run that is not kept is tried again, RETRIES times at most, and the last try that fails is
# dropped.  Every try is a row of the CSV, with kept (1 or 0) and drop (why: failed, contended);
# no median and no ratio uses a row with kept=0, and a pair of runs (the systems back to back)
# counts only when both were kept.  Each report says how many tries were dropped, and why
# (drop_summary).  Which system runs first alternates from one pair to the next (pair_order).

# run_verdict OUT: nothing when the run in OUT (key=value lines) is kept, else why not.
run_verdict() {
	if [ "$(kv failed "$1")" != 0 ]; then
		echo failed
	elif [ "$(kv contended "$1")" != 0 ]; then
		echo "contended (other CPU $(kv other_cpu_pct "$1") %, stolen $(kv stolen_pct "$1") %)"
	fi
}

# keep_run RECORD OUT RUN_CMD...: RUN_CMD (one run, its key=value lines into OUT, failed= and
# contended= among them) until a try is kept, RETRIES + 1 tries at most; after each try, kept=,
# drop= and try= are added to OUT and RECORD OUT runs (RECORD: a command and its first
# arguments, split on spaces).
keep_run() {
	local rec=$1 out=$2 try why
	shift 2
	for try in $(seq 1 $((RETRIES + 1))); do
		: >"$out"
		"$@"
		why=$(run_verdict "$out")
		{
			echo "kept=$([ -z "$why" ] && echo 1 || echo 0)"
			echo "drop=${why%% *}"
			echo "try=$try"
		} >>"$out"
		# shellcheck disable=SC2086 # RECORD is a command and its first arguments
		$rec "$out"
		[ -z "$why" ] && return 0
		if [ "$try" -le "$RETRIES" ]; then
			echo "  $why: again"
		else
			echo "  $why in all $try tries: dropped"
		fi
	done
	return 0
}

# pair_order RUN SYSTEM...: the systems in the order run RUN runs them: as given in odd runs,
# reversed in even ones, so each system goes first (and last) as often as the others.
pair_order() {
	local run=$1 i
	shift
	if [ $((run % 2)) = 1 ]; then
		echo "$@"
	else
		for ((i = $#; i >= 1; i--)); do
			printf '%s ' "${!i}"
		done
		echo
	fi
}

# drop_summary CSV KEPT_COLUMN DROP_COLUMN: one line: how many tries were kept and dropped, and why.
drop_summary() {
	awk -F, -v k="$2" -v d="$3" 'NR > 1 { n++; if ($k == 1) kept++; else why[$d]++ }
		END { printf "drop rule (bench/lib.sh): %d of %d tries kept", kept, n
			for (w in why) printf "; %d dropped %s", why[w], w
			print "" }' "$1"
}

# lwip_symbols: perf cannot name what runs in ixdpd's lwIP copies (each is dlopen()ed from an
# unlinked memfd), but the copy is byte for byte Debian's liblwip, whose text is mapped at its
# file offsets: resolve perf's "memfd:liblwip [.] 0xADDR" lines (stdin, perf report --sort
# dso,sym) against that library's dynamic symbols, and sum them per function.
lwip_symbols() {
	local lib
	lib=/usr/lib/$(gcc -print-multiarch)/liblwip.so.0
	# mawk has no strtonum(): hex() converts perf's and nm's addresses
	awk '
		function hex(s,   i, c, v) {
			v = 0
			s = tolower(s)
			sub(/^0x/, "", s)
			for (i = 1; i <= length(s); i++) {
				c = index("0123456789abcdef", substr(s, i, 1)) - 1
				v = v * 16 + c
			}
			return v
		}
		FNR == NR { if ($2 ~ /^[Tt]$/) { n++; addr[n] = hex($1); name[n] = $3 }; next }
		/liblwip/ && $NF ~ /^0x/ {
			a = hex($NF); best = "?"; ba = -1
			for (i = 1; i <= n; i++)
				if (addr[i] <= a && addr[i] > ba) { ba = addr[i]; best = name[i] }
			pct = $1; sub(/%/, "", pct); sum[best] += pct
		}
		END { for (s in sum) printf "%7.2f%%  lwIP  %s\n", sum[s], s }' \
		<(nm -D --defined-only "$lib" 2>/dev/null) - | sort -rn
}

# rr_profile REPORT SYS MODE WHAT KEYS CLIENT_ARGS...: one unmeasured run of SYS serving MODE
# under rr_client CLIENT_ARGS, perf sampling BOTH CPUs (perf record -a) for 2 s after the
# warm-up (the run lasts DURATION s, at least 3).  On veth each CPU runs part of the other
# side's work (the sender's CPU runs the receiver's XDP, copy and TCP input), so a claim about
# which side is the bottleneck needs both: REPORT has, headed by WHAT and the client's figures
# whose keys match KEYS, the share of every CPU by command (idle: swapper), each CPU's top
# symbols, then the server process (and its app) alone: by DSO, by symbol (self), lwIP's
# functions, and by symbol with callees.
# shellcheck disable=SC2154 # pinning: the caller's
rr_profile() {
	local rep=$1 sys=$2 mode=$3 what=$4 keys=$5 f=$tmp_dir/profile.$2 pf=$tmp_dir/$2.perf
	local DURATION=$((DURATION > 3 ? DURATION : 3)) # the server's time limit follows it
	local pids cpu app
	shift 5
	"serve_$sys" "$mode"
	pids=$SRV_PID${APP_PID:+,$APP_PID}
	app=${APP_PID:+ and its app}
	client "$f" "$f.err" "$@"
	sleep $((WARMUP + 1))
	timeout 30 perf record -q -a -e cpu-clock -g -o "$pf" -- sleep 2 >/dev/null 2>&1
	wait "$CLIENT_PID" || echo "profile: the client failed: $(cat "$f" "$f.err")" >&2
	"stop_$sys" "$f"
	{
		echo "# $what: perf record -a -e cpu-clock -g (both CPUs), 2 s under load"
		echo "# $(grep -E "^($keys)=" "$f" | tr '\n' ' ')"
		echo "# commit $commit, $date, $pinning"
		echo "## both CPUs: share of all samples by CPU and command (swapper: idle)"
		perf_shares "$pf" --no-children --sort cpu,comm | head -30
		for cpu in $(seq 0 $(($(nproc --all) - 1))); do
			echo "## CPU $cpu alone (100 % = that CPU): self, by command, DSO and symbol"
			perf_shares "$pf" --no-children --percentage relative --cpu "$cpu" \
				--sort comm,dso,sym | head -25
			echo "## CPU $cpu alone: with callees (children), by command and symbol"
			perf_shares "$pf" --children --percentage relative --cpu "$cpu" \
				--sort comm,sym | head -30
		done
		echo "## the server process$app alone (100 % = its samples): by DSO"
		perf_shares "$pf" --no-children --percentage relative --pid "$pids" --sort dso
		echo "## the server process: self, by symbol"
		perf_shares "$pf" --no-children --percentage relative --pid "$pids" --sort dso,sym |
			grep -v liblwip | head -40
		if [ "$sys" = ixdp ] || [ "$sys" = ixapp ]; then
			echo "## the server process: self, lwIP (its copies run from memfds perf cannot"
			echo "## read; resolved against Debian's liblwip.so.0, static functions under the"
			echo "## export before them)"
			perf_shares "$pf" --no-children --percentage relative --pid "$pids" \
				--sort dso,sym | lwip_symbols | head -15
		fi
		echo "## the server process: with callees (children), by symbol"
		perf_shares "$pf" --children --percentage relative --pid "$pids" --sort sym | head -60
	} >"$rep"
	echo "profile: $rep"
}
