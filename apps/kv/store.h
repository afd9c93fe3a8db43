/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store.h - ix-kv's item store: one hash table shared by every server thread, locked by bucket
 * stripe, with memcached's item semantics (flags, expiry, CAS unique, delayed flush_all) and an
 * optional memory limit enforced by evicting from per-stripe LRU lists (with a second chance for
 * items read since eviction last passed).
 *
 * Items are reference counted: kv_store_get() hands out a reference that stays readable after
 * the stripe lock is dropped (a replaced or deleted item is only unlinked), so a 1 MiB value is
 * copied to the connection without holding any lock.  The only in-place change to a linked
 * item, incr/decr's rewrite of a shorter number, is done when nobody else holds a reference.
 *
 * Times are unix seconds from the store's clock (kv_store_now()); tests install their own.
 */
#ifndef IX_KV_STORE_H
#define IX_KV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KV_KEY_MAX 250 /* bytes in a key (memcached's KEY_MAX_LENGTH) */
#define KV_VALUE_MAX (1u << 20) /* bytes in a value */
#define KV_STRIPES 256 /* bucket-stripe locks (power of two) */
#define KV_HASH_POWER_DEFAULT 16 /* 2^16 buckets unless told otherwise */
#define KV_HASH_POWER_MIN 8 /* at least one bucket per stripe */
#define KV_HASH_POWER_MAX 30
#define KV_RELTIME_MAX (60 * 60 * 24 * 30) /* larger exptimes are absolute unix times */
#define KV_MEM_LIMIT_MIN (4u << 20) /* room for a few largest items */
#define KV_EVICT_TRIES (2 * KV_STRIPES) /* stripes one store may visit to make room */
#define KV_EVICT_SCAN 8 /* LRU tails one visit may pass over */

typedef int64_t (*kv_clock_fn)(void *arg);

struct kv_store_opts {
	size_t mem_limit; /* bytes of items (headers included); 0: no limit */
	unsigned int hash_power; /* log2 of the bucket count; 0: KV_HASH_POWER_DEFAULT */
	kv_clock_fn clock; /* NULL: the real time */
	void *clock_arg;
	unsigned int threads; /* reported by "stats" */
	unsigned int max_conns; /* reported by "stats" */
};

/* One item: key then value in data[]; read-only once linked (but see kv_store_delta()). */
struct kv_item {
	struct kv_item *hnext; /* bucket chain */
	struct kv_item *lru_prev; /* the stripe's LRU list, most recently used first */
	struct kv_item *lru_next;
	uint64_t cas;
	int64_t exptime; /* unix seconds; 0: never */
	int64_t mtime; /* when stored, for a delayed flush_all */
	uint32_t hash;
	uint32_t flags;
	uint32_t nbytes; /* value length */
	uint16_t nkey;
	uint8_t linked;
	uint8_t referenced; /* read since eviction last looked at it */
	int refcnt; /* atomic; the hash table holds one while linked */
	char data[];
};

static inline const char *kv_item_key(const struct kv_item *it)
{
	return it->data;
}

static inline char *kv_item_value(struct kv_item *it)
{
	return it->data + it->nkey;
}

/* What a store command did (memcached's words in the comments). */
enum kv_result {
	KV_STORED, /* STORED */
	KV_NOT_STORED, /* NOT_STORED */
	KV_EXISTS, /* EXISTS: cas mismatch */
	KV_NOT_FOUND, /* NOT_FOUND */
	KV_DELETED, /* DELETED */
	KV_TOUCHED, /* TOUCHED */
	KV_DELTA_OK, /* incr/decr: the new value */
	KV_NON_NUMERIC, /* incr/decr on a value that is not a number */
	KV_NO_MEMORY, /* the memory limit could not be met by eviction */
};

enum kv_store_mode { KV_SET, KV_ADD, KV_REPLACE, KV_APPEND, KV_PREPEND, KV_CAS };

/*
 * Counters, one block per server thread (single writer, read by "stats" from any thread);
 * kv_store_stats_new() makes one.  Field order is the order "stats" prints them in.
 */
struct kv_stats {
	uint64_t conn_opened;
	uint64_t conn_closed;
	uint64_t cmd_get;
	uint64_t cmd_set;
	uint64_t cmd_flush;
	uint64_t cmd_touch;
	uint64_t get_hits;
	uint64_t get_misses;
	uint64_t delete_misses;
	uint64_t delete_hits;
	uint64_t incr_misses;
	uint64_t incr_hits;
	uint64_t decr_misses;
	uint64_t decr_hits;
	uint64_t cas_misses;
	uint64_t cas_hits;
	uint64_t cas_badval;
	uint64_t touch_hits;
	uint64_t touch_misses;
	uint64_t store_too_large;
	uint64_t store_no_memory;
	uint64_t bytes_read;
	uint64_t bytes_written;
	struct kv_stats *next; /* the store's list of blocks */
} __attribute__((aligned(64)));

#define KV_STAT_INC(st, field) KV_STAT_ADD(st, field, 1)
#define KV_STAT_ADD(st, field, n) \
	__atomic_store_n(&(st)->field, (st)->field + (n), __ATOMIC_RELAXED)

/* The store's own numbers, summed over its stripes. */
struct kv_store_info {
	uint64_t curr_items;
	uint64_t total_items;
	uint64_t bytes; /* item memory in use */
	uint64_t evictions;
	uint64_t expired; /* expired or flushed items found and dropped */
	size_t mem_limit;
	unsigned int threads;
	unsigned int max_conns;
	int64_t started; /* unix seconds */
};

struct kv_store;

int kv_store_create(const struct kv_store_opts *opts, struct kv_store **sp);
void kv_store_destroy(struct kv_store *s);
int64_t kv_store_now(struct kv_store *s);
int64_t kv_store_exptime(struct kv_store *s, int32_t exptime);

struct kv_stats *kv_store_stats_new(struct kv_store *s);
void kv_store_stats_sum(struct kv_store *s, struct kv_stats *sum);
void kv_store_stats_reset(struct kv_store *s);
void kv_store_info(struct kv_store *s, struct kv_store_info *info);

struct kv_item *kv_item_alloc(const char *key, size_t nkey, uint32_t flags, int64_t exptime,
			      size_t nbytes);
void kv_item_put(struct kv_item *it);

struct kv_item *kv_store_get(struct kv_store *s, const char *key, size_t nkey, bool touch,
			     int64_t exptime);
enum kv_result kv_store_store(struct kv_store *s, enum kv_store_mode mode, struct kv_item *it,
			      uint64_t cas);
enum kv_result kv_store_delete(struct kv_store *s, const char *key, size_t nkey);
enum kv_result kv_store_touch(struct kv_store *s, const char *key, size_t nkey, int64_t exptime);
enum kv_result kv_store_delta(struct kv_store *s, const char *key, size_t nkey, bool incr,
			      uint64_t delta, uint64_t *value);
void kv_store_flush(struct kv_store *s, int32_t delay);

bool kv_parse_u64(const char *p, size_t len, uint64_t *out);

#ifdef __cplusplus
}
#endif

#endif /* IX_KV_STORE_H */
