/* SPDX-License-Identifier: GPL-2.0 */
/*
 * masstree_bench: shared declarations of the driver (main.c), the runner
 * (run.c), the key sets (keys.c, zipf.c) and the structures under test
 * (st_*.c).
 */
#ifndef _MASSTREE_BENCH_H
#define _MASSTREE_BENCH_H

#include <linux/bits.h>
#include <linux/types.h>
#include <linux/xarray.h>

/* Keys scanned per scan operation. */
#define MB_SCAN_LEN	100
/* Longest key of any shape. */
#define MB_MAX_KEY_LEN	32
/*
 * Most operations in a thread's pre-drawn stream (a power of two); a
 * duration run cycles it. Small key sets use shorter streams.
 */
#define MB_STREAM_LEN	BIT(16)
/* In a stream entry: this bit asks for a store instead of a get. */
#define MB_OP_STORE	BIT(31)

/**
 * struct mb_keys - the key set of one run of the matrix.
 * @shape: index into mb_shapes[].
 * @len: bytes per key.
 * @nr: number of keys.
 * @bytes: @nr keys of @len bytes, in insertion order (key i at i * @len).
 * @rank: rank of key i in sorted order (for checking scans).
 */
struct mb_keys {
	unsigned int shape;
	unsigned int len;
	unsigned int nr;
	u8 *bytes;
	u32 *rank;
};

/**
 * struct mb_shape - a kind of key.
 * @name: its name in parameters and result lines.
 * @len: bytes per key.
 * @integer: the keys are big-endian integers [0, nr): integer-keyed
 *	structures (maple tree, XArray) can take them.
 */
struct mb_shape {
	const char *name;
	unsigned int len;
	bool integer;
};

extern const struct mb_shape mb_shapes[];
extern const unsigned int mb_nr_shapes;

static inline const u8 *mb_key(const struct mb_keys *k, unsigned int i)
{
	return k->bytes + (size_t)i * k->len;
}

/*
 * The entry stored for key i: an XArray value entry (odd, never NULL,
 * never reserved for masstree, maple tree or XArray), with a generation
 * bit that stores flip.
 */
static inline void *mb_entry(unsigned int i, unsigned int gen)
{
	return xa_mk_value(((unsigned long)i << 1) | (gen & 1));
}

/* Is @entry one of the two entries of key @i? */
static inline bool mb_entry_ok(const void *entry, unsigned int i)
{
	return entry && xa_is_value(entry) && (xa_to_value(entry) >> 1) == i;
}

int mb_keys_init(struct mb_keys *k, unsigned int shape, unsigned int nr,
		 u64 seed);
void mb_keys_fini(struct mb_keys *k);

/* zipf.c: key choice with a Zipfian distribution (theta 0.99). */
struct mb_zipf;
struct mb_zipf *mb_zipf_create(unsigned int nr);
void mb_zipf_destroy(struct mb_zipf *z);
unsigned int mb_zipf_draw(const struct mb_zipf *z, u32 rnd_hi, u32 rnd_lo);

struct mb_map;

/**
 * struct mb_struct - a data structure under test, as its natural kernel
 *	API uses it. Every operation is safe against the others from any
 *	number of threads, in process context.
 * @name: its name in parameters and result lines.
 * @integer_only: takes only integer keys (the key bytes are big-endian).
 * @store_no_old: @store cannot tell the old entry (it sets *@old to NULL).
 * @create: a new, empty map; NULL on -ENOMEM.
 * @destroy: free the map and every node (entries are not allocated).
 * @insert: add a key that must be absent: 0, -EEXIST or -ENOMEM.
 * @load: the key's entry, or NULL.
 * @store: replace (or add) the key's entry: 0 and the old entry in
 *	*@old (NULL if the structure does not say), or -errno.
 * @erase: remove the key; its entry, or NULL if absent.
 * @scan: from the first key >= @key, visit up to @max keys in order:
 *	their number, and the first entry in *@first.
 * @count: number of keys (the map is quiescent).
 * @own_bytes: memory the structure says it holds, or 0 if it keeps no
 *	account.
 */
struct mb_struct {
	const char *name;
	bool integer_only;
	bool store_no_old;
	struct mb_map *(*create)(void);
	void (*destroy)(struct mb_map *m);
	int (*insert)(struct mb_map *m, const u8 *key, unsigned int len,
		      void *entry);
	void *(*load)(struct mb_map *m, const u8 *key, unsigned int len);
	int (*store)(struct mb_map *m, const u8 *key, unsigned int len,
		     void *entry, void **old);
	void *(*erase)(struct mb_map *m, const u8 *key, unsigned int len);
	unsigned int (*scan)(struct mb_map *m, const u8 *key,
			     unsigned int len, unsigned int max, void **first);
	unsigned long (*count)(struct mb_map *m);
	unsigned long (*own_bytes)(struct mb_map *m);
};

extern const struct mb_struct mb_st_masstree;
extern const struct mb_struct mb_st_rbtree_rw;
extern const struct mb_struct mb_st_rbtree_spin;
extern const struct mb_struct mb_st_maple;
extern const struct mb_struct mb_st_xarray;

/* What a timed run does. */
enum mb_workload {
	MB_W_INSERT,	/* every key, from empty, split between threads */
	MB_W_GET,	/* gets of present keys for the duration */
	MB_W_MIX90,	/* 90% gets, 10% stores of present keys */
	MB_W_MIX50,	/* 50% gets, 50% stores */
	MB_W_SCAN,	/* forward scans of MB_SCAN_LEN keys */
	MB_W_ERASE,	/* every key, split between threads */
	MB_W_NR,
};

extern const char *const mb_workload_names[MB_W_NR];

/**
 * struct mb_result - what one timed run measured.
 * @ops: operations done (a scan counts one).
 * @ns: wall time from the threads' release to the last one's end.
 * @errors: wrong answers seen (each also logged, rate-limited).
 */
struct mb_result {
	u64 ops;
	u64 ns;
	unsigned long errors;
};

/**
 * struct mb_run - one timed run.
 * @st: the structure.
 * @map: its map.
 * @keys: the key set.
 * @zipf: the Zipfian sampler, or NULL for uniform key choice.
 * @workload: what to do.
 * @threads: number of kthreads.
 * @duration_ms: how long the duration workloads run.
 * @seed: seeds each thread's stream.
 * @streams: @threads arrays of @stream_len stream entries (key index,
 *	or'ed with MB_OP_STORE for a store), preallocated by the caller.
 * @stream_len: a power of two, at most MB_STREAM_LEN.
 */
struct mb_run {
	const struct mb_struct *st;
	struct mb_map *map;
	const struct mb_keys *keys;
	const struct mb_zipf *zipf;
	enum mb_workload workload;
	unsigned int threads;
	unsigned int duration_ms;
	u64 seed;
	u32 **streams;
	unsigned int stream_len;
};

int mb_run(const struct mb_run *run, struct mb_result *res);

#endif /* _MASSTREE_BENCH_H */
