// SPDX-License-Identifier: GPL-2.0
/*
 * apps.c - attach and detach app contexts (control thread); the listen registry is listen.c.
 *
 * Attach: the control server hands over a connection that asked IXDP_CTL_APP_ATTACH.  Its
 * peer's credentials are checked, the versions compared, a sealed memfd laid out
 * (include/ixdp/app.h), wakeup sockets made, every worker told (worker_call), and the reply
 * sent with the fds.  The connection then stays open: EOF (libix shuts its side down, or the
 * app is gone), an error, or any byte from the app ends the context, and every worker resets
 * its connections and forgets it before the memory goes.  A worker that does not answer the
 * detach in time, is still busy with an earlier request, or holds a MOVED the app has not had
 * room for (chan_detach()) leaves the context dying: the detach is retried from the control
 * thread's tick (apps_tick) until every worker has let go, then the context is freed.  Only
 * then is our end of the connection closed: its EOF tells the app that no worker writes to its
 * rings any more (include/ixdp/app.h, "Ending").
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "app/apps.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/worker.h"
#include "net/netif.h"
#include "net/steering.h"

#define APP_PAGE 4096ul

static size_t app_align(size_t n)
{
	return (n + APP_PAGE - 1) & ~(APP_PAGE - 1);
}

/**
 * apps_init - no context yet; who may attach.
 * @a:          state
 * @workers:    the daemon's workers (running by the time an app attaches)
 * @nr_workers: how many
 * @st:         the XDP program, whose service table follows the listens
 * @nif:        the interface (its addresses)
 * @epfd:       the control thread's epoll instance
 * @group:      name of the group whose members may attach besides root, or "" for root only
 *
 * Return: 0 or -ENOENT (no such group).
 */
int apps_init(struct apps *a, struct worker *workers, unsigned int nr_workers, struct steer *st,
	      struct netif *nif, int epfd, const char *group)
{
	memset(a, 0, sizeof(*a));
	a->workers = workers;
	a->nr_workers = nr_workers;
	a->epfd = epfd;
	a->next_id = 1;
	listen_init(&a->listens, st, nif);
	if (group && *group) {
		struct group *g = getgrnam(group);

		if (!g) {
			pr_err("app-group %s: no such group", group);
			return -ENOENT;
		}
		a->group = g->gr_gid;
		a->group_set = true;
	}
	return 0;
}

/* Root, or a member (primary or supplementary) of the app group. */
static bool app_allowed(const struct apps *a, int fd, const struct ucred *cred)
{
	gid_t small[64], *groups = small;
	socklen_t len = sizeof(small);
	bool found = false;
	unsigned int i;
	int ret;

	if (cred->uid == 0)
		return true;
	if (!a->group_set)
		return false;
	if (cred->gid == a->group)
		return true;
	ret = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len);
	if (ret && errno == ERANGE) {
		/* More groups than fit: the kernel said how many bytes they take. */
		groups = malloc(len);
		if (!groups)
			return false;
		ret = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len);
	}
	for (i = 0; !ret && i < len / sizeof(gid_t) && !found; i++)
		found = groups[i] == a->group;
	if (groups != small)
		free(groups);
	return found;
}

/*
 * Send one small reply without blocking.  If earlier replies on the connection were not read
 * yet and fill the socket, make room for this one rather than leave the request unanswered.
 */
static ssize_t app_sendmsg(int fd, const struct msghdr *msg)
{
	ssize_t n = sendmsg(fd, msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	int queued, size;

	if (n < 0 && errno == EAGAIN && !ioctl(fd, SIOCOUTQ, &queued)) {
		size = queued + 65536;
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)))
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
		n = sendmsg(fd, msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	return n < 0 ? -errno : n;
}

/* An error reply: status and a message, no fds; the connection is closed. */
static void app_refuse(struct apps *a, int fd, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void app_refuse(struct apps *a, int fd, int status, const char *fmt, ...)
{
	struct {
		struct ixdp_ctl_reply rep;
		char msg[256];
	} r;
	struct iovec iov = { .iov_base = &r };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(r.msg, sizeof(r.msg), fmt, ap);
	va_end(ap);
	n = strlen(r.msg) + 1;
	r.rep = (struct ixdp_ctl_reply){ .magic = IXDP_CTL_MAGIC, .version = IXDP_CTL_VERSION,
					 .op = IXDP_CTL_APP_ATTACH, .status = status, .len = n };
	iov.iov_len = sizeof(r.rep) + n;
	if (app_sendmsg(fd, &msg) < 0)
		pr_debug("app: refusal not sent: %s", strerror(errno));
	pr_warn("app: refused: %s", r.msg);
	a->refused++;
	close(fd);
}

/* Lay out the memfd: header page, then per worker a channel header, rings, rx and tx areas. */
static int app_map(struct apps *a, struct app_ctx *c)
{
	size_t cmd = APP_CMD_ENTRIES * sizeof(struct ixdp_app_cmd);
	size_t ev = APP_EV_ENTRIES * sizeof(struct ixdp_app_ev);
	/* The receive area bounds what an app that never returns space holds (docs/security.md). */
	size_t rx = a->rx_size >= APP_RX_SIZE_MIN && a->rx_size <= APP_RX_SIZE_MAX ?
		    a->rx_size & ~(APP_PAGE - 1) : APP_RX_SIZE;
	size_t chan = APP_PAGE + app_align(cmd) + app_align(ev) + rx + APP_TX_SIZE;
	struct ixdp_app_shm *h;
	char name[32];
	unsigned int w;

	c->shm_size = APP_PAGE + chan * a->nr_workers;
	snprintf(name, sizeof(name), "ixdp-app-%u", c->id);
	c->memfd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (c->memfd < 0)
		return -errno;
	/* Sealed: an app cannot shrink the file under a worker (SIGBUS) or grow it. */
	if (ftruncate(c->memfd, c->shm_size) ||
	    fcntl(c->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
		return -errno;
	c->shm = mmap(NULL, c->shm_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->memfd, 0);
	if (c->shm == MAP_FAILED) {
		c->shm = NULL;
		return -errno;
	}
	h = c->shm;
	*h = (struct ixdp_app_shm){
		.magic = IXDP_APP_MAGIC,
		.version = IXDP_APP_VERSION,
		.hdr_size = sizeof(*h),
		.cmd_size = sizeof(struct ixdp_app_cmd),
		.ev_size = sizeof(struct ixdp_app_ev),
		.chan_hdr_size = sizeof(struct ixdp_app_chan),
		.nr_workers = a->nr_workers,
		.shm_size = c->shm_size,
		.chan_off = APP_PAGE,
		.chan_size = chan,
		.cmd_entries = APP_CMD_ENTRIES,
		.ev_entries = APP_EV_ENTRIES,
		.rx_size = rx,
		.tx_size = APP_TX_SIZE,
		.ctx_id = c->id,
		.conns_max = a->ctx_conns,
	};
	for (w = 0; w < a->nr_workers; w++) {
		__u64 base = APP_PAGE + chan * w;
		struct ixdp_app_chan *ch = (void *)((char *)c->shm + base);

		ch->cmd_off = base + APP_PAGE;
		ch->ev_off = ch->cmd_off + app_align(cmd);
		ch->rx_off = ch->ev_off + app_align(ev);
		ch->tx_off = ch->rx_off + rx;
		ch->ifindex = a->listens.nif->ifindex;
	}
	return 0;
}

/**
 * app_ctx_free - close and unmap what a context holds, and free it; a zombie (a worker may still
 * look at it, at shutdown) is left alone.
 * @c: context, off every worker
 */
void app_ctx_free(struct app_ctx *c)
{
	unsigned int w;

	if (c->zombie)
		return; /* a worker may still look at it */
	if (c->shm)
		munmap(c->shm, c->shm_size);
	if (c->memfd >= 0)
		close(c->memfd);
	if (c->app_wake >= 0)
		close(c->app_wake);
	for (w = 0; w < IXDP_WORKERS_MAX; w++)
		if (c->worker_wake[w] >= 0)
			close(c->worker_wake[w]);
	if (c->sock >= 0)
		close(c->sock);
	free(c);
}

/* Free @c (no worker holds it any more) and let go of its user's slot. */
static void app_ctx_put(struct app_ctx *c)
{
	if (!c->zombie && c->user)
		c->user->refs--;
	app_ctx_free(c);
}

/*
 * Tell the workers in @c->held to forget @c (they reset its connections); clear the bit of each
 * that did.  A worker busy with an earlier request (-EBUSY) or still delivering a MOVED to it
 * (-EAGAIN) keeps its bit and is asked again later; one that does not answer in @timeout_ms
 * keeps its bit with the request posted, and is checked for its answer later (a detach is never
 * dropped and never posted twice while one is outstanding; asked again when the late answer was
 * -EAGAIN or cannot be read any more, which costs a worker that has forgotten @c nothing).
 *
 * Return: true when no worker holds @c any more.
 */
static bool app_workers_detach(struct apps *a, struct app_ctx *c, unsigned int timeout_ms)
{
	unsigned int w;

	for (w = 0; w < a->nr_workers; w++) {
		struct worker_cmd cmd = { .op = WORKER_OP_APP_DETACH, .arg = c };
		__u64 bit = 1ull << w;
		int ret;

		if (!(c->held & bit))
			continue;
		if (c->posted & bit) {
			if (!worker_answered(&a->workers[w], c->detach_seq[w]))
				continue;
			c->posted &= ~bit;
			if (worker_result(&a->workers[w], c->detach_seq[w], &ret) && ret != -EAGAIN) {
				c->held &= ~bit;
				continue;
			}
			/* -EAGAIN, or a later request's result took its place: ask again */
		}
		ret = worker_call(&a->workers[w], &cmd, timeout_ms);
		if (ret == -EBUSY || ret == -EAGAIN)
			continue;
		if (ret == -ETIMEDOUT) {
			c->posted |= bit;
			c->detach_seq[w] = worker_posted(&a->workers[w]);
			continue;
		}
		c->held &= ~bit;
	}
	return !c->held;
}

/*
 * @c has ended (or never finished attaching): the app gets no more from it.  Workers that
 * let go in time free it now; otherwise it stays in @slot, dying, until apps_tick() has seen
 * every worker let go.  Its port, connections and memory stay claimed until then.
 */
static void app_end(struct apps *a, struct app_ctx *c, struct app_ctx **slot, __u64 held)
{
	unsigned int w;

	/*
	 * Before any worker lets go: a MOVE to it from now on fails (chan.c, chan_move()).  Its
	 * control connection stays open (off epoll) until it is freed: see the top of the file.
	 */
	c->end_ns = clock_now_ns();
	__atomic_store_n(&c->ended, true, __ATOMIC_RELEASE);
	c->held = held;
	c->posted = 0;
	if (app_workers_detach(a, c, APP_CALL_MS)) {
		*slot = NULL;
		app_ctx_put(c);
		return;
	}
	for (w = 0; w < a->nr_workers; w++)
		if (c->held & 1ull << w)
			pr_warn("app %u: worker %u has not let go of it yet: retried", c->id, w);
	c->dying = true;
	*slot = c;
}

/**
 * apps_tick - retry the detaches workers have not carried out yet; free the contexts every
 * worker has let go of (the control thread's periodic tick).
 * @a: state
 */
void apps_tick(struct apps *a)
{
	unsigned int i;

	for (i = 0; i < APP_CTX_MAX; i++) {
		struct app_ctx *c = a->ctx[i];

		if (!c || !c->dying || !app_workers_detach(a, c, APP_RETRY_MS))
			continue;
		pr_info("app %u (pid %d): every worker let go: reclaimed", c->id, c->pid);
		a->ctx[i] = NULL;
		app_ctx_put(c);
	}
}

/* Every worker's bit. */
static __u64 app_all_workers(const struct apps *a)
{
	return a->nr_workers >= 64 ? ~0ull : (1ull << a->nr_workers) - 1;
}

/* A pair of datagram sockets: @ours stays here, @theirs goes to the app. */
static int app_socketpair(int *ours, int *theirs)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		return -errno;
	*ours = sv[0];
	*theirs = sv[1];
	return 0;
}

/* The success reply: header, struct ixdp_app_attach, and the fds in one message. */
static int app_reply(struct apps *a, struct app_ctx *c, const int *fds, unsigned int nr_fds)
{
	struct {
		struct ixdp_ctl_reply rep;
		struct ixdp_app_attach att;
	} r = {
		.rep = { .magic = IXDP_CTL_MAGIC, .version = IXDP_CTL_VERSION,
			 .op = IXDP_CTL_APP_ATTACH, .status = 0, .len = sizeof(r.att) },
		.att = { .magic = IXDP_APP_MAGIC, .version = IXDP_APP_VERSION, .nr_fds = nr_fds,
			 .shm_size = c->shm_size, .ctx_id = c->id, .nr_workers = a->nr_workers },
	};
	union {
		char buf[CMSG_SPACE(sizeof(int) * IXDP_APP_FDS_MAX)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = &r, .iov_len = sizeof(r) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			      .msg_controllen = CMSG_SPACE(sizeof(int) * nr_fds) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	ssize_t n;

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * nr_fds);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * nr_fds);
	n = app_sendmsg(c->sock, &msg);
	if (n < 0)
		return n;
	return n == (ssize_t)sizeof(r) ? 0 : -EIO;
}

/*
 * The slot of @uid's user, taken for one more context (a free one if it has none yet: there are
 * as many slots as contexts).  Workers count the user's connections in it from the attach on.
 */
static struct app_uid *app_user_get(struct apps *a, uid_t uid)
{
	struct app_uid *u, *free_u = NULL;
	unsigned int i;

	for (i = 0; i < APP_CTX_MAX; i++) {
		u = &a->users[i];
		if (u->refs && u->uid == uid) {
			u->refs++;
			return u;
		}
		if (!u->refs && !free_u)
			free_u = u;
	}
	if (!free_u)
		return NULL;
	free_u->uid = uid;
	free_u->refs = 1;
	free_u->conns_max = uid ? a->uid_conns : 0;
	__atomic_store_n(&free_u->conns, 0, __ATOMIC_RELAXED);
	return free_u;
}

/* Is @uid (not root) at uid-contexts?  Dying contexts count: they still hold memory and ports. */
static bool app_uid_full(const struct apps *a, uid_t uid, unsigned int *n)
{
	unsigned int i;

	*n = 0;
	for (i = 0; i < APP_CTX_MAX; i++)
		*n += a->ctx[i] && a->ctx[i]->uid == uid;
	return uid != 0 && a->uid_contexts && *n >= a->uid_contexts;
}

/**
 * apps_attach - serve an IXDP_CTL_APP_ATTACH request; the connection @fd is ours from here.
 * @a:   state
 * @fd:  the client's connection (non-blocking)
 * @req: its request
 *
 * Refusals (not root or in the app group, another ABI version, too many contexts, no memory)
 * get an error reply with a message, and the connection is closed.
 */
void apps_attach(struct apps *a, int fd, const struct ixdp_ctl_req *req)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	int fds[IXDP_APP_FDS_MAX], theirs[IXDP_WORKERS_MAX + 1];
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct app_ctx *c;
	unsigned int i, slot, w;
	__u64 held;
	int ret;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
		app_refuse(a, fd, -EACCES, "cannot read the peer's credentials: %s",
			   strerror(errno));
		return;
	}
	if (!app_allowed(a, fd, &cred)) {
		app_refuse(a, fd, -EACCES, "permission denied: uid %u is not root and not in "
			   "ixdpd's app-group", cred.uid);
		return;
	}
	if (req->arg[0] != IXDP_APP_MAGIC || req->arg[1] != IXDP_APP_VERSION) {
		app_refuse(a, fd, -EPROTO, "app ABI version %u, ixdpd speaks version %u: rebuild "
			   "the app against this libix", req->arg[1], IXDP_APP_VERSION);
		return;
	}
	for (slot = 0; slot < APP_CTX_MAX && a->ctx[slot]; slot++)
		;
	if (slot == APP_CTX_MAX) {
		app_refuse(a, fd, -EMFILE, "too many app contexts (%u)", APP_CTX_MAX);
		return;
	}
	if (app_uid_full(a, cred.uid, &i)) {
		app_refuse(a, fd, -EMFILE, "uid %u holds %u app contexts (uid-contexts)", cred.uid, i);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		app_refuse(a, fd, -ENOMEM, "out of memory");
		return;
	}
	c->id = a->next_id++;
	c->sock = fd;
	c->pid = cred.pid;
	c->uid = cred.uid;
	c->user = app_user_get(a, cred.uid);
	c->memfd = c->app_wake = -1;
	for (w = 0; w < IXDP_WORKERS_MAX; w++)
		c->worker_wake[w] = -1;
	for (i = 0; i <= a->nr_workers; i++)
		theirs[i] = -1;

	ret = app_map(a, c);
	if (!ret)
		ret = app_socketpair(&c->app_wake, &theirs[0]);
	for (w = 0; !ret && w < a->nr_workers; w++)
		ret = app_socketpair(&c->worker_wake[w], &theirs[w + 1]);
	if (ret) {
		c->sock = -1;
		app_refuse(a, fd, ret, "cannot set the context up: %s", strerror(-ret));
		goto err_free;
	}
	for (w = 0; w < a->nr_workers; w++) {
		struct worker_cmd cmd = { .op = WORKER_OP_APP_ATTACH, .arg = c };

		ret = worker_call(&a->workers[w], &cmd, APP_CALL_MS);
		if (ret) {
			/* A timed-out attach may still happen: that worker detaches too. */
			held = (1ull << w) - 1 + (ret == -ETIMEDOUT ? 1ull << w : 0);
			c->sock = -1;
			app_refuse(a, fd, ret, "worker %u: %s", w, strerror(-ret));
			goto err_end;
		}
	}
	fds[0] = c->memfd;
	for (i = 0; i <= a->nr_workers; i++)
		fds[1 + i] = theirs[i];
	ev.data.fd = fd;
	ret = app_reply(a, c, fds, 2 + a->nr_workers);
	if (!ret && epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev))
		ret = -errno;
	if (ret) {
		pr_warn("app %u (pid %d): attach reply: %s", c->id, c->pid, strerror(-ret));
		held = app_all_workers(a);
		goto err_end;
	}
	for (i = 0; i <= a->nr_workers; i++)
		close(theirs[i]);
	a->ctx[slot] = c;
	a->attached++;
	pr_info("app %u attached: pid %d uid %u, %zu KiB shared", c->id, c->pid, c->uid,
		c->shm_size >> 10);
	return;

err_end:
	for (i = 0; i <= a->nr_workers; i++)
		if (theirs[i] >= 0)
			close(theirs[i]);
	app_end(a, c, &a->ctx[slot], held);
	return;
err_free:
	for (i = 0; i <= a->nr_workers; i++)
		if (theirs[i] >= 0)
			close(theirs[i]);
	app_ctx_put(c);
}

static struct app_ctx **app_find(const struct apps *a, int fd)
{
	unsigned int i;

	for (i = 0; i < APP_CTX_MAX; i++)
		if (a->ctx[i] && a->ctx[i]->sock == fd)
			return (struct app_ctx **)&a->ctx[i];
	return NULL;
}

/**
 * apps_owns - is @fd an attached context's connection?
 * @a:  state
 * @fd: from epoll
 *
 * Return: true or false.
 */
bool apps_owns(const struct apps *a, int fd)
{
	return app_find(a, fd) != NULL;
}

static void app_detach(struct apps *a, struct app_ctx **slot)
{
	struct app_ctx *c = *slot;

	epoll_ctl(a->epfd, EPOLL_CTL_DEL, c->sock, NULL);
	pr_info("app %u (pid %d) detached", c->id, c->pid);
	a->detached++;
	app_end(a, c, slot, app_all_workers(a));
}

/**
 * apps_event - a context's connection is readable or hung up: the app is gone (or broke the
 * protocol by writing to it), so its context ends.
 * @a:  state
 * @fd: the connection
 */
void apps_event(struct apps *a, int fd)
{
	struct app_ctx **slot = app_find(a, fd);

	if (slot)
		app_detach(a, slot);
}

/**
 * apps_close - end every context (daemon shutdown; workers still running).
 * @a: state
 */
void apps_close(struct apps *a)
{
	unsigned int i;

	for (i = 0; i < APP_CTX_MAX; i++) {
		struct app_ctx *c = a->ctx[i];

		if (c && !c->dying)
			app_detach(a, &a->ctx[i]);
		c = a->ctx[i];
		if (c && c->dying && !app_workers_detach(a, c, APP_CALL_MS)) {
			pr_warn("app %u: still held by a worker at shutdown", c->id);
			c->zombie = true; /* freed by apps_free_held() once the workers are gone */
			continue;
		}
		if (c)
			app_ctx_put(c);
		a->ctx[i] = NULL;
	}
	listen_destroy(&a->listens);
}

/**
 * apps_free_held - free the contexts apps_close() found still held by a worker.
 * @a: state, after apps_close(), once every worker has stopped and closed its channels
 */
void apps_free_held(struct apps *a)
{
	unsigned int i;

	for (i = 0; i < APP_CTX_MAX; i++) {
		struct app_ctx *c = a->ctx[i];

		if (!c)
			continue;
		c->zombie = false; /* no worker is left to look at it */
		app_ctx_free(c);
		a->ctx[i] = NULL;
	}
}

/**
 * apps_count - attached contexts (not the dying ones a worker still holds).
 * @a: state
 *
 * Return: the count.
 */
unsigned int apps_count(const struct apps *a)
{
	unsigned int i, n = 0;

	for (i = 0; i < APP_CTX_MAX; i++)
		n += a->ctx[i] && !a->ctx[i]->dying;
	return n;
}
