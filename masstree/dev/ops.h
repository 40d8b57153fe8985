/* SPDX-License-Identifier: GPL-2.0 */
/* The key operations of /dev/masstree on an attached map (ops.c). */
#ifndef _MASSTREE_DEV_OPS_H
#define _MASSTREE_DEV_OPS_H

#include <linux/types.h>
#include <uapi/linux/masstree.h>

struct mtdev_map;

int mtdev_op(struct mtdev_map *m, unsigned int access,
	     struct masstree_ioc_op *op, unsigned int opcode);
int mtdev_scan(struct mtdev_map *m, struct masstree_ioc_scan *scan);
int mtdev_clear(struct mtdev_map *m, u64 *cleared);

#endif /* _MASSTREE_DEV_OPS_H */
