/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The node version word: readers validate with it, writers lock with it.
 *
 * Bits: 0 locked, 1 inserting, 2 splitting, 3 deleted, 4 root, 5 leaf,
 * 6..34 vinsert, 35..63 vsplit. A writer sets a dirty bit (inserting or
 * splitting) before it changes what readers may be looking at; unlocking
 * clears it and bumps the matching counter. A reader takes a stable
 * (clean) version, reads, and rechecks: any change but the lock bit sends
 * it back. The counters are 29 bits each (see walk.c's DOC: why that is
 * enough: the validation window runs with preemption disabled).
 */
#ifndef _MASSTREE_VERSION_H
#define _MASSTREE_VERSION_H

#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/kcsan-checks.h>
#include <linux/lockdep.h>
#include <linux/masstree.h>
#include <linux/preempt.h>
#include <linux/processor.h>
#include <linux/rcupdate.h>

#include "testing.h"

/*
 * The version word: 6 flag bits, then two 29-bit counters.
 * MST_V_LEAF and MST_V_ROOT are kind bits; the rest are state bits.
 */
#define MST_V_LOCKED	BIT(0)
#define MST_V_INSERTING	BIT(1)
#define MST_V_SPLITTING	BIT(2)
#define MST_V_DELETED	BIT(3)
#define MST_V_ROOT	BIT(4)
#define MST_V_LEAF	BIT(5)
#define MST_V_DIRTY	(MST_V_INSERTING | MST_V_SPLITTING)
#define MST_V_VINSERT_SHIFT	6
#define MST_V_VSPLIT_SHIFT	35
#define MST_V_VINSERT_ONE	BIT(MST_V_VINSERT_SHIFT)
#define MST_V_VSPLIT_ONE		BIT(MST_V_VSPLIT_SHIFT)
#define MST_V_VINSERT_MASK	((BIT(29) - 1) << MST_V_VINSERT_SHIFT)

/**
 * struct mst_node - the head shared by leaves and internodes.
 * @version: the version word (lock, dirty and kind bits, counters).
 * @parent: for a non-root node, the internode above it, written only by
 *	the holder of that internode's lock; for the root of a layer, the
 *	root of the layer above (NULL for the top layer) or the span that
 *	leads to it, tagged (see mst_layer_up()), written only by the holder
 *	of the lock of the upper leaf whose slot leads to the layer.
 *
 * A node's rcu_head is not here but at its tail (mst_node_rcu()), past
 * everything a reader looks at, so that the head's line holds what every
 * visit reads.
 */
struct mst_node {
	unsigned long version;
	struct mst_node __rcu *parent;
};

/*
 * A clean version: spins while a writer has the node dirty. Writers keep
 * nodes dirty only with interrupts off and never sleep meanwhile, so the
 * wait is short and never waits on this CPU's own writer.
 */
static inline unsigned long mst_stable_version(struct mst_node *node)
{
	unsigned long v = READ_ONCE(node->version);

	while (v & MST_V_DIRTY) {
		cpu_relax();
		v = READ_ONCE(node->version);
	}
	/* Pairs with the smp_wmb() in mst_mark(). */
	smp_rmb();
	return v;
}

/* After reading a node: did it change since @v (the lock bit aside)? */
static inline bool mst_version_changed(struct mst_node *node, unsigned long v)
{
	/* Pairs with the release in mst_unlock(). */
	smp_rmb();
	return (READ_ONCE(node->version) ^ v) > MST_V_LOCKED;
}

static inline void mst_lockdep_acquire(struct masstree *mt, int trylock)
{
	lock_acquire_exclusive(&mt->node_map, 1, trylock, &mt->dep_map,
			       _RET_IP_);
}

static inline void mst_lockdep_release(struct masstree *mt)
{
	lock_release(&mt->node_map, _RET_IP_);
}

/*
 * Lock a node. The caller is inside a writer's locking phase
 * (mst_write_begin()); preemption stays off until mst_unlock().
 */
static inline void mst_lock(struct masstree *mt, struct mst_node *node)
{
	unsigned long v;

	preempt_disable();
	mst_lockdep_acquire(mt, 0);
	for (;;) {
		v = READ_ONCE(node->version);
		if (!(v & MST_V_LOCKED) &&
		    try_cmpxchg_acquire(&node->version, &v, v | MST_V_LOCKED))
			return;
		cpu_relax();
	}
}

static inline bool mst_trylock(struct masstree *mt, struct mst_node *node)
{
	unsigned long v;

	preempt_disable();
	v = READ_ONCE(node->version);
	if (!(v & MST_V_LOCKED) &&
	    try_cmpxchg_acquire(&node->version, &v, v | MST_V_LOCKED)) {
		mst_lockdep_acquire(mt, 1);
		return true;
	}
	preempt_enable();
	return false;
}

/*
 * A node that nobody else can reach yet starts out locked; unlock it with
 * mst_unlock() once published.
 */
static inline void mst_lock_fresh(struct masstree *mt, struct mst_node *node)
{
	preempt_disable();
	mst_lockdep_acquire(mt, 1);
	node->version |= MST_V_LOCKED;
}

/*
 * Make a locked node dirty before changing what readers may see. The
 * caller's locking phase has interrupts off (mst_write_begin()), so no
 * interrupt on this CPU can spin on the dirty bit we set.
 */
static inline void mst_mark(struct mst_node *node, unsigned long bit)
{
	mst_hook(MASSTREE_HOOK_MARK);
	/*
	 * Only the lock holder changes a locked node's version: lockers that
	 * lose may try a cmpxchg, which changes no bit. KCSAN checks it.
	 */
	ASSERT_EXCLUSIVE_BITS(node->version, ~0UL);
	WRITE_ONCE(node->version, READ_ONCE(node->version) | bit);
	/* Readers that see our later stores see the dirty bit. */
	smp_wmb();
}

static inline void mst_unlock(struct masstree *mt, struct mst_node *node)
{
	unsigned long v = READ_ONCE(node->version);

	ASSERT_EXCLUSIVE_BITS(node->version, ~0UL);
	if (v & MST_V_INSERTING)
		v = (v & ~MST_V_VINSERT_MASK) |
		    ((v + MST_V_VINSERT_ONE) & MST_V_VINSERT_MASK);
	if (v & MST_V_SPLITTING)
		v += MST_V_VSPLIT_ONE;	/* the top field: carry falls off */
	v &= ~(MST_V_DIRTY | MST_V_LOCKED);
	/* Our stores before the new version: pairs with mst_version_changed(). */
	smp_store_release(&node->version, v);
	mst_lockdep_release(mt);
	preempt_enable();
}

static inline bool mst_locked(const struct mst_node *node)
{
	return READ_ONCE(node->version) & MST_V_LOCKED;
}

#endif /* _MASSTREE_VERSION_H */
