// SPDX-License-Identifier: GPL-2.0
/*
 * A bounded dump of a map's nodes for debugfs: breadth first over every
 * layer, one line per node and per leaf key. Writers may run meanwhile:
 * each node is read like a reader reads it (stable version, copy, check)
 * and its children are followed only from a consistent copy, so the dump
 * never follows a value as if it were a layer.
 */
#include <linux/export.h>
#include <linux/masstree.h>
#include <linux/mm.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/seq_file.h>
#include <linux/string.h>

#include "internal.h"
#include "permutation.h"
#include "version.h"

/* Tries to read a node consistently before the dump gives up on it. */
#define MST_DUMP_TRIES	8

/* A span's first bytes the dump shows. */
#define MST_DUMP_SPAN_BYTES	16

struct mst_dump_item {
	struct mst_node *node;
	u32 layer;
	u32 depth;
};

/*
 * A consistent copy of one node; for a leaf's span slots, the span's
 * length and first bytes too (spans are immutable).
 */
struct mst_dump_copy {
	unsigned long version;
	unsigned int nkeys;
	u64 ikey[MST_NODE_WIDTH];
	u8 klx[MST_NODE_WIDTH];
	struct mst_node *child[MST_NODE_WIDTH + 1];
	u32 span_len[MST_NODE_WIDTH];
	u8 span_data[MST_NODE_WIDTH][MST_DUMP_SPAN_BYTES];
};

/*
 * Follow the span slots of a leaf copy that its version validated: each
 * span was the slot's then, and RCU keeps it while the caller reads.
 */
static void mst_dump_spans(struct mst_dump_copy *c)
{
	unsigned int i;

	for (i = 0; i < c->nkeys; i++) {
		struct mst_span *span = (struct mst_span *)c->child[i];

		if (c->klx[i] != MST_KLX_SPAN)
			continue;
		c->span_len[i] = span->len;
		memcpy(c->span_data[i], span->data,
		       min_t(u32, span->len, MST_DUMP_SPAN_BYTES));
		c->child[i] = span->root;
	}
}

/* Copy @n as a reader would; false if it kept changing. */
static bool mst_dump_copy(struct mst_node *n, struct mst_dump_copy *c)
{
	unsigned int i, tries;

	for (tries = 0; tries < MST_DUMP_TRIES; tries++) {
		preempt_disable();
		c->version = mst_stable_version(n);
		if (c->version & MST_V_LEAF) {
			struct mst_leaf *leaf = mst_to_leaf(n);
			u64 perm = READ_ONCE(leaf->permutation);

			c->nkeys = min_t(unsigned int, mst_perm_size(perm), MST_NODE_WIDTH);
			for (i = 0; i < c->nkeys; i++) {
				unsigned int slot = mst_perm_slot(perm, i);

				c->ikey[i] = READ_ONCE(leaf->ikey[slot]);
				c->klx[i] = READ_ONCE(leaf->keylenx[slot]);
				/* A span, for a span slot, until validated. */
				c->child[i] = mst_klx_is_layer(c->klx[i]) ?
					      rcu_dereference(leaf->lv[slot]) : NULL;
			}
		} else {
			struct mst_internode *in = mst_to_internode(n);

			c->nkeys = min_t(unsigned int, READ_ONCE(in->nkeys), MST_NODE_WIDTH);
			for (i = 0; i < c->nkeys; i++)
				c->ikey[i] = READ_ONCE(in->ikey[i]);
			for (i = 0; i <= c->nkeys; i++)
				c->child[i] = rcu_dereference(in->child[i]);
		}
		if (!mst_version_changed(n, c->version)) {
			preempt_enable();
			if (c->version & MST_V_LEAF)
				mst_dump_spans(c);
			return true;
		}
		preempt_enable();
	}
	return false;
}

static void mst_dump_leaf(struct seq_file *sf, const struct mst_dump_item *it,
			  const struct mst_dump_copy *c)
{
	unsigned int i;

	seq_printf(sf, "layer %u depth %u leaf keys %u version %#lx\n",
		   it->layer, it->depth, c->nkeys, c->version);
	for (i = 0; i < c->nkeys; i++) {
		u8 klx = c->klx[i];

		seq_printf(sf, "  %016llx len %u%s", c->ikey[i],
			   mst_klx_in_bag(klx) ? klx : klx & 0xf,
			   mst_klx_in_bag(klx) ? " bag" :
			   klx == MST_KLX_SPAN ? " span" :
			   klx == MST_KLX_LAYER ? " layer" :
			   klx == MST_KLX_SUFFIX ? " suffix" : "");
		if (klx == MST_KLX_SPAN)
			seq_printf(sf, " %u %*phN%s", c->span_len[i],
				   (int)min_t(u32, c->span_len[i],
					      MST_DUMP_SPAN_BYTES),
				   c->span_data[i],
				   c->span_len[i] > MST_DUMP_SPAN_BYTES ?
				   "..." : "");
		seq_putc(sf, '\n');
	}
}

static void mst_dump_internode(struct seq_file *sf,
			       const struct mst_dump_item *it,
			      const struct mst_dump_copy *c)
{
	unsigned int i;

	seq_printf(sf, "layer %u depth %u internode keys %u version %#lx\n",
		   it->layer, it->depth, c->nkeys, c->version);
	for (i = 0; i < c->nkeys; i++)
		seq_printf(sf, "  %016llx\n", c->ikey[i]);
}

/**
 * masstree_dump() - print a map's nodes, breadth first, layer by layer.
 * @mt: the map.
 * @sf: where to print: a seq_file of debugfs, for debugging.
 * @max_nodes: how many nodes to print at most.
 *
 * One line per node (layer, depth, kind, keys, version word) and one per
 * leaf key (its slice, length class, whether it holds a suffix or a
 * layer). A span slot reads "span", the span's length in bytes and its
 * first bytes in hex ("..." if there are more); the layer it leads to is
 * numbered one below the slot's, as a plain layer slot's is. Writers may
 * run meanwhile: a node that keeps changing is reported as skipped. The
 * format is for people, not a stable interface.
 *
 * Context: Process context (allocates with GFP_KERNEL); takes the RCU
 * read lock.
 */
void masstree_dump(struct masstree *mt, struct seq_file *sf,
		   unsigned int max_nodes)
{
	struct mst_dump_item *queue;
	struct mst_dump_copy *c;
	unsigned int head = 0, tail = 0, i;
	bool truncated = false;
	struct mst_node *root;

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
		queue[tail++] = (struct mst_dump_item){ .node = root };
	while (head < tail) {
		struct mst_dump_item it = queue[head++];
		bool leaf;

		if (!mst_dump_copy(it.node, c)) {
			seq_printf(sf, "layer %u depth %u: changing, skipped\n",
				   it.layer, it.depth);
			continue;
		}
		leaf = c->version & MST_V_LEAF;
		if (leaf)
			mst_dump_leaf(sf, &it, c);
		else
			mst_dump_internode(sf, &it, c);
		for (i = 0; i <= c->nkeys; i++) {
			struct mst_dump_item next = {
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
EXPORT_SYMBOL_GPL(masstree_dump);
