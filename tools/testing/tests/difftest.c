// SPDX-License-Identifier: GPL-2.0
/*
 * Seeded random differential test of the masstree core against the
 * reference map of kunit/masstree_refmap.h and its reference cursor;
 * every key comes from a fixed table. Operations: insert, store,
 * cmpxchg (all four NULL/non-NULL combinations), erase, load,
 * masstree_scan() both ways with every flag, the masstree_for_each*()
 * loops, and one long-lived cursor (seek, seek_rev, seek_range,
 * seek_prefix, first, last, next, prev) whose steps are interleaved with
 * writes: it pauses between operations and must resume after the key it
 * returned last, even when that key is gone. Injected allocation
 * failures must leave the map exactly unchanged. masstree_validate() and
 * a full comparison (loads and scans both ways) run between phases, and
 * the statistics must be exact there: keys as in the reference, bytes
 * equal to the nodes still allocated and the suffix bytes counted.
 *
 *   difftest [-s seed] [-n ops] [-w file] [-T secs]
 *   difftest --replay file
 *   difftest --self-test
 *
 * -n is the total number of operations over all phases. Operations are
 * generated from the seed alone (never from the map's state), so a
 * failure can be replayed: the run prints the seed, the phase and the
 * operation number, then shrinks the operations since the map was last
 * empty to a short list that still fails on a fresh map (a prefix search,
 * then delta debugging: drop ever smaller chunks), prints it and writes
 * it to the -w file (for --replay). -T bounds the shrinking time.
 *
 * --self-test plants a bug in the reference (it forgets an erase while
 * four or more keys are present) and checks that the checker catches it
 * and that the shrinker brings the failure down to a handful of
 * operations that still fail after a round trip through a replay file:
 * a checker that cannot fail proves nothing.
 */
#include <getopt.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#include "../include/shim.h"
#include <linux/masstree.h>
#include "../lib/alloc.h"
#include "../../../masstree/internal.h"
#include "../../../kunit/masstree_refmap.h"

struct key {
	u8 *b;
	u32 len;
	bool dead;	/* a copy of an earlier shape's key: never used */
};

static struct key *keys;
static unsigned long nkeys;
static struct refmap ref;
static unsigned long seed = 1, nops = 1000000;
static const char *phase = "init";
static unsigned long opno;
static DEFINE_MASSTREE(map);

static u64 rng_state;

static u64 rnd(void)
{
	/* splitmix64 */
	u64 z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The first failure's message; checks return false after setting it. */
static char fail_msg[512];

static bool failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static bool failf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(fail_msg, sizeof(fail_msg), fmt, ap);
	va_end(ap);
	return false;
}

#define CHECK(cond, ...) do {						\
	if (!(cond))							\
		return failf(__VA_ARGS__);				\
} while (0)

/* Setup errors that are not differences: no replay. */
#define DIE(...) do {							\
	fprintf(stderr, "difftest FAILED (seed %lu): ", seed);		\
	fprintf(stderr, __VA_ARGS__);					\
	fprintf(stderr, "\n");						\
	exit(1);							\
} while (0)

static int keycmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;

	return refmap_key_cmp(x->b, x->len, y->b, y->len);
}

static unsigned long cap;

static void add_key(const u8 *b, u32 len)
{
	if (nkeys == cap) {
		cap = cap ? cap * 2 : 1024;
		keys = realloc(keys, cap * sizeof(*keys));
	}
	keys[nkeys].b = malloc(len ? len : 1);
	memcpy(keys[nkeys].b, b, len);
	keys[nkeys].len = len;
	keys[nkeys].dead = false;
	nkeys++;
}

/* The key shapes; each shape owns a range of the table. */
enum {
	SH_INT, SH_R16, SH_P24, SH_R32, SH_MIX, SH_SPAN, SH_BIG, SH_SPECIAL, SH_NR
};

static const char *const shape_name[SH_NR] = {
	"int8", "rand16", "prefix24", "rand32", "mixed0-300", "spans0-300",
	"big1-4k", "special-lengths",
};

/*
 * Span keys: one of SPAN_PREFIXES prefixes, each the first 0..300 bytes
 * (drawn per seed) of one of two random strings, then a tail of 1..12
 * bytes from a small alphabet. Prefixes of one string nest, so keys
 * under a short one leave the spans of those under longer ones at every
 * slice position, and the spans split and merge again as they come and
 * go.
 */
#define SPAN_PREFIXES	10
#define SPAN_BASE	300

static unsigned long shape_lo[SH_NR], shape_hi[SH_NR];
static u8 *kbuf;

static void gen_shape(int sh, unsigned long n)
{
	static u8 base[2][SPAN_BASE];
	u32 plen[SPAN_PREFIXES];
	unsigned long i;
	u32 len, j;

	if (sh == SH_SPAN) {
		for (j = 0; j < 2 * SPAN_BASE; j++)
			base[j % 2][j / 2] = rnd();
		for (j = 0; j < SPAN_PREFIXES; j++)
			plen[j] = rnd() % (SPAN_BASE + 1);
	}
	for (i = 0; i < n; i++) {
		u64 r = rnd();

		switch (sh) {
		case SH_INT: {
			/* big-endian i, spread */
			u64 v = i * 0x10001ULL;

			for (j = 0; j < 8; j++)
				kbuf[j] = v >> (56 - 8 * j);
			add_key(kbuf, 8);
			break;
		}
		case SH_R16:
		case SH_R32:
			len = sh == SH_R16 ? 16 : 32;
			for (j = 0; j < len; j++)
				kbuf[j] = rnd();
			add_key(kbuf, len);
			break;
		case SH_P24:
			memcpy(kbuf, "common-prefix-16", 16);
			for (j = 16; j < 24; j++)
				kbuf[j] = rnd();
			add_key(kbuf, 24);
			break;
		case SH_MIX:
			/* A small alphabet: shared slices, layers, prefixes. */
			len = r % 301;
			for (j = 0; j < len; j++)
				kbuf[j] = "\0\1ab"[rnd() % (j < 24 ? 2 : 4)];
			add_key(kbuf, len);
			break;
		case SH_SPAN:
			j = r % SPAN_PREFIXES;
			len = plen[j];
			memcpy(kbuf, base[j % 2], len);
			for (j = 1 + (r >> 8) % 12; j; j--)
				kbuf[len++] = "\0\1ab"[rnd() % 4];
			add_key(kbuf, len);
			break;
		case SH_BIG:
			len = 1024 + r % 3072;
			memset(kbuf, 'k', len);
			for (j = 0; j < 3; j++)
				kbuf[rnd() % len] = rnd();
			add_key(kbuf, len);
			break;
		}
	}
}

static void gen_special(void)
{
	static const u32 lens[] = { 0, 1, 7, 8, 9, 16, 255, 256, 4096, 65535 };
	unsigned int i, v;

	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		for (v = 0; v < 5; v++) {
			/*
			 * v == 4: all 0xff, the greatest slice, which the
			 * internodes' unused separator slots hold too.
			 */
			memset(kbuf, v == 1 ? 0 : v == 4 ? 0xff : 'z', lens[i]);
			if ((v == 2 || v == 3) && lens[i])
				kbuf[lens[i] - 1] = v == 2 ? 0 : 0xff;
			add_key(kbuf, lens[i]);
		}
	}
}

/*
 * Global key order: order[r] is the key of rank r, rank[k] the rank of
 * key k. A key in two shapes' tables gets two adjacent ranks; the later
 * copy is dead and never present.
 */
static unsigned long *order, *rank_of;

static int ordcmp(const void *a, const void *b)
{
	const unsigned long *x = a, *y = b;
	int c = keycmp(&keys[*x], &keys[*y]);

	return c ? c : (*x > *y) - (*x < *y);
}

static void sort_globally(void)
{
	unsigned long i;

	order = malloc(nkeys * sizeof(*order));
	rank_of = malloc(nkeys * sizeof(*rank_of));
	for (i = 0; i < nkeys; i++)
		order[i] = i;
	qsort(order, nkeys, sizeof(*order), ordcmp);
	for (i = 0; i < nkeys; i++)
		rank_of[order[i]] = i;
	for (i = 1; i < nkeys; i++)
		if (!keycmp(&keys[order[i - 1]], &keys[order[i]]))
			keys[order[i]].dead = true;
}

static void *ref_of(unsigned long k)
{
	return refmap_get(&ref, keys[k].b, keys[k].len);
}

static void ref_set(unsigned long k, void *v)
{
	if (refmap_set(&ref, keys[k].b, keys[k].len, v))
		DIE("the reference map is out of memory");
}

/* Set key @k, which the reference holds at @x (NULL: not at all), to @v. */
static void ref_update(struct refmap_node *x, unsigned long k, void *v)
{
	if (x && v)
		x->entry = v;
	else if (x || v)
		ref_set(k, v);
}

/* The number of a reference key in the table, for messages; -1: none. */
static long key_number(const struct refmap_node *x)
{
	unsigned long lo = 0, hi = nkeys;

	if (!x)
		return -1;
	while (lo < hi) {
		unsigned long mid = (lo + hi) / 2;
		const struct key *k = &keys[order[mid]];

		if (refmap_key_cmp(k->b, k->len, x->key, x->len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nkeys ? (long)order[lo] : -1;
}

/*
 * One operation, generated from the seed alone. Bounds are the first
 * blen (blen2) bytes of key k (k2): present keys, absent ones, prefixes.
 */
enum {
	OP_INSERT, OP_STORE, OP_CMPXCHG, OP_ERASE, OP_LOAD, OP_SCAN,
	OP_FOREACH, OP_SEEK, OP_STEP, OP_CUR_RESET, OP_NR,
};

static const char *const op_name[OP_NR] = {
	"insert", "store", "cmpxchg", "erase", "load", "scan", "foreach",
	"seek", "step", "cursor-reset",
};

/* cmpxchg: what the expected old entry is. */
enum { CX_NULL, CX_CURRENT, CX_OTHER, CX_CURRENT_TO_NULL };
/* seek: which call. */
enum { SK_SEEK, SK_SEEK_REV, SK_RANGE, SK_PREFIX, SK_FIRST, SK_LAST, SK_NR };
/* foreach: which macro. */
enum { FE_ALL, FE_ALL_REV, FE_RANGE, FE_RANGE_REV, FE_PREFIX, FE_NR };

struct op {
	u8 kind;
	u8 nth;		/* fail the nth allocation from now (0: none) */
	u8 preload;	/* masstree_preload() first, then GFP_NOWAIT */
	u8 arg;		/* CX_*, SK_*, FE_*; step: 1 for prev */
	u32 flags;	/* MASSTREE_SCAN_* */
	u32 k, blen;
	u32 k2, blen2;
	u32 limit;	/* scan, foreach: keys before stopping */
	u64 v;		/* entry to write (0: NULL) */
	u64 o;		/* cmpxchg CX_OTHER: the wrong old entry */
};

static struct masstree_cursor cur;
/* Keys scans, loops and cursor steps returned: proof they saw something. */
static unsigned long n_scanned;
static struct refmap_cursor rcur;
static bool plant;	/* --self-test: the reference forgets an erase */

static void *mkval(void)
{
	return (void *)(uintptr_t)((rnd() % 1000000 + 1) << 3);
}

static unsigned long pick_key(unsigned long lo, unsigned long hi)
{
	unsigned long k;

	do
		k = lo + rnd() % (hi - lo);
	while (keys[k].dead);
	return k;
}

static u32 pick_blen(unsigned long k)
{
	u32 len = keys[k].len;

	return rnd() % 2 ? len : rnd() % (len + 1);
}

static void gen_op(struct op *op, unsigned long lo, unsigned long hi)
{
	unsigned int p = rnd() % 1000;

	memset(op, 0, sizeof(*op));
	op->k = pick_key(lo, hi);
	op->blen = pick_blen(op->k);
	op->k2 = pick_key(lo, hi);
	op->blen2 = pick_blen(op->k2);
	op->v = (uintptr_t)mkval();
	op->o = (uintptr_t)mkval();
	op->arg = rnd() % 4;
	op->flags = rnd() % 32;
	op->limit = rnd() % 256 ? 1 + rnd() % 64 : ~0u;
	if (rnd() % 64 == 0)
		op->nth = 1 + rnd() % 3;
	else if (rnd() % 16 == 0)
		op->preload = 1;

	if (p < 220) {
		op->kind = OP_INSERT;
	} else if (p < 400) {
		op->kind = OP_STORE;
		if (rnd() % 8 == 0)
			op->v = 0;
	} else if (p < 580) {
		op->kind = OP_CMPXCHG;
	} else if (p < 760) {
		op->kind = OP_ERASE;
	} else if (p < 880) {
		op->kind = OP_LOAD;
	} else if (p < 910) {
		op->kind = OP_SCAN;
	} else if (p < 930) {
		op->kind = OP_FOREACH;
		op->arg = rnd() % FE_NR;
		/* The reverse range loop goes from k down to k2. */
		op->flags = op->arg == FE_RANGE_REV ? MASSTREE_SCAN_REVERSE : 0;
	} else if (p < 950) {
		op->kind = OP_SEEK;
		op->arg = rnd() % SK_NR;
	} else if (p < 998) {
		op->kind = OP_STEP;
		op->arg = rnd() % 2;
	} else {
		op->kind = OP_CUR_RESET;
	}
	if (op->kind > OP_ERASE)
		op->preload = 0;	/* readers do not allocate nodes */
	/* Ranges mostly the right way round, sometimes empty. */
	bool ascending = rank_of[op->k] <= rank_of[op->k2];

	if (rnd() % 8 && ascending == !!(op->flags & MASSTREE_SCAN_REVERSE)) {
		u32 t = op->k;

		op->k = op->k2;
		op->k2 = t;
		t = op->blen;
		op->blen = op->blen2;
		op->blen2 = t;
	}
}

static bool same_stats(const struct masstree_stats *a,
		       const struct masstree_stats *b)
{
	return a->keys == b->keys && a->leaves == b->leaves &&
	       a->internodes == b->internodes && a->layers == b->layers &&
	       a->bytes == b->bytes && a->height == b->height;
}

static bool node_is(const struct refmap_node *x, const void *b, size_t len)
{
	return !refmap_key_cmp(x->key, x->len, b, len);
}

/* A result the cursor gave against the reference cursor's. */
static bool check_cursor(const char *what, void *got,
			 const struct refmap_node *x)
{
	if (!x) {
		/* A cursor that failed stays failed, with its error. */
		CHECK(!got && cur.err == (rcur.state == REFMAP_CURSOR_FAILED ?
					  -ENOMEM : 0),
		      "%s: got %p (err %d), expected the end", what, got, cur.err);
		return true;
	}
	CHECK(got, "%s: got the end (err %d), expected key %ld (len %zu)",
	      what, cur.err, key_number(x), x->len);
	CHECK(node_is(x, masstree_cursor_key(&cur), masstree_cursor_len(&cur)),
	      "%s: got a key of len %zu, expected key %ld (len %zu)", what,
	      masstree_cursor_len(&cur), key_number(x), x->len);
	CHECK(got == x->entry && cur.entry == got,
	      "%s: key %ld: entry %p, expected %p", what, key_number(x), got,
	      x->entry);
	return true;
}

struct scan_ctx {
	struct refmap_cursor rc;
	bool rev;
	u32 limit, seen;
	bool bad;
};

static int scan_fn(const void *key, size_t len, void *entry, void *arg)
{
	struct scan_ctx *sc = arg;
	struct refmap_node *x = sc->seen ? refmap_cursor_step(&sc->rc, sc->rev) :
				sc->rc.node;

	if (sc->bad)
		return -1;
	if (!x) {
		failf("scan: key %u (len %zu) past the reference's end",
		      sc->seen, len);
		sc->bad = true;
		return -1;
	}
	if (!node_is(x, key, len) || entry != x->entry) {
		failf("scan: key %u: len %zu entry %p, expected key %ld (len %zu) entry %p",
		      sc->seen, len, entry, key_number(x), x->len, x->entry);
		sc->bad = true;
		return -1;
	}
	return ++sc->seen == sc->limit ? 42 : 0;
}

static bool do_scan(const struct op *op)
{
	const struct key *a = &keys[op->k], *b = &keys[op->k2];
	struct scan_ctx sc = { .rev = op->flags & MASSTREE_SCAN_REVERSE,
			       .limit = op->limit };
	bool ok = true;
	int ret;

	refmap_cursor_init(&sc.rc, &ref);
	refmap_cursor_seek_range(&sc.rc, a->b, op->blen, b->b, op->blen2,
				 op->flags);
	ret = masstree_scan(&map, a->b, op->blen, b->b, op->blen2, op->flags,
			    scan_fn, &sc);
	if (sc.bad)
		ok = false;
	else if (ret == 42 || (ret == -ENOMEM && op->nth))
		n_scanned += sc.seen;
	else if (ret)
		ok = failf("scan: returned %d after %u keys", ret, sc.seen);
	/* The scan ended: so must the reference. */
	else if (sc.seen ? refmap_cursor_step(&sc.rc, sc.rev) : sc.rc.node)
		ok = failf("scan: ended after %u keys, the reference goes on",
			   sc.seen);
	else
		n_scanned += sc.seen;
	refmap_cursor_fini(&sc.rc);
	return ok;
}

/* The masstree_for_each*() loops with a cursor of their own. */
static bool do_foreach(const struct op *op)
{
	const struct key *a = &keys[op->k], *b = &keys[op->k2];
	bool rev = op->arg == FE_ALL_REV || op->arg == FE_RANGE_REV;
	struct masstree_cursor c;
	struct refmap_cursor rc;
	struct refmap_node *x;
	bool ok = true;
	u32 seen = 0;
	void *e;

	masstree_cursor_init(&c, &map, GFP_KERNEL);
	refmap_cursor_init(&rc, &ref);
#define FE_BODY								\
	{								\
		x = seen ? refmap_cursor_step(&rc, rev) : x;		\
		if (!x || !node_is(x, masstree_cursor_key(&c),		\
				   masstree_cursor_len(&c)) ||		\
		    e != x->entry) {					\
			ok = failf("foreach %d: key %u: len %zu entry %p, expected key %ld",\
				   op->arg, seen, masstree_cursor_len(&c), e, \
				   key_number(x));			\
			break;						\
		}							\
		if (++seen == op->limit)				\
			break;						\
	}
	switch (op->arg) {
	case FE_ALL:
		x = refmap_cursor_seek_range(&rc, NULL, 0, NULL, 0,
					     MASSTREE_SCAN_NO_START | MASSTREE_SCAN_NO_END);
		masstree_for_each(&map, &c, e)
			FE_BODY
		break;
	case FE_ALL_REV:
		x = refmap_cursor_seek_range(&rc, NULL, 0, NULL, 0,
					     MASSTREE_SCAN_NO_START | MASSTREE_SCAN_NO_END |
					     MASSTREE_SCAN_REVERSE);
		masstree_for_each_rev(&map, &c, e)
			FE_BODY
		break;
	case FE_RANGE:
		x = refmap_cursor_seek_range(&rc, a->b, op->blen, b->b, op->blen2, 0);
		masstree_for_each_range(&map, &c, e, a->b, op->blen, b->b, op->blen2)
			FE_BODY
		break;
	case FE_RANGE_REV:
		/* From the end (a) down to the start (b). */
		x = refmap_cursor_seek_range(&rc, a->b, op->blen, b->b, op->blen2,
					     MASSTREE_SCAN_REVERSE);
		masstree_for_each_range_rev(&map, &c, e, b->b, op->blen2, a->b, op->blen)
			FE_BODY
		break;
	default:
		x = refmap_cursor_seek_prefix(&rc, a->b, op->blen, false);
		masstree_for_each_prefix(&map, &c, e, a->b, op->blen)
			FE_BODY
		break;
	}
#undef FE_BODY
	if (ok && !(c.err == -ENOMEM && op->nth)) {
		if (c.err) {
			ok = failf("foreach %d: err %d", op->arg, c.err);
		} else if (seen < op->limit) {
			x = seen ? refmap_cursor_step(&rc, rev) : x;
			if (x)
				ok = failf("foreach %d: ended after %u keys, expected key %ld",
					   op->arg, seen, key_number(x));
		}
	}
	if (ok)
		n_scanned += seen;
	masstree_cursor_fini(&c);
	refmap_cursor_fini(&rc);
	return ok;
}

static bool do_seek(const struct op *op)
{
	const struct key *a = &keys[op->k], *b = &keys[op->k2];
	bool rev = op->flags & MASSTREE_SCAN_REVERSE;
	struct refmap_node *x;
	void *got;

	switch (op->arg) {
	case SK_SEEK:
		got = masstree_seek(&cur, a->b, op->blen);
		x = refmap_cursor_seek_range(&rcur, a->b, op->blen, NULL, 0,
					     MASSTREE_SCAN_NO_END);
		break;
	case SK_SEEK_REV:
		got = masstree_seek_rev(&cur, a->b, op->blen);
		x = refmap_cursor_seek_range(&rcur, a->b, op->blen, NULL, 0,
					     MASSTREE_SCAN_NO_END | MASSTREE_SCAN_REVERSE);
		break;
	case SK_RANGE:
		got = masstree_seek_range(&cur, a->b, op->blen, b->b, op->blen2,
					  op->flags);
		x = refmap_cursor_seek_range(&rcur, a->b, op->blen, b->b,
					     op->blen2, op->flags);
		break;
	case SK_PREFIX:
		got = masstree_seek_prefix(&cur, a->b, op->blen,
					   rev ? MASSTREE_SCAN_REVERSE : 0);
		x = refmap_cursor_seek_prefix(&rcur, a->b, op->blen, rev);
		break;
	case SK_FIRST:
		got = masstree_first(&cur);
		x = refmap_cursor_seek_range(&rcur, NULL, 0, NULL, 0,
					     MASSTREE_SCAN_NO_START | MASSTREE_SCAN_NO_END);
		break;
	default:
		got = masstree_last(&cur);
		x = refmap_cursor_seek_range(&rcur, NULL, 0, NULL, 0,
					     MASSTREE_SCAN_NO_START | MASSTREE_SCAN_NO_END |
					     MASSTREE_SCAN_REVERSE);
		break;
	}
	if (!got && cur.err == -ENOMEM && op->nth) {
		refmap_cursor_fail(&rcur);
		return true;
	}
	return check_cursor("seek", got, x);
}

static bool do_step(const struct op *op)
{
	struct refmap_node *x;
	void *got;

	/* The cursor holds nothing between calls; the writes went on. */
	masstree_cursor_resume(&cur);
	got = op->arg ? masstree_prev(&cur) : masstree_next(&cur);
	masstree_cursor_pause(&cur);
	if (!got && cur.err == -ENOMEM && op->nth) {
		refmap_cursor_fail(&rcur);
		return true;
	}
	x = refmap_cursor_step(&rcur, op->arg);
	n_scanned += !!got;
	return check_cursor(op->arg ? "prev" : "next", got, x);
}

static unsigned long n_enomem;

/* Apply one operation to the map and the reference; false on a difference. */
static bool apply(const struct op *op)
{
	unsigned long k = op->k;
	const struct key *key = &keys[k];
	struct masstree_stats before, after;
	struct refmap_node *rx = refmap_find(&ref, key->b, key->len);
	void *v = (void *)(uintptr_t)op->v, *old = rx ? rx->entry : NULL;
	void *ret, *o;
	gfp_t gfp = GFP_KERNEL;
	bool ok = true;
	int err;

	if (op->nth) {
		masstree_get_stats(&map, &before);
		shim_fail_nth = op->nth;
	} else if (op->preload) {
		if (masstree_preload(GFP_KERNEL))
			DIE("preload failed");
		gfp = GFP_NOWAIT;
	}

	switch (op->kind) {
	case OP_INSERT:
		err = masstree_insert(&map, key->b, key->len, v, gfp);
		if (err == -ENOMEM && op->nth)
			goto enomem;
		if (err != (old ? -EEXIST : 0))
			ok = failf("insert key %lu: %d", k, err);
		else if (!old)
			ref_update(rx, k, v);
		break;
	case OP_STORE:
		ret = masstree_store(&map, key->b, key->len, v, gfp);
		if (masstree_err(ret) == -ENOMEM && op->nth)
			goto enomem;
		if (ret != old)
			ok = failf("store key %lu (len %u): %p, expected %p", k,
				   key->len, ret, old);
		else
			ref_update(rx, k, v);
		break;
	case OP_CMPXCHG:
		o = op->arg == CX_NULL ? NULL : op->arg == CX_OTHER ?
		    (void *)(uintptr_t)op->o : old;
		if (op->arg == CX_CURRENT_TO_NULL)
			v = NULL;
		ret = masstree_cmpxchg(&map, key->b, key->len, o, v, gfp);
		if (masstree_err(ret) == -ENOMEM && op->nth)
			goto enomem;
		if (ret != old)
			ok = failf("cmpxchg key %lu: %p, expected %p", k, ret, old);
		else if (old == o)
			ref_update(rx, k, v);
		break;
	case OP_ERASE:
		ret = masstree_erase(&map, key->b, key->len);
		if (ret != old)
			ok = failf("erase key %lu: %p, expected %p", k, ret, old);
		else if (!(plant && refmap_count(&ref) >= 4))
			ref_update(rx, k, NULL);
		break;
	case OP_LOAD:
		ret = masstree_load(&map, key->b, key->len);
		if (ret != old)
			ok = failf("load key %lu: %p, expected %p", k, ret, old);
		break;
	case OP_SCAN:
		ok = do_scan(op);
		break;
	case OP_FOREACH:
		ok = do_foreach(op);
		break;
	case OP_SEEK:
		ok = do_seek(op);
		break;
	case OP_STEP:
		ok = do_step(op);
		break;
	default:
		masstree_cursor_fini(&cur);
		masstree_cursor_init(&cur, &map, GFP_KERNEL);
		refmap_cursor_reset(&rcur);
		break;
	}
	goto out;
enomem:
	n_enomem++;
	shim_fail_nth = 0;
	masstree_get_stats(&map, &after);
	ret = masstree_load(&map, key->b, key->len);
	if (!same_stats(&before, &after))
		ok = failf("-ENOMEM changed the map's stats");
	else if (ret != old)
		ok = failf("-ENOMEM changed key %lu: %p, expected %p", k, ret, old);
	else if (n_enomem % 256 == 0 && masstree_validate(&map))
		ok = failf("validate after -ENOMEM");
out:
	if (!op->nth && op->preload)
		masstree_preload_end();
	shim_fail_nth = 0;
	return ok;
}

/*
 * The byte count, exactly: validate() == 0 has just checked the node and
 * suffix byte counters against the map, so the bytes must be what they
 * add up to; and the nodes must be those still allocated (the only map
 * here), once the frees queued for after a grace period have run.
 */
static bool check_bytes(const struct masstree_stats *st)
{
	long sfx = mst_stat_read(&map, MST_STAT_SUFFIX_BYTES);
	struct mst_node_stats live;

	CHECK(st->bytes == (st->leaves + st->internodes) * MST_NODE_BYTES + sfx,
	      "stats bytes %lu, expected %lu nodes of %lu and %ld suffix bytes",
	      st->bytes, st->leaves + st->internodes,
	      (unsigned long)MST_NODE_BYTES, sfx);
	rcu_barrier();
	mst_node_stats_read(&live);
	CHECK(live.leaves == (long)st->leaves &&
	      live.internodes == (long)st->internodes,
	      "stats %lu leaves %lu internodes, but %ld and %ld allocated",
	      st->leaves, st->internodes, live.leaves, live.internodes);
	return true;
}

/* The whole map, by scans both ways (fast when the map is small). */
static bool compare_scans(void)
{
	struct masstree_stats st;
	struct scan_ctx sc = { .limit = ~0u };
	int dir, ret;

	CHECK(!masstree_validate(&map), "masstree_validate failed");
	masstree_get_stats(&map, &st);
	CHECK(st.keys == refmap_count(&ref), "stats keys %lu, expected %lu",
	      st.keys, refmap_count(&ref));
	if (!check_bytes(&st))
		return false;
	for (dir = 0; dir < 2; dir++) {
		unsigned int f = MASSTREE_SCAN_NO_START | MASSTREE_SCAN_NO_END |
				 (dir ? MASSTREE_SCAN_REVERSE : 0);

		sc.rev = dir;
		sc.seen = 0;
		refmap_cursor_init(&sc.rc, &ref);
		refmap_cursor_seek_range(&sc.rc, NULL, 0, NULL, 0, f);
		ret = masstree_scan(&map, NULL, 0, NULL, 0, f, scan_fn, &sc);
		refmap_cursor_fini(&sc.rc);
		if (sc.bad)
			return false;
		CHECK(!ret && sc.seen == refmap_count(&ref),
		      "full scan %s: %d after %u keys, expected %lu",
		      dir ? "reverse" : "forward", ret, sc.seen,
		      refmap_count(&ref));
	}
	return true;
}

/* Scans plus a load of every key of the table. */
/*
 * The reference's entry of every key of the table, by key number: one
 * walk of the reference beside the table in key order rather than a
 * lookup per key. The reference holds table keys only.
 */
static void **snapshot;

static void take_snapshot(void)
{
	struct refmap_node *x = refmap_first(&ref);
	unsigned long r, k;

	for (r = 0; r < nkeys; r++) {
		k = order[r];
		snapshot[k] = NULL;
		if (x && !keys[k].dead && node_is(x, keys[k].b, keys[k].len)) {
			snapshot[k] = x->entry;
			x = refmap_next(x);
		}
	}
	if (x)
		DIE("a reference key of length %zu is not in the table", x->len);
}

static bool full_compare(void)
{
	unsigned long i;
	void *got;

	take_snapshot();
	for (i = 0; i < nkeys; i++) {
		if (keys[i].dead)
			continue;
		got = masstree_load(&map, keys[i].b, keys[i].len);
		CHECK(got == snapshot[i], "key %lu (len %u): load %p, expected %p",
		      i, keys[i].len, got, snapshot[i]);
	}
	return compare_scans();
}

static bool erase_all(void)
{
	struct masstree_stats st;
	unsigned long i;

	take_snapshot();
	for (i = 0; i < nkeys; i++) {
		void *ret;

		if (keys[i].dead)
			continue;
		ret = masstree_erase(&map, keys[i].b, keys[i].len);
		CHECK(ret == snapshot[i], "erasing everything, key %lu: %p, expected %p",
		      i, ret, snapshot[i]);
	}
	refmap_clear(&ref);
	CHECK(!masstree_validate(&map), "validate after erasing everything");
	masstree_get_stats(&map, &st);
	CHECK(!(st.keys || st.leaves || st.internodes || st.layers || st.bytes ||
		st.height || rcu_access_pointer(map.root)),
	      "empty map not empty: %lu keys %lu leaves %lu internodes %lu layers",
	      st.keys, st.leaves, st.internodes, st.layers);
	return true;
}

static void check_lengths(void)
{
	u8 *big = calloc(1, MASSTREE_MAX_KEY_LEN + 1);
	void *ret;

	phase = "length-limits";
	if (masstree_insert(&map, big, MASSTREE_MAX_KEY_LEN + 1, (void *)8,
			    GFP_KERNEL) != -EINVAL)
		DIE("65536-byte key accepted by insert");
	ret = masstree_store(&map, big, MASSTREE_MAX_KEY_LEN + 1, (void *)8,
			     GFP_KERNEL);
	if (masstree_err(ret) != -EINVAL)
		DIE("65536-byte key accepted by store");
	if (masstree_load(&map, big, MASSTREE_MAX_KEY_LEN + 1))
		DIE("65536-byte key found");
	if (masstree_insert(&map, big, 3, (void *)2, GFP_KERNEL) != -EINVAL)
		DIE("reserved entry accepted");
	if (masstree_insert(&map, big, 3, NULL, GFP_KERNEL) != -EINVAL)
		DIE("NULL entry accepted by insert");
	if (masstree_seek(&cur, big, MASSTREE_MAX_KEY_LEN + 1) || cur.err != -EINVAL)
		DIE("65536-byte key accepted by seek");
	if (masstree_scan(&map, big, MASSTREE_MAX_KEY_LEN + 1, NULL, 0,
			  MASSTREE_SCAN_NO_END, scan_fn, NULL) != -EINVAL)
		DIE("65536-byte key accepted by scan");
	masstree_cursor_fini(&cur);
	masstree_cursor_init(&cur, &map, GFP_KERNEL);
	free(big);
}

/*
 * Memory held per key when keys share long spans. Two keys that share a
 * span build one layer below it, the span kept once in the slot above;
 * once one of them is erased the other must fold back into one slot with
 * a suffix, the layer and span gone, so that the map holds about the
 * key's own size again. Variants: the pair hangs from the top layer, or
 * from a layer that stays (two anchor keys
 * share the pair's first 16 bytes); the survivor's rest ends in a suffix,
 * or within its last slice (the pair differs only in length); the smaller
 * or the larger key survives. Each pair is built again over the folded
 * key (the slot turns into layers again) and folded again. Then the
 * pattern at its worst, keys of 65,529 bytes; then dense keys of which
 * most are erased (check_erase_most()).
 */
#define CHAIN_SPAN	200
#define CHAIN_BIG	65526
#define CHAIN_BIG_N	8

static u32 chain_key(u8 *b, int v, int which, u32 span)
{
	u32 len;

	memcpy(b, "chain-..prefix16", 16);
	b[6] = 'a' + v;
	b[7] = 'p';
	if (which >= 2) {
		/* An anchor: diverges from the pair at byte 16. */
		b[16] = 'a' + which;
		return 17;
	}
	memset(b + 16, 'x', span);
	len = 16 + span;
	if (v & 2) {
		/* The pair differs in length only: which 0 is the prefix. */
		if (which)
			b[len++] = 'y';
	} else {
		b[len++] = which ? 'b' : 'a';
	}
	return len;
}

static bool chain_expect(const char *what, u8 (*kb)[CHAIN_SPAN + 32],
			 const u32 *klen, const bool *present, int n,
			 unsigned long layers)
{
	struct masstree_stats st;
	unsigned long walked = 0, want = 0, held = 0;
	struct masstree_cursor c;
	void *got;
	int i;

	CHECK(!masstree_validate(&map), "%s: masstree_validate failed", what);
	for (i = 0; i < n; i++) {
		got = masstree_load(&map, kb[i], klen[i]);
		CHECK(got == (present[i] ? (void *)(uintptr_t)(8 * (i + 1)) : NULL),
		      "%s: key %d: load %p", what, i, got);
		if (present[i]) {
			want++;
			held += klen[i];
		}
	}
	masstree_cursor_init(&c, &map, GFP_KERNEL);
	masstree_for_each(&map, &c, got)
		walked++;
	masstree_cursor_fini(&c);
	CHECK(walked == want, "%s: a cursor walk found %lu keys, expected %lu",
	      what, walked, want);
	masstree_get_stats(&map, &st);
	CHECK(st.keys == want, "%s: stats %lu keys, expected %lu", what,
	      st.keys, want);
	if (!check_bytes(&st))
		return false;
	if (layers)
		CHECK(st.layers == layers && st.leaves == layers && !st.internodes,
		      "%s: %lu layers %lu leaves %lu internodes, expected %lu single-leaf layers",
		      what, st.layers, st.leaves, st.internodes, layers);
	/*
	 * Nodes plus each key's suffix, header included, slab-rounded (at
	 * most doubled).
	 */
	CHECK(st.bytes <= st.layers * MST_NODE_BYTES +
	      2 * (held + sizeof(struct mst_suffix) * want),
	      "%s: %lu bytes held for %lu keys of %lu bytes", what, st.bytes,
	      want, held);
	return true;
}

static bool check_chain_variant(int v)
{
	static u8 kb[4][CHAIN_SPAN + 32];
	/*
	 * Under the anchors: the top layer's slot spans the 8 bytes all four
	 * share, down to the anchors' layer.
	 */
	unsigned long folded = v & 1 ? 2 : 1;
	bool present[4] = { false };
	int gone = v & 4 ? 0 : 1, round, i;
	u32 klen[4];
	char what[64];

	for (i = 0; i < 4; i++)
		klen[i] = chain_key(kb[i], v, i, CHAIN_SPAN - v);
	for (i = v & 1 ? 3 : 1; i >= 0; i--) {
		CHECK(!masstree_insert(&map, kb[i], klen[i],
				       (void *)(uintptr_t)(8 * (i + 1)), GFP_KERNEL),
		      "chain variant %d: insert %d", v, i);
		present[i] = true;
	}
	for (round = 0; round < 2; round++) {
		snprintf(what, sizeof(what), "chain variant %d round %d", v, round);
		CHECK(masstree_erase(&map, kb[gone], klen[gone]) ==
		      (void *)(uintptr_t)(8 * (gone + 1)), "%s: erase", what);
		present[gone] = false;
		if (!chain_expect(what, kb, klen, present, 4, folded))
			return false;
		CHECK(!masstree_insert(&map, kb[gone], klen[gone],
				       (void *)(uintptr_t)(8 * (gone + 1)), GFP_KERNEL),
		      "%s: insert again", what);
		present[gone] = true;
		if (!chain_expect(what, kb, klen, present, 4, 0))
			return false;
	}
	for (i = 0; i < 4; i++)
		if (present[i])
			CHECK(masstree_erase(&map, kb[i], klen[i]),
			      "chain variant %d: erase %d", v, i);
	CHECK(!rcu_access_pointer(map.root), "chain variant %d: map not empty", v);
	return true;
}

/*
 * Key @i of the erase-most pattern: dense 8-byte slices (@kind 0); the
 * same with a 4-byte suffix (1); or 16-byte keys whose first slices come
 * in pairs, each pair sharing a slot that is a layer (2).
 */
static u32 most_key(u8 *b, unsigned int i, int kind)
{
	if (kind == 2) {
		put_unaligned_be64(i / 2, b);
		put_unaligned_be64(i % 2, b + 8);
		return 16;
	}
	put_unaligned_be64(i, b);
	if (!kind)
		return 8;
	memcpy(b + 8, "sfx!", 4);
	return 12;
}

/*
 * Dense keys inserted in order, then all but one of every @step erased in
 * @order (0 ascending, 1 descending, 2 scattered): the leaves and
 * internodes left with few entries must merge with their neighbours
 * (erase.c), the map hold every survivor and nothing else, the
 * statistics be exact, and the bytes per surviving key stay within @most
 * times what the same keys inserted into a fresh map hold. Without
 * merges, 15 of 16 erased leaves about a leaf per survivor: 8 to 9 times;
 * with leaf merges only, about 4 times (the internodes stay).
 */
static void erase_most(unsigned int step, int order, int kind, unsigned int most)
{
	static DEFINE_MASSTREE(fresh);
	const unsigned int n = 16 * 1024;
	struct masstree_stats st, fst;
	struct masstree_cursor cur;
	unsigned long dense, walked = 0;
	unsigned int i, j, keys = 0;
	void *got;
	u32 len;
	u8 k[16];

	for (i = 0; i < n; i++) {
		len = most_key(k, i, kind);
		if (masstree_insert(&map, k, len, (void *)(uintptr_t)(8 * i + 8),
				    GFP_KERNEL))
			DIE("erase-most: insert");
	}
	masstree_get_stats(&map, &st);
	dense = st.bytes / st.keys;
	for (j = 0; j < n; j++) {
		/* Scattered: a stride prime to n visits every key once. */
		i = order == 0 ? j : order == 1 ? n - 1 - j : (j * 7919) % n;
		if (!(i % step))
			continue;
		len = most_key(k, i, kind);
		if (masstree_erase(&map, k, len) != (void *)(uintptr_t)(8 * i + 8))
			DIE("erase-most: erase of key %u", i);
	}
	if (masstree_validate(&map))
		DIE("erase-most: masstree_validate failed");
	for (i = 0; i < n; i++) {
		len = most_key(k, i, kind);
		got = masstree_load(&map, k, len);
		if (got != (i % step ? NULL : (void *)(uintptr_t)(8 * i + 8)))
			DIE("erase-most: key %u: load %p", i, got);
		if (i % step)
			continue;
		keys++;
		if (masstree_insert(&fresh, k, len, got, GFP_KERNEL))
			DIE("erase-most: insert afresh");
	}
	masstree_cursor_init(&cur, &map, GFP_KERNEL);
	masstree_for_each(&map, &cur, got)
		walked++;
	masstree_cursor_fini(&cur);
	masstree_get_stats(&map, &st);
	masstree_get_stats(&fresh, &fst);
	masstree_destroy(&fresh);
	if (st.keys != keys || walked != keys)
		DIE("erase-most: %lu keys, %lu walked, %u expected", st.keys,
		    walked, keys);
	printf("difftest: erase-most %u of %u (%s, %s keys): ", step - 1, step,
	       order == 0 ? "ascending" : order == 1 ? "descending" : "scattered",
	       kind == 0 ? "8-byte" : kind == 1 ? "suffix" : "layer");
	printf("%lu B/key dense, %lu after (%lu leaves, %lu internodes), %lu afresh\n",
	       dense, st.bytes / st.keys, st.leaves, st.internodes,
	       fst.bytes / fst.keys);
	if (st.bytes > (unsigned long)most * fst.bytes)
		DIE("erase-most: %lu bytes left for %lu keys, over %u times %lu afresh",
		    st.bytes, st.keys, most, fst.bytes);
	masstree_destroy(&map);
}

/*
 * A leaf that cannot merge empties and goes: the first leaf of a parent
 * that is not the layer's first, left with 3 keys next to a full
 * neighbour (15 + 3 do not fit), is erased empty, so it is unlinked and
 * its range handed to the next leaf, whose lower bound drops to its own.
 * In-order inserts of 1000 + 16 * i, i < 136, make a root over two
 * internodes, of 8 and 9 leaves of 8 keys, the second's first leaf
 * holding i 64..71; its next leaf is filled to 15.
 */
static void first_leaf_empties(void)
{
	struct masstree_stats st;
	unsigned int i;
	u8 k[8];

	for (i = 0; i < 136; i++) {
		put_unaligned_be64(1000 + 16 * i, k);
		if (masstree_insert(&map, k, 8, (void *)(uintptr_t)(8 * i + 8),
				    GFP_KERNEL))
			DIE("first-leaf: insert");
	}
	for (i = 72; i < 79; i++) {
		put_unaligned_be64(1000 + 16 * i + 8, k);
		if (masstree_insert(&map, k, 8, (void *)8, GFP_KERNEL))
			DIE("first-leaf: insert");
	}
	masstree_get_stats(&map, &st);
	if (st.leaves != 17 || st.internodes != 3)
		DIE("first-leaf: %lu leaves, %lu internodes; expected 17, 3",
		    st.leaves, st.internodes);
	for (i = 64; i < 72; i++) {
		put_unaligned_be64(1000 + 16 * i, k);
		if (masstree_erase(&map, k, 8) != (void *)(uintptr_t)(8 * i + 8))
			DIE("first-leaf: erase");
	}
	masstree_get_stats(&map, &st);
	if (st.leaves != 16 || masstree_validate(&map))
		DIE("first-leaf: %lu leaves (expected 16), or masstree_validate failed",
		    st.leaves);
	/* The handed-over range takes keys again. */
	put_unaligned_be64(1000 + 16 * 64 + 4, k);
	if (masstree_insert(&map, k, 8, (void *)8, GFP_KERNEL) ||
	    masstree_load(&map, k, 8) != (void *)8 || masstree_validate(&map))
		DIE("first-leaf: a key in the handed-over range");
	masstree_destroy(&map);
}

/*
 * The same for the layer's leftmost leaf: it goes too (a root internode
 * over leaves of 8, the second filled to 15).
 */
static void leftmost_leaf_empties(void)
{
	struct masstree_stats st;
	unsigned int i;
	u8 k[8];

	for (i = 0; i < 32; i++) {
		put_unaligned_be64(100 + 2 * i, k);
		if (masstree_insert(&map, k, 8, (void *)(uintptr_t)(8 * i + 8),
				    GFP_KERNEL))
			DIE("leftmost-leaf: insert");
	}
	for (i = 8; i < 15; i++) {
		put_unaligned_be64(101 + 2 * i, k);
		if (masstree_insert(&map, k, 8, (void *)8, GFP_KERNEL))
			DIE("leftmost-leaf: insert");
	}
	masstree_get_stats(&map, &st);
	if (st.leaves != 4)
		DIE("leftmost-leaf: %lu leaves, expected 4", st.leaves);
	for (i = 0; i < 8; i++) {
		put_unaligned_be64(100 + 2 * i, k);
		if (masstree_erase(&map, k, 8) != (void *)(uintptr_t)(8 * i + 8))
			DIE("leftmost-leaf: erase");
	}
	masstree_get_stats(&map, &st);
	if (st.leaves != 3 || masstree_validate(&map))
		DIE("leftmost-leaf: %lu leaves (expected 3), or masstree_validate failed",
		    st.leaves);
	masstree_destroy(&map);
}

static void check_erase_most(void)
{
	int order, kind;

	phase = "erase-most";
	leftmost_leaf_empties();
	first_leaf_empties();
	for (order = 0; order < 3; order++)
		for (kind = 0; kind < 3; kind++)
			erase_most(16, order, kind, 3);
	erase_most(4, 0, 0, 2);
	erase_most(4, 2, 1, 2);
}

static void check_chains(void)
{
	static DEFINE_MASSTREE(fresh);
	struct masstree_stats st, fst;
	unsigned long before, after, charge;
	u8 *big = malloc(CHAIN_BIG + 16);
	u32 len = 0;
	int v, i;

	phase = "layer-chains";
	for (v = 0; v < 8; v++)
		if (!check_chain_variant(v))
			DIE("%s", fail_msg);

	/* P<i> + 65526 'x' + 'a' and + 'b'; erase the 'b' keys. */
	for (i = 0; i < CHAIN_BIG_N; i++) {
		len = sprintf((char *)big, "P%d", i);
		memset(big + len, 'x', CHAIN_BIG);
		len += CHAIN_BIG + 1;
		big[len - 1] = 'a';
		if (masstree_insert(&map, big, len, (void *)8, GFP_KERNEL))
			DIE("chain pattern: insert");
		big[len - 1] = 'b';
		if (masstree_insert(&map, big, len, (void *)16, GFP_KERNEL))
			DIE("chain pattern: insert");
	}
	masstree_get_stats(&map, &st);
	before = st.bytes / st.keys;
	for (i = 0; i < CHAIN_BIG_N; i++) {
		len = sprintf((char *)big, "P%d", i);
		memset(big + len, 'x', CHAIN_BIG);
		len += CHAIN_BIG + 1;
		big[len - 1] = 'b';
		if (masstree_erase(&map, big, len) != (void *)16)
			DIE("chain pattern: erase");
	}
	if (masstree_validate(&map))
		DIE("chain pattern: masstree_validate failed");
	masstree_get_stats(&map, &st);
	after = st.bytes / st.keys;
	/* What /dev/masstree charges a PUT: key, value and 64. */
	charge = len + 8 + 64;
	printf("difftest: chain pattern: %d keys of %u bytes: ", CHAIN_BIG_N, len);
	printf("%lu bytes per key with both of each pair, %lu after erasing one ",
	       before, after);
	printf("(%lu layers; charge %lu, %.2fx)\n", st.layers, charge,
	       (double)after / charge);
	/* Exactly what the survivors alone, inserted afresh, hold. */
	for (i = 0; i < CHAIN_BIG_N; i++) {
		len = sprintf((char *)big, "P%d", i);
		memset(big + len, 'x', CHAIN_BIG);
		len += CHAIN_BIG + 1;
		big[len - 1] = 'a';
		if (masstree_insert(&fresh, big, len, (void *)8, GFP_KERNEL))
			DIE("chain pattern: insert afresh");
		if (masstree_erase(&map, big, len) != (void *)8)
			DIE("chain pattern: survivor %d missing", i);
	}
	masstree_get_stats(&fresh, &fst);
	masstree_destroy(&fresh);
	if (st.keys != CHAIN_BIG_N || st.layers != 1 || st.bytes != fst.bytes)
		DIE("chain pattern: %lu keys, %lu layers, %lu bytes; %lu afresh",
		    st.keys, st.layers, st.bytes, fst.bytes);
	free(big);

	check_erase_most();
}

/* The operations since the map was last empty, for the shrinker. */
static struct op *oplog;
static unsigned long oplog_len, oplog_cap;

static void log_op(const struct op *op)
{
	if (oplog_len == oplog_cap) {
		oplog_cap = oplog_cap ? 2 * oplog_cap : 65536;
		oplog = realloc(oplog, oplog_cap * sizeof(*oplog));
		if (!oplog)
			DIE("out of memory for the operation log");
	}
	oplog[oplog_len++] = *op;
}

/* A fresh map and reference. */
static void reset_all(void)
{
	masstree_cursor_fini(&cur);
	masstree_destroy(&map);
	masstree_init(&map, 0);
	masstree_cursor_init(&cur, &map, GFP_KERNEL);
	refmap_cursor_reset(&rcur);
	refmap_clear(&ref);
}

static unsigned long replays;

/* Run @ops on a fresh map: true if they fail (a difference anywhere). */
static bool replay_fails(const struct op *ops, unsigned long n)
{
	unsigned long i;
	bool ok = true;

	replays++;
	reset_all();
	for (i = 0; i < n && ok; i++)
		ok = apply(&ops[i]);
	if (ok)
		ok = compare_scans();
	/* Loads too: a key a load misses may still show in a scan. */
	for (i = 0; i < n && ok; i++) {
		const struct key *key = &keys[ops[i].k];
		void *got = masstree_load(&map, key->b, key->len);

		if (got != ref_of(ops[i].k))
			ok = failf("key %u: load %p, expected %p", ops[i].k, got,
				   ref_of(ops[i].k));
	}
	return !ok;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/*
 * Shrink a failing list in place: the shortest failing prefix (binary
 * search; failures are nearly always monotonic in the prefix), then
 * delta debugging: drop chunks of halving size while the rest still
 * fails. Gives up improving after @secs seconds. Returns the new length.
 */
static unsigned long shrink(struct op *ops, unsigned long n, double secs)
{
	double t_end = now() + secs;
	unsigned long lo = 1, hi = n, chunk, i;

	if (!replay_fails(ops, n))
		return 0;
	while (lo < hi && now() < t_end) {
		unsigned long mid = (lo + hi) / 2;

		if (replay_fails(ops, mid))
			hi = mid;
		else
			lo = mid + 1;
	}
	n = hi;
	for (chunk = n / 2 ? n / 2 : 1; chunk >= 1 && now() < t_end; chunk /= 2) {
		struct op *save = malloc(chunk * sizeof(*save));

		for (i = 0; i + chunk <= n && now() < t_end;) {
			memcpy(save, ops + i, chunk * sizeof(*save));
			memmove(ops + i, ops + i + chunk,
				(n - i - chunk) * sizeof(*ops));
			if (replay_fails(ops, n - chunk)) {
				n -= chunk;
				continue;
			}
			memmove(ops + i + chunk, ops + i,
				(n - i - chunk) * sizeof(*ops));
			memcpy(ops + i, save, chunk * sizeof(*save));
			i += chunk;
		}
		free(save);
		if (chunk == 1)
			break;
	}
	return n;
}

/* One line per operation: what --replay reads back. */
static void print_op(FILE *f, const struct op *op)
{
	fprintf(f, "%s k=%u blen=%u k2=%u blen2=%u arg=%u flags=%#x limit=%u",
		op_name[op->kind], op->k, op->blen, op->k2, op->blen2, op->arg,
		op->flags, op->limit);
	fprintf(f, " v=%#llx o=%#llx nth=%u preload=%u",
		(unsigned long long)op->v, (unsigned long long)op->o, op->nth,
		op->preload);
	fprintf(f, "\t# key len %u:", keys[op->k].len);
	for (u32 i = 0; i < keys[op->k].len && i < 12; i++)
		fprintf(f, " %02x", keys[op->k].b[i]);
	fprintf(f, keys[op->k].len > 12 ? " ...\n" : "\n");
}

static void write_replay(FILE *f, const struct op *ops, unsigned long n)
{
	unsigned long i;

	fprintf(f, "# difftest --replay FILE: keys come from the seed\nseed %lu\n",
		seed);
	for (i = 0; i < n; i++)
		print_op(f, &ops[i]);
}

/* Read a replay file; the seed line rebuilds the key table first. */
static struct op *read_replay(const char *path, unsigned long *n,
			      void (*build)(void))
{
	FILE *f = fopen(path, "r");
	struct op *ops = NULL;
	unsigned long cap_ops = 0;
	char line[1024];

	if (!f)
		DIE("cannot open %s", path);
	*n = 0;
	while (fgets(line, sizeof(line), f)) {
		char *tok, *save = NULL;
		struct op op = { 0 };
		int kind;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "seed %lu", &seed) == 1) {
			build();
			continue;
		}
		if (!keys)
			DIE("%s: no seed line before the operations", path);
		tok = strtok_r(line, " \t\n", &save);
		for (kind = 0; kind < OP_NR; kind++)
			if (!strcmp(tok, op_name[kind]))
				break;
		if (kind == OP_NR)
			DIE("%s: unknown operation %s", path, tok);
		op.kind = kind;
		while ((tok = strtok_r(NULL, " \t\n", &save)) && tok[0] != '#') {
			char *eq = strchr(tok, '=');
			unsigned long long x;

			if (!eq)
				DIE("%s: bad field %s", path, tok);
			*eq = 0;
			x = strtoull(eq + 1, NULL, 0);
#define FIELD(name) if (!strcmp(tok, #name)) op.name = x; else
			FIELD(k) FIELD(blen) FIELD(k2) FIELD(blen2) FIELD(arg)
			FIELD(flags) FIELD(limit) FIELD(v) FIELD(o) FIELD(nth)
			FIELD(preload)
				DIE("%s: unknown field %s", path, tok);
#undef FIELD
		}
		if (op.k >= nkeys || op.k2 >= nkeys || op.blen > keys[op.k].len ||
		    op.blen2 > keys[op.k2].len)
			DIE("%s: key out of range", path);
		if (*n == cap_ops) {
			cap_ops = cap_ops ? 2 * cap_ops : 256;
			ops = realloc(ops, cap_ops * sizeof(*ops));
		}
		ops[(*n)++] = op;
	}
	fclose(f);
	return ops;
}

static void build_keys(void)
{
	unsigned long start, i, out;
	int sh;

	rng_state = seed;
	nkeys = 0;
	kbuf = malloc(MASSTREE_MAX_KEY_LEN + 2);
	for (sh = 0; sh < SH_NR; sh++) {
		start = nkeys;
		if (sh == SH_SPECIAL)
			gen_special();
		else if (sh == SH_BIG)
			gen_shape(sh, 48);
		else
			gen_shape(sh, sh == SH_MIX ? 20000 :
				  sh == SH_SPAN ? 4000 : 30000);
		/* Sort and dedupe this shape's range. */
		qsort(keys + start, nkeys - start, sizeof(*keys), keycmp);
		for (i = out = start; i < nkeys; i++) {
			if (out > start && !keycmp(&keys[out - 1], &keys[i])) {
				free(keys[i].b);
				continue;
			}
			keys[out++] = keys[i];
		}
		nkeys = out;
		shape_lo[sh] = start;
		shape_hi[sh] = nkeys;
	}
	sort_globally();
	free(snapshot);
	snapshot = calloc(nkeys, sizeof(*snapshot));
}

/*
 * Share of the operations per phase: the big and special keys (few keys,
 * slow operations) get 1/16 of a normal phase; the last phase, all
 * shapes at once, is normal.
 */
static unsigned long phase_weight(int sh)
{
	return sh == SH_BIG || sh == SH_SPECIAL ? 1 : 16;
}

static const char *replay_out;
static double shrink_secs = 60;

/* A difference: report it, shrink the log, print the replay; exit 1. */
static void __attribute__((noreturn)) report_failure(void)
{
	unsigned long n = oplog_len, m;
	char first[sizeof(fail_msg)];

	fprintf(stderr, "difftest FAILED (seed %lu, phase %s, op %lu): %s\n",
		seed, phase, opno, fail_msg);
	memcpy(first, fail_msg, sizeof(first));
	fprintf(stderr, "difftest: shrinking the %lu operations since the map was empty...\n",
		n);
	m = shrink(oplog, n, shrink_secs);
	if (!m) {
		fprintf(stderr,
			"difftest: the failure does not reproduce on a fresh map: rerun with -s %lu\n",
			seed);
		exit(1);
	}
	replay_fails(oplog, m);
	fprintf(stderr, "difftest: %lu operations still fail (%lu replays): %s\n",
		m, replays, fail_msg);
	write_replay(stderr, oplog, m);
	if (replay_out) {
		FILE *f = fopen(replay_out, "w");

		if (f) {
			write_replay(f, oplog, m);
			fclose(f);
			fprintf(stderr, "difftest: replay written to %s: difftest --replay %s\n",
				replay_out, replay_out);
		}
	}
	exit(1);
}

static int run_replay(const char *path)
{
	unsigned long n;
	struct op *ops = read_replay(path, &n, build_keys);

	masstree_cursor_init(&cur, &map, GFP_KERNEL);
	if (replay_fails(ops, n)) {
		fprintf(stderr, "difftest: replay of %lu operations FAILED: %s\n", n,
			fail_msg);
		return 1;
	}
	printf("difftest: replay of %lu operations: PASS\n", n);
	return 0;
}

/*
 * The checker and the shrinker checked: with the planted reference bug,
 * a random run must fail, and shrink to the five operations the bug
 * needs (four inserts and an erase) give or take a few; the short list
 * must pass without the bug and fail again read back from a file.
 */
static int self_test(void)
{
	char path[] = "/tmp/difftest-selftest-XXXXXX";
	unsigned long i, n = 3000, m, m2;
	struct op *ops, *back;
	FILE *f;
	int fd;

	seed = 77;
	build_keys();
	masstree_cursor_init(&cur, &map, GFP_KERNEL);
	ops = calloc(n, sizeof(*ops));
	for (i = 0; i < n; i++)
		gen_op(&ops[i], shape_lo[SH_MIX], shape_hi[SH_MIX]);
	plant = false;
	if (replay_fails(ops, n)) {
		fprintf(stderr, "self-test: fails without the planted bug: %s\n",
			fail_msg);
		return 1;
	}
	plant = true;
	if (!replay_fails(ops, n)) {
		fprintf(stderr, "self-test FAILED: the planted bug went unnoticed\n");
		return 1;
	}
	printf("self-test: planted bug caught: %s\n", fail_msg);
	m = shrink(ops, n, 60);
	printf("self-test: shrunk %lu operations to %lu in %lu replays:\n", n, m,
	       replays);
	write_replay(stdout, ops, m);
	if (m < 5 || m > 8) {
		fprintf(stderr, "self-test FAILED: expected 5 to 8 operations, got %lu\n",
			m);
		return 1;
	}
	plant = false;
	if (replay_fails(ops, m)) {
		fprintf(stderr, "self-test FAILED: the short list fails without the bug\n");
		return 1;
	}
	fd = mkstemp(path);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f)
		DIE("cannot create %s", path);
	write_replay(f, ops, m);
	fclose(f);
	back = read_replay(path, &m2, build_keys);
	unlink(path);
	plant = true;
	if (m2 != m || memcmp(back, ops, m * sizeof(*ops)) ||
	    !replay_fails(back, m2)) {
		fprintf(stderr, "self-test FAILED: the replay file does not round-trip\n");
		return 1;
	}
	plant = false;
	reset_all();
	masstree_cursor_fini(&cur);
	masstree_destroy(&map);
	printf("self-test: PASS\n");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "replay", required_argument, NULL, 'R' },
		{ "self-test", no_argument, NULL, 'X' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long total = 0, total_weight = 0, n_by_kind[OP_NR] = { 0 };
	const char *replay_in = NULL;
	bool selftest = false;
	double t0, secs;
	int opt, sh;

	while ((opt = getopt_long(argc, argv, "s:n:w:T:", lopts, NULL)) != -1) {
		if (opt == 's')
			seed = strtoul(optarg, NULL, 0);
		else if (opt == 'n')
			nops = strtoul(optarg, NULL, 0);
		else if (opt == 'w')
			replay_out = optarg;
		else if (opt == 'T')
			shrink_secs = atof(optarg);
		else if (opt == 'R')
			replay_in = optarg;
		else if (opt == 'X')
			selftest = true;
		else
			return 2;
	}
	/* Progress survives a kill by the caller's timeout. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	rcu_register_thread();
	if (mst_node_caches_init())
		DIE("caches");
	refmap_init(&ref, shim_uncounted_alloc, shim_uncounted_free, GFP_KERNEL);
	refmap_cursor_init(&rcur, &ref);
	if (selftest)
		return self_test();
	if (replay_in)
		return run_replay(replay_in);
	build_keys();
	masstree_cursor_init(&cur, &map, GFP_KERNEL);
	check_lengths();
	check_chains();

	for (sh = 0; sh <= SH_NR; sh++)
		total_weight += phase_weight(sh);
	t0 = now();
	for (sh = 0; sh <= SH_NR; sh++) {
		unsigned long lo = sh < SH_NR ? shape_lo[sh] : 0;
		unsigned long hi = sh < SH_NR ? shape_hi[sh] : nkeys;
		unsigned long n, i;
		struct op op;

		/* -n is the total: the last phase takes the remainder. */
		if (sh < SH_NR)
			n = nops * phase_weight(sh) / total_weight;
		else
			n = nops - total;
		phase = sh < SH_NR ? shape_name[sh] : "all-shapes";
		for (i = 0; i < n; i++) {
			opno = i;
			gen_op(&op, lo, hi);
			log_op(&op);
			n_by_kind[op.kind]++;
			if (!apply(&op))
				report_failure();
			if (i % (n / 4 + 1) == 0 && !full_compare())
				report_failure();
		}
		if (!full_compare())
			report_failure();
		total += n;
		printf("difftest: phase %s: %lu ops\n", phase, n);
		if (sh % 2 == 0 || sh == SH_NR) {
			if (!erase_all())
				report_failure();
			oplog_len = 0;
			masstree_cursor_fini(&cur);
			masstree_cursor_init(&cur, &map, GFP_KERNEL);
			refmap_cursor_reset(&rcur);
		}
	}
	secs = now() - t0;

	phase = "destroy";
	masstree_cursor_fini(&cur);
	masstree_destroy(&map);
	refmap_cursor_fini(&rcur);
	refmap_clear(&ref);
	mst_preload_drain();
	mst_node_caches_exit();
	if (shim_live_allocs)
		DIE("%ld allocations leaked", shim_live_allocs);
	if (shim_warnings)
		DIE("%ld warnings", shim_warnings);
	printf("difftest: seed %lu: %lu ops (%lu -ENOMEM) over %lu keys;",
	       seed, total, n_enomem, nkeys);
	printf(" scans and cursors returned %lu keys\n", n_scanned);
	printf("difftest: by kind:");
	for (sh = 0; sh < OP_NR; sh++)
		printf(" %s %lu", op_name[sh], n_by_kind[sh]);
	printf("\ndifftest: %.2fs, %.0f ops/s: PASS\n", secs, total / secs);
	return 0;
}
