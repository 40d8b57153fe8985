// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of merging on erase: a leaf left with few keys joins a
 * neighbour under the same parent, and an internode left with few
 * children a sibling, so that erasing most keys of a dense range gives
 * most of their nodes back. Dense keys (plain 8-byte slices,
 * slices with a suffix, or pairs of keys that share a slice and so a
 * layer) are inserted in order and all but one of every 16 (or 4) erased
 * in ascending, descending or scattered order. The map must then hold
 * exactly the survivors, pass masstree_validate(), count exactly the
 * nodes the slab still holds for it, use a few keys per leaf, and hold
 * within a small factor of what the survivors hold inserted afresh. The
 * concurrent side (readers and writers inside a held merge) is in the
 * races suite.
 */
#include <kunit/test.h>
#include <linux/masstree.h>
#include <linux/module.h>
#include <linux/string.h>

#include "masstree_test.h"

#define MG_N		4096

/**
 * struct mg_param - one erase-most pattern.
 * @name: what the case prints.
 * @step: one key of every @step survives.
 * @order: 0 ascending, 1 descending, 2 scattered.
 * @kind: 0 8-byte keys, 1 with a 4-byte suffix, 2 pairs sharing a layer.
 * @per_leaf: surviving keys per leaf at least.
 * @factor: bytes at most this many times the survivors' afresh.
 */
struct mg_param {
	const char *name;
	unsigned int step;
	int order;
	int kind;
	unsigned int per_leaf;
	unsigned int factor;
};

/*
 * Without merges, 15 of 16 erased leaves about one leaf per survivor
 * (8 to 9 times the bytes afresh), 3 of 4 about two survivors a leaf.
 * With leaf and internode merges: at least 4 survivors a leaf and at most
 * about twice the bytes afresh (descending order merges least), and 8 a
 * leaf for 3 of 4.
 */
static const struct mg_param mg_params[] = {
	{ "15 of 16, ascending, 8-byte keys", 16, 0, 0, 3, 3 },
	{ "15 of 16, descending, 8-byte keys", 16, 1, 0, 3, 3 },
	{ "15 of 16, scattered, 8-byte keys", 16, 2, 0, 3, 3 },
	{ "15 of 16, ascending, keys with suffixes", 16, 0, 1, 3, 3 },
	{ "15 of 16, scattered, keys in layers", 16, 2, 2, 3, 3 },
	{ "3 of 4, ascending, 8-byte keys", 4, 0, 0, 6, 2 },
	{ "3 of 4, scattered, keys with suffixes", 4, 2, 1, 6, 2 },
};

static void mg_param_desc(const struct mg_param *p, char *desc)
{
	strscpy(desc, p->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(mg, mg_params, mg_param_desc);

static u32 mg_key(u8 *b, unsigned int i, int kind)
{
	if (kind == 2) {
		put_unaligned_be64(i / 2, b);
		put_unaligned_be64(i % 2, b + 8);
		return 16;
	}
	put_unaligned_be64(i, b);
	if (!kind)
		return 8;
	memcpy(b + 8, "sfx!", 4);
	return 12;
}

static void masstree_merge_erase_most_gives_nodes_back(struct kunit *test)
{
	const struct mg_param *p = test->param_value;
	struct mtt_fixture *fx = test->priv;
	struct masstree *mt = &fx->mt;
	struct masstree_stats dense, st, fst;
	struct mst_node_stats now;
	struct masstree fresh;
	unsigned int i, j, keys = 0;
	void *got;
	u32 len;
	u8 k[16];

	for (i = 0; i < MG_N; i++) {
		len = mg_key(k, i, p->kind);
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, k, len, mtt_entry(i),
						      GFP_KERNEL), 0);
	}
	masstree_get_stats(mt, &dense);
	for (j = 0; j < MG_N; j++) {
		/* Scattered: a stride prime to MG_N visits every key once. */
		i = p->order == 0 ? j : p->order == 1 ? MG_N - 1 - j :
		    (j * 7919) % MG_N;
		if (!(i % p->step))
			continue;
		len = mg_key(k, i, p->kind);
		KUNIT_ASSERT_PTR_EQ(test, masstree_erase(mt, k, len), mtt_entry(i));
	}
	KUNIT_ASSERT_EQ(test, masstree_validate(mt), 0);

	masstree_init(&fresh, 0);
	for (i = 0; i < MG_N; i++) {
		len = mg_key(k, i, p->kind);
		got = masstree_load(mt, k, len);
		KUNIT_EXPECT_PTR_EQ(test, got, i % p->step ? NULL : mtt_entry(i));
		if (i % p->step)
			continue;
		keys++;
		KUNIT_EXPECT_EQ(test, masstree_insert(&fresh, k, len, got,
						      GFP_KERNEL), 0);
	}
	masstree_get_stats(&fresh, &fst);
	masstree_destroy(&fresh);
	masstree_get_stats(mt, &st);
	kunit_info(test, "%lu bytes per key dense, %lu after (%lu leaves, %lu internodes for %lu keys), %lu afresh",
		   dense.bytes / dense.keys, st.bytes / st.keys, st.leaves,
		   st.internodes, st.keys, fst.bytes / fst.keys);
	KUNIT_EXPECT_EQ(test, st.keys, (unsigned long)keys);
	KUNIT_EXPECT_LE(test, st.leaves * p->per_leaf, st.keys);
	KUNIT_EXPECT_LE(test, st.bytes, p->factor * fst.bytes);
	/* The merged leaves went back to the slab. */
	mtt_settled_nodes(&now);
	KUNIT_EXPECT_EQ(test, now.leaves - fx->nodes.leaves, (long)st.leaves);
	KUNIT_EXPECT_EQ(test, now.internodes - fx->nodes.internodes,
			(long)st.internodes);

	for (i = 0; i < MG_N; i += p->step) {
		len = mg_key(k, i, p->kind);
		KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, k, len), mtt_entry(i));
	}
	mtt_expect_all_freed(test);
}

/*
 * The first leaf of a parent has no left neighbour there: it takes in its
 * right neighbour. Leaves of 8 keys (in-order inserts); erasing 7 keys of
 * the first leaf, at 3 left it takes in the second leaf's 8, and keeps
 * its lower bound (the layer's first).
 */
static void masstree_merge_first_leaf_takes_in_its_right_neighbour(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);
	struct masstree_stats st;
	unsigned int i;
	u8 k[8];

	for (i = 0; i < 32; i++) {
		mtt_key64(k, 100 + i);
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, k, 8, mtt_entry(i),
						      GFP_KERNEL), 0);
	}
	masstree_get_stats(mt, &st);
	KUNIT_ASSERT_EQ(test, st.leaves, 4UL);
	for (i = 1; i < 8; i++) {
		mtt_key64(k, 100 + i);
		KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, k, 8), mtt_entry(i));
	}
	masstree_get_stats(mt, &st);
	KUNIT_EXPECT_EQ(test, st.leaves, 3UL);
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
	for (i = 0; i < 32; i++) {
		mtt_key64(k, 100 + i);
		KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, k, 8),
				    i && i < 8 ? NULL : mtt_entry(i));
	}
	/* Keys below the old first key still go to the first leaf. */
	mtt_key64(k, 1);
	KUNIT_EXPECT_EQ(test, masstree_insert(mt, k, 8, mtt_entry(1000),
					      GFP_KERNEL), 0);
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
	KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, k, 8), mtt_entry(1000));
}

/*
 * A merge needs both leaves' keys to fit with room to spare: a leaf left
 * with few keys next to a full one stays as it is.
 */
static void masstree_merge_leaves_a_leaf_next_to_a_full_one(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);
	struct masstree_stats st;
	unsigned int i;
	u8 k[8];

	/* Leaves of 8; the first filled to 15 with keys in between. */
	for (i = 0; i < 32; i++) {
		mtt_key64(k, 100 + 2 * i);
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, k, 8, mtt_entry(i),
						      GFP_KERNEL), 0);
	}
	for (i = 0; i < 7; i++) {
		mtt_key64(k, 101 + 2 * i);
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, k, 8, mtt_entry(100 + i),
						      GFP_KERNEL), 0);
	}
	masstree_get_stats(mt, &st);
	KUNIT_ASSERT_EQ(test, st.leaves, 4UL);
	/* The second leaf down to one key: 15 + 1 do not fit in 12. */
	for (i = 9; i < 16; i++) {
		mtt_key64(k, 100 + 2 * i);
		KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, k, 8), mtt_entry(i));
	}
	masstree_get_stats(mt, &st);
	KUNIT_EXPECT_EQ(test, st.leaves, 4UL);
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
}

static struct kunit_case masstree_merge_cases[] = {
	KUNIT_CASE_PARAM(masstree_merge_erase_most_gives_nodes_back,
			 mg_gen_params),
	KUNIT_CASE(masstree_merge_first_leaf_takes_in_its_right_neighbour),
	KUNIT_CASE(masstree_merge_leaves_a_leaf_next_to_a_full_one),
	{}
};

static struct kunit_suite masstree_merge_suite = {
	.name = "masstree_merge",
	.init = mtt_init,
	.exit = mtt_exit,
	.test_cases = masstree_merge_cases,
};

kunit_test_suite(masstree_merge_suite);

MODULE_DESCRIPTION("KUnit tests of leaf merging on erase");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
