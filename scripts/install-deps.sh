#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian packages that building and testing need. Idempotent:
# quiet and quick when everything is present.
set -euo pipefail

packages=(
	make gcc libc6-dev git rsync python3 perl xz-utils cpio kmod
	bc bison flex libelf-dev libssl-dev dwarves ccache sparse
	linux-source-6.1 linux-headers-amd64 linux-image-amd64
	qemu-system-x86 busybox-static liburcu-dev gcc-multilib dkms
	clang libclang-rt-14-dev valgrind gnuplot-nox python3-sphinx
	dpkg-dev debhelper dh-dkms groff-base bash-completion
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
