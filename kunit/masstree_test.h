/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the KUnit suites: a per-case map that the suite's exit
 * hook destroys even when a case fails, entries that are never
 * dereferenced, keys built from integers, node-count snapshots,
 * snapshots of a map that a failed write must leave unchanged, and the
 * end of a test kthread.
 */
#ifndef _MASSTREE_KUNIT_TEST_H
#define _MASSTREE_KUNIT_TEST_H

#include <kunit/test.h>
#include <linux/masstree.h>
#include <linux/cpumask.h>
#include <linux/kthread.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <asm/unaligned.h>

#include "masstree_refmap.h"
#include "internal.h"
#include "node.h"
#include "permutation.h"
#include "testing.h"

/*
 * An entry for value @v: low bits 0b01, never NULL, never reserved, never
 * dereferenced by the map.
 */
static inline void *mtt_entry(unsigned long v)
{
	return (void *)((v << 2) | 1);
}

static inline unsigned long mtt_entry_value(const void *entry)
{
	return (unsigned long)entry >> 2;
}

/* An 8-byte big-endian key: integer order is key order. */
static inline void mtt_key64(u8 *key, u64 v)
{
	put_unaligned_be64(v, key);
}

/* Nodes still allocated by masstree.ko once pending RCU frees ran. */
static inline void mtt_settled_nodes(struct mst_node_stats *stats)
{
	rcu_barrier();
	mst_node_stats_read(stats);
}

/*
 * Suffix buffers that masstree_preload() parks in the per-CPU pools (one
 * per reserve buffer, per CPU) count as live suffixes; a write may use
 * one up, so the count may drop by as many, but never grow.
 */
#define MTT_POOL_SUFFIXES	(MST_RES_SFX * num_possible_cpus())

static inline void mtt_expect_nodes_equal(struct kunit *test,
					  const struct mst_node_stats *before,
					  const struct mst_node_stats *after)
{
	KUNIT_EXPECT_EQ(test, before->leaves, after->leaves);
	KUNIT_EXPECT_EQ(test, before->internodes, after->internodes);
	KUNIT_EXPECT_LE(test, after->suffixes, before->suffixes);
	KUNIT_EXPECT_GE(test, after->suffixes + MTT_POOL_SUFFIXES,
			before->suffixes);
}

/* The statistics of a map with no key: no node, no byte. */
static inline void mtt_expect_empty(struct kunit *test, struct masstree *mt)
{
	struct masstree_stats st;

	masstree_get_stats(mt, &st);
	KUNIT_EXPECT_EQ(test, st.keys, 0UL);
	KUNIT_EXPECT_EQ(test, st.leaves, 0UL);
	KUNIT_EXPECT_EQ(test, st.internodes, 0UL);
	KUNIT_EXPECT_EQ(test, st.layers, 0UL);
	KUNIT_EXPECT_EQ(test, st.height, 0UL);
	KUNIT_EXPECT_EQ(test, st.bytes, 0UL);
	KUNIT_EXPECT_NULL(test, rcu_access_pointer(mt->root));
}

/**
 * struct mtt_snapshot - what a failed write must leave as it was.
 * @st: the map's statistics.
 * @nodes: nodes and suffixes live in masstree.ko, settled.
 * @hash: FNV-1a over every key, its length and its entry, in scan order.
 * @count: keys the scan saw.
 */
struct mtt_snapshot {
	struct masstree_stats st;
	struct mst_node_stats nodes;
	u64 hash;
	unsigned long count;
};

static inline int mtt_snap_one(const void *key, size_t len, void *entry,
			       void *arg)
{
	struct mtt_snapshot *snap = arg;
	const u8 *p = key;
	size_t i;

	snap->hash = (snap->hash ^ len) * 0x100000001b3ULL;
	for (i = 0; i < len; i++)
		snap->hash = (snap->hash ^ p[i]) * 0x100000001b3ULL;
	snap->hash = (snap->hash ^ (unsigned long)entry) * 0x100000001b3ULL;
	snap->count++;
	return 0;
}

/* Take @snap of @mt; no failure may be armed, the scan must succeed. */
static inline void mtt_snap(struct kunit *test, struct masstree *mt,
			    struct mtt_snapshot *snap)
{
	snap->hash = 0xcbf29ce484222325ULL;
	snap->count = 0;
	KUNIT_ASSERT_EQ(test, masstree_scan(mt, NULL, 0, NULL, 0,
					    MASSTREE_SCAN_NO_START | MASSTREE_SCAN_NO_END,
					    mtt_snap_one, snap), 0);
	masstree_get_stats(mt, &snap->st);
	mtt_settled_nodes(&snap->nodes);
}

/*
 * @mt as @before saw it: the same keys and entries, statistics and live
 * nodes, and valid. A failed write may have used up a pooled suffix, so
 * live suffixes may only drop.
 */
static inline void mtt_expect_unchanged(struct kunit *test, struct masstree *mt,
					const struct mtt_snapshot *before)
{
	struct mtt_snapshot now;

	mtt_snap(test, mt, &now);
	KUNIT_EXPECT_EQ(test, now.count, before->count);
	KUNIT_EXPECT_EQ(test, now.hash, before->hash);
	KUNIT_EXPECT_EQ(test, now.st.keys, before->st.keys);
	KUNIT_EXPECT_EQ(test, now.st.leaves, before->st.leaves);
	KUNIT_EXPECT_EQ(test, now.st.internodes, before->st.internodes);
	KUNIT_EXPECT_EQ(test, now.st.layers, before->st.layers);
	KUNIT_EXPECT_EQ(test, now.st.bytes, before->st.bytes);
	KUNIT_EXPECT_EQ(test, now.nodes.leaves, before->nodes.leaves);
	KUNIT_EXPECT_EQ(test, now.nodes.internodes, before->nodes.internodes);
	KUNIT_EXPECT_LE(test, now.nodes.suffixes, before->nodes.suffixes);
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
}

/*
 * The end of a test's kthread: stay until kthread_stop(), so that the
 * task is still the test's to reap.
 */
static inline void mtt_park(void)
{
	set_current_state(TASK_INTERRUPTIBLE);
	while (!kthread_should_stop()) {
		schedule();
		set_current_state(TASK_INTERRUPTIBLE);
	}
	__set_current_state(TASK_RUNNING);
}

/**
 * struct mtt_fixture - what a case owns, released by mtt_exit().
 * @mt: the case's map.
 * @nodes: live node counts when the case began.
 * @ref: a reference map (masstree_refmap.h) for the differential cases,
 *       empty until a case fills it.
 */
struct mtt_fixture {
	struct masstree mt;
	struct mst_node_stats nodes;
	struct refmap ref;
};

/* The reference map's memory. */
static inline void *mtt_refmap_alloc(size_t size, gfp_t gfp)
{
	return kmalloc(size, gfp);
}

static inline void mtt_refmap_free(void *p)
{
	kfree(p);
}

/* Suite .init: a fresh map per case, in test->priv. */
static inline int mtt_init(struct kunit *test)
{
	struct mtt_fixture *fx = kunit_kzalloc(test, sizeof(*fx), GFP_KERNEL);

	if (!fx)
		return -ENOMEM;
	masstree_init(&fx->mt, 0);
	mtt_settled_nodes(&fx->nodes);
	refmap_init(&fx->ref, mtt_refmap_alloc, mtt_refmap_free, GFP_KERNEL);
	test->priv = fx;
	return 0;
}

/*
 * Suite .exit: destroy the case's map and empty its reference, whatever
 * the case left in them.
 */
static inline void mtt_exit(struct kunit *test)
{
	struct mtt_fixture *fx = test->priv;

	if (fx) {
		masstree_destroy(&fx->mt);
		refmap_clear(&fx->ref);
	}
}

static inline struct masstree *mtt_map(struct kunit *test)
{
	return &((struct mtt_fixture *)test->priv)->mt;
}

static inline struct refmap *mtt_ref(struct kunit *test)
{
	return &((struct mtt_fixture *)test->priv)->ref;
}

/*
 * The root of a quiescent map's top layer (@prefix NULL), or of the layer
 * its slot for the 8 bytes at @prefix leads to (through the slot's span,
 * if it holds one), the top layer being one leaf. NULL if there is none.
 */
static inline struct mst_node *mtt_layer_root(struct masstree *mt,
					      const u8 *prefix)
{
	struct mst_node *root = rcu_access_pointer(mt->root);
	struct mst_leaf *top;
	unsigned int i, s;
	u64 perm;

	if (!prefix || !root || !mst_node_is_leaf(root))
		return prefix ? NULL : root;
	top = mst_to_leaf(root);
	perm = READ_ONCE(top->permutation);
	for (i = 0; i < mst_perm_size(perm); i++) {
		size_t skip;

		s = mst_perm_slot(perm, i);
		if (mst_klx_is_layer(top->keylenx[s]) &&
		    top->ikey[s] == get_unaligned_be64(prefix))
			return mst_slot_layer(top->keylenx[s],
					      rcu_access_pointer(top->lv[s]),
					      &skip);
	}
	return NULL;
}

/*
 * In a quiescent map, the first slot whose keylenx is @klx in @leaf or a
 * leaf right of it: its leaf (NULL if none), and the slot in *@slot.
 */
static inline struct mst_leaf *mtt_find_klx(struct mst_leaf *leaf, u8 klx,
					    unsigned int *slot)
{
	unsigned int i;

	for (; leaf; leaf = rcu_dereference_protected(leaf->next, 1)) {
		for (i = 0; i < mst_perm_size(leaf->permutation); i++) {
			*slot = mst_perm_slot(leaf->permutation, i);
			if (leaf->keylenx[*slot] == klx)
				return leaf;
		}
	}
	return NULL;
}

/* After erasing every key: an empty map, and every node given back. */
static inline void mtt_expect_all_freed(struct kunit *test)
{
	struct mtt_fixture *fx = test->priv;
	struct mst_node_stats now;

	mtt_expect_empty(test, &fx->mt);
	mtt_settled_nodes(&now);
	mtt_expect_nodes_equal(test, &fx->nodes, &now);
}

#endif /* _MASSTREE_KUNIT_TEST_H */
