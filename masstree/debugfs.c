// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/masstree/: what the module holds, for administrators
 * and tests.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "debugfs.h"
#include "node.h"

static struct dentry *mt_debugfs_root;

static int mt_nodes_show(struct seq_file *m, void *unused)
{
	struct mt_node_stats stats;

	mt_node_stats_read(&stats);
	seq_printf(m, "leaves %ld\ninternodes %ld\nsuffixes %ld\n",
		   stats.leaves, stats.internodes, stats.suffixes);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mt_nodes);

/**
 * mt_debugfs_init() - create the module's debugfs directory.
 *
 * The module works without debugfs, so its failures are ignored.
 *
 * Context: Module init (process context).
 */
void mt_debugfs_init(void)
{
	mt_debugfs_root = debugfs_create_dir("masstree", NULL);
	debugfs_create_file("nodes", 0444, mt_debugfs_root, NULL, &mt_nodes_fops);
}

/**
 * mt_debugfs_exit() - remove the module's debugfs directory.
 *
 * Context: Module exit (process context).
 */
void mt_debugfs_exit(void)
{
	debugfs_remove(mt_debugfs_root);
}
