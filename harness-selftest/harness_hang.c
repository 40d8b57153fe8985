// SPDX-License-Identifier: GPL-2.0
/* A module load that never returns, sleeping: only the timeout sees it. */
#include <linux/module.h>
#include <linux/sched.h>

static int __init harness_hang_init(void)
{
	for (;;)
		schedule_timeout_interruptible(HZ);
	return 0;
}
module_init(harness_hang_init);
MODULE_LICENSE("GPL");
