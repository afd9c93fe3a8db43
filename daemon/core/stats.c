// SPDX-License-Identifier: GPL-2.0
/*
 * stats.c - the IXDP_CTL_STATS reply: the daemon's counters gathered from the XDP maps, the
 * AF_XDP sockets (XDP_STATISTICS) and the workers, in the layout of include/ixdp/ctl.h.
 */
#include <errno.h>
#include <linux/if_xdp.h>
#include <string.h>
#include <sys/socket.h>

#include "core/clock.h"
#include "core/ixdpd.h"
#include "core/log.h"

static void stats_xsk(const struct xq_sock *s, struct xdp_statistics *st)
{
	socklen_t len = sizeof(*st);

	if (getsockopt(s->fd, SOL_XDP, XDP_STATISTICS, st, &len))
		memset(st, 0, sizeof(*st));
}

static void stats_worker(struct ixdpd *d, struct worker *w, struct ixdp_ctl_worker *o)
{
	const struct worker_stats *st = &w->st;
	unsigned int q;

	memset(o, 0, sizeof(*o));
	o->id = w->id;
	o->cpu = w->cpu;
	o->rx_packets = STAT_READ(st->rx_packets);
	o->rx_bytes = STAT_READ(st->rx_bytes);
	o->tx_packets = STAT_READ(st->tx_packets);
	o->tx_bytes = STAT_READ(st->tx_bytes);
	o->rx_invalid = STAT_READ(st->rx_invalid);
	o->rx_unhandled = STAT_READ(st->rx_unhandled);
	o->rx_dropped = o->rx_invalid + o->rx_unhandled;
	o->tx_dropped = STAT_READ(st->tx_dropped);
	o->misrouted = STAT_READ(st->misrouted);
	o->sleeps = STAT_READ(st->sleeps);
	o->cpu_lost = STAT_READ(st->cpu_lost);
	o->busy_ns = STAT_READ(st->busy_ns);
	o->cpu_ns = worker_cpu_ns(w);
	o->busy_pct_x100 = w->busy_pct_x100;
	o->cpu_pct_x100 = w->cpu_pct_x100;
	o->flow_groups = fg_count_owned(&d->fg, w->id);
	o->rx_bursts = STAT_READ(st->rx_bursts);
	o->rx_burst = STAT_READ(st->burst);
	if (w->stack) {
		const struct stack_stats *t = stack_stats(w->stack);

		o->tcp_conns = STAT_READ(t->conns);
		o->tcp_time_wait = STAT_READ(t->time_wait);
		o->tcp_opened = STAT_READ(t->conns_opened);
		o->tcp_closed = STAT_READ(t->conns_closed);
		o->tcp_segs_in = STAT_READ(t->segs_in);
		o->tcp_segs_out = STAT_READ(t->segs_out);
		o->tcp_retrans = STAT_READ(t->retrans);
		o->tcp_acks_coalesced = STAT_READ(t->acks_coalesced);
		o->tcp_dropped = STAT_READ(t->rx_not_local) + STAT_READ(t->rx_nomem) +
				 STAT_READ(t->tx_nobuf) + STAT_READ(t->tx_unresolved);
		o->tcp_bytes_in = STAT_READ(t->bytes_in);
		o->tcp_bytes_out = STAT_READ(t->bytes_out);
		o->tcp_tw_reused = STAT_READ(t->tw_reused);
		o->tcp_syn_dropped = STAT_READ(t->syn_dropped);
	}
	if (w->chan) {
		const struct chan_stats *a = chan_stats(w->chan);

		o->app_cmds = STAT_READ(a->cmds);
		o->app_cmds_bad = STAT_READ(a->cmds_bad);
		o->app_events = STAT_READ(a->events);
		o->app_ev_full = STAT_READ(a->ev_full);
		o->app_conns = STAT_READ(a->conns);
		o->app_contexts = STAT_READ(a->contexts);
		o->app_knocks_refused = STAT_READ(a->knocks_refused);
		o->app_conns_capped = STAT_READ(a->conns_capped);
		o->app_moves = STAT_READ(a->moves);
		o->app_moves_refused = STAT_READ(a->moves_refused);
	}
	for (q = 0; q < d->nr_queues; q++) {
		struct xdp_statistics xs;

		stats_xsk(xq_sock(&d->xq, q, w->id), &xs);
		o->xsk_rx_dropped += xs.rx_dropped + xs.rx_ring_full;
	}
}

/* Ring occupancy, read from another thread's rings: a snapshot, exact only when idle. */
static __u32 stats_ring(const __u32 *prod, const __u32 *cons)
{
	return __atomic_load_n(prod, __ATOMIC_ACQUIRE) - __atomic_load_n(cons, __ATOMIC_ACQUIRE);
}

/*
 * Frames the kernel holds.  With frames_free, it accounts for every frame of an idle daemon:
 * frames = free + kernel, or a frame leaked.
 */
static __u64 stats_kernel_frames(struct ixdpd *d)
{
	unsigned int q, w;
	__u64 n = 0;

	for (q = 0; q < d->nr_queues; q++) {
		struct xq_queue *xq = &d->xq.queues[q];

		n += stats_ring(xq->fill.producer, xq->fill.consumer);
		n += stats_ring(xq->comp.producer, xq->comp.consumer);
		for (w = 0; w < d->cfg.workers; w++) {
			struct xq_sock *s = xq_sock(&d->xq, q, w);

			n += stats_ring(s->rx.producer, s->rx.consumer);
			n += stats_ring(s->tx.producer, s->tx.consumer);
		}
	}
	return n;
}

/**
 * ixdpd_stats - append the IXDP_CTL_STATS payload to @b.
 * @d: running daemon
 * @b: reply buffer
 *
 * Return: 0, or -ENOMEM (with nothing appended that the client would misread).
 */
int ixdpd_stats(struct ixdpd *d, struct ctl_buf *b)
{
	size_t start = b->len;
	unsigned int nw = d->cfg.workers, nfg = d->fg.nr, w, q, g;
	struct ixdp_ctl_stats *s;
	struct ixdp_ctl_worker *wo;
	struct ixdp_ctl_queue *qo;
	struct ixdp_ctl_fg *fo;
	__u64 *fgw, cached = 0;

	s = ctl_buf_reserve(b, sizeof(*s) + nw * sizeof(*wo) + d->nr_queues * sizeof(*qo) +
				   nfg * sizeof(*fo) + (size_t)nfg * nw * sizeof(*fgw));
	if (!s) {
		b->len = start;
		return -ENOMEM;
	}
	wo = (struct ixdp_ctl_worker *)(s + 1);
	qo = (struct ixdp_ctl_queue *)(wo + nw);
	fo = (struct ixdp_ctl_fg *)(qo + d->nr_queues);
	fgw = (__u64 *)(fo + nfg);

	memset(s, 0, sizeof(*s));
	snprintf(s->ifname, sizeof(s->ifname), "%s", d->nif.name);
	s->ifindex = d->nif.ifindex;
	s->xdp_mode = d->cfg.xdp_mode == CFG_XDP_NATIVE	 ? IXDP_CTL_XDP_NATIVE :
		      d->cfg.xdp_mode == CFG_XDP_GENERIC ? IXDP_CTL_XDP_GENERIC :
							   IXDP_CTL_XDP_EXTERNAL;
	s->xdp_native = d->steer.attached_native;
	s->zerocopy = d->xq.zerocopy;
	s->hugepages = d->xq.hugepages;
	s->nr_workers = nw;
	s->nr_queues = d->nr_queues;
	s->nr_fg = nfg;
	s->reflect_udp = d->cfg.reflect_udp;
	s->echo_tcp = d->cfg.echo_tcp;
	s->sink_tcp = d->cfg.sink_tcp;
	s->tcp = d->tcp;
	s->hash_seed = d->cfg.hash_seed;
	s->hash_seed_random = d->cfg.hash_seed_random;
	s->hash_seed_shown = 1;
	s->frame_size = d->xq.frame_size;
	s->xdp_prog_id = d->steer.prog_id;
	s->uptime_ns = clock_now_ns() - d->start_ns;
	s->umem_bytes = d->xq.size;
	s->pool_frames = d->xq.pool.nr_frames;
	if (d->apps_open) {
		s->apps = apps_count(&d->apps);
		s->apps_attached = d->apps.attached;
		s->apps_detached = d->apps.detached;
		s->apps_refused = d->apps.refused;
	}
	steer_read_counters(&d->steer, s->xdp);

	for (w = 0; w < nw; w++) {
		stats_worker(d, &d->workers[w], &wo[w]);
		cached += __atomic_load_n(&d->workers[w].cache.n, __ATOMIC_RELAXED);
	}
	s->pool_free = xq_pool_free_frames(&d->xq.pool) + cached;
	s->pool_kernel = stats_kernel_frames(d);

	for (q = 0; q < d->nr_queues; q++) {
		struct xdp_statistics xs;

		stats_xsk(xq_sock(&d->xq, q, 0), &xs);
		memset(&qo[q], 0, sizeof(qo[q]));
		qo[q].id = q;
		qo[q].fill_empty = xs.rx_fill_ring_empty_descs;
	}

	for (g = 0; g < nfg; g++) {
		struct ixdp_fg_stats fs = { 0 };

		steer_read_fg(&d->steer, g, &fs);
		fo[g] = (struct ixdp_ctl_fg){
			.id = g,
			.owner = fg_owner(&d->fg, g),
			.packets = fs.packets,
			.bytes = fs.bytes,
		};
		for (w = 0; w < nw; w++) {
			fgw[(size_t)g * nw + w] = STAT_READ(d->workers[w].fg_packets[g]);
			if (d->workers[w].stack)
				fo[g].conns += STAT_READ(stack_stats(d->workers[w].stack)->fg_conns[g]);
		}
	}
	return 0;
}

/**
 * ixdpd_check_rings - warn (at most once a minute) when the kernel dropped frames because an
 * AF_XDP ring was full (RX) or empty (fill): each one costs its sender a retransmission timeout,
 * and the cure is configuration, so the warning says which.
 * @d:   running daemon
 * @now: CLOCK_MONOTONIC, nanoseconds
 */
void ixdpd_check_rings(struct ixdpd *d, __u64 now)
{
	__u64 full = 0, empty = 0;
	unsigned int q, w;

	for (q = 0; q < d->nr_queues; q++) {
		for (w = 0; w < d->cfg.workers; w++) {
			struct xdp_statistics xs;

			stats_xsk(xq_sock(&d->xq, q, w), &xs);
			full += xs.rx_ring_full + xs.rx_dropped;
			if (!w) /* a per-queue counter, the same on every socket of the queue */
				empty += xs.rx_fill_ring_empty_descs;
		}
	}
	if (now - d->ring_warned_ns >= 60000000000ull || !d->ring_warned_ns) {
		if (full > d->ring_full)
			pr_warn("the kernel dropped %llu frames since the last report: AF_XDP RX ring "
				"full (rx-ring %u per socket; a burst of one segment from every "
				"connection must fit)",
				(unsigned long long)(full - d->ring_full), d->cfg.rx_ring);
		if (empty > d->ring_empty)
			pr_warn("the kernel dropped %llu frames since the last report: fill ring "
				"empty (fill-ring, frames)",
				(unsigned long long)(empty - d->ring_empty));
		if (full > d->ring_full || empty > d->ring_empty) {
			d->ring_warned_ns = now;
			d->ring_full = full;
			d->ring_empty = empty;
		}
	}
}
