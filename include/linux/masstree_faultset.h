/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fault sets: the Nth-allocation failures of one part of masstree.ko in
 * test builds (kernels with KUnit). The core (masstree/faultinject.c) and
 * /dev/masstree (masstree/dev/fault.c) each own one, so a test fails the
 * allocations of one layer at a time; the logic is written once, in
 * masstree/faultset.c.
 *
 * A set is a site mask, a failure count per site and, where the kernel has
 * the fault injection framework (Documentation/fault-injection/), one
 * fault_attr that every site of the set asks: the per-task fail-nth
 * reaches it and debugfs shows the framework's knobs plus "sites", the
 * mask. Without the framework, a private countdown of one armed task gives
 * masstree_faultset_arm() the same meaning. The attr is quiet (verbose 0):
 * the tests inject thousands of failures and each stack dump would read as
 * a kernel splat.
 *
 * Not part of the consumer API of <linux/masstree.h>: test builds link
 * these functions into masstree.ko and export none of them; production
 * builds compile every fault site away and never call them. The header
 * knows nothing of either layer, so both may include it.
 */
#ifndef _LINUX_MASSTREE_FAULTSET_H
#define _LINUX_MASSTREE_FAULTSET_H

#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/build_bug.h>
#include <linux/compiler.h>
#include <linux/fault-inject.h>
#include <linux/types.h>

struct dentry;
struct task_struct;

/* Site classes one set can tell apart: bits of its u32 mask, and hits. */
#define MASSTREE_FAULTSET_MAX_SITES	8

/**
 * struct masstree_faultset - the allocation failures of one layer.
 * @site_mask: bit N lets site N fail; all sites at first.
 * @nr_sites: how many site classes the layer has.
 * @site_names: one name per site, for the sites file.
 * @hits: failures injected so far, per site.
 * @attr: the fault_attr every site asks (CONFIG_FAULT_INJECTION).
 * @task: the armed task (no CONFIG_FAULT_INJECTION).
 * @countdown: the armed task's allocations left before the failure,
 *	counting it (no CONFIG_FAULT_INJECTION).
 * @files: what masstree_faultset_debugfs() created, for
 *	masstree_faultset_debugfs_remove().
 *
 * Define one with MASSTREE_FAULTSET_INIT(); the fields are the helpers'.
 */
struct masstree_faultset {
	u32 site_mask;
	unsigned int nr_sites;
	const char *const *site_names;
	atomic_long_t hits[MASSTREE_FAULTSET_MAX_SITES];
#ifdef CONFIG_FAULT_INJECTION
	struct fault_attr attr;
#else
	struct task_struct *task;
	atomic_t countdown;
#endif
	struct dentry *files[3];
};

#ifdef CONFIG_FAULT_INJECTION
#define __MASSTREE_FAULTSET_ATTR	.attr = FAULT_ATTR_INITIALIZER,
#else
#define __MASSTREE_FAULTSET_ATTR	.countdown = ATOMIC_INIT(0),
#endif

/**
 * MASSTREE_FAULTSET_INIT() - initializer of a struct masstree_faultset.
 * @names: an array of one name per site class, indexed by the layer's
 *	site enum: its size is the number of sites.
 *
 * ARRAY_SIZE() spelled out: sizeof() evaluates nothing, so @names is
 * evaluated once.
 */
#define MASSTREE_FAULTSET_INIT(names) {					\
	.site_mask = GENMASK(sizeof(names) / sizeof((names)[0]) - 1, 0),	\
	.nr_sites = sizeof(names) / sizeof((names)[0]) +		\
		__must_be_array(names) +				\
		BUILD_BUG_ON_ZERO(sizeof(names) >			\
				  MASSTREE_FAULTSET_MAX_SITES *		\
				  sizeof((names)[0])),			\
	.site_names = (names),						\
	__MASSTREE_FAULTSET_ATTR					\
}

bool masstree_faultset_fail(struct masstree_faultset *set, unsigned int site);
void masstree_faultset_arm(struct masstree_faultset *set, unsigned int nth);
unsigned int masstree_faultset_left(struct masstree_faultset *set);
unsigned long masstree_faultset_hits(struct masstree_faultset *set,
				     unsigned int site);
u32 masstree_faultset_sites(struct masstree_faultset *set, u32 mask);
void masstree_faultset_debugfs(struct masstree_faultset *set,
			       struct dentry *root, const char *nth_name,
			       const char *sites_name, const char *attr_name);
void masstree_faultset_debugfs_remove(struct masstree_faultset *set);

#endif /* _LINUX_MASSTREE_FAULTSET_H */
