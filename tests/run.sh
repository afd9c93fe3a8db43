#!/bin/bash
# run.sh - ixdp's whole test suite: unit tests (GoogleTest binaries), fuzz smoke runs and the
# namespace end-to-end tests, each bounded in time, with one summary line per test binary or
# script and a non-zero exit status if any failed.  Run by `make check` (and so by .ci/run).
#
#   tests/run.sh [PATTERN]     only tests whose name contains PATTERN
set -u
cd "$(dirname "$0")/.." || exit 1
: "${BUILD:=build}"
export BUILD
pattern=${1:-}
logs=$BUILD/test-logs
mkdir -p "$logs"
pass=0 failed=0 skipped=0
failures=()

if [ "$(id -u)" -ne 0 ]; then
	echo "note: not root: the namespace, XDP and AF_XDP tests will be skipped (CI runs as root)"
fi

# run_one KIND NAME TIMEOUT CMD...: run, classify, print one line.
run_one() {
	local kind=$1 name=$2 limit=$3 log rc start secs detail=""
	shift 3
	[ -n "$pattern" ] && [[ "$name" != *"$pattern"* ]] && return
	log="$logs/$(echo "$name" | tr '/' '_').log"
	start=$(date +%s.%N)
	timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
	rc=$?
	secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
	if [ "$kind" = unit ]; then
		detail=$(grep -E '^\[ +(PASSED|SKIPPED|FAILED) +\] [0-9]+ tests?' "$log" |
			sed -E 's/^\[ *([A-Z]+) *\] ([0-9]+).*/\2 \1/' |
			awk '{ printf "%s%s %s", sep, $1, tolower($2); sep = ", " }')
	fi
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1))
		printf 'PASS  %-28s %6ss  %s\n' "$name" "$secs" "$detail"
	elif [ $rc -eq 77 ]; then
		skipped=$((skipped + 1))
		printf 'SKIP  %-28s %6ss  %s\n' "$name" "$secs" "$(grep -m1 SKIP "$log")"
	else
		failed=$((failed + 1))
		failures+=("$name")
		[ $rc -eq 124 ] && detail="timed out after ${limit}s; $detail"
		printf 'FAIL  %-28s %6ss  %s (exit %d, log %s)\n' "$name" "$secs" "$detail" $rc "$log"
		sed 's/^/      | /' "$log" | tail -25
	fi
}

for t in "$BUILD"/tests/*_test; do
	[ -x "$t" ] || continue
	run_one unit "unit/$(basename "$t")" 600 "$t"
done
for t in "$BUILD"/fuzz/*_fuzz; do
	[ -x "$t" ] || continue
	name=$(basename "$t" _fuzz)
	# New inputs go to a scratch corpus; the checked-in seeds are only read.
	mkdir -p "$BUILD/fuzz/corpus-$name"
	run_one fuzz "fuzz/$(basename "$t")" 120 "$t" -max_total_time="${FUZZ_SECONDS:-30}" \
		-rss_limit_mb=2048 "$BUILD/fuzz/corpus-$name" "tests/fuzz/corpus/$name"
done
for t in tests/e2e/*.sh; do
	run_one e2e "e2e/$(basename "$t" .sh)" 600 "$t"
done

echo
echo "summary: $pass passed, $failed failed, $skipped skipped (logs in $logs/)"
if [ $failed -gt 0 ]; then
	echo "failed: ${failures[*]}"
	exit 1
fi
exit 0
