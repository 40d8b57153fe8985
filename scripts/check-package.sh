#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The Debian packages end to end, on this host (as root, or through sudo): build them, install
# masstree-dkms and masstreectl with dpkg (DKMS builds masstree.ko for the
# stock kernel from the installed linux-headers), check what landed, build
# the sample consumer against the installed header and Module.symvers,
# boot the stock kernel under QEMU with the DKMS-built module, use it with
# masstreectl, and purge both packages. It changes the host while it runs
# (dpkg, DKMS, depmod) and undoes that at the end; it refuses to run where
# masstree is installed already. Run it under flock /tmp/masstree-vm.lock,
# as every VM run.
#
#   scripts/check-package.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ver=$(cat "$MT_ROOT/VERSION")
rel=$(mt_stock_release)
arch=$(uname -m)
# dpkg and DKMS need root: sudo where CI or a developer is not root.
root=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || mt_die "needs root or sudo (dpkg -i)"
	root=sudo
fi
if dpkg-query -W -f='${Status}' masstree-dkms masstreectl 2>/dev/null | grep -q 'ok installed' ||
	[ -e "/usr/src/masstree-$ver" ] || [ -e /var/lib/dkms/masstree ]; then
	mt_die "masstree is installed on this host already: not touching it"
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/masstree-package.XXXXXX")
purge() {
	$root dpkg -P masstreectl masstree-dkms >"$tmp/purge.log" 2>&1 || cat "$tmp/purge.log" >&2
	$root rm -rf "$tmp"
}
trap purge EXIT
fail=0
ok() { echo "PASS package:$1"; }
bad() {
	echo "FAIL package:$1"
	fail=1
}

"$MT_ROOT/scripts/build-deb.sh" "$tmp/deb" >/dev/null
# DKMS signs what it builds, generating a key in /var/lib/dkms if none is
# set: a throwaway one instead (the postinst inherits the environment).
if $root env mok_signing_key="$tmp/mok.key" mok_certificate="$tmp/mok.pub" \
	dpkg -i "$tmp/deb/masstree-dkms_${ver}_all.deb" "$tmp"/deb/masstreectl_"${ver}"_*.deb \
	>"$tmp/dpkg.log" 2>&1; then
	ok "dpkg -i masstree-dkms masstreectl"
else
	cat "$tmp/dpkg.log" >&2
	bad "dpkg -i masstree-dkms masstreectl (see stderr)"
	exit 1
fi
dkms status masstree/"$ver" -k "$rel" | grep -q ': installed' &&
	ok "dkms status: installed for $rel" || bad "dkms status: not installed for $rel"
ko=$(ls /lib/modules/"$rel"/updates/dkms/masstree.ko* 2>/dev/null | head -n 1 || true)
if [ -n "$ko" ] && [ "$(modinfo -F version "$ko")" = "$ver" ]; then
	ok "$ko, version $ver"
else
	bad "no masstree.ko of version $ver in /lib/modules/$rel/updates/dkms"
	exit 1
fi
[ "$(masstreectl --version)" = "masstreectl $ver" ] &&
	[ -f /usr/share/man/man8/masstreectl.8.gz ] &&
	[ -f /usr/share/bash-completion/completions/masstreectl ] &&
	ok "masstreectl $ver, its man page and completion" ||
	bad "masstreectl, its man page or completion missing"
symvers=/var/lib/dkms/masstree/$ver/$rel/$arch/Module.symvers
if "$MT_ROOT/scripts/build-consumer.sh" "/usr/src/linux-headers-$rel" "$tmp/consumer" \
	"/usr/src/masstree-$ver/include" "$symvers" >"$tmp/consumer.log" 2>&1; then
	ok "a consumer module builds against /usr/src/masstree-$ver/include and $symvers"
else
	cat "$tmp/consumer.log" >&2
	bad "the consumer module does not build against the installed copy"
fi

# The stock kernel loads the DKMS-built module; masstreectl (static, for
# the busybox initramfs) uses it.
mkdir -p "$tmp/ko" "$tmp/tools"
case $ko in
*.xz) xz -dc "$ko" >"$tmp/ko/masstree.ko" ;;
*.zst) zstd -qdc "$ko" >"$tmp/ko/masstree.ko" ;;
*) cp "$ko" "$tmp/ko/masstree.ko" ;;
esac
cp "$tmp/consumer/ko/masstree_registry.ko" "$tmp/ko/"
make -s -C "$MT_ROOT/tools/masstreectl" OUTPUT="$tmp/tools" WERROR=1
cat >"$tmp/plan" <<PLAN
insmod masstree.ko
sh test "\$(cat /sys/module/masstree/version)" = "$ver"
sh /selftests/masstreectl create pkg && /selftests/masstreectl put pkg k v && /selftests/masstreectl get pkg k
sh /selftests/masstreectl -j stats pkg
sh /selftests/masstreectl destroy pkg
insmod masstree_registry.ko
rmmod masstree_registry
rmmod masstree
PLAN
if "$MT_ROOT/scripts/vm-run.sh" --kernel "/boot/vmlinuz-$rel" --plan "$tmp/plan" \
	--out "$MT_BUILD/package-vm" --modules "$tmp/ko" --selftests "$tmp/tools" \
	--timeout 240 >"$tmp/verdict"; then
	ok "the stock kernel $rel loads the DKMS-built masstree.ko $ver and serves masstreectl"
else
	sed 's/^/# /' "$tmp/verdict"
	bad "the DKMS-built module in the stock kernel (see $MT_BUILD/package-vm)"
fi
purge
trap - EXIT
ko_left=$(ls /lib/modules/"$rel"/updates/dkms/masstree.ko* 2>/dev/null || true)
[ -z "$ko_left" ] && [ ! -e "/usr/src/masstree-$ver" ] &&
	ok "dpkg -P removed the module and the sources" ||
	bad "dpkg -P left $ko_left /usr/src/masstree-$ver"
exit $fail
