// SPDX-License-Identifier: GPL-2.0
/*
 * Node memory: one kmem_cache per node kind, frees after an RCU grace
 * period, and live counters that module exit checks for leaks.
 */
#include <linux/atomic.h>
#include <linux/bug.h>
#include <linux/slab.h>
#include <kunit/visibility.h>

#include "node.h"
#include "perm.h"

static struct kmem_cache *mt_leaf_cache;
static struct kmem_cache *mt_internode_cache;

/*
 * Counted here and not through slab statistics so that a leak is caught at
 * module exit even without kmemleak, whose scans miss objects that stale
 * pointers still reach.
 */
static atomic_long_t mt_live_leaves;
static atomic_long_t mt_live_internodes;
static atomic_long_t mt_live_suffixes;

/**
 * mt_node_stats_read() - read the live node counters.
 * @stats: filled with the counters.
 *
 * Context: Any context.
 */
void mt_node_stats_read(struct mt_node_stats *stats)
{
	stats->leaves = atomic_long_read(&mt_live_leaves);
	stats->internodes = atomic_long_read(&mt_live_internodes);
	stats->suffixes = atomic_long_read(&mt_live_suffixes);
}
EXPORT_SYMBOL_IF_KUNIT(mt_node_stats_read);

/**
 * mt_leaf_alloc() - allocate an empty leaf.
 * @gfp: allocation flags.
 *
 * Context: As @gfp allows.
 * Return: a zeroed leaf with an empty permutation, or NULL.
 */
struct mt_leaf *mt_leaf_alloc(gfp_t gfp)
{
	struct mt_leaf *leaf = kmem_cache_zalloc(mt_leaf_cache, gfp);

	if (!leaf)
		return NULL;
	leaf->node.version = MT_V_LEAF;
	leaf->permutation = MT_PERM_EMPTY;
	atomic_long_inc(&mt_live_leaves);
	return leaf;
}
EXPORT_SYMBOL_IF_KUNIT(mt_leaf_alloc);

/**
 * mt_internode_alloc() - allocate an empty internode.
 * @gfp: allocation flags.
 *
 * Context: As @gfp allows.
 * Return: a zeroed internode, or NULL.
 */
struct mt_internode *mt_internode_alloc(gfp_t gfp)
{
	struct mt_internode *in = kmem_cache_zalloc(mt_internode_cache, gfp);

	if (!in)
		return NULL;
	atomic_long_inc(&mt_live_internodes);
	return in;
}
EXPORT_SYMBOL_IF_KUNIT(mt_internode_alloc);

/**
 * mt_suffix_alloc() - allocate a key suffix holding a copy of some bytes.
 * @bytes: the bytes.
 * @len: how many.
 * @gfp: allocation flags.
 *
 * Context: As @gfp allows.
 * Return: the suffix, or NULL.
 */
struct mt_suffix *mt_suffix_alloc(const u8 *bytes, u32 len, gfp_t gfp)
{
	struct mt_suffix *sfx = kmalloc(struct_size(sfx, data, len), gfp);

	if (!sfx)
		return NULL;
	sfx->len = len;
	memcpy(sfx->data, bytes, len);
	atomic_long_inc(&mt_live_suffixes);
	return sfx;
}
EXPORT_SYMBOL_IF_KUNIT(mt_suffix_alloc);

/*
 * call_rcu() and not kfree_rcu(): rcu_barrier() in module exit must wait
 * for every pending free before the caches are destroyed, and in 6.1 it does
 * not wait for kfree_rcu() batches. The callbacks touch only the node, never
 * the map, which may be gone by then.
 */
static void mt_node_free_rcu(struct rcu_head *head)
{
	struct mt_node *node = container_of(head, struct mt_node, rcu);

	if (node->version & MT_V_LEAF) {
		kmem_cache_free(mt_leaf_cache, node);
		atomic_long_dec(&mt_live_leaves);
	} else {
		kmem_cache_free(mt_internode_cache, node);
		atomic_long_dec(&mt_live_internodes);
	}
}

static void mt_suffix_free_rcu(struct rcu_head *head)
{
	kfree(container_of(head, struct mt_suffix, rcu));
	atomic_long_dec(&mt_live_suffixes);
}

/**
 * mt_node_free() - free a node once current RCU readers are done with it.
 * @node: a leaf or internode, already unreachable for new readers.
 *
 * Context: Any context.
 */
void mt_node_free(struct mt_node *node)
{
	call_rcu(&node->rcu, mt_node_free_rcu);
}
EXPORT_SYMBOL_IF_KUNIT(mt_node_free);

/**
 * mt_suffix_free() - free a suffix once current RCU readers are done with it.
 * @suffix: the suffix, already unreachable for new readers.
 *
 * Context: Any context.
 */
void mt_suffix_free(struct mt_suffix *suffix)
{
	call_rcu(&suffix->rcu, mt_suffix_free_rcu);
}
EXPORT_SYMBOL_IF_KUNIT(mt_suffix_free);

/**
 * mt_node_caches_init() - create the node caches.
 *
 * Context: Module init (process context, may sleep).
 * Return: 0, or -ENOMEM.
 */
int mt_node_caches_init(void)
{
	mt_leaf_cache = KMEM_CACHE(mt_leaf, SLAB_HWCACHE_ALIGN);
	if (!mt_leaf_cache)
		return -ENOMEM;
	mt_internode_cache = KMEM_CACHE(mt_internode, SLAB_HWCACHE_ALIGN);
	if (!mt_internode_cache) {
		kmem_cache_destroy(mt_leaf_cache);
		return -ENOMEM;
	}
	return 0;
}

/**
 * mt_node_caches_exit() - destroy the node caches.
 *
 * Waits for the RCU callbacks that free nodes into the caches, then warns
 * about any node still allocated (a map never destroyed, or a leak).
 *
 * Context: Module exit (process context, may sleep).
 */
void mt_node_caches_exit(void)
{
	struct mt_node_stats stats;

	rcu_barrier();
	mt_node_stats_read(&stats);
	WARN(stats.leaves || stats.internodes || stats.suffixes,
	     "masstree: %ld leaves, %ld internodes, %ld suffixes leaked\n",
	     stats.leaves, stats.internodes, stats.suffixes);
	kmem_cache_destroy(mt_internode_cache);
	kmem_cache_destroy(mt_leaf_cache);
}
