// SPDX-License-Identifier: GPL-2.0
/* netif.c - interface index, rx queue count (ethtool channels) and addresses. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netif.h"

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
