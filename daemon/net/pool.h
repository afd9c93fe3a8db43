/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pool.h - the frame pool: one memory area cut into equal frames, named by their offset in it
 * (the "address" every packet I/O backend and the worker-to-worker rings carry), the free
 * frames on a shared stack, and a small lock-free cache per worker.
 *
 * A frame is in exactly one place: the shared stack, a worker's cache, a backend's rings (the
 * kernel's, for AF_XDP), a worker's TX batch, or a worker-to-worker ring.  Whole slabs move
 * between a cache and the stack, so the stack's mutex is taken once per POOL_SLAB frames.
 */
#ifndef IXDP_POOL_H
#define IXDP_POOL_H

#include <linux/types.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#define POOL_SLAB 64	/* frames moved between a worker cache and the pool at once */

/* Frames that are in no ring; shared by all workers. */
struct pool {
	pthread_mutex_t lock;
	__u64 *stack;		/* frame addresses */
	__u32 nr_free;		/* entries on the stack */
	__u32 nr_frames;	/* all frames of the area */
	__u32 frame_size;
	void *area;		/* the frames (NULL for a pool of addresses only: tests) */
	size_t size;		/* bytes of area */
	int memfd;
	bool hugepages;
};

/* A worker's private stock of free frames: no lock, at most two slabs. */
struct pool_cache {
	__u32 n;
	struct pool *pool;
	__u64 addr[2 * POOL_SLAB];
};

int pool_init(struct pool *p, __u32 nr_frames, __u32 frame_size);
void pool_destroy(struct pool *p);
int pool_open(struct pool *p, __u32 nr_frames, __u32 frame_size);
void pool_close(struct pool *p);
__u32 pool_get(struct pool *p, __u64 *addr, __u32 n);
void pool_put(struct pool *p, const __u64 *addr, __u32 n);
__u32 pool_free_frames(struct pool *p);

void pool_cache_init(struct pool_cache *c, struct pool *p);
void pool_cache_flush(struct pool_cache *c);
void __pool_cache_refill(struct pool_cache *c);
void __pool_cache_spill(struct pool_cache *c);

/* The bytes of the frame at @addr (an address may point into a frame). */
static inline void *pool_frame(const struct pool *p, __u64 addr)
{
	return (char *)p->area + addr;
}

/* The address of the frame holding @buf. */
static inline __u64 pool_addr(const struct pool *p, const void *buf)
{
	return (__u64)((const char *)buf - (const char *)p->area);
}

/* Backends may hand back an address inside the frame: round down to its start. */
static inline __u64 pool_frame_base(const struct pool *p, __u64 addr)
{
	return addr & ~(__u64)(p->frame_size - 1);
}

/* pool_cache_alloc - one free frame from @c; false when the whole pool is empty. */
static inline bool pool_cache_alloc(struct pool_cache *c, __u64 *addr)
{
	if (!c->n)
		__pool_cache_refill(c);
	if (!c->n)
		return false;
	*addr = c->addr[--c->n];
	return true;
}

/* pool_cache_free - return a frame (its base address) to @c. */
static inline void pool_cache_free(struct pool_cache *c, __u64 addr)
{
	if (c->n == 2 * POOL_SLAB)
		__pool_cache_spill(c);
	c->addr[c->n++] = addr;
}

#endif /* IXDP_POOL_H */
