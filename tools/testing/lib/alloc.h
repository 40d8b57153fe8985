/* SPDX-License-Identifier: GPL-2.0 */
/* The counting allocator's knobs and the core's test entry points. */
#ifndef _MASSTREE_TOOLS_ALLOC_H
#define _MASSTREE_TOOLS_ALLOC_H

extern long shim_warnings;
extern long shim_live_allocs;
extern long shim_fail_nth;
extern long shim_alloc_calls;
extern long shim_rcu_pending;	/* lib/rcu.c: call_rcu() callbacks not yet run */
extern bool shim_rcu_defer;	/* lib/rcu.c: call_rcu() only queues... */
void shim_rcu_flush(void);	/* ...until this hands the queue to liburcu */
/* malloc() and free() for the reference map: not counted, never failed. */
void *shim_uncounted_alloc(size_t size, gfp_t gfp);
void shim_uncounted_free(void *p);

/* From the core (masstree/node.c, masstree/reserve.c). */
int mst_node_caches_init(void);
void mst_node_caches_exit(void);
void mst_preload_drain(void);

#endif /* _MASSTREE_TOOLS_ALLOC_H */
