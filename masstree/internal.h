/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Declarations shared by the core's files: the walk cursor, a writer's
 * context and reserve, statistics and test counters.
 */
#ifndef _MASSTREE_INTERNAL_H
#define _MASSTREE_INTERNAL_H

#include <linux/irqflags.h>
#include <linux/masstree.h>
#include <linux/percpu.h>
#include <linux/string.h>
#include <linux/types.h>

#include "key.h"
#include "node.h"
#include "testing.h"
#include "version.h"

/**
 * struct mst_walk_pos - where a walk is: the key seen from one layer.
 * @key: the key.
 * @len: its length.
 * @off: offset of this layer's slice in @key (8 times the layer depth).
 * @slice: the key's slice at @off.
 * @cls: the key's class at @off (0..8, or MST_CLS_LONG).
 * @layer_root: root of the current layer, or NULL before the walk starts.
 * @node: where the walk resumes (NULL: at the top).
 * @pos: after mst_leaf_search(): position of the match or where the key
 *	would go.
 * @slot: after mst_leaf_search(): slot of the match, or -1.
 * @stay: stop at a layer slot instead of descending into the layer.
 * @v: after mst_walk(): the version of @node that the walk validated.
 * @perm: after mst_walk(): the permutation it searched, with @v.
 */
struct mst_walk_pos {
	const u8 *key;
	size_t len;
	size_t off;
	u64 slice;
	unsigned int cls;
	struct mst_node *layer_root;
	struct mst_node *node;
	unsigned int pos;
	int slot;
	bool stay;
	unsigned long v;
	u64 perm;
};

static inline void mst_walk_pos_layer(struct mst_walk_pos *c, size_t off,
				      struct mst_node *root)
{
	c->off = off;
	c->slice = mst_slice(c->key, c->len, off);
	c->cls = mst_key_cls(c->len, off);
	c->layer_root = root;
	c->node = root;
}

static inline void mst_walk_pos_init(struct mst_walk_pos *c, const void *key,
				     size_t len)
{
	c->key = key;
	c->len = len;
	c->layer_root = NULL;
	c->node = NULL;
	c->off = 0;
	c->stay = false;
}

/*
 * Does the key end in its leaf's bag at the walk's layer: 9 to 16 bytes
 * from its slice on (see struct mst_bag)?
 */
static inline bool mst_key_in_bag(const struct mst_walk_pos *c)
{
	return c->cls == MST_CLS_LONG && c->len - c->off <= MST_KLX_BAG_MAX;
}

/* A reserve's suffix buffers, by use (see struct mst_reserve). */
#define MST_SFX_NEW	0
#define MST_SFX_MOVED	1
#define MST_SFX_SPAN	2
#define MST_RES_SFX	3

/* In mst_reserve.taken: refill the per-CPU pool after unlocking. */
#define MST_RES_REFILL	BIT(MST_RES_SFX)
/*
 * In mst_reserve.taken: buffer MST_SFX_NEW was taken before the walk, for
 * the key's whole rest past its first slice; a key that lands in a deeper
 * layer needs less, and would keep the bigger buffer for its life.
 */
#define MST_RES_LOOSE	BIT(MST_RES_SFX + 1)

/**
 * struct mst_reserve - nodes and suffix buffers a writer allocated before
 * taking any lock.
 * @nodes: unused nodes, linked through their rcu_head.
 * @nr_nodes: how many.
 * @sfx: suffix buffers: [MST_SFX_NEW] for the new key, [MST_SFX_MOVED]
 *	for the key that moves into a new layer or the lower part of a
 *	span that splits, [MST_SFX_SPAN] for a new layer's span.
 * @cap: capacity of each buffer in @sfx.
 * @taken: bit i: buffer i was taken by the write; MST_RES_REFILL: the
 *	write drew nodes from the per-CPU pool or allocated them, and
 *	refills the pool once it has unlocked.
 */
struct mst_reserve {
	struct mst_node *nodes;
	unsigned int nr_nodes;
	struct mst_suffix *sfx[MST_RES_SFX];
	u32 cap[MST_RES_SFX];
	unsigned int taken;
};

/**
 * struct mst_need - what a writer found it needs, under its locks.
 * @nodes: nodes.
 * @sfx: bytes for each of the reserve's suffix buffers (0: none).
 */
struct mst_need {
	unsigned int nodes;
	u32 sfx[MST_RES_SFX];
};

/**
 * struct mst_write - one write operation.
 * @mt: the map.
 * @c: the key's cursor.
 * @res: the reserve.
 * @need: set when the reserve fell short.
 * @irqflags: interrupt state saved by mst_write_begin().
 * @free_nodes: nodes unlinked by this operation, freed after unlocking.
 */
struct mst_write {
	struct masstree *mt;
	struct mst_walk_pos c;
	struct mst_reserve res;
	struct mst_need need;
	unsigned long irqflags;
	struct mst_node *free_nodes;
};

/*
 * A writer's locking phase: interrupts off, so that a node this CPU has
 * made dirty is never spun on by an interrupt on this CPU, and lockdep's
 * nest lock for the node locks held.
 */
static inline void mst_write_begin(struct mst_write *w)
{
	local_irq_save(w->irqflags);
	lock_acquire_exclusive(&w->mt->dep_map, 0, 0, NULL, _RET_IP_);
}

static inline void mst_write_end(struct mst_write *w)
{
	lock_release(&w->mt->dep_map, _RET_IP_);
	local_irq_restore(w->irqflags);
}

/* walk.c */
/**
 * mst_read_child() - a lockless reader's step through an internode.
 * @n: the internode, whose stable version @v the caller read inside its
 *	RCU read-side section (lookups and the cursor with preemption off
 *	from the root to the leaf: one short window).
 * @v: that version.
 * @slice: the slice the reader looks for.
 * @cv: set to the child's stable version.
 *
 * Picks the child whose range holds @slice and validates @n before the
 * child is touched (on a weakly ordered CPU a stale index or a slot past
 * nkeys, a freed node or a root leaf's old key bytes, can be read in a
 * window the check rejects), then takes the child's version before
 * checking @n again: if @n is still unchanged, the child's range held
 * @slice when *@cv was taken, and only a split of the child since (its
 * split counter) can have moved the slice right. The one descent step
 * of lookups, writers' walks, the cursor and the statistics.
 *
 * Return: the child; NULL if @n changed since @v (read it again).
 */
static __always_inline struct mst_node *mst_read_child(struct mst_node *n,
						       unsigned long v,
						       u64 slice,
						       unsigned long *cv)
{
	struct mst_internode *in = mst_to_internode(n);
	struct mst_node *child;

	child = rcu_dereference(*mst_internode_slot(in, slice));
	mst_node_prefetch(child);
	if (unlikely(!child) || mst_version_changed(n, v))
		goto changed;
	*cv = mst_stable_version(child);
	if (mst_version_changed(n, v))
		goto changed;
	return child;
changed:
	mst_count(MASSTREE_TC_READ_RETRY);
	return NULL;
}

/* lock.c */
struct mst_leaf *mst_lock_leaf(struct mst_write *w);
struct mst_internode *mst_lock_parent(struct masstree *mt,
				      struct mst_node *node);

/* reserve.c */
static inline void mst_reserve_init(struct mst_reserve *res)
{
	res->nodes = NULL;
	res->nr_nodes = 0;
	memset(res->sfx, 0, sizeof(res->sfx));
	memset(res->cap, 0, sizeof(res->cap));
	res->taken = 0;
}

/* One test, not four: every write asks on its way out. */
static inline bool mst_reserve_empty(const struct mst_reserve *res)
{
	return !(res->nr_nodes | (unsigned long)res->sfx[MST_SFX_NEW] |
		 (unsigned long)res->sfx[MST_SFX_MOVED] |
		 (unsigned long)res->sfx[MST_SFX_SPAN]);
}

/* Does @res hold suffix buffer @i for @bytes bytes (none needed if 0)? */
static inline bool mst_reserve_has_sfx(const struct mst_reserve *res,
				       unsigned int i, u32 bytes)
{
	return !bytes || (res->sfx[i] && res->cap[i] >= bytes);
}

/* Does @res cover @need? Unrolled: every insert asks. */
static inline bool mst_reserve_has(const struct mst_reserve *res,
				   const struct mst_need *need)
{
	return res->nr_nodes >= need->nodes &&
	       mst_reserve_has_sfx(res, MST_SFX_NEW, need->sfx[MST_SFX_NEW]) &&
	       mst_reserve_has_sfx(res, MST_SFX_MOVED, need->sfx[MST_SFX_MOVED]) &&
	       mst_reserve_has_sfx(res, MST_SFX_SPAN, need->sfx[MST_SFX_SPAN]);
}

/*
 * Take suffix buffer @i from @res and fill it with @len bytes; the caller
 * checked that it holds them.
 */
static inline struct mst_suffix *mst_reserve_suffix(struct mst_reserve *res,
						    unsigned int i,
						    const u8 *bytes, u32 len)
{
	struct mst_suffix *sfx = res->sfx[i];

	res->sfx[i] = NULL;
	res->taken |= 1U << i;
	sfx->len = len;
	memcpy(sfx->data, bytes, len);
	return sfx;
}

/*
 * Take suffix buffer @i from @res as a span of @len bytes leading from a
 * slot of the layer rooted at @up to the layer rooted at @root; the
 * caller checked that it holds MST_SPAN_CAP(@len).
 */
static inline struct mst_span *mst_reserve_span(struct mst_reserve *res,
						unsigned int i,
						struct mst_node *up,
						struct mst_node *root,
						const u8 *bytes, u32 len)
{
	struct mst_span *span = mst_sfx_span(res->sfx[i]);

	res->sfx[i] = NULL;
	res->taken |= 1U << i;
	span->root = root;
	span->up = up;
	span->len = len;
	memcpy(span->data, bytes, len);
	return span;
}

bool mst_reserve_loose(struct mst_reserve *res, u32 bytes);

/*
 * Does buffer MST_SFX_NEW of @res fit a need of @bytes: no bigger than a
 * buffer allocated for it would be? Only a buffer taken before the walk
 * may not (see MST_RES_LOOSE); that one is given up, once, for the caller
 * to ask for one that fits (nothing changed).
 */
static inline bool mst_reserve_fits(struct mst_reserve *res, u32 bytes)
{
	if (likely(!(res->taken & MST_RES_LOOSE)) || !bytes ||
	    res->cap[MST_SFX_NEW] == bytes)
		return true;
	return !mst_reserve_loose(res, bytes);
}

struct mst_node *mst_reserve_node(struct mst_reserve *res);
int mst_reserve_fill(struct mst_reserve *res, const struct mst_need *need,
		     gfp_t gfp);
int mst_reserve_fill_suffix(struct mst_reserve *res, u32 cap, gfp_t gfp);
void mst_reserve_release(struct mst_reserve *res);
void mst_reserve_put_node(struct mst_reserve *res, struct mst_node *node);
bool mst_reserve_take_pool(struct mst_reserve *res, const struct mst_need *need);
void mst_pool_refill(gfp_t gfp);
void mst_preload_drain(void);

/* insert.c: false when the reserve fell short (nothing changed: try again). */
bool mst_insert_locked(struct mst_write *w, struct mst_leaf *leaf, void *entry);
bool mst_insert_root(struct mst_write *w, void *entry);

/* erase.c */
void mst_erase_locked(struct mst_write *w, struct mst_leaf *leaf);

/* stats.c */
/* A map's statistics counters: see struct masstree's @pcpu and @stat. */
enum mst_stat {
	MST_STAT_KEYS,
	MST_STAT_LEAVES,
	MST_STAT_INTERNODES,
	MST_STAT_LAYERS,
	MST_STAT_SUFFIX_BYTES,
	MST_STAT_NR
};

struct masstree_pcpu_stats {
	long v[MST_STAT_NR];
};

/* A map's per-CPU counters, or NULL while it has none. */
static inline struct masstree_pcpu_stats __percpu *mst_stats_pcpu(struct masstree *mt)
{
	/* Pairs with the cmpxchg() in mst_stats_alloc() that published them. */
	return smp_load_acquire(&mt->pcpu);
}

static inline void mst_stat_add(struct masstree *mt, enum mst_stat which,
				long delta)
{
	struct masstree_pcpu_stats __percpu *pcpu = mst_stats_pcpu(mt);

	/* Irq-safe without a lock: a softirq writer may interrupt a task's. */
	if (likely(pcpu))
		this_cpu_add(pcpu->v[which], delta);
	else
		atomic_long_add(delta, &mt->stat[which]);
}

long mst_stat_read(struct masstree *mt, enum mst_stat which);
void mst_stats_alloc(struct masstree *mt, gfp_t gfp);
void mst_stats_reset(struct masstree *mt);

#endif /* _MASSTREE_INTERNAL_H */
