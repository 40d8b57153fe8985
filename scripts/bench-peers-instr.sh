#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Instructions and L1 data-cache misses per call of the kernel's XArray,
# maple tree and rbtree, natively, beside masstree's (`make bench-peers`):
# the profile behind the in-kernel ratios of `make bench`, which TCG
# cannot profile. The peers are built from linux-source-6.1: XArray and
# maple tree with the kernel's own userspace harness
# (tools/testing/radix-tree, XA_CHUNK_SHIFT 6 as in the kernel, -O2, no
# sanitizers), the rbtree from tools/lib/rbtree.c, used as
# bench/st_rbtree.c uses it (key inline, the kernel's memcmp(), a rwlock's
# uncontended atomics). tools/testing/bench/peers.c drives them: keys inserted in
# shuffled order, then uniform lookups, each phase under callgrind with
# cache simulation; dense integers for all three, 16 random bytes too for
# the rbtree. masstree's figures come from scripts/bench-instr.sh
# --cache-sim (int8 keys: the same integers as 8-byte big-endian keys).
# Then each is timed natively (median of three runs). A measurement, not
# a check.
#
#   scripts/bench-peers-instr.sh [--keys N]
set -euo pipefail
. "$(dirname "$0")/lib.sh"

keys=100000
while [ $# -gt 0 ]; do
	case $1 in
	--keys) keys=${2:?--keys needs a number}; shift ;;
	*) mt_die "unknown option $1" ;;
	esac
	shift
done
[[ $keys =~ ^[1-9][0-9]*$ ]] || mt_die "--keys takes a positive integer"
command -v valgrind >/dev/null || mt_die "valgrind is not installed (scripts/install-deps.sh)"

src=$(mt_kernel_source)
out=$MT_BUILD/peers
rt=$out/k/tools/testing/radix-tree
rm -rf "$out"
mkdir -p "$out/k/tools/testing"
# The harness builds in its own directory and reaches the rest by
# relative paths: copy it, link what it only reads.
cp -r "$src/tools/testing/radix-tree" "$rt"
for d in include lib tools/include tools/lib tools/arch; do
	ln -s "$src/$d" "$out/k/$d"
done
# 6.1's harness lacks the kernel's fallthrough macro.
flags=(-I. -I../../include -O2 -g -D_LGPL_SOURCE)
ft='__attribute__((__fallthrough__))'

objs=(xarray.o radix-tree.o idr.o linux.o test.o find_bit.o bitmap.o slab.o maple.o)
mt_log "building XArray and the maple tree from $src"
make -C "$rt" SHIFT=6 CFLAGS="${flags[*]} -Dfallthrough='$ft'" LDFLAGS= generated/map-shift.h \
	generated/bit-length.h "${objs[@]}" >"$out/build.log" 2>&1 ||
	mt_die "the kernel's radix-tree harness did not build (see $out/build.log)"
(cd "$rt" && gcc "${flags[@]}" "-Dfallthrough=$ft" "$MT_ROOT/tools/testing/bench/peers.c" "${objs[@]}" \
	"$src/tools/lib/rbtree.c" -o "$out/peers" -lpthread -lurcu) >>"$out/build.log" 2>&1 ||
	mt_die "tools/testing/bench/peers.c did not build (see $out/build.log)"

# cost PHASE: "instructions/op D1-misses/op" of one callgrind phase.
cost() {
	valgrind --tool=callgrind --cache-sim=yes --toggle-collect="$1" \
		--callgrind-out-file="$out/cg.$1" "$out/peers" "$keys" "$keys" \
		>"$out/$1.log" 2>&1 || mt_die "peers failed under callgrind (see $out/$1.log)"
	callgrind_annotate "$out/cg.$1" 2>/dev/null | awk -v n="$keys" '
		/Events shown:/ { for (i = 3; i <= NF; i++) col[$i] = i - 2 }
		/PROGRAM TOTALS/ {
			gsub(",", "")
			printf "%.1f %.2f\n", $col["Ir"] / n, $(2 * col["D1mr"] - 1) / n
		}'
}

mt_log "masstree: scripts/bench-instr.sh --cache-sim --keys $keys"
"$MT_ROOT/scripts/bench-instr.sh" --cache-sim --keys "$keys" >"$out/masstree.txt"
echo "# instructions and L1 data misses per call, $keys keys, one thread"
echo "# (int8: dense integers as 8-byte big-endian keys; rand16: 16 random bytes)"
printf '%-10s %-7s %-8s %10s %10s\n' structure shape op instr/op D1miss/op
for op in insert get; do
	w=$op
	[ $op = get ] && w=get-uniform
	for shape in int8 rand16; do
		awk -v w="$w" -v op="$op" -v sh="$shape" '$1 == sh && $2 == w {
			printf "%-10s %-7s %-8s %10s %10s\n", "masstree", sh, op, $3, $4 }' \
			"$out/masstree.txt"
		read -r lir ld1 < <(cost "phase_loop_rbtree_${shape}_$op")
		read -r ir d1 < <(cost "phase_rbtree_${shape}_$op")
		awk -v sh="$shape" -v op="$op" -v ir="$ir" -v d1="$d1" -v lir="$lir" -v ld1="$ld1" \
			'BEGIN { printf "%-10s %-7s %-8s %10.1f %10.2f\n", "rbtree-rw", sh, op, ir - lir, d1 - ld1 }'
	done
	read -r lir ld1 < <(cost "phase_loop_$op")
	for s in xarray maple; do
		read -r ir d1 < <(cost "phase_${s}_$op")
		awk -v s="$s" -v op="$op" -v ir="$ir" -v d1="$d1" -v lir="$lir" -v ld1="$ld1" \
			'BEGIN { printf "%-10s %-7s %-8s %10.1f %10.2f\n", s, "int8", op, ir - lir, d1 - ld1 }'
	done
done

# Natively, timed (not a check: a 2-core host's noise applies): the
# median of three runs each, masstree through tools/testing/bench, the peers
# through the same binary as above outside valgrind.
echo
echo "# native time per call, median of 3 runs, $keys keys, one thread (loop included)"
make -C "$MT_ROOT/tools/testing" build/bench >/dev/null
times=$out/times
for run in 1 2 3; do
	"$out/peers" "$keys" "$keys" time | awk '$1 == "time" { print $2, $3 }'
	"$MT_ROOT/tools/testing/build/bench" -n "$keys" -t 1 -k int8,rand16 -w insert,get-uniform \
		-m masstree --csv | awk -F, 'NR > 1 {
			print "masstree-" $1 "-" ($2 == "insert" ? "ins" : "get"), $7 }'
done >"$times"
for what in $(awk '{ print $1 }' "$times" | sort -u); do
	awk -v w="$what" '$1 == w { print $2 }' "$times" | sort -n | sed -n 2p |
		awk -v w="$what" '{ printf "%-20s %8.1f ns/call\n", w, $1 }'
done
