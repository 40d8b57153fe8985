// SPDX-License-Identifier: GPL-2.0
/*
 * masstree_bench: masstree against the kernel's rbtree (behind an rwlock
 * and behind a spinlock), maple tree and XArray, each used through its
 * natural API, in one boot. Loading the module runs the matrix chosen by
 * the parameters and prints one line per timed run:
 *
 *   masstree_bench: struct=masstree shape=int8 workload=get dist=uniform
 *	threads=2 keys=100000 seed=1 ops=... ns=... mops=...
 *
 * (on one line; insert lines add bytes_per_key= from the slab counters
 * and, for masstree, own_bytes_per_key= from masstree_get_stats()).
 * Every answer is checked; module init fails with -EIO if any was wrong,
 * so a broken structure or benchmark cannot go unnoticed. Not loaded by
 * default: `make bench` and one tiny run in `make check` load it.
 */
#include <linux/delay.h>
#include <linux/init.h>
#include <linux/log2.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmstat.h>

#include "bench.h"

/* Most thread counts in the threads= list, and most threads in a run. */
#define MB_MAX_THREAD_COUNTS	8
#define MB_MAX_THREADS		64
#define MB_MAX_FILL_ROUNDS	100
/* Long enough for the per-CPU vmstat deltas to be folded (every second). */
#define MB_SETTLE_MS		2200

static char *structs = "masstree,rbtree-rw,rbtree-spin,maple,xarray";
module_param(structs, charp, 0444);
MODULE_PARM_DESC(structs,
		 "structures to run, comma-separated (default: masstree,rbtree-rw,rbtree-spin,maple,xarray; maple and xarray run on int8 keys only)");

static char *shapes = "int8,rand16,prefix24,rand32";
module_param(shapes, charp, 0444);
MODULE_PARM_DESC(shapes,
		 "key shapes, comma-separated: int8 (dense big-endian integers, shuffled), rand16, prefix24 (16-byte common prefix), rand32 (default: all)");

static char *workloads = "insert,get,mix90,mix50,scan,erase";
module_param(workloads, charp, 0444);
MODULE_PARM_DESC(workloads,
		 "workloads to report, comma-separated: insert, get, mix90 (90% get, 10% store), mix50, scan (100 keys), erase (default: all; insert and erase always run, to fill and empty the map)");

static char *dists = "uniform,zipf";
module_param(dists, charp, 0444);
MODULE_PARM_DESC(dists,
		 "key choice of get, mix and scan: uniform, zipf (theta 0.99) (default: both)");

static unsigned int threads[MB_MAX_THREAD_COUNTS] = { 1, 2, 4 };
static int nr_threads = 3;
module_param_array(threads, uint, &nr_threads, 0444);
MODULE_PARM_DESC(threads, "thread counts to run, comma-separated (default: 1,2,4)");

static unsigned int keys = 100000;
module_param(keys, uint, 0444);
MODULE_PARM_DESC(keys, "keys in the map (default: 100000)");

static unsigned int duration_ms = 1000;
module_param(duration_ms, uint, 0444);
MODULE_PARM_DESC(duration_ms,
		 "length of each get, mix and scan run in ms (default: 1000)");

static unsigned long long seed = 1;
module_param(seed, ullong, 0444);
MODULE_PARM_DESC(seed, "seed of the keys and of the operation streams (default: 1)");

/*
 * A fill of 100,000 keys lasts a tenth of a second or so: one run is at
 * the mercy of the host's scheduler, so insert and erase are measured
 * over several rounds, the structures taking turns in each.
 */
static unsigned int fill_rounds = 3;
module_param(fill_rounds, uint, 0444);
MODULE_PARM_DESC(fill_rounds,
		 "rounds of fill and empty whose times add up to the insert and erase results, the structures taking turns in each round (default: 3)");

/*
 * Likewise, a get, mix or scan run is cut into slices, the structures
 * taking turns slice by slice, so that a burst of the host's own load
 * lands on all of them rather than on one structure's whole run.
 */
static unsigned int slices = 5;
module_param(slices, uint, 0444);
MODULE_PARM_DESC(slices,
		 "slices of each get, mix and scan run (duration_ms in all), the structures taking turns slice by slice (default: 5)");

static bool mem = true;
module_param(mem, bool, 0444);
MODULE_PARM_DESC(mem,
		 "measure memory per key at the first thread count (waits 2 x 2.2 s per structure and shape) (default: true)");

static const char *const mb_dist_names[] = { "uniform", "zipf" };

static const struct mb_struct *const mb_structs[] = {
	&mb_st_masstree, &mb_st_rbtree_rw, &mb_st_rbtree_spin,
	&mb_st_maple, &mb_st_xarray,
};

/*
 * The structure that runs @k-th in round @round of a workload: each goes
 * first in turn, so that none always pays for running first (or right
 * after the others) in every round.
 */
static unsigned int mb_turn(unsigned int round, unsigned int k)
{
	return (round + k) % ARRAY_SIZE(mb_structs);
}

/* Is @name an item of the comma-separated @list? */
static bool mb_listed(const char *list, const char *name)
{
	size_t len = strlen(name);

	while (list && *list) {
		size_t n = strcspn(list, ",");

		if (n == len && !strncmp(list, name, len))
			return true;
		list += n;
		if (*list)
			list++;
	}
	return false;
}

/* Is every item of @list one of the @nr @names? */
static bool mb_list_valid(const char *param, const char *list,
			  const char *const *names, unsigned int nr)
{
	while (list && *list) {
		size_t n = strcspn(list, ",");
		unsigned int i;

		for (i = 0; i < nr; i++)
			if (strlen(names[i]) == n && !strncmp(list, names[i], n))
				break;
		if (i == nr) {
			pr_err("masstree_bench: unknown %s '%.*s'\n", param,
			       (int)n, list);
			return false;
		}
		list += n;
		if (*list)
			list++;
	}
	return true;
}

static bool mb_params_valid(void)
{
	const char *names[ARRAY_SIZE(mb_structs)];
	const char *snames[8];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(mb_structs); i++)
		names[i] = mb_structs[i]->name;
	for (i = 0; i < mb_nr_shapes && i < ARRAY_SIZE(snames); i++)
		snames[i] = mb_shapes[i].name;
	if (!mb_list_valid("structure", structs, names, ARRAY_SIZE(names)) ||
	    !mb_list_valid("shape", shapes, snames, i) ||
	    !mb_list_valid("workload", workloads, mb_workload_names, MB_W_NR) ||
	    !mb_list_valid("distribution", dists, mb_dist_names,
			   ARRAY_SIZE(mb_dist_names)))
		return false;
	if (!keys || keys >= MB_OP_STORE) {
		pr_err("masstree_bench: keys must be in [1, 2^31)\n");
		return false;
	}
	if (!slices || slices > duration_ms) {
		pr_err("masstree_bench: slices must be in [1, duration_ms]\n");
		return false;
	}
	if (!fill_rounds || fill_rounds > MB_MAX_FILL_ROUNDS) {
		pr_err("masstree_bench: fill_rounds must be in [1, %u]\n",
		       MB_MAX_FILL_ROUNDS);
		return false;
	}
	for (i = 0; i < nr_threads; i++) {
		if (!threads[i] || threads[i] > MB_MAX_THREADS) {
			pr_err("masstree_bench: threads must be in [1, %u]\n",
			       MB_MAX_THREADS);
			return false;
		}
	}
	return true;
}

/* Streams four times as long as the key set, within [1024, MB_STREAM_LEN]. */
static unsigned int mb_stream_len(void)
{
	return clamp_t(unsigned int, roundup_pow_of_two(keys * 4ULL), 1024,
		       MB_STREAM_LEN);
}

/* Bytes of slab pages in use, after letting per-CPU counters settle. */
static u64 mb_slab_bytes(void)
{
	msleep(MB_SETTLE_MS);
	return ((u64)global_node_page_state_pages(NR_SLAB_RECLAIMABLE_B) +
		global_node_page_state_pages(NR_SLAB_UNRECLAIMABLE_B)) << PAGE_SHIFT;
}

/**
 * struct mb_bench - the state of the whole matrix.
 * @keys: the current key set.
 * @zipf: the Zipfian sampler, or NULL if not asked for.
 * @streams: per-thread operation streams, for the most threads asked.
 * @maps: the map of each structure of mb_structs[] (NULL: not running).
 * @insert: each structure's fills at this thread count, added up.
 * @erase: each structure's emptyings at this thread count, added up.
 * @sum: each structure's slices of one timed workload, added up.
 * @memory: each structure's memory per key after its first fill, as
 *	" bytes_per_key=..." for its insert line; empty if not measured.
 * @runs: timed runs done.
 * @errors: wrong answers seen.
 */
struct mb_bench {
	struct mb_keys keys;
	struct mb_zipf *zipf;
	u32 *streams[MB_MAX_THREADS];
	struct mb_map *maps[ARRAY_SIZE(mb_structs)];
	struct mb_result insert[ARRAY_SIZE(mb_structs)];
	struct mb_result erase[ARRAY_SIZE(mb_structs)];
	struct mb_result sum[ARRAY_SIZE(mb_structs)];
	char memory[ARRAY_SIZE(mb_structs)][64];
	unsigned int runs;
	unsigned long errors;
};

static void mb_report(const struct mb_run *r, const char *dist,
		      const struct mb_result *res, const char *extra)
{
	u64 milli_mops = div64_u64(res->ops * 1000000ULL, res->ns);

	pr_info("masstree_bench: struct=%s shape=%s workload=%s dist=%s threads=%u keys=%u seed=%llu ops=%llu ns=%llu mops=%llu.%03llu%s\n",
		r->st->name, mb_shapes[r->keys->shape].name,
		mb_workload_names[r->workload], dist, r->threads, r->keys->nr,
		r->seed, res->ops, res->ns, div_u64(milli_mops, 1000),
		milli_mops % 1000, extra);
}

/* Run @r, adding its result to @sum; 0 or -errno. */
static int mb_timed(struct mb_bench *b, struct mb_run *r,
		    struct mb_result *sum)
{
	struct mb_result res;
	int err = mb_run(r, &res);

	if (err) {
		pr_err("masstree_bench: cannot start %u threads: %d\n",
		       r->threads, err);
		return err;
	}
	b->runs++;
	b->errors += res.errors;
	sum->ops += res.ops;
	sum->ns += res.ns;
	sum->errors += res.errors;
	return 0;
}

/*
 * Run workload @r->workload on every structure, in slices rounds of
 * duration_ms / slices each, the structures taking turns in each round,
 * and report each structure's rounds added up.
 */
static int mb_timed_all(struct mb_bench *b, struct mb_run *r, const char *dist)
{
	unsigned int round, i, k;
	int err = 0;

	memset(b->sum, 0, sizeof(b->sum));
	for (round = 0; round < slices && !err; round++) {
		for (k = 0; k < ARRAY_SIZE(mb_structs) && !err; k++) {
			i = mb_turn(round, k);
			if (!b->maps[i])
				continue;
			r->st = mb_structs[i];
			r->map = b->maps[i];
			err = mb_timed(b, r, &b->sum[i]);
		}
	}
	for (i = 0; i < ARRAY_SIZE(mb_structs) && !err; i++) {
		if (!b->maps[i])
			continue;
		r->st = mb_structs[i];
		mb_report(r, dist, &b->sum[i], "");
	}
	return err;
}

static void mb_check_count(struct mb_bench *b, const struct mb_run *r,
			   unsigned long want)
{
	unsigned long got = r->st->count(r->map);

	if (got != want) {
		pr_err("masstree_bench: FAIL struct=%s shape=%s threads=%u: %lu keys after %s, %lu expected\n",
		       r->st->name, mb_shapes[r->keys->shape].name, r->threads,
		       got, mb_workload_names[r->workload], want);
		b->errors++;
	}
}

static bool mb_runs_on(const struct mb_struct *st, unsigned int shape)
{
	return mb_listed(structs, st->name) &&
	       (!st->integer_only || mb_shapes[shape].integer);
}

/*
 * Run @r's insert or erase on structure @i's map (created first if it has
 * none), adding its result to @sum; then check the key count.
 */
static int mb_fill_or_empty(struct mb_bench *b, struct mb_run *r,
			    unsigned int i, enum mb_workload workload,
			    struct mb_result *sum)
{
	int err;

	r->st = mb_structs[i];
	r->workload = workload;
	r->zipf = NULL;
	if (!b->maps[i]) {
		b->maps[i] = r->st->create();
		if (!b->maps[i])
			return -ENOMEM;
	}
	r->map = b->maps[i];
	err = mb_timed(b, r, sum);
	if (!err)
		mb_check_count(b, r, workload == MB_W_INSERT ? r->keys->nr : 0);
	/*
	 * Frees deferred through RCU (masstree's, the maple tree's) run now,
	 * untimed, not inside whatever is timed next: the next structure's
	 * erase, or this one's next fill.
	 */
	if (workload == MB_W_ERASE)
		rcu_barrier();
	return err;
}

/* " bytes_per_key=... own_bytes_per_key=..." of structure @i's full map. */
static void mb_memory(struct mb_bench *b, struct mb_run *r, unsigned int i,
		      u64 before, char *extra, size_t size)
{
	u64 used = mb_slab_bytes();

	used = used > before ? used - before : 0;
	used = div_u64(used * 10, r->keys->nr);
	snprintf(extra, size, " bytes_per_key=%llu.%llu",
		 div_u64(used, 10), used % 10);
	if (mb_structs[i]->own_bytes) {
		u64 own = div_u64((u64)mb_structs[i]->own_bytes(b->maps[i]) * 10,
				  r->keys->nr);

		snprintf(extra + strlen(extra), size - strlen(extra),
			 " own_bytes_per_key=%llu.%llu",
			 div_u64(own, 10), own % 10);
	}
}

/*
 * Fill every structure, fill_rounds times, emptying them between rounds
 * (timed too, into @b->erase); report the inserts, all rounds added up.
 * The first fill is the one measured for memory, if @measure.
 */
static int mb_fill_all(struct mb_bench *b, struct mb_run *r, bool measure)
{
	unsigned int round, i, k;
	unsigned int shape = r->keys->shape;
	int err = 0;

	memset(b->insert, 0, sizeof(b->insert));
	memset(b->erase, 0, sizeof(b->erase));
	memset(b->memory, 0, sizeof(b->memory));
	for (round = 0; round < fill_rounds && !err; round++) {
		for (k = 0; k < ARRAY_SIZE(mb_structs) && !err; k++) {
			u64 before = 0;

			i = mb_turn(round, k);
			if (!mb_runs_on(mb_structs[i], shape))
				continue;
			if (measure && !round)
				before = mb_slab_bytes();
			err = mb_fill_or_empty(b, r, i, MB_W_INSERT, &b->insert[i]);
			if (!err && measure && !round)
				mb_memory(b, r, i, before, b->memory[i],
					  sizeof(b->memory[i]));
		}
		/* The last round's maps stay full for the workloads after. */
		if (round + 1 == fill_rounds)
			break;
		for (k = 0; k < ARRAY_SIZE(mb_structs) && !err; k++) {
			i = mb_turn(round, k);
			if (b->maps[i])
				err = mb_fill_or_empty(b, r, i, MB_W_ERASE,
						       &b->erase[i]);
		}
	}
	if (!mb_listed(workloads, "insert"))
		return err;
	for (i = 0; i < ARRAY_SIZE(mb_structs) && !err; i++) {
		if (!b->maps[i])
			continue;
		r->st = mb_structs[i];
		r->workload = MB_W_INSERT;
		mb_report(r, "none", &b->insert[i], b->memory[i]);
	}
	return err;
}

/*
 * One thread count: fill every structure (timed, over fill_rounds rounds
 * of fill and empty), run each read and mixed workload on every structure
 * in turn, then empty them (timed, added to the rounds' emptying). The
 * structures take turns at each workload, with the same operation
 * streams, so that a slow drift of the host's load hits them alike.
 */
static int mb_cycle(struct mb_bench *b, struct mb_run *r, bool measure)
{
	static const enum mb_workload middle[] = {
		MB_W_GET, MB_W_MIX90, MB_W_MIX50, MB_W_SCAN,
	};
	unsigned int d, w, i;
	int err;

	err = mb_fill_all(b, r, measure);

	for (d = 0; d < ARRAY_SIZE(mb_dist_names) && !err; d++) {
		if (!mb_listed(dists, mb_dist_names[d]))
			continue;
		r->zipf = d ? b->zipf : NULL;
		for (w = 0; w < ARRAY_SIZE(middle) && !err; w++) {
			r->workload = middle[w];
			if (mb_listed(workloads, mb_workload_names[r->workload]))
				err = mb_timed_all(b, r, mb_dist_names[d]);
		}
	}

	r->zipf = NULL;
	for (i = 0; i < ARRAY_SIZE(mb_structs) && !err; i++) {
		if (!b->maps[i])
			continue;
		/* The mixes stored over present keys only: still all there. */
		r->st = mb_structs[i];
		r->map = b->maps[i];
		mb_check_count(b, r, r->keys->nr);
		err = mb_fill_or_empty(b, r, i, MB_W_ERASE, &b->erase[i]);
		if (!err && mb_listed(workloads, "erase"))
			mb_report(r, "none", &b->erase[i], "");
	}

	for (i = 0; i < ARRAY_SIZE(mb_structs); i++) {
		if (b->maps[i])
			mb_structs[i]->destroy(b->maps[i]);
		b->maps[i] = NULL;
	}
	r->map = NULL;
	return err;
}

static int mb_matrix(struct mb_bench *b)
{
	struct mb_run r = {
		.keys = &b->keys, .duration_ms = duration_ms / slices, .seed = seed,
		.streams = b->streams, .stream_len = mb_stream_len(),
	};
	unsigned int s, t;
	int err = 0;

	for (s = 0; s < mb_nr_shapes; s++) {
		if (!mb_listed(shapes, mb_shapes[s].name))
			continue;
		err = mb_keys_init(&b->keys, s, keys, seed);
		if (err) {
			pr_err("masstree_bench: cannot make %s keys: %d\n",
			       mb_shapes[s].name, err);
			return err;
		}
		for (t = 0; t < nr_threads && !err; t++) {
			r.threads = threads[t];
			err = mb_cycle(b, &r, mem && !t);
		}
		mb_keys_fini(&b->keys);
		if (err)
			return err;
	}
	return 0;
}

static void mb_free(struct mb_bench *b)
{
	unsigned int i;

	for (i = 0; i < MB_MAX_THREADS; i++)
		kvfree(b->streams[i]);
	mb_zipf_destroy(b->zipf);
	kfree(b);
}

static int __init masstree_bench_init(void)
{
	struct mb_bench *b;
	unsigned int i, most = 1;
	int err = 0;

	if (!mb_params_valid())
		return -EINVAL;
	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return -ENOMEM;
	for (i = 0; i < nr_threads; i++)
		most = max(most, threads[i]);
	for (i = 0; i < most && !err; i++) {
		b->streams[i] = kvmalloc_array(mb_stream_len(), sizeof(u32),
					       GFP_KERNEL);
		if (!b->streams[i])
			err = -ENOMEM;
	}
	if (!err && mb_listed(dists, "zipf")) {
		b->zipf = mb_zipf_create(keys);
		if (!b->zipf)
			err = -ENOMEM;
	}
	if (!err)
		err = mb_matrix(b);
	pr_info("masstree_bench: done: %u runs, %lu wrong answers, status %d\n",
		b->runs, b->errors, err);
	if (!err && b->errors)
		err = -EIO;
	mb_free(b);
	return err;
}

static void __exit masstree_bench_exit(void)
{
}

module_init(masstree_bench_init);
module_exit(masstree_bench_exit);

MODULE_DESCRIPTION("Benchmarks of masstree against rbtree, maple tree and XArray");
MODULE_AUTHOR("The masstree developers");
MODULE_LICENSE("GPL");
