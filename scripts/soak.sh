#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# A long run of the reliability programs (`make soak`): boots each test
# kernel once and runs the stress, fault-injection, fuzz and reload
# selftests in a loop inside it until DURATION seconds have passed,
# then unloads the module (which warns on any node left) and, on the
# KASAN kernel, scans with kmemleak. Fails on any failing round and on
# any splat on the console (scripts/vm/verdict.py).
#
#   scripts/soak.sh [--duration SECONDS] [--kernels "kasan kcsan"]
#                   [--scale N]
#
# --scale multiplies each program's size (MT_SCALE); every round gets
# fresh seeds, printed in the round's output (MT_SEED replays one).
# Results: build/soak-vm-<kernel>/{results.log,console.log,summary}.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

duration=600 kernels=kasan scale=1
while [ $# -gt 0 ]; do
	case $1 in
	--duration) duration=$2 ;;
	--kernels) kernels=$2 ;;
	--scale) scale=$2 ;;
	*) mt_die "unknown option $1" ;;
	esac
	shift 2
done
[[ $duration =~ ^[0-9]+$ && $scale =~ ^[0-9]+$ ]] || mt_die "--duration and --scale take integers"
cd "$MT_ROOT"

stage=$MT_BUILD/soak/selftests
rm -rf "$stage"
mkdir -p "$stage"
mt_log "building the selftests"
make -C selftests KSRC="$(mt_kernel_source)" OUTPUT="$stage" >"$MT_BUILD/soak/selftests.log" 2>&1 ||
	mt_die "selftest build failed (see $MT_BUILD/soak/selftests.log)"
cp scripts/vm/soak-loop.sh "$stage/"

fail=0
for v in $kernels; do
	kernel=$(scripts/build-kernel.sh "$v")
	mt_log "building the modules for $v"
	scripts/build-modules.sh "$kernel" "$MT_BUILD/soak-$v" >/dev/null
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
