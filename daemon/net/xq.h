/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xq.h - the AF_XDP backend of the packet I/O seam (net/pktio.h): one umem (the frame pool's
 * area, net/pool.h), a socket per (rx queue, worker).
 *
 *          worker 0        worker 1   ...     (columns: each worker polls its own sockets)
 *   q0   socks[0*W+0]   socks[0*W+1]     ──┐ share q0's fill + completion ring (xq_queue)
 *   q1   socks[1*W+0]   socks[1*W+1]     ──┘ ...and so on per queue
 *
 * The kernel keeps one buffer pool per (device, queue): every socket on a queue must share that
 * queue's fill and completion rings, and a frame redirected to a socket of another queue is
 * dropped.  The rings of a queue are single-producer/single-consumer, so a worker takes the
 * queue's lock once per burst (trylock: if another worker holds it, that worker is doing the
 * job).  Nothing outside xq.c reads these structs: the rest of the daemon calls struct pktio.
 */
#ifndef IXDP_XQ_H
#define IXDP_XQ_H

#include <pthread.h>
#include <stdbool.h>
#include <xdp/xsk.h>

#include "net/pktio.h"
#include "net/pool.h"

#define XQ_BURST PKTIO_BURST	/* frames per RX burst, TX burst, refill and reap round */

struct steer;

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
	struct pktio io;		/* first: what the daemon holds */
	struct pool pool;		/* its area is the umem */
	struct steer *steer;		/* the XDP program: owners and the XSKMAP */
	struct xsk_umem *umem;
	__u32 nr_queues;
	__u32 nr_workers;
	__u32 fill_size;
	__u32 comp_size;
	struct xq_queue *queues;	/* [nr_queues] */
	struct xq_sock *socks;		/* [nr_queues * nr_workers] */
};

int xq_open(struct pktio **io, const struct xq_params *p, struct steer *steer);
unsigned int xq_frames_needed(const struct xq_params *p, unsigned int *fill, unsigned int *comp);

#endif /* IXDP_XQ_H */
