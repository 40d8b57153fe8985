// SPDX-License-Identifier: GPL-2.0
/*
 * Fault sets of test builds (<linux/masstree_faultset.h>): a site mask, a
 * count per site and one fault_attr, or a private countdown without the
 * fault injection framework. The core and /dev/masstree each own a set;
 * this file knows neither.
 *
 * One attr with a site mask, not one per site: the tests fail the 1st,
 * 2nd, ... allocation of one operation whatever its site, which takes one
 * counter across all sites, and per-task fail-nth ignores attrs anyway.
 *
 * Arming a set for deterministic tests programs its attr: probability
 * 100, interval N, times 1, task-filter on, and make-it-fail set on the
 * calling task: its Nth allocation in the layer fails, once, and no other
 * task's does; 0 puts the attr back as it starts (probability 0,
 * task-filter off). Each set's debugfs files:
 *
 *   NTH     write N: arm for the writer (0 disarms); read: what is left
 *           of the writer's countdown, 0 once the failure was injected
 *   SITES   "NAME COUNT" per site: failures injected so far
 *   ATTR/   the fault_attr and "sites", the mask (bit N is site N), where
 *           the kernel has CONFIG_FAULT_INJECTION_DEBUG_FS
 */
#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/fault-inject.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/masstree_faultset.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>

#ifdef CONFIG_FAULT_INJECTION
static bool faultset_should_fail(struct masstree_faultset *set)
{
	struct fault_attr *attr = &set->attr;

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

static void faultset_arm(struct masstree_faultset *set, unsigned int nth)
{
	struct fault_attr *attr = &set->attr;

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

static unsigned int faultset_left(struct masstree_faultset *set)
{
	struct fault_attr *attr = &set->attr;

	if (!READ_ONCE(current->make_it_fail) || !READ_ONCE(attr->probability) ||
	    !READ_ONCE(attr->task_filter) || atomic_read(&attr->times) <= 0)
		return 0;
	/* should_fail() counts calls only when the interval is over 1. */
	if (attr->interval <= 1)
		return 1;
	return attr->interval > attr->count ? attr->interval - attr->count : 0;
}

static struct dentry *faultset_attr_debugfs(struct masstree_faultset *set,
					    struct dentry *root,
					    const char *name)
{
	struct dentry *dir;

	set->attr.verbose = 0;
	dir = fault_create_debugfs_attr(name, root, &set->attr);
	if (IS_ERR(dir))
		return NULL;
	debugfs_create_x32("sites", 0600, dir, &set->site_mask);
	return dir;
}
#else
/*
 * No framework: one task at a time is armed (tests run their fault loops
 * one after another) and only it counts down, so the count has no race.
 */
static bool faultset_should_fail(struct masstree_faultset *set)
{
	if (likely(READ_ONCE(set->task) != current))
		return false;
	if (atomic_dec_return(&set->countdown) > 0)
		return false;
	WRITE_ONCE(set->task, NULL);
	atomic_set(&set->countdown, 0);
	return true;
}

static void faultset_arm(struct masstree_faultset *set, unsigned int nth)
{
	WRITE_ONCE(set->task, NULL);
	atomic_set(&set->countdown, nth);
	if (nth)
		WRITE_ONCE(set->task, current);
}

static unsigned int faultset_left(struct masstree_faultset *set)
{
	if (READ_ONCE(set->task) != current)
		return 0;
	return max(atomic_read(&set->countdown), 0);
}

static struct dentry *faultset_attr_debugfs(struct masstree_faultset *set,
					    struct dentry *root,
					    const char *name)
{
	return NULL;
}
#endif /* CONFIG_FAULT_INJECTION */

/**
 * masstree_faultset_fail() - should the allocation about to happen fail?
 * @set: the layer's fault set.
 * @site: where it happens, below @set->nr_sites.
 *
 * Context: Any context.
 * Return: true if a failure is injected here: the caller fails as if the
 * allocator had returned NULL.
 */
bool masstree_faultset_fail(struct masstree_faultset *set, unsigned int site)
{
	if (!(READ_ONCE(set->site_mask) & BIT(site)))
		return false;
	if (likely(!faultset_should_fail(set)))
		return false;
	atomic_long_inc(&set->hits[site]);
	return true;
}

/**
 * masstree_faultset_arm() - make the calling task's Nth allocation in the
 *	layer fail.
 * @set: the layer's fault set.
 * @nth: which allocation, from 1; 0 disarms.
 *
 * With CONFIG_FAULT_INJECTION this programs @set's attr, replacing what
 * was written to it.
 *
 * Context: Process context.
 */
void masstree_faultset_arm(struct masstree_faultset *set, unsigned int nth)
{
	faultset_arm(set, nth);
}

/**
 * masstree_faultset_left() - what is left of the calling task's countdown.
 * @set: the layer's fault set.
 *
 * Context: Any context.
 * Return: allocations before the failure, counting it; 0 once it was
 * injected or if the task is not armed.
 */
unsigned int masstree_faultset_left(struct masstree_faultset *set)
{
	return faultset_left(set);
}

/**
 * masstree_faultset_hits() - failures injected at one site so far.
 * @set: the layer's fault set.
 * @site: the site.
 *
 * Context: Any context.
 * Return: the count, 0 for an unknown site.
 */
unsigned long masstree_faultset_hits(struct masstree_faultset *set,
				     unsigned int site)
{
	if (site >= set->nr_sites)
		return 0;
	return atomic_long_read(&set->hits[site]);
}

/**
 * masstree_faultset_sites() - choose the site classes that may fail.
 * @set: the layer's fault set.
 * @mask: bit N lets site N fail; bits of no site are ignored.
 *
 * Context: Any context.
 * Return: the previous mask.
 */
u32 masstree_faultset_sites(struct masstree_faultset *set, u32 mask)
{
	return xchg(&set->site_mask, mask & GENMASK(set->nr_sites - 1, 0));
}

static ssize_t faultset_nth_write(struct file *file, const char __user *buf,
				  size_t count, loff_t *ppos)
{
	unsigned int nth;
	int err;

	err = kstrtouint_from_user(buf, count, 0, &nth);
	if (err)
		return err;
	faultset_arm(file->private_data, nth);
	return count;
}

static ssize_t faultset_nth_read(struct file *file, char __user *buf,
				 size_t count, loff_t *ppos)
{
	char tmp[16];
	int len = scnprintf(tmp, sizeof(tmp), "%u\n",
			    faultset_left(file->private_data));

	return simple_read_from_buffer(buf, count, ppos, tmp, len);
}

static const struct file_operations faultset_nth_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = faultset_nth_read,
	.write = faultset_nth_write,
	.llseek = default_llseek,
};

static int faultset_sites_show(struct seq_file *m, void *unused)
{
	struct masstree_faultset *set = m->private;
	unsigned int i;

	for (i = 0; i < set->nr_sites; i++)
		seq_printf(m, "%s %ld\n", set->site_names[i],
			   atomic_long_read(&set->hits[i]));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(faultset_sites);

/**
 * masstree_faultset_debugfs() - create a set's debugfs files.
 * @set: the layer's fault set.
 * @root: the directory to create them in.
 * @nth_name: the file that arms the writer and reads its countdown.
 * @sites_name: the file of the failures injected per site.
 * @attr_name: the fault_attr's directory, which gets "sites" too.
 *
 * The module works without debugfs, so failures are ignored.
 *
 * Context: Process context (module init).
 */
void masstree_faultset_debugfs(struct masstree_faultset *set,
			       struct dentry *root, const char *nth_name,
			       const char *sites_name, const char *attr_name)
{
	set->files[0] = debugfs_create_file(nth_name, 0600, root, set,
					    &faultset_nth_fops);
	set->files[1] = debugfs_create_file(sites_name, 0444, root, set,
					    &faultset_sites_fops);
	set->files[2] = faultset_attr_debugfs(set, root, attr_name);
}

/**
 * masstree_faultset_debugfs_remove() - remove what
 *	masstree_faultset_debugfs() created.
 * @set: the layer's fault set.
 *
 * For a layer that leaves before the directory's owner removes it.
 *
 * Context: Process context (module exit, or init failing).
 */
void masstree_faultset_debugfs_remove(struct masstree_faultset *set)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(set->files); i++) {
		debugfs_remove(set->files[i]);
		set->files[i] = NULL;
	}
}
