// SPDX-License-Identifier: GPL-2.0
/* Two threads write one plain variable: a data race for KCSAN. */
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/module.h>

static unsigned long harness_shared;

static int harness_racer(void *unused)
{
	unsigned long end = jiffies + 4 * HZ;

	while (time_before(jiffies, end)) {
		harness_shared++;
		cond_resched();
	}
	return 0;
}

static int __init harness_kcsan_init(void)
{
	struct task_struct *t = kthread_run(harness_racer, NULL, "harness_racer");

	if (IS_ERR(t))
		return PTR_ERR(t);
	harness_racer(NULL);
	msleep(100);
	return 0;
}
module_init(harness_kcsan_init);
MODULE_LICENSE("GPL");
