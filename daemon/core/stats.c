// SPDX-License-Identifier: GPL-2.0
/*
 * stats.c - the IXDP_CTL_STATS reply: the daemon's counters gathered from the XDP maps, the
 * packet I/O backend (pktio_stats) and the workers, in the layout of include/ixdp/ctl.h.
 */
#include <errno.h>
#include <string.h>

#include "core/clock.h"
#include "core/ixdpd.h"
#include "core/log.h"

#define STATS_COPY(field, key, text) dst->field = STAT_READ(src->field);

/* The three counter blocks of include/ixdp/ctl.h, each read relaxed from the worker's. */
static void stats_worker_counters(struct ixdp_ctl_worker_counters *dst,
				  const struct ixdp_ctl_worker_counters *src)
{
	IXDP_CTL_WORKER_COUNTERS(STATS_COPY)
}

static void stats_tcp_counters(struct ixdp_ctl_tcp_counters *dst,
			       const struct ixdp_ctl_tcp_counters *src)
{
	IXDP_CTL_TCP_COUNTERS(STATS_COPY)
}

static void stats_app_counters(struct ixdp_ctl_app_counters *dst,
			       const struct ixdp_ctl_app_counters *src)
{
	IXDP_CTL_APP_COUNTERS(STATS_COPY)
}

static void stats_worker(struct ixdpd *d, struct worker *w, const struct pktio_stats *io,
			 struct ixdp_ctl_worker *o)
{
	const struct stack_stats *t = stack_stats(w->stack);
	const struct chan_stats *a = chan_stats(w->chan);

	memset(o, 0, sizeof(*o));
	o->id = w->id;
	o->cpu = w->cpu;
	o->busy_pct_x100 = w->busy_pct_x100;
	o->cpu_pct_x100 = w->cpu_pct_x100;
	o->flow_groups = fg_count_owned(&d->fg, w->id);
	o->rx_burst = STAT_READ(w->st.burst);
	o->cpu_ns = worker_cpu_ns(w);
	stats_worker_counters(&o->c, &w->st.c);
	o->tcp_conns = STAT_READ(t->conns);
	o->tcp_time_wait = STAT_READ(t->time_wait);
	o->tcp_half_open = STAT_READ(t->half_open);
	stats_tcp_counters(&o->tcp, &t->c);
	o->app_conns = STAT_READ(a->conns);
	o->app_contexts = STAT_READ(a->contexts);
	stats_app_counters(&o->app, &a->c);
	o->xsk_rx_dropped = io->rx_dropped[w->id];
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
	struct pktio_stats io;
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
	s->zerocopy = d->io->zerocopy;
	s->hugepages = d->io->pool->hugepages;
	s->nr_workers = nw;
	s->nr_queues = d->nr_queues;
	s->nr_fg = nfg;
	s->reflect_udp = d->cfg.reflect_udp;
	s->echo_tcp = d->cfg.echo_tcp;
	s->sink_tcp = d->cfg.sink_tcp;
	s->tcp = 1; /* every worker runs a stack */
	s->hash_seed = d->cfg.hash_seed;
	s->hash_seed_random = d->cfg.hash_seed_random;
	s->hash_seed_shown = 1;
	s->frame_size = d->io->pool->frame_size;
	s->xdp_prog_id = d->steer.prog_id;
	s->uptime_ns = clock_now_ns() - d->start_ns;
	s->umem_bytes = d->io->pool->size;
	s->pool_frames = d->io->pool->nr_frames;
	if (d->apps_open) {
		s->apps = apps_count(&d->apps);
		s->apps_attached = d->apps.attached;
		s->apps_detached = d->apps.detached;
		s->apps_refused = d->apps.refused;
	}
	steer_read_counters(&d->steer, s->xdp);
	pktio_stats(d->io, &io);

	for (w = 0; w < nw; w++) {
		stats_worker(d, &d->workers[w], &io, &wo[w]);
		cached += __atomic_load_n(&d->workers[w].cache.n, __ATOMIC_RELAXED);
	}
	/* With pool_kernel, every frame of an idle daemon: frames = free + kernel, or one leaked. */
	s->pool_free = pool_free_frames(d->io->pool) + cached;
	s->pool_kernel = io.frames_held;

	for (q = 0; q < d->nr_queues; q++) {
		memset(&qo[q], 0, sizeof(qo[q]));
		qo[q].id = q;
		qo[q].fill_empty = io.fill_empty[q];
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
 * ixdpd_check_rings - warn (at most once a minute) when the backend dropped frames because an
 * RX ring was full or the fill ring empty: each one costs its sender a retransmission timeout,
 * and the cure is configuration, so the warning says which.
 * @d:   running daemon
 * @now: CLOCK_MONOTONIC, nanoseconds
 */
void ixdpd_check_rings(struct ixdpd *d, __u64 now)
{
	__u64 full = 0, empty = 0;
	struct pktio_stats io;
	unsigned int q, w;

	pktio_stats(d->io, &io);
	for (w = 0; w < d->cfg.workers; w++)
		full += io.rx_dropped[w];
	for (q = 0; q < d->nr_queues; q++)
		empty += io.fill_empty[q];
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
