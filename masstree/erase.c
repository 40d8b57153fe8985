// SPDX-License-Identifier: GPL-2.0
/*
 * Erase: remove a key from its leaf's permutation, then give back what
 * emptied: the leaf (unlinked from its neighbours and its parent, the
 * leftmost too), internodes left without children, and whole layers,
 * walking up layer by layer. A leaf left with few keys merges with a
 * neighbour under the same parent when they fit in one. A layer below
 * the top whose root leaf an erase leaves holding one entry folds into
 * the slot that leads to it: a key, and the slot becomes that key again
 * (the inverse of insert turning a slot into a layer); a way further
 * down, and the slot becomes one longer span to the layer below (the
 * inverse of insert splitting a span). A root internode left with one
 * child absorbs it (one level less), so a layer erased down to one entry
 * ends as a root leaf, which folds too. Never fails: the fold's one
 * allocation may, and then the layer stays; a busy neighbour or child,
 * and a merge or shrink waits for later.
 */
#include <linux/gfp.h>
#include <linux/masstree.h>
#include <linux/processor.h>
#include <linux/stddef.h>
#include <linux/string.h>

#include "internal.h"
#include "permutation.h"
#include "version.h"

/* Queue a node, unlinked and unlocked, for an RCU-deferred free. */
static void mst_erase_queue(struct mst_write *w, struct mst_node *node)
{
	mst_node_list_push(&w->free_nodes, node);
}

/* Count the bag of a node that goes (with it: mst_node_free()). */
static void mst_bag_gone(struct masstree *mt, struct mst_node *node)
{
	if (mst_node_bag_locked(node))
		mst_stat_add(mt, MST_STAT_SUFFIX_BYTES, -(long)MST_NODE_BYTES);
}

/* Count a leaf that goes, bag and all. */
static void mst_leaf_gone(struct masstree *mt, struct mst_leaf *leaf)
{
	mst_stat_add(mt, MST_STAT_LEAVES, -1);
	mst_bag_gone(mt, &leaf->node);
}

static void mst_erase_free(struct mst_write *w)
{
	struct mst_node *node;

	while ((node = mst_node_list_pop(&w->free_nodes)))
		mst_node_free(node);
}

/*
 * Mark deleted, unlock and queue @node and its locked ancestors up to
 * (not including) @stop. Returns how many internodes went.
 */
static long mst_erase_chain(struct mst_write *w, struct mst_node *node,
			    struct mst_node *stop)
{
	long internodes = 0;

	while (node != stop) {
		unsigned long v = READ_ONCE(node->version);
		/* A layer root's parent may be rewritten above: not read. */
		struct mst_node *up = v & MST_V_ROOT ? NULL :
				      rcu_dereference_protected(node->parent, 1);

		mst_mark(node, MST_V_DELETED);
		if (!(v & MST_V_LEAF))
			internodes++;
		mst_bag_gone(w->mt, node);
		mst_unlock(w->mt, node);
		mst_erase_queue(w, node);
		if (!up)
			break;
		node = up;
	}
	return internodes;
}

/* Remove child @j from a locked internode that has a key (two children). */
static void mst_internode_remove(struct mst_internode *p, unsigned int j)
{
	unsigned int i, n = p->nkeys;

	mst_mark(&p->node, MST_V_INSERTING);
	for (i = j; i < n; i++)
		rcu_assign_pointer(p->child[i],
				   rcu_dereference_protected(p->child[i + 1], 1));
	for (i = j ? j - 1 : 0; i + 1 < n; i++)
		WRITE_ONCE(p->ikey[i], p->ikey[i + 1]);
	mst_internode_clear_keys(p, n - 1);
	ASSERT_EXCLUSIVE_WRITER(p->nkeys);
	WRITE_ONCE(p->nkeys, n - 1);
}

/*
 * Lock the left neighbour of an empty locked leaf, by trylock since the
 * lock order is left to right. On failure unlock the leaf, let the holder
 * go on, and relock: returns false if the leaf no longer needs removing.
 */
static bool mst_lock_prev(struct mst_write *w, struct mst_leaf *leaf,
			  struct mst_leaf **prevp)
{
	struct masstree *mt = w->mt;
	struct mst_leaf *prev;

	for (;;) {
		prev = rcu_dereference_protected(leaf->prev, 1);
		if (!prev || mst_trylock(mt, &prev->node)) {
			if (!prev || rcu_access_pointer(leaf->prev) == prev) {
				*prevp = prev;
				return true;
			}
			mst_unlock(mt, &prev->node);
			continue;
		}
		mst_unlock(mt, &leaf->node);
		mst_hook(MASSTREE_HOOK_LOCK_PREV);
		cpu_relax();
		mst_lock(mt, &leaf->node);
		if ((READ_ONCE(leaf->node.version) & MST_V_DELETED) ||
		    mst_perm_size(leaf->permutation)) {
			mst_unlock(mt, &leaf->node);
			return false;
		}
	}
}

/* Does slot @s of locked @leaf lead to the layer root @x, through a span or not? */
static bool mst_slot_leads_to(struct mst_leaf *leaf, unsigned int s,
			      struct mst_node *x)
{
	u8 klx = leaf->keylenx[s];
	size_t skip;

	return mst_klx_is_layer(klx) &&
	       mst_slot_layer(klx, rcu_dereference_protected(leaf->lv[s], 1),
			      &skip) == x;
}

/*
 * Find and lock the leaf of the layer above that holds the slot leading
 * to the layer root @x, which the caller has locked: the cursor moves to
 * that layer, at that slot. @x's parent names the layer above and, through
 * a span, how far up it is. A span split or merge above moves the slot
 * into another layer and rewrites @x's parent, under the upper leaf's lock
 * only, before it unlocks: a slot found not leading to @x means the parent
 * changed, and is read again. Returns the locked leaf, or NULL if @x has
 * no slot above, which cannot happen.
 */
static struct mst_leaf *mst_layer_climb(struct mst_write *w, struct mst_node *x)
{
	struct mst_walk_pos *c = &w->c;
	size_t off = c->off, skip;
	struct mst_node *parent, *up;
	struct mst_leaf *leaf;

	for (;;) {
		parent = rcu_dereference(x->parent);
		up = mst_layer_up(parent, &skip);
		if (WARN_ON_ONCE(!up || skip > off))
			return NULL;
		mst_walk_pos_layer(c, off - skip, up);
		c->stay = true;
		leaf = mst_lock_leaf(w);
		c->stay = false;
		if (leaf && c->slot >= 0 && mst_slot_leads_to(leaf, c->slot, x))
			return leaf;
		if (leaf)
			mst_unlock(w->mt, &leaf->node);
		if (WARN_ON_ONCE(rcu_access_pointer(x->parent) == parent))
			return NULL;
		mst_count(MASSTREE_TC_LAYER_RETRY);
	}
}

/* Give back a span no new reader can reach. */
static void mst_span_drop(struct mst_write *w, struct mst_span *span)
{
	if (!span)
		return;
	mst_stat_add(w->mt, MST_STAT_SUFFIX_BYTES, -(long)span->size);
	mst_suffix_free(mst_span_sfx(span));
}

/*
 * Find and lock the leaf of the layer above that holds the slot for the
 * deleted layer root @root, and remove that slot (and its span). The
 * cursor moves to the layer above. Returns the locked leaf.
 */
static struct mst_leaf *mst_erase_layer_slot(struct mst_write *w,
					     struct mst_node *root)
{
	struct mst_walk_pos *c = &w->c;
	struct mst_span *span;
	struct mst_leaf *up;

	up = mst_layer_climb(w, root);
	if (!up)
		return NULL;
	span = mst_slot_span_locked(up, c->slot);
	ASSERT_EXCLUSIVE_WRITER(up->permutation);
	/* Unpublish the slot: pairs with the acquire in mst_walk(). */
	smp_store_release(&up->permutation,
			  mst_perm_remove(up->permutation, c->pos));
	mst_span_drop(w, span);
	return up;
}

static void mst_erase_merge_up(struct mst_write *w, struct mst_node *x);
static void mst_erase_shrink(struct mst_write *w, struct mst_leaf *leaf,
			     u64 perm);

/*
 * The empty locked leaf @leaf is child @j of @p, which keeps children:
 * its range goes to a neighbour, it leaves its neighbours' links (@prev,
 * locked if any, is unlocked) and @p, and goes with its locked ancestors
 * below @p that emptied with it.
 */
static void mst_erase_handoff(struct mst_write *w, struct mst_leaf *leaf,
			      struct mst_leaf *prev, struct mst_internode *p,
			      unsigned int j)
{
	struct mst_leaf *next = rcu_dereference_protected(leaf->next, 1);
	long internodes;

	if (j == 0 && next)
		WRITE_ONCE(next->lowkey, leaf->lowkey);
	if (prev) {
		mst_mark(&prev->node, MST_V_SPLITTING);
		ASSERT_EXCLUSIVE_WRITER(prev->next);
		rcu_assign_pointer(prev->next, next);
	}
	if (next)
		rcu_assign_pointer(next->prev, prev);
	mst_internode_remove(p, j);
	internodes = mst_erase_chain(w, &leaf->node, &p->node);
	mst_stat_add(w->mt, MST_STAT_LEAVES, -1);
	mst_stat_add(w->mt, MST_STAT_INTERNODES, -internodes);
	if (prev)
		mst_unlock(w->mt, &prev->node);
}

/*
 * An empty locked leaf: unlink it, and whatever empties with it, layer
 * after layer. Iterative: stack use does not depend on the number of
 * layers.
 */
static void mst_erase_cleanup(struct mst_write *w, struct mst_leaf *leaf)
{
	struct masstree *mt = w->mt;

	while (leaf) {
		struct mst_node *node = &leaf->node, *x, *top;
		struct mst_internode *p = NULL;
		struct mst_leaf *prev = NULL, *up;
		unsigned int j = 0;
		long internodes;

		if (!(READ_ONCE(node->version) & MST_V_ROOT) &&
		    !mst_lock_prev(w, leaf, &prev))
			return;

		/* Lock the ancestors that empty with it, and the one that stays. */
		x = node;
		top = NULL;
		while (!(READ_ONCE(x->version) & MST_V_ROOT)) {
			p = mst_lock_parent(mt, x);
			if (p->nkeys) {
				j = mst_internode_child_index(p, x);
				WARN_ON_ONCE(j > p->nkeys);
				top = &p->node;
				break;
			}
			x = &p->node;
		}

		if (top) {
			mst_erase_handoff(w, leaf, prev, p, j);
			mst_erase_merge_up(w, top);
			return;
		}

		/* x is the layer's root: the whole layer is empty. */
		WARN_ON_ONCE(prev || rcu_access_pointer(leaf->next));
		if (!w->c.off) {
			rcu_assign_pointer(mt->root, NULL);
			up = NULL;
		} else {
			up = mst_erase_layer_slot(w, x);
		}
		internodes = mst_erase_chain(w, node, NULL);
		mst_stat_add(mt, MST_STAT_LEAVES, -1);
		mst_stat_add(mt, MST_STAT_INTERNODES, -internodes);
		mst_stat_add(mt, MST_STAT_LAYERS, -1);
		if (up && mst_perm_size(up->permutation)) {
			mst_erase_shrink(w, up, up->permutation);
			up = NULL;
		}
		leaf = up;
	}
}

/*
 * A layer below the top left with one entry folds into the slot that
 * leads to it: a key, and that slot becomes the key (its rest as the
 * suffix); a way further down (a layer slot or a span), and that slot
 * becomes one longer span to the layer below. Either way the one-entry
 * layer goes, so that neither a chain of one-key layers (what inserting
 * two keys used to build) nor one of one-span layers (what inserting and
 * erasing keys that leave a span would build) outlives the erase that
 * made it.
 *
 * How many bytes the entry of @leaf (locked, at @off, permutation @perm)
 * brings to the slot above, its slice on: 0 if @leaf is not a one-entry
 * root leaf below the top.
 */
static u32 mst_collapse_rest(struct mst_leaf *leaf, u64 perm, size_t off)
{
	unsigned int s;
	u8 klx;

	if (mst_perm_size(perm) != 1 || !off ||
	    !(READ_ONCE(leaf->node.version) & MST_V_ROOT))
		return 0;
	s = mst_perm_slot(perm, 0);
	klx = leaf->keylenx[s];
	if (klx == MST_KLX_SUFFIX)
		return 8 + mst_slot_suffix_locked(leaf, s)->len;
	if (klx == MST_KLX_SPAN)
		return 8 + mst_slot_span_locked(leaf, s)->len;
	if (klx == MST_KLX_LAYER)
		return 8;
	/* A key of a lower layer continues past the slice above: klx >= 1. */
	return klx;
}

/**
 * struct mst_fold - a fold in progress (see mst_collapse()).
 * @x: the one-entry layer root leaf, locked.
 * @buf: the new suffix (a key) or span (a way down) for the slot above.
 * @old: the entry's own suffix or span, if any.
 * @entry: a key's entry.
 * @lower: a way down's layer root.
 * @boff: offset of @x's layer.
 * @rest: bytes the entry brings, its slice on.
 * @cap: bytes @buf can hold.
 * @slice: the entry's slice.
 * @bag2: a key's bytes past its slice, if they are in @x's bag.
 * @klx: the entry's keylenx.
 */
struct mst_fold {
	struct mst_node *x;
	struct mst_suffix *buf, *old;
	void *entry;
	struct mst_node *lower;
	size_t boff;
	u32 rest, cap;
	u8 slice[8];
	u8 bag2[8];
	u8 klx;
};

/*
 * Under @x's lock: does it still hold one entry? Take its slice, rest and
 * entry or way down (final once @x is deleted: nobody writes a deleted
 * leaf).
 */
static bool mst_fold_start(struct mst_fold *f)
{
	struct mst_leaf *x = mst_to_leaf(f->x);
	u64 perm = x->permutation;
	unsigned int s;

	if ((READ_ONCE(f->x->version) & (MST_V_DELETED | MST_V_LEAF)) !=
	    MST_V_LEAF)
		return false;
	f->rest = mst_collapse_rest(x, perm, f->boff);
	if (!f->rest)
		return false;
	s = mst_perm_slot(perm, 0);
	f->klx = x->keylenx[s];
	put_unaligned_be64(x->ikey[s], f->slice);
	f->old = NULL;
	f->entry = NULL;
	f->lower = NULL;
	if (mst_klx_is_layer(f->klx)) {
		size_t skip;

		f->lower = mst_slot_layer(f->klx,
					  rcu_dereference_protected(x->lv[s], 1),
					  &skip);
		if (f->klx == MST_KLX_SPAN)
			f->old = mst_span_sfx(mst_slot_span_locked(x, s));
	} else {
		f->old = mst_slot_suffix_locked(x, s);
		f->entry = mst_slot_entry_locked(x, s);
		put_unaligned_be64(mst_slot_bag2_locked(x, s), f->bag2);
	}
	return true;
}

/*
 * Bytes of the slot above's new suffix or span if the slot is at @uoff:
 * the way's own bytes from there to @f->x's layer, then the entry's.
 */
static u32 mst_fold_len(const struct mst_fold *f, size_t uoff)
{
	return f->boff - uoff - 8 + f->rest;
}

/*
 * The slot of @up (locked; the cursor's slot, at the cursor's layer) that
 * leads to @f->x turns into @f->x's entry, then @f->x goes; @up stays
 * locked. The bytes between the two layers are the cursor key's own: it
 * went through them.
 */
static void mst_fold_switch(struct mst_write *w, struct mst_leaf *up,
			    struct mst_fold *f)
{
	struct masstree *mt = w->mt;
	struct mst_walk_pos *c = &w->c;
	struct mst_span *link = mst_slot_span_locked(up, c->slot), *span = NULL;
	size_t gap = f->boff - c->off - 8;
	u32 len = mst_fold_len(f, c->off);
	u8 *data = f->buf->data;
	void *lv = f->buf;
	u8 klx = MST_KLX_SUFFIX;

	if (f->lower) {
		span = mst_sfx_span(f->buf);
		span->up = c->layer_root;
		span->root = f->lower;
		data = span->data;
		klx = MST_KLX_SPAN;
	}
	memcpy(data, c->key + c->off + 8, gap);
	memcpy(data + gap, f->slice, min_t(u32, f->rest, 8));
	if (f->old)
		memcpy(data + gap + 8, f->lower ? mst_sfx_span(f->old)->data :
		       f->old->data, f->rest - 8);
	else if (mst_klx_in_bag(f->klx))
		memcpy(data + gap + 8, f->bag2, f->rest - 8);
	if (span) {
		span->len = len;
		/* The layer below climbs to the new slot from now on. */
		rcu_assign_pointer(f->lower->parent, mst_span_parent(span));
		mst_hook(MASSTREE_HOOK_SPAN_MERGE);
	} else {
		f->buf->len = len;
		RCU_INIT_POINTER(f->buf->value, f->entry);
		mst_hook(MASSTREE_HOOK_COLLAPSE);
	}
	mst_mark(&up->node, MST_V_INSERTING);
	WRITE_ONCE(up->keylenx[c->slot], klx);
	/* A key with a suffix but the layer's root for its suffix. */
	mst_hook(MASSTREE_HOOK_DIRTY);
	rcu_assign_pointer(up->lv[c->slot], lv);
	mst_mark(f->x, MST_V_DELETED);
	mst_unlock(mt, f->x);
	mst_erase_queue(w, f->x);

	mst_leaf_gone(mt, mst_to_leaf(f->x));
	mst_stat_add(mt, MST_STAT_LAYERS, -1);
	mst_stat_add(mt, MST_STAT_SUFFIX_BYTES,
		     (long)f->buf->size - (f->old ? (long)f->old->size : 0));
	if (f->old)
		mst_suffix_free(f->old);
	mst_span_drop(w, link);
}

/*
 * One try of mst_collapse() with a buffer of @need bytes: 0 once done
 * (folded, with *@upp set as mst_collapse() returns it, or given up),
 * else the bytes the fold found it needs under the locks (nothing
 * changed): more than @need, or, unless this is the @last try, few enough
 * for a smaller slab object (a span split above shortened the way up),
 * which the key would keep for its life.
 */
static u32 mst_fold_try(struct mst_write *w, struct mst_fold *f, u32 need,
			bool last, struct mst_leaf **upp)
{
	struct mst_leaf *up;
	u32 len = 0;

	*upp = NULL;
	mst_write_end(w);
	f->buf = mst_suffix_alloc(need, GFP_NOWAIT | __GFP_NOWARN | __GFP_ACCOUNT);
	mst_write_begin(w);
	if (!f->buf)
		return 0;
	/* The whole slab object: the way up may have grown meanwhile. */
	f->cap = f->buf->size - offsetof(struct mst_suffix, data);

	mst_lock(w->mt, f->x);
	up = mst_fold_start(f) ? mst_layer_climb(w, f->x) : NULL;
	if (up) {
		len = mst_fold_len(f, w->c.off);
		if (f->lower)
			len = MST_SPAN_CAP(len);
		/* Not a size class too big either, but for the last try. */
		if (len <= f->cap &&
		    (last || mst_suffix_bytes(len) == f->buf->size)) {
			mst_fold_switch(w, up, f);
			if (mst_collapse_rest(up, up->permutation, w->c.off))
				*upp = up;
			else
				mst_unlock(w->mt, &up->node);
			return 0;
		}
		mst_unlock(w->mt, &up->node);
	}
	mst_unlock(w->mt, f->x);
	mst_suffix_discard(f->buf);
	return up ? len : 0;
}

/*
 * Fold the one-entry layer whose root leaf is @bottom (the cursor's layer)
 * into the slot above (see mst_collapse_rest()): its entry brings @rest
 * bytes, and is a way further down if @way_down. Returns the leaf holding
 * that slot, locked, if it is now itself a one-entry root leaf below the
 * top (left so by a fold that could not happen before), else NULL with
 * nothing locked.
 *
 * The new suffix or span is allocated first, with no node lock held
 * (GFP_NOWAIT: erase takes no gfp and may run under the caller's
 * spinlock; charged to the caller's memory cgroup like the device's
 * writes, since it takes over from the layer, which was), sized by a
 * lockless guess of the way up (mst_fold_try()), and again at the size
 * found under the locks if the way up changed meanwhile (a fold above
 * lengthened it, a span split shortened it), a few times; if the
 * allocation fails, the layer stays,
 * which is correct, only larger. Not from the per-CPU preload pool: that
 * is for the caller's next insert under its spinlock.
 *
 * Then, deeper layer before shallower (the lock order): lock @bottom,
 * check it still holds one entry, lock the leaf of the layer above holding
 * the slot that leads to it (mst_layer_climb()). While that slot leads to
 * it, nothing else can change it: it is locked, and a writer that wants
 * it must lock it. The slot, marked inserting (as when insert made it a
 * layer), takes the entry, and @bottom is deleted before the slot's leaf
 * is unlocked: a reader or writer that reaches @bottom later starts over
 * from the top, as for a removed layer. The key set never changes.
 */
static struct mst_leaf *mst_collapse(struct mst_write *w,
				     struct mst_leaf *bottom, u32 rest,
				     bool way_down)
{
	struct mst_fold f = { .x = &bottom->node, .boff = w->c.off };
	struct mst_leaf *up = NULL;
	unsigned int tries;
	size_t skip;
	u32 need;

	mst_layer_up(rcu_dereference(f.x->parent), &skip);
	need = skip - 8 + rest;
	if (way_down)
		need = MST_SPAN_CAP(need);
	/* A fold above may lengthen the way up meanwhile: a few more tries. */
	for (tries = 0; need && tries < 3; tries++) {
		mst_walk_pos_layer(&w->c, f.boff, f.x);
		need = mst_fold_try(w, &f, need, tries == 2, &up);
	}
	return need ? NULL : up;
}

/*
 * The erase left one entry in @leaf (locked), the root leaf of a layer
 * below the top: unlock, and fold the layer if it can, and the one above
 * it if the fold left that one with one entry too.
 */
static void mst_erase_one_left(struct mst_write *w, struct mst_leaf *leaf,
			       u64 perm)
{
	while (leaf) {
		u32 rest = mst_collapse_rest(leaf, perm, w->c.off);
		bool way_down = rest &&
			mst_klx_is_layer(leaf->keylenx[mst_perm_slot(perm, 0)]);

		mst_unlock(w->mt, &leaf->node);
		if (!rest)
			return;
		leaf = mst_collapse(w, leaf, rest, way_down);
		if (leaf)
			perm = leaf->permutation;
	}
}

/*
 * Leaf merge. An erase that leaves a non-root leaf with at most
 * MST_MERGE_LOW keys joins it with a neighbour under the same parent when
 * their keys fit in MST_MERGE_MAX slots: the right leaf's keys move into
 * the left one and the right leaf goes, as an emptied leaf does. Without
 * it, erasing most keys of a dense range would leave a node per few keys.
 * The left leaf keeps its lower bound and takes the right one's range, so
 * no bound ever changes and readers keep the rule that lower bounds only
 * decrease. The first child of a parent has no left neighbour there: it
 * takes in its right neighbour instead (the same move, the erased leaf
 * receiving). The limit leaves room, so that an insert does not split
 * the merged leaf at once and erases do not merge it again. Best effort:
 * a neighbour locked by someone else, or under another parent, or too
 * full, and the leaf stays as it is, which is correct, only larger.
 */
#define MST_MERGE_LOW	(MST_NODE_WIDTH / 4)
#define MST_MERGE_MAX	(MST_NODE_WIDTH - MST_MERGE_LOW)

/*
 * Copy the live slots of @src, in order, into the free slots of @dst
 * after its keys: the first free slots of @dst's permutation, so the new
 * permutation is the old one with a larger count. Every key of @src is
 * above every key of @dst (it is the right neighbour; a slice never spans
 * two leaves). A slot is its slice, keylenx and lv: a suffix (holding its
 * entry), a layer root or a span changes owner, not place (a layer
 * root's parent is the layer above's root or its span, never a leaf).
 * The only code that knows the slot layout of a merge. Returns the new
 * permutation.
 */
static u64 mst_merge_slots(struct mst_leaf *dst, u64 dperm,
			   struct mst_leaf *src, u64 sperm)
{
	unsigned int dn = mst_perm_size(dperm), sn = mst_perm_size(sperm), i;

	for (i = 0; i < sn; i++) {
		unsigned int from = mst_perm_slot(sperm, i);
		unsigned int to = mst_perm_slot(dperm, dn + i);

		/* A bag entry is copied: @dst has a bag (mst_merge_fits()). */
		if (mst_klx_in_bag(src->keylenx[from]))
			WRITE_ONCE(mst_leaf_bag_locked(dst)->slice[to],
				   mst_leaf_bag_locked(src)->slice[from]);
		WRITE_ONCE(dst->ikey[to], src->ikey[from]);
		WRITE_ONCE(dst->keylenx[to], src->keylenx[from]);
		rcu_assign_pointer(dst->lv[to],
				   rcu_dereference_protected(src->lv[from], 1));
	}
	return dperm + sn;
}

/*
 * Copy the separators and children of internode @src after those of
 * @dst, its left sibling, with @sep (their parent's separator between
 * them) in between, and make @dst the children's parent (both locked:
 * a parent pointer is written under the lock of the node it names and
 * of the one it named; a writer waiting for @src's lock to climb from a
 * child finds, once it has it, that the child's parent changed, and
 * climbs again).
 */
static void mst_merge_children(struct mst_internode *dst, u64 sep,
			       struct mst_internode *src)
{
	unsigned int dn = dst->nkeys, sn = src->nkeys, i;

	WRITE_ONCE(dst->ikey[dn], sep);
	for (i = 0; i < sn; i++)
		WRITE_ONCE(dst->ikey[dn + 1 + i], src->ikey[i]);
	for (i = 0; i <= sn; i++) {
		struct mst_node *child = rcu_dereference_protected(src->child[i], 1);

		rcu_assign_pointer(dst->child[dn + 1 + i], child);
		rcu_assign_pointer(child->parent, &dst->node);
	}
	ASSERT_EXCLUSIVE_WRITER(dst->nkeys);
	WRITE_ONCE(dst->nkeys, dn + 1 + sn);
}

/*
 * Root shrink, one level: the root internode @r of a layer (locked, one
 * child) absorbs its only child @child (locked, not an empty leaf), the
 * inverse of a root growing in place. A leaf child makes @r a leaf again;
 * an internode child gives @r its separators and children, one level
 * less. @r is marked splitting: readers wait, then find it changed (its
 * kind, or its children) and read it again; a reader or writer that
 * reached @child finds it deleted and starts over from the layer's root,
 * which @r still is, so nothing above changes. @child goes.
 */
static void mst_root_absorb(struct mst_write *w, struct mst_node *r,
			    struct mst_node *child)
{
	struct masstree *mt = w->mt;
	struct mst_internode *in = mst_to_internode(r);
	unsigned int i;

	mst_mark(r, MST_V_SPLITTING);
	if (READ_ONCE(child->version) & MST_V_LEAF) {
		struct mst_leaf *leaf = mst_to_leaf(r), *src = mst_to_leaf(child);
		struct mst_bag *sbag = mst_leaf_bag_locked(src);

		WRITE_ONCE(r->version, READ_ONCE(r->version) | MST_V_LEAF);
		mst_node_internode_to_leaf(r);
		WRITE_ONCE(leaf->lowkey, src->lowkey);
		RCU_INIT_POINTER(leaf->next, NULL);
		RCU_INIT_POINTER(leaf->prev, NULL);
		/*
		 * Every slot, live or free: suffixes and layers change owner;
		 * bag entries are copied into @r's own bag, which it has if
		 * @child has one (mst_erase_root_shrink()).
		 */
		for (i = 0; i < MST_NODE_WIDTH; i++) {
			if (sbag)
				WRITE_ONCE(mst_leaf_bag_locked(leaf)->slice[i],
					   sbag->slice[i]);
			WRITE_ONCE(leaf->keylenx[i], src->keylenx[i]);
			WRITE_ONCE(leaf->ikey[i], src->ikey[i]);
			rcu_assign_pointer(leaf->lv[i],
					   rcu_dereference_protected(src->lv[i], 1));
		}
		ASSERT_EXCLUSIVE_WRITER(leaf->permutation);
		WRITE_ONCE(leaf->permutation, src->permutation);
	} else {
		struct mst_internode *src = mst_to_internode(child);
		unsigned int n = src->nkeys;

		for (i = 0; i < MST_NODE_WIDTH; i++)
			WRITE_ONCE(in->ikey[i], src->ikey[i]);
		/* Parent pointers change under both their old and new node's lock. */
		for (i = 0; i <= n; i++) {
			struct mst_node *gc = rcu_dereference_protected(src->child[i], 1);

			rcu_assign_pointer(in->child[i], gc);
			rcu_assign_pointer(gc->parent, r);
		}
		ASSERT_EXCLUSIVE_WRITER(in->nkeys);
		WRITE_ONCE(in->nkeys, n);
	}
	mst_mark(child, MST_V_DELETED);
	mst_bag_gone(mt, child);
	mst_unlock(mt, child);
	mst_erase_queue(w, child);
	mst_stat_add(mt, MST_STAT_INTERNODES, -1);
}

/*
 * Root shrink: the root internode @r of a layer (locked) was left with one
 * child, which it absorbs in place (mst_root_absorb()), so that a layer
 * erased down to a few keys is one leaf, and down to one key folds into
 * the slot above. An absorbed internode that had one child leaves @r with
 * one again: @r absorbs that one too, until it is a leaf or keeps two
 * children. A child is locked by trylock, since the lock order is child
 * before parent: if it is busy, @r stays as it is, correct, only larger
 * (no later erase retries it: the next split or emptying of that layer
 * settles it). Unlocks @r.
 */
static void mst_erase_root_shrink(struct mst_write *w, struct mst_node *r)
{
	struct masstree *mt = w->mt;
	struct mst_internode *in = mst_to_internode(r);
	struct mst_node *child;

	while (!(READ_ONCE(r->version) & MST_V_LEAF) && !in->nkeys) {
		child = rcu_dereference_protected(in->child[0], 1);
		if (!mst_trylock(mt, child))
			break;
		/*
		 * An empty leaf is one an erase is removing, unlocked for a
		 * moment while it waits for its left neighbour
		 * (mst_lock_prev()): left to that erase, which removes the
		 * whole layer. Absorbed, it would leave an empty root leaf
		 * nobody removes.
		 */
		if ((READ_ONCE(child->version) & MST_V_LEAF) &&
		    !mst_perm_size(mst_to_leaf(child)->permutation)) {
			mst_unlock(mt, child);
			break;
		}
		/*
		 * A bag is never handed from node to node (readers may read a
		 * node's pointer to it until the node is freed): @r takes in
		 * bag entries only into a bag of its own, kept from when it
		 * was a leaf. Without one, it stays as it is.
		 */
		if ((READ_ONCE(child->version) & MST_V_LEAF) &&
		    mst_node_bag_locked(child) && !mst_node_bag_locked(r)) {
			mst_unlock(mt, child);
			break;
		}
		mst_root_absorb(w, r, child);
	}
	if ((READ_ONCE(r->version) & MST_V_LEAF) &&
	    mst_perm_size(mst_to_leaf(r)->permutation) == 1 && w->c.off)
		mst_erase_one_left(w, mst_to_leaf(r), mst_to_leaf(r)->permutation);
	else
		mst_unlock(mt, r);
}

/*
 * An internode @x (locked) that lost a child: while it is not a layer's
 * root and has at most MST_MERGE_LOW + 1 children, merge it with a
 * sibling under the same parent if their children fit in MST_MERGE_MAX
 * (the leaf rule, one level up), then look at the parent the same way.
 * Unlocks everything. Without it, the internodes of a range whose leaves
 * merged would stay, nearly empty, and their leaves could not merge
 * across them. The same moves and marks as a leaf merge: the left node
 * marked inserting while it takes the right one's separators and
 * children, then the parent stops routing to the right node, which is
 * marked deleted (a reader in it starts over from the layer's root; a
 * writer climbing to it finds its child's parent changed). Lock order as
 * ever: child before parent, a sibling by trylock only.
 */
static void mst_erase_merge_up(struct mst_write *w, struct mst_node *x)
{
	struct masstree *mt = w->mt;

	while (!(READ_ONCE(x->version) & MST_V_ROOT) &&
	       mst_to_internode(x)->nkeys <= MST_MERGE_LOW) {
		struct mst_internode *g = mst_lock_parent(mt, x), *l, *r;
		struct mst_node *other;
		unsigned int j;

		j = mst_internode_child_index(g, x);
		if (WARN_ON_ONCE(j > g->nkeys) || (!j && !g->nkeys)) {
			mst_unlock(mt, &g->node);
			break;
		}
		if (!j)
			j = 1;
		l = mst_to_internode(rcu_dereference_protected(g->child[j - 1], 1));
		r = mst_to_internode(rcu_dereference_protected(g->child[j], 1));
		other = &l->node == x ? &r->node : &l->node;
		if (!mst_trylock(mt, other)) {
			mst_unlock(mt, &g->node);
			break;
		}
		if (l->nkeys + r->nkeys + 2 > MST_MERGE_MAX) {
			mst_unlock(mt, other);
			mst_unlock(mt, &g->node);
			break;
		}
		mst_mark(&l->node, MST_V_INSERTING);
		mst_merge_children(l, g->ikey[j - 1], r);
		mst_hook(MASSTREE_HOOK_MERGE);
		mst_internode_remove(g, j);
		mst_mark(&r->node, MST_V_DELETED);
		mst_unlock(mt, &r->node);
		mst_erase_queue(w, &r->node);
		mst_stat_add(mt, MST_STAT_INTERNODES, -1);
		mst_unlock(mt, &l->node);
		x = &g->node;
	}
	if ((READ_ONCE(x->version) & MST_V_ROOT) && !mst_to_internode(x)->nkeys)
		mst_erase_root_shrink(w, x);
	else
		mst_unlock(mt, x);
}

/*
 * Move the keys of @src into @dst, its left neighbour, and retire @src:
 * all three locked, @src child @js (>= 1) of @p and @dst child @js - 1.
 *
 * @dst is marked inserting first: its free slots may still be listed in
 * the permutation a reader loaded before an erase freed them, so the
 * reader must retry rather than search the new keys at the old keys'
 * places (as for an insert into a freed slot). Readers of @dst wait
 * until it is unlocked, complete. Meanwhile @src is untouched: a reader
 * that validates it before it is marked deleted reads its keys as they
 * are in the map (copied, not yet reachable through @dst). Then @p stops
 * routing to @src (marked inserting: readers there wait, then go to
 * @dst), and @src is marked deleted, so that a reader or writer that
 * reached it before starts over from the layer's root and a writer
 * waiting on its lock does not write into it. Between the two, every key
 * of @src is reachable by a walk, and any key a reader finds it finds
 * with its entry: a writer changing one needs the lock of @src or @dst.
 * The B-link chain: @dst's next skips @src; a walk or scan that was
 * on its way from @dst to @src finds @src deleted and starts over.
 */
static void mst_merge(struct mst_write *w, struct mst_leaf *dst,
		      struct mst_leaf *src, struct mst_internode *p,
		      unsigned int js)
{
	struct masstree *mt = w->mt;
	struct mst_leaf *next = rcu_dereference_protected(src->next, 1);
	u64 perm;

	mst_mark(&dst->node, MST_V_INSERTING);
	perm = mst_merge_slots(dst, dst->permutation, src, src->permutation);
	ASSERT_EXCLUSIVE_WRITER(dst->permutation);
	/* Publish the moved keys: pairs with the acquire in mst_walk(). */
	smp_store_release(&dst->permutation, perm);
	ASSERT_EXCLUSIVE_WRITER(dst->next);
	rcu_assign_pointer(dst->next, next);
	if (next)
		rcu_assign_pointer(next->prev, dst);
	/* The keys in both leaves, @dst dirty, @p still routing to @src. */
	mst_hook(MASSTREE_HOOK_MERGE);
	mst_internode_remove(p, js);
	mst_mark(&src->node, MST_V_DELETED);
	mst_unlock(mt, &src->node);
	mst_erase_queue(w, &src->node);
	mst_leaf_gone(mt, src);
	mst_unlock(mt, &dst->node);
	mst_erase_merge_up(w, &p->node);
}

/*
 * Do the keys of @r fit into @l (both locked)? Room for them, and a bag
 * for their bag entries: a left leaf without one (it holds no such key)
 * takes in no such keys, so that a merge never allocates.
 */
static bool mst_merge_fits(struct mst_leaf *l, struct mst_leaf *r)
{
	u64 perm = r->permutation;
	unsigned int i;

	if (mst_perm_size(l->permutation) + mst_perm_size(perm) > MST_MERGE_MAX)
		return false;
	if (mst_leaf_bag_locked(l))
		return true;
	for (i = 0; i < mst_perm_size(perm); i++)
		if (mst_klx_in_bag(r->keylenx[mst_perm_slot(perm, i)]))
			return false;
	return true;
}

/*
 * The erase left @leaf (locked, not a layer root) with few keys: merge it
 * with a neighbour if one fits, and unlock. Lock order: @leaf, then its
 * parent (child before parent), then the neighbour by trylock only, so
 * no order is violated whichever side it is on. Under the parent's lock
 * its children are fixed; under a leaf's lock its next pointer is (a
 * split or a removal changes a leaf's next only under its lock), so
 * "@l's next is @r" under both locks means they are neighbours.
 */
static noinline void mst_erase_merge(struct mst_write *w, struct mst_leaf *leaf)
{
	struct masstree *mt = w->mt;
	struct mst_leaf *l, *r, *other;
	struct mst_internode *p;
	unsigned int j;

	p = mst_lock_parent(mt, &leaf->node);
	j = mst_internode_child_index(p, &leaf->node);
	if (WARN_ON_ONCE(j > p->nkeys) || (!j && !p->nkeys))
		goto unlock_parent;
	if (j) {
		l = mst_to_leaf(rcu_dereference_protected(p->child[j - 1], 1));
		r = leaf;
		other = l;
	} else {
		l = leaf;
		r = mst_to_leaf(rcu_dereference_protected(p->child[1], 1));
		other = r;
		j = 1;
	}
	if (!mst_trylock(mt, &other->node))
		goto unlock_parent;
	if (rcu_access_pointer(l->next) != r ||
	    (READ_ONCE(other->node.version) & MST_V_DELETED) ||
	    !mst_merge_fits(l, r)) {
		mst_unlock(mt, &other->node);
		goto unlock_parent;
	}
	/* @p and @l stay; @r goes (and unlocks in mst_merge()). */
	mst_merge(w, l, r, p, j);
	return;

unlock_parent:
	mst_unlock(mt, &p->node);
	mst_unlock(mt, &leaf->node);
}

/*
 * @leaf (locked) keeps keys (perm @perm) after an erase of one of them, or
 * of the last key of a layer below whose slot it gave up. With at most
 * MST_MERGE_LOW left, join it with a neighbour, or fold its layer if one
 * key is left; unlock.
 */
static void mst_erase_shrink(struct mst_write *w, struct mst_leaf *leaf,
			     u64 perm)
{
	if (mst_perm_size(perm) > MST_MERGE_LOW)
		mst_unlock(w->mt, &leaf->node);
	else if (!(READ_ONCE(leaf->node.version) & MST_V_ROOT))
		mst_erase_merge(w, leaf);
	else if (mst_perm_size(perm) == 1 && w->c.off)
		mst_erase_one_left(w, leaf, perm);
	else
		mst_unlock(w->mt, &leaf->node);
}

/*
 * The erase left @leaf (locked) with at most MST_MERGE_LOW keys: give
 * back what it can (an empty leaf, a layer left with one key, a leaf
 * that fits in a neighbour) and unlock. Out of line, so that the erases
 * that leave more keys pay one test for all of it.
 */
static noinline void mst_erase_few(struct mst_write *w, struct mst_leaf *leaf,
				   u64 perm)
{
	if (!mst_perm_size(perm))
		mst_erase_cleanup(w, leaf);
	else
		mst_erase_shrink(w, leaf, perm);
	mst_erase_free(w);
}

/**
 * mst_erase_locked() - erase the cursor's key from its locked leaf.
 * @w: the write; @w->c matched a key (not a layer) in @leaf.
 * @leaf: the locked leaf; unlocked on return.
 *
 * A layer left with one key folds into the slot above (mst_collapse()),
 * which may allocate once with GFP_NOWAIT; nothing fails if it cannot.
 * A leaf left with few keys may merge with a neighbour (mst_erase_merge()).
 *
 * Context: Inside the write's locking phase, RCU read lock held.
 */
void mst_erase_locked(struct mst_write *w, struct mst_leaf *leaf)
{
	struct masstree *mt = w->mt;
	struct mst_walk_pos *c = &w->c;
	struct mst_suffix *sfx;
	u64 perm;

	sfx = mst_slot_suffix_locked(leaf, c->slot);
	perm = mst_perm_remove(leaf->permutation, c->pos);
	ASSERT_EXCLUSIVE_WRITER(leaf->permutation);
	/* Unpublish the key: pairs with the acquire in mst_walk(). */
	smp_store_release(&leaf->permutation, perm);
	mst_stat_add(mt, MST_STAT_KEYS, -1);
	if (sfx) {
		mst_stat_add(mt, MST_STAT_SUFFIX_BYTES, -(long)sfx->size);
		mst_suffix_free(sfx);
	}
	if (unlikely(mst_perm_size(perm) <= MST_MERGE_LOW)) {
		mst_erase_few(w, leaf, perm);
		return;
	}
	mst_unlock(mt, &leaf->node);
}
