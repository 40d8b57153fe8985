// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of masstree_validate() itself: a private map with several
 * internode levels, a span leading to a layer and suffix keys; each case breaks
 * one invariant through the internal structures, expects validate to
 * report it, then restores the map and expects it to pass again. Every
 * corruption is undone before the map is destroyed. validate's pr_err()
 * lines in the log are expected.
 */
#include <kunit/test.h>
#include <linux/masstree.h>
#include <linux/module.h>
#include <linux/string.h>

#include "internal.h"
#include "masstree_test.h"
#include "permutation.h"

/* 8-byte keys 0, 16, 32...: enough for a top layer of height >= 3. */
#define VT_INT_KEYS	4000
#define VT_INT_STEP	16
/*
 * Two keys of VT_CHAIN_LEN bytes that differ only in the last byte share
 * their first (VT_CHAIN_LEN - 1) / 8 slices: the top layer's slot for the
 * first holds a span of the whole slices after it (VT_SPAN_LEN bytes),
 * leading to one layer of one leaf holding both keys.
 */
#define VT_CHAIN_LEN	40
#define VT_SPAN_LEN	(((VT_CHAIN_LEN - 1) / 8 - 1) * 8)
/* Keys that continue past their first slice: stored with a suffix. */
#define VT_SFX_KEYS	3

/* Each has its own first slice, above the span's, so comes after it. */
/* Past 16 bytes: a key of 9 to 16 would end in its leaf's bag. */
static const char vt_sfx_fmt[] = "x%u suffix key, long";
/* A key that ends in its leaf's bag: 12 bytes. */
static const char vt_bag_key[] = "y0 bag key!!";

/**
 * struct vt_map - the nodes the cases corrupt, and what they saved.
 * @mt: the map.
 * @inode: an internode under the top root with at least 2 separators.
 * @leaf0: leftmost leaf of the top layer.
 * @leaf1: its right sibling.
 * @layer_leaf: the top-layer leaf holding the span slot.
 * @layer_slot: that slot.
 * @span: the span it holds.
 * @layer_root: root of the layer below the span.
 * @sfx_leaf: a top-layer leaf holding a suffix key.
 * @sfx_slot: that key's slot.
 * @bag_leaf: the top-layer leaf holding vt_bag_key.
 * @bag_slot: that key's slot.
 * @saved: an integer a case saved.
 * @saved_ptr: a pointer a case saved.
 * @saved_klx: a keylenx a case saved.
 */
struct vt_map {
	struct masstree *mt;
	struct mst_internode *inode;
	struct mst_leaf *leaf0, *leaf1;
	struct mst_leaf *layer_leaf;
	unsigned int layer_slot;
	struct mst_span *span;
	struct mst_node *layer_root;
	struct mst_leaf *sfx_leaf;
	unsigned int sfx_slot;
	struct mst_leaf *bag_leaf;
	unsigned int bag_slot;
	u64 saved;
	void *saved_ptr;
	u8 saved_klx;
};

/**
 * struct vt_case - one invariant to break.
 * @name: the invariant.
 * @corrupt: breaks it when @undo is false, restores the map when true.
 */
struct vt_case {
	const char *name;
	void (*corrupt)(struct vt_map *m, bool undo);
};

static struct mst_node *vt_child(struct mst_node *n, unsigned int i)
{
	return rcu_dereference_protected(mst_to_internode(n)->child[i], 1);
}

static struct mst_leaf *vt_next(struct mst_leaf *leaf)
{
	return rcu_dereference_protected(leaf->next, 1);
}

/* Swap the first two keys of leaf0's permutation: keys out of order. */
static void vt_perm_order(struct vt_map *m, bool undo)
{
	u64 p = m->leaf0->permutation;

	if (undo) {
		m->leaf0->permutation = m->saved;
		return;
	}
	m->saved = p;
	p = mst_perm_set_slot(p, 0, mst_perm_slot(m->saved, 1));
	m->leaf0->permutation = mst_perm_set_slot(p, 1, mst_perm_slot(m->saved, 0));
}

/* The slot of key 0 listed again in place of key 1. */
static void vt_perm_dup(struct vt_map *m, bool undo)
{
	u64 p = m->leaf0->permutation;

	if (undo) {
		m->leaf0->permutation = m->saved;
		return;
	}
	m->saved = p;
	m->leaf0->permutation = mst_perm_set_slot(p, 1, mst_perm_slot(p, 0));
}

/* leaf0's parent pointer names its grandparent. */
static void vt_parent(struct vt_map *m, bool undo)
{
	struct mst_node *n = &m->leaf0->node;

	if (undo) {
		RCU_INIT_POINTER(n->parent, m->saved_ptr);
		return;
	}
	m->saved_ptr = rcu_dereference_protected(n->parent, 1);
	RCU_INIT_POINTER(n->parent,
			 rcu_dereference_protected(((struct mst_node *)m->saved_ptr)->parent, 1));
}

/* leaf1's prev link points at itself. */
static void vt_prev(struct vt_map *m, bool undo)
{
	RCU_INIT_POINTER(m->leaf1->prev, undo ? m->leaf0 : m->leaf1);
}

/* leaf0's next link skips leaf1. */
static void vt_next_link(struct vt_map *m, bool undo)
{
	RCU_INIT_POINTER(m->leaf0->next, undo ? m->leaf1 : vt_next(m->leaf1));
}

/* The layer root below the span names a leaf, not its span, as parent. */
static void vt_layer_up(struct vt_map *m, bool undo)
{
	struct mst_node *n = m->layer_root;

	if (undo) {
		RCU_INIT_POINTER(n->parent, m->saved_ptr);
		return;
	}
	m->saved_ptr = rcu_dereference_protected(n->parent, 1);
	RCU_INIT_POINTER(n->parent, &m->leaf0->node);
}

/*
 * The layer root below the span names the layer holding the span slot as
 * its parent, untagged: right for a LAYER slot, wrong for a span, whose
 * lower root must name the span so that a climb skips its bytes.
 */
static void vt_span_parent_up(struct vt_map *m, bool undo)
{
	struct mst_node *n = m->layer_root;

	if (undo) {
		RCU_INIT_POINTER(n->parent, m->saved_ptr);
		return;
	}
	m->saved_ptr = rcu_dereference_protected(n->parent, 1);
	RCU_INIT_POINTER(n->parent, m->span->up);
}

/* A span length that is not a whole number of slices. */
static void vt_span_len(struct vt_map *m, bool undo)
{
	if (undo) {
		m->span->len = m->saved;
		return;
	}
	m->saved = m->span->len;
	m->span->len -= 4;
}

/* A span whose up link names the layer below it, not the one above. */
static void vt_span_up(struct vt_map *m, bool undo)
{
	if (undo) {
		m->span->up = m->saved_ptr;
		return;
	}
	m->saved_ptr = m->span->up;
	m->span->up = m->layer_root;
}

/* Flip a version bit: the second flip undoes the first. */
static void vt_version_bit(struct mst_node *n, unsigned long bit)
{
	WRITE_ONCE(n->version, READ_ONCE(n->version) ^ bit);
}

static void vt_locked(struct vt_map *m, bool undo)
{
	vt_version_bit(&m->leaf1->node, MST_V_LOCKED);
}

static void vt_inserting(struct vt_map *m, bool undo)
{
	vt_version_bit(&m->leaf1->node, MST_V_INSERTING);
}

static void vt_splitting(struct vt_map *m, bool undo)
{
	vt_version_bit(&m->inode->node, MST_V_SPLITTING);
}

static void vt_deleted(struct vt_map *m, bool undo)
{
	vt_version_bit(&m->leaf1->node, MST_V_DELETED);
}

/* A leaf in the middle of a layer claims to be its root. */
static void vt_root_set(struct vt_map *m, bool undo)
{
	vt_version_bit(&m->leaf1->node, MST_V_ROOT);
}

/* A layer's root without its root bit. */
static void vt_root_clear(struct vt_map *m, bool undo)
{
	vt_version_bit(m->layer_root, MST_V_ROOT);
}

/* Swap the first two separators of an internode. */
static void vt_sep_order(struct vt_map *m, bool undo)
{
	swap(m->inode->ikey[0], m->inode->ikey[1]);
}

/* leaf1's lowkey differs from its separator in the parent. */
static void vt_lowkey(struct vt_map *m, bool undo)
{
	m->leaf1->lowkey += undo ? -1 : 1;
}

/* A reserved value (low bits 0b10) in an entry slot. */
static void vt_reserved(struct vt_map *m, bool undo)
{
	unsigned int s = mst_perm_slot(m->leaf1->permutation, 0);

	if (undo) {
		RCU_INIT_POINTER(m->leaf1->lv[s], m->saved_ptr);
		return;
	}
	m->saved_ptr = rcu_dereference_protected(m->leaf1->lv[s], 1);
	RCU_INIT_POINTER(m->leaf1->lv[s], (void *)0x102UL);
}

static void vt_nr_keys(struct vt_map *m, bool undo)
{
	atomic_long_add(undo ? -1 : 1, &m->mt->stat[MST_STAT_KEYS]);
}

/* A key flagged as continuing in a suffix that has none. */
static void vt_sfx_missing(struct vt_map *m, bool undo)
{
	void __rcu **p = &m->sfx_leaf->lv[m->sfx_slot];

	if (undo) {
		RCU_INIT_POINTER(*p, m->saved_ptr);
		return;
	}
	m->saved_ptr = rcu_dereference_protected(*p, 1);
	RCU_INIT_POINTER(*p, NULL);
}

/*
 * A key that ends in its slice, its slot still pointing at a suffix: read
 * as an entry, the suffix goes uncounted.
 */
static void vt_sfx_extra(struct vt_map *m, bool undo)
{
	u8 *klx = &m->sfx_leaf->keylenx[m->sfx_slot];

	if (undo) {
		*klx = m->saved_klx;
		return;
	}
	m->saved_klx = *klx;
	*klx = 8;
}

/*
 * The suffix key's slot turned into a second link to the span (so to the
 * layer below it), every counter adjusted to what a walk visiting that
 * layer twice would count: only the double reach itself is left to
 * report. The span slot comes first in the same leaf, so the layer below
 * was the only root on the work list when it was pushed.
 */
static void vt_layer_twice(struct vt_map *m, bool undo)
{
	struct mst_leaf *leaf = m->sfx_leaf;
	unsigned int s = m->sfx_slot;
	struct mst_suffix *sfx;
	struct masstree *mt = m->mt;
	long sign = undo ? -1 : 1;

	if (undo) {
		sfx = m->saved_ptr;
		leaf->keylenx[s] = m->saved_klx;
		RCU_INIT_POINTER(leaf->lv[s], sfx);
	} else {
		sfx = mst_slot_suffix_locked(leaf, s);
		m->saved_ptr = sfx;
		m->saved_klx = leaf->keylenx[s];
		leaf->keylenx[s] = MST_KLX_SPAN;
		RCU_INIT_POINTER(leaf->lv[s], m->span);
	}
	/*
	 * One key with a suffix less; the lower layer's 2 keys, its one
	 * leaf and the span's bytes counted again.
	 */
	atomic_long_add(sign * (2 - 1), &mt->stat[MST_STAT_KEYS]);
	atomic_long_add(sign, &mt->stat[MST_STAT_LEAVES]);
	atomic_long_add(sign, &mt->stat[MST_STAT_LAYERS]);
	atomic_long_add(sign * ((long)m->span->size - (long)sfx->size),
			&mt->stat[MST_STAT_SUFFIX_BYTES]);
}

/* A bag entry with a byte past its key's end (the slice is zero-padded). */
static void vt_bag_past_end(struct vt_map *m, bool undo)
{
	mst_leaf_bag_locked(m->bag_leaf)->slice[m->bag_slot] ^= 1;
}

static const struct vt_case vt_cases[] = {
	{ "leaf keys out of order", vt_perm_order },
	{ "duplicate slot in a permutation", vt_perm_dup },
	{ "wrong parent pointer", vt_parent },
	{ "wrong sibling prev link", vt_prev },
	{ "wrong sibling next link", vt_next_link },
	{ "wrong layer up link", vt_layer_up },
	{ "span's lower root names the layer above", vt_span_parent_up },
	{ "span length not a multiple of 8", vt_span_len },
	{ "span's up link names the layer below", vt_span_up },
	{ "layer reached twice", vt_layer_twice },
	{ "lock bit left set", vt_locked },
	{ "inserting bit left set", vt_inserting },
	{ "splitting bit left set on an internode", vt_splitting },
	{ "deleted bit on a reachable node", vt_deleted },
	{ "root bit on a non-root leaf", vt_root_set },
	{ "root bit missing on a layer root", vt_root_clear },
	{ "internode separators out of order", vt_sep_order },
	{ "wrong lowkey", vt_lowkey },
	{ "reserved entry stored", vt_reserved },
	{ "key counter off by one", vt_nr_keys },
	{ "suffix flag without a suffix", vt_sfx_missing },
	{ "suffix without the suffix flag", vt_sfx_extra },
	{ "bag entry bytes past the key's end", vt_bag_past_end },
};

static void vt_desc(const struct vt_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s", c->name);
}

KUNIT_ARRAY_PARAM(vt, vt_cases, vt_desc);

/* Fill the map and find the nodes the cases need. */
static void vt_build(struct kunit *test, struct vt_map *m)
{
	struct masstree *mt = m->mt;
	struct masstree_stats st;
	u8 key[VT_CHAIN_LEN];
	struct mst_node *root;
	char sk[32];
	unsigned int i;

	for (i = 0; i < VT_INT_KEYS; i++) {
		mtt_key64(key, (u64)i * VT_INT_STEP);
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, key, 8, mtt_entry(i), GFP_KERNEL), 0);
	}
	memset(key, 'c', VT_CHAIN_LEN);
	KUNIT_ASSERT_EQ(test, masstree_insert(mt, key, VT_CHAIN_LEN, mtt_entry(1), GFP_KERNEL), 0);
	key[VT_CHAIN_LEN - 1] = 'd';
	KUNIT_ASSERT_EQ(test, masstree_insert(mt, key, VT_CHAIN_LEN, mtt_entry(2), GFP_KERNEL), 0);
	for (i = 0; i < VT_SFX_KEYS; i++) {
		snprintf(sk, sizeof(sk), vt_sfx_fmt, i);
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, sk, strlen(sk), mtt_entry(i),
						      GFP_KERNEL), 0);
	}
	KUNIT_ASSERT_EQ(test, masstree_insert(mt, vt_bag_key, strlen(vt_bag_key),
					      mtt_entry(1), GFP_KERNEL), 0);
	masstree_get_stats(mt, &st);
	KUNIT_ASSERT_GE(test, st.height, 3UL);
	/* The top layer and the one below the span, wherever the keys differ. */
	KUNIT_ASSERT_EQ(test, st.layers, 2UL);

	root = rcu_dereference_protected(mt->root, 1);
	KUNIT_ASSERT_FALSE(test, mst_node_is_leaf(root));
	m->inode = mst_to_internode(vt_child(root, 0));
	KUNIT_ASSERT_FALSE(test, mst_node_is_leaf(&m->inode->node));
	KUNIT_ASSERT_GE(test, m->inode->nkeys, 2);
	root = &m->inode->node;
	while (!mst_node_is_leaf(root))
		root = vt_child(root, 0);
	m->leaf0 = mst_to_leaf(root);
	m->leaf1 = vt_next(m->leaf0);
	KUNIT_ASSERT_NOT_NULL(test, m->leaf1);
	KUNIT_ASSERT_GE(test, mst_perm_size(m->leaf0->permutation), 2U);

	m->layer_leaf = mtt_find_klx(m->leaf0, MST_KLX_SPAN, &m->layer_slot);
	KUNIT_ASSERT_NOT_NULL(test, m->layer_leaf);
	m->span = rcu_dereference_protected(m->layer_leaf->lv[m->layer_slot], 1);
	KUNIT_ASSERT_EQ(test, m->span->len, (u32)VT_SPAN_LEN);
	KUNIT_ASSERT_PTR_EQ(test, m->span->up, rcu_dereference_protected(mt->root, 1));
	m->layer_root = m->span->root;
	KUNIT_ASSERT_TRUE(test, mst_node_is_leaf(m->layer_root));
	KUNIT_ASSERT_EQ(test, mst_perm_size(mst_to_leaf(m->layer_root)->permutation), 2U);
	m->sfx_leaf = mtt_find_klx(m->leaf0, MST_KLX_SUFFIX, &m->sfx_slot);
	KUNIT_ASSERT_NOT_NULL(test, m->sfx_leaf);
	/* vt_layer_twice needs the layer slot first, in the same leaf. */
	KUNIT_ASSERT_PTR_EQ(test, m->sfx_leaf, m->layer_leaf);
	m->bag_leaf = mtt_find_klx(m->leaf0, strlen(vt_bag_key), &m->bag_slot);
	KUNIT_ASSERT_NOT_NULL(test, m->bag_leaf);
	KUNIT_ASSERT_NOT_NULL(test, mst_leaf_bag_locked(m->bag_leaf));
	KUNIT_ASSERT_EQ(test, masstree_validate(mt), 0);
}

static void masstree_validate_reports_corruption(struct kunit *test)
{
	const struct vt_case *c = test->param_value;
	struct vt_map m = { .mt = mtt_map(test) };

	vt_build(test, &m);
	c->corrupt(&m, false);
	KUNIT_EXPECT_EQ(test, masstree_validate(m.mt), -EINVAL);
	c->corrupt(&m, true);
	KUNIT_EXPECT_EQ(test, masstree_validate(m.mt), 0);
}

static struct kunit_case masstree_validate_cases[] = {
	KUNIT_CASE_PARAM(masstree_validate_reports_corruption, vt_gen_params),
	{}
};

static struct kunit_suite masstree_validate_suite = {
	.name = "masstree_validate",
	.init = mtt_init,
	.exit = mtt_exit,
	.test_cases = masstree_validate_cases,
};

kunit_test_suite(masstree_validate_suite);

MODULE_DESCRIPTION("KUnit tests of masstree_validate(): each invariant broken once");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
