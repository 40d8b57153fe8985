// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation failures of test builds, through the kernel's fault injection
 * framework (Documentation/fault-injection/) where the kernel has it:
 * before it allocates, every allocation site of the core asks should_fail()
 * of one fault_attr, fail_masstree (/dev/masstree has its own,
 * fail_masstree_dev: masstree/dev/fault.c). So:
 *
 *  - a task's per-task counter (/proc/self/task/TID/fail-nth) reaches
 *    masstree's own sites too, GFP_KERNEL, kvmalloc() and vmalloc sizes
 *    included, which failslab skips by default or cannot reach;
 *  - debugfs masstree/fail_masstree/ has the framework's usual knobs
 *    (probability, interval, times, space, verbose, task-filter, the stack
 *    trace filters) and "sites", a mask of the site classes that may fail
 *    (bit N is enum mst_fail_site N);
 *  - masstree_fail_nth(N) and the debugfs file fail_nth program that attr
 *    for deterministic tests: probability 100, interval N, times 1,
 *    task-filter on, and make-it-fail set on the calling task: its Nth
 *    allocation in the core fails, once, and no other task's does; 0
 *    puts the attr back as it starts (probability 0, task-filter off).
 *
 * One attr with a site mask, not one per site: the tests fail the 1st,
 * 2nd, ... allocation of one operation whatever its site, which takes one
 * counter across all sites, and per-task fail-nth ignores attrs anyway.
 * The attr is quiet by default (verbose 0): the tests inject thousands of
 * failures and each stack dump would read as a kernel splat.
 *
 * Kernels without CONFIG_FAULT_INJECTION keep a private countdown that
 * gives masstree_fail_nth() and fail_nth the same meaning.
 *
 * debugfs (test builds only):
 *   fail_nth       write N: the writer's Nth allocation in the core fails
 *                  (0 disarms); read: what is left of the writer's
 *                  countdown, 0 once the failure was injected
 *   fail_sites     failures injected so far, per site
 *   fail_masstree/ the fault_attr (CONFIG_FAULT_INJECTION_DEBUG_FS)
 */
#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/export.h>
#include <linux/fault-inject.h>
#include <linux/kernel.h>
#include <linux/masstree.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>
#include <kunit/visibility.h>

#include "faultinject.h"
#include "testing.h"

#define MST_FAIL_ALL_SITES	GENMASK(MST_FAIL_NR - 1, 0)

static u32 mst_fail_site_mask = MST_FAIL_ALL_SITES;
static atomic_long_t mst_fail_hits[MST_FAIL_NR];

static const char *const mst_fail_names[MST_FAIL_NR] = {
	[MST_FAIL_NODE] = "node",
	[MST_FAIL_SUFFIX] = "suffix",
	[MST_FAIL_CURSOR] = "cursor",
};

#ifdef CONFIG_FAULT_INJECTION
static DECLARE_FAULT_ATTR(mst_fail_attr);

static bool mst_should_fail(void)
{
	struct fault_attr *attr = &mst_fail_attr;

	/*
	 * should_fail() reads the attr with plain loads: ask it only when it
	 * could fail this task, so that a task never armed does not race
	 * with the armed one reprogramming the attr. Its own order: the
	 * per-task fail-nth first, then the probability, then the filter.
	 */
	if (in_task() && READ_ONCE(current->fail_nth))
		return should_fail(attr, 1);
	if (!READ_ONCE(attr->probability))
		return false;
	if (READ_ONCE(attr->task_filter) &&
	    !(in_task() && READ_ONCE(current->make_it_fail)))
		return false;
	return should_fail(attr, 1);
}

static void mst_fail_arm(unsigned int nth)
{
	struct fault_attr *attr = &mst_fail_attr;

	/* Closed while it is reprogrammed; only this task passes the filter. */
	WRITE_ONCE(attr->probability, 0);
	WRITE_ONCE(current->make_it_fail, !!nth);
	attr->interval = max(nth, 1U);
	attr->count = 0;
	atomic_set(&attr->space, 0);
	atomic_set(&attr->times, 1);
	WRITE_ONCE(attr->task_filter, !!nth);
	if (nth)
		WRITE_ONCE(attr->probability, 100);
}

static unsigned int mst_fail_left(void)
{
	struct fault_attr *attr = &mst_fail_attr;

	if (!READ_ONCE(current->make_it_fail) || !READ_ONCE(attr->probability) ||
	    !READ_ONCE(attr->task_filter) || atomic_read(&attr->times) <= 0)
		return 0;
	/* should_fail() counts calls only when the interval is over 1. */
	if (attr->interval <= 1)
		return 1;
	return attr->interval > attr->count ? attr->interval - attr->count : 0;
}

static void mst_fail_attr_debugfs(struct dentry *root)
{
	struct dentry *dir;

	mst_fail_attr.verbose = 0;
	dir = fault_create_debugfs_attr("fail_masstree", root, &mst_fail_attr);
	if (!IS_ERR(dir))
		debugfs_create_x32("sites", 0600, dir, &mst_fail_site_mask);
}
#else
/*
 * No framework: one task at a time is armed (tests run their fault loops
 * one after another) and only it counts down, so the count has no race.
 */
static struct task_struct *mst_fail_task;
static atomic_t mst_fail_countdown = ATOMIC_INIT(0);

static bool mst_should_fail(void)
{
	if (likely(READ_ONCE(mst_fail_task) != current))
		return false;
	if (atomic_dec_return(&mst_fail_countdown) > 0)
		return false;
	WRITE_ONCE(mst_fail_task, NULL);
	atomic_set(&mst_fail_countdown, 0);
	return true;
}

static void mst_fail_arm(unsigned int nth)
{
	WRITE_ONCE(mst_fail_task, NULL);
	atomic_set(&mst_fail_countdown, nth);
	if (nth)
		WRITE_ONCE(mst_fail_task, current);
}

static unsigned int mst_fail_left(void)
{
	if (READ_ONCE(mst_fail_task) != current)
		return 0;
	return max(atomic_read(&mst_fail_countdown), 0);
}

static void mst_fail_attr_debugfs(struct dentry *root) { }
#endif /* CONFIG_FAULT_INJECTION */

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
	if (!(READ_ONCE(mst_fail_site_mask) & BIT(site)))
		return false;
	if (likely(!mst_should_fail()))
		return false;
	atomic_long_inc(&mst_fail_hits[site]);
	return true;
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
	mst_fail_arm(nth);
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
	return mst_fail_left();
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
	if (site >= MST_FAIL_NR)
		return 0;
	return atomic_long_read(&mst_fail_hits[site]);
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
	return xchg(&mst_fail_site_mask, mask & MST_FAIL_ALL_SITES);
}
EXPORT_SYMBOL_IF_KUNIT(masstree_fail_sites);

static ssize_t mst_fail_nth_write(struct file *file, const char __user *buf,
				  size_t count, loff_t *ppos)
{
	unsigned int nth;
	int err;

	err = kstrtouint_from_user(buf, count, 0, &nth);
	if (err)
		return err;
	masstree_fail_nth(nth);
	return count;
}

static ssize_t mst_fail_nth_read(struct file *file, char __user *buf,
				 size_t count, loff_t *ppos)
{
	char tmp[16];
	int len = scnprintf(tmp, sizeof(tmp), "%u\n", masstree_fail_nth_left());

	return simple_read_from_buffer(buf, count, ppos, tmp, len);
}

static const struct file_operations mst_fail_nth_fops = {
	.owner = THIS_MODULE,
	.read = mst_fail_nth_read,
	.write = mst_fail_nth_write,
	.llseek = default_llseek,
};

static int mst_fail_sites_show(struct seq_file *m, void *unused)
{
	int i;

	for (i = 0; i < MST_FAIL_NR; i++)
		seq_printf(m, "%s %ld\n", mst_fail_names[i],
			   atomic_long_read(&mst_fail_hits[i]));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mst_fail_sites);

/**
 * mst_fail_debugfs_init() - create fail_nth, fail_sites and fail_masstree/.
 * @root: the module's debugfs directory.
 *
 * Context: Module init.
 */
void mst_fail_debugfs_init(struct dentry *root)
{
	debugfs_create_file("fail_nth", 0600, root, NULL, &mst_fail_nth_fops);
	debugfs_create_file("fail_sites", 0444, root, NULL, &mst_fail_sites_fops);
	mst_fail_attr_debugfs(root);
}
