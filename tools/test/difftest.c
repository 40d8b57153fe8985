// SPDX-License-Identifier: GPL-2.0
/*
 * Seeded random differential test of the masstree core against a plain
 * reference: every key comes from a fixed table (sorted, unique), so the
 * reference is an array of entries indexed by key number. Operations:
 * insert, store, cmpxchg (all four NULL/non-NULL combinations), erase,
 * load, with injected allocation failures that must leave the map exactly
 * unchanged. masstree_validate() and a full comparison run between phases.
 *
 *   difftest [-s seed] [-n ops]
 *
 * -n is the total number of operations over all phases. A failure
 * prints the seed, the phase and the operation number.
 */
#include <getopt.h>
#include <time.h>

#include "../include/shim.h"
#include <linux/masstree.h>
#include "../lib/alloc.h"

struct key {
	u8 *b;
	u32 len;
};

static struct key *keys;
static unsigned long nkeys;
static void **ref;
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

#define FAIL(...) do {							\
	fprintf(stderr, "difftest FAILED (seed %lu, phase %s, op %lu): ", \
		seed, phase, opno);					\
	fprintf(stderr, __VA_ARGS__);					\
	fprintf(stderr, "\n");						\
	exit(1);							\
} while (0)

static int keycmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	u32 n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->b, y->b, n);

	if (c)
		return c;
	return (x->len > y->len) - (x->len < y->len);
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
	nkeys++;
}

/* The key shapes; each shape owns a range of the sorted table. */
enum { SH_INT, SH_R16, SH_P24, SH_R32, SH_MIX, SH_BIG, SH_SPECIAL, SH_NR };
static const char *const shape_name[SH_NR] = {
	"int8", "rand16", "prefix24", "rand32", "mixed0-300", "big1-4k",
	"special-lengths",
};

static unsigned long shape_lo[SH_NR], shape_hi[SH_NR];
static u8 *kbuf;

static void gen_shape(int sh, unsigned long n)
{
	unsigned long i;
	u32 len, j;

	for (i = 0; i < n; i++) {
		u64 r = rnd();

		switch (sh) {
		case SH_INT:
			for (j = 0; j < 8; j++)
				kbuf[j] = (i * 2654435761u) >> (56 - 8 * j);
			/* big-endian i, spread */
			{
				u64 v = i * 0x10001ULL;

				for (j = 0; j < 8; j++)
					kbuf[j] = v >> (56 - 8 * j);
			}
			add_key(kbuf, 8);
			break;
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
		for (v = 0; v < 4; v++) {
			memset(kbuf, v == 1 ? 0 : 'z', lens[i]);
			if (v >= 2 && lens[i])
				kbuf[lens[i] - 1] = v == 2 ? 0 : 0xff;
			add_key(kbuf, lens[i]);
		}
	}
}

/* A key in two shapes' tables: the later copy is dead (len ~0). */
#define DEAD_KEY	0xffffffffu
static unsigned long *order;

static int ordcmp(const void *a, const void *b)
{
	const unsigned long *x = a, *y = b;
	int c = keycmp(&keys[*x], &keys[*y]);

	return c ? c : (*x > *y) - (*x < *y);
}

static void dedupe_shapes(void)
{
	unsigned long i;

	order = malloc(nkeys * sizeof(*order));
	for (i = 0; i < nkeys; i++)
		order[i] = i;
	qsort(order, nkeys, sizeof(*order), ordcmp);
	for (i = nkeys - 1; i > 0; i--)
		if (!keycmp(&keys[order[i - 1]], &keys[order[i]]))
			keys[order[i]].len = DEAD_KEY;
}

static void build_keys(void)
{
	unsigned long start, i, out;
	int sh;

	kbuf = malloc(MASSTREE_MAX_KEY_LEN + 2);
	for (sh = 0; sh < SH_NR; sh++) {
		start = nkeys;
		if (sh == SH_SPECIAL)
			gen_special();
		else if (sh == SH_BIG)
			gen_shape(sh, 48);
		else
			gen_shape(sh, sh == SH_MIX ? 20000 : 30000);
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
	ref = calloc(nkeys, sizeof(*ref));
	dedupe_shapes();
}

static void *mkval(void)
{
	return (void *)(uintptr_t)((rnd() % 1000000 + 1) << 3);
}

static void full_compare(unsigned long lo, unsigned long hi)
{
	struct masstree_stats st;
	unsigned long i, present = 0;
	void *got;

	if (masstree_validate(&map))
		FAIL("masstree_validate failed");
	for (i = 0; i < nkeys; i++) {
		if (keys[i].len == DEAD_KEY)
			continue;
		got = masstree_load(&map, keys[i].b, keys[i].len);
		if (got != ref[i])
			FAIL("key %lu (len %u): load %p, expected %p", i,
			     keys[i].len, got, ref[i]);
		present += !!ref[i];
	}
	masstree_get_stats(&map, &st);
	if (st.keys != present)
		FAIL("stats keys %lu, expected %lu", st.keys, present);
	(void)lo;
	(void)hi;
}

static bool same_stats(const struct masstree_stats *a,
		       const struct masstree_stats *b)
{
	return a->keys == b->keys && a->leaves == b->leaves &&
	       a->internodes == b->internodes && a->layers == b->layers &&
	       a->bytes == b->bytes && a->height == b->height;
}

static unsigned long n_enomem, n_ops_done;

static void one_op(unsigned long lo, unsigned long hi)
{
	unsigned long k = lo + rnd() % (hi - lo);
	const struct key *key;
	struct masstree_stats before, after;
	unsigned int op = rnd() % 100;
	bool inject = rnd() % 64 == 0;
	bool preload = rnd() % 16 == 0;
	void *v = mkval(), *old, *ret, *expect_old;
	gfp_t gfp = GFP_KERNEL;
	int err;

	while (keys[k].len == DEAD_KEY)
		k = lo + rnd() % (hi - lo);
	key = &keys[k];
	old = ref[k];
	if (getenv("TRACE") && strtoul(getenv("TRACE"), NULL, 0) == k)
		fprintf(stderr, "op %lu: key %lu op %u inject %d preload %d old %p v %p\n",
			opno, k, op, inject, preload, old, v);
	if (inject) {
		masstree_get_stats(&map, &before);
		shim_fail_nth = 1 + rnd() % 3;
	} else if (preload) {
		if (masstree_preload(GFP_KERNEL))
			FAIL("preload failed");
		gfp = GFP_NOWAIT;
	}

	if (op < 25) {			/* insert */
		err = masstree_insert(&map, key->b, key->len, v, gfp);
		if (err == -ENOMEM && inject)
			goto enomem;
		if (err != (old ? -EEXIST : 0))
			FAIL("insert key %lu: %d", k, err);
		if (!old)
			ref[k] = v;
	} else if (op < 45) {		/* store */
		if (rnd() % 8 == 0)
			v = NULL;
		ret = masstree_store(&map, key->b, key->len, v, gfp);
		if (masstree_err(ret) == -ENOMEM && inject)
			goto enomem;
		if (ret != old)
			FAIL("store key %lu (len %u): %p, expected %p", k, key->len, ret, old);
		ref[k] = v;
	} else if (op < 65) {		/* cmpxchg */
		unsigned int kind = rnd() % 4;
		void *o;

		o = kind == 0 ? NULL : kind == 1 ? old : kind == 2 ? mkval() : old;
		if (kind == 3)
			v = NULL;
		ret = masstree_cmpxchg(&map, key->b, key->len, o, v, gfp);
		if (masstree_err(ret) == -ENOMEM && inject)
			goto enomem;
		expect_old = old;
		if (ret != expect_old)
			FAIL("cmpxchg key %lu: %p, expected %p", k, ret, old);
		if (old == o)
			ref[k] = v;
	} else if (op < 85) {		/* erase */
		ret = masstree_erase(&map, key->b, key->len);
		if (ret != old)
			FAIL("erase key %lu: %p, expected %p", k, ret, old);
		ref[k] = NULL;
	} else {			/* load */
		ret = masstree_load(&map, key->b, key->len);
		if (ret != old)
			FAIL("load key %lu: %p, expected %p", k, ret, old);
	}
	goto out;
enomem:
	n_enomem++;
	shim_fail_nth = 0;
	masstree_get_stats(&map, &after);
	if (!same_stats(&before, &after))
		FAIL("-ENOMEM changed the map's stats");
	ret = masstree_load(&map, key->b, key->len);
	if (ret != old)
		FAIL("-ENOMEM changed key %lu: %p, expected %p", k, ret, old);
	if (n_enomem % 256 == 0 && masstree_validate(&map))
		FAIL("validate after -ENOMEM");
out:
	if (!inject && preload)
		masstree_preload_end();
	shim_fail_nth = 0;
	n_ops_done++;
}

static void erase_all(void)
{
	struct masstree_stats st;
	unsigned long i;

	for (i = 0; i < nkeys; i++) {
		void *ret;

		if (keys[i].len == DEAD_KEY)
			continue;
		ret = masstree_erase(&map, keys[i].b, keys[i].len);

		if (ret != ref[i])
			FAIL("erasing everything, key %lu: %p, expected %p", i, ret,
			     ref[i]);
		ref[i] = NULL;
	}
	if (masstree_validate(&map))
		FAIL("validate after erasing everything");
	masstree_get_stats(&map, &st);
	if (st.keys || st.leaves || st.internodes || st.layers || st.bytes ||
	    st.height || rcu_access_pointer(map.root))
		FAIL("empty map not empty: %lu keys %lu leaves %lu internodes %lu layers",
		     st.keys, st.leaves, st.internodes, st.layers);
}

static void check_lengths(void)
{
	u8 *big = calloc(1, MASSTREE_MAX_KEY_LEN + 1);
	void *ret;

	phase = "length-limits";
	if (masstree_insert(&map, big, MASSTREE_MAX_KEY_LEN + 1, (void *)8,
			    GFP_KERNEL) != -EINVAL)
		FAIL("65536-byte key accepted by insert");
	ret = masstree_store(&map, big, MASSTREE_MAX_KEY_LEN + 1, (void *)8,
			     GFP_KERNEL);
	if (masstree_err(ret) != -EINVAL)
		FAIL("65536-byte key accepted by store");
	if (masstree_load(&map, big, MASSTREE_MAX_KEY_LEN + 1))
		FAIL("65536-byte key found");
	if (masstree_insert(&map, big, 3, (void *)2, GFP_KERNEL) != -EINVAL)
		FAIL("reserved entry accepted");
	if (masstree_insert(&map, big, 3, NULL, GFP_KERNEL) != -EINVAL)
		FAIL("NULL entry accepted by insert");
	free(big);
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

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	unsigned long total = 0;
	double secs;
	unsigned long total_weight = 0;
	int opt, sh;

	while ((opt = getopt(argc, argv, "s:n:")) != -1) {
		if (opt == 's')
			seed = strtoul(optarg, NULL, 0);
		else if (opt == 'n')
			nops = strtoul(optarg, NULL, 0);
	}
	/* Progress survives a kill by the caller's timeout. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	rng_state = seed;
	rcu_register_thread();
	if (mt_node_caches_init())
		FAIL("caches");
	build_keys();
	check_lengths();

	for (sh = 0; sh <= SH_NR; sh++)
		total_weight += phase_weight(sh);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (sh = 0; sh <= SH_NR; sh++) {
		unsigned long lo = sh < SH_NR ? shape_lo[sh] : 0;
		unsigned long hi = sh < SH_NR ? shape_hi[sh] : nkeys;
		unsigned long n, i;

		/* -n is the total: the last phase takes the remainder. */
		if (sh < SH_NR)
			n = nops * phase_weight(sh) / total_weight;
		else
			n = nops - total;
		phase = sh < SH_NR ? shape_name[sh] : "all-shapes";
		for (i = 0; i < n; i++) {
			opno = i;
			one_op(lo, hi);
			if (i % (n / 4 + 1) == 0)
				full_compare(lo, hi);
		}
		full_compare(lo, hi);
		total += n;
		printf("difftest: phase %s: %lu ops\n", phase, n);
		if (sh % 2 == 0 || sh == SH_NR)
			erase_all();
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;

	phase = "destroy";
	masstree_destroy(&map);
	mt_node_caches_exit();
	if (shim_live_allocs)
		FAIL("%ld allocations leaked", shim_live_allocs);
	if (shim_warnings)
		FAIL("%ld warnings", shim_warnings);
	printf("difftest: seed %lu: %lu ops (%lu -ENOMEM) over %lu keys\n",
	       seed, total, n_enomem, nkeys);
	printf("difftest: %.2fs, %.0f ops/s: PASS\n", secs, total / secs);
	return 0;
}
