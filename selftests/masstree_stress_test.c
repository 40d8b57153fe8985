// SPDX-License-Identifier: GPL-2.0
/*
 * Stress through /dev/masstree: many threads on one named map, through one
 * shared descriptor and several descriptors attached to the same map.
 *
 *  - Owned keys: each writer owns keys nobody else writes and keeps a
 *    model of them, so every result it gets must be exactly the model's.
 *  - Hot keys, chosen Zipfian, written by all: values carry the writer and
 *    its sequence number, and every reader checks that, per writer, what
 *    it reads never goes back.
 *  - Scanners run forward and in reverse with small buffers (many
 *    resumes): keys strictly ordered, never twice, values that belong
 *    to their keys.
 *  - Afterwards a full scan equals the merged models.
 *  - A linearizability check of short windows on one hot key (lincheck.c),
 *    and a test that the checker itself rejects a bad history.
 *  - Churn: waves of insert-all and erase-all, after each of which the
 *    map's shape and the module's node counters are back to the empty
 *    baseline.
 *
 * Sizes shrink ten times on a KCSAN kernel (MT_SCALE_DIV overrides) and
 * grow with MT_SCALE (soak runs). The seed is printed; MT_SEED sets it.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "kselftest_harness.h"
#include "lincheck.h"
#include "masstree_util.h"

#define NR_WRITERS	4
#define NR_FDS		3
#define NR_OWNED	24	/* per writer */
#define NR_HOT		8
#define DEEP_PREFIX	300	/* bytes shared by the deep keys */
#define OWNED_VAL_MAX	(16 + 255)

struct owned {
	__u8 *key;
	size_t key_len;
	bool present;
	__u64 version;
	size_t val_len;
};

struct hotval {
	__u64 writer;
	__u64 seq;
	__u64 check;
};

struct stress {
	const char *name;
	int fds[NR_FDS];
	__u64 seed;
	long ops_per_writer;
	atomic_int writers_left;
	atomic_long ops;
	atomic_long scans;
	struct mst_failures errors;
	/* Per writer, per hot key: the last sequence number written. */
	atomic_ulong hot_seq[NR_WRITERS][NR_HOT];
	struct owned owned[NR_WRITERS][NR_OWNED];
};

static __u64 seed_from_env(void)
{
	const char *e = getenv("MT_SEED");

	if (e)
		return strtoull(e, NULL, 0) ?: 1;
	return (mst_now_ns() ^ (__u64)getpid() << 32) | 1;
}

static void hot_key(int k, char *buf, size_t *len)
{
	*len = (size_t)snprintf(buf, 16, "hot-%d", k);
}

static bool is_hot(const __u8 *key, size_t len)
{
	return len >= 4 && len <= 6 && !memcmp(key, "hot-", 4);
}

/*
 * Owned key shapes: short, a deep prefix shared by every writer (layers
 * created and collapsed), and two near MASSTREE_KEY_MAX.
 */
static void make_owned_key(struct owned *o, int w, int i)
{
	size_t len;

	if (i < 16) {
		o->key = malloc(32);
		len = (size_t)snprintf((char *)o->key, 32, "own-%d-%02d", w, i);
	} else if (i < 22) {
		len = DEEP_PREFIX + 2;
		o->key = malloc(len);
		memset(o->key, 'd', DEEP_PREFIX);
		o->key[DEEP_PREFIX] = 'a' + w;
		o->key[DEEP_PREFIX + 1] = 'a' + i;
	} else {
		len = MASSTREE_KEY_MAX - (i - 22) * 9;
		o->key = malloc(len);
		memset(o->key, 'z', len);
		o->key[1] = 'a' + w;
		o->key[2] = 'a' + i;
	}
	o->key_len = len;
}

/* An owned value: fnv(key), version, then filler of a length from both. */
static size_t owned_value(const struct owned *o, __u64 version,
			  __u8 *buf)
{
	__u64 h = mst_fnv(o->key, o->key_len);
	size_t len = 16 + (h + version * 7) % 256, i;

	memcpy(buf, &h, 8);
	memcpy(buf + 8, &version, 8);
	for (i = 16; i < len; i++)
		buf[i] = (__u8)(version + i);
	return len;
}

static bool owned_value_ok(const __u8 *key, size_t key_len,
			   const __u8 *val, size_t len)
{
	__u64 h = mst_fnv(key, key_len), version;
	size_t i;

	if (len < 16 || memcmp(val, &h, 8))
		return false;
	memcpy(&version, val + 8, 8);
	if (len != 16 + (h + version * 7) % 256)
		return false;
	for (i = 16; i < len; i++)
		if (val[i] != (__u8)(version + i))
			return false;
	return true;
}

static bool hot_value_ok(const __u8 *val, size_t len, struct hotval *hv)
{
	if (len != sizeof(*hv))
		return false;
	memcpy(hv, val, sizeof(*hv));
	return hv->writer < NR_WRITERS && hv->check == mst_fnv(hv, 16);
}

/* Zipf(1) over NR_HOT keys: weights 1/(k+1). */
static int zipf_hot(__u64 *rs)
{
	static const int cum[NR_HOT] = {
		840, 1260, 1540, 1750, 1918, 2058, 2178, 2283
	};
	int x = mst_rand(rs) % 2283, k;

	for (k = 0; k < NR_HOT - 1; k++)
		if (x < cum[k])
			break;
	return k;
}

struct writer_arg {
	struct stress *s;
	int id;
	int fd;
	/* Per hot key, per writer: the highest sequence this thread read. */
	__u64 seen[NR_HOT][NR_WRITERS];
};

static void check_hot_read(struct writer_arg *a, int k, const __u8 *val,
			   size_t len)
{
	struct hotval hv;
	struct stress *s = a->s;

	if (!hot_value_ok(val, len, &hv)) {
		mst_failure(&s->errors, "hot-%d: malformed value (%zu bytes)", k, len);
		return;
	}
	if (hv.seq < a->seen[k][hv.writer])
		mst_failure(&s->errors, "hot-%d: writer %llu went back from %llu to %llu", k,
			    (unsigned long long)hv.writer,
			    (unsigned long long)a->seen[k][hv.writer], (unsigned long long)hv.seq);
	else if (hv.seq > atomic_load(&s->hot_seq[hv.writer][k]))
		mst_failure(&s->errors, "hot-%d: sequence %llu never written", k,
			    (unsigned long long)hv.seq);
	a->seen[k][hv.writer] = hv.seq;
}

static void hot_op(struct writer_arg *a, __u64 *rs)
{
	struct stress *s = a->s;
	int k = zipf_hot(rs), r = mst_rand(rs) % 10, err;
	__u8 buf[64];
	struct hotval hv;
	char key[16];
	size_t klen, len;

	hot_key(k, key, &klen);
	if (r < 4) {
		hv.writer = a->id;
		hv.seq = atomic_load(&s->hot_seq[a->id][k]) + 1;
		hv.check = mst_fnv(&hv, 16);
		/* Published before the write: readers may see it at once. */
		atomic_store(&s->hot_seq[a->id][k], hv.seq);
		err = mst_put(a->fd, key, klen, &hv, sizeof(hv), 0);
		if (err)
			mst_failure(&s->errors, "hot PUT: %d", err);
	} else if (r < 8) {
		err = mst_get(a->fd, key, klen, buf, sizeof(buf), &len);
		if (!err)
			check_hot_read(a, k, buf, len);
		else if (err != -ENOENT)
			mst_failure(&s->errors, "hot GET: %d", err);
	} else if (r < 9) {
		err = mst_get(a->fd, key, klen, buf, sizeof(buf), &len);
		if (err)
			return;
		check_hot_read(a, k, buf, len);
		hv.writer = a->id;
		hv.seq = atomic_load(&s->hot_seq[a->id][k]) + 1;
		hv.check = mst_fnv(&hv, 16);
		atomic_store(&s->hot_seq[a->id][k], hv.seq);
		err = mst_cmpxchg(a->fd, key, klen, buf, len, &hv, sizeof(hv));
		if (err && err != -ECANCELED && err != -ENOENT)
			mst_failure(&s->errors, "hot CMPXCHG: %d", err);
	} else {
		err = mst_del(a->fd, key, klen);
		if (err && err != -ENOENT)
			mst_failure(&s->errors, "hot DEL: %d", err);
	}
}

static void owned_get_check(struct writer_arg *a, struct owned *o, int err,
			    const __u8 *buf, size_t len)
{
	if (!o->present) {
		if (err != -ENOENT)
			mst_failure(&a->s->errors, "owned GET of an absent key: %d", err);
		return;
	}
	if (err) {
		mst_failure(&a->s->errors, "owned GET: %d", err);
		return;
	}
	{
		__u8 want[OWNED_VAL_MAX];
		size_t wlen = owned_value(o, o->version, want);

		if (len != wlen || memcmp(buf, want, len))
			mst_failure(&a->s->errors,
				    "owned GET: wrong value (%zu bytes, %zu expected)", len, wlen);
	}
}

static void owned_op(struct writer_arg *a, __u64 *rs)
{
	struct stress *s = a->s;
	struct owned *o = &s->owned[a->id][mst_rand(rs) % NR_OWNED];
	__u8 val[OWNED_VAL_MAX], cur[OWNED_VAL_MAX], buf[OWNED_VAL_MAX];
	int r = mst_rand(rs) % 100, err, want;
	size_t len, clen, got;

	len = owned_value(o, o->version + 1, val);
	if (r < 25) {
		err = mst_put(a->fd, o->key, o->key_len, val, len, 0);
		want = 0;
	} else if (r < 35) {
		err = mst_put(a->fd, o->key, o->key_len, val, len,
			      MASSTREE_PUT_NOEXIST);
		want = o->present ? -EEXIST : 0;
	} else if (r < 45) {
		err = mst_put(a->fd, o->key, o->key_len, val, len,
			      MASSTREE_PUT_EXIST);
		want = o->present ? 0 : -ENOENT;
	} else if (r < 65) {
		err = mst_del(a->fd, o->key, o->key_len);
		if (err != (o->present ? 0 : -ENOENT))
			mst_failure(&s->errors, "owned DEL: %d, present %d", err, o->present);
		o->present = false;
		return;
	} else if (r < 85) {
		err = mst_get(a->fd, o->key, o->key_len, buf, sizeof(buf), &got);
		owned_get_check(a, o, err, buf, got);
		return;
	} else if (r < 95) {
		clen = owned_value(o, o->version, cur);
		err = mst_cmpxchg(a->fd, o->key, o->key_len, cur, clen, val, len);
		want = o->present ? 0 : -ENOENT;
	} else {
		/* A wrong expectation: never swaps. */
		clen = owned_value(o, o->version + 7, cur);
		err = mst_cmpxchg(a->fd, o->key, o->key_len, cur, clen, val, len);
		if (err != (o->present ? -ECANCELED : -ENOENT))
			mst_failure(&s->errors, "owned CMPXCHG (wrong expectation): %d", err);
		return;
	}
	if (err != want) {
		mst_failure(&s->errors, "owned op %d: %d, %d expected (key %zu bytes)", r, err,
			    want, o->key_len);
		return;
	}
	if (!err) {
		o->present = true;
		o->version++;
	}
}

/* A BATCH over owned keys (CONTINUE): each result matches the model. */
static void batch_op(struct writer_arg *a, __u64 *rs)
{
	struct stress *s = a->s;
	struct masstree_ioc_op ops[8];
	__u8 vals[8][OWNED_VAL_MAX];
	struct masstree_ioc_batch b = {
		.size = sizeof(b), .flags = MASSTREE_BATCH_CONTINUE,
		.ops = mst_ptr(ops),
	};
	struct owned *os[8];
	bool used[NR_OWNED] = { false };
	int n = 1 + mst_rand(rs) % 8, i, err;

	for (i = 0; i < n; i++) {
		int idx = mst_rand(rs) % NR_OWNED, kind = mst_rand(rs) % 3;
		struct owned *o;

		/* One op per key: results are then independent. */
		while (used[idx])
			idx = (idx + 1) % NR_OWNED;
		used[idx] = true;
		o = &s->owned[a->id][idx];
		os[i] = o;
		mst_op_init(&ops[i], kind == 0 ? MASSTREE_OP_PUT :
			   kind == 1 ? MASSTREE_OP_DEL : MASSTREE_OP_GET,
			   o->key, o->key_len);
		if (kind == 0) {
			ops[i].value = mst_ptr(vals[i]);
			ops[i].value_len = owned_value(o, o->version + 1, vals[i]);
		} else if (kind == 2) {
			ops[i].value = mst_ptr(vals[i]);
			ops[i].value_len = OWNED_VAL_MAX;
		}
	}
	b.nr = n;
	err = mst_ioctl(a->fd, MASSTREE_IOC_BATCH, &b);
	if (err || b.done != (__u64)n) {
		mst_failure(&s->errors, "BATCH: %d, done %llu of %d", err,
			    (unsigned long long)b.done, n);
		return;
	}
	for (i = 0; i < n; i++) {
		struct owned *o = os[i];

		switch (ops[i].op) {
		case MASSTREE_OP_PUT:
			if (ops[i].result)
				mst_failure(&s->errors, "BATCH PUT: %lld",
					    (long long)ops[i].result);
			o->present = true;
			o->version++;
			break;
		case MASSTREE_OP_DEL:
			if (ops[i].result != (o->present ? 0 : -ENOENT))
				mst_failure(&s->errors, "BATCH DEL: %lld",
					    (long long)ops[i].result);
			o->present = false;
			break;
		default:
			owned_get_check(a, o, ops[i].result, vals[i],
					ops[i].out_len);
			break;
		}
	}
}

static void *writer(void *p)
{
	struct writer_arg *a = p;
	struct stress *s = a->s;
	__u64 rs = s->seed + 0x1000193ULL * (a->id + 1);
	long i;

	for (i = 0; i < s->ops_per_writer && !atomic_load(&s->errors.count); i++) {
		int r = mst_rand(&rs) % 100;

		if (r < 55)
			owned_op(a, &rs);
		else if (r < 90)
			hot_op(a, &rs);
		else
			batch_op(a, &rs);
	}
	atomic_fetch_add(&s->ops, i);
	atomic_fetch_sub(&s->writers_left, 1);
	return NULL;
}

/* Check one scanned record's value against its key. */
static void check_record(struct stress *s, const struct mst_rec *r)
{
	struct hotval hv;

	if (is_hot(r->key, r->key_len)) {
		if (!hot_value_ok(r->val, r->val_len, &hv))
			mst_failure(&s->errors, "SCAN: malformed hot value");
	} else if (!owned_value_ok(r->key, r->key_len, r->val, r->val_len)) {
		mst_failure(&s->errors, "SCAN: a value that is not its key's (key %u bytes)",
			    r->key_len);
	}
}

struct scanner_arg {
	struct stress *s;
	int fd;
	bool reverse;
};

static void *scanner(void *p)
{
	struct scanner_arg *a = p;
	struct stress *s = a->s;
	struct mst_rec *recs;
	size_t n, i;
	int err;

	while (atomic_load(&s->writers_left) > 0 && !atomic_load(&s->errors.count)) {
		/* Room for one near-maximal record; at most 16 per call. */
		err = mst_scan_all(a->fd, a->reverse, 2 * MASSTREE_KEY_MAX + 4096,
				   16, &recs, &n);
		if (err)
			mst_failure(&s->errors, "%s SCAN: %d%s", a->reverse ? "reverse" : "forward",
				    err, err == -EILSEQ ? " (order or format)" : "");
		for (i = 0; i < n; i++)
			check_record(s, &recs[i]);
		mst_recs_free(recs, n);
		atomic_fetch_add(&s->scans, 1);
	}
	return NULL;
}

static int owned_cmp(const void *x, const void *y)
{
	const struct owned *a = *(const struct owned * const *)x;
	const struct owned *b = *(const struct owned * const *)y;

	return mst_keycmp(a->key, a->key_len, b->key, b->key_len);
}

FIXTURE(stress) {
	struct stress *s;
	char name[64];
};

FIXTURE_SETUP(stress)
{
	int fd, i;

	/* Without the device, each test skips. */
	if (!mst_path_exists(MST_DEV))
		return;
	self->s = calloc(1, sizeof(*self->s));
	ASSERT_NE(NULL, self->s);
	snprintf(self->name, sizeof(self->name), "stress-%d", getpid());
	self->s->name = self->name;
	fd = open(MST_DEV, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mst_create(fd, self->name, 0600));
	close(fd);
	for (i = 0; i < NR_FDS; i++) {
		self->s->fds[i] = mst_open_fd(self->name);
		ASSERT_LE(0, self->s->fds[i]);
	}
	self->s->seed = seed_from_env();
	TH_LOG("seed %llu (MT_SEED=%llu reproduces)",
	       (unsigned long long)self->s->seed,
	       (unsigned long long)self->s->seed);
}

FIXTURE_TEARDOWN(stress)
{
	int i;

	if (!self->s)
		return;
	for (i = 0; i < NR_FDS; i++)
		if (self->s->fds[i] > 0) {
			if (i == 0)
				mst_destroy(self->s->fds[0], self->name);
			close(self->s->fds[i]);
		}
}

TEST_F_TIMEOUT(stress, mixed_workload, 3600)
{
	struct stress *s = self->s;
	struct writer_arg wa[NR_WRITERS];
	struct scanner_arg sa[2];
	pthread_t wt[NR_WRITERS], st[2];
	struct owned *want[NR_WRITERS * NR_OWNED];
	struct mst_rec *recs;
	struct masstree_ioc_stats stats;
	size_t n, nwant = 0, i, j, hot_seen = 0;
	char why[128];
	int w;

	if (!self->s)
		SKIP(return, "no %s", MST_DEV);

	s->ops_per_writer = 1500L * mst_scale_mul() / mst_scale_div();
	for (w = 0; w < NR_WRITERS; w++)
		for (i = 0; i < NR_OWNED; i++)
			make_owned_key(&s->owned[w][i], w, i);
	atomic_store(&s->writers_left, NR_WRITERS);
	for (w = 0; w < NR_WRITERS; w++) {
		memset(&wa[w], 0, sizeof(wa[w]));
		wa[w].s = s;
		wa[w].id = w;
		/* fds[0] is shared by writers 0 and 3 and both scanners. */
		wa[w].fd = s->fds[w % NR_FDS];
		ASSERT_EQ(0, pthread_create(&wt[w], NULL, writer, &wa[w]));
	}
	for (i = 0; i < 2; i++) {
		sa[i].s = s;
		sa[i].fd = s->fds[0];
		sa[i].reverse = i;
		ASSERT_EQ(0, pthread_create(&st[i], NULL, scanner, &sa[i]));
	}
	for (w = 0; w < NR_WRITERS; w++)
		pthread_join(wt[w], NULL);
	for (i = 0; i < 2; i++)
		pthread_join(st[i], NULL);
	TH_LOG("%ld operations by %d writers, %ld full scans",
	       atomic_load(&s->ops), NR_WRITERS, atomic_load(&s->scans));
	ASSERT_EQ(0, atomic_load(&s->errors.count)) TH_LOG("%s", s->errors.why);

	/* The map is the merged models, plus whatever hot keys remain. */
	for (w = 0; w < NR_WRITERS; w++)
		for (i = 0; i < NR_OWNED; i++)
			if (s->owned[w][i].present)
				want[nwant++] = &s->owned[w][i];
	qsort(want, nwant, sizeof(want[0]), owned_cmp);
	for (int rev = 0; rev < 2; rev++) {
		ASSERT_EQ(0, mst_scan_all(s->fds[1], rev, 256 * 1024, 0, &recs, &n));
		hot_seen = 0;
		for (i = 0, j = 0; i < n; i++) {
			const struct mst_rec *r = &recs[rev ? n - 1 - i : i];
			struct hotval hv;

			if (is_hot(r->key, r->key_len)) {
				int k = r->key[4] - '0';

				ASSERT_TRUE(hot_value_ok(r->val, r->val_len, &hv));
				ASSERT_LE(hv.seq, atomic_load(&s->hot_seq[hv.writer][k]));
				hot_seen++;
				continue;
			}
			ASSERT_LT(j, nwant);
			ASSERT_EQ(0, mst_keycmp(r->key, r->key_len, want[j]->key,
						want[j]->key_len));
			{
				__u8 v[OWNED_VAL_MAX];
				size_t vlen = owned_value(want[j], want[j]->version, v);

				ASSERT_EQ(vlen, r->val_len);
				ASSERT_EQ(0, memcmp(v, r->val, vlen));
			}
			j++;
		}
		ASSERT_EQ(nwant, j);
		mst_recs_free(recs, n);
	}
	ASSERT_EQ(0, mst_stats(s->fds[2], &stats));
	ASSERT_EQ(nwant + hot_seen, stats.keys);
	/* Every replace, swap and erase gave back what it charged. */
	ASSERT_EQ(0, mst_check_accounting(s->fds[2], why)) TH_LOG("%s", why);
	for (w = 0; w < NR_WRITERS; w++)
		for (i = 0; i < NR_OWNED; i++)
			free(s->owned[w][i].key);
}

/* ---- Linearizability of short windows on one hot key. ---- */

#define LIN_THREADS	4
#define LIN_OPS		8	/* per thread and window */

struct lin {
	int fds[NR_FDS];
	pthread_barrier_t start, done;
	int windows;
	__u64 seed;
	struct lc_op ops[LIN_THREADS][LIN_OPS];
	atomic_long errors;
};

struct lin_arg {
	struct lin *l;
	int id;
};

static size_t lin_value(__u64 id, __u8 *buf)
{
	size_t len = 8 + id % 57, i;

	memcpy(buf, &id, 8);
	for (i = 8; i < len; i++)
		buf[i] = (__u8)(id >> 3) + i;
	return len;
}

static void *lin_thread(void *p)
{
	struct lin_arg *a = p;
	struct lin *l = a->l;
	int fd = l->fds[a->id % NR_FDS], win, i;
	__u64 rs = l->seed * 31 + a->id + 1, seq = 0, last = 0;
	__u8 val[64], exp[64], buf[64];

	for (win = 0; win < l->windows; win++) {
		pthread_barrier_wait(&l->start);
		for (i = 0; i < LIN_OPS; i++) {
			struct lc_op *op = &l->ops[a->id][i];
			int r = mst_rand(&rs) % 10;
			size_t len, elen;

			memset(op, 0, sizeof(*op));
			op->arg = (__u64)(a->id + 1) << 32 | ++seq;
			len = lin_value(op->arg, val);
			op->call = mst_now_ns();
			if (r < 3) {
				op->kind = LC_GET;
				op->result = mst_get(fd, "lin", 3, buf, sizeof(buf), &len);
				if (!op->result)
					memcpy(&op->out, buf, 8);
				if (!op->result)
					last = op->out;
			} else if (r < 5) {
				op->kind = LC_PUT;
				op->result = mst_put(fd, "lin", 3, val, len, 0);
			} else if (r < 6) {
				op->kind = LC_PUT_NOEXIST;
				op->result = mst_put(fd, "lin", 3, val, len,
						     MASSTREE_PUT_NOEXIST);
			} else if (r < 7) {
				op->kind = LC_DEL;
				op->result = mst_del(fd, "lin", 3);
			} else {
				op->kind = LC_CMPXCHG;
				op->expect = last ? last : 1;
				elen = lin_value(op->expect, exp);
				op->result = mst_cmpxchg(fd, "lin", 3, exp, elen,
							 val, len);
			}
			op->ret = mst_now_ns();
		}
		pthread_barrier_wait(&l->done);
	}
	return NULL;
}

/* The most operations of @ops in flight at one moment. */
static int max_overlap(const struct lc_op *ops, int nr)
{
	int i, j, most = 0;

	for (i = 0; i < nr; i++) {
		int n = 0;

		for (j = 0; j < nr; j++)
			n += ops[j].call <= ops[i].call && ops[i].call <= ops[j].ret;
		if (n > most)
			most = n;
	}
	return most;
}

TEST(lincheck_rejects_a_planted_bad_history)
{
	/* put(A) returns, then a get that starts later misses it. */
	struct lc_op stale[] = {
		{ .call = 0, .ret = 10, .kind = LC_PUT, .arg = 1 },
		{ .call = 20, .ret = 30, .kind = LC_GET, .result = -ENOENT },
	};
	/* Two overlapping cmpxchg from the same value both succeed. */
	struct lc_op twice[] = {
		{ .call = 0, .ret = 5, .kind = LC_PUT, .arg = 1 },
		{ .call = 10, .ret = 40, .kind = LC_CMPXCHG, .expect = 1, .arg = 2 },
		{ .call = 15, .ret = 35, .kind = LC_CMPXCHG, .expect = 1, .arg = 3 },
	};
	/* Sequential writes 1 then 2; a reader sees 2 and then 1. */
	struct lc_op back[] = {
		{ .call = 0, .ret = 10, .kind = LC_PUT, .arg = 1 },
		{ .call = 11, .ret = 50, .kind = LC_PUT, .arg = 2 },
		{ .call = 12, .ret = 20, .kind = LC_GET, .out = 2 },
		{ .call = 21, .ret = 30, .kind = LC_GET, .out = 1 },
	};
	/* The same, but the reads overlap: fine, 1 then 2 in each order. */
	struct lc_op concurrent[] = {
		{ .call = 0, .ret = 10, .kind = LC_PUT, .arg = 1 },
		{ .call = 11, .ret = 50, .kind = LC_PUT, .arg = 2 },
		{ .call = 12, .ret = 40, .kind = LC_GET, .out = 2 },
		{ .call = 13, .ret = 45, .kind = LC_GET, .out = 1 },
		{ .call = 14, .ret = 60, .kind = LC_DEL },
		{ .call = 61, .ret = 70, .kind = LC_PUT_NOEXIST, .arg = 5 },
		{ .call = 71, .ret = 80, .kind = LC_CMPXCHG, .expect = 2,
		  .arg = 6, .result = -ECANCELED },
	};

	EXPECT_EQ(0, lc_check(stale, 2, 0));
	EXPECT_EQ(1, lc_check(stale, 1, 0));
	EXPECT_EQ(0, lc_check(twice, 3, 0));
	EXPECT_EQ(0, lc_check(back, 4, 0));
	EXPECT_EQ(1, lc_check(concurrent, 7, 0));
	/* Starting from present: the DEL must come after both reads. */
	concurrent[4].ret = 12;
	EXPECT_EQ(0, lc_check(concurrent, 7, 0));
}

TEST_F_TIMEOUT(stress, linearizable_windows, 3600)
{
	struct lin *l = calloc(1, sizeof(*l));
	struct lin_arg args[LIN_THREADS];
	pthread_t t[LIN_THREADS];
	struct lc_op hist[LIN_THREADS * LIN_OPS];
	long checked = 0;
	int i, win, ok, overlap, most = 0, concurrent = 0;

	if (!self->s)
		SKIP(return, "no %s", MST_DEV);

	ASSERT_NE(NULL, l);
	memcpy(l->fds, self->s->fds, sizeof(l->fds));
	l->seed = self->s->seed;
	l->windows = 40 * mst_scale_mul() / mst_scale_div();
	pthread_barrier_init(&l->start, NULL, LIN_THREADS + 1);
	pthread_barrier_init(&l->done, NULL, LIN_THREADS + 1);
	for (i = 0; i < LIN_THREADS; i++) {
		args[i].l = l;
		args[i].id = i;
		ASSERT_EQ(0, pthread_create(&t[i], NULL, lin_thread, &args[i]));
	}
	for (win = 0; win < l->windows; win++) {
		int err = mst_del(l->fds[0], "lin", 3);

		ASSERT_TRUE(!err || err == -ENOENT);
		pthread_barrier_wait(&l->start);
		pthread_barrier_wait(&l->done);
		for (i = 0; i < LIN_THREADS; i++)
			memcpy(&hist[i * LIN_OPS], l->ops[i], sizeof(l->ops[i]));
		ok = lc_check(hist, LIN_THREADS * LIN_OPS, 0);
		if (ok != 1) {
			for (i = 0; i < LIN_THREADS * LIN_OPS; i++) {
				TH_LOG("op %d: kind %d [%llu, %llu] arg %llx %s",
				       i, hist[i].kind,
				       (unsigned long long)hist[i].call,
				       (unsigned long long)hist[i].ret,
				       (unsigned long long)hist[i].arg, "");
				TH_LOG("    exp %llx out %llx res %d",
				       (unsigned long long)hist[i].expect,
				       (unsigned long long)hist[i].out,
				       hist[i].result);
			}
		}
		ASSERT_EQ(1, ok) TH_LOG("window %d is not linearizable", win);
		checked += LIN_THREADS * LIN_OPS;
		overlap = max_overlap(hist, LIN_THREADS * LIN_OPS);
		concurrent += overlap > 1;
		if (overlap > most)
			most = overlap;
	}
	for (i = 0; i < LIN_THREADS; i++)
		pthread_join(t[i], NULL);
	TH_LOG("%d windows, %ld operations checked linearizable", l->windows,
	       checked);
	TH_LOG("%d windows had overlapping operations, at most %d at once",
	       concurrent, most);
	free(l);
}

/* ---- Churn: insert all, erase all, back to the empty baseline. ---- */

struct node_counts {
	long leaves, internodes, suffixes, node_bytes, maps;
};

static void read_nodes(struct node_counts *c)
{
	c->node_bytes = mst_debugfs_field(MST_DEBUGFS "/stats", "node_bytes");
	c->maps = mst_debugfs_field(MST_DEBUGFS "/dev_stats", "maps");
	c->leaves = mst_debugfs_field(MST_DEBUGFS "/nodes", "leaves");
	c->internodes = mst_debugfs_field(MST_DEBUGFS "/nodes", "internodes");
	c->suffixes = mst_debugfs_field(MST_DEBUGFS "/nodes", "suffixes");
}

/*
 * Nodes are freed after an RCU grace period, so the module-wide counters
 * lag: those of maps a previous test destroyed may still be dropping.
 * Read them until six reads in a row, 100 ms apart, agree.
 */
static void read_nodes_settled(struct node_counts *c)
{
	struct node_counts prev;
	int same = 0, i;

	read_nodes(&prev);
	for (i = 0; i < 600 && same < 5; i++) {
		usleep(100000);
		read_nodes(c);
		same = memcmp(c, &prev, sizeof(*c)) ? 0 : same + 1;
		prev = *c;
	}
	*c = prev;
}

/* Back to @base once the frees have landed? */
static bool nodes_back_to(const struct node_counts *base)
{
	struct node_counts c;

	read_nodes_settled(&c);
	if (!memcmp(&c, base, sizeof(c)))
		return true;
	fprintf(stderr, "# nodes: leaves %ld internodes %ld suffixes %ld node_bytes %ld maps %ld\n",
		c.leaves, c.internodes, c.suffixes, c.node_bytes, c.maps);
	fprintf(stderr, "# base:  leaves %ld internodes %ld suffixes %ld node_bytes %ld maps %ld\n",
		base->leaves, base->internodes, base->suffixes,
		base->node_bytes, base->maps);
	return false;
}

static size_t churn_key(int i, __u8 *buf)
{
	switch (i % 5) {
	case 0:
		return (size_t)sprintf((char *)buf, "c%06d", i);
	case 1:	/* deep shared prefix: layers */
		memset(buf, 'p', 200);
		return 200 + (size_t)sprintf((char *)buf + 200, "%d", i);
	case 2:	/* a long suffix */
		memset(buf, 'a' + i % 26, 1000);
		return 1000 + (size_t)sprintf((char *)buf + 1000, "%d", i);
	case 3:	/* prefixes of each other */
		memset(buf, 'q', 8 + i / 5);
		return 8 + i / 5;
	default:
		if (i % 50 == 4) {	/* near the maximum */
			memset(buf, 'm', MASSTREE_KEY_MAX);
			sprintf((char *)buf + 1, "%d", i);
			return MASSTREE_KEY_MAX - i % 7;
		}
		return (size_t)sprintf((char *)buf, "k%d-%d", i % 7, i);
	}
}

TEST_F_TIMEOUT(stress, churn_returns_to_baseline, 3600)
{
	int fd, waves = 4 * mst_scale_mul() / mst_scale_div();
	int nkeys = 400, wave, i, err;
	struct masstree_ioc_stats base, st;
	struct node_counts nbase;
	char path[256];
	__u8 *key;
	__u8 val[64];
	long node_bytes0;

	if (!self->s)
		SKIP(return, "no %s", MST_DEV);
	fd = self->s->fds[0];
	key = malloc(MASSTREE_KEY_MAX);

	ASSERT_NE(NULL, key);
	if (waves < 2)
		waves = 2;
	snprintf(path, sizeof(path), MST_DEBUGFS "/maps/%s/stats", self->name);
	ASSERT_EQ(0, mst_stats(fd, &base));
	read_nodes_settled(&nbase);
	node_bytes0 = mst_debugfs_field(path, "node_bytes");
	ASSERT_LE(0, nbase.leaves);
	for (wave = 0; wave < waves; wave++) {
		for (i = 0; i < nkeys; i++) {
			size_t klen = churn_key(i, key);

			memcpy(val, &i, sizeof(i));
			err = mst_put(self->s->fds[i % NR_FDS], key, klen, val,
				      8 + i % 50, MASSTREE_PUT_NOEXIST);
			ASSERT_EQ(0, err) TH_LOG("key %d (%zu bytes)", i, klen);
		}
		ASSERT_EQ(0, mst_stats(fd, &st));
		ASSERT_EQ(nkeys, st.keys);
		ASSERT_LT(1, st.layers);
		if (wave % 2) {
			struct masstree_ioc_clear c = { .size = sizeof(c) };

			ASSERT_EQ(0, mst_ioctl(fd, MASSTREE_IOC_CLEAR, &c));
			ASSERT_EQ(nkeys, c.cleared);
		} else {
			/* Erase in another order than inserted. */
			for (i = nkeys - 1; i >= 0; i--) {
				size_t klen = churn_key(i, key);

				ASSERT_EQ(0, mst_del(fd, key, klen));
			}
		}
		ASSERT_EQ(0, mst_stats(fd, &st));
		EXPECT_EQ(0, st.keys);
		EXPECT_EQ(base.leaves, st.leaves);
		EXPECT_EQ(base.internodes, st.internodes);
		EXPECT_EQ(base.layers, st.layers);
		EXPECT_EQ(base.height, st.height);
		EXPECT_EQ(base.node_bytes, st.node_bytes);
		EXPECT_EQ(0, st.value_bytes);
		EXPECT_EQ(0, st.charged_bytes);
		EXPECT_EQ(node_bytes0, mst_debugfs_field(path, "node_bytes"));
		EXPECT_EQ(0, mst_debugfs_field(path, "keys"));
		EXPECT_EQ(0, mst_debugfs_field(path, "charged_bytes"));
		ASSERT_TRUE(nodes_back_to(&nbase)) TH_LOG("after wave %d", wave);
	}
	TH_LOG("%d waves of %d keys", waves, nkeys);
	free(key);
}

TEST_HARNESS_MAIN
