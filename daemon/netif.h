/* SPDX-License-Identifier: GPL-2.0 */
/* netif.h - what ixdpd needs to know about the interface it serves. */
#ifndef IXDP_NETIF_H
#define IXDP_NETIF_H

#include "ixdp/steer.h"

#define NETIF_ADDRS_MAX 32

struct netif {
	char name[16];
	unsigned int ifindex;
	unsigned int rx_queues;		/* rx (or combined) channels in use */
	unsigned int mtu;
	__u8 mac[6];
	unsigned int nr_addrs;
	struct ixdp_addr_key addrs[NETIF_ADDRS_MAX];
	__u8 prefix_len[NETIF_ADDRS_MAX];
};

int netif_probe(struct netif *n, const char *name);
int netif_format_addr(const struct ixdp_addr_key *a, char *buf, unsigned int len);

#endif /* IXDP_NETIF_H */
