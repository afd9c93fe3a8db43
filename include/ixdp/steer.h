/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * steer.h - the XDP steering program's maps, counters and flow hash.
 *
 * Included by the BPF program (bpf/ixdp_steer.bpf.c) and by userspace (daemon, tests), so both
 * sides agree on every map layout and compute the same flow group for the same packet.  Nothing
 * here may depend on libc or on BPF helpers.
 *
 *   packet ──► parse (parse.h) ──► ours? (services / ephemeral range of a local address)
 *                                    │ no ──► XDP_PASS (kernel)
 *                                    ▼ yes
 *              fg = ixdp_flow_hash(5-tuple) & fg_mask ──► owner = fg_owner[fg]
 *                                    ▼
 *              bpf_redirect_map(xsks, rx_queue * nr_workers + owner, XDP_PASS)
 *
 * An AF_XDP socket bound to queue q only accepts frames that arrived on queue q, so every
 * worker owns one socket per rx queue: the XSKMAP is a (queue × worker) matrix.
 */
#ifndef IXDP_STEER_H
#define IXDP_STEER_H

#include <linux/types.h>

/* Bump when a map's key or value layout below changes. */
#define IXDP_STEER_ABI 1

#define IXDP_FG_MAX		4096	/* flow groups (power of two) */
#define IXDP_WORKERS_MAX	64
#define IXDP_QUEUES_MAX		64
#define IXDP_XSK_MAX		(IXDP_QUEUES_MAX * IXDP_WORKERS_MAX)
#define IXDP_SERVICES_MAX	1024
#define IXDP_LOCAL_ADDRS_MAX	256
#define IXDP_FG_DEFAULT		256

/* Map names, as the kernel reports them (BPF_OBJ_NAME_LEN = 16 with the NUL). */
#define IXDP_MAP_CFG		"ixdp_cfg"
#define IXDP_MAP_FG_OWNER	"fg_owner"
#define IXDP_MAP_XSKS		"xsks"
#define IXDP_MAP_SERVICES	"services"
#define IXDP_MAP_LOCAL_ADDRS	"local_addrs"
#define IXDP_MAP_FG_STATS	"fg_stats"
#define IXDP_MAP_STEER_STATS	"steer_stats"
#define IXDP_PROG_NAME		"ixdp_steer"

/* Address families as the program sees them (AF_* values are not visible to BPF). */
enum ixdp_family {
	IXDP_FAMILY_INET = 4,
	IXDP_FAMILY_INET6 = 6,
};

/*
 * ixdp_cfg[0]: written by the daemon after load (or after it found an externally attached
 * program).  While nr_workers is 0 the program passes every packet to the kernel.
 */
struct ixdp_steer_cfg {
	__u32 nr_workers;	/* columns of the xsks matrix */
	__u32 nr_queues;	/* rows of the xsks matrix */
	__u32 fg_mask;		/* flow groups - 1 */
	__u32 hash_seed;
	__u16 eph_lo;		/* reserved ephemeral range, host order; lo > hi: none */
	__u16 eph_hi;
	__u32 abi;		/* IXDP_STEER_ABI of the daemon that wrote it */
};

/* services: {proto, family, port, dst address or all-zero wildcard} -> service id. */
struct ixdp_svc_key {
	__u8 proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family;		/* enum ixdp_family */
	__u16 port;		/* host order */
	__u32 addr[4];		/* network order; IPv4 in addr[0]; zero = any address */
};

/* local_addrs: the dataplane's own addresses, whose ephemeral range is ixdp's. */
struct ixdp_addr_key {
	__u32 family;
	__u32 addr[4];
};

/* fg_stats: per-CPU, one entry per flow group. */
struct ixdp_fg_stats {
	__u64 packets;
	__u64 bytes;
};

/* steer_stats: per-CPU totals, one entry per counter; every frame lands in exactly one. */
enum ixdp_steer_counter {
	IXDP_CNT_REDIRECTED,	/* handed to an AF_XDP socket */
	IXDP_CNT_PASSED,	/* parsed, not ixdp's: the kernel keeps it */
	IXDP_CNT_NOT_PARSED,	/* malformed, truncated, fragment, IPv6 extension header, QinQ */
	IXDP_CNT_NO_SOCKET,	/* ixdp's, but no socket in the target slot: passed */
	IXDP_CNT_MAX,
};

/* The 5-tuple the flow hash is computed over; addresses and ports as parse.h fills them. */
struct ixdp_flow {
	__u32 saddr[4];		/* network order; IPv4 in [0], rest zero */
	__u32 daddr[4];
	__u16 sport;		/* host order */
	__u16 dport;
	__u8 proto;
	__u8 family;
	__u16 pad;
};

#ifndef IXDP_INLINE
#define IXDP_INLINE static inline __attribute__((always_inline))
#endif

IXDP_INLINE __u32 ixdp_rotl32(__u32 x, int r)
{
	return (x << r) | (x >> (32 - r));
}

/* One MurmurHash3 (x86_32) body round. */
IXDP_INLINE __u32 ixdp_hash_round(__u32 h, __u32 k)
{
	k *= 0xcc9e2d51;
	k = ixdp_rotl32(k, 15);
	k *= 0x1b873593;
	h ^= k;
	h = ixdp_rotl32(h, 13);
	return h * 5 + 0xe6546b64;
}

/* MurmurHash3's finaliser: every input bit affects every output bit. */
IXDP_INLINE __u32 ixdp_hash_final(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

/*
 * ixdp_flow_hash - hash of a flow's 5-tuple.
 *
 * Each field goes through its own mixing round, so flows whose ports move together (sport and
 * dport both incremented) still spread: a hash over sport ^ dport would collapse them.
 */
IXDP_INLINE __u32 ixdp_flow_hash(const struct ixdp_flow *f, __u32 seed)
{
	__u32 h = seed;
	int i;

	h = ixdp_hash_round(h, f->saddr[0]);
	h = ixdp_hash_round(h, f->daddr[0]);
	if (f->family == IXDP_FAMILY_INET6) {
		/* Constant bound: clang unrolls it for BPF. */
		for (i = 1; i < 4; i++) {
			h = ixdp_hash_round(h, f->saddr[i]);
			h = ixdp_hash_round(h, f->daddr[i]);
		}
	}
	h = ixdp_hash_round(h, (__u32)f->sport << 16 | f->dport);
	h = ixdp_hash_round(h, f->proto);
	return ixdp_hash_final(h);
}

/* ixdp_flow_group - the flow group of @f for a table of fg_mask + 1 groups. */
IXDP_INLINE __u32 ixdp_flow_group(const struct ixdp_flow *f, __u32 seed, __u32 fg_mask)
{
	return ixdp_flow_hash(f, seed) & fg_mask;
}

#endif /* IXDP_STEER_H */
