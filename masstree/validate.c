// SPDX-License-Identifier: GPL-2.0
/*
 * masstree_validate(): check every invariant of a quiescent map. For tests.
 */
#include <linux/export.h>
#include <linux/masstree.h>
#include <linux/printk.h>
#include <linux/slab.h>
#include <kunit/visibility.h>

#include "internal.h"
#include "permutation.h"
#include "version.h"

#define MST_VALIDATE_MAX_HEIGHT	64

/*
 * Layer roots are linked through rcu.next: NULL means "not reached yet",
 * so every list ends with this sentinel instead of NULL, and a root stays
 * marked (on the done list) until masstree_validate() returns. A queued
 * root's layer offset (the key bytes above it) rides in rcu.func, which
 * no live node uses either (call_rcu() sets it), but for a root leaf's
 * bag pointer (the offset rides in the bag then): climbing the parent
 * links instead would cost a walk per layer, quadratic in a deep chain.
 */
#define MST_VLIST_END	((struct callback_head *)1UL)
/* In rcu.next: the queued root's offset is in rcu.func (else in its bag). */
#define MST_VLIST_FUNC	2UL

struct mst_vstate {
	long keys, leaves, internodes, layers, sfx_bytes;
	struct mst_node *work;	/* layer roots to visit */
	struct mst_node *done;	/* layer roots visited */
};

/* Does @n's queued offset ride in rcu.func (MST_VLIST_FUNC)? */
static bool mst_vlist_off_in_func(struct mst_node *n)
{
	return (unsigned long)mst_node_rcu(n)->next & MST_VLIST_FUNC;
}

/* Where rcu.next of @n links to, without the flag. */
static struct callback_head *mst_vlist_link(struct mst_node *n)
{
	return (void *)((unsigned long)mst_node_rcu(n)->next & ~MST_VLIST_FUNC);
}

/* Mark @n reached and put it on the list @head, keeping its flag. */
static void mst_vlist_push(struct mst_node **head, struct mst_node *n)
{
	unsigned long flag = mst_vlist_off_in_func(n) ? MST_VLIST_FUNC : 0;
	struct callback_head *link = *head ? mst_node_rcu(*head) : MST_VLIST_END;

	mst_node_rcu(n)->next = (void *)((unsigned long)link | flag);
	*head = n;
}

/* The bag of node @n, if rcu.func holds one (not an offset of ours). */
static struct mst_bag *mst_vlist_bag(struct mst_node *n)
{
	if (mst_vlist_off_in_func(n))
		return NULL;
	return mst_node_bag_locked(n);
}

/* Queue layer root @n, whose keys' first @off bytes lie above it. */
static void mst_vlist_queue(struct mst_node **head, struct mst_node *n,
			    size_t off)
{
	struct mst_bag *bag = mst_vlist_bag(n);

	if (bag) {
		bag->validate_off = off;
	} else {
		mst_node_rcu(n)->func = (typeof(mst_node_rcu(n)->func))off;
		mst_node_rcu(n)->next = (void *)MST_VLIST_FUNC;
	}
	mst_vlist_push(head, n);
}

/* The layer offset mst_vlist_queue() stored for @n. */
static size_t mst_vlist_off(struct mst_node *n)
{
	if (mst_vlist_off_in_func(n))
		return (size_t)mst_node_rcu(n)->func;
	return mst_vlist_bag(n)->validate_off;
}

/* Take the first node off the list @head; it stays marked. */
static struct mst_node *mst_vlist_pop(struct mst_node **head)
{
	struct mst_node *n = *head;

	*head = mst_vlist_link(n) == MST_VLIST_END ? NULL :
		mst_rcu_node(mst_vlist_link(n));
	return n;
}

/* Report a broken invariant. */
static int mst_bad(const char *what, const void *node)
{
	pr_err("masstree: validate: %s (node %p)\n", what, node);
	return -EINVAL;
}

/* Version bits of a node at rest. */
static int mst_check_version(struct mst_node *n, bool leaf, bool root)
{
	unsigned long v = n->version;

	if (v & (MST_V_LOCKED | MST_V_DIRTY))
		return mst_bad("node locked or dirty", n);
	if (v & MST_V_DELETED)
		return mst_bad("deleted node reachable", n);
	if (!!(v & MST_V_LEAF) != leaf)
		return mst_bad("leaf bit wrong", n);
	if (!!(v & MST_V_ROOT) != root)
		return mst_bad("root bit wrong", n);
	return 0;
}

static int mst_check_internode(struct mst_internode *in, bool root)
{
	unsigned int i;
	int err = mst_check_version(&in->node, false, root);

	if (err)
		return err;
	if (in->nkeys > MST_NODE_WIDTH)
		return mst_bad("internode nkeys > 15", in);
	for (i = 0; i + 1 < in->nkeys; i++)
		if (in->ikey[i] >= in->ikey[i + 1])
			return mst_bad("internode keys out of order", in);
	for (i = in->nkeys; i < MST_NODE_WIDTH; i++)
		if (in->ikey[i] != MST_IKEY_NONE)
			return mst_bad("internode unused key slot not MST_IKEY_NONE", in);
	for (i = 0; i <= in->nkeys; i++) {
		struct mst_node *ch = rcu_dereference_protected(in->child[i], 1);

		if (!ch)
			return mst_bad("internode child NULL", in);
		if (rcu_access_pointer(ch->parent) != &in->node)
			return mst_bad("child's parent link wrong", ch);
	}
	return 0;
}

/*
 * Climb from a leaf to its layer's root: check the links, find the
 * leaf's bounds, and check each internode once (from its leftmost leaf).
 */
static int mst_check_path(struct mst_vstate *st, struct mst_leaf *leaf,
			  struct mst_node *root, unsigned int *depth,
			 u64 *lo, bool *lo_set, u64 *hi, bool *hi_set)
{
	struct mst_node *x = &leaf->node;
	bool leftmost = true;
	unsigned int d = 0;
	int err;

	*lo_set = false;
	*hi_set = false;
	while (x != root) {
		struct mst_node *up = rcu_dereference_protected(x->parent, 1);
		struct mst_internode *p;
		unsigned int j;

		if (!up || d >= MST_VALIDATE_MAX_HEIGHT || (up->version & MST_V_LEAF))
			return mst_bad("no path to the layer root", x);
		p = mst_to_internode(up);
		j = mst_internode_child_index(p, x);
		if (j > p->nkeys)
			return mst_bad("node missing from its parent", x);
		if (j > 0 && !*lo_set) {
			*lo = p->ikey[j - 1];
			*lo_set = true;
		}
		if (j < p->nkeys && !*hi_set) {
			*hi = p->ikey[j];
			*hi_set = true;
		}
		if (leftmost && j == 0) {
			err = mst_check_internode(p, &p->node == root);
			if (err)
				return err;
			st->internodes++;
			/* A root kept its bag from when it was a leaf. */
			if (mst_vlist_bag(&p->node)) {
				if (&p->node != root)
					return mst_bad("bag on an internode below the root", p);
				st->sfx_bytes += MST_NODE_BYTES;
			}
		}
		leftmost &= j == 0;
		x = &p->node;
		d++;
	}
	*depth = d;
	return 0;
}

/*
 * Where a layer's check stands: the layer's offset (key bytes above it),
 * the current leaf's bounds from the separators above it, and the last
 * key seen (keys ascend across leaves).
 */
struct mst_vlayer {
	size_t off;
	u64 lo, hi, last;
	bool lo_set, hi_set, have_last;
	unsigned int lastcls;
};

/* Go down the leftmost children of @root to its first leaf; count levels. */
static int mst_check_leftmost(struct mst_node *root, struct mst_node **leafp,
			      unsigned int *depth)
{
	struct mst_node *n = root;

	*leafp = NULL;
	*depth = 0;
	while (!(n->version & MST_V_LEAF)) {
		if (*depth >= MST_VALIDATE_MAX_HEIGHT)
			return mst_bad("layer too tall", n);
		n = rcu_dereference_protected(mst_to_internode(n)->child[0], 1);
		if (!n)
			return mst_bad("internode child NULL", root);
		(*depth)++;
	}
	*leafp = n;
	return 0;
}

/* A leaf of @root's layer, @prev its left neighbour: links, depth, bounds. */
static int mst_check_leaf(struct mst_vstate *st, struct mst_vlayer *ly,
			  struct mst_leaf *leaf, struct mst_leaf *prev,
			  struct mst_node *root, unsigned int depth)
{
	u64 perm = leaf->permutation;
	unsigned int d = 0;
	int err;

	err = mst_check_version(&leaf->node, true, &leaf->node == root);
	if (err)
		return err;
	if (rcu_access_pointer(leaf->prev) != prev)
		return mst_bad("leaf prev link wrong", leaf);
	if (!mst_perm_valid(perm))
		return mst_bad("permutation invalid", leaf);
	if (!mst_perm_size(perm))
		return mst_bad("empty leaf in the map", leaf);
	ly->lo = 0;
	ly->hi = 0;
	err = mst_check_path(st, leaf, root, &d, &ly->lo, &ly->lo_set, &ly->hi,
			     &ly->hi_set);
	if (err)
		return err;
	if (d != depth)
		return mst_bad("leaves at different depths", leaf);
	if (ly->lo_set != !!prev)
		return mst_bad("leftmost leaf mismatch", leaf);
	if (ly->lo_set && leaf->lowkey != ly->lo)
		return mst_bad("leaf lowkey differs from its separator", leaf);
	st->leaves++;
	/* A bag is key suffix storage, counted as a node's worth. */
	if (mst_vlist_bag(&leaf->node))
		st->sfx_bytes += MST_NODE_BYTES;
	return 0;
}

/*
 * A slot of a leaf of @root's layer that leads to a layer, read as @klx
 * and @lv: the links both ways (a span's included), and the layer below
 * queued at its offset.
 */
static int mst_check_layer_slot(struct mst_vstate *st,
				const struct mst_vlayer *ly, u8 klx, void *lv,
				struct mst_node *root)
{
	struct mst_node *sub, *parent = root;
	size_t skip;

	if (klx == MST_KLX_SPAN) {
		struct mst_span *span = lv;

		if (!span->len || span->len % 8)
			return mst_bad("span length not a positive multiple of 8",
				       span);
		if (span->size != ksize(span))
			return mst_bad("span size is not its slab object's", span);
		if (span->up != root)
			return mst_bad("span's up link wrong", span);
		if (!span->root)
			return mst_bad("span without a layer", span);
		/* A span is a suffix buffer, and counted as one. */
		st->sfx_bytes += span->size;
		parent = mst_span_parent(span);
	}
	sub = mst_slot_layer(klx, lv, &skip);
	if (rcu_access_pointer(sub->parent) != parent)
		return mst_bad("layer's up link wrong", sub);
	if (mst_node_rcu(sub)->next)
		return mst_bad("layer reached twice", sub);
	mst_vlist_queue(&st->work, sub, ly->off + skip);
	return 0;
}

/* Slot @s of a leaf of @root's layer: key, order, bounds, and what it holds. */
static int mst_check_slot(struct mst_vstate *st, struct mst_vlayer *ly,
			  struct mst_leaf *leaf, unsigned int s,
			  struct mst_node *root)
{
	u8 klx = leaf->keylenx[s];
	u64 ik = leaf->ikey[s];
	struct mst_suffix *sfx;
	void *lv;

	lv = rcu_dereference_protected(leaf->lv[s], 1);
	if (!lv)
		return mst_bad("NULL entry, suffix or layer", leaf);
	sfx = mst_slot_suffix_locked(leaf, s);
	if (sfx)
		lv = rcu_dereference_protected(sfx->value, 1);
	if (klx > 8 && !mst_klx_in_bag(klx) && klx != MST_KLX_SUFFIX &&
	    klx != MST_KLX_LAYER && klx != MST_KLX_SPAN)
		return mst_bad("bad keylenx", leaf);
	if (mst_klx_in_bag(klx)) {
		struct mst_bag *bag = mst_vlist_bag(&leaf->node);
		u64 b;

		if (!bag)
			return mst_bad("bag entry without a bag", leaf);
		b = bag->slice[s];
		if (klx < MST_KLX_BAG_MAX && (b & (~0ULL >> (8 * (klx - 8)))))
			return mst_bad("bag entry bytes past key length", leaf);
		if (ly->off + klx > MASSTREE_MAX_KEY_LEN)
			return mst_bad("key longer than MASSTREE_MAX_KEY_LEN", leaf);
	}
	/* A layer below the top holds only keys longer than its offset. */
	if (!klx && ly->off)
		return mst_bad("key ends at its layer's offset", leaf);
	if (klx <= 8 && ly->off + klx > MASSTREE_MAX_KEY_LEN)
		return mst_bad("key longer than MASSTREE_MAX_KEY_LEN", leaf);
	if (ly->have_last &&
	    mst_cmp(ly->last, ly->lastcls, ik, mst_klx_cls(klx)) >= 0)
		return mst_bad("keys out of order", leaf);
	if (ly->lo_set && ik < ly->lo)
		return mst_bad("key below bound", leaf);
	if (ly->hi_set && ik >= ly->hi)
		return mst_bad("key above bound", leaf);
	if (klx < 8)
		if (ik & (klx ? ~0ULL >> (8 * klx) : ~0ULL))
			return mst_bad("slice bytes past key length", leaf);
	ly->last = ik;
	ly->lastcls = mst_klx_cls(klx);
	ly->have_last = true;
	if (!lv)
		return mst_bad("NULL entry", leaf);
	if (sfx) {
		if (!sfx->len)
			return mst_bad("empty suffix", leaf);
		/* What the statistics count is what the slab holds. */
		if (sfx->size != ksize(sfx))
			return mst_bad("suffix size is not its slab object's",
				       leaf);
		if (ly->off + 8 + sfx->len > MASSTREE_MAX_KEY_LEN)
			return mst_bad("key longer than MASSTREE_MAX_KEY_LEN",
				       leaf);
		st->sfx_bytes += sfx->size;
	}
	if (mst_klx_is_layer(klx))
		return mst_check_layer_slot(st, ly, klx, lv, root);
	if (masstree_is_reserved(lv))
		return mst_bad("reserved entry stored", leaf);
	st->keys++;
	return 0;
}

/* The layer whose root is @root: every leaf, left to right, and its slots. */
static int mst_check_layer(struct mst_vstate *st, struct mst_node *root)
{
	struct mst_vlayer ly = { .off = mst_vlist_off(root) };
	struct mst_leaf *leaf, *prev = NULL;
	struct mst_node *n;
	unsigned int depth, i;
	int err;

	st->layers++;
	if (!(root->version & MST_V_ROOT))
		return mst_bad("layer root without root bit", root);
	err = mst_check_leftmost(root, &n, &depth);
	if (err)
		return err;
	for (leaf = mst_to_leaf(n); leaf;
	     prev = leaf, leaf = rcu_dereference_protected(leaf->next, 1)) {
		u64 perm = leaf->permutation;

		err = mst_check_leaf(st, &ly, leaf, prev, root, depth);
		if (err)
			return err;
		for (i = 0; i < mst_perm_size(perm); i++) {
			err = mst_check_slot(st, &ly, leaf,
					     mst_perm_slot(perm, i), root);
			if (err)
				return err;
		}
	}
	return 0;
}

/**
 * masstree_validate() - check every invariant of a map.
 * @mt: the map; no writer may run (readers may).
 *
 * Checks version bits at rest, permutations, key order within and across
 * leaves, separators and leaf bounds, parent, child, sibling and layer
 * links (through spans: their length, their up link, and the tagged
 * parent of the layer below), key lengths (none over
 * %MASSTREE_MAX_KEY_LEN, none ending at a lower layer's offset), equal
 * leaf depths, no empty leaf or layer, and the statistics counters (spans
 * count as suffix bytes). A layer below the top with one entry passes:
 * erase folds it into the slot above, but keeps it when that fold cannot
 * allocate. Uses the nodes' rcu_head as a work list, which no live node
 * otherwise uses.
 *
 * Context: Process context; writers excluded by the caller.
 * Return: 0, or -EINVAL after a pr_err() naming what broke.
 */
int masstree_validate(struct masstree *mt)
{
	struct mst_vstate st = { };
	struct mst_node *root;
	int err = 0;

	root = rcu_dereference_protected(mt->root, 1);
	if (root) {
		if (rcu_access_pointer(root->parent)) {
			pr_err("masstree: validate: top root has an up link\n");
			return -EINVAL;
		}
		mst_vlist_queue(&st.work, root, 0);
	}
	while (st.work) {
		root = mst_vlist_pop(&st.work);
		mst_vlist_push(&st.done, root);
		if (!err)
			err = mst_check_layer(&st, root);
	}
	/* Unmark every root reached: rcu.next of a live node is NULL. */
	while (st.done) {
		root = mst_vlist_pop(&st.done);
		if (mst_vlist_off_in_func(root))
			mst_node_rcu(root)->func = NULL;
		mst_node_rcu(root)->next = NULL;
	}
	if (err)
		return err;
	if (st.keys != mst_stat_read(mt, MST_STAT_KEYS) ||
	    st.leaves != mst_stat_read(mt, MST_STAT_LEAVES) ||
	    st.internodes != mst_stat_read(mt, MST_STAT_INTERNODES) ||
	    st.layers != mst_stat_read(mt, MST_STAT_LAYERS) ||
	    st.sfx_bytes != mst_stat_read(mt, MST_STAT_SUFFIX_BYTES)) {
		pr_err("masstree: validate: counters %ld/%ld/%ld/%ld/%ld, found %ld/%ld/%ld/%ld/%ld keys/leaves/internodes/layers/suffix bytes\n",
		       mst_stat_read(mt, MST_STAT_KEYS),
		       mst_stat_read(mt, MST_STAT_LEAVES),
		       mst_stat_read(mt, MST_STAT_INTERNODES),
		       mst_stat_read(mt, MST_STAT_LAYERS),
		       mst_stat_read(mt, MST_STAT_SUFFIX_BYTES),
		       st.keys, st.leaves, st.internodes, st.layers,
		       st.sfx_bytes);
		return -EINVAL;
	}
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(masstree_validate);
