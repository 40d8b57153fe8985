// SPDX-License-Identifier: GPL-2.0
/* The control: a passing KUnit suite, which must not fail the run. */
#include <kunit/test.h>
#include <linux/module.h>

static void harness_ok_passes(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, 1 + 1, 2);
}

static struct kunit_case harness_ok_cases[] = {
	KUNIT_CASE(harness_ok_passes),
	{}
};

static struct kunit_suite harness_ok_suite = {
	.name = "harness_ok",
	.test_cases = harness_ok_cases,
};

kunit_test_suite(harness_ok_suite);
MODULE_LICENSE("GPL");
