// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_fuzz.c - libFuzzer target: TCP segments from the wire into a worker's stack
 * (daemon/tcp/, over a real lwIP copy), the input read as a small program.
 *
 * Random bytes die at the first checksum, so the harness plays the remote host itself: it opens
 * connections with real handshakes (SYN options from the input: MSS, window scale, SACK
 * permitted, timestamps, garbage), follows the stack's sequence numbers from what it sends, and
 * the program's segments are described relative to that live state (sequence and ACK offsets,
 * flags, window, options, data offset, truncation), so the fuzzer reaches ESTABLISHED and
 * beyond: out-of-order data, window probes, zero windows, RST/SYN/FIN in every state, IPv4 and
 * IPv6, with or without a VLAN tag.  Raw frames (checksums fixed up or not), app listeners and
 * app connection calls (read, send, shutdown, close, reset, connect out), timers, the
 * half-open limits and addresses going away are program steps too.
 *
 * Input: byte 0 = global flags (G_*), then ops until the input ends:
 *   op & 15 = kind (OP_*), op >> 4 = its argument; each kind reads its own operands.
 *
 * A new stack per input (torn down with stack_close(), so LeakSanitizer sees every pcb, pbuf
 * and segment freed).  lwIP itself is not instrumented; ixdp's code is.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "ixdp/ctl.h"
#include "ixdp/parse.h"
#include "net/csum.h"
#include "tcp/stack.h"

enum {
	G_RAW = 1,		/* the rest is raw frames: [len16][bytes]... */
	G_NEIGH_UNKNOWN = 2,	/* the neighbour is unknown until the first tick */
	G_APP = 4,		/* an app listens on APP_PORT from the start */
	G_LIMITS = 8,		/* tiny half-open limits: 3 per stack, 2 per listener */
	G_VLAN = 16,		/* the harness's frames carry an 802.1Q tag */
};

enum {
	OP_CONNECT,	/* arg: bit0 IPv6, bits1-2 port, bit3 stop half-open; [optlen][opts] */
	OP_SEG,		/* arg: conn; [flags][seq16][ack16][win16][plen][optlen][opts][doff] */
	OP_TICK,	/* arg + 1 timer periods (250 ms) */
	OP_RAW,		/* arg bit0: fix checksums; [len16][bytes] */
	OP_LISTEN,	/* arg bit0: unlisten; bits 1-2: family any/4/6 */
	OP_APP,		/* arg: app conn; [sub][n16] */
	OP_APP_CONNECT,	/* arg: bit0 IPv6, port 5000 + arg */
	OP_ADDR,	/* arg bit0: remove the second addresses, else add them */
	OP_FLUSH,
	OP_MAX,
};

#define ECHO_PORT 7
#define SINK_PORT 9
#define APP_PORT 8000
#define CONNS_MAX 8
#define APP_CONNS_MAX 16
#define OPS_MAX 256
#define FRAME_MAX 1600

static const __u8 srv_mac[6] = { 0x02, 0, 0xc6, 0x12, 0, 1 };
static const __u8 peer_mac[6] = { 0x02, 0, 0xc6, 0x12, 0, 2 };
static const __u16 ports[4] = { ECHO_PORT, SINK_PORT, APP_PORT, 1234 };

/* A connection as the harness (the remote host) sees it. */
struct fconn {
	bool used;
	bool v6;
	__u16 sport;		/* ours */
	__u16 dport;		/* the stack's */
	__u32 snd_nxt;		/* our next sequence number */
	__u32 rcv_nxt;		/* the stack's highest sequence number sent + 1 */
	bool synack;		/* the stack answered our SYN */
};

struct fz {
	const __u8 *p, *end;
	struct stack *s;
	__u64 now;
	bool neigh_known;
	bool vlan;
	struct fconn conns[CONNS_MAX];
	unsigned int next_conn;
	__u16 next_sport;
	struct stack_conn *app[APP_CONNS_MAX];
	int listener;		/* the app layer's listener: its address is the handle */
	bool listening;
	unsigned int frames_out;
};

static struct fz fz;

static __u8 rd8(void)
{
	return fz.p < fz.end ? *fz.p++ : 0;
}

static __u16 rd16(void)
{
	return rd8() | rd8() << 8;
}

static const __u8 *rdn(size_t n)
{
	const __u8 *q = fz.p;

	if ((size_t)(fz.end - fz.p) < n)
		return NULL;
	fz.p += n;
	return q;
}

static void addr_of(bool v6, bool server, unsigned int which, __u32 a[4])
{
	memset(a, 0, 16);
	if (!v6) {
		a[0] = __builtin_bswap32(0xc6120000u | (server ? (which ? 9 : 1) : 2));
	} else {
		a[0] = __builtin_bswap32(0x20010db8);
		a[3] = __builtin_bswap32(server ? (which ? 9 : 1) : 2);
	}
}

/* --- the stack's side: its frames come here ---------------------------------------------- */

static void *fz_tx_alloc(void *ctx, __u32 len)
{
	fz.frames_out++;
	return malloc(len);
}

static bool seq_after(__u32 a, __u32 b)
{
	return (__s32)(a - b) > 0;
}

/* Learn the stack's sequence numbers from what it sends; a SYN opens a harness connection. */
static void fz_tx_commit(void *ctx, void *buf, __u32 len)
{
	struct ixdp_pkt pkt;
	unsigned int i;

	fz.frames_out--;
	if (ixdp_parse(buf, (__u8 *)buf + len, &pkt) == IXDP_PARSE_L4 &&
	    pkt.flow.proto == IPPROTO_TCP) {
		const __u8 *th = (const __u8 *)buf + pkt.l4_off;
		__u32 seq;
		__u32 hlen = (th[12] >> 4) * 4;
		__u32 seglen = pkt.l3_off + pkt.l3_len - pkt.l4_off - hlen + !!(th[13] & 2) +
			       !!(th[13] & 1);
		struct fconn *c = NULL;

		memcpy(&seq, th + 4, 4);
		seq = __builtin_bswap32(seq);
		for (i = 0; i < CONNS_MAX; i++)
			if (fz.conns[i].used && fz.conns[i].sport == pkt.flow.dport &&
			    fz.conns[i].dport == pkt.flow.sport &&
			    fz.conns[i].v6 == (pkt.flow.family == IXDP_FAMILY_INET6))
				c = &fz.conns[i];
		if (!c && (th[13] & 0x12) == 0x02) { /* the stack connects out */
			c = &fz.conns[fz.next_conn++ % CONNS_MAX];
			*c = (struct fconn){ .used = true, .v6 = pkt.flow.family == IXDP_FAMILY_INET6,
					     .sport = pkt.flow.dport, .dport = pkt.flow.sport,
					     .snd_nxt = 0x10000000, .rcv_nxt = seq };
		}
		if (c) {
			if ((th[13] & 0x12) == 0x12)
				c->synack = true;
			if (seq_after(seq + seglen, c->rcv_nxt) || (th[13] & 0x02))
				c->rcv_nxt = seq + seglen;
		}
	}
	free(buf);
}

static void fz_tx_drop(void *ctx, void *buf)
{
	fz.frames_out--;
	free(buf);
}

static int fz_resolve(void *ctx, int family, const void *addr, __u8 mac[6])
{
	if (!fz.neigh_known)
		return -EAGAIN;
	memcpy(mac, peer_mac, 6);
	return 0;
}

/* --- the app layer ---------------------------------------------------------------------- */

/* A free slot for an app connection, or -1. */
static int app_free_slot(void)
{
	unsigned int i;

	for (i = 0; i < APP_CONNS_MAX; i++)
		if (!fz.app[i])
			return i;
	return -1;
}

/* The app layer's argument of a connection is its slot's address. */
static int app_slot(void *arg)
{
	struct stack_conn **sl = arg;

	assert(sl >= fz.app && sl < fz.app + APP_CONNS_MAX && *sl);
	return sl - fz.app;
}

static void *app_knock(void *ctx, void *lst, struct stack_conn *c,
		       const struct stack_conn_info *info)
{
	int i = app_free_slot();

	assert(lst == &fz.listener);
	assert(info->lport == APP_PORT);
	if (i < 0)
		return NULL; /* the stack resets it */
	fz.app[i] = c;
	return &fz.app[i];
}

static void app_readable(void *ctx, void *arg)
{
	app_slot(arg);
}

static void app_sent(void *ctx, void *arg, __u32 len)
{
	app_slot(arg);
}

static void app_connected(void *ctx, void *arg, int err)
{
	int i = app_slot(arg);

	if (err)
		fz.app[i] = NULL; /* gone */
}

static void app_dead(void *ctx, void *arg, int err)
{
	fz.app[app_slot(arg)] = NULL;
}

static const struct stack_app_ops app_ops = { app_knock, app_readable, app_sent, app_connected,
					      app_dead };

/* --- the harness's frames --------------------------------------------------------------- */

static void feed(__u8 *f, size_t len)
{
	struct ixdp_pkt pkt;
	__u8 *copy = malloc(len ? len : 1); /* exact size: ASan sees a byte past the end */

	if (!copy)
		return;
	memcpy(copy, f, len);
	if (ixdp_parse(copy, copy + len, &pkt) == IXDP_PARSE_L4 && pkt.flow.proto == IPPROTO_TCP) {
		int ret = stack_input(fz.s, copy, &pkt);

		assert(ret == 0 || ret == -EINVAL || ret == -ENOBUFS || ret == -ENOMEM);
	}
	free(copy);
}

/* Fix the IPv4 header checksum and the TCP checksum of a frame that parses as TCP. */
static void fix_csums(__u8 *f, size_t len)
{
	struct ixdp_pkt pkt;
	__u8 *l3, *th;
	__u16 c, l4len;

	if (ixdp_parse(f, f + len, &pkt) != IXDP_PARSE_L4 || pkt.flow.proto != IPPROTO_TCP)
		return;
	l3 = f + pkt.l3_off;
	th = f + pkt.l4_off;
	l4len = pkt.l3_off + pkt.l3_len - pkt.l4_off;
	th[16] = th[17] = 0;
	if (pkt.flow.family == IXDP_FAMILY_INET) {
		l3[10] = l3[11] = 0;
		c = ~csum_fold(csum_partial(l3, (l3[0] & 15) * 4, 0));
		memcpy(l3 + 10, &c, 2);
		c = ~csum_fold(csum_partial(th, l4len,
					    csum_pseudo_v4(l3 + 12, l3 + 16, IPPROTO_TCP, l4len)));
	} else {
		c = ~csum_fold(csum_partial(th, l4len,
					    csum_pseudo_v6(l3 + 8, l3 + 24, IPPROTO_TCP, l4len)));
	}
	memcpy(th + 16, &c, 2);
}

struct seg {
	__u8 flags;
	__u32 seq, ack;
	__u16 win;
	const __u8 *opts;
	__u8 optlen;
	__u8 doff;	/* 0: the right one */
	__u16 plen;
	__u8 cut;	/* bytes cut off the end of the frame */
	__u32 daddr_which;
};

static void send_seg(const struct fconn *c, const struct seg *g)
{
	static __u8 f[FRAME_MAX + 64];
	__u32 sa[4], da[4];
	size_t l2 = fz.vlan ? 18 : 14, l3len = c->v6 ? 40 : 20;
	size_t optspace = (g->optlen + 3) & ~3u; /* zero padded: EOL */
	size_t l4len = 20 + optspace + g->plen, len = l2 + l3len + l4len, i;
	__u8 *ip = f + l2, *th = ip + l3len;
	__u32 u32;

	if (len > sizeof(f))
		return;
	memset(f, 0, len);
	addr_of(c->v6, false, 0, sa);
	addr_of(c->v6, true, g->daddr_which, da);
	memcpy(f, srv_mac, 6);
	memcpy(f + 6, peer_mac, 6);
	if (fz.vlan) {
		f[12] = 0x81;
		f[14] = 0x00;
		f[15] = 0x05;
	}
	f[l2 - 2] = c->v6 ? 0x86 : 0x08;
	f[l2 - 1] = c->v6 ? 0xdd : 0x00;
	if (c->v6) {
		ip[0] = 0x60;
		ip[4] = l4len >> 8;
		ip[5] = l4len;
		ip[6] = IPPROTO_TCP;
		ip[7] = 64;
		memcpy(ip + 8, sa, 16);
		memcpy(ip + 24, da, 16);
	} else {
		ip[0] = 0x45;
		ip[2] = (20 + l4len) >> 8;
		ip[3] = 20 + l4len;
		ip[8] = 64;
		ip[9] = IPPROTO_TCP;
		memcpy(ip + 12, sa, 4);
		memcpy(ip + 16, da, 4);
	}
	th[0] = c->sport >> 8;
	th[1] = c->sport;
	th[2] = c->dport >> 8;
	th[3] = c->dport;
	u32 = __builtin_bswap32(g->seq);
	memcpy(th + 4, &u32, 4);
	u32 = __builtin_bswap32(g->ack);
	memcpy(th + 8, &u32, 4);
	th[12] = (g->doff ? g->doff : (20 + optspace) / 4) << 4;
	th[13] = g->flags;
	th[14] = g->win >> 8;
	th[15] = g->win;
	if (g->optlen)
		memcpy(th + 20, g->opts, g->optlen);
	for (i = 0; i < g->plen; i++)
		th[20 + optspace + i] = (__u8)(g->seq + i);
	fix_csums(f, len);
	feed(f, len - (g->cut < len ? g->cut : 0));
}

static struct fconn *conn_new(bool v6, __u16 dport)
{
	struct fconn *c = &fz.conns[fz.next_conn++ % CONNS_MAX];

	*c = (struct fconn){ .used = true, .v6 = v6, .sport = fz.next_sport++, .dport = dport,
			     .snd_nxt = 1000u * fz.next_sport };
	return c;
}

/* A handshake with SYN options @opts; stops after the SYN if @half. */
static void op_connect(__u8 arg)
{
	__u8 optlen = rd8() % 41;
	const __u8 *opts = rdn(optlen);
	struct fconn *c = conn_new(arg & 1, ports[(arg >> 1) & 3]);
	struct seg g = { .flags = 0x02, .seq = c->snd_nxt, .win = 65535, .opts = opts,
			 .optlen = opts ? optlen : 0 };

	send_seg(c, &g);
	stack_flush(fz.s);
	c->snd_nxt++;
	if ((arg & 8) || !c->synack)
		return;
	g = (struct seg){ .flags = 0x10, .seq = c->snd_nxt, .ack = c->rcv_nxt, .win = 65535 };
	send_seg(c, &g);
}

static void op_seg(__u8 arg)
{
	struct fconn *c = &fz.conns[arg & (CONNS_MAX - 1)];
	struct seg g;
	__s16 dseq, dack;
	__u8 optlen, doff;

	g.flags = rd8();
	dseq = (__s16)rd16();
	dack = (__s16)rd16();
	g.win = rd16();
	g.plen = rd8() * 6;
	if (g.plen > 1400)
		g.plen = 1400;
	optlen = rd8() % 41;
	g.opts = rdn(optlen);
	g.optlen = g.opts ? optlen : 0;
	doff = rd8();
	g.doff = doff & 15;
	g.cut = (doff >> 4) * 3;
	g.daddr_which = (arg >> 3) & 1;
	if (!c->used) {
		*c = (struct fconn){ .used = true, .sport = 40000 + (arg & 7), .dport = ECHO_PORT };
	}
	g.seq = c->snd_nxt + dseq;
	g.ack = c->rcv_nxt + dack;
	send_seg(c, &g);
	if (!dseq && !g.cut && !g.doff)
		c->snd_nxt += g.plen + !!(g.flags & 2) + !!(g.flags & 1);
}

static void op_raw(__u8 arg)
{
	static __u8 f[FRAME_MAX];
	__u16 len = rd16() % FRAME_MAX;
	const __u8 *b = rdn(len);

	if (!b)
		return;
	memcpy(f, b, len);
	if (len >= 14)
		memcpy(f, srv_mac, 6);
	if (arg & 1)
		fix_csums(f, len);
	feed(f, len);
}

static void op_listen(__u8 arg)
{
	static const int fam[4] = { 0, IXDP_FAMILY_INET, IXDP_FAMILY_INET6, 0 };
	const __u32 any[4] = { 0 };
	int ret;

	if (arg & 1) {
		ret = stack_app_unlisten(fz.s, &fz.listener);
		assert(ret == 0 || (ret == -ENOENT && !fz.listening));
		fz.listening = false;
	} else if (!fz.listening) {
		ret = stack_app_listen(fz.s, fam[(arg >> 1) & 3], any, APP_PORT, &fz.listener);
		assert(ret == 0 || ret == -ENOMEM);
		fz.listening = !ret;
	}
}

static void op_app(__u8 arg)
{
	static __u8 buf[1 << 16];
	struct stack_conn *c = fz.app[arg & (APP_CONNS_MAX - 1)];
	__u8 sub = rd8();
	__u16 n = rd16();
	bool eof;
	int ret;

	if (!c)
		return;
	switch (sub % 6) {
	case 0:
		n = stack_conn_read(fz.s, c, buf, n);
		stack_conn_pending(c, &eof);
		stack_conn_recvd(fz.s, c, n);
		break;
	case 1:
		memset(buf, 'a' + (n & 15), n);
		ret = stack_conn_send(fz.s, c, buf, n);
		assert(ret == -ENOTCONN || (ret >= 0 && ret <= n));
		break;
	case 2:
		stack_conn_shutdown(fz.s, c);
		break;
	case 3:
	case 4:
		fz.app[arg & (APP_CONNS_MAX - 1)] = NULL;
		stack_conn_close(fz.s, c, sub % 6 == 4);
		break;
	case 5:
		stack_conn_recvd(fz.s, c, n);
		break;
	}
}

static void op_app_connect(__u8 arg)
{
	__u32 la[4], ra[4];
	struct stack_conn *c;
	int i = app_free_slot(), ret;
	bool v6 = arg & 1;

	if (i < 0)
		return;
	addr_of(v6, false, 0, ra);
	if (stack_app_source(fz.s, v6 ? IXDP_FAMILY_INET6 : IXDP_FAMILY_INET, ra, la))
		return;
	/* The slot is taken before the call: no knock may take it meanwhile. */
	fz.app[i] = (struct stack_conn *)&fz;
	ret = stack_app_connect(fz.s, v6 ? IXDP_FAMILY_INET6 : IXDP_FAMILY_INET, la,
				61000 + arg, ra, 5000 + arg, &fz.app[i], &c);
	assert(ret == 0 || ret == -EADDRINUSE || ret == -ENOMEM || ret == -EHOSTUNREACH);
	fz.app[i] = ret ? NULL : c;
}

static void op_addr(__u8 arg)
{
	unsigned int v6;

	for (v6 = 0; v6 < 2; v6++) {
		struct stack_addr a = { .prefix_len = v6 ? 64 : 24 };

		a.a.family = v6 ? IXDP_FAMILY_INET6 : IXDP_FAMILY_INET;
		addr_of(v6, true, 1, a.a.addr);
		if (arg & 1)
			stack_addr_del(fz.s, &a.a);
		else
			stack_addr_add(fz.s, &a);
	}
}

static void tick(unsigned int n)
{
	while (n--) {
		fz.now += STACK_TMR_NS;
		fz.neigh_known = true;
		stack_poll(fz.s, fz.now);
	}
}

/*
 * Two stacks for the process life, one with tiny half-open limits: lwIP has no way to free the
 * timeouts lwip_init() arms, so an unloaded copy would leave them behind (LeakSanitizer sees
 * them: 6 x 32 bytes per copy).  Between inputs every connection is reset by taking the
 * addresses away (stack_addr_del()), then they are given back.
 */
static struct stack *stacks[2];

static void addrs(struct stack_addr a[2])
{
	unsigned int i;

	for (i = 0; i < 2; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		a[i].a.family = i ? IXDP_FAMILY_INET6 : IXDP_FAMILY_INET;
		addr_of(i, true, 0, a[i].a.addr);
		a[i].prefix_len = i ? 64 : 24;
	}
}

static struct stack *stack_get(bool limits)
{
	struct stack_cfg cfg = { .mtu = 1500, .hash_seed = 1, .fg_mask = 255, .demux_seed = 7 };
	struct stack_io io = { NULL, fz_tx_alloc, fz_tx_commit, fz_tx_drop, fz_resolve };
	struct stack **sp = &stacks[limits];

	if (*sp)
		return *sp;
	memcpy(cfg.mac, srv_mac, 6);
	if (limits) {
		cfg.half_open_max = 3;
		cfg.half_open_listener_max = 2;
	}
	cfg.nr_addrs = 2;
	addrs(cfg.addrs);
	log_max_level = LOG_LVL_ERR;
	if (stack_open(sp, &cfg, &io) || stack_listen(*sp, ECHO_PORT, STACK_ECHO) ||
	    stack_listen(*sp, SINK_PORT, STACK_SINK))
		abort(); /* the harness itself is broken */
	stack_set_app(*sp, &app_ops, NULL);
	return *sp;
}

/* Back to no connection at all, only the two listeners and the two first addresses. */
static void stack_reset(void)
{
	struct stack_addr a[2];
	const struct stack_stats *st = stack_stats(fz.s);
	unsigned int i;

	for (i = 0; i < APP_CONNS_MAX; i++) {
		if (fz.app[i]) {
			struct stack_conn *c = fz.app[i];

			fz.app[i] = NULL;
			stack_conn_close(fz.s, c, true);
		}
	}
	if (fz.listening)
		assert(!stack_app_unlisten(fz.s, &fz.listener));
	op_addr(1);
	addrs(a);
	for (i = 0; i < 2; i++)
		assert(stack_addr_del(fz.s, &a[i].a) >= 0);
	tick(16); /* frames waiting for a neighbour give up after 3 s */
	stack_flush(fz.s);
	assert(st->conns == 0 && st->time_wait == 0 && st->half_open == 0);
	for (i = 0; i < 2; i++)
		assert(!stack_addr_add(fz.s, &a[i]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static __u64 now = 1000000000ull; /* the stacks' clock only goes forward */
	unsigned int ops = 0, i;
	__u8 g;

	if (!size || size > 1 << 16)
		return 0;
	memset(&fz, 0, sizeof(fz));
	fz.p = data;
	fz.end = data + size;
	fz.now = now;
	fz.next_sport = 20000;
	g = rd8();
	fz.neigh_known = !(g & G_NEIGH_UNKNOWN);
	fz.vlan = g & G_VLAN;
	fz.s = stack_get(g & G_LIMITS);
	if (g & G_APP)
		op_listen(0);

	if (g & G_RAW) {
		while (fz.p < fz.end && ops++ < OPS_MAX)
			op_raw(fz.p[0] & 0x80 ? 1 : 0);
	}
	while (fz.p < fz.end && ops++ < OPS_MAX) {
		__u8 op = rd8(), arg = op >> 4;

		switch ((op & 15) % OP_MAX) {
		case OP_CONNECT:
			op_connect(arg);
			break;
		case OP_SEG:
			op_seg(arg);
			break;
		case OP_TICK:
			tick(arg + 1);
			break;
		case OP_RAW:
			op_raw(arg);
			break;
		case OP_LISTEN:
			op_listen(arg);
			break;
		case OP_APP:
			op_app(arg);
			break;
		case OP_APP_CONNECT:
			op_app_connect(arg);
			break;
		case OP_ADDR:
			op_addr(arg);
			break;
		case OP_FLUSH:
			stack_flush(fz.s);
			break;
		}
	}
	stack_flush(fz.s);
	tick(1);
	/* What the stack promises whatever came in: its counts agree with its table. */
	{
		const struct stack_stats *st = stack_stats(fz.s);
		static struct stack_conn_info info[4096];
		unsigned int n = stack_conns(fz.s, info, 4096), half = 0;

		assert(n == st->conns + st->time_wait);
		for (i = 0; i < n && i < 4096; i++)
			half += info[i].state == IXDP_TCP_SYN_RCVD;
		assert(half == st->half_open);
		if (g & G_LIMITS)
			assert(st->half_open <= 3);
		if (getenv("TCP_FUZZ_VERBOSE")) /* to check what a seed reaches */
			fprintf(stderr, "conns %u (half-open %u) time_wait %u opened %llu segs in %llu "
				"out %llu bytes in %llu out %llu syn_dropped %llu\n", st->conns,
				st->half_open, st->time_wait, (unsigned long long)st->conns_opened,
				(unsigned long long)st->segs_in, (unsigned long long)st->segs_out,
				(unsigned long long)st->bytes_in, (unsigned long long)st->bytes_out,
				(unsigned long long)st->syn_dropped);
	}
	stack_reset();
	now = fz.now;
	assert(fz.frames_out == 0); /* every frame the stack took was sent or given back */
	return 0;
}
