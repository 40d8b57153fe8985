// SPDX-License-Identifier: GPL-2.0
/*
 * The writers' API: insert, store, cmpxchg and erase share one loop that
 * locks the key's leaf, decides, and, when the reserve falls short, drops
 * every lock, allocates and starts over.
 */
#include <linux/bug.h>
#include <linux/export.h>
#include <linux/gfp.h>
#include <linux/hardirq.h>
#include <linux/masstree.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>

#include "internal.h"
#include "version.h"
#include "walk.h"

enum mst_op {
	MST_OP_INSERT,
	MST_OP_STORE,
	MST_OP_CMPXCHG,
	MST_OP_ERASE,
};

/*
 * Fill the write's reserve with what it needs. A map gets its per-CPU
 * statistics here, once a write allocates anyway and may sleep: never
 * under a preloaded caller's spinlock, and never as the allocation that
 * decides whether the write fails (that one comes first).
 */
static int mst_write_fill(struct mst_write *w, gfp_t gfp)
{
	int err = mst_reserve_fill(&w->res, &w->need, gfp);

	if (!err && unlikely(!READ_ONCE(w->mt->pcpu)) &&
	    gfpflags_allow_blocking(gfp))
		mst_stats_alloc(w->mt, gfp);
	return err;
}

/*
 * Decide and do the write on the cursor's locked leaf (NULL: the map is
 * empty), unlocking every node it locked. Sets *@ret to what the write
 * returns. Returns true once done; false when the reserve fell short of
 * @w->need, which that attempt set (nothing changed: fill the reserve
 * and try again).
 */
static __always_inline bool mst_write_locked(struct mst_write *w,
					     struct mst_leaf *leaf, void *old,
					     void *entry, enum mst_op op,
					     void **ret)
{
	struct mst_walk_pos *c = &w->c;
	void *cur = NULL;

	if (!leaf) {
		*ret = NULL;
		if (!entry || (op == MST_OP_CMPXCHG && old))
			return true;
		return mst_insert_root(w, entry);
	}
	if (c->slot >= 0 &&
	    mst_slot_holds_key(leaf->keylenx[c->slot],
			       rcu_dereference_protected(leaf->lv[c->slot], 1),
			       mst_slot_bag2_locked(leaf, c->slot), c))
		cur = mst_slot_entry_locked(leaf, c->slot);
	*ret = cur;
	if (op == MST_OP_INSERT && cur)
		*ret = masstree_mk_err(-EEXIST);
	if ((op == MST_OP_INSERT && cur) ||
	    (op == MST_OP_CMPXCHG && cur != old) ||
	    (op == MST_OP_ERASE && !cur) || (!cur && !entry)) {
		mst_unlock(w->mt, &leaf->node);
		return true;
	}
	if (!entry) {
		mst_erase_locked(w, leaf);
		return true;
	}
	if (cur) {
		mst_slot_set_entry(leaf, c->slot, entry);
		mst_unlock(w->mt, &leaf->node);
		return true;
	}
	return mst_insert_locked(w, leaf, entry);
}

/*
 * After the last attempt, out of the RCU read lock: remember whether a
 * long insert needed its suffix buffer, and restock the pool a split
 * drew on.
 */
static __always_inline void mst_write_done(struct mst_write *w, bool long_insert,
					   bool hint, void *ret, gfp_t gfp)
{
	struct masstree *mt = w->mt;

	/* Written only when it changes: the line also holds the root. */
	if (long_insert && !ret && (w->res.taken & 1) != hint)
		WRITE_ONCE(mt->suffix_hint, !hint);
	if (unlikely(w->res.taken & MST_RES_REFILL)) {
		mst_pool_refill(gfp);
		/* Splits seldom reach mst_write_fill() now: see it there. */
		if (unlikely(!READ_ONCE(mt->pcpu)) && gfpflags_allow_blocking(gfp))
			mst_stats_alloc(mt, gfp);
	}
}

/*
 * One write. Returns the old entry (NULL if absent) or an error encoded
 * with masstree_mk_err(). For MST_OP_INSERT a present key gives -EEXIST.
 * Inlined into each API function, so that the tests on @op fold away.
 */
static __always_inline void *mst_write_op(struct masstree *mt,
					  const void *key, size_t len,
					  void *old, void *entry,
					  enum mst_op op, gfp_t gfp)
{
	/*
	 * Filled field by field below and by each attempt: not zeroed first
	 * (CONFIG_INIT_STACK_ALL_ZERO would, on every write).
	 */
	struct mst_write w __uninitialized;
	bool long_insert, hint = false;
	void *ret;

	if (len > MASSTREE_MAX_KEY_LEN || masstree_is_reserved(entry) ||
	    (op == MST_OP_CMPXCHG && masstree_is_reserved(old)))
		return masstree_mk_err(-EINVAL);
	WARN_ON_ONCE(in_nmi() || in_hardirq());
	/* Not the whole struct: the cursor is set up by each attempt. */
	w.mt = mt;
	mst_reserve_init(&w.res);
	w.free_nodes = NULL;
	/*
	 * A new long key usually needs a suffix buffer, and finding that out
	 * under the leaf lock costs a second walk: take one up front, big
	 * enough for any layer the key may end in, when the map's last such
	 * insert needed one (keys that share long prefixes may not). A key of
	 * up to 16 bytes never does: its leaf's bag holds its second slice.
	 */
	long_insert = len > 2 * 8 && (op == MST_OP_INSERT ||
				      (op == MST_OP_CMPXCHG && !old));
	if (long_insert) {
		hint = READ_ONCE(mt->suffix_hint);
		if (hint && mst_reserve_fill_suffix(&w.res, len - 8, gfp))
			return masstree_mk_err(-ENOMEM);
		/* Not the pool's spare: that one is the fallback, kept. */
		if (hint && w.res.cap[MST_SFX_NEW] == len - 8)
			w.res.taken |= MST_RES_LOOSE;
	}

	for (;;) {
		bool done;

		rcu_read_lock();
		mst_write_begin(&w);
		mst_walk_pos_init(&w.c, key, len);
		done = mst_write_locked(&w, mst_lock_leaf(&w), old, entry, op,
					&ret);
		mst_write_end(&w);
		rcu_read_unlock();
		if (done)
			break;
		/* Short of nodes: leave the pool stocked for the next one. */
		if (w.need.nodes)
			w.res.taken |= MST_RES_REFILL;
		if (mst_write_fill(&w, gfp)) {
			ret = masstree_mk_err(-ENOMEM);
			goto out;
		}
	}
	mst_write_done(&w, long_insert, hint, ret, gfp);
out:
	if (unlikely(!mst_reserve_empty(&w.res)))
		mst_reserve_release(&w.res);
	return ret;
}

/**
 * masstree_insert() - insert a key if it is absent.
 * @mt: the map.
 * @key: the key's bytes.
 * @len: the key's length, at most MASSTREE_MAX_KEY_LEN.
 * @entry: the entry; not NULL, not reserved.
 * @gfp: allocation flags for nodes and key suffixes.
 *
 * Context: Process or softirq context; not hardirq or NMI. Takes the RCU
 * read lock and node locks; sleeps only if @gfp allows.
 * Return: 0; -EEXIST if @key is present; -ENOMEM (map unchanged);
 * -EINVAL if @key is too long or @entry is NULL or reserved.
 */
int masstree_insert(struct masstree *mt, const void *key, size_t len,
		    void *entry, gfp_t gfp)
{
	if (!entry)
		return -EINVAL;
	return masstree_err(mst_write_op(mt, key, len, NULL, entry,
					MST_OP_INSERT, gfp));
}
EXPORT_SYMBOL_GPL(masstree_insert);

/**
 * masstree_store() - insert a key or replace its entry.
 * @mt: the map.
 * @key: the key's bytes.
 * @len: the key's length, at most MASSTREE_MAX_KEY_LEN.
 * @entry: the new entry; NULL erases the key.
 * @gfp: allocation flags for nodes and key suffixes.
 *
 * The old entry is the caller's to free, after an RCU grace period if
 * readers may still use it (kfree_rcu()).
 *
 * Context: Process or softirq context; not hardirq or NMI. Takes the RCU
 * read lock and node locks; sleeps only if @gfp allows.
 * Return: the old entry, NULL if @key was absent, or an error that
 * masstree_is_err() recognises: -ENOMEM (map unchanged), -EINVAL.
 */
void *masstree_store(struct masstree *mt, const void *key, size_t len,
		     void *entry, gfp_t gfp)
{
	return mst_write_op(mt, key, len, NULL, entry, MST_OP_STORE, gfp);
}
EXPORT_SYMBOL_GPL(masstree_store);

/**
 * masstree_cmpxchg() - replace a key's entry if it is @old.
 * @mt: the map.
 * @key: the key's bytes.
 * @len: the key's length, at most MASSTREE_MAX_KEY_LEN.
 * @old: the expected entry; NULL means "absent" (insert if absent).
 * @entry: the new entry; NULL erases the key (erase if equal).
 * @gfp: allocation flags for nodes and key suffixes.
 *
 * Atomic: the exchange happened if and only if the return value equals
 * @old.
 *
 * Context: Process or softirq context; not hardirq or NMI. Takes the RCU
 * read lock and node locks; sleeps only if @gfp allows.
 * Return: the entry that was there (NULL if absent), or an error that
 * masstree_is_err() recognises: -ENOMEM (map unchanged), -EINVAL.
 */
void *masstree_cmpxchg(struct masstree *mt, const void *key, size_t len,
		       void *old, void *entry, gfp_t gfp)
{
	return mst_write_op(mt, key, len, old, entry, MST_OP_CMPXCHG, gfp);
}
EXPORT_SYMBOL_GPL(masstree_cmpxchg);

/**
 * masstree_erase() - remove a key.
 * @mt: the map.
 * @key: the key's bytes.
 * @len: the key's length.
 *
 * Never fails. A layer the erase leaves with one key folds back into the
 * slot above it: that allocates one key suffix with GFP_NOWAIT, and if
 * the allocation fails the layer simply stays. The entry is the caller's
 * to free, after an RCU grace period if readers may still use it.
 *
 * Context: Process or softirq context; not hardirq or NMI. Takes the RCU
 * read lock and node locks; does not sleep.
 * Return: the removed entry, or NULL if @key was absent (or too long).
 */
void *masstree_erase(struct masstree *mt, const void *key, size_t len)
{
	void *ret = mst_write_op(mt, key, len, NULL, NULL, MST_OP_ERASE, 0);

	return masstree_is_err(ret) ? NULL : ret;
}
EXPORT_SYMBOL_GPL(masstree_erase);
