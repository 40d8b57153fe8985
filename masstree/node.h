/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Node layout of the Masstree: leaves and internodes of one layer's B+tree.
 */
#ifndef _MASSTREE_NODE_H
#define _MASSTREE_NODE_H

#include <linux/bits.h>
#include <linux/masstree.h>
#include <linux/rcupdate.h>
#include <linux/types.h>

/* Keys per node: a 64-bit permutation holds a 4-bit count and 15 slots. */
#define MT_NODE_WIDTH	15

/*
 * keylenx of a leaf slot: 0..8 is the length of a key that ends within the
 * slice; the key continues in a suffix; the slot holds the next layer.
 */
#define MT_KLX_SUFFIX	64
#define MT_KLX_LAYER	128

/* Version word bits that tell a node's kind (set at allocation). */
#define MT_V_LEAF	BIT(5)

struct mt_internode;

/**
 * struct mt_node - the head shared by leaves and internodes.
 * @version: the version word (lock, dirty and kind bits, counters).
 * @parent: the internode above, or NULL for the root of a layer.
 * @rcu: frees the node after a grace period; before that, links it into
 *	masstree_destroy()'s work list.
 */
struct mt_node {
	unsigned long version;
	struct mt_internode __rcu *parent;
	struct rcu_head rcu;
};

/**
 * struct mt_suffix - the bytes of a key past the slice stored in a leaf.
 * @rcu: frees the suffix after a grace period.
 * @len: number of bytes in @data.
 * @data: the bytes; immutable once published.
 */
struct mt_suffix {
	struct rcu_head rcu;
	u32 len;
	u8 data[];
};

/**
 * struct mt_leaf - a border node: keys of one layer and their values.
 * @node: the shared head.
 * @permutation: count and order of the live slots, published last.
 * @next: right sibling in this layer, or NULL.
 * @prev: left sibling in this layer, or NULL.
 * @keylenx: per slot, how the key ends (length within the slice, suffix or
 *	next layer).
 * @ikey: per slot, the key's 8-byte slice, big-endian as a u64.
 * @lv: per slot, the caller's entry or the root of the next layer.
 * @suffix: per slot, the key's bytes past the slice, if any.
 */
struct mt_leaf {
	struct mt_node node;
	u64 permutation;
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
 * @ikey: separator slices, ascending.
 * @child: @nkeys + 1 children.
 */
struct mt_internode {
	struct mt_node node;
	u8 nkeys;
	u64 ikey[MT_NODE_WIDTH];
	struct mt_node __rcu *child[MT_NODE_WIDTH + 1];
};

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

struct mt_leaf *mt_leaf_alloc(gfp_t gfp);
struct mt_internode *mt_internode_alloc(gfp_t gfp);
struct mt_suffix *mt_suffix_alloc(const u8 *bytes, u32 len, gfp_t gfp);
void mt_node_free(struct mt_node *node);
void mt_suffix_free(struct mt_suffix *suffix);

static inline bool mt_node_is_leaf(const struct mt_node *node)
{
	return READ_ONCE(node->version) & MT_V_LEAF;
}

int mt_node_caches_init(void);
void mt_node_caches_exit(void);
void mt_node_stats_read(struct mt_node_stats *stats);

#endif /* _MASSTREE_NODE_H */
