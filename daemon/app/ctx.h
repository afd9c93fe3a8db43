/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ctx.h - an attached app context and its user, as the control thread (apps.c) makes them and
 * the workers (chan.c) read them; the sizes of a context's shared memory.
 */
#ifndef IXDP_APP_CTX_H
#define IXDP_APP_CTX_H

#include <stdbool.h>
#include <sys/types.h>

#include "ixdp/app.h"
#include "ixdp/ctl.h"
#include "ixdp/steer.h"

#define APP_CTX_MAX 64		/* attached contexts */
#define APP_CMD_ENTRIES 256	/* per channel */
#define APP_EV_ENTRIES 1024	/* per channel: events can outnumber commands */
#define APP_RX_SIZE (8u << 20)	/* per channel, default app-rx-size: 16,384 chunks */
#define APP_RX_SIZE_MIN (64u << 10)
#define APP_RX_SIZE_MAX (256u << 20)
#define APP_TX_SIZE (4u << 20)	/* per channel */
#define APP_CALL_MS 2000	/* bound on a worker's answer to attach/detach */
#define APP_RETRY_MS 20		/* bound on a retried detach's answer (the tick) */
#define APP_DRAIN_MS 2000	/* an ended context's time to make room for its MOVEDs */
#define APP_UID_CONNS 65536	/* default uid-conns: on every worker together */

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
	int sock;			/* the control connection: its EOF is the app's end */
	pid_t pid;
	uid_t uid;
	struct app_uid *user;		/* its user's slot in struct apps; NULL: not counted */
	int memfd;
	void *shm;
	size_t shm_size;
	int app_wake;			/* our end of the app's wakeup socket */
	int worker_wake[IXDP_WORKERS_MAX]; /* our ends: worker w polls worker_wake[w] */
	bool ended;			/* its app went: no MOVE to it (workers read it atomic) */
	__u64 end_ns;			/* when it ended (clock_now_ns()) */
	bool dying;			/* ended; kept until every worker has let go of it */
	__u64 held;			/* dying: workers that may still hold it (bit w) */
	__u64 posted;			/* ... of those, the ones whose detach is posted */
	__u32 detach_seq[IXDP_WORKERS_MAX]; /* that detach's request (worker_posted()) */
	bool zombie;			/* still held at shutdown: apps_free_held() frees it */
};

#endif /* IXDP_APP_CTX_H */
