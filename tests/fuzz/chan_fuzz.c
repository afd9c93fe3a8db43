// SPDX-License-Identifier: GPL-2.0
/*
 * chan_fuzz.c - libFuzzer target for the worker's command decoder and app-connection state
 * machine (daemon/app/chan.c), linked with a model of the TCP stack.
 *
 * The input is a script: each byte picks an action, and the app's actions take whole 64-byte
 * command entries from the input (anything at all: ops, handles, offsets, lengths, indices).
 * The stack model plays the network: new connections, data, FINs, resets, connects finishing.
 * Checked: no crash or sanitizer report; the model is never called on a connection the chan
 * layer already closed; every RECV lies inside the rx area; every handle the daemon hands out
 * names its worker; ring indices published by the daemon never run past the app's; the
 * context never holds more than app-ctx-conns (16 here) connections, nor its user more than
 * uid-conns (12 here, 0-3 of them held on other workers), and the user's shared count is exactly
 * what its connections are (none left when the context goes); with every source port
 * taken, one worker iteration looks at no more than two scans' worth of ports however many
 * CONNECTs it takes (the 10 ms backoff of chan_source_port()).  The rx area is the 64 KiB the
 * layout says (chan.c sizes its chunk list from the layout, not from the daemon's default), and
 * the seed rx_area_full fills it: a peer sends 75 KiB the app never returns, and the worker stops
 * at the full area (rx_full) with the rest left in the stack.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/chan.h"

#define W 1			/* the worker under test */
#define CONNS 64
#define LSTS 8
#define CTX_CONNS 16		/* app-ctx-conns under test */
#define UID_CONNS 12		/* uid-conns under test: below it, with other workers' share */
#define EPH_N 64		/* ports in the range */

/* --- the stack model ------------------------------------------------------------------------ */

struct stack_conn {
	bool used;
	bool connecting;
	bool eof;
	__u32 pending;
	void *arg;
};

static const struct stack_app_ops *ops;
static void *ops_ctx;
static struct stack_conn conns[CONNS];
static void *lsts[LSTS];
static struct stack *the_stack = (struct stack *)&conns; /* any non-NULL pointer */

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "chan_fuzz: %s\n", what);
		abort();
	}
}

static struct stack_conn *conn_new(void)
{
	unsigned int i;

	for (i = 0; i < CONNS; i++)
		if (!conns[i].used) {
			memset(&conns[i], 0, sizeof(conns[i]));
			conns[i].used = true;
			return &conns[i];
		}
	return NULL;
}

void stack_set_app(struct stack *s, const struct stack_app_ops *o, void *ctx)
{
	ops = o;
	ops_ctx = ctx;
}

int stack_app_listen(struct stack *s, int family, const __u32 addr[4], __u16 port, void *arg)
{
	unsigned int i;

	for (i = 0; i < LSTS; i++)
		if (!lsts[i]) {
			lsts[i] = arg;
			return 0;
		}
	return -ENOSPC;
}

int stack_app_unlisten(struct stack *s, void *arg)
{
	unsigned int i;

	for (i = 0; i < LSTS; i++)
		if (lsts[i] == arg) {
			lsts[i] = NULL;
			return 0;
		}
	check(false, "unlisten of an unknown listener");
	return -ENOENT;
}

int stack_app_source(const struct stack *s, int family, const __u32 raddr[4], __u32 laddr[4])
{
	memset(laddr, 0, 16);
	laddr[0] = 0x010012c6;
	return 0;
}

static bool ports_taken;	/* every source port busy */
static unsigned int busy_calls;

bool stack_app_flow_busy(struct stack *s, int family, const __u32 laddr[4], __u16 lport,
			 const __u32 raddr[4], __u16 rport)
{
	busy_calls++;
	return ports_taken || (lport & 1);
}

int stack_app_connect(struct stack *s, int family, const __u32 laddr[4], __u16 lport,
		      const __u32 raddr[4], __u16 rport, void *arg, struct stack_conn **cp)
{
	struct stack_conn *c = conn_new();

	if (!c)
		return -ENOMEM;
	c->connecting = true;
	c->arg = arg;
	*cp = c;
	return 0;
}

__u32 stack_conn_read(struct stack *s, struct stack_conn *c, void *dst, __u32 max)
{
	__u32 n = c->pending < max ? c->pending : max;

	check(c->used, "read on a closed connection");
	memset(dst, 0xab, n);
	c->pending -= n;
	return n;
}

bool stack_conn_pending(const struct stack_conn *c, bool *eof)
{
	check(c->used, "pending on a closed connection");
	*eof = c->eof && !c->pending;
	return c->pending;
}

void stack_conn_recvd(struct stack *s, struct stack_conn *c, __u32 len)
{
	check(c->used, "recvd on a closed connection");
}

int stack_conn_send(struct stack *s, struct stack_conn *c, const void *buf, __u32 len)
{
	static __u32 odd;

	check(c->used, "send on a closed connection");
	/* First and last byte: ASan sees it if the offset check let the span out of the area. */
	if (len && ((const __u8 *)buf)[0] == 1 && ((const __u8 *)buf)[len - 1] == 2)
		odd++;
	return c->connecting ? -ENOTCONN : (int)(len < 3000 ? len : 3000);
}

int stack_conn_shutdown(struct stack *s, struct stack_conn *c)
{
	check(c->used, "shutdown on a closed connection");
	return 0;
}

void stack_conn_close(struct stack *s, struct stack_conn *c, bool reset)
{
	check(c->used, "close of a closed connection");
	c->used = false;
}

/* --- the registry (app.c) ------------------------------------------------------------------- */

static int claims;

int listen_claim(struct listen_reg *r, const struct app_ctx *ctx, int family,
		 const __u32 addr[4], __u16 port)
{
	if (port == 80 && ctx->uid)
		return -EACCES;
	claims++;
	return 0;
}

void listen_release(struct listen_reg *r, int family, const __u32 addr[4], __u16 port)
{
	check(claims > 0, "release without a claim");
	claims--;
}

/* --- one context's shared memory, laid out as apps.c does ------------------------------------ */

#define CMD_N 16
#define EV_N 32
#define RX (64u * 1024)
#define TX (16u * 1024)
#define CHAN_SZ (4096 + CMD_N * 64 + EV_N * 64 + RX + TX)

static struct app_ctx actx;
static struct app_uid user;	/* the context's user; other workers hold @others of its conns */
static __u32 others;
static __u8 *shm;

static struct ixdp_app_chan *chan_hdr(void)
{
	return (void *)(shm + 4096 + (size_t)CHAN_SZ * W);
}

/* A fresh context for each input. */
static void shm_reset(void)
{
	struct ixdp_app_shm *h;
	unsigned int w;

	if (!shm)
		shm = malloc(4096 + (size_t)CHAN_SZ * (W + 1));
	memset(shm, 0, 4096 + (size_t)CHAN_SZ * (W + 1));
	h = (void *)shm;
	*h = (struct ixdp_app_shm){ .magic = IXDP_APP_MAGIC, .version = IXDP_APP_VERSION,
				    .nr_workers = W + 1, .chan_off = 4096, .chan_size = CHAN_SZ,
				    .cmd_entries = CMD_N, .ev_entries = EV_N, .rx_size = RX,
				    .tx_size = TX };
	for (w = 0; w <= W; w++) {
		struct ixdp_app_chan *ch = (void *)(shm + 4096 + (size_t)CHAN_SZ * w);
		__u64 base = 4096 + (__u64)CHAN_SZ * w;

		ch->cmd_off = base + 4096;
		ch->ev_off = ch->cmd_off + CMD_N * 64;
		ch->rx_off = ch->ev_off + EV_N * 64;
		ch->tx_off = ch->rx_off + RX;
	}
	user = (struct app_uid){ .uid = 1000, .refs = 1, .conns_max = UID_CONNS, .conns = others };
	actx = (struct app_ctx){ .id = 1, .pid = 42, .uid = 1000, .user = &user, .shm = shm,
				 .app_wake = -1 };
	for (w = 0; w < IXDP_WORKERS_MAX; w++)
		actx.worker_wake[w] = -1;
}

/* The app reads every event the daemon published and checks it. */
static void app_consume(__u32 *seen)
{
	struct ixdp_app_chan *ch = chan_hdr();
	struct ixdp_app_ev *evs = (void *)(shm + ch->ev_off);
	__u32 prod = ch->ev_prod;

	check(prod - ch->ev_cons <= EV_N, "event producer ran past the consumer");
	for (; *seen != prod; (*seen)++) {
		const struct ixdp_app_ev *e = &evs[*seen & (EV_N - 1)];

		if (e->type == IXDP_APP_EV_RECV)
			check(e->off <= RX && e->len <= RX - e->off, "RECV outside the rx area");
		if (e->handle && e->type != IXDP_APP_EV_RESULT)
			check(((e->handle >> 24) & 0xff) == W, "handle of another worker");
	}
	ch->ev_cons = prod;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fg_table fg = { .nr = 4, .nr_workers = W + 1, .owner = { 0, 1, 0, 1 } };
	struct chan_cfg cfg = { .worker = W, .fg = &fg, .hash_seed = 1, .fg_mask = 3,
				.eph_lo = 40000, .eph_hi = 40000 + EPH_N - 1,
				.ctx_conns = CTX_CONNS };
	struct ixdp_app_chan *ch;
	struct ixdp_app_cmd *cmds;
	struct chan *c;
	__u32 seen = 0;
	size_t i = 0;

	others = size % 4; /* not from the bytes: the corpus keeps its meaning */
	shm_reset();
	memset(conns, 0, sizeof(conns));
	memset(lsts, 0, sizeof(lsts));
	claims = 0;
	ports_taken = false;
	ch = chan_hdr();
	cmds = (void *)(shm + ch->cmd_off);
	if (chan_open(&c, &cfg, the_stack) || chan_attach(c, &actx))
		return 0;

	while (i < size) {
		__u8 op = data[i++], arg = i < size ? data[i] : 0;
		struct stack_conn *sc;
		struct stack_conn_info info = { .family = IXDP_FAMILY_INET, .rport = 1234,
						.lport = 80 };

		switch (op % 10) {
		case 0: /* the app writes a command: the next 64 bytes, verbatim */
			if (size - i < sizeof(*cmds))
				goto out;
			memcpy(&cmds[ch->cmd_prod & (CMD_N - 1)], data + i, sizeof(*cmds));
			i += sizeof(*cmds);
			ch->cmd_prod++;
			break;
		case 1: /* the app publishes a wild producer index */
			ch->cmd_prod += arg;
			i++;
			break;
		case 2: /* a new connection on a listener */
			i++;
			if (!lsts[arg % LSTS] || !(sc = conn_new()))
				break;
			sc->arg = ops->knock(ops_ctx, lsts[arg % LSTS], sc, &info);
			if (!sc->arg)
				sc->used = false;
			break;
		case 3: /* bytes, or a FIN */
			i++;
			sc = &conns[arg % CONNS];
			if (!sc->used || !sc->arg || sc->connecting)
				break;
			if (arg & 0x80)
				sc->eof = true;
			else
				sc->pending += (arg + 1) * 97;
			ops->readable(ops_ctx, sc->arg);
			break;
		case 4: /* reset by the peer */
			i++;
			sc = &conns[arg % CONNS];
			if (!sc->used || !sc->arg || sc->connecting)
				break;
			sc->used = false;
			ops->dead(ops_ctx, sc->arg, -ECONNRESET);
			break;
		case 5: /* a connect finishes, or fails */
			i++;
			sc = &conns[arg % CONNS];
			if (!sc->used || !sc->connecting)
				break;
			sc->connecting = false;
			if (arg & 1)
				sc->used = false;
			ops->connected(ops_ctx, sc->arg, arg & 1 ? -ECONNREFUSED : 0);
			break;
		case 6: /* send space back */
			i++;
			sc = &conns[arg % CONNS];
			if (sc->used && sc->arg && !sc->connecting)
				ops->sent(ops_ctx, sc->arg, arg * 11);
			break;
		case 7: /* one worker iteration */
			busy_calls = 0;
			chan_commands(c);
			/* a scan after the backoff, and one before it at most */
			check(busy_calls <= 2 * EPH_N, "CONNECTs scanned the taken range each");
			chan_deliver(c);
			check(chan_stats(c)->conns <= CTX_CONNS, "more connections than the cap");
			check(user.conns == others + chan_stats(c)->conns,
			      "the user's connection count is off");
			check(user.conns <= UID_CONNS, "the user holds more connections than uid-conns");
			break;
		case 8: /* the app drains its events */
			app_consume(&seen);
			break;
		case 9: /* every source port taken, or free again */
			ports_taken = !ports_taken;
			break;
		}
	}
out:
	chan_commands(c);
	chan_deliver(c);
	app_consume(&seen);
	chan_close(c);
	check(claims == 0, "listens left claimed after the context went");
	check(user.conns == others, "the context's connections still counted for its user");
	for (i = 0; i < CONNS; i++)
		check(!conns[i].used || !conns[i].arg, "connection left open after the context went");
	return 0;
}
