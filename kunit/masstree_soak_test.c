// SPDX-License-Identifier: GPL-2.0
/*
 * A soak of mixed concurrent operations, every result checked: kthreads
 * insert, store, cmpxchg, erase, load, step cursors (seek, next, prev,
 * for_each) and scan (masstree_scan) on one map, in keys of five shapes,
 * two of them with long shared prefixes (layers four and six deep).
 *
 * Each thread owns a disjoint range of keys in every shape and checks
 * every answer there exactly against its own model, cursor steps and
 * scans included: they must return exactly its present keys, in order,
 * with their entries, even while the other threads write around them. A
 * small shared range in every shape is written by all threads at once;
 * there each entry carries its writer and a sequence number, and a thread
 * that finds an entry of its own must find its own last write (never an
 * older one), and one of another thread must have been written already.
 * A scan of a whole shape must be strictly increasing and see the
 * thread's own keys exactly.
 *
 * The operations run in chunks (one KUnit parameter each, so that no case
 * runs into KUnit's timeout or the hung-task detector), each chunk on a
 * fresh map in phases; between phases, with no thread running, every key
 * is loaded and compared with its model, masstree_validate() recounts the
 * statistics, a cursor walk counts the keys and the byte count must be
 * the nodes' and suffixes'. At the end of a chunk every key is erased:
 * the map is empty and every node given back.
 *
 * Module parameters: ops (total operations, default short for make
 * check), chunk_ops, threads, seed. make soak loads it with ops=10000000.
 * An operation is one call into the map: a cursor step counts as one, a
 * masstree_scan() call as one however many keys it visits.
 */
#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/masstree.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/prandom.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "internal.h"
#include "masstree_test.h"

/*
 * The defaults take a few seconds under KASAN and TCG (make check); its
 * KCSAN stage has a smaller budget.
 */
static unsigned long ops = IS_ENABLED(CONFIG_KCSAN) ? 4000 : 24000;
module_param(ops, ulong, 0444);
MODULE_PARM_DESC(ops, "operations in all, split across chunks and threads (default 24000, 4000 on KCSAN)");

/*
 * A chunk is one KUnit parameter: it must finish well within KUnit's
 * five-minute case timeout and the two-minute hung-task detector that
 * watches the waiting insmod.
 */
static unsigned long chunk_ops = IS_ENABLED(CONFIG_KCSAN) ? 2000 : 12000;
module_param(chunk_ops, ulong, 0444);
MODULE_PARM_DESC(chunk_ops, "operations per chunk, one fresh map each (default 12000, 2000 on KCSAN)");

static unsigned int threads = 4;
module_param(threads, uint, 0444);
MODULE_PARM_DESC(threads, "kthreads (default 4, at most 16)");

static unsigned long seed = 1;
module_param(seed, ulong, 0444);
MODULE_PARM_DESC(seed, "random seed (default 1)");

#define SK_MAX_THREADS	16
#define SK_SHAPES	5
/* Keys each thread owns in each shape, and shared keys per shape. */
#define SK_NIDX		192
#define SK_NSHARED	24
/* The thread byte of the shared keys. */
#define SK_SHARED	0xff
#define SK_KLEN		80
/* Quiescent checks per chunk. */
#define SK_PHASES	4
/* An entry's value: writer (id + 1) above SK_SEQ_BITS, sequence below. */
#define SK_SEQ_BITS	40
#define SK_SEQ_MASK	((1ULL << SK_SEQ_BITS) - 1)
/* Wrong answers reported in full per thread; the rest are only counted. */
#define SK_REPORT	5

/**
 * struct sk_shape - a key shape: prefix, thread byte, index, tail.
 * @plen: bytes of the shape's prefix: its letter, then @fill.
 * @fill: the prefix's filler byte.
 * @tail: bytes of tail after the index.
 * @vary: add 0, 5 or 10 tail bytes by index (keys end in different slices).
 */
struct sk_shape {
	u8 plen;
	u8 fill;
	u8 tail;
	bool vary;
};

static const struct sk_shape sk_shapes[SK_SHAPES] = {
	{ 1, 0, 0, false },	/* 4 bytes: inside one slice */
	{ 5, '.', 0, false },	/* 8 bytes: exactly one slice */
	{ 3, ':', 8, true },	/* 14-24 bytes: a suffix */
	{ 18, '/', 3, false },	/* 24 bytes: two shared slices, layers */
	{ 41, '-', 12, true },	/* 56-66 bytes: five shared slices, deep */
};

enum sk_kind {
	SK_LOAD, SK_INSERT, SK_STORE, SK_CMPXCHG, SK_ERASE, SK_STEP,
	SK_SCAN, SK_NKINDS
};

static const char *const sk_kind_name[SK_NKINDS] = {
	"load", "insert", "store", "cmpxchg", "erase", "cursor", "scan",
};

struct sk_ctx;

/**
 * struct sk_thread - one kthread and its model.
 * @ctx: the chunk.
 * @id: 0..threads-1; its keys have thread byte @id.
 * @task: the kthread of the current phase.
 * @rnd: its random state.
 * @seq: its last sequence number (published in @ctx->pub[@id]).
 * @own: per shape and index, the value of its key, 0 when absent.
 * @last: per shared key, its own last write there, 0 if none or erased.
 * @target: operations to reach by the end of the phase.
 * @n: operations done, by kind.
 * @errors: wrong answers.
 * @cur: its cursor.
 * @kb: key buffer.
 */
struct sk_thread {
	struct sk_ctx *ctx;
	unsigned int id;
	struct task_struct *task;
	struct rnd_state rnd;
	u64 seq;
	u64 own[SK_SHAPES][SK_NIDX];
	u64 last[SK_SHAPES][SK_NSHARED];
	unsigned long target;
	unsigned long n[SK_NKINDS];
	unsigned long errors;
	struct masstree_cursor cur;
	u8 kb[SK_KLEN];
};

/**
 * struct sk_ctx - a chunk.
 * @mt: its map.
 * @nthreads: threads running.
 * @chunk: its number.
 * @running: threads still running in this phase.
 * @done: completed by the last thread of a phase.
 * @pub: per thread, its last sequence number, set before it writes.
 * @t: the threads.
 */
struct sk_ctx {
	struct masstree *mt;
	unsigned int nthreads;
	unsigned long chunk;
	atomic_t running;
	struct completion done;
	atomic64_t pub[SK_MAX_THREADS];
	struct sk_thread *t[SK_MAX_THREADS];
};

/* Totals over the chunks of this load of the module. */
static atomic64_t sk_total_ops;
static atomic64_t sk_total_ns;

static __printf(2, 3) void sk_err(struct sk_thread *t, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	if (t->errors++ >= SK_REPORT)
		return;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_err("masstree_soak: chunk %lu thread %u: %pV\n", t->ctx->chunk,
	       t->id, &vaf);
	va_end(args);
}

/* Key @idx of thread byte @tid in shape @s; returns its length. */
static u32 sk_key(u8 *b, unsigned int s, unsigned int tid, unsigned int idx)
{
	const struct sk_shape *sh = &sk_shapes[s];
	u32 n = sh->plen, tail = sh->tail + (sh->vary ? (idx % 3) * 5 : 0);

	b[0] = 'a' + s;
	memset(b + 1, sh->fill, n - 1);
	b[n] = tid;
	b[n + 1] = idx >> 8;
	b[n + 2] = idx;
	memset(b + n + 3, 't', tail);
	return n + 3 + tail;
}

/* Is @key a key of shape @s? Its thread byte and index in *@tid, *@idx. */
static bool sk_parse(const struct sk_ctx *ctx, unsigned int s, const u8 *key,
		     size_t len, unsigned int *tid, unsigned int *idx)
{
	u32 n = sk_shapes[s].plen;
	u8 b[SK_KLEN];

	if (len < n + 3 || len > SK_KLEN)
		return false;
	*tid = key[n];
	*idx = key[n + 1] << 8 | key[n + 2];
	if (*tid == SK_SHARED ? *idx >= SK_NSHARED :
	    *tid >= ctx->nthreads || *idx >= SK_NIDX)
		return false;
	return sk_key(b, s, *tid, *idx) == len && !memcmp(b, key, len);
}

static void *sk_entry(u64 v)
{
	return mtt_entry(v);
}

/* A fresh value of thread @t, published before anyone can see it. */
static u64 sk_next_value(struct sk_thread *t)
{
	t->seq++;
	atomic64_set(&t->ctx->pub[t->id], t->seq);
	return (u64)(t->id + 1) << SK_SEQ_BITS | t->seq;
}

/*
 * May thread @t see @e at shared key @k of shape @s? NULL, an entry of
 * another thread that it has already written, or @t's own last write.
 */
static bool sk_shared_ok(struct sk_thread *t, unsigned int s, unsigned int k,
			 const void *e)
{
	u64 v, w, seq;

	if (!e)
		return true;
	if (masstree_is_err(e) || ((unsigned long)e & 3) != 1)
		return false;
	v = mtt_entry_value(e);
	w = v >> SK_SEQ_BITS;
	seq = v & SK_SEQ_MASK;
	if (w == t->id + 1)
		return v == t->last[s][k];
	if (!w || w > t->ctx->nthreads || !seq)
		return false;
	/* The entry was read first: its writer published seq before it. */
	smp_rmb();
	return seq <= atomic64_read(&t->ctx->pub[w - 1]);
}

/* The next index >= @i (dir 1) or <= @i (dir -1) present in @own, or -1. */
static int sk_present(const u64 *own, int i, int dir)
{
	for (; i >= 0 && i < SK_NIDX; i += dir)
		if (own[i])
			return i;
	return -1;
}

static unsigned long sk_count(const u64 *own)
{
	unsigned long n = 0;
	int i;

	for (i = 0; i < SK_NIDX; i++)
		n += !!own[i];
	return n;
}

/* One write on an owned key, checked exactly. */
static void sk_own_write(struct sk_thread *t, unsigned int s, unsigned int i,
			 unsigned int r)
{
	struct masstree *mt = t->ctx->mt;
	u64 *m = &t->own[s][i], v;
	u32 len = sk_key(t->kb, s, t->id, i);
	void *old, *got;
	int err;

	if (r < 30) {
		v = sk_next_value(t);
		err = masstree_insert(mt, t->kb, len, sk_entry(v), GFP_KERNEL);
		t->n[SK_INSERT]++;
		if (err != (*m ? -EEXIST : 0))
			sk_err(t, "insert shape %u idx %u: %d, model %llx", s, i, err, *m);
		if (!err)
			*m = v;
	} else if (r < 50) {
		/* One store in eight stores NULL: an erase. */
		v = r < 47 ? sk_next_value(t) : 0;
		got = masstree_store(mt, t->kb, len, v ? sk_entry(v) : NULL,
				     GFP_KERNEL);
		t->n[SK_STORE]++;
		if (got != (*m ? sk_entry(*m) : NULL))
			sk_err(t, "store shape %u idx %u: old %lx, model %llx",
			       s, i, (unsigned long)got, *m);
		*m = v;
	} else if (r < 75) {
		/*
		 * Half of them with the right old entry (NULL when absent: an
		 * insert; NULL as new: an erase), half with a wrong one.
		 */
		bool right = r < 63;

		old = *m ? sk_entry(*m) : NULL;
		if (!right)
			old = *m ? NULL : sk_entry(SK_SEQ_MASK);
		v = r % 6 ? sk_next_value(t) : 0;
		if (!v && !old)
			v = sk_next_value(t);
		got = masstree_cmpxchg(mt, t->kb, len, old, v ? sk_entry(v) : NULL,
				       GFP_KERNEL);
		t->n[SK_CMPXCHG]++;
		if (got != (*m ? sk_entry(*m) : NULL))
			sk_err(t, "cmpxchg shape %u idx %u (%s old): %lx, model %llx",
			       s, i, right ? "right" : "wrong",
			       (unsigned long)got, *m);
		else if (right)
			*m = v;
	} else {
		got = masstree_erase(mt, t->kb, len);
		t->n[SK_ERASE]++;
		if (got != (*m ? sk_entry(*m) : NULL))
			sk_err(t, "erase shape %u idx %u: %lx, model %llx",
			       s, i, (unsigned long)got, *m);
		*m = 0;
	}
}

/* One operation on a shared key, checked as far as concurrency allows. */
static void sk_shared_op(struct sk_thread *t, unsigned int s, unsigned int k,
			 unsigned int r)
{
	struct masstree *mt = t->ctx->mt;
	u32 len = sk_key(t->kb, s, SK_SHARED, k);
	u64 *last = &t->last[s][k], v;
	void *got, *cur;
	int err;

	if (r < 25) {
		got = masstree_load(mt, t->kb, len);
		t->n[SK_LOAD]++;
		if (!sk_shared_ok(t, s, k, got))
			sk_err(t, "load shared %u/%u: %lx, last write %llx",
			       s, k, (unsigned long)got, *last);
	} else if (r < 45) {
		v = sk_next_value(t);
		err = masstree_insert(mt, t->kb, len, sk_entry(v), GFP_KERNEL);
		t->n[SK_INSERT]++;
		if (err && err != -EEXIST)
			sk_err(t, "insert shared %u/%u: %d", s, k, err);
		if (!err)
			*last = v;
	} else if (r < 65) {
		v = r < 62 ? sk_next_value(t) : 0;
		got = masstree_store(mt, t->kb, len, v ? sk_entry(v) : NULL,
				     GFP_KERNEL);
		t->n[SK_STORE]++;
		if (!sk_shared_ok(t, s, k, got))
			sk_err(t, "store shared %u/%u: old %lx, last write %llx",
			       s, k, (unsigned long)got, *last);
		*last = v;
	} else if (r < 85) {
		cur = masstree_load(mt, t->kb, len);
		t->n[SK_LOAD]++;
		if (!sk_shared_ok(t, s, k, cur))
			sk_err(t, "load shared %u/%u: %lx, last write %llx",
			       s, k, (unsigned long)cur, *last);
		v = sk_next_value(t);
		got = masstree_cmpxchg(mt, t->kb, len, cur, sk_entry(v), GFP_KERNEL);
		t->n[SK_CMPXCHG]++;
		if (got == cur)
			*last = v;
		else if (!sk_shared_ok(t, s, k, got))
			sk_err(t, "cmpxchg shared %u/%u: %lx, last write %llx",
			       s, k, (unsigned long)got, *last);
	} else {
		got = masstree_erase(mt, t->kb, len);
		t->n[SK_ERASE]++;
		if (!sk_shared_ok(t, s, k, got))
			sk_err(t, "erase shared %u/%u: %lx, last write %llx",
			       s, k, (unsigned long)got, *last);
		*last = 0;
	}
}

/*
 * Is the cursor's answer @e the owned key @want of shape @s (or, @want <
 * 0, no owned key: the end, or a key beyond the owned range in @dir)?
 */
static bool sk_cursor_is(struct sk_thread *t, unsigned int s, void *e,
			 int want, int dir)
{
	struct masstree_cursor *cur = &t->cur;
	const u8 *key = masstree_cursor_key(cur);
	size_t len = masstree_cursor_len(cur);
	u8 b[SK_KLEN];
	u32 blen;

	if (cur->err)
		return false;
	if (want >= 0) {
		blen = sk_key(b, s, t->id, want);
		return e == sk_entry(t->own[s][want]) && len == blen &&
		       !memcmp(key, b, len);
	}
	if (!e)
		return true;
	blen = sk_key(b, s, t->id, dir > 0 ? SK_NIDX - 1 : 0);
	return refmap_key_cmp(key, len, b, blen) * dir > 0;
}

/*
 * Seek to an owned key and step up to eight times either way; one time
 * in four an owned write between steps (the cursor must go on from the
 * key it returned, erased or not).
 */
static void sk_cursor_walk(struct sk_thread *t, unsigned int s, unsigned int i)
{
	struct masstree_cursor *cur = &t->cur;
	int dir = prandom_u32_state(&t->rnd) & 1 ? 1 : -1, want, at;
	unsigned int steps = 1 + prandom_u32_state(&t->rnd) % 8;
	u32 len = sk_key(t->kb, s, t->id, i);
	void *e;

	masstree_cursor_init(cur, t->ctx->mt, GFP_KERNEL);
	e = dir > 0 ? masstree_seek(cur, t->kb, len) :
		      masstree_seek_rev(cur, t->kb, len);
	t->n[SK_STEP]++;
	want = sk_present(t->own[s], i, dir);
	while (sk_cursor_is(t, s, e, want, dir)) {
		if (want < 0 || !steps--)
			goto out;
		at = want;
		if (!(prandom_u32_state(&t->rnd) & 3))
			sk_own_write(t, s, prandom_u32_state(&t->rnd) % SK_NIDX,
				     prandom_u32_state(&t->rnd) % 100);
		e = dir > 0 ? masstree_next(cur) : masstree_prev(cur);
		t->n[SK_STEP]++;
		want = sk_present(t->own[s], at + dir, dir);
	}
	sk_err(t, "cursor shape %u from idx %u dir %d: got %lx (len %zu, err %d), want idx %d",
	       s, i, dir, (unsigned long)e, masstree_cursor_len(cur), cur->err,
	       want);
out:
	masstree_cursor_fini(cur);
}

/* for_each over the owned prefix, or a range either way: exactly the model. */
static void sk_iterate(struct sk_thread *t, unsigned int s, unsigned int how)
{
	struct masstree_cursor *cur = &t->cur;
	u8 lo[SK_KLEN], hi[SK_KLEN];
	u32 lolen = sk_key(lo, s, t->id, 0), hilen = sk_key(hi, s, t->id, SK_NIDX - 1);
	int dir = how == 2 ? -1 : 1;
	int want = sk_present(t->own[s], dir > 0 ? 0 : SK_NIDX - 1, dir);
	void *e = NULL;

	masstree_cursor_init(cur, t->ctx->mt, GFP_KERNEL);
	if (how == 0) {
		masstree_for_each_prefix(t->ctx->mt, cur, e, lo,
					 sk_shapes[s].plen + 1) {
			t->n[SK_STEP]++;
			if (!sk_cursor_is(t, s, e, want, dir) || want < 0)
				goto bad;
			want = sk_present(t->own[s], want + dir, dir);
		}
	} else if (how == 1) {
		masstree_for_each_range(t->ctx->mt, cur, e, lo, lolen, hi, hilen) {
			t->n[SK_STEP]++;
			if (!sk_cursor_is(t, s, e, want, dir) || want < 0)
				goto bad;
			want = sk_present(t->own[s], want + dir, dir);
		}
	} else {
		masstree_for_each_range_rev(t->ctx->mt, cur, e, lo, lolen, hi, hilen) {
			t->n[SK_STEP]++;
			if (!sk_cursor_is(t, s, e, want, dir) || want < 0)
				goto bad;
			want = sk_present(t->own[s], want + dir, dir);
		}
	}
	t->n[SK_STEP]++;
	if (want < 0 && !cur->err)
		goto out;
bad:
	sk_err(t, "for_each (%u) shape %u: at %lx err %d, want idx %d",
	       how, s, (unsigned long)e, cur->err, want);
out:
	masstree_cursor_fini(cur);
}

/**
 * struct sk_scan - what a masstree_scan() callback checks against.
 * @t: the thread.
 * @s: the shape.
 * @whole: the shape's whole range (others' keys too), not the owned one.
 * @dir: 1 forward, -1 reverse.
 * @want: the next owned index expected, -1 when none is left.
 * @prev: the last key seen.
 * @prevlen: its length; 0 before the first.
 * @bad: what went wrong, or NULL.
 */
struct sk_scan {
	struct sk_thread *t;
	unsigned int s;
	bool whole;
	int dir;
	int want;
	u8 prev[SK_KLEN];
	u32 prevlen;
	const char *bad;
};

static int sk_scan_fn(const void *key, size_t len, void *entry, void *arg)
{
	struct sk_scan *sc = arg;
	struct sk_thread *t = sc->t;
	unsigned int tid, idx;

	if (!sk_parse(t->ctx, sc->s, key, len, &tid, &idx)) {
		sc->bad = "a key of no thread";
		return 1;
	}
	if (sc->prevlen && refmap_key_cmp(key, len, sc->prev, sc->prevlen) * sc->dir <= 0) {
		sc->bad = "out of order";
		return 1;
	}
	memcpy(sc->prev, key, len);
	sc->prevlen = len;
	if (tid == t->id) {
		if ((int)idx != sc->want || entry != sk_entry(t->own[sc->s][idx])) {
			sc->bad = "an owned key not the model's next";
			return 1;
		}
		sc->want = sk_present(t->own[sc->s], idx + sc->dir, sc->dir);
	} else if (!sc->whole) {
		sc->bad = "another thread's key in the owned range";
		return 1;
	} else if (tid == SK_SHARED) {
		if (!sk_shared_ok(t, sc->s, idx, entry)) {
			sc->bad = "a shared entry never written";
			return 1;
		}
	} else if (mtt_entry_value(entry) >> SK_SEQ_BITS != tid + 1) {
		sc->bad = "an owned key written by another thread";
		return 1;
	}
	return 0;
}

/* masstree_scan() of the owned range, or of the whole shape, either way. */
static void sk_scan(struct sk_thread *t, unsigned int s, unsigned int how)
{
	struct sk_scan sc = {
		.t = t, .s = s, .whole = how & 2, .dir = how & 1 ? -1 : 1,
	};
	u8 lo[SK_KLEN], hi[SK_KLEN];
	u32 lolen, hilen;
	unsigned int flags = how & 1 ? MASSTREE_SCAN_REVERSE : 0;
	int ret;

	if (sc.whole) {
		/* The shape's prefix up to past the last shared key. */
		lolen = sk_shapes[s].plen;
		sk_key(lo, s, 0, 0);
		hilen = sk_shapes[s].plen + 3;
		memcpy(hi, lo, lolen);
		memset(hi + lolen, 0xff, 3);
	} else {
		lolen = sk_key(lo, s, t->id, 0);
		hilen = sk_key(hi, s, t->id, SK_NIDX - 1);
	}
	sc.want = sk_present(t->own[s], sc.dir > 0 ? 0 : SK_NIDX - 1, sc.dir);
	/* Reverse scans start at @start: the high end. */
	ret = how & 1 ? masstree_scan(t->ctx->mt, hi, hilen, lo, lolen, flags,
				      sk_scan_fn, &sc) :
			masstree_scan(t->ctx->mt, lo, lolen, hi, hilen, flags,
				      sk_scan_fn, &sc);
	t->n[SK_SCAN]++;
	if (ret || sc.want >= 0)
		sk_err(t, "scan (%u) shape %u: %d, %s, next owned idx %d",
		       how, s, ret, sc.bad ?: "owned keys missed", sc.want);
}

static void sk_one_op(struct sk_thread *t)
{
	unsigned int r = prandom_u32_state(&t->rnd) % 1000;
	unsigned int s = prandom_u32_state(&t->rnd) % SK_SHAPES;
	unsigned int i = prandom_u32_state(&t->rnd) % SK_NIDX;
	unsigned int u = prandom_u32_state(&t->rnd) % 100;
	u32 len;
	void *got;

	if (r < 250) {
		sk_shared_op(t, s, i % SK_NSHARED, u);
	} else if (r < 350) {
		len = sk_key(t->kb, s, t->id, i);
		got = masstree_load(t->ctx->mt, t->kb, len);
		t->n[SK_LOAD]++;
		if (got != (t->own[s][i] ? sk_entry(t->own[s][i]) : NULL))
			sk_err(t, "load shape %u idx %u: %lx, model %llx",
			       s, i, (unsigned long)got, t->own[s][i]);
	} else if (r < 920) {
		sk_own_write(t, s, i, u);
	} else if (r < 960) {
		sk_cursor_walk(t, s, i);
	} else if (r < 963) {
		sk_iterate(t, s, u % 3);
	} else {
		sk_scan(t, s, u % 4);
	}
}

static int sk_threadfn(void *arg)
{
	struct sk_thread *t = arg;
	unsigned long done;
	unsigned int k;

	for (;;) {
		for (done = 0, k = 0; k < SK_NKINDS; k++)
			done += t->n[k];
		if (done >= t->target)
			break;
		sk_one_op(t);
		cond_resched();
	}
	if (atomic_dec_and_test(&t->ctx->running))
		complete(&t->ctx->done);
	return 0;
}

/* Run one phase: every thread up to @target operations in all. */
static int sk_phase(struct kunit *test, struct sk_ctx *ctx)
{
	unsigned int i;

	reinit_completion(&ctx->done);
	atomic_set(&ctx->running, ctx->nthreads);
	for (i = 0; i < ctx->nthreads; i++) {
		struct task_struct *task;

		task = kthread_create(sk_threadfn, ctx->t[i], "mst_soak/%u", i);
		if (IS_ERR(task)) {
			/* Those started finish; this one and the rest count down. */
			for (; i < ctx->nthreads; i++)
				if (atomic_dec_and_test(&ctx->running))
					complete(&ctx->done);
			KUNIT_FAIL(test, "kthread_create: %ld", PTR_ERR(task));
			break;
		}
		get_task_struct(task);
		ctx->t[i]->task = task;
		wake_up_process(task);
	}
	/* Short waits: a long soak must not look like a hung task. */
	while (!wait_for_completion_timeout(&ctx->done, HZ))
		;
	for (i = 0; i < ctx->nthreads; i++) {
		if (!ctx->t[i]->task)
			continue;
		kthread_stop(ctx->t[i]->task);
		put_task_struct(ctx->t[i]->task);
		ctx->t[i]->task = NULL;
	}
	return test->status == KUNIT_SUCCESS ? 0 : -ECHILD;
}

/*
 * No thread running: every key as its model says, the last writer's last
 * write in each shared key, validate() clean, keys and bytes exact.
 */
static bool sk_quiescent(struct kunit *test, struct sk_ctx *ctx)
{
	struct masstree *mt = ctx->mt;
	struct masstree_cursor cur;
	struct masstree_stats st;
	unsigned long want = 0, walked = 0;
	unsigned int s, i, k;
	u8 b[SK_KLEN];
	u32 len;
	void *got;
	long sfx;
	u64 v, w;
	int err;

	for (k = 0; k < ctx->nthreads; k++) {
		struct sk_thread *t = ctx->t[k];

		for (s = 0; s < SK_SHAPES; s++) {
			for (i = 0; i < SK_NIDX; i++) {
				len = sk_key(b, s, k, i);
				got = masstree_load(mt, b, len);
				if (got == (t->own[s][i] ? sk_entry(t->own[s][i]) : NULL))
					continue;
				KUNIT_FAIL(test, "thread %u shape %u idx %u: %lx, model %llx",
					   k, s, i, (unsigned long)got, t->own[s][i]);
				return false;
			}
			want += sk_count(t->own[s]);
		}
	}
	for (s = 0; s < SK_SHAPES; s++) {
		for (i = 0; i < SK_NSHARED; i++) {
			len = sk_key(b, s, SK_SHARED, i);
			got = masstree_load(mt, b, len);
			if (!got)
				continue;
			want++;
			v = mtt_entry_value(got);
			w = v >> SK_SEQ_BITS;
			if (w && w <= ctx->nthreads && ctx->t[w - 1]->last[s][i] == v)
				continue;
			KUNIT_FAIL(test, "shared %u/%u: %llx, not its writer's last write",
				   s, i, v);
			return false;
		}
	}
	masstree_cursor_init(&cur, mt, GFP_KERNEL);
	masstree_for_each(mt, &cur, got)
		walked++;
	err = cur.err;
	masstree_cursor_fini(&cur);
	masstree_get_stats(mt, &st);
	if (err || walked != want || st.keys != want) {
		KUNIT_FAIL(test, "cursor walk %lu keys (err %d), stats %lu, models %lu",
			   walked, err, st.keys, want);
		return false;
	}
	err = masstree_validate(mt);
	if (err) {
		KUNIT_FAIL(test, "masstree_validate(): %d", err);
		return false;
	}
	sfx = mst_stat_read(mt, MST_STAT_SUFFIX_BYTES);
	if (st.bytes != (st.leaves + st.internodes) * MST_NODE_BYTES + sfx) {
		KUNIT_FAIL(test, "stats: %lu bytes; %lu nodes and %ld suffix bytes",
			   st.bytes, st.leaves + st.internodes, sfx);
		return false;
	}
	return true;
}

/*
 * Linux 6.1 runs a module's suites before it parses the module's
 * parameters (the arguments are already stored): apply them here. Where
 * the kernel parsed them first, this sets the same values again.
 */
static int sk_suite_init(struct kunit_suite *suite)
{
	static unsigned long *const dst[] = { &ops, &chunk_ops, &seed };
	static const char *const names[] = { "ops", "chunk_ops", "seed" };
	char *args, *next, *param, *val;
	unsigned long v;
	unsigned int i;
	int err = 0;

	if (!THIS_MODULE->args || !*THIS_MODULE->args)
		return 0;
	args = kstrdup(THIS_MODULE->args, GFP_KERNEL);
	if (!args)
		return -ENOMEM;
	next = skip_spaces(args);
	while (*next && !err) {
		next = next_arg(next, &param, &val);
		err = -EINVAL;
		if (!val || kstrtoul(val, 0, &v))
			break;
		for (i = 0; i < ARRAY_SIZE(names); i++)
			if (!strcmp(param, names[i])) {
				*dst[i] = v;
				err = 0;
			}
		if (!strcmp(param, "threads") && v <= SK_MAX_THREADS) {
			threads = v;
			err = 0;
		}
	}
	if (err)
		pr_err("masstree_soak: bad parameter %s\n", param);
	kfree(args);
	return err;
}

/* The chunk's parameters: 1..number of chunks, as pointers. */
static const void *sk_gen_params(const void *prev, char *desc)
{
	unsigned long n = (unsigned long)prev + 1;

	if (!chunk_ops || n > DIV_ROUND_UP(ops, chunk_ops))
		return NULL;
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "chunk %lu", n);
	return (const void *)n;
}

static void masstree_soak_mixed_ops_checked(struct kunit *test)
{
	unsigned long chunk = (unsigned long)test->param_value;
	unsigned long nops = min(chunk_ops, ops - (chunk - 1) * chunk_ops);
	unsigned long total[SK_NKINDS] = { }, all = 0, errors = 0;
	struct sk_ctx *ctx;
	unsigned int i, k, s, p;
	u64 t0, ns;
	u8 b[SK_KLEN];

	KUNIT_ASSERT_GE(test, threads, 1U);
	KUNIT_ASSERT_LE(test, threads, (unsigned int)SK_MAX_THREADS);
	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->mt = mtt_map(test);
	ctx->nthreads = threads;
	ctx->chunk = chunk;
	init_completion(&ctx->done);
	for (i = 0; i < threads; i++) {
		ctx->t[i] = kunit_kzalloc(test, sizeof(*ctx->t[i]), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, ctx->t[i]);
		ctx->t[i]->ctx = ctx;
		ctx->t[i]->id = i;
		prandom_seed_state(&ctx->t[i]->rnd,
				   seed * 1000003 + chunk * 131 + i);
	}

	t0 = ktime_get_ns();
	for (p = 1; p <= SK_PHASES; p++) {
		for (i = 0; i < threads; i++)
			ctx->t[i]->target = DIV_ROUND_UP(nops * p, SK_PHASES * threads);
		if (sk_phase(test, ctx))
			break;
		for (i = 0; i < threads; i++)
			errors += ctx->t[i]->errors;
		if (errors) {
			KUNIT_FAIL(test, "%lu wrong answers in phase %u (see the log)",
				   errors, p);
			break;
		}
		if (!sk_quiescent(test, ctx))
			break;
	}
	ns = ktime_get_ns() - t0;

	for (i = 0; i < threads; i++)
		for (k = 0; k < SK_NKINDS; k++) {
			total[k] += ctx->t[i]->n[k];
			all += ctx->t[i]->n[k];
		}
	atomic64_add(all, &sk_total_ops);
	atomic64_add(ns, &sk_total_ns);
	kunit_info(test, "chunk %lu: %lu ops by %u threads in %llu ms (load %lu insert %lu store %lu cmpxchg %lu erase %lu cursor %lu scan %lu); module total %lld ops in %lld ms\n",
		   chunk, all, threads, ns / NSEC_PER_MSEC, total[SK_LOAD],
		   total[SK_INSERT], total[SK_STORE], total[SK_CMPXCHG],
		   total[SK_ERASE], total[SK_STEP], total[SK_SCAN],
		   atomic64_read(&sk_total_ops),
		   atomic64_read(&sk_total_ns) / NSEC_PER_MSEC);
	BUILD_BUG_ON(ARRAY_SIZE(sk_kind_name) != SK_NKINDS);
	if (test->status != KUNIT_SUCCESS)
		return;
	KUNIT_EXPECT_GE(test, all, nops);

	/* Erase everything: an empty map, every node given back. */
	for (i = 0; i < threads; i++)
		for (s = 0; s < SK_SHAPES; s++)
			for (k = 0; k < SK_NIDX; k++)
				if (ctx->t[i]->own[s][k])
					masstree_erase(ctx->mt, b, sk_key(b, s, i, k));
	for (s = 0; s < SK_SHAPES; s++)
		for (k = 0; k < SK_NSHARED; k++)
			masstree_erase(ctx->mt, b, sk_key(b, s, SK_SHARED, k));
	KUNIT_EXPECT_EQ(test, masstree_validate(ctx->mt), 0);
	mtt_expect_all_freed(test);
}

static struct kunit_case masstree_soak_cases[] = {
	KUNIT_CASE_PARAM(masstree_soak_mixed_ops_checked, sk_gen_params),
	{}
};

static struct kunit_suite masstree_soak_suite = {
	.name = "masstree_soak",
	.suite_init = sk_suite_init,
	.init = mtt_init,
	.exit = mtt_exit,
	.test_cases = masstree_soak_cases,
};

kunit_test_suite(masstree_soak_suite);

MODULE_DESCRIPTION("KUnit soak of masstree: mixed concurrent operations, each checked");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
