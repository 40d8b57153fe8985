// SPDX-License-Identifier: GPL-2.0
/*
 * A seeded fuzzer of the /dev/masstree ioctls: threads issue malformed
 * commands (nearby command numbers, sizes, flags, reserved fields, bad
 * lengths, pointers that are NULL, unmapped, read-only, straddling the
 * end of a mapping or in the kernel) while another thread creates and
 * destroys the maps they are attached to. Every error must be one that
 * include/uapi/linux/masstree.h documents for that command; a map of
 * known keys, out of the fuzzers' reach, must be intact afterwards; the
 * VM run's verdict catches any splat.
 *
 * MT_SEED replays a run (the seed is printed); MT_SCALE makes it longer.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "masstree_util.h"

#define NR_FUZZERS	3
#define NR_FDS		4	/* per fuzzer */
#define NR_NAMES	4
#define NR_KEEP		32
#define SCRATCH		(256 * 1024)
#define PAGE		4096

/* Errno sets: every errno here is below 128. */
#define E(x)		((__uint128_t)1 << (x))
#define E_COMMON	(E(EFAULT) | E(EINVAL) | E(E2BIG) | E(ENOMEM) | E(EINTR))
#define E_DATA		(E_COMMON | E(EBADFD) | E(EBADF) | E(EIDRM))
#define E_WRITE		(E(ENOSPC) | E(EDQUOT))

static const struct {
	unsigned long cmd;
	size_t size;
	__uint128_t errors;		/* allowed besides E_COMMON */
} cmds[] = {
	{ MASSTREE_IOC_CREATE, sizeof(struct masstree_ioc_create),
	  E(EEXIST) | E(EBUSY) | E(EDQUOT) },
	{ MASSTREE_IOC_OPEN, sizeof(struct masstree_ioc_name),
	  E(ENOENT) | E(EACCES) | E(EBUSY) },
	{ MASSTREE_IOC_SETATTR, sizeof(struct masstree_ioc_setattr),
	  E(ENOENT) | E(EPERM) },
	{ MASSTREE_IOC_DESTROY, sizeof(struct masstree_ioc_name),
	  E(ENOENT) | E(EPERM) },
	{ MASSTREE_IOC_LIST, sizeof(struct masstree_ioc_list), 0 },
	{ MASSTREE_IOC_GET, sizeof(struct masstree_ioc_op),
	  E_DATA | E(ENOENT) | E(EOVERFLOW) },
	{ MASSTREE_IOC_PUT, sizeof(struct masstree_ioc_op),
	  E_DATA | E(ENOENT) | E(EEXIST) | E_WRITE },
	{ MASSTREE_IOC_DEL, sizeof(struct masstree_ioc_op),
	  E_DATA | E(ENOENT) },
	{ MASSTREE_IOC_CMPXCHG, sizeof(struct masstree_ioc_op),
	  E_DATA | E(ENOENT) | E(ECANCELED) | E_WRITE },
	{ MASSTREE_IOC_SCAN, sizeof(struct masstree_ioc_scan),
	  E_DATA | E(EOVERFLOW) | E(ENAMETOOLONG) },
	{ MASSTREE_IOC_BATCH, sizeof(struct masstree_ioc_batch),
	  E_DATA | E(ENOENT) | E(EEXIST) | E(ECANCELED) | E(EOVERFLOW) |
	  E_WRITE },
	{ MASSTREE_IOC_STATS, sizeof(struct masstree_ioc_stats), E_DATA },
	{ MASSTREE_IOC_CLEAR, sizeof(struct masstree_ioc_clear), E_DATA },
};

#define NR_CMDS	ARRAY_SIZE(cmds)

struct fuzz {
	__u64 seed;
	long calls_per_fuzzer;
	char names[NR_NAMES][MASSTREE_NAME_MAX];
	/* Memory the pointers point into. */
	__u8 *rw;		/* SCRATCH bytes, then an unmapped page */
	__u8 *ro;		/* a read-only page */
	__u8 *gone;		/* an unmapped page */
	atomic_int running;
	atomic_long calls, errors_seen, successes;
	struct mst_failures bad;
};

/* A pointer for a field: mostly into scratch, sometimes anywhere bad. */
static __u64 fuzz_ptr(struct fuzz *f, __u64 *rs)
{
	switch (mst_rand(rs) % 16) {
	case 0:
		return 0;
	case 1:
		return mst_ptr(f->ro);
	case 2:
		return mst_ptr(f->gone);
	case 3:	/* straddles the end of the mapping */
		return mst_ptr(f->rw + SCRATCH - 1 - mst_rand(rs) % 64);
	case 4:	/* the kernel's direct map */
		return 0xffff888000000000ULL + (mst_rand(rs) % (1 << 20));
	case 5:
		return mst_rand(rs);
	default:
		return mst_ptr(f->rw + mst_rand(rs) % (SCRATCH / 2));
	}
}

static __u64 fuzz_len(__u64 *rs)
{
	static const __u64 lens[] = {
		0, 1, 7, 8, 9, 63, 64, 255, 4096, MASSTREE_KEY_MAX,
		MASSTREE_KEY_MAX + 1, MASSTREE_VALUE_MAX,
		MASSTREE_VALUE_MAX + 1, MASSTREE_BATCH_MAX,
		MASSTREE_BATCH_MAX + 1, 1ULL << 31, 1ULL << 32, ~0ULL,
		~0ULL >> 1,
	};

	if (mst_rand(rs) % 3 == 0)
		return mst_rand(rs) % 128;
	return lens[mst_rand(rs) % ARRAY_SIZE(lens)];
}

/* A name: one of the pool, or mutated, or garbage. */
static void fuzz_name(struct fuzz *f, __u64 *rs, char *name)
{
	int r = mst_rand(rs) % 10, i;

	memset(name, 0, MASSTREE_NAME_MAX);
	if (r < 7) {
		strcpy(name, f->names[mst_rand(rs) % NR_NAMES]);
	} else if (r < 8) {
		for (i = 0; i < MASSTREE_NAME_MAX; i++)
			name[i] = mst_rand(rs);
	} else {
		strcpy(name, f->names[mst_rand(rs) % NR_NAMES]);
		name[mst_rand(rs) % MASSTREE_NAME_MAX] = mst_rand(rs);
	}
}

/* A valid-looking op for a batch or a single command, then mutated. */
static void fuzz_op(struct fuzz *f, __u64 *rs, struct masstree_ioc_op *op,
		    __u64 opcode)
{
	memset(op, 0, sizeof(*op));
	op->size = sizeof(*op);
	op->op = mst_rand(rs) % 8 ? opcode : mst_rand(rs) % 6;
	op->key = mst_ptr(f->rw + mst_rand(rs) % 64);
	op->key_len = mst_rand(rs) % 12;
	if (opcode == MASSTREE_OP_PUT || opcode == MASSTREE_OP_CMPXCHG ||
	    opcode == MASSTREE_OP_GET) {
		op->value = mst_ptr(f->rw + 4096 + mst_rand(rs) % 4096);
		op->value_len = mst_rand(rs) % 300;
	}
	if (opcode == MASSTREE_OP_CMPXCHG) {
		op->expect = mst_ptr(f->rw + 8192 + mst_rand(rs) % 64);
		op->expect_len = mst_rand(rs) % 300;
	}
	if (opcode == MASSTREE_OP_PUT)
		op->flags = mst_rand(rs) % 4;
}

/* Build the argument of @c in @arg (a valid shape), then break it. */
static void fuzz_arg(struct fuzz *f, __u64 *rs, int c, __u8 *arg)
{
	size_t size = cmds[c].size, words = size / 8, i;
	__u64 *w = (__u64 *)arg;
	int n;

	memset(arg, 0, 512);
	w[0] = size;
	switch (cmds[c].cmd) {
	case MASSTREE_IOC_CREATE: {
		struct masstree_ioc_create *a = (void *)arg;

		a->flags = mst_rand(rs) % 4 == 0 ? MASSTREE_CREATE_ANON : 0;
		if (!a->flags) {
			a->mode = 0600;
			fuzz_name(f, rs, a->name);
		}
		break;
	}
	case MASSTREE_IOC_OPEN:
	case MASSTREE_IOC_DESTROY: {
		struct masstree_ioc_name *a = (void *)arg;

		if (cmds[c].cmd == MASSTREE_IOC_OPEN)
			a->flags = 1 + mst_rand(rs) % 3;
		fuzz_name(f, rs, a->name);
		break;
	}
	case MASSTREE_IOC_SETATTR: {
		struct masstree_ioc_setattr *a = (void *)arg;

		a->flags = MASSTREE_SETATTR_MODE;
		a->mode = 0600 | (mst_rand(rs) % 0100);
		fuzz_name(f, rs, a->name);
		break;
	}
	case MASSTREE_IOC_LIST: {
		struct masstree_ioc_list *a = (void *)arg;

		a->maps = mst_ptr(f->rw + 16384);
		a->nr = mst_rand(rs) % 8;
		break;
	}
	case MASSTREE_IOC_GET:
	case MASSTREE_IOC_PUT:
	case MASSTREE_IOC_DEL:
	case MASSTREE_IOC_CMPXCHG:
		fuzz_op(f, rs, (void *)arg, c - 4);
		break;
	case MASSTREE_IOC_SCAN: {
		struct masstree_ioc_scan *a = (void *)arg;

		a->flags = mst_rand(rs) % 32;
		a->start = mst_ptr(f->rw);
		a->start_len = mst_rand(rs) % 8;
		a->end = mst_ptr(f->rw + 64);
		a->end_len = mst_rand(rs) % 8;
		a->buf = mst_ptr(f->rw + 32768);
		a->buf_len = mst_rand(rs) % 8192;
		a->resume = mst_ptr(f->rw + 65536);
		a->resume_len = mst_rand(rs) % 2 ? MASSTREE_KEY_MAX : mst_rand(rs) % 16;
		a->limit = mst_rand(rs) % 4;
		break;
	}
	case MASSTREE_IOC_BATCH: {
		struct masstree_ioc_batch *a = (void *)arg;
		struct masstree_ioc_op *ops = (void *)(f->rw + 98304);

		a->nr = mst_rand(rs) % 6;
		a->flags = mst_rand(rs) % 2;
		/* Racy with other fuzzers writing the same ops: that is fine. */
		for (i = 0; i < a->nr; i++)
			fuzz_op(f, rs, &ops[i], 1 + mst_rand(rs) % 4);
		a->ops = mst_ptr(ops);
		break;
	}
	default:
		break;
	}
	/* Break it: 0 to 3 mutations. */
	for (n = mst_rand(rs) % 4; n > 0; n--) {
		i = mst_rand(rs) % words;
		switch (mst_rand(rs) % 6) {
		case 0:
			w[i] = fuzz_len(rs);
			break;
		case 1:
			w[i] = fuzz_ptr(f, rs);
			break;
		case 2:
			w[i] ^= 1ULL << (mst_rand(rs) % 64);
			break;
		case 3:	/* the size: shorter, longer, with a dirty tail */
			w[0] = size + (mst_rand(rs) % 5) * 8 - 16;
			if (mst_rand(rs) % 2)
				w[words + mst_rand(rs) % 8] = mst_rand(rs);
			break;
		case 4:
			w[0] = fuzz_len(rs);
			break;
		default:
			w[words - 1] = mst_rand(rs);	/* a reserved field */
			break;
		}
	}
}

struct fuzzer_arg {
	struct fuzz *f;
	int id;
	int fds[NR_FDS];
};

static void refresh_fd(struct fuzz *f, __u64 *rs, int *fd)
{
	close(*fd);
	*fd = open(MST_DEV, O_RDWR);
	if (*fd < 0) {
		mst_failure(&f->bad, "open: %d", errno);
		return;
	}
	if (mst_rand(rs) % 3 == 0)
		mst_create_anon(*fd);
	else
		mst_name_cmd(*fd, MASSTREE_IOC_OPEN, f->names[mst_rand(rs) % NR_NAMES],
			     1 + mst_rand(rs) % 3);
}

static void *fuzzer(void *p)
{
	struct fuzzer_arg *a = p;
	struct fuzz *f = a->f;
	__u64 rs = f->seed * 0x9E3779B97F4A7C15ULL + a->id + 1;
	__u64 argw[64];
	__u8 *arg = (__u8 *)argw;
	long i;

	for (i = 0; i < NR_FDS; i++) {
		a->fds[i] = -1;
		refresh_fd(f, &rs, &a->fds[i]);
	}
	for (i = 0; i < f->calls_per_fuzzer && !atomic_load(&f->bad.count); i++) {
		int c = mst_rand(&rs) % NR_CMDS, fd = a->fds[mst_rand(&rs) % NR_FDS];
		unsigned long cmd = cmds[c].cmd;
		__uint128_t allowed = E_COMMON | cmds[c].errors;
		__u64 where;
		int r = mst_rand(&rs) % 20, ret, err;

		if (r == 0) {
			/* A nearby number: other nr, size or direction. */
			cmd = _IOC(mst_rand(&rs) % 4, MASSTREE_IOC_MAGIC,
				   mst_rand(&rs) % 0x20, mst_rand(&rs) % 512);
			for (c = 0; c < (int)NR_CMDS; c++)
				if (cmds[c].cmd == cmd)
					break;
			allowed = c < (int)NR_CMDS ?
				  E_COMMON | cmds[c].errors : E(ENOTTY);
			if (c == (int)NR_CMDS)
				c = 0;
		} else if (r == 1) {
			refresh_fd(f, &rs, &a->fds[mst_rand(&rs) % NR_FDS]);
			continue;
		}
		fuzz_arg(f, &rs, c, arg);
		switch (mst_rand(&rs) % 12) {
		case 0:
			where = fuzz_ptr(f, &rs);
			break;
		case 1:	/* the structure itself read-only: copy-out fails */
			where = mst_ptr(f->ro);
			break;
		default:
			where = mst_ptr(arg);
			break;
		}
		ret = ioctl(fd, cmd, (void *)(uintptr_t)where);
		err = errno;
		atomic_fetch_add(&f->calls, 1);
		if (ret == 0) {
			atomic_fetch_add(&f->successes, 1);
			continue;
		}
		atomic_fetch_add(&f->errors_seen, 1);
		if (ret != -1 || err <= 0 || err >= 128 || !(allowed & E(err)))
			mst_failure(&f->bad,
				    "ioctl %#lx returned %d, errno %d (%s): not documented", cmd,
				    ret, err, strerror(err));
	}
	for (i = 0; i < NR_FDS; i++)
		close(a->fds[i]);
	return NULL;
}

/* Creates and destroys the pool's maps under the fuzzers' feet. */
static void *destroyer(void *p)
{
	struct fuzz *f = p;
	__u64 rs = f->seed ^ 0xD1B54A32D192ED03ULL;
	int fd = open(MST_DEV, O_RDWR), err;

	while (atomic_load(&f->running) > 0 && !atomic_load(&f->bad.count)) {
		const char *name = f->names[mst_rand(&rs) % NR_NAMES];

		if (mst_rand(&rs) % 2)
			err = mst_create(fd, name, 0600);
		else
			err = mst_destroy(fd, name);
		if (err && err != -EEXIST && err != -ENOENT && err != -EDQUOT)
			mst_failure(&f->bad, "create or destroy: %d", err);
	}
	close(fd);
	return NULL;
}

static int keep_value(int i, char *buf)
{
	return sprintf(buf, "keep-value-%d-%x", i, i * 2654435761U);
}

/* A fixture only for the timeout: soak runs are long. */
FIXTURE(fuzz) {
	int unused;
};

FIXTURE_SETUP(fuzz)
{
}

FIXTURE_TEARDOWN(fuzz)
{
}

TEST_F_TIMEOUT(fuzz, ioctls, 3600)
{
	struct fuzz *f = calloc(1, sizeof(*f));
	struct fuzzer_arg args[NR_FUZZERS];
	pthread_t t[NR_FUZZERS], d;
	char keep[64], key[32], val[64], buf[64];
	struct masstree_map_info before[64], after[64];
	struct masstree_ioc_list l;
	struct masstree_ioc_stats st;
	struct mst_rec *recs;
	size_t n, len;
	int keep_fd, fd, i, j, nbefore;
	__u64 rs;
	const char *e = getenv("MT_SEED");

	if (!mst_path_exists(MST_DEV))
		SKIP(return, "no %s", MST_DEV);
	ASSERT_NE(NULL, f);
	f->seed = e ? strtoull(e, NULL, 0) : (mst_now_ns() ^ getpid()) | 1;
	TH_LOG("seed %llu (MT_SEED=%llu reproduces)", f->seed, f->seed);
	f->calls_per_fuzzer = 4000L * mst_scale_mul() / mst_scale_div();
	for (i = 0; i < NR_NAMES; i++)
		snprintf(f->names[i], MASSTREE_NAME_MAX, "fz-%d-%d", getpid(), i);
	f->rw = mmap(NULL, SCRATCH + 3 * PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, f->rw);
	f->ro = f->rw + SCRATCH + PAGE;
	f->gone = f->rw + SCRATCH;
	ASSERT_EQ(0, munmap(f->gone, PAGE));
	ASSERT_EQ(0, mprotect(f->ro, PAGE, PROT_READ));
	rs = f->seed;
	for (i = 0; i < SCRATCH; i++)
		f->rw[i] = mst_rand(&rs) % 4 ? 'a' + i % 7 : i;

	/* The maps that exist before: what must exist after. */
	fd = open(MST_DEV, O_RDWR);
	ASSERT_LE(0, fd);
	memset(&l, 0, sizeof(l));
	l.size = sizeof(l);
	l.maps = mst_ptr(before);
	l.nr = 64;
	ASSERT_EQ(0, mst_ioctl(fd, MASSTREE_IOC_LIST, &l));
	nbefore = l.count;

	/* Known keys in a map out of the fuzzers' reach. */
	snprintf(keep, sizeof(keep), "keep-%d", getpid());
	ASSERT_EQ(0, mst_create(fd, keep, 0600));
	keep_fd = mst_open_fd(keep);
	ASSERT_LE(0, keep_fd);
	for (i = 0; i < NR_KEEP; i++) {
		snprintf(key, sizeof(key), "%c-key-%d", 'a' + i % 26, i);
		ASSERT_EQ(0, mst_put(keep_fd, key, strlen(key), val,
				     keep_value(i, val), 0));
	}
	for (i = 0; i < NR_NAMES; i++)
		mst_create(fd, f->names[i], 0600);

	atomic_store(&f->running, NR_FUZZERS);
	ASSERT_EQ(0, pthread_create(&d, NULL, destroyer, f));
	for (i = 0; i < NR_FUZZERS; i++) {
		args[i].f = f;
		args[i].id = i;
		ASSERT_EQ(0, pthread_create(&t[i], NULL, fuzzer, &args[i]));
	}
	for (i = 0; i < NR_FUZZERS; i++) {
		pthread_join(t[i], NULL);
		atomic_fetch_sub(&f->running, 1);
	}
	pthread_join(d, NULL);
	TH_LOG("%ld malformed calls: %ld failed, %ld succeeded",
	       atomic_load(&f->calls), atomic_load(&f->errors_seen),
	       atomic_load(&f->successes));
	EXPECT_EQ(0, atomic_load(&f->bad.count)) TH_LOG("%s", f->bad.why);

	/* The known keys are intact, and nothing else is in their map. */
	for (i = 0; i < NR_KEEP; i++) {
		snprintf(key, sizeof(key), "%c-key-%d", 'a' + i % 26, i);
		ASSERT_EQ(0, mst_get(keep_fd, key, strlen(key), buf, sizeof(buf), &len));
		ASSERT_EQ(keep_value(i, val), len);
		ASSERT_EQ(0, memcmp(buf, val, len));
	}
	ASSERT_EQ(0, mst_scan_all(keep_fd, false, 4096, 0, &recs, &n));
	EXPECT_EQ(NR_KEEP, n);
	mst_recs_free(recs, n);
	ASSERT_EQ(0, mst_stats(keep_fd, &st));
	EXPECT_EQ(NR_KEEP, st.keys);
	close(keep_fd);
	EXPECT_EQ(0, mst_destroy(fd, keep));

	/* What survived in the fuzzed maps is accounted for exactly. */
	for (i = 0; i < NR_NAMES; i++) {
		int mfd = mst_open_fd(f->names[i]);
		char why[128];

		if (mfd < 0)
			continue;
		EXPECT_EQ(0, mst_check_accounting(mfd, why)) TH_LOG("%s: %s", f->names[i], why);
		close(mfd);
	}

	/* Leave no named map behind but those that were there before. */
	memset(&l, 0, sizeof(l));
	l.size = sizeof(l);
	l.maps = mst_ptr(after);
	l.nr = 64;
	ASSERT_EQ(0, mst_ioctl(fd, MASSTREE_IOC_LIST, &l));
	for (i = 0; i < (int)l.count; i++) {
		for (j = 0; j < nbefore; j++)
			if (!strcmp(after[i].name, before[j].name))
				break;
		if (j == nbefore)
			EXPECT_EQ(0, mst_destroy(fd, after[i].name));
	}
	close(fd);
	EXPECT_LE(10000 / mst_scale_div(), atomic_load(&f->calls));
	munmap(f->rw, SCRATCH + 3 * PAGE);
	free(f);
}

/* A child that runs long commands on @name until it is killed. */
static void long_commands(const char *name, __u64 seed)
{
	static struct masstree_ioc_op ops[MASSTREE_BATCH_MAX];
	static __u8 vals[MASSTREE_BATCH_MAX][64], buf[1 << 16];
	static char keys[MASSTREE_BATCH_MAX][16];
	struct masstree_ioc_batch b = {
		.size = sizeof(b), .flags = MASSTREE_BATCH_CONTINUE,
		.ops = mst_ptr(ops), .nr = MASSTREE_BATCH_MAX,
	};
	struct masstree_ioc_scan sc = {
		.size = sizeof(sc),
		.flags = MASSTREE_IOC_SCAN_NO_START | MASSTREE_IOC_SCAN_NO_END,
		.buf = mst_ptr(buf), .buf_len = sizeof(buf),
		.resume = mst_ptr(buf), .resume_len = 16,
	};
	struct masstree_ioc_clear c = { .size = sizeof(c) };
	int fd = mst_open_fd(name), i;

	for (;;) {
		for (i = 0; i < MASSTREE_BATCH_MAX; i++) {
			int k = mst_rand(&seed) % 4096;

			snprintf(keys[i], sizeof(keys[i]), "kill-%04d", k);
			mst_op_init(&ops[i], k % 5 ? MASSTREE_OP_PUT : MASSTREE_OP_DEL,
				    keys[i], strlen(keys[i]));
			if (k % 5) {
				ops[i].value = mst_ptr(vals[i]);
				ops[i].value_len = 1 + k % 64;
			}
		}
		mst_ioctl(fd, MASSTREE_IOC_BATCH, &b);
		mst_ioctl(fd, MASSTREE_IOC_SCAN, &sc);
		if (mst_rand(&seed) % 4 == 0)
			mst_ioctl(fd, MASSTREE_IOC_CLEAR, &c);
	}
}

/*
 * SIGKILL in the middle of BATCH, SCAN and CLEAR (their -EINTR paths):
 * the map stays consistent, its bytes exactly accounted for.
 */
TEST_F_TIMEOUT(fuzz, killed_midway, 3600)
{
	int rounds = 30 * mst_scale_mul() / mst_scale_div(), i, fd, st;
	__u64 seed = (mst_now_ns() ^ getpid()) | 1;
	char name[64], why[128];
	pid_t pid;

	if (!mst_path_exists(MST_DEV))
		SKIP(return, "no %s", MST_DEV);
	if (rounds < 3)
		rounds = 3;
	snprintf(name, sizeof(name), "fz-kill-%d", getpid());
	fd = open(MST_DEV, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mst_create(fd, name, 0600));
	for (i = 0; i < rounds; i++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid)
			long_commands(name, seed + i);
		usleep(mst_rand(&seed) % 50000);
		kill(pid, SIGKILL);
		ASSERT_EQ(pid, waitpid(pid, &st, 0));
		ASSERT_TRUE(WIFSIGNALED(st));
	}
	ASSERT_EQ(0, mst_open(fd, name));
	EXPECT_EQ(0, mst_check_accounting(fd, why)) TH_LOG("%s", why);
	EXPECT_EQ(0, mst_destroy(fd, name));
	close(fd);
	TH_LOG("%d children killed in BATCH, SCAN or CLEAR", rounds);
}

TEST_HARNESS_MAIN
