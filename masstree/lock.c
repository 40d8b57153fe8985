// SPDX-License-Identifier: GPL-2.0
/*
 * Writers' locking: find and lock the leaf a key belongs in (a lockless
 * walk, then the lock and a recheck), and lock a node's parent. Lock
 * order and the protocol: the DOC block of walk.c.
 */
#include <linux/masstree.h>
#include <linux/rcupdate.h>

#include "internal.h"
#include "walk.h"

/**
 * mst_lock_leaf() - find and lock the leaf a writer's key belongs in.
 * @w: the write; @w->c says where to start (see mst_walk()).
 *
 * On return the leaf is locked, is a live leaf whose range holds the key,
 * and @w->c has been searched in it under the lock; the key's slot, if
 * present, is not a layer (unless @w->c.stay), or is a span the key
 * leaves inside.
 *
 * Context: RCU read lock held, inside the write's locking phase.
 * Return: the locked leaf, or NULL if the map is empty.
 */
struct mst_leaf *mst_lock_leaf(struct mst_write *w)
{
	struct mst_walk_pos *c = &w->c;
	struct mst_leaf *leaf, *next;
	unsigned long v;

	for (;;) {
		leaf = mst_walk(w->mt, c, NULL);
		if (!leaf)
			return NULL;
		mst_hook(MASSTREE_HOOK_LOCK_LEAF);
		mst_lock(w->mt, &leaf->node);
		v = READ_ONCE(leaf->node.version);
		/*
		 * Unchanged since the walk validated it (an erase changes only
		 * the permutation; losing the right neighbour only widens the
		 * leaf's range): the walk's answer stands.
		 */
		if (!((v ^ c->v) & ~MST_V_LOCKED) && leaf->permutation == c->perm)
			return leaf;
		if (v & MST_V_DELETED) {
			mst_unlock(w->mt, &leaf->node);
			mst_count(MASSTREE_TC_SPLIT_RECHECK);
			c->node = &leaf->node == c->layer_root ? NULL :
				  c->layer_root;
			continue;
		}
		if (!(v & MST_V_LEAF)) {
			/* A root leaf that split since: walk down from it. */
			mst_unlock(w->mt, &leaf->node);
			mst_count(MASSTREE_TC_SPLIT_RECHECK);
			continue;
		}
		next = rcu_dereference_protected(leaf->next, 1);
		if (next && c->slice >= next->lowkey) {
			mst_unlock(w->mt, &leaf->node);
			mst_count(MASSTREE_TC_BLINK);
			c->node = &next->node;
			continue;
		}
		mst_leaf_search(leaf, leaf->permutation, c);
		if (c->slot >= 0 && mst_klx_is_layer(leaf->keylenx[c->slot]) &&
		    !c->stay) {
			u8 klx = leaf->keylenx[c->slot];
			void *lv = rcu_dereference_protected(leaf->lv[c->slot], 1);
			struct mst_node *root;
			size_t skip;

			/* A span the key leaves: the insert splits it. */
			if (!mst_slot_holds_key(klx, lv, 0, c))
				return leaf;
			root = mst_slot_layer(klx, lv, &skip);
			mst_unlock(w->mt, &leaf->node);
			mst_walk_pos_layer(c, c->off + skip, root);
			continue;
		}
		return leaf;
	}
}

/**
 * mst_lock_parent() - lock the parent of a locked non-root node.
 * @mt: the map.
 * @node: the locked node.
 *
 * A concurrent split of the parent may move @node to a new sibling; the
 * parent pointer is stable once the parent it names is locked.
 *
 * Context: Inside a write's locking phase, @node locked.
 * Return: the locked parent.
 */
struct mst_internode *mst_lock_parent(struct masstree *mt, struct mst_node *node)
{
	struct mst_node *p;

	for (;;) {
		/*
		 * Not yet protected: a split of the parent moves @node under
		 * its own lock, not ours. Pairs with rcu_assign_pointer() in
		 * mst_overfull_fill(), so that the new parent's init is seen.
		 */
		p = rcu_dereference(node->parent);
		mst_hook(MASSTREE_HOOK_LOCK_PARENT);
		mst_lock(mt, p);
		if (rcu_access_pointer(node->parent) == p)
			return mst_to_internode(p);
		mst_unlock(mt, p);
		mst_count(MASSTREE_TC_SPLIT_RECHECK);
	}
}
