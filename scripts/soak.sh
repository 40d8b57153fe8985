#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# A long run (`make soak`), on each test kernel in turn:
#
# 1. the in-kernel soak: one boot that loads the KUnit suite
#    masstree_soak (kunit/masstree_soak_test.c) with --ops mixed
#    concurrent operations (default 10 million), split across --threads
#    kthreads and into chunks of --chunk operations, each chunk a fresh
#    map checked against the threads' models; the suite's log gives the
#    operations done and the time (summed into results.log's "soak-ops:"
#    line);
# 2. the reliability programs: a second boot that runs the stress,
#    fault-injection, fuzz and reload selftests in a loop until
#    --duration seconds have passed.
#
# Each boot then unloads the module (which warns on any node left) and,
# on the KASAN kernel, scans with kmemleak. Fails on any failing case or
# round and on any splat on the console (scripts/vm/verdict.py).
#
#   scripts/soak.sh [--duration SECONDS] [--kernels "kasan kcsan"]
#                   [--scale N] [--ops N] [--chunk N] [--threads N]
#                   [--seed N] [--ops-timeout SECONDS]
#
# --duration 0 skips the selftest loop, --ops 0 the in-kernel soak.
# --chunk defaults to 200000 operations (about 10 s on either kernel
# under TCG, 15 s on a loaded host): a chunk must end within KUnit's
# five-minute case timeout and the two-minute hung-task detector.
# --ops-timeout bounds the in-kernel boot (default: from the operation
# count, at 2,000 operations a second, a tenth of what either kernel
# does on a loaded host). --scale multiplies each program's size (MT_SCALE); every round
# gets fresh seeds, printed in the round's output (MT_SEED replays one).
# Results: build/soak-vm-<kernel>/ and build/soak-kunit-<kernel>/
# ({results.log,console.log,summary}).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

duration=600 kernels=kasan scale=1 ops=10000000 chunk= threads=4 seed=1 ops_timeout=
while [ $# -gt 0 ]; do
	case $1 in
	--duration) duration=$2 ;;
	--kernels) kernels=$2 ;;
	--scale) scale=$2 ;;
	--ops) ops=$2 ;;
	--chunk) chunk=$2 ;;
	--threads) threads=$2 ;;
	--seed) seed=$2 ;;
	--ops-timeout) ops_timeout=$2 ;;
	*) mt_die "unknown option $1" ;;
	esac
	shift 2
done
for n in "$duration" "$scale" "$ops" "${chunk:-1}" "$threads" "$seed" "${ops_timeout:-1}"; do
	[[ $n =~ ^[0-9]+$ ]] || mt_die "every option but --kernels takes an integer"
done
cd "$MT_ROOT"

stage=$MT_BUILD/soak/selftests
rm -rf "$stage"
mkdir -p "$stage"
if [ "$duration" -gt 0 ]; then
	mt_log "building the selftests"
	make -C selftests KSRC="$(mt_kernel_source)" OUTPUT="$stage" >"$MT_BUILD/soak/selftests.log" 2>&1 ||
		mt_die "selftest build failed (see $MT_BUILD/soak/selftests.log)"
	cp scripts/vm/soak-loop.sh "$stage/"
fi

# The in-kernel soak on kernel $1 (variant $2): one boot, one KUnit module.
kunit_soak() {
	local kernel=$1 v=$2 plan=$MT_BUILD/soak/kplan-$2 out=$MT_BUILD/soak-kunit-$2
	local c=${chunk:-200000} rate=2000 t0 rc=0
	{
		echo "insmod masstree.ko"
		echo "kunit masstree_soak_test.ko 1 ops=$ops chunk_ops=$c threads=$threads seed=$seed"
		echo "rmmod masstree"
		[ "$v" = kasan ] && echo "kmemleak"
	} >"$plan"
	mt_log "in-kernel soak on $v: $ops operations, $threads threads, chunks of $c"
	t0=$(date +%s)
	scripts/vm-run.sh --kernel "$kernel/bzImage" --plan "$plan" --out "$out" \
		--modules "$MT_BUILD/soak-$v/ko" \
		--timeout "${ops_timeout:-$((300 + ops / rate))}" --smp 2 --mem 2G |
		sed "s/^\(PASS\|FAIL\) /\1 soak-kunit-$v:/" || rc=1
	# The suite's own count and time, summed over its chunks.
	grep -a 'chunk [0-9]*: [0-9]* ops' "$out/console.log" |
		sed 's/.*chunk \([0-9]*\): \([0-9]*\) ops .* in \([0-9]*\) ms .*/\1 \2 \3/' |
		awk -v v="$v" -v wall=$(($(date +%s) - t0)) \
			'{ n++; o += $2; ms += $3 }
			END { printf "soak-ops: %s: %d chunks, %d operations in %.1f s of soak, %d s boot to power-off\n", v, n, o, ms / 1000, wall }' |
		tee -a "$out/results.log" >&2
	return $rc
}

fail=0
for v in $kernels; do
	kernel=$(scripts/build-kernel.sh "$v")
	mt_log "building the modules for $v"
	scripts/build-modules.sh "$kernel" "$MT_BUILD/soak-$v" >/dev/null
	if [ "$ops" -gt 0 ]; then
		kunit_soak "$kernel" "$v" || fail=1
	fi
	[ "$duration" -gt 0 ] || continue
	plan=$MT_BUILD/soak/plan-$v
	{
		echo "insmod masstree.ko"
		echo "sh cd /selftests && ./soak-loop.sh $duration $scale"
		echo "rmmod masstree"
		[ "$v" = kasan ] && echo "kmemleak"
	} >"$plan"
	mt_log "soaking on $v for ${duration}s"
	# The last round may start just before the end: allow for it.
	scripts/vm-run.sh --kernel "$kernel/bzImage" --plan "$plan" \
		--out "$MT_BUILD/soak-vm-$v" --modules "$MT_BUILD/soak-$v/ko" \
		--selftests "$stage" --timeout $((duration + 600)) --smp 2 --mem 2G |
		sed "s/^\(PASS\|FAIL\) /\1 soak-$v:/" || fail=1
	grep -E '^soak:' "$MT_BUILD/soak-vm-$v/results.log" | sed "s/^/$v: /" >&2 || true
done
if [ $fail -eq 0 ]; then
	mt_log "soak passed"
else
	mt_log "soak FAILED"
fi
exit $fail
