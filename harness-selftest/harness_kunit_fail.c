// SPDX-License-Identifier: GPL-2.0
/*
 * A KUnit suite whose last case fails, after a parameterised case: 6.1's
 * debugfs log of parameterised cases once made the verdict lose the
 * suite's last cases.
 */
#include <kunit/test.h>
#include <linux/module.h>

static void harness_kunit_passes(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, 1 + 1, 2);
}

static const int harness_params[] = { 1, 2, 3 };

static void harness_param_desc(const int *p, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "param %d", *p);
}

KUNIT_ARRAY_PARAM(harness, harness_params, harness_param_desc);

static void harness_kunit_param_passes(struct kunit *test)
{
	const int *p = test->param_value;

	KUNIT_EXPECT_GT(test, *p, 0);
}

static void harness_kunit_fails(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, 1 + 1, 3);
}

static struct kunit_case harness_kunit_fail_cases[] = {
	KUNIT_CASE(harness_kunit_passes),
	KUNIT_CASE_PARAM(harness_kunit_param_passes, harness_gen_params),
	KUNIT_CASE(harness_kunit_fails),
	{}
};

static struct kunit_suite harness_kunit_fail_suite = {
	.name = "harness_kunit_fail",
	.test_cases = harness_kunit_fail_cases,
};

kunit_test_suite(harness_kunit_fail_suite);
MODULE_LICENSE("GPL");
