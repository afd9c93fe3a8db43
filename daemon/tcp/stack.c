// SPDX-License-Identifier: GPL-2.0
/*
 * stack.c - a worker's TCP/IP stack, a private lwIP copy driven with its raw API: open and
 * close, and the per-batch entry points (segments in, timers, delayed ACKs, stats, the
 * connection list).  The other files of daemon/tcp/ hold its parts: demux.c, output.c,
 * services.c, conn.c and addrs.c (shared through stack_priv.h).
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
#include "tcp/stack_priv.h"

#define STK_RETRY_NS 1000000ull		/* how often waiting frames ask again */
#define STK_TIMEOUTS_NS 10000000ull	/* lwIP's own timers (IP reassembly, ND) */
/*
 * lwIP acknowledges every second segment at once and delays the ACK of the other until
 * tcp_fasttmr(), up to 250 ms later: a peer with Nagle on then waits that long for its next
 * small write.  A delayed ACK is sent after STK_DELACK_NS instead (Linux: 40 ms at least), late
 * enough for an app's answer to carry it.
 */
#define STK_DELACK_NS 5000000ull

__thread struct stack *stk_cur;

/* --- open and close ------------------------------------------------------------------------- */

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
	s->port_conns = calloc(65536, sizeof(*s->port_conns));
	if (!s->slots || !s->st.fg_conns || !s->port_conns) {
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
	free(s->port_conns);
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
	free(s->port_conns);
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
	STAT_INC(s->st.tw_reused);
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
		STAT_INC(s->st.rx_not_local); /* lwIP would route it (IP_FORWARD): never */
		return -EINVAL;
	}
	slot = stk_find(s, &pkt->flow);
	if ((!slot || slot->tw) && stk_syn_refused(s, pkt, (const __u8 *)frame + pkt->l4_off)) {
		STAT_INC(s->st.syn_dropped);
		return -ENOBUFS;
	}
	p = LW(s)->pbuf_alloc(PBUF_RAW, pkt->l3_len, PBUF_RAM);
	if (!p) {
		STAT_INC(s->st.rx_nomem);
		return -ENOMEM;
	}
	LW(s)->pbuf_take(p, (const __u8 *)frame + pkt->l3_off, pkt->l3_len);
	STAT_INC(s->st.segs_in);

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

/**
 * stk_conn_info - describe @pcb's connection as stack_conns() lists it.
 * @s:   stack
 * @pcb: connection (not a listener)
 * @o:   receives the description
 */
void stk_conn_info(const struct stack *s, const struct tcp_pcb *pcb, struct stack_conn_info *o)
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
 * stack_conns - list the stack's connections, TIME_WAIT included (listeners are not), each
 * with the pid of the app holding it (stack_app_ops.owner).
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
		const struct stack_conn *c;

		pcb = s->slots[i].pcb;
		if (!pcb || pcb == STK_TOMBSTONE)
			continue;
		if (n < max) {
			stk_conn_info(s, pcb, &out[n]);
			/* a connection still held (tcp_arg is cleared when ours lets go of it) */
			c = s->slots[i].tw ? NULL : pcb->callback_arg;
			if (c && c->kind == STACK_APP && c->arg && s->app && s->app->owner)
				out[n].pid = s->app->owner(s->app_ctx, c->arg);
		}
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
