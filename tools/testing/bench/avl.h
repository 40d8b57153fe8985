/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The benchmark's baseline: an AVL tree of byte-string keys (memcmp
 * order, shorter first on a tie) behind one lock, a pthread rwlock or a
 * mutex. Written for this benchmark: the ordered map a kernel developer
 * would reach for first (an rbtree under a lock), with its own memory
 * accounting.
 */
#ifndef _MASSTREE_BENCH_AVL_H
#define _MASSTREE_BENCH_AVL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct avl_node;

struct avl_tree {
	struct avl_node *root;
	bool mutex;			/* the mutex instead of the rwlock */
	pthread_rwlock_t rwlock;
	pthread_mutex_t lock;
	long bytes;			/* bytes allocated for nodes and keys */
	long nr;			/* keys */
};

void avl_init(struct avl_tree *t, bool mutex);
void avl_destroy(struct avl_tree *t);
void *avl_get(struct avl_tree *t, const void *key, size_t len);
int avl_insert(struct avl_tree *t, const void *key, size_t len, void *val);
void *avl_store(struct avl_tree *t, const void *key, size_t len, void *val);
void *avl_erase(struct avl_tree *t, const void *key, size_t len);
typedef bool (*avl_scan_fn)(const void *key, size_t len, void *val, void *arg);
void avl_scan(struct avl_tree *t, const void *start, size_t len,
	      avl_scan_fn fn, void *arg);

#endif /* _MASSTREE_BENCH_AVL_H */
