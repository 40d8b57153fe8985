// SPDX-License-Identifier: GPL-2.0
/*
 * The masstree module: node caches and debugfs live as long as the module.
 */
#include <linux/module.h>

#include "debugfs.h"
#include "node.h"

static int __init masstree_module_init(void)
{
	int err = mt_node_caches_init();

	if (err)
		return err;
	mt_debugfs_init();
	return 0;
}

static void __exit masstree_module_exit(void)
{
	mt_debugfs_exit();
	mt_node_caches_exit();
}

module_init(masstree_module_init);
module_exit(masstree_module_exit);

MODULE_DESCRIPTION("Masstree: a concurrent ordered map with byte-string keys");
MODULE_AUTHOR("The masstree developers");
MODULE_LICENSE("GPL");
