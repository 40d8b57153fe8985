#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (or find in the cache) one test kernel and print its directory.
#
#   scripts/build-kernel.sh kasan|kcsan|<variant>
#
# The kernel is tinyconfig + scripts/kconfig/common.config +
# scripts/kconfig/<variant>.config, built out of tree from Debian's
# linux-source-6.1. The result is trimmed to what booting and building
# modules need and cached under ~/.cache/masstree/kernel-<variant>-<key>,
# where the key hashes the fragments, the source version and RECIPE.
# Every option of the fragments is checked against the final .config:
# merge_config.sh drops options whose dependencies are unmet, silently.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Bump when the way a kernel is built changes (not its configuration).
RECIPE=1

variant=${1:?usage: build-kernel.sh VARIANT}
frags=("$MT_ROOT/scripts/kconfig/common.config" "$MT_ROOT/scripts/kconfig/$variant.config")
[ -f "${frags[1]}" ] || mt_die "no config fragment for variant '$variant'"

ver=$(mt_source_version)
key=$( (echo "recipe $RECIPE source $ver"; cat "${frags[@]}") | sha256sum | cut -c1-12)
out=$MT_CACHE/kernel-$variant-$key
if [ -f "$out/.complete" ]; then
	echo "$out"
	exit 0
fi

src=$(mt_kernel_source)
tmp=$out.building
rm -rf "$tmp"
mkdir -p "$tmp"
mt_log "building the $variant kernel ($key) in $tmp"

cc=gcc
if command -v ccache >/dev/null; then
	cc="ccache gcc"
	export CCACHE_DIR=$MT_CACHE/ccache CCACHE_BASEDIR=$MT_CACHE
	export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-4G} CCACHE_NOHASHDIR=1
fi
kmake() {
	make -s -C "$src" O="$tmp" CC="$cc" "$@"
}

kmake tinyconfig >/dev/null
"$src/scripts/kconfig/merge_config.sh" -m -O "$tmp" "$tmp/.config" "${frags[@]}" >"$tmp/merge.log" 2>&1 ||
	{ cat "$tmp/merge.log" >&2; mt_die "merge_config.sh failed"; }
kmake olddefconfig >/dev/null

missing=0
while IFS= read -r line; do
	case $line in
	CONFIG_*=*)
		grep -qxF "$line" "$tmp/.config" || {
			echo "  wanted '$line', got '$(grep -E "^(# )?${line%%=*}[= ]" "$tmp/.config" || echo unset)'" >&2
			missing=1
		}
		;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }
		opt=${opt%% *}
		if grep -qE "^$opt=" "$tmp/.config"; then
			echo "  wanted '$line', got '$(grep -E "^$opt=" "$tmp/.config")'" >&2
			missing=1
		fi
		;;
	esac
done < <(cat "${frags[@]}")
[ $missing -eq 0 ] || mt_die "options of the $variant fragments did not end up in .config (see above)"

# A fragment may ask for make variables ("# mt-make: VAR=value ..."),
# e.g. to leave the kernel itself uninstrumented; they are part of the key.
read -ra make_args < <(sed -n 's/^# mt-make: //p' "${frags[@]}" | xargs)
mt_log "configuration verified; compiling (cold: 10-18 min on 2 cores)"
kmake -j"$(nproc)" "${make_args[@]}" bzImage modules 2>&1 | grep -v '^  ' >&2 || true
[ -f "$tmp/arch/x86/boot/bzImage" ] && [ -f "$tmp/Module.symvers" ] ||
	mt_die "kernel build failed in $tmp"

# Keep only what booting and out-of-tree module builds need (~10 MB
# instead of ~300 MB); the Makefile there points at $src.
trim=$tmp.trim
rm -rf "$trim"
mkdir -p "$trim/arch/x86" "$trim/tools/objtool"
cp -a "$tmp/.config" "$tmp/Makefile" "$tmp/Module.symvers" "$tmp/System.map" "$trim/"
cp -a "$tmp/include" "$tmp/scripts" "$trim/"
mkdir -p "$trim/arch/x86/include"
cp -a "$tmp/arch/x86/include/generated" "$trim/arch/x86/include/"
cp -a "$tmp/tools/objtool/objtool" "$trim/tools/objtool/"
cp -a "$tmp/arch/x86/boot/bzImage" "$trim/bzImage"
[ -f "$tmp/vmlinux.symvers" ] && cp -a "$tmp/vmlinux.symvers" "$trim/"
echo "$ver" >"$trim/source-version"
ln -s "$src" "$trim/source"
rm -rf "$tmp" "$out"
mv "$trim" "$out"
touch "$out/.complete"
# Older keys of this variant are stale now.
find "$MT_CACHE" -maxdepth 1 -name "kernel-$variant-*" ! -name "kernel-$variant-$key" -exec rm -rf {} +
mt_log "the $variant kernel is ready: $out"
echo "$out"
