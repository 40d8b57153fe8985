// SPDX-License-Identifier: GPL-2.0
/*
 * The device's files in /sys/kernel/debug/masstree/ (the directory is the
 * module's; the core has its own files there), for administrators and
 * tests:
 *
 *   dev_stats        maps of /dev/masstree and the bytes charged to all
 *   users            "UID BYTES MAPS" for each uid that created maps
 *   maps/NAME/       one directory per named map of the initial IPC
 *     stats          namespace: shape, bytes, operation counters
 *     dump           its nodes, breadth first, at most MTDEV_DUMP_NODES
 *   anon/ID/         the same for an anonymous map (ID: its number)
 *   ipc/INUM/NAME/   the same for a named map of the IPC namespace whose
 *                    inode number is INUM
 *   dev_fail_nth, dev_fail_sites, fail_masstree_dev/
 *                    fault injection, test builds only (fault.c)
 *
 * Each kind has a directory of its own, so no name can collide with
 * another kind's: names are unique in their namespace, IDs are unique,
 * and a namespace's inode number is unique while it has maps (the
 * registry holds a reference on it). debugfs_create_dir() logs every
 * collision; there are none to log.
 */
#include <linux/debugfs.h>
#include <linux/kernel.h>
#include <linux/masstree.h>
#include <linux/seq_file.h>

#include "account.h"
#include "debugfs.h"
#include "fault.h"
#include "mtdev.h"

/* A dump prints at most this many nodes. */
#define MTDEV_DUMP_NODES	512

static struct dentry *mtdev_debugfs_stats;
static struct dentry *mtdev_debugfs_users;
static struct dentry *mtdev_debugfs_maps;
static struct dentry *mtdev_debugfs_anon;
static struct dentry *mtdev_debugfs_ipc;

static int mtdev_stats_show(struct seq_file *sf, void *unused)
{
	seq_printf(sf, "maps %ld\ncharged_bytes %lld\n", mtdev_nr_maps(),
		   (long long)mtdev_total_bytes());
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mtdev_stats);

/* "UID BYTES MAPS" per user with maps: what each is charged. */
static int mtdev_users_file_show(struct seq_file *sf, void *unused)
{
	mtdev_users_show(sf);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mtdev_users_file);

/* debugfs_remove() waits for running readers: the map outlives them. */
static int mtdev_map_stats_show(struct seq_file *sf, void *unused)
{
	struct mtdev_map *m = sf->private;
	struct masstree_ioc_stats s;

	mtdev_account_stats(&m->acct, &s);
	seq_printf(sf, "keys %llu\nleaves %llu\ninternodes %llu\nlayers %llu\nheight %llu\n",
		   s.keys, s.leaves, s.internodes, s.layers, s.height);
	seq_printf(sf, "node_bytes %llu\nvalue_bytes %llu\ncharged_bytes %llu\n",
		   s.node_bytes, s.value_bytes, s.charged_bytes);
	seq_printf(sf, "gets %llu\nputs %llu\ndels %llu\ncmpxchgs %llu\nscans %llu\nbatches %llu\n",
		   s.gets, s.puts, s.dels, s.cmpxchgs, s.scans, s.batches);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mtdev_map_stats);

static int mtdev_map_dump_show(struct seq_file *sf, void *unused)
{
	struct mtdev_map *m = sf->private;

	masstree_dump(&m->tree, sf, MTDEV_DUMP_NODES);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mtdev_map_dump);

/**
 * mtdev_debugfs_map_add() - give a map its debugfs directory.
 * @m: the map, named or anonymous.
 * @ns_dir: the directory of a named map's IPC namespace; NULL for the
 *	initial namespace or an anonymous map.
 *
 * Context: Process context, under the registry lock (names are unique).
 */
void mtdev_debugfs_map_add(struct mtdev_map *m, struct dentry *ns_dir)
{
	struct dentry *parent = ns_dir ?: mtdev_debugfs_maps;
	const char *name = m->name;
	char anon[24];

	if (!name[0]) {
		snprintf(anon, sizeof(anon), "%llu", m->id);
		name = anon;
		parent = mtdev_debugfs_anon;
	}
	m->debugfs = debugfs_create_dir(name, parent);
	debugfs_create_file("stats", 0444, m->debugfs, m, &mtdev_map_stats_fops);
	debugfs_create_file("dump", 0400, m->debugfs, m, &mtdev_map_dump_fops);
}

/**
 * mtdev_debugfs_map_remove() - remove a map's debugfs directory, if any.
 * @m: the map.
 *
 * Returns once no reader of its files runs any more.
 *
 * Context: Process context.
 */
void mtdev_debugfs_map_remove(struct mtdev_map *m)
{
	debugfs_remove(m->debugfs);
	m->debugfs = NULL;
}

/**
 * mtdev_debugfs_ns_add() - give an IPC namespace with maps its directory.
 * @ns: the namespace's record.
 * @inum: its inode number.
 *
 * Context: Process context, under the registry lock.
 */
void mtdev_debugfs_ns_add(struct mtdev_ns *ns, unsigned int inum)
{
	char dir[16];

	snprintf(dir, sizeof(dir), "%u", inum);
	ns->debugfs = debugfs_create_dir(dir, mtdev_debugfs_ipc);
}

/**
 * mtdev_debugfs_ns_remove() - remove an IPC namespace's directory.
 * @ns: the namespace's record, whose maps are gone.
 *
 * Context: Process context, under the registry lock.
 */
void mtdev_debugfs_ns_remove(struct mtdev_ns *ns)
{
	debugfs_remove(ns->debugfs);
	ns->debugfs = NULL;
}

/**
 * mtdev_debugfs_init() - create the device's files and directories.
 * @root: the module's debugfs directory.
 *
 * The device works without debugfs, so its failures are ignored.
 *
 * Context: Module init (process context).
 */
void mtdev_debugfs_init(struct dentry *root)
{
	mtdev_debugfs_stats = debugfs_create_file("dev_stats", 0444, root, NULL,
						  &mtdev_stats_fops);
	mtdev_debugfs_users = debugfs_create_file("users", 0444, root, NULL,
						  &mtdev_users_file_fops);
	mtdev_debugfs_maps = debugfs_create_dir("maps", root);
	mtdev_debugfs_anon = debugfs_create_dir("anon", root);
	mtdev_debugfs_ipc = debugfs_create_dir("ipc", root);
	mtdev_fail_debugfs_init(root);
}

/**
 * mtdev_debugfs_exit() - remove what mtdev_debugfs_init() created.
 *
 * Context: Module exit (process context), once every map is freed.
 */
void mtdev_debugfs_exit(void)
{
	mtdev_fail_debugfs_exit();
	debugfs_remove(mtdev_debugfs_ipc);
	debugfs_remove(mtdev_debugfs_anon);
	debugfs_remove(mtdev_debugfs_maps);
	debugfs_remove(mtdev_debugfs_users);
	debugfs_remove(mtdev_debugfs_stats);
}
