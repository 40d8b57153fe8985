#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: build (or find) the lean kernel, build the modules against
# it, boot it under QEMU (TCG, -smp 2) and run masstree_bench.ko over the
# whole matrix, then write docs/benchmarks.md and the plots in docs/.
#
#   scripts/bench.sh [--keys N] [--ms MS] [--reps R] [--threads 1,2,4]
#                    [--out DIR] [--docs DIR] [--report-only]
#
# --report-only rewrites the report from the results of the last run.
#
# One boot: masstree.ko, then one insmod of masstree_bench.ko per key shape
# and repetition (each repetition with its own seed: new keys, new
# streams); the report takes the median of the repetitions. Memory per key
# is measured in the first repetition only. Raw results stay in
# build/bench/ (console.log, results.txt).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

keys=100000 ms=500 reps=3 threads=1,2,4
out=$MT_BUILD/bench docs=$MT_ROOT/docs report_only=
while [ $# -gt 0 ]; do
	case $1 in
	--report-only)
		report_only=1
		shift
		continue
		;;
	--keys) keys=$2 ;;
	--ms) ms=$2 ;;
	--reps) reps=$2 ;;
	--threads) threads=$2 ;;
	--out) out=$2 ;;
	--docs) docs=$2 ;;
	*) mt_die "unknown option $1" ;;
	esac
	shift 2
done

t0=$(date +%s)
scripts=$MT_ROOT/scripts
report() {
	local args=()

	mapfile -t args <"$out/report.args"
	mkdir -p "$docs"
	python3 "$scripts/bench-report.py" --results "$out/results.txt" --docs "$docs" "${args[@]}"
}
if [ -n "$report_only" ]; then
	[ -s "$out/results.txt" ] && [ -f "$out/report.args" ] || mt_die "no results in $out: run a benchmark first"
	report
	exit
fi
"$scripts/install-deps.sh" || mt_die "cannot install the dependencies"
kernel=$("$scripts/build-kernel.sh" lean) || mt_die "cannot build the lean kernel"
mkdir -p "$out"
"$scripts/build-modules.sh" "$kernel" "$out/modules" >&2

shapes="int8 rand16 prefix24 rand32"
plan=$out/plan
{
	echo "insmod masstree.ko"
	for r in $(seq 1 "$reps"); do
		mem=0
		[ "$r" -eq 1 ] && mem=1
		for s in $shapes; do
			echo "insmod masstree_bench.ko shapes=$s keys=$keys duration_ms=$ms threads=$threads seed=$r mem=$mem"
			echo "rmmod masstree_bench"
		done
	done
	echo "rmmod masstree"
} >"$plan"

load_before=$(cut -d' ' -f1 /proc/loadavg)
# The host's load during the run: other work on the host's CPUs
# deschedules vCPUs, which the report must state.
(while sleep 20; do cut -d' ' -f1 /proc/loadavg; done) >"$out/load.txt" &
sampler=$!
mt_log "running the benchmark matrix: $keys keys, ${ms} ms per run, $reps repetitions"
# Generous: about 3 minutes per shape and repetition on an idle machine;
# lock-holder preemption on a busy host can stretch some runs a lot.
timeout_s=$((reps * 4 * 400 + 120))
if ! "$scripts/vm-run.sh" --kernel "$kernel/bzImage" --plan "$plan" --out "$out/vm" \
	--modules "$out/modules/ko" --timeout "$timeout_s" --smp 2 --mem 2G >"$out/verdict" 2>&1; then
	kill "$sampler"
	cat "$out/verdict" >&2
	mt_die "the benchmark run failed (see $out/vm/console.log)"
fi
kill "$sampler"
load=$(sort -n "$out/load.txt" | awk -v b="$load_before" '
	{ v[NR] = $1; s += $1 }
	END { if (NR) printf "%s at the start; during the run mean %.1f, median %s, max %s", b, s / NR, v[int((NR + 1) / 2)], v[NR]; else print b }')
sed -n 's/^.*masstree_bench: \(struct=.*\)$/\1/p' "$out/vm/console.log" | tr -d '\r' >"$out/results.txt"
[ -s "$out/results.txt" ] || mt_die "no result lines in $out/vm/console.log"

printf '%s\n' \
	--cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" \
	--host-cpus "$(nproc)" --qemu "$(qemu-system-x86_64 --version | head -n 1)" \
	--kernel "$(cat "$kernel/source-version") lean ($(basename "$kernel"))" \
	--load "$load" --keys "$keys" --ms "$ms" --reps "$reps" \
	--date "$(date -u '+%Y-%m-%d %H:%M UTC')" \
	--commit "$(git -C "$MT_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
	>"$out/report.args"
report
mt_log "make bench took $(($(date +%s) - t0)) s; report in $docs/benchmarks.md"
