// SPDX-License-Identifier: GPL-2.0
/*
 * services.c - a connection's life in lwIP's callbacks (receive, sent, error, accept) for every
 * connection, the diagnostic services (echo, sink) and the listening pcbs of services and apps.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tcp/stack_priv.h"

#define STK_BACKLOG 255	/* lwIP keeps the backlog in a u8 */
/* Service connections whose peer vanished (a lost RST, a crashed host) are reaped by keepalive. */
#define STK_KEEPIDLE_MS 60000
#define STK_KEEPINTVL_MS 10000
#define STK_KEEPCNT 3

/**
 * stk_conn_free - free our side of connection @c (its pcb is lwIP's, or gone), the bytes it
 * still holds included.
 * @c: connection of a service or an app
 */
void stk_conn_free(struct stack_conn *c)
{
	struct stack *s = c->s;

	STAT_INC(s->st.conns_closed);
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

/**
 * stk_write - tcp_write(), minus two of lwIP's assertions (Debian's build aborts on one).
 * @s:     stack
 * @pcb:   connection
 * @data:  bytes
 * @len:   count
 * @flags: TCP_WRITE_FLAG_*
 *
 * The room lwIP kept at the end of the last unsent segment (unsent_oversize) must fit what that
 * segment may still grow by, and the segment must fit the usable MSS (tcp_out.c, "inconsistent
 * oversize vs. space" and "mss_local is too small").  tcp_fuzz found a peer that makes the
 * first false.  Forgetting the kept room is always safe (the next write starts a new pbuf); a
 * segment that no longer fits takes nothing more until it is sent, and the caller keeps its
 * bytes (ERR_MEM).
 *
 * Return: what tcp_write() returns, or ERR_MEM.
 */
err_t stk_write(struct stack *s, struct tcp_pcb *pcb, const void *data, u16_t len, u8_t flags)
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
	STAT_ADD(s->st.bytes_out, n);
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
	STAT_ADD(s->st.bytes_out, done);
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

/**
 * stk_recv - lwIP's receive callback of every connection: bytes or the peer's FIN (@p NULL).
 * @arg: the connection, or NULL once the app layer closed it (bytes are then dropped)
 * @pcb: its pcb
 * @p:   received bytes, or NULL
 * @err: ERR_OK
 *
 * Return: ERR_OK, or ERR_ABRT when the connection was reset here.
 */
err_t stk_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
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
	STAT_ADD(s->st.bytes_in, p->tot_len);
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

/**
 * stk_conn_init - install lwIP's callbacks on a new connection; Nagle off.
 * @c: connection, its pcb set
 */
void stk_conn_init(struct stack_conn *c)
{
	struct stack *s = c->s;
	struct tcp_pcb *pcb = c->pcb;

	LW(s)->tcp_arg(pcb, c);
	LW(s)->tcp_recv(pcb, stk_recv);
	LW(s)->tcp_sent(pcb, stk_sent);
	LW(s)->tcp_err(pcb, stk_err);
	tcp_nagle_disable(pcb); /* request/response traffic: no waiting for a full segment */
	STAT_INC(s->st.conns_opened);
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

/**
 * stk_listener - a listening pcb for @svc on (@ip, @port), whose new connections go to
 * stk_accept().
 * @s:    stack
 * @svc:  the service slot (overwritten)
 * @ip:   address, or any
 * @type: IPADDR_TYPE_V4, V6 or ANY
 * @port: port
 *
 * Return: 0, -EADDRINUSE or -ENOMEM.
 */
int stk_listener(struct stack *s, struct stk_service *svc, const ip_addr_t *ip, u8_t type,
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
