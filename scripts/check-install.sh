#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Installation checks, without side effects outside a temporary directory:
#   check-install.sh dkms KDIR      `dkms build` of dkms.conf against KDIR,
#                                   with private dkms, source and install
#                                   trees and a throwaway signing key
#   check-install.sh install KDIR   `make install DESTDIR=tmp` from a copy of
#                                   the tracked files; checks what landed,
#                                   builds the sample consumer against the
#                                   installed header and Module.symvers
#   check-install.sh deb KDIR       `make deb` (dpkg-buildpackage -b) into a
#                                   temporary directory; checks what each
#                                   .deb holds and declares
# What each installs is listed in README.md ("Installing and loading").
set -euo pipefail
. "$(dirname "$0")/lib.sh"

what=${1:?usage: check-install.sh dkms|install KDIR}
kdir=${2:?usage: check-install.sh dkms|install KDIR}
rel=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$kdir/include/generated/utsrelease.h")
version=$(cat "$MT_ROOT/VERSION")
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
	[ "$ver" = "$version" ] || mt_die "dkms.conf: PACKAGE_VERSION '$ver' is not VERSION's '$version'"
	grep -qx 'BUILD_EXCLUSIVE_CONFIG="CONFIG_64BIT"' "$MT_ROOT/dkms.conf" ||
		mt_die "dkms.conf: no BUILD_EXCLUSIVE_CONFIG=\"CONFIG_64BIT\""
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
	[ "$(modinfo -F version "$ko")" = "$version" ] || mt_die "$ko: version is not $version"
	# POST_BUILD keeps Module.symvers beside the module, for consumers.
	symvers=$tmp/dkms/masstree/$ver/$rel/$(uname -m)/Module.symvers
	grep -q 'masstree_insert' "$symvers" || mt_die "dkms kept no Module.symvers ($symvers)"
	echo "dkms build: $ko, $symvers"
	;;
install)
	copy_tree "$tmp/src"
	make -C "$tmp/src" KDIR="$kdir" DESTDIR="$tmp/root" PREFIX=/usr install
	src=usr/src/masstree-$version
	for f in usr/include/linux/masstree.h usr/bin/masstreectl \
		usr/share/man/man8/masstreectl.8 \
		usr/share/bash-completion/completions/masstreectl \
		"$src/include/linux/masstree.h" "$src/include/uapi/linux/masstree.h" \
		"$src/$rel/Module.symvers"; do
		[ -f "$tmp/root/$f" ] || mt_die "make install did not install /$f"
	done
	ko=$(find "$tmp/root/lib/modules/$rel" -name masstree.ko)
	[ -n "$ko" ] || mt_die "make install did not install masstree.ko under /lib/modules/$rel"
	[ "$(modinfo -F version "$ko")" = "$version" ] || mt_die "$ko: version is not $version"
	[ "$("$tmp/root/usr/bin/masstreectl" --version)" = "masstreectl $version" ] ||
		mt_die "masstreectl --version does not say $version"
	# The man page renders without a warning.
	[ -z "$(groff -man -ww -z "$tmp/root/usr/share/man/man8/masstreectl.8" 2>&1)" ] ||
		mt_die "masstreectl.8 has groff warnings"
	# The completion completes, where bash-completion is installed.
	if [ -r /usr/share/bash-completion/bash_completion ]; then
		got=$(PATH=$tmp/root/usr/bin:$PATH bash -c '
			. /usr/share/bash-completion/bash_completion
			. "$1"
			COMP_WORDS=(masstreectl sc) COMP_CWORD=1 COMP_LINE="masstreectl sc"
			COMP_POINT=${#COMP_LINE}
			_masstreectl masstreectl
			echo "${COMPREPLY[*]}"
			COMP_WORDS=(masstreectl scan --re) COMP_CWORD=2
			COMP_LINE="masstreectl scan --re" COMP_POINT=${#COMP_LINE}
			_masstreectl masstreectl
			echo "${COMPREPLY[*]}"' _ \
			"$tmp/root/usr/share/bash-completion/completions/masstreectl")
		[ "$got" = $'scan\n--reverse' ] ||
			mt_die "the bash completion completed '$got', not 'scan' and '--reverse'"
	fi
	# A consumer module builds against the installed header and symbols.
	"$MT_ROOT/scripts/build-consumer.sh" "$kdir" "$tmp/consumer" \
		"$tmp/root/$src/include" "$tmp/root/$src/$rel/Module.symvers"
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
deb)
	command -v dpkg-buildpackage >/dev/null || mt_die "dpkg-dev is not installed"
	# A release tag names the version VERSION holds (README, "Releases").
	for tag in $(git -C "$MT_ROOT" tag --points-at HEAD 'v*'); do
		[ "$tag" = "v$version" ] || mt_die "tag $tag at HEAD, but VERSION says $version"
	done
	"$MT_ROOT/scripts/build-deb.sh" "$tmp/deb" >/dev/null
	# Each package: its version, and the files it must hold.
	check_deb() {
		local deb=$1 list=$tmp/$2.list f
		shift 2
		[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] ||
			mt_die "$deb: version is not $version"
		dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$list"
		for f; do
			grep -qx "$f" "$list" || mt_die "$deb does not install $f"
		done
		echo "$deb:"
		grep -v '/$' "$list" | sed 's/^/  /'
	}
	usrc=/usr/src/masstree-$version
	check_deb "$tmp/deb/masstree-dkms_${version}_all.deb" dkms \
		"$usrc/dkms.conf" "$usrc/Kbuild" "$usrc/VERSION" "$usrc/masstree/main.c" \
		"$usrc/masstree/dev/dev.c" \
		"$usrc/include/linux/masstree.h" "$usrc/include/uapi/linux/masstree.h" \
		"$usrc/scripts/dkms-post-build.sh"
	! grep -E '/(kunit|bench|selftests|tools|harness-selftest)/' "$tmp/dkms.list" ||
		mt_die "masstree-dkms carries tests or benchmarks"
	dpkg-deb -f "$tmp/deb/masstree-dkms_${version}_all.deb" Depends | grep -q dkms ||
		mt_die "masstree-dkms does not depend on dkms"
	cmp <(dpkg-deb --fsys-tarfile "$tmp/deb/masstree-dkms_${version}_all.deb" |
		tar -xO ".$usrc/dkms.conf") "$MT_ROOT/dkms.conf" ||
		mt_die "masstree-dkms's dkms.conf differs from dkms.conf"
	dpkg-deb --ctrl-tarfile "$tmp/deb/masstree-dkms_${version}_all.deb" |
		tar -xO ./postinst | grep -q 'dkms' || mt_die "masstree-dkms's postinst runs no dkms"
	deb=$(ls "$tmp"/deb/masstreectl_"$version"_*.deb)
	check_deb "$deb" ctl /usr/bin/masstreectl /usr/share/man/man8/masstreectl.8.gz \
		/usr/share/bash-completion/completions/masstreectl
	dpkg-deb -x "$deb" "$tmp/ctl"
	[ "$("$tmp/ctl/usr/bin/masstreectl" --version)" = "masstreectl $version" ] ||
		mt_die "the packaged masstreectl does not say $version"
	;;
*)
	mt_die "unknown check $what"
	;;
esac
