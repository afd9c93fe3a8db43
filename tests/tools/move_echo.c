// SPDX-License-Identifier: GPL-2.0
/*
 * move_echo.c - an echo server whose connections never sit still: for tests/e2e/app_move.sh.
 *
 *   ixdp-move-echo PORT THREADS EVERY SECONDS [KILL_THREAD KILL_MS]
 *
 * THREADS ixev loops (each its own context of ixdpd) all listen on PORT and echo what they
 * receive.  Each time a connection has echoed EVERY more bytes and has nothing buffered to send,
 * its loop hands it to the next loop (ixev_move()), so a stream goes round the loops many times
 * while its peer checks every byte of the echo (nettool tcp-streams).  With KILL_THREAD, that
 * loop's context ends (ix_end()) after KILL_MS while the others keep moving connections to it
 * until they see it go (its connections are reset; moves that reach the daemon after the end
 * are refused and the connection stays where it was; those carried out before it are announced
 * to the ending loop, which releases them).  The server stops after SECONDS (or at SIGTERM) and
 * prints "moves N arrived A unreleased U" (moves asked for and accepted by ixev, connections
 * that arrived, and conns no loop released: see mv_release()).
 * Exit 0 unless a loop failed.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ix/ix.h"
#include "ix/ixev.h"

#define MV_THREADS_MAX 16
#define MV_ROUNDS 16
#define MV_RUN_MS 20
#define MV_GRACE_MS 2000	/* bound on the other loops finishing an iteration */
#define MV_LATE_MS 200		/* the others still move conns to an ended context this long */

struct mv_thread {
	unsigned int id;
	struct ixev_loop *loop;
	pthread_t tid;
	int dying;		/* atomic: no loop moves a connection here any more */
	unsigned long iters;	/* atomic: ixev_run() calls finished */
	unsigned long moves;	/* atomic */
	unsigned long arrived;	/* atomic */
	int err;
};

struct mv_conn {
	struct ixev_conn ixc;
	struct mv_conn *prev, *next;	/* every conn not released yet (mv_live) */
	size_t since;		/* bytes echoed since it last moved */
	struct mv_thread *last;	/* the loop it was on at the last handler call */
};

static struct mv_thread th[MV_THREADS_MAX];
static unsigned int nthreads;
static size_t every;
static int stopping;		/* atomic */
static pthread_mutex_t mv_live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mv_conn mv_live = { .prev = &mv_live, .next = &mv_live };

static void mv_term(int sig)
{
	(void)sig;	/* sleep() in main returns: the stop follows */
}

static unsigned long mv_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ul + ts.tv_nsec / 1000000;
}

/* The next loop after @t that is not going away, or NULL. */
static struct ixev_loop *mv_next(const struct mv_thread *t)
{
	unsigned int i;

	for (i = 1; i < nthreads; i++) {
		struct mv_thread *o = &th[(t->id + i) % nthreads];

		if (!__atomic_load_n(&o->dying, __ATOMIC_ACQUIRE))
			return o->loop;
	}
	return NULL;
}

static void mv_handler(struct ixev_conn *c, unsigned int events)
{
	struct mv_conn *mc = c->user;
	struct mv_thread *t = ixev_loop_arg(c->loop);
	struct ixev_loop *to;
	unsigned int rounds;
	const void *data;
	ssize_t n, sent;

	if (mc->last != t) {
		mc->last = t;
		__atomic_add_fetch(&t->arrived, 1, __ATOMIC_RELAXED);
	}
	if (events & IXEV_HUP)
		goto close;
	/*
	 * Before reading: what was received and not consumed travels with the connection (the
	 * daemon replays it to the target), buffered echo would not (ixev_move() says -EBUSY).
	 */
	if (mc->since >= every && (to = mv_next(t))) {
		ixev_set_handler(c, IXEV_IN | IXEV_HUP, mv_handler);
		if (c->tx_len)
			return;	/* read on once the echo is out: bytes still unread call again */
		if (!ixev_move(c, to)) {
			mc->since = 0;	/* if it is refused, counted again from here */
			__atomic_add_fetch(&t->moves, 1, __ATOMIC_RELAXED);
			return;		/* not ours to touch any more */
		}
	}
	for (rounds = 0; rounds < MV_ROUNDS; rounds++) {
		n = ixev_peek(c, &data);
		if (n == -EAGAIN)
			break;
		if (n <= 0)
			goto close;
		sent = ixev_send(c, data, n);
		if (sent == -EAGAIN)
			goto wait_out;
		if (sent < 0)
			goto close;
		ixev_consume(c, sent);
		mc->since += sent;
		if (sent < n)
			goto wait_out;
	}
	ixev_set_handler(c, IXEV_IN | IXEV_HUP, mv_handler);
	return;
wait_out:
	ixev_set_handler(c, IXEV_OUT | IXEV_HUP, mv_handler);
	return;
close:
	ixev_close(c);
}

static struct ixev_conn *mv_accept(struct ixev_loop *l, const struct ix_addr *remote,
				   uint16_t lport)
{
	struct mv_conn *mc = calloc(1, sizeof(*mc));

	if (!mc)
		return NULL;
	pthread_mutex_lock(&mv_live_lock);
	mc->next = &mv_live;
	mc->prev = mv_live.prev;
	mv_live.prev->next = mc;
	mv_live.prev = mc;
	pthread_mutex_unlock(&mv_live_lock);
	ixev_conn_init(&mc->ixc);
	mc->ixc.user = mc;
	mc->last = ixev_loop_arg(l);
	ixev_set_handler(&mc->ixc, IXEV_IN | IXEV_HUP, mv_handler);
	return &mc->ixc;
}

/*
 * Every conn is on mv_live until a loop releases it: ixev must release each exactly once, also
 * those moved to a loop as it ends.  main() counts (and frees) any left at exit.
 */
static void mv_release(struct ixev_conn *c)
{
	struct mv_conn *mc = c->user;

	pthread_mutex_lock(&mv_live_lock);
	mc->prev->next = mc->next;
	mc->next->prev = mc->prev;
	pthread_mutex_unlock(&mv_live_lock);
	free(mc);
}

static const struct ixev_conn_ops mv_ops = {
	.accept = mv_accept,
	.release = mv_release,
};

/*
 * Thread @t ends its context now.  ix_end() first: the daemon refuses moves to it from then on,
 * while the other loops still pick it for MV_LATE_MS (their moves are refused: the conns stay
 * theirs) and then until they have seen it dying (a bounded grace, so that the loop is not
 * freed under an ixev_move() of theirs); then the loop goes.
 */
static void mv_die(struct mv_thread *t)
{
	unsigned long seen[MV_THREADS_MAX], start = mv_ms();
	unsigned int i;
	int ret;

	fprintf(stderr, "move-echo: thread %u ends its context\n", t->id);
	ret = ix_end(ixev_loop_ix(t->loop));
	if (ret) {
		fprintf(stderr, "move-echo: thread %u: ix_end: %s\n", t->id, strerror(-ret));
		__atomic_store_n(&t->err, ret, __ATOMIC_RELAXED);
	}
	usleep(MV_LATE_MS * 1000);
	__atomic_store_n(&t->dying, 1, __ATOMIC_RELEASE);
	for (i = 0; i < nthreads; i++)
		seen[i] = __atomic_load_n(&th[i].iters, __ATOMIC_ACQUIRE);
	/* a loop that read dying == 0 is inside that ixev_run(): wait for it to finish two */
	for (i = 0; i < nthreads; i++) {
		while (i != t->id && __atomic_load_n(&th[i].iters, __ATOMIC_ACQUIRE) < seen[i] + 2 &&
		       mv_ms() - start < MV_GRACE_MS && !__atomic_load_n(&th[i].err, __ATOMIC_RELAXED))
			usleep(1000);
	}
	ixev_loop_destroy(t->loop);
	t->loop = NULL;
}

struct mv_args {
	struct mv_thread *t;
	long kill_ms;		/* < 0: never */
};

static void *mv_main(void *arg)
{
	struct mv_args *a = arg;
	struct mv_thread *t = a->t;
	unsigned long start = mv_ms();
	int ret;

	while (!__atomic_load_n(&stopping, __ATOMIC_RELAXED)) {
		if (a->kill_ms >= 0 && mv_ms() - start >= (unsigned long)a->kill_ms) {
			mv_die(t);
			return NULL;
		}
		ret = ixev_run(t->loop, MV_RUN_MS);
		__atomic_add_fetch(&t->iters, 1, __ATOMIC_RELEASE);
		if (ret < 0) {
			fprintf(stderr, "move-echo: thread %u: %s\n", t->id, strerror(-ret));
			__atomic_store_n(&t->err, ret, __ATOMIC_RELAXED);
			return NULL;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct mv_args args[MV_THREADS_MAX];
	unsigned long port, seconds, moves = 0, arrived = 0, unreleased = 0;
	long kill_thread = -1, kill_ms = -1;
	unsigned int i;
	int ret, status = 0;

	if (argc != 5 && argc != 7) {
		fprintf(stderr, "usage: %s PORT THREADS EVERY SECONDS [KILL_THREAD KILL_MS]\n",
			argv[0]);
		return 2;
	}
	port = strtoul(argv[1], NULL, 10);
	nthreads = strtoul(argv[2], NULL, 10);
	every = strtoul(argv[3], NULL, 10);
	seconds = strtoul(argv[4], NULL, 10);
	if (argc == 7) {
		kill_thread = strtol(argv[5], NULL, 10);
		kill_ms = strtol(argv[6], NULL, 10);
	}
	if (!port || port > 65535 || nthreads < 2 || nthreads > MV_THREADS_MAX || !seconds ||
	    kill_thread >= (long)nthreads) {
		fprintf(stderr, "move-echo: bad arguments\n");
		return 2;
	}
	signal(SIGTERM, mv_term);
	for (i = 0; i < nthreads; i++) {
		th[i].id = i;
		ret = ixev_loop_create(NULL, &mv_ops, &th[i], &th[i].loop);
		if (!ret)
			ret = ixev_listen(th[i].loop, NULL, port);
		if (ret) {
			fprintf(stderr, "move-echo: loop %u: %s\n", i, strerror(-ret));
			return 1;
		}
	}
	for (i = 0; i < nthreads; i++) {
		args[i] = (struct mv_args){ &th[i], (long)i == kill_thread ? kill_ms : -1 };
		if (pthread_create(&th[i].tid, NULL, mv_main, &args[i])) {
			fprintf(stderr, "move-echo: cannot start thread %u\n", i);
			return 1;
		}
	}
	fprintf(stderr, "move-echo: %u loops on port %lu, moving every %zu bytes\n", nthreads, port,
		every);
	sleep(seconds);
	__atomic_store_n(&stopping, 1, __ATOMIC_RELAXED);
	for (i = 0; i < nthreads; i++) {
		pthread_join(th[i].tid, NULL);
		if (th[i].err)
			status = 1;
		moves += th[i].moves;
		arrived += th[i].arrived;
	}
	for (i = 0; i < nthreads; i++)
		ixev_loop_destroy(th[i].loop);
	while (mv_live.next != &mv_live) {
		struct mv_conn *mc = mv_live.next;

		mv_live.next = mc->next;
		free(mc);
		unreleased++;
	}
	printf("moves %lu arrived %lu unreleased %lu\n", moves, arrived, unreleased);
	return status;
}
