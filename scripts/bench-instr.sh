#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Instructions per masstree call, for every key shape and workload of the
# native benchmark (`make bench-instr`; stage instr of `make check`).
#
# One run of tools/testing/build/bench --callgrind per shape (int8, rand16,
# prefix24, rand32) under `valgrind --tool=callgrind`: 100,000 keys,
# seed 1, one thread, every workload (insert, get, store, 90/10 and 50/50
# mixes, uniform and Zipfian, scan100, erase), a callgrind dump after each
# workload (--dump-after=bench_worker). A cell is the inclusive cost of
# the masstree API calls the workload made (every instruction they ran:
# the core, its allocations through malloc(), liburcu's read-side lock,
# libc's memcmp()...), divided by the number of calls; the benchmark's
# own loop (key choice, result checks) is not counted. Scans: per
# 100-key scan and per key returned, without the instructions of the
# benchmark's callback (mst_scan_fn), which is the caller's code.
# Costs are summed over the call edges from bench_worker (or its inlined
# get_op/store_op) to masstree_* in each dump, so nested calls inside
# the core are neither lost nor counted twice. RCU callbacks (the frees
# after a grace period) are not counted: in --callgrind mode call_rcu()
# only queues them, and the benchmark runs them after each workload.
#
# Instruction counts are deterministic for a given compiler, libc,
# liburcu and valgrind, with libc's string functions pinned to the x86-64
# baseline whatever the CPU: two runs give the same table, bit for bit. The committed
# baseline (tools/testing/bench/instr-baseline.txt) records that toolchain on
# its "# toolchain:" line; --check fails a cell that grows more than 5%
# over it and notes one that drops by more than 5% (then refresh the
# baseline); with another toolchain it fails once, without comparing
# cells. Updating the baseline is a commit of its own that says why the
# counts moved.
#
#   scripts/bench-instr.sh              print the table
#   scripts/bench-instr.sh --check      one PASS/FAIL line per cell against
#                                       the baseline; exit status 1 on any FAIL
#   scripts/bench-instr.sh --update     rewrite the baseline
#   scripts/bench-instr.sh --cache-sim  add D1 misses per op (--cache-sim=yes;
#                                       slower, for reading only)
#   scripts/bench-instr.sh --keys N     another key count (not with --check
#                                       or --update: the baseline is 100,000)
#   VALGRIND=path                       another valgrind
#
# Callgrind's files and logs land in build/instr/, the raw sums (calls and
# instructions per workload) in build/instr/raw.txt.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

baseline=$MT_ROOT/tools/testing/bench/instr-baseline.txt
out=$MT_BUILD/instr
bench=$MT_ROOT/tools/testing/build/bench
shapes="int8 rand16 prefix24 rand32"
# The workloads in the order bench.c runs them: dump N is workload N.
workloads="insert get-uniform get-zipf store-uniform store-zipf 90/10-uniform
	   90/10-zipf 50/50-uniform 50/50-zipf scan100 erase"
limit=5		# percent
keys=100000
seed=1
mode=print cache_sim=

while [ $# -gt 0 ]; do
	case $1 in
	--check) mode=check ;;
	--update) mode=update ;;
	--cache-sim) cache_sim=1 ;;
	--keys) keys=${2:?--keys needs a number}; shift ;;
	-h|--help) sed -n '3,/^set /p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	*) mt_die "unknown option $1 (see --help)" ;;
	esac
	shift
done
if [ $mode != print ] && { [ -n "$cache_sim" ] || [ "$keys" != 100000 ]; }; then
	mt_die "--check and --update measure 100,000 keys without --cache-sim"
fi

# fail WHAT WHY: one FAIL line (in check mode) or an error, and stop.
fail() {
	if [ $mode = check ]; then
		echo "FAIL instr:$1: $2"
		exit 1
	fi
	mt_die "$1: $2"
}

valgrind=${VALGRIND:-valgrind}
command -v "$valgrind" >/dev/null 2>&1 ||
	fail valgrind "$valgrind is not installed (scripts/install-deps.sh installs it): instruction counts not measured"

cd "$MT_ROOT" || exit 1
rm -rf "$out"
mkdir -p "$out"
make -C tools/testing build/bench >"$out/build.log" 2>&1 ||
	fail build "make -C tools/testing build/bench failed (see $out/build.log)"

# libc picks its string functions (memcmp, memcpy, memset) and their
# thresholds for the CPU it runs on, and callgrind counts whichever it
# picked: pin them to the x86-64 baseline (SSE2) so that the counts do
# not depend on the machine (CI runs on whatever CPU it gets).
libc_pin='glibc.cpu.hwcaps=-AVX512F,-AVX512VL,-AVX512BW,-AVX2,-AVX,-AVX_Fast_Unaligned_Load,-ERMS,-FSRM,-SSSE3,-SSE4_1,-SSE4_2,-BMI2,-Fast_Unaligned_Copy'
libc_pin+=':glibc.cpu.x86_rep_movsb_threshold=2048:glibc.cpu.x86_rep_stosb_threshold=2048'
libc_pin+=':glibc.cpu.x86_data_cache_size=32768:glibc.cpu.x86_shared_cache_size=1048576'
libc_pin+=':glibc.cpu.x86_non_temporal_threshold=786432'

# What the counts depend on besides the source: one line, compared with
# the baseline's.
toolchain() {
	local cc urcu
	cc=$(${CC:-cc} --version 2>/dev/null | head -n 1)
	urcu=$(dpkg-query -W -f='${Version}' liburcu-dev 2>/dev/null || echo unknown)
	echo "$cc; $(ldd --version 2>/dev/null | head -n 1 | sed 's/^ldd //'); liburcu $urcu; $("$valgrind" --version); libc string functions pinned to SSE2"
}

# cost FILE: "calls Ir cb_calls cb_Ir D1 cb_D1" from one callgrind dump:
# the inclusive cost of the calls from the benchmark's loop to masstree_*,
# and that of the calls to the scan callback.
cost() {
	awk '
	# Callgrind compresses names: "(id) name" defines id, "(id)" uses it.
	function cname(s,    id) {
		if (match(s, /^\([0-9]+\)/)) {
			id = substr(s, 2, RLENGTH - 2)
			if (length(s) > RLENGTH + 1)
				names[id] = substr(s, RLENGTH + 2)
			return names[id]
		}
		return s
	}
	function add(a, n,    i) {
		for (i = 2; i <= NF; i++)
			a[i - 1] += $i
	}
	/^events:/ { for (i = 2; i <= NF; i++) ev[$i] = i - 1; next }
	/^fn=/ { fn = cname(substr($0, 4)); next }
	/^cfn=/ { cfn = cname(substr($0, 5)); next }
	/^calls=/ { split(substr($0, 7), c, " "); incall = 1; next }
	incall {
		incall = 0
		if (fn ~ /^(bench_worker|get_op|store_op)([.]|$)/ && cfn ~ /^masstree_/) {
			calls += c[1]
			add(api)
		}
		if (cfn ~ /^mst_scan_fn([.]|$)/) {
			cbcalls += c[1]
			add(cb)
		}
	}
	END {
		ir = ev["Ir"]; mr = ev["D1mr"]; mw = ev["D1mw"]
		printf "%d %d %d %d %d %d\n", calls, api[ir], cbcalls, cb[ir],
			(mr ? api[mr] + api[mw] : -1), (mr ? cb[mr] + cb[mw] : -1)
	}' "$1"
}

table=$out/table.txt
{
	printf '%-9s %-14s %12s' shape workload instr/op
	[ -n "$cache_sim" ] && printf ' %9s' D1miss/op
	printf '\n'
} >"$table"
for s in $shapes; do
	dir=$out/$s
	mkdir -p "$dir"
	vg=("$valgrind" --tool=callgrind --toggle-collect=bench_worker
	    --dump-after=bench_worker --callgrind-out-file="$dir/cg")
	[ -n "$cache_sim" ] && vg+=(--cache-sim=yes)
	GLIBC_TUNABLES=$libc_pin "${vg[@]}" "$bench" --callgrind -n "$keys" -o "$keys" -s $seed -k "$s" \
		>"$dir/log" 2>&1 ||
		fail "$s" "the benchmark failed under callgrind (see $dir/log)"
	i=0
	for w in $workloads; do
		i=$((i + 1))
		[ -f "$dir/cg.$i" ] || fail "$s" "no callgrind dump for $w (see $dir/log)"
		read -r calls ir cbcalls cbir d1 cbd1 < <(cost "$dir/cg.$i")
		echo "$s $w calls $calls Ir $ir callback-calls $cbcalls callback-Ir $cbir" >>"$out/raw.txt"
		[ "${calls:-0}" -gt 0 ] || fail "$s" "no masstree call in the $w dump ($dir/cg.$i)"
		rows=("$w $calls $((ir - cbir)) $((d1 - cbd1))")
		if [ "$w" = scan100 ]; then
			[ "${cbcalls:-0}" -gt 0 ] || fail "$s" "no call of the scan callback mst_scan_fn in $dir/cg.$i"
			rows+=("scan100/key $cbcalls $((ir - cbir)) $((d1 - cbd1))")
		fi
		for r in "${rows[@]}"; do
			read -r row n rir rd1 <<<"$r"
			awk -v s="$s" -v w="$row" -v n="$n" -v ir="$rir" -v d1="$rd1" -v cs="$cache_sim" 'BEGIN {
				printf "%-9s %-14s %12.1f", s, w, ir / n
				if (cs)
					printf " %9.2f", d1 / n
				printf "\n"
			}' >>"$table"
		done
	done
	[ -f "$dir/cg.$((i + 1))" ] && fail "$s" "more callgrind dumps than workloads (see $dir)"
done
tc=$(toolchain)

case $mode in
print)
	echo "# instructions per masstree call, $keys keys, seed $seed, one thread"
	echo "# toolchain: $tc"
	cat "$table"
	;;
update)
	{
		echo "# Instructions per masstree call: the baseline of scripts/bench-instr.sh --check"
		echo "# (make check, stage instr), which fails a cell more than ${limit}% over it."
		echo "# Made by scripts/bench-instr.sh --update: tools/testing/build/bench --callgrind,"
		echo "# $keys keys, seed $seed, one thread, under valgrind --tool=callgrind;"
		echo "# scan100 is per 100-key scan, scan100/key per key returned. Update it in"
		echo "# a commit of its own that says why the counts moved."
		echo "# toolchain: $tc"
		cat "$table"
	} >"$baseline"
	cat "$baseline"
	mt_log "wrote ${baseline#"$MT_ROOT"/}"
	;;
check)
	cat "$table"
	[ -f "$baseline" ] || fail baseline "no ${baseline#"$MT_ROOT"/} (scripts/bench-instr.sh --update writes it)"
	base_tc=$(sed -n 's/^# toolchain: //p' "$baseline")
	if [ "$base_tc" != "$tc" ]; then
		echo "FAIL instr:toolchain: counts not comparable: the baseline was made with \"$base_tc\", this is \"$tc\"; refresh it (scripts/bench-instr.sh --update) in a commit that says so"
		exit 1
	fi
	awk -v limit=$limit -v base="${baseline#"$MT_ROOT"/}" '
	FNR == 1 { file++ }
	/^#/ || $1 == "shape" { next }
	file == 1 { want[$1 "/" $2] = $3; next }
	{
		cell = $1 "/" $2
		seen[cell] = 1
		u = $2 == "scan100" ? "instructions/scan" : $2 ~ /key$/ ? "instructions/key" : "instructions/op"
		if (!(cell in want)) {
			printf "FAIL instr:%s: %.1f %s, not in %s\n", cell, $3, u, base
			bad = 1
			next
		}
		d = ($3 - want[cell]) * 100 / want[cell]
		if (d > limit) {
			printf "FAIL instr:%s: %.1f %s, %+.1f%% over the baseline %.1f (limit +%d%%)\n",
				cell, $3, u, d, want[cell], limit
			bad = 1
		} else if (d < -limit) {
			printf "PASS instr:%s %.1f %s (baseline %.1f, %+.1f%%: more than %d%% under, refresh the baseline)\n",
				cell, $3, u, want[cell], d, limit
			drop++
		} else {
			printf "PASS instr:%s %.1f %s (baseline %.1f, %+.1f%%)\n",
				cell, $3, u, want[cell], d
		}
	}
	END {
		for (cell in want)
			if (!(cell in seen)) {
				printf "FAIL instr:%s: in %s but not measured\n", cell, base
				bad = 1
			}
		if (drop)
			printf "note: %d cell(s) more than %d%% under the baseline: refresh it with scripts/bench-instr.sh --update, in a commit that says why\n",
				drop, limit > "/dev/stderr"
		exit bad
	}' "$baseline" "$table"
	;;
esac
