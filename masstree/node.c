// SPDX-License-Identifier: GPL-2.0
/*
 * Node memory: one kmem_cache for nodes of both kinds (a layer's root leaf
 * becomes an internode in place when it splits), frees after an RCU grace
 * period, and live counters that module exit checks for leaks.
 */
#include <linux/bug.h>
#include <linux/overflow.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <kunit/visibility.h>

#include "faultinject.h"
#include "node.h"
#include "permutation.h"

static struct kmem_cache *mst_node_cache;

/*
 * Small suffixes (a key of up to 32 bytes in one layer) come from caches
 * of their own, 8 bytes apart, where kmalloc()'s next bucket would waste
 * more: with a 32-byte head, 40, 48 and 56 bytes instead of 64. Indexed
 * by object size / 8; NULL where kmalloc() serves the size. No kmalloc
 * bucket has a size such a cache has (a cache is used only where it is
 * smaller than the bucket), so the size alone says where an object goes
 * back to.
 */
#define MST_SFX_SMALL_DATA	24
/* The head is a multiple of 8 bytes: so is this. */
#define MST_SFX_SMALL_MAX	(sizeof(struct mst_suffix) + MST_SFX_SMALL_DATA)
static struct kmem_cache *mst_sfx_cache[MST_SFX_SMALL_MAX / 8 + 1];

static const char *const mst_sfx_cache_names[] = {
	"masstree_sfx_8", "masstree_sfx_16", "masstree_sfx_24",
};

/*
 * Where a suffix of up to MST_SFX_SIZES - 1 bytes comes from and what it
 * takes, slab rounding included: fixed once the caches exist, so looked
 * up here, in one place, instead of asked of the slab allocator on every
 * long insert.
 */
#define MST_SFX_SIZES	256
struct mst_sfx_class {
	struct kmem_cache *cache;	/* NULL: kmalloc() */
	u32 size;
};

static struct mst_sfx_class mst_sfx_classes[MST_SFX_SIZES];

static struct mst_sfx_class mst_suffix_class(u32 cap)
{
	if (likely(cap < MST_SFX_SIZES))
		return mst_sfx_classes[cap];
	return (struct mst_sfx_class){
		.size = kmalloc_size_roundup(struct_size_t(struct mst_suffix, data, cap)),
	};
}

static size_t mst_suffix_size(u32 cap)
{
	return mst_suffix_class(cap).size;
}

static struct kmem_cache *mst_suffix_cache(size_t size)
{
	return size <= MST_SFX_SMALL_MAX ? mst_sfx_cache[size / 8] : NULL;
}

/**
 * mst_suffix_bytes() - what a suffix buffer for some bytes takes.
 * @cap: bytes it must hold.
 *
 * Context: Any context.
 * Return: the object's size, slab rounding included.
 */
size_t mst_suffix_bytes(u32 cap)
{
	return mst_suffix_size(cap);
}
EXPORT_SYMBOL_IF_KUNIT(mst_suffix_bytes);

/*
 * Counted here and not through slab statistics so that a leak is caught at
 * module exit even without kmemleak, whose scans miss objects that stale
 * pointers still reach. Per CPU, so that writers of different maps, or
 * of one map on different CPUs, do not bounce one cache line.
 */
static struct mst_node_stats __percpu *mst_live;

/**
 * mst_node_stats_read() - read the live node counters.
 * @stats: filled with the counters.
 *
 * Context: Any context.
 */
void mst_node_stats_read(struct mst_node_stats *stats)
{
	int cpu;

	memset(stats, 0, sizeof(*stats));
	for_each_possible_cpu(cpu) {
		struct mst_node_stats *live = per_cpu_ptr(mst_live, cpu);

		stats->leaves += READ_ONCE(live->leaves);
		stats->internodes += READ_ONCE(live->internodes);
		stats->suffixes += READ_ONCE(live->suffixes);
		stats->bags += READ_ONCE(live->bags);
	}
}
EXPORT_SYMBOL_IF_KUNIT(mst_node_stats_read);

/**
 * mst_node_alloc() - allocate a node of no kind yet.
 * @gfp: allocation flags.
 *
 * Context: As @gfp allows.
 * Return: a node, or NULL. Not zeroed: mst_node_init_leaf() or
 * mst_node_init_internode() clears it when it gets its kind.
 */
struct mst_node *mst_node_alloc(gfp_t gfp)
{
	if (mst_fail_alloc(MST_FAIL_NODE))
		return NULL;
	return kmem_cache_alloc(mst_node_cache, gfp);
}
EXPORT_SYMBOL_IF_KUNIT(mst_node_alloc);

/**
 * mst_node_alloc_spare() - allocate a node for the per-CPU pool.
 * @gfp: allocation flags.
 *
 * As mst_node_alloc(), but never made to fail by the test hook: nothing
 * depends on it succeeding.
 *
 * Context: As @gfp allows.
 * Return: a node (not zeroed), or NULL.
 */
struct mst_node *mst_node_alloc_spare(gfp_t gfp)
{
	return kmem_cache_alloc(mst_node_cache, gfp);
}

/**
 * mst_node_init_leaf() - make a fresh node an empty leaf.
 * @node: a node from mst_node_alloc(), not yet published.
 * @flags: extra version bits (MST_V_ROOT).
 *
 * Context: Any context.
 */
void mst_node_init_leaf(struct mst_node *node, unsigned long flags)
{
	struct mst_leaf *leaf = mst_to_leaf(node);

	memset(leaf, 0, sizeof(*leaf));
	node->version = MST_V_LEAF | flags;
	leaf->permutation = MST_PERM_EMPTY;
	this_cpu_inc(mst_live->leaves);
}
EXPORT_SYMBOL_IF_KUNIT(mst_node_init_leaf);

/**
 * mst_node_init_internode() - make a fresh node an empty internode.
 * @node: a node from mst_node_alloc(), not yet published.
 * @flags: extra version bits (MST_V_ROOT).
 *
 * Context: Any context.
 */
void mst_node_init_internode(struct mst_node *node, unsigned long flags)
{
	memset(mst_to_internode(node), 0, sizeof(struct mst_internode));
	mst_internode_clear_keys(mst_to_internode(node), 0);
	/* Past the internode, but read by mst_node_free(). */
	RCU_INIT_POINTER(mst_to_leaf(node)->bag, NULL);
	node->version = flags;
	this_cpu_inc(mst_live->internodes);
}
EXPORT_SYMBOL_IF_KUNIT(mst_node_init_internode);

/**
 * mst_node_leaf_to_internode() - account a root leaf turned internode.
 * @node: the node.
 *
 * Context: Any context.
 */
void mst_node_leaf_to_internode(struct mst_node *node)
{
	this_cpu_dec(mst_live->leaves);
	this_cpu_inc(mst_live->internodes);
}

/**
 * mst_node_internode_to_leaf() - account a root internode turned leaf.
 * @node: the node.
 *
 * Context: Any context.
 */
void mst_node_internode_to_leaf(struct mst_node *node)
{
	this_cpu_dec(mst_live->internodes);
	this_cpu_inc(mst_live->leaves);
}

/* Only nodes given a kind are ever published, hence freed this way. */
static void mst_node_uncount(struct mst_node *node)
{
	if (node->version & MST_V_LEAF)
		this_cpu_dec(mst_live->leaves);
	else
		this_cpu_dec(mst_live->internodes);
}

/**
 * mst_node_unuse() - take the kind back from a node that was never published.
 * @node: the node; it may go back to a reserve.
 *
 * Context: Any context.
 */
void mst_node_unuse(struct mst_node *node)
{
	mst_node_uncount(node);
}

/**
 * mst_node_discard() - free a node that was never published.
 * @node: a node from mst_node_alloc() that no reader can have seen.
 *
 * Context: Any context.
 */
void mst_node_discard(struct mst_node *node)
{
	kmem_cache_free(mst_node_cache, node);
}
EXPORT_SYMBOL_IF_KUNIT(mst_node_discard);

/*
 * call_rcu() and not kfree_rcu(): rcu_barrier() in module exit must wait
 * for every pending free before the cache is destroyed, and in 6.1 it does
 * not wait for kfree_rcu() batches. The callbacks touch only the node, never
 * the map, which may be gone by then.
 */
static void mst_node_free_rcu(struct rcu_head *head)
{
	struct mst_node *node = mst_rcu_node(head);

	mst_node_uncount(node);
	kmem_cache_free(mst_node_cache, node);
}

/* A bag is a node's worth of memory: its rcu_head is where a node's is. */
static struct mst_node *mst_bag_node(struct mst_bag *bag)
{
	return (struct mst_node *)bag;
}

/* A node and its bag, freed together through the bag's rcu_head. */
static void mst_node_bag_free_rcu(struct rcu_head *head)
{
	struct mst_bag *bag = (struct mst_bag *)mst_rcu_node(head);
	struct mst_node *node = bag->owner;

	this_cpu_dec(mst_live->bags);
	kmem_cache_free(mst_node_cache, bag);
	mst_node_free_rcu(mst_node_rcu(node));
}

/**
 * mst_bag_init() - make a node from a reserve or pool a leaf's bag.
 * @node: the node, of no kind.
 *
 * Context: Any context.
 * Return: the bag; its slices are undefined until written.
 */
struct mst_bag *mst_bag_init(struct mst_node *node)
{
	this_cpu_inc(mst_live->bags);
	return (struct mst_bag *)node;
}

/**
 * mst_node_free() - free a node once current RCU readers are done with it.
 * @node: a leaf or internode, already unreachable for new readers.
 *
 * A node with a bag goes with it, through the bag's rcu_head: readers
 * may still read the node's pointer to the bag, which its own rcu_head
 * would overwrite.
 *
 * Context: Any context.
 */
void mst_node_free(struct mst_node *node)
{
	struct mst_bag *bag = mst_node_bag_locked(node);

	if (bag) {
		bag->owner = node;
		call_rcu(mst_node_rcu(mst_bag_node(bag)), mst_node_bag_free_rcu);
		return;
	}
	call_rcu(mst_node_rcu(node), mst_node_free_rcu);
}
EXPORT_SYMBOL_IF_KUNIT(mst_node_free);

/**
 * mst_suffix_alloc() - allocate a suffix buffer.
 * @cap: bytes it must hold.
 * @gfp: allocation flags.
 *
 * Context: As @gfp allows.
 * Return: the suffix (its len not set), or NULL.
 */
struct mst_suffix *mst_suffix_alloc(u32 cap, gfp_t gfp)
{
	struct mst_sfx_class cls;
	struct mst_suffix *sfx;

	if (mst_fail_alloc(MST_FAIL_SUFFIX))
		return NULL;
	/* Ask for the whole object: the statistics count what is held. */
	cls = mst_suffix_class(cap);
	sfx = cls.cache ? kmem_cache_alloc(cls.cache, gfp) : kmalloc(cls.size, gfp);
	if (!sfx)
		return NULL;
	sfx->size = cls.size;
	this_cpu_inc(mst_live->suffixes);
	return sfx;
}
EXPORT_SYMBOL_IF_KUNIT(mst_suffix_alloc);

/**
 * mst_suffix_make() - allocate a suffix holding a copy of some bytes.
 * @bytes: the bytes.
 * @len: how many.
 * @gfp: allocation flags.
 *
 * Context: As @gfp allows.
 * Return: the suffix, or NULL.
 */
struct mst_suffix *mst_suffix_make(const u8 *bytes, u32 len, gfp_t gfp)
{
	struct mst_suffix *sfx = mst_suffix_alloc(len, gfp);

	if (sfx) {
		sfx->len = len;
		memcpy(sfx->data, bytes, len);
	}
	return sfx;
}
EXPORT_SYMBOL_IF_KUNIT(mst_suffix_make);

/**
 * mst_suffix_discard() - free a suffix that was never published.
 * @sfx: the suffix.
 *
 * Context: Any context.
 */
void mst_suffix_discard(struct mst_suffix *sfx)
{
	struct kmem_cache *cache = mst_suffix_cache(sfx->size);

	if (cache)
		kmem_cache_free(cache, sfx);
	else
		kfree(sfx);
	this_cpu_dec(mst_live->suffixes);
}
EXPORT_SYMBOL_IF_KUNIT(mst_suffix_discard);

static void mst_suffix_free_rcu(struct rcu_head *head)
{
	mst_suffix_discard(container_of(head, struct mst_suffix, rcu));
}

/**
 * mst_suffix_free() - free a suffix once current RCU readers are done with it.
 * @suffix: the suffix, already unreachable for new readers.
 *
 * Context: Any context.
 */
void mst_suffix_free(struct mst_suffix *suffix)
{
	call_rcu(&suffix->rcu, mst_suffix_free_rcu);
}
EXPORT_SYMBOL_IF_KUNIT(mst_suffix_free);

static void mst_sfx_caches_destroy(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(mst_sfx_cache); i++) {
		kmem_cache_destroy(mst_sfx_cache[i]);
		mst_sfx_cache[i] = NULL;
	}
}

/* The small suffix caches, where they beat kmalloc(); then the sizes. */
static int mst_sfx_caches_init(void)
{
	size_t size, bucket;
	unsigned int i;
	u32 cap;

	for (i = 0; i < ARRAY_SIZE(mst_sfx_cache_names); i++) {
		cap = 8 * (i + 1);
		size = ALIGN(struct_size_t(struct mst_suffix, data, cap), 8);
		bucket = kmalloc_size_roundup(size);
		if (size == bucket || size > MST_SFX_SMALL_MAX)
			continue;
		mst_sfx_cache[size / 8] = kmem_cache_create(mst_sfx_cache_names[i],
							    size, 8, 0, NULL);
		if (!mst_sfx_cache[size / 8]) {
			mst_sfx_caches_destroy();
			return -ENOMEM;
		}
	}
	for (cap = 0; cap < MST_SFX_SIZES; cap++) {
		size = ALIGN(struct_size_t(struct mst_suffix, data, cap), 8);
		mst_sfx_classes[cap].cache = mst_suffix_cache(size);
		if (!mst_sfx_classes[cap].cache)
			size = kmalloc_size_roundup(size);
		mst_sfx_classes[cap].size = size;
	}
	return 0;
}

/**
 * mst_node_caches_init() - create the node and small suffix caches; size
 *	the suffixes.
 *
 * Context: Module init (process context, may sleep).
 * Return: 0, or -ENOMEM.
 */
int mst_node_caches_init(void)
{
	/* An internode must leave the leaf's rcu_head free (mst_node_rcu()). */
	BUILD_BUG_ON(sizeof(struct mst_internode) > MST_NODE_RCU_OFFSET);
	mst_live = alloc_percpu_gfp(struct mst_node_stats, GFP_KERNEL);
	if (!mst_live)
		return -ENOMEM;
	mst_node_cache = kmem_cache_create("masstree_node", MST_NODE_SIZE, 0,
					   SLAB_HWCACHE_ALIGN, NULL);
	if (!mst_node_cache)
		goto fail;
	if (mst_sfx_caches_init()) {
		kmem_cache_destroy(mst_node_cache);
		goto fail;
	}
	return 0;
fail:
	free_percpu(mst_live);
	return -ENOMEM;
}

/**
 * mst_node_caches_exit() - destroy the node cache.
 *
 * Waits for the RCU callbacks that free nodes into the cache, then reports
 * any node still allocated: a map that was never destroyed, a leak, or
 * preload pools not drained first (mst_preload_drain(), which the layer
 * above the nodes owns).
 *
 * Context: Module exit (process context, may sleep).
 */
void mst_node_caches_exit(void)
{
	struct mst_node_stats stats;

	rcu_barrier();
	mst_node_stats_read(&stats);
	WARN(stats.leaves || stats.internodes || stats.suffixes || stats.bags,
	     "masstree: %ld leaves, %ld internodes, %ld suffixes, %ld bags leaked\n",
	     stats.leaves, stats.internodes, stats.suffixes, stats.bags);
	kmem_cache_destroy(mst_node_cache);
	mst_sfx_caches_destroy();
	free_percpu(mst_live);
}
