// SPDX-License-Identifier: BSD-2-Clause
/*
 * store.c - ix-kv's item store: a fixed-size chained hash table whose buckets are guarded by
 * KV_STRIPES mutexes (bucket b by stripe b % KV_STRIPES), an LRU list per stripe, and memcached's
 * rules for expiry, CAS and flush_all.
 *
 * Memory limit: before linking an item the writer evicts the least recently used item of one
 * stripe after another (a round-robin cursor shared by all threads) until the new item fits,
 * visiting at most KV_EVICT_TRIES stripes.  A stripe's LRU tail that was read since the cursor
 * last came by gets a second chance (CLOCK): it moves to the head with its mark cleared, so an
 * item read often survives even alone in its stripe.  On a second lap within one call marks no
 * longer protect.  So it is LRU per stripe and CLOCK across stripes, not global LRU; threads
 * that make room at the same moment can overshoot the limit by an item each.  Dead items
 * (expired, flushed) are dropped when a lookup meets them or when eviction reaches them.
 *
 * Lock order: one stripe lock at a time, never nested; the stats list lock is taken alone.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "kv/store.h"

#define RELAXED __ATOMIC_RELAXED

struct kv_stripe {
	pthread_mutex_t lock;
	struct kv_item *lru_head; /* most recently used */
	struct kv_item *lru_tail;
	/* written under lock, read by kv_store_info() without it */
	uint64_t curr_items;
	uint64_t total_items;
	uint64_t bytes;
	uint64_t evictions;
	uint64_t expired;
} __attribute__((aligned(64)));

struct kv_store {
	struct kv_item **buckets;
	uint32_t mask; /* buckets - 1 */
	uint64_t seed; /* hash seed, random per store */
	size_t mem_limit;
	size_t mem_used; /* atomic */
	uint64_t cas_next; /* atomic */
	int64_t flush_at; /* atomic; items stored at or before it die once it passes */
	unsigned int evict_cursor; /* atomic */
	kv_clock_fn clock;
	void *clock_arg;
	unsigned int threads;
	unsigned int max_conns;
	int64_t started;
	pthread_mutex_t stats_lock;
	struct kv_stats *stats; /* every thread's block */
	struct kv_stats stats_base; /* the sums at the last "stats reset" */
	struct kv_stripe stripes[KV_STRIPES];
};

static uint32_t kv_hash(const struct kv_store *s, const char *key, size_t nkey)
{
	uint64_t h = s->seed ^ 0xcbf29ce484222325ull;
	size_t i;

	/* FNV-1a, then murmur3's finalizer so the low bits (bucket, stripe) mix well */
	for (i = 0; i < nkey; i++) {
		h ^= (unsigned char)key[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (uint32_t)h;
}

static struct kv_stripe *stripe_of(struct kv_store *s, uint32_t hash)
{
	return &s->stripes[(hash & s->mask) & (KV_STRIPES - 1)];
}

static size_t item_size(const struct kv_item *it)
{
	return sizeof(*it) + it->nkey + it->nbytes;
}

static int64_t real_clock(void *arg)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return ts.tv_sec;
}

/**
 * kv_store_now - the store's clock.
 * @s: the store
 *
 * Return: unix seconds (the real time unless the store was given another clock).
 */
int64_t kv_store_now(struct kv_store *s)
{
	return s->clock(s->clock_arg);
}

/**
 * kv_store_exptime - turn a protocol exptime into the time the item dies.
 * @s:       the store
 * @exptime: 0 (never), up to KV_RELTIME_MAX (seconds from now), larger (a unix time),
 *           negative (already expired)
 *
 * Return: unix seconds, or 0 for never.
 */
int64_t kv_store_exptime(struct kv_store *s, int32_t exptime)
{
	if (exptime == 0)
		return 0;
	if (exptime < 0)
		return 1; /* long past: dead at once, as memcached's negative exptime */
	if (exptime > KV_RELTIME_MAX)
		return exptime;
	return kv_store_now(s) + exptime;
}

/**
 * kv_item_alloc - a new, unlinked item whose value the caller fills in.
 * @key:     the key (copied)
 * @nkey:    its length, 1..KV_KEY_MAX
 * @flags:   client flags
 * @exptime: unix seconds or 0 (see kv_store_exptime())
 * @nbytes:  value length, at most KV_VALUE_MAX
 *
 * Return: the item holding one reference (the caller's), or NULL with errno EINVAL (bad
 * lengths) or ENOMEM.
 */
struct kv_item *kv_item_alloc(const char *key, size_t nkey, uint32_t flags, int64_t exptime,
			      size_t nbytes)
{
	struct kv_item *it;

	if (!nkey || nkey > KV_KEY_MAX || nbytes > KV_VALUE_MAX) {
		errno = EINVAL;
		return NULL;
	}
	it = malloc(sizeof(*it) + nkey + nbytes);
	if (!it)
		return NULL;
	memset(it, 0, sizeof(*it));
	memcpy(it->data, key, nkey);
	it->nkey = nkey;
	it->nbytes = nbytes;
	it->flags = flags;
	it->exptime = exptime;
	it->refcnt = 1;
	return it;
}

/**
 * kv_item_put - drop a reference to @it; the last one frees it.
 * @it: the item (NULL is ignored)
 */
void kv_item_put(struct kv_item *it)
{
	if (it && __atomic_sub_fetch(&it->refcnt, 1, __ATOMIC_ACQ_REL) == 0)
		free(it);
}

static void item_get_ref(struct kv_item *it)
{
	__atomic_add_fetch(&it->refcnt, 1, RELAXED);
}

static bool item_dead(struct kv_store *s, const struct kv_item *it, int64_t now)
{
	int64_t flush_at = __atomic_load_n(&s->flush_at, RELAXED);

	if (it->exptime && it->exptime <= now)
		return true;
	return flush_at && flush_at <= now && it->mtime <= flush_at;
}

static void lru_unlink(struct kv_stripe *st, struct kv_item *it)
{
	if (it->lru_prev)
		it->lru_prev->lru_next = it->lru_next;
	else
		st->lru_head = it->lru_next;
	if (it->lru_next)
		it->lru_next->lru_prev = it->lru_prev;
	else
		st->lru_tail = it->lru_prev;
	it->lru_prev = it->lru_next = NULL;
}

static void lru_push(struct kv_stripe *st, struct kv_item *it)
{
	it->lru_prev = NULL;
	it->lru_next = st->lru_head;
	if (st->lru_head)
		st->lru_head->lru_prev = it;
	else
		st->lru_tail = it;
	st->lru_head = it;
}

static void lru_bump(struct kv_stripe *st, struct kv_item *it)
{
	if (st->lru_head != it) {
		lru_unlink(st, it);
		lru_push(st, it);
	}
}

static void stripe_add(uint64_t *field, int64_t n)
{
	__atomic_store_n(field, *field + n, RELAXED);
}

/* Take @it out of its bucket and LRU list and drop the table's reference.  Stripe locked. */
static void unlink_item(struct kv_store *s, struct kv_stripe *st, struct kv_item *it)
{
	struct kv_item **pp = &s->buckets[it->hash & s->mask];

	while (*pp && *pp != it)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = it->hnext;
	it->hnext = NULL;
	lru_unlink(st, it);
	it->linked = 0;
	stripe_add(&st->curr_items, -1);
	stripe_add(&st->bytes, -(int64_t)item_size(it));
	__atomic_sub_fetch(&s->mem_used, item_size(it), RELAXED);
	kv_item_put(it);
}

/* Put @it (hash set) into the table, which takes a reference.  Stripe locked. */
static void link_item(struct kv_store *s, struct kv_stripe *st, struct kv_item *it, int64_t now)
{
	struct kv_item **bucket = &s->buckets[it->hash & s->mask];

	it->cas = __atomic_fetch_add(&s->cas_next, 1, RELAXED);
	it->mtime = now;
	it->hnext = *bucket;
	*bucket = it;
	lru_push(st, it);
	it->linked = 1;
	item_get_ref(it);
	stripe_add(&st->curr_items, 1);
	stripe_add(&st->total_items, 1);
	stripe_add(&st->bytes, item_size(it));
	__atomic_add_fetch(&s->mem_used, item_size(it), RELAXED);
}

/* The live item for @key, dropping a dead one met on the way.  Stripe locked. */
static struct kv_item *find_locked(struct kv_store *s, struct kv_stripe *st, uint32_t hash,
				   const char *key, size_t nkey, int64_t now)
{
	struct kv_item *it;

	for (it = s->buckets[hash & s->mask]; it; it = it->hnext) {
		if (it->hash != hash || it->nkey != nkey || memcmp(it->data, key, nkey))
			continue;
		if (item_dead(s, it, now)) {
			stripe_add(&st->expired, 1);
			unlink_item(s, st, it);
			return NULL;
		}
		return it;
	}
	return NULL;
}

/* Evict LRU tails, stripe by stripe, until @need more bytes fit.  No lock held. */
static int make_room(struct kv_store *s, size_t need)
{
	int64_t now = kv_store_now(s);
	struct kv_stripe *st;
	struct kv_item *victim, *first;
	unsigned int tries, scan;

	if (!s->mem_limit)
		return 0;
	for (tries = 0; tries < KV_EVICT_TRIES; tries++) {
		if (__atomic_load_n(&s->mem_used, RELAXED) + need <= s->mem_limit)
			return 0;
		st = &s->stripes[__atomic_fetch_add(&s->evict_cursor, 1, RELAXED) &
				 (KV_STRIPES - 1)];
		first = NULL;
		pthread_mutex_lock(&st->lock);
		for (scan = 0; scan < KV_EVICT_SCAN && (victim = st->lru_tail); scan++) {
			if (victim == first)
				break; /* went round: every item here had its chance */
			if (item_dead(s, victim, now)) {
				stripe_add(&st->expired, 1);
			} else if (victim->referenced && tries < KV_STRIPES) {
				victim->referenced = 0;
				lru_bump(st, victim);
				if (!first)
					first = victim;
				continue;
			} else {
				stripe_add(&st->evictions, 1);
			}
			unlink_item(s, st, victim);
			break;
		}
		pthread_mutex_unlock(&st->lock);
	}
	return __atomic_load_n(&s->mem_used, RELAXED) + need <= s->mem_limit ? 0 : -ENOMEM;
}

/**
 * kv_store_create - make an empty store.
 * @opts: sizes, limit and clock; NULL: the defaults (no memory limit)
 * @sp:   receives the store
 *
 * Return: 0, -EINVAL (hash_power out of range, or a memory limit below KV_MEM_LIMIT_MIN),
 * -ENOMEM.
 */
int kv_store_create(const struct kv_store_opts *opts, struct kv_store **sp)
{
	struct kv_store_opts def = { 0 };
	struct kv_store *s;
	unsigned int power, i;

	if (!opts)
		opts = &def;
	power = opts->hash_power ? opts->hash_power : KV_HASH_POWER_DEFAULT;
	if (power < KV_HASH_POWER_MIN || power > KV_HASH_POWER_MAX)
		return -EINVAL;
	if (opts->mem_limit && opts->mem_limit < KV_MEM_LIMIT_MIN)
		return -EINVAL;
	s = aligned_alloc(64, (sizeof(*s) + 63) & ~(size_t)63);
	if (!s)
		return -ENOMEM;
	memset(s, 0, sizeof(*s));
	s->buckets = calloc((size_t)1 << power, sizeof(*s->buckets));
	if (!s->buckets)
		goto free_store;
	s->mask = (1u << power) - 1;
	if (getrandom(&s->seed, sizeof(s->seed), GRND_NONBLOCK) != sizeof(s->seed))
		s->seed = (uint64_t)time(NULL) ^ (uintptr_t)s;
	s->mem_limit = opts->mem_limit;
	s->cas_next = 1;
	s->clock = opts->clock ? opts->clock : real_clock;
	s->clock_arg = opts->clock_arg;
	s->threads = opts->threads;
	s->max_conns = opts->max_conns;
	s->started = kv_store_now(s);
	pthread_mutex_init(&s->stats_lock, NULL);
	for (i = 0; i < KV_STRIPES; i++)
		pthread_mutex_init(&s->stripes[i].lock, NULL);
	*sp = s;
	return 0;

free_store:
	free(s);
	return -ENOMEM;
}

/**
 * kv_store_destroy - free the store, its items (references still held elsewhere keep theirs
 * alive) and its stats blocks.
 * @s: the store, or NULL
 */
void kv_store_destroy(struct kv_store *s)
{
	struct kv_stats *st, *next;
	unsigned int i;

	if (!s)
		return;
	for (i = 0; i < KV_STRIPES; i++) {
		while (s->stripes[i].lru_head)
			unlink_item(s, &s->stripes[i], s->stripes[i].lru_head);
		pthread_mutex_destroy(&s->stripes[i].lock);
	}
	for (st = s->stats; st; st = next) {
		next = st->next;
		free(st);
	}
	pthread_mutex_destroy(&s->stats_lock);
	free(s->buckets);
	free(s);
}

/**
 * kv_store_get - look @key up, bump it in the LRU, and touch it if asked.
 * @s:       the store
 * @key:     the key
 * @nkey:    its length
 * @touch:   also set the item's expiry (gat/gats)
 * @exptime: the new expiry when @touch (see kv_store_exptime())
 *
 * Return: the item with a reference for the caller (kv_item_put() it), or NULL (no live item).
 */
struct kv_item *kv_store_get(struct kv_store *s, const char *key, size_t nkey, bool touch,
			     int64_t exptime)
{
	uint32_t hash = kv_hash(s, key, nkey);
	struct kv_stripe *st = stripe_of(s, hash);
	int64_t now = kv_store_now(s);
	struct kv_item *it;

	pthread_mutex_lock(&st->lock);
	it = find_locked(s, st, hash, key, nkey, now);
	if (it) {
		if (touch)
			it->exptime = exptime;
		it->referenced = 1;
		lru_bump(st, it);
		item_get_ref(it);
	}
	pthread_mutex_unlock(&st->lock);
	return it;
}

/*
 * The item APPEND/PREPEND links in place of @old: its flags and expiry, both values.  NULL with
 * errno EFBIG (too large together) or ENOMEM.
 */
static struct kv_item *joined(const struct kv_item *old, struct kv_item *it, bool append)
{
	const struct kv_item *first = append ? old : it, *second = append ? it : old;
	struct kv_item *n;

	if ((size_t)old->nbytes + it->nbytes > KV_VALUE_MAX) {
		errno = EFBIG;
		return NULL;
	}
	n = kv_item_alloc(old->data, old->nkey, old->flags, old->exptime, old->nbytes + it->nbytes);
	if (!n)
		return NULL;
	n->hash = old->hash;
	memcpy(kv_item_value(n), first->data + first->nkey, first->nbytes);
	memcpy(kv_item_value(n) + first->nbytes, second->data + second->nkey, second->nbytes);
	return n;
}

/**
 * kv_store_store - set, add, replace, append, prepend or cas @it.
 * @s:    the store
 * @mode: which (memcached's rules: ADD only a missing key, REPLACE/APPEND/PREPEND only an
 *        existing one, APPEND/PREPEND keep the old item's flags and expiry, CAS only over the
 *        item whose CAS unique is @cas)
 * @it:   the new item from kv_item_alloc(), value filled in; the caller keeps its reference
 * @cas:  for KV_CAS, the unique the client read with gets
 *
 * Return: KV_STORED; KV_NOT_STORED (the key's presence is wrong for @mode, or APPEND/PREPEND
 * would pass KV_VALUE_MAX); KV_EXISTS, KV_NOT_FOUND (cas); KV_NO_MEMORY (over the limit even
 * after eviction, or no memory for the joined item).
 */
enum kv_result kv_store_store(struct kv_store *s, enum kv_store_mode mode, struct kv_item *it,
			      uint64_t cas)
{
	struct kv_stripe *st;
	struct kv_item *old, *n;
	enum kv_result res = KV_STORED;
	int64_t now;

	it->hash = kv_hash(s, it->data, it->nkey);
	st = stripe_of(s, it->hash);
	/* Whatever the mode, the table grows by at most this item's size. */
	if (make_room(s, item_size(it)))
		return KV_NO_MEMORY;
	now = kv_store_now(s);

	pthread_mutex_lock(&st->lock);
	old = find_locked(s, st, it->hash, it->data, it->nkey, now);
	switch (mode) {
	case KV_SET:
		if (old)
			unlink_item(s, st, old);
		link_item(s, st, it, now);
		break;
	case KV_ADD:
		if (old) {
			lru_bump(st, old);
			res = KV_NOT_STORED;
		} else {
			link_item(s, st, it, now);
		}
		break;
	case KV_REPLACE:
		if (old) {
			unlink_item(s, st, old);
			link_item(s, st, it, now);
		} else {
			res = KV_NOT_STORED;
		}
		break;
	case KV_APPEND:
	case KV_PREPEND:
		if (!old) {
			res = KV_NOT_STORED;
			break;
		}
		n = joined(old, it, mode == KV_APPEND);
		if (!n) {
			res = errno == ENOMEM ? KV_NO_MEMORY : KV_NOT_STORED;
			break;
		}
		unlink_item(s, st, old);
		link_item(s, st, n, now);
		kv_item_put(n);
		break;
	case KV_CAS:
		if (!old) {
			res = KV_NOT_FOUND;
		} else if (old->cas != cas) {
			res = KV_EXISTS;
		} else {
			unlink_item(s, st, old);
			link_item(s, st, it, now);
		}
		break;
	}
	pthread_mutex_unlock(&st->lock);
	return res;
}

/**
 * kv_store_delete - remove @key.
 * @s:    the store
 * @key:  the key
 * @nkey: its length
 *
 * Return: KV_DELETED or KV_NOT_FOUND.
 */
enum kv_result kv_store_delete(struct kv_store *s, const char *key, size_t nkey)
{
	uint32_t hash = kv_hash(s, key, nkey);
	struct kv_stripe *st = stripe_of(s, hash);
	struct kv_item *it;

	pthread_mutex_lock(&st->lock);
	it = find_locked(s, st, hash, key, nkey, kv_store_now(s));
	if (it)
		unlink_item(s, st, it);
	pthread_mutex_unlock(&st->lock);
	return it ? KV_DELETED : KV_NOT_FOUND;
}

/**
 * kv_store_touch - give @key a new expiry.
 * @s:       the store
 * @key:     the key
 * @nkey:    its length
 * @exptime: see kv_store_exptime()
 *
 * Return: KV_TOUCHED or KV_NOT_FOUND.
 */
enum kv_result kv_store_touch(struct kv_store *s, const char *key, size_t nkey, int64_t exptime)
{
	uint32_t hash = kv_hash(s, key, nkey);
	struct kv_stripe *st = stripe_of(s, hash);
	struct kv_item *it;

	pthread_mutex_lock(&st->lock);
	it = find_locked(s, st, hash, key, nkey, kv_store_now(s));
	if (it) {
		it->exptime = exptime;
		lru_bump(st, it);
	}
	pthread_mutex_unlock(&st->lock);
	return it ? KV_TOUCHED : KV_NOT_FOUND;
}

/**
 * kv_parse_u64 - read a value as incr/decr does: memcached's safe_strtoull() over the value
 * (which memcached follows with "\r\n").
 * @p:   the bytes
 * @len: their number
 * @out: receives the number
 *
 * Leading white space and one sign are allowed, then decimal digits, then the end, white space
 * or a NUL (anything after it is ignored).  A negative number is refused unless it wraps to one below
 * 2^63 ("-0" is 0).
 *
 * Return: true when @p holds a number in range.
 */
bool kv_parse_u64(const char *p, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	bool neg = false;
	size_t i = 0, start;

	while (i < len && isspace((unsigned char)p[i]))
		i++;
	if (i < len && (p[i] == '+' || p[i] == '-'))
		neg = p[i++] == '-';
	start = i;
	for (; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
		unsigned int d = p[i] - '0';

		if (v > (UINT64_MAX - d) / 10)
			return false; /* strtoull's ERANGE */
		v = v * 10 + d;
	}
	/* strtoull stops at a NUL too: memcached's value is a C string to it */
	if (i == start || (i < len && p[i] && !isspace((unsigned char)p[i])))
		return false;
	if (neg)
		v = -v;
	if ((int64_t)v < 0 && memchr(p, '-', len))
		return false;
	*out = v;
	return true;
}

/**
 * kv_store_delta - incr or decr the number stored at @key.
 * @s:     the store
 * @key:   the key
 * @nkey:  its length
 * @incr:  add (wrapping at 2^64) rather than subtract (stopping at 0)
 * @delta: by how much
 * @value: receives the new value on KV_DELTA_OK
 *
 * As memcached: the new number replaces the value in place, padded with spaces to the old
 * length, when it is no longer and nobody else holds the item; otherwise a new item of the
 * number's length (same flags and expiry) replaces it.  Either way the CAS unique changes.
 *
 * Return: KV_DELTA_OK, KV_NOT_FOUND, KV_NON_NUMERIC (empty, not a number, or out of range),
 * KV_NO_MEMORY.
 */
enum kv_result kv_store_delta(struct kv_store *s, const char *key, size_t nkey, bool incr,
			      uint64_t delta, uint64_t *value)
{
	uint32_t hash = kv_hash(s, key, nkey);
	struct kv_stripe *st = stripe_of(s, hash);
	int64_t now = kv_store_now(s);
	enum kv_result res = KV_DELTA_OK;
	struct kv_item *it, *n;
	char buf[24];
	uint64_t v;
	int len;

	pthread_mutex_lock(&st->lock);
	it = find_locked(s, st, hash, key, nkey, now);
	if (!it) {
		res = KV_NOT_FOUND;
		goto unlock;
	}
	if (!it->nbytes || !kv_parse_u64(kv_item_value(it), it->nbytes, &v)) {
		res = KV_NON_NUMERIC;
		goto unlock;
	}
	if (incr)
		v += delta;
	else
		v = delta > v ? 0 : v - delta;
	len = snprintf(buf, sizeof(buf), "%" PRIu64, v);
	if ((uint32_t)len <= it->nbytes && __atomic_load_n(&it->refcnt, __ATOMIC_ACQUIRE) == 1) {
		memcpy(kv_item_value(it), buf, len);
		memset(kv_item_value(it) + len, ' ', it->nbytes - len);
		it->cas = __atomic_fetch_add(&s->cas_next, 1, RELAXED);
		it->mtime = now;
		lru_bump(st, it);
	} else {
		n = kv_item_alloc(key, nkey, it->flags, it->exptime, len);
		if (!n) {
			res = KV_NO_MEMORY;
			goto unlock;
		}
		n->hash = hash;
		memcpy(kv_item_value(n), buf, len);
		unlink_item(s, st, it);
		link_item(s, st, n, now);
		kv_item_put(n);
	}
	*value = v;
unlock:
	pthread_mutex_unlock(&st->lock);
	return res;
}

/**
 * kv_store_flush - flush_all: every item stored so far is dropped now, or dies at a later time.
 * @s:     the store
 * @delay: <= 0: now; else when, as an exptime (seconds from now, or a unix time)
 *
 * A flush now also cancels a pending delayed one (as memcached, which keeps only one).
 */
void kv_store_flush(struct kv_store *s, int32_t delay)
{
	int64_t when = delay > 0 ? kv_store_exptime(s, delay) : 0;
	unsigned int i;

	if (when > kv_store_now(s)) {
		/* memcached: items last stored at or before when - 1 die at when - 1 */
		__atomic_store_n(&s->flush_at, when - 1, RELAXED);
		return;
	}
	__atomic_store_n(&s->flush_at, 0, RELAXED);
	for (i = 0; i < KV_STRIPES; i++) {
		struct kv_stripe *st = &s->stripes[i];

		pthread_mutex_lock(&st->lock);
		while (st->lru_head)
			unlink_item(s, st, st->lru_head);
		pthread_mutex_unlock(&st->lock);
	}
}

/**
 * kv_store_stats_new - a zeroed counter block for one server thread, freed with the store.
 * @s: the store
 *
 * Return: the block, or NULL (no memory).
 */
struct kv_stats *kv_store_stats_new(struct kv_store *s)
{
	struct kv_stats *st = aligned_alloc(64, sizeof(*st));

	if (!st)
		return NULL;
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&s->stats_lock);
	st->next = s->stats;
	s->stats = st;
	pthread_mutex_unlock(&s->stats_lock);
	return st;
}

#define KV_STATS_FIELDS (offsetof(struct kv_stats, next) / sizeof(uint64_t))

static void stats_sum_locked(struct kv_store *s, uint64_t *sum)
{
	const struct kv_stats *st;
	size_t i;

	memset(sum, 0, KV_STATS_FIELDS * sizeof(*sum));
	for (st = s->stats; st; st = st->next)
		for (i = 0; i < KV_STATS_FIELDS; i++)
			sum[i] += __atomic_load_n((const uint64_t *)st + i, RELAXED);
}

/**
 * kv_store_stats_sum - the counters of every thread added up, less their values at the last
 * kv_store_stats_reset(); conn_opened - conn_closed stays the number of open connections.
 * @s:   the store
 * @sum: receives the sums (its next is NULL)
 */
void kv_store_stats_sum(struct kv_store *s, struct kv_stats *sum)
{
	uint64_t raw[KV_STATS_FIELDS];
	size_t i;

	pthread_mutex_lock(&s->stats_lock);
	stats_sum_locked(s, raw);
	for (i = 0; i < KV_STATS_FIELDS; i++)
		((uint64_t *)sum)[i] = raw[i] - ((const uint64_t *)&s->stats_base)[i];
	pthread_mutex_unlock(&s->stats_lock);
	sum->next = NULL;
}

/**
 * kv_store_stats_reset - "stats reset": count from zero again (open connections excepted).
 * @s: the store
 */
void kv_store_stats_reset(struct kv_store *s)
{
	uint64_t raw[KV_STATS_FIELDS];

	pthread_mutex_lock(&s->stats_lock);
	stats_sum_locked(s, raw);
	memcpy(&s->stats_base, raw, sizeof(raw));
	/* opened - closed must stay the open connections: subtract the same from both */
	s->stats_base.conn_closed = s->stats_base.conn_opened;
	pthread_mutex_unlock(&s->stats_lock);
}

/**
 * kv_store_info - the store's own numbers (items, bytes, evictions) and settings.
 * @s:    the store
 * @info: receives them
 */
void kv_store_info(struct kv_store *s, struct kv_store_info *info)
{
	unsigned int i;

	memset(info, 0, sizeof(*info));
	for (i = 0; i < KV_STRIPES; i++) {
		const struct kv_stripe *st = &s->stripes[i];

		info->curr_items += __atomic_load_n(&st->curr_items, RELAXED);
		info->total_items += __atomic_load_n(&st->total_items, RELAXED);
		info->bytes += __atomic_load_n(&st->bytes, RELAXED);
		info->evictions += __atomic_load_n(&st->evictions, RELAXED);
		info->expired += __atomic_load_n(&st->expired, RELAXED);
	}
	info->mem_limit = s->mem_limit;
	info->threads = s->threads;
	info->max_conns = s->max_conns;
	info->started = s->started;
}
