// SPDX-License-Identifier: GPL-2.0
/*
 * The walk: how readers find a key without locks, and how writers find
 * and lock the leaf their key belongs in.
 */

/**
 * DOC: Masstree design
 *
 * A map is a trie of B+trees ("layers"). Layer d indexes keys by their
 * bytes 8d..8d+7, read big-endian into a u64 "slice"; a key that ends in
 * the slice is stored in a leaf of that layer; a key that continues past
 * it is stored there with its remaining bytes in an out-of-line, immutable
 * suffix, until a second key with the same slice that also continues
 * arrives: then the slot turns into the root of a new layer holding both
 * (a chain of layers if they share more slices). Within a slice, keys are
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
 * the root of the layer above (mst_node.parent), which erase uses to find
 * the slot to remove when a layer empties. Every node is allocated big
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
 * Readers (mst_walk()): take a node's stable version (spinning while it is
 * dirty), read, recheck; on a change retry the node; on a deleted node
 * restart from the layer root, or from the map's root if the layer root
 * itself was deleted. Going down, a reader takes the child's stable
 * version before it rechecks the parent (preemption stays off from the
 * first version to the leaf's recheck): a split marks the child dirty
 * until its parent knows of the new sibling, so if the parent checks
 * out, the key lay in the child's range as of that version. A leaf
 * reached that way needs no B-link check unless it split since (its
 * split counter moved) or is locked at the recheck (an erase hands the
 * leaf's range to its right neighbour, lowering the neighbour's bound,
 * before it marks the leaf deleted); a walk that starts mid-layer or
 * has moved right checks the right neighbour at every leaf. Leaf
 * inserts fill a free slot and then publish the permutation with a
 * release store; a slot freed by erase is reused only under the
 * inserting bit, so a reader never sees a half-written key.
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
 * binary search over its permutation. A writer walks like a reader, locks
 * the leaf, and keeps the walk's search when the leaf's version and
 * permutation are unchanged (an erase changes only the permutation).
 *
 * Empty map: no node at all (root NULL). The first insert creates a root
 * leaf; erasing the last key frees it. Erase removes a key from the
 * permutation, then unlinks and frees an empty leaf (the leftmost too) and
 * every internode left without children, and unlinks a layer once it is
 * empty. A leaf left with at most a quarter of its slots in use merges
 * with a neighbour under the same parent if both fit in three quarters
 * of a leaf: the right leaf's keys move into the left one, which keeps
 * its lower bound, and the right leaf goes as an emptied one does
 * (erase.c). A layer whose root leaf an erase leaves holding one key
 * folds, with the one-entry layers above it, back into the slot above
 * (erase.c), also when a lower layer's removal left it that key; a root
 * internode left with one child absorbs it first (root shrink). The fold's
 * one allocation is GFP_NOWAIT, and if it fails the layers stay.
 */
#include <linux/export.h>
#include <linux/masstree.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/string.h>

#include "internal.h"
#include "permutation.h"
#include "version.h"

/**
 * mst_leaf_search() - find a key's position among a leaf's keys.
 * @leaf: the leaf; racy reads are fine, the caller validates.
 * @perm: the permutation to search.
 * @c: the key; sets @c->pos and @c->slot.
 *
 * Binary: the permutation lists the slots in key order. A slot's length
 * class is read only when its slice equals the key's, which in a leaf of
 * distinct slices happens at the match alone. Inlined into the walk and
 * the writer's recheck: it runs on every lookup.
 *
 * Context: RCU read lock or the leaf's lock.
 */
static __always_inline void mst_leaf_search(struct mst_leaf *leaf, u64 perm,
					    struct mst_walk_pos *c)
{
	unsigned int lo = 0, hi = mst_perm_size(perm);
	u64 slice = c->slice;

	c->slot = -1;
	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		unsigned int s = mst_perm_slot(perm, mid);
		u64 k = READ_ONCE(leaf->ikey[s]);
		unsigned int cls;

		if (k != slice) {
			if (k < slice)
				lo = mid + 1;
			else
				hi = mid;
			continue;
		}
		cls = mst_klx_cls(READ_ONCE(leaf->keylenx[s]));
		if (cls < c->cls) {
			lo = mid + 1;
		} else if (cls > c->cls) {
			hi = mid;
		} else {
			c->slot = s;
			lo = mid;
			break;
		}
	}
	c->pos = lo;
}

/**
 * mst_suffix_equal() - do a suffix and the key's rest match?
 * @sfx: the suffix.
 * @c: the key at a layer where it continues past the slice.
 *
 * Return: true if they match.
 */
bool mst_suffix_equal(struct mst_suffix *sfx, const struct mst_walk_pos *c)
{
	size_t rest = c->len - c->off - 8;

	return sfx->len == rest &&
	       !memcmp(sfx->data, c->key + c->off + 8, rest);
}

/*
 * @n changed since @v: its new stable version. A split of @n since (its
 * split counter moved), unless @n is the layer's root (which grows in
 * place and keeps the whole range), may have moved the key right of it.
 */
static __always_inline unsigned long mst_walk_again(struct mst_walk_pos *c,
						    struct mst_node *n,
						    unsigned long v, bool *blink)
{
	unsigned long now = mst_stable_version(n);

	if (((now ^ v) >> MST_V_VSPLIT_SHIFT) && n != c->layer_root)
		*blink = true;
	return now;
}

/* What a validated read of a leaf gave the walk. */
struct mst_leaf_read {
	u64 perm;
	void *lv;
	struct mst_leaf *next;
	u8 klx;
};

/*
 * Search leaf @n for @c in the window opened at *@v, reading the match's
 * slot and, with *@blink, the right neighbour. Returns true once the read
 * validated (the window closed); false to read again, with *@v the new
 * stable version or *@blink newly set.
 */
static __always_inline bool mst_walk_read_leaf(struct mst_walk_pos *c,
					       struct mst_node *n,
					       unsigned long *v, bool *blink,
					       struct mst_leaf_read *r)
{
	struct mst_leaf *leaf = mst_to_leaf(n);
	unsigned long now;

	r->lv = NULL;
	r->klx = 0;
	/* Pairs with the release that published the permutation. */
	r->perm = smp_load_acquire(&leaf->permutation);
	mst_hook(MASSTREE_HOOK_READ);
	mst_leaf_search(leaf, r->perm, c);
	if (c->slot >= 0) {
		r->klx = READ_ONCE(leaf->keylenx[c->slot]);
		r->lv = rcu_dereference(leaf->lv[c->slot]);
	}
	r->next = NULL;
	if (*blink)
		r->next = rcu_dereference(leaf->next);
	mst_hook(MASSTREE_HOOK_READ);
	/* Pairs with the release in mst_unlock(). */
	smp_rmb();
	now = READ_ONCE(n->version);
	if ((now ^ *v) > MST_V_LOCKED) {
		mst_count(MASSTREE_TC_READ_RETRY);
		*v = mst_walk_again(c, n, *v, blink);
		return false;
	}
	/*
	 * Locked: an erase may be giving the leaf's range to its right
	 * neighbour, whose lower bound drops before the leaf is marked
	 * deleted. Search it again, right neighbour included.
	 */
	if (unlikely((now & MST_V_LOCKED) && !*blink)) {
		*blink = true;
		return false;
	}
	preempt_enable();
	return true;
}

/*
 * After a validated read @r of leaf @n: where the walk goes on, the right
 * neighbour the key moved to or the root of the layer its slot leads to
 * (*@blink then false); NULL if it ends at @n, with @c's result and
 * *@entry set.
 */
static __always_inline struct mst_node *mst_walk_leaf_next(struct mst_walk_pos *c,
							   struct mst_node *n,
							   unsigned long v,
							   const struct mst_leaf_read *r,
							   bool *blink,
							   void **entry)
{
	/* Validated: now the pointers may be followed. */
	bool found = c->slot >= 0 &&
		     (r->klx != MST_KLX_SUFFIX || mst_suffix_equal(r->lv, c));

	if (!found && r->next && c->slice >= READ_ONCE(r->next->lowkey)) {
		mst_count(MASSTREE_TC_BLINK);
		return &r->next->node;
	}
	if (found && r->klx == MST_KLX_LAYER && !c->stay) {
		mst_walk_pos_layer(c, c->off + 8, r->lv);
		*blink = false;
		return r->lv;
	}
	if (entry)
		*entry = found ? mst_slot_entry(r->klx, r->lv) : NULL;
	c->node = n;
	c->v = v;
	c->perm = r->perm;
	return NULL;
}

/**
 * mst_walk() - find the leaf for a key, locklessly.
 * @mt: the map.
 * @c: the key; the walk starts at @c->node (the top if NULL) in the layer
 *	@c->layer_root, and ends with @c on the layer of the returned leaf.
 * @entry: set to the key's entry, or NULL if absent; NULL if the caller
 *	wants the leaf only.
 *
 * Descends through layers until the key's slot is not a layer. The answer
 * is a validated snapshot: the key was (or was not) present at one moment
 * during the call.
 *
 * Inlined into its two callers, a lookup and a writer's leaf lock, so
 * that neither pays a call and its register saves per operation.
 *
 * Context: RCU read lock held; not NMI.
 * Return: the leaf that holds, or would hold, the key; NULL if the map is
 * empty.
 */
static __always_inline struct mst_leaf *mst_walk(struct masstree *mt,
						 struct mst_walk_pos *c,
						 void **entry)
{
	struct mst_node *n = c->node, *child;
	/*
	 * May the key lie right of @n's range? Not when @n is a layer's root,
	 * nor when it was reached from a parent that checked out after @v
	 * was taken; a start anywhere else, a move right, and a split of @n
	 * since @v say it may: then a leaf's right neighbour is checked.
	 */
	bool blink = n && n != c->layer_root;
	struct mst_leaf_read r;
	unsigned long v, cv;

restart:
	if (!n) {
		n = rcu_dereference(mt->root);
		if (!n) {
			if (entry)
				*entry = NULL;
			return NULL;
		}
		mst_walk_pos_layer(c, 0, n);
		blink = false;
	}
	preempt_disable();
	v = mst_stable_version(n);
	for (;;) {
		if (v & MST_V_DELETED) {
			preempt_enable();
			mst_count(MASSTREE_TC_LAYER_RETRY);
			n = n == c->layer_root ? NULL : c->layer_root;
			blink = false;
			goto restart;
		}
		if (!(v & MST_V_LEAF)) {
			child = mst_read_child(n, v, c->slice, &cv);
			if (!child) {
				v = mst_walk_again(c, n, v, &blink);
				continue;
			}
			n = child;
			v = cv;
			continue;
		}
		if (!mst_walk_read_leaf(c, n, &v, &blink, &r))
			continue;
		child = mst_walk_leaf_next(c, n, v, &r, &blink, entry);
		if (!child)
			return mst_to_leaf(n);
		n = child;
		goto restart;
	}
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
	struct mst_walk_pos c;
	/* mst_walk() sets it, which the compiler cannot always see. */
	void *entry = NULL;

	if (len > MASSTREE_MAX_KEY_LEN)
		return NULL;
	WARN_ON_ONCE(in_nmi());
	RCU_LOCKDEP_WARN(!rcu_read_lock_held(),
			 "caller must hold rcu_read_lock()");
	mst_walk_pos_init(&c, key, len);
	mst_walk(mt, &c, &entry);
	return entry;
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
	entry = __masstree_load(mt, key, len);
	rcu_read_unlock();
	return entry;
}
EXPORT_SYMBOL_GPL(masstree_load);

/**
 * mst_lock_leaf() - find and lock the leaf a writer's key belongs in.
 * @w: the write; @w->c says where to start (see mst_walk()).
 *
 * On return the leaf is locked, is a live leaf whose range holds the key,
 * and @w->c has been searched in it under the lock; the key's slot, if
 * present, is not a layer.
 *
 * Context: RCU read lock held, inside the write's locking phase.
 * Return: the locked leaf, or NULL if the map is empty.
 */
struct mst_leaf *mst_lock_leaf(struct mst_write *w)
{
	struct mst_walk_pos *c = &w->c;
	struct mst_leaf *leaf, *next;
	unsigned long v;

	for (;;) {
		leaf = mst_walk(w->mt, c, NULL);
		if (!leaf)
			return NULL;
		mst_hook(MASSTREE_HOOK_LOCK_LEAF);
		mst_lock(w->mt, &leaf->node);
		v = READ_ONCE(leaf->node.version);
		/*
		 * Unchanged since the walk validated it (an erase changes only
		 * the permutation; losing the right neighbour only widens the
		 * leaf's range): the walk's answer stands.
		 */
		if (!((v ^ c->v) & ~MST_V_LOCKED) && leaf->permutation == c->perm)
			return leaf;
		if (v & MST_V_DELETED) {
			mst_unlock(w->mt, &leaf->node);
			mst_count(MASSTREE_TC_SPLIT_RECHECK);
			c->node = &leaf->node == c->layer_root ? NULL :
				  c->layer_root;
			continue;
		}
		if (!(v & MST_V_LEAF)) {
			/* A root leaf that split since: walk down from it. */
			mst_unlock(w->mt, &leaf->node);
			mst_count(MASSTREE_TC_SPLIT_RECHECK);
			continue;
		}
		next = rcu_dereference_protected(leaf->next, 1);
		if (next && c->slice >= next->lowkey) {
			mst_unlock(w->mt, &leaf->node);
			mst_count(MASSTREE_TC_BLINK);
			c->node = &next->node;
			continue;
		}
		mst_leaf_search(leaf, leaf->permutation, c);
		if (c->slot >= 0 && leaf->keylenx[c->slot] == MST_KLX_LAYER &&
		    !c->stay) {
			struct mst_node *root;

			root = rcu_dereference_protected(leaf->lv[c->slot], 1);
			mst_unlock(w->mt, &leaf->node);
			mst_walk_pos_layer(c, c->off + 8, root);
			continue;
		}
		return leaf;
	}
}

/**
 * mst_lock_parent() - lock the parent of a locked non-root node.
 * @mt: the map.
 * @node: the locked node.
 *
 * A concurrent split of the parent may move @node to a new sibling; the
 * parent pointer is stable once the parent it names is locked.
 *
 * Context: Inside a write's locking phase, @node locked.
 * Return: the locked parent.
 */
struct mst_internode *mst_lock_parent(struct masstree *mt, struct mst_node *node)
{
	struct mst_node *p;

	for (;;) {
		/*
		 * Not yet protected: a split of the parent moves @node under
		 * its own lock, not ours. Pairs with rcu_assign_pointer() in
		 * mst_overfull_fill(), so that the new parent's init is seen.
		 */
		p = rcu_dereference(node->parent);
		mst_hook(MASSTREE_HOOK_LOCK_PARENT);
		mst_lock(mt, p);
		if (rcu_access_pointer(node->parent) == p)
			return mst_to_internode(p);
		mst_unlock(mt, p);
		mst_count(MASSTREE_TC_SPLIT_RECHECK);
	}
}
