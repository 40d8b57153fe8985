// SPDX-License-Identifier: GPL-2.0
/*
 * Seeded random differential test: every operation is applied to the map
 * and to the reference map (masstree_refmap.h), and their answers must
 * agree. One case per key shape; on a mismatch the case names the seed
 * and the operation's index, so that it can be replayed. The runs are
 * short enough for every make check: long ones are the userspace
 * difftest's (tools/testing/tests/difftest.c), against the same reference.
 */
#include <kunit/test.h>
#include <linux/ktime.h>
#include <linux/masstree.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/prandom.h>
#include <linux/slab.h>

#include "masstree_test.h"

#define DIFF_SEED	0x6d617373ULL
#define DIFF_PHASES	4
/* KCSAN runs about 12x slower than KASAN here: size the runs for it. */
#define DIFF_SCALE	(IS_ENABLED(CONFIG_KCSAN) ? 10 : 1)
#define DIFF_MAX_KEY	4096

enum diff_shape {
	SHAPE_BE64,
	SHAPE_RAND16,
	SHAPE_PREFIX24,
	SHAPE_RAND32,
	SHAPE_MIXED,
	SHAPE_HUGE,
};

/**
 * struct diff_case - one key shape.
 * @name: what the keys look like.
 * @shape: how keys are made from an index.
 * @universe: distinct keys the operations choose from (at most 64K).
 * @ops: operations on the KASAN kernel (divided by DIFF_SCALE on KCSAN):
 *       three to four per key of the universe, enough for the map to
 *       reach the size it keeps (seven keys in ten present).
 */
struct diff_case {
	const char *name;
	enum diff_shape shape;
	u32 universe;
	u32 ops;
};

/* 280,000 operations in all on the KASAN kernel. */
static const struct diff_case diff_cases[] = {
	{ "8-byte big-endian integers", SHAPE_BE64, 20000, 70000 },
	{ "16-byte random", SHAPE_RAND16, 20000, 50000 },
	{ "24-byte, 16-byte common prefix", SHAPE_PREFIX24, 20000, 50000 },
	{ "32-byte random", SHAPE_RAND32, 20000, 40000 },
	{ "mixed lengths 0..300", SHAPE_MIXED, 8000, 60000 },
	{ "1-4 KiB keys", SHAPE_HUGE, 48, 10000 },
};

static void diff_desc(const struct diff_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s", c->name);
}

KUNIT_ARRAY_PARAM(diff, diff_cases, diff_desc);

/**
 * struct diff_state - a case's map, reference and key buffer.
 * @mt: the map.
 * @ref: the reference.
 * @key: the current key, DIFF_MAX_KEY bytes.
 */
struct diff_state {
	struct masstree *mt;
	struct refmap *ref;
	u8 *key;
};

/* Bytes from a small alphabet, so that keys share prefixes often. */
static const u8 diff_alphabet[] = { 0x00, 0x01, 'a', 'b', 0x7f, 0xff };

/* Build key @idx of @shape into @key; returns its length. */
static u32 diff_key(enum diff_shape shape, u32 idx, u8 *key)
{
	struct rnd_state ks;
	u32 len, i;

	prandom_seed_state(&ks, ((u64)shape << 32) ^ idx ^ DIFF_SEED);
	switch (shape) {
	case SHAPE_BE64:
		mtt_key64(key, (u64)idx * 0x10001);
		return 8;
	case SHAPE_RAND16:
		prandom_bytes_state(&ks, key, 16);
		return 16;
	case SHAPE_PREFIX24:
		memset(key, 0xc3, 16);
		prandom_bytes_state(&ks, key + 16, 8);
		return 24;
	case SHAPE_RAND32:
		prandom_bytes_state(&ks, key, 32);
		return 32;
	case SHAPE_MIXED:
		len = prandom_u32_state(&ks) % 301;
		for (i = 0; i < len; i++)
			key[i] = diff_alphabet[prandom_u32_state(&ks) % 3];
		return len;
	case SHAPE_HUGE:
		len = 1024 + prandom_u32_state(&ks) % (DIFF_MAX_KEY - 1023);
		/* A long common prefix, then a few differing bytes. */
		memset(key, 'h', len);
		for (i = 0; i < 4; i++)
			key[1000 + prandom_u32_state(&ks) % (len - 1000)] =
				diff_alphabet[prandom_u32_state(&ks) %
					      ARRAY_SIZE(diff_alphabet)];
		return len;
	}
	return 0;
}

enum diff_op { OP_INSERT, OP_STORE, OP_CMPXCHG, OP_ERASE, OP_LOAD };

static enum diff_op diff_pick_op(u32 r)
{
	r %= 100;
	if (r < 35)
		return OP_INSERT;
	if (r < 50)
		return OP_STORE;
	if (r < 65)
		return OP_CMPXCHG;
	if (r < 85)
		return OP_ERASE;
	return OP_LOAD;
}

/*
 * One operation on both; returns false on disagreement after reporting
 * it. Entries are unique per operation: mtt_entry(@i + 1).
 */
static bool diff_step(struct kunit *test, struct diff_state *ds, u64 seed,
		      u32 i, struct rnd_state *rnd, u32 len)
{
	struct masstree *mt = ds->mt;
	u32 r = prandom_u32_state(rnd);
	void *want = refmap_get(ds->ref, ds->key, len);
	void *entry = mtt_entry(i + 1), *got, *old, *set = NULL;
	bool change = false;
	enum diff_op op = diff_pick_op(r);
	int err;

	switch (op) {
	case OP_INSERT:
		err = masstree_insert(mt, ds->key, len, entry, GFP_KERNEL);
		got = err ? masstree_mk_err(err) : NULL;
		if (want)
			want = masstree_mk_err(-EEXIST);
		else
			change = true;
		set = entry;
		break;
	case OP_STORE:
		/* One store in eight erases. */
		if ((r >> 8) % 8 == 0)
			entry = NULL;
		got = masstree_store(mt, ds->key, len, entry, GFP_KERNEL);
		change = true;
		set = entry;
		break;
	case OP_CMPXCHG:
		/* Expect the right entry, NULL, or a wrong one. */
		switch ((r >> 8) % 4) {
		case 0:
			old = NULL;
			break;
		case 1:
			old = mtt_entry(0x7fffffff);
			break;
		default:
			old = want;
			break;
		}
		if ((r >> 12) % 4 == 0)
			entry = NULL;
		got = masstree_cmpxchg(mt, ds->key, len, old, entry, GFP_KERNEL);
		change = want == old;
		set = entry;
		break;
	case OP_ERASE:
		got = masstree_erase(mt, ds->key, len);
		change = true;
		break;
	default:
		got = masstree_load(mt, ds->key, len);
		break;
	}
	if (got != want) {
		KUNIT_FAIL(test, "seed %#llx op %u (kind %d, key length %u): got %#lx, want %#lx",
			   seed, i, op, len, (unsigned long)got,
			   (unsigned long)want);
		return false;
	}
	if (change && refmap_set(ds->ref, ds->key, len, set)) {
		KUNIT_FAIL(test, "reference out of memory");
		return false;
	}
	/* Every 16th operation also reads its key back. */
	if (i % 16 == 0 && masstree_load(mt, ds->key, len) !=
			   refmap_get(ds->ref, ds->key, len)) {
		KUNIT_FAIL(test, "seed %#llx op %u: load after op kind %d differs",
			   seed, i, op);
		return false;
	}
	return true;
}

/* Every reference key is in the map with its entry, and counts match. */
static bool diff_check_all(struct kunit *test, struct diff_state *ds, u64 seed,
			   u32 phase)
{
	const struct refmap_node *x;
	struct masstree_stats st;

	if (masstree_validate(ds->mt)) {
		KUNIT_FAIL(test, "seed %#llx: validate failed after phase %u",
			   seed, phase);
		return false;
	}
	masstree_get_stats(ds->mt, &st);
	if (st.keys != refmap_count(ds->ref)) {
		KUNIT_FAIL(test, "seed %#llx phase %u: %lu keys, reference %lu",
			   seed, phase, st.keys, refmap_count(ds->ref));
		return false;
	}
	for (x = refmap_first(ds->ref); x; x = refmap_next(x)) {
		if (masstree_load(ds->mt, x->key, x->len) != x->entry) {
			KUNIT_FAIL(test, "seed %#llx phase %u: key of length %zu lost",
				   seed, phase, x->len);
			return false;
		}
	}
	return true;
}

static void masstree_diff_random_ops_match_reference(struct kunit *test)
{
	const struct diff_case *c = test->param_value;
	struct diff_state state = { mtt_map(test), mtt_ref(test) }, *ds = &state;
	u32 ops = c->ops / DIFF_SCALE, i, phase;
	u64 seed = DIFF_SEED + c->shape, ns;
	unsigned long n, stride, j;
	const struct refmap_node *x;
	struct masstree_stats st;
	struct rnd_state rnd;

	ds->key = kunit_kmalloc(test, DIFF_MAX_KEY, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ds->key);
	prandom_seed_state(&rnd, seed);
	kunit_info(test, "seed %#llx, %u operations over %u keys", seed, ops,
		   c->universe);
	ns = ktime_get_ns();
	for (phase = 0; phase < DIFF_PHASES; phase++) {
		for (i = phase * ops / DIFF_PHASES;
		     i < (phase + 1) * ops / DIFF_PHASES; i++) {
			u32 len = diff_key(c->shape,
					   prandom_u32_state(&rnd) % c->universe,
					   ds->key);

			if (!diff_step(test, ds, seed, i, &rnd, len))
				return;
			if (i % 256 == 0)
				cond_resched();
		}
		if (!diff_check_all(test, ds, seed, phase))
			return;
	}
	ns = ktime_get_ns() - ns;
	masstree_get_stats(ds->mt, &st);
	kunit_info(test, "%llu ops/s (map and reference); %lu keys, %lu layers, height %lu",
		   div64_u64((u64)ops * NSEC_PER_SEC, ns ?: 1), st.keys,
		   st.layers, st.height);

	/*
	 * Erase what is left through the map, in a scattered order (a
	 * stride prime to the count visits every key once); the reference
	 * agrees.
	 */
	n = refmap_count(ds->ref);
	stride = n % 7919 ? 7919 : 1;
	for (j = 0; j < n; j++) {
		x = refmap_nth(ds->ref, j * stride % n);
		if (masstree_erase(ds->mt, x->key, x->len) != x->entry) {
			KUNIT_FAIL(test, "seed %#llx: final erase of a key of length %zu",
				   seed, x->len);
			return;
		}
		cond_resched();
	}
	refmap_clear(ds->ref);
	mtt_expect_all_freed(test);
}

static struct kunit_case masstree_diff_cases[] = {
	KUNIT_CASE_PARAM(masstree_diff_random_ops_match_reference, diff_gen_params),
	{}
};

static struct kunit_suite masstree_diff_suite = {
	.name = "masstree_diff",
	.init = mtt_init,
	.exit = mtt_exit,
	.test_cases = masstree_diff_cases,
};

kunit_test_suite(masstree_diff_suite);

MODULE_DESCRIPTION("KUnit differential test of masstree against a reference map");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
