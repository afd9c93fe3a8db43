// SPDX-License-Identifier: BSD-2-Clause
/*
 * main.c - ix-rr: request/response over libix's native API, both ends.
 *
 *   ix-rr server [-p PORT] [-t THREADS]
 *       echo every byte back.  Received bytes are sent straight from where the daemon put them
 *       and given back (ix_recv_done) only once the connection took them, so a peer that does
 *       not read is slowed by TCP, never buffered for.
 *   ix-rr client ADDR PORT [-c CONNS] [-d DEPTH] [-s SIZE] [-T SECONDS] [-t THREADS]
 *       CONNS connections, DEPTH requests of SIZE bytes in flight on each; every response is
 *       checked byte for byte; prints requests/s and latency percentiles (µs).
 *
 * Both exit 0 on success, 1 on a failure (printed), 2 on bad usage.  SIGINT/SIGTERM end a
 * server cleanly.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/server.h"
#include "ix/ix.h"

#define RR_EVS 64
#define RR_SAMPLES_MAX (1u << 22)

static volatile sig_atomic_t rr_stop;

static void rr_on_signal(int sig)
{
	rr_stop = 1;
}

static unsigned long long rr_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void rr_log(int level, const char *msg, void *arg)
{
	fprintf(stderr, "ix-rr: libix: %s\n", msg);
}

/* --- server --------------------------------------------------------------------------------- */

/* Received bytes not yet taken by the connection: a FIFO of spans in the rx area. */
struct rr_span {
	const char *p;
	size_t len;
};

struct rr_conn {
	ix_handle_t h;
	struct rr_span *spans;
	unsigned int n, cap;
	size_t inflight;	/* bytes of the SEND awaiting its RESULT */
	bool blocked;		/* the last SEND took less: wait for SENT */
	bool resume;		/* ... and send the rest with IX_SEND_RESUME */
	bool area_full;		/* the send area had no room: try again after the next batch */
	bool eof;
};

struct rr_server {
	struct ix_ctx *ix;
	struct rr_conn **conns;	/* by cookie - 1 */
	unsigned int nr, cap;
	unsigned int *free;
	unsigned int nr_free;
	bool area_full;		/* some connection waits for room in the send area */
};

static struct rr_conn *rr_conn_new(struct rr_server *s, ix_handle_t h, uint64_t *cookie)
{
	struct rr_conn *c = calloc(1, sizeof(*c));
	unsigned int i;

	if (!c)
		return NULL;
	c->h = h;
	if (s->nr_free) {
		i = s->free[--s->nr_free];
	} else {
		if (s->nr == s->cap) {
			unsigned int cap = s->cap ? s->cap * 2 : 64;
			struct rr_conn **t = realloc(s->conns, cap * sizeof(*t));
			unsigned int *f = realloc(s->free, cap * sizeof(*f));

			if (t)
				s->conns = t;
			if (f)
				s->free = f;
			if (!t || !f) {
				free(c);
				return NULL;
			}
			s->cap = cap;
		}
		i = s->nr++;
	}
	s->conns[i] = c;
	*cookie = i + 1;
	return c;
}

/* The connection of an event: a slot reused since (stale events of a closed one) is not it. */
static struct rr_conn *rr_conn_get(struct rr_server *s, uint64_t cookie, ix_handle_t h)
{
	struct rr_conn *c = cookie && cookie <= s->nr ? s->conns[cookie - 1] : NULL;

	return c && c->h == h ? c : NULL;
}

static void rr_conn_close(struct rr_server *s, uint64_t cookie, bool reset)
{
	struct rr_conn *c = s->conns[cookie - 1];

	ix_close(s->ix, c->h, reset);
	free(c->spans);
	free(c);
	s->conns[cookie - 1] = NULL;
	s->free[s->nr_free++] = cookie - 1;
}

/* Send the first span if nothing is in flight and the connection is not full. */
static void rr_push(struct rr_server *s, struct rr_conn *c, uint64_t cookie)
{
	long ret;

	if (c->inflight || c->blocked)
		return;
	if (!c->n) {
		if (c->eof)
			rr_conn_close(s, cookie, false); /* everything echoed: FIN back */
		return;
	}
	ret = ix_send_flags(s->ix, c->h, c->spans[0].p, c->spans[0].len,
			    c->resume ? IX_SEND_RESUME : 0);
	c->area_full = ret == -EAGAIN;
	if (ret == -EAGAIN) {
		s->area_full = true; /* any connection's RESULT frees room: retried after the batch */
		return;
	}
	if (ret < 0) {
		rr_conn_close(s, cookie, true);
		return;
	}
	c->resume = false;
	c->inflight = c->spans[0].len;
}

/* Close @h, and our slot for it if there is one (a KNOCK we accepted that died meanwhile). */
static void rr_conn_drop(struct rr_server *s, ix_handle_t h)
{
	unsigned int i;

	for (i = 0; i < s->nr; i++)
		if (s->conns[i] && s->conns[i]->h == h) {
			rr_conn_close(s, i + 1, false);
			return;
		}
	ix_close(s->ix, h, false);
}

static void rr_server_event(struct rr_server *s, const struct ix_event *e)
{
	struct rr_conn *c;
	uint64_t cookie;

	switch (e->type) {
	case IX_EV_KNOCK:
		if (!rr_conn_new(s, e->handle, &cookie) || ix_accept(s->ix, e->handle, cookie) < 0)
			ix_reject(s->ix, e->handle);
		return;
	case IX_EV_RECV:
		c = rr_conn_get(s, e->cookie, e->handle);
		if (!c)
			return;
		if (!e->len) {
			c->eof = true;
		} else {
			if (c->n == c->cap) {
				unsigned int cap = c->cap ? c->cap * 2 : 8;
				struct rr_span *t = realloc(c->spans, cap * sizeof(*t));

				if (!t) {
					rr_conn_close(s, e->cookie, true);
					return;
				}
				c->spans = t;
				c->cap = cap;
			}
			c->spans[c->n++] = (struct rr_span){ e->data, e->len };
		}
		rr_push(s, c, e->cookie);
		return;
	case IX_EV_RESULT:
		if (e->op == IX_OP_ACCEPT && e->err) {
			rr_conn_drop(s, e->handle); /* it died before our ACCEPT reached it */
			return;
		}
		c = rr_conn_get(s, e->cookie, e->handle);
		if (e->op != IX_OP_SEND || !c)
			return;
		if (e->err) {
			rr_conn_close(s, e->cookie, true);
			return;
		}
		/* The connection has the bytes: give their receive space back. */
		ix_recv_done(s->ix, c->h, e->len);
		c->spans[0].p += e->len;
		c->spans[0].len -= e->len;
		if (!c->spans[0].len)
			memmove(c->spans, c->spans + 1, --c->n * sizeof(*c->spans));
		c->blocked = e->len < c->inflight;
		c->resume = c->blocked;
		c->inflight = 0;
		rr_push(s, c, e->cookie);
		return;
	case IX_EV_SENT:
		c = rr_conn_get(s, e->cookie, e->handle);
		if (!c)
			return;
		c->blocked = false;
		rr_push(s, c, e->cookie);
		return;
	case IX_EV_DEAD:
		if (rr_conn_get(s, e->cookie, e->handle))
			rr_conn_close(s, e->cookie, false);
		else
			rr_conn_drop(s, e->handle); /* died before it was ours: still ours to close */
		return;
	}
}

/* After a batch: connections that found the send area full try again. */
static void rr_retry(struct rr_server *s)
{
	unsigned int i;

	if (!s->area_full)
		return;
	s->area_full = false;
	for (i = 0; i < s->nr; i++)
		if (s->conns[i] && s->conns[i]->area_full)
			rr_push(s, s->conns[i], i + 1);
}

struct rr_args {
	const char *addr;
	unsigned int port, conns, depth, size, seconds, threads, id;
	unsigned long long *samples;
	unsigned long nr_samples;
	unsigned long long requests;
	int status;
};

static void *rr_server_thread(void *arg)
{
	struct rr_args *a = arg;
	struct rr_server s = { 0 };
	struct ix_event evs[RR_EVS];
	int n, i, ret;

	ret = ix_attach(NULL, &s.ix);
	if (ret) {
		fprintf(stderr, "ix-rr: cannot attach to ixdpd: %s\n", strerror(-ret));
		a->status = 1;
		return NULL;
	}
	ret = ix_listen(s.ix, NULL, a->port, 0);
	if (ret) {
		fprintf(stderr, "ix-rr: listen on port %u: %s (%s)\n", a->port, strerror(-ret),
			app_listen_why(ret));
		a->status = 1;
		goto out;
	}
	while (!rr_stop) {
		n = ix_poll(s.ix, evs, RR_EVS, 200);
		if (n < 0) {
			fprintf(stderr, "ix-rr: %s\n", strerror(-n));
			a->status = 1;
			break;
		}
		for (i = 0; i < n; i++)
			rr_server_event(&s, &evs[i]);
		rr_retry(&s);
	}
out:
	ix_detach(s.ix);
	for (i = 0; i < (int)s.nr; i++)
		if (s.conns[i]) {
			free(s.conns[i]->spans);
			free(s.conns[i]);
		}
	free(s.conns);
	free(s.free);
	return NULL;
}

/* --- client --------------------------------------------------------------------------------- */

struct rr_cconn {
	ix_handle_t h;
	bool up;
	unsigned long long sent_at[64];	/* per request in flight, in order */
	unsigned int head, nr;		/* requests in flight */
	unsigned long long seq;		/* next request's number */
	unsigned long long rseq;	/* next response's number */
	size_t got;			/* bytes of the current response so far */
};

/* Request n's byte i: a function of both, so a misplaced byte is caught. */
static char rr_byte(unsigned long long n, size_t i)
{
	return (char)(n * 131 + i * 7 + 1);
}

static int rr_request(struct ix_ctx *ix, struct rr_cconn *c, unsigned int size)
{
	char *buf = ix_tx_alloc(ix, c->h, size);
	size_t i;
	long ret;

	if (!buf)
		return -EAGAIN;
	for (i = 0; i < size; i++)
		buf[i] = rr_byte(c->seq, i);
	ret = ix_send(ix, c->h, buf, size);
	if (ret < 0)
		return ret;
	c->sent_at[(c->head + c->nr++) % 64] = rr_now_ns();
	c->seq++;
	return 0;
}

static void *rr_client_thread(void *arg)
{
	struct rr_args *a = arg;
	struct ix_event evs[RR_EVS];
	struct ix_addr to = { .family = AF_INET, .port = a->port };
	struct rr_cconn *cs = calloc(a->conns, sizeof(*cs));
	unsigned long long end, start = 0;
	unsigned int up = 0, i;
	struct ix_ctx *ix;
	int n, k, ret;

	if (!cs || inet_pton(AF_INET, a->addr, &to.v4) != 1) {
		fprintf(stderr, "ix-rr: bad address %s\n", a->addr);
		a->status = 1;
		free(cs);
		return NULL;
	}
	ret = ix_attach(NULL, &ix);
	if (ret) {
		fprintf(stderr, "ix-rr: cannot attach to ixdpd: %s\n", strerror(-ret));
		a->status = 1;
		free(cs);
		return NULL;
	}
	for (i = 0; i < a->conns; i++)
		if (ix_connect(ix, &to, i + 1) < 0)
			a->status = 1;
	end = rr_now_ns() + 10000000000ull; /* connecting: 10 s at most */
	while (!a->status && rr_now_ns() < end && (!start || rr_now_ns() < end)) {
		n = ix_poll(ix, evs, RR_EVS, 100);
		if (n < 0) {
			fprintf(stderr, "ix-rr: %s\n", strerror(-n));
			a->status = 1;
			break;
		}
		for (k = 0; k < n; k++) {
			const struct ix_event *e = &evs[k];
			struct rr_cconn *c = e->cookie && e->cookie <= a->conns ? &cs[e->cookie - 1] :
										  NULL;
			size_t off = 0;

			if (!c)
				continue;
			switch (e->type) {
			case IX_EV_CONNECTED:
				if (e->err) {
					fprintf(stderr, "ix-rr: connect: %s\n", strerror(-e->err));
					a->status = 1;
					break;
				}
				c->h = e->handle;
				c->up = true;
				if (++up == a->conns) {
					start = rr_now_ns();
					end = start + a->seconds * 1000000000ull;
					for (i = 0; i < a->conns; i++)
						for (ret = 0; ret < (int)a->depth; ret++)
							if (rr_request(ix, &cs[i], a->size))
								a->status = 1;
				}
				break;
			case IX_EV_RECV:
				if (!e->len) {
					fprintf(stderr, "ix-rr: the server closed a connection\n");
					a->status = 1;
					break;
				}
				while (off < e->len) {
					const char *d = e->data;

					if (!c->nr || d[off] != rr_byte(c->rseq, c->got)) {
						fprintf(stderr, "ix-rr: wrong byte in response %llu\n",
							c->rseq);
						a->status = 1;
						break;
					}
					off++;
					if (++c->got < a->size)
						continue;
					if (a->nr_samples < RR_SAMPLES_MAX)
						a->samples[a->nr_samples++] =
							rr_now_ns() - c->sent_at[c->head];
					c->head = (c->head + 1) % 64;
					c->nr--;
					c->got = 0;
					c->rseq++;
					a->requests++;
					if (rr_now_ns() < end && rr_request(ix, c, a->size))
						a->status = 1;
				}
				ix_recv_done(ix, c->h, e->len);
				break;
			case IX_EV_RESULT:
				if (e->err || (e->op == IX_OP_SEND && e->len < a->size)) {
					fprintf(stderr, "ix-rr: send: %s (%zu bytes taken)\n",
						strerror(-e->err), e->len);
					a->status = 1;
				}
				break;
			case IX_EV_DEAD:
				fprintf(stderr, "ix-rr: connection died: %s\n", strerror(-e->err));
				a->status = 1;
				break;
			}
		}
	}
	if (!start && !a->status) {
		fprintf(stderr, "ix-rr: only %u of %u connections came up\n", up, a->conns);
		a->status = 1;
	}
	for (i = 0; i < a->conns; i++)
		if (cs[i].up)
			ix_close(ix, cs[i].h, true);
	ix_flush(ix);
	ix_detach(ix);
	free(cs);
	return NULL;
}

static int rr_cmp(const void *x, const void *y)
{
	unsigned long long a = *(const unsigned long long *)x, b = *(const unsigned long long *)y;

	return a < b ? -1 : a > b;
}

static int rr_usage(void)
{
	fprintf(stderr, "usage: ix-rr server [-p PORT] [-t THREADS]\n"
			"       ix-rr client ADDR PORT [-c CONNS] [-d DEPTH] [-s SIZE] [-T SECONDS] "
			"[-t THREADS]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct rr_args base = { .port = 7, .conns = 1, .depth = 1, .size = 64, .seconds = 5,
				.threads = 1 };
	unsigned long long *all = NULL, total = 0;
	unsigned long nall = 0;
	struct rr_args *args;
	pthread_t *th;
	bool server;
	unsigned int i;
	int opt, status = 0;
	double secs;

	if (argc < 2)
		return rr_usage();
	server = !strcmp(argv[1], "server");
	if (!server && strcmp(argv[1], "client"))
		return rr_usage();
	argc--;
	argv++;
	if (!server) {
		if (argc < 3)
			return rr_usage();
		base.addr = argv[1];
		base.port = atoi(argv[2]);
		argc -= 2;
		argv += 2;
	}
	while ((opt = getopt(argc, argv, "p:t:c:d:s:T:")) != -1) {
		switch (opt) {
		case 'p': base.port = atoi(optarg); break;
		case 't': base.threads = atoi(optarg); break;
		case 'c': base.conns = atoi(optarg); break;
		case 'd': base.depth = atoi(optarg); break;
		case 's': base.size = atoi(optarg); break;
		case 'T': base.seconds = atoi(optarg); break;
		default: return rr_usage();
		}
	}
	if (!base.port || base.port > 65535 || !base.threads || base.threads > 64 || !base.conns ||
	    !base.depth || base.depth > 64 || !base.size || base.size > 65536)
		return rr_usage();
	ix_set_log(rr_log, NULL);
	signal(SIGINT, rr_on_signal);
	signal(SIGTERM, rr_on_signal);
	signal(SIGPIPE, SIG_IGN);
	args = calloc(base.threads, sizeof(*args));
	th = calloc(base.threads, sizeof(*th));
	if (!args || !th) {
		status = 1;
		goto out;
	}
	for (i = 0; i < base.threads; i++) {
		args[i] = base;
		args[i].id = i;
		args[i].conns = base.conns / base.threads + (i < base.conns % base.threads);
		if (!server)
			args[i].samples = malloc(RR_SAMPLES_MAX * sizeof(*args[i].samples));
		if (pthread_create(&th[i], NULL, server ? rr_server_thread : rr_client_thread,
				   &args[i]))
			return 1;
	}
	for (i = 0; i < base.threads; i++) {
		pthread_join(th[i], NULL);
		status |= args[i].status;
		total += args[i].requests;
		nall += args[i].nr_samples;
	}
	if (server)
		goto out;
	all = malloc((nall + 1) * sizeof(*all));
	for (i = 0, nall = 0; all && i < base.threads; i++) {
		memcpy(all + nall, args[i].samples, args[i].nr_samples * sizeof(*all));
		nall += args[i].nr_samples;
	}
	if (!all || !nall) {
		fprintf(stderr, "ix-rr: no response\n");
		status = 1;
		goto out;
	}
	qsort(all, nall, sizeof(*all), rr_cmp);
	secs = base.seconds;
	printf("requests %llu rps %.0f p50_us %.1f p99_us %.1f p999_us %.1f max_us %.1f\n", total,
	       total / secs, all[nall / 2] / 1e3, all[nall * 99 / 100] / 1e3,
	       all[nall * 999 / 1000] / 1e3, all[nall - 1] / 1e3);
out:
	for (i = 0; args && i < base.threads; i++)
		free(args[i].samples);
	free(all);
	free(args);
	free(th);
	return status;
}
