/* SPDX-License-Identifier: GPL-2.0 */
/*
 * chan.h - a worker's side of the app channels (include/ixdp/app.h): it takes commands from
 * every attached context's ring, drives the app connections of its TCP stack, and writes
 * events back.  Everything here runs on the worker's thread; nothing an app writes is trusted.
 */
#ifndef IXDP_CHAN_H
#define IXDP_CHAN_H

#include <poll.h>
#include <stdbool.h>

#include <linux/types.h>

#include "app/ctx.h"
#include "app/listen.h"
#include "net/fg.h"
#include "tcp/stack.h"

/*
 * The rx area's allocation unit.  Every connection with bytes the app has not given back holds
 * at least one: small, so 10,000 connections with a request each fit (2 KiB chunks ran out at
 * 2,048 connections per worker), at the cost of up to 3 RECV events per full segment.
 */
#define CHAN_RX_CHUNK 512
#define CHAN_CMD_BUDGET 64	/* commands taken from one context per loop iteration */
#define CHAN_DELIVER_BUDGET 256	/* pending connections visited per context per iteration */
#define CHAN_WAKE_BATCH 64	/* wakeup datagrams read by one recvmmsg() */
#define CHAN_WAKE_DRAIN 16	/* recvmmsg() calls per context per wakeup: 1,024 datagrams */
#define CHAN_PORT_TRIES 1024	/* source ports tried per CONNECT */
#define CHAN_PORT_BACKOFF_NS 10000000 /* no scan this long after one found no port */
#define CHAN_CTX_CONNS 16384	/* default app-ctx-conns: connections per context per worker */
#define CHAN_CONNS_MAX (1u << 24) /* per worker: the handle's slot field */
#define CHAN_PAGE_CONNS 4096	/* connection slots are allocated in pages, never moved */

struct chan;

/* Written by the worker only; read relaxed by the control thread. */
struct chan_stats {
	union {			/* include/ixdp/ctl.h's list: by name, or as the block (c) */
		struct ixdp_ctl_app_counters c;
		struct {
			IXDP_CTL_APP_COUNTERS(IXDP_CTL_U64)
		};
	};
	__u32 conns;		/* app connections (every state) */
	__u32 contexts;
};

struct chan_cfg {
	unsigned int worker;
	const struct fg_table *fg;
	__u32 hash_seed;
	__u32 fg_mask;
	__u16 eph_lo;		/* the reserved ephemeral range: source ports of connects */
	__u16 eph_hi;
	struct listen_reg *listens;	/* the listen registry */
	unsigned int ctx_conns;	/* connections a context may hold on this worker; 0: default */
};

int chan_open(struct chan **cp, const struct chan_cfg *cfg, struct stack *s);
void chan_close(struct chan *c);
int chan_attach(struct chan *c, struct app_ctx *a);
int chan_detach(struct chan *c, struct app_ctx *a);
unsigned int chan_commands(struct chan *c);
unsigned int chan_deliver(struct chan *c);
bool chan_sleep_begin(struct chan *c, bool *blocked);
void chan_sleep_end(struct chan *c);
unsigned int chan_pollfds(const struct chan *c, struct pollfd *pfd, unsigned int max);
const struct chan_stats *chan_stats(const struct chan *c);

#endif /* IXDP_CHAN_H */
