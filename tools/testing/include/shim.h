/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel API the masstree core uses, for a userspace build: GCC
 * atomics for the memory model, liburcu for RCU (tools/testing/lib/rcu.c),
 * no-op lockdep and preemption, and a counting allocator that can fail the
 * Nth allocation (tools/testing/lib/alloc.c). Written for this project;
 * every header under tools/testing/include/linux includes this one.
 */
#ifndef _MASSTREE_TOOLS_SHIM_H
#define _MASSTREE_TOOLS_SHIM_H

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_64BIT 1

/*
 * IS_ENABLED(CONFIG_FOO) as in <linux/kconfig.h>: 1 if CONFIG_FOO is
 * defined to 1, else 0; usable in #if.
 */
#define __ARG_PLACEHOLDER_1 0,
#define __take_second_arg(__ignored, val, ...) val
#define __is_defined(x)			___is_defined(x)
#define ___is_defined(val)		____is_defined(__ARG_PLACEHOLDER_##val)
#define ____is_defined(arg1_or_junk)	__take_second_arg(arg1_or_junk 1, 0)
#define IS_ENABLED(...)			__is_defined(__VA_ARGS__)

#define __bitwise

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;
/* The uapi header's types: <linux/masstree.h> includes it. */
typedef uint32_t __u32;
typedef uint64_t __u64;
typedef int64_t __s64;
typedef unsigned int __bitwise gfp_t;

#define GFP_KERNEL	0x1u
#define GFP_NOWAIT	0x2u
#define GFP_ATOMIC	0x4u
#define gfpflags_allow_blocking(gfp)	(!!((gfp) & GFP_KERNEL))

#define __rcu
#define __percpu
#define __GFP_NOWARN	0x8u
#define __GFP_ACCOUNT	0x10u
#define __force
#define __init
#define __exit
#define likely(x)	__builtin_expect(!!(x), 1)
#define noinline	__attribute__((__noinline__))
/* As the kernel's: no stack zeroing for a variable its code fills. */
#if __has_attribute(__uninitialized__)
#define __uninitialized	__attribute__((__uninitialized__))
#else
#define __uninitialized
#endif
#define unlikely(x)	__builtin_expect(!!(x), 0)
#define MAX_ERRNO	4095

/* One program, no modules: exporting a symbol does nothing. */
#define EXPORT_SYMBOL_GPL(sym)		extern int shim_export_##sym
/* Tests link with the core: symbols exported for KUnit are visible. */
#define EXPORT_SYMBOL_IF_KUNIT(sym)	extern int shim_export_##sym

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#define min_t(type, a, b) ({						\
	type __a = (a), __b = (b);					\
									\
	__a < __b ? __a : __b;						\
})
#define BIT(n)		(1UL << (n))
#define U64_MAX		(~0ULL)
#define GENMASK_ULL(h, l)	(((~0ULL) << (l)) & (~0ULL >> (63 - (h))))
#define BUILD_BUG_ON(c)		_Static_assert(!(c), #c)
#define static_assert(c)	_Static_assert(c, #c)
#define struct_size_t(type, member, n) \
	(sizeof(type) + (size_t)(n) * sizeof(((type *)0)[0].member[0]))
#define ALIGN(x, a) ({						\
	__typeof__(x) __mask = (__typeof__(x))(a) - 1;			\
									\
	((x) + __mask) & ~__mask;					\
})
#define L1_CACHE_BYTES	64
#define struct_size(p, member, n) \
	(sizeof((p)[0]) + (size_t)(n) * sizeof((p)[0].member[0]))
#define min(a, b) ({							\
	__typeof__(a) __a = (a);					\
	__typeof__(b) __b = (b);					\
									\
	__a < __b ? __a : __b;						\
})

/*
 * Memory model: the kernel's barriers mapped onto C11 fences and atomics,
 * each at least as strong as the kernel's guarantee.
 */
static inline void barrier(void)
{
	__asm__ __volatile__("" : : : "memory");
}

/* Full barrier: orders all earlier accesses before all later ones. */
static inline void smp_mb(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Read barrier: an acquire fence orders earlier loads before later loads. */
static inline void smp_rmb(void)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
}

/* Write barrier: a release fence orders earlier stores before later ones. */
static inline void smp_wmb(void)
{
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
/* Acquire load and release store: pair with each other. */
#define smp_load_acquire(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)
/* Release store: pairs with smp_load_acquire(). */
#define smp_store_release(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define try_cmpxchg_acquire(p, oldp, new)				\
	__atomic_compare_exchange_n((p), (oldp), (new), false,		\
				    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)
/* The kernel's cmpxchg() family: returns the old value; @order on success. */
#define shim_cmpxchg(p, old, new, order) ({				\
	__typeof__(p) __p = (p);					\
	__typeof__(*__p) __old = (old);					\
									\
	__atomic_compare_exchange_n(__p, &__old, (new), false,		\
				    (order), __ATOMIC_RELAXED);		\
	__old;								\
})
#define cmpxchg(p, old, new)	shim_cmpxchg(p, old, new, __ATOMIC_SEQ_CST)
#define cmpxchg_release(p, old, new) shim_cmpxchg(p, old, new, __ATOMIC_RELEASE)
/* No ordering: only scripts/mutate's root-publish-relaxed uses it. */
#define cmpxchg_relaxed(p, old, new) shim_cmpxchg(p, old, new, __ATOMIC_RELAXED)
#define cpu_relax()		sched_yield()

struct shim_atomic_long {
	long counter;
};

#define atomic_long_t		struct shim_atomic_long
#define atomic_long_read(a)	__atomic_load_n(&(a)->counter, __ATOMIC_RELAXED)
#define atomic_long_set(a, v)	__atomic_store_n(&(a)->counter, (v), __ATOMIC_RELAXED)
#define atomic_long_add(v, a)	__atomic_fetch_add(&(a)->counter, (v), __ATOMIC_RELAXED)
#define atomic_long_inc(a)	atomic_long_add(1, a)
#define atomic_long_dec(a)	atomic_long_add(-1, a)

/* Contexts: userspace has no preemption control and no interrupts. */
#define preempt_disable()	barrier()
#define preempt_enable()	barrier()
#define local_irq_save(f)	do { (f) = 0; barrier(); } while (0)
#define local_irq_restore(f)	do { (void)(f); barrier(); } while (0)
#define in_nmi()		0
#define in_hardirq()		0
#define cond_resched()		do { } while (0)
#define might_sleep()		do { } while (0)

/* Per-CPU data is per-thread; for_each_possible_cpu() sees this thread. */
#define DEFINE_PER_CPU(type, name)	__thread type name
#define this_cpu_ptr(p)			(p)
#define per_cpu_ptr(p, cpu)		((void)(cpu), (p))
/*
 * Allocated per-CPU data is one block that every thread shares, updated
 * with atomic adds: summing "every CPU" then sums every thread.
 */
#define alloc_percpu_gfp(type, gfp)	((type *)calloc(1, sizeof(type)))
#define free_percpu(p)			free(p)
#define this_cpu_add(pcp, v)	__atomic_fetch_add(&(pcp), (v), __ATOMIC_RELAXED)
#define this_cpu_inc(pcp)	this_cpu_add(pcp, 1)
#define this_cpu_dec(pcp)	this_cpu_add(pcp, -1)
static inline int *shim_first_cpu(int *cpu)
{
	*cpu = 0;
	return cpu;
}

#define for_each_possible_cpu(cpu)					\
	for (int *__cpu = shim_first_cpu(&(cpu)); __cpu; __cpu = NULL)

/* Lockdep: nothing. */
struct lock_class_key { int unused; };
struct lockdep_map { int unused; };
#define lock_acquire_exclusive(l, s, t, n, i)	do { } while (0)
#define lock_release(l, i)			do { } while (0)
#define lockdep_init_map(l, n, k, s)		do { } while (0)
#define RCU_LOCKDEP_WARN(c, s)			do { } while (0)

/* Warnings are counted: a test fails if any fired. */
extern long shim_warnings;
void shim_warn(const char *file, int line, const char *cond);
#define WARN_ON_ONCE(c) ({						\
	bool __c = !!(c);						\
	if (unlikely(__c))						\
		shim_warn(__FILE__, __LINE__, #c);			\
	__c;								\
})
#define WARN_ON(c)		WARN_ON_ONCE(c)
#define WARN(c, ...) ({							\
	bool __c = !!(c);						\
	if (unlikely(__c)) {						\
		fprintf(stderr, __VA_ARGS__);				\
		shim_warn(__FILE__, __LINE__, #c);			\
	}								\
	__c;								\
})
#define pr_err(...)		fprintf(stderr, __VA_ARGS__)
#define pr_info(...)		fprintf(stderr, __VA_ARGS__)

/* RCU (tools/testing/lib/rcu.c). */
struct callback_head {
	struct callback_head *next;
	void (*func)(struct callback_head *head);
	void *urcu_space[2];	/* liburcu's own rcu_head */
};

#define rcu_head callback_head

void rcu_read_lock(void);
void rcu_read_unlock(void);
void call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head));
void rcu_barrier(void);
void synchronize_rcu(void);
void rcu_register_thread(void);
void rcu_unregister_thread(void);

#define rcu_read_lock_held()		1
#define rcu_dereference(p)		__atomic_load_n(&(p), __ATOMIC_ACQUIRE)
#define rcu_dereference_check(p, c)	rcu_dereference(p)
#define rcu_dereference_raw(p)		rcu_dereference(p)
#define rcu_dereference_protected(p, c)	__atomic_load_n(&(p), __ATOMIC_RELAXED)
#define rcu_access_pointer(p)		__atomic_load_n(&(p), __ATOMIC_RELAXED)
#define rcu_assign_pointer(p, v)	__atomic_store_n(&(p), (v), __ATOMIC_RELEASE)
#define RCU_INIT_POINTER(p, v)		__atomic_store_n(&(p), (v), __ATOMIC_RELAXED)

/* Slab (tools/testing/lib/alloc.c): counting, with failure injection. */
struct kmem_cache;
#define SLAB_HWCACHE_ALIGN	0x1u
struct kmem_cache *kmem_cache_create(const char *name, size_t size,
				     size_t align, unsigned int flags,
				     void (*ctor)(void *));
void *kmem_cache_alloc(struct kmem_cache *cache, gfp_t gfp);
void *kmem_cache_zalloc(struct kmem_cache *cache, gfp_t gfp);
void kmem_cache_free(struct kmem_cache *cache, void *p);
void kmem_cache_destroy(struct kmem_cache *cache);
void *kmalloc(size_t size, gfp_t gfp);
size_t kmalloc_size_roundup(size_t size);
size_t ksize(const void *p);
void kfree(const void *p);

static inline u64 get_unaligned_be64(const void *p)
{
	u64 v;

	memcpy(&v, p, sizeof(v));
	return __builtin_bswap64(v);
}

/* Unaligned native-endian access: the core only moves u64s this way. */
static inline u64 shim_get_unaligned_u64(const void *p)
{
	u64 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void shim_put_unaligned_u64(u64 v, void *p)
{
	memcpy(p, &v, sizeof(v));
}

#define get_unaligned(p)	shim_get_unaligned_u64(p)
#define put_unaligned(v, p)	shim_put_unaligned_u64(v, p)

static inline void put_unaligned_be64(u64 v, void *p)
{
	v = __builtin_bswap64(v);
	memcpy(p, &v, sizeof(v));
}

#endif /* _MASSTREE_TOOLS_SHIM_H */
