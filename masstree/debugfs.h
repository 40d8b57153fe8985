/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _MASSTREE_DEBUGFS_H
#define _MASSTREE_DEBUGFS_H

struct dentry;
struct masstree;
struct mtdev_map;
struct mtdev_ns;
struct seq_file;

void mst_debugfs_init(void);
void mst_debugfs_exit(void);
void mst_debugfs_map_add(struct mtdev_map *m, struct dentry *ns_dir);
void mst_debugfs_ns_add(struct mtdev_ns *ns, unsigned int inum);
void mst_debugfs_ns_remove(struct mtdev_ns *ns);
void mst_debugfs_map_remove(struct mtdev_map *m);

#endif /* _MASSTREE_DEBUGFS_H */
