// SPDX-License-Identifier: GPL-2.0
/*
 * The masstree module: node caches, debugfs and /dev/masstree live as long
 * as the module. The core is the .c files here; the device (dev/) is
 * its client and reaches it through <linux/masstree.h> alone.
 */
#include <linux/module.h>

#include "debugfs.h"
#include "dev/dev.h"
#include "internal.h"
#include "node.h"

/* The preload pools hold nodes: empty them before the caches go. */
static void masstree_core_exit(void)
{
	mst_preload_drain();
	mst_node_caches_exit();
}

static int __init masstree_module_init(void)
{
	int err = mst_node_caches_init();

	if (err)
		return err;
	/* The device, a client of the core, adds its files to the core's. */
	err = mtdev_init(mst_debugfs_init());
	if (err) {
		mst_debugfs_exit();
		masstree_core_exit();
	}
	return err;
}

static void __exit masstree_module_exit(void)
{
	/* Maps first: freeing them needs debugfs and the node caches. */
	mtdev_exit();
	mst_debugfs_exit();
	masstree_core_exit();
}

module_init(masstree_module_init);
module_exit(masstree_module_exit);

MODULE_DESCRIPTION("Masstree: a concurrent ordered map with byte-string keys");
MODULE_AUTHOR("The masstree developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(MASSTREE_VERSION);
