// SPDX-License-Identifier: BSD-2-Clause
/*
 * main.c - ix-kv: a memcached-compatible (text protocol) key-value server on ixev.
 *
 * One ixev loop per thread, each its own context of ixdpd, all listening on the same port (the
 * daemon spreads new connections over them) and sharing one item store.  With --dispatch only
 * thread 0 listens, memcached's own model: it accepts each connection and hands it to the next
 * of the other threads (ixev_move()); a connection it cannot hand over it serves itself.  Per connection, the
 * received bytes are read in place (ixev_peek) and fed to the protocol engine (proto.c); only
 * what it took is consumed, so a client that does not read its answers stops being read from
 * and its TCP window closes.  Answers go out with ixev_send(); when ixev's send buffer is full
 * the connection waits for IXEV_OUT before reading again.
 *
 * Threads, signals and the stop are apps/common/server.c's.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/server.h"
#include "kv/proto.h"

#define KV_PORT_DEFAULT 11211
#define KV_THREADS_DEFAULT 4
#define KV_CONNS_DEFAULT 1024
#define KV_MEM_MB_DEFAULT 64
#define KV_READ_ROUNDS 16 /* received spans one handler call takes before yielding */

struct kv_client {
	struct ixev_conn ixc;
	struct kv_conn kv;
	bool eof;
};

static struct kv_store *store;
static unsigned int max_conns = KV_CONNS_DEFAULT;
static unsigned int nr_conns; /* atomic */
static bool dispatch;

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
	struct app_thread *t = ixev_loop_arg(c->loop);
	unsigned int rounds = 0;
	const void *data;
	size_t used;
	ssize_t n;
	int ret;

	cl->kv.stats = t->user;	/* this thread's counters: the conn may have moved here */
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

/*
 * --dispatch, thread 0: the first call for a new connection, once it is the loop's (ops->accept
 * may not move it).  Bytes that came with it travel (none consumed yet).
 */
static void dispatch_handler(struct ixev_conn *c, unsigned int events)
{
	struct ixev_loop *to = app_next_loop(ixev_loop_arg(c->loop));

	ixev_set_handler(c, IXEV_IN | IXEV_HUP, client_handler);
	if (!(events & IXEV_HUP) && to && !ixev_move(c, to))
		return;	/* not ours to touch any more */
	client_handler(c, events);
}

static struct ixev_conn *client_accept(struct ixev_loop *l, const struct ix_addr *remote,
				       uint16_t lport)
{
	struct app_thread *t = ixev_loop_arg(l);
	struct kv_client *cl;

	if (__atomic_add_fetch(&nr_conns, 1, __ATOMIC_RELAXED) > max_conns)
		goto uncount;
	cl = calloc(1, sizeof(*cl));
	if (!cl)
		goto uncount;
	ixev_conn_init(&cl->ixc);
	cl->ixc.user = cl;
	kv_conn_init(&cl->kv, store, t->user);
	if (dispatch)
		ixev_set_handler(&cl->ixc, IXEV_IN | IXEV_OUT | IXEV_HUP, dispatch_handler);
	else
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

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ix-kv [-p PORT] [-t THREADS] [-c CONNS] [-m MB] [--dispatch] [-h]\n"
		"  a memcached-compatible server (text protocol) on ixdp\n"
		"  -p PORT     TCP port (default %d)\n"
		"  -t THREADS  threads, each its own ixdpd context (default %d, at most %d)\n"
		"  -c CONNS    most connections at once (default %d)\n"
		"  -m MB       item memory before the least recently used items are evicted\n"
		"              (default %d; 0: no limit)\n"
		"  --dispatch  thread 0 accepts and hands each connection to the next of the\n"
		"              other threads (memcached's model)\n"
		"  -h          this help\n"
		"  $IXDP_CONTROL names ixdpd's control socket (default %s)\n",
		KV_PORT_DEFAULT, KV_THREADS_DEFAULT, APP_THREADS_MAX, KV_CONNS_DEFAULT,
		KV_MEM_MB_DEFAULT, IX_CONTROL_DEFAULT);
}

struct kv_args {
	unsigned long conns;
	unsigned long mem_mb;
};

/* -c CONNS and -m MB (app_options() takes -p, -t, -h). */
static int kv_option(int opt, const char *arg, void *ctx)
{
	struct kv_args *a = ctx;
	int ret;

	if (opt == 'c')
		return app_parse_uint(arg, 1, 1u << 24, &a->conns);
	ret = app_parse_uint(arg, 0, 1ul << 20, &a->mem_mb);
	if (!ret && a->mem_mb && a->mem_mb << 20 < KV_MEM_LIMIT_MIN) {
		fprintf(stderr, "ix-kv: -m: at least %u MB, or 0 for no limit\n",
			KV_MEM_LIMIT_MIN >> 20);
		return 2;
	}
	return ret;
}

/* Each thread's per-thread counters of the store (t->user). */
static int kv_thread_init(struct app_thread *t, void *arg)
{
	t->user = kv_store_stats_new(store);
	return t->user ? 0 : -ENOMEM;
}

int main(int argc, char **argv)
{
	struct app_server srv = { .name = "ix-kv", .ops = &client_ops, .port = KV_PORT_DEFAULT,
				  .nthreads = KV_THREADS_DEFAULT, .thread_init = kv_thread_init,
				  .can_dispatch = true };
	struct kv_store_opts opts = { 0 };
	struct kv_args args = { KV_CONNS_DEFAULT, KV_MEM_MB_DEFAULT };
	int ret, status;

	ret = app_options(&srv, argc, argv, "c:m:", kv_option, &args, usage);
	if (ret >= 0)
		return ret;
	max_conns = args.conns;
	dispatch = srv.dispatch;
	opts.mem_limit = args.mem_mb << 20;
	opts.threads = srv.nthreads;
	opts.max_conns = max_conns;
	ret = kv_store_create(&opts, &store);
	if (ret) {
		fprintf(stderr, "ix-kv: cannot create the item store: %s\n", strerror(-ret));
		return 1;
	}
	status = app_serve(&srv);
	/* A thread that did not stop still uses the store: leave it to the exit then. */
	if (!status)
		kv_store_destroy(store);
	return status;
}
