// SPDX-License-Identifier: GPL-2.0
/*
 * An AVL tree with byte-string keys for the benchmark's baselines; see
 * avl.h. Insert and erase recurse (the height of a million keys is under
 * 30), lookups and scans do not; a scan keeps the path of the nodes
 * still to visit on a small stack.
 */
#include <stdlib.h>
#include <string.h>

#include "avl.h"

#define AVL_MAX_HEIGHT	64

struct avl_node {
	struct avl_node *l, *r;
	void *val;
	int h;
	unsigned int len;
	unsigned char key[];
};

static int cmp(const void *a, size_t alen, const struct avl_node *n)
{
	size_t m = alen < n->len ? alen : n->len;
	int c = m ? memcmp(a, n->key, m) : 0;

	if (c)
		return c;
	return (alen > n->len) - (alen < n->len);
}

static int height(const struct avl_node *n)
{
	return n ? n->h : 0;
}

static void fix_height(struct avl_node *n)
{
	int hl = height(n->l), hr = height(n->r);

	n->h = 1 + (hl > hr ? hl : hr);
}

static struct avl_node *rot_right(struct avl_node *n)
{
	struct avl_node *l = n->l;

	n->l = l->r;
	l->r = n;
	fix_height(n);
	fix_height(l);
	return l;
}

static struct avl_node *rot_left(struct avl_node *n)
{
	struct avl_node *r = n->r;

	n->r = r->l;
	r->l = n;
	fix_height(n);
	fix_height(r);
	return r;
}

/* Restore the AVL property at @n, whose subtrees are AVL trees. */
static struct avl_node *balance(struct avl_node *n)
{
	int b;

	fix_height(n);
	b = height(n->l) - height(n->r);
	if (b > 1) {
		if (height(n->l->l) < height(n->l->r))
			n->l = rot_left(n->l);
		return rot_right(n);
	}
	if (b < -1) {
		if (height(n->r->r) < height(n->r->l))
			n->r = rot_right(n->r);
		return rot_left(n);
	}
	return n;
}

static void lock_read(struct avl_tree *t)
{
	if (t->mutex)
		pthread_mutex_lock(&t->lock);
	else
		pthread_rwlock_rdlock(&t->rwlock);
}

static void lock_write(struct avl_tree *t)
{
	if (t->mutex)
		pthread_mutex_lock(&t->lock);
	else
		pthread_rwlock_wrlock(&t->rwlock);
}

static void unlock(struct avl_tree *t)
{
	if (t->mutex)
		pthread_mutex_unlock(&t->lock);
	else
		pthread_rwlock_unlock(&t->rwlock);
}

void avl_init(struct avl_tree *t, bool mutex)
{
	memset(t, 0, sizeof(*t));
	t->mutex = mutex;
	pthread_rwlock_init(&t->rwlock, NULL);
	pthread_mutex_init(&t->lock, NULL);
}

void avl_destroy(struct avl_tree *t)
{
	struct avl_node *stack[AVL_MAX_HEIGHT], *n;
	int sp = 0;

	if (t->root)
		stack[sp++] = t->root;
	while (sp) {
		n = stack[--sp];
		if (n->l)
			stack[sp++] = n->l;
		if (n->r)
			stack[sp++] = n->r;
		free(n);
	}
	t->root = NULL;
	t->bytes = 0;
	t->nr = 0;
	pthread_rwlock_destroy(&t->rwlock);
	pthread_mutex_destroy(&t->lock);
}

static struct avl_node *find(struct avl_tree *t, const void *key, size_t len)
{
	struct avl_node *n = t->root;

	while (n) {
		int c = cmp(key, len, n);

		if (!c)
			return n;
		n = c < 0 ? n->l : n->r;
	}
	return NULL;
}

void *avl_get(struct avl_tree *t, const void *key, size_t len)
{
	struct avl_node *n;
	void *val;

	lock_read(t);
	n = find(t, key, len);
	val = n ? n->val : NULL;
	unlock(t);
	return val;
}

static struct avl_node *new_node(struct avl_tree *t, const void *key,
				 size_t len, void *val)
{
	struct avl_node *n = malloc(sizeof(*n) + len);

	if (!n)
		abort();
	n->l = NULL;
	n->r = NULL;
	n->h = 1;
	n->len = len;
	n->val = val;
	memcpy(n->key, key, len);
	t->bytes += sizeof(*n) + len;
	t->nr++;
	return n;
}

/* Insert below @n; *@found is set to the node holding the key already. */
static struct avl_node *insert(struct avl_tree *t, struct avl_node *n,
			       const void *key, size_t len, void *val,
			       struct avl_node **found)
{
	int c;

	if (!n)
		return new_node(t, key, len, val);
	c = cmp(key, len, n);
	if (!c) {
		*found = n;
		return n;
	}
	if (c < 0)
		n->l = insert(t, n->l, key, len, val, found);
	else
		n->r = insert(t, n->r, key, len, val, found);
	return *found ? n : balance(n);
}

int avl_insert(struct avl_tree *t, const void *key, size_t len, void *val)
{
	struct avl_node *found = NULL;

	lock_write(t);
	t->root = insert(t, t->root, key, len, val, &found);
	unlock(t);
	return found ? -17 /* -EEXIST */ : 0;
}

void *avl_store(struct avl_tree *t, const void *key, size_t len, void *val)
{
	struct avl_node *found = NULL;
	void *old = NULL;

	lock_write(t);
	t->root = insert(t, t->root, key, len, val, &found);
	if (found) {
		old = found->val;
		found->val = val;
	}
	unlock(t);
	return old;
}

static struct avl_node *remove_min(struct avl_node *n, struct avl_node **min)
{
	if (!n->l) {
		*min = n;
		return n->r;
	}
	n->l = remove_min(n->l, min);
	return balance(n);
}

static struct avl_node *erase(struct avl_tree *t, struct avl_node *n,
			      const void *key, size_t len, void **old)
{
	struct avl_node *m;
	int c;

	if (!n)
		return NULL;
	c = cmp(key, len, n);
	if (c < 0) {
		n->l = erase(t, n->l, key, len, old);
	} else if (c > 0) {
		n->r = erase(t, n->r, key, len, old);
	} else {
		*old = n->val;
		t->bytes -= sizeof(*n) + n->len;
		t->nr--;
		if (!n->l || !n->r) {
			m = n->l ? n->l : n->r;
			free(n);
			return m;
		}
		n->r = remove_min(n->r, &m);
		m->l = n->l;
		m->r = n->r;
		free(n);
		return balance(m);
	}
	return *old ? balance(n) : n;
}

void *avl_erase(struct avl_tree *t, const void *key, size_t len)
{
	void *old = NULL;

	lock_write(t);
	t->root = erase(t, t->root, key, len, &old);
	unlock(t);
	return old;
}

/* Call @fn for each key >= @start in order until it returns false. */
void avl_scan(struct avl_tree *t, const void *start, size_t len,
	      avl_scan_fn fn, void *arg)
{
	struct avl_node *stack[AVL_MAX_HEIGHT], *n;
	int sp = 0;

	lock_read(t);
	/* The path to the first key >= start: every node we went left at. */
	for (n = t->root; n;) {
		if (cmp(start, len, n) <= 0) {
			stack[sp++] = n;
			n = n->l;
		} else {
			n = n->r;
		}
	}
	while (sp) {
		n = stack[--sp];
		if (!fn(n->key, n->len, n->val, arg))
			break;
		for (n = n->r; n; n = n->l)
			stack[sp++] = n;
	}
	unlock(t);
}
