/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ix.h - libix's native interface: IX's batched system calls and event conditions over a
 * shared-memory channel to ixdpd (include/ixdp/app.h).
 *
 * One struct ix_ctx per app thread; a context is used by one thread at a time.  Commands
 * (ix_accept, ix_send, ...) are written into the ring of the worker that owns the connection and
 * become visible to it at the next ix_flush() or ix_poll(): a batch costs one publication and
 * at most one wakeup per worker.  Events come back from every worker through ix_poll().
 *
 * Zero copy on the app's side: received bytes are read where the daemon put them (ev->data),
 * and a reply can be built in place in a buffer from ix_tx_alloc().  ix_send() also takes any
 * other buffer and copies it.
 *
 * Every call returns 0 or a count on success and a negative errno on failure; none calls exit()
 * or prints: messages go to the callback set with ix_set_log().  Once libix has noticed that the
 * daemon went away (in ix_poll(), ix_listen()/ix_unlisten() or a wait on a full ring), every call
 * fails with -ECONNRESET; commands queued before that are lost.
 */
#ifndef IX_IX_H
#define IX_IX_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IX_CONTROL_DEFAULT "/run/ixdp/ixdpd.sock"	/* overridden by $IXDP_CONTROL */
#define IX_SPIN_US 50		/* ix_poll() spins this long before it sleeps */
#define IX_ATTACH_TIMEOUT_MS 5000
#define IX_SYNC_TIMEOUT_MS 5000	/* ix_listen(), ix_unlisten() */
#define IX_END_TIMEOUT_MS 5000	/* ix_end() to the daemon's EOF: a bound for ixev_loop_destroy() */

typedef uint64_t ix_handle_t;

struct ix_ctx;

/* A remote or local endpoint.  family: AF_INET or AF_INET6; port in host order. */
struct ix_addr {
	int family;
	uint16_t port;
	union {
		struct in_addr v4;
		struct in6_addr v6;
	};
};

enum ix_ev_type {
	IX_EV_RESULT = 1,	/* a command's outcome (only commands that have one, and errors) */
	IX_EV_KNOCK = 2,	/* a new connection: answer ix_accept() or ix_reject() */
	IX_EV_CONNECTED = 3,	/* ix_connect() done: err 0 and a handle, or err < 0 */
	IX_EV_RECV = 4,		/* data (len 0: the peer closed its side) */
	IX_EV_SENT = 5,		/* len bytes of send space came back */
	IX_EV_DEAD = 6,		/* the connection is gone (err); ix_close() it */
	IX_EV_MOVED = 7,	/* a connection handed to this context (ix_move()): cookie, remote */
};

/* Commands, as IX_EV_RESULT names them (enum ixdp_app_op). */
enum ix_op {
	IX_OP_LISTEN = 1,
	IX_OP_UNLISTEN = 2,
	IX_OP_ACCEPT = 3,
	IX_OP_REJECT = 4,
	IX_OP_CONNECT = 5,
	IX_OP_SEND = 6,
	IX_OP_RECV_DONE = 7,
	IX_OP_SHUTDOWN = 8,
	IX_OP_CLOSE = 9,
	IX_OP_MOVE = 10,
};

struct ix_event {
	int type;		/* enum ix_ev_type */
	int err;		/* 0 or a negative errno */
	ix_handle_t handle;
	uint64_t cookie;	/* the app's, from ix_accept()/ix_connect()/ix_move(); KNOCK: the
				 * listener's */
	void *data;		/* RECV: the bytes, valid until ix_recv_done() covers them */
	size_t len;		/* RECV: bytes; SENT: bytes freed; RESULT of a SEND: bytes accepted */
	int op;			/* RESULT: enum ix_op */
	uint32_t seq;		/* RESULT: what the command's call returned */
	struct ix_addr remote;	/* KNOCK, CONNECTED, MOVED */
	uint16_t lport;		/* KNOCK, CONNECTED, MOVED: the local port */
	struct ix_addr local;	/* KNOCK, CONNECTED, MOVED: the local address and port */
};

enum ix_log_level { IX_LOG_ERR, IX_LOG_WARN, IX_LOG_INFO };
typedef void (*ix_log_fn)(int level, const char *msg, void *arg);

/*
 * ix_set_log - where libix's messages go (process-wide; default: nowhere).
 */
void ix_set_log(ix_log_fn fn, void *arg);

/*
 * ix_attach - attach a new context to the daemon.
 * @control: control socket path; NULL: $IXDP_CONTROL, else IX_CONTROL_DEFAULT
 * @ctxp:    receives the context
 *
 * Return: 0; -ENOENT or -ECONNREFUSED (no daemon there), -EACCES (the daemon refused this
 * user: not in its app group), -EPROTO (the daemon speaks another ABI version, the message
 * says which; or its answer made no sense), -ETIMEDOUT (no answer within IX_ATTACH_TIMEOUT_MS),
 * -EMFILE (too many contexts), -ENOMEM, -EINVAL, -ENAMETOOLONG (the path), or the error the
 * daemon reports for one of its workers.
 */
int ix_attach(const char *control, struct ix_ctx **ctxp);

/*
 * ix_end - end the context but keep reading its rings: the daemon refuses MOVEs to it from now
 * on (-ESRCH to the sender), writes the MOVED of every connection it was given before, resets
 * its connections and closes the control connection (within IX_END_TIMEOUT_MS, unless one of
 * its workers is stuck).  ix_poll() returns the events written until then, then -ECONNRESET:
 * from that point no connection moved here goes unannounced, and a MOVE of ours whose RESULT
 * has not come was never carried out.  Commands queued after ix_end() may not be carried out.
 * Then ix_detach().  Return: 0, -EINVAL, -ECONNRESET (the daemon has gone), or shutdown(2)'s
 * error.
 */
int ix_end(struct ix_ctx *ctx);

/*
 * ix_detach - close the context: the daemon resets its connections and frees its rings.
 * Events not read yet are lost: a conn another context moved here goes unannounced (ix_end()).
 */
void ix_detach(struct ix_ctx *ctx);

/*
 * ix_set_autoarm - with @on 0, an ix_poll() that returns nothing no longer arms the context:
 * call ix_arm_sleep() before sleeping on ix_fd() (0: sleep, 1: poll first; see libix.md).
 */
void ix_set_autoarm(struct ix_ctx *ctx, int on);
int ix_arm_sleep(struct ix_ctx *ctx);

/* ix_ifindex - the daemon's interface index (0: not said); see libix.md. */
unsigned int ix_ifindex(const struct ix_ctx *ctx);

/* Number of the daemon's workers (each connection belongs to one). */
unsigned int ix_nr_workers(const struct ix_ctx *ctx);

/*
 * ix_fd - a descriptor that becomes readable when ix_poll() may have something to return, for
 * apps that wait in their own poll/epoll loop: call ix_poll(ctx, ..., 0) until it returns 0.
 * An ix_poll() that returns 0 leaves the context armed: the next event makes ix_fd() readable.
 */
int ix_fd(const struct ix_ctx *ctx);

/*
 * ix_listen - accept connections to @port on @addr (NULL: every address of the daemon's
 * interface, both families; else family AF_INET/AF_INET6) through every worker.  Waits for all
 * workers (at most IX_SYNC_TIMEOUT_MS), keeping the events that arrive meanwhile for ix_poll().
 * Several contexts of one process may listen on the same port: new connections are spread
 * over them.  @cookie comes back in each IX_EV_KNOCK.
 *
 * The workers' RESULTs for LISTEN are consumed here and never reach ix_poll().
 *
 * Return: 0; -EADDRINUSE (another process listens there, or a diagnostic service does, or this
 * context already does, or this process does on another address of the port),
 * and, for an app that is not root: -EACCES (the port is below 1024 or not in the daemon's
 * app-ports), -ERANGE (inside the kernel's ephemeral range), -EBUSY (the kernel has a listener
 * on it); -EADDRNOTAVAIL (@addr is not one of the daemon's), -EINVAL, -ENOSPC (too many
 * listeners), -EAGAIN (a full ring), -ENOMEM, -ETIMEDOUT, -ECONNRESET.
 */
int ix_listen(struct ix_ctx *ctx, const struct ix_addr *addr, uint16_t port, uint64_t cookie);

/*
 * ix_listen_fd - ix_listen(), as the holder of kernel socket @fd (a TCP socket of this process
 * listening on the same address and port; -1: none): other processes that hold it too (forked
 * children, or SO_REUSEPORT siblings of the same user, which the kernel let bind there) may
 * listen on the port beside this one, and ixdpd spreads new connections over them (by flow
 * between different sockets of a reuseport group, in turn between holders of one socket).
 * With IX_LISTEN_IDLE the port is claimed but no connection is taken: they wait in ixdpd (up
 * to IXDP_APP_HELD_MAX per worker) until a context of the listen takes them, as this one does
 * after ix_listen_fd() again without the flag (or ix_listen()).
 *
 * Return: as ix_listen(); -EADDRINUSE for a context that listens there already (and not
 * idle), -EBADF (@fd not open).
 */
#define IX_LISTEN_IDLE 0x1
int ix_listen_fd(struct ix_ctx *ctx, const struct ix_addr *addr, uint16_t port, uint64_t cookie,
		 int fd, unsigned int flags);

/*
 * ix_unlisten - stop accepting on @port; @addr as given to ix_listen().
 * Return: 0, -ENOENT, -EINVAL, -ETIMEDOUT, -ECONNRESET.
 */
int ix_unlisten(struct ix_ctx *ctx, const struct ix_addr *addr, uint16_t port);

/*
 * The commands below are queued, not waited for.  Each returns its sequence number (> 0,
 * echoed in the IX_EV_RESULT it may get) or a negative errno: -EBADF (not a handle of this
 * context: never given to it, closed, rejected or moved away), -EINVAL, -ECONNRESET.  A full ring is published and waited on (events arriving
 * meanwhile are kept for ix_poll()); -EAGAIN if the worker took nothing for 1 s.
 * A command on a closed or foreign handle gets IX_EV_RESULT with err -EBADF.
 */

/* ix_accept - take the connection of an IX_EV_KNOCK; @cookie comes back in its events. */
long ix_accept(struct ix_ctx *ctx, ix_handle_t h, uint64_t cookie);

/* ix_reject - reset the connection of an IX_EV_KNOCK. */
long ix_reject(struct ix_ctx *ctx, ix_handle_t h);
/*
 * ix_pass - hand the connection of an IX_EV_KNOCK to another context taking connections on its
 * listen (another process holding the listener, ix_listen_fd()); reset when there is none.
 */
long ix_pass(struct ix_ctx *ctx, ix_handle_t h);

/*
 * ix_connect - open a connection to @remote from the daemon's address; exactly one
 * IX_EV_CONNECTED follows, with @cookie: err 0 and the handle, or handle 0 and the error
 * (-EINVAL, -ENOMEM, -EADDRNOTAVAIL, -EADDRINUSE, -EHOSTUNREACH, -ECONNREFUSED, -ETIMEDOUT).
 * The worker is chosen round-robin; the source port makes the replies land on it.
 */
long ix_connect(struct ix_ctx *ctx, const struct ix_addr *remote, uint64_t cookie);

/*
 * ix_tx_alloc - a buffer of @len bytes in the send area of @h's worker, to build data in place
 * and pass to ix_send().  One such buffer per worker at a time: it is the app's until ix_send()
 * of (a part of) it, or until the next ix_tx_alloc() for a handle of the same worker, which
 * takes an unsent one back.
 *
 * Return: the buffer, or NULL with errno: EAGAIN (no room now: ix_poll() returns results that
 * free some), EINVAL (@len 0 or larger than half the area), EBADF (a bad handle), ECONNRESET.
 */
void *ix_tx_alloc(struct ix_ctx *ctx, ix_handle_t h, size_t len);

/*
 * ix_send - send @len bytes of @buf on @h.  A buffer from ix_tx_alloc() is sent in place; any
 * other is copied first (-EAGAIN: no room in the send area now).  The IX_EV_RESULT says how
 * many bytes the connection took (len); send the rest after IX_EV_SENT.  The bytes are free
 * again when the result arrives.
 *
 * Sends may follow each other (and ix_shutdown() or ix_close() may follow them) without
 * waiting for their results.  Once a result takes fewer bytes than sent, the connection is
 * short: the sends queued behind it take nothing (len 0), ix_shutdown() and ix_close() behind
 * it are refused (IX_EV_RESULT, -EAGAIN, nothing changed), until the app sends the bytes not
 * taken with ix_send_flags(..., IX_SEND_RESUME), after that short result; so no byte ever
 * passes another.
 */
long ix_send(struct ix_ctx *ctx, ix_handle_t h, const void *buf, size_t len);

/* ix_send_flags - ix_send() with @flags: 0, or IX_SEND_RESUME (the first send after a short one). */
#define IX_SEND_RESUME 0x1
long ix_send_flags(struct ix_ctx *ctx, ix_handle_t h, const void *buf, size_t len,
		   unsigned int flags);

/* ix_recv_done - the app is done with the next @len received bytes of @h: window reopens. */
long ix_recv_done(struct ix_ctx *ctx, ix_handle_t h, size_t len);

/*
 * ix_shutdown - send FIN after the queued bytes; receiving goes on.  Refused with a RESULT of
 * -EAGAIN while the connection is short (see ix_send()).
 */
long ix_shutdown(struct ix_ctx *ctx, ix_handle_t h);

/*
 * ix_close - FIN after the queued bytes, or RST with @reset; @h is invalid from here on, unless
 * the connection is short (see ix_send()): then a FIN is refused with a RESULT of -EAGAIN and
 * @h stays the app's, as it was.
 */
long ix_close(struct ix_ctx *ctx, ix_handle_t h, int reset);

/*
 * ix_move - hand @h to @to, another context attached by this process (same pid and uid); its
 * thread gets IX_EV_MOVED with the same handle and @cookie, then, as IX_EV_RECV, every byte
 * not given back with ix_recv_done() before this call (so give back what was consumed first),
 * then the FIN and IX_EV_DEAD if they had come.  Commands queued on @h before this one are
 * carried out first.  The IX_EV_RESULT (op IX_OP_MOVE) settles it: err 0, and @h is no longer
 * @ctx's (forget it: commands on it get -EBADF); or -ESRCH (@to is gone or going), -EPERM
 * (another process), -EMFILE (@to holds as many connections as the daemon allows),
 * -ENOBUFS (@to's receive area cannot take the bytes), -EINVAL (not yet accepted, or
 * connecting), and @h stays @ctx's.  Between the call and the RESULT, @h's RECV, SENT and DEAD
 * events are held back: dropped on success (the new owner gets them afresh), returned after
 * the RESULT on failure.  Return: as ix_accept(), and -EBUSY (a move of @h is in flight).
 */
long ix_move(struct ix_ctx *ctx, ix_handle_t h, const struct ix_ctx *to, uint64_t cookie);

/* ix_flush - publish queued commands now (wakes a sleeping worker).  Return: 0, -ECONNRESET. */
int ix_flush(struct ix_ctx *ctx);

/*
 * ix_poll - publish queued commands, then return up to @max events, waiting at most
 * @timeout_ms for the first (0: do not wait; -1: until one comes).  Spins IX_SPIN_US, then
 * sleeps.  RECV data stays valid until ix_recv_done(); everything else in @evs is a copy.
 *
 * Return: number of events (0 on timeout), -ECONNRESET (the daemon went away), -EINVAL.
 */
int ix_poll(struct ix_ctx *ctx, struct ix_event *evs, int max, int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif /* IX_IX_H */
