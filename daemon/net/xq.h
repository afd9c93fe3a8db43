/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xq.h - AF_XDP queues: one umem, a socket per (rx queue, worker), the frame pool.
 *
 *          worker 0        worker 1   ...     (columns: each worker polls its own sockets)
 *   q0   socks[0*W+0]   socks[0*W+1]     ──┐ share q0's fill + completion ring (xq_queue)
 *   q1   socks[1*W+0]   socks[1*W+1]     ──┘ ...and so on per queue
 *
 * The kernel keeps one buffer pool per (device, queue): every socket on a queue must share that
 * queue's fill and completion rings, and a frame redirected to a socket of another queue is
 * dropped.  The rings of a queue are single-producer/single-consumer, so a worker takes the
 * queue's lock once per burst (trylock: if another worker holds it, that worker is doing the
 * job).  Frames not in any ring live in the pool; each worker keeps a small cache of them and
 * moves whole slabs to and from the shared stack.
 */
#ifndef IXDP_XQ_H
#define IXDP_XQ_H

#include <pthread.h>
#include <stdbool.h>
#include <xdp/xsk.h>

#define XQ_BURST 64	/* frames per RX burst, TX burst, refill and reap */
#define XQ_SLAB 64	/* frames moved between a worker cache and the pool at once */

/* Frames that are in no ring; shared by all workers. */
struct xq_pool {
	pthread_mutex_t lock;
	__u64 *stack;		/* frame addresses */
	__u32 nr_free;		/* entries on the stack */
	__u32 nr_frames;	/* all frames of the umem */
};

/* A worker's private stock of free frames: no lock, at most two slabs. */
struct xq_cache {
	__u32 n;
	struct xq_pool *pool;
	__u64 addr[2 * XQ_SLAB];
};

/* Per rx queue: the fill and completion rings all W sockets on the queue share. */
struct xq_queue {
	struct xsk_ring_prod fill;
	struct xsk_ring_cons comp;
	pthread_spinlock_t fill_lock;
	pthread_spinlock_t comp_lock;
	__u32 id;
} __attribute__((aligned(64)));

/* One AF_XDP socket: bound to one queue, read by one worker. */
struct xq_sock {
	struct xsk_ring_cons rx;
	struct xsk_ring_prod tx;
	int fd;
	__u32 queue;
	__u32 worker;
	struct xsk_socket *xsk;	/* the queue's first socket is made by libxdp */
	void *rx_map;		/* the others are bound by hand (xq.c: xq_bind_shared) */
	void *tx_map;
	size_t rx_map_len;
	size_t tx_map_len;
} __attribute__((aligned(64)));

struct xq_params {
	const char *ifname;
	unsigned int ifindex;
	unsigned int nr_queues;
	unsigned int nr_workers;
	unsigned int rx_ring;
	unsigned int tx_ring;
	unsigned int fill_ring;	/* 0: derived */
	unsigned int comp_ring;	/* 0: derived */
	unsigned int frames;	/* 0: derived */
	unsigned int frame_size;
	int zerocopy;		/* enum cfg_zerocopy */
};

struct xq {
	void *area;		/* the umem */
	size_t size;
	int memfd;
	bool hugepages;
	bool zerocopy;
	struct xsk_umem *umem;
	__u32 frame_size;
	__u32 nr_queues;
	__u32 nr_workers;
	__u32 fill_size;
	__u32 comp_size;
	struct xq_queue *queues;	/* [nr_queues] */
	struct xq_sock *socks;		/* [nr_queues * nr_workers] */
	struct xq_pool pool;
};

int xq_pool_init(struct xq_pool *p, __u32 nr_frames, __u32 frame_size);
void xq_pool_destroy(struct xq_pool *p);
__u32 xq_pool_get(struct xq_pool *p, __u64 *addr, __u32 n);
void xq_pool_put(struct xq_pool *p, const __u64 *addr, __u32 n);
__u32 xq_pool_free_frames(struct xq_pool *p);

void xq_cache_init(struct xq_cache *c, struct xq_pool *p);
void xq_cache_flush(struct xq_cache *c);

int xq_open(struct xq *xq, const struct xq_params *p);
void xq_close(struct xq *xq);
unsigned int xq_frames_needed(const struct xq_params *p, unsigned int *fill, unsigned int *comp);

unsigned int xq_refill(struct xq_queue *q, struct xq_cache *c);
unsigned int xq_reap(struct xq_queue *q, struct xq_cache *c, __u32 frame_size);
int xq_kick(struct xq_sock *s);

static inline struct xq_sock *xq_sock(struct xq *xq, unsigned int queue, unsigned int worker)
{
	return &xq->socks[queue * xq->nr_workers + worker];
}

static inline void *xq_frame(const struct xq *xq, __u64 addr)
{
	return (char *)xq->area + addr;
}

/* Frames handed back by the kernel may point into the frame: round down to its start. */
static inline __u64 xq_frame_base(__u64 addr, __u32 frame_size)
{
	return addr & ~(__u64)(frame_size - 1);
}

void __xq_cache_refill(struct xq_cache *c);
void __xq_cache_spill(struct xq_cache *c);

/* xq_cache_alloc - one free frame from @c; false when the whole pool is empty. */
static inline bool xq_cache_alloc(struct xq_cache *c, __u64 *addr)
{
	if (!c->n)
		__xq_cache_refill(c);
	if (!c->n)
		return false;
	*addr = c->addr[--c->n];
	return true;
}

/* xq_cache_free - return a frame (its base address) to @c. */
static inline void xq_cache_free(struct xq_cache *c, __u64 addr)
{
	if (c->n == 2 * XQ_SLAB)
		__xq_cache_spill(c);
	c->addr[c->n++] = addr;
}

/* Frames the kernel has not yet taken from the TX ring. */
static inline __u32 xq_tx_pending(const struct xq_sock *s)
{
	return s->tx.cached_prod - __atomic_load_n(s->tx.consumer, __ATOMIC_ACQUIRE);
}

#endif /* IXDP_XQ_H */
