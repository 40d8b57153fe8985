/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Masstree: a concurrent ordered map with variable-length byte keys.
 *
 * A trie of B+trees over 8-byte key slices (Mao, Kohler, Morris, EuroSys
 * 2012). Readers are lockless (RCU + version validation), writers lock only
 * the nodes they change. See masstree/ for the design.
 */
#ifndef _LINUX_MASSTREE_H
#define _LINUX_MASSTREE_H

#include <linux/lockdep.h>
#include <linux/rcupdate.h>
#include <linux/types.h>

#ifndef CONFIG_64BIT
#error "masstree needs 64-bit version words and slices: 64-bit kernels only"
#endif

/**
 * struct masstree - an ordered map from byte strings to pointers.
 * @root: root node of the top layer; NULL while the map has no node.
 * @flags: MASSTREE_F_* flags given to masstree_init().
 * @dep_map: the lockdep class that every node lock of this map belongs to.
 *
 * Embed it anywhere and initialise it with DEFINE_MASSTREE() or
 * masstree_init(). The fields are private to masstree.
 */
struct masstree {
	void __rcu *root;
	unsigned int flags;
#ifdef CONFIG_DEBUG_LOCK_ALLOC
	struct lockdep_map dep_map;
#endif
};

#ifdef CONFIG_DEBUG_LOCK_ALLOC
/* The lockdep class of the node locks of every map defined statically. */
extern struct lock_class_key masstree_static_key;
#define __MASSTREE_DEP_MAP_INIT(lockname)				\
	.dep_map = STATIC_LOCKDEP_MAP_INIT(lockname, &masstree_static_key),
#else
#define __MASSTREE_DEP_MAP_INIT(lockname)
#endif

/**
 * MASSTREE_INIT() - initialiser of an empty map.
 * @lockname: a string naming the map for lockdep.
 */
#define MASSTREE_INIT(lockname)						\
	{ .root = NULL, .flags = 0, __MASSTREE_DEP_MAP_INIT(lockname) }

/**
 * DEFINE_MASSTREE() - define and initialise an empty map.
 * @name: the name of the struct masstree variable.
 *
 * Every map defined this way shares one lockdep class.
 */
#define DEFINE_MASSTREE(name) struct masstree name = MASSTREE_INIT("masstree:" #name)

void __masstree_init(struct masstree *mt, unsigned int flags,
		     const char *name, struct lock_class_key *key);

/**
 * masstree_init() - initialise an empty map.
 * @mt: the map.
 * @flags: MASSTREE_F_* flags; none are defined yet, pass 0.
 *
 * A macro so that every call site gets its own lockdep class for the
 * map's node locks, as mutex_init() does.
 *
 * Context: Any context.
 */
#define masstree_init(mt, flags)					\
do {									\
	static struct lock_class_key __masstree_key;			\
									\
	__masstree_init((mt), (flags), #mt, &__masstree_key);		\
} while (0)

void masstree_destroy(struct masstree *mt);

#endif /* _LINUX_MASSTREE_H */
