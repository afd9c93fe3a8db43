/* SPDX-License-Identifier: GPL-2.0 */
/*
 * listen.h - the listen registry (listen.c): the (family, address, port)s apps listen on, shared
 * by the workers, and the XDP service entries that follow them.
 */
#ifndef IXDP_APP_LISTEN_H
#define IXDP_APP_LISTEN_H

#include <pthread.h>
#include <sys/types.h>

#include "app/ctx.h"
#include "ixdp/steer.h"
#include "net/ports.h"

#define APP_LISTEN_MAX 64	/* distinct (family, address, port) listened on */
#define APP_UID_LISTENS 16	/* default uid-listens: of the APP_LISTEN_MAX */

struct steer;
struct netif;

/* One listened (family, address, port): who owns it, how many (context, worker) hold it. */
struct app_listen {
	int family;			/* 0: both */
	__u32 addr[4];
	__u16 port;
	pid_t pid;
	uid_t uid;			/* of pid: uid-listens counts a user's listens */
	unsigned int refs;
	bool draining;			/* refs 0: its connections still need the steering */
};

/* The registry: set up by the control thread, then claimed into by workers under @lock. */
struct listen_reg {
	struct steer *steer;
	struct netif *nif;		/* its address list changes under @lock */
	__u16 reserved[4];		/* ports of the diagnostic services */
	struct ports_set app_ports;	/* where apps that are not root may listen */
	const char *local_range;	/* the kernel's ephemeral range: PORTS_LOCAL_RANGE */
	unsigned int uid_listens;	/* uid-listens, set after listen_init(); 0: no limit */
	/*
	 * Set after listen_init(), or NULL: does a worker still hold a connection on @port?
	 * While one does, a released listen keeps its service entries (draining), or those
	 * connections' segments would go to the kernel, which resets them.
	 */
	bool (*port_busy)(void *arg, __u16 port);
	void *port_arg;
	unsigned int nr_draining;
	pthread_mutex_t lock;
	struct app_listen listens[APP_LISTEN_MAX];
};

void listen_init(struct listen_reg *r, struct steer *st, struct netif *nif);
void listen_destroy(struct listen_reg *r);
int listen_set_addr(struct listen_reg *r, const struct ixdp_addr_key *ad, __u8 prefix_len,
		    bool add);
int listen_claim(struct listen_reg *r, const struct app_ctx *ctx, int family,
		 const __u32 addr[4], __u16 port, __u64 ino);
void listen_release(struct listen_reg *r, int family, const __u32 addr[4], __u16 port);
void listen_tick(struct listen_reg *r);

#endif /* IXDP_APP_LISTEN_H */
