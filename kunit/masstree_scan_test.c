// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of ordered iteration: cursors (seek, next, prev, first,
 * last), the for_each macros, prefix iteration and masstree_scan(),
 * against the reference map (masstree_refmap.h), at every boundary;
 * scanners racing writers; pausing across the erasure of the cursor's key.
 */
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/masstree.h>
#include <linux/module.h>
#include <linux/prandom.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "masstree_test.h"

/*
 * Keys per shape: enough for several leaves and two internode levels
 * (about 1 s a shape on KASAN or KCSAN).
 */
#define SC_KEYS		500
/* Probes per shape, each checked in both directions. */
#define SC_PROBES	32
#define SC_MAXLEN	300

/**
 * struct sc_key - a bound: some bytes.
 * @b: its bytes.
 * @len: its length.
 */
struct sc_key {
	u8 *b;
	size_t len;
};

enum sc_shape {
	SC_INT64,	/* 8-byte big-endian integers */
	SC_RAND16,	/* 16 random bytes */
	SC_PREFIX24,	/* 24 bytes, the first 16 shared */
	SC_RAND32,	/* 32 random bytes */
	SC_MIXED,	/* 0..300 bytes over a small alphabet: shared prefixes */
	SC_NR,
};

static void sc_make_key(struct rnd_state *rnd, enum sc_shape shape, u8 *b,
			size_t *len, unsigned int i)
{
	static const u8 alpha[] = { 0, 1, 'a', 0xfe, 0xff };
	size_t n, j;

	switch (shape) {
	case SC_INT64:
		mtt_key64(b, (u64)prandom_u32_state(rnd) << 20 | i);
		*len = 8;
		return;
	case SC_RAND16:
		n = 16;
		break;
	case SC_PREFIX24:
		memset(b, 'p', 16);
		prandom_bytes_state(rnd, b + 16, 8);
		*len = 24;
		return;
	case SC_RAND32:
		n = 32;
		break;
	default:
		n = prandom_u32_state(rnd) % (SC_MAXLEN + 1);
		if (i % 3 == 0)
			n %= 24;
		for (j = 0; j < n; j++)
			b[j] = alpha[prandom_u32_state(rnd) % ARRAY_SIZE(alpha)];
		*len = n;
		return;
	}
	prandom_bytes_state(rnd, b, n);
	*len = n;
}

/*
 * Fill @mt and the reference with the distinct keys of SC_KEYS of @shape:
 * key i in key order has entry mtt_entry(i).
 */
static void sc_build(struct kunit *test, struct masstree *mt,
		     enum sc_shape shape, struct refmap *ref)
{
	struct refmap_node *x;
	struct rnd_state rnd;
	unsigned int i;
	size_t len;
	u8 *buf;

	prandom_seed_state(&rnd, 0x5ca4 + shape);
	buf = kunit_kzalloc(test, SC_MAXLEN, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	for (i = 0; i < SC_KEYS; i++) {
		sc_make_key(&rnd, shape, buf, &len, i);
		KUNIT_ASSERT_EQ(test, refmap_set(ref, buf, len, mtt_entry(0)), 0);
	}
	for (x = refmap_first(ref), i = 0; x; x = refmap_next(x), i++) {
		x->entry = mtt_entry(i);
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, x->key, x->len, x->entry,
						      GFP_KERNEL), 0);
	}
}

/* Index of the first reference key >= (> if @strict) the given key. */
static unsigned int sc_lower(struct refmap *ref, const u8 *b, size_t len,
			     bool strict)
{
	return refmap_rank(ref, b, len, strict);
}

/* Is the cursor at reference key @i with its entry? */
static void sc_expect_at(struct kunit *test, struct refmap *ref,
			 struct masstree_cursor *cur, void *entry, int i,
			 const char *what)
{
	const struct refmap_node *x = i < 0 ? NULL : refmap_nth(ref, i);

	if (!x) {
		KUNIT_EXPECT_NULL_MSG(test, entry, "%s: expected the end", what);
		return;
	}
	KUNIT_EXPECT_PTR_EQ_MSG(test, entry, mtt_entry(i), "%s: key %d", what, i);
	KUNIT_EXPECT_EQ_MSG(test, refmap_key_cmp(masstree_cursor_key(cur),
						 masstree_cursor_len(cur),
						 x->key, x->len), 0,
			    "%s: bytes of key %d", what, i);
}

static void sc_expect_full(struct kunit *test, struct masstree *mt,
			   struct refmap *ref)
{
	struct masstree_cursor cur;
	void *entry;
	int i = 0;

	masstree_cursor_init(&cur, mt, GFP_KERNEL);
	masstree_for_each(mt, &cur, entry) {
		sc_expect_at(test, ref, &cur, entry, i, "forward");
		if (++i > (int)refmap_count(ref))
			break;
	}
	KUNIT_EXPECT_EQ(test, i, (int)refmap_count(ref));
	KUNIT_EXPECT_EQ(test, cur.err, 0);
	i = refmap_count(ref) - 1;
	masstree_for_each_rev(mt, &cur, entry) {
		sc_expect_at(test, ref, &cur, entry, i, "reverse");
		if (--i < -1)
			break;
	}
	KUNIT_EXPECT_EQ(test, i, -1);
	KUNIT_EXPECT_EQ(test, cur.err, 0);
	masstree_cursor_fini(&cur);
}

/**
 * struct sc_count - what a masstree_scan() callback saw.
 * @ref: the reference.
 * @next: index it expects next.
 * @step: +1 forward, -1 reverse.
 * @seen: keys seen.
 * @bad: keys out of place.
 * @stop_after: stop the scan (return 7) after this many keys; 0: never.
 */
struct sc_count {
	struct refmap *ref;
	int next;
	int step;
	unsigned int seen;
	unsigned int bad;
	unsigned int stop_after;
};

static int sc_count_fn(const void *key, size_t len, void *entry, void *arg)
{
	struct sc_count *sc = arg;
	const struct refmap_node *x = sc->next < 0 ? NULL :
				      refmap_nth(sc->ref, sc->next);

	if (!x || entry != mtt_entry(sc->next) ||
	    refmap_key_cmp(key, len, x->key, x->len))
		sc->bad++;
	sc->next += sc->step;
	sc->seen++;
	return sc->stop_after && sc->seen >= sc->stop_after ? 7 : 0;
}

/* masstree_scan() of [lo, hi] with exclusive-bound flags vs the reference. */
static void sc_check_scan(struct kunit *test, struct masstree *mt,
			  struct refmap *ref, const struct sc_key *lo,
			  const struct sc_key *hi, unsigned int flags)
{
	bool rev = flags & MASSTREE_SCAN_REVERSE;
	bool sx = flags & MASSTREE_SCAN_START_EXCL, ex = flags & MASSTREE_SCAN_END_EXCL;
	struct sc_count sc = { .ref = ref, .step = rev ? -1 : 1 };
	int first, last, expect;

	if (!rev) {
		first = sc_lower(ref, lo->b, lo->len, sx);
		last = (int)sc_lower(ref, hi->b, hi->len, !ex) - 1;
		sc.next = first;
		KUNIT_EXPECT_EQ(test, masstree_scan(mt, lo->b, lo->len, hi->b, hi->len,
						    flags, sc_count_fn, &sc), 0);
	} else {
		first = (int)sc_lower(ref, hi->b, hi->len, !sx) - 1;
		last = sc_lower(ref, lo->b, lo->len, ex);
		sc.next = first;
		KUNIT_EXPECT_EQ(test, masstree_scan(mt, hi->b, hi->len, lo->b, lo->len,
						    flags, sc_count_fn, &sc), 0);
	}
	expect = rev ? first - last + 1 : last - first + 1;
	if (expect < 0)
		expect = 0;
	KUNIT_EXPECT_EQ_MSG(test, sc.seen, (unsigned int)expect, "flags %#x", flags);
	KUNIT_EXPECT_EQ_MSG(test, sc.bad, 0U, "flags %#x", flags);
}

/* The range macros over [lo, hi], both ways, against the reference. */
static void sc_check_macros(struct kunit *test, struct masstree *mt,
			    struct refmap *ref, const struct sc_key *lo,
			    const struct sc_key *hi)
{
	int first = sc_lower(ref, lo->b, lo->len, false);
	int last = (int)sc_lower(ref, hi->b, hi->len, true) - 1;
	struct masstree_cursor cur;
	void *entry;
	int i, n;

	masstree_cursor_init(&cur, mt, GFP_KERNEL);
	i = first;
	n = 0;
	masstree_for_each_range(mt, &cur, entry, lo->b, lo->len, hi->b, hi->len) {
		sc_expect_at(test, ref, &cur, entry, i++, "for_each_range");
		if (++n > (int)refmap_count(ref))
			break;
	}
	KUNIT_EXPECT_EQ(test, n, max(last - first + 1, 0));
	KUNIT_EXPECT_EQ(test, cur.err, 0);
	i = last;
	n = 0;
	masstree_for_each_range_rev(mt, &cur, entry, lo->b, lo->len, hi->b, hi->len) {
		sc_expect_at(test, ref, &cur, entry, i--, "for_each_range_rev");
		if (++n > (int)refmap_count(ref))
			break;
	}
	KUNIT_EXPECT_EQ(test, n, max(last - first + 1, 0));
	KUNIT_EXPECT_EQ(test, cur.err, 0);
	masstree_cursor_fini(&cur);
}

/* A probe near reference key @i: equal, shorter, longer, or a byte off. */
static void sc_probe(struct rnd_state *rnd, struct refmap *ref,
		     unsigned int i, u8 *b, size_t *len)
{
	const struct refmap_node *x = refmap_nth(ref, i % refmap_count(ref));
	size_t n = x->len;

	memcpy(b, x->key, n);
	switch (prandom_u32_state(rnd) % 5) {
	case 1:
		if (n)
			n -= 1 + prandom_u32_state(rnd) % n;
		break;
	case 2:
		b[n++] = prandom_u32_state(rnd);
		break;
	case 3:
		if (n && b[n - 1] < 0xff)
			b[n - 1]++;
		break;
	case 4:
		/* Cut at a slice boundary. */
		n &= ~7UL;
		break;
	}
	*len = n;
}

static void sc_check_prefix(struct kunit *test, struct masstree *mt,
			    struct refmap *ref, const u8 *p, size_t plen)
{
	int i, first = -1, last = -2, n = 0;
	const struct refmap_node *x;
	struct masstree_cursor cur;
	void *entry;

	for (x = refmap_first(ref), i = 0; x; x = refmap_next(x), i++) {
		if (!refmap_has_prefix(x, p, plen))
			continue;
		if (first < 0)
			first = i;
		last = i;
	}
	masstree_cursor_init(&cur, mt, GFP_KERNEL);
	i = first;
	masstree_for_each_prefix(mt, &cur, entry, p, plen) {
		sc_expect_at(test, ref, &cur, entry, i++, "prefix");
		if (++n > (int)refmap_count(ref))
			break;
	}
	KUNIT_EXPECT_EQ_MSG(test, n, first < 0 ? 0 : last - first + 1, "prefix len %zu", plen);
	n = 0;
	i = last;
	for (entry = masstree_seek_prefix(&cur, p, plen, MASSTREE_SCAN_REVERSE); entry;
	     entry = masstree_prev(&cur)) {
		sc_expect_at(test, ref, &cur, entry, i--, "prefix reverse");
		if (++n > (int)refmap_count(ref))
			break;
	}
	KUNIT_EXPECT_EQ_MSG(test, n, first < 0 ? 0 : last - first + 1,
			    "reverse prefix len %zu", plen);
	masstree_cursor_fini(&cur);
}

/*
 * One case per shape rather than a parameterised case: 6.1 keeps only the
 * last parameter's result line in debugfs, which the VM harness reads.
 */
static void sc_check_shape(struct kunit *test, enum sc_shape shape)
{
	struct masstree *mt = mtt_map(test);
	struct refmap *ref = mtt_ref(test);
	struct masstree_cursor cur;
	struct rnd_state rnd;
	struct sc_key lo, hi;
	unsigned int p, f;
	u8 *b, *b2;
	int i, s;

	sc_build(test, mt, shape, ref);
	sc_expect_full(test, mt, ref);
	b = kunit_kzalloc(test, 2 * (SC_MAXLEN + 8), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, b);
	b2 = b + SC_MAXLEN + 8;
	prandom_seed_state(&rnd, 0xb0d + shape);
	masstree_cursor_init(&cur, mt, GFP_KERNEL);
	for (p = 0; p < SC_PROBES; p++) {
		size_t len, len2;
		void *entry;

		if (p == 0) {		/* before everything */
			len = 0;
		} else if (p == 1) {	/* past the end */
			memset(b, 0xff, SC_MAXLEN + 1);
			len = SC_MAXLEN + 1;
		} else {
			sc_probe(&rnd, ref, prandom_u32_state(&rnd), b, &len);
		}
		/* seek, then a few steps each way */
		i = sc_lower(ref, b, len, false);
		entry = masstree_seek(&cur, b, len);
		sc_expect_at(test, ref, &cur, entry, i, "seek");
		for (s = 0; s < 3 && entry; s++)
			sc_expect_at(test, ref, &cur, entry = masstree_next(&cur), ++i, "next");
		i = (int)sc_lower(ref, b, len, true) - 1;
		entry = masstree_seek_rev(&cur, b, len);
		sc_expect_at(test, ref, &cur, entry, i, "seek_rev");
		for (s = 0; s < 3 && entry; s++)
			sc_expect_at(test, ref, &cur, entry = masstree_prev(&cur), --i, "prev");
		/* turn around */
		if (entry && i + 1 < (int)refmap_count(ref))
			sc_expect_at(test, ref, &cur, masstree_next(&cur), i + 1, "turn");

		/* masstree_scan() between this probe and another */
		sc_probe(&rnd, ref, prandom_u32_state(&rnd), b2, &len2);
		lo.b = b;
		lo.len = len;
		hi.b = b2;
		hi.len = len2;
		if (refmap_key_cmp(b, len, b2, len2) > 0)
			swap(lo, hi);
		sc_check_macros(test, mt, ref, &lo, &hi);
		for (f = 0; f < 8; f++)
			sc_check_scan(test, mt, ref, &lo, &hi,
				      (f & 1 ? MASSTREE_SCAN_REVERSE : 0) |
				      (f & 2 ? MASSTREE_SCAN_START_EXCL : 0) |
				      (f & 4 ? MASSTREE_SCAN_END_EXCL : 0));

		/* prefixes of the probe: inside a slice and at its end */
		if (p < SC_PROBES / 2) {
			sc_check_prefix(test, mt, ref, b, len);
			sc_check_prefix(test, mt, ref, b, min_t(size_t, len, 8));
			sc_check_prefix(test, mt, ref, b, min_t(size_t, len, 11));
			sc_check_prefix(test, mt, ref, b, min_t(size_t, len, 16));
		}
	}
	KUNIT_EXPECT_EQ(test, cur.err, 0);
	masstree_cursor_fini(&cur);
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
}

#define SC_SHAPE_CASE(name, shape)					\
static void masstree_scan_##name##_matches_reference(struct kunit *test) \
{									\
	sc_check_shape(test, shape);					\
}

SC_SHAPE_CASE(int64, SC_INT64)
SC_SHAPE_CASE(rand16, SC_RAND16)
SC_SHAPE_CASE(prefix24, SC_PREFIX24)
SC_SHAPE_CASE(rand32, SC_RAND32)
SC_SHAPE_CASE(mixed, SC_MIXED)

static int sc_never_fn(const void *key, size_t len, void *entry, void *arg)
{
	(*(unsigned int *)arg)++;
	return 0;
}

static void masstree_scan_empty_map_finds_nothing(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);
	unsigned int calls = 0, f;
	void *entry;

	MASSTREE_CURSOR(cur, mt);

	KUNIT_EXPECT_NULL(test, masstree_first(&cur));
	KUNIT_EXPECT_NULL(test, masstree_last(&cur));
	KUNIT_EXPECT_NULL(test, masstree_seek(&cur, "a", 1));
	KUNIT_EXPECT_NULL(test, masstree_seek_rev(&cur, "a", 1));
	KUNIT_EXPECT_NULL(test, masstree_next(&cur));
	KUNIT_EXPECT_NULL(test, masstree_prev(&cur));
	KUNIT_EXPECT_NULL(test, masstree_seek_prefix(&cur, "", 0, 0));
	masstree_for_each(mt, &cur, entry)
		calls++;
	masstree_for_each_rev(mt, &cur, entry)
		calls++;
	masstree_for_each_range(mt, &cur, entry, "", 0, "zz", 2)
		calls++;
	for (f = 0; f < 32; f++)
		KUNIT_EXPECT_EQ(test, masstree_scan(mt, "", 0, "zz", 2, f, sc_never_fn,
						    &calls), 0);
	KUNIT_EXPECT_EQ(test, calls, 0U);
	KUNIT_EXPECT_EQ(test, cur.err, 0);
	masstree_cursor_fini(&cur);
}

static void masstree_scan_single_key_bounds(struct kunit *test)
{
	static const u8 k[] = "middle-key-of-17";	/* 17 bytes with the NUL */
	struct masstree *mt = mtt_map(test);
	unsigned int calls;

	MASSTREE_CURSOR(cur, mt);

	KUNIT_ASSERT_EQ(test, masstree_insert(mt, k, sizeof(k), mtt_entry(1), GFP_KERNEL), 0);
	KUNIT_EXPECT_PTR_EQ(test, masstree_first(&cur), mtt_entry(1));
	KUNIT_EXPECT_NULL(test, masstree_next(&cur));
	KUNIT_EXPECT_NULL(test, masstree_next(&cur));	/* stays at the end */
	KUNIT_EXPECT_PTR_EQ(test, masstree_last(&cur), mtt_entry(1));
	KUNIT_EXPECT_NULL(test, masstree_prev(&cur));
	/* Bounds equal to the key, before it, after it, sharing a prefix. */
	KUNIT_EXPECT_PTR_EQ(test, masstree_seek(&cur, k, sizeof(k)), mtt_entry(1));
	KUNIT_EXPECT_EQ(test, masstree_cursor_len(&cur), sizeof(k));
	KUNIT_EXPECT_EQ(test, memcmp(masstree_cursor_key(&cur), k, sizeof(k)), 0);
	KUNIT_EXPECT_PTR_EQ(test, masstree_seek_rev(&cur, k, sizeof(k)), mtt_entry(1));
	KUNIT_EXPECT_PTR_EQ(test, masstree_seek(&cur, k, 8), mtt_entry(1));
	KUNIT_EXPECT_NULL(test, masstree_seek_rev(&cur, k, 8));
	KUNIT_EXPECT_NULL(test, masstree_seek(&cur, "middle-key-of-17\0x", 18));
	KUNIT_EXPECT_PTR_EQ(test, masstree_seek_rev(&cur, "middle-key-of-17\0x", 18),
			    mtt_entry(1));
	KUNIT_EXPECT_PTR_EQ(test, masstree_seek_range(&cur, k, sizeof(k), k, sizeof(k), 0),
			    mtt_entry(1));
	KUNIT_EXPECT_NULL(test, masstree_seek_range(&cur, k, sizeof(k), k, sizeof(k),
						    MASSTREE_SCAN_START_EXCL));
	KUNIT_EXPECT_NULL(test, masstree_seek_range(&cur, k, sizeof(k), k, sizeof(k),
						    MASSTREE_SCAN_END_EXCL));
	KUNIT_EXPECT_PTR_EQ(test, masstree_seek_prefix(&cur, k, 8, 0), mtt_entry(1));
	KUNIT_EXPECT_PTR_EQ(test, masstree_seek_prefix(&cur, k, 16, MASSTREE_SCAN_REVERSE),
			    mtt_entry(1));
	KUNIT_EXPECT_PTR_EQ(test, masstree_seek_prefix(&cur, k, 11, MASSTREE_SCAN_REVERSE),
			    mtt_entry(1));
	KUNIT_EXPECT_NULL(test, masstree_seek_prefix(&cur, "middle-kez", 10, 0));
	KUNIT_EXPECT_NULL(test, masstree_seek_prefix(&cur, "middle-kez", 10,
						     MASSTREE_SCAN_REVERSE));
	calls = 0;
	KUNIT_EXPECT_EQ(test, masstree_scan(mt, NULL, 0, NULL, 0,
					    MASSTREE_SCAN_NO_START | MASSTREE_SCAN_NO_END,
					    sc_never_fn, &calls), 0);
	KUNIT_EXPECT_EQ(test, masstree_scan(mt, NULL, 0, NULL, 0,
					    MASSTREE_SCAN_NO_START | MASSTREE_SCAN_NO_END |
					    MASSTREE_SCAN_REVERSE, sc_never_fn, &calls), 0);
	KUNIT_EXPECT_EQ(test, calls, 2U);
	KUNIT_EXPECT_EQ(test, cur.err, 0);
	masstree_cursor_fini(&cur);
}

static void masstree_scan_fn_return_stops(struct kunit *test)
{
	struct sc_count sc = { .step = 1, .stop_after = 3 };
	struct masstree *mt = mtt_map(test);
	struct refmap *ref = mtt_ref(test);

	sc_build(test, mt, SC_INT64, ref);
	sc.ref = ref;
	KUNIT_EXPECT_EQ(test, masstree_scan(mt, NULL, 0, NULL, 0,
					    MASSTREE_SCAN_NO_START | MASSTREE_SCAN_NO_END,
					    sc_count_fn, &sc), 7);
	KUNIT_EXPECT_EQ(test, sc.seen, 3U);
	KUNIT_EXPECT_EQ(test, sc.bad, 0U);
	KUNIT_EXPECT_EQ(test, masstree_scan(mt, NULL, 0, NULL, MASSTREE_MAX_KEY_LEN + 1, 0,
					    sc_count_fn, &sc), -EINVAL);
}

/* Keys of length 0 and up to MASSTREE_MAX_KEY_LEN, in order both ways. */
static void masstree_scan_zero_and_max_length_keys(struct kunit *test)
{
	static const size_t lens[] = { 0, 1, 8, 9, 300, MASSTREE_MAX_KEY_LEN - 1,
				       MASSTREE_MAX_KEY_LEN };
	struct masstree *mt = mtt_map(test);
	struct masstree_cursor cur;
	unsigned int i, calls = 0;
	void *entry;
	u8 *big;

	big = kunit_kmalloc(test, MASSTREE_MAX_KEY_LEN + 1, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, big);
	memset(big, 0xab, MASSTREE_MAX_KEY_LEN + 1);
	/* All are prefixes of one another: ordered by length. */
	for (i = 0; i < ARRAY_SIZE(lens); i++)
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, big, lens[i], mtt_entry(i),
						      GFP_KERNEL), 0);
	masstree_cursor_init(&cur, mt, GFP_KERNEL);
	i = 0;
	masstree_for_each(mt, &cur, entry) {
		KUNIT_EXPECT_PTR_EQ(test, entry, mtt_entry(i));
		KUNIT_EXPECT_EQ(test, masstree_cursor_len(&cur), lens[i]);
		KUNIT_EXPECT_EQ(test, memcmp(masstree_cursor_key(&cur), big, lens[i]), 0);
		i++;
	}
	KUNIT_EXPECT_EQ(test, i, (unsigned int)ARRAY_SIZE(lens));
	masstree_for_each_rev(mt, &cur, entry) {
		i--;
		KUNIT_EXPECT_PTR_EQ(test, entry, mtt_entry(i));
		KUNIT_EXPECT_EQ(test, masstree_cursor_len(&cur), lens[i]);
	}
	KUNIT_EXPECT_EQ(test, i, 0U);
	/* Seeks around the longest key. */
	KUNIT_EXPECT_PTR_EQ(test, masstree_seek(&cur, big, MASSTREE_MAX_KEY_LEN),
			    mtt_entry(ARRAY_SIZE(lens) - 1));
	KUNIT_EXPECT_NULL(test, masstree_next(&cur));
	KUNIT_EXPECT_PTR_EQ(test, masstree_seek_rev(&cur, big, MASSTREE_MAX_KEY_LEN - 2),
			    mtt_entry(4));
	KUNIT_EXPECT_PTR_EQ(test, masstree_seek(&cur, big, 301), mtt_entry(5));
	KUNIT_EXPECT_PTR_EQ(test, masstree_prev(&cur), mtt_entry(4));
	KUNIT_EXPECT_NULL(test, masstree_seek(&cur, big, MASSTREE_MAX_KEY_LEN + 1));
	KUNIT_EXPECT_EQ(test, cur.err, -EINVAL);
	KUNIT_EXPECT_PTR_EQ(test, masstree_seek_prefix(&cur, big, MASSTREE_MAX_KEY_LEN,
						       MASSTREE_SCAN_REVERSE),
			    mtt_entry(ARRAY_SIZE(lens) - 1));
	KUNIT_EXPECT_PTR_EQ(test, masstree_prev(&cur), NULL);
	/* The empty key: first, and the only key before "\0". */
	KUNIT_EXPECT_PTR_EQ(test, masstree_seek_rev(&cur, "\0", 1), mtt_entry(0));
	KUNIT_EXPECT_EQ(test, masstree_cursor_len(&cur), 0UL);
	KUNIT_EXPECT_NULL(test, masstree_prev(&cur));
	KUNIT_EXPECT_EQ(test, cur.err, 0);
	KUNIT_EXPECT_EQ(test, masstree_scan(mt, NULL, 0, NULL, 0,
					    MASSTREE_SCAN_NO_START | MASSTREE_SCAN_NO_END,
					    sc_never_fn, &calls), 0);
	KUNIT_EXPECT_EQ(test, calls, (unsigned int)ARRAY_SIZE(lens));
	masstree_cursor_fini(&cur);
}

/* Count the evaluations of a macro argument in @ev. */
#define SC_ONCE(x)	(ev++, (x))

/* Each macro evaluates each of its arguments exactly once. */
static void masstree_scan_macros_evaluate_args_once(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);
	struct masstree_cursor curs[1];
	unsigned int ev = 0, i, n;
	struct masstree_cursor *pc = curs;
	void *entries[1], **pe = entries;
	u8 key[8];

	for (i = 0; i < 40; i++) {
		mtt_key64(key, i);
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, key, 8, mtt_entry(i), GFP_KERNEL), 0);
	}
	masstree_cursor_init(curs, mt, GFP_KERNEL);
	n = 0;
	masstree_for_each(SC_ONCE(mt), SC_ONCE(pc), *SC_ONCE(pe))
		n++;
	KUNIT_EXPECT_EQ(test, n, 40U);
	KUNIT_EXPECT_EQ(test, ev, 3U);
	n = 0;
	masstree_for_each_rev(SC_ONCE(mt), SC_ONCE(pc), *SC_ONCE(pe))
		n++;
	KUNIT_EXPECT_EQ(test, n, 40U);
	KUNIT_EXPECT_EQ(test, ev, 6U);
	n = 0;
	mtt_key64(key, 0);
	masstree_for_each_prefix(SC_ONCE(mt), SC_ONCE(pc), *SC_ONCE(pe),
				 SC_ONCE(key), SC_ONCE(7))
		n++;
	KUNIT_EXPECT_EQ(test, n, 40U);
	KUNIT_EXPECT_EQ(test, ev, 11U);
	n = 0;
	masstree_for_each_range(SC_ONCE(mt), SC_ONCE(pc), *SC_ONCE(pe),
				SC_ONCE(key), SC_ONCE(8), SC_ONCE(key), SC_ONCE(8)) {
		KUNIT_EXPECT_PTR_EQ(test, entries[0], mtt_entry(0));
		n++;
	}
	KUNIT_EXPECT_EQ(test, n, 1U);
	KUNIT_EXPECT_EQ(test, ev, 18U);
	KUNIT_EXPECT_NULL(test, entries[0]);
	n = 0;
	masstree_for_each_range_rev(SC_ONCE(mt), SC_ONCE(pc), *SC_ONCE(pe),
				    SC_ONCE(key), SC_ONCE(8), SC_ONCE(key), SC_ONCE(8))
		n++;
	KUNIT_EXPECT_EQ(test, n, 1U);
	KUNIT_EXPECT_EQ(test, ev, 25U);
	KUNIT_EXPECT_EQ(test, curs[0].err, 0);
	masstree_cursor_fini(curs);
}

/* Erase the cursor's key (and its layer) while paused; resume goes on. */
static void masstree_cursor_pause_resume_across_erase(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);
	u8 key[24];
	unsigned int i;

	MASSTREE_CURSOR(cur, mt);

	/* Keys i: 8-byte slice i / 3, then 16 bytes: layers of three keys. */
	for (i = 0; i < 30; i++) {
		mtt_key64(key, i / 3);
		memset(key + 8, 'x', 8);
		mtt_key64(key + 16, i % 3);
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, key, 24, mtt_entry(i), GFP_KERNEL), 0);
	}
	KUNIT_ASSERT_PTR_EQ(test, masstree_first(&cur), mtt_entry(0));
	KUNIT_ASSERT_PTR_EQ(test, masstree_next(&cur), mtt_entry(1));
	masstree_cursor_pause(&cur);
	/* The cursor's key and its successor go. */
	for (i = 1; i <= 2; i++) {
		mtt_key64(key, 0);
		mtt_key64(key + 16, i);
		KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, key, 24), mtt_entry(i));
	}
	usleep_range(1000, 2000);
	masstree_cursor_resume(&cur);
	KUNIT_EXPECT_PTR_EQ(test, masstree_next(&cur), mtt_entry(3));
	/* A whole layer goes while paused in its middle, forward and back. */
	KUNIT_EXPECT_PTR_EQ(test, masstree_next(&cur), mtt_entry(4));
	for (i = 3; i < 6; i++) {
		mtt_key64(key, i / 3);
		mtt_key64(key + 16, i % 3);
		KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, key, 24), mtt_entry(i));
	}
	KUNIT_EXPECT_PTR_EQ(test, masstree_next(&cur), mtt_entry(6));
	KUNIT_EXPECT_PTR_EQ(test, masstree_prev(&cur), mtt_entry(0));
	KUNIT_EXPECT_PTR_EQ(test, masstree_seek_rev(&cur, key, 24), mtt_entry(0));
	KUNIT_EXPECT_NULL(test, masstree_prev(&cur));
	/* Erase every key ahead: next finds the end, not a stale key. */
	KUNIT_EXPECT_PTR_EQ(test, masstree_seek(&cur, key, 24), mtt_entry(6));
	for (i = 6; i < 30; i++) {
		mtt_key64(key, i / 3);
		mtt_key64(key + 16, i % 3);
		KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, key, 24), mtt_entry(i));
	}
	KUNIT_EXPECT_NULL(test, masstree_next(&cur));
	KUNIT_EXPECT_EQ(test, cur.err, 0);
	masstree_cursor_fini(&cur);
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
}

/*
 * Scanners against writers. Stable keys (never written during the run)
 * are interleaved with churned keys of the same shapes: 8-byte integers
 * (odd ones churn), 24-byte keys sharing a stable key's first 16 bytes
 * (which makes and empties layers under the stable key's slot), and
 * 40-byte keys deep in layers.
 */
#define SC_STABLE	256
#define SC_RUN_MS	(IS_ENABLED(CONFIG_KCSAN) ? 3000 : 4000)
#define SC_THREADS	3
#define SC_STABLE_TAG	BIT(24)

/**
 * struct sc_thread - one kthread of the concurrent test.
 * @mt: the map.
 * @start: released when every thread is up.
 * @deadline: jiffies at which to stop.
 * @id: 0 writes, 1 scans forward, 2 scans in reverse.
 * @task: the kthread.
 * @scans: complete scans done.
 * @errors: order violations, duplicates, stable keys missing, bad entries.
 * @done: the thread finished its work.
 */
struct sc_thread {
	struct masstree *mt;
	struct completion *start;
	unsigned long deadline;
	unsigned int id;
	struct task_struct *task;
	unsigned long scans;
	unsigned long errors;
	struct completion done;
};

static size_t sc_ckey(u8 *key, unsigned int i, bool stable)
{
	unsigned int kind = i % 3;

	i /= 3;
	switch (kind) {
	case 0:
		if (!stable && (i & 1)) {
			/* Pairs of churned keys: layers that come and go. */
			memset(key, 'E', 8);
			mtt_key64(key + 8, i / 4);
			mtt_key64(key + 16, i);
			return 24;
		}
		mtt_key64(key, 2 * (u64)i + !stable);
		return 8;
	case 1:
		memset(key, 'L', 8);
		mtt_key64(key + 8, i);
		mtt_key64(key + 16, stable ? 0 : 1 + i % 5);
		return 24;
	default:
		memset(key, 'D', 24);
		mtt_key64(key + 24, i);
		mtt_key64(key + 32, stable ? 0 : 7);
		return 40;
	}
}

/**
 * struct sc_seen - one scan's state.
 * @prev: the previous key.
 * @prev_len: its length; -1 before the first key.
 * @stable: stable keys seen.
 * @errors: errors seen.
 * @rev: reverse scan.
 */
struct sc_seen {
	u8 prev[48];
	int prev_len;
	unsigned int stable;
	unsigned long errors;
	bool rev;
};

static int sc_seen_fn(const void *key, size_t len, void *entry, void *arg)
{
	struct sc_seen *s = arg;
	unsigned long v = mtt_entry_value(entry);

	if (len > sizeof(s->prev)) {
		s->errors++;
		return 0;
	}
	if (s->prev_len >= 0) {
		int c = refmap_key_cmp(s->prev, s->prev_len, key, len);

		if (s->rev ? c <= 0 : c >= 0)
			s->errors++;
	}
	if (v & SC_STABLE_TAG)
		s->stable++;
	memcpy(s->prev, key, len);
	s->prev_len = len;
	return 0;
}

static void sc_writer(struct sc_thread *t)
{
	struct rnd_state rnd;
	u8 key[48];

	prandom_seed_state(&rnd, 42);
	while (time_before(jiffies, t->deadline)) {
		unsigned int i = prandom_u32_state(&rnd) % (3 * SC_STABLE);
		size_t len = sc_ckey(key, i, false);

		if (masstree_load(t->mt, key, len))
			masstree_erase(t->mt, key, len);
		else if (masstree_insert(t->mt, key, len, mtt_entry(i), GFP_KERNEL))
			t->errors++;
		cond_resched();
	}
}

static void sc_scanner(struct sc_thread *t)
{
	bool rev = t->id == 2;
	struct sc_seen *s = kmalloc(sizeof(*s), GFP_KERNEL);
	struct masstree_cursor cur;
	void *entry;

	if (!s) {
		t->errors++;
		return;
	}
	masstree_cursor_init(&cur, t->mt, GFP_KERNEL);
	while (time_before(jiffies, t->deadline)) {
		memset(s, 0, sizeof(*s));
		s->prev_len = -1;
		s->rev = rev;
		if (t->scans & 1) {
			if (masstree_scan(t->mt, NULL, 0, NULL, 0,
					  MASSTREE_SCAN_NO_START | MASSTREE_SCAN_NO_END |
					  (rev ? MASSTREE_SCAN_REVERSE : 0),
					  sc_seen_fn, s))
				s->errors++;
		} else {
			for (entry = rev ? masstree_last(&cur) : masstree_first(&cur);
			     entry; entry = rev ? masstree_prev(&cur) : masstree_next(&cur)) {
				sc_seen_fn(cur.key, cur.len, entry, s);
				if (t->scans & 2)
					cond_resched();	/* pause between steps */
			}
			if (cur.err)
				s->errors++;
		}
		if (s->stable != SC_STABLE)
			s->errors++;
		t->errors += s->errors;
		t->scans++;
	}
	masstree_cursor_fini(&cur);
	kfree(s);
}

static int sc_threadfn(void *arg)
{
	struct sc_thread *t = arg;

	wait_for_completion(t->start);
	if (t->id)
		sc_scanner(t);
	else
		sc_writer(t);
	complete(&t->done);
	mtt_park();
	return 0;
}

static void masstree_scan_concurrent_writers_keep_order(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);
	struct completion start;
	struct sc_thread *th;
	unsigned int i, started = 0;
	u8 key[48];

	th = kunit_kcalloc(test, SC_THREADS, sizeof(*th), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, th);
	for (i = 0; i < SC_STABLE; i++) {
		size_t len = sc_ckey(key, i, true);

		KUNIT_ASSERT_EQ(test, masstree_insert(mt, key, len,
						      mtt_entry(i | SC_STABLE_TAG),
						      GFP_KERNEL), 0);
	}
	init_completion(&start);
	for (i = 0; i < SC_THREADS; i++) {
		th[i].mt = mt;
		th[i].start = &start;
		th[i].id = i;
		th[i].deadline = jiffies + msecs_to_jiffies(SC_RUN_MS);
		init_completion(&th[i].done);
		th[i].task = kthread_run(sc_threadfn, &th[i], "masstree_sc/%u", i);
		if (IS_ERR(th[i].task)) {
			KUNIT_FAIL(test, "kthread_run: %ld", PTR_ERR(th[i].task));
			break;
		}
		get_task_struct(th[i].task);
		started++;
	}
	complete_all(&start);
	for (i = 0; i < started; i++) {
		wait_for_completion(&th[i].done);
		kthread_stop(th[i].task);
		put_task_struct(th[i].task);
	}
	for (i = 0; i < started; i++) {
		KUNIT_EXPECT_EQ_MSG(test, th[i].errors, 0UL, "thread %u", i);
		if (i)
			KUNIT_EXPECT_GT_MSG(test, th[i].scans, 1UL, "thread %u", i);
	}
	kunit_info(test, "scans: forward %lu, reverse %lu", th[1].scans, th[2].scans);
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
}

/*
 * Keys of the throughput case; build with KCFLAGS=-DSC_TPUT_KEYS=1000000
 * for the 1M-key figure.
 */
#ifndef SC_TPUT_KEYS
#define SC_TPUT_KEYS	(IS_ENABLED(CONFIG_KCSAN) ? 20000 : 100000)
#endif

/* A sanity figure: keys per second of a full scan each way. */
static void masstree_scan_throughput(struct kunit *test)
{
	unsigned int n = SC_TPUT_KEYS, i, calls;
	struct masstree *mt = mtt_map(test);
	u64 t0, fwd, rev;
	u8 key[8];

	for (i = 0; i < n; i++) {
		mtt_key64(key, (u64)i * 2654435761U);
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, key, 8, mtt_entry(i), GFP_KERNEL), 0);
	}
	calls = 0;
	t0 = ktime_get_ns();
	KUNIT_EXPECT_EQ(test, masstree_scan(mt, NULL, 0, NULL, 0,
					    MASSTREE_SCAN_NO_START | MASSTREE_SCAN_NO_END,
					    sc_never_fn, &calls), 0);
	fwd = ktime_get_ns() - t0;
	KUNIT_EXPECT_EQ(test, calls, n);
	calls = 0;
	t0 = ktime_get_ns();
	KUNIT_EXPECT_EQ(test, masstree_scan(mt, NULL, 0, NULL, 0,
					    MASSTREE_SCAN_NO_START | MASSTREE_SCAN_NO_END |
					    MASSTREE_SCAN_REVERSE, sc_never_fn, &calls), 0);
	rev = ktime_get_ns() - t0;
	KUNIT_EXPECT_EQ(test, calls, n);
	kunit_info(test, "%u keys: forward %llu keys/s, reverse %llu keys/s", n,
		   div64_u64((u64)n * NSEC_PER_SEC, fwd + 1),
		   div64_u64((u64)n * NSEC_PER_SEC, rev + 1));
}

static struct kunit_case masstree_scan_cases[] = {
	KUNIT_CASE(masstree_scan_int64_matches_reference),
	KUNIT_CASE(masstree_scan_rand16_matches_reference),
	KUNIT_CASE(masstree_scan_prefix24_matches_reference),
	KUNIT_CASE(masstree_scan_rand32_matches_reference),
	KUNIT_CASE(masstree_scan_mixed_matches_reference),
	KUNIT_CASE(masstree_scan_empty_map_finds_nothing),
	KUNIT_CASE(masstree_scan_single_key_bounds),
	KUNIT_CASE(masstree_scan_fn_return_stops),
	KUNIT_CASE(masstree_scan_zero_and_max_length_keys),
	KUNIT_CASE(masstree_scan_macros_evaluate_args_once),
	KUNIT_CASE(masstree_cursor_pause_resume_across_erase),
	KUNIT_CASE(masstree_scan_concurrent_writers_keep_order),
	KUNIT_CASE(masstree_scan_throughput),
	{}
};

static struct kunit_suite masstree_scan_suite = {
	.name = "masstree_scan",
	.init = mtt_init,
	.exit = mtt_exit,
	.test_cases = masstree_scan_cases,
};

kunit_test_suite(masstree_scan_suite);

MODULE_DESCRIPTION("KUnit tests of masstree's cursors, range and prefix scans");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
