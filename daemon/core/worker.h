/* SPDX-License-Identifier: GPL-2.0 */
/*
 * worker.h - a pinned worker thread: run-to-completion over its queues of the packet I/O backend
 * (net/pktio.h), which it does not know the kind of.
 *
 * One loop iteration is a short list of bounded stages:
 *   control request -> reap TX completions -> app commands -> per queue: RX burst, process
 *   (reflector, or the TCP stack; frames of a group another worker owns go to it over the
 *   worker-to-worker ring), TX burst -> frames other workers forwarded -> TCP timers and their
 *   TX burst -> app events -> refill RX buffers -> flush TX -> idle policy (spin idle_spin_us,
 *   yielding the CPU each time, then sleep in poll() until a frame or a wakeup arrives; for
 *   idle_backoff_ms after an idle iteration found its CPU taken, sleep at once)
 */
#ifndef IXDP_WORKER_H
#define IXDP_WORKER_H

#include <pthread.h>
#include <stdbool.h>

#include "app/chan.h"
#include "core/stat.h"
#include "core/w2w.h"
#include "net/fg.h"
#include "net/neigh.h"
#include "net/pktio.h"
#include "net/pool.h"
#include "tcp/stack.h"

#define WORKER_TXQ (2 * PKTIO_BURST)	/* frames waiting for one TX burst on one queue */
#define WORKER_BURST_MIN 4		/* adaptive RX burst: from here ... */
#define WORKER_BURST_MAX PKTIO_BURST	/* ... to here */

/* A request from the control thread, applied at the top of the worker's loop. */
enum worker_op {
	WORKER_OP_NONE,		/* answers 0: a round trip through the mailbox and nothing else */
	WORKER_OP_CONNS,	/* copy the connection table into conns/max_conns */
	WORKER_OP_APP_ATTACH,	/* arg: struct app_ctx, now serve its channel */
	WORKER_OP_APP_DETACH,	/* arg: struct app_ctx, reset its connections and forget it */
	WORKER_OP_ADDR_ADD,	/* addr: serve it from now on */
	WORKER_OP_ADDR_DEL,	/* addr: reset its connections, stop serving it */
	WORKER_OP_FG_RESET,	/* fg: reset its connections (the group moved away by force) */
};

/*
 * The control thread's mailbox.  One request at a time, named by a sequence number: the control
 * thread writes the arguments, then publishes seq (release); the worker acts when seq differs
 * from answered, then publishes answered = seq (release) after result.  The control thread
 * writes the arguments only while seq == answered (the worker is done reading them), and a
 * call waits for answered == its own seq, so a late answer is never taken for a later call and
 * a later call's arguments are never run under an earlier op.
 */
struct worker_cmd {
	int op;			/* enum worker_op */
	int result;
	struct stack_conn_info *conns;
	unsigned int max_conns;
	void *arg;
	struct stack_addr addr;
	__u32 fg;
	__u32 seq;		/* control thread: the request posted last */
	__u32 answered;		/* worker: the request answered last */
};


/* Frames to send on one of the worker's queues at the next TX burst. */
struct worker_txq {
	__u32 n;
	struct pktio_frame f[WORKER_TXQ];
};

/* Frames of one RX burst for another worker, sent on the w2w ring at the burst's end. */
struct worker_fwd {
	__u32 n;
	struct pktio_frame f[WORKER_BURST_MAX];
};

/*
 * Written by the worker only (relaxed stores); read by the control thread.  The counters are
 * include/ixdp/ctl.h's list, by name (st.rx_packets) or as the block IXDP_CTL_STATS carries (st.c).
 */
struct worker_stats {
	union {
		struct ixdp_ctl_worker_counters c;
		struct {
			IXDP_CTL_WORKER_COUNTERS(IXDP_CTL_U64)
		};
	};
	__u32 burst;		/* current RX burst limit */
} __attribute__((aligned(64)));

struct worker {
	unsigned int id;
	unsigned int cpu;
	struct pktio *io;	/* the packet I/O backend: this worker serves its queues */
	struct pool *pool;	/* io's frames */
	const struct fg_table *fg;
	struct worker *peers;	/* every worker, [io->nr_workers]; this one is peers[id] */
	struct w2w *w2w;	/* the worker-to-worker rings */
	struct worker_fwd *fwd;	/* [io->nr_workers]: this burst's frames for each owner */
	__u32 fwd_n;		/* frames in fwd, all owners together */
	int sleeping;		/* in poll(): a worker that forwards to it must wake it */
	__u32 hash_seed;
	__u16 reflect_udp;	/* 0: off */
	__u64 spin_ns;
	__u64 backoff_ns;	/* idle-backoff-ms; 0: never back off */
	__u64 shared_until;	/* CLOCK_MONOTONIC: until then an idle worker sleeps at once */
	__u64 nivcsw;		/* the thread's involuntary context switches at the last look */
	struct stack *stack;	/* its TCP stack (NULL only before worker_open_stack()) */
	struct chan *chan;	/* app channels over the stack */
	struct neigh *neigh;
	struct worker_txq *txq;	/* [io->nr_queues] */
	unsigned int cur_q;	/* queue whose burst is being processed: the stack sends there */
	__u64 now;		/* CLOCK_MONOTONIC at the start of the iteration */
	__u32 burst;		/* adaptive RX burst limit, WORKER_BURST_MIN..MAX */
	struct worker_cmd cmd;	/* the control thread's mailbox */
	/* Tests only (NULL in the daemon): called between reading the mailbox and acting on it. */
	void (*control_hook)(struct worker *w);
	unsigned int detach_delay_ms; /* debug: IXDP_DEBUG_DETACH_DELAY_MS, 0 in normal runs */
	unsigned int conns_delay_ms;  /* debug: IXDP_DEBUG_CONNS_DELAY_MS, 0 in normal runs */
	struct stack_conn_info *conns_buf; /* the control thread's copy target for cmd */
	int wake_fd;		/* eventfd: stop and (later) control commands */
	bool stop;
	pthread_t thread;
	bool running;
	struct pool_cache cache;
	struct worker_stats st;
	__u64 *fg_packets;	/* [fg->nr], frames handled per flow group */

	/* Owned by the control thread: rates over the last sample period. */
	__u64 sample_ns;
	__u64 sample_busy_ns;
	__u64 sample_cpu_ns;
	__u32 busy_pct_x100;
	__u32 cpu_pct_x100;
};

int worker_init(struct worker *w, unsigned int id, unsigned int cpu, struct pktio *io,
		const struct fg_table *fg, struct worker *peers, struct w2w *w2w);
int worker_open_stack(struct worker *w, const struct stack_cfg *cfg, struct neigh *neigh,
		      const struct chan_cfg *ccfg);
int worker_start(struct worker *w);
void worker_stop(struct worker *w);
void worker_destroy(struct worker *w);
__u64 worker_cpu_ns(const struct worker *w);
int worker_call(struct worker *w, struct worker_cmd *cmd, unsigned int timeout_ms);
void worker_control(struct worker *w);
__u32 worker_posted(const struct worker *w);
bool worker_result(const struct worker *w, __u32 seq, int *result);
bool worker_answered(const struct worker *w, __u32 seq);
void worker_sample(struct worker *w, __u64 now);

#endif /* IXDP_WORKER_H */
