/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ixev.h - IX's libevent-like layer over libix: per-connection contexts, event masks and
 * handlers, buffered send and copying or in-place receive.
 *
 * One struct ixev_loop per app thread (it owns one ix_ctx).  The app embeds a struct
 * ixev_conn in its own per-connection state; ixev never frees it, it calls ops->release() when
 * the connection is done with it (after ixev_close(), and once no event can reach it again).
 *
 *   ops->accept(loop, remote, lport) -> the app's ixev_conn, or NULL to reject
 *   ixev_set_handler(conn, IXEV_IN | IXEV_OUT, handler): handler(conn, IXEV_IN) when bytes
 *     (or EOF) are there, IXEV_OUT when send space came back, IXEV_HUP when the connection died
 *     (IXEV_HUP whatever the mask).  Handlers run once per connection after each batch of
 *     events, for what became ready (edge-triggered: unread bytes do not fire it again).
 *     After ixev_close(), ixev_send()/ixev_recv() on the conn return -EPIPE.
 *   ixev_recv()/ixev_peek()+ixev_consume(), ixev_send(), ixev_close()
 *
 * Return values: counts or 0 on success, negative errno on failure, as each function says.
 */
#ifndef IX_IXEV_H
#define IX_IXEV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ix.h"

#ifdef __cplusplus
extern "C" {
#endif

#define IXEV_IN 0x1	/* bytes or EOF to read */
#define IXEV_OUT 0x2	/* send space (ixev_send() would take bytes again) */
#define IXEV_HUP 0x4	/* the connection died (reset, timeout): close it */

#define IXEV_SEND_MAX (4u << 20)	/* bytes ixev buffers per connection before -EAGAIN */

struct ixev_loop;
struct ixev_conn;

typedef void (*ixev_handler_t)(struct ixev_conn *c, unsigned int events);

struct ixev_conn_ops {
	/* A new connection to a port the loop listens on: return its conn, or NULL to reject. */
	struct ixev_conn *(*accept)(struct ixev_loop *l, const struct ix_addr *remote,
				    uint16_t lport);
	/* ixev_dial() finished: err 0 (connected) or a negative errno (conn is released). */
	void (*dialed)(struct ixev_conn *c, int err);
	/* ixev is done with @c: the app may free it. */
	void (*release)(struct ixev_conn *c);
	/*
	 * Optional, instead of accept(): a knock the app answers later (an accept queue of its
	 * own): ixev_accept() when it takes it, ixev_refuse() otherwise.  @local is the address
	 * and port the peer reached.  Return 0 (kept), or IXEV_REJECT / IXEV_PASS to answer now.
	 */
	int (*knock)(struct ixev_loop *l, ix_handle_t h, const struct ix_addr *remote,
		     const struct ix_addr *local);
};

/* Embedded in the app's connection state; fields are ixev's, read-only for the app. */
struct ixev_conn {
	struct ixev_loop *loop;
	ix_handle_t handle;
	ixev_handler_t handler;
	unsigned int mask;	/* IXEV_* the handler wants */
	unsigned int ready;	/* IXEV_* that are true now */
	uint32_t slot;		/* ixev's cookie for the connection: slot and generation */
	uint32_t gen;
	/* received, not yet consumed */
	size_t rx_len;
	int rx_eof;
	int dead_err;
	void *rx_priv;		/* ixev's queue of received spans */
	/* buffered for sending */
	void *tx_priv;
	size_t tx_len;
	int closing;
	void *user;		/* the app's */
};

/*
 * ixev_loop_create - attach a context (see ix_attach) and make a loop over it.
 * Return: 0 or ix_attach()'s errors, -ENOMEM.
 */
int ixev_loop_create(const char *control, const struct ixev_conn_ops *ops, void *arg,
		     struct ixev_loop **lp);

/*
 * ixev_loop_destroy - end the context (ix_end()), read its rings to the daemon's EOF, release
 * every conn that is ours, detach.  Released: the live conns, every conn another loop moved here
 * before the end (moves after it are refused: the conn stays the sender's), and those this loop
 * was moving away whose MOVE was never carried out; each conn by exactly one loop.  Without the
 * daemon's answer in IX_END_TIMEOUT_MS (logged), conns being moved away are not released.
 */
void ixev_loop_destroy(struct ixev_loop *l);

/* The @arg given to ixev_loop_create(), and the loop's ix context. */
void *ixev_loop_arg(const struct ixev_loop *l);
struct ix_ctx *ixev_loop_ix(struct ixev_loop *l);

/* ixev_listen - see ix_listen().  Return: 0 or its errors. */
int ixev_listen(struct ixev_loop *l, const struct ix_addr *addr, uint16_t port);
#define IXEV_REJECT 1	/* knock(): reset it */
#define IXEV_PASS 2	/* knock(): hand it to another process on the listen (ix_pass()) */

/*
 * ixev_accept - take knock @h (kept by ops->knock()) as connection @c, from the port @lport.
 * A knock whose peer went away meanwhile is still taken: @c gets IXEV_HUP with its error.
 * Return: 0, -ENOMEM (reset), or ix_accept()'s error (@c is not the loop's).
 */
int ixev_accept(struct ixev_loop *l, ix_handle_t h, struct ixev_conn *c, uint16_t lport);
/* ixev_refuse - answer knock @h (kept by ops->knock()): IXEV_REJECT or IXEV_PASS. */
void ixev_refuse(struct ixev_loop *l, ix_handle_t h, int how);

/* ixev_listen_fd - see ix_listen_fd().  Return: 0 or its errors. */
int ixev_listen_fd(struct ixev_loop *l, const struct ix_addr *addr, uint16_t port, int fd,
		   unsigned int flags);

/*
 * ixev_run - wait for events (at most @timeout_ms, -1: no limit) and run the handlers.
 * Return: events handled (0 on timeout), -ECONNRESET (the daemon went away).
 */
int ixev_run(struct ixev_loop *l, int timeout_ms);

/* ixev_conn_init - set @c up before ixev_dial() or returning it from ops->accept(). */
void ixev_conn_init(struct ixev_conn *c);

/* ixev_set_handler - call @h for the events in @mask (IXEV_*) that are or become ready. */
void ixev_set_handler(struct ixev_conn *c, unsigned int mask, ixev_handler_t h);

/*
 * ixev_recv - copy up to @len received bytes into @buf and give their space back.
 * Return: bytes (> 0), 0 at EOF, -EAGAIN (nothing yet), -EINVAL, -EPIPE (closed), or the
 * connection's death (-ECONNRESET, -ETIMEDOUT, ...).
 */
ssize_t ixev_recv(struct ixev_conn *c, void *buf, size_t len);

/*
 * ixev_peek - the received bytes in place: *@data gets the first contiguous span.
 * Return: its length (> 0), 0 at EOF, -EAGAIN, or the death's errno.  ixev_consume() gives
 * back @len bytes (from the front; may span several peeks' worth; 0 does nothing).
 */
ssize_t ixev_peek(struct ixev_conn *c, const void **data);
void ixev_consume(struct ixev_conn *c, size_t len);

/*
 * ixev_send - queue @len bytes (copied) for sending.
 * Return: bytes taken (may be fewer than @len when IXEV_SEND_MAX is reached; IXEV_OUT says when
 * to go on), -EAGAIN (none taken), -EPIPE (shut down or closing), -ENOMEM, -EINVAL, or the
 * connection's death (-ECONNRESET, -ETIMEDOUT, ...).
 */
ssize_t ixev_send(struct ixev_conn *c, const void *buf, size_t len);

/* ixev_shutdown - FIN once the queued bytes are sent.  Return: 0, -EPIPE. */
int ixev_shutdown(struct ixev_conn *c);

/*
 * ixev_cork - TCP_CORK for @c: while @on, bytes queued with ixev_send() wait in ixev until
 * IXEV_CORK_FULL of them are unsent or the oldest has waited IXEV_CORK_MS (Linux's 200 ms),
 * so that a reply written in pieces leaves in one SEND; uncorking, ixev_shutdown() and
 * ixev_close() send them at the next ixev_run().  Return: 0, -EINVAL (not a conn of a loop).
 */
#define IXEV_CORK_FULL (16u << 10)
#define IXEV_CORK_MS 200
int ixev_cork(struct ixev_conn *c, int on);

/*
 * ixev_close - close @c (FIN after queued bytes; a dead conn is just freed).  No handler runs
 * for @c again; ops->release(@c) is called before this returns.
 */
void ixev_close(struct ixev_conn *c);

/*
 * ixev_move - hand @c to loop @to of this process (see ix_move()); handler, mask and user field
 * go with it, unconsumed received bytes come again on @to.  Do not touch @c after 0: it is
 * @to's (or, if the daemon refuses, this loop's again, its handler called here).  Return: 0,
 * -EINVAL, -ENOTCONN (dialing), -EPIPE (closing), -EBUSY (bytes to send or shut down), or
 * ix_move()'s errors.
 */
int ixev_move(struct ixev_conn *c, struct ixev_loop *to);

/*
 * ixev_moving - 1 while the ixev_move() of @c is under way (run both loops; touch nothing of
 * @c), 0 once settled: @c->loop is then the target (moved) or the sender (refused).  Only for a
 * conn handed to ixev_move() and not closed since.
 */
int ixev_moving(const struct ixev_conn *c);

/*
 * ixev_loop_sending - how many conns of @l (live, or closed and still sending their last bytes)
 * hold bytes the daemon has not taken: while not 0, @l must be run even if no handler waits.
 */
unsigned int ixev_loop_sending(const struct ixev_loop *l);

/* ixev_local_port - @c's local port (0: not live, or dialing). */
uint16_t ixev_local_port(const struct ixev_conn *c);

/* ixev_dial - connect @c to @remote; ops->dialed() reports.  Return: 0 or ix_connect()'s. */
int ixev_dial(struct ixev_loop *l, struct ixev_conn *c, const struct ix_addr *remote);

#ifdef __cplusplus
}
#endif

#endif /* IX_IXEV_H */
