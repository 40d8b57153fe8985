/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Allocation failures for tests: in test builds (kernels with KUnit) every
 * allocation site asks mst_fail_alloc() first, which goes through the
 * kernel's fault injection framework (one fault_attr, fail_masstree, and
 * the per-task fail-nth) or, without CONFIG_FAULT_INJECTION, a private
 * countdown. Other builds, the userspace one included, compile every
 * check away.
 */
#ifndef _MASSTREE_FAULTINJECT_H
#define _MASSTREE_FAULTINJECT_H

#include <linux/types.h>

struct dentry;

/*
 * Allocation site classes of the core: counted separately so tests can
 * prove each failed, and the bits of fail_masstree/sites. The device has
 * its own (masstree/dev/fault.h).
 */
enum mst_fail_site {
	MST_FAIL_NODE,		/* a node (mst_node_alloc) */
	MST_FAIL_SUFFIX,		/* a key suffix buffer */
	MST_FAIL_CURSOR,		/* a cursor's key buffer growing */
	MST_FAIL_NR,
};

#ifdef MASSTREE_FAULT_INJECT
bool mst_fail_alloc(enum mst_fail_site site);
void mst_fail_debugfs_init(struct dentry *root);
#else
static inline bool mst_fail_alloc(enum mst_fail_site site)
{
	return false;
}

static inline void mst_fail_debugfs_init(struct dentry *root) { }
#endif

#endif /* _MASSTREE_FAULTINJECT_H */
