/* SPDX-License-Identifier: GPL-2.0 */
/*
 * steering.h - the daemon's handle on the XDP steering program: load and attach it through a BPF
 * link (native or generic), or find one attached with `ip link ... xdp obj`, then fill its maps.
 */
#ifndef IXDP_DSTEER_H
#define IXDP_DSTEER_H

#include <linux/types.h>
#include <stdbool.h>

#include "core/config.h"
#include "ixdp/steer.h"

struct ixdp_steer;	/* the bpftool skeleton */

/* Service ids, the values of the program's service table (what bpftool shows). */
enum steer_svc {
	STEER_SVC_REFLECT = 1,
	STEER_SVC_ECHO,
	STEER_SVC_SINK,
	STEER_SVC_APP,
};

struct steer {
	struct ixdp_steer *skel;	/* NULL in external mode */
	int link_fd;			/* -1 in external mode */
	int prog_fd;
	__u32 prog_id;
	unsigned int ifindex;
	enum cfg_xdp_mode mode;
	bool attached_native;		/* driver mode, as the kernel reports it */
	int nr_cpus;			/* for per-CPU maps */
	int cfg_fd;
	int fg_owner_fd;
	int xsks_fd;
	int services_fd;
	int local_addrs_fd;
	int fg_stats_fd;
	int stats_fd;
};

int steer_open(struct steer *s, unsigned int ifindex, const char *ifname, enum cfg_xdp_mode mode);
void steer_close(struct steer *s);
int steer_configure(struct steer *s, const struct ixdp_steer_cfg *cfg);
int steer_set_owner(struct steer *s, __u32 fg, __u32 worker);
int steer_set_xsk(struct steer *s, __u32 slot, int fd);
int steer_add_service(struct steer *s, const struct ixdp_svc_key *key, __u32 id);
int steer_del_service(struct steer *s, const struct ixdp_svc_key *key);
int steer_add_local_addr(struct steer *s, const struct ixdp_addr_key *key);
int steer_del_local_addr(struct steer *s, const struct ixdp_addr_key *key);
int steer_read_counters(struct steer *s, __u64 out[IXDP_CNT_MAX]);
int steer_read_fg(struct steer *s, __u32 fg, struct ixdp_fg_stats *out);

#endif /* IXDP_DSTEER_H */
