// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of keys: every length from 0 to MASSTREE_MAX_KEY_LEN, the
 * first one too long, bytewise order with a prefix before its extensions,
 * suffixes, and layers created only when two keys share a slice and both
 * continue past it, with the whole slices they share after it kept once,
 * as a span, not as a chain of layers.
 */
#include <kunit/test.h>
#include <linux/masstree.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/sort.h>

#include "masstree_test.h"
#include "permutation.h"

static const unsigned int key_lengths[] = {
	0, 1, 7, 8, 9, 16, 255, 256, 4096, MASSTREE_MAX_KEY_LEN,
};

static void key_len_desc(const unsigned int *len, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "length %u", *len);
}

KUNIT_ARRAY_PARAM(key_len, key_lengths, key_len_desc);

/* A test-managed buffer of @len bytes (one more, for extensions). */
static u8 *key_buf(struct kunit *test, size_t len)
{
	u8 *key = kunit_kmalloc(test, len + 1, GFP_KERNEL);
	size_t i;

	if (key)
		for (i = 0; i <= len; i++)
			key[i] = (u8)(i * 7 + 3);
	return key;
}

static void masstree_key_length_insert_load_erase(struct kunit *test)
{
	unsigned int len = *(const unsigned int *)test->param_value;
	struct masstree *mt = mtt_map(test);
	struct masstree_stats st;
	u8 *key = key_buf(test, len);

	KUNIT_ASSERT_NOT_NULL(test, key);
	KUNIT_EXPECT_EQ(test, masstree_insert(mt, key, len, mtt_entry(len), GFP_KERNEL), 0);
	KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, key, len), mtt_entry(len));
	/* Neither its prefix nor its extension is there. */
	if (len)
		KUNIT_EXPECT_NULL(test, masstree_load(mt, key, len - 1));
	if (len < MASSTREE_MAX_KEY_LEN)
		KUNIT_EXPECT_NULL(test, masstree_load(mt, key, len + 1));
	KUNIT_EXPECT_EQ(test, masstree_insert(mt, key, len, mtt_entry(1), GFP_KERNEL),
			-EEXIST);
	masstree_get_stats(mt, &st);
	KUNIT_EXPECT_EQ(test, st.keys, 1UL);
	KUNIT_EXPECT_EQ(test, st.layers, 1UL);
	KUNIT_EXPECT_EQ(test, st.leaves, 1UL);
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
	KUNIT_EXPECT_PTR_EQ(test, masstree_store(mt, key, len, mtt_entry(2), GFP_KERNEL),
			    mtt_entry(len));
	KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, key, len), mtt_entry(2));
	KUNIT_EXPECT_NULL(test, masstree_load(mt, key, len));
	mtt_expect_all_freed(test);
}

/*
 * Two keys of one length that differ only in their last byte share the
 * d = (len - 1) / 8 slices before it. With d > 0 the top slot of the first
 * leads to one layer at offset 8 * d holding both: directly if d == 1,
 * else through a span of the 8 * (d - 1) bytes between. So 2 layers of one
 * leaf each and one span, however long the keys: the old chain of layers
 * cost d + 1 (8192 for the longest keys).
 */
static void masstree_key_length_differing_last_byte(struct kunit *test)
{
	unsigned int len = *(const unsigned int *)test->param_value;
	struct masstree *mt = mtt_map(test);
	struct masstree_stats st;
	u8 *a = key_buf(test, len), *b = key_buf(test, len);
	unsigned int d = len ? (len - 1) / 8 : 0;
	size_t span = d > 1 ? mst_suffix_bytes(MST_SPAN_CAP(8 * (d - 1))) : 0;
	/*
	 * A key of 9 to 16 bytes goes into the top leaf's bag first, and the
	 * leaf keeps its bag for life (struct mst_bag).
	 */
	size_t bag = len > 8 && len <= 16 ? MST_NODE_BYTES : 0;

	KUNIT_ASSERT_TRUE(test, a && b);
	if (!len) {
		/* The empty key and the one-byte key 0x00: one slice. */
		len = 1;
		a[0] = 0;
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, a, 0, mtt_entry(1), GFP_KERNEL), 0);
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, a, 1, mtt_entry(2), GFP_KERNEL), 0);
		KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, a, 0), mtt_entry(1));
		KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, a, 1), mtt_entry(2));
		KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
		KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, a, 0), mtt_entry(1));
		KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, a, 1), mtt_entry(2));
		mtt_expect_all_freed(test);
		return;
	}
	b[len - 1] ^= 0x80;
	KUNIT_ASSERT_EQ(test, masstree_insert(mt, a, len, mtt_entry(1), GFP_KERNEL), 0);
	KUNIT_ASSERT_EQ(test, masstree_insert(mt, b, len, mtt_entry(2), GFP_KERNEL), 0);
	KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, a, len), mtt_entry(1));
	KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, b, len), mtt_entry(2));
	masstree_get_stats(mt, &st);
	KUNIT_EXPECT_EQ(test, st.keys, 2UL);
	KUNIT_EXPECT_EQ(test, st.layers, d ? 2UL : 1UL);
	KUNIT_EXPECT_EQ(test, st.leaves, st.layers);
	/* The keys' last slices fit the lower leaf: no suffix, the span only. */
	KUNIT_EXPECT_EQ(test, st.bytes, st.leaves * MST_NODE_BYTES + span + bag);
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);

	/*
	 * Erasing one leaves the lower layer one key, which folds into the
	 * top slot as that key's suffix (its len - 8 bytes past the slice).
	 */
	KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, a, len), mtt_entry(1));
	KUNIT_EXPECT_NULL(test, masstree_load(mt, a, len));
	KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, b, len), mtt_entry(2));
	masstree_get_stats(mt, &st);
	/*
	 * The fold allocates with GFP_NOWAIT and keeps the layers if that
	 * fails: expect it only where the suffix is a small slab object.
	 */
	if (len <= 256) {
		KUNIT_EXPECT_EQ(test, st.layers, 1UL);
		KUNIT_EXPECT_EQ(test, st.leaves, 1UL);
		KUNIT_EXPECT_EQ(test, st.bytes, MST_NODE_BYTES + bag +
				(len > 8 ? mst_suffix_bytes(len - 8) : 0));
	}
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
	KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, b, len), mtt_entry(2));
	mtt_expect_all_freed(test);
}

static void masstree_key_too_long_rejected(struct kunit *test)
{
	const size_t len = MASSTREE_MAX_KEY_LEN + 1;
	struct masstree *mt = mtt_map(test);
	struct masstree_stats before, after;
	u8 *key = key_buf(test, len);

	KUNIT_ASSERT_NOT_NULL(test, key);
	/* Its prefix of the longest length is a key; it is not. */
	KUNIT_ASSERT_EQ(test, masstree_insert(mt, key, len - 1, mtt_entry(1),
					      GFP_KERNEL), 0);
	KUNIT_ASSERT_EQ(test, masstree_insert(mt, "k", 1, mtt_entry(2), GFP_KERNEL), 0);
	masstree_get_stats(mt, &before);

	KUNIT_EXPECT_EQ(test, masstree_insert(mt, key, len, mtt_entry(3), GFP_KERNEL),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, masstree_err(masstree_store(mt, key, len, mtt_entry(3),
							  GFP_KERNEL)), -EINVAL);
	KUNIT_EXPECT_EQ(test, masstree_err(masstree_cmpxchg(mt, key, len, NULL,
							    mtt_entry(3), GFP_KERNEL)),
			-EINVAL);
	KUNIT_EXPECT_NULL(test, masstree_load(mt, key, len));
	KUNIT_EXPECT_NULL(test, masstree_erase(mt, key, len));
	KUNIT_EXPECT_NULL(test, masstree_load(mt, key, SIZE_MAX));

	masstree_get_stats(mt, &after);
	KUNIT_EXPECT_EQ(test, after.keys, before.keys);
	KUNIT_EXPECT_EQ(test, after.leaves, before.leaves);
	KUNIT_EXPECT_EQ(test, after.layers, before.layers);
	KUNIT_EXPECT_EQ(test, after.bytes, before.bytes);
	KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, key, len - 1), mtt_entry(1));
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
}

/* Keys whose order is bytewise with a prefix first; listed unsorted. */
struct okey {
	u8 len;
	u8 b[18];
};

static const struct okey order_keys[] = {
	{ 3, "abc" }, { 0, "" }, { 1, "a" }, { 2, "a\0" }, { 3, "a\0\0" },
	{ 8, "a\0\0\0\0\0\0\0" }, { 9, "a\0\0\0\0\0\0\0\0" }, { 2, "ab" },
	{ 8, "abcdefgh" }, { 9, "abcdefgh\0" }, { 9, "abcdefgh\x01" },
	{ 16, "abcdefgh\xff\xff\xff\xff\xff\xff\xff\xff" }, { 1, "\xff" },
	{ 1, "\0" }, { 2, "\0\0" }, { 10, "abcdefghij" }, { 7, "abcdefg" },
	{ 1, "b" },
};

static int okey_cmp(const void *pa, const void *pb)
{
	const struct okey *a = pa, *b = pb;
	int c = memcmp(a->b, b->b, min(a->len, b->len));

	return c ? c : (int)a->len - (int)b->len;
}

/* The entry order_keys[] gives @k, or NULL if @k is not among them. */
static void *okey_entry(const struct okey *k)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(order_keys); i++)
		if (!okey_cmp(k, &order_keys[i]))
			return mtt_entry(i);
	return NULL;
}

/*
 * Load each key and its neighbours, then erase in sorted order, validating
 * (which checks the order within and across leaves) after each erase.
 */
static void masstree_key_order_bytewise_prefix_first(struct kunit *test)
{
	const unsigned int n = ARRAY_SIZE(order_keys);
	struct masstree *mt = mtt_map(test);
	struct okey *sorted;
	unsigned int i;

	sorted = kunit_kmalloc_array(test, n, sizeof(*sorted), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, sorted);
	memcpy(sorted, order_keys, sizeof(order_keys));
	sort(sorted, n, sizeof(*sorted), okey_cmp, NULL);

	for (i = 0; i < n; i++)
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, order_keys[i].b,
						      order_keys[i].len, mtt_entry(i),
						      GFP_KERNEL), 0);
	KUNIT_ASSERT_EQ(test, masstree_validate(mt), 0);
	for (i = 0; i < n; i++) {
		const struct okey *k = &order_keys[i];
		struct okey ext = *k;

		KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, k->b, k->len), mtt_entry(i));
		/* Its neighbours: one byte shorter, one zero byte longer. */
		ext.b[k->len] = 0;
		ext.len = k->len + 1;
		KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, ext.b, ext.len),
				    okey_entry(&ext));
		if (k->len) {
			ext.len = k->len - 1;
			KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, k->b, ext.len),
					    okey_entry(&ext));
		}
	}

	/* Erase in sorted order; validate checks the order of the rest. */
	for (i = 0; i < n; i++) {
		KUNIT_EXPECT_NOT_NULL(test, masstree_erase(mt, sorted[i].b,
							   sorted[i].len));
		KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
	}
	mtt_expect_all_freed(test);
}

/*
 * Every prefix of a run of zero bytes, lengths 0..24: one slice value
 * shared by nine lengths in each layer, sorted by length only.
 */
static void masstree_key_zero_runs_sort_by_length(struct kunit *test)
{
	static const u8 zeros[24];
	struct masstree *mt = mtt_map(test);
	struct masstree_stats st;
	struct mst_leaf *leaf;
	unsigned int i, len;

	for (len = 0; len <= 8; len++)
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, zeros, 8 - len,
						      mtt_entry(8 - len), GFP_KERNEL), 0);
	/* One leaf: its permutation lists the keys by length. */
	leaf = mst_to_leaf(rcu_dereference_protected(mt->root, 1));
	KUNIT_ASSERT_TRUE(test, mst_node_is_leaf(&leaf->node));
	KUNIT_ASSERT_EQ(test, mst_perm_size(leaf->permutation), 9U);
	for (i = 0; i < 9; i++) {
		unsigned int s = mst_perm_slot(leaf->permutation, i);

		KUNIT_EXPECT_EQ(test, leaf->ikey[s], 0ULL);
		KUNIT_EXPECT_EQ(test, (unsigned int)leaf->keylenx[s], i);
	}
	for (len = 9; len <= 24; len++)
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, zeros, len, mtt_entry(len),
						      GFP_KERNEL), 0);
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
	masstree_get_stats(mt, &st);
	KUNIT_EXPECT_EQ(test, st.keys, 25UL);
	KUNIT_EXPECT_EQ(test, st.layers, 3UL);
	for (len = 0; len <= 24; len++)
		KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, zeros, len), mtt_entry(len));
	for (len = 0; len <= 24; len++)
		KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, zeros, len), mtt_entry(len));
	mtt_expect_all_freed(test);
}

/* A key that ends in a slice and one that continues share the slot's slice. */
static void masstree_key_suffix_needs_no_layer(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);
	struct masstree_stats st;

	KUNIT_ASSERT_EQ(test, masstree_insert(mt, "abcdefgh", 8, mtt_entry(1),
					      GFP_KERNEL), 0);
	KUNIT_ASSERT_EQ(test, masstree_insert(mt, "abcdefghXYZ", 11, mtt_entry(2),
					      GFP_KERNEL), 0);
	KUNIT_ASSERT_EQ(test, masstree_insert(mt, "abcdefgiQQQQQQQQ", 16, mtt_entry(3),
					      GFP_KERNEL), 0);
	masstree_get_stats(mt, &st);
	KUNIT_EXPECT_EQ(test, st.layers, 1UL);
	KUNIT_EXPECT_EQ(test, st.leaves, 1UL);
	/* XYZ and the eight Qs are in the leaf's bag, counted as a node. */
	KUNIT_EXPECT_EQ(test, st.bytes, 2 * MST_NODE_BYTES);
	KUNIT_EXPECT_NULL(test, masstree_load(mt, "abcdefghXY", 10));
	KUNIT_EXPECT_NULL(test, masstree_load(mt, "abcdefghXYZW", 12));
	KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, "abcdefghXYZ", 11), mtt_entry(2));
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);

	/* Both continue past the shared slice: now a layer. */
	KUNIT_ASSERT_EQ(test, masstree_insert(mt, "abcdefghXYW", 11, mtt_entry(4),
					      GFP_KERNEL), 0);
	masstree_get_stats(mt, &st);
	KUNIT_EXPECT_EQ(test, st.layers, 2UL);
	KUNIT_EXPECT_EQ(test, st.keys, 4UL);
	KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, "abcdefghXYZ", 11), mtt_entry(2));
	KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, "abcdefghXYW", 11), mtt_entry(4));
	KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, "abcdefgh", 8), mtt_entry(1));
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);

	KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, "abcdefghXYZ", 11), mtt_entry(2));
	KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, "abcdefghXYW", 11), mtt_entry(4));
	masstree_get_stats(mt, &st);
	KUNIT_EXPECT_EQ(test, st.layers, 1UL);
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
	KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, "abcdefgh", 8), mtt_entry(1));
	KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, "abcdefgiQQQQQQQQ", 16),
			    mtt_entry(3));
	mtt_expect_all_freed(test);
}

/*
 * Many keys sharing a 56-byte prefix: the top slot of the first slice
 * holds a span of the next 48 bytes, above one layer (offset 56) whose
 * B+tree splits; then erase them all.
 */
static void masstree_key_shared_prefix_splits_deep_layer(struct kunit *test)
{
	const unsigned int n = 1200;
	struct masstree *mt = mtt_map(test);
	struct masstree_stats st;
	unsigned int i, bad = 0;
	u8 key[64];

	memset(key, 0x5a, sizeof(key));
	for (i = 0; i < n; i++) {
		mtt_key64(key + 56, (u64)i << 40);
		if (masstree_insert(mt, key, sizeof(key), mtt_entry(i), GFP_KERNEL) &&
		    !bad++)
			KUNIT_FAIL(test, "insert %u failed", i);
	}
	KUNIT_ASSERT_EQ(test, bad, 0U);
	masstree_get_stats(mt, &st);
	/* The top layer and the one below the span: no chain of 7. */
	KUNIT_EXPECT_EQ(test, st.layers, 2UL);
	KUNIT_EXPECT_EQ(test, st.keys, (unsigned long)n);
	KUNIT_EXPECT_GT(test, st.internodes, 0UL);
	/* Every key's last slice fits the lower leaves: the span only. */
	KUNIT_EXPECT_EQ(test, st.bytes, (st.leaves + st.internodes) * MST_NODE_BYTES +
			mst_suffix_bytes(MST_SPAN_CAP(48)));
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
	for (i = 0; i < n; i++) {
		mtt_key64(key + 56, (u64)i << 40);
		if (masstree_load(mt, key, sizeof(key)) != mtt_entry(i) && !bad++)
			KUNIT_FAIL(test, "key %u not found", i);
		/* Its 63-byte prefix is no key. */
		if (masstree_load(mt, key, sizeof(key) - 1) && !bad++)
			KUNIT_FAIL(test, "prefix of key %u found", i);
	}
	for (i = 0; i < n; i++) {
		mtt_key64(key + 56, (u64)i << 40);
		if (masstree_erase(mt, key, sizeof(key)) != mtt_entry(i) && !bad++)
			KUNIT_FAIL(test, "erase %u failed", i);
	}
	KUNIT_EXPECT_EQ(test, bad, 0U);
	mtt_expect_all_freed(test);
}

/*
 * Keys whose slice is eight 0xff bytes, the value an internode's unused
 * separator slots hold: at the right end of a tree of several levels,
 * the internode search must still pick the last child in use, not one
 * past it (mst_internode_slot()).
 */
static void masstree_key_greatest_slice_deep_tree(struct kunit *test)
{
	static const unsigned int lens[] = { 8, 9, 16, 17, 64 };
	const unsigned int n = 3000;
	struct masstree *mt = mtt_map(test);
	struct masstree_stats st;
	unsigned int i, bad = 0;
	u8 key[64];

	/* Spread below the greatest slice (i times an odd constant). */
	for (i = 0; i < n; i++) {
		mtt_key64(key, i * 0x9e3779b97f4a7c15ULL);
		if (masstree_insert(mt, key, 8, mtt_entry(i), GFP_KERNEL) && !bad++)
			KUNIT_FAIL(test, "insert %u failed", i);
	}
	memset(key, 0xff, sizeof(key));
	for (i = 0; i < ARRAY_SIZE(lens); i++)
		if (masstree_insert(mt, key, lens[i], mtt_entry(n + i),
				    GFP_KERNEL) && !bad++)
			KUNIT_FAIL(test, "insert of %u 0xff bytes failed", lens[i]);
	KUNIT_ASSERT_EQ(test, bad, 0U);
	masstree_get_stats(mt, &st);
	/* Internodes on two levels at least, the root's not full. */
	KUNIT_EXPECT_GE(test, st.height, 3UL);
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
	for (i = 0; i < ARRAY_SIZE(lens); i++)
		KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, key, lens[i]),
				    mtt_entry(n + i));
	KUNIT_EXPECT_NULL(test, masstree_load(mt, key, 15));
	KUNIT_EXPECT_NULL(test, masstree_load(mt, key, 63));
	for (i = 0; i < n; i++) {
		mtt_key64(key, i * 0x9e3779b97f4a7c15ULL);
		if (masstree_erase(mt, key, 8) != mtt_entry(i) && !bad++)
			KUNIT_FAIL(test, "erase %u failed", i);
	}
	memset(key, 0xff, sizeof(key));
	for (i = 0; i < ARRAY_SIZE(lens); i++)
		KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, key, lens[i]),
				    mtt_entry(n + i));
	KUNIT_EXPECT_EQ(test, bad, 0U);
	mtt_expect_all_freed(test);
}

static struct kunit_case masstree_keys_cases[] = {
	KUNIT_CASE_PARAM(masstree_key_length_insert_load_erase, key_len_gen_params),
	KUNIT_CASE_PARAM(masstree_key_length_differing_last_byte, key_len_gen_params),
	KUNIT_CASE(masstree_key_too_long_rejected),
	KUNIT_CASE(masstree_key_order_bytewise_prefix_first),
	KUNIT_CASE(masstree_key_zero_runs_sort_by_length),
	KUNIT_CASE(masstree_key_suffix_needs_no_layer),
	KUNIT_CASE(masstree_key_shared_prefix_splits_deep_layer),
	KUNIT_CASE(masstree_key_greatest_slice_deep_tree),
	{}
};

static struct kunit_suite masstree_keys_suite = {
	.name = "masstree_keys",
	.init = mtt_init,
	.exit = mtt_exit,
	.test_cases = masstree_keys_cases,
};

kunit_test_suite(masstree_keys_suite);

MODULE_DESCRIPTION("KUnit tests of masstree's keys: lengths, order, suffixes, layers");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
