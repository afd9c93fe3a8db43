// SPDX-License-Identifier: GPL-2.0
/*
 * hostile_app.c - an app that attacks its own channel: it attaches with the raw protocol (not
 * libix), then for a bounded time writes random commands, garbage entries, wild ring indices
 * and handles, bad offsets and lengths, random sleep flags and wakeups, and listens and
 * connects with junk.  The daemon must keep serving everyone else and count what it refused.
 *
 *   ixdp-hostile-app CONTROL SECONDS [SEED]     exit 0 when the daemon is still answering
 *   ixdp-hostile-app CONTROL --version N        attach claiming ABI version N, print the error
 *
 * Modes that try to stall a worker for the other apps (tests/e2e/app_flood.sh), each for
 * SECONDS, printing what it did:
 *   ixdp-hostile-app CONTROL --wake-flood SECONDS
 *       wakeup datagrams to every worker's socket as fast as they go
 *   ixdp-hostile-app CONTROL --stall SECONDS PORT ACCEPT_SECONDS
 *       listen on PORT, accept every knock for ACCEPT_SECONDS, never return receive space;
 *       then stop reading events at all, holding the connections, until SECONDS are up
 *   ixdp-hostile-app CONTROL --connect-storm SECONDS ADDR PORT
 *       CONNECTs to ADDR:PORT as fast as the command rings take them, never closing one
 *
 * Per-user limits (tests/e2e/app_limits.sh):
 *   ixdp-hostile-app CONTROL --listens SECONDS PORT...
 *       listen on every PORT (on every worker), print "listen PORT: ok" or "listen PORT: error
 *       -E (text)" as worker 0 answers each (at most 5 s), then hold them until SECONDS are up
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ixdp/app.h"
#include "ixdp/ctl.h"

static __u64 rnd_state;

static __u64 rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct att {
	int sock;
	int fds[IXDP_APP_FDS_MAX];
	int nr_fds;
	struct ixdp_app_attach a;
	char msg[256];
	int status;
};

/* The attach exchange, by hand.  Return: 0 (status in @t), or -1 on a transport error. */
static int attach(const char *path, unsigned int version, struct att *t)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct ixdp_ctl_req req = { .magic = IXDP_CTL_MAGIC, .version = IXDP_CTL_VERSION,
				    .op = IXDP_CTL_APP_ATTACH,
				    .arg = { IXDP_APP_MAGIC, version } };
	char buf[sizeof(struct ixdp_ctl_reply) + 512];
	union {
		char c[CMSG_SPACE(sizeof(int) * IXDP_APP_FDS_MAX)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.c,
			      .msg_controllen = sizeof(u.c) };
	struct ixdp_ctl_reply *rep = (void *)buf;
	struct cmsghdr *cm;
	struct pollfd p;
	ssize_t n;

	memset(t, 0, sizeof(*t));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	t->sock = socket(AF_UNIX, SOCK_STREAM, 0);
	if (t->sock < 0 || connect(t->sock, (struct sockaddr *)&sun, sizeof(sun)) ||
	    send(t->sock, &req, sizeof(req), MSG_NOSIGNAL) != sizeof(req))
		return -1;
	p = (struct pollfd){ .fd = t->sock, .events = POLLIN };
	if (poll(&p, 1, 5000) != 1)
		return -1;
	n = recvmsg(t->sock, &msg, 0);
	if (n < (ssize_t)sizeof(*rep))
		return -1;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			t->nr_fds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			memcpy(t->fds, CMSG_DATA(cm), t->nr_fds * sizeof(int));
		}
	t->status = rep->status;
	if (rep->status) {
		snprintf(t->msg, sizeof(t->msg), "%.*s", (int)(n - sizeof(*rep)),
			 buf + sizeof(*rep));
		return 0;
	}
	if (n < (ssize_t)(sizeof(*rep) + sizeof(t->a)) || t->nr_fds < 3)
		return -1;
	memcpy(&t->a, buf + sizeof(*rep), sizeof(t->a));
	return 0;
}

static void garbage(void *p, size_t len)
{
	__u8 *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = rnd();
}

/* A command that is plausible enough to get past the first checks, then wrong somewhere. */
static void nasty_cmd(struct ixdp_app_cmd *c, const struct ixdp_app_shm *h, unsigned int w)
{
	memset(c, 0, sizeof(*c));
	c->op = rnd() % (IXDP_APP_OP_MAX + 3);
	c->flags = rnd();
	switch (rnd() % 4) {
	case 0:
		c->handle = rnd();
		break;
	case 1: /* right worker, small slot, random generation */
		c->handle = (rnd() % 4) << 32 | (__u64)w << 24 | (rnd() % 64);
		break;
	case 2:
		c->handle = (__u64)1 << 32 | (__u64)w << 24 | (rnd() % 8);
		break;
	default:
		c->handle = 0;
	}
	c->off = rnd() % 3 ? rnd() % (h->tx_size + 4096) : rnd();
	c->len = rnd() % 3 ? rnd() % (h->tx_size + 4096) : (__u32)rnd();
	c->family = rnd() % 3 ? (rnd() % 2 ? 4 : 6) : rnd();
	c->port = rnd() % 2 ? 20000 + rnd() % 100 : rnd();
	c->addr[0] = rnd() % 2 ? 0x020012c6 /* 198.18.0.2 */ : rnd();
	c->seq = rnd();
	c->cookie = rnd();
}

static int hostile(const char *path, double seconds)
{
	struct ixdp_app_chan *chans[IXDP_WORKERS_MAX];
	struct ixdp_app_shm *h, hdr;
	struct att t;
	double end = now() + seconds;
	unsigned long rounds = 0;
	void *shm;

	if (attach(path, IXDP_APP_VERSION, &t) || t.status) {
		fprintf(stderr, "hostile: attach failed: %s\n", t.status ? t.msg : strerror(errno));
		return 1;
	}
	shm = mmap(NULL, t.a.shm_size, PROT_READ | PROT_WRITE, MAP_SHARED, t.fds[0], 0);
	if (shm == MAP_FAILED) {
		perror("hostile: mmap");
		return 1;
	}
	h = shm;
	hdr = *h; /* our own copy: we are about to scribble over the shared one */
	for (unsigned int w = 0; w < t.a.nr_workers && w < IXDP_WORKERS_MAX; w++)
		chans[w] = (void *)((char *)shm + hdr.chan_off + hdr.chan_size * w);
	/* The memfd is sealed: shrinking it (a SIGBUS for the daemon) must fail. */
	if (ftruncate(t.fds[0], 4096) == 0) {
		fprintf(stderr, "hostile: could shrink the shared memory\n");
		return 1;
	}
	while (now() < end) {
		unsigned int w = rnd() % t.a.nr_workers;
		struct ixdp_app_chan *ch = chans[w];
		struct ixdp_app_cmd *cmds = (void *)((char *)ch + 4096); /* app.c's layout */
		__u32 prod = ch->cmd_prod, i, n = 1 + rnd() % 64;

		switch (rnd() % 10) {
		case 0: /* wild producer index */
			__atomic_store_n(&ch->cmd_prod, (__u32)rnd(), __ATOMIC_RELEASE);
			break;
		case 1: /* wild consumer index on the event ring */
			__atomic_store_n(&ch->ev_cons, (__u32)rnd(), __ATOMIC_RELEASE);
			break;
		case 2: /* garbage entries */
			garbage(cmds, hdr.cmd_entries * sizeof(*cmds));
			__atomic_store_n(&ch->cmd_prod, prod + n, __ATOMIC_RELEASE);
			break;
		case 3: /* scribble over headers the daemon wrote */
			garbage((char *)shm + rnd() % 120, 8);
			garbage((char *)&ch->cmd_off + rnd() % 56, 8);
			break;
		default: /* plausible commands with bad fields; keep the event ring drained */
			for (i = 0; i < n; i++)
				nasty_cmd(&cmds[(prod + i) & (hdr.cmd_entries - 1)], &hdr, w);
			__atomic_store_n(&ch->ev_cons, __atomic_load_n(&ch->ev_prod,
								       __ATOMIC_ACQUIRE),
					 __ATOMIC_RELEASE);
			__atomic_store_n(&ch->cmd_prod, prod + n, __ATOMIC_RELEASE);
		}
		h->app_sleeping = rnd();
		if (rnd() % 4 == 0)
			send(t.fds[2 + w], "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (rnd() % 16 == 0)
			usleep(100);
		rounds++;
	}
	/* The daemon is still there: our control connection was not dropped. */
	struct pollfd p = { .fd = t.sock, .events = POLLIN };

	if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLIN))) {
		fprintf(stderr, "hostile: the daemon closed our context\n");
		return 1;
	}
	printf("hostile: %lu rounds of garbage in %.0f s\n", rounds, seconds);
	return 0;
}

/* --- the stall modes: the raw channel, used as an app would, but selfishly -------------- */

struct raw {
	struct att t;
	void *shm;
	unsigned int nw;
	struct ixdp_app_chan *ch[IXDP_WORKERS_MAX];
	struct ixdp_app_cmd *cmds[IXDP_WORKERS_MAX];
	struct ixdp_app_ev *evs[IXDP_WORKERS_MAX];
	__u32 cmd_n, ev_n;
};

static int raw_attach(const char *path, struct raw *r)
{
	struct ixdp_app_shm *h;
	unsigned int w;

	if (attach(path, IXDP_APP_VERSION, &r->t) || r->t.status) {
		fprintf(stderr, "hostile: attach failed: %s\n",
			r->t.status ? r->t.msg : strerror(errno));
		return -1;
	}
	r->shm = mmap(NULL, r->t.a.shm_size, PROT_READ | PROT_WRITE, MAP_SHARED, r->t.fds[0], 0);
	if (r->shm == MAP_FAILED) {
		perror("hostile: mmap");
		return -1;
	}
	h = r->shm;
	r->nw = h->nr_workers < IXDP_WORKERS_MAX ? h->nr_workers : IXDP_WORKERS_MAX;
	r->cmd_n = h->cmd_entries;
	r->ev_n = h->ev_entries;
	for (w = 0; w < r->nw; w++) {
		r->ch[w] = (void *)((char *)r->shm + h->chan_off + h->chan_size * w);
		r->cmds[w] = (void *)((char *)r->shm + r->ch[w]->cmd_off);
		r->evs[w] = (void *)((char *)r->shm + r->ch[w]->ev_off);
	}
	return 0;
}

/* Queue @c on worker @w if there is room (published by raw_flush). */
static bool raw_cmd(struct raw *r, unsigned int w, const struct ixdp_app_cmd *c)
{
	struct ixdp_app_chan *ch = r->ch[w];
	__u32 prod = ch->cmd_prod;

	if (prod - __atomic_load_n(&ch->cmd_cons, __ATOMIC_ACQUIRE) >= r->cmd_n)
		return false;
	r->cmds[w][prod & (r->cmd_n - 1)] = *c;
	__atomic_store_n(&ch->cmd_prod, prod + 1, __ATOMIC_RELEASE);
	return true;
}

/* Tell sleeping workers about new commands. */
static void raw_flush(struct raw *r)
{
	unsigned int w;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (w = 0; w < r->nw; w++)
		if (__atomic_load_n(&r->ch[w]->worker_sleeping, __ATOMIC_RELAXED))
			send(r->t.fds[2 + w], "", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static int wake_flood(const char *path, double seconds)
{
	double end = now() + seconds;
	unsigned long sent = 0, tries = 0;
	struct raw r;
	unsigned int w;

	if (raw_attach(path, &r))
		return 1;
	while (now() < end)
		for (w = 0; w < r.nw; w++, tries++)
			sent += send(r.t.fds[2 + w], "w", 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1;
	printf("wake-flood: %lu wakeups sent (%lu tries) in %.0f s\n", sent, tries, seconds);
	return 0;
}

static int stall(const char *path, double seconds, unsigned int port, double accept_s)
{
	double start = now(), end = start + seconds;
	unsigned long accepted = 0, recvs = 0, bytes = 0;
	struct raw r;
	unsigned int w;

	if (raw_attach(path, &r))
		return 1;
	for (w = 0; w < r.nw; w++) {
		struct ixdp_app_cmd c = { .op = IXDP_APP_LISTEN, .port = port, .cookie = 1 };

		if (!raw_cmd(&r, w, &c))
			return 1;
	}
	raw_flush(&r);
	while (now() < start + accept_s) {
		bool any = false;

		for (w = 0; w < r.nw; w++) {
			struct ixdp_app_chan *ch = r.ch[w];
			__u32 prod = __atomic_load_n(&ch->ev_prod, __ATOMIC_ACQUIRE);
			__u32 cons = ch->ev_cons;

			for (; cons != prod; cons++) {
				const struct ixdp_app_ev *e = &r.evs[w][cons & (r.ev_n - 1)];
				struct ixdp_app_cmd c = { .op = IXDP_APP_ACCEPT, .cookie = 2,
							  .handle = e->handle };

				if (e->type == IXDP_APP_EV_RECV) {
					recvs++; /* and never RECV_DONE: the rx area fills */
					bytes += e->len;
				}
				if (e->type != IXDP_APP_EV_KNOCK)
					continue;
				if (!raw_cmd(&r, w, &c))
					break; /* the rest next round */
				accepted++;
			}
			any |= cons != ch->ev_cons;
			__atomic_store_n(&ch->ev_cons, cons, __ATOMIC_RELEASE);
		}
		raw_flush(&r);
		if (!any)
			usleep(200);
	}
	printf("stall: %lu connections accepted, %lu RECV events (%lu bytes) never returned; "
	       "now deaf\n", accepted, recvs, bytes);
	fflush(stdout);
	while (now() < end)
		usleep(100000); /* holding everything, reading nothing */
	return 0;
}

static int connect_storm(const char *path, double seconds, const char *addr, unsigned int port)
{
	double end = now() + seconds;
	unsigned long sent = 0, ok = 0, failed = 0;
	struct ixdp_app_cmd c = { .op = IXDP_APP_CONNECT, .family = 4, .port = port };
	struct raw r;
	unsigned int w;

	if (inet_pton(AF_INET, addr, &c.addr[0]) != 1) {
		fprintf(stderr, "hostile: bad address %s\n", addr);
		return 2;
	}
	if (raw_attach(path, &r))
		return 1;
	while (now() < end) {
		for (w = 0; w < r.nw; w++) {
			struct ixdp_app_chan *ch = r.ch[w];
			__u32 prod = __atomic_load_n(&ch->ev_prod, __ATOMIC_ACQUIRE);
			__u32 cons = ch->ev_cons;

			for (; cons != prod; cons++) {
				const struct ixdp_app_ev *e = &r.evs[w][cons & (r.ev_n - 1)];

				if (e->type == IXDP_APP_EV_CONNECTED)
					e->err ? failed++ : ok++;
			}
			__atomic_store_n(&ch->ev_cons, cons, __ATOMIC_RELEASE);
			while (raw_cmd(&r, w, &c))
				sent++;
		}
		raw_flush(&r);
		usleep(50);
	}
	printf("connect-storm: %lu CONNECTs, %lu connected, %lu refused\n", sent, ok, failed);
	return 0;
}

static int listens(const char *path, double seconds, char **ports, int n)
{
	double start = now(), end = start + seconds;
	int done = 0, i;
	struct raw r;
	unsigned int w;

	if (raw_attach(path, &r))
		return 1;
	for (i = 0; i < n; i++) {
		struct ixdp_app_cmd c = { .op = IXDP_APP_LISTEN, .port = atoi(ports[i]),
					  .seq = i, .cookie = 1 };

		for (w = 0; w < r.nw; w++)
			if (!raw_cmd(&r, w, &c))
				return 1;
	}
	raw_flush(&r);
	while (done < n && now() < start + 5) {
		for (w = 0; w < r.nw; w++) {
			struct ixdp_app_chan *ch = r.ch[w];
			__u32 prod = __atomic_load_n(&ch->ev_prod, __ATOMIC_ACQUIRE);
			__u32 cons = ch->ev_cons;

			for (; cons != prod; cons++) {
				const struct ixdp_app_ev *e = &r.evs[w][cons & (r.ev_n - 1)];

				if (w || e->type != IXDP_APP_EV_RESULT || e->op != IXDP_APP_LISTEN ||
				    e->seq >= (__u32)n)
					continue;
				if (e->err)
					printf("listen %s: error %d (%s)\n", ports[e->seq], e->err,
					       strerror(-e->err));
				else
					printf("listen %s: ok\n", ports[e->seq]);
				done++;
			}
			__atomic_store_n(&ch->ev_cons, cons, __ATOMIC_RELEASE);
		}
		fflush(stdout);
		usleep(1000);
	}
	if (done < n)
		printf("listens: %d of %d answered\n", done, n);
	fflush(stdout);
	while (now() < end)
		usleep(100000);
	return done < n;
}

int main(int argc, char **argv)
{
	struct att t;

	if (argc < 3) {
		fprintf(stderr, "usage: %s CONTROL SECONDS [SEED] | CONTROL --version N\n"
			"  | CONTROL --wake-flood SECONDS | CONTROL --stall SECONDS PORT ACCEPT_SECONDS\n"
			"  | CONTROL --connect-storm SECONDS ADDR PORT\n"
			"  | CONTROL --listens SECONDS PORT...\n", argv[0]);
		return 2;
	}
	if (!strcmp(argv[2], "--wake-flood") && argc == 4)
		return wake_flood(argv[1], atof(argv[3]));
	if (!strcmp(argv[2], "--stall") && argc == 6)
		return stall(argv[1], atof(argv[3]), atoi(argv[4]), atof(argv[5]));
	if (!strcmp(argv[2], "--listens") && argc >= 5)
		return listens(argv[1], atof(argv[3]), argv + 4, argc - 4);
	if (!strcmp(argv[2], "--connect-storm") && argc == 6)
		return connect_storm(argv[1], atof(argv[3]), argv[4], atoi(argv[5]));
	rnd_state = argc > 3 ? strtoull(argv[3], NULL, 0) : 0x9e3779b97f4a7c15ull;
	if (!rnd_state)
		rnd_state = 1;
	if (!strcmp(argv[2], "--version")) {
		if (argc < 4 || attach(argv[1], atoi(argv[3]), &t)) {
			perror("attach");
			return 1;
		}
		printf("status %d: %s\n", t.status, t.msg);
		return t.status ? 0 : 1;
	}
	return hostile(argv[1], atof(argv[2]));
}
