/* SPDX-License-Identifier: GPL-2.0 */
/*
 * /dev/masstree, a client of the public API (<linux/masstree.h>) that
 * lives in masstree.ko: what the module's init and exit call (dev.c).
 */
#ifndef _MASSTREE_DEV_DEV_H
#define _MASSTREE_DEV_DEV_H

struct dentry;

int mtdev_init(struct dentry *debugfs_root);
void mtdev_exit(void);

#endif /* _MASSTREE_DEV_DEV_H */
