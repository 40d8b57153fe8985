#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The main job (`make demo`): boot Debian's stock kernel under QEMU, load
# masstree.ko built against its headers, show it working, unload it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$MT_ROOT/scripts/install-deps.sh"
rel=$(mt_stock_release)
image=/boot/vmlinuz-$rel
[ -r "$image" ] || mt_die "$image missing: install linux-image-$rel"
out=$MT_BUILD/demo
mt_log "building masstree.ko against the stock $rel headers"
"$MT_ROOT/scripts/build-modules.sh" "/usr/src/linux-headers-$rel" "$out/modules"
cat >"$out/plan" <<'PLAN'
sh echo "kernel: $(uname -r)"
insmod masstree.ko
sh echo "loaded: /sys/module/masstree is there, state $(cat /sys/module/masstree/initstate)"
sh dmesg | grep 'masstree: '
sh echo "debugfs /sys/kernel/debug/masstree/nodes:"; cat /sys/kernel/debug/masstree/nodes
rmmod masstree
sh test ! -e /sys/module/masstree && echo "unloaded: /sys/module/masstree is gone"
PLAN
mt_log "booting $image under QEMU (TCG, 2 vCPUs)"
set +e
"$MT_ROOT/scripts/vm-run.sh" --kernel "$image" --plan "$out/plan" --out "$out/vm" \
	--modules "$out/modules/ko" --timeout 300 >"$out/verdict"
rc=$?
set -e
echo "---- what the guest reported ----"
grep -vE '^(STATUS|PLAN-BEGIN|PLAN-DONE)' "$out/vm/results.log" | tr -d '\r'
echo "---- verdict ----"
cat "$out/verdict"
[ $rc -eq 0 ] && echo "demo: masstree loaded and unloaded cleanly on the stock kernel $rel"
exit $rc
