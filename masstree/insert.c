// SPDX-License-Identifier: GPL-2.0
/*
 * Insert: fill a free leaf slot, turn a slot into a new layer, or split a
 * full leaf and propagate the split up the layer's B+tree.
 *
 * Every function here runs with the target leaf locked, inside a write's
 * locking phase, and takes nodes only from the write's reserve, topped up
 * from this CPU's pool when it needs nodes. When both fall short, it
 * records what it needs, unlocks and returns false before changing
 * anything: the caller fills its reserve and tries again.
 */
#include <linux/masstree.h>
#include <linux/string.h>

#include "internal.h"
#include "permutation.h"
#include "version.h"

/* Give @leaf (locked, or not yet published) a bag from the reserve. */
static struct mst_bag *mst_leaf_add_bag(struct mst_write *w,
					struct mst_leaf *leaf)
{
	struct mst_bag *bag = mst_bag_init(mst_reserve_node(&w->res));

	/* Before any slot that uses it, and before readers may see it. */
	rcu_assign_pointer(leaf->bag, bag);
	mst_stat_add(w->mt, MST_STAT_SUFFIX_BYTES, MST_NODE_BYTES);
	return bag;
}

/* Does the cursor's key need a bag that @leaf (locked) lacks? */
static bool mst_bag_need(struct mst_leaf *leaf, const struct mst_walk_pos *c)
{
	return mst_key_in_bag(c) && !mst_leaf_bag_locked(leaf);
}

/*
 * What the cursor's key needs in a leaf slot of its layer: the suffix
 * buffer bytes it returns (0: none), or the leaf's bag (*@in_bag).
 */
static __always_inline u32 mst_fill_need(const struct mst_walk_pos *c,
					 bool *in_bag)
{
	u32 rest;

	*in_bag = false;
	if (c->cls != MST_CLS_LONG)
		return 0;
	rest = c->len - c->off - 8;
	if (rest > 8)
		return rest;
	*in_bag = true;		/* mst_key_in_bag() */
	return 0;
}

/*
 * Write the cursor's key and @entry into a slot readers cannot see; a key
 * that ends in the bag needs the leaf to have one (mst_bag_need()).
 */
static __always_inline void mst_leaf_fill(struct mst_write *w,
					  struct mst_leaf *leaf, unsigned int s,
					 void *entry)
{
	struct mst_walk_pos *c = &w->c;
	u8 klx = c->cls;

	if (c->cls == MST_CLS_LONG) {
		u32 rest = c->len - c->off - 8;
		struct mst_suffix *sfx;

		if (rest <= 8) {
			/* mst_key_in_bag() */
			WRITE_ONCE(mst_leaf_bag_locked(leaf)->slice[s],
				   mst_slice(c->key, c->len, c->off + 8));
			klx = 8 + rest;
			goto fill;
		}
		sfx = mst_reserve_suffix(&w->res, MST_SFX_NEW, c->key + c->off + 8,
					 rest);
		mst_stat_add(w->mt, MST_STAT_SUFFIX_BYTES, sfx->size);
		/* The slot holds the suffix, the suffix the entry. */
		RCU_INIT_POINTER(sfx->value, entry);
		entry = sfx;
		klx = MST_KLX_SUFFIX;
	}
fill:
	WRITE_ONCE(leaf->ikey[s], c->slice);
	WRITE_ONCE(leaf->keylenx[s], klx);
	rcu_assign_pointer(leaf->lv[s], entry);
}

/*
 * Copy slot @from of @src into slot @to of a leaf readers cannot see
 * (its bag entry, if any, is the caller's: mst_split_fill()).
 */
static void mst_leaf_copy(struct mst_leaf *dst, unsigned int to,
			  struct mst_leaf *src, unsigned int from)
{
	dst->ikey[to] = src->ikey[from];
	dst->keylenx[to] = src->keylenx[from];
	/* A suffix moves with its slot, entry and all. */
	RCU_INIT_POINTER(dst->lv[to], rcu_dereference_protected(src->lv[from], 1));
}

/*
 * Does the reserve cover @w->need, with this CPU's pool's nodes if need
 * be, and does the new key's buffer fit where it lands (see
 * mst_reserve_fits())? If not, nothing changed: the caller unlocks.
 */
static bool mst_insert_reserved(struct mst_write *w)
{
	return (mst_reserve_has(&w->res, &w->need) ||
		mst_reserve_take_pool(&w->res, &w->need)) &&
	       mst_reserve_fits(&w->res, w->need.sfx[MST_SFX_NEW]);
}

/* A permutation listing slots 0..n-1 in order. */
static u64 mst_perm_first(unsigned int n)
{
	return (MST_PERM_EMPTY & ~0xfULL) | n;
}

/**
 * mst_insert_root() - insert into an empty map.
 * @w: the write; its cursor is at the top layer.
 * @entry: the entry.
 *
 * Context: Inside the write's locking phase, RCU read lock held.
 * Return: true once inserted; false if the reserve fell short or the map
 * stopped being empty (nothing changed: try again).
 */
bool mst_insert_root(struct mst_write *w, void *entry)
{
	struct masstree *mt = w->mt;
	struct mst_walk_pos *c = &w->c;
	struct mst_node *node;
	struct mst_leaf *leaf;
	bool bag;

	mst_walk_pos_layer(c, 0, NULL);
	memset(&w->need, 0, sizeof(w->need));
	w->need.sfx[MST_SFX_NEW] = mst_fill_need(c, &bag);
	w->need.nodes = 1 + bag;
	if (!mst_reserve_has(&w->res, &w->need))
		return false;
	node = mst_reserve_node(&w->res);
	mst_node_init_leaf(node, MST_V_ROOT);
	mst_lock_fresh(mt, node);
	if (cmpxchg_release((void **)&mt->root, NULL, node)) {
		/* Lost the race: give the node back untouched. */
		mst_unlock(mt, node);
		mst_node_unuse(node);
		mst_reserve_put_node(&w->res, node);
		return false;
	}
	leaf = mst_to_leaf(node);
	/* Other writers can find the root now: they must wait for its lock. */
	mst_hook(MASSTREE_HOOK_NEW_ROOT);
	if (bag)
		mst_leaf_add_bag(w, leaf);
	mst_leaf_fill(w, leaf, 0, entry);
	/* Publish the filled slot: pairs with the acquire in mst_walk(). */
	smp_store_release(&leaf->permutation, mst_perm_first(1));
	mst_stat_add(mt, MST_STAT_LEAVES, 1);
	mst_stat_add(mt, MST_STAT_LAYERS, 1);
	mst_stat_add(mt, MST_STAT_KEYS, 1);
	mst_unlock(mt, node);
	return true;
}

/*
 * How many whole slices after this one the old key's rest @ok (@a bytes)
 * and the new key's rest @nk (@b bytes) share, each with more to come:
 * the span above the new layer. Sets @w->need: the layer's leaf, both
 * keys' suffixes there, and the span.
 */
static unsigned int mst_layer_need(struct mst_write *w, const u8 *ok, u32 a,
				   const u8 *nk, u32 b)
{
	unsigned int d = 0;

	while (a - 8 * d > 8 && b - 8 * d > 8 &&
	       !memcmp(ok + 8 * d, nk + 8 * d, 8))
		d++;
	w->need.nodes = 1;
	w->need.sfx[MST_SFX_NEW] = b - 8 * d > 8 ? b - 8 * d - 8 : 0;
	w->need.sfx[MST_SFX_MOVED] = a - 8 * d > 8 ? a - 8 * d - 8 : 0;
	w->need.sfx[MST_SFX_SPAN] = d ? MST_SPAN_CAP(8 * d) : 0;
	return d;
}

/*
 * A new layer's root leaf below the slot at the cursor's layer, after
 * @len shared bytes @bytes: returns what the slot is to hold (the leaf, or
 * a span leading to it) and sets *@klx to match. The leaf comes locked,
 * for the caller to fill and unlock once the slot is published.
 */
static void *mst_layer_new(struct mst_write *w, const u8 *bytes, u32 len,
			   struct mst_leaf **leafp, u8 *klx, long *sfx_bytes)
{
	struct mst_node *node = mst_reserve_node(&w->res);
	struct mst_span *span;

	mst_node_init_leaf(node, MST_V_ROOT);
	mst_lock_fresh(w->mt, node);
	*leafp = mst_to_leaf(node);
	if (!len) {
		RCU_INIT_POINTER(node->parent, w->c.layer_root);
		*klx = MST_KLX_LAYER;
		return node;
	}
	span = mst_reserve_span(&w->res, MST_SFX_SPAN, w->c.layer_root, node,
				bytes, len);
	*sfx_bytes += span->size;
	RCU_INIT_POINTER(node->parent, mst_span_parent(span));
	*klx = MST_KLX_SPAN;
	return span;
}

/*
 * Fill slot @s of a new layer's leaf with a key whose bytes from that
 * layer on are @data (@len of them), and @entry; a suffix comes from the
 * reserve's buffer @i. Returns the suffix bytes taken.
 */
static long mst_layer_slot(struct mst_write *w, struct mst_leaf *deep,
			   unsigned int s, u64 slice, unsigned int cls,
			   const u8 *data, u32 len, unsigned int i, void *entry)
{
	struct mst_suffix *sfx = NULL;
	u8 klx = cls;

	deep->ikey[s] = slice;
	if (cls == MST_CLS_LONG) {
		sfx = mst_reserve_suffix(&w->res, i, data + 8, len - 8);
		klx = MST_KLX_SUFFIX;
	}
	deep->keylenx[s] = klx;
	if (sfx)
		RCU_INIT_POINTER(sfx->value, entry);
	RCU_INIT_POINTER(deep->lv[s], sfx ? (void *)sfx : entry);
	return sfx ? sfx->size : 0;
}

/*
 * Publish what slot @s of the locked @leaf now holds (@klx, @lv: a new
 * layer, or a span leading to one, its leaf @deep filled) under the
 * inserting bit, count the new layer and key, and unlock @leaf and @deep.
 */
static void mst_layer_publish(struct mst_write *w, struct mst_leaf *leaf,
			      unsigned int s, u8 klx, void *lv,
			      struct mst_leaf *deep, long sfx_bytes)
{
	struct masstree *mt = w->mt;

	mst_stat_add(mt, MST_STAT_SUFFIX_BYTES, sfx_bytes);
	mst_stat_add(mt, MST_STAT_LEAVES, 1);
	mst_stat_add(mt, MST_STAT_LAYERS, 1);
	mst_stat_add(mt, MST_STAT_KEYS, 1);

	mst_mark(&leaf->node, MST_V_INSERTING);
	WRITE_ONCE(leaf->keylenx[s], klx);
	rcu_assign_pointer(leaf->lv[s], lv);
	mst_unlock(mt, &leaf->node);
	mst_unlock(mt, &deep->node);
}

/*
 * The key in slot @s continues past this slice, as does the new key, and
 * their slices match: the slot becomes a new layer holding both, below
 * the whole slices the two share, kept once as a span (not as a chain of
 * one-slot layers: two keys sharing 64 KiB cost one leaf, not 8,191).
 * Built privately, published with one pointer store under the inserting
 * bit.
 */
static noinline bool mst_insert_layer(struct mst_write *w,
				      struct mst_leaf *leaf, void *entry)
{
	struct mst_walk_pos *c = &w->c;
	unsigned int s = c->slot;
	u8 oklx = leaf->keylenx[s];
	const u8 *nk = c->key + c->off + 8;
	u32 a, b = c->len - c->off - 8;
	struct mst_suffix *old = NULL;
	unsigned int d, ocls, ncls, os;
	struct mst_leaf *deep;
	u64 oslice, nslice;
	long sfx_bytes = 0;
	const u8 *odata;
	void *oentry;
	u8 obuf[8];
	void *top;
	u8 klx;

	/* Final: it moves down, and the slot stops being the key's. */
	if (mst_klx_in_bag(oklx)) {
		/* Its bag entry stays behind, stale, as a freed slot's does. */
		put_unaligned_be64(mst_slot_bag2_locked(leaf, s), obuf);
		odata = obuf;
		a = oklx - 8;
		oentry = rcu_dereference_protected(leaf->lv[s], 1);
	} else {
		old = rcu_dereference_protected(leaf->lv[s], 1);
		odata = old->data;
		a = old->len;
		oentry = rcu_dereference_protected(old->value, 1);
		sfx_bytes = -(long)old->size;
	}
	d = mst_layer_need(w, odata, a, nk, b);
	if (!mst_insert_reserved(w)) {
		mst_unlock(w->mt, &leaf->node);
		return false;
	}
	top = mst_layer_new(w, odata, 8 * d, &deep, &klx, &sfx_bytes);

	/* The new layer's leaf: the old key and the new one, in order. */
	oslice = mst_slice(odata, a, 8 * d);
	ocls = mst_key_cls(a, 8 * d);
	nslice = mst_slice(nk, b, 8 * d);
	ncls = mst_key_cls(b, 8 * d);
	os = mst_cmp(oslice, ocls, nslice, ncls) < 0 ? 0 : 1;
	sfx_bytes += mst_layer_slot(w, deep, os, oslice, ocls,
				    odata + 8 * d, a - 8 * d,
				    MST_SFX_MOVED, oentry);
	sfx_bytes += mst_layer_slot(w, deep, 1 - os, nslice, ncls,
				    nk + 8 * d, b - 8 * d, MST_SFX_NEW, entry);
	deep->permutation = mst_perm_first(2);
	mst_layer_publish(w, leaf, s, klx, top, deep, sfx_bytes);
	if (old)
		mst_suffix_free(old);
	return true;
}

/*
 * The first slice of span @span where the key's rest @nk (@b bytes)
 * leaves it: differs, or ends, or is the span's last and has nothing
 * after it. Sets @w->need for the split there.
 */
static unsigned int mst_span_need(struct mst_write *w,
				  const struct mst_span *span,
				  const u8 *nk, u32 b)
{
	unsigned int j = 0, n = span->len / 8;

	while (j < n && b - 8 * j > 8 && !memcmp(span->data + 8 * j, nk + 8 * j, 8))
		j++;
	w->need.nodes = 1;
	w->need.sfx[MST_SFX_NEW] = b - 8 * j > 8 ? b - 8 * j - 8 : 0;
	w->need.sfx[MST_SFX_MOVED] = j + 1 < n ?
				     MST_SPAN_CAP(span->len - 8 * j - 8) : 0;
	w->need.sfx[MST_SFX_SPAN] = j ? MST_SPAN_CAP(8 * j) : 0;
	return j;
}

/*
 * Slot @s holds a span that the new key leaves at its @j-th slice: a new
 * layer there takes the span's way down (the rest of the span and the
 * layer below it, whose root stays where it is) and the new key; the slot
 * keeps the first @j slices, as a shorter span or a plain layer slot.
 * Old spans are immutable: both parts are new. The lower layer's root
 * learns its new way up before the new layer is published, with that
 * layer locked, so that a writer climbing from it (holding its lock, see
 * mst_layer_climb()) either finds its old slot gone and reads the parent
 * again, or waits for the new layer.
 */
static noinline bool mst_insert_span(struct mst_write *w,
				     struct mst_leaf *leaf, void *entry)
{
	struct mst_walk_pos *c = &w->c;
	unsigned int s = c->slot;
	struct mst_span *old = rcu_dereference_protected(leaf->lv[s], 1);
	struct mst_node *root = old->root;
	const u8 *nk = c->key + c->off + 8;
	u32 b = c->len - c->off - 8;
	long sfx_bytes = -(long)old->size;
	struct mst_span *lower = NULL;
	unsigned int j, ncls, os;
	struct mst_leaf *deep;
	u64 oslice, nslice;
	void *top;
	u8 klx;

	j = mst_span_need(w, old, nk, b);
	if (WARN_ON_ONCE(j == old->len / 8)) {
		/* The key holds the span: mst_lock_leaf() would have gone on. */
		mst_unlock(w->mt, &leaf->node);
		memset(&w->need, 0, sizeof(w->need));
		return false;
	}
	if (!mst_insert_reserved(w)) {
		mst_unlock(w->mt, &leaf->node);
		return false;
	}
	top = mst_layer_new(w, old->data, 8 * j, &deep, &klx, &sfx_bytes);

	oslice = get_unaligned_be64(old->data + 8 * j);
	nslice = mst_slice(nk, b, 8 * j);
	ncls = mst_key_cls(b, 8 * j);
	os = mst_cmp(oslice, MST_CLS_LONG, nslice, ncls) < 0 ? 0 : 1;
	deep->ikey[os] = oslice;
	if (8 * j + 8 < old->len) {
		lower = mst_reserve_span(&w->res, MST_SFX_MOVED, &deep->node,
					 root, old->data + 8 * j + 8,
					 old->len - 8 * j - 8);
		sfx_bytes += lower->size;
		deep->keylenx[os] = MST_KLX_SPAN;
		RCU_INIT_POINTER(deep->lv[os], lower);
	} else {
		deep->keylenx[os] = MST_KLX_LAYER;
		RCU_INIT_POINTER(deep->lv[os], root);
	}
	sfx_bytes += mst_layer_slot(w, deep, 1 - os, nslice, ncls,
				    nk + 8 * j, b - 8 * j, MST_SFX_NEW, entry);
	/* Whole before a climber from the layer below can reach it. */
	deep->permutation = mst_perm_first(2);
	rcu_assign_pointer(root->parent,
			   lower ? mst_span_parent(lower) : &deep->node);
	mst_hook(MASSTREE_HOOK_SPAN_SPLIT);
	mst_layer_publish(w, leaf, s, klx, top, deep, sfx_bytes);
	mst_suffix_free(mst_span_sfx(old));
	return true;
}

/* The slice of the i-th of the 16 keys: the leaf's 15 plus the new one. */
static u64 mst_split_ikey(struct mst_leaf *leaf, u64 perm, unsigned int pos,
			  u64 nslice, unsigned int i)
{
	if (i == pos)
		return nslice;
	return leaf->ikey[mst_perm_slot(perm, i < pos ? i : i - 1)];
}

/*
 * Where to split 16 keys: near the middle, never between two keys of one
 * slice (they must share a leaf, whose lowkey is a slice). At most 10 keys
 * share a slice (classes 0..9), so a split point always exists.
 */
static unsigned int mst_split_point(struct mst_leaf *leaf, u64 perm,
				    unsigned int pos, u64 nslice)
{
	unsigned int d, m;

	for (d = 0; d < 8; d++) {
		m = 8 - d;
		if (mst_split_ikey(leaf, perm, pos, nslice, m - 1) !=
		    mst_split_ikey(leaf, perm, pos, nslice, m))
			return m;
		m = 8 + d;
		if (m < 16 && mst_split_ikey(leaf, perm, pos, nslice, m - 1) !=
		    mst_split_ikey(leaf, perm, pos, nslice, m))
			return m;
	}
	WARN_ON_ONCE(1);
	return 8;
}

/*
 * Do positions [from, to) of the 16 keys (the leaf's 15 in @perm's order,
 * the new one at the cursor's position) hold a key that ends in a bag?
 */
static __always_inline bool mst_split_has_bag(struct mst_write *w,
					      struct mst_leaf *leaf, u64 perm,
					      unsigned int from, unsigned int to)
{
	unsigned int pos = w->c.pos, i;

	/* A leaf without a bag holds no such key. */
	if (!mst_leaf_bag_locked(leaf))
		return from <= pos && pos < to && mst_key_in_bag(&w->c);
	for (i = from; i < to; i++) {
		if (i == pos ? mst_key_in_bag(&w->c) :
		    mst_klx_in_bag(leaf->keylenx[mst_perm_slot(perm, i < pos ? i : i - 1)]))
			return true;
	}
	return false;
}

/*
 * Which leaves of a split take a bag (mst_split_bags()): the one with
 * positions [0, m) (a new leaf if the root splits, else the old leaf),
 * the new one with positions [m, 16).
 */
#define MST_SPLIT_BAG_LOW	1
#define MST_SPLIT_BAG_HIGH	2

/*
 * The bags a split at @m takes (MST_SPLIT_BAG_*), decided once before the
 * reserve is checked: one for each new leaf that takes a key ending in a
 * bag, and one for the old leaf if the new key stays there and it has none.
 */
static unsigned int mst_split_bags(struct mst_write *w, struct mst_leaf *leaf,
				   u64 perm, unsigned int m, bool is_root)
{
	unsigned int bags = 0;

	if (mst_split_has_bag(w, leaf, perm, m, MST_NODE_WIDTH + 1))
		bags |= MST_SPLIT_BAG_HIGH;
	if (is_root ? mst_split_has_bag(w, leaf, perm, 0, m) :
	    w->c.pos < m && mst_bag_need(leaf, &w->c))
		bags |= MST_SPLIT_BAG_LOW;
	return bags;
}

/*
 * Move keys [from, to) (the new key among them) into a fresh leaf, with a
 * bag if @bag (one of them ends in one).
 */
static void mst_split_fill(struct mst_write *w, struct mst_leaf *dst,
			   struct mst_leaf *leaf, u64 perm, unsigned int from,
			  unsigned int to, bool bag, void *entry)
{
	struct mst_bag *dbag = bag ? mst_leaf_add_bag(w, dst) : NULL;
	unsigned int pos = w->c.pos;
	unsigned int i;

	for (i = from; i < to; i++) {
		unsigned int s;

		if (i == pos) {
			mst_leaf_fill(w, dst, i - from, entry);
			continue;
		}
		s = mst_perm_slot(perm, i < pos ? i : i - 1);
		mst_leaf_copy(dst, i - from, leaf, s);
		/* Its bag entry, if any (0 for a slot without one: unread). */
		if (dbag)
			dbag->slice[i - from] = mst_slot_bag2_locked(leaf, s);
	}
	dst->permutation = mst_perm_first(to - from);
}

/*
 * A full internode plus the child a split below gave it: 17 children and
 * 16 separators, read through mst_overfull_child() and _key() while the
 * internode itself is rewritten.
 */
struct mst_overfull {
	struct mst_internode *p;	/* the internode */
	unsigned int at;		/* index of the child that split */
	struct mst_node *sibling;	/* its new right sibling, at @at + 1 */
	u64 separator;			/* their separator, key @at */
};

static struct mst_node *mst_overfull_child(const struct mst_overfull *x, unsigned int i)
{
	if (i <= x->at)
		return rcu_dereference_protected(x->p->child[i], 1);
	if (i == x->at + 1)
		return x->sibling;
	return rcu_dereference_protected(x->p->child[i - 1], 1);
}

static u64 mst_overfull_key(const struct mst_overfull *x, unsigned int i)
{
	if (i < x->at)
		return x->p->ikey[i];
	if (i == x->at)
		return x->separator;
	return x->p->ikey[i - 1];
}

/* Fill a fresh internode with children [from, to) of @x. */
static void mst_overfull_fill(struct mst_internode *dst,
			      const struct mst_overfull *x,
			      unsigned int from, unsigned int to)
{
	unsigned int i;

	for (i = from; i < to; i++) {
		struct mst_node *ch = mst_overfull_child(x, i);

		RCU_INIT_POINTER(dst->child[i - from], ch);
		rcu_assign_pointer(ch->parent, &dst->node);
		if (i > from)
			dst->ikey[i - from - 1] = mst_overfull_key(x, i - 1);
	}
	dst->nkeys = to - from - 1;
}

#define MST_SPLIT_LEFT	8	/* children kept on the left of a split */

/*
 * @x->p has room: shift the children right of the split one along and
 * link the new one in. The split ends here: unlock all three.
 */
static void mst_split_up_room(struct masstree *mt, const struct mst_overfull *x,
			      struct mst_node *child)
{
	struct mst_internode *p = x->p;
	unsigned int i;

	mst_mark(&p->node, MST_V_INSERTING);
	for (i = p->nkeys + 1; i > x->at + 1; i--) {
		rcu_assign_pointer(p->child[i],
				   rcu_dereference_protected(p->child[i - 1], 1));
		WRITE_ONCE(p->ikey[i - 1], p->ikey[i - 2]);
	}
	WRITE_ONCE(p->ikey[x->at], x->separator);
	/* Children shifted, the new one not yet linked. */
	mst_hook(MASSTREE_HOOK_DIRTY);
	rcu_assign_pointer(p->child[x->at + 1], x->sibling);
	rcu_assign_pointer(x->sibling->parent, &p->node);
	ASSERT_EXCLUSIVE_WRITER(p->nkeys);
	WRITE_ONCE(p->nkeys, p->nkeys + 1);
	mst_unlock(mt, x->sibling);
	mst_unlock(mt, child);
	mst_unlock(mt, &p->node);
}

/*
 * @x->p is a full layer root: it grows in place, its children moving down
 * into two fresh internodes split at @mid. The split ends here.
 */
static void mst_split_up_root(struct mst_write *w, const struct mst_overfull *x,
			      struct mst_node *child, u64 mid)
{
	struct masstree *mt = w->mt;
	struct mst_internode *p = x->p, *a, *b;

	/* The root grows in place: children move down. */
	a = mst_to_internode(mst_reserve_node(&w->res));
	b = mst_to_internode(mst_reserve_node(&w->res));
	mst_node_init_internode(&a->node, 0);
	mst_node_init_internode(&b->node, 0);
	/* Children learn of a and b before p does: lock them. */
	mst_lock_fresh(mt, &a->node);
	mst_lock_fresh(mt, &b->node);
	mst_overfull_fill(a, x, 0, MST_SPLIT_LEFT);
	mst_overfull_fill(b, x, MST_SPLIT_LEFT, MST_NODE_WIDTH + 2);
	RCU_INIT_POINTER(a->node.parent, &p->node);
	RCU_INIT_POINTER(b->node.parent, &p->node);
	mst_mark(&p->node, MST_V_SPLITTING);
	WRITE_ONCE(p->nkeys, 1);
	WRITE_ONCE(p->ikey[0], mid);
	mst_internode_clear_keys(p, 1);
	rcu_assign_pointer(p->child[0], &a->node);
	rcu_assign_pointer(p->child[1], &b->node);
	mst_stat_add(mt, MST_STAT_INTERNODES, 2);
	mst_unlock(mt, x->sibling);
	mst_unlock(mt, child);
	mst_unlock(mt, &a->node);
	mst_unlock(mt, &b->node);
	mst_unlock(mt, &p->node);
}

/*
 * @x->p is full and not a root: its upper children move to a fresh right
 * sibling, returned locked for the level above to link in. @child and
 * @x->sibling are unlocked; @x->p stays locked.
 */
static struct mst_node *mst_split_up_half(struct mst_write *w,
					  const struct mst_overfull *x,
					  struct mst_node *child)
{
	struct masstree *mt = w->mt;
	struct mst_internode *p = x->p, *q;
	unsigned int i;

	q = mst_to_internode(mst_reserve_node(&w->res));
	mst_node_init_internode(&q->node, 0);
	mst_lock_fresh(mt, &q->node);
	RCU_INIT_POINTER(q->node.parent,
			 rcu_dereference_protected(p->node.parent, 1));
	mst_overfull_fill(q, x, MST_SPLIT_LEFT, MST_NODE_WIDTH + 2);
	mst_mark(&p->node, MST_V_SPLITTING);
	/* Descending, so that mst_overfull_*() read p before it changes. */
	for (i = MST_SPLIT_LEFT; i-- > x->at + 1;) {
		struct mst_node *ch = mst_overfull_child(x, i);

		rcu_assign_pointer(p->child[i], ch);
		rcu_assign_pointer(ch->parent, &p->node);
	}
	for (i = MST_SPLIT_LEFT - 1; i-- > x->at;)
		WRITE_ONCE(p->ikey[i], mst_overfull_key(x, i));
	mst_internode_clear_keys(p, MST_SPLIT_LEFT - 1);
	WRITE_ONCE(p->nkeys, MST_SPLIT_LEFT - 1);
	mst_stat_add(mt, MST_STAT_INTERNODES, 1);
	mst_unlock(mt, x->sibling);
	mst_unlock(mt, child);
	return &q->node;
}

/*
 * Propagate a split: @child (locked) gained the locked sibling @sib with
 * lower bound @sep. Every ancestor that changes is already locked (see
 * mst_insert_split()); each level is unlocked once its parent knows it.
 */
static void mst_split_up(struct mst_write *w, struct mst_node *child,
			 struct mst_node *sib, u64 sep)
{
	struct mst_overfull x;

	for (;;) {
		struct mst_internode *p;
		unsigned int i;
		u64 mid;

		p = mst_to_internode(rcu_dereference_protected(child->parent, 1));
		i = mst_internode_child_index(p, child);
		WARN_ON_ONCE(i > p->nkeys);
		x = (struct mst_overfull){ .p = p, .at = i, .sibling = sib, .separator = sep };
		if (p->nkeys < MST_NODE_WIDTH) {
			mst_split_up_room(w->mt, &x, child);
			return;
		}
		mid = mst_overfull_key(&x, MST_SPLIT_LEFT - 1);
		if (READ_ONCE(p->node.version) & MST_V_ROOT) {
			mst_split_up_root(w, &x, child, mid);
			return;
		}
		sib = mst_split_up_half(w, &x, child);
		child = &p->node;
		sep = mid;
	}
}

/*
 * Lock, child before parent, every ancestor of the full leaf @node that
 * its split will change: up to the first one with room, or the root. Sets
 * @w->need.nodes to the nodes the split takes; returns the top one locked.
 */
static struct mst_node *mst_split_lock_path(struct mst_write *w,
					    struct mst_node *node, bool is_root)
{
	struct mst_node *top = node;

	w->need.nodes = is_root ? 2 : 1;
	while (!(READ_ONCE(top->version) & MST_V_ROOT)) {
		struct mst_internode *p = mst_lock_parent(w->mt, top);

		top = &p->node;
		if (p->nkeys < MST_NODE_WIDTH)
			break;
		w->need.nodes += READ_ONCE(p->node.version) & MST_V_ROOT ? 2 : 1;
	}
	return top;
}

/* Unlock what mst_split_lock_path() locked, from @top down; none changed. */
static void mst_split_unlock_path(struct masstree *mt, struct mst_node *node,
				  struct mst_node *top)
{
	struct mst_node *x;

	while (top != node) {
		x = node;
		while (rcu_access_pointer(x->parent) != top)
			x = rcu_dereference_protected(x->parent, 1);
		mst_unlock(mt, top);
		top = x;
	}
	mst_unlock(mt, node);
}

/*
 * The full leaf is a layer's root: it grows in place, its keys and the
 * new one moving to two fresh leaves split at position @m, and it turns
 * into their internode.
 */
static void mst_split_root_leaf(struct mst_write *w, struct mst_leaf *leaf,
				u64 perm, unsigned int m, unsigned int bags,
				void *entry)
{
	struct masstree *mt = w->mt;
	struct mst_node *node = &leaf->node;
	struct mst_leaf *a = mst_to_leaf(mst_reserve_node(&w->res));
	struct mst_leaf *b = mst_to_leaf(mst_reserve_node(&w->res));
	struct mst_internode *in;

	mst_node_init_leaf(&a->node, 0);
	mst_node_init_leaf(&b->node, 0);
	mst_split_fill(w, a, leaf, perm, 0, m, bags & MST_SPLIT_BAG_LOW, entry);
	mst_split_fill(w, b, leaf, perm, m, MST_NODE_WIDTH + 1,
		       bags & MST_SPLIT_BAG_HIGH, entry);
	a->lowkey = leaf->lowkey;
	b->lowkey = b->ikey[0];
	RCU_INIT_POINTER(a->next, b);
	RCU_INIT_POINTER(b->prev, a);
	RCU_INIT_POINTER(a->node.parent, node);
	RCU_INIT_POINTER(b->node.parent, node);

	mst_mark(node, MST_V_SPLITTING);
	in = mst_to_internode(node);
	WRITE_ONCE(node->version, READ_ONCE(node->version) & ~MST_V_LEAF);
	mst_node_leaf_to_internode(node);
	WRITE_ONCE(in->nkeys, 1);
	WRITE_ONCE(in->ikey[0], b->lowkey);
	mst_internode_clear_keys(in, 1);
	rcu_assign_pointer(in->child[0], &a->node);
	rcu_assign_pointer(in->child[1], &b->node);
	mst_stat_add(mt, MST_STAT_LEAVES, 1);
	mst_stat_add(mt, MST_STAT_INTERNODES, 1);
	mst_stat_add(mt, MST_STAT_KEYS, 1);
	/*
	 * The keys moved with their bag entries; the bag stays the node's
	 * (struct mst_bag), for the day it is a leaf again.
	 */
	mst_unlock(mt, node);
}

/*
 * The full leaf is not a root: the keys from position @m on (the new one
 * among them, or not) move to a fresh right sibling, the left half stays
 * in place, and the split goes up.
 */
static void mst_split_leaf(struct mst_write *w, struct mst_leaf *leaf,
			   u64 perm, unsigned int m, unsigned int bags,
			   void *entry)
{
	struct masstree *mt = w->mt;
	struct mst_walk_pos *c = &w->c;
	struct mst_node *node = &leaf->node;
	struct mst_leaf *r;
	u64 nperm;

	r = mst_to_leaf(mst_reserve_node(&w->res));
	mst_node_init_leaf(&r->node, 0);
	mst_lock_fresh(mt, &r->node);
	/* The new key's slot must be chosen before the old slots move. */
	mst_split_fill(w, r, leaf, perm, m, MST_NODE_WIDTH + 1,
		       bags & MST_SPLIT_BAG_HIGH, entry);
	r->lowkey = r->ikey[0];
	RCU_INIT_POINTER(r->prev, leaf);
	RCU_INIT_POINTER(r->next, rcu_dereference_protected(leaf->next, 1));
	RCU_INIT_POINTER(r->node.parent,
			 rcu_dereference_protected(node->parent, 1));

	mst_mark(node, MST_V_SPLITTING);
	/* The left half, in order, then every other slot as free. */
	if (c->pos < m) {
		/*
		 * The new key reuses the slot of the first key that moved
		 * (position m - 1 of 15): the same rotation as a plain insert
		 * of the leaf's first m - 1 keys, the moved slots staying free.
		 */
		if (bags & MST_SPLIT_BAG_LOW)
			mst_leaf_add_bag(w, leaf);
		mst_leaf_fill(w, leaf, mst_perm_slot(perm, m - 1), entry);
		nperm = mst_perm_insert((perm & ~0xfULL) | (m - 1), c->pos);
	} else {
		/* The first m keys stay where they are; the rest are free. */
		nperm = (perm & ~0xfULL) | m;
	}
	/* A slot refilled, the new leaf and permutation not yet published. */
	mst_hook(MASSTREE_HOOK_DIRTY);
	/* The B-link chain changes under the left leaf's lock only. */
	ASSERT_EXCLUSIVE_WRITER(leaf->next);
	if (rcu_access_pointer(r->next))
		rcu_assign_pointer(rcu_dereference_protected(r->next, 1)->prev, r);
	rcu_assign_pointer(leaf->next, r);
	ASSERT_EXCLUSIVE_WRITER(leaf->permutation);
	/* Publish the left half: pairs with the acquire in mst_walk(). */
	smp_store_release(&leaf->permutation, nperm);
	mst_stat_add(mt, MST_STAT_LEAVES, 1);
	mst_stat_add(mt, MST_STAT_KEYS, 1);
	mst_hook(MASSTREE_HOOK_SPLIT);
	mst_split_up(w, node, &r->node, r->lowkey);
}

/*
 * The leaf is full. Lock every ancestor that will change, count the nodes
 * needed, and split bottom-up.
 */
static noinline bool mst_insert_split(struct mst_write *w,
				      struct mst_leaf *leaf, void *entry)
{
	struct mst_node *node = &leaf->node, *top;
	u64 perm = leaf->permutation;
	bool is_root = READ_ONCE(node->version) & MST_V_ROOT;
	unsigned int m, bags;

	top = mst_split_lock_path(w, node, is_root);
	m = mst_split_point(leaf, perm, w->c.pos, w->c.slice);
	bags = mst_split_bags(w, leaf, perm, m, is_root);
	w->need.nodes += !!(bags & MST_SPLIT_BAG_LOW) +
			 !!(bags & MST_SPLIT_BAG_HIGH);
	if (!mst_insert_reserved(w)) {
		mst_split_unlock_path(w->mt, node, top);
		return false;
	}
	if (is_root)
		mst_split_root_leaf(w, leaf, perm, m, bags, entry);
	else
		mst_split_leaf(w, leaf, perm, m, bags, entry);
	return true;
}

/**
 * mst_insert_locked() - insert the cursor's key into its locked leaf.
 * @w: the write; @w->c was searched in @leaf and the key is absent.
 * @leaf: the locked leaf.
 * @entry: the entry.
 *
 * Unlocks every node it locked, including @leaf, before returning.
 *
 * Context: Inside the write's locking phase, RCU read lock held.
 * Return: true once inserted; false with @w->need set and nothing changed.
 */
bool mst_insert_locked(struct mst_write *w, struct mst_leaf *leaf, void *entry)
{
	struct mst_walk_pos *c = &w->c;
	u64 perm = leaf->permutation;
	unsigned int n = mst_perm_size(perm);
	bool bag;

	if (c->slot >= 0) {
		if (leaf->keylenx[c->slot] == MST_KLX_SPAN)
			return mst_insert_span(w, leaf, entry);
		return mst_insert_layer(w, leaf, entry);
	}

	memset(&w->need, 0, sizeof(w->need));
	w->need.sfx[MST_SFX_NEW] = mst_fill_need(c, &bag);
	if (n == MST_NODE_WIDTH)
		return mst_insert_split(w, leaf, entry);
	if (unlikely(bag && !mst_leaf_bag_locked(leaf))) {
		/* The leaf's first key that ends in a bag: a node for it. */
		w->need.nodes = 1;
		if (!mst_insert_reserved(w)) {
			mst_unlock(w->mt, &leaf->node);
			return false;
		}
		mst_leaf_add_bag(w, leaf);
	} else if (!mst_reserve_has_sfx(&w->res, MST_SFX_NEW,
					w->need.sfx[MST_SFX_NEW]) ||
		   !mst_reserve_fits(&w->res, w->need.sfx[MST_SFX_NEW])) {
		/* The need is one suffix buffer at most: ask for that alone. */
		mst_unlock(w->mt, &leaf->node);
		return false;
	}
	/* The free slot may be one a reader still looks at: mark first. */
	mst_mark(&leaf->node, MST_V_INSERTING);
	mst_leaf_fill(w, leaf, mst_perm_slot(perm, n), entry);
	ASSERT_EXCLUSIVE_WRITER(leaf->permutation);
	/* Publish the filled slot: pairs with the acquire in mst_walk(). */
	smp_store_release(&leaf->permutation, mst_perm_insert(perm, c->pos));
	mst_stat_add(w->mt, MST_STAT_KEYS, 1);
	mst_unlock(w->mt, &leaf->node);
	return true;
}
