// SPDX-License-Identifier: BSD-2-Clause
/*
 * syscall.c - syscall(2) for the numbers the shim interposes: an app or library that makes a
 * socket, I/O, wait or exec system call through libc's syscall() gets the shim's function, as
 * if it had called that by name (the same return: -1 and errno on failure).  Every other
 * number goes to libc's syscall() untouched.
 *
 * syscall() is variadic, and a caller passes as many arguments as its number takes.  Like
 * libc's own, which loads six registers whatever was passed, this reads six longs; those the
 * number does not take are never used.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim.h"

/* pselect6's sixth argument: the mask and its size in one (the kernel's layout) */
struct shim_sigset_arg {
	const sigset_t *ss;
	size_t len;
};

SHIM_API long syscall(long nr, ...)
{
	const struct shim_sigset_arg *sa;
	va_list ap;
	long a[6];
	int i;

	va_start(ap, nr);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
#define I(n) ((int)a[n])
#define P(n) ((void *)a[n])
	switch (nr) {
	case SYS_listen:
		return listen(I(0), I(1));
	case SYS_connect:
		return connect(I(0), P(1), (socklen_t)a[2]);
	case SYS_accept:
		return accept(I(0), P(1), P(2));
	case SYS_accept4:
		return accept4(I(0), P(1), P(2), I(3));
	case SYS_shutdown:
		return shutdown(I(0), I(1));
	case SYS_close:
		return close(I(0));
	case SYS_close_range:
		return close_range((unsigned int)a[0], (unsigned int)a[1], I(2));
	case SYS_getsockname:
		return getsockname(I(0), P(1), P(2));
	case SYS_getpeername:
		return getpeername(I(0), P(1), P(2));
	case SYS_getsockopt:
		return getsockopt(I(0), I(1), I(2), P(3), P(4));
	case SYS_setsockopt:
		return setsockopt(I(0), I(1), I(2), P(3), (socklen_t)a[4]);
	case SYS_read:
		return read(I(0), P(1), (size_t)a[2]);
	case SYS_write:
		return write(I(0), P(1), (size_t)a[2]);
	case SYS_readv:
		return readv(I(0), P(1), I(2));
	case SYS_writev:
		return writev(I(0), P(1), I(2));
	case SYS_recvfrom:
		return recvfrom(I(0), P(1), (size_t)a[2], I(3), P(4), P(5));
	case SYS_sendto:
		return sendto(I(0), P(1), (size_t)a[2], I(3), P(4), (socklen_t)a[5]);
	case SYS_recvmsg:
		return recvmsg(I(0), P(1), I(2));
	case SYS_sendmsg:
		return sendmsg(I(0), P(1), I(2));
	case SYS_sendfile:
		return sendfile(I(0), I(1), P(2), (size_t)a[3]);
	case SYS_fcntl:
		return fcntl(I(0), I(1), a[2]);
	case SYS_ioctl:
		return ioctl(I(0), (unsigned long)a[1], a[2]);
	case SYS_dup:
		return dup(I(0));
	case SYS_dup2:
		return dup2(I(0), I(1));
	case SYS_dup3:
		return dup3(I(0), I(1), I(2));
	case SYS_poll:
		return poll(P(0), (nfds_t)a[1], I(2));
	case SYS_ppoll:
		return ppoll(P(0), (nfds_t)a[1], P(2), P(3));
	case SYS_select:
		return select(I(0), P(1), P(2), P(3), P(4));
	case SYS_pselect6:
		sa = P(5);
		return pselect(I(0), P(1), P(2), P(3), P(4), sa ? sa->ss : NULL);
	case SYS_epoll_ctl:
		return epoll_ctl(I(0), I(1), I(2), P(3));
	case SYS_epoll_wait:
		return epoll_wait(I(0), P(1), I(2), I(3));
	case SYS_epoll_pwait:
		return epoll_pwait(I(0), P(1), I(2), I(3), P(4));
#ifdef SYS_epoll_pwait2
	case SYS_epoll_pwait2:
		return epoll_pwait2(I(0), P(1), I(2), P(3), P(4));
#endif
	case SYS_execve:
		return execve(P(0), P(1), P(2));
	}
#undef I
#undef P
	return SHIM_LIBC(syscall)(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
