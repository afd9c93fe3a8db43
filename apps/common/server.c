// SPDX-License-Identifier: BSD-2-Clause
/*
 * server.c - the shared frame of the ixev servers in apps/: attach one ixev loop per thread,
 * listen on the port from each, run the loops until SIGINT/SIGTERM (or a loop fails), then
 * stop them within APP_RUN_TIMEOUT_MS and join them within APP_STOP_TIMEOUT_S.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/server.h"

static int app_stopping; /* atomic */

/**
 * app_parse_uint - a decimal option value in [@min, @max].
 * @s:   the text
 * @min: smallest allowed
 * @max: largest allowed
 * @out: receives the value
 *
 * Return: 0 or -EINVAL.
 */
int app_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || *out < min || *out > max)
		return -EINVAL;
	return 0;
}

/**
 * app_options - an ixev server's command line: -p PORT, -t THREADS, -h, and the app's own
 * options.
 * @srv:        its port and nthreads are set from -p and -t
 * @argc, @argv: main()'s
 * @extra_opts: the app's own getopt letters ("c:m:"), or ""
 * @extra:      called for each of them with its argument: 0, -EINVAL (a bad value: reported
 *              here), or an exit status after printing its own message; NULL if none
 * @ctx:        @extra's last argument
 * @usage:      prints the app's usage to the stream
 *
 * Return: -1 to go on serving, or main()'s exit status: 0 after -h, 2 for a bad command line
 * (said on stderr, with the usage).
 */
int app_options(struct app_server *srv, int argc, char **argv, const char *extra_opts,
		int (*extra)(int opt, const char *arg, void *ctx), void *ctx,
		void (*usage)(FILE *f))
{
	static const struct option longopts[] = {
		{ "dispatch", no_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	char opts[32];
	int opt, ret;

	snprintf(opts, sizeof(opts), "p:t:h%s", extra_opts);
	while ((opt = getopt_long(argc, argv, opts, longopts, NULL)) != -1) {
		switch (opt) {
		case 'D':
			if (!srv->can_dispatch) {
				fprintf(stderr, "%s: --dispatch is not supported\n", srv->name);
				return 2;
			}
			srv->dispatch = true;
			ret = 0;
			break;
		case 'p':
			ret = app_parse_uint(optarg, 1, 65535, &srv->port);
			break;
		case 't':
			ret = app_parse_uint(optarg, 1, APP_THREADS_MAX, &srv->nthreads);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case '?':
			usage(stderr);
			return 2;
		default:
			ret = extra ? extra(opt, optarg, ctx) : -EINVAL;
			if (ret > 0)
				return ret;
		}
		if (ret) {
			fprintf(stderr, "%s: bad value for -%c: '%s'\n", srv->name, opt, optarg);
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", srv->name, argv[optind]);
		usage(stderr);
		return 2;
	}
	return -1;
}

static const char *app_attach_hint(int err)
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

static const char *app_name;

static void app_libix_log(int level, const char *msg, void *arg)
{
	if (level <= IX_LOG_WARN)
		fprintf(stderr, "%s: %s\n", app_name, msg); /* msg names libix */
}

static void *app_thread_main(void *arg)
{
	struct app_thread *t = arg;
	int ret;

	while (!__atomic_load_n(&app_stopping, __ATOMIC_RELAXED)) {
		ret = ixev_run(t->loop, APP_RUN_TIMEOUT_MS);
		if (ret < 0) {
			fprintf(stderr, "%s: thread %u: %s\n", app_name, t->id,
				ret == -ECONNRESET ? "ixdpd went away" : strerror(-ret));
			t->err = ret;
			break;
		}
	}
	__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Wait for SIGINT/SIGTERM or a thread that stopped on its own. */
static void app_wait_for_stop(const sigset_t *sigs, struct app_thread *threads, unsigned int n)
{
	struct timespec poll = { 0, APP_SIGNAL_POLL_MS * 1000000L };
	unsigned int i;
	int sig;

	for (;;) {
		sig = sigtimedwait(sigs, NULL, &poll);
		if (sig > 0) {
			fprintf(stderr, "%s: %s, stopping\n", app_name, strsignal(sig));
			return;
		}
		for (i = 0; i < n; i++)
			if (__atomic_load_n(&threads[i].done, __ATOMIC_ACQUIRE))
				return;
	}
}

/**
 * app_next_loop - --dispatch: the loop thread @t hands its next connection to, round robin over
 * the other threads.
 * @t: the accepting thread (its loop's thread only)
 *
 * Return: a loop, or NULL when there is no other thread (serve it here).
 */
struct ixev_loop *app_next_loop(struct app_thread *t)
{
	unsigned int n = t->nr_all, k;

	if (n < 2)
		return NULL;
	k = t->rr++ % (n - 1);
	return t->all[k >= t->id ? k + 1 : k].loop;
}

/**
 * app_listen_why - the reason behind an ix_listen()/ixev_listen() error, in words: ixdpd
 * refuses each of its listen rules with its own errno (docs/security.md).
 * @err: the negative errno
 *
 * Return: a static string.
 */
const char *app_listen_why(int err)
{
	switch (err) {
	case -EACCES:
		return "an app that is not root listens only on ixdpd's app-ports, never below 1024";
	case -ERANGE:
		return "the port is inside the kernel's ephemeral range, "
		       "net.ipv4.ip_local_port_range";
	case -EBUSY:
		return "the kernel has a listener on it";
	case -EADDRINUSE:
		return "another app or a built-in service of ixdpd listens there";
	case -EADDRNOTAVAIL:
		return "not an address of ixdpd's interface";
	}
	return "see docs/libix.md, ix_listen";
}

/**
 * app_serve - run the server until SIGINT/SIGTERM or a loop fails.
 * @srv: what to serve, on which port, with how many threads
 *
 * Messages go to stderr, prefixed with srv->name.
 *
 * Return: the process's exit status: 0 after a clean stop, 1 on any failure.
 */
int app_serve(const struct app_server *srv)
{
	const char *control = getenv("IXDP_CONTROL");
	struct app_thread *threads;
	unsigned int i, started = 0, joined;
	struct timespec deadline;
	sigset_t sigs;
	int ret, status = 1;

	app_name = srv->name;
	if (!control || !*control)
		control = IX_CONTROL_DEFAULT;
	/* Signals are taken by main only, with sigtimedwait(); the threads never see them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	ix_set_log(app_libix_log, NULL);

	threads = calloc(srv->nthreads, sizeof(*threads));
	if (!threads) {
		fprintf(stderr, "%s: out of memory\n", srv->name);
		return 1;
	}
	for (i = 0; i < srv->nthreads; i++) {
		struct app_thread *t = &threads[i];

		t->id = i;
		ret = srv->thread_init ? srv->thread_init(t, srv->arg) : 0;
		if (ret) {
			fprintf(stderr, "%s: thread %u: %s\n", srv->name, i, strerror(-ret));
			goto destroy_loops;
		}
		ret = ixev_loop_create(NULL, srv->ops, t, &t->loop);
		if (ret) {
			fprintf(stderr, "%s: cannot attach to ixdpd at %s: %s%s\n", srv->name,
				control, strerror(-ret), app_attach_hint(ret));
			goto destroy_loops;
		}
		t->all = threads;
		t->nr_all = srv->nthreads;
		/* --dispatch: thread 0 takes every connection and hands it over */
		ret = srv->dispatch && i ? 0 : ixev_listen(t->loop, NULL, srv->port);
		if (ret) {
			fprintf(stderr, "%s: cannot listen on port %lu: %s (%s)\n", srv->name,
				srv->port, strerror(-ret), app_listen_why(ret));
			goto destroy_loops;
		}
	}
	for (; started < srv->nthreads; started++) {
		ret = pthread_create(&threads[started].tid, NULL, app_thread_main,
				     &threads[started]);
		if (ret) {
			fprintf(stderr, "%s: cannot start a thread: %s\n", srv->name, strerror(ret));
			goto stop_threads;
		}
	}
	fprintf(stderr, "%s: listening on port %lu with %lu threads%s (ixdpd at %s)\n", srv->name,
		srv->port, srv->nthreads,
		srv->dispatch ? ", thread 0 accepting and handing over" : "", control);
	app_wait_for_stop(&sigs, threads, srv->nthreads);
	status = 0;

stop_threads:
	__atomic_store_n(&app_stopping, 1, __ATOMIC_RELAXED);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += APP_STOP_TIMEOUT_S;
	for (joined = 0; joined < started; joined++) {
		if (pthread_timedjoin_np(threads[joined].tid, NULL, &deadline)) {
			/* its loop is still in use: leave it to the exit */
			fprintf(stderr, "%s: thread %u did not stop within %d s\n", srv->name,
				joined, APP_STOP_TIMEOUT_S);
			return 1;
		}
		if (threads[joined].err)
			status = 1;
	}
destroy_loops:
	for (i = 0; i < srv->nthreads; i++)
		if (threads[i].loop)
			ixev_loop_destroy(threads[i].loop);
	free(threads);
	return status;
}
