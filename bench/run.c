// SPDX-License-Identifier: GPL-2.0
/*
 * One timed run: kthreads created, held behind a start barrier, released
 * together; the clock (ktime_get_ns()) runs from the release to the end of
 * the last thread. Insert and erase runs split the key set between the
 * threads; the others run for a duration, each thread cycling through its
 * own pre-drawn stream of operations (so drawing random keys costs nothing
 * inside the timed loop). Every answer is checked.
 */
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/minmax.h>
#include <linux/prandom.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

#include "bench.h"

const char *const mb_workload_names[MB_W_NR] = {
	[MB_W_INSERT] = "insert",
	[MB_W_GET] = "get",
	[MB_W_MIX90] = "mix90",
	[MB_W_MIX50] = "mix50",
	[MB_W_SCAN] = "scan",
	[MB_W_ERASE] = "erase",
};

/* Operations between two cond_resched() calls in the timed loops. */
#define MB_RESCHED_EVERY	256

struct mb_ctx;

/**
 * struct mb_thread - one kthread of a run.
 * @ctx: the run's shared state.
 * @id: 0..threads-1.
 * @task: the kthread.
 * @ops: operations done.
 * @end_ns: ktime_get_ns() when it finished.
 * @errors: wrong answers.
 */
struct mb_thread {
	struct mb_ctx *ctx;
	unsigned int id;
	struct task_struct *task;
	u64 ops;
	u64 end_ns;
	unsigned long errors;
};

/**
 * struct mb_ctx - what the threads of a run share.
 * @run: the run.
 * @ready: threads waiting at the barrier.
 * @all_ready: completed by the last thread to reach the barrier.
 * @start: the barrier: completed once every thread waits at it.
 * @stop: set when a duration run's time is up.
 * @th: the threads.
 *
 * A kthread that kthread_stop() finds not yet running never runs its
 * function: the threads are released only once all of them wait at the
 * barrier, and stopped only after they have finished.
 */
struct mb_ctx {
	const struct mb_run *run;
	atomic_t ready;
	struct completion all_ready;
	struct completion start;
	int stop;
	struct mb_thread th[];
};

static void mb_error(struct mb_thread *t, const char *what, unsigned int i,
		     long got)
{
	const struct mb_run *r = t->ctx->run;

	t->errors++;
	pr_err_ratelimited("masstree_bench: FAIL struct=%s shape=%s workload=%s key=%u: %s (%ld)\n",
			   r->st->name, mb_shapes[r->keys->shape].name,
			   mb_workload_names[r->workload], i, what, got);
}

/* Insert or erase this thread's share of the keys. */
static void mb_thread_keys(struct mb_thread *t)
{
	const struct mb_run *r = t->ctx->run;
	const struct mb_keys *k = r->keys;
	unsigned int lo = (u64)k->nr * t->id / r->threads;
	unsigned int hi = (u64)k->nr * (t->id + 1) / r->threads;
	unsigned int i;

	for (i = lo; i < hi; i++) {
		if (r->workload == MB_W_INSERT) {
			int err = r->st->insert(r->map, mb_key(k, i), k->len,
						mb_entry(i, 0));

			if (err)
				mb_error(t, "insert", i, err);
		} else {
			void *entry = r->st->erase(r->map, mb_key(k, i), k->len);

			if (!mb_entry_ok(entry, i))
				mb_error(t, "erase returned a wrong entry", i,
					 (long)entry);
		}
		if (i % MB_RESCHED_EVERY == 0)
			cond_resched();
	}
	t->ops = hi - lo;
}

/* Gets, stores or scans until the run's time is up. */
static void mb_thread_duration(struct mb_thread *t)
{
	const struct mb_run *r = t->ctx->run;
	const struct mb_struct *st = r->st;
	const struct mb_keys *k = r->keys;
	const u32 *stream = r->streams[t->id];
	u64 n;

	for (n = 0; !READ_ONCE(t->ctx->stop); n++) {
		u32 op = stream[n & (r->stream_len - 1)];
		unsigned int i = op & ~MB_OP_STORE;
		const u8 *key = mb_key(k, i);
		void *entry, *old;

		if (r->workload == MB_W_SCAN) {
			unsigned int want = min(k->nr - k->rank[i], MB_SCAN_LEN);
			unsigned int got = st->scan(r->map, key, k->len,
						    MB_SCAN_LEN, &entry);

			if (got != want)
				mb_error(t, "scan length", i, got);
			else if (!mb_entry_ok(entry, i))
				mb_error(t, "scan: wrong first entry", i,
					 (long)entry);
		} else if (op & MB_OP_STORE) {
			int err = st->store(r->map, key, k->len,
					    mb_entry(i, n), &old);

			if (err)
				mb_error(t, "store", i, err);
			else if (old && !mb_entry_ok(old, i))
				mb_error(t, "store: wrong old entry", i,
					 (long)old);
			else if (!old && !st->store_no_old)
				mb_error(t, "store: key was absent", i, 0);
		} else {
			entry = st->load(r->map, key, k->len);
			if (!mb_entry_ok(entry, i))
				mb_error(t, "get", i, (long)entry);
		}
		if (n % MB_RESCHED_EVERY == 0)
			cond_resched();
	}
	t->ops = n;
}

static int mb_threadfn(void *arg)
{
	struct mb_thread *t = arg;

	if (atomic_dec_and_test(&t->ctx->ready))
		complete(&t->ctx->all_ready);
	wait_for_completion(&t->ctx->start);
	if (READ_ONCE(t->ctx->stop))
		;	/* released after a failure: nothing to do */
	else if (t->ctx->run->workload == MB_W_INSERT ||
		 t->ctx->run->workload == MB_W_ERASE)
		mb_thread_keys(t);
	else
		mb_thread_duration(t);
	t->end_ns = ktime_get_ns();
	/* Stay until kthread_stop(), so the task is still ours to reap. */
	set_current_state(TASK_INTERRUPTIBLE);
	while (!kthread_should_stop()) {
		schedule();
		set_current_state(TASK_INTERRUPTIBLE);
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

/* Draw each thread's stream: key indexes, some marked as stores. */
static void mb_draw_streams(const struct mb_run *r)
{
	unsigned int store_pct = r->workload == MB_W_MIX90 ? 10 :
				 r->workload == MB_W_MIX50 ? 50 : 0;
	unsigned int t, j;

	for (t = 0; t < r->threads; t++) {
		struct rnd_state rnd;
		u32 *s = r->streams[t];

		prandom_seed_state(&rnd, r->seed + 0x9e3779b97f4a7c15ULL * (t + 1) +
				   r->workload);
		for (j = 0; j < r->stream_len; j++) {
			u32 a = prandom_u32_state(&rnd);
			u32 b = prandom_u32_state(&rnd);

			s[j] = r->zipf ? mb_zipf_draw(r->zipf, a, b) :
					 reciprocal_scale(a, r->keys->nr);
			if (reciprocal_scale(b, 100) < store_pct)
				s[j] |= MB_OP_STORE;
		}
	}
}

/**
 * mb_run() - do one timed run.
 * @run: what to run; insert runs need an empty map, the others a full one.
 * @res: what it measured.
 *
 * Context: Process context; sleeps.
 * Return: 0 (wrong answers are counted in @res->errors), or -errno if the
 * threads could not be started.
 */
int mb_run(const struct mb_run *run, struct mb_result *res)
{
	struct mb_ctx *ctx;
	unsigned int i, started = 0;
	u64 t0, end = 0;
	int err = 0;

	memset(res, 0, sizeof(*res));
	ctx = kzalloc(struct_size(ctx, th, run->threads), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	ctx->run = run;
	atomic_set(&ctx->ready, run->threads);
	init_completion(&ctx->all_ready);
	init_completion(&ctx->start);
	if (run->workload != MB_W_INSERT && run->workload != MB_W_ERASE)
		mb_draw_streams(run);

	for (i = 0; i < run->threads; i++) {
		struct mb_thread *t = &ctx->th[i];

		t->ctx = ctx;
		t->id = i;
		t->task = kthread_create(mb_threadfn, t, "masstree_bench/%u", i);
		if (IS_ERR(t->task)) {
			err = PTR_ERR(t->task);
			break;
		}
		get_task_struct(t->task);
		wake_up_process(t->task);
		started++;
	}
	if (err) {
		/* Release those that started, with nothing left to do. */
		WRITE_ONCE(ctx->stop, 1);
		complete_all(&ctx->start);
		for (i = 0; i < started; i++) {
			kthread_stop(ctx->th[i].task);
			put_task_struct(ctx->th[i].task);
		}
		kfree(ctx);
		return err;
	}
	wait_for_completion(&ctx->all_ready);
	t0 = ktime_get_ns();
	complete_all(&ctx->start);
	if (run->workload != MB_W_INSERT && run->workload != MB_W_ERASE) {
		msleep(run->duration_ms);
		WRITE_ONCE(ctx->stop, 1);
	}
	for (i = 0; i < started; i++) {
		struct mb_thread *t = &ctx->th[i];

		kthread_stop(t->task);
		put_task_struct(t->task);
		res->ops += t->ops;
		res->errors += t->errors;
		end = max(end, t->end_ns);
	}
	res->ns = end > t0 ? end - t0 : 1;
	kfree(ctx);
	return 0;
}
