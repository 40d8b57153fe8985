// SPDX-License-Identifier: GPL-2.0
/*
 * Zipfian key choice with theta = 0.99, as YCSB's: rank r (1-based) is
 * drawn with probability proportional to 1 / r^0.99. The kernel has no
 * floating point, so the weights are computed in fixed point,
 * 1 / r^0.99 = 2^(0.01 * log2 r) / r, and a draw is a binary search of a
 * uniform 64-bit number in the table of cumulative weights. Rank r is key
 * index r - 1: the hot keys are the first ones inserted, which the
 * shuffle scatters over the key space.
 */
#include <linux/log2.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "bench.h"

/**
 * struct mb_zipf - a Zipfian sampler over [0, nr).
 * @nr: number of keys.
 * @cdf: @cdf[i] is the sum of the weights of ranks 1..i + 1.
 */
struct mb_zipf {
	unsigned int nr;
	u64 cdf[];
};

/* log2(x) in Q32 for x >= 1, bit by bit by repeated squaring. */
static u64 mb_log2_q32(u32 x)
{
	unsigned int ip = ilog2(x), b;
	u64 m = (u64)x << (62 - ip);	/* x / 2^ip in [1, 2), Q62 */
	u64 frac = 0;

	for (b = 32; b-- > 0;) {
		m = mul_u64_u64_shr(m, m, 62);
		if (m >= 1ULL << 63) {
			m >>= 1;
			frac |= 1ULL << b;
		}
	}
	return ((u64)ip << 32) | frac;
}

/* 2^(0.01 * log2 r) = e^z with z <= 0.13 for r < 2^32, in Q32. */
static u64 mb_pow001_q32(u32 r)
{
	const u64 ln2_q32 = 2977044472ULL;
	u64 y = div_u64(mb_log2_q32(r), 100);
	u64 z = (y * ln2_q32) >> 32;
	u64 z2 = (z * z) >> 32, z3 = (z2 * z) >> 32, z4 = (z3 * z) >> 32;

	return (1ULL << 32) + z + z2 / 2 + z3 / 6 + z4 / 24;
}

/**
 * mb_zipf_create() - a Zipfian sampler over [0, @nr).
 * @nr: number of keys, at least 1.
 *
 * Context: Process context; sleeps.
 * Return: the sampler, or NULL on -ENOMEM.
 */
struct mb_zipf *mb_zipf_create(unsigned int nr)
{
	struct mb_zipf *z;
	u64 sum = 0;
	unsigned int i;

	z = kvmalloc(struct_size(z, cdf, nr), GFP_KERNEL);
	if (!z)
		return NULL;
	z->nr = nr;
	/* Weight of rank r: 2^50 / r^0.99, so the sum stays below 2^55. */
	for (i = 0; i < nr; i++) {
		sum += div_u64(mb_pow001_q32(i + 1) << 18, i + 1);
		z->cdf[i] = sum;
	}
	return z;
}

/**
 * mb_zipf_destroy() - free a sampler.
 * @z: the sampler, or NULL.
 *
 * Context: Process context.
 */
void mb_zipf_destroy(struct mb_zipf *z)
{
	kvfree(z);
}

/**
 * mb_zipf_draw() - draw a key index.
 * @z: the sampler.
 * @rnd_hi: 32 uniform random bits.
 * @rnd_lo: 32 more.
 *
 * Context: Any context.
 * Return: an index in [0, nr).
 */
unsigned int mb_zipf_draw(const struct mb_zipf *z, u32 rnd_hi, u32 rnd_lo)
{
	u64 total = z->cdf[z->nr - 1];
	u64 target = mul_u64_u64_shr(((u64)rnd_hi << 32) | rnd_lo, total, 64);
	unsigned int lo = 0, hi = z->nr - 1;

	/* The first index whose cumulative weight exceeds target. */
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (z->cdf[mid] > target)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}
