/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The lockless read side, inlined into its users: the leaf search and
 * mst_walk(), which lookups (walk.c) and writers finding their leaf
 * (lock.c) share without a call. The design is the DOC block of walk.c.
 */
#ifndef _MASSTREE_WALK_H
#define _MASSTREE_WALK_H

#include <linux/masstree.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/string.h>

#include "internal.h"
#include "permutation.h"
#include "version.h"

/**
 * mst_suffix_equal() - do a suffix and the key's rest match?
 * @sfx: the suffix.
 * @c: the key at a layer where it continues past the slice.
 *
 * Inline: a lookup or writer's walk calls it on every key with a
 * suffix.
 *
 * Return: true if they match.
 */
static inline bool mst_suffix_equal(struct mst_suffix *sfx,
				    const struct mst_walk_pos *c)
{
	size_t rest = c->len - c->off - 8;

	return sfx->len == rest &&
	       !memcmp(sfx->data, c->key + c->off + 8, rest);
}

/*
 * Does the key go on through span @span, in the slot whose slice it
 * matched: does it hold the span's bytes and more after them?
 */
static inline bool mst_span_holds_key(const struct mst_span *span,
				      const struct mst_walk_pos *c)
{
	return c->len - c->off - 8 > span->len &&
	       !memcmp(span->data, c->key + c->off + 8, span->len);
}

/* Does a key whose second slice is in a bag, read as @klx and @bag2, match @c? */
static inline bool mst_bag_holds_key(u8 klx, u64 bag2,
				     const struct mst_walk_pos *c)
{
	return c->len - c->off == klx &&
	       bag2 == mst_slice(c->key, c->len, c->off + 8);
}

/*
 * Does a slot that mst_leaf_search() matched to @c (same slice, same
 * class), read as @klx and @lv (and @bag2, its bag entry, if @klx says it
 * has one), hold @c's whole key, or lead to the layer that would? Only a
 * bag entry, a suffix or a span can still differ. What a lookup and a
 * writer under its lock both ask.
 */
static __always_inline bool mst_slot_holds_key(u8 klx, void *lv, u64 bag2,
					       const struct mst_walk_pos *c)
{
	if (likely(klx <= 8))
		return true;
	if (mst_klx_in_bag(klx))
		return mst_bag_holds_key(klx, bag2, c);
	/* A suffix and a span share a bit; a layer slot has neither. */
	if (!(klx & MST_KLX_SUFFIX))
		return true;
	if (klx == MST_KLX_SUFFIX)
		return mst_suffix_equal(lv, c);
	return mst_span_holds_key(lv, c);
}

/**
 * mst_leaf_search() - find a key's position among a leaf's keys.
 * @leaf: the leaf; racy reads are fine, the caller validates.
 * @perm: the permutation to search.
 * @c: the key; sets @c->pos and @c->slot.
 *
 * Binary: the permutation lists the slots in key order. A slot's length
 * class is read only when its slice equals the key's, which in a leaf of
 * distinct slices happens at the match alone. Inlined into the walk and
 * the writer's recheck: it runs on every lookup.
 *
 * Context: RCU read lock or the leaf's lock.
 */
static __always_inline void mst_leaf_search(struct mst_leaf *leaf, u64 perm,
					    struct mst_walk_pos *c)
{
	unsigned int lo = 0, hi = mst_perm_size(perm);
	u64 slice = c->slice;

	c->slot = -1;
	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		unsigned int s = mst_perm_slot(perm, mid);
		u64 k = READ_ONCE(leaf->ikey[s]);
		unsigned int cls;

		if (k != slice) {
			if (k < slice)
				lo = mid + 1;
			else
				hi = mid;
			continue;
		}
		cls = mst_klx_cls(READ_ONCE(leaf->keylenx[s]));
		if (cls < c->cls) {
			lo = mid + 1;
		} else if (cls > c->cls) {
			hi = mid;
		} else {
			c->slot = s;
			lo = mid;
			break;
		}
	}
	c->pos = lo;
}

/*
 * @n changed since @v: its new stable version. A split of @n since (its
 * split counter moved), unless @n is the layer's root (which grows in
 * place and keeps the whole range), may have moved the key right of it.
 */
static __always_inline unsigned long mst_walk_again(struct mst_walk_pos *c,
						    struct mst_node *n,
						    unsigned long v, bool *blink)
{
	unsigned long now = mst_stable_version(n);

	if (((now ^ v) >> MST_V_VSPLIT_SHIFT) && n != c->layer_root)
		*blink = true;
	return now;
}

/* What a validated read of a leaf gave the walk. */
struct mst_leaf_read {
	u64 perm;
	void *lv;
	struct mst_leaf *next;
	u64 bag2;
	u8 klx;
};

/*
 * Search leaf @n for @c in the window opened at *@v, reading the match's
 * slot and, with *@blink, the right neighbour. Returns true once the read
 * validated (the window closed); false to read again, with *@v the new
 * stable version or *@blink newly set.
 */
static __always_inline bool mst_walk_read_leaf(struct mst_walk_pos *c,
					       struct mst_node *n,
					       unsigned long *v, bool *blink,
					       struct mst_leaf_read *r)
{
	struct mst_leaf *leaf = mst_to_leaf(n);
	unsigned long now;

	r->lv = NULL;
	r->klx = 0;
	/* Pairs with the release that published the permutation. */
	r->perm = smp_load_acquire(&leaf->permutation);
	mst_hook(MASSTREE_HOOK_READ);
	mst_leaf_search(leaf, r->perm, c);
	if (c->slot >= 0) {
		r->klx = READ_ONCE(leaf->keylenx[c->slot]);
		r->lv = rcu_dereference(leaf->lv[c->slot]);
		r->bag2 = unlikely(mst_klx_in_bag(r->klx)) ?
			  mst_slot_bag2(leaf, c->slot) : 0;
	}
	r->next = NULL;
	if (*blink)
		r->next = rcu_dereference(leaf->next);
	mst_hook(MASSTREE_HOOK_READ);
	/* Pairs with the release in mst_unlock(). */
	smp_rmb();
	now = READ_ONCE(n->version);
	if ((now ^ *v) > MST_V_LOCKED) {
		mst_count(MASSTREE_TC_READ_RETRY);
		*v = mst_walk_again(c, n, *v, blink);
		return false;
	}
	/*
	 * Locked: an erase may be giving the leaf's range to its right
	 * neighbour, whose lower bound drops before the leaf is marked
	 * deleted. Search it again, right neighbour included.
	 */
	if (unlikely((now & MST_V_LOCKED) && !*blink)) {
		*blink = true;
		return false;
	}
	preempt_enable();
	return true;
}

/*
 * After a validated read @r of leaf @n: where the walk goes on, the right
 * neighbour the key moved to or the root of the layer its slot leads to
 * (*@blink then false), through a span if the key holds it; NULL if it
 * ends at @n, with @c's result and *@entry set.
 */
static __always_inline struct mst_node *mst_walk_leaf_next(struct mst_walk_pos *c,
							   struct mst_node *n,
							   unsigned long v,
							   const struct mst_leaf_read *r,
							   bool *blink,
							   void **entry)
{
	bool found;

	mst_hook(MASSTREE_HOOK_VALIDATED);
	/* Validated: now the pointers may be followed. */
	found = c->slot >= 0 && mst_slot_holds_key(r->klx, r->lv, r->bag2, c);

	if (!found && r->next && c->slice >= READ_ONCE(r->next->lowkey)) {
		mst_count(MASSTREE_TC_BLINK);
		return &r->next->node;
	}
	if (found && mst_klx_is_layer(r->klx) && !c->stay) {
		struct mst_node *root;
		size_t skip;

		root = mst_slot_layer(r->klx, r->lv, &skip);
		mst_walk_pos_layer(c, c->off + skip, root);
		*blink = false;
		return root;
	}
	if (entry)
		*entry = found ? mst_slot_entry(r->klx, r->lv) : NULL;
	c->node = n;
	c->v = v;
	c->perm = r->perm;
	return NULL;
}

/**
 * mst_walk() - find the leaf for a key, locklessly.
 * @mt: the map.
 * @c: the key; the walk starts at @c->node (the top if NULL) in the layer
 *	@c->layer_root, and ends with @c on the layer of the returned leaf.
 * @entry: set to the key's entry, or NULL if absent; NULL if the caller
 *	wants the leaf only.
 *
 * Descends through layers until the key's slot is not a layer. The answer
 * is a validated snapshot: the key was (or was not) present at one moment
 * during the call.
 *
 * Inlined into its two callers, a lookup and a writer's leaf lock, so
 * that neither pays a call and its register saves per operation.
 *
 * Context: RCU read lock held; not NMI.
 * Return: the leaf that holds, or would hold, the key; NULL if the map is
 * empty.
 */
static __always_inline struct mst_leaf *mst_walk(struct masstree *mt,
						 struct mst_walk_pos *c,
						 void **entry)
{
	struct mst_node *n = c->node, *child;
	/*
	 * May the key lie right of @n's range? Not when @n is a layer's root,
	 * nor when it was reached from a parent that checked out after @v
	 * was taken; a start anywhere else, a move right, and a split of @n
	 * since @v say it may: then a leaf's right neighbour is checked.
	 */
	bool blink = n && n != c->layer_root;
	/* Each leaf read sets what the walk reads of it: not zeroed first. */
	struct mst_leaf_read r __uninitialized;
	unsigned long v, cv;

restart:
	if (!n) {
		n = rcu_dereference(mt->root);
		if (!n) {
			if (entry)
				*entry = NULL;
			return NULL;
		}
		mst_walk_pos_layer(c, 0, n);
		blink = false;
	}
	preempt_disable();
	v = mst_stable_version(n);
	for (;;) {
		/* A live internode, the common case, in one test. */
		if (likely(!(v & (MST_V_DELETED | MST_V_LEAF)))) {
			child = mst_read_child(n, v, c->slice, &cv);
			if (!child) {
				v = mst_walk_again(c, n, v, &blink);
				continue;
			}
			n = child;
			v = cv;
			continue;
		}
		if (v & MST_V_DELETED) {
			preempt_enable();
			mst_count(MASSTREE_TC_LAYER_RETRY);
			n = n == c->layer_root ? NULL : c->layer_root;
			blink = false;
			goto restart;
		}
		if (!mst_walk_read_leaf(c, n, &v, &blink, &r))
			continue;
		child = mst_walk_leaf_next(c, n, v, &r, &blink, entry);
		if (!child)
			return mst_to_leaf(n);
		n = child;
		goto restart;
	}
}

#endif /* _MASSTREE_WALK_H */
