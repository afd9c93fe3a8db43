/* SPDX-License-Identifier: GPL-2.0 */
/*
 * stack.h - a worker's TCP/IP stack: its own copy of lwIP, a netif per IPv4 address of the link
 * (more where IPv6 addresses outnumber a netif's slots), O(1) connection demux.
 *
 * The stack knows nothing of AF_XDP: frames come in through stack_input(), frames go out
 * through the worker's tx_alloc/tx_commit callbacks, and link-layer addresses come from its
 * resolve callback (the kernel's neighbour table, mirrored).  All calls for one stack are made
 * by one thread.
 *
 * Demux: lwIP finds a segment's pcb by walking tcp_active_pcbs, which costs ~50 µs per segment at
 * 4096 connections.  Between calls the list is kept empty and the stack keeps its own hash
 * (flow -> pcb); for each segment lwIP is handed a one-entry list, and afterwards the list is
 * reconciled with the hash (new pcbs in, pcbs that left out).  tcp_tmr() runs every 250 ms over
 * the full list, rebuilt from the hash.
 */
#ifndef IXDP_STACK_H
#define IXDP_STACK_H

#include <linux/types.h>
#include <stdbool.h>

#include "ixdp/ctl.h"
#include "ixdp/parse.h"

#define STACK_ADDRS_MAX 32	/* NETIF_ADDRS_MAX */
#define STACK_SERVICES_MAX 64	/* listeners: diagnostic services and apps' */
#define STACK_TMR_NS 250000000ull /* TCP_TMR_INTERVAL */

struct stack;
struct stack_conn;
struct stack_conn_info;

enum stack_service_kind {
	STACK_ECHO,	/* send every byte back */
	STACK_SINK,	/* read and discard */
	STACK_APP,	/* an app's (daemon/app/chan.c): bytes wait to be read, windows follow the app */
};

/*
 * What the stack tells the app layer (daemon/app/chan.c) about its connections.  Called from
 * inside lwIP: they record what happened and act later, never call back into the stack.
 */
struct stack_app_ops {
	/* A new connection on listener @lst: its app-layer handle, or NULL to reset it. */
	void *(*knock)(void *ctx, void *lst, struct stack_conn *c,
		       const struct stack_conn_info *info);
	/* Bytes (stack_conn_read) or the peer's FIN arrived. */
	void (*readable)(void *ctx, void *arg);
	/* @len bytes of send buffer came back. */
	void (*sent)(void *ctx, void *arg, __u32 len);
	/* stack_app_connect() finished: 0, -ECONNREFUSED or -ETIMEDOUT (then @c is gone). */
	void (*connected)(void *ctx, void *arg, int err);
	/* The connection is gone (-ECONNRESET, -ETIMEDOUT): the stack_conn is freed after this. */
	void (*dead)(void *ctx, void *arg, int err);
	/* The pid of the app that holds the connection, 0 if none (stack_conns()). */
	__s32 (*owner)(void *ctx, void *arg);
};

/* What the stack needs from the thread that drives it. */
struct stack_io {
	void *ctx;
	/* A buffer for one frame of @len bytes, or NULL (no frame: the stack drops and counts). */
	void *(*tx_alloc)(void *ctx, __u32 len);
	/* Send the frame in @buf (from tx_alloc), @len bytes. */
	void (*tx_commit)(void *ctx, void *buf, __u32 len);
	/* Give back a frame from tx_alloc that will not be sent. */
	void (*tx_drop)(void *ctx, void *buf);
	/*
	 * The MAC of next hop @addr (enum ixdp_family @family, network order): 0 and @mac filled,
	 * or -EAGAIN when unknown (resolution was requested; the stack asks again later).
	 */
	int (*resolve)(void *ctx, int family, const void *addr, __u8 mac[6]);
};

struct stack_addr {
	struct ixdp_addr_key a;	/* family, address */
	__u8 prefix_len;
};

struct stack_cfg {
	__u8 mac[6];
	__u16 mtu;
	__u32 hash_seed;	/* the flow hash, to count connections per flow group */
	__u32 demux_seed;	/* of the connection hash; 0: drawn by stack_open() */
	__u32 fg_mask;
	/*
	 * Half-open connections (SYN_RCVD) the stack holds at most, in all and per listener; a new
	 * SYN beyond either is dropped unanswered and counted (syn_dropped).  0: no limit.  lwIP's
	 * own listen backlog is compiled out of Debian's build (TCP_LISTEN_BACKLOG 0).
	 */
	__u32 half_open_max;
	__u32 half_open_listener_max;
	unsigned int nr_addrs;
	struct stack_addr addrs[STACK_ADDRS_MAX];
	const char *tmpdir;	/* for lwcopy's O_TMPFILE fallback */
};

/* Counters: written by the stack's thread only. */
struct stack_stats {
	union {			/* include/ixdp/ctl.h's list: by name, or as the block (c) */
		struct ixdp_ctl_tcp_counters c;
		struct {
			IXDP_CTL_TCP_COUNTERS(IXDP_CTL_U64)
		};
	};
	__u32 half_open;	/* connections in SYN_RCVD */
	__u32 conns;		/* in the demux hash (active) */
	__u32 time_wait;	/* on lwIP's TIME_WAIT list, counted each timer tick */
	__u32 *fg_conns;	/* [IXDP_FG_MAX]: active connections per flow group */
};

/* One connection, as `ixdpctl conns` lists it. */
struct stack_conn_info {
	__u8 family;		/* enum ixdp_family */
	__u8 state;		/* enum ixdp_tcp_state (include/ixdp/ctl.h) */
	__u16 fg;
	__u16 lport;
	__u16 rport;
	__u32 laddr[4];		/* network order */
	__u32 raddr[4];
	__s32 pid;		/* stack_conns(): the app process holding it, 0: none (or ixdpd's) */
};

int stack_open(struct stack **sp, const struct stack_cfg *cfg, const struct stack_io *io);
void stack_close(struct stack *s);
int stack_listen(struct stack *s, __u16 port, enum stack_service_kind kind);
int stack_addr_add(struct stack *s, const struct stack_addr *a);
int stack_addr_del(struct stack *s, const struct ixdp_addr_key *a);
int stack_fg_reset(struct stack *s, __u32 fg);
int stack_input(struct stack *s, const void *frame, const struct ixdp_pkt *pkt);
void stack_flush(struct stack *s);
void stack_poll(struct stack *s, __u64 now_ns);
__u64 stack_next_due(const struct stack *s);
const struct stack_stats *stack_stats(const struct stack *s);
struct lwcopy;
struct lwcopy *stack_lwcopy(struct stack *s);
unsigned int stack_conns(struct stack *s, struct stack_conn_info *out, unsigned int max);
const char *stack_how(const struct stack *s);
__u32 stack_demux_seed(const struct stack *s);

void stack_set_app(struct stack *s, const struct stack_app_ops *ops, void *ctx);
int stack_app_listen(struct stack *s, int family, const __u32 addr[4], __u16 port, void *arg);
int stack_app_unlisten(struct stack *s, void *arg);
int stack_app_source(const struct stack *s, int family, const __u32 raddr[4], __u32 laddr[4]);
__u32 stack_port_conns(const struct stack *s, __u16 port);
bool stack_app_flow_busy(struct stack *s, int family, const __u32 laddr[4], __u16 lport,
			 const __u32 raddr[4], __u16 rport);
int stack_app_connect(struct stack *s, int family, const __u32 laddr[4], __u16 lport,
		      const __u32 raddr[4], __u16 rport, void *arg, struct stack_conn **cp);
__u32 stack_conn_read(struct stack *s, struct stack_conn *c, void *dst, __u32 max);
bool stack_conn_pending(const struct stack_conn *c, bool *eof);
void stack_conn_recvd(struct stack *s, struct stack_conn *c, __u32 len);
int stack_conn_send(struct stack *s, struct stack_conn *c, const void *buf, __u32 len);
int stack_conn_shutdown(struct stack *s, struct stack_conn *c);
void stack_conn_close(struct stack *s, struct stack_conn *c, bool reset);

#endif /* IXDP_STACK_H */
