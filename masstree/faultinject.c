// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation failures of the core in test builds: before it allocates,
 * every allocation site of the core asks mst_fail_alloc(), which asks the
 * core's fault set (<linux/masstree_faultset.h>, masstree/faultset.c):
 * one fault_attr, fail_masstree, where the kernel has the fault injection
 * framework (Documentation/fault-injection/), else a private countdown
 * with the same meaning. /dev/masstree has its own set (fail_masstree_dev:
 * masstree/dev/fault.c). So:
 *
 *  - a task's per-task counter (/proc/self/task/TID/fail-nth) reaches
 *    masstree's own sites too, GFP_KERNEL, kvmalloc() and vmalloc sizes
 *    included, which failslab skips by default or cannot reach;
 *  - debugfs masstree/fail_masstree/ has the framework's usual knobs
 *    (probability, interval, times, space, verbose, task-filter, the stack
 *    trace filters) and "sites", a mask of the site classes that may fail
 *    (bit N is enum mst_fail_site N);
 *  - masstree_fail_nth(N) and the debugfs file fail_nth arm the set for
 *    deterministic tests: the calling task's Nth allocation in the core
 *    fails, once, and no other task's does; 0 disarms.
 *
 * debugfs (test builds only):
 *   fail_nth       write N: the writer's Nth allocation in the core fails
 *                  (0 disarms); read: what is left of the writer's
 *                  countdown, 0 once the failure was injected
 *   fail_sites     failures injected so far, per site
 *   fail_masstree/ the fault_attr (CONFIG_FAULT_INJECTION_DEBUG_FS)
 */
#include <linux/export.h>
#include <linux/masstree.h>
#include <linux/masstree_faultset.h>
#include <kunit/visibility.h>

#include "faultinject.h"
#include "testing.h"

static const char *const mst_fail_names[MST_FAIL_NR] = {
	[MST_FAIL_NODE] = "node",
	[MST_FAIL_SUFFIX] = "suffix",
	[MST_FAIL_CURSOR] = "cursor",
};

static struct masstree_faultset mst_fail_set =
	MASSTREE_FAULTSET_INIT(mst_fail_names);

/**
 * mst_fail_alloc() - should the allocation about to happen fail?
 * @site: where it happens.
 *
 * Context: Any context.
 * Return: true if a failure is injected here: the caller fails as if the
 * allocator had returned NULL.
 */
bool mst_fail_alloc(enum mst_fail_site site)
{
	return masstree_faultset_fail(&mst_fail_set, site);
}

/**
 * masstree_fail_nth() - make the calling task's Nth allocation in masstree
 *	fail (test builds only).
 * @nth: which allocation, from 1; 0 disarms.
 *
 * With CONFIG_FAULT_INJECTION this programs the fail_masstree attr (see
 * the top of this file), replacing what was written to it.
 *
 * Context: Process context.
 */
void masstree_fail_nth(unsigned int nth)
{
	masstree_faultset_arm(&mst_fail_set, nth);
}
EXPORT_SYMBOL_IF_KUNIT(masstree_fail_nth);

/**
 * masstree_fail_nth_left() - what is left of the calling task's countdown.
 *
 * Context: Any context.
 * Return: allocations before the failure, counting it; 0 once it was
 * injected or if the task is not armed.
 */
unsigned int masstree_fail_nth_left(void)
{
	return masstree_faultset_left(&mst_fail_set);
}
EXPORT_SYMBOL_IF_KUNIT(masstree_fail_nth_left);

/**
 * masstree_fail_hits() - failures injected at one site so far.
 * @site: an enum mst_fail_site value.
 *
 * Context: Any context.
 * Return: the count, 0 for an unknown site.
 */
unsigned long masstree_fail_hits(unsigned int site)
{
	return masstree_faultset_hits(&mst_fail_set, site);
}
EXPORT_SYMBOL_IF_KUNIT(masstree_fail_hits);

/**
 * masstree_fail_sites() - choose the site classes that may fail.
 * @mask: bit N lets enum mst_fail_site N fail; other bits are ignored.
 *
 * Context: Any context.
 * Return: the previous mask.
 */
u32 masstree_fail_sites(u32 mask)
{
	return masstree_faultset_sites(&mst_fail_set, mask);
}
EXPORT_SYMBOL_IF_KUNIT(masstree_fail_sites);

/**
 * mst_fail_debugfs_init() - create fail_nth, fail_sites and fail_masstree/.
 * @root: the module's debugfs directory.
 *
 * Context: Module init.
 */
void mst_fail_debugfs_init(struct dentry *root)
{
	masstree_faultset_debugfs(&mst_fail_set, root, "fail_nth", "fail_sites",
				  "fail_masstree");
}
