// SPDX-License-Identifier: GPL-2.0
/*
 * Lookups, and the design of the whole map (the DOC block below). The
 * lockless read side they run is inline, in walk.h, shared with the
 * writers' locking (lock.c).
 */

/**
 * DOC: Masstree design
 *
 * A map is a trie of B+trees ("layers"). Layer d indexes keys by their
 * bytes 8d..8d+7, read big-endian into a u64 "slice"; a key that ends in
 * the slice is stored in a leaf of that layer; a key that continues past
 * it is stored there with its remaining bytes out of line: up to 8 of
 * them (a key of 9 to 16 bytes from the slice on) in the leaf's bag, one
 * node-sized block of second slices per leaf, rewritten in place like the
 * leaf's own slices (struct mst_bag); more in an immutable suffix of
 * their own. Either way, until a second key with the same slice that also
 * continues arrives: then the slot turns into the root of a new layer
 * holding both.
 * If they share more whole slices, the slot holds them once, as an
 * immutable "span" (struct mst_span), and the new layer sits after them:
 * keys sharing a prefix of any length cost one layer, not one per 8
 * bytes. A key that leaves a span part-way splits it (insert.c): a new
 * layer where it leaves, the span's two parts above and below it. Within a
 * slice, keys are
 * ordered by length class (0..8 bytes in the slice, or "continues"), so a
 * prefix sorts before its extensions and the whole map is in bytewise
 * order.
 *
 * Nodes: leaves hold up to 15 keys in arbitrary slots plus a 64-bit
 * permutation that lists the live slots in key order; internodes hold up
 * to 15 separators and 16 children. Leaves of a layer are linked (next and
 * prev); each leaf has a lower bound, lowkey, for the B-link rule: a walk
 * that finds key >= next->lowkey moves right. Lower bounds only decrease
 * (splits move the upper half right; removing a leaf merges its range into
 * a neighbour), so a walk never needs to go left.
 *
 * The root grows in place: a layer's root node stays the same object as
 * long as the layer exists. When a root leaf splits, its keys move to two
 * new leaves and the node becomes an internode above them; when a root
 * internode splits, its children move to two new internodes. So the
 * pointer to a layer (the map's root, or a leaf slot in the layer above)
 * never changes while the layer lives, and a layer root can point back at
 * the root of the layer above (mst_node.parent), or at the span that
 * leads to it (tagged in bit 0; the span names the layer above and how far
 * up it is), which erase uses to find the slot to remove when a layer
 * empties. A span split or merge above rewrites that pointer under the
 * upper leaf's lock only, before it unlocks: a writer climbing from a
 * layer root it holds locked checks, under the upper leaf's lock, that the
 * slot it found still leads to that root, and reads the pointer again
 * otherwise (erase.c, mst_layer_climb()). Every node is allocated big
 * enough for either kind, and a reader dereferences nothing read from a
 * node before validating the node's version.
 *
 * Version word (version.h): lock, inserting, splitting, deleted, root and
 * leaf bits, then a 29-bit insert counter and a 29-bit split counter.
 * Masstree's paper uses 32-bit counters; 6 flags and 2x32 do not fit in
 * 64 bits, and the counters only have to outlast one reader's validation
 * window on one node: stable version, smp_rmb(), reads, smp_rmb(), recheck.
 * That window runs with preemption disabled, so a reader cannot be
 * preempted inside it, and 2^29 writer critical sections on one node
 * (each a lock handoff, tens of nanoseconds at least) take over ten
 * seconds: no interrupt lasts that long. A reader preempted between
 * windows carries no version across the gap.
 *
 * Readers (mst_walk(), walk.h): take a node's stable version (spinning
 * while it is dirty), read, recheck; on a change retry the node; on a
 * deleted node restart from the layer root, or from the map's root if the
 * layer root itself was deleted. Going down, a reader takes the child's
 * stable version before it rechecks the parent (preemption stays off from
 * the first version to the leaf's recheck): a split marks the child dirty
 * until its parent knows of the new sibling, so if the parent checks out,
 * the key lay in the child's range as of that version. A leaf reached that
 * way needs no B-link check unless it split since (its split counter
 * moved) or is locked at the recheck (an erase hands the leaf's range to
 * its right neighbour, lowering the neighbour's bound, before it marks the
 * leaf deleted); a walk that starts mid-layer or has moved right checks
 * the right neighbour at every leaf. Leaf inserts fill a free slot and
 * then publish the permutation with a release store; a slot freed by erase
 * is reused only under the inserting bit, so a reader never sees a half-
 * written key.
 *
 * Writers lock only the nodes they change. Node locks are the lock bit,
 * taken with try_cmpxchg_acquire() and preemption disabled. A writer
 * makes a node dirty only with interrupts disabled (its whole locking
 * phase runs under local_irq_save()), so an interrupt-context reader never
 * spins on its own CPU's writer. Lock order: a deeper layer before a
 * shallower one; within a layer a leaf before its left neighbour only by
 * trylock (erase backs off), and a child before its parent, hand over hand
 * upwards. Fresh nodes are locked before they are published. Lockdep sees
 * node locks as one class per map (masstree.node_map) taken under a nest
 * lock (masstree.dep_map, held for a writer's whole locking phase), since
 * a split holds a chain of node locks of one class whose length depends on
 * the tree's height.
 *
 * Contexts: readers (masstree_load(), __masstree_load()) may run in any
 * context but NMI. Writers may run in process or softirq context, never in
 * hardirq or NMI context (they WARN_ON_ONCE and proceed); they allocate
 * with the caller's gfp before taking any node lock or after dropping
 * them all (a split takes its nodes from this CPU's pool under the lock
 * when the pool has them, and a writer that may sleep refills the pool
 * once unlocked), and not at all after masstree_preload() for ordinary
 * keys. The map's statistics counters are
 * per-CPU (allocated by the first write that allocates nodes and may
 * sleep; until then writers count in shared atomics, and a counter is the
 * sum of both), so that writers neither share a counter's line nor dirty
 * the line that holds the root; RCU callbacks never touch the map.
 *
 * Search: an internode is searched in four fixed binary steps, a leaf by
 * binary search over its permutation. A reader asks for all of a child's
 * lines as soon as it has read the child's pointer, before it validates
 * the parent (a prefetch never faults), so that the 2-3 lines the child's
 * search will pick arrive together rather than one miss after another.
 * A writer walks like a reader, locks the leaf (lock.c), and keeps the
 * walk's search when the leaf's version and permutation are unchanged (an
 * erase changes only the permutation).
 *
 * Empty map: no node at all (root NULL). The first insert creates a root
 * leaf; erasing the last key frees it. Erase removes a key from the
 * permutation, then unlinks and frees an empty leaf (the leftmost too) and
 * every internode left without children, and unlinks a layer once it is
 * empty. A leaf left with at most a quarter of its slots in use merges
 * with a neighbour under the same parent if both fit in three quarters
 * of a leaf: the right leaf's keys move into the left one, which keeps
 * its lower bound, and the right leaf goes as an emptied one does
 * (erase.c). A layer below the top whose root leaf an erase leaves
 * holding one entry folds into the slot above (erase.c), also when a
 * lower layer's removal left it that entry: a key turns the slot back into
 * that key, a way further down turns it into one longer span, so that
 * neither chains of one-entry layers nor their memory outlive the erase
 * that made them; a root internode left with one child absorbs it first
 * (root shrink). The fold's one allocation is GFP_NOWAIT, and if it fails
 * the layer stays.
 */
#include <linux/export.h>
#include <linux/masstree.h>
#include <linux/rcupdate.h>

#include "internal.h"
#include "walk.h"

/*
 * One lookup, inside the caller's RCU read-side section. Inlined into both
 * exported lookups: masstree_load() pays no call besides the RCU lock's.
 */
static __always_inline void *mst_load(struct masstree *mt, const void *key,
				      size_t len)
{
	/* Set up here and by the walk: not zeroed on every lookup first. */
	struct mst_walk_pos c __uninitialized;
	/* mst_walk() sets it, which the compiler cannot always see. */
	void *entry = NULL;

	if (len > MASSTREE_MAX_KEY_LEN)
		return NULL;
	WARN_ON_ONCE(in_nmi());
	mst_walk_pos_init(&c, key, len);
	mst_walk(mt, &c, &entry);
	return entry;
}

/**
 * __masstree_load() - look a key up; the caller holds the RCU read lock.
 * @mt: the map.
 * @key: the key's bytes.
 * @len: the key's length.
 *
 * The entry stays valid only as long as the caller's RCU read-side
 * critical section, or whatever reference the caller's own scheme holds.
 *
 * Context: Any context but NMI, inside rcu_read_lock().
 * Return: the entry, or NULL if @key is absent or too long.
 */
void *__masstree_load(struct masstree *mt, const void *key, size_t len)
{
	RCU_LOCKDEP_WARN(!rcu_read_lock_held(),
			 "caller must hold rcu_read_lock()");
	return mst_load(mt, key, len);
}
EXPORT_SYMBOL_GPL(__masstree_load);

/**
 * masstree_load() - look a key up.
 * @mt: the map.
 * @key: the key's bytes.
 * @len: the key's length.
 *
 * Lockless: takes and drops the RCU read lock itself and never blocks.
 * Once it returns, the entry may already have been erased and freed by
 * a writer: keeping it alive is the caller's business (call
 * __masstree_load() inside its own rcu_read_lock() section, or hold a
 * reference that the entry's owner respects).
 *
 * Context: Any context but NMI. Takes and releases the RCU read lock.
 * Return: the entry, or NULL if @key is absent or too long.
 */
void *masstree_load(struct masstree *mt, const void *key, size_t len)
{
	void *entry;

	rcu_read_lock();
	entry = mst_load(mt, key, len);
	rcu_read_unlock();
	return entry;
}
EXPORT_SYMBOL_GPL(masstree_load);
