#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the Debian packages masstree-dkms and masstreectl (debian/) from a
# copy of the tracked files, with dpkg-buildpackage -b -uc -us; the .debs
# land in OUT. Needs debhelper and dh-dkms (scripts/install-deps.sh).
#
#   scripts/build-deb.sh OUT
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out=$(realpath -m "${1:?usage: build-deb.sh OUT}")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/masstree-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
ver=$(cat "$MT_ROOT/VERSION")
src=$tmp/masstree-$ver
mkdir -p "$src"
(cd "$MT_ROOT" && git ls-files -co --exclude-standard -z) |
	(cd "$MT_ROOT" && rsync -a --from0 --files-from=- . "$src/")
(cd "$src" && dpkg-buildpackage -b -uc -us) >"$tmp/build.log" 2>&1 ||
	{ cat "$tmp/build.log" >&2; mt_die "dpkg-buildpackage failed"; }
mkdir -p "$out"
rm -f "$out"/*.deb
cp "$tmp"/*.deb "$out/"
ls "$out"/*.deb
