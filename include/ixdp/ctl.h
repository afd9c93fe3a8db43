/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ctl.h - ixdpd's control protocol (Unix stream socket), spoken by ixdpctl and ixcp.
 *
 *   client ── struct ixdp_ctl_req ─────────────────────────────────► ixdpd
 *   client ◄── struct ixdp_ctl_reply + len bytes of payload ──────── ixdpd
 *
 * One request, one reply, in order, on one connection.  Every struct has a fixed size checked
 * below; a reply whose magic or version differs is refused by the client.  A failed request
 * gets status = -errno and a NUL-terminated message as its payload.
 *
 * IXDP_CTL_STATS payload, in this order:
 *   struct ixdp_ctl_stats
 *   struct ixdp_ctl_worker   [nr_workers]
 *   struct ixdp_ctl_queue    [nr_queues]
 *   struct ixdp_ctl_fg       [nr_fg]
 *   __u64 fg_worker_packets  [nr_fg][nr_workers]   frames of group g handled by worker w
 *
 * IXDP_CTL_CONNS payload: struct ixdp_ctl_conns, then struct ixdp_ctl_conn [count].
 *
 * IXDP_CTL_APP_ATTACH: see include/ixdp/app.h.
 */
#ifndef IXDP_CTL_H
#define IXDP_CTL_H

#include <linux/types.h>

#include "steer.h"

#define IXDP_CTL_MAGIC 0x49584443u	/* "IXDC" */
#define IXDP_CTL_VERSION 12
#define IXDP_CTL_REPLY_MAX (16u << 20)

enum ixdp_ctl_op {
	IXDP_CTL_STATS = 1,	/* no arguments */
	IXDP_CTL_FG_MOVE = 2,	/* arg[0] = flow group, arg[1] = worker, arg[2] = IXDP_CTL_FG_* */
	IXDP_CTL_CONNS = 3,	/* no arguments */
	/*
	 * arg[0] = IXDP_APP_MAGIC, arg[1] = IXDP_APP_VERSION (include/ixdp/app.h).  The reply's
	 * payload is struct ixdp_app_attach and its fds come with it (SCM_RIGHTS); the connection
	 * then stays open for the context's life: its end is the app's end.
	 */
	IXDP_CTL_APP_ATTACH = 4,
};

/*
 * IXDP_CTL_FG_MOVE flags (arg[2]; 0 from clients that predate them).  Without FORCE a group
 * holding TCP connections is not moved (-EBUSY): connection state does not move with it yet, so
 * they would break.
 */
#define IXDP_CTL_FG_FORCE 0x1u	/* move it anyway: its connections are reset */
#define IXDP_CTL_FG_FLAGS IXDP_CTL_FG_FORCE

/* TCP states, numbered as RFC 793 lists them (and as lwIP's enum tcp_state). */
enum ixdp_tcp_state {
	IXDP_TCP_CLOSED,
	IXDP_TCP_LISTEN,
	IXDP_TCP_SYN_SENT,
	IXDP_TCP_SYN_RCVD,
	IXDP_TCP_ESTABLISHED,
	IXDP_TCP_FIN_WAIT_1,
	IXDP_TCP_FIN_WAIT_2,
	IXDP_TCP_CLOSE_WAIT,
	IXDP_TCP_CLOSING,
	IXDP_TCP_LAST_ACK,
	IXDP_TCP_TIME_WAIT,
};

struct ixdp_ctl_req {
	__u32 magic;
	__u16 version;
	__u16 op;		/* enum ixdp_ctl_op */
	__u32 arg[4];
	__u32 reserved[2];
};

struct ixdp_ctl_reply {
	__u32 magic;
	__u16 version;
	__u16 op;
	__s32 status;		/* 0 or -errno */
	__u32 len;		/* payload bytes that follow */
};

enum ixdp_ctl_xdp_mode {
	IXDP_CTL_XDP_NATIVE,	/* attached by ixdpd through a BPF link, driver mode */
	IXDP_CTL_XDP_GENERIC,	/* attached by ixdpd through a BPF link, generic (skb) mode */
	IXDP_CTL_XDP_EXTERNAL,	/* attached by the operator (ip link), found by ixdpd */
};

struct ixdp_ctl_stats {
	char ifname[16];
	__u32 ifindex;
	__u8 xdp_mode;		/* enum ixdp_ctl_xdp_mode */
	__u8 xdp_native;	/* the kernel reports driver mode */
	__u8 zerocopy;		/* AF_XDP bound in zero-copy mode */
	__u8 hugepages;		/* umem on hugepages */
	__u32 nr_workers;
	__u32 nr_queues;
	__u32 nr_fg;
	__u32 reflect_udp;
	__u32 frame_size;
	__u32 xdp_prog_id;
	__u16 echo_tcp;
	__u16 sink_tcp;
	__u8 tcp;		/* workers run TCP stacks */
	__u8 pad[3];
	__u32 hash_seed;	/* the flow hash's seed (flow-hash-seed, or drawn at start) */
	__u8 hash_seed_random;	/* 1: drawn at start, not configured */
	__u8 hash_seed_shown;	/* 0: hash_seed withheld (the client is not root) */
	__u8 pad3[2];
	__u64 uptime_ns;
	__u64 umem_bytes;
	__u64 pool_frames;	/* frames in the umem */
	__u64 pool_free;	/* frames in the pool and worker caches */
	__u64 pool_kernel;	/* frames the kernel holds: fill, RX, TX and completion rings */
	__u64 xdp[IXDP_CNT_MAX];	/* enum ixdp_steer_counter */
	__u32 apps;		/* app contexts attached now */
	__u32 pad2;
	__u64 apps_attached;	/* since start */
	__u64 apps_detached;	/* ended: detach, exit, crash */
	__u64 apps_refused;	/* attach refused: credentials, ABI version, limits */
};

/*
 * The workers' counters, each described once: X(field, key, what it counts).  A list makes a
 * struct of __u64s that the daemon counts into (the worker's loop, its TCP stack, its app
 * channels: written by that worker alone, with relaxed stores), that IXDP_CTL_STATS carries as
 * is, and that ixdpctl prints (`stats --json` under the key, `counters` with the text).  A new
 * counter is one line here and its increments; IXDP_CTL_VERSION changes with any list.
 */
#define IXDP_CTL_WORKER_COUNTERS(X)							\
	X(rx_packets, "rx_packets", "frames received")					\
	X(rx_bytes, "rx_bytes", "bytes received")					\
	X(tx_packets, "tx_packets", "frames sent")					\
	X(tx_bytes, "tx_bytes", "bytes sent")						\
	X(rx_invalid, "rx_invalid", "frames dropped: malformed, or a bad checksum")	\
	X(rx_unhandled, "rx_unhandled", "frames dropped: no service here for them")	\
	X(tx_dropped, "tx_dropped", "frames dropped: the TX ring was full")		\
	X(misrouted, "misrouted", "frames of a flow group another worker owns: fwd_out + fwd_dropped") \
	X(sleeps, "sleeps", "times the worker went to sleep")				\
	X(cpu_lost, "cpu_lost", "idle back-offs begun: the worker's CPU was found taken") \
	X(busy_ns, "busy_ns", "time in loop iterations that found work, ns")		\
	X(rx_bursts, "rx_bursts", "RX bursts that found frames (rx_packets / rx_bursts: the mean batch)") \
	X(fwd_out, "fwd_out", "misrouted frames handed to their group's owner (w2w ring)") \
	X(fwd_dropped, "fwd_dropped", "misrouted frames dropped: the ring to the owner was full") \
	X(fwd_in, "fwd_in", "frames other workers forwarded here, handled")

#define IXDP_CTL_TCP_COUNTERS(X)							\
	X(conns_opened, "opened", "connections opened (accepted or connected)")	\
	X(conns_closed, "closed", "connections closed")					\
	X(segs_in, "segs_in", "TCP segments handed to lwIP")				\
	X(segs_out, "segs_out", "frames lwIP sent")					\
	X(retrans, "retrans", "segments sent again (sequence below the highest sent)")	\
	X(acks_coalesced, "acks_coalesced", "pure ACKs not sent: a later one in the batch covered them") \
	X(tw_reused, "tw_reused", "SYNs that replaced a connection of ours in TIME_WAIT")	\
	X(syn_dropped, "syn_dropped", "SYNs dropped unanswered: tcp-half-open, tcp-half-open-listener") \
	X(bytes_in, "bytes_in", "payload bytes received by the services and apps")	\
	X(bytes_out, "bytes_out", "payload bytes queued by the services and apps")	\
	X(rx_not_local, "rx_not_local", "segments dropped: not to one of our addresses")	\
	X(rx_nomem, "rx_nomem", "segments dropped: no pbuf for the frame")		\
	X(tx_nobuf, "tx_nobuf", "output dropped: no frame (TCP retransmits it)")	\
	X(tx_unresolved, "tx_unresolved", "output dropped: no neighbour after the wait")	\
	X(addr_resets, "addr_resets", "connections reset: their address was removed")

#define IXDP_CTL_APP_COUNTERS(X)							\
	X(cmds, "cmds", "commands taken")						\
	X(cmds_bad, "cmds_bad", "commands answered with an error: bad handle, offset, length, field") \
	X(events, "events", "events written")						\
	X(ev_full, "ev_full", "times an event ring was full: the app is behind")	\
	X(rx_full, "rx_full", "times a context's receive area was full")		\
	X(wakeups, "wakeups", "apps woken")						\
	X(knocks_refused, "knocks_refused", "new connections reset: no listening context took them") \
	X(conns_capped, "conns_capped", "knocks or CONNECTs refused: app-ctx-conns or uid-conns held") \
	X(ports_none, "ports_none", "CONNECTs refused: no source port left")		\
	X(moves, "moves", "connections handed to another context of their process (MOVE)")	\
	X(moves_refused, "moves_refused", "MOVEs of a live handle refused: the connection stayed") \
	X(moved_lost, "moved_lost", "conns moved to an ending context it never read of: reset") \
	X(knocks_held, "knocks_held", "new connections held until a context took them (idle listen)") \
	X(knocks_passed, "knocks_passed", "new connections a process handed on to another (REJECT_PASS)")

#define IXDP_CTL_U64(field, key, text) __u64 field;
#define IXDP_CTL_ONE(field, key, text) +1

struct ixdp_ctl_worker_counters {
	IXDP_CTL_WORKER_COUNTERS(IXDP_CTL_U64)
};

struct ixdp_ctl_tcp_counters {
	IXDP_CTL_TCP_COUNTERS(IXDP_CTL_U64)
};

struct ixdp_ctl_app_counters {
	IXDP_CTL_APP_COUNTERS(IXDP_CTL_U64)
};

struct ixdp_ctl_worker {
	__u32 id;
	__u32 cpu;
	__u32 busy_pct_x100;	/* busy share of the last second, in 1/100 % */
	__u32 cpu_pct_x100;
	__u32 flow_groups;	/* groups it owns */
	__u32 rx_burst;		/* adaptive RX burst limit now */
	__u32 tcp_conns;	/* active connections (zero when no TCP service runs) */
	__u32 tcp_time_wait;	/* connections in TIME_WAIT */
	__u32 tcp_half_open;	/* connections in SYN_RCVD */
	__u32 app_conns;	/* app connections, every state */
	__u32 app_contexts;	/* contexts attached to this worker */
	__u32 pad;
	__u64 cpu_ns;		/* thread CPU time, spinning included */
	__u64 xsk_rx_dropped;	/* kernel: RX ring full or frame too big, on its sockets */
	struct ixdp_ctl_worker_counters c;
	struct ixdp_ctl_tcp_counters tcp;
	struct ixdp_ctl_app_counters app;
};

struct ixdp_ctl_queue {
	__u32 id;
	__u32 pad;
	__u64 fill_empty;	/* kernel: frames lost because the fill ring was empty */
	__u64 reserved[2];
};

struct ixdp_ctl_fg {
	__u32 id;
	__u32 owner;
	__u64 packets;		/* as counted by the XDP program */
	__u64 bytes;
	__u32 conns;		/* TCP connections in the group */
	__u32 pad;
};

struct ixdp_ctl_conns {
	__u32 count;		/* entries that follow */
	__u32 truncated;	/* connections left out (the reply is bounded) */
};

struct ixdp_ctl_conn {
	__u8 family;		/* enum ixdp_family */
	__u8 state;		/* enum ixdp_tcp_state */
	__u16 worker;
	__u16 fg;
	__u16 lport;
	__u16 rport;
	__u16 pad;
	__u32 laddr[4];		/* network order; IPv4 in [0] */
	__u32 raddr[4];
	__u32 pid;		/* the app process holding it; 0: none (ixdpd's services, closing) */
};

#ifdef __cplusplus
#define IXDP_STATIC_ASSERT static_assert
#else
#define IXDP_STATIC_ASSERT _Static_assert
#endif
IXDP_STATIC_ASSERT(sizeof(struct ixdp_ctl_req) == 32, "ixdp_ctl_req ABI");
IXDP_STATIC_ASSERT(sizeof(struct ixdp_ctl_reply) == 16, "ixdp_ctl_reply ABI");
IXDP_STATIC_ASSERT(sizeof(struct ixdp_ctl_stats) == 168, "ixdp_ctl_stats ABI");
IXDP_STATIC_ASSERT(sizeof(struct ixdp_ctl_worker) ==
		   64 + 8 * (0 IXDP_CTL_WORKER_COUNTERS(IXDP_CTL_ONE) IXDP_CTL_TCP_COUNTERS(IXDP_CTL_ONE)
			     IXDP_CTL_APP_COUNTERS(IXDP_CTL_ONE)), "ixdp_ctl_worker ABI");
IXDP_STATIC_ASSERT(sizeof(struct ixdp_ctl_queue) == 32, "ixdp_ctl_queue ABI");
IXDP_STATIC_ASSERT(sizeof(struct ixdp_ctl_fg) == 32, "ixdp_ctl_fg ABI");
IXDP_STATIC_ASSERT(sizeof(struct ixdp_ctl_conns) == 8, "ixdp_ctl_conns ABI");
IXDP_STATIC_ASSERT(sizeof(struct ixdp_ctl_conn) == 48, "ixdp_ctl_conn ABI");

#endif /* IXDP_CTL_H */
