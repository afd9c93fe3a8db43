/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fg.h - the flow group table: which worker owns each group.
 *
 * The control thread is the only writer; workers read owners without a lock to account for
 * what they receive.  The XDP program's fg_owner map is the copy that steers: fg_move() updates
 * the map first, then this table.
 */
#ifndef IXDP_FG_H
#define IXDP_FG_H

#include <linux/types.h>

#include "ixdp/steer.h"

struct steer;

struct fg_table {
	__u32 nr;		/* flow groups, a power of two */
	__u32 nr_workers;
	__u32 owner[IXDP_FG_MAX];
};

void fg_init(struct fg_table *t, __u32 nr, __u32 nr_workers);
int fg_publish(const struct fg_table *t, struct steer *s);
int fg_move(struct fg_table *t, struct steer *s, __u32 fg, __u32 worker);
__u32 fg_count_owned(const struct fg_table *t, __u32 worker);

static inline __u32 fg_owner(const struct fg_table *t, __u32 fg)
{
	return __atomic_load_n(&t->owner[fg], __ATOMIC_RELAXED);
}

#endif /* IXDP_FG_H */
