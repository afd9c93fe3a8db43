// SPDX-License-Identifier: BSD-2-Clause
/*
 * hmap.c - the handle map of hmap.h.
 */
#include <errno.h>
#include <stdlib.h>

#include "hmap.h"

/* Handles are the daemon's numbers, with structure in their bits: mix every bit into the home
 * slot (splitmix64's finish). */
static uint32_t ix_hmap_home(uint64_t h, uint32_t cap)
{
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return (uint32_t)h & (cap - 1);
}

/**
 * ix_hmap_find - the entry of @h.
 * @m: the map
 * @h: a handle (0 finds nothing)
 *
 * Return: the entry, valid until the next add or del, or NULL.
 */
struct ix_hent *ix_hmap_find(const struct ix_hmap *m, uint64_t h)
{
	uint32_t mask = m->cap - 1, i;

	if (!h || !m->cap)
		return NULL;
	for (i = ix_hmap_home(h, m->cap); m->t[i].handle; i = (i + 1) & mask)
		if (m->t[i].handle == h)
			return &m->t[i];
	return NULL;
}

static void ix_hmap_put(struct ix_hent *t, uint32_t cap, const struct ix_hent *e)
{
	uint32_t i = ix_hmap_home(e->handle, cap);

	while (t[i].handle)
		i = (i + 1) & (cap - 1);
	t[i] = *e;
}

/**
 * ix_hmap_add - map @h to @val (flags 0), replacing what @h mapped to.
 * @m:   the map
 * @h:   a handle, not 0
 * @val: its value
 *
 * Return: 0, -EINVAL (@h is 0) or -ENOMEM (no memory, or the map is at @m->max).
 */
int ix_hmap_add(struct ix_hmap *m, uint64_t h, uint32_t val)
{
	struct ix_hent e = { .handle = h, .val = val }, *old = ix_hmap_find(m, h);

	if (!h)
		return -EINVAL;
	if (old) {
		*old = e;
		return 0;
	}
	if ((m->len + 1) * 2 > m->cap) {
		uint32_t cap = m->cap ? m->cap * 2 : m->min, i;
		struct ix_hent *t;

		if (cap > m->max || !cap)
			return -ENOMEM;
		t = calloc(cap, sizeof(*t));
		if (!t)
			return -ENOMEM;
		for (i = 0; i < m->cap; i++)
			if (m->t[i].handle)
				ix_hmap_put(t, cap, &m->t[i]);
		free(m->t);
		m->t = t;
		m->cap = cap;
	}
	ix_hmap_put(m->t, m->cap, &e);
	m->len++;
	return 0;
}

/**
 * ix_hmap_del - forget @h (nothing if it is not there), moving the later entries of its probe
 * run back into the hole.
 * @m: the map
 * @h: a handle
 */
void ix_hmap_del(struct ix_hmap *m, uint64_t h)
{
	struct ix_hent *e = ix_hmap_find(m, h);
	uint32_t mask = m->cap - 1, i, j;

	if (!e)
		return;
	i = (uint32_t)(e - m->t);
	for (j = (i + 1) & mask; m->t[j].handle; j = (j + 1) & mask) {
		uint32_t k = ix_hmap_home(m->t[j].handle, m->cap);
		/* an entry stays if its home lies cyclically in (i, j] */
		int stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);

		if (!stays) {
			m->t[i] = m->t[j];
			i = j;
		}
	}
	m->t[i].handle = 0;
	m->len--;
}

/**
 * ix_hmap_free - release the table; the map is empty (and may be used again).
 * @m: the map
 */
void ix_hmap_free(struct ix_hmap *m)
{
	free(m->t);
	m->t = NULL;
	m->cap = m->len = 0;
}
