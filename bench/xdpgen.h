/* SPDX-License-Identifier: GPL-2.0 */
/* xdpgen.h - what the raw benchmark's generator and sink programs share with xdpgen.c. */
#ifndef IXDP_BENCH_XDPGEN_H
#define IXDP_BENCH_XDPGEN_H

#include <linux/types.h>

/* Set in .rodata between open and load; the BPF side reads it as constants. */
struct xdpgen_cfg {
	__u32 out_ifindex;	/* the generator redirects every frame out of this device */
	__u32 nr_flows;		/* source ports sport_base .. sport_base + nr_flows - 1 */
	__u16 sport_base;	/* host order */
	__u16 port;		/* the reflector's UDP port, host order */
};

/* Per-CPU counters of the sink program on the generator's own device. */
enum xdpgen_sink_cnt {
	XDPGEN_SINK_FRAMES,	/* every frame that reached the device */
	XDPGEN_SINK_REFLECTED,	/* IPv4 UDP with either port = cfg.port: a reflected frame */
	XDPGEN_SINK_MAX,
};

#endif /* IXDP_BENCH_XDPGEN_H */
