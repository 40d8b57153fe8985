// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/masstree/: what the module holds, for administrators
 * and tests.
 *
 *   nodes            live nodes and key suffixes of every map in the module
 *   stats            the same plus maps of /dev/masstree and bytes, and
 *                    the bytes charged to all of them
 *   users            "UID BYTES MAPS" for each uid that created maps
 *   maps/NAME/       one directory per named /dev/masstree map of the
 *     stats          initial IPC namespace: shape, bytes, operation counters
 *     dump           its nodes, breadth first, at most MST_DUMP_NODES
 *   anon/ID/         the same for an anonymous map (ID: its number)
 *   ipc/INUM/NAME/   the same for a named map of the IPC namespace whose
 *                    inode number is INUM
 *
 * Each kind has a directory of its own, so no name can collide with
 * another kind's: names are unique in their namespace, IDs are unique,
 * and a namespace's inode number is unique while it has maps (the
 * registry holds a reference on it). debugfs_create_dir() logs every
 * collision; there are none to log.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "debugfs.h"
#include "dev.h"
#include "faultinject.h"
#include "node.h"

/* A dump prints at most this many nodes. */
#define MST_DUMP_NODES	512

static struct dentry *mst_debugfs_root;
static struct dentry *mst_debugfs_maps;
static struct dentry *mst_debugfs_anon;
static struct dentry *mst_debugfs_ipc;

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
	seq_printf(m, "maps %ld\nleaves %ld\ninternodes %ld\nsuffixes %ld\nnode_bytes %ld\n",
		   mtdev_nr_maps(), stats.leaves, stats.internodes,
		   stats.suffixes,
		   (stats.leaves + stats.internodes) * (long)MST_NODE_SIZE);
	seq_printf(m, "charged_bytes %lld\n", (long long)mtdev_total_bytes());
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mst_stats);

/* "UID BYTES MAPS" per user with maps: what each is charged. */
static int mst_users_show(struct seq_file *m, void *unused)
{
	mtdev_users_show(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mst_users);

/* debugfs_remove() waits for running readers: the map outlives them. */
static int mst_map_stats_show(struct seq_file *sf, void *unused)
{
	struct masstree_ioc_stats s;

	mtdev_map_stats(sf->private, &s);
	seq_printf(sf, "keys %llu\nleaves %llu\ninternodes %llu\nlayers %llu\nheight %llu\n",
		   s.keys, s.leaves, s.internodes, s.layers, s.height);
	seq_printf(sf, "node_bytes %llu\nvalue_bytes %llu\ncharged_bytes %llu\n",
		   s.node_bytes, s.value_bytes, s.charged_bytes);
	seq_printf(sf, "gets %llu\nputs %llu\ndels %llu\ncmpxchgs %llu\nscans %llu\nbatches %llu\n",
		   s.gets, s.puts, s.dels, s.cmpxchgs, s.scans, s.batches);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mst_map_stats);

static int mst_map_dump_show(struct seq_file *sf, void *unused)
{
	struct mtdev_map *m = sf->private;

	masstree_dump(&m->tree, sf, MST_DUMP_NODES);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mst_map_dump);

/**
 * mst_debugfs_map_add() - give a map its debugfs directory.
 * @m: the map, named or anonymous.
 * @ns_dir: the directory of a named map's IPC namespace; NULL for the
 *	initial namespace or an anonymous map.
 *
 * Context: Process context, under the registry lock (names are unique).
 */
void mst_debugfs_map_add(struct mtdev_map *m, struct dentry *ns_dir)
{
	struct dentry *parent = ns_dir ?: mst_debugfs_maps;
	const char *name = m->name;
	char anon[24];

	if (!name[0]) {
		snprintf(anon, sizeof(anon), "%llu", m->id);
		name = anon;
		parent = mst_debugfs_anon;
	}
	m->debugfs = debugfs_create_dir(name, parent);
	debugfs_create_file("stats", 0444, m->debugfs, m, &mst_map_stats_fops);
	debugfs_create_file("dump", 0400, m->debugfs, m, &mst_map_dump_fops);
}

/**
 * mst_debugfs_ns_add() - give an IPC namespace with maps its directory.
 * @ns: the namespace's record.
 * @inum: its inode number.
 *
 * Context: Process context, under the registry lock.
 */
void mst_debugfs_ns_add(struct mtdev_ns *ns, unsigned int inum)
{
	char dir[16];

	snprintf(dir, sizeof(dir), "%u", inum);
	ns->debugfs = debugfs_create_dir(dir, mst_debugfs_ipc);
}

/**
 * mst_debugfs_ns_remove() - remove an IPC namespace's directory.
 * @ns: the namespace's record, whose maps are gone.
 *
 * Context: Process context, under the registry lock.
 */
void mst_debugfs_ns_remove(struct mtdev_ns *ns)
{
	debugfs_remove(ns->debugfs);
	ns->debugfs = NULL;
}

/**
 * mst_debugfs_map_remove() - remove a map's debugfs directory, if any.
 * @m: the map.
 *
 * Returns once no reader of its files runs any more.
 *
 * Context: Process context.
 */
void mst_debugfs_map_remove(struct mtdev_map *m)
{
	debugfs_remove(m->debugfs);
	m->debugfs = NULL;
}

/**
 * mst_debugfs_init() - create the module's debugfs directory.
 *
 * The module works without debugfs, so its failures are ignored.
 *
 * Context: Module init (process context).
 */
void mst_debugfs_init(void)
{
	mst_debugfs_root = debugfs_create_dir("masstree", NULL);
	debugfs_create_file("nodes", 0444, mst_debugfs_root, NULL, &mst_nodes_fops);
	debugfs_create_file("stats", 0444, mst_debugfs_root, NULL, &mst_stats_fops);
	debugfs_create_file("users", 0444, mst_debugfs_root, NULL, &mst_users_fops);
	mst_debugfs_maps = debugfs_create_dir("maps", mst_debugfs_root);
	mst_debugfs_anon = debugfs_create_dir("anon", mst_debugfs_root);
	mst_debugfs_ipc = debugfs_create_dir("ipc", mst_debugfs_root);
	mst_fail_debugfs_init(mst_debugfs_root);
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
