/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Node layout of the Masstree: leaves and internodes of one layer's B+tree.
 */
#ifndef _MASSTREE_NODE_H
#define _MASSTREE_NODE_H

#include <linux/align.h>
#include <linux/bits.h>
#include <linux/cache.h>
#include <linux/masstree.h>
#include <linux/rcupdate.h>
#include <linux/types.h>

/* Keys per node: a 64-bit permutation holds a 4-bit count and 15 slots. */
#define MT_NODE_WIDTH	15

/*
 * keylenx of a leaf slot: 0..8 is the length of a key that ends within the
 * slice; MT_KLX_SUFFIX: the key continues in a suffix; MT_KLX_LAYER: the
 * slot holds the root of the next layer.
 */
#define MT_KLX_SUFFIX	64
#define MT_KLX_LAYER	128

/*
 * The version word (see version.h): 6 flag bits, then two 29-bit counters.
 * MT_V_LEAF and MT_V_ROOT are kind bits; the rest are state bits.
 */
#define MT_V_LOCKED	BIT(0)
#define MT_V_INSERTING	BIT(1)
#define MT_V_SPLITTING	BIT(2)
#define MT_V_DELETED	BIT(3)
#define MT_V_ROOT	BIT(4)
#define MT_V_LEAF	BIT(5)
#define MT_V_DIRTY	(MT_V_INSERTING | MT_V_SPLITTING)
#define MT_V_VINSERT_SHIFT	6
#define MT_V_VSPLIT_SHIFT	35
#define MT_V_VINSERT_ONE	BIT(MT_V_VINSERT_SHIFT)
#define MT_V_VSPLIT_ONE		BIT(MT_V_VSPLIT_SHIFT)
#define MT_V_VINSERT_MASK	((BIT(29) - 1) << MT_V_VINSERT_SHIFT)

struct mt_internode;

/**
 * struct mt_node - the head shared by leaves and internodes.
 * @version: the version word (lock, dirty and kind bits, counters).
 * @parent: for a non-root node, the internode above it; for the root of
 *	a layer, the root of the layer above (NULL for the top layer).
 *	Written only by the holder of the lock of the node's parent.
 * @rcu: frees the node after a grace period; before that, links it into
 *	a private list (reserve, destroy and validate work lists).
 */
struct mt_node {
	unsigned long version;
	struct mt_node __rcu *parent;
	struct rcu_head rcu;
};

/**
 * struct mt_suffix - the bytes of a key past the slice stored in a leaf.
 * @rcu: frees the suffix after a grace period.
 * @len: number of bytes in @data.
 * @size: bytes allocated for the whole object, slab rounding included:
 *	what the map's statistics count.
 * @data: the bytes; immutable once published.
 */
struct mt_suffix {
	struct rcu_head rcu;
	u32 len;
	u32 size;
	u8 data[];
};

/**
 * struct mt_leaf - a border node: keys of one layer and their values.
 * @node: the shared head.
 * @permutation: count and order of the live slots, published last.
 * @lowkey: the smallest slice this leaf may hold (its B-link bound);
 *	meaningless for the leftmost leaf of a layer.
 * @next: right sibling in this layer, or NULL.
 * @prev: left sibling in this layer, or NULL.
 * @keylenx: per slot, how the key ends (length within the slice, suffix or
 *	next layer).
 * @ikey: per slot, the key's 8-byte slice, big-endian as a u64.
 * @lv: per slot, the caller's entry or the root of the next layer.
 * @suffix: per slot, the key's bytes past the slice, if any.
 *
 * A layer's root leaf turns into an internode in place when it splits
 * (the root grows in place), so every node is allocated big enough for
 * both kinds, and a reader dereferences nothing it read from a node before
 * validating the node's version.
 */
struct mt_leaf {
	struct mt_node node;
	u64 permutation;
	u64 lowkey;
	struct mt_leaf __rcu *next;
	struct mt_leaf __rcu *prev;
	u8 keylenx[MT_NODE_WIDTH];
	u64 ikey[MT_NODE_WIDTH];
	void __rcu *lv[MT_NODE_WIDTH];
	struct mt_suffix __rcu *suffix[MT_NODE_WIDTH];
};

/**
 * struct mt_internode - an interior node of one layer's B+tree.
 * @node: the shared head.
 * @nkeys: number of separator keys in @ikey.
 * @ikey: separator slices, ascending; child i holds [ikey[i-1], ikey[i]).
 * @child: @nkeys + 1 children.
 */
struct mt_internode {
	struct mt_node node;
	u8 nkeys;
	u64 ikey[MT_NODE_WIDTH];
	struct mt_node __rcu *child[MT_NODE_WIDTH + 1];
};

/* Every node is allocated this big, whatever its kind. */
#define MT_NODE_SIZE	(sizeof(struct mt_leaf) > sizeof(struct mt_internode) ? \
			 sizeof(struct mt_leaf) : sizeof(struct mt_internode))

/*
 * What a node takes in its slab: SLAB_HWCACHE_ALIGN rounds each object up
 * to whole cache lines (debugging kernels add their metadata on top).
 */
#define MT_NODE_BYTES	ALIGN(MT_NODE_SIZE, L1_CACHE_BYTES)

/**
 * struct mt_node_stats - nodes currently allocated by this module.
 * @leaves: live leaves.
 * @internodes: live internodes.
 * @suffixes: live key suffixes.
 */
struct mt_node_stats {
	long leaves;
	long internodes;
	long suffixes;
};

static inline struct mt_leaf *mt_to_leaf(struct mt_node *node)
{
	return container_of(node, struct mt_leaf, node);
}

static inline struct mt_internode *mt_to_internode(struct mt_node *node)
{
	return container_of(node, struct mt_internode, node);
}

static inline bool mt_node_is_leaf(const struct mt_node *node)
{
	return READ_ONCE(node->version) & MT_V_LEAF;
}

struct mt_node *mt_node_alloc(gfp_t gfp);
void mt_node_init_leaf(struct mt_node *node, unsigned long flags);
void mt_node_init_internode(struct mt_node *node, unsigned long flags);
void mt_node_leaf_to_internode(struct mt_node *node);
void mt_node_unuse(struct mt_node *node);
void mt_node_discard(struct mt_node *node);
void mt_node_free(struct mt_node *node);
struct mt_suffix *mt_suffix_alloc(u32 cap, gfp_t gfp);
struct mt_suffix *mt_suffix_make(const u8 *bytes, u32 len, gfp_t gfp);
void mt_suffix_discard(struct mt_suffix *sfx);
void mt_suffix_free(struct mt_suffix *suffix);

int mt_node_caches_init(void);
void mt_node_caches_exit(void);
void mt_node_stats_read(struct mt_node_stats *stats);
void mt_preload_drain(void);

#endif /* _MASSTREE_NODE_H */
