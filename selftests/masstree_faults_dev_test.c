// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation failures through /dev/masstree. For each command, for every
 * N until the call succeeds, the Nth allocation is made to fail:
 *
 *  - with the module's own hooks (test kernels only): debugfs
 *    masstree/fail_nth, which reaches every allocation site of the core,
 *    and masstree/dev_fail_nth, every site of the device; the call must
 *    fail with -ENOMEM and leave the map exactly as it was (contents by
 *    SCAN, shape and bytes by STATS); a BATCH applies the operations
 *    before the one that failed, stops there and reports it in @done;
 *  - with the kernel's own failslab and /proc/thread-self/fail-nth, which
 *    also fails allocations outside the module (a user copy, a cgroup
 *    charge, kvmalloc's kmalloc half), the call fails with -ENOMEM or
 *    -EFAULT and changes nothing, or absorbs the failure and succeeds;
 *    the module's sites ask the same framework, so fail-nth reaches them
 *    too;
 *  - with the device's fault_attr (debugfs masstree/fail_masstree_dev:
 *    the framework's probability, times, task-filter and the device's
 *    site mask) and /proc/thread-self/make-it-fail, one site class alone.
 *
 * The map holds at most 64 keys of at most 64 bytes. Skips where the
 * hooks do not exist (a stock kernel).
 */
#define _GNU_SOURCE
#include <stdarg.h>

#include "kselftest_harness.h"
#include "masstree_util.h"

#define FAIL_NTH	MST_DEBUGFS "/fail_nth"
#define FAIL_SITES	MST_DEBUGFS "/fail_sites"
#define FAIL_DEV_NTH	MST_DEBUGFS "/dev_fail_nth"
#define FAIL_DEV_SITES	MST_DEBUGFS "/dev_fail_sites"
#define FAILSLAB	"/sys/kernel/debug/failslab"
#define FAIL_ATTR	MST_DEBUGFS "/fail_masstree"
#define FAIL_DEV_ATTR	MST_DEBUGFS "/fail_masstree_dev"
#define MAKE_IT_FAIL	"/proc/thread-self/make-it-fail"
#define NR_SITES	7
#define NR_CORE_SITES	3	/* the first NR_CORE_SITES are in FAIL_SITES */
#define MAX_N		400

static const char * const site_names[NR_SITES] = {
	"node", "suffix", "cursor", "dev_map", "dev_value", "dev_copy",
	"dev_buffer",
};

#define SITE_DEV_VALUE	4	/* site_names[] index of "dev_value" */

/* Injected per site before the first test: the tests count from here. */
static long sites_before[NR_SITES];

static void read_sites(long *out)
{
	int i;

	for (i = 0; i < NR_SITES; i++)
		out[i] = mst_debugfs_field(i < NR_CORE_SITES ? FAIL_SITES :
					   FAIL_DEV_SITES, site_names[i]);
}

static void __attribute__((constructor)) sites_baseline(void)
{
	read_sites(sites_before);
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		ret = -errno;
	close(fd);
	return ret;
}

/* Which hook arms the failure: the core's, the device's, the kernel's. */
enum hook { OWN_HOOK, DEV_HOOK, FAILSLAB_HOOK, NR_HOOKS };

/*
 * The hooks' files stay open: opening one allocates, and that allocation
 * must not be the one that fails.
 */
static int hook_fd[NR_HOOKS] = { -1, -1, -1 };

static int hook_open(void)
{
	hook_fd[OWN_HOOK] = open(FAIL_NTH, O_RDWR);
	hook_fd[DEV_HOOK] = open(FAIL_DEV_NTH, O_RDWR);
	hook_fd[FAILSLAB_HOOK] = open("/proc/thread-self/fail-nth", O_RDWR);
	return hook_fd[OWN_HOOK] < 0 ? -1 : 0;
}

static int arm(enum hook h, unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	return pwrite(hook_fd[h], buf, len, 0) == len ? 0 : -errno;
}

/* Was the armed failure injected? Disarms. */
static bool injected(enum hook h)
{
	char buf[32] = "";
	ssize_t n = pread(hook_fd[h], buf, sizeof(buf) - 1, 0);

	arm(h, 0);
	return n > 0 && strtol(buf, NULL, 10) == 0;
}

struct ctx {
	int fd;			/* attached read-write to @name */
	char name[64];
	char other[64];		/* a name some cases create */
	__u8 big[3000];
	struct masstree_ioc_op bops[4];
	__u8 bkeys[4][64];
	__u8 bvals[4][200];
	size_t bklen[4];
	long injected, calls;
	unsigned int batch_failed_at;	/* bit K: op K was seen failing */
	char why[256];
};

static void note(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
}

/* A byte string describing the map: its records and its shape. */
static char *snapshot(int fd, size_t *len)
{
	struct masstree_ioc_stats st;
	struct mst_rec *recs;
	size_t n, i, cap = 4096, used = 0;
	char *s = malloc(cap);

	if (!s || mst_scan_all(fd, false, 1 << 20, 0, &recs, &n) ||
	    mst_stats(fd, &st)) {
		free(s);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		size_t need = recs[i].key_len + recs[i].val_len + 16;

		while (used + need + 256 > cap)
			s = realloc(s, cap *= 2);
		memcpy(s + used, &recs[i].key_len, 4);
		memcpy(s + used + 4, &recs[i].val_len, 4);
		memcpy(s + used + 8, recs[i].key, recs[i].key_len);
		memcpy(s + used + 8 + recs[i].key_len, recs[i].val,
		       recs[i].val_len);
		used += 8 + recs[i].key_len + recs[i].val_len;
	}
	mst_recs_free(recs, n);
	used += snprintf(s + used, 256, "|%llu %llu %llu %llu %llu %llu %llu %llu",
			 st.keys, st.leaves, st.internodes, st.layers, st.height,
			 st.node_bytes, st.value_bytes, st.charged_bytes);
	*len = used;
	return s;
}

/*
 * Do two snapshots agree: contents and bytes, and with @shape also the
 * nodes (after an insert and its undo, the nodes may differ)?
 */
static bool same_map(const char *a, size_t alen, const char *b, size_t blen,
		     bool shape)
{
	unsigned long long x[8], y[8];
	const char *sa, *sb;

	if (!a || !b)
		return false;
	if (shape)
		return alen == blen && !memcmp(a, b, alen);
	sa = memrchr(a, '|', alen);
	sb = memrchr(b, '|', blen);
	if (!sa || !sb || sa - a != sb - b || memcmp(a, b, sa - a))
		return false;
	if (sscanf(sa, "|%llu %llu %llu %llu %llu %llu %llu %llu", &x[0], &x[1],
		   &x[2], &x[3], &x[4], &x[5], &x[6], &x[7]) != 8 ||
	    sscanf(sb, "|%llu %llu %llu %llu %llu %llu %llu %llu", &y[0], &y[1],
		   &y[2], &y[3], &y[4], &y[5], &y[6], &y[7]) != 8)
		return false;
	/* The charge follows the nodes: compare what it adds to them. */
	return x[0] == y[0] && x[6] == y[6] && x[7] - x[5] == y[7] - y[5];
}

/* The named maps, as LIST gives them, and the number of live maps. */
static char *registry_snapshot(int fd, size_t *len)
{
	struct masstree_map_info infos[64];
	struct masstree_ioc_list l = {
		.size = sizeof(l), .maps = mst_ptr(infos), .nr = 64,
	};
	char *s = malloc(sizeof(infos) + 64);

	if (!s || mst_ioctl(fd, MASSTREE_IOC_LIST, &l)) {
		free(s);
		return NULL;
	}
	memcpy(s, infos, l.count * sizeof(infos[0]));
	*len = l.count * sizeof(infos[0]);
	*len += snprintf(s + *len, 64, "|%llu %ld", l.more,
			 mst_debugfs_field(MST_DEBUGFS "/dev_stats", "maps"));
	return s;
}

struct fcase {
	const char *name;
	bool registry;		/* compare the registry, not the map */
	int (*call)(struct ctx *c);
	/* After a success: check the effect, then undo it; 0 or -1. */
	int (*undo)(struct ctx *c);
};

static const __u8 long_key[] =
	"shared-prefix-0123456789abcdef-0123456789abcdef-long-key-zz";

static int c_put_new(struct ctx *c)
{
	return mst_put(c->fd, "new-key", 7, "value", 5, 0);
}

static int u_del_new(struct ctx *c)
{
	return mst_del(c->fd, "new-key", 7) ? -1 : 0;
}

static int c_put_long(struct ctx *c)
{
	return mst_put(c->fd, long_key, sizeof(long_key) - 1, c->big, 100,
		      MASSTREE_PUT_NOEXIST);
}

static int u_del_long(struct ctx *c)
{
	return mst_del(c->fd, long_key, sizeof(long_key) - 1) ? -1 : 0;
}

/* Shares 24 bytes with a key of the map: a span and a new layer leaf. */
static const char fresh0[] = "fresh-prefix-AAAAAAAAAAA-0";
static const char fresh1[] = "fresh-prefix-AAAAAAAAAAA-1";

static int c_put_layers(struct ctx *c)
{
	return mst_put(c->fd, fresh1, sizeof(fresh1) - 1, "layers", 6, 0);
}

static int u_del_layers(struct ctx *c)
{
	return mst_del(c->fd, fresh1, sizeof(fresh1) - 1) ? -1 : 0;
}

/*
 * Keys of one layer, inserted in ascending order: GROW_KEYS of them fill
 * its root internode and its last leaf, so that the next one splits the
 * leaf and the root internode and adds a new root: three nodes, more than
 * the per-CPU pool keeps between writes (two), so the node allocations
 * are made, and failed, in the write. (A new layer now takes one leaf and
 * a span, which the pool covers: no other case allocates a node.)
 */
#define GROW_KEYS	135

static void grow_key(char *key, int i)
{
	memcpy(key, "grow-up!\0\0\0\0\0\0", 14);
	key[14] = i >> 8;
	key[15] = i & 0xff;
}

static int c_put_grow(struct ctx *c)
{
	char key[16];

	grow_key(key, GROW_KEYS);
	return mst_put(c->fd, key, sizeof(key), "grow", 4, 0);
}

static int u_del_grow(struct ctx *c)
{
	char key[16];

	grow_key(key, GROW_KEYS);
	return mst_del(c->fd, key, sizeof(key)) ? -1 : 0;
}

static int c_put_replace(struct ctx *c)
{
	return mst_put(c->fd, "k07", 3, "replaced", 8, MASSTREE_PUT_EXIST);
}

static int u_put_back(struct ctx *c)
{
	char buf[16];
	size_t len;

	if (mst_get(c->fd, "k07", 3, buf, sizeof(buf), &len) || len != 8 ||
	    memcmp(buf, "replaced", 8))
		return -1;
	return mst_put(c->fd, "k07", 3, "value-07", 8, 0) ? -1 : 0;
}

static int c_cmpxchg(struct ctx *c)
{
	return mst_cmpxchg(c->fd, "k07", 3, "value-07", 8, "replaced", 8);
}

static int c_get_big(struct ctx *c)
{
	__u8 buf[sizeof(c->big)];
	size_t len;
	int err = mst_get(c->fd, "big", 3, buf, sizeof(buf), &len);

	if (!err && (len != sizeof(c->big) || memcmp(buf, c->big, len)))
		return -EILSEQ;
	return err;
}

static int c_scan(struct ctx *c)
{
	/* Over 60-byte keys: the bound is copied, the cursor grows. */
	static const char from[] = "LLLLLLLLLLLLLLLLLLLLLLLLLLLLLL";
	__u8 buf[8192], resume[128];
	struct masstree_ioc_scan s = {
		.size = sizeof(s), .flags = MASSTREE_IOC_SCAN_NO_END,
		.start = mst_ptr(from), .start_len = sizeof(from) - 1,
		.buf = mst_ptr(buf), .buf_len = sizeof(buf),
		.resume = mst_ptr(resume), .resume_len = sizeof(resume),
	};
	int err = mst_ioctl(c->fd, MASSTREE_IOC_SCAN, &s);

	if (!err && s.count < 8)
		return -EILSEQ;
	return err;
}

static int c_list(struct ctx *c)
{
	struct masstree_map_info infos[4];
	struct masstree_ioc_list l = {
		.size = sizeof(l), .maps = mst_ptr(infos), .nr = 4,
	};
	int err = mst_ioctl(c->fd, MASSTREE_IOC_LIST, &l);

	if (!err && !l.count)
		return -EILSEQ;
	return err;
}

static int c_create(struct ctx *c)
{
	return mst_create(c->fd, c->other, 0600);
}

static int u_destroy(struct ctx *c)
{
	return mst_destroy(c->fd, c->other) ? -1 : 0;
}

static int c_create_anon(struct ctx *c)
{
	int fd = open(MST_DEV, O_RDWR), err;
	struct masstree_ioc_stats st;

	if (fd < 0)
		return -errno;
	err = mst_create_anon(fd);
	/* After a failure the descriptor is still free: -EBADFD. */
	if (err && mst_stats(fd, &st) != -EBADFD)
		err = -EILSEQ;
	close(fd);
	return err;
}

static int c_open(struct ctx *c)
{
	int fd = open(MST_DEV, O_RDWR), err;
	struct masstree_ioc_stats st;

	if (fd < 0)
		return -errno;
	err = mst_open(fd, c->name);
	if (!err && mst_stats(fd, &st))
		err = -EILSEQ;
	close(fd);
	return err;
}

static const struct fcase cases[] = {
	{ "PUT a new key", false, c_put_new, u_del_new },
	{ "PUT NOEXIST a long key (suffix, layers)", false, c_put_long, u_del_long },
	{ "PUT a key that needs new layers", false, c_put_layers, u_del_layers },
	{ "PUT a key that splits a root internode", false, c_put_grow, u_del_grow },
	{ "PUT EXIST (replace)", false, c_put_replace, u_put_back },
	{ "CMPXCHG", false, c_cmpxchg, u_put_back },
	{ "GET a big value", false, c_get_big, NULL },
	{ "SCAN", false, c_scan, NULL },
	{ "LIST", true, c_list, NULL },
	{ "CREATE named", true, c_create, u_destroy },
	{ "CREATE anonymous", true, c_create_anon, NULL },
	{ "OPEN", true, c_open, NULL },
};

/*
 * Run one case for N = 1, 2, ... until it succeeds without a failure
 * injected. Returns 0, or -1 with c->why set.
 */
static int fault_loop(struct ctx *c, const struct fcase *fc, enum hook h)
{
	size_t blen, alen;
	char *before, *after;
	unsigned int n;
	int ret;
	bool hit, same;

	for (n = 1; n <= MAX_N; n++) {
		before = fc->registry ? registry_snapshot(c->fd, &blen) :
					snapshot(c->fd, &blen);
		if (!before) {
			note(c, "%s: no snapshot", fc->name);
			return -1;
		}
		if (arm(h, n)) {
			note(c, "cannot arm");
			return -1;
		}
		ret = fc->call(c);
		hit = injected(h);
		c->calls++;
		c->injected += hit;
		if (hit && ret == 0 && h == FAILSLAB_HOOK) {
			/* Absorbed (e.g. kvmalloc fell back to vmalloc). */
			if (fc->undo && fc->undo(c)) {
				note(c, "%s, N=%u: absorbed, wrong effect", fc->name, n);
				free(before);
				return -1;
			}
			free(before);
			continue;
		}
		if (!hit) {
			free(before);
			if (ret) {
				note(c, "%s, N=%u: %d without a failure", fc->name, n, ret);
				return -1;
			}
			if (fc->undo && fc->undo(c)) {
				note(c, "%s: wrong effect", fc->name);
				return -1;
			}
			return 0;
		}
		if (ret != -ENOMEM && !(h == FAILSLAB_HOOK && ret == -EFAULT)) {
			note(c, "%s, N=%u: %d with an allocation failed", fc->name,
			     n, ret);
			free(before);
			return -1;
		}
		after = fc->registry ? registry_snapshot(c->fd, &alen) :
				       snapshot(c->fd, &alen);
		same = same_map(before, blen, after, alen, true);
		free(before);
		free(after);
		if (!same) {
			note(c, "%s, N=%u: the map changed", fc->name, n);
			return -1;
		}
	}
	note(c, "%s: still failing after %d allocations", fc->name, MAX_N);
	return -1;
}

/*
 * BATCH of four PUTs of new keys: with the Kth failing, the first K are
 * in, the rest are not, done == K and the Kth result is the error.
 */
static int batch_loop(struct ctx *c, enum hook h)
{
	struct masstree_ioc_batch b = { .size = sizeof(b), .nr = 4 };
	size_t blen, alen, len;
	char *before, *after;
	__u8 buf[256];
	unsigned int n;
	int ret, i, k, err;
	bool hit, bad;

	for (i = 0; i < 4; i++) {
		c->bklen[i] = i == 2 ? 60 : 10 + i;
		memset(c->bkeys[i], 'b', c->bklen[i]);
		c->bkeys[i][c->bklen[i] - 1] = '0' + i;
		memset(c->bvals[i], 'v' + i, sizeof(c->bvals[i]));
	}
	b.ops = mst_ptr(c->bops);
	for (n = 1; n <= MAX_N; n++) {
		for (i = 0; i < 4; i++) {
			mst_op_init(&c->bops[i], MASSTREE_OP_PUT, c->bkeys[i],
				    c->bklen[i]);
			c->bops[i].value = mst_ptr(c->bvals[i]);
			c->bops[i].value_len = 50 * (i + 1);
			c->bops[i].result = 1;
		}
		b.done = 99;
		before = snapshot(c->fd, &blen);
		if (!before || arm(h, n)) {
			note(c, "BATCH: no snapshot");
			return -1;
		}
		ret = mst_ioctl(c->fd, MASSTREE_IOC_BATCH, &b);
		hit = injected(h);
		c->calls++;
		c->injected += hit;
		k = hit && ret ? (int)b.done : 4;
		if (hit && ret) {
			c->batch_failed_at |= 1U << (k & 7);
			if ((ret != -ENOMEM && ret != -EFAULT) ||
			    (h != FAILSLAB_HOOK && ret != -ENOMEM) ||
			    b.done >= 4 || c->bops[k].result != ret) {
				note(c, "BATCH N=%u: %d, done %llu, result %lld", n,
				     ret, b.done, k < 4 ? c->bops[k].result : 0LL);
				free(before);
				return -1;
			}
		} else if (ret || b.done != 4) {
			note(c, "BATCH N=%u: %d, done %llu", n, ret, b.done);
			free(before);
			return -1;
		}
		/* The first k are in with their values, the others are not. */
		for (i = 0; i < 4; i++) {
			err = mst_get(c->fd, c->bkeys[i], c->bklen[i], buf,
				      sizeof(buf), &len);
			if (i < k)
				bad = err || c->bops[i].result ||
				      len != c->bops[i].value_len ||
				      memcmp(buf, c->bvals[i], len);
			else
				bad = err != -ENOENT;
			if (bad) {
				note(c, "BATCH N=%u, failed at %d: op %d: %d", n, k,
				     i, err);
				free(before);
				return -1;
			}
			if (i < k && mst_del(c->fd, c->bkeys[i], c->bklen[i])) {
				note(c, "BATCH: cannot undo");
				free(before);
				return -1;
			}
		}
		after = snapshot(c->fd, &alen);
		if (!same_map(before, blen, after, alen, k == 0)) {
			note(c, "BATCH N=%u, failed at %d: the map changed", n, k);
			free(before);
			free(after);
			return -1;
		}
		free(before);
		free(after);
		if (!hit || !ret)
			return 0;
	}
	note(c, "BATCH: still failing after %d allocations", MAX_N);
	return -1;
}

FIXTURE(faults) {
	struct ctx c;
	bool ready;
};

FIXTURE_SETUP(faults)
{
	char key[64], val[128];
	int i, fd;

	if (!mst_path_exists(FAIL_NTH) || hook_open())
		return;	/* each test skips */
	snprintf(self->c.name, sizeof(self->c.name), "faults-%d", getpid());
	snprintf(self->c.other, sizeof(self->c.other), "faults-other-%d",
		 getpid());
	fd = open(MST_DEV, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mst_create(fd, self->c.name, 0600));
	close(fd);
	self->c.fd = mst_open_fd(self->c.name);
	ASSERT_LE(0, self->c.fd);
	/* 60 keys of at most 64 bytes: short, shared prefixes, long. */
	for (i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "k%02d", i);
		snprintf(val, sizeof(val), "value-%02d", i);
		ASSERT_EQ(0, mst_put(self->c.fd, key, 3, val, 8, 0));
	}
	for (i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "shared-prefix-0123456789abcdef-%02d", i);
		ASSERT_EQ(0, mst_put(self->c.fd, key, strlen(key), val, 20 + i, 0));
	}
	ASSERT_EQ(0, mst_put(self->c.fd, fresh0, sizeof(fresh0) - 1, "x", 1, 0));
	for (i = 0; i < 18; i++) {
		memset(key, 'L', 60);
		key[59] = 'a' + i;
		ASSERT_EQ(0, mst_put(self->c.fd, key, 60, val, 64, 0));
	}
	/* A layer whose next ascending key splits its root internode. */
	for (i = 0; i < GROW_KEYS; i++) {
		grow_key(key, i);
		ASSERT_EQ(0, mst_put(self->c.fd, key, 16, "g", 1, 0));
	}
	for (i = 0; i < (int)sizeof(self->c.big); i++)
		self->c.big[i] = i * 7;
	ASSERT_EQ(0, mst_put(self->c.fd, "big", 3, self->c.big,
			     sizeof(self->c.big), 0));
	self->ready = true;
}

FIXTURE_TEARDOWN(faults)
{
	if (!self->ready)
		return;
	arm(OWN_HOOK, 0);
	arm(DEV_HOOK, 0);
	mst_destroy(self->c.fd, self->c.other);
	mst_destroy(self->c.fd, self->c.name);
	close(self->c.fd);
}

/* The core's hook, then the device's: between them, every site. */
TEST_F_TIMEOUT(faults, own_hooks_every_command, 300)
{
	struct ctx *c = &self->c;
	enum hook h;
	size_t i;

	if (!self->ready)
		SKIP(return, "no %s (not a test kernel)", FAIL_NTH);
	for (h = OWN_HOOK; h <= DEV_HOOK; h++) {
		const char *who = h == OWN_HOOK ? FAIL_NTH : FAIL_DEV_NTH;

		if (hook_fd[h] < 0) {
			TH_LOG("no %s (no CONFIG_FAULT_INJECTION)", who);
			continue;
		}
		for (i = 0; i < ARRAY_SIZE(cases); i++)
			ASSERT_EQ(0, fault_loop(c, &cases[i], h))
				TH_LOG("%s: %s", who, c->why);
		ASSERT_EQ(0, batch_loop(c, h)) TH_LOG("%s: %s", who, c->why);
	}
	/* Each of the four operations was, in turn, the one that failed. */
	ASSERT_EQ(0xf, c->batch_failed_at);
	TH_LOG("%ld calls, %ld allocation failures injected", c->calls,
	       c->injected);
}

/* Set a failslab knob; remember the old value in @old (32 bytes). */
static int failslab_set(const char *knob, const char *val, char *old)
{
	char path[128];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), FAILSLAB "/%s", knob);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, old, 31);
	close(fd);
	old[n > 0 ? n : 0] = 0;
	return write_file(path, val);
}

static void failslab_restore(const char *knob, const char *old)
{
	char path[128];

	snprintf(path, sizeof(path), FAILSLAB "/%s", knob);
	write_file(path, old);
}

TEST_F_TIMEOUT(faults, failslab_every_command, 300)
{
	struct ctx *c = &self->c;
	char old_wait[32], old_verbose[32];
	long before[NR_SITES], after[NR_SITES], own = 0;
	size_t i;
	int err = 0;

	if (!self->ready)
		SKIP(return, "no %s (not a test kernel)", FAIL_NTH);
	if (!mst_path_exists(FAILSLAB) ||
	    !mst_path_exists("/proc/thread-self/fail-nth"))
		SKIP(return, "no failslab or fail-nth");
	/* Quiet: an injected failure's stack dump would read as a splat. */
	ASSERT_EQ(0, failslab_set("verbose", "0", old_verbose));
	ASSERT_EQ(0, failslab_set("ignore-gfp-wait", "N", old_wait));
	read_sites(before);
	for (i = 0; i < ARRAY_SIZE(cases) && !err; i++)
		err = fault_loop(c, &cases[i], FAILSLAB_HOOK);
	if (!err)
		err = batch_loop(c, FAILSLAB_HOOK);
	read_sites(after);
	failslab_restore("ignore-gfp-wait", old_wait);
	failslab_restore("verbose", old_verbose);
	ASSERT_EQ(0, err) TH_LOG("%s", c->why);
	for (i = 0; i < NR_SITES; i++)
		own += after[i] - before[i];
	TH_LOG("%ld calls, %ld failures injected, %ld of them at the module's sites",
	       c->calls, c->injected, own);
	/* fail-nth counts the module's sites too (both fault_attrs). */
	if (mst_path_exists(FAIL_ATTR) || mst_path_exists(FAIL_DEV_ATTR))
		EXPECT_LT(0, own);
}

/* Put the device's fault_attr back as it starts. */
static void attr_reset(void)
{
	write_file(MAKE_IT_FAIL, "0");
	write_file(FAIL_DEV_ATTR "/probability", "0");
	write_file(FAIL_DEV_ATTR "/task-filter", "N");
	write_file(FAIL_DEV_ATTR "/times", "1");
	write_file(FAIL_DEV_ATTR "/sites", "0xf");
}

/*
 * The framework's own knobs on the device's attr: probability 100, once,
 * only for a task with make-it-fail, only the dev_value site. The first
 * PUT fails there and nowhere else, the core's sites included; the
 * second, with times spent, works.
 */
TEST_F(faults, fault_attr_fails_one_site_once)
{
	long before[NR_SITES], after[NR_SITES];
	struct ctx *c = &self->c;
	char mask[16];
	int first, second, i;

	if (!self->ready)
		SKIP(return, "no %s (not a test kernel)", FAIL_NTH);
	if (!mst_path_exists(FAIL_DEV_ATTR) || !mst_path_exists(MAKE_IT_FAIL))
		SKIP(return, "no %s (CONFIG_FAULT_INJECTION_DEBUG_FS)", FAIL_DEV_ATTR);
	/* The device's mask: bit N is its Nth site, dev_map first. */
	snprintf(mask, sizeof(mask), "%#x", 1U << (SITE_DEV_VALUE - NR_CORE_SITES));
	read_sites(before);
	ASSERT_EQ(0, write_file(FAIL_DEV_ATTR "/sites", mask));
	ASSERT_EQ(0, write_file(FAIL_DEV_ATTR "/task-filter", "Y"));
	ASSERT_EQ(0, write_file(FAIL_DEV_ATTR "/interval", "1"));
	ASSERT_EQ(0, write_file(FAIL_DEV_ATTR "/times", "1"));
	ASSERT_EQ(0, write_file(FAIL_DEV_ATTR "/probability", "100"));
	if (write_file(MAKE_IT_FAIL, "1")) {
		attr_reset();
		ASSERT_TRUE(false) TH_LOG("cannot write %s", MAKE_IT_FAIL);
	}
	first = mst_put(c->fd, "attr-key", 8, "value", 5, 0);
	second = mst_put(c->fd, "attr-key", 8, "value", 5, 0);
	attr_reset();
	read_sites(after);
	EXPECT_EQ(-ENOMEM, first);
	EXPECT_EQ(0, second);
	for (i = 0; i < NR_SITES; i++)
		EXPECT_EQ(i == SITE_DEV_VALUE, after[i] - before[i])
			TH_LOG("site %s", site_names[i]);
	EXPECT_EQ(0, mst_del(c->fd, "attr-key", 8));
}

/* Last: the tests above between them failed every site. */
TEST_F(faults, every_site_was_injected)
{
	long now[NR_SITES];
	int i;

	if (!self->ready)
		SKIP(return, "no %s (not a test kernel)", FAIL_SITES);
	read_sites(now);
	for (i = 0; i < NR_SITES; i++) {
		if (i >= NR_CORE_SITES && !mst_path_exists(FAIL_DEV_SITES))
			break;	/* no CONFIG_FAULT_INJECTION: no device hooks */
		TH_LOG("%s: %ld failures injected", site_names[i],
		       now[i] - sites_before[i]);
		EXPECT_LT(sites_before[i], now[i]) TH_LOG("site %s", site_names[i]);
	}
}

TEST_HARNESS_MAIN
