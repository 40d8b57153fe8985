// SPDX-License-Identifier: GPL-2.0
/*
 * Statistics: a map's shape, cheap to read; and, in test builds only,
 * counters of the races the concurrency tests must prove happened.
 */
#include <linux/atomic.h>
#include <linux/export.h>
#include <linux/masstree.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <kunit/visibility.h>

#include "internal.h"
#include "version.h"

/**
 * mst_stat_read() - read one of a map's statistics counters.
 * @mt: the map.
 * @which: the counter.
 *
 * Context: Any context. Exact in a quiescent map.
 * Return: the counter's shared part plus its per-CPU parts.
 */
long mst_stat_read(struct masstree *mt, enum mst_stat which)
{
	struct masstree_pcpu_stats __percpu *pcpu = mst_stats_pcpu(mt);
	long v = atomic_long_read(&mt->stat[which]);
	int cpu;

	if (pcpu)
		for_each_possible_cpu(cpu)
			v += READ_ONCE(per_cpu_ptr(pcpu, cpu)->v[which]);
	return v;
}
EXPORT_SYMBOL_IF_KUNIT(mst_stat_read);

/**
 * mst_stats_alloc() - give a map per-CPU statistics counters.
 * @mt: the map.
 * @gfp: the writer's allocation flags.
 *
 * Best effort: on failure, or if another writer got there first, the
 * counters stay where they are. Nothing is lost either way, since a
 * counter's value is the sum of both parts.
 *
 * Context: As @gfp allows; no node lock held.
 */
void mst_stats_alloc(struct masstree *mt, gfp_t gfp)
{
	struct masstree_pcpu_stats __percpu *pcpu;

	pcpu = alloc_percpu_gfp(struct masstree_pcpu_stats, gfp | __GFP_NOWARN);
	if (pcpu && cmpxchg(&mt->pcpu, NULL, pcpu))
		free_percpu(pcpu);
}

/**
 * mst_stats_reset() - zero a map's counters and free its per-CPU part.
 * @mt: the map; no operation may run on it.
 *
 * Context: Any context.
 */
void mst_stats_reset(struct masstree *mt)
{
	int i;

	free_percpu(mt->pcpu);
	mt->pcpu = NULL;
	for (i = 0; i < MST_STAT_NR; i++)
		atomic_long_set(&mt->stat[i], 0);
}

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
	struct mst_node *n;
	unsigned long h = 0;

	BUILD_BUG_ON(MST_STAT_NR != __MASSTREE_NR_STATS);
	stats->keys = mst_stat_read(mt, MST_STAT_KEYS);
	stats->leaves = mst_stat_read(mt, MST_STAT_LEAVES);
	stats->internodes = mst_stat_read(mt, MST_STAT_INTERNODES);
	stats->layers = mst_stat_read(mt, MST_STAT_LAYERS);
	stats->bytes = (stats->leaves + stats->internodes) * MST_NODE_BYTES +
		       mst_stat_read(mt, MST_STAT_SUFFIX_BYTES);

	/*
	 * Height of the top layer: the path to any slice (the B+tree is
	 * balanced), here the leftmost, counted as a lookup descends.
	 */
	rcu_read_lock();
	n = rcu_dereference(mt->root);
	if (n) {
		unsigned long v = mst_stable_version(n);

		for (h = 1; h < 64 && !(v & (MST_V_LEAF | MST_V_DELETED)); h++) {
			struct mst_node *child = mst_read_child(n, v, 0, &v);

			if (!child) {
				v = mst_stable_version(n);
				h--;
				continue;
			}
			n = child;
		}
	}
	rcu_read_unlock();
	stats->height = h;
}
EXPORT_SYMBOL_GPL(masstree_get_stats);

/**
 * masstree_bytes() - memory a map's nodes and key suffixes hold.
 * @mt: the map.
 *
 * The @bytes of masstree_get_stats() alone, without the height walk:
 * nodes and suffixes at their slab object size.
 *
 * Context: Any context but NMI. Exact in a quiescent map, and it counts
 * every write that completed before a lock the caller took.
 * Return: the bytes.
 */
unsigned long masstree_bytes(struct masstree *mt)
{
	return (mst_stat_read(mt, MST_STAT_LEAVES) +
		mst_stat_read(mt, MST_STAT_INTERNODES)) * MST_NODE_BYTES +
	       mst_stat_read(mt, MST_STAT_SUFFIX_BYTES);
}
EXPORT_SYMBOL_GPL(masstree_bytes);

/*
 * Split levels masstree_insert_bytes_max() counts at most. A split runs
 * up through the full internodes above a leaf; more than this many full
 * levels on one path means at least 16 live nodes per level, so a write
 * that outgrows the bound grows the map by under a sixteenth of what it
 * already holds.
 */
#define MST_SPLIT_LEVELS	8

/**
 * masstree_insert_bytes_max() - the most one new key may add to
 *	masstree_bytes().
 * @mt: the map.
 * @len: the key's length.
 *
 * A new key lands in one leaf, in one of three ways: a free slot (no
 * node); a split, one new node per full internode above the leaf plus a
 * new root at most (bounded by the map's internodes and by
 * MST_SPLIT_LEVELS, see above), and for a key past 8 bytes a bag (struct
 * mst_bag) for each of the split's leaves; or a new layer where the key parts from
 * the one it collides with: one leaf, and the bytes the two still share
 * kept once as a span, or a span split in two around the new layer (each
 * part at most a span of the key's length). Plus the key's suffix, at
 * most @len - 8 bytes in its slab object; the key it collides with gets
 * a shorter suffix in place of its old one. Replacing a value adds
 * nothing; an erase only frees.
 *
 * Context: Any context but NMI.
 * Return: the bytes.
 */
unsigned long masstree_insert_bytes_max(struct masstree *mt, size_t len)
{
	long internodes = mst_stat_read(mt, MST_STAT_INTERNODES);
	unsigned long split, layer;

	split = (min_t(long, internodes > 0 ? internodes : 0,
		       MST_SPLIT_LEVELS) + 2) * MST_NODE_BYTES;
	if (len <= 8)
		return split;
	/* A key that ends in a bag may give both leaves of a split one. */
	split += 2 * MST_NODE_BYTES;
	layer = MST_NODE_BYTES + 2 * mst_suffix_bytes(MST_SPAN_CAP(len - 8));
	return (split > layer ? split : layer) + mst_suffix_bytes(len - 8);
}
EXPORT_SYMBOL_GPL(masstree_insert_bytes_max);

#ifdef MASSTREE_HAVE_TEST_COUNTERS
static atomic_long_t mst_test_counters[MASSTREE_TC_NR];

void (*masstree_test_hook)(enum masstree_test_hook_point where);
EXPORT_SYMBOL_IF_KUNIT(masstree_test_hook);

void mst_count(enum masstree_test_counter which)
{
	atomic_long_inc(&mst_test_counters[which]);
}

void mst_hook(enum masstree_test_hook_point where)
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
	return atomic_long_read(&mst_test_counters[which]);
}
EXPORT_SYMBOL_IF_KUNIT(masstree_test_counter);
#endif
