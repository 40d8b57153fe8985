// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation failures of /dev/masstree in test builds, through the
 * kernel's fault injection framework (Documentation/fault-injection/):
 * before it allocates, every allocation site of the device asks
 * should_fail() of one fault_attr, fail_masstree_dev. The core's sites ask
 * the core's attr, fail_masstree, so a test fails the Nth allocation of
 * one layer at a time, and a site class of either by its own mask. So:
 *
 *  - a task's per-task counter (/proc/self/task/TID/fail-nth) reaches the
 *    device's sites as it reaches every attr;
 *  - debugfs masstree/fail_masstree_dev/ has the framework's knobs and
 *    "sites", a mask of the site classes that may fail (bit N is enum
 *    mtdev_fail_site N);
 *  - masstree/dev_fail_nth programs the attr for deterministic tests:
 *    write N and the writer's Nth allocation in the device fails, once,
 *    and no other task's does (probability 100, interval N, times 1,
 *    task-filter on, make-it-fail set on the writer); 0 puts the attr
 *    back as it starts. Read: what is left of the writer's countdown, 0
 *    once the failure was injected;
 *  - masstree/dev_fail_sites: failures injected so far, per site.
 *
 * The attr is quiet (verbose 0): the tests inject thousands of failures
 * and each stack dump would read as a kernel splat.
 */
#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/fault-inject.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>

#include "fault.h"

#define MTDEV_FAIL_ALL_SITES	GENMASK(MTDEV_FAIL_NR - 1, 0)

static DECLARE_FAULT_ATTR(mtdev_fail_attr);
/* What mtdev_fail_debugfs_init() made, for mtdev_fail_debugfs_exit(). */
static struct dentry *mtdev_fail_files[3];
static u32 mtdev_fail_site_mask = MTDEV_FAIL_ALL_SITES;
static atomic_long_t mtdev_fail_hits[MTDEV_FAIL_NR];

static const char *const mtdev_fail_names[MTDEV_FAIL_NR] = {
	[MTDEV_FAIL_MAP] = "dev_map",
	[MTDEV_FAIL_VALUE] = "dev_value",
	[MTDEV_FAIL_COPY] = "dev_copy",
	[MTDEV_FAIL_BUFFER] = "dev_buffer",
};

static bool mtdev_should_fail(void)
{
	struct fault_attr *attr = &mtdev_fail_attr;

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
	if (!(READ_ONCE(mtdev_fail_site_mask) & BIT(site)))
		return false;
	if (likely(!mtdev_should_fail()))
		return false;
	atomic_long_inc(&mtdev_fail_hits[site]);
	return true;
}

/* Program the attr: the caller's @nth allocation fails; 0 disarms. */
static void mtdev_fail_arm(unsigned int nth)
{
	struct fault_attr *attr = &mtdev_fail_attr;

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

static unsigned int mtdev_fail_left(void)
{
	struct fault_attr *attr = &mtdev_fail_attr;

	if (!READ_ONCE(current->make_it_fail) || !READ_ONCE(attr->probability) ||
	    !READ_ONCE(attr->task_filter) || atomic_read(&attr->times) <= 0)
		return 0;
	/* should_fail() counts calls only when the interval is over 1. */
	if (attr->interval <= 1)
		return 1;
	return attr->interval > attr->count ? attr->interval - attr->count : 0;
}

static ssize_t mtdev_fail_nth_write(struct file *file, const char __user *buf,
				    size_t count, loff_t *ppos)
{
	unsigned int nth;
	int err;

	err = kstrtouint_from_user(buf, count, 0, &nth);
	if (err)
		return err;
	mtdev_fail_arm(nth);
	return count;
}

static ssize_t mtdev_fail_nth_read(struct file *file, char __user *buf,
				   size_t count, loff_t *ppos)
{
	char tmp[16];
	int len = scnprintf(tmp, sizeof(tmp), "%u\n", mtdev_fail_left());

	return simple_read_from_buffer(buf, count, ppos, tmp, len);
}

static const struct file_operations mtdev_fail_nth_fops = {
	.owner = THIS_MODULE,
	.read = mtdev_fail_nth_read,
	.write = mtdev_fail_nth_write,
	.llseek = default_llseek,
};

static int mtdev_fail_sites_show(struct seq_file *m, void *unused)
{
	int i;

	for (i = 0; i < MTDEV_FAIL_NR; i++)
		seq_printf(m, "%s %ld\n", mtdev_fail_names[i],
			   atomic_long_read(&mtdev_fail_hits[i]));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mtdev_fail_sites);

/**
 * mtdev_fail_debugfs_init() - create dev_fail_nth, dev_fail_sites and
 *	fail_masstree_dev/.
 * @root: the module's debugfs directory.
 *
 * Context: Module init.
 */
void mtdev_fail_debugfs_init(struct dentry *root)
{
	struct dentry *dir;

	mtdev_fail_files[0] = debugfs_create_file("dev_fail_nth", 0600, root,
						  NULL, &mtdev_fail_nth_fops);
	mtdev_fail_files[1] = debugfs_create_file("dev_fail_sites", 0444, root,
						  NULL, &mtdev_fail_sites_fops);
	mtdev_fail_attr.verbose = 0;
	dir = fault_create_debugfs_attr("fail_masstree_dev", root,
					&mtdev_fail_attr);
	if (IS_ERR(dir))
		return;
	mtdev_fail_files[2] = dir;
	debugfs_create_x32("sites", 0600, dir, &mtdev_fail_site_mask);
}

/**
 * mtdev_fail_debugfs_exit() - remove what mtdev_fail_debugfs_init() made.
 *
 * Context: Module exit, or init failing.
 */
void mtdev_fail_debugfs_exit(void)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(mtdev_fail_files); i++) {
		debugfs_remove(mtdev_fail_files[i]);
		mtdev_fail_files[i] = NULL;
	}
}
