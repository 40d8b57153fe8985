/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Masstree: a concurrent ordered map with variable-length byte keys.
 *
 * A trie of B+trees over 8-byte key slices (Mao, Kohler, Morris, EuroSys
 * 2012). Readers are lockless (RCU + version validation), writers lock only
 * the nodes they change. See masstree/walk.c for the design.
 */
#ifndef _LINUX_MASSTREE_H
#define _LINUX_MASSTREE_H

#include <linux/atomic.h>
#include <linux/gfp.h>
#include <linux/lockdep.h>
#include <linux/rcupdate.h>
#include <linux/types.h>

/*
 * Version words hold flag bits and two counters in one 64-bit word and a
 * slice is a u64 compared in one instruction: 64-bit kernels only.
 */
#ifndef CONFIG_64BIT
#error "masstree needs 64-bit version words and slices: 64-bit kernels only"
#endif

/* Longest key: lengths are kept in 16 bits. */
#define MASSTREE_MAX_KEY_LEN	65535

/**
 * struct masstree - an ordered map from byte strings to pointers.
 * @root: root node of the top layer; NULL while the map is empty.
 * @flags: MASSTREE_F_* flags given to masstree_init().
 * @nr_keys: number of keys.
 * @nr_leaves: number of leaves, all layers.
 * @nr_internodes: number of internodes, all layers.
 * @nr_layers: number of layers (0 for an empty map).
 * @nr_suffix_bytes: bytes held in out-of-line key suffixes.
 * @dep_map: lockdep class of a writer's locking phase; the nest lock of
 *	the node locks.
 * @node_map: lockdep class of the map's node locks.
 *
 * Embed it anywhere and initialise it with DEFINE_MASSTREE() or
 * masstree_init(). The fields are private to masstree; read the
 * statistics with masstree_get_stats().
 */
struct masstree {
	void __rcu *root;
	unsigned int flags;
	atomic_long_t nr_keys;
	atomic_long_t nr_leaves;
	atomic_long_t nr_internodes;
	atomic_long_t nr_layers;
	atomic_long_t nr_suffix_bytes;
#ifdef CONFIG_DEBUG_LOCK_ALLOC
	struct lockdep_map dep_map;
	struct lockdep_map node_map;
#endif
};

#ifdef CONFIG_DEBUG_LOCK_ALLOC
/* The lockdep key of every map defined with DEFINE_MASSTREE(). */
extern struct lock_class_key masstree_static_key;
#define __MASSTREE_DEP_MAP_INIT(lockname)				\
	.dep_map = STATIC_LOCKDEP_MAP_INIT(lockname, &masstree_static_key), \
	.node_map = STATIC_LOCKDEP_MAP_INIT("masstree_node", &masstree_static_key),
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
 * Every map defined this way shares one lockdep key (node locks are a
 * subclass of it, as for masstree_init()).
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

/*
 * Entries and errors. An entry is any pointer except NULL and the reserved
 * values: those whose two low bits are 0b10, as XArray's internal entries.
 * Storing a reserved value fails with -EINVAL. Functions returning an entry
 * report errors in that reserved space: test with masstree_is_err() and
 * decode with masstree_err(), as with xa_is_err() and xa_err().
 */

/**
 * masstree_is_reserved() - is this value reserved (not storable)?
 * @entry: the value.
 *
 * Return: true if @entry cannot be stored in a map.
 */
static inline bool masstree_is_reserved(const void *entry)
{
	return ((unsigned long)entry & 3) == 2;
}

/**
 * masstree_mk_err() - encode a negative errno as a reserved entry.
 * @err: -errno.
 *
 * Return: the encoded error.
 */
static inline void *masstree_mk_err(long err)
{
	return (void *)(((unsigned long)err << 2) | 2);
}

/**
 * masstree_is_err() - does an entry returned by masstree encode an error?
 * @entry: the value returned by masstree_store() or masstree_cmpxchg().
 *
 * Return: true if @entry is an error.
 */
static inline bool masstree_is_err(const void *entry)
{
	return unlikely(masstree_is_reserved(entry) &&
			(unsigned long)entry >=
			(unsigned long)masstree_mk_err(-MAX_ERRNO));
}

/**
 * masstree_err() - the errno encoded in an entry.
 * @entry: the value returned by masstree_store() or masstree_cmpxchg().
 *
 * Return: -errno if @entry is an error, else 0.
 */
static inline int masstree_err(const void *entry)
{
	if (masstree_is_err(entry))
		return (long)entry >> 2;
	return 0;
}

void *masstree_load(struct masstree *mt, const void *key, size_t len);
void *__masstree_load(struct masstree *mt, const void *key, size_t len);
int masstree_insert(struct masstree *mt, const void *key, size_t len,
		    void *entry, gfp_t gfp);
void *masstree_store(struct masstree *mt, const void *key, size_t len,
		     void *entry, gfp_t gfp);
void *masstree_cmpxchg(struct masstree *mt, const void *key, size_t len,
		       void *old, void *entry, gfp_t gfp);
void *masstree_erase(struct masstree *mt, const void *key, size_t len);
void masstree_destroy(struct masstree *mt);

int masstree_preload(gfp_t gfp);
void masstree_preload_end(void);

/**
 * struct masstree_stats - a map's shape, for debugfs and tests.
 * @keys: keys stored.
 * @leaves: leaves, all layers.
 * @internodes: internodes, all layers.
 * @layers: layers (B+trees); 0 for an empty map.
 * @height: height of the top layer's B+tree (1: a single leaf; 0: empty).
 * @bytes: memory held by nodes and key suffixes.
 */
struct masstree_stats {
	unsigned long keys;
	unsigned long leaves;
	unsigned long internodes;
	unsigned long layers;
	unsigned long height;
	unsigned long bytes;
};

void masstree_get_stats(struct masstree *mt, struct masstree_stats *stats);
int masstree_validate(struct masstree *mt);

/**
 * enum masstree_test_counter - races the concurrency tests assert happened.
 * @MASSTREE_TC_READ_RETRY: a reader's version recheck failed.
 * @MASSTREE_TC_BLINK: a reader or writer followed a leaf's B-link.
 * @MASSTREE_TC_SPLIT_RECHECK: a writer found, after locking, that a split
 *	had moved its key or node (wrong leaf, stale parent).
 * @MASSTREE_TC_LAYER_RETRY: a walk met a deleted layer and restarted.
 * @MASSTREE_TC_NR: number of counters.
 */
enum masstree_test_counter {
	MASSTREE_TC_READ_RETRY,
	MASSTREE_TC_BLINK,
	MASSTREE_TC_SPLIT_RECHECK,
	MASSTREE_TC_LAYER_RETRY,
	MASSTREE_TC_NR,
};

/**
 * enum masstree_test_hook_point - where the test hook is called.
 * @MASSTREE_HOOK_READ: in a reader's validation window.
 * @MASSTREE_HOOK_SPLIT: after a leaf split, before the parent learns of it.
 */
enum masstree_test_hook_point {
	MASSTREE_HOOK_READ,
	MASSTREE_HOOK_SPLIT,
};

#if IS_ENABLED(CONFIG_KUNIT) || defined(MASSTREE_TEST_COUNTERS)
#define MASSTREE_HAVE_TEST_COUNTERS 1
unsigned long masstree_test_counter(enum masstree_test_counter which);
/*
 * Called, if set, at each hook point; it must not sleep (node locks may be
 * held with interrupts off).
 */
extern void (*masstree_test_hook)(enum masstree_test_hook_point where);
#endif

#endif /* _LINUX_MASSTREE_H */
