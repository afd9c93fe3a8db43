/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ixdpd.h - the daemon as a whole: what the control thread holds and starts.
 *
 *   control thread (ixdpd_run): signals, control socket, 1 s stats sampling, the kernel's
 *                               neighbour/route tables (neigh.c), the interface's addresses
 *                               (netif.c)
 *   workers[0..W-1]:            worker.c loops over their queues of the packet I/O backend
 *   io:                         the packet I/O backend (net/pktio.h; AF_XDP: net/xq.c)
 *   w2w:                        the worker-to-worker frame rings (w2w.h)
 *   steer:                      the XDP program and its maps (net/steering.c)
 */
#ifndef IXDP_IXDPD_H
#define IXDP_IXDPD_H

#include "app/apps.h"
#include "core/config.h"
#include "core/control.h"
#include "core/w2w.h"
#include "core/worker.h"
#include "net/fg.h"
#include "net/neigh.h"
#include "net/netif.h"
#include "net/pktio.h"
#include "net/ports.h"
#include "net/steering.h"

struct ixdpd {
	struct ixdp_config cfg;
	struct netif nif;		/* its addresses follow the kernel's (watch) */
	struct netif_watch watch;
	unsigned int nr_queues;
	struct steer steer;
	struct pktio *io;
	struct w2w w2w;
	struct fg_table fg;
	struct worker *workers;
	unsigned int nr_workers_init;
	struct ctl ctl;
	struct ports ports;
	struct neigh neigh;
	struct apps apps;
	bool apps_open;
	int epfd;
	int sigfd;
	int timerfd;
	__u64 start_ns;
	__u64 ring_full;	/* backend RX-ring-full drops, as of the last warning */
	__u64 ring_empty;	/* RX-buffer-empty (fill ring) drops, as of the last warning */
	__u64 ring_warned_ns;
};

void ixdpd_init(struct ixdpd *d);
int ixdpd_check(struct ixdpd *d, char *err, size_t errlen);
int ixdpd_start(struct ixdpd *d);
int ixdpd_run(struct ixdpd *d);
void ixdpd_stop(struct ixdpd *d);
int ixdpd_stats(struct ixdpd *d, struct ctl_buf *b);
void ixdpd_check_rings(struct ixdpd *d, __u64 now);

#endif /* IXDP_IXDPD_H */
