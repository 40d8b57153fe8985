/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small wrappers around the /dev/masstree ioctls for the reliability
 * selftests: each returns 0 or -errno, never prints, never asserts, so
 * that threads can call them and report through their own counters.
 */
#ifndef _MASSTREE_SELFTEST_UTIL_H
#define _MASSTREE_SELFTEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/masstree.h>

#include "kselftest.h"

#define MST_DEV		"/dev/masstree"
#define MST_DEBUGFS	"/sys/kernel/debug/masstree"

/*
 * Without the module there is nothing to test: every program that
 * includes this header skips as a whole (exit KSFT_SKIP, "1..0 # SKIP"),
 * before the harness runs a test, instead of failing each test or
 * passing with all of them skipped.
 */
static void __attribute__((constructor)) mst_skip_without_module(void)
{
	if (access(MST_DEV, F_OK) == 0)
		return;
	ksft_print_header();
	ksft_exit_skip("no %s: is the module loaded? (modprobe masstree)\n",
		       MST_DEV);
}

static inline __u64 mst_ptr(const void *p)
{
	return (__u64)(uintptr_t)p;
}

static inline int mst_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

/*
 * Copy @name into a name field, NUL-padded and always NUL-terminated: a
 * longer name is cut at MASSTREE_NAME_MAX - 1 bytes. A test that wants to
 * send a name without its NUL fills the structure itself.
 */
static inline void mst_set_name(char *dst, const char *name)
{
	size_t len = 0;

	/* Not strnlen(): callers pass arrays shorter than the bound too. */
	while (len < MASSTREE_NAME_MAX - 1 && name[len])
		len++;
	memset(dst, 0, MASSTREE_NAME_MAX);
	memcpy(dst, name, len);
}

/* A new read-write descriptor of the device, or -1 with errno set. */
static inline int mst_dev_open(void)
{
	return open(MST_DEV, O_RDWR | O_CLOEXEC);
}

static inline int mst_create(int fd, const char *name, unsigned int mode)
{
	struct masstree_ioc_create c = { .size = sizeof(c), .mode = mode };

	mst_set_name(c.name, name);
	return mst_ioctl(fd, MASSTREE_IOC_CREATE, &c);
}

static inline int mst_create_anon(int fd)
{
	struct masstree_ioc_create c = {
		.size = sizeof(c), .flags = MASSTREE_CREATE_ANON,
	};

	return mst_ioctl(fd, MASSTREE_IOC_CREATE, &c);
}

static inline int mst_name_cmd(int fd, unsigned long cmd, const char *name,
			       __u64 flags)
{
	struct masstree_ioc_name n = { .size = sizeof(n), .flags = flags };

	mst_set_name(n.name, name);
	return mst_ioctl(fd, cmd, &n);
}

/* Attach @fd to the named map with @access (MASSTREE_OPEN_* bits). */
static inline int mst_open_map(int fd, const char *name, __u64 access)
{
	return mst_name_cmd(fd, MASSTREE_IOC_OPEN, name, access);
}

static inline int mst_open(int fd, const char *name)
{
	return mst_open_map(fd, name, MASSTREE_OPEN_READ | MASSTREE_OPEN_WRITE);
}

static inline int mst_destroy(int fd, const char *name)
{
	return mst_name_cmd(fd, MASSTREE_IOC_DESTROY, name, 0);
}

static inline int mst_setattr(int fd, const char *name, __u64 flags,
			      __u64 mode, __u64 uid, __u64 gid)
{
	struct masstree_ioc_setattr a = {
		.size = sizeof(a), .flags = flags, .mode = mode, .uid = uid,
		.gid = gid,
	};

	mst_set_name(a.name, name);
	return mst_ioctl(fd, MASSTREE_IOC_SETATTR, &a);
}

/* A new descriptor attached read-write to the named map, or -errno. */
static inline int mst_open_fd(const char *name)
{
	int fd = open(MST_DEV, O_RDWR), err;

	if (fd < 0)
		return -errno;
	err = mst_open(fd, name);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* Find map @name in LIST (the caller's namespace): 0, -ENOENT or -errno. */
static inline int mst_list_find(const char *name, struct masstree_map_info *out)
{
	struct masstree_map_info info[16];
	struct masstree_ioc_list l = {
		.size = sizeof(l), .maps = mst_ptr(info), .nr = 16,
	};
	int fd = mst_dev_open(), ret = -ENOENT, err;
	__u64 i;

	if (fd < 0)
		return -errno;
	for (;;) {
		err = mst_ioctl(fd, MASSTREE_IOC_LIST, &l);
		if (err) {
			ret = err;
			break;
		}
		for (i = 0; i < l.count; i++)
			if (!strcmp(info[i].name, name)) {
				*out = info[i];
				ret = 0;
			}
		if (!l.more || !l.count)
			break;
		memcpy(l.after, info[l.count - 1].name, sizeof(l.after));
	}
	close(fd);
	return ret;
}

static inline void mst_op_init(struct masstree_ioc_op *op, __u64 opcode,
			       const void *key, size_t key_len)
{
	memset(op, 0, sizeof(*op));
	op->size = sizeof(*op);
	op->op = opcode;
	op->key = mst_ptr(key);
	op->key_len = key_len;
}

static inline int mst_put(int fd, const void *key, size_t key_len,
			  const void *val, size_t val_len, __u64 flags)
{
	struct masstree_ioc_op op;

	mst_op_init(&op, MASSTREE_OP_PUT, key, key_len);
	op.value = mst_ptr(val);
	op.value_len = val_len;
	op.flags = flags;
	return mst_ioctl(fd, MASSTREE_IOC_PUT, &op);
}

static inline int mst_get(int fd, const void *key, size_t key_len, void *buf,
			  size_t cap, size_t *out_len)
{
	struct masstree_ioc_op op;
	int err;

	mst_op_init(&op, MASSTREE_OP_GET, key, key_len);
	op.value = mst_ptr(buf);
	op.value_len = cap;
	err = mst_ioctl(fd, MASSTREE_IOC_GET, &op);
	if (out_len)
		*out_len = op.out_len;
	return err;
}

static inline int mst_del(int fd, const void *key, size_t key_len)
{
	struct masstree_ioc_op op;

	mst_op_init(&op, MASSTREE_OP_DEL, key, key_len);
	return mst_ioctl(fd, MASSTREE_IOC_DEL, &op);
}

static inline int mst_cmpxchg(int fd, const void *key, size_t key_len,
			      const void *expect, size_t expect_len,
			     const void *val, size_t val_len)
{
	struct masstree_ioc_op op;

	mst_op_init(&op, MASSTREE_OP_CMPXCHG, key, key_len);
	op.value = mst_ptr(val);
	op.value_len = val_len;
	op.expect = mst_ptr(expect);
	op.expect_len = expect_len;
	return mst_ioctl(fd, MASSTREE_IOC_CMPXCHG, &op);
}

static inline int mst_stats(int fd, struct masstree_ioc_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	return mst_ioctl(fd, MASSTREE_IOC_STATS, st);
}

/* Keys in the map of @fd, or (__u64)-1 if STATS fails. */
static inline __u64 mst_nkeys(int fd)
{
	struct masstree_ioc_stats st;

	if (mst_stats(fd, &st))
		return (__u64)-1;
	return st.keys;
}

/* One record of a whole-map scan, in a malloc'ed array. */
struct mst_rec {
	__u8 *key;
	__u32 key_len;
	__u8 *val;
	__u32 val_len;
};

static inline void mst_recs_free(struct mst_rec *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(r[i].key);
		free(r[i].val);
	}
	free(r);
}

static inline int mst_keycmp(const void *a, size_t alen, const void *b,
			     size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/*
 * Scan the whole map (forward or in reverse) through a buffer of
 * @buf_len bytes, resuming as often as needed. Checks that keys come
 * strictly in order across resumes. Returns 0 or -errno (-EILSEQ on an
 * order violation); *recs and *nr hold what was read.
 */
static inline int mst_scan_all(int fd, bool reverse, size_t buf_len,
			       __u64 limit, struct mst_rec **recs,
			      size_t *nr)
{
	__u8 *buf = malloc(buf_len), *resume = malloc(MASSTREE_KEY_MAX);
	__u8 *start = malloc(MASSTREE_KEY_MAX);
	size_t n = 0, cap = 0, start_len = 0;
	struct mst_rec *r = NULL;
	bool have_start = false;
	int err = 0;

	if (!buf || !resume || !start) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		struct masstree_ioc_scan s = {
			.size = sizeof(s), .limit = limit,
			.buf = mst_ptr(buf), .buf_len = buf_len,
			.resume = mst_ptr(resume),
			.resume_len = MASSTREE_KEY_MAX,
		};
		size_t off = 0;
		__u64 i;

		s.flags = MASSTREE_IOC_SCAN_NO_END;
		if (reverse)
			s.flags |= MASSTREE_IOC_SCAN_REVERSE;
		if (have_start) {
			s.start = mst_ptr(start);
			s.start_len = start_len;
		} else {
			s.flags |= MASSTREE_IOC_SCAN_NO_START;
		}
		err = mst_ioctl(fd, MASSTREE_IOC_SCAN, &s);
		if (err)
			goto out;
		for (i = 0; i < s.count; i++) {
			struct masstree_ioc_scan_rec h;
			struct mst_rec *p;
			int c;

			if (off + sizeof(h) > s.used) {
				err = -EILSEQ;
				goto out;
			}
			memcpy(&h, buf + off, sizeof(h));
			if (off + sizeof(h) + h.key_len + h.value_len > s.used) {
				err = -EILSEQ;
				goto out;
			}
			if (n == cap) {
				cap = cap ? 2 * cap : 256;
				p = realloc(r, cap * sizeof(*r));
				if (!p) {
					err = -ENOMEM;
					goto out;
				}
				r = p;
			}
			p = &r[n];
			p->key_len = h.key_len;
			p->val_len = h.value_len;
			p->key = malloc(h.key_len + 1);
			p->val = malloc(h.value_len + 1);
			if (!p->key || !p->val) {
				free(p->key);
				free(p->val);
				err = -ENOMEM;
				goto out;
			}
			memcpy(p->key, buf + off + sizeof(h), h.key_len);
			memcpy(p->val, buf + off + sizeof(h) + h.key_len,
			       h.value_len);
			n++;
			if (n > 1) {
				c = mst_keycmp(r[n - 2].key, r[n - 2].key_len,
					       p->key, p->key_len);
				if (reverse ? c <= 0 : c >= 0) {
					err = -EILSEQ;
					goto out;
				}
			}
			off += (sizeof(h) + h.key_len + h.value_len + 7) & ~7UL;
		}
		if (off != s.used) {
			err = -EILSEQ;
			goto out;
		}
		if (!s.more)
			break;
		memcpy(start, resume, s.resume_len);
		start_len = s.resume_len;
		have_start = true;
	}
out:
	*recs = r;
	*nr = n;
	free(start);
	free(resume);
	free(buf);
	return err;
}

/* The device's value header: bytes of its allocation before the data. */
#define MST_VALUE_HEADER	24

/*
 * What the device charges for a value of @len bytes: its allocation, the
 * kmalloc bucket of @len plus the header. Past the slab sizes (8 KiB),
 * kvmalloc() takes a power of two of pages, or falls back to vmalloc(),
 * whose pages are only rounded to one: *@lo and *@hi bound the two.
 */
static inline void mst_value_charge(__u64 len, __u64 *lo, __u64 *hi)
{
	__u64 size = len + MST_VALUE_HEADER, b;

	if (size <= 8192) {
		for (b = 8; b < size; b *= 2)
			;
		if (size > 64 && size <= 96)
			b = 96;
		else if (size > 128 && size <= 192)
			b = 192;
		*lo = b;
		*hi = b;
		return;
	}
	for (b = 4096; b < size; b *= 2)
		;
	*lo = (size + 4095) & ~4095ULL;
	*hi = b;
}

/*
 * On a quiet map, STATS must agree with what a full scan finds: the
 * keys, the value bytes, and the bytes charged against the caps (what
 * the map holds: its nodes and suffixes, and each value's allocation).
 * Returns 0, -errno, or -EILSEQ with @why (128 bytes) saying what
 * differs.
 */
static inline int mst_check_accounting(int fd, char *why)
{
	struct masstree_ioc_stats st;
	__u64 vbytes = 0, lo = 0, hi = 0, l, h;
	struct mst_rec *recs;
	size_t n, i;
	int err;

	err = mst_scan_all(fd, false, 1 << 20, 0, &recs, &n);
	if (!err)
		err = mst_stats(fd, &st);
	for (i = 0; !err && i < n; i++) {
		vbytes += recs[i].val_len;
		mst_value_charge(recs[i].val_len, &l, &h);
		lo += l;
		hi += h;
	}
	mst_recs_free(recs, n);
	if (err)
		return err;
	if (st.keys == n && st.value_bytes == vbytes &&
	    st.charged_bytes >= st.node_bytes + lo &&
	    st.charged_bytes <= st.node_bytes + hi)
		return 0;
	snprintf(why, 128, "keys %llu/%zu value_bytes %llu/%llu charged %llu/%llu+%llu..%llu",
		 st.keys, n, st.value_bytes, vbytes, st.charged_bytes,
		 st.node_bytes, lo, hi);
	return -EILSEQ;
}

/* The value of "NAME VALUE" in a debugfs file, or -1. */
static inline long mst_debugfs_field(const char *path, const char *field)
{
	char line[256], name[128];
	long v, ret = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %ld", name, &v) == 2 &&
		    !strcmp(name, field)) {
			ret = v;
			break;
		}
	fclose(f);
	return ret;
}

/*
 * Failures that a test's threads report: how many, and the first one's
 * message. Only the first reporter writes @why, and the test reads it once
 * it joined the threads, so no lock is needed.
 */
struct mst_failures {
	atomic_long count;
	char why[256];
};

/* Count a failure; keep its message if it is the first. */
static inline void mst_failure(struct mst_failures *fl, const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&fl->count, 1))
		return;
	va_start(ap, fmt);
	vsnprintf(fl->why, sizeof(fl->why), fmt, ap);
	va_end(ap);
}

/* A mst_run_as() child that could not drop its privileges exits so. */
#define MST_CHILD_SETUP	255

/*
 * Run @fn(@arg) in a child as uid and gid @id, without supplementary
 * groups; returns the child's exit status (what @fn returned,
 * MST_CHILD_SETUP, or the line of a failed CHILD_CHECK), or -1 if it
 * could not run or did not exit.
 */
static inline int mst_run_as(unsigned int id, int (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (!pid) {
		if (setgroups(0, NULL) || setgid(id) || setuid(id))
			_exit(MST_CHILD_SETUP);
		_exit(fn(arg));
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/*
 * In a mst_run_as() child: exit with the line that failed, folded into
 * 1..250 so that it never reads as success or as one of the statuses
 * above 250 that callers give a meaning.
 */
static inline void mst_child_check(bool ok, int line, const char *what)
{
	if (ok)
		return;
	fprintf(stderr, "# child: line %d: %s\n", line, what);
	_exit(line % 250 + 1);
}

#define CHILD_CHECK(cond) mst_child_check(cond, __LINE__, #cond)

/* A map name unique to this process. */
static inline void mst_map_name(char *buf, size_t n, const char *tag)
{
	snprintf(buf, n, "mt-%d-%s", getpid(), tag);
}

/* Read a small file (debugfs, /proc) into @buf, NUL-terminated. */
static inline int mst_read_file(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return -errno;
	r = read(fd, buf, n - 1);
	close(fd);
	if (r < 0)
		return -errno;
	buf[r] = '\0';
	return 0;
}

static inline int mst_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return -errno;
	r = write(fd, s, strlen(s));
	close(fd);
	return r == (ssize_t)strlen(s) ? 0 : -EIO;
}

static inline bool mst_path_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* KCSAN slows everything ~10x more than KASAN: tests scale down. */
static inline int mst_scale_div(void)
{
	const char *env = getenv("MT_SCALE_DIV");

	if (env)
		return atoi(env) > 0 ? atoi(env) : 1;
	return mst_path_exists("/sys/kernel/debug/kcsan") ? 10 : 1;
}

/* A multiplier for longer runs (soak): MT_SCALE, default 1. */
static inline int mst_scale_mul(void)
{
	const char *env = getenv("MT_SCALE");

	return env && atoi(env) > 0 ? atoi(env) : 1;
}

static inline __u64 mst_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* xorshift64*: seeded, reproducible. */
static inline __u64 mst_rand(__u64 *s)
{
	__u64 x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static inline __u64 mst_fnv(const void *p, size_t len)
{
	const __u8 *b = p;
	__u64 h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#endif /* _MASSTREE_SELFTEST_UTIL_H */
