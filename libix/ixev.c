// SPDX-License-Identifier: BSD-2-Clause
/*
 * ixev.c - ixev (include/ix/ixev.h): per-connection state, handlers, buffered send and
 * copying or in-place receive over one ix context.
 *
 * How it behaves, where the header leaves a choice:
 *
 *   - A connection's cookie is gen << 32 | slot in the loop's own table, never a pointer.  A
 *     slot's generation changes whenever it is freed, so an event for a connection already
 *     closed finds another generation and is dropped.  Generations are never 0, so no
 *     connection's cookie is 0, the cookie of the loop's listeners.  RESULTs, which carry the
 *     handle rather than the cookie, are routed through a handle -> slot table.
 *
 *   - Handlers run after each batch of events, once per connection the batch touched (new
 *     bytes or EOF, send space back, death), with ready & (mask | IXEV_HUP): IXEV_HUP is
 *     delivered whatever the mask.  ixev_set_handler() with events already ready calls the
 *     handler at the next ixev_run().  Bytes left unread do not call it again until more come.
 *
 *   - ixev_send() copies into the connection's buffer (IXEV_SEND_MAX at most).  Each run of
 *     the loop sends what was added since in a new SEND (up to IXEV_FLIGHTS of them in flight
 *     per connection, each built in the worker's send area with ix_tx_alloc(), so an app on
 *     ixev must not hold ix_tx_alloc() buffers of its own on the loop's context across ixev
 *     calls), without waiting for the RESULTs of the earlier ones; SHUTDOWN and CLOSE follow
 *     the last SEND the same way, so a reply and its FIN reach the worker together.  A RESULT
 *     that took fewer bytes than sent makes the connection short (include/ix/ix.h): the loop
 *     waits for the RESULTs still due (the SENDs behind it took nothing, a SHUTDOWN or CLOSE
 *     behind it was refused) and for IX_EV_SENT, then sends the rest with IX_SEND_RESUME.
 *
 *   - ixev_close() releases the conn at once.  Bytes still buffered are sent by the loop on
 *     its own, then CLOSE follows (FIN after them); a dead connection is just freed.  Bytes
 *     that arrive for a closed connection are given back at once.  A CLOSE the daemon refuses
 *     for a connection the loop has let go of meanwhile (it died) becomes a reset.
 *
 *   - Handlers and callbacks may call ixev_close() on their connection; they must not call
 *     ixev_run() or ixev_loop_destroy().  ops->accept() may set the handler and the user field
 *     of the conn it returns, nothing else: it is not the loop's until accept returns.
 *
 *   - ixev_move() hands a conn to another loop of the process: the MOVE's cookie is the conn's
 *     address (same process), so the target loop finds the conn in IX_EV_MOVED and makes it
 *     its own, handler, mask and user field kept; the daemon replays the bytes not consumed.
 *     From the call on, the sender's slot is MOVING: it keeps the conn's state but never
 *     touches the conn (the target may own it already), until the MOVE's RESULT frees the slot
 *     or, on a refusal, makes the conn live here again as it was (libix gives back the events
 *     it held meanwhile).  A moved conn's events carry the target's cookie (a pointer, not a
 *     slot of the target's table), so events are routed by cookie only when the slot found
 *     has the event's handle, else through the handle table.
 *
 *   - ixev_run() returns the number of ix events it took, or, when it took none, the number of
 *     handler calls it made (for readiness set up by ixev_set_handler()).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ix/ix.h"
#include "ix/ixev.h"
#include "hmap.h"
#include "ix_priv.h"

#define IXEV_BATCH 64			/* events taken per ixev_run() */
#define IXEV_CHUNK (256u << 10)		/* largest SEND ixev builds */
#define IXEV_CHUNK_MIN 2048u		/* smallest it tries when the send area is short */
#define IXEV_FLIGHTS 8			/* SENDs in flight per connection */
#define IXEV_NONE UINT32_MAX
#define IXEV_LISTEN_COOKIE 0
#define IXEV_HASH_MIN 64		/* first size of the handle -> slot map */
#define IXEV_HASH_MAX (1u << 30)	/* ... and its largest */

enum ixev_state {
	IXEV_FREE,
	IXEV_LIVE,	/* the app's conn */
	IXEV_ORPHAN,	/* closed by the app, still sending its last bytes */
	IXEV_MOVING,	/* ixev_move() in flight: the conn is not ours to touch until RESULT */
};

struct ixev_span {
	const uint8_t *data;
	size_t len;
};

/* ixev's side of a connection (conn->rx_priv and conn->tx_priv point here). */
struct ixev_priv {
	uint16_t lport;		/* the connection's local port (0 while dialing) */

	/* received, in the daemon's receive area until given back */
	struct ixev_span *rx;
	uint32_t rx_head;
	uint32_t rx_tail;
	uint32_t rx_cap;	/* a power of two, or 0 */
	size_t rx_off;		/* bytes of the front span consumed */

	/*
	 * Not yet taken by the connection: tx[tx_start .. tx_start + tx_len).  Its first
	 * inflight bytes are in the SENDs of flight[] (oldest first), whose RESULTs are due.
	 */
	uint8_t *tx;
	size_t tx_cap;
	size_t tx_start;
	size_t tx_len;
	size_t inflight;
	struct {
		uint32_t seq;
		uint32_t len;
	} flight[IXEV_FLIGHTS];
	uint8_t flight_head;
	uint8_t nflight;
	uint8_t is_short;	/* a SEND was short: the rest goes with IX_SEND_RESUME */
	uint8_t blocked;	/* ... once IX_EV_SENT has come */
	uint8_t out_wanted;	/* ixev_send() turned bytes away: IXEV_OUT when space is back */
	uint8_t shut;		/* ixev_shutdown(): SHUTDOWN behind the last byte */
	uint8_t shut_sent;
	uint8_t close_sent;	/* an orphan's CLOSE, behind its last SEND */
	uint8_t corked;		/* ixev_cork() */
	uint64_t cork_ms;	/* corked: when the oldest unsent byte was queued (0: none) */
};

struct ixev_slot {
	struct ixev_conn *conn;	/* LIVE or MOVING: the conn; else NULL */
	struct ixev_priv *priv;
	ix_handle_t handle;	/* 0 while dialing */
	uint32_t gen;
	uint32_t next_free;
	uint8_t state;		/* enum ixev_state */
	uint8_t touched;	/* in loop->touched */
	uint8_t dirty;		/* in loop->dirty */
};

struct ixev_ref {
	uint32_t slot;
	uint32_t gen;
};

struct ixev_vec {
	struct ixev_ref *v;
	uint32_t len;
	uint32_t cap;
};

struct ixev_loop {
	struct ix_ctx *ix;
	const struct ixev_conn_ops *ops;
	void *arg;
	struct ixev_slot *slots;
	uint32_t nr_slots;
	uint32_t free_head;
	struct ix_hmap hash;	/* handle -> slot */
	struct ixev_vec touched;	/* conns whose handler may run */
	struct ixev_vec dirty;		/* conns with bytes or a FIN to push */
	uint32_t sending;		/* conns (live or orphaned) with bytes not yet taken */
	uint32_t orphans;		/* closed by the app, bytes all taken, CLOSE still to go */
	struct ix_event evs[IXEV_BATCH];
};

/* --- tables ------------------------------------------------------------------------------ */

static uint64_t ixev_cookie(const struct ixev_loop *l, uint32_t i)
{
	return (uint64_t)l->slots[i].gen << 32 | i;
}

static int ixev_by_cookie(const struct ixev_loop *l, uint64_t cookie)
{
	uint32_t i = (uint32_t)cookie, gen = (uint32_t)(cookie >> 32);

	if (i >= l->nr_slots || !gen || l->slots[i].gen != gen || l->slots[i].state == IXEV_FREE)
		return -1;
	return (int)i;
}

/* The slot of @c while it is the loop's, else -1. */
static int ixev_slot_of(const struct ixev_conn *c)
{
	const struct ixev_loop *l;

	if (!c || !c->loop)
		return -1;
	l = c->loop;
	if (c->slot >= l->nr_slots || l->slots[c->slot].conn != c ||
	    l->slots[c->slot].gen != c->gen)
		return -1;
	return (int)c->slot;
}

/* The slot of the connection with handle @h, or -1. */
static int ixev_hash_find(const struct ixev_loop *l, ix_handle_t h)
{
	const struct ix_hent *e = ix_hmap_find(&l->hash, h);

	return e ? (int)e->val : -1;
}

static int ixev_vec_push(struct ixev_vec *v, uint32_t slot, uint32_t gen)
{
	if (v->len == v->cap) {
		uint32_t cap = v->cap ? v->cap * 2 : 64;
		struct ixev_ref *n = realloc(v->v, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		v->v = n;
		v->cap = cap;
	}
	v->v[v->len].slot = slot;
	v->v[v->len].gen = gen;
	v->len++;
	return 0;
}

static void ixev_touch(struct ixev_loop *l, uint32_t i)
{
	struct ixev_slot *s = &l->slots[i];

	if (s->state != IXEV_LIVE || s->touched)
		return;
	if (ixev_vec_push(&l->touched, i, s->gen)) {
		ix_logf(IX_LOG_ERR, "ixev: no memory: a handler call is lost");
		return;
	}
	s->touched = 1;
}

static void ixev_mark_dirty(struct ixev_loop *l, uint32_t i)
{
	struct ixev_slot *s = &l->slots[i];

	if (s->state == IXEV_FREE || s->dirty)
		return;
	if (ixev_vec_push(&l->dirty, i, s->gen)) {
		ix_logf(IX_LOG_ERR, "ixev: no memory: bytes wait until the next event");
		return;
	}
	s->dirty = 1;
}

static int ixev_slot_new(struct ixev_loop *l, uint32_t *ip)
{
	if (l->free_head == IXEV_NONE) {
		uint32_t n = l->nr_slots ? l->nr_slots * 2 : 64, i;
		struct ixev_slot *s;

		if (n > (1u << 30))
			return -ENOMEM;
		s = realloc(l->slots, n * sizeof(*s));
		if (!s)
			return -ENOMEM;
		for (i = l->nr_slots; i < n; i++) {
			memset(&s[i], 0, sizeof(s[i]));
			s[i].gen = 1;
			s[i].next_free = i + 1 < n ? i + 1 : IXEV_NONE;
		}
		l->free_head = l->nr_slots;
		l->slots = s;
		l->nr_slots = n;
	}
	*ip = l->free_head;
	l->free_head = l->slots[*ip].next_free;
	return 0;
}

static void ixev_priv_free(struct ixev_priv *p)
{
	if (!p)
		return;
	free(p->rx);
	free(p->tx);
	free(p);
}

/* Forget slot @i: its cookie and handle lead nowhere from now on. */
static void ixev_slot_free(struct ixev_loop *l, uint32_t i)
{
	struct ixev_slot *s = &l->slots[i];

	if (s->priv && s->priv->tx_len)
		l->sending--;
	if (s->state == IXEV_ORPHAN && !(s->priv && s->priv->tx_len))
		l->orphans--;
	ix_hmap_del(&l->hash, s->handle);
	ixev_priv_free(s->priv);
	s->conn = NULL;
	s->priv = NULL;
	s->handle = 0;
	s->state = IXEV_FREE;
	s->touched = 0;
	s->dirty = 0;
	if (++s->gen == 0)
		s->gen = 1;
	s->next_free = l->free_head;
	l->free_head = i;
}

/* Make @c the loop's, with handle @h (0 while dialing). */
static int ixev_register(struct ixev_loop *l, struct ixev_conn *c, ix_handle_t h, uint32_t *ip)
{
	struct ixev_priv *p = calloc(1, sizeof(*p));
	struct ixev_slot *s;
	uint32_t i;

	if (!p || ixev_slot_new(l, &i)) {
		free(p);
		return -ENOMEM;
	}
	s = &l->slots[i];
	s->priv = p;
	s->state = IXEV_LIVE;
	if (h && ix_hmap_add(&l->hash, h, i)) {
		ixev_slot_free(l, i);
		return -ENOMEM;
	}
	s->handle = h;
	s->conn = c;
	c->loop = l;
	c->handle = h;
	c->slot = i;
	c->gen = s->gen;
	c->ready = 0;
	c->rx_len = 0;
	c->rx_eof = 0;
	c->dead_err = 0;
	c->rx_priv = p;
	c->tx_priv = p;
	c->tx_len = 0;
	c->closing = 0;
	*ip = i;
	return 0;
}

/* --- receive ----------------------------------------------------------------------------- */

static int ixev_rx_push(struct ixev_priv *p, const void *data, size_t len)
{
	if (p->rx_head - p->rx_tail == p->rx_cap) {
		uint32_t cap = p->rx_cap ? p->rx_cap * 2 : 8, i;
		struct ixev_span *n;

		if (cap > (1u << 30))
			return -ENOMEM;
		n = malloc(cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		for (i = p->rx_tail; i != p->rx_head; i++)
			n[i & (cap - 1)] = p->rx[i & (p->rx_cap - 1)];
		free(p->rx);
		p->rx = n;
		p->rx_cap = cap;
	}
	p->rx[p->rx_head & (p->rx_cap - 1)].data = data;
	p->rx[p->rx_head & (p->rx_cap - 1)].len = len;
	p->rx_head++;
	return 0;
}

/* Drop the first @len received bytes and give their space back to the daemon. */
static void ixev_rx_done(struct ixev_loop *l, ix_handle_t h, struct ixev_priv *p, size_t len)
{
	size_t left = len;
	long ret;

	while (left) {
		struct ixev_span *s = &p->rx[p->rx_tail & (p->rx_cap - 1)];
		size_t k = s->len - p->rx_off < left ? s->len - p->rx_off : left;

		p->rx_off += k;
		left -= k;
		if (p->rx_off == s->len) {
			p->rx_tail++;
			p->rx_off = 0;
		}
	}
	ret = ix_recv_done(l->ix, h, len);
	if (ret < 0 && ret != -ECONNRESET)
		ix_logf(IX_LOG_WARN, "ixev: giving back %zu received bytes failed: %s", len,
			strerror((int)-ret));
}

static ssize_t ixev_rx_none(struct ixev_conn *c)
{
	if (c->rx_eof)
		return 0;
	if (c->dead_err)
		return c->dead_err;
	c->ready &= ~IXEV_IN;
	return -EAGAIN;
}

static void ixev_rx_after(struct ixev_conn *c)
{
	if (!c->rx_len && !c->rx_eof && !c->dead_err)
		c->ready &= ~IXEV_IN;
}

/**
 * ixev_recv - copy up to @len received bytes into @buf and give their space back.
 * @c:   the connection
 * @buf: destination
 * @len: its size
 *
 * Return: bytes (> 0), 0 at EOF (or for @len 0), -EAGAIN (nothing yet), the death's errno,
 * -EINVAL (not a connection of a loop).
 */
IX_API ssize_t ixev_recv(struct ixev_conn *c, void *buf, size_t len)
{
	struct ixev_priv *p;
	size_t got = 0, off;
	int i = ixev_slot_of(c);
	uint32_t idx;

	if (i < 0 || (!buf && len))
		return c && c->closing ? -EPIPE : -EINVAL;
	if (!len)
		return 0;
	if (!c->rx_len)
		return ixev_rx_none(c);
	p = c->rx_priv;
	idx = p->rx_tail;
	off = p->rx_off;
	while (got < len && idx != p->rx_head) {
		const struct ixev_span *s = &p->rx[idx & (p->rx_cap - 1)];
		size_t k = s->len - off;

		if (k > len - got)
			k = len - got;
		memcpy((uint8_t *)buf + got, s->data + off, k);
		got += k;
		off += k;
		if (off == s->len) {
			idx++;
			off = 0;
		}
	}
	ixev_rx_done(c->loop, c->handle, p, got);
	c->rx_len -= got;
	ixev_rx_after(c);
	return (ssize_t)got;
}

/**
 * ixev_peek - the received bytes in place.
 * @c:    the connection
 * @data: gets the first contiguous span
 *
 * Return: its length (> 0), 0 at EOF, -EAGAIN, the death's errno, -EINVAL.
 */
IX_API ssize_t ixev_peek(struct ixev_conn *c, const void **data)
{
	const struct ixev_span *s;
	struct ixev_priv *p;
	int i = ixev_slot_of(c);

	if (i < 0 || !data)
		return c && c->closing ? -EPIPE : -EINVAL;
	if (!c->rx_len)
		return ixev_rx_none(c);
	p = c->rx_priv;
	s = &p->rx[p->rx_tail & (p->rx_cap - 1)];
	*data = s->data + p->rx_off;
	return (ssize_t)(s->len - p->rx_off);
}

/**
 * ixev_consume - give back the first @len received bytes (clamped to what was received).
 * @c:   the connection
 * @len: bytes, possibly spanning several ixev_peek() results
 */
IX_API void ixev_consume(struct ixev_conn *c, size_t len)
{
	int i = ixev_slot_of(c);

	if (i < 0 || !len)
		return;
	if (len > c->rx_len)
		len = c->rx_len;
	if (!len)
		return;
	ixev_rx_done(c->loop, c->handle, c->rx_priv, len);
	c->rx_len -= len;
	ixev_rx_after(c);
}

/* --- send -------------------------------------------------------------------------------- */

/* Room for @add more bytes after the buffered ones. */
static int ixev_tx_room(struct ixev_priv *p, size_t add)
{
	size_t need = p->tx_len + add, cap;
	uint8_t *n;

	if (p->tx_start + need <= p->tx_cap)
		return 0;
	if (need <= p->tx_cap) {
		/* the in-flight bytes are in the send area already: moving them is safe */
		memmove(p->tx, p->tx + p->tx_start, p->tx_len);
		p->tx_start = 0;
		return 0;
	}
	cap = p->tx_cap ? p->tx_cap * 2 : 4096;
	if (cap < need)
		cap = need;
	if (cap > IXEV_SEND_MAX)
		cap = IXEV_SEND_MAX;
	n = malloc(cap);
	if (!n)
		return -ENOMEM;
	if (p->tx_len)
		memcpy(n, p->tx + p->tx_start, p->tx_len);
	free(p->tx);
	p->tx = n;
	p->tx_cap = cap;
	p->tx_start = 0;
	return 0;
}

static void ixev_kill(struct ixev_loop *l, uint32_t i, int err);
static uint64_t ixev_now_ms(void);

/* A corked live conn's bytes wait: fewer than IXEV_CORK_FULL unsent, none older than 200 ms. */
static int ixev_cork_holds(const struct ixev_slot *s)
{
	const struct ixev_priv *p = s->priv;
	size_t left = p->tx_len - p->inflight;

	if (!p->corked || s->state != IXEV_LIVE || p->shut || !left || left >= IXEV_CORK_FULL)
		return 0;
	return ixev_now_ms() - p->cork_ms < IXEV_CORK_MS;
}

/*
 * Send what slot @i has not sent yet in new SENDs, then its SHUTDOWN or CLOSE behind them;
 * after a short SEND, nothing until every RESULT due is in and IX_EV_SENT came.
 * Return 1 to be tried again at the next ixev_run() (no room in the send area now).
 */
static int ixev_push(struct ixev_loop *l, uint32_t i)
{
	struct ixev_slot *s = &l->slots[i];
	struct ixev_priv *p = s->priv;
	ix_handle_t h = s->handle;

	if (!h || s->state == IXEV_MOVING || (s->state == IXEV_LIVE && s->conn->dead_err))
		return 0;
	if (p->is_short && (p->nflight || p->shut_sent || p->close_sent))
		return 0;	/* verdicts on what went behind the short SEND still to come */
	if (ixev_cork_holds(s))
		return 1;	/* looked at again at each ixev_run() until its time is up */
	while (p->tx_len > p->inflight && !p->blocked && p->nflight < IXEV_FLIGHTS) {
		size_t left = p->tx_len - p->inflight;
		size_t chunk = left < IXEV_CHUNK ? left : IXEV_CHUNK;
		void *buf;
		long seq;
		int k;

		for (;;) {
			buf = ix_tx_alloc(l->ix, h, chunk);
			if (buf || chunk <= 1 || (errno != EINVAL && errno != EAGAIN) ||
			    (errno == EAGAIN && chunk <= IXEV_CHUNK_MIN))
				break;
			chunk /= 2;
		}
		if (!buf) {
			if (errno == EAGAIN || errno == ENOMEM)
				return 1;
			if (errno != ECONNRESET)
				ixev_kill(l, i, -errno);
			return 0;
		}
		memcpy(buf, p->tx + p->tx_start + p->inflight, chunk);
		seq = ix_send_flags(l->ix, h, buf, chunk, p->is_short ? IX_SEND_RESUME : 0);
		if (seq == -EAGAIN || seq == -ENOMEM)
			return 1;
		if (seq < 0) {
			if (seq != -ECONNRESET)
				ixev_kill(l, i, (int)seq);
			return 0;
		}
		p->is_short = 0;
		k = (p->flight_head + p->nflight++) % IXEV_FLIGHTS;
		p->flight[k].seq = (uint32_t)seq;
		p->flight[k].len = (uint32_t)chunk;
		p->inflight += chunk;
	}
	if (p->tx_len > p->inflight)
		return 0;	/* blocked, or IXEV_FLIGHTS out: a SENT or RESULT brings it back */
	p->cork_ms = 0;
	if (s->state == IXEV_ORPHAN) {
		if (!p->close_sent) {
			p->close_sent = 1;
			ix_close(l->ix, h, 0);
		}
		if (!p->nflight)
			ixev_slot_free(l, i);	/* every byte taken, so the CLOSE went through */
	} else if (p->shut && !p->shut_sent) {
		p->shut_sent = 1;
		ix_shutdown(l->ix, h);
	}
	return 0;
}

static void ixev_push_all(struct ixev_loop *l)
{
	uint32_t n = l->dirty.len, k, keep = 0;

	for (k = 0; k < n; k++) {
		struct ixev_ref r = l->dirty.v[k];
		struct ixev_slot *s = &l->slots[r.slot];

		if (s->gen != r.gen || s->state == IXEV_FREE)
			continue;
		s->dirty = 0;
		if (ixev_push(l, r.slot) && s->gen == r.gen && s->state != IXEV_FREE) {
			s->dirty = 1;
			l->dirty.v[keep++] = r;
		}
	}
	/* entries added meanwhile (none today) stay after the kept ones */
	if (l->dirty.len > n)
		memmove(l->dirty.v + keep, l->dirty.v + n,
			(l->dirty.len - n) * sizeof(*l->dirty.v));
	l->dirty.len = keep + (l->dirty.len - n);
}

/**
 * ixev_send - queue @len bytes of @buf (copied) for sending on @c.
 * @c:   the connection
 * @buf: the bytes
 * @len: their count
 *
 * Return: bytes taken (fewer than @len once IXEV_SEND_MAX are buffered), -EAGAIN (none taken),
 * -EPIPE (shut down or closing), the death's errno, -ENOMEM, -EINVAL.
 */
IX_API ssize_t ixev_send(struct ixev_conn *c, const void *buf, size_t len)
{
	struct ixev_priv *p;
	size_t take;
	int i = ixev_slot_of(c);

	if (i < 0)
		return c && c->closing ? -EPIPE : -EINVAL;
	if (c->dead_err)
		return c->dead_err;
	p = c->tx_priv;
	if (c->closing || p->shut)
		return -EPIPE;
	if (!len)
		return 0;
	if (!buf)
		return -EINVAL;
	take = IXEV_SEND_MAX - p->tx_len;
	if (take > len)
		take = len;
	if (!take || ixev_tx_room(p, take)) {
		c->ready &= ~IXEV_OUT;
		p->out_wanted = 1;
		return take ? -ENOMEM : -EAGAIN;
	}
	memcpy(p->tx + p->tx_start + p->tx_len, buf, take);
	if (p->corked && !p->cork_ms)
		p->cork_ms = ixev_now_ms();
	if (!p->tx_len)
		c->loop->sending++;
	p->tx_len += take;
	c->tx_len = p->tx_len;
	if (take < len) {
		c->ready &= ~IXEV_OUT;
		p->out_wanted = 1;
	}
	ixev_mark_dirty(c->loop, (uint32_t)i);
	return (ssize_t)take;
}

/**
 * ixev_shutdown - send FIN once the queued bytes are sent; receiving goes on.
 * @c: the connection
 *
 * Return: 0, -EPIPE (already shut down, closing or dead).
 */
IX_API int ixev_shutdown(struct ixev_conn *c)
{
	struct ixev_priv *p;
	int i = ixev_slot_of(c);

	if (i < 0 || c->dead_err)
		return -EPIPE;
	p = c->tx_priv;
	if (p->shut)
		return -EPIPE;
	p->shut = 1;
	ixev_mark_dirty(c->loop, (uint32_t)i);
	return 0;
}

/**
 * ixev_cork - hold @c's queued bytes back while @on (include/ix/ixev.h).
 * @c:  the connection
 * @on: non-zero to cork, 0 to let what waits go at the next ixev_run()
 *
 * Return: 0, -EINVAL.
 */
IX_API int ixev_cork(struct ixev_conn *c, int on)
{
	struct ixev_priv *p;
	int i = ixev_slot_of(c);

	if (i < 0)
		return -EINVAL;
	p = c->tx_priv;
	if (on && !p->corked && p->tx_len > p->inflight)
		p->cork_ms = ixev_now_ms();	/* what is queued waits from now */
	p->corked = !!on;
	if (!on) {
		p->cork_ms = 0;
		ixev_mark_dirty(c->loop, (uint32_t)i);
	}
	return 0;
}

/* --- events ------------------------------------------------------------------------------ */

/* The connection of live slot @i died (or a command on it failed): IXEV_HUP. */
static void ixev_kill(struct ixev_loop *l, uint32_t i, int err)
{
	struct ixev_slot *s = &l->slots[i];
	struct ixev_conn *c = s->conn;

	if (s->state == IXEV_ORPHAN) {
		/* a CLOSE sent already is carried out, or refused and reset then (ixev_on_result) */
		if (!s->priv->close_sent)
			ix_close(l->ix, s->handle, 1);	/* frees a dead handle; -EBADF if gone */
		ixev_slot_free(l, i);
		return;
	}
	if (!c->dead_err)
		c->dead_err = err ? err : -ECONNRESET;
	if (s->priv->tx_len)
		l->sending--;
	s->priv->tx_len = 0;
	s->priv->tx_start = 0;
	s->priv->inflight = 0;
	s->priv->nflight = 0;	/* RESULTs still due find no flight: ignored */
	s->priv->is_short = 0;
	c->tx_len = 0;
	c->ready = (c->ready & ~IXEV_OUT) | IXEV_HUP;
	ixev_touch(l, i);
}

/* Make @c the connection of knock @h and accept it.  Return: 0, -ENOMEM, ix_accept()'s error. */
static int ixev_take(struct ixev_loop *l, ix_handle_t h, struct ixev_conn *c, uint16_t lport)
{
	uint32_t i;
	long seq;

	if (ixev_register(l, c, h, &i)) {
		ix_logf(IX_LOG_ERR, "ixev: no memory for a new connection: reset");
		ix_reject(l->ix, h);
		return -ENOMEM;
	}
	c->ready = IXEV_OUT;
	l->slots[i].priv->lport = lport;
	seq = ix_accept(l->ix, h, ixev_cookie(l, i));
	if (seq < 0)
		ixev_kill(l, i, (int)seq);
	ixev_touch(l, i);
	return 0;
}

static void ixev_on_knock(struct ixev_loop *l, const struct ix_event *ev)
{
	struct ixev_conn *c = NULL;
	int how;

	if (l->ops->knock) {
		how = l->ops->knock(l, ev->handle, &ev->remote, &ev->local);
		if (how)
			ixev_refuse(l, ev->handle, how);
		return;
	}
	if (l->ops->accept)
		c = l->ops->accept(l, &ev->remote, ev->lport);
	if (!c) {
		ix_reject(l->ix, ev->handle);
		return;
	}
	if (ixev_take(l, ev->handle, c, ev->lport) && l->ops->release)
		l->ops->release(c);
}

/**
 * ixev_accept - take knock @h, which ops->knock() kept, as connection @c.
 * @l:     the loop whose knock it was
 * @h:     its handle
 * @c:     the connection (ixev_conn_init() done)
 * @lport: the port it came to
 *
 * Return: 0 (a knock whose peer went away meanwhile too: @c gets IXEV_HUP), -ENOMEM (reset),
 * -EINVAL.
 */
IX_API int ixev_accept(struct ixev_loop *l, ix_handle_t h, struct ixev_conn *c, uint16_t lport)
{
	if (!l || !c)
		return -EINVAL;
	return ixev_take(l, h, c, lport);
}

/**
 * ixev_refuse - answer knock @h, which ops->knock() kept, without taking it.
 * @l:   the loop whose knock it was
 * @h:   its handle
 * @how: IXEV_REJECT (reset) or IXEV_PASS (to another process on the listen; reset if none)
 */
IX_API void ixev_refuse(struct ixev_loop *l, ix_handle_t h, int how)
{
	if (!l)
		return;
	if (how == IXEV_PASS)
		ix_pass(l->ix, h);
	else
		ix_reject(l->ix, h);
}

static void ixev_on_connected(struct ixev_loop *l, const struct ix_event *ev)
{
	int i = ixev_by_cookie(l, ev->cookie), err = ev->err;
	const struct ixev_conn_ops *ops = l->ops;
	struct ixev_conn *c;

	if (i < 0 || l->slots[i].state != IXEV_LIVE || l->slots[i].handle) {
		/* closed while dialing */
		if (ev->handle)
			ix_close(l->ix, ev->handle, 1);
		return;
	}
	c = l->slots[i].conn;
	if (!err && !ev->handle)
		err = -ECONNREFUSED;
	if (!err && ix_hmap_add(&l->hash, ev->handle, (uint32_t)i))
		err = -ENOMEM;
	if (err) {
		if (ev->handle)
			ix_close(l->ix, ev->handle, 1);
		ixev_slot_free(l, (uint32_t)i);
		c->closing = 1;
		if (ops->dialed)
			ops->dialed(c, err);
		if (ops->release)
			ops->release(c);
		return;
	}
	l->slots[i].handle = ev->handle;
	l->slots[i].priv->lport = ev->lport;
	c->handle = ev->handle;
	c->ready |= IXEV_OUT;
	ixev_touch(l, (uint32_t)i);
	ixev_mark_dirty(l, (uint32_t)i);
	if (ops->dialed)
		ops->dialed(c, 0);
}

/* The slot an event of a connection is for: by cookie if that slot has its handle, else by
 * handle (a conn that moved here carries a cookie of the loop it came from). */
static int ixev_of_event(const struct ixev_loop *l, const struct ix_event *ev)
{
	int i = ixev_by_cookie(l, ev->cookie);

	if (i >= 0 && l->slots[i].handle == ev->handle)
		return i;
	return ixev_hash_find(l, ev->handle);
}

static void ixev_on_recv(struct ixev_loop *l, const struct ix_event *ev)
{
	int i = ixev_of_event(l, ev);
	struct ixev_slot *s;
	struct ixev_conn *c;

	if (i < 0)
		return;
	s = &l->slots[i];
	if (s->state == IXEV_MOVING)
		return;		/* libix holds these back; one it could not is stale */
	if (s->state == IXEV_ORPHAN) {
		if (ev->len)
			ix_recv_done(l->ix, s->handle, ev->len);
		return;
	}
	c = s->conn;
	if (ev->len) {
		if (ixev_rx_push(s->priv, ev->data, ev->len)) {
			ix_logf(IX_LOG_ERR, "ixev: no memory to queue received bytes: reset");
			ix_recv_done(l->ix, s->handle, ev->len);
			ixev_kill(l, (uint32_t)i, -ENOMEM);
			return;
		}
		c->rx_len += ev->len;
	} else {
		c->rx_eof = 1;
	}
	c->ready |= IXEV_IN;
	ixev_touch(l, (uint32_t)i);
}

static void ixev_on_sent(struct ixev_loop *l, const struct ix_event *ev)
{
	int i = ixev_of_event(l, ev);

	if (i < 0 || l->slots[i].state == IXEV_MOVING)
		return;
	l->slots[i].priv->blocked = 0;
	ixev_mark_dirty(l, (uint32_t)i);
}

static void ixev_on_dead(struct ixev_loop *l, const struct ix_event *ev)
{
	int i = ixev_of_event(l, ev);

	if (i >= 0 && l->slots[i].state != IXEV_MOVING)
		ixev_kill(l, (uint32_t)i, ev->err);
}

/* A conn another loop of the process handed us (ixev_move()): the cookie is its address. */
static void ixev_on_moved(struct ixev_loop *l, const struct ix_event *ev)
{
	struct ixev_conn *c = (struct ixev_conn *)(uintptr_t)ev->cookie;
	uint32_t i;

	if (!c) {
		ix_close(l->ix, ev->handle, 1);
		return;
	}
	if (ixev_register(l, c, ev->handle, &i)) {
		ix_logf(IX_LOG_ERR, "ixev: no memory for a moved connection: reset");
		ix_close(l->ix, ev->handle, 1);
		c->closing = 1;
		if (l->ops->release)
			l->ops->release(c);
		return;
	}
	c->ready = IXEV_OUT;
	l->slots[i].priv->lport = ev->lport;
	ixev_touch(l, i);
}

/* The RESULT of ixev_move() on slot @i: the conn is gone from here, or ours again. */
static void ixev_move_result(struct ixev_loop *l, uint32_t i, int err)
{
	struct ixev_slot *s = &l->slots[i];

	if (s->state != IXEV_MOVING)
		return;
	if (!err) {
		ixev_slot_free(l, i);	/* the conn itself is the target loop's now */
		return;
	}
	ix_logf(IX_LOG_INFO, "ixev: moving connection %#llx refused (%s): it stays",
		(unsigned long long)s->handle, strerror(-err));
	s->state = IXEV_LIVE;
	ixev_touch(l, i);
}

/* A SHUTDOWN or CLOSE behind a short SEND was refused: it goes again after the rest. */
static void ixev_refused(struct ixev_loop *l, uint32_t i, const struct ix_event *ev)
{
	struct ixev_priv *p = l->slots[i].priv;

	if (ev->op == IX_OP_CLOSE)
		p->close_sent = 0;
	else
		p->shut_sent = 0;
	ixev_mark_dirty(l, i);
}

static void ixev_on_result(struct ixev_loop *l, const struct ix_event *ev)
{
	int i = ixev_hash_find(l, ev->handle);
	int refused = ev->err == -EAGAIN && (ev->op == IX_OP_CLOSE || ev->op == IX_OP_SHUTDOWN);
	struct ixev_slot *s;
	struct ixev_priv *p;
	size_t acc, sent;
	int k;

	if (i < 0) {
		/* a connection closed since; one whose CLOSE was refused is reset now */
		if (refused && ev->op == IX_OP_CLOSE)
			ix_close(l->ix, ev->handle, 1);
		return;
	}
	s = &l->slots[i];
	p = s->priv;
	if (ev->op == IX_OP_MOVE) {
		ixev_move_result(l, (uint32_t)i, ev->err);
		return;
	}
	if (s->state == IXEV_MOVING)
		return;		/* nothing refused before the MOVE can reach the conn now */
	if (refused) {
		ixev_refused(l, (uint32_t)i, ev);
		return;
	}
	if (ev->op != IX_OP_SEND) {
		if (ev->err) {
			ix_logf(IX_LOG_WARN, "ixev: command %d on connection %#llx failed: %s",
				ev->op, (unsigned long long)ev->handle, strerror(-ev->err));
			ixev_kill(l, (uint32_t)i, ev->err);
		}
		return;
	}
	k = p->flight_head;
	if (!p->nflight || ev->seq != p->flight[k].seq)
		return;		/* not ours to count (the conn died meanwhile) */
	sent = p->flight[k].len;
	p->flight_head = (uint8_t)((k + 1) % IXEV_FLIGHTS);
	p->nflight--;
	p->inflight -= sent;
	if (ev->err) {
		ixev_kill(l, (uint32_t)i, ev->err);
		return;
	}
	/* behind a short SEND, the daemon takes nothing: the bytes stay first in line */
	acc = p->is_short ? 0 : ev->len < sent ? ev->len : sent;
	p->tx_start += acc;
	p->tx_len -= acc;
	if (!p->tx_len) {
		p->tx_start = 0;
		l->sending--;
		if (l->slots[i].state == IXEV_ORPHAN)
			l->orphans++;
	}
	if (acc < sent && !p->is_short) {
		p->is_short = 1;
		p->blocked = 1;
	}
	if (s->state == IXEV_LIVE) {
		struct ixev_conn *c = s->conn;

		c->tx_len = p->tx_len;
		if (p->out_wanted && p->tx_len < IXEV_SEND_MAX) {
			p->out_wanted = 0;
			c->ready |= IXEV_OUT;
			ixev_touch(l, (uint32_t)i);
		}
	}
	ixev_mark_dirty(l, (uint32_t)i);
}

static void ixev_on_event(struct ixev_loop *l, const struct ix_event *ev)
{
	switch (ev->type) {
	case IX_EV_KNOCK:
		ixev_on_knock(l, ev);
		break;
	case IX_EV_CONNECTED:
		ixev_on_connected(l, ev);
		break;
	case IX_EV_RECV:
		ixev_on_recv(l, ev);
		break;
	case IX_EV_SENT:
		ixev_on_sent(l, ev);
		break;
	case IX_EV_DEAD:
		ixev_on_dead(l, ev);
		break;
	case IX_EV_RESULT:
		ixev_on_result(l, ev);
		break;
	case IX_EV_MOVED:
		ixev_on_moved(l, ev);
		break;
	}
}

/* Run the handlers of the connections touched so far (not those touched by the handlers). */
static int ixev_dispatch(struct ixev_loop *l)
{
	uint32_t n = l->touched.len, k;
	int calls = 0;

	for (k = 0; k < n; k++) {
		struct ixev_ref r = l->touched.v[k];
		struct ixev_slot *s = &l->slots[r.slot];
		struct ixev_conn *c;
		unsigned int ev;

		if (s->gen != r.gen)
			continue;
		s->touched = 0;
		if (s->state != IXEV_LIVE)
			continue;
		c = s->conn;
		ev = c->ready & (c->mask | IXEV_HUP);
		if (!ev || !c->handler)
			continue;
		c->handler(c, ev);	/* may close c, or open others: s is stale from here */
		calls++;
	}
	if (l->touched.len > n)
		memmove(l->touched.v, l->touched.v + n,
			(l->touched.len - n) * sizeof(*l->touched.v));
	l->touched.len -= n;
	return calls;
}

/* --- the loop ---------------------------------------------------------------------------- */

static const struct ixev_conn_ops ixev_no_ops;

/**
 * ixev_loop_create - attach a context and make a loop over it.
 * @control: control socket path, as for ix_attach()
 * @ops:     the app's callbacks (NULL: none; every connection is rejected)
 * @arg:     returned by ixev_loop_arg()
 * @lp:      receives the loop
 *
 * Return: 0, ix_attach()'s errors, -ENOMEM, -EINVAL.
 */
IX_API int ixev_loop_create(const char *control, const struct ixev_conn_ops *ops, void *arg,
			    struct ixev_loop **lp)
{
	struct ixev_loop *l;
	int ret;

	if (!lp)
		return -EINVAL;
	*lp = NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	ret = ix_attach(control, &l->ix);
	if (ret) {
		free(l);
		return ret;
	}
	l->ops = ops ? ops : &ixev_no_ops;
	l->arg = arg;
	l->hash.min = IXEV_HASH_MIN;
	l->hash.max = IXEV_HASH_MAX;
	l->free_head = IXEV_NONE;
	*lp = l;
	return 0;
}

/* CLOCK_MONOTONIC in milliseconds. */
static uint64_t ixev_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/**
 * ixev_loop_destroy - release every conn and detach (the daemon resets what was open).
 * @l: the loop (NULL: nothing)
 *
 * The context is ended first (ix_end()) and its rings read until the daemon's EOF: then every
 * conn another loop moved here has been announced (IX_EV_MOVED makes it ours, to release), and
 * a MOVING conn whose RESULT did not come was never moved (ours too).  Without that answer
 * (the daemon has gone, or IX_END_TIMEOUT_MS passed) a MOVING conn is left alone: it may be
 * the target's by now.
 */
IX_API void ixev_loop_destroy(struct ixev_loop *l)
{
	uint64_t deadline;
	int n, k, ended;
	uint32_t i;

	if (!l)
		return;
	ended = !ix_end(l->ix);
	deadline = ixev_now_ms() + IX_END_TIMEOUT_MS;
	while (ended) {
		uint64_t now = ixev_now_ms();

		n = now < deadline ? ix_poll(l->ix, l->evs, IXEV_BATCH, (int)(deadline - now)) : 0;
		if (n == -ECONNRESET)
			break; /* the daemon's EOF, every event before it taken */
		if (n <= 0) {
			ix_logf(IX_LOG_WARN, "libix: ixev loop: no end from ixdpd in %d ms: conns "
				"being moved away are not released", IX_END_TIMEOUT_MS);
			ended = 0;
			break;
		}
		for (k = 0; k < n; k++)
			if (l->evs[k].type == IX_EV_MOVED ||
			    (l->evs[k].type == IX_EV_RESULT && l->evs[k].op == IX_OP_MOVE))
				ixev_on_event(l, &l->evs[k]);
	}
	for (i = 0; i < l->nr_slots; i++) {
		struct ixev_conn *c = l->slots[i].conn;
		int ours = l->slots[i].state == IXEV_LIVE ||
			   (ended && l->slots[i].state == IXEV_MOVING);

		if (l->slots[i].state == IXEV_FREE)
			continue;
		ixev_slot_free(l, i);
		if (ours) {
			c->closing = 1;
			if (l->ops->release)
				l->ops->release(c);
		}
	}
	ix_detach(l->ix);
	free(l->slots);
	ix_hmap_free(&l->hash);
	free(l->touched.v);
	free(l->dirty.v);
	free(l);
}

/**
 * ixev_loop_arg - the @arg given to ixev_loop_create().
 * @l: the loop
 *
 * Return: the argument.
 */
IX_API void *ixev_loop_arg(const struct ixev_loop *l)
{
	return l ? l->arg : NULL;
}

/**
 * ixev_loop_ix - the loop's ix context.
 * @l: the loop
 *
 * Return: the context.
 */
IX_API struct ix_ctx *ixev_loop_ix(struct ixev_loop *l)
{
	return l ? l->ix : NULL;
}

/**
 * ixev_listen - accept connections to @port through ops->accept().
 * @l:    the loop
 * @addr: as for ix_listen()
 * @port: host order
 *
 * Return: 0 or ix_listen()'s errors.
 */
IX_API int ixev_listen(struct ixev_loop *l, const struct ix_addr *addr, uint16_t port)
{
	if (!l)
		return -EINVAL;
	return ix_listen(l->ix, addr, port, IXEV_LISTEN_COOKIE);
}

/**
 * ixev_listen_fd - ixev_listen() as ix_listen_fd(): shared through kernel socket @fd, maybe idle.
 * @l:     the loop
 * @addr:  as for ix_listen()
 * @port:  host order
 * @fd:    as for ix_listen_fd()
 * @flags: as for ix_listen_fd()
 *
 * Return: 0 or ix_listen_fd()'s errors.
 */
IX_API int ixev_listen_fd(struct ixev_loop *l, const struct ix_addr *addr, uint16_t port, int fd,
			  unsigned int flags)
{
	if (!l)
		return -EINVAL;
	return ix_listen_fd(l->ix, addr, port, IXEV_LISTEN_COOKIE, fd, flags);
}

/**
 * ixev_run - wait for events (at most @timeout_ms, -1: no limit) and run the handlers.
 * @l:          the loop
 * @timeout_ms: as for ix_poll() (0 when handlers are due already)
 *
 * Return: ix events taken or, if none, handler calls made (0 on timeout); -ECONNRESET,
 * -EINVAL.
 */
IX_API int ixev_run(struct ixev_loop *l, int timeout_ms)
{
	int n, k, calls, ret;

	if (!l)
		return -EINVAL;
	ixev_push_all(l);	/* what ixev_send() queued outside a handler */
	if (l->touched.len)
		timeout_ms = 0;
	n = ix_poll(l->ix, l->evs, IXEV_BATCH, timeout_ms);
	if (n < 0)
		return n;
	for (k = 0; k < n; k++)
		ixev_on_event(l, &l->evs[k]);
	calls = ixev_dispatch(l);
	ixev_push_all(l);
	ret = ix_flush(l->ix);
	if (ret)
		return ret;
	return n ? n : calls;
}

/**
 * ixev_conn_init - set @c up before ixev_dial() or returning it from ops->accept().
 * @c: the conn (its user field is kept)
 */
IX_API void ixev_conn_init(struct ixev_conn *c)
{
	void *user;

	if (!c)
		return;
	user = c->user;
	memset(c, 0, sizeof(*c));
	c->user = user;
}

/**
 * ixev_set_handler - call @h for the events in @mask (IXEV_*) that are or become ready.
 * @c:    the connection
 * @mask: IXEV_IN, IXEV_OUT (IXEV_HUP is always delivered)
 * @h:    the handler
 */
IX_API void ixev_set_handler(struct ixev_conn *c, unsigned int mask, ixev_handler_t h)
{
	int i;

	if (!c)
		return;
	c->mask = mask;
	c->handler = h;
	i = ixev_slot_of(c);
	if (i >= 0 && (c->ready & (mask | IXEV_HUP)))
		ixev_touch(c->loop, (uint32_t)i);
}

/**
 * ixev_close - close @c: FIN after its queued bytes (sent by the loop after this returns);
 * a dead connection is just freed.  No handler runs for @c again; ops->release(@c) is
 * called before this returns.
 * @c: the connection
 */
IX_API void ixev_close(struct ixev_conn *c)
{
	struct ixev_loop *l;
	struct ixev_slot *s;
	struct ixev_priv *p;
	int i = ixev_slot_of(c);

	if (i < 0)
		return;
	l = c->loop;
	s = &l->slots[i];
	p = s->priv;
	c->closing = 1;
	if (!s->handle) {
		/* dialing: the CONNECTED that comes finds no conn and resets the connection */
		ixev_slot_free(l, (uint32_t)i);
	} else if (c->dead_err || (!p->inflight && !p->tx_len)) {
		ix_close(l->ix, s->handle, 0);
		ixev_slot_free(l, (uint32_t)i);
	} else {
		/* the loop sends what is buffered, then CLOSE (ixev_push()) */
		if (c->rx_len)
			ixev_rx_done(l, s->handle, p, c->rx_len);
		s->conn = NULL;
		s->state = IXEV_ORPHAN;
		if (!p->tx_len)
			l->orphans++;	/* its SENDs' RESULTs still to come */
		ixev_mark_dirty(l, (uint32_t)i);
	}
	if (l->ops->release)
		l->ops->release(c);
}

/**
 * ixev_loop_sending - how many of @l's conns hold bytes the daemon has not taken yet (live, or
 * closed and still sending their last bytes) or were closed and wait for their SENDs' RESULTs
 * before the CLOSE goes: while not 0, the loop must be run (its RESULTs and SENTs move them
 * on) even when no handler waits for anything.
 */
IX_API unsigned int ixev_loop_sending(const struct ixev_loop *l)
{
	return l->sending + l->orphans;
}

/**
 * ixev_moving - is the ixev_move() of @c still under way?  From the call until the target
 * loop took it (IX_EV_MOVED: @c->loop is the target's) or the daemon refused it (@c is the
 * sender's again), @c is neither loop's to touch.
 * @c: a conn handed to ixev_move(), not closed since
 *
 * Return: 1 (under way: run both loops), 0 (settled: @c->loop says whose it is).
 */
IX_API int ixev_moving(const struct ixev_conn *c)
{
	int i = ixev_slot_of(c);

	if (i >= 0)
		return c->loop->slots[i].state == IXEV_MOVING;
	/* the sender freed its slot on the RESULT before the target read the MOVED */
	return c && c->loop && !c->closing;
}

/**
 * ixev_local_port - @c's local port: the listener's for an accepted connection, the one the
 * daemon chose for a dialed one.
 * @c: the connection
 *
 * Return: the port, or 0 (not a live connection, or still dialing).
 */
IX_API uint16_t ixev_local_port(const struct ixev_conn *c)
{
	int i = ixev_slot_of((struct ixev_conn *)c);

	return i < 0 ? 0 : c->loop->slots[i].priv->lport;
}

/**
 * ixev_dial - connect @c to @remote; ops->dialed() reports.
 * @l:      the loop
 * @c:      the conn, set up by ixev_conn_init()
 * @remote: where to
 *
 * Return: 0, ix_connect()'s errors, -ENOMEM, -EINVAL.
 */
IX_API int ixev_dial(struct ixev_loop *l, struct ixev_conn *c, const struct ix_addr *remote)
{
	uint32_t i;
	long seq;
	int ret;

	if (!l || !c || !remote)
		return -EINVAL;
	ret = ixev_register(l, c, 0, &i);
	if (ret)
		return ret;
	seq = ix_connect(l->ix, remote, ixev_cookie(l, i));
	if (seq < 0) {
		ixev_slot_free(l, i);
		c->loop = NULL;
		return (int)seq;
	}
	return 0;
}

/**
 * ixev_move - hand @c to loop @to (another context of this process): its handler, mask and
 * user field go with it and run on @to's thread from its next ixev_run().
 * @c:  the connection, established (not dialing), nothing buffered to send, not shut down
 * @to: the target loop
 *
 * Bytes received and not consumed travel (the daemon gives them to @to again); bytes consumed
 * were given back already.  After a 0 return the caller must not touch @c: it is @to's, or,
 * if the daemon refuses the move (@to gone, full), it stays this loop's and its handler runs
 * here again.
 *
 * Return: 0, -EINVAL (not a conn of a loop, @to NULL or its own loop), -ENOTCONN (dialing),
 * -EPIPE (closing), -EBUSY (bytes buffered or in flight, or shut down: move before sending),
 * or ix_move()'s errors.
 */
IX_API int ixev_move(struct ixev_conn *c, struct ixev_loop *to)
{
	struct ixev_loop *l;
	struct ixev_slot *s;
	struct ixev_priv *p;
	int i = ixev_slot_of(c);
	long seq;

	if (i < 0)
		return c && c->closing ? -EPIPE : -EINVAL;
	l = c->loop;
	if (!to || to == l)
		return -EINVAL;
	s = &l->slots[i];
	p = s->priv;
	if (!s->handle)
		return -ENOTCONN;
	if (p->inflight || p->tx_len || p->shut)
		return -EBUSY;
	seq = ix_move(l->ix, s->handle, to->ix, (uint64_t)(uintptr_t)c);
	if (seq < 0)
		return (int)seq;
	s->state = IXEV_MOVING;
	return 0;
}
