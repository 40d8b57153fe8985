// SPDX-License-Identifier: GPL-2.0
/*
 * The rbtree under test, as kernel code keys one by byte strings: nodes
 * with the key inline, compared with memcmp(), the whole tree behind one
 * lock. Two locks: an rwlock (readers share it) and a spinlock. A writer
 * allocates its node before it takes the lock and frees outside it.
 */
#include <linux/minmax.h>
#include <linux/overflow.h>
#include <linux/rbtree.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include "bench.h"

struct mb_rbnode {
	struct rb_node rb;
	void *entry;
	unsigned int len;
	u8 key[];
};

/**
 * struct mb_rbmap - an rbtree map.
 * @root: the tree.
 * @rw: its lock when @spin is false.
 * @sl: its lock when @spin is true.
 * @spin: which of the two locks.
 * @nr: number of keys, under the lock.
 */
struct mb_rbmap {
	struct rb_root root;
	rwlock_t rw;
	spinlock_t sl;	/* or this one */
	bool spin;
	unsigned long nr;
};

static struct mb_rbmap *to_rb(struct mb_map *m)
{
	return (struct mb_rbmap *)m;
}

static void mb_rb_read_lock(struct mb_rbmap *m)
	__acquires(m)
{
	if (m->spin)
		spin_lock(&m->sl);
	else
		read_lock(&m->rw);
}

static void mb_rb_read_unlock(struct mb_rbmap *m)
	__releases(m)
{
	if (m->spin)
		spin_unlock(&m->sl);
	else
		read_unlock(&m->rw);
}

static void mb_rb_write_lock(struct mb_rbmap *m)
	__acquires(m)
{
	if (m->spin)
		spin_lock(&m->sl);
	else
		write_lock(&m->rw);
}

static void mb_rb_write_unlock(struct mb_rbmap *m)
	__releases(m)
{
	if (m->spin)
		spin_unlock(&m->sl);
	else
		write_unlock(&m->rw);
}

static int mb_rb_cmp(const u8 *key, unsigned int len,
		     const struct mb_rbnode *n)
{
	int r = memcmp(key, n->key, min(len, n->len));

	if (r)
		return r;
	return len < n->len ? -1 : len > n->len;
}

/* The node of @key, or NULL; under the lock. */
static struct mb_rbnode *mb_rb_find(struct mb_rbmap *m, const u8 *key,
				    unsigned int len)
{
	struct rb_node *p = m->root.rb_node;

	while (p) {
		struct mb_rbnode *n = rb_entry(p, struct mb_rbnode, rb);
		int r = mb_rb_cmp(key, len, n);

		if (!r)
			return n;
		p = r < 0 ? p->rb_left : p->rb_right;
	}
	return NULL;
}

/* The first node >= @key, or NULL; under the lock. */
static struct mb_rbnode *mb_rb_lower_bound(struct mb_rbmap *m, const u8 *key,
					   unsigned int len)
{
	struct rb_node *p = m->root.rb_node;
	struct mb_rbnode *best = NULL;

	while (p) {
		struct mb_rbnode *n = rb_entry(p, struct mb_rbnode, rb);
		int r = mb_rb_cmp(key, len, n);

		if (!r)
			return n;
		if (r < 0) {
			best = n;
			p = p->rb_left;
		} else {
			p = p->rb_right;
		}
	}
	return best;
}

static struct mb_map *mb_rb_create(bool spin)
{
	struct mb_rbmap *m = kzalloc(sizeof(*m), GFP_KERNEL);

	if (!m)
		return NULL;
	m->root = RB_ROOT;
	rwlock_init(&m->rw);
	spin_lock_init(&m->sl);
	m->spin = spin;
	return (struct mb_map *)m;
}

static struct mb_map *mb_rb_create_rw(void)
{
	return mb_rb_create(false);
}

static struct mb_map *mb_rb_create_spin(void)
{
	return mb_rb_create(true);
}

static void mb_rb_destroy(struct mb_map *map)
{
	struct mb_rbmap *m = to_rb(map);
	struct mb_rbnode *n, *tmp;

	rbtree_postorder_for_each_entry_safe(n, tmp, &m->root, rb)
		kfree(n);
	kfree(m);
}

static int mb_rb_insert(struct mb_map *map, const u8 *key, unsigned int len,
			void *entry)
{
	struct mb_rbmap *m = to_rb(map);
	struct rb_node **link = &m->root.rb_node, *parent = NULL;
	struct mb_rbnode *n;

	n = kmalloc(struct_size(n, key, len), GFP_KERNEL);
	if (!n)
		return -ENOMEM;
	n->entry = entry;
	n->len = len;
	memcpy(n->key, key, len);

	mb_rb_write_lock(m);
	while (*link) {
		struct mb_rbnode *cur = rb_entry(*link, struct mb_rbnode, rb);
		int r = mb_rb_cmp(key, len, cur);

		if (!r) {
			mb_rb_write_unlock(m);
			kfree(n);
			return -EEXIST;
		}
		parent = *link;
		link = r < 0 ? &parent->rb_left : &parent->rb_right;
	}
	rb_link_node(&n->rb, parent, link);
	rb_insert_color(&n->rb, &m->root);
	m->nr++;
	mb_rb_write_unlock(m);
	return 0;
}

static void *mb_rb_load(struct mb_map *map, const u8 *key, unsigned int len)
{
	struct mb_rbmap *m = to_rb(map);
	struct mb_rbnode *n;
	void *entry;

	mb_rb_read_lock(m);
	n = mb_rb_find(m, key, len);
	entry = n ? n->entry : NULL;
	mb_rb_read_unlock(m);
	return entry;
}

/*
 * Replace the entry in place; a missing key is inserted (node allocated
 * outside the lock, then the insert rechecks).
 */
static int mb_rb_store(struct mb_map *map, const u8 *key, unsigned int len,
		       void *entry, void **old)
{
	struct mb_rbmap *m = to_rb(map);
	struct mb_rbnode *n;
	int err;

	do {
		mb_rb_write_lock(m);
		n = mb_rb_find(m, key, len);
		if (n) {
			*old = n->entry;
			n->entry = entry;
			mb_rb_write_unlock(m);
			return 0;
		}
		mb_rb_write_unlock(m);
		*old = NULL;
		err = mb_rb_insert(map, key, len, entry);
	} while (err == -EEXIST);
	return err;
}

static void *mb_rb_erase(struct mb_map *map, const u8 *key, unsigned int len)
{
	struct mb_rbmap *m = to_rb(map);
	struct mb_rbnode *n;
	void *entry = NULL;

	mb_rb_write_lock(m);
	n = mb_rb_find(m, key, len);
	if (n) {
		rb_erase(&n->rb, &m->root);
		m->nr--;
		entry = n->entry;
	}
	mb_rb_write_unlock(m);
	kfree(n);
	return entry;
}

static unsigned int mb_rb_scan(struct mb_map *map, const u8 *key,
			       unsigned int len, unsigned int max, void **first)
{
	struct mb_rbmap *m = to_rb(map);
	struct mb_rbnode *n;
	unsigned int i = 0;

	mb_rb_read_lock(m);
	n = mb_rb_lower_bound(m, key, len);
	if (n)
		*first = n->entry;
	while (n && i < max) {
		struct rb_node *next = rb_next(&n->rb);

		i++;
		n = next ? rb_entry(next, struct mb_rbnode, rb) : NULL;
	}
	mb_rb_read_unlock(m);
	return i;
}

static unsigned long mb_rb_count(struct mb_map *map)
{
	struct mb_rbmap *m = to_rb(map);
	unsigned long nr;

	mb_rb_read_lock(m);
	nr = m->nr;
	mb_rb_read_unlock(m);
	return nr;
}

const struct mb_struct mb_st_rbtree_rw = {
	.name = "rbtree-rw",
	.create = mb_rb_create_rw,
	.destroy = mb_rb_destroy,
	.insert = mb_rb_insert,
	.load = mb_rb_load,
	.store = mb_rb_store,
	.erase = mb_rb_erase,
	.scan = mb_rb_scan,
	.count = mb_rb_count,
};

const struct mb_struct mb_st_rbtree_spin = {
	.name = "rbtree-spin",
	.create = mb_rb_create_spin,
	.destroy = mb_rb_destroy,
	.insert = mb_rb_insert,
	.load = mb_rb_load,
	.store = mb_rb_store,
	.erase = mb_rb_erase,
	.scan = mb_rb_scan,
	.count = mb_rb_count,
};
