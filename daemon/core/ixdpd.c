// SPDX-License-Identifier: GPL-2.0
/* ixdpd.c - bring the dataplane up in order, run the control loop, take it down in reverse. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/ixdpd.h"
#include "core/log.h"
#include "net/xq.h"

#define IXDPD_SAMPLE_MS 1000
#define RESERVED_PORTS_SYSCTL "/proc/sys/net/ipv4/ip_local_reserved_ports"

/**
 * ixdpd_init - a daemon with the default configuration and nothing started.
 * @d: daemon
 */
void ixdpd_init(struct ixdpd *d)
{
	int i;

	memset(d, 0, sizeof(*d));
	cfg_defaults(&d->cfg);
	d->epfd = d->sigfd = d->timerfd = -1;
	d->neigh.wake_fd = -1;
	d->ctl.listen_fd = -1;
	for (i = 0; i < CTL_CLIENTS_MAX; i++)
		d->ctl.clients[i].fd = -1;
}

/**
 * ixdpd_check - the configuration checks that need the system: interface, queues, CPUs.
 * @d:      daemon with d->cfg set
 * @err:    receives "KEY: reason"
 * @errlen: size of @err
 *
 * Fills d->nif, d->nr_queues and the CPU list.  Changes nothing on the system.
 *
 * Return: 0, or -EINVAL (a configuration error: exit status 2).
 */
int ixdpd_check(struct ixdpd *d, char *err, size_t errlen)
{
	struct ixdp_config *c = &d->cfg;
	unsigned int i, cpu, n = 0;
	cpu_set_t allowed;

	if (netif_probe(&d->nif, c->interface))
		return cfg_err(err, errlen, "interface: no such interface '%s'", c->interface);
	d->nr_queues = c->queues ? c->queues : d->nif.rx_queues;
	if (d->nr_queues > d->nif.rx_queues)
		return cfg_err(err, errlen, "queues: %u, but %s has %u rx queues", c->queues,
			       c->interface, d->nif.rx_queues);
	if (d->nr_queues > IXDP_QUEUES_MAX)
		return cfg_err(err, errlen,
			       "queues: %s has %u rx queues, more than %u; set "
			       "queues",
			       c->interface, d->nr_queues, IXDP_QUEUES_MAX);

	if (sched_getaffinity(0, sizeof(allowed), &allowed))
		return cfg_err(err, errlen, "cpus: cannot read the CPU affinity: %s",
			       strerror(errno));
	if (c->nr_cpus) {
		for (i = 0; i < c->nr_cpus; i++)
			if (!CPU_ISSET(c->cpus[i], &allowed))
				return cfg_err(err, errlen,
					       "cpus: CPU %u is not available to "
					       "ixdpd",
					       c->cpus[i]);
		return 0;
	}
	/* Default: the allowed CPUs in order, wrapping when there are more workers. */
	while (n < c->workers) {
		for (cpu = 0; cpu < CPU_SETSIZE && n < c->workers; cpu++)
			if (CPU_ISSET(cpu, &allowed))
				c->cpus[n++] = cpu;
	}
	c->nr_cpus = n;
	return 0;
}

/* The diagnostic services the configuration asks for. */
struct ixdpd_svc {
	__u8 proto;
	__u16 port;
	__u32 id;
	const char *what;
};

static unsigned int ixdpd_services(const struct ixdpd *d, struct ixdpd_svc svc[3])
{
	unsigned int n = 0;

	if (d->cfg.reflect_udp)
		svc[n++] = (struct ixdpd_svc){ IPPROTO_UDP, d->cfg.reflect_udp, STEER_SVC_REFLECT,
					       "UDP reflector" };
	if (d->cfg.echo_tcp)
		svc[n++] = (struct ixdpd_svc){ IPPROTO_TCP, d->cfg.echo_tcp, STEER_SVC_ECHO,
					       "TCP echo" };
	if (d->cfg.sink_tcp)
		svc[n++] = (struct ixdpd_svc){ IPPROTO_TCP, d->cfg.sink_tcp, STEER_SVC_SINK,
					       "TCP sink" };
	return n;
}

/*
 * Steer address @a to the dataplane (@add) or give it back: its ephemeral ports (replies to
 * connections ixdp opens) and the diagnostic services on it.  Adding stops at the first error;
 * removing goes on (an entry that is not there is no error).
 */
static int ixdpd_steer_addr(struct ixdpd *d, const struct ixdp_addr_key *a, bool add)
{
	struct ixdpd_svc svc[3];
	unsigned int i, n = ixdpd_services(d, svc);
	char text[INET6_ADDRSTRLEN];
	int ret = add ? steer_add_local_addr(&d->steer, a) : steer_del_local_addr(&d->steer, a);

	netif_format_addr(a, text, sizeof(text));
	for (i = 0; i < n && (!ret || !add); i++) {
		struct ixdp_svc_key key = { .proto = svc[i].proto, .family = a->family,
					    .port = svc[i].port };

		memcpy(key.addr, a->addr, sizeof(key.addr));
		ret = add ? steer_add_service(&d->steer, &key, svc[i].id) :
			    steer_del_service(&d->steer, &key);
		if (!ret && add)
			pr_info("%s on %s port %u", svc[i].what, text, svc[i].port);
	}
	return add ? ret : 0;
}

/* At start: every address of the interface, or any address if it has none. */
static int ixdpd_add_services(struct ixdpd *d)
{
	struct ixdpd_svc svc[3];
	unsigned int i, n = ixdpd_services(d, svc);
	int ret = 0;

	for (i = 0; i < d->nif.nr_addrs && !ret; i++)
		ret = ixdpd_steer_addr(d, &d->nif.addrs[i], true);
	if (d->nif.nr_addrs)
		return ret;
	for (i = 0; i < n && !ret; i++) {
		struct ixdp_svc_key key = { .proto = svc[i].proto, .port = svc[i].port };

		pr_warn("%s has no address: %s serves port %u on any address", d->nif.name,
			svc[i].what, svc[i].port);
		key.family = IXDP_FAMILY_INET;
		ret = steer_add_service(&d->steer, &key, svc[i].id);
		key.family = IXDP_FAMILY_INET6;
		if (!ret)
			ret = steer_add_service(&d->steer, &key, svc[i].id);
	}
	return ret;
}

/* Have every worker's stack add or remove @sa; the number of connections reset, or an error. */
static int ixdpd_workers_addr(struct ixdpd *d, const struct stack_addr *sa, bool add,
			      unsigned int *done)
{
	struct worker_cmd cmd = { .op = add ? WORKER_OP_ADDR_ADD : WORKER_OP_ADDR_DEL,
				  .addr = *sa };
	int ret, resets = 0;

	for (*done = 0; *done < d->nr_workers_init; (*done)++) {
		ret = worker_call(&d->workers[*done], &cmd, 2000);
		if (ret < 0 && !(ret == -ENOENT && !add))
			return ret;
		resets += ret > 0 ? ret : 0;
	}
	return resets;
}

/* Stop serving @sa (@text): steering, the apps' address list, the stacks; @report the resets. */
static void ixdpd_addr_drop(struct ixdpd *d, const struct stack_addr *sa, const char *text,
			    bool report)
{
	unsigned int done;
	int ret;

	ixdpd_steer_addr(d, &sa->a, false);
	listen_set_addr(&d->apps.listens, &sa->a, 0, false);
	ret = ixdpd_workers_addr(d, sa, false, &done);
	if (ret < 0)
		pr_err("%s: worker %u could not drop address %s: %s", d->nif.name, done, text,
		       strerror(-ret));
	else if (report)
		pr_info("%s: address %s removed: %d connection%s reset", d->nif.name, text, ret,
			ret == 1 ? "" : "s");
}

/*
 * The kernel added an address to the interface (or changed its prefix), or removed it.  Adding:
 * the workers' stacks first, then the address list apps listen on, then the XDP program, so no
 * segment arrives before a stack can take it.  Removing: the other way round; the connections
 * on the address are reset.
 */
static void ixdpd_addr_event(void *arg, const struct ixdp_addr_key *a, __u8 prefix_len,
			     bool present)
{
	struct ixdpd *d = arg;
	int i = netif_addr_find(&d->nif, a), ret;
	struct stack_addr sa = { .a = *a, .prefix_len = prefix_len };
	char text[INET6_ADDRSTRLEN];
	unsigned int done;

	netif_format_addr(a, text, sizeof(text));
	if (!present) {
		if (i >= 0)
			ixdpd_addr_drop(d, &sa, text, true);
		return;
	}
	if (i >= 0 && d->nif.prefix_len[i] == prefix_len)
		return;
	ret = ixdpd_workers_addr(d, &sa, true, &done);
	if (ret >= 0)
		ret = listen_set_addr(&d->apps.listens, a, prefix_len, true);
	if (ret >= 0 && i < 0)
		ret = ixdpd_steer_addr(d, a, true);
	if (ret < 0) {
		pr_err("%s: cannot serve address %s: %s", d->nif.name, text, strerror(-ret));
		if (i < 0)
			ixdpd_addr_drop(d, &sa, text, false);
		return;
	}
	pr_info("%s: serving %s address %s/%u", d->nif.name, i < 0 ? "new" : "changed", text,
		prefix_len);
}

/* The TCP stack every worker runs: the interface's addresses, MAC and MTU. */
static void ixdpd_stack_cfg(const struct ixdpd *d, struct stack_cfg *sc, char *tmpdir,
			    size_t len)
{
	unsigned int i;
	char *slash;

	memset(sc, 0, sizeof(*sc));
	memcpy(sc->mac, d->nif.mac, 6);
	sc->mtu = d->nif.mtu;
	sc->hash_seed = d->cfg.hash_seed;
	sc->fg_mask = d->cfg.flow_groups - 1;
	sc->half_open_max = d->cfg.half_open;
	sc->half_open_listener_max = d->cfg.half_open_listener;
	for (i = 0; i < d->nif.nr_addrs && sc->nr_addrs < STACK_ADDRS_MAX; i++) {
		sc->addrs[sc->nr_addrs].a = d->nif.addrs[i];
		sc->addrs[sc->nr_addrs].prefix_len = d->nif.prefix_len[i];
		sc->nr_addrs++;
	}
	snprintf(tmpdir, len, "%s", d->cfg.control);
	slash = strrchr(tmpdir, '/');
	if (slash && slash != tmpdir)
		*slash = '\0';
	sc->tmpdir = tmpdir;
}

static int ixdpd_open_stack(struct ixdpd *d, struct worker *wk, const struct stack_cfg *sc)
{
	int ret;

	struct chan_cfg cc = {
		.worker = wk->id,
		.fg = &d->fg,
		.hash_seed = d->cfg.hash_seed,
		.fg_mask = d->cfg.flow_groups - 1,
		.eph_lo = d->cfg.eph_lo,
		.eph_hi = d->cfg.eph_lo <= d->cfg.eph_hi ? d->cfg.eph_hi : 0,
		.listens = &d->apps.listens,
		.ctx_conns = d->cfg.app_ctx_conns,
	};

	ret = worker_open_stack(wk, sc, &d->neigh, &cc);
	if (!ret && d->cfg.echo_tcp)
		ret = stack_listen(wk->stack, d->cfg.echo_tcp, STACK_ECHO);
	if (!ret && d->cfg.sink_tcp)
		ret = stack_listen(wk->stack, d->cfg.sink_tcp, STACK_SINK);
	if (ret)
		pr_err("worker %u: TCP stack: %s", wk->id, strerror(-ret));
	else if (!wk->id)
		pr_info("TCP: one lwIP copy per worker, loaded from a %s", stack_how(wk->stack));
	return ret;
}

static int ixdpd_start_workers(struct ixdpd *d)
{
	char tmpdir[sizeof(d->cfg.control)];
	struct stack_cfg sc;
	unsigned int w;
	int ret;

	ixdpd_stack_cfg(d, &sc, tmpdir, sizeof(tmpdir));
	ret = w2w_init(&d->w2w, d->cfg.workers);
	if (ret)
		return ret;
	d->workers = calloc(d->cfg.workers, sizeof(*d->workers));
	if (!d->workers)
		return -ENOMEM;
	for (w = 0; w < d->cfg.workers; w++) {
		struct worker *wk = &d->workers[w];

		ret = worker_init(wk, w, d->cfg.cpus[w], d->io, &d->fg, d->workers, &d->w2w);
		if (ret)
			return ret;
		d->nr_workers_init++;
		wk->hash_seed = d->cfg.hash_seed;
		wk->reflect_udp = d->cfg.reflect_udp;
		wk->spin_ns = (__u64)d->cfg.idle_spin_us * 1000;
		wk->backoff_ns = (__u64)d->cfg.idle_backoff_ms * 1000000;
		ret = ixdpd_open_stack(d, wk, &sc);
		if (ret)
			return ret;
		ret = worker_start(wk);
		if (ret) {
			pr_err("worker %u: %s", w, strerror(-ret));
			return ret;
		}
		worker_sample(wk, clock_now_ns()); /* the first rate covers start-up to tick 1 */
	}
	return 0;
}

#define IXDPD_CONNS_PER_WORKER 65536	/* listed per worker by `ixdpctl conns`, at most */
#define IXDPD_CONNS_MS 250		/* bound on one CONNS request, all workers together */

/* The connection table of every worker, each copied by its own worker between two batches. */
static int ixdpd_conns(struct ixdpd *d, struct ctl_buf *reply)
{
	__u64 deadline = clock_now_ns() + IXDPD_CONNS_MS * 1000000ull, now;
	struct ixdp_ctl_conns *hdr;
	unsigned int w, i, n, kept;
	size_t start = reply->len;
	int ret;

	hdr = ctl_buf_reserve(reply, sizeof(*hdr));
	if (!hdr)
		return -ENOMEM;
	memset(hdr, 0, sizeof(*hdr));
	for (w = 0; w < d->nr_workers_init; w++) {
		struct worker *wk = &d->workers[w];
		struct worker_cmd cmd = { .op = WORKER_OP_CONNS, .max_conns = IXDPD_CONNS_PER_WORKER };

		/* Kept for the daemon's life: a worker that answers late may still write to it. */
		if (!wk->conns_buf) {
			wk->conns_buf = calloc(IXDPD_CONNS_PER_WORKER, sizeof(*wk->conns_buf));
			if (!wk->conns_buf)
				goto nomem;
		}
		cmd.conns = wk->conns_buf;
		/*
		 * One deadline for the whole request: the control thread serves every other
		 * client and app meanwhile, so a slow worker must not hold it for a second each.
		 * A worker that answers late writes into its own conns_buf, and the next request
		 * finds its mailbox busy (-EBUSY) until then.
		 */
		now = clock_now_ns();
		ret = worker_call(wk, &cmd, now < deadline ? (deadline - now) / 1000000 + 1 : 1);
		if (ret < 0) {
			reply->len = start;
			ctl_buf_printf(reply, "worker %u did not answer: %s", w, strerror(-ret));
			return ret;
		}
		n = (unsigned int)ret;
		kept = n < IXDPD_CONNS_PER_WORKER ? n : IXDPD_CONNS_PER_WORKER;
		for (i = 0; i < kept; i++) {
			const struct stack_conn_info *c = &wk->conns_buf[i];
			struct ixdp_ctl_conn *o = ctl_buf_reserve(reply, sizeof(*o));

			if (!o) {
				hdr = (struct ixdp_ctl_conns *)(reply->data + start);
				hdr->truncated += kept - i;
				break;
			}
			*o = (struct ixdp_ctl_conn){
				.family = c->family,
				.state = c->state,
				.worker = w,
				.fg = c->fg,
				.lport = c->lport,
				.rport = c->rport,
				.pid = c->pid > 0 ? (__u32)c->pid : 0,
			};
			memcpy(o->laddr, c->laddr, sizeof(o->laddr));
			memcpy(o->raddr, c->raddr, sizeof(o->raddr));
			hdr = (struct ixdp_ctl_conns *)(reply->data + start);
			hdr->count++;
		}
		hdr = (struct ixdp_ctl_conns *)(reply->data + start);
		hdr->truncated += n - kept;
	}
	return 0;
nomem:
	reply->len = start;
	return -ENOMEM;
}

/* TCP connections of flow group @g on every worker (their counters: a moment's view). */
static __u32 ixdpd_fg_conns(const struct ixdpd *d, __u32 g)
{
	__u32 n = 0;
	unsigned int w;

	for (w = 0; w < d->nr_workers_init; w++)
		n += STAT_READ(stack_stats(d->workers[w].stack)->fg_conns[g]);
	return n;
}

/*
 * IXDP_CTL_FG_MOVE.  Connection state does not move with a group yet: its new owner would have
 * no pcb for the group's connections and answer their next segment with a reset, while the old
 * owner kept them until their timers gave up.  So a group holding connections moves only when
 * asked with IXDP_CTL_FG_FORCE, and then every other worker resets the group's connections at
 * once.  Without it, the count is read just before the move: a connection opening in that
 * instant is not seen (it breaks as described).
 */
static int ixdpd_fg_move(struct ixdpd *d, const struct ixdp_ctl_req *req, struct ctl_buf *reply)
{
	__u32 g = req->arg[0], to = req->arg[1], flags = req->arg[2], conns, reset = 0;
	unsigned int w;
	int ret;

	if (flags & ~IXDP_CTL_FG_FLAGS) {
		ctl_buf_printf(reply, "unknown flags %#x", flags & ~IXDP_CTL_FG_FLAGS);
		return -EINVAL;
	}
	if (g >= d->fg.nr || to >= d->cfg.workers) {
		ctl_buf_printf(reply, "no flow group %u or worker %u (groups 0-%u, workers 0-%u)",
			       g, to, d->fg.nr - 1, d->cfg.workers - 1);
		return -ERANGE;
	}
	conns = fg_owner(&d->fg, g) == to ? 0 : ixdpd_fg_conns(d, g);
	if (conns && !(flags & IXDP_CTL_FG_FORCE)) {
		ctl_buf_printf(reply, "flow group %u has %u TCP connection%s: moving it would reset "
			       "them (connection state does not move yet); --force moves it anyway",
			       g, conns, conns == 1 ? "" : "s");
		return -EBUSY;
	}
	ret = fg_move(&d->fg, d->io, g, to);
	if (ret || !(flags & IXDP_CTL_FG_FORCE))
		return ret;
	/*
	 * Moved first, so no new connection of the group starts where it is reset; the new
	 * owner's own connections of the group are new ones and stay.
	 */
	for (w = 0; w < d->nr_workers_init; w++) {
		struct worker_cmd cmd = { .op = WORKER_OP_FG_RESET, .fg = g };

		if (w == to)
			continue;
		ret = worker_call(&d->workers[w], &cmd, 1000);
		if (ret < 0) {
			ctl_buf_printf(reply, "flow group %u moved, but worker %u did not reset its "
				       "connections: %s", g, w, strerror(-ret));
			return ret;
		}
		reset += ret;
	}
	if (reset)
		pr_warn("flow group %u moved by force: %u TCP connections reset", g, reset);
	return 0;
}

static int ixdpd_handle(void *ctx, const struct ixdp_ctl_req *req, uid_t uid, struct ctl_buf *reply)
{
	struct ixdpd *d = ctx;

	switch (req->op) {
	case IXDP_CTL_STATS: {
		size_t start = reply->len;
		int ret = ixdpd_stats(d, reply);

		if (!ret && uid != 0 && uid != geteuid()) {
			/* Who knows the seed can aim flows at one flow group: root's alone. */
			struct ixdp_ctl_stats *s = (struct ixdp_ctl_stats *)(reply->data + start);

			s->hash_seed = 0;
			s->hash_seed_shown = 0;
		}
		return ret;
	}
	case IXDP_CTL_CONNS:
		return ixdpd_conns(d, reply);
	case IXDP_CTL_FG_MOVE:
		if (uid != 0 && uid != geteuid()) {
			ctl_buf_printf(reply, "permission denied: moving flow groups needs root");
			return -EPERM;
		}
		return ixdpd_fg_move(d, req, reply);
	}
	ctl_buf_printf(reply, "unknown request %u", req->op);
	return -EOPNOTSUPP;
}

/* Say where apps that are not root may listen, and warn of ports the kernel's range takes. */
static void ixdpd_log_app_ports(const struct ixdpd *d)
{
	const struct ports_set *p = &d->cfg.app_ports;
	unsigned int i, lo, hi;
	char text[PORTS_RANGES_MAX * 12 + 1] = "";
	size_t n = 0;

	if (!d->apps.group_set)
		return;
	for (i = 0; i < p->n; i++)
		n += snprintf(text + n, sizeof(text) - n, p->r[i].lo == p->r[i].hi ? "%s%u" :
			      "%s%u-%u", i ? "," : "", p->r[i].lo, p->r[i].hi);
	if (!p->n) {
		pr_info("app-group members may attach but not listen: app-ports is empty");
		return;
	}
	pr_info("app-group members may listen on app-ports %s (never where the kernel listens)",
		text);
	if (ports_local_range(PORTS_LOCAL_RANGE, &lo, &hi))
		return;
	for (i = 0; i < p->n; i++)
		if (p->r[i].lo <= hi && p->r[i].hi >= lo)
			pr_warn("app-ports: %u-%u overlaps the kernel's ephemeral range %u-%u "
				"(net.ipv4.ip_local_port_range): listens there are refused",
				p->r[i].lo, p->r[i].hi, lo, hi);
}

static int ixdpd_setup_loop(struct ixdpd *d)
{
	struct itimerspec its = {
		.it_interval = { IXDPD_SAMPLE_MS / 1000, (IXDPD_SAMPLE_MS % 1000) * 1000000 },
		.it_value = { IXDPD_SAMPLE_MS / 1000, (IXDPD_SAMPLE_MS % 1000) * 1000000 },
	};
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t sigs;

	/* Blocked before any thread exists, so only the signalfd sees these. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &sigs, NULL))
		return -EINVAL;
	signal(SIGPIPE, SIG_IGN);

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	d->sigfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	d->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (d->epfd < 0 || d->sigfd < 0 || d->timerfd < 0)
		return -errno;
	if (timerfd_settime(d->timerfd, 0, &its, NULL))
		return -errno;
	ev.data.fd = d->sigfd;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->sigfd, &ev))
		return -errno;
	ev.data.fd = d->timerfd;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->timerfd, &ev))
		return -errno;
	return 0;
}

static void ixdpd_attach(void *ctx, int fd, const struct ixdp_ctl_req *req)
{
	struct ixdpd *d = ctx;

	apps_attach(&d->apps, fd, req);
}

/*
 * The flow hash's seed, unless configured: drawn at every start, so a remote host cannot know
 * ahead which flows share a flow group (and so a worker).
 */
static void ixdpd_draw_seed(struct ixdp_config *c)
{
	__u32 seed;

	if (!c->hash_seed_random)
		return;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed)) {
		/* Too early in boot for the entropy pool: still different per start. */
		pr_warn("getrandom: %s; flow hash seed taken from the clocks", strerror(errno));
		seed = ixdp_hash_final((__u32)clock_now_ns() ^ (__u32)time(NULL) ^
				       (__u32)getpid() << 16);
	}
	c->hash_seed = seed;
}

/* Does a worker's stack hold a connection on local port @port?  (Any thread.) */
static bool ixdpd_port_busy(void *arg, __u16 port)
{
	struct ixdpd *d = arg;
	unsigned int w;

	for (w = 0; w < d->nr_workers_init; w++)
		if (d->workers[w].stack && stack_port_conns(d->workers[w].stack, port))
			return true;
	return false;
}

/**
 * ixdpd_start - bring the dataplane up: control socket, reserved ports, XDP program, sockets,
 * workers, and last the steering switch.
 * @d: daemon that passed ixdpd_check()
 *
 * On failure everything done so far is undone by ixdpd_stop().
 *
 * Return: 0 or a negative errno (logged).
 */
int ixdpd_start(struct ixdpd *d)
{
	struct ixdp_config *c = &d->cfg;
	struct xq_params xp = {
		.ifname = d->nif.name,
		.ifindex = d->nif.ifindex,
		.nr_queues = d->nr_queues,
		.nr_workers = c->workers,
		.rx_ring = c->rx_ring,
		.tx_ring = c->tx_ring,
		.fill_ring = c->fill_ring,
		.comp_ring = c->comp_ring,
		.frames = c->frames,
		.frame_size = c->frame_size,
		.zerocopy = c->zerocopy,
	};
	struct ixdp_steer_cfg scfg = {
		.nr_workers = c->workers,
		.nr_queues = d->nr_queues,
		.fg_mask = c->flow_groups - 1,
		.hash_seed = c->hash_seed,
		.eph_lo = c->eph_lo <= c->eph_hi ? c->eph_lo : 1,
		.eph_hi = c->eph_lo <= c->eph_hi ? c->eph_hi : 0,
		.abi = IXDP_STEER_ABI,
	};
	char state[sizeof(c->control) + 8];
	int ret;

	d->start_ns = clock_now_ns();
	ixdpd_draw_seed(c);
	scfg.hash_seed = c->hash_seed;
	ret = ixdpd_setup_loop(d);
	if (ret)
		return ret;
	ret = ctl_open(&d->ctl, c->control, d->epfd, ixdpd_handle, d);
	if (ret)
		return ret;
	if (c->eph_lo <= c->eph_hi) {
		snprintf(state, sizeof(state), "%s.ports", c->control);
		ret = ports_reserve(&d->ports, c->eph_lo, c->eph_hi, state, RESERVED_PORTS_SYSCTL);
		if (ret)
			return ret;
	}

	ret = steer_open(&d->steer, d->nif.ifindex, d->nif.name, c->xdp_mode);
	if (ret)
		return ret;
	ret = ixdpd_add_services(d);
	if (ret) {
		pr_err("filling the XDP maps: %s", strerror(-ret));
		return ret;
	}

	ret = xq_open(&d->io, &xp, &d->steer);
	if (ret)
		return ret;
	fg_init(&d->fg, c->flow_groups, c->workers);
	ret = fg_publish(&d->fg, d->io);
	if (ret) {
		pr_err("publishing the flow group owners: %s", strerror(-ret));
		return ret;
	}
	/* Apps may attach at any time: every worker runs a stack, and the neighbours are watched. */
	{
		struct epoll_event ev = { .events = EPOLLIN };

		ret = neigh_open(&d->neigh, d->nif.ifindex, c->workers);
		if (ret)
			return ret;
		ev.data.fd = neigh_mon_fd(&d->neigh);
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev))
			return -errno;
		ev.data.fd = d->neigh.wake_fd;
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev))
			return -errno;
	}
	ret = ixdpd_start_workers(d);
	if (ret)
		return ret;
	/* Workers reach the registry only once an app listens, which needs what follows. */
	ret = apps_init(&d->apps, d->workers, c->workers, &d->steer, &d->nif, d->epfd,
			c->app_group);
	if (ret)
		return ret;
	d->apps.listens.reserved[0] = c->echo_tcp;
	d->apps.listens.reserved[1] = c->sink_tcp;
	d->apps.listens.app_ports = c->app_ports;
	ixdpd_log_app_ports(d);
	d->apps.rx_size = c->app_rx_size;
	d->apps.ctx_conns = c->app_ctx_conns;
	d->apps.uid_contexts = c->uid_contexts;
	d->apps.listens.uid_listens = c->uid_listens;
	d->apps.listens.port_busy = ixdpd_port_busy;
	d->apps.listens.port_arg = d;
	d->apps.uid_conns = c->uid_conns;
	d->apps_open = true;
	ctl_set_attach(&d->ctl, ixdpd_attach, d->apps.group_set ? d->apps.group : (gid_t)-1);

	ret = steer_configure(&d->steer, &scfg);
	if (ret) {
		pr_err("enabling steering: %s", strerror(-ret));
		return ret;
	}
	/* Addresses added or removed since netif_probe() are caught up with here. */
	ret = netif_watch_open(&d->watch, d->nif.ifindex, ixdpd_addr_event, d);
	if (ret)
		return ret;
	{
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = netif_watch_fd(&d->watch) };

		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev))
			return -errno;
	}
	ret = netif_watch_sync(&d->watch, &d->nif);
	if (ret) {
		pr_err("reading the addresses of %s: %s", d->nif.name, strerror(-ret));
		return ret;
	}
	pr_info("serving %s: XDP %s%s (prog %u), %u workers, %u flow groups", d->nif.name,
		cfg_xdp_mode_name(c->xdp_mode), d->steer.attached_native ? " (driver)" : " (skb)",
		d->steer.prog_id, c->workers, c->flow_groups);
	return 0;
}

static void ixdpd_tick(struct ixdpd *d)
{
	__u64 now = clock_now_ns(), ticks;
	unsigned int w;

	if (read(d->timerfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		pr_warn("timer: %s", strerror(errno));
	for (w = 0; w < d->nr_workers_init; w++)
		worker_sample(&d->workers[w], now);
	ixdpd_check_rings(d, now);
	ctl_expire(&d->ctl);
	if (d->apps_open) {
		apps_tick(&d->apps); /* detaches a worker has not carried out yet */
		listen_tick(&d->apps.listens);
	}
}

/**
 * ixdpd_run - the control thread's loop, until SIGINT, SIGTERM or SIGHUP.
 * @d: started daemon
 *
 * Return: 0 on a stop signal, or a negative errno if the loop itself failed.
 */
int ixdpd_run(struct ixdpd *d)
{
	struct epoll_event ev[16];
	int i, n;

	for (;;) {
		n = epoll_wait(d->epfd, ev, 16, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (i = 0; i < n; i++) {
			int fd = ev[i].data.fd;

			if (fd == d->sigfd) {
				struct signalfd_siginfo si;

				if (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
					pr_info("%s: stopping", strsignal(si.ssi_signo));
					return 0;
				}
			} else if (fd == d->timerfd) {
				ixdpd_tick(d);
			} else if (fd == neigh_mon_fd(&d->neigh)) {
				neigh_on_kernel(&d->neigh);
			} else if (d->watch.mon && fd == netif_watch_fd(&d->watch)) {
				netif_watch_read(&d->watch, &d->nif);
			} else if (fd == d->neigh.wake_fd) {
				neigh_on_requests(&d->neigh);
			} else if (ctl_owns(&d->ctl, fd)) {
				ctl_event(&d->ctl, fd, ev[i].events);
			} else if (apps_owns(&d->apps, fd)) {
				apps_event(&d->apps, fd);
			}
		}
	}
}

/**
 * ixdpd_stop - undo ixdpd_start(), also after a partial start.
 * @d: daemon
 *
 * Steering stops first (detach, or the external program set to pass everything), so no frame
 * reaches a socket being closed; then workers, sockets, reserved ports, the control socket.
 */
void ixdpd_stop(struct ixdpd *d)
{
	unsigned int w;

	netif_watch_close(&d->watch);
	if (d->apps_open)
		apps_close(&d->apps); /* workers reset the apps' connections while they still run */
	d->apps_open = false;
	steer_close(&d->steer);
	for (w = 0; w < d->nr_workers_init; w++)
		worker_stop(&d->workers[w]);
	for (w = 0; w < d->nr_workers_init; w++)
		worker_destroy(&d->workers[w]);
	apps_free_held(&d->apps); /* what a worker still held at apps_close(), now no one does */
	free(d->workers);
	d->workers = NULL;
	d->nr_workers_init = 0;
	w2w_destroy(&d->w2w);
	neigh_close(&d->neigh); /* safe when never opened: ixdpd_init() set its wake_fd to -1 */
	pktio_close(d->io);
	d->io = NULL;
	ports_release(&d->ports);
	ctl_close(&d->ctl);
	if (d->timerfd >= 0)
		close(d->timerfd);
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->epfd >= 0)
		close(d->epfd);
	d->timerfd = d->sigfd = d->epfd = -1;
}
