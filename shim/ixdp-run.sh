#!/bin/sh
# ixdp-run - run an unmodified socket app on ixdp: ixdp-run [--] PROGRAM [ARGS...]
#
# Preloads libix-preload.so (docs/shim.md), after checking that ixdpd answers on its control
# socket ($IXDP_CONTROL, else /run/ixdp/ixdpd.sock): without it the app would not be served,
# so ixdp-run says so and exits 1, unless IXDP_FALLBACK=kernel (then the kernel serves it).
set -u
[ "${1:-}" = "--" ] && shift
if [ $# -eq 0 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
	echo "usage: ixdp-run [--] PROGRAM [ARGS...]   (docs/shim.md)" >&2
	exit 2
fi
here=$(dirname "$(readlink -f "$0")")
lib=${IXDP_PRELOAD:-}
for c in "$here/../lib/libix-preload.so" "$here/../lib/ixdp/libix-preload.so"; do
	[ -z "$lib" ] && [ -f "$c" ] && lib=$(readlink -f "$c")
done
[ -n "$lib" ] || { echo "ixdp-run: libix-preload.so not found next to $0" >&2; exit 1; }
ctl=${IXDP_CONTROL:-/run/ixdp/ixdpd.sock}
if [ ! -S "$ctl" ] && [ "${IXDP_FALLBACK:-}" != kernel ]; then
	echo "ixdp-run: ixdpd is not running (no control socket at $ctl): start it, or set" \
		"IXDP_FALLBACK=kernel to run on the kernel's stack" >&2
	exit 1
fi
# A sanitized build's preload (make SANITIZE=1) needs its runtime first in the list.  Memory
# errors are caught in the app as in the shim; leaks are not looked for: an app that was not
# built for it (python3, memcached) leaves its own memory to the exit.
asan=$(ldd "$lib" 2>/dev/null | awk '/libasan/ { print $3 }')
if [ -n "$asan" ]; then
	lib="$asan:$lib"
	export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0:detect_leaks=0"
fi
LD_PRELOAD="$lib${LD_PRELOAD:+:$LD_PRELOAD}" exec "$@"
