// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the error paths: an allocation failure at any point of a
 * write leaves the map exactly as it was, erase succeeds whatever fails
 * (its one allocation, a fold's suffix, only keeps layers when it fails),
 * and an insert after masstree_preload() does not fail under a spinlock
 * (nor allocate a node; a short key's suffix buffer is its own size).
 *
 * Allocation failures come from failslab's per-task fail-nth counter
 * (what /proc/self/fail-nth sets): the n-th allocation of this task that
 * may fail does. GFP_KERNEL allocations are exempt by default
 * (ignore-gfp-wait), so the writes here use GFP_NOWAIT | __GFP_NOWARN,
 * which also keeps failslab from printing a stack dump.
 */
#include <kunit/test.h>
#include <linux/masstree.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "faultinject.h"
#include "masstree_test.h"

#define ERR_GFP		(GFP_NOWAIT | __GFP_NOWARN)

/**
 * struct err_case - a map and one insert into it.
 * @name: the situation.
 * @nr_base: keys inserted first (8-byte big-endian 0..nr_base-1, spread).
 * @key_len: length of the inserted key; its first slice is @slice and
 *	every other byte 'z' (so it shares slices with the long base keys).
 * @long_base: the base holds one key of @key_len 'z' bytes after @slice;
 *	the new key differs from it at @diff_at: the whole slices they
 *	share after the first become a span, above a new layer leaf.
 * @slice: first 8 bytes of the new key, as an integer.
 * @diff_at: where the new key differs from the long base key.
 * @must_fail: the insert needs more than the per-CPU preload pool holds,
 *	so failing allocations must be seen.
 * @pair: the base also holds the long base key with its last byte 'x':
 *	a span already leads down to the last slice, and the new key leaves
 *	it mid-way (@diff_at): a new layer there, the span cut in two.
 */
struct err_case {
	const char *name;
	unsigned int nr_base;
	unsigned int key_len;
	bool long_base;
	u64 slice;
	unsigned int diff_at;
	bool must_fail;
	bool pair;
};

static const struct err_case err_cases[] = {
	{ "first key of an empty map", 0, 8, false, 5, 0, false },
	{ "key with a 300-byte suffix", 3, 308, false, 5, 0, true },
	{ "root leaf split", 15, 8, false, 100, 0, false },
	{ "leaf of a two-level tree", 200, 8, false, 1000, 0, false },
	{ "leaf of a three-level tree", 3000, 8, false, 1500, 0, false },
	/* 31 shared slices: a 240-byte span and a leaf (was 31 layers). */
	{ "span of 240 bytes", 10, 250, true, 7, 249, true },
	{ "span of 240 bytes, 300-byte tails", 10, 550, true, 7, 250, true },
	/* A 536-byte span cut at its 37th slice: 288 bytes above, 240 below. */
	{ "span split mid-way", 10, 550, true, 7, 300, true, true },
};

static void err_desc(const struct err_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s", c->name);
}

KUNIT_ARRAY_PARAM(err, err_cases, err_desc);

static void err_key(u8 *key, const struct err_case *c, u64 slice, bool last)
{
	memset(key, 'z', c->key_len);
	mtt_key64(key, slice);
	if (last)
		key[c->diff_at] = 'y';
}

static void err_build(struct kunit *test, struct masstree *mt,
		      const struct err_case *c, u8 *key)
{
	u8 k8[8];
	unsigned int i;

	for (i = 0; i < c->nr_base; i++) {
		/* Even slices: the new key's odd or fresh slice fits between. */
		mtt_key64(k8, 2ULL * i);
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, k8, 8, mtt_entry(i),
						      GFP_KERNEL), 0);
	}
	if (c->long_base) {
		err_key(key, c, c->slice, false);
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, key, c->key_len,
						      mtt_entry(99999), GFP_KERNEL), 0);
	}
	if (c->pair) {
		key[c->key_len - 1] = 'x';
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, key, c->key_len,
						      mtt_entry(99998), GFP_KERNEL), 0);
	}
}

#if IS_ENABLED(CONFIG_FAILSLAB)
/* Arm failslab to fail this task's @n-th allocation from now. */
static void err_fail_nth(unsigned int n)
{
	WRITE_ONCE(current->fail_nth, n);
}

/* Disarm; returns true if the armed failure did not fire. */
static bool err_fail_unused(void)
{
	bool unused = READ_ONCE(current->fail_nth) != 0;

	WRITE_ONCE(current->fail_nth, 0);
	return unused;
}

/*
 * Fail the 1st, 2nd, ... allocation of the insert in turn: each failure
 * must return -ENOMEM with the map exactly as before (statistics, live
 * nodes, validate, the key absent). An attempt may also succeed because
 * the failed allocation was not the map's (kmemleak's or debugobjects'
 * metadata): then the key is erased again and the next one is failed.
 * It ends with the first attempt that fails nothing, which must succeed.
 */
static void masstree_insert_enomem_leaves_map_unchanged(struct kunit *test)
{
	const struct err_case *c = test->param_value;
	struct masstree *mt = mtt_map(test);
	unsigned int n, failures = 0, others = 0;
	struct mtt_snapshot before;
	bool unused = false;
	u8 *key;
	int err = 0;

	key = kunit_kmalloc(test, c->key_len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, key);
	err_build(test, mt, c, key);
	KUNIT_ASSERT_EQ(test, masstree_validate(mt), 0);
	if (c->long_base)
		err_key(key, c, c->slice, true);
	else
		err_key(key, c, c->slice | 1, false);
	mtt_snap(test, mt, &before);

	for (n = 1; n < 2000 && !unused; n++) {
		err_fail_nth(n);
		err = masstree_insert(mt, key, c->key_len, mtt_entry(n), ERR_GFP);
		unused = err_fail_unused();
		if (err == -ENOMEM) {
			failures++;
			KUNIT_EXPECT_NULL(test, masstree_load(mt, key, c->key_len));
			mtt_expect_unchanged(test, mt, &before);
			continue;
		}
		KUNIT_ASSERT_EQ_MSG(test, err, 0, "attempt %u", n);
		KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, key, c->key_len),
				    mtt_entry(n));
		KUNIT_ASSERT_EQ(test, masstree_validate(mt), 0);
		if (unused)
			break;
		/* Start again from the same map: erase keeps layers. */
		others++;
		masstree_destroy(mt);
		err_build(test, mt, c, key);
		if (c->long_base)
			err_key(key, c, c->slice, true);
		mtt_snap(test, mt, &before);
	}
	kunit_info(test, "%u attempts: %u failed with -ENOMEM, %u failed elsewhere",
		   n, failures, others);
	KUNIT_EXPECT_TRUE(test, unused);
	if (c->must_fail)
		KUNIT_EXPECT_GT(test, failures, 0U);
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
}

/* store and cmpxchg report -ENOMEM through the error channel. */
static void masstree_store_cmpxchg_enomem_is_err(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);
	static u8 key[400];
	void *ret;

	memset(key, 'q', sizeof(key));
	err_fail_nth(1);
	ret = masstree_store(mt, key, sizeof(key), mtt_entry(1), ERR_GFP);
	err_fail_unused();
	KUNIT_EXPECT_TRUE(test, masstree_is_err(ret));
	KUNIT_EXPECT_EQ(test, masstree_err(ret), -ENOMEM);
	err_fail_nth(1);
	ret = masstree_cmpxchg(mt, key, sizeof(key), NULL, mtt_entry(1), ERR_GFP);
	err_fail_unused();
	KUNIT_EXPECT_EQ(test, masstree_err(ret), -ENOMEM);
	mtt_expect_empty(test, mt);
	/* Replacing an entry needs no memory. */
	KUNIT_ASSERT_NULL(test, masstree_store(mt, key, sizeof(key), mtt_entry(1),
					       GFP_KERNEL));
	err_fail_nth(1);
	ret = masstree_store(mt, key, sizeof(key), mtt_entry(2), ERR_GFP);
	KUNIT_EXPECT_TRUE(test, err_fail_unused());
	KUNIT_EXPECT_PTR_EQ(test, ret, mtt_entry(1));
}

/*
 * Erase, layers and leaves collapsing included, succeeds while every
 * allocation fails. (Whether it allocates at all cannot be told here:
 * debugobjects allocates behind call_rcu() in this task.)
 */
static void masstree_erase_succeeds_when_allocations_fail(struct kunit *test)
{
	static const struct err_case c = { "", 0, 250, true, 7, 249, true };
	struct masstree *mt = mtt_map(test);
	unsigned int i, bad = 0;
	void *got;
	u8 *key;

	key = kunit_kmalloc(test, c.key_len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, key);
	for (i = 0; i < 500; i++) {
		err_key(key, &c, i, false);
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, key, i % 2 ? 8 : c.key_len,
						      mtt_entry(i), GFP_KERNEL), 0);
	}
	err_key(key, &c, 0, true);
	KUNIT_ASSERT_EQ(test, masstree_insert(mt, key, c.key_len, mtt_entry(1000),
					      GFP_KERNEL), 0);
	err_fail_nth(1);
	got = masstree_erase(mt, key, c.key_len);
	err_fail_unused();
	KUNIT_EXPECT_PTR_EQ(test, got, mtt_entry(1000));
	for (i = 0; i < 500; i++) {
		err_key(key, &c, i, false);
		err_fail_nth(1);
		got = masstree_erase(mt, key, i % 2 ? 8 : c.key_len);
		err_fail_unused();
		if (got != mtt_entry(i) && !bad++)
			KUNIT_FAIL(test, "erase %u returned %#lx", i,
				   (unsigned long)got);
	}
	KUNIT_EXPECT_EQ(test, bad, 0U);
	mtt_expect_all_freed(test);
}
#else
static void masstree_insert_enomem_leaves_map_unchanged(struct kunit *test)
{
	kunit_skip(test, "needs CONFIG_FAILSLAB");
}

static void masstree_store_cmpxchg_enomem_is_err(struct kunit *test)
{
	kunit_skip(test, "needs CONFIG_FAILSLAB");
}

static void masstree_erase_succeeds_when_allocations_fail(struct kunit *test)
{
	kunit_skip(test, "needs CONFIG_FAILSLAB");
}
#endif

static DEFINE_SPINLOCK(err_lock);

/*
 * After masstree_preload(GFP_KERNEL), inserts under a spinlock with
 * GFP_NOWAIT succeed, splits and new layers included. With fault injection
 * armed they also prove what they allocate: never a node (those come from
 * the preload), at most a suffix buffer of the key's size, and when that
 * fails (the 1st or 2nd allocation is made to fail) the preloaded buffer.
 */
static void masstree_preload_insert_under_spinlock(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);
	unsigned int i, bad = 0;
	unsigned long node_hits;
	u8 key[40];
	int err;

	/*
	 * The pools' suffix buffers count as live, and the test may move to
	 * another CPU and fill its pool: count with every pool empty, at the
	 * start and at the end (no other writer runs).
	 */
	mst_preload_drain();
	mtt_settled_nodes(&((struct mtt_fixture *)test->priv)->nodes);

	node_hits = masstree_fail_hits(MST_FAIL_NODE);
	memset(key, 'w', sizeof(key));
	for (i = 0; i < 1500; i++) {
		/* Odd i: 40-byte keys sharing 24 bytes (a span, a layer). */
		mtt_key64(key + (i % 2 ? 24 : 0), i);
		KUNIT_ASSERT_EQ(test, masstree_preload(GFP_KERNEL), 0);
		spin_lock(&err_lock);
#if IS_ENABLED(CONFIG_FAILSLAB)
		err_fail_nth(1 + (i / 2) % 2);
#endif
		err = masstree_insert(mt, key, i % 2 ? 40 : 8, mtt_entry(i), ERR_GFP);
#if IS_ENABLED(CONFIG_FAILSLAB)
		err_fail_unused();
#endif
		spin_unlock(&err_lock);
		masstree_preload_end();
		if (masstree_fail_hits(MST_FAIL_NODE) != node_hits && !bad++)
			KUNIT_FAIL(test, "insert %u allocated a node after preload", i);
		if (err && !bad++)
			KUNIT_FAIL(test, "insert %u: %d", i, err);
		memset(key, 'w', sizeof(key));
	}
	KUNIT_EXPECT_EQ(test, bad, 0U);
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
	for (i = 0; i < 1500; i++) {
		mtt_key64(key + (i % 2 ? 24 : 0), i);
		KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, key, i % 2 ? 40 : 8),
				    mtt_entry(i));
		memset(key, 'w', sizeof(key));
	}
	mst_preload_drain();
	mtt_expect_all_freed(test);
}

/*
 * A preloaded write of a short key keeps a suffix buffer of its own size,
 * not the preload's big spare, which only covers a failed allocation: a
 * key would otherwise pin up to 30 times its tail for its whole life.
 * (24 bytes: a key of up to 16 needs no suffix, its leaf's bag holds it.)
 */
static void masstree_preload_short_key_keeps_small_suffix(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);
	unsigned long before;

	/*
	 * The pools' suffix buffers count as live, and the test may move to
	 * another CPU and fill its pool: count with every pool empty, at the
	 * start and at the end (no other writer runs).
	 */
	mst_preload_drain();
	mtt_settled_nodes(&((struct mtt_fixture *)test->priv)->nodes);

	/* Different first slices: each insert below adds only its suffix. */
	KUNIT_ASSERT_EQ(test, masstree_insert(mt, "root-key", 8, mtt_entry(0),
					      GFP_KERNEL), 0);
	before = masstree_bytes(mt);
	KUNIT_ASSERT_EQ(test, masstree_preload(GFP_KERNEL), 0);
	spin_lock(&err_lock);
	KUNIT_EXPECT_EQ(test, masstree_insert(mt, "preloadAa-suffix-24bytes", 24,
					      mtt_entry(1), ERR_GFP), 0);
	spin_unlock(&err_lock);
	masstree_preload_end();
	KUNIT_EXPECT_EQ(test, masstree_bytes(mt) - before,
			(unsigned long)mst_suffix_bytes(16));

#if IS_ENABLED(CONFIG_FAILSLAB)
	/* Its allocation failing, the spare serves: bigger, but no -ENOMEM. */
	before = masstree_bytes(mt);
	KUNIT_ASSERT_EQ(test, masstree_preload(GFP_KERNEL), 0);
	spin_lock(&err_lock);
	err_fail_nth(1);
	KUNIT_EXPECT_EQ(test, masstree_insert(mt, "preloadBb-suffix-24bytes", 24,
					      mtt_entry(2), ERR_GFP), 0);
	KUNIT_EXPECT_FALSE(test, err_fail_unused());
	spin_unlock(&err_lock);
	masstree_preload_end();
	KUNIT_EXPECT_GT(test, masstree_bytes(mt) - before,
			(unsigned long)mst_suffix_bytes(16));
	KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, "preloadBb-suffix-24bytes", 24),
			    mtt_entry(2));
#endif
	KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, "preloadAa-suffix-24bytes", 24),
			    mtt_entry(1));
	KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, "root-key", 8), mtt_entry(0));
	/* The preloads filled a pool the fixture's count may not hold. */
	mst_preload_drain();
	mtt_expect_all_freed(test);
}

static struct kunit_case masstree_errors_cases[] = {
	KUNIT_CASE_PARAM(masstree_insert_enomem_leaves_map_unchanged, err_gen_params),
	KUNIT_CASE(masstree_store_cmpxchg_enomem_is_err),
	KUNIT_CASE(masstree_erase_succeeds_when_allocations_fail),
	KUNIT_CASE(masstree_preload_insert_under_spinlock),
	KUNIT_CASE(masstree_preload_short_key_keeps_small_suffix),
	{}
};

static struct kunit_suite masstree_errors_suite = {
	.name = "masstree_errors",
	.init = mtt_init,
	.exit = mtt_exit,
	.test_cases = masstree_errors_cases,
};

kunit_test_suite(masstree_errors_suite);

MODULE_DESCRIPTION("KUnit tests of masstree's error paths and preload");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
