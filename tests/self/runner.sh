#!/bin/bash
# runner.sh - the test runner cannot hide a failure: tests/run.sh run on a made-up build tree
# must fail when a fuzzer crashes (libFuzzer's own exit code for that is 77, the skip code), when
# a script skips under CI as root for a reason of the project's own, when GoogleTest cases skip
# under CI, when it finds no unit or fuzz binary, when no test matches, and (SANITIZE=1) when a
# process writes a sanitizer report its test never looked at; and it must still pass a clean
# tree and list the skips it allows, with their reasons.
set -u
cd "$(dirname "$0")/../.." || exit 1

# The programs here crash and overflow on purpose: their reports are this test's subject, not
# findings of an outer SANITIZE=1 run.
unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS SANITIZE
tmp=$(mktemp -d /tmp/ixdp-runner.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

mk_tree() { # DIR: a clean build tree: one unit binary that passes, one fuzzer that never crashes
	mkdir -p "$1/tests" "$1/fuzz" "$1/e2e" "$1/corpus/quiet"
	printf '#!/bin/sh\necho "[  PASSED  ] 1 test."\n' >"$1/tests/ok_test"
	chmod +x "$1/tests/ok_test"
	cp "$tmp/quiet_fuzz" "$1/fuzz/quiet_fuzz"
	echo seed >"$1/corpus/quiet/seed"
}

# runner DIR PATTERN [VAR=VALUE...]: tests/run.sh PATTERN on tree DIR; output in $tmp/out.
runner() {
	local dir=$1 pat=$2
	shift 2
	env BUILD="$dir" E2E_DIR="$dir/e2e" SELF_DIR="$dir/self" CORPUS_DIR="$dir/corpus" \
		FUZZ_SECONDS=2 "$@" tests/run.sh $pat >"$tmp/out" 2>&1
}

# Two real libFuzzer targets: one that aborts on the input "boom", one that never fails.
cat >"$tmp/crash.c" <<'C'
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	if (n >= 4 && !memcmp(d, "boom", 4))
		abort();
	return 0;
}
C
cat >"$tmp/quiet.c" <<'C'
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return 0; }
C
clang -fsanitize=fuzzer "$tmp/crash.c" -o "$tmp/crash_fuzz" || fail "cannot build a fuzz target"
clang -fsanitize=fuzzer "$tmp/quiet.c" -o "$tmp/quiet_fuzz" || fail "cannot build a fuzz target"

# A clean tree passes and says how much ran.
mk_tree "$tmp/clean"
runner "$tmp/clean" "" CI= || fail "a clean tree failed: $(cat "$tmp/out")"
grep -qx 'summary: 2 passed, 0 failed, 0 skipped' "$tmp/out" || fail "summary: $(tail -3 "$tmp/out")"
ok "a clean tree passes: $(tail -1 "$tmp/out")"

# A fuzzer that finds a crash fails the run, whatever its exit code would have been by default.
mk_tree "$tmp/crash"
cp "$tmp/crash_fuzz" "$tmp/crash/fuzz/crash_fuzz"
mkdir -p "$tmp/crash/corpus/crash"
echo boom >"$tmp/crash/corpus/crash/boom"
runner "$tmp/crash" "" CI= && fail "a crashing fuzzer passed: $(cat "$tmp/out")"
grep -q '^FAIL  fuzz/crash_fuzz' "$tmp/out" || fail "no FAIL line for the crash: $(cat "$tmp/out")"
# Its input was kept in the build tree, not in the checkout (where a crash-* file would stand
# as a finding of the project's own fuzzers).
ls "$tmp/crash/fuzz/artifacts-crash/"crash-* >/dev/null 2>&1 ||
	fail "the crashing input was not kept in the build tree's fuzz/artifacts-crash/"
! ls crash-* >/dev/null 2>&1 || fail "a fuzzer wrote $(ls crash-*) into the checkout"
out=$("$tmp/crash_fuzz" -runs=1 -artifact_prefix="$tmp/" "$tmp/crash/corpus/crash" 2>/dev/null)
rc=$?
ok "a fuzzer that aborts fails the run ($(grep -o 'FAIL  fuzz/crash_fuzz.*(exit 70)' "$tmp/out" ||
	grep -m1 '^FAIL' "$tmp/out")); libFuzzer's default exit code for it: $rc"
[ "$rc" -eq 77 ] || echo "note: this libFuzzer exits $rc by default on a crash"

# Skips: outside CI a skip stands; under CI as root only a host reason does.
mk_tree "$tmp/skip"
printf '#!/bin/sh\necho "SKIP: the test could not be bothered"\nexit 77\n' >"$tmp/skip/e2e/lazy.sh"
printf '#!/bin/sh\necho "SKIP (host): this kernel has no frobnicator"\nexit 77\n' >"$tmp/skip/e2e/host.sh"
printf '#!/bin/sh\nexit 77\n' >"$tmp/skip/e2e/mute.sh"
chmod +x "$tmp/skip/e2e/"*.sh
runner "$tmp/skip" e2e/lazy CI= && grep -q '^  e2e/lazy: SKIP: the test could not be bothered' "$tmp/out" ||
	fail "outside CI a skip should stand and be listed: $(cat "$tmp/out")"
ok "outside CI a skip stands and the summary lists it with its reason"
if [ "$(id -u)" -eq 0 ]; then
	runner "$tmp/skip" e2e/lazy CI=true && fail "under CI a skip for our own reason passed: $(cat "$tmp/out")"
	grep -q '^FAIL  e2e/lazy .*skipped under CI' "$tmp/out" || fail "no FAIL line: $(cat "$tmp/out")"
	runner "$tmp/skip" e2e/host CI=true || fail "under CI a host skip failed: $(cat "$tmp/out")"
	grep -q '^  e2e/host: SKIP (host): this kernel has no frobnicator' "$tmp/out" ||
		fail "the host skip is not listed: $(cat "$tmp/out")"
	runner "$tmp/skip" e2e/mute CI=true && fail "a skip without a reason passed: $(cat "$tmp/out")"
	printf '#!/bin/sh\necho "[  SKIPPED ] 1 test, listed below:"\necho "[  PASSED  ] 1 test."\n' \
		>"$tmp/skip/tests/skips_test"
	chmod +x "$tmp/skip/tests/skips_test"
	runner "$tmp/skip" unit/ CI=true && fail "under CI skipped GoogleTest cases passed: $(cat "$tmp/out")"
	ok "under CI as root: a skip for the project's own reason, one without a reason and skipped" \
		"GoogleTest cases fail; a host reason stands and is listed"
fi

# Nothing to run is a failure, not zero tests passed.
mkdir -p "$tmp/empty"
runner "$tmp/empty" "" CI= && fail "a tree without binaries passed: $(cat "$tmp/out")"
grep -q 'no unit test binary' "$tmp/out" || fail "no reason given: $(cat "$tmp/out")"
runner "$tmp/clean" no-such-test CI= && fail "a pattern matching nothing passed: $(cat "$tmp/out")"
ok "no binaries, or a pattern that matches nothing: the run fails ($(tail -1 "$tmp/out"))"

# SANITIZE=1: a report fails its test even when the test ignores the process's exit status.
cat >"$tmp/overflow.c" <<'C'
#include <stdlib.h>
int main(int argc, char **argv)
{
	volatile char *p = malloc(8);
	p[argc + 8] = 1;
	free((void *)p);
	return 0;
}
C
if clang -fsanitize=address -g "$tmp/overflow.c" -o "$tmp/overflow" 2>/dev/null; then
	mk_tree "$tmp/san"
	printf '#!/bin/sh\n%s || true\nexit 0\n' "$tmp/overflow" >"$tmp/san/e2e/careless.sh"
	chmod +x "$tmp/san/e2e/careless.sh"
	runner "$tmp/san" e2e/careless CI= SANITIZE=1 && fail "a sanitizer report passed: $(cat "$tmp/out")"
	grep -q '^FAIL  e2e/careless .*sanitizer reports' "$tmp/out" || fail "no FAIL line: $(cat "$tmp/out")"
	ok "SANITIZE=1: a heap overflow in a process whose status the test ignored fails the test"
else
	fail "cannot build an ASan program (libclang-rt-14-dev missing?)"
fi
