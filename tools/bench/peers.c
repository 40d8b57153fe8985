// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's XArray and maple tree, built in userspace by the kernel's
 * own test harness (tools/testing/radix-tree), under the same callgrind
 * phases as tools/bench: n dense integer keys inserted in shuffled order,
 * then ops uniform random lookups. scripts/bench-peers-instr.sh builds and
 * runs it; it reads nothing of masstree.
 *
 *   peers [n [ops]]
 *
 * Each phase is a noinline function for callgrind's --toggle-collect;
 * the phase_loop_* ones run the same loops around an empty call, so that
 * the script can count the structure's calls alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <linux/xarray.h>
#include <linux/maple_tree.h>
#include "test.h"

static DEFINE_XARRAY(peers_xa);
static DEFINE_MTREE(peers_mt);
static unsigned long nr_keys = 100000, nr_ops = 100000;

/* splitmix64, as tools/bench draws its keys. */
static unsigned long long peers_rand(unsigned long long *s)
{
	unsigned long long z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

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

int main(int argc, char **argv)
{
	unsigned long long s = 1;
	unsigned long *order, i, j, t, xa_hits, mt_hits;

	if (argc > 1)
		nr_keys = strtoul(argv[1], NULL, 0);
	if (argc > 2)
		nr_ops = strtoul(argv[2], NULL, 0);
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
	phase_xarray_insert(order);
	phase_maple_insert(order);
	xa_hits = phase_xarray_get();
	mt_hits = phase_maple_get();
	printf("xarray hits %lu maple hits %lu of %lu\n", xa_hits, mt_hits, nr_ops);
	rcu_unregister_thread();
	free(order);
	return xa_hits == nr_ops && mt_hits == nr_ops ? 0 : 1;
}
