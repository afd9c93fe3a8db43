// SPDX-License-Identifier: GPL-2.0
/*
 * conn.c - the stack's app connections, as the app layer (daemon/app/chan.c) drives them:
 * listen, connect, read, give the window back, send, shut down, close.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tcp/stack_priv.h"

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

/**
 * stack_port_conns - how many connections the stack holds on local port @port, TIME_WAIT
 * included (the listen registry keeps a closed listen's port steered while any are left).
 * @s:    stack
 * @port: port
 *
 * Any thread: a relaxed read of a count only the stack's own worker writes.
 *
 * Return: the count.
 */
__u32 stack_port_conns(const struct stack *s, __u16 port)
{
	return __atomic_load_n(&s->port_conns[port], __ATOMIC_RELAXED);
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
 * takes them; they leave at the batch's stack_flush() (or a close before it).
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
		STAT_ADD(s->st.bytes_out, done);
		stk_output_later(s, pcb, slot);
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
