// SPDX-License-Identifier: BSD-2-Clause
/*
 * main.c - ix-kv: a memcached-compatible (text protocol) key-value server on ixev.
 *
 * One ixev loop per thread, each its own context of ixdpd, all listening on the same port (the
 * daemon spreads new connections over them) and sharing one item store.  Per connection, the
 * received bytes are read in place (ixev_peek) and fed to the protocol engine (proto.c); only
 * what it took is consumed, so a client that does not read its answers stops being read from
 * and its TCP window closes.  Answers go out with ixev_send(); when ixev's send buffer is full
 * the connection waits for IXEV_OUT before reading again.
 *
 * SIGINT/SIGTERM stop every loop within KV_RUN_TIMEOUT_MS, then the threads are joined for at
 * most KV_STOP_TIMEOUT_S.
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
#include "kv/proto.h"

#define KV_PORT_DEFAULT 11211
#define KV_THREADS_DEFAULT 4
#define KV_THREADS_MAX 64
#define KV_CONNS_DEFAULT 1024
#define KV_MEM_MB_DEFAULT 64
#define KV_RUN_TIMEOUT_MS 100 /* how often a loop looks at the stop flag */
#define KV_STOP_TIMEOUT_S 5 /* for the threads to finish after the stop */
#define KV_SIGNAL_POLL_MS 200 /* how often main looks for a thread that gave up */
#define KV_READ_ROUNDS 16 /* received spans one handler call takes before yielding */

struct kv_thread {
	unsigned int id;
	struct ixev_loop *loop;
	struct kv_stats *stats;
	pthread_t tid;
	int err; /* why the thread stopped early (negative errno), 0 if it did not */
	int done; /* atomic */
};

struct kv_client {
	struct ixev_conn ixc;
	struct kv_conn kv;
	bool eof;
};

static struct kv_store *store;
static unsigned int max_conns = KV_CONNS_DEFAULT;
static unsigned int nr_conns; /* atomic */
static int stopping; /* atomic */

static void client_handler(struct ixev_conn *c, unsigned int events);

/* Hand the engine's answers to ixev.  Return: 1 all sent, 0 ixev is full, or -errno. */
static int client_flush(struct kv_client *cl)
{
	const void *p;
	size_t len;
	ssize_t n;

	while ((p = kv_conn_out(&cl->kv, &len))) {
		n = ixev_send(&cl->ixc, p, len);
		if (n == -EAGAIN)
			return 0;
		if (n < 0)
			return n;
		kv_conn_out_done(&cl->kv, n);
		if ((size_t)n < len)
			return 0;
	}
	return 1;
}

static void client_handler(struct ixev_conn *c, unsigned int events)
{
	struct kv_client *cl = c->user;
	unsigned int rounds = 0;
	const void *data;
	size_t used;
	ssize_t n;
	int ret;

	if (events & IXEV_HUP)
		goto close;
	for (;;) {
		ret = client_flush(cl);
		if (ret < 0)
			goto close;
		if (!ret) {
			/* read nothing more until the client takes its answers */
			ixev_set_handler(c, IXEV_OUT | IXEV_HUP, client_handler);
			return;
		}
		if (kv_conn_closing(&cl->kv) || cl->eof)
			goto close;
		if (kv_conn_busy(&cl->kv)) {
			/* a multi-get: bounded by ixev's send buffer, which stops it above */
			kv_conn_input(&cl->kv, NULL, 0);
			continue;
		}
		if (rounds++ == KV_READ_ROUNDS)
			break; /* IXEV_IN is still ready: the loop calls again after the others */
		n = ixev_peek(c, &data);
		if (n == -EAGAIN)
			break;
		if (n == 0) {
			cl->eof = true; /* answer what came before the FIN, then close */
			continue;
		}
		if (n < 0)
			goto close;
		used = kv_conn_input(&cl->kv, data, n);
		if (used)
			ixev_consume(c, used); /* the rest waits in ixev, its window closed */
	}
	ixev_set_handler(c, IXEV_IN | IXEV_HUP, client_handler);
	return;
close:
	ixev_close(c); /* queued bytes go out, then FIN; release() frees cl */
}

static struct ixev_conn *client_accept(struct ixev_loop *l, const struct ix_addr *remote,
				       uint16_t lport)
{
	struct kv_thread *t = ixev_loop_arg(l);
	struct kv_client *cl;

	if (__atomic_add_fetch(&nr_conns, 1, __ATOMIC_RELAXED) > max_conns)
		goto uncount;
	cl = calloc(1, sizeof(*cl));
	if (!cl)
		goto uncount;
	ixev_conn_init(&cl->ixc);
	cl->ixc.user = cl;
	kv_conn_init(&cl->kv, store, t->stats);
	ixev_set_handler(&cl->ixc, IXEV_IN | IXEV_HUP, client_handler);
	return &cl->ixc;

uncount:
	__atomic_sub_fetch(&nr_conns, 1, __ATOMIC_RELAXED);
	return NULL; /* rejected: the client gets a reset */
}

static void client_release(struct ixev_conn *c)
{
	struct kv_client *cl = c->user;

	kv_conn_fini(&cl->kv);
	free(cl);
	__atomic_sub_fetch(&nr_conns, 1, __ATOMIC_RELAXED);
}

static const struct ixev_conn_ops client_ops = {
	.accept = client_accept,
	.release = client_release,
};

static void *kv_thread_main(void *arg)
{
	struct kv_thread *t = arg;
	int ret;

	while (!__atomic_load_n(&stopping, __ATOMIC_RELAXED)) {
		ret = ixev_run(t->loop, KV_RUN_TIMEOUT_MS);
		if (ret < 0) {
			fprintf(stderr, "ix-kv: thread %u: %s\n", t->id,
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
		fprintf(stderr, "ix-kv: %s\n", msg); /* msg names libix */
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ix-kv [-p PORT] [-t THREADS] [-c CONNS] [-m MB] [-h]\n"
		"  a memcached-compatible server (text protocol) on ixdp\n"
		"  -p PORT     TCP port (default %d)\n"
		"  -t THREADS  threads, each its own ixdpd context (default %d, at most %d)\n"
		"  -c CONNS    most connections at once (default %d)\n"
		"  -m MB       item memory before the least recently used items are evicted\n"
		"              (default %d; 0: no limit)\n"
		"  -h          this help\n"
		"  $IXDP_CONTROL names ixdpd's control socket (default %s)\n",
		KV_PORT_DEFAULT, KV_THREADS_DEFAULT, KV_THREADS_MAX, KV_CONNS_DEFAULT,
		KV_MEM_MB_DEFAULT, IX_CONTROL_DEFAULT);
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
static void wait_for_stop(const sigset_t *sigs, struct kv_thread *threads, unsigned int n)
{
	struct timespec poll = { 0, KV_SIGNAL_POLL_MS * 1000000L };
	unsigned int i;
	int sig;

	for (;;) {
		sig = sigtimedwait(sigs, NULL, &poll);
		if (sig > 0) {
			fprintf(stderr, "ix-kv: %s, stopping\n", strsignal(sig));
			return;
		}
		for (i = 0; i < n; i++)
			if (__atomic_load_n(&threads[i].done, __ATOMIC_ACQUIRE))
				return;
	}
}

int main(int argc, char **argv)
{
	unsigned long port = KV_PORT_DEFAULT, nthreads = KV_THREADS_DEFAULT;
	unsigned long conns = KV_CONNS_DEFAULT, mem_mb = KV_MEM_MB_DEFAULT;
	const char *control = getenv("IXDP_CONTROL");
	struct kv_store_opts opts = { 0 };
	struct kv_thread *threads;
	unsigned int i, started = 0, joined = 0;
	struct timespec deadline;
	sigset_t sigs;
	int opt, ret, status = 1;

	while ((opt = getopt(argc, argv, "p:t:c:m:h")) != -1) {
		switch (opt) {
		case 'p':
			ret = parse_uint(optarg, 1, 65535, &port);
			break;
		case 't':
			ret = parse_uint(optarg, 1, KV_THREADS_MAX, &nthreads);
			break;
		case 'c':
			ret = parse_uint(optarg, 1, 1u << 24, &conns);
			break;
		case 'm':
			ret = parse_uint(optarg, 0, 1ul << 20, &mem_mb);
			if (!ret && mem_mb && mem_mb << 20 < KV_MEM_LIMIT_MIN) {
				fprintf(stderr, "ix-kv: -m: at least %u MB, or 0 for no limit\n",
					KV_MEM_LIMIT_MIN >> 20);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (ret) {
			fprintf(stderr, "ix-kv: bad value for -%c: '%s'\n", opt, optarg);
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ix-kv: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!control || !*control)
		control = IX_CONTROL_DEFAULT;
	max_conns = conns;

	/* Signals are taken by main only, with sigtimedwait(); the threads never see them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	ix_set_log(libix_log, NULL);

	opts.mem_limit = mem_mb << 20;
	opts.threads = nthreads;
	opts.max_conns = max_conns;
	ret = kv_store_create(&opts, &store);
	if (ret) {
		fprintf(stderr, "ix-kv: cannot create the item store: %s\n", strerror(-ret));
		return 1;
	}
	threads = calloc(nthreads, sizeof(*threads));
	if (!threads) {
		fprintf(stderr, "ix-kv: out of memory\n");
		goto destroy_store;
	}
	for (i = 0; i < nthreads; i++) {
		struct kv_thread *t = &threads[i];

		t->id = i;
		t->stats = kv_store_stats_new(store);
		if (!t->stats) {
			fprintf(stderr, "ix-kv: out of memory\n");
			goto destroy_loops;
		}
		ret = ixev_loop_create(NULL, &client_ops, t, &t->loop);
		if (ret) {
			fprintf(stderr, "ix-kv: cannot attach to ixdpd at %s: %s%s\n", control,
				strerror(-ret), attach_hint(ret));
			goto destroy_loops;
		}
		ret = ixev_listen(t->loop, NULL, port);
		if (ret) {
			fprintf(stderr, "ix-kv: cannot listen on port %lu: %s%s\n", port,
				strerror(-ret),
				ret == -EACCES ? " (ports below 1024 need root)" : "");
			goto destroy_loops;
		}
	}
	for (; started < nthreads; started++) {
		ret = pthread_create(&threads[started].tid, NULL, kv_thread_main,
				     &threads[started]);
		if (ret) {
			fprintf(stderr, "ix-kv: cannot start a thread: %s\n", strerror(ret));
			goto stop_threads;
		}
	}
	fprintf(stderr, "ix-kv: listening on port %lu with %lu threads (ixdpd at %s)\n", port,
		nthreads, control);
	wait_for_stop(&sigs, threads, nthreads);
	status = 0;

stop_threads:
	__atomic_store_n(&stopping, 1, __ATOMIC_RELAXED);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += KV_STOP_TIMEOUT_S;
	for (joined = 0; joined < started; joined++) {
		if (pthread_timedjoin_np(threads[joined].tid, NULL, &deadline)) {
			/* its loop is still in use: leave it (and the store) to the exit */
			fprintf(stderr, "ix-kv: thread %u did not stop within %d s\n", joined,
				KV_STOP_TIMEOUT_S);
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
destroy_store:
	kv_store_destroy(store);
	return status;
}
