/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pktio.h - the packet I/O seam: what a worker needs from a backend (AF_XDP today, net/xq.c;
 * userspace virtio-net and ixgbe drivers later), in ixy's shape.
 *
 * Every worker serves nr_queues queues of the backend (AF_XDP: its socket on each NIC queue; a
 * driver: its own queue pair, nr_queues = 1).  Frames are pool addresses plus lengths
 * (net/pool.h); no call copies a frame's bytes.  Who owns a frame:
 *
 *   pool/cache --refill--> backend (RX buffers) --rx_burst--> worker --tx_burst--> backend
 *        ^                                                      |                    |
 *        +--------- worker frees what it does not send ---------+                    |
 *        +------------------------------ reap (TX completions) ----------------------+
 *
 * rx_burst and tx_burst return a count, and that is the whole back-pressure contract: rx_burst
 * hands the caller that many frames (fewer than asked: nothing more is waiting); tx_burst takes
 * that many from the front of the caller's array (fewer than offered: the ring is full, and
 * the rest are still the caller's, to free or to offer again).  Calls for one (worker, queue)
 * come from that worker's thread only; reap and refill may serve any worker's frames (AF_XDP
 * shares a queue's rings among its workers) and put them in the calling worker's cache.
 * set_owner and stats are the control thread's.  Every call is made once per burst or per
 * loop iteration, never per frame: the indirection costs one call per batch.
 */
#ifndef IXDP_PKTIO_H
#define IXDP_PKTIO_H

#include <linux/types.h>
#include <poll.h>
#include <stdbool.h>

#include "ixdp/steer.h"
#include "net/pool.h"

#define PKTIO_BURST 64	/* most frames one rx_burst, tx_burst, refill or reap round moves */

/* One frame handed across the seam: where it is in the pool, how many bytes it holds. */
struct pktio_frame {
	__u64 addr;	/* pool address; may point inside the frame (pool_frame_base) */
	__u32 len;
	__u32 pad;
};

/* The backend's counters, read by the control thread (a moment's view). */
struct pktio_stats {
	__u64 rx_dropped[IXDP_WORKERS_MAX];	/* per worker: lost before it saw them (ring full) */
	__u64 fill_empty[IXDP_QUEUES_MAX];	/* per queue: lost for want of an RX buffer */
	__u64 frames_held;			/* pool frames inside the backend's rings now */
};

struct pktio;

struct pktio_ops {
	/* Up to @max received frames of (@worker, @q) into @f; they are the caller's now. */
	unsigned int (*rx_burst)(struct pktio *io, unsigned int worker, unsigned int q,
				 struct pktio_frame *f, unsigned int max);
	/* Send from the front of @f; returns how many it took (and started sending). */
	unsigned int (*tx_burst)(struct pktio *io, unsigned int worker, unsigned int q,
				 const struct pktio_frame *f, unsigned int n);
	/* Frames whose sending completed, into @c; returns how many. */
	unsigned int (*reap)(struct pktio *io, unsigned int worker, struct pool_cache *c);
	/* Free frames from @c for receiving, in whole bursts; returns how many it gave. */
	unsigned int (*refill)(struct pktio *io, unsigned int worker, struct pool_cache *c);
	/* Push on frames taken but not yet sent (bounded work); returns how many still wait. */
	unsigned int (*flush)(struct pktio *io, unsigned int worker);
	/* The fds that become readable (POLLIN) when a frame arrives for @worker; returns the count. */
	unsigned int (*wait_fds)(struct pktio *io, unsigned int worker, struct pollfd *pfd,
				 unsigned int max);
	/* Frames of flow group @fg go to @worker from now on (XDP map, RSS table, flow director). */
	int (*set_owner)(struct pktio *io, __u32 fg, __u32 worker);
	void (*stats)(struct pktio *io, struct pktio_stats *st);
	/* Stop and release everything; no call follows. */
	void (*close)(struct pktio *io);
};

struct pktio {
	const struct pktio_ops *ops;
	const char *name;		/* "AF_XDP", ... */
	struct pool *pool;		/* where every frame of this backend lives */
	unsigned int nr_queues;		/* queues every worker serves */
	unsigned int nr_workers;
	bool zerocopy;			/* the device reads and writes the pool itself */
};

static inline unsigned int pktio_rx_burst(struct pktio *io, unsigned int worker, unsigned int q,
					  struct pktio_frame *f, unsigned int max)
{
	return io->ops->rx_burst(io, worker, q, f, max);
}

static inline unsigned int pktio_tx_burst(struct pktio *io, unsigned int worker, unsigned int q,
					  const struct pktio_frame *f, unsigned int n)
{
	return io->ops->tx_burst(io, worker, q, f, n);
}

static inline unsigned int pktio_reap(struct pktio *io, unsigned int worker, struct pool_cache *c)
{
	return io->ops->reap(io, worker, c);
}

static inline unsigned int pktio_refill(struct pktio *io, unsigned int worker,
					struct pool_cache *c)
{
	return io->ops->refill(io, worker, c);
}

static inline unsigned int pktio_flush(struct pktio *io, unsigned int worker)
{
	return io->ops->flush(io, worker);
}

static inline unsigned int pktio_wait_fds(struct pktio *io, unsigned int worker,
					  struct pollfd *pfd, unsigned int max)
{
	return io->ops->wait_fds(io, worker, pfd, max);
}

static inline int pktio_set_owner(struct pktio *io, __u32 fg, __u32 worker)
{
	return io->ops->set_owner(io, fg, worker);
}

static inline void pktio_stats(struct pktio *io, struct pktio_stats *st)
{
	io->ops->stats(io, st);
}

/* pktio_close - release the backend; NULL is left alone. */
static inline void pktio_close(struct pktio *io)
{
	if (io)
		io->ops->close(io);
}

#endif /* IXDP_PKTIO_H */
