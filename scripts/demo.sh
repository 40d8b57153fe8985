#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The main job (`make demo`): boot Debian's stock kernel under QEMU, load
# masstree.ko built against its headers, use it through /dev/masstree with
# masstreectl (scripts/demo/guest.sh), unload it. The guest's output, less
# the lines marked as varying, must match scripts/demo/expected.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$MT_ROOT/scripts/install-deps.sh"
rel=$(mt_stock_release)
image=/boot/vmlinuz-$rel
[ -r "$image" ] || mt_die "$image missing: install linux-image-$rel"
out=$MT_BUILD/demo
mt_log "building masstree.ko against the stock $rel headers"
"$MT_ROOT/scripts/build-modules.sh" "/usr/src/linux-headers-$rel" "$out/modules"
mt_log "building masstreectl"
rm -rf "$out/tools"
make -s -C "$MT_ROOT/tools/masstreectl" OUTPUT="$out/tools" WERROR=1
cp "$MT_ROOT/scripts/demo/guest.sh" "$out/tools/"
cat >"$out/plan" <<'PLAN'
sh echo "kernel: $(uname -r)"
insmod masstree.ko
sh echo "loaded: /sys/module/masstree is there, state $(cat /sys/module/masstree/initstate)"
sh dmesg | grep 'masstree: '
sh echo "debugfs /sys/kernel/debug/masstree/nodes:"; cat /sys/kernel/debug/masstree/nodes
sh sh /selftests/guest.sh
rmmod masstree
sh test ! -e /sys/module/masstree && echo "unloaded: /sys/module/masstree is gone"
PLAN
mt_log "booting $image under QEMU (TCG, 2 vCPUs)"
set +e
"$MT_ROOT/scripts/vm-run.sh" --kernel "$image" --plan "$out/plan" --out "$out/vm" \
	--modules "$out/modules/ko" --selftests "$out/tools" --timeout 300 >"$out/verdict"
rc=$?
set -e
echo "---- what the guest reported ----"
grep -vE '^(STATUS|PLAN-BEGIN|PLAN-DONE)' "$out/vm/results.log" | tr -d '\r'
echo "---- verdict ----"
cat "$out/verdict"
tr -d '\r' <"$out/vm/results.log" | sed -n '/^DEMO-BEGIN$/,/^DEMO-END$/p' |
	grep -v '^~ ' >"$out/guest.out" || true
if ! diff -u "$MT_ROOT/scripts/demo/expected" "$out/guest.out" >"$out/guest.diff"; then
	cat "$out/guest.diff"
	echo "demo: FAILED: the guest's output differs from scripts/demo/expected (diff above)"
	exit 1
fi
if [ $rc -ne 0 ]; then
	echo "demo: FAILED: see the verdict above and $out/vm/console.log"
	exit $rc
fi
echo "demo: masstree loaded, served masstreectl and unloaded cleanly on the stock kernel $rel"
