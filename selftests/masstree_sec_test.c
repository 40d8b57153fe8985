// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/masstree against an unprivileged attacker: each test runs an attack
 * from a child that dropped to uid and gid 1000 with no supplementary
 * groups (and, for the namespace cases, unshared its user and IPC
 * namespaces), then checks that the safe outcome held:
 *
 *   - a map is charged what it holds: keys that share long tails (a layer
 *     node per 8 shared bytes) and dense ranges erased down to one key in
 *     sixteen stay within the map's, the user's and the device's byte
 *     caps; the charge shown by STATS and LIST, the user's and the
 *     device's totals equal the nodes, suffixes and value allocations
 *     the map holds (and the node cache's own slab count), concurrent
 *     writers included, and erases and DESTROY refund it all;
 *   - chown and chgrp without privilege get -EPERM; a map planted by one
 *     user cannot be made to look owned by another, and its creator shows
 *     in LIST and STATS for good;
 *   - another IPC namespace's maps are invisible, a same-named map can be
 *     made there, and the maps of a namespace that died are freed;
 *   - CMPXCHG through a write-only attachment gets -EBADF; DEL and PUT
 *     through one do not tell the old value's length;
 *   - no map name can take an anonymous map's debugfs directory;
 *   - names are ASCII;
 *   - an output structure in a read-only page gets -EFAULT with nothing
 *     changed;
 *   - STATS rejects non-zero reserved fields;
 *   - freeing a map allocates nothing.
 *
 * Runs as root in the test VMs; the namespace cases are skipped on
 * kernels without CONFIG_USER_NS and CONFIG_IPC_NS.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/masstree.h>

#include "kselftest_harness.h"
#include "masstree_util.h"

#define DEBUGFS		"/sys/kernel/debug/masstree/"
#define USER		1000	/* the attacker */
#define OTHER		2000	/* a uid and gid the attacker is not */
#define PTR(p)		((__u64)(uintptr_t)(p))

static struct masstree_ioc_op op_init(const char *key)
{
	struct masstree_ioc_op op = {
		.size = sizeof(op), .key = PTR(key), .key_len = strlen(key),
	};

	return op;
}

static int put(int fd, const char *key, const char *val)
{
	struct masstree_ioc_op op = op_init(key);

	op.value = PTR(val);
	op.value_len = strlen(val);
	return mst_ioctl(fd, MASSTREE_IOC_PUT, &op);
}

/* GET: 0 and the value in @buf (NUL-terminated), or -errno. */
static int get(int fd, const char *key, char *buf, size_t cap)
{
	struct masstree_ioc_op op = op_init(key);
	int ret;

	op.value = PTR(buf);
	op.value_len = cap - 1;
	ret = mst_ioctl(fd, MASSTREE_IOC_GET, &op);
	if (!ret)
		buf[op.out_len] = '\0';
	return ret;
}

/* Entries of directory @path, "." and ".." not counted; -1 if absent. */
static int dir_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* An attacker child that finds the kernel lacks what the test needs. */
#define CHILD_SKIP	254

struct attacker {
	int unshare_flags;
	int (*fn)(void *arg);
	void *arg;
};

static int attacker_run(void *p)
{
	const struct attacker *at = p;

	if (at->unshare_flags && unshare(at->unshare_flags)) {
		fprintf(stderr, "# unshare: %s\n", strerror(errno));
		return CHILD_SKIP;
	}
	return at->fn(at->arg);
}

/*
 * Run @fn(@arg) in a child as uid and gid @uid without supplementary
 * groups, after unsharing @unshare_flags (0: none) once unprivileged;
 * returns the child's exit status: 0, CHILD_SKIP, or the line of the
 * failed CHILD_CHECK.
 */
static int run_attack_as(int uid, int unshare_flags, int (*fn)(void *),
			 void *arg)
{
	struct attacker at = {
		.unshare_flags = unshare_flags, .fn = fn, .arg = arg,
	};

	return mst_run_as(uid, attacker_run, &at);
}

static int run_attack(int unshare_flags, int (*fn)(void *), void *arg)
{
	return run_attack_as(USER, unshare_flags, fn, arg);
}

/* --- 1. a map is charged what it holds ------------------------------- */

#define PARAMS		"/sys/module/masstree/parameters/"
#define SLAB		"/sys/kernel/slab/masstree_node/"
#define NODE_BYTES	320	/* a node's slab object (x86-64 cache lines) */
#define KIB		1024LL
#define MIB		(1024 * KIB)

static const char *const caps[] = {
	"max_map_bytes", "max_user_bytes", "max_total_bytes",
};

static int set_cap(const char *param, long long bytes)
{
	char path[128], v[32];

	snprintf(path, sizeof(path), PARAMS "%s", param);
	snprintf(v, sizeof(v), "%lld", bytes);
	return mst_write_file(path, v);
}

/* What debugfs says uid @uid is charged; 0 without maps, -1 unreadable. */
static long long user_bytes(int uid)
{
	char buf[4096], *line, *save;
	long long bytes;
	unsigned int u, maps;

	if (mst_read_file(DEBUGFS "users", buf, sizeof(buf)))
		return -1;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (sscanf(line, "%u %lld %u", &u, &bytes, &maps) == 3 &&
		    u == (unsigned int)uid)
			return bytes;
	return 0;
}

/* Live nodes of the whole module, as its own counters say. */
static long live_nodes(void)
{
	return mst_debugfs_field(DEBUGFS "nodes", "leaves") +
	       mst_debugfs_field(DEBUGFS "nodes", "internodes");
}

/*
 * The live node count once the frees of earlier tests are done: nodes go
 * back after an RCU grace period, and a dead namespace's maps when the
 * reaper runs. Waits until two readings 200 ms apart agree (10 s at most).
 */
static long settled_live_nodes(void)
{
	long now = live_nodes(), then;
	int i;

	for (i = 0; i < 50; i++) {
		usleep(200 * 1000);
		then = now;
		now = live_nodes();
		if (now == then)
			break;
	}
	return now;
}

/*
 * Objects the node cache's slab holds, or -1 where the cache has no
 * sysfs directory of its own (merged with another, or no SLUB_DEBUG).
 * The slab counts objects still cached per CPU as in use, and nodes
 * that erases (merges, folds) queued for RCU stay allocated until their
 * grace period: compare within eight slabs per CPU (@slack; 192 nodes of
 * 320 bytes on two CPUs, against the thousands a chain pins).
 */
static long slab_objects(long *slack)
{
	char objs[256], per_slab[32];

	if (mst_read_file(SLAB "objects", objs, sizeof(objs)) ||
	    mst_read_file(SLAB "objs_per_slab", per_slab, sizeof(per_slab)))
		return -1;
	*slack = 8 * atol(per_slab) * sysconf(_SC_NPROCESSORS_CONF);
	return atol(objs);
}

FIXTURE(charge) {
	char saved[3][32];
	bool have[3];
	char name[3][MASSTREE_NAME_MAX];
	long long total0;
};

FIXTURE_SETUP(charge)
{
	char path[128];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(caps); i++) {
		snprintf(path, sizeof(path), PARAMS "%s", caps[i]);
		self->have[i] = !mst_read_file(path, self->saved[i],
					       sizeof(self->saved[i]));
	}
	ASSERT_TRUE(self->have[0] && self->have[1]);
	mst_map_name(self->name[0], MASSTREE_NAME_MAX, "charge-a");
	mst_map_name(self->name[1], MASSTREE_NAME_MAX, "charge-b");
	mst_map_name(self->name[2], MASSTREE_NAME_MAX, "charge-c");
	self->total0 = mst_debugfs_field(DEBUGFS "dev_stats", "charged_bytes");
}

/*
 * What every case needs besides the caps; checked in the case itself
 * (a failed setup would skip the attack and its measurements).
 */
#define EXPECT_DEVICE_TOTALS() do {					\
	EXPECT_TRUE(self->have[2]) TH_LOG("no cap max_total_bytes");	\
	EXPECT_LE(0, self->total0) TH_LOG("no device total in debugfs"); \
	/* No map of the attackers' is left from another test. */	\
	EXPECT_EQ(0, user_bytes(USER));					\
	EXPECT_EQ(0, user_bytes(OTHER));				\
} while (0)

FIXTURE_TEARDOWN(charge)
{
	char path[128];
	int fd = mst_dev_open();
	size_t i;

	for (i = 0; i < ARRAY_SIZE(self->name) && fd >= 0; i++)
		mst_destroy(fd, self->name[i]);
	if (fd >= 0)
		close(fd);
	for (i = 0; i < ARRAY_SIZE(caps); i++) {
		snprintf(path, sizeof(path), PARAMS "%s", caps[i]);
		if (self->have[i])
			EXPECT_EQ(0, mst_write_file(path, self->saved[i]));
	}
}

/*
 * What map @name holds, as root sees it, checked against its charge:
 * nodes and suffixes (node_bytes) plus one value allocation of @vlen
 * bytes per key; STATS and LIST show the same charge. Returns what it
 * holds; @st is filled in.
 */
static long long check_charge(struct __test_metadata *_metadata,
			      const char *name, __u64 vlen,
			      struct masstree_ioc_stats *st)
{
	struct masstree_map_info info;
	long long held;
	__u64 lo, hi;
	int fd = mst_dev_open();

	EXPECT_LE(0, fd);
	EXPECT_EQ(0, mst_open_map(fd, name, MASSTREE_OPEN_READ));
	EXPECT_EQ(0, mst_stats(fd, st));
	close(fd);
	mst_value_charge(vlen, &lo, &hi);
	held = st->node_bytes + st->keys * hi;
	ksft_print_msg("%s: %llu keys, %llu nodes: holds %lld, charged %llu (%.2f)\n",
		       name, st->keys, st->leaves + st->internodes, held,
		       st->charged_bytes,
		       st->charged_bytes ? (double)held / st->charged_bytes : 0.0);
	EXPECT_EQ(held, (long long)st->charged_bytes);
	EXPECT_EQ(0, mst_list_find(name, &info));
	EXPECT_EQ(st->charged_bytes, info.bytes);
	return held;
}

struct attack {
	const char *name;	/* the map to make and fill */
	int key_len;
	int rounds;		/* at most */
	int err;		/* what must end the attack first */
	bool keep_pairs;	/* attack_chain: keep both keys of a pair */
};

/*
 * Keys that share all but their last byte: the second stores the whole
 * slices they share once, as a span, above one new layer leaf holding
 * both. Erasing it folds that layer back into one slot; keeping it keeps
 * the span and the leaf, which the caps must then bound. Again with a new
 * first slice until a write is refused.
 */
static int attack_chain(void *p)
{
	struct attack *a = p;
	char *key = malloc(a->key_len), head[16];
	int fd = mst_dev_open(), i, ret = 0;

	CHILD_CHECK(fd >= 0 && key);
	CHILD_CHECK(mst_create(fd, a->name, 0600) == 0);
	CHILD_CHECK(mst_open_map(fd, a->name, MASSTREE_OPEN_READ | MASSTREE_OPEN_WRITE) == 0);
	memset(key, 'x', a->key_len);
	for (i = 0; i < a->rounds && !ret; i++) {
		/* A first slice of its own: "P" and six digits. */
		snprintf(head, sizeof(head), "P%06d", i % 1000000);
		memcpy(key, head, 7);
		key[a->key_len - 1] = 'a';
		ret = mst_put(fd, key, a->key_len, "v", 1, 0);
		if (ret)
			break;
		key[a->key_len - 1] = 'b';
		ret = mst_put(fd, key, a->key_len, "v", 1, 0);
		if (!ret && !a->keep_pairs)
			CHILD_CHECK(mst_del(fd, key, a->key_len) == 0);
	}
	if (ret != a->err)
		fprintf(stderr, "# %s: %d rounds, last put %d\n", a->name, i, ret);
	CHILD_CHECK(ret == a->err);
	free(key);
	close(fd);
	return 0;
}

TEST_F(charge, long_shared_tails)
{
	struct masstree_ioc_stats st[3];
	long nodes0 = settled_live_nodes(), objs0, objs, slack = 0;
	long long held[3], map_cap = 2 * MIB, user_cap = 3 * MIB;
	/*
	 * A pair costs about its key bytes (a span of 4080 bytes, one leaf,
	 * two values), no longer 512 layer nodes: about 240 pairs fill a
	 * map's cap, so the rounds allow four times that.
	 */
	struct attack a = { .key_len = 4096, .rounds = 1000, .keep_pairs = true };
	int fd, i;

	objs0 = slab_objects(&slack);
	EXPECT_DEVICE_TOTALS();
	ASSERT_EQ(0, set_cap("max_map_bytes", map_cap));
	ASSERT_EQ(0, set_cap("max_user_bytes", user_cap));
	/* The device's cap leaves room for the user's and 1 MiB more. */
	if (self->have[2])
		ASSERT_EQ(0, set_cap("max_total_bytes", self->total0 + user_cap + MIB));

	/* One map up to its cap, a second up to the user's... */
	a.name = self->name[0];
	a.err = -ENOSPC;
	EXPECT_EQ(0, run_attack(0, attack_chain, &a));
	a.name = self->name[1];
	a.err = -EDQUOT;
	EXPECT_EQ(0, run_attack(0, attack_chain, &a));
	/* ...and another user's map up to the device's. */
	a.name = self->name[2];
	a.err = -ENOSPC;
	EXPECT_EQ(0, run_attack_as(OTHER, 0, attack_chain, &a));

	for (i = 0; i < 3; i++) {
		held[i] = check_charge(_metadata, self->name[i], 1, &st[i]);
		EXPECT_GE(map_cap, held[i]);
		/*
		 * What a pair pins is a small multiple of its key bytes (the
		 * span's slab rounding, a leaf, the values): at most twice,
		 * where a chain of layers pinned twenty times. The top layer
		 * and one layer per pair, no more.
		 */
		ksft_print_msg("%s: %.2f bytes held per key byte\n", self->name[i],
			       st[i].keys ? (double)held[i] /
			       (st[i].keys * a.key_len) : 0.0);
		EXPECT_LE(2, st[i].keys);
		EXPECT_GE(2 * (long long)st[i].keys * a.key_len, held[i]);
		EXPECT_EQ(1 + st[i].keys / 2, st[i].layers);
	}
	EXPECT_GE(user_cap, held[0] + held[1]);
	EXPECT_EQ(held[0] + held[1], user_bytes(USER));
	EXPECT_EQ(held[2], user_bytes(OTHER));
	/* The device's cap held, not the map's: the last map is small. */
	EXPECT_GT(map_cap - 512 * KIB, held[2]);
	EXPECT_GE(user_cap + MIB, held[0] + held[1] + held[2]);
	EXPECT_EQ(self->total0 + held[0] + held[1] + held[2],
		  mst_debugfs_field(DEBUGFS "dev_stats", "charged_bytes"));

	/*
	 * The module's live nodes grew by the maps' (and by a few of the
	 * registry's, whose keys are the names), and so did the slab.
	 */
	nodes0 = live_nodes() - nodes0;
	for (i = 0; i < 3; i++)
		nodes0 -= st[i].leaves + st[i].internodes;
	EXPECT_LE(0, nodes0);
	EXPECT_GE(8, nodes0);
	objs = slab_objects(&slack);
	if (objs0 < 0 || objs < 0) {
		TH_LOG("no slab counts of the node cache: not compared");
	} else {
		objs -= objs0;
		for (i = 0; i < 3; i++)
			objs -= st[i].leaves + st[i].internodes;
		EXPECT_GE(slack, labs(objs)) TH_LOG("slab objects off by %ld", objs);
	}

	/* DESTROY refunds everything. */
	fd = mst_dev_open();
	ASSERT_LE(0, fd);
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, mst_destroy(fd, self->name[i]));
	close(fd);
	EXPECT_EQ(0, user_bytes(USER));
	EXPECT_EQ(0, user_bytes(OTHER));
	EXPECT_EQ(self->total0, mst_debugfs_field(DEBUGFS "dev_stats", "charged_bytes"));
}

/*
 * Dense ranges of 8-byte keys, each erased down to one key in sixteen:
 * without merges most leaves would stay, one key each (about 600 bytes
 * held per key, and the cap ended the attack after about 11 ranges).
 */
static int attack_erase_most(void *p)
{
	struct attack *a = p;
	int fd = mst_dev_open(), r, i, ret = 0;
	char key[16];

	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(mst_create(fd, a->name, 0600) == 0);
	CHILD_CHECK(mst_open_map(fd, a->name, MASSTREE_OPEN_READ | MASSTREE_OPEN_WRITE) == 0);
	for (r = 0; r < a->rounds && !ret; r++) {
		for (i = 0; i < 1024 && !ret; i++) {
			snprintf(key, sizeof(key), "%03d%05d", r, i);
			ret = mst_put(fd, key, 8, "v", 1, 0);
		}
		for (i = 0; i < 1024; i++) {
			if (!(i % 16))
				continue;
			snprintf(key, sizeof(key), "%03d%05d", r, i);
			mst_del(fd, key, 8);
		}
	}
	if (ret != a->err)
		fprintf(stderr, "# %s: %d rounds, last put %d\n", a->name, r, ret);
	CHILD_CHECK(ret == a->err);
	close(fd);
	return 0;
}

/*
 * Erasing one key of each pair folds the layer below its span back into
 * one slot: what is left is charged about what the surviving keys alone
 * would be (a suffix bucket each and their share of a leaf), no span and
 * no layer of any pair left.
 */
TEST_F(charge, folded_chains_pin_little)
{
	struct attack a = { .key_len = 4096, .rounds = 40, .err = 0 };
	struct masstree_ioc_stats st;
	long long held;

	EXPECT_DEVICE_TOTALS();
	ASSERT_EQ(0, set_cap("max_map_bytes", 2 * MIB));
	a.name = self->name[0];
	EXPECT_EQ(0, run_attack(0, attack_chain, &a));
	held = check_charge(_metadata, a.name, 1, &st);
	EXPECT_EQ(a.rounds, (int)st.keys);
	EXPECT_EQ(1, st.layers);
	EXPECT_GE(a.rounds * 10 * KIB, held);
	EXPECT_EQ(held, user_bytes(USER));
}

TEST_F(charge, erase_most)
{
	struct attack a = { .key_len = 8, .rounds = 8, .err = 0 };
	struct masstree_ioc_clear c = { .size = sizeof(c) };
	struct masstree_ioc_stats st;
	long long held, map_cap = 512 * KIB;
	int fd;

	EXPECT_DEVICE_TOTALS();
	ASSERT_EQ(0, set_cap("max_map_bytes", map_cap));
	a.name = self->name[0];
	EXPECT_EQ(0, run_attack(0, attack_erase_most, &a));
	held = check_charge(_metadata, a.name, 1, &st);
	EXPECT_GE(map_cap, held);
	/*
	 * Leaves and internodes left with few entries merge with their
	 * neighbours: every range's survivors stay, well under the cap, at
	 * under 200 bytes each (value and share of the nodes), where a leaf
	 * per key held about 600 and the cap stopped the ninth to twelfth
	 * range.
	 */
	EXPECT_EQ(a.rounds * 1024 / 16, (int)st.keys);
	EXPECT_GE(200 * (long long)st.keys, held)
		TH_LOG("%lld bytes held for %llu keys", held,
		       (unsigned long long)st.keys);
	EXPECT_EQ(held, user_bytes(USER));
	EXPECT_EQ(self->total0 + held, mst_debugfs_field(DEBUGFS "dev_stats", "charged_bytes"));

	/* CLEAR refunds what it freed: nothing is left. */
	fd = mst_dev_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mst_open_map(fd, a.name, MASSTREE_OPEN_READ | MASSTREE_OPEN_WRITE));
	ASSERT_EQ(0, mst_ioctl(fd, MASSTREE_IOC_CLEAR, &c));
	EXPECT_EQ(st.keys, c.cleared);
	held = check_charge(_metadata, a.name, 1, &st);
	EXPECT_EQ(0, st.keys);
	EXPECT_EQ(held, user_bytes(USER));
	close(fd);
}

/* Writers of one map: shared long prefixes, splits, replaces, erases. */
static int churn(void *p)
{
	const char *name = p;
	static char key[600], val[3000];
	int fd = mst_dev_open(), i, len;
	unsigned int seed = getpid();

	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(mst_open_map(fd, name, MASSTREE_OPEN_READ | MASSTREE_OPEN_WRITE) == 0);
	memset(key, 'k', sizeof(key));
	memset(val, 'v', sizeof(val));
	for (i = 0; i < 1500; i++) {
		len = 1 + rand_r(&seed) % sizeof(key);
		key[len - 1] = 'a' + rand_r(&seed) % 4;
		key[0] = 'a' + rand_r(&seed) % 4;
		if (rand_r(&seed) % 3)
			CHILD_CHECK(mst_put(fd, key, len, val,
					    rand_r(&seed) % sizeof(val), 0) == 0);
		else
			mst_del(fd, key, len);
		key[len - 1] = 'k';
	}
	close(fd);
	return 0;
}

TEST_F(charge, concurrent_writers_settle_exactly)
{
	struct masstree_ioc_clear c = { .size = sizeof(c) };
	struct masstree_ioc_stats st;
	char why[128];
	pid_t pid[4];
	int fd = mst_dev_open(), i, status;

	EXPECT_DEVICE_TOTALS();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mst_create(fd, self->name[0], 0600));
	ASSERT_EQ(0, mst_open_map(fd, self->name[0], MASSTREE_OPEN_READ | MASSTREE_OPEN_WRITE));
	for (i = 0; i < 4; i++) {
		pid[i] = fork();
		ASSERT_LE(0, pid[i]);
		if (!pid[i])
			_exit(churn(self->name[0]));
	}
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(pid[i], waitpid(pid[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	}
	EXPECT_EQ(0, mst_check_accounting(fd, why)) TH_LOG("%s", why);
	ASSERT_EQ(0, mst_stats(fd, &st));
	EXPECT_EQ(self->total0 + (long long)st.charged_bytes,
		  mst_debugfs_field(DEBUGFS "dev_stats", "charged_bytes"));
	ASSERT_EQ(0, mst_ioctl(fd, MASSTREE_IOC_CLEAR, &c));
	ASSERT_EQ(0, mst_stats(fd, &st));
	EXPECT_EQ(st.node_bytes, st.charged_bytes);
	close(fd);
}

/* --- 2. ownership as files have it ------------------------------------ */

static int attack_chown(void *p)
{
	const char *name = p;
	int fd = mst_dev_open();

	CHILD_CHECK(fd >= 0);
	/* The attacker owns the map: chmod is its to do... */
	CHILD_CHECK(mst_setattr(fd, name, MASSTREE_SETATTR_MODE, 0640, 0, 0) == 0);
	/* ...giving it away is not (chown needs CAP_CHOWN)... */
	CHILD_CHECK(mst_setattr(fd, name, MASSTREE_SETATTR_UID, 0, OTHER, 0) == -EPERM);
	CHILD_CHECK(mst_setattr(fd, name, MASSTREE_SETATTR_UID, 0, 0, 0) == -EPERM);
	/* ...nor a group it is not in; all or nothing. */
	CHILD_CHECK(mst_setattr(fd, name, MASSTREE_SETATTR_GID, 0, 0, OTHER) == -EPERM);
	CHILD_CHECK(mst_setattr(fd, name, MASSTREE_SETATTR_GID | MASSTREE_SETATTR_MODE,
				0666, 0, OTHER) == -EPERM);
	/* Its own uid and a group it is in are fine. */
	CHILD_CHECK(mst_setattr(fd, name, MASSTREE_SETATTR_UID, 0, USER, 0) == 0);
	CHILD_CHECK(mst_setattr(fd, name, MASSTREE_SETATTR_GID, 0, 0, USER) == 0);
	close(fd);
	return 0;
}

TEST(chown_and_chgrp_need_privilege)
{
	struct masstree_map_info info;
	char name[MASSTREE_NAME_MAX];
	int fd = mst_dev_open();

	ASSERT_LE(0, fd);
	mst_map_name(name, sizeof(name), "chown");
	ASSERT_EQ(0, mst_create(fd, name, 0600));
	/* Root gives the map to the attacker, with root's group. */
	ASSERT_EQ(0, mst_setattr(fd, name, MASSTREE_SETATTR_UID, 0, USER, 0));
	EXPECT_EQ(0, run_attack(0, attack_chown, name));
	ASSERT_EQ(0, mst_list_find(name, &info));
	EXPECT_EQ(USER, info.uid);
	EXPECT_EQ(USER, info.gid);
	EXPECT_EQ(0640, info.mode);
	/* Root made it: the creator stays root. */
	EXPECT_EQ(0, info.cuid);
	EXPECT_EQ(0, info.cgid);
	EXPECT_EQ(0, mst_destroy(fd, name));
	close(fd);
}

static int attack_plant(void *p)
{
	const char *name = p;
	int fd = mst_dev_open();

	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(mst_create(fd, name, 0666) == 0);
	/* Make the planted map look like root's, or another user's. */
	CHILD_CHECK(mst_setattr(fd, name, MASSTREE_SETATTR_UID | MASSTREE_SETATTR_GID,
				0, 0, 0) == -EPERM);
	CHILD_CHECK(mst_setattr(fd, name, MASSTREE_SETATTR_UID, 0, OTHER, 0) == -EPERM);
	CHILD_CHECK(mst_open_map(fd, name, MASSTREE_OPEN_READ | MASSTREE_OPEN_WRITE) == 0);
	CHILD_CHECK(put(fd, "config", "evil") == 0);
	close(fd);
	return 0;
}

TEST(planted_map_shows_its_creator)
{
	struct masstree_ioc_stats st = { .size = sizeof(st) };
	struct masstree_map_info info;
	char name[MASSTREE_NAME_MAX];
	int fd = mst_dev_open();

	ASSERT_LE(0, fd);
	mst_map_name(name, sizeof(name), "plant");
	EXPECT_EQ(0, run_attack(0, attack_plant, name));
	ASSERT_EQ(0, mst_list_find(name, &info));
	EXPECT_EQ(USER, info.uid);
	EXPECT_EQ(USER, info.gid);
	EXPECT_EQ(USER, info.cuid);
	EXPECT_EQ(USER, info.cgid);
	/* Even root's chown leaves the creator: it is never rewritten. */
	ASSERT_EQ(0, mst_setattr(fd, name, MASSTREE_SETATTR_UID | MASSTREE_SETATTR_GID,
				 0, 0, 0));
	ASSERT_EQ(0, mst_list_find(name, &info));
	EXPECT_EQ(0, info.uid);
	EXPECT_EQ(USER, info.cuid);
	EXPECT_EQ(USER, info.cgid);
	ASSERT_EQ(0, mst_open_map(fd, name, MASSTREE_OPEN_READ));
	ASSERT_EQ(0, mst_ioctl(fd, MASSTREE_IOC_STATS, &st));
	EXPECT_EQ(USER, st.cuid);
	EXPECT_EQ(USER, st.cgid);
	close(fd);
	fd = mst_dev_open();
	EXPECT_EQ(0, mst_destroy(fd, name));
	close(fd);
}

/* --- 3. a name space per IPC namespace -------------------------------- */

static int attack_other_namespace(void *p)
{
	const char *name = p;
	struct masstree_map_info info;
	char buf[16];
	int fd = mst_dev_open(), fd2 = mst_dev_open();

	CHILD_CHECK(fd >= 0 && fd2 >= 0);
	/* The initial namespace's map, mode 0666, is not there at all. */
	CHILD_CHECK(mst_open_map(fd, name, MASSTREE_OPEN_READ) == -ENOENT);
	CHILD_CHECK(mst_list_find(name, &info) == -ENOENT);
	CHILD_CHECK(mst_destroy(fd, name) == -ENOENT);
	CHILD_CHECK(mst_setattr(fd, name, MASSTREE_SETATTR_MODE, 0, 0, 0) == -ENOENT);
	/* The name is free here. */
	CHILD_CHECK(mst_create(fd, name, 0600) == 0);
	CHILD_CHECK(mst_list_find(name, &info) == 0);
	CHILD_CHECK(info.uid == 0 || info.uid == 65534);	/* unmapped */
	CHILD_CHECK(mst_open_map(fd, name, MASSTREE_OPEN_READ | MASSTREE_OPEN_WRITE) == 0);
	CHILD_CHECK(put(fd, "k", "mine") == 0);
	CHILD_CHECK(get(fd, "k", buf, sizeof(buf)) == 0 && !strcmp(buf, "mine"));
	/* All capabilities in its own user namespace override nothing. */
	CHILD_CHECK(mst_create(fd2, "mt-ns-second", 0) == 0);
	CHILD_CHECK(mst_open_map(fd2, "mt-ns-second", MASSTREE_OPEN_READ) == -EACCES);
	close(fd2);
	close(fd);
	/* Exiting kills the namespace: its maps are freed. */
	return 0;
}

TEST(ipc_namespaces_have_their_own_names)
{
	char name[MASSTREE_NAME_MAX], buf[16];
	int fd = mst_dev_open(), status, i;
	long maps;

	ASSERT_LE(0, fd);
	mst_map_name(name, sizeof(name), "ns");
	ASSERT_EQ(0, mst_create(fd, name, 0666));
	ASSERT_EQ(0, mst_open_map(fd, name, MASSTREE_OPEN_READ | MASSTREE_OPEN_WRITE));
	ASSERT_EQ(0, put(fd, "k", "root"));
	maps = mst_debugfs_field(DEBUGFS "dev_stats", "maps");
	status = run_attack(CLONE_NEWUSER | CLONE_NEWIPC, attack_other_namespace, name);
	if (status == CHILD_SKIP) {
		close(fd);
		fd = mst_dev_open();
		mst_destroy(fd, name);
		close(fd);
		SKIP(return, "no user or IPC namespaces (CONFIG_USER_NS, CONFIG_IPC_NS)");
	}
	EXPECT_EQ(0, status);
	/* Ours is untouched. */
	ASSERT_EQ(0, get(fd, "k", buf, sizeof(buf)));
	EXPECT_STREQ("root", buf);
	EXPECT_EQ(1, mst_nkeys(fd));
	/*
	 * The dead namespace's two maps go without any control command
	 * (the data operations above are none): the reaper's work runs
	 * every 5 seconds.
	 */
	for (i = 0; i < 150 && (dir_entries(DEBUGFS "ipc") > 0 ||
				(maps >= 0 &&
				 mst_debugfs_field(DEBUGFS "dev_stats", "maps") != maps));
	     i++)
		usleep(100 * 1000);
	EXPECT_EQ(0, dir_entries(DEBUGFS "ipc"));
	if (maps >= 0)
		EXPECT_EQ(maps, mst_debugfs_field(DEBUGFS "dev_stats", "maps"));
	ASSERT_EQ(0, mst_destroy(fd, name));
	close(fd);
}

/* --- 4. least privilege per command ----------------------------------- */

TEST(write_only_attachment_learns_nothing)
{
	char name[MASSTREE_NAME_MAX], buf[16];
	struct masstree_ioc_op op;
	int fd = mst_dev_open(), wfd = mst_dev_open();

	ASSERT_LE(0, fd);
	ASSERT_LE(0, wfd);
	mst_map_name(name, sizeof(name), "wronly");
	ASSERT_EQ(0, mst_create(fd, name, 0600));
	ASSERT_EQ(0, mst_open_map(fd, name, MASSTREE_OPEN_READ | MASSTREE_OPEN_WRITE));
	ASSERT_EQ(0, put(fd, "secret", "hunter2"));
	ASSERT_EQ(0, put(fd, "other", "12345678901"));
	ASSERT_EQ(0, mst_open_map(wfd, name, MASSTREE_OPEN_WRITE));

	/* CMPXCHG is a guessing oracle: it needs read access too. */
	op = op_init("secret");
	op.value = PTR("x");
	op.value_len = 1;
	op.expect = PTR("hunter2");
	op.expect_len = 7;
	EXPECT_EQ(-EBADF, mst_ioctl(wfd, MASSTREE_IOC_CMPXCHG, &op));
	EXPECT_EQ(0, op.out_len);
	op.expect = PTR("wrong");
	op.expect_len = 5;
	EXPECT_EQ(-EBADF, mst_ioctl(wfd, MASSTREE_IOC_CMPXCHG, &op));
	EXPECT_EQ(0, op.out_len);
	ASSERT_EQ(0, get(fd, "secret", buf, sizeof(buf)));
	EXPECT_STREQ("hunter2", buf);

	/* PUT with EXIST replaces, and says nothing of the old value. */
	op = op_init("other");
	op.value = PTR("y");
	op.value_len = 1;
	op.flags = MASSTREE_PUT_EXIST;
	EXPECT_EQ(0, mst_ioctl(wfd, MASSTREE_IOC_PUT, &op));
	EXPECT_EQ(0, op.out_len);

	/* DEL removes, and says nothing of the old value. */
	op = op_init("secret");
	EXPECT_EQ(0, mst_ioctl(wfd, MASSTREE_IOC_DEL, &op));
	EXPECT_EQ(0, op.out_len);
	EXPECT_EQ(-ENOENT, get(fd, "secret", buf, sizeof(buf)));

	/* A reader still gets the length. */
	op = op_init("other");
	EXPECT_EQ(0, mst_ioctl(fd, MASSTREE_IOC_DEL, &op));
	EXPECT_EQ(1, op.out_len);
	close(wfd);
	close(fd);
	fd = mst_dev_open();
	EXPECT_EQ(0, mst_destroy(fd, name));
	close(fd);
}

/* --- 5. debugfs directories cannot collide ---------------------------- */

/*
 * Every named map's debugfs directory is its own, whatever the name: in
 * particular not an anonymous map's, however those are named.
 */
TEST(debugfs_names_cannot_take_anonymous_directories)
{
	char path[1024], names[8][MASSTREE_NAME_MAX];
	int afd = mst_dev_open(), fd = mst_dev_open(), n = 0, i;
	struct dirent *e;
	DIR *d;

	ASSERT_LE(0, afd);
	ASSERT_LE(0, fd);
	if (access(DEBUGFS "maps", F_OK))
		SKIP(return, "no debugfs");
	ASSERT_EQ(0, mst_create_anon(afd));
	ASSERT_EQ(0, put(afd, "a", "1"));
	ASSERT_EQ(0, put(afd, "b", "2"));
	ASSERT_EQ(0, put(afd, "c", "3"));
	/* Take, as names, whatever maps/ holds that is not a named map. */
	d = opendir(DEBUGFS "maps");
	ASSERT_NE(NULL, d);
	while ((e = readdir(d)) && n < 8) {
		struct masstree_map_info info;

		if (e->d_name[0] == '.' || strlen(e->d_name) >= MASSTREE_NAME_MAX ||
		    !mst_list_find(e->d_name, &info))
			continue;
		strcpy(names[n++], e->d_name);
	}
	closedir(d);
	for (i = 0; i < n; i++) {
		TH_LOG("maps/%s is no named map: taking the name", names[i]);
		ASSERT_EQ(0, mst_create(fd, names[i], 0600));
		snprintf(path, sizeof(path), DEBUGFS "maps/%s/stats", names[i]);
		/* The directory must be the new, empty map's. */
		EXPECT_EQ(0, mst_debugfs_field(path, "keys"));
		EXPECT_EQ(0, mst_destroy(fd, names[i]));
	}
	/* Anonymous maps have a directory of their own. */
	EXPECT_LE(1, dir_entries(DEBUGFS "anon"));
	close(fd);
	close(afd);
}

/* --- 6. names are ASCII ----------------------------------------------- */

TEST(names_are_ascii)
{
	static const char * const latin1[] = {
		"caf\xe9", "\xc0\xd0\xde", "\xaa\xb5\xba", "x\xff",
	};
	int fd = mst_dev_open();
	size_t i;

	ASSERT_LE(0, fd);
	for (i = 0; i < ARRAY_SIZE(latin1); i++) {
		EXPECT_EQ(-EINVAL, mst_create(fd, latin1[i], 0600));
		/* Had it been made: do not leave it. */
		mst_destroy(fd, latin1[i]);
	}
	close(fd);
}

/* --- 7. output structures checked before anything changes ------------- */

/* A page holding a copy of @len bytes of @src, made read-only. */
static void *ro_copy(const void *src, size_t len)
{
	long pg = sysconf(_SC_PAGESIZE);
	void *p = mmap(NULL, pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memcpy(p, src, len);
	if (mprotect(p, pg, PROT_READ)) {
		munmap(p, pg);
		return NULL;
	}
	return p;
}

TEST(read_only_output_changes_nothing)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct masstree_ioc_clear cl = { .size = sizeof(cl) };
	struct masstree_ioc_batch b = { .size = sizeof(b), .nr = 1 };
	struct masstree_ioc_op op, ops[1];
	char buf[16];
	void *ro;
	int fd = mst_dev_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mst_create_anon(fd));
	ASSERT_EQ(0, put(fd, "keep", "1"));

	/* PUT */
	op = op_init("new");
	op.value = PTR("v");
	op.value_len = 1;
	ro = ro_copy(&op, sizeof(op));
	ASSERT_NE(NULL, ro);
	EXPECT_EQ(-EFAULT, mst_ioctl(fd, MASSTREE_IOC_PUT, ro));
	EXPECT_EQ(-ENOENT, get(fd, "new", buf, sizeof(buf)));
	munmap(ro, pg);

	/* DEL */
	op = op_init("keep");
	ro = ro_copy(&op, sizeof(op));
	ASSERT_NE(NULL, ro);
	EXPECT_EQ(-EFAULT, mst_ioctl(fd, MASSTREE_IOC_DEL, ro));
	EXPECT_EQ(0, get(fd, "keep", buf, sizeof(buf)));
	munmap(ro, pg);

	/* CMPXCHG */
	op = op_init("keep");
	op.value = PTR("2");
	op.value_len = 1;
	op.expect = PTR("1");
	op.expect_len = 1;
	ro = ro_copy(&op, sizeof(op));
	ASSERT_NE(NULL, ro);
	EXPECT_EQ(-EFAULT, mst_ioctl(fd, MASSTREE_IOC_CMPXCHG, ro));
	ASSERT_EQ(0, get(fd, "keep", buf, sizeof(buf)));
	EXPECT_STREQ("1", buf);
	munmap(ro, pg);

	/* BATCH: the operations read-only... */
	ops[0] = op_init("new");
	ops[0].op = MASSTREE_OP_PUT;
	ops[0].value = PTR("v");
	ops[0].value_len = 1;
	ro = ro_copy(ops, sizeof(ops));
	ASSERT_NE(NULL, ro);
	b.ops = PTR(ro);
	EXPECT_EQ(-EFAULT, mst_ioctl(fd, MASSTREE_IOC_BATCH, &b));
	EXPECT_EQ(-ENOENT, get(fd, "new", buf, sizeof(buf)));
	munmap(ro, pg);
	/* ...or the batch structure itself. */
	b.ops = PTR(ops);
	ro = ro_copy(&b, sizeof(b));
	ASSERT_NE(NULL, ro);
	EXPECT_EQ(-EFAULT, mst_ioctl(fd, MASSTREE_IOC_BATCH, ro));
	EXPECT_EQ(-ENOENT, get(fd, "new", buf, sizeof(buf)));
	munmap(ro, pg);

	/* CLEAR */
	ro = ro_copy(&cl, sizeof(cl));
	ASSERT_NE(NULL, ro);
	EXPECT_EQ(-EFAULT, mst_ioctl(fd, MASSTREE_IOC_CLEAR, ro));
	EXPECT_EQ(1, mst_nkeys(fd));
	munmap(ro, pg);
	close(fd);
}

/* --- 8. STATS checks its reserved fields ------------------------------ */

TEST(stats_rejects_reserved_bits)
{
	struct masstree_ioc_stats st;
	int fd = mst_dev_open();
	size_t i;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mst_create_anon(fd));
	for (i = 0; i < ARRAY_SIZE(st.reserved); i++) {
		memset(&st, 0, sizeof(st));
		st.size = sizeof(st);
		st.reserved[i] = 1ULL << 63;
		EXPECT_EQ(-EINVAL, mst_ioctl(fd, MASSTREE_IOC_STATS, &st));
	}
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	EXPECT_EQ(0, mst_ioctl(fd, MASSTREE_IOC_STATS, &st));
	close(fd);
}

/* --- 9. freeing a map allocates nothing ------------------------------- */

TEST(teardown_does_not_allocate)
{
	static char key[MASSTREE_KEY_MAX];
	struct masstree_ioc_op op;
	char left[32];
	int fd = mst_dev_open(), i;
	bool dev_hook;

	ASSERT_LE(0, fd);
	if (access(DEBUGFS "fail_nth", F_OK))
		SKIP(return, "no fail_nth (not a test build)");
	ASSERT_EQ(0, mst_create_anon(fd));
	/* Long keys: a cursor needs more than its inline buffer for them. */
	memset(key, 'k', sizeof(key));
	for (i = 0; i < 64; i++) {
		op = op_init("");
		op.key = PTR(key);
		op.key_len = i == 63 ? MASSTREE_KEY_MAX : 100 + 97 * i;
		key[0] = 'a' + i % 26;
		op.value = PTR("v");
		op.value_len = 1;
		ASSERT_EQ(0, mst_ioctl(fd, MASSTREE_IOC_PUT, &op));
	}
	/*
	 * The first allocation the core makes for this task will fail, and
	 * the device's first (its own hook, where the kernel has the fault
	 * injection framework)...
	 */
	dev_hook = !access(DEBUGFS "dev_fail_nth", F_OK);
	ASSERT_EQ(0, mst_write_file(DEBUGFS "fail_nth", "1"));
	if (dev_hook)
		ASSERT_EQ(0, mst_write_file(DEBUGFS "dev_fail_nth", "1"));
	close(fd);
	/* ...and the teardown made none. */
	ASSERT_EQ(0, mst_read_file(DEBUGFS "fail_nth", left, sizeof(left)));
	EXPECT_EQ(1, atoi(left));
	if (dev_hook) {
		ASSERT_EQ(0, mst_read_file(DEBUGFS "dev_fail_nth", left,
					   sizeof(left)));
		EXPECT_EQ(1, atoi(left));
		ASSERT_EQ(0, mst_write_file(DEBUGFS "dev_fail_nth", "0"));
	}
	ASSERT_EQ(0, mst_write_file(DEBUGFS "fail_nth", "0"));
}

TEST_HARNESS_MAIN
