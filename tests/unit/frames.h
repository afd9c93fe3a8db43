// SPDX-License-Identifier: GPL-2.0
// frames.h - the unit tests' one frame builder: Ethernet (+ VLAN tags) / IPv4 or IPv6 / TCP, UDP
// or ICMP with every length and checksum right, and the struct ixdp_flow the parser must extract.
//
// Checksums are right: the IPv4 header's, and TCP's, UDP's and ICMP(v6)'s over their header and
// payload.  The pseudo header (none for ICMP over IPv4) counts the L4 length only, never an IPv6
// extension header in front; a UDP sum of 0 goes out as 0xffff, since 0 means "none" (RFC 768).
// Other protocols carry no checksum.  The mangle helpers change one field and leave the
// checksums as built, so those no longer match.
#ifndef IXDP_TEST_FRAMES_H
#define IXDP_TEST_FRAMES_H

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

extern "C" {
#include "ixdp/parse.h"
#include "net/csum.h"
}

// Default addresses: the peer sends to us.  Documentation ranges only (RFC 2544, RFC 3849).
const char kLocal4[] = "198.18.0.1";
const char kPeer4[] = "198.18.0.2";
const char kLocal6[] = "2001:db8::1";
const char kPeer6[] = "2001:db8::2";

// Everything the parser looks at; build() makes every length field and checksum consistent.
struct Spec {
	int family = 4;
	uint8_t proto = IPPROTO_UDP;
	std::string src = kPeer4, dst = kLocal4;
	uint16_t sport = 40000;
	uint16_t dport = 9000;
	std::vector<uint16_t> tags;		// VLAN TPIDs, outermost first
	uint8_t ihl = 5;			// IPv4 header words, options are NOPs
	uint16_t frag = 0;			// IPv4 flags + fragment offset, host order
	int ext = -1;				// IPv6 extension header in front of L4
	uint8_t doff = 5;			// TCP header words, options are NOPs
	size_t payload = 18;
	size_t pad = 0;				// Ethernet padding after the IP datagram

	Spec &tag(uint16_t tpid) { tags.push_back(tpid); return *this; }
	Spec &with_ihl(uint8_t v) { ihl = v; return *this; }
	Spec &with_frag(uint16_t v) { frag = v; return *this; }
	Spec &with_ext(int v) { ext = v; return *this; }
	Spec &with_doff(uint8_t v) { doff = v; return *this; }
	Spec &with_payload(size_t v) { payload = v; return *this; }
	Spec &with_pad(size_t v) { pad = v; return *this; }
	Spec &from(const std::string &a, uint16_t port) { src = a; sport = port; return *this; }
	Spec &to(const std::string &a, uint16_t port) { dst = a; dport = port; return *this; }
};

// @proto from the family's peer to @dst (empty: the family's local address), port @dport.
inline Spec l4(int family, uint8_t proto, uint16_t dport, const std::string &dst = "")
{
	Spec s;

	s.family = family;
	s.proto = proto;
	s.src = family == 4 ? kPeer4 : kPeer6;
	s.dst = !dst.empty() ? dst : family == 4 ? kLocal4 : kLocal6;
	s.dport = dport;
	return s;
}

inline Spec udp(int family, uint16_t dport, const std::string &dst = "")
{
	return l4(family, IPPROTO_UDP, dport, dst);
}

inline Spec tcp(int family, uint16_t dport, const std::string &dst = "")
{
	return l4(family, IPPROTO_TCP, dport, dst);
}

// How gtest shows a Spec parameter or trace: what tells the frames apart.
inline void PrintTo(const Spec &s, std::ostream *os)
{
	*os << "proto " << (int)s.proto << " " << s.src << ":" << s.sport << " -> " << s.dst << ":"
	    << s.dport << ", " << s.tags.size() << " tags, ihl " << (int)s.ihl << ", frag "
	    << s.frag << ", ext " << s.ext << ", doff " << (int)s.doff << ", payload "
	    << s.payload << ", pad " << s.pad;
}

// A frame and what parse.h should extract from it.
struct Frame {
	std::vector<uint8_t> b;
	size_t l3 = 0, l4 = 0;
	size_t end = 0;				// of the IP datagram: Ethernet padding follows
	struct ixdp_flow flow = {};
};

// Address text to the network-order words of struct ixdp_flow / the map keys.
inline void parse_addr(int family, const std::string &s, __u32 out[4])
{
	uint8_t buf[16] = {};

	if (inet_pton(family == 4 ? AF_INET : AF_INET6, s.c_str(), buf) != 1)
		ADD_FAILURE() << "bad address " << s;
	memcpy(out, buf, 16);
}

inline void push16(std::vector<uint8_t> &b, uint16_t v)
{
	b.push_back(v >> 8);
	b.push_back(v & 0xff);
}

inline void put16(std::vector<uint8_t> &b, size_t off, uint16_t v)
{
	b[off] = v >> 8;
	b[off + 1] = v & 0xff;
}

inline void push_bytes(std::vector<uint8_t> &b, const void *p, size_t n)
{
	b.insert(b.end(), (const uint8_t *)p, (const uint8_t *)p + n);
}

// The MACs are the peer's and ours as well; reflect_test swaps them.
inline void push_eth(std::vector<uint8_t> &b, const std::vector<uint16_t> &tags, uint16_t type)
{
	static const uint8_t macs[12] = { 2, 0, 0xc6, 0x12, 0, 1, 2, 0, 0xc6, 0x12, 0, 2 };

	push_bytes(b, macs, sizeof(macs));
	for (uint16_t tpid : tags) {
		push16(b, tpid);
		push16(b, 100);		// VID 100
	}
	push16(b, type);
}

// The L4 header and payload, checksum zero: it needs the IP header, which needs the L4 length.
inline std::vector<uint8_t> l4_bytes(const Spec &s)
{
	std::vector<uint8_t> h;

	if (s.proto == IPPROTO_UDP) {
		push16(h, s.sport);
		push16(h, s.dport);
		push16(h, 8 + s.payload);
		push16(h, 0);
	} else if (s.proto == IPPROTO_TCP) {
		push16(h, s.sport);
		push16(h, s.dport);
		h.insert(h.end(), 8, 0);		// seq, ack
		h.push_back(s.doff << 4);
		h.push_back(0x02);			// SYN
		push16(h, 65535);
		h.insert(h.end(), 4, 0);		// checksum, urgent pointer
		if (s.doff > 5)
			h.insert(h.end(), (s.doff - 5) * 4, 1);	// NOP options
	} else {
		h.push_back(s.family == 4 ? 8 : 128);	// ICMP(v6) echo request, or just bytes
		h.insert(h.end(), 7, 0);
	}
	for (size_t i = 0; i < s.payload; i++)
		h.push_back(i & 0xff);
	return h;
}

inline void push_ip4(Frame &f, const Spec &s, size_t l4len)
{
	f.b.push_back(0x40 | s.ihl);
	f.b.push_back(0);
	push16(f.b, s.ihl * 4 + l4len);
	push16(f.b, 1);				// id
	push16(f.b, s.frag);
	f.b.push_back(64);
	f.b.push_back(s.proto);
	push16(f.b, 0);				// checksum, once the header is complete
	push_bytes(f.b, f.flow.saddr, 4);
	push_bytes(f.b, f.flow.daddr, 4);
	f.b.insert(f.b.end(), (s.ihl - 5) * 4, 1);	// NOP options
}

inline void push_ip6(Frame &f, const Spec &s, size_t l4len)
{
	static const uint8_t padn[6] = { 1, 4, 0, 0, 0, 0 };

	push16(f.b, 0x6000);
	push16(f.b, 0);
	push16(f.b, l4len + (s.ext >= 0 ? 8 : 0));
	f.b.push_back(s.ext >= 0 ? s.ext : s.proto);
	f.b.push_back(64);
	push_bytes(f.b, f.flow.saddr, 16);
	push_bytes(f.b, f.flow.daddr, 16);
	if (s.ext >= 0) {			// 8 bytes: next header, length 0, PadN
		f.b.push_back(s.proto);
		f.b.push_back(0);
		push_bytes(f.b, padn, sizeof(padn));
	}
}

// Where @proto keeps its checksum in the L4 header; 0: built without one.
inline size_t l4_csum_off(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_UDP:
		return 6;
	case IPPROTO_TCP:
		return 16;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return 2;
	default:
		return 0;
	}
}

// The sums are stored as folded: the one's-complement sum is byte-order independent.
inline void put_csums(Frame &f, int family, uint8_t proto)
{
	size_t at = l4_csum_off(proto), len = f.end - f.l4;
	__u64 sum = 0;
	uint16_t c;

	if (at) {
		if (family == 6)
			sum = csum_pseudo_v6(f.flow.saddr, f.flow.daddr, proto, len);
		else if (proto != IPPROTO_ICMP)		// ICMP alone sums no pseudo header
			sum = csum_pseudo_v4(f.flow.saddr, f.flow.daddr, proto, len);
		c = ~csum_fold(csum_partial(&f.b[f.l4], len, sum));
		if (proto == IPPROTO_UDP && c == 0)
			c = 0xffff;			// 0 would say "no checksum"
		memcpy(&f.b[f.l4 + at], &c, 2);
	}
	if (family == 4) {
		c = ~csum_fold(csum_partial(&f.b[f.l3], f.l4 - f.l3, 0));
		memcpy(&f.b[f.l3 + 10], &c, 2);
	}
}

inline Frame build(const Spec &s)
{
	std::vector<uint8_t> l4 = l4_bytes(s);
	Frame f;

	parse_addr(s.family, s.src, f.flow.saddr);
	parse_addr(s.family, s.dst, f.flow.daddr);
	push_eth(f.b, s.tags, s.family == 4 ? ETH_P_IP : ETH_P_IPV6);
	f.l3 = f.b.size();
	if (s.family == 4)
		push_ip4(f, s, l4.size());
	else
		push_ip6(f, s, l4.size());
	f.l4 = f.b.size();
	f.b.insert(f.b.end(), l4.begin(), l4.end());
	f.end = f.b.size();
	f.b.insert(f.b.end(), s.pad, 0);
	put_csums(f, s.family, s.proto);

	f.flow.sport = s.sport;
	f.flow.dport = s.dport;
	f.flow.proto = s.proto;
	f.flow.family = s.family;
	return f;
}

inline Frame arp(const std::vector<uint16_t> &tags = {})
{
	static const uint8_t body[28] = {
		0, 1, 8, 0, 6, 4, 0, 1,				// Ethernet/IPv4 request
		2, 0, 0xc6, 0x12, 0, 2, 198, 18, 0, 2,		// sender: the peer
		0, 0, 0, 0, 0, 0, 198, 18, 0, 1,		// target: us
	};
	Frame f;

	push_eth(f.b, tags, ETH_P_ARP);
	f.l3 = f.l4 = f.b.size();
	push_bytes(f.b, body, sizeof(body));
	f.end = f.b.size();
	return f;
}

inline Frame ethertype(uint16_t type, size_t len)
{
	Frame f;

	push_eth(f.b, {}, type);
	f.l3 = f.l4 = f.b.size();
	f.b.insert(f.b.end(), len, 0x5a);
	f.end = f.b.size();
	return f;
}

// Mangle one field of a built frame; checksums stay as built, so they no longer match.
inline Frame ip_byte0(Frame f, uint8_t v) { f.b[f.l3] = v; return f; }
inline Frame ip4_tot_len(Frame f, uint16_t v) { put16(f.b, f.l3 + 2, v); return f; }
inline Frame ip6_payload_len(Frame f, uint16_t v) { put16(f.b, f.l3 + 4, v); return f; }
inline Frame ip6_next_header(Frame f, uint8_t v) { f.b[f.l3 + 6] = v; return f; }
inline Frame udp_len(Frame f, uint16_t v) { put16(f.b, f.l4 + 4, v); return f; }
inline Frame tcp_doff(Frame f, uint8_t doff) { f.b[f.l4 + 12] = doff << 4; return f; }

#endif // IXDP_TEST_FRAMES_H
