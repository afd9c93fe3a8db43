// SPDX-License-Identifier: GPL-2.0
/*
 * addrs.c - the stack's addresses: the lwIP netifs that hold them, added and removed as the
 * interface's addresses change, and the connections reset when their address or flow group goes.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "tcp/stack_priv.h"

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
const ip4_addr_t stk_any4; /* not lwIP's IP4_ADDR_ANY4: that is a global of one copy */

/**
 * stk_netif_new - one more netif on the link, up, with IPv4 address @ip (possibly none).
 * @s:    stack
 * @ip:   IPv4 address, or stk_any4
 * @mask: its netmask
 *
 * Return: 0, -ENOSPC (STACK_ADDRS_MAX netifs) or -ENOMEM.
 */
int stk_netif_new(struct stack *s, const ip4_addr_t *ip, const ip4_addr_t *mask)
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
	STAT_ADD(s->st.addr_resets, n);
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
