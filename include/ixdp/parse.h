/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * parse.h - bounds-checked frame parser shared by the XDP program and the daemon's workers.
 *
 * One implementation, compiled twice: by clang for BPF (where every access must be proven in
 * bounds against data_end before the verifier accepts it) and by gcc for the workers and the
 * fuzzer.  It reads Ethernet, at most one 802.1Q/802.1ad tag, IPv4 (with options) or IPv6
 * (fixed header), then the TCP or UDP ports.  It never reads past @end and never writes to the
 * frame.
 */
#ifndef IXDP_PARSE_H
#define IXDP_PARSE_H

#include <linux/types.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include "steer.h"

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ixdp_htons(x) ((__u16)__builtin_bswap16(x))
#else
#define ixdp_htons(x) ((__u16)(x))
#endif
#define ixdp_ntohs(x) ixdp_htons(x)

#define IXDP_ETH_P_8021AD 0x88A8
#define IXDP_IP_MF 0x2000
#define IXDP_IP_OFFSET 0x1FFF

enum ixdp_parse_result {
	IXDP_PARSE_L4,		/* IPv4/IPv6 with a complete TCP or UDP header: flow is valid */
	IXDP_PARSE_OTHER,	/* well formed, but not TCP/UDP over IP (ARP, ICMP, ...) */
	IXDP_PARSE_BAD,		/* truncated, malformed, fragmented, extension headers, QinQ */
};

struct ixdp_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/*
 * Headers sit at any offset (the IPv4 header of an untagged frame is 2 bytes off a 4-byte
 * boundary).  In userspace, read them through byte-aligned views so that no access is undefined
 * behaviour; x86 compiles them to the same loads.  BPF keeps the plain structs: the verifier
 * allows unaligned packet reads, and an under-aligned type would make clang emit byte loads.
 */
#ifdef __bpf__
#define IXDP_UNALIGNED
#else
#define IXDP_UNALIGNED __attribute__((aligned(1)))
#endif
typedef struct ethhdr ixdp_eth_t IXDP_UNALIGNED;
typedef struct ixdp_vlan_hdr ixdp_vlan_t IXDP_UNALIGNED;
typedef struct iphdr ixdp_ip4_t IXDP_UNALIGNED;
typedef struct ipv6hdr ixdp_ip6_t IXDP_UNALIGNED;
typedef struct tcphdr ixdp_tcp_t IXDP_UNALIGNED;
typedef struct udphdr ixdp_udp_t IXDP_UNALIGNED;

/* What the parser learned; offsets count from the first byte of the frame. */
struct ixdp_pkt {
	struct ixdp_flow flow;
	__u16 l3_off;		/* IP header */
	__u16 l4_off;		/* TCP/UDP header */
	__u16 l3_len;		/* IP datagram length from the header (frame may be padded) */
	__u16 eth_proto;	/* host order, after the VLAN tag */
};

/* IPv6 next-header values that are extension headers (RFC 8200 §4, RFC 4302/4303, RFC 5533...). */
IXDP_INLINE int ixdp_ipv6_is_ext(__u8 nexthdr)
{
	switch (nexthdr) {
	case 0:   /* hop-by-hop options */
	case 43:  /* routing */
	case 44:  /* fragment */
	case 50:  /* ESP */
	case 51:  /* AH */
	case 60:  /* destination options */
	case 135: /* mobility */
	case 139: /* HIP */
	case 140: /* shim6 */
		return 1;
	}
	return 0;
}

/* Ports of a TCP or UDP header at @l4, which must end within @l3_end (and @end). */
IXDP_INLINE int ixdp_parse_l4(const __u8 *l4, const __u8 *l3_end, const void *end,
			      struct ixdp_pkt *pkt)
{
	if (pkt->flow.proto == IPPROTO_TCP) {
		const ixdp_tcp_t *th = (const ixdp_tcp_t *)l4;

		if ((const void *)(th + 1) > end || (const __u8 *)(th + 1) > l3_end)
			return IXDP_PARSE_BAD;
		if (th->doff < 5 || l4 + th->doff * 4 > l3_end)
			return IXDP_PARSE_BAD;
		pkt->flow.sport = ixdp_ntohs(th->source);
		pkt->flow.dport = ixdp_ntohs(th->dest);
		return IXDP_PARSE_L4;
	}
	if (pkt->flow.proto == IPPROTO_UDP) {
		const ixdp_udp_t *uh = (const ixdp_udp_t *)l4;
		__u16 ulen;

		if ((const void *)(uh + 1) > end || (const __u8 *)(uh + 1) > l3_end)
			return IXDP_PARSE_BAD;
		ulen = ixdp_ntohs(uh->len);
		if (ulen < sizeof(*uh) || l4 + ulen > l3_end)
			return IXDP_PARSE_BAD;
		pkt->flow.sport = ixdp_ntohs(uh->source);
		pkt->flow.dport = ixdp_ntohs(uh->dest);
		return IXDP_PARSE_L4;
	}
	return IXDP_PARSE_OTHER;
}

IXDP_INLINE int ixdp_parse_ipv4(const __u8 *l3, const void *end, struct ixdp_pkt *pkt)
{
	const ixdp_ip4_t *ip = (const ixdp_ip4_t *)l3;
	__u32 hlen, tot;

	if ((const void *)(ip + 1) > end)
		return IXDP_PARSE_BAD;
	if (ip->version != 4 || ip->ihl < 5)
		return IXDP_PARSE_BAD;
	hlen = ip->ihl * 4;
	tot = ixdp_ntohs(ip->tot_len);
	if (tot < hlen || (const void *)(l3 + tot) > end)
		return IXDP_PARSE_BAD;
	/*
	 * Any fragment, the first included, goes to the kernel: it can reassemble the datagram,
	 * whereas splitting one datagram between two stacks would lose it.
	 */
	if (ip->frag_off & ixdp_htons(IXDP_IP_MF | IXDP_IP_OFFSET))
		return IXDP_PARSE_BAD;

	pkt->l3_len = tot;
	pkt->flow.family = IXDP_FAMILY_INET;
	pkt->flow.proto = ip->protocol;
	pkt->flow.saddr[0] = ip->saddr;
	pkt->flow.daddr[0] = ip->daddr;
	pkt->l4_off = pkt->l3_off + hlen;
	return ixdp_parse_l4(l3 + hlen, l3 + tot, end, pkt);
}

IXDP_INLINE int ixdp_parse_ipv6(const __u8 *l3, const void *end, struct ixdp_pkt *pkt)
{
	const ixdp_ip6_t *ip6 = (const ixdp_ip6_t *)l3;
	__u32 tot;

	if ((const void *)(ip6 + 1) > end)
		return IXDP_PARSE_BAD;
	if (ip6->version != 6)
		return IXDP_PARSE_BAD;
	tot = sizeof(*ip6) + ixdp_ntohs(ip6->payload_len);
	if ((const void *)(l3 + tot) > end)
		return IXDP_PARSE_BAD;
	/* Extension headers (a jumbogram's payload_len 0 needs one) are the kernel's to walk. */
	if (ixdp_ipv6_is_ext(ip6->nexthdr))
		return IXDP_PARSE_BAD;

	pkt->l3_len = tot;
	pkt->flow.family = IXDP_FAMILY_INET6;
	pkt->flow.proto = ip6->nexthdr;
	__builtin_memcpy(pkt->flow.saddr, &ip6->saddr, 16);
	__builtin_memcpy(pkt->flow.daddr, &ip6->daddr, 16);
	pkt->l4_off = pkt->l3_off + sizeof(*ip6);
	return ixdp_parse_l4(l3 + sizeof(*ip6), l3 + tot, end, pkt);
}

/**
 * ixdp_parse - classify a frame and extract its flow.
 * @data: first byte of the Ethernet header
 * @end:  one past the last byte of the frame
 * @pkt:  filled in; pkt->flow is valid only when IXDP_PARSE_L4 is returned
 *
 * Return: an enum ixdp_parse_result.
 */
IXDP_INLINE int ixdp_parse(const void *data, const void *end, struct ixdp_pkt *pkt)
{
	const ixdp_eth_t *eth = (const ixdp_eth_t *)data;
	const __u8 *l3 = (const __u8 *)(eth + 1);
	__be16 proto;

	__builtin_memset(pkt, 0, sizeof(*pkt));
	if ((const void *)(eth + 1) > end)
		return IXDP_PARSE_BAD;
	proto = eth->h_proto;
	if (proto == ixdp_htons(ETH_P_8021Q) || proto == ixdp_htons(IXDP_ETH_P_8021AD)) {
		const ixdp_vlan_t *vh = (const ixdp_vlan_t *)l3;

		if ((const void *)(vh + 1) > end)
			return IXDP_PARSE_BAD;
		proto = vh->proto;
		l3 = (const __u8 *)(vh + 1);
		if (proto == ixdp_htons(ETH_P_8021Q) || proto == ixdp_htons(IXDP_ETH_P_8021AD))
			return IXDP_PARSE_BAD; /* only one tag */
	}
	pkt->eth_proto = ixdp_ntohs(proto);
	pkt->l3_off = (__u16)(l3 - (const __u8 *)data);

	if (proto == ixdp_htons(ETH_P_IP))
		return ixdp_parse_ipv4(l3, end, pkt);
	if (proto == ixdp_htons(ETH_P_IPV6))
		return ixdp_parse_ipv6(l3, end, pkt);
	return IXDP_PARSE_OTHER;
}

#endif /* IXDP_PARSE_H */
