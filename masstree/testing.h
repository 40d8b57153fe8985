/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What tests reach inside masstree and nothing else may: the invariant
 * checker, the race counters and the hook that the concurrency tests hold
 * writers and readers in, and the Nth-allocation failure hook. Test
 * builds (kernels with KUnit, the userspace build in tools/testing/) export or
 * link them; a production module exports none of them, so they are kept
 * out of <linux/masstree.h>, where a consumer would find them declared
 * but could not link against them.
 *
 * Included by the core (version.h, internal.h), the KUnit suites and
 * tools/testing/.
 */
#ifndef _MASSTREE_TESTING_H
#define _MASSTREE_TESTING_H

struct masstree;

/*
 * Checks every invariant of a quiescent map (masstree/validate.c);
 * exported to test builds only.
 */
int masstree_validate(struct masstree *mt);

/**
 * enum masstree_test_counter - races the concurrency tests assert happened.
 * @MASSTREE_TC_READ_RETRY: a reader's version recheck failed.
 * @MASSTREE_TC_BLINK: a reader or writer followed a leaf's B-link.
 * @MASSTREE_TC_SPLIT_RECHECK: a writer found, after locking, that a split
 *	had moved its key or node (wrong leaf, stale parent).
 * @MASSTREE_TC_LAYER_RETRY: a walk met a deleted layer and restarted.
 * @MASSTREE_TC_NR: number of counters.
 */
enum masstree_test_counter {
	MASSTREE_TC_READ_RETRY,
	MASSTREE_TC_BLINK,
	MASSTREE_TC_SPLIT_RECHECK,
	MASSTREE_TC_LAYER_RETRY,
	MASSTREE_TC_NR,
};

/**
 * enum masstree_test_hook_point - where the test hook is called.
 * @MASSTREE_HOOK_READ: in a reader's validation window.
 * @MASSTREE_HOOK_SPLIT: after a leaf split, before the parent learns of it.
 * @MASSTREE_HOOK_MARK: a writer is about to make a locked node dirty.
 * @MASSTREE_HOOK_DIRTY: inside a dirty window, before the new state is
 *	complete (a leaf split before it publishes its new sibling, an
 *	internode insert before it links the new child, an erase's fold
 *	between a slot's new suffix and its entry).
 * @MASSTREE_HOOK_LOCK_LEAF: between a writer's walk and its leaf lock.
 * @MASSTREE_HOOK_LOCK_PARENT: between reading a node's parent and locking it.
 * @MASSTREE_HOOK_SCAN: in a masstree_scan() leaf window, between reading
 *	the leaf's permutation and copying the slots it lists.
 * @MASSTREE_HOOK_NEW_ROOT: the first insert into an empty map, after it
 *	published the new root leaf (locked), before it filled its slot.
 * @MASSTREE_HOOK_COLLAPSE: an erase folding a layer left with one key
 *	into the slot above it (both leaves locked), before the slot turns
 *	back into that key.
 * @MASSTREE_HOOK_MERGE: an erase merging a leaf with few keys into its
 *	left neighbour (or an internode into its left sibling), the keys
 *	(children) copied and published there (the left node locked and
 *	dirty), the right node not yet unlinked from its parent nor marked
 *	deleted.
 * @MASSTREE_HOOK_LOCK_PREV: an erase that emptied a leaf found its left
 *	neighbour locked, and unlocked the empty leaf (still linked) to
 *	wait for it: nothing of the erase's is locked.
 * @MASSTREE_HOOK_SPAN_SPLIT: an insert splitting a span: the new layer
 *	built and locked, the lower layer's root already pointing up to it,
 *	the slot above (its leaf locked) not yet switched.
 * @MASSTREE_HOOK_SPAN_MERGE: an erase merging a layer left with one
 *	entry that leads to a layer into the slot above: the new span built,
 *	both leaves locked, the slot not yet switched.
 * @MASSTREE_HOOK_VALIDATED: a lookup's leaf window validated, before the
 *	walk compares and follows what it read there.
 */
enum masstree_test_hook_point {
	MASSTREE_HOOK_READ,
	MASSTREE_HOOK_SPLIT,
	MASSTREE_HOOK_MARK,
	MASSTREE_HOOK_DIRTY,
	MASSTREE_HOOK_LOCK_LEAF,
	MASSTREE_HOOK_LOCK_PARENT,
	MASSTREE_HOOK_SCAN,
	MASSTREE_HOOK_NEW_ROOT,
	MASSTREE_HOOK_COLLAPSE,
	MASSTREE_HOOK_MERGE,
	MASSTREE_HOOK_LOCK_PREV,
	MASSTREE_HOOK_SPAN_SPLIT,
	MASSTREE_HOOK_SPAN_MERGE,
	MASSTREE_HOOK_VALIDATED,
};

#if IS_ENABLED(CONFIG_KUNIT) || defined(MASSTREE_TEST_COUNTERS)
#define MASSTREE_HAVE_TEST_COUNTERS 1
unsigned long masstree_test_counter(enum masstree_test_counter which);
/*
 * Called, if set, at each hook point; it must not sleep (node locks may be
 * held with interrupts off).
 */
extern void (*masstree_test_hook)(enum masstree_test_hook_point where);
#endif

/*
 * The core's side (masstree/stats.c): count an event, call the hook.
 * Nothing at all in a production build.
 */
#ifdef MASSTREE_HAVE_TEST_COUNTERS
void mst_count(enum masstree_test_counter which);
void mst_hook(enum masstree_test_hook_point where);
#else
static inline void mst_count(enum masstree_test_counter which) { }
static inline void mst_hook(enum masstree_test_hook_point where) { }
#endif

#if IS_ENABLED(CONFIG_KUNIT)
/*
 * Nth-allocation failure hook of test kernels (masstree/faultinject.c,
 * through the fault_attr fail_masstree where the kernel has
 * CONFIG_FAULT_INJECTION); sites are those of enum mst_fail_site in
 * masstree/faultinject.h.
 */
void masstree_fail_nth(unsigned int nth);
unsigned int masstree_fail_nth_left(void);
unsigned long masstree_fail_hits(unsigned int site);
u32 masstree_fail_sites(u32 mask);
#endif

#endif /* _MASSTREE_TESTING_H */
