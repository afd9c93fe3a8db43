// SPDX-License-Identifier: GPL-2.0
/* w2w.c - allocate the worker-to-worker frame rings (the ring operations are in w2w.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/w2w.h"

/**
 * w2w_init - empty rings for every ordered pair of @nr_workers workers.
 * @m:          rings
 * @nr_workers: workers
 *
 * Return: 0 or -ENOMEM.
 */
int w2w_init(struct w2w *m, unsigned int nr_workers)
{
	size_t size = (size_t)nr_workers * nr_workers * sizeof(*m->rings);

	m->rings = aligned_alloc(64, size);
	if (!m->rings)
		return -ENOMEM;
	memset(m->rings, 0, size);
	m->nr = nr_workers;
	return 0;
}

/**
 * w2w_destroy - free the rings; the frames on them must have been taken off first.
 * @m: rings (zeroed, or from w2w_init)
 */
void w2w_destroy(struct w2w *m)
{
	free(m->rings);
	m->rings = NULL;
	m->nr = 0;
}
