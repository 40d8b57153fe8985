// SPDX-License-Identifier: GPL-2.0
/* A KUnit suite with one failing case. */
#include <kunit/test.h>
#include <linux/module.h>

static void harness_kunit_passes(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, 1 + 1, 2);
}

static void harness_kunit_fails(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, 1 + 1, 3);
}

static struct kunit_case harness_kunit_fail_cases[] = {
	KUNIT_CASE(harness_kunit_passes),
	KUNIT_CASE(harness_kunit_fails),
	{}
};

static struct kunit_suite harness_kunit_fail_suite = {
	.name = "harness_kunit_fail",
	.test_cases = harness_kunit_fail_cases,
};

kunit_test_suite(harness_kunit_fail_suite);
MODULE_LICENSE("GPL");
