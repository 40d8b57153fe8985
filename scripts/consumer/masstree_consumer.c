// SPDX-License-Identifier: GPL-2.0
/* Links against masstree.ko's exports from a separate build. */
#include <linux/masstree.h>
#include <linux/module.h>

static DEFINE_MASSTREE(consumer_map);

static int __init masstree_consumer_init(void)
{
	struct masstree local;

	masstree_init(&local, 0);
	masstree_destroy(&local);
	return 0;
}

static void __exit masstree_consumer_exit(void)
{
	masstree_destroy(&consumer_map);
}

module_init(masstree_consumer_init);
module_exit(masstree_consumer_exit);
MODULE_DESCRIPTION("Example user of the masstree exports");
MODULE_LICENSE("GPL");
