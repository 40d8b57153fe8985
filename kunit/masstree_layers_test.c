// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of what a map holds when keys share long spans. Two keys
 * that share a span cost two leaves and the span, stored once in the
 * slot above the layer where they differ, however long it is; a key that
 * leaves the span inside splits it, and erasing that key merges the
 * parts back, so that insert and erase cycles do not build a chain.
 * Erasing one of the two folds the layer back into the slot above, so
 * that the survivor costs what it would cost inserted alone; so does a
 * layer left with one key by a layer below it that emptied. The fold's
 * one allocation may fail: then the erase still succeeds and the layers
 * stay. The bytes per key of the long-key pattern and of dense keys
 * mostly erased are reported (kunit_info) for the record.
 */
#include <kunit/test.h>
#include <linux/masstree.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "masstree_test.h"

#define LT_SPAN		200
#define LT_KLEN		(LT_SPAN + 32)
#define LT_BIG		65526
#define LT_BIG_N	4

/*
 * Key @which of variant @v: 0 and 1 are the pair (sharing 16 bytes of
 * prefix and a span of 'x'), 2 and 3 anchors that share only the prefix.
 * Variant bit 1: the pair differs in length only (key 0 is a prefix of
 * key 1, its rest ends within a slice).
 */
static u32 lt_key(u8 *b, unsigned int v, unsigned int which)
{
	u32 len, span = LT_SPAN - v;

	memcpy(b, "layers-.prefix16", 16);
	b[7] = 'a' + v;
	if (which >= 2) {
		b[16] = 'a' + which;
		return 17;
	}
	memset(b + 16, 'x', span);
	len = 16 + span;
	if (v & 2) {
		if (which)
			b[len++] = 'y';
	} else {
		b[len++] = which ? 'b' : 'a';
	}
	return len;
}

struct lt_variant {
	const char *name;
	unsigned int v;
};

static const struct lt_variant lt_variants[] = {
	{ "top layer, suffix, larger erased", 0 },
	{ "under anchors, suffix, larger erased", 1 },
	{ "top layer, rest in a slice, larger erased", 2 },
	{ "under anchors, rest in a slice, larger erased", 3 },
	{ "top layer, suffix, smaller erased", 4 },
	{ "under anchors, suffix, smaller erased", 5 },
	{ "top layer, rest in a slice, smaller erased", 6 },
	{ "under anchors, rest in a slice, smaller erased", 7 },
};

static void lt_variant_desc(const struct lt_variant *t, char *desc)
{
	strscpy(desc, t->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(lt_variant, lt_variants, lt_variant_desc);

/* Keys @present hold their entries; a walk finds them; stats exact. */
static void lt_expect(struct kunit *test, struct masstree *mt,
		      u8 (*kb)[LT_KLEN], const u32 *klen, const bool *present,
		      unsigned long layers)
{
	struct masstree_cursor cur;
	struct masstree_stats st;
	unsigned long walked = 0, want = 0;
	unsigned int i;
	void *got;

	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
	for (i = 0; i < 4; i++) {
		got = masstree_load(mt, kb[i], klen[i]);
		KUNIT_EXPECT_PTR_EQ(test, got, present[i] ? mtt_entry(i) : NULL);
		want += present[i];
	}
	masstree_cursor_init(&cur, mt, GFP_KERNEL);
	masstree_for_each(mt, &cur, got)
		walked++;
	KUNIT_EXPECT_EQ(test, cur.err, 0);
	masstree_cursor_fini(&cur);
	KUNIT_EXPECT_EQ(test, walked, want);
	masstree_get_stats(mt, &st);
	KUNIT_EXPECT_EQ(test, st.keys, want);
	if (layers) {
		KUNIT_EXPECT_EQ(test, st.layers, layers);
		KUNIT_EXPECT_EQ(test, st.leaves, layers);
		KUNIT_EXPECT_EQ(test, st.internodes, 0UL);
	}
}

/*
 * Erase one key of a pair that shares a span: the chain folds into the
 * slot above (the top layer's, or that of a layer the anchors keep), the
 * survivor's rest becoming its suffix. Insert the key again (the slot
 * turns into layers again) and fold again.
 */
static void masstree_erase_folds_a_chain_of_layers(struct kunit *test)
{
	const struct lt_variant *t = test->param_value;
	struct masstree *mt = mtt_map(test);
	unsigned int gone = t->v & 4 ? 0 : 1, round, i;
	/*
	 * Under the anchors: the top layer's slot spans the 8 bytes all four
	 * share, down to the anchors' layer.
	 */
	unsigned long folded = t->v & 1 ? 2 : 1;
	bool present[4] = { false };
	u8 (*kb)[LT_KLEN];
	u32 klen[4];

	kb = kunit_kmalloc(test, 4 * LT_KLEN, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, kb);
	for (i = 0; i < 4; i++)
		klen[i] = lt_key(kb[i], t->v, i);
	for (i = 0; i < (t->v & 1 ? 4 : 2); i++) {
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, kb[i], klen[i], mtt_entry(i),
						      GFP_KERNEL), 0);
		present[i] = true;
	}
	for (round = 0; round < 2; round++) {
		KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, kb[gone], klen[gone]),
				    mtt_entry(gone));
		present[gone] = false;
		lt_expect(test, mt, kb, klen, present, folded);
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, kb[gone], klen[gone],
						      mtt_entry(gone), GFP_KERNEL), 0);
		present[gone] = true;
		lt_expect(test, mt, kb, klen, present, 0);
	}
	for (i = 0; i < 4; i++)
		if (present[i])
			KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, kb[i], klen[i]),
					    mtt_entry(i));
	mtt_expect_all_freed(test);
}

/*
 * The fold's allocation fails: the erase still succeeds, the layers stay
 * (the map is correct, only larger), and the survivor's own erase later
 * frees them all.
 */
static void masstree_erase_keeps_the_layers_when_the_fold_cannot_allocate(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);
	struct masstree_stats before, after;
	bool present[4] = { true, false, false, false };
	u8 (*kb)[LT_KLEN];
	u32 klen[4];
	unsigned int i;
	void *got;

	kb = kunit_kmalloc(test, 4 * LT_KLEN, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, kb);
	for (i = 0; i < 4; i++)
		klen[i] = lt_key(kb[i], 0, i);
	for (i = 0; i < 2; i++)
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, kb[i], klen[i], mtt_entry(i),
						      GFP_KERNEL), 0);
	masstree_get_stats(mt, &before);
	masstree_fail_nth(1);
	got = masstree_erase(mt, kb[1], klen[1]);
	/* The fold tried to allocate, and that allocation failed. */
	KUNIT_EXPECT_EQ(test, masstree_fail_nth_left(), 0U);
	masstree_fail_nth(0);
	KUNIT_EXPECT_PTR_EQ(test, got, mtt_entry(1));
	masstree_get_stats(mt, &after);
	KUNIT_EXPECT_EQ(test, after.layers, before.layers);
	lt_expect(test, mt, kb, klen, present, 0);
	KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, kb[0], klen[0]), mtt_entry(0));
	mtt_expect_all_freed(test);
}

/* P<i> + @LT_BIG 'x' + @end: two such keys share a chain of layers. */
static u32 lt_big_key(u8 *b, unsigned int i, u8 end)
{
	u32 len = snprintf((char *)b, 16, "P%u", i);

	memset(b + len, 'x', LT_BIG);
	len += LT_BIG;
	b[len++] = end;
	return len;
}

/* After the erases: @mt valid, and both maps' statistics; @fresh goes. */
static void lt_big_end(struct kunit *test, struct masstree *mt,
		       struct masstree_stats *st, struct masstree *fresh,
		       struct masstree_stats *alone)
{
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
	masstree_get_stats(mt, st);
	masstree_get_stats(fresh, alone);
	masstree_destroy(fresh);
}

/* A buffer for lt_big_key() and an empty map to compare with. */
static u8 *lt_big_start(struct kunit *test, struct masstree **fresh)
{
	u8 *b = kunit_kmalloc(test, LT_BIG + 16, GFP_KERNEL);

	*fresh = kunit_kzalloc(test, sizeof(**fresh), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_ASSERT_NOT_NULL(test, *fresh);
	masstree_init(*fresh, 0);
	return b;
}

/*
 * Pairs of 65,529-byte keys that differ in their last byte, then one of
 * each erased: the survivors hold exactly what they hold inserted alone.
 */
static void masstree_erase_folds_long_key_chains_to_a_lone_keys_bytes(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);
	struct masstree_stats pairs, folded, alone;
	struct masstree *fresh;
	unsigned int i;
	u32 len = 0;
	u8 *b;

	b = lt_big_start(test, &fresh);
	for (i = 0; i < LT_BIG_N; i++) {
		len = lt_big_key(b, i, 'a');
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, b, len, mtt_entry(1),
						      GFP_KERNEL), 0);
		KUNIT_EXPECT_EQ(test, masstree_insert(fresh, b, len, mtt_entry(1),
						      GFP_KERNEL), 0);
		lt_big_key(b, i, 'b');
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, b, len, mtt_entry(2),
						      GFP_KERNEL), 0);
	}
	masstree_get_stats(mt, &pairs);
	for (i = 0; i < LT_BIG_N; i++) {
		lt_big_key(b, i, 'b');
		KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, b, len), mtt_entry(2));
	}
	lt_big_end(test, mt, &folded, fresh, &alone);
	kunit_info(test, "%u keys of %u bytes: %lu bytes per key with both of each pair, %lu after erasing one (%lu alone)",
		   LT_BIG_N, len, pairs.bytes / pairs.keys,
		   folded.bytes / folded.keys, alone.bytes / alone.keys);
	KUNIT_EXPECT_EQ(test, folded.keys, (unsigned long)LT_BIG_N);
	KUNIT_EXPECT_EQ(test, folded.layers, 1UL);
	KUNIT_EXPECT_EQ(test, folded.bytes, alone.bytes);
	for (i = 0; i < LT_BIG_N; i++) {
		lt_big_key(b, i, 'a');
		KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, b, len), mtt_entry(1));
		KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, b, len), mtt_entry(1));
	}
	mtt_expect_all_freed(test);
}

/*
 * The long-key attack with a grown bottom layer: 20 keys that share the
 * 65,526-byte span and differ in their last byte split the chain's last
 * layer; erased down to one, that layer must shrink back to a leaf so
 * the chain folds: the survivor then holds what it holds alone.
 */
static void masstree_erase_folds_a_chain_over_a_grown_layer(struct kunit *test)
{
	struct masstree_stats grown, folded, alone;
	struct masstree *mt = mtt_map(test);
	struct masstree *fresh;
	u8 *b = lt_big_start(test, &fresh);
	u32 len = lt_big_key(b, 0, 'a');
	unsigned int i;

	KUNIT_ASSERT_EQ(test, masstree_insert(fresh, b, len, mtt_entry(0), GFP_KERNEL), 0);
	for (i = 0; i < 20; i++) {
		lt_big_key(b, 0, 'a' + i);
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, b, len, mtt_entry(i),
						      GFP_KERNEL), 0);
	}
	masstree_get_stats(mt, &grown);
	KUNIT_EXPECT_GT(test, grown.internodes, 0UL);
	for (i = 1; i < 20; i++) {
		lt_big_key(b, 0, 'a' + i);
		KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, b, len), mtt_entry(i));
	}
	lt_big_end(test, mt, &folded, fresh, &alone);
	kunit_info(test, "20 keys of %u bytes, 19 erased: %lu bytes held with them, %lu after (%lu alone)",
		   len, grown.bytes, folded.bytes, alone.bytes);
	KUNIT_EXPECT_EQ(test, folded.layers, 1UL);
	KUNIT_EXPECT_EQ(test, folded.bytes, alone.bytes);
	lt_big_key(b, 0, 'a');
	KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, b, len), mtt_entry(0));
	mtt_expect_all_freed(test);
}

/* "gap2-pre" + "AAAAAAAA" + @i big-endian, or @i == -1: "...BBBBBBBBz". */
static u32 lt_gap_key(u8 *b, long i)
{
	memcpy(b, "gap2-preAAAAAAAA", 16);
	if (i < 0) {
		memcpy(b + 8, "BBBBBBBBz", 9);
		return 17;
	}
	mtt_key64(b + 16, i);
	return 24;
}

/*
 * Layer 1 holds B and the way to layer 2, which holds the A keys. With
 * many A keys, layer 2's root is an internode: erased down to one key it
 * shrinks back to a leaf and folds into layer 1. With two, the fold of
 * layer 2 is made to fail when one is left; erasing that one empties
 * layer 2, and layer 1, left with B alone, folds.
 */
static void masstree_erase_folds_layers_shrunk_or_emptied_below(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);
	struct masstree_stats st;
	unsigned int round, i, n;
	u8 b[24];
	u32 len;

	for (round = 0; round < 2; round++) {
		n = round ? 2 : 40;
		len = lt_gap_key(b, -1);
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, b, len, mtt_entry(1000),
						      GFP_KERNEL), 0);
		for (i = 0; i < n; i++) {
			len = lt_gap_key(b, i);
			KUNIT_ASSERT_EQ(test, masstree_insert(mt, b, len, mtt_entry(i),
							      GFP_KERNEL), 0);
		}
		masstree_get_stats(mt, &st);
		KUNIT_EXPECT_EQ(test, st.layers, 3UL);
		if (!round)
			KUNIT_EXPECT_GT(test, st.internodes, 0UL);
		for (i = 0; i < n; i++) {
			len = lt_gap_key(b, i);
			if (round && !i) {
				/* The fold of layer 2 fails: it keeps one key. */
				masstree_fail_nth(1);
				KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, b, len),
						    mtt_entry(i));
				KUNIT_EXPECT_EQ(test, masstree_fail_nth_left(), 0U);
				masstree_fail_nth(0);
				masstree_get_stats(mt, &st);
				KUNIT_EXPECT_EQ(test, st.layers, 3UL);
				continue;
			}
			KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, b, len),
					    mtt_entry(i));
			if (round || i != n - 2)
				continue;
			/* One A key left: layer 2 shrank to a leaf and folded. */
			masstree_get_stats(mt, &st);
			KUNIT_EXPECT_EQ(test, st.layers, 2UL);
			KUNIT_EXPECT_EQ(test, st.internodes, 0UL);
			KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
		}
		KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
		masstree_get_stats(mt, &st);
		KUNIT_EXPECT_EQ(test, st.keys, 1UL);
		KUNIT_EXPECT_EQ(test, st.layers, 1UL);
		KUNIT_EXPECT_EQ(test, st.leaves, 1UL);
		KUNIT_EXPECT_EQ(test, st.internodes, 0UL);
		len = lt_gap_key(b, -1);
		KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, b, len), mtt_entry(1000));
		KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, b, len), mtt_entry(1000));
	}
	mtt_expect_all_freed(test);
}

/* Key @i of the grown-root case: 8 bytes of @prefix (if any), then 16 * @i. */
static u32 lt_grow_key(u8 *b, const u8 *prefix, u64 i)
{
	u32 off = prefix ? 8 : 0;

	if (prefix)
		memcpy(b, prefix, 8);
	mtt_key64(b + off, 16 * i);
	return off + 8;
}

/* Levels of the layer at @prefix (the top one: NULL), down its left edge. */
static unsigned int lt_layer_height(struct masstree *mt, const u8 *prefix)
{
	struct mst_node *n = mtt_layer_root(mt, prefix);
	unsigned int h = 0;

	for (; n; h++) {
		if (mst_node_is_leaf(n))
			return h + 1;
		n = rcu_access_pointer(mst_to_internode(n)->child[0]);
	}
	return h;
}

/*
 * Make @node busy, as another writer holding its lock does: trylocks of
 * it fail. Nothing here locks it without trying.
 */
static void lt_busy(struct mst_node *node, bool busy)
{
	unsigned long v = READ_ONCE(node->version);

	WRITE_ONCE(node->version, busy ? v | MST_V_LOCKED : v & ~MST_V_LOCKED);
}

#define LT_GROW_N	160

/*
 * A root internode over two internodes X and Y, each left with one child
 * while the other was busy (so they did not merge): erasing the last key
 * under Y leaves the root with X alone, which it absorbs, and then X's
 * only child, a leaf, too: the layer is one leaf again, three levels to
 * one; below the top layer, that leaf, holding one key, folds into the
 * slot above.
 */
static void masstree_erase_shrinks_the_root_all_the_way_down(struct kunit *test)
{
	static const u8 *const prefixes[] = { NULL, (const u8 *)"grown:!!" };
	struct masstree *mt = mtt_map(test);
	struct mst_internode *r, *x, *y;
	struct masstree_stats st;
	struct mst_node *root;
	unsigned int v;
	u8 b[16];
	u64 i, sep;
	u32 len;

	for (v = 0; v < ARRAY_SIZE(prefixes); v++) {
		const u8 *prefix = prefixes[v];

		/* Whatever a failed variant left is not the next one's. */
		masstree_destroy(mt);
		if (prefix)
			KUNIT_ASSERT_EQ(test, masstree_insert(mt, "a", 1, mtt_entry(1),
							      GFP_KERNEL), 0);
		for (i = 0; i < LT_GROW_N; i++) {
			len = lt_grow_key(b, prefix, i);
			KUNIT_ASSERT_EQ(test, masstree_insert(mt, b, len, mtt_entry(i),
							      GFP_KERNEL), 0);
		}
		KUNIT_ASSERT_EQ(test, lt_layer_height(mt, prefix), 3U);
		root = mtt_layer_root(mt, prefix);
		r = mst_to_internode(root);
		KUNIT_ASSERT_EQ(test, r->nkeys, 1);
		x = mst_to_internode(rcu_access_pointer(r->child[0]));
		y = mst_to_internode(rcu_access_pointer(r->child[1]));
		sep = r->ikey[0];
		/* X down to its first key, Y busy: X's merges with Y fail. */
		lt_busy(&y->node, true);
		for (i = 1; 16 * i < sep; i++) {
			len = lt_grow_key(b, prefix, i);
			KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, b, len), mtt_entry(i));
		}
		lt_busy(&y->node, false);
		/* Y down to its last key, X busy. */
		lt_busy(&x->node, true);
		for (i = sep / 16; i < LT_GROW_N - 1; i++) {
			len = lt_grow_key(b, prefix, i);
			KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, b, len), mtt_entry(i));
		}
		lt_busy(&x->node, false);
		KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
		KUNIT_ASSERT_PTR_EQ(test, mtt_layer_root(mt, prefix), root);
		KUNIT_ASSERT_EQ(test, r->nkeys, 1);
		KUNIT_ASSERT_EQ(test, x->nkeys, 0);
		KUNIT_ASSERT_EQ(test, y->nkeys, 0);
		KUNIT_ASSERT_EQ(test, lt_layer_height(mt, prefix), 3U);

		/* The root loses Y: it absorbs X, then X's leaf. */
		len = lt_grow_key(b, prefix, LT_GROW_N - 1);
		KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, b, len),
				    mtt_entry(LT_GROW_N - 1));
		KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
		masstree_get_stats(mt, &st);
		KUNIT_EXPECT_EQ(test, st.internodes, 0UL);
		KUNIT_EXPECT_EQ(test, st.leaves, 1UL);
		KUNIT_EXPECT_EQ(test, st.layers, 1UL);
		KUNIT_EXPECT_EQ(test, st.height, 1UL);
		if (prefix) {
			/* Folded: no layer left at the prefix. */
			KUNIT_EXPECT_NULL(test, mtt_layer_root(mt, prefix));
			KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, "a", 1), mtt_entry(1));
		}
		len = lt_grow_key(b, prefix, 0);
		KUNIT_EXPECT_PTR_EQ(test, masstree_load(mt, b, len), mtt_entry(0));
		KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, b, len), mtt_entry(0));
		mtt_expect_all_freed(test);
	}
}

/*
 * Dense 8-byte keys, then 15 of every 16 erased: leaves are not merged,
 * so each survivor keeps most of a leaf. Reported, and bounded by what
 * that costs: one leaf per survivor at most, plus the internodes.
 */
static void masstree_erase_most_keys_reports_bytes_per_key(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);
	struct masstree_stats dense, sparse;
	unsigned int i, n = 16 * 512;
	u8 k[8];

	for (i = 0; i < n; i++) {
		mtt_key64(k, i);
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, k, 8, mtt_entry(i),
						      GFP_KERNEL), 0);
	}
	masstree_get_stats(mt, &dense);
	for (i = 0; i < n; i++) {
		mtt_key64(k, i);
		if (i % 16)
			KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, k, 8),
					    mtt_entry(i));
	}
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
	masstree_get_stats(mt, &sparse);
	kunit_info(test, "%lu bytes per 8-byte key dense, %lu after erasing 15 of 16 (%lu leaves for %lu keys)",
		   dense.bytes / dense.keys, sparse.bytes / sparse.keys,
		   sparse.leaves, sparse.keys);
	KUNIT_EXPECT_EQ(test, sparse.keys, (unsigned long)n / 16);
	KUNIT_EXPECT_LE(test, sparse.leaves, sparse.keys);
	for (i = 0; i < n; i += 16) {
		mtt_key64(k, i);
		KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, k, 8), mtt_entry(i));
	}
	mtt_expect_all_freed(test);
}

/*
 * Span keys: "span-ky!" (the top layer's slice), then LS_S bytes of a
 * pattern, then the pair's last byte, '0' or '9'. The pair shares the
 * 40 whole slices after the first: a span of LS_SPAN bytes, then a layer
 * at LS_LOW where the pair's 6-byte rests differ.
 */
#define LS_S		325
#define LS_SPAN		320
#define LS_LOW		(8 + LS_SPAN)
#define LS_KLEN		(8 + LS_S + 1)
#define LS_MAXK		(MASSTREE_MAX_KEY_LEN)

static u8 ls_byte(u32 i)
{
	return 'a' + (i * 7) % 23;
}

/* The first @len bytes every span key shares. */
static void ls_fill(u8 *b, u32 len)
{
	u32 i;

	memcpy(b, "span-ky!", min_t(u32, len, 8));
	for (i = 8; i < len; i++)
		b[i] = ls_byte(i);
}

/* A key of the pair: @len bytes, the last one @last. */
static u32 ls_pair_key(u8 *b, u32 len, u8 last)
{
	ls_fill(b, len - 1);
	b[len - 1] = last;
	return len;
}

/*
 * The third key, which leaves the pair's bytes at byte @p: it has a byte
 * there below (@how 0) or above (1) the pattern's and a tail, or ends
 * there (2).
 */
static u32 ls_third_key(u8 *b, u32 p, unsigned int how)
{
	ls_fill(b, p);
	if (how == 2)
		return p;
	b[p] = how ? 0xfe : 0x01;
	memcpy(b + p + 1, "tail", 4);
	return p + 5;
}

/**
 * struct ls_keys - the keys of a span case, and which are present.
 * @b: each key's bytes.
 * @len: each key's length.
 * @on: present.
 * @n: how many keys.
 */
struct ls_keys {
	u8 *b[3];
	u32 len[3];
	bool on[3];
	unsigned int n;
};

/*
 * @mt holds exactly the present keys of @k, each with mtt_entry(i), a
 * cursor meets them in key order, the map validates, and it has the
 * shape the same keys inserted into an empty map have: the same leaves,
 * internodes and layers.
 */
static void ls_expect(struct kunit *test, struct masstree *mt,
		      const struct ls_keys *k, const char *what)
{
	struct masstree_stats st, fst;
	struct masstree_cursor cur;
	struct masstree *fresh;
	unsigned int i, j, order[3], n = 0;
	void *got;

	KUNIT_EXPECT_EQ_MSG(test, masstree_validate(mt), 0, "%s", what);
	for (i = 0; i < k->n; i++) {
		KUNIT_EXPECT_PTR_EQ_MSG(test, masstree_load(mt, k->b[i], k->len[i]),
					k->on[i] ? mtt_entry(i) : NULL,
					"%s: key %u", what, i);
		if (!k->on[i])
			continue;
		/* Insertion sort of the present keys, by key order. */
		for (j = n++; j && refmap_key_cmp(k->b[order[j - 1]],
						  k->len[order[j - 1]],
						  k->b[i], k->len[i]) > 0; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	masstree_cursor_init(&cur, mt, GFP_KERNEL);
	got = masstree_first(&cur);
	for (i = 0; i < n; i++, got = masstree_next(&cur)) {
		KUNIT_EXPECT_PTR_EQ_MSG(test, got, mtt_entry(order[i]),
					"%s: cursor step %u", what, i);
		if (got != mtt_entry(order[i]))
			break;
		KUNIT_EXPECT_EQ(test, cur.len, (size_t)k->len[order[i]]);
		KUNIT_EXPECT_EQ(test, memcmp(cur.key, k->b[order[i]], cur.len), 0);
	}
	if (i == n)
		KUNIT_EXPECT_NULL_MSG(test, got, "%s: a key after the last", what);
	KUNIT_EXPECT_EQ(test, cur.err, 0);
	masstree_cursor_fini(&cur);

	fresh = kunit_kzalloc(test, sizeof(*fresh), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, fresh);
	masstree_init(fresh, 0);
	for (i = 0; i < k->n; i++)
		if (k->on[i])
			KUNIT_EXPECT_EQ(test, masstree_insert(fresh, k->b[i], k->len[i],
							      mtt_entry(i), GFP_KERNEL), 0);
	masstree_get_stats(mt, &st);
	masstree_get_stats(fresh, &fst);
	masstree_destroy(fresh);
	KUNIT_EXPECT_EQ_MSG(test, st.keys, (unsigned long)n, "%s", what);
	KUNIT_EXPECT_EQ_MSG(test, st.leaves, fst.leaves, "%s", what);
	KUNIT_EXPECT_EQ_MSG(test, st.internodes, fst.internodes, "%s", what);
	KUNIT_EXPECT_EQ_MSG(test, st.layers, fst.layers, "%s", what);
	/*
	 * Not the bytes: a write may take a suffix buffer larger than it
	 * needs (a fold sizes its buffer for the way up it saw first), so
	 * two maps of the same shape may differ there.
	 */
}

static void ls_insert(struct kunit *test, struct masstree *mt,
		      struct ls_keys *k, unsigned int i)
{
	KUNIT_ASSERT_EQ(test, masstree_insert(mt, k->b[i], k->len[i], mtt_entry(i),
					      GFP_KERNEL), 0);
	k->on[i] = true;
}

static void ls_erase(struct kunit *test, struct masstree *mt,
		     struct ls_keys *k, unsigned int i)
{
	KUNIT_EXPECT_PTR_EQ(test, masstree_erase(mt, k->b[i], k->len[i]),
			    mtt_entry(i));
	k->on[i] = false;
}

static struct ls_keys *ls_keys_alloc(struct kunit *test, u32 cap)
{
	struct ls_keys *k = kunit_kzalloc(test, sizeof(*k), GFP_KERNEL);
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, k);
	for (i = 0; i < 3; i++) {
		k->b[i] = kunit_kmalloc(test, cap, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, k->b[i]);
	}
	return k;
}

/*
 * Two keys of the longest length, sharing all but their last byte: two
 * leaves (the top layer's and the one where they differ) and one span,
 * not a leaf per 8 shared bytes. A third key leaving the span in its
 * middle adds one leaf; erased, the span is whole again.
 */
static void masstree_span_two_long_keys_cost_two_leaves(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);
	struct ls_keys *k = ls_keys_alloc(test, LS_MAXK);
	struct mst_node_stats n0, n1;
	struct masstree_stats st;
	unsigned long span;

	k->n = 3;
	k->len[0] = ls_pair_key(k->b[0], LS_MAXK, '0');
	k->len[1] = ls_pair_key(k->b[1], LS_MAXK, '9');
	k->len[2] = ls_third_key(k->b[2], LS_MAXK / 2, 1);
	mtt_settled_nodes(&n0);
	ls_insert(test, mt, k, 0);
	ls_insert(test, mt, k, 1);
	mtt_settled_nodes(&n1);
	masstree_get_stats(mt, &st);
	/* 8,190 whole slices shared after the first: one span of them. */
	span = 8 * ((LS_MAXK - 1) / 8 - 1);
	kunit_info(test, "two keys of %u bytes sharing %u: %lu leaves, %lu bytes",
		   LS_MAXK, LS_MAXK - 1, st.leaves, st.bytes);
	KUNIT_EXPECT_EQ(test, n1.leaves - n0.leaves, 2UL);
	KUNIT_EXPECT_EQ(test, n1.internodes, n0.internodes);
	KUNIT_EXPECT_EQ(test, st.leaves, 2UL);
	KUNIT_EXPECT_EQ(test, st.layers, 2UL);
	KUNIT_EXPECT_EQ(test, st.internodes, 0UL);
	/* Two nodes and the span, slab rounding at most doubling it. */
	KUNIT_EXPECT_LE(test, st.bytes, 2 * MST_NODE_BYTES +
			2 * (sizeof(struct mst_suffix) + MST_SPAN_CAP(span)));
	ls_expect(test, mt, k, "the pair");

	ls_insert(test, mt, k, 2);
	masstree_get_stats(mt, &st);
	KUNIT_EXPECT_EQ(test, st.leaves, 3UL);
	KUNIT_EXPECT_EQ(test, st.layers, 3UL);
	ls_expect(test, mt, k, "the pair and a key leaving the span");
	ls_erase(test, mt, k, 2);
	ls_expect(test, mt, k, "the pair again");
	ls_erase(test, mt, k, 0);
	ls_expect(test, mt, k, "one key");
	ls_erase(test, mt, k, 1);
	mtt_expect_all_freed(test);
}

/* Where the third key leaves the pair: byte 8 + 8 * chunk + at. */
struct ls_pos {
	u32 chunk;
	u32 at;
};

static const struct ls_pos ls_positions[] = {
	{ 0, 0 }, { 0, 5 }, { 1, 0 }, { 20, 3 }, { 38, 7 }, { 39, 0 },
	{ 39, 4 }, { 39, 7 },
	/* At the span's end, and in the layer after it. */
	{ 40, 0 }, { 40, 2 },
};

/*
 * The six orders of erasing three keys; each third key is erased in
 * LS_ORDERS of them, all six taken in turn over the positions.
 */
#define LS_ORDERS	(IS_ENABLED(CONFIG_KCSAN) ? 1 : 2)
static const u8 ls_orders[6][3] = {
	{ 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 },
};

/*
 * A third key that leaves the pair's span at its first, second, middle
 * or last slice, at a slice's first, middle or last byte, with a byte
 * below or above the pattern's or by ending there (also exactly at the
 * span's end), or after the span: every key found, in order, the map
 * valid and shaped as the same keys inserted afresh: one leaf more
 * than the pair when the span split. Then the three erased in two of
 * the six orders (each order comes at some positions): after each erase
 * the map is shaped as the survivors are afresh, the span merged back,
 * and the last erase frees everything.
 */
static void masstree_span_split_and_merge_at_each_slice(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);
	struct ls_keys *k = ls_keys_alloc(test, LS_KLEN + 8);
	struct masstree_stats st;
	unsigned int v, how, o, n, i;
	char what[80];
	u32 p;

	k->n = 3;
	k->len[0] = ls_pair_key(k->b[0], LS_KLEN, '0');
	k->len[1] = ls_pair_key(k->b[1], LS_KLEN, '9');
	for (v = 0; v < ARRAY_SIZE(ls_positions); v++) {
		p = 8 + 8 * ls_positions[v].chunk + ls_positions[v].at;
		for (how = 0; how < 3; how++) {
			/* Ending at the slot's own slice is no span's business. */
			if (how == 2 && p == 8)
				continue;
			k->len[2] = ls_third_key(k->b[2], p, how);
			for (n = 0, o = (v + how) % ARRAY_SIZE(ls_orders); n < LS_ORDERS;
			     n++, o = (o + 3) % ARRAY_SIZE(ls_orders)) {
				snprintf(what, sizeof(what), "leaves at %u (%s), erase order %u",
					 p, how == 2 ? "ends" : how ? "above" : "below", o);
				ls_insert(test, mt, k, 2);
				ls_insert(test, mt, k, 0);
				ls_insert(test, mt, k, 1);
				masstree_get_stats(mt, &st);
				/* Split: the span ends before where C leaves. */
				KUNIT_EXPECT_EQ_MSG(test, st.leaves,
						    p < LS_LOW || (p == LS_LOW && how == 2) ?
						    3UL : 2UL,
						    "%s", what);
				ls_expect(test, mt, k, what);
				for (i = 0; i < 3; i++) {
					ls_erase(test, mt, k, ls_orders[o][i]);
					if (i < 2)
						ls_expect(test, mt, k, what);
				}
				mtt_expect_all_freed(test);
				if (test->status == KUNIT_FAILURE)
					return;
			}
		}
	}
}

#define LS_CYCLES	200

/*
 * The chain attack on spans: keys that leave the pair's span at ever
 * other slices, each inserted and erased again, 200 times. Each erase
 * must merge the split span back: the pair's leaves and bytes stay what
 * they were, not one leaf more per cycle.
 */
static void masstree_span_insert_erase_cycles_do_not_build_a_chain(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);
	struct ls_keys *k = ls_keys_alloc(test, LS_KLEN + 8);
	struct masstree_stats pair, st;
	unsigned int c;
	u32 p;

	k->n = 3;
	k->len[0] = ls_pair_key(k->b[0], LS_KLEN, '0');
	k->len[1] = ls_pair_key(k->b[1], LS_KLEN, '9');
	ls_insert(test, mt, k, 0);
	ls_insert(test, mt, k, 1);
	masstree_get_stats(mt, &pair);
	KUNIT_EXPECT_EQ(test, pair.leaves, 2UL);
	for (c = 0; c < LS_CYCLES; c++) {
		/* Chunks in a scattered order, each byte of a slice in turn. */
		p = 8 + 8 * ((c * 17) % (LS_SPAN / 8)) + c % 8;
		k->len[2] = ls_third_key(k->b[2], p, c % 3);
		if (p == 8 && c % 3 == 2)
			k->len[2] = ls_third_key(k->b[2], p, 0);
		ls_insert(test, mt, k, 2);
		masstree_get_stats(mt, &st);
		KUNIT_EXPECT_EQ_MSG(test, st.leaves, 3UL, "cycle %u", c);
		ls_erase(test, mt, k, 2);
		masstree_get_stats(mt, &st);
		KUNIT_EXPECT_EQ_MSG(test, st.leaves, pair.leaves, "cycle %u", c);
		KUNIT_EXPECT_EQ_MSG(test, st.layers, pair.layers, "cycle %u", c);
		KUNIT_EXPECT_EQ_MSG(test, st.bytes, pair.bytes, "cycle %u", c);
		if (st.leaves != pair.leaves)
			break;
	}
	ls_expect(test, mt, k, "the pair after the cycles");
	ls_erase(test, mt, k, 0);
	ls_erase(test, mt, k, 1);
	mtt_expect_all_freed(test);
}

static struct kunit_case masstree_layers_cases[] = {
	KUNIT_CASE(masstree_span_two_long_keys_cost_two_leaves),
	KUNIT_CASE(masstree_span_split_and_merge_at_each_slice),
	KUNIT_CASE(masstree_span_insert_erase_cycles_do_not_build_a_chain),
	KUNIT_CASE_PARAM(masstree_erase_folds_a_chain_of_layers,
			 lt_variant_gen_params),
	KUNIT_CASE(masstree_erase_keeps_the_layers_when_the_fold_cannot_allocate),
	KUNIT_CASE(masstree_erase_folds_long_key_chains_to_a_lone_keys_bytes),
	KUNIT_CASE(masstree_erase_folds_layers_shrunk_or_emptied_below),
	KUNIT_CASE(masstree_erase_folds_a_chain_over_a_grown_layer),
	KUNIT_CASE(masstree_erase_shrinks_the_root_all_the_way_down),
	KUNIT_CASE(masstree_erase_most_keys_reports_bytes_per_key),
	{}
};

static struct kunit_suite masstree_layers_suite = {
	.name = "masstree_layers",
	.init = mtt_init,
	.exit = mtt_exit,
	.test_cases = masstree_layers_cases,
};

kunit_test_suite(masstree_layers_suite);

MODULE_DESCRIPTION("KUnit tests of layer chains folding back on erase");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
