#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# dkms.conf's POST_BUILD, run in the DKMS build area after masstree.ko is
# built: keep Module.symvers in DIR (the kernel's directory of the DKMS
# tree, /var/lib/dkms/masstree/VERSION/KERNELRELEASE/ARCH), where a module
# that uses masstree's exports finds it (KBUILD_EXTRA_SYMBOLS). DKMS
# removes that directory with the module.
#
#   dkms-post-build.sh DIR
set -e
dir=${1:?usage: dkms-post-build.sh DIR}
[ -f Module.symvers ] || { echo "dkms-post-build: no Module.symvers in $(pwd)" >&2; exit 1; }
mkdir -p "$dir"
cp Module.symvers "$dir/Module.symvers"
