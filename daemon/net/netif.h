/* SPDX-License-Identifier: GPL-2.0 */
/*
 * netif.h - what ixdpd needs to know about the interface it serves, and the kernel's
 * notifications when its addresses change (rtnetlink, libmnl).
 */
#ifndef IXDP_NETIF_H
#define IXDP_NETIF_H

#include <stdbool.h>

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

/* An address appeared or changed (@present), or went away (or became unusable: DAD). */
typedef void netif_addr_fn(void *arg, const struct ixdp_addr_key *a, __u8 prefix_len,
			   bool present);

struct mnl_socket;

struct netif_watch {
	unsigned int ifindex;
	struct mnl_socket *mon;		/* RTMGRP_IPV4_IFADDR and RTMGRP_IPV6_IFADDR */
	struct mnl_socket *req;		/* dumps */
	netif_addr_fn *fn;
	void *arg;
};

int netif_probe(struct netif *n, const char *name);
int netif_format_addr(const struct ixdp_addr_key *a, char *buf, unsigned int len);
int netif_addr_find(const struct netif *n, const struct ixdp_addr_key *a);
int netif_addr_add(struct netif *n, const struct ixdp_addr_key *a, __u8 prefix_len);
int netif_addr_del(struct netif *n, const struct ixdp_addr_key *a);

int netif_watch_open(struct netif_watch *w, unsigned int ifindex, netif_addr_fn *fn, void *arg);
void netif_watch_close(struct netif_watch *w);
int netif_watch_fd(const struct netif_watch *w);
int netif_watch_sync(struct netif_watch *w, const struct netif *n);
void netif_watch_read(struct netif_watch *w, const struct netif *n);

#endif /* IXDP_NETIF_H */
