#!/bin/bash
# idle.sh - what an idle ixdpd costs: CPU time of the whole process (scheduler runtime, all
# threads) over an idle window after a burst of traffic, and how often its workers woke.
#
#   sudo BUILD=build bench/idle.sh        env: WORKERS=2 SECONDS_IDLE=10
#
# ixdpd runs the UDP reflector and the TCP echo service (each worker with its TCP stack and
# timers), after a burst of both kinds of traffic; TCP connections are closed before the window.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/netns.sh
need_root
WORKERS=${WORKERS:-2}
IDLE=${SECONDS_IDLE:-10}

runtime_ns() { # sum of the scheduler runtime of every thread of $1
	awk '{ s += $1 } END { print s + 0 }' /proc/"$1"/task/*/schedstat
}

netns_up "$WORKERS"
ixdpd_start --workers "$WORKERS" --reflect-udp 9000 --echo-tcp 7000
in_peer "$NETTOOL" udp-flows "$DUT_IP" 9000 64 100 >/dev/null || fail "warm-up traffic"
in_peer "$NETTOOL" tcp-streams "$DUT_IP" 7000 64 -n 64 -m 65536 >/dev/null || fail "warm-up TCP"
sleep 1
s0=$(stats_json | jq '[.workers[].sleeps] | add')
r0=$(runtime_ns "$IXDPD_PID")
sleep "$IDLE"
r1=$(runtime_ns "$IXDPD_PID")
s1=$(stats_json | jq '[.workers[].sleeps] | add')
ixdpd_stop || fail "ixdpd exit status $?"

printf 'idle ixdpd (UDP reflector + TCP echo), %d workers, %d s: CPU %.3f %% of one CPU (%.1f ms), %d wakeups/s per worker\n' \
	"$WORKERS" "$IDLE" "$(echo "$r0 $r1 $IDLE" | awk '{ print ($2 - $1) / ($3 * 1e7) }')" \
	"$(echo "$r0 $r1" | awk '{ print ($2 - $1) / 1e6 }')" $(((s1 - s0) / IDLE / WORKERS))
printf 'commit %s, kernel %s, %s\n' "$(git rev-parse --short HEAD)" "$(uname -r)" "$(date -u +%FT%TZ)"
