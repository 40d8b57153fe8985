// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of concurrent writers and readers, with kthreads (more
 * threads than CPUs) released together. Each case asserts that the race it
 * is about happened, through masstree's test counters, and widens the
 * race windows with the test hook (busy-waiting: the hook runs with node
 * locks held and interrupts off, so it must not sleep).
 */
#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/masstree.h>
#include <linux/module.h>
#include <linux/prandom.h>
#include <linux/sched.h>
#include <linux/sched/task.h>

#include "masstree_test.h"

#define CT_THREADS	4
/*
 * Operations per thread, sized for a TCG guest: under KASAN each case
 * still sees its race thousands of times (the counters it asserts on),
 * and the (much slower) KCSAN kernel gets a third of that.
 */
#define CT_OPS		(IS_ENABLED(CONFIG_KCSAN) ? 4000 : 12000)
#define CT_KEYLEN	24

/*
 * Every CT_HOOK_EVERY-th read hook call busy-waits CT_HOOK_DELAY_US; every
 * split hook call busy-waits CT_SPLIT_DELAY_US, while the split leaf is
 * dirty and its parent does not know the new sibling yet: walkers that
 * chose the leaf meanwhile must follow its B-link.
 */
#define CT_HOOK_EVERY	4
#define CT_HOOK_DELAY_US	20
#define CT_SPLIT_DELAY_US	200
/* How long a case may keep going until the race it aims at happens. */
#define CT_RACE_DEADLINE	(20 * HZ)

static atomic_t ct_hook_calls;
static unsigned int ct_hook_mask;

static void ct_hook(enum masstree_test_hook_point where)
{
	if (!(READ_ONCE(ct_hook_mask) & (1U << where)))
		return;
	if (where == MASSTREE_HOOK_SPLIT)
		udelay(CT_SPLIT_DELAY_US);
	else if (atomic_inc_return(&ct_hook_calls) % CT_HOOK_EVERY == 0)
		udelay(CT_HOOK_DELAY_US);
}

static void ct_hook_set(unsigned int mask)
{
	WRITE_ONCE(ct_hook_mask, mask);
	WRITE_ONCE(masstree_test_hook, mask ? ct_hook : NULL);
	/* A hook call that began before the change has finished after this. */
	synchronize_rcu();
}

struct ct_ctx;

/**
 * struct ct_thread - one kthread.
 * @ctx: the case.
 * @id: 0..CT_THREADS-1.
 * @task: the kthread.
 * @errors: wrong answers it saw.
 * @ops: operations it did.
 */
struct ct_thread {
	struct ct_ctx *ctx;
	unsigned int id;
	struct task_struct *task;
	unsigned long errors;
	unsigned long ops;
};

/**
 * struct ct_ctx - a concurrency case.
 * @fx: the map (first: mtt_exit() destroys it).
 * @fn: what each thread runs.
 * @start: released when every thread exists.
 * @writers_left: writers still running; readers loop until it is 0.
 * @next: the next key index to hand out: threads that take keys in turn
 *	from it work on neighbouring keys, in the same leaves, at once.
 * @nkeys: size of the key space.
 * @group: keys per first slice for the threads that take keys in turn.
 * @th: the threads.
 */
struct ct_ctx {
	struct mtt_fixture fx;
	void (*fn)(struct ct_thread *t);
	struct completion start;
	atomic_t writers_left;
	atomic_t next;
	unsigned int nkeys;
	unsigned int group;
	struct ct_thread th[CT_THREADS];
};

/*
 * Key @i: a 24-byte key whose first slice holds i / 4 and whose second
 * slice holds i % 4: four keys share each first slice and all continue, so
 * each first slice becomes a layer (created while others read it).
 */
static void ct_key_grouped(u8 *key, unsigned int i, unsigned int group)
{
	memset(key, 'k', CT_KEYLEN);
	mtt_key64(key, i / group);
	mtt_key64(key + 8, i % group);
}

static void ct_key(u8 *key, unsigned int i)
{
	ct_key_grouped(key, i, 4);
}

static int ct_threadfn(void *arg)
{
	struct ct_thread *t = arg;

	wait_for_completion(&t->ctx->start);
	t->ctx->fn(t);
	mtt_park();
	return 0;
}

/* Run @fn on CT_THREADS kthreads released at once; 0 or -errno. */
static int ct_run(struct kunit *test, struct ct_ctx *ctx,
		  void (*fn)(struct ct_thread *t), unsigned int writers)
{
	unsigned int i, started = 0;
	int err = 0;

	ctx->fn = fn;
	init_completion(&ctx->start);
	atomic_set(&ctx->writers_left, writers);
	atomic_set(&ctx->next, 0);
	for (i = 0; i < CT_THREADS; i++) {
		struct ct_thread *t = &ctx->th[i];

		t->ctx = ctx;
		t->id = i;
		t->errors = 0;
		t->ops = 0;
		t->task = kthread_run(ct_threadfn, t, "masstree_ct/%u", i);
		if (IS_ERR(t->task)) {
			err = PTR_ERR(t->task);
			break;
		}
		get_task_struct(t->task);
		started++;
	}
	/* Even on error, release the ones that started before stopping them. */
	complete_all(&ctx->start);
	for (i = 0; i < started; i++) {
		kthread_stop(ctx->th[i].task);
		put_task_struct(ctx->th[i].task);
	}
	if (err)
		KUNIT_FAIL(test, "kthread_run: %d", err);
	return err;
}

static unsigned long ct_errors(struct ct_ctx *ctx)
{
	unsigned long sum = 0;
	unsigned int i;

	for (i = 0; i < CT_THREADS; i++)
		sum += ctx->th[i].errors;
	return sum;
}

static int ct_init(struct kunit *test)
{
	struct ct_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);

	if (!ctx)
		return -ENOMEM;
	masstree_init(&ctx->fx.mt, 0);
	mtt_settled_nodes(&ctx->fx.nodes);
	test->priv = ctx;
	return 0;
}

static void ct_exit(struct kunit *test)
{
	struct ct_ctx *ctx = test->priv;

	ct_hook_set(0);
	masstree_destroy(&ctx->fx.mt);
}

static void ct_counters(unsigned long *c)
{
	unsigned int i;

	for (i = 0; i < MASSTREE_TC_NR; i++)
		c[i] = masstree_test_counter(i);
}

/* Growth of counter @which since @before. */
static unsigned long ct_since(const unsigned long *before,
			      enum masstree_test_counter which)
{
	return masstree_test_counter(which) - before[which];
}

/* Report the counters' growth; return that of @which. */
static unsigned long ct_grew(struct kunit *test, const unsigned long *before,
			     enum masstree_test_counter which)
{
	unsigned long now[MASSTREE_TC_NR];

	ct_counters(now);
	kunit_info(test, "read retries %lu, B-link follows %lu, split rechecks %lu, layer retries %lu",
		   now[MASSTREE_TC_READ_RETRY] - before[MASSTREE_TC_READ_RETRY],
		   now[MASSTREE_TC_BLINK] - before[MASSTREE_TC_BLINK],
		   now[MASSTREE_TC_SPLIT_RECHECK] - before[MASSTREE_TC_SPLIT_RECHECK],
		   now[MASSTREE_TC_LAYER_RETRY] - before[MASSTREE_TC_LAYER_RETRY]);
	return now[which] - before[which];
}

/* The next key index for @t, or -1 when all were handed out. */
static int ct_next(struct ct_thread *t)
{
	int i = atomic_inc_return(&t->ctx->next) - 1;

	return i < t->ctx->nkeys ? i : -1;
}

/* (a) The threads insert keys 0, 1, 2... in turn: the same leaves at once. */
static void ct_insert_interleaved(struct ct_thread *t)
{
	struct masstree *mt = &t->ctx->fx.mt;
	u8 key[CT_KEYLEN];
	int i;

	while ((i = ct_next(t)) >= 0) {
		ct_key_grouped(key, i, t->ctx->group);
		if (masstree_insert(mt, key, CT_KEYLEN, mtt_entry(i), GFP_KERNEL))
			t->errors++;
		t->ops++;
		if (i % 64 == 0)
			cond_resched();
	}
}

static void masstree_concurrent_inserts_lose_no_key(struct kunit *test)
{
	struct ct_ctx *ctx = test->priv;
	struct masstree *mt = &ctx->fx.mt;
	unsigned long before[MASSTREE_TC_NR];
	struct masstree_stats st;
	unsigned int i, missing = 0;
	u8 key[CT_KEYLEN];

	ctx->nkeys = CT_THREADS * CT_OPS;
	ctx->group = 4;
	ct_counters(before);
	ct_hook_set(1U << MASSTREE_HOOK_SPLIT | 1U << MASSTREE_HOOK_READ);
	KUNIT_ASSERT_EQ(test, ct_run(test, ctx, ct_insert_interleaved, CT_THREADS), 0);
	ct_hook_set(0);
	KUNIT_EXPECT_EQ(test, ct_errors(ctx), 0UL);
	for (i = 0; i < ctx->nkeys; i++) {
		ct_key(key, i);
		if (masstree_load(mt, key, CT_KEYLEN) != mtt_entry(i) && !missing++)
			KUNIT_FAIL(test, "key %u lost", i);
	}
	KUNIT_EXPECT_EQ(test, missing, 0U);
	masstree_get_stats(mt, &st);
	KUNIT_EXPECT_EQ(test, st.keys, (unsigned long)ctx->nkeys);
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
	KUNIT_EXPECT_GT(test, ct_grew(test, before, MASSTREE_TC_BLINK), 0UL);
}

/*
 * (b) Keys 8j (stable) are inserted first and never touched; writers
 * insert and erase every other key around them (splits, and layers
 * created and removed beside the stable keys: they share first slices);
 * readers load the stable keys and must always find them, and find any
 * other key either absent or with its own entry.
 */
static void ct_churn_around_stable(struct ct_thread *t)
{
	unsigned long base = masstree_test_counter(MASSTREE_TC_READ_RETRY);
	unsigned long deadline = jiffies + CT_RACE_DEADLINE;
	struct ct_ctx *ctx = t->ctx;
	struct masstree *mt = &ctx->fx.mt;
	u8 key[CT_KEYLEN];
	unsigned int i, round;

	/*
	 * Two rounds, then more until a reader has been caught mid-read (on
	 * 2 vCPUs the scheduler may keep readers and writers apart for a
	 * while), up to a deadline: the case asserts that the race happened.
	 */
	for (round = 0; round < 2 ||
	     (masstree_test_counter(MASSTREE_TC_READ_RETRY) == base &&
	      time_before(jiffies, deadline)); round++) {
		for (i = t->id; i < ctx->nkeys; i += 2) {
			if (i % 8 == 0)
				continue;
			ct_key(key, i);
			if (masstree_insert(mt, key, CT_KEYLEN, mtt_entry(i), GFP_KERNEL))
				t->errors++;
			t->ops++;
		}
		cond_resched();
		for (i = t->id; i < ctx->nkeys; i += 2) {
			if (i % 8 == 0)
				continue;
			ct_key(key, i);
			if (masstree_erase(mt, key, CT_KEYLEN) != mtt_entry(i))
				t->errors++;
			t->ops++;
		}
		cond_resched();
	}
	atomic_dec(&ctx->writers_left);
}

static void ct_read_stable(struct ct_thread *t)
{
	struct ct_ctx *ctx = t->ctx;
	struct masstree *mt = &ctx->fx.mt;
	u8 key[CT_KEYLEN];
	unsigned int i = t->id;
	void *got;

	while (atomic_read(&ctx->writers_left) > 0) {
		i = (i + 7) % ctx->nkeys;
		ct_key(key, i);
		got = masstree_load(mt, key, CT_KEYLEN);
		if (i % 8 == 0 ? got != mtt_entry(i) : got && got != mtt_entry(i))
			t->errors++;
		t->ops++;
		if (t->ops % 256 == 0)
			cond_resched();
	}
}

static void ct_mixed_b(struct ct_thread *t)
{
	if (t->id < 2)
		ct_churn_around_stable(t);
	else
		ct_read_stable(t);
}

static void masstree_readers_find_stable_keys_during_splits(struct kunit *test)
{
	struct ct_ctx *ctx = test->priv;
	struct masstree *mt = &ctx->fx.mt;
	unsigned long before[MASSTREE_TC_NR];
	struct masstree_stats st;
	u8 key[CT_KEYLEN];
	unsigned int i;

	ctx->nkeys = CT_OPS;
	for (i = 0; i < ctx->nkeys; i += 8) {
		ct_key(key, i);
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, key, CT_KEYLEN, mtt_entry(i),
						      GFP_KERNEL), 0);
	}
	ct_counters(before);
	ct_hook_set(1U << MASSTREE_HOOK_SPLIT | 1U << MASSTREE_HOOK_READ);
	KUNIT_ASSERT_EQ(test, ct_run(test, ctx, ct_mixed_b, 2), 0);
	ct_hook_set(0);
	kunit_info(test, "reader loads: %lu, %lu", ctx->th[2].ops, ctx->th[3].ops);
	KUNIT_EXPECT_EQ(test, ct_errors(ctx), 0UL);
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
	masstree_get_stats(mt, &st);
	KUNIT_EXPECT_EQ(test, st.keys, (unsigned long)ctx->nkeys / 8);
	KUNIT_EXPECT_GT(test, ct_grew(test, before, MASSTREE_TC_READ_RETRY), 0UL);
}

/*
 * (c) Every thread inserts, stores, cmpxchgs and erases random keys of
 * a small shared set; an answer must always be an entry of the same key.
 */
static void ct_churn_shared(struct ct_thread *t)
{
	struct masstree *mt = &t->ctx->fx.mt;
	struct rnd_state rnd;
	u8 key[CT_KEYLEN];
	unsigned int n;
	void *got;

	prandom_seed_state(&rnd, 0xc0ffee + t->id);
	for (n = 0; n < CT_OPS; n++) {
		u32 r = prandom_u32_state(&rnd);
		unsigned int i = r % t->ctx->nkeys;
		void *mine = mtt_entry(i);

		ct_key(key, i);
		switch ((r >> 24) % 4) {
		case 0:
			got = masstree_store(mt, key, CT_KEYLEN, mine, GFP_KERNEL);
			break;
		case 1:
			got = masstree_cmpxchg(mt, key, CT_KEYLEN, NULL, mine, GFP_KERNEL);
			break;
		case 2:
			got = masstree_erase(mt, key, CT_KEYLEN);
			break;
		default:
			got = masstree_load(mt, key, CT_KEYLEN);
			break;
		}
		if (got && got != mine)
			t->errors++;
		t->ops++;
		if (n % 64 == 0)
			cond_resched();
	}
}

static void masstree_insert_erase_churn_on_shared_keys(struct kunit *test)
{
	struct ct_ctx *ctx = test->priv;
	struct masstree *mt = &ctx->fx.mt;
	unsigned long before[MASSTREE_TC_NR];
	struct masstree_stats st;
	unsigned int i, present = 0;
	u8 key[CT_KEYLEN];
	void *got;

	ctx->nkeys = 256;
	ct_counters(before);
	ct_hook_set(1U << MASSTREE_HOOK_READ);
	KUNIT_ASSERT_EQ(test, ct_run(test, ctx, ct_churn_shared, CT_THREADS), 0);
	ct_hook_set(0);
	KUNIT_EXPECT_EQ(test, ct_errors(ctx), 0UL);
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
	for (i = 0; i < ctx->nkeys; i++) {
		ct_key(key, i);
		got = masstree_load(mt, key, CT_KEYLEN);
		KUNIT_EXPECT_TRUE(test, !got || got == mtt_entry(i));
		present += !!got;
	}
	masstree_get_stats(mt, &st);
	KUNIT_EXPECT_EQ(test, st.keys, (unsigned long)present);
	KUNIT_EXPECT_GT(test, ct_grew(test, before, MASSTREE_TC_READ_RETRY), 0UL);
}

/* (d) Two threads erase keys 0, 1, 2... in turn while two read. */
static void ct_erase_interleaved(struct ct_thread *t)
{
	struct masstree *mt = &t->ctx->fx.mt;
	u8 key[CT_KEYLEN];
	int i;

	while ((i = ct_next(t)) >= 0) {
		ct_key(key, i);
		if (masstree_erase(mt, key, CT_KEYLEN) != mtt_entry(i))
			t->errors++;
		t->ops++;
		if (i % 64 == 0)
			cond_resched();
	}
	atomic_dec(&t->ctx->writers_left);
}

/* Readers load the keys at the erase front: leaves and layers going away. */
static void ct_read_erase_front(struct ct_thread *t)
{
	struct ct_ctx *ctx = t->ctx;
	u8 key[CT_KEYLEN];
	unsigned int i;
	void *got;

	while (atomic_read(&ctx->writers_left) > 0) {
		i = atomic_read(&ctx->next) + t->ops % 8;
		ct_key(key, i);
		got = masstree_load(&ctx->fx.mt, key, CT_KEYLEN);
		if (got && got != mtt_entry(i))
			t->errors++;
		t->ops++;
		if (t->ops % 256 == 0)
			cond_resched();
	}
}

static void ct_mixed_d(struct ct_thread *t)
{
	if (t->id < 2)
		ct_erase_interleaved(t);
	else
		ct_read_erase_front(t);
}

static void masstree_concurrent_erase_all_returns_to_empty(struct kunit *test)
{
	struct ct_ctx *ctx = test->priv;
	struct masstree *mt = &ctx->fx.mt;
	unsigned long before[MASSTREE_TC_NR];
	u8 key[CT_KEYLEN];
	unsigned int i;

	ctx->nkeys = CT_THREADS * CT_OPS / 2;
	for (i = 0; i < ctx->nkeys; i++) {
		ct_key(key, i);
		KUNIT_ASSERT_EQ(test, masstree_insert(mt, key, CT_KEYLEN, mtt_entry(i),
						      GFP_KERNEL), 0);
	}
	KUNIT_ASSERT_EQ(test, masstree_validate(mt), 0);
	ct_counters(before);
	ct_hook_set(1U << MASSTREE_HOOK_READ);
	KUNIT_ASSERT_EQ(test, ct_run(test, ctx, ct_mixed_d, 2), 0);
	ct_hook_set(0);
	KUNIT_EXPECT_EQ(test, ct_errors(ctx), 0UL);
	mtt_expect_all_freed(test);
	KUNIT_EXPECT_GT(test, ct_grew(test, before, MASSTREE_TC_READ_RETRY), 0UL);
	/* Walks that reached a layer or leaf after its erase deleted it. */
	KUNIT_EXPECT_GT(test, ct_since(before, MASSTREE_TC_LAYER_RETRY), 0UL);
}

/*
 * (e) Key @i of a layer that fills up: the first slice holds
 * i / CT_LAYER_KEYS and the second i % CT_LAYER_KEYS, so every first
 * slice is a layer whose root leaf splits in place at its 16th key (the
 * root grows into an internode) while the other threads insert its last
 * keys (so the split must not come with the layer's last key):
 * a writer that found the root leaf and waits for its lock must see, once
 * it has it, that the node is no longer a leaf, and walk down again
 * (mst_lock_leaf()'s split recheck). The splitter holds the root locked,
 * not yet dirty, while it fills the two new leaves: walks that read the
 * root meanwhile validate and then wait for the lock.
 */
#define CT_LAYER_KEYS	20
/* More keys than the other cases: each layer's root splits only once. */
#define CT_LAYER_OPS	(IS_ENABLED(CONFIG_KCSAN) ? 10000 : 12000)

static void masstree_concurrent_root_splits_recheck(struct kunit *test)
{
	struct ct_ctx *ctx = test->priv;
	struct masstree *mt = &ctx->fx.mt;
	unsigned long before[MASSTREE_TC_NR];
	struct masstree_stats st;
	unsigned int i, missing = 0;
	u8 key[CT_KEYLEN];

	ctx->nkeys = CT_THREADS * CT_LAYER_OPS;
	ctx->group = CT_LAYER_KEYS;
	ct_counters(before);
	ct_hook_set(1U << MASSTREE_HOOK_SPLIT);
	KUNIT_ASSERT_EQ(test, ct_run(test, ctx, ct_insert_interleaved, CT_THREADS), 0);
	ct_hook_set(0);
	KUNIT_EXPECT_EQ(test, ct_errors(ctx), 0UL);
	for (i = 0; i < ctx->nkeys; i++) {
		ct_key_grouped(key, i, CT_LAYER_KEYS);
		if (masstree_load(mt, key, CT_KEYLEN) != mtt_entry(i) && !missing++)
			KUNIT_FAIL(test, "key %u lost", i);
	}
	KUNIT_EXPECT_EQ(test, missing, 0U);
	masstree_get_stats(mt, &st);
	KUNIT_EXPECT_EQ(test, st.keys, (unsigned long)ctx->nkeys);
	KUNIT_EXPECT_EQ(test, st.layers, 1UL + ctx->nkeys / CT_LAYER_KEYS);
	KUNIT_EXPECT_EQ(test, masstree_validate(mt), 0);
	KUNIT_EXPECT_GT(test, ct_grew(test, before, MASSTREE_TC_SPLIT_RECHECK), 0UL);
}

static struct kunit_case masstree_concurrency_cases[] = {
	KUNIT_CASE(masstree_concurrent_inserts_lose_no_key),
	KUNIT_CASE(masstree_readers_find_stable_keys_during_splits),
	KUNIT_CASE(masstree_insert_erase_churn_on_shared_keys),
	KUNIT_CASE(masstree_concurrent_erase_all_returns_to_empty),
	KUNIT_CASE(masstree_concurrent_root_splits_recheck),
	{}
};

static struct kunit_suite masstree_concurrency_suite = {
	.name = "masstree_concurrency",
	.init = ct_init,
	.exit = ct_exit,
	.test_cases = masstree_concurrency_cases,
};

kunit_test_suite(masstree_concurrency_suite);

MODULE_DESCRIPTION("KUnit tests of masstree under concurrent writers and readers");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
