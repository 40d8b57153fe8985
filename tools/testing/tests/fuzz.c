// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the input bytes are a program of map operations
 * (insert, store, store of NULL, cmpxchg four ways, erase, load, scans
 * with every flag, a cursor that seeks, steps both ways and pauses
 * between operations) run on a fresh map and on the reference map of
 * kunit/masstree_refmap.h, every result compared. Any write may be told to fail
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
#include "../../../masstree/testing.h"
#include "../../../kunit/masstree_refmap.h"

#define MAX_OPS		4096
#define KEY_MAX		400

static struct refmap ref;
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

static void ref_set(const u8 *b, size_t len, void *v)
{
	if (refmap_set(&ref, b, len, v))
		FAIL("the reference is out of memory");
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
	struct refmap_node *x;
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
		if (!refmap_count(&ref))
			return 0;
		x = refmap_nth(&ref, next_byte() % refmap_count(&ref));
		len = x->len;
		memcpy(b, x->key, len);
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

static struct refmap_cursor rcur;
/* The current operation was told to fail an allocation. */
static bool injecting;
/* The cursor's bound bytes: they must outlive the iteration. */
static u8 cur_end[KEY_MAX + 1];

static void check_found(const char *what, const u8 *key, size_t len,
			void *entry, const struct refmap_node *x)
{
	if (!x)
		FAIL("%s: key of len %zu, expected the end", what, len);
	if (refmap_key_cmp(key, len, x->key, x->len) || entry != x->entry)
		FAIL("%s: key of len %zu entry %p, expected len %zu entry %p",
		     what, len, entry, x->len, x->entry);
}

static void check_cursor(const char *what, void *got,
			 const struct refmap_node *x)
{
	if (!x) {
		if (got || cur.err != (rcur.state == REFMAP_CURSOR_FAILED ? -ENOMEM : 0))
			FAIL("%s: %p (err %d), expected the end", what, got,
			     cur.err);
		return;
	}
	if (!got)
		FAIL("%s: the end (err %d), expected a key of len %zu", what,
		     cur.err, x->len);
	check_found(what, masstree_cursor_key(&cur), masstree_cursor_len(&cur),
		    got, x);
}

struct scan_ctx {
	struct refmap_cursor rc;
	bool rev;
	unsigned int limit, seen;
	struct refmap_node *first;
};

static int scan_fn(const void *key, size_t len, void *entry, void *arg)
{
	struct scan_ctx *sc = arg;
	struct refmap_node *x = sc->seen ? refmap_cursor_step(&sc->rc, sc->rev) :
				sc->first;

	check_found("scan", key, len, entry, x);
	return ++sc->seen == sc->limit ? 42 : 0;
}

/* A scan of [a, b] (or part of it, by the flags), stopped after limit. */
static int scan_cmp(const u8 *a, size_t alen, const u8 *b, size_t blen,
		    unsigned int flags, unsigned int limit, bool may_fail)
{
	struct scan_ctx sc = { .rev = flags & MASSTREE_SCAN_REVERSE,
			       .limit = limit };
	int ret;

	refmap_cursor_init(&sc.rc, &ref);
	sc.first = refmap_cursor_seek_range(&sc.rc, a, alen, b, blen, flags);
	ret = masstree_scan(&map, a, alen, b, blen, flags, scan_fn, &sc);
	if (ret && ret != 42 && !(ret == -ENOMEM && may_fail))
		FAIL("scan returned %d after %u keys", ret, sc.seen);
	if (!ret && (sc.seen ? refmap_cursor_step(&sc.rc, sc.rev) : sc.first))
		FAIL("scan ended after %u keys, the reference goes on", sc.seen);
	refmap_cursor_fini(&sc.rc);
	return ret == 42 ? 0 : ret;
}

/* Everything: a valid tree, the right key count, the same contents. */
static void full_check(const char *when)
{
	struct masstree_stats st;
	unsigned int f = MASSTREE_SCAN_NO_START | MASSTREE_SCAN_NO_END;

	if (masstree_validate(&map))
		FAIL("%s: masstree_validate failed", when);
	masstree_get_stats(&map, &st);
	if (st.keys != refmap_count(&ref))
		FAIL("%s: stats keys %lu, expected %lu", when, st.keys,
		     refmap_count(&ref));
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
	struct refmap_node *x;
	size_t elen;
	void *got;

	elen = read_key(cur_end);
	switch (how % 6) {
	case 0:
		got = masstree_seek(&cur, k, len);
		x = refmap_cursor_seek_range(&rcur, k, len, NULL, 0,
					     MASSTREE_SCAN_NO_END);
		break;
	case 1:
		got = masstree_seek_rev(&cur, k, len);
		x = refmap_cursor_seek_range(&rcur, k, len, NULL, 0,
					     MASSTREE_SCAN_NO_END | MASSTREE_SCAN_REVERSE);
		break;
	case 2:
		got = masstree_seek_range(&cur, k, len, cur_end, elen, flags);
		x = refmap_cursor_seek_range(&rcur, k, len, cur_end, elen, flags);
		break;
	case 3:
		/* The prefix lives in cur_end: it must outlive the loop. */
		memcpy(cur_end, k, len);
		got = masstree_seek_prefix(&cur, cur_end, len,
					   rev ? MASSTREE_SCAN_REVERSE : 0);
		x = refmap_cursor_seek_prefix(&rcur, cur_end, len, rev);
		break;
	case 4:
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
	if (!got && cur.err == -ENOMEM && injecting) {
		refmap_cursor_fail(&rcur);
		return;
	}
	check_cursor("seek", got, x);
}

static void one_op(void)
{
	u8 opb = next_byte(), kb[KEY_MAX + 1], kb2[KEY_MAX + 1];
	unsigned int op = opb % 16, flags, limit;
	struct masstree_stats before, after;
	size_t len = read_key(kb), len2;
	void *old = refmap_get(&ref, kb, len), *v = new_val(), *ret, *o;
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
		fprintf(stderr, "op %u key len %zu inject %d preload %d (%lu keys)\n",
			op, len, injecting, preload, refmap_count(&ref));

	switch (op) {
	case F_INSERT:
		err = masstree_insert(&map, kb, len, v, gfp);
		if (err == -ENOMEM && injecting)
			goto enomem;
		if (err != (old ? -EEXIST : 0))
			FAIL("insert: %d, key %s", err, old ? "present" : "absent");
		if (!old)
			ref_set(kb, len, v);
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
		ref_set(kb, len, v);
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
			ref_set(kb, len, v);
		break;
	case F_ERASE:
		ret = masstree_erase(&map, kb, len);
		if (ret != old)
			FAIL("erase: %p, expected %p", ret, old);
		ref_set(kb, len, NULL);
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
			refmap_cursor_fail(&rcur);
			break;
		}
		check_cursor(rev ? "prev" : "next", ret,
			     refmap_cursor_step(&rcur, rev));
		break;
	}
	case F_CUR_RESET:
		masstree_cursor_fini(&cur);
		masstree_cursor_init(&cur, &map, GFP_KERNEL);
		refmap_cursor_reset(&rcur);
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
	refmap_init(&ref, shim_uncounted_alloc, shim_uncounted_free, GFP_KERNEL);
	refmap_cursor_init(&rcur, &ref);
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
	const struct refmap_node *x;
	unsigned int n = 0, i;

	in = data;
	in_len = size;
	in_pos = 0;
	vseq = 0;
	masstree_cursor_init(&cur, &map, GFP_KERNEL);
	while (in_pos < in_len && n++ < MAX_OPS)
		one_op();
	full_check("end of input");
	for (x = refmap_first(&ref), i = 0; x; x = refmap_next(x), i++)
		if (masstree_load(&map, x->key, x->len) != x->entry)
			FAIL("end of input: load of key %u", i);

	/* Empty again, and nothing left allocated once RCU has run. */
	masstree_cursor_fini(&cur);
	masstree_destroy(&map);
	refmap_cursor_reset(&rcur);
	refmap_clear(&ref);
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
