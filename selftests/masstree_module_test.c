// SPDX-License-Identifier: GPL-2.0
/*
 * The module is loaded and shows itself where administrators look.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "masstree_util.h"

TEST(module_is_loaded)
{
	struct stat st;

	ASSERT_EQ(0, stat("/sys/module/masstree", &st));
	ASSERT_TRUE(S_ISDIR(st.st_mode));
}

TEST(debugfs_directory_exists)
{
	struct stat st;

	ASSERT_EQ(0, stat("/sys/kernel/debug/masstree", &st));
	ASSERT_TRUE(S_ISDIR(st.st_mode));
}

TEST(debugfs_nodes_reports_counters)
{
	long leaves = -1, internodes = -1, suffixes = -1;
	FILE *f = fopen("/sys/kernel/debug/masstree/nodes", "r");

	ASSERT_NE(NULL, f);
	ASSERT_EQ(3, fscanf(f, "leaves %ld internodes %ld suffixes %ld",
			    &leaves, &internodes, &suffixes));
	fclose(f);
	/* Nothing created a map yet in this boot's plan. */
	EXPECT_EQ(0, leaves);
	EXPECT_EQ(0, internodes);
	EXPECT_EQ(0, suffixes);
}

TEST_HARNESS_MAIN
