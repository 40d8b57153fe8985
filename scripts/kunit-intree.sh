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
# another act inside it. The tree is copied from Debian's linux-source-6.1
# (the cached extraction is never written) into build/kunit/linux, once;
# later runs refresh lib/masstree only and rebuild incrementally in
# build/kunit/out. Prints one PASS/FAIL line; kunit.py's parsed results and
# the raw console are in build/kunit/run.log and build/kunit/out/.
#
#   scripts/kunit-intree.sh [-n] [-- KUNIT_RUN_ARGS...]
#     -n    place only: copy the tree and lib/masstree, print the command
#     KUNIT_RUN_ARGS go to `kunit.py run` (e.g. --filter 'masstree_faults*')
#
# Environment: KUNIT_JOBS (make -j, default nproc), KUNIT_TIMEOUT (seconds
# for the run, default 1800), KUNIT_DIR (default build/kunit).
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

cmd=(python3 tools/testing/kunit/kunit.py run --kunitconfig=lib/masstree
     --arch=x86_64 --build_dir="$out" --jobs="${KUNIT_JOBS:-$(nproc)}"
     --timeout="${KUNIT_TIMEOUT:-1800}"
     --qemu_args="-smp 2 -accel tcg,thread=multi" "$@")
if [ "$place_only" = 1 ]; then
	echo "placed: $tree/lib/masstree; run in $tree:"
	echo "  ${cmd[*]}"
	exit 0
fi

mt_log "kunit.py run in $tree (log: $dir/run.log)"
start=$(date +%s)
(cd "$tree" && "${cmd[@]}") >"$dir/run.log" 2>&1
rc=$?
secs=$(($(date +%s) - start))
# kunit.py prints "Testing complete. Ran N tests: passed: P, failed: F..."
summary=$(grep -a 'Testing complete' "$dir/run.log" | tail -n 1 | sed 's/^\[[0-9:]*\] //')
suites=$(grep -ac '^\[[0-9:]*\] =* \[[A-Z]*\] masstree_' "$dir/run.log")
if [ "$rc" = 0 ] && [ -n "$summary" ]; then
	echo "PASS kunit-intree: $suites suites, $summary (${secs}s)"
else
	echo "FAIL kunit-intree: kunit.py exit $rc${summary:+, $summary} (${secs}s, see $dir/run.log)"
	tail -n 30 "$dir/run.log" | sed 's/^/    /' >&2
	exit 1
fi
