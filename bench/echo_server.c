// SPDX-License-Identifier: GPL-2.0
/* echo_server.c - the Linux twin of ixdpd's echo and sink services: epoll TCP, pinned threads. */
/*
 * The benchmarks (bench/echo_rr.sh, bench/sink.sh) compare ixdpd --echo-tcp / --sink-tcp with
 * this program serving the same address and port in the same namespace, on the same CPUs, one
 * at a time.  It is deliberately the ordinary, efficient kernel-socket server an application
 * would be, nothing more:
 *
 *  - N threads, each pinned to its CPU from a list, each with its own SO_REUSEPORT listening
 *    socket and its own epoll set (the kernel spreads connections over the sockets, no locks
 *    and no hand-offs between threads);
 *  - non-blocking sockets, TCP_NODELAY (a 64-byte echo must not wait for Nagle);
 *  - level-triggered epoll with ONE read of up to 64 KiB per readiness event: if more is
 *    queued, the next epoll_wait reports the socket again, so a request costs one read and
 *    one write, never an extra read that only returns EAGAIN;
 *  - echo writes straight back; a short write parks the rest and stops reading that
 *    connection until it drains (EPOLLOUT), so a client that does not read is not buffered
 *    for without bound;
 *  - --sink (-k) reads and discards.
 *
 * It runs for at most -d seconds (or until SIGTERM/SIGINT) and prints key=value lines at exit:
 * its CPU time from getrusage (the total is the scheduler's precise runtime, the user/sys split
 * is tick-sampled) and its connection and byte counters.  The benchmark's per-window CPU figures
 * come from the client, which samples this process's schedstat at the window's edges.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "core/clock.h"

#define SRV_THREADS_MAX 64
#define SRV_EVENTS 1024
#define SRV_BUF (64 * 1024)
#define SRV_ACCEPTS_PER_EVENT 256	/* so a connect storm cannot starve the others */
#define SRV_WAIT_MS 100			/* how often a thread looks at the stop flag */
#define SRV_BACKLOG 4096		/* net.core.somaxconn caps it anyway */

struct opts {
	struct sockaddr_in addr;
	unsigned int threads;
	int cpus[SRV_THREADS_MAX];
	unsigned int nr_cpus;
	unsigned int seconds;
	bool sink;
	bool spin;
};

/* A connection's echo bytes that did not fit its send buffer yet. */
struct conn {
	char *held;
	size_t held_len;
	size_t held_off;
};

struct srv_thread {
	pthread_t tid;
	unsigned int id;
	int cpu;
	int lfd;
	int ep;
	const struct opts *o;
	struct conn *conns;	/* indexed by fd: every fd is below the RLIMIT_NOFILE we got */
	int max_fd;
	/* counters, read by main after join */
	unsigned long long accepted, closed, resets, errors;
	unsigned long long reads, writes, bytes_in, bytes_out, short_writes;
	int failed;		/* a setup error: the thread never served */
};

static __u64 deadline_ns;

/**
 * parse_cpus - parse a CPU list such as "0", "0,1" or "0-3,6" into @cpus.
 * @s:    the list
 * @cpus: output, at most SRV_THREADS_MAX entries
 *
 * Return: the number of CPUs, or -1 on a malformed or too long list.
 */
static int parse_cpus(const char *s, int *cpus)
{
	int n = 0;

	while (*s) {
		char *end;
		long lo = strtol(s, &end, 10), hi;

		if (end == s || lo < 0 || lo > 4095)
			return -1;
		hi = lo;
		if (*end == '-') {
			s = end + 1;
			hi = strtol(s, &end, 10);
			if (end == s || hi < lo || hi > 4095)
				return -1;
		}
		for (; lo <= hi; lo++) {
			if (n == SRV_THREADS_MAX)
				return -1;
			cpus[n++] = (int)lo;
		}
		if (*end == ',')
			end++;
		else if (*end)
			return -1;
		s = end;
	}
	return n;
}

static void conn_close(struct srv_thread *t, int fd)
{
	struct conn *c = &t->conns[fd];

	/* close() drops the fd from the epoll set: it is this set's only reference. */
	close(fd);
	free(c->held);
	*c = (struct conn){ 0 };
	t->closed++;
}

/* Accept what is pending, bounded per event so established connections keep being served. */
static void srv_accept(struct srv_thread *t)
{
	int i, one = 1;

	for (i = 0; i < SRV_ACCEPTS_PER_EVENT; i++) {
		struct epoll_event ev = { .events = EPOLLIN };
		int fd = accept4(t->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
				/* EMFILE and the like: count it, the client will see its timeout */
				t->errors++;
			}
			return;
		}
		if (fd >= t->max_fd) {
			close(fd);
			t->errors++;
			continue;
		}
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one))) {
			close(fd);
			t->errors++;
			continue;
		}
		ev.data.fd = fd;
		if (epoll_ctl(t->ep, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			t->errors++;
			continue;
		}
		t->accepted++;
	}
}

/* Keep @n bytes of @buf that the socket did not take, and wait for EPOLLOUT instead of EPOLLIN. */
static int srv_park(struct srv_thread *t, int fd, const char *buf, size_t n)
{
	struct conn *c = &t->conns[fd];
	struct epoll_event ev = { .events = EPOLLOUT, .data.fd = fd };

	c->held = malloc(n);
	if (!c->held)
		return -1;
	memcpy(c->held, buf, n);
	c->held_len = n;
	c->held_off = 0;
	t->short_writes++;
	return epoll_ctl(t->ep, EPOLL_CTL_MOD, fd, &ev);
}

/* The socket has room again: send what was parked, then go back to reading. */
static int srv_drain(struct srv_thread *t, int fd)
{
	struct conn *c = &t->conns[fd];
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	ssize_t n;

	while (c->held_off < c->held_len) {
		n = write(fd, c->held + c->held_off, c->held_len - c->held_off);
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		t->writes++;
		t->bytes_out += n;
		c->held_off += n;
	}
	free(c->held);
	*c = (struct conn){ 0 };
	return epoll_ctl(t->ep, EPOLL_CTL_MOD, fd, &ev);
}

/* One read per readiness event (level-triggered: the rest is reported again), echoed at once. */
static void srv_read(struct srv_thread *t, int fd, char *buf)
{
	ssize_t n = read(fd, buf, SRV_BUF), w;

	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0 && errno == ECONNRESET)
			t->resets++; /* the benchmark client aborts its connections at the end */
		else if (n < 0)
			t->errors++;
		conn_close(t, fd);
		return;
	}
	t->reads++;
	t->bytes_in += n;
	if (t->o->sink)
		return;
	w = write(fd, buf, n);
	if (w < 0) {
		if (errno != EAGAIN) {
			if (errno == ECONNRESET || errno == EPIPE)
				t->resets++;
			else
				t->errors++;
			conn_close(t, fd);
			return;
		}
		w = 0;
	}
	if (w > 0) {
		t->writes++;
		t->bytes_out += w;
	}
	if (w < n && srv_park(t, fd, buf + w, n - w)) {
		t->errors++;
		conn_close(t, fd);
	}
}

static void *srv_main(void *arg)
{
	struct srv_thread *t = arg;
	struct epoll_event *evs = calloc(SRV_EVENTS, sizeof(*evs));
	char *buf = malloc(SRV_BUF);
	int i, n;

	if (!evs || !buf) {
		t->failed = ENOMEM;
		goto out;
	}
	while (!stop && clock_now_ns() < deadline_ns) {
		/* Spinning (-S) trades a core for never paying the cross-CPU wakeup (~40 us here). */
		n = epoll_wait(t->ep, evs, SRV_EVENTS, t->o->spin ? 0 : SRV_WAIT_MS);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			t->failed = errno;
			break;
		}
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == t->lfd) {
				srv_accept(t);
			} else if (evs[i].events & EPOLLOUT) {
				if (srv_drain(t, fd)) {
					t->errors++;
					conn_close(t, fd);
				}
			} else {
				/* EPOLLIN, EPOLLHUP and EPOLLERR all end in read(), which tells which */
				srv_read(t, fd, buf);
			}
		}
	}
out:
	free(evs);
	free(buf);
	return NULL;
}

/**
 * srv_setup - the listening socket and epoll set of one thread.
 * @t: the thread; t->o and t->cpu set
 *
 * Return: 0, or -1 with a message on stderr.
 */
static int srv_setup(struct srv_thread *t)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int one = 1;

	t->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->lfd < 0) {
		perror("echo_server: socket");
		return -1;
	}
	if (setsockopt(t->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(t->lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one))) {
		perror("echo_server: SO_REUSEADDR/SO_REUSEPORT");
		return -1;
	}
	if (bind(t->lfd, (const struct sockaddr *)&t->o->addr, sizeof(t->o->addr))) {
		perror("echo_server: bind");
		return -1;
	}
	if (listen(t->lfd, SRV_BACKLOG)) {
		perror("echo_server: listen");
		return -1;
	}
	t->ep = epoll_create1(EPOLL_CLOEXEC);
	if (t->ep < 0) {
		perror("echo_server: epoll_create1");
		return -1;
	}
	ev.data.fd = t->lfd;
	if (epoll_ctl(t->ep, EPOLL_CTL_ADD, t->lfd, &ev)) {
		perror("echo_server: epoll_ctl");
		return -1;
	}
	return 0;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [options]\n"
		"  -a ADDR     IPv4 address to serve (default 198.18.0.1)\n"
		"  -p PORT     TCP port (default 7000)\n"
		"  -t N        threads (default 1)\n"
		"  -c LIST     CPUs, thread i on the (i mod n)-th (default 0)\n"
		"  -d SECONDS  run at most this long (default 60)\n"
		"  -k          sink: read and discard instead of echoing\n"
		"  -S          busy-poll epoll_wait instead of sleeping in it\n",
		prog);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	int opt, n;
	long v;

	*o = (struct opts){ .threads = 1, .nr_cpus = 1, .seconds = 60 };
	service_init(&o->addr);
	while ((opt = getopt(argc, argv, "a:p:t:c:d:kSh")) != -1) {
		switch (opt) {
		case 'a':
			if (inet_pton(AF_INET, optarg, &o->addr.sin_addr) != 1)
				return -1;
			break;
		case 'p':
			if (port_opt(optarg, &o->addr))
				return -1;
			break;
		case 't':
			if (num_opt(optarg, 1, SRV_THREADS_MAX, &v))
				return -1;
			o->threads = (unsigned int)v;
			break;
		case 'c':
			n = parse_cpus(optarg, o->cpus);
			if (n <= 0)
				return -1;
			o->nr_cpus = (unsigned int)n;
			break;
		case 'd':
			if (num_opt(optarg, 1, 86400, &v))
				return -1;
			o->seconds = (unsigned int)v;
			break;
		case 'k':
			o->sink = true;
			break;
		case 'S':
			o->spin = true;
			break;
		default:
			return -1;
		}
	}
	return optind == argc ? 0 : -1;
}

int main(int argc, char **argv)
{
	static struct srv_thread th[SRV_THREADS_MAX];
	struct sigaction sa = { .sa_handler = on_signal };
	unsigned long long tot[9] = { 0 }, user, sys;
	struct rlimit rl;
	struct rusage ru;
	unsigned int i;
	int failed = 0, ret;
	struct opts o;

	if (parse_opts(argc, argv, &o)) {
		usage(argv[0]);
		return 2;
	}
	/* 10,000 connections need 10,000 fds; short of them it serves what the limit allows. */
	if (getrlimit(RLIMIT_NOFILE, &rl)) {
		perror("echo_server: getrlimit");
		return 1;
	}
	ret = raise_nofile(&rl);
	if (ret)
		fprintf(stderr, "echo_server: setrlimit(RLIMIT_NOFILE): %s\n", strerror(-ret));
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	deadline_ns = clock_now_ns() + o.seconds * 1000000000ull;

	for (i = 0; i < o.threads; i++) {
		struct srv_thread *t = &th[i];

		t->id = i;
		t->o = &o;
		t->cpu = o.cpus[i % o.nr_cpus];
		t->lfd = t->ep = -1;
		t->max_fd = rl.rlim_cur > 1u << 20 ? 1 << 20 : (int)rl.rlim_cur;
		t->conns = calloc(t->max_fd, sizeof(*t->conns));
		if (!t->conns) {
			fprintf(stderr, "echo_server: no memory for %d connections\n", t->max_fd);
			return 1;
		}
		if (srv_setup(t))
			return 1;
	}
	for (i = 0; i < o.threads; i++) {
		pthread_attr_t attr;
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(th[i].cpu, &set);
		pthread_attr_init(&attr);
		/* Pinned from birth: it never runs a single request on the wrong CPU. */
		ret = pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
		if (!ret)
			ret = pthread_create(&th[i].tid, &attr, srv_main, &th[i]);
		pthread_attr_destroy(&attr);
		if (ret) {
			fprintf(stderr, "echo_server: thread %u on CPU %d: %s\n", i, th[i].cpu,
				strerror(ret));
			stop = 1;
			while (i--)
				pthread_join(th[i].tid, NULL);
			return 1;
		}
	}
	printf("ready threads=%u mode=%s nofile=%llu\n", o.threads, o.sink ? "sink" : "echo",
	       (unsigned long long)rl.rlim_cur);
	fflush(stdout);

	for (i = 0; i < o.threads; i++) {
		struct srv_thread *t = &th[i];

		pthread_join(t->tid, NULL);
		if (t->failed) {
			fprintf(stderr, "echo_server: thread %u: %s\n", i, strerror(t->failed));
			failed = 1;
		}
		tot[0] += t->accepted;
		tot[1] += t->closed;
		tot[2] += t->resets;
		tot[3] += t->errors;
		tot[4] += t->reads;
		tot[5] += t->writes;
		tot[6] += t->bytes_in;
		tot[7] += t->bytes_out;
		tot[8] += t->short_writes;
	}
	/*
	 * Threads are joined: their time is in RUSAGE_SELF.  The total is the scheduler's precise
	 * runtime; only its split into user and system is tick-sampled (250 Hz here).
	 */
	if (getrusage(RUSAGE_SELF, &ru)) {
		perror("echo_server: getrusage");
		return 1;
	}
	printf("accepted=%llu\nclosed=%llu\nresets=%llu\nerrors=%llu\nreads=%llu\nwrites=%llu\n"
	       "bytes_in=%llu\nbytes_out=%llu\nshort_writes=%llu\n", tot[0], tot[1], tot[2],
	       tot[3], tot[4], tot[5], tot[6], tot[7], tot[8]);
	user = ru.ru_utime.tv_sec * 1000000000ull + ru.ru_utime.tv_usec * 1000ull;
	sys = ru.ru_stime.tv_sec * 1000000000ull + ru.ru_stime.tv_usec * 1000ull;
	printf("cpu_user_ns=%llu\ncpu_sys_ns=%llu\ncpu_ns=%llu\n", user, sys, user + sys);
	return failed;
}
