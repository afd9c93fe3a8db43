/* SPDX-License-Identifier: GPL-2.0 */
/*
 * stat.h - counters that one thread writes and another reads: the writer (a worker) updates its
 * own counter with a plain load and a relaxed store, so the control thread's relaxed load never
 * sees a torn value; no read-modify-write atomic is needed with a single writer.
 */
#ifndef IXDP_CORE_STAT_H
#define IXDP_CORE_STAT_H

#define STAT_ADD(x, n) __atomic_store_n(&(x), (x) + (n), __ATOMIC_RELAXED)
#define STAT_SUB(x, n) __atomic_store_n(&(x), (x) - (n), __ATOMIC_RELAXED)
#define STAT_INC(x) STAT_ADD(x, 1)
#define STAT_READ(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

#endif /* IXDP_CORE_STAT_H */
