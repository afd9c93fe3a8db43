// SPDX-License-Identifier: GPL-2.0
/*
 * netif.c - interface index, rx queue count (ethtool channels) and addresses, and the kernel's
 * address notifications.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/ethtool.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#include "core/log.h"
#include "net/netif.h"
#include "net/rtnl.h"

/* ETHTOOL_GCHANNELS; a driver without it has a single queue. */
static unsigned int netif_rx_queues(const char *name)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr = { 0 };
	unsigned int n = 1;
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_data = (void *)&ch;
	if (!ioctl(fd, SIOCETHTOOL, &ifr) && ch.rx_count + ch.combined_count > 0)
		n = ch.rx_count + ch.combined_count;
	close(fd);
	return n;
}

static int prefix_len_of(const struct sockaddr *mask)
{
	const __u8 *b;
	int i, n, len = 0;

	if (!mask)
		return 0;
	if (mask->sa_family == AF_INET) {
		b = (const __u8 *)&((const struct sockaddr_in *)mask)->sin_addr;
		n = 4;
	} else {
		b = (const __u8 *)&((const struct sockaddr_in6 *)mask)->sin6_addr;
		n = 16;
	}
	for (i = 0; i < n; i++)
		len += __builtin_popcount(b[i]);
	return len;
}

/* SIOCGIFHWADDR and SIOCGIFMTU. */
static int netif_link(struct netif *n)
{
	struct ifreq ifr = { 0 };
	int fd, ret = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", n->name);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		ret = -errno;
	else
		memcpy(n->mac, ifr.ifr_hwaddr.sa_data, 6);
	if (!ret && ioctl(fd, SIOCGIFMTU, &ifr))
		ret = -errno;
	else if (!ret)
		n->mtu = ifr.ifr_mtu;
	close(fd);
	return ret;
}

/**
 * netif_probe - look up interface @name in the current network namespace.
 * @n:    filled on success
 * @name: interface name
 *
 * Return: 0, or -ENODEV if there is no such interface.
 */
int netif_probe(struct netif *n, const char *name)
{
	struct ifaddrs *ifa, *i;

	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->ifindex = if_nametoindex(name);
	if (!n->ifindex)
		return -ENODEV;
	n->rx_queues = netif_rx_queues(name);
	if (netif_link(n))
		return -ENODEV;

	if (getifaddrs(&ifa))
		return -errno;
	for (i = ifa; i && n->nr_addrs < NETIF_ADDRS_MAX; i = i->ifa_next) {
		struct ixdp_addr_key *a = &n->addrs[n->nr_addrs];

		if (!i->ifa_addr || strcmp(i->ifa_name, name))
			continue;
		memset(a, 0, sizeof(*a));
		if (i->ifa_addr->sa_family == AF_INET) {
			a->family = IXDP_FAMILY_INET;
			memcpy(a->addr, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			a->family = IXDP_FAMILY_INET6;
			memcpy(a->addr, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
		} else {
			continue;
		}
		n->prefix_len[n->nr_addrs] = prefix_len_of(i->ifa_netmask);
		n->nr_addrs++;
	}
	freeifaddrs(ifa);
	return 0;
}

/**
 * netif_format_addr - print an address as text.
 * @a:   address
 * @buf: output
 * @len: size of @buf (INET6_ADDRSTRLEN is enough)
 *
 * Return: 0, or -ENOSPC.
 */
int netif_format_addr(const struct ixdp_addr_key *a, char *buf, unsigned int len)
{
	int af = a->family == IXDP_FAMILY_INET6 ? AF_INET6 : AF_INET;

	return inet_ntop(af, a->addr, buf, len) ? 0 : -ENOSPC;
}

/* --- the address list ------------------------------------------------------------------------ */

/**
 * netif_addr_find - where @a is in @n's address list.
 * @n: interface
 * @a: address
 *
 * Return: its index, or -ENOENT.
 */
int netif_addr_find(const struct netif *n, const struct ixdp_addr_key *a)
{
	unsigned int i;

	for (i = 0; i < n->nr_addrs; i++)
		if (n->addrs[i].family == a->family && !memcmp(n->addrs[i].addr, a->addr, 16))
			return i;
	return -ENOENT;
}

/**
 * netif_addr_add - add @a to the list, or set its prefix length if it is there.
 * @n:          interface
 * @a:          address
 * @prefix_len: its prefix length
 *
 * Return: 0, or -ENOSPC (NETIF_ADDRS_MAX reached).
 */
int netif_addr_add(struct netif *n, const struct ixdp_addr_key *a, __u8 prefix_len)
{
	int i = netif_addr_find(n, a);

	if (i < 0) {
		if (n->nr_addrs == NETIF_ADDRS_MAX)
			return -ENOSPC;
		i = n->nr_addrs++;
		memset(&n->addrs[i], 0, sizeof(n->addrs[i]));
		n->addrs[i].family = a->family;
		memcpy(n->addrs[i].addr, a->addr, 16);
	}
	n->prefix_len[i] = prefix_len;
	return 0;
}

/**
 * netif_addr_del - remove @a from the list (the others keep their order).
 * @n: interface
 * @a: address
 *
 * Return: 0 or -ENOENT.
 */
int netif_addr_del(struct netif *n, const struct ixdp_addr_key *a)
{
	int i = netif_addr_find(n, a);

	if (i < 0)
		return i;
	n->nr_addrs--;
	memmove(&n->addrs[i], &n->addrs[i + 1], (n->nr_addrs - i) * sizeof(n->addrs[0]));
	memmove(&n->prefix_len[i], &n->prefix_len[i + 1], n->nr_addrs - i);
	return 0;
}

/* --- the kernel's address notifications ------------------------------------------------------ */

/* What one RTM_NEWADDR/RTM_DELADDR says: the address, and whether it can be served. */
struct netif_msg {
	struct ixdp_addr_key a;
	__u8 prefix_len;
	bool present;
};

struct netif_dump {
	unsigned int nr;
	struct netif_msg seen[NETIF_ADDRS_MAX];
};

static int netif_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (type <= IFA_MAX)
		tb[type] = a;
	return MNL_CB_OK;
}

/* Decode an address message of interface @ifindex; false if it is not one of ours. */
static bool netif_decode(const struct nlmsghdr *nlh, unsigned int ifindex, struct netif_msg *m)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFA_MAX + 1] = { NULL };
	const struct nlattr *addr;
	__u32 flags = ifa->ifa_flags;
	size_t alen;

	if (ifa->ifa_index != ifindex || (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
		return false;
	if (mnl_attr_parse(nlh, sizeof(*ifa), netif_attr, tb) < 0)
		return false;
	/* IFA_LOCAL is the local end of a point-to-point address; IFA_ADDRESS then the peer. */
	addr = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	alen = ifa->ifa_family == AF_INET ? 4 : 16;
	if (!addr || mnl_attr_get_payload_len(addr) != alen)
		return false;
	if (tb[IFA_FLAGS] && mnl_attr_get_payload_len(tb[IFA_FLAGS]) == 4)
		flags = mnl_attr_get_u32(tb[IFA_FLAGS]);
	memset(m, 0, sizeof(*m));
	m->a.family = ifa->ifa_family == AF_INET ? IXDP_FAMILY_INET : IXDP_FAMILY_INET6;
	memcpy(m->a.addr, mnl_attr_get_payload(addr), alen);
	m->prefix_len = ifa->ifa_prefixlen;
	/* The kernel does not use an IPv6 address before duplicate address detection passed. */
	m->present = nlh->nlmsg_type == RTM_NEWADDR &&
		     !(flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED));
	return true;
}

static int netif_on_msg(const struct nlmsghdr *nlh, void *data)
{
	struct netif_watch *w = data;
	struct netif_msg m;

	if ((nlh->nlmsg_type == RTM_NEWADDR || nlh->nlmsg_type == RTM_DELADDR) &&
	    netif_decode(nlh, w->ifindex, &m))
		w->fn(w->arg, &m.a, m.prefix_len, m.present);
	return MNL_CB_OK;
}

struct netif_dump_ctx {
	unsigned int ifindex;
	struct netif_dump *d;
};

static int netif_on_dump(const struct nlmsghdr *nlh, void *data)
{
	struct netif_dump_ctx *c = data;
	struct netif_msg m;

	if (nlh->nlmsg_type != RTM_NEWADDR || !netif_decode(nlh, c->ifindex, &m) || !m.present)
		return MNL_CB_OK;
	if (c->d->nr == NETIF_ADDRS_MAX) {
		pr_warn("netif: more than %d addresses; ignoring the rest", NETIF_ADDRS_MAX);
		return MNL_CB_OK;
	}
	c->d->seen[c->d->nr++] = m;
	return MNL_CB_OK;
}

/**
 * netif_watch_sync - compare the kernel's addresses of the interface with @n's list and report
 * every difference: addresses the kernel has (present), those it no longer has (absent).
 * @w: watch
 * @n: the list as the caller has it; the callback may change it
 *
 * Return: 0, or a negative errno (the dump failed: nothing reported).
 */
int netif_watch_sync(struct netif_watch *w, const struct netif *n)
{
	struct netif_dump d = { 0 };
	struct netif_dump_ctx c = { w->ifindex, &d };
	struct ixdp_addr_key gone[NETIF_ADDRS_MAX];
	unsigned int nr_gone = 0, i, j;
	int ret;

	ret = rtnl_dump(w->req, RTM_GETADDR, sizeof(struct ifaddrmsg), netif_on_dump, &c);
	if (ret)
		return ret;
	/* Collected first: the callback changes @n. */
	for (i = 0; i < n->nr_addrs; i++) {
		for (j = 0; j < d.nr; j++)
			if (!memcmp(&d.seen[j].a, &n->addrs[i], sizeof(n->addrs[i])))
				break;
		if (j == d.nr)
			gone[nr_gone++] = n->addrs[i];
	}
	for (i = 0; i < nr_gone; i++)
		w->fn(w->arg, &gone[i], 0, false);
	for (j = 0; j < d.nr; j++)
		w->fn(w->arg, &d.seen[j].a, d.seen[j].prefix_len, true);
	return 0;
}

/**
 * netif_watch_read - report the kernel's address notifications (when netif_watch_fd() is
 * readable); lost notifications (ENOBUFS) are made up for by netif_watch_sync().
 * @w: watch
 * @n: the caller's list, for the resynchronisation
 */
void netif_watch_read(struct netif_watch *w, const struct netif *n)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int ret, rounds;

	for (rounds = 0; rounds < 64; rounds++) {
		ret = mnl_socket_recvfrom(w->mon, buf, sizeof(buf));
		if (ret < 0) {
			if (errno != ENOBUFS)
				break;
			pr_warn("netif: address notifications overflowed; reloading");
			ret = netif_watch_sync(w, n);
			if (ret)
				pr_warn("netif: reloading the addresses: %s", strerror(-ret));
			continue;
		}
		mnl_cb_run(buf, ret, 0, 0, netif_on_msg, w);
	}
}

/**
 * netif_watch_fd - the socket carrying the notifications (poll it for input).
 * @w: watch
 *
 * Return: the file descriptor.
 */
int netif_watch_fd(const struct netif_watch *w)
{
	return mnl_socket_get_fd(w->mon);
}

/**
 * netif_watch_open - subscribe to the kernel's address changes of interface @ifindex.
 * @w:       zeroed on entry
 * @ifindex: interface
 * @fn:      called for each change (from netif_watch_read() and netif_watch_sync())
 * @arg:     its first argument
 *
 * Subscribe before reading the addresses (netif_watch_sync()), so that no change falls between.
 *
 * Return: 0, or a negative errno (logged), nothing left open.
 */
int netif_watch_open(struct netif_watch *w, unsigned int ifindex, netif_addr_fn *fn, void *arg)
{
	struct timeval tv = { 2, 0 };
	int ret;

	memset(w, 0, sizeof(*w));
	w->ifindex = ifindex;
	w->fn = fn;
	w->arg = arg;
	w->mon = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	w->req = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!w->mon || !w->req ||
	    mnl_socket_bind(w->mon, RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR, MNL_SOCKET_AUTOPID) ||
	    mnl_socket_bind(w->req, 0, MNL_SOCKET_AUTOPID) ||
	    setsockopt(mnl_socket_get_fd(w->req), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		ret = -errno;
		pr_err("netif: cannot watch the addresses: %s", strerror(-ret));
		netif_watch_close(w);
		return ret;
	}
	return 0;
}

/**
 * netif_watch_close - release what netif_watch_open() made.
 * @w: watch; safe on a zeroed or half-opened one
 */
void netif_watch_close(struct netif_watch *w)
{
	if (w->mon)
		mnl_socket_close(w->mon);
	if (w->req)
		mnl_socket_close(w->req);
	memset(w, 0, sizeof(*w));
}
