// SPDX-License-Identifier: GPL-2.0
/* pool.c - the frame pool: its memory (a memfd, hugepages when reserved), free stack, caches. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "net/pool.h"

#define POOL_HUGEPAGE (2u << 20)

/**
 * pool_init - the bookkeeping of a pool of @nr_frames frames, every one free; no memory.
 * @p:          pool
 * @nr_frames:  frames
 * @frame_size: bytes per frame, a power of two
 *
 * Return: 0 or -ENOMEM.
 */
int pool_init(struct pool *p, __u32 nr_frames, __u32 frame_size)
{
	__u32 i;

	p->stack = calloc(nr_frames, sizeof(*p->stack));
	if (!p->stack)
		return -ENOMEM;
	for (i = 0; i < nr_frames; i++)
		p->stack[i] = (__u64)(nr_frames - 1 - i) * frame_size;
	p->nr_free = nr_frames;
	p->nr_frames = nr_frames;
	p->frame_size = frame_size;
	pthread_mutex_init(&p->lock, NULL);
	return 0;
}

/**
 * pool_destroy - free what pool_init() allocated.
 * @p: pool
 */
void pool_destroy(struct pool *p)
{
	free(p->stack);
	p->stack = NULL;
	pthread_mutex_destroy(&p->lock);
}

/* The area lives in a memfd so that later it can be mapped read-only into app processes. */
static int pool_area_alloc(struct pool *p, size_t size)
{
	int fd, ret;

	p->size = (size + POOL_HUGEPAGE - 1) & ~(size_t)(POOL_HUGEPAGE - 1);
	fd = memfd_create("ixdp-umem", MFD_CLOEXEC | MFD_HUGETLB);
	if (fd >= 0) {
		if (!ftruncate(fd, p->size)) {
			p->area = mmap(NULL, p->size, PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_POPULATE, fd, 0);
			if (p->area != MAP_FAILED) {
				p->memfd = fd;
				p->hugepages = true;
				return 0;
			}
		}
		close(fd);
	}

	fd = memfd_create("ixdp-umem", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, p->size))
		goto err_close;
	p->area = mmap(NULL, p->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (p->area == MAP_FAILED)
		goto err_close;
	p->memfd = fd;
	p->hugepages = false;
	return 0;

err_close:
	ret = -errno;
	close(fd);
	p->area = NULL;
	return ret;
}

/**
 * pool_open - memory for at least @nr_frames frames (a whole number of 2 MiB hugepages, on
 * hugepages when the kernel has them reserved), every frame free.
 * @p:          pool, zeroed on entry
 * @nr_frames:  frames wanted; the pool holds every frame of the rounded-up area
 * @frame_size: bytes per frame, a power of two that divides 2 MiB
 *
 * Return: 0, or a negative errno with nothing left allocated.
 */
int pool_open(struct pool *p, __u32 nr_frames, __u32 frame_size)
{
	int ret;

	memset(p, 0, sizeof(*p));
	p->memfd = -1;
	ret = pool_area_alloc(p, (size_t)nr_frames * frame_size);
	if (ret)
		return ret;
	ret = pool_init(p, p->size / frame_size, frame_size);
	if (ret) {
		munmap(p->area, p->size);
		close(p->memfd);
		memset(p, 0, sizeof(*p));
	}
	return ret;
}

/**
 * pool_close - release the area and the bookkeeping; safe on a pool never opened (zeroed).
 * @p: pool no backend uses any more
 */
void pool_close(struct pool *p)
{
	if (!p->area)
		return;
	pool_destroy(p);
	munmap(p->area, p->size);
	close(p->memfd);
	memset(p, 0, sizeof(*p));
}

/**
 * pool_get - take up to @n frames.
 * @p:    pool
 * @addr: receives the frame addresses
 * @n:    frames wanted
 *
 * Return: frames taken (fewer when the pool runs low).
 */
__u32 pool_get(struct pool *p, __u64 *addr, __u32 n)
{
	pthread_mutex_lock(&p->lock);
	if (n > p->nr_free)
		n = p->nr_free;
	p->nr_free -= n;
	memcpy(addr, &p->stack[p->nr_free], n * sizeof(*addr));
	pthread_mutex_unlock(&p->lock);
	return n;
}

/**
 * pool_put - return @n frames.
 * @p:    pool
 * @addr: frame base addresses
 * @n:    count
 */
void pool_put(struct pool *p, const __u64 *addr, __u32 n)
{
	pthread_mutex_lock(&p->lock);
	memcpy(&p->stack[p->nr_free], addr, n * sizeof(*addr));
	p->nr_free += n;
	pthread_mutex_unlock(&p->lock);
}

/**
 * pool_free_frames - frames on the shared stack right now (caches not included).
 * @p: pool
 *
 * Return: the count.
 */
__u32 pool_free_frames(struct pool *p)
{
	return __atomic_load_n(&p->nr_free, __ATOMIC_RELAXED);
}

/**
 * pool_cache_init - an empty worker cache over @p.
 * @c: cache
 * @p: pool it draws from
 */
void pool_cache_init(struct pool_cache *c, struct pool *p)
{
	c->n = 0;
	c->pool = p;
}

/**
 * pool_cache_flush - give every cached frame back to the pool.
 * @c: cache
 */
void pool_cache_flush(struct pool_cache *c)
{
	pool_put(c->pool, c->addr, c->n);
	__atomic_store_n(&c->n, 0, __ATOMIC_RELAXED);
}

/**
 * __pool_cache_refill - move a slab from the pool into @c (fewer frames when it runs low).
 * @c: cache with room for a slab
 */
void __pool_cache_refill(struct pool_cache *c)
{
	c->n += pool_get(c->pool, &c->addr[c->n], POOL_SLAB);
}

/**
 * __pool_cache_spill - move a slab from @c back to the pool.
 * @c: cache holding at least a slab
 */
void __pool_cache_spill(struct pool_cache *c)
{
	c->n -= POOL_SLAB;
	pool_put(c->pool, &c->addr[c->n], POOL_SLAB);
}
