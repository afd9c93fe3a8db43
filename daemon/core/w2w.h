/* SPDX-License-Identifier: GPL-2.0 */
/*
 * w2w.h - worker-to-worker frame rings: bounded, single-producer single-consumer, one per
 * ordered pair of workers, carrying frames (pool address + length, net/pktio.h).
 *
 * A frame that reaches a worker which does not own its flow group (it was queued before the
 * group moved, or a backend steers in software) goes to its owner over ring (from, to); the
 * owner takes it at its next iteration and handles it as if it had received it.  A frame on a
 * ring belongs to the ring: the producer gave it up in w2w_send(), the consumer owns it from
 * w2w_recv() on.
 *
 *   rings[from * nr + to]:   prod ──────────── written by worker `from` (release)
 *                            cons ──────────── written by worker `to` (release)
 *                            f[W2W_RING] ───── slots [cons, prod) hold frames
 *
 * Indices run freely and wrap at 2^32; slot = index & (W2W_RING - 1).  Each side keeps a copy
 * of the other's index and reads the shared one (acquire) only when its copy shows less than
 * the call wants: at most one atomic load and one store per burst, none per frame.
 */
#ifndef IXDP_W2W_H
#define IXDP_W2W_H

#include <linux/types.h>
#include <stdbool.h>

#include "net/pktio.h"

#define W2W_RING 256	/* frames per ring, a power of two: four full bursts */

struct w2w_ring {
	/* the producer's cache line */
	__u32 prod;
	__u32 cons_seen;	/* the producer's last look at cons */
	__u8 pad_prod[56];
	/* the consumer's cache line */
	__u32 cons;
	__u32 prod_seen;	/* the consumer's last look at prod */
	__u8 pad_cons[56];
	struct pktio_frame f[W2W_RING];
} __attribute__((aligned(64)));

/* Every ordered pair of nr workers (the diagonal unused: a worker never sends to itself). */
struct w2w {
	unsigned int nr;
	struct w2w_ring *rings;	/* [nr * nr] */
};

int w2w_init(struct w2w *m, unsigned int nr_workers);
void w2w_destroy(struct w2w *m);

static inline struct w2w_ring *w2w_ring(const struct w2w *m, unsigned int from, unsigned int to)
{
	return &m->rings[from * m->nr + to];
}

/**
 * w2w_send - producer: put frames from the front of @f on @r.
 * @r: ring; only one thread ever sends on it
 * @f: frames
 * @n: how many
 *
 * Return: how many it took (fewer than @n: the ring is full, the rest are still the caller's).
 */
static inline unsigned int w2w_send(struct w2w_ring *r, const struct pktio_frame *f,
				    unsigned int n)
{
	__u32 prod = r->prod, room = W2W_RING - (prod - r->cons_seen), i;

	if (room < n) {
		/* Pairs with w2w_recv()'s release of cons: the slots it freed are read out. */
		r->cons_seen = __atomic_load_n(&r->cons, __ATOMIC_ACQUIRE);
		room = W2W_RING - (prod - r->cons_seen);
		if (room < n)
			n = room;
	}
	for (i = 0; i < n; i++)
		r->f[(prod + i) & (W2W_RING - 1)] = f[i];
	/* The frames are written before the consumer can see them. */
	__atomic_store_n(&r->prod, prod + n, __ATOMIC_RELEASE);
	return n;
}

/**
 * w2w_recv - consumer: take up to @max frames off @r, oldest first.
 * @r:   ring; only one thread ever receives from it
 * @f:   receives the frames, which are the caller's now
 * @max: room in @f
 *
 * Return: frames taken, @max or every frame on the ring (0: it is empty).
 */
static inline unsigned int w2w_recv(struct w2w_ring *r, struct pktio_frame *f, unsigned int max)
{
	__u32 cons = r->cons, n = r->prod_seen - cons, i;

	if (n < max) {
		/* Pairs with w2w_send()'s release of prod: the frames before it are written. */
		r->prod_seen = __atomic_load_n(&r->prod, __ATOMIC_ACQUIRE);
		n = r->prod_seen - cons;
		if (!n)
			return 0;
	}
	if (n > max)
		n = max;
	for (i = 0; i < n; i++)
		f[i] = r->f[(cons + i) & (W2W_RING - 1)];
	/* The slots are read out before the producer can reuse them. */
	__atomic_store_n(&r->cons, cons + n, __ATOMIC_RELEASE);
	return n;
}

/*
 * w2w_pending - consumer, before it sleeps: does @r hold frames?  A sequentially consistent
 * load, ordered after the consumer's store of its sleeping flag: a producer that published
 * before that store is seen here, one that published after it sees the flag and wakes it.
 */
static inline bool w2w_pending(const struct w2w_ring *r)
{
	return __atomic_load_n(&r->prod, __ATOMIC_SEQ_CST) != r->cons;
}

#endif /* IXDP_W2W_H */
