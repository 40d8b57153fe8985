#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Place masstree and its KUnit suites into a copy of the kernel tree as
# lib/masstree (Kconfig entries MASSTREE and MASSTREE_KUNIT_TEST, hooked
# into lib/Kconfig and lib/Makefile), then let the kernel's own runner
# build and run every suite:
#
#   tools/testing/kunit/kunit.py run --kunitconfig=lib/masstree --arch=x86_64
#
# x86_64 under QEMU rather than UML: UML has one CPU, and the concurrency
# and races suites hold a writer's window open on one CPU while threads on
# another act inside it (they also need CONFIG_PREEMPT: threads bound to
# one CPU spin until the others arrive). The tree is copied from Debian's linux-source-6.1
# (the cached extraction is never written) into build/kunit/linux, once;
# later runs refresh lib/masstree only and rebuild incrementally in
# build/kunit/out. Prints one PASS/FAIL line; kunit.py's parsed results and
# the raw console are in build/kunit/run.log and build/kunit/out/test.log.
#
#   scripts/kunit-intree.sh [-n] [-- KUNIT_RUN_ARGS...]
#     -n    place only: copy the tree and lib/masstree, print the command
#     KUNIT_RUN_ARGS go to `kunit.py exec` (e.g. 'masstree_faults*', a
#     suite glob)
#
# Environment: KUNIT_JOBS (make -j, default nproc), KUNIT_TIMEOUT (seconds
# for the run, default 1800), KUNIT_DIR (default build/kunit),
# KUNIT_VM_LOCK (a lock file held with flock while QEMU runs: on a host
# where VMs take turns, /tmp/masstree-vm.lock).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

place_only=0
if [ "${1:-}" = "-n" ]; then
	place_only=1
	shift
fi
[ "${1:-}" = "--" ] && shift

dir=$(realpath -m "${KUNIT_DIR:-$MT_BUILD/kunit}")
tree=$dir/linux
out=$dir/out
src=$(mt_kernel_source)
ver=$(mt_source_version)

mkdir -p "$dir" "$out"
if [ "$(cat "$tree/.masstree-copied-from" 2>/dev/null)" != "$ver" ]; then
	mt_log "copying the kernel tree $ver to $tree"
	rm -rf "$tree"
	cp -a "$src" "$tree" || mt_die "cannot copy $src"
	rm -f "$tree/.extracted"
	echo "$ver" >"$tree/.masstree-copied-from"
fi

# lib/masstree: the sources as they are in this worktree (committed or
# not), without build products. rsync --delete drops files removed here.
rsync -a --delete --exclude-from=- "$MT_ROOT/" "$tree/lib/masstree/" <<'EOF' ||
- *.o
- *.ko
- *.mod
- *.mod.c
- .*.cmd
- *.a
- modules.order
- Module.symvers
+ /Kbuild
+ /Kconfig
+ /.kunitconfig
+ /VERSION
+ /include/***
+ /masstree/***
+ /kunit/***
- *
EOF
	mt_die "cannot place lib/masstree"

grep -q 'lib/masstree/Kconfig' "$tree/lib/Kconfig" ||
	printf '\nsource "lib/masstree/Kconfig"\n' >>"$tree/lib/Kconfig"
grep -q 'masstree/' "$tree/lib/Makefile" ||
	printf '\nobj-$(CONFIG_MASSTREE) += masstree/\n' >>"$tree/lib/Makefile"

kunit=(python3 tools/testing/kunit/kunit.py)
common=(--kunitconfig=lib/masstree --arch=x86_64 --build_dir="$out"
	--qemu_args="-smp 2 -accel tcg,thread=multi")
if [ "$place_only" = 1 ]; then
	echo "placed: $tree/lib/masstree; run in $tree:"
	echo "  ${kunit[*]} run ${common[*]}"
	exit 0
fi

# kunit.py run is config + build + exec: built first, so that a lock
# for QEMU (KUNIT_VM_LOCK, a file for flock) is held only while it runs.
mt_log "kunit.py build in $tree (log: $dir/build.log)"
t0=$(date +%s)
(cd "$tree" && "${kunit[@]}" build "${common[@]}" --jobs="${KUNIT_JOBS:-$(nproc)}") \
	>"$dir/build.log" 2>&1
rc=$?
t1=$(date +%s)
if [ "$rc" != 0 ]; then
	echo "FAIL kunit-intree: kunit.py build exit $rc ($((t1 - t0))s, see $dir/build.log)"
	tail -n 30 "$dir/build.log" | sed 's/^/    /' >&2
	exit 1
fi
lock=()
[ -n "${KUNIT_VM_LOCK:-}" ] && lock=(flock "$KUNIT_VM_LOCK")
mt_log "kunit.py exec${lock:+ under ${KUNIT_VM_LOCK:-}} (log: $dir/run.log)"
(cd "$tree" && "${lock[@]}" "${kunit[@]}" exec "${common[@]}" \
	--timeout="${KUNIT_TIMEOUT:-1800}" "$@") >"$dir/run.log" 2>&1
rc=$?
t2=$(date +%s)
# kunit.py prints "Testing complete. Ran N tests: passed: P, failed: F..."
summary=$(grep -a 'Testing complete' "$dir/run.log" | tail -n 1 | sed 's/^\[[0-9:]*\] //')
# Every suite of kunit/Kbuild must have run: its top-level KTAP line.
want=$(grep -c '^obj-.* += masstree_.*_test\.o$' "$MT_ROOT/kunit/Kbuild")
suites=$(grep -ac '^ok [0-9]* masstree_' "$out/test.log" 2>/dev/null)
times="build $((t1 - t0))s, exec $((t2 - t1))s"
if [ "$rc" = 0 ] && [ -n "$summary" ] && [ "$suites" = "$want" ]; then
	echo "PASS kunit-intree: $suites of $want suites ok, $summary ($times)"
else
	echo "FAIL kunit-intree: ${suites:-0} of $want suites ok, kunit.py exit $rc${summary:+, $summary} ($times, see $dir/run.log)"
	tail -n 30 "$dir/run.log" | sed 's/^/    /' >&2
	exit 1
fi
