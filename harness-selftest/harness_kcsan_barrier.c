// SPDX-License-Identifier: GPL-2.0
/*
 * Message passing without a release: a writer fills a plain buffer, then
 * raises a flag with WRITE_ONCE(); a reader waits for the flag, reads the
 * buffer and hands it back. No two accesses ever overlap in time, so only
 * KCSAN's weak memory modeling (CONFIG_KCSAN_STRICT) sees that the buffer
 * write may become visible after the flag. With release=1 the flag is
 * raised with smp_store_release(), which is correct and must pass.
 */
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/module.h>

static bool release;
module_param(release, bool, 0444);

static unsigned long harness_buf[4];
static int harness_ready;

static int harness_reader(void *unused)
{
	unsigned long end = jiffies + 3 * HZ, sum = 0;

	while (time_before(jiffies, end)) {
		/* The buffer's reads after the flag. */
		if (!smp_load_acquire(&harness_ready)) {
			cond_resched();
			continue;
		}
		sum += harness_buf[0] + harness_buf[3];
		/* Hand the buffer back: its reads before the flag. */
		smp_store_release(&harness_ready, 0);
	}
	return sum == 42;
}

static void harness_writer(void)
{
	unsigned long end = jiffies + 3 * HZ, i = 0;

	while (time_before(jiffies, end)) {
		/* The buffer's writes after the reader handed it back. */
		if (smp_load_acquire(&harness_ready)) {
			cond_resched();
			continue;
		}
		harness_buf[0] = ++i;
		harness_buf[3] = i;
		if (release)	/* the buffer's writes before the flag */
			smp_store_release(&harness_ready, 1);
		else
			WRITE_ONCE(harness_ready, 1);	/* the missing barrier */
	}
}

static int __init harness_kcsan_barrier_init(void)
{
	struct task_struct *t = kthread_run(harness_reader, NULL, "harness_reader");

	if (IS_ERR(t))
		return PTR_ERR(t);
	harness_writer();
	kthread_stop(t);
	return 0;
}
module_init(harness_kcsan_barrier_init);
MODULE_LICENSE("GPL");
