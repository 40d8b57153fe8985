/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Node layout of the Masstree: leaves and internodes of one layer's B+tree.
 */
#ifndef _MASSTREE_NODE_H
#define _MASSTREE_NODE_H

#include <linux/align.h>
#include <linux/bits.h>
#include <linux/build_bug.h>
#include <linux/cache.h>
#include <linux/masstree.h>
#include <linux/prefetch.h>
#include <linux/rcupdate.h>
#include <linux/stddef.h>
#include <linux/types.h>

#include "version.h"

/* Keys per node: a 64-bit permutation holds a 4-bit count and 15 slots. */
#define MST_NODE_WIDTH	15

/*
 * keylenx of a leaf slot: 0..8 is the length of a key that ends within the
 * slice; MST_KLX_SUFFIX: the key continues in a suffix; MST_KLX_LAYER: the
 * slot holds the root of the next layer; MST_KLX_SPAN: the slot holds a
 * struct mst_span, bytes every key below it shares, then the root of the
 * layer after them. Both of the last two lead to a layer: test with
 * mst_klx_is_layer().
 */
#define MST_KLX_SUFFIX	64
#define MST_KLX_LAYER	128
#define MST_KLX_SPAN	192

/* Slots whose bytes go on out of line (a suffix, a span) share a bit. */
static_assert((MST_KLX_SPAN & MST_KLX_SUFFIX) && !(MST_KLX_LAYER & MST_KLX_SUFFIX));

static inline bool mst_klx_is_layer(u8 klx)
{
	return klx >= MST_KLX_LAYER;
}

/*
 * keylenx 9..16: a key of that many bytes from its slice on, whose last
 * 1..8 bytes past the slice are the slot's entry in the leaf's bag
 * (struct mst_bag): what a key of up to 16 bytes per layer (a UUID, two
 * integers) stores instead of a suffix object of its own.
 */
#define MST_KLX_BAG_MIN	9
#define MST_KLX_BAG_MAX	16

static inline bool mst_klx_in_bag(u8 klx)
{
	return (unsigned int)klx - MST_KLX_BAG_MIN <=
	       MST_KLX_BAG_MAX - MST_KLX_BAG_MIN;
}

struct mst_internode;

/**
 * struct mst_suffix - a key that continues past the slice of its leaf
 *	slot: the rest of its bytes, and its entry.
 * @rcu: frees the suffix after a grace period.
 * @value: the caller's entry for the key. Replaced in place (under the
 *	leaf's lock) while the suffix is the slot's; final once it is not.
 * @len: number of bytes in @data.
 * @size: bytes allocated for the whole object, slab rounding included:
 *	what the map's statistics count.
 * @data: the bytes; immutable once published.
 *
 * The slot's @lv points here (its keylenx is MST_KLX_SUFFIX), so that a
 * leaf needs no per-slot suffix pointer; a reader already follows the
 * pointer to compare the key, and finds the entry on the same line.
 */
struct mst_suffix {
	struct rcu_head rcu;
	void __rcu *value;
	u32 len;
	u32 size;
	u8 data[];
};

/**
 * struct mst_span - key bytes shared by every key of a layer, stored once
 *	in the slot above it instead of as a chain of one-slot layers.
 * @rcu: frees the span after a grace period.
 * @root: the root of the layer the span leads to, at the slot's offset
 *	+ 8 + @len.
 * @len: number of bytes in @data, a multiple of 8 (at least 8).
 * @size: bytes allocated for the whole object, slab rounding included.
 * @up: the root of the layer whose slot holds the span.
 * @data: the shared bytes, after the slot's slice.
 *
 * Immutable once published: a key that diverges inside the span makes a
 * new layer there with two new spans around it (insert), and a layer
 * left with one entry that leads to a layer merges into the slot above
 * with a new, longer span (erase). Allocated as a suffix of 8 + @len
 * bytes, whose head it shares (mst_span_alloc()), so that the reserve,
 * the per-CPU pool and the RCU-deferred free serve both.
 *
 * The layer root @root has the span itself as its parent, tagged with
 * MST_PARENT_SPAN, so that a writer climbing out of that layer finds the
 * layer above and its offset without a stack (mst_layer_up()).
 */
struct mst_span {
	struct rcu_head rcu;
	struct mst_node *root;
	u32 len;
	u32 size;
	struct mst_node *up;
	u8 data[];
};

/**
 * struct mst_bag - the second slices of a leaf's short long keys.
 * @slice: per slot of the leaf, for a key whose keylenx is 9..16, its
 *	bytes 8..15 from the slot's slice on, big-endian as a u64,
 *	zero-padded. Other slots' entries are stale: read only by keylenx.
 * @owner: the node being freed with the bag (mst_node_free()).
 * @validate_off: while masstree_validate() visits a layer whose root leaf
 *	has the bag: the layer's offset (the leaf's rcu_head word it would
 *	use holds the bag).
 *
 * Allocated as a node (MST_NODE_SIZE, from the reserve and the per-CPU
 * pool as nodes are) the first time a leaf takes such a key, and kept for
 * the node's life, even when a root leaf turns into an internode: a
 * slot's entry is written in place, like its slice in the leaf, under the
 * inserting mark, so a reader validates the leaf's version after reading
 * it. The leaf points to its bag from the second word of its rcu_head
 * (unused while the node lives). Set once, never moved, and a node with a
 * bag is freed with it through the bag's rcu_head (mst_node_free()), so
 * nothing writes that word while readers may read it, and a bag lives as
 * long as its node: the one pointer a reader may follow inside its
 * window, before validating, like the slots' slices it reads there (a
 * leaf shows a slot with a bag entry only once it has its bag).
 */
struct mst_bag {
	u64 slice[MST_NODE_WIDTH];
	union {
		struct mst_node *owner;
		size_t validate_off;
	};
};

/**
 * struct mst_leaf - a border node: keys of one layer and their values.
 * @node: the shared head.
 * @permutation: count and order of the live slots, published last.
 * @lowkey: the smallest slice this leaf may hold (its B-link bound);
 *	meaningless for the leftmost leaf of a layer.
 * @next: right sibling in this layer, or NULL.
 * @prev: left sibling in this layer, or NULL.
 * @keylenx: per slot, how the key ends (length within the slice, suffix or
 *	next layer).
 * @ikey: per slot, the key's 8-byte slice, big-endian as a u64.
 * @lv: per slot, by keylenx: the caller's entry (0..8), the key's
 *	struct mst_suffix (MST_KLX_SUFFIX), the root of the next layer
 *	(MST_KLX_LAYER), or a struct mst_span leading to a layer further
 *	down (MST_KLX_SPAN). Use the accessors below.
 * @rcu: every node's rcu_head (mst_node_rcu()), an internode's included.
 * @rcu_next: @rcu's first word, which node lists use (mst_node_list_push()).
 * @bag: while the node lives, in @rcu's second word: its struct mst_bag,
 *	or NULL (an internode's too: see struct mst_bag).
 *
 * A layer's root leaf turns into an internode in place when it splits
 * (the root grows in place), so every node is allocated big enough for
 * both kinds, and a reader dereferences nothing it read from a node before
 * validating the node's version. Five cache lines (on 64-bit), laid out
 * for a lookup: the first holds the version, permutation and keylenx, the
 * next two the slices, the last the slots' pointers and the rcu_head.
 */
struct mst_leaf {
	struct mst_node node;
	u64 permutation;
	u64 lowkey;
	struct mst_leaf __rcu *next;
	struct mst_leaf __rcu *prev;
	u8 keylenx[MST_NODE_WIDTH];
	u64 ikey[MST_NODE_WIDTH];
	void __rcu *lv[MST_NODE_WIDTH];
	union {
		struct rcu_head rcu;
		struct {
			void *rcu_next;
			struct mst_bag __rcu *bag;
		};
	};
};

/* The bag pointer is the word call_rcu() writes last of the two it uses. */
static_assert(offsetof(struct mst_leaf, bag) ==
	      offsetof(struct mst_leaf, rcu) + offsetof(struct rcu_head, func));
static_assert(sizeof(struct mst_bag) <= offsetof(struct mst_leaf, rcu));

/**
 * struct mst_internode - an interior node of one layer's B+tree.
 * @node: the shared head.
 * @nkeys: number of separator keys in @ikey.
 * @ikey: separator slices, ascending; child i holds [ikey[i-1], ikey[i]).
 *	Slots from @nkeys on hold MST_IKEY_NONE, so that the search runs
 *	over all of them without bounds tests (mst_internode_slot()).
 * @child: @nkeys + 1 children.
 */
struct mst_internode {
	struct mst_node node;
	u8 nkeys;
	u64 ikey[MST_NODE_WIDTH];
	struct mst_node __rcu *child[MST_NODE_WIDTH + 1];
};

/* An internode's unused separator slot: not below any slice. */
#define MST_IKEY_NONE	U64_MAX

/* Give separator slots [@from, MST_NODE_WIDTH) of a locked internode back. */
static inline void mst_internode_clear_keys(struct mst_internode *in,
					    unsigned int from)
{
	for (; from < MST_NODE_WIDTH; from++)
		WRITE_ONCE(in->ikey[from], MST_IKEY_NONE);
}

/*
 * The child slot of @in whose range holds @slice. Racy reads are fine: the
 * caller validates @in's version before trusting the answer.
 */
static __always_inline struct mst_node __rcu **
mst_internode_slot(struct mst_internode *in, u64 slice)
{
	/* unsigned long: each slot's address folds into one instruction. */
	unsigned long i = 0;

	/*
	 * How many separators are <= @slice: a binary search in four fixed
	 * steps over all 15 slots, since a lookup crosses an internode per
	 * level of every layer. Unused slots hold MST_IKEY_NONE, above every
	 * separator, so no step needs a bounds test; only a slice equal to
	 * MST_IKEY_NONE counts them, hence the clamp to nkeys for it alone.
	 * The four steps cannot pass 15, whatever the slots hold mid-change.
	 */
	i += READ_ONCE(in->ikey[7]) <= slice ? 8 : 0;
	i += READ_ONCE(in->ikey[i + 3]) <= slice ? 4 : 0;
	i += READ_ONCE(in->ikey[i + 1]) <= slice ? 2 : 0;
	i += READ_ONCE(in->ikey[i]) <= slice ? 1 : 0;
	if (unlikely(slice == MST_IKEY_NONE))
		i = min_t(unsigned long, i, READ_ONCE(in->nkeys));
	return &in->child[i];
}

/*
 * The index of @child among @in's children, or more than @in->nkeys if it
 * is not one of them. For the holder of @in's lock (or of a map nobody
 * else writes).
 */
static inline unsigned int mst_internode_child_index(struct mst_internode *in,
						     const struct mst_node *child)
{
	unsigned int n = min_t(unsigned int, in->nkeys, MST_NODE_WIDTH), j;

	for (j = 0; j <= n; j++)
		if (rcu_access_pointer(in->child[j]) == child)
			break;
	return j;
}

/*
 * Every node's rcu_head, at the offset of the leaf's: an internode is
 * shorter and allocated as big (MST_NODE_SIZE), so the same place is
 * free in both kinds. It frees the node after a grace period; before
 * that, it links the node into a private list (reserves, pools, work
 * lists: mst_node_list_push()).
 */
#define MST_NODE_RCU_OFFSET	offsetof(struct mst_leaf, rcu)

static inline struct rcu_head *mst_node_rcu(struct mst_node *node)
{
	return (struct rcu_head *)((char *)node + MST_NODE_RCU_OFFSET);
}

static inline struct mst_node *mst_rcu_node(struct rcu_head *head)
{
	return (struct mst_node *)((char *)head - MST_NODE_RCU_OFFSET);
}

/* Every node is allocated this big, whatever its kind. */
#define MST_NODE_SIZE	(sizeof(struct mst_leaf) > sizeof(struct mst_internode) ? \
			 sizeof(struct mst_leaf) : sizeof(struct mst_internode))

/*
 * What a node takes in its slab: SLAB_HWCACHE_ALIGN rounds each object up
 * to whole cache lines (debugging kernels add their metadata on top).
 */
#define MST_NODE_BYTES	ALIGN(MST_NODE_SIZE, L1_CACHE_BYTES)

/*
 * Start loading the lines of @node past its first. A descent reads the
 * version, then 2-3 of the other lines, as its search picks them: each
 * a miss that waits for the one before. Asked for at once (the version's
 * own line is read right away), they overlap. Lines 1-4 hold all a lookup
 * reads besides the version; a prefetch never faults, so @node may be a
 * pointer not yet validated (even a node's bytes mid-change).
 */
static __always_inline void mst_node_prefetch(const struct mst_node *node)
{
	/* In integers: @node may be NULL, which C does not let us offset. */
	unsigned long p = (unsigned long)node;

	prefetch((const void *)(p + L1_CACHE_BYTES));
	prefetch((const void *)(p + 2 * L1_CACHE_BYTES));
	prefetch((const void *)(p + 3 * L1_CACHE_BYTES));
	prefetch((const void *)(p + 4 * L1_CACHE_BYTES));
}

/**
 * struct mst_node_stats - nodes currently allocated by this module.
 * @leaves: live leaves.
 * @internodes: live internodes.
 * @suffixes: live key suffixes.
 * @bags: live leaf bags.
 */
struct mst_node_stats {
	long leaves;
	long internodes;
	long suffixes;
	long bags;
};

static inline struct mst_leaf *mst_to_leaf(struct mst_node *node)
{
	return container_of(node, struct mst_leaf, node);
}

static inline struct mst_internode *mst_to_internode(struct mst_node *node)
{
	return container_of(node, struct mst_internode, node);
}

static inline bool mst_node_is_leaf(const struct mst_node *node)
{
	return READ_ONCE(node->version) & MST_V_LEAF;
}

/*
 * Slot accessors. A slot is one keylenx and one lv; what lv points to
 * depends on keylenx (see struct mst_leaf). The _locked ones are for the
 * holder of the leaf's lock, or for a leaf nobody else can reach.
 */

/* The suffix of slot @s, or NULL if its key ends within the slice. */
static inline struct mst_suffix *mst_slot_suffix_locked(struct mst_leaf *leaf,
							unsigned int s)
{
	if (leaf->keylenx[s] != MST_KLX_SUFFIX)
		return NULL;
	return rcu_dereference_protected(leaf->lv[s], 1);
}

/* The leaf's bag, or NULL. */
static inline struct mst_bag *mst_leaf_bag_locked(struct mst_leaf *leaf)
{
	return rcu_dereference_protected(leaf->bag, 1);
}

/* A node's bag, whatever its kind now (a root leaf keeps it as internode). */
static inline struct mst_bag *mst_node_bag_locked(struct mst_node *node)
{
	return mst_leaf_bag_locked(mst_to_leaf(node));
}

/* The bag entry of slot @s if its keylenx says it has one, else 0. */
static inline u64 mst_slot_bag2_locked(struct mst_leaf *leaf, unsigned int s)
{
	if (!mst_klx_in_bag(leaf->keylenx[s]))
		return 0;
	return mst_leaf_bag_locked(leaf)->slice[s];
}

/*
 * The bag entry of slot @s, whose keylenx a reader read in its window as
 * one with a bag entry: the window's validation covers the entry as it
 * covers the slot's slice. A leaf that shows such a slot has its bag (set
 * before any such slot, kept as long as the leaf: see struct mst_bag)
 * unless the window is torn, which the validation catches. Only for such
 * a slot: the word of a leaf without a bag may be call_rcu()'s.
 */
static __always_inline u64 mst_slot_bag2(struct mst_leaf *leaf, unsigned int s)
{
	struct mst_bag *bag = rcu_dereference(leaf->bag);

	return bag ? READ_ONCE(bag->slice[s]) : 0;
}

/* The span of slot @s, or NULL if it is not a span. */
static inline struct mst_span *mst_slot_span_locked(struct mst_leaf *leaf,
						    unsigned int s)
{
	if (leaf->keylenx[s] != MST_KLX_SPAN)
		return NULL;
	return rcu_dereference_protected(leaf->lv[s], 1);
}

/* The entry of slot @s, whose key (not a layer) the caller matched. */
static inline void *mst_slot_entry_locked(struct mst_leaf *leaf, unsigned int s)
{
	void *lv = rcu_dereference_protected(leaf->lv[s], 1);

	if (leaf->keylenx[s] == MST_KLX_SUFFIX)
		return rcu_dereference_protected(((struct mst_suffix *)lv)->value, 1);
	return lv;
}

/*
 * Replace the entry of a published key in slot @s: readers see the old
 * entry or the new one, so nothing is marked.
 */
static inline void mst_slot_set_entry(struct mst_leaf *leaf, unsigned int s,
				      void *entry)
{
	void *lv = rcu_dereference_protected(leaf->lv[s], 1);

	if (leaf->keylenx[s] == MST_KLX_SUFFIX)
		rcu_assign_pointer(((struct mst_suffix *)lv)->value, entry);
	else
		rcu_assign_pointer(leaf->lv[s], entry);
}

/*
 * The entry of a slot read locklessly as @klx and @lv, once the leaf's
 * version validated them: only then may a suffix be followed.
 */
static inline void *mst_slot_entry(u8 klx, void *lv)
{
	if (klx == MST_KLX_SUFFIX)
		return rcu_dereference(((struct mst_suffix *)lv)->value);
	return lv;
}

/*
 * Nodes that no reader can reach (not yet published, or unlinked and
 * waiting for their RCU-deferred free) go on singly linked lists through
 * their rcu_head, unused until call_rcu(): its next holds the next node
 * itself. Reserves, per-CPU pools, an erase's nodes to free and the
 * teardown's work list all use these two.
 */
static inline void mst_node_list_push(struct mst_node **list,
				      struct mst_node *node)
{
	mst_node_rcu(node)->next = (struct callback_head *)*list;
	*list = node;
}

static inline struct mst_node *mst_node_list_pop(struct mst_node **list)
{
	struct mst_node *node = *list;

	if (node)
		*list = (struct mst_node *)mst_node_rcu(node)->next;
	return node;
}

/* A span shares a suffix's head: see struct mst_span. */
static_assert(offsetof(struct mst_span, rcu) == offsetof(struct mst_suffix, rcu));
static_assert(offsetof(struct mst_span, root) == offsetof(struct mst_suffix, value));
static_assert(offsetof(struct mst_span, len) == offsetof(struct mst_suffix, len));
static_assert(offsetof(struct mst_span, size) == offsetof(struct mst_suffix, size));
static_assert(offsetof(struct mst_span, data) ==
	      offsetof(struct mst_suffix, data) + sizeof(struct mst_node *));

/* The suffix buffer a span lives in, and back. */
static inline struct mst_suffix *mst_span_sfx(struct mst_span *span)
{
	return (struct mst_suffix *)span;
}

static inline struct mst_span *mst_sfx_span(struct mst_suffix *sfx)
{
	return (struct mst_span *)sfx;
}

/* Suffix buffer bytes a span of @len bytes needs. */
#define MST_SPAN_CAP(len)	((len) + sizeof(struct mst_node *))

/*
 * A layer root's parent: NULL for the top layer, the root of the layer
 * above when a MST_KLX_LAYER slot leads to it, or the struct mst_span of
 * the slot that leads to it, tagged in bit 0 (spans are word-aligned).
 * Read with rcu_dereference() even under the root's lock: a span split or
 * merge above rewrites it under the upper leaf's lock only.
 */
#define MST_PARENT_SPAN	1UL

static inline struct mst_node *mst_span_parent(struct mst_span *span)
{
	return (struct mst_node *)((unsigned long)span | MST_PARENT_SPAN);
}

static inline struct mst_span *mst_parent_span(struct mst_node *parent)
{
	if (!((unsigned long)parent & MST_PARENT_SPAN))
		return NULL;
	return (struct mst_span *)((unsigned long)parent & ~MST_PARENT_SPAN);
}

/*
 * The layer above a layer root whose parent pointer reads @parent: its
 * root (NULL at the top), with *@skip set to how many key bytes lie
 * between the two layers' offsets (8, or 8 plus a span).
 */
static inline struct mst_node *mst_layer_up(struct mst_node *parent,
					    size_t *skip)
{
	struct mst_span *span = mst_parent_span(parent);

	if (!span) {
		*skip = 8;
		return parent;
	}
	*skip = 8 + span->len;
	return span->up;
}

/*
 * The root a layer slot read as @klx and @lv leads to, and the bytes
 * between the slot's offset and that layer's (*@skip).
 */
static inline struct mst_node *mst_slot_layer(u8 klx, void *lv, size_t *skip)
{
	struct mst_span *span = lv;

	if (klx == MST_KLX_LAYER) {
		*skip = 8;
		return lv;
	}
	*skip = 8 + span->len;
	return span->root;
}

struct mst_node *mst_node_alloc(gfp_t gfp);
struct mst_node *mst_node_alloc_spare(gfp_t gfp);
void mst_node_init_leaf(struct mst_node *node, unsigned long flags);
void mst_node_init_internode(struct mst_node *node, unsigned long flags);
void mst_node_leaf_to_internode(struct mst_node *node);
void mst_node_internode_to_leaf(struct mst_node *node);
void mst_node_unuse(struct mst_node *node);
void mst_node_discard(struct mst_node *node);
void mst_node_free(struct mst_node *node);
struct mst_bag *mst_bag_init(struct mst_node *node);
struct mst_suffix *mst_suffix_alloc(u32 cap, gfp_t gfp);
struct mst_suffix *mst_suffix_make(const u8 *bytes, u32 len, gfp_t gfp);
void mst_suffix_discard(struct mst_suffix *sfx);
void mst_suffix_free(struct mst_suffix *suffix);
size_t mst_suffix_bytes(u32 cap);

int mst_node_caches_init(void);
void mst_node_caches_exit(void);
void mst_node_stats_read(struct mst_node_stats *stats);

#endif /* _MASSTREE_NODE_H */
