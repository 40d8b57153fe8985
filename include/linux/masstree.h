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

/* The limits and flags that /dev/masstree shares are defined there once. */
#include <uapi/linux/masstree.h>

/*
 * Version words hold flag bits and two counters in one 64-bit word and a
 * slice is a u64 compared in one instruction: 64-bit kernels only.
 */
#ifndef CONFIG_64BIT
#error "masstree needs 64-bit version words and slices: 64-bit kernels only"
#endif

/* Longest key: lengths are kept in 16 bits. */
#define MASSTREE_MAX_KEY_LEN	MASSTREE_KEY_MAX

struct masstree_pcpu_stats;

/* Number of statistics counters of a map (private to masstree). */
#define __MASSTREE_NR_STATS	5

/**
 * struct masstree - an ordered map from byte strings to pointers.
 * @root: root node of the top layer; NULL while the map is empty.
 * @flags: MASSTREE_F_* flags given to masstree_init().
 * @suffix_hint: whether the last new key longer than a slice needed a
 *	suffix buffer; if so the next such insert takes one before it walks.
 * @pcpu: per-CPU statistics counters (keys, leaves, internodes, layers,
 *	suffix bytes), allocated by the first insert so that writers on
 *	different CPUs never share a counter's cache line, nor dirty the
 *	line that holds @root; NULL until then or if that allocation failed.
 * @stat: the counters' shared part: what writers counted while @pcpu was
 *	NULL. A counter is its shared part plus its per-CPU parts.
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
	bool suffix_hint;
	struct masstree_pcpu_stats __percpu *pcpu;
	atomic_long_t stat[__MASSTREE_NR_STATS];
#ifdef CONFIG_DEBUG_LOCK_ALLOC
	struct lockdep_map dep_map;
	struct lockdep_map node_map;
#endif
};

#ifdef CONFIG_DEBUG_LOCK_ALLOC
/*
 * The lockdep key of every map defined with DEFINE_MASSTREE(). lockdep
 * insists on one name per key (the same pointer), so they share the name
 * too, from masstree.ko.
 */
extern struct lock_class_key masstree_static_key;
extern char masstree_static_name[];
#define __MASSTREE_DEP_MAP_INIT						\
	.dep_map = STATIC_LOCKDEP_MAP_INIT(masstree_static_name, &masstree_static_key), \
	.node_map = STATIC_LOCKDEP_MAP_INIT(masstree_static_name, &masstree_static_key),
#else
#define __MASSTREE_DEP_MAP_INIT
#endif

/**
 * MASSTREE_INIT() - initialiser of an empty map.
 *
 * Every map initialised this way shares one lockdep class (node locks
 * are a subclass of it, as for masstree_init()).
 */
#define MASSTREE_INIT()							\
	{ .root = NULL, .flags = 0, __MASSTREE_DEP_MAP_INIT }

/**
 * DEFINE_MASSTREE() - define and initialise an empty map.
 * @name: the name of the struct masstree variable.
 *
 * See MASSTREE_INIT(). A map that needs a lockdep class of its own (one
 * map's writers calling into another's) uses masstree_init().
 */
#define DEFINE_MASSTREE(name) struct masstree name = MASSTREE_INIT()

void __masstree_init(struct masstree *mt, unsigned int flags,
		     const char *name, struct lock_class_key *key);

/**
 * masstree_init() - initialise an empty map.
 * @mt: the map.
 * @flags: none are defined yet: pass 0.
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
 * @bytes: memory held by nodes, key suffixes and spans (slab objects).
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
unsigned long masstree_bytes(struct masstree *mt);
unsigned long masstree_insert_bytes_max(struct masstree *mt, size_t len);

struct seq_file;
void masstree_dump(struct masstree *mt, struct seq_file *sf,
		   unsigned int max_nodes);

/*
 * Ordered iteration (masstree/cursor.c). A scan returns each key that was
 * present, with the entry returned, at some moment during the scan; keys
 * come strictly increasing (decreasing in reverse), never twice, whatever
 * writers do meanwhile (splits, erases, layers appearing or emptying); a
 * key present for the whole scan is never skipped. It is not an atomic
 * snapshot: a key inserted or erased during the scan may or may not be
 * seen.
 */

/*
 * Flags of masstree_scan() and masstree_seek_range(), with the values of
 * the SCAN ioctl's: REVERSE, decreasing order; START_EXCL, skip a key
 * equal to start; END_EXCL, stop before a key equal to end; NO_START,
 * begin at the first (last) key; NO_END, run to the last (first) key.
 */
#define MASSTREE_SCAN_REVERSE		((unsigned int)MASSTREE_IOC_SCAN_REVERSE)
#define MASSTREE_SCAN_START_EXCL	((unsigned int)MASSTREE_IOC_SCAN_START_EXCL)
#define MASSTREE_SCAN_END_EXCL		((unsigned int)MASSTREE_IOC_SCAN_END_EXCL)
#define MASSTREE_SCAN_NO_START		((unsigned int)MASSTREE_IOC_SCAN_NO_START)
#define MASSTREE_SCAN_NO_END		((unsigned int)MASSTREE_IOC_SCAN_NO_END)

/* Bytes of key a cursor holds without allocating. */
#define MASSTREE_CURSOR_INLINE	48

/**
 * struct masstree_cursor - a position in a map's key order.
 * @mt: the map.
 * @key: the current key's bytes: the cursor's own buffer (NULL until the
 *	first call: then @ibuf), valid until the next call on the cursor;
 *	read with masstree_cursor_key().
 * @len: the current key's length; read with masstree_cursor_len().
 * @entry: the current key's entry (NULL when there is none).
 * @err: 0, or the error that ended the iteration (-ENOMEM when the key
 *	buffer could not grow, -EINVAL for a key longer than
 *	%MASSTREE_MAX_KEY_LEN); check it after a masstree_for_each*() loop.
 * @gfp: allocation flags for growing @key.
 * @cap: size of the buffer at @key.
 * @state: private: no position yet, at a key, past the end, or failed.
 * @bound: private: what ends the iteration (none, a key, a prefix).
 * @bound_rev: private: the direction the bound applies to.
 * @bound_excl: private: the bound key itself is excluded.
 * @t_strict: private: the search target itself is excluded.
 * @t_cls: private: length class of the target in layer @t_off.
 * @t_off: private: the target is @key[0..@t_off) then (@t_slice, @t_cls).
 * @t_slice: private: the target's slice in layer @t_off.
 * @need: private: buffer size a step asked for.
 * @end: private: the bound key or prefix (the caller's memory).
 * @end_len: private: its length.
 * @ibuf: private: the inline key buffer.
 *
 * Set it up with masstree_cursor_init() or MASSTREE_CURSOR() and release
 * it with masstree_cursor_fini(). A cursor holds no lock and no RCU
 * reference between calls: each call takes the RCU read lock for itself
 * and continues from the key bytes it returned last, wherever the tree
 * moved meanwhile.
 */
struct masstree_cursor {
	struct masstree *mt;
	u8 *key;
	size_t len;
	void *entry;
	int err;
	gfp_t gfp;
	u32 cap;
	u8 state;
	u8 bound;
	bool bound_rev;
	bool bound_excl;
	bool t_strict;
	u8 t_cls;
	u32 t_off;
	u64 t_slice;
	u32 need;
	const u8 *end;
	size_t end_len;
	u8 ibuf[MASSTREE_CURSOR_INLINE];
};

/**
 * MASSTREE_CURSOR() - define a cursor on @map that allocates with GFP_KERNEL.
 * @name: the variable.
 * @map: the map.
 *
 * Release it with masstree_cursor_fini().
 */
#define MASSTREE_CURSOR(name, map)					\
	struct masstree_cursor name = {					\
		.mt = (map), .gfp = GFP_KERNEL,				\
	}

void masstree_cursor_init(struct masstree_cursor *cur, struct masstree *mt,
			  gfp_t gfp);
void masstree_cursor_fini(struct masstree_cursor *cur);
void *masstree_seek_range(struct masstree_cursor *cur, const void *start,
			  size_t start_len, const void *end, size_t end_len,
			  unsigned int flags);
void *masstree_seek(struct masstree_cursor *cur, const void *key,
		    size_t len);
void *masstree_seek_rev(struct masstree_cursor *cur, const void *key,
			size_t len);
void *masstree_seek_prefix(struct masstree_cursor *cur, const void *prefix,
			   size_t len, unsigned int flags);
void *masstree_first(struct masstree_cursor *cur);
void *masstree_last(struct masstree_cursor *cur);
void *masstree_next(struct masstree_cursor *cur);
void *masstree_prev(struct masstree_cursor *cur);

/**
 * masstree_cursor_key() - the bytes of the cursor's current key.
 * @cur: the cursor.
 *
 * Context: Any context.
 * Return: the cursor's buffer; valid until the next call on @cur.
 */
static inline const u8 *masstree_cursor_key(const struct masstree_cursor *cur)
{
	return cur->key;
}

/**
 * masstree_cursor_len() - the length of the cursor's current key.
 * @cur: the cursor.
 *
 * Context: Any context.
 * Return: the length in bytes.
 */
static inline size_t masstree_cursor_len(const struct masstree_cursor *cur)
{
	return cur->len;
}

/**
 * masstree_cursor_pause() - let the caller sleep between steps.
 * @cur: the cursor.
 *
 * Nothing to do: a cursor never holds the RCU read lock or a node between
 * calls. The caller may sleep, allocate or take locks, then go on with
 * masstree_next() or masstree_prev(), which continue after (before) the
 * last key returned even if it was erased meanwhile. Provided so that
 * callers say what they mean.
 *
 * Context: Any context.
 */
static inline void masstree_cursor_pause(struct masstree_cursor *cur)
{
}

/**
 * masstree_cursor_resume() - go on after masstree_cursor_pause().
 * @cur: the cursor.
 *
 * Context: Any context.
 */
static inline void masstree_cursor_resume(struct masstree_cursor *cur)
{
}

/* How a masstree_for_each*() loop starts and goes on. */
#define MASSTREE_ITER_FIRST	0	/* masstree_first(), masstree_next() */
#define MASSTREE_ITER_LAST	1	/* masstree_last(), masstree_prev() */
#define MASSTREE_ITER_RANGE	2	/* masstree_seek_range(), masstree_next() */
#define MASSTREE_ITER_RANGE_REV	3	/* masstree_seek_range(), masstree_prev() */
#define MASSTREE_ITER_PREFIX	4	/* masstree_seek_prefix(), masstree_next() */

/**
 * struct masstree_iter - the state of a masstree_for_each*() loop.
 * @mt: the map.
 * @cur: the caller's cursor.
 * @entry: where each entry is stored: the caller's variable.
 * @from: where the loop starts (a key or prefix), or NULL.
 * @from_len: its length.
 * @to: where the loop ends, or NULL.
 * @to_len: its length.
 * @mode: MASSTREE_ITER_*.
 * @started: the first step was taken.
 *
 * Private to the macros: it lets them name each argument exactly once.
 */
struct masstree_iter {
	struct masstree *mt;
	struct masstree_cursor *cur;
	void **entry;
	const void *from;
	size_t from_len;
	const void *to;
	size_t to_len;
	u8 mode;
	bool started;
};

/*
 * The iterator of a loop; @var is the caller's pointer variable, of any
 * pointer type (the kernel builds with -fno-strict-aliasing).
 */
#define MASSTREE_ITER_INIT(map, cursor, var, a, alen, b, blen, how)	\
	{								\
		.mt = (map), .cur = (cursor), .entry = (void **)&(var), \
		.from = (a), .from_len = (alen), .to = (b), .to_len = (blen), \
		.mode = (how), .started = false,			\
	}

/**
 * masstree_iter_step() - take one step of a masstree_for_each*() loop.
 * @it: the loop's iterator.
 *
 * The first call positions the cursor (first key, last key, start of the
 * range or of the prefix), later calls move it with masstree_next() or
 * masstree_prev(). Stores the entry, or NULL at the end, in the caller's
 * variable.
 *
 * Context: As masstree_next().
 * Return: true while there is an entry, false at the end or on error
 * (check @it->cur->err).
 */
static inline bool masstree_iter_step(struct masstree_iter *it)
{
	struct masstree_cursor *cur = it->cur;
	void *entry;

	if (!it->started) {
		it->started = true;
		cur->mt = it->mt;
		switch (it->mode) {
		case MASSTREE_ITER_FIRST:
			entry = masstree_first(cur);
			break;
		case MASSTREE_ITER_LAST:
			entry = masstree_last(cur);
			break;
		case MASSTREE_ITER_RANGE:
			entry = masstree_seek_range(cur, it->from, it->from_len,
						    it->to, it->to_len, 0);
			break;
		case MASSTREE_ITER_RANGE_REV:
			entry = masstree_seek_range(cur, it->from, it->from_len,
						    it->to, it->to_len,
						    MASSTREE_SCAN_REVERSE);
			break;
		default:
			entry = masstree_seek_prefix(cur, it->from, it->from_len, 0);
			break;
		}
	} else if (it->mode == MASSTREE_ITER_LAST ||
		   it->mode == MASSTREE_ITER_RANGE_REV) {
		entry = masstree_prev(cur);
	} else {
		entry = masstree_next(cur);
	}
	*it->entry = entry;
	return entry;
}

/**
 * masstree_for_each_range() - iterate over keys in [@start, @end].
 * @map: the map.
 * @cur: an initialised &struct masstree_cursor.
 * @entry: a pointer variable set to each entry; the key is in @cur.
 * @start: first key of the range.
 * @start_len: its length.
 * @end: last key of the range; must stay valid during the loop.
 * @end_len: its length.
 *
 * Each argument is evaluated once. Modifying the map during the loop is
 * safe; see the semantics above struct masstree_cursor. The loop also ends
 * on an error: check @cur->err. @entry is NULL after a loop that ran to
 * its end.
 */
#define masstree_for_each_range(map, cur, entry, start, start_len, end, end_len) \
	for (struct masstree_iter __mt_it =				\
		MASSTREE_ITER_INIT(map, cur, entry, start, start_len,	\
				   end, end_len, MASSTREE_ITER_RANGE);	\
	     masstree_iter_step(&__mt_it);)

/**
 * masstree_for_each_range_rev() - iterate over keys in [@start, @end],
 *	from @end down to @start.
 * @map: the map.
 * @cur: an initialised &struct masstree_cursor.
 * @entry: a pointer variable set to each entry; the key is in @cur.
 * @start: lowest key of the range; must stay valid during the loop.
 * @start_len: its length.
 * @end: highest key of the range.
 * @end_len: its length.
 *
 * Each argument is evaluated once (@end before @start). The loop also ends
 * on an error: check @cur->err.
 */
#define masstree_for_each_range_rev(map, cur, entry, start, start_len, end, end_len) \
	for (struct masstree_iter __mt_it =				\
		MASSTREE_ITER_INIT(map, cur, entry, end, end_len,	\
				   start, start_len, MASSTREE_ITER_RANGE_REV); \
	     masstree_iter_step(&__mt_it);)

/**
 * masstree_for_each() - iterate over every key in increasing order.
 * @map: the map.
 * @cur: an initialised &struct masstree_cursor.
 * @entry: a pointer variable set to each entry.
 *
 * Each argument is evaluated once. The loop also ends on an error: check
 * @cur->err.
 */
#define masstree_for_each(map, cur, entry)				\
	for (struct masstree_iter __mt_it =				\
		MASSTREE_ITER_INIT(map, cur, entry, NULL, 0, NULL, 0,	\
				   MASSTREE_ITER_FIRST);		\
	     masstree_iter_step(&__mt_it);)

/**
 * masstree_for_each_rev() - iterate over every key in decreasing order.
 * @map: the map.
 * @cur: an initialised &struct masstree_cursor.
 * @entry: a pointer variable set to each entry.
 *
 * Each argument is evaluated once. The loop also ends on an error: check
 * @cur->err.
 */
#define masstree_for_each_rev(map, cur, entry)				\
	for (struct masstree_iter __mt_it =				\
		MASSTREE_ITER_INIT(map, cur, entry, NULL, 0, NULL, 0,	\
				   MASSTREE_ITER_LAST);			\
	     masstree_iter_step(&__mt_it);)

/**
 * masstree_for_each_prefix() - iterate over the keys starting with @prefix.
 * @map: the map.
 * @cur: an initialised &struct masstree_cursor.
 * @entry: a pointer variable set to each entry.
 * @prefix: the prefix; must stay valid during the loop.
 * @len: its length (0: every key).
 *
 * Each argument is evaluated once. The loop also ends on an error: check
 * @cur->err.
 */
#define masstree_for_each_prefix(map, cur, entry, prefix, len)		\
	for (struct masstree_iter __mt_it =				\
		MASSTREE_ITER_INIT(map, cur, entry, prefix, len, NULL, 0, \
				   MASSTREE_ITER_PREFIX);		\
	     masstree_iter_step(&__mt_it);)

/**
 * typedef masstree_scan_fn - called by masstree_scan() for each key.
 * @key: the key's bytes (valid during the call only).
 * @len: its length.
 * @entry: its entry.
 * @arg: masstree_scan()'s @arg.
 *
 * Runs under the RCU read lock: must not sleep. Return 0 to go on, any
 * other value to stop the scan with it.
 */
typedef int (*masstree_scan_fn)(const void *key, size_t len, void *entry,
				void *arg);

int masstree_scan(struct masstree *mt, const void *start, size_t start_len,
		  const void *end, size_t end_len, unsigned int flags,
		  masstree_scan_fn fn, void *arg);

#endif /* _LINUX_MASSTREE_H */
