// SPDX-License-Identifier: GPL-2.0
/*
 * Thread stress of the masstree core.
 *
 * Writers own interleaved keys (key i belongs to writer i % T, so writers
 * share leaves and split them concurrently: the lost-key trap) and know
 * exactly what each operation must return. All writers also bump one
 * shared counter with cmpxchg loops and store into shared hot keys.
 * Stable keys, inserted before the run and never written, sit between
 * churned keys (including long keys whose layers are created and removed
 * around them, and keys of 13 to 312 bytes that share long runs of one
 * byte, so that spans over those runs split and merge around them);
 * readers must always find them.
 *
 * Hot-key values carry the writer's id and a per-writer sequence number
 * that only grows: a reader that saw writer W's sequence S in a hot key
 * must never see a smaller one of W's there later (an older store
 * resurfacing), nor the key vanish; a writer whose store returns its own
 * id must get back exactly its own last store to that key.
 *
 * A test hook at MASSTREE_HOOK_SPLIT holds every few leaf splits open
 * (the new right leaf linked, the parent not yet told) so that walks land
 * on the old leaf and must follow its B-link; the run fails unless both a
 * reader retry and a B-link follow happened.
 *
 * Group keys: 16-byte keys, each group a layer of its own under one
 * 8-byte prefix, all churned, shared by every writer. The writers fill
 * and drain the groups in phases (with some ops against the tide), so
 * group layers are created and removed, their root leaves split, their
 * leaves split and empty and are freed, their internodes fill and split,
 * all the time. Around a group key's write the other hooks hold windows
 * open: before a node turns dirty (MASSTREE_HOOK_MARK), inside a leaf
 * split's or internode insert's dirty window (MASSTREE_HOOK_DIRTY),
 * between a writer's walk and its leaf lock (MASSTREE_HOOK_LOCK_LEAF) and
 * before a parent lock (MASSTREE_HOOK_LOCK_PARENT). Meanwhile readers
 * look up group keys next to the one being written. A group key's owner
 * keeps a sequence number per key, odd while the key is present, so a
 * reader knows exactly when a key was present throughout its load; other
 * group loads (and loads of churned keys) must return a legal value. Some
 * group loads are held in their validation window (MASSTREE_HOOK_READ),
 * so that nodes get freed under them: only RCU keeps that safe.
 *
 * Scanners walk the whole map meanwhile, with masstree_scan() both ways
 * and with a cursor that pauses (yields) between steps, and scan ranges
 * of the stable keys: keys must come strictly in order (so never twice),
 * and every stable key, present throughout, must be seen exactly once
 * with its value.
 *
 * The scan's leaf windows get a race of their own: a small range of
 * 8-byte keys (first byte 0xe5), one stable key in eight, the rest churned
 * by a thread of their own in fill and drain phases, so that the range's
 * leaves split, empty, are freed and reuse slots all the time. Another
 * thread scans ranges of it with masstree_scan() both ways, with and
 * without end bounds, exclusive or not, and is held at MASSTREE_HOOK_SCAN
 * (between a leaf's permutation read and its slot copy) until the churner
 * has done a few ops, while the churner's splits wait at
 * MASSTREE_HOOK_SPLIT: each stable key of a range must come exactly once,
 * in order, and nothing from outside the range.
 *
 * Afterwards the map must validate and match every writer's expectation,
 * erase back to empty, and free every allocation after destroy +
 * rcu_barrier().
 *
 *   stress [-t writers] [-r readers] [-c scanners] [-d seconds] [-s seed]
 */
#include <getopt.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "../include/shim.h"
#include <linux/masstree.h>
#include "../lib/alloc.h"
#include "../../../masstree/testing.h"
#include "../../../kunit/masstree_refmap.h"

#define KEYS_PER_WRITER	4096
#define NSTABLE		4096
#define NHOT		16
#define KLEN_MAX	320
#define MAX_WRITERS	255	/* the writer id is one byte of a hot value */

static int nwriters = 4, nreaders = 2, nscanners = 1, duration = 10;
static unsigned long seed = 1;
static DEFINE_MASSTREE(map);
static int stop;
static long failures;
static int finished;	/* threads that returned */

#define FAIL(...) do {							\
	fprintf(stderr, "stress FAILED (seed %lu): ", seed);		\
	fprintf(stderr, __VA_ARGS__);					\
	fprintf(stderr, "\n");						\
	__atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);		\
	WRITE_ONCE(stop, 1);						\
} while (0)

static u64 rnd(u64 *s)
{
	u64 z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * Span keys: 1..300 bytes of one of three fill bytes, then n, then a
 * tail. Two of them with the same fill byte share the shorter fill run,
 * so the map keeps a span over it; keys of other lengths that come and
 * go split it inside and merge it back all the time. No fill byte is
 * zero: only the 8-byte keys start with one (see scanner_main()).
 */
#define SPAN_FILL_MAX	300

static u32 span_key(u8 *b, u64 n)
{
	u32 fill = 1 + (n >> 3) * 0x9e3779b1U % SPAN_FILL_MAX;
	int i;

	memset(b, "\x01S\xff"[(n >> 3) % 3], fill);
	for (i = 0; i < 8; i++)
		b[fill + i] = n >> (56 - 8 * i);
	memcpy(b + fill + 8, "tail", 4);
	return fill + 12;
}

/*
 * Key number n of a family: 8-byte big-endian, 40 bytes sharing a
 * 24-byte prefix (layers), or a span key, chosen by n's bits 1 and 2 so
 * that the kinds mix; one churned key in four of the 8-byte kind goes on
 * for 8 more bytes, which its leaf keeps in its bag (struct mst_bag), so
 * that bags split, merge and take keys under the readers of the stable
 * keys beside them. Stable keys are even numbers, churned keys odd.
 */
static u32 make_key(u8 *b, u64 n)
{
	int i;

	if ((n & 6) == 6)
		return span_key(b, n);
	if (n & 2) {
		memcpy(b, "stress-shared-prefix-24b", 24);
		for (i = 0; i < 8; i++)
			b[24 + i] = n >> (56 - 8 * i);
		memcpy(b + 32, "tail-xyz", 8);
		return 40;
	}
	for (i = 0; i < 8; i++)
		b[i] = n >> (56 - 8 * i);
	if ((n & 9) != 9)
		return 8;
	memcpy(b + 8, "bag-tail", 8);
	return 16;
}

static void *val(u64 n)
{
	return (void *)(uintptr_t)((n + 1) << 3);
}

static u8 counter_key[] = "the-shared-cmpxchg-counter";
static long counter_incs;

/* Hot keys: "hot-key-" and one byte. */
static u32 hot_key(u8 *b, unsigned int h)
{
	memcpy(b, "hot-key-", 8);
	b[8] = h;
	return 9;
}

static void *hot_val(u64 seq, int id)
{
	return (void *)(uintptr_t)((((seq << 8) | id) + 1) << 3);
}

static u64 hot_seq(void *v)
{
	return (((uintptr_t)v >> 3) - 1) >> 8;
}

static int hot_id(void *v)
{
	return (((uintptr_t)v >> 3) - 1) & 0xff;
}

struct writer {
	pthread_t th;
	int id;
	void **exp;
	bool *gexp;	/* group key j * nwriters + id present */
	unsigned long ngk;
	long ops;
};

/*
 * Every 8th leaf split waits here, the new right leaf already linked
 * behind the old one and the parent not yet told, so that walks arrive
 * at the old leaf and follow its B-link. Node locks are held: yield,
 * don't sleep.
 */
static unsigned long split_hook_calls;

/* Group keys: NGSMALL groups of GSMALL members, NGBIG of GBIG. */
#define NGSMALL		8
#define GSMALL		20
#define NGBIG		2
#define GBIG		1000
#define NGKEYS		(NGSMALL * GSMALL + NGBIG * GBIG)
#define PHASE_OPS	(3 * NGKEYS)	/* group ops per fill or drain phase */

static unsigned long *gseq;	/* per group key: odd while present */
static unsigned long group_ops;
static unsigned long probe_gk;	/* group key being written, plus one */
static unsigned long windows[MASSTREE_HOOK_SCAN + 1];

/* This thread's group op: the key plus one, or 0. */
static __thread unsigned long tl_gk;
static __thread bool tl_reader_group;

static void gk_split(unsigned long gk, unsigned int *g, unsigned int *m)
{
	if (gk < NGSMALL * GSMALL) {
		*g = gk / GSMALL;
		*m = gk % GSMALL;
	} else {
		*g = NGSMALL + (gk - NGSMALL * GSMALL) / GBIG;
		*m = (gk - NGSMALL * GSMALL) % GBIG;
	}
}

static unsigned long gk_join(unsigned int g, unsigned int m)
{
	if (g < NGSMALL)
		return (unsigned long)g * GSMALL + m;
	return NGSMALL * GSMALL + (unsigned long)(g - NGSMALL) * GBIG + m;
}

static unsigned int gk_size(unsigned int g)
{
	return g < NGSMALL ? GSMALL : GBIG;
}

static u32 group_key(u8 *b, unsigned long gk)
{
	unsigned int g, m;
	int i;

	gk_split(gk, &g, &m);
	memcpy(b, "grp-", 4);
	for (i = 0; i < 4; i++)
		b[4 + i] = g >> (24 - 8 * i);
	for (i = 0; i < 8; i++)
		b[8 + i] = (u64)m >> (56 - 8 * i);
	return 16;
}

static void *gval(unsigned long gk)
{
	return (void *)(uintptr_t)((gk + 100000) << 3);
}

static void yield_n(int n)
{
	while (n--)
		sched_yield();
}

static void hold(enum masstree_test_hook_point where, int n)
{
	WRITE_ONCE(probe_gk, tl_gk);
	__atomic_fetch_add(&windows[where], 1, __ATOMIC_RELAXED);
	yield_n(n);
}

/* The scan race's range: key numbers 0..HR_KEYS-1, stable if m % 8 == 0. */
#define HR_KEYS		512
#define HR_PHASE	512	/* churner ops per fill or drain phase */

static unsigned long hr_ops;	/* churner ops done */
static bool hr_exp[HR_KEYS];	/* churned key m present */
static __thread bool tl_hr;	/* this thread is the churner or the scanner */

/*
 * The range scanner, inside a leaf window (permutation read, slots not yet
 * copied): every other window waits for a few churner ops, or 64 yields.
 */
static void hr_hold_scan(void)
{
	static unsigned long calls;
	unsigned long h0;
	int i;

	if (!tl_hr || (__atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED) % 2))
		return;
	__atomic_fetch_add(&windows[MASSTREE_HOOK_SCAN], 1, __ATOMIC_RELAXED);
	h0 = __atomic_load_n(&hr_ops, __ATOMIC_RELAXED);
	for (i = 0; i < 64 && __atomic_load_n(&hr_ops, __ATOMIC_RELAXED) - h0 < 4; i++)
		sched_yield();
}

/*
 * Node locks may be held at every hook point but READ and LOCK_LEAF:
 * yield, don't sleep.
 */
static void stress_hook(enum masstree_test_hook_point where)
{
	static unsigned long calls[MASSTREE_HOOK_SCAN + 1];
	unsigned long k;

	if (where > MASSTREE_HOOK_SCAN)
		return;
	if (where == MASSTREE_HOOK_SCAN) {
		hr_hold_scan();
		return;
	}
	if (where == MASSTREE_HOOK_SPLIT && tl_hr) {
		/* The churner's splits wait for the scanner to walk in. */
		unsigned long w0 = READ_ONCE(windows[MASSTREE_HOOK_SCAN]);
		int i;

		for (i = 0; i < 32 && READ_ONCE(windows[MASSTREE_HOOK_SCAN]) - w0 < 2; i++)
			sched_yield();
		return;
	}
	if (where == MASSTREE_HOOK_SPLIT) {
		/* Every 8th leaf split waits: see split_hook_calls. */
		if (!(__atomic_fetch_add(&split_hook_calls, 1,
					 __ATOMIC_RELAXED) % 8))
			yield_n(4);
		return;
	}
	if (where == MASSTREE_HOOK_READ) {
		/*
		 * Until the writers have done a few group ops (erases and
		 * inserts reusing slots), or at most 64 yields.
		 */
		if (tl_reader_group &&
		    !(__atomic_fetch_add(&calls[where], 1, __ATOMIC_RELAXED) % 2)) {
			unsigned long g0 = READ_ONCE(group_ops);
			int i;

			__atomic_fetch_add(&windows[where], 1, __ATOMIC_RELAXED);
			for (i = 0; i < 64 && READ_ONCE(group_ops) - g0 < 16; i++)
				sched_yield();
		}
		return;
	}
	if (!tl_gk)
		return;
	k = __atomic_fetch_add(&calls[where], 1, __ATOMIC_RELAXED);
	switch (where) {
	case MASSTREE_HOOK_MARK:
		if (!(k % 2))
			hold(where, 2);
		break;
	case MASSTREE_HOOK_DIRTY:
		hold(where, 3);
		break;
	case MASSTREE_HOOK_LOCK_LEAF:
		if (!(k % 2))
			hold(where, 2);
		break;
	case MASSTREE_HOOK_LOCK_PARENT:
		hold(where, 4);
		break;
	default:
		break;
	}
}

/*
 * One op on one of this writer's group keys: towards filling or draining
 * by the phase, one op in eight the other way.
 */
static void group_op(struct writer *w, u64 r)
{
	unsigned long nsmall = (NGSMALL * GSMALL - w->id + nwriters - 1) /
			       nwriters;
	/* Half the ops on the small groups: dense slot reuse there. */
	unsigned long j = (r >> 48) & 1 ? r % nsmall : r % w->ngk;
	unsigned long gk = j * nwriters + w->id;
	unsigned long ph = __atomic_fetch_add(&group_ops, 1, __ATOMIC_RELAXED);
	bool fill = (ph / PHASE_OPS) & 1;
	u8 kb[KLEN_MAX];
	u32 len = group_key(kb, gk);
	void *ret;
	int err;

	if (!((r >> 40) & 7))
		fill = !fill;
	tl_gk = gk + 1;
	if (fill && !w->gexp[j]) {
		err = masstree_insert(&map, kb, len, gval(gk), GFP_KERNEL);
		if (err)
			FAIL("writer %d group insert %lu: %d", w->id, gk, err);
		w->gexp[j] = true;
		__atomic_fetch_add(&gseq[gk], 1, __ATOMIC_SEQ_CST);
	} else if (fill) {
		ret = masstree_store(&map, kb, len, gval(gk), GFP_KERNEL);
		if (ret != gval(gk))
			FAIL("writer %d group store %lu: %p", w->id, gk, ret);
	} else if (w->gexp[j]) {
		__atomic_fetch_add(&gseq[gk], 1, __ATOMIC_SEQ_CST);
		w->gexp[j] = false;
		ret = masstree_erase(&map, kb, len);
		if (ret != gval(gk))
			FAIL("writer %d group erase %lu: %p", w->id, gk, ret);
	} else {
		ret = masstree_load(&map, kb, len);
		if (ret)
			FAIL("writer %d group load %lu: %p", w->id, gk, ret);
	}
	tl_gk = 0;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	u64 s = seed * 1000 + w->id;
	u8 kb[KLEN_MAX];
	u64 hotseq = 0, last_hot[NHOT] = { 0 };

	rcu_register_thread();
	while (!READ_ONCE(stop)) {
		u64 r = rnd(&s);
		unsigned long i = r % KEYS_PER_WRITER;
		u64 n = 2 * (i * nwriters + w->id) + 1;	/* odd: churned */
		u32 len = make_key(kb, n);
		void *old = w->exp[i], *v = val(n ^ (r & 0xfff00000)), *ret;
		unsigned int op = (r >> 32) % 100;
		int err;

		if ((r >> 24) % 100 < 30) {
			group_op(w, rnd(&s));
			w->ops++;
			continue;
		}
		if (op < 30) {
			err = masstree_insert(&map, kb, len, v, GFP_KERNEL);
			if (err != (old ? -EEXIST : 0))
				FAIL("writer %d insert %lu: %d", w->id, i, err);
			if (!old)
				w->exp[i] = v;
		} else if (op < 45) {
			ret = masstree_store(&map, kb, len, v, GFP_KERNEL);
			if (ret != old)
				FAIL("writer %d store %lu: %p vs %p", w->id, i, ret, old);
			w->exp[i] = v;
		} else if (op < 55) {
			ret = masstree_cmpxchg(&map, kb, len, old, NULL, GFP_KERNEL);
			if (ret != old)
				FAIL("writer %d cmpxchg-erase %lu", w->id, i);
			w->exp[i] = NULL;
		} else if (op < 85) {
			ret = masstree_erase(&map, kb, len);
			if (ret != old)
				FAIL("writer %d erase %lu: %p vs %p", w->id, i, ret, old);
			w->exp[i] = NULL;
		} else if (op < 92) {
			ret = masstree_load(&map, kb, len);
			if (ret != old)
				FAIL("writer %d load %lu: %p vs %p", w->id, i, ret, old);
		} else if (op < 96) {
			/* Shared counter: value (count + 1) << 3. */
			for (;;) {
				void *cur = masstree_load(&map, counter_key,
							  sizeof(counter_key));
				void *next = (void *)((uintptr_t)cur + 8);

				if (masstree_cmpxchg(&map, counter_key,
						     sizeof(counter_key), cur,
						     next, GFP_KERNEL) == cur)
					break;
			}
			w->ops++;
			__atomic_fetch_add(&counter_incs, 1, __ATOMIC_RELAXED);
			continue;
		} else {
			/* Hot keys: value carries writer id and sequence. */
			unsigned int h = r % NHOT;

			len = hot_key(kb, h);
			hotseq++;
			ret = masstree_store(&map, kb, len, hot_val(hotseq, w->id),
					     GFP_KERNEL);
			if (masstree_is_err(ret))
				FAIL("writer %d hot store: error %d", w->id,
				     masstree_err(ret));
			else if (ret && hot_id(ret) == w->id &&
				 hot_seq(ret) != last_hot[h])
				FAIL("writer %d hot key %u: got back seq %llu, stored %llu",
				     w->id, h, (unsigned long long)hot_seq(ret),
				     (unsigned long long)last_hot[h]);
			last_hot[h] = hotseq;
		}
		w->ops++;
	}
	mst_preload_drain();
	rcu_unregister_thread();
	__atomic_fetch_add(&finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

struct reader {
	pthread_t th;
	int id;
	long ops;
	long hot_reads;
	long group_reads;
	u64 *seen;	/* [NHOT][nwriters]: last sequence seen + 1 */
};

/* A hot key: no writer's sequence goes backwards, the key never vanishes. */
static void reader_check_hot(struct reader *rd, unsigned int h)
{
	u8 kb[KLEN_MAX];
	u32 len = hot_key(kb, h);
	void *got = masstree_load(&map, kb, len);
	u64 *seen = rd->seen + (size_t)h * nwriters;
	int i, id;

	rd->hot_reads++;
	if (!got) {
		for (i = 0; i < nwriters && !seen[i]; i++)
			;
		if (i < nwriters)
			FAIL("reader %d: hot key %u vanished", rd->id, h);
		return;
	}
	id = hot_id(got);
	if (masstree_is_err(got) || id >= nwriters) {
		FAIL("reader %d: hot key %u holds garbage %p", rd->id, h, got);
		return;
	}
	if (hot_seq(got) + 1 < seen[id])
		FAIL("reader %d: hot key %u: writer %d went back from %llu to %llu",
		     rd->id, h, id, (unsigned long long)seen[id] - 1,
		     (unsigned long long)hot_seq(got));
	seen[id] = hot_seq(got) + 1;
}

/* A group key: present throughout the load (by its sequence) or legal. */
static void reader_check_group(struct reader *rd, unsigned long gk)
{
	u8 kb[KLEN_MAX];
	u32 len = group_key(kb, gk);
	unsigned long s1, s2;
	void *got;

	s1 = __atomic_load_n(&gseq[gk], __ATOMIC_SEQ_CST);
	tl_reader_group = true;
	got = masstree_load(&map, kb, len);
	tl_reader_group = false;
	s2 = __atomic_load_n(&gseq[gk], __ATOMIC_SEQ_CST);
	rd->group_reads++;
	if (got && got != gval(gk))
		FAIL("reader %d: group key %lu holds %p", rd->id, gk, got);
	else if (!got && (s1 & 1) && s1 == s2)
		FAIL("reader %d: group key %lu missing while present (seq %lu)",
		     rd->id, gk, s1);
}

/* A group key next to the one a writer holds a window open on, or any. */
static unsigned long reader_pick_group(u64 r)
{
	unsigned long p = READ_ONCE(probe_gk);
	unsigned int g, m, n;
	long d;

	if (!p || (r & 1))
		return (r >> 1) % ((r & 2) ? NGKEYS : NGSMALL * GSMALL);
	gk_split(p - 1, &g, &m);
	n = gk_size(g);
	d = (long)((r >> 1) % 25) - 12;
	return gk_join(g, (m + n + d) % n);
}

/* A churned key: absent, or a value a writer could have stored there. */
static void reader_check_churned(struct reader *rd, u64 r)
{
	u64 n = 2 * (r % ((u64)KEYS_PER_WRITER * nwriters)) + 1;
	u8 kb[KLEN_MAX];
	u32 len = make_key(kb, n);
	void *got = masstree_load(&map, kb, len);
	u64 v = ((uintptr_t)got >> 3) - 1;

	if (got && (((uintptr_t)got & 7) || ((v ^ n) & ~0xfff00000ULL)))
		FAIL("reader %d: churned key %llu holds %p", rd->id,
		     (unsigned long long)n, got);
}

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	u64 s = seed * 7777 + rd->id;
	u8 kb[KLEN_MAX];

	rcu_register_thread();
	while (!READ_ONCE(stop)) {
		u64 r = rnd(&s);
		u64 n = 2 * (r % NSTABLE);	/* even: stable */
		u32 len;
		void *got;

		if ((r >> 32) % 4 == 0) {
			reader_check_hot(rd, (r >> 40) % NHOT);
			rd->ops++;
			continue;
		}
		if ((r >> 32) % 8 < 5) {
			reader_check_group(rd, reader_pick_group(rnd(&s)));
			rd->ops++;
			continue;
		}
		if ((r >> 32) % 8 == 5) {
			reader_check_churned(rd, rnd(&s));
			rd->ops++;
			continue;
		}
		len = make_key(kb, n);
		got = masstree_load(&map, kb, len);

		if (got != val(n))
			FAIL("reader %d: stable key %llu missing (%p)", rd->id,
			     (unsigned long long)n, got);
		rd->ops++;
	}
	rcu_unregister_thread();
	__atomic_fetch_add(&finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

struct scanner {
	pthread_t th;
	int id;
	long scans;
	long keys;
	u8 prev[KLEN_MAX + 32];
	size_t prev_len;
	bool have_prev;
	bool rev;
	unsigned long stable_seen;
	const char *what;
};

/* The stable key number of a key, or -1 if it is not a stable key. */
static long stable_number(const u8 *k, size_t len)
{
	u64 n = 0;
	int i;

	if (len == 8) {
		for (i = 0; i < 8; i++)
			n = n << 8 | k[i];
		if (n & 2)
			return -1;
	} else if (len == 40 && !memcmp(k, "stress-shared-prefix-24b", 24) &&
		   !memcmp(k + 32, "tail-xyz", 8)) {
		for (i = 0; i < 8; i++)
			n = n << 8 | k[24 + i];
		if ((n & 6) != 2)
			return -1;
	} else if (len > 12 && len <= SPAN_FILL_MAX + 12) {
		u8 again[KLEN_MAX];

		for (i = 0; i < 8; i++)
			n = n << 8 | k[len - 12 + i];
		if ((n & 6) != 6 || span_key(again, n) != len ||
		    memcmp(again, k, len))
			return -1;
	} else {
		return -1;
	}
	return !(n & 1) && n < 2 * NSTABLE ? (long)n : -1;
}

/* One key of a scan: strictly after (before) the last, stable keys right. */
static int scanner_key(const void *key, size_t len, void *entry, void *arg)
{
	struct scanner *sc = arg;
	long n;

	if (len > sizeof(sc->prev)) {
		FAIL("scanner %d (%s): key of %zu bytes", sc->id, sc->what, len);
		return 1;
	}
	if (sc->have_prev) {
		int c = refmap_key_cmp(key, len, sc->prev, sc->prev_len);

		if (sc->rev ? c >= 0 : c <= 0) {
			FAIL("scanner %d (%s): key out of order or repeated",
			     sc->id, sc->what);
			FAIL("scanner %d: len %zu after len %zu", sc->id, len,
			     sc->prev_len);
			return 1;
		}
	}
	memcpy(sc->prev, key, len);
	sc->prev_len = len;
	sc->have_prev = true;
	sc->keys++;
	n = stable_number(key, len);
	if (n >= 0) {
		if (entry != val(n)) {
			FAIL("scanner %d (%s): stable key %ld holds %p", sc->id,
			     sc->what, n, entry);
			return 1;
		}
		sc->stable_seen++;
	}
	return READ_ONCE(stop) ? 2 : 0;
}

static void scanner_begin(struct scanner *sc, const char *what, bool rev)
{
	sc->what = what;
	sc->rev = rev;
	sc->have_prev = false;
	sc->stable_seen = 0;
}

/* A pass that ran to its end saw every stable key of its range. */
static void scanner_end(struct scanner *sc, int ret, unsigned long want)
{
	if (ret == 2 || READ_ONCE(stop))
		return;
	if (ret)
		FAIL("scanner %d (%s): returned %d", sc->id, sc->what, ret);
	else if (sc->stable_seen != want)
		FAIL("scanner %d (%s): saw %lu stable keys, expected %lu", sc->id,
		     sc->what, sc->stable_seen, want);
	sc->scans++;
}

static void *scanner_main(void *arg)
{
	struct scanner *sc = arg;
	u64 s = seed * 4242 + sc->id;
	struct masstree_cursor cur;
	u8 a[KLEN_MAX], b[KLEN_MAX];
	unsigned long lo, hi, i;
	void *e;
	int ret;

	rcu_register_thread();
	masstree_cursor_init(&cur, &map, GFP_KERNEL);
	while (!READ_ONCE(stop)) {
		u64 r = rnd(&s);

		switch (r % 4) {
		case 0:
		case 1:
			scanner_begin(sc, r % 4 ? "reverse scan" : "scan", r % 4);
			ret = masstree_scan(&map, NULL, 0, NULL, 0,
					    MASSTREE_SCAN_NO_START | MASSTREE_SCAN_NO_END |
					    (r % 4 ? MASSTREE_SCAN_REVERSE : 0),
					    scanner_key, sc);
			scanner_end(sc, ret, NSTABLE);
			break;
		case 2:
			/* A cursor that pauses between steps, either way. */
			scanner_begin(sc, (r >> 8) & 1 ? "cursor prev" : "cursor next",
				      (r >> 8) & 1);
			ret = 0;
			i = 0;
			for (e = sc->rev ? masstree_last(&cur) : masstree_first(&cur);
			     e && !ret;
			     e = sc->rev ? masstree_prev(&cur) : masstree_next(&cur)) {
				ret = scanner_key(masstree_cursor_key(&cur),
						  masstree_cursor_len(&cur), e, sc);
				if (!(++i % 64)) {
					masstree_cursor_pause(&cur);
					sched_yield();
					masstree_cursor_resume(&cur);
				}
			}
			if (cur.err)
				FAIL("scanner %d: cursor error %d", sc->id, cur.err);
			scanner_end(sc, ret, NSTABLE);
			break;
		default:
			/*
			 * The 8-byte stable keys are the numbers 4x below
			 * 2 * NSTABLE, and no other key starts with a zero
			 * byte: [4 lo, 4 hi] holds exactly hi - lo + 1 keys.
			 */
			lo = (r >> 8) % (NSTABLE / 2);
			hi = lo + (r >> 24) % 256;
			if (hi >= NSTABLE / 2)
				hi = NSTABLE / 2 - 1;
			make_key(a, 4 * lo);
			make_key(b, 4 * hi);
			scanner_begin(sc, "range", false);
			ret = masstree_scan(&map, a, 8, b, 8, 0, scanner_key, sc);
			scanner_end(sc, ret, hi - lo + 1);
			break;
		}
	}
	masstree_cursor_fini(&cur);
	rcu_unregister_thread();
	__atomic_fetch_add(&finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void hr_key(u8 *b, unsigned int m)
{
	memset(b, 0, 8);
	b[0] = 0xe5;
	b[6] = m >> 8;
	b[7] = m;
}

static void *hr_val(unsigned int m)
{
	return (void *)(uintptr_t)((m + 200000) << 3);
}

/* Churn the range's odd keys: fill, then drain, one op in eight against. */
static void *hr_churner_main(void *arg)
{
	u64 s = seed * 777;
	unsigned long n = 0;
	u8 kb[8];

	rcu_register_thread();
	tl_hr = true;
	while (!READ_ONCE(stop)) {
		u64 r = rnd(&s);
		unsigned int m = r % HR_KEYS;
		bool fill = !((n / HR_PHASE) & 1);
		void *ret;
		int err;

		if (!((r >> 40) & 7))
			fill = !fill;
		if (!(m % 8) || fill == hr_exp[m])
			continue;
		hr_key(kb, m);
		if (fill) {
			err = masstree_insert(&map, kb, 8, hr_val(m), GFP_KERNEL);
			if (err)
				FAIL("range churner: insert %u: %d", m, err);
		} else {
			ret = masstree_erase(&map, kb, 8);
			if (ret != hr_val(m))
				FAIL("range churner: erase %u: %p", m, ret);
		}
		hr_exp[m] = fill;
		n++;
		__atomic_fetch_add(&hr_ops, 1, __ATOMIC_RELAXED);
		/* Leave the other threads their share of the CPUs. */
		sched_yield();
	}
	mst_preload_drain();
	rcu_unregister_thread();
	__atomic_fetch_add(&finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

struct hr_scan {
	unsigned int lo, hi;	/* the range, by key number, inclusive */
	unsigned int flags;
	long prev;		/* last key number seen, or -1 */
	unsigned long stable;	/* stable keys seen */
	unsigned long keys;
	bool left;		/* an unbounded scan left the range */
};

static int hr_scan_key(const void *key, size_t len, void *entry, void *arg)
{
	static const u8 zero[5];
	struct hr_scan *hs = arg;
	bool rev = hs->flags & MASSTREE_SCAN_REVERSE;
	const u8 *b = key;
	unsigned int m;

	if (len != 8 || b[0] != 0xe5 || memcmp(b + 1, zero, 5)) {
		if (hs->flags & MASSTREE_SCAN_NO_END) {
			hs->left = true;
			return 1;
		}
		FAIL("range scan: a key of %zu bytes from outside the range", len);
		return 1;
	}
	m = b[6] << 8 | b[7];
	if (m < hs->lo || m > hs->hi ||
	    (m == (rev ? hs->hi : hs->lo) && (hs->flags & MASSTREE_SCAN_START_EXCL)) ||
	    (m == (rev ? hs->lo : hs->hi) && (hs->flags & MASSTREE_SCAN_END_EXCL) &&
	     !(hs->flags & MASSTREE_SCAN_NO_END))) {
		if (hs->flags & MASSTREE_SCAN_NO_END && (rev ? m < hs->lo : m > hs->hi)) {
			hs->left = true;
			return 1;
		}
		FAIL("range scan [%u, %u] flags %#x: key %u out of range", hs->lo,
		     hs->hi, hs->flags, m);
		return 1;
	}
	if (hs->prev >= 0 && (rev ? (long)m >= hs->prev : (long)m <= hs->prev)) {
		FAIL("range scan [%u, %u] flags %#x: key %u after %ld", hs->lo,
		     hs->hi, hs->flags, m, hs->prev);
		return 1;
	}
	hs->prev = m;
	hs->keys++;
	if (!(m % 8)) {
		if (entry != hr_val(m)) {
			FAIL("range scan: stable key %u holds %p", m, entry);
			return 1;
		}
		hs->stable++;
	}
	return READ_ONCE(stop) ? 2 : 0;
}

static long hr_scans, hr_keys_seen;

/* Scan ranges of the churned range; count its stable keys. */
static void *hr_scanner_main(void *arg)
{
	u64 s = seed * 999;
	u8 a[8], b[8];

	rcu_register_thread();
	tl_hr = true;
	while (!READ_ONCE(stop)) {
		u64 r = rnd(&s);
		struct hr_scan hs = { .prev = -1 };
		bool rev = r & 1;
		unsigned long want = 0;
		unsigned int m;
		int ret;

		hs.lo = (r >> 8) % HR_KEYS;
		hs.hi = hs.lo + (r >> 20) % HR_KEYS;
		if (hs.hi >= HR_KEYS)
			hs.hi = HR_KEYS - 1;
		hs.flags = (rev ? MASSTREE_SCAN_REVERSE : 0) |
			   ((r >> 32) & (MASSTREE_SCAN_START_EXCL |
					 MASSTREE_SCAN_END_EXCL));
		/* Unbounded: to the range's end (forward), or out of it. */
		if (!((r >> 36) & 3)) {
			hs.flags |= MASSTREE_SCAN_NO_END;
			if (rev)
				hs.lo = 0;
			else
				hs.hi = HR_KEYS - 1;
		}
		for (m = hs.lo; m <= hs.hi; m += 1) {
			if (m % 8)
				continue;
			if (m == (rev ? hs.hi : hs.lo) &&
			    (hs.flags & MASSTREE_SCAN_START_EXCL))
				continue;
			if (m == (rev ? hs.lo : hs.hi) &&
			    (hs.flags & MASSTREE_SCAN_END_EXCL) &&
			    !(hs.flags & MASSTREE_SCAN_NO_END))
				continue;
			want++;
		}
		hr_key(a, rev ? hs.hi : hs.lo);
		hr_key(b, rev ? hs.lo : hs.hi);
		ret = masstree_scan(&map, a, 8, b, 8, hs.flags, hr_scan_key, &hs);
		if (ret == 2 || READ_ONCE(stop))
			break;
		if (ret && !(ret == 1 && hs.left))
			FAIL("range scan [%u, %u] flags %#x: returned %d", hs.lo,
			     hs.hi, hs.flags, ret);
		else if (hs.stable != want)
			FAIL("range scan [%u, %u] flags %#x: %lu stable keys, expected %lu",
			     hs.lo, hs.hi, hs.flags, hs.stable, want);
		hr_scans++;
		hr_keys_seen += hs.keys;
	}
	rcu_unregister_thread();
	__atomic_fetch_add(&finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

int main(int argc, char **argv)
{
	struct writer *ws;
	struct reader *rs;
	struct masstree_stats st;
	long wops = 0, rops = 0, hot_reads = 0, group_reads = 0;
	long scans = 0, scanned = 0;
	struct scanner *scs;
	pthread_t hr_th[2];
	u8 kb[KLEN_MAX];
	int opt, i;
	unsigned long j;
	void *cnt;

	while ((opt = getopt(argc, argv, "t:r:c:d:s:")) != -1) {
		if (opt == 't')
			nwriters = atoi(optarg);
		else if (opt == 'r')
			nreaders = atoi(optarg);
		else if (opt == 'c')
			nscanners = atoi(optarg);
		else if (opt == 'd')
			duration = atoi(optarg);
		else if (opt == 's')
			seed = strtoul(optarg, NULL, 0);
	}
	if (nwriters < 1 || nwriters > MAX_WRITERS || nreaders < 0 ||
	    nscanners < 0 || duration < 1) {
		fprintf(stderr, "stress: 1 to %d writers, a duration of 1s or more\n",
			MAX_WRITERS);
		return 2;
	}
	rcu_register_thread();
	mst_node_caches_init();
	for (j = 0; j < NSTABLE; j++) {
		u32 len = make_key(kb, 2 * j);

		if (masstree_insert(&map, kb, len, val(2 * j), GFP_KERNEL))
			FAIL("stable insert");
	}
	for (j = 0; j < HR_KEYS; j += 8) {
		hr_key(kb, j);
		if (masstree_insert(&map, kb, 8, hr_val(j), GFP_KERNEL))
			FAIL("range stable insert");
	}
	gseq = calloc(NGKEYS, sizeof(*gseq));
	ws = calloc(nwriters, sizeof(*ws));
	rs = calloc(nreaders, sizeof(*rs));
	scs = calloc(nscanners, sizeof(*scs));
	for (i = 0; i < nwriters; i++) {
		ws[i].id = i;
		ws[i].exp = calloc(KEYS_PER_WRITER, sizeof(void *));
		ws[i].ngk = (NGKEYS - i + nwriters - 1) / nwriters;
		ws[i].gexp = calloc(ws[i].ngk + 1, sizeof(bool));
		pthread_create(&ws[i].th, NULL, writer_main, &ws[i]);
	}
	WRITE_ONCE(masstree_test_hook, stress_hook);
	for (i = 0; i < nreaders; i++) {
		rs[i].id = i;
		rs[i].seen = calloc((size_t)NHOT * nwriters, sizeof(u64));
		pthread_create(&rs[i].th, NULL, reader_main, &rs[i]);
	}
	for (i = 0; i < nscanners; i++) {
		scs[i].id = i;
		pthread_create(&scs[i].th, NULL, scanner_main, &scs[i]);
	}
	pthread_create(&hr_th[0], NULL, hr_churner_main, NULL);
	pthread_create(&hr_th[1], NULL, hr_scanner_main, NULL);
	for (i = 0; i < duration * 10 && !READ_ONCE(stop); i++)
		usleep(100000);
	WRITE_ONCE(stop, 1);
	/* A thread that does not return is stuck on a lock: fail fast. */
	for (i = 0; i < 150 && __atomic_load_n(&finished, __ATOMIC_ACQUIRE) <
	     nwriters + nreaders + nscanners + 2; i++)
		usleep(100000);
	if (i == 150) {
		fprintf(stderr, "stress FAILED (seed %lu): %d threads stuck 15s after the run\n",
			seed, nwriters + nreaders + nscanners + 2 -
			__atomic_load_n(&finished, __ATOMIC_ACQUIRE));
		_exit(1);
	}
	for (i = 0; i < nwriters; i++) {
		pthread_join(ws[i].th, NULL);
		wops += ws[i].ops;
	}
	for (i = 0; i < nreaders; i++) {
		pthread_join(rs[i].th, NULL);
		rops += rs[i].ops;
		hot_reads += rs[i].hot_reads;
		group_reads += rs[i].group_reads;
	}
	for (i = 0; i < nscanners; i++) {
		pthread_join(scs[i].th, NULL);
		scans += scs[i].scans;
		scanned += scs[i].keys;
	}
	pthread_join(hr_th[0], NULL);
	pthread_join(hr_th[1], NULL);
	WRITE_ONCE(masstree_test_hook, NULL);

	if (masstree_validate(&map))
		FAIL("validate after the run");
	for (i = 0; i < nwriters; i++) {
		for (j = 0; j < KEYS_PER_WRITER; j++) {
			u64 n = 2 * (j * nwriters + i) + 1;
			u32 len = make_key(kb, n);

			if (masstree_load(&map, kb, len) != ws[i].exp[j])
				FAIL("writer %d key %lu lost or wrong", i, j);
		}
		for (j = 0; j < ws[i].ngk; j++) {
			unsigned long gk = j * nwriters + i;
			u32 len = group_key(kb, gk);
			void *got = masstree_load(&map, kb, len);

			if (got != (ws[i].gexp[j] ? gval(gk) : NULL))
				FAIL("writer %d group key %lu lost or wrong", i, gk);
			masstree_erase(&map, kb, len);
		}
	}
	cnt = masstree_load(&map, counter_key, sizeof(counter_key));
	if ((long)((uintptr_t)cnt >> 3) != counter_incs)
		FAIL("counter %ld, expected %ld", (long)((uintptr_t)cnt >> 3),
		     counter_incs);
	for (j = 0; j < NSTABLE; j++) {
		u32 len = make_key(kb, 2 * j);

		if (masstree_erase(&map, kb, len) != val(2 * j))
			FAIL("stable erase");
	}
	for (i = 0; i < nwriters; i++)
		for (j = 0; j < KEYS_PER_WRITER; j++) {
			u64 n = 2 * (j * nwriters + i) + 1;
			u32 len = make_key(kb, n);

			masstree_erase(&map, kb, len);
		}
	for (j = 0; j < HR_KEYS; j++) {
		void *want = !(j % 8) || hr_exp[j] ? hr_val(j) : NULL;

		hr_key(kb, j);
		if (masstree_erase(&map, kb, 8) != want)
			FAIL("range key %lu lost or wrong", j);
	}
	masstree_erase(&map, counter_key, sizeof(counter_key));
	for (j = 0; j < NHOT; j++)
		masstree_erase(&map, kb, hot_key(kb, j));
	masstree_get_stats(&map, &st);
	if (masstree_validate(&map) || st.keys || st.leaves || st.internodes ||
	    st.layers)
		FAIL("not empty after erasing everything");
	masstree_destroy(&map);
	mst_preload_drain();
	mst_node_caches_exit();
	for (i = 0; i < nwriters; i++) {
		free(ws[i].exp);
		free(ws[i].gexp);
	}
	for (i = 0; i < nreaders; i++)
		free(rs[i].seen);
	free(ws);
	free(rs);
	free(scs);
	free(gseq);
	if (shim_live_allocs)
		FAIL("%ld allocations leaked", shim_live_allocs);
	if (shim_warnings)
		FAIL("%ld warnings", shim_warnings);
	printf("stress: %d writers %d readers %ds: %.0f writes/s %.0f reads/s (hot %ld, grp %ld)\n",
	       nwriters, nreaders, duration, (double)wops / duration,
	       (double)rops / duration, hot_reads, group_reads);
	printf("stress: %d scanners: %ld complete scans, %ld keys scanned\n",
	       nscanners, scans, scanned);
	printf("stress: windows: read %lu mark %lu dirty %lu lock %lu parent %lu scan %lu; "
	       "group ops %lu\n",
	       windows[MASSTREE_HOOK_READ], windows[MASSTREE_HOOK_MARK],
	       windows[MASSTREE_HOOK_DIRTY], windows[MASSTREE_HOOK_LOCK_LEAF],
	       windows[MASSTREE_HOOK_LOCK_PARENT], windows[MASSTREE_HOOK_SCAN],
	       group_ops);
	printf("stress: range race: %ld scans, %ld keys, %lu churner ops\n",
	       hr_scans, hr_keys_seen, hr_ops);
	printf("stress: retries %lu blink %lu split-rechecks %lu layer-retries %lu splits %lu\n",
	       masstree_test_counter(MASSTREE_TC_READ_RETRY),
	       masstree_test_counter(MASSTREE_TC_BLINK),
	       masstree_test_counter(MASSTREE_TC_SPLIT_RECHECK),
	       masstree_test_counter(MASSTREE_TC_LAYER_RETRY), split_hook_calls);
	if (!masstree_test_counter(MASSTREE_TC_READ_RETRY))
		FAIL("no reader retry happened: the race was not exercised");
	if (!masstree_test_counter(MASSTREE_TC_BLINK))
		FAIL("no B-link was followed: the split race was not exercised");
	if (nscanners && !scans)
		FAIL("no scan ran to its end: the scanners checked nothing");
	if (!hr_scans || !windows[MASSTREE_HOOK_SCAN])
		FAIL("no range scan was held in its window: the race was not exercised");
	if (failures)
		return 1;
	printf("stress: PASS\n");
	return 0;
}
