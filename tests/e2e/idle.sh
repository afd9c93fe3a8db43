#!/bin/bash
# idle.sh - the worker loop's adaptive batching and idle policy: under bulk load the RX burst
# grows past its minimum and the mean batch is well above one frame; once the load stops the
# burst is back at its minimum; over 10 s idle each worker sleeps and burns almost nothing per
# sleep (its thread CPU clock and sleep counter), and the whole process stays under 0.3 s of CPU
# (user + system).  These are counts and CPU times, not wall-clock speeds: a busy machine does
# not change them.  Last, an RX ring too small for the
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

# 10 s idle, judged by counters: how often each worker slept, and what it burnt per sleep.  An
# idle worker wakes only for its look-around (200 ms) and the stack's timers (250 ms), spins at
# most idle-spin-us (200 us) after the timer's work, and sleeps again: measured ~240 us of CPU per
# sleep, bounded here at 1 ms.  A worker that spins instead sleeps rarely or never and fails the
# per-sleep bound; these are CPU times and counts, so a loaded machine does not move them.
sleep 1
w0=$(stats_json | jq -c '[.workers[] | [.cpu_ns, .sleeps]]')
p0=$(proc_ticks)
sleep 10
w1=$(stats_json | jq -c '[.workers[] | [.cpu_ns, .sleeps]]')
p1=$(proc_ticks)
hz=$(getconf CLK_TCK)
per_worker=$(jq -n -c --argjson a "$w0" --argjson b "$w1" \
	'[range($a | length) as $i | { sleeps: ($b[$i][1] - $a[$i][1]), cpu_us: (($b[$i][0] - $a[$i][0]) / 1000) }]')
echo "$per_worker" | jq -e 'all(.[]; .sleeps >= 1 and .sleeps <= 200)' >/dev/null ||
	fail "idle workers' sleeps in 10 s out of 1..200 (a spinning or a restless worker): $per_worker"
echo "$per_worker" | jq -e 'all(.[]; .cpu_us <= .sleeps * 1000)' >/dev/null ||
	fail "an idle worker burnt more than 1 ms of CPU per sleep: $per_worker"
proc=$(awk -v d=$((p1 - p0)) -v hz="$hz" 'BEGIN { printf "%.3f", d / hz }')
echo "$proc" | awk '{ exit !($1 < 0.3) }' || fail "idle ixdpd used $proc s of CPU in 10 s"
ok "10 s idle: per worker $(echo "$per_worker" | jq -r 'map("\(.sleeps) sleeps, \(.cpu_us | floor) us CPU") | join("; ")'); whole process $proc s of CPU (user + system)"

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
