// SPDX-License-Identifier: GPL-2.0
/* A WARN_ON() that fires at load. */
#include <linux/module.h>

static int harness_warn_trigger = 1;
module_param(harness_warn_trigger, int, 0444);

static int __init harness_warn_init(void)
{
	WARN_ON(harness_warn_trigger);
	return 0;
}
module_init(harness_warn_init);
MODULE_LICENSE("GPL");
