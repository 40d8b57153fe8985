// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the whole-map readers and the teardown on span slots:
 * masstree_validate() rejects each broken span invariant once (and
 * passes once it is restored), masstree_dump() prints a span and the
 * layer below it, and masstree_destroy() frees every span. validate's
 * pr_err() lines in the log are expected.
 */
#include <kunit/test.h>
#include <linux/masstree.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/string.h>

#include "internal.h"
#include "masstree_test.h"
#include "permutation.h"

/*
 * Two keys of ST_KEY_LEN bytes that differ only in their last byte: the
 * top slot holds a span of the ST_SPAN_LEN bytes between the first slice
 * and the last, leading to a layer of one leaf with both keys.
 */
#define ST_KEY_LEN	64
#define ST_SPAN_LEN	(ST_KEY_LEN - 16)
#define ST_BYTE		'k'

/**
 * struct st_map - the span the cases corrupt, and what they saved.
 * @mt: the map.
 * @top: the top layer's root, a leaf.
 * @slot: @top's span slot.
 * @span: the span.
 * @low: the layer below the span, one leaf.
 * @saved: an integer a case saved.
 * @saved_ptr: a pointer a case saved.
 */
struct st_map {
	struct masstree *mt;
	struct mst_leaf *top;
	unsigned int slot;
	struct mst_span *span;
	struct mst_leaf *low;
	u64 saved;
	void *saved_ptr;
};

/**
 * struct st_case - one span invariant to break.
 * @name: the invariant.
 * @corrupt: breaks it when @undo is false, restores the map when true.
 */
struct st_case {
	const char *name;
	void (*corrupt)(struct st_map *m, bool undo);
};

static void st_len(struct st_map *m, bool undo, u32 len)
{
	if (undo) {
		m->span->len = m->saved;
		return;
	}
	m->saved = m->span->len;
	m->span->len = len;
}

static void st_len_zero(struct st_map *m, bool undo)
{
	st_len(m, undo, 0);
}

static void st_len_odd(struct st_map *m, bool undo)
{
	st_len(m, undo, ST_SPAN_LEN - 4);
}

/* The keys below the span pass MASSTREE_MAX_KEY_LEN. */
static void st_len_long(struct st_map *m, bool undo)
{
	st_len(m, undo, round_up(MASSTREE_MAX_KEY_LEN, 8));
}

static void st_size(struct st_map *m, bool undo)
{
	m->span->size += undo ? -8 : 8;
}

/* The span names the layer below as the one holding its slot. */
static void st_up(struct st_map *m, bool undo)
{
	m->span->up = undo ? &m->top->node : &m->low->node;
}

static void st_root_null(struct st_map *m, bool undo)
{
	m->span->root = undo ? &m->low->node : NULL;
}

static void st_parent(struct st_map *m, bool undo, struct mst_node *bad)
{
	struct mst_node *n = &m->low->node;

	if (undo) {
		RCU_INIT_POINTER(n->parent, m->saved_ptr);
		return;
	}
	m->saved_ptr = rcu_dereference_protected(n->parent, 1);
	RCU_INIT_POINTER(n->parent, bad);
}

/* The span as the parent, without its tag. */
static void st_parent_untagged(struct st_map *m, bool undo)
{
	st_parent(m, undo, (struct mst_node *)m->span);
}

/* The upper root as the parent, as below a plain layer slot. */
static void st_parent_layer(struct st_map *m, bool undo)
{
	st_parent(m, undo, &m->top->node);
}

/* A plain layer slot whose layer names a span as its parent. */
static void st_slot_layer(struct st_map *m, bool undo)
{
	struct mst_leaf *top = m->top;
	long size = m->span->size;

	top->keylenx[m->slot] = undo ? MST_KLX_SPAN : MST_KLX_LAYER;
	RCU_INIT_POINTER(top->lv[m->slot],
			 undo ? (void *)m->span : (void *)&m->low->node);
	/* Counted as if the span were gone: only the link is wrong. */
	atomic_long_add(undo ? size : -size,
			&m->mt->stat[MST_STAT_SUFFIX_BYTES]);
}

/* A key below the span that ends at its layer's offset. */
static void st_key_empty(struct st_map *m, bool undo)
{
	unsigned int s = mst_perm_slot(m->low->permutation, 0);

	if (undo) {
		m->low->keylenx[s] = 8;
		m->low->ikey[s] = m->saved;
		return;
	}
	m->saved = m->low->ikey[s];
	m->low->keylenx[s] = 0;
	m->low->ikey[s] = 0;
}

/* The span's bytes missing from the suffix bytes counter. */
static void st_bytes(struct st_map *m, bool undo)
{
	long size = m->span->size;

	atomic_long_add(undo ? size : -size, &m->mt->stat[MST_STAT_SUFFIX_BYTES]);
}

static const struct st_case st_cases[] = {
	{ "span length 0", st_len_zero },
	{ "span length not a multiple of 8", st_len_odd },
	{ "keys below the span too long", st_len_long },
	{ "span size not its slab object's", st_size },
	{ "span up link wrong", st_up },
	{ "span without a layer", st_root_null },
	{ "span parent untagged", st_parent_untagged },
	{ "layer parent below a span", st_parent_layer },
	{ "layer slot to a span's layer", st_slot_layer },
	{ "key ending at a lower layer's offset", st_key_empty },
	{ "span bytes uncounted", st_bytes },
};

static void st_desc(const struct st_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s", c->name);
}

KUNIT_ARRAY_PARAM(st, st_cases, st_desc);

/* Insert the two keys and find the span and the layer below it. */
static void st_build(struct kunit *test, struct st_map *m)
{
	struct masstree *mt = m->mt;
	struct masstree_stats st;
	u8 key[ST_KEY_LEN];
	struct mst_node *root;

	memset(key, ST_BYTE, sizeof(key));
	KUNIT_ASSERT_EQ(test, masstree_insert(mt, key, ST_KEY_LEN, mtt_entry(1),
					      GFP_KERNEL), 0);
	key[ST_KEY_LEN - 1]++;
	KUNIT_ASSERT_EQ(test, masstree_insert(mt, key, ST_KEY_LEN, mtt_entry(2),
					      GFP_KERNEL), 0);
	KUNIT_ASSERT_EQ(test, masstree_insert(mt, "a", 1, mtt_entry(3),
					      GFP_KERNEL), 0);
	masstree_get_stats(mt, &st);
	KUNIT_ASSERT_EQ(test, st.layers, 2UL);
	KUNIT_ASSERT_EQ(test, st.leaves, 2UL);

	root = rcu_dereference_protected(mt->root, 1);
	KUNIT_ASSERT_TRUE(test, mst_node_is_leaf(root));
	m->top = mst_to_leaf(root);
	/* The root is a leaf: the whole top layer. */
	m->span = NULL;
	if (mtt_find_klx(m->top, MST_KLX_SPAN, &m->slot))
		m->span = rcu_dereference_protected(m->top->lv[m->slot], 1);
	KUNIT_ASSERT_NOT_NULL(test, m->span);
	KUNIT_ASSERT_EQ(test, m->span->len, (u32)ST_SPAN_LEN);
	KUNIT_ASSERT_TRUE(test, mst_node_is_leaf(m->span->root));
	m->low = mst_to_leaf(m->span->root);
	KUNIT_ASSERT_EQ(test, mst_perm_size(m->low->permutation), 2U);
	KUNIT_ASSERT_EQ(test, masstree_validate(mt), 0);
}

static void masstree_validate_reports_span_corruption(struct kunit *test)
{
	const struct st_case *c = test->param_value;
	struct st_map m = { .mt = mtt_map(test) };

	st_build(test, &m);
	c->corrupt(&m, false);
	KUNIT_EXPECT_EQ(test, masstree_validate(m.mt), -EINVAL);
	c->corrupt(&m, true);
	KUNIT_EXPECT_EQ(test, masstree_validate(m.mt), 0);
}

#define ST_DUMP_SIZE	4096

/* The dump names the span, its length and first bytes, and its layer. */
static void masstree_dump_shows_spans(struct kunit *test)
{
	struct st_map m = { .mt = mtt_map(test) };
	struct seq_file sf = { };
	char want[64];

	st_build(test, &m);
	sf.buf = kunit_kzalloc(test, ST_DUMP_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, sf.buf);
	sf.size = ST_DUMP_SIZE - 1;
	masstree_dump(m.mt, &sf, 16);
	kunit_info(test, "dump:\n%s", sf.buf);
	/* 16 of the span's bytes, then more. */
	snprintf(want, sizeof(want), " span %u %*phN...\n", ST_SPAN_LEN, 16,
		 m.span->data);
	KUNIT_EXPECT_NOT_NULL(test, strstr(sf.buf, want));
	KUNIT_EXPECT_NOT_NULL(test, strstr(sf.buf, "6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b..."));
	KUNIT_EXPECT_NOT_NULL(test, strstr(sf.buf, "layer 1 depth 0 leaf keys 2 "));
	KUNIT_EXPECT_NULL(test, strstr(sf.buf, "layer 2"));
	KUNIT_EXPECT_NULL(test, strstr(sf.buf, "skipped"));
}

#define ST_LONG_LEN	4096

/*
 * Keys sharing long runs, split again and again inside their spans, at
 * several depths: destroy frees every node and every span.
 */
static void masstree_destroy_frees_spans(struct kunit *test)
{
	struct masstree *mt = mtt_map(test);
	struct masstree_stats st;
	unsigned int i;
	u8 *key;

	key = kunit_kzalloc(test, ST_LONG_LEN, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, key);
	memset(key, ST_BYTE, ST_LONG_LEN);
	KUNIT_ASSERT_EQ(test, masstree_insert(mt, key, ST_LONG_LEN, mtt_entry(0),
					      GFP_KERNEL), 0);
	/* Each parts from the first key later than the one before. */
	for (i = 1; i < 40; i++) {
		size_t at = 8 + 97 * i;

		key[at] = 'A' + i % 26;
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, key, ST_LONG_LEN - i,
						      mtt_entry(i), GFP_KERNEL), 0);
		key[at] = ST_BYTE;
	}
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
	masstree_get_stats(mt, &st);
	KUNIT_EXPECT_EQ(test, st.keys, 40UL);
	/* Far fewer leaves than one per shared slice. */
	KUNIT_EXPECT_LT(test, st.leaves, 100UL);
	masstree_destroy(mt);
	mtt_expect_all_freed(test);
}

static struct kunit_case masstree_spanwalk_cases[] = {
	KUNIT_CASE_PARAM(masstree_validate_reports_span_corruption, st_gen_params),
	KUNIT_CASE(masstree_dump_shows_spans),
	KUNIT_CASE(masstree_destroy_frees_spans),
	{}
};

static struct kunit_suite masstree_spanwalk_suite = {
	.name = "masstree_spanwalk",
	.init = mtt_init,
	.exit = mtt_exit,
	.test_cases = masstree_spanwalk_cases,
};

kunit_test_suite(masstree_spanwalk_suite);

MODULE_DESCRIPTION("KUnit tests of validate, dump and destroy on span slots");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
