#!/bin/bash
# nginx.sh - nginx requests/s (issue 11's benchmark): Debian's nginx, unmodified, under the shim
# (ixdp-run: libix-preload.so over ixdpd's TCP) against the same nginx on the kernel's TCP,
# side by side in one run, driven by the same client (wrk).
#
#   sudo BUILD=build bench/nginx.sh        (after make)
#
#   env: RUNS=3 DURATION=5 WARMUP=1 CONNS="32" MODES="keepalive close" FILE=1024 NGX_WORKERS=1
#        SRV_CPU=0 CLI_CPU=1 PORT_NGX=8080 RETRIES=2 CONTENDED_PCT=10 QUIET_WAIT=0 IXDPD_ARGS=
#        REPORT_ONLY=1 (no runs: the table and plot again from the CSV)
#
# nginx (a master and NGX_WORKERS workers, sendfile, tcp_nopush, access_log off) serves a
# FILE-byte static file on 198.18.0.1:PORT_NGX in the DUT namespace, pinned with its workers to
# SRV_CPU: "ngx-linux" on the kernel, "ngx-shim" under ixdp-run beside one ixdpd worker on the
# same CPU (the shim's server is nginx and ixdpd together; both count as the server's CPU).
# wrk, one thread pinned to CLI_CPU in the peer namespace, keeps C connections busy for
# DURATION s after WARMUP s of warm-up: "keepalive" (HTTP/1.1 keepalive, a request after each
# answer) and "close" (Connection: close, a connection per request: the handshake, the request
# and both FINs are the work).  RUNS passes in an order that alternates (bench/lib.sh
# pair_order): requests/s, wrk's latency percentiles at saturation (p50, p99), server CPU per
# request (utime + stime of nginx's processes and ixdpd from /proc, in clock ticks).
#
# Not BENCH.md's full set: wrk cannot pace an open loop, so latency is read at saturation only,
# not at an equal offered load; and nginx has no busy-polling configuration, so the Linux twin
# runs as nginx does by default (epoll that sleeps).  The drop rule is bench/lib.sh's: a run
# with socket errors or non-2xx answers, or contended (other work above CONTENDED_PCT % of a
# CPU, or steal), is tried again, RETRIES times at most; one never kept is dropped, stays in the
# CSV marked, and counts in no median and no ratio.
#
# Output: the table on stdout and in $BUILD/bench/nginx.txt, every try in
# $BUILD/bench/nginx.csv, the plot $BUILD/bench/nginx.png (copied to docs/img/).  A benchmark
# reports; it never fails on a number.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
need_root

bench_settings
WARMUP=${WARMUP:-1}
CONNS=${CONNS:-32}
MODES=${MODES:-"keepalive close"}
FILE=${FILE:-1024}
NGX_WORKERS=${NGX_WORKERS:-1}
SRV_CPU=${SRV_CPU:-0}
CLI_CPU=${CLI_CPU:-1}
PORT=${PORT_NGX:-8080}
REPORT_ONLY=${REPORT_ONLY:-0}
RUN=$BUILD/bin/ixdp-run
need_numbers WARMUP FILE NGX_WORKERS SRV_CPU CLI_CPU PORT
need_cpus SRV_CPU CLI_CPU
for v in $CONNS; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || fail "CONNS is a list of numbers >= 1"
done
for m in $MODES; do
	[ "$m" = keepalive ] || [ "$m" = close ] || fail "MODES: keepalive, close"
done
command -v nginx >/dev/null && command -v wrk >/dev/null ||
	fail "nginx and wrk are not installed (scripts/install-deps.sh)"
need_built "$RUN" "$BUILD/lib/libix-preload.so" "$IXDPD" "$IXDPCTL"
systems="ngx-linux ngx-shim"
HZ=$(getconf CLK_TCK)

bench_init nginx
pinning="nginx ($NGX_WORKERS worker(s)) on CPU $SRV_CPU (ngx-shim: with one ixdpd worker"
pinning="$pinning there), wrk -t 1 on CPU $CLI_CPU"
[ -n "$IXDPD_ARGS" ] && pinning="$pinning, ixdpd $IXDPD_ARGS"
columns=(date commit mode system conns rps p50_us p99_us errors srv_us_per_req srv_cpu_pct
	cli_cpu_pct other_cpu_pct stolen_pct run kept drop try)
csv_open "${columns[@]}"

# proc_ticks PID...: utime + stime of these processes (all their threads), clock ticks.
proc_ticks() {
	local p
	for p in "$@"; do
		awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null
	done | awk '{ s += $1 } END { print s + 0 }'
}
softirqd_ticks() {
	proc_ticks $(pgrep -x 'ksoftirqd/[0-9]+')
}

# ngx_conf: nginx's configuration (the same for both systems).
ngx_conf() {
	mkdir -p "$tmp_dir/ngx" "$tmp_dir/www"
	head -c "$FILE" /dev/urandom >"$tmp_dir/www/f" || fail "the test file"
	nginx_conf "$tmp_dir/nginx.conf" \
		"master_process on; worker_processes $NGX_WORKERS; user root; worker_rlimit_nofile 8192;" \
		"worker_connections 4096;" "$DUT_IP:$PORT" "$tmp_dir/www"
}

# ngx_start [RUNNER...]: nginx in the DUT namespace on SRV_CPU (its workers inherit the CPU),
# through RUNNER (nothing, or ixdp-run); NGX_PID once its workers are up.
ngx_start() {
	ip netns exec "$ns_dut" taskset -c "$SRV_CPU" "$@" nginx -e "$tmp_dir/ngx/startup.log" \
		-c "$tmp_dir/nginx.conf" >"$tmp_dir/ngx.log" 2>&1 &
	NGX_PID=$!
	_pids+=("$NGX_PID")
	for _ in $(seq 100); do
		[ "$(pgrep -c -P "$NGX_PID" nginx)" -eq "$NGX_WORKERS" ] &&
			in_dut ss -tln "sport = :$PORT" | grep -q LISTEN && return 0
		kill -0 "$NGX_PID" 2>/dev/null || break
		sleep 0.1
	done
	fail "nginx did not start: $(cat "$tmp_dir/ngx.log" "$tmp_dir/ngx/error.log" 2>/dev/null)"
}
ngx_stop() {
	kill -QUIT "$NGX_PID" 2>/dev/null
	wait_pid "$NGX_PID" 100 || { kill -9 "$NGX_PID"; fail "nginx did not exit on QUIT"; }
	wait "$NGX_PID" 2>/dev/null
}
serve_ngx-linux() {
	ngx_start
	SRV_PIDS="$NGX_PID $(pgrep -P "$NGX_PID" nginx | tr '\n' ' ')"
}
stop_ngx-linux() {
	ngx_stop
}
serve_ngx-shim() {
	# shellcheck disable=SC2086 # IXDPD_ARGS is a list of options
	ixdpd_start --workers 1 --cpus "$SRV_CPU" $IXDPD_ARGS || fail "ixdpd did not start"
	ngx_start env IXDP_CONTROL="$CONTROL" "$RUN"
	SRV_PIDS="$IXDPD_PID $NGX_PID $(pgrep -P "$NGX_PID" nginx | tr '\n' ' ')"
}
stop_ngx-shim() {
	ngx_stop
	ixdpd_stop || fail "ixdpd exited with status $?"
}

# wrk_run OUT MODE C SECONDS: wrk on CLI_CPU in the peer namespace, its output to OUT; then
# the line "cli_ticks=N", wrk's own CPU: the children's time of the shell that waited for it.
wrk_run() {
	local hdr=()
	[ "$2" = close ] && hdr=(-H "Connection: close")
	timeout -k 5 $(($4 + 60)) ip netns exec "$ns_peer" taskset -c "$CLI_CPU" sh -c \
		'wrk "$@" >"$0" 2>&1; cat /proc/$$/stat >"$0.stat"' \
		"$1" -t 1 -c "$3" -d "${4}s" --latency "${hdr[@]}" "http://$DUT_IP:$PORT/f"
	awk '{ sub(/^.*\) /, ""); print "cli_ticks=" $14 + $15 }' "$1.stat" >>"$1"
}

# wrk_us "2.10ms": wrk's latency in microseconds.
wrk_us() {
	awk -v t="$1" 'BEGIN { v = t + 0; if (t ~ /us$/) u = 1; else if (t ~ /ms$/) u = 1000;
		else if (t ~ /s$/) u = 1e6; else u = 1; printf "%.1f", v * u }'
}

# measure SYS MODE C OUT: one run, its key=value lines (failed=, contended= among them) in OUT.
measure() {
	local sys=$1 mode=$2 c=$3 o=$4 w=$4.wrk s0 s1 k0 k1 v0 v1 st0 st1 rps p50 p99 errs
	bg_load >/dev/null
	"serve_$sys"
	wrk_run "$w" "$mode" "$c" "$WARMUP" >/dev/null 2>&1
	s0=$(proc_ticks $SRV_PIDS) k0=$(softirqd_ticks) v0=$(cpu_ticks) st0=$(steal_ticks)
	wrk_run "$w" "$mode" "$c" "$DURATION"
	s1=$(proc_ticks $SRV_PIDS) k1=$(softirqd_ticks) v1=$(cpu_ticks) st1=$(steal_ticks)
	"stop_$sys"
	rps=$(awk '/^Requests\/sec:/ { print $2 }' "$w")
	p50=$(wrk_us "$(awk '$1 == "50%" { print $2 }' "$w")")
	p99=$(wrk_us "$(awk '$1 == "99%" { print $2 }' "$w")")
	errs=$(awk '/Socket errors:/ { gsub(/,/, ""); e += $4 + $6 + $8 + $10 }
		/Non-2xx/ { e += $NF } END { print e + 0 }' "$w")
	{
		echo "system=$sys"
		echo "mode=$mode"
		echo "conns=$c"
		echo "rps=${rps:-0}"
		echo "p50_us=$p50"
		echo "p99_us=$p99"
		echo "errors=$errs"
		echo "failed=$([ -n "$rps" ] && [ "$errs" = 0 ] && echo 0 || echo 1)"
		awk -v s="$((s1 - s0))" -v k="$((k1 - k0))" -v c="$(kv cli_ticks "$w")" \
			-v a="$v0" -v b="$v1" -v r="${rps:-0}" -v d="$DURATION" -v hz="$HZ" \
			-v st="$(steal_pct "$st0" "$st1")" -v lim="$CONTENDED_PCT" 'BEGIN {
			split(a, x, " "); split(b, y, " ")
			win = d * hz	# one CPU for the window, in ticks
			o = 100 * ((y[1] - x[1]) - s - k - c) / win
			if (o < 0)
				o = 0	# tick-sampled /proc/stat against per-process ticks
			printf "srv_us_per_req=%.2f\nsrv_cpu_pct=%.1f\ncli_cpu_pct=%.1f\n",
				(r > 0 ? s / hz / (r * d) * 1e6 : 0), 100 * s / win, 100 * c / win
			printf "other_cpu_pct=%.1f\nstolen_pct=%.1f\ncontended=%d\n", o, st,
				(o > lim || st > lim) }'
	} >>"$o"
	[ "$(kv failed "$o")" = 0 ] || echo "  $sys: $(grep -E 'errors|Non-2xx' "$w" | head -2)" >&2
}

# record MODE RUN FILE: one CSV row from a try's key=value file.
record() {
	awk -F= -v date="$date" -v commit="$commit" -v run="$2" '
		{ v[$1] = substr($0, length($1) + 2) }
		END {
			printf "%s,%s,%s,%s,%d,%.0f,%.1f,%.1f,%d,%.2f,%.1f,%.1f,%.1f,%.1f,%d,%d,%s,%d\n",
				date, commit, v["mode"], v["system"], v["conns"], v["rps"], v["p50_us"],
				v["p99_us"], v["errors"], v["srv_us_per_req"], v["srv_cpu_pct"],
				v["cli_cpu_pct"], v["other_cpu_pct"], v["stolen_pct"], run, v["kept"],
				v["drop"], v["try"] }' "$3" >>"$csv"
}

C_RUN=$(col run) C_KEPT=$(col kept) C_DROP=$(col drop)

# value MODE SYSTEM CONNS COLUMN: the median over that configuration's kept runs.
value() {
	awk -F, -v m="$1" -v s="$2" -v c="$3" -v k="$(col "$4")" -v kc="$C_KEPT" \
		'NR > 1 && $3 == m && $4 == s && $5 == c && $kc == 1 { print $k }' "$csv" | median ''
}
# ratio_of MODE CONNS COLUMN: the median over passes of ngx-shim / ngx-linux, both kept.
ratio_of() {
	awk -F, -v m="$1" -v c="$2" -v k="$(col "$3")" -v rc="$C_RUN" -v kc="$C_KEPT" \
		'NR > 1 && $3 == m && $5 == c && $kc == 1 {
		if ($4 == "ngx-shim") x[$rc] = $k; else b[$rc] = $k }
		END { for (r in x) if ((r in b) && b[r] > 0) print x[r] / b[r] }' "$csv" | median - %.2f
}

if [ "$REPORT_ONLY" != 1 ]; then
	netns_up 1
	ngx_conf
	echo "nginx: a $FILE-byte file, ${DURATION} s per run after ${WARMUP} s of warm-up"
	echo "commit $commit, kernel $kernel, $pinning, $date"
	for run in $(seq "$RUNS"); do
		for mode in $MODES; do
			for c in $CONNS; do
				for sys in $(pair_order "$run" $systems); do
					echo "pass $run: $sys, $mode, $c connections"
					f=$tmp_dir/$sys.$mode.$c.$run
					keep_run "record $mode $run" "$f" measure "$sys" "$mode" "$c" "$f"
				done
			done
		done
	done
fi

report() {
	local mode c sys
	echo "nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'): a $FILE-byte static file, wrk -t 1," \
		"${DURATION} s per run"
	echo "commit $commit, kernel $kernel, 2 vCPUs, $pinning, $date"
	echo "server CPU = utime + stime of nginx's processes (and ixdpd) per request"
	echo
	printf '%-9s %5s %-9s %4s %10s %9s %9s %8s %6s %6s %6s\n' mode conns system pass "req/s" \
		"p50 us" "p99 us" "srv us" "srv%" "oth%" errors
	for mode in $MODES; do
		for c in $CONNS; do
			awk -F, -v m="$mode" -v c="$c" -v kc="$C_KEPT" -v dc="$C_DROP" \
				'NR > 1 && $3 == m && $5 == c {
				printf "%-9s %5d %-9s %3d%s %10.0f %9.1f %9.1f %8.2f %6.1f %6.1f %6d%s\n",
					m, c, $4, $15, ($kc == 1 ? " " : "x"), $6, $7, $8, $10, $11,
					$13, $9, ($kc == 1 ? "" : "  dropped: " $dc) }' "$csv"
			for sys in $systems; do
				printf '%-9s %5d %-9s %4s %10.0f %9.1f %9.1f %8.2f\n' "$mode" "$c" "$sys" \
					med "$(value "$mode" "$sys" "$c" rps)" \
					"$(value "$mode" "$sys" "$c" p50_us)" \
					"$(value "$mode" "$sys" "$c" p99_us)" \
					"$(value "$mode" "$sys" "$c" srv_us_per_req)"
			done
			echo "  $mode, $c connections, ngx-shim / ngx-linux (median of the per-pass" \
				"ratios): requests/s $(ratio_of "$mode" "$c" rps), p99" \
				"$(ratio_of "$mode" "$c" p99_us), server CPU/req" \
				"$(ratio_of "$mode" "$c" srv_us_per_req)"
		done
	done
	echo "(x: dropped, in no median or ratio; latency at saturation: wrk cannot pace)"
	drop_summary "$csv" "$C_KEPT" "$C_DROP"
	echo "csv: $csv"
}
echo
report | tee "$out/nginx.txt"

dat=$tmp_dir/nginx.dat
{
	echo "# mode and conns, requests/s linux shim, server CPU us/request linux shim"
	for mode in $MODES; do
		for c in $CONNS; do
			printf '%s %s %s %s %s\n' "$mode,$c" "$(value "$mode" ngx-linux "$c" rps)" \
				"$(value "$mode" ngx-shim "$c" rps)" \
				"$(value "$mode" ngx-linux "$c" srv_us_per_req)" \
				"$(value "$mode" ngx-shim "$c" srv_us_per_req)"
		done
	done
} >"$dat"
plot_pair nginx 1100,480 "below" "nginx: a $FILE-byte file, wrk -t 1, mode and connections\n\
commit $commit, $date, $pinning" "$dat" \
	'set yrange [0:*]; set ylabel "requests/s"; set title "requests/s (higher is better)"' \
	'set yrange [0:*]; set ylabel "server CPU us / request"
set title "server CPU per request (lower is better)"' \
	"nginx on the kernel" "nginx under the shim (ixdp)"
echo "plot: $out/nginx.png (copied to docs/img/)"
