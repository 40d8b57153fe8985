/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the maps of /dev/masstree are charged (account.c): the caps, each
 * map's charge and counters, the per-uid records and the device's total.
 * The bottom of the device: map lifetime (map.c) and the operations
 * (ops.c) call down into it, it calls nothing of theirs.
 */
#ifndef _MASSTREE_DEV_ACCOUNT_H
#define _MASSTREE_DEV_ACCOUNT_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/masstree.h>
#include <linux/percpu_counter.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <uapi/linux/masstree.h>

struct seq_file;

/*
 * Per-CPU batch of the value byte counter: larger than any one value
 * (64 KiB), so the data path adds to its own CPU's count and reaches the
 * shared one only every 256 KiB.
 */
#define MTDEV_BYTES_BATCH	(256 * 1024)

enum mtdev_op_stat {
	MTDEV_STAT_GET,
	MTDEV_STAT_PUT,
	MTDEV_STAT_DEL,
	MTDEV_STAT_CMPXCHG,
	MTDEV_STAT_SCAN,
	MTDEV_STAT_BATCH,
	MTDEV_NR_STATS,
};

/**
 * struct mtdev_op_counts - one CPU's operation counters of a map.
 * @n: one counter per enum mtdev_op_stat.
 */
struct mtdev_op_counts {
	u64 n[MTDEV_NR_STATS];
};

/**
 * struct mtdev_user - what one uid has been charged.
 * @link: in the list of users, under its lock (account.c).
 * @uid: the user.
 * @refs: maps charged to the user (under the users' lock).
 * @bytes: bytes charged by all of them: the sum of their @charged.
 */
struct mtdev_user {
	struct list_head link;
	kuid_t uid;
	unsigned int refs;
	atomic64_t bytes;
};

/**
 * struct mtdev_account - what one map is charged, and its counters.
 * @tree: the map's keys, whose bytes a settle reads.
 * @link: in the list of accounts, under the users' lock (account.c).
 * @user: who is charged for the map's bytes.
 * @charged: what the caps see: @held, plus the worst case of each write
 *	in flight or not yet settled (see "charging what a map holds" in
 *	account.c).
 * @unsettled: what completed writes reserved, not yet given back.
 * @value_delta: completed writes' change to @value_slab, not yet in it.
 * @lock: serialises settling: @held and @value_slab.
 * @held: bytes the map held when last settled: its nodes and suffixes
 *	(masstree_bytes()) and @value_slab.
 * @value_slab: bytes the values' allocations hold (slab bucket, or pages).
 * @value_bytes: bytes of values, as userspace stored them.
 * @ops: per-CPU operation counters.
 */
struct mtdev_account {
	struct masstree *tree;
	struct list_head link;
	struct mtdev_user *user;
	atomic64_t charged;
	atomic64_t unsettled;
	atomic64_t value_delta;
	spinlock_t lock;	/* serialises settling */
	s64 held;
	s64 value_slab;
	struct percpu_counter value_bytes;
	struct mtdev_op_counts __percpu *ops;
};

int mtdev_account_open(struct mtdev_account *a, struct masstree *tree,
		       kuid_t uid);
void mtdev_account_close(struct mtdev_account *a);
void mtdev_account_free(struct mtdev_account *a);
int mtdev_reserve(struct mtdev_account *a, s64 bytes);
void mtdev_done(struct mtdev_account *a, s64 reserved, s64 value_delta);
void mtdev_settle(struct mtdev_account *a);
void mtdev_value_bytes_add(struct mtdev_account *a, s64 bytes);
s64 mtdev_charged(struct mtdev_account *a);
void mtdev_account_stats(struct mtdev_account *a, struct masstree_ioc_stats *s);
s64 mtdev_total_bytes(void);
long mtdev_nr_maps(void);
void mtdev_users_show(struct seq_file *sf);
void mtdev_caps_init(void);
void mtdev_account_exit(void);

/**
 * mtdev_count() - count one operation on this CPU.
 * @a: the map's account.
 * @which: the operation.
 *
 * Context: Any context.
 */
static inline void mtdev_count(struct mtdev_account *a,
			       enum mtdev_op_stat which)
{
	this_cpu_inc(a->ops->n[which]);
}

#endif /* _MASSTREE_DEV_ACCOUNT_H */
