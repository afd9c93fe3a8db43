// SPDX-License-Identifier: GPL-2.0
/*
 * chan.c - a worker's side of the app channels: command decoding, app connections, events.
 *
 * Trust: the layout is read once, at attach, before the app has the memory; every command is
 * copied out of the shared ring (each word read once: chan_cmd_copy) before it is looked at,
 * and every
 * field is checked (handle: this worker, a live slot, this context, this generation; offsets
 * and lengths: inside the channel's areas).  A bad one gets a RESULT with an error and is
 * counted; nothing an app writes steers the worker's own control flow beyond its own
 * connections.  Indices the app publishes (cmd_prod, ev_cons) are checked against the ring
 * size; a context that breaks them only stalls itself.
 *
 * MOVE hands a connection to another context of the same process on this worker: the slot (and
 * so the handle) stays, its owner, cookie and rx chunks change (the bytes the app has not given
 * back are copied into the new owner's rx area and replayed to it as RECVs, after MOVED).
 *
 * Events are never lost: what happens to a connection is recorded in its pending flags and the
 * connection is queued on its context's pending list; chan_deliver() turns flags into events
 * as the event ring has room.  Received bytes stay in the stack (window closed) until they fit
 * the context's rx area.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "app/chan.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/stat.h"

#define CHAN_NONE 0u	/* list and chunk links are index + 1 */

enum chan_state {
	CS_FREE,
	CS_KNOCKED,	/* waiting for ACCEPT or REJECT */
	CS_CONNECTING,
	CS_OPEN,
	CS_DEAD,	/* gone; waiting for the app's CLOSE */
};

enum chan_pend {
	P_KNOCK = 1 << 0,
	P_CONNECTED = 1 << 1,
	P_RECV = 1 << 2,
	P_SENT = 1 << 3,
	P_DEAD = 1 << 4,
	P_MOVED = 1 << 5,	/* MOVED to the new owner */
	P_REPLAY = 1 << 6,	/* then the bytes (and FIN) it was handed, as RECVs */
};

/* The worker a handle was made by: bits 24-31 (the daemon's own; apps no longer decode it). */
#define CHAN_HANDLE_WORKER(h) ((unsigned int)(((h) >> 24) & 0xff))

struct chan_ctx;

/* One app connection on this worker. */
struct chan_conn {
	struct chan_ctx *cx;
	struct stack_conn *sc;	/* NULL once the stack let go of it */
	__u64 cookie;
	__u32 gen;		/* 1.., part of the handle */
	__u8 state;		/* enum chan_state */
	__u8 pend;		/* enum chan_pend */
	bool queued;		/* on cx's pending list */
	bool eof_sent;
	bool knock_sent;
	bool accepted;		/* ACCEPTed (a knock taken late may be dead by then) */
	bool tx_short;		/* a SEND took less than it carried: nothing more until RESUME */
	__u8 held;		/* a knock no context takes yet: its listen's index + 1 */
	__u8 lst;		/* a knock's listen: its index + 1 */
	int err;
	__u32 sent;		/* bytes of send space to report */
	__u32 next;		/* pending list or free list */
	__u32 prev;		/* pending list */
	__u32 idx;		/* its own slot */
	/* bytes in the rx area, delivered and not yet RECV_DONE: a chain of chunks */
	__u32 rx_head;		/* chunk + 1 */
	__u32 rx_tail;
	__u32 rx_head_off;	/* consumed in the head chunk */
	__u32 rx_tail_fill;	/* written in the tail chunk */
	__u32 rx_out;
	/* P_REPLAY: bytes of the chunks still to announce, from replay_chunk + replay_off */
	__u32 replay_left;
	__u32 replay_chunk;
	__u32 replay_off;
	bool replay_fin;	/* then a FIN (the sender had been told of one) */
	struct stack_conn_info info; /* KNOCK, CONNECTED: the endpoints */
};

/* One attached context, as this worker sees it. */
struct chan_ctx {
	struct app_ctx *app;
	struct ixdp_app_shm *shm;
	struct ixdp_app_chan *ch;
	struct ixdp_app_cmd *cmds;
	struct ixdp_app_ev *evs;
	__u8 *rx;
	__u8 *tx;
	int wake_fd;		/* our end of the app's wakeup socket */
	int poll_fd;		/* our end of this worker's wakeup socket */
	/* the layout, copied at attach: the app can overwrite the shared header */
	__u32 cmd_entries;
	__u32 ev_entries;
	__u32 tx_size;
	__u32 cmd_cons;
	__u32 ev_prod;
	__u32 ev_published;
	__u32 *chunk_next;	/* rx chunk free list and chains */
	__u32 chunk_free;
	__u32 nr_chunks;
	__u32 nr_free;		/* chunks on the free list */
	__u32 pend_head;	/* connections with events to write */
	__u32 pend_tail;
	__u32 nr_conns;
	bool broken;		/* has published indices out of range (logged once) */
};

/*
 * One listened (family, address, port) on this worker: the contexts that hold it, and which of
 * them take its knocks (active; an idle one claimed the port only).  A knock while none is
 * active is held (CS_KNOCKED, counted to cx[0], unsent) until one is.  Contexts listening
 * through different kernel sockets (ino: a SO_REUSEPORT group) get knocks by flow, like the
 * kernel's group; contexts sharing one socket (threads, forked processes) take turns.
 */
struct chan_lst {
	bool used;
	int family;
	__u32 addr[4];
	__u16 port;
	unsigned int n;
	unsigned int rr;
	unsigned int held;
	struct chan_ctx *cx[APP_CTX_MAX];
	__u64 cookie[APP_CTX_MAX];
	__u64 ino[APP_CTX_MAX];
	bool active[APP_CTX_MAX];
};

struct chan {
	struct chan_cfg cfg;
	struct stack *s;
	struct chan_ctx *ctx[APP_CTX_MAX];
	unsigned int nr_ctx;
	struct chan_conn **pages;
	__u32 nr_pages;
	__u32 free_head;
	__u32 nr_slots;
	__u32 port_cursor;
	__u64 port_retry_ns;	/* a scan found no port: CONNECTs fail at once until then */
	struct chan_lst lst[STACK_SERVICES_MAX];
	struct chan_stats st;
};

/* --- connection slots ----------------------------------------------------------------------- */

static struct chan_conn *chan_slot(struct chan *c, __u32 i)
{
	return &c->pages[i / CHAN_PAGE_CONNS][i % CHAN_PAGE_CONNS];
}

static __u32 chan_idx(struct chan *c, const struct chan_conn *k)
{
	return k->idx;
}

static __u64 chan_handle(struct chan *c, __u32 i)
{
	return (__u64)chan_slot(c, i)->gen << 32 | (__u64)c->cfg.worker << 24 | i;
}

/*
 * Count one more connection of @cx's user on every worker together; false (nothing counted)
 * when it holds uid-conns already.  One atomic add per connection, none for root (no limit).
 */
static bool chan_user_take(struct chan_ctx *cx)
{
	struct app_uid *u = cx->app->user;

	if (!u || !u->conns_max)
		return true;
	if (__atomic_add_fetch(&u->conns, 1, __ATOMIC_RELAXED) <= u->conns_max)
		return true;
	__atomic_sub_fetch(&u->conns, 1, __ATOMIC_RELAXED);
	return false;
}

static void chan_user_put(struct chan_ctx *cx)
{
	struct app_uid *u = cx->app->user;

	if (u && u->conns_max)
		__atomic_sub_fetch(&u->conns, 1, __ATOMIC_RELAXED);
}

/*
 * A connection slot for @cx; NULL with -EMFILE (@cx holds app-ctx-conns, or its user uid-conns)
 * or -ENOMEM in @err.
 */
static struct chan_conn *chan_alloc(struct chan *c, struct chan_ctx *cx, __u32 *idx, int *err)
{
	struct chan_conn *k;
	__u32 i;

	*err = -EMFILE;
	if (cx->nr_conns >= c->cfg.ctx_conns) {
		STAT_INC(c->st.conns_capped);
		return NULL;
	}
	*err = -ENOMEM;
	if (!c->free_head) {
		struct chan_conn **pages, *page;

		if (c->nr_slots + CHAN_PAGE_CONNS > CHAN_CONNS_MAX)
			return NULL;
		pages = realloc(c->pages, (c->nr_pages + 1) * sizeof(*pages));
		if (!pages)
			return NULL;
		c->pages = pages;
		page = calloc(CHAN_PAGE_CONNS, sizeof(*page));
		if (!page)
			return NULL;
		c->pages[c->nr_pages++] = page;
		for (i = CHAN_PAGE_CONNS; i-- > 0;) {
			page[i].next = c->free_head;
			page[i].gen = 1;
			page[i].idx = c->nr_slots + i;
			c->free_head = c->nr_slots + i + 1;
		}
		c->nr_slots += CHAN_PAGE_CONNS;
	}
	if (!chan_user_take(cx)) {
		*err = -EMFILE;
		STAT_INC(c->st.conns_capped);
		return NULL;
	}
	i = c->free_head - 1;
	k = chan_slot(c, i);
	c->free_head = k->next;
	k->cx = cx;
	k->next = CHAN_NONE;
	cx->nr_conns++;
	STAT_INC(c->st.conns);
	*idx = i;
	return k;
}

/* --- rx area -------------------------------------------------------------------------------- */

static __u32 chan_chunk_get(struct chan_ctx *cx)
{
	__u32 n = cx->chunk_free;

	if (n) {
		cx->chunk_free = cx->chunk_next[n - 1];
		cx->nr_free--;
	}
	return n;
}

static void chan_chunk_put(struct chan_ctx *cx, __u32 n)
{
	cx->chunk_next[n - 1] = cx->chunk_free;
	cx->chunk_free = n;
	cx->nr_free++;
}

/* Give back every chunk of @k. */
static void chan_rx_drop(struct chan_ctx *cx, struct chan_conn *k)
{
	while (k->rx_head) {
		__u32 n = k->rx_head;

		k->rx_head = n == k->rx_tail ? CHAN_NONE : cx->chunk_next[n - 1];
		chan_chunk_put(cx, n);
	}
	k->rx_tail = CHAN_NONE;
	k->rx_head_off = k->rx_tail_fill = k->rx_out = 0;
	k->replay_left = k->replay_chunk = k->replay_off = 0;
}

/*
 * Copy the @k->rx_out bytes of @k's chunks in @from's rx area into fresh chunks of @to's, packed
 * from the start of the first; the caller checked that @to has the chunks free.  The new chain
 * goes to @head, @tail and @fill (bytes in the tail chunk).
 */
static void chan_rx_copy(struct chan_ctx *from, const struct chan_conn *k, struct chan_ctx *to,
			 __u32 *head, __u32 *tail, __u32 *fill)
{
	__u32 n = k->rx_head, off = k->rx_head_off, left = k->rx_out, d = CHAN_NONE;
	__u32 dfill = CHAN_RX_CHUNK;

	*head = CHAN_NONE;
	while (left && n) {
		bool last = n == k->rx_tail;
		__u32 end = last ? k->rx_tail_fill : CHAN_RX_CHUNK;

		while (off < end && left) {
			__u32 m = end - off;

			if (dfill == CHAN_RX_CHUNK) {
				__u32 nd = chan_chunk_get(to);

				if (d)
					to->chunk_next[d - 1] = nd;
				else
					*head = nd;
				d = nd;
				dfill = 0;
			}
			if (m > CHAN_RX_CHUNK - dfill)
				m = CHAN_RX_CHUNK - dfill;
			if (m > left)
				m = left;
			memcpy(to->rx + (d - 1) * CHAN_RX_CHUNK + dfill,
			       from->rx + (n - 1) * CHAN_RX_CHUNK + off, m);
			dfill += m;
			off += m;
			left -= m;
		}
		if (last)
			break;
		n = from->chunk_next[n - 1];
		off = 0;
	}
	*tail = d;
	*fill = d ? dfill : 0;
}

/* The app is done with @len bytes from the front of @k's chunks (checked by the caller). */
static void chan_rx_consume(struct chan_ctx *cx, struct chan_conn *k, __u32 len)
{
	k->rx_out -= len;
	while (k->rx_head) {
		bool tail = k->rx_head == k->rx_tail;
		__u32 end = tail ? k->rx_tail_fill : CHAN_RX_CHUNK, n = k->rx_head;
		__u32 take = end - k->rx_head_off;

		if (take > len)
			take = len;
		k->rx_head_off += take;
		len -= take;
		if (k->rx_head_off < end)
			break;
		/* used up: the next bytes go to a fresh chunk */
		k->rx_head = tail ? CHAN_NONE : cx->chunk_next[n - 1];
		if (tail)
			k->rx_tail = k->rx_tail_fill = 0;
		k->rx_head_off = 0;
		chan_chunk_put(cx, n);
	}
}

/* --- events --------------------------------------------------------------------------------- */

/* The app published an index that makes no sense: counted, logged once per context. */
static void chan_broken(struct chan *c, struct chan_ctx *cx, const char *what)
{
	STAT_INC(c->st.cmds_bad);
	if (!cx->broken)
		pr_warn("app %u: %s out of range (logged once)", cx->app->id, what);
	cx->broken = true;
}

/* Room in @cx's event ring; 0 also when the app's ev_cons makes no sense. */
static __u32 chan_ev_room(struct chan *c, struct chan_ctx *cx)
{
	__u32 cons = __atomic_load_n(&cx->ch->ev_cons, __ATOMIC_ACQUIRE);
	__u32 used = cx->ev_prod - cons;

	if (used > cx->ev_entries) {
		/* Nonsense: no room until the app publishes a sane index again. */
		chan_broken(c, cx, "event ring consumer index");
		return 0;
	}
	return cx->ev_entries - used;
}

static void chan_emit(struct chan *c, struct chan_ctx *cx, const struct ixdp_app_ev *ev)
{
	memcpy(&cx->evs[cx->ev_prod & (cx->ev_entries - 1)], ev, sizeof(*ev));
	cx->ev_prod++;
	STAT_INC(c->st.events);
}

/* A command's RESULT; for a command on a connection, the connection's cookie. */
static void chan_result_k(struct chan *c, struct chan_ctx *cx, const struct ixdp_app_cmd *cmd,
			  const struct chan_conn *k, int err, __u32 len)
{
	struct ixdp_app_ev ev = { .type = IXDP_APP_EV_RESULT, .op = cmd->op, .err = err,
				  .handle = cmd->handle, .cookie = k ? k->cookie : cmd->cookie,
				  .len = len, .seq = cmd->seq };

	if (err && err != -EAGAIN)	/* -EAGAIN: a SHUTDOWN or CLOSE behind a short SEND */
		STAT_INC(c->st.cmds_bad);
	chan_emit(c, cx, &ev);
}

static void chan_result(struct chan *c, struct chan_ctx *cx, const struct ixdp_app_cmd *cmd,
			int err, __u32 len)
{
	chan_result_k(c, cx, cmd, NULL, err, len);
}

/* Pending list: doubly linked through slot indices + 1, so taking a connection off is O(1). */
static void chan_queue(struct chan_ctx *cx, struct chan *c, struct chan_conn *k, __u8 what)
{
	__u32 me = chan_idx(c, k) + 1;

	k->pend |= what;
	if (k->queued)
		return;
	k->queued = true;
	k->next = CHAN_NONE;
	k->prev = cx->pend_tail;
	if (cx->pend_tail)
		chan_slot(c, cx->pend_tail - 1)->next = me;
	else
		cx->pend_head = me;
	cx->pend_tail = me;
}

/* Take @k off its context's pending list; its flags stay. */
static void chan_unlink(struct chan *c, struct chan_ctx *cx, struct chan_conn *k)
{
	if (!k->queued)
		return;
	if (k->prev)
		chan_slot(c, k->prev - 1)->next = k->next;
	else
		cx->pend_head = k->next;
	if (k->next)
		chan_slot(c, k->next - 1)->prev = k->prev;
	else
		cx->pend_tail = k->prev;
	k->next = k->prev = CHAN_NONE;
	k->queued = false;
}

/* Take @k off its context's pending list (it is being freed). */
static void chan_unqueue(struct chan *c, struct chan_ctx *cx, struct chan_conn *k)
{
	chan_unlink(c, cx, k);
	k->pend = 0;
}

static void chan_free(struct chan *c, struct chan_conn *k)
{
	struct chan_ctx *cx = k->cx;
	__u32 i = chan_idx(c, k);

	__u32 gen = k->gen + 1;

	if (k->held)
		c->lst[k->held - 1].held--;
	chan_unqueue(c, cx, k);
	chan_rx_drop(cx, k);
	chan_user_put(cx);
	cx->nr_conns--;
	STAT_SUB(c->st.conns, 1);
	memset(k, 0, sizeof(*k));
	k->idx = i;
	k->gen = gen ?: 1; /* a stale handle never matches again (until 2^32 reuses) */
	k->next = c->free_head;
	c->free_head = i + 1;
}

/* --- what the stack reports (from inside lwIP: record only) --------------------------------- */

static struct chan_conn *chan_of(struct chan *c, void *arg)
{
	return chan_slot(c, (__u32)(uintptr_t)arg - 1);
}

/* Which active context of @l takes the connection @info (its index), or -1: none is active. */
static int chan_lst_pick(const struct chan_lst *l, const struct stack_conn_info *info,
			 unsigned int turn)
{
	unsigned int j, g, n = 0, groups = 0, pick[APP_CTX_MAX];
	__u64 ino[APP_CTX_MAX];
	__u32 h;

	for (j = 0; j < l->n; j++) {
		if (!l->active[j])
			continue;
		pick[n++] = j;
		for (g = 0; g < groups && ino[g] != l->ino[j]; g++)
			;
		if (g == groups)
			ino[groups++] = l->ino[j];
	}
	if (!n)
		return -1;
	if (groups > 1) {
		/* a reuseport group: the socket by flow, then its contexts in turn */
		__u64 want;

		h = info->raddr[0] ^ info->raddr[1] ^ info->raddr[2] ^ info->raddr[3];
		h = (h ^ ((__u32)info->rport << 16 | info->lport)) * 0x9e3779b1u;
		want = ino[(h >> 16) % groups];
		for (j = 0, g = 0; j < n; j++)
			if (l->ino[pick[j]] == want)
				pick[g++] = pick[j];
		n = g;
	}
	return (int)pick[turn % n];
}

/*
 * Count knock @k to context @to from now on (its connection slot and its user's).
 * Return: false (nothing changed) when @to holds app-ctx-conns or its user uid-conns.
 */
static bool chan_knock_count_to(struct chan *c, struct chan_conn *k, struct chan_ctx *to)
{
	if (k->cx == to)
		return true;
	if (to->nr_conns >= c->cfg.ctx_conns || !chan_user_take(to))
		return false;
	if (k->queued)
		chan_unqueue(c, k->cx, k);
	chan_user_put(k->cx);
	k->cx->nr_conns--;
	to->nr_conns++;
	k->cx = to;
	return true;
}

/*
 * Hand knock @k (held, or new) to context @j of @l: from now on it is that context's to accept.
 * Return: 0, or -EMFILE (it holds app-ctx-conns, or its user uid-conns).
 */
static int chan_knock_give(struct chan *c, struct chan_lst *l, struct chan_conn *k, unsigned int j)
{
	struct chan_ctx *to = l->cx[j];

	if (!chan_knock_count_to(c, k, to)) {
		STAT_INC(c->st.conns_capped);
		return -EMFILE;
	}
	if (k->held) {
		l->held--;
		k->held = 0;
	}
	k->cookie = l->cookie[j];
	chan_queue(to, c, k, P_KNOCK);
	return 0;
}

/* Hand @l's held knocks to its active contexts (one became active); those still unplaced wait. */
static void chan_lst_flush(struct chan *c, struct chan_lst *l)
{
	unsigned int idx = (unsigned int)(l - c->lst) + 1, tries;
	__u32 i;

	for (i = 0; i < c->nr_slots && l->held; i++) {
		struct chan_conn *k = chan_slot(c, i);
		int j = -1;

		if (k->held != idx)
			continue;
		for (tries = 0; tries < l->n; tries++) {
			j = chan_lst_pick(l, &k->info, l->rr++);
			if (j < 0 || !chan_knock_give(c, l, k, (unsigned int)j))
				break;
		}
		if (j < 0)
			return;
	}
}

/*
 * REJECT with IXDP_APP_REJECT_PASS: @cx hands knock @k to another active context of its listen.
 * Return: 0, or -ENOENT (none takes it: the caller resets it).
 */
static int chan_knock_pass(struct chan *c, struct chan_ctx *cx, struct chan_conn *k)
{
	struct chan_lst *l = k->lst ? &c->lst[k->lst - 1] : NULL;
	unsigned int tries;

	if (!l || !l->used || k->state != CS_KNOCKED || !k->knock_sent)
		return -ENOENT;
	for (tries = 0; tries < l->n; tries++) {
		int j = chan_lst_pick(l, &k->info, l->rr++);

		if (j < 0)
			break;
		if (l->cx[j] == cx)
			continue;
		if (!chan_knock_give(c, l, k, (unsigned int)j)) {
			k->knock_sent = false;
			STAT_INC(c->st.knocks_passed);
			return 0;
		}
	}
	/* None takes connections now (a new worker still on its way): held for the next one. */
	for (tries = 0; tries < l->n && l->held < IXDP_APP_HELD_MAX; tries++) {
		struct chan_ctx *to = l->cx[tries];

		if (to == cx || !chan_knock_count_to(c, k, to))
			continue;
		k->knock_sent = false;
		k->held = k->lst;
		l->held++;
		STAT_INC(c->st.knocks_passed);
		STAT_INC(c->st.knocks_held);
		return 0;
	}
	return -ENOENT;
}

static void *chan_knock(void *ctx, void *lst, struct stack_conn *sc,
			const struct stack_conn_info *info)
{
	struct chan *c = ctx;
	struct chan_lst *l = lst;
	struct chan_conn *k;
	unsigned int tries;
	__u32 i;
	int err;

	/* Spread knocks over the active contexts; skip ones already full of connections. */
	for (tries = 0; tries < l->n; tries++) {
		int j = chan_lst_pick(l, info, l->rr++);

		if (j < 0)
			break;
		k = chan_alloc(c, l->cx[j], &i, &err);
		if (!k && err == -EMFILE)
			continue;
		if (!k)
			goto refused;
		k->sc = sc;
		k->state = CS_KNOCKED;
		k->cookie = l->cookie[j];
		k->info = *info;
		k->lst = (__u8)(l - c->lst) + 1;
		chan_queue(k->cx, c, k, P_KNOCK);
		return (void *)(uintptr_t)(i + 1);
	}
	if (tries == l->n || l->held >= IXDP_APP_HELD_MAX)
		goto refused;	/* every active context is full, or too many wait */
	/* Nobody takes connections yet: it waits here, counted to a context that holds the listen. */
	for (tries = 0; tries < l->n; tries++) {
		k = chan_alloc(c, l->cx[tries], &i, &err);
		if (k)
			break;
		if (err != -EMFILE)
			goto refused;
	}
	if (!k)
		goto refused;
	k->sc = sc;
	k->state = CS_KNOCKED;
	k->info = *info;
	k->held = (__u8)(l - c->lst) + 1;
	k->lst = k->held;
	l->held++;
	STAT_INC(c->st.knocks_held);
	return (void *)(uintptr_t)(i + 1);
refused:
	STAT_INC(c->st.knocks_refused);
	return NULL;
}

static void chan_readable(void *ctx, void *arg)
{
	struct chan *c = ctx;
	struct chan_conn *k = chan_of(c, arg);

	if (k->state == CS_OPEN)
		chan_queue(k->cx, c, k, P_RECV);
}

static void chan_sent(void *ctx, void *arg, __u32 len)
{
	struct chan *c = ctx;
	struct chan_conn *k = chan_of(c, arg);

	k->sent += len;
	if (!k->held)	/* a held knock is nobody's yet: told with its next SENT */
		chan_queue(k->cx, c, k, P_SENT);
}

static void chan_connected(void *ctx, void *arg, int err)
{
	struct chan *c = ctx;
	struct chan_conn *k = chan_of(c, arg);

	k->err = err;
	if (err) {
		k->sc = NULL;
		k->state = CS_DEAD;
	} else {
		k->state = CS_OPEN;
	}
	chan_queue(k->cx, c, k, P_CONNECTED);
}

static void chan_dead(void *ctx, void *arg, int err)
{
	struct chan *c = ctx;
	struct chan_conn *k = chan_of(c, arg);

	k->sc = NULL;
	k->err = err;
	if (k->state == CS_KNOCKED && !k->knock_sent) {
		chan_free(c, k); /* the app never heard of it */
		return;
	}
	k->state = CS_DEAD;
	k->pend &= ~(P_RECV | P_SENT);
	chan_queue(k->cx, c, k, P_DEAD);
}

static __s32 chan_owner(void *ctx, void *arg)
{
	struct chan_conn *k = chan_of(ctx, arg);

	return k->cx && k->cx->app ? (__s32)k->cx->app->pid : 0;
}

static const struct stack_app_ops chan_stack_ops = {
	.knock = chan_knock,
	.readable = chan_readable,
	.sent = chan_sent,
	.connected = chan_connected,
	.dead = chan_dead,
	.owner = chan_owner,
};

/* --- commands ------------------------------------------------------------------------------- */

/* The connection @cmd->handle names, if it is this context's and current; NULL otherwise. */
static struct chan_conn *chan_lookup(struct chan *c, struct chan_ctx *cx, __u64 h)
{
	__u32 i = h & 0xffffff;
	struct chan_conn *k;

	if (CHAN_HANDLE_WORKER(h) != c->cfg.worker || i >= c->nr_slots)
		return NULL;
	k = chan_slot(c, i);
	if (k->cx != cx || k->gen != (__u32)(h >> 32) || k->state == CS_FREE)
		return NULL;
	return k;
}

static bool chan_family_ok(int family)
{
	return family == IXDP_FAMILY_INET || family == IXDP_FAMILY_INET6;
}

static struct chan_lst *chan_lst_find(struct chan *c, int family, const __u32 addr[4],
				      __u16 port)
{
	unsigned int i;

	for (i = 0; i < STACK_SERVICES_MAX; i++) {
		struct chan_lst *l = &c->lst[i];

		if (l->used && l->port == port && l->family == family && !memcmp(l->addr, addr, 16))
			return l;
	}
	return NULL;
}

static void chan_close_conn(struct chan *c, struct chan_conn *k, bool reset);

/*
 * @cx left @l: the knocks held counted to it are counted to a context still holding @l (with
 * an active one, handed to it), or reset when none is left or has room.
 */
static void chan_lst_rehome(struct chan *c, struct chan_lst *l, struct chan_ctx *cx)
{
	unsigned int idx = (unsigned int)(l - c->lst) + 1, j;
	__u32 i;

	for (j = 0; j < l->n && !l->active[j]; j++)
		;
	if (j < l->n) {
		chan_lst_flush(c, l);
		if (!l->held)
			return;
	}
	for (i = 0; i < c->nr_slots && l->held; i++) {
		struct chan_conn *k = chan_slot(c, i);
		struct chan_ctx *to = l->n ? l->cx[0] : NULL;

		if (k->held != idx || k->cx != cx)
			continue;
		if (!to || !chan_knock_count_to(c, k, to))
			chan_close_conn(c, k, true);
	}
}

/* Remove @cx from listener @l; the last context out closes it. */
static void chan_lst_leave(struct chan *c, struct chan_lst *l, struct chan_ctx *cx)
{
	unsigned int j;

	for (j = 0; j < l->n; j++) {
		if (l->cx[j] != cx)
			continue;
		l->n--;
		l->cx[j] = l->cx[l->n];
		l->cookie[j] = l->cookie[l->n];
		l->ino[j] = l->ino[l->n];
		l->active[j] = l->active[l->n];
		if (l->held)
			chan_lst_rehome(c, l, cx);
		listen_release(c->cfg.listens, l->family, l->addr, l->port);
		break;
	}
	if (!l->n && l->used) {
		stack_app_unlisten(c->s, l);
		l->used = false;
	}
}

/*
 * LISTEN: claim the port for @cx (ixdpd's listen registry decides who may), or, for a context
 * that holds it, start (no IDLE) or stop (IDLE) taking its knocks.
 */
static int chan_listen(struct chan *c, struct chan_ctx *cx, const struct ixdp_app_cmd *cmd)
{
	bool idle = cmd->flags & IXDP_APP_LISTEN_IDLE;
	struct chan_lst *l;
	unsigned int i;
	int ret;

	if ((cmd->family && !chan_family_ok(cmd->family)) || !cmd->port ||
	    (cmd->flags & ~IXDP_APP_LISTEN_IDLE))
		return -EINVAL;
	if (!cmd->family && (cmd->addr[0] | cmd->addr[1] | cmd->addr[2] | cmd->addr[3]))
		return -EINVAL;
	l = chan_lst_find(c, cmd->family, cmd->addr, cmd->port);
	for (i = 0; l && i < l->n; i++) {
		if (l->cx[i] != cx)
			continue;
		if (idle == !l->active[i])
			return idle ? 0 : -EADDRINUSE;	/* idle again: nothing to do */
		l->active[i] = !idle;
		l->cookie[i] = cmd->cookie;
		if (!idle)
			chan_lst_flush(c, l);
		return 0;
	}
	ret = listen_claim(c->cfg.listens, cx->app, cmd->family, cmd->addr, cmd->port,
			   cmd->handle);
	if (ret)
		return ret;
	if (!l) {
		for (i = 0; i < STACK_SERVICES_MAX && c->lst[i].used; i++)
			;
		if (i == STACK_SERVICES_MAX) {
			ret = -ENOSPC;
			goto err_release;
		}
		l = &c->lst[i];
		memset(l, 0, sizeof(*l));
		l->family = cmd->family;
		memcpy(l->addr, cmd->addr, sizeof(l->addr));
		l->port = cmd->port;
		ret = stack_app_listen(c->s, cmd->family, cmd->addr, cmd->port, l);
		if (ret)
			goto err_release;
		l->used = true;
	}
	l->cx[l->n] = cx;
	l->cookie[l->n] = cmd->cookie;
	l->ino[l->n] = cmd->handle;
	l->active[l->n] = !idle;
	l->n++;
	if (!idle)
		chan_lst_flush(c, l);
	return 0;

err_release:
	listen_release(c->cfg.listens, cmd->family, cmd->addr, cmd->port);
	return ret;
}

static int chan_unlisten(struct chan *c, struct chan_ctx *cx, const struct ixdp_app_cmd *cmd)
{
	struct chan_lst *l = chan_lst_find(c, cmd->family, cmd->addr, cmd->port);
	unsigned int i;

	for (i = 0; l && i < l->n; i++) {
		if (l->cx[i] == cx) {
			chan_lst_leave(c, l, cx);
			return 0;
		}
	}
	return -ENOENT;
}

/*
 * A source port in the reserved range whose replies hash to a flow group this worker owns.
 * At most CHAN_PORT_TRIES ports are looked at (with W workers a free port is one in W of them:
 * 1,024 tries miss one that exists with probability (1 - 1/W)^1024, under 1e-7 for W = 64).
 * When none is found the range is taken: CONNECTs are refused at once for the next 10 ms
 * (CHAN_PORT_BACKOFF_NS), so a storm of CONNECTs costs one scan per 10 ms, not one each
 * (measured: one scan of 512 ports per iteration added 40 us to another app's round trip).
 */
static int chan_source_port(struct chan *c, int family, const __u32 laddr[4],
			    const __u32 raddr[4], __u16 rport, __u16 *lport)
{
	__u32 n = c->cfg.eph_hi >= c->cfg.eph_lo ? c->cfg.eph_hi - c->cfg.eph_lo + 1 : 0, t;
	__u32 tries = n < CHAN_PORT_TRIES ? n : CHAN_PORT_TRIES;

	if (c->port_retry_ns && clock_now_ns() < c->port_retry_ns) {
		STAT_INC(c->st.ports_none);
		return -EADDRNOTAVAIL;
	}
	c->port_retry_ns = 0;
	for (t = 0; t < tries; t++) {
		__u16 p = c->cfg.eph_lo + (c->port_cursor++ % n);
		struct ixdp_flow k = { .family = family, .proto = IPPROTO_TCP, .sport = rport,
				       .dport = p };
		__u32 fg;

		memcpy(k.saddr, raddr, sizeof(k.saddr));
		memcpy(k.daddr, laddr, sizeof(k.daddr));
		fg = ixdp_flow_group(&k, c->cfg.hash_seed, c->cfg.fg_mask);
		if (fg_owner(c->cfg.fg, fg) != c->cfg.worker)
			continue;
		if (stack_app_flow_busy(c->s, family, laddr, p, raddr, rport))
			continue;
		*lport = p;
		return 0;
	}
	c->port_retry_ns = clock_now_ns() + CHAN_PORT_BACKOFF_NS;
	STAT_INC(c->st.ports_none);
	return -EADDRNOTAVAIL;
}

/* A CONNECT that failed before reaching the wire: CONNECTED with the error, as any failure. */
static void chan_connect_failed(struct chan *c, struct chan_ctx *cx,
				const struct ixdp_app_cmd *cmd, int err)
{
	struct ixdp_app_ev ev = { .type = IXDP_APP_EV_CONNECTED, .err = err,
				  .cookie = cmd->cookie, .family = cmd->family, .port = cmd->port };

	memcpy(ev.addr, cmd->addr, sizeof(ev.addr));
	STAT_INC(c->st.cmds_bad);
	chan_emit(c, cx, &ev);
}

static void chan_connect(struct chan *c, struct chan_ctx *cx, const struct ixdp_app_cmd *cmd)
{
	static const __u32 zero[4];
	struct chan_conn *k;
	__u32 laddr[4] = { 0 }, i;
	__u16 lport = 0;
	int ret;

	if (!chan_family_ok(cmd->family) || !cmd->port || !memcmp(cmd->addr, zero, 16)) {
		chan_connect_failed(c, cx, cmd, -EINVAL);
		return;
	}
	k = chan_alloc(c, cx, &i, &ret);
	if (!k) {
		chan_connect_failed(c, cx, cmd, ret);
		return;
	}
	k->state = CS_CONNECTING;
	k->cookie = cmd->cookie;
	k->info.family = cmd->family;
	memcpy(k->info.raddr, cmd->addr, sizeof(k->info.raddr));
	k->info.rport = cmd->port;
	ret = stack_app_source(c->s, cmd->family, cmd->addr, laddr);
	if (!ret)
		ret = chan_source_port(c, cmd->family, laddr, cmd->addr, cmd->port, &lport);
	if (!ret)
		ret = stack_app_connect(c->s, cmd->family, laddr, lport, cmd->addr, cmd->port,
					(void *)(uintptr_t)(i + 1), &k->sc);
	k->info.lport = lport;
	memcpy(k->info.laddr, laddr, sizeof(k->info.laddr));
	if (ret) {
		/* Reported like a failure on the wire: CONNECTED with the error. */
		k->state = CS_DEAD;
		k->err = ret;
		chan_queue(cx, c, k, P_CONNECTED);
	}
}

static void chan_send(struct chan *c, struct chan_ctx *cx, const struct ixdp_app_cmd *cmd,
		      struct chan_conn *k)
{
	__u32 size = cx->tx_size;
	int ret;

	if (cmd->off > size || cmd->len > size - cmd->off) {
		chan_result_k(c, cx, cmd, k, -EINVAL, 0);
		return;
	}
	if (cmd->flags & ~IXDP_APP_SEND_RESUME) {
		chan_result_k(c, cx, cmd, k, -EINVAL, 0);
		return;
	}
	if (k->state != CS_OPEN) {
		chan_result_k(c, cx, cmd, k, k->state == CS_DEAD ? (k->err ?: -EPIPE) : -ENOTCONN,
			      0);
		return;
	}
	/*
	 * After a short SEND, the ones the app queued behind it before it knew take nothing: the
	 * bytes it sends again must come first (include/ixdp/app.h, SEND).
	 */
	if (cmd->flags & IXDP_APP_SEND_RESUME)
		k->tx_short = false;
	if (k->tx_short) {
		chan_result_k(c, cx, cmd, k, 0, 0);
		return;
	}
	ret = cmd->len ? stack_conn_send(c->s, k->sc, cx->tx + cmd->off, cmd->len) : 0;
	if (ret >= 0 && (__u32)ret < cmd->len)
		k->tx_short = true;
	chan_result_k(c, cx, cmd, k, ret < 0 ? ret : 0, ret < 0 ? 0 : ret);
}

static void chan_close_conn(struct chan *c, struct chan_conn *k, bool reset)
{
	if (k->sc)
		stack_conn_close(c->s, k->sc, reset);
	chan_free(c, k);
}

/* The context attached here as @id (a ctx_id), or NULL. */
static struct chan_ctx *chan_ctx_by_id(struct chan *c, __u32 id)
{
	unsigned int i;

	for (i = 0; i < c->nr_ctx; i++)
		if (c->ctx[i]->app->id == id)
			return c->ctx[i];
	return NULL;
}

/*
 * MOVE: give @k to the context @cmd->len names (include/ixdp/app.h).  On success the sender's
 * RESULT is written by the caller; the new owner's MOVED and replay wait on its pending list.
 * Return: 0, -ESRCH, -EPERM, -EMFILE, -ENOBUFS, -EINVAL (nothing changed).
 */
static int chan_move(struct chan *c, struct chan_ctx *cx, const struct ixdp_app_cmd *cmd,
		     struct chan_conn *k)
{
	struct chan_ctx *to;
	__u32 head, tail, fill, need;
	__u8 pend;

	/* A context whose app has gone does not give its connections away: they are reset. */
	if (__atomic_load_n(&cx->app->ended, __ATOMIC_ACQUIRE))
		return -ESRCH;
	if (k->state != CS_OPEN && k->state != CS_DEAD)
		return -EINVAL;
	to = chan_ctx_by_id(c, cmd->len);
	if (!to || __atomic_load_n(&to->app->ended, __ATOMIC_ACQUIRE))
		return -ESRCH;
	if (to == cx)
		return -EINVAL;
	/* Same pid and uid: one process, so one user slot (apps.c counts users by uid). */
	if (to->app->pid != cx->app->pid || to->app->uid != cx->app->uid)
		return -EPERM;
	if (to->nr_conns >= c->cfg.ctx_conns) {
		STAT_INC(c->st.conns_capped);
		return -EMFILE;
	}
	need = (k->rx_out + CHAN_RX_CHUNK - 1) / CHAN_RX_CHUNK;
	if (need > to->nr_free)
		return -ENOBUFS;

	chan_rx_copy(cx, k, to, &head, &tail, &fill);
	pend = k->pend & (P_RECV | P_SENT | P_DEAD);
	chan_unqueue(c, cx, k);
	need = k->rx_out;
	chan_rx_drop(cx, k);
	cx->nr_conns--;
	to->nr_conns++;
	k->cx = to;
	k->cookie = cmd->cookie;
	k->tx_short = false;	/* the new owner starts afresh: what was not taken stayed behind */
	k->rx_head = head;
	k->rx_tail = tail;
	k->rx_tail_fill = fill;
	k->rx_out = need;
	/* Everything the sender was told that still holds is told again, in the same order. */
	k->replay_left = need;
	k->replay_chunk = head;
	k->replay_off = 0;
	k->replay_fin = k->eof_sent;
	if (k->state == CS_DEAD)
		pend |= P_DEAD;
	chan_queue(to, c, k, pend | P_MOVED | P_REPLAY);
	return 0;
}

/* Carry out one command (a private copy of it). */
static void chan_command(struct chan *c, struct chan_ctx *cx, const struct ixdp_app_cmd *cmd)
{
	struct chan_conn *k = NULL;
	int ret = 0;

	STAT_INC(c->st.cmds);
	switch (cmd->op) {
	case IXDP_APP_NOP:
		return;
	case IXDP_APP_LISTEN:
		chan_result(c, cx, cmd, chan_listen(c, cx, cmd), 0);
		return;
	case IXDP_APP_UNLISTEN:
		chan_result(c, cx, cmd, chan_unlisten(c, cx, cmd), 0);
		return;
	case IXDP_APP_CONNECT:
		chan_connect(c, cx, cmd);
		return;
	case IXDP_APP_ACCEPT:
	case IXDP_APP_REJECT:
	case IXDP_APP_SEND:
	case IXDP_APP_RECV_DONE:
	case IXDP_APP_SHUTDOWN:
	case IXDP_APP_CLOSE:
	case IXDP_APP_MOVE:
		k = chan_lookup(c, cx, cmd->handle);
		if (!k) {
			chan_result(c, cx, cmd, -EBADF, 0);
			return;
		}
		break;
	default:
		chan_result(c, cx, cmd, -EINVAL, 0);
		return;
	}

	switch (cmd->op) {
	case IXDP_APP_ACCEPT:
		if (!k->knock_sent || k->accepted ||
		    (k->state != CS_KNOCKED && k->state != CS_DEAD)) {
			ret = -EINVAL;
			break;
		}
		k->accepted = true;
		k->cookie = cmd->cookie;
		if (k->state == CS_DEAD) {
			/* its peer went away before the app took it: told again, to the conn */
			chan_queue(cx, c, k, P_DEAD);
			break;
		}
		k->state = CS_OPEN;
		chan_queue(cx, c, k, P_RECV); /* bytes may have come with the handshake */
		break;
	case IXDP_APP_REJECT:
		if ((cmd->flags & ~IXDP_APP_REJECT_PASS) ||
		    (k->state != CS_KNOCKED && k->state != CS_DEAD)) {
			ret = -EINVAL;
			break;
		}
		if ((cmd->flags & IXDP_APP_REJECT_PASS) && !chan_knock_pass(c, cx, k))
			break;
		chan_close_conn(c, k, true);
		break;
	case IXDP_APP_SEND:
		chan_send(c, cx, cmd, k);
		return;
	case IXDP_APP_RECV_DONE:
		/* only bytes it was told of: those still to replay are not its yet */
		if (cmd->len > k->rx_out - k->replay_left) {
			ret = -EINVAL;
			break;
		}
		chan_rx_consume(cx, k, cmd->len);
		if (k->sc && k->state == CS_OPEN) {
			stack_conn_recvd(c->s, k->sc, cmd->len);
			chan_queue(cx, c, k, P_RECV); /* room in the rx area again */
		}
		break;
	case IXDP_APP_SHUTDOWN:
		if (k->state != CS_OPEN)
			ret = -ENOTCONN;
		else if (k->tx_short)
			ret = -EAGAIN;	/* bytes still to come before the FIN */
		else
			ret = stack_conn_shutdown(c->s, k->sc);
		break;
	case IXDP_APP_CLOSE:
		if (k->tx_short && k->state == CS_OPEN && !(cmd->flags & IXDP_APP_CLOSE_RESET)) {
			ret = -EAGAIN;	/* as SHUTDOWN: the connection stays as it was */
			break;
		}
		chan_close_conn(c, k, cmd->flags & IXDP_APP_CLOSE_RESET);
		break;
	case IXDP_APP_MOVE: {
		const struct chan_conn was = { .cookie = k->cookie };

		ret = chan_move(c, cx, cmd, k);
		if (!ret)
			chan_result_k(c, cx, cmd, &was, 0, 0); /* the sender's cookie */
		if (ret)
			STAT_INC(c->st.moves_refused);
		else
			STAT_INC(c->st.moves);
		break;
	}
	}
	if (ret)
		chan_result_k(c, cx, cmd, k, ret, 0);
}

/* An 8-byte word that may alias anything: the command's words, read from shared memory. */
typedef __u64 __attribute__((may_alias)) chan_word;

_Static_assert(sizeof(struct ixdp_app_cmd) % sizeof(chan_word) == 0, "command in whole words");

/*
 * Copy one command out of the app's ring, reading each word of it exactly once.  The app can
 * rewrite the entry while we look at it, so every check must see the value that is used later.
 * With a plain memcpy() the compiler may assume the source does not change: it can drop the
 * copy and read a field from the ring again where it is used (after the check on it), which
 * would let the app change a handle, offset or length between check and use.  An __atomic
 * load of each word cannot be repeated or elided, so @dst is one snapshot (words written while
 * we copy may mix old and new, which is fine: every field of the snapshot is checked).
 */
static void chan_cmd_copy(struct ixdp_app_cmd *dst, const struct ixdp_app_cmd *src)
{
	const chan_word *s = (const chan_word *)src;
	chan_word *d = (chan_word *)dst;
	unsigned int i;

	for (i = 0; i < sizeof(*dst) / sizeof(*d); i++)
		d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

static unsigned int chan_ctx_commands(struct chan *c, struct chan_ctx *cx)
{
	__u32 prod = __atomic_load_n(&cx->ch->cmd_prod, __ATOMIC_ACQUIRE);
	__u32 avail = prod - cx->cmd_cons, room, n;

	if (avail > cx->cmd_entries) {
		/* Skip to where the app says it is: what lies between is not commands. */
		chan_broken(c, cx, "command ring producer index");
		cx->cmd_cons = prod;
		__atomic_store_n(&cx->ch->cmd_cons, cx->cmd_cons, __ATOMIC_RELEASE);
		return 0;
	}
	/* Each command may answer with one event: take no more than there is room for. */
	room = chan_ev_room(c, cx);
	if (avail > room) {
		avail = room;
		if (!room)
			STAT_INC(c->st.ev_full);
	}
	if (avail > CHAN_CMD_BUDGET)
		avail = CHAN_CMD_BUDGET;
	for (n = 0; n < avail; n++) {
		struct ixdp_app_cmd cmd;

		chan_cmd_copy(&cmd, &cx->cmds[cx->cmd_cons & (cx->cmd_entries - 1)]);
		cx->cmd_cons++;
		chan_command(c, cx, &cmd);
	}
	if (n)
		__atomic_store_n(&cx->ch->cmd_cons, cx->cmd_cons, __ATOMIC_RELEASE);
	return n;
}

/**
 * chan_commands - stage: take commands from every context's ring for this worker.
 * @c: the worker's channels
 *
 * Return: commands taken.
 */
unsigned int chan_commands(struct chan *c)
{
	unsigned int i, n = 0;

	for (i = 0; i < c->nr_ctx; i++)
		n += chan_ctx_commands(c, c->ctx[i]);
	return n;
}

/* --- delivery ------------------------------------------------------------------------------- */

static void chan_info_ev(const struct stack_conn_info *in, struct ixdp_app_ev *ev)
{
	ev->family = in->family;
	memcpy(ev->laddr, in->laddr, sizeof(ev->laddr));
	memcpy(ev->addr, in->raddr, sizeof(ev->addr));
	ev->port = in->rport;
	ev->lport = in->lport;
}

/* Move received bytes from the stack into the rx area, one RECV per span.  False: no room. */
static bool chan_recv(struct chan *c, struct chan_ctx *cx, struct chan_conn *k, __u64 h,
		      __u32 *room)
{
	bool eof;

	while (*room && k->sc && stack_conn_pending(k->sc, &eof)) {
		struct ixdp_app_ev ev = { .type = IXDP_APP_EV_RECV, .handle = h,
					  .cookie = k->cookie };
		__u32 off, n;

		if (!k->rx_tail || k->rx_tail_fill == CHAN_RX_CHUNK) {
			__u32 ch = chan_chunk_get(cx);

			if (!ch) {
				STAT_INC(c->st.rx_full);
				return false;
			}
			if (k->rx_tail)
				cx->chunk_next[k->rx_tail - 1] = ch;
			else
				k->rx_head = ch;
			k->rx_tail = ch;
			k->rx_tail_fill = 0;
		}
		off = (k->rx_tail - 1) * CHAN_RX_CHUNK + k->rx_tail_fill;
		n = stack_conn_read(c->s, k->sc, cx->rx + off, CHAN_RX_CHUNK - k->rx_tail_fill);
		k->rx_tail_fill += n;
		k->rx_out += n;
		ev.off = off;
		ev.len = n;
		chan_emit(c, cx, &ev);
		(*room)--;
	}
	if (k->sc && !k->eof_sent && *room) {
		stack_conn_pending(k->sc, &eof);
		if (eof) {
			struct ixdp_app_ev ev = { .type = IXDP_APP_EV_RECV, .handle = h,
						  .cookie = k->cookie };

			chan_emit(c, cx, &ev);
			(*room)--;
			k->eof_sent = true;
		}
	}
	return true;
}

/* P_REPLAY: announce the moved bytes and FIN as RECVs.  False: more to do (no room). */
static bool chan_replay(struct chan *c, struct chan_ctx *cx, struct chan_conn *k, __u64 h,
			__u32 *room)
{
	while (k->replay_left && *room) {
		__u32 n = k->replay_chunk;
		__u32 end = n == k->rx_tail ? k->rx_tail_fill : CHAN_RX_CHUNK;
		__u32 len = end - k->replay_off;
		struct ixdp_app_ev ev = { .type = IXDP_APP_EV_RECV, .handle = h,
					  .cookie = k->cookie };

		if (len > k->replay_left)
			len = k->replay_left;
		ev.off = (n - 1) * CHAN_RX_CHUNK + k->replay_off;
		ev.len = len;
		chan_emit(c, cx, &ev);
		(*room)--;
		k->replay_left -= len;
		k->replay_off += len;
		if (k->replay_off == CHAN_RX_CHUNK && k->replay_left) {
			k->replay_chunk = cx->chunk_next[n - 1];
			k->replay_off = 0;
		}
	}
	if (!k->replay_left && k->replay_fin && *room) {
		struct ixdp_app_ev ev = { .type = IXDP_APP_EV_RECV, .handle = h,
					  .cookie = k->cookie };

		chan_emit(c, cx, &ev);
		(*room)--;
		k->replay_fin = false;
	}
	return !k->replay_left && !k->replay_fin;
}

/* Write what @k has pending, as far as @room goes; returns true when nothing is left. */
static bool chan_deliver_conn(struct chan *c, struct chan_ctx *cx, struct chan_conn *k,
			      __u32 *room)
{
	__u64 h = chan_handle(c, chan_idx(c, k));
	struct ixdp_app_ev ev = { .handle = h, .cookie = k->cookie };

	if ((k->pend & P_KNOCK) && *room) {
		ev.type = IXDP_APP_EV_KNOCK;
		chan_info_ev(&k->info, &ev);
		chan_emit(c, cx, &ev);
		(*room)--;
		k->pend &= ~P_KNOCK;
		k->knock_sent = true;
	}
	if ((k->pend & P_CONNECTED) && *room) {
		ev.type = IXDP_APP_EV_CONNECTED;
		ev.err = k->err;
		chan_info_ev(&k->info, &ev);
		if (k->err)
			ev.handle = 0;
		chan_emit(c, cx, &ev);
		(*room)--;
		k->pend &= ~P_CONNECTED;
		if (k->err) {
			chan_free(c, k); /* the app has no handle for it */
			return true;
		}
	}
	if ((k->pend & P_KNOCK) || (k->pend & P_CONNECTED))
		return false;
	if ((k->pend & P_MOVED) && *room) {
		ev.type = IXDP_APP_EV_MOVED;
		chan_info_ev(&k->info, &ev);
		chan_emit(c, cx, &ev);
		(*room)--;
		k->pend &= ~P_MOVED;
	}
	if (k->pend & P_MOVED)
		return false;
	if (k->pend & P_REPLAY) {
		if (!chan_replay(c, cx, k, h, room))
			return false;
		k->pend &= ~P_REPLAY;
	}
	if (k->pend & P_RECV) {
		if (k->state != CS_OPEN)
			k->pend &= ~P_RECV;
		else if (chan_recv(c, cx, k, h, room) && *room)
			k->pend &= ~P_RECV;
		else
			return false;
	}
	if ((k->pend & P_SENT) && *room) {
		ev = (struct ixdp_app_ev){ .type = IXDP_APP_EV_SENT, .handle = h,
					   .cookie = k->cookie, .len = k->sent };
		chan_emit(c, cx, &ev);
		(*room)--;
		k->sent = 0;
		k->pend &= ~P_SENT;
	}
	if ((k->pend & P_DEAD) && !(k->pend & ~P_DEAD) && *room) {
		ev = (struct ixdp_app_ev){ .type = IXDP_APP_EV_DEAD, .handle = h,
					   .cookie = k->cookie, .err = k->err };
		chan_emit(c, cx, &ev);
		(*room)--;
		k->pend &= ~P_DEAD;
	}
	return !k->pend;
}

/*
 * Deliver from the front of @cx's pending list while the event ring has room, visiting at
 * most CHAN_DELIVER_BUDGET connections: a connection that could not finish goes to the back
 * (round robin), and the walk stops when it comes round to the first one sent back.  A full
 * ring costs nothing, and a context with thousands of connections waiting (for its rx area,
 * for room) costs a bounded walk per iteration, not one over all of them.
 */
static unsigned int chan_deliver_ctx(struct chan *c, struct chan_ctx *cx)
{
	__u32 room, before = cx->ev_prod, first_back = CHAN_NONE, visits;

	if (!cx->pend_head)
		return 0;
	room = chan_ev_room(c, cx);
	if (!room) {
		STAT_INC(c->st.ev_full);
		return 0;
	}
	for (visits = 0; visits < CHAN_DELIVER_BUDGET && room && cx->pend_head; visits++) {
		__u32 i = cx->pend_head;
		struct chan_conn *k = chan_slot(c, i - 1);

		if (i == first_back)
			break; /* round once: the rest waits for room or data */
		chan_unlink(c, cx, k);
		if (chan_deliver_conn(c, cx, k, &room) || k->state == CS_FREE)
			continue; /* done, or freed while delivering */
		chan_queue(cx, c, k, 0);
		if (!first_back)
			first_back = i;
	}
	if (!room && cx->pend_head)
		STAT_INC(c->st.ev_full);
	return cx->ev_prod - before;
}

/* Publish @cx's new events and wake the app if it sleeps. */
static void chan_publish(struct chan *c, struct chan_ctx *cx)
{
	if (cx->ev_prod == cx->ev_published)
		return;
	__atomic_store_n(&cx->ch->ev_prod, cx->ev_prod, __ATOMIC_RELEASE);
	cx->ev_published = cx->ev_prod;
	/* Pairs with the app's fence between setting app_sleeping and re-checking the rings. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&cx->shm->app_sleeping, __ATOMIC_RELAXED)) {
		/* Our own socket, MSG_DONTWAIT: a full one means a wakeup is already pending. */
		if (send(cx->wake_fd, "", 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1)
			STAT_INC(c->st.wakeups);
	}
}

/**
 * chan_deliver - stage: write pending events and publish them (commands' results included).
 * @c: the worker's channels
 *
 * Return: events written.
 */
unsigned int chan_deliver(struct chan *c)
{
	unsigned int i, n = 0;

	for (i = 0; i < c->nr_ctx; i++) {
		n += chan_deliver_ctx(c, c->ctx[i]);
		chan_publish(c, c->ctx[i]);
	}
	return n;
}

/* --- sleeping ------------------------------------------------------------------------------- */

/**
 * chan_sleep_begin - the worker is about to sleep: ask apps for a wakeup with new commands.
 * @c:       the worker's channels
 * @blocked: set when events wait for room an app has not made yet (sleep briefly only)
 *
 * Return: false if a command arrived meanwhile (do not sleep; chan_sleep_end() anyway).
 */
bool chan_sleep_begin(struct chan *c, bool *blocked)
{
	unsigned int i;

	*blocked = false;
	for (i = 0; i < c->nr_ctx; i++)
		__atomic_store_n(&c->ctx[i]->ch->worker_sleeping, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (i = 0; i < c->nr_ctx; i++) {
		struct chan_ctx *cx = c->ctx[i];

		if (__atomic_load_n(&cx->ch->cmd_prod, __ATOMIC_ACQUIRE) != cx->cmd_cons)
			return false;
		if (cx->pend_head)
			*blocked = true;
	}
	return true;
}

/**
 * chan_sleep_end - the worker is awake again.
 * @c: the worker's channels
 */
void chan_sleep_end(struct chan *c)
{
	char buf[CHAN_WAKE_BATCH];
	struct mmsghdr m[CHAN_WAKE_BATCH];
	struct iovec iov[CHAN_WAKE_BATCH];
	unsigned int i, j, n;
	int got;

	for (j = 0; j < CHAN_WAKE_BATCH; j++) {
		iov[j] = (struct iovec){ .iov_base = &buf[j], .iov_len = 1 };
		m[j] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[j], .msg_iovlen = 1 } };
	}
	/*
	 * Empty each wakeup socket, so the next sleep sleeps, but in bounded batches: an app can
	 * send wakeups as fast as we read them.  What is left keeps the socket readable (the next
	 * poll() returns at once), never a loop here.  The kernel's queue (net.unix.max_dgram_qlen)
	 * is normally emptied by the first batches.
	 */
	for (i = 0; i < c->nr_ctx; i++) {
		__atomic_store_n(&c->ctx[i]->ch->worker_sleeping, 0, __ATOMIC_RELAXED);
		for (n = 0; n < CHAN_WAKE_DRAIN; n++) {
			got = recvmmsg(c->ctx[i]->poll_fd, m, CHAN_WAKE_BATCH, MSG_DONTWAIT, NULL);
			if (got < CHAN_WAKE_BATCH)
				break;
		}
	}
}

/**
 * chan_pollfds - the wakeup sockets to sleep on.
 * @c:   the worker's channels
 * @pfd: receives up to @max entries
 * @max: room
 *
 * Return: entries filled.
 */
unsigned int chan_pollfds(const struct chan *c, struct pollfd *pfd, unsigned int max)
{
	unsigned int i;

	for (i = 0; i < c->nr_ctx && i < max; i++)
		pfd[i] = (struct pollfd){ .fd = c->ctx[i]->poll_fd, .events = POLLIN };
	return i;
}

/* --- contexts ------------------------------------------------------------------------------- */

/**
 * chan_attach - a new context (WORKER_OP_APP_ATTACH, on the worker's thread).
 * @c: the worker's channels
 * @a: the context (the control thread set its memory up)
 *
 * Return: 0, -EMFILE, -ENOMEM or -EINVAL (no receive area).
 */
int chan_attach(struct chan *c, struct app_ctx *a)
{
	struct ixdp_app_shm *shm = a->shm;
	struct ixdp_app_chan *ch;
	struct chan_ctx *cx;
	__u32 i;

	if (c->nr_ctx == APP_CTX_MAX)
		return -EMFILE;
	cx = calloc(1, sizeof(*cx));
	if (!cx)
		return -ENOMEM;
	/* The daemon wrote the header: values are taken from it, not from what the app sees. */
	ch = (void *)((char *)shm + shm->chan_off + shm->chan_size * c->cfg.worker);
	cx->app = a;
	cx->shm = shm;
	cx->ch = ch;
	cx->cmds = (void *)((char *)shm + ch->cmd_off);
	cx->evs = (void *)((char *)shm + ch->ev_off);
	cx->rx = (__u8 *)shm + ch->rx_off;
	cx->tx = (__u8 *)shm + ch->tx_off;
	cx->cmd_entries = shm->cmd_entries;
	cx->ev_entries = shm->ev_entries;
	cx->tx_size = shm->tx_size;
	cx->wake_fd = a->app_wake;
	cx->poll_fd = a->worker_wake[c->cfg.worker];
	/* The daemon's header (the app has not got the memory yet): its rx area, in chunks. */
	cx->nr_chunks = shm->rx_size / CHAN_RX_CHUNK;
	if (!cx->nr_chunks || shm->rx_size > APP_RX_SIZE_MAX) {
		free(cx);
		return -EINVAL;
	}
	cx->chunk_next = calloc(cx->nr_chunks, sizeof(*cx->chunk_next));
	if (!cx->chunk_next) {
		free(cx);
		return -ENOMEM;
	}
	for (i = cx->nr_chunks; i > 0; i--)
		chan_chunk_put(cx, i);
	c->ctx[c->nr_ctx++] = cx;
	__atomic_store_n(&c->st.contexts, c->nr_ctx, __ATOMIC_RELAXED);
	return 0;
}

/* Reset @cx's connections, give up its listens, and forget it. */
static void chan_forget(struct chan *c, struct chan_ctx *cx)
{
	unsigned int i;
	__u32 j;

	for (i = 0; i < STACK_SERVICES_MAX; i++)
		if (c->lst[i].used)
			chan_lst_leave(c, &c->lst[i], cx);
	for (j = 0; j < c->nr_slots && cx->nr_conns; j++) {
		struct chan_conn *k = chan_slot(c, j);

		if (k->cx == cx && k->state != CS_FREE)
			chan_close_conn(c, k, true);
	}
	for (i = 0; i < c->nr_ctx; i++)
		if (c->ctx[i] == cx)
			c->ctx[i] = c->ctx[--c->nr_ctx];
	__atomic_store_n(&c->st.contexts, c->nr_ctx, __ATOMIC_RELAXED);
	free(cx->chunk_next);
	free(cx);
}

/* Does a connection moved to @cx still wait to tell it so (its MOVED not written)? */
static bool chan_moved_pending(struct chan *c, const struct chan_ctx *cx)
{
	__u32 j, seen = 0;

	for (j = 0; j < c->nr_slots && seen < cx->nr_conns; j++) {
		const struct chan_conn *k = chan_slot(c, j);

		if (k->cx != cx || k->state == CS_FREE)
			continue;
		if (k->pend & P_MOVED)
			return true;
		seen++;
	}
	return false;
}

/**
 * chan_detach - forget a context (WORKER_OP_APP_DETACH): its connections are reset, its
 * listens given up.
 * @c: the worker's channels
 * @a: the context, ended
 *
 * A connection another context moved to @a before it ended is @a's app memory as well as ours:
 * the app frees it when the MOVED reaches it, and an app that ends with ix_end() reads its
 * rings until we close the control connection.  So what is pending is written first, and while
 * a MOVED still waits for room in the event ring, the detach waits too (until APP_DRAIN_MS
 * after the end: an app that does not read any more loses it).
 *
 * Return: 0 (forgotten, or not attached here), or -EAGAIN (nothing reset: ask again).
 */
int chan_detach(struct chan *c, struct app_ctx *a)
{
	struct chan_ctx *cx = NULL;
	unsigned int i;

	for (i = 0; i < c->nr_ctx; i++)
		if (c->ctx[i]->app == a)
			cx = c->ctx[i];
	if (!cx)
		return 0;
	chan_deliver_ctx(c, cx);
	chan_publish(c, cx);
	if (chan_moved_pending(c, cx)) {
		if (clock_now_ns() - a->end_ns < (__u64)APP_DRAIN_MS * 1000000)
			return -EAGAIN;
		STAT_INC(c->st.moved_lost);
	}
	chan_forget(c, cx);
	return 0;
}

/**
 * chan_open - the worker's channel state, over its stack.
 * @cp:  receives it
 * @cfg: worker number, flow groups, ephemeral range, registry (copied)
 * @s:   the worker's TCP stack
 *
 * Return: 0 or -ENOMEM.
 */
int chan_open(struct chan **cp, const struct chan_cfg *cfg, struct stack *s)
{
	struct chan *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->cfg = *cfg;
	if (!c->cfg.ctx_conns || c->cfg.ctx_conns > CHAN_CONNS_MAX)
		c->cfg.ctx_conns = CHAN_CTX_CONNS;
	c->s = s;
	c->port_cursor = (cfg->worker * 7919u) % 65536;
	stack_set_app(s, &chan_stack_ops, c);
	*cp = c;
	return 0;
}

/**
 * chan_close - drop every context (their connections reset) and free the state.
 * @c: the worker's channels, or NULL
 */
void chan_close(struct chan *c)
{
	__u32 p;

	if (!c)
		return;
	while (c->nr_ctx)
		chan_forget(c, c->ctx[0]);
	for (p = 0; p < c->nr_pages; p++)
		free(c->pages[p]);
	free(c->pages);
	free(c);
}

/**
 * chan_stats - the worker's channel counters.
 * @c: the worker's channels
 *
 * Return: the counters.
 */
const struct chan_stats *chan_stats(const struct chan *c)
{
	return &c->st;
}
