/* SPDX-License-Identifier: GPL-2.0 */
/*
 * neigh.h - the kernel's neighbour and route tables for the served interface, mirrored for the
 * workers.
 *
 * The kernel owns ARP and ND (it keeps answering them while ixdpd runs).  The control thread
 * dumps its tables over rtnetlink at start, follows its change notifications, and asks it to
 * resolve what a worker needs (RTM_NEWNEIGH with NTF_USE).  Workers read without locks: every
 * entry (and the route list as a whole) is guarded by a sequence count the control thread bumps
 * around each write.  Workers never write the table; their resolution requests go through a
 * per-worker single-producer ring and an eventfd.
 */
#ifndef IXDP_NEIGH_H
#define IXDP_NEIGH_H

#include <linux/types.h>
#include <stdbool.h>

#include "ixdp/steer.h"

#define NEIGH_SLOTS 16384	/* power of two */
#define NEIGH_ROUTES_MAX 64
#define NEIGH_RING 64		/* requests per worker in flight to the control thread */
#define NEIGH_RECENT 16		/* per worker: addresses asked for in the last NEIGH_REASK_NS */
#define NEIGH_REASK_NS 500000000ull

struct neigh_entry {
	__u32 seq;		/* odd while being written */
	__u8 family;		/* 0: free */
	__u8 usable;		/* the kernel has a MAC for it (reachable, stale, permanent, ...) */
	__u8 mac[6];
	__u32 addr[4];
};

struct neigh_route {
	__u8 family;
	__u8 prefix_len;
	__u8 has_gw;
	__u32 dst[4];
	__u32 gw[4];
};

struct neigh_req {
	__u8 family;
	__u32 addr[4];
};

/* One worker's channel to the control thread. */
struct neigh_ring {
	__u32 head;		/* written by the worker */
	__u32 tail;		/* written by the control thread */
	struct neigh_req req[NEIGH_RING];
	struct {		/* worker-private: not to ask again for the same address at once */
		struct neigh_req r;
		__u64 when;
	} recent[NEIGH_RECENT];
} __attribute__((aligned(64)));

struct neigh_stats {
	__u64 updates;		/* kernel notifications applied */
	__u64 requests;		/* resolutions asked of the kernel */
	__u64 table_full;	/* entries that found no slot */
};

struct mnl_socket;

struct neigh {
	unsigned int ifindex;
	struct neigh_entry *slots;	/* [NEIGH_SLOTS] */
	__u32 routes_seq;
	unsigned int nr_routes;
	struct neigh_route routes[NEIGH_ROUTES_MAX];
	struct mnl_socket *mon;		/* notifications */
	struct mnl_socket *req;		/* dumps and resolution requests */
	int wake_fd;			/* eventfd: a worker queued a request */
	unsigned int nr_rings;
	struct neigh_ring *rings;
	struct neigh_stats st;
};

int neigh_open(struct neigh *n, unsigned int ifindex, unsigned int nr_workers);
void neigh_close(struct neigh *n);
int neigh_mon_fd(const struct neigh *n);
void neigh_on_kernel(struct neigh *n);
void neigh_on_requests(struct neigh *n);
int neigh_update(struct neigh *n, int family, const void *addr, const __u8 *mac, bool usable);

int neigh_lookup(const struct neigh *n, int family, const void *addr, __u8 mac[6]);
bool neigh_nexthop(const struct neigh *n, int family, const void *dst, __u32 hop[4]);
void neigh_request(struct neigh *n, unsigned int worker, int family, const void *addr,
		   __u64 now);

#endif /* IXDP_NEIGH_H */
