// SPDX-License-Identifier: GPL-2.0
/*
 * What the maps of /dev/masstree are charged. Each map charges the memory
 * it holds to itself, to the uid that created it and to the device as a
 * whole, checked against module parameters, so that no user can pin
 * unbounded kernel memory through the device. Map lifetime (map.c) opens
 * and closes a map's account; the operations (ops.c) reserve and settle
 * through it. Nothing here calls up into either.
 *
 * DOC: charging what a map holds
 *
 * What a write makes the map hold depends on the tree's shape, not only
 * on the key and value: a key that collides with another past the first
 * slice adds a layer leaf and a span holding the bytes the two share; a
 * split adds nodes; leaves thinned by erases stay until they can merge
 * with a neighbour. So a map
 * is charged what it really holds: its nodes and suffixes as the core
 * counts them (masstree_bytes(): their slab objects) plus
 * its values at their allocation's size.
 *
 * A write first reserves its worst case: its value's allocation, plus
 * masstree_insert_bytes_max() if it may add a key. The reservation is
 * added to the map's counter (@charged), the user's and the device's
 * total, each checked against its cap, so a write that could take any of
 * them past its cap fails before it changes anything. After the write
 * (failed or not) it hands its reservation and the change to its values'
 * allocations to the map's account (mtdev_done(): two atomics, no lock)
 * and leaves them charged. A settle, under the map's @lock, takes what
 * completed writes handed in, reads what the map holds now
 * (masstree_bytes(), a sum over the possible CPUs), applies the
 * difference from the last settled figure (@held) and gives the
 * reservations back, to all three counters. A settle thus folds in every
 * write that completed before it; writers in flight keep their
 * reservations. A counter never drifts: it is a real reading of the map
 * plus reservations outstanding or not yet given back, so it is not less
 * than what the map holds but for writes in flight and what a write may
 * add beyond its reservation (below). Erases reserve nothing and hand in
 * what they freed; an erase that folds a layer into the slot above may
 * instead add up to one suffix or span of the key's length (its slab
 * object can round up past the node and pieces it replaces), which the
 * next settle charges like any other change.
 *
 * So that a write costs O(1) whatever the number of CPUs, the map settles
 * only:
 *
 *  - when what completed writes handed in passes MTDEV_SETTLE_SLACK
 *    (reserved, or freed), which bounds how stale its figure gets;
 *  - when it is observed: STATS, LIST and the debugfs files settle what
 *    they show first (the device's total and the users' figures settle
 *    every map), so every figure read is exact once writes are quiescent;
 *  - when a cap refuses a reservation: the figure it was refused on may
 *    hold reservations not yet given back, so the maps that cap counts
 *    (the map, the user's maps, every map) are settled and the
 *    reservation judged again. A write is thus refused only if it would
 *    pass a cap on settled figures, as if every write had settled at
 *    once; the cost of settling falls on writes at a cap.
 *
 * The caps hold at every reservation, and what a write adds beyond its
 * reservation is bounded as masstree_insert_bytes_max() explains, so a
 * cap is exceeded, if at all, by less than one write's worth for each
 * write not yet settled (none, short of splits deeper than
 * masstree_insert_bytes_max() counts).
 *
 * The counters are atomics, not per-CPU: a per-CPU sum read while others
 * add could miss concurrent reservations and let several pass one cap.
 */
#include <linux/bits.h>
#include <linux/cred.h>
#include <linux/err.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/user_namespace.h>

#include "account.h"
#include "fault.h"

static unsigned long max_map_bytes = 64UL << 20;
module_param(max_map_bytes, ulong, 0644);
MODULE_PARM_DESC(max_map_bytes,
		 "Bytes one /dev/masstree map may hold; 0: no cap (default 64 MiB)");

static unsigned long max_user_bytes = 256UL << 20;
module_param(max_user_bytes, ulong, 0644);
MODULE_PARM_DESC(max_user_bytes,
		 "Bytes the maps created by one uid may hold; 0: no cap (default 256 MiB)");

/* ULONG_MAX: not given at load, mtdev_caps_init() picks the default. */
static unsigned long max_total_bytes = ULONG_MAX;
module_param(max_total_bytes, ulong, 0644);
MODULE_PARM_DESC(max_total_bytes,
		 "Bytes all /dev/masstree maps together may hold; 0: no cap (default an eighth of RAM)");

static unsigned int max_maps = 64;
module_param(max_maps, uint, 0644);
MODULE_PARM_DESC(max_maps,
		 "Maps, named and anonymous, one uid may have created and not yet freed; 0: no cap (default 64)");

/*
 * What a map's completed writes may hand in, reserved or freed, before it
 * settles: a few hundred small writes between two reads of the core's
 * per-CPU counters, and no figure more stale than this.
 */
#define MTDEV_SETTLE_SLACK	(256 * 1024)

/* Serialises the lists of users and accounts, and the users' @refs. */
static DEFINE_MUTEX(mtdev_users_lock);
static LIST_HEAD(mtdev_users);
static LIST_HEAD(mtdev_accounts);
static atomic_long_t mtdev_live_maps = ATOMIC_LONG_INIT(0);
/* Bytes charged to all maps: the sum of their @charged. */
static atomic64_t mtdev_total = ATOMIC64_INIT(0);

/* The user charged for a new map, with a reference; under the lock. */
static struct mtdev_user *mtdev_user_get(kuid_t uid)
{
	unsigned int cap = READ_ONCE(max_maps);
	struct mtdev_user *u;

	lockdep_assert_held(&mtdev_users_lock);
	list_for_each_entry(u, &mtdev_users, link) {
		if (!uid_eq(u->uid, uid))
			continue;
		if (cap && u->refs >= cap)
			return ERR_PTR(-EDQUOT);
		u->refs++;
		return u;
	}
	u = mtdev_fail_alloc(MTDEV_FAIL_MAP) ? NULL : kzalloc(sizeof(*u), GFP_KERNEL);
	if (!u)
		return ERR_PTR(-ENOMEM);
	atomic64_set(&u->bytes, 0);
	u->uid = uid;
	u->refs = 1;
	list_add(&u->link, &mtdev_users);
	return u;
}

static void mtdev_user_put(struct mtdev_user *u)
{
	lockdep_assert_held(&mtdev_users_lock);
	if (--u->refs)
		return;
	WARN_ON_ONCE(atomic64_read(&u->bytes) != 0);
	list_del(&u->link);
	kfree(u);
}

/**
 * mtdev_account_open() - set up a new map's account, charged to @uid.
 * @a: the account, in a map not yet published.
 * @tree: the map's keys, initialised.
 * @uid: who creates the map.
 *
 * Context: Process context; takes the users' lock.
 * Return: 0; -EDQUOT when @uid has max_maps maps already, -ENOMEM.
 */
int mtdev_account_open(struct mtdev_account *a, struct masstree *tree,
		       kuid_t uid)
{
	struct mtdev_user *u;
	int err;

	a->tree = tree;
	atomic64_set(&a->charged, 0);
	atomic64_set(&a->unsettled, 0);
	atomic64_set(&a->value_delta, 0);
	spin_lock_init(&a->lock);
	a->held = 0;
	a->value_slab = 0;
	a->ops = alloc_percpu_gfp(struct mtdev_op_counts, GFP_KERNEL_ACCOUNT);
	if (!a->ops)
		return -ENOMEM;
	err = percpu_counter_init(&a->value_bytes, 0, GFP_KERNEL_ACCOUNT);
	if (err)
		goto free_ops;
	mutex_lock(&mtdev_users_lock);
	u = mtdev_user_get(uid);
	if (!IS_ERR(u)) {
		a->user = u;
		list_add(&a->link, &mtdev_accounts);
	}
	mutex_unlock(&mtdev_users_lock);
	if (IS_ERR(u)) {
		err = PTR_ERR(u);
		goto destroy;
	}
	atomic_long_inc(&mtdev_live_maps);
	return 0;
destroy:
	percpu_counter_destroy(&a->value_bytes);
free_ops:
	free_percpu(a->ops);
	return err;
}

/**
 * mtdev_account_close() - refund what a map about to be freed is charged.
 * @a: the account of a map that no one reaches any more and that has no
 *	write in flight.
 *
 * Called before the map is emptied: from here on no settle reads its
 * tree. Its values may still be handed to mtdev_value_bytes_add() until
 * mtdev_account_free().
 *
 * Context: Process context; takes the users' lock.
 */
void mtdev_account_close(struct mtdev_account *a)
{
	s64 charged;

	mutex_lock(&mtdev_users_lock);
	list_del(&a->link);
	charged = atomic64_read(&a->charged);
	atomic64_sub(charged, &a->user->bytes);
	atomic64_sub(charged, &mtdev_total);
	mtdev_user_put(a->user);
	mutex_unlock(&mtdev_users_lock);
}

/**
 * mtdev_account_free() - free a closed account's counters.
 * @a: the account, closed.
 *
 * Context: Process context.
 */
void mtdev_account_free(struct mtdev_account *a)
{
	percpu_counter_destroy(&a->value_bytes);
	free_percpu(a->ops);
	atomic_long_dec(&mtdev_live_maps);
}

/* Add @bytes to @ctr unless that takes it past @cap (0: no cap). */
static bool mtdev_add_capped(atomic64_t *ctr, s64 bytes, unsigned long cap)
{
	s64 now = atomic64_add_return(bytes, ctr);

	if (!cap || now <= 0 || (u64)now <= cap)
		return true;
	atomic64_sub(bytes, ctr);
	return false;
}

/**
 * mtdev_settle() - charge what a map holds now.
 * @a: the map's account.
 *
 * Gives back the reservations of the writes that completed, and charges
 * what the map holds instead: see "charging what a map holds" above.
 *
 * Context: Process context (the RCU read lock may be held); takes
 * @a->lock. Costs a few reads per possible CPU.
 */
void mtdev_settle(struct mtdev_account *a)
{
	s64 reserved, now, diff;

	spin_lock(&a->lock);
	/*
	 * Fully ordered, as mtdev_done() is: a write whose reservation is
	 * taken here had its value and its tree changes seen too.
	 */
	reserved = atomic64_xchg(&a->unsettled, 0);
	a->value_slab += atomic64_xchg(&a->value_delta, 0);
	now = (s64)masstree_bytes(a->tree) + a->value_slab;
	diff = now - a->held - reserved;
	a->held = now;
	atomic64_add(diff, &a->charged);
	atomic64_add(diff, &a->user->bytes);
	atomic64_add(diff, &mtdev_total);
	spin_unlock(&a->lock);
}

/* Settle the maps of @user, or every map (NULL). */
static void mtdev_settle_maps(struct mtdev_user *user)
{
	struct mtdev_account *a;

	mutex_lock(&mtdev_users_lock);
	list_for_each_entry(a, &mtdev_accounts, link)
		if (!user || a->user == user)
			mtdev_settle(a);
	mutex_unlock(&mtdev_users_lock);
}

/* The caps a reservation may pass, in the order they are tried. */
enum mtdev_cap { MTDEV_CAP_MAP, MTDEV_CAP_USER, MTDEV_CAP_TOTAL, MTDEV_CAP_NONE };

/* Reserve @bytes, or say which cap refused them (nothing reserved). */
static enum mtdev_cap mtdev_try_reserve(struct mtdev_account *a, s64 bytes)
{
	if (!mtdev_add_capped(&a->charged, bytes, READ_ONCE(max_map_bytes)))
		return MTDEV_CAP_MAP;
	if (!mtdev_add_capped(&a->user->bytes, bytes, READ_ONCE(max_user_bytes))) {
		atomic64_sub(bytes, &a->charged);
		return MTDEV_CAP_USER;
	}
	if (!mtdev_add_capped(&mtdev_total, bytes, READ_ONCE(max_total_bytes))) {
		atomic64_sub(bytes, &a->user->bytes);
		atomic64_sub(bytes, &a->charged);
		return MTDEV_CAP_TOTAL;
	}
	return MTDEV_CAP_NONE;
}

/**
 * mtdev_reserve() - reserve a write's worst case against the caps.
 * @a: the map's account.
 * @bytes: the most the write may make the map hold.
 *
 * See "charging what a map holds" above: a cap that refuses settles what
 * it counts and judges again, once per cap. Every reservation is handed
 * back with mtdev_done().
 *
 * Context: Process context; may take the users' lock.
 * Return: 0; -ENOSPC over max_map_bytes or max_total_bytes, -EDQUOT over
 * max_user_bytes, with nothing reserved.
 */
int mtdev_reserve(struct mtdev_account *a, s64 bytes)
{
	unsigned int settled = 0;
	enum mtdev_cap cap;

	while ((cap = mtdev_try_reserve(a, bytes)) != MTDEV_CAP_NONE) {
		if (settled & BIT(cap))
			return cap == MTDEV_CAP_USER ? -EDQUOT : -ENOSPC;
		settled |= BIT(cap);
		if (cap == MTDEV_CAP_MAP)
			mtdev_settle(a);
		else
			mtdev_settle_maps(cap == MTDEV_CAP_USER ? a->user : NULL);
	}
	return 0;
}

/**
 * mtdev_done() - end a write: hand in its reservation and its values.
 * @a: the map's account.
 * @reserved: what the write's mtdev_reserve() took (0: none).
 * @value_delta: the write's change to the values' allocations: bytes of
 *	the value it stored, less those of the values it removed.
 *
 * Both stay charged until the map settles (see "charging what a map
 * holds" above), which this does once they pass MTDEV_SETTLE_SLACK.
 *
 * Context: Process context.
 */
void mtdev_done(struct mtdev_account *a, s64 reserved, s64 value_delta)
{
	s64 freed, pending;

	/* Ordered before the reservation: see mtdev_settle(). */
	freed = -atomic64_add_return(value_delta, &a->value_delta);
	pending = atomic64_add_return(reserved, &a->unsettled);
	if (pending > MTDEV_SETTLE_SLACK || freed > MTDEV_SETTLE_SLACK)
		mtdev_settle(a);
}

/**
 * mtdev_value_bytes_add() - count value bytes stored (or, negative, gone).
 * @a: the map's account.
 * @bytes: the values' lengths, as userspace gave them.
 *
 * Context: Any context.
 */
void mtdev_value_bytes_add(struct mtdev_account *a, s64 bytes)
{
	percpu_counter_add_batch(&a->value_bytes, bytes, MTDEV_BYTES_BATCH);
}

/**
 * mtdev_charged() - what a map holds, settled.
 * @a: the map's account.
 *
 * Context: Process context (the RCU read lock may be held); takes
 * @a->lock.
 * Return: the bytes, never negative.
 */
s64 mtdev_charged(struct mtdev_account *a)
{
	mtdev_settle(a);
	return max_t(s64, atomic64_read(&a->charged), 0);
}

/**
 * mtdev_account_stats() - a map's shape, bytes and operation counters.
 * @a: the map's account.
 * @s: filled in, @s->size included; every other field zero (the creator
 *	too: the caller's to fill in). The charge is settled first.
 *
 * Context: Process context (takes the RCU read lock and the counters'
 * locks).
 */
void mtdev_account_stats(struct mtdev_account *a, struct masstree_ioc_stats *s)
{
	u64 n[MTDEV_NR_STATS] = {};
	struct masstree_stats st;
	int cpu, i;

	for_each_possible_cpu(cpu) {
		struct mtdev_op_counts *c = per_cpu_ptr(a->ops, cpu);

		for (i = 0; i < MTDEV_NR_STATS; i++)
			/* Racing this_cpu_inc() is benign: exact when quiet. */
			n[i] += data_race(c->n[i]);
	}
	masstree_get_stats(a->tree, &st);
	memset(s, 0, sizeof(*s));
	s->size = sizeof(*s);
	s->keys = st.keys;
	s->leaves = st.leaves;
	s->internodes = st.internodes;
	s->layers = st.layers;
	s->height = st.height;
	s->node_bytes = st.bytes;
	s->value_bytes = max_t(s64, percpu_counter_sum(&a->value_bytes), 0);
	s->charged_bytes = mtdev_charged(a);
	s->gets = n[MTDEV_STAT_GET];
	s->puts = n[MTDEV_STAT_PUT];
	s->dels = n[MTDEV_STAT_DEL];
	s->cmpxchgs = n[MTDEV_STAT_CMPXCHG];
	s->scans = n[MTDEV_STAT_SCAN];
	s->batches = n[MTDEV_STAT_BATCH];
}

/**
 * mtdev_total_bytes() - bytes charged to all maps together, settled.
 *
 * Context: Process context; takes the users' lock.
 * Return: the bytes.
 */
s64 mtdev_total_bytes(void)
{
	mtdev_settle_maps(NULL);
	return atomic64_read(&mtdev_total);
}

/**
 * mtdev_nr_maps() - how many maps exist, named and anonymous.
 *
 * Context: Any context.
 * Return: the number.
 */
long mtdev_nr_maps(void)
{
	return atomic_long_read(&mtdev_live_maps);
}

/**
 * mtdev_users_show() - one line per uid with maps: its bytes and maps.
 * @sf: the debugfs file.
 *
 * Context: Process context; takes the users' lock.
 */
void mtdev_users_show(struct seq_file *sf)
{
	struct mtdev_user *u;

	mtdev_settle_maps(NULL);
	mutex_lock(&mtdev_users_lock);
	list_for_each_entry(u, &mtdev_users, link)
		seq_printf(sf, "%u %lld %u\n", from_kuid(&init_user_ns, u->uid),
			   (long long)atomic64_read(&u->bytes), u->refs);
	mutex_unlock(&mtdev_users_lock);
}

/**
 * mtdev_caps_init() - settle the module-wide cap's default.
 *
 * Context: Module init.
 */
void mtdev_caps_init(void)
{
	if (max_total_bytes == ULONG_MAX)
		max_total_bytes = (totalram_pages() << PAGE_SHIFT) / 8;
}

/**
 * mtdev_account_exit() - check that every map's account was closed.
 *
 * Context: Module exit, after the last map was freed.
 */
void mtdev_account_exit(void)
{
	WARN_ON_ONCE(atomic_long_read(&mtdev_live_maps));
	WARN_ON_ONCE(!list_empty(&mtdev_users));
	WARN_ON_ONCE(!list_empty(&mtdev_accounts));
	WARN_ON_ONCE(atomic64_read(&mtdev_total));
}
