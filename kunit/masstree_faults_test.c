// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of allocation failures through masstree's Nth-allocation
 * hook (masstree/faultinject.c, test kernels only: the fault_attr
 * fail_masstree programmed for the calling task, or a private countdown
 * without CONFIG_FAULT_INJECTION). Unlike failslab it counts only
 * masstree's allocations, GFP_KERNEL ones included, so every attempt is
 * deterministic: the Nth allocation of the write fails, the write returns
 * -ENOMEM and the map is exactly as before (same keys and entries in the
 * same order, same statistics, same live nodes, valid), until N passes
 * the number of allocations the write makes and it succeeds. Each case
 * also proves that the allocation sites it aims at really failed; two
 * more check the site mask and the kernel's per-task fail-nth.
 */
#include <kunit/test.h>
#include <linux/masstree.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "faultinject.h"
#include "internal.h"
#include "masstree_test.h"

/* Attempts per write before the test gives up on it succeeding. */
#define FLT_MAX_ATTEMPTS	200

/**
 * struct flt_case - a map and one key to write into it.
 * @name: the situation.
 * @nr_base: 8-byte keys inserted first (even integers 0, 2, 4, ...).
 * @key_len: length of the written key: its first 8 bytes are the odd
 *	integer 5, the rest 'z'.
 * @twin: the base also holds the written key with its last byte 'y':
 *	writing it builds a span of the whole slices they share after the
 *	first, and one layer leaf below it.
 * @split: if non-zero, the base also holds the twin with its last byte
 *	'x' (a span down to the last slice) and the written key has 'y' at
 *	this byte: it leaves the span there, which is cut in two around a
 *	new layer.
 * @allocates: the write must allocate: it needs more nodes or a longer
 *	suffix than the per-CPU preload pool may hold (a write takes from
 *	the pool first, and a leaf with room needs nothing).
 * @drain: empty the per-CPU pools before each attempt, so that the write
 *	allocates its nodes too and their failures are seen: a span keeps
 *	a new layer to one leaf, which the pool would otherwise cover (a
 *	chain of layers needed more nodes than it holds).
 */
struct flt_case {
	const char *name;
	unsigned int nr_base;
	unsigned int key_len;
	bool twin;
	bool allocates;
	unsigned int split;
	bool drain;
};

static const struct flt_case flt_cases[] = {
	{ "first key of an empty map", 0, 8, false, false },
	{ "key with a 300-byte suffix", 3, 308, false, true },
	{ "root leaf split", 15, 8, false, false },
	{ "leaf of a three-level tree", 3000, 8, false, false },
	/* 31 and 68 shared slices: a span and a leaf (were 31, 68 layers). */
	{ "span of 240 bytes", 10, 250, true, true, 0, true },
	{ "span of 536 bytes", 10, 550, true, true, 0, true },
	/* That span cut at its 37th slice: 288 bytes above, 240 below. */
	{ "span split mid-way", 10, 550, true, true, 300, true },
};

static void flt_desc(const struct flt_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s", c->name);
}

KUNIT_ARRAY_PARAM(flt, flt_cases, flt_desc);

static void flt_key(u8 *key, const struct flt_case *c, bool twin)
{
	memset(key, 'z', c->key_len);
	mtt_key64(key, 5);
	if (twin)
		key[c->key_len - 1] = 'y';
}

static void flt_build(struct kunit *test, struct masstree *mt,
		      const struct flt_case *c, u8 *key)
{
	unsigned int i;
	u8 k8[8];

	for (i = 0; i < c->nr_base; i++) {
		mtt_key64(k8, 2ULL * i);
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, k8, 8, mtt_entry(i),
						      GFP_KERNEL), 0);
	}
	if (c->twin) {
		flt_key(key, c, true);
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, key, c->key_len,
						      mtt_entry(99999), GFP_KERNEL), 0);
	}
	if (c->split) {
		key[c->key_len - 1] = 'x';
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, key, c->key_len,
						      mtt_entry(99998), GFP_KERNEL), 0);
	}
	flt_key(key, c, false);
	if (c->split)
		key[c->split] = 'y';
}

enum flt_write { FLT_INSERT, FLT_STORE, FLT_CMPXCHG };

static int flt_do(struct masstree *mt, enum flt_write how, const u8 *key,
		  size_t len, void *entry)
{
	void *ret;

	switch (how) {
	case FLT_INSERT:
		return masstree_insert(mt, key, len, entry, GFP_KERNEL);
	case FLT_STORE:
		ret = masstree_store(mt, key, len, entry, GFP_KERNEL);
		break;
	default:
		ret = masstree_cmpxchg(mt, key, len, NULL, entry, GFP_KERNEL);
		break;
	}
	if (masstree_is_err(ret))
		return masstree_err(ret);
	return ret ? -EEXIST : 0;
}

/*
 * Fail the write's 1st, 2nd, ... allocation until it makes no more:
 * returns how many attempts failed with -ENOMEM.
 */
static unsigned int flt_every_nth(struct kunit *test, struct masstree *mt,
				  enum flt_write how, const u8 *key, size_t len,
				  bool drain)
{
	unsigned int n, failures = 0;
	struct mtt_snapshot before;
	bool injected = true;
	int err;

	mtt_snap(test, mt, &before);
	for (n = 1; n <= FLT_MAX_ATTEMPTS && injected; n++) {
		/* No writer runs: this test's map is the only one. */
		if (drain)
			mst_preload_drain();
		masstree_fail_nth(n);
		err = flt_do(mt, how, key, len, mtt_entry(n));
		injected = masstree_fail_nth_left() == 0;
		masstree_fail_nth(0);
		if (injected) {
			KUNIT_ASSERT_EQ_MSG(test, err, -ENOMEM, "attempt %u", n);
			KUNIT_EXPECT_NULL(test, masstree_load(mt, key, len));
			mtt_expect_unchanged(test, mt, &before);
			failures++;
			continue;
		}
		KUNIT_ASSERT_EQ_MSG(test, err, 0, "attempt %u", n);
		KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, key, len),
				    mtt_entry(n));
	}
	KUNIT_EXPECT_FALSE_MSG(test, injected, "still failing after %u attempts",
			       FLT_MAX_ATTEMPTS);
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
	return failures;
}

static void masstree_insert_fails_cleanly_at_every_allocation(struct kunit *test)
{
	const struct flt_case *c = test->param_value;
	struct masstree *mt = mtt_map(test);
	unsigned long node_hits = masstree_fail_hits(MST_FAIL_NODE);
	unsigned int failures;
	u8 *key;

	key = kunit_kmalloc(test, c->key_len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, key);
	flt_build(test, mt, c, key);
	failures = flt_every_nth(test, mt, FLT_INSERT, key, c->key_len, c->drain);
	if (c->allocates)
		KUNIT_EXPECT_GT(test, failures, 0U);
	/* The new layer's leaf was allocated, and failed once. */
	if (c->drain)
		KUNIT_EXPECT_GT(test, masstree_fail_hits(MST_FAIL_NODE), node_hits);
}

/*
 * store and cmpxchg (insert if absent) build the same span, layer and
 * suffix, and cut a span the same way. Each starts from a fresh map.
 */
static void masstree_store_cmpxchg_fail_cleanly_at_every_allocation(struct kunit *test)
{
	static const enum flt_write hows[] = { FLT_STORE, FLT_CMPXCHG };
	const struct flt_case *c = &flt_cases[1];
	const struct flt_case *chain = &flt_cases[4];
	const struct flt_case *split = &flt_cases[6];
	struct masstree *mt = mtt_map(test);
	unsigned int i;
	u8 *key;

	key = kunit_kmalloc(test, max(c->key_len, split->key_len), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, key);
	for (i = 0; i < ARRAY_SIZE(hows); i++) {
		flt_build(test, mt, c, key);
		KUNIT_EXPECT_GT(test, flt_every_nth(test, mt, hows[i], key,
						    c->key_len, c->drain), 0U);
		masstree_destroy(mt);
		flt_build(test, mt, chain, key);
		KUNIT_EXPECT_GT(test, flt_every_nth(test, mt, hows[i], key,
						    chain->key_len, chain->drain), 0U);
		masstree_destroy(mt);
		flt_build(test, mt, split, key);
		KUNIT_EXPECT_GT(test, flt_every_nth(test, mt, hows[i], key,
						    split->key_len, split->drain), 0U);
		masstree_destroy(mt);
	}
}

static int flt_count_one(const void *key, size_t len, void *entry, void *arg)
{
	(*(unsigned int *)arg)++;
	return 0;
}

/*
 * Keys longer than a cursor's inline buffer make it grow: a failure there
 * ends a scan or a cursor walk with -ENOMEM, and the next try works.
 */
static void masstree_cursor_growth_failure_ends_iteration(struct kunit *test)
{
	unsigned long hits = masstree_fail_hits(MST_FAIL_CURSOR);
	struct masstree *mt = mtt_map(test);
	struct masstree_cursor cur;
	unsigned int i, seen = 0;
	u8 key[200];
	void *entry;

	memset(key, 'c', sizeof(key));
	for (i = 0; i < 10; i++) {
		mtt_key64(key, i);
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, key, sizeof(key),
						      mtt_entry(i), GFP_KERNEL), 0);
	}
	masstree_fail_nth(1);
	KUNIT_EXPECT_EQ(test, masstree_scan(mt, NULL, 0, NULL, 0,
					    MASSTREE_SCAN_NO_START | MASSTREE_SCAN_NO_END,
					    flt_count_one, &seen), -ENOMEM);
	KUNIT_EXPECT_EQ(test, masstree_fail_nth_left(), 0U);
	KUNIT_EXPECT_EQ(test, seen, 0U);

	masstree_cursor_init(&cur, mt, GFP_KERNEL);
	masstree_fail_nth(1);
	KUNIT_EXPECT_NULL(test, masstree_first(&cur));
	KUNIT_EXPECT_EQ(test, cur.err, -ENOMEM);
	masstree_cursor_fini(&cur);
	masstree_fail_nth(0);

	masstree_cursor_init(&cur, mt, GFP_KERNEL);
	masstree_for_each(mt, &cur, entry)
		seen++;
	KUNIT_EXPECT_EQ(test, cur.err, 0);
	masstree_cursor_fini(&cur);
	KUNIT_EXPECT_EQ(test, seen, 10U);
	KUNIT_EXPECT_GE(test, masstree_fail_hits(MST_FAIL_CURSOR), hits + 2);
}

/*
 * The suffix of a long key into a leaf with room is the write's only
 * allocation: with the suffix site masked out nothing fails and the
 * countdown is left as it was; with it let in, that allocation fails.
 */
static void masstree_fault_site_mask_filters(struct kunit *test)
{
	const struct flt_case *c = &flt_cases[1];
	unsigned long hits = masstree_fail_hits(MST_FAIL_SUFFIX);
	struct masstree *mt = mtt_map(test);
	unsigned int left;
	u32 old;
	u8 *key;
	int err;

	key = kunit_kmalloc(test, c->key_len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, key);
	flt_build(test, mt, c, key);

	old = masstree_fail_sites(~(u32)BIT(MST_FAIL_SUFFIX));
	masstree_fail_nth(1);
	err = masstree_insert(mt, key, c->key_len, mtt_entry(1), GFP_KERNEL);
	left = masstree_fail_nth_left();
	masstree_fail_nth(0);
	masstree_fail_sites(old);
	KUNIT_EXPECT_EQ(test, err, 0);
	KUNIT_EXPECT_EQ(test, left, 1U);
	KUNIT_EXPECT_EQ(test, masstree_fail_hits(MST_FAIL_SUFFIX), hits);
	KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, key, c->key_len), mtt_entry(1));

	old = masstree_fail_sites(BIT(MST_FAIL_SUFFIX));
	masstree_fail_nth(1);
	err = masstree_insert(mt, key, c->key_len, mtt_entry(2), GFP_KERNEL);
	left = masstree_fail_nth_left();
	masstree_fail_nth(0);
	masstree_fail_sites(old);
	KUNIT_EXPECT_EQ(test, err, -ENOMEM);
	KUNIT_EXPECT_EQ(test, left, 0U);
	KUNIT_EXPECT_EQ(test, masstree_fail_hits(MST_FAIL_SUFFIX), hits + 1);
	KUNIT_EXPECT_NULL(test, masstree_load(mt, key, c->key_len));
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
}

/*
 * The kernel's per-task fail-nth (what /proc/self/task/TID/fail-nth
 * writes) reaches masstree's own sites: the suffix allocation is the first
 * fault point of the write, GFP_KERNEL though it is (failslab skips those
 * by default).
 */
static void masstree_task_fail_nth_reaches_sites(struct kunit *test)
{
#ifdef CONFIG_FAULT_INJECTION
	const struct flt_case *c = &flt_cases[1];
	unsigned long hits = masstree_fail_hits(MST_FAIL_SUFFIX);
	struct masstree *mt = mtt_map(test);
	unsigned int left;
	u8 *key;
	int err;

	key = kunit_kmalloc(test, c->key_len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, key);
	flt_build(test, mt, c, key);

	WRITE_ONCE(current->fail_nth, 1);
	err = masstree_insert(mt, key, c->key_len, mtt_entry(1), GFP_KERNEL);
	left = READ_ONCE(current->fail_nth);
	WRITE_ONCE(current->fail_nth, 0);
	KUNIT_EXPECT_EQ(test, err, -ENOMEM);
	KUNIT_EXPECT_EQ(test, left, 0U);
	KUNIT_EXPECT_EQ(test, masstree_fail_hits(MST_FAIL_SUFFIX), hits + 1);
	KUNIT_EXPECT_NULL(test, masstree_load(mt, key, c->key_len));
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
#else
	kunit_skip(test, "needs CONFIG_FAULT_INJECTION");
#endif
}

/* Runs last: the cases above failed every allocation site of the core. */
static void masstree_fault_every_core_site_failed(struct kunit *test)
{
	KUNIT_EXPECT_GT(test, masstree_fail_hits(MST_FAIL_NODE), 0UL);
	KUNIT_EXPECT_GT(test, masstree_fail_hits(MST_FAIL_SUFFIX), 0UL);
	KUNIT_EXPECT_GT(test, masstree_fail_hits(MST_FAIL_CURSOR), 0UL);
}

static struct kunit_case masstree_faults_cases[] = {
	KUNIT_CASE_PARAM(masstree_insert_fails_cleanly_at_every_allocation,
			 flt_gen_params),
	KUNIT_CASE(masstree_store_cmpxchg_fail_cleanly_at_every_allocation),
	KUNIT_CASE(masstree_cursor_growth_failure_ends_iteration),
	KUNIT_CASE(masstree_fault_site_mask_filters),
	KUNIT_CASE(masstree_task_fail_nth_reaches_sites),
	KUNIT_CASE(masstree_fault_every_core_site_failed),
	{}
};

static struct kunit_suite masstree_faults_suite = {
	.name = "masstree_faults",
	.init = mtt_init,
	.exit = mtt_exit,
	.test_cases = masstree_faults_cases,
};

kunit_test_suite(masstree_faults_suite);

MODULE_DESCRIPTION("KUnit tests of masstree's allocation failure paths (fault injection)");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
