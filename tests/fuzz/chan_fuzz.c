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
 * contexts together never hold more than 3 x app-ctx-conns (16 here) connections, nor their
 * user more than uid-conns (12 here, 0-3 of them held on other workers), and the user's shared
 * count is exactly what its connections are (none left when the context goes); with every
 * source port taken, one worker iteration looks at no more than two scans' worth of ports
 * however many CONNECTs it takes (the 10 ms backoff of chan_source_port()).  The rx area is
 * the 64 KiB the layout says (chan.c sizes its chunk list from the layout, not from the
 * daemon's default), and the seed rx_area_full fills it: a peer sends 75 KiB the app never
 * returns, and the worker stops at the full area (rx_full) with the rest left in the stack.
 *
 * MOVE: two more contexts are attached, B (same pid and uid as the first, A) and C (another
 * pid).  Bytes 0xf0-0xff pick the apps' own, well-formed actions (the older corpus keeps its
 * meaning below them): accept a connection an app was told of, give back what it received,
 * move a connection to A, B, C or a context that does not exist, end B or A (app_ctx.ended),
 * detach an ended one, drain any context's events.  A detach is held back (-EAGAIN) only while
 * a connection moved to the context has not been announced to it (its event ring full), and
 * once it is done, every move to it that succeeded has had its MOVED written.  The stack model writes a pattern of
 * (slot, stream position), and each app checks every RECV byte against it at the position it
 * expects: no byte lost, doubled or reordered across moves (the target starts at the first
 * byte the sender had not given back), no data after a FIN, no event for a connection after
 * the RESULT that moved it away, MOVED only where a move went; a move to C is -EPERM, to no
 * context or from an ended one -ESRCH, to itself or to an ended one never succeeds.
 * Handles a raw command (action 0) names are left out of the exact checks.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/chan.h"
#include "core/clock.h"

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
	__u32 rd;	/* bytes read so far: the stream position of the next */
	void *arg;
};

/* The byte at stream position @pos of the connection in chan slot @slot. */
static __u8 pattern(__u32 slot, __u32 pos)
{
	return (__u8)(pos * 7 + (pos >> 8) + slot * 13);
}

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

	__u32 i, slot = (__u32)(uintptr_t)c->arg - 1;

	check(c->used, "read on a closed connection");
	for (i = 0; i < n; i++)
		((__u8 *)dst)[i] = pattern(slot, c->rd + i);
	c->rd += n;
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
		 const __u32 addr[4], __u16 port, __u64 ino)
{
	(void)ino;
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

/* --- the contexts' shared memory, laid out as apps.c does ----------------------------------- */

#define CMD_N 16
#define EV_N 32
#define RX (64u * 1024)
#define TX (16u * 1024)
#define CHAN_SZ (4096 + CMD_N * 64 + EV_N * 64 + RX + TX)
#define NCTX 3			/* A, B (same process), C (another pid) */
#define KNOWN 64
#define NO_CTX 3		/* a move target that is no context */
#define NO_CTX_ID 99

/* What an app knows of one of its connections. */
struct known {
	__u64 h;
	bool accepted;
	bool tainted;		/* a raw command named it: no exact checks */
	bool fin;
	bool expect_fin;	/* moved here after the sender was told of a FIN: it comes again */
	__u32 next;		/* stream position the next RECV byte must have */
	__u32 returned;		/* given back with RECV_DONE */
	int moving;		/* -1, or the target of its MOVE in flight */
};

/* One MOVE the apps issued, until both its RESULT and (on success) its MOVED were seen. */
struct pend_move {
	bool used;
	__u64 h;
	int from, to;
	__u32 returned;		/* where the target's stream starts */
	bool target_ended;	/* before the MOVE was written: it must fail */
	bool from_ended;	/* the sender had ended when it wrote it: -ESRCH */
	bool accepted;		/* its ACCEPT was written before it */
	bool fin;		/* the sender had been told of the FIN when it was moved */
	bool result_seen;
	bool moved_seen;
};

struct fctx {
	struct app_ctx app;
	__u8 *shm;
	__u32 seen;
	bool attached;
	struct known k[KNOWN];
	unsigned int nk;
	/* the handles of its well-formed commands by ring index, until the worker takes them */
	__u64 sent_h[CMD_N];
	__u32 sent_at[CMD_N];
};

static struct fctx X[NCTX];
static struct pend_move pm[KNOWN];
#define TAINTED 1024
static __u64 tainted[TAINTED];	/* handles raw commands named; more: every one is */
static unsigned int nr_tainted;

static bool is_tainted(__u64 h)
{
	unsigned int i;

	if (nr_tainted > TAINTED)
		return true;
	for (i = 0; i < nr_tainted; i++)
		if (tainted[i] == h)
			return true;
	return false;
}
static struct app_uid user;	/* the contexts' user; other workers hold @others of its conns */
static __u32 others;

static struct ixdp_app_chan *chan_hdr_of(struct fctx *x)
{
	return (void *)(x->shm + 4096 + (size_t)CHAN_SZ * W);
}

static struct ixdp_app_chan *chan_hdr(void)
{
	return chan_hdr_of(&X[0]);
}

/* Fresh contexts for each input. */
static void shm_reset(void)
{
	unsigned int w, n;

	user = (struct app_uid){ .uid = 1000, .refs = NCTX, .conns_max = UID_CONNS,
				 .conns = others };
	for (n = 0; n < NCTX; n++) {
		struct fctx *x = &X[n];
		struct ixdp_app_shm *h;
		__u8 *shm = x->shm;

		if (!shm)
			shm = malloc(4096 + (size_t)CHAN_SZ * (W + 1));
		memset(x, 0, sizeof(*x));
		x->shm = shm;
		memset(shm, 0, 4096 + (size_t)CHAN_SZ * (W + 1));
		h = (void *)shm;
		*h = (struct ixdp_app_shm){ .magic = IXDP_APP_MAGIC, .version = IXDP_APP_VERSION,
					    .nr_workers = W + 1, .chan_off = 4096,
					    .chan_size = CHAN_SZ, .cmd_entries = CMD_N,
					    .ev_entries = EV_N, .rx_size = RX, .tx_size = TX,
					    .ctx_id = n + 1 };
		for (w = 0; w <= W; w++) {
			struct ixdp_app_chan *ch = (void *)(shm + 4096 + (size_t)CHAN_SZ * w);
			__u64 base = 4096 + (__u64)CHAN_SZ * w;

			ch->cmd_off = base + 4096;
			ch->ev_off = ch->cmd_off + CMD_N * 64;
			ch->rx_off = ch->ev_off + EV_N * 64;
			ch->tx_off = ch->rx_off + RX;
		}
		x->app = (struct app_ctx){ .id = n + 1, .pid = n == 2 ? 43 : 42, .uid = 1000,
					   .user = &user, .shm = shm, .app_wake = -1 };
		for (w = 0; w < IXDP_WORKERS_MAX; w++)
			x->app.worker_wake[w] = -1;
	}
	memset(pm, 0, sizeof(pm));
	nr_tainted = 0;
}

static struct known *known_of(struct fctx *x, __u64 h)
{
	unsigned int i;

	for (i = 0; i < x->nk; i++)
		if (x->k[i].h == h)
			return &x->k[i];
	return NULL;
}

static struct known *known_add(struct fctx *x, __u64 h)
{
	struct known *k = known_of(x, h);

	if (!k && x->nk < KNOWN)
		k = &x->k[x->nk++];
	if (k)
		*k = (struct known){ .h = h, .moving = -1 };
	return k;
}

static void known_del(struct fctx *x, __u64 h)
{
	struct known *k = known_of(x, h);

	if (k)
		*k = x->k[--x->nk];
}

static struct pend_move *pm_find(__u64 h, int to)
{
	unsigned int i;

	for (i = 0; i < KNOWN; i++)
		if (pm[i].used && pm[i].h == h && (to < 0 || pm[i].to == to))
			return &pm[i];
	return NULL;
}

/* The app writes one well-formed command into its ring (dropped if the ring is full). */
static bool app_cmd(struct fctx *x, const struct ixdp_app_cmd *cmd)
{
	struct ixdp_app_chan *ch = chan_hdr_of(x);
	struct ixdp_app_cmd *cmds = (void *)(x->shm + ch->cmd_off);

	if (ch->cmd_prod - ch->cmd_cons >= CMD_N)
		return false;
	cmds[ch->cmd_prod & (CMD_N - 1)] = *cmd;
	x->sent_h[ch->cmd_prod & (CMD_N - 1)] = cmd->handle;
	x->sent_at[ch->cmd_prod & (CMD_N - 1)] = ch->cmd_prod;
	ch->cmd_prod++;
	return true;
}

/* The RESULT of a MOVE from context @n. */
static void app_move_result(int n, const struct ixdp_app_ev *e)
{
	struct known *k = known_of(&X[n], e->handle);
	struct pend_move *p = pm_find(e->handle, -1);

	if (!k || k->tainted || is_tainted(e->handle) || !p || p->from != n)
		return;
	k->moving = -1;
	p->result_seen = true;
	if (p->to == NO_CTX)
		check(e->err == -ESRCH || (!p->accepted && e->err == -EINVAL),
		      "a move to no context did not fail with ESRCH");
	if (p->accepted && p->to == 2 && !p->from_ended && !X[n].app.ended)
		check(e->err == -EPERM, "a move to another process was let by");
	if (p->to == n)
		check(e->err, "a move to the sender itself succeeded");
	if (p->target_ended)
		check(e->err, "a move to an ended context succeeded");
	if (p->from_ended)
		check(e->err == -ESRCH, "an ended context gave a connection away");
	if (e->err) {
		check(!p->moved_seen, "a refused move announced MOVED");
		p->used = false;
		return;
	}
	/*
	 * The daemon tells the target of a FIN the sender was told of (every event before this
	 * RESULT was the sender's), or one still owed to the sender from an earlier move.
	 */
	p->fin = k->fin || k->expect_fin;
	if (p->moved_seen && (k = known_of(&X[p->to], e->handle)) && p->fin)
		k->expect_fin = true;
	known_del(&X[n], e->handle);	/* nothing of it may come here any more */
	if (p->moved_seen || !X[p->to].attached)
		p->used = false;
}

static void app_moved(int n, const struct ixdp_app_ev *e)
{
	struct pend_move *p = pm_find(e->handle, n);
	struct known *k;

	if (!p && is_tainted(e->handle)) {
		if ((k = known_add(&X[n], e->handle)))
			k->tainted = true;	/* a raw MOVE of A's */
		return;
	}
	check(p && !p->moved_seen, "MOVED where no move went");
	check(e->cookie == (0xc0de0000u | (unsigned int)n), "MOVED with another cookie");
	p->moved_seen = true;
	k = known_add(&X[n], e->handle);
	if (k) {
		k->accepted = true;
		k->next = k->returned = p->returned;
		k->expect_fin = p->result_seen && p->fin;
	}
	if (p->result_seen)
		p->used = false;
}

/* The app reads every event the daemon published to context @n and checks it. */
static void app_consume_ctx(int n)
{
	struct fctx *x = &X[n];
	struct ixdp_app_chan *ch = chan_hdr_of(x);
	struct ixdp_app_ev *evs = (void *)(x->shm + ch->ev_off);
	__u8 *rx = x->shm + ch->rx_off;
	__u32 prod = ch->ev_prod;

	if (!x->attached)
		return;
	check(prod - ch->ev_cons <= EV_N, "event producer ran past the consumer");
	for (; x->seen != prod; x->seen++) {
		const struct ixdp_app_ev *e = &evs[x->seen & (EV_N - 1)];
		struct known *k = known_of(x, e->handle);
		__u32 i;

		if (e->type == IXDP_APP_EV_RECV)
			check(e->off <= RX && e->len <= RX - e->off, "RECV outside the rx area");
		if (e->handle && e->type != IXDP_APP_EV_RESULT)
			check(((e->handle >> 24) & 0xff) == W, "handle of another worker");
		switch (e->type) {
		case IXDP_APP_EV_KNOCK:
			known_add(x, e->handle);
			break;
		case IXDP_APP_EV_CONNECTED:
			if (!e->err && (k = known_add(x, e->handle)))
				k->accepted = true;
			break;
		case IXDP_APP_EV_MOVED:
			app_moved(n, e);
			break;
		case IXDP_APP_EV_RESULT:
			if (e->op == IXDP_APP_MOVE)
				app_move_result(n, e);
			break;
		case IXDP_APP_EV_RECV:
		case IXDP_APP_EV_SENT:
		case IXDP_APP_EV_DEAD:
			if (is_tainted(e->handle))
				break;
			check(k, "an event for a connection the context does not hold");
			if (k->tainted || e->type != IXDP_APP_EV_RECV)
				break;
			check(!k->fin || !e->len, "data after the FIN");
			for (i = 0; i < e->len; i++)
				check(rx[e->off + i] == pattern((__u32)e->handle & 0xffffff,
								k->next + i),
				      "a byte lost, doubled or out of order");
			k->next += e->len;
			if (!e->len)
				k->fin = true;
			break;
		}
	}
	ch->ev_cons = prod;
}

static void app_consume(__u32 *unused)
{
	(void)unused;
	app_consume_ctx(0);
}

/* A raw command of A's names @h: that connection leaves the exact checks. */
static void app_taint(__u64 h)
{
	struct known *k = known_of(&X[0], h);

	if (k)
		k->tainted = true;
	if (nr_tainted < TAINTED)
		tainted[nr_tainted] = h;
	nr_tainted += nr_tainted <= TAINTED;
}

/* Actions 0xf0-0xff: the apps' own well-formed commands and the contexts' lives. */
/*
 * Detach ended context @n: refused (-EAGAIN) only while a move to it carried out waits to say
 * MOVED; once done, the events it was written (read now) announce every such move.
 */
static void app_detach(struct chan *c, int n)
{
	struct fctx *x = &X[n];
	__u64 lost = chan_stats(c)->moved_lost;
	unsigned int i;
	bool waits = false;

	for (i = 0; i < KNOWN; i++)
		waits |= pm[i].used && pm[i].to == n && !pm[i].moved_seen;
	if (chan_detach(c, &x->app) == -EAGAIN) {
		check(waits || nr_tainted, "a detach held back with no move to it in flight");
		return;
	}
	for (i = 0; i < NCTX; i++)
		app_consume_ctx((int)i);
	for (i = 0; i < KNOWN && chan_stats(c)->moved_lost == lost; i++)
		check(!pm[i].used || pm[i].to != n || !pm[i].result_seen || pm[i].moved_seen,
		      "a context detached before a connection moved to it was announced");
	x->attached = false;
	x->nk = 0;
}

static void app_action(struct chan *c, __u8 op, __u8 arg)
{
	int n = arg & 1 ? 1 : 0, to;
	struct fctx *x = &X[n];
	struct known *k = x->nk ? &x->k[(arg >> 4) % x->nk] : NULL;
	struct ixdp_app_cmd cmd = { .seq = 1 };
	unsigned int i;

	switch (op & 7) {
	case 0: /* accept */
		if (!k || k->accepted || k->tainted || !x->attached)
			return;
		cmd.op = IXDP_APP_ACCEPT;
		cmd.handle = k->h;
		cmd.cookie = 0xacc;
		if (app_cmd(x, &cmd))
			k->accepted = true;
		return;
	case 1: /* give back what was received */
		if (!k || k->tainted || k->next == k->returned || k->moving >= 0 || !x->attached)
			return;
		cmd.op = IXDP_APP_RECV_DONE;
		cmd.handle = k->h;
		cmd.len = k->next - k->returned;
		if (app_cmd(x, &cmd))
			k->returned = k->next;
		return;
	case 2: /* move */
	case 3:
		to = (arg >> 1) & 3;
		for (i = 0; i < KNOWN && pm[i].used; i++)
			;
		if (!k || k->tainted || k->moving >= 0 || !x->attached || pm_find(k->h, -1) ||
		    i == KNOWN)
			return;
		cmd.op = IXDP_APP_MOVE;
		cmd.handle = k->h;
		cmd.cookie = 0xc0de0000u | (unsigned int)to;
		cmd.len = to == NO_CTX ? NO_CTX_ID : (__u32)to + 1;
		if (!app_cmd(x, &cmd))
			return;
		k->moving = to;
		pm[i] = (struct pend_move){ .used = true, .h = k->h, .from = n, .to = to,
					    .returned = k->returned,
					    .target_ended = to != NO_CTX && X[to].app.ended,
					    .from_ended = x->app.ended, .accepted = k->accepted };
		return;
	case 4: /* a context ends (B, or A with arg bit 1) */
		x = &X[arg & 2 ? 0 : 1];
		if (!x->app.ended)
			x->app.end_ns = clock_now_ns();
		x->app.ended = true;
		return;
	case 5: /* an ended context is detached: its connections reset */
		if (!x->attached || !x->app.ended)
			return;
		app_detach(c, n);
		return;
	default: /* a context drains its events */
		app_consume_ctx(arg % NCTX);
		return;
	}
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
	int n;

	others = size % 4; /* not from the bytes: the corpus keeps its meaning */
	shm_reset();
	memset(conns, 0, sizeof(conns));
	memset(lsts, 0, sizeof(lsts));
	claims = 0;
	ports_taken = false;
	ch = chan_hdr();
	cmds = (void *)(X[0].shm + ch->cmd_off);
	if (chan_open(&c, &cfg, the_stack))
		return 0;
	for (n = 0; n < NCTX; n++) {
		if (chan_attach(c, &X[n].app))
			goto out;
		X[n].attached = true;
	}

	while (i < size) {
		__u8 op = data[i++], arg = i < size ? data[i] : 0;
		struct stack_conn *sc;
		struct stack_conn_info info = { .family = IXDP_FAMILY_INET, .rport = 1234,
						.lport = 80 };

		if (op >= 0xf0) {
			app_action(c, op, arg);
			i++;
			continue;
		}
		switch (op % 10) {
		case 0: /* the app writes a command: the next 64 bytes, verbatim */
			if (size - i < sizeof(*cmds))
				goto out;
			memcpy(&cmds[ch->cmd_prod & (CMD_N - 1)], data + i, sizeof(*cmds));
			app_taint(cmds[ch->cmd_prod & (CMD_N - 1)].handle);
			i += sizeof(*cmds);
			ch->cmd_prod++;
			/*
			 * More than the ring holds: the worker skips what it has not taken, also
			 * well-formed commands whose slots raw ones have overwritten since.
			 */
			if (ch->cmd_prod - ch->cmd_cons > CMD_N)
				for (n = 0; n < CMD_N; n++) {
					app_taint(cmds[n].handle);
					if (X[0].sent_h[n] &&
					    X[0].sent_at[n] - ch->cmd_cons < ch->cmd_prod - ch->cmd_cons)
						app_taint(X[0].sent_h[n]);
				}
			break;
		case 1: /* the app publishes a wild producer index */
			/* whatever the ring holds may be carried out (again): no exact checks */
			for (n = 0; n < CMD_N; n++)
				app_taint(cmds[n].handle);
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
			else if (!sc->eof) /* TCP: nothing after the peer's FIN */
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
			check(chan_stats(c)->conns <= NCTX * CTX_CONNS,
			      "more connections than the caps");
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
	/* a few rounds, so what waits for event room is delivered too */
	for (i = 0; i < 8; i++) {
		chan_commands(c);
		chan_deliver(c);
		for (n = 0; n < NCTX; n++)
			app_consume_ctx(n);
	}
	for (n = 0; n < NCTX; n++)
		for (i = 0; X[n].attached && i < X[n].nk; i++)
			check(!X[n].k[i].expect_fin || X[n].k[i].fin || X[n].k[i].tainted ||
				      is_tainted(X[n].k[i].h),
			      "a moved connection's FIN was not told again");
	chan_close(c);
	check(claims == 0, "listens left claimed after the context went");
	check(user.conns == others, "the context's connections still counted for its user");
	for (i = 0; i < CONNS; i++)
		check(!conns[i].used || !conns[i].arg, "connection left open after the context went");
	return 0;
}
