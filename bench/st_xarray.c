// SPDX-License-Identifier: GPL-2.0
/*
 * The XArray under test, for integer keys: its normal API (xa_load()
 * under RCU, xa_insert()/_store()/_erase() under the array's own
 * spinlock), and xa_for_each_range() for scans.
 */
#include <linux/slab.h>
#include <linux/xarray.h>
#include <asm/unaligned.h>

#include "bench.h"

struct mb_xamap {
	struct xarray xa;
};

static struct xarray *to_xa(struct mb_map *m)
{
	return &((struct mb_xamap *)m)->xa;
}

static unsigned long mb_index(const u8 *key)
{
	return get_unaligned_be64(key);
}

static struct mb_map *mb_xa_create(void)
{
	struct mb_xamap *m = kzalloc(sizeof(*m), GFP_KERNEL);

	if (!m)
		return NULL;
	xa_init(&m->xa);
	return (struct mb_map *)m;
}

static void mb_xa_destroy(struct mb_map *m)
{
	xa_destroy(to_xa(m));
	kfree(m);
}

static int mb_xa_insert(struct mb_map *m, const u8 *key, unsigned int len,
			void *entry)
{
	int err = xa_insert(to_xa(m), mb_index(key), entry, GFP_KERNEL);

	return err == -EBUSY ? -EEXIST : err;
}

static void *mb_xa_load(struct mb_map *m, const u8 *key, unsigned int len)
{
	return xa_load(to_xa(m), mb_index(key));
}

static int mb_xa_store(struct mb_map *m, const u8 *key, unsigned int len,
		       void *entry, void **old)
{
	void *prev = xa_store(to_xa(m), mb_index(key), entry, GFP_KERNEL);

	if (xa_is_err(prev))
		return xa_err(prev);
	*old = prev;
	return 0;
}

static void *mb_xa_erase(struct mb_map *m, const u8 *key, unsigned int len)
{
	return xa_erase(to_xa(m), mb_index(key));
}

static unsigned int mb_xa_scan(struct mb_map *m, const u8 *key,
			       unsigned int len, unsigned int max, void **first)
{
	unsigned long index;
	unsigned int n = 0;
	void *entry;

	xa_for_each_range(to_xa(m), index, entry, mb_index(key), ULONG_MAX) {
		if (!n)
			*first = entry;
		if (++n >= max)
			break;
	}
	return n;
}

static unsigned long mb_xa_count(struct mb_map *m)
{
	unsigned long index, n = 0;
	void *entry;

	xa_for_each(to_xa(m), index, entry)
		n++;
	return n;
}

const struct mb_struct mb_st_xarray = {
	.name = "xarray",
	.integer_only = true,
	.create = mb_xa_create,
	.destroy = mb_xa_destroy,
	.insert = mb_xa_insert,
	.load = mb_xa_load,
	.store = mb_xa_store,
	.erase = mb_xa_erase,
	.scan = mb_xa_scan,
	.count = mb_xa_count,
};
