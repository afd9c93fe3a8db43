/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fg.h - the flow group table: which worker owns each group.
 *
 * The control thread is the only writer; workers read owners without a lock to decide whether
 * a frame they received is theirs or goes to its owner.  The packet I/O backend holds the copy
 * that steers (AF_XDP: the XDP program's fg_owner map; a NIC driver: its RSS or flow director
 * table): fg_move() updates the backend first, then this table.
 */
#ifndef IXDP_FG_H
#define IXDP_FG_H

#include <linux/types.h>

#include "ixdp/steer.h"

struct pktio;

struct fg_table {
	__u32 nr;		/* flow groups, a power of two */
	__u32 nr_workers;
	__u32 owner[IXDP_FG_MAX];
};

void fg_init(struct fg_table *t, __u32 nr, __u32 nr_workers);
int fg_publish(const struct fg_table *t, struct pktio *io);
int fg_move(struct fg_table *t, struct pktio *io, __u32 fg, __u32 worker);
__u32 fg_count_owned(const struct fg_table *t, __u32 worker);

static inline __u32 fg_owner(const struct fg_table *t, __u32 fg)
{
	return __atomic_load_n(&t->owner[fg], __ATOMIC_RELAXED);
}

#endif /* IXDP_FG_H */
