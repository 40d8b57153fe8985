/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The reference map of the differential tests: byte-string keys in
 * memcmp() order, a key before its extensions, each with an entry; and a
 * reference cursor with the states and bounds of struct masstree_cursor.
 * The KUnit suites and the userspace programs (tools/testing/tests) build this one
 * file, so it is plain C: static inline functions, no recursion, stack
 * use independent of the key lengths and of the map's size, and memory
 * from an allocator the caller names (kmalloc() in the kernel; malloc()
 * in userspace, where the core's counting allocator injects failures
 * that must not reach the reference).
 *
 * An indexable skip list: each node has 1 to REFMAP_LEVELS forward links,
 * one node in four of level l also has level l + 1, drawn from a
 * generator seeded alike in every map so that a run repeats. Each link
 * counts the keys it skips, so that the rank of a key and the key of a
 * rank cost O(log n) like a lookup. A backward link at level 0 serves
 * reverse steps. Each node keeps its first eight bytes as an integer, so
 * that most comparisons of a walk are one integer compare.
 *
 * A cursor pins the node it is on. A pinned node that is erased leaves
 * the lists but stays allocated, with its key, until its last cursor
 * moves on: the cursor resumes after that key, as masstree_cursor does
 * after a key erased while it paused.
 */
#ifndef _MASSTREE_KUNIT_REFMAP_H
#define _MASSTREE_KUNIT_REFMAP_H

#include <linux/errno.h>
#include <linux/masstree.h>
#include <linux/string.h>
#include <linux/types.h>

/* 4^16 keys before the top level fills: more than any test holds. */
#define REFMAP_LEVELS	16

struct refmap_node;

/**
 * struct refmap_link - a forward link.
 * @next: the next node at this level; NULL at the end.
 * @span: keys from this node (excluded) to @next (included), or to the
 *        end of the map where @next is NULL.
 */
struct refmap_link {
	struct refmap_node *next;
	unsigned long span;
};

/**
 * struct refmap_node - one key.
 * @entry: its entry.
 * @prev: the previous node at level 0; NULL for the first.
 * @key: its bytes, stored after @link.
 * @len: its length.
 * @head: its first eight bytes, big-endian, zero-padded: refmap_head().
 * @pins: cursors on it.
 * @erased: out of the map, kept for the cursors still on it.
 * @levels: entries of @link.
 * @link: its forward links, level 0 first.
 */
struct refmap_node {
	void *entry;
	struct refmap_node *prev;
	u8 *key;
	size_t len;
	u64 head;
	unsigned int pins;
	bool erased;
	u8 levels;
	struct refmap_link link[];
};

/**
 * struct refmap - the map.
 * @head: the links out of the head, one per level.
 * @last: the last node; NULL when empty.
 * @count: keys.
 * @level_seed: the state of the level generator.
 * @alloc: allocates memory, with @gfp.
 * @free: frees what @alloc gave.
 * @gfp: the flags for @alloc.
 */
struct refmap {
	struct refmap_link head[REFMAP_LEVELS];
	struct refmap_node *last;
	unsigned long count;
	u64 level_seed;
	void *(*alloc)(size_t size, gfp_t gfp);
	void (*free)(void *p);
	gfp_t gfp;
};

/* The one key order: bytewise, then shorter first. */
static inline int refmap_key_cmp(const void *a, size_t alen, const void *b,
				 size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;

	if (c)
		return c;
	return (alen > blen) - (alen < blen);
}

/* Keys whose heads differ compare as their heads do. */
static inline u64 refmap_head(const u8 *key, size_t len)
{
	u64 head = 0;
	size_t i;

	for (i = 0; i < 8; i++)
		head = head << 8 | (i < len ? key[i] : 0);
	return head;
}

static inline bool refmap_has_prefix(const struct refmap_node *x,
				     const void *p, size_t len)
{
	return x->len >= len && (!len || !memcmp(x->key, p, len));
}

static inline void refmap_init(struct refmap *m,
			       void *(*alloc)(size_t size, gfp_t gfp),
			       void (*free)(void *p), gfp_t gfp)
{
	memset(m, 0, sizeof(*m));
	m->level_seed = 0x726566u;
	m->alloc = alloc;
	m->free = free;
	m->gfp = gfp;
}

static inline unsigned long refmap_count(const struct refmap *m)
{
	return m->count;
}

static inline struct refmap_link *refmap_links(struct refmap *m,
					       struct refmap_node *x)
{
	return x ? x->link : m->head;
}

/* Which nodes a walk passes: those before the key, or up to it. */
enum refmap_walk {
	REFMAP_BEFORE,		/* key < the given key */
	REFMAP_UP_TO,		/* key <= the given key */
	REFMAP_UP_TO_PREFIX,	/* key < the given key, or starts with it */
};

static inline bool refmap_passes(const struct refmap_node *x, const u8 *key,
				 size_t len, u64 head, enum refmap_walk walk)
{
	int c;

	if (x->head != head && walk != REFMAP_UP_TO_PREFIX)
		return x->head < head;
	c = refmap_key_cmp(x->key, x->len, key, len);
	if (walk == REFMAP_UP_TO_PREFIX)
		return c < 0 || refmap_has_prefix(x, key, len);
	return walk == REFMAP_UP_TO ? c <= 0 : c < 0;
}

/*
 * The last node @walk passes (NULL: the head) and its rank, the number
 * of keys it passes; with @update, the last node passed at every level
 * and, with @rank, their ranks.
 */
static inline struct refmap_node *
refmap_descend(struct refmap *m, const u8 *key, size_t len,
	       enum refmap_walk walk, struct refmap_node **update,
	       unsigned long *rank, unsigned long *passed)
{
	struct refmap_node *x = NULL, *next, *seen = NULL;
	u64 head = refmap_head(key, len);
	unsigned long pos = 0;
	int l;

	for (l = REFMAP_LEVELS - 1; l >= 0; l--) {
		/* A node compared at the level above needs no new compare. */
		while ((next = refmap_links(m, x)[l].next) && next != seen &&
		       refmap_passes(next, key, len, head, walk)) {
			pos += refmap_links(m, x)[l].span;
			x = next;
		}
		seen = next;
		if (update)
			update[l] = x;
		if (rank)
			rank[l] = pos;
	}
	if (passed)
		*passed = pos;
	return x;
}

/* The first node whose key is >= (> if @strict) the given key, or NULL. */
static inline struct refmap_node *refmap_lower(struct refmap *m, const void *key,
					       size_t len, bool strict)
{
	struct refmap_node *x = refmap_descend(m, key, len,
					       strict ? REFMAP_UP_TO : REFMAP_BEFORE,
					       NULL, NULL, NULL);

	return refmap_links(m, x)[0].next;
}

/* The last node whose key is <= (< if @strict) the given key, or NULL. */
static inline struct refmap_node *refmap_upper(struct refmap *m, const void *key,
					       size_t len, bool strict)
{
	return refmap_descend(m, key, len, strict ? REFMAP_BEFORE : REFMAP_UP_TO,
			      NULL, NULL, NULL);
}

/* Keys < (<= if @strict) the given key: the rank refmap_lower() finds. */
static inline unsigned long refmap_rank(struct refmap *m, const void *key,
					size_t len, bool strict)
{
	unsigned long pos;

	refmap_descend(m, key, len, strict ? REFMAP_UP_TO : REFMAP_BEFORE, NULL,
		       NULL, &pos);
	return pos;
}

static inline struct refmap_node *refmap_find(struct refmap *m, const void *key,
					      size_t len)
{
	struct refmap_node *x = refmap_lower(m, key, len, false);

	return x && !refmap_key_cmp(x->key, x->len, key, len) ? x : NULL;
}

/* The entry of a key, or NULL. */
static inline void *refmap_get(struct refmap *m, const void *key, size_t len)
{
	struct refmap_node *x = refmap_find(m, key, len);

	return x ? x->entry : NULL;
}

static inline struct refmap_node *refmap_first(struct refmap *m)
{
	return m->head[0].next;
}

static inline struct refmap_node *refmap_last(struct refmap *m)
{
	return m->last;
}

/* Steps between keys; @x must be in the map. */
static inline struct refmap_node *refmap_next(const struct refmap_node *x)
{
	return x->link[0].next;
}

static inline struct refmap_node *refmap_prev(const struct refmap_node *x)
{
	return x->prev;
}

/* Key number @i (from 0) in key order, or NULL. */
static inline struct refmap_node *refmap_nth(struct refmap *m, unsigned long i)
{
	struct refmap_node *x = NULL, *next;
	unsigned long pos = 0;
	int l;

	if (i >= m->count)
		return NULL;
	for (l = REFMAP_LEVELS - 1; l >= 0; l--) {
		while ((next = refmap_links(m, x)[l].next) &&
		       pos + refmap_links(m, x)[l].span <= i + 1) {
			pos += refmap_links(m, x)[l].span;
			x = next;
		}
	}
	return x;
}

static inline void refmap_release(struct refmap *m, struct refmap_node *x)
{
	if (x->pins)
		x->erased = true;
	else
		m->free(x);
}

static inline int refmap_insert_node(struct refmap *m, const u8 *key, size_t len,
				     void *entry, struct refmap_node **update,
				     unsigned long *rank)
{
	struct refmap_link *up;
	struct refmap_node *x;
	u64 r = m->level_seed;
	int levels = 1, l;

	/* xorshift64: one in four nodes of a level reaches the next. */
	r ^= r << 13;
	r ^= r >> 7;
	r ^= r << 17;
	m->level_seed = r;
	while (levels < REFMAP_LEVELS && !(r & 3)) {
		levels++;
		r >>= 2;
	}
	x = m->alloc(sizeof(*x) + levels * sizeof(x->link[0]) + len, m->gfp);
	if (!x)
		return -ENOMEM;
	x->entry = entry;
	x->key = (u8 *)&x->link[levels];
	memcpy(x->key, key, len);
	x->len = len;
	x->head = refmap_head(key, len);
	x->pins = 0;
	x->erased = false;
	x->levels = levels;
	for (l = 0; l < REFMAP_LEVELS; l++) {
		up = refmap_links(m, update[l]);
		if (l >= levels) {
			up[l].span++;
			continue;
		}
		x->link[l].next = up[l].next;
		x->link[l].span = up[l].span - (rank[0] - rank[l]);
		up[l].next = x;
		up[l].span = rank[0] - rank[l] + 1;
	}
	x->prev = update[0];
	if (x->link[0].next)
		x->link[0].next->prev = x;
	else
		m->last = x;
	m->count++;
	return 0;
}

static inline void refmap_erase_node(struct refmap *m, struct refmap_node *x,
				     struct refmap_node **update)
{
	struct refmap_link *up;
	int l;

	for (l = 0; l < REFMAP_LEVELS; l++) {
		up = refmap_links(m, update[l]);
		if (up[l].next == x) {
			up[l].span += x->link[l].span - 1;
			up[l].next = x->link[l].next;
		} else {
			up[l].span--;
		}
	}
	if (x->link[0].next)
		x->link[0].next->prev = x->prev;
	else
		m->last = x->prev;
	m->count--;
	refmap_release(m, x);
}

/*
 * Set a key's entry; NULL erases it. Return: 0, or -ENOMEM (the map is
 * unchanged).
 */
static inline int refmap_set(struct refmap *m, const void *key, size_t len,
			     void *entry)
{
	struct refmap_node *update[REFMAP_LEVELS], *x;
	unsigned long rank[REFMAP_LEVELS];

	x = refmap_descend(m, key, len, REFMAP_BEFORE, update, rank, NULL);
	x = refmap_links(m, x)[0].next;
	if (x && !refmap_key_cmp(x->key, x->len, key, len)) {
		if (entry)
			x->entry = entry;
		else
			refmap_erase_node(m, x, update);
		return 0;
	}
	return entry ? refmap_insert_node(m, key, len, entry, update, rank) : 0;
}

/* Erase every key. */
static inline void refmap_clear(struct refmap *m)
{
	struct refmap_node *x = m->head[0].next, *next;
	int l;

	while (x) {
		next = x->link[0].next;
		refmap_release(m, x);
		x = next;
	}
	for (l = 0; l < REFMAP_LEVELS; l++) {
		m->head[l].next = NULL;
		m->head[l].span = 0;
	}
	m->last = NULL;
	m->count = 0;
}

enum refmap_cursor_state {
	REFMAP_CURSOR_NONE,	/* initialised, or reset */
	REFMAP_CURSOR_VALID,	/* on @node */
	REFMAP_CURSOR_END,	/* past the end, or outside its bound */
	REFMAP_CURSOR_FAILED,	/* the cursor it mirrors failed */
};

enum refmap_bound {
	REFMAP_BOUND_NONE,
	REFMAP_BOUND_KEY,	/* an end key, inclusive or not */
	REFMAP_BOUND_PREFIX,	/* keys that start with the bound */
};

/**
 * struct refmap_cursor - what struct masstree_cursor should return.
 * @map: the map.
 * @node: the node it is on (pinned) while VALID.
 * @state: enum refmap_cursor_state.
 * @bound: enum refmap_bound: where its iteration stops.
 * @bound_rev: the bound holds for reverse steps (else forward ones).
 * @bound_excl: a key bound excludes the end key.
 * @end: the bound's bytes, the caller's: they must outlive the iteration,
 *       as masstree_cursor's must.
 * @end_len: their length.
 */
struct refmap_cursor {
	struct refmap *map;
	struct refmap_node *node;
	int state;
	int bound;
	bool bound_rev;
	bool bound_excl;
	const u8 *end;
	size_t end_len;
};

static inline void refmap_cursor_init(struct refmap_cursor *c, struct refmap *m)
{
	memset(c, 0, sizeof(*c));
	c->map = m;
	c->state = REFMAP_CURSOR_NONE;
}

static inline void refmap_cursor_unpin(struct refmap_cursor *c)
{
	struct refmap_node *x = c->node;

	c->node = NULL;
	if (x && !--x->pins && x->erased)
		c->map->free(x);
}

/* Back to NONE, as a masstree cursor freshly initialised. */
static inline void refmap_cursor_reset(struct refmap_cursor *c)
{
	refmap_cursor_unpin(c);
	c->state = REFMAP_CURSOR_NONE;
}

/* The cursor it mirrors failed: it stays failed. */
static inline void refmap_cursor_fail(struct refmap_cursor *c)
{
	refmap_cursor_unpin(c);
	c->state = REFMAP_CURSOR_FAILED;
}

static inline void refmap_cursor_fini(struct refmap_cursor *c)
{
	refmap_cursor_unpin(c);
}

static inline bool refmap_cursor_out(const struct refmap_cursor *c,
				     const struct refmap_node *x, bool rev)
{
	int cmp;

	if (c->bound == REFMAP_BOUND_NONE || c->bound_rev != rev)
		return false;
	if (c->bound == REFMAP_BOUND_PREFIX)
		return !refmap_has_prefix(x, c->end, c->end_len);
	cmp = refmap_key_cmp(x->key, x->len, c->end, c->end_len);
	if (rev)
		return c->bound_excl ? cmp <= 0 : cmp < 0;
	return c->bound_excl ? cmp >= 0 : cmp > 0;
}

/* Land on @x (NULL: nothing left) going @rev; return it or NULL. */
static inline struct refmap_node *refmap_cursor_land(struct refmap_cursor *c,
						     struct refmap_node *x,
						     bool rev)
{
	if (!x || refmap_cursor_out(c, x, rev)) {
		refmap_cursor_unpin(c);
		c->state = REFMAP_CURSOR_END;
		return NULL;
	}
	x->pins++;
	refmap_cursor_unpin(c);
	c->node = x;
	c->state = REFMAP_CURSOR_VALID;
	return x;
}

/*
 * masstree_seek_range() with MASSTREE_SCAN_* @flags, which also
 * describes masstree_scan(), masstree_seek(), masstree_first() and the
 * range loops. Return: the node the cursor lands on, or NULL.
 */
static inline struct refmap_node *
refmap_cursor_seek_range(struct refmap_cursor *c, const void *start,
			 size_t start_len, const void *end, size_t end_len,
			 unsigned int flags)
{
	bool rev = flags & MASSTREE_SCAN_REVERSE;
	bool excl = flags & MASSTREE_SCAN_START_EXCL;
	struct refmap *m = c->map;
	struct refmap_node *x;

	c->bound = REFMAP_BOUND_NONE;
	if (!(flags & MASSTREE_SCAN_NO_END)) {
		c->bound = REFMAP_BOUND_KEY;
		c->bound_rev = rev;
		c->bound_excl = flags & MASSTREE_SCAN_END_EXCL;
		c->end = end;
		c->end_len = end_len;
	}
	if (flags & MASSTREE_SCAN_NO_START)
		x = rev ? refmap_last(m) : refmap_first(m);
	else if (rev)
		x = refmap_upper(m, start, start_len, excl);
	else
		x = refmap_lower(m, start, start_len, excl);
	return refmap_cursor_land(c, x, rev);
}

/* masstree_seek_prefix(): the first (@rev: last) key starting with @p. */
static inline struct refmap_node *
refmap_cursor_seek_prefix(struct refmap_cursor *c, const void *p, size_t len,
			  bool rev)
{
	struct refmap *m = c->map;
	struct refmap_node *x;

	c->bound = REFMAP_BOUND_PREFIX;
	c->bound_rev = rev;
	c->end = p;
	c->end_len = len;
	if (rev)
		x = refmap_descend(m, p, len, REFMAP_UP_TO_PREFIX, NULL, NULL, NULL);
	else
		x = refmap_lower(m, p, len, false);
	return refmap_cursor_land(c, x, rev);
}

/*
 * masstree_next() (@rev: masstree_prev()): from the key the cursor
 * returned last, even if it was erased since; from the first (last) key
 * without a bound after a reset; nothing once at the end or failed.
 */
static inline struct refmap_node *refmap_cursor_step(struct refmap_cursor *c,
						     bool rev)
{
	struct refmap *m = c->map;
	struct refmap_node *x = c->node;

	if (c->state == REFMAP_CURSOR_NONE) {
		c->bound = REFMAP_BOUND_NONE;
		return refmap_cursor_land(c, rev ? refmap_last(m) : refmap_first(m),
					  rev);
	}
	if (c->state != REFMAP_CURSOR_VALID)
		return NULL;
	if (!x->erased)
		x = rev ? refmap_prev(x) : refmap_next(x);
	else if (rev)
		x = refmap_upper(m, x->key, x->len, true);
	else
		x = refmap_lower(m, x->key, x->len, true);
	return refmap_cursor_land(c, x, rev);
}

#endif /* _MASSTREE_KUNIT_REFMAP_H */
