/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Keys seen one layer at a time: an 8-byte slice and a length class.
 *
 * Layer d looks at bytes 8d..8d+7 of a key, read big-endian into a u64
 * (zero-padded), so that comparing slices as integers compares bytes.
 * Within one slice, keys are ordered by their "class": the number of key
 * bytes in the slice (0..8), or 9 when the key continues past it. A prefix
 * thus sorts before its extensions.
 */
#ifndef _MASSTREE_KEY_H
#define _MASSTREE_KEY_H

#include <linux/types.h>
#include <asm/unaligned.h>

#include "node.h"

#define MST_CLS_LONG	9

static inline u64 mst_slice(const u8 *key, size_t len, size_t off)
{
	size_t rem = len - off;
	u64 s = 0;
	size_t i;

	if (rem >= 8)
		return get_unaligned_be64(key + off);
	for (i = 0; i < rem; i++)
		s |= (u64)key[off + i] << (56 - 8 * i);
	return s;
}

static inline unsigned int mst_key_cls(size_t len, size_t off)
{
	return len - off > 8 ? MST_CLS_LONG : len - off;
}

static inline unsigned int mst_klx_cls(u8 klx)
{
	return klx <= 8 ? klx : MST_CLS_LONG;
}

/* Three-way comparison of (slice, class) pairs. */
static inline int mst_cmp(u64 a, unsigned int acls, u64 b, unsigned int bcls)
{
	if (a != b)
		return a < b ? -1 : 1;
	if (acls != bcls)
		return acls < bcls ? -1 : 1;
	return 0;
}

#endif /* _MASSTREE_KEY_H */
