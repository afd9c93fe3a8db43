// SPDX-License-Identifier: GPL-2.0
/*
 * output.c - the stack's output: lwIP's IP output hooks, the next hop's MAC (frames wait for
 * it), the Ethernet header, the umem frame, the pure ACKs held back until the end of the
 * batch (stack_flush) so that a later one can replace them, and the app bytes output there.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tcp/stack_priv.h"

#define STK_PENDING_NS 3000000000ull	/* how long a frame waits for its neighbour */
#define ETH_HLEN_ 14

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
			STAT_INC(s->st.acks_coalesced);
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
 * stk_output_later - @pcb has new app bytes queued (its slot @e): lwIP sends them at the end of
 * the batch, in stack_flush(), so that what an app queued in one batch (a reply's header and
 * body, then its CLOSE) leaves in as few segments as lwIP makes of it, the FIN in the last.
 * With no slot, or the list full, at once.
 */
void stk_output_later(struct stack *s, struct tcp_pcb *pcb, struct stk_slot *e)
{
	if (e && e->out_due)
		return;
	if (!e || s->nr_outs == STK_OUTS_MAX) {
		LW(s)->tcp_output(pcb);
		return;
	}
	s->outs[s->nr_outs++] = e->key;
	e->out_due = true;
}

/* The app bytes of the batch (stk_output_later()): one tcp_output() per connection. */
static void stk_outputs(struct stack *s)
{
	unsigned int i;

	for (i = 0; i < s->nr_outs; i++) {
		struct stk_slot *e = stk_find(s, &s->outs[i]);

		if (!e || !e->out_due)
			continue;	/* closed meanwhile: tcp_close() sent them */
		e->out_due = false;
		if (e->tw)
			continue;
		stk_enter(s, e->pcb);
		LW(s)->tcp_output(e->pcb);
		stk_leave(s, e->pcb, e);
	}
	s->nr_outs = 0;
}

/**
 * stack_flush - send the app bytes queued and the pure ACKs held back during the batch.  Call
 * it at the end of every batch of stack_input() or stack_conn_send() calls (stack_poll() does
 * it for timer output).
 * @s: stack
 */
void stack_flush(struct stack *s)
{
	unsigned int i;

	stk_outputs(s);	/* first: their segments carry the ACKs held back */

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
		STAT_INC(s->st.tx_nobuf);
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
			STAT_INC(s->st.acks_coalesced);
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
		STAT_INC(s->st.tx_unresolved);
	}
	w = &s->pending[s->nr_pending];
	w->ip = malloc(p->tot_len);
	if (!w->ip) {
		STAT_INC(s->st.tx_unresolved);
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

/**
 * stk_output4 - lwIP's IPv4 output for the stack's netifs.
 * @n:   netif (its state is the stack)
 * @p:   the IP packet
 * @dst: next hop
 *
 * Return: ERR_OK (a frame lost here is a frame lost on the wire).
 */
err_t stk_output4(struct netif *n, struct pbuf *p, const ip4_addr_t *dst)
{
	return stk_output(n->state, p, IXDP_FAMILY_INET, &dst->addr);
}

/**
 * stk_output6 - lwIP's IPv6 output for the stack's netifs.
 * @n:   netif (its state is the stack)
 * @p:   the IP packet
 * @dst: next hop
 *
 * Return: ERR_OK (a frame lost here is a frame lost on the wire).
 */
err_t stk_output6(struct netif *n, struct pbuf *p, const ip6_addr_t *dst)
{
	return stk_output(n->state, p, IXDP_FAMILY_INET6, dst->addr);
}

/**
 * stk_linkoutput - the netifs' link output.  Never called: every output goes through
 * stk_output4/6, which build the frame themselves.
 * @n: netif
 * @p: frame
 *
 * Return: ERR_IF.
 */
err_t stk_linkoutput(struct netif *n, struct pbuf *p)
{
	return ERR_IF;
}

/**
 * stk_retry_pending - send the frames whose next hop's MAC is known now; drop those that waited
 * STK_PENDING_NS.
 * @s:   stack
 * @now: CLOCK_MONOTONIC, nanoseconds
 */
void stk_retry_pending(struct stack *s, __u64 now)
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
			STAT_INC(s->st.tx_unresolved);
			free(w->ip);
		} else {
			s->pending[kept++] = *w;
		}
	}
	s->nr_pending = kept;
}
