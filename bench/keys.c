// SPDX-License-Identifier: GPL-2.0
/*
 * Key sets: every shape of key the benchmark uses, generated from a seed,
 * with each key's rank in sorted order so that scans can be checked.
 */
#include <linux/errno.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/prandom.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <asm/unaligned.h>

#include "bench.h"

/*
 * int8: the integers [0, nr) as 8-byte big-endian keys, in shuffled order
 * (dense, so that XArray and the maple tree stay compact);
 * rand16, rand32: random bytes;
 * prefix24: a 16-byte prefix common to every key, then 8 random bytes
 * (masstree puts such keys in a third layer).
 */
const struct mb_shape mb_shapes[] = {
	{ .name = "int8", .len = 8, .integer = true },
	{ .name = "rand16", .len = 16 },
	{ .name = "prefix24", .len = 24 },
	{ .name = "rand32", .len = 32 },
};

const unsigned int mb_nr_shapes = ARRAY_SIZE(mb_shapes);

static const u8 mb_prefix[16] = "/masstree/bench/";

static int mb_key_cmp(const void *a, const void *b, const void *priv)
{
	const struct mb_keys *k = priv;

	return memcmp(mb_key(k, *(const u32 *)a), mb_key(k, *(const u32 *)b),
		      k->len);
}

/* Fill k->rank; -EEXIST if two keys are equal (change the seed). */
static int mb_keys_rank(struct mb_keys *k)
{
	u32 *order;
	unsigned int i;
	int err = 0;

	order = kvmalloc_array(k->nr, sizeof(*order), GFP_KERNEL);
	if (!order)
		return -ENOMEM;
	for (i = 0; i < k->nr; i++)
		order[i] = i;
	sort_r(order, k->nr, sizeof(*order), mb_key_cmp, NULL, k);
	for (i = 0; i < k->nr; i++) {
		k->rank[order[i]] = i;
		if (i && !mb_key_cmp(&order[i - 1], &order[i], k))
			err = -EEXIST;
	}
	kvfree(order);
	return err;
}

/**
 * mb_keys_init() - generate a key set.
 * @k: filled in.
 * @shape: index into mb_shapes[].
 * @nr: number of keys.
 * @seed: the same seed gives the same keys in the same order.
 *
 * Context: Process context; sleeps.
 * Return: 0, -ENOMEM, or -EEXIST if two random keys came out equal.
 */
int mb_keys_init(struct mb_keys *k, unsigned int shape, unsigned int nr,
		 u64 seed)
{
	const struct mb_shape *s = &mb_shapes[shape];
	struct rnd_state rnd;
	unsigned int i;
	int err;

	k->shape = shape;
	k->len = s->len;
	k->nr = nr;
	k->bytes = kvmalloc_array(nr, s->len, GFP_KERNEL);
	k->rank = kvmalloc_array(nr, sizeof(*k->rank), GFP_KERNEL);
	if (!k->bytes || !k->rank) {
		mb_keys_fini(k);
		return -ENOMEM;
	}
	prandom_seed_state(&rnd, seed);
	if (s->integer) {
		u64 *v = (u64 *)k->bytes;

		/* Fisher-Yates over [0, nr), then to big-endian bytes. */
		for (i = 0; i < nr; i++)
			v[i] = i;
		for (i = nr - 1; i > 0; i--) {
			u32 j = prandom_u32_state(&rnd) % (i + 1);

			swap(v[i], v[j]);
		}
		for (i = 0; i < nr; i++)
			put_unaligned_be64(v[i], &v[i]);
	} else {
		prandom_bytes_state(&rnd, k->bytes, (size_t)nr * s->len);
		if (s->len == 24)
			for (i = 0; i < nr; i++)
				memcpy(k->bytes + (size_t)i * s->len, mb_prefix,
				       sizeof(mb_prefix));
	}
	err = mb_keys_rank(k);
	if (err)
		mb_keys_fini(k);
	return err;
}

/**
 * mb_keys_fini() - free a key set.
 * @k: the key set.
 *
 * Context: Process context.
 */
void mb_keys_fini(struct mb_keys *k)
{
	kvfree(k->bytes);
	kvfree(k->rank);
	k->bytes = NULL;
	k->rank = NULL;
}
