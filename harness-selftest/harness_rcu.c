// SPDX-License-Identifier: GPL-2.0
/* rcu_dereference() outside any RCU read-side section. */
#include <linux/module.h>
#include <linux/rcupdate.h>

static int harness_rcu_target;
static int __rcu *harness_rcu_ptr = (int __rcu *)&harness_rcu_target;

static int __init harness_rcu_init(void)
{
	pr_info("harness: %d\n", *rcu_dereference(harness_rcu_ptr));
	return 0;
}
module_init(harness_rcu_init);
MODULE_LICENSE("GPL");
