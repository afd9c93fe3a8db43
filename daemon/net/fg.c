// SPDX-License-Identifier: GPL-2.0
/* fg.c - flow group ownership: initial spread and moves between workers. */
#include <errno.h>

#include "core/log.h"
#include "net/fg.h"
#include "net/pktio.h"

/**
 * fg_init - spread @nr groups round-robin over @nr_workers workers.
 * @t:          table
 * @nr:         flow groups
 * @nr_workers: workers
 */
void fg_init(struct fg_table *t, __u32 nr, __u32 nr_workers)
{
	__u32 g;

	t->nr = nr;
	t->nr_workers = nr_workers;
	for (g = 0; g < nr; g++)
		t->owner[g] = g % nr_workers;
}

/**
 * fg_publish - give the packet I/O backend the whole table (what it steers by).
 * @t:  table
 * @io: backend
 *
 * Return: 0 or a negative errno.
 */
int fg_publish(const struct fg_table *t, struct pktio *io)
{
	__u32 g;
	int ret;

	for (g = 0; g < t->nr; g++) {
		ret = pktio_set_owner(io, g, t->owner[g]);
		if (ret)
			return ret;
	}
	return 0;
}

/**
 * fg_move - make @worker the owner of flow group @fg.
 * @t:      table
 * @io:     the packet I/O backend, which steers
 * @fg:     flow group
 * @worker: new owner
 *
 * Packet-level move: frames already in the old owner's RX ring reach it, and it forwards
 * them to the new owner over the worker-to-worker ring (core/worker.c).
 *
 * Return: 0, -ERANGE for a group or worker that does not exist, or the backend's error.
 */
int fg_move(struct fg_table *t, struct pktio *io, __u32 fg, __u32 worker)
{
	__u32 old;
	int ret;

	if (fg >= t->nr || worker >= t->nr_workers)
		return -ERANGE;
	old = t->owner[fg];
	if (old == worker)
		return 0;
	ret = pktio_set_owner(io, fg, worker);
	if (ret)
		return ret;
	__atomic_store_n(&t->owner[fg], worker, __ATOMIC_RELAXED);
	pr_info("flow group %u: worker %u -> %u", fg, old, worker);
	return 0;
}

/**
 * fg_count_owned - groups owned by @worker.
 * @t:      table
 * @worker: worker
 *
 * Return: the count.
 */
__u32 fg_count_owned(const struct fg_table *t, __u32 worker)
{
	__u32 g, n = 0;

	for (g = 0; g < t->nr; g++)
		n += fg_owner(t, g) == worker;
	return n;
}
