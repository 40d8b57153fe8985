/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Deterministic allocation failures for tests: in test builds (kernels
 * with KUnit), a task arms a countdown and the Nth allocation it makes
 * inside masstree fails as if the allocator had failed. Other builds
 * compile every check away.
 */
#ifndef _MASSTREE_FAULTINJECT_H
#define _MASSTREE_FAULTINJECT_H

#include <linux/types.h>

struct dentry;

/* Allocation sites, counted separately so tests can prove each failed. */
enum mt_fail_site {
	MT_FAIL_NODE,		/* a node (mt_node_alloc) */
	MT_FAIL_SUFFIX,		/* a key suffix buffer */
	MT_FAIL_CURSOR,		/* a cursor's key buffer growing */
	MT_FAIL_DEV_MAP,	/* a /dev/masstree map or its user record */
	MT_FAIL_DEV_VALUE,	/* a value copied in */
	MT_FAIL_DEV_COPY,	/* a key, expected value or bound copied in */
	MT_FAIL_DEV_BUFFER,	/* a bounce buffer for GET, SCAN, LIST */
	MT_FAIL_NR,
};

#ifdef MASSTREE_FAULT_INJECT
bool mt_fail_alloc(enum mt_fail_site site);
void mt_fail_debugfs_init(struct dentry *root);
#else
static inline bool mt_fail_alloc(enum mt_fail_site site)
{
	return false;
}

static inline void mt_fail_debugfs_init(struct dentry *root) { }
#endif

#endif /* _MASSTREE_FAULTINJECT_H */
