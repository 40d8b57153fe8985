#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The masstreectl part of `make demo`, run inside the VM once masstree.ko is
# loaded: a map of a few thousand keys, point and range queries, stats.
# Lines starting with "~ " vary from run to run (sizes of the tree); the
# rest must match scripts/demo/expected exactly.
CTL=/selftests/masstreectl
fail=0

say() {
	echo
	echo "== $*"
}

# Run one masstreectl command, showing it (quoted as a shell would need)
# and any non-zero exit status.
ctl() {
	printf '$ masstreectl'
	for a in "$@"; do
		case $a in
		'' | *[!A-Za-z0-9_./:=-]*) printf " '%s'" "$a" ;;
		*) printf ' %s' "$a" ;;
		esac
	done
	echo
	"$CTL" "$@" 2>&1
	rc=$?
	[ $rc -eq 0 ] || echo "(exit status $rc)"
	return $rc
}

expect_ok() {
	ctl "$@" || fail=1
}

echo "DEMO-BEGIN"
say "create a map: /dev/masstree, named 'people', readable by all"
expect_ok create --mode 0644 people
expect_ok list --long

say "load 5000 users and 12 cities from a KEY<TAB>VALUE file (BATCH of 256)"
awk 'BEGIN {
	split("ams ber cai del lim lis nai osl par rio sfo tok", c, " ")
	for (i = 0; i < 5000; i++)
		printf "user:%05d\tname=user%d city=%s\n", i, i, c[i % 12 + 1]
	split("ams:Amsterdam ber:Berlin cai:Cairo del:Delhi lim:Lima lis:Lisbon nai:Nairobi osl:Oslo par:Paris rio:Rio sfo:San\\x20Francisco tok:Tokyo", n, " ")
	for (i = 1; i <= 12; i++) {
		split(n[i], kv, ":")
		printf "city:%s\t%s\n", kv[1], kv[2]
	}
}' >/tmp/people.tsv
echo "\$ wc -l people.tsv: $(wc -l </tmp/people.tsv) lines"
expect_ok load people /tmp/people.tsv

say "point queries"
expect_ok get people user:04242
expect_ok get people city:sfo
ctl get people user:99999
[ $? -eq 1 ] || fail=1

say "range queries: a range, a prefix, backwards, keys only"
expect_ok scan --start user:00100 --end user:00104 people
expect_ok scan --prefix city: --keys-only people
expect_ok scan --reverse --prefix user: --limit 3 people
expect_ok scan --prefix user:0420 --limit 4 people
echo "\$ masstreectl dump people | wc -l"
n=$("$CTL" dump people | wc -l)
echo "$n"
[ "$n" -eq 5012 ] || fail=1

say "updates: compare-and-exchange, conditional put, delete"
expect_ok cmpxchg people city:osl Oslo 'Oslo, Norway'
ctl cmpxchg people city:osl Oslo 'Oslo again'
[ $? -eq 1 ] || fail=1
ctl put --noexist people city:par 'Paris?'
[ $? -eq 1 ] || fail=1
expect_ok del people user:00000
expect_ok scan --limit 2 --prefix user: people

say "statistics (~: sizes that depend on the tree's shape)"
echo "\$ masstreectl stats people"
"$CTL" stats people >/tmp/stats || fail=1
while read -r k v; do
	case $k in
	keys | gets | puts | dels | cmpxchgs | batches) echo "$k $v" ;;
	*) echo "~ $k $v" ;;
	esac
done </tmp/stats

say "destroy the map"
expect_ok destroy people
expect_ok list

echo
if [ $fail -eq 0 ]; then
	echo "demo-guest: every step did what it should"
else
	echo "demo-guest: FAILED: a step did not do what it should"
fi
echo "DEMO-END"
exit $fail
