// SPDX-License-Identifier: GPL-2.0
/*
 * Native benchmark of the masstree core against two baselines in the
 * same process: an AVL tree (avl.c) behind a pthread rwlock, and the
 * same tree behind one mutex.
 *
 * For each key shape (8-byte big-endian integers, 16 random bytes, 24
 * bytes with a 16-byte common prefix, 32 random bytes) and each thread
 * count, every structure runs: insert (the keys in random order, split
 * between the threads), get, store (update), 90/10 and 50/50 get/store
 * mixes, each with uniform and Zipfian (theta 0.99, scrambled) key
 * choice, 100-key scans from a random key, and erase (every key).
 * Reported: Mops/s over all threads, ns per operation per thread, the
 * ratio masstree/baseline, and memory per key after the inserts
 * (masstree: its stats' bytes; baselines: their own node accounting).
 *
 * Every operation's result is checked (a get finds the key's value, a
 * scan returns as many keys as the sorted order says, an erase returns
 * the key's value...): a wrong result fails the run, so the smoke mode
 * in `make check` is a test. No timing is ever asserted.
 *
 *   bench [-n keys] [-o ops] [-t threads,...] [-k shapes] [-w workloads]
 *         [-m structures] [-s seed] [--csv] [--smoke] [--callgrind]
 *
 * -o is the operation count of each timed workload over all threads
 * (default: the key count; scans do a tenth of it). --smoke: 2000 keys, 1 and 2 threads, all
 * shapes, workloads and structures, a fraction of a second each.
 * --callgrind: one thread, 100000 keys and ops unless given, masstree
 * only unless -m says otherwise: deterministic (fixed seed and counts),
 * for `valgrind --tool=callgrind --toggle-collect=bench_worker` and
 * scripts/bench-instr.sh. In this mode call_rcu() only queues its
 * callback; the queue is handed to liburcu after each workload, so that
 * no grace period or wakeup of liburcu's thread lands in the measured
 * calls (their instruction counts would depend on thread timing).
 */
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "../include/shim.h"
#include <linux/masstree.h>
#include "../lib/alloc.h"
#include "../../../masstree/testing.h"
#include "avl.h"

enum { SH_INT8, SH_RAND16, SH_PREFIX24, SH_RAND32, SH_NR };
static const char *const shape_name[SH_NR] = {
	"int8", "rand16", "prefix24", "rand32",
};

static const unsigned int shape_len[SH_NR] = { 8, 16, 24, 32 };

enum { ST_MASSTREE, ST_RWLOCK, ST_MUTEX, ST_NR };

static const char *const st_name[ST_NR] = {
	"masstree", "rwlock-avl", "mutex-avl",
};

enum {
	W_INSERT, W_GET_U, W_GET_Z, W_STORE_U, W_STORE_Z, W_MIX90_U, W_MIX90_Z,
	W_MIX50_U, W_MIX50_Z, W_SCAN100, W_ERASE, W_NR,
};

static const char *const w_name[W_NR] = {
	"insert", "get-uniform", "get-zipf", "store-uniform", "store-zipf",
	"90/10-uniform", "90/10-zipf", "50/50-uniform", "50/50-zipf",
	"scan100", "erase",
};

/* Percentage of gets in a workload's get/store mix. */
static const int w_get_pct[W_NR] = {
	[W_GET_U] = 100, [W_GET_Z] = 100, [W_MIX90_U] = 90, [W_MIX90_Z] = 90,
	[W_MIX50_U] = 50, [W_MIX50_Z] = 50,
};

static unsigned long nkeys = 1000000, nops;
static unsigned long seed = 1;
static int threads_list[8] = { 1, 0 }, nthreads_list;
static bool csv, smoke, callgrind;
static unsigned int shape_mask = (1u << SH_NR) - 1;
static unsigned int w_mask = (1u << W_NR) - 1;
static unsigned int st_mask = (1u << ST_NR) - 1;
static long errors;

/* The keys of the current shape: key i at keys + i * klen. */
static u8 *keys;
static unsigned int klen;
static u32 *perm;	/* random order: inserts, erases, Zipf scrambling */
static u32 *rank_of;	/* position of key i in sorted order */

static DEFINE_MASSTREE(map);
static struct avl_tree avl;

#define ERR(...) do {							\
	if (__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED) < 10) {	\
		fprintf(stderr, "bench: wrong result: " __VA_ARGS__);	\
		fprintf(stderr, "\n");					\
	}								\
} while (0)

static u64 rnd(u64 *s)
{
	u64 z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A value names its key (and a tag), so every result can be checked. */
static void *val(unsigned long i, unsigned int tag)
{
	return (void *)(uintptr_t)((((u64)i << 8 | (tag & 0xff)) + 1) << 3);
}

static bool val_is(void *v, unsigned long i)
{
	return v && (((uintptr_t)v >> 3) - 1) >> 8 == i;
}

static const u8 *key(unsigned long i)
{
	return keys + (size_t)i * klen;
}

/*
 * Zipfian ranks (Gray et al., "Quickly generating billion-record
 * synthetic databases", as in YCSB), theta 0.99; rank r is key perm[r],
 * so hot keys are spread over the key space.
 */
static double zipf_zetan, zipf_eta, zipf_alpha, zipf_half_pow;
#define ZIPF_THETA	0.99

static void zipf_init(unsigned long n)
{
	double zeta2 = 1 + pow(0.5, ZIPF_THETA);
	unsigned long i;

	zipf_zetan = 0;
	for (i = 1; i <= n; i++)
		zipf_zetan += 1 / pow((double)i, ZIPF_THETA);
	zipf_alpha = 1 / (1 - ZIPF_THETA);
	zipf_eta = (1 - pow(2.0 / n, 1 - ZIPF_THETA)) / (1 - zeta2 / zipf_zetan);
	zipf_half_pow = 1 + pow(0.5, ZIPF_THETA);
}

static unsigned long zipf_next(u64 *s)
{
	double u = (rnd(s) >> 11) * (1.0 / 9007199254740992.0);
	double uz = u * zipf_zetan;
	unsigned long r;

	if (uz < 1)
		r = 0;
	else if (uz < zipf_half_pow)
		r = 1;
	else
		r = nkeys * pow(zipf_eta * u - zipf_eta + 1, zipf_alpha);
	if (r >= nkeys)
		r = nkeys - 1;
	return perm[r];
}

static int sort_cmp(const void *a, const void *b)
{
	return memcmp(key(*(const u32 *)a), key(*(const u32 *)b), klen);
}

/* Keys of @sh, unique, with their random order and sorted ranks. */
static void make_keys(int sh)
{
	u64 s = seed * 31 + sh;
	unsigned long i, j, dups;
	u32 *sorted;

	klen = shape_len[sh];
	free(keys);
	keys = malloc((size_t)nkeys * klen);
	for (i = 0; i < nkeys; i++) {
		u8 *k = keys + (size_t)i * klen;

		switch (sh) {
		case SH_INT8:
			for (j = 0; j < 8; j++)
				k[j] = (u64)i >> (56 - 8 * j);
			break;
		case SH_PREFIX24:
			memcpy(k, "common-prefix-16", 16);
			for (j = 16; j < 24; j++)
				k[j] = rnd(&s);
			break;
		default:
			for (j = 0; j < klen; j++)
				k[j] = rnd(&s);
			break;
		}
	}
	free(perm);
	perm = malloc(nkeys * sizeof(*perm));
	for (i = 0; i < nkeys; i++)
		perm[i] = i;
	for (i = nkeys - 1; i > 0; i--) {
		j = rnd(&s) % (i + 1);
		u32 t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
	}
	sorted = malloc(nkeys * sizeof(*sorted));
	memcpy(sorted, perm, nkeys * sizeof(*sorted));
	qsort(sorted, nkeys, sizeof(*sorted), sort_cmp);
	free(rank_of);
	rank_of = malloc(nkeys * sizeof(*rank_of));
	for (i = 0, dups = 0; i < nkeys; i++) {
		rank_of[sorted[i]] = i;
		if (i && !sort_cmp(&sorted[i - 1], &sorted[i]))
			dups++;
	}
	free(sorted);
	if (dups) {
		fprintf(stderr, "bench: %lu duplicate random keys: another seed\n",
			dups);
		exit(2);
	}
	zipf_init(nkeys);
}

struct worker {
	pthread_t th;
	int id, nthreads, st, w;
	unsigned long ops;
	pthread_barrier_t *start;
	double t0, t1;	/* this thread's own start and end */
};

struct scan_count {
	unsigned int n;
	unsigned long from;
};

static int mst_scan_fn(const void *k, size_t len, void *v, void *arg)
{
	struct scan_count *sc = arg;

	if (!v || ((uintptr_t)v & 7))
		ERR("scan: entry %p", v);
	return ++sc->n == 100;
}

static bool avl_scan_fn_count(const void *k, size_t len, void *v, void *arg)
{
	struct scan_count *sc = arg;

	if (!v || ((uintptr_t)v & 7))
		ERR("scan: entry %p", v);
	return ++sc->n < 100;
}

static void *get_op(int st, unsigned long i)
{
	if (st == ST_MASSTREE)
		return masstree_load(&map, key(i), klen);
	return avl_get(&avl, key(i), klen);
}

static void *store_op(int st, unsigned long i, void *v)
{
	if (st == ST_MASSTREE)
		return masstree_store(&map, key(i), klen, v, GFP_KERNEL);
	return avl_store(&avl, key(i), klen, v);
}

/* The timed loop; a function of its own for callgrind's --toggle-collect. */
static noinline void bench_worker(struct worker *wk)
{
	unsigned long lo = nkeys * wk->id / wk->nthreads;
	unsigned long hi = nkeys * (wk->id + 1) / wk->nthreads;
	u64 s = seed * 1000003 + wk->id * 7919 + wk->w * 131 + wk->st;
	bool zipf = wk->w == W_GET_Z || wk->w == W_STORE_Z ||
		    wk->w == W_MIX90_Z || wk->w == W_MIX50_Z;
	int get_pct = w_get_pct[wk->w];
	unsigned long n, i;
	void *ret;
	int err;

	switch (wk->w) {
	case W_INSERT:
		for (n = lo; n < hi; n++) {
			i = perm[n];
			if (wk->st == ST_MASSTREE)
				err = masstree_insert(&map, key(i), klen, val(i, 0),
						      GFP_KERNEL);
			else
				err = avl_insert(&avl, key(i), klen, val(i, 0));
			if (err)
				ERR("insert key %lu: %d", i, err);
		}
		return;
	case W_ERASE:
		for (n = lo; n < hi; n++) {
			i = perm[n];
			if (wk->st == ST_MASSTREE)
				ret = masstree_erase(&map, key(i), klen);
			else
				ret = avl_erase(&avl, key(i), klen);
			if (!val_is(ret, i))
				ERR("erase key %lu: %p", i, ret);
		}
		return;
	case W_SCAN100:
		for (n = 0; n < wk->ops; n++) {
			struct scan_count sc = { 0 };
			unsigned long want;

			i = rnd(&s) % nkeys;
			want = nkeys - rank_of[i] < 100 ? nkeys - rank_of[i] : 100;
			if (wk->st == ST_MASSTREE)
				masstree_scan(&map, key(i), klen, NULL, 0,
					      MASSTREE_SCAN_NO_END, mst_scan_fn, &sc);
			else
				avl_scan(&avl, key(i), klen, avl_scan_fn_count, &sc);
			if (sc.n != want)
				ERR("scan from key %lu: %u keys, expected %lu", i,
				    sc.n, want);
		}
		return;
	}
	for (n = 0; n < wk->ops; n++) {
		u64 r = rnd(&s);

		i = zipf ? zipf_next(&s) : r % nkeys;
		if ((int)((r >> 40) % 100) < get_pct) {
			ret = get_op(wk->st, i);
			if (!val_is(ret, i))
				ERR("get key %lu: %p", i, ret);
		} else {
			ret = store_op(wk->st, i, val(i, n));
			if (!val_is(ret, i))
				ERR("store key %lu: old %p", i, ret);
		}
	}
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;

	rcu_register_thread();
	pthread_barrier_wait(wk->start);
	wk->t0 = now();
	bench_worker(wk);
	wk->t1 = now();
	mst_preload_drain();
	rcu_unregister_thread();
	return NULL;
}

/* One workload on one structure; returns the seconds it took. */
static double run(int st, int w, int nthreads, unsigned long *ops)
{
	struct worker wk[64];
	pthread_barrier_t start;
	double t0 = 0, t1 = 0;
	int i;

	/* A scan reads 100 keys: a tenth of the operations. */
	*ops = w == W_INSERT || w == W_ERASE ? nkeys :
	       w == W_SCAN100 ? (nops / 10 > (unsigned long)nthreads ?
				 nops / 10 : nthreads) : nops;
	pthread_barrier_init(&start, NULL, nthreads + 1);
	for (i = 0; i < nthreads; i++) {
		wk[i] = (struct worker){
			.id = i, .nthreads = nthreads, .st = st, .w = w,
			.ops = *ops / nthreads, .start = &start,
		};
		pthread_create(&wk[i].th, NULL, worker_main, &wk[i]);
	}
	/*
	 * From the first thread's start to the last one's end: the main
	 * thread may not run while the workers do.
	 */
	pthread_barrier_wait(&start);
	for (i = 0; i < nthreads; i++) {
		pthread_join(wk[i].th, NULL);
		if (!i || wk[i].t0 < t0)
			t0 = wk[i].t0;
		if (!i || wk[i].t1 > t1)
			t1 = wk[i].t1;
	}
	pthread_barrier_destroy(&start);
	/*
	 * --callgrind: the workload's RCU callbacks were only queued (see
	 * shim_rcu_defer); run them all now, outside the measured calls,
	 * so that the next workload starts from the same state every time.
	 */
	if (callgrind) {
		shim_rcu_flush();
		rcu_barrier();
	}
	if (w != W_INSERT && w != W_ERASE)
		*ops = *ops / nthreads * nthreads;
	return t1 - t0;
}

struct result {
	double mops, ns;
};

static struct result results[ST_NR][W_NR];
static double bytes_per_key[ST_NR];

static void print_header(int nthreads)
{
	int st;

	if (csv)
		return;
	printf("\n%d thread%s, %lu keys, %lu ops per timed workload (scans %lu)\n",
	       nthreads, nthreads > 1 ? "s" : "", nkeys, nops, nops / 10);
	printf("%-9s %-14s", "shape", "workload");
	for (st = 0; st < ST_NR; st++)
		if (st_mask & (1u << st))
			printf(" %10s Mops %6s", st_name[st], "ns/op");
	if ((st_mask & 1) && (st_mask & 2))
		printf(" %6s", "mt/rw");
	if ((st_mask & 1) && (st_mask & 4))
		printf(" %6s", "mt/mtx");
	printf("\n");
}

static void print_ratio(double a, double b)
{
	if (b > 0)
		printf(" %6.2f", a / b);
	else
		printf(" %6s", "-");
}

static void print_shape(int sh, int nthreads)
{
	int st, w;

	for (w = 0; w < W_NR; w++) {
		if (!(w_mask & (1u << w)))
			continue;
		if (csv) {
			for (st = 0; st < ST_NR; st++)
				if (st_mask & (1u << st))
					printf("%s,%s,%s,%d,%lu,%.4f,%.1f,%.1f\n",
					       shape_name[sh], w_name[w], st_name[st],
					       nthreads, nkeys, results[st][w].mops,
					       results[st][w].ns, bytes_per_key[st]);
			continue;
		}
		printf("%-9s %-14s", shape_name[sh], w_name[w]);
		for (st = 0; st < ST_NR; st++)
			if (st_mask & (1u << st))
				printf(" %15.2f %6.0f", results[st][w].mops,
				       results[st][w].ns);
		if ((st_mask & 1) && (st_mask & 2))
			print_ratio(results[0][w].mops, results[1][w].mops);
		if ((st_mask & 1) && (st_mask & 4))
			print_ratio(results[0][w].mops, results[2][w].mops);
		printf("\n");
	}
	if (!csv) {
		printf("%-9s %-14s", shape_name[sh], "bytes/key");
		for (st = 0; st < ST_NR; st++)
			if (st_mask & (1u << st))
				printf(" %15.1f %6s", bytes_per_key[st], "");
		printf("\n");
	}
}

/* Every workload on one structure, from empty back to empty. */
static void run_structure(int st, int nthreads)
{
	struct masstree_stats ms;
	unsigned long ops;
	int w;

	if (st == ST_MASSTREE)
		masstree_init(&map, 0);
	else
		avl_init(&avl, st == ST_MUTEX);
	for (w = 0; w < W_NR; w++) {
		double secs;

		/* Insert and erase always run: the others need the keys. */
		if (!(w_mask & (1u << w)) && w != W_INSERT && w != W_ERASE)
			continue;
		secs = run(st, w, nthreads, &ops);
		results[st][w].mops = ops / secs / 1e6;
		results[st][w].ns = secs * 1e9 * nthreads / ops;
		if (w == W_INSERT) {
			if (st == ST_MASSTREE) {
				masstree_get_stats(&map, &ms);
				if (ms.keys != nkeys)
					ERR("masstree holds %lu keys, expected %lu",
					    ms.keys, nkeys);
				bytes_per_key[st] = (double)ms.bytes / nkeys;
			} else {
				if (avl.nr != (long)nkeys)
					ERR("avl holds %ld keys, expected %lu",
					    avl.nr, nkeys);
				bytes_per_key[st] = (double)avl.bytes / nkeys;
			}
		}
	}
	if (st == ST_MASSTREE) {
		masstree_get_stats(&map, &ms);
		if (ms.keys || masstree_validate(&map))
			ERR("masstree not empty after erasing every key");
		masstree_destroy(&map);
	} else {
		if (avl.nr || avl.root)
			ERR("avl not empty after erasing every key");
		avl_destroy(&avl);
	}
}

static unsigned int parse_names(char *arg, const char *const *names, int n)
{
	unsigned int mask = 0;
	char *tok, *save = NULL;
	int i;

	for (tok = strtok_r(arg, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < n && strcmp(tok, names[i]); i++)
			;
		if (i == n) {
			fprintf(stderr, "bench: unknown name %s; one of:", tok);
			for (i = 0; i < n; i++)
				fprintf(stderr, " %s", names[i]);
			fprintf(stderr, "\n");
			exit(2);
		}
		mask |= 1u << i;
	}
	return mask;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench [-n keys] [-o ops] [-t threads,...] [-k shapes] [-w workloads]\n"
		"             [-m structures] [-s seed] [--csv] [--smoke] [--callgrind]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "csv", no_argument, NULL, 'C' },
		{ "smoke", no_argument, NULL, 'S' },
		{ "callgrind", no_argument, NULL, 'G' },
		{ NULL, 0, NULL, 0 },
	};
	bool keys_set = false, st_set = false;
	char *tok, *save = NULL;
	int opt, sh, ti, st;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	threads_list[1] = ncpu > 1 ? ncpu : 0;
	nthreads_list = ncpu > 1 ? 2 : 1;
	while ((opt = getopt_long(argc, argv, "n:o:t:k:w:m:s:", lopts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			nkeys = strtoul(optarg, NULL, 0);
			keys_set = true;
			break;
		case 'o':
			nops = strtoul(optarg, NULL, 0);
			break;
		case 't':
			nthreads_list = 0;
			for (tok = strtok_r(optarg, ",", &save); tok && nthreads_list < 8;
			     tok = strtok_r(NULL, ",", &save))
				threads_list[nthreads_list++] = atoi(tok);
			break;
		case 'k':
			shape_mask = parse_names(optarg, shape_name, SH_NR);
			break;
		case 'w':
			w_mask = parse_names(optarg, w_name, W_NR);
			break;
		case 'm':
			st_mask = parse_names(optarg, st_name, ST_NR);
			st_set = true;
			break;
		case 's':
			seed = strtoul(optarg, NULL, 0);
			break;
		case 'C':
			csv = true;
			break;
		case 'S':
			smoke = true;
			break;
		case 'G':
			callgrind = true;
			break;
		default:
			usage();
		}
	}
	if (smoke) {
		if (!keys_set)
			nkeys = 2000;
		threads_list[0] = 1;
		threads_list[1] = 2;
		nthreads_list = 2;
	}
	if (callgrind) {
		if (!keys_set)
			nkeys = 100000;
		threads_list[0] = 1;
		nthreads_list = 1;
		if (!st_set)
			st_mask = 1u << ST_MASSTREE;
		shim_rcu_defer = true;
	}
	if (!nops)
		nops = nkeys;
	for (ti = 0; ti < nthreads_list; ti++)
		if (threads_list[ti] < 1 || threads_list[ti] > 64 || nkeys < 2 ||
		    nops < (unsigned long)threads_list[ti])
			usage();

	/* Each shape's rows as soon as they are measured. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	rcu_register_thread();
	if (mst_node_caches_init())
		return 1;
	if (csv)
		printf("shape,workload,structure,threads,keys,mops,ns_per_op,bytes_per_key\n");
	for (ti = 0; ti < nthreads_list; ti++) {
		print_header(threads_list[ti]);
		for (sh = 0; sh < SH_NR; sh++) {
			if (!(shape_mask & (1u << sh)))
				continue;
			make_keys(sh);
			memset(results, 0, sizeof(results));
			for (st = 0; st < ST_NR; st++)
				if (st_mask & (1u << st))
					run_structure(st, threads_list[ti]);
			print_shape(sh, threads_list[ti]);
		}
	}
	mst_preload_drain();
	mst_node_caches_exit();
	if (shim_live_allocs)
		ERR("%ld allocations leaked", shim_live_allocs);
	if (errors) {
		fprintf(stderr, "bench: %ld wrong results: FAIL\n", errors);
		return 1;
	}
	if (!csv)
		printf("\nbench: every result checked: PASS\n");
	return 0;
}
