// SPDX-License-Identifier: GPL-2.0
/*
 * control.c - both ends of the control protocol: the daemon's non-blocking server and the blocking,
 * time-bounded client call used by ixdpctl.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/control.h"
#include "core/log.h"

/**
 * ctl_buf_reserve - append @len uninitialised bytes.
 * @b:   buffer
 * @len: bytes
 *
 * Return: where they start, or NULL (no memory, or over IXDP_CTL_REPLY_MAX).
 */
void *ctl_buf_reserve(struct ctl_buf *b, size_t len)
{
	void *p;

	if (b->len + len > IXDP_CTL_REPLY_MAX)
		return NULL;
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *d;

		while (cap < b->len + len)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d)
			return NULL;
		b->data = d;
		b->cap = cap;
	}
	p = b->data + b->len;
	b->len += len;
	return p;
}

/**
 * ctl_buf_add - append @len bytes.
 * @b:    buffer
 * @data: bytes
 * @len:  count
 *
 * Return: 0 or -ENOMEM.
 */
int ctl_buf_add(struct ctl_buf *b, const void *data, size_t len)
{
	void *p = ctl_buf_reserve(b, len);

	if (!p)
		return -ENOMEM;
	memcpy(p, data, len);
	return 0;
}

/**
 * ctl_buf_printf - append formatted text with its NUL.
 * @b:   buffer
 * @fmt: printf format
 *
 * Return: 0 or -ENOMEM.
 */
int ctl_buf_printf(struct ctl_buf *b, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return ctl_buf_add(b, text, strlen(text) + 1);
}

/* Is a daemon answering on @path?  (Otherwise the socket file is stale.) */
static int ctl_in_use(const char *path)
{
	int fd = ctl_connect(path, 1000);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/*
 * The socket's directory: opened without following a symbolic link in its last component, and
 * refused unless nobody but root or ixdpd's own user can change what is in it.  A directory
 * others may write to lets them swap the socket for a symbolic link or their own socket between
 * our checks and our bind or chmod; the sticky bit (as on /tmp) stops them removing or renaming
 * entries that are not theirs, so such a directory is accepted.
 *
 * Return: an O_PATH descriptor of the directory, or a negative errno (logged).
 */
static int ctl_open_dir(const char *dir)
{
	struct stat st;
	int fd, ret;

	fd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		if (errno == ELOOP || errno == ENOTDIR)
			pr_err("control: %s is not a directory (a symbolic link is not followed)",
			       dir);
		else
			pr_err("control: %s: %s", dir, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		goto err;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		pr_err("control: %s belongs to uid %u, not to root or ixdpd's user", dir,
		       (unsigned int)st.st_uid);
		ret = -EPERM;
		goto err;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		pr_err("control: %s is writable by group or others (mode %04o) and not sticky: "
		       "another user could replace the socket", dir, st.st_mode & 07777);
		ret = -EPERM;
		goto err;
	}
	return fd;
err:
	close(fd);
	return ret;
}

/*
 * What is at the socket's name in @dirfd now: nothing, or a socket nobody answers on (a stale
 * one, removed here).  A symbolic link or any other file is never removed or followed.
 */
static int ctl_clear_name(int dirfd, const char *name, const char *path)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? 0 : -errno;
	if (S_ISLNK(st.st_mode)) {
		pr_err("control: %s is a symbolic link: not replaced", path);
		return -ELOOP;
	}
	if (!S_ISSOCK(st.st_mode)) {
		pr_err("control: %s exists and is not a socket: not replaced", path);
		return -EEXIST;
	}
	if (ctl_in_use(path)) {
		pr_err("control: another ixdpd answers on %s", path);
		return -EADDRINUSE;
	}
	if (unlinkat(dirfd, name, 0) && errno != ENOENT)
		return -errno;
	return 0;
}

/**
 * ctl_open - listen on @path (its directory is created if missing).
 * @c:       server state
 * @path:    socket path (absolute)
 * @epfd:    epoll instance of the control thread
 * @handler: called for every complete request
 * @ctx:     handler argument
 *
 * The directory must be owned by root or ixdpd's user and not writable by group or others
 * unless sticky; a symbolic link, as the directory or at @path, is not followed, and nothing
 * but a stale socket at @path is replaced (docs/security.md).
 *
 * Return: 0, -EADDRINUSE if another ixdpd answers on @path, -EPERM (the directory's owner or
 * mode), -ELOOP (a symbolic link at @path), -ENOTDIR, -EEXIST (another kind of file at @path),
 * or another negative errno.
 */
int ctl_open(struct ctl *c, const char *path, int epfd, ctl_handler_t handler, void *ctx)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN };
	char dir[sizeof(c->path)], *slash;
	const char *name;
	struct stat st;
	int i, ret, dirfd;

	memset(c, 0, sizeof(*c));
	c->listen_fd = -1;
	for (i = 0; i < CTL_CLIENTS_MAX; i++)
		c->clients[i].fd = -1;
	c->epfd = epfd;
	c->handler = handler;
	c->ctx = ctx;
	snprintf(c->path, sizeof(c->path), "%s", path);

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || !slash[1]) {
		pr_err("control: %s is not an absolute path to a file", path);
		return -EINVAL;
	}
	name = path + (slash - dir) + 1;
	if (slash == dir) {
		dir[1] = '\0'; /* the root directory */
	} else {
		*slash = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST) {
			ret = -errno;
			pr_err("control: cannot create %s: %s", dir, strerror(errno));
			return ret;
		}
	}
	dirfd = ctl_open_dir(dir);
	if (dirfd < 0)
		return dirfd;
	ret = ctl_clear_name(dirfd, name, path);
	if (ret)
		goto err_dir;

	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0) {
		ret = -errno;
		goto err_dir;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (bind(c->listen_fd, (struct sockaddr *)&sun, sizeof(sun))) {
		ret = -errno;
		pr_err("control: %s: %s", path, strerror(errno));
		close(c->listen_fd);
		c->listen_fd = -1;
		goto err_dir;
	}
	/* Ours now, in a directory nobody else can change: chmod cannot be led elsewhere. */
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW))
		ret = -errno;
	else if (!S_ISSOCK(st.st_mode))
		ret = -EIO;
	else if (fchmodat(dirfd, name, 0660, 0) || listen(c->listen_fd, CTL_CLIENTS_MAX))
		ret = -errno;
	if (ret) {
		pr_err("control: %s: %s", path, strerror(-ret));
		goto err;
	}
	ev.data.fd = c->listen_fd;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->listen_fd, &ev)) {
		ret = -errno;
		goto err;
	}
	close(dirfd);
	return 0;
err:
	close(c->listen_fd);
	c->listen_fd = -1;
	unlinkat(dirfd, name, 0);
err_dir:
	close(dirfd);
	return ret;
}

static void ctl_drop(struct ctl *c, struct ctl_client *cl)
{
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
	close(cl->fd);
	free(cl->out.data);
	memset(cl, 0, sizeof(*cl));
	cl->fd = -1;
}

/**
 * ctl_close - drop every client, stop listening, remove the socket file.
 * @c: server state; safe if ctl_open() failed
 */
void ctl_close(struct ctl *c)
{
	int i;

	for (i = 0; i < CTL_CLIENTS_MAX; i++)
		if (c->clients[i].fd >= 0)
			ctl_drop(c, &c->clients[i]);
	if (c->listen_fd >= 0) {
		close(c->listen_fd);
		unlink(c->path);
	}
	c->listen_fd = -1;
}

static struct ctl_client *ctl_client(struct ctl *c, int fd)
{
	int i;

	for (i = 0; i < CTL_CLIENTS_MAX; i++)
		if (c->clients[i].fd == fd)
			return &c->clients[i];
	return NULL;
}

/**
 * ctl_owns - is @fd the listening socket or one of the clients?
 * @c:  server state
 * @fd: file descriptor from epoll
 *
 * Return: 1 or 0.
 */
int ctl_owns(const struct ctl *c, int fd)
{
	return fd == c->listen_fd || ctl_client((struct ctl *)c, fd) != NULL;
}

/*
 * Refuse a client over its user's share with one reply (op 0, -EUSERS, a message), sent
 * without waiting: it is the first thing on a fresh connection, so it fits.  A client that
 * sends its request first reads it as the answer (ctl_call()); then the connection is closed.
 */
static void ctl_refuse(int fd, uid_t uid, unsigned int held, unsigned int free_slots)
{
	struct {
		struct ixdp_ctl_reply rep;
		char msg[128];
	} r;
	size_t n;

	if (held >= CTL_UID_SLOTS)
		snprintf(r.msg, sizeof(r.msg), "uid %u holds %u of the %u control connections",
			 uid, held, CTL_CLIENTS_MAX);
	else
		snprintf(r.msg, sizeof(r.msg), "control connections busy: the last %u of %u are "
			 "root's", free_slots, CTL_CLIENTS_MAX);
	n = strlen(r.msg) + 1;
	r.rep = (struct ixdp_ctl_reply){ .magic = IXDP_CTL_MAGIC, .version = IXDP_CTL_VERSION,
					 .status = -EUSERS, .len = n };
	if (send(fd, &r, sizeof(r.rep) + n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		pr_debug("control: refusal not sent: %s", strerror(errno));
	pr_warn("control: refusing a client: %s", r.msg);
	close(fd);
}

/*
 * Take a new client.  Slots are shared fairly: a user other than root (and ixdpd's own user)
 * holds at most CTL_UID_SLOTS at once and never one of the last CTL_ROOT_SLOTS free ones, so
 * root's ixdpctl gets in however many clients the others hold.  Attached apps have left the
 * table (ctl_hand_over()): only clients with a request outstanding hold a slot.
 */
static void ctl_accept(struct ctl *c)
{
	struct ctl_client *cl = NULL;
	struct epoll_event ev = { .events = EPOLLIN };
	unsigned int held = 0, free_slots = 0;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd, i;

	fd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
		pr_warn("control: refusing a client (%s)", strerror(errno));
		close(fd);
		return;
	}
	for (i = 0; i < CTL_CLIENTS_MAX; i++) {
		if (c->clients[i].fd < 0) {
			free_slots++;
			if (!cl)
				cl = &c->clients[i];
		} else {
			held += c->clients[i].uid == cred.uid;
		}
	}
	if (!cl) {
		pr_warn("control: refusing a client (too many)");
		close(fd);
		return;
	}
	if (cred.uid != 0 && cred.uid != geteuid() &&
	    (held >= CTL_UID_SLOTS || free_slots <= CTL_ROOT_SLOTS)) {
		ctl_refuse(fd, cred.uid, held, free_slots);
		return;
	}
	ev.data.fd = fd;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		close(fd);
		return;
	}
	cl->fd = fd;
	cl->uid = cred.uid;
	cl->in_len = 0;
	cl->deadline_ms = clock_now_ms() + CTL_TIMEOUT_MS;
}

/* Send what is buffered; 1 when all is out, 0 when the socket is full, -1 on error. */
static int ctl_flush(struct ctl_client *cl)
{
	while (cl->out_off < cl->out.len) {
		ssize_t n = send(cl->fd, cl->out.data + cl->out_off, cl->out.len - cl->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		cl->out_off += n;
	}
	cl->out.len = cl->out_off = 0;
	return 1;
}

/**
 * ctl_set_attach - hand IXDP_CTL_APP_ATTACH connections to @attach; let @group connect.
 * @c:      server state (open)
 * @attach: takes the connection over
 * @group:  group owning the socket file (mode 0660), or (gid_t)-1 to leave it root's
 */
void ctl_set_attach(struct ctl *c, ctl_attach_t attach, gid_t group)
{
	c->attach = attach;
	if (group != (gid_t)-1 &&
	    fchownat(AT_FDCWD, c->path, (uid_t)-1, group, AT_SYMLINK_NOFOLLOW))
		pr_warn("control: cannot give %s to group %u: %s", c->path, group, strerror(errno));
}

/* The client asked to attach an app: its connection leaves the control server. */
static void ctl_hand_over(struct ctl *c, struct ctl_client *cl)
{
	struct ixdp_ctl_req req = cl->req;
	int fd = cl->fd;

	epoll_ctl(c->epfd, EPOLL_CTL_DEL, fd, NULL);
	free(cl->out.data);
	memset(cl, 0, sizeof(*cl));
	cl->fd = -1;
	c->attach(c->ctx, fd, &req);
}

static void ctl_answer(struct ctl *c, struct ctl_client *cl)
{
	struct ixdp_ctl_reply *rep;
	struct epoll_event ev = { .events = EPOLLOUT };
	int status;

	if (cl->req.magic == IXDP_CTL_MAGIC && cl->req.version == IXDP_CTL_VERSION &&
	    cl->req.op == IXDP_CTL_APP_ATTACH && c->attach) {
		ctl_hand_over(c, cl);
		return;
	}
	cl->out.len = cl->out_off = 0;
	if (!ctl_buf_reserve(&cl->out, sizeof(*rep))) {
		ctl_drop(c, cl);
		return;
	}
	if (cl->req.magic != IXDP_CTL_MAGIC || cl->req.version != IXDP_CTL_VERSION) {
		status = -EPROTO;
		ctl_buf_printf(&cl->out, "control protocol mismatch: daemon speaks version %u",
			       IXDP_CTL_VERSION);
	} else {
		status = c->handler(c->ctx, &cl->req, cl->uid, &cl->out);
		if (status && cl->out.len == sizeof(*rep))
			ctl_buf_printf(&cl->out, "%s", strerror(-status));
	}
	rep = (struct ixdp_ctl_reply *)cl->out.data;
	*rep = (struct ixdp_ctl_reply){
		.magic = IXDP_CTL_MAGIC,
		.version = IXDP_CTL_VERSION,
		.op = cl->req.op,
		.status = status,
		.len = cl->out.len - sizeof(*rep),
	};
	cl->in_len = 0;
	cl->deadline_ms = clock_now_ms() + CTL_TIMEOUT_MS;
	switch (ctl_flush(cl)) {
	case 1:
		return;
	case 0:
		ev.data.fd = cl->fd;
		epoll_ctl(c->epfd, EPOLL_CTL_MOD, cl->fd, &ev);
		return;
	default:
		ctl_drop(c, cl);
	}
}

/**
 * ctl_event - handle readiness of a socket ctl_owns().
 * @c:      server state
 * @fd:     the socket
 * @events: epoll events
 */
void ctl_event(struct ctl *c, int fd, unsigned int events)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct ctl_client *cl;
	ssize_t n;

	if (fd == c->listen_fd) {
		ctl_accept(c);
		return;
	}
	cl = ctl_client(c, fd);
	if (!cl)
		return;
	if (events & EPOLLOUT) {
		int r = ctl_flush(cl);

		if (r < 0) {
			ctl_drop(c, cl);
		} else if (r > 0) {
			ev.data.fd = fd;
			epoll_ctl(c->epfd, EPOLL_CTL_MOD, fd, &ev);
		}
		return;
	}
	n = recv(fd, (char *)&cl->req + cl->in_len, sizeof(cl->req) - cl->in_len, MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		ctl_drop(c, cl);
		return;
	}
	if (n < 0)
		return;
	cl->in_len += n;
	if (cl->in_len == sizeof(cl->req))
		ctl_answer(c, cl);
}

/**
 * ctl_expire - drop clients that sent nothing complete (or read nothing) for CTL_TIMEOUT_MS.
 * @c: server state
 */
void ctl_expire(struct ctl *c)
{
	unsigned long long now = clock_now_ms();
	int i;

	for (i = 0; i < CTL_CLIENTS_MAX; i++)
		if (c->clients[i].fd >= 0 && now > c->clients[i].deadline_ms)
			ctl_drop(c, &c->clients[i]);
}

/**
 * ctl_connect - connect to a daemon's control socket.
 * @path:       socket path
 * @timeout_ms: bound on the connect
 *
 * Return: a connected socket, or a negative errno.
 */
int ctl_connect(const char *path, int timeout_ms)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	int fd, ret;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/* Read exactly @len bytes, waiting at most until @deadline. */
static int ctl_read_full(int fd, void *buf, size_t len, unsigned long long deadline)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = (long long)(deadline - clock_now_ms());
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -ETIMEDOUT;
		n = recv(fd, (char *)buf + got, len - got, 0);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		got += n;
	}
	return 0;
}

/**
 * ctl_call - send one request and read its reply.
 * @fd:         connected control socket
 * @req:        request (magic and version are filled in here)
 * @rep:        receives the reply header
 * @payload:    receives a malloc'ed payload (NUL-terminated, may be NULL when len is 0)
 * @timeout_ms: bound on the whole exchange
 *
 * Return: 0 when a reply arrived (check rep->status), or a negative errno: -EPROTO for a reply
 * of another protocol version, -ETIMEDOUT, -ECONNRESET, -ENOMEM.
 */
int ctl_call(int fd, const struct ixdp_ctl_req *req, struct ixdp_ctl_reply *rep, void **payload,
	     int timeout_ms)
{
	unsigned long long deadline = clock_now_ms() + timeout_ms;
	struct ixdp_ctl_req r = *req;
	char *buf;
	int ret;

	*payload = NULL;
	r.magic = IXDP_CTL_MAGIC;
	r.version = IXDP_CTL_VERSION;
	if (send(fd, &r, sizeof(r), MSG_NOSIGNAL) != sizeof(r))
		return -errno ?: -EIO;
	ret = ctl_read_full(fd, rep, sizeof(*rep), deadline);
	if (ret)
		return ret;
	if (rep->magic != IXDP_CTL_MAGIC || rep->version != IXDP_CTL_VERSION ||
	    rep->len > IXDP_CTL_REPLY_MAX)
		return -EPROTO;
	buf = malloc(rep->len + 1);
	if (!buf)
		return -ENOMEM;
	ret = ctl_read_full(fd, buf, rep->len, deadline);
	if (ret) {
		free(buf);
		return ret;
	}
	buf[rep->len] = '\0';
	*payload = buf;
	return 0;
}
