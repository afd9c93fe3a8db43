// SPDX-License-Identifier: GPL-2.0
/*
 * attach_fuzz.c - libFuzzer target for the daemon's side of an app attaching: the control server
 * (daemon/core/control.c) reading requests from real AF_UNIX clients on a real socket path, and
 * apps_attach/apps_event/apps_close and the listen registry (daemon/app/apps.c, daemon/app/listen.c), with a model of the
 * workers (worker_call) and of the XDP service table (steer_add/del_service).
 *
 * The input is a script.  Byte 0 picks the daemon's setup: bit 0 two workers (else one), bit 1
 * app-group "root", bit 2 a world-writable socket (app.c must still check), bit 3 no attach
 * callback yet (ATTACH goes to the handler), bit 4 a missing app-group first (apps_init fails).
 * Byte 1 arms each worker's first failure.  Every later byte starts an action (its bit 7: do not
 * run the loop after it): connect a client (root or another user, in this process or another
 * one), send it a request template or raw bytes at any split, half-close or close it, read its
 * replies, arm a worker failure, timeout or a detach answered -EAGAIN (chan_detach() still has a
 * MOVED to write), let a worker catch up, claim or release listens as a
 * worker would, attach many apps at once, run an action short of file descriptors, fail a
 * service table update.  A user's listens meet app-ports 1024-1100 and 8080 and an ephemeral
 * range of 1080-1090 read from a memfd; the kernel's listeners are asked for real.  After each
 * action the control thread's loop runs as ixdpd_run() does (epoll_wait(0),
 * ctl_event/apps_event), bounded.
 *
 * Checked, besides sanitizer reports:
 *  - every reply has the protocol's magic and version, answers the request it follows (op and
 *    status as the model predicts), an error carries a NUL-terminated message, nothing follows
 *    an attach reply;
 *  - a success goes only to root or a member of the app group, with the right ABI, after every
 *    worker took the context; it carries struct ixdp_app_attach and 2 + nr_workers fds: a sealed
 *    memfd of the advertised size and layout, and datagram sockets paired with the daemon's
 *    ends; a refusal says EACCES to a stranger, EPROTO for another ABI;
 *  - a worker is only given a context whose memory is laid out (it reads it, as chan_attach());
 *  - once the loop is idle: every request answered; an app that hung up, half-closed or wrote is
 *    detached and its connection closed, a quiet one stays; workers hold exactly the live
 *    contexts (and the dying ones app.c keeps while a worker has not answered their detach);
 *    a dying context is held by a worker whose mailbox is still busy or that answered -EAGAIN
 *    and still has it (else the tick's retry would have freed it), and its connection is still
 *    open (its EOF tells the app that no worker writes its rings any more);
 *    attached - detached = live;
 *  - once every worker has caught up, one tick frees every dying context and closes its
 *    connection;
 *  - a client is refused at accept with -EUSERS only if it is not root and its user may be over
 *    its share of the control slots (CTL_UID_SLOTS) or into root's last CTL_ROOT_SLOTS;
 *  - no user but root holds more than uid-contexts (3 here) contexts, nor more than uid-listens
 *    (4 here) distinct listens of all its contexts, and EMFILE refuses a listen only at it;
 *  - after apps_close() and ctl_close(): no context, no worker holding one, no listen claimed,
 *    the service table empty (every add deleted), no file descriptor leaked, no socket file.
 *
 * It found two daemon issues, fixed since and checked here: a member of the app group with more
 * than 256 groups was refused (SO_PEERGROUPS into a fixed array, ERANGE), and an attach whose
 * earlier replies on the same connection still filled the socket ended without a reply.
 * ATTACH_FUZZ_LOG=1 shows the daemon's log.
 * Runs as root to play other users; otherwise every client is this process as it is.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app/apps.h"
#include "core/control.h"
#include "core/log.h"
#include "core/worker.h"
#include "net/netif.h"
#include "net/steering.h"

#define NW_MAX 2		/* workers in the model */
#define CLIENTS_MAX 128		/* clients per input */
#define SENT_MAX 4096		/* bytes of each client's stream the model keeps */
#define MW_LISTENS 80		/* listens one model worker holds */
#define KEYS_MAX 256		/* service table entries */
#define IDS_MAX 1024		/* context ids tracked per input */
#define PUMP_ROUNDS 64

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "attach_fuzz: %s\n", what);
		abort();
	}
}

/* --- the daemon under test ------------------------------------------------------------------ */

static int epfd = -1;
static struct ctl ctl;
static struct apps apps;
static struct worker workers[NW_MAX];
static struct steer the_steer;
static unsigned int nw;
static bool group_set, attach_set;
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static char sock_dir[sizeof(sock_path)];
static struct rlimit nofile;
static char range_path[64];	/* the kernel's ephemeral range as app.c reads it: a memfd */

/* app-ports of the model: a user's listens elsewhere are refused with EACCES. */
static const struct ports_set model_app_ports = { 2, { { 1024, 1100 }, { 8080, 8080 } } };
#define MODEL_EPH_LO 1080	/* in range_path: refused with ERANGE */
#define MODEL_EPH_HI 1090

/* Two IPv4 addresses and one IPv6 address on the interface. */
static struct netif nif = {
	.name = "fuzz0",
	.nr_addrs = 3,
	.addrs = {
		{ .family = IXDP_FAMILY_INET, .addr = { 0x0100000a } },
		{ .family = IXDP_FAMILY_INET, .addr = { 0x0200000a } },
		{ .family = IXDP_FAMILY_INET6, .addr = { 0xfd, 0, 0, 0x01000000 } },
	},
};

static size_t expect_shm_size(void)
{
	size_t chan = 4096 + APP_CMD_ENTRIES * 64 + APP_EV_ENTRIES * 64 + APP_RX_SIZE + APP_TX_SIZE;

	return 4096 + chan * nw;
}

/* The daemon's handler for every other request, kept close to ixdpd_handle(). */
static int handler(void *ctx, const struct ixdp_ctl_req *req, uid_t uid, struct ctl_buf *reply)
{
	struct ixdp_ctl_stats *st;
	struct ixdp_ctl_conns *cs;

	check(ctx == &apps, "handler context");
	switch (req->op) {
	case IXDP_CTL_STATS:
		st = ctl_buf_reserve(reply, sizeof(*st));
		if (!st)
			return -ENOMEM;
		memset(st, 0, sizeof(*st));
		st->nr_workers = nw;
		st->apps = apps_count(&apps);
		return 0;
	case IXDP_CTL_CONNS:
		if (req->arg[0] == 1)
			return -ENOMEM; /* as ixdpd_conns out of memory: nothing written */
		/* arg[1] connections: a reply bigger than the socket takes at once */
		cs = ctl_buf_reserve(reply, sizeof(*cs) + (req->arg[1] % 4096) * 48);
		if (!cs)
			return -ENOMEM;
		memset(cs, 0, sizeof(*cs) + (req->arg[1] % 4096) * 48);
		cs->count = req->arg[1] % 4096;
		return 0;
	case IXDP_CTL_FG_MOVE:
		if (uid != 0) {
			ctl_buf_printf(reply, "permission denied: moving flow groups needs root");
			return -EPERM;
		}
		if (req->arg[0] >= 4 || req->arg[1] >= nw) {
			ctl_buf_printf(reply, "no flow group %u or worker %u", req->arg[0],
				       req->arg[1]);
			return -ERANGE;
		}
		return 0;
	}
	ctl_buf_printf(reply, "unknown request %u", req->op);
	return -EOPNOTSUPP;
}

/* What handler() answers: status, and the payload length when the status is 0. */
static int expect_handler(const struct ixdp_ctl_req *req, uid_t uid, size_t *len)
{
	*len = 0;
	switch (req->op) {
	case IXDP_CTL_STATS:
		*len = sizeof(struct ixdp_ctl_stats);
		return 0;
	case IXDP_CTL_CONNS:
		if (req->arg[0] == 1)
			return -ENOMEM;
		*len = sizeof(struct ixdp_ctl_conns) + (req->arg[1] % 4096) * 48;
		return 0;
	case IXDP_CTL_FG_MOVE:
		if (uid != 0)
			return -EPERM;
		return req->arg[0] >= 4 || req->arg[1] >= nw ? -ERANGE : 0;
	}
	return -EOPNOTSUPP;
}

static void on_attach(void *ctx, int fd, const struct ixdp_ctl_req *req)
{
	check(ctx == &apps, "attach context");
	apps_attach(&apps, fd, req);
}

/* --- the workers: worker_call() and what a worker does with a context ----------------------- */

struct mlisten {
	struct app_ctx *c;
	int family;
	__u32 addr[4];
	__u16 port;
};

struct mworker {
	struct app_ctx *att[APP_CTX_MAX];	/* contexts this worker serves (as chan.c) */
	unsigned int n_att;
	int arm_call;		/* -ETIMEDOUT: the next call is not answered in time */
	int arm_attach;		/* the next attach fails with this (chan_attach's errors) */
	bool arm_again;		/* the next detach answers -EAGAIN (a MOVED still to write) */
	bool pending;		/* a timed-out request the worker has not carried out yet */
	__u32 seq;		/* the mailbox's numbers, as worker.c */
	__u32 answered;
	int pend_op;
	struct app_ctx *pend_arg;
	int result;		/* of the request answered last */
	struct mlisten lst[MW_LISTENS];
	unsigned int n_lst;
};

static struct mworker mw[NW_MAX];
static unsigned char attached_mask[IDS_MAX];	/* per context id: workers that took it */

static bool mw_has(const struct mworker *m, const struct app_ctx *c)
{
	unsigned int i;

	for (i = 0; i < m->n_att; i++)
		if (m->att[i] == c)
			return true;
	return false;
}

/* What chan_attach() reads of the context: the daemon's header and this worker's channel. */
static void validate_ctx(const struct app_ctx *c, unsigned int w)
{
	const struct ixdp_app_shm *h = c->shm;
	const struct ixdp_app_chan *ch;

	check(h && c->memfd >= 0 && c->shm_size == expect_shm_size(), "context memory");
	check(h->magic == IXDP_APP_MAGIC && h->version == IXDP_APP_VERSION &&
	      h->nr_workers == nw && h->shm_size == c->shm_size && h->ctx_id == c->id,
	      "context header");
	check(h->chan_off + h->chan_size * nw <= c->shm_size, "channels outside the memfd");
	ch = (const void *)((const char *)h + h->chan_off + h->chan_size * w);
	check(ch->cmd_off + (__u64)h->cmd_entries * 64 <= ch->ev_off &&
	      ch->ev_off + (__u64)h->ev_entries * 64 <= ch->rx_off &&
	      ch->rx_off + h->rx_size <= ch->tx_off && ch->tx_off + h->tx_size <= c->shm_size,
	      "channel layout");
	check(c->app_wake >= 0 && c->worker_wake[w] >= 0, "wakeup sockets");
}

/* chan_detach(): listens given up, the context forgotten. */
static void mw_detach(unsigned int w, struct app_ctx *c)
{
	struct mworker *m = &mw[w];
	unsigned int i;

	for (i = 0; i < m->n_lst;) {
		if (m->lst[i].c == c) {
			listen_release(&apps.listens, m->lst[i].family, m->lst[i].addr, m->lst[i].port);
			m->lst[i] = m->lst[--m->n_lst];
		} else {
			i++;
		}
	}
	for (i = 0; i < m->n_att; i++)
		if (m->att[i] == c) {
			m->att[i] = m->att[--m->n_att];
			break;
		}
}

static int mw_perform(unsigned int w, int op, struct app_ctx *c)
{
	struct mworker *m = &mw[w];
	int ret;

	if (op == WORKER_OP_APP_DETACH) {
		mw_detach(w, c);
		return 0;
	}
	validate_ctx(c, w);
	check(!mw_has(m, c), "context attached twice to a worker");
	if (m->arm_attach) {
		ret = m->arm_attach;
		m->arm_attach = 0;
		return ret;
	}
	if (m->n_att == APP_CTX_MAX)
		return -EMFILE;
	m->att[m->n_att++] = c;
	if (c->id < IDS_MAX)
		attached_mask[c->id] |= 1u << w;
	return 0;
}

int worker_call(struct worker *w, struct worker_cmd *cmd, unsigned int timeout_ms)
{
	unsigned int i = (unsigned int)(w - workers);
	struct mworker *m;
	int ret;

	check(w >= workers && i < nw, "worker_call on no worker");
	check(cmd->op == WORKER_OP_APP_ATTACH || cmd->op == WORKER_OP_APP_DETACH, "worker op");
	check(cmd->arg != NULL, "worker_call without a context");
	m = &mw[i];
	if (m->pending) {
		ret = -EBUSY; /* the timed-out request is still in the mailbox */
	} else if (cmd->op == WORKER_OP_APP_DETACH && m->arm_again && mw_has(m, cmd->arg)) {
		m->arm_again = false; /* chan_detach(): answered, nothing reset, ask again */
		m->answered = ++m->seq;
		ret = m->result = -EAGAIN;
	} else if (m->arm_call) {
		m->arm_call = 0;
		m->seq++;
		m->pending = true;
		m->pend_op = cmd->op;
		m->pend_arg = cmd->arg;
		ret = -ETIMEDOUT;
	} else {
		ret = m->result = mw_perform(i, cmd->op, cmd->arg);
		m->answered = ++m->seq;
	}
	cmd->result = ret;
	return ret;
}

static void mw_catch_up(unsigned int w)
{
	struct mworker *m = &mw[w];

	if (!m->pending)
		return;
	m->pending = false;
	m->result = mw_perform(w, m->pend_op, m->pend_arg);
	m->answered = m->seq;
}

__u32 worker_posted(const struct worker *w)
{
	unsigned int i = (unsigned int)(w - workers);

	check(w >= workers && i < nw, "worker_posted on no worker");
	return mw[i].seq;
}

bool worker_result(const struct worker *w, __u32 seq, int *result)
{
	unsigned int i = (unsigned int)(w - workers);

	check(w >= workers && i < nw, "worker_result on no worker");
	check((__s32)(mw[i].seq - seq) >= 0, "asked about a request never posted");
	if (mw[i].answered != seq || mw[i].seq != seq)
		return false;
	*result = mw[i].result;
	return true;
}

bool worker_answered(const struct worker *w, __u32 seq)
{
	unsigned int i = (unsigned int)(w - workers);

	check(w >= workers && i < nw, "worker_answered on no worker");
	check((__s32)(mw[i].seq - seq) >= 0, "asked about a request never posted");
	return (__s32)(mw[i].answered - seq) >= 0;
}

/* --- the XDP service table ------------------------------------------------------------------ */

static struct ixdp_svc_key keys[KEYS_MAX];
static unsigned int nr_keys, steer_adds, steer_dels, steer_fail_in;
static int steer_fail_code;

static int key_find(const struct ixdp_svc_key *k)
{
	unsigned int i;

	for (i = 0; i < nr_keys; i++)
		if (!memcmp(&keys[i], k, sizeof(*k)))
			return (int)i;
	return -1;
}

int steer_add_service(struct steer *s, const struct ixdp_svc_key *key, __u32 id)
{
	check(s == &the_steer, "steer handle");
	check(id == STEER_SVC_APP && key->proto == IPPROTO_TCP && key->port, "service entry");
	if (steer_fail_in && !--steer_fail_in)
		return steer_fail_code;
	/* BPF_ANY would overwrite: a second owner of one key is the registry's mistake. */
	check(key_find(key) < 0, "service key added twice");
	if (nr_keys == KEYS_MAX)
		return -E2BIG;
	keys[nr_keys++] = *key;
	steer_adds++;
	return 0;
}

int steer_del_service(struct steer *s, const struct ixdp_svc_key *key)
{
	int i;

	check(s == &the_steer, "steer handle");
	i = key_find(key);
	if (i < 0)
		return -ENOENT;
	keys[i] = keys[--nr_keys];
	steer_dels++;
	return 0;
}

/* --- clients -------------------------------------------------------------------------------- */

struct ident {
	uid_t uid;
	gid_t gid;
	int ngroups;		/* -1: leave them; else the supplementary groups below */
	gid_t groups[2];
	bool other_process;
	bool many_groups;	/* 300 supplementary groups, the app group (0) last */
};

static const struct ident idents[] = {
	{ 0, 0, -1, { 0 }, false, false },		/* root, this process */
	{ 0, 0, -1, { 0 }, true, false },		/* root, another process */
	{ 1000, 0, 0, { 0 }, true, false },		/* primary group is the app group */
	{ 1000, 1000, 1, { 0 }, true, false },		/* supplementary member */
	{ 1000, 1000, 2, { 1000, 2000 }, true, false },	/* a stranger */
	{ 0, 1000, 0, { 0 }, true, false },		/* uid 0, another group */
	{ 1000, 1000, 0, { 0 }, true, true },		/* member through a long group list */
	{ 65534, 65534, 0, { 0 }, true, false },	/* nobody */
};
#define NR_IDENTS (sizeof(idents) / sizeof(idents[0]))
#define MANY_GROUPS 300

static gid_t many_groups[MANY_GROUPS];

static uid_t ident_uid(const struct ident *id)
{
	return id->other_process ? id->uid : geteuid();
}

static bool ident_allowed(const struct ident *id)
{
	gid_t g[64];
	int i, n;

	if (!id->other_process) { /* this process, as it runs */
		if (geteuid() == 0)
			return true;
		if (!group_set)
			return false;
		n = getgroups(64, g);
		for (i = 0; i < n; i++)
			if (g[i] == 0)
				return true;
		return getegid() == 0;
	}
	if (id->uid == 0)
		return true;
	if (!group_set)
		return false;
	if (id->gid == 0 || id->many_groups)
		return true;
	for (i = 0; i < id->ngroups; i++)
		if (id->groups[i] == 0)
			return true;
	return false;
}

struct client {
	int fd;				/* -1 once closed here */
	const struct ident *id;
	bool may_refuse;		/* ctl may have been full when it connected */
	bool shut_rd, shut_wr, closed, send_failed, eof;
	bool was_dying;			/* its context was dying before the last tick */
	__u8 out[256];			/* queued, not yet sent */
	size_t out_len;
	size_t sent_len;		/* the stream as the daemon got it (sent[], last) */
	bool sent_overflow;
	struct ixdp_ctl_reply rep;	/* the reply being received */
	size_t hdr_got, pl_got;
	__u8 pl[512];			/* the first bytes of its payload */
	int fds[IXDP_APP_FDS_MAX + 4];
	unsigned int nfds;
	unsigned int replies;		/* parsed */
	size_t got_bytes;		/* reply bytes received */
	size_t reply_end[SENT_MAX / 32 + 1]; /* got_bytes at the end of each reply */
	bool handover_sent;		/* the attach request went out whole ... */
	size_t got_at_handover;		/* ... when the client had received this much */
	bool attach_replied;
	int attach_status;
	unsigned int ctx_id;
	__u8 sent[SENT_MAX];		/* last: not cleared for a new client */
};

static struct client clients[CLIENTS_MAX];
static unsigned int nr_clients, connects_since_pump;
static bool squeezed, squeezing, massed;
static bool strict;		/* ATTACH_FUZZ_STRICT: the two known issues fail too */

static bool req_handed_over(const struct ixdp_ctl_req *r)
{
	return attach_set && r->magic == IXDP_CTL_MAGIC && r->version == IXDP_CTL_VERSION &&
	       r->op == IXDP_CTL_APP_ATTACH;
}

/* Index of the request the daemon hands to apps_attach, or -1. */
static int client_handover(const struct client *cl)
{
	size_t k;

	for (k = 0; (k + 1) * 32 <= cl->sent_len; k++)
		if (req_handed_over((const struct ixdp_ctl_req *)(cl->sent + k * 32)))
			return (int)k;
	return -1;
}

static unsigned int ctl_occupancy(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < CTL_CLIENTS_MAX; i++)
		n += ctl.clients[i].fd >= 0;
	return n;
}

/* Another process connects (and, for another user, changes its credentials first). */
struct child_arg {
	const struct ident *id;
	struct sockaddr_un sun;
	int fd;
};

static char child_stack[256 * 1024] __attribute__((aligned(64)));

__attribute__((no_sanitize("address", "undefined"))) static int child_connect(void *p)
{
	struct child_arg *a = p;
	const struct ident *id = a->id;
	long fd;

	a->fd = -1;
	if (id->many_groups) {
		if (syscall(SYS_setgroups, MANY_GROUPS, many_groups))
			return 1;
	} else if (id->ngroups >= 0 && syscall(SYS_setgroups, id->ngroups, id->groups)) {
		return 1;
	}
	if (syscall(SYS_setresgid, id->gid, id->gid, id->gid) ||
	    syscall(SYS_setresuid, id->uid, id->uid, id->uid))
		return 1;
	fd = syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 1;
	if (syscall(SYS_connect, fd, &a->sun, sizeof(a->sun))) {
		syscall(SYS_close, fd);
		return 1;
	}
	a->fd = (int)fd;
	return 0;
}

static struct client *client_new(unsigned int ident)
{
	struct client *cl;
	struct child_arg a = { .id = &idents[ident % NR_IDENTS], .sun = { .sun_family = AF_UNIX } };
	int fd;

	if (nr_clients == CLIENTS_MAX)
		return NULL;
	if (geteuid() != 0) /* no other user, no other process: this one, as it is */
		a.id = &idents[0];
	snprintf(a.sun.sun_path, sizeof(a.sun.sun_path), "%s", sock_path);
	if (a.id->other_process && geteuid() == 0) {
		pid_t pid = clone(child_connect, child_stack + sizeof(child_stack),
				  CLONE_VM | CLONE_FILES | CLONE_VFORK | SIGCHLD, &a);

		if (pid < 0)
			return NULL;
		while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
			;
		fd = a.fd;
	} else {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&a.sun, sizeof(a.sun))) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0)
		return NULL;
	cl = &clients[nr_clients++];
	memset(cl, 0, offsetof(struct client, sent));
	cl->fd = fd;
	cl->id = a.id;
	cl->may_refuse = ctl_occupancy() + connects_since_pump + 1 > CTL_CLIENTS_MAX;
	/* ctl.c's fair share: a user other than root beyond its slots or into root's last ones
	 * (counting every connect not yet accepted, of any user: an upper bound). */
	if (a.id->uid != 0) {
		unsigned int i, held = 0;

		for (i = 0; i < CTL_CLIENTS_MAX; i++)
			held += ctl.clients[i].fd >= 0 && ctl.clients[i].uid == a.id->uid;
		cl->may_refuse |= held + connects_since_pump + 1 > CTL_UID_SLOTS ||
				  ctl_occupancy() + connects_since_pump + 1 >
					  CTL_CLIENTS_MAX - CTL_ROOT_SLOTS;
	}
	connects_since_pump++;
	return cl;
}

/* Send what is queued; what the socket takes is what the daemon will read. */
static void client_flush(struct client *cl)
{
	while (cl->out_len && cl->fd >= 0 && !cl->shut_wr) {
		ssize_t n = send(cl->fd, cl->out, cl->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n <= 0) {
			if (n < 0 && errno != EAGAIN) {
				cl->send_failed = true;
				cl->out_len = 0;
			}
			return;
		}
		if (!cl->sent_overflow && cl->sent_len + n <= SENT_MAX) {
			memcpy(cl->sent + cl->sent_len, cl->out, n);
			cl->sent_len += n;
		} else {
			cl->sent_overflow = true;
		}
		memmove(cl->out, cl->out + n, cl->out_len - n);
		cl->out_len -= n;
		if (!cl->handover_sent && !cl->sent_overflow && client_handover(cl) >= 0) {
			cl->handover_sent = true;
			cl->got_at_handover = cl->got_bytes;
		}
	}
}

static void client_queue(struct client *cl, const void *p, size_t len)
{
	if (cl->out_len + len > sizeof(cl->out))
		client_flush(cl);
	if (cl->out_len + len > sizeof(cl->out))
		return;
	memcpy(cl->out + cl->out_len, p, len);
	cl->out_len += len;
}

/* Send at most @n queued bytes. */
static void client_send_some(struct client *cl, size_t n)
{
	size_t keep;
	__u8 rest[sizeof(cl->out)];

	if (n >= cl->out_len) {
		client_flush(cl);
		return;
	}
	keep = cl->out_len - n;
	memcpy(rest, cl->out + n, keep);
	cl->out_len = n;
	client_flush(cl);
	if (cl->out_len) /* the socket was full: keep the order */
		return;
	memcpy(cl->out, rest, keep);
	cl->out_len = keep;
}

static void make_req(unsigned int kind, struct ixdp_ctl_req *r)
{
	memset(r, 0, sizeof(*r));
	r->magic = IXDP_CTL_MAGIC;
	r->version = IXDP_CTL_VERSION;
	r->op = IXDP_CTL_APP_ATTACH;
	r->arg[0] = IXDP_APP_MAGIC;
	r->arg[1] = IXDP_APP_VERSION;
	switch (kind & 7) {
	case 1: /* another ABI */
		r->arg[1] = IXDP_APP_VERSION + 1;
		break;
	case 2: /* no ABI magic */
		r->arg[0] = 0;
		break;
	case 3:
		r->op = IXDP_CTL_STATS;
		break;
	case 4: /* with a big reply, or none */
		r->op = IXDP_CTL_CONNS;
		r->arg[0] = kind >> 3 & 1;
		r->arg[1] = kind >> 4 ? 4095 : 1;
		break;
	case 5:
		r->op = IXDP_CTL_FG_MOVE;
		r->arg[0] = 1;
		r->arg[1] = kind >> 3 & 3;
		break;
	case 6: /* another control protocol */
		r->version = IXDP_CTL_VERSION - 1;
		break;
	case 7: /* unknown request */
		r->op = 9 + (kind >> 3);
		break;
	}
}

/* The fds of a success reply: a sealed memfd with the advertised layout, then sockets. */
static void check_attach_fds(const struct client *cl, const struct ixdp_app_attach *att)
{
	struct ixdp_app_shm h;
	struct ixdp_app_chan ch;
	struct app_ctx *c = NULL;
	struct stat stt;
	unsigned int i, w;
	char b = 'x';

	check(fstat(cl->fds[0], &stt) == 0 && S_ISREG(stt.st_mode) &&
	      (__u64)stt.st_size == att->shm_size, "memfd size");
	check(fcntl(cl->fds[0], F_GET_SEALS) == (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
	      "memfd seals");
	check(pread(cl->fds[0], &h, sizeof(h), 0) == sizeof(h), "memfd header");
	check(h.magic == IXDP_APP_MAGIC && h.version == IXDP_APP_VERSION &&
	      h.hdr_size == sizeof(h) && h.cmd_size == 64 && h.ev_size == 64 &&
	      h.chan_hdr_size == sizeof(ch) && h.nr_workers == nw && h.shm_size == att->shm_size &&
	      h.ctx_id == att->ctx_id && h.chan_off >= sizeof(h) &&
	      h.chan_off + h.chan_size * nw <= h.shm_size, "memfd header fields");
	for (w = 0; w < nw; w++) {
		check(pread(cl->fds[0], &ch, sizeof(ch), h.chan_off + h.chan_size * w) == sizeof(ch),
		      "channel header");
		check(ch.cmd_off >= h.chan_off + h.chan_size * w + sizeof(ch) &&
		      ch.cmd_off + (__u64)h.cmd_entries * 64 <= ch.ev_off &&
		      ch.ev_off + (__u64)h.ev_entries * 64 <= ch.rx_off &&
		      ch.rx_off + h.rx_size <= ch.tx_off &&
		      ch.tx_off + h.tx_size <= h.chan_off + h.chan_size * (w + 1),
		      "channel layout as the app sees it");
	}
	for (i = 1; i < 2 + nw; i++) {
		int type = 0;
		socklen_t l = sizeof(type);

		check(getsockopt(cl->fds[i], SOL_SOCKET, SO_TYPE, &type, &l) == 0 &&
		      type == SOCK_DGRAM, "wakeup fd is not a datagram socket");
	}
	/* Still attached?  Then each socket must reach the daemon's end of its pair. */
	for (i = 0; i < APP_CTX_MAX; i++)
		if (apps.ctx[i] && apps.ctx[i]->id == att->ctx_id)
			c = apps.ctx[i];
	if (!c)
		return;
	if (send(c->app_wake, &b, 1, MSG_DONTWAIT) == 1)
		check(recv(cl->fds[1], &b, 1, MSG_DONTWAIT) == 1, "app wakeup socket not paired");
	for (w = 0; w < nw; w++)
		if (send(cl->fds[2 + w], &b, 1, MSG_DONTWAIT) == 1)
			check(recv(c->worker_wake[w], &b, 1, MSG_DONTWAIT) == 1,
			      "worker wakeup socket not paired");
}

static bool msg_ok(const __u8 *p, size_t len)
{
	return len > 0 && len <= 256 && p[len - 1] == '\0' && strlen((const char *)p) == len - 1;
}

static void check_attach_reply(struct client *cl, const struct ixdp_ctl_reply *rep,
			       const __u8 *payload, const struct ixdp_ctl_req *req)
{
	bool allowed = ident_allowed(cl->id);
	bool abi = req->arg[0] == IXDP_APP_MAGIC && req->arg[1] == IXDP_APP_VERSION;
	unsigned int i;

	check(rep->op == IXDP_CTL_APP_ATTACH, "attach reply op");
	cl->attach_replied = true;
	cl->attach_status = rep->status;
	if (rep->status == 0) {
		struct ixdp_app_attach att;

		check(allowed, "attach granted to a client neither root nor in the app group");
		check(abi, "attach granted with another ABI");
		check(rep->len == sizeof(att), "attach reply length");
		memcpy(&att, payload, sizeof(att));
		check(att.magic == IXDP_APP_MAGIC && att.version == IXDP_APP_VERSION &&
		      att.nr_fds == 2 + nw && att.nr_workers == nw &&
		      att.shm_size == expect_shm_size() && att.ctx_id != 0, "attach reply fields");
		check(cl->nfds == att.nr_fds, "attach reply fd count");
		check(att.ctx_id >= IDS_MAX || attached_mask[att.ctx_id] == (1u << nw) - 1,
		      "attach reply before every worker took the context");
		for (i = 0; i < nr_clients; i++)
			check(&clients[i] == cl || clients[i].ctx_id != att.ctx_id,
			      "two attaches with one context id");
		cl->ctx_id = att.ctx_id;
		check_attach_fds(cl, &att);
	} else {
		check(cl->nfds == 0, "fds with an attach refusal");
		check(msg_ok(payload, rep->len), "attach refusal without a message");
		if (!allowed)
			check(rep->status == -EACCES, "a stranger refused with something else");
		else if (cl->id->many_groups && rep->status == -EACCES)
			/* SO_PEERGROUPS into gid_t[256] fails with ERANGE: see app_allowed() */
			check(!strict, "a member of the app group (300 groups) refused");
		else if (!abi)
			check(rep->status == -EPROTO, "another ABI refused with something else");
		else
			check(rep->status == -EMFILE || rep->status == -ENFILE ||
			      rep->status == -ENOMEM || rep->status == -EOPNOTSUPP ||
			      rep->status == -ETIMEDOUT || rep->status == -EBUSY,
			      "attach refused with an unexpected status");
	}
	for (i = 0; i < cl->nfds; i++)
		close(cl->fds[i]);
	cl->nfds = 0;
}

/* One whole reply: the one owed to the client's next request? */
static void client_reply(struct client *cl)
{
	const struct ixdp_ctl_reply *rep = &cl->rep;
	const struct ixdp_ctl_req *req;
	size_t k = cl->replies++, elen;
	int est;

	if (k < sizeof(cl->reply_end) / sizeof(cl->reply_end[0]))
		cl->reply_end[k] = cl->got_bytes;
	check(!cl->attach_replied, "bytes after the attach reply");
	if (k == 0 && rep->op == 0 && rep->status == -EUSERS) {
		/*
		 * Refused at accept, before any request: never root.  Whether a user other than
		 * root was over its share depends on what ctl.c had accepted when this client got
		 * to the head of the backlog, which the model cannot follow exactly (ctl_test
		 * checks the shares themselves).
		 */
		check(cl->id->uid != 0, "root refused a control slot");
		return;
	}
	check((k + 1) * 32 <= cl->sent_len || cl->sent_overflow, "a reply nobody asked for");
	if ((k + 1) * 32 > cl->sent_len)
		return;
	req = (const struct ixdp_ctl_req *)(cl->sent + k * 32);
	if (req_handed_over(req)) {
		check_attach_reply(cl, rep, cl->pl, req);
		return;
	}
	check(rep->op == req->op, "reply op");
	if (req->magic != IXDP_CTL_MAGIC || req->version != IXDP_CTL_VERSION) {
		est = -EPROTO;
		elen = 0;
	} else {
		est = expect_handler(req, ident_uid(cl->id), &elen);
	}
	check(rep->status == est, "reply status");
	if (est)
		check(msg_ok(cl->pl, rep->len), "error reply without a NUL-terminated message");
	else
		check(rep->len == elen, "reply payload length");
	if (!est && req->op == IXDP_CTL_CONNS)
		check(((const struct ixdp_ctl_conns *)cl->pl)->count == (rep->len - 8) / 48,
		      "connections reply count");
}

/* Replies as a stream: a header, then its payload (the first bytes of it kept). */
static void client_feed(struct client *cl, const __u8 *p, size_t n)
{
	while (n) {
		size_t take;

		if (cl->hdr_got < sizeof(cl->rep)) {
			take = sizeof(cl->rep) - cl->hdr_got;
			take = take < n ? take : n;
			memcpy((__u8 *)&cl->rep + cl->hdr_got, p, take);
			cl->hdr_got += take;
			cl->got_bytes += take;
			p += take;
			n -= take;
			if (cl->hdr_got < sizeof(cl->rep))
				return;
			check(cl->rep.magic == IXDP_CTL_MAGIC && cl->rep.version == IXDP_CTL_VERSION,
			      "reply magic or version");
			check(cl->rep.len <= IXDP_CTL_REPLY_MAX, "reply length");
			cl->pl_got = 0;
		} else {
			take = cl->rep.len - cl->pl_got;
			take = take < n ? take : n;
			if (cl->pl_got < sizeof(cl->pl))
				memcpy(cl->pl + cl->pl_got, p,
				       take < sizeof(cl->pl) - cl->pl_got ? take
									  : sizeof(cl->pl) - cl->pl_got);
			cl->pl_got += take;
			cl->got_bytes += take;
			p += take;
			n -= take;
		}
		if (cl->pl_got == cl->rep.len) {
			client_reply(cl);
			cl->hdr_got = cl->pl_got = 0;
		}
	}
}

/* Read what arrived; returns whether anything did. */
static bool client_read(struct client *cl)
{
	bool got = false;

	if (squeezing) /* no room for the fds a reply may carry */
		return false;
	while (cl->fd >= 0 && !cl->eof) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * (IXDP_APP_FDS_MAX + 4))];
			struct cmsghdr align;
		} u;
		static __u8 rx[65536];
		struct iovec iov = { .iov_base = rx, .iov_len = sizeof(rx) };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
				    .msg_controllen = sizeof(u.buf) };
		struct cmsghdr *cm;
		ssize_t n;

		n = recvmsg(cl->fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) { /* EOF, or ECONNRESET: the daemon closed with our bytes unread */
			cl->eof = true;
			got = true;
			break;
		}
		got = true;
		for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
			size_t i, nfd;

			check(cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS,
			      "unexpected control message");
			nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (i = 0; i < nfd; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				if (cl->nfds < sizeof(cl->fds) / sizeof(cl->fds[0]))
					cl->fds[cl->nfds++] = fd;
				else
					close(fd);
			}
		}
		check(!(m.msg_flags & MSG_CTRUNC), "fds truncated");
		client_feed(cl, rx, n);
	}
	return got;
}

static void client_close(struct client *cl)
{
	unsigned int i;

	if (cl->fd >= 0)
		close(cl->fd);
	cl->fd = -1;
	cl->closed = true;
	for (i = 0; i < cl->nfds; i++)
		close(cl->fds[i]);
	cl->nfds = 0;
}

/* --- the control thread's loop -------------------------------------------------------------- */

static void pump(void)
{
	struct epoll_event ev[16];
	int r, i, n;

	connects_since_pump = 0;
	for (r = 0; r < PUMP_ROUNDS; r++) {
		n = epoll_wait(epfd, ev, 16, 0);
		if (n <= 0)
			break;
		for (i = 0; i < n; i++) {
			int fd = ev[i].data.fd;

			if (ctl_owns(&ctl, fd))
				ctl_event(&ctl, fd, ev[i].events);
			else if (apps_owns(&apps, fd))
				apps_event(&apps, fd);
			else
				check(0, "epoll reports an fd nobody owns");
		}
	}
	apps_tick(&apps); /* as ixdpd's timer does, here every round */
}

/* Idle: no event pending, every client has read what it was sent (big replies take rounds). */
static void settle(void)
{
	unsigned int r, i;
	struct epoll_event ev;

	for (r = 0; r < 4096; r++) {
		bool got = false;

		pump();
		for (i = 0; i < nr_clients; i++)
			got |= client_read(&clients[i]);
		if (!got && epoll_wait(epfd, &ev, 1, 0) == 0)
			return;
	}
	check(0, "the control loop never settles");
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own */
}

static struct app_ctx *live_ctx(unsigned int id)
{
	unsigned int i;

	for (i = 0; i < APP_CTX_MAX; i++)
		if (apps.ctx[i] && !apps.ctx[i]->dying && apps.ctx[i]->id == id)
			return apps.ctx[i];
	return NULL;
}

static struct app_ctx *dying_ctx(unsigned int id)
{
	unsigned int i;

	for (i = 0; i < APP_CTX_MAX; i++)
		if (apps.ctx[i] && apps.ctx[i]->dying && apps.ctx[i]->id == id)
			return apps.ctx[i];
	return NULL;
}

#define UID_CONTEXTS 3	/* uid-contexts under test */
#define UID_CONNS 5	/* uid-conns under test: set in each user's slot */

/* No user but root holds more than uid-contexts contexts (dying ones included). */
static void check_uid_contexts(void)
{
	unsigned int i, j, n;

	for (i = 0; i < APP_CTX_MAX; i++) {
		if (!apps.ctx[i] || !apps.ctx[i]->uid)
			continue;
		for (j = n = 0; j < APP_CTX_MAX; j++)
			n += apps.ctx[j] && apps.ctx[j]->uid == apps.ctx[i]->uid;
		check(n <= UID_CONTEXTS, "a user holds more contexts than uid-contexts");
		/* uid-conns: every context counts its connections in its user's one slot. */
		check(apps.ctx[i]->user && apps.ctx[i]->user->uid == apps.ctx[i]->uid &&
		      apps.ctx[i]->user->refs == n, "a context's user slot is not its user's");
		check(apps.ctx[i]->user->conns_max == UID_CONNS, "a user's uid-conns is not set");
	}
	for (i = n = 0; i < APP_CTX_MAX; i++)
		n += apps.users[i].refs;
	for (j = 0; j < APP_CTX_MAX; j++)
		n -= apps.ctx[j] != NULL;
	check(n == 0, "user slots held by no context");
}

#define UID_LISTENS 4	/* uid-listens under test */

/* The distinct listens user @uid holds in the registry. */
static unsigned int uid_listens(uid_t uid)
{
	unsigned int i, n = 0;

	for (i = 0; i < APP_LISTEN_MAX; i++)
		n += apps.listens.listens[i].refs && apps.listens.listens[i].uid == uid;
	return n;
}

/* No user but root holds more than uid-listens listens, of all its contexts together. */
static void check_uid_listens(void)
{
	unsigned int i;

	for (i = 0; i < APP_LISTEN_MAX; i++)
		if (apps.listens.listens[i].refs && apps.listens.listens[i].uid)
			check(uid_listens(apps.listens.listens[i].uid) <= UID_LISTENS,
			      "a user holds more listens than uid-listens");
}

/*
 * A dying context waits for a worker that has not answered yet, or that answered -EAGAIN and
 * still holds it; none other stays.
 */
static void check_dying(void)
{
	unsigned int i, w;

	for (i = 0; i < APP_CTX_MAX; i++) {
		const struct app_ctx *c = apps.ctx[i];
		bool waits = false;

		if (!c || !c->dying)
			continue;
		for (w = 0; w < nw; w++)
			waits |= (c->held >> w & 1) && (mw[w].pending || mw_has(&mw[w], c));
		check(waits, "a dying context no worker keeps: never freed");
	}
}

/*
 * Could the replies before the attach request, still unread when it was sent, have filled the
 * daemon's send buffer (wmem_default 208 KiB, charged by skb truesize)?  Then app_reply()'s
 * sendmsg() fails with EAGAIN and the attach ends without a reply.
 */
static bool attach_reply_may_not_fit(const struct client *cl, int h)
{
	size_t unread = cl->reply_end[h - 1] - cl->got_at_handover, skbs = 0;
	int k;

	if (!cl->handover_sent || cl->reply_end[h - 1] < cl->got_at_handover)
		return false;
	for (k = 0; k < h; k++)
		if (cl->reply_end[k] > cl->got_at_handover)
			skbs += 1 + (cl->reply_end[k] - (k ? cl->reply_end[k - 1] : 0)) / 32768;
	return unread + skbs * 768 >= 128 * 1024;
}

/* The loop is idle: what each client got must be all it was owed. */
static void check_idle(void)
{
	unsigned int i, w, live = 0;
	bool overflow = false;

	for (i = 0; i < nr_clients; i++) {
		struct client *cl = &clients[i];
		int h = cl->sent_overflow ? -1 : client_handover(cl);
		size_t owed;
		bool quiet;

		if (cl->sent_overflow)
			overflow = true;
		if (cl->fd < 0 || cl->sent_overflow)
			continue;
		check(!cl->hdr_got || cl->shut_rd || cl->eof, "a reply left half-sent");
		/* fds come only with a success, which takes them (and nothing follows it) */
		check(cl->nfds == 0, "fds without an attach success");
		owed = h >= 0 ? (size_t)h + 1 : cl->sent_len / 32;
		if (!cl->may_refuse && !squeezed && !cl->shut_rd) {
			if (h > 0 && cl->replies == (size_t)h && !strict &&
			    attach_reply_may_not_fit(cl, h))
				; /* app_reply() found the socket full: see the report on it */
			else
				check(cl->replies == owed, "a request left unanswered");
		}
		if (cl->attach_replied && cl->attach_status)
			check(cl->eof || cl->shut_rd, "connection left open after a refusal");
		if (!cl->attach_replied || cl->attach_status)
			continue;
		quiet = !cl->shut_wr && cl->sent_len == (size_t)(h + 1) * 32;
		if (quiet) {
			struct app_ctx *c = live_ctx(cl->ctx_id);

			check(c != NULL, "a quiet app lost its context");
			check(!cl->eof || cl->shut_rd, "a quiet app's connection closed");
			for (w = 0; w < nw; w++)
				check(mw_has(&mw[w], c), "a live context not on every worker");
			live++;
		} else if (dying_ctx(cl->ctx_id)) {
			/* its EOF tells the app no worker writes its rings any more */
			check(!cl->eof || cl->shut_rd,
			      "a dying context's connection closed before the workers let go");
		} else {
			check(!live_ctx(cl->ctx_id), "an app that wrote or hung up keeps its context");
			check(cl->eof || cl->shut_rd, "an ended context's connection left open");
		}
	}
	/* Clients closed here: their contexts must be gone too. */
	if (!overflow) {
		check(apps_count(&apps) == live, "contexts nobody holds");
		check(apps.attached - apps.detached == live, "attach/detach counters");
	}
	for (w = 0; w < nw; w++)
		for (i = 0; i < mw[w].n_att; i++) {
			struct app_ctx *c = mw[w].att[i];
			unsigned int j;
			bool found = false;

			for (j = 0; j < APP_CTX_MAX && !found; j++)
				found = apps.ctx[j] == c;
			check(found, "a worker holds a context the daemon let go");
		}
	check_dying();
	check_uid_contexts();
	check_uid_listens();
}

/* --- the script ----------------------------------------------------------------------------- */

enum {
	A_NEW, A_TEMPLATE, A_RAW, A_FLUSH, A_SHUT, A_READ, A_ARM, A_CATCHUP, A_LISTEN,
	A_UNLISTEN, A_MASS, A_SQUEEZE, A_STEERFAIL, A_LISTEN_MANY, A_MAX
};

static const int attach_errs[] = { 0, -ENOMEM, -EMFILE, -EOPNOTSUPP };

static void arm(unsigned int w, unsigned int code)
{
	if (w >= nw)
		return;
	code &= 7;
	if (code == 4)
		mw[w].arm_call = -ETIMEDOUT;
	else if (code == 5)
		mw[w].arm_again = true;
	else if (code < 4)
		mw[w].arm_attach = attach_errs[code];
}

static struct client *pick(const uint8_t *data, size_t size, size_t *i)
{
	unsigned int k;

	if (*i >= size || !nr_clients)
		return NULL;
	k = data[(*i)++] % nr_clients;
	return clients[k].fd >= 0 ? &clients[k] : NULL;
}

#define NEXT() (i < size ? data[i++] : 0)

/* A worker's LISTEN for one of its contexts, as chan_listen() makes it (family 0: any address). */
static void do_listen(unsigned int w, unsigned int k, unsigned int f, unsigned int p)
{
	static const __u32 any[4], far4[4] = { 0x090200c0 }, far6[4] = { 0xfe, 0, 0, 0x09000000 };
	static const struct {
		int family;
		const __u32 *addr;
	} where[8] = {
		{ 0, any },
		{ IXDP_FAMILY_INET, any },
		{ IXDP_FAMILY_INET, nif.addrs[0].addr },
		{ IXDP_FAMILY_INET, nif.addrs[1].addr },
		{ IXDP_FAMILY_INET6, any },
		{ IXDP_FAMILY_INET6, nif.addrs[2].addr },
		{ IXDP_FAMILY_INET, far4 },	/* not the interface's: 6 and 7 */
		{ IXDP_FAMILY_INET6, far6 },
	};
	const __u16 ports[4] = { 80, 8080, apps.listens.reserved[p >> 2 & 1], 1024 + (p >> 2) };
	struct mworker *m;
	struct mlisten l = { 0 };
	unsigned int i, held;
	int ret;

	if (w >= nw || !mw[w].n_att)
		return;
	m = &mw[w];
	l.c = m->att[k % m->n_att];
	l.family = where[f % 8].family;
	memcpy(l.addr, where[f % 8].addr, 16);
	l.port = ports[p & 3];
	/* chan_listen(): one listen per (context, address, port) on a worker. */
	for (i = 0; i < m->n_lst; i++)
		if (m->lst[i].c == l.c && m->lst[i].family == l.family &&
		    m->lst[i].port == l.port && !memcmp(m->lst[i].addr, l.addr, 16))
			return;
	if (m->n_lst == MW_LISTENS)
		return;
	held = uid_listens(l.c->uid);
	ret = listen_claim(&apps.listens, l.c, l.family, l.addr, l.port, 0);
	/* Short of descriptors, asking the kernel for its listeners fails with EMFILE too. */
	if (ret == -EMFILE && !squeezing)
		check(l.c->uid && held >= UID_LISTENS, "a listen refused EMFILE below uid-listens");
	if (l.port < 1024 && l.c->uid != 0)
		check(ret == -EACCES, "a port below 1024 claimed by a user");
	if (!ports_set_has(&model_app_ports, l.port) && l.c->uid != 0)
		check(ret == -EACCES, "a port outside app-ports claimed by a user");
	else if (l.port >= MODEL_EPH_LO && l.port <= MODEL_EPH_HI && l.c->uid != 0)
		check(ret == -ERANGE, "a port in the kernel's ephemeral range claimed by a user");
	if (l.port == apps.listens.reserved[0] || l.port == apps.listens.reserved[1])
		check(ret != 0, "a diagnostic service's port claimed");
	if ((f % 8) >= 6)
		check(ret != 0, "a listen on an address the interface lacks");
	if (!ret)
		m->lst[m->n_lst++] = l;
}

static void do_unlisten(unsigned int w, unsigned int k)
{
	struct mworker *m;
	struct mlisten l;

	if (w >= nw || !mw[w].n_lst)
		return;
	m = &mw[w];
	k %= m->n_lst;
	l = m->lst[k];
	m->lst[k] = m->lst[--m->n_lst];
	listen_release(&apps.listens, l.family, l.addr, l.port);
}

static void squeeze(unsigned int extra)
{
	struct rlimit r = nofile;
	int lowest = fcntl(0, F_DUPFD_CLOEXEC, 0);

	if (lowest < 0)
		return;
	close(lowest);
	r.rlim_cur = (rlim_t)lowest + extra;
	if (!setrlimit(RLIMIT_NOFILE, &r))
		squeezed = true;
}

static void run_action(const uint8_t *data, size_t size, size_t *ip)
{
	size_t i = *ip;
	unsigned int op = NEXT(), a, b, c, d;
	struct ixdp_ctl_req req;
	struct client *cl;
	bool nopump = op & 0x80;

	switch ((op & 0x7f) % A_MAX) {
	case A_NEW:
		client_new(NEXT());
		break;
	case A_TEMPLATE: /* a request, sent up to a split point; the rest stays queued */
		cl = pick(data, size, &i);
		a = NEXT();
		if (!cl)
			break;
		make_req(a, &req);
		client_queue(cl, &req, sizeof(req));
		client_send_some(cl, cl->out_len - sizeof(req) + ((a >> 3) % 32 ?: 32));
		break;
	case A_RAW: /* bytes from the input, after anything queued */
		cl = pick(data, size, &i);
		a = NEXT();
		a = a < size - i ? a : (unsigned int)(size - i);
		if (cl)
			client_queue(cl, data + i, a);
		i += a;
		if (cl)
			client_flush(cl);
		break;
	case A_FLUSH:
		cl = pick(data, size, &i);
		if (cl)
			client_flush(cl);
		break;
	case A_SHUT: /* disconnect, maybe mid-request */
		cl = pick(data, size, &i);
		a = NEXT();
		if (!cl)
			break;
		if ((a & 3) == 0) {
			client_flush(cl);
			shutdown(cl->fd, SHUT_WR);
			cl->shut_wr = true;
		} else if ((a & 3) == 1) {
			shutdown(cl->fd, SHUT_RD);
			cl->shut_rd = true;
		} else {
			if ((a & 3) == 3)
				client_read(cl);
			client_close(cl);
		}
		break;
	case A_READ:
		cl = pick(data, size, &i);
		if (cl)
			client_read(cl);
		break;
	case A_ARM:
		a = NEXT();
		arm(a % NW_MAX, a >> 4);
		break;
	case A_CATCHUP:
		a = NEXT();
		if (a % NW_MAX < nw)
			mw_catch_up(a % NW_MAX);
		break;
	case A_LISTEN:
		a = NEXT();
		b = NEXT();
		c = NEXT();
		d = NEXT();
		do_listen(a % NW_MAX, b, c, d);
		break;
	case A_UNLISTEN:
		a = NEXT();
		b = NEXT();
		do_unlisten(a % NW_MAX, b);
		break;
	case A_MASS: /* many apps attach, one after another: enough to fill the table, once */
		a = NEXT() % (APP_CTX_MAX + 3);
		if (massed)
			break;
		massed = true;
		make_req(0, &req);
		while (a--) {
			cl = client_new(0);
			if (!cl)
				break;
			client_queue(cl, &req, sizeof(req));
			client_flush(cl);
			pump();
			client_read(cl);
		}
		break;
	case A_SQUEEZE: /* the next action runs short of fds */
		a = NEXT();
		if (i >= size || squeezing)
			break;
		squeeze(a % 12);
		squeezing = true;
		*ip = i;
		run_action(data, size, ip);
		squeezing = false;
		setrlimit(RLIMIT_NOFILE, &nofile);
		return;
	case A_LISTEN_MANY: /* one context on many ports: the registry fills */
		a = NEXT();
		b = NEXT();
		c = NEXT() % (APP_LISTEN_MAX + 3);
		while (c--)
			do_listen(a % NW_MAX, b, 1, 3 | c << 2);
		break;
	case A_STEERFAIL:
		a = NEXT();
		steer_fail_in = 1 + (a & 3);
		steer_fail_code = a & 4 ? -ENOMEM : -E2BIG;
		break;
	}
	*ip = i;
	if (!nopump)
		pump();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	unsigned int i;

	log_max_level = getenv("ATTACH_FUZZ_LOG") ? LOG_LVL_DEBUG : LOG_LVL_ERR;
	strict = true; /* both issues it used to tolerate are fixed in app.c */
	signal(SIGPIPE, SIG_IGN);
	getrlimit(RLIMIT_NOFILE, &nofile);
	snprintf(sock_dir, sizeof(sock_dir), "/tmp/ixdp-attach-fuzz.%d", (int)getpid());
	snprintf(sock_path, sizeof(sock_path), "%s/ctl.sock", sock_dir);
	i = memfd_create("ip_local_port_range", MFD_CLOEXEC);
	check((int)i >= 0 && dprintf(i, "%u\t%u\n", MODEL_EPH_LO, MODEL_EPH_HI) > 0, "range file");
	snprintf(range_path, sizeof(range_path), "/proc/self/fd/%u", i);
	for (i = 0; i < MANY_GROUPS; i++)
		many_groups[i] = 5000 + i;
	many_groups[MANY_GROUPS - 1] = 0;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned int i, w;
	size_t pos = 2;
	int fds_before, flags;

	if (size < 2)
		return 0;
	fds_before = count_fds();
	flags = data[0];
	nw = 1 + (flags & 1);
	group_set = flags & 2;
	attach_set = !(flags & 8);
	memset(mw, 0, sizeof(mw));
	memset(attached_mask, 0, sizeof(attached_mask));
	nr_keys = steer_adds = steer_dels = steer_fail_in = 0;
	nr_clients = connects_since_pump = 0;
	squeezed = squeezing = massed = false;
	memset(workers, 0, sizeof(workers));
	for (w = 0; w < NW_MAX; w++)
		workers[w].id = w;

	epfd = epoll_create1(EPOLL_CLOEXEC);
	check(epfd >= 0, "epoll_create1");
	if (flags & 0x10) /* a typo in app-group: ixdpd stops there */
		check(apps_init(&apps, workers, nw, &the_steer, &nif, epfd,
				"ixdp-fuzz-no-such-group") == -ENOENT, "apps_init with no such group");
	check(apps_init(&apps, workers, nw, &the_steer, &nif, epfd, group_set ? "root" : "") == 0,
	      "apps_init");
	apps.listens.reserved[0] = 7;
	apps.listens.reserved[1] = 9;
	apps.listens.app_ports = model_app_ports;
	apps.listens.local_range = range_path;
	apps.uid_contexts = UID_CONTEXTS;
	apps.listens.uid_listens = UID_LISTENS;
	apps.uid_conns = UID_CONNS;
	check(ctl_open(&ctl, sock_path, epfd, handler, &apps) == 0, "ctl_open");
	if (attach_set)
		ctl_set_attach(&ctl, on_attach, group_set ? apps.group : (gid_t)-1);
	if (flags & 4)
		chmod(sock_path, 0666); /* an operator loosened it: app.c must still check */
	arm(0, data[1]);
	arm(1, data[1] >> 4);

	while (pos < size)
		run_action(data, size, &pos);

	settle();
	check_idle();

	/* Every worker catches up: the next tick frees every dying context, and closes. */
	for (i = 0; i < nr_clients; i++)
		clients[i].was_dying = clients[i].fd >= 0 && !clients[i].shut_rd &&
				       clients[i].attach_replied && !clients[i].attach_status &&
				       dying_ctx(clients[i].ctx_id);
	for (w = 0; w < nw; w++) {
		mw_catch_up(w);
		mw[w].arm_call = mw[w].arm_attach = 0;
		mw[w].arm_again = false;
	}
	apps_tick(&apps);
	for (i = 0; i < APP_CTX_MAX; i++)
		check(!apps.ctx[i] || !apps.ctx[i]->dying, "a dying context left after the tick");
	for (i = 0; i < nr_clients; i++) {
		if (!clients[i].was_dying)
			continue;
		client_read(&clients[i]);
		check(clients[i].eof, "a freed context's connection left open");
	}
	for (w = 0; w < nw; w++)
		for (i = 0; i < mw[w].n_att; i++)
			check(live_ctx(mw[w].att[i]->id) == mw[w].att[i],
			      "a worker holds a context after the tick");
	apps_close(&apps);
	check(apps_count(&apps) == 0, "contexts left after apps_close");
	for (w = 0; w < nw; w++)
		check(mw[w].n_att == 0 && mw[w].n_lst == 0, "a worker still holds a context");
	for (i = 0; i < APP_LISTEN_MAX; i++)
		check(apps.listens.listens[i].refs == 0, "a listen left claimed");
	check(nr_keys == 0 && steer_adds == steer_dels, "service table entries left behind");
	ctl_close(&ctl);
	check(access(sock_path, F_OK) != 0, "socket file left behind");
	rmdir(sock_dir); /* ctl_open() made it */
	for (i = 0; i < nr_clients; i++) {
		client_read(&clients[i]);
		if (clients[i].fd >= 0)
			check(clients[i].eof, "a client still connected after ctl_close");
		client_close(&clients[i]);
	}
	close(epfd);
	epfd = -1;
	check(count_fds() == fds_before, "file descriptors leaked");
	return 0;
}
