#!/bin/bash
# install.sh - `make install` puts the binaries, the BPF object and the docs under PREFIX, and the
# installed ixdpd runs (no root needed).
set -u
cd "$(dirname "$0")/../.." || exit 1
: "${BUILD:=build}"
dest=$(mktemp -d /tmp/ixdp-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT

make --no-print-directory -s install BUILD="$BUILD" DESTDIR="$dest" PREFIX=/opt/ixdp >/dev/null ||
	{ echo "FAIL: make install"; exit 1; }
for f in sbin/ixdpd bin/ixdpctl lib/ixdp/ixdp_steer.bpf.o share/doc/ixdp/README.md \
	share/doc/ixdp/configuration.md share/doc/ixdp/ixdpctl.md; do
	[ -s "$dest/opt/ixdp/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
[ -x "$dest/opt/ixdp/sbin/ixdpd" ] || { echo "FAIL: ixdpd not executable"; exit 1; }
"$dest/opt/ixdp/sbin/ixdpd" --help | grep -q -- "--reflect-udp" || { echo "FAIL: installed ixdpd"; exit 1; }
"$dest/opt/ixdp/bin/ixdpctl" --help | grep -q "fg move" || { echo "FAIL: installed ixdpctl"; exit 1; }
echo "ok: installed under $dest/opt/ixdp: $(cd "$dest/opt/ixdp" && find . -type f | wc -l) files"
