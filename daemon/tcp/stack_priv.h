/* SPDX-License-Identifier: GPL-2.0 */
/*
 * stack_priv.h - what the files of a worker's TCP stack (daemon/tcp/) share: struct stack, its
 * internal types, the per-frame helpers (static inline, so the hot path makes no calls across
 * files for them) and the stk_ functions one file calls in another.  Not for use outside
 * daemon/tcp/: the stack's API is stack.h.
 */
#ifndef IXDP_STACK_PRIV_H
#define IXDP_STACK_PRIV_H

#include <stdbool.h>
#include <string.h>

#include "core/stat.h"
#include "tcp/lwcopy.h"
#include "tcp/stack.h"

#define STK_HASH_MIN 1024
#define STK_TOMBSTONE ((struct tcp_pcb *)1)
#define STK_NOT_HALF (-1)		/* stk_slot.half_svc: not half-open */
#define STK_NO_SVC STACK_SERVICES_MAX	/* half-open, its listener gone */
#define STK_PENDING_MAX 64
#define STK_ACKS_MAX 128	/* pure ACKs held back per batch */
#define STK_DELACKS_MAX 1024	/* delayed ACKs tracked; beyond, tcp_fasttmr() sends them */
#define STK_OUTS_MAX 256	/* connections whose app bytes leave at the end of the batch */

/* One connection of the hash: its flow (as the parser sees incoming segments) and pcb. */
struct stk_slot {
	struct ixdp_flow key;
	struct tcp_pcb *pcb;	/* NULL: empty, STK_TOMBSTONE: deleted */
	__u32 snd_max;		/* highest sequence number sent + 1: later, lower ones are retransmits */
	__u32 gen;		/* timer generation that last saw the pcb */
	__u32 held;		/* 1 + index of its pure ACK in stack->acks, or 0 */
	__s16 half_svc;		/* SYN_RCVD: its listener's index in services[] (STK_NO_SVC: none) */
	bool delack;		/* on stack->delacks */
	bool out_due;		/* on stack->outs */
	bool tw;		/* in TIME_WAIT (lwIP's tw list, virtualised like the active one) */
};

/* A connection whose ACK lwIP delayed, and when to send it. */
struct stk_delack {
	struct ixdp_flow key;
	__u64 due;
};

/* A pure ACK held until the end of the batch, in case a later one in the batch covers it. */
struct stk_ack {
	struct ixdp_flow key;	/* its connection, as the demux hash knows it */
	__u8 *frame;		/* from tx_alloc, not yet committed; NULL once sent or dropped */
	__u32 len;
	__u32 ack;
	__u16 win;
};

/* What the output path needs to know about an outgoing TCP segment. */
struct stk_seg {
	struct ixdp_flow key;	/* the connection, keyed as incoming segments are */
	__u32 seq;
	__u32 ack;
	__u32 seglen;		/* sequence space it takes: payload, SYN, FIN */
	__u16 win;
	bool tcp;
	bool has_ack;		/* the ACK flag is set: ack is valid */
	bool pure_ack;		/* ACK flag only, no payload */
};

/* A frame that waits for its next hop's MAC. */
struct stk_pending {
	__u8 family;
	__u32 addr[4];
	__u64 deadline;
	__u32 len;
	__u8 *ip;		/* the IP packet, copied */
};

/* A connection of a service (echo, sink) or of an app. */
struct stack_conn {
	struct stack *s;
	struct tcp_pcb *pcb;
	enum stack_service_kind kind;
	bool peer_closed;
	/* echo */
	__u8 *held;		/* echo bytes that did not fit the send buffer yet */
	__u32 held_len;
	__u32 held_cap;
	/* app */
	void *arg;		/* the app layer's, passed to every stack_app_ops call */
	struct pbuf *rxq;	/* received, not yet read by the app layer */
	__u32 rxq_off;		/* bytes of rxq's first pbuf already read */
	__u32 unrecved;		/* received, window not yet given back (tcp_recved) */
	bool connecting;
};

struct stk_service {
	struct stack *s;
	__u16 port;
	enum stack_service_kind kind;
	struct tcp_pcb *lpcb;
	void *arg;		/* STACK_APP: the app layer's listener */
	__u32 half_open;	/* its connections in SYN_RCVD */
};

struct stack {
	struct lwcopy lw;
	struct stack_io io;
	struct stack_cfg cfg;
	struct netif netif[STACK_ADDRS_MAX];	/* see stk_netif_new() */
	int abort_errno;	/* set while the stack itself aborts connections */
	struct stk_slot *slots;
	__u32 *port_conns;	/* [65536]: the hash's connections by local port (TIME_WAIT too) */
	__u32 mask;
	__u32 used;		/* live + tombstones */
	__u32 demux_seed;	/* of the hash: a remote host cannot aim flows at one chain */
	__u32 gen;
	struct stk_pending pending[STK_PENDING_MAX];
	unsigned int nr_pending;
	struct stk_ack acks[STK_ACKS_MAX];
	unsigned int nr_acks;
	struct stk_delack delacks[STK_DELACKS_MAX];	/* a FIFO: due times only grow */
	unsigned int delack_head;
	unsigned int nr_delacks;
	struct ixdp_flow outs[STK_OUTS_MAX];	/* connections with app bytes to output */
	unsigned int nr_outs;
	__u64 now;		/* the last stack_poll()'s time */
	struct stk_service services[STACK_SERVICES_MAX];
	unsigned int nr_services;
	const struct stack_app_ops *app;
	void *app_ctx;
	__u64 next_tmr;
	__u64 next_timeouts;
	__u64 next_retry;
	struct stack_stats st;
};

#define LW(s) (&(s)->lw.ops)

/* The stack the calling thread is driving: set on entry to every stack_* call (stack.c). */
extern __thread struct stack *stk_cur;

/* output.c */
void stk_output_later(struct stack *s, struct tcp_pcb *pcb, struct stk_slot *e);

/* demux.c: the demux hash */
void stk_remove(struct stack *s, struct stk_slot *e);
bool stk_take_list(struct stack *s, struct tcp_pcb *list, struct tcp_pcb *pcb, bool tw);
bool stk_reconcile(struct stack *s, struct tcp_pcb *pcb, struct stk_slot *slot);

/* output.c: neighbour, Ethernet header, frame */
err_t stk_output4(struct netif *n, struct pbuf *p, const ip4_addr_t *dst);
err_t stk_output6(struct netif *n, struct pbuf *p, const ip6_addr_t *dst);
err_t stk_linkoutput(struct netif *n, struct pbuf *p);
void stk_retry_pending(struct stack *s, __u64 now);

/* services.c: lwIP's callbacks of every connection, the diagnostic services, listeners */
void stk_conn_free(struct stack_conn *c);
err_t stk_write(struct stack *s, struct tcp_pcb *pcb, const void *data, u16_t len, u8_t flags);
err_t stk_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err);
void stk_conn_init(struct stack_conn *c);
int stk_listener(struct stack *s, struct stk_service *svc, const ip_addr_t *ip, u8_t type,
		 __u16 port);

/* addrs.c: the netifs and their addresses */
extern const ip4_addr_t stk_any4;
int stk_netif_new(struct stack *s, const ip4_addr_t *ip, const ip4_addr_t *mask);

/* stack.c: open and close, the per-batch entry points */
void stk_conn_info(const struct stack *s, const struct tcp_pcb *pcb, struct stack_conn_info *o);

/* --- the demux hash's per-frame helpers ----------------------------------------------------- */

static inline void stk_pcb_key(const struct tcp_pcb *pcb, struct ixdp_flow *k)
{
	memset(k, 0, sizeof(*k));
	k->proto = IPPROTO_TCP;
	k->sport = pcb->remote_port;
	k->dport = pcb->local_port;
	if (IP_IS_V6_VAL(pcb->remote_ip)) {
		k->family = IXDP_FAMILY_INET6;
		memcpy(k->saddr, ip_2_ip6(&pcb->remote_ip)->addr, 16);
		memcpy(k->daddr, ip_2_ip6(&pcb->local_ip)->addr, 16);
	} else {
		k->family = IXDP_FAMILY_INET;
		k->saddr[0] = ip_2_ip4(&pcb->remote_ip)->addr;
		k->daddr[0] = ip_2_ip4(&pcb->local_ip)->addr;
	}
}

static inline __u32 stk_fg(const struct stack *s, const struct ixdp_flow *k)
{
	return ixdp_flow_group(k, s->cfg.hash_seed, s->cfg.fg_mask) & (IXDP_FG_MAX - 1);
}

static inline struct stk_slot *stk_find(struct stack *s, const struct ixdp_flow *k)
{
	__u32 i = ixdp_flow_hash(k, s->demux_seed) & s->mask;

	for (;; i = (i + 1) & s->mask) {
		struct stk_slot *e = &s->slots[i];

		if (!e->pcb)
			return NULL;
		if (e->pcb != STK_TOMBSTONE && !memcmp(&e->key, k, sizeof(*k)))
			return e;
	}
}

/* Hand lwIP @slot's pcb alone on the list it belongs to. */
static inline void stk_present(struct stack *s, struct stk_slot *slot)
{
	slot->pcb->next = NULL;
	if (slot->tw)
		*LW(s)->tcp_tw_pcbs = slot->pcb;
	else
		*LW(s)->tcp_active_pcbs = slot->pcb;
}

/* --- output's per-frame helpers ------------------------------------------------------------- */

static inline bool seq_lt(__u32 a, __u32 b)
{
	return (__s32)(a - b) < 0;
}

/* Count the segment (and retransmissions: below the highest sequence sent) and send it. */
static inline void stk_commit(struct stack *s, struct stk_slot *e, const struct stk_seg *g,
			      __u8 *f, __u32 len)
{
	STAT_INC(s->st.segs_out);
	if (e && g->seglen) {
		if (e->snd_max && seq_lt(g->seq, e->snd_max))
			STAT_INC(s->st.retrans);
		if (!e->snd_max || seq_lt(e->snd_max, g->seq + g->seglen))
			e->snd_max = g->seq + g->seglen;
	}
	s->io.tx_commit(s->io.ctx, f, len);
}

/* --- addresses ------------------------------------------------------------------------------ */

static inline void stk_prefix_mask(__u8 len, ip4_addr_t *mask)
{
	mask->addr = len ? __builtin_bswap32(~0u << (32 - len)) : 0;
}

/* --- app connections: running lwIP on one pcb ----------------------------------------------- */

/*
 * lwIP may free or move a pcb during any call on it, so app calls run it the way stack_input()
 * does: the pcb alone on the active list, the hash reconciled afterwards.
 */
static inline struct stk_slot *stk_enter(struct stack *s, struct tcp_pcb *pcb)
{
	struct stk_slot *slot = NULL;
	struct ixdp_flow k;

	stk_cur = s;
	if (pcb) {
		stk_pcb_key(pcb, &k);
		slot = stk_find(s, &k);
	}
	if (slot)
		stk_present(s, slot);
	return slot;
}

static inline void stk_leave(struct stack *s, struct tcp_pcb *pcb, struct stk_slot *slot)
{
	stk_reconcile(s, slot ? pcb : NULL, slot);
}

#endif /* IXDP_STACK_PRIV_H */
