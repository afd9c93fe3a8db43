// SPDX-License-Identifier: GPL-2.0
/*
 * shim_probe.c - the same socket calls on the kernel and under the shim, for tests/e2e/shim.sh,
 * which runs it twice (plain, then under ixdp-run) and compares what it prints line by line.
 *
 *   ixdp-shim-probe PORT
 *
 * Listens on the wildcard address, accepts one connection from tests/tools/shim_probe.py (the
 * peer), and steers that client with lines ("send N", "split", "drain", "fin") while it checks:
 * accept on an empty listener, poll on a listener, names (the local address of a wildcard
 * listener's connection too), EAGAIN, FIONREAD, MSG_PEEK, partial reads, edge-triggered
 * (once) against level-triggered (again) epoll, ONESHOT and its re-arm by MOD, libevent's
 * errnos (EEXIST, ENOENT), poll and select for writing, writes until EAGAIN and EPOLLOUT when
 * the peer drains, F_GETFL/F_SETFL, MSG_WAITALL across two segments, SO_ERROR,
 * SO_RCVTIMEO, EINTR, an epoll registration through a closed dup, a fork child's close,
 * the same calls made through syscall() with their numbers,
 * shutdown(SHUT_WR), EPOLLRDHUP on the peer's FIN, EOF, EPIPE after SHUT_WR, dup then close;
 * all of it after the listener was closed (its connection goes on).
 * Every line is a value both stacks must give alike (no byte counts that depend on buffers).
 * Exit 0 when it got to the end; 1 (with a message) when a call could not be made at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

static int fd, ep;

static const char *err_name(int e)
{
	switch (e) {
	case EAGAIN: return "EAGAIN";
	case EEXIST: return "EEXIST";
	case ENOENT: return "ENOENT";
	case EPIPE: return "EPIPE";
	case EINVAL: return "EINVAL";
	case ENOTCONN: return "ENOTCONN";
	case EBADF: return "EBADF";
	case EINTR: return "EINTR";
	}
	return strerror(e);
}

/* "NAME: ret" or "NAME: -1 ERRNO" */
static void show(const char *name, long ret)
{
	if (ret < 0)
		printf("%s: -1 %s\n", name, err_name(errno));
	else
		printf("%s: %ld\n", name, ret);
}

static void say(const char *line)
{
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) != (ssize_t)strlen(line)) {
		fprintf(stderr, "probe: cannot tell the client '%s'\n", line);
		exit(1);
	}
}

static const char *ev_str(uint32_t e)
{
	static char b[64];

	snprintf(b, sizeof(b), "%s%s%s%s%s", e & EPOLLIN ? " IN" : "", e & EPOLLOUT ? " OUT" : "",
		 e & EPOLLRDHUP ? " RDHUP" : "", e & EPOLLHUP ? " HUP" : "",
		 e & EPOLLERR ? " ERR" : "");
	return b[0] ? b + 1 : "none";
}

static void wait_show(const char *name, int ms)
{
	struct epoll_event ev[4];
	int n = epoll_wait(ep, ev, 4, ms);

	if (n > 0)
		printf("%s: %d %s\n", name, n, ev_str(ev[0].events));
	else
		show(name, n);
}

static void ctl(const char *name, int op, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	show(name, epoll_ctl(ep, op, fd, &ev));
}

static void recv_show(const char *name, size_t len, int flags)
{
	char buf[256] = "";
	ssize_t n = recv(fd, buf, len < sizeof(buf) ? len : sizeof(buf) - 1, flags);

	if (n > 0)
		printf("%s: %zd '%.*s'\n", name, n, (int)n, buf);
	else
		show(name, n);
}

static void drain_input(void)
{
	char buf[4096];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* syscall() with the socket numbers: what the calls by name do, not the sentinel's answers. */
static void raw_calls(void)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct epoll_event ev;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[16] = "";
	long n;
	int v = -1;

	show("syscall fionread", syscall(SYS_ioctl, fd, FIONREAD, &v));
	printf("syscall fionread empty: %d\n", v);
	show("syscall read empty", syscall(SYS_read, fd, buf, sizeof(buf)));
	show("syscall sendto", syscall(SYS_sendto, fd, "send 5\n", 7, MSG_NOSIGNAL, NULL, 0));
	n = syscall(SYS_epoll_wait, ep, &ev, 1, 5000);
	printf("syscall epoll_wait: %ld %s\n", n, n > 0 ? ev_str(ev.events) : "-");
	usleep(100000);
	show("syscall poll", syscall(SYS_poll, &pfd, 1, 0));
	n = syscall(SYS_recvfrom, fd, buf, 2, MSG_PEEK, NULL, NULL);
	printf("syscall peek: %ld '%.*s'\n", n, n > 0 ? (int)n : 0, buf);
	n = syscall(SYS_read, fd, buf, 5);
	printf("syscall read: %ld '%.*s'\n", n, n > 0 ? (int)n : 0, buf);
	show("syscall getsockname", syscall(SYS_getsockname, fd, &ss, &len));
	printf("syscall local port: %u\n", ntohs(((struct sockaddr_in *)&ss)->sin_port));
	printf("syscall nonblock: %d\n", !!(syscall(SYS_fcntl, fd, F_GETFL) & O_NONBLOCK));
	printf("syscall getpid: %d\n", syscall(SYS_getpid) == getpid());
}

/*
 * Blocking calls on the (now blocking) connection: SO_RCVTIMEO gives up with EAGAIN, a signal
 * whose handler has no SA_RESTART ends a wait with EINTR, one whose handler has it does not (the
 * read goes on to the bytes that come later), and any ends an epoll_wait (tests/e2e/shim.sh
 * runs the shim's probe with a long spin: the signal comes while it spins); a registration
 * made through a dup outlives the dup's close while the file is open (the kernel's epoll keys
 * on fd and file); a fork child's close drops only its own reference.
 */
static void blocking_calls(void)
{
	struct timeval tv = { 0, 200000 }, got = { 0, 0 };
	struct itimerval it = { .it_value = { 0, 150000 } };
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 77 }, sev = ev;
	socklen_t len = sizeof(got);
	int ep2, d, n, st;
	pid_t child;

	show("set rcvtimeo", setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &got, &len);
	printf("rcvtimeo: %ld.%06ld len %u\n", (long)got.tv_sec, (long)got.tv_usec, len);
	recv_show("recv timeout", 16, 0);
	tv.tv_usec = 2000000;
	show("rcvtimeo edom", setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	tv.tv_usec = 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	recv_show("recv signal", 16, 0);
	ep2 = epoll_create1(0);
	show("add for signal", epoll_ctl(ep2, EPOLL_CTL_ADD, fd, &sev));
	setitimer(ITIMER_REAL, &it, NULL);
	show("epoll signal", epoll_wait(ep2, &sev, 1, 2000));
	close(ep2);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	say("later 3\n");
	recv_show("recv restarted", 3, 0);
	show("restart handler kept", sigaction(SIGALRM, NULL, &old));
	printf("handler %s, SA_RESTART %d\n", old.sa_handler == on_alarm ? "ours" : "other",
	       !!(old.sa_flags & SA_RESTART));
	signal(SIGALRM, SIG_DFL);

	ep2 = epoll_create1(0);
	d = dup(fd);
	show("add dup", epoll_ctl(ep2, EPOLL_CTL_ADD, d, &ev));
	close(d);
	say("send 3\n");
	n = epoll_wait(ep2, &ev, 1, 5000);
	printf("after the dup's close: %d %s data %llu\n", n, ev_str(ev.events),
	       (unsigned long long)ev.data.u64);
	show("del closed dup", epoll_ctl(ep2, EPOLL_CTL_DEL, d, NULL));
	close(ep2);
	recv_show("recv 3", 3, 0);

	child = fork();
	if (child == 0) {
		close(fd);
		_exit(0);
	}
	waitpid(child, &st, 0);
	printf("child: exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	say("send 5\n");
	recv_show("after the child's close", 5, MSG_WAITALL);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct pollfd pfd;
	static char junk[65536];
	int ls, one = 1, n, d, fl;
	fd_set wset;
	struct timeval tv = { 0, 0 };

	if (argc != 2)
		return fprintf(stderr, "usage: %s PORT\n", argv[0]), 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	sin.sin_port = htons((uint16_t)atoi(argv[1]));
	ls = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(ls, (struct sockaddr *)&sin, sizeof(sin)) || listen(ls, 16))
		return perror("probe: listen"), 1;
	ioctl(ls, FIONBIO, &one);
	show("accept empty", accept4(ls, NULL, NULL, SOCK_NONBLOCK));
	printf("ready\n");
	pfd = (struct pollfd){ .fd = ls, .events = POLLIN };
	n = poll(&pfd, 1, 10000);
	printf("poll listener: %d%s\n", n, pfd.revents & POLLIN ? " IN" : "");
	fd = accept4(ls, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK);
	if (fd < 0)
		return perror("probe: accept"), 1;
	/* what follows runs on a connection whose listener is gone: it must not notice */
	show("close listener", close(ls));
	printf("peer family: %s\n", ss.ss_family == AF_INET ? "inet" : "other");
	len = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &len);
	printf("local port: %u\n", ntohs(((struct sockaddr_in *)&ss)->sin_port));
	/* the address the peer reached, though the listener's is the wildcard */
	printf("local address: %s\n", inet_ntoa(((struct sockaddr_in *)&ss)->sin_addr));
	fl = fcntl(fd, F_GETFL);
	printf("nonblock: %d\n", !!(fl & O_NONBLOCK));

	recv_show("recv empty", 16, 0);
	ioctl(fd, FIONREAD, &n);
	printf("fionread empty: %d\n", n);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ctl("add et", EPOLL_CTL_ADD, EPOLLIN | EPOLLET);
	ctl("add again", EPOLL_CTL_ADD, EPOLLIN);
	show("del stranger", epoll_ctl(ep, EPOLL_CTL_DEL, ls, NULL));
	wait_show("et idle", 0);

	say("send 10\n");
	wait_show("et data", 5000);
	wait_show("et again", 0);
	usleep(100000);
	ioctl(fd, FIONREAD, &n);
	printf("fionread: %d\n", n);
	recv_show("peek 4", 4, MSG_PEEK);
	recv_show("recv 3", 3, 0);
	recv_show("recv rest", 100, 0);
	recv_show("recv drained", 100, 0);

	ctl("mod lt", EPOLL_CTL_MOD, EPOLLIN);
	say("send 5\n");
	wait_show("lt data", 5000);
	wait_show("lt again", 0);
	usleep(100000);
	recv_show("lt read", 100, 0);
	wait_show("lt read all", 0);

	ctl("mod oneshot", EPOLL_CTL_MOD, EPOLLIN | EPOLLONESHOT);
	say("send 3\n");
	wait_show("oneshot", 5000);
	usleep(100000);
	drain_input();
	say("send 3\n");
	usleep(200000);
	wait_show("oneshot off", 0);
	ctl("mod rearm", EPOLL_CTL_MOD, EPOLLIN);
	wait_show("rearmed", 0);
	drain_input();
	raw_calls();

	pfd = (struct pollfd){ .fd = fd, .events = POLLIN | POLLOUT };
	n = poll(&pfd, 1, 0);
	printf("poll: %d%s%s\n", n, pfd.revents & POLLIN ? " IN" : "", pfd.revents & POLLOUT ?
	       " OUT" : "");
	FD_ZERO(&wset);
	FD_SET(fd, &wset);
	printf("select write: %d %d\n", select(fd + 1, NULL, &wset, NULL, &tv), FD_ISSET(fd, &wset));

	ctl("mod out", EPOLL_CTL_MOD, EPOLLOUT | EPOLLET);
	wait_show("out ready", 0);
	/* the client reads that line, waits 1.5 s, then drains the NULs that follow */
	say("drain\n");
	for (n = 0; n < 100000; n++)
		if (send(fd, junk, sizeof(junk), MSG_NOSIGNAL) < 0)
			break;
	show("write until full", errno == EAGAIN ? -1 : 0);
	wait_show("out again", 10000);

	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	printf("nonblock after F_SETFL: %d\n", !!(fcntl(fd, F_GETFL) & O_NONBLOCK));
	say("split\n");
	recv_show("waitall 6", 6, MSG_WAITALL);
	len = sizeof(n);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &n, &len);
	printf("so_error: %d\n", n);
	blocking_calls();

	ctl("mod rdhup", EPOLL_CTL_MOD, EPOLLIN | EPOLLRDHUP);
	/* the client sees our FIN, sends "bye" and its own */
	show("shutdown wr", shutdown(fd, SHUT_WR));
	usleep(300000);
	wait_show("rdhup", 5000);
	recv_show("bye", 100, 0);
	recv_show("eof", 100, 0);
	show("send after shut", send(fd, "x", 1, MSG_NOSIGNAL));
	d = dup(fd);
	show("close", close(fd));
	fd = d;
	recv_show("eof on dup", 100, 0);
	show("close dup", close(d));
	close(ep);
	printf("end\n");
	return 0;
}
