// SPDX-License-Identifier: GPL-2.0
/*
 * The Nth-allocation failure hook of test builds. One task at a time is
 * armed (tests run their fault loops one after another); its countdown
 * drops at every allocation site masstree passes and the site where it
 * reaches zero fails, once. Unlike failslab, this reaches every site
 * deterministically, kvmalloc() and per-CPU allocations included, and
 * never fails an allocation of another task.
 *
 * debugfs (test builds only):
 *   fail_nth    write N: the writer's Nth allocation in masstree fails
 *               (0 disarms); read: what is left of the writer's countdown,
 *               0 once the failure was injected
 *   fail_sites  failures injected so far, per site
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/export.h>
#include <linux/kernel.h>
#include <linux/masstree.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>
#include <kunit/visibility.h>

#include "faultinject.h"
#include "testing.h"

static struct task_struct *mst_fail_task;
static atomic_t mst_fail_left = ATOMIC_INIT(0);
static atomic_long_t mst_fail_hits[MST_FAIL_NR];

static const char *const mst_fail_names[MST_FAIL_NR] = {
	[MST_FAIL_NODE] = "node",
	[MST_FAIL_SUFFIX] = "suffix",
	[MST_FAIL_CURSOR] = "cursor",
	[MST_FAIL_DEV_MAP] = "dev_map",
	[MST_FAIL_DEV_VALUE] = "dev_value",
	[MST_FAIL_DEV_COPY] = "dev_copy",
	[MST_FAIL_DEV_BUFFER] = "dev_buffer",
};

/**
 * mst_fail_alloc() - should the allocation about to happen fail?
 * @site: where it happens.
 *
 * Context: Any context.
 * Return: true once, at the armed task's Nth call.
 */
bool mst_fail_alloc(enum mst_fail_site site)
{
	/* Only the armed task itself counts down: no race on the count. */
	if (likely(READ_ONCE(mst_fail_task) != current))
		return false;
	if (atomic_dec_return(&mst_fail_left) > 0)
		return false;
	WRITE_ONCE(mst_fail_task, NULL);
	atomic_set(&mst_fail_left, 0);
	atomic_long_inc(&mst_fail_hits[site]);
	return true;
}

/**
 * masstree_fail_nth() - make the calling task's Nth allocation in masstree
 *	fail (test builds only).
 * @nth: which allocation, from 1; 0 disarms.
 *
 * Context: Process context.
 */
void masstree_fail_nth(unsigned int nth)
{
	WRITE_ONCE(mst_fail_task, NULL);
	atomic_set(&mst_fail_left, nth);
	if (nth)
		WRITE_ONCE(mst_fail_task, current);
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
	if (READ_ONCE(mst_fail_task) != current)
		return 0;
	return max(atomic_read(&mst_fail_left), 0);
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
 * mst_fail_debugfs_init() - create fail_nth and fail_sites.
 * @root: the module's debugfs directory.
 *
 * Context: Module init.
 */
void mst_fail_debugfs_init(struct dentry *root)
{
	debugfs_create_file("fail_nth", 0600, root, NULL, &mst_fail_nth_fops);
	debugfs_create_file("fail_sites", 0444, root, NULL, &mst_fail_sites_fops);
}
