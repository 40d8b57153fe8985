// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/masstree/: what the module holds, for administrators
 * and tests. The core's files:
 *
 *   nodes            live nodes and key suffixes of every map in the module
 *                    (spans count as suffixes: they are suffix buffers)
 *   stats            the same plus the bytes the nodes hold
 *   fail_nth, fail_sites, fail_masstree/
 *                    fault injection, test builds only (faultinject.c)
 *
 * /dev/masstree adds its own to the same directory (dev/debugfs.c): its
 * maps, one directory each, and what they are charged.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "debugfs.h"
#include "faultinject.h"
#include "node.h"

static struct dentry *mst_debugfs_root;

static int mst_nodes_show(struct seq_file *m, void *unused)
{
	struct mst_node_stats stats;

	mst_node_stats_read(&stats);
	seq_printf(m, "leaves %ld\ninternodes %ld\nsuffixes %ld\n",
		   stats.leaves, stats.internodes, stats.suffixes);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mst_nodes);

static int mst_stats_show(struct seq_file *m, void *unused)
{
	struct mst_node_stats stats;

	mst_node_stats_read(&stats);
	seq_printf(m, "leaves %ld\ninternodes %ld\nsuffixes %ld\nnode_bytes %ld\n",
		   stats.leaves, stats.internodes, stats.suffixes,
		   (stats.leaves + stats.internodes) * (long)MST_NODE_SIZE);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mst_stats);

/**
 * mst_debugfs_init() - create the module's debugfs directory.
 *
 * The module works without debugfs, so its failures are ignored.
 *
 * Context: Module init (process context).
 * Return: the directory, for the device's files; an error pointer
 * without debugfs, which debugfs calls accept as a parent.
 */
struct dentry *mst_debugfs_init(void)
{
	mst_debugfs_root = debugfs_create_dir("masstree", NULL);
	debugfs_create_file("nodes", 0444, mst_debugfs_root, NULL, &mst_nodes_fops);
	debugfs_create_file("stats", 0444, mst_debugfs_root, NULL, &mst_stats_fops);
	mst_fail_debugfs_init(mst_debugfs_root);
	return mst_debugfs_root;
}

/**
 * mst_debugfs_exit() - remove the module's debugfs directory.
 *
 * Context: Module exit (process context).
 */
void mst_debugfs_exit(void)
{
	debugfs_remove(mst_debugfs_root);
}
