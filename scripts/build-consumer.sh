#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build samples/masstree/ (masstree_registry.ko) as a separate out-of-tree
# module that links against masstree.ko's exports through
# KBUILD_EXTRA_SYMBOLS, as the README tells other module authors to; check
# that modpost resolved them. Beside it, a module that references every
# symbol <linux/masstree.h> declares (scripts/check-api.py --emit-c): a
# declaration whose export exists only in test builds fails at modpost
# here on the stock kernel.
#
#   scripts/build-consumer.sh KDIR MODULE_DIR [INCLUDE_DIR SYMVERS]
#
# MODULE_DIR is a build-modules.sh output: its ko/Module.symvers is used
# and masstree_registry.ko is added to its ko/. INCLUDE_DIR and SYMVERS
# replace this tree's include/ and that Module.symvers: an installed copy
# (make install, or the masstree-dkms package), as another module's
# author would use it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kdir=${1:?usage: build-consumer.sh KDIR MODULE_DIR}
mods=$(realpath "${2:?usage: build-consumer.sh KDIR MODULE_DIR}")
inc=$(realpath "${3:-$MT_ROOT/include}")
symvers=$(realpath "${4:-$mods/ko/Module.symvers}")
dir=$mods/consumer
rm -rf "$dir"
mkdir -p "$dir"
cp "$MT_ROOT"/samples/masstree/{Kbuild,*.c} "$dir/"
python3 "$MT_ROOT/scripts/check-api.py" --emit-c >"$dir/masstree_api_refs.c" ||
	mt_die "cannot list the declarations of <linux/masstree.h>"
echo 'obj-m += masstree_api_refs.o' >>"$dir/Kbuild"
mt_module_make -C "$kdir" M="$dir" W=1 MASSTREE_INCLUDE="$inc" \
	KBUILD_EXTRA_SYMBOLS="$symvers" modules >"$dir/build.log" 2>&1 ||
	{ cat "$dir/build.log" >&2; mt_die "the sample module did not build"; }
if grep -E 'warning:|error:|undefined' "$dir/build.log" >&2; then
	mt_die "the sample module built with warnings or unresolved symbols"
fi
[ "$(modinfo -F depends "$dir/masstree_registry.ko")" = masstree ] ||
	mt_die "masstree_registry.ko does not depend on masstree"
[ "$(modinfo -F depends "$dir/masstree_api_refs.ko")" = masstree ] ||
	mt_die "masstree_api_refs.ko does not depend on masstree"
mkdir -p "$mods/ko"
cp "$dir/masstree_registry.ko" "$mods/ko/"
