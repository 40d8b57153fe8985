// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of key slices and their comparison (masstree/key.h): the
 * (slice, length class) order must be bytewise order with a prefix first.
 */
#include <kunit/test.h>
#include <linux/module.h>
#include <linux/prandom.h>
#include <linux/string.h>

#include "key.h"

/* Bytewise order of two byte strings, a prefix before its extensions. */
static int bytewise_cmp(const u8 *a, size_t alen, const u8 *b, size_t blen)
{
	int c = memcmp(a, b, min(alen, blen));

	if (c)
		return c < 0 ? -1 : 1;
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return 0;
}

static void mst_slice_reads_big_endian(struct kunit *test)
{
	static const u8 key[] = "abcdefghijkl";

	KUNIT_EXPECT_EQ(test, mst_slice(key, 12, 0), 0x6162636465666768ULL);
	KUNIT_EXPECT_EQ(test, mst_slice(key, 12, 8), 0x696a6b6c00000000ULL);
}

static void mst_slice_pads_short_keys_with_zeros(struct kunit *test)
{
	static const u8 key[] = { 0xff, 0x01, 0x80 };

	KUNIT_EXPECT_EQ(test, mst_slice(key, 3, 0), 0xff01800000000000ULL);
	KUNIT_EXPECT_EQ(test, mst_slice(key, 3, 1), 0x0180000000000000ULL);
	KUNIT_EXPECT_EQ(test, mst_slice(key, 3, 3), 0ULL);
	KUNIT_EXPECT_EQ(test, mst_slice(key, 0, 0), 0ULL);
}

static void mst_key_cls_counts_bytes_in_slice(struct kunit *test)
{
	size_t len;

	for (len = 0; len <= 8; len++)
		KUNIT_EXPECT_EQ(test, mst_key_cls(len + 16, 16), (unsigned int)len);
	KUNIT_EXPECT_EQ(test, mst_key_cls(9, 0), (unsigned int)MST_CLS_LONG);
	KUNIT_EXPECT_EQ(test, mst_key_cls(65535, 65520), (unsigned int)MST_CLS_LONG);
}

static void mst_klx_cls_maps_suffix_and_layer_to_long(struct kunit *test)
{
	u8 klx;

	for (klx = 0; klx <= 8; klx++)
		KUNIT_EXPECT_EQ(test, mst_klx_cls(klx), (unsigned int)klx);
	KUNIT_EXPECT_EQ(test, mst_klx_cls(MST_KLX_SUFFIX), (unsigned int)MST_CLS_LONG);
	KUNIT_EXPECT_EQ(test, mst_klx_cls(MST_KLX_LAYER), (unsigned int)MST_CLS_LONG);
}

static void mst_cmp_puts_prefix_before_extension(struct kunit *test)
{
	static const u8 ab0[] = { 'a', 'b', 0 };

	/* "ab" and "ab\0" share a slice: the class decides. */
	KUNIT_EXPECT_EQ(test, mst_slice(ab0, 2, 0), mst_slice(ab0, 3, 0));
	KUNIT_EXPECT_LT(test, mst_cmp(mst_slice(ab0, 2, 0), 2, mst_slice(ab0, 3, 0), 3), 0);
	KUNIT_EXPECT_GT(test, mst_cmp(mst_slice(ab0, 3, 0), 3, mst_slice(ab0, 2, 0), 2), 0);
	KUNIT_EXPECT_EQ(test, mst_cmp(5, 4, 5, 4), 0);
	/* A key continuing past the slice sorts after every shorter one. */
	KUNIT_EXPECT_LT(test, mst_cmp(7, 8, 7, MST_CLS_LONG), 0);
	/* Slices compare as unsigned integers: 0xff... is the largest. */
	KUNIT_EXPECT_LT(test, mst_cmp(0x7fULL << 56, 1, 0xffULL << 56, 1), 0);
}

/*
 * For keys of at most 8 bytes, the (slice, class) order is exactly
 * bytewise order; an alphabet of 0x00, 0x01 and 0xff hits the zero-padding
 * and signedness traps.
 */
static void mst_cmp_matches_bytewise_order(struct kunit *test)
{
	static const u8 alphabet[] = { 0x00, 0x01, 0xff };
	struct rnd_state rnd;
	u8 a[8], b[8];
	unsigned int n, i;

	prandom_seed_state(&rnd, 42);
	for (n = 0; n < 20000; n++) {
		size_t alen = prandom_u32_state(&rnd) % 9;
		size_t blen = prandom_u32_state(&rnd) % 9;
		int want, got;

		for (i = 0; i < 8; i++) {
			a[i] = alphabet[prandom_u32_state(&rnd) % 3];
			b[i] = alphabet[prandom_u32_state(&rnd) % 3];
		}
		want = bytewise_cmp(a, alen, b, blen);
		got = mst_cmp(mst_slice(a, alen, 0), mst_key_cls(alen, 0),
			      mst_slice(b, blen, 0), mst_key_cls(blen, 0));
		if (got != want) {
			KUNIT_FAIL(test, "lengths %zu/%zu: got %d, want %d", alen, blen, got, want);
			return;
		}
	}
}

static struct kunit_case masstree_slice_cases[] = {
	KUNIT_CASE(mst_slice_reads_big_endian),
	KUNIT_CASE(mst_slice_pads_short_keys_with_zeros),
	KUNIT_CASE(mst_key_cls_counts_bytes_in_slice),
	KUNIT_CASE(mst_klx_cls_maps_suffix_and_layer_to_long),
	KUNIT_CASE(mst_cmp_puts_prefix_before_extension),
	KUNIT_CASE(mst_cmp_matches_bytewise_order),
	{}
};

static struct kunit_suite masstree_slice_suite = {
	.name = "masstree_slice",
	.test_cases = masstree_slice_cases,
};

kunit_test_suite(masstree_slice_suite);

MODULE_DESCRIPTION("KUnit tests of masstree's key slices and comparison");
MODULE_LICENSE("GPL");
