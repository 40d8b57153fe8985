// SPDX-License-Identifier: GPL-2.0
/*
 * Erase: remove a key from its leaf's permutation, then give back what
 * emptied: the leaf (unlinked from its neighbours and its parent, the
 * leftmost too), internodes left without children, and whole layers,
 * walking up layer by layer. Never allocates.
 */
#include <linux/masstree.h>
#include <linux/processor.h>

#include "internal.h"
#include "perm.h"
#include "version.h"

/* Queue a node, unlinked and unlocked, for an RCU-deferred free. */
static void mst_erase_queue(struct mst_write *w, struct mst_node *node)
{
	node->rcu.next = (struct callback_head *)w->free_nodes;
	w->free_nodes = node;
}

static void mst_erase_free(struct mst_write *w)
{
	struct mst_node *node;

	while ((node = w->free_nodes)) {
		w->free_nodes = (struct mst_node *)node->rcu.next;
		mst_node_free(node);
	}
}

/*
 * Mark deleted, unlock and queue @node and its locked ancestors up to
 * (not including) @stop. Returns how many internodes went.
 */
static long mst_erase_chain(struct mst_write *w, struct mst_node *node,
			    struct mst_node *stop)
{
	long internodes = 0;

	while (node != stop) {
		struct mst_node *up = rcu_dereference_protected(node->parent, 1);

		mst_mark(node, MST_V_DELETED);
		if (!(READ_ONCE(node->version) & MST_V_LEAF))
			internodes++;
		mst_unlock(w->mt, node);
		mst_erase_queue(w, node);
		if (READ_ONCE(node->version) & MST_V_ROOT)
			break;
		node = up;
	}
	return internodes;
}

/* Remove child @j from a locked internode. */
static void mst_internode_remove(struct mst_internode *p, unsigned int j)
{
	unsigned int i, n = p->nkeys;

	mst_mark(&p->node, MST_V_INSERTING);
	for (i = j; i < n; i++)
		rcu_assign_pointer(p->child[i],
				   rcu_dereference_protected(p->child[i + 1], 1));
	for (i = j ? j - 1 : 0; i + 1 < n; i++)
		WRITE_ONCE(p->ikey[i], p->ikey[i + 1]);
	ASSERT_EXCLUSIVE_WRITER(p->nkeys);
	WRITE_ONCE(p->nkeys, n - 1);
}

/*
 * Lock the left neighbour of an empty locked leaf, by trylock since the
 * lock order is left to right. On failure unlock the leaf, let the holder
 * go on, and relock: returns false if the leaf no longer needs removing.
 */
static bool mst_lock_prev(struct mst_write *w, struct mst_leaf *leaf,
			  struct mst_leaf **prevp)
{
	struct masstree *mt = w->mt;
	struct mst_leaf *prev;

	for (;;) {
		prev = rcu_dereference_protected(leaf->prev, 1);
		if (!prev || mst_trylock(mt, &prev->node)) {
			if (!prev || rcu_access_pointer(leaf->prev) == prev) {
				*prevp = prev;
				return true;
			}
			mst_unlock(mt, &prev->node);
			continue;
		}
		mst_unlock(mt, &leaf->node);
		cpu_relax();
		mst_lock(mt, &leaf->node);
		if ((READ_ONCE(leaf->node.version) & MST_V_DELETED) ||
		    mst_perm_size(leaf->permutation)) {
			mst_unlock(mt, &leaf->node);
			return false;
		}
	}
}

/*
 * Find and lock the leaf of the layer above that holds the slot for the
 * deleted layer root @root, and remove that slot. The cursor moves to the
 * layer above. Returns the locked leaf.
 */
static struct mst_leaf *mst_erase_layer_slot(struct mst_write *w,
					     struct mst_node *root)
{
	struct mst_cursor *c = &w->c;
	struct mst_leaf *up;

	mst_cursor_layer(c, c->off - 8, rcu_dereference_protected(root->parent, 1));
	c->stay = true;
	for (;;) {
		up = mst_lock_leaf(w);
		if (!WARN_ON_ONCE(!up || c->slot < 0 ||
				  up->keylenx[c->slot] != MST_KLX_LAYER ||
				  rcu_access_pointer(up->lv[c->slot]) != root))
			break;
		if (up)
			mst_unlock(w->mt, &up->node);
		return NULL;
	}
	c->stay = false;
	ASSERT_EXCLUSIVE_WRITER(up->permutation);
	/* Unpublish the slot: pairs with the acquire in mst_walk(). */
	smp_store_release(&up->permutation,
			  mst_perm_remove(up->permutation, c->pos));
	return up;
}

/*
 * An empty locked leaf: unlink it, and whatever empties with it, layer
 * after layer. Iterative: stack use does not depend on the number of
 * layers.
 */
static void mst_erase_cleanup(struct mst_write *w, struct mst_leaf *leaf)
{
	struct masstree *mt = w->mt;

	while (leaf) {
		struct mst_node *node = &leaf->node, *x, *top;
		struct mst_internode *p = NULL;
		struct mst_leaf *prev = NULL, *next, *up;
		unsigned int j = 0;
		long internodes;

		if (!(READ_ONCE(node->version) & MST_V_ROOT) &&
		    !mst_lock_prev(w, leaf, &prev))
			return;

		/* Lock the ancestors that empty with it, and the one that stays. */
		x = node;
		top = NULL;
		while (!(READ_ONCE(x->version) & MST_V_ROOT)) {
			p = mst_lock_parent(mt, x);
			if (p->nkeys) {
				for (j = 0; j <= p->nkeys; j++)
					if (rcu_access_pointer(p->child[j]) == x)
						break;
				WARN_ON_ONCE(j > p->nkeys);
				top = &p->node;
				break;
			}
			x = &p->node;
		}

		if (top) {
			/* The leaf's range goes to a neighbour. */
			next = rcu_dereference_protected(leaf->next, 1);
			if (j == 0 && next)
				WRITE_ONCE(next->lowkey, leaf->lowkey);
			if (prev) {
				mst_mark(&prev->node, MST_V_SPLITTING);
				ASSERT_EXCLUSIVE_WRITER(prev->next);
				rcu_assign_pointer(prev->next, next);
			}
			if (next)
				rcu_assign_pointer(next->prev, prev);
			mst_internode_remove(p, j);
			internodes = mst_erase_chain(w, node, top);
			mst_stat_add(mt, MST_STAT_LEAVES, -1);
			mst_stat_add(mt, MST_STAT_INTERNODES, -internodes);
			if (prev)
				mst_unlock(mt, &prev->node);
			mst_unlock(mt, top);
			return;
		}

		/* x is the layer's root: the whole layer is empty. */
		WARN_ON_ONCE(prev || rcu_access_pointer(leaf->next));
		if (!w->c.off) {
			rcu_assign_pointer(mt->root, NULL);
			up = NULL;
		} else {
			up = mst_erase_layer_slot(w, x);
		}
		internodes = mst_erase_chain(w, node, NULL);
		mst_stat_add(mt, MST_STAT_LEAVES, -1);
		mst_stat_add(mt, MST_STAT_INTERNODES, -internodes);
		mst_stat_add(mt, MST_STAT_LAYERS, -1);
		if (up && mst_perm_size(up->permutation)) {
			mst_unlock(mt, &up->node);
			up = NULL;
		}
		leaf = up;
	}
}

/**
 * mst_erase_locked() - erase the cursor's key from its locked leaf.
 * @w: the write; @w->c matched a key (not a layer) in @leaf.
 * @leaf: the locked leaf; unlocked on return.
 *
 * Context: Inside the write's locking phase, RCU read lock held.
 */
void mst_erase_locked(struct mst_write *w, struct mst_leaf *leaf)
{
	struct masstree *mt = w->mt;
	struct mst_cursor *c = &w->c;
	struct mst_suffix *sfx;
	u64 perm;

	sfx = rcu_dereference_protected(leaf->suffix[c->slot], 1);
	perm = mst_perm_remove(leaf->permutation, c->pos);
	ASSERT_EXCLUSIVE_WRITER(leaf->permutation);
	/* Unpublish the key: pairs with the acquire in mst_walk(). */
	smp_store_release(&leaf->permutation, perm);
	mst_stat_add(mt, MST_STAT_KEYS, -1);
	if (sfx) {
		mst_stat_add(mt, MST_STAT_SUFFIX_BYTES, -(long)sfx->size);
		mst_suffix_free(sfx);
	}
	if (mst_perm_size(perm))
		mst_unlock(mt, &leaf->node);
	else
		mst_erase_cleanup(w, leaf);
	mst_erase_free(w);
}
