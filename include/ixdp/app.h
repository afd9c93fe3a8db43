/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * app.h - the shared-memory ABI between ixdpd and an app context (libix).
 *
 * An app thread attaches over the control socket (include/ixdp/ctl.h, IXDP_CTL_APP_ATTACH) and
 * gets back, with SCM_RIGHTS, one memfd holding everything below, one socket to sleep on and
 * one socket per worker to wake it with (see "Wakeups").  The memfd is created and sized by the
 * daemon and sealed against shrinking, so an app can never pull pages from under a worker.
 *
 *   offset 0                    struct ixdp_app_shm                 (daemon writes at attach)
 *   shm.chan_off + w*chan_size  struct ixdp_app_chan  for worker w  (one per worker)
 *     chan.cmd_off              struct ixdp_app_cmd  [cmd_entries]  app -> worker w
 *     chan.ev_off               struct ixdp_app_ev   [ev_entries]   worker w -> app
 *     chan.rx_off               rx_size bytes: data worker w received for the app (daemon writes)
 *     chan.tx_off               tx_size bytes: data the app sends through worker w (app writes)
 *
 * Every offset is from the start of the memfd; no pointer is ever shared.  Each field says who
 * writes it; the other side only reads it, and the daemon never trusts what an app wrote: it
 * copies each command out of the ring before looking at it and checks every handle, offset and
 * length (an error event and a counter for each bad one).
 *
 * Rings are single-producer single-consumer, indices free-running __u32 from 0 (entry = index &
 * (entries - 1)).  The daemon aligns every channel header to 64 bytes and every ring and area
 * to 4096; libix refuses a layout that is not at least 64- and 8-byte aligned respectively.
 * A producer writes its entries, then publishes the index with a release store; a consumer
 * reads the index with an acquire load.  Every context is attached to every worker:
 * a connection belongs to one worker, and its commands go to that worker's ring.  The handle
 * does not say which (version 2): the app learns the worker from the channel of the event that
 * gave it the handle (KNOCK, CONNECTED, MOVED) and keeps that, until a MOVED names another.
 *
 * Connections and flow control are IX's:
 *   - KNOCK: a new connection on a port the app listens on; the app answers ACCEPT (with its own
 *     cookie, echoed in every later event), REJECT (reset) or REJECT with IXDP_APP_REJECT_PASS
 *     (to another context taking connections on the listen).  Knocks go only to contexts that
 *     take connections (a LISTEN without IXDP_APP_LISTEN_IDLE); while none does they wait in
 *     the daemon.  A LISTEN naming the inode of a kernel socket the app's process holds,
 *     listening on the same address and port, may share the port with other processes
 *     holding it (fork children, SO_REUSEPORT siblings).
 *   - RECV: bytes at rx area offset off, len bytes; len 0 means the peer closed its side (FIN).
 *     The app returns receive space with RECV_DONE (bytes, in order): until then the bytes stay
 *     valid and the TCP window stays closed by that much.
 *   - SEND: bytes at tx area offset off; the worker copies what the connection's send buffer
 *     takes and answers RESULT with the count accepted; the tx bytes are the app's again as soon
 *     as RESULT arrives.  SENT reports send space freed by ACKs: send the rest then.  SENDs may
 *     follow each other without waiting for RESULTs (and SHUTDOWN or CLOSE may follow them):
 *     once a SEND takes fewer bytes than it carried, the connection is *short* and takes
 *     nothing more (RESULT len 0) until a SEND with IXDP_APP_SEND_RESUME, which the app sends
 *     only after it has read that short RESULT, with the bytes not taken; so no byte passes
 *     another.  While short, SHUTDOWN and CLOSE (not CLOSE_RESET) are refused with a RESULT
 *     of -EAGAIN and change nothing: send them again after the rest.  A MOVE clears it.
 *   - DEAD: the connection is gone (err: -ECONNRESET reset by the peer, -ETIMEDOUT
 *     retransmissions or keepalive gave up, -EPIPE closed under it).  The handle stays the
 *     app's, with its received bytes, until it sends CLOSE.
 *   - CONNECT always ends in one CONNECTED: a handle and err 0, or handle 0 and the error
 *     (-EINVAL, -ENOMEM, -EADDRNOTAVAIL, -EADDRINUSE, -EHOSTUNREACH before the wire;
 *     -ECONNREFUSED, -ETIMEDOUT on it).
 *   - CLOSE: FIN after the queued bytes, and the handle is invalid from then on (a DEAD handle
 *     is freed); CLOSE with IXDP_APP_CLOSE_RESET sends a RST instead.  A CLOSE has a RESULT
 *     only when refused (-EAGAIN: the connection is short, see SEND).
 *   - MOVE: hand an OPEN or DEAD connection to another context of the same process (same pid
 *     and uid at attach), named by its ctx_id in len, with the new owner's cookie.  Commands
 *     before it in the ring are carried out first (SENDs included).  The sender gets RESULT:
 *     err 0 and the handle is no longer its own (commands on it get -EBADF), or -ESRCH (no such
 *     context, or it is ending), -EPERM (another process), -EMFILE (the target holds
 *     app-ctx-conns), -ENOBUFS (the target's rx area cannot take the bytes), -EINVAL (not OPEN
 *     or DEAD, the sender itself) and the connection stays the sender's as it was.  On success
 *     the target gets, on its channel for the connection's worker, MOVED (the same handle, its
 *     cookie, remote address/port, lport), then every byte the sender had not given back with
 *     RECV_DONE as RECV events (copied into the target's rx area; the window stays closed by
 *     exactly those bytes), then the FIN (RECV len 0) and DEAD if they had happened, then what
 *     comes next.  Events the worker wrote for the connection to the sender before the MOVE
 *     are stale on success (their bytes travelled); on failure nothing is written again: the
 *     sender keeps what it had.  A MOVE still unread in the ring of a context that ends is
 *     not carried out.
 *   - MOVED for a handle the context already holds: the connection now has another worker
 *     (migration), whose channel the event came on; the app's commands for it go there from
 *     then on.  Nothing else changes: no bytes are replayed, the cookie stays.
 *
 * Ending: the context ends when the daemon reads EOF (or any byte, or an error) on its control
 * connection.  MOVEs to it are refused from then on.  Each worker then writes what it still
 * owes the context; while a MOVED waits for room in its event ring, that worker keeps the
 * context (for at most 2 s after the end, then the connection is reset and counted moved_lost),
 * then resets its connections and forgets it.  Only when every worker has let go does the
 * daemon close its end of the control connection.  An app that shuts down only its writing side
 * (libix's ix_end()) reads its rings until that EOF: then every connection moved to it has been
 * announced, and a MOVE of its own without a RESULT was never carried out.
 *
 * Wakeups: a side with nothing to do spins briefly, then sets its sleeping flag, re-checks its
 * rings, and sleeps in poll().  The other side, after publishing, reads the flag and only then
 * writes one byte to the sleeper's socket.  (Sockets, not eventfds: an eventfd's file status
 * flags are shared with whoever holds it, so an app could make the daemon's write block.)
 */
#ifndef IXDP_APP_H
#define IXDP_APP_H

#include <linux/types.h>

#define IXDP_APP_MAGIC 0x50415849u	/* "IXAP" */
#define IXDP_APP_VERSION 4
#define IXDP_APP_ENTRY 64

/*
 * Handles are opaque to apps (version 1 named the worker in bits 24-31; version 2 does not).
 * Handle 0 is never valid.  A stale handle (its connection closed or moved away) fails with
 * -EBADF, never reaches another connection.  A handle stays the same when its connection
 * moves to another context (MOVE) and, later, to another worker.
 */

enum ixdp_app_op {
	IXDP_APP_NOP = 0,
	IXDP_APP_LISTEN = 1,	/* family (0: both), addr (zero: every one), port, cookie, flags,
				 * handle: the app's kernel listener's inode, or 0 -> RESULT */
	IXDP_APP_UNLISTEN = 2,	/* family, addr, port -> RESULT */
	IXDP_APP_ACCEPT = 3,	/* handle (from KNOCK), cookie */
	IXDP_APP_REJECT = 4,	/* handle (from KNOCK), flags: reset, handle freed */
	IXDP_APP_CONNECT = 5,	/* family, addr, port, cookie -> CONNECTED */
	IXDP_APP_SEND = 6,	/* handle, off (in this worker's tx area), len, flags -> RESULT */
	IXDP_APP_RECV_DONE = 7,	/* handle, len */
	IXDP_APP_SHUTDOWN = 8,	/* handle: FIN after the queued bytes, receiving goes on */
	IXDP_APP_CLOSE = 9,	/* handle, flags: IXDP_APP_CLOSE_RESET */
	IXDP_APP_MOVE = 10,	/* handle, cookie (the new owner's), len = target ctx_id -> RESULT */
	IXDP_APP_OP_MAX,
};

#define IXDP_APP_CLOSE_RESET 0x1

/* SEND: the first after a short RESULT, with the bytes it did not take (see SEND above). */
#define IXDP_APP_SEND_RESUME 0x1

/*
 * LISTEN: claim the port but take no connection yet; they wait in ixdpd (up to
 * IXDP_APP_HELD_MAX per listen and worker) until a context listening on it without this flag
 * takes them.  A LISTEN without it by a context that holds the listen idle makes it take them.
 */
#define IXDP_APP_LISTEN_IDLE 0x1

/*
 * REJECT: hand the knock to another context taking connections on its listen (another process
 * holding the listener) instead of resetting it; reset only when there is none.
 */
#define IXDP_APP_REJECT_PASS 0x1
#define IXDP_APP_HELD_MAX 4096

/* One command: written by the app. */
struct ixdp_app_cmd {
	__u16 op;		/* enum ixdp_app_op */
	__u16 flags;
	__u32 len;		/* SEND, RECV_DONE: bytes; MOVE: the target's ctx_id */
	__u64 handle;
	__u64 cookie;		/* LISTEN, ACCEPT, CONNECT, MOVE: the app's, echoed in events */
	__u64 off;		/* SEND: offset in the channel's tx area (from chan.tx_off) */
	__u32 addr[4];		/* LISTEN, CONNECT: network order, IPv4 in addr[0] */
	__u16 port;		/* LISTEN, CONNECT: host order */
	__u8 family;		/* enum ixdp_family (include/ixdp/steer.h) */
	__u8 pad;
	__u32 seq;		/* the app's number for the command, echoed in its RESULT */
	__u8 reserved[8];
};

enum ixdp_app_ev_type {
	IXDP_APP_EV_NONE = 0,
	IXDP_APP_EV_RESULT = 1,		/* seq, handle, err, cookie (the connection's); SEND: len taken */
	IXDP_APP_EV_KNOCK = 2,		/* handle, cookie = the listener's, remote addr/port, lport */
	IXDP_APP_EV_CONNECTED = 3,	/* handle (0 on failure), cookie, err, remote addr/port */
	IXDP_APP_EV_RECV = 4,		/* handle, cookie, off (rx area), len (0: FIN) */
	IXDP_APP_EV_SENT = 5,		/* handle, cookie, len: send space freed */
	IXDP_APP_EV_DEAD = 6,		/* handle, cookie, err */
	IXDP_APP_EV_MOVED = 7,		/* handle, cookie (the MOVE's), remote addr/port, lport */
	IXDP_APP_EV_MAX,
};

/* One event: written by the daemon. */
struct ixdp_app_ev {
	__u16 type;		/* enum ixdp_app_ev_type */
	__u16 op;		/* RESULT: the command's op */
	__s32 err;		/* 0 or -errno */
	__u64 handle;
	__u64 cookie;
	union {
		struct {
			__u64 off;	/* RECV: offset in the channel's rx area (chan.rx_off) */
			__u32 len;
			__u32 seq;	/* RESULT: the command's seq */
		};
		__u32 laddr[4];	/* KNOCK, CONNECTED, MOVED: local address, network order */
	};
	__u32 addr[4];		/* KNOCK, CONNECTED, MOVED: remote address */
	__u16 port;		/* KNOCK, CONNECTED, MOVED: remote port */
	__u8 family;
	__u8 pad;
	__u16 lport;		/* KNOCK, CONNECTED, MOVED: the local port */
	__u16 pad2;
};

/* The context's header, at offset 0 of the memfd. */
struct ixdp_app_shm {
	/* written by the daemon at attach, then constant */
	__u32 magic;		/* IXDP_APP_MAGIC */
	__u16 version;		/* IXDP_APP_VERSION */
	__u16 hdr_size;		/* sizeof(struct ixdp_app_shm) */
	__u16 cmd_size;		/* sizeof(struct ixdp_app_cmd) */
	__u16 ev_size;		/* sizeof(struct ixdp_app_ev) */
	__u16 chan_hdr_size;	/* sizeof(struct ixdp_app_chan) */
	__u16 nr_workers;
	__u64 shm_size;		/* bytes of the memfd */
	__u64 chan_off;		/* struct ixdp_app_chan for worker 0 */
	__u64 chan_size;	/* distance between two channels' headers */
	__u32 cmd_entries;	/* per channel, a power of two */
	__u32 ev_entries;	/* per channel, a power of two */
	__u32 rx_size;		/* per channel, bytes */
	__u32 tx_size;		/* per channel, bytes */
	__u32 ctx_id;		/* the daemon's number for this context (logs, ixdpctl, MOVE) */
	__u32 conns_max;	/* connections it may hold per worker (app-ctx-conns) */

	/* written by the app */
	__u32 app_sleeping __attribute__((aligned(64)));	/* 1: write to the app's socket */
	__u32 reserved1[15];
};

/* One worker's channel of the context. */
struct ixdp_app_chan {
	/* written by the app */
	__u32 cmd_prod;		/* commands published */
	__u32 ev_cons;		/* events consumed */
	__u32 reserved0[14];

	/* written by the worker */
	__u32 cmd_cons __attribute__((aligned(64)));	/* commands consumed */
	__u32 ev_prod;		/* events published */
	__u32 worker_sleeping;	/* 1: write to this worker's socket after publishing commands */
	__u32 reserved1[13];

	/* written by the daemon at attach, then constant */
	__u64 cmd_off __attribute__((aligned(64)));
	__u64 ev_off;
	__u64 rx_off;
	__u64 tx_off;
	__u32 ifindex;		/* the daemon's interface, in its network namespace (0: not said) */
	__u32 reserved3;
	__u64 reserved2[3];
};

/* The payload of the IXDP_CTL_APP_ATTACH reply; the fds come with it (SCM_RIGHTS). */
struct ixdp_app_attach {
	__u32 magic;		/* IXDP_APP_MAGIC */
	__u16 version;		/* IXDP_APP_VERSION */
	__u16 nr_fds;		/* 2 + nr_workers: memfd, the app's socket, one socket per worker */
	__u64 shm_size;
	__u32 ctx_id;
	__u32 nr_workers;
};

#define IXDP_APP_FDS_MAX (2 + 64)

#ifdef __cplusplus
#define IXDP_APP_ASSERT static_assert
#else
#define IXDP_APP_ASSERT _Static_assert
#endif
IXDP_APP_ASSERT(sizeof(struct ixdp_app_cmd) == IXDP_APP_ENTRY, "command entry size");
IXDP_APP_ASSERT(sizeof(struct ixdp_app_ev) == IXDP_APP_ENTRY, "event entry size");
IXDP_APP_ASSERT(sizeof(struct ixdp_app_shm) == 128, "context header size");
IXDP_APP_ASSERT(sizeof(struct ixdp_app_chan) == 192, "channel header size");
IXDP_APP_ASSERT(sizeof(struct ixdp_app_attach) == 24, "attach reply size");
IXDP_APP_ASSERT(__builtin_offsetof(struct ixdp_app_shm, app_sleeping) == 64, "app line");
IXDP_APP_ASSERT(__builtin_offsetof(struct ixdp_app_chan, cmd_cons) == 64, "worker line");
IXDP_APP_ASSERT(__builtin_offsetof(struct ixdp_app_chan, cmd_off) == 128, "constant line");
#undef IXDP_APP_ASSERT

#endif /* IXDP_APP_H */
