// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation before locking: a writer's reserve, and the per-CPU preload
 * pool that lets callers holding a spinlock insert without allocating.
 *
 * A writer finds out what it needs (nodes for a split or a new layer,
 * suffix buffers) only once it holds the node locks. If its reserve falls
 * short of nodes, it first tops it up from this CPU's pool without
 * unlocking (its interrupts are off, so the pool is its own); only when
 * the pool is short too does it drop every lock and the RCU read lock,
 * fill the reserve with the caller's gfp (nodes from the per-CPU pool
 * first; suffix buffers of the key's size first, the pool's spare only if
 * that fails) and start over. A write that drew on the pool refills it
 * after unlocking, if its gfp may sleep. Nothing is allocated while a node
 * lock is held, and a failed allocation leaves the map untouched. Unused
 * reserve goes back to the pool, or is freed.
 */
#include <linux/export.h>
#include <linux/gfp.h>
#include <linux/irqflags.h>
#include <linux/masstree.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <kunit/visibility.h>

#include "internal.h"
#include "node.h"

/*
 * Enough for a leaf split that propagates through a layer of height 10
 * with a root split at the top, and a bag for each of the split's two
 * leaves (struct mst_bag).
 */
#define MST_PRELOAD_NODES	14
/* Suffix buffers: a key's tail up to this many bytes needs no allocation. */
#define MST_PRELOAD_SFX_CAP	240
/*
 * What a writer that may sleep leaves in its CPU's pool after drawing on
 * it: a leaf split and the split of the internode above it, which is
 * nearly every split. Rarer writes that need more (a root internode's
 * split, a new layer with its span) take the unlock/allocate/re-walk path,
 * whose allocations the fault injection tests fail one by one.
 */
#define MST_POOL_REFILL		2

struct mst_preload {
	struct mst_node *nodes;
	unsigned int nr_nodes;
	struct mst_suffix *sfx[MST_RES_SFX];
};

static DEFINE_PER_CPU(struct mst_preload, mst_preloads);

static bool mst_pool_sfx_full(const struct mst_preload *pl)
{
	unsigned int i;

	for (i = 0; i < MST_RES_SFX; i++)
		if (!pl->sfx[i])
			return false;
	return true;
}

/*
 * The pool is touched with interrupts off: a softirq writer may interrupt a
 * task's writer on the same CPU, and both draw from the pool.
 */
static struct mst_node *mst_pool_take_node(void)
{
	struct mst_preload *pl;
	struct mst_node *node = NULL;
	unsigned long flags;

	local_irq_save(flags);
	pl = this_cpu_ptr(&mst_preloads);
	if (pl->nr_nodes) {
		node = mst_node_list_pop(&pl->nodes);
		pl->nr_nodes--;
	}
	local_irq_restore(flags);
	return node;
}

static bool mst_pool_give_node(struct mst_node *node, unsigned int limit)
{
	struct mst_preload *pl;
	unsigned long flags;
	bool taken = false;

	local_irq_save(flags);
	pl = this_cpu_ptr(&mst_preloads);
	if (pl->nr_nodes < limit) {
		mst_node_list_push(&pl->nodes, node);
		pl->nr_nodes++;
		taken = true;
	}
	local_irq_restore(flags);
	return taken;
}

static struct mst_suffix *mst_pool_take_sfx(u32 cap)
{
	struct mst_suffix *sfx = NULL;
	struct mst_preload *pl;
	unsigned long flags;
	int i;

	if (cap > MST_PRELOAD_SFX_CAP)
		return NULL;
	local_irq_save(flags);
	pl = this_cpu_ptr(&mst_preloads);
	for (i = 0; i < MST_RES_SFX - 1 && !pl->sfx[i]; i++)
		;
	sfx = pl->sfx[i];
	pl->sfx[i] = NULL;
	local_irq_restore(flags);
	return sfx;
}

/**
 * masstree_preload() - fill this CPU's node pool before taking a spinlock.
 * @gfp: allocation flags; usually GFP_KERNEL.
 *
 * Allocates the nodes and suffix buffers an insert may need, so that a
 * following masstree_insert(), masstree_store() or masstree_cmpxchg() under
 * the caller's spinlock, with GFP_NOWAIT or GFP_ATOMIC, does not fail for
 * lack of memory: unless its key needs more than MST_PRELOAD_NODES nodes (a
 * split up a tall tree) or a suffix or span longer than
 * MST_PRELOAD_SFX_CAP bytes, in which case it allocates with
 * its own gfp. Nodes come from the preload; a suffix buffer is first asked
 * of the slab at the key's size with the caller's gfp, and the preloaded
 * one (MST_PRELOAD_SFX_CAP bytes) is used only if that fails, so that a
 * short key does not keep a big buffer for its whole life.
 * On success preemption is disabled until masstree_preload_end(), as with
 * radix_tree_preload(); on failure it is not.
 *
 * Context: Process context; may sleep if @gfp allows.
 * Return: 0, or -ENOMEM (preemption left enabled).
 */
int masstree_preload(gfp_t gfp)
{
	struct mst_preload *pl;
	struct mst_suffix *sfx;
	struct mst_node *node;
	int i;

	for (;;) {
		preempt_disable();
		pl = this_cpu_ptr(&mst_preloads);
		if (pl->nr_nodes >= MST_PRELOAD_NODES && mst_pool_sfx_full(pl))
			return 0;
		preempt_enable();
		if (READ_ONCE(pl->nr_nodes) < MST_PRELOAD_NODES) {
			node = mst_node_alloc(gfp);
			if (!node)
				return -ENOMEM;
			if (!mst_pool_give_node(node, MST_PRELOAD_NODES))
				mst_node_discard(node);
			continue;
		}
		sfx = mst_suffix_alloc(MST_PRELOAD_SFX_CAP, gfp);
		if (!sfx)
			return -ENOMEM;
		preempt_disable();
		pl = this_cpu_ptr(&mst_preloads);
		for (i = 0; i < MST_RES_SFX && sfx; i++) {
			if (!pl->sfx[i]) {
				pl->sfx[i] = sfx;
				sfx = NULL;
			}
		}
		preempt_enable();
		if (sfx)
			mst_suffix_discard(sfx);
	}
}
EXPORT_SYMBOL_GPL(masstree_preload);

/**
 * masstree_preload_end() - end a preload section.
 *
 * Context: After a successful masstree_preload(); enables preemption.
 */
void masstree_preload_end(void)
{
	preempt_enable();
}
EXPORT_SYMBOL_GPL(masstree_preload_end);

/*
 * Give @res->sfx[@i] a suffix buffer of the size class @cap needs, or
 * else the pool's spare; on failure it keeps what it had. The spare holds
 * MST_PRELOAD_SFX_CAP bytes: published for a short tail it would pin up to
 * 30 times the key's need for the key's whole life, so it is only the
 * fallback that keeps a preloaded write from failing, as
 * radix_tree_node_alloc() treats its preloads.
 */
static int mst_reserve_get_suffix(struct mst_reserve *res, int i, u32 cap,
				  gfp_t gfp)
{
	gfp_t try = gfpflags_allow_blocking(gfp) ? gfp : gfp | __GFP_NOWARN;
	struct mst_suffix *sfx = mst_suffix_alloc(cap, try);

	if (!sfx) {
		sfx = mst_pool_take_sfx(cap);
		if (!sfx)
			return -ENOMEM;
		cap = MST_PRELOAD_SFX_CAP;
	}
	if (res->sfx[i])
		mst_suffix_discard(res->sfx[i]);
	res->sfx[i] = sfx;
	res->cap[i] = cap;
	return 0;
}

/**
 * mst_reserve_fill() - allocate what a reserve lacks for a need.
 * @res: the reserve.
 * @need: the need.
 * @gfp: allocation flags.
 *
 * Context: No node lock and no RCU read lock held; may sleep if @gfp
 * allows.
 * Return: 0, or -ENOMEM (the reserve keeps what it got).
 */
int mst_reserve_fill(struct mst_reserve *res, const struct mst_need *need,
		     gfp_t gfp)
{
	struct mst_node *node;
	int i;

	while (res->nr_nodes < need->nodes) {
		node = mst_pool_take_node();
		if (!node)
			node = mst_node_alloc(gfp);
		if (!node)
			return -ENOMEM;
		mst_node_list_push(&res->nodes, node);
		res->nr_nodes++;
	}
	for (i = 0; i < MST_RES_SFX; i++) {
		if (!need->sfx[i] || (res->sfx[i] && res->cap[i] >= need->sfx[i]))
			continue;
		if (mst_reserve_get_suffix(res, i, need->sfx[i], gfp))
			return -ENOMEM;
	}
	return 0;
}

/**
 * mst_reserve_fill_suffix() - give a reserve the new key's suffix buffer.
 * @res: an empty reserve.
 * @cap: bytes the buffer must hold.
 * @gfp: allocation flags.
 *
 * What mst_reserve_fill() does for a need of one suffix buffer and no
 * node, without its loops: a writer of a new long key calls it before
 * every walk.
 *
 * Context: No node lock and no RCU read lock held; may sleep if @gfp
 * allows.
 * Return: 0, or -ENOMEM.
 */
int mst_reserve_fill_suffix(struct mst_reserve *res, u32 cap, gfp_t gfp)
{
	return mst_reserve_get_suffix(res, 0, cap, gfp);
}

/**
 * mst_reserve_loose() - give up a new key's buffer a size class too big.
 * @res: the reserve; its MST_SFX_NEW buffer was taken before the walk.
 * @bytes: what the key needs where it lands.
 *
 * Once per write: the buffer stops counting as taken early, and if its
 * slab object is bigger than one for @bytes it is marked empty (kept
 * until mst_reserve_fill() replaces it), so that the writer unlocks and
 * asks for one that fits. A map then holds the same bytes for the same
 * keys whatever the order they came in.
 *
 * Context: Inside a write's locking phase.
 * Return: true if the buffer was given up.
 */
bool mst_reserve_loose(struct mst_reserve *res, u32 bytes)
{
	res->taken &= ~MST_RES_LOOSE;
	if (mst_suffix_bytes(res->cap[MST_SFX_NEW]) == mst_suffix_bytes(bytes))
		return false;
	res->cap[MST_SFX_NEW] = 0;
	return true;
}

/**
 * mst_reserve_take_pool() - cover a need from this CPU's pool, under locks.
 * @res: the reserve.
 * @need: the need; only its nodes come from the pool.
 *
 * Lets a write that finds it needs nodes (a split, a new layer) go on
 * under its locks instead of unlocking, allocating and walking again.
 * Interrupts are off, so no other writer draws on this CPU's pool
 * meanwhile.
 *
 * Context: Inside a write's locking phase (interrupts disabled).
 * Return: true if @res now covers @need; false, with @res unchanged, if
 * the pool holds too few nodes or @res lacks a suffix buffer.
 */
bool mst_reserve_take_pool(struct mst_reserve *res, const struct mst_need *need)
{
	struct mst_preload *pl = this_cpu_ptr(&mst_preloads);
	struct mst_need nodes_only = *need;

	nodes_only.nodes = 0;
	if (!mst_reserve_has(res, &nodes_only) ||
	    res->nr_nodes + pl->nr_nodes < need->nodes)
		return false;
	while (res->nr_nodes < need->nodes) {
		mst_node_list_push(&res->nodes, mst_node_list_pop(&pl->nodes));
		pl->nr_nodes--;
		res->nr_nodes++;
	}
	res->taken |= MST_RES_REFILL;
	return true;
}

/**
 * mst_pool_refill() - top this CPU's pool up after a write drew on it.
 * @gfp: the writer's allocation flags.
 *
 * Best effort, and only for writers that may sleep: a caller holding a
 * spinlock after masstree_preload() keeps the promise that its write does
 * not allocate. Not a fault injection site: a failure here fails nothing,
 * while the tests that fail a write's Nth allocation expect the write to
 * fail with it.
 *
 * Context: No node lock and no RCU read lock held; may sleep if @gfp
 * allows.
 */
void mst_pool_refill(gfp_t gfp)
{
	struct mst_node *node;

	if (!gfpflags_allow_blocking(gfp))
		return;
	for (;;) {
		preempt_disable();
		if (this_cpu_ptr(&mst_preloads)->nr_nodes >= MST_POOL_REFILL) {
			preempt_enable();
			return;
		}
		preempt_enable();
		node = mst_node_alloc_spare(gfp | __GFP_NOWARN);
		if (!node)
			return;
		if (!mst_pool_give_node(node, MST_POOL_REFILL)) {
			mst_node_discard(node);
			return;
		}
	}
}

/**
 * mst_reserve_node() - take a node from a reserve.
 * @res: the reserve.
 *
 * Context: Any context.
 * Return: a node of no kind (not zeroed); the caller checked the reserve
 * has one.
 */
struct mst_node *mst_reserve_node(struct mst_reserve *res)
{
	struct mst_node *node = mst_node_list_pop(&res->nodes);

	if (WARN_ON_ONCE(!node))
		return NULL;
	res->nr_nodes--;
	mst_node_rcu(node)->next = NULL;
	return node;
}

/**
 * mst_reserve_put_node() - give an unpublished node of no kind back to a reserve.
 * @res: the reserve.
 * @node: the node.
 *
 * Context: Any context.
 */
void mst_reserve_put_node(struct mst_reserve *res, struct mst_node *node)
{
	mst_node_list_push(&res->nodes, node);
	res->nr_nodes++;
}

/**
 * mst_reserve_release() - give back what a writer did not use.
 * @res: the reserve; empty afterwards.
 *
 * Context: Any context.
 */
void mst_reserve_release(struct mst_reserve *res)
{
	struct mst_node *node;
	int i;

	while (res->nr_nodes) {
		node = mst_reserve_node(res);
		if (!mst_pool_give_node(node, MST_PRELOAD_NODES))
			mst_node_discard(node);
	}
	for (i = 0; i < MST_RES_SFX; i++) {
		if (res->sfx[i])
			mst_suffix_discard(res->sfx[i]);
		res->sfx[i] = NULL;
		res->cap[i] = 0;
	}
}

/**
 * mst_preload_drain() - free the per-CPU pools.
 *
 * In the kernel, every CPU's pool (module exit, after the last map is
 * gone); in the userspace build, the calling thread's.
 *
 * Context: Process context; no writer may run.
 */
void mst_preload_drain(void)
{
	struct mst_preload *pl;
	struct mst_node *node;
	int cpu, i;

	for_each_possible_cpu(cpu) {
		pl = per_cpu_ptr(&mst_preloads, cpu);
		while ((node = mst_node_list_pop(&pl->nodes))) {
			pl->nr_nodes--;
			mst_node_discard(node);
		}
		for (i = 0; i < MST_RES_SFX; i++) {
			if (pl->sfx[i])
				mst_suffix_discard(pl->sfx[i]);
			pl->sfx[i] = NULL;
		}
	}
}
EXPORT_SYMBOL_IF_KUNIT(mst_preload_drain);
