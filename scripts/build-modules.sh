#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the modules against one kernel, in a private copy of the sources
# (M= builds write their objects next to the sources), and fail on any
# compiler warning at W=1.
#
#   scripts/build-modules.sh KDIR OUTDIR [extra make arguments...]
#
# The .ko files end up in OUTDIR/ko/.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kdir=${1:?usage: build-modules.sh KDIR OUTDIR [make args]}
out=${2:?usage: build-modules.sh KDIR OUTDIR [make args]}
shift 2
out=$(realpath -m "$out")
mkdir -p "$out/src"
rsync -a --delete --exclude='*.o' --exclude='*.ko' \
	"$MT_ROOT/Kbuild" "$MT_ROOT/VERSION" "$MT_ROOT/masstree" "$MT_ROOT/include" "$MT_ROOT/kunit" "$MT_ROOT/bench" "$out/src/"
log=$out/build.log
# Test and benchmark builds: the benchmark module too.
if ! mt_module_make -C "$kdir" M="$out/src" W=1 MASSTREE_BENCH=y "$@" modules >"$log" 2>&1; then
	cat "$log" >&2
	mt_die "module build against $kdir failed"
fi
if grep -E 'warning:|error:' "$log" >&2; then
	mt_die "module build against $kdir has warnings (see above)"
fi
rm -rf "$out/ko"
mkdir -p "$out/ko"
find "$out/src" -name '*.ko' -exec cp {} "$out/ko/" \;
cp "$out/src/Module.symvers" "$out/ko/" 2>/dev/null || true
ls "$out/ko"/*.ko >/dev/null 2>&1 || mt_die "no module was built"
