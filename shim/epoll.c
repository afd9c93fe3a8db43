// SPDX-License-Identifier: BSD-2-Clause
/*
 * epoll.c - epoll sets and poll() over ixdp sockets and kernel fds together.
 *
 * The app's epoll fd stays a real kernel epoll: its kernel fds get the kernel's semantics as
 * they are.  Once an ixdp socket joins it, the set gets a struct shim_ep: the ixdp members, a
 * ready list that shim_notify() fills as sockets change, and two fds of ours inside the kernel
 * set, each with a marker as its data: a kick eventfd (edge-triggered, written when a member
 * becomes ready while a thread sleeps on the set) and the ix_fd() of each context a member
 * lives in (readable when the daemon wrote events).  epoll_wait() drains those contexts, reports ready members (level or edge, ONESHOT), adds
 * what the kernel set has, spins IXDP_SPIN_US, then sleeps in the kernel set with the time left;
 * markers never reach the app.  An ixdp listener is in the kernel set too (its kernel side).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "shim.h"

#define SHIM_EP_KICK 0x1d9f5e7c0000000bull	/* data of our fds in a kernel set */
#define SHIM_EP_IX 0x1d9f5e7c0000001bull
#define SHIM_EP_FLAGS (EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE | EPOLLWAKEUP)

struct shim_memb {
	struct shim_ep *ep;
	struct shim_sock *s;
	int fd;
	uint32_t events;
	epoll_data_t data;
	bool edge;			/* EPOLLET: it changed since last reported */
	bool off;			/* EPOLLONESHOT fired: nothing until EPOLL_CTL_MOD */
	bool queued;			/* on ep->ready */
	struct shim_memb *next;		/* the set's members */
	struct shim_memb *s_next;	/* the socket's sets */
	struct shim_memb *rd_next;	/* the ready list */
	struct shim_memb *rd_prev;
};

struct shim_ep {
	int epfd;
	int kick;
	shim_ctxset_t ctxs;		/* contexts of its members: their ix_fd() is in the set */
	unsigned int ctx_refs[SHIM_CTX_MAX];	/* members of each */
	struct shim_ep *all_next;	/* every set (shim_eps) */
	bool inherited;			/* a fork child's copy: its members are the parent's */
	unsigned int sleepers;		/* threads in the kernel epoll_wait() */
	struct shim_memb *membs;
	struct shim_memb *rd_head;
	struct shim_memb *rd_tail;
};

static struct shim_ep *shim_eps;	/* every set with ixdp members, under the lock */

static void shim_rd_push(struct shim_ep *ep, struct shim_memb *m)
{
	if (m->queued)
		return;
	m->queued = true;
	m->rd_next = NULL;
	m->rd_prev = ep->rd_tail;
	if (ep->rd_tail)
		ep->rd_tail->rd_next = m;
	else
		ep->rd_head = m;
	ep->rd_tail = m;
}

static void shim_rd_del(struct shim_ep *ep, struct shim_memb *m)
{
	if (!m->queued)
		return;
	if (m->rd_prev)
		m->rd_prev->rd_next = m->rd_next;
	else
		ep->rd_head = m->rd_next;
	if (m->rd_next)
		m->rd_next->rd_prev = m->rd_prev;
	else
		ep->rd_tail = m->rd_prev;
	m->queued = false;
}

static uint32_t shim_memb_ready(const struct shim_memb *m)
{
	return shim_sock_events(m->s) & (m->events | EPOLLERR | EPOLLHUP);
}

/**
 * shim_notify - @s may have become ready: queue it in its sets, wake who sleeps on them or
 * is blocked on it (under the lock).
 * @s: the socket
 */
void shim_notify(struct shim_sock *s)
{
	struct shim_memb *m;
	uint64_t one = 1;

	for (m = s->membs; m; m = m->s_next) {
		if (m->off)
			continue;
		m->edge = true;
		shim_rd_push(m->ep, m);
		if (m->ep->sleepers && SHIM_LIBC(write)(m->ep->kick, &one, sizeof(one)) < 0)
			continue;	/* EAGAIN: a kick is pending already */
	}
	shim_wake_waiters(s);
}

/* One more member of @ep lives in @c: the first puts @c's ix_fd() into the kernel set. */
static int shim_ep_ref(struct shim_ep *ep, struct shim_ctx *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = SHIM_EP_IX };

	if (!c)
		return 0;	/* a fork child's listener not claimed: kernel side only */
	if (!ep->ctx_refs[c->id] && !shim.dead &&
	    SHIM_LIBC(epoll_ctl)(ep->epfd, EPOLL_CTL_ADD, ix_fd(c->ix), &ev))
		return -errno;
	ep->ctx_refs[c->id]++;
	ep->ctxs |= shim_ctx_bit(c);
	return 0;
}

/* One member of @ep fewer lives in @c: the last takes @c's ix_fd() out of the kernel set. */
static void shim_ep_unref(struct shim_ep *ep, struct shim_ctx *c)
{
	if (!c || !ep->ctx_refs[c->id] || --ep->ctx_refs[c->id])
		return;
	ep->ctxs &= ~shim_ctx_bit(c);
	if (!shim.dead)
		SHIM_LIBC(epoll_ctl)(ep->epfd, EPOLL_CTL_DEL, ix_fd(c->ix), NULL);
}

/**
 * shim_ep_sock_moved - @s moves from context @from to @to (under the lock): its sets wait on
 * @to's ix_fd() from now on.
 */
void shim_ep_sock_moved(struct shim_sock *s, struct shim_ctx *from, struct shim_ctx *to)
{
	struct shim_memb *m;

	for (m = s->membs; m && to; m = m->s_next) {
		if (shim_ep_ref(m->ep, to)) {
			/* no room for @to's fd in the kernel set: it keeps being drained, not slept on */
			m->ep->ctx_refs[to->id]++;
			m->ep->ctxs |= shim_ctx_bit(to);
		}
		shim_ep_unref(m->ep, from);
	}
}

/* Take @m out of its set and of its socket's list, and free it. */
static void shim_memb_free(struct shim_memb *m)
{
	struct shim_memb **p;

	shim_ep_unref(m->ep, m->s->ctx);
	shim_rd_del(m->ep, m);
	for (p = &m->ep->membs; *p; p = &(*p)->next)
		if (*p == m) {
			*p = m->next;
			break;
		}
	for (p = &m->s->membs; *p; p = &(*p)->s_next)
		if (*p == m) {
			*p = m->s_next;
			break;
		}
	free(m);
}

/**
 * shim_ep_forget_sock - @s is closing: it leaves every set (under the lock).
 * @s: the socket
 */
void shim_ep_forget_sock(struct shim_sock *s)
{
	while (s->membs)
		shim_memb_free(s->membs);
}

/* The set of @epfd, made when @make (under the lock).  NULL with errno on failure. */
static struct shim_ep *shim_ep_get(int epfd, bool make)
{
	struct shim_ep *ep = shim_fd_get(epfd, SHIM_FD_EPOLL);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u64 = SHIM_EP_KICK };
	int ret;

	if (ep && ep->inherited) {
		errno = EOPNOTSUPP;	/* the parent's set: docs/shim.md, fork */
		return NULL;
	}
	if (ep || !make)
		return ep;
	ep = calloc(1, sizeof(*ep));
	if (!ep) {
		errno = ENOMEM;
		return NULL;
	}
	ep->epfd = epfd;
	ep->kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ep->kick < 0)
		goto err;
	/* not an epoll fd (EINVAL) or not open (EBADF): as epoll_ctl() says */
	if (SHIM_LIBC(epoll_ctl)(epfd, EPOLL_CTL_ADD, ep->kick, &ev))
		goto err;
	ret = shim_fd_set(epfd, SHIM_FD_EPOLL, ep);
	if (ret) {
		errno = -ret;
		goto err;
	}
	ep->all_next = shim_eps;
	shim_eps = ep;
	return ep;
err:
	ret = errno;
	if (ep->kick >= 0)
		SHIM_LIBC(close)(ep->kick);	/* which also takes it out of the set */
	free(ep);
	errno = ret;
	return NULL;
}

static struct shim_memb *shim_memb_find(const struct shim_ep *ep, int fd)
{
	struct shim_memb *m;

	for (m = ep->membs; m; m = m->next)
		if (m->fd == fd)
			return m;
	return NULL;
}

/**
 * shim_epoll_ctl - epoll_ctl(2) for an ixdp socket @fd.
 *
 * Errnos as the kernel's: EEXIST (ADD of a member), ENOENT (MOD or DEL of a stranger), EINVAL
 * (EPOLLEXCLUSIVE with MOD, an unknown op), EFAULT (no event), and the kernel's own for @epfd.
 *
 * Return: 0, or -1 with errno.
 */
int shim_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct shim_sock *s = shim_fd_get(fd, SHIM_FD_SOCK);
	struct shim_memb *m;
	struct shim_ep *ep;
	int err = 0;

	if (!s)
		return SHIM_LIBC(epoll_ctl)(epfd, op, fd, ev);
	if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL) {
		errno = EINVAL;
		return -1;
	}
	if (op != EPOLL_CTL_DEL && !ev) {
		errno = EFAULT;
		return -1;
	}
	if (epfd == fd) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&shim.lock);
	if (op != EPOLL_CTL_DEL)
		shim_adopt(s);		/* the thread that waits for it is the one to serve it */
	errno = ENOENT;
	ep = shim_ep_get(epfd, op == EPOLL_CTL_ADD);
	if (!ep) {
		err = errno;
		goto out;
	}
	m = shim_memb_find(ep, fd);
	switch (op) {
	case EPOLL_CTL_ADD:
		if (m) {
			err = EEXIST;
			break;
		}
		m = calloc(1, sizeof(*m));
		if (!m) {
			err = ENOMEM;
			break;
		}
		/* a listener's kernel side: connections the kernel accepts */
		if (s->type == SHIM_LISTENER && SHIM_LIBC(epoll_ctl)(epfd, op, fd, ev)) {
			err = errno;
			free(m);
			break;
		}
		err = -shim_ep_ref(ep, s->ctx);
		if (err) {
			if (s->type == SHIM_LISTENER)
				SHIM_LIBC(epoll_ctl)(epfd, EPOLL_CTL_DEL, fd, NULL);
			free(m);
			break;
		}
		m->ep = ep;
		m->s = s;
		m->fd = fd;
		m->next = ep->membs;
		ep->membs = m;
		m->s_next = s->membs;
		s->membs = m;
		/* fall through */
	case EPOLL_CTL_MOD:
		if (!m) {
			err = ENOENT;
			break;
		}
		if (op == EPOLL_CTL_MOD && (ev->events & EPOLLEXCLUSIVE)) {
			err = EINVAL;
			break;
		}
		if (op == EPOLL_CTL_MOD && s->type == SHIM_LISTENER &&
		    SHIM_LIBC(epoll_ctl)(epfd, op, fd, ev)) {
			err = errno;
			break;
		}
		m->events = ev->events;
		m->data = ev->data;
		m->off = false;
		m->edge = true;
		shim_rd_del(ep, m);
		if (shim_memb_ready(m))
			shim_rd_push(ep, m);
		break;
	case EPOLL_CTL_DEL:
		if (!m) {
			err = ENOENT;
			break;
		}
		if (s->type == SHIM_LISTENER)
			SHIM_LIBC(epoll_ctl)(epfd, op, fd, NULL);
		shim_memb_free(m);
		if (s->type == SHIM_LISTENER && !s->membs)
			shim_lst_pause(s);	/* nginx's accept_mutex: another worker takes them */
		break;
	}
out:
	pthread_mutex_unlock(&shim.lock);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

/* Report what is ready in @ep into @evs (under the lock).  Return: how many. */
static int shim_harvest(struct shim_ep *ep, struct epoll_event *evs, int max)
{
	struct shim_memb *m, *next, *again = NULL, **again_tail = &again;
	int n = 0;

	for (m = ep->rd_head; m && n < max; m = next) {
		uint32_t ev = shim_memb_ready(m);

		next = m->rd_next;
		if (!ev || m->off || ((m->events & EPOLLET) && !m->edge)) {
			shim_rd_del(ep, m);
			continue;
		}
		evs[n].events = ev;
		evs[n].data = m->data;
		n++;
		m->edge = false;
		shim_rd_del(ep, m);
		if (m->events & EPOLLONESHOT)
			m->off = true;
		else if (!(m->events & EPOLLET)) {
			/* level: still ready, looked at again after the others (fairness) */
			m->rd_next = NULL;
			*again_tail = m;
			again_tail = &m->rd_next;
		}
	}
	for (m = again; m; m = next) {
		next = m->rd_next;
		shim_rd_push(ep, m);
	}
	return n;
}

/*
 * Drop our markers from what the kernel set returned (@ep NULL: an inherited set, whose kick
 * is the parent's to read).  Return: the app's events left.
 */
static int shim_filter(struct shim_ep *ep, struct epoll_event *evs, int n)
{
	int i, k = 0;
	uint64_t v;

	for (i = 0; i < n; i++) {
		if (evs[i].data.u64 == SHIM_EP_KICK) {
			if (ep && SHIM_LIBC(read)(ep->kick, &v, sizeof(v)) < 0)
				v = 0;
			continue;
		}
		if (evs[i].data.u64 == SHIM_EP_IX)
			continue;
		evs[k++] = evs[i];
	}
	return k;
}

/* A thread counted in ep->sleepers (and in the sleepers of each context of @armed) is back. */
static void shim_ep_woke(struct shim_ep *ep, shim_ctxset_t armed)
{
	pthread_mutex_lock(&shim.lock);
	ep->sleepers--;
	shim_sleep_end(armed);
	pthread_mutex_unlock(&shim.lock);
}

/**
 * shim_ep_kick_sleepers - every thread asleep in an epoll set looks again (under the lock).
 */
void shim_ep_kick_sleepers(void)
{
	struct shim_ep *ep;
	uint64_t one = 1;

	for (ep = shim_eps; ep; ep = ep->all_next)
		if (ep->sleepers && SHIM_LIBC(write)(ep->kick, &one, sizeof(one)) < 0)
			continue;
}

/*
 * One look: the members' contexts drained, ixdp members, then the kernel set without waiting.
 * With @sleep, the kernel set is left to the wait that follows, and a look that finds nothing
 * leaves this thread counted in ep->sleepers from inside the lock: a member made ready after
 * it writes the set's kick, which that wait sees (no look in between may swallow it), and
 * the contexts are armed for it (shim_sleep_begin(), *@armed says which); -1 when events came
 * in the meantime (no sleep: look again).
 */
static int shim_ep_look(struct shim_ep *ep, int epfd, struct epoll_event *evs, int max,
			bool sleep, shim_ctxset_t *armed)
{
	int n, k;

	pthread_mutex_lock(&shim.lock);
	shim_drain_set(ep->ctxs);
	n = shim_harvest(ep, evs, max);
	if (sleep) {
		*armed = ep->ctxs;
		if (!n && shim_sleep_begin(*armed))
			n = -1;		/* events came meanwhile: no sleep, look again */
		else if (!n)
			ep->sleepers++;
		pthread_mutex_unlock(&shim.lock);
		return n;
	}
	pthread_mutex_unlock(&shim.lock);
	if (n < max) {
		k = SHIM_LIBC(epoll_wait)(epfd, evs + n, max - n, 0);
		if (k > 0)
			n += shim_filter(ep, evs + n, k);
	}
	return n;
}

/**
 * shim_epoll_wait - epoll_wait(2)/epoll_pwait(2) on a set with ixdp members.
 * @epfd:    the set
 * @evs:     receives events
 * @max:     room
 * @timeout: ms, -1: no limit
 * @mask:    epoll_pwait()'s signal mask while asleep, or NULL
 *
 * Spins IXDP_SPIN_US on the loop and the set, then sleeps in the kernel's epoll_wait() on
 * the set, which holds the loop's ix_fd (the daemon's wakeup) and the set's kick eventfd.
 *
 * Return: events, 0 on timeout, or -1 with errno (EINTR, EINVAL, EFAULT, EBADF).
 */
int shim_epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout,
		    const sigset_t *mask)
{
	struct shim_ep *ep = shim_fd_get(epfd, SHIM_FD_EPOLL);
	uint64_t deadline, spin_end;
	shim_ctxset_t armed = 0;
	int n, k;

	if (!ep || ep->inherited) {
		/* the kernel's set as it is; our markers in it (a parent's) filtered out */
		do {
			n = mask ? SHIM_LIBC(epoll_pwait)(epfd, evs, max, timeout, mask) :
				   SHIM_LIBC(epoll_wait)(epfd, evs, max, timeout);
			if (n <= 0 || !ep)
				return n;
			n = shim_filter(NULL, evs, n);
		} while (!n && timeout < 0);	/* a marker only: 0, as a timeout, or again */
		return n;
	}
	if (max <= 0 || !evs) {
		errno = max <= 0 ? EINVAL : EFAULT;
		return -1;
	}
	shim_sig_mark();
	deadline = timeout < 0 ? UINT64_MAX : shim_now_ms() + (uint64_t)timeout;
	spin_end = shim_now_ns() + shim.spin_us * 1000ull;
	for (;;) {
		bool sleep = timeout && shim_now_ns() >= spin_end;
		sigset_t all, old;

		n = shim_ep_look(ep, epfd, evs, max, sleep, &armed);
		if (n < 0)
			continue;	/* not asleep after all: events came in between */
		if (n || !timeout)
			return n;
		if (!sleep) {
			if (!shim_ms_left(deadline))
				return 0;
			if (shim_sig_ended(false)) {
				errno = EINTR;	/* a handler ran while we spun: as the kernel's wait */
				return -1;
			}
			/*
			 * Yield, as libix's own spin does: ixdpd's worker often shares this core,
			 * and a spin that keeps it off the core waits for nothing (measured with
			 * memcached beside its worker: 20 k ops/s, the app at 47 % of the core
			 * and the worker at 5 %).
			 */
			sched_yield();
			continue;
		}
		/*
		 * Drained (armed) and nothing ready under the lock: the kernel, for the rest, with
		 * signals blocked from the last look at the handlers until it sleeps (with the
		 * app's mask, or the thread's): one that comes between ends the sleep at once.
		 */
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		if (shim_sig_ended(false)) {
			k = -1;
			errno = EINTR;
		} else {
			k = SHIM_LIBC(epoll_pwait)(epfd, evs, max, shim_ms_left(deadline),
						   mask ? mask : &old);
		}
		n = errno;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		errno = n;
		shim_ep_woke(ep, armed);
		if (k < 0)
			return -1;	/* EINTR: a signal, as the kernel's */
		n = shim_filter(ep, evs, k);
		if (n || !shim_ms_left(deadline))
			return n;
	}
}

/**
 * shim_ep_daemon_gone - ixdpd went away (under the lock): every ix_fd() leaves every set (it
 * would stay readable), and every ixdp member is looked at again (its connection is reset).
 */
void shim_ep_daemon_gone(void)
{
	struct shim_ep *ep;
	struct shim_memb *m;
	uint64_t one = 1;

	for (ep = shim_eps; ep; ep = ep->all_next) {
		shim_ctxset_t set;

		for (set = ep->ctxs; set; set &= set - 1)
			SHIM_LIBC(epoll_ctl)(ep->epfd, EPOLL_CTL_DEL,
					    ix_fd(shim.ctx[__builtin_ctzll(set)].ix), NULL);
		for (m = ep->membs; m; m = m->next)
			if (!m->off) {
				m->edge = true;
				shim_rd_push(ep, m);
			}
		if (SHIM_LIBC(write)(ep->kick, &one, sizeof(one)) < 0)
			continue;
	}
}

/**
 * shim_ep_fork - in a fork child: the sets it inherited are the parent's (shim_ep_inherited()),
 * never to be changed from here.
 */
void shim_ep_fork(void)
{
	shim_eps = NULL;
}

/**
 * shim_ep_inherited - in a fork child: @ep is the parent's set, shared with it (an epoll fd is
 * one kernel object across fork); the child only reads the kernel's events from it.
 * @ep: a struct shim_ep
 */
void shim_ep_inherited(void *ep)
{
	((struct shim_ep *)ep)->inherited = true;
}

/**
 * shim_epoll_close - the app closes @epfd: forget its set (the caller closes the fd).
 * @epfd: any fd
 */
void shim_epoll_close(int epfd)
{
	struct shim_ep *ep = shim_fd_get(epfd, SHIM_FD_EPOLL);

	if (!ep)
		return;
	pthread_mutex_lock(&shim.lock);
	while (ep->membs && !ep->inherited)
		shim_memb_free(ep->membs);
	shim_fd_clear(epfd);
	for (struct shim_ep **p = &shim_eps; *p; p = &(*p)->all_next)
		if (*p == ep) {
			*p = ep->all_next;
			break;
		}
	SHIM_LIBC(close)(ep->kick);
	free(ep);
	pthread_mutex_unlock(&shim.lock);
}

/* EPOLL* of an ixdp socket as poll(2) bits, for what @want asks (errors always). */
static short shim_poll_bits(uint32_t ev, short want)
{
	short r = 0;

	if (ev & EPOLLIN)
		r |= POLLIN | POLLRDNORM;
	if (ev & EPOLLOUT)
		r |= POLLOUT | POLLWRNORM;
	if (ev & EPOLLRDHUP)
		r |= POLLRDHUP;
	return (short)((r & want) | (ev & EPOLLERR ? POLLERR : 0) | (ev & EPOLLHUP ? POLLHUP : 0));
}

/**
 * shim_poll - poll(2) over @fds, some of them ixdp sockets.
 * Return: ready entries, 0 on timeout, or -1 with errno (EINTR, ENOMEM).
 */
int shim_poll(struct pollfd *fds, nfds_t n, int timeout)
{
	struct shim_sock *socks_s[16], **socks = socks_s;
	struct pollfd tmp_s[16], *tmp = tmp_s;
	uint64_t deadline = timeout < 0 ? UINT64_MAX : shim_now_ms() + (uint64_t)timeout;
	int ready, k, ret = -1;
	unsigned int ns;

	shim_sig_mark();
	nfds_t i;

	if (n > 16) {
		socks = malloc(n * sizeof(*socks));
		tmp = malloc(n * sizeof(*tmp));
		if (!socks || !tmp) {
			errno = ENOMEM;
			goto out;
		}
	}
	for (;;) {
		/* the kernel's fds, ours left out (a negative fd is skipped) */
		for (i = 0; i < n; i++) {
			struct shim_sock *s = shim_fd_get(fds[i].fd, SHIM_FD_SOCK);

			tmp[i] = fds[i];
			if (s && s->type == SHIM_CONN)
				tmp[i].fd = -1;	/* a listener's kernel side is polled too */
		}
		pthread_mutex_lock(&shim.lock);
		for (i = 0, ns = 0; i < n; i++) {
			struct shim_sock *s = shim_fd_get(fds[i].fd, SHIM_FD_SOCK);

			if (!s)
				continue;
			if (s->type == SHIM_LISTENER && (fds[i].events & POLLIN))
				shim_adopt(s);	/* it takes connections from now on */
			socks[ns++] = s;
		}
		shim_drain_set(shim_socks_ctxs(socks, ns));
		for (i = 0, ready = 0; i < n; i++) {
			struct shim_sock *s = shim_fd_get(fds[i].fd, SHIM_FD_SOCK);

			if (!s)
				continue;
			fds[i].revents = shim_poll_bits(shim_sock_events(s), fds[i].events);
			ready += fds[i].revents != 0;
		}
		if (ready || !timeout || !shim_ms_left(deadline)) {
			pthread_mutex_unlock(&shim.lock);
			k = SHIM_LIBC(poll)(tmp, n, 0);
		} else {
			k = shim_wait(socks, ns, tmp, n, shim_ms_left(deadline), false);
			pthread_mutex_unlock(&shim.lock);
			if (k < 0) {
				errno = -k;
				goto out;
			}
			k = 0;
			for (i = 0; i < n; i++)
				k += tmp[i].fd >= 0 && tmp[i].revents;
		}
		if (k < 0)
			goto out;
		for (i = 0; i < n; i++) {
			struct shim_sock *s = shim_fd_get(fds[i].fd, SHIM_FD_SOCK);
			short had = s ? fds[i].revents : 0;

			if (s && s->type == SHIM_CONN)
				continue;
			fds[i].revents = (short)(had | tmp[i].revents);
			ready += !had && tmp[i].revents;
		}
		if (ready || !timeout || !shim_ms_left(deadline)) {
			ret = ready;
			goto out;
		}
	}
out:
	if (socks != socks_s)
		free(socks);
	if (tmp != tmp_s)
		free(tmp);
	return ret;
}
