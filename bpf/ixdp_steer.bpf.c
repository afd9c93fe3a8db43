// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ixdp_steer.bpf.c - XDP program: pick out ixdp's flows, steer them by flow group.
 *
 * A frame is ixdp's when its (protocol, destination address, destination port) is in the
 * service table, exact or wildcard address, or when its destination port is in the reserved
 * ephemeral range and its destination address is one of the dataplane's own.  Those frames go to
 * the AF_XDP socket of the flow group's owner on the queue they arrived on; everything else,
 * including anything the parser cannot read, goes to the kernel.  Every frame is counted in
 * exactly one steer_stats counter.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "ixdp/parse.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ixdp_steer_cfg);
} ixdp_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, IXDP_FG_MAX);
	__type(key, __u32);
	__type(value, __u32);
} fg_owner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, IXDP_XSK_MAX);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, IXDP_SERVICES_MAX);
	__type(key, struct ixdp_svc_key);
	__type(value, __u32);
} services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, IXDP_LOCAL_ADDRS_MAX);
	__type(key, struct ixdp_addr_key);
	__type(value, __u32);
} local_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IXDP_FG_MAX);
	__type(key, __u32);
	__type(value, struct ixdp_fg_stats);
} fg_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IXDP_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} steer_stats SEC(".maps");

static __always_inline int count(__u32 counter, int verdict)
{
	__u64 *c = bpf_map_lookup_elem(&steer_stats, &counter);

	if (c)
		*c += 1;
	return verdict;
}

static __always_inline int is_ours(const struct ixdp_flow *f, const struct ixdp_steer_cfg *cfg)
{
	struct ixdp_svc_key svc = {
		.proto = f->proto,
		.family = f->family,
		.port = f->dport,
	};
	struct ixdp_addr_key local = { .family = f->family };

	__builtin_memcpy(svc.addr, f->daddr, sizeof(svc.addr));
	if (bpf_map_lookup_elem(&services, &svc))
		return 1;
	__builtin_memset(svc.addr, 0, sizeof(svc.addr));
	if (bpf_map_lookup_elem(&services, &svc))
		return 1;

	if (f->dport < cfg->eph_lo || f->dport > cfg->eph_hi)
		return 0;
	__builtin_memcpy(local.addr, f->daddr, sizeof(local.addr));
	return bpf_map_lookup_elem(&local_addrs, &local) != NULL;
}

SEC("xdp")
int ixdp_steer(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	const struct ixdp_steer_cfg *cfg;
	struct ixdp_fg_stats *fgs;
	struct ixdp_pkt pkt;
	__u32 zero = 0, fg, queue, slot;
	__u32 *owner;
	long verdict;

	switch (ixdp_parse(data, end, &pkt)) {
	case IXDP_PARSE_L4:
		break;
	case IXDP_PARSE_OTHER:
		return count(IXDP_CNT_PASSED, XDP_PASS);
	default:
		return count(IXDP_CNT_NOT_PARSED, XDP_PASS);
	}

	cfg = bpf_map_lookup_elem(&ixdp_cfg, &zero);
	if (!cfg || !cfg->nr_workers || !is_ours(&pkt.flow, cfg))
		return count(IXDP_CNT_PASSED, XDP_PASS);

	fg = ixdp_flow_group(&pkt.flow, cfg->hash_seed, cfg->fg_mask) & (IXDP_FG_MAX - 1);
	fgs = bpf_map_lookup_elem(&fg_stats, &fg);
	if (fgs) {
		fgs->packets += 1;
		fgs->bytes += end - data;
	}

	owner = bpf_map_lookup_elem(&fg_owner, &fg);
	queue = ctx->rx_queue_index;
	if (!owner || *owner >= cfg->nr_workers || queue >= cfg->nr_queues)
		return count(IXDP_CNT_NO_SOCKET, XDP_PASS);

	/* An empty slot (worker gone, socket closed) falls back to the kernel, counted. */
	slot = queue * cfg->nr_workers + *owner;
	verdict = bpf_redirect_map(&xsks, slot, XDP_PASS);
	if (verdict == XDP_REDIRECT)
		return count(IXDP_CNT_REDIRECTED, XDP_REDIRECT);
	return count(IXDP_CNT_NO_SOCKET, XDP_PASS);
}
