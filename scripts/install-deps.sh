#!/bin/sh
# install-deps.sh - install every Debian package ixdp's build, tests and benchmarks need.
#
# Safe to run twice: apt-get skips what is already installed.  Run as root (or via sudo).
set -eu

# Build: compilers, BPF toolchain, libraries ixdpd links against.
BUILD="make gcc g++ pkg-config clang llvm bpftool libbpf-dev libxdp-dev libelf-dev zlib1g-dev
       libsystemd-dev libmnl-dev liblwip-dev liblwip0"
# Tests: GoogleTest/GoogleMock harness, clang's libFuzzer/sanitizer runtime, namespace and veth
# tooling, JSON checks in scripts, memcached's test clients (against ix-kv) and memcached itself
# (unmodified, under the shim), nginx with wrk and curl (under the shim too), redis-tools (its
# redis-check-rdb is the redis-server binary, which redis-server's package only links to and
# runs as a service: the test runs it by that name itself, with redis-cli and redis-benchmark),
# setpriv and groupadd for the app-group test, nm/objdump for libix's exported symbols.
TEST="libgtest-dev libgmock-dev libclang-rt-14-dev iproute2 ethtool iputils-ping jq procps kmod
      libmemcached-tools memcached nginx-light wrk curl redis-tools python3 util-linux passwd
      binutils"
# Benchmarks: plots, profiles, load generators.
BENCH="gnuplot-nox linux-perf sockperf"

# shellcheck disable=SC2086
missing=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' $BUILD $TEST $BENCH 2>/dev/null |
	awk '$1 != "ii" { print $2 }')
for p in $BUILD $TEST $BENCH; do
	dpkg-query -W -f='${Package}\n' "$p" >/dev/null 2>&1 || missing="$missing $p"
done

if [ -z "$(echo "$missing" | tr -d ' \n')" ]; then
	echo "install-deps.sh: all packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: missing packages:" $missing >&2
	echo "install-deps.sh: run as root to install them (sudo $0)" >&2
	exit 1
fi
echo "install-deps.sh: installing:" $missing
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
