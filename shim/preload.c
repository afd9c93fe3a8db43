// SPDX-License-Identifier: BSD-2-Clause
/*
 * preload.c - the calls libix-preload.so takes over from libc (docs/shim.md).
 *
 * Each looks its fd up in the fd table first: libc's fds go straight to libc, with no lock and
 * nothing else done, so the shim costs an unmodified app's other fds one table read.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "shim.h"

__attribute__((constructor)) static void shim_init(void)
{
	const char *v;

	shim_libc_init();
	shim_exec_init();
	shim_sock_init();
	v = getenv("IXDP_DEBUG");
	shim.debug = v && *v && strcmp(v, "0");
	v = getenv("IXDP_FALLBACK");
	shim.fallback = v && !strcmp(v, "kernel");
	v = getenv("IXDP_SPIN_US");
	shim.spin_us = v ? (unsigned int)strtoul(v, NULL, 10) : IX_SPIN_US;
	v = getenv("IXDP_CONTROL");
	shim.control = v ? strdup(v) : NULL;	/* NULL: libix's default */
	v = getenv("IXDP_CONTEXTS");
	shim.max_ctx = v ? (unsigned int)strtoul(v, NULL, 10) : SHIM_CTX_DEFAULT;
	if (shim.max_ctx < 1 || shim.max_ctx > SHIM_CTX_MAX) {
		shim_log("libix-preload: IXDP_CONTEXTS=%s: not 1 to %u, %u it is", v, SHIM_CTX_MAX,
			 SHIM_CTX_DEFAULT);
		shim.max_ctx = SHIM_CTX_DEFAULT;
	}
}

__attribute__((destructor)) static void shim_fini(void)
{
	shim_sock_exit();
}

static struct shim_sock *shim_sock_of(int fd)
{
	return shim_fd_get(fd, SHIM_FD_SOCK);
}

/* --- sockets ----------------------------------------------------------------------------- */

SHIM_API int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct shim_sock *s = shim_sock_of(fd);
	int ret;

	if (s && s->type == SHIM_CONN)
		return shim_connect_again(s);
	if (s)	/* a listener: its kernel socket answers */
		return SHIM_LIBC(connect)(fd, addr, len);
	ret = shim_connect(fd, addr, len);
	return ret == SHIM_KERNEL ? SHIM_LIBC(connect)(fd, addr, len) : ret;
}

SHIM_API int listen(int fd, int backlog)
{
	struct shim_sock *s = shim_sock_of(fd);

	if (!s)
		return shim_listen(fd, backlog);
	/* again: a new backlog (listen(fd, 0) pauses nothing on Linux either) */
	pthread_mutex_lock(&shim.lock);
	s->backlog = backlog;
	pthread_mutex_unlock(&shim.lock);
	return SHIM_LIBC(listen)(fd, backlog);
}

SHIM_API int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	struct shim_sock *s = shim_sock_of(fd);

	if (!s)
		return SHIM_LIBC(accept4)(fd, addr, len, flags);
	if (s->type != SHIM_LISTENER) {
		errno = EINVAL;
		return -1;
	}
	return shim_accept(s, addr, len, flags);
}

SHIM_API int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	return accept4(fd, addr, len, 0);
}

SHIM_API int shutdown(int fd, int how)
{
	struct shim_sock *s = shim_sock_of(fd);

	return s ? shim_shutdown(s, how) : SHIM_LIBC(shutdown)(fd, how);
}

/* What close() does for the shim's part of @fd, before the kernel closes it. */
static void shim_forget(int fd)
{
	struct shim_sock *s = shim_sock_of(fd);

	if (s)
		shim_sock_put(fd, s);
	else if (shim_fd_get(fd, SHIM_FD_EPOLL))
		shim_epoll_close(fd);
}

SHIM_API int close(int fd)
{
	shim_forget(fd);
	return SHIM_LIBC(close)(fd);
}

/*
 * close_range(2): the fds it closes leave the shim first (a number the kernel hands out again
 * must not still name an ixdp socket).  Arguments the kernel refuses go to it untouched.
 */
SHIM_API int close_range(unsigned int first, unsigned int last, int flags)
{
	if (first <= last && !(flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)) &&
	    !(flags & CLOSE_RANGE_CLOEXEC))
		shim_fd_each(first, last, shim_forget);
	return SHIM_LIBC(close_range)(first, last, flags);
}

SHIM_API int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	struct shim_sock *s = shim_sock_of(fd);

	if (!s || s->type == SHIM_LISTENER)
		return SHIM_LIBC(getsockname)(fd, addr, len);
	return shim_sock_name(s, 0, addr, len);
}

SHIM_API int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
	struct shim_sock *s = shim_sock_of(fd);

	if (!s || s->type == SHIM_LISTENER)
		return SHIM_LIBC(getpeername)(fd, addr, len);
	return shim_sock_name(s, 1, addr, len);
}

/* SO_RCVTIMEO/SO_SNDTIMEO (either ABI's name) of a connection: where the shim keeps it. */
static unsigned int *shim_timeo_of(struct shim_sock *s, int level, int name)
{
	if (!s || s->type != SHIM_CONN || level != SOL_SOCKET)
		return NULL;
	if (name == SO_RCVTIMEO_OLD || name == SO_RCVTIMEO_NEW)
		return &s->rcvtimeo_ms;
	if (name == SO_SNDTIMEO_OLD || name == SO_SNDTIMEO_NEW)
		return &s->sndtimeo_ms;
	return NULL;
}

SHIM_API int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	struct shim_sock *s = shim_sock_of(fd);
	unsigned int *timeo = shim_timeo_of(s, level, name);

	if (s && s->type == SHIM_CONN && level == SOL_SOCKET && name == SO_ERROR) {
		if (!val || !len || *len < sizeof(int)) {
			errno = EINVAL;
			return -1;
		}
		pthread_mutex_lock(&shim.lock);
		*(int *)val = shim_conn_err(s) && !s->err_told ? -shim_conn_err(s) : 0;
		s->err_told |= shim_conn_err(s) != 0;
		pthread_mutex_unlock(&shim.lock);
		*len = sizeof(int);
		return 0;
	}
	if (timeo) {
		/* struct timeval and the _NEW names' __kernel_sock_timeval agree on 64-bit */
		struct timeval tv = { 0, 0 };
		unsigned int ms = *timeo == SHIM_TIMEO_NOW ? 0 : *timeo;

		if (!val || !len) {
			errno = EFAULT;
			return -1;
		}
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		*len = *len < sizeof(tv) ? *len : sizeof(tv);	/* the kernel truncates too */
		memcpy(val, &tv, *len);
		return 0;
	}
	/* the rest from the fd's kernel socket: type, domain, buffer sizes, options as set */
	return SHIM_LIBC(getsockopt)(fd, level, name, val, len);
}

SHIM_API int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	struct shim_sock *s = shim_sock_of(fd);
	unsigned int *timeo = shim_timeo_of(s, level, name);
	struct timeval tv;

	if (timeo) {
		/*
		 * Kept per connection (its fd is a dup of one shared sentinel socket) and
		 * honoured by shim_recv()/shim_send(), as sock_set_timeout() checks it.
		 */
		if (!val || len < sizeof(tv)) {
			errno = EINVAL;
			return -1;
		}
		memcpy(&tv, val, sizeof(tv));
		if (tv.tv_usec < 0 || tv.tv_usec >= 1000000) {
			errno = EDOM;
			return -1;
		}
		if (tv.tv_sec < 0)
			*timeo = SHIM_TIMEO_NOW;
		else if (tv.tv_sec >= (UINT_MAX - 1) / 1000 - 1)
			*timeo = 0;	/* as good as never */
		else
			*timeo = (unsigned int)(tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000);
		return 0;
	}
	/*
	 * TCP_CORK holds a connection's bytes back in ixev (a reply written in pieces leaves in
	 * one SEND, as nginx's tcp_nopush wants); uncorking sends them now.  The value goes to the
	 * sentinel dup too, so getsockopt() reads it back.
	 */
	if (s && s->type == SHIM_CONN && level == IPPROTO_TCP && name == TCP_CORK && val &&
	    len >= sizeof(int)) {
		int on = *(const int *)val;

		pthread_mutex_lock(&shim.lock);
		if (!shim.dead && !s->connecting && !s->dial_err && !ixev_cork(&s->ixc, on) && !on)
			shim_drain(s->ctx);
		pthread_mutex_unlock(&shim.lock);
	}
	/*
	 * A connection's other options go to its sentinel dup, where they are accepted and
	 * harmless (TCP_NODELAY, keepalive, linger, buffer sizes): the daemon's stack sends at
	 * once and keeps its own timers.
	 */
	return SHIM_LIBC(setsockopt)(fd, level, name, val, len);
}

/* --- data ---------------------------------------------------------------------------------- */

SHIM_API ssize_t read(int fd, void *buf, size_t len)
{
	struct shim_sock *s = shim_sock_of(fd);
	struct iovec iov = { buf, len };

	return s ? shim_recv(s, &iov, 1, 0) : SHIM_LIBC(read)(fd, buf, len);
}

SHIM_API ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
	if (len > buflen)
		abort();	/* what glibc's fortify does */
	return read(fd, buf, len);
}

SHIM_API ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
	struct shim_sock *s = shim_sock_of(fd);

	return s ? shim_recv(s, iov, iovcnt, 0) : SHIM_LIBC(readv)(fd, iov, iovcnt);
}

SHIM_API ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
			  socklen_t *alen)
{
	struct shim_sock *s = shim_sock_of(fd);
	struct iovec iov = { buf, len };

	if (!s)
		return SHIM_LIBC(recvfrom)(fd, buf, len, flags, addr, alen);
	if (addr && alen)
		*alen = 0;	/* a connected stream socket names no sender */
	return shim_recv(s, &iov, 1, flags);
}

SHIM_API ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	return recvfrom(fd, buf, len, flags, NULL, NULL);
}

SHIM_API ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
	if (len > buflen)
		abort();
	return recv(fd, buf, len, flags);
}

SHIM_API ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
				struct sockaddr *addr, socklen_t *alen)
{
	if (len > buflen)
		abort();
	return recvfrom(fd, buf, len, flags, addr, alen);
}

SHIM_API ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct shim_sock *s = shim_sock_of(fd);
	ssize_t n;

	if (!s)
		return SHIM_LIBC(recvmsg)(fd, msg, flags);
	n = shim_recv(s, msg->msg_iov, (int)msg->msg_iovlen, flags);
	if (n >= 0) {
		msg->msg_namelen = 0;
		msg->msg_controllen = 0;
		msg->msg_flags = 0;
	}
	return n;
}

SHIM_API ssize_t write(int fd, const void *buf, size_t len)
{
	struct shim_sock *s = shim_sock_of(fd);
	struct iovec iov = { (void *)buf, len };

	return s ? shim_send(s, &iov, 1, 0) : SHIM_LIBC(write)(fd, buf, len);
}

SHIM_API ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	struct shim_sock *s = shim_sock_of(fd);

	return s ? shim_send(s, iov, iovcnt, 0) : SHIM_LIBC(writev)(fd, iov, iovcnt);
}

SHIM_API ssize_t sendto(int fd, const void *buf, size_t len, int flags,
			const struct sockaddr *addr, socklen_t alen)
{
	struct shim_sock *s = shim_sock_of(fd);
	struct iovec iov = { (void *)buf, len };

	if (!s)
		return SHIM_LIBC(sendto)(fd, buf, len, flags, addr, alen);
	return shim_send(s, &iov, 1, flags);	/* the address of a connected stream is ignored */
}

SHIM_API ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	return sendto(fd, buf, len, flags, NULL, 0);
}

SHIM_API ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct shim_sock *s = shim_sock_of(fd);

	if (!s)
		return SHIM_LIBC(sendmsg)(fd, msg, flags);
	return shim_send(s, msg->msg_iov, (int)msg->msg_iovlen, flags);
}

#define SHIM_SENDFILE_CHUNK (64u << 10)

/*
 * sendfile(2) to an ixdp connection: the file read in chunks (pread(), so the file position
 * moves only by what was sent) and sent as write() would.
 */
SHIM_API ssize_t sendfile(int out, int in, off_t *off, size_t count)
{
	struct shim_sock *s = shim_sock_of(out);
	off_t pos = off ? *off : lseek(in, 0, SEEK_CUR);
	size_t done = 0;
	char *buf;

	if (!s)
		return SHIM_LIBC(sendfile)(out, in, off, count);
	if (pos < 0)
		return -1;	/* ESPIPE: not a seekable file, as the kernel's sendfile says */
	buf = malloc(SHIM_SENDFILE_CHUNK);
	if (!buf) {
		errno = ENOMEM;
		return -1;
	}
	while (done < count) {
		size_t want = count - done < SHIM_SENDFILE_CHUNK ? count - done : SHIM_SENDFILE_CHUNK;
		ssize_t r = pread(in, buf, want, pos + (off_t)done), n;
		struct iovec iov = { buf, 0 };

		if (r <= 0) {
			if (r < 0 && !done)
				goto fail;
			break;		/* end of file */
		}
		iov.iov_len = (size_t)r;
		n = shim_send(s, &iov, 1, 0);
		if (n < 0) {
			if (!done)
				goto fail;
			break;
		}
		done += (size_t)n;
		if (n < r)
			break;		/* the socket is full: what fit */
	}
	free(buf);
	if (off)
		*off = pos + (off_t)done;
	else
		lseek(in, pos + (off_t)done, SEEK_SET);
	return (ssize_t)done;
fail:
	free(buf);
	return -1;
}

/* sendfile64: the same on LP64 (off64_t is off_t) */
SHIM_API ssize_t sendfile64(int out, int in, off_t *off, size_t count)
	__attribute__((alias("sendfile")));

/* --- descriptors ----------------------------------------------------------------------------- */

static int shim_fcntl(int fd, int cmd, long arg)
{
	struct shim_sock *s = shim_sock_of(fd);

	if (!s)
		return SHIM_LIBC(fcntl)(fd, cmd, arg);
	switch (cmd) {
	case F_GETFL: {
		/* O_NONBLOCK is the shim's: a listener's kernel socket is always non-blocking */
		int fl = s->type == SHIM_LISTENER ? SHIM_LIBC(fcntl)(fd, cmd) : O_RDWR;

		if (fl < 0)
			return fl;
		return (fl & ~O_NONBLOCK) | (s->nonblock ? O_NONBLOCK : 0);
	}
	case F_SETFL:
		pthread_mutex_lock(&shim.lock);
		s->nonblock = !!(arg & O_NONBLOCK);
		pthread_mutex_unlock(&shim.lock);
		/* a connection's fd shares its open file with the sentinel's other dups */
		if (s->type == SHIM_LISTENER)
			return SHIM_LIBC(fcntl)(fd, cmd, arg | O_NONBLOCK);
		return 0;
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		return shim_dup(fd, s, SHIM_LIBC(fcntl)(fd, cmd, arg), 0);
	}
	return SHIM_LIBC(fcntl)(fd, cmd, arg);
}

SHIM_API int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	return shim_fcntl(fd, cmd, arg);
}

/* what a program built with _FILE_OFFSET_BITS=64 calls (Debian builds most that way) */
SHIM_API int fcntl64(int fd, int cmd, ...) __attribute__((alias("fcntl")));

SHIM_API int ioctl(int fd, unsigned long req, ...)
{
	struct shim_sock *s = shim_sock_of(fd);
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!s)
		return SHIM_LIBC(ioctl)(fd, req, arg);
	if (req == FIONBIO) {
		if (!arg) {
			errno = EFAULT;
			return -1;
		}
		pthread_mutex_lock(&shim.lock);
		s->nonblock = *(int *)arg != 0;
		pthread_mutex_unlock(&shim.lock);
		return 0;	/* the kernel's side stays as it is (see F_SETFL) */
	}
	if (req == FIONREAD && s->type == SHIM_CONN) {
		if (!arg) {
			errno = EFAULT;
			return -1;
		}
		pthread_mutex_lock(&shim.lock);
		shim_drain(s->ctx);
		*(int *)arg = s->ixc.rx_len > INT32_MAX ? INT32_MAX : (int)s->ixc.rx_len;
		pthread_mutex_unlock(&shim.lock);
		return 0;
	}
	return SHIM_LIBC(ioctl)(fd, req, arg);
}

SHIM_API int dup(int fd)
{
	struct shim_sock *s = shim_sock_of(fd);

	return s ? shim_dup(fd, s, SHIM_LIBC(dup)(fd), 0) : SHIM_LIBC(dup)(fd);
}

SHIM_API int dup3(int fd, int newfd, int flags)
{
	struct shim_sock *s = shim_sock_of(fd), *old = shim_sock_of(newfd);

	if (fd == newfd) {
		errno = EINVAL;
		return -1;
	}
	if (old)		/* dup3 closes what newfd named */
		shim_sock_put(newfd, old);
	else if (shim_fd_get(newfd, SHIM_FD_EPOLL))
		shim_epoll_close(newfd);
	return s ? shim_dup(fd, s, SHIM_LIBC(dup3)(fd, newfd, flags), flags) :
		   SHIM_LIBC(dup3)(fd, newfd, flags);
}

SHIM_API int dup2(int fd, int newfd)
{
	if (fd == newfd)	/* dup2 of itself checks fd and does nothing */
		return SHIM_LIBC(fcntl)(fd, F_GETFD) < 0 ? -1 : newfd;
	return dup3(fd, newfd, 0);
}

/* --- waiting ---------------------------------------------------------------------------------- */

SHIM_API int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	if (!shim_sock_of(fd))
		return SHIM_LIBC(epoll_ctl)(epfd, op, fd, ev);
	return shim_epoll_ctl(epfd, op, fd, ev);
}

SHIM_API int epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout)
{
	if (!shim_fd_get(epfd, SHIM_FD_EPOLL))
		return SHIM_LIBC(epoll_wait)(epfd, evs, max, timeout);
	return shim_epoll_wait(epfd, evs, max, timeout, NULL);
}

SHIM_API int epoll_pwait(int epfd, struct epoll_event *evs, int max, int timeout,
			 const sigset_t *mask)
{
	if (!shim_fd_get(epfd, SHIM_FD_EPOLL))
		return SHIM_LIBC(epoll_pwait)(epfd, evs, max, timeout, mask);
	return shim_epoll_wait(epfd, evs, max, timeout, mask);
}

SHIM_API int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	nfds_t i;

	for (i = 0; i < n; i++)
		if (shim_sock_of(fds[i].fd))
			return shim_poll(fds, n, timeout);
	return SHIM_LIBC(poll)(fds, n, timeout);
}

SHIM_API int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen)
{
	if (fdslen / sizeof(*fds) < n)
		abort();
	return poll(fds, n, timeout);
}

static int shim_ts_ms(const struct timespec *ts)
{
	long long ms;

	if (!ts)
		return -1;
	ms = (long long)ts->tv_sec * 1000 + (ts->tv_nsec + 999999) / 1000000;
	return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

/* poll() with @mask as the thread's signal mask meanwhile (not atomic with the wait's start). */
static int shim_poll_masked(struct pollfd *fds, nfds_t n, int ms, const sigset_t *mask)
{
	sigset_t old;
	int ret, err;

	if (mask && pthread_sigmask(SIG_SETMASK, mask, &old))
		return -1;
	ret = shim_poll(fds, n, ms);
	err = errno;
	if (mask)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = err;
	return ret;
}

SHIM_API int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *tmo,
		   const sigset_t *mask)
{
	nfds_t i;

	for (i = 0; i < n; i++)
		if (shim_sock_of(fds[i].fd))
			return shim_poll_masked(fds, n, shim_ts_ms(tmo), mask);
	return SHIM_LIBC(ppoll)(fds, n, tmo, mask);
}

SHIM_API int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *tmo,
			 const sigset_t *mask, size_t fdslen)
{
	if (fdslen / sizeof(*fds) < n)
		abort();
	return ppoll(fds, n, tmo, mask);
}

SHIM_API int epoll_pwait2(int epfd, struct epoll_event *evs, int max,
			  const struct timespec *tmo, const sigset_t *mask)
{
	if (!shim_fd_get(epfd, SHIM_FD_EPOLL)) {
		if (!shim_libc.epoll_pwait2) {
			errno = ENOSYS;
			return -1;
		}
		return SHIM_LIBC(epoll_pwait2)(epfd, evs, max, tmo, mask);
	}
	return shim_epoll_wait(epfd, evs, max, shim_ts_ms(tmo), mask);
}

/*
 * select()/pselect() over sets holding an ixdp socket: done as poll() (read: POLLIN, write:
 * POLLOUT, except: POLLPRI), the sets rewritten as select() leaves them.  The timeout is not
 * updated with the time left.  Return: bits set, 0, or -1 with errno.
 */
static int shim_select(int nfds, fd_set *r, fd_set *w, fd_set *e, int ms, const sigset_t *mask)
{
	struct pollfd *pfd;
	int fd, n = 0, ret, bits = 0;

	pfd = calloc((size_t)nfds, sizeof(*pfd));
	if (!pfd) {
		errno = ENOMEM;
		return -1;
	}
	for (fd = 0; fd < nfds; fd++) {
		short ev = (short)((r && FD_ISSET(fd, r) ? POLLIN : 0) |
				   (w && FD_ISSET(fd, w) ? POLLOUT : 0) |
				   (e && FD_ISSET(fd, e) ? POLLPRI : 0));

		if (ev)
			pfd[n++] = (struct pollfd){ .fd = fd, .events = ev };
	}
	ret = shim_poll_masked(pfd, (nfds_t)n, ms, mask);
	if (ret >= 0) {
		int i;

		if (r)
			FD_ZERO(r);
		if (w)
			FD_ZERO(w);
		if (e)
			FD_ZERO(e);
		for (i = 0; i < n; i++) {
			short rev = pfd[i].revents;

			if (rev & POLLNVAL) {
				errno = EBADF;
				ret = -1;
				break;
			}
			if (r && (rev & (POLLIN | POLLHUP | POLLERR)) && (pfd[i].events & POLLIN)) {
				FD_SET(pfd[i].fd, r);
				bits++;
			}
			if (w && (rev & (POLLOUT | POLLERR)) && (pfd[i].events & POLLOUT)) {
				FD_SET(pfd[i].fd, w);
				bits++;
			}
			if (e && (rev & POLLPRI)) {
				FD_SET(pfd[i].fd, e);
				bits++;
			}
		}
	}
	free(pfd);
	return ret < 0 ? -1 : bits;
}

static bool shim_sets_have_ixdp(int nfds, const fd_set *r, const fd_set *w, const fd_set *e)
{
	int fd;

	for (fd = 0; fd < nfds && fd < FD_SETSIZE; fd++)
		if (((r && FD_ISSET(fd, r)) || (w && FD_ISSET(fd, w)) || (e && FD_ISSET(fd, e))) &&
		    shim_sock_of(fd))
			return true;
	return false;
}

SHIM_API int select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	long long ms;

	if (nfds < 0 || nfds > FD_SETSIZE || !shim_sets_have_ixdp(nfds, r, w, e))
		return SHIM_LIBC(select)(nfds, r, w, e, tv);
	ms = tv ? (long long)tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000 : -1;
	return shim_select(nfds, r, w, e, ms > INT32_MAX ? INT32_MAX : (int)ms, NULL);
}

SHIM_API int pselect(int nfds, fd_set *r, fd_set *w, fd_set *e, const struct timespec *tmo,
		     const sigset_t *mask)
{
	if (nfds < 0 || nfds > FD_SETSIZE || !shim_sets_have_ixdp(nfds, r, w, e))
		return SHIM_LIBC(pselect)(nfds, r, w, e, tmo, mask);
	return shim_select(nfds, r, w, e, shim_ts_ms(tmo), mask);
}
