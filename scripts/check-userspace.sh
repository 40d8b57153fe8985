#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The userspace build of the core (`make check`, stage userspace): builds
# tools/testing/ and runs its programs, each under a time cap, one
# PASS/FAIL line per test:
#   build               make -C tools/testing all (-O2, ASan+UBSan, TSan,
#                       libFuzzer)
#   difftest-seedN      differential test (point operations, scans both
#                       ways, cursors paused between writes), -O2, four
#                       seeds, 10M operations; a failure writes a shrunk
#                       replay to build/userspace/difftest-seedN.replay
#   difftest-asan       differential test under ASan+UBSan, 1M operations
#   difftest-shrink     the checker and shrinker self-test: a planted
#                       reference bug must be caught and shrunk to a few
#                       operations that replay from a file
#   stress              thread stress (writers, readers, scanners), -O2
#   stress-asan         thread stress under ASan+UBSan
#   stress-tsan         thread stress under TSan (halt on the first report)
#   races               targeted races, round after round, each window held
#                       open by the test hooks: the first insert into an
#                       empty map or a new or emptying layer, readers of
#                       the keys a leaf split moves and of the keys whose
#                       internode child index shifts; exact statistics
#                       after every round, -O2
#   races-tsan          the same under TSan
#   fuzz                libFuzzer with ASan+UBSan for 20 s from the seed
#                       corpus (tools/testing/fuzz-corpus); crashes fail
#                       it and land in build/userspace/crash-*
#   bench-smoke         the benchmark on 2000 keys, every workload, shape
#                       and structure at 1 and 2 threads: wrong results
#                       fail it (no timing is checked)
# Every program's output goes to build/userspace/NAME.log; a failure
# prints the log's tail on stderr. The whole run stays under a deadline
# (MT_USERSPACE_BUDGET, 265 s by default) so that a hang still leaves a
# FAIL line for every test rather than a killed stage. Exit status 1 on
# any failure.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

out=$MT_BUILD/userspace
bin=$MT_ROOT/tools/testing/build
deadline=$(($(date +%s) + ${MT_USERSPACE_BUDGET:-265}))
fail=0

cd "$MT_ROOT" || exit 1
rm -rf "$out"
mkdir -p "$out"

# Sanitizer reports are failures even where a program exits 0.
sanitizer_report() {
	grep -qE '^(WARNING|ERROR): (ThreadSanitizer|AddressSanitizer|LeakSanitizer)|runtime error:' "$1"
}

# run NAME CAP COMMAND...: run COMMAND under min(CAP, time left), log to
# $out/NAME.log, print PASS or FAIL.
run() {
	local name=$1 cap=$2 log=$out/$1.log left rc why t0
	shift 2
	left=$((deadline - $(date +%s)))
	if [ "$left" -lt 5 ]; then
		echo "FAIL userspace:$name: not run, the ${MT_USERSPACE_BUDGET:-265}s budget is spent"
		fail=1
		return 1
	fi
	[ "$cap" -le "$left" ] || cap=$left
	t0=$(date +%s)
	timeout -k 5 "$cap" "$@" >"$log" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && ! sanitizer_report "$log"; then
		echo "PASS userspace:$name ($(($(date +%s) - t0))s)"
		return 0
	fi
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		why="over its ${cap}s cap"
	elif [ $rc -eq 0 ]; then
		why="sanitizer report"
	else
		why="exit status $rc"
	fi
	echo "FAIL userspace:$name: $why (see $log)"
	{
		echo "--- $name: $*"
		tail -n 40 "$log" | sed 's/^/    /'
	} >&2
	fail=1
	return 1
}

if ! run build 120 make -C tools/testing -j"$(nproc)" all; then
	for t in difftest-seed1 difftest-seed2 difftest-seed3 difftest-seed4 \
		difftest-asan difftest-shrink stress stress-asan stress-tsan \
		races races-tsan fuzz bench-smoke; do
		echo "FAIL userspace:$t: not run, the build failed"
	done
	exit 1
fi

# Millions of operations, not thousands: >= 10M at -O2 over several
# seeds, >= 1M under ASan, so that rare interleavings of the map's
# shapes come up.
# -T: a failure is shrunk for at most 15 s, so its replay lands in the cap.
# Two at a time: difftest is single-threaded and the host has two cores.
for pair in "1 2" "3 4"; do
	for seed in $pair; do
		run difftest-seed$seed 60 "$bin/difftest" -s $seed -n 2500000 \
			-T 15 -w "$out/difftest-seed$seed.replay" >"$out/difftest-seed$seed.verdict" &
	done
	wait
	for seed in $pair; do
		cat "$out/difftest-seed$seed.verdict"
		grep -q '^PASS' "$out/difftest-seed$seed.verdict" || fail=1
	done
done
run difftest-asan 60 "$bin/difftest-asan" -s 5 -n 1000000 \
	-T 15 -w "$out/difftest-asan.replay"
run difftest-shrink 30 "$bin/difftest" --self-test

export ASAN_OPTIONS=abort_on_error=0:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
run stress 30 "$bin/stress" -t 4 -r 2 -d 8
run stress-asan 40 "$bin/stress-asan" -t 4 -r 2 -d 8
TSAN_OPTIONS=halt_on_error=1 run stress-tsan 50 "$bin/stress-tsan" -t 4 -r 2 -d 14
run races 60 "$bin/races" -r 4000
TSAN_OPTIONS=halt_on_error=1 run races-tsan 30 "$bin/races-tsan" -r 1000 -b 1000

# libFuzzer stops itself after 20 s (longer runs: make -C tools/testing
# fuzz); the cap only catches a hang. New inputs go to a scratch corpus, never
# into the committed one. Leaks: see FUZZ_FLAGS in tools/testing/Makefile.
mkdir -p "$out/fuzz-corpus"
run fuzz 60 "$bin/fuzz" -max_total_time=20 -timeout=20 -rss_limit_mb=2048 \
	-max_len=2048 -detect_leaks=0 -print_final_stats=1 \
	-artifact_prefix="$out/" "$out/fuzz-corpus" tools/testing/fuzz-corpus
run bench-smoke 30 "$bin/bench" --smoke
exit $fail
