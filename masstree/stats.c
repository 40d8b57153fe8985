// SPDX-License-Identifier: GPL-2.0
/*
 * Statistics: a map's shape, cheap to read; and, in test builds only,
 * counters of the races the concurrency tests must prove happened.
 */
#include <linux/atomic.h>
#include <linux/export.h>
#include <linux/masstree.h>
#include <linux/rcupdate.h>
#include <kunit/visibility.h>

#include "internal.h"
#include "version.h"

/**
 * masstree_get_stats() - read a map's statistics.
 * @mt: the map.
 * @stats: filled in.
 *
 * The counters are read one by one while writers may run: each is exact
 * in a quiescent map, approximate otherwise.
 *
 * Context: Any context but NMI. Takes the RCU read lock.
 */
void masstree_get_stats(struct masstree *mt, struct masstree_stats *stats)
{
	struct mt_node *n;
	unsigned long h = 0;

	stats->keys = atomic_long_read(&mt->nr_keys);
	stats->leaves = atomic_long_read(&mt->nr_leaves);
	stats->internodes = atomic_long_read(&mt->nr_internodes);
	stats->layers = atomic_long_read(&mt->nr_layers);
	stats->bytes = (stats->leaves + stats->internodes) * MT_NODE_SIZE +
		       atomic_long_read(&mt->nr_suffix_bytes);

	/* Height of the top layer: follow the leftmost path. */
	rcu_read_lock();
	n = rcu_dereference(mt->root);
	while (n && h < 64) {
		unsigned long v = mt_stable_version(n);
		struct mt_node *child;

		h++;
		if (v & (MT_V_LEAF | MT_V_DELETED))
			break;
		child = rcu_dereference(mt_to_internode(n)->child[0]);
		if (mt_version_changed(n, v)) {
			h--;
			continue;
		}
		n = child;
	}
	rcu_read_unlock();
	stats->height = h;
}
EXPORT_SYMBOL_GPL(masstree_get_stats);

#ifdef MASSTREE_HAVE_TEST_COUNTERS
static atomic_long_t mt_test_counters[MASSTREE_TC_NR];

void (*masstree_test_hook)(enum masstree_test_hook_point where);
EXPORT_SYMBOL_IF_KUNIT(masstree_test_hook);

void mt_count(enum masstree_test_counter which)
{
	atomic_long_inc(&mt_test_counters[which]);
}

void mt_hook(enum masstree_test_hook_point where)
{
	void (*hook)(enum masstree_test_hook_point) = READ_ONCE(masstree_test_hook);

	if (hook)
		hook(where);
}

/**
 * masstree_test_counter() - read a test counter.
 * @which: the counter.
 *
 * Context: Any context.
 * Return: how often the event happened since the module was loaded.
 */
unsigned long masstree_test_counter(enum masstree_test_counter which)
{
	return atomic_long_read(&mt_test_counters[which]);
}
EXPORT_SYMBOL_IF_KUNIT(masstree_test_counter);
#endif
