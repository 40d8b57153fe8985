// SPDX-License-Identifier: GPL-2.0
/*
 * A counting slab for the userspace build: malloc underneath (so ASan
 * sees use-after-free), live counts for leak reports, and failure
 * injection: shim_fail_nth = N makes the Nth allocation from now fail.
 */
#include "../include/shim.h"
#include "alloc.h"

struct kmem_cache {
	const char *name;
	size_t size;
	size_t align;
};

long shim_warnings;
long shim_live_allocs;
long shim_fail_nth;
long shim_alloc_calls;

void shim_warn(const char *file, int line, const char *cond)
{
	__atomic_fetch_add(&shim_warnings, 1, __ATOMIC_RELAXED);
	fprintf(stderr, "WARNING: %s:%d: %s\n", file, line, cond);
}

static bool shim_should_fail(void)
{
	long n;

	__atomic_fetch_add(&shim_alloc_calls, 1, __ATOMIC_RELAXED);
	n = __atomic_load_n(&shim_fail_nth, __ATOMIC_RELAXED);
	if (n <= 0)
		return false;
	n = __atomic_sub_fetch(&shim_fail_nth, 1, __ATOMIC_RELAXED);
	return n == 0;
}

struct kmem_cache *kmem_cache_create(const char *name, size_t size,
				     size_t align, unsigned int flags,
				     void (*ctor)(void *))
{
	struct kmem_cache *c = malloc(sizeof(*c));

	(void)ctor;
	/* As SLUB lays a cache's objects out: word or cache line aligned. */
	if (flags & SLAB_HWCACHE_ALIGN && align < L1_CACHE_BYTES)
		align = L1_CACHE_BYTES;
	if (align < sizeof(void *))
		align = sizeof(void *);
	if (c) {
		c->name = name;
		c->size = (size + align - 1) / align * align;
		c->align = align;
	}
	return c;
}

/* The bucket SLUB's kmalloc() would serve @size from. */
size_t kmalloc_size_roundup(size_t size)
{
	size_t b = 8;

	if (size > 64 && size <= 96)
		return 96;
	if (size > 128 && size <= 192)
		return 192;
	while (b < size)
		b *= 2;
	return b;
}

/*
 * Each allocation is preceded by a header: the malloc()ed block it lives
 * in, and its size for ksize(). SHIM_CACHE_OBJ marks an object of a
 * kmem_cache, whose size is its cache's object size. An object is
 * aligned as its cache asks (a cache line for SLAB_HWCACHE_ALIGN, as
 * SLUB does), so that callgrind's cache simulation counts the lines a
 * node really spans; kmalloc() memory as malloc() aligns it.
 */
struct shim_alloc_hdr {
	void *block;
	size_t size;
};

#define SHIM_CACHE_OBJ	((size_t)1 << (8 * sizeof(size_t) - 1))

static inline struct shim_alloc_hdr *shim_hdr(const void *p)
{
	return (struct shim_alloc_hdr *)p - 1;
}

static inline __attribute__((always_inline)) void *shim_alloc(size_t size, size_t tag, size_t align)
{
	const size_t hdr = sizeof(struct shim_alloc_hdr);
	char *block, *p;

	if (shim_should_fail())
		return NULL;
	/* Room for the header and the alignment, whatever malloc() aligns to. */
	block = malloc(hdr + align - 1 + size);
	if (!block)
		return NULL;
	p = (char *)(((uintptr_t)block + hdr + align - 1) & ~(uintptr_t)(align - 1));
	__atomic_fetch_add(&shim_live_allocs, 1, __ATOMIC_RELAXED);
	shim_hdr(p)->block = block;
	shim_hdr(p)->size = size | tag;
	return p;
}

void *kmalloc(size_t size, gfp_t gfp)
{
	(void)gfp;
	return shim_alloc(size, 0, sizeof(struct shim_alloc_hdr));
}

/* As SLUB answers: kmalloc()'s whole bucket, or the cache's object size. */
size_t ksize(const void *p)
{
	size_t v = shim_hdr(p)->size;

	if (v & SHIM_CACHE_OBJ)
		return v & ~SHIM_CACHE_OBJ;
	return kmalloc_size_roundup(v);
}

void kfree(const void *p)
{
	if (!p)
		return;
	__atomic_fetch_sub(&shim_live_allocs, 1, __ATOMIC_RELAXED);
	free(shim_hdr(p)->block);
}

void *kmem_cache_alloc(struct kmem_cache *c, gfp_t gfp)
{
	(void)gfp;
	return shim_alloc(c->size, SHIM_CACHE_OBJ, c->align);
}

void *kmem_cache_zalloc(struct kmem_cache *c, gfp_t gfp)
{
	void *p = kmem_cache_alloc(c, gfp);

	if (p)
		memset(p, 0, c->size);
	return p;
}

void kmem_cache_free(struct kmem_cache *c, void *p)
{
	(void)c;
	kfree(p);
}

void kmem_cache_destroy(struct kmem_cache *c)
{
	free(c);
}

/*
 * The tests' reference map (kunit/masstree_refmap.h) allocates here:
 * neither counted nor failed, so that an injected failure meant for the
 * core never hits the reference.
 */
void *shim_uncounted_alloc(size_t size, gfp_t gfp)
{
	(void)gfp;
	return malloc(size);
}

void shim_uncounted_free(void *p)
{
	free(p);
}
