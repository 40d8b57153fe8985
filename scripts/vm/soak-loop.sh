#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Inside the test VM (scripts/soak.sh): run the reliability selftests
# round after round until DURATION seconds have passed; stop at the
# first failure and show its output.
#
#   soak-loop.sh DURATION SCALE
duration=${1:?usage: soak-loop.sh DURATION SCALE}
export MT_SCALE="${2:-1}"
progs="masstree_stress_test masstree_faults_dev_test masstree_fuzz_test masstree_reload_test"
end=$(($(date +%s) + duration))
round=0
while [ "$(date +%s)" -lt "$end" ]; do
	round=$((round + 1))
	for p in $progs; do
		if ! "./$p" >/tmp/soak.out 2>&1; then
			cat /tmp/soak.out
			echo "soak: FAIL $p in round $round"
			exit 1
		fi
		# One line per program and round: its counts and seeds.
		grep -E 'seed|calls|operations|waves|cycles|killed' /tmp/soak.out |
			sed "s/^/soak: round $round: /"
	done
done
echo "soak: $round rounds in ${duration}s, MT_SCALE=$MT_SCALE, all passed"
