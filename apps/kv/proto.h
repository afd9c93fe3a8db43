/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proto.h - ix-kv's memcached text protocol engine, free of any I/O.
 *
 * The caller owns one struct kv_conn per connection and feeds it the bytes it receives, in
 * whatever pieces they come (a command may be split anywhere, many may share one piece):
 *
 *	used = kv_conn_input(c, buf, len);	(bytes taken; give the rest again later)
 *	kv_conn_out(c, &len) / kv_conn_out_done(c, n)	(responses to send, in order)
 *	kv_conn_closing(c)			(send what is pending, then close)
 *
 * The engine keeps what it needs of a partial command line (up to KV_LINE_MAX bytes, or
 * KV_GET_LINE_MAX for get/gets) and streams data blocks straight into the new item, so the
 * caller never has to hold input back for it.  It takes fewer bytes than offered only when the
 * output backlog reached KV_OUT_HIGH (send it, then call again: a multi-get that was cut short
 * goes on even with no new input) or the connection must close (quit, a line too long,
 * no memory).
 *
 * Responses are memcached 1.6's, byte for byte, for every command implemented here (see
 * kv_conn_input() for the differences).
 */
#ifndef IX_KV_PROTO_H
#define IX_KV_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kv/store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KV_VERSION "1.6.0-ix-kv" /* what "version" answers (memcached-compatible form) */
#define KV_LINE_MAX 2048 /* bytes of a line without '\n' before the close */
#define KV_GET_LINE_MAX (64 * 1024) /* the same for get/gets, and any line at all */
#define KV_OUT_HIGH (256 * 1024) /* output backlog at which input stops being taken */
#define KV_MAX_TOKENS 24 /* memcached's MAX_TOKENS: 23 words and the rest */

/* Why a connection is closing. */
enum kv_close {
	KV_OPEN = 0,
	KV_CLOSE_QUIT, /* "quit" */
	KV_CLOSE_LINE, /* a line longer than KV_LINE_MAX without '\n' (memcached: silent) */
	KV_CLOSE_NOMEM, /* no memory for the output or the line */
};

/* Responses waiting to be sent: bytes [head, len) of buf. */
struct kv_out {
	char *buf;
	size_t head;
	size_t len;
	size_t cap;
};

enum kv_state {
	KV_ST_LINE, /* reading a command line */
	KV_ST_DATA, /* reading a data block into item */
	KV_ST_SWALLOW, /* discarding the data block of a refused store */
	KV_ST_GET, /* a multi-get stopped by the output backlog */
};

struct kv_conn {
	struct kv_store *store;
	struct kv_stats *stats;
	struct kv_out out;
	enum kv_state state;
	enum kv_close closing;
	bool noreply; /* the current command's */
	/* the command line: a partial one, or the multi-get being answered */
	char *line;
	size_t line_len;
	size_t line_cap;
	/* KV_ST_GET: keys left in line[get_pos, get_end) */
	size_t get_pos;
	size_t get_end;
	bool get_cas;
	bool get_touch;
	int64_t get_exptime;
	/* KV_ST_DATA: the store command waiting for its data block */
	struct kv_item *item;
	enum kv_store_mode mode;
	uint64_t cas;
	size_t data_got; /* value bytes received */
	char tail[2]; /* and the two that must be "\r\n" */
	size_t tail_got;
	/* KV_ST_SWALLOW */
	uint64_t swallow;
};

void kv_conn_init(struct kv_conn *c, struct kv_store *store, struct kv_stats *stats);
void kv_conn_fini(struct kv_conn *c);
size_t kv_conn_input(struct kv_conn *c, const void *buf, size_t len);

/* kv_conn_out - the responses not yet sent (*@len bytes; NULL and 0 when none). */
static inline const void *kv_conn_out(const struct kv_conn *c, size_t *len)
{
	*len = c->out.len - c->out.head;
	return *len ? c->out.buf + c->out.head : NULL;
}

void kv_conn_out_done(struct kv_conn *c, size_t n);

/* kv_conn_closing - why the connection must close once its output is sent, or KV_OPEN. */
static inline enum kv_close kv_conn_closing(const struct kv_conn *c)
{
	return c->closing;
}

/* kv_conn_busy - a multi-get waits to go on: call kv_conn_input() once the output drained. */
static inline bool kv_conn_busy(const struct kv_conn *c)
{
	return c->state == KV_ST_GET;
}

#ifdef __cplusplus
}
#endif

#endif /* IX_KV_PROTO_H */
