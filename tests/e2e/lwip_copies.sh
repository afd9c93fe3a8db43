#!/bin/bash
# lwip_copies.sh - ixdpd does not link lwIP: no liblwip in its dynamic section, and of lwIP's
# symbols it exports only the three every copy binds to (two hooks and the checksum loop).  At run
# time each worker has its own copy of the library mapped; where executable memfds are refused,
# from O_TMPFILE files.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh

lib=/usr/lib/$(gcc -print-multiarch)/liblwip.so.0
readelf -d "$IXDPD" | grep NEEDED | grep -q lwip && fail "ixdpd links liblwip"
ok "ixdpd has no DT_NEEDED on liblwip: $(readelf -d "$IXDPD" | grep -c NEEDED) other libraries"

shared=$(comm -12 <(nm -D --defined-only "$lib" | awk '{ print $3 }' | sort -u) \
	<(nm -D --defined-only "$IXDPD" | awk '{ print $3 }' | sort -u) | tr '\n' ' ')
[ "$shared" = "lwip_standard_chksum tcp_timer_needed tcpip_try_callback " ] ||
	fail "ixdpd exports these lwIP symbols: '$shared' (only the three interposed ones are allowed)"
ok "of lwIP's symbols ixdpd exports only: $shared"
nm -D --undefined-only "$IXDPD" | awk '{ print $2 }' | sort -u >"$tmp_dir/undef"
nm -D --defined-only "$lib" | awk '{ print $3 }' | sort -u >"$tmp_dir/lwip"
[ -z "$(comm -12 "$tmp_dir/undef" "$tmp_dir/lwip")" ] || fail "ixdpd needs lwIP symbols from elsewhere"

need_root
netns_up 4
ixdpd_start --workers 3 --echo-tcp 7000
# One executable mapping per copy, each of its own file (memfd inode).
n=$(awk '/liblwip/ && / r-xp / { print $5 }' /proc/"$IXDPD_PID"/maps | sort -u | wc -l)
[ "$n" -eq 3 ] || fail "$n lwIP copies mapped for 3 workers: $(grep lwip /proc/"$IXDPD_PID"/maps)"
ok "3 workers, 3 private copies of lwIP mapped: $(awk '/liblwip/ && / r-xp / { print $6 " (inode " $5 ")" }' \
	/proc/"$IXDPD_PID"/maps | tr '\n' ' ')"
ixdpd_stop || fail "ixdpd exit status $?"

# Where executable memfds are refused (vm.memfd_noexec=2, as under systemd's
# MemoryDenyWriteExecute=), the copies come from unlinked O_TMPFILE files instead.  The sysctl
# belongs to the PID namespace: set in a new one, it leaves the machine's alone.
cat >"$tmp_dir/ixdpd-noexec" <<EOS
#!/bin/sh
exec unshare --pid --fork --mount-proc sh -c 'echo 2 >/proc/sys/vm/memfd_noexec && exec "\$0" "\$@"' "$IXDPD" "\$@"
EOS
chmod +x "$tmp_dir/ixdpd-noexec"
noexec_before=$(cat /proc/sys/vm/memfd_noexec)
real_ixdpd=$IXDPD
IXDPD=$tmp_dir/ixdpd-noexec ixdpd_start --workers 2 --echo-tcp 7000
IXDPD=$real_ixdpd
grep -q "one lwIP copy per worker, loaded from a tmpfile" "$tmp_dir/ixdpd.log" ||
	fail "memfds refused, but ixdpd did not fall back to O_TMPFILE: $(grep -i lwip "$tmp_dir/ixdpd.log")"
out=$(in_peer "$NETTOOL" tcp-streams "$DUT_IP" 7000 16 -n 1 -m 65536 -r 7) || fail "tmpfile copies: $out"
daemon=$(pgrep -P "$IXDPD_PID")
ok "memfds refused: copies loaded from O_TMPFILE files, streams served ($(echo "$out" | tail -1))"
kill -TERM "$daemon"
for _ in $(seq 100); do kill -0 "$IXDPD_PID" 2>/dev/null || break; sleep 0.1; done
wait "$IXDPD_PID" || fail "ixdpd (tmpfile copies) exit status $?"
[ "$(cat /proc/sys/vm/memfd_noexec)" = "$noexec_before" ] || fail "the machine's vm.memfd_noexec changed"

