// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the leaf permutation word (masstree/permutation.h), against a
 * plain array model of the ordered slots and the free list.
 */
#include <kunit/test.h>
#include <linux/module.h>
#include <linux/prandom.h>

#include "permutation.h"

/* The model: fields 0..n-1 the live slots in order, n..14 the free ones. */
struct perm_model {
	unsigned int n;
	u8 field[MST_NODE_WIDTH];
};

static void model_insert(struct perm_model *m, unsigned int pos)
{
	u8 slot = m->field[m->n];
	unsigned int i;

	for (i = m->n; i > pos; i--)
		m->field[i] = m->field[i - 1];
	m->field[pos] = slot;
	m->n++;
}

static void model_remove(struct perm_model *m, unsigned int pos)
{
	u8 slot = m->field[pos];
	unsigned int i;

	for (i = pos; i < MST_NODE_WIDTH - 1; i++)
		m->field[i] = m->field[i + 1];
	m->field[MST_NODE_WIDTH - 1] = slot;
	m->n--;
}

static bool model_matches(struct kunit *test, const struct perm_model *m, u64 perm)
{
	unsigned int i;

	KUNIT_EXPECT_EQ(test, mst_perm_size(perm), m->n);
	KUNIT_EXPECT_TRUE(test, mst_perm_valid(perm));
	for (i = 0; i < MST_NODE_WIDTH; i++)
		if (mst_perm_slot(perm, i) != m->field[i]) {
			KUNIT_FAIL(test, "field %u: slot %u, model %u", i,
				   mst_perm_slot(perm, i), m->field[i]);
			return false;
		}
	return mst_perm_size(perm) == m->n && mst_perm_valid(perm);
}

static void mst_perm_empty_lists_all_slots_free(struct kunit *test)
{
	unsigned int i;

	KUNIT_EXPECT_EQ(test, mst_perm_size(MST_PERM_EMPTY), 0U);
	KUNIT_EXPECT_TRUE(test, mst_perm_valid(MST_PERM_EMPTY));
	for (i = 0; i < MST_NODE_WIDTH; i++)
		KUNIT_EXPECT_EQ(test, mst_perm_slot(MST_PERM_EMPTY, i), i);
}

static void mst_perm_insert_fills_a_leaf_in_any_order(struct kunit *test)
{
	u64 front = MST_PERM_EMPTY, back = MST_PERM_EMPTY;
	unsigned int i;

	for (i = 0; i < MST_NODE_WIDTH; i++) {
		front = mst_perm_insert(front, 0);
		back = mst_perm_insert(back, i);
	}
	KUNIT_EXPECT_EQ(test, mst_perm_size(front), (unsigned int)MST_NODE_WIDTH);
	KUNIT_EXPECT_EQ(test, mst_perm_size(back), (unsigned int)MST_NODE_WIDTH);
	KUNIT_EXPECT_TRUE(test, mst_perm_valid(front));
	KUNIT_EXPECT_TRUE(test, mst_perm_valid(back));
	for (i = 0; i < MST_NODE_WIDTH; i++) {
		/* Appending keeps slot order; prepending reverses it. */
		KUNIT_EXPECT_EQ(test, mst_perm_slot(back, i), i);
		KUNIT_EXPECT_EQ(test, mst_perm_slot(front, i), MST_NODE_WIDTH - 1 - i);
	}
}

static void mst_perm_remove_reuses_freed_slot_last(struct kunit *test)
{
	u64 perm = MST_PERM_EMPTY;
	unsigned int i;

	for (i = 0; i < 3; i++)
		perm = mst_perm_insert(perm, i);
	perm = mst_perm_remove(perm, 1);		/* frees slot 1 */
	KUNIT_EXPECT_EQ(test, mst_perm_size(perm), 2U);
	KUNIT_EXPECT_EQ(test, mst_perm_slot(perm, MST_NODE_WIDTH - 1), 1U);
	/* The next insert takes slot 3, not the slot just freed. */
	KUNIT_EXPECT_EQ(test, mst_perm_slot(perm, mst_perm_size(perm)), 3U);
}

static void mst_perm_valid_rejects_a_duplicate_slot(struct kunit *test)
{
	u64 perm = mst_perm_set_slot(MST_PERM_EMPTY, 3, 4);

	KUNIT_EXPECT_FALSE(test, mst_perm_valid(perm));
	KUNIT_EXPECT_TRUE(test, mst_perm_valid(mst_perm_set_slot(perm, 3, 3)));
}

static void mst_perm_random_ops_match_model(struct kunit *test)
{
	struct perm_model m = { .n = 0 };
	u64 perm = MST_PERM_EMPTY;
	struct rnd_state rnd;
	unsigned int i;

	for (i = 0; i < MST_NODE_WIDTH; i++)
		m.field[i] = i;
	prandom_seed_state(&rnd, 7);
	for (i = 0; i < 50000; i++) {
		u32 r = prandom_u32_state(&rnd);
		bool insert = m.n == 0 || (m.n < MST_NODE_WIDTH && (r & 1));

		if (insert) {
			unsigned int pos = (r >> 1) % (m.n + 1);

			perm = mst_perm_insert(perm, pos);
			model_insert(&m, pos);
		} else {
			unsigned int pos = (r >> 1) % m.n;

			perm = mst_perm_remove(perm, pos);
			model_remove(&m, pos);
		}
		if (!model_matches(test, &m, perm)) {
			KUNIT_FAIL(test, "after operation %u", i);
			return;
		}
	}
}

static struct kunit_case masstree_perm_cases[] = {
	KUNIT_CASE(mst_perm_empty_lists_all_slots_free),
	KUNIT_CASE(mst_perm_insert_fills_a_leaf_in_any_order),
	KUNIT_CASE(mst_perm_remove_reuses_freed_slot_last),
	KUNIT_CASE(mst_perm_valid_rejects_a_duplicate_slot),
	KUNIT_CASE(mst_perm_random_ops_match_model),
	{}
};

static struct kunit_suite masstree_perm_suite = {
	.name = "masstree_perm",
	.test_cases = masstree_perm_cases,
};

kunit_test_suite(masstree_perm_suite);

MODULE_DESCRIPTION("KUnit tests of masstree's leaf permutation word");
MODULE_LICENSE("GPL");
