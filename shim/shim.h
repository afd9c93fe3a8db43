/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * shim.h - what the files of libix-preload.so share (docs/shim.md).
 *
 * The shim runs unmodified socket apps on ixdp: it interposes libc's socket, I/O and epoll calls
 * (preload.c), passes every fd that is not an ixdp socket straight to libc (libc.c), and serves
 * the ixdp ones from ixev loops (sock.c: a context of ixdpd per thread, up to IXDP_CONTEXTS, all
 * guarded by one lock), with epoll sets that mix ixdp sockets and kernel fds (epoll.c).  The
 * fd table (fd.c) names which fds are ixdp's: every ixdp socket is a real kernel fd (the listener's own socket, or a dup of a sentinel
 * socket for an accepted connection), so numbers never collide with libc's.
 *
 * Lock rule: shim.lock is taken only on paths that touch an ixdp socket or a shim epoll set;
 * libix's own calls into libc (poll, send, epoll_wait, ...) come back through the interposers
 * and must pass through without it.
 */
#ifndef SHIM_H
#define SHIM_H

#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "ix/ixev.h"

#define SHIM_API __attribute__((visibility("default")))

/* --- libc's own functions (libc.c) --------------------------------------------------------- */

struct shim_libc {
	int (*listen)(int, int);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*readv)(int, const struct iovec *, int);
	ssize_t (*writev)(int, const struct iovec *, int);
	ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
	ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	int (*close)(int);
	int (*close_range)(unsigned int, unsigned int, int);
	int (*shutdown)(int, int);
	int (*fcntl)(int, int, ...);
	int (*ioctl)(int, unsigned long, ...);
	int (*dup)(int);
	int (*dup3)(int, int, int);
	int (*getsockname)(int, struct sockaddr *, socklen_t *);
	int (*getpeername)(int, struct sockaddr *, socklen_t *);
	int (*getsockopt)(int, int, int, void *, socklen_t *);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	int (*epoll_create1)(int);
	int (*epoll_ctl)(int, int, int, struct epoll_event *);
	int (*epoll_wait)(int, struct epoll_event *, int, int);
	int (*epoll_pwait)(int, struct epoll_event *, int, int, const sigset_t *);
	int (*poll)(struct pollfd *, nfds_t, int);
	int (*ppoll)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
	int (*select)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
	int (*pselect)(int, fd_set *, fd_set *, fd_set *, const struct timespec *,
		       const sigset_t *);
	ssize_t (*sendfile)(int, int, off_t *, size_t);
	long (*syscall)(long, ...);
	int (*sigaction)(int, const struct sigaction *, struct sigaction *);
	int (*execve)(const char *, char *const[], char *const[]);
	int (*execvpe)(const char *, char *const[], char *const[]);
	int (*fexecve)(int, char *const[], char *const[]);
	int (*posix_spawn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			   const posix_spawnattr_t *, char *const[], char *const[]);
	int (*posix_spawnp)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			    const posix_spawnattr_t *, char *const[], char *const[]);
	/* NULL where libc lacks it (before glibc 2.35) */
	int (*epoll_pwait2)(int, struct epoll_event *, int, const struct timespec *,
			    const sigset_t *);
};

extern struct shim_libc shim_libc;

void shim_libc_init(void);

/*
 * SHIM_LIBC(fn): libc's fn, found first if the shim's constructor has not run yet: another
 * library's constructor may run before ours and call what we interpose (jemalloc, in redis,
 * calls syscall() from libgpg-error's).  The shim's own sockets exist only after it ran.
 */
#define SHIM_LIBC(fn) \
	(__builtin_expect(shim_libc.fn != NULL, 1) ? shim_libc.fn : (shim_libc_init(), shim_libc.fn))
void shim_exec_init(void);

/* --- the fd table (fd.c) ------------------------------------------------------------------- */

enum shim_kind {
	SHIM_FD_NONE,		/* libc's: passed through */
	SHIM_FD_SOCK,		/* an ixdp socket (struct shim_sock) */
	SHIM_FD_EPOLL,		/* an epoll set with ixdp members (struct shim_ep) */
};

void *shim_fd_get(int fd, enum shim_kind kind);
int shim_fd_set(int fd, enum shim_kind kind, void *obj);
void shim_fd_clear(int fd);
void shim_fd_each(unsigned int first, unsigned int last, void (*fn)(int fd));
void shim_fd_fork(bool (*keep_sock)(void *s), void (*on_epoll)(void *ep));

/* --- ixdp sockets (sock.c) ----------------------------------------------------------------- */

struct shim_ep;
struct shim_memb;

enum shim_sock_type { SHIM_LISTENER, SHIM_CONN };

#define SHIM_TIMEO_NOW UINT_MAX		/* a negative SO_RCVTIMEO: give up without waiting */

struct shim_sock {
	struct ixev_conn ixc;		/* SHIM_CONN: ixev's part (first: the handler's conn) */
	enum shim_sock_type type;
	int refs;			/* fds that name it (dup) */
	int nonblock;
	int family;
	struct sockaddr_storage local;
	socklen_t local_len;

	/* SHIM_LISTENER: the app's own kernel socket is its fd, and listens too */
	int kfd;
	uint16_t port;
	int backlog;
	int v6only;
	bool specific;			/* listens on ia, not on every address of ixdpd */
	bool taking;			/* the port's ixdp listen takes connections (not idle) */
	bool inherited;			/* a fork child's, not yet waited on here: gets none */
	bool claim_told;		/* a failed claim in a fork child was logged */
	struct ix_addr ia;
	struct shim_sock *port_next;	/* the port's other listeners */
	struct shim_sock *acc_head;	/* knocks, not yet taken by accept() */
	struct shim_sock *acc_tail;
	unsigned int acc_len;

	/* SHIM_CONN */
	struct shim_sock *acc_next;	/* on its listener's queue */
	ix_handle_t knock;		/* ... as this knock, from port knock_lport */
	uint16_t knock_lport;
	struct shim_sock *listener;	/* ... that one, until accepted */
	struct sockaddr_storage remote;
	socklen_t remote_len;
	int shut_rd;
	int shut_wr;
	int app_closed;			/* no fd left: ixev_close() done */
	int err_told;			/* its death was returned once */
	int connecting;			/* connect() sent, the daemon has not answered */
	int dial_err;			/* the connect failed: ixev let go of ixc (unusable) */
	int connect_said;		/* a connect() returned its outcome (not EINPROGRESS) */
	unsigned int rcvtimeo_ms;	/* SO_RCVTIMEO: 0 never, SHIM_TIMEO_NOW at once */
	unsigned int sndtimeo_ms;	/* SO_SNDTIMEO */

	struct shim_ctx *ctx;		/* its context (a fork child's listener: NULL until claimed) */
	bool moved;			/* moved to a thread's context once: it stays there */
	bool adrift;			/* a move ixdpd never settled: never touched (or freed) again */
	struct shim_memb *membs;	/* epoll sets it is in */
	unsigned int waiters;		/* threads blocked on it */
};

#define SHIM_CTX_MAX 64			/* contexts a process attaches at most */
#define SHIM_CTX_DEFAULT 8		/* ... unless IXDP_CONTEXTS says otherwise */

/*
 * One context of ixdpd (an ixev loop).  A thread is bound to one on its first ixdp socket; a
 * socket lives in one, and its events come there.  Entries of shim.ctx[] are never freed.
 */
struct shim_ctx {
	struct ixev_loop *loop;
	struct ix_ctx *ix;
	unsigned int id;		/* its index in shim.ctx[] */
	unsigned int sleepers;		/* threads asleep on its ix_fd(): it stays armed */
	unsigned int threads;		/* live threads bound to it */
	uint64_t drained_ns;		/* when a drain of it last ended */
};

typedef uint64_t shim_ctxset_t;		/* contexts, bit i for shim.ctx[i] */

static inline shim_ctxset_t shim_ctx_bit(const struct shim_ctx *c)
{
	return c ? 1ull << c->id : 0;
}

struct shim {
	pthread_mutex_t lock;
	struct shim_ctx ctx[SHIM_CTX_MAX];
	unsigned int nr_ctx;		/* attached so far */
	unsigned int max_ctx;		/* IXDP_CONTEXTS */
	const char *control;		/* IXDP_CONTROL as the process started (nginx's workers clear the
					 * environment) */
	shim_ctxset_t sending;		/* contexts with bytes the daemon has not taken yet */
	int prog_kick;			/* eventfd: wakes the progress thread */
	bool prog_started;
	bool prog_idle;			/* it waits for its kick only: nothing is sending */
	int attach_err;			/* the last attach's error: no more are tried */
	int dead;			/* ixdpd went away: its connections are reset */
	int sentinel;			/* accepted connections' fds are dups of it */
	int debug;			/* IXDP_DEBUG */
	int fallback;			/* IXDP_FALLBACK=kernel: no daemon, kernel sockets */
	unsigned int spin_us;		/* IXDP_SPIN_US */
};

extern struct shim shim;

void shim_sock_init(void);
void shim_sock_exit(void);
struct shim_ctx *shim_thr_ctx(void);
int shim_sleep_begin(shim_ctxset_t set);
void shim_sleep_end(shim_ctxset_t set);
void shim_ep_kick_sleepers(void);
void shim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int shim_listen(int fd, int backlog);
int shim_connect(int fd, const struct sockaddr *addr, socklen_t len);
int shim_connect_again(struct shim_sock *s);
#define SHIM_KERNEL 1			/* shim_connect(): not ours, the kernel's to do */
int shim_accept(struct shim_sock *l, struct sockaddr *addr, socklen_t *len, int flags);
ssize_t shim_recv(struct shim_sock *s, const struct iovec *iov, int iovcnt, int flags);
ssize_t shim_send(struct shim_sock *s, const struct iovec *iov, int iovcnt, int flags);
int shim_shutdown(struct shim_sock *s, int how);
void shim_sock_put(int fd, struct shim_sock *s);
uint32_t shim_sock_events(const struct shim_sock *s);
int shim_sock_name(const struct shim_sock *s, int peer, struct sockaddr *addr,
		   socklen_t *len);
int shim_dup(int fd, struct shim_sock *s, int newfd, int flags);
void shim_drain(struct shim_ctx *c);
void shim_drain_set(shim_ctxset_t set);
shim_ctxset_t shim_socks_ctxs(struct shim_sock **socks, unsigned int n);
void shim_adopt(struct shim_sock *s);
void shim_lst_pause(struct shim_sock *l);
int shim_wait(struct shim_sock **socks, unsigned int nsocks, struct pollfd *extra,
	      nfds_t nextra, int timeout_ms, bool restart);
void shim_wake_waiters(struct shim_sock *s);
uint64_t shim_now_ns(void);
uint64_t shim_now_ms(void);
int shim_ms_left(uint64_t deadline);

/* --- the app's signal handlers (signal.c) --------------------------------------------------- */

#define SHIM_TLS __attribute__((tls_model("initial-exec")))	/* read in signal handlers */

struct shim_sigmark {
	unsigned int runs;
	unsigned int breaks;
};

void shim_sig_mark(void);
bool shim_sig_ended(bool restart);

/* --- epoll sets (epoll.c) ------------------------------------------------------------------ */

void shim_notify(struct shim_sock *s);
void shim_ep_forget_sock(struct shim_sock *s);
void shim_ep_sock_moved(struct shim_sock *s, struct shim_ctx *from, struct shim_ctx *to);
int shim_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev);
int shim_epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout,
		    const sigset_t *mask);
void shim_epoll_close(int epfd);
int shim_poll(struct pollfd *fds, nfds_t n, int timeout);
void shim_ep_inherited(void *ep);
void shim_ep_daemon_gone(void);
void shim_ep_fork(void);
int shim_conn_err(const struct shim_sock *s);

#endif /* SHIM_H */
