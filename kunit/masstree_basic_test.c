// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the map operations one at a time: insert, store, cmpxchg,
 * erase and load, the entries they refuse, splits, and giving every node
 * back after erase and destroy.
 */
#include <kunit/test.h>
#include <linux/masstree.h>
#include <linux/module.h>
#include <linux/prandom.h>
#include <linux/slab.h>

#include "masstree_test.h"

static const u8 basic_key[] = "basic key";
#define BKLEN	sizeof(basic_key)

static void masstree_insert_absent_then_eexist(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);

	KUNIT_EXPECT_EQ(test, masstree_insert(mt, basic_key, BKLEN, mtt_entry(1), GFP_KERNEL), 0);
	KUNIT_EXPECT_EQ(test, masstree_insert(mt, basic_key, BKLEN, mtt_entry(2), GFP_KERNEL),
			-EEXIST);
	KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, basic_key, BKLEN), mtt_entry(1));
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
	KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, basic_key, BKLEN), mtt_entry(1));
	mtt_expect_all_freed(test);
}

static void masstree_load_empty_map_returns_null(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);

	KUNIT_EXPECT_NULL(test, masstree_load(mt, basic_key, BKLEN));
	rcu_read_lock();
	KUNIT_EXPECT_NULL(test, __masstree_load(mt, basic_key, BKLEN));
	rcu_read_unlock();
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
}

static void __masstree_load_under_rcu_finds_entry(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);

	KUNIT_ASSERT_EQ(test, masstree_insert(mt, basic_key, BKLEN, mtt_entry(3), GFP_KERNEL), 0);
	rcu_read_lock();
	KUNIT_EXPECT_PTR_EQ(test, __masstree_load(mt, basic_key, BKLEN), mtt_entry(3));
	rcu_read_unlock();
}

static void masstree_store_returns_old_entry(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);

	KUNIT_EXPECT_NULL(test, masstree_store(mt, basic_key, BKLEN, mtt_entry(1), GFP_KERNEL));
	KUNIT_EXPECT_PTR_EQ(test, masstree_store(mt, basic_key, BKLEN, mtt_entry(2), GFP_KERNEL),
			    mtt_entry(1));
	KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, basic_key, BKLEN), mtt_entry(2));
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
}

static void masstree_store_null_erases(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);

	KUNIT_EXPECT_NULL(test, masstree_store(mt, basic_key, BKLEN, NULL, GFP_KERNEL));
	mtt_expect_empty(test, mt);
	KUNIT_ASSERT_EQ(test, masstree_insert(mt, basic_key, BKLEN, mtt_entry(5), GFP_KERNEL), 0);
	KUNIT_EXPECT_PTR_EQ(test, masstree_store(mt, basic_key, BKLEN, NULL, GFP_KERNEL),
			    mtt_entry(5));
	KUNIT_EXPECT_NULL(test, masstree_load(mt, basic_key, BKLEN));
	mtt_expect_all_freed(test);
}

static void masstree_cmpxchg_null_old_inserts_if_absent(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);

	KUNIT_EXPECT_NULL(test, masstree_cmpxchg(mt, basic_key, BKLEN, NULL, mtt_entry(1),
						 GFP_KERNEL));
	KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, basic_key, BKLEN), mtt_entry(1));
	/* Present: nothing happens, the current entry comes back. */
	KUNIT_EXPECT_PTR_EQ(test, masstree_cmpxchg(mt, basic_key, BKLEN, NULL, mtt_entry(2),
						   GFP_KERNEL), mtt_entry(1));
	KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, basic_key, BKLEN), mtt_entry(1));
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
}

static void masstree_cmpxchg_null_new_erases_if_equal(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);

	KUNIT_ASSERT_EQ(test, masstree_insert(mt, basic_key, BKLEN, mtt_entry(1), GFP_KERNEL), 0);
	KUNIT_EXPECT_PTR_EQ(test, masstree_cmpxchg(mt, basic_key, BKLEN, mtt_entry(2), NULL,
						   GFP_KERNEL), mtt_entry(1));
	KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, basic_key, BKLEN), mtt_entry(1));
	KUNIT_EXPECT_PTR_EQ(test, masstree_cmpxchg(mt, basic_key, BKLEN, mtt_entry(1), NULL,
						   GFP_KERNEL), mtt_entry(1));
	KUNIT_EXPECT_NULL(test, masstree_load(mt, basic_key, BKLEN));
	mtt_expect_all_freed(test);
}

static void masstree_cmpxchg_mismatch_returns_current(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);

	/* Absent and old != NULL: no insert. */
	KUNIT_EXPECT_NULL(test, masstree_cmpxchg(mt, basic_key, BKLEN, mtt_entry(1),
						 mtt_entry(2), GFP_KERNEL));
	KUNIT_EXPECT_NULL(test, masstree_load(mt, basic_key, BKLEN));
	mtt_expect_empty(test, mt);

	KUNIT_ASSERT_EQ(test, masstree_insert(mt, basic_key, BKLEN, mtt_entry(1), GFP_KERNEL), 0);
	KUNIT_EXPECT_PTR_EQ(test, masstree_cmpxchg(mt, basic_key, BKLEN, mtt_entry(7),
						   mtt_entry(2), GFP_KERNEL),
			    mtt_entry(1));
	KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, basic_key, BKLEN), mtt_entry(1));
	KUNIT_EXPECT_PTR_EQ(test, masstree_cmpxchg(mt, basic_key, BKLEN, mtt_entry(1),
						   mtt_entry(2), GFP_KERNEL),
			    mtt_entry(1));
	KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, basic_key, BKLEN), mtt_entry(2));
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
}

static void masstree_erase_returns_entry_or_null(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);

	KUNIT_EXPECT_NULL(test, masstree_erase(mt, basic_key, BKLEN));
	KUNIT_ASSERT_EQ(test, masstree_insert(mt, basic_key, BKLEN, mtt_entry(9), GFP_KERNEL), 0);
	KUNIT_EXPECT_NULL(test, masstree_erase(mt, basic_key, 3));
	KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, basic_key, BKLEN), mtt_entry(9));
	KUNIT_EXPECT_NULL(test, masstree_erase(mt, basic_key, BKLEN));
	mtt_expect_all_freed(test);
}

static void masstree_null_key_of_length_zero(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);

	KUNIT_EXPECT_EQ(test, masstree_insert(mt, NULL, 0, mtt_entry(4), GFP_KERNEL), 0);
	KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, NULL, 0), mtt_entry(4));
	KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, "", 0), mtt_entry(4));
	KUNIT_EXPECT_NULL(test, masstree_load(mt, "\0", 1));
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
	KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, NULL, 0), mtt_entry(4));
	mtt_expect_all_freed(test);
}

/* Reserved values: the two low bits 0b10, errors included. */
static const unsigned long reserved_entries[] = {
	2, 6, 0x1002, ~0UL - 1, (unsigned long)-EINVAL << 2 | 2,
};

static void reserved_desc(const unsigned long *v, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "entry %#lx", *v);
}

KUNIT_ARRAY_PARAM(reserved, reserved_entries, reserved_desc);

static void masstree_reserved_entry_rejected(struct kunit *test)
{
	void *bad = (void *)*(const unsigned long *)test->param_value;
	struct masstree *mt = mtt_map(test);
	struct masstree_stats before, after;

	KUNIT_ASSERT_TRUE(test, masstree_is_reserved(bad));
	KUNIT_ASSERT_EQ(test, masstree_insert(mt, "x", 1, mtt_entry(1), GFP_KERNEL), 0);
	masstree_get_stats(mt, &before);

	KUNIT_EXPECT_EQ(test, masstree_insert(mt, basic_key, BKLEN, bad, GFP_KERNEL), -EINVAL);
	KUNIT_EXPECT_EQ(test, masstree_err(masstree_store(mt, basic_key, BKLEN, bad, GFP_KERNEL)),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, masstree_err(masstree_store(mt, "x", 1, bad, GFP_KERNEL)),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, masstree_err(masstree_cmpxchg(mt, basic_key, BKLEN, NULL, bad,
							    GFP_KERNEL)), -EINVAL);
	KUNIT_EXPECT_EQ(test, masstree_err(masstree_cmpxchg(mt, "x", 1, bad,
							    mtt_entry(2), GFP_KERNEL)),
			-EINVAL);
	KUNIT_EXPECT_NULL(test, masstree_load(mt, basic_key, BKLEN));
	KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, "x", 1), mtt_entry(1));
	masstree_get_stats(mt, &after);
	KUNIT_EXPECT_EQ(test, after.keys, before.keys);
	KUNIT_EXPECT_EQ(test, after.bytes, before.bytes);
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
}

static void masstree_insert_null_entry_rejected(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);

	KUNIT_EXPECT_EQ(test, masstree_insert(mt, basic_key, BKLEN, NULL, GFP_KERNEL), -EINVAL);
	mtt_expect_empty(test, mt);
}

static void masstree_error_channel_roundtrip(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, masstree_is_err(masstree_mk_err(-ENOMEM)));
	KUNIT_EXPECT_EQ(test, masstree_err(masstree_mk_err(-ENOMEM)), -ENOMEM);
	KUNIT_EXPECT_EQ(test, masstree_err(masstree_mk_err(-EINVAL)), -EINVAL);
	KUNIT_EXPECT_FALSE(test, masstree_is_err(NULL));
	KUNIT_EXPECT_FALSE(test, masstree_is_err(mtt_entry(12345)));
	KUNIT_EXPECT_EQ(test, masstree_err(mtt_entry(1)), 0);
}

enum split_order { SPLIT_ASCENDING, SPLIT_DESCENDING, SPLIT_RANDOM };

struct split_case {
	const char *name;
	enum split_order order;
	unsigned int nkeys;
	unsigned int keylen;	/* 8: a bare integer; more: a common tail */
};

static const struct split_case split_cases[] = {
	{ "ascending 8-byte", SPLIT_ASCENDING, 4000, 8 },
	{ "descending 8-byte", SPLIT_DESCENDING, 4000, 8 },
	{ "random 8-byte", SPLIT_RANDOM, 4000, 8 },
	{ "ascending 20-byte", SPLIT_ASCENDING, 3000, 20 },
	{ "random 20-byte", SPLIT_RANDOM, 3000, 20 },
};

static void split_desc(const struct split_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s x%u", c->name, c->nkeys);
}

KUNIT_ARRAY_PARAM(split, split_cases, split_desc);

/* The i-th key of the order: integers 0..n-1, permuted. */
static u32 *split_order_make(struct kunit *test, const struct split_case *c)
{
	u32 *ord = kunit_kmalloc_array(test, c->nkeys, sizeof(*ord), GFP_KERNEL);
	struct rnd_state rnd;
	unsigned int i;

	if (!ord)
		return NULL;
	for (i = 0; i < c->nkeys; i++)
		ord[i] = c->order == SPLIT_DESCENDING ? c->nkeys - 1 - i : i;
	if (c->order == SPLIT_RANDOM) {
		prandom_seed_state(&rnd, 0x5eed);
		for (i = c->nkeys - 1; i > 0; i--) {
			u32 j = prandom_u32_state(&rnd) % (i + 1);

			swap(ord[i], ord[j]);
		}
	}
	return ord;
}

static void split_key(u8 *key, const struct split_case *c, u32 v)
{
	unsigned int i;

	/* Spread the integers so that separators are not all small. */
	mtt_key64(key, (u64)v * 0x9e3779b97f4aULL);
	for (i = 8; i < c->keylen; i++)
		key[i] = 'a' + i;
}

static void masstree_insert_splits_then_erase_all(struct kunit *test)
{
	const struct split_case *c = test->param_value;
	struct masstree *mt = mtt_map(test);
	struct masstree_stats st;
	unsigned int i, bad = 0;
	u8 key[32];
	u32 *ord;

	ord = split_order_make(test, c);
	KUNIT_ASSERT_NOT_NULL(test, ord);
	for (i = 0; i < c->nkeys; i++) {
		int err;

		split_key(key, c, ord[i]);
		err = masstree_insert(mt, key, c->keylen, mtt_entry(ord[i]),
				      GFP_KERNEL);
		if (err && !bad++)
			KUNIT_FAIL(test, "insert #%u (key %u): %d", i, ord[i], err);
		if (i % 500 == 0)
			cond_resched();
	}
	KUNIT_ASSERT_EQ(test, bad, 0U);
	KUNIT_ASSERT_EQ(test, masstree_validate(mt), 0);
	masstree_get_stats(mt, &st);
	KUNIT_EXPECT_EQ(test, st.keys, (unsigned long)c->nkeys);
	KUNIT_EXPECT_GE(test, st.height, 3UL);
	KUNIT_EXPECT_GE(test, st.leaves, (unsigned long)c->nkeys / MST_NODE_WIDTH);
	KUNIT_EXPECT_EQ(test, st.layers, 1UL);

	for (i = 0; i < c->nkeys; i++) {
		split_key(key, c, i);
		if (masstree_load(mt, key, c->keylen) != mtt_entry(i) && !bad++)
			KUNIT_FAIL(test, "key %u not found", i);
	}

	/* Erase in insertion order: the leftmost leaf empties early. */
	for (i = 0; i < c->nkeys; i++) {
		split_key(key, c, ord[i]);
		if (masstree_erase(mt, key, c->keylen) != mtt_entry(ord[i]) &&
		    !bad++)
			KUNIT_FAIL(test, "erase #%u (key %u) failed", i, ord[i]);
		if (i == c->nkeys / 2)
			KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
	}
	KUNIT_EXPECT_EQ(test, bad, 0U);
	mtt_expect_all_freed(test);
}

/*
 * The leftmost-leaf trap: erasing the smallest keys must free the leftmost
 * leaf and keep the map valid (validate rejects an empty leaf).
 */
static void masstree_erase_leftmost_leaves_frees_them(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);
	struct masstree_stats full, half;
	unsigned int i, n = 600;
	u8 key[8];

	for (i = 0; i < n; i++) {
		mtt_key64(key, i);
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, key, 8, mtt_entry(i),
						      GFP_KERNEL), 0);
	}
	masstree_get_stats(mt, &full);
	for (i = 0; i < n / 2; i++) {
		mtt_key64(key, i);
		KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, key, 8), mtt_entry(i));
		if (i % 16 == 0)
			KUNIT_ASSERT_EQ(test, masstree_validate(mt), 0);
	}
	masstree_get_stats(mt, &half);
	KUNIT_EXPECT_LT(test, half.leaves, full.leaves);
	KUNIT_EXPECT_EQ(test, half.keys, (unsigned long)n / 2);
	/* Insert to the left of everything again, then empty from the right. */
	for (i = 0; i < 50; i++) {
		mtt_key64(key, i);
		KUNIT_EXPECT_EQ(test, masstree_insert(mt, key, 8, mtt_entry(i),
						      GFP_KERNEL), 0);
	}
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
	for (i = n; i-- > 0;) {
		mtt_key64(key, i);
		masstree_erase(mt, key, 8);
	}
	mtt_expect_all_freed(test);
}

/*
 * Keys of fill_mixed_map() that leave the 40-byte keys' shared prefix at
 * its second slice.
 */
#define MIXED_SPLIT_KEYS	50

/* 'p' * 40 with bytes 8..15 replaced: below the top slot of 'p' * 8. */
static void mixed_split_key(u8 *key, unsigned int i)
{
	memset(key, 'p', 40);
	mtt_key64(key + 8, i);
}

/*
 * A map with every node kind: internodes, suffixes, layer slots and spans.
 * The 40-byte keys share 32 bytes: a top slot whose span of 24 bytes leads
 * to a layer (offset 32) that splits. The split keys then leave that span
 * at its first slice: the top slot becomes a layer slot to a new layer at
 * offset 8, which holds them and a span of the other 16 bytes.
 */
static void fill_mixed_map(struct kunit *test, struct masstree *mt)
{
	u8 key[40];
	unsigned int i;

	memset(key, 'p', sizeof(key));
	for (i = 0; i < 1000; i++) {
		mtt_key64(key, i);
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, key, 8, mtt_entry(i),
						      GFP_KERNEL), 0);
	}
	memset(key, 'p', sizeof(key));
	for (i = 0; i < 200; i++) {
		mtt_key64(key + 32, i);
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, key, 40, mtt_entry(i),
						      GFP_KERNEL), 0);
	}
	for (i = 0; i < MIXED_SPLIT_KEYS; i++) {
		mixed_split_key(key, i);
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, key, 40, mtt_entry(i),
						      GFP_KERNEL), 0);
	}
	memset(key, 'p', sizeof(key));
	for (i = 0; i < 100; i++) {
		mtt_key64(key, 1000000 + i);
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, key, 30, mtt_entry(i),
						      GFP_KERNEL), 0);
	}
}

static void masstree_erase_all_mixed_returns_to_empty(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);
	struct masstree_stats st;
	u8 key[40];
	unsigned int i;

	fill_mixed_map(test, mt);
	KUNIT_ASSERT_EQ(test, masstree_validate(mt), 0);
	masstree_get_stats(mt, &st);
	KUNIT_EXPECT_EQ(test, st.keys, 1300UL + MIXED_SPLIT_KEYS);
	/* The top layer, the one at offset 8 and the one below its span. */
	KUNIT_EXPECT_EQ(test, st.layers, 3UL);
	KUNIT_EXPECT_GT(test, st.internodes, 0UL);
	for (i = 0; i < MIXED_SPLIT_KEYS; i++) {
		mixed_split_key(key, i);
		KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, key, 40), mtt_entry(i));
	}
	/*
	 * The layer at offset 8 is left with its span slot only: it merges
	 * into the top slot as one span of 8 + 16 bytes, as built first.
	 */
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
	masstree_get_stats(mt, &st);
	KUNIT_EXPECT_EQ(test, st.keys, 1300UL);
	KUNIT_EXPECT_EQ(test, st.layers, 2UL);
	memset(key, 'p', sizeof(key));
	for (i = 0; i < 200; i++) {
		mtt_key64(key + 32, i);
		KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, key, 40), mtt_entry(i));
	}
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
	for (i = 0; i < 100; i++) {
		mtt_key64(key, 1000000 + i);
		KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, key, 30), mtt_entry(i));
	}
	for (i = 0; i < 1000; i++) {
		mtt_key64(key, i);
		KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, key, 8), mtt_entry(i));
	}
	mtt_expect_all_freed(test);
}

static void masstree_destroy_frees_all_nodes(struct kunit *test)
{
	struct mtt_fixture *fx = test->priv;
	struct mst_node_stats built, after;

	fill_mixed_map(test, &fx->mt);
	mst_node_stats_read(&built);
	KUNIT_EXPECT_GT(test, built.leaves, fx->nodes.leaves + 50);
	KUNIT_EXPECT_GT(test, built.internodes, fx->nodes.internodes);
	KUNIT_EXPECT_GT(test, built.suffixes, fx->nodes.suffixes);
	masstree_destroy(&fx->mt);
	mtt_settled_nodes(&after);
	mtt_expect_nodes_equal(test, &fx->nodes, &after);
	mtt_expect_empty(test, &fx->mt);
	/* Usable again afterwards. */
	KUNIT_EXPECT_EQ(test, masstree_insert(&fx->mt, basic_key, BKLEN, mtt_entry(1),
					      GFP_KERNEL), 0);
	KUNIT_EXPECT_EQ(test, masstree_validate(&fx->mt), 0);
}

static struct kunit_case masstree_basic_cases[] = {
	KUNIT_CASE(masstree_insert_absent_then_eexist),
	KUNIT_CASE(masstree_load_empty_map_returns_null),
	KUNIT_CASE(__masstree_load_under_rcu_finds_entry),
	KUNIT_CASE(masstree_store_returns_old_entry),
	KUNIT_CASE(masstree_store_null_erases),
	KUNIT_CASE(masstree_cmpxchg_null_old_inserts_if_absent),
	KUNIT_CASE(masstree_cmpxchg_null_new_erases_if_equal),
	KUNIT_CASE(masstree_cmpxchg_mismatch_returns_current),
	KUNIT_CASE(masstree_erase_returns_entry_or_null),
	KUNIT_CASE(masstree_null_key_of_length_zero),
	KUNIT_CASE_PARAM(masstree_reserved_entry_rejected, reserved_gen_params),
	KUNIT_CASE(masstree_insert_null_entry_rejected),
	KUNIT_CASE(masstree_error_channel_roundtrip),
	KUNIT_CASE_PARAM(masstree_insert_splits_then_erase_all, split_gen_params),
	KUNIT_CASE(masstree_erase_leftmost_leaves_frees_them),
	KUNIT_CASE(masstree_erase_all_mixed_returns_to_empty),
	KUNIT_CASE(masstree_destroy_frees_all_nodes),
	{}
};

static struct kunit_suite masstree_basic_suite = {
	.name = "masstree_basic",
	.init = mtt_init,
	.exit = mtt_exit,
	.test_cases = masstree_basic_cases,
};

kunit_test_suite(masstree_basic_suite);

MODULE_DESCRIPTION("KUnit tests of masstree's insert, store, cmpxchg, erase and load");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
