// SPDX-License-Identifier: GPL-2.0
/* Two mutexes taken in both orders: lockdep must see the inversion. */
#include <linux/module.h>
#include <linux/mutex.h>

static DEFINE_MUTEX(harness_a);
static DEFINE_MUTEX(harness_b);

static int __init harness_lockdep_init(void)
{
	mutex_lock(&harness_a);
	mutex_lock(&harness_b);
	mutex_unlock(&harness_b);
	mutex_unlock(&harness_a);

	mutex_lock(&harness_b);
	mutex_lock(&harness_a);
	mutex_unlock(&harness_a);
	mutex_unlock(&harness_b);
	return 0;
}
module_init(harness_lockdep_init);
MODULE_LICENSE("GPL");
