/* SPDX-License-Identifier: GPL-2.0 */
/* The device's files in the module's debugfs directory (debugfs.c). */
#ifndef _MASSTREE_DEV_DEBUGFS_H
#define _MASSTREE_DEV_DEBUGFS_H

struct dentry;
struct mtdev_map;
struct mtdev_ns;

void mtdev_debugfs_init(struct dentry *root);
void mtdev_debugfs_exit(void);
void mtdev_debugfs_map_add(struct mtdev_map *m, struct dentry *ns_dir);
void mtdev_debugfs_map_remove(struct mtdev_map *m);
void mtdev_debugfs_ns_add(struct mtdev_ns *ns, unsigned int inum);
void mtdev_debugfs_ns_remove(struct mtdev_ns *ns);

#endif /* _MASSTREE_DEV_DEBUGFS_H */
