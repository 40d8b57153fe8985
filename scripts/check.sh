#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The whole test suite (`make check`). Stages, each with a time cap (warm):
#   deps, kernels   install packages; build or find the cached kernels
#   lint            checkpatch, kernel-doc, exported-symbol docs     (60 s)
#   build           stock headers W=1, sparse C=2, call graph and
#                   stack frames, KASAN and KCSAN kernels, selftests,
#                   dkms build, make install and the .debs into a
#                   temp dir (what each installs), selftests skip
#                   without the module, under both kselftest runners (300 s)
#   vm-kasan        KUnit + selftests on the KASAN/lockdep kernel     (560 s)
#   vm-kcsan        KUnit + selftests on the KCSAN/lockdep kernel     (320 s)
#   vm-kcsan-strict the concurrency suites on the strict KCSAN kernel
#                   (weak memory modeling, only modules instrumented) (150 s)
#   demo            make demo: masstreectl on the stock kernel, output
#                   checked against scripts/demo/expected             (120 s)
#   package         the .debs end to end (root): dpkg -i on this host,
#                   DKMS builds the module for the stock kernel, a
#                   consumer builds against the installed copy, the
#                   stock kernel loads the DKMS-built module in QEMU;
#                   dpkg -P at the end (scripts/check-package.sh)    (300 s)
#   harness         the harness catches each kind of failure (the broken
#                   modules of harness-selftest/)                    (180 s)
#   userspace       the core built in userspace (tools/testing/):
#                   differential tests, ASan/UBSan and TSan stress,
#                   fuzzing, bench                                   (280 s)
#   instr           instructions per masstree call (callgrind on the
#                   native benchmark) against
#                   tools/testing/bench/instr-baseline.txt: a cell more
#                   than 5% over it fails                            (150 s)
#   mutate          scripts/mutate: every mutant of the core (a planted
#                   one-line bug) must be killed by the userspace tests;
#                   a survivor fails the check                        (420 s)
# Every stage prints PASS/FAIL lines; the last line is the total,
# "N passed, N failed". Exit status 1 on any failure.
#
# Not a stage, too long for this budget: `make mutate-kernel`
# (scripts/mutate-kernel), mutants judged in the VM: barrier and ordering
# mutants of the core through the KUnit concurrency suites on the strict
# KCSAN kernel, /dev/masstree mutants through the device selftests on the
# KASAN kernel (about 13 minutes).
#
#   scripts/check.sh [--areas "lifecycle ..."] [--selftests "prog ..."]
#                    [--stages "lint build vm-kasan ..."]
set -uo pipefail
. "$(dirname "$0")/lib.sh"

areas= selftests= stages="kernels lint build vm-kasan vm-kcsan vm-kcsan-strict demo package harness userspace instr mutate"
# Internal: run one stage body (under the caller's timeout).
if [ "${1:-}" = --run ]; then
	shift
	body=$1
	shift
	areas=$MT_AREAS selftests=$MT_SELFTESTS out=$MT_CHECK_OUT
	cd "$MT_ROOT" || exit 1
	run_body=1
fi
while [ -z "${run_body:-}" ] && [ $# -gt 0 ]; do
	case $1 in
	--areas) areas=$2 ;;
	--selftests) selftests=$2 ;;
	--stages) stages=$2 ;;
	*) mt_die "unknown option $1" ;;
	esac
	shift 2
done
cd "$MT_ROOT" || exit 1
if [ -z "${run_body:-}" ]; then
[ -n "$areas" ] || areas=$(sed -n 's/^obj-[^ ]* += masstree_\(.*\)_test\.o$/\1/p' kunit/Kbuild | xargs)
[ -n "$selftests" ] || selftests=$(sed -n 's/^TEST_GEN_PROGS := //p' selftests/Makefile)

out=$MT_BUILD/check
rm -rf "$out"
mkdir -p "$out"
start=$(date +%s)
fi

# Run one stage under a time cap; collect its PASS/FAIL lines.
stage() {
	local name=$1 cap=$2 t0 rc
	shift 2
	t0=$(date +%s)
	mt_log "stage $name (cap ${cap}s)"
	MT_AREAS=$areas MT_SELFTESTS=$selftests MT_CHECK_OUT=$out \
		timeout -k 10 "$cap" "$0" --run "$@" >"$out/$name.out" 2>"$out/$name.err"
	rc=$?
	grep -E '^(PASS|FAIL) ' "$out/$name.out" >"$out/$name.summary"
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		echo "FAIL stage:$name: over its ${cap}s cap" >>"$out/$name.summary"
	elif [ $rc -ne 0 ] && ! grep -q '^FAIL ' "$out/$name.summary"; then
		echo "FAIL stage:$name: exit status $rc (see $out/$name.err)" >>"$out/$name.summary"
		tail -n 20 "$out/$name.err" >&2
	fi
	cat "$out/$name.summary"
	grep -q '^FAIL ' "$out/$name.summary" && tail -n 40 "$out/$name.err" >&2
	mt_log "stage $name: $(grep -c '^PASS ' "$out/$name.summary") passed, $(grep -c '^FAIL ' "$out/$name.summary") failed, $(($(date +%s) - t0))s"
}

# Stage bodies: each prints PASS/FAIL lines.
build_stage() {
	local stock kasan kcsan strict fail=0
	stock=/usr/src/linux-headers-$(mt_stock_release)
	kasan=$(scripts/build-kernel.sh kasan) && kcsan=$(scripts/build-kernel.sh kcsan) &&
		strict=$(scripts/build-kernel.sh kcsan-strict) || return 1
	try() {
		local name=$1
		shift
		if "$@" >"$out/build-$name.log" 2>&1; then
			echo "PASS build:$name"
		else
			echo "FAIL build:$name: see $out/build-$name.log"
			cat "$out/build-$name.log" >&2
			fail=1
		fi
	}
	try stock-w1 scripts/build-modules.sh "$stock" "$MT_BUILD/stock"
	try sparse scripts/build-modules.sh "$stock" "$MT_BUILD/sparse" C=2 CHECK=sparse
	# The internal prefix must not collide with the maple tree's debug API.
	try maple-debug scripts/build-modules.sh "$stock" "$MT_BUILD/maple-debug" \
		KCFLAGS=-DCONFIG_DEBUG_MAPLE_TREE
	try kasan scripts/build-modules.sh "$kasan" "$MT_BUILD/kasan"
	try kcsan scripts/build-modules.sh "$kcsan" "$MT_BUILD/kcsan"
	try kcsan-strict scripts/build-modules.sh "$strict" "$MT_BUILD/kcsan-strict"
	try consumer-stock scripts/build-consumer.sh "$stock" "$MT_BUILD/stock"
	try consumer-kasan scripts/build-consumer.sh "$kasan" "$MT_BUILD/kasan"
	try consumer-kcsan scripts/build-consumer.sh "$kcsan" "$MT_BUILD/kcsan"
	try consumer-kcsan-strict scripts/build-consumer.sh "$strict" "$MT_BUILD/kcsan-strict"
	try dkms scripts/check-install.sh dkms "$stock"
	try install scripts/check-install.sh install "$stock"
	try deb scripts/check-install.sh deb "$stock"
	mkdir -p "$MT_BUILD/selftests"
	try selftests make -C selftests KSRC="$(mt_kernel_source)" OUTPUT="$MT_BUILD/selftests" WERROR=1
	# Here, without the module, each of them must skip (KSFT_SKIP).
	try selftest-skip scripts/check-selftest-skip.sh "$MT_BUILD/selftests"
	# The kselftest runners: make run_tests and an installed run_kselftest.sh.
	try kselftest-runner scripts/check-kselftest.sh "$MT_BUILD/selftests"
	if scripts/build-modules.sh "$stock" "$MT_BUILD/callgraph" KCFLAGS=-fcallgraph-info=su \
		>"$out/build-callgraph.log" 2>&1; then
		python3 scripts/check-stack.py --limit 512 \
			$(ls "$MT_BUILD"/callgraph/src/{masstree,masstree/dev,bench}/*.ci | grep -v '\.mod\.ci$') || fail=1
	else
		echo "FAIL build:callgraph: see $out/build-callgraph.log"
		fail=1
	fi
	return $fail
}

# vm_stage VARIANT TIMEOUT [AREAS [SELFTESTS]]: boot VARIANT's kernel and
# run the KUnit areas and selftests (by default all that were asked for).
vm_stage() {
	local variant=$1 kernel plan=$out/plan-$1
	local areas=${3-$areas} selftests=${4-$selftests}
	kernel=$(scripts/build-kernel.sh "$variant") || return 1
	{
		echo "insmod masstree.ko"
		for p in $selftests; do echo "selftest $p"; done
		for a in $areas; do
			echo "kunit masstree_${a}_test.ko $(grep -cE '^\s*KUNIT_CASE(_PARAM)?\(' "kunit/masstree_${a}_test.c")"
		done
		echo "insmod masstree_registry.ko"
		echo "rmmod masstree_registry"
		# The benchmark module, tiny, so that it cannot rot: a wrong
		# answer fails its insmod.
		if [ "$variant" = kasan ]; then
			echo "insmod masstree_bench.ko keys=1000 duration_ms=20 threads=2 mem=0"
			echo "rmmod masstree_bench"
		fi
		echo "rmmod masstree"
		[ "$variant" = kasan ] && echo "kmemleak"
	} >"$plan"
	scripts/vm-run.sh --kernel "$kernel/bzImage" --plan "$plan" --out "$MT_BUILD/vm-$variant" \
		--modules "$MT_BUILD/$variant/ko" --selftests "$MT_BUILD/selftests" \
		--timeout "$2" --smp 2 --mem 2G | sed "s/^\(PASS\|FAIL\) /\1 $variant:/"
}

# make demo: the stock kernel, masstreectl, output against scripts/demo/expected.
demo_stage() {
	local rc
	scripts/demo.sh | sed -n 's/^\(PASS\|FAIL\) /\1 demo:/p'
	rc=${PIPESTATUS[0]}
	if [ "$rc" -eq 0 ]; then
		echo "PASS demo:output matches scripts/demo/expected"
	else
		echo "FAIL demo: make demo failed (see $MT_BUILD/demo)"
	fi
	return "$rc"
}

kernels_stage() {
	local v
	for v in kasan kcsan kcsan-strict; do
		if scripts/build-kernel.sh "$v" >/dev/null; then
			echo "PASS kernel:$v"
		else
			echo "FAIL kernel:$v: the build failed"
		fi
	done
}

if [ -n "${run_body:-}" ]; then
	"$body" "$@"
	exit
fi

scripts/install-deps.sh || mt_die "cannot install the dependencies"
for s in $stages; do
	case $s in
	kernels) stage kernels 2700 kernels_stage ;;
	lint) stage lint 120 scripts/lint.sh ;;
	build) stage build 300 build_stage ;;
	vm-kasan) stage vm-kasan 560 vm_stage kasan 540 ;;
	vm-kcsan) stage vm-kcsan 320 vm_stage kcsan 300 ;;
	vm-kcsan-strict)
		# The suites that run writers and readers against each other.
		strict_areas=$(for a in concurrency scan races; do
			grep -qw "$a" <<<"$areas" && echo "$a"; done | xargs)
		stage vm-kcsan-strict 150 vm_stage kcsan-strict 130 "$strict_areas" ""
		;;
	harness) stage harness 180 scripts/check-harness.sh ;;
	demo) stage demo 120 demo_stage ;;
	package) stage package 300 scripts/check-package.sh ;;
	userspace) stage userspace 280 scripts/check-userspace.sh ;;
	instr) stage instr 150 scripts/bench-instr.sh --check ;;
	mutate)
		# Stage userspace ran the baseline's programs on these sources.
		if [ -s "$out/userspace.summary" ] && ! grep -q '^FAIL ' "$out/userspace.summary"; then
			stage mutate 420 env MUTATE_BASELINE=build scripts/mutate
		else
			stage mutate 420 scripts/mutate
		fi
		;;
	*) mt_die "unknown stage $s" ;;
	esac
done

cat "$out"/*.summary >"$out/all.summary"
passed=$(grep -c '^PASS ' "$out/all.summary")
failed=$(grep -c '^FAIL ' "$out/all.summary")
mt_log "make check took $(($(date +%s) - start))s; failures:"
grep '^FAIL ' "$out/all.summary" >&2
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
