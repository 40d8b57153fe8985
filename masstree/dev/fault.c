// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation failures of /dev/masstree in test builds: before it
 * allocates, every allocation site of the device asks mtdev_fail_alloc(),
 * which asks the device's own fault set (<linux/masstree_faultset.h>):
 * one fault_attr, fail_masstree_dev, of the kernel's fault injection
 * framework (Documentation/fault-injection/). The core's sites ask the
 * core's set, fail_masstree, so a test fails the Nth allocation of one
 * layer at a time, and a site class of either by its own mask. So:
 *
 *  - a task's per-task counter (/proc/self/task/TID/fail-nth) reaches the
 *    device's sites as it reaches every attr;
 *  - debugfs masstree/fail_masstree_dev/ has the framework's knobs and
 *    "sites", a mask of the site classes that may fail (bit N is enum
 *    mtdev_fail_site N);
 *  - masstree/dev_fail_nth arms the set for deterministic tests: write N
 *    and the writer's Nth allocation in the device fails, once, and no
 *    other task's does; 0 disarms. Read: what is left of the writer's
 *    countdown, 0 once the failure was injected;
 *  - masstree/dev_fail_sites: failures injected so far, per site.
 */
#include <linux/masstree_faultset.h>

#include "fault.h"

static const char *const mtdev_fail_names[MTDEV_FAIL_NR] = {
	[MTDEV_FAIL_MAP] = "dev_map",
	[MTDEV_FAIL_VALUE] = "dev_value",
	[MTDEV_FAIL_COPY] = "dev_copy",
	[MTDEV_FAIL_BUFFER] = "dev_buffer",
};

static struct masstree_faultset mtdev_fail_set =
	MASSTREE_FAULTSET_INIT(mtdev_fail_names);

/**
 * mtdev_fail_alloc() - should the device's allocation about to happen fail?
 * @site: where it happens.
 *
 * Context: Any context.
 * Return: true if a failure is injected here: the caller fails as if the
 * allocator had returned NULL.
 */
bool mtdev_fail_alloc(enum mtdev_fail_site site)
{
	return masstree_faultset_fail(&mtdev_fail_set, site);
}

/**
 * mtdev_fail_debugfs_init() - create dev_fail_nth, dev_fail_sites and
 *	fail_masstree_dev/.
 * @root: the module's debugfs directory.
 *
 * Context: Module init.
 */
void mtdev_fail_debugfs_init(struct dentry *root)
{
	masstree_faultset_debugfs(&mtdev_fail_set, root, "dev_fail_nth",
				  "dev_fail_sites", "fail_masstree_dev");
}

/**
 * mtdev_fail_debugfs_exit() - remove what mtdev_fail_debugfs_init() made.
 *
 * Context: Module exit, or init failing.
 */
void mtdev_fail_debugfs_exit(void)
{
	masstree_faultset_debugfs_remove(&mtdev_fail_set);
}
