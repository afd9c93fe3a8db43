/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hmap.h - a map from connection handles to a 32-bit value, shared by libix's two layers: ix.c
 * maps a context's handles to their channel, ixev.c a loop's handles to their slot.
 *
 * Open addressing with linear probing, kept at most half full, deletion by backward shift (no
 * tombstones), so a lookup is a few probes whatever the history.  It starts at @min entries and
 * doubles up to @max; both are powers of two set by the owner before the first add.  Handle 0
 * is never stored.  Not thread-safe: one map per context or loop, used by its thread.
 */
#ifndef IX_HMAP_H
#define IX_HMAP_H

#include <stdint.h>

struct ix_hent {
	uint64_t handle;	/* 0: empty */
	uint32_t val;		/* the owner's: a channel, a slot */
	uint32_t flags;		/* the owner's */
};

struct ix_hmap {
	struct ix_hent *t;
	uint32_t cap;		/* a power of two, or 0 before the first add */
	uint32_t len;
	uint32_t min;		/* first cap */
	uint32_t max;		/* the most cap may grow to */
};

struct ix_hent *ix_hmap_find(const struct ix_hmap *m, uint64_t h);
int ix_hmap_add(struct ix_hmap *m, uint64_t h, uint32_t val);
void ix_hmap_del(struct ix_hmap *m, uint64_t h);
void ix_hmap_free(struct ix_hmap *m);

#endif /* IX_HMAP_H */
