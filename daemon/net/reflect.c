// SPDX-License-Identifier: GPL-2.0
/*
 * reflect.c - the diagnostic UDP reflector (--reflect-udp PORT).
 *
 * Each datagram to PORT goes back to its sender with the same payload: MAC addresses, IP
 * addresses and ports swapped, the TTL/hop limit reset.  Checksums are verified on the way in,
 * so the reflector never returns a corrupt datagram as if it were good.  Swapping source and
 * destination does not change a one's-complement sum, so the UDP checksum stays valid as it is;
 * only the IPv4 header checksum is recomputed, for the new TTL.
 */
#include <errno.h>
#include <string.h>

#include "net/csum.h"
#include "net/reflect.h"

#define REFLECT_TTL 64

static void swap_bytes(void *a, void *b, size_t n)
{
	unsigned char t[16];

	memcpy(t, a, n);
	memcpy(a, b, n);
	memcpy(b, t, n);
}

/**
 * reflect_udp - turn a UDP datagram into its answer, in place.
 * @frame: the frame, starting at the Ethernet header
 * @len:   frame length
 * @pkt:   what ixdp_parse() found in it (IXDP_PARSE_L4, proto UDP)
 *
 * Return: the length of the answer to transmit (Ethernet padding removed), or -EBADMSG for a bad
 * IPv4 header or UDP checksum (or a zero UDP checksum over IPv6), -EINVAL for a frame that is
 * not a complete UDP datagram.
 */
int reflect_udp(void *frame, __u32 len, const struct ixdp_pkt *pkt)
{
	unsigned char *f = frame;
	ixdp_eth_t *eth = frame;
	ixdp_udp_t *uh;
	__u32 out_len = pkt->l3_off + pkt->l3_len;
	__u16 ulen;

	if (pkt->flow.proto != IPPROTO_UDP || out_len > len || pkt->l4_off + sizeof(*uh) > out_len)
		return -EINVAL;
	uh = (ixdp_udp_t *)(f + pkt->l4_off);
	ulen = ixdp_ntohs(uh->len);

	if (pkt->flow.family == IXDP_FAMILY_INET) {
		ixdp_ip4_t *ip = (ixdp_ip4_t *)(f + pkt->l3_off);
		__u32 hlen = ip->ihl * 4;

		if (csum_fold(csum_partial(ip, hlen, 0)) != 0xffff)
			return -EBADMSG;
		if (uh->check &&
		    csum_fold(csum_partial(
			    uh, ulen, csum_pseudo_v4(&ip->saddr, &ip->daddr, IPPROTO_UDP, ulen))) !=
			    0xffff)
			return -EBADMSG;
		swap_bytes(&ip->saddr, &ip->daddr, 4);
		ip->ttl = REFLECT_TTL;
		ip->check = 0;
		ip->check = ~csum_fold(csum_partial(ip, hlen, 0));
	} else {
		ixdp_ip6_t *ip6 = (ixdp_ip6_t *)(f + pkt->l3_off);

		if (!uh->check ||
		    csum_fold(csum_partial(
			    uh, ulen,
			    csum_pseudo_v6(&ip6->saddr, &ip6->daddr, IPPROTO_UDP, ulen))) != 0xffff)
			return -EBADMSG;
		swap_bytes(&ip6->saddr, &ip6->daddr, 16);
		ip6->hop_limit = REFLECT_TTL;
	}
	swap_bytes(&uh->source, &uh->dest, 2);
	swap_bytes(eth->h_source, eth->h_dest, ETH_ALEN);
	return out_len;
}
