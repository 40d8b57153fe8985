/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Allocation failures of /dev/masstree for tests: in test builds (kernels
 * with KUnit and the fault injection framework) every allocation site of
 * the device asks mtdev_fail_alloc() first, which asks should_fail() of
 * the device's own fault_attr, fail_masstree_dev. The core has its own
 * (fail_masstree): each layer counts and fails only its own sites. Other
 * builds compile every check away.
 */
#ifndef _MASSTREE_DEV_FAULT_H
#define _MASSTREE_DEV_FAULT_H

#include <linux/types.h>

struct dentry;

/*
 * Allocation site classes of the device: counted separately so tests can
 * prove each failed, and the bits of fail_masstree_dev/sites.
 */
enum mtdev_fail_site {
	MTDEV_FAIL_MAP,		/* a map, its namespace or user record */
	MTDEV_FAIL_VALUE,	/* a value copied in */
	MTDEV_FAIL_COPY,	/* a key, expected value or bound copied in */
	MTDEV_FAIL_BUFFER,	/* a bounce buffer for GET, SCAN, LIST */
	MTDEV_FAIL_NR,
};

#if defined(MASSTREE_FAULT_INJECT) && IS_ENABLED(CONFIG_FAULT_INJECTION)
bool mtdev_fail_alloc(enum mtdev_fail_site site);
void mtdev_fail_debugfs_init(struct dentry *root);
void mtdev_fail_debugfs_exit(void);
#else
static inline bool mtdev_fail_alloc(enum mtdev_fail_site site)
{
	return false;
}

static inline void mtdev_fail_debugfs_init(struct dentry *root) { }
static inline void mtdev_fail_debugfs_exit(void) { }
#endif

#endif /* _MASSTREE_DEV_FAULT_H */
