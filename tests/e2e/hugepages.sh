#!/bin/bash
# hugepages.sh - with 2 MiB hugepages reserved, the umem lives on them (and says so); without,
# it falls back to 4 KiB pages.  Restores the machine's hugepage reservation on exit.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
need_root

hp=/proc/sys/vm/nr_hugepages
[ -w "$hp" ] || { echo "SKIP (host): $hp is not writable here"; exit 77; }
saved=$(cat "$hp")
restore_hp() { echo "$saved" >"$hp"; cleanup; }
trap restore_hp EXIT

# Whether the kernel can give 16 pages is known before anything runs: the test runs whole or not
# at all, never half.
echo $((saved + 16)) >"$hp"
[ "$(cat "$hp")" -ge $((saved + 16)) ] ||
	{ echo "SKIP (host): the kernel cannot reserve 16 more 2 MiB hugepages"; exit 77; }

netns_up 1
echo 0 >"$hp"
ixdpd_start --workers 1 --reflect-udp 9000
[ "$(stats_json | jq .af_xdp.hugepages)" = false ] || fail "hugepages reported without any reserved"
ixdpd_stop || fail "ixdpd exit status $?"
ok "no hugepages reserved: umem on 4 KiB pages"

echo $((saved + 16)) >"$hp"
[ "$(cat "$hp")" -ge $((saved + 16)) ] || fail "16 hugepages could be reserved a moment ago, not now"
ixdpd_start --workers 1 --reflect-udp 9000
json=$(stats_json)
[ "$(echo "$json" | jq .af_xdp.hugepages)" = true ] || fail "umem not on hugepages: $(echo "$json" | jq -c .af_xdp)"
out=$(in_peer "$NETTOOL" udp-flows "$DUT_IP" 9000 16 10) || fail "on hugepages: $out"
ixdpd_stop || fail "ixdpd exit status $?"
ok "hugepages reserved: umem of $(($(echo "$json" | jq .af_xdp.umem_bytes) >> 20)) MiB on 2 MiB pages, serving: $out"
