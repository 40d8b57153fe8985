#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a kernel under QEMU (TCG) with a test initramfs, run a plan, judge it.
#
#   scripts/vm-run.sh --kernel BZIMAGE --plan FILE --out DIR
#                     [--modules DIR] [--selftests DIR] [--smp N] [--mem SIZE]
#                     [--timeout SECONDS] [--append ARGS] [--kunit-tool DIR]
#
# The plan's commands are those of scripts/vm/init. The console goes to
# DIR/console.log, the plan's reports to DIR/results.log, the verdict (one
# PASS or FAIL line per test) to DIR/summary. Exit status 0 means every
# test passed and the console shows no WARNING, BUG, Oops, KASAN, KCSAN,
# lockdep or RCU report; a hang past the timeout fails too.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kernel= plan= out= modules= selftests= append=
smp=2 mem=1G timeout=240 kunit_tool=
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=$2 ;;
	--plan) plan=$2 ;;
	--out) out=$2 ;;
	--modules) modules=$2 ;;
	--selftests) selftests=$2 ;;
	--smp) smp=$2 ;;
	--mem) mem=$2 ;;
	--timeout) timeout=$2 ;;
	--append) append=$2 ;;
	--kunit-tool) kunit_tool=$2 ;;
	*) mt_die "unknown option $1" ;;
	esac
	shift 2
done
[ -f "$kernel" ] && [ -f "$plan" ] && [ -n "$out" ] ||
	mt_die "usage: vm-run.sh --kernel BZIMAGE --plan FILE --out DIR [options]"
[ -n "$kunit_tool" ] || kunit_tool=$(mt_kernel_source)/tools/testing/kunit

mkdir -p "$out"
out=$(cd "$out" && pwd)
root=$out/initramfs
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,modules,selftests}
# busybox-static's binary: the initramfs has no libc.
cp /bin/busybox "$root/bin/busybox"
cp "$MT_ROOT/scripts/vm/init" "$root/init"
chmod 755 "$root/init"
cp "$plan" "$root/plan"
[ -z "$modules" ] || cp "$modules"/*.ko "$root/modules/" 2>/dev/null || true
[ -z "$selftests" ] || cp -a "$selftests"/. "$root/selftests/"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initramfs.cpio.gz"
rm -rf "$root"

: >"$out/console.log"
: >"$out/results.log"
cmdline="console=ttyS0 panic=-1 oops=panic panic_on_warn=1 kasan.fault=panic"
# idle=halt: QEMU's default CPU claims AMD erratum 400, whose idle routine
# sometimes loses timer wakeups under TCG and stalls the boot.
cmdline+=" idle=halt softlockup_panic=1 hung_task_panic=1 loglevel=7 $append"
set +e
timeout --foreground -k 5 "$timeout" qemu-system-x86_64 \
	-accel tcg,thread=multi -smp "$smp" -m "$mem" \
	-kernel "$kernel" -initrd "$out/initramfs.cpio.gz" -append "$cmdline" \
	-display none -monitor none -no-reboot \
	-serial "file:$out/console.log" -serial "file:$out/results.log" \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null >"$out/qemu.log" 2>&1
qemu_rc=$?
set -e

python3 "$MT_ROOT/scripts/vm/verdict.py" --out "$out" --plan "$plan" \
	--qemu-rc "$qemu_rc" --timeout "$timeout" --kunit-tool "$kunit_tool"
