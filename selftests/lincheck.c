// SPDX-License-Identifier: GPL-2.0
/*
 * Wing-Gong linearizability search for one map key, with Lowe's cache:
 * a configuration is the set of operations linearized so far plus the
 * model's state; a configuration seen before is not explored again. The
 * search is a depth-first walk with an explicit stack, so it needs no
 * recursion; its depth is the number of operations.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lincheck.h"

#define LC_CACHE_SIZE	65536U

struct lc_conf {
	__u64 mask;		/* operations linearized; 0 marks a free slot */
	__u64 state;
};

/* Apply @op to @state: false if its result contradicts the model. */
static bool lc_step(const struct lc_op *op, __u64 state, __u64 *next)
{
	*next = state;
	switch (op->kind) {
	case LC_GET:
		if (op->result == 0)
			return state && state == op->out;
		if (op->result == -ENOENT)
			return !state;
		return true;
	case LC_PUT:
		if (op->result == 0)
			*next = op->arg;
		return true;
	case LC_PUT_NOEXIST:
		if (op->result == 0) {
			*next = op->arg;
			return !state;
		}
		if (op->result == -EEXIST)
			return state;
		return true;
	case LC_DEL:
		if (op->result == 0) {
			*next = 0;
			return state;
		}
		if (op->result == -ENOENT)
			return !state;
		return true;
	case LC_CMPXCHG:
		if (op->result == 0) {
			*next = op->arg;
			return state && state == op->expect;
		}
		if (op->result == -ECANCELED)
			return state && state != op->expect;
		if (op->result == -ENOENT)
			return !state;
		return true;
	}
	return false;
}

static __u64 lc_hash(__u64 mask, __u64 state)
{
	__u64 h = mask * 0x9E3779B97F4A7C15ULL ^ state * 0xC2B2AE3D27D4EB4FULL;

	return h ^ (h >> 29);
}

/* Remember a configuration; false if it was seen already. */
static bool lc_cache_add(struct lc_conf *cache, __u64 mask, __u64 state)
{
	__u32 i = lc_hash(mask, state) % LC_CACHE_SIZE, n;

	for (n = 0; n < LC_CACHE_SIZE; n++, i = (i + 1) % LC_CACHE_SIZE) {
		if (!cache[i].mask) {
			cache[i].mask = mask;
			cache[i].state = state;
			return true;
		}
		if (cache[i].mask == mask && cache[i].state == state)
			return false;
	}
	/* Full: explore again rather than give a wrong answer. */
	return true;
}

struct lc_frame {
	__u64 mask;
	__u64 state;
	int next;		/* next candidate to try */
};

int lc_check(const struct lc_op *ops, int nr, __u64 init)
{
	struct lc_frame stack[LC_MAX_OPS + 1];
	__u64 all = nr == 64 ? ~0ULL : (1ULL << nr) - 1;
	struct lc_conf *cache;
	int depth = 0, found = 0;

	if (nr < 0 || nr > LC_MAX_OPS)
		return -1;
	if (!nr)
		return 1;
	cache = calloc(LC_CACHE_SIZE, sizeof(*cache));
	if (!cache)
		return -1;
	stack[0].mask = 0;
	stack[0].state = init;
	stack[0].next = 0;
	while (depth >= 0) {
		struct lc_frame *f = &stack[depth];
		__u64 min_ret = UINT64_MAX, next;
		int i;

		if (f->mask == all) {
			found = 1;
			break;
		}
		for (i = 0; i < nr; i++)
			if (!(f->mask >> i & 1) && ops[i].ret < min_ret)
				min_ret = ops[i].ret;
		/*
		 * A candidate to go next: not linearized yet and invoked no
		 * later than every pending operation's response.
		 */
		for (i = f->next; i < nr; i++) {
			if (f->mask >> i & 1 || ops[i].call > min_ret)
				continue;
			if (!lc_step(&ops[i], f->state, &next))
				continue;
			if (!lc_cache_add(cache, f->mask | 1ULL << i, next))
				continue;
			break;
		}
		if (i >= nr) {
			depth--;	/* no candidate left: backtrack */
			continue;
		}
		f->next = i + 1;
		stack[depth + 1].mask = f->mask | 1ULL << i;
		stack[depth + 1].state = next;
		stack[depth + 1].next = 0;
		depth++;
	}
	free(cache);
	return found;
}
