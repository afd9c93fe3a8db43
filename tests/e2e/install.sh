#!/bin/bash
# install.sh - `make install` puts the binaries, the BPF object and the docs under PREFIX, and the
# installed ixdpd runs (no root needed).
set -u
cd "$(dirname "$0")/../.." || exit 1
: "${BUILD:=build}"
dest=$(mktemp -d /tmp/ixdp-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT

make --no-print-directory -s install BUILD="$BUILD" SANITIZE="${SANITIZE:-0}" DESTDIR="$dest" PREFIX=/opt/ixdp >/dev/null ||
	{ echo "FAIL: make install"; exit 1; }
for f in sbin/ixdpd bin/ixdpctl lib/ixdp/ixdp_steer.bpf.o share/doc/ixdp/README.md \
	share/doc/ixdp/configuration.md share/doc/ixdp/ixdpctl.md lib/libix.so.1 lib/libix.so \
	lib/pkgconfig/libix.pc include/ix/ix.h include/ix/ixev.h bin/ix-kv bin/ix-echo bin/ix-rr \
	lib/libix-preload.so bin/ixdp-run; do
	[ -s "$dest/opt/ixdp/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
[ -x "$dest/opt/ixdp/sbin/ixdpd" ] || { echo "FAIL: ixdpd not executable"; exit 1; }
"$dest/opt/ixdp/sbin/ixdpd" --help | grep -q -- "--reflect-udp" || { echo "FAIL: installed ixdpd"; exit 1; }
"$dest/opt/ixdp/bin/ixdpctl" --help | grep -q "fg move" || { echo "FAIL: installed ixdpctl"; exit 1; }
# An app builds against the installed library through pkg-config alone, and runs.
printf '%s\n' '#include <errno.h>' '#include <stdio.h>' '#include <string.h>' '#include <ix/ix.h>' \
	'int main(void)' '{' '	struct ix_ctx *ctx;' \
	'	int ret = ix_attach("/nonexistent/ixdpd.sock", &ctx);' \
	'	printf("%s\n", strerror(-ret));' '	return ret == -ENOENT ? 0 : 1;' '}' >"$dest/app.c"
pc=$dest/opt/ixdp/lib/pkgconfig
sed -i "s|^prefix=.*|prefix=$dest/opt/ixdp|" "$pc/libix.pc"
# A sanitized libix (SANITIZE=1) needs the sanitizer runtime in the app that loads it.
san=
[ "${SANITIZE:-0}" = 1 ] && san="-fsanitize=address,undefined"
cc $san "$dest/app.c" -o "$dest/app" $(PKG_CONFIG_PATH=$pc pkg-config --cflags --libs libix) ||
	{ echo "FAIL: an app does not build with pkg-config libix"; exit 1; }
LD_LIBRARY_PATH=$dest/opt/ixdp/lib "$dest/app" >/dev/null ||
	{ echo "FAIL: the app linked to the installed libix.so did not get ENOENT"; exit 1; }
if nm -D --defined-only "$dest/opt/ixdp/lib/libix.so.1" | awk '$2 == "T" { print $3 }' |
	grep -v -E '^(ix_|ixev_)'; then
	echo "FAIL: libix exports functions outside ix_/ixev_"
	exit 1
fi
objdump -T "$dest/opt/ixdp/lib/libix.so.1" | grep -q 'LIBIX_1 *ix_attach' ||
	{ echo "FAIL: ix_attach is not versioned LIBIX_1"; exit 1; }
IXDP_CONTROL=$dest/none.sock IXDP_FALLBACK=kernel "$dest/opt/ixdp/bin/ixdp-run" \
	sh -c 'case "$LD_PRELOAD" in *"'"$dest"'/opt/ixdp/lib/libix-preload.so"*) exit 0;; esac; exit 1' ||
	{ echo "FAIL: the installed ixdp-run does not preload the installed libix-preload.so"; exit 1; }
echo "ok: an app builds with pkg-config libix; libix exports only ix_/ixev_ symbols, versioned;" \
	"the installed ixdp-run preloads the installed shim"
echo "ok: installed under $dest/opt/ixdp: $(cd "$dest/opt/ixdp" && find . -type f | wc -l) files"
