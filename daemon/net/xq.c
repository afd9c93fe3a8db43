// SPDX-License-Identifier: GPL-2.0
/*
 * xq.c - the AF_XDP backend of struct pktio: the umem over the frame pool's area, and the
 * (queue x worker) socket matrix.
 *
 * libxdp 1.3.1 makes the umem and the first socket of every queue (with that queue's own fill
 * and completion ring).  It cannot make the others: it binds every shared socket against the
 * umem's first socket, and the kernel only lets a socket join an existing buffer pool through a
 * socket bound to the same device and queue.  xq_bind_shared() binds those with the kernel UAPI
 * (Documentation/networking/af_xdp.rst, "XDP_SHARED_UMEM bind flag").
 */
#include <errno.h>
#include <linux/if_xdp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <pthread.h>
#include <xdp/xsk.h>

#include "core/log.h"
#include "net/pool.h"
#include "net/steering.h"
#include "net/xq.h"

#define XQ_BURST PKTIO_BURST	/* frames per RX burst, TX burst, refill and reap round */
#define XQ_HUGEPAGE (2u << 20)
#define XQ_KICKS_MAX 4	/* extra kicks per flush for a TX ring the kernel lags on */

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

static unsigned int pow2_at_least(unsigned int v, unsigned int min)
{
	unsigned int p = min;

	while (p < v)
		p <<= 1;
	return p;
}

/**
 * xq_frames_needed - frames that keep every ring of the matrix supplied.
 * @p:    parameters
 * @fill: receives the fill ring size per queue
 * @comp: receives the completion ring size per queue
 *
 * A queue's fill ring feeds all W RX rings of the queue, and its frames can sit in any of them,
 * in a TX ring or in a worker cache at once.
 *
 * Return: the frame count (a whole number of 2 MiB hugepages).
 */
unsigned int xq_frames_needed(const struct xq_params *p, unsigned int *fill, unsigned int *comp)
{
	unsigned int per_page = XQ_HUGEPAGE / p->frame_size;
	unsigned long n;

	*fill = p->fill_ring ? p->fill_ring : pow2_at_least(p->nr_workers * p->rx_ring, 2048);
	*comp = p->comp_ring ? p->comp_ring : pow2_at_least(p->nr_workers * p->tx_ring, 2048);
	n = (unsigned long)p->nr_queues * (*fill + p->nr_workers * (p->rx_ring + p->tx_ring)) +
	    p->nr_workers * 2 * POOL_SLAB;
	n = (n + per_page - 1) / per_page * per_page;
	return n;
}

static void xq_ring_init(struct xsk_ring_cons *r, void *map, const struct xdp_ring_offset *off,
			 __u32 size)
{
	r->mask = size - 1;
	r->size = size;
	r->producer = (__u32 *)((char *)map + off->producer);
	r->consumer = (__u32 *)((char *)map + off->consumer);
	r->flags = (__u32 *)((char *)map + off->flags);
	r->ring = (char *)map + off->desc;
	r->cached_prod = *r->producer;
	r->cached_cons = *r->consumer;
}

/*
 * A further socket on a queue whose buffer pool exists: rings of its own for RX and TX, fill
 * and completion shared through @first_fd, a socket already bound to the same device and queue.
 * The kernel refuses XDP_COPY/XDP_ZEROCOPY/XDP_USE_NEED_WAKEUP here: the pool's mode applies.
 */
static int xq_bind_shared(struct xq_sock *s, unsigned int ifindex, int first_fd, __u32 rx_size,
			  __u32 tx_size)
{
	struct xdp_mmap_offsets off;
	struct sockaddr_xdp sxdp = {
		.sxdp_family = AF_XDP,
		.sxdp_flags = XDP_SHARED_UMEM,
		.sxdp_ifindex = ifindex,
		.sxdp_queue_id = s->queue,
		.sxdp_shared_umem_fd = first_fd,
	};
	socklen_t optlen = sizeof(off);
	int ret;

	s->fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return -errno;
	if (setsockopt(s->fd, SOL_XDP, XDP_RX_RING, &rx_size, sizeof(rx_size)) ||
	    setsockopt(s->fd, SOL_XDP, XDP_TX_RING, &tx_size, sizeof(tx_size)) ||
	    getsockopt(s->fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &optlen))
		goto err_close;

	s->rx_map_len = off.rx.desc + rx_size * sizeof(struct xdp_desc);
	s->rx_map = mmap(NULL, s->rx_map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			 s->fd, XDP_PGOFF_RX_RING);
	if (s->rx_map == MAP_FAILED)
		goto err_close;
	s->tx_map_len = off.tx.desc + tx_size * sizeof(struct xdp_desc);
	s->tx_map = mmap(NULL, s->tx_map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			 s->fd, XDP_PGOFF_TX_RING);
	if (s->tx_map == MAP_FAILED)
		goto err_unmap_rx;

	xq_ring_init(&s->rx, s->rx_map, &off.rx, rx_size);
	xq_ring_init((struct xsk_ring_cons *)&s->tx, s->tx_map, &off.tx, tx_size);
	/* Producer convention of libxdp: cached_cons runs one ring size ahead. */
	s->tx.cached_cons += tx_size;

	if (bind(s->fd, (struct sockaddr *)&sxdp, sizeof(sxdp)))
		goto err_unmap_tx;
	return 0;

err_unmap_tx:
	ret = -errno;
	munmap(s->tx_map, s->tx_map_len);
	goto out_rx;
err_unmap_rx:
	ret = -errno;
out_rx:
	munmap(s->rx_map, s->rx_map_len);
	s->rx_map = s->tx_map = NULL;
	close(s->fd);
	s->fd = -1;
	return ret;
err_close:
	ret = -errno;
	close(s->fd);
	s->fd = -1;
	return ret;
}

static int xq_create_first(struct xq *xq, const struct xq_params *p, struct xq_sock *s,
			   __u16 mode_flags)
{
	struct xsk_socket_config cfg = {
		.rx_size = p->rx_ring,
		.tx_size = p->tx_ring,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = mode_flags | XDP_USE_NEED_WAKEUP,
	};
	struct xq_queue *q = &xq->queues[s->queue];
	int ret;

	ret = xsk_socket__create_shared(&s->xsk, p->ifname, s->queue, xq->umem, &s->rx, &s->tx,
					&q->fill, &q->comp, &cfg);
	if (ret)
		return ret;
	s->fd = xsk_socket__fd(s->xsk);
	return 0;
}

/* Queue 0's first socket decides copy or zero-copy for the whole umem. */
static int xq_create_q0(struct xq *xq, const struct xq_params *p, struct xq_sock *s)
{
	struct xdp_options opts;
	socklen_t len = sizeof(opts);
	int ret;

	if (p->zerocopy != 2 /* CFG_ZC_OFF */) {
		ret = xq_create_first(xq, p, s, XDP_ZEROCOPY);
		if (!ret || p->zerocopy == 1 /* CFG_ZC_ON */) {
			if (ret)
				pr_err("%s: zero-copy refused: %s (zerocopy = on)", p->ifname,
				       strerror(-ret));
			goto out;
		}
		pr_info("%s: no AF_XDP zero-copy (%s); using copy mode", p->ifname, strerror(-ret));
	}
	ret = xq_create_first(xq, p, s, XDP_COPY);
out:
	if (ret)
		return ret;
	if (getsockopt(s->fd, SOL_XDP, XDP_OPTIONS, &opts, &len))
		return -errno;
	xq->io.zerocopy = opts.flags & XDP_OPTIONS_ZEROCOPY;
	return 0;
}

static void xq_sock_close(struct xq_sock *s)
{
	if (s->xsk) {
		xsk_socket__delete(s->xsk);
		s->xsk = NULL;
	} else if (s->fd >= 0) {
		munmap(s->rx_map, s->rx_map_len);
		munmap(s->tx_map, s->tx_map_len);
		close(s->fd);
	}
	s->fd = -1;
}

static void xq_fill_initial(struct xq *xq)
{
	unsigned int q, i, n, idx = 0;
	__u64 addr[XQ_BURST];

	for (q = 0; q < xq->nr_queues; q++) {
		struct xq_queue *qu = &xq->queues[q];

		while ((n = xsk_prod_nb_free(&qu->fill, XQ_BURST)) > 0) {
			n = pool_get(&xq->pool, addr, n < XQ_BURST ? n : XQ_BURST);
			if (!n)
				break;
			xsk_ring_prod__reserve(&qu->fill, n, &idx);
			for (i = 0; i < n; i++)
				*xsk_ring_prod__fill_addr(&qu->fill, idx + i) = addr[i];
			xsk_ring_prod__submit(&qu->fill, n);
		}
	}
}

static inline struct xq *xq_of(struct pktio *io)
{
	return (struct xq *)io; /* io is struct xq's first member */
}

static inline struct xq_sock *xq_sock(struct xq *xq, unsigned int queue, unsigned int worker)
{
	return &xq->socks[queue * xq->nr_workers + worker];
}

/* Frames the kernel has not yet taken from the TX ring. */
static inline __u32 xq_tx_pending(const struct xq_sock *s)
{
	return s->tx.cached_prod - __atomic_load_n(s->tx.consumer, __ATOMIC_ACQUIRE);
}

/*
 * Ask the kernel to send what the socket's TX ring holds.  Copy mode sends at most 32 frames
 * per call and needs a call for every batch (the TX ring's need-wakeup flag stays set); the
 * flush kicks again while frames are pending.  Transient errors are no errors: the frames stay
 * in the ring for the next kick.
 */
static void xq_kick(struct xq_sock *s)
{
	if (!xsk_ring_prod__needs_wakeup(&s->tx))
		return;
	if (sendto(s->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
		return;
	switch (errno) {
	case EAGAIN:
	case EBUSY:
	case ENOBUFS:
	case ENETDOWN:
		return;
	}
	pr_debug("AF_XDP kick, queue %u worker %u: %s", s->queue, s->worker, strerror(errno));
}

/* pktio rx_burst: peek, copy the descriptors out, release the ring slots at once. */
static unsigned int xq_rx_burst(struct pktio *io, unsigned int worker, unsigned int q,
				struct pktio_frame *f, unsigned int max)
{
	struct xq_sock *s = xq_sock(xq_of(io), q, worker);
	__u32 n, idx = 0, i;

	n = xsk_ring_cons__peek(&s->rx, max, &idx);
	if (!n)
		return 0;
	for (i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&s->rx, idx + i);

		f[i] = (struct pktio_frame){ .addr = d->addr, .len = d->len };
	}
	/* The frames are ours now (their addresses are copied): the kernel may reuse the slots. */
	xsk_ring_cons__release(&s->rx, n);
	return n;
}

/* pktio tx_burst: as much as the TX ring has room for, then one kick. */
static unsigned int xq_tx_burst(struct pktio *io, unsigned int worker, unsigned int q,
				const struct pktio_frame *f, unsigned int n)
{
	struct xq_sock *s = xq_sock(xq_of(io), q, worker);
	__u32 room = xsk_prod_nb_free(&s->tx, n), idx = 0, i;

	if (room > n)
		room = n;
	if (room) {
		xsk_ring_prod__reserve(&s->tx, room, &idx);
		for (i = 0; i < room; i++)
			*xsk_ring_prod__tx_desc(&s->tx, idx + i) =
				(struct xdp_desc){ .addr = f[i].addr, .len = f[i].len };
		xsk_ring_prod__submit(&s->tx, room);
	}
	xq_kick(s);
	return room;
}

/* Take sent frames off one queue's completion ring (skipped if another worker is at it). */
static unsigned int xq_reap_queue(struct xq *xq, struct xq_queue *q, struct pool_cache *c)
{
	__u32 n, idx, i;

	if (pthread_spin_trylock(&q->comp_lock))
		return 0;
	n = xsk_ring_cons__peek(&q->comp, 4 * XQ_BURST, &idx);
	for (i = 0; i < n; i++) {
		__u64 addr = *xsk_ring_cons__comp_addr(&q->comp, idx + i);

		pool_cache_free(c, pool_frame_base(&xq->pool, addr));
	}
	if (n)
		xsk_ring_cons__release(&q->comp, n);
	pthread_spin_unlock(&q->comp_lock);
	return n;
}

/* pktio reap: every queue's completions (at most 4 bursts each). */
static unsigned int xq_reap(struct pktio *io, unsigned int worker, struct pool_cache *c)
{
	struct xq *xq = xq_of(io);
	unsigned int q, n = 0;

	for (q = 0; q < xq->nr_queues; q++)
		n += xq_reap_queue(xq, &xq->queues[q], c);
	return n;
}

/* Top up one queue's fill ring from @c, at most a few bursts (skipped if another worker is). */
static unsigned int xq_refill_queue(struct xq_queue *q, struct pool_cache *c)
{
	unsigned int total = 0, round;

	if (pthread_spin_trylock(&q->fill_lock))
		return 0;
	for (round = 0; round < 4; round++) {
		__u64 addr[XQ_BURST];
		__u32 n, got = 0, idx = 0, i;

		n = xsk_prod_nb_free(&q->fill, XQ_BURST);
		if (n < XQ_BURST)
			break; /* refill in whole bursts: one ring update per 64 frames */
		while (got < XQ_BURST && pool_cache_alloc(c, &addr[got]))
			got++;
		if (!got)
			break;
		xsk_ring_prod__reserve(&q->fill, got, &idx);
		for (i = 0; i < got; i++)
			*xsk_ring_prod__fill_addr(&q->fill, idx + i) = addr[i];
		xsk_ring_prod__submit(&q->fill, got);
		total += got;
		if (got < XQ_BURST)
			break;
	}
	pthread_spin_unlock(&q->fill_lock);
	return total;
}

/* pktio refill: every queue's fill ring. */
static unsigned int xq_refill(struct pktio *io, unsigned int worker, struct pool_cache *c)
{
	struct xq *xq = xq_of(io);
	unsigned int q, n = 0;

	for (q = 0; q < xq->nr_queues; q++)
		n += xq_refill_queue(&xq->queues[q], c);
	return n;
}

/* pktio flush: copy-mode TX sends 32 frames per kick, so kick the worker's sockets again. */
static unsigned int xq_flush(struct pktio *io, unsigned int worker)
{
	struct xq *xq = xq_of(io);
	unsigned int q, kicks, pending = 0;

	for (q = 0; q < xq->nr_queues; q++) {
		struct xq_sock *s = xq_sock(xq, q, worker);

		for (kicks = 0; kicks < XQ_KICKS_MAX && xq_tx_pending(s); kicks++)
			xq_kick(s);
		pending += xq_tx_pending(s);
	}
	return pending;
}

/* pktio wait_fds: the worker's socket on every queue. */
static unsigned int xq_wait_fds(struct pktio *io, unsigned int worker, struct pollfd *pfd,
				unsigned int max)
{
	struct xq *xq = xq_of(io);
	unsigned int q;

	for (q = 0; q < xq->nr_queues && q < max; q++)
		pfd[q] = (struct pollfd){ .fd = xq_sock(xq, q, worker)->fd, .events = POLLIN };
	return q;
}

/* pktio set_owner: the XDP program's fg_owner map. */
static int xq_set_owner(struct pktio *io, __u32 fg, __u32 worker)
{
	return steer_set_owner(xq_of(io)->steer, fg, worker);
}

static void xq_sock_stats(const struct xq_sock *s, struct xdp_statistics *st)
{
	socklen_t len = sizeof(*st);

	if (getsockopt(s->fd, SOL_XDP, XDP_STATISTICS, st, &len))
		memset(st, 0, sizeof(*st));
}

/* Ring occupancy, read from another thread's rings: a snapshot, exact only when idle. */
static __u32 xq_ring_used(const __u32 *prod, const __u32 *cons)
{
	return __atomic_load_n(prod, __ATOMIC_ACQUIRE) - __atomic_load_n(cons, __ATOMIC_ACQUIRE);
}

/* pktio stats: the sockets' XDP_STATISTICS and what every ring holds. */
static void xq_stats(struct pktio *io, struct pktio_stats *st)
{
	struct xq *xq = xq_of(io);
	unsigned int q, w;

	memset(st, 0, sizeof(*st));
	for (q = 0; q < xq->nr_queues; q++) {
		struct xq_queue *qu = &xq->queues[q];

		st->frames_held += xq_ring_used(qu->fill.producer, qu->fill.consumer);
		st->frames_held += xq_ring_used(qu->comp.producer, qu->comp.consumer);
		for (w = 0; w < xq->nr_workers; w++) {
			struct xq_sock *s = xq_sock(xq, q, w);
			struct xdp_statistics xs;

			st->frames_held += xq_ring_used(s->rx.producer, s->rx.consumer);
			st->frames_held += xq_ring_used(s->tx.producer, s->tx.consumer);
			xq_sock_stats(s, &xs);
			st->rx_dropped[w] += xs.rx_dropped + xs.rx_ring_full;
			if (!w) /* a per-queue counter, the same on every socket of the queue */
				st->fill_empty[q] = xs.rx_fill_ring_empty_descs;
		}
	}
}

/* Close every socket, release the umem and the pool.  Safe on a partly opened @xq. */
static void xq_teardown(struct xq *xq)
{
	unsigned int i, n = xq->nr_queues * xq->nr_workers;

	/* Sockets joined by hand first: libxdp tears the queue's rings down with its socket. */
	for (i = 0; xq->socks && i < n; i++)
		if (!xq->socks[i].xsk)
			xq_sock_close(&xq->socks[i]);
	for (i = 0; xq->socks && i < n; i++)
		xq_sock_close(&xq->socks[i]);
	if (xq->umem && xsk_umem__delete(xq->umem))
		pr_warn("umem still in use at close");
	free(xq->queues);
	free(xq->socks);
	pool_close(&xq->pool);
	free(xq);
}

/* pktio close */
static void xq_close(struct pktio *io)
{
	xq_teardown(xq_of(io));
}

static const struct pktio_ops xq_ops = {
	.rx_burst = xq_rx_burst,
	.tx_burst = xq_tx_burst,
	.reap = xq_reap,
	.refill = xq_refill,
	.flush = xq_flush,
	.wait_fds = xq_wait_fds,
	.set_owner = xq_set_owner,
	.stats = xq_stats,
	.close = xq_close,
};

/* Put every socket into its XSKMAP slot, queue * W + worker (what the program redirects to). */
static int xq_publish(struct xq *xq)
{
	unsigned int q, w;
	int ret;

	for (q = 0; q < xq->nr_queues; q++) {
		for (w = 0; w < xq->nr_workers; w++) {
			ret = steer_set_xsk(xq->steer, q * xq->nr_workers + w,
					    xq_sock(xq, q, w)->fd);
			if (ret) {
				pr_err("XSKMAP slot %u: %s", q * xq->nr_workers + w,
				       strerror(-ret));
				return ret;
			}
		}
	}
	return 0;
}

/**
 * xq_open - the AF_XDP backend: allocate the frame pool (the umem), bind the socket matrix on
 * @p->ifname and enter every socket in @steer's XSKMAP.
 * @io:    receives the backend
 * @p:     parameters
 * @steer: the loaded XDP program; frames reach the sockets only once it is configured
 *
 * The fill rings are supplied.
 *
 * Return: 0, or a negative errno (with the cause logged) and nothing left allocated.
 */
int xq_open(struct pktio **io, const struct xq_params *p, struct steer *steer)
{
	struct xsk_umem_config ucfg;
	unsigned int q, w, frames, fill, comp;
	struct xq *xq;
	int ret;

	frames = xq_frames_needed(p, &fill, &comp);
	if (p->frames) {
		if (p->frames < frames)
			pr_warn("frames = %u is below the %u that keep every ring supplied",
				p->frames, frames);
		frames = p->frames;
	}
	if (frames < (unsigned long)p->nr_queues * fill + p->nr_workers * 2 * POOL_SLAB) {
		pr_err("frames = %u cannot even fill the %u fill rings of %u entries", frames,
		       p->nr_queues, fill);
		return -EINVAL;
	}

	xq = calloc(1, sizeof(*xq));
	if (!xq)
		return -ENOMEM;
	xq->io = (struct pktio){
		.ops = &xq_ops,
		.name = "AF_XDP",
		.pool = &xq->pool,
		.nr_queues = p->nr_queues,
		.nr_workers = p->nr_workers,
	};
	xq->steer = steer;
	xq->nr_queues = p->nr_queues;
	xq->nr_workers = p->nr_workers;
	xq->fill_size = fill;
	xq->comp_size = comp;

	ret = pool_open(&xq->pool, frames, p->frame_size);
	if (ret) {
		pr_err("umem of %u frames: %s", frames, strerror(-ret));
		goto err_free;
	}
	frames = xq->pool.nr_frames;

	xq->queues = calloc(p->nr_queues, sizeof(*xq->queues));
	xq->socks = calloc(p->nr_queues * p->nr_workers, sizeof(*xq->socks));
	if (!xq->queues || !xq->socks) {
		free(xq->queues);
		free(xq->socks);
		xq->queues = NULL;
		xq->socks = NULL;
		ret = -ENOMEM;
		goto err_teardown;
	}
	for (q = 0; q < p->nr_queues; q++) {
		xq->queues[q].id = q;
		pthread_spin_init(&xq->queues[q].fill_lock, PTHREAD_PROCESS_PRIVATE);
		pthread_spin_init(&xq->queues[q].comp_lock, PTHREAD_PROCESS_PRIVATE);
		for (w = 0; w < p->nr_workers; w++) {
			struct xq_sock *s = xq_sock(xq, q, w);

			s->fd = -1;
			s->queue = q;
			s->worker = w;
		}
	}

	ucfg = (struct xsk_umem_config){
		.fill_size = fill,
		.comp_size = comp,
		.frame_size = p->frame_size,
		.frame_headroom = 0,
		.flags = 0,
	};
	ret = xsk_umem__create(&xq->umem, xq->pool.area, xq->pool.size, &xq->queues[0].fill,
			       &xq->queues[0].comp, &ucfg);
	if (ret) {
		pr_err("AF_XDP umem registration (%zu bytes): %s", xq->pool.size, strerror(-ret));
		goto err_teardown;
	}

	for (q = 0; q < p->nr_queues; q++) {
		for (w = 0; w < p->nr_workers; w++) {
			struct xq_sock *s = xq_sock(xq, q, w);

			if (w == 0 && q == 0)
				ret = xq_create_q0(xq, p, s);
			else if (w == 0)
				ret = xq_create_first(xq, p, s, 0);
			else
				ret = xq_bind_shared(s, p->ifindex, xq_sock(xq, q, 0)->fd,
						     p->rx_ring, p->tx_ring);
			if (ret) {
				pr_err("%s: AF_XDP socket for queue %u, worker %u: %s", p->ifname,
				       q, w, strerror(-ret));
				goto err_teardown;
			}
		}
	}
	xq_fill_initial(xq);
	ret = xq_publish(xq);
	if (ret)
		goto err_teardown;
	pr_info("%s: umem %zu MiB (%u frames of %u, %s), %u queues x %u workers, %s mode",
		p->ifname, xq->pool.size >> 20, frames, p->frame_size,
		xq->pool.hugepages ? "hugepages" : "4 KiB pages", p->nr_queues, p->nr_workers,
		xq->io.zerocopy ? "zero-copy" : "copy");
	*io = &xq->io;
	return 0;

err_teardown:
	xq_teardown(xq);
	return ret;
err_free:
	free(xq);
	return ret;
}
