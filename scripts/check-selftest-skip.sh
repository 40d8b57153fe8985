#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Every kselftest program skips as a whole (exit status 4, KSFT_SKIP, and
# a "# SKIP" line) on a machine without the module, as kselftest asks of
# a missing feature, instead of reporting "not ok" or crashing. Runs each
# program of selftests/Makefile's TEST_GEN_PROGS here, on the build
# host, where /dev/masstree does not exist. Prints one PASS/FAIL line per
# program.
#
#   scripts/check-selftest-skip.sh SELFTESTS_DIR
#
# SELFTESTS_DIR holds the built programs (make -C selftests OUTPUT=...).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

dir=$(realpath "${1:?usage: check-selftest-skip.sh SELFTESTS_DIR}")
# The programs would test, and the reload test replace, a module loaded
# here: refuse rather than run them against it.
if [ -e /dev/masstree ] || [ -e /sys/module/masstree ]; then
	echo "FAIL selftest-skip: masstree is loaded on this host; unload it to run this check"
	exit 1
fi
progs=$(sed -n 's/^TEST_GEN_PROGS := //p' "$MT_ROOT/selftests/Makefile")
[ -n "$progs" ] || mt_die "no TEST_GEN_PROGS in selftests/Makefile"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
for p in $progs; do
	if [ ! -x "$dir/$p" ]; then
		echo "FAIL selftest-skip:$p: not built in $dir"
		fail=1
		continue
	fi
	(cd "$tmp" && TMPDIR=$tmp timeout -k 5 60 "$dir/$p") >"$tmp/$p.out" 2>&1
	rc=$?
	if [ $rc -eq 4 ] && grep -q '# SKIP' "$tmp/$p.out" && ! grep -q '^not ok' "$tmp/$p.out"; then
		echo "PASS selftest-skip:$p: exit 4 without the module"
	else
		echo "FAIL selftest-skip:$p: exit $rc without the module, not 4 (KSFT_SKIP)"
		sed 's/^/    /' "$tmp/$p.out" | head -n 20 >&2
		fail=1
	fi
done
exit $fail
