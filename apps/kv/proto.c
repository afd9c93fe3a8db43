// SPDX-License-Identifier: BSD-2-Clause
/*
 * proto.c - the memcached text protocol (memcached's doc/protocol.txt), as memcached 1.6
 * answers it: the same tokenizer (words split on ' ' only, at most 23 and the rest), the same
 * word-count checks, the same number parsing (strtoul/strtol/strtoull, then truncation to the
 * field's width), the same response for every error, noreply silencing errors too.
 *
 * Commands: get gets gat gats bget, set add replace append prepend cas, delete, incr decr, touch,
 * flush_all, version, verbosity, stats (general, reset, settings), quit; shutdown answers as
 * memcached does when it is not enabled.  Meta commands (mg, ms, ...) and the slab/LRU/watch
 * administration commands answer ERROR, as an unknown command.
 *
 * Deliberate differences from memcached 1.6.18:
 *  - the value limit is exactly KV_VALUE_MAX bytes (memcached's 1 MiB item limit includes its
 *    item header, so it refuses values a little shorter than 1 MiB);
 *  - a multi-get with a key too long answers only the CLIENT_ERROR, as memcached, but the keys
 *    are checked before any is looked up (gat touches none of them), and the answers of the
 *    commands before it stay (memcached also drops those it has not written yet);
 *  - a complete line longer than KV_GET_LINE_MAX closes the connection.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "kv/proto.h"

#define KV_OUT_KEEP (2u << 20) /* an idle output buffer larger than this is freed */
#define KV_LINE_KEEP 4096 /* the same for the line buffer */
#define KV_LEAD_SPACES 100 /* leading spaces memcached allows before a long get line */

struct token {
	char *value;
	size_t length;
};

/* --- output ------------------------------------------------------------------------------ */

static bool out_full(const struct kv_conn *c)
{
	return c->out.len - c->out.head >= KV_OUT_HIGH;
}

static char *out_reserve(struct kv_conn *c, size_t n)
{
	struct kv_out *o = &c->out;
	size_t cap;
	char *p;

	if (o->len + n > o->cap && o->head) {
		memmove(o->buf, o->buf + o->head, o->len - o->head);
		o->len -= o->head;
		o->head = 0;
	}
	if (o->len + n > o->cap) {
		for (cap = o->cap ? o->cap : 1024; cap < o->len + n; cap *= 2)
			;
		p = realloc(o->buf, cap);
		if (!p) {
			c->closing = KV_CLOSE_NOMEM;
			return NULL;
		}
		o->buf = p;
		o->cap = cap;
	}
	return o->buf + o->len;
}

static void out_add(struct kv_conn *c, const void *p, size_t n)
{
	char *d = out_reserve(c, n);

	if (d) {
		memcpy(d, p, n);
		c->out.len += n;
	}
}

static void __attribute__((format(printf, 2, 3)))
out_printf(struct kv_conn *c, const char *fmt, ...)
{
	size_t room = 128;
	va_list ap;
	char *d;
	int n;

	for (;;) {
		d = out_reserve(c, room);
		if (!d)
			return;
		va_start(ap, fmt);
		n = vsnprintf(d, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < room)
			break;
		room = n + 1;
	}
	c->out.len += n;
}

/* memcached's out_string(): one response line, unless the command said noreply. */
static void out_str(struct kv_conn *c, const char *s)
{
	if (c->noreply)
		return;
	out_add(c, s, strlen(s));
	out_add(c, "\r\n", 2);
}

/**
 * kv_conn_out_done - @n bytes of kv_conn_out() were sent.
 * @c: the connection
 * @n: how many (at most what kv_conn_out() returned)
 */
void kv_conn_out_done(struct kv_conn *c, size_t n)
{
	struct kv_out *o = &c->out;

	if (n > o->len - o->head)
		n = o->len - o->head;
	o->head += n;
	KV_STAT_ADD(c->stats, bytes_written, n);
	if (o->head < o->len)
		return;
	o->head = o->len = 0;
	if (o->cap > KV_OUT_KEEP) {
		free(o->buf);
		o->buf = NULL;
		o->cap = 0;
	}
}

/* --- parsing, as memcached's util.c ----------------------------------------------------- */

static bool num_end_ok(const char *str, const char *end)
{
	return end != str && (*end == '\0' || isspace((unsigned char)*end));
}

static bool safe_strtoull(const char *str, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(str, &end, 10);
	if (errno == ERANGE || !num_end_ok(str, end))
		return false;
	if ((long long)v < 0 && strchr(str, '-'))
		return false;
	*out = v;
	return true;
}

/* 32-bit flags: strtoul's number, truncated (memcached stores 4294967296 as 0). */
static bool safe_strtoul(const char *str, uint32_t *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(str, &end, 10);
	if (errno == ERANGE || !num_end_ok(str, end))
		return false;
	if ((long)v < 0 && strchr(str, '-'))
		return false;
	*out = (uint32_t)v;
	return true;
}

/* exptime and lengths: strtol's number, truncated to 32 bits as memcached does. */
static bool safe_strtol(const char *str, int32_t *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(str, &end, 10);
	if (errno == ERANGE || !num_end_ok(str, end))
		return false;
	*out = (int32_t)(uint32_t)(unsigned long)v;
	return true;
}

/*
 * memcached's tokenize_command(): split @command on ' ' in place into at most max - 1 words;
 * the last token has length 0 and points at what is left unsplit (NULL when nothing is).
 * Return: the number of tokens, that last one included.
 */
static size_t tokenize(char *command, struct token *tokens, size_t max)
{
	size_t len = strlen(command), ntokens = 0, i;
	char *s = command, *e = command;

	for (i = 0; i < len; i++, e++) {
		if (*e != ' ')
			continue;
		if (s != e) {
			tokens[ntokens].value = s;
			tokens[ntokens].length = e - s;
			ntokens++;
			*e = '\0';
			if (ntokens == max - 1) {
				e++;
				s = e;
				break;
			}
		}
		s = e + 1;
	}
	if (s != e) {
		tokens[ntokens].value = s;
		tokens[ntokens].length = e - s;
		ntokens++;
	}
	tokens[ntokens].value = *e == '\0' ? NULL : e;
	tokens[ntokens].length = 0;
	return ntokens + 1;
}

/*
 * Only the length is checked, as memcached does: protocol.txt says keys hold no control
 * characters, but memcached takes them and clients rely on it (Debian's memaslap prefixes every
 * key with eight 0x10 bytes).  Space, '\n' and NUL cannot be in a key by construction.
 */
static bool key_ok(const char *key, size_t nkey)
{
	return nkey <= KV_KEY_MAX;
}

/* memcached's set_noreply_maybe(): the last word decides. */
static void set_noreply_maybe(struct kv_conn *c, const struct token *tokens, size_t ntokens)
{
	const struct token *t = &tokens[ntokens - 2];

	if (t->value && !strcmp(t->value, "noreply"))
		c->noreply = true;
}

/* --- retrieval ----------------------------------------------------------------------------- */

static void emit_value(struct kv_conn *c, const char *key, size_t nkey)
{
	struct kv_item *it;
	char hdr[64];
	int n;

	it = kv_store_get(c->store, key, nkey, c->get_touch, c->get_exptime);
	if (c->get_touch) {
		KV_STAT_INC(c->stats, cmd_touch);
		if (it)
			KV_STAT_INC(c->stats, touch_hits);
		else
			KV_STAT_INC(c->stats, touch_misses);
	} else {
		KV_STAT_INC(c->stats, cmd_get);
		if (it)
			KV_STAT_INC(c->stats, get_hits);
		else
			KV_STAT_INC(c->stats, get_misses);
	}
	if (!it)
		return;
	if (c->get_cas)
		n = snprintf(hdr, sizeof(hdr), " %" PRIu32 " %" PRIu32 " %" PRIu64 "\r\n",
			     it->flags, it->nbytes, it->cas);
	else
		n = snprintf(hdr, sizeof(hdr), " %" PRIu32 " %" PRIu32 "\r\n", it->flags,
			     it->nbytes);
	if (out_reserve(c, 6 + nkey + n + it->nbytes + 2)) {
		out_add(c, "VALUE ", 6);
		out_add(c, key, nkey);
		out_add(c, hdr, n);
		out_add(c, kv_item_value(it), it->nbytes);
		out_add(c, "\r\n", 2);
	}
	kv_item_put(it);
}

static bool get_sep(char ch)
{
	return ch == ' ' || ch == '\0';
}

/* Answer the keys left in line[get_pos, get_end), stopping while the output backlog is full. */
static void get_keys(struct kv_conn *c)
{
	const char *l = c->line;
	size_t s, e;

	for (;;) {
		while (c->get_pos < c->get_end && get_sep(l[c->get_pos]))
			c->get_pos++;
		if (c->get_pos == c->get_end)
			break;
		if (out_full(c) || c->closing)
			return;
		s = c->get_pos;
		for (e = s; e < c->get_end && !get_sep(l[e]); e++)
			;
		c->get_pos = e;
		emit_value(c, l + s, e - s);
	}
	out_add(c, "END\r\n", 5);
	c->state = KV_ST_LINE;
}

static void process_get(struct kv_conn *c, const struct token *tokens, size_t end, bool cas,
			bool touch)
{
	const struct token *key = &tokens[1];
	const char *l = c->line;
	int32_t exptime = 0;
	size_t pos, s;

	if (touch) {
		if (!safe_strtol(tokens[1].value, &exptime)) {
			out_str(c, "CLIENT_ERROR invalid exptime argument");
			return;
		}
		key++;
	}
	c->get_cas = cas;
	c->get_touch = touch;
	c->get_exptime = touch ? kv_store_exptime(c->store, exptime) : 0;
	c->get_end = end;
	c->get_pos = key->length ? (size_t)(key->value - l) : end;
	/* Check every key first: memcached answers a bad one with the error alone. */
	for (pos = c->get_pos; pos < end;) {
		if (get_sep(l[pos])) {
			pos++;
			continue;
		}
		for (s = pos; pos < end && !get_sep(l[pos]); pos++)
			;
		if (!key_ok(l + s, pos - s)) {
			out_str(c, "CLIENT_ERROR bad command line format");
			return;
		}
	}
	c->state = KV_ST_GET;
	get_keys(c);
}

/* --- storage ------------------------------------------------------------------------------- */

static void refuse_update(struct kv_conn *c, const char *msg, const struct token *key,
			  enum kv_store_mode mode, uint64_t swallow)
{
	out_str(c, msg);
	c->swallow = swallow;
	c->state = KV_ST_SWALLOW;
	/* memcached: a failed set must not leave the old value readable */
	if (mode == KV_SET)
		kv_store_delete(c->store, key->value, key->length);
}

static void process_update(struct kv_conn *c, const struct token *tokens, size_t ntokens,
			   enum kv_store_mode mode)
{
	const struct token *key = &tokens[1];
	int32_t exptime, vlen;
	uint64_t cas = 0;
	uint32_t flags;

	set_noreply_maybe(c, tokens, ntokens);
	if (!key_ok(key->value, key->length) || !safe_strtoul(tokens[2].value, &flags) ||
	    !safe_strtol(tokens[3].value, &exptime) || !safe_strtol(tokens[4].value, &vlen) ||
	    (mode == KV_CAS && !safe_strtoull(tokens[5].value, &cas)) || vlen < 0 ||
	    vlen > INT_MAX - 2) {
		out_str(c, "CLIENT_ERROR bad command line format");
		return;
	}
	if ((uint32_t)vlen > KV_VALUE_MAX) {
		KV_STAT_INC(c->stats, store_too_large);
		refuse_update(c, "SERVER_ERROR object too large for cache", key, mode,
			      (uint64_t)vlen + 2);
		return;
	}
	c->item = kv_item_alloc(key->value, key->length, flags, kv_store_exptime(c->store, exptime),
				vlen);
	if (!c->item) {
		KV_STAT_INC(c->stats, store_no_memory);
		refuse_update(c, "SERVER_ERROR out of memory storing object", key, mode,
			      (uint64_t)vlen + 2);
		return;
	}
	c->mode = mode;
	c->cas = cas;
	c->data_got = 0;
	c->tail_got = 0;
	c->state = KV_ST_DATA;
}

static void complete_update(struct kv_conn *c)
{
	static const char *const words[] = {
		[KV_STORED] = "STORED",
		[KV_NOT_STORED] = "NOT_STORED",
		[KV_EXISTS] = "EXISTS",
		[KV_NOT_FOUND] = "NOT_FOUND",
		[KV_NO_MEMORY] = "SERVER_ERROR out of memory storing object",
	};
	enum kv_result res;

	KV_STAT_INC(c->stats, cmd_set);
	if (memcmp(c->tail, "\r\n", 2)) {
		out_str(c, "CLIENT_ERROR bad data chunk");
	} else {
		res = kv_store_store(c->store, c->mode, c->item, c->cas);
		if (c->mode == KV_CAS) {
			if (res == KV_STORED)
				KV_STAT_INC(c->stats, cas_hits);
			else if (res == KV_EXISTS)
				KV_STAT_INC(c->stats, cas_badval);
			else if (res == KV_NOT_FOUND)
				KV_STAT_INC(c->stats, cas_misses);
		}
		if (res == KV_NO_MEMORY)
			KV_STAT_INC(c->stats, store_no_memory);
		out_str(c, words[res]);
	}
	kv_item_put(c->item);
	c->item = NULL;
	c->state = KV_ST_LINE;
}

/* KV_ST_DATA: copy the value, then the two bytes that must end it. */
static size_t take_data(struct kv_conn *c, const char *p, size_t n)
{
	size_t want = c->item->nbytes - c->data_got, take;

	if (want) {
		take = want < n ? want : n;
		memcpy(kv_item_value(c->item) + c->data_got, p, take);
		c->data_got += take;
		return take;
	}
	take = 2 - c->tail_got < n ? 2 - c->tail_got : n;
	memcpy(c->tail + c->tail_got, p, take);
	c->tail_got += take;
	if (c->tail_got == 2)
		complete_update(c);
	return take;
}

/* --- the other commands ------------------------------------------------------------------- */

static void process_delete(struct kv_conn *c, const struct token *tokens, size_t ntokens)
{
	const struct token *key = &tokens[1];
	bool hold_is_zero;

	if (ntokens > 3) {
		hold_is_zero = !strcmp(tokens[2].value, "0");
		set_noreply_maybe(c, tokens, ntokens);
		if (!((ntokens == 4 && (hold_is_zero || c->noreply)) ||
		      (ntokens == 5 && hold_is_zero && c->noreply))) {
			out_str(c, "CLIENT_ERROR bad command line format.  "
				   "Usage: delete <key> [noreply]");
			return;
		}
	}
	if (!key_ok(key->value, key->length)) {
		out_str(c, "CLIENT_ERROR bad command line format");
		return;
	}
	if (kv_store_delete(c->store, key->value, key->length) == KV_DELETED) {
		KV_STAT_INC(c->stats, delete_hits);
		out_str(c, "DELETED");
	} else {
		KV_STAT_INC(c->stats, delete_misses);
		out_str(c, "NOT_FOUND");
	}
}

static void process_arithmetic(struct kv_conn *c, const struct token *tokens, size_t ntokens,
			       bool incr)
{
	const struct token *key = &tokens[1];
	uint64_t delta, value;
	char buf[24];

	set_noreply_maybe(c, tokens, ntokens);
	if (!key_ok(key->value, key->length)) {
		out_str(c, "CLIENT_ERROR bad command line format");
		return;
	}
	if (!safe_strtoull(tokens[2].value, &delta)) {
		out_str(c, "CLIENT_ERROR invalid numeric delta argument");
		return;
	}
	switch (kv_store_delta(c->store, key->value, key->length, incr, delta, &value)) {
	case KV_DELTA_OK:
		if (incr)
			KV_STAT_INC(c->stats, incr_hits);
		else
			KV_STAT_INC(c->stats, decr_hits);
		snprintf(buf, sizeof(buf), "%" PRIu64, value);
		out_str(c, buf);
		break;
	case KV_NON_NUMERIC:
		out_str(c, "CLIENT_ERROR cannot increment or decrement non-numeric value");
		break;
	case KV_NO_MEMORY:
		out_str(c, "SERVER_ERROR out of memory");
		break;
	default:
		if (incr)
			KV_STAT_INC(c->stats, incr_misses);
		else
			KV_STAT_INC(c->stats, decr_misses);
		out_str(c, "NOT_FOUND");
		break;
	}
}

static void process_touch(struct kv_conn *c, const struct token *tokens, size_t ntokens)
{
	const struct token *key = &tokens[1];
	int32_t exptime;

	set_noreply_maybe(c, tokens, ntokens);
	if (!key_ok(key->value, key->length)) {
		out_str(c, "CLIENT_ERROR bad command line format");
		return;
	}
	if (!safe_strtol(tokens[2].value, &exptime)) {
		out_str(c, "CLIENT_ERROR invalid exptime argument");
		return;
	}
	KV_STAT_INC(c->stats, cmd_touch);
	if (kv_store_touch(c->store, key->value, key->length,
			   kv_store_exptime(c->store, exptime)) == KV_TOUCHED) {
		KV_STAT_INC(c->stats, touch_hits);
		out_str(c, "TOUCHED");
	} else {
		KV_STAT_INC(c->stats, touch_misses);
		out_str(c, "NOT_FOUND");
	}
}

static void process_flush_all(struct kv_conn *c, const struct token *tokens, size_t ntokens)
{
	int32_t delay = 0;

	set_noreply_maybe(c, tokens, ntokens);
	KV_STAT_INC(c->stats, cmd_flush);
	if (ntokens != (c->noreply ? 3u : 2u) && !safe_strtol(tokens[1].value, &delay)) {
		out_str(c, "CLIENT_ERROR invalid exptime argument");
		return;
	}
	kv_store_flush(c->store, delay);
	out_str(c, "OK");
}

static void process_verbosity(struct kv_conn *c, const struct token *tokens, size_t ntokens)
{
	uint32_t level;

	set_noreply_maybe(c, tokens, ntokens);
	/* Accepted and ignored: ix-kv has no per-command logging to turn up. */
	out_str(c, safe_strtoul(tokens[1].value, &level) ? "OK" :
							   "CLIENT_ERROR bad command line format");
}

static double tv_sec(struct timeval tv)
{
	return tv.tv_sec + tv.tv_usec / 1e6;
}

/* The per-thread counters "stats" prints, in memcached's order. */
static const struct {
	const char *name;
	size_t off;
} counters[] = {
	{ "cmd_get", offsetof(struct kv_stats, cmd_get) },
	{ "cmd_set", offsetof(struct kv_stats, cmd_set) },
	{ "cmd_flush", offsetof(struct kv_stats, cmd_flush) },
	{ "cmd_touch", offsetof(struct kv_stats, cmd_touch) },
	{ "get_hits", offsetof(struct kv_stats, get_hits) },
	{ "get_misses", offsetof(struct kv_stats, get_misses) },
	{ "delete_misses", offsetof(struct kv_stats, delete_misses) },
	{ "delete_hits", offsetof(struct kv_stats, delete_hits) },
	{ "incr_misses", offsetof(struct kv_stats, incr_misses) },
	{ "incr_hits", offsetof(struct kv_stats, incr_hits) },
	{ "decr_misses", offsetof(struct kv_stats, decr_misses) },
	{ "decr_hits", offsetof(struct kv_stats, decr_hits) },
	{ "cas_misses", offsetof(struct kv_stats, cas_misses) },
	{ "cas_hits", offsetof(struct kv_stats, cas_hits) },
	{ "cas_badval", offsetof(struct kv_stats, cas_badval) },
	{ "touch_hits", offsetof(struct kv_stats, touch_hits) },
	{ "touch_misses", offsetof(struct kv_stats, touch_misses) },
	{ "store_too_large", offsetof(struct kv_stats, store_too_large) },
	{ "store_no_memory", offsetof(struct kv_stats, store_no_memory) },
	{ "bytes_read", offsetof(struct kv_stats, bytes_read) },
	{ "bytes_written", offsetof(struct kv_stats, bytes_written) },
};

static void stats_general(struct kv_conn *c)
{
	int64_t now = kv_store_now(c->store);
	struct kv_store_info info;
	struct rusage ru;
	struct kv_stats s;
	size_t i;

	kv_store_stats_sum(c->store, &s);
	kv_store_info(c->store, &info);
	memset(&ru, 0, sizeof(ru));
	getrusage(RUSAGE_SELF, &ru);
	out_printf(c, "STAT pid %ld\r\n", (long)getpid());
	out_printf(c, "STAT uptime %" PRId64 "\r\n", now - info.started);
	out_printf(c, "STAT time %" PRId64 "\r\n", now);
	out_printf(c, "STAT version %s\r\n", KV_VERSION);
	out_printf(c, "STAT pointer_size %zu\r\n", 8 * sizeof(void *));
	out_printf(c, "STAT rusage_user %.6f\r\n", tv_sec(ru.ru_utime));
	out_printf(c, "STAT rusage_system %.6f\r\n", tv_sec(ru.ru_stime));
	out_printf(c, "STAT max_connections %u\r\n", info.max_conns);
	out_printf(c, "STAT curr_connections %" PRIu64 "\r\n", s.conn_opened - s.conn_closed);
	out_printf(c, "STAT total_connections %" PRIu64 "\r\n", s.conn_opened);
	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		out_printf(c, "STAT %s %" PRIu64 "\r\n", counters[i].name,
			   *(const uint64_t *)((const char *)&s + counters[i].off));
	out_printf(c, "STAT limit_maxbytes %zu\r\n", info.mem_limit);
	out_printf(c, "STAT threads %u\r\n", info.threads);
	out_printf(c, "STAT bytes %" PRIu64 "\r\n", info.bytes);
	out_printf(c, "STAT curr_items %" PRIu64 "\r\n", info.curr_items);
	out_printf(c, "STAT total_items %" PRIu64 "\r\n", info.total_items);
	out_printf(c, "STAT reclaimed %" PRIu64 "\r\n", info.expired);
	out_printf(c, "STAT evictions %" PRIu64 "\r\n", info.evictions);
}

static void process_stats(struct kv_conn *c, const struct token *tokens, size_t ntokens)
{
	struct kv_store_info info;

	if (ntokens == 2) {
		stats_general(c);
	} else if (!strcmp(tokens[1].value, "reset")) {
		kv_store_stats_reset(c->store);
		out_str(c, "RESET");
		return;
	} else if (!strcmp(tokens[1].value, "settings")) {
		kv_store_info(c->store, &info);
		out_printf(c, "STAT maxbytes %zu\r\n", info.mem_limit);
		out_printf(c, "STAT maxconns %u\r\n", info.max_conns);
		out_printf(c, "STAT num_threads %u\r\n", info.threads);
		out_printf(c, "STAT evictions %s\r\n", info.mem_limit ? "on" : "off");
		out_printf(c, "STAT cas_enabled yes\r\n");
		out_printf(c, "STAT item_size_max %u\r\n", KV_VALUE_MAX);
	} else {
		out_str(c, "ERROR");
		return;
	}
	out_add(c, "END\r\n", 5);
}

/* --- dispatch ------------------------------------------------------------------------------ */

static bool is(const struct token *t, const char *word)
{
	return !strcmp(t->value, word);
}

/* memcached's process_command_ascii(), for the commands ix-kv has. */
static void process_command(struct kv_conn *c, char *command)
{
	struct token tokens[KV_MAX_TOKENS];
	size_t end = strlen(command), ntokens;
	const struct token *cmd = &tokens[0];
	char first;

	ntokens = tokenize(command, tokens, KV_MAX_TOKENS);
	if (ntokens < 2 || cmd->length < 2) {
		out_str(c, "ERROR");
		return;
	}
	first = cmd->value[0];
	if (first == 'g' || is(cmd, "bget")) {
		if (ntokens < 3)
			out_str(c, "ERROR");
		else if (is(cmd, "get") || is(cmd, "bget"))
			process_get(c, tokens, end, false, false);
		else if (is(cmd, "gets"))
			process_get(c, tokens, end, true, false);
		else if (is(cmd, "gat"))
			process_get(c, tokens, end, false, true);
		else if (is(cmd, "gats"))
			process_get(c, tokens, end, true, true);
		else
			out_str(c, "ERROR");
	} else if (is(cmd, "set") || is(cmd, "add") || is(cmd, "replace") || is(cmd, "append") ||
		   is(cmd, "prepend")) {
		if (ntokens != 6 && ntokens != 7)
			out_str(c, "ERROR");
		else
			process_update(c, tokens, ntokens,
				       is(cmd, "set")	  ? KV_SET :
				       is(cmd, "add")	  ? KV_ADD :
				       is(cmd, "replace") ? KV_REPLACE :
				       is(cmd, "append")  ? KV_APPEND :
							    KV_PREPEND);
	} else if (is(cmd, "cas")) {
		if (ntokens != 7 && ntokens != 8)
			out_str(c, "ERROR");
		else
			process_update(c, tokens, ntokens, KV_CAS);
	} else if (is(cmd, "delete")) {
		if (ntokens < 3 || ntokens > 5)
			out_str(c, "ERROR");
		else
			process_delete(c, tokens, ntokens);
	} else if (is(cmd, "incr") || is(cmd, "decr")) {
		if (ntokens != 4 && ntokens != 5)
			out_str(c, "ERROR");
		else
			process_arithmetic(c, tokens, ntokens, is(cmd, "incr"));
	} else if (is(cmd, "touch")) {
		if (ntokens != 4 && ntokens != 5)
			out_str(c, "ERROR");
		else
			process_touch(c, tokens, ntokens);
	} else if (is(cmd, "stats")) {
		process_stats(c, tokens, ntokens);
	} else if (is(cmd, "flush_all")) {
		if (ntokens < 2 || ntokens > 4)
			out_str(c, "ERROR");
		else
			process_flush_all(c, tokens, ntokens);
	} else if (is(cmd, "version")) {
		out_str(c, "VERSION " KV_VERSION);
	} else if (is(cmd, "quit")) {
		c->closing = KV_CLOSE_QUIT;
	} else if (is(cmd, "verbosity")) {
		if (ntokens != 3 && ntokens != 4)
			out_str(c, "ERROR");
		else
			process_verbosity(c, tokens, ntokens);
	} else if (is(cmd, "shutdown")) {
		out_str(c, "ERROR: shutdown not enabled");
	} else {
		out_str(c, "ERROR");
	}
}

/* --- input --------------------------------------------------------------------------------- */

static bool line_reserve(struct kv_conn *c, size_t n)
{
	size_t cap;
	char *p;

	if (n <= c->line_cap)
		return true;
	for (cap = c->line_cap ? c->line_cap : 256; cap < n; cap *= 2)
		;
	p = realloc(c->line, cap);
	if (!p) {
		c->closing = KV_CLOSE_NOMEM;
		return false;
	}
	c->line = p;
	c->line_cap = cap;
	return true;
}

/* memcached lets a line grow past KV_LINE_MAX only if it is a get or gets (a long multi-get). */
static bool long_line_ok(const char *l, size_t n)
{
	size_t i = 0;

	while (i < n && l[i] == ' ')
		i++;
	if (i > KV_LEAD_SPACES)
		return false;
	return (n - i >= 4 && !memcmp(l + i, "get ", 4)) ||
	       (n - i >= 5 && !memcmp(l + i, "gets ", 5));
}

/* KV_ST_LINE: gather a line; run it once its '\n' is here. */
static size_t take_line(struct kv_conn *c, const char *p, size_t n)
{
	const char *nl = memchr(p, '\n', n);
	size_t take = nl ? (size_t)(nl - p) + 1 : n;

	if (c->line_len + take - (nl ? 1 : 0) > KV_GET_LINE_MAX) {
		c->closing = KV_CLOSE_LINE;
		return take;
	}
	if (!line_reserve(c, c->line_len + take + 1))
		return take;
	memcpy(c->line + c->line_len, p, take);
	c->line_len += take;
	if (!nl) {
		if (c->line_len > KV_LINE_MAX && !long_line_ok(c->line, c->line_len))
			c->closing = KV_CLOSE_LINE;
		return take;
	}

	/* the line without its '\n', and without the '\r' before it if the line has more */
	n = c->line_len - 1;
	if (n > 1 && c->line[n - 1] == '\r')
		n--;
	c->line[n] = '\0';
	c->noreply = false;
	process_command(c, c->line);
	if (c->state != KV_ST_GET) {
		c->line_len = 0;
		if (c->line_cap > KV_LINE_KEEP) {
			free(c->line);
			c->line = NULL;
			c->line_cap = 0;
		}
	}
	return take;
}

/**
 * kv_conn_input - run the commands in the next @len received bytes.
 * @c:   the connection
 * @buf: the bytes (NULL if @len is 0)
 * @len: their number; 0 to go on with a multi-get after the output drained (kv_conn_busy())
 *
 * Return: how many bytes were taken, all of them unless the output backlog reached
 * KV_OUT_HIGH (send it, then offer the rest again) or the connection is closing
 * (kv_conn_closing(); the rest is to be dropped).
 */
size_t kv_conn_input(struct kv_conn *c, const void *buf, size_t len)
{
	const char *in = buf;
	size_t used = 0, take;

	while (!c->closing) {
		switch (c->state) {
		case KV_ST_GET:
			if (out_full(c))
				goto out;
			get_keys(c);
			if (c->state == KV_ST_LINE) {
				c->line_len = 0;
				if (c->line_cap > KV_LINE_KEEP) {
					free(c->line);
					c->line = NULL;
					c->line_cap = 0;
				}
			}
			break;
		case KV_ST_DATA:
			if (used == len)
				goto out;
			used += take_data(c, in + used, len - used);
			break;
		case KV_ST_SWALLOW:
			if (used == len)
				goto out;
			take = len - used < c->swallow ? len - used : c->swallow;
			c->swallow -= take;
			used += take;
			if (!c->swallow)
				c->state = KV_ST_LINE;
			break;
		case KV_ST_LINE:
			if (used == len || out_full(c))
				goto out;
			used += take_line(c, in + used, len - used);
			break;
		}
	}
out:
	KV_STAT_ADD(c->stats, bytes_read, used);
	return used;
}

/**
 * kv_conn_init - set up the protocol state of a new connection.
 * @c:     the connection
 * @store: the store it works on
 * @stats: the counter block of the thread that serves it (kv_store_stats_new())
 */
void kv_conn_init(struct kv_conn *c, struct kv_store *store, struct kv_stats *stats)
{
	memset(c, 0, sizeof(*c));
	c->store = store;
	c->stats = stats;
	c->state = KV_ST_LINE;
	KV_STAT_INC(stats, conn_opened);
}

/**
 * kv_conn_fini - free what the connection holds (partial line, pending item, output).
 * @c: the connection
 */
void kv_conn_fini(struct kv_conn *c)
{
	kv_item_put(c->item);
	free(c->line);
	free(c->out.buf);
	KV_STAT_INC(c->stats, conn_closed);
	c->item = NULL;
	c->line = NULL;
	c->out.buf = NULL;
}
