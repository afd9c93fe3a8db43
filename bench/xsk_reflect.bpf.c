// SPDX-License-Identifier: GPL-2.0
/* xsk_reflect.bpf.c - the bare reflector's XDP program: each frame to its queue's AF_XDP socket. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define XSK_REFLECT_QUEUES_MAX 64

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, XSK_REFLECT_QUEUES_MAX);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

SEC("xdp")
int xsk_reflect_rx(struct xdp_md *ctx)
{
	/* A frame may only go to a socket bound to the queue it arrived on; no socket: the stack. */
	return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
}
