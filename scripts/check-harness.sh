#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The harness self-test (`make check-harness`): a harness that cannot fail
# is worth nothing. Boots the deliberately broken modules of
# harness-selftest/ and expects each run to fail, for the right reason:
# a failing KUnit case, a WARN_ON, a KASAN use-after-free, a lockdep
# inversion, suspicious RCU usage, a KCSAN data race, a missing barrier
# that only the strict KCSAN kernel (weak memory modeling) sees, and a
# hang. Passing control runs must pass, on the KCSAN kernel and on the
# strict one with the barrier in place. Only the use-after-free needs the
# KASAN kernel; the rest boot the faster KCSAN kernels. The hang (40 s timeout) sleeps,
# so it runs beside the others. Also plants a recursion for the stack
# checker. Prints PASS/FAIL lines.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

out=$MT_BUILD/harness
rm -rf "$out"
mkdir -p "$out"
fail=0

build() {
	local variant=$1 kdir dir=$out/build-$1
	kdir=$(scripts/build-kernel.sh "$variant") || return 1
	mkdir -p "$dir"
	cp "$MT_ROOT"/harness-selftest/{Kbuild,*.c} "$dir/"
	make -C "$kdir" M="$dir" modules >"$dir/build.log" 2>&1 || {
		cat "$dir/build.log" >&2
		return 1
	}
	echo "$kdir/bzImage"
}

cd "$MT_ROOT" || exit 1
kcsan_image=$(build kcsan) && kasan_image=$(build kasan) &&
	strict_image=$(build kcsan-strict) || {
	echo "FAIL harness:build: the broken modules did not build"
	exit 1
}

# run NAME IMAGE PLAN-LINE EXPECTED-VERDICT-REGEX [TIMEOUT]
#
# A run that fails for another reason than the expected one is booted
# once more: under TCG on a loaded host a guest can stall on its own
# timers (an RCU stall at boot, seen once with the hang run beside it),
# which says nothing about the harness. The second verdict decides; the
# first is kept as verdict.1.
run() {
	local name=$1 image=$2 line=$3 expect=$4 timeout=${5:-90}
	local dir=$out/$name variant try
	variant=$(basename "$(dirname "$image")" | sed 's/^kernel-//; s/-[0-9a-f]*$//')
	mkdir -p "$dir"
	echo "$line" >"$dir/plan"
	for try in 1 2; do
		if scripts/vm-run.sh --kernel "$image" --plan "$dir/plan" --out "$dir/vm" \
			--modules "$out/build-$variant" --timeout "$timeout" >"$dir/verdict" 2>&1; then
			echo "$name passed" >"$dir/result"
		elif grep -qE "$expect" "$dir/verdict"; then
			echo "$name failed as expected" >"$dir/result"
		else
			echo "$name failed for another reason" >"$dir/result"
			[ "$try" = 1 ] && mv "$dir/verdict" "$dir/verdict.1" && continue
		fi
		break
	done
}

run hang "$kcsan_image" "insmod harness_hang.ko" '^FAIL vm: hung' 40 &
hang_pid=$!
run control "$kcsan_image" "kunit harness_ok.ko 1" 'never'
run kunit-failure "$kcsan_image" "kunit harness_kunit_fail.ko 3" '^FAIL kunit:harness_kunit_fail\.harness_kunit_fails'
run warn-on "$kcsan_image" "insmod harness_warn.ko" 'WARNING:'
run kasan-use-after-free "$kasan_image" "insmod harness_kasan_uaf.ko" 'KASAN: (slab-)?use-after-free'
run lockdep-inversion "$kcsan_image" "insmod harness_lockdep.ko" 'circular locking dependency'
run suspicious-rcu "$kcsan_image" "insmod harness_rcu.ko" 'suspicious RCU usage'
run kcsan-data-race "$kcsan_image" "insmod harness_kcsan.ko" 'KCSAN: data-race'
run kcsan-strict-control "$strict_image" "insmod harness_kcsan_barrier.ko release=1" 'never'
run kcsan-strict-missing-barrier "$strict_image" "insmod harness_kcsan_barrier.ko" \
	'KCSAN: data-race'
wait $hang_pid

for name in control kunit-failure warn-on kasan-use-after-free lockdep-inversion \
	suspicious-rcu kcsan-data-race kcsan-strict-control kcsan-strict-missing-barrier hang; do
	result=$(cat "$out/$name/result" 2>/dev/null || echo "$name did not run")
	case $name:$result in
	control:"$name passed" | kcsan-strict-control:"$name passed" | *:"$name failed as expected")
		echo "PASS harness:$name: $result" ;;
	*)
		echo "FAIL harness:$name: $result (see $out/$name)"
		sed 's/^/    /' "$out/$name/verdict" >&2
		fail=1 ;;
	esac
done

# The stack checker must reject recursion and oversized frames.
cat >"$out/planted.ci" <<'CI'
graph: { title: "planted"
node: { title: "a" label: "a\nplanted.c:1:1\n16 bytes (static)" }
node: { title: "b" label: "b\nplanted.c:2:1\n600 bytes (static)" }
edge: { sourcename: "a" targetname: "b" label: "planted.c:1:2" }
edge: { sourcename: "b" targetname: "a" label: "planted.c:2:2" }
}
CI
planted=$(python3 scripts/check-stack.py --limit 512 "$out/planted.ci")
if grep -q '^FAIL stack:recursion: a -> b -> a' <<<"$planted" &&
	grep -q '^FAIL stack:frame:b' <<<"$planted"; then
	echo "PASS harness:stack-check-rejects-planted-recursion"
else
	echo "FAIL harness:stack-check-rejects-planted-recursion: $planted"
	fail=1
fi
exit $fail
