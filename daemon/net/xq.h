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
 * job).  The rings and sockets are xq.c's alone: the rest of the daemon calls struct pktio.
 */
#ifndef IXDP_XQ_H
#define IXDP_XQ_H

#include "net/pktio.h"

struct steer;

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

int xq_open(struct pktio **io, const struct xq_params *p, struct steer *steer);
unsigned int xq_frames_needed(const struct xq_params *p, unsigned int *fill, unsigned int *comp);

#endif /* IXDP_XQ_H */
