// SPDX-License-Identifier: GPL-2.0
/* worker.c - the per-core run-to-completion loop over a worker's queues of the packet I/O seam. */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/worker.h"
#include "ixdp/parse.h"
#include "net/reflect.h"

#define WORKER_SLEEP_MS 200	/* a sleeping worker still looks around this often */
#define WORKER_BLOCKED_MS 1	/* ... and this often while events wait for an app's room */
#define WORKER_FORWARDED ((__u32)-1)	/* worker_frame(): the frame went to its group's owner */

#define unlikely(x) __builtin_expect(!!(x), 0)

/* Debug: hold a request this long (tests of a worker that answers late), at most 10 s. */
static void worker_debug_delay(unsigned int ms)
{
	struct timespec ts;

	if (ms > 10000)
		ms = 10000;
	ts = (struct timespec){ ms / 1000, (long)(ms % 1000) * 1000000 };
	if (ms)
		nanosleep(&ts, NULL);
}

/* Debug knobs from the environment, logged when set. */
static unsigned int worker_debug_knob(unsigned int id, const char *name, const char *what)
{
	const char *env = getenv(name);
	unsigned int ms;

	if (!env || !*env)
		return 0;
	ms = strtoul(env, NULL, 10);
	pr_warn("worker %u: debug: every %s waits %u ms (%s)", id, what, ms, name);
	return ms;
}

/**
 * worker_init - prepare worker @id for @cpu over its queues of @io.
 * @w:     worker, zeroed by the caller except for the knobs set after this call
 * @id:    worker index
 * @cpu:   CPU it is pinned to
 * @io:    the packet I/O backend
 * @fg:    flow group table
 * @peers: every worker (@w is peers[id]), to wake the one it forwards frames to
 * @w2w:   the worker-to-worker rings of io->nr_workers workers
 *
 * Return: 0 or a negative errno.
 */
int worker_init(struct worker *w, unsigned int id, unsigned int cpu, struct pktio *io,
		const struct fg_table *fg, struct worker *peers, struct w2w *w2w)
{
	int ret = -ENOMEM;

	w->id = id;
	w->cpu = cpu;
	w->io = io;
	w->pool = io->pool;
	w->fg = fg;
	w->peers = peers;
	w->w2w = w2w;
	w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->wake_fd < 0)
		return -errno;
	w->fg_packets = calloc(IXDP_FG_MAX, sizeof(*w->fg_packets));
	if (!w->fg_packets)
		goto err_close;
	w->txq = calloc(io->nr_queues, sizeof(*w->txq));
	if (!w->txq)
		goto err_free_fg;
	w->fwd = calloc(io->nr_workers, sizeof(*w->fwd));
	if (!w->fwd)
		goto err_free_txq;
	pool_cache_init(&w->cache, w->pool);
	w->burst = WORKER_BURST_MIN;
	w->detach_delay_ms = worker_debug_knob(id, "IXDP_DEBUG_DETACH_DELAY_MS", "app detach");
	w->conns_delay_ms = worker_debug_knob(id, "IXDP_DEBUG_CONNS_DELAY_MS", "CONNS request");
	return 0;

err_free_txq:
	free(w->txq);
	w->txq = NULL;
err_free_fg:
	free(w->fg_packets);
	w->fg_packets = NULL;
err_close:
	close(w->wake_fd);
	w->wake_fd = -1;
	return ret;
}

/*
 * The frames of one RX burst that belong to another worker, in order, waiting for the burst's
 * end (one ring update per owner and burst).
 */
static inline void worker_forward(struct worker *w, __u32 owner, const struct pktio_frame *f)
{
	struct worker_fwd *b = &w->fwd[owner];

	b->f[b->n++] = *f; /* at most one burst: worker_fwd_flush() runs after each */
	w->fwd_n++;
}

/*
 * Process one frame; returns the length to send back in place, 0 when done with it, or
 * WORKER_FORWARDED when its group's owner is another worker, which gets it instead.  A frame
 * another worker forwarded (@forwarded) is handled here whoever owns its group now: it is
 * never sent on again, so no frame travels between workers twice.
 */
static inline __u32 worker_frame(struct worker *w, const struct pktio_frame *f, bool forwarded)
{
	void *data = pool_frame(w->pool, f->addr);
	struct ixdp_pkt pkt;
	__u32 fg, owner;
	int ret;

	if (ixdp_parse(data, (char *)data + f->len, &pkt) != IXDP_PARSE_L4) {
		STAT_ADD(w->st.rx_invalid, 1);
		return 0;
	}
	fg = ixdp_flow_group(&pkt.flow, w->hash_seed, w->fg->nr - 1);
	owner = fg_owner(w->fg, fg);
	if (unlikely(owner != w->id) && !forwarded) {
		STAT_ADD(w->st.misrouted, 1);
		worker_forward(w, owner, f);
		return WORKER_FORWARDED;
	}
	STAT_ADD(w->fg_packets[fg], 1);

	if (pkt.flow.proto == IPPROTO_TCP) {
		/* The stack copies the segment; its answers go to txq[cur_q] through tx_alloc. */
		stack_input(w->stack, data, &pkt);
		return 0;
	}
	if (pkt.flow.proto != IPPROTO_UDP || !w->reflect_udp || pkt.flow.dport != w->reflect_udp) {
		STAT_ADD(w->st.rx_unhandled, 1);
		return 0;
	}
	ret = reflect_udp(data, f->len, &pkt);
	if (ret < 0) {
		STAT_ADD(w->st.rx_invalid, 1);
		return 0;
	}
	return ret;
}

/* TX burst: as much of txq[q] as the backend takes (the rest is dropped and counted). */
static void worker_tx(struct worker *w, unsigned int q)
{
	struct worker_txq *t = &w->txq[q];
	__u32 n = t->n, sent, i;
	__u64 bytes = 0;

	if (!n)
		return;
	sent = pktio_tx_burst(w->io, w->id, q, t->f, n);
	for (i = 0; i < sent; i++)
		bytes += t->f[i].len;
	STAT_ADD(w->st.tx_packets, sent);
	STAT_ADD(w->st.tx_bytes, bytes);
	for (i = sent; i < n; i++)
		pool_cache_free(&w->cache, pool_frame_base(w->pool, t->f[i].addr));
	if (n > sent)
		STAT_ADD(w->st.tx_dropped, n - sent);
	t->n = 0;
}

/* Handle one frame to completion: answered on queue @q, freed, or forwarded to its owner. */
static inline void worker_take(struct worker *w, unsigned int q, const struct pktio_frame *f,
			       bool forwarded)
{
	struct worker_txq *t = &w->txq[q];
	__u32 out = worker_frame(w, f, forwarded);

	if (out == WORKER_FORWARDED)
		return;
	if (!out) {
		pool_cache_free(&w->cache, pool_frame_base(w->pool, f->addr));
		return;
	}
	if (t->n == WORKER_TXQ)
		worker_tx(w, q);
	t->f[t->n++] = (struct pktio_frame){ .addr = f->addr, .len = out };
}

/*
 * A worker sleeping in poll() sees a frame forwarded to it only when woken.  The fence orders
 * the ring's publication before the look at the flag; the sleeper orders its flag before its
 * last look at the rings (worker_sleep()): one of the two sees the other.
 */
static void worker_wake_peer(struct worker *p)
{
	__u64 one = 1;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&p->sleeping, __ATOMIC_RELAXED) &&
	    write(p->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn("worker %u: wakeup: %s", p->id, strerror(errno));
}

/* Hand this burst's frames of other workers' groups to their owners; a full ring drops. */
static __attribute__((noinline)) void worker_fwd_flush(struct worker *w)
{
	unsigned int to, i, sent;

	for (to = 0; to < w->io->nr_workers && w->fwd_n; to++) {
		struct worker_fwd *b = &w->fwd[to];

		if (!b->n)
			continue;
		sent = w2w_send(w2w_ring(w->w2w, w->id, to), b->f, b->n);
		STAT_ADD(w->st.fwd_out, sent);
		for (i = sent; i < b->n; i++)
			pool_cache_free(&w->cache, pool_frame_base(w->pool, b->f[i].addr));
		if (b->n > sent)
			STAT_ADD(w->st.fwd_dropped, b->n - sent);
		w->fwd_n -= b->n;
		b->n = 0;
		if (sent)
			worker_wake_peer(&w->peers[to]);
	}
}

/* RX burst on one queue, processed to completion, answers sent with one TX burst. */
static __attribute__((noinline)) unsigned int worker_rx(struct worker *w, unsigned int q)
{
	struct pktio_frame f[WORKER_BURST_MAX];
	__u32 n, i;
	__u64 bytes = 0;

	n = pktio_rx_burst(w->io, w->id, q, f, w->burst);
	if (!n)
		return 0;
	/*
	 * Adaptive batching: a full burst means frames are queued behind it, so take more next time
	 * (amortise); a burst under half full means little is waiting, so take fewer (answer the
	 * first frames sooner).
	 */
	if (n == w->burst && w->burst < WORKER_BURST_MAX)
		w->burst *= 2;
	else if (n < w->burst / 2 && w->burst > WORKER_BURST_MIN)
		w->burst /= 2;
	STAT_ADD(w->st.rx_bursts, 1);
	__atomic_store_n(&w->st.burst, w->burst, __ATOMIC_RELAXED);
	w->cur_q = q;
	for (i = 0; i < n; i++) {
		bytes += f[i].len;
		worker_take(w, q, &f[i], false);
	}
	STAT_ADD(w->st.rx_packets, n);
	STAT_ADD(w->st.rx_bytes, bytes);
	if (unlikely(w->fwd_n))
		worker_fwd_flush(w);
	stack_flush(w->stack); /* the batch's pure ACKs, coalesced */
	worker_tx(w, q);
	return n;
}

/*
 * Frames other workers forwarded here (at most a burst from each), handled as if received;
 * answers leave with one TX burst on queue 0 (any queue can send any frame of the pool).
 */
static unsigned int worker_fwd_rx(struct worker *w)
{
	struct pktio_frame f[WORKER_BURST_MAX];
	unsigned int from, n, i, total = 0;

	w->cur_q = 0;
	for (from = 0; from < w->io->nr_workers; from++) {
		if (from == w->id)
			continue;
		n = w2w_recv(w2w_ring(w->w2w, from, w->id), f, WORKER_BURST_MAX);
		for (i = 0; i < n; i++)
			worker_take(w, 0, &f[i], true);
		total += n;
	}
	if (!total)
		return 0;
	STAT_ADD(w->st.fwd_in, total);
	stack_flush(w->stack);
	worker_tx(w, 0);
	return total;
}

/* Before sleeping (after setting the sleeping flag): has another worker forwarded frames? */
static bool worker_fwd_pending(const struct worker *w)
{
	unsigned int from;

	for (from = 0; from < w->io->nr_workers; from++)
		if (from != w->id && w2w_pending(w2w_ring(w->w2w, from, w->id)))
			return true;
	return false;
}

/* --- the stack's view of the worker: frames out, neighbours ---------------------------------- */

static void *worker_tx_alloc(void *ctx, __u32 len)
{
	struct worker *w = ctx;
	__u64 addr;

	if (len > w->pool->frame_size || !pool_cache_alloc(&w->cache, &addr))
		return NULL;
	return pool_frame(w->pool, addr);
}

static void worker_tx_drop(void *ctx, void *buf)
{
	struct worker *w = ctx;

	pool_cache_free(&w->cache, pool_frame_base(w->pool, pool_addr(w->pool, buf)));
}

static void worker_tx_commit(void *ctx, void *buf, __u32 len)
{
	struct worker *w = ctx;
	struct worker_txq *t = &w->txq[w->cur_q];

	/* Frames may be committed long after their allocation (held ACKs): check room here. */
	if (t->n == WORKER_TXQ)
		worker_tx(w, w->cur_q);
	t->f[t->n++] = (struct pktio_frame){ .addr = pool_addr(w->pool, buf), .len = len };
}

/* The MAC of the next hop to @dst, from the kernel's tables; unknown ones are asked for. */
static int worker_resolve(void *ctx, int family, const void *dst, __u8 mac[6])
{
	struct worker *w = ctx;
	__u32 hop[4];

	if (!neigh_nexthop(w->neigh, family, dst, hop))
		return -EHOSTUNREACH;
	if (!neigh_lookup(w->neigh, family, hop, mac))
		return 0;
	neigh_request(w->neigh, w->id, family, hop, w->now);
	return -EAGAIN;
}

/**
 * worker_open_stack - give the worker a TCP stack (its own lwIP copy).
 * @w:     initialised worker, not running
 * @cfg:   the stack's addresses, MAC, MTU
 * @neigh: the mirrored neighbour and route tables
 * @ccfg:  the app channels' configuration
 *
 * Return: 0 or a negative errno.
 */
int worker_open_stack(struct worker *w, const struct stack_cfg *cfg, struct neigh *neigh,
		      const struct chan_cfg *ccfg)
{
	const struct stack_io io = {
		.ctx = w,
		.tx_alloc = worker_tx_alloc,
		.tx_commit = worker_tx_commit,
		.tx_drop = worker_tx_drop,
		.resolve = worker_resolve,
	};

	int ret;

	w->neigh = neigh;
	ret = stack_open(&w->stack, cfg, &io);
	if (ret)
		return ret;
	ret = chan_open(&w->chan, ccfg, w->stack);
	if (ret) {
		stack_close(w->stack);
		w->stack = NULL;
	}
	return ret;
}

/**
 * worker_control - stage 0: carry out the control thread's request, if one is posted; the one
 * place control requests touch the worker's state.
 * @w: the worker (its own thread, or a test playing it)
 */
void worker_control(struct worker *w)
{
	struct worker_cmd *c = &w->cmd;
	/* Pairs with worker_call()'s release of seq: the arguments are written before it. */
	__u32 seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);

	if (w->control_hook)
		w->control_hook(w);
	if (seq == c->answered)
		return; /* nothing new; answered is ours alone */
	switch (c->op) {
	case WORKER_OP_NONE:
		c->result = 0;
		break;
	case WORKER_OP_CONNS:
		worker_debug_delay(w->conns_delay_ms);
		c->result = (int)stack_conns(w->stack, c->conns, c->max_conns);
		break;
	case WORKER_OP_APP_ATTACH:
		c->result = chan_attach(w->chan, c->arg);
		break;
	case WORKER_OP_APP_DETACH:
		worker_debug_delay(w->detach_delay_ms);
		/* Resets go out with this iteration's TX on queue 0. */
		w->cur_q = 0;
		c->result = chan_detach(w->chan, c->arg);
		break;
	case WORKER_OP_ADDR_ADD:
		c->result = stack_addr_add(w->stack, &c->addr);
		break;
	case WORKER_OP_ADDR_DEL:
		w->cur_q = 0; /* the resets go out with this iteration's TX on queue 0 */
		c->result = stack_addr_del(w->stack, &c->addr.a);
		break;
	case WORKER_OP_FG_RESET:
		w->cur_q = 0; /* as for ADDR_DEL */
		c->result = stack_fg_reset(w->stack, c->fg);
		break;
	default:
		c->result = -EOPNOTSUPP;
	}
	/* After result, and after the last read of the arguments: the mailbox is free again. */
	__atomic_store_n(&c->answered, seq, __ATOMIC_RELEASE);
}

/**
 * worker_call - have the worker carry out @cmd at the top of its loop, and wait for it.
 * @w:          running worker
 * @cmd:        request (op and arguments); result on return
 * @timeout_ms: bound on the wait
 *
 * Control thread only; one request at a time per worker.  The request gets the next sequence
 * number and only the worker's answer to that number ends the wait.
 *
 * Return: the request's result; -EBUSY (an earlier request timed out and the worker has not
 * answered it yet: nothing posted); or -ETIMEDOUT (the request stays posted: the worker may
 * still carry it out, so its buffers and arguments must stay valid until a later call gets
 * past -EBUSY; the caller keeps them for the daemon's life or retries).
 */
int worker_call(struct worker *w, struct worker_cmd *cmd, unsigned int timeout_ms)
{
	__u64 deadline = clock_now_ns() + (__u64)timeout_ms * 1000000, one = 1;
	struct worker_cmd *c = &w->cmd;
	__u32 seq;

	if (!w->running)
		return -ESRCH;
	/* Pairs with the worker's release of answered: it has read the last arguments. */
	if (__atomic_load_n(&c->answered, __ATOMIC_ACQUIRE) != c->seq)
		return -EBUSY;
	c->op = cmd->op;
	c->conns = cmd->conns;
	c->max_conns = cmd->max_conns;
	c->arg = cmd->arg;
	c->addr = cmd->addr;
	c->fg = cmd->fg;
	c->result = 0;
	seq = c->seq + 1;
	__atomic_store_n(&c->seq, seq, __ATOMIC_RELEASE);
	if (write(w->wake_fd, &one, sizeof(one)) < 0)
		pr_warn("worker %u: wakeup: %s", w->id, strerror(errno));
	while (__atomic_load_n(&c->answered, __ATOMIC_ACQUIRE) != seq) {
		struct timespec ts = { 0, 100000 };

		if (clock_now_ns() > deadline)
			return -ETIMEDOUT;
		nanosleep(&ts, NULL);
	}
	cmd->result = c->result;
	return cmd->result;
}

/**
 * worker_posted - the sequence number of the request posted last (control thread).
 * @w: worker
 *
 * After worker_call() returned -ETIMEDOUT, this names that request for worker_answered().
 *
 * Return: the number.
 */
__u32 worker_posted(const struct worker *w)
{
	return w->cmd.seq;
}

/**
 * worker_result - the result of request @seq, while it is the last one posted (control thread).
 * @w:      worker
 * @seq:    from worker_posted()
 * @result: receives it
 *
 * Return: true once the worker has answered @seq and no request was posted since; false
 * otherwise (not answered yet, or a later request's result took its place).
 */
bool worker_result(const struct worker *w, __u32 seq, int *result)
{
	/* Pairs with the worker's release of answered: the result is written before it. */
	if (__atomic_load_n(&w->cmd.answered, __ATOMIC_ACQUIRE) != seq || w->cmd.seq != seq)
		return false;
	*result = w->cmd.result;
	return true;
}

/**
 * worker_answered - has the worker answered request @seq (or a later one)?
 * @w:   worker
 * @seq: from worker_posted()
 *
 * Return: true once it has carried it out.
 */
bool worker_answered(const struct worker *w, __u32 seq)
{
	return (__s32)(__atomic_load_n(&w->cmd.answered, __ATOMIC_ACQUIRE) - seq) >= 0;
}

/*
 * Sleep until a frame arrives on one of our queues (the backend's wait fds), a wakeup (control
 * thread, a worker that forwarded frames), or WORKER_SLEEP_MS.
 */
static void worker_sleep(struct worker *w)
{
	struct pollfd pfd[IXDP_QUEUES_MAX + 1 + APP_CTX_MAX];
	unsigned int nq, n;
	int timeout = WORKER_SLEEP_MS;
	bool blocked = false;
	__u64 due, now, v;
	int ms;

	/* Apps wake us only when they see the flag: set it, then look at their rings once more. */
	if (!chan_sleep_begin(w->chan, &blocked))
		goto out;
	/* So do other workers: the same for the w2w rings (worker_wake_peer()). */
	__atomic_store_n(&w->sleeping, 1, __ATOMIC_SEQ_CST);
	if (worker_fwd_pending(w))
		goto out;
	if (blocked)
		timeout = WORKER_BLOCKED_MS; /* events wait for an app to make room: look again soon */
	/* The stack's next timer (a delayed ACK is due within milliseconds). */
	due = stack_next_due(w->stack);
	now = clock_now_ns();
	ms = due > now ? (int)((due - now + 999999) / 1000000) : 0;
	if (ms < timeout)
		timeout = ms;
	/* Idle: the next burst starts small, so the first frames after a pause are answered soonest. */
	w->burst = WORKER_BURST_MIN;
	__atomic_store_n(&w->st.burst, w->burst, __ATOMIC_RELAXED);
	nq = pktio_wait_fds(w->io, w->id, pfd, IXDP_QUEUES_MAX);
	pfd[nq] = (struct pollfd){ .fd = w->wake_fd, .events = POLLIN };
	n = nq + 1;
	n += chan_pollfds(w->chan, pfd + n, APP_CTX_MAX);
	STAT_ADD(w->st.sleeps, 1);
	if (poll(pfd, n, timeout) > 0 && (pfd[nq].revents & POLLIN))
		while (read(w->wake_fd, &v, sizeof(v)) > 0)
			;
out:
	__atomic_store_n(&w->sleeping, 0, __ATOMIC_RELAXED);
	chan_sleep_end(w->chan);
}

/*
 * An idle iteration (nothing found) takes about 1 us.  One that took longer than this, counted
 * from the end of the one before (its yield included), may have lost the CPU to another task:
 * the yield handed it over, or the scheduler preempted the worker.  A task that competes for
 * the CPU gets at least EEVDF's base slice once it has it (0.75 ms times 1 + log2(CPUs, at most
 * 8): 1.5 ms on 2 CPUs), so 1 ms catches it, while a timer interrupt, a softirq or a kernel
 * thread's short run (a few to a few hundred us) does not make a worker that could have spun
 * sleep for idle-backoff-ms.  On a VM the hypervisor also stops vCPUs for that long; that is no
 * task of ours to make way for, so the loss also needs a context switch (worker_cpu_taken).
 * Measured on this 2-vCPU VM, 1 x 1 echo on a pinned worker, nothing else running: with 100 us
 * and no switch check, 22 back-offs in 11 s and 12 % fewer requests/s than without back-off;
 * with 1 ms and the check, 1 to 5 (a process of the machine that sometimes runs 2.7 ms there).
 */
#define WORKER_CPU_LOST_NS 1000000

/*
 * Whether another task ran on the worker's CPU since the last look: the thread's involuntary
 * context switches (a yield that handed the CPU over counts as one, as does a preemption).  A
 * system call, made only after an idle iteration that took over WORKER_CPU_LOST_NS.
 */
static bool worker_cpu_taken(struct worker *w)
{
	struct rusage ru;
	bool taken;

	if (getrusage(RUSAGE_THREAD, &ru))
		return true; /* cannot tell: believe the clock */
	taken = (__u64)ru.ru_nivcsw != w->nivcsw;
	w->nivcsw = ru.ru_nivcsw;
	return taken;
}

/*
 * One idle spin: always yield.  A task that shares the worker's CPU (an app thread, a client,
 * the kernel's TCP, a build) gets it at once instead of at the end of the spin (measured with
 * apps: 4.6 k against 94 k requests/s for a native echo app on the worker's core,
 * docs/benchmarks.md).  Alone on its CPU, sched_yield() returns at once: the spin then costs
 * one system call per look at the rings.
 */
static void worker_relax(void)
{
	sched_yield();
}

/*
 * The idle iteration that ended at @now took @took ns: if it lost the CPU, back off (an idle
 * worker sleeps at once until shared_until).  A longer loss during a back-off extends it; only
 * a back-off begun is counted.
 */
static void worker_judge_idle(struct worker *w, __u64 now, __u64 took)
{
	if (!w->backoff_ns || took <= WORKER_CPU_LOST_NS || !worker_cpu_taken(w))
		return;
	if (now >= w->shared_until)
		STAT_ADD(w->st.cpu_lost, 1);
	w->shared_until = now + w->backoff_ns;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char name[16];
	cpu_set_t set;
	__u64 last_work, t0;

	snprintf(name, sizeof(name), "ixdp-w%u", w->id);
	pthread_setname_np(pthread_self(), name);
	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
		pr_warn("worker %u: cannot pin to CPU %u", w->id, w->cpu);

	/* One clock read per iteration: its end is the next one's start. */
	t0 = last_work = clock_now_ns();
	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		__u32 answered = w->cmd.answered;
		unsigned int q, work;
		bool judge;
		__u64 t1;

		w->now = t0;
		worker_control(w);
		/*
		 * An iteration that carried out a control request (a connection table copied) or
		 * ran the stack's timers (a walk over every connection) may take long on its own:
		 * it says nothing about the CPU.
		 */
		judge = w->cmd.answered == answered && stack_next_due(w->stack) > t0;
		work = pktio_reap(w->io, w->id, &w->cache);
		/* Apps' commands: their segments go out with queue 0's burst below. */
		w->cur_q = 0;
		work += chan_commands(w->chan);
		stack_flush(w->stack);	/* the batch's SENDs, a segment per connection */
		for (q = 0; q < w->io->nr_queues; q++)
			work += worker_rx(w, q);
		work += worker_fwd_rx(w);
		/* Timers: retransmissions, delayed ACKs, frames that waited for a MAC. */
		w->cur_q = 0;
		stack_poll(w->stack, t0);
		work += w->txq[0].n;
		worker_tx(w, 0);
		work += chan_deliver(w->chan);
		pktio_refill(w->io, w->id, &w->cache);
		work += pktio_flush(w->io, w->id);

		t1 = clock_now_ns();
		if (work) {
			STAT_ADD(w->st.busy_ns, t1 - t0);
			t0 = last_work = t1;
			continue;
		}
		if (judge)
			worker_judge_idle(w, t1, t1 - t0);
		t0 = t1;
		if (t1 - last_work < w->spin_ns && t1 >= w->shared_until) {
			worker_relax();
			continue;
		}
		worker_sleep(w);
		t0 = last_work = clock_now_ns();
	}
	pktio_flush(w->io, w->id);
	pool_cache_flush(&w->cache);
	return NULL;
}

/**
 * worker_start - start the worker thread.
 * @w: initialised worker
 *
 * Return: 0 or a negative errno.
 */
int worker_start(struct worker *w)
{
	int ret;

	w->stop = false;
	ret = pthread_create(&w->thread, NULL, worker_main, w);
	if (ret)
		return -ret;
	w->running = true;
	return 0;
}

/**
 * worker_stop - ask the worker to stop, wake it and wait for it (it returns its frames).
 * @w: worker; a worker that is not running is left alone
 */
void worker_stop(struct worker *w)
{
	__u64 one = 1;

	if (!w->running)
		return;
	__atomic_store_n(&w->stop, true, __ATOMIC_RELEASE);
	if (write(w->wake_fd, &one, sizeof(one)) < 0)
		pr_warn("worker %u: wakeup: %s", w->id, strerror(errno));
	pthread_join(w->thread, NULL);
	w->running = false;
}

/**
 * worker_destroy - release what worker_init() allocated.
 * @w: stopped worker
 */
void worker_destroy(struct worker *w)
{
	struct pktio_frame f[WORKER_BURST_MAX];
	unsigned int q, from, n, i;

	if (w->stack) {
		/* Reset every connection; send the RSTs while the sockets still exist. */
		w->cur_q = 0;
		chan_close(w->chan);
		w->chan = NULL;
		stack_close(w->stack);
		w->stack = NULL;
		for (q = 0; q < w->io->nr_queues; q++)
			worker_tx(w, q);
		pktio_flush(w->io, w->id);
	}
	/* Frames forwarded to us that we never took: every worker has stopped, none comes now. */
	for (from = 0; w->txq && from < w->io->nr_workers; from++) {
		if (from == w->id)
			continue;
		while ((n = w2w_recv(w2w_ring(w->w2w, from, w->id), f, WORKER_BURST_MAX)))
			for (i = 0; i < n; i++)
				pool_cache_free(&w->cache, pool_frame_base(w->pool, f[i].addr));
	}
	if (w->txq)
		pool_cache_flush(&w->cache);
	free(w->fwd);
	w->fwd = NULL;
	free(w->txq);
	w->txq = NULL;
	free(w->conns_buf);
	w->conns_buf = NULL;
	free(w->fg_packets);
	w->fg_packets = NULL;
	if (w->wake_fd >= 0)
		close(w->wake_fd);
	w->wake_fd = -1;
}

/**
 * worker_cpu_ns - CPU time the worker thread has used.
 * @w: running worker
 *
 * Return: nanoseconds, or 0 if the clock cannot be read.
 */
__u64 worker_cpu_ns(const struct worker *w)
{
	struct timespec ts;
	clockid_t cid;

	if (!w->running || pthread_getcpuclockid(w->thread, &cid) || clock_gettime(cid, &ts))
		return 0;
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/**
 * worker_sample - update the busy and CPU shares over the time since the last sample.
 * @w:      worker
 * @now:    CLOCK_MONOTONIC now, in nanoseconds
 */
void worker_sample(struct worker *w, __u64 now)
{
	__u64 busy = STAT_READ(w->st.busy_ns), cpu = worker_cpu_ns(w);
	__u64 dt = now - w->sample_ns;

	if (w->sample_ns && dt) {
		w->busy_pct_x100 = (busy - w->sample_busy_ns) * 10000 / dt;
		w->cpu_pct_x100 = (cpu - w->sample_cpu_ns) * 10000 / dt;
	}
	w->sample_ns = now;
	w->sample_busy_ns = busy;
	w->sample_cpu_ns = cpu;
}
