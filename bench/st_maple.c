// SPDX-License-Identifier: GPL-2.0
/*
 * The maple tree under test, for integer keys: its normal API
 * (mtree_load() under RCU, mtree_insert()/_store()/_erase() under the
 * tree's own spinlock), in RCU mode, and mt_for_each() for scans.
 */
#include <linux/maple_tree.h>
#include <linux/slab.h>
#include <asm/unaligned.h>

#include "bench.h"

struct mb_maplemap {
	struct maple_tree mt;
};

static struct maple_tree *to_maple(struct mb_map *m)
{
	return &((struct mb_maplemap *)m)->mt;
}

static unsigned long mb_index(const u8 *key)
{
	return get_unaligned_be64(key);
}

static struct mb_map *mb_maple_create(void)
{
	struct mb_maplemap *m = kzalloc(sizeof(*m), GFP_KERNEL);

	if (!m)
		return NULL;
	mt_init_flags(&m->mt, MT_FLAGS_USE_RCU);
	return (struct mb_map *)m;
}

static void mb_maple_destroy(struct mb_map *m)
{
	mtree_destroy(to_maple(m));
	kfree(m);
}

static int mb_maple_insert(struct mb_map *m, const u8 *key, unsigned int len,
			   void *entry)
{
	return mtree_insert(to_maple(m), mb_index(key), entry, GFP_KERNEL);
}

static void *mb_maple_load(struct mb_map *m, const u8 *key, unsigned int len)
{
	return mtree_load(to_maple(m), mb_index(key));
}

/* mtree_store() does not return the old entry. */
static int mb_maple_store(struct mb_map *m, const u8 *key, unsigned int len,
			  void *entry, void **old)
{
	*old = NULL;
	return mtree_store(to_maple(m), mb_index(key), entry, GFP_KERNEL);
}

static void *mb_maple_erase(struct mb_map *m, const u8 *key, unsigned int len)
{
	return mtree_erase(to_maple(m), mb_index(key));
}

static unsigned int mb_maple_scan(struct mb_map *m, const u8 *key,
				  unsigned int len, unsigned int max,
				  void **first)
{
	unsigned long index = mb_index(key);
	unsigned int n = 0;
	void *entry;

	mt_for_each(to_maple(m), entry, index, ULONG_MAX) {
		if (!n)
			*first = entry;
		if (++n >= max)
			break;
	}
	return n;
}

static unsigned long mb_maple_count(struct mb_map *m)
{
	unsigned long index = 0, n = 0;
	void *entry;

	mt_for_each(to_maple(m), entry, index, ULONG_MAX)
		n++;
	return n;
}

const struct mb_struct mb_st_maple = {
	.name = "maple",
	.integer_only = true,
	.store_no_old = true,
	.create = mb_maple_create,
	.destroy = mb_maple_destroy,
	.insert = mb_maple_insert,
	.load = mb_maple_load,
	.store = mb_maple_store,
	.erase = mb_maple_erase,
	.scan = mb_maple_scan,
	.count = mb_maple_count,
};
