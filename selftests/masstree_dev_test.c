// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/masstree against its ABI (include/uapi/linux/masstree.h): every
 * command and flag, every documented error, malformed arguments (bad
 * pointers, buffers running into an unmapped page, lengths 0 and huge,
 * unknown commands, flags and reserved fields, size fields), permissions
 * across two uids, the memory caps, threads sharing one descriptor,
 * DESTROY while attached, and descriptors freeing anonymous maps.
 *
 * Built twice: 64-bit and -m32 (masstree_dev_test_32), which goes through
 * the driver's compat_ioctl.
 *
 * Runs as root in the test VMs. MASSTREE_QUICK=1 in the environment, or a
 * KCSAN kernel (/sys/kernel/debug/kcsan), scales the loops down.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/futex.h>
#include <linux/masstree.h>

#include "kselftest_harness.h"
#include "masstree_util.h"

#define PARAMS		"/sys/module/masstree/parameters/"
#define DEBUGFS		"/sys/kernel/debug/masstree/"
#define NOBODY		65534
#define PTR(p)		((__u64)(uintptr_t)(p))
#define REC_SIZE(k, v)	(sizeof(struct masstree_ioc_scan_rec) + (((k) + (v) + 7) & ~7UL))

static bool quick(void)
{
	const char *q = getenv("MASSTREE_QUICK");

	return (q && *q == '1') || access("/sys/kernel/debug/kcsan", F_OK) == 0;
}

/*
 * Sleep. Not usleep(): 32-bit glibc calls clock_nanosleep() with 32-bit
 * time, which kernels without CONFIG_COMPAT_32BIT_TIME lack; poll()
 * takes milliseconds.
 */
static void nap_ms(int ms)
{
	poll(NULL, 0, ms);
}

static struct masstree_ioc_op op_init(const void *key, size_t klen)
{
	struct masstree_ioc_op op = {
		.size = sizeof(op), .key = PTR(key), .key_len = klen,
	};

	return op;
}

static int put(int fd, const char *key, const char *val, __u64 flags)
{
	struct masstree_ioc_op op = op_init(key, strlen(key));

	op.value = PTR(val);
	op.value_len = strlen(val);
	op.flags = flags;
	return mst_ioctl(fd, MASSTREE_IOC_PUT, &op);
}

/* GET into @buf (@cap bytes); the value's length in *@len. */
static int get(int fd, const char *key, char *buf, size_t cap, __u64 *len)
{
	struct masstree_ioc_op op = op_init(key, strlen(key));
	int ret;

	op.value = PTR(buf);
	op.value_len = cap;
	ret = mst_ioctl(fd, MASSTREE_IOC_GET, &op);
	if (len)
		*len = op.out_len;
	if (!ret && op.out_len < cap)
		buf[op.out_len] = '\0';
	return ret;
}

static int del(int fd, const char *key)
{
	struct masstree_ioc_op op = op_init(key, strlen(key));

	return mst_ioctl(fd, MASSTREE_IOC_DEL, &op);
}

static int cmpxchg(int fd, const char *key, const char *expect,
		   const char *val, __u64 *len)
{
	struct masstree_ioc_op op = op_init(key, strlen(key));
	int ret;

	op.value = PTR(val);
	op.value_len = strlen(val);
	op.expect = PTR(expect);
	op.expect_len = strlen(expect);
	ret = mst_ioctl(fd, MASSTREE_IOC_CMPXCHG, &op);
	if (len)
		*len = op.out_len;
	return ret;
}

/* Two pages, the second unmapped: returns the first. */
static char *page_pair(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	munmap(p + pg, pg);
	return p;
}

TEST(device_node)
{
	struct stat st;

	ASSERT_EQ(0, stat(MST_DEV, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0666, st.st_mode & 07777);
}

TEST(unknown_commands)
{
	struct masstree_ioc_op op = op_init("k", 1);
	int fd = mst_dev_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mst_create_anon(fd));
	EXPECT_EQ(-ENOTTY,
		  mst_ioctl(fd, _IOWR(MASSTREE_IOC_MAGIC, 0x06, struct masstree_ioc_op), &op));
	EXPECT_EQ(-ENOTTY,
		  mst_ioctl(fd, _IOWR(MASSTREE_IOC_MAGIC, 0x18, struct masstree_ioc_op), &op));
	EXPECT_EQ(-ENOTTY,
		  mst_ioctl(fd, _IOWR(MASSTREE_IOC_MAGIC, 0xff, struct masstree_ioc_op), &op));
	EXPECT_EQ(-ENOTTY, mst_ioctl(fd, _IOWR('x', 0x10, struct masstree_ioc_op), &op));
	/* GET's number with another size or direction is another command. */
	EXPECT_EQ(-ENOTTY, mst_ioctl(fd, _IOWR(MASSTREE_IOC_MAGIC, 0x10, __u64), &op));
	EXPECT_EQ(-ENOTTY,
		  mst_ioctl(fd, _IOR(MASSTREE_IOC_MAGIC, 0x10, struct masstree_ioc_op), &op));
	EXPECT_EQ(-ENOTTY, mst_ioctl(fd, _IO(MASSTREE_IOC_MAGIC, 0x10), NULL));
	EXPECT_EQ(0, mst_nkeys(fd));
	close(fd);
}

TEST(detached_descriptor)
{
	struct masstree_ioc_op op = op_init("k", 1);
	struct masstree_ioc_stats st = { .size = sizeof(st) };
	struct masstree_ioc_clear cl = { .size = sizeof(cl) };
	struct masstree_ioc_scan sc = {
		.size = sizeof(sc),
		.flags = MASSTREE_IOC_SCAN_NO_START | MASSTREE_IOC_SCAN_NO_END,
	};
	struct masstree_ioc_batch b = { .size = sizeof(b), .ops = PTR(&op), .nr = 1 };
	int fd = mst_dev_open();

	ASSERT_LE(0, fd);
	EXPECT_EQ(-EBADFD, mst_ioctl(fd, MASSTREE_IOC_GET, &op));
	EXPECT_EQ(-EBADFD, mst_ioctl(fd, MASSTREE_IOC_PUT, &op));
	EXPECT_EQ(-EBADFD, mst_ioctl(fd, MASSTREE_IOC_DEL, &op));
	EXPECT_EQ(-EBADFD, mst_ioctl(fd, MASSTREE_IOC_CMPXCHG, &op));
	op.op = MASSTREE_OP_GET;
	EXPECT_EQ(-EBADFD, mst_ioctl(fd, MASSTREE_IOC_BATCH, &b));
	EXPECT_EQ(-EBADFD, mst_ioctl(fd, MASSTREE_IOC_SCAN, &sc));
	EXPECT_EQ(-EBADFD, mst_ioctl(fd, MASSTREE_IOC_STATS, &st));
	EXPECT_EQ(-EBADFD, mst_ioctl(fd, MASSTREE_IOC_CLEAR, &cl));
	close(fd);
}

FIXTURE(anon) {
	int fd;
};

FIXTURE_SETUP(anon)
{
	self->fd = mst_dev_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, mst_create_anon(self->fd));
}

FIXTURE_TEARDOWN(anon)
{
	close(self->fd);
}

TEST_F(anon, put_get_replace)
{
	char buf[64];
	__u64 len;

	EXPECT_EQ(-ENOENT, get(self->fd, "apple", buf, sizeof(buf), &len));
	ASSERT_EQ(0, put(self->fd, "apple", "red", 0));
	ASSERT_EQ(0, get(self->fd, "apple", buf, sizeof(buf), &len));
	EXPECT_EQ(3, len);
	EXPECT_STREQ("red", buf);
	ASSERT_EQ(0, put(self->fd, "apple", "green", 0));
	ASSERT_EQ(0, get(self->fd, "apple", buf, sizeof(buf), &len));
	EXPECT_EQ(5, len);
	EXPECT_STREQ("green", buf);
	EXPECT_EQ(1, mst_nkeys(self->fd));
}

TEST_F(anon, binary_and_empty_keys_and_values)
{
	static const char key[] = { 0, 1, 0, (char)0xff, 0 };
	struct masstree_ioc_op op = op_init(key, sizeof(key));
	char buf[16];

	/* The empty key and the empty value are valid. */
	ASSERT_EQ(0, put(self->fd, "", "", 0));
	EXPECT_EQ(0, get(self->fd, "", buf, 0, &op.out_len));
	EXPECT_EQ(0, op.out_len);
	ASSERT_EQ(0, put(self->fd, "", "e", 0));
	EXPECT_EQ(0, get(self->fd, "", buf, sizeof(buf), NULL));
	EXPECT_STREQ("e", buf);
	/* Keys are byte strings: NULs inside, a prefix of the next key. */
	op.value = PTR(key);
	op.value_len = sizeof(key);
	ASSERT_EQ(0, mst_ioctl(self->fd, MASSTREE_IOC_PUT, &op));
	op.value_len = 4;
	EXPECT_EQ(0, mst_ioctl(self->fd, MASSTREE_IOC_PUT, &op));
	op.key_len = 4;
	EXPECT_EQ(0, mst_ioctl(self->fd, MASSTREE_IOC_PUT, &op));
	EXPECT_EQ(3, mst_nkeys(self->fd));
	memset(buf, 0x55, sizeof(buf));
	op.key_len = sizeof(key);
	op.value = PTR(buf);
	op.value_len = sizeof(buf);
	ASSERT_EQ(0, mst_ioctl(self->fd, MASSTREE_IOC_GET, &op));
	EXPECT_EQ(4, op.out_len);
	EXPECT_EQ(0, memcmp(buf, key, 4));
	EXPECT_EQ(0x55, buf[4]);
}

TEST_F(anon, put_flags)
{
	char buf[16];

	EXPECT_EQ(-ENOENT, put(self->fd, "k", "v1", MASSTREE_PUT_EXIST));
	EXPECT_EQ(-ENOENT, get(self->fd, "k", buf, sizeof(buf), NULL));
	EXPECT_EQ(0, put(self->fd, "k", "v1", MASSTREE_PUT_NOEXIST));
	EXPECT_EQ(-EEXIST, put(self->fd, "k", "v2", MASSTREE_PUT_NOEXIST));
	ASSERT_EQ(0, get(self->fd, "k", buf, sizeof(buf), NULL));
	EXPECT_STREQ("v1", buf);
	EXPECT_EQ(0, put(self->fd, "k", "v3", MASSTREE_PUT_EXIST));
	ASSERT_EQ(0, get(self->fd, "k", buf, sizeof(buf), NULL));
	EXPECT_STREQ("v3", buf);
	EXPECT_EQ(-EINVAL, put(self->fd, "k", "v4", 1ULL << 2));
	EXPECT_EQ(-EINVAL, put(self->fd, "k", "v4", 1ULL << 63));
	ASSERT_EQ(0, get(self->fd, "k", buf, sizeof(buf), NULL));
	EXPECT_STREQ("v3", buf);
	EXPECT_EQ(1, mst_nkeys(self->fd));
}

TEST_F(anon, get_overflow_copies_nothing)
{
	char buf[8];
	__u64 len = 0;

	ASSERT_EQ(0, put(self->fd, "k", "0123456789", 0));
	memset(buf, 'x', sizeof(buf));
	EXPECT_EQ(-EOVERFLOW, get(self->fd, "k", buf, 9, &len));
	EXPECT_EQ(10, len);
	EXPECT_EQ(0, memcmp(buf, "xxxxxxxx", 8));
	EXPECT_EQ(-EOVERFLOW, get(self->fd, "k", buf, 0, &len));
	EXPECT_EQ(10, len);
}

TEST_F(anon, del)
{
	char buf[8];
	__u64 len = 0;
	struct masstree_ioc_op op = op_init("k", 1);

	EXPECT_EQ(-ENOENT, del(self->fd, "k"));
	ASSERT_EQ(0, put(self->fd, "k", "abc", 0));
	ASSERT_EQ(0, put(self->fd, "kk", "abcd", 0));
	ASSERT_EQ(0, mst_ioctl(self->fd, MASSTREE_IOC_DEL, &op));
	EXPECT_EQ(3, op.out_len);
	EXPECT_EQ(-ENOENT, get(self->fd, "k", buf, sizeof(buf), &len));
	EXPECT_EQ(0, get(self->fd, "kk", buf, sizeof(buf), &len));
	EXPECT_EQ(-ENOENT, del(self->fd, "k"));
	EXPECT_EQ(1, mst_nkeys(self->fd));
}

TEST_F(anon, cmpxchg)
{
	char buf[16];
	__u64 len = 0;

	EXPECT_EQ(-ENOENT, cmpxchg(self->fd, "k", "a", "b", &len));
	EXPECT_EQ(0, mst_nkeys(self->fd));
	ASSERT_EQ(0, put(self->fd, "k", "old", 0));
	EXPECT_EQ(-ECANCELED, cmpxchg(self->fd, "k", "ol", "new", &len));
	EXPECT_EQ(3, len);
	EXPECT_EQ(-ECANCELED, cmpxchg(self->fd, "k", "olde", "new", &len));
	EXPECT_EQ(-ECANCELED, cmpxchg(self->fd, "k", "OLD", "new", &len));
	ASSERT_EQ(0, get(self->fd, "k", buf, sizeof(buf), NULL));
	EXPECT_STREQ("old", buf);
	EXPECT_EQ(0, cmpxchg(self->fd, "k", "old", "newer", &len));
	ASSERT_EQ(0, get(self->fd, "k", buf, sizeof(buf), NULL));
	EXPECT_STREQ("newer", buf);
	/* The empty value is a value like any other. */
	EXPECT_EQ(0, cmpxchg(self->fd, "k", "newer", "", &len));
	EXPECT_EQ(0, cmpxchg(self->fd, "k", "", "x", &len));
	ASSERT_EQ(0, get(self->fd, "k", buf, sizeof(buf), NULL));
	EXPECT_STREQ("x", buf);
}

TEST_F(anon, op_field)
{
	struct masstree_ioc_op op = op_init("k", 1);

	op.value = PTR("v");
	op.value_len = 1;
	op.op = MASSTREE_OP_PUT;
	EXPECT_EQ(0, mst_ioctl(self->fd, MASSTREE_IOC_PUT, &op));
	op.op = MASSTREE_OP_GET;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_PUT, &op));
	op.op = MASSTREE_OP_DEL;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_GET, &op));
	EXPECT_EQ(1, mst_nkeys(self->fd));
	op.op = 99;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_DEL, &op));
	EXPECT_EQ(1, mst_nkeys(self->fd));
	op.op = MASSTREE_OP_DEL;
	op.value = 0;
	op.value_len = 0;
	EXPECT_EQ(0, mst_ioctl(self->fd, MASSTREE_IOC_DEL, &op));
	EXPECT_EQ(0, mst_nkeys(self->fd));
}

TEST_F(anon, nonzero_fields_that_must_be_zero)
{
	struct masstree_ioc_op op = op_init("k", 1);

	op.value = PTR("v");
	op.value_len = 1;
	op.reserved = 1;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_PUT, &op));
	op.reserved = 0;
	/* expect is CMPXCHG's alone. */
	op.expect = PTR("v");
	op.expect_len = 1;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_PUT, &op));
	EXPECT_EQ(0, mst_nkeys(self->fd));
	op.expect = 0;
	op.expect_len = 0;
	ASSERT_EQ(0, mst_ioctl(self->fd, MASSTREE_IOC_PUT, &op));
	/* flags are PUT's alone. */
	op.flags = MASSTREE_PUT_EXIST;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_GET, &op));
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_DEL, &op));
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_CMPXCHG, &op));
	EXPECT_EQ(1, mst_nkeys(self->fd));
	op.flags = 0;
	op.reserved = 1ULL << 63;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_DEL, &op));
	EXPECT_EQ(1, mst_nkeys(self->fd));
}

TEST_F(anon, key_and_value_limits)
{
	size_t n = MASSTREE_VALUE_MAX + 1;
	char *big = malloc(n), *out = malloc(n);
	struct masstree_ioc_op op = op_init(big, MASSTREE_KEY_MAX);

	ASSERT_TRUE(!!big);
	ASSERT_TRUE(!!out);
	memset(big, 'k', n);
	op.value = PTR(big);
	op.value_len = MASSTREE_VALUE_MAX;
	ASSERT_EQ(0, mst_ioctl(self->fd, MASSTREE_IOC_PUT, &op));
	op.value = PTR(out);
	op.value_len = n;
	ASSERT_EQ(0, mst_ioctl(self->fd, MASSTREE_IOC_GET, &op));
	EXPECT_EQ(MASSTREE_VALUE_MAX, op.out_len);
	EXPECT_EQ(0, memcmp(big, out, MASSTREE_VALUE_MAX));

	/* One byte over either limit, then far over it: -EINVAL. */
	op = op_init(big, MASSTREE_KEY_MAX + 1);
	op.value = PTR(big);
	op.value_len = 1;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_PUT, &op));
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_DEL, &op));
	op.value = PTR(out);
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_GET, &op));
	op.key_len = 1ULL << 40;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_GET, &op));
	op.key_len = ~0ULL;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_PUT, &op));
	op = op_init(big, 3);
	op.value = PTR(big);
	op.value_len = MASSTREE_VALUE_MAX + 1;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_PUT, &op));
	op.value_len = ~0ULL;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_PUT, &op));
	op.value_len = 1;
	op.expect = PTR(big);
	op.expect_len = MASSTREE_VALUE_MAX + 1;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_CMPXCHG, &op));
	EXPECT_EQ(1, mst_nkeys(self->fd));
	free(big);
	free(out);
}

TEST_F(anon, bad_pointers)
{
	char *pg = page_pair(), *edge;
	long psz = sysconf(_SC_PAGESIZE);
	struct masstree_ioc_op op;
	char buf[64];

	ASSERT_TRUE(!!pg);
	edge = pg + psz;
	/* The argument itself. */
	EXPECT_EQ(-EFAULT, mst_ioctl(self->fd, MASSTREE_IOC_PUT, NULL));
	EXPECT_EQ(-EFAULT, mst_ioctl(self->fd, MASSTREE_IOC_GET, edge));
	EXPECT_EQ(-EFAULT, mst_ioctl(self->fd, MASSTREE_IOC_STATS, (void *)8));
	/* A NULL or unmapped key, and one that runs into the unmapped page. */
	op = op_init(NULL, 5);
	op.value = PTR("v");
	op.value_len = 1;
	EXPECT_EQ(-EFAULT, mst_ioctl(self->fd, MASSTREE_IOC_PUT, &op));
	op.key = PTR(edge);
	EXPECT_EQ(-EFAULT, mst_ioctl(self->fd, MASSTREE_IOC_PUT, &op));
	memcpy(edge - 3, "abc", 3);
	op.key = PTR(edge - 3);
	EXPECT_EQ(-EFAULT, mst_ioctl(self->fd, MASSTREE_IOC_PUT, &op));
	EXPECT_EQ(-EFAULT, mst_ioctl(self->fd, MASSTREE_IOC_GET, &op));
	op.value = 0;
	op.value_len = 0;
	EXPECT_EQ(-EFAULT, mst_ioctl(self->fd, MASSTREE_IOC_DEL, &op));
	op.key_len = 3;
	op.value = PTR("v");
	op.value_len = 1;
	ASSERT_EQ(0, mst_ioctl(self->fd, MASSTREE_IOC_PUT, &op));
	/* A value that runs into the unmapped page: nothing changes. */
	memset(edge - 10, 'v', 7);
	op.value = PTR(edge - 10);
	op.value_len = 11;
	EXPECT_EQ(-EFAULT, mst_ioctl(self->fd, MASSTREE_IOC_PUT, &op));
	op.value = 0;
	EXPECT_EQ(-EFAULT, mst_ioctl(self->fd, MASSTREE_IOC_PUT, &op));
	ASSERT_EQ(0, get(self->fd, "abc", buf, sizeof(buf), NULL));
	EXPECT_STREQ("v", buf);
	/* CMPXCHG's expected value likewise. */
	op.value = PTR("w");
	op.value_len = 1;
	op.expect = PTR(edge - 1);
	op.expect_len = 2;
	EXPECT_EQ(-EFAULT, mst_ioctl(self->fd, MASSTREE_IOC_CMPXCHG, &op));
	ASSERT_EQ(0, get(self->fd, "abc", buf, sizeof(buf), NULL));
	EXPECT_STREQ("v", buf);
	/* GET into a buffer that runs into the unmapped page. */
	ASSERT_EQ(0, put(self->fd, "abc", "0123456789", 0));
	op.expect = 0;
	op.expect_len = 0;
	op.key = PTR("abc");
	op.value = PTR(edge - 5);
	op.value_len = 64;
	EXPECT_EQ(-EFAULT, mst_ioctl(self->fd, MASSTREE_IOC_GET, &op));
	op.value = PTR(NULL);
	EXPECT_EQ(-EFAULT, mst_ioctl(self->fd, MASSTREE_IOC_GET, &op));
	EXPECT_EQ(1, mst_nkeys(self->fd));
	munmap(pg, psz);
}

TEST_F(anon, struct_across_unmapped_page)
{
	char *pg = page_pair(), *edge;
	long psz = sysconf(_SC_PAGESIZE);
	struct masstree_ioc_op *op, full;
	struct masstree_ioc_stats *st;

	ASSERT_TRUE(!!pg);
	edge = pg + psz;
	/* The whole structure does not fit before the unmapped page. */
	op = (void *)(edge - sizeof(*op) + 8);
	full = op_init("k", 1);
	full.value = PTR("v");
	full.value_len = 1;
	memcpy(op, &full, sizeof(full) - 8);
	EXPECT_EQ(-EFAULT, mst_ioctl(self->fd, MASSTREE_IOC_PUT, op));
	EXPECT_EQ(0, mst_nkeys(self->fd));
	/* Just fits: fine. */
	op = (void *)(edge - sizeof(*op));
	*op = op_init("k", 1);
	op->value = PTR("v");
	op->value_len = 1;
	EXPECT_EQ(0, mst_ioctl(self->fd, MASSTREE_IOC_PUT, op));
	st = (void *)(edge - sizeof(*st));
	EXPECT_EQ(0, mst_stats(self->fd, st));
	EXPECT_EQ(1, st->keys);
	/* A larger @size whose extra bytes lie in the unmapped page. */
	st->size = sizeof(*st) + 8;
	EXPECT_EQ(-EFAULT, mst_ioctl(self->fd, MASSTREE_IOC_STATS, st));
	munmap(pg, psz);
}

TEST_F(anon, size_field)
{
	struct {
		struct masstree_ioc_op op;
		__u64 extra[2];
	} big;
	struct {
		struct masstree_ioc_stats st;
		__u64 extra[2];
	} sbig;
	struct masstree_ioc_stats st;
	size_t part;

	/* Larger than today's: fine when the extra bytes are zero. */
	memset(&big, 0, sizeof(big));
	big.op = op_init("k", 1);
	big.op.value = PTR("v");
	big.op.value_len = 1;
	big.op.size = sizeof(big);
	EXPECT_EQ(0, mst_ioctl(self->fd, MASSTREE_IOC_PUT, &big));
	big.extra[1] = 1;
	big.op.key = PTR("j");
	EXPECT_EQ(-E2BIG, mst_ioctl(self->fd, MASSTREE_IOC_PUT, &big));
	EXPECT_EQ(1, mst_nkeys(self->fd));
	big.op.size = 1ULL << 40;
	EXPECT_NE(0, mst_ioctl(self->fd, MASSTREE_IOC_PUT, &big));
	EXPECT_EQ(1, mst_nkeys(self->fd));

	/* Out: the extra bytes stay zero. */
	memset(&sbig, 0, sizeof(sbig));
	sbig.st.size = sizeof(sbig);
	EXPECT_EQ(0, mst_ioctl(self->fd, MASSTREE_IOC_STATS, &sbig));
	EXPECT_EQ(1, sbig.st.keys);
	EXPECT_EQ(0, sbig.extra[0]);
	EXPECT_EQ(0, sbig.extra[1]);

	/* Smaller than the first version: -EINVAL, nothing done or written. */
	big.extra[1] = 0;
	big.op.key = PTR("j");
	big.op.size = offsetof(struct masstree_ioc_op, reserved);
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_PUT, &big));
	big.op.size = 0;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_PUT, &big));
	big.op.size = sizeof(big.op) - 1;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_PUT, &big));
	EXPECT_EQ(1, mst_nkeys(self->fd));
	part = offsetof(struct masstree_ioc_stats, leaves);
	memset(&st, 0xa5, sizeof(st));
	memset(&st, 0, part);
	st.size = part;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_STATS, &st));
	EXPECT_EQ(0, st.keys);
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ULL, st.leaves);
	st.size = 0;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_STATS, &st));
}

TEST_F(anon, stats_counts_and_zero_reserved)
{
	struct masstree_ioc_stats st;
	char buf[8];

	ASSERT_EQ(0, put(self->fd, "a", "1", 0));
	ASSERT_EQ(0, put(self->fd, "b", "2", 0));
	ASSERT_EQ(0, put(self->fd, "c", "3", 0));
	ASSERT_EQ(0, get(self->fd, "a", buf, sizeof(buf), NULL));
	ASSERT_EQ(0, del(self->fd, "b"));
	ASSERT_EQ(0, cmpxchg(self->fd, "c", "3", "4", NULL));
	memset(&st, 0xa5, sizeof(st));
	st.size = sizeof(st);
	st.flags = 0;
	/* Reserved fields must be zero, as in every command. */
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_STATS, &st));
	memset(st.reserved, 0, sizeof(st.reserved));
	ASSERT_EQ(0, mst_ioctl(self->fd, MASSTREE_IOC_STATS, &st));
	EXPECT_EQ(2, st.keys);
	EXPECT_LE(1, st.leaves);
	EXPECT_LE(1, st.layers);
	EXPECT_LE(1, st.height);
	EXPECT_LT(0, st.node_bytes);
	EXPECT_LE(2, st.value_bytes);
	EXPECT_LE(4, st.charged_bytes);
	EXPECT_EQ(3, st.puts);
	EXPECT_EQ(1, st.gets);
	EXPECT_EQ(1, st.dels);
	EXPECT_EQ(1, st.cmpxchgs);
	EXPECT_EQ(0, st.scans);
	EXPECT_EQ(0, st.batches);
	/* The creator: root. */
	EXPECT_EQ(0, st.cuid);
	EXPECT_EQ(0, st.cgid);
	EXPECT_EQ(0, st.reserved[0]);
	EXPECT_EQ(0, st.reserved[1]);
	st.flags = 1;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_STATS, &st));
	st.flags = 0;
	st.reserved[1] = 1;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_STATS, &st));
}

TEST_F(anon, clear)
{
	struct masstree_ioc_clear c = { .size = sizeof(c) };
	char key[16], buf[8];
	int i;

	for (i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), "key%04d", i);
		ASSERT_EQ(0, put(self->fd, key, "v", 0));
	}
	c.reserved[1] = 1;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_CLEAR, &c));
	c.reserved[1] = 0;
	c.flags = 1;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_CLEAR, &c));
	EXPECT_EQ(300, mst_nkeys(self->fd));
	c.flags = 0;
	ASSERT_EQ(0, mst_ioctl(self->fd, MASSTREE_IOC_CLEAR, &c));
	EXPECT_EQ(300, c.cleared);
	EXPECT_EQ(0, mst_nkeys(self->fd));
	EXPECT_EQ(-ENOENT, get(self->fd, "key0000", buf, sizeof(buf), NULL));
	ASSERT_EQ(0, mst_ioctl(self->fd, MASSTREE_IOC_CLEAR, &c));
	EXPECT_EQ(0, c.cleared);
	ASSERT_EQ(0, put(self->fd, "key0000", "w", 0));
	EXPECT_EQ(1, mst_nkeys(self->fd));
}

TEST_F(anon, attach_twice)
{
	char name[32];

	EXPECT_EQ(-EBUSY, mst_create_anon(self->fd));
	mst_map_name(name, sizeof(name), "busy");
	ASSERT_EQ(0, mst_create(self->fd, name, 0600));
	EXPECT_EQ(-EBUSY, mst_open_map(self->fd, name, MASSTREE_OPEN_READ));
	EXPECT_EQ(0, mst_destroy(self->fd, name));
	/* Still attached to the anonymous map. */
	EXPECT_EQ(0, put(self->fd, "k", "v", 0));
}

/* Scan helpers. */
static int scan(int fd, struct masstree_ioc_scan *s, __u64 flags,
		const char *start, const char *end, void *buf, size_t cap,
		void *resume, size_t rcap)
{
	memset(s, 0, sizeof(*s));
	s->size = sizeof(*s);
	s->flags = flags;
	if (start) {
		s->start = PTR(start);
		s->start_len = strlen(start);
	}
	if (end) {
		s->end = PTR(end);
		s->end_len = strlen(end);
	}
	s->buf = PTR(buf);
	s->buf_len = cap;
	s->resume = PTR(resume);
	s->resume_len = rcap;
	return mst_ioctl(fd, MASSTREE_IOC_SCAN, s);
}

/*
 * Render the records of @buf as "key=value " items into @out; checks the
 * record layout (zero padding, @used). Returns false on a malformed
 * buffer.
 */
static bool render(const struct masstree_ioc_scan *s, const char *buf,
		   char *out, size_t n)
{
	size_t off = 0, o = 0, pad;
	__u64 i;

	out[0] = '\0';
	for (i = 0; i < s->count; i++) {
		struct masstree_ioc_scan_rec r;

		if (off + sizeof(r) > s->used)
			return false;
		memcpy(&r, buf + off, sizeof(r));
		off += sizeof(r);
		o += snprintf(out + o, n - o, "%.*s=%.*s ", (int)r.key_len,
			      buf + off, (int)r.value_len, buf + off + r.key_len);
		if (o >= n)
			return false;
		off += r.key_len + r.value_len;
		for (pad = off; pad % 8; pad++)
			if (buf[pad])
				return false;
		off = pad;
	}
	return off == s->used;
}

#define NO_BOUNDS (MASSTREE_IOC_SCAN_NO_START | MASSTREE_IOC_SCAN_NO_END)

FIXTURE(scan) {
	int fd;
	char buf[4096], resume[MASSTREE_KEY_MAX], out[1024];
};

FIXTURE_SETUP(scan)
{
	static const char * const keys[] = { "a", "ab", "abc", "b", "ba", "c", "" };
	int i;

	self->fd = mst_dev_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, mst_create_anon(self->fd));
	for (i = 0; i < 7; i++) {
		char val[8];

		snprintf(val, sizeof(val), "v%d", i);
		ASSERT_EQ(0, put(self->fd, keys[i], val, 0));
	}
}

FIXTURE_TEARDOWN(scan)
{
	close(self->fd);
}

#define SCAN_EXPECT(flags, start, end, expect) do { \
	struct masstree_ioc_scan _s; \
	memset(self->buf, 0x5a, sizeof(self->buf)); \
	ASSERT_EQ(0, scan(self->fd, &_s, flags, start, end, self->buf, \
			  sizeof(self->buf), self->resume, sizeof(self->resume))); \
	ASSERT_TRUE(render(&_s, self->buf, self->out, sizeof(self->out))); \
	EXPECT_STREQ(expect, self->out); \
	EXPECT_EQ(0, _s.more); \
} while (0)

TEST_F(scan, ranges_and_flags)
{
	SCAN_EXPECT(NO_BOUNDS, NULL, NULL, "=v6 a=v0 ab=v1 abc=v2 b=v3 ba=v4 c=v5 ");
	SCAN_EXPECT(NO_BOUNDS | MASSTREE_IOC_SCAN_REVERSE, NULL, NULL,
		    "c=v5 ba=v4 b=v3 abc=v2 ab=v1 a=v0 =v6 ");
	SCAN_EXPECT(0, "ab", "b", "ab=v1 abc=v2 b=v3 ");
	SCAN_EXPECT(MASSTREE_IOC_SCAN_START_EXCL | MASSTREE_IOC_SCAN_END_EXCL, "ab", "b",
		    "abc=v2 ");
	SCAN_EXPECT(MASSTREE_IOC_SCAN_NO_END, "aa", NULL, "ab=v1 abc=v2 b=v3 ba=v4 c=v5 ");
	SCAN_EXPECT(MASSTREE_IOC_SCAN_NO_START | MASSTREE_IOC_SCAN_END_EXCL, NULL, "ab",
		    "=v6 a=v0 ");
	SCAN_EXPECT(MASSTREE_IOC_SCAN_REVERSE, "b", "ab", "b=v3 abc=v2 ab=v1 ");
	SCAN_EXPECT(MASSTREE_IOC_SCAN_REVERSE | MASSTREE_IOC_SCAN_START_EXCL, "b", "",
		    "abc=v2 ab=v1 a=v0 =v6 ");
	SCAN_EXPECT(MASSTREE_IOC_SCAN_REVERSE | MASSTREE_IOC_SCAN_END_EXCL |
		    MASSTREE_IOC_SCAN_NO_START, NULL, "", "c=v5 ba=v4 b=v3 abc=v2 ab=v1 a=v0 ");
	/* Empty ranges. */
	SCAN_EXPECT(0, "bb", "bc", "");
	SCAN_EXPECT(0, "c", "b", "");
	SCAN_EXPECT(MASSTREE_IOC_SCAN_START_EXCL, "c", "c", "");
	SCAN_EXPECT(0, "c", "c", "c=v5 ");
}

TEST_F(scan, limit_and_resume)
{
	struct masstree_ioc_scan s;
	char all[1024] = "";
	int calls = 0;

	ASSERT_EQ(0, scan(self->fd, &s, NO_BOUNDS, NULL, NULL, self->buf,
			  sizeof(self->buf), self->resume, sizeof(self->resume)));
	EXPECT_EQ(7, s.count);
	ASSERT_EQ(0, scan(self->fd, &s, NO_BOUNDS, NULL, NULL, self->buf,
			  sizeof(self->buf), self->resume, sizeof(self->resume)));
	s.limit = 2;
	s.flags = MASSTREE_IOC_SCAN_REVERSE | MASSTREE_IOC_SCAN_NO_START |
		  MASSTREE_IOC_SCAN_NO_END;
	s.resume_len = sizeof(self->resume);
	/* Pages of two records, each call resuming where the last stopped. */
	for (;;) {
		ASSERT_EQ(0, mst_ioctl(self->fd, MASSTREE_IOC_SCAN, &s));
		ASSERT_TRUE(render(&s, self->buf, self->out, sizeof(self->out)));
		strcat(all, self->out);
		ASSERT_GT(10, ++calls);
		if (!s.more)
			break;
		EXPECT_EQ(2, s.count);
		s.flags &= ~(__u64)MASSTREE_IOC_SCAN_NO_START;
		s.start = PTR(self->resume);
		s.start_len = s.resume_len;
		s.resume_len = sizeof(self->resume);
	}
	EXPECT_STREQ("c=v5 ba=v4 b=v3 abc=v2 ab=v1 a=v0 =v6 ", all);
	EXPECT_EQ(4, calls);
}

TEST_F(scan, small_buffer_resumes)
{
	struct masstree_ioc_scan s;
	char all[1024] = "";
	int calls = 0;

	/* Room for two records of "ab"/"abc"-sized keys at most. */
	ASSERT_EQ(0, scan(self->fd, &s, NO_BOUNDS, NULL, NULL, self->buf,
			  2 * REC_SIZE(3, 2), self->resume, sizeof(self->resume)));
	for (;;) {
		ASSERT_TRUE(render(&s, self->buf, self->out, sizeof(self->out)));
		ASSERT_LT(0, s.count);
		strcat(all, self->out);
		ASSERT_GT(10, ++calls);
		if (!s.more)
			break;
		s.flags = MASSTREE_IOC_SCAN_NO_END;
		s.start = PTR(self->resume);
		s.start_len = s.resume_len;
		s.resume_len = sizeof(self->resume);
		ASSERT_EQ(0, mst_ioctl(self->fd, MASSTREE_IOC_SCAN, &s));
	}
	EXPECT_STREQ("=v6 a=v0 ab=v1 abc=v2 b=v3 ba=v4 c=v5 ", all);
	EXPECT_LE(3, calls);
}

TEST_F(scan, errors)
{
	struct masstree_ioc_scan s;
	char *pg = page_pair();
	long psz = sysconf(_SC_PAGESIZE);

	ASSERT_TRUE(!!pg);
	/* Not even the first record fits: -EOVERFLOW, @used says how much. */
	EXPECT_EQ(-EOVERFLOW, scan(self->fd, &s, NO_BOUNDS, NULL, NULL, self->buf,
				   REC_SIZE(0, 2) - 1, self->resume, sizeof(self->resume)));
	EXPECT_EQ(REC_SIZE(0, 2), s.used);
	EXPECT_EQ(-EOVERFLOW, scan(self->fd, &s, MASSTREE_IOC_SCAN_NO_END, "abc", NULL,
				   self->buf, 0, self->resume, sizeof(self->resume)));
	EXPECT_EQ(REC_SIZE(3, 2), s.used);
	/* The resume key ("ab") does not fit its buffer. */
	ASSERT_EQ(0, scan(self->fd, &s, NO_BOUNDS, NULL, NULL, self->buf,
			  sizeof(self->buf), self->resume, 1));
	s.limit = 2;
	s.resume_len = 1;
	EXPECT_EQ(-ENAMETOOLONG, mst_ioctl(self->fd, MASSTREE_IOC_SCAN, &s));
	/* Flags, reserved, bounds. */
	EXPECT_EQ(-EINVAL, scan(self->fd, &s, NO_BOUNDS | (1ULL << 5), NULL, NULL,
				self->buf, sizeof(self->buf), self->resume,
				sizeof(self->resume)));
	ASSERT_EQ(0, scan(self->fd, &s, NO_BOUNDS, NULL, NULL, self->buf,
			  sizeof(self->buf), self->resume, sizeof(self->resume)));
	s.reserved[1] = 1;
	s.resume_len = sizeof(self->resume);
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_SCAN, &s));
	s.start_len = MASSTREE_KEY_MAX + 1;
	s.start = PTR(self->resume);
	s.reserved[1] = 0;
	s.flags = MASSTREE_IOC_SCAN_NO_END;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_SCAN, &s));
	/* Bad pointers: start key, output, resume buffer. */
	s.start = PTR(pg + psz - 1);
	s.start_len = 2;
	s.resume_len = sizeof(self->resume);
	EXPECT_EQ(-EFAULT, mst_ioctl(self->fd, MASSTREE_IOC_SCAN, &s));
	EXPECT_EQ(-EFAULT, scan(self->fd, &s, NO_BOUNDS, NULL, NULL, pg + psz - 16,
				64, self->resume, sizeof(self->resume)));
	EXPECT_EQ(-EFAULT, scan(self->fd, &s, NO_BOUNDS, NULL, NULL, NULL,
				64, self->resume, sizeof(self->resume)));
	/* The resume key, "abc", runs into the unmapped page. */
	EXPECT_EQ(-EFAULT, scan(self->fd, &s, MASSTREE_IOC_SCAN_NO_END, "ab", NULL,
				self->buf, REC_SIZE(2, 2), pg + psz - 1, 8));
	munmap(pg, psz);
}

TEST(scan_empty_map)
{
	struct masstree_ioc_scan s;
	char buf[64], resume[8];
	int fd = mst_dev_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mst_create_anon(fd));
	ASSERT_EQ(0, scan(fd, &s, NO_BOUNDS, NULL, NULL, buf, sizeof(buf),
			  resume, sizeof(resume)));
	EXPECT_EQ(0, s.count);
	EXPECT_EQ(0, s.used);
	EXPECT_EQ(0, s.more);
	close(fd);
}

/* Batches. */
static void batch_op(struct masstree_ioc_op *op, __u64 code, const char *key,
		     const char *val, const char *expect)
{
	*op = op_init(key, strlen(key));
	op->op = code;
	if (val) {
		op->value = PTR(val);
		op->value_len = strlen(val);
	}
	if (expect) {
		op->expect = PTR(expect);
		op->expect_len = strlen(expect);
	}
}

TEST_F(anon, batch_all_kinds)
{
	struct masstree_ioc_op ops[6];
	struct masstree_ioc_batch b = { .size = sizeof(b), .ops = PTR(ops), .nr = 6 };
	struct masstree_ioc_stats st;
	char out[16] = "";

	batch_op(&ops[0], MASSTREE_OP_PUT, "a", "1", NULL);
	batch_op(&ops[1], MASSTREE_OP_PUT, "b", "22", NULL);
	ops[1].flags = MASSTREE_PUT_NOEXIST;
	batch_op(&ops[2], MASSTREE_OP_CMPXCHG, "a", "333", "1");
	batch_op(&ops[3], MASSTREE_OP_GET, "a", NULL, NULL);
	ops[3].value = PTR(out);
	ops[3].value_len = sizeof(out);
	batch_op(&ops[4], MASSTREE_OP_DEL, "b", NULL, NULL);
	batch_op(&ops[5], MASSTREE_OP_PUT, "c", "", NULL);
	ops[5].flags = MASSTREE_PUT_NOEXIST;
	ASSERT_EQ(0, mst_ioctl(self->fd, MASSTREE_IOC_BATCH, &b));
	EXPECT_EQ(6, b.done);
	EXPECT_EQ(0, ops[0].result);
	EXPECT_EQ(0, ops[2].result);
	EXPECT_EQ(0, ops[3].result);
	EXPECT_EQ(3, ops[3].out_len);
	EXPECT_EQ(0, memcmp(out, "333", 3));
	EXPECT_EQ(2, ops[4].out_len);
	EXPECT_EQ(2, mst_nkeys(self->fd));
	ASSERT_EQ(0, mst_stats(self->fd, &st));
	EXPECT_EQ(1, st.batches);
	EXPECT_EQ(3, st.puts);
	EXPECT_EQ(1, st.gets);
	EXPECT_EQ(1, st.dels);
	EXPECT_EQ(1, st.cmpxchgs);
}

TEST_F(anon, batch_stops_at_first_failure)
{
	struct masstree_ioc_op ops[4];
	struct masstree_ioc_batch b = { .size = sizeof(b), .ops = PTR(ops), .nr = 4 };
	char buf[8];

	batch_op(&ops[0], MASSTREE_OP_PUT, "x", "1", NULL);
	batch_op(&ops[1], MASSTREE_OP_DEL, "missing", NULL, NULL);
	batch_op(&ops[2], MASSTREE_OP_PUT, "y", "2", NULL);
	batch_op(&ops[3], MASSTREE_OP_PUT, "z", "3", NULL);
	ops[2].result = 77;
	EXPECT_EQ(-ENOENT, mst_ioctl(self->fd, MASSTREE_IOC_BATCH, &b));
	EXPECT_EQ(1, b.done);
	EXPECT_EQ(0, ops[0].result);
	EXPECT_EQ(-ENOENT, ops[1].result);
	EXPECT_EQ(0, get(self->fd, "x", buf, sizeof(buf), NULL));
	EXPECT_EQ(-ENOENT, get(self->fd, "y", buf, sizeof(buf), NULL));
	EXPECT_EQ(1, mst_nkeys(self->fd));

	/* CONTINUE: the expected outcomes are recorded and the batch goes on. */
	b.flags = MASSTREE_BATCH_CONTINUE;
	batch_op(&ops[0], MASSTREE_OP_PUT, "x", "1", NULL);
	ops[0].flags = MASSTREE_PUT_NOEXIST;
	batch_op(&ops[2], MASSTREE_OP_CMPXCHG, "x", "9", "0");
	batch_op(&ops[3], MASSTREE_OP_GET, "x", NULL, NULL);
	ops[3].value = PTR(buf);
	ops[3].value_len = 0;
	EXPECT_EQ(0, mst_ioctl(self->fd, MASSTREE_IOC_BATCH, &b));
	EXPECT_EQ(4, b.done);
	EXPECT_EQ(-EEXIST, ops[0].result);
	EXPECT_EQ(-ENOENT, ops[1].result);
	EXPECT_EQ(-ECANCELED, ops[2].result);
	EXPECT_EQ(1, ops[2].out_len);
	EXPECT_EQ(-EOVERFLOW, ops[3].result);
	EXPECT_EQ(1, ops[3].out_len);

	/* An invalid operation stops even a CONTINUE batch. */
	batch_op(&ops[0], MASSTREE_OP_PUT, "y", "2", NULL);
	batch_op(&ops[1], MASSTREE_OP_PUT, "z", "3", NULL);
	ops[1].key_len = MASSTREE_KEY_MAX + 1;
	batch_op(&ops[2], MASSTREE_OP_PUT, "w", "4", NULL);
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_BATCH, &b));
	EXPECT_EQ(1, b.done);
	EXPECT_EQ(-EINVAL, ops[1].result);
	EXPECT_EQ(2, mst_nkeys(self->fd));
	EXPECT_EQ(-ENOENT, get(self->fd, "w", buf, sizeof(buf), NULL));
}

TEST_F(anon, batch_malformed)
{
	struct masstree_ioc_op ops[2];
	struct masstree_ioc_batch b = { .size = sizeof(b), .ops = PTR(ops), .nr = 2 };
	long psz = sysconf(_SC_PAGESIZE);
	char *pg = page_pair();
	struct masstree_ioc_op *edge;

	ASSERT_TRUE(!!pg);
	batch_op(&ops[0], MASSTREE_OP_PUT, "a", "1", NULL);
	batch_op(&ops[1], MASSTREE_OP_PUT, "b", "2", NULL);
	b.nr = MASSTREE_BATCH_MAX + 1;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_BATCH, &b));
	b.nr = ~0ULL;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_BATCH, &b));
	b.nr = 2;
	b.flags = 1ULL << 1;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_BATCH, &b));
	b.flags = 0;
	b.reserved[2] = 1;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_BATCH, &b));
	b.reserved[2] = 0;
	EXPECT_EQ(0, mst_nkeys(self->fd));
	/* An operation without its op code. */
	ops[1].op = 0;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_BATCH, &b));
	EXPECT_EQ(1, b.done);
	ops[1].op = 17;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_BATCH, &b));
	ops[1].op = MASSTREE_OP_PUT;
	ops[1].reserved = 1;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_BATCH, &b));
	ops[1].reserved = 0;
	/* Elements are today's size exactly. */
	ops[1].size = sizeof(ops[1]) + 8;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_BATCH, &b));
	ops[1].size = sizeof(ops[1]) - 8;
	EXPECT_EQ(-EINVAL, mst_ioctl(self->fd, MASSTREE_IOC_BATCH, &b));
	ops[1].size = sizeof(ops[1]);
	EXPECT_EQ(1, mst_nkeys(self->fd));
	/* The array: NULL, and running into the unmapped page. */
	b.ops = 0;
	EXPECT_EQ(-EFAULT, mst_ioctl(self->fd, MASSTREE_IOC_BATCH, &b));
	edge = (void *)(pg + psz - sizeof(*edge));
	batch_op(edge, MASSTREE_OP_PUT, "c", "3", NULL);
	b.ops = PTR(edge);
	b.nr = 2;
	EXPECT_EQ(-EFAULT, mst_ioctl(self->fd, MASSTREE_IOC_BATCH, &b));
	EXPECT_EQ(1, b.done);
	EXPECT_EQ(0, edge->result);
	b.nr = 1;
	b.done = 99;
	batch_op(edge, MASSTREE_OP_DEL, "c", NULL, NULL);
	EXPECT_EQ(0, mst_ioctl(self->fd, MASSTREE_IOC_BATCH, &b));
	EXPECT_EQ(1, b.done);
	EXPECT_EQ(1, mst_nkeys(self->fd));
	munmap(pg, psz);
}

/* Named maps. */
FIXTURE(named) {
	int fd;
	char name[40];
};

FIXTURE_SETUP(named)
{
	self->fd = mst_dev_open();
	ASSERT_LE(0, self->fd);
	mst_map_name(self->name, sizeof(self->name), "m");
	ASSERT_EQ(0, mst_create(self->fd, self->name, 0600));
}

FIXTURE_TEARDOWN(named)
{
	int fd = mst_dev_open();

	mst_destroy(fd, self->name);
	close(fd);
	close(self->fd);
}

TEST_F(named, create_open_and_lifetime)
{
	struct masstree_map_info info;
	char buf[16];
	int fd2;

	EXPECT_EQ(-EEXIST, mst_create(self->fd, self->name, 0600));
	ASSERT_EQ(0, mst_list_find(self->name, &info));
	EXPECT_EQ(0600, info.mode);
	EXPECT_EQ(0, info.uid);
	EXPECT_EQ(0, info.gid);
	EXPECT_EQ(0, info.keys);
	EXPECT_EQ(0, info.cuid);
	EXPECT_EQ(0, info.cgid);
	EXPECT_EQ(0, info.reserved[0]);
	/* A named CREATE leaves the descriptor detached. */
	EXPECT_EQ(-EBADFD, put(self->fd, "k", "v", 0));
	EXPECT_EQ(-EINVAL, mst_open_map(self->fd, self->name, 0));
	EXPECT_EQ(-EINVAL, mst_open_map(self->fd, self->name, 1ULL << 2));
	ASSERT_EQ(0, mst_open_map(self->fd, self->name, MASSTREE_OPEN_READ | MASSTREE_OPEN_WRITE));
	EXPECT_EQ(-EBUSY, mst_open_map(self->fd, self->name, MASSTREE_OPEN_READ));
	EXPECT_EQ(-EBUSY, mst_create_anon(self->fd));
	ASSERT_EQ(0, put(self->fd, "k", "v", 0));
	/* The map outlives its descriptors. */
	close(self->fd);
	self->fd = mst_dev_open();
	ASSERT_EQ(0, mst_open_map(self->fd, self->name, MASSTREE_OPEN_READ));
	ASSERT_EQ(0, get(self->fd, "k", buf, sizeof(buf), NULL));
	EXPECT_STREQ("v", buf);
	ASSERT_EQ(0, mst_list_find(self->name, &info));
	EXPECT_EQ(1, info.keys);
	EXPECT_LT(0, info.bytes);
	fd2 = mst_dev_open();
	EXPECT_EQ(-ENOENT, mst_open_map(fd2, "mt-no-such-map", MASSTREE_OPEN_READ));
	close(fd2);
}

TEST_F(named, read_only_and_write_only_attachments)
{
	struct masstree_ioc_clear cl = { .size = sizeof(cl) };
	struct masstree_ioc_stats st;
	int wfd = mst_dev_open();
	char buf[8];

	ASSERT_LE(0, wfd);
	ASSERT_EQ(0, mst_open_map(wfd, self->name, MASSTREE_OPEN_WRITE));
	ASSERT_EQ(0, put(wfd, "k", "v", 0));
	ASSERT_EQ(0, mst_open_map(self->fd, self->name, MASSTREE_OPEN_READ));
	EXPECT_EQ(-EBADF, put(self->fd, "k", "w", 0));
	EXPECT_EQ(-EBADF, del(self->fd, "k"));
	EXPECT_EQ(-EBADF, cmpxchg(self->fd, "k", "v", "w", NULL));
	EXPECT_EQ(-EBADF, mst_ioctl(self->fd, MASSTREE_IOC_CLEAR, &cl));
	EXPECT_EQ(0, get(self->fd, "k", buf, sizeof(buf), NULL));
	EXPECT_STREQ("v", buf);
	EXPECT_EQ(0, mst_stats(self->fd, &st));
	EXPECT_EQ(1, st.keys);
	/* Reads through a write-only attachment, as for files (undocumented). */
	EXPECT_EQ(-EBADF, get(wfd, "k", buf, sizeof(buf), NULL));
	EXPECT_EQ(-EBADF, mst_stats(wfd, &st));
	/* CMPXCHG tells what a key holds: it needs read access too. */
	EXPECT_EQ(-EBADF, cmpxchg(wfd, "k", "v", "w", NULL));
	close(wfd);
}

TEST_F(named, destroy_while_attached)
{
	struct masstree_ioc_stats st;
	struct masstree_map_info info;
	char buf[8];
	int fd2 = mst_dev_open(), fd3 = mst_dev_open();

	ASSERT_LE(0, fd2);
	ASSERT_LE(0, fd3);
	ASSERT_EQ(0, mst_open_map(self->fd, self->name, MASSTREE_OPEN_READ | MASSTREE_OPEN_WRITE));
	ASSERT_EQ(0, mst_open_map(fd2, self->name, MASSTREE_OPEN_READ));
	ASSERT_EQ(0, put(self->fd, "k", "v", 0));
	EXPECT_EQ(-EINVAL, mst_name_cmd(fd2, MASSTREE_IOC_DESTROY, self->name, 1));
	ASSERT_EQ(0, mst_destroy(fd2, self->name));
	EXPECT_EQ(-ENOENT, mst_destroy(fd2, self->name));
	EXPECT_EQ(-ENOENT, mst_list_find(self->name, &info));
	EXPECT_EQ(-EIDRM, get(self->fd, "k", buf, sizeof(buf), NULL));
	EXPECT_EQ(-EIDRM, put(self->fd, "k", "w", 0));
	EXPECT_EQ(-EIDRM, del(self->fd, "k"));
	EXPECT_EQ(-EIDRM, mst_stats(fd2, &st));
	/* The name is free again at once: a new, empty map. */
	ASSERT_EQ(0, mst_create(fd3, self->name, 0600));
	ASSERT_EQ(0, mst_open_map(fd3, self->name, MASSTREE_OPEN_READ));
	EXPECT_EQ(-ENOENT, get(fd3, "k", buf, sizeof(buf), NULL));
	EXPECT_EQ(-EIDRM, get(self->fd, "k", buf, sizeof(buf), NULL));
	EXPECT_EQ(-EIDRM, get(fd2, "k", buf, sizeof(buf), NULL));
	close(fd2);
	close(fd3);
}

TEST(names)
{
	static const char * const bad[] = {
		"", ".hidden", "a/b", "a b", "tab\t", "caf\xc3\xa9", "..",
		"caf\xe9", "\xc0\xd0",	/* Latin-1 letters are not ASCII */
	};
	struct masstree_ioc_create c = { .size = sizeof(c), .mode = 0600 };
	char name[MASSTREE_NAME_MAX + 1];
	int fd = mst_dev_open();
	size_t i;

	ASSERT_LE(0, fd);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		TH_LOG("name '%s'", bad[i]);
		EXPECT_EQ(-EINVAL, mst_create(fd, bad[i], 0600));
	}
	/* 63 characters: the longest name. */
	memset(name, 'n', MASSTREE_NAME_MAX - 1);
	snprintf(name, 20, "mt-%d-", getpid());
	name[strlen(name)] = 'n';
	name[MASSTREE_NAME_MAX - 1] = '\0';
	EXPECT_EQ(0, mst_create(fd, name, 0600));
	EXPECT_EQ(0, mst_destroy(fd, name));
	/* 64 without a NUL. */
	memset(c.name, 'n', sizeof(c.name));
	EXPECT_EQ(-EINVAL, mst_ioctl(fd, MASSTREE_IOC_CREATE, &c));
	EXPECT_EQ(-EINVAL, mst_name_cmd(fd, MASSTREE_IOC_OPEN, "a/b", MASSTREE_OPEN_READ));
	/* Mode, flags, reserved. */
	snprintf(name, sizeof(name), "mt-%d-x_y.Z-9", getpid());
	EXPECT_EQ(-EINVAL, mst_create(fd, name, 01000));
	EXPECT_EQ(-EINVAL, mst_create(fd, name, 04755));
	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	strcpy(c.name, name);
	c.flags = 1ULL << 1;
	EXPECT_EQ(-EINVAL, mst_ioctl(fd, MASSTREE_IOC_CREATE, &c));
	c.flags = 0;
	c.reserved[3] = 1;
	EXPECT_EQ(-EINVAL, mst_ioctl(fd, MASSTREE_IOC_CREATE, &c));
	c.reserved[3] = 0;
	/* An anonymous map has no name and no mode. */
	c.flags = MASSTREE_CREATE_ANON;
	EXPECT_EQ(-EINVAL, mst_ioctl(fd, MASSTREE_IOC_CREATE, &c));
	memset(c.name, 0, sizeof(c.name));
	c.mode = 0600;
	EXPECT_EQ(-EINVAL, mst_ioctl(fd, MASSTREE_IOC_CREATE, &c));
	EXPECT_EQ(-EBADFD, put(fd, "k", "v", 0));
	strcpy(c.name, name);
	c.flags = 0;
	EXPECT_EQ(0, mst_ioctl(fd, MASSTREE_IOC_CREATE, &c));
	EXPECT_EQ(0, mst_destroy(fd, name));
	close(fd);
}

TEST(list_pages_in_order)
{
	struct masstree_map_info info[2];
	struct masstree_ioc_list l = { .size = sizeof(l), .maps = PTR(info), .nr = 1 };
	char names[3][48], prefix[40], last[MASSTREE_NAME_MAX] = "";
	int fd = mst_dev_open(), found = 0, i;

	ASSERT_LE(0, fd);
	mst_map_name(prefix, sizeof(prefix), "list-");
	for (i = 2; i >= 0; i--) {
		snprintf(names[i], sizeof(names[i]), "%s%c", prefix, 'a' + i);
		ASSERT_EQ(0, mst_create(fd, names[i], 0640 + i));
	}
	/* One at a time, in name order. */
	for (i = 0; i < 1000; i++) {
		ASSERT_EQ(0, mst_ioctl(fd, MASSTREE_IOC_LIST, &l));
		if (!l.count)
			break;
		ASSERT_EQ(1, l.count);
		EXPECT_LT(0, strcmp(info[0].name, last));
		strcpy(last, info[0].name);
		if (!strncmp(info[0].name, prefix, strlen(prefix))) {
			EXPECT_STREQ(names[found], info[0].name);
			EXPECT_EQ(0640 + found, info[0].mode);
			found++;
		}
		memcpy(l.after, info[0].name, sizeof(l.after));
		if (!l.more)
			break;
	}
	EXPECT_EQ(3, found);
	/* Room for none. */
	memset(l.after, 0, sizeof(l.after));
	l.nr = 0;
	ASSERT_EQ(0, mst_ioctl(fd, MASSTREE_IOC_LIST, &l));
	EXPECT_EQ(0, l.count);
	EXPECT_EQ(1, l.more);
	l.nr = 2;
	l.flags = 1;
	EXPECT_EQ(-EINVAL, mst_ioctl(fd, MASSTREE_IOC_LIST, &l));
	l.flags = 0;
	l.reserved[0] = 1;
	EXPECT_EQ(-EINVAL, mst_ioctl(fd, MASSTREE_IOC_LIST, &l));
	l.reserved[0] = 0;
	l.maps = 0;
	EXPECT_EQ(-EFAULT, mst_ioctl(fd, MASSTREE_IOC_LIST, &l));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, mst_destroy(fd, names[i]));
	close(fd);
}

TEST_F(named, setattr)
{
	struct masstree_map_info info;

	EXPECT_EQ(0, mst_setattr(self->fd, self->name, MASSTREE_SETATTR_MODE, 0644, 0, 0));
	ASSERT_EQ(0, mst_list_find(self->name, &info));
	EXPECT_EQ(0644, info.mode);
	EXPECT_EQ(0, mst_setattr(self->fd, self->name, MASSTREE_SETATTR_UID, 0, 123, 0));
	ASSERT_EQ(0, mst_list_find(self->name, &info));
	EXPECT_EQ(123, info.uid);
	EXPECT_EQ(0, info.gid);
	EXPECT_EQ(0644, info.mode);
	EXPECT_EQ(0, mst_setattr(self->fd, self->name,
				 MASSTREE_SETATTR_GID | MASSTREE_SETATTR_MODE, 0600, 0, 456));
	ASSERT_EQ(0, mst_list_find(self->name, &info));
	EXPECT_EQ(123, info.uid);
	EXPECT_EQ(456, info.gid);
	EXPECT_EQ(0600, info.mode);
	EXPECT_EQ(-EINVAL, mst_setattr(self->fd, self->name, MASSTREE_SETATTR_MODE, 01000, 0, 0));
	EXPECT_EQ(-EINVAL, mst_setattr(self->fd, self->name, MASSTREE_SETATTR_UID, 0, -1, 0));
	EXPECT_EQ(-EINVAL, mst_setattr(self->fd, self->name, MASSTREE_SETATTR_GID, 0, 0,
				       1ULL << 32));
	EXPECT_EQ(-EINVAL, mst_setattr(self->fd, self->name, 1ULL << 3, 0, 0, 0));
	EXPECT_EQ(-ENOENT, mst_setattr(self->fd, "mt-no-such-map", MASSTREE_SETATTR_MODE,
				       0600, 0, 0));
	ASSERT_EQ(0, mst_list_find(self->name, &info));
	EXPECT_EQ(123, info.uid);
	EXPECT_EQ(456, info.gid);
	EXPECT_EQ(0600, info.mode);
}

/* Permissions, from a child running as nobody (65534). */
struct perm_arg {
	const char *name;
	__u64 access;
	int expect;
};

static int child_open(void *p)
{
	struct perm_arg *a = p;
	int fd = mst_dev_open();

	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(mst_open_map(fd, a->name, a->access) == a->expect);
	return 0;
}

static int perm_open(const char *name, __u64 access, int expect)
{
	struct perm_arg a = { name, access, expect };

	return mst_run_as(NOBODY, child_open, &a);
}

TEST_F(named, permissions_like_files)
{
	const __u64 r = MASSTREE_OPEN_READ, w = MASSTREE_OPEN_WRITE;
	const char *n = self->name;

	/* 0600, root's: nobody gets nothing. */
	EXPECT_EQ(0, perm_open(n, r, -EACCES));
	EXPECT_EQ(0, perm_open(n, w, -EACCES));
	EXPECT_EQ(0, perm_open(n, r | w, -EACCES));
	/* Other bits. */
	ASSERT_EQ(0, mst_setattr(self->fd, n, MASSTREE_SETATTR_MODE, 0604, 0, 0));
	EXPECT_EQ(0, perm_open(n, r, 0));
	EXPECT_EQ(0, perm_open(n, w, -EACCES));
	EXPECT_EQ(0, perm_open(n, r | w, -EACCES));
	ASSERT_EQ(0, mst_setattr(self->fd, n, MASSTREE_SETATTR_MODE, 0602, 0, 0));
	EXPECT_EQ(0, perm_open(n, r, -EACCES));
	EXPECT_EQ(0, perm_open(n, w, 0));
	/* In the map's group, the group bits decide, not the other bits. */
	ASSERT_EQ(0, mst_setattr(self->fd, n, MASSTREE_SETATTR_GID | MASSTREE_SETATTR_MODE,
				 0606, 0, NOBODY));
	EXPECT_EQ(0, perm_open(n, r, -EACCES));
	ASSERT_EQ(0, mst_setattr(self->fd, n, MASSTREE_SETATTR_MODE, 0660, 0, 0));
	EXPECT_EQ(0, perm_open(n, r | w, 0));
	/* As owner, the owner bits decide. */
	ASSERT_EQ(0, mst_setattr(self->fd, n, MASSTREE_SETATTR_UID | MASSTREE_SETATTR_MODE,
				 0066, NOBODY, 0));
	EXPECT_EQ(0, perm_open(n, r, -EACCES));
	ASSERT_EQ(0, mst_setattr(self->fd, n, MASSTREE_SETATTR_MODE, 0400, 0, 0));
	EXPECT_EQ(0, perm_open(n, r, 0));
	EXPECT_EQ(0, perm_open(n, w, -EACCES));
	/* CAP_SYS_ADMIN overrides the mode. */
	ASSERT_EQ(0, mst_setattr(self->fd, n, MASSTREE_SETATTR_MODE, 0, 0, 0));
	EXPECT_EQ(0, mst_open_map(self->fd, n, r | w));
}

static int child_not_owner(void *p)
{
	const char *name = p;
	int fd = mst_dev_open();
	struct masstree_map_info info;

	CHILD_CHECK(fd >= 0);
	/* Anyone may list. */
	CHILD_CHECK(mst_list_find(name, &info) == 0);
	CHILD_CHECK(mst_destroy(fd, name) == -EPERM);
	CHILD_CHECK(mst_setattr(fd, name, MASSTREE_SETATTR_MODE, 0666, 0, 0) == -EPERM);
	CHILD_CHECK(mst_setattr(fd, name, MASSTREE_SETATTR_UID, 0, NOBODY, 0) == -EPERM);
	/* Attached read-write while the mode allowed it. */
	CHILD_CHECK(mst_open_map(fd, name, MASSTREE_OPEN_READ | MASSTREE_OPEN_WRITE) == 0);
	CHILD_CHECK(put(fd, "child", "1", 0) == 0);
	return 0;
}

TEST_F(named, only_owner_or_admin_changes_a_map)
{
	struct masstree_map_info info;

	ASSERT_EQ(0, mst_setattr(self->fd, self->name, MASSTREE_SETATTR_MODE, 0666, 0, 0));
	EXPECT_EQ(0, mst_run_as(NOBODY, child_not_owner, self->name));
	ASSERT_EQ(0, mst_list_find(self->name, &info));
	EXPECT_EQ(0666, info.mode);
	EXPECT_EQ(0, info.uid);
	EXPECT_EQ(1, info.keys);
}

/* The child owns the map: it may chmod, chown away and destroy it. */
static int child_owner(void *p)
{
	const char *name = p;
	int fd = mst_dev_open();
	char buf[8];

	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(mst_open_map(fd, name, MASSTREE_OPEN_READ | MASSTREE_OPEN_WRITE) == 0);
	CHILD_CHECK(mst_setattr(fd, name, MASSTREE_SETATTR_MODE, 0, 0, 0) == 0);
	/* Descriptors already attached keep their access. */
	CHILD_CHECK(put(fd, "k", "v", 0) == 0);
	CHILD_CHECK(get(fd, "k", buf, sizeof(buf), NULL) == 0);
	close(fd);
	fd = mst_dev_open();
	CHILD_CHECK(mst_open_map(fd, name, MASSTREE_OPEN_READ) == -EACCES);
	CHILD_CHECK(mst_setattr(fd, name, MASSTREE_SETATTR_MODE, 0600, 0, 0) == 0);
	CHILD_CHECK(mst_open_map(fd, name, MASSTREE_OPEN_READ) == 0);
	close(fd);
	fd = mst_dev_open();
	CHILD_CHECK(mst_destroy(fd, name) == 0);
	/* Its own map, created as nobody, is nobody's. */
	CHILD_CHECK(mst_create(fd, name, 0600) == 0);
	return 0;
}

TEST_F(named, owner_changes_and_destroys)
{
	struct masstree_map_info info;

	ASSERT_EQ(0, mst_setattr(self->fd, self->name, MASSTREE_SETATTR_UID, 0, NOBODY, 0));
	EXPECT_EQ(0, mst_run_as(NOBODY, child_owner, self->name));
	ASSERT_EQ(0, mst_list_find(self->name, &info));
	EXPECT_EQ(NOBODY, info.uid);
	EXPECT_EQ(NOBODY, info.gid);
	EXPECT_EQ(0, info.keys);
	/* Root reaches it regardless (the teardown destroys it). */
	EXPECT_EQ(0, mst_open_map(self->fd, self->name, MASSTREE_OPEN_READ | MASSTREE_OPEN_WRITE));
	EXPECT_EQ(0, put(self->fd, "root", "1", 0));
}

/* Caps, set through the module parameters and restored afterwards. */
FIXTURE(caps) {
	char map_bytes[32], user_bytes[32], maps[32];
};

FIXTURE_SETUP(caps)
{
	ASSERT_EQ(0, mst_read_file(PARAMS "max_map_bytes", self->map_bytes,
				   sizeof(self->map_bytes)));
	ASSERT_EQ(0, mst_read_file(PARAMS "max_user_bytes", self->user_bytes,
				   sizeof(self->user_bytes)));
	ASSERT_EQ(0, mst_read_file(PARAMS "max_maps", self->maps, sizeof(self->maps)));
}

FIXTURE_TEARDOWN(caps)
{
	EXPECT_EQ(0, mst_write_file(PARAMS "max_map_bytes", self->map_bytes));
	EXPECT_EQ(0, mst_write_file(PARAMS "max_user_bytes", self->user_bytes));
	EXPECT_EQ(0, mst_write_file(PARAMS "max_maps", self->maps));
}

/*
 * Fill @fd with 1 KiB values until @err, at most @max keys; check that the
 * failed PUT, and a replace growing a value past the cap, changed nothing.
 * Returns the number of keys stored, or -1.
 */
static int fill_until(int fd, int err, int max)
{
	struct masstree_ioc_stats before, after;
	static char val[1024], bigger[4096], buf[1024];
	char key[16];
	__u64 len;
	int i, ret;

	memset(val, 'v', sizeof(val) - 1);
	memset(bigger, 'b', sizeof(bigger) - 1);
	for (i = 0; i < max; i++) {
		snprintf(key, sizeof(key), "k%05d", i);
		if (mst_stats(fd, &before))
			return -1;
		ret = put(fd, key, val, 0);
		if (!ret)
			continue;
		if (ret != err || mst_stats(fd, &after) ||
		    before.keys != after.keys || before.charged_bytes != after.charged_bytes ||
		    get(fd, key, buf, sizeof(buf), NULL) != -ENOENT) {
			fprintf(stderr, "# key %d: put %d, keys %llu -> %llu\n", i, ret,
				(unsigned long long)before.keys, (unsigned long long)after.keys);
			return -1;
		}
		/* A replace that would grow past the cap fails the same way. */
		if (!i || put(fd, "k00000", bigger, 0) != err ||
		    get(fd, "k00000", buf, sizeof(buf), &len) || len != sizeof(val) - 1)
			return -1;
		return i;
	}
	return max;
}

TEST_F(caps, map_bytes)
{
	struct masstree_ioc_stats st;
	int fd = mst_dev_open(), n;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mst_write_file(PARAMS "max_map_bytes", "32768"));
	ASSERT_EQ(0, mst_create_anon(fd));
	n = fill_until(fd, -ENOSPC, 100);
	ASSERT_LT(0, n);
	EXPECT_GT(32, n);
	ASSERT_EQ(0, mst_stats(fd, &st));
	EXPECT_GE(32768, st.charged_bytes);
	/* Deleting makes room again. */
	EXPECT_EQ(0, del(fd, "k00001"));
	EXPECT_EQ(0, put(fd, "k00001", "small", 0));
	/* Raised, the cap lets more in. */
	ASSERT_EQ(0, mst_write_file(PARAMS "max_map_bytes", "1048576"));
	EXPECT_EQ(0, put(fd, "more", "1", 0));
	close(fd);
}

static int child_user_bytes(void *p)
{
	int a = mst_dev_open(), b = mst_dev_open(), n;

	(void)p;
	CHILD_CHECK(a >= 0 && b >= 0);
	CHILD_CHECK(mst_create_anon(a) == 0);
	CHILD_CHECK(mst_create_anon(b) == 0);
	/* Half the user's cap in one map, the rest runs out in the other. */
	n = fill_until(a, -EDQUOT, 12);
	CHILD_CHECK(n == 12);
	CHILD_CHECK(mst_nkeys(a) == 12);
	n = fill_until(b, -EDQUOT, 100);
	CHILD_CHECK(n > 0 && n < 32);
	/* Freeing in one map makes room in the other. */
	close(a);
	CHILD_CHECK(put(b, "after-close", "1", 0) == 0);
	return 0;
}

TEST_F(caps, user_bytes)
{
	ASSERT_EQ(0, mst_write_file(PARAMS "max_user_bytes", "32768"));
	EXPECT_EQ(0, mst_run_as(NOBODY, child_user_bytes, NULL));
}

/* Erase @n keys that fill_until() stored; 0 or -1. */
static int erase_filled(int fd, int n)
{
	char key[16];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "k%05d", i);
		if (del(fd, key))
			return -1;
	}
	return 0;
}

/* Store the @n keys fill_until() stored, again; 0 or the first error. */
static int refill(int fd, int n)
{
	static char val[1024];
	char key[16];
	int i, ret;

	memset(val, 'v', sizeof(val) - 1);
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "k%05d", i);
		ret = put(fd, key, val, 0);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * What erases freed is room for the next writes at once, though no one
 * read the map's figures in between (which would settle them): a cap
 * that refuses settles what it counts and judges again.
 */
TEST_F(caps, erased_room_is_reused_at_once)
{
	int fd = mst_dev_open(), n;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mst_write_file(PARAMS "max_map_bytes", "32768"));
	ASSERT_EQ(0, mst_create_anon(fd));
	n = fill_until(fd, -ENOSPC, 100);
	ASSERT_LT(1, n);
	ASSERT_EQ(0, erase_filled(fd, n));
	/* One key fewer: an emptied tree may keep a node until it settles. */
	EXPECT_EQ(0, refill(fd, n - 1));
	close(fd);
}

static int child_user_room(void *p)
{
	int a = mst_dev_open(), b = mst_dev_open(), n;

	(void)p;
	CHILD_CHECK(a >= 0 && b >= 0);
	CHILD_CHECK(mst_create_anon(a) == 0);
	CHILD_CHECK(mst_create_anon(b) == 0);
	/* One map up to the user's cap, emptied: the other takes as much. */
	n = fill_until(a, -EDQUOT, 100);
	CHILD_CHECK(n > 1 && n < 32);
	CHILD_CHECK(erase_filled(a, n) == 0);
	CHILD_CHECK(refill(b, n - 1) == 0);
	close(a);
	close(b);
	return 0;
}

TEST_F(caps, erased_room_is_reused_by_the_users_other_map)
{
	ASSERT_EQ(0, mst_write_file(PARAMS "max_user_bytes", "32768"));
	EXPECT_EQ(0, mst_run_as(NOBODY, child_user_room, NULL));
}

static int child_max_maps(void *p)
{
	const char *prefix = p;
	char name[48];
	int fd = mst_dev_open(), i;

	CHILD_CHECK(fd >= 0);
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "%s%d", prefix, i);
		CHILD_CHECK(mst_create(fd, name, 0600) == (i < 2 ? 0 : -EDQUOT));
	}
	snprintf(name, sizeof(name), "%s%d", prefix, 0);
	CHILD_CHECK(mst_destroy(fd, name) == 0);
	snprintf(name, sizeof(name), "%s%d", prefix, 2);
	CHILD_CHECK(mst_create(fd, name, 0600) == 0);
	for (i = 1; i < 3; i++) {
		snprintf(name, sizeof(name), "%s%d", prefix, i);
		CHILD_CHECK(mst_destroy(fd, name) == 0);
	}
	return 0;
}

TEST_F(caps, max_maps)
{
	struct masstree_map_info info;
	char prefix[40], name[48];

	mst_map_name(prefix, sizeof(prefix), "maps-");
	ASSERT_EQ(0, mst_write_file(PARAMS "max_maps", "2"));
	EXPECT_EQ(0, mst_run_as(NOBODY, child_max_maps, prefix));
	snprintf(name, sizeof(name), "%s%d", prefix, 2);
	EXPECT_EQ(-ENOENT, mst_list_find(name, &info));
}

/* Threads sharing one descriptor. */
struct worker {
	pthread_t tid;
	int fd, id, n, errors;
	int *stop;
};

static void *writer(void *p)
{
	static __thread char sbuf[32768];
	struct worker *w = p;
	char key[32], val[32], buf[32];
	struct masstree_ioc_scan s;
	char resume[64];
	__u64 len;
	int i, round;

	for (round = 0; round < 2; round++) {
		for (i = 0; i < w->n; i++) {
			snprintf(key, sizeof(key), "w%d-%06d", w->id, i);
			snprintf(val, sizeof(val), "%d.%d", i, round);
			w->errors += !!put(w->fd, key, val, round ? MASSTREE_PUT_EXIST :
					   MASSTREE_PUT_NOEXIST);
		}
		for (i = 0; i < w->n; i++) {
			snprintf(key, sizeof(key), "w%d-%06d", w->id, i);
			snprintf(val, sizeof(val), "%d.%d", i, round);
			if (get(w->fd, key, buf, sizeof(buf), &len) || strcmp(buf, val))
				w->errors++;
		}
		/* Our own keys, exactly, in one scan of our prefix. */
		snprintf(key, sizeof(key), "w%d-", w->id);
		snprintf(val, sizeof(val), "w%d.", w->id);
		if (scan(w->fd, &s, MASSTREE_IOC_SCAN_END_EXCL, key, val, sbuf,
			 sizeof(sbuf), resume, sizeof(resume)) || s.count != (__u64)w->n ||
		    s.more)
			w->errors++;
	}
	for (i = 0; i < w->n; i++) {
		snprintf(key, sizeof(key), "w%d-%06d", w->id, i);
		w->errors += !!del(w->fd, key);
		if (get(w->fd, key, buf, sizeof(buf), &len) != -ENOENT)
			w->errors++;
	}
	return NULL;
}

static int keycmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* Check one record seen by the scanner: key "wT-IIIIII", value "I.R". */
static bool record_ok(const char *key, size_t klen, const char *val, size_t vlen)
{
	char digits[8], want[16];

	if (klen < 6 || klen > 12)
		return false;
	memcpy(digits, key + klen - 6, 6);
	digits[6] = '\0';
	snprintf(want, sizeof(want), "%d.", atoi(digits));
	return vlen > strlen(want) && !memcmp(want, val, strlen(want));
}

/* Full scans while the writers run: strictly increasing, well formed. */
static void *scanner(void *p)
{
	struct worker *w = p;
	static char sbuf[8192];
	char resume[64], prev[64];
	struct masstree_ioc_scan s;
	size_t plen, off;
	__u64 i;

	while (!__atomic_load_n(w->stop, __ATOMIC_RELAXED)) {
		plen = 0;
		if (scan(w->fd, &s, NO_BOUNDS, NULL, NULL, sbuf, sizeof(sbuf),
			 resume, sizeof(resume))) {
			w->errors++;
			break;
		}
		for (;;) {
			for (i = 0, off = 0; i < s.count; i++) {
				struct masstree_ioc_scan_rec r;
				const char *key;

				memcpy(&r, sbuf + off, sizeof(r));
				key = sbuf + off + sizeof(r);
				if (r.key_len >= sizeof(prev) ||
				    (plen && keycmp(prev, plen, key, r.key_len) >= 0) ||
				    !record_ok(key, r.key_len, key + r.key_len, r.value_len))
					w->errors++;
				plen = r.key_len < sizeof(prev) ? r.key_len : 0;
				memcpy(prev, key, plen);
				off += sizeof(r) + ((r.key_len + r.value_len + 7) & ~7U);
			}
			if (!s.more)
				break;
			s.flags = MASSTREE_IOC_SCAN_NO_END;
			s.start = PTR(resume);
			s.start_len = s.resume_len;
			s.resume_len = sizeof(resume);
			if (mst_ioctl(w->fd, MASSTREE_IOC_SCAN, &s)) {
				w->errors++;
				break;
			}
		}
		w->n++;
	}
	return NULL;
}

TEST_F_TIMEOUT(anon, threads_share_a_descriptor, 120)
{
	struct worker w[5] = { 0 };
	int stop = 0;
	int i, n = quick() ? 150 : 1000;

	/* glibc's 32-bit pthreads call futex(), absent without COMPAT_32BIT_TIME. */
	if (syscall(SYS_futex, &stop, FUTEX_WAKE, 1, NULL, NULL, 0) < 0)
		SKIP(return, "futex() is missing: a 32-bit caller needs CONFIG_COMPAT_32BIT_TIME");

	for (i = 0; i < 5; i++) {
		w[i].fd = self->fd;
		w[i].id = i;
		w[i].n = i < 4 ? n : 0;
		w[i].stop = &stop;
		ASSERT_EQ(0, pthread_create(&w[i].tid, NULL, i < 4 ? writer : scanner, &w[i]));
	}
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, pthread_join(w[i].tid, NULL));
		EXPECT_EQ(0, w[i].errors);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	ASSERT_EQ(0, pthread_join(w[4].tid, NULL));
	EXPECT_EQ(0, w[4].errors);
	EXPECT_LT(0, w[4].n);
	EXPECT_EQ(0, mst_nkeys(self->fd));
}

/* debugfs: the module's node counters return to their baseline. */
static int read_nodes(long *leaves, long *internodes, long *suffixes)
{
	FILE *f = fopen(DEBUGFS "nodes", "r");
	int n;

	if (!f)
		return -errno;
	n = fscanf(f, "leaves %ld internodes %ld suffixes %ld", leaves, internodes,
		   suffixes);
	fclose(f);
	return n == 3 ? 0 : -EINVAL;
}

/* "maps N" of the device's debugfs stats. */
static long live_maps(void)
{
	char buf[512], *p;

	if (mst_read_file(DEBUGFS "dev_stats", buf, sizeof(buf)))
		return -1;
	p = strstr(buf, "maps ");
	return p ? atol(p + 5) : -1;
}

TEST(close_frees_anonymous_map)
{
	long l0, i0, s0, l, in, s, maps0 = live_maps();
	char key[300];
	int fd, i, tries, same;

	ASSERT_LE(0, maps0);
	/* Earlier tests' nodes may still wait for RCU: settle first. */
	ASSERT_EQ(0, read_nodes(&l0, &i0, &s0));
	for (tries = 0, same = 0; tries < 50 && same < 3; tries++) {
		nap_ms(100);
		ASSERT_EQ(0, read_nodes(&l, &in, &s));
		same = l == l0 && in == i0 && s == s0 ? same + 1 : 0;
		l0 = l;
		i0 = in;
		s0 = s;
	}
	fd = mst_dev_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mst_create_anon(fd));
	memset(key, 'x', sizeof(key));
	for (i = 0; i < 600; i++) {
		/* Long keys too, for layers and suffixes. */
		snprintf(key, sizeof(key), "%06d", i);
		key[6] = i % 3 ? 'x' : '\0';
		key[sizeof(key) - 1] = '\0';
		ASSERT_EQ(0, put(fd, key, "v", 0));
	}
	ASSERT_EQ(0, read_nodes(&l, &in, &s));
	EXPECT_EQ(maps0 + 1, live_maps());
	EXPECT_LT(l0 + 1, l);
	EXPECT_LT(i0, in);
	EXPECT_LT(s0, s);
	close(fd);
	/*
	 * Nodes go back through RCU: allow some time. The counters cover every
	 * tree of the module (the name registry too, which may shrink
	 * meanwhile), so they must come back to the baseline or below.
	 */
	for (tries = 0; tries < 100; tries++) {
		ASSERT_EQ(0, read_nodes(&l, &in, &s));
		if (l <= l0 && in <= i0 && s <= s0)
			break;
		nap_ms(100);
	}
	EXPECT_GE(l0, l);
	EXPECT_GE(i0, in);
	EXPECT_GE(s0, s);
	EXPECT_EQ(maps0, live_maps());
}

TEST_F(named, debugfs_entry_follows_the_map)
{
	char path[128], buf[4096];
	struct stat st;
	int tries;

	snprintf(path, sizeof(path), DEBUGFS "maps/%s", self->name);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	snprintf(path, sizeof(path), DEBUGFS "maps/%s/stats", self->name);
	EXPECT_EQ(0, mst_read_file(path, buf, sizeof(buf)));
	EXPECT_TRUE(!!strstr(buf, "keys"));
	snprintf(path, sizeof(path), DEBUGFS "maps/%s/dump", self->name);
	EXPECT_EQ(0, mst_read_file(path, buf, sizeof(buf)));
	/* Destroyed while attached: gone after the last close. */
	ASSERT_EQ(0, mst_open_map(self->fd, self->name, MASSTREE_OPEN_READ));
	ASSERT_EQ(0, mst_destroy(self->fd, self->name));
	close(self->fd);
	self->fd = -1;
	snprintf(path, sizeof(path), DEBUGFS "maps/%s", self->name);
	for (tries = 0; tries < 50 && stat(path, &st) == 0; tries++)
		nap_ms(100);
	EXPECT_EQ(-1, stat(path, &st));
}

/*
 * Allocation failures, one at a time: /proc/thread-self/fail-nth fails the
 * Nth fault-injection point this thread reaches (failslab and
 * fail_page_alloc, told to cover sleeping allocations and to stay quiet).
 * Each command is tried with N = 1, 2, ... until it no longer reaches the
 * Nth point; every failure must be -ENOMEM with nothing changed.
 */
#define FAULT_DIR "/sys/kernel/debug/"

static const char * const fault_knobs[] = {
	FAULT_DIR "failslab/ignore-gfp-wait", FAULT_DIR "failslab/verbose",
	FAULT_DIR "fail_page_alloc/ignore-gfp-wait", FAULT_DIR "fail_page_alloc/verbose",
};

static const char * const fault_values[] = { "N", "0", "N", "0" };

FIXTURE(faults) {
	int fd;
	char saved[4][16];
	bool set;
};

/* Kept open: opening it while armed would spend the fault points. */
static int nth_fd = -1;

FIXTURE_SETUP(faults)
{
	int i;

	if (access("/proc/thread-self/fail-nth", W_OK) ||
	    access(FAULT_DIR "failslab", F_OK) || access(FAULT_DIR "fail_page_alloc", F_OK))
		SKIP(return, "needs FAULT_INJECTION_DEBUG_FS, FAILSLAB, FAIL_PAGE_ALLOC");
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, mst_read_file(fault_knobs[i], self->saved[i], sizeof(self->saved[i])));
	self->set = true;
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, mst_write_file(fault_knobs[i], fault_values[i]));
	nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, nth_fd);
	self->fd = mst_dev_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, mst_create_anon(self->fd));
	ASSERT_EQ(0, put(self->fd, "old", "old value", 0));
}

FIXTURE_TEARDOWN(faults)
{
	int i;

	for (i = 0; self->set && i < 4; i++)
		EXPECT_EQ(0, mst_write_file(fault_knobs[i], self->saved[i]));
	close(nth_fd);
	close(self->fd);
}

/* Arm the Nth fault point; 0 or -1. */
static int fail_nth(int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%d", n);

	return write(nth_fd, buf, len) == len ? 0 : -1;
}

/* Disarm, and say whether the command stopped before the Nth point. */
static bool fail_nth_unreached(void)
{
	char buf[16];
	ssize_t r;

	r = pread(nth_fd, buf, sizeof(buf) - 1, 0);	/* no llseek there */
	if (r <= 0 || write(nth_fd, "0", 1) != 1)
		return true;
	buf[r] = '\0';
	return atoi(buf) > 0;
}

enum fault_op { F_PUT_NEW, F_PUT_REPLACE, F_CMPXCHG, F_GET, F_SCAN, F_BATCH, F_CREATE };

/* The keys of F_BATCH's operations, and how many it carried out. */
static char fault_key[100];
static const char * const batch_keys[] = { "b0", "b1", fault_key };
static __u64 batch_done;

/* One attempt of @what; 0 or -errno. */
static int fault_attempt(int fd, enum fault_op what, const char *name)
{
	static char big[8192], buf[16384];
	struct masstree_ioc_op ops[3];
	struct masstree_ioc_batch b = { .size = sizeof(b), .ops = PTR(ops), .nr = 3 };
	struct masstree_ioc_scan s;
	char resume[128];
	int ret;

	memset(big, 'b', sizeof(big) - 1);
	switch (what) {
	case F_PUT_NEW:
		return put(fd, fault_key, "new value", 0);
	case F_PUT_REPLACE:
		/*
		 * A small value: its copy is a kmalloc() failslab can fail
		 * (a big value's kvmalloc() falls back to vmalloc(), and a
		 * short key is copied to the stack, not allocated).
		 */
		return put(fd, "old", "replacement", 0);
	case F_CMPXCHG:
		return cmpxchg(fd, "old", "old value", big, NULL);
	case F_GET:
		return get(fd, "old", buf, sizeof(buf), NULL);
	case F_SCAN:
		/* A small buffer: its bounce buffer is a plain kmalloc(). */
		return scan(fd, &s, MASSTREE_IOC_SCAN_NO_START | MASSTREE_IOC_SCAN_NO_END,
			    NULL, NULL, buf, 1024, resume, sizeof(resume));
	case F_BATCH:
		batch_op(&ops[0], MASSTREE_OP_PUT, batch_keys[0], "0", NULL);
		batch_op(&ops[1], MASSTREE_OP_PUT, batch_keys[1], big, NULL);
		batch_op(&ops[2], MASSTREE_OP_PUT, batch_keys[2], "2", NULL);
		ret = mst_ioctl(fd, MASSTREE_IOC_BATCH, &b);
		batch_done = b.done;
		return ret;
	case F_CREATE:
		return mst_create(fd, name, 0600);
	}
	return -EINVAL;
}

/* After a failed attempt: the map as the fixture left it. */
static bool fault_unchanged(int fd, enum fault_op what, const char *name)
{
	struct masstree_map_info info;
	char buf[32];
	__u64 n = mst_nkeys(fd);

	if (what == F_CREATE)
		return mst_list_find(name, &info) == -ENOENT && n == 1;
	if (what == F_BATCH) {
		/* Not atomic: the operations before the failing one stay. */
		__u64 i;

		for (i = 0; i < 3; i++) {
			bool absent = get(fd, batch_keys[i], buf, 0, NULL) == -ENOENT;
			bool done = i < batch_done;

			if (absent == done)
				return false;
		}
		return n == 1 + batch_done;
	}
	return n == 1 && !get(fd, "old", buf, sizeof(buf), NULL) && !strcmp(buf, "old value");
}

TEST_F_TIMEOUT(faults, every_allocation_failure_changes_nothing, 120)
{
	static const char * const names[] = {
		"put-new", "put-replace", "cmpxchg", "get", "scan", "batch", "create",
	};
	enum fault_op what;
	char name[40];
	int n, ret, failed;
	bool unreached;

	mst_map_name(name, sizeof(name), "faults");
	memset(fault_key, 'n', sizeof(fault_key) - 1);
	for (what = F_PUT_NEW; what <= F_CREATE; what++) {
		failed = 0;
		for (n = 1; n < 200; n++) {
			ASSERT_EQ(0, fail_nth(n));
			ret = fault_attempt(self->fd, what, name);
			unreached = fail_nth_unreached();
			if (unreached) {
				ASSERT_EQ(0, ret);
			} else if (ret) {
				TH_LOG("%s: fault point %d: %d", names[what], n, ret);
				ASSERT_EQ(-ENOMEM, ret);
				ASSERT_TRUE(fault_unchanged(self->fd, what, name));
				failed++;
			}
			/* Back to the fixture's state for the next attempt. */
			if (what == F_CREATE && !ret)
				ASSERT_EQ(0, mst_destroy(self->fd, name));
			ASSERT_EQ(0, put(self->fd, "old", "old value", 0));
			del(self->fd, "b0");
			del(self->fd, "b1");
			del(self->fd, fault_key);
			ASSERT_EQ(1, mst_nkeys(self->fd));
			if (unreached)
				break;
		}
		TH_LOG("%s: %d fault points, %d failed with -ENOMEM", names[what], n - 1, failed);
		EXPECT_GT(200, n);
		if (what != F_GET)
			EXPECT_LT(0, failed);
	}
}

/*
 * A named map left behind on purpose, with long keys (layers, suffixes)
 * and large values: the plan's final rmmod must free it, and the module's
 * node counters, checked at unload, say whether it did.
 */
TEST(named_map_left_for_module_unload)
{
	static char val[4096];
	char name[40], key[200];
	int fd = mst_dev_open(), i;

	ASSERT_LE(0, fd);
	mst_map_name(name, sizeof(name), "left-for-rmmod");
	ASSERT_EQ(0, mst_create(fd, name, 0600));
	ASSERT_EQ(0, mst_open_map(fd, name, MASSTREE_OPEN_WRITE));
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	memset(val, 'v', sizeof(val) - 1);
	for (i = 0; i < 300; i++) {
		memcpy(key + (i % 3) * 60, "0123", 4);
		snprintf(key + 180, 12, "%06d", i);
		ASSERT_EQ(0, put(fd, key, i % 10 ? "small" : val, 0));
	}
	close(fd);
}

TEST_HARNESS_MAIN
