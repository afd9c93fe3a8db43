// SPDX-License-Identifier: GPL-2.0
/*
 * kv_fuzz.c - libFuzzer target: ix-kv's memcached protocol engine and store on arbitrary bytes.
 *
 * Each input is a client's byte stream.  It is run twice on fresh stores with a fixed clock:
 * whole, and cut into pieces (sizes from a hash of the input) with the output drained a
 * little at a time, so the engine's stops for backpressure and its partial lines are
 * exercised.  Checked: the engine never takes more than it was given, takes less only while
 * closing or with a full output backlog, always produces a stream of well-formed responses
 * (VALUE blocks exactly as long as they say), and - unless a line was too long, which depends
 * on how the bytes arrive, or stats, whose numbers vary - answers the same however the input
 * was cut.  ASan/UBSan catch the rest; LeakSanitizer, what a connection or the store forgets.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kv/proto.h"
#include "kv/store.h"

#define FUZZ_NOW 1700000000
#define FUZZ_ROUNDS (1u << 22) /* engine calls one run may take */

struct run {
	struct kv_store *store;
	struct kv_conn conn;
	char *out;
	size_t out_len;
	size_t out_cap;
};

static int64_t fixed_clock(void *arg)
{
	return FUZZ_NOW;
}

static uint32_t rng_next(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static void run_init(struct run *r)
{
	struct kv_store_opts o = { .clock = fixed_clock, .hash_power = KV_HASH_POWER_MIN };
	struct kv_stats *st;

	memset(r, 0, sizeof(*r));
	if (kv_store_create(&o, &r->store))
		abort();
	st = kv_store_stats_new(r->store);
	if (!st)
		abort();
	kv_conn_init(&r->conn, r->store, st);
}

static void run_fini(struct run *r)
{
	kv_conn_fini(&r->conn);
	kv_store_destroy(r->store);
	free(r->out);
}

/* Take up to @max bytes of the engine's output. */
static void drain(struct run *r, size_t max)
{
	const void *p;
	size_t len;

	p = kv_conn_out(&r->conn, &len);
	if (!p)
		return;
	if (len > max)
		len = max;
	if (r->out_len + len > r->out_cap) {
		r->out_cap = (r->out_len + len) * 2;
		r->out = realloc(r->out, r->out_cap);
		if (!r->out)
			abort();
	}
	memcpy(r->out + r->out_len, p, len);
	r->out_len += len;
	kv_conn_out_done(&r->conn, len);
}

/* Feed @d[0, @n); with @rng, draining a random amount after each call, else everything. */
static void feed(struct run *r, const uint8_t *d, size_t n, uint32_t *rng)
{
	size_t off = 0, used, pending;
	unsigned int rounds;

	for (rounds = 0; rounds < FUZZ_ROUNDS; rounds++) {
		used = kv_conn_input(&r->conn, d + off, n - off);
		assert(used <= n - off);
		kv_conn_out(&r->conn, &pending);
		assert(used == n - off || kv_conn_closing(&r->conn) || pending >= KV_OUT_HIGH);
		off += used;
		drain(r, rng ? 4096 + rng_next(rng) % 65536 : SIZE_MAX);
		if (kv_conn_closing(&r->conn) || (off == n && !kv_conn_busy(&r->conn)))
			return;
	}
	assert(!"the engine made no progress");
}

static size_t digits(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] >= '0' && p[i] <= '9')
		i++;
	return i;
}

static bool starts(const char *p, size_t n, const char *word)
{
	size_t w = strlen(word);

	return n >= w && !memcmp(p, word, w);
}

/* One "VALUE key flags bytes [cas]\r\n<data>\r\n" at @p; return its length. */
static size_t check_value(const char *p, size_t n)
{
	size_t i = 6, k, d;
	unsigned long long bytes;
	char num[24];

	for (k = i; k < n && p[k] != ' '; k++)
		assert(p[k] != '\n' && p[k] != '\0');
	assert(k > i && k - i <= KV_KEY_MAX && k < n);
	i = k + 1;
	d = digits(p + i, n - i); /* flags */
	assert(d && d <= 10 && i + d < n && p[i + d] == ' ');
	i += d + 1;
	d = digits(p + i, n - i); /* bytes */
	assert(d && d < sizeof(num));
	memcpy(num, p + i, d);
	num[d] = '\0';
	bytes = strtoull(num, NULL, 10);
	assert(bytes <= KV_VALUE_MAX);
	i += d;
	if (i < n && p[i] == ' ') { /* cas */
		d = digits(p + i + 1, n - i - 1);
		assert(d && d <= 20);
		i += d + 1;
	}
	assert(i + 2 <= n && !memcmp(p + i, "\r\n", 2));
	i += 2;
	assert(i + bytes + 2 <= n && !memcmp(p + i + bytes, "\r\n", 2));
	return i + bytes + 2;
}

/* The output must be a sequence of whole memcached responses. */
static void check_output(const char *p, size_t n)
{
	static const char *const lines[] = { "END",	  "STORED",  "NOT_STORED", "EXISTS",
					     "NOT_FOUND", "DELETED", "TOUCHED",	   "OK",
					     "RESET",	  "ERROR" };
	static const char *const prefixes[] = { "CLIENT_ERROR ", "SERVER_ERROR ", "VERSION ",
						"STAT ", "ERROR: " };
	const char *eol;
	size_t len, i;
	bool ok;

	while (n) {
		if (starts(p, n, "VALUE ")) {
			len = check_value(p, n);
			p += len;
			n -= len;
			continue;
		}
		eol = memchr(p, '\n', n);
		assert(eol && eol > p && eol[-1] == '\r');
		len = eol - p - 1;
		ok = len && digits(p, len) == len && len <= 20; /* incr/decr */
		for (i = 0; !ok && i < sizeof(lines) / sizeof(lines[0]); i++)
			ok = len == strlen(lines[i]) && !memcmp(p, lines[i], len);
		for (i = 0; !ok && i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
			ok = starts(p, len, prefixes[i]);
		assert(ok);
		p += len + 2;
		n -= len + 2;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole, cut;
	uint32_t h = 2166136261u, rng;
	size_t off = 0, piece;
	unsigned int mode;
	size_t i;

	for (i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;
	rng = h | 1;
	mode = h >> 30; /* piece sizes: 1, up to 16, up to 512, or anything */

	run_init(&whole);
	feed(&whole, data, size, NULL);
	check_output(whole.out, whole.out_len);

	run_init(&cut);
	while (off < size && !kv_conn_closing(&cut.conn)) {
		piece = mode == 0 ? 1 :
			mode == 1 ? 1 + rng_next(&rng) % 16 :
			mode == 2 ? 1 + rng_next(&rng) % 512 :
				    1 + rng_next(&rng) % (size - off);
		if (piece > size - off)
			piece = size - off;
		feed(&cut, data + off, piece, &rng);
		off += piece;
	}
	drain(&cut, SIZE_MAX);
	check_output(cut.out, cut.out_len);

	if (kv_conn_closing(&whole.conn) != KV_CLOSE_LINE &&
	    kv_conn_closing(&cut.conn) != KV_CLOSE_LINE && !memmem(data, size, "stats", 5)) {
		assert(kv_conn_closing(&whole.conn) == kv_conn_closing(&cut.conn));
		assert(whole.out_len == cut.out_len &&
		       (!cut.out_len || !memcmp(whole.out, cut.out, cut.out_len)));
	}
	run_fini(&cut);
	run_fini(&whole);
	return 0;
}
