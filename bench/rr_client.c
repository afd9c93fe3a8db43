// SPDX-License-Identifier: GPL-2.0
/* rr_client.c - TCP load for the echo-rr, sink and ping-pong benchmarks, the same client for both systems. */
/*
 * One thread, pinned to a CPU, with two transports behind one timing loop:
 *
 *  kernel (default): epoll over non-blocking kernel TCP sockets.
 *  libix (-X): connections opened through the ixdpd whose control socket is $IXDP_CONTROL, with
 *    libix's native API (ix_connect, ix_send from ix_tx_alloc()ed buffers, ix_poll, ix_recv_done),
 *    so that ping-pong can time ixdp <-> ixdp with the very loop, clock, request numbering and
 *    histogram that time kernel <-> kernel.  Closed loop only: -R and -B are refused with -X.
 *    -X implies -S, and the spin is ix_poll's own: the loop passes ix_poll the timeout it gives
 *    epoll_wait without -S (the time to the window's next edge, at most CLI_WAIT_MS), and
 *    IXDP_SPIN_US defaults to 1000000 here (unless set), so ix_poll spins through every such
 *    wait and never sleeps, as -S never does.  Not ix_poll(..., 0) in a loop: libix's spin
 *    yields (sched_yield) between looks at the rings, because the client's own ixdpd worker
 *    shares its CPU (ping-pong pins them together); a loop of zero timeouts never yields and
 *    keeps that worker off the core until the scheduler preempts the client (tried: 125
 *    round trips/s, p50 8 ms, in ping-pong).
 *
 * The transport is a small seam (struct transport: connect all, send what is queued on a
 * connection, wait for and dispatch events, abort all); the request stream, its checking, the
 * timing and the report are one code for both.  Three modes:
 *
 *  closed loop (default): C connections, each keeps D requests of S bytes in flight: it sends D,
 *    and each time the echo of one whole request has been read it sends the next.  The rate is
 *    whatever the server sustains; latency = write of a request -> read of its last echoed byte.
 *  open loop (-R RATE): requests become due at RATE per second in total (Poisson arrivals by
 *    default, -U for evenly spaced), each on the next connection round robin, whether or not
 *    earlier ones were answered (pipelined on the connection, at most -Q in flight per
 *    connection; a request due on a full connection is not sent and is counted as overflow).
 *    Latency is measured from the time a request was DUE, so a server that falls behind is
 *    charged for the queue it builds (no coordinated omission).  The loop busy-polls
 *    (epoll_wait with a zero timeout): a sleeping client would be woken late by the timer and,
 *    on this VM, pay ~40 us per cross-CPU wakeup for every answer, which would drown the
 *    server's latency in the client's.
 *  bulk (-B): C connections write S-byte chunks as fast as the sockets take them; the
 *    throughput counted is the bytes the receiver ACKED in the window (bytes written minus
 *    SIOCOUTQ at both edges), not bytes merely queued in the client's socket buffer.
 *
 * Every request carries its number (connection id in the top bits) in its first 8 bytes and
 * the echo is checked against it, so lost, duplicated, reordered or cross-connection bytes
 * count as errors instead of as answers.
 *
 * kv (-M), for the kv benchmark (bench/kv.sh): the same loops speak memcached's text protocol
 * instead of echo: 32-byte keys and values, each connection its own 64 keys, set once each
 * first (in the warm-up), then 90 % get / 10 % set chosen by a hash of the request's number;
 * every answer is checked byte for byte against the one its request must get (a get's value
 * included: a miss is a mismatch), and gets/s is reported beside requests/s.
 *
 * Connections are opened first, at most -b at a time (lwIP's listen backlog is 255; a burst of
 * SYNs beyond it is dropped and costs a 1 s SYN retransmission), then the load starts, runs -w
 * seconds of warm-up and -d seconds of measurement.  At the end every connection is aborted
 * (SO_LINGER 0: RST), so no TIME_WAIT is left to exhaust the next run's ports.
 *
 * With -P PID the client also samples, at exactly the window's edges, the scheduler runtime of
 * every thread of PID (the server) and of itself and of the ksoftirqd threads (precise), and
 * whole-VM busy time and the idle time of the server's CPU (-K) from /proc/stat (tick-sampled),
 * because on veth the kernel bills each side's receive work to the sending CPU.  -L PID adds a
 * process of the client's side to the client's time (cli_cpu_ns): with -X, the ixdpd it
 * connects through, whose worker does the client's TCP.
 *
 * Output: key=value lines on stdout (for bench/echo_rr.sh, bench/sink.sh and bench/pingpong.sh;
 * with -X also transport=ix), errors on stderr.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <linux/sockios.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "core/clock.h"
#include "ix/ix.h"

#define CLI_EVENTS 1024
#define CLI_BUF (256 * 1024)
#define CLI_HDR 8		/* request number at the start of every request */
#define CLI_CONNECT_TRIES 3
#define CLI_WAIT_MS 100		/* longest blocking wait: the loop checks its clock at least this often */
#define CLI_SOFTIRQD_MAX 64
#define CLI_IX_CHUNK 16384	/* -X: largest SEND, well under half of a worker's send area */
#define CLI_KV_KEYS 64		/* -M: keys of each connection (its own: no other one sets them) */
#define CLI_KV_LEN 32		/* -M: key and value length */
#define CLI_KV_MSG 128		/* -M: room for the longest request or answer (84 bytes) */

/* Latency histogram: exact below 128 ns, then 64 buckets per power of two (1.6 % wide). */
#define H_SUB_BITS 6
#define H_EXACT (1u << (H_SUB_BITS + 1))
#define H_MAX_SHIFT 34		/* values up to 2^41 ns, ~36 minutes */
#define H_BUCKETS (((H_MAX_SHIFT + 2) << H_SUB_BITS))

enum mode { MODE_RR, MODE_OPEN, MODE_BULK };
enum cstate { C_IDLE, C_CONNECTING, C_UP, C_DEAD };

struct opts {
	struct sockaddr_in dst;
	unsigned int conns;
	unsigned int depth;
	unsigned int size;
	unsigned int seconds;
	unsigned int warmup;
	unsigned int batch;
	unsigned int connect_s;
	unsigned int qmax;
	double rate;
	bool uniform;
	bool spin;
	bool ix;	/* -X: the libix transport */
	bool kv;	/* -M: memcached's text protocol instead of echo (see "kv" above) */
	enum mode mode;
	int cpu;
	int srv_pid;
	int app_pid;	/* an app serving through the server (ixdpd): its CPU counts as the server's */
	int local_pid;	/* -L: a process of the client's side (its ixdpd): counts as the client's */
	int srv_cpu;
};

struct conn {
	int fd;
	unsigned int id;
	enum cstate state;
	unsigned int tries;
	bool want_out;		/* EPOLLOUT is in the event mask */
	__u32 out;		/* requests queued or sent and not yet fully echoed */
	__u32 head;		/* ring index of the oldest one's start time */
	__u64 *ts;		/* start (closed loop) or due (open loop) time of each, ns */
	__u64 tx_queued;	/* bytes of the request stream queued so far */
	__u64 txc_req;		/* -M: the request stream_fill() is in ... */
	__u64 txc_start;	/* ... and the stream offset where it starts */
	__u64 tx_sent;		/* bytes of it written to the socket */
	__u64 rx_req;		/* number of the request being received */
	__u32 rx_off;		/* bytes of it received */
	__u64 acked0;		/* bulk: bytes acknowledged at the window's start */
	ix_handle_t h;		/* -X: the connection's handle (0: none) */
	__u32 ix_inflight;	/* -X: bytes of the SEND awaiting its RESULT */
	bool ix_blocked;	/* -X: the last SEND was taken in part: wait for SENT */
};

struct hist {
	__u64 n;
	__u64 sum;
	__u64 min;
	__u64 max;
	__u64 b[H_BUCKETS];
};

struct client;

/*
 * The transport seam: everything that differs between kernel sockets and libix connections.
 * @connect_all: open every connection (see connect_all()); the number up
 * @flush:       send what is queued on a connection, as far as it takes it; 0, or -1 (dead)
 * @poll:        wait at most @timeout ms for events and dispatch them (on_bytes() for echoed
 *               bytes); the number of events, or a negative errno
 * @abort_all:   reset every connection
 */
struct transport {
	unsigned int (*connect_all)(struct client *cl, unsigned int *errors, int *last_error);
	int (*flush)(struct client *cl, struct conn *c);
	int (*poll)(struct client *cl, int timeout);
	void (*abort_all)(struct client *cl);
};

struct client {
	struct opts o;
	const struct transport *t;
	int ep;
	struct epoll_event *kevs;	/* the load's epoll events: CLI_EVENTS of them */
	struct ix_ctx *ix;	/* -X */
	struct ix_event *ixevs;	/* -X: CLI_EVENTS of them */
	bool ix_retry;		/* -X: a connection found the send area full: retried after a batch */
	struct conn *c;
	__u32 qmask;
	char *buf;		/* receive buffer, and the scratch the send stream is built in */
	char *wbuf;
	bool measuring;
	struct hist lat;
	struct hist lag;	/* open loop: how late each request was written after it was due */
	__u64 done;		/* requests completed in the window */
	__u64 sent;		/* open loop: requests written in the window */
	__u64 overflow;		/* open loop: due requests dropped on a full connection */
	__u64 written;		/* bytes written in the window (request streams) */
	__u64 acked;		/* bulk: bytes the receiver acknowledged in the window */
	__u64 io_errors, mismatches, resets, eofs;
	__u64 kv_gets, kv_sets;	/* -M: completed in the window */
	__u64 rng;
	int softirqd[CLI_SOFTIRQD_MAX];
	unsigned int nr_softirqd;
};

/* --- histogram -------------------------------------------------------------------------------- */

static unsigned int h_index(__u64 v)
{
	unsigned int msb, shift, i;

	if (v < H_EXACT)
		return (unsigned int)v;
	msb = 63 - __builtin_clzll(v);
	shift = msb - H_SUB_BITS;
	i = ((shift + 1) << H_SUB_BITS) + ((v >> shift) & ((1u << H_SUB_BITS) - 1));
	return i < H_BUCKETS ? i : H_BUCKETS - 1;
}

/* The highest value bucket @i holds: percentiles are reported on the safe side. */
static __u64 h_upper(unsigned int i)
{
	unsigned int shift, sub;

	if (i < H_EXACT)
		return i;
	shift = (i >> H_SUB_BITS) - 1;
	sub = i & ((1u << H_SUB_BITS) - 1);
	return (((__u64)(1u << H_SUB_BITS) + sub + 1) << shift) - 1;
}

static void h_add(struct hist *h, __u64 v)
{
	h->b[h_index(v)]++;
	if (!h->n || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->n++;
	h->sum += v;
}

/* The value below which a fraction @q of the samples lie, in microseconds. */
static double h_pct_us(const struct hist *h, double q)
{
	__u64 want, seen = 0;
	unsigned int i;

	if (!h->n)
		return 0;
	want = (__u64)ceil(q * h->n);
	if (want < 1)
		want = 1;
	for (i = 0; i < H_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want)
			return (h->max < h_upper(i) ? h->max : h_upper(i)) / 1e3;
	}
	return h->max / 1e3;
}

/* --- CPU accounting --------------------------------------------------------------------------- */

/*
 * The ksoftirqd threads: softirq work the kernel defers to them (a busy NAPI, a long backlog)
 * is network work of the benchmark that neither the server nor the client is billed for.
 */
static void find_softirqd(struct client *cl)
{
	struct dirent *de;
	DIR *dir = opendir("/proc");

	if (!dir)
		return;
	while ((de = readdir(dir)) && cl->nr_softirqd < CLI_SOFTIRQD_MAX) {
		char file[300], comm[64] = "";
		FILE *f;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(file, sizeof(file), "/proc/%s/comm", de->d_name);
		f = fopen(file, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strncmp(comm, "ksoftirqd/", 10))
			cl->softirqd[cl->nr_softirqd++] = atoi(de->d_name);
		fclose(f);
	}
	closedir(dir);
}

/* The server (-P, and -A: the app it serves for) and its CPU (-K), the ksoftirqds, and -L. */
static int client_cpu_sample(struct client *cl, struct cpu_sample *s)
{
	__u64 app_ns = 0;
	int ret;

	ret = cpu_sample(s, cl->o.srv_pid, cl->o.srv_cpu, cl->softirqd, cl->nr_softirqd);
	if (!ret && cl->o.app_pid > 0)
		ret = proc_runtime_ns(cl->o.app_pid, &app_ns);
	s->peer_ns += app_ns;
	if (!ret && cl->o.local_pid > 0) {
		__u64 local_ns = 0;

		ret = proc_runtime_ns(cl->o.local_pid, &local_ns);
		s->self_ns += local_ns;
	}
	return ret;
}

/* --- the request stream ----------------------------------------------------------------------- */

static __u64 req_number(const struct conn *c, __u64 j)
{
	return ((__u64)c->id << 40) | j;
}

/*
 * Bytes [@from, @from + @len) of @c's request stream into @dst: request j occupies bytes
 * [j * size, (j + 1) * size), starts with its number (little endian) and is filled with 'x'.
 * Built on demand, so a connection needs no send buffer of its own.
 */
static void stream_fill(const struct client *cl, const struct conn *c, char *dst, __u64 from,
			size_t len)
{
	unsigned int size = cl->o.size;
	__u64 j = from / size;
	unsigned int off = from % size;
	size_t p = 0;

	while (p < len) {
		unsigned int take = size - off, k;
		__u64 num = req_number(c, j);

		if (take > len - p)
			take = len - p;
		for (k = off; k < off + take; k++)
			dst[p + k - off] = k < CLI_HDR ? (char)(num >> (8 * k)) : 'x';
		p += take;
		off = 0;
		j++;
	}
}

/*
 * -M (kv): request j of connection c.  The first CLI_KV_KEYS requests set each of the
 * connection's keys once (the warm-up sends them), then 10 % are sets and 90 % gets of one of
 * them, chosen by a hash of (c, j).  A key is "c<7 hex digits of c>-k<22 digits>" and its value
 * the same with a 'v' first: every get has exactly one right answer, and a miss or a wrong value
 * is a mismatch.
 */
static bool kv_is_set(const struct conn *c, __u64 j, unsigned int *key)
{
	__u64 h = (req_number(c, j) + 1) * 0x9e3779b97f4a7c15ull;

	h ^= h >> 29;
	if (j < CLI_KV_KEYS) {
		*key = (unsigned int)j;
		return true;
	}
	*key = (unsigned int)((h >> 8) % CLI_KV_KEYS);
	return h % 10 == 0;
}

static void kv_key(const struct conn *c, unsigned int key, char first, char *dst)
{
	char k[CLI_KV_LEN + 1];

	snprintf(k, sizeof(k), "c%07x-k%022u", c->id & 0xfffffff, key);
	k[0] = first;
	memcpy(dst, k, CLI_KV_LEN);
}

/* Request @j of @c into @dst (CLI_KV_MSG bytes); its answer into @ans if not NULL.  Lengths. */
static unsigned int kv_msg(const struct conn *c, __u64 j, char *dst, char *ans,
			   unsigned int *ans_len)
{
	unsigned int key, n;
	char k[CLI_KV_LEN], v[CLI_KV_LEN];

	if (kv_is_set(c, j, &key)) {
		kv_key(c, key, 'c', k);
		kv_key(c, key, 'v', v);
		n = (unsigned int)snprintf(dst, CLI_KV_MSG, "set %.32s 0 0 %u\r\n%.32s\r\n", k,
					   CLI_KV_LEN, v);
		if (ans)
			*ans_len = (unsigned int)snprintf(ans, CLI_KV_MSG, "STORED\r\n");
		return n;
	}
	kv_key(c, key, 'c', k);
	n = (unsigned int)snprintf(dst, CLI_KV_MSG, "get %.32s\r\n", k);
	if (ans) {
		kv_key(c, key, 'v', v);
		*ans_len = (unsigned int)snprintf(ans, CLI_KV_MSG, "VALUE %.32s 0 %u\r\n%.32s\r\nEND\r\n",
						  k, CLI_KV_LEN, v);
	}
	return n;
}

/* The length of request @j of @c: the echo's fixed size, or its kv message's. */
static unsigned int req_len(const struct client *cl, const struct conn *c, __u64 j)
{
	char m[CLI_KV_MSG];

	return cl->o.kv ? kv_msg(c, j, m, NULL, NULL) : cl->o.size;
}

/* -M: bytes [@from, @from + @len) of @c's stream of kv requests (@from only grows). */
static void kv_fill(struct conn *c, char *dst, __u64 from, size_t len)
{
	char m[CLI_KV_MSG];
	size_t p = 0;

	for (;;) {
		unsigned int n = kv_msg(c, c->txc_req, m, NULL, NULL), off, take;

		if (from + p >= c->txc_start + n) {	/* all of it already given out */
			c->txc_start += n;
			c->txc_req++;
			continue;
		}
		if (p == len)
			return;
		off = (unsigned int)(from + p - c->txc_start);
		take = n - off < len - p ? n - off : (unsigned int)(len - p);
		memcpy(dst + p, m + off, take);
		p += take;
	}
}

static void conn_dead(struct client *cl, struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	if (c->h)
		ix_close(cl->ix, c->h, 1); /* RST, as abort_all: nothing is left behind */
	c->fd = -1;
	c->h = 0;
	c->state = C_DEAD;
	c->out = 0;
}

static int conn_events(struct client *cl, struct conn *c, __u32 events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	return epoll_ctl(cl->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/**
 * conn_flush - write what is queued on @c, as far as its socket takes it.
 * @cl: client
 * @c:  connection
 *
 * Arms EPOLLOUT while bytes remain and disarms it once they are gone.
 * Return: 0, or -1 when the connection failed (it is dead then).
 */
static int conn_flush(struct client *cl, struct conn *c)
{
	while (c->tx_sent < c->tx_queued) {
		size_t len = c->tx_queued - c->tx_sent;
		ssize_t n;

		if (len > CLI_BUF)
			len = CLI_BUF;
		if (cl->o.kv)
			kv_fill(c, cl->wbuf, c->tx_sent, len);
		else
			stream_fill(cl, c, cl->wbuf, c->tx_sent, len);
		n = write(c->fd, cl->wbuf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			if (errno == ECONNRESET || errno == EPIPE)
				cl->resets++;
			else
				cl->io_errors++;
			conn_dead(cl, c);
			return -1;
		}
		c->tx_sent += n;
		if (cl->measuring)
			cl->written += n;
	}
	if ((c->tx_sent < c->tx_queued) != c->want_out) {
		c->want_out = !c->want_out;
		if (conn_events(cl, c, EPOLLIN | (c->want_out ? EPOLLOUT : 0))) {
			cl->io_errors++;
			conn_dead(cl, c);
			return -1;
		}
	}
	return 0;
}

/* Queue one request on @c that started (or was due) at @t. */
static void conn_queue(struct client *cl, struct conn *c, __u64 t)
{
	c->ts[(c->head + c->out) & cl->qmask] = t;
	c->tx_queued += req_len(cl, c, c->rx_req + c->out);
	c->out++;
}

/**
 * conn_recv - account the answered bytes @buf[0..@n) of @c, completing requests (echo_recv(),
 * or kv_recv() with -M).
 * @cl:  client
 * @c:   connection
 * @buf: bytes read
 * @n:   how many
 * @now: when they were read
 *
 * Checks every request's number against the one expected next.
 * Return: 0, or -1 on a mismatch or more bytes than were sent.
 */
/* -M: as conn_recv(): each answer must be the one its request has (kv_msg()). */
static int kv_recv(struct client *cl, struct conn *c, const unsigned char *buf, size_t n,
		   __u64 now)
{
	char m[CLI_KV_MSG], ans[CLI_KV_MSG];
	size_t i = 0;

	while (i < n) {
		unsigned int len, take, key;

		if (!c->out)
			return -1; /* an answer to nothing */
		kv_msg(c, c->rx_req, m, ans, &len);
		take = len - c->rx_off < n - i ? len - c->rx_off : (unsigned int)(n - i);
		if (memcmp(buf + i, ans + c->rx_off, take))
			return -1;
		i += take;
		c->rx_off += take;
		if (c->rx_off < len)
			break;
		if (cl->measuring) {
			h_add(&cl->lat, now - c->ts[c->head]);
			cl->done++;
			if (kv_is_set(c, c->rx_req, &key))
				cl->kv_sets++;
			else
				cl->kv_gets++;
		}
		c->head = (c->head + 1) & cl->qmask;
		c->out--;
		c->rx_off = 0;
		c->rx_req++;
	}
	return 0;
}

static int echo_recv(struct client *cl, struct conn *c, const unsigned char *buf, size_t n,
		     __u64 now)
{
	unsigned int size = cl->o.size, hdr = size < CLI_HDR ? size : CLI_HDR;
	size_t i = 0;

	while (i < n) {
		if (!c->out)
			return -1; /* an echo of something never sent */
		if (c->rx_off < hdr) {
			__u64 num = req_number(c, c->rx_req);

			if (buf[i] != (unsigned char)(num >> (8 * c->rx_off)))
				return -1;
			i++;
			c->rx_off++;
		} else {
			size_t take = size - c->rx_off;

			if (take > n - i)
				take = n - i;
			i += take;
			c->rx_off += take;
		}
		if (c->rx_off == size) {
			if (cl->measuring) {
				h_add(&cl->lat, now - c->ts[c->head]);
				cl->done++;
			}
			c->head = (c->head + 1) & cl->qmask;
			c->out--;
			c->rx_off = 0;
			c->rx_req++;
		}
	}
	return 0;
}

static int conn_recv(struct client *cl, struct conn *c, const unsigned char *buf, size_t n,
		     __u64 now)
{
	if (cl->o.kv)
		return kv_recv(cl, c, buf, n, now);
	return echo_recv(cl, c, buf, n, now);
}

/* --- connecting ------------------------------------------------------------------------------- */

static int conn_start(struct client *cl, struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
	int one = 1;

	c->tries++;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		goto fail;
	if (connect(c->fd, (const struct sockaddr *)&cl->o.dst, sizeof(cl->o.dst)) &&
	    errno != EINPROGRESS)
		goto fail;
	if (epoll_ctl(cl->ep, EPOLL_CTL_ADD, c->fd, &ev))
		goto fail;
	c->state = C_CONNECTING;
	return 0;
fail:
	one = -errno;
	close(c->fd);
	c->fd = -1;
	return one;
}

/**
 * connect_all - open every connection, at most o.batch in progress at once.
 * @cl:         client
 * @errors:     out: connections that failed for good
 * @last_error: out: the errno of the last failure
 *
 * A connection that fails is tried again, CLI_CONNECT_TRIES times in all; the whole phase is
 * bounded by o.connect_s seconds.
 * Return: the number of connections up.
 */
static unsigned int connect_all(struct client *cl, unsigned int *errors, int *last_error)
{
	struct epoll_event *evs = (struct epoll_event *)cl->buf;
	__u64 deadline = clock_now_ns() + cl->o.connect_s * 1000000000ull;
	unsigned int next = 0, inflight = 0, up = 0, failed = 0, i;
	unsigned int *retry = calloc(cl->o.conns, sizeof(*retry)), nr_retry = 0;

	if (!retry) {
		*errors = cl->o.conns;
		*last_error = ENOMEM;
		return 0;
	}
	while (up + failed < cl->o.conns && !stop && clock_now_ns() < deadline) {
		int n;

		while (inflight < cl->o.batch && (nr_retry || next < cl->o.conns)) {
			struct conn *c = &cl->c[nr_retry ? retry[--nr_retry] : next++];
			int ret = conn_start(cl, c);

			if (!ret) {
				inflight++;
			} else if (c->tries >= CLI_CONNECT_TRIES) {
				c->state = C_DEAD;
				*last_error = -ret;
				failed++;
			} else {
				retry[nr_retry++] = c->id;
			}
		}
		n = epoll_wait(cl->ep, evs, CLI_EVENTS, CLI_WAIT_MS);
		if (n < 0 && errno != EINTR) {
			*last_error = errno;
			break;
		}
		for (i = 0; i < (unsigned int)(n > 0 ? n : 0); i++) {
			struct conn *c = evs[i].data.ptr;
			socklen_t len = sizeof(int);
			int err = 0;

			if (c->state != C_CONNECTING)
				continue;
			inflight--;
			if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len))
				err = errno;
			if (!err && !conn_events(cl, c, EPOLLIN)) {
				c->state = C_UP;
				up++;
				continue;
			}
			*last_error = err ? err : errno;
			close(c->fd); /* drops it from the epoll set */
			c->fd = -1;
			if (c->tries >= CLI_CONNECT_TRIES) {
				c->state = C_DEAD;
				failed++;
			} else {
				c->state = C_IDLE;
				retry[nr_retry++] = c->id;
			}
		}
	}
	/* Whatever is still connecting when time is up has failed. */
	for (i = 0; i < cl->o.conns; i++) {
		if (cl->c[i].state == C_CONNECTING || cl->c[i].state == C_IDLE) {
			if (cl->c[i].state == C_CONNECTING)
				*last_error = ETIMEDOUT;
			conn_dead(cl, &cl->c[i]);
			failed++;
		}
	}
	free(retry);
	*errors = failed;
	return up;
}

/* --- the load ---------------------------------------------------------------------------------- */

/* xorshift64*: a cheap, seeded generator for the arrival times (reproducible runs). */
static double rnd_unit(struct client *cl)
{
	__u64 x = cl->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	cl->rng = x;
	return ((x * 0x2545F4914F6CDD1Dull) >> 11) * (1.0 / 9007199254740992.0);
}

static __u64 next_gap_ns(struct client *cl)
{
	double mean = 1e9 / cl->o.rate;

	if (cl->o.uniform)
		return (__u64)mean;
	/* exponential: 1 - U is in (0, 1], so the log is finite */
	return (__u64)(-log(1.0 - rnd_unit(cl)) * mean);
}

/*
 * Bytes @buf[0..@n) echoed on @c, whichever transport read them: checked and timed (the clock
 * is read here, after the transport handed them over), and in closed loop the requests they
 * completed are replaced.
 */
static void on_bytes(struct client *cl, struct conn *c, const void *buf, size_t n)
{
	__u64 now;

	if (cl->o.mode == MODE_BULK) {
		cl->mismatches++; /* a sink sends nothing back */
		conn_dead(cl, c);
		return;
	}
	now = clock_now_ns();
	if (conn_recv(cl, c, buf, n, now)) {
		cl->mismatches++;
		conn_dead(cl, c);
		return;
	}
	if (cl->o.mode != MODE_RR)
		return;
	while (c->out < cl->o.depth)
		conn_queue(cl, c, now);
	cl->t->flush(cl, c);
}

/* Readable (or failed) connection: one read per event, as the echo server does. */
static void on_readable(struct client *cl, struct conn *c)
{
	ssize_t n = read(c->fd, cl->buf, CLI_BUF);

	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n == 0)
			cl->eofs++;
		else if (errno == ECONNRESET)
			cl->resets++;
		else
			cl->io_errors++;
		conn_dead(cl, c);
		return;
	}
	on_bytes(cl, c, cl->buf, n);
}

/* Bulk: bytes the receiver has acknowledged on @c (written minus not yet acked). */
static __u64 conn_acked(struct conn *c)
{
	int outq = 0;

	if (c->state != C_UP || ioctl(c->fd, SIOCOUTQ, &outq) || outq < 0)
		return c->tx_sent;
	return c->tx_sent - (__u64)outq;
}

/*
 * Bulk: write S-byte chunks until the socket is full, at most 16 per event so one connection
 * cannot hold the loop.  EPOLLOUT stays armed (level-triggered) for the whole run, so the
 * socket is reported again as soon as it has room, or at once if it still had room.
 */
static void bulk_write(struct client *cl, struct conn *c)
{
	int k;

	for (k = 0; k < 16; k++) {
		ssize_t n = write(c->fd, cl->wbuf, cl->o.size);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			if (errno == ECONNRESET || errno == EPIPE)
				cl->resets++;
			else
				cl->io_errors++;
			conn_dead(cl, c);
			return;
		}
		c->tx_sent += n;
	}
}

/*
 * The kernel transport's wait: epoll_wait, then each ready socket read (one read per event) and
 * written.  Return: the number of events (0 after EINTR), or a negative errno.
 */
static int kern_poll(struct client *cl, int timeout)
{
	struct epoll_event *evs = cl->kevs;
	int n = epoll_wait(cl->ep, evs, CLI_EVENTS, timeout);
	unsigned int i;

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < (unsigned int)n; i++) {
		struct conn *c = evs[i].data.ptr;

		if (c->state != C_UP)
			continue;
		if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
			on_readable(cl, c);
		if (c->state != C_UP || !(evs[i].events & EPOLLOUT))
			continue;
		if (cl->o.mode == MODE_BULK)
			bulk_write(cl, c);
		else
			conn_flush(cl, c);
	}
	return n;
}

/**
 * run_load - the warm-up and the measured window.
 * @cl: client, connections up
 * @s0: out: CPU sample at the window's start
 * @s1: out: CPU sample at its end
 *
 * Return: 0, or a negative errno when sampling or epoll failed.
 */
static int run_load(struct client *cl, struct cpu_sample *s0, struct cpu_sample *s1)
{
	__u64 now = clock_now_ns(), win0 = now + cl->o.warmup * 1000000000ull;
	__u64 win1 = win0 + cl->o.seconds * 1000000000ull, next_due = now, rr = 0;
	bool started = false;
	unsigned int i;
	int ret = 0;

	for (i = 0; i < cl->o.conns; i++) {
		struct conn *c = &cl->c[i];

		if (c->state != C_UP)
			continue;
		if (cl->o.mode == MODE_RR) {
			while (c->out < cl->o.depth)
				conn_queue(cl, c, now);
			cl->t->flush(cl, c);
		} else if (cl->o.mode == MODE_BULK) {
			if (conn_events(cl, c, EPOLLIN | EPOLLOUT)) {
				cl->io_errors++;
				conn_dead(cl, c);
			}
		}
	}
	while (!stop) {
		int n, timeout = 0;

		now = clock_now_ns();
		if (!started && now >= win0) {
			ret = client_cpu_sample(cl, s0);
			if (ret)
				break;
			if (cl->o.mode == MODE_BULK)
				for (i = 0; i < cl->o.conns; i++)
					cl->c[i].acked0 = conn_acked(&cl->c[i]);
			cl->measuring = true;
			started = true;
		}
		if (now >= win1) {
			__u64 acked = 0;

			/* bulk: the acked bytes are read before the sample, the rates over its window */
			if (cl->o.mode == MODE_BULK)
				for (i = 0; i < cl->o.conns; i++)
					acked += conn_acked(&cl->c[i]) - cl->c[i].acked0;
			ret = client_cpu_sample(cl, s1);
			cl->measuring = false;
			cl->acked = acked;
			break;
		}
		if (cl->o.mode == MODE_OPEN) {
			/* Everything that has come due goes out now, stamped with when it was due. */
			while (next_due <= now) {
				struct conn *c = &cl->c[rr++ % cl->o.conns];

				if (c->state != C_UP || c->out >= cl->o.qmax) {
					if (cl->measuring)
						cl->overflow++;
				} else {
					conn_queue(cl, c, next_due);
					if (cl->measuring) {
						cl->sent++;
						h_add(&cl->lag, now - next_due);
					}
					cl->t->flush(cl, c);
				}
				next_due += next_gap_ns(cl);
			}
		} else if (!cl->o.spin || cl->o.ix) { /* -X: ix_poll spins (see the header) */
			__u64 left = (started ? win1 : win0) - now;

			timeout = left / 1000000 + 1;
			if (timeout > CLI_WAIT_MS)
				timeout = CLI_WAIT_MS;
		}
		n = cl->t->poll(cl, timeout);
		if (n < 0) {
			ret = n;
			break;
		}
	}
	return ret;
}

/* Abort every connection: a RST leaves no TIME_WAIT behind on either side. */
static void abort_all(struct client *cl)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	unsigned int i;

	for (i = 0; i < cl->o.conns; i++) {
		struct conn *c = &cl->c[i];

		if (c->fd < 0)
			continue;
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(c->fd);
		c->fd = -1;
	}
}

static const struct transport kern_transport = {
	.connect_all = connect_all,
	.flush = conn_flush,
	.poll = kern_poll,
	.abort_all = abort_all,
};

/* --- the libix transport (-X) ------------------------------------------------------------------ */

/* A failed libix command or connection: counted as the kernel path counts its errnos. */
static void ix_count_error(struct client *cl, int err)
{
	if (err == -ECONNRESET || err == -EPIPE)
		cl->resets++;
	else
		cl->io_errors++;
}

/**
 * ixt_flush - send what is queued on @c through libix, one SEND in flight at a time.
 * @cl: client
 * @c:  connection
 *
 * The bytes are built in place (ix_tx_alloc) from the request stream, as the kernel path builds
 * them for write().  The SEND's RESULT says how many the connection took: tx_sent advances
 * then, and a short one waits for SENT (ixt_poll).  A full send area is retried after the
 * next batch of events.
 * Return: 0, or -1 when the connection failed (it is dead then).
 */
static int ixt_flush(struct client *cl, struct conn *c)
{
	size_t len = c->tx_queued - c->tx_sent;
	char *buf;
	long ret;

	if (c->ix_inflight || c->ix_blocked || !len)
		return 0;
	if (len > CLI_IX_CHUNK)
		len = CLI_IX_CHUNK;
	buf = ix_tx_alloc(cl->ix, c->h, len);
	if (!buf) {
		ret = -errno;
		goto fail;
	}
	stream_fill(cl, c, buf, c->tx_sent, len);
	ret = ix_send(cl->ix, c->h, buf, len);
	if (ret < 0)
		goto fail;
	c->ix_inflight = len;
	c->want_out = false;
	return 0;
fail:
	if (ret == -EAGAIN) {
		c->want_out = true;
		cl->ix_retry = true;
		return 0;
	}
	ix_count_error(cl, ret);
	conn_dead(cl, c);
	return -1;
}

/* The connection an event of the load is about, or NULL (a stale event of one closed since). */
static struct conn *ixt_conn(struct client *cl, const struct ix_event *e)
{
	struct conn *c;

	if (!e->cookie || e->cookie > cl->o.conns)
		return NULL;
	c = &cl->c[e->cookie - 1];
	return c->state == C_UP && c->h == e->handle ? c : NULL;
}

static void ixt_event(struct client *cl, const struct ix_event *e)
{
	struct conn *c = ixt_conn(cl, e);

	if (!c) {
		/* a connection given up on that came up late: not ours to keep */
		if (e->type == IX_EV_CONNECTED && !e->err && e->handle)
			ix_close(cl->ix, e->handle, 1);
		return;
	}
	switch (e->type) {
	case IX_EV_RECV:
		if (!e->len) {
			cl->eofs++;
			conn_dead(cl, c);
			return;
		}
		on_bytes(cl, c, e->data, e->len);
		if (c->state == C_UP)
			ix_recv_done(cl->ix, c->h, e->len);
		return;
	case IX_EV_RESULT:
		if (e->err) {
			ix_count_error(cl, e->err);
			conn_dead(cl, c);
			return;
		}
		if (e->op != IX_OP_SEND)
			return;
		c->tx_sent += e->len;
		if (cl->measuring)
			cl->written += e->len;
		c->ix_blocked = e->len < c->ix_inflight;
		c->ix_inflight = 0;
		ixt_flush(cl, c);
		return;
	case IX_EV_SENT:
		c->ix_blocked = false;
		ixt_flush(cl, c);
		return;
	case IX_EV_DEAD:
		ix_count_error(cl, e->err);
		conn_dead(cl, c); /* its ix_close() */
		return;
	}
}

/*
 * The libix transport's wait: ix_poll (which also publishes the commands queued since the last
 * one), every event dispatched, then the connections that found the send area full.
 * Return: the number of events, or a negative errno (-ECONNRESET: the daemon went away).
 */
static int ixt_poll(struct client *cl, int timeout)
{
	int n = ix_poll(cl->ix, cl->ixevs, CLI_EVENTS, timeout), i;
	unsigned int k;

	if (n < 0)
		return n;
	for (i = 0; i < n; i++)
		ixt_event(cl, &cl->ixevs[i]);
	if (cl->ix_retry) {
		cl->ix_retry = false;
		for (k = 0; k < cl->o.conns; k++)
			if (cl->c[k].state == C_UP && cl->c[k].want_out)
				ixt_flush(cl, &cl->c[k]);
	}
	return n;
}

/**
 * ixt_connect_all - open every connection through libix, at most o.batch in progress at once.
 * @cl:         client, attached
 * @errors:     out: connections that failed for good
 * @last_error: out: the errno of the last failure
 *
 * As connect_all(): CLI_CONNECT_TRIES tries each, o.connect_s seconds for the whole phase.  The
 * cookie of connection i is i + 1.
 * Return: the number of connections up.
 */
static unsigned int ixt_connect_all(struct client *cl, unsigned int *errors, int *last_error)
{
	struct ix_addr to = { .family = AF_INET, .port = ntohs(cl->o.dst.sin_port),
			      .v4 = cl->o.dst.sin_addr };
	__u64 deadline = clock_now_ns() + cl->o.connect_s * 1000000000ull;
	unsigned int next = 0, inflight = 0, up = 0, failed = 0, i;
	unsigned int *retry = calloc(cl->o.conns, sizeof(*retry)), nr_retry = 0;

	if (!retry) {
		*errors = cl->o.conns;
		*last_error = ENOMEM;
		return 0;
	}
	while (up + failed < cl->o.conns && !stop && clock_now_ns() < deadline) {
		int n;

		while (inflight < cl->o.batch && (nr_retry || next < cl->o.conns)) {
			struct conn *c = &cl->c[nr_retry ? retry[--nr_retry] : next++];
			long ret;

			c->tries++;
			ret = ix_connect(cl->ix, &to, c->id + 1);
			if (ret >= 0) {
				c->state = C_CONNECTING;
				inflight++;
			} else if (c->tries >= CLI_CONNECT_TRIES) {
				c->state = C_DEAD;
				*last_error = -ret;
				failed++;
			} else {
				retry[nr_retry++] = c->id;
			}
		}
		n = ix_poll(cl->ix, cl->ixevs, CLI_EVENTS, CLI_WAIT_MS);
		if (n < 0) {
			*last_error = -n;
			break;
		}
		for (i = 0; i < (unsigned int)n; i++) {
			const struct ix_event *e = &cl->ixevs[i];
			struct conn *c = e->cookie && e->cookie <= cl->o.conns ?
					 &cl->c[e->cookie - 1] : NULL;

			if (e->type != IX_EV_CONNECTED)
				continue;
			if (!c || c->state != C_CONNECTING) {
				if (!e->err && e->handle)
					ix_close(cl->ix, e->handle, 1);
				continue;
			}
			inflight--;
			if (!e->err) {
				c->h = e->handle;
				c->state = C_UP;
				up++;
				continue;
			}
			*last_error = -e->err;
			if (c->tries >= CLI_CONNECT_TRIES) {
				c->state = C_DEAD;
				failed++;
			} else {
				c->state = C_IDLE;
				retry[nr_retry++] = c->id;
			}
		}
	}
	for (i = 0; i < cl->o.conns; i++) {
		if (cl->c[i].state == C_CONNECTING || cl->c[i].state == C_IDLE) {
			if (cl->c[i].state == C_CONNECTING)
				*last_error = ETIMEDOUT;
			conn_dead(cl, &cl->c[i]);
			failed++;
		}
	}
	free(retry);
	*errors = failed;
	return up;
}

/* Reset every connection and publish it; ix_detach() (client_free) resets what is left. */
static void ixt_abort_all(struct client *cl)
{
	unsigned int i;

	for (i = 0; i < cl->o.conns; i++) {
		struct conn *c = &cl->c[i];

		if (!c->h)
			continue;
		ix_close(cl->ix, c->h, 1);
		c->h = 0;
	}
	ix_flush(cl->ix);
}

static const struct transport ix_transport = {
	.connect_all = ixt_connect_all,
	.flush = ixt_flush,
	.poll = ixt_poll,
	.abort_all = ixt_abort_all,
};

static void ixt_log(int level, const char *msg, void *arg)
{
	fprintf(stderr, "rr_client: libix: %s\n", msg);
}

/* --- setup ------------------------------------------------------------------------------------- */

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [options]\n"
		"  -a ADDR     server IPv4 address (default 198.18.0.1)\n"
		"  -p PORT     server TCP port (default 7000)\n"
		"  -c N        connections (default 64)\n"
		"  -D N        requests in flight per connection, closed loop (default 1)\n"
		"  -s BYTES    request size (default 64; bulk: write size, default 65536)\n"
		"  -d SECONDS  measured window (default 5)\n"
		"  -w SECONDS  warm-up before it, not measured (default 1)\n"
		"  -R RATE     open loop: requests/s in total, Poisson arrivals\n"
		"  -U          open loop: evenly spaced arrivals instead\n"
		"  -Q N        open loop: most requests in flight per connection (default 64)\n"
		"  -B          bulk: stream into a sink, report Gbit/s\n"
		"  -S          busy-poll in closed loop too (open loop always does)\n"
		"  -C CPU      pin to this CPU\n"
		"  -b N        connections being opened at once (default 128)\n"
		"  -T SECONDS  time allowed for opening them all (default 60)\n"
		"  -P PID      server process whose CPU time to report over the window\n"
		"  -A PID      an app process whose CPU time is added to the server's\n"
		"  -K CPU      the server's CPU, whose idle time to report\n"
		"  -L PID      a process whose CPU time is added to the client's (with -X: its ixdpd)\n"
		"  -X          connect through libix, to the ixdpd at $IXDP_CONTROL (closed loop only:\n"
		"              not with -R or -B; implies -S: ix_poll spins, IXDP_SPIN_US 1000000\n"
		"              unless set)\n"
		"  -M          kv: memcached's text protocol (32-byte keys and values, 90 %% get,\n"
		"              10 %% set, each get checked against the value set) instead of echo\n",
		prog);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	bool size_set = false;
	int opt;
	long v;

	*o = (struct opts){
		.conns = 64, .depth = 1, .size = 64, .seconds = 5, .warmup = 1, .batch = 128,
		.connect_s = 60, .qmax = 64, .cpu = -1, .srv_pid = 0, .srv_cpu = -1,
	};
	service_init(&o->dst);
	while ((opt = getopt(argc, argv, "a:p:c:D:s:d:w:R:UQ:BSC:b:T:P:A:K:L:XMh")) != -1) {
		switch (opt) {
		case 'a':
			if (inet_pton(AF_INET, optarg, &o->dst.sin_addr) != 1)
				return -1;
			break;
		case 'p':
			if (port_opt(optarg, &o->dst))
				return -1;
			break;
		case 'c':
			if (num_opt(optarg, 1, 1000000, &v))
				return -1;
			o->conns = v;
			break;
		case 'D':
			if (num_opt(optarg, 1, 65536, &v))
				return -1;
			o->depth = v;
			break;
		case 's':
			if (num_opt(optarg, 1, CLI_BUF, &v))
				return -1;
			o->size = v;
			size_set = true;
			break;
		case 'd':
			if (num_opt(optarg, 1, 3600, &v))
				return -1;
			o->seconds = v;
			break;
		case 'w':
			if (num_opt(optarg, 0, 3600, &v))
				return -1;
			o->warmup = v;
			break;
		case 'R':
			o->rate = strtod(optarg, NULL);
			if (!(o->rate >= 1 && o->rate <= 1e8))
				return -1;
			o->mode = MODE_OPEN;
			break;
		case 'U':
			o->uniform = true;
			break;
		case 'Q':
			if (num_opt(optarg, 1, 65536, &v))
				return -1;
			o->qmax = v;
			break;
		case 'B':
			o->mode = MODE_BULK;
			break;
		case 'S':
			o->spin = true;
			break;
		case 'C':
			if (num_opt(optarg, 0, 4095, &v))
				return -1;
			o->cpu = v;
			break;
		case 'b':
			if (num_opt(optarg, 1, 100000, &v))
				return -1;
			o->batch = v;
			break;
		case 'T':
			if (num_opt(optarg, 1, 3600, &v))
				return -1;
			o->connect_s = v;
			break;
		case 'P':
			if (num_opt(optarg, 1, 1 << 30, &v))
				return -1;
			o->srv_pid = v;
			break;
		case 'A':
			if (num_opt(optarg, 1, 1 << 30, &v))
				return -1;
			o->app_pid = v;
			break;
		case 'K':
			if (num_opt(optarg, 0, 4095, &v))
				return -1;
			o->srv_cpu = v;
			break;
		case 'L':
			if (num_opt(optarg, 1, 1 << 30, &v))
				return -1;
			o->local_pid = v;
			break;
		case 'X':
			o->ix = true;
			break;
		case 'M':
			o->kv = true;
			break;
		default:
			return -1;
		}
	}
	if (o->mode == MODE_BULK && !size_set)
		o->size = 65536;
	if (o->mode == MODE_OPEN && o->rate <= 0)
		return -1;
	if (o->ix && o->mode != MODE_RR) {
		fprintf(stderr, "rr_client: -X runs the closed loop only (no -R, no -B)\n");
		return -1;
	}
	if (o->kv && (o->ix || o->mode == MODE_BULK)) {
		fprintf(stderr, "rr_client: -M is for kernel sockets, closed or open loop\n");
		return -1;
	}
	if (o->ix)
		o->spin = true; /* ix_poll's own spin, through the loop's waits: see the header */
	return optind == argc ? 0 : -1;
}

static __u32 pow2_at_least(__u32 n)
{
	__u32 p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

/* Enough fds for @conns connections (the hard limit is 20,000 here, not raisable). */
static int nofile_for(unsigned int conns)
{
	struct rlimit rl;
	int ret;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	ret = raise_nofile(&rl);
	if (ret)
		return ret;
	if (rl.rlim_cur < (rlim_t)conns + 16) {
		fprintf(stderr, "rr_client: %u connections need %u fds, the limit is %llu\n", conns,
			conns + 16, (unsigned long long)rl.rlim_cur);
		return -EMFILE;
	}
	return 0;
}

static void report(const struct client *cl, unsigned int up, unsigned int cerr, int cerrno,
		   __u64 connect_ns, const struct cpu_sample *s0, const struct cpu_sample *s1)
{
	const char *mode[] = { "rr", "open", "bulk" };
	__u64 win = s1->mono_ns - s0->mono_ns;
	double secs = win / 1e9;

	printf("mode=%s\nconns=%u\nconnected=%u\nconnect_errors=%u\nconnect_errno=%s\n"
	       "connect_ms=%.0f\ndepth=%u\nsize=%u\nwarmup_s=%u\nwindow_ns=%llu\n",
	       mode[cl->o.mode], cl->o.conns, up, cerr, cerrno ? strerror(cerrno) : "none",
	       connect_ns / 1e6, cl->o.mode == MODE_OPEN ? cl->o.qmax : cl->o.depth, cl->o.size,
	       cl->o.warmup, (unsigned long long)win);
	if (cl->o.mode == MODE_BULK) {
		printf("bytes=%llu\ngbps=%.4f\n", (unsigned long long)cl->acked,
		       secs > 0 ? cl->acked * 8 / secs / 1e9 : 0.0);
	} else {
		printf("requests=%llu\nrps=%.0f\n", (unsigned long long)cl->done,
		       secs > 0 ? cl->done / secs : 0.0);
		printf("lat_mean_us=%.2f\nlat_min_us=%.2f\np50_us=%.2f\np90_us=%.2f\np99_us=%.2f\n"
		       "p999_us=%.2f\nlat_max_us=%.2f\n",
		       cl->lat.n ? cl->lat.sum / 1e3 / cl->lat.n : 0.0, cl->lat.min / 1e3,
		       h_pct_us(&cl->lat, 0.5), h_pct_us(&cl->lat, 0.9), h_pct_us(&cl->lat, 0.99),
		       h_pct_us(&cl->lat, 0.999), cl->lat.max / 1e3);
	}
	if (cl->o.ix)
		printf("transport=ix\n");
	if (cl->o.kv)
		printf("gets=%llu\nsets=%llu\ngets_per_s=%.0f\n", (unsigned long long)cl->kv_gets,
		       (unsigned long long)cl->kv_sets, secs > 0 ? cl->kv_gets / secs : 0.0);
	if (cl->o.mode == MODE_OPEN)
		printf("offered_rps=%.0f\nsent_rps=%.0f\noverflow=%llu\nlag_p99_us=%.2f\n"
		       "lag_max_us=%.2f\n", cl->o.rate, secs > 0 ? cl->sent / secs : 0.0,
		       (unsigned long long)cl->overflow, h_pct_us(&cl->lag, 0.99),
		       cl->lag.max / 1e3);
	printf("errors=%llu\nio_errors=%llu\nmismatches=%llu\nresets=%llu\neofs=%llu\n",
	       (unsigned long long)(cl->io_errors + cl->mismatches + cl->resets + cl->eofs + cerr),
	       (unsigned long long)cl->io_errors, (unsigned long long)cl->mismatches,
	       (unsigned long long)cl->resets, (unsigned long long)cl->eofs);
	printf("vm_busy_ns=%llu\nsrv_cpu_ns=%llu\ncli_cpu_ns=%llu\nsoftirqd_ns=%llu\n"
	       "srv_cpu_idle_ns=%llu\ncli_cpu=%d\nsrv_cpu=%d\n",
	       (unsigned long long)(s1->vm_busy_ns - s0->vm_busy_ns),
	       (unsigned long long)(s1->peer_ns - s0->peer_ns),
	       (unsigned long long)(s1->self_ns - s0->self_ns),
	       (unsigned long long)(s1->extra_ns - s0->extra_ns),
	       (unsigned long long)(s1->peer_idle_ns - s0->peer_idle_ns), cl->o.cpu, cl->o.srv_cpu);
}

/* Everything main() allocated (the error paths exit without it: the process is ending). */
static void client_free(struct client *cl)
{
	unsigned int i;

	for (i = 0; cl->c && i < cl->o.conns; i++)
		free(cl->c[i].ts);
	free(cl->c);
	free(cl->buf);
	free(cl->wbuf);
	free(cl->kevs);
	free(cl->ixevs);
	if (cl->ix)
		ix_detach(cl->ix);
	if (cl->ep >= 0)
		close(cl->ep);
	free(cl);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct cpu_sample s0 = { 0 }, s1 = { 0 };
	unsigned int i, up, cerr = 0;
	int ret, cerrno = 0;
	struct client *cl;
	__u64 t0;

	cl = calloc(1, sizeof(*cl));
	if (!cl) {
		fprintf(stderr, "rr_client: out of memory\n");
		return 1;
	}
	if (parse_opts(argc, argv, &cl->o)) {
		usage(argv[0]);
		return 2;
	}
	ret = nofile_for(cl->o.conns);
	if (ret) {
		fprintf(stderr, "rr_client: RLIMIT_NOFILE: %s\n", strerror(-ret));
		return 1;
	}
	if (cl->o.cpu >= 0) {
		ret = pin_cpu(cl->o.cpu);
		if (ret) {
			fprintf(stderr, "rr_client: pin: %s\n", strerror(-ret));
			return 1;
		}
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	find_softirqd(cl);
	cl->rng = 0x9E3779B97F4A7C15ull;
	cl->qmask = pow2_at_least(cl->o.mode == MODE_OPEN ? cl->o.qmax : cl->o.depth) - 1;
	cl->buf = malloc(CLI_BUF);
	cl->wbuf = malloc(CLI_BUF);
	if (cl->wbuf)
		memset(cl->wbuf, 'x', CLI_BUF); /* bulk writes it as it is */
	cl->c = calloc(cl->o.conns, sizeof(*cl->c));
	cl->kevs = calloc(CLI_EVENTS, sizeof(*cl->kevs));
	cl->ep = epoll_create1(EPOLL_CLOEXEC);
	if (!cl->buf || !cl->wbuf || !cl->c || !cl->kevs || cl->ep < 0) {
		fprintf(stderr, "rr_client: setup: %s\n", strerror(cl->ep < 0 ? errno : ENOMEM));
		return 1;
	}
	cl->t = &kern_transport;
	if (cl->o.ix) {
		ix_set_log(ixt_log, NULL);
		setenv("IXDP_SPIN_US", "1000000", 0); /* spin through every wait: the header */
		cl->ixevs = calloc(CLI_EVENTS, sizeof(*cl->ixevs));
		if (!cl->ixevs) {
			fprintf(stderr, "rr_client: out of memory\n");
			return 1;
		}
		ret = ix_attach(NULL, &cl->ix);
		if (ret) {
			fprintf(stderr, "rr_client: cannot attach to ixdpd at %s: %s\n",
				getenv("IXDP_CONTROL") ? getenv("IXDP_CONTROL") : IX_CONTROL_DEFAULT,
				strerror(-ret));
			return 1;
		}
		cl->t = &ix_transport;
	}
	for (i = 0; i < cl->o.conns; i++) {
		cl->c[i].fd = -1;
		cl->c[i].id = i;
		if (cl->o.mode != MODE_BULK) {
			cl->c[i].ts = malloc((cl->qmask + 1) * sizeof(__u64));
			if (!cl->c[i].ts) {
				fprintf(stderr, "rr_client: out of memory\n");
				return 1;
			}
		}
	}

	t0 = clock_now_ns();
	up = cl->t->connect_all(cl, &cerr, &cerrno);
	t0 = clock_now_ns() - t0;
	if (!up) {
		fprintf(stderr, "rr_client: no connection to %s:%u: %s\n",
			inet_ntoa(cl->o.dst.sin_addr), ntohs(cl->o.dst.sin_port),
			strerror(cerrno ? cerrno : ETIMEDOUT));
		return 1;
	}
	ret = run_load(cl, &s0, &s1);
	cl->t->abort_all(cl);
	if (ret) {
		fprintf(stderr, "rr_client: %s\n", strerror(-ret));
		return 1;
	}
	if (!s1.mono_ns) {
		fprintf(stderr, "rr_client: interrupted before the window closed\n");
		return 1;
	}
	report(cl, up, cerr, cerrno, t0, &s0, &s1);
	client_free(cl);
	return 0;
}
