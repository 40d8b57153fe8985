// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of a map's life: initialisation, node memory and destruction.
 */
#include <kunit/test.h>
#include <linux/masstree.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/slab.h>

#include "node.h"
#include "permutation.h"

static DEFINE_MASSTREE(lifecycle_static_map);

/* Nodes still allocated by masstree.ko, after pending RCU frees ran. */
static void settled_stats(struct mst_node_stats *stats)
{
	rcu_barrier();
	mst_node_stats_read(stats);
}

static void expect_stats_equal(struct kunit *test, const struct mst_node_stats *a,
			       const struct mst_node_stats *b)
{
	KUNIT_EXPECT_EQ(test, a->leaves, b->leaves);
	KUNIT_EXPECT_EQ(test, a->internodes, b->internodes);
	KUNIT_EXPECT_EQ(test, a->suffixes, b->suffixes);
}

static void masstree_init_gives_empty_map(struct kunit *test)
{
	struct masstree *mt = kunit_kzalloc(test, sizeof(*mt), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, mt);
	memset(mt, 0xa5, sizeof(*mt));
	masstree_init(mt, 0);
	KUNIT_EXPECT_NULL(test, rcu_access_pointer(mt->root));
	KUNIT_EXPECT_EQ(test, mt->flags, 0U);
}

static void define_masstree_gives_empty_map(struct kunit *test)
{
	KUNIT_EXPECT_NULL(test, rcu_access_pointer(lifecycle_static_map.root));
	KUNIT_EXPECT_EQ(test, lifecycle_static_map.flags, 0U);
}

static void masstree_destroy_empty_map_frees_nothing(struct kunit *test)
{
	struct mst_node_stats before, after;
	struct masstree mt;

	masstree_init(&mt, 0);
	settled_stats(&before);
	masstree_destroy(&mt);
	settled_stats(&after);
	expect_stats_equal(test, &before, &after);
	KUNIT_EXPECT_NULL(test, rcu_access_pointer(mt.root));
}

static struct mst_leaf *new_leaf(void)
{
	struct mst_node *node = mst_node_alloc(GFP_KERNEL);

	if (!node)
		return NULL;
	mst_node_init_leaf(node, 0);
	return mst_to_leaf(node);
}

static struct mst_internode *new_internode(void)
{
	struct mst_node *node = mst_node_alloc(GFP_KERNEL);

	if (!node)
		return NULL;
	mst_node_init_internode(node, 0);
	return mst_to_internode(node);
}

static void mst_node_init_leaf_gives_empty_leaf(struct kunit *test)
{
	struct mst_node_stats before, during, after;
	struct mst_leaf *leaf;

	settled_stats(&before);
	leaf = new_leaf();
	KUNIT_ASSERT_NOT_NULL(test, leaf);
	mst_node_stats_read(&during);
	KUNIT_EXPECT_EQ(test, during.leaves, before.leaves + 1);
	KUNIT_EXPECT_TRUE(test, mst_node_is_leaf(&leaf->node));
	KUNIT_EXPECT_EQ(test, mst_perm_size(leaf->permutation), 0U);
	KUNIT_EXPECT_NULL(test, rcu_access_pointer(leaf->node.parent));
	mst_node_free(&leaf->node);
	settled_stats(&after);
	expect_stats_equal(test, &before, &after);
}

static void mst_node_init_internode_counts_and_frees(struct kunit *test)
{
	struct mst_node_stats before, during, after;
	struct mst_internode *in;

	settled_stats(&before);
	in = new_internode();
	KUNIT_ASSERT_NOT_NULL(test, in);
	mst_node_stats_read(&during);
	KUNIT_EXPECT_EQ(test, during.internodes, before.internodes + 1);
	KUNIT_EXPECT_FALSE(test, mst_node_is_leaf(&in->node));
	KUNIT_EXPECT_EQ(test, in->nkeys, 0);
	mst_node_free(&in->node);
	settled_stats(&after);
	expect_stats_equal(test, &before, &after);
}

static void mst_suffix_make_copies_bytes(struct kunit *test)
{
	static const u8 bytes[] = "a suffix of some length";
	struct mst_node_stats before, after;
	struct mst_suffix *sfx;

	settled_stats(&before);
	sfx = mst_suffix_make(bytes, sizeof(bytes), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, sfx);
	KUNIT_EXPECT_EQ(test, sfx->len, (u32)sizeof(bytes));
	KUNIT_EXPECT_EQ(test, memcmp(sfx->data, bytes, sizeof(bytes)), 0);
	mst_suffix_free(sfx);
	settled_stats(&after);
	expect_stats_equal(test, &before, &after);
}

/*
 * The statistics count a node as MST_NODE_BYTES and a suffix as its
 * ->size: what the slab says the objects take (KASAN keeps metadata in a
 * node's padding, so there ksize() answers the bare object).
 */
static void node_and_suffix_bytes_are_the_slabs(struct kunit *test)
{
	static const u8 bytes[] = "a suffix of some length";
	struct mst_suffix *sfx;
	struct mst_node *node;

	node = mst_node_alloc(GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, node);
	if (IS_ENABLED(CONFIG_KASAN))
		KUNIT_EXPECT_GE(test, ksize(node), MST_NODE_SIZE);
	else
		KUNIT_EXPECT_EQ(test, ksize(node), MST_NODE_BYTES);
	mst_node_discard(node);

	sfx = mst_suffix_make(bytes, sizeof(bytes), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, sfx);
	KUNIT_EXPECT_EQ(test, (size_t)sfx->size, ksize(sfx));
	KUNIT_EXPECT_GE(test, (size_t)sfx->size,
			struct_size(sfx, data, sizeof(bytes)));
	mst_suffix_free(sfx);
}

/*
 * Five cache lines a node on 64-bit, and the short suffixes of 16- to
 * 32-byte keys in their own caches, each no bigger than kmalloc() would
 * take and counted at what the slab holds.
 */
static void node_and_small_suffixes_are_small(struct kunit *test)
{
	static const u32 caps[] = { 1, 7, 8, 9, 16, 17, 24, 25, 40, 300 };
	static const u8 bytes[300];
	struct mst_suffix *sfx;
	unsigned int i;
	size_t want;

	if (sizeof(void *) == 8)
		KUNIT_EXPECT_LE(test, MST_NODE_SIZE, (size_t)320);
	for (i = 0; i < ARRAY_SIZE(caps); i++) {
		sfx = mst_suffix_make(bytes, caps[i], GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, sfx);
		want = struct_size(sfx, data, caps[i]);
		KUNIT_EXPECT_EQ(test, (size_t)sfx->size, ksize(sfx));
		KUNIT_EXPECT_EQ(test, (size_t)sfx->size, mst_suffix_bytes(caps[i]));
		KUNIT_EXPECT_GE(test, (size_t)sfx->size, want);
		KUNIT_EXPECT_LE(test, (size_t)sfx->size, kmalloc_size_roundup(want));
		if (caps[i] <= 24)
			KUNIT_EXPECT_EQ(test, (size_t)sfx->size, ALIGN(want, 8));
		mst_suffix_discard(sfx);
	}
}

/*
 * Put a key in the next free slot of @leaf and publish it; with @sfx, the
 * key continues in it (and @keylenx is not used), @lv its entry.
 */
static void leaf_append(struct mst_leaf *leaf, u64 ikey, u8 keylenx, void *lv,
			struct mst_suffix *sfx)
{
	u64 perm = leaf->permutation;
	unsigned int n = mst_perm_size(perm);
	unsigned int slot = mst_perm_slot(perm, n);

	leaf->ikey[slot] = ikey;
	leaf->keylenx[slot] = sfx ? MST_KLX_SUFFIX : keylenx;
	if (sfx) {
		RCU_INIT_POINTER(sfx->value, lv);
		lv = sfx;
	}
	RCU_INIT_POINTER(leaf->lv[slot], lv);
	leaf->permutation = perm + 1;
}

/*
 * Two layers under an internode: destroy must find and free every node and
 * suffix, however deep the layers, without touching the entries.
 */
static void masstree_destroy_frees_every_layer(struct kunit *test)
{
	static const u8 tail[] = "tail bytes";
	struct mst_node_stats before, built, after;
	struct mst_leaf *left, *right, *layer1, *layer2;
	struct mst_internode *in;
	struct masstree mt;
	int entry;

	masstree_init(&mt, 0);
	settled_stats(&before);
	in = new_internode();
	left = new_leaf();
	right = new_leaf();
	layer1 = new_leaf();
	layer2 = new_leaf();
	KUNIT_ASSERT_TRUE(test, in && left && right && layer1 && layer2);

	leaf_append(layer2, 7, 8, &entry, mst_suffix_make(tail, sizeof(tail), GFP_KERNEL));
	leaf_append(layer1, 1, MST_KLX_LAYER, layer2, NULL);
	leaf_append(layer1, 2, 3, &entry, NULL);
	leaf_append(left, 10, MST_KLX_LAYER, layer1, NULL);
	leaf_append(right, 20, 8, &entry, NULL);
	in->nkeys = 1;
	in->ikey[0] = 20;
	RCU_INIT_POINTER(in->child[0], &left->node);
	RCU_INIT_POINTER(in->child[1], &right->node);
	rcu_assign_pointer(mt.root, &in->node);

	mst_node_stats_read(&built);
	KUNIT_EXPECT_EQ(test, built.leaves, before.leaves + 4);
	KUNIT_EXPECT_EQ(test, built.internodes, before.internodes + 1);
	KUNIT_EXPECT_EQ(test, built.suffixes, before.suffixes + 1);

	masstree_destroy(&mt);
	KUNIT_EXPECT_NULL(test, rcu_access_pointer(mt.root));
	settled_stats(&after);
	expect_stats_equal(test, &before, &after);
}

static struct kunit_case masstree_lifecycle_cases[] = {
	KUNIT_CASE(masstree_init_gives_empty_map),
	KUNIT_CASE(define_masstree_gives_empty_map),
	KUNIT_CASE(masstree_destroy_empty_map_frees_nothing),
	KUNIT_CASE(mst_node_init_leaf_gives_empty_leaf),
	KUNIT_CASE(mst_node_init_internode_counts_and_frees),
	KUNIT_CASE(mst_suffix_make_copies_bytes),
	KUNIT_CASE(node_and_suffix_bytes_are_the_slabs),
	KUNIT_CASE(node_and_small_suffixes_are_small),
	KUNIT_CASE(masstree_destroy_frees_every_layer),
	{}
};

static struct kunit_suite masstree_lifecycle_suite = {
	.name = "masstree_lifecycle",
	.test_cases = masstree_lifecycle_cases,
};

kunit_test_suite(masstree_lifecycle_suite);

MODULE_DESCRIPTION("KUnit tests of masstree's map lifecycle and node memory");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
