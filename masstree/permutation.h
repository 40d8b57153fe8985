/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The permutation word of a leaf: which slots hold live keys, in key order.
 *
 * Bits 0-3 hold the number of live keys n; the 4-bit field i (bits
 * 4i+4..4i+7) holds the slot of the i-th smallest key. Fields n..14 list the
 * free slots. A writer fills a free slot while readers cannot see it, then
 * publishes the key with a single store of a new permutation.
 */
#ifndef _MASSTREE_PERMUTATION_H
#define _MASSTREE_PERMUTATION_H

#include <linux/bits.h>
#include <linux/types.h>

#include "node.h"

/* The permutation of an empty leaf: no keys, free slots 0..14 in order. */
#define MST_PERM_EMPTY	0xedcba98765432100ULL

static inline unsigned int mst_perm_size(u64 perm)
{
	return perm & 0xf;
}

/* Slot of the i-th key in order (or of the (i - size)-th free slot). */
static inline unsigned int mst_perm_slot(u64 perm, unsigned int i)
{
	return (perm >> (4 * i + 4)) & 0xf;
}

static inline u64 mst_perm_set_slot(u64 perm, unsigned int i, unsigned int slot)
{
	perm &= ~(0xfULL << (4 * i + 4));
	return perm | ((u64)slot << (4 * i + 4));
}

/*
 * Insert the first free slot at position @pos: fields pos..n-1 move up one.
 * The caller reads the chosen slot with mst_perm_slot(old, size) first.
 * Whole-word shifts and masks, no loop: this runs on every insert. The
 * fields pos..n rotate up by one, which brings field n (the first free
 * slot) down to pos; the leaf is not full (n < MST_NODE_WIDTH).
 */
static inline u64 mst_perm_insert(u64 perm, unsigned int pos)
{
	unsigned int n = mst_perm_size(perm);
	/* Fields pos..n: below field n + 1, from field pos on. */
	u64 seg = (~0ULL >> (4 * (MST_NODE_WIDTH - 1 - n))) &
		  ~(~0ULL >> (4 * (MST_NODE_WIDTH - pos)));
	u64 f = perm & seg;

	f = ((f << 4) | (f >> (4 * (n - pos)))) & seg;
	return ((perm & ~seg) | f) + 1;
}

/*
 * Remove the key at position @pos; its slot goes to the end of the free
 * list so that it is reused last, which keeps readers that still look at
 * it from retrying needlessly.
 */
static inline u64 mst_perm_remove(u64 perm, unsigned int pos)
{
	u64 slot = mst_perm_slot(perm, pos);
	/* The count and fields 0..pos-1 stay; fields pos+1..14 move down. */
	u64 below = GENMASK_ULL(4 * pos + 3, 0);

	perm = (perm & below) | ((perm >> 4) & ~below) |
	       slot << (4 * (MST_NODE_WIDTH - 1) + 4);
	return perm - 1;
}

/* Is @perm a permutation of slots 0..14 with a count of at most 15? */
static inline bool mst_perm_valid(u64 perm)
{
	unsigned int seen = 0;
	unsigned int i;

	for (i = 0; i < MST_NODE_WIDTH; i++)
		seen |= 1U << mst_perm_slot(perm, i);
	return seen == (1U << MST_NODE_WIDTH) - 1;
}

#endif /* _MASSTREE_PERMUTATION_H */
