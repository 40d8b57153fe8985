// SPDX-License-Identifier: GPL-2.0
/*
 * The cursor: ordered iteration, forward and reverse, without recursion
 * and with stack use independent of the key's length.
 *
 * A cursor keeps no pointer into the tree between calls, only bytes: the
 * key it returned last, in a buffer it owns. Each step descends from the
 * map's root towards a "target" and returns the first key after it (the
 * last key before it in reverse), reading each leaf in one validated
 * window. The target is a key prefix, cur->key[0..t_off), followed by a
 * (slice, class) pair at the layer at t_off, plus whether the target
 * itself counts. That form names every place a step must go on from:
 *
 * - a key: its bytes, the pair of its last layer;
 * - "first key of a layer": the layer's prefix and the pair (0, 0), which
 *   is below every key stored in a layer;
 * - "last key of a layer": the prefix and (MST_SLICE_MAX, MST_CLS_LONG + 1);
 * - "past every key with this 8-byte-aligned prefix" (a layer exhausted):
 *   the prefix minus its last slice, and (that slice, MST_CLS_LONG),
 *   excluded;
 * - "before leaf L" in reverse: (L's lowkey - 1, MST_CLS_LONG + 1).
 *
 * A slot may lead to the layer below through a span, whole slices that
 * every key down there shares: a step compares them with the target slice
 * by slice, as it does a suffix, and goes down only when the target goes
 * on past them; else the span's keys are all before or all after it.
 * Entering, the cursor copies the span's bytes into its key; climbing
 * out, it skips them (the layer root's parent says how many).
 *
 * Targets only move forward (backward in reverse), and each one is derived
 * from a validated read that showed no key between the old target and the
 * new one, so the step may restart from the root whenever it meets a
 * deleted node, and a reverse scan of a layer that empties underneath it
 * moves on instead of spinning (masstree-beta issue #36). Forward, a step
 * moves to the next leaf through the validated next pointer; in reverse,
 * it re-descends to the leaf below the current leaf's lowkey, since lower
 * bounds only decrease and prev pointers are not covered by the version.
 *
 * A cursor steps once per call: it may not keep a node across its calls'
 * RCU read sections. masstree_scan() does not return between keys, so it
 * goes faster: under one RCU read section per batch of keys, it copies a
 * leaf's slots from the target on into a small snapshot in one validated
 * window (erase does not bump the version, so what is handed out must
 * have been copied inside the window), closes the window, hands the
 * snapshot's keys to its callback, aims past the last one, and goes on to
 * the rest of the leaf or, forward, to the next leaf through the validated
 * next pointer, with the B-link rule applied there as after a descent. No
 * version is carried across a callback or from one window to the next,
 * and no node pointer across batches: each batch descends from the root
 * to the target again.
 */
#include <linux/export.h>
#include <linux/masstree.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "faultinject.h"
#include "internal.h"
#include "permutation.h"
#include "version.h"

/* Cursor states. */
#define MST_CUR_NONE	0
#define MST_CUR_VALID	1
#define MST_CUR_END	2
#define MST_CUR_ERR	3

/* What ends an iteration. */
#define MST_BOUND_NONE	0
#define MST_BOUND_KEY	1
#define MST_BOUND_PREFIX	2

/* Results of one step. */
#define MST_STEP_FOUND	0
#define MST_STEP_END	1
#define MST_STEP_GROW	2

/* The largest slice. */
#define MST_SLICE_MAX	(~0ULL)

/* A class above every real one: "after every key with this slice". */
#define MST_CLS_MAX	(MST_CLS_LONG + 1)

/* Largest buffer a cursor needs: the longest key plus one slice. */
#define MST_CUR_MAX_CAP	(MASSTREE_MAX_KEY_LEN + 16)

/* Slots a scan copies out of a leaf in one window: a small stack frame. */
#define MST_SNAP_MAX	12

/*
 * Keys, and leaf windows, one masstree_scan() batch may take under one
 * RCU read section, so that a long scan does not hold up grace periods: a
 * few microseconds. Each batch starts with a descent from the root.
 */
#define MST_SCAN_KEYS	128
#define MST_SCAN_LEAVES	32

/*
 * A leaf's slots from the target on, in the step's direction, as read in
 * one validated window: erase does not bump the version, so what a step
 * uses must have been copied inside the window, bag entries included
 * (@bag2, set only for the slots whose klx says they have one).
 */
struct mst_snap {
	u8 klx[MST_SNAP_MAX];
	u8 nr;
	bool more;
	u64 ikey[MST_SNAP_MAX];
	void *lv[MST_SNAP_MAX];
	u64 bag2[MST_SNAP_MAX];
};

/* A masstree_scan() batch: where its keys go, and how many may still go. */
struct mst_scan {
	masstree_scan_fn fn;
	void *arg;
	int ret;
	unsigned int keys;
	unsigned int leaves;
	bool bounded;
};

static void mst_target_key(struct masstree_cursor *cur, size_t len, bool strict)
{
	size_t off = len ? ((len - 1) / 8) * 8 : 0;

	cur->t_off = off;
	cur->t_slice = mst_slice(cur->key, len, off);
	cur->t_cls = mst_key_cls(len, off);
	cur->t_strict = strict;
}

static void mst_target_pair(struct masstree_cursor *cur, size_t off, u64 slice,
			    unsigned int cls, bool strict)
{
	cur->t_off = off;
	cur->t_slice = slice;
	cur->t_cls = cls;
	cur->t_strict = strict;
}

/* The target seen from the layer at @off (@off <= t_off). */
static void mst_target_at(const struct masstree_cursor *cur, size_t off,
			  u64 *slice, unsigned int *cls)
{
	if (off < cur->t_off) {
		*slice = get_unaligned_be64(cur->key + off);
		*cls = MST_CLS_LONG;
	} else {
		*slice = cur->t_slice;
		*cls = cur->t_cls;
	}
}

/*
 * Compare a key stored with a suffix in the layer at @off, whose slice
 * equals the target's there (both continue), with the target.
 */
static int mst_suffix_cmp(const struct masstree_cursor *cur, size_t off,
			  const struct mst_suffix *sfx)
{
	size_t o = off + 8;

	for (;;) {
		size_t r = o - off - 8;
		unsigned int tc;
		u64 ts;
		int c;

		mst_target_at(cur, o, &ts, &tc);
		c = mst_cmp(mst_slice(sfx->data, sfx->len, r),
			    mst_key_cls(sfx->len, r), ts, tc);
		if (c || o >= cur->t_off)
			return c;
		o += 8;
	}
}

/*
 * Compare a key whose bytes past its slice in the layer at @off (where
 * it equals the target's, both continuing) are the bag entry @bag2, and
 * @klx bytes long from @off, with the target.
 */
static int mst_bag_cmp(const struct masstree_cursor *cur, size_t off,
		       u8 klx, u64 bag2)
{
	unsigned int tc;
	u64 ts;

	/* The key ends in this slice: no target that goes on equals it. */
	mst_target_at(cur, off + 8, &ts, &tc);
	return mst_cmp(bag2, klx - 8, ts, tc);
}

/* The target lies in the layer below (a span's, for mst_span_cmp()). */
#define MST_SPAN_IN	2

/*
 * Compare the keys below span @span, in a slot of the layer at @off whose
 * pair equals the target's there (both continue), with the target: every
 * one of them goes on through each of the span's slices (class
 * MST_CLS_LONG), so they compare as one until a slice differs or the
 * target ends. Returns MST_SPAN_IN when every slice equals the target's
 * and the target goes on past the span; else -1, 0 or 1.
 */
static int mst_span_cmp(const struct masstree_cursor *cur, size_t off,
			const struct mst_span *span)
{
	size_t o, end = off + 8 + span->len;

	for (o = off + 8; o < end; o += 8) {
		unsigned int tc;
		u64 ts;
		int c;

		mst_target_at(cur, o, &ts, &tc);
		c = mst_cmp(get_unaligned_be64(span->data + (o - off - 8)),
			    MST_CLS_LONG, ts, tc);
		if (c || o >= cur->t_off)
			return c;
	}
	return MST_SPAN_IN;
}

/* Compare the key at position @i of @perm with the target. */
static int mst_leaf_cmp(struct mst_leaf *leaf, u64 perm, int i, u64 ts,
			unsigned int tc)
{
	unsigned int s = mst_perm_slot(perm, i);

	return mst_cmp(READ_ONCE(leaf->ikey[s]),
		      mst_klx_cls(READ_ONCE(leaf->keylenx[s])), ts, tc);
}

/*
 * Where a step starts in @perm: the first position at or after the
 * target (the last at or before it in reverse; -1 or the size if none).
 * The keys are in order: try the leaf's first (last) key, the answer
 * when a scan moves on to a leaf, then search.
 */
static int mst_leaf_find(struct mst_leaf *leaf, u64 perm, u64 ts,
			 unsigned int tc, bool rev)
{
	int lo = 0, hi = mst_perm_size(perm);

	if (!hi)
		return rev ? -1 : 0;
	if (!rev && mst_leaf_cmp(leaf, perm, 0, ts, tc) >= 0)
		return 0;
	if (rev && mst_leaf_cmp(leaf, perm, hi - 1, ts, tc) <= 0)
		return hi - 1;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		int c = mst_leaf_cmp(leaf, perm, mid, ts, tc);

		if (rev ? c > 0 : c >= 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return rev ? lo - 1 : lo;
}

/*
 * Copy slot @s of @leaf into snapshot slot @k of @x, with its bag entry
 * if its keylenx says it has one: mst_slot_bag2(), but the leaf's bag read
 * once per snapshot (*@bagp) rather than once per slot.
 */
static __always_inline void mst_snap_slot(struct mst_leaf *leaf,
					  unsigned int s, struct mst_snap *x,
					  unsigned int k, struct mst_bag **bagp)
{
	u8 klx = READ_ONCE(leaf->keylenx[s]);

	x->ikey[k] = READ_ONCE(leaf->ikey[s]);
	x->klx[k] = klx;
	x->lv[k] = rcu_dereference(leaf->lv[s]);
	if (unlikely(mst_klx_in_bag(klx))) {
		if (!*bagp)
			*bagp = rcu_dereference(leaf->bag);
		if (*bagp)
			x->bag2[k] = READ_ONCE((*bagp)->slice[s]);
	}
}

/*
 * Copy up to @max slots of @leaf, listed by @perm, from the first at or
 * after the target (forward) or the last at or before it (reverse), in the
 * step's direction, with the bag entries of those that have one. Only the
 * first copied slot may equal the target.
 */
static void mst_leaf_snap(struct mst_leaf *leaf, u64 perm, u64 ts,
			  unsigned int tc, bool rev, unsigned int max,
			 struct mst_snap *x)
{
	int n = mst_perm_size(perm);
	int i = mst_leaf_find(leaf, perm, ts, tc, rev);
	struct mst_bag *bag = NULL;
	unsigned int k = 0, cnt;
	int end;

	if (!rev) {
		/* Forward, the slot fields shift out one by one. */
		cnt = min_t(unsigned int, n - i, max);
		x->more = i + cnt < n;
		for (perm >>= 4 * i; k < cnt; k++, perm >>= 4)
			mst_snap_slot(leaf, (perm >> 4) & 0xf, x, k, &bag);
	} else {
		end = i >= (int)max ? i - (int)max : -1;
		x->more = end >= 0;
		for (; i > end; k++, i--)
			mst_snap_slot(leaf, mst_perm_slot(perm, i), x, k, &bag);
	}
	x->nr = k;
}

/* Copy the key of snapshot slot @k in the layer at @off into the cursor. */
static int mst_cur_take(struct masstree_cursor *cur, size_t off,
			const struct mst_snap *x, unsigned int k)
{
	unsigned int klx = x->klx[k];
	size_t len = off + (klx <= 8 ? klx : 8);
	const struct mst_suffix *sfx = x->lv[k];
	bool in_bag = mst_klx_in_bag(klx);
	u8 *p = cur->key + off;
	unsigned int i;

	if (in_bag)
		len = off + klx;
	else if (klx == MST_KLX_SUFFIX)
		len += sfx->len;
	if (len > cur->cap) {
		cur->need = len;
		return MST_STEP_GROW;
	}
	/* Bytes past the key's end are scratch: write the slice whole. */
	if (off + 8 <= cur->cap)
		put_unaligned_be64(x->ikey[k], p);
	else
		for (i = 0; i < klx; i++)
			p[i] = x->ikey[k] >> (56 - 8 * i);
	if (in_bag)
		for (i = 0; i < klx - 8; i++)
			p[8 + i] = x->bag2[k] >> (56 - 8 * i);
	else if (klx == MST_KLX_SUFFIX)
		memcpy(p + 8, sfx->data, sfx->len);
	cur->len = len;
	cur->entry = mst_slot_entry(klx, x->lv[k]);
	return MST_STEP_FOUND;
}

static bool mst_bytes_less(const u8 *a, size_t alen, const u8 *b, size_t blen)
{
	int c = memcmp(a, b, min(alen, blen));

	return c ? c < 0 : alen < blen;
}

/* Has the cursor's key left the iteration's bound? */
static bool mst_cur_out(const struct masstree_cursor *cur, bool rev)
{
	if (cur->bound == MST_BOUND_NONE || cur->bound_rev != rev)
		return false;
	if (cur->bound == MST_BOUND_PREFIX)
		return cur->len < cur->end_len ||
		       memcmp(cur->key, cur->end, cur->end_len);
	if (!cur->bound_excl)
		return rev ? mst_bytes_less(cur->key, cur->len, cur->end, cur->end_len) :
			     mst_bytes_less(cur->end, cur->end_len, cur->key, cur->len);
	return rev ? !mst_bytes_less(cur->end, cur->end_len, cur->key, cur->len) :
		     !mst_bytes_less(cur->key, cur->len, cur->end, cur->end_len);
}

/*
 * Copy a key suffix: a short one (the common case, a key of up to 40
 * bytes in one layer) in a few overlapping 8-byte moves, not a call.
 */
static void mst_copy_bytes(u8 *d, const u8 *s, u32 len)
{
	u64 a, b, c, e;

	if (len < 8 || len > 32) {
		memcpy(d, s, len);
		return;
	}
	a = get_unaligned((const u64 *)s);
	e = get_unaligned((const u64 *)(s + len - 8));
	if (len > 16) {
		b = get_unaligned((const u64 *)(s + 8));
		c = get_unaligned((const u64 *)(s + len - 16));
		put_unaligned(b, (u64 *)(d + 8));
		put_unaligned(c, (u64 *)(d + len - 16));
	}
	put_unaligned(a, (u64 *)d);
	put_unaligned(e, (u64 *)(d + len - 8));
}

/* Aim a scan past slot @k of its snapshot, the last key it handed out. */
static void mst_scan_mark(struct masstree_cursor *cur, size_t off,
			  const struct mst_snap *x, int k)
{
	if (k >= 0)
		mst_target_pair(cur, off, x->ikey[k], mst_klx_cls(x->klx[k]), true);
}

/*
 * mst_scan_leaf()'s general loop, for what its hot loop leaves: a bound
 * to check, a buffer to grow, a layer. From *@kp on: returns true with
 * *@kp at the key handed out last and *@rp the callback's answer when the
 * callback said stop or the batch is over; else false with *@kp at the
 * first slot not handed out and *@rp -1 (a layer, or the end),
 * MST_STEP_END (past the bound) or MST_STEP_GROW.
 */
static __always_inline bool mst_scan_keys(struct masstree_cursor *cur,
					  struct mst_scan *sc, bool rev,
					  size_t off, const struct mst_snap *x,
					  unsigned int *kp, int *rp)
{
	unsigned int k;
	int r = -1;

	for (k = *kp; k < x->nr; k++) {
		if (mst_klx_is_layer(x->klx[k]))
			break;
		r = mst_cur_take(cur, off, x, k);
		if (r)
			break;
		if (sc->bounded && mst_cur_out(cur, rev)) {
			r = MST_STEP_END;
			break;
		}
		r = sc->fn(cur->key, cur->len, cur->entry, sc->arg);
		if (r || !--sc->keys) {
			*kp = k;
			*rp = r;
			return true;
		}
		r = -1;
	}
	*kp = k;
	*rp = r;
	return false;
}

/*
 * Hand the keys of snapshot @x, from slot *@kp on, in the layer at @off,
 * to the scan's callback, and aim past the last one. Returns -1 with *@kp
 * at the first slot not handed out (a layer, or the end); else a step
 * result: MST_STEP_FOUND (@sc->ret set, or the batch is over), MST_STEP_END
 * past the bound, MST_STEP_GROW.
 */
static int mst_scan_leaf(struct masstree_cursor *cur, struct mst_scan *sc,
			 bool rev, size_t off, const struct mst_snap *x,
			unsigned int *kp)
{
	masstree_scan_fn fn = sc->fn;
	size_t room = cur->cap - off;
	unsigned int k = *kp, k0 = k, nr = x->nr;
	const u8 *key = cur->key;
	u8 *p = cur->key + off;
	void *arg = sc->arg;
	int r;

	/* The hot loop: no bound to check, the bytes fit, no layer. */
	if (likely(!sc->bounded && room >= 8)) {
		for (; k < nr; k++) {
			unsigned int klx = x->klx[k];
			size_t len = off + klx;
			void *entry = x->lv[k];

			if (klx > 8) {
				struct mst_suffix *sfx = entry;
				u32 sl;

				if (klx != MST_KLX_SUFFIX) {
					if (!mst_klx_in_bag(klx) || room < 16)
						break;
					put_unaligned_be64(x->bag2[k], p + 8);
					goto put;
				}
				sl = sfx->len;
				if (room < 8 + sl)
					break;
				mst_copy_bytes(p + 8, sfx->data, sl);
				len = off + 8 + sl;
				entry = rcu_dereference(sfx->value);
			}
put:
			put_unaligned_be64(x->ikey[k], p);
			r = fn(key, len, entry, arg);
			if (r || !--sc->keys)
				goto stop;
		}
	}
	if (mst_scan_keys(cur, sc, rev, off, x, &k, &r))
		goto stop;
	*kp = k;
	if (k > k0)
		mst_scan_mark(cur, off, x, k - 1);
	return r;
stop:
	/* @fn said stop, or the batch is over: aim past this key. */
	sc->ret = r;
	mst_scan_mark(cur, off, x, k);
	return MST_STEP_FOUND;
}

/* What a step does after a leaf's window. */
#define MST_LEAF_MOVE	(-1)	/* go on at @node, in the same layer */
#define MST_LEAF_LAYER	(-2)	/* enter the layer whose root is @node */
#define MST_LEAF_DONE	(-3)	/* nothing left in the leaf */

/**
 * struct mst_leaf_view - what a step keeps of a leaf's validated window.
 * @node: where to go on, for MST_LEAF_MOVE and MST_LEAF_LAYER.
 * @skip: for MST_LEAF_LAYER, key bytes from the slot's layer to @node's:
 *	8, or 8 plus a span's.
 * @next: the right sibling.
 * @prev: the left sibling.
 * @lowkey: the leaf's lower bound.
 */
struct mst_leaf_view {
	struct mst_node *node;
	size_t skip;
	struct mst_leaf *next;
	struct mst_leaf *prev;
	u64 lowkey;
};

/*
 * Copy leaf @n's slots from the target (@ts, @tc) on into @x, and its
 * links into @lv, then validate against @v and close the window that the
 * caller opened. Returns 0, or MST_LEAF_MOVE with @lv->node where to go
 * on: the same leaf after a change, or its right neighbour if the target
 * moved there.
 */
static __always_inline int mst_cur_snap(struct mst_scan *sc, bool rev,
					struct mst_node *n, unsigned long v,
					u64 ts, unsigned int tc,
					struct mst_leaf_view *lv,
					struct mst_snap *x)
{
	struct mst_leaf *leaf = mst_to_leaf(n);
	u64 perm;

	/* Pairs with the release that published the permutation. */
	perm = smp_load_acquire(&leaf->permutation);
	if (sc)
		mst_hook(MASSTREE_HOOK_SCAN);
	mst_leaf_snap(leaf, perm, ts, tc, rev, sc ? MST_SNAP_MAX : 2, x);
	lv->next = rcu_dereference(leaf->next);
	if (rev) {
		lv->prev = rcu_dereference(leaf->prev);
		lv->lowkey = READ_ONCE(leaf->lowkey);
	}
	mst_hook(MASSTREE_HOOK_READ);
	if (mst_version_changed(n, v)) {
		preempt_enable();
		mst_count(MASSTREE_TC_READ_RETRY);
		lv->node = n;
		return MST_LEAF_MOVE;
	}
	preempt_enable();
	/* Validated: now the pointers may be followed. */
	if (lv->next && ts >= READ_ONCE(lv->next->lowkey)) {
		mst_count(MASSTREE_TC_BLINK);
		lv->node = &lv->next->node;
		return MST_LEAF_MOVE;
	}
	return 0;
}

/*
 * Snapshot slot @k, in the layer at @off, leads to a layer (directly or
 * through a span): aim at that layer's first (last) key. Its prefix is
 * the cursor's bytes up to @off, the slot's slice, then the span's bytes.
 * Returns MST_LEAF_LAYER with @lv->node the layer's root (NULL: from the
 * top) and @lv->skip, or MST_STEP_GROW.
 */
static int mst_cur_enter(struct masstree_cursor *cur, bool rev, size_t off,
			 const struct mst_snap *x, unsigned int k,
			 struct mst_leaf_view *lv)
{
	const struct mst_span *span = x->lv[k];
	struct mst_node *node = NULL;
	size_t skip = 8;

	/*
	 * A validated window shows a span slot with its span; a layer slot's
	 * NULL root (node NULL) sends the step to the top.
	 */
	if (x->klx[k] != MST_KLX_SPAN || !WARN_ON_ONCE(!span))
		node = mst_slot_layer(x->klx[k], x->lv[k], &skip);
	if (off + skip > cur->cap) {
		cur->need = off + skip;
		return MST_STEP_GROW;
	}
	put_unaligned_be64(x->ikey[k], cur->key + off);
	lv->node = node;
	lv->skip = skip;
	if (skip > 8)
		memcpy(cur->key + off + 8, span->data, span->len);
	if (rev)
		mst_target_pair(cur, off + skip, MST_SLICE_MAX, MST_CLS_MAX, false);
	else
		mst_target_pair(cur, off + skip, 0, 0, false);
	return MST_LEAF_LAYER;
}

/*
 * Slot (@klx, @p) of the layer at @off matches the target's pair there and
 * both go on: compare what follows, in the step's direction (-1: before
 * the target, to be skipped). Returns -1, 0 or 1, or MST_LEAF_LAYER with
 * @lv set when the target lies in the layer the slot leads to.
 */
static int mst_cur_cont(const struct masstree_cursor *cur, bool rev,
			size_t off, u8 klx, void *p, u64 bag2,
			struct mst_leaf_view *lv)
{
	int c;

	if (klx == MST_KLX_LAYER)	/* the target is down there */
		c = MST_SPAN_IN;
	else if (mst_klx_in_bag(klx))
		c = mst_bag_cmp(cur, off, klx, bag2);
	/* A validated window shows a slot's class and pointer together. */
	else if (klx < MST_KLX_SUFFIX || WARN_ON_ONCE(!p))
		return -1;
	else if (klx == MST_KLX_SUFFIX)
		c = mst_suffix_cmp(cur, off, p);
	else
		c = mst_span_cmp(cur, off, p);
	if (c != MST_SPAN_IN)
		return rev ? -c : c;
	lv->node = mst_slot_layer(klx, p, &lv->skip);
	return MST_LEAF_LAYER;
}

/*
 * Only the snapshot's first slot may be at the target (@ts, @tc): is it
 * to be skipped (1) or not (0)? Returns MST_LEAF_LAYER, with @lv->node
 * the layer's root, when the target lies inside the layer that slot is.
 */
static __always_inline int mst_cur_first(struct masstree_cursor *cur,
					 bool rev, size_t off,
					 const struct mst_snap *x, u64 ts,
					 unsigned int tc,
					 struct mst_leaf_view *lv)
{
	int c;

	if (!x->nr)
		return 0;
	c = mst_cmp(x->ikey[0], mst_klx_cls(x->klx[0]), ts, tc);
	if (rev)
		c = -c;
	if (c == 0 && off < cur->t_off) {
		/* Both continue: compare on, or the target is in there. */
		c = mst_cur_cont(cur, rev, off, x->klx[0], x->lv[0], x->bag2[0],
				 lv);
		if (c == MST_LEAF_LAYER)
			return c;
	}
	return c < 0 || (c == 0 && cur->t_strict);
}

/* Snapshot slot @k is the step's: a cursor's key, or a layer to enter. */
static __always_inline int mst_cur_slot(struct masstree_cursor *cur, bool rev,
					size_t off, const struct mst_snap *x,
					unsigned int k,
					struct mst_leaf_view *lv)
{
	if (!mst_klx_is_layer(x->klx[k]))
		return mst_cur_take(cur, off, x, k);
	return mst_cur_enter(cur, rev, off, x, k, lv);
}

/*
 * A step's visit to leaf @n, whose stable version @v the caller took with
 * preemption disabled: snapshot the slots from the target on, validate,
 * close the window, then take the first key (a cursor) or hand the
 * snapshot's keys out (a scan). A scan goes on by itself to the rest of
 * the leaf and to the next leaf while they are plain live leaves. Its own
 * frame holds the snapshot. Returns a step result or MST_LEAF_*.
 */
static noinline int mst_cur_leaf(struct masstree_cursor *cur,
				 struct mst_scan *sc, bool rev, size_t off,
				struct mst_node *n, unsigned long v,
				struct mst_leaf_view *lv)
{
	struct mst_snap x;
	unsigned int tc, k;
	u64 ts;
	int c;

	for (;;) {
		mst_target_at(cur, off, &ts, &tc);
		c = mst_cur_snap(sc, rev, n, v, ts, tc, lv, &x);
		if (c)
			return c;
		c = mst_cur_first(cur, rev, off, &x, ts, tc, lv);
		if (c < 0)
			return c;
		k = c;
		if (sc) {
			c = mst_scan_leaf(cur, sc, rev, off, &x, &k);
			if (c >= 0)
				return c;
		}
		if (k < x.nr)
			return mst_cur_slot(cur, rev, off, &x, k, lv);
		if (!sc)
			return MST_LEAF_DONE;
		/*
		 * A batch that handed out keys ends after a few leaves too: one
		 * that did not must go on, or the next would redo it.
		 */
		if (++sc->leaves >= MST_SCAN_LEAVES && sc->keys < MST_SCAN_KEYS)
			return MST_STEP_FOUND;
		/*
		 * Go on in the rest of this leaf, or forward in the next one,
		 * while it is a live leaf; anything else goes back to
		 * mst_cur_step().
		 */
		if (!x.more && (rev || !lv->next))
			return MST_LEAF_DONE;
		lv->node = x.more ? n : &lv->next->node;
		n = lv->node;
		preempt_disable();
		v = mst_stable_version(n);
		if ((v & (MST_V_DELETED | MST_V_LEAF)) != MST_V_LEAF) {
			preempt_enable();
			return MST_LEAF_MOVE;
		}
	}
}

/*
 * Nothing left in the leaf in the step's direction: aim past it, and say
 * where to go on in *@np (NULL: from the top), with *@lroot and *@off the
 * layer there. Returns MST_STEP_END past the map's last key in the step's
 * direction, else 0.
 */
static __always_inline int mst_cur_past(struct masstree_cursor *cur, bool rev,
					const struct mst_leaf_view *lv,
					struct mst_node **np,
					struct mst_node **lroot, size_t *off)
{
	struct mst_node *up;
	unsigned int tc;
	size_t skip;
	u64 ts;

	if (!rev && lv->next) {
		*np = &lv->next->node;
		return 0;
	}
	/* The target moved if keys went out: it is still in here. */
	mst_target_at(cur, *off, &ts, &tc);
	if (rev && lv->prev && lv->lowkey && lv->lowkey <= ts) {
		/* Lower bounds only decrease: go below this one. */
		mst_target_pair(cur, *off, lv->lowkey - 1, MST_CLS_MAX, false);
		*np = *lroot;
		return 0;
	}
	/*
	 * The layer is exhausted: go past (before) its prefix, from the root
	 * of the layer above, so that climbing out of a deep chain of layers
	 * costs one layer per level, not a descent from the top. A deleted
	 * root sends the walk to the top. Below a span, the target stays
	 * "past the prefix" (its last slice lies inside the span), not "past
	 * the span's slot": a key inserted meanwhile that leaves the span
	 * (splitting it) above the prefix is still ahead. A parent read just
	 * before such a split names the layer above the old span, still on
	 * the prefix's path.
	 */
	if (!*off)
		return MST_STEP_END;
	mst_target_pair(cur, *off - 8, get_unaligned_be64(cur->key + *off - 8),
			MST_CLS_LONG, true);
	up = mst_layer_up(rcu_dereference((*lroot)->parent), &skip);
	if (up && WARN_ON_ONCE(skip > *off))
		up = NULL;
	*np = up;
	if (up) {
		*lroot = up;
		*off -= skip;
	}
	return 0;
}

/*
 * Find the first key after the target (last before it in reverse) and
 * copy it into the cursor. Iterative; restarts from the root on a deleted
 * node.
 *
 * With @sc (masstree_scan()), go on: hand each key to @sc->fn and move
 * on through the snapshot of its leaf, then to the next leaf through the
 * validated next pointer (the B-link rule applies there as after a
 * descent), until the batch's budget is spent. The target always says
 * where the scan is, so the next batch, or a restart, re-descends to it.
 *
 * Context: RCU read lock held.
 */
static int mst_cur_step(struct masstree_cursor *cur, bool rev,
			struct mst_scan *sc)
{
	struct mst_node *n, *lroot;
	struct mst_leaf_view lv;
	size_t off;

restart:
	n = rcu_dereference(cur->mt->root);
	lroot = n;
	off = 0;
	if (!n)
		return MST_STEP_END;
	for (;;) {
		unsigned long v;
		unsigned int tc;
		u64 ts;
		int r;

		preempt_disable();
		v = mst_stable_version(n);
		/* Down to the leaf in one window, as mst_walk() goes. */
		while ((v & (MST_V_DELETED | MST_V_LEAF)) == 0) {
			struct mst_node *child;
			unsigned long cv;

			mst_target_at(cur, off, &ts, &tc);
			child = mst_read_child(n, v, ts, &cv);
			if (child) {
				n = child;
				v = cv;
			} else {
				v = mst_stable_version(n);
			}
		}
		if (v & MST_V_DELETED) {
			preempt_enable();
			mst_count(MASSTREE_TC_LAYER_RETRY);
			goto restart;
		}
		r = mst_cur_leaf(cur, sc, rev, off, n, v, &lv);
		if (r == MST_LEAF_MOVE) {
			n = lv.node;
			continue;
		}
		if (r == MST_LEAF_LAYER) {
			/* Into the layer; a NULL root sends the walk to the top. */
			n = lv.node;
			if (!n)
				goto restart;
			lroot = n;
			off += lv.skip;
			continue;
		}
		if (r != MST_LEAF_DONE)
			return r;
		if (mst_cur_past(cur, rev, &lv, &n, &lroot, &off))
			return MST_STEP_END;
		if (!n)
			goto restart;
	}
}

static int mst_cur_grow(struct masstree_cursor *cur, size_t need)
{
	size_t cap = 2 * (size_t)cur->cap;
	u8 *buf;

	if (cap < need)
		cap = need;
	if (cap > MST_CUR_MAX_CAP)
		cap = MST_CUR_MAX_CAP;
	if (WARN_ON_ONCE(need > cap))
		return -EINVAL;
	buf = mst_fail_alloc(MST_FAIL_CURSOR) ? NULL : kmalloc(cap, cur->gfp);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, cur->key, cur->cap);
	if (cur->key != cur->ibuf)
		kfree(cur->key);
	cur->key = buf;
	cur->cap = cap;
	return 0;
}

static void *mst_cur_fail(struct masstree_cursor *cur, int err)
{
	cur->err = err;
	cur->state = MST_CUR_ERR;
	cur->entry = NULL;
	return NULL;
}

/*
 * Step under the RCU read lock, which the caller holds. Returns
 * MST_STEP_FOUND (the key in bounds), MST_STEP_END, or MST_STEP_GROW.
 */
static int mst_cur_step_rcu(struct masstree_cursor *cur, bool rev)
{
	int r = mst_cur_step(cur, rev, NULL);

	if (r == MST_STEP_FOUND && mst_cur_out(cur, rev))
		r = MST_STEP_END;
	if (r == MST_STEP_FOUND)
		cur->state = MST_CUR_VALID;
	else if (r == MST_STEP_END)
		cur->state = MST_CUR_END;
	return r;
}

/* Run a step from the cursor's target, growing the buffer as asked. */
static void *mst_cur_run(struct masstree_cursor *cur, bool rev)
{
	void *entry;
	int r;

	for (;;) {
		rcu_read_lock();
		r = mst_cur_step_rcu(cur, rev);
		entry = cur->entry;
		rcu_read_unlock();
		if (r == MST_STEP_FOUND)
			return entry;
		if (r == MST_STEP_END) {
			cur->entry = NULL;
			return NULL;
		}
		r = mst_cur_grow(cur, cur->need);
		if (r)
			return mst_cur_fail(cur, r);
	}
}

/* Copy @len bytes into the cursor's buffer, growing it first. */
static int mst_cur_load(struct masstree_cursor *cur, const void *key,
			size_t len)
{
	int err;

	if (len > MASSTREE_MAX_KEY_LEN)
		return -EINVAL;
	if (len + 8 > cur->cap) {
		err = mst_cur_grow(cur, len + 8);
		if (err)
			return err;
	}
	if (len)
		memcpy(cur->key, key, len);
	return 0;
}

/* A cursor made by MASSTREE_CURSOR() starts with its inline buffer. */
static void mst_cur_prepare(struct masstree_cursor *cur)
{
	if (!cur->key) {
		cur->key = cur->ibuf;
		cur->cap = MASSTREE_CURSOR_INLINE;
	}
}

/* Aim at the start of a range and set its bound; see masstree_seek_range(). */
static int mst_cur_setup(struct masstree_cursor *cur, const void *start,
			 size_t start_len, const void *end, size_t end_len,
			unsigned int flags)
{
	bool rev = flags & MASSTREE_SCAN_REVERSE;
	int err;

	mst_cur_prepare(cur);
	cur->err = 0;
	cur->bound = MST_BOUND_NONE;
	if (!(flags & MASSTREE_SCAN_NO_END)) {
		if (end_len > MASSTREE_MAX_KEY_LEN)
			return -EINVAL;
		cur->bound = MST_BOUND_KEY;
		cur->bound_rev = rev;
		cur->bound_excl = flags & MASSTREE_SCAN_END_EXCL;
		cur->end = end;
		cur->end_len = end_len;
	}
	if (flags & MASSTREE_SCAN_NO_START) {
		if (rev)
			mst_target_pair(cur, 0, MST_SLICE_MAX, MST_CLS_MAX, false);
		else
			mst_target_pair(cur, 0, 0, 0, false);
		return 0;
	}
	err = mst_cur_load(cur, start, start_len);
	if (err)
		return err;
	mst_target_key(cur, start_len, flags & MASSTREE_SCAN_START_EXCL);
	return 0;
}

/**
 * masstree_cursor_init() - set up a cursor on a map.
 * @cur: the cursor.
 * @mt: the map.
 * @gfp: allocation flags for growing the key buffer past
 *	%MASSTREE_CURSOR_INLINE bytes; the buffer is grown outside the RCU
 *	read lock the cursor takes, but a caller that steps the cursor under
 *	its own lock must pass flags that do not sleep.
 *
 * Context: Any context.
 */
void masstree_cursor_init(struct masstree_cursor *cur, struct masstree *mt,
			  gfp_t gfp)
{
	memset(cur, 0, sizeof(*cur));
	cur->mt = mt;
	cur->key = cur->ibuf;
	cur->cap = MASSTREE_CURSOR_INLINE;
	cur->gfp = gfp;
}
EXPORT_SYMBOL_GPL(masstree_cursor_init);

/**
 * masstree_cursor_fini() - release a cursor's key buffer.
 * @cur: the cursor.
 *
 * The cursor may be set up again with masstree_cursor_init().
 *
 * Context: Any context.
 */
void masstree_cursor_fini(struct masstree_cursor *cur)
{
	mst_cur_prepare(cur);
	if (cur->key != cur->ibuf)
		kfree(cur->key);
	cur->key = cur->ibuf;
	cur->cap = MASSTREE_CURSOR_INLINE;
	cur->len = 0;
	cur->entry = NULL;
	cur->state = MST_CUR_NONE;
}
EXPORT_SYMBOL_GPL(masstree_cursor_fini);

/**
 * masstree_seek_range() - position a cursor at the start of a range.
 * @cur: the cursor.
 * @start: where to start: the first key >= @start (<= @start with
 *	%MASSTREE_SCAN_REVERSE); ignored with %MASSTREE_SCAN_NO_START.
 * @start_len: its length.
 * @end: where masstree_next() (masstree_prev() in reverse) stops: after
 *	the last key <= @end (before the first key >= @end in reverse).
 *	Ignored with %MASSTREE_SCAN_NO_END; else the bytes must stay valid
 *	until the iteration ends.
 * @end_len: its length.
 * @flags: ``MASSTREE_SCAN_*`` flags.
 *
 * Clears @cur->err. The returned key was present with the entry at some
 * moment during the call; see struct masstree_cursor for the semantics
 * of the steps that follow.
 *
 * Context: Any context but NMI; takes and releases the RCU read lock. May
 * sleep if the cursor's gfp allows, to grow its key buffer.
 * Return: the entry of the first key of the range, or NULL if the range
 * is empty or on error (@cur->err set: -EINVAL for a key longer than
 * %MASSTREE_MAX_KEY_LEN, -ENOMEM).
 */
void *masstree_seek_range(struct masstree_cursor *cur, const void *start,
			  size_t start_len, const void *end, size_t end_len,
			  unsigned int flags)
{
	int err = mst_cur_setup(cur, start, start_len, end, end_len, flags);

	if (err)
		return mst_cur_fail(cur, err);
	return mst_cur_run(cur, flags & MASSTREE_SCAN_REVERSE);
}
EXPORT_SYMBOL_GPL(masstree_seek_range);

/**
 * masstree_seek() - move a cursor to the first key >= @key.
 * @cur: the cursor.
 * @key: the key.
 * @len: its length.
 *
 * Removes any end bound; clears @cur->err.
 *
 * Context: Any context but NMI; takes and releases the RCU read lock. May
 * sleep if the cursor's gfp allows.
 * Return: that key's entry, or NULL if there is none or on error
 * (@cur->err).
 */
void *masstree_seek(struct masstree_cursor *cur, const void *key, size_t len)
{
	return masstree_seek_range(cur, key, len, NULL, 0, MASSTREE_SCAN_NO_END);
}
EXPORT_SYMBOL_GPL(masstree_seek);

/**
 * masstree_seek_rev() - move a cursor to the last key <= @key.
 * @cur: the cursor.
 * @key: the key.
 * @len: its length.
 *
 * Removes any end bound; clears @cur->err.
 *
 * Context: Any context but NMI; takes and releases the RCU read lock. May
 * sleep if the cursor's gfp allows.
 * Return: that key's entry, or NULL if there is none or on error
 * (@cur->err).
 */
void *masstree_seek_rev(struct masstree_cursor *cur, const void *key,
			size_t len)
{
	return masstree_seek_range(cur, key, len, NULL, 0,
				   MASSTREE_SCAN_NO_END | MASSTREE_SCAN_REVERSE);
}
EXPORT_SYMBOL_GPL(masstree_seek_rev);

/**
 * masstree_first() - move a cursor to the smallest key.
 * @cur: the cursor.
 *
 * Context: Any context but NMI; takes and releases the RCU read lock.
 * Return: its entry, or NULL if the map is empty.
 */
void *masstree_first(struct masstree_cursor *cur)
{
	return masstree_seek_range(cur, NULL, 0, NULL, 0,
				   MASSTREE_SCAN_NO_START | MASSTREE_SCAN_NO_END);
}
EXPORT_SYMBOL_GPL(masstree_first);

/**
 * masstree_last() - move a cursor to the largest key.
 * @cur: the cursor.
 *
 * Context: Any context but NMI; takes and releases the RCU read lock. May
 * sleep if the cursor's gfp allows.
 * Return: its entry, or NULL if the map is empty or on error (@cur->err).
 */
void *masstree_last(struct masstree_cursor *cur)
{
	return masstree_seek_range(cur, NULL, 0, NULL, 0,
				   MASSTREE_SCAN_NO_START | MASSTREE_SCAN_NO_END |
				   MASSTREE_SCAN_REVERSE);
}
EXPORT_SYMBOL_GPL(masstree_last);

/**
 * masstree_seek_prefix() - move a cursor to the first key starting with
 *	@prefix, and end the iteration after the last one.
 * @cur: the cursor.
 * @prefix: the prefix; its bytes must stay valid until the iteration ends.
 * @len: its length; 0 matches every key.
 * @flags: 0, or %MASSTREE_SCAN_REVERSE to start at the last such key and
 *	go on with masstree_prev().
 *
 * Context: Any context but NMI; takes and releases the RCU read lock. May
 * sleep if the cursor's gfp allows.
 * Return: the entry, or NULL if no key has the prefix or on error
 * (@cur->err).
 */
void *masstree_seek_prefix(struct masstree_cursor *cur, const void *prefix,
			   size_t len, unsigned int flags)
{
	bool rev = flags & MASSTREE_SCAN_REVERSE;
	size_t off, r;
	u64 s;
	int err;

	mst_cur_prepare(cur);
	cur->err = 0;
	err = mst_cur_load(cur, prefix, len);
	if (err)
		return mst_cur_fail(cur, err);
	cur->bound = MST_BOUND_PREFIX;
	cur->bound_rev = rev;
	cur->end = prefix;
	cur->end_len = len;
	if (!rev) {
		mst_target_key(cur, len, false);
	} else if (len && !(len % 8)) {
		/* The prefix itself, then everything that continues it. */
		off = len - 8;
		mst_target_pair(cur, off, get_unaligned_be64(cur->key + off),
				MST_CLS_LONG, false);
	} else {
		/* Every slice that starts with the prefix's last bytes. */
		off = (len / 8) * 8;
		r = len - off;
		s = mst_slice(cur->key, len, off);
		mst_target_pair(cur, off, s | (r ? MST_SLICE_MAX >> (8 * r) : MST_SLICE_MAX),
				MST_CLS_MAX, false);
	}
	return mst_cur_run(cur, rev);
}
EXPORT_SYMBOL_GPL(masstree_seek_prefix);

/*
 * Aim after (before) the cursor's key. A cursor that has not started
 * starts at the first (last) key.
 */
static bool mst_cur_from_key(struct masstree_cursor *cur, bool rev)
{
	mst_cur_prepare(cur);
	if (cur->state == MST_CUR_NONE) {
		cur->bound = MST_BOUND_NONE;
		if (rev)
			mst_target_pair(cur, 0, MST_SLICE_MAX, MST_CLS_MAX, false);
		else
			mst_target_pair(cur, 0, 0, 0, false);
		return true;
	}
	if (cur->state != MST_CUR_VALID)
		return false;
	mst_target_key(cur, cur->len, true);
	return true;
}

/**
 * masstree_next() - move a cursor to the next key.
 * @cur: the cursor.
 *
 * Continues after the key the cursor returned last, even if that key was
 * erased meanwhile and wherever the tree moved. The cursor holds nothing
 * between calls, so the caller may sleep between them. A cursor past the
 * end stays there; one never positioned starts at the first key.
 *
 * Context: Any context but NMI; takes and releases the RCU read lock. May
 * sleep if the cursor's gfp allows. The entry may be erased and freed once
 * the call returns, as for masstree_load().
 * Return: the entry of the smallest key greater than the cursor's, or
 * NULL at the end of the map or range, or on error (@cur->err).
 */
void *masstree_next(struct masstree_cursor *cur)
{
	if (!mst_cur_from_key(cur, false))
		return NULL;
	return mst_cur_run(cur, false);
}
EXPORT_SYMBOL_GPL(masstree_next);

/**
 * masstree_prev() - move a cursor to the previous key.
 * @cur: the cursor.
 *
 * The mirror of masstree_next().
 *
 * Context: Any context but NMI; takes and releases the RCU read lock. May
 * sleep if the cursor's gfp allows.
 * Return: the entry of the largest key less than the cursor's, or NULL at
 * the start of the map or range, or on error (@cur->err).
 */
void *masstree_prev(struct masstree_cursor *cur)
{
	if (!mst_cur_from_key(cur, true))
		return NULL;
	return mst_cur_run(cur, true);
}
EXPORT_SYMBOL_GPL(masstree_prev);

/**
 * masstree_scan() - call a function for each key of a range, in order.
 * @mt: the map.
 * @start: where to start (see masstree_seek_range()); ignored with
 *	%MASSTREE_SCAN_NO_START.
 * @start_len: its length.
 * @end: where to stop; ignored with %MASSTREE_SCAN_NO_END.
 * @end_len: its length.
 * @flags: ``MASSTREE_SCAN_*`` flags: reverse order, exclusive bounds, no
 *	bound. The empty key is a valid key, so there is no sentinel: say
 *	"no bound" with the flags.
 * @fn: called for each key with the key, its length, its entry and @arg,
 *	under the RCU read lock: it must not sleep. A non-zero return stops
 *	the scan.
 * @arg: passed to @fn.
 *
 * Keys are handed to @fn in batches, each under an RCU read-side critical
 * section of its own (a bounded number of keys and leaves), so a long scan
 * does not hold up grace periods; the semantics are those of struct
 * masstree_cursor. Keys of any length work: the key
 * buffer starts on the stack and grows with GFP_KERNEL, which is why
 * there is no gfp argument: callers in atomic context use a cursor set up
 * with masstree_cursor_init() and non-sleeping flags instead.
 *
 * Context: Process context (may sleep, between calls of @fn, to grow the
 * key buffer with GFP_KERNEL); not under a spinlock or the RCU read lock.
 * Return: 0 once the range is done, the first non-zero value @fn
 * returned, -EINVAL for a bound longer than %MASSTREE_MAX_KEY_LEN, or
 * -ENOMEM.
 */
int masstree_scan(struct masstree *mt, const void *start, size_t start_len,
		  const void *end, size_t end_len, unsigned int flags,
		  masstree_scan_fn fn, void *arg)
{
	bool rev = flags & MASSTREE_SCAN_REVERSE;
	struct mst_scan sc = { .fn = fn, .arg = arg };
	struct masstree_cursor cur;
	int ret, r;

	might_sleep();
	masstree_cursor_init(&cur, mt, GFP_KERNEL);
	ret = mst_cur_setup(&cur, start, start_len, end, end_len, flags);
	sc.bounded = cur.bound != MST_BOUND_NONE;
	while (!ret) {
		sc.ret = 0;
		sc.keys = MST_SCAN_KEYS;
		sc.leaves = 0;
		rcu_read_lock();
		r = mst_cur_step(&cur, rev, &sc);
		rcu_read_unlock();
		if (r == MST_STEP_GROW) {
			ret = mst_cur_grow(&cur, cur.need);
			continue;
		}
		if (r != MST_STEP_FOUND)
			break;
		ret = sc.ret;
		cond_resched();
	}
	masstree_cursor_fini(&cur);
	return ret;
}
EXPORT_SYMBOL_GPL(masstree_scan);
