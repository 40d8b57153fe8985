/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small linearizability checker for one key of a map (Wing and Gong's
 * search with a cache of visited configurations, after Lowe): a history
 * of complete operations with invocation and response times, and a model
 * of one key (absent, or a value identified by a non-zero 64-bit id).
 */
#ifndef _MASSTREE_LINCHECK_H
#define _MASSTREE_LINCHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>

/* Operations per history: the configuration is a 64-bit mask. */
#define LC_MAX_OPS	64

enum lc_kind {
	LC_GET,		/* @out: the id read; @result 0 or -ENOENT */
	LC_PUT,		/* insert or replace with @arg */
	LC_PUT_NOEXIST,	/* insert @arg; -EEXIST if present */
	LC_DEL,		/* remove; -ENOENT if absent */
	LC_CMPXCHG,	/* @expect -> @arg; -ECANCELED, -ENOENT */
};

/**
 * struct lc_op - one completed operation on the key.
 * @call: invocation time (CLOCK_MONOTONIC, ns), taken before the call.
 * @ret: response time, taken after it returned.
 * @kind: enum lc_kind.
 * @arg: the value id written (PUT, PUT_NOEXIST, CMPXCHG).
 * @expect: CMPXCHG: the value id expected.
 * @out: GET: the value id read.
 * @result: 0 or -errno as returned; an error the model does not know
 *	(-ENOMEM, ...) means the operation had no effect.
 */
struct lc_op {
	__u64 call;
	__u64 ret;
	int kind;
	__u64 arg;
	__u64 expect;
	__u64 out;
	int result;
};

/*
 * Is there an order of @ops, consistent with their real-time order (an
 * operation that returned before another was invoked comes first), in
 * which each operation's result is what the model gives, starting from
 * @init (0: absent)? @nr is at most LC_MAX_OPS; returns -1 if larger,
 * 1 if linearizable, 0 if not.
 */
int lc_check(const struct lc_op *ops, int nr, __u64 init);

#endif /* _MASSTREE_LINCHECK_H */
