/* SPDX-License-Identifier: GPL-2.0 */
/*
 * app.h - the control thread's side of app contexts: attaching one (credentials, version,
 * shared memory, wakeup sockets, every worker told), noticing its end, and the registry of
 * listened ports that workers share.  The workers' side of the channels is chan.c.
 */
#ifndef IXDP_APP_SRV_H
#define IXDP_APP_SRV_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include "ixdp/app.h"
#include "ixdp/ctl.h"
#include "ixdp/steer.h"
#include "ports.h"

#define APP_CTX_MAX 64		/* attached contexts */
#define APP_LISTEN_MAX 64	/* distinct (family, address, port) listened on */
#define APP_CMD_ENTRIES 256	/* per channel */
#define APP_EV_ENTRIES 1024	/* per channel: events can outnumber commands */
#define APP_RX_SIZE (8u << 20)	/* per channel, default app-rx-size: 16,384 chunks */
#define APP_RX_SIZE_MIN (64u << 10)
#define APP_RX_SIZE_MAX (256u << 20)
#define APP_TX_SIZE (4u << 20)	/* per channel */
#define APP_CALL_MS 2000	/* bound on a worker's answer to attach/detach */
#define APP_RETRY_MS 20		/* bound on a retried detach's answer (the tick) */
#define APP_UID_LISTENS 16	/* default uid-listens: of the APP_LISTEN_MAX */
#define APP_UID_CONNS 65536	/* default uid-conns: on every worker together */

struct worker;
struct steer;
struct netif;

/*
 * One user that holds contexts.  The control thread takes and frees the slot (uid, refs,
 * conns_max); workers count the user's connections in @conns with __atomic ops, one add when a
 * connection opens and one subtract when it goes, so uid-conns holds across workers.
 */
struct app_uid {
	uid_t uid;
	unsigned int refs;		/* contexts (dying ones included) of this user; 0: free */
	unsigned int conns_max;		/* uid-conns; 0 (root): no limit */
	__u32 conns;			/* TCP connections on every worker, of every context */
};

/* One attached context: set up by the control thread, read-only to workers while attached. */
struct app_ctx {
	unsigned int id;
	int sock;			/* the control connection: its end is the app's end */
	pid_t pid;
	uid_t uid;
	struct app_uid *user;		/* its user's slot in struct apps; NULL: not counted */
	int memfd;
	void *shm;
	size_t shm_size;
	int app_wake;			/* our end of the app's wakeup socket */
	int worker_wake[IXDP_WORKERS_MAX]; /* our ends: worker w polls worker_wake[w] */
	bool dying;			/* ended; kept until every worker has let go of it */
	__u64 held;			/* dying: workers that may still hold it (bit w) */
	__u64 posted;			/* ... of those, the ones whose detach is posted */
	__u32 detach_seq[IXDP_WORKERS_MAX]; /* that detach's request (worker_posted()) */
	bool zombie;			/* still held at shutdown: apps_free_held() frees it */
};

/* One listened (family, address, port): who owns it, how many (context, worker) hold it. */
struct app_listen {
	int family;			/* 0: both */
	__u32 addr[4];
	__u16 port;
	pid_t pid;
	uid_t uid;			/* of pid: uid-listens counts a user's listens */
	unsigned int refs;
};

struct apps {
	struct worker *workers;
	unsigned int nr_workers;
	struct steer *steer;
	struct netif *nif;		/* its address list changes under lock */
	gid_t group;			/* besides root, members of this group may attach */
	bool group_set;
	__u16 reserved[4];		/* ports of the diagnostic services */
	struct ports_set app_ports;	/* where apps that are not root may listen */
	const char *local_range;	/* the kernel's ephemeral range: PORTS_LOCAL_RANGE */
	size_t rx_size;			/* app-rx-size, set after apps_init() */
	unsigned int uid_contexts;	/* uid-contexts, set after apps_init(); 0: no limit */
	unsigned int uid_listens;	/* uid-listens, likewise; 0: no limit */
	unsigned int uid_conns;		/* uid-conns, likewise; 0: no limit */
	int epfd;
	struct app_ctx *ctx[APP_CTX_MAX];	/* attached, or dying (held by a worker) */
	unsigned int next_id;
	pthread_mutex_t lock;		/* the listen registry: workers call apps_claim/release */
	struct app_listen listens[APP_LISTEN_MAX];
	struct app_uid users[APP_CTX_MAX];	/* control thread; workers touch only .conns */
	/* counters (control thread; listen ones under lock) */
	__u64 attached;
	__u64 detached;
	__u64 refused;
};

int apps_init(struct apps *a, struct worker *workers, unsigned int nr_workers, struct steer *st,
	      struct netif *nif, int epfd, const char *group);
int apps_set_addr(struct apps *a, const struct ixdp_addr_key *ad, __u8 prefix_len, bool add);
void apps_close(struct apps *a);
void apps_attach(struct apps *a, int fd, const struct ixdp_ctl_req *req);
bool apps_owns(const struct apps *a, int fd);
void apps_event(struct apps *a, int fd);
void apps_tick(struct apps *a);
unsigned int apps_count(const struct apps *a);
int apps_claim(struct apps *a, const struct app_ctx *ctx, int family, const __u32 addr[4],
	       __u16 port);
void apps_release(struct apps *a, int family, const __u32 addr[4], __u16 port);
void app_ctx_free(struct app_ctx *c);
void apps_free_held(struct apps *a);

#endif /* IXDP_APP_SRV_H */
