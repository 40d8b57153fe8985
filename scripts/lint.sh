#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Style and documentation checks; one PASS/FAIL line per file or symbol.
#   checkpatch --strict --no-tree on every C source and header;
#   kernel-doc -Werror on every file with kernel-doc comments;
#   every exported symbol documented with Context: and Return:;
#   the public header declares exactly what production builds export;
#   the core's headers include only headers below them (check-layers.py);
#   /dev/masstree (masstree/dev/) includes nothing of the core, and its
#   files include (so call) only the layers below them;
#   docs/masstree.rst renders with the kernel-doc it pulls in, warnings
#   as errors (make docs);
#   syzkaller descriptions consistent with the uapi header;
#   every in-kernel mutant still applies to the sources (make
#   mutate-kernel itself is too long for make check).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

src=$(mt_kernel_source)
cd "$MT_ROOT" || exit 1
mapfile -t files < <(git ls-files -co --exclude-standard -- '*.c' '*.h' | grep -v '^build/' | sort)
fail=0

# Userspace programs (tools/) have no compiler_attributes.h for __printf()
# and the like, test macros that return on failure as kselftest's do, and
# libFuzzer's CamelCase entry points.
tools_ignore=PREFER_DEFINED_ATTRIBUTE_MACRO,MACRO_WITH_FLOW_CONTROL,CAMELCASE,EMBEDDED_FUNCTION_NAME
for f in "${files[@]}"; do
	ignore=()
	case $f in tools/*) ignore=(--ignore "$tools_ignore") ;; esac
	out=$("$src/scripts/checkpatch.pl" --strict --no-tree --quiet --no-summary \
		--show-types "${ignore[@]}" -f "$f" 2>&1)
	if [ -n "$out" ]; then
		echo "FAIL checkpatch:$f: $(echo "$out" | grep -m1 -E '^(ERROR|WARNING|CHECK)')"
		echo "$out" | sed 's/^/    /' >&2
		fail=1
	else
		echo "PASS checkpatch:$f"
	fi
done

for f in "${files[@]}"; do
	grep -q '^/\*\*$' "$f" || continue
	# Return: and Context: of exports are check-exports.py's job; 6.1's
	# kernel-doc -v flags any description of a function without parameters.
	out=$("$src/scripts/kernel-doc" -none -Werror "$f" 2>&1)
	if [ -n "$out" ]; then
		echo "FAIL kernel-doc:$f: $(echo "$out" | head -n 1)"
		echo "$out" | sed 's/^/    /' >&2
		fail=1
	else
		echo "PASS kernel-doc:$f"
	fi
done

python3 "$MT_ROOT/scripts/check-exports.py" masstree include || fail=1
# The core's headers include only headers below them, and the check itself.
python3 "$MT_ROOT/scripts/check-layers.py" || fail=1
python3 "$MT_ROOT/scripts/check-layers.py" --self-test || fail=1
python3 "$MT_ROOT/scripts/check-api.py" || fail=1
python3 "$MT_ROOT/scripts/check-dev-includes.py" || fail=1
python3 "$MT_ROOT/scripts/check-dev-includes.py" --self-test || fail=1
"$MT_ROOT/scripts/build-docs.sh" || fail=1
# syzkaller descriptions against the uapi header, and the check itself.
python3 "$MT_ROOT/scripts/check-syzlang.py" || fail=1
python3 "$MT_ROOT/scripts/check-syzlang.py" --self-test || fail=1
# A change to the code a kernel mutant edits must update the mutant.
if out=$("$MT_ROOT/scripts/mutate-kernel" -n 2>&1); then
	echo "PASS mutate-kernel:every mutant applies"
else
	grep '^FAIL ' <<<"$out" || echo "FAIL mutate-kernel:-n failed: $out"
	fail=1
fi
exit $fail
