// SPDX-License-Identifier: GPL-2.0
/*
 * stack.c - a worker's TCP/IP stack: a private lwIP copy driven with its raw API, the
 * virtualised active-pcb list with a hash for O(1) demux, 250 ms TCP timers, neighbour
 * resolution through the worker, and the diagnostic services (echo, sink).
 *
 * Never PBUF_POOL: Debian's build allocates those at 616 bytes and fills them to 1536
 * (shared/notes/lwip.md §0).  Frames are copied into PBUF_RAM pbufs on the way in and out of
 * pbufs with pbuf_copy_partial() on the way out.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/log.h"
#include "tcp/lwcopy.h"
#include "tcp/stack.h"

#define STK_HASH_MIN 1024
#define STK_TOMBSTONE ((struct tcp_pcb *)1)
#define STK_NOT_HALF (-1)		/* stk_slot.half_svc: not half-open */
#define STK_NO_SVC STACK_SERVICES_MAX	/* half-open, its listener gone */
#define STK_PENDING_MAX 64
#define STK_PENDING_NS 3000000000ull	/* how long a frame waits for its neighbour */
#define STK_RETRY_NS 1000000ull		/* how often waiting frames ask again */
#define STK_TIMEOUTS_NS 10000000ull	/* lwIP's own timers (IP reassembly, ND) */
#define STK_BACKLOG 255	/* lwIP keeps the backlog in a u8 */
#define STK_ACKS_MAX 128	/* pure ACKs held back per batch */
/*
 * lwIP acknowledges every second segment at once and delays the ACK of the other until
 * tcp_fasttmr(), up to 250 ms later: a peer with Nagle on then waits that long for its next
 * small write.  A delayed ACK is sent after STK_DELACK_NS instead (Linux: 40 ms at least), late
 * enough for an app's answer to carry it.
 */
#define STK_DELACK_NS 5000000ull
#define STK_DELACKS_MAX 1024	/* delayed ACKs tracked; beyond, tcp_fasttmr() sends them */
/* Service connections whose peer vanished (a lost RST, a crashed host) are reaped by keepalive. */
#define STK_KEEPIDLE_MS 60000
#define STK_KEEPINTVL_MS 10000
#define STK_KEEPCNT 3
#define ETH_HLEN_ 14

/* One connection of the hash: its flow (as the parser sees incoming segments) and pcb. */
struct stk_slot {
	struct ixdp_flow key;
	struct tcp_pcb *pcb;	/* NULL: empty, STK_TOMBSTONE: deleted */
	__u32 snd_max;		/* highest sequence number sent + 1: later, lower ones are retransmits */
	__u32 gen;		/* timer generation that last saw the pcb */
	__u32 held;		/* 1 + index of its pure ACK in stack->acks, or 0 */
	__s16 half_svc;		/* SYN_RCVD: its listener's index in services[] (STK_NO_SVC: none) */
	bool delack;		/* on stack->delacks */
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

/* The stack the calling thread is driving: set on entry to every stack_* call. */
static __thread struct stack *stk_cur;

/* --- the demux hash ------------------------------------------------------------------------- */

static void stk_pcb_key(const struct tcp_pcb *pcb, struct ixdp_flow *k)
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

static __u32 stk_fg(const struct stack *s, const struct ixdp_flow *k)
{
	return ixdp_flow_group(k, s->cfg.hash_seed, s->cfg.fg_mask) & (IXDP_FG_MAX - 1);
}

static struct stk_slot *stk_find(struct stack *s, const struct ixdp_flow *k)
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

static int stk_grow(struct stack *s);

/* Count @e as active or in TIME_WAIT. */
static void stk_count(struct stack *s, const struct stk_slot *e, int n)
{
	if (e->tw) {
		s->st.time_wait += n;
	} else {
		s->st.conns += n;
		s->st.fg_conns[stk_fg(s, &e->key)] += n;
	}
}

/* The index in services[] of listening pcb @lpcb, or STK_NO_SVC. */
static int stk_svc_index(const struct stack *s, const void *lpcb)
{
	unsigned int i;

	for (i = 0; lpcb && i < s->nr_services; i++)
		if (s->services[i].lpcb == lpcb)
			return i;
	return STK_NO_SVC;
}

/*
 * Keep the half-open counts (per stack, per listener) in step with @e's pcb: called whenever the
 * pcb was seen on a list after lwIP ran (stk_insert) and when it leaves the hash (@gone).
 */
static void stk_half_open(struct stack *s, struct stk_slot *e, bool gone)
{
	int svc = STK_NOT_HALF;

	if (!gone && !e->tw && e->pcb->state == SYN_RCVD)
		svc = stk_svc_index(s, e->pcb->listener);
	if (svc == e->half_svc)
		return;
	if (e->half_svc != STK_NOT_HALF) {
		s->st.half_open--;
		if (e->half_svc != STK_NO_SVC)
			s->services[e->half_svc].half_open--;
	}
	if (svc != STK_NOT_HALF) {
		s->st.half_open++;
		if (svc != STK_NO_SVC)
			s->services[svc].half_open++;
	}
	e->half_svc = svc;
}

static struct stk_slot *stk_insert(struct stack *s, const struct ixdp_flow *k,
				   struct tcp_pcb *pcb, bool tw)
{
	struct stk_slot *e = stk_find(s, k);
	__u32 i;

	if (e) {
		e->pcb = pcb;
		e->gen = s->gen;
		if (e->tw != tw) { /* lwIP moved it to TIME_WAIT */
			stk_count(s, e, -1);
			e->tw = tw;
			stk_count(s, e, 1);
		}
		stk_half_open(s, e, false);
		return e;
	}
	if ((s->used + 1) * 4 > (s->mask + 1) * 3 && stk_grow(s))
		return NULL;
	for (i = ixdp_flow_hash(k, s->demux_seed) & s->mask;; i = (i + 1) & s->mask) {
		e = &s->slots[i];
		if (!e->pcb || e->pcb == STK_TOMBSTONE)
			break;
	}
	if (!e->pcb)
		s->used++;
	e->key = *k;
	e->pcb = pcb;
	e->snd_max = 0;
	e->held = 0;
	e->delack = false;
	e->tw = tw;
	e->gen = s->gen;
	e->half_svc = STK_NOT_HALF;
	stk_count(s, e, 1);
	stk_half_open(s, e, false);
	return e;
}

static void stk_commit(struct stack *s, struct stk_slot *e, const struct stk_seg *g, __u8 *f,
		       __u32 len);

static void stk_remove(struct stack *s, struct stk_slot *e)
{
	if (e->held) {
		/*
		 * Its held ACK still goes: a connection leaves the hash when lwIP moves it to
		 * TIME_WAIT, and that ACK is the one acknowledging the peer's FIN.
		 */
		struct stk_ack *a = &s->acks[e->held - 1];
		struct stk_seg g = { .key = a->key };

		if (a->frame)
			stk_commit(s, NULL, &g, a->frame, a->len);
		a->frame = NULL;
		e->held = 0;
	}
	stk_half_open(s, e, true);
	e->pcb = STK_TOMBSTONE;
	stk_count(s, e, -1);
}

/* Rehash into a table twice as big when live + deleted slots pass 3/4 of it. */
static int stk_grow(struct stack *s)
{
	__u32 live = s->st.conns + s->st.time_wait;
	__u32 n = s->mask + 1, want = live * 2 > n ? n * 2 : n, i, j;
	struct stk_slot *old = s->slots, *slots;

	while (want < STK_HASH_MIN || (live + 1) * 2 > want)
		want *= 2;
	slots = calloc(want, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	s->slots = slots;
	s->mask = want - 1;
	s->used = 0;
	for (i = 0; i < n; i++) {
		if (!old[i].pcb || old[i].pcb == STK_TOMBSTONE)
			continue;
		for (j = ixdp_flow_hash(&old[i].key, s->demux_seed) & s->mask; slots[j].pcb;
		     j = (j + 1) & s->mask)
			;
		slots[j] = old[i];
		s->used++;
	}
	free(old);
	return 0;
}

/*
 * A pcb of a connection the app layer still holds went to TIME_WAIT (the app shut down its
 * side, then the peer's FIN came).  lwIP frees a TIME_WAIT pcb without a callback (2 MSL later,
 * or at once when a new SYN takes the 4-tuple over: stk_tw_reuse), so the connection lets go of
 * it now: both directions are closed, received bytes stay readable.  tcp_fuzz found the use
 * after free this prevents.
 */
static void stk_conn_free(struct stack_conn *c);

static void stk_orphan(struct tcp_pcb *pcb)
{
	struct stack_conn *c = pcb->callback_arg;

	pcb->callback_arg = NULL;
	pcb->sent = NULL;
	pcb->errf = NULL;
	if (c->kind != STACK_APP) {
		stk_conn_free(c); /* services close before TIME_WAIT; never keep one here */
		return;
	}
	c->pcb = NULL;
	c->peer_closed = true;
}

/* Put the pcbs of one of lwIP's lists into the hash (active, or TIME_WAIT); true if @pcb is on it. */
static bool stk_take_list(struct stack *s, struct tcp_pcb *list, struct tcp_pcb *pcb, bool tw)
{
	struct tcp_pcb *q;
	struct ixdp_flow k;
	bool found = false;

	for (q = list; q; q = q->next) {
		found |= q == pcb;
		if (tw && q->callback_arg)
			stk_orphan(q);
		stk_pcb_key(q, &k);
		if (!stk_insert(s, &k, q, tw))
			pr_warn("stack: no memory for the connection table");
	}
	return found;
}

/*
 * After lwIP ran with @pcb (or nothing) alone on its list, active or TIME_WAIT as its slot says,
 * and the other list empty: every pcb now on either list is live (new ones come from SYNs,
 * TIME_WAIT ones from closes), @pcb is gone if it is on neither (closed or aborted); then both
 * lists are emptied again.  Returns true if @pcb lives on as an active connection.
 */
static bool stk_reconcile(struct stack *s, struct tcp_pcb *pcb, struct stk_slot *slot)
{
	bool active = stk_take_list(s, *LW(s)->tcp_active_pcbs, pcb, false);
	bool tw = stk_take_list(s, *LW(s)->tcp_tw_pcbs, pcb, true);

	if (pcb && !active && !tw)
		stk_remove(s, slot);
	*LW(s)->tcp_active_pcbs = NULL;
	*LW(s)->tcp_tw_pcbs = NULL;
	return pcb && active;
}

/* Hand lwIP @slot's pcb alone on the list it belongs to. */
static void stk_present(struct stack *s, struct stk_slot *slot)
{
	slot->pcb->next = NULL;
	if (slot->tw)
		*LW(s)->tcp_tw_pcbs = slot->pcb;
	else
		*LW(s)->tcp_active_pcbs = slot->pcb;
}

/* --- output: neighbour, Ethernet header, frame ---------------------------------------------- */

static bool seq_lt(__u32 a, __u32 b)
{
	return (__s32)(a - b) < 0;
}


/*
 * Headers are copied out, never cast in place: behind a 14-byte Ethernet header an IP header is
 * only 2-byte aligned (UBSan in tcp_fuzz flagged the casts).
 */
static void stk_parse_out(const __u8 *ip, __u32 len, int family, struct stk_seg *g)
{
	struct tcphdr tcp, *th = &tcp;
	__u32 hlen;

	memset(g, 0, sizeof(*g));
	if (family == IXDP_FAMILY_INET) {
		struct iphdr iph;

		if (len < sizeof(iph))
			return;
		memcpy(&iph, ip, sizeof(iph));
		hlen = iph.ihl * 4;
		if (iph.protocol != IPPROTO_TCP || len < hlen + sizeof(*th))
			return;
		g->key.saddr[0] = iph.daddr;
		g->key.daddr[0] = iph.saddr;
	} else {
		struct ipv6hdr ip6;

		if (len < sizeof(ip6))
			return;
		memcpy(&ip6, ip, sizeof(ip6));
		hlen = sizeof(ip6);
		if (ip6.nexthdr != IPPROTO_TCP || len < hlen + sizeof(*th))
			return;
		memcpy(g->key.saddr, &ip6.daddr, 16);
		memcpy(g->key.daddr, &ip6.saddr, 16);
	}
	memcpy(&tcp, ip + hlen, sizeof(tcp));
	g->tcp = true;
	g->key.family = family;
	g->key.proto = IPPROTO_TCP;
	g->key.sport = ixdp_ntohs(th->dest);
	g->key.dport = ixdp_ntohs(th->source);
	g->seq = __builtin_bswap32(th->seq);
	g->has_ack = th->ack;
	g->ack = th->ack ? __builtin_bswap32(th->ack_seq) : 0;
	g->win = ixdp_ntohs(th->window);
	g->seglen = len - hlen - th->doff * 4 + th->syn + th->fin;
	g->pure_ack = th->ack && !th->syn && !th->fin && !th->rst && !th->psh && !g->seglen;
}

/* Count the segment (and retransmissions: below the highest sequence sent) and send it. */
static void stk_commit(struct stack *s, struct stk_slot *e, const struct stk_seg *g, __u8 *f,
		       __u32 len)
{
	s->st.segs_out++;
	if (e && g->seglen) {
		if (e->snd_max && seq_lt(g->seq, e->snd_max))
			s->st.retrans++;
		if (!e->snd_max || seq_lt(e->snd_max, g->seq + g->seglen))
			e->snd_max = g->seq + g->seglen;
	}
	s->io.tx_commit(s->io.ctx, f, len);
}

/*
 * Pure ACKs wait for the end of the batch: a later ACK of the same connection in the batch
 * (or a data segment, which carries one) makes them redundant, and on veth every frame sent
 * also runs the peer's receive of it.  A duplicate ACK (same number, same window) is never
 * folded: the peer's fast retransmit counts them.  Returns true if the frame was taken.
 */
static bool stk_hold_ack(struct stack *s, struct stk_slot *e, const struct stk_seg *g, __u8 *f,
			 __u32 len)
{
	struct stk_ack *a;

	if (e->held) {
		a = &s->acks[e->held - 1];
		if (seq_lt(a->ack, g->ack) || (a->ack == g->ack && a->win != g->win)) {
			s->io.tx_drop(s->io.ctx, a->frame);
			s->st.acks_coalesced++;
		} else {
			struct stk_seg old = { .key = g->key };

			stk_commit(s, e, &old, a->frame, a->len); /* a duplicate ACK: both go */
		}
	} else {
		if (s->nr_acks == STK_ACKS_MAX)
			return false;
		a = &s->acks[s->nr_acks++];
		e->held = s->nr_acks;
	}
	a->key = g->key;
	a->frame = f;
	a->len = len;
	a->ack = g->ack;
	a->win = g->win;
	return true;
}

/**
 * stack_flush - send the pure ACKs held back during the batch.  Call it at the end of every
 * batch of stack_input() calls (stack_poll() does it for timer output).
 * @s: stack
 */
void stack_flush(struct stack *s)
{
	unsigned int i;

	for (i = 0; i < s->nr_acks; i++) {
		struct stk_ack *a = &s->acks[i];
		struct stk_slot *e;
		struct stk_seg g = { .key = a->key };

		if (!a->frame)
			continue;
		e = stk_find(s, &a->key);
		if (e && e->held == i + 1)
			e->held = 0;
		stk_commit(s, e, &g, a->frame, a->len);
		a->frame = NULL;
	}
	s->nr_acks = 0;
}

static void stk_emit(struct stack *s, const __u8 mac[6], int family, struct pbuf *p,
		     const __u8 *ip, __u32 len)
{
	__u16 type = family == IXDP_FAMILY_INET ? ETH_P_IP : ETH_P_IPV6;
	__u8 *f = s->io.tx_alloc(s->io.ctx, ETH_HLEN_ + len);
	struct stk_slot *e = NULL;
	struct stk_seg g;

	if (!f) {
		s->st.tx_nobuf++;
		return;
	}
	memcpy(f, mac, 6);
	memcpy(f + 6, s->cfg.mac, 6);
	f[12] = type >> 8;
	f[13] = type & 0xff;
	if (p)
		LW(s)->pbuf_copy_partial(p, f + ETH_HLEN_, len, 0);
	else
		memcpy(f + ETH_HLEN_, ip, len);

	stk_parse_out(f + ETH_HLEN_, len, family, &g);
	if (g.tcp)
		e = stk_find(s, &g.key);
	if (e && g.pure_ack && stk_hold_ack(s, e, &g, f, ETH_HLEN_ + len))
		return;
	if (e && e->held) {
		/* This segment carries an ACK too: the held one is redundant unless it is newer. */
		struct stk_ack *a = &s->acks[e->held - 1];
		struct stk_seg old = { .key = g.key };

		if (g.has_ack && !seq_lt(g.ack, a->ack)) {
			s->io.tx_drop(s->io.ctx, a->frame);
			s->st.acks_coalesced++;
		} else {
			stk_commit(s, e, &old, a->frame, a->len);
		}
		a->frame = NULL;
		e->held = 0;
	}
	stk_commit(s, e, &g, f, ETH_HLEN_ + len);
}

/*
 * No MAC yet: keep a copy of the packet until resolve() answers or STK_PENDING_NS pass (counted
 * from the first retry, which knows the time).
 */
static void stk_defer(struct stack *s, struct pbuf *p, int family, const void *addr)
{
	struct stk_pending *w;

	if (s->nr_pending == STK_PENDING_MAX) {
		free(s->pending[0].ip);
		memmove(&s->pending[0], &s->pending[1], (STK_PENDING_MAX - 1) * sizeof(*w));
		s->nr_pending--;
		s->st.tx_unresolved++;
	}
	w = &s->pending[s->nr_pending];
	w->ip = malloc(p->tot_len);
	if (!w->ip) {
		s->st.tx_unresolved++;
		return;
	}
	w->len = LW(s)->pbuf_copy_partial(p, w->ip, p->tot_len, 0);
	w->family = family;
	memset(w->addr, 0, sizeof(w->addr));
	memcpy(w->addr, addr, family == IXDP_FAMILY_INET ? 4 : 16);
	w->deadline = 0;
	s->nr_pending++;
}

static err_t stk_output(struct stack *s, struct pbuf *p, int family, const void *nexthop)
{
	__u8 mac[6];

	if (s->io.resolve(s->io.ctx, family, nexthop, mac))
		stk_defer(s, p, family, nexthop);
	else
		stk_emit(s, mac, family, p, NULL, p->tot_len);
	/* A frame lost here is a frame lost on the wire: TCP retransmits. */
	return ERR_OK;
}

static err_t stk_output4(struct netif *n, struct pbuf *p, const ip4_addr_t *dst)
{
	return stk_output(n->state, p, IXDP_FAMILY_INET, &dst->addr);
}

static err_t stk_output6(struct netif *n, struct pbuf *p, const ip6_addr_t *dst)
{
	return stk_output(n->state, p, IXDP_FAMILY_INET6, dst->addr);
}

/* Never called: every output goes through stk_output4/6, which build the frame themselves. */
static err_t stk_linkoutput(struct netif *n, struct pbuf *p)
{
	return ERR_IF;
}

static void stk_retry_pending(struct stack *s, __u64 now)
{
	unsigned int i, kept = 0;
	__u8 mac[6];

	for (i = 0; i < s->nr_pending; i++) {
		struct stk_pending *w = &s->pending[i];

		if (!w->deadline)
			w->deadline = now + STK_PENDING_NS;
		if (!s->io.resolve(s->io.ctx, w->family, w->addr, mac)) {
			stk_emit(s, mac, w->family, NULL, w->ip, w->len);
			free(w->ip);
		} else if (now >= w->deadline) {
			s->st.tx_unresolved++;
			free(w->ip);
		} else {
			s->pending[kept++] = *w;
		}
	}
	s->nr_pending = kept;
}

/* --- services ------------------------------------------------------------------------------- */

static void stk_conn_free(struct stack_conn *c)
{
	struct stack *s = c->s;

	s->st.conns_closed++;
	while (c->rxq) {
		struct pbuf *p = c->rxq;

		c->rxq = p->next;
		p->next = NULL;
		LW(s)->pbuf_free(p);
	}
	free(c->held);
	free(c);
}

/* Hand the pcb back to lwIP with a FIN.  Returns ERR_ABRT if it had to reset it instead. */
static err_t stk_conn_close(struct stack_conn *c)
{
	struct tcp_pcb *pcb = c->pcb;
	struct stack *s = c->s;
	err_t ret = ERR_OK;

	LW(s)->tcp_arg(pcb, NULL);
	LW(s)->tcp_recv(pcb, NULL);
	LW(s)->tcp_sent(pcb, NULL);
	LW(s)->tcp_err(pcb, NULL);
	if (LW(s)->tcp_close(pcb) != ERR_OK) {
		LW(s)->tcp_abort(pcb); /* no memory for the FIN: reset rather than leak */
		ret = ERR_ABRT;
	}
	stk_conn_free(c);
	return ret;
}

/*
 * tcp_write(), minus two of lwIP's assertions (Debian's build aborts on one): the room it kept
 * at the end of the last unsent segment (unsent_oversize) must fit what that segment may still
 * grow by, and the segment must fit the usable MSS (tcp_out.c, "inconsistent oversize vs. space"
 * and "mss_local is too small").  tcp_fuzz found a peer that makes the first false.  Forgetting
 * the kept room is always safe (the next write starts a new pbuf); a segment that no longer fits
 * takes nothing more until it is sent, and the caller keeps its bytes (ERR_MEM).
 */
static err_t stk_write(struct stack *s, struct tcp_pcb *pcb, const void *data, u16_t len,
		       u8_t flags)
{
	if (pcb->unsent) {
		struct tcp_seg *last = pcb->unsent;
		u16_t mss = LWIP_MIN(pcb->mss, TCPWND_MIN16(pcb->snd_wnd_max / 2));
		u32_t used;

		while (last->next)
			last = last->next;
		mss = mss ? mss : pcb->mss;
		used = (u32_t)last->len + LWIP_TCP_OPT_LENGTH(last->flags);
		if (mss < used)
			return ERR_MEM;
		if (pcb->unsent_oversize > mss - used)
			pcb->unsent_oversize = 0;
	}
	return LW(s)->tcp_write(pcb, data, len, flags);
}

/* Echo what is held, as far as the send buffer takes it, and reopen the receive window. */
static void stk_echo_flush(struct stack_conn *c)
{
	struct stack *s = c->s;
	__u32 n = c->held_len, room = tcp_sndbuf(c->pcb);

	if (n > room)
		n = room;
	if (!n || stk_write(s, c->pcb, c->held, n, TCP_WRITE_FLAG_COPY) != ERR_OK)
		return;
	memmove(c->held, c->held + n, c->held_len - n);
	c->held_len -= n;
	s->st.bytes_out += n;
	LW(s)->tcp_recved(c->pcb, n);
	LW(s)->tcp_output(c->pcb);
}

/* Copy the part of @p from @off on aside, to be echoed when the send buffer has room. */
static int stk_hold(struct stack_conn *c, struct pbuf *p, __u32 off)
{
	__u32 need = c->held_len + p->tot_len - off;

	if (need > c->held_cap) {
		__u32 cap = c->held_cap ? c->held_cap : 2048;
		__u8 *b;

		while (cap < need)
			cap *= 2;
		b = realloc(c->held, cap);
		if (!b)
			return -ENOMEM;
		c->held = b;
		c->held_cap = cap;
	}
	LW(c->s)->pbuf_copy_partial(p, c->held + c->held_len, p->tot_len - off, off);
	c->held_len += p->tot_len - off;
	return 0;
}

/*
 * Echo straight from the pbufs.  Bytes go back into the receive window only once they are in
 * the send buffer, so a peer that does not read its echo is slowed down, not buffered for.
 */
static err_t stk_echo_recv(struct stack_conn *c, struct pbuf *p)
{
	struct stack *s = c->s;
	struct pbuf *q;
	__u32 done = 0;

	for (q = p; q && !c->held_len; q = q->next) {
		if (q->len > tcp_sndbuf(c->pcb) ||
		    stk_write(s, c->pcb, q->payload, q->len, TCP_WRITE_FLAG_COPY) != ERR_OK)
			break;
		done += q->len;
	}
	if (done < p->tot_len && stk_hold(c, p, done)) {
		/*
		 * No memory to keep the rest.  Refusing the pbuf (ERR_MEM) would have lwIP offer all
		 * of it again, bytes already echoed included: reset the connection instead.
		 */
		LW(s)->pbuf_free(p);
		LW(s)->tcp_abort(c->pcb); /* calls stk_err(), which frees c */
		return ERR_ABRT;
	}
	s->st.bytes_out += done;
	if (done) {
		LW(s)->tcp_recved(c->pcb, done);
		LW(s)->tcp_output(c->pcb);
	}
	LW(s)->pbuf_free(p);
	return ERR_OK;
}

/*
 * App connections: keep the bytes until the app layer reads them (stack_conn_read); the
 * window reopens only when the app is done with them (stack_conn_recvd).  The queue is linked
 * through pbuf->next but never by pbuf_cat(): tot_len (16 bits) would overflow.
 */
static err_t stk_app_recv(struct stack_conn *c, struct pbuf *p)
{
	struct stack *s = c->s;
	struct pbuf *last = c->rxq;

	c->unrecved += p->tot_len;
	if (!last) {
		c->rxq = p;
	} else {
		while (last->next)
			last = last->next;
		last->next = p;
	}
	s->app->readable(s->app_ctx, c->arg);
	return ERR_OK;
}

static err_t stk_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct stack_conn *c = arg;
	struct stack *s = stk_cur;

	if (!c) { /* not installed with a NULL argument; behave like lwIP's tcp_recv_null */
		if (p) {
			LW(s)->tcp_recved(pcb, p->tot_len);
			LW(s)->pbuf_free(p);
		}
		return ERR_OK;
	}
	if (!p) {
		c->peer_closed = true;
		if (c->kind == STACK_APP) {
			s->app->readable(s->app_ctx, c->arg);
			return ERR_OK;
		}
		return c->held_len ? ERR_OK : stk_conn_close(c);
	}
	s->st.bytes_in += p->tot_len;
	if (c->kind == STACK_APP)
		return stk_app_recv(c, p);
	if (c->kind == STACK_ECHO)
		return stk_echo_recv(c, p);
	LW(s)->tcp_recved(pcb, p->tot_len);
	LW(s)->pbuf_free(p);
	return ERR_OK;
}

static err_t stk_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct stack_conn *c = arg;

	if (!c)
		return ERR_OK;
	if (c->kind == STACK_APP) {
		c->s->app->sent(c->s->app_ctx, c->arg, len);
		return ERR_OK;
	}
	if (c->held_len)
		stk_echo_flush(c);
	if (c->peer_closed && !c->held_len)
		return stk_conn_close(c);
	return ERR_OK;
}

static int stk_errno(err_t err)
{
	switch (err) {
	case ERR_RST:
		return -ECONNRESET;
	case ERR_CLSD:
		return -EPIPE;
	case ERR_ABRT:
	default:
		return -ETIMEDOUT; /* lwIP aborts on retransmission or keepalive timeout */
	}
}

/* The pcb is already gone (reset by the peer, or aborted by lwIP): free our side. */
static void stk_err(void *arg, err_t err)
{
	struct stack_conn *c = arg;

	if (!c)
		return;
	if (c->kind == STACK_APP) {
		struct stack *s = c->s;

		if (c->connecting)
			s->app->connected(s->app_ctx, c->arg, err == ERR_RST ? -ECONNREFUSED :
							       -ETIMEDOUT);
		else
			s->app->dead(s->app_ctx, c->arg, s->abort_errno ?: stk_errno(err));
	}
	stk_conn_free(c);
}

static void stk_conn_info(const struct stack *s, const struct tcp_pcb *pcb,
			  struct stack_conn_info *o);

/* Callbacks of a new connection. */
static void stk_conn_init(struct stack_conn *c)
{
	struct stack *s = c->s;
	struct tcp_pcb *pcb = c->pcb;

	LW(s)->tcp_arg(pcb, c);
	LW(s)->tcp_recv(pcb, stk_recv);
	LW(s)->tcp_sent(pcb, stk_sent);
	LW(s)->tcp_err(pcb, stk_err);
	tcp_nagle_disable(pcb); /* request/response traffic: no waiting for a full segment */
	s->st.conns_opened++;
}

static err_t stk_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct stk_service *svc = arg;
	struct stack *s = svc->s;
	struct stack_conn *c;

	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return ERR_MEM; /* lwIP resets the new connection */
	c->s = s;
	c->pcb = pcb;
	c->kind = svc->kind;
	if (c->kind == STACK_APP) {
		struct stack_conn_info info;

		stk_conn_info(s, pcb, &info);
		c->arg = s->app->knock(s->app_ctx, svc->arg, c, &info);
		if (!c->arg) {
			free(c);
			return ERR_MEM; /* lwIP resets it */
		}
	}
	stk_conn_init(c);
	if (c->kind != STACK_APP) {
		/* Diagnostic services: reap connections whose peer vanished. */
		ip_set_option(pcb, SOF_KEEPALIVE);
		pcb->keep_idle = STK_KEEPIDLE_MS;
		pcb->keep_intvl = STK_KEEPINTVL_MS;
		pcb->keep_cnt = STK_KEEPCNT;
	}
	return ERR_OK;
}

/* A listening pcb for @svc on (@ip, @port), whose new connections go to stk_accept(). */
static int stk_listener(struct stack *s, struct stk_service *svc, const ip_addr_t *ip, u8_t type,
			__u16 port)
{
	struct tcp_pcb *pcb, *lpcb;
	err_t err;

	pcb = LW(s)->tcp_new_ip_type(type);
	if (!pcb)
		return -ENOMEM;
	err = LW(s)->tcp_bind(pcb, ip, port);
	if (err != ERR_OK) {
		LW(s)->tcp_close(pcb);
		return err == ERR_USE ? -EADDRINUSE : -ENOMEM;
	}
	lpcb = LW(s)->tcp_listen_with_backlog(pcb, STK_BACKLOG);
	if (!lpcb) {
		LW(s)->tcp_close(pcb);
		return -ENOMEM;
	}
	*svc = (struct stk_service){ .s = s, .port = port, .lpcb = lpcb };
	LW(s)->tcp_arg(lpcb, svc);
	LW(s)->tcp_accept(lpcb, stk_accept);
	return 0;
}

/**
 * stack_listen - serve @port (TCP, every address of the stack) with a diagnostic service.
 * @s:    stack
 * @port: port
 * @kind: echo or sink
 *
 * Return: 0, -ENOSPC (too many services), -EADDRINUSE or -ENOMEM.
 */
int stack_listen(struct stack *s, __u16 port, enum stack_service_kind kind)
{
	/* Not IP_ANY_TYPE: that is a global of lwIP, which ixdpd must not link against. */
	const ip_addr_t any = IPADDR_ANY_TYPE_INIT;
	struct stk_service *svc;
	int ret;

	if (s->nr_services == STACK_SERVICES_MAX)
		return -ENOSPC; /* diagnostic services come first, before any app listens */
	svc = &s->services[s->nr_services];
	ret = stk_listener(s, svc, &any, IPADDR_TYPE_ANY, port);
	if (ret)
		return ret;
	svc->kind = kind;
	s->nr_services++;
	return 0;
}

static void stk_prefix_mask(__u8 len, ip4_addr_t *mask)
{
	mask->addr = len ? __builtin_bswap32(~0u << (32 - len)) : 0;
}

/* --- app connections ------------------------------------------------------------------------ */

/*
 * lwIP may free or move a pcb during any call on it, so app calls run it the way stack_input()
 * does: the pcb alone on the active list, the hash reconciled afterwards.
 */
static struct stk_slot *stk_enter(struct stack *s, struct tcp_pcb *pcb)
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

static void stk_leave(struct stack *s, struct tcp_pcb *pcb, struct stk_slot *slot)
{
	stk_reconcile(s, slot ? pcb : NULL, slot);
}

/**
 * stack_set_app - the app layer's callbacks (before any stack_app_* call).
 * @s:   stack
 * @ops: callbacks
 * @ctx: their first argument
 */
void stack_set_app(struct stack *s, const struct stack_app_ops *ops, void *ctx)
{
	s->app = ops;
	s->app_ctx = ctx;
}

static void stk_ip(int family, const __u32 *addr, ip_addr_t *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (family == IXDP_FAMILY_INET) {
		IP_SET_TYPE_VAL(*ip, IPADDR_TYPE_V4);
		ip_2_ip4(ip)->addr = addr[0];
	} else if (family == IXDP_FAMILY_INET6) {
		IP_SET_TYPE_VAL(*ip, IPADDR_TYPE_V6);
		memcpy(ip_2_ip6(ip)->addr, addr, 16);
	} else {
		IP_SET_TYPE_VAL(*ip, IPADDR_TYPE_ANY);
	}
}

/**
 * stack_app_listen - accept connections to (@family, @addr, @port) for the app layer: each
 * new one is offered to ops->knock(@arg).
 * @s:      stack
 * @family: IXDP_FAMILY_INET/INET6, or 0 for both
 * @addr:   address (network order), all zero for any of the family
 * @port:   port
 * @arg:    the app layer's listener
 *
 * Return: 0, -ENOSPC (too many listeners), -EADDRINUSE, -ENOMEM.
 */
int stack_app_listen(struct stack *s, int family, const __u32 addr[4], __u16 port, void *arg)
{
	struct stk_service *svc = NULL;
	ip_addr_t ip;
	unsigned int i;
	int ret;

	stk_cur = s;
	for (i = 0; i < STACK_SERVICES_MAX && !svc; i++)
		if (!s->services[i].lpcb)
			svc = &s->services[i];
	if (!svc)
		return -ENOSPC;
	stk_ip(family, addr, &ip);
	ret = stk_listener(s, svc, &ip, family ? IP_GET_TYPE(&ip) : IPADDR_TYPE_ANY, port);
	if (ret)
		return ret;
	svc->kind = STACK_APP;
	svc->arg = arg;
	if (svc - s->services >= s->nr_services)
		s->nr_services = svc - s->services + 1;
	return 0;
}

/*
 * lwIP clears pcb->listener of the connections still naming a listener that closes, but only on
 * its own lists, which the stack keeps empty: without this a half-open connection of a closed
 * listener would call its freed accept callback when the handshake's ACK comes (lwIP resets a
 * SYN_RCVD connection whose listener is NULL instead).
 */
static void stk_forget_listener(struct stack *s, unsigned int idx)
{
	struct tcp_pcb_listen *lpcb = (struct tcp_pcb_listen *)s->services[idx].lpcb;
	__u32 j;

	for (j = 0; j <= s->mask; j++) {
		struct stk_slot *e = &s->slots[j];

		if (!e->pcb || e->pcb == STK_TOMBSTONE || e->tw || e->pcb->listener != lpcb)
			continue;
		e->pcb->listener = NULL;
		if (e->half_svc == (int)idx) {
			s->services[idx].half_open--;
			e->half_svc = STK_NO_SVC;
		}
	}
}

/**
 * stack_app_unlisten - stop the listener stack_app_listen() made with @arg.
 * @s:   stack
 * @arg: its listener
 *
 * Connections it accepted go on.  Return: 0 or -ENOENT.
 */
int stack_app_unlisten(struct stack *s, void *arg)
{
	unsigned int i;

	stk_cur = s;
	for (i = 0; i < s->nr_services; i++) {
		struct stk_service *svc = &s->services[i];

		if (svc->lpcb && svc->kind == STACK_APP && svc->arg == arg) {
			stk_forget_listener(s, i);
			LW(s)->tcp_close(svc->lpcb);
			memset(svc, 0, sizeof(*svc));
			return 0;
		}
	}
	return -ENOENT;
}

/**
 * stack_app_source - the local address to reach @raddr from: one in the same prefix, else the
 * first of the family.
 * @s:      stack
 * @family: IXDP_FAMILY_INET or INET6
 * @raddr:  remote address (network order)
 * @laddr:  receives the local address
 *
 * Return: 0 or -EADDRNOTAVAIL (no address of the family).
 */
int stack_app_source(const struct stack *s, int family, const __u32 raddr[4], __u32 laddr[4])
{
	const struct stack_addr *first = NULL;
	unsigned int i;

	for (i = 0; i < s->cfg.nr_addrs; i++) {
		const struct stack_addr *a = &s->cfg.addrs[i];

		if (a->a.family != (__u32)family)
			continue;
		if (!first)
			first = a;
		if (family == IXDP_FAMILY_INET) {
			ip4_addr_t mask;

			stk_prefix_mask(a->prefix_len, &mask);
			if (!((a->a.addr[0] ^ raddr[0]) & mask.addr)) {
				first = a;
				break;
			}
		}
	}
	if (!first)
		return -EADDRNOTAVAIL;
	memcpy(laddr, first->a.addr, 16);
	return 0;
}

/**
 * stack_app_flow_busy - does a connection (laddr, lport) <-> (raddr, rport) exist?
 * @s: stack
 *
 * Return: true or false.
 */
bool stack_app_flow_busy(struct stack *s, int family, const __u32 laddr[4], __u16 lport,
			 const __u32 raddr[4], __u16 rport)
{
	struct ixdp_flow k = { .family = family, .proto = IPPROTO_TCP, .sport = rport,
			       .dport = lport };

	memcpy(k.saddr, raddr, sizeof(k.saddr));
	memcpy(k.daddr, laddr, sizeof(k.daddr));
	return stk_find(s, &k) != NULL;
}

static err_t stk_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct stack_conn *c = arg;

	c->connecting = false;
	c->s->app->connected(c->s->app_ctx, c->arg, 0);
	return ERR_OK;
}

/**
 * stack_app_connect - open a connection from (@laddr, @lport) to (@raddr, @rport); the
 * outcome comes through ops->connected(@arg).
 * @s:      stack
 * @family: IXDP_FAMILY_INET or INET6
 * @arg:    the app layer's connection
 * @cp:     receives the connection (valid until ops->connected() reports failure)
 *
 * Return: 0, -EADDRINUSE, -ENOMEM, -EHOSTUNREACH.
 */
int stack_app_connect(struct stack *s, int family, const __u32 laddr[4], __u16 lport,
		      const __u32 raddr[4], __u16 rport, void *arg, struct stack_conn **cp)
{
	struct stack_conn *c;
	struct tcp_pcb *pcb;
	ip_addr_t lip, rip;
	err_t err;

	stk_cur = s;
	/*
	 * lwIP's own check (tcp_bind, tcp_connect) walks lists the stack keeps empty: a second pcb
	 * for a 4-tuple in the hash would take the first one's slot, and the first would leak.
	 */
	if (stack_app_flow_busy(s, family, laddr, lport, raddr, rport))
		return -EADDRINUSE;
	stk_ip(family, laddr, &lip);
	stk_ip(family, raddr, &rip);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	pcb = LW(s)->tcp_new_ip_type(IP_GET_TYPE(&rip));
	if (!pcb) {
		free(c);
		return -ENOMEM;
	}
	err = LW(s)->tcp_bind(pcb, &lip, lport);
	if (err != ERR_OK) {
		LW(s)->tcp_close(pcb);
		free(c);
		return err == ERR_USE ? -EADDRINUSE : -ENOMEM;
	}
	*c = (struct stack_conn){ .s = s, .pcb = pcb, .kind = STACK_APP, .arg = arg,
				  .connecting = true };
	stk_conn_init(c);
	stk_enter(s, NULL);
	err = LW(s)->tcp_connect(pcb, &rip, rport, stk_connected);
	stk_leave(s, NULL, NULL);
	if (err != ERR_OK) {
		LW(s)->tcp_arg(pcb, NULL);
		LW(s)->tcp_err(pcb, NULL);
		LW(s)->tcp_abort(pcb);
		stk_conn_free(c);
		return err == ERR_RTE ? -EHOSTUNREACH : -ENOMEM;
	}
	*cp = c;
	return 0;
}

/**
 * stack_conn_read - copy up to @max received bytes of @c to @dst (the window stays closed).
 * @s:   stack
 * @c:   app connection
 * @dst: destination
 * @max: room there
 *
 * Return: bytes copied.
 */
__u32 stack_conn_read(struct stack *s, struct stack_conn *c, void *dst, __u32 max)
{
	__u32 n = 0;

	while (c->rxq && n < max) {
		struct pbuf *p = c->rxq;
		__u32 take = p->len - c->rxq_off;

		if (take > max - n)
			take = max - n;
		memcpy((__u8 *)dst + n, (__u8 *)p->payload + c->rxq_off, take);
		n += take;
		c->rxq_off += take;
		if (c->rxq_off == p->len) {
			c->rxq = p->next;
			c->rxq_off = 0;
			p->next = NULL;
			LW(s)->pbuf_free(p);
		}
	}
	return n;
}

/**
 * stack_conn_pending - what @c has for the app layer.
 * @c:   app connection
 * @eof: receives true once the peer's FIN came and every byte before it was read
 *
 * Return: true if bytes are waiting to be read.
 */
bool stack_conn_pending(const struct stack_conn *c, bool *eof)
{
	*eof = !c->rxq && c->peer_closed;
	return c->rxq != NULL;
}

/* lwIP takes at most 64 KiB - 1 per tcp_recved() call. */
static void stk_recved(struct stack *s, struct stack_conn *c, __u32 len)
{
	if (len > c->unrecved)
		len = c->unrecved;
	c->unrecved -= len;
	while (len) {
		__u32 n = len > 0xffff ? 0xffff : len;

		LW(s)->tcp_recved(c->pcb, n);
		len -= n;
	}
}

/**
 * stack_conn_recvd - the app is done with @len more bytes of @c: reopen the window by that.
 * @s:   stack
 * @c:   app connection
 * @len: bytes (more than were received are ignored)
 */
void stack_conn_recvd(struct stack *s, struct stack_conn *c, __u32 len)
{
	struct stk_slot *slot;

	if (!c->pcb) { /* in TIME_WAIT, let go of (stk_orphan): no window to give back */
		c->unrecved -= len < c->unrecved ? len : c->unrecved;
		return;
	}
	slot = stk_enter(s, c->pcb);

	stk_recved(s, c, len);
	stk_leave(s, c->pcb, slot);
}

/**
 * stack_conn_send - queue up to @len bytes of @buf on @c (copied), as far as its send buffer
 * takes them, and send.
 * @s:   stack
 * @c:   app connection
 * @buf: bytes
 * @len: count
 *
 * Return: bytes taken (0: the send buffer is full; ops->sent() follows when it drains), or
 * -ENOTCONN (not connected yet, or shut down).
 */
int stack_conn_send(struct stack *s, struct stack_conn *c, const void *buf, __u32 len)
{
	struct tcp_pcb *pcb = c->pcb;
	struct stk_slot *slot;
	__u32 done = 0;
	err_t err = ERR_OK;

	if (c->connecting || !pcb)
		return -ENOTCONN;
	slot = stk_enter(s, pcb);
	while (done < len) {
		__u32 n = len - done, room = tcp_sndbuf(pcb);

		if (n > room)
			n = room;
		if (n > 0xffff)
			n = 0xffff;
		if (!n)
			break;
		err = stk_write(s, pcb, (const __u8 *)buf + done, n,
				TCP_WRITE_FLAG_COPY | (done + n < len ? TCP_WRITE_FLAG_MORE : 0));
		if (err != ERR_OK)
			break;
		done += n;
	}
	if (done) {
		s->st.bytes_out += done;
		LW(s)->tcp_output(pcb);
	}
	stk_leave(s, pcb, slot);
	if (!done && err != ERR_OK && err != ERR_MEM)
		return -ENOTCONN;
	return done;
}

/**
 * stack_conn_shutdown - FIN after what is queued; receiving goes on.
 * @s: stack
 * @c: app connection
 *
 * Return: 0 or -ENOTCONN.
 */
int stack_conn_shutdown(struct stack *s, struct stack_conn *c)
{
	struct stk_slot *slot;
	err_t err;

	if (c->connecting || !c->pcb)
		return -ENOTCONN;
	slot = stk_enter(s, c->pcb);
	err = LW(s)->tcp_shutdown(c->pcb, 0, 1);
	stk_leave(s, c->pcb, slot);
	return err == ERR_OK ? 0 : -ENOTCONN;
}

/**
 * stack_conn_close - the app layer is done with @c: FIN after what is queued (the window given
 * back first, so lwIP does not turn it into a RST), or RST with @reset.  No callback names @c
 * again; @c is freed.
 * @s:     stack
 * @c:     app connection
 * @reset: send a RST
 */
void stack_conn_close(struct stack *s, struct stack_conn *c, bool reset)
{
	struct tcp_pcb *pcb = c->pcb;
	struct stk_slot *slot;

	if (!pcb) { /* in TIME_WAIT, let go of (stk_orphan): lwIP finishes it alone */
		stk_conn_free(c);
		return;
	}
	slot = stk_enter(s, pcb);

	LW(s)->tcp_arg(pcb, NULL);
	LW(s)->tcp_recv(pcb, stk_recv); /* a NULL arg: bytes still coming are dropped */
	LW(s)->tcp_sent(pcb, NULL);
	LW(s)->tcp_err(pcb, NULL);
	if (!reset && !c->connecting) {
		stk_recved(s, c, c->unrecved);
		if (LW(s)->tcp_close(pcb) != ERR_OK)
			reset = true; /* no memory for the FIN */
	}
	if (reset || c->connecting)
		LW(s)->tcp_abort(pcb);
	stk_leave(s, pcb, slot);
	stk_conn_free(c);
}

/* --- setup ---------------------------------------------------------------------------------- */

static err_t stk_netif_init(struct netif *n)
{
	struct stack *s = n->state;

	n->name[0] = 'x';
	n->name[1] = 'q';
	n->output = stk_output4;
	n->output_ip6 = stk_output6;
	n->linkoutput = stk_linkoutput;
	n->mtu = s->cfg.mtu;
	n->mtu6 = s->cfg.mtu;
	n->hwaddr_len = 6;
	memcpy(n->hwaddr, s->cfg.mac, 6);
	/* No ETHARP, IGMP or MLD flags: the kernel owns ARP, ND and multicast on this link. */
	n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHERNET;
	return ERR_OK;
}

/*
 * Addresses: lwIP holds one IPv4 address per netif and LWIP_IPV6_NUM_ADDRESSES IPv6 ones, so the
 * stack keeps as many netifs as its addresses need, all on the one link.  netif[0] always exists
 * (the default, possibly without an IPv4 address); the others come and go with their addresses.
 * A netif in use has state set.
 */
static const ip4_addr_t stk_any4; /* not lwIP's IP4_ADDR_ANY4: that is a global of one copy */

static int stk_netif_new(struct stack *s, const ip4_addr_t *ip, const ip4_addr_t *mask)
{
	ip4_addr_t gw = { 0 };
	struct netif *n = NULL;
	unsigned int i;

	for (i = 0; i < STACK_ADDRS_MAX && !n; i++)
		if (!s->netif[i].state)
			n = &s->netif[i];
	if (!n)
		return -ENOSPC;
	if (!LW(s)->netif_add(n, ip, mask, &gw, s, stk_netif_init, LW(s)->ip_input))
		return -ENOMEM;
	n->rs_count = 0; /* no router solicitations from the dataplane */
	n->ip6_autoconfig_enabled = 0;
	LW(s)->netif_set_up(n);
	LW(s)->netif_set_link_up(n);
	return 0;
}

/* Drop a netif other than netif[0] that has no address left. */
static void stk_netif_prune(struct stack *s, struct netif *n)
{
	int i;

	if (n == &s->netif[0] || !ip4_addr_isany_val(*netif_ip4_addr(n)))
		return;
	for (i = 0; i < LWIP_IPV6_NUM_ADDRESSES; i++)
		if (!ip6_addr_isinvalid(netif_ip6_addr_state(n, i)))
			return;
	LW(s)->netif_remove(n);
	memset(n, 0, sizeof(*n));
}

static int stk_lwip_add(struct stack *s, const struct stack_addr *a)
{
	unsigned int i, tries;
	int ret;

	if (a->a.family == IXDP_FAMILY_INET) {
		ip4_addr_t ip = { a->a.addr[0] }, mask, gw = { 0 };

		stk_prefix_mask(a->prefix_len, &mask);
		for (i = 0; i < STACK_ADDRS_MAX; i++) {
			struct netif *n = &s->netif[i];

			if (n->state && ip4_addr_isany_val(*netif_ip4_addr(n))) {
				LW(s)->netif_set_addr(n, &ip, &mask, &gw);
				return 0;
			}
		}
		return stk_netif_new(s, &ip, &mask);
	}
	for (tries = 0; tries < 2; tries++) {
		ip6_addr_t ip6;
		s8_t idx;

		memset(&ip6, 0, sizeof(ip6));
		memcpy(ip6.addr, a->a.addr, 16);
		for (i = 0; i < STACK_ADDRS_MAX; i++) {
			struct netif *n = &s->netif[i];

			if (!n->state || LW(s)->netif_add_ip6_address(n, &ip6, &idx) != ERR_OK)
				continue;
			/* The kernel did duplicate address detection already: preferred at once. */
			LW(s)->netif_ip6_addr_set_state(n, idx, IP6_ADDR_PREFERRED);
			return 0;
		}
		/* Every netif's IPv6 slots are taken: one more, without an IPv4 address. */
		ret = stk_netif_new(s, &stk_any4, &stk_any4);
		if (ret)
			return ret;
	}
	return -EINVAL; /* lwIP refused it even on a fresh netif */
}

static void stk_lwip_del(struct stack *s, const struct ixdp_addr_key *a)
{
	unsigned int i;

	for (i = 0; i < STACK_ADDRS_MAX; i++) {
		struct netif *n = &s->netif[i];

		if (!n->state)
			continue;
		if (a->family == IXDP_FAMILY_INET) {
			if (ip4_addr_get_u32(netif_ip4_addr(n)) != a->addr[0])
				continue;
			LW(s)->netif_set_addr(n, &stk_any4, &stk_any4, &stk_any4);
		} else {
			ip6_addr_t ip6;
			s8_t idx;

			memset(&ip6, 0, sizeof(ip6));
			memcpy(ip6.addr, a->addr, 16);
			idx = LW(s)->netif_get_ip6_addr_match(n, &ip6);
			if (idx < 0)
				continue;
			LW(s)->netif_ip6_addr_set_state(n, idx, IP6_ADDR_INVALID);
		}
		stk_netif_prune(s, n);
		return;
	}
}

static int stk_addr_find(const struct stack *s, const struct ixdp_addr_key *a)
{
	unsigned int i;

	for (i = 0; i < s->cfg.nr_addrs; i++)
		if (s->cfg.addrs[i].a.family == a->family &&
		    !memcmp(s->cfg.addrs[i].a.addr, a->addr, 16))
			return i;
	return -ENOENT;
}

/**
 * stack_addr_add - serve address @a from now on (or take its new prefix length).
 * @s: stack
 * @a: address and prefix length
 *
 * Return: 0, -ENOSPC (STACK_ADDRS_MAX addresses, or no netif left), -ENOMEM.
 */
int stack_addr_add(struct stack *s, const struct stack_addr *a)
{
	int i, ret;

	stk_cur = s;
	i = stk_addr_find(s, &a->a);
	if (i >= 0) {
		if (s->cfg.addrs[i].prefix_len == a->prefix_len)
			return 0;
		stk_lwip_del(s, &a->a); /* lwIP keeps no connection state in a netif */
		s->cfg.addrs[i].prefix_len = a->prefix_len;
		return stk_lwip_add(s, a);
	}
	if (s->cfg.nr_addrs == STACK_ADDRS_MAX)
		return -ENOSPC;
	ret = stk_lwip_add(s, a);
	if (ret)
		return ret;
	s->cfg.addrs[s->cfg.nr_addrs++] = *a;
	return 0;
}

/**
 * stack_addr_del - stop serving address @a: its connections are reset (the peers see an RST,
 * apps a DEAD event with -EADDRNOTAVAIL), then the address leaves lwIP.
 * @s: stack
 * @a: address
 *
 * Return: the number of connections reset, or -ENOENT.
 */
int stack_addr_del(struct stack *s, const struct ixdp_addr_key *a)
{
	size_t alen = a->family == IXDP_FAMILY_INET ? 4 : 16;
	int i = stk_addr_find(s, a), n = 0;
	__u32 j;

	if (i < 0)
		return i;
	stk_cur = s;
	for (j = 0; j <= s->mask; j++) {
		struct stk_slot *e = &s->slots[j];
		struct tcp_pcb *pcb = e->pcb;

		if (!pcb || pcb == STK_TOMBSTONE || e->key.family != a->family ||
		    memcmp(e->key.daddr, a->addr, alen))
			continue;
		n += !e->tw;
		stk_present(s, e);
		s->abort_errno = -EADDRNOTAVAIL;
		LW(s)->tcp_abort(pcb); /* active: RST and the err callback; TIME_WAIT: freed */
		s->abort_errno = 0;
		stk_leave(s, pcb, e);
	}
	stk_lwip_del(s, a);
	s->cfg.nr_addrs--;
	memmove(&s->cfg.addrs[i], &s->cfg.addrs[i + 1], (s->cfg.nr_addrs - i) * sizeof(s->cfg.addrs[0]));
	s->st.addr_resets += n;
	return n;
}

/**
 * stack_fg_reset - reset every connection of flow group @fg (the peers see an RST, apps a DEAD
 * event with -ECONNABORTED): the group was moved away by force, and its state does not move.
 * @s:  stack
 * @fg: flow group
 *
 * Return: the number of active connections reset (TIME_WAIT ones are freed, not counted).
 */
int stack_fg_reset(struct stack *s, __u32 fg)
{
	int n = 0;
	__u32 j;

	stk_cur = s;
	for (j = 0; j <= s->mask; j++) {
		struct stk_slot *e = &s->slots[j];
		struct tcp_pcb *pcb = e->pcb;

		if (!pcb || pcb == STK_TOMBSTONE || stk_fg(s, &e->key) != fg)
			continue;
		n += !e->tw;
		stk_present(s, e);
		s->abort_errno = -ECONNABORTED;
		LW(s)->tcp_abort(pcb); /* active: RST and the err callback; TIME_WAIT: freed */
		s->abort_errno = 0;
		stk_leave(s, pcb, e);
	}
	return n;
}

/**
 * stack_open - a new stack: its own lwIP copy with netifs for @cfg's addresses.
 * @sp:  receives the stack
 * @cfg: MAC, MTU, addresses (copied)
 * @io:  the driving thread's frame and neighbour callbacks (copied)
 *
 * Return: 0, or a negative errno (logged).
 */
int stack_open(struct stack **sp, const struct stack_cfg *cfg, const struct stack_io *io)
{
	struct stack *s;
	unsigned int i;
	int ret;

	if (cfg->nr_addrs > STACK_ADDRS_MAX)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	s->io = *io;
	s->slots = calloc(STK_HASH_MIN, sizeof(*s->slots));
	s->st.fg_conns = calloc(IXDP_FG_MAX, sizeof(*s->st.fg_conns));
	if (!s->slots || !s->st.fg_conns) {
		ret = -ENOMEM;
		goto err_slots;
	}
	s->mask = STK_HASH_MIN - 1;
	s->demux_seed = cfg->demux_seed;
	if (!s->demux_seed && getrandom(&s->demux_seed, sizeof(s->demux_seed), GRND_NONBLOCK) !=
				      sizeof(s->demux_seed)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts); /* too early in boot: still per start */
		s->demux_seed = ixdp_hash_final(ts.tv_nsec ^ ts.tv_sec ^ (__u32)(uintptr_t)s);
	}
	ret = lwcopy_open(&s->lw, cfg->tmpdir);
	if (ret)
		goto err_slots;
	stk_cur = s;
	ret = stk_netif_new(s, &stk_any4, &stk_any4);
	if (!ret)
		LW(s)->netif_set_default(&s->netif[0]);
	for (i = 0, s->cfg.nr_addrs = 0; i < cfg->nr_addrs && !ret; i++)
		ret = stack_addr_add(s, &cfg->addrs[i]);
	if (ret) {
		pr_err("stack: cannot add the lwIP netifs: %s", strerror(-ret));
		goto err_copy;
	}
	*sp = s;
	return 0;

err_copy:
	for (i = 0; i < STACK_ADDRS_MAX; i++)
		if (s->netif[i].state)
			LW(s)->netif_remove(&s->netif[i]);
	lwcopy_close(&s->lw);
err_slots:
	free(s->st.fg_conns);
	free(s->slots);
	free(s);
	return ret;
}

/**
 * stack_close - reset every connection, close the listeners, unload the copy.
 * @s: stack, or NULL
 */
void stack_close(struct stack *s)
{
	unsigned int i;
	__u32 j;

	if (!s)
		return;
	stk_cur = s;
	stack_flush(s);
	for (j = 0; j <= s->mask; j++) {
		struct stk_slot *e = &s->slots[j];

		if (!e->pcb || e->pcb == STK_TOMBSTONE)
			continue;
		/* Active: RST to the peer, the err callback frees our side; TIME_WAIT: just freed. */
		stk_present(s, e);
		LW(s)->tcp_abort(e->pcb);
		*LW(s)->tcp_active_pcbs = NULL;
		*LW(s)->tcp_tw_pcbs = NULL;
	}
	for (i = 0; i < s->nr_services; i++)
		if (s->services[i].lpcb)
			LW(s)->tcp_close(s->services[i].lpcb);
	for (i = 0; i < s->nr_pending; i++)
		free(s->pending[i].ip);
	for (i = 0; i < STACK_ADDRS_MAX; i++)
		if (s->netif[i].state)
			LW(s)->netif_remove(&s->netif[i]);
	lwcopy_run_deferred();
	stack_flush(s);
	lwcopy_close(&s->lw);
	free(s->st.fg_conns);
	free(s->slots);
	free(s);
}

/* --- the per-batch entry points ------------------------------------------------------------- */

static bool stk_is_local(const struct stack *s, const struct ixdp_flow *f)
{
	size_t n = f->family == IXDP_FAMILY_INET ? 4 : 16;
	unsigned int i;

	for (i = 0; i < s->cfg.nr_addrs; i++)
		if (s->cfg.addrs[i].a.family == f->family && !memcmp(s->cfg.addrs[i].a.addr, f->daddr, n))
			return true;
	return false;
}

/*
 * A SYN for a connection of ours in TIME_WAIT (we closed first) opens a new incarnation when its
 * sequence number is past the old one's, as BSD and Linux allow (RFC 1122 4.2.2.13); lwIP
 * would answer with an ACK and the peer could not reconnect for 2 MSL.  The old pcb is dropped
 * (no RST is sent for a TIME_WAIT pcb) and the SYN goes on to the listener.  Returns true then.
 */
static bool stk_tw_reuse(struct stack *s, struct stk_slot *slot, const __u8 *l4)
{
	struct tcphdr tcp, *th = &tcp;
	struct tcp_pcb *pcb = slot->pcb;

	memcpy(&tcp, l4, sizeof(tcp)); /* 2-byte aligned behind Ethernet: no cast */
	if (!th->syn || th->ack || th->rst || !seq_lt(pcb->rcv_nxt, __builtin_bswap32(th->seq)))
		return false;
	stk_remove(s, slot);
	*LW(s)->tcp_tw_pcbs = pcb;
	pcb->next = NULL;
	LW(s)->tcp_abort(pcb); /* a TIME_WAIT pcb: freed, nothing sent */
	*LW(s)->tcp_tw_pcbs = NULL;
	s->st.tw_reused++;
	return true;
}

/* Remember that @e's ACK was delayed (a full list leaves it to tcp_fasttmr()). */
static void stk_delack(struct stack *s, struct stk_slot *e)
{
	struct stk_delack *d;

	if (s->nr_delacks == STK_DELACKS_MAX)
		return;
	d = &s->delacks[(s->delack_head + s->nr_delacks++) % STK_DELACKS_MAX];
	d->key = e->key;
	d->due = s->now + STK_DELACK_NS;
	e->delack = true;
}

/* Send the delayed ACKs that are due (unless something carried them meanwhile). */
static void stk_delacks(struct stack *s, __u64 now)
{
	while (s->nr_delacks) {
		struct stk_delack *d = &s->delacks[s->delack_head];
		struct stk_slot *e;

		if (d->due > now)
			break;
		s->delack_head = (s->delack_head + 1) % STK_DELACKS_MAX;
		s->nr_delacks--;
		e = stk_find(s, &d->key);
		if (!e || e->tw)
			continue;
		e->delack = false;
		if (!(e->pcb->flags & TF_ACK_DELAY))
			continue;
		e->pcb->flags = (e->pcb->flags & ~TF_ACK_DELAY) | TF_ACK_NOW;
		stk_enter(s, e->pcb);
		LW(s)->tcp_output(e->pcb);
		stk_leave(s, e->pcb, e);
	}
}

/*
 * The listener lwIP would give a SYN for @f to: one bound to the exact address first, then one
 * bound to any address of the family or of both (tcp_input()'s order).
 */
static struct stk_service *stk_listener_for(struct stack *s, const struct ixdp_flow *f)
{
	struct stk_service *any = NULL;
	unsigned int i;

	for (i = 0; i < s->nr_services; i++) {
		struct stk_service *svc = &s->services[i];
		const ip_addr_t *ip;

		if (!svc->lpcb || svc->lpcb->local_port != f->dport)
			continue;
		ip = &svc->lpcb->local_ip;
		if (IP_IS_ANY_TYPE_VAL(*ip)) {
			any = any ?: svc;
		} else if (f->family == IXDP_FAMILY_INET && IP_IS_V4_VAL(*ip)) {
			if (ip_2_ip4(ip)->addr == f->daddr[0])
				return svc;
			if (ip4_addr_isany_val(*ip_2_ip4(ip)))
				any = any ?: svc;
		} else if (f->family == IXDP_FAMILY_INET6 && IP_IS_V6_VAL(*ip)) {
			if (!memcmp(ip_2_ip6(ip)->addr, f->daddr, 16))
				return svc;
			if (ip6_addr_isany_val(*ip_2_ip6(ip)))
				any = any ?: svc;
		}
	}
	return any;
}

/*
 * A SYN that would open a new half-open connection beyond the stack's or its listener's limit:
 * dropped unanswered (lwIP 2.1 as Debian builds it enforces no listen backlog, and each
 * SYN_RCVD pcb lives 20 s: TCP_SYN_RCVD_TIMEOUT).  Connections already in the hash, and
 * segments without a bare SYN, always go on.
 */
static bool stk_syn_refused(struct stack *s, const struct ixdp_pkt *pkt, const __u8 *l4)
{
	struct tcphdr tcp, *th = &tcp;
	struct stk_service *svc;

	memcpy(&tcp, l4, sizeof(tcp)); /* 2-byte aligned behind Ethernet: no cast */
	if (!th->syn || th->ack || th->rst)
		return false;
	if (s->cfg.half_open_max && s->st.half_open >= s->cfg.half_open_max)
		return true;
	if (!s->cfg.half_open_listener_max)
		return false;
	svc = stk_listener_for(s, &pkt->flow);
	return svc && svc->half_open >= s->cfg.half_open_listener_max;
}

/**
 * stack_input - one TCP segment for this stack.
 * @s:     stack
 * @frame: the frame (Ethernet header first)
 * @pkt:   what ixdp_parse() found (IXDP_PARSE_L4, TCP)
 *
 * The segment is copied; @frame can be reused as soon as this returns.  Replies, if any, have
 * gone to tx_alloc/tx_commit by then.
 *
 * Return: 0, -EINVAL (not to one of our addresses), -ENOBUFS (a SYN beyond the half-open
 * limits) or -ENOMEM (dropped, counted).
 */
int stack_input(struct stack *s, const void *frame, const struct ixdp_pkt *pkt)
{
	struct stk_slot *slot;
	struct tcp_pcb *pcb = NULL;
	struct pbuf *p;

	stk_cur = s;
	if (!stk_is_local(s, &pkt->flow)) {
		s->st.rx_not_local++; /* lwIP would route it (IP_FORWARD): never */
		return -EINVAL;
	}
	slot = stk_find(s, &pkt->flow);
	if ((!slot || slot->tw) && stk_syn_refused(s, pkt, (const __u8 *)frame + pkt->l4_off)) {
		s->st.syn_dropped++;
		return -ENOBUFS;
	}
	p = LW(s)->pbuf_alloc(PBUF_RAW, pkt->l3_len, PBUF_RAM);
	if (!p) {
		s->st.rx_nomem++;
		return -ENOMEM;
	}
	LW(s)->pbuf_take(p, (const __u8 *)frame + pkt->l3_off, pkt->l3_len);
	s->st.segs_in++;

	if (slot && slot->tw && stk_tw_reuse(s, slot, (const __u8 *)frame + pkt->l4_off))
		slot = NULL;
	if (slot) {
		pcb = slot->pcb;
		stk_present(s, slot);
	}
	LW(s)->ip_input(p, &s->netif[0]);
	if (stk_reconcile(s, pcb, slot) && (pcb->flags & TF_ACK_DELAY) && !slot->delack)
		stk_delack(s, slot);
	return 0;
}

/* tcp_tmr() over every pcb: the list is rebuilt from the hash, and the hash from what survives. */
static void stk_tmr(struct stack *s)
{
	struct tcp_pcb *active = NULL, *tw = NULL, *pcb;
	__u32 i;

	for (i = 0; i <= s->mask; i++) {
		struct stk_slot *e = &s->slots[i];

		if (!e->pcb || e->pcb == STK_TOMBSTONE)
			continue;
		pcb = e->pcb;
		/*
		 * lwIP 2.1.3 can leave the persist timer running with nothing left to send (a peer's
		 * ACKs around a zero window: seed regression_persist_timer_empty_send_buffer), and
		 * tcp_slowtmr() then fails LWIP_ASSERT, which aborts the process: a remote host could
		 * stop ixdpd (found by tcp_fuzz).  With nothing unsent there is nothing to probe for;
		 * tcp_output() starts the timer again when data waits on a closed window.
		 */
		if (!e->tw && pcb->persist_backoff && !pcb->unsent)
			pcb->persist_backoff = 0;
		pcb->next = e->tw ? tw : active;
		if (e->tw)
			tw = pcb;
		else
			active = pcb;
	}
	*LW(s)->tcp_active_pcbs = active;
	*LW(s)->tcp_tw_pcbs = tw;
	LW(s)->tcp_tmr();

	/* What is still on a list lives (its generation is this one's); the rest lwIP freed. */
	s->gen++;
	stk_take_list(s, *LW(s)->tcp_active_pcbs, NULL, false);
	stk_take_list(s, *LW(s)->tcp_tw_pcbs, NULL, true);
	for (i = 0; i <= s->mask; i++) {
		struct stk_slot *e = &s->slots[i];

		if (e->pcb && e->pcb != STK_TOMBSTONE && e->gen != s->gen)
			stk_remove(s, e);
	}
	*LW(s)->tcp_active_pcbs = NULL;
	*LW(s)->tcp_tw_pcbs = NULL;
}

/**
 * stack_poll - run what is due: TCP timers every 250 ms, lwIP's other timers, frames waiting
 * for a neighbour, work lwIP deferred.  Cheap when nothing is due; call it every loop.
 * @s:   stack
 * @now: CLOCK_MONOTONIC, nanoseconds
 */
void stack_poll(struct stack *s, __u64 now)
{
	stk_cur = s;
	s->now = now;
	if (s->nr_delacks)
		stk_delacks(s, now);
	if (now >= s->next_tmr) {
		s->next_tmr = now + STACK_TMR_NS;
		stk_tmr(s);
	}
	if (now >= s->next_timeouts) {
		s->next_timeouts = now + STK_TIMEOUTS_NS;
		lwcopy_check_timeouts(&s->lw);
	}
	if (s->nr_pending && now >= s->next_retry) {
		s->next_retry = now + STK_RETRY_NS;
		stk_retry_pending(s, now);
	}
	lwcopy_run_deferred();
	stack_flush(s);
}

/**
 * stack_next_due - when stack_poll() next has something to do: a delayed ACK, a frame waiting
 * for its neighbour, the TCP timers.  A worker going to sleep wakes up by then.
 * @s: stack
 *
 * Return: CLOCK_MONOTONIC nanoseconds.
 */
__u64 stack_next_due(const struct stack *s)
{
	__u64 due = s->next_tmr;

	if (s->nr_delacks && s->delacks[s->delack_head].due < due)
		due = s->delacks[s->delack_head].due;
	if (s->nr_pending && s->next_retry < due)
		due = s->next_retry;
	return due;
}

/**
 * stack_stats - the stack's counters (written by its thread; read them relaxed elsewhere).
 * @s: stack
 *
 * Return: the counters.
 */
const struct stack_stats *stack_stats(const struct stack *s)
{
	return &s->st;
}

/**
 * stack_lwcopy - the stack's lwIP copy, for tests that watch its calls.
 * @s: stack
 *
 * Return: the copy, whose function table the stack calls through.
 */
struct lwcopy *stack_lwcopy(struct stack *s)
{
	return &s->lw;
}

static void stk_conn_info(const struct stack *s, const struct tcp_pcb *pcb,
			  struct stack_conn_info *o)
{
	struct ixdp_flow k;

	stk_pcb_key(pcb, &k);
	memset(o, 0, sizeof(*o));
	o->family = k.family;
	o->state = pcb->state;
	o->fg = stk_fg(s, &k);
	o->lport = k.dport;
	o->rport = k.sport;
	memcpy(o->laddr, k.daddr, sizeof(o->laddr));
	memcpy(o->raddr, k.saddr, sizeof(o->raddr));
}

/**
 * stack_conns - list the stack's connections, TIME_WAIT included (listeners are not).
 * @s:   stack (its own thread)
 * @out: receives up to @max entries
 * @max: room in @out
 *
 * Return: the number of connections (more than @max when the list was cut short).
 */
unsigned int stack_conns(struct stack *s, struct stack_conn_info *out, unsigned int max)
{
	const struct tcp_pcb *pcb;
	unsigned int n = 0;
	__u32 i;

	for (i = 0; i <= s->mask; i++) {
		pcb = s->slots[i].pcb;
		if (!pcb || pcb == STK_TOMBSTONE)
			continue;
		if (n < max)
			stk_conn_info(s, pcb, &out[n]);
		n++;
	}
	return n;
}

/**
 * stack_demux_seed - the seed of the stack's connection hash (cfg->demux_seed, or drawn).
 * @s: stack
 *
 * Return: the seed.
 */
__u32 stack_demux_seed(const struct stack *s)
{
	return s->demux_seed;
}

/**
 * stack_how - how the stack's lwIP copy was loaded.
 * @s: stack
 *
 * Return: "memfd" or "tmpfile".
 */
const char *stack_how(const struct stack *s)
{
	return s->lw.how;
}
