/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _MASSTREE_DEBUGFS_H
#define _MASSTREE_DEBUGFS_H

struct dentry;

struct dentry *mst_debugfs_init(void);
void mst_debugfs_exit(void);

#endif /* _MASSTREE_DEBUGFS_H */
