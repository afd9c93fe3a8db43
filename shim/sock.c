// SPDX-License-Identifier: BSD-2-Clause
/*
 * sock.c - the process's ixdp sockets, served from contexts of ixdpd (ixev loops) under one lock,
 * shim.lock.
 *
 * Contexts: a thread gets one on its first ixdp socket (attached then, up to IXDP_CONTEXTS;
 * beyond, threads share them, and a thread that exits leaves its context to the next).  A
 * listener lives in the context of the thread that listened, its connections arrive there,
 * an outgoing connection lives in its connecting thread's.  The first read, write or epoll
 * registration of a connection by another thread moves it into that thread's context
 * (shim_adopt(): ixev_move(), settled under the lock), once: memcached's dispatcher accepts
 * and its workers serve, and each then sleeps on its own context, woken by its own events only.
 *
 * A listener is the app's own kernel socket, which listens too: connections that reach the
 * kernel (loopback, other interfaces) are accepted from it, those XDP steers to ixdp from the
 * loop's accept queue.  An accepted ixdp connection gets a dup of a sentinel socket (an
 * unconnected TCP socket) as its fd: a call the shim does not interpose fails on it at once
 * (ENOTCONN) instead of hanging, and fstat() says it is a socket.
 *
 * Waiting: a blocked call runs the contexts of the sockets it waits for until they have
 * nothing, registers its thread's kick eventfd on those sockets, arms the contexts and sleeps
 * in poll() on their ix_fd(), that kick and any kernel fd it also waits for.  A thread that
 * runs a loop and makes one of those sockets ready writes the kick.
 */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"

#define SHIM_DRAIN_ROUNDS 1024		/* ixev_run() calls per drain at most */
#define SHIM_ACC_MAX 65536		/* connections an accept queue holds at most */
#define SHIM_EXIT_MS 2000		/* how long exit waits for ixdpd to take what was sent */

struct shim shim = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.sentinel = -1,
	.prog_kick = -1,
};

/* Listeners by port (several for one port: an IPv4 and an IPv6 socket), linked by port_next. */
static struct shim_sock *shim_ports[65536];

void shim_log(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if (shim_libc.write(STDERR_FILENO, buf, (size_t)n) < 0)
		return;
}

uint64_t shim_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t shim_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Milliseconds to @deadline for poll(): -1 for none (UINT64_MAX), 0 once it has passed. */
int shim_ms_left(uint64_t deadline)
{
	uint64_t now = shim_now_ms();

	if (deadline == UINT64_MAX)
		return -1;
	return now >= deadline ? 0 : (int)(deadline - now);
}

/* --- contexts -------------------------------------------------------------------------------- */

static void shim_ix_log(int level, const char *msg, void *arg)
{
	(void)arg;
	if (level <= IX_LOG_WARN || shim.debug)
		shim_log("libix-preload: %s", msg);
}

static int shim_on_knock(struct ixev_loop *l, ix_handle_t h, const struct ix_addr *remote,
			 const struct ix_addr *local);
static void shim_on_release(struct ixev_conn *c);

static void shim_on_dialed(struct ixev_conn *c, int err);

static const struct ixev_conn_ops shim_ops = {
	.knock = shim_on_knock,
	.dialed = shim_on_dialed,
	.release = shim_on_release,
};

/*
 * What a thread of the process has of the shim: its kick eventfd (written when a socket it
 * waits for changes) and the context it is bound to.  A pthread key gives both back when the
 * thread exits.
 */
struct shim_thr {
	int kick;
	struct shim_ctx *ctx;
};

static __thread struct shim_thr shim_thr = { .kick = -1 };

static pthread_key_t shim_thr_key;
static bool shim_thr_keyed;

static void shim_thr_exit(void *arg)
{
	struct shim_thr *t = arg;

	if (t->kick >= 0)
		shim_libc.close(t->kick);
	t->kick = -1;
	if (t->ctx) {
		pthread_mutex_lock(&shim.lock);
		t->ctx->threads--;	/* free for the next thread that needs one */
		pthread_mutex_unlock(&shim.lock);
		t->ctx = NULL;
	}
}

/* Have shim_thr_exit() run when this thread exits (once it holds a kick or a context). */
static int shim_thr_hold(void)
{
	if (!shim_thr_keyed)
		return 0;	/* PTHREAD_KEYS_MAX reached: what a thread held stays held */
	return pthread_setspecific(shim_thr_key, &shim_thr) ? -ENOMEM : 0;
}

/* --- the progress thread --------------------------------------------------------------------- */

#define SHIM_PROG_MS 5		/* a context nobody drained this long while it sends: driven here */

/*
 * The progress thread: bytes an app handed over must leave even when none of its threads waits
 * on their context again (a thread that sent its last reply and exited, a connection closed
 * with bytes still buffered, the last member of an epoll set gone).  It sleeps on its kick while
 * no context is sending; while one is, it looks every SHIM_PROG_MS, and a sending context that
 * no drain touched for that long it drives itself, armed and asleep on its ix_fd() (woken by
 * the daemon's RESULTs and SENTs), until its bytes are all out.  Contexts the app's own threads
 * keep draining are left to them.  All signals are blocked in it: they are the app's.
 */
static void *shim_progress(void *arg)
{
	struct pollfd pfd[1 + SHIM_CTX_MAX];
	shim_ctxset_t mine = 0, set;
	uint64_t v;

	(void)arg;
	pthread_mutex_lock(&shim.lock);
	for (;;) {
		uint64_t now = shim_now_ns();
		bool armed;
		nfds_t np;
		int ret;

		if (shim.dead || !shim.sending) {
			mine = 0;
			shim.prog_idle = true;
			pthread_mutex_unlock(&shim.lock);
			pfd[0] = (struct pollfd){ .fd = shim.prog_kick, .events = POLLIN };
			ret = shim_libc.poll(pfd, 1, -1);
			if (shim_libc.read(shim.prog_kick, &v, sizeof(v)) < 0)
				v = 0;
			pthread_mutex_lock(&shim.lock);
			shim.prog_idle = false;
			if (ret < 0 && errno != EINTR) {
				shim_log("libix-preload: the progress thread stops: %s", strerror(errno));
				break;
			}
			continue;
		}
		for (set = shim.sending; set; set &= set - 1) {
			const struct shim_ctx *c = &shim.ctx[__builtin_ctzll(set)];

			if (now - c->drained_ns >= SHIM_PROG_MS * 1000000ull)
				mine |= shim_ctx_bit(c);
		}
		shim_drain_set(mine);
		mine &= shim.sending;
		pfd[0] = (struct pollfd){ .fd = shim.prog_kick, .events = POLLIN };
		np = 1;
		for (set = shim.dead ? 0 : mine; set; set &= set - 1)
			pfd[np++] = (struct pollfd){ .fd = ix_fd(shim.ctx[__builtin_ctzll(set)].ix),
						     .events = POLLIN };
		armed = !shim_sleep_begin(mine);
		pthread_mutex_unlock(&shim.lock);
		/* not armed: events are waiting already, so straight back to drain them */
		if (shim_libc.poll(pfd, np, armed ? SHIM_PROG_MS : 0) > 0 && pfd[0].revents &&
		    shim_libc.read(shim.prog_kick, &v, sizeof(v)) < 0)
			v = 0;
		pthread_mutex_lock(&shim.lock);
		if (armed)
			shim_sleep_end(mine);
	}
	pthread_mutex_unlock(&shim.lock);
	return NULL;
}

/* Start the progress thread (under the lock, at the first attach). */
static void shim_progress_start(void)
{
	sigset_t all, old;
	pthread_t t;
	int ret;

	if (shim.prog_started)
		return;
	shim.prog_kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (shim.prog_kick < 0) {
		shim_log("libix-preload: no progress thread: eventfd: %s", strerror(errno));
		return;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&t, NULL, shim_progress, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		shim_log("libix-preload: no progress thread: %s", strerror(ret));
		shim_libc.close(shim.prog_kick);
		shim.prog_kick = -1;
		return;
	}
	pthread_detach(t);
	pthread_setname_np(t, "ixdp-progress");
	shim.prog_started = true;
}

/* Attach context @c (under the lock; the first also makes the sentinel).  Return: 0 or -errno. */
static int shim_ctx_attach(struct shim_ctx *c)
{
	int ret;

	if (shim.sentinel < 0) {
		ix_set_log(shim_ix_log, NULL);
		shim.sentinel = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (shim.sentinel < 0)
			return -errno;
	}
	ret = ixev_loop_create(shim.control, &shim_ops, c, &c->loop);
	if (ret) {
		c->loop = NULL;
		return ret;
	}
	c->ix = ixev_loop_ix(c->loop);
	ix_set_autoarm(c->ix, 0);	/* armed only for a sleeper */
	shim_progress_start();
	return 0;
}

/**
 * shim_thr_ctx - the calling thread's context (under the lock): the one it is bound to, else
 * one that no live thread is bound to, else a new one while there are fewer than
 * IXDP_CONTEXTS, else the one the fewest threads share.
 *
 * Return: the context, or NULL when none can be had (shim.attach_err says why; also when
 * ixdpd went away).
 */
struct shim_ctx *shim_thr_ctx(void)
{
	struct shim_ctx *c = NULL;
	unsigned int i;
	int ret;

	if (shim_thr.ctx)
		return shim_thr.ctx;
	if (shim.dead)
		return NULL;
	for (i = 0; i < shim.nr_ctx && !c; i++)
		if (!shim.ctx[i].threads)
			c = &shim.ctx[i];
	if (!c && !shim.nr_ctx && shim.attach_err)
		return NULL;	/* tried once: the answer stands */
	if (!c && shim.nr_ctx < shim.max_ctx && !shim.attach_err) {
		struct shim_ctx *n = &shim.ctx[shim.nr_ctx];

		ret = shim_ctx_attach(n);
		if (!ret) {
			n->id = shim.nr_ctx++;
			c = n;
			if (shim.debug)
				shim_log("libix-preload: context %u attached (%u workers)", n->id,
					 ix_nr_workers(n->ix));
		} else if (!shim.nr_ctx) {
			shim.attach_err = ret;
			shim_log("libix-preload: cannot attach to ixdpd (%s)%s", strerror(-ret),
				 shim.fallback ?
				 ": IXDP_FALLBACK=kernel, the kernel serves every socket" :
				 ": listen() on its addresses fails (IXDP_FALLBACK=kernel: the kernel "
				 "serves)");
			return NULL;
		} else {
			/* ixdpd's uid-contexts or its room: this thread shares one from now on */
			shim.attach_err = ret;
			shim_log("libix-preload: context %u: %s: threads share the %u there are",
				 shim.nr_ctx, strerror(-ret), shim.nr_ctx);
		}
	}
	if (!c) {
		if (!shim.nr_ctx)
			return NULL;	/* the first attach failed: shim.attach_err */
		c = &shim.ctx[0];
		for (i = 1; i < shim.nr_ctx; i++)
			if (shim.ctx[i].threads < c->threads)
				c = &shim.ctx[i];
	}
	if (shim_thr_hold())
		return c;	/* used, but not bound: the next call looks again */
	c->threads++;
	shim_thr.ctx = c;
	return c;
}

static void shim_daemon_gone(void);

static void shim_wake_all(void);

/* shim_drain()'s work: the loop run until it has nothing, re-armed for its sleepers. */
static void shim_drain_run(struct shim_ctx *c)
{
	int i, ret;

	for (i = 0; i < SHIM_DRAIN_ROUNDS; i++) {
		ret = ixev_run(c->loop, 0);
		if (ret == -ECONNRESET) {
			shim_daemon_gone();
			return;
		}
		if (ret > 0)
			continue;
		if (ret < 0 || !c->sleepers)
			return;
		/* ix_poll() disarmed it: arm it again for the sleepers (1: more came meanwhile) */
		ret = ix_arm_sleep(c->ix);
		if (ret == -ECONNRESET) {
			shim_daemon_gone();
			return;
		}
		if (ret <= 0)
			return;
	}
	/* still busy: every sleeper (and this thread's next wait) must look again at once */
	shim_wake_all();
	if (shim_thr.kick >= 0) {
		uint64_t one = 1;

		if (shim_libc.write(shim_thr.kick, &one, sizeof(one)) < 0)
			return;
	}
}

/**
 * shim_drain - run context @c's loop until it has nothing (under the lock): events taken,
 * handlers run, queued sends pushed and published.  @c is left armed only while a thread
 * sleeps on its ix_fd() (@c->sleepers): an app that spins is sent no wakeups.  A context left
 * with bytes the daemon has not taken yet is in shim.sending: the progress thread sees that
 * they go out even if no thread of the app waits on that context again.
 * @c: the context (NULL: nothing to do)
 */
void shim_drain(struct shim_ctx *c)
{
	uint64_t one = 1;

	if (!c || !c->loop || shim.dead)
		return;
	shim_drain_run(c);
	c->drained_ns = shim_now_ns();
	if (shim.dead)
		return;
	if (!ixev_loop_sending(c->loop)) {
		shim.sending &= ~shim_ctx_bit(c);
		return;
	}
	if (!shim.sending && shim.prog_idle &&
	    shim_libc.write(shim.prog_kick, &one, sizeof(one)) < 0)
		shim_log("libix-preload: waking the progress thread: %s", strerror(errno));
	shim.sending |= shim_ctx_bit(c);
}

/* shim_drain_set - shim_drain() of every context in @set (under the lock). */
void shim_drain_set(shim_ctxset_t set)
{
	while (set && !shim.dead) {
		shim_drain(&shim.ctx[__builtin_ctzll(set)]);
		set &= set - 1;
	}
}

/**
 * shim_sleep_begin - this thread is about to sleep on the ix_fd() of every context in @set
 * (under the lock, after a drain of them that found nothing): each is armed for it.
 *
 * Return: 0 (sleep, then shim_sleep_end(@set)), or 1 (events are waiting on one of them: look
 * again instead, nothing to end; also when the daemon went away meanwhile).
 */
int shim_sleep_begin(shim_ctxset_t set)
{
	shim_ctxset_t armed = 0, left = set;
	int ret;

	if (shim.dead)
		return 0;	/* nothing to arm: the sleep is on the other fds */
	while (left) {
		unsigned int i = (unsigned int)__builtin_ctzll(left);

		ret = ix_arm_sleep(shim.ctx[i].ix);
		if (ret == -ECONNRESET)
			shim_daemon_gone();
		if (ret) {
			shim_sleep_end(armed);
			return 1;
		}
		shim.ctx[i].sleepers++;
		armed |= 1ull << i;
		left &= left - 1;
	}
	return 0;
}

/* shim_sleep_end - back from a sleep shim_sleep_begin(@set) allowed (under the lock). */
void shim_sleep_end(shim_ctxset_t set)
{
	while (set) {
		struct shim_ctx *c = &shim.ctx[__builtin_ctzll(set)];

		if (c->sleepers)
			c->sleepers--;
		set &= set - 1;
	}
}

/* This thread's kick eventfd (made on first use, closed when the thread exits). */
static int shim_kick_fd(void)
{
	if (shim_thr.kick < 0) {
		shim_thr.kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (shim_thr.kick >= 0 && shim_thr_hold()) {
			shim_libc.close(shim_thr.kick);
			shim_thr.kick = -1;
			errno = ENOMEM;
		}
	}
	return shim_thr.kick;
}

/*
 * The threads blocked in a call, one entry per (thread, socket), on the waiting thread's stack;
 * a socket counts its own so that one nobody waits for costs nothing.
 */
struct shim_wait_entry {
	struct shim_sock *s;
	int kick;
	struct shim_wait_entry *next;
};

static struct shim_wait_entry *shim_waits;

static void shim_wait_add(struct shim_wait_entry *e, struct shim_sock *s, int kick)
{
	e->s = s;
	e->kick = kick;
	e->next = shim_waits;
	shim_waits = e;
	s->waiters++;
}

static void shim_wait_del(struct shim_wait_entry *e)
{
	struct shim_wait_entry **p;

	for (p = &shim_waits; *p; p = &(*p)->next)
		if (*p == e) {
			*p = e->next;
			e->s->waiters--;
			return;
		}
}

/**
 * shim_wake_waiters - wake the threads blocked on @s (under the lock).
 * @s: a socket that changed
 */
void shim_wake_waiters(struct shim_sock *s)
{
	struct shim_wait_entry *e;
	uint64_t one = 1;

	if (!s->waiters)
		return;
	for (e = shim_waits; e; e = e->next)
		if (e->s == s && shim_libc.write(e->kick, &one, sizeof(one)) < 0)
			continue;
}

/* Every thread blocked in a call or an epoll set looks again (under the lock). */
static void shim_wake_all(void)
{
	struct shim_wait_entry *e;
	uint64_t one = 1;

	for (e = shim_waits; e; e = e->next)
		if (shim_libc.write(e->kick, &one, sizeof(one)) < 0)
			continue;
	shim_ep_kick_sleepers();
}

/*
 * ixdpd went away (under the lock): every ixdp connection is reset from now on (ECONNRESET once,
 * then EOF and EPIPE), listeners accept from their kernel side only, and nothing waits on a
 * context any more (its ix_fd() would stay readable: a wait would spin).  Everyone blocked is
 * woken to see it.
 */
static void shim_daemon_gone(void)
{
	struct shim_wait_entry *e;
	uint64_t one = 1;

	shim.dead = 1;
	shim_log("libix-preload: ixdpd went away: its connections are reset, its listeners accept "
		 "from the kernel only");
	shim_ep_daemon_gone();
	for (e = shim_waits; e; e = e->next)
		if (shim_libc.write(e->kick, &one, sizeof(one)) < 0)
			continue;
}

/**
 * shim_conn_err - the error @s has died of (a negative errno), or 0 (under the lock).
 * @s: a connection
 */
int shim_conn_err(const struct shim_sock *s)
{
	if (s->dial_err)
		return s->dial_err;
	if (s->ixc.dead_err)
		return s->ixc.dead_err;
	return shim.dead ? -ECONNRESET : 0;
}

static struct shim_sock *shim_acc_pop(struct shim_sock *l);

/*
 * In a fork child, for each ixdp socket it inherited: a listener stays one, claimed by no
 * context of this process until a thread here waits on it (shim_lst_take()); the knocks
 * queued on it are the parent's (never accepted here).  Return: whether @p stays an ixdp socket.
 */
static bool shim_sock_forked(void *p)
{
	struct shim_sock *l = p, *s;

	if (l->type != SHIM_LISTENER)
		return false;
	while ((s = shim_acc_pop(l)))
		free(s);	/* the child's copy of the parent's knocks: the parent answers them */
	l->ctx = NULL;
	l->taking = false;
	l->inherited = true;
	l->moved = false;
	l->claim_told = false;
	l->membs = NULL;	/* the parent's sets */
	l->waiters = 0;
	return true;
}

/*
 * In a fork child.  No daemon is talked to here (the parent may hold any lock, and a child
 * must not block on it): the lock is made anew, the parent's contexts are let go of locally
 * (their fds closed and their memory unmapped in this process only: the parent's go on), every
 * inherited connection becomes the plain fd it is and every listener waits for a thread of the
 * child to claim it (shim_fd_fork(), shim_sock_forked()).
 */
static void shim_atfork_child(void)
{
	unsigned int i;

	pthread_mutex_init(&shim.lock, NULL);
	shim_fd_fork(shim_sock_forked, shim_ep_inherited);
	shim_ep_fork();
	shim_waits = NULL;
	if (shim_thr.kick >= 0)
		shim_libc.close(shim_thr.kick);
	shim_thr.kick = -1;
	shim_thr.ctx = NULL;
	if (shim_thr_keyed)
		pthread_setspecific(shim_thr_key, NULL);
	for (i = 0; i < shim.nr_ctx; i++)
		if (shim.ctx[i].ix)
			ix_detach(shim.ctx[i].ix);	/* closes and unmaps; sends nothing */
	/* their ixev state is the parent's: left, never touched */
	memset(shim.ctx, 0, sizeof(shim.ctx));
	shim.nr_ctx = 0;
	shim.sending = 0;
	/* the progress thread is the parent's: the child's first attach starts its own */
	if (shim.prog_kick >= 0)
		shim_libc.close(shim.prog_kick);
	shim.prog_kick = -1;
	shim.prog_started = false;
	shim.prog_idle = false;
	shim.attach_err = 0;
	shim.dead = 0;
}

/**
 * shim_sock_exit - at exit() (or a return from main): what the app wrote and closed may still
 * be on its way (commands not yet published, bytes in ixev's buffers, a close waiting for
 * them), and ixdpd resets what an ended context leaves.  Every context is run once, and those
 * with bytes ixdpd has not taken until it has taken them all, for at most SHIM_EXIT_MS, as the
 * kernel sends an exited process's bytes.
 */
void shim_sock_exit(void)
{
	struct timespec ts;
	uint64_t deadline;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 1;		/* a thread stuck with the lock: leave without */
	if (pthread_mutex_timedlock(&shim.lock, &ts)) {
		shim_log("libix-preload: exit: the lock is held: what is queued may be lost");
		return;
	}
	deadline = shim_now_ms() + SHIM_EXIT_MS;
	/* every context once: commands still queued (a close, a pass) go out */
	shim_drain_set(shim.nr_ctx >= 64 ? ~0ull : (1ull << shim.nr_ctx) - 1);
	while (shim.sending && !shim.dead && shim_now_ms() < deadline) {
		shim_drain_set(shim.sending);
		if (!shim.sending)
			break;
		pthread_mutex_unlock(&shim.lock);
		shim_libc.poll(NULL, 0, 1);
		pthread_mutex_lock(&shim.lock);
	}
	if (shim.debug)
		shim_log("libix-preload: exit: %u contexts run, %s", shim.nr_ctx,
			 shim.sending ? "bytes left ixdpd did not take" : "everything taken");
	pthread_mutex_unlock(&shim.lock);
}

/**
 * shim_sock_init - once, at load: the thread-exit key and the fork handler.
 */
void shim_sock_init(void)
{
	/* at PTHREAD_KEYS_MAX keys only: then an exiting thread's kick and context stay held */
	shim_thr_keyed = !pthread_key_create(&shim_thr_key, shim_thr_exit);
	pthread_atfork(NULL, NULL, shim_atfork_child);
}

/* shim_socks_ctxs - the contexts that @socks live in. */
shim_ctxset_t shim_socks_ctxs(struct shim_sock **socks, unsigned int n)
{
	shim_ctxset_t set = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		set |= shim_ctx_bit(socks[i]->ctx);
	return set;
}

/**
 * shim_wait - sleep until one of @socks changes, one of @extra is ready, or @timeout_ms
 * passes (under the lock, which is let go while asleep).  The caller has just drained the
 * contexts of @socks and found nothing; each is armed here for this sleep.
 * @socks:      ixdp sockets to wake for
 * @nsocks:     how many
 * @extra:      kernel fds to wake for (their revents are set)
 * @nextra:     how many
 * @timeout_ms: -1: no limit
 * @restart:    a handler with SA_RESTART does not end the call (shim_sig_ended())
 *
 * Signals are blocked from the last look at what ran since the call's shim_sig_mark() until
 * ppoll() sleeps with the thread's mask: one that comes meanwhile ends the sleep at once.
 *
 * Return: 0 (look again), -EINTR (a handler ended the call), -ENOMEM, or poll()'s error.
 */
int shim_wait(struct shim_sock **socks, unsigned int nsocks, struct pollfd *extra,
	      nfds_t nextra, int timeout_ms, bool restart)
{
	struct timespec ts = { timeout_ms / 1000, (timeout_ms % 1000) * 1000000L };
	sigset_t all, old;
	struct shim_wait_entry ents_s[8], *ents = ents_s;
	struct pollfd pfd_s[12], *pfd = pfd_s;
	shim_ctxset_t set = shim.dead ? 0 : shim_socks_ctxs(socks, nsocks), left;
	nfds_t nix = (nfds_t)__builtin_popcountll(set), np = 0, k;
	int kick = shim_kick_fd(), ret;
	unsigned int i;
	bool armed;
	uint64_t v;

	if (kick < 0)
		return -errno;
	if (nsocks > 8)
		ents = malloc(nsocks * sizeof(*ents));
	if (1 + nix + nextra > 12)
		pfd = malloc((1 + nix + nextra) * sizeof(*pfd));
	if (!ents || !pfd) {
		if (ents != ents_s)
			free(ents);
		if (pfd != pfd_s)
			free(pfd);
		return -ENOMEM;
	}
	for (i = 0; i < nsocks; i++)
		shim_wait_add(&ents[i], socks[i], kick);
	pfd[np++] = (struct pollfd){ .fd = kick, .events = POLLIN };
	for (left = set; left; left &= left - 1)
		pfd[np++] = (struct pollfd){ .fd = ix_fd(shim.ctx[__builtin_ctzll(left)].ix),
					     .events = POLLIN };
	for (k = 0; k < nextra; k++)
		pfd[np++] = extra[k];
	armed = !shim_sleep_begin(set);
	pthread_mutex_unlock(&shim.lock);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (shim_sig_ended(restart)) {
		ret = -EINTR;
	} else {
		/* not armed: events are waiting, so only a look at the other fds, then back */
		if (!armed)
			ts = (struct timespec){ 0, 0 };
		ret = SHIM_LIBC(ppoll)(pfd, np, armed && timeout_ms < 0 ? NULL : &ts, &old);
		if (ret < 0)
			ret = -errno;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);	/* what came while blocked runs here */
	if (ret == -EINTR && !shim_sig_ended(restart))
		ret = 0;	/* only a handler with SA_RESTART: the call goes on */
	pthread_mutex_lock(&shim.lock);
	if (armed)
		shim_sleep_end(set);
	for (i = 0; i < nsocks; i++)
		shim_wait_del(&ents[i]);
	for (k = 0; k < nextra; k++)
		extra[k].revents = pfd[1 + nix + k].revents;
	if (shim_libc.read(kick, &v, sizeof(v)) < 0)
		v = 0;
	if (ents != ents_s)
		free(ents);
	if (pfd != pfd_s)
		free(pfd);
	return ret < 0 ? ret : 0;
}

/* --- listeners ------------------------------------------------------------------------------- */

static bool shim_is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;

		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		if (IN6_IS_ADDR_V4MAPPED(a))
			return a->s6_addr[12] == 127;
	}
	return false;
}

/* The ix_addr to listen on for @ss (false: the wildcard, every address of the daemon). */
static bool shim_ix_addr(const struct sockaddr_storage *ss, struct ix_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		if (in->sin_addr.s_addr == htonl(INADDR_ANY))
			return false;
		a->family = AF_INET;
		a->v4 = in->sin_addr;
		return true;
	}
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

	if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
		return false;
	if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
		a->family = AF_INET;
		memcpy(&a->v4, &in6->sin6_addr.s6_addr[12], 4);
		return true;
	}
	a->family = AF_INET6;
	a->v6 = in6->sin6_addr;
	return true;
}

static uint16_t shim_port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static void shim_addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char ip[64] = "?";

	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip, sizeof(ip));
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, ip, sizeof(ip));
	snprintf(buf, len, ss->ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip,
		 shim_port_of(ss));
}

/* Undo listen(2) on @fd (its binding stays: a connect to AF_UNSPEC stops a TCP listener). */
static int shim_unlisten_kernel(int fd, int err)
{
	struct sockaddr sa = { .sa_family = AF_UNSPEC };

	if (shim_libc.connect(fd, &sa, sizeof(sa)))
		shim_log("libix-preload: fd %d: cannot stop its kernel listen: %s", fd,
			 strerror(errno));
	errno = err;
	return -1;
}

/**
 * shim_listen - listen(2) for a socket the shim has not taken yet: decide whether ixdp serves it.
 * @fd:      the app's socket
 * @backlog: as given
 *
 * A TCP socket bound to the wildcard or to one of ixdpd's addresses (not loopback, not port 0)
 * is listened on through ixdp as well as in the kernel.  An address ixdpd does not serve stays
 * the kernel's alone.
 *
 * Return: listen(2)'s value, errno set.
 */
int shim_listen(int fd, int backlog)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int domain, type, v6only = 0, ret;
	socklen_t olen = sizeof(int);
	struct shim_sock *s, *other;
	struct shim_ctx *ctx;
	struct ix_addr ia;
	bool specific;
	char name[80];
	uint16_t port;

	if (shim_libc.getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &olen) ||
	    (domain != AF_INET && domain != AF_INET6))
		return shim_libc.listen(fd, backlog);
	olen = sizeof(int);
	if (shim_libc.getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &olen) || type != SOCK_STREAM ||
	    shim_libc.getsockname(fd, (struct sockaddr *)&ss, &len))
		return shim_libc.listen(fd, backlog);
	port = shim_port_of(&ss);
	shim_addr_str(&ss, name, sizeof(name));
	if (!port || shim_is_loopback(&ss)) {
		if (shim.debug)
			shim_log("libix-preload: fd %d listens on %s: kernel", fd, name);
		return shim_libc.listen(fd, backlog);
	}
	if (domain == AF_INET6) {
		olen = sizeof(int);
		if (shim_libc.getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &olen))
			v6only = 0;
	}
	specific = shim_ix_addr(&ss, &ia);
	/* the kernel's first: ixdpd asks the kernel whether this process holds the listener */
	ret = shim_libc.listen(fd, backlog);
	if (ret)
		return ret;

	pthread_mutex_lock(&shim.lock);
	if (shim.dead) {
		pthread_mutex_unlock(&shim.lock);
		if (shim.debug)
			shim_log("libix-preload: fd %d listens on %s: kernel (ixdpd went away)", fd, name);
		return 0;
	}
	ctx = shim_thr_ctx();
	if (!ctx) {
		ret = shim.attach_err ? shim.attach_err : -ENOMEM;
		pthread_mutex_unlock(&shim.lock);
		if (shim.fallback)
			return 0;
		return shim_unlisten_kernel(fd, -ret);
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		pthread_mutex_unlock(&shim.lock);
		return shim_unlisten_kernel(fd, ENOMEM);
	}
	other = shim_ports[port];
	/*
	 * One ixdp listen per port: a second socket on it (IPv4 beside IPv6) shares it.  It is
	 * claimed idle: ixdpd holds the port's connections until a thread waits on one of its
	 * sockets (shim_lst_take()), so a process that never accepts (a pre-forking server's
	 * master) is handed none.
	 */
	if (other && other->ctx)
		ctx = other->ctx;
	ret = other && other->ctx ? 0 : ixev_listen_fd(ctx->loop, specific ? &ia : NULL, port, fd,
						       IX_LISTEN_IDLE);
	if (ret == -EADDRNOTAVAIL) {
		pthread_mutex_unlock(&shim.lock);
		free(s);
		if (shim.debug)
			shim_log("libix-preload: fd %d listens on %s: kernel (not an ixdpd address)",
				 fd, name);
		return 0;
	}
	if (ret) {
		pthread_mutex_unlock(&shim.lock);
		free(s);
		shim_log("libix-preload: fd %d: listen on %s through ixdpd: %s", fd, name,
			 strerror(-ret));
		return shim_unlisten_kernel(fd, -ret);
	}
	s->type = SHIM_LISTENER;
	s->ctx = ctx;
	s->taking = other && other->ctx && other->taking;
	s->refs = 1;
	s->kfd = fd;
	s->family = domain;
	s->local = ss;
	s->local_len = len;
	s->port = port;
	s->backlog = backlog;
	s->v6only = v6only;
	s->specific = specific;
	s->ia = ia;
	/*
	 * The kernel socket stays non-blocking whatever the app asks (s->nonblock is its view):
	 * accept() looks at both sides in turn and must not block in the kernel's.
	 */
	ret = shim_libc.fcntl(fd, F_GETFL);
	s->nonblock = ret >= 0 && (ret & O_NONBLOCK);
	if (ret >= 0)
		shim_libc.fcntl(fd, F_SETFL, ret | O_NONBLOCK);
	for (; other && !other->ctx; other = other->port_next)
		other->ctx = ctx;	/* a fork child's inherited ones: the claim is the port's */
	s->port_next = shim_ports[port];
	shim_ports[port] = s;
	ret = shim_fd_set(fd, SHIM_FD_SOCK, s);
	pthread_mutex_unlock(&shim.lock);
	if (ret) {
		shim_sock_put(fd, s);
		return shim_unlisten_kernel(fd, -ret);
	}
	if (shim.debug)
		shim_log("libix-preload: fd %d listens on %s: ixdp%s", fd, name,
			 specific ? "" : " and kernel");
	return 0;
}

/*
 * A listener of @lport that takes @remote's family, with room in its queue.  The backlog is no
 * cap: the kernel holds a handshake that finds its accept queue full and has the client try
 * again, but ixdpd completed the handshake before the knock, so the shim queues the connection
 * (up to SHIM_ACC_MAX; ixdpd's app-ctx-conns bounds it too) rather than reset it.
 */
static struct shim_sock *shim_lst_for(uint16_t lport, const struct ix_addr *remote)
{
	struct shim_sock *l, *best = NULL;

	for (l = shim_ports[lport]; l; l = l->port_next) {
		if (l->acc_len >= SHIM_ACC_MAX || l->inherited)
			continue;
		if (l->family == remote->family)
			return l;
		if (l->family == AF_INET6 && !l->v6only)
			best = l;
	}
	return best;
}

static void shim_on_conn(struct ixev_conn *c, unsigned int events)
{
	(void)events;
	shim_notify((struct shim_sock *)c);
}

/*
 * ixev: a connection to a port we listen on (under the lock, in shim_drain()).  It stays a
 * knock, ixdpd's, until accept() takes it: one the app never takes (its listener closed, a
 * process that exits) is handed on to another process listening there, as a kernel listener
 * shared across fork keeps its queue.
 */
/* @a as a socket of @family names it: IPv4, or IPv6 (IPv4 v4-mapped, as the kernel shows it). */
static void shim_name(const struct ix_addr *a, int family, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET && family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(a->port);
		in->sin_addr = a->v4;
		*len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(a->port);
		if (a->family == AF_INET) {
			in6->sin6_addr.s6_addr[10] = 0xff;
			in6->sin6_addr.s6_addr[11] = 0xff;
			memcpy(&in6->sin6_addr.s6_addr[12], &a->v4, 4);
		} else {
			in6->sin6_addr = a->v6;
		}
		*len = sizeof(*in6);
	}
}

static int shim_on_knock(struct ixev_loop *loop, ix_handle_t h, const struct ix_addr *remote,
			 const struct ix_addr *local)
{
	struct shim_sock *l = shim_lst_for(local->port, remote), *s;

	if (!l)
		return IXEV_PASS;	/* nobody here takes it: to another process, else reset */
	s = calloc(1, sizeof(*s));
	if (!s)
		return IXEV_REJECT;
	s->knock = h;
	s->knock_lport = local->port;
	ixev_conn_init(&s->ixc);
	s->type = SHIM_CONN;
	s->ctx = ixev_loop_arg(loop);
	s->family = l->family;
	/* the address the peer reached (a wildcard listener's connection names it too) */
	if (local->family) {
		shim_name(local, l->family, &s->local, &s->local_len);
	} else {
		s->local = l->local;
		s->local_len = l->local_len;
	}
	shim_name(remote, l->family, &s->remote, &s->remote_len);
	ixev_set_handler(&s->ixc, IXEV_IN | IXEV_OUT, shim_on_conn);
	s->listener = l;
	if (l->acc_tail)
		l->acc_tail->acc_next = s;
	else
		l->acc_head = s;
	l->acc_tail = s;
	l->acc_len++;
	shim_notify(l);
	return 0;
}

static void shim_on_release(struct ixev_conn *c)
{
	struct shim_sock *s = (struct shim_sock *)c;

	if (s->dial_err && !s->app_closed)
		return;	/* a failed connect: the app's fd holds it until closed (shim_sock_put) */
	free(s);
}

static void shim_acc_push_front(struct shim_sock *l, struct shim_sock *s)
{
	s->acc_next = l->acc_head;
	l->acc_head = s;
	if (!l->acc_tail)
		l->acc_tail = s;
	l->acc_len++;
	s->listener = l;
}

static struct shim_sock *shim_acc_pop(struct shim_sock *l)
{
	struct shim_sock *s = l->acc_head;

	if (!s)
		return NULL;
	l->acc_head = s->acc_next;
	if (!l->acc_head)
		l->acc_tail = NULL;
	l->acc_len--;
	s->acc_next = NULL;
	s->listener = NULL;
	return s;
}

static void shim_copy_addr(struct sockaddr *addr, socklen_t *len,
			   const struct sockaddr_storage *ss, socklen_t have)
{
	if (!addr || !len)
		return;
	memcpy(addr, ss, *len < have ? *len : have);
	*len = have;
}

/**
 * shim_accept - accept(2)/accept4(2) on an ixdp listener: its ixdp queue first, then the kernel.
 * @l:     the listener
 * @addr:  as accept4()
 * @len:   as accept4()
 * @flags: SOCK_NONBLOCK, SOCK_CLOEXEC
 *
 * Return: the new fd, or -1 with errno (EAGAIN, EINTR, EMFILE, ...).
 */
int shim_accept(struct shim_sock *l, struct sockaddr *addr, socklen_t *len, int flags)
{
	struct pollfd kp = { .fd = l->kfd, .events = POLLIN };
	struct shim_sock *s, *w = l;
	int fd, ret;

	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) {
		errno = EINVAL;
		return -1;
	}
	shim_sig_mark();
	pthread_mutex_lock(&shim.lock);
	shim_adopt(l);		/* its connections arrive where they are accepted */
	for (;;) {
		shim_drain(l->ctx);
		s = shim_acc_pop(l);
		if (s) {
			fd = shim_libc.fcntl(shim.sentinel, flags & SOCK_CLOEXEC ? F_DUPFD_CLOEXEC :
					     F_DUPFD, 0);
			if (fd < 0 || shim_fd_set(fd, SHIM_FD_SOCK, s)) {
				int err = fd < 0 ? errno : ENOMEM;

				if (fd >= 0)
					shim_libc.close(fd);
				shim_acc_push_front(l, s);	/* still queued, as the kernel's */
				pthread_mutex_unlock(&shim.lock);
				errno = err;
				return -1;
			}
			if (ixev_accept(s->ctx->loop, s->knock, &s->ixc, s->knock_lport)) {
				shim_fd_clear(fd);	/* reset by ixev: the next one */
				shim_libc.close(fd);
				free(s);
				continue;
			}
			s->refs = 1;
			s->nonblock = !!(flags & SOCK_NONBLOCK);
			shim_copy_addr(addr, len, &s->remote, s->remote_len);
			pthread_mutex_unlock(&shim.lock);
			return fd;
		}
		pthread_mutex_unlock(&shim.lock);
		fd = shim_libc.accept4(l->kfd, addr, len, flags | SOCK_NONBLOCK);
		if (fd >= 0) {
			if (!(flags & SOCK_NONBLOCK))
				shim_libc.fcntl(fd, F_SETFL, shim_libc.fcntl(fd, F_GETFL) & ~O_NONBLOCK);
			return fd;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		pthread_mutex_lock(&shim.lock);
		/* what another thread's drain queued while the lock was let go: no kick came for it */
		shim_drain(l->ctx);
		if (l->acc_head)
			continue;
		if (l->nonblock) {
			pthread_mutex_unlock(&shim.lock);
			errno = EAGAIN;
			return -1;
		}
		ret = shim_wait(&w, 1, &kp, 1, -1, true);
		if (ret) {
			pthread_mutex_unlock(&shim.lock);
			errno = -ret;
			return -1;
		}
	}
}

/* --- connections ---------------------------------------------------------------------------- */

/**
 * shim_sock_events - what @s is ready for now, as EPOLL* bits (under the lock).
 * @s: the socket
 *
 * Return: the bits; a listener's kernel side is the kernel's to report.
 */
uint32_t shim_sock_events(const struct shim_sock *s)
{
	const struct ixev_conn *c = &s->ixc;
	uint32_t ev = 0;

	if (s->type == SHIM_LISTENER)
		return s->acc_len ? EPOLLIN | EPOLLRDNORM : 0;
	if (s->connecting)
		return 0;	/* writable once connected, as the kernel's */
	if (shim_conn_err(s))	/* as the kernel reports a reset */
		return EPOLLIN | EPOLLRDNORM | EPOLLOUT | EPOLLWRNORM | EPOLLERR | EPOLLHUP |
		       EPOLLRDHUP;
	if (c->rx_len || c->rx_eof || s->shut_rd)
		ev |= EPOLLIN | EPOLLRDNORM;
	if (c->rx_eof)
		ev |= EPOLLRDHUP;
	if (!s->shut_wr && c->tx_len < IXEV_SEND_MAX)
		ev |= EPOLLOUT | EPOLLWRNORM;
	if (s->shut_wr)
		ev |= EPOLLOUT | EPOLLWRNORM;	/* a write fails at once: EPIPE */
	if (c->rx_eof && s->shut_wr)
		ev |= EPOLLHUP;
	return ev;
}

static ssize_t shim_fail(ssize_t err)
{
	errno = (int)-err;
	return -1;
}

/* The death of @s as read(2) reports it: the error once, then EOF as the kernel does. */
static ssize_t shim_dead(struct shim_sock *s)
{
	int err = shim_conn_err(s);

	if (s->err_told)
		return 0;
	s->err_told = 1;
	return shim_fail(err);
}

/*
 * What shim_recv() and shim_send() first do: @s must be a connection; *@want is what @iov
 * holds, *@deadline when a blocking call gives up (SO_RCVTIMEO/SO_SNDTIMEO: @timeo_ms, 0 for
 * never).  Return: 0 with shim.lock held, or -1 with errno (EINVAL, ENOTCONN).
 */
static int shim_io_begin(struct shim_sock *s, const struct iovec *iov, int iovcnt,
			 unsigned int timeo_ms, size_t *want, uint64_t *deadline)
{
	int i;

	shim_sig_mark();
	if (s->type != SHIM_CONN)
		return (int)shim_fail(-ENOTCONN);
	if (iovcnt < 0 || (iovcnt && !iov))
		return (int)shim_fail(-EINVAL);
	*want = 0;
	for (i = 0; i < iovcnt; i++)
		*want += iov[i].iov_len;
	*deadline = !timeo_ms ? UINT64_MAX : shim_now_ms() +
		    (timeo_ms == SHIM_TIMEO_NOW ? 0 : timeo_ms);
	pthread_mutex_lock(&shim.lock);
	shim_adopt(s);
	return 0;
}

/* A blocking call's wait on @s until @deadline.  Return: 0, -EAGAIN once it passed, -EINTR. */
static int shim_io_wait(struct shim_sock *s, uint64_t deadline)
{
	int ms = shim_ms_left(deadline);

	if (!ms)
		return -EAGAIN;	/* what the kernel returns when SO_RCVTIMEO/SO_SNDTIMEO expire */
	/* with a timeout on the socket, any handler ends the call (man 7 signal) */
	return shim_wait(&s, 1, NULL, 0, ms, deadline == UINT64_MAX);
}

/* --- moving a connection between contexts -------------------------------------------------- */

#define SHIM_MOVE_MS 2000		/* how long a move may wait for ixdpd's answer */

/*
 * A listener accepted from by a thread other than its context's: its ixdp listen moves into the
 * calling thread's context (once), so that its connections arrive where they are served.  The
 * port's listen is claimed in the new context first, then let go of in the old one (both wait
 * for every worker: no knock goes unheard), and what the old context had already been sent is
 * drained into the listener's queue.  Every socket on the port (IPv4 beside IPv6) moves with it.
 */
static void shim_lst_adopt(struct shim_sock *l)
{
	struct shim_ctx *from = l->ctx, *to;
	struct shim_sock *o;
	int ret;

	if (l->moved || shim.dead || shim_thr.ctx == from)
		return;
	to = shim_thr_ctx();
	if (!to || to == from)
		return;
	for (o = shim_ports[l->port]; o; o = o->port_next)
		o->moved = true;
	ret = ixev_listen_fd(to->loop, l->specific ? &l->ia : NULL, l->port, l->kfd, 0);
	if (ret) {
		shim_log("libix-preload: port %u stays in context %u: listen in %u: %s", l->port,
			 from->id, to->id, strerror(-ret));
		return;
	}
	ret = ix_unlisten(from->ix, l->specific ? &l->ia : NULL, l->port);
	if (ret)
		shim_log("libix-preload: port %u: unlisten in context %u: %s (both listen)",
			 l->port, from->id, strerror(-ret));
	shim_drain(from);
	for (o = shim_ports[l->port]; o; o = o->port_next) {
		shim_ep_sock_moved(o, from, to);
		o->ctx = to;
		o->taking = true;
	}
	if (shim.debug)
		shim_log("libix-preload: port %u moved from context %u to %u", l->port, from->id,
			 to->id);
}

/*
 * Listener @l is accepted from or waited on (accept, epoll, poll, select) by the calling
 * thread: the port's ixdp listen takes connections from now on, in this thread's context
 * (moved there if another thread's holds it, once).  In a fork child the first such wait
 * claims the inherited listener for this process: ixdpd lets it share the port with its
 * parent and siblings, as it holds the kernel socket; a listener inherited and never waited on
 * here is handed nothing.  A claim ixdpd refuses leaves the listener the kernel's (logged once).
 */
static void shim_lst_take(struct shim_sock *l)
{
	struct shim_ctx *c;
	struct shim_sock *o;
	int ret;

	l->inherited = false;
	if (shim.dead || l->claim_told)
		return;
	if (l->taking) {
		shim_lst_adopt(l);
		return;
	}
	c = shim_thr_ctx();
	if (!c)
		return;		/* no context: the kernel's side only */
	if (l->ctx && l->ctx != c && !l->moved) {
		shim_lst_adopt(l);	/* claims it taking in c */
		return;
	}
	if (l->ctx)
		c = l->ctx;
	ret = ixev_listen_fd(c->loop, l->specific ? &l->ia : NULL, l->port, l->kfd, 0);
	if (ret) {
		for (o = shim_ports[l->port]; o; o = o->port_next)
			o->claim_told = true;
		shim_log("libix-preload: port %u: take connections through ixdpd: %s (the kernel's "
			 "only)", l->port, strerror(-ret));
		return;
	}
	for (o = shim_ports[l->port]; o; o = o->port_next) {
		if (o->ctx != c)
			shim_ep_sock_moved(o, o->ctx, c);
		o->ctx = c;
		o->taking = true;
	}
	if (shim.debug)
		shim_log("libix-preload: port %u takes connections in context %u", l->port, c->id);
}

/**
 * shim_lst_pause - listener @l left the last epoll set it was in (under the lock): unless
 * another socket of the port is still waited on here, the port's ixdp listen goes idle
 * (ixdpd hands its connections to the processes still waiting, or holds them until one
 * does), and the knocks queued here are handed on.  The next wait takes them again.  So
 * nginx's accept_mutex works as on the kernel: only the worker holding it gets connections.
 * @l: the listener
 */
void shim_lst_pause(struct shim_sock *l)
{
	struct shim_sock *o, *k;
	int ret;

	if (!l->taking || !l->ctx || shim.dead)
		return;
	for (o = shim_ports[l->port]; o; o = o->port_next)
		if (o->membs || o->waiters)
			return;
	ret = ixev_listen_fd(l->ctx->loop, l->specific ? &l->ia : NULL, l->port, l->kfd,
			     IX_LISTEN_IDLE);
	if (ret) {
		if (shim.debug)
			shim_log("libix-preload: port %u: idle: %s", l->port, strerror(-ret));
		return;
	}
	for (o = shim_ports[l->port]; o; o = o->port_next) {
		o->taking = false;
		while ((k = shim_acc_pop(o))) {
			ixev_refuse(k->ctx->loop, k->knock, IXEV_PASS);
			free(k);
		}
	}
	shim_drain(l->ctx);
}

/**
 * shim_adopt - @s is used by the calling thread (a read, a write, an epoll registration): if it
 * lives in another thread's context and has never moved, move it into this thread's (under the
 * lock), so that this thread's waits drain and arm its own context only.
 * @s: an ixdp socket
 *
 * The move is settled before this returns (both contexts are run until the target has the
 * connection or ixdpd refused it); a connection with bytes still to send, shut down or still
 * connecting stays where it is and is tried again at its next use.  One move per connection:
 * one that threads share stays in the context it went to.  Without an answer in SHIM_MOVE_MS
 * (ixdpd stuck or gone) the connection is given up for reset, and never touched again.
 */
void shim_adopt(struct shim_sock *s)
{
	struct shim_ctx *from = s->ctx, *to;
	uint64_t deadline;
	int ret;

	if (s->type == SHIM_LISTENER) {
		shim_lst_take(s);
		return;
	}
	if (s->moved || s->connecting || s->dial_err || shim.dead ||
	    shim_thr.ctx == from)
		return;
	to = shim_thr_ctx();
	if (!to || to == from)
		return;
	ret = ixev_move(&s->ixc, to->loop);
	if (ret == -EBUSY || ret == -ENOTCONN)
		return;		/* bytes to send first: at its next use */
	s->moved = true;
	if (ret) {
		if (shim.debug)
			shim_log("libix-preload: a connection stays in context %u: %s", from->id,
				 strerror(-ret));
		return;
	}
	deadline = shim_now_ms() + SHIM_MOVE_MS;
	while (ixev_moving(&s->ixc) && !shim.dead && shim_now_ms() < deadline) {
		shim_drain(from);	/* the MOVE goes out; a refusal comes back here */
		shim_drain(to);		/* the MOVED comes here */
		if (ixev_moving(&s->ixc))
			sched_yield();	/* the worker may share this core */
	}
	if (ixev_moving(&s->ixc)) {
		s->adrift = true;
		s->dial_err = -ECONNRESET;
		shim_log("libix-preload: a connection moving to context %u: %s: it is reset", to->id,
			 shim.dead ? "ixdpd went away" : "no answer from ixdpd in 2 s");
		shim_notify(s);
		return;
	}
	if (s->ixc.loop != to->loop)
		return;		/* refused (logged by ixev): it stays */
	shim_ep_sock_moved(s, from, to);
	s->ctx = to;
	if (shim.debug)
		shim_log("libix-preload: a connection moved from context %u to %u", from->id, to->id);
}

/* --- outgoing connections ------------------------------------------------------------------ */

/* ixev: the connect of @c ended (under the lock, in shim_drain()). */
static void shim_on_dialed(struct ixev_conn *c, int err)
{
	struct shim_sock *s = (struct shim_sock *)c;

	s->connecting = 0;
	if (err) {
		s->dial_err = err;	/* ixev releases c next: shim_on_release() keeps s */
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&s->local;
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&s->local;
		uint16_t lport = htons(ixev_local_port(c));

		if (s->local.ss_family == AF_INET)
			in->sin_port = lport;
		else
			in6->sin6_port = lport;
	}
	shim_notify(s);
}

/*
 * The kernel's source address for @dst: which interface the kernel would route to it through
 * (a UDP socket connected to it, nothing sent).  Return: 0 or -errno.
 */
static int shim_route_src(const struct sockaddr_storage *dst, socklen_t len,
			  struct sockaddr_storage *src, socklen_t *src_len)
{
	int fd = socket(dst->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

	if (fd < 0)
		return -errno;
	*src_len = sizeof(*src);
	if (shim_libc.connect(fd, (const struct sockaddr *)dst, len) ||
	    shim_libc.getsockname(fd, (struct sockaddr *)src, src_len))
		ret = -errno;
	shim_libc.close(fd);
	return ret;
}

/* Is @a an address of interface @ifindex (as getifaddrs() lists them now)? */
static bool shim_addr_on(const struct sockaddr_storage *a, unsigned int ifindex)
{
	struct ifaddrs *list, *i;
	bool on = false;

	if (!ifindex || getifaddrs(&list))
		return false;
	for (i = list; i && !on; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != a->ss_family ||
		    if_nametoindex(i->ifa_name) != ifindex)
			continue;
		if (a->ss_family == AF_INET)
			on = ((const struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr ==
			     ((const struct sockaddr_in *)a)->sin_addr.s_addr;
		else
			on = !memcmp(&((const struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
				     &((const struct sockaddr_in6 *)a)->sin6_addr, 16);
	}
	freeifaddrs(list);
	return on;
}

/* Wait (under the lock) until @s's connect ended; 0, -EINTR, or -EINPROGRESS (SO_SNDTIMEO). */
static int shim_connect_wait(struct shim_sock *s)
{
	uint64_t deadline = !s->sndtimeo_ms ? UINT64_MAX : shim_now_ms() +
			    (s->sndtimeo_ms == SHIM_TIMEO_NOW ? 0 : s->sndtimeo_ms);
	int ret;

	shim_sig_mark();
	for (;;) {
		shim_drain(s->ctx);
		if (!s->connecting)
			return 0;
		ret = shim_io_wait(s, deadline);
		if (ret)
			return ret == -EAGAIN ? -EINPROGRESS : ret;
	}
}

/**
 * shim_connect - connect(2) of a TCP socket the shim does not know yet: through ixdpd when the
 * kernel would route @addr out of ixdpd's interface (its source address is one of that
 * interface's), else the kernel's.
 * @fd:   the app's socket
 * @addr: where to
 * @len:  its length
 *
 * The fd stays the app's kernel socket (unconnected, never used for data) and names the ixdp
 * connection from here on.  A blocking socket waits for the daemon's answer; a non-blocking
 * one returns EINPROGRESS, then EPOLLOUT (or the error, through SO_ERROR) when it is known.
 *
 * Return: 0, -1 with errno (EINPROGRESS, ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH, EINTR,
 * ENOMEM, ...), or SHIM_KERNEL: not ours, libc's connect() is to be called.
 */
int shim_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct sockaddr_storage dst, src, bound;
	socklen_t src_len, blen = sizeof(bound), olen = sizeof(int);
	unsigned int ifindex;
	int type, proto, ret, fl;
	struct shim_ctx *ctx;
	struct shim_sock *s;
	struct ix_addr ia;
	char name[80];

	if (shim.fallback && !shim.nr_ctx && shim.attach_err)
		return SHIM_KERNEL;
	if (!addr || len < sizeof(struct sockaddr_in) || len > sizeof(dst) ||
	    (addr->sa_family != AF_INET && addr->sa_family != AF_INET6) ||
	    (addr->sa_family == AF_INET6 && len < sizeof(struct sockaddr_in6)))
		return SHIM_KERNEL;
	if (shim_libc.getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &olen) || type != SOCK_STREAM)
		return SHIM_KERNEL;
	olen = sizeof(int);
	if (shim_libc.getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &olen) ||
	    proto != IPPROTO_TCP)
		return SHIM_KERNEL;
	/* bound to a port of its own: the kernel's (ixdpd picks a connection's source port) */
	if (shim_libc.getsockname(fd, (struct sockaddr *)&bound, &blen) || shim_port_of(&bound))
		return SHIM_KERNEL;
	memset(&dst, 0, sizeof(dst));
	memcpy(&dst, addr, len);
	if (shim_is_loopback(&dst) || !shim_ix_addr(&dst, &ia) || !shim_port_of(&dst))
		return SHIM_KERNEL;
	ia.port = shim_port_of(&dst);
	shim_addr_str(&dst, name, sizeof(name));

	pthread_mutex_lock(&shim.lock);
	ctx = shim.dead ? NULL : shim_thr_ctx();
	ret = ctx ? 0 : -ECONNRESET;
	ifindex = ctx ? ix_ifindex(ctx->ix) : 0;
	pthread_mutex_unlock(&shim.lock);
	/* the route lookup (a socket, a netlink dump) without the lock: other threads go on */
	if (ret || shim_route_src(&dst, len, &src, &src_len) || !shim_addr_on(&src, ifindex)) {
		if (shim.debug)
			shim_log("libix-preload: fd %d connects to %s: kernel%s", fd, name,
				 ret ? " (no ixdpd)" : "");
		return SHIM_KERNEL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		return -1;
	}
	pthread_mutex_lock(&shim.lock);
	if (shim.dead) {	/* it went away meanwhile: the kernel's, as any later socket */
		pthread_mutex_unlock(&shim.lock);
		free(s);
		return SHIM_KERNEL;
	}
	ixev_conn_init(&s->ixc);
	s->type = SHIM_CONN;
	s->ctx = ctx;
	s->refs = 1;
	s->family = addr->sa_family;
	s->remote = dst;
	s->remote_len = len;
	s->local = src;		/* the port once connected (shim_on_dialed) */
	s->local_len = src_len;
	fl = shim_libc.fcntl(fd, F_GETFL);
	s->nonblock = fl >= 0 && (fl & O_NONBLOCK);
	s->connecting = 1;
	ixev_set_handler(&s->ixc, IXEV_IN | IXEV_OUT, shim_on_conn);
	ret = ixev_dial(ctx->loop, &s->ixc, &ia);
	if (!ret)
		ret = shim_fd_set(fd, SHIM_FD_SOCK, s);
	if (ret) {
		if (s->ixc.loop)
			ixev_close(&s->ixc);	/* frees s */
		else
			free(s);
		pthread_mutex_unlock(&shim.lock);
		shim_log("libix-preload: fd %d: connect to %s through ixdpd: %s", fd, name,
			 strerror(-ret));
		errno = -ret;
		return -1;
	}
	if (shim.debug)
		shim_log("libix-preload: fd %d connects to %s: ixdp", fd, name);
	shim_drain(s->ctx);		/* the CONNECT goes out now */
	if (s->nonblock) {
		pthread_mutex_unlock(&shim.lock);
		errno = EINPROGRESS;
		return -1;
	}
	ret = shim_connect_wait(s);
	if (!ret && s->dial_err) {
		ret = s->dial_err;
		s->err_told = 1;	/* connect() said it: SO_ERROR is 0 after, as the kernel's */
	}
	s->connect_said = !ret || ret != -EINTR;
	pthread_mutex_unlock(&shim.lock);
	return ret ? (int)shim_fail(ret) : 0;
}

/**
 * shim_connect_again - connect(2) on a connection that is the shim's already.
 * @s: the connection
 *
 * While the connect is under way: EALREADY (non-blocking), or the wait a blocking connect
 * does.  Once connected: 0 the first time after an EINPROGRESS (Linux marks the socket
 * connected then), else EISCONN.  After it failed: its error once (if SO_ERROR or a read did
 * not tell it), then ECONNABORTED: Linux would try again on the same socket, the shim does
 * not (the app makes a new socket, as libevent and curl do).
 *
 * Return: 0 or -1 with errno.
 */
int shim_connect_again(struct shim_sock *s)
{
	int err;

	pthread_mutex_lock(&shim.lock);
	shim_drain(s->ctx);
	if (s->connecting) {
		err = s->nonblock ? -EALREADY : shim_connect_wait(s);
		if (!err && s->dial_err && !s->err_told) {
			err = s->dial_err;
			s->err_told = 1;
		}
	} else if (s->dial_err && !s->err_told) {
		err = s->dial_err;
		s->err_told = 1;
	} else if (!s->dial_err && !s->connect_said) {
		err = 0;	/* the first connect() after EINPROGRESS: 0 once, as Linux */
	} else {
		err = s->dial_err ? -ECONNABORTED : -EISCONN;
	}
	if (!s->connecting)
		s->connect_said = 1;
	pthread_mutex_unlock(&shim.lock);
	return err ? (int)shim_fail(err) : 0;
}

/*
 * A read or write of @s while its connect is under way: EAGAIN when it must not block, else
 * the wait for the connection (as the kernel's sk_stream_wait_connect).  Return: 0 (look
 * again), -EAGAIN, -EINTR.
 */
static int shim_io_connecting(struct shim_sock *s, int flags, uint64_t deadline)
{
	if (s->nonblock || (flags & MSG_DONTWAIT))
		return -EAGAIN;
	return shim_io_wait(s, deadline);
}

/**
 * shim_recv - read(2)/recv(2)/readv(2)/recvmsg(2) on an ixdp connection.
 * @s:      the connection
 * @iov:    where to copy
 * @iovcnt: entries
 * @flags:  MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL (others are ignored)
 *
 * Return: bytes, 0 at EOF, or -1 with errno (EAGAIN, ECONNRESET, ETIMEDOUT, EINTR).
 */
ssize_t shim_recv(struct shim_sock *s, const struct iovec *iov, int iovcnt, int flags)
{
	size_t want, got = 0;
	uint64_t deadline;
	int i, ret;

	if (shim_io_begin(s, iov, iovcnt, s->rcvtimeo_ms, &want, &deadline))
		return -1;
	for (;;) {
		ssize_t n = 0;

		shim_drain(s->ctx);
		if (s->dial_err) {
			ssize_t r = shim_dead(s);	/* the connect's error once, then EOF */

			pthread_mutex_unlock(&shim.lock);
			return r;
		}
		if (s->connecting) {	/* nothing moves before the connection is up */
			ret = shim_io_connecting(s, flags, deadline);
			if (ret) {
				pthread_mutex_unlock(&shim.lock);
				return shim_fail(ret);
			}
			continue;
		}
		if (flags & MSG_PEEK) {
			const void *data;

			n = ixev_peek(&s->ixc, &data);
			if (n > 0) {	/* the first span: a peek may return less than there is */
				size_t off = 0;

				for (i = 0; i < iovcnt && off < (size_t)n; i++) {
					size_t k = (size_t)n - off < iov[i].iov_len ?
						   (size_t)n - off : iov[i].iov_len;

					memcpy(iov[i].iov_base, (const uint8_t *)data + off, k);
					off += k;
				}
				pthread_mutex_unlock(&shim.lock);
				return (ssize_t)off;
			}
		} else {
			size_t skip = got;	/* MSG_WAITALL: what earlier rounds filled */

			n = 1;			/* (an iov already full reads nothing) */
			for (i = 0; i < iovcnt; i++) {
				size_t off = skip < iov[i].iov_len ? skip : iov[i].iov_len;

				skip -= off;
				while (off < iov[i].iov_len) {
					n = ixev_recv(&s->ixc, (uint8_t *)iov[i].iov_base + off,
						      iov[i].iov_len - off);
					if (n <= 0)
						break;
					off += (size_t)n;
					got += (size_t)n;
				}
				if (n <= 0)
					break;
			}
			if (got)
				shim_drain(s->ctx);	/* the space given back goes out now */
		}
		if (got && (got == want || !(flags & MSG_WAITALL) || n == 0 || (n < 0 &&
									     n != -EAGAIN)))
			break;
		if (!want)
			break;
		if (n == 0 || s->shut_rd) {
			pthread_mutex_unlock(&shim.lock);
			return (ssize_t)got;
		}
		if (n == -EAGAIN && shim.dead)
			n = -ECONNRESET;	/* what came before it is read; then the reset */
		if (n < 0 && n != -EAGAIN) {
			ssize_t r = n == -EPIPE ? 0 : shim_dead(s);

			pthread_mutex_unlock(&shim.lock);
			return r;
		}
		if (s->nonblock || (flags & MSG_DONTWAIT)) {
			pthread_mutex_unlock(&shim.lock);
			return got ? (ssize_t)got : shim_fail(-EAGAIN);
		}
		ret = shim_io_wait(s, deadline);
		if (ret) {
			pthread_mutex_unlock(&shim.lock);
			return got ? (ssize_t)got : shim_fail(ret);
		}
	}
	pthread_mutex_unlock(&shim.lock);
	return (ssize_t)got;
}

/* EPIPE as Linux gives it: SIGPIPE too unless MSG_NOSIGNAL (the lock is not held). */
static ssize_t shim_epipe(int flags)
{
	if (!(flags & MSG_NOSIGNAL))
		pthread_kill(pthread_self(), SIGPIPE);
	return shim_fail(-EPIPE);
}

/**
 * shim_send - write(2)/send(2)/writev(2)/sendmsg(2) on an ixdp connection.
 * @s:      the connection
 * @iov:    what to send
 * @iovcnt: entries
 * @flags:  MSG_DONTWAIT, MSG_NOSIGNAL (others are ignored)
 *
 * A blocking socket waits until every byte is queued; a non-blocking one takes what fits.
 *
 * Return: bytes, or -1 with errno (EAGAIN, EPIPE, ECONNRESET, EINTR).
 */
ssize_t shim_send(struct shim_sock *s, const struct iovec *iov, int iovcnt, int flags)
{
	size_t want, got = 0;
	uint64_t deadline;
	int i, ret;

	if (shim_io_begin(s, iov, iovcnt, s->sndtimeo_ms, &want, &deadline))
		return -1;
	for (;;) {
		ssize_t n = 0;
		size_t skip = got;

		shim_drain(s->ctx);
		if (shim_conn_err(s) && !s->err_told) {
			s->err_told = 1;
			pthread_mutex_unlock(&shim.lock);
			return got ? (ssize_t)got : shim_fail(shim_conn_err(s));
		}
		if (s->shut_wr || shim_conn_err(s)) {
			pthread_mutex_unlock(&shim.lock);
			return got ? (ssize_t)got : shim_epipe(flags);
		}
		if (s->connecting) {	/* nothing moves before the connection is up */
			ret = shim_io_connecting(s, flags, deadline);
			if (ret) {
				pthread_mutex_unlock(&shim.lock);
				return shim_fail(ret);
			}
			continue;
		}
		for (i = 0; i < iovcnt; i++) {
			if (skip >= iov[i].iov_len) {
				skip -= iov[i].iov_len;
				continue;
			}
			n = ixev_send(&s->ixc, (const uint8_t *)iov[i].iov_base + skip,
				      iov[i].iov_len - skip);
			if (n <= 0)
				break;
			got += (size_t)n;
			if ((size_t)n < iov[i].iov_len - skip)
				break;
			skip = 0;
		}
		if (got)
			shim_drain(s->ctx);	/* pushed to the worker now */
		if (got == want || (got && (s->nonblock || (flags & MSG_DONTWAIT))))
			break;
		if (n < 0 && n != -EAGAIN) {
			pthread_mutex_unlock(&shim.lock);
			if (got)
				return (ssize_t)got;
			return n == -EPIPE ? shim_epipe(flags) : shim_fail(n);
		}
		if (s->nonblock || (flags & MSG_DONTWAIT)) {
			pthread_mutex_unlock(&shim.lock);
			return shim_fail(-EAGAIN);
		}
		ret = shim_io_wait(s, deadline);
		if (ret) {
			pthread_mutex_unlock(&shim.lock);
			return got ? (ssize_t)got : shim_fail(ret);
		}
	}
	pthread_mutex_unlock(&shim.lock);
	return (ssize_t)got;
}

/**
 * shim_shutdown - shutdown(2) on an ixdp connection.
 * Return: 0, or -1 with errno (ENOTCONN, EINVAL).
 */
int shim_shutdown(struct shim_sock *s, int how)
{
	if (s->type != SHIM_CONN)
		return (int)shim_fail(-ENOTCONN);
	if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
		return (int)shim_fail(-EINVAL);
	pthread_mutex_lock(&shim.lock);
	if (s->connecting || s->dial_err) {
		pthread_mutex_unlock(&shim.lock);
		return (int)shim_fail(-ENOTCONN);
	}
	if (how != SHUT_WR)
		s->shut_rd = 1;
	if (how != SHUT_RD && !s->shut_wr) {
		s->shut_wr = 1;
		ixev_shutdown(&s->ixc);
		shim_drain(s->ctx);
	}
	shim_notify(s);
	pthread_mutex_unlock(&shim.lock);
	return 0;
}

/**
 * shim_sock_name - getsockname(2)/getpeername(2) of an ixdp socket.
 * Return: 0, or -1 with errno (ENOTCONN: a listener has no peer).
 */
int shim_sock_name(const struct shim_sock *s, int peer, struct sockaddr *addr, socklen_t *len)
{
	if (!addr || !len)
		return (int)shim_fail(-EFAULT);
	if (peer && s->type != SHIM_CONN)
		return (int)shim_fail(-ENOTCONN);
	if (peer)
		shim_copy_addr(addr, len, &s->remote, s->remote_len);
	else
		shim_copy_addr(addr, len, &s->local, s->local_len);
	return 0;
}

/**
 * shim_dup - @newfd (made by the caller with libc's dup) names @s too.
 * Return: @newfd, or -1 with errno.
 */
int shim_dup(int fd, struct shim_sock *s, int newfd, int flags)
{
	int ret;

	(void)fd;
	(void)flags;
	if (newfd < 0)
		return -1;
	pthread_mutex_lock(&shim.lock);
	ret = shim_fd_set(newfd, SHIM_FD_SOCK, s);
	if (!ret)
		s->refs++;
	pthread_mutex_unlock(&shim.lock);
	if (ret) {
		shim_libc.close(newfd);
		return (int)shim_fail(ret);
	}
	return newfd;
}

/* The last fd of listener @l is gone: stop listening through ixdp if it was the port's last. */
static void shim_lst_close(struct shim_sock *l)
{
	struct shim_sock **p, *s;

	for (p = &shim_ports[l->port]; *p; p = &(*p)->port_next)
		if (*p == l) {
			*p = l->port_next;
			break;
		}
	while ((s = shim_acc_pop(l))) {	/* never accepted: to another process, else reset */
		if (!shim.dead)
			ixev_refuse(s->ctx->loop, s->knock, IXEV_PASS);
		free(s);
	}
	if (!shim_ports[l->port] && !shim.dead && l->ctx) {
		int ret = ix_unlisten(l->ctx->ix, l->specific ? &l->ia : NULL,
				      l->port);

		if (ret && shim.debug)
			shim_log("libix-preload: unlisten port %u: %s", l->port, strerror(-ret));
	}
	free(l);
}

/**
 * shim_sock_put - @fd no longer names @s (close, or dup2 over it); the last fd closes it.
 * @fd: the fd, still open (the caller closes it)
 * @s:  its socket
 */
void shim_sock_put(int fd, struct shim_sock *s)
{
	struct shim_ctx *ctx;

	pthread_mutex_lock(&shim.lock);
	shim_fd_clear(fd);
	if (--s->refs > 0) {
		pthread_mutex_unlock(&shim.lock);
		return;
	}
	shim_ep_forget_sock(s);
	ctx = s->ctx;
	if (s->adrift) {
		/* ixdpd may still hand it to its target: s stays (lost, as logged) */
	} else if (s->type == SHIM_LISTENER) {
		shim_lst_close(s);
	} else if (s->dial_err) {
		free(s);		/* ixev let go of it when the connect failed */
	} else {
		s->app_closed = 1;
		ixev_close(&s->ixc);	/* FIN after what is queued (reset while dialing); frees s */
	}
	shim_drain(ctx);
	pthread_mutex_unlock(&shim.lock);
}
