#!/bin/bash
# run.sh - ixdp's whole test suite: unit tests (GoogleTest binaries), fuzz smoke runs, the
# runner's own checks and the namespace end-to-end tests, each bounded in time, with one summary
# line per test binary or script and a non-zero exit status if any failed.  Run by `make check`
# (and so by .ci/run).
#
#   tests/run.sh [PATTERN]     only tests whose name contains PATTERN
#
# What counts:
#   - exit 0: pass; a unit binary that skipped GoogleTest cases is a skip, listed with them.
#   - exit 77 from a script: a skip, with the reason from its "SKIP: ..." line.  A reason that
#     lies outside the project's control is written "SKIP (host): ..." (the kernel or machine
#     lacks something); under CI (CI=true) and as root every other skip is a failure: there the
#     test had everything it needs and ran nothing.
#   - a fuzzer passes only with exit 0: libFuzzer's crash, leak, OOM and timeout exits are
#     failures (its default exit code for a crash is 77, which must never read as a skip).
#   - a run that finds no unit or no fuzz binary in $BUILD, or no test matching PATTERN, fails.
#   - SANITIZE=1 (make check SANITIZE=1): the binaries are sanitized; every report a process
#     writes (ASan, UBSan, LSan: log_path below) fails the test that ran it, whether or not the
#     test looked at that process's exit status.
#
# Overridable for the runner's own test (tests/self/runner.sh): E2E_DIR, SELF_DIR, CORPUS_DIR.
set -u
cd "$(dirname "$0")/.." || exit 1
: "${BUILD:=build}"
: "${E2E_DIR:=tests/e2e}"
: "${SELF_DIR:=tests/self}"
: "${CORPUS_DIR:=tests/fuzz/corpus}"
: "${FUZZ_SECONDS:=30}"
export BUILD
pattern=${1:-}
logs=$BUILD/test-logs
mkdir -p "$logs"
pass=0 failed=0 skipped=0 ran=0
failures=() skips=()

ci=false
[ "${CI:-}" = true ] && [ "$(id -u)" -eq 0 ] && ci=true

if [ "$(id -u)" -ne 0 ]; then
	echo "note: not root: the namespace, XDP and AF_XDP tests will be skipped (CI runs as root)"
fi

# Sanitizer reports go to files, one per process, so that none is lost to a test's own output
# redirection; the directory is world-writable because some tests run apps as another user.
san_dir=
if [ "${SANITIZE:-0}" = 1 ]; then
	san_dir=$(realpath "$BUILD")/sanitizer-reports
	rm -rf "$san_dir"
	mkdir -p "$san_dir" && chmod 1777 "$san_dir"
	export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:log_path=$san_dir/asan:${ASAN_OPTIONS:-}"
	export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$san_dir/ubsan:${UBSAN_OPTIONS:-}"
	export LSAN_OPTIONS="log_path=$san_dir/lsan:${LSAN_OPTIONS:-}"
fi

# pass/skip/fail NAME SECS DETAIL: count and print one line.
count_pass() {
	pass=$((pass + 1))
	printf 'PASS  %-28s %6ss  %s\n' "$1" "$2" "$3"
}

count_skip() {
	skipped=$((skipped + 1))
	skips+=("$1: $3")
	printf 'SKIP  %-28s %6ss  %s\n' "$1" "$2" "$3"
}

count_fail() { # NAME SECS DETAIL LOG
	failed=$((failed + 1))
	failures+=("$1")
	printf 'FAIL  %-28s %6ss  %s (log %s)\n' "$1" "$2" "$3" "$4"
	sed 's/^/      | /' "$4" | tail -25
}

# skip_allowed REASON: whether a skip may stand (outside CI, or a reason outside our control).
skip_allowed() {
	! $ci || [[ "$1" == "SKIP (host):"* ]]
}

# run_one KIND NAME TIMEOUT CMD...: run, classify, print one line.
run_one() {
	local kind=$1 name=$2 limit=$3 log rc start secs detail="" reason reports
	shift 3
	[ -n "$pattern" ] && [[ "$name" != *"$pattern"* ]] && return
	ran=$((ran + 1))
	log="$logs/$(echo "$name" | tr '/' '_').log"
	[ -n "$san_dir" ] && rm -f "$san_dir"/*
	start=$(date +%s.%N)
	timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1 </dev/null
	rc=$?
	secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
	if [ "$kind" = unit ]; then
		detail=$(grep -E '^\[ +(PASSED|SKIPPED|FAILED) +\] [0-9]+ tests?' "$log" |
			sed -E 's/^\[ *([A-Z]+) *\] ([0-9]+).*/\2 \1/' |
			awk '{ printf "%s%s %s", sep, $1, tolower($2); sep = ", " }')
	fi
	if [ -n "$san_dir" ] && reports=$(ls "$san_dir" 2>/dev/null) && [ -n "$reports" ]; then
		for r in "$san_dir"/*; do
			{ echo "--- sanitizer report $(basename "$r")"; cat "$r"; } >>"$log"
		done
		count_fail "$name" "$secs" "sanitizer reports: $(echo "$reports" | tr '\n' ' ')" "$log"
		return
	fi
	case $kind:$rc in
	*:124 | *:137)
		count_fail "$name" "$secs" "timed out after ${limit}s; $detail" "$log"
		;;
	unit:0)
		reason=$(grep -m1 -E '^\[ +SKIPPED +\] ' "$log" | sed -E 's/^\[ +SKIPPED +\] //')
		if [ -z "$reason" ]; then
			count_pass "$name" "$secs" "$detail"
		elif $ci; then
			count_fail "$name" "$secs" "GoogleTest cases skipped under CI as root: $reason" "$log"
		else
			count_skip "$name" "$secs" "$detail: $reason"
		fi
		;;
	fuzz:0 | e2e:0 | self:0)
		count_pass "$name" "$secs" "$detail"
		;;
	e2e:77 | self:77)
		reason=$(grep -m1 -E '^SKIP' "$log")
		if [ -z "$reason" ]; then
			count_fail "$name" "$secs" "exit 77 without a SKIP: line saying why" "$log"
		elif skip_allowed "$reason"; then
			count_skip "$name" "$secs" "$reason"
		else
			count_fail "$name" "$secs" "skipped under CI as root, for a reason of the project's own: $reason" "$log"
		fi
		;;
	fuzz:70)
		count_fail "$name" "$secs" "the fuzzer found a crash, leak or OOM (exit 70)" "$log"
		;;
	fuzz:71)
		count_fail "$name" "$secs" "an input ran past the fuzzer's per-input timeout (exit 71)" "$log"
		;;
	*)
		count_fail "$name" "$secs" "exit $rc; $detail" "$log"
		;;
	esac
}

units=("$BUILD"/tests/*_test)
fuzzers=("$BUILD"/fuzz/*_fuzz)
[ -x "${units[0]}" ] || { echo "FAIL: no unit test binary in $BUILD/tests (wrong BUILD? run make tests)"; exit 1; }
[ -x "${fuzzers[0]}" ] || { echo "FAIL: no fuzz target in $BUILD/fuzz (wrong BUILD? run make tests)"; exit 1; }

for t in "${units[@]}"; do
	run_one unit "unit/$(basename "$t")" 600 "$t"
done
for t in "${fuzzers[@]}"; do
	name=$(basename "$t" _fuzz)
	# New inputs go to a scratch corpus; the checked-in seeds are only read.  Explicit exit codes:
	# libFuzzer's defaults (77 for a crash) must not be mistaken for anything but a failure.
	# What it finds (crash-*, leak-*, timeout-*) goes to the build tree, never the checkout:
	# its log names the file.
	mkdir -p "$BUILD/fuzz/corpus-$name" "$BUILD/fuzz/artifacts-$name"
	run_one fuzz "fuzz/$(basename "$t")" $((FUZZ_SECONDS + 90)) "$t" \
		-max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=25 \
		-error_exitcode=70 -timeout_exitcode=71 -artifact_prefix="$BUILD/fuzz/artifacts-$name/" \
		"$BUILD/fuzz/corpus-$name" "$CORPUS_DIR/$name"
done
for t in "$SELF_DIR"/*.sh; do
	[ -f "$t" ] || continue
	run_one self "self/$(basename "$t" .sh)" 300 "$t"
done
for t in "$E2E_DIR"/*.sh; do
	[ -f "$t" ] || continue
	run_one e2e "e2e/$(basename "$t" .sh)" 600 "$t"
done

if [ "$ran" -eq 0 ]; then
	echo "FAIL: no test matches '$pattern'"
	exit 1
fi
echo
if [ ${#skips[@]} -gt 0 ]; then
	echo "skipped:"
	printf '  %s\n' "${skips[@]}"
fi
echo "logs in $logs/"
echo "summary: $pass passed, $failed failed, $skipped skipped"
if [ $failed -gt 0 ]; then
	echo "failed: ${failures[*]}"
	exit 1
fi
exit 0
