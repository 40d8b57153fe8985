/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The permutation word of a leaf: which slots hold live keys, in key order.
 *
 * Bits 0-3 hold the number of live keys n; the 4-bit field i (bits
 * 4i+4..4i+7) holds the slot of the i-th smallest key. Fields n..14 list the
 * free slots. A writer fills a free slot while readers cannot see it, then
 * publishes the key with a single store of a new permutation.
 */
#ifndef _MASSTREE_PERM_H
#define _MASSTREE_PERM_H

#include <linux/types.h>

#include "node.h"

/* The permutation of an empty leaf: no keys, free slots 0..14 in order. */
#define MT_PERM_EMPTY	0xedcba98765432100ULL

static inline unsigned int mt_perm_size(u64 perm)
{
	return perm & 0xf;
}

/* Slot of the i-th key in order (or of the (i - size)-th free slot). */
static inline unsigned int mt_perm_slot(u64 perm, unsigned int i)
{
	return (perm >> (4 * i + 4)) & 0xf;
}

#endif /* _MASSTREE_PERM_H */
