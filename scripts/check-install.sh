#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Installation checks, without side effects outside a temporary directory:
#   check-install.sh dkms KDIR      `dkms build` of dkms.conf against KDIR,
#                                   with private dkms, source and install
#                                   trees and a throwaway signing key
#   check-install.sh install KDIR   `make install DESTDIR=tmp` from a copy of
#                                   the tracked files; checks what landed
set -euo pipefail
. "$(dirname "$0")/lib.sh"

what=${1:?usage: check-install.sh dkms|install KDIR}
kdir=${2:?usage: check-install.sh dkms|install KDIR}
rel=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$kdir/include/generated/utsrelease.h")
[ -n "$rel" ] || mt_die "no kernel release in $kdir"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/masstree-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The tracked (and new, unignored) files, as a source tarball would have them.
copy_tree() {
	mkdir -p "$1"
	(cd "$MT_ROOT" && git ls-files -co --exclude-standard -z) |
		(cd "$MT_ROOT" && rsync -a --from0 --files-from=- . "$1/")
}

case $what in
dkms)
	command -v dkms >/dev/null || mt_die "dkms is not installed"
	ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$MT_ROOT/dkms.conf")
	[ -n "$ver" ] || mt_die "no PACKAGE_VERSION in dkms.conf"
	copy_tree "$tmp/src/masstree-$ver"
	mkdir -p "$tmp/dkms" "$tmp/installed"
	# dkms signs with mok_signing_key, generating it if missing: keep
	# that key out of /var/lib/dkms.
	mok_signing_key=$tmp/mok.key mok_certificate=$tmp/mok.pub \
		dkms build -m masstree -v "$ver" -k "$rel" --kernelsourcedir "$kdir" \
		--dkmstree "$tmp/dkms" --sourcetree "$tmp/src" --installtree "$tmp/installed"
	ko=$tmp/dkms/masstree/$ver/$rel/$(uname -m)/module/masstree.ko
	[ -f "$ko" ] || ko=$ko.xz
	[ -f "$ko" ] || mt_die "dkms built no masstree.ko"
	modinfo -F vermagic "$ko" | grep -q "^$rel " || mt_die "$ko: wrong vermagic"
	echo "dkms build: $ko"
	;;
install)
	copy_tree "$tmp/src"
	make -C "$tmp/src" KDIR="$kdir" DESTDIR="$tmp/root" PREFIX=/usr install
	for f in usr/include/linux/masstree.h usr/bin/masstreectl; do
		[ -f "$tmp/root/$f" ] || mt_die "make install did not install /$f"
	done
	find "$tmp/root/lib/modules/$rel" -name masstree.ko | grep -q . ||
		mt_die "make install did not install masstree.ko under /lib/modules/$rel"
	! find "$tmp/root/lib/modules/$rel" -name 'masstree_bench.ko*' | grep -q . ||
		mt_die "make install installed the benchmark module"
	cmp "$tmp/root/usr/include/linux/masstree.h" "$MT_ROOT/include/uapi/linux/masstree.h"
	# The header is usable on its own, as userspace includes it.
	echo '#include <linux/masstree.h>' |
		gcc -fsyntax-only -Wall -Werror -I"$tmp/root/usr/include" -x c -
	"$tmp/root/usr/bin/masstreectl" --help >/dev/null
	if ldd "$tmp/root/usr/bin/masstreectl" >/dev/null 2>&1; then
		mt_die "masstreectl is not static"
	fi
	(cd "$tmp/root" && find . -type f | sort)
	;;
*)
	mt_die "unknown check $what"
	;;
esac
