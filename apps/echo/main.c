// SPDX-License-Identifier: BSD-2-Clause
/*
 * main.c - ix-echo: a TCP echo server (RFC 862) on ixev.
 *
 * One ixev loop per thread, all listening on the same port.  Received bytes are sent back from
 * where ixev received them (ixev_peek, ixev_send copies) and consumed only once ixev_send() has
 * taken them: when the send buffer is full the connection stops reading until IXEV_OUT, so a
 * client that does not read its echo sees its own TCP window close.  On EOF the connection is
 * closed with ixev_close(), which sends what is still queued before the FIN.
 *
 * SIGINT/SIGTERM stop every loop within ECHO_RUN_TIMEOUT_MS, then the threads are joined for at
 * most ECHO_STOP_TIMEOUT_S.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ix/ixev.h"

#define ECHO_PORT_DEFAULT 7
#define ECHO_THREADS_DEFAULT 4
#define ECHO_THREADS_MAX 64
#define ECHO_RUN_TIMEOUT_MS 100 /* how often a loop looks at the stop flag */
#define ECHO_STOP_TIMEOUT_S 5 /* for the threads to finish after the stop */
#define ECHO_SIGNAL_POLL_MS 200 /* how often main looks for a thread that gave up */
#define ECHO_ROUNDS 16 /* received spans one handler call echoes before yielding */

struct echo_thread {
	unsigned int id;
	struct ixev_loop *loop;
	pthread_t tid;
	int err; /* why the thread stopped early (negative errno), 0 if it did not */
	int done; /* atomic */
};

static int stopping; /* atomic */

static void echo_handler(struct ixev_conn *c, unsigned int events)
{
	unsigned int rounds;
	const void *data;
	ssize_t n, sent;

	if (events & IXEV_HUP)
		goto close;
	for (rounds = 0; rounds < ECHO_ROUNDS; rounds++) {
		n = ixev_peek(c, &data);
		if (n == -EAGAIN)
			break;
		if (n <= 0)
			goto close; /* EOF (0) or the connection died */
		sent = ixev_send(c, data, n);
		if (sent == -EAGAIN)
			goto wait_out;
		if (sent < 0)
			goto close;
		ixev_consume(c, sent);
		if (sent < n)
			goto wait_out;
	}
	/* nothing left, or IXEV_IN still ready and the loop calls again after the others */
	ixev_set_handler(c, IXEV_IN | IXEV_HUP, echo_handler);
	return;
wait_out:
	ixev_set_handler(c, IXEV_OUT | IXEV_HUP, echo_handler);
	return;
close:
	ixev_close(c); /* queued bytes go out, then FIN; release() frees c */
}

static struct ixev_conn *echo_accept(struct ixev_loop *l, const struct ix_addr *remote,
				     uint16_t lport)
{
	struct ixev_conn *c = malloc(sizeof(*c));

	if (!c)
		return NULL; /* rejected: the client gets a reset */
	ixev_conn_init(c);
	ixev_set_handler(c, IXEV_IN | IXEV_HUP, echo_handler);
	return c;
}

static void echo_release(struct ixev_conn *c)
{
	free(c);
}

static const struct ixev_conn_ops echo_ops = {
	.accept = echo_accept,
	.release = echo_release,
};

static void *echo_thread_main(void *arg)
{
	struct echo_thread *t = arg;
	int ret;

	while (!__atomic_load_n(&stopping, __ATOMIC_RELAXED)) {
		ret = ixev_run(t->loop, ECHO_RUN_TIMEOUT_MS);
		if (ret < 0) {
			fprintf(stderr, "ix-echo: thread %u: %s\n", t->id,
				ret == -ECONNRESET ? "ixdpd went away" : strerror(-ret));
			t->err = ret;
			break;
		}
	}
	__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void libix_log(int level, const char *msg, void *arg)
{
	if (level <= IX_LOG_WARN)
		fprintf(stderr, "ix-echo: %s\n", msg); /* msg names libix */
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ix-echo [-p PORT] [-t THREADS] [-h]\n"
		"  a TCP echo server on ixdp\n"
		"  -p PORT     TCP port (default %d; below 1024 needs root)\n"
		"  -t THREADS  threads, each its own ixdpd context (default %d, at most %d)\n"
		"  -h          this help\n"
		"  $IXDP_CONTROL names ixdpd's control socket (default %s)\n",
		ECHO_PORT_DEFAULT, ECHO_THREADS_DEFAULT, ECHO_THREADS_MAX, IX_CONTROL_DEFAULT);
}

static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || *out < min || *out > max)
		return -EINVAL;
	return 0;
}

static const char *attach_hint(int err)
{
	switch (err) {
	case -ENOENT:
	case -ECONNREFUSED:
		return " (is ixdpd running?)";
	case -EACCES:
		return " (this user is not in ixdpd's app group)";
	default:
		return "";
	}
}

/* Wait for SIGINT/SIGTERM or a thread that stopped on its own. */
static void wait_for_stop(const sigset_t *sigs, struct echo_thread *threads, unsigned int n)
{
	struct timespec poll = { 0, ECHO_SIGNAL_POLL_MS * 1000000L };
	unsigned int i;
	int sig;

	for (;;) {
		sig = sigtimedwait(sigs, NULL, &poll);
		if (sig > 0) {
			fprintf(stderr, "ix-echo: %s, stopping\n", strsignal(sig));
			return;
		}
		for (i = 0; i < n; i++)
			if (__atomic_load_n(&threads[i].done, __ATOMIC_ACQUIRE))
				return;
	}
}

int main(int argc, char **argv)
{
	unsigned long port = ECHO_PORT_DEFAULT, nthreads = ECHO_THREADS_DEFAULT;
	const char *control = getenv("IXDP_CONTROL");
	struct echo_thread *threads;
	unsigned int i, started = 0, joined;
	struct timespec deadline;
	sigset_t sigs;
	int opt, ret, status = 1;

	while ((opt = getopt(argc, argv, "p:t:h")) != -1) {
		switch (opt) {
		case 'p':
			ret = parse_uint(optarg, 1, 65535, &port);
			break;
		case 't':
			ret = parse_uint(optarg, 1, ECHO_THREADS_MAX, &nthreads);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (ret) {
			fprintf(stderr, "ix-echo: bad value for -%c: '%s'\n", opt, optarg);
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ix-echo: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!control || !*control)
		control = IX_CONTROL_DEFAULT;

	/* Signals are taken by main only, with sigtimedwait(); the threads never see them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	ix_set_log(libix_log, NULL);

	threads = calloc(nthreads, sizeof(*threads));
	if (!threads) {
		fprintf(stderr, "ix-echo: out of memory\n");
		return 1;
	}
	for (i = 0; i < nthreads; i++) {
		struct echo_thread *t = &threads[i];

		t->id = i;
		ret = ixev_loop_create(NULL, &echo_ops, t, &t->loop);
		if (ret) {
			fprintf(stderr, "ix-echo: cannot attach to ixdpd at %s: %s%s\n", control,
				strerror(-ret), attach_hint(ret));
			goto destroy_loops;
		}
		ret = ixev_listen(t->loop, NULL, port);
		if (ret) {
			fprintf(stderr, "ix-echo: cannot listen on port %lu: %s%s\n", port,
				strerror(-ret),
				ret == -EACCES ? " (ports below 1024 need root)" : "");
			goto destroy_loops;
		}
	}
	for (; started < nthreads; started++) {
		ret = pthread_create(&threads[started].tid, NULL, echo_thread_main,
				     &threads[started]);
		if (ret) {
			fprintf(stderr, "ix-echo: cannot start a thread: %s\n", strerror(ret));
			goto stop_threads;
		}
	}
	fprintf(stderr, "ix-echo: listening on port %lu with %lu threads (ixdpd at %s)\n", port,
		nthreads, control);
	wait_for_stop(&sigs, threads, nthreads);
	status = 0;

stop_threads:
	__atomic_store_n(&stopping, 1, __ATOMIC_RELAXED);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += ECHO_STOP_TIMEOUT_S;
	for (joined = 0; joined < started; joined++) {
		if (pthread_timedjoin_np(threads[joined].tid, NULL, &deadline)) {
			/* its loop is still in use: leave it to the exit */
			fprintf(stderr, "ix-echo: thread %u did not stop within %d s\n", joined,
				ECHO_STOP_TIMEOUT_S);
			return 1;
		}
		if (threads[joined].err)
			status = 1;
	}
destroy_loops:
	for (i = 0; i < nthreads; i++)
		if (threads[i].loop)
			ixev_loop_destroy(threads[i].loop);
	free(threads);
	return status;
}
