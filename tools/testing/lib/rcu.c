// SPDX-License-Identifier: GPL-2.0
/*
 * RCU for the userspace build: liburcu's memb flavour, plus annotations
 * that tell ThreadSanitizer what a grace period means (Debian's liburcu
 * 0.13 has none): the end of every read-side critical section happens
 * before the callbacks that run after it, and call_rcu() happens before
 * its callback.
 *
 * This file does not include shim.h, whose struct rcu_head is the
 * kernel's; struct shim_cb mirrors its layout.
 */
#include <assert.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <urcu/urcu-memb.h>

#if defined(__SANITIZE_THREAD__)
#define SHIM_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SHIM_TSAN 1
#endif
#endif

#ifdef SHIM_TSAN
#include <sanitizer/tsan_interface.h>
#else
static inline void __tsan_acquire(void *addr) { (void)addr; }
static inline void __tsan_release(void *addr) { (void)addr; }
#endif

struct shim_cb {
	struct shim_cb *next;
	void (*func)(struct shim_cb *head);
	void *urcu_space[2];
};

static_assert(sizeof(struct rcu_head) <=
	      sizeof(((struct shim_cb *)0)->urcu_space),
	      "liburcu's rcu_head does not fit");

/* Every read-side critical section releases this; grace periods acquire. */
static char shim_gp;

/*
 * Callbacks queued and not yet run. Every callback of the core frees one
 * allocation, so a caller can check for leaks without waiting for a
 * grace period: see tools/testing/tests/fuzz.c.
 */
long shim_rcu_pending;

void rcu_read_lock(void)
{
	urcu_memb_read_lock();
}

void rcu_read_unlock(void)
{
	__tsan_release(&shim_gp);
	urcu_memb_read_unlock();
}

static void shim_rcu_cb(struct rcu_head *uhead)
{
	struct shim_cb *head = (struct shim_cb *)((char *)uhead -
					offsetof(struct shim_cb, urcu_space));

	__tsan_acquire(head);
	__tsan_acquire(&shim_gp);
	head->func(head);
	__atomic_fetch_sub(&shim_rcu_pending, 1, __ATOMIC_RELEASE);
}

/*
 * While shim_rcu_defer is set (the benchmark's --callgrind mode),
 * call_rcu() only pushes the callback on a list of its own, linked
 * through head->next, which liburcu does not use; shim_rcu_flush() hands
 * the list to liburcu. No grace period then runs, and liburcu's
 * callback thread is never woken, inside the measured calls: their
 * instruction counts do not depend on how the threads were scheduled.
 */
bool shim_rcu_defer;
static struct shim_cb *shim_rcu_deferred;

void call_rcu(struct shim_cb *head, void (*func)(struct shim_cb *))
{
	head->func = func;
	__atomic_fetch_add(&shim_rcu_pending, 1, __ATOMIC_RELAXED);
	__tsan_release(head);
	if (__atomic_load_n(&shim_rcu_defer, __ATOMIC_RELAXED)) {
		head->next = __atomic_load_n(&shim_rcu_deferred, __ATOMIC_RELAXED);
		while (!__atomic_compare_exchange_n(&shim_rcu_deferred, &head->next,
						    head, true, __ATOMIC_RELEASE,
						    __ATOMIC_RELAXED))
			;
		return;
	}
	urcu_memb_call_rcu((struct rcu_head *)head->urcu_space, shim_rcu_cb);
}

/* Queue the deferred callbacks, oldest first, as call_rcu() would have. */
void shim_rcu_flush(void)
{
	struct shim_cb *head, *prev = NULL, *next;

	head = __atomic_exchange_n(&shim_rcu_deferred, NULL, __ATOMIC_ACQUIRE);
	for (; head; head = next) {
		next = head->next;
		head->next = prev;
		prev = head;
	}
	for (head = prev; head; head = next) {
		next = head->next;
		urcu_memb_call_rcu((struct rcu_head *)head->urcu_space, shim_rcu_cb);
	}
}

/*
 * rcu_barrier() without urcu_memb_barrier(), whose uninstrumented
 * completion handoff TSan reports: all call_rcu() users share liburcu's
 * default callback thread, which runs callbacks in order, so a sentinel
 * queued last runs after every earlier callback.
 */
struct shim_barrier {
	struct rcu_head head;
	int done;
};

static void shim_barrier_cb(struct rcu_head *head)
{
	struct shim_barrier *b = (struct shim_barrier *)head;

	__tsan_acquire(b);
	__atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
}

void rcu_barrier(void)
{
	struct shim_barrier b = { .done = 0 };

	__tsan_release(&b);
	urcu_memb_call_rcu(&b.head, shim_barrier_cb);
	while (!__atomic_load_n(&b.done, __ATOMIC_ACQUIRE))
		sched_yield();
	__tsan_acquire(&shim_gp);
}

void synchronize_rcu(void)
{
	urcu_memb_synchronize_rcu();
	__tsan_acquire(&shim_gp);
}

void rcu_register_thread(void)
{
	urcu_memb_register_thread();
}

void rcu_unregister_thread(void)
{
	urcu_memb_unregister_thread();
}
