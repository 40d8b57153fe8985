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
 * around them); readers must always find them.
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
 * Afterwards the map must validate and match every writer's expectation,
 * erase back to empty, and free every allocation after destroy +
 * rcu_barrier().
 *
 *   stress [-t writers] [-r readers] [-d seconds] [-s seed]
 */
#include <getopt.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "../include/shim.h"
#include <linux/masstree.h>
#include "../lib/alloc.h"

#define KEYS_PER_WRITER	4096
#define NSTABLE		4096
#define NHOT		16
#define KLEN_MAX	48
#define MAX_WRITERS	255	/* the writer id is one byte of a hot value */

static int nwriters = 4, nreaders = 2, duration = 10;
static unsigned long seed = 1;
static DEFINE_MASSTREE(map);
static int stop;
static long failures;

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
 * Key number n of a family: 8-byte big-endian, or 40 bytes sharing a
 * 24-byte prefix (layers), chosen by n's low bit so both kinds mix.
 * Stable keys are even numbers, churned keys odd.
 */
static u32 make_key(u8 *b, u64 n)
{
	int i;

	if (n & 2) {
		memcpy(b, "stress-shared-prefix-24b", 24);
		for (i = 0; i < 8; i++)
			b[24 + i] = n >> (56 - 8 * i);
		memcpy(b + 32, "tail-xyz", 8);
		return 40;
	}
	for (i = 0; i < 8; i++)
		b[i] = n >> (56 - 8 * i);
	return 8;
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

/*
 * Every 8th leaf split waits here, the new right leaf already linked
 * behind the old one and the parent not yet told, so that walks arrive
 * at the old leaf and follow its B-link. Node locks are held: yield,
 * don't sleep.
 */
static unsigned long split_hook_calls;

static void split_hook(enum masstree_test_hook_point where)
{
	int i;

	if (where != MASSTREE_HOOK_SPLIT)
		return;
	if (__atomic_fetch_add(&split_hook_calls, 1, __ATOMIC_RELAXED) % 8)
		return;
	for (i = 0; i < 4; i++)
		sched_yield();
}

struct writer {
	pthread_t th;
	int id;
	void **exp;
	long ops;
};

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
	mt_preload_drain();
	rcu_unregister_thread();
	return NULL;
}

struct reader {
	pthread_t th;
	int id;
	long ops;
	long hot_reads;
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
		len = make_key(kb, n);
		got = masstree_load(&map, kb, len);

		if (got != val(n))
			FAIL("reader %d: stable key %llu missing (%p)", rd->id,
			     (unsigned long long)n, got);
		rd->ops++;
	}
	rcu_unregister_thread();
	return NULL;
}

int main(int argc, char **argv)
{
	struct writer *ws;
	struct reader *rs;
	struct masstree_stats st;
	long wops = 0, rops = 0, hot_reads = 0;
	u8 kb[KLEN_MAX];
	int opt, i;
	unsigned long j;
	void *cnt;

	while ((opt = getopt(argc, argv, "t:r:d:s:")) != -1) {
		if (opt == 't')
			nwriters = atoi(optarg);
		else if (opt == 'r')
			nreaders = atoi(optarg);
		else if (opt == 'd')
			duration = atoi(optarg);
		else if (opt == 's')
			seed = strtoul(optarg, NULL, 0);
	}
	if (nwriters < 1 || nwriters > MAX_WRITERS || nreaders < 0 ||
	    duration < 1) {
		fprintf(stderr, "stress: 1 to %d writers, a duration of 1s or more\n",
			MAX_WRITERS);
		return 2;
	}
	rcu_register_thread();
	mt_node_caches_init();
	for (j = 0; j < NSTABLE; j++) {
		u32 len = make_key(kb, 2 * j);

		if (masstree_insert(&map, kb, len, val(2 * j), GFP_KERNEL))
			FAIL("stable insert");
	}
	ws = calloc(nwriters, sizeof(*ws));
	rs = calloc(nreaders, sizeof(*rs));
	for (i = 0; i < nwriters; i++) {
		ws[i].id = i;
		ws[i].exp = calloc(KEYS_PER_WRITER, sizeof(void *));
		pthread_create(&ws[i].th, NULL, writer_main, &ws[i]);
	}
	WRITE_ONCE(masstree_test_hook, split_hook);
	for (i = 0; i < nreaders; i++) {
		rs[i].id = i;
		rs[i].seen = calloc((size_t)NHOT * nwriters, sizeof(u64));
		pthread_create(&rs[i].th, NULL, reader_main, &rs[i]);
	}
	for (i = 0; i < duration * 10 && !READ_ONCE(stop); i++)
		usleep(100000);
	WRITE_ONCE(stop, 1);
	for (i = 0; i < nwriters; i++) {
		pthread_join(ws[i].th, NULL);
		wops += ws[i].ops;
	}
	for (i = 0; i < nreaders; i++) {
		pthread_join(rs[i].th, NULL);
		rops += rs[i].ops;
		hot_reads += rs[i].hot_reads;
	}
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
	masstree_erase(&map, counter_key, sizeof(counter_key));
	for (j = 0; j < NHOT; j++)
		masstree_erase(&map, kb, hot_key(kb, j));
	masstree_get_stats(&map, &st);
	if (masstree_validate(&map) || st.keys || st.leaves || st.internodes ||
	    st.layers)
		FAIL("not empty after erasing everything");
	masstree_destroy(&map);
	mt_node_caches_exit();
	for (i = 0; i < nwriters; i++)
		free(ws[i].exp);
	for (i = 0; i < nreaders; i++)
		free(rs[i].seen);
	free(ws);
	free(rs);
	if (shim_live_allocs)
		FAIL("%ld allocations leaked", shim_live_allocs);
	if (shim_warnings)
		FAIL("%ld warnings", shim_warnings);
	printf("stress: %d writers %d readers %ds: %.0f writes/s %.0f reads/s (%ld hot)\n",
	       nwriters, nreaders, duration, (double)wops / duration,
	       (double)rops / duration, hot_reads);
	printf("stress: retries %lu blink %lu split-rechecks %lu layer-retries %lu splits %lu\n",
	       masstree_test_counter(MASSTREE_TC_READ_RETRY),
	       masstree_test_counter(MASSTREE_TC_BLINK),
	       masstree_test_counter(MASSTREE_TC_SPLIT_RECHECK),
	       masstree_test_counter(MASSTREE_TC_LAYER_RETRY), split_hook_calls);
	if (!masstree_test_counter(MASSTREE_TC_READ_RETRY))
		FAIL("no reader retry happened: the race was not exercised");
	if (!masstree_test_counter(MASSTREE_TC_BLINK))
		FAIL("no B-link was followed: the split race was not exercised");
	if (failures)
		return 1;
	printf("stress: PASS\n");
	return 0;
}
