// SPDX-License-Identifier: GPL-2.0
/*
 * Unload and reload the module with named maps alive: module exit must
 * free every map and node (it warns if a node is left, which fails the
 * VM run), and a fresh load starts empty. Needs root and the module file
 * (/modules/masstree.ko in the test VM, MT_MODULE elsewhere); skips
 * without them. Run it last: it replaces the module under the others.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "masstree_util.h"

static const char *module_file(void)
{
	const char *m = getenv("MT_MODULE");

	return m ? m : "/modules/masstree.ko";
}

static int run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Named maps with keys of every shape, and an anonymous one, all closed. */
static int populate(int cycle)
{
	char name[64], key[512];
	int fd, mfd, i, j, err = 0;

	fd = open(MST_DEV, O_RDWR);
	if (fd < 0)
		return -errno;
	for (i = 0; i < 3 && !err; i++) {
		snprintf(name, sizeof(name), "reload-%d-%d", cycle, i);
		err = mst_create(fd, name, 0600);
		if (err)
			break;
		mfd = mst_open_fd(name);
		if (mfd < 0) {
			err = mfd;
			break;
		}
		for (j = 0; j < 200 && !err; j++) {
			/* Short keys, and a 300-byte shared prefix: layers. */
			size_t len = j % 2 ? 300 + 4 : 8;

			memset(key, 'r', len);
			snprintf(key + len - 4, 5, "%04d", j);
			err = mst_put(mfd, key, len, key, j % 100, 0);
		}
		close(mfd);
	}
	if (!err) {
		mfd = open(MST_DEV, O_RDWR);
		err = mfd < 0 ? -errno : mst_create_anon(mfd);
		if (!err)
			err = mst_put(mfd, "anon", 4, "x", 1, 0);
		if (mfd >= 0)
			close(mfd);
	}
	close(fd);
	return err;
}

TEST(unload_reload_with_live_maps)
{
	int cycles = mst_scale_div() > 1 ? 2 : 4, i, fd;
	char cmd[300];
	struct stat st;

	cycles *= mst_scale_mul();
	if (geteuid() != 0 || stat(module_file(), &st) ||
	    stat("/sys/module/masstree", &st))
		SKIP(return, "needs root, %s and the module loaded", module_file());
	snprintf(cmd, sizeof(cmd), "insmod %s", module_file());
	for (i = 0; i < cycles; i++) {
		ASSERT_EQ(0, populate(i));
		ASSERT_LT(0, mst_debugfs_field(MST_DEBUGFS "/nodes", "leaves"));

		/* An open descriptor holds the module. */
		fd = open(MST_DEV, O_RDWR);
		ASSERT_LE(0, fd);
		ASSERT_NE(0, run("rmmod masstree 2>/dev/null"));
		close(fd);

		ASSERT_EQ(0, run("rmmod masstree"));
		ASSERT_NE(0, stat("/sys/module/masstree", &st));
		ASSERT_EQ(0, run(cmd));
		ASSERT_EQ(0, stat(MST_DEV, &st));

		/* A fresh module: no node, no map. */
		EXPECT_EQ(0, mst_debugfs_field(MST_DEBUGFS "/nodes", "leaves"));
		EXPECT_EQ(0, mst_debugfs_field(MST_DEBUGFS "/nodes", "internodes"));
		EXPECT_EQ(0, mst_debugfs_field(MST_DEBUGFS "/nodes", "suffixes"));
		EXPECT_EQ(0, mst_debugfs_field(MST_DEBUGFS "/dev_stats", "maps"));
	}
	/*
	 * The fresh module works: a named map through the name registry.
	 * This also leaves the registry's lock class registered, as in any
	 * boot where a named map was made, for the modules loaded next.
	 */
	fd = open(MST_DEV, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mst_create(fd, "reload-after", 0600));
	ASSERT_EQ(0, mst_open(fd, "reload-after"));
	ASSERT_EQ(0, mst_put(fd, "k", 1, "v", 1, 0));
	ASSERT_EQ(0, mst_destroy(fd, "reload-after"));
	close(fd);
	TH_LOG("%d unload/reload cycles, 3 named maps of 200 keys each", cycles);
}

TEST_HARNESS_MAIN
