/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The maps behind /dev/masstree: their lifetime, names, permissions and
 * values (map.c), above the debugfs files and what they are charged.
 */
#ifndef _MASSTREE_DEV_MAP_H
#define _MASSTREE_DEV_MAP_H

#include <linux/types.h>
#include <uapi/linux/masstree.h>

struct mtdev_map;
struct mtdev_value;

struct mtdev_map *mtdev_map_create(const char *name, umode_t mode);
struct mtdev_map *mtdev_map_open(const char *name, unsigned int access);
int mtdev_map_destroy(const char *name);
int mtdev_map_setattr(const struct masstree_ioc_setattr *attr);
int mtdev_map_list(struct masstree_ioc_list *list,
		   struct masstree_map_info *infos, unsigned int nr);
void mtdev_map_put(struct mtdev_map *m);
void mtdev_map_stats(struct mtdev_map *m, struct masstree_ioc_stats *s);
int mtdev_reap_room(struct mtdev_map *m, const u8 *key, size_t len);
s64 mtdev_value_gone(struct mtdev_map *m, struct mtdev_value *old);
void mtdev_maps_exit(void);

#endif /* _MASSTREE_DEV_MAP_H */
