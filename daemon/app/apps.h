/* SPDX-License-Identifier: GPL-2.0 */
/*
 * apps.h - the control thread's side of app contexts: attaching one (credentials, version,
 * shared memory, wakeup sockets, every worker told) and noticing its end.  The context itself is
 * ctx.h, the registry of listened ports listen.h, the workers' side of the channels chan.h.
 */
#ifndef IXDP_APP_APPS_H
#define IXDP_APP_APPS_H

#include <stdbool.h>
#include <sys/types.h>

#include "app/ctx.h"
#include "app/listen.h"
#include "ixdp/ctl.h"

struct worker;
struct steer;
struct netif;

/* The attached contexts: the control thread's. */
struct apps {
	struct worker *workers;
	unsigned int nr_workers;
	gid_t group;			/* besides root, members of this group may attach */
	bool group_set;
	size_t rx_size;			/* app-rx-size, set after apps_init() */
	unsigned int ctx_conns;		/* app-ctx-conns, likewise: told to apps (conns_max) */
	unsigned int uid_contexts;	/* uid-contexts, set after apps_init(); 0: no limit */
	unsigned int uid_conns;		/* uid-conns, likewise; 0: no limit */
	int epfd;
	struct app_ctx *ctx[APP_CTX_MAX];	/* attached, or dying (held by a worker) */
	unsigned int next_id;
	struct listen_reg listens;	/* workers claim into it under its lock */
	struct app_uid users[APP_CTX_MAX];	/* control thread; workers touch only .conns */
	/* counters */
	__u64 attached;
	__u64 detached;
	__u64 refused;
};

int apps_init(struct apps *a, struct worker *workers, unsigned int nr_workers, struct steer *st,
	      struct netif *nif, int epfd, const char *group);
void apps_close(struct apps *a);
void apps_attach(struct apps *a, int fd, const struct ixdp_ctl_req *req);
bool apps_owns(const struct apps *a, int fd);
void apps_event(struct apps *a, int fd);
void apps_tick(struct apps *a);
unsigned int apps_count(const struct apps *a);
void app_ctx_free(struct app_ctx *c);
void apps_free_held(struct apps *a);

#endif /* IXDP_APP_APPS_H */
