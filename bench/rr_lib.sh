# shellcheck shell=bash
# shellcheck disable=SC2154 # ns_dut, ns_peer, tmp_dir, DUT_IP, IXDPD_PID: tests/lib/netns.sh
# rr_lib.sh - what bench/echo_rr.sh and bench/sink.sh share: one measured run of a TCP service
# (ixdpd or its Linux twin, bench/echo_server) under bench/rr_client, and its counters (sourced).
#
# Needs tests/lib/netns.sh sourced first (namespaces, ixdpd_start, cleanup trap, _pids) and
# these set by the caller: BUILD, PORT, SRV_CPU, CLI_CPU, DURATION, WARMUP, CONTENDED_PCT,
# QUIET_WAIT, IXDPD_ARGS, LINUX_ARGS.
#
# A run leaves key=value lines in a file: the client's (rr_client's output: rates, latency
# percentiles, the CPU samples it took at the window's edges), then the server's and the
# network's counters added here.  Nothing here judges a number; the callers report.

RR_CLIENT=$BUILD/bench/rr_client
ECHO_SERVER=$BUILD/bench/echo_server

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

# cpu_ticks: "busy total" jiffies of the whole VM from /proc/stat.
cpu_ticks() {
	awk '$1 == "cpu" { busy = $2 + $3 + $4 + $7 + $8; print busy, busy + $5 + $6 + $9 }' /proc/stat
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

# snmp NS PROTO FIELD: a counter of /proc/net/snmp or /proc/net/netstat inside namespace NS
# (per namespace, unlike nstat's history file, which every user of the machine shares).
snmp() {
	ip netns exec "$1" cat /proc/net/snmp /proc/net/netstat 2>/dev/null |
		awk -v p="$2:" -v f="$3" '$1 == p { if (!hdr) { for (i = 2; i <= NF; i++)
			if ($i == f) col = i; hdr = 1 } else { if (col) print $col; exit } }' |
		awk '{ v = $1 } END { print v + 0 }'
}

# ethsum NS DEV REGEX: sum of the ethtool -S counters whose name matches REGEX.
ethsum() {
	ip netns exec "$1" ethtool -S "$2" 2>/dev/null |
		awk -v re="$3" '$1 ~ re { s += $2 } END { print s + 0 }'
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

# serve_linux MODE: the Linux twin (echo or sink), one thread on SRV_CPU; sets SRV_PID.
serve_linux() {
	local mode_opt=
	[ "$1" = sink ] && mode_opt=-k
	# Not through in_dut: $! must be the server itself (ip netns exec execs it).
	# shellcheck disable=SC2086 # LINUX_ARGS is a list of options
	ip netns exec "$ns_dut" "$ECHO_SERVER" -a "$DUT_IP" -p "$PORT" -t 1 -c "$SRV_CPU" \
		-d $((DURATION + WARMUP + 150)) $mode_opt $LINUX_ARGS >"$tmp_dir/srv.out" 2>&1 &
	SRV_PID=$!
	_pids+=("$SRV_PID")
	for _ in $(seq 100); do
		grep -q '^ready' "$tmp_dir/srv.out" && return 0
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$tmp_dir/srv.out" >&2
	fail "echo_server did not come up"
}

# stop_linux OUT: stop the twin, add its counters (srv_*) to OUT.
stop_linux() {
	kill -TERM "$SRV_PID" 2>/dev/null
	wait_pid "$SRV_PID" 50 || { kill -9 "$SRV_PID"; fail "echo_server ignored SIGTERM"; }
	wait "$SRV_PID" || { cat "$tmp_dir/srv.out" >&2; fail "echo_server failed"; }
	sed -n 's/^\([a-z_]*=\)/srv_\1/p' "$tmp_dir/srv.out" >>"$1"
	echo "srv_conns_left=0" >>"$1"
}

# serve_ixdp MODE: ixdpd with --echo-tcp or --sink-tcp, one worker on SRV_CPU; sets SRV_PID.
serve_ixdp() {
	# shellcheck disable=SC2086 # IXDPD_ARGS is a list of options
	ixdpd_start "--$1-tcp" "$PORT" --workers 1 --cpus "$SRV_CPU" $IXDPD_ARGS
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

# measure SYS MODE OUT CLIENT_ARGS...: one run of SYS (linux or ixdp) serving MODE (echo or
# sink) under rr_client CLIENT_ARGS; everything it learnt goes to OUT as key=value lines.
# Returns 1 when the run was contended (other work took more than CONTENDED_PCT % of a CPU
# during the window), 0 otherwise; a client that failed is recorded (client_failed=1), not fatal:
# a benchmark reports what happened.
measure() {
	local sys=$1 mode=$2 out=$3 bg n0 n1 cpid rc other
	shift 3
	bg=$(bg_load)
	n0=$(net_counters)
	"serve_$sys" "$mode"
	timeout -k 5 $((DURATION + WARMUP + 120)) ip netns exec "$ns_peer" "$RR_CLIENT" \
		-a "$DUT_IP" -p "$PORT" -C "$CLI_CPU" -K "$SRV_CPU" -P "$SRV_PID" \
		-d "$DURATION" -w "$WARMUP" "$@" >"$out" 2>"$out.err" &
	cpid=$!
	_pids+=("$cpid")
	wait "$cpid"
	rc=$?
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
		return 0
	fi
	# other = whole-VM busy time that was not the server's, the client's or ksoftirqd's
	other=$(awk -v vm="$(kv vm_busy_ns "$out")" -v s="$(kv srv_cpu_ns "$out")" \
		-v c="$(kv cli_cpu_ns "$out")" -v k="$(kv softirqd_ns "$out")" \
		-v w="$(kv window_ns "$out")" -v lim="$CONTENDED_PCT" 'BEGIN {
		o = w > 0 ? 100 * (vm - s - c - k) / w : 0
		if (o < 0)
			o = 0 # tick-sampled /proc/stat against precise runtimes
		printf "other_cpu_pct=%.1f\ncontended=%d\n", o, (o > lim) }')
	echo "$other" >>"$out"
	[ "$(kv contended "$out")" = 0 ]
}

# measure_retry SYS MODE OUT CLIENT_ARGS...: measure, repeated while contended (RETRIES times
# at most); the last try is kept, marked if it was contended too.
measure_retry() {
	local try
	for try in $(seq 0 "$RETRIES"); do
		: >"$3"
		measure "$@" && return 0
		[ "$try" -lt "$RETRIES" ] && echo "  $1: contended (other CPU $(kv other_cpu_pct "$3") %), again"
	done
	return 0
}

# git_commit: short hash, "-dirty" if the tree has uncommitted changes.
git_commit() {
	local c
	c=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
	[ -n "$(git status --porcelain 2>/dev/null)" ] && c="$c-dirty"
	echo "$c"
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
