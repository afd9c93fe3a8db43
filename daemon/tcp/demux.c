// SPDX-License-Identifier: GPL-2.0
/*
 * demux.c - the stack's demux hash (flow -> pcb, TIME_WAIT included), which stands in for
 * lwIP's active and TIME_WAIT lists between calls, and the reconciling of those lists with it
 * after lwIP ran; the half-open counts are kept here.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "tcp/stack_priv.h"

static int stk_grow(struct stack *s);

/* Count @e as active or in TIME_WAIT. */
static void stk_count(struct stack *s, const struct stk_slot *e, int n)
{
	/* one writer (this worker); stack_port_conns() may read it from another thread */
	__atomic_store_n(&s->port_conns[e->key.dport], s->port_conns[e->key.dport] + n,
			 __ATOMIC_RELAXED);
	if (e->tw) {
		STAT_ADD(s->st.time_wait, n);
	} else {
		STAT_ADD(s->st.conns, n);
		STAT_ADD(s->st.fg_conns[stk_fg(s, &e->key)], n);
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
		STAT_SUB(s->st.half_open, 1);
		if (e->half_svc != STK_NO_SVC)
			s->services[e->half_svc].half_open--;
	}
	if (svc != STK_NOT_HALF) {
		STAT_INC(s->st.half_open);
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
	e->out_due = false;
	e->tw = tw;
	e->gen = s->gen;
	e->half_svc = STK_NOT_HALF;
	stk_count(s, e, 1);
	stk_half_open(s, e, false);
	return e;
}

/**
 * stk_remove - take @e's connection out of the hash (lwIP closed, aborted or freed its pcb);
 * a pure ACK it still holds is sent first.
 * @s: stack
 * @e: its slot, which becomes a tombstone
 */
void stk_remove(struct stack *s, struct stk_slot *e)
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

/**
 * stk_take_list - put the pcbs of one of lwIP's lists into the hash (active, or TIME_WAIT).
 * @s:    stack
 * @list: the list's first pcb
 * @pcb:  a pcb to look for on it, or NULL
 * @tw:   the list is lwIP's TIME_WAIT one
 *
 * Return: true if @pcb is on the list.
 */
bool stk_take_list(struct stack *s, struct tcp_pcb *list, struct tcp_pcb *pcb, bool tw)
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

/**
 * stk_reconcile - bring the hash up to date after lwIP ran.
 * @s:    stack
 * @pcb:  the pcb lwIP ran with, or NULL
 * @slot: @pcb's slot
 *
 * lwIP ran with @pcb (or nothing) alone on its list, active or TIME_WAIT as its slot says, and
 * the other list empty: every pcb now on either list is live (new ones come from SYNs, TIME_WAIT
 * ones from closes), @pcb is gone if it is on neither (closed or aborted); then both lists are
 * emptied again.
 *
 * Return: true if @pcb lives on as an active connection.
 */
bool stk_reconcile(struct stack *s, struct tcp_pcb *pcb, struct stk_slot *slot)
{
	bool active = stk_take_list(s, *LW(s)->tcp_active_pcbs, pcb, false);
	bool tw = stk_take_list(s, *LW(s)->tcp_tw_pcbs, pcb, true);

	if (pcb && !active && !tw)
		stk_remove(s, slot);
	*LW(s)->tcp_active_pcbs = NULL;
	*LW(s)->tcp_tw_pcbs = NULL;
	return pcb && active;
}
