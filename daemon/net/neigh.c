// SPDX-License-Identifier: GPL-2.0
/*
 * neigh.c - mirror the kernel's neighbour and route tables of one interface (rtnetlink, libmnl)
 * and ask the kernel to resolve the neighbours the workers need.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#include "core/log.h"
#include "net/neigh.h"
#include "net/rtnl.h"

#define NEIGH_USABLE (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP)
#define NEIGH_READ_TRIES 8

static size_t neigh_alen(int family)
{
	return family == IXDP_FAMILY_INET ? 4 : 16;
}

static int neigh_family(int af)
{
	return af == AF_INET ? IXDP_FAMILY_INET : af == AF_INET6 ? IXDP_FAMILY_INET6 : 0;
}

static __u32 neigh_hash(int family, const __u32 *a)
{
	__u32 h = family;
	size_t i;

	for (i = 0; i < neigh_alen(family) / 4; i++)
		h = ixdp_hash_round(h, a[i]);
	return ixdp_hash_final(h);
}

/* --- the table: one writer (control thread), lock-free readers (workers) ------------------- */

static void seq_write_begin(__u32 *seq)
{
	__atomic_store_n(seq, *seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void seq_write_end(__u32 *seq)
{
	__atomic_store_n(seq, *seq + 1, __ATOMIC_RELEASE);
}

/**
 * neigh_update - set what the kernel knows about a neighbour (control thread only).
 * @n:      table
 * @family: enum ixdp_family
 * @addr:   address, network order
 * @mac:    link-layer address, or NULL
 * @usable: @mac may be used
 *
 * Return: 0, or -ENOSPC when the table has no slot left for a new address.
 */
int neigh_update(struct neigh *n, int family, const void *addr, const __u8 *mac, bool usable)
{
	__u32 key[4] = { 0 }, i, probes;

	memcpy(key, addr, neigh_alen(family));
	i = neigh_hash(family, key) & (NEIGH_SLOTS - 1);
	for (probes = 0; probes < NEIGH_SLOTS; probes++, i = (i + 1) & (NEIGH_SLOTS - 1)) {
		struct neigh_entry *e = &n->slots[i];

		if (e->family && (e->family != family || memcmp(e->addr, key, sizeof(key))))
			continue;
		if (!e->family && !usable)
			return 0; /* nothing to forget */
		seq_write_begin(&e->seq);
		e->family = family;
		memcpy(e->addr, key, sizeof(key));
		e->usable = usable && mac;
		if (mac)
			memcpy(e->mac, mac, 6);
		seq_write_end(&e->seq);
		n->st.updates++;
		return 0;
	}
	n->st.table_full++;
	return -ENOSPC;
}

/**
 * neigh_lookup - the MAC of neighbour @addr, if the kernel has one (any thread).
 * @n:      table
 * @family: enum ixdp_family
 * @addr:   address, network order
 * @mac:    receives the MAC
 *
 * Return: 0, or -ENOENT.
 */
int neigh_lookup(const struct neigh *n, int family, const void *addr, __u8 mac[6])
{
	__u32 key[4] = { 0 }, i, probes;

	memcpy(key, addr, neigh_alen(family));
	i = neigh_hash(family, key) & (NEIGH_SLOTS - 1);
	for (probes = 0; probes < NEIGH_SLOTS; probes++, i = (i + 1) & (NEIGH_SLOTS - 1)) {
		const struct neigh_entry *e = &n->slots[i];
		int tries;

		for (tries = 0; tries < NEIGH_READ_TRIES; tries++) {
			__u32 s = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE);
			__u8 fam, usable, m[6];
			bool same;

			if (s & 1)
				continue;
			/* Seqlock read: the copies are checked against the count below. */
			fam = e->family;
			usable = e->usable;
			memcpy(m, e->mac, 6);
			same = fam == family && !memcmp(e->addr, key, sizeof(key));
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (__atomic_load_n(&e->seq, __ATOMIC_RELAXED) != s)
				continue;
			if (!fam)
				return -ENOENT;
			if (!same)
				break; /* next slot */
			if (!usable)
				return -ENOENT;
			memcpy(mac, m, 6);
			return 0;
		}
		if (tries == NEIGH_READ_TRIES)
			return -ENOENT; /* being rewritten right now: ask again later */
	}
	return -ENOENT;
}

static bool prefix_match(const __u32 *a, const __u32 *b, unsigned int len)
{
	unsigned int i;

	for (i = 0; len >= 32; i++, len -= 32)
		if (a[i] != b[i])
			return false;
	if (!len)
		return true;
	return !((ntohl(a[i]) ^ ntohl(b[i])) >> (32 - len));
}

/**
 * neigh_nexthop - where a packet to @dst goes: @dst itself when on-link, else the gateway of
 * the longest matching route through the interface (any thread).
 * @n:      table
 * @family: enum ixdp_family
 * @dst:    destination, network order
 * @hop:    receives the next hop
 *
 * Return: false when no route through the interface covers @dst.
 */
bool neigh_nexthop(const struct neigh *n, int family, const void *dst, __u32 hop[4])
{
	__u32 d[4] = { 0 };
	int tries;

	memcpy(d, dst, neigh_alen(family));
	for (tries = 0; tries < NEIGH_READ_TRIES; tries++) {
		__u32 s = __atomic_load_n(&n->routes_seq, __ATOMIC_ACQUIRE);
		const struct neigh_route *best = NULL;
		struct neigh_route r = { 0 };
		unsigned int i;

		if (s & 1)
			continue;
		for (i = 0; i < n->nr_routes && i < NEIGH_ROUTES_MAX; i++) {
			const struct neigh_route *c = &n->routes[i];

			if (c->family == family && prefix_match(c->dst, d, c->prefix_len) &&
			    (!best || c->prefix_len > best->prefix_len))
				best = c;
		}
		if (best)
			r = *best;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&n->routes_seq, __ATOMIC_RELAXED) != s)
			continue;
		if (!best)
			return false;
		memcpy(hop, r.has_gw ? r.gw : d, sizeof(d));
		return true;
	}
	return false;
}

/* --- workers ask, the control thread relays to the kernel ------------------------------------ */

/**
 * neigh_request - ask (through the control thread) the kernel to resolve @addr (worker side).
 * @n:      table
 * @worker: the calling worker's index (its ring)
 * @family: enum ixdp_family
 * @addr:   address, network order
 * @now:    CLOCK_MONOTONIC ns: the same address is not asked for again within NEIGH_REASK_NS
 */
void neigh_request(struct neigh *n, unsigned int worker, int family, const void *addr, __u64 now)
{
	struct neigh_ring *r = &n->rings[worker];
	struct neigh_req q = { .family = family };
	__u32 head = r->head, slot;
	__u64 one = 1;

	memcpy(q.addr, addr, neigh_alen(family));
	slot = neigh_hash(family, q.addr) % NEIGH_RECENT;
	if (!memcmp(&r->recent[slot].r, &q, sizeof(q)) && now - r->recent[slot].when < NEIGH_REASK_NS)
		return;
	if (head - __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) == NEIGH_RING)
		return; /* the control thread is behind: the stack asks again */
	r->recent[slot].r = q;
	r->recent[slot].when = now;
	r->req[head % NEIGH_RING] = q;
	__atomic_store_n(&r->head, head + 1, __ATOMIC_RELEASE);
	if (write(n->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_debug("neigh: wakeup: %s", strerror(errno));
}

/* RTM_NEWNEIGH with NTF_USE: the kernel resolves the address as if it had a packet for it. */
static void neigh_ask_kernel(struct neigh *n, const struct neigh_req *q)
{
	char buf[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ndmsg *nd;

	nlh->nlmsg_type = RTM_NEWNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE;
	nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
	nd->ndm_family = q->family == IXDP_FAMILY_INET ? AF_INET : AF_INET6;
	nd->ndm_ifindex = n->ifindex;
	nd->ndm_state = NUD_NONE;
	nd->ndm_flags = NTF_USE;
	mnl_attr_put(nlh, NDA_DST, neigh_alen(q->family), q->addr);
	if (mnl_socket_sendto(n->req, nlh, nlh->nlmsg_len) < 0)
		pr_debug("neigh: resolution request: %s", strerror(errno));
	else
		n->st.requests++;
}

/**
 * neigh_on_requests - relay the workers' resolution requests (control thread, on wake_fd).
 * @n: table
 */
void neigh_on_requests(struct neigh *n)
{
	unsigned int w;
	__u64 v;

	if (read(n->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		pr_debug("neigh: eventfd: %s", strerror(errno));
	for (w = 0; w < n->nr_rings; w++) {
		struct neigh_ring *r = &n->rings[w];
		__u32 head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE), tail = r->tail;

		for (; tail != head; tail++)
			neigh_ask_kernel(n, &r->req[tail % NEIGH_RING]);
		__atomic_store_n(&r->tail, tail, __ATOMIC_RELEASE);
	}
}

/* --- rtnetlink messages ----------------------------------------------------------------------- */

struct neigh_parse {
	struct neigh *n;
	struct neigh_route *routes;	/* a route dump fills this */
	unsigned int nr_routes;
	bool routes_changed;		/* a notification said so */
};

static int neigh_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (type <= NDA_MAX && type <= RTA_MAX)
		tb[type] = a;
	return MNL_CB_OK;
}

static void neigh_msg_neigh(struct neigh *n, const struct nlmsghdr *nlh)
{
	const struct ndmsg *nd = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[NDA_MAX + 1] = { NULL };
	int family = neigh_family(nd->ndm_family);
	const __u8 *mac = NULL;

	if (!family || (unsigned int)nd->ndm_ifindex != n->ifindex)
		return;
	if (mnl_attr_parse(nlh, sizeof(*nd), neigh_attr, tb) < 0 || !tb[NDA_DST] ||
	    mnl_attr_get_payload_len(tb[NDA_DST]) != neigh_alen(family))
		return;
	if (tb[NDA_LLADDR] && mnl_attr_get_payload_len(tb[NDA_LLADDR]) == 6)
		mac = mnl_attr_get_payload(tb[NDA_LLADDR]);
	neigh_update(n, family, mnl_attr_get_payload(tb[NDA_DST]), mac,
		     nlh->nlmsg_type == RTM_NEWNEIGH && (nd->ndm_state & NEIGH_USABLE) && mac);
}

static void neigh_msg_route(struct neigh_parse *p, const struct nlmsghdr *nlh)
{
	const struct rtmsg *rt = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[RTA_MAX + 1] = { NULL };
	int family = neigh_family(rt->rtm_family);
	struct neigh_route *r;
	__u32 table;

	if (!family || rt->rtm_type != RTN_UNICAST)
		return;
	if (mnl_attr_parse(nlh, sizeof(*rt), neigh_attr, tb) < 0 || !tb[RTA_OIF] ||
	    mnl_attr_get_u32(tb[RTA_OIF]) != p->n->ifindex)
		return;
	table = tb[RTA_TABLE] ? mnl_attr_get_u32(tb[RTA_TABLE]) : rt->rtm_table;
	if (table != RT_TABLE_MAIN)
		return;
	if (nlh->nlmsg_type != RTM_NEWROUTE || !p->routes) {
		p->routes_changed = true;
		return;
	}
	if (p->nr_routes == NEIGH_ROUTES_MAX) {
		pr_warn("neigh: more than %d routes through the interface; ignoring the rest",
			NEIGH_ROUTES_MAX);
		return;
	}
	r = &p->routes[p->nr_routes++];
	memset(r, 0, sizeof(*r));
	r->family = family;
	r->prefix_len = rt->rtm_dst_len;
	if (tb[RTA_DST])
		memcpy(r->dst, mnl_attr_get_payload(tb[RTA_DST]), neigh_alen(family));
	if (tb[RTA_GATEWAY]) {
		memcpy(r->gw, mnl_attr_get_payload(tb[RTA_GATEWAY]), neigh_alen(family));
		r->has_gw = 1;
	}
}

static int neigh_msg(const struct nlmsghdr *nlh, void *data)
{
	struct neigh_parse *p = data;

	switch (nlh->nlmsg_type) {
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
		neigh_msg_neigh(p->n, nlh);
		break;
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		neigh_msg_route(p, nlh);
		break;
	}
	return MNL_CB_OK;
}

/* Dump one of the kernel's tables on the request socket into neigh_msg(). */
static int neigh_dump(struct neigh *n, int type, struct neigh_parse *p)
{
	return rtnl_dump(n->req, type, type == RTM_GETROUTE ? sizeof(struct rtmsg) :
							  sizeof(struct ndmsg), neigh_msg, p);
}

static int neigh_load_routes(struct neigh *n)
{
	struct neigh_route routes[NEIGH_ROUTES_MAX];
	struct neigh_parse p = { .n = n, .routes = routes };
	int ret = neigh_dump(n, RTM_GETROUTE, &p);

	if (ret)
		return ret;
	seq_write_begin(&n->routes_seq);
	memcpy(n->routes, routes, p.nr_routes * sizeof(routes[0]));
	n->nr_routes = p.nr_routes;
	seq_write_end(&n->routes_seq);
	return 0;
}

/**
 * neigh_on_kernel - apply the kernel's notifications (control thread, when neigh_mon_fd() is
 * readable); a route change reloads the interface's routes.
 * @n: table
 */
void neigh_on_kernel(struct neigh *n)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct neigh_parse p = { .n = n };
	int ret, rounds;

	for (rounds = 0; rounds < 64; rounds++) {
		ret = mnl_socket_recvfrom(n->mon, buf, sizeof(buf));
		if (ret < 0) {
			if (errno == ENOBUFS) { /* notifications lost: resynchronise */
				pr_warn("neigh: kernel notifications overflowed; reloading");
				neigh_dump(n, RTM_GETNEIGH, &p);
				p.routes_changed = true;
				continue;
			}
			break;
		}
		mnl_cb_run(buf, ret, 0, 0, neigh_msg, &p);
	}
	if (p.routes_changed && neigh_load_routes(n))
		pr_warn("neigh: reloading routes failed");
}

/**
 * neigh_mon_fd - the socket carrying the kernel's notifications (poll it for input).
 * @n: table
 *
 * Return: the file descriptor.
 */
int neigh_mon_fd(const struct neigh *n)
{
	return mnl_socket_get_fd(n->mon);
}

/**
 * neigh_open - subscribe to the kernel's neighbour and route changes, then load both tables.
 * @n:          zeroed on entry
 * @ifindex:    the served interface
 * @nr_workers: workers that will send requests (one ring each)
 *
 * Return: 0, or a negative errno (logged), nothing left open.
 */
int neigh_open(struct neigh *n, unsigned int ifindex, unsigned int nr_workers)
{
	struct neigh_parse p = { .n = n };
	struct timeval tv = { 2, 0 };
	int ret;

	memset(n, 0, sizeof(*n));
	n->wake_fd = -1;
	n->ifindex = ifindex;
	n->nr_rings = nr_workers;
	n->slots = calloc(NEIGH_SLOTS, sizeof(*n->slots));
	n->rings = aligned_alloc(64, nr_workers * sizeof(*n->rings));
	if (!n->slots || !n->rings) {
		ret = -ENOMEM;
		goto err;
	}
	memset(n->rings, 0, nr_workers * sizeof(*n->rings));
	n->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	n->mon = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	n->req = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (n->wake_fd < 0 || !n->mon || !n->req) {
		ret = -errno;
		goto err;
	}
	/* Subscribed before the dumps, so no change falls between them. */
	if (mnl_socket_bind(n->mon, RTMGRP_NEIGH | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE,
			    MNL_SOCKET_AUTOPID) ||
	    mnl_socket_bind(n->req, 0, MNL_SOCKET_AUTOPID) ||
	    setsockopt(mnl_socket_get_fd(n->req), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		ret = -errno;
		goto err;
	}
	ret = neigh_dump(n, RTM_GETNEIGH, &p);
	if (!ret)
		ret = neigh_load_routes(n);
	if (ret)
		goto err;
	return 0;
err:
	pr_err("neigh: cannot mirror the kernel's tables: %s", strerror(-ret));
	neigh_close(n);
	return ret;
}

/**
 * neigh_close - release everything neigh_open() made.
 * @n: table; safe on a zeroed or half-opened one
 */
void neigh_close(struct neigh *n)
{
	if (n->mon)
		mnl_socket_close(n->mon);
	if (n->req)
		mnl_socket_close(n->req);
	if (n->wake_fd >= 0)
		close(n->wake_fd);
	free(n->slots);
	free(n->rings);
	memset(n, 0, sizeof(*n));
	n->wake_fd = -1;
}
