// SPDX-License-Identifier: GPL-2.0
/*
 * A bounded dump of a map's nodes for debugfs: breadth first over every
 * layer, one line per node and per leaf key. Writers may run meanwhile:
 * each node is read like a reader reads it (stable version, copy, check)
 * and its children are followed only from a consistent copy, so the dump
 * never follows a value as if it were a layer.
 */
#include <linux/mm.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/seq_file.h>

#include "debugfs.h"
#include "internal.h"
#include "perm.h"
#include "version.h"

/* Tries to read a node consistently before the dump gives up on it. */
#define MT_DUMP_TRIES	8

struct mt_dump_item {
	struct mt_node *node;
	u32 layer;
	u32 depth;
};

/* A consistent copy of one node. */
struct mt_dump_copy {
	unsigned long version;
	unsigned int nkeys;
	u64 ikey[MT_NODE_WIDTH];
	u8 klx[MT_NODE_WIDTH];
	struct mt_node *child[MT_NODE_WIDTH + 1];
};

/* Copy @n as a reader would; false if it kept changing. */
static bool mt_dump_copy(struct mt_node *n, struct mt_dump_copy *c)
{
	unsigned int i, tries;

	for (tries = 0; tries < MT_DUMP_TRIES; tries++) {
		preempt_disable();
		c->version = mt_stable_version(n);
		if (c->version & MT_V_LEAF) {
			struct mt_leaf *leaf = mt_to_leaf(n);
			u64 perm = READ_ONCE(leaf->permutation);

			c->nkeys = min_t(unsigned int, mt_perm_size(perm), MT_NODE_WIDTH);
			for (i = 0; i < c->nkeys; i++) {
				unsigned int slot = mt_perm_slot(perm, i);

				c->ikey[i] = READ_ONCE(leaf->ikey[slot]);
				c->klx[i] = READ_ONCE(leaf->keylenx[slot]);
				c->child[i] = c->klx[i] & MT_KLX_LAYER ?
					      rcu_dereference(leaf->lv[slot]) : NULL;
			}
		} else {
			struct mt_internode *in = mt_to_internode(n);

			c->nkeys = min_t(unsigned int, READ_ONCE(in->nkeys), MT_NODE_WIDTH);
			for (i = 0; i < c->nkeys; i++)
				c->ikey[i] = READ_ONCE(in->ikey[i]);
			for (i = 0; i <= c->nkeys; i++)
				c->child[i] = rcu_dereference(in->child[i]);
		}
		if (!mt_version_changed(n, c->version)) {
			preempt_enable();
			return true;
		}
		preempt_enable();
	}
	return false;
}

static void mt_dump_leaf(struct seq_file *sf, const struct mt_dump_item *it,
			 const struct mt_dump_copy *c)
{
	unsigned int i;

	seq_printf(sf, "layer %u depth %u leaf keys %u version %#lx\n",
		   it->layer, it->depth, c->nkeys, c->version);
	for (i = 0; i < c->nkeys; i++)
		seq_printf(sf, "  %016llx len %u%s\n", c->ikey[i],
			   c->klx[i] & 0xf,
			   c->klx[i] & MT_KLX_LAYER ? " layer" :
			   c->klx[i] & MT_KLX_SUFFIX ? " suffix" : "");
}

static void mt_dump_internode(struct seq_file *sf,
			      const struct mt_dump_item *it,
			      const struct mt_dump_copy *c)
{
	unsigned int i;

	seq_printf(sf, "layer %u depth %u internode keys %u version %#lx\n",
		   it->layer, it->depth, c->nkeys, c->version);
	for (i = 0; i < c->nkeys; i++)
		seq_printf(sf, "  %016llx\n", c->ikey[i]);
}

/**
 * mt_dump() - print a map's nodes, breadth first, layer by layer.
 * @mt: the map.
 * @sf: where to print.
 * @max_nodes: how many nodes to print at most.
 *
 * Context: Process context; takes the RCU read lock.
 */
void mt_dump(struct masstree *mt, struct seq_file *sf, unsigned int max_nodes)
{
	struct mt_dump_item *queue;
	struct mt_dump_copy *c;
	unsigned int head = 0, tail = 0, i;
	bool truncated = false;
	struct mt_node *root;

	queue = kvmalloc_array(max_nodes, sizeof(*queue), GFP_KERNEL);
	c = kmalloc(sizeof(*c), GFP_KERNEL);
	if (!queue || !c) {
		seq_puts(sf, "out of memory\n");
		goto out;
	}
	rcu_read_lock();
	root = rcu_dereference(mt->root);
	if (!root)
		seq_puts(sf, "empty\n");
	else if (max_nodes)
		queue[tail++] = (struct mt_dump_item){ .node = root };
	while (head < tail) {
		struct mt_dump_item it = queue[head++];
		bool leaf;

		if (!mt_dump_copy(it.node, c)) {
			seq_printf(sf, "layer %u depth %u: changing, skipped\n",
				   it.layer, it.depth);
			continue;
		}
		leaf = c->version & MT_V_LEAF;
		if (leaf)
			mt_dump_leaf(sf, &it, c);
		else
			mt_dump_internode(sf, &it, c);
		for (i = 0; i <= c->nkeys; i++) {
			struct mt_dump_item next = {
				.node = c->child[i],
				.layer = leaf ? it.layer + 1 : it.layer,
				.depth = leaf ? 0 : it.depth + 1,
			};

			if (leaf && i == c->nkeys)
				break;
			if (!next.node)
				continue;
			if (tail == max_nodes) {
				truncated = true;
				break;
			}
			queue[tail++] = next;
		}
	}
	rcu_read_unlock();
	if (truncated)
		seq_printf(sf, "truncated at %u nodes\n", max_nodes);
out:
	kfree(c);
	kvfree(queue);
}
