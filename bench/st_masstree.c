// SPDX-License-Identifier: GPL-2.0
/*
 * masstree under test, through its normal API: lockless masstree_load(),
 * masstree_insert()/_store()/_erase() that lock only the nodes they change,
 * and masstree_scan() for scans.
 */
#include <linux/masstree.h>
#include <linux/slab.h>

#include "bench.h"

struct mb_mtmap {
	struct masstree mt;
};

static struct masstree *to_mt(struct mb_map *m)
{
	return &((struct mb_mtmap *)m)->mt;
}

static struct mb_map *mb_mt_create(void)
{
	struct mb_mtmap *m = kzalloc(sizeof(*m), GFP_KERNEL);

	if (!m)
		return NULL;
	masstree_init(&m->mt, 0);
	return (struct mb_map *)m;
}

static void mb_mt_destroy(struct mb_map *m)
{
	masstree_destroy(to_mt(m));
	kfree(m);
}

static int mb_mt_insert(struct mb_map *m, const u8 *key, unsigned int len,
			void *entry)
{
	return masstree_insert(to_mt(m), key, len, entry, GFP_KERNEL);
}

static void *mb_mt_load(struct mb_map *m, const u8 *key, unsigned int len)
{
	return masstree_load(to_mt(m), key, len);
}

static int mb_mt_store(struct mb_map *m, const u8 *key, unsigned int len,
		       void *entry, void **old)
{
	void *prev = masstree_store(to_mt(m), key, len, entry, GFP_KERNEL);

	if (masstree_is_err(prev))
		return masstree_err(prev);
	*old = prev;
	return 0;
}

static void *mb_mt_erase(struct mb_map *m, const u8 *key, unsigned int len)
{
	return masstree_erase(to_mt(m), key, len);
}

struct mb_mt_scan_arg {
	unsigned int n;
	unsigned int max;
	void *first;
};

static int mb_mt_scan_fn(const void *key, size_t len, void *entry, void *arg)
{
	struct mb_mt_scan_arg *a = arg;

	if (!a->n)
		a->first = entry;
	return ++a->n >= a->max;
}

static unsigned int mb_mt_scan(struct mb_map *m, const u8 *key,
			       unsigned int len, unsigned int max, void **first)
{
	struct mb_mt_scan_arg a = { .max = max };

	if (masstree_scan(to_mt(m), key, len, NULL, 0, MASSTREE_SCAN_NO_END,
			  mb_mt_scan_fn, &a) < 0)
		return 0;
	*first = a.first;
	return a.n;
}

static unsigned long mb_mt_count(struct mb_map *m)
{
	struct masstree_stats st;

	masstree_get_stats(to_mt(m), &st);
	return st.keys;
}

static unsigned long mb_mt_own_bytes(struct mb_map *m)
{
	struct masstree_stats st;

	masstree_get_stats(to_mt(m), &st);
	return st.bytes;
}

const struct mb_struct mb_st_masstree = {
	.name = "masstree",
	.create = mb_mt_create,
	.destroy = mb_mt_destroy,
	.insert = mb_mt_insert,
	.load = mb_mt_load,
	.store = mb_mt_store,
	.erase = mb_mt_erase,
	.scan = mb_mt_scan,
	.count = mb_mt_count,
	.own_bytes = mb_mt_own_bytes,
};
