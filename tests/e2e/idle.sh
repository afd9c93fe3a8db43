#!/bin/bash
# idle.sh - the worker loop's adaptive batching and idle policy: under bulk load the RX burst
# grows past its minimum and the mean batch is well above one frame; once the load stops the
# burst is back at its minimum; an idle ixdpd costs ~0 % CPU over 10 s (each worker's thread CPU
# clock, and the whole process's user + system time as getrusage() counts it).  The bounds are
# far from the measured values (docs/benchmarks.md: 0.26 % for the whole process): this checks
# that idle workers sleep, not how fast anything is.  Last, an RX ring too small for the
# connections' bursts overflows, and the log says so and names the key to raise.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
need_root

RR=$BUILD/bench/rr_client
BURST_MIN=4

bursts() { stats_json | jq -c '[.workers[].rx_burst]'; }
# process CPU time in clock ticks: utime + stime (fields 14, 15 of /proc/PID/stat)
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$IXDPD_PID/stat"; }

netns_up 2
ixdpd_start --workers 2 --sink-tcp 7002

# Bulk load: 8 connections writing 64 KiB chunks for 1 + 4 s; the burst is sampled meanwhile.
in_peer "$RR" -a "$DUT_IP" -p 7002 -c 8 -B -s 65536 -w 1 -d 4 >"$tmp_dir/bulk.out" 2>&1 &
load=$!
_pids+=("$load")
max=0
for _ in $(seq 60); do
	kill -0 "$load" 2>/dev/null || break
	b=$(bursts | jq 'max')
	[ "$b" -gt "$max" ] && max=$b
	sleep 0.1
done
wait "$load" || fail "bulk load: $(cat "$tmp_dir/bulk.out")"
json=$(stats_json)
batch=$(echo "$json" | jq '[.workers[] | .mean_batch] | max')
[ "$max" -gt "$BURST_MIN" ] || fail "the RX burst never grew past $BURST_MIN under load"
echo "$batch" | awk '{ exit !($1 > 2) }' || fail "mean batch under bulk load only $batch"
ok "under bulk load ($(grep '^gbps=' "$tmp_dir/bulk.out" | cut -d= -f2) Gbit/s): RX burst up to $max, mean batch $batch"

for _ in $(seq 30); do
	[ "$(bursts)" = "[$BURST_MIN,$BURST_MIN]" ] && break
	sleep 0.1
done
[ "$(bursts)" = "[$BURST_MIN,$BURST_MIN]" ] || fail "the burst did not shrink when idle: $(bursts)"
ok "idle again: every worker's RX burst back at $BURST_MIN"

# 10 s idle.
sleep 1
w0=$(stats_json | jq '[.workers[].cpu_ns]')
p0=$(proc_ticks)
sleep 10
w1=$(stats_json | jq '[.workers[].cpu_ns]')
p1=$(proc_ticks)
hz=$(getconf CLK_TCK)
worst=$(jq -n --argjson a "$w0" --argjson b "$w1" '[range($a | length) as $i | ($b[$i] - $a[$i]) / 1e8] | max')
proc=$(awk -v d=$((p1 - p0)) -v hz="$hz" 'BEGIN { printf "%.2f", d * 100 / hz / 10 }')
echo "$worst" | awk '{ exit !($1 < 2) }' || fail "an idle worker used $worst % of a CPU"
echo "$proc" | awk '{ exit !($1 < 3) }' || fail "idle ixdpd used $proc % of a CPU"
ok "10 s idle: busiest worker $(printf %.3f "$worst") % of a CPU, whole process $proc % (user + system)"

ixdpd_stop || fail "ixdpd exit status $?"

# rx-ring 64 against 1,024 connections x 8 in flight: the kernel drops, ixdpd says why.
ixdpd_start --workers 1 --rx-ring 64 --echo-tcp 7000
in_peer "$RR" -a "$DUT_IP" -p 7000 -c 1024 -D 8 -s 64 -w 1 -d 2 >"$tmp_dir/burst.out" 2>&1
dropped=$(stats_json | jq '[.workers[].xsk_rx_dropped] | add')
[ "$dropped" -gt 0 ] || fail "no RX ring drop with rx-ring 64 (the check below proves nothing)"
for _ in $(seq 30); do
	grep -q "AF_XDP RX ring full (rx-ring 64 per socket" "$tmp_dir/ixdpd.log" && break
	sleep 0.1
done
grep "AF_XDP RX ring full" "$tmp_dir/ixdpd.log" | grep -q "rx-ring 64 per socket" ||
	fail "$dropped frames dropped at a full RX ring, and the log does not say so"
ok "rx-ring 64 under 1,024 x 8: $dropped frames dropped, and logged: $(grep -m1 -o 'the kernel dropped.*' "$tmp_dir/ixdpd.log")"
ixdpd_stop || fail "ixdpd exit status $?"
