// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's XArray, maple tree and rbtree, built in userspace from the
 * kernel's own sources (the XArray and maple tree by its test harness,
 * tools/testing/radix-tree; the rbtree from tools/lib/rbtree.c), under the
 * same callgrind phases as bench.c: n dense integer keys inserted in
 * shuffled order, then ops uniform random lookups; and for the rbtree the
 * same with 16 random bytes per key (bench.c's rand16 shape).
 * scripts/bench-peers-instr.sh builds and runs it; it reads nothing of
 * masstree.
 *
 *   peers [n [ops [time]]]
 *
 * Each phase is a noinline function for callgrind's --toggle-collect;
 * the phase_loop_* ones run the same loops around an empty call, so that
 * the script can count the structure's calls alone. With a third
 * argument, each phase is also timed (nanoseconds per call, loop
 * included), for a native run outside valgrind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <linux/xarray.h>
#include <linux/maple_tree.h>
#include <linux/rbtree.h>
#include "test.h"

noinline unsigned long peers_sink(unsigned long index);

static DEFINE_XARRAY(peers_xa);
static DEFINE_MTREE(peers_mt);
static unsigned long nr_keys = 100000, nr_ops = 100000;

/* splitmix64, as bench.c draws its keys. */
static unsigned long long peers_rand(unsigned long long *s)
{
	unsigned long long z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * bench/st_rbtree.c's rbtree-rw, as the kernel runs it: the key inline in
 * the node, compared with the kernel's memcmp() (lib/string.c: a word at
 * a time, then bytes; x86-64 has no arch version), the node allocated
 * before the lock, the tree behind a rwlock whose uncontended fast paths
 * are one atomic each way (qrwlock: a cmpxchg or an add to lock, a store
 * or an add to unlock). The node comes from malloc(), as masstree's
 * suffixes and nodes do in the benchmark's slab shim (lib/alloc.c).
 */
struct peers_rbnode {
	struct rb_node rb;
	void *entry;
	unsigned int len;
	unsigned char key[];
};

static struct rb_root peers_rb = RB_ROOT;
static int peers_rwlock;

static int peers_memcmp(const void *cs, const void *ct, size_t count)
{
	const unsigned char *su1, *su2;
	int res = 0;

	while (count >= sizeof(unsigned long)) {
		unsigned long a, b;

		__builtin_memcpy(&a, cs, sizeof(a));
		__builtin_memcpy(&b, ct, sizeof(b));
		if (a != b)
			break;
		cs = (const char *)cs + sizeof(a);
		ct = (const char *)ct + sizeof(b);
		count -= sizeof(a);
	}
	for (su1 = cs, su2 = ct; count > 0; ++su1, ++su2, count--) {
		res = *su1 - *su2;
		if (res)
			break;
	}
	return res;
}

static int peers_rb_cmp(const unsigned char *key, unsigned int len,
			const struct peers_rbnode *n)
{
	int r = peers_memcmp(key, n->key, len < n->len ? len : n->len);

	if (r)
		return r;
	return len < n->len ? -1 : len > n->len;
}

static void peers_write_lock(void)
{
	int unlocked = 0;

	while (!__atomic_compare_exchange_n(&peers_rwlock, &unlocked, -1, 0,
					    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		unlocked = 0;
}

static void peers_write_unlock(void)
{
	__atomic_store_n(&peers_rwlock, 0, __ATOMIC_RELEASE);
}

static void peers_read_lock(void)
{
	__atomic_add_fetch(&peers_rwlock, 1, __ATOMIC_ACQUIRE);
}

static void peers_read_unlock(void)
{
	__atomic_sub_fetch(&peers_rwlock, 1, __ATOMIC_RELEASE);
}

static int peers_rb_insert(const unsigned char *key, unsigned int len,
			   void *entry)
{
	struct rb_node **link = &peers_rb.rb_node, *parent = NULL;
	struct peers_rbnode *n = malloc(sizeof(*n) + len);

	if (!n)
		return -ENOMEM;
	n->entry = entry;
	n->len = len;
	memcpy(n->key, key, len);
	peers_write_lock();
	while (*link) {
		struct peers_rbnode *cur = rb_entry(*link, struct peers_rbnode, rb);
		int r = peers_rb_cmp(key, len, cur);

		if (!r) {
			peers_write_unlock();
			free(n);
			return -EEXIST;
		}
		parent = *link;
		link = r < 0 ? &parent->rb_left : &parent->rb_right;
	}
	rb_link_node(&n->rb, parent, link);
	rb_insert_color(&n->rb, &peers_rb);
	peers_write_unlock();
	return 0;
}

static void *peers_rb_load(const unsigned char *key, unsigned int len)
{
	struct rb_node *p;
	void *entry = NULL;

	peers_read_lock();
	for (p = peers_rb.rb_node; p; ) {
		struct peers_rbnode *n = rb_entry(p, struct peers_rbnode, rb);
		int r = peers_rb_cmp(key, len, n);

		if (!r) {
			entry = n->entry;
			break;
		}
		p = r < 0 ? p->rb_left : p->rb_right;
	}
	peers_read_unlock();
	return entry;
}

static void peers_rb_clear(void)
{
	struct peers_rbnode *n, *t;

	rbtree_postorder_for_each_entry_safe(n, t, &peers_rb, rb)
		free(n);
	peers_rb = RB_ROOT;
}

/* Key i of a shape: 8 bytes big-endian (int8) or 16 random bytes (rand16). */
static unsigned char *peers_keys;
static unsigned int peers_klen;

static const unsigned char *peers_key(unsigned long i)
{
	return peers_keys + i * peers_klen;
}

static inline unsigned long peers_rb_insert_all(const unsigned long *order)
{
	unsigned long i, fails = 0;

	for (i = 0; i < nr_keys; i++)
		fails += peers_rb_insert(peers_key(order[i]), peers_klen,
					 (void *)(order[i] + 1)) != 0;
	return fails;
}

static inline unsigned long peers_rb_get_all(void)
{
	unsigned long long s = 7;
	unsigned long i, hits = 0, k;

	for (i = 0; i < nr_ops; i++) {
		k = peers_rand(&s) % nr_keys;
		hits += peers_rb_load(peers_key(k), peers_klen) == (void *)(k + 1);
	}
	return hits;
}

static inline unsigned long peers_rb_loop_insert(const unsigned long *order)
{
	unsigned long i, sum = 0;

	for (i = 0; i < nr_keys; i++)
		sum += peers_sink((unsigned long)peers_key(order[i])) != 0;
	return sum;
}

static inline unsigned long peers_rb_loop_get(void)
{
	unsigned long long s = 7;
	unsigned long i, sum = 0;

	for (i = 0; i < nr_ops; i++)
		sum += peers_sink((unsigned long)peers_key(peers_rand(&s) % nr_keys)) != 0;
	return sum;
}

/*
 * The rbtree's phases, once per key shape: callgrind's --toggle-collect
 * counts a function by name, so each shape needs its own.
 */
#define PEERS_RBTREE_PHASES(shape)					\
noinline unsigned long phase_rbtree_##shape##_insert(const unsigned long *o) \
{									\
	return peers_rb_insert_all(o);					\
}									\
noinline unsigned long phase_rbtree_##shape##_get(void)		\
{									\
	return peers_rb_get_all();					\
}									\
noinline unsigned long phase_loop_rbtree_##shape##_insert(const unsigned long *o) \
{									\
	return peers_rb_loop_insert(o);					\
}									\
noinline unsigned long phase_loop_rbtree_##shape##_get(void)		\
{									\
	return peers_rb_loop_get();					\
}

PEERS_RBTREE_PHASES(int8)
PEERS_RBTREE_PHASES(rand16)

noinline void phase_xarray_insert(const unsigned long *order)
{
	unsigned long i;

	for (i = 0; i < nr_keys; i++)
		xa_store(&peers_xa, order[i], xa_mk_value(order[i]), GFP_KERNEL);
}

noinline void phase_maple_insert(const unsigned long *order)
{
	unsigned long i;

	for (i = 0; i < nr_keys; i++)
		mtree_store(&peers_mt, order[i], xa_mk_value(order[i]), GFP_KERNEL);
}

noinline unsigned long phase_xarray_get(void)
{
	unsigned long long s = 7;
	unsigned long i, hits = 0;

	for (i = 0; i < nr_ops; i++)
		hits += !!xa_load(&peers_xa, peers_rand(&s) % nr_keys);
	return hits;
}

noinline unsigned long phase_maple_get(void)
{
	unsigned long long s = 7;
	unsigned long i, hits = 0;

	for (i = 0; i < nr_ops; i++)
		hits += !!mtree_load(&peers_mt, peers_rand(&s) % nr_keys);
	return hits;
}

/* The lookup loops without the lookup: subtracted from their counts. */
noinline unsigned long peers_sink(unsigned long index)
{
	asm volatile("" : : "r"(index) : "memory");
	return index;
}

noinline unsigned long phase_loop_get(void)
{
	unsigned long long s = 7;
	unsigned long i, sum = 0;

	for (i = 0; i < nr_ops; i++)
		sum += peers_sink(peers_rand(&s) % nr_keys) != 0;
	return sum;
}

noinline void phase_loop_insert(const unsigned long *order)
{
	unsigned long i;

	for (i = 0; i < nr_keys; i++)
		peers_sink(order[i]);
}

/* Nanoseconds since an arbitrary start, for the timed runs. */
static double peers_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int timed;

/* Report a phase's time per call when timing. */
static void peers_report(const char *what, double t0, unsigned long calls)
{
	if (timed)
		printf("time %-16s %8.1f ns/call\n", what,
		       (peers_now() - t0) / calls);
}

/* The rbtree's phases on keys of one shape; returns its lookups' hits. */
static unsigned long peers_rbtree(const unsigned long *order, int rand16)
{
	unsigned long long s = 3;
	unsigned long i, j, hits, fails;
	double t0;

	peers_klen = rand16 ? 16 : 8;
	peers_keys = malloc(nr_keys * peers_klen);
	if (!peers_keys)
		return 0;
	for (i = 0; i < nr_keys; i++) {
		unsigned char *k = peers_keys + i * peers_klen;
		unsigned long long r = 0;

		for (j = 0; j < peers_klen; j++) {
			if (rand16 && j % 8 == 0)
				r = peers_rand(&s);
			k[j] = rand16 ? r >> (8 * (j % 8)) : i >> (56 - 8 * j);
		}
	}
	if (rand16) {
		phase_loop_rbtree_rand16_insert(order);
		phase_loop_rbtree_rand16_get();
		t0 = peers_now();
		fails = phase_rbtree_rand16_insert(order);
		peers_report("rbtree-rand16-ins", t0, nr_keys);
		t0 = peers_now();
		hits = phase_rbtree_rand16_get();
		peers_report("rbtree-rand16-get", t0, nr_ops);
	} else {
		phase_loop_rbtree_int8_insert(order);
		phase_loop_rbtree_int8_get();
		t0 = peers_now();
		fails = phase_rbtree_int8_insert(order);
		peers_report("rbtree-int8-ins", t0, nr_keys);
		t0 = peers_now();
		hits = phase_rbtree_int8_get();
		peers_report("rbtree-int8-get", t0, nr_ops);
	}
	peers_rb_clear();
	free(peers_keys);
	/* A duplicate random key would make the counts wrong: fail. */
	return fails ? 0 : hits;
}

int main(int argc, char **argv)
{
	unsigned long long s = 1;
	unsigned long *order, i, j, t, xa_hits, mt_hits, rb8_hits, rb16_hits;
	double t0;

	if (argc > 1)
		nr_keys = strtoul(argv[1], NULL, 0);
	if (argc > 2)
		nr_ops = strtoul(argv[2], NULL, 0);
	timed = argc > 3;
	order = malloc(nr_keys * sizeof(*order));
	if (!nr_keys || !order)
		return 1;
	rcu_register_thread();
	radix_tree_init();
	maple_tree_init();
	for (i = 0; i < nr_keys; i++)
		order[i] = i;
	for (i = nr_keys - 1; i > 0; i--) {
		j = peers_rand(&s) % (i + 1);
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	phase_loop_insert(order);
	phase_loop_get();
	t0 = peers_now();
	phase_xarray_insert(order);
	peers_report("xarray-ins", t0, nr_keys);
	t0 = peers_now();
	phase_maple_insert(order);
	peers_report("maple-ins", t0, nr_keys);
	t0 = peers_now();
	xa_hits = phase_xarray_get();
	peers_report("xarray-get", t0, nr_ops);
	t0 = peers_now();
	mt_hits = phase_maple_get();
	peers_report("maple-get", t0, nr_ops);
	rb8_hits = peers_rbtree(order, 0);
	rb16_hits = peers_rbtree(order, 1);
	printf("hits of %lu: xarray %lu maple %lu rbtree int8 %lu rand16 %lu\n",
	       nr_ops, xa_hits, mt_hits, rb8_hits, rb16_hits);
	rcu_unregister_thread();
	free(order);
	return xa_hits == nr_ops && mt_hits == nr_ops && rb8_hits == nr_ops &&
	       rb16_hits == nr_ops ? 0 : 1;
}
