// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the input bytes are a program of map operations
 * (insert, store, store of NULL, cmpxchg four ways, erase, load, scans
 * with every flag, a cursor that seeks, steps both ways and pauses
 * between operations) run on a fresh map and on a reference (a sorted
 * array of keys), every result compared. Any write may be told to fail
 * its Nth allocation through the counting allocator; after -ENOMEM the
 * map must be exactly unchanged: same stats, a valid tree, the same
 * contents by a full scan. Each input ends with a full comparison, a
 * destroy, and a leak check once the RCU callbacks have run.
 *
 * A difference aborts, so libFuzzer saves the input as crash-*; rerun
 * it with `fuzz crash-FILE` (FUZZ_VERBOSE=1 prints each operation).
 *
 * Input format, one operation after another until the bytes run out:
 *   op byte: low 4 bits the operation, bit 7 "fail an allocation"
 *     (then one byte: which one, 1 to 4), bit 6 "preload first";
 *   a key: a mode byte then its bytes (see read_key());
 *   then operation-specific bytes (flags, a second key, a limit).
 */
#include "../include/shim.h"
#include <linux/masstree.h>
#include "../lib/alloc.h"
#include "../../masstree/testing.h"

#define MAX_OPS		4096
#define KEY_MAX		400

struct rent {
	u8 *b;
	u32 len;
	void *v;
};

/* The reference: keys in increasing order. */
static struct rent *refs;
static size_t nref, capref;

static DEFINE_MASSTREE(map);
static struct masstree_cursor cur;
static bool verbose;

static const u8 *in;
static size_t in_len, in_pos;

static u8 next_byte(void)
{
	return in_pos < in_len ? in[in_pos++] : 0;
}

#define FAIL(...) do {							\
	fprintf(stderr, "fuzz: difference: " __VA_ARGS__);		\
	fprintf(stderr, "\n");						\
	abort();							\
} while (0)

static int bytes_cmp(const u8 *a, size_t alen, const u8 *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;

	if (c)
		return c;
	return (alen > blen) - (alen < blen);
}

/* First index whose key is >= (> if @strict) the bytes. */
static size_t ref_bound(const u8 *b, size_t len, bool strict)
{
	size_t lo = 0, hi = nref;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = bytes_cmp(refs[mid].b, refs[mid].len, b, len);

		if (c < 0 || (strict && !c))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void *ref_get(const u8 *b, size_t len)
{
	size_t i = ref_bound(b, len, false);

	if (i < nref && !bytes_cmp(refs[i].b, refs[i].len, b, len))
		return refs[i].v;
	return NULL;
}

static void ref_put(const u8 *b, size_t len, void *v)
{
	size_t i = ref_bound(b, len, false);
	bool found = i < nref && !bytes_cmp(refs[i].b, refs[i].len, b, len);

	if (found && v) {
		refs[i].v = v;
	} else if (found) {
		free(refs[i].b);
		memmove(refs + i, refs + i + 1, (nref - i - 1) * sizeof(*refs));
		nref--;
	} else if (v) {
		if (nref == capref) {
			capref = capref ? 2 * capref : 64;
			refs = realloc(refs, capref * sizeof(*refs));
		}
		memmove(refs + i + 1, refs + i, (nref - i) * sizeof(*refs));
		refs[i].b = malloc(len ? len : 1);
		memcpy(refs[i].b, b, len);
		refs[i].len = len;
		refs[i].v = v;
		nref++;
	}
}

/*
 * A key: mode byte m, then
 *   m % 4 == 0: fresh: length (0 to 32, plus 8 * 0..7 with bit 6), bytes;
 *   m % 4 == 1: a key of the reference, by index;
 *   m % 4 == 2: a reference key changed: cut, extended by a byte, or its
 *     last byte moved by one (the neighbours of present keys);
 *   m % 4 == 3: one of four shared prefixes (0, 8, 16, 24 bytes: layers)
 *     and a tail of up to 10 bytes over a two-letter alphabet, so that
 *     keys share slices.
 */
static size_t read_key(u8 *b)
{
	static const u8 prefix[] = "masstree-layer-prefix-24";
	u8 m = next_byte();
	size_t len, i;

	switch (m % 4) {
	case 0:
		len = next_byte() % 33;
		if (m & 0x40)
			len += 8 * (next_byte() % 8);
		for (i = 0; i < len; i++)
			b[i] = next_byte();
		return len;
	case 1:
	case 2:
		if (!nref)
			return 0;
		i = next_byte() % nref;
		len = refs[i].len;
		memcpy(b, refs[i].b, len);
		if (m % 4 == 1)
			return len;
		switch ((m >> 2) % 3) {
		case 0:
			return len ? next_byte() % len : 0;
		case 1:
			/* Extensions of extensions: stop at KEY_MAX. */
			if (len == KEY_MAX)
				return len;
			b[len] = next_byte();
			return len + 1;
		default:
			if (len)
				b[len - 1] += m & 0x80 ? 1 : -1;
			return len;
		}
	default:
		len = 8 * ((m >> 2) % 4);
		memcpy(b, prefix, len);
		for (i = 0; i < (m >> 4) % 11; i++)
			b[len + i] = "ab"[(next_byte() >> (i % 8)) & 1];
		return len + i;
	}
}

static unsigned long vseq;

static void *new_val(void)
{
	return (void *)(uintptr_t)((((++vseq) & 0xffffff) + 1) << 3);
}

/*
 * The reference cursor: a copy of its key (the reference may drop it),
 * its state and bound, as in struct masstree_cursor.
 */
enum { RC_NONE, RC_VALID, RC_END, RC_ERR };
enum { RB_NONE, RB_KEY, RB_PREFIX };

struct rcur {
	int state;
	u8 key[KEY_MAX + 1];
	size_t len;
	int bound;
	bool brev, bexcl;
	const u8 *end;
	size_t end_len;
};

static bool rcur_out(const struct rcur *rc, size_t i, bool rev)
{
	const struct rent *e = &refs[i];
	int c;

	if (rc->bound == RB_NONE || rc->brev != rev)
		return false;
	if (rc->bound == RB_PREFIX)
		return e->len < rc->end_len ||
		       (rc->end_len && memcmp(e->b, rc->end, rc->end_len));
	c = bytes_cmp(e->b, e->len, rc->end, rc->end_len);
	if (rev)
		return rc->bexcl ? c <= 0 : c < 0;
	return rc->bexcl ? c >= 0 : c > 0;
}

/* Land on index @i (nref or -1: nothing); the index or -1. */
static long rcur_land(struct rcur *rc, long i, bool rev)
{
	if (i < 0 || (size_t)i >= nref || rcur_out(rc, i, rev)) {
		rc->state = RC_END;
		return -1;
	}
	rc->state = RC_VALID;
	memcpy(rc->key, refs[i].b, refs[i].len);
	rc->len = refs[i].len;
	return i;
}

static long rcur_seek_range(struct rcur *rc, const u8 *s, size_t slen,
			    const u8 *e, size_t elen, unsigned int flags)
{
	bool rev = flags & MASSTREE_SCAN_REVERSE;
	bool excl = flags & MASSTREE_SCAN_START_EXCL;
	long i;

	rc->bound = RB_NONE;
	if (!(flags & MASSTREE_SCAN_NO_END)) {
		rc->bound = RB_KEY;
		rc->brev = rev;
		rc->bexcl = flags & MASSTREE_SCAN_END_EXCL;
		rc->end = e;
		rc->end_len = elen;
	}
	if (flags & MASSTREE_SCAN_NO_START)
		i = rev ? (long)nref - 1 : 0;
	else if (rev)
		i = (long)ref_bound(s, slen, !excl) - 1;
	else
		i = ref_bound(s, slen, excl);
	return rcur_land(rc, i, rev);
}

static long rcur_seek_prefix(struct rcur *rc, const u8 *p, size_t len, bool rev)
{
	long i = ref_bound(p, len, false);

	rc->bound = RB_PREFIX;
	rc->brev = rev;
	rc->end = p;
	rc->end_len = len;
	if (rev) {
		while ((size_t)i < nref && refs[i].len >= len &&
		       (!len || !memcmp(refs[i].b, p, len)))
			i++;
		i--;
	}
	return rcur_land(rc, i, rev);
}

static long rcur_step(struct rcur *rc, bool rev)
{
	if (rc->state == RC_NONE) {
		rc->bound = RB_NONE;
		return rcur_land(rc, rev ? (long)nref - 1 : 0, rev);
	}
	if (rc->state != RC_VALID)
		return -1;
	if (rev)
		return rcur_land(rc, (long)ref_bound(rc->key, rc->len, false) - 1,
				 rev);
	return rcur_land(rc, ref_bound(rc->key, rc->len, true), rev);
}

static struct rcur rcur;
/* The current operation was told to fail an allocation. */
static bool injecting;
/* The cursor's bound bytes: they must outlive the iteration. */
static u8 cur_end[KEY_MAX + 1];

static void check_found(const char *what, const u8 *key, size_t len,
			void *entry, long i)
{
	if (i < 0)
		FAIL("%s: key of len %zu, expected the end", what, len);
	if (bytes_cmp(key, len, refs[i].b, refs[i].len) || entry != refs[i].v)
		FAIL("%s: key of len %zu entry %p, expected index %ld (len %u) entry %p",
		     what, len, entry, i, refs[i].len, refs[i].v);
}

static void check_cursor(const char *what, void *got, long i)
{
	if (i < 0) {
		if (got || cur.err != (rcur.state == RC_ERR ? -ENOMEM : 0))
			FAIL("%s: %p (err %d), expected the end", what, got,
			     cur.err);
		return;
	}
	if (!got)
		FAIL("%s: the end (err %d), expected index %ld", what, cur.err, i);
	check_found(what, masstree_cursor_key(&cur), masstree_cursor_len(&cur),
		    got, i);
}

struct scan_ctx {
	struct rcur rc;
	bool rev;
	unsigned int limit, seen;
	long first;
};

static int scan_fn(const void *key, size_t len, void *entry, void *arg)
{
	struct scan_ctx *sc = arg;
	long i = sc->seen ? rcur_step(&sc->rc, sc->rev) : sc->first;

	check_found("scan", key, len, entry, i);
	return ++sc->seen == sc->limit ? 42 : 0;
}

/* A scan of [a, b] (or part of it, by the flags), stopped after limit. */
static int scan_cmp(const u8 *a, size_t alen, const u8 *b, size_t blen,
		    unsigned int flags, unsigned int limit, bool may_fail)
{
	struct scan_ctx sc = { .rev = flags & MASSTREE_SCAN_REVERSE,
			       .limit = limit };
	int ret;

	sc.first = rcur_seek_range(&sc.rc, a, alen, b, blen, flags);
	ret = masstree_scan(&map, a, alen, b, blen, flags, scan_fn, &sc);
	if (ret == -ENOMEM && may_fail)
		return ret;
	if (ret == 42)
		return 0;
	if (ret)
		FAIL("scan returned %d after %u keys", ret, sc.seen);
	if ((sc.seen ? rcur_step(&sc.rc, sc.rev) : sc.first) >= 0)
		FAIL("scan ended after %u keys, the reference goes on", sc.seen);
	return 0;
}

/* Everything: a valid tree, the right key count, the same contents. */
static void full_check(const char *when)
{
	struct masstree_stats st;
	unsigned int f = MASSTREE_SCAN_NO_START | MASSTREE_SCAN_NO_END;

	if (masstree_validate(&map))
		FAIL("%s: masstree_validate failed", when);
	masstree_get_stats(&map, &st);
	if (st.keys != nref)
		FAIL("%s: stats keys %lu, expected %zu", when, st.keys, nref);
	scan_cmp(NULL, 0, NULL, 0, f, 0, false);
	scan_cmp(NULL, 0, NULL, 0, f | MASSTREE_SCAN_REVERSE, 0, false);
}

static bool same_stats(const struct masstree_stats *a,
		       const struct masstree_stats *b)
{
	return a->keys == b->keys && a->leaves == b->leaves &&
	       a->internodes == b->internodes && a->layers == b->layers &&
	       a->bytes == b->bytes && a->height == b->height;
}

enum {
	F_INSERT, F_STORE, F_STORE_NULL, F_CX_CURRENT, F_CX_NULL, F_CX_WRONG,
	F_CX_TO_NULL, F_ERASE, F_LOAD, F_SCAN, F_SEEK, F_NEXT, F_PREV,
	F_CUR_RESET, F_CHECK, F_LOAD2,
};

static void do_seek(const u8 *k, size_t len)
{
	u8 how = next_byte();
	unsigned int flags = next_byte() % 32;
	bool rev = flags & MASSTREE_SCAN_REVERSE;
	size_t elen;
	void *got;
	long i;

	elen = read_key(cur_end);
	switch (how % 6) {
	case 0:
		got = masstree_seek(&cur, k, len);
		i = rcur_seek_range(&rcur, k, len, NULL, 0, MASSTREE_SCAN_NO_END);
		break;
	case 1:
		got = masstree_seek_rev(&cur, k, len);
		i = rcur_seek_range(&rcur, k, len, NULL, 0,
				    MASSTREE_SCAN_NO_END | MASSTREE_SCAN_REVERSE);
		break;
	case 2:
		got = masstree_seek_range(&cur, k, len, cur_end, elen, flags);
		i = rcur_seek_range(&rcur, k, len, cur_end, elen, flags);
		break;
	case 3:
		/* The prefix lives in cur_end: it must outlive the loop. */
		memcpy(cur_end, k, len);
		got = masstree_seek_prefix(&cur, cur_end, len,
					   rev ? MASSTREE_SCAN_REVERSE : 0);
		i = rcur_seek_prefix(&rcur, cur_end, len, rev);
		break;
	case 4:
		got = masstree_first(&cur);
		i = rcur_seek_range(&rcur, NULL, 0, NULL, 0,
				    MASSTREE_SCAN_NO_START | MASSTREE_SCAN_NO_END);
		break;
	default:
		got = masstree_last(&cur);
		i = rcur_seek_range(&rcur, NULL, 0, NULL, 0, MASSTREE_SCAN_NO_START |
				    MASSTREE_SCAN_NO_END | MASSTREE_SCAN_REVERSE);
		break;
	}
	if (!got && cur.err == -ENOMEM && injecting) {
		rcur.state = RC_ERR;
		return;
	}
	check_cursor("seek", got, i);
}

static void one_op(void)
{
	u8 opb = next_byte(), kb[KEY_MAX + 1], kb2[KEY_MAX + 1];
	unsigned int op = opb % 16, flags, limit;
	struct masstree_stats before, after;
	size_t len = read_key(kb), len2;
	void *old = ref_get(kb, len), *v = new_val(), *ret, *o;
	gfp_t gfp = GFP_KERNEL;
	bool preload = false;
	int err;

	injecting = false;
	if (opb & 0x80) {
		masstree_get_stats(&map, &before);
		shim_fail_nth = 1 + next_byte() % 4;
		injecting = true;
	} else if ((opb & 0x40) && op <= F_ERASE) {
		if (masstree_preload(GFP_KERNEL))
			FAIL("preload failed");
		preload = true;
		gfp = GFP_NOWAIT;
	}
	if (verbose)
		fprintf(stderr, "op %u key len %zu inject %d preload %d (%zu keys)\n",
			op, len, injecting, preload, nref);

	switch (op) {
	case F_INSERT:
		err = masstree_insert(&map, kb, len, v, gfp);
		if (err == -ENOMEM && injecting)
			goto enomem;
		if (err != (old ? -EEXIST : 0))
			FAIL("insert: %d, key %s", err, old ? "present" : "absent");
		if (!old)
			ref_put(kb, len, v);
		break;
	case F_STORE:
	case F_STORE_NULL:
		if (op == F_STORE_NULL)
			v = NULL;
		ret = masstree_store(&map, kb, len, v, gfp);
		if (masstree_err(ret) == -ENOMEM && injecting)
			goto enomem;
		if (ret != old)
			FAIL("store: %p, expected %p", ret, old);
		ref_put(kb, len, v);
		break;
	case F_CX_CURRENT:
	case F_CX_NULL:
	case F_CX_WRONG:
	case F_CX_TO_NULL:
		o = op == F_CX_NULL ? NULL : op == F_CX_WRONG ? new_val() : old;
		if (op == F_CX_TO_NULL)
			v = NULL;
		ret = masstree_cmpxchg(&map, kb, len, o, v, gfp);
		if (masstree_err(ret) == -ENOMEM && injecting)
			goto enomem;
		if (ret != old)
			FAIL("cmpxchg: %p, expected %p", ret, old);
		if (old == o)
			ref_put(kb, len, v);
		break;
	case F_ERASE:
		ret = masstree_erase(&map, kb, len);
		if (ret != old)
			FAIL("erase: %p, expected %p", ret, old);
		ref_put(kb, len, NULL);
		break;
	case F_LOAD:
	case F_LOAD2:
		ret = masstree_load(&map, kb, len);
		if (ret != old)
			FAIL("load: %p, expected %p", ret, old);
		break;
	case F_SCAN:
		flags = next_byte() % 32;
		limit = next_byte();
		len2 = read_key(kb2);
		scan_cmp(kb, len, kb2, len2, flags, limit, injecting);
		break;
	case F_SEEK:
		do_seek(kb, len);
		break;
	case F_NEXT:
	case F_PREV: {
		bool rev = op == F_PREV;

		masstree_cursor_resume(&cur);
		ret = rev ? masstree_prev(&cur) : masstree_next(&cur);
		masstree_cursor_pause(&cur);
		if (!ret && cur.err == -ENOMEM && injecting) {
			rcur.state = RC_ERR;
			break;
		}
		check_cursor(rev ? "prev" : "next", ret, rcur_step(&rcur, rev));
		break;
	}
	case F_CUR_RESET:
		masstree_cursor_fini(&cur);
		masstree_cursor_init(&cur, &map, GFP_KERNEL);
		rcur.state = RC_NONE;
		break;
	default:
		shim_fail_nth = 0;	/* the check's own scans must not fail */
		full_check("check op");
		break;
	}
	goto out;
enomem:
	/* Exactly unchanged: the shape, a valid tree, every key. */
	shim_fail_nth = 0;
	masstree_get_stats(&map, &after);
	if (!same_stats(&before, &after))
		FAIL("-ENOMEM changed the map's stats");
	full_check("after -ENOMEM");
out:
	if (preload)
		masstree_preload_end();
	shim_fail_nth = 0;
}

static unsigned long inputs, barriers;

static void report_barriers(void)
{
	fprintf(stderr, "fuzz: %lu inputs, %lu waited for a grace period\n",
		inputs, barriers);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	verbose = getenv("FUZZ_VERBOSE");
	atexit(report_barriers);
	rcu_register_thread();
	if (mst_node_caches_init())
		FAIL("caches");
	return 0;
}

static bool leak_free(void)
{
	int tries;

	for (tries = 0; tries < 100; tries++) {
		long p1 = __atomic_load_n(&shim_rcu_pending, __ATOMIC_ACQUIRE);
		long live = __atomic_load_n(&shim_live_allocs, __ATOMIC_ACQUIRE);
		long p2 = __atomic_load_n(&shim_rcu_pending, __ATOMIC_ACQUIRE);

		if (p1 == p2 && live == p1)
			return true;
		sched_yield();
	}
	return false;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	unsigned int n = 0;
	size_t i;

	in = data;
	in_len = size;
	in_pos = 0;
	vseq = 0;
	masstree_cursor_init(&cur, &map, GFP_KERNEL);
	rcur.state = RC_NONE;
	while (in_pos < in_len && n++ < MAX_OPS)
		one_op();
	full_check("end of input");
	for (i = 0; i < nref; i++)
		if (masstree_load(&map, refs[i].b, refs[i].len) != refs[i].v)
			FAIL("end of input: load of index %zu", i);

	/* Empty again, and nothing left allocated once RCU has run. */
	masstree_cursor_fini(&cur);
	masstree_destroy(&map);
	for (i = 0; i < nref; i++)
		free(refs[i].b);
	nref = 0;
	mst_preload_drain();
	/*
	 * Each pending RCU callback frees one allocation: without a leak
	 * the counts match, so wait for a grace period (10 ms or more with
	 * liburcu) only when they do not, and every 256 inputs anyway. A
	 * callback running between the reads (it frees, then counts) makes
	 * a false mismatch: read again until the pending count holds still.
	 */
	if (!leak_free() || !(++inputs % 256)) {
		barriers++;
		rcu_barrier();
		if (shim_live_allocs)
			FAIL("%ld allocations leaked", shim_live_allocs);
	}
	if (shim_warnings)
		FAIL("%ld warnings", shim_warnings);
	return 0;
}
