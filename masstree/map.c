// SPDX-License-Identifier: GPL-2.0
/*
 * A map's life: initialisation and destruction.
 */
#include <linux/export.h>
#include <linux/masstree.h>
#include <linux/sched.h>

#include "internal.h"
#include "node.h"
#include "permutation.h"

#ifdef CONFIG_DEBUG_LOCK_ALLOC
/* The lockdep class of the node locks of maps made by DEFINE_MASSTREE(). */
struct lock_class_key masstree_static_key;
EXPORT_SYMBOL_GPL(masstree_static_key);
/*
 * Their lockdep name: lockdep compares name pointers, so every module's
 * maps must point at this one string, not at a literal of their own.
 */
char masstree_static_name[] __ro_after_init = "masstree_static";
EXPORT_SYMBOL_GPL(masstree_static_name);
#endif

/**
 * __masstree_init() - initialise an empty map; use masstree_init().
 * @mt: the map.
 * @flags: none are defined yet: 0.
 * @name: name of the map's lockdep class.
 * @key: the map's lockdep class key, one per call site.
 *
 * Context: Any context.
 */
void __masstree_init(struct masstree *mt, unsigned int flags,
		     const char *name, struct lock_class_key *key)
{
	RCU_INIT_POINTER(mt->root, NULL);
	mt->flags = flags;
	mt->suffix_hint = false;
	mt->pcpu = NULL;
	mst_stats_reset(mt);
#ifdef CONFIG_DEBUG_LOCK_ALLOC
	/* One key, two classes: subclass 0 the writer phase, 1 the nodes. */
	lockdep_init_map(&mt->dep_map, name, key, 0);
	lockdep_init_map(&mt->node_map, name, key, 0);
#endif
}
EXPORT_SYMBOL_GPL(__masstree_init);

/*
 * Queue a leaf's next layers and free its suffixes and spans. destroy's
 * work list is a node list (mst_node_list_push()): no allocation, no
 * recursion, and stack use independent of the number of layers.
 */
static void mst_leaf_release(struct mst_leaf *leaf, struct mst_node **list)
{
	u64 perm = leaf->permutation;
	unsigned int i;

	for (i = 0; i < mst_perm_size(perm); i++) {
		unsigned int slot = mst_perm_slot(perm, i);
		u8 klx = leaf->keylenx[slot];
		void *lv = rcu_dereference_protected(leaf->lv[slot], 1);
		struct mst_suffix *sfx;
		size_t skip;

		if (mst_klx_is_layer(klx))
			mst_node_list_push(list, mst_slot_layer(klx, lv, &skip));
		/* Readers may still hold the span: freed like a suffix. */
		if (klx == MST_KLX_SPAN)
			mst_suffix_free(mst_span_sfx(lv));
		sfx = mst_slot_suffix_locked(leaf, slot);
		if (sfx)
			mst_suffix_free(sfx);
	}
}

/**
 * masstree_destroy() - free every node of a map.
 * @mt: the map.
 *
 * The entries are not freed: they belong to the caller. Nodes are freed
 * after an RCU grace period, so readers still inside rcu_read_lock() stay
 * safe, but no new operation may start on @mt, and no writer may run
 * concurrently. Afterwards @mt is an empty map and may be used again.
 *
 * Context: Process context. Takes no locks; the caller excludes writers.
 */
void masstree_destroy(struct masstree *mt)
{
	struct mst_node *list = NULL;
	struct mst_node *node;

	node = rcu_dereference_protected(mt->root, 1);
	RCU_INIT_POINTER(mt->root, NULL);
	if (node)
		mst_node_list_push(&list, node);

	while ((node = mst_node_list_pop(&list))) {
		if (mst_node_is_leaf(node)) {
			mst_leaf_release(mst_to_leaf(node), &list);
		} else {
			struct mst_internode *in;
			unsigned int i;

			in = mst_to_internode(node);
			for (i = 0; i <= in->nkeys; i++)
				mst_node_list_push(&list,
						   rcu_dereference_protected(in->child[i], 1));
		}
		mst_node_free(node);
		cond_resched();
	}
	mst_stats_reset(mt);
}
EXPORT_SYMBOL_GPL(masstree_destroy);
