# SPDX-License-Identifier: GPL-2.0
# Shared settings for the scripts: where things live and how to find them.
# Sourced, never run.

MT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MT_CACHE=${MASSTREE_CACHE:-$HOME/.cache/masstree}
MT_BUILD=$MT_ROOT/build

mt_die() {
	echo "$(basename "$0"): $*" >&2
	exit 1
}

mt_log() {
	echo "[$(date +%H:%M:%S)] $*" >&2
}

# An out-of-tree module build (make -C KDIR M=DIR ...): one job per CPU,
# in a make of its own, since a caller's jobserver would turn -j into a
# make warning, which the builds' warning checks fail on.
mt_module_make() {
	env -u MAKEFLAGS -u MFLAGS make -j"$(nproc)" "$@"
}

# Version of Debian's linux-source-6.1 package: part of every cache key.
mt_source_version() {
	dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null ||
		mt_die "linux-source-6.1 is not installed (run scripts/install-deps.sh)"
}

# Pristine extraction of the kernel source at a fixed path: trimmed build
# directories point at it by absolute path, and it must never see an
# in-tree build (that makes O= builds refuse to run).
mt_kernel_source() {
	local ver dir
	ver=$(mt_source_version)
	dir=$MT_CACHE/src-$ver/linux-source-6.1
	if [ ! -f "$dir/.extracted" ]; then
		mt_log "extracting linux-source-6.1 $ver"
		rm -rf "$MT_CACHE/src-$ver"
		mkdir -p "$MT_CACHE/src-$ver"
		tar -C "$MT_CACHE/src-$ver" -xf /usr/src/linux-source-6.1.tar.xz ||
			mt_die "cannot extract the kernel source"
		touch "$dir/.extracted"
	fi
	echo "$dir"
}

# Stock Debian kernel: its headers (for the stock build and the demo) and
# its image.
mt_stock_release() {
	local rel
	rel=$(ls -1 /usr/src | sed -n 's/^linux-headers-\(.*-amd64\)$/\1/p' | sort -V | tail -n 1)
	[ -n "$rel" ] || mt_die "no linux-headers-*-amd64 installed"
	echo "$rel"
}
