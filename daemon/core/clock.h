/* SPDX-License-Identifier: GPL-2.0 */
/* clock.h - CLOCK_MONOTONIC readings (vDSO, no system call) for timing, deadlines and rates. */
#ifndef IXDP_CLOCK_H
#define IXDP_CLOCK_H

#include <linux/types.h>
#include <time.h>

static inline __u64 clock_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static inline __u64 clock_now_ms(void)
{
	return clock_now_ns() / 1000000;
}

#endif /* IXDP_CLOCK_H */
