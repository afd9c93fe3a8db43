// SPDX-License-Identifier: GPL-2.0
/*
 * xq.c - the umem, its frame pool, and the (queue x worker) AF_XDP socket matrix.
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

#include "core/log.h"
#include "net/xq.h"

#define XQ_HUGEPAGE (2u << 20)

/**
 * xq_pool_init - a pool holding every frame of a umem of @nr_frames frames.
 * @p:          pool
 * @nr_frames:  frames in the umem
 * @frame_size: bytes per frame
 *
 * Return: 0 or -ENOMEM.
 */
int xq_pool_init(struct xq_pool *p, __u32 nr_frames, __u32 frame_size)
{
	__u32 i;

	p->stack = calloc(nr_frames, sizeof(*p->stack));
	if (!p->stack)
		return -ENOMEM;
	for (i = 0; i < nr_frames; i++)
		p->stack[i] = (__u64)(nr_frames - 1 - i) * frame_size;
	p->nr_free = nr_frames;
	p->nr_frames = nr_frames;
	pthread_mutex_init(&p->lock, NULL);
	return 0;
}

/**
 * xq_pool_destroy - free the pool's bookkeeping.
 * @p: pool
 */
void xq_pool_destroy(struct xq_pool *p)
{
	free(p->stack);
	p->stack = NULL;
	pthread_mutex_destroy(&p->lock);
}

/**
 * xq_pool_get - take up to @n frames.
 * @p:    pool
 * @addr: receives the frame addresses
 * @n:    frames wanted
 *
 * Return: frames taken (fewer when the pool runs low).
 */
__u32 xq_pool_get(struct xq_pool *p, __u64 *addr, __u32 n)
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
 * xq_pool_put - return @n frames.
 * @p:    pool
 * @addr: frame base addresses
 * @n:    count
 */
void xq_pool_put(struct xq_pool *p, const __u64 *addr, __u32 n)
{
	pthread_mutex_lock(&p->lock);
	memcpy(&p->stack[p->nr_free], addr, n * sizeof(*addr));
	p->nr_free += n;
	pthread_mutex_unlock(&p->lock);
}

/**
 * xq_pool_free_frames - frames on the shared stack right now (caches not included).
 * @p: pool
 *
 * Return: the count.
 */
__u32 xq_pool_free_frames(struct xq_pool *p)
{
	return __atomic_load_n(&p->nr_free, __ATOMIC_RELAXED);
}

/**
 * xq_cache_init - an empty worker cache over @p.
 * @c: cache
 * @p: pool it draws from
 */
void xq_cache_init(struct xq_cache *c, struct xq_pool *p)
{
	c->n = 0;
	c->pool = p;
}

/**
 * xq_cache_flush - give every cached frame back to the pool.
 * @c: cache
 */
void xq_cache_flush(struct xq_cache *c)
{
	xq_pool_put(c->pool, c->addr, c->n);
	__atomic_store_n(&c->n, 0, __ATOMIC_RELAXED);
}

void __xq_cache_refill(struct xq_cache *c)
{
	c->n += xq_pool_get(c->pool, &c->addr[c->n], XQ_SLAB);
}

void __xq_cache_spill(struct xq_cache *c)
{
	c->n -= XQ_SLAB;
	xq_pool_put(c->pool, &c->addr[c->n], XQ_SLAB);
}

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
	    p->nr_workers * 2 * XQ_SLAB;
	n = (n + per_page - 1) / per_page * per_page;
	return n;
}

/* The umem lives in a memfd so that later it can be mapped read-only into app processes. */
static int xq_umem_alloc(struct xq *xq, size_t size)
{
	int fd, ret;

	xq->size = (size + XQ_HUGEPAGE - 1) & ~(size_t)(XQ_HUGEPAGE - 1);
	fd = memfd_create("ixdp-umem", MFD_CLOEXEC | MFD_HUGETLB);
	if (fd >= 0) {
		if (!ftruncate(fd, xq->size)) {
			xq->area = mmap(NULL, xq->size, PROT_READ | PROT_WRITE,
					MAP_SHARED | MAP_POPULATE, fd, 0);
			if (xq->area != MAP_FAILED) {
				xq->memfd = fd;
				xq->hugepages = true;
				return 0;
			}
		}
		close(fd);
	}

	fd = memfd_create("ixdp-umem", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, xq->size))
		goto err_close;
	xq->area = mmap(NULL, xq->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (xq->area == MAP_FAILED)
		goto err_close;
	xq->memfd = fd;
	xq->hugepages = false;
	return 0;

err_close:
	ret = -errno;
	close(fd);
	xq->area = NULL;
	return ret;
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
	xq->zerocopy = opts.flags & XDP_OPTIONS_ZEROCOPY;
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
			n = xq_pool_get(&xq->pool, addr, n < XQ_BURST ? n : XQ_BURST);
			if (!n)
				break;
			xsk_ring_prod__reserve(&qu->fill, n, &idx);
			for (i = 0; i < n; i++)
				*xsk_ring_prod__fill_addr(&qu->fill, idx + i) = addr[i];
			xsk_ring_prod__submit(&qu->fill, n);
		}
	}
}

/**
 * xq_open - allocate the umem and bind the socket matrix on @p->ifname.
 * @xq: zeroed on entry; filled on success
 * @p:  parameters
 *
 * Sockets are bound but not yet in any XSKMAP: no frame arrives until the caller inserts them.
 * The fill rings are supplied.
 *
 * Return: 0, or a negative errno (with the cause logged) and nothing left allocated.
 */
int xq_open(struct xq *xq, const struct xq_params *p)
{
	struct xsk_umem_config ucfg;
	unsigned int q, w, frames, fill, comp;
	int ret;

	frames = xq_frames_needed(p, &fill, &comp);
	if (p->frames) {
		if (p->frames < frames)
			pr_warn("frames = %u is below the %u that keep every ring supplied",
				p->frames, frames);
		frames = p->frames;
	}
	if (frames < (unsigned long)p->nr_queues * fill + p->nr_workers * 2 * XQ_SLAB) {
		pr_err("frames = %u cannot even fill the %u fill rings of %u entries", frames,
		       p->nr_queues, fill);
		return -EINVAL;
	}

	memset(xq, 0, sizeof(*xq));
	xq->memfd = -1;
	xq->frame_size = p->frame_size;
	xq->nr_queues = p->nr_queues;
	xq->nr_workers = p->nr_workers;
	xq->fill_size = fill;
	xq->comp_size = comp;

	ret = xq_umem_alloc(xq, (size_t)frames * p->frame_size);
	if (ret) {
		pr_err("umem of %u frames: %s", frames, strerror(-ret));
		return ret;
	}
	frames = xq->size / p->frame_size;
	ret = xq_pool_init(&xq->pool, frames, p->frame_size);
	if (ret)
		goto err_area;

	xq->queues = calloc(p->nr_queues, sizeof(*xq->queues));
	xq->socks = calloc(p->nr_queues * p->nr_workers, sizeof(*xq->socks));
	if (!xq->queues || !xq->socks) {
		ret = -ENOMEM;
		goto err_arrays;
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
	ret = xsk_umem__create(&xq->umem, xq->area, xq->size, &xq->queues[0].fill,
			       &xq->queues[0].comp, &ucfg);
	if (ret) {
		pr_err("AF_XDP umem registration (%zu bytes): %s", xq->size, strerror(-ret));
		goto err_arrays;
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
				goto err_socks;
			}
		}
	}
	xq_fill_initial(xq);
	pr_info("%s: umem %zu MiB (%u frames of %u, %s), %u queues x %u workers, %s mode",
		p->ifname, xq->size >> 20, frames, p->frame_size,
		xq->hugepages ? "hugepages" : "4 KiB pages", p->nr_queues, p->nr_workers,
		xq->zerocopy ? "zero-copy" : "copy");
	return 0;

err_socks:
	xq_close(xq);
	return ret;
err_arrays:
	free(xq->queues);
	free(xq->socks);
	xq_pool_destroy(&xq->pool);
err_area:
	munmap(xq->area, xq->size);
	close(xq->memfd);
	memset(xq, 0, sizeof(*xq));
	return ret;
}

/**
 * xq_close - close every socket, release the umem.  Safe on a partly opened @xq.
 * @xq: matrix
 */
void xq_close(struct xq *xq)
{
	unsigned int i, n = xq->nr_queues * xq->nr_workers;

	if (!xq->area)
		return;
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
	xq_pool_destroy(&xq->pool);
	munmap(xq->area, xq->size);
	close(xq->memfd);
	memset(xq, 0, sizeof(*xq));
}

/**
 * xq_refill - top up a queue's fill ring from @c, at most a few bursts.
 * @q: queue
 * @c: the calling worker's cache
 *
 * Return: frames given to the kernel (0 also when another worker holds the ring).
 */
unsigned int xq_refill(struct xq_queue *q, struct xq_cache *c)
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
		while (got < XQ_BURST && xq_cache_alloc(c, &addr[got]))
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

/**
 * xq_reap - take sent frames off a queue's completion ring into @c.
 * @q:          queue
 * @c:          the calling worker's cache
 * @frame_size: umem frame size
 *
 * Return: frames reaped.
 */
unsigned int xq_reap(struct xq_queue *q, struct xq_cache *c, __u32 frame_size)
{
	__u32 n, idx, i;

	if (pthread_spin_trylock(&q->comp_lock))
		return 0;
	n = xsk_ring_cons__peek(&q->comp, 4 * XQ_BURST, &idx);
	for (i = 0; i < n; i++) {
		__u64 addr = *xsk_ring_cons__comp_addr(&q->comp, idx + i);

		xq_cache_free(c, xq_frame_base(addr, frame_size));
	}
	if (n)
		xsk_ring_cons__release(&q->comp, n);
	pthread_spin_unlock(&q->comp_lock);
	return n;
}

/**
 * xq_kick - ask the kernel to send what the socket's TX ring holds.
 * @s: socket
 *
 * Copy mode sends at most 32 frames per call and needs a call for every batch (the TX ring's
 * need-wakeup flag stays set); the caller kicks again while frames are pending.
 *
 * Return: 0, or a negative errno that is not a transient condition.
 */
int xq_kick(struct xq_sock *s)
{
	if (!xsk_ring_prod__needs_wakeup(&s->tx))
		return 0;
	if (sendto(s->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
		return 0;
	switch (errno) {
	case EAGAIN:
	case EBUSY:
	case ENOBUFS:
	case ENETDOWN:
		return 0;
	}
	return -errno;
}
