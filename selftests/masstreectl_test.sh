#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# masstreectl against /dev/masstree: runs a fixed session of commands and
# compares its transcript (each command, its output, its exit status) with
# masstreectl_test.expected: usage errors, map names refused before the
# ioctl, error lines with their hints, abbreviated commands, chown by name,
# the JSON output of every command that has one; then checks that dump and
# load round-trip every byte value, as text and as hex, and across the
# resume loop of scan, in text and in JSON. Prints TAP. Needs root
# (debugfs, chown) and a fresh module (map names ctltest*). Where there is
# no /etc/passwd or /etc/group (the test VM's initramfs), it writes a
# minimal one for chown by name and removes it at the end.
#
#   masstreectl_test [--print]    --print: the transcript alone, to update
#                                 the expected file after review
# Without the module there is nothing to test: skip (KSFT_SKIP).
if [ ! -e /dev/masstree ]; then
	echo "TAP version 13"
	echo "1..0 # SKIP no /dev/masstree: is the module loaded? (modprobe masstree)"
	exit 4
fi
dir=$(cd "$(dirname "$0")" && pwd)
CTL=$dir/masstreectl
tmp=${TMPDIR:-/tmp}/masstreectl_test.$$
mkdir -p "$tmp" || exit 1
made_etc=
trap 'rm -rf "$tmp" $made_etc' EXIT
for f in passwd group; do
	[ -e /etc/$f ] && continue
	mkdir -p /etc || exit 1
	case $f in
	passwd) printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' ;;
	group) printf 'root:x:0:\nnogroup:x:65534:\n' ;;
	esac >/etc/$f || exit 1
	made_etc="$made_etc /etc/$f"
done

# Stats fields that depend on the tree's shape, as N.
volatile='s/"(leaves|internodes|layers|height|node_bytes|value_bytes|charged_bytes)":( ?)[0-9]+/"\1":\2N/g'

# The command line, arguments quoted where the shell would need it.
show() {
	printf '$ masstreectl'
	for a in "$@"; do
		case $a in
		'' | *[!A-Za-z0-9_./:=-]*) printf " '%s'" "$a" ;;
		*) printf ' %s' "$a" ;;
		esac
	done
}

# One command of the transcript: the command, its output, its status.
run() {
	show "$@"
	echo
	"$CTL" "$@" 2>&1
	echo "[exit $?]"
}

# The same, output filtered through a pipeline (volatile fields out).
run_filtered() {
	filter=$1
	shift
	show "$@"
	echo " | $filter"
	"$CTL" "$@" >"$tmp/out" 2>&1
	rc=$?
	sh -c "$filter" <"$tmp/out"
	echo "[exit $rc]"
}

# In $tmp: the files it loads have the same names in every run.
transcript() {
	cd "$tmp" || return 1
	# Usage errors: exit 2.
	run
	run frob
	run get ctltest
	run put ctltest 'bad\q' v
	run --hex put ctltest abc v
	run scan --mode 0600 ctltest
	run load --batch 0 ctltest /dev/null
	run put --help
	run help cmpxchg
	run s ctltest
	run destr
	run_filtered "sed -E 's/^masstreectl [0-9]+\.[0-9]+(\.[0-9]+)?\$/masstreectl VERSION/'" --version
	run --device /nonexistent list
	# Names the device would refuse are refused before the ioctl.
	run create .hidden
	run get 'bad name' key
	run stats 0123456789012345678901234567890123456789012345678901234567890123
	run dump --tree ../ctltest

	# Maps.
	run create --mode 0640 ctltest
	run create ctltest
	run create 'bad/name'
	run cr ctltest2
	run list
	run_filtered "cut -d' ' -f1-4,6" list --long
	run_filtered "sed -E 's/\"(keys|bytes|cuid|cgid)\":[0-9]+/\"\\1\":N/g'" -j li
	run chmod ctltest 0604
	run chown ctltest 65534:65534
	run_filtered "cut -d' ' -f1-4,6" list --long
	run chown ctltest root:root
	run chown ctltest nobody
	run chown ctltest :nogroup
	run_filtered "grep -E '\"(name|mode|uid|gid)\"|[][{}]'" --pretty list
	run chown ctltest nosuchuser
	run chown ctltest 0:nosuchgroup
	run chown ctltest 0:0
	run chmod ctltest 0777x
	run destroy ctltest2
	run destroy ctltest2
	run open ctltest2 key
	run get ctltest2 key
	run list

	# Keys and values; exit 1 for absent, present, mismatch.
	run put ctltest 'a\tb' 'line1\nline2\x00end\\'
	run get ctltest 'a\tb'
	run get ctltest 'a\x09b'
	run --hex get ctltest 610962
	run put --hex ctltest 00ff 'dead BEEF'
	run put --hex ctltest 00ff deadBEEF
	run get ctltest '\x00\xff'
	run get --hex ctltest 00ff
	run get ctltest nokey
	run put --noexist ctltest 'a\tb' x
	run put --exist ctltest nokey x
	run put --exist ctltest 'a\tb' replaced
	run get ctltest 'a\tb'
	run put ctltest '' 'the empty key'
	run get ctltest ''
	run cmpxchg ctltest counter 1 2
	run put ctltest counter 1
	run cmpxchg ctltest counter 0 2
	run cmpxchg ctltest counter 1 2
	run get ctltest counter
	run del ctltest counter
	run del ctltest counter
	run get ctltest -dash
	run put ctltest -- -dash 'dash key'
	run get ctltest -- -dash
	run -j get ctltest 'a\tb'
	run --hex --json get ctltest 00ff
	run get --pretty ctltest '\x00\xff'
	run -j get ctltest '"quoted"'
	run put ctltest '"quoted"' 'back\\slash'
	run -j get ctltest '"quoted"'
	run -j get ctltest nokey
	run del ctltest '"quoted"'

	# Bulk load, scans.
	awk 'BEGIN { for (i = 0; i < 200; i++) printf "key%03d\tval%d\n", i, i }' >keys
	run load --batch 64 ctltest keys
	printf 'good\t1\nno tab here\n' >bad
	run load ctltest bad
	printf 'key000\tagain\n' >dup
	run load --noexist ctltest dup
	run get ctltest key199
	run scan --limit 5 ctltest
	run scan --prefix key01 ctltest
	run scan --reverse --prefix key19 --limit 3 ctltest
	run scan --start key050 --end key055 --end-excl ctltest
	run scan --start key050 --start-excl --end key052 ctltest
	run scan --reverse --start key010 --end key007 ctltest
	run scan --keys-only --prefix key00 --limit 4 ctltest
	run scan --start zzz ctltest
	run scan --prefix key --start a ctltest
	run -j scan --limit 3 ctltest
	run -p sc --keys-only -P key00 --limit 2 ctltest
	run -j --hex scan --reverse --limit 2 ctltest
	run -j scan --start zzz ctltest
	run -p scan --start zzz ctltest
	run_filtered "sed -E '$volatile'" -j stats ctltest
	run_filtered "sed -E '$volatile'" -p stats ctltest
	run -j load ctltest /dev/null
	run -j dump --tree ctltest
	run_filtered "grep -E '^(keys|gets|puts|dels|cmpxchgs|batches) '" stats ctltest
	run_filtered "wc -l" dump ctltest
	run_filtered "head -n 3" dump ctltest
	run_filtered "grep -q . && echo not empty" dump --tree ctltest
	run clear ctltest
	run -j clear ctltest
	run scan ctltest
	run_filtered "grep -E '^keys '" stats ctltest
	run destroy ctltest
	run get ctltest key001
	run list
}

check() {
	name=$1
	shift
	if "$@"; then
		echo "ok $n $name"
	else
		echo "not ok $n $name"
		fail=1
	fi
	n=$((n + 1))
}

transcript_matches() {
	transcript >"$tmp/transcript"
	diff -u "$dir/masstreectl_test.expected" "$tmp/transcript" >"$tmp/diff" && return 0
	sed 's/^/# /' "$tmp/diff"
	return 1
}

# Every byte value in keys and values: hex in, hex and text out, text back in.
bytes_round_trip() {
	awk 'BEGIN { for (i = 0; i < 256; i++) printf "6b%02x\t76%02x%02x\n", i, i, 255 - i }' \
		>"$tmp/hex"
	"$CTL" create ctltest-a && "$CTL" create ctltest-b || return 1
	"$CTL" --hex load ctltest-a "$tmp/hex" >/dev/null || return 1
	"$CTL" --hex dump ctltest-a >"$tmp/hex.out" || return 1
	cmp "$tmp/hex" "$tmp/hex.out" || return 1
	"$CTL" dump ctltest-a >"$tmp/text" || return 1
	"$CTL" load ctltest-b "$tmp/text" >/dev/null || return 1
	"$CTL" --hex dump ctltest-b >"$tmp/hex.b" || return 1
	cmp "$tmp/hex" "$tmp/hex.b" || return 1
	"$CTL" dump ctltest-b >"$tmp/text.b" || return 1
	cmp "$tmp/text" "$tmp/text.b" || return 1
	# JSON: the same strings, quoted; a quote or backslash escaped once more.
	"$CTL" -j --hex dump ctltest-a >"$tmp/hex.json" || return 1
	[ "$(head -c 2 "$tmp/hex.json")" = '[{' ] || return 1
	sed 's/^\[//; s/\]$//' "$tmp/hex.json" | awk '{ gsub(/\},\{/, "}\n{"); print }' |
		sed 's/^{"key":"\([0-9a-f]*\)","value":"\([0-9a-f]*\)"}$/\1	\2/' >"$tmp/hex.fromjson"
	cmp "$tmp/hex" "$tmp/hex.fromjson" || return 1
	"$CTL" -j dump ctltest-a >"$tmp/text.json" || return 1
	sed 's/^\[//; s/\]$//' "$tmp/text.json" | awk '{ gsub(/\},\{/, "}\n{"); print }' |
		sed 's/^{"key":"\(.*\)","value":"\(.*\)"}$/\1	\2/; s/\\\(["\\]\)/\1/g' >"$tmp/text.fromjson"
	cmp "$tmp/text" "$tmp/text.fromjson" || return 1
	"$CTL" destroy ctltest-a && "$CTL" destroy ctltest-b
}

# Values of 16 KiB: a full dump needs several SCAN calls (resume loop).
big_values_round_trip() {
	awk 'BEGIN { v = sprintf("%01024d", 0); v = v v v v; v = v v v v
		for (i = 0; i < 40; i++) printf "big%02d\t%s%d\n", i, v, i }' >"$tmp/big"
	"$CTL" create ctltest-big || return 1
	"$CTL" load --batch 7 ctltest-big "$tmp/big" >/dev/null || return 1
	"$CTL" dump ctltest-big >"$tmp/big.out" || return 1
	cmp "$tmp/big" "$tmp/big.out" || return 1
	"$CTL" scan --reverse ctltest-big | awk -F '\t' '{ print $1 }' >"$tmp/rev" || return 1
	[ "$(head -n 1 "$tmp/rev")" = big39 ] && [ "$(tail -n 1 "$tmp/rev")" = big00 ] &&
		[ "$(wc -l <"$tmp/rev")" -eq 40 ] || return 1
	[ "$("$CTL" scan --limit 33 ctltest-big | wc -l)" -eq 33 ] || return 1
	"$CTL" destroy ctltest-big
}

if [ "${1:-}" = --print ]; then
	transcript
	exit 0
fi
n=1 fail=0
echo "TAP version 13"
echo "1..3"
check transcript transcript_matches
check bytes_round_trip bytes_round_trip
check big_values_round_trip big_values_round_trip
exit $fail
