#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Render docs/masstree.rst to HTML (`make docs`) with Sphinx and the
# kernel-doc extension of the Linux source tree, pulling the kernel-doc
# comments from the sources as the kernel's Documentation/ does. Warnings
# are errors: a kernel-doc comment that does not parse, a broken
# directive or reference fails the build. Prints one PASS/FAIL line.
#
#   scripts/build-docs.sh [OUTDIR]      default build/docs; HTML in OUTDIR/html
set -uo pipefail
. "$(dirname "$0")/lib.sh"

out=$(realpath -m "${1:-$MT_BUILD/docs}")
command -v sphinx-build >/dev/null ||
	mt_die "sphinx-build is missing (Debian: python3-sphinx; scripts/install-deps.sh)"
src=$(mt_kernel_source)
rm -rf "$out"
mkdir -p "$out"
if MASSTREE_KSRC=$src MASSTREE_ROOT=$MT_ROOT \
	sphinx-build -q -W --keep-going -b html -d "$out/doctrees" \
	"$MT_ROOT/docs" "$out/html" >"$out/build.log" 2>&1 &&
	[ -s "$out/html/masstree.html" ]; then
	echo "PASS docs: docs/masstree.rst rendered to $out/html/masstree.html"
else
	echo "FAIL docs: sphinx-build failed (see $out/build.log)"
	sed 's/^/    /' "$out/build.log" | head -n 40 >&2
	exit 1
fi
