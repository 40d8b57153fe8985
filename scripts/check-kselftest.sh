#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The selftests run the kselftest way, here on the build host without the
# module (so every program skips): through `make -C selftests run_tests`,
# and installed as the kernel's `make install` of the selftests lays them
# out (the programs, config and settings under masstree/, a
# kselftest-list.txt from emit_tests, the kernel's run_kselftest.sh and
# kselftest/), through `run_kselftest.sh -c masstree`. Both must report
# each program of collection "masstree" as skipped.
#
#   scripts/check-kselftest.sh SELFTESTS_DIR
#
# SELFTESTS_DIR holds the built programs (make -C selftests OUTPUT=...).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out=$(realpath "${1:?usage: check-kselftest.sh SELFTESTS_DIR}")
ksrc=$(mt_kernel_source)
if [ -e /dev/masstree ] || [ -e /sys/module/masstree ]; then
	mt_die "masstree is loaded on this host; unload it to run this check"
fi
progs=$(sed -n 's/^TEST_GEN_PROGS := //p' "$MT_ROOT/selftests/Makefile")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/masstree-kselftest.XXXXXX")
trap 'rm -rf "$tmp" "$out/.kselftest-view"' EXIT

# Every program, reported skipped under collection "masstree".
all_skipped() {
	local log=$1 n=0 p
	for p in $progs; do
		n=$((n + 1))
		grep -qx "ok $n selftests: masstree: $p # SKIP" "$log" ||
			mt_die "$2: no 'ok $n selftests: masstree: $p # SKIP' (see $log)"
	done
}

make -s -C "$MT_ROOT/selftests" KSRC="$ksrc" OUTPUT="$out" run_tests >"$tmp/run_tests.log" 2>&1 ||
	{ cat "$tmp/run_tests.log" >&2; mt_die "make run_tests failed"; }
all_skipped "$tmp/run_tests.log" "make -C selftests run_tests"
echo "make -C selftests run_tests: collection masstree, $(echo $progs | wc -w) programs skipped"

inst=$tmp/kselftest
make -s -C "$MT_ROOT/selftests" KSRC="$ksrc" OUTPUT="$out" INSTALL_PATH="$inst/masstree" install
make -s --no-print-directory -C "$MT_ROOT/selftests" KSRC="$ksrc" OUTPUT="$out" \
	COLLECTION=masstree emit_tests >"$inst/kselftest-list.txt"
cp "$ksrc/tools/testing/selftests/run_kselftest.sh" "$inst/"
cp -r "$ksrc/tools/testing/selftests/kselftest" "$inst/"
for f in settings masstreectl masstreectl_test.expected; do
	[ -e "$inst/masstree/$f" ] || mt_die "make install did not install $f"
done
"$inst/run_kselftest.sh" -c masstree >"$tmp/run_kselftest.log" 2>&1 || true
all_skipped "$tmp/run_kselftest.log" "run_kselftest.sh -c masstree"
echo "run_kselftest.sh -c masstree: $(echo $progs | wc -w) programs skipped"
