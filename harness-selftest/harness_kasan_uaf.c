// SPDX-License-Identifier: GPL-2.0
/* A use-after-free that KASAN must report. */
#include <linux/module.h>
#include <linux/slab.h>

static int __init harness_kasan_uaf_init(void)
{
	char *p = kmalloc(64, GFP_KERNEL);

	if (!p)
		return -ENOMEM;
	kfree(p);
	/* The bug on purpose; OPTIMIZER_HIDE_VAR keeps gcc from seeing it. */
	OPTIMIZER_HIDE_VAR(p);
	pr_info("harness: read after free: %d\n", READ_ONCE(p[8]));
	return 0;
}
module_init(harness_kasan_uaf_init);
MODULE_LICENSE("GPL");
