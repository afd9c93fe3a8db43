// SPDX-License-Identifier: GPL-2.0
// frames.h - build Ethernet (+802.1Q) / IPv4 or IPv6 / TCP or UDP test frames with correct
// lengths and checksums, and the struct ixdp_flow the parser should extract from them.
#ifndef IXDP_TEST_FRAMES_H
#define IXDP_TEST_FRAMES_H

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include "csum.h"
#include "ixdp/parse.h"
}

struct FrameSpec {
	int family = 4;			// 4 or 6
	int proto = IPPROTO_UDP;	// IPPROTO_UDP or IPPROTO_TCP (others: raw payload)
	bool vlan = false;
	std::string src = "198.18.0.2";
	std::string dst = "198.18.0.1";
	uint16_t sport = 40000;
	uint16_t dport = 9000;
	size_t payload = 18;
	unsigned ip_option_words = 0;	// IPv4 options, 4-byte words (0..10)
	size_t pad_to = 0;		// Ethernet padding up to this frame length
};

static inline void put16(std::vector<uint8_t> &f, size_t off, uint16_t host)
{
	uint16_t be = htons(host);
	memcpy(&f[off], &be, 2);
}

static inline uint16_t get16(const std::vector<uint8_t> &f, size_t off)
{
	uint16_t be;
	memcpy(&be, &f[off], 2);
	return ntohs(be);
}

// Offsets of the headers in a frame built from @s.
struct FrameLayout {
	size_t l3, l4, end;
};

static inline FrameLayout frame_layout(const FrameSpec &s)
{
	size_t l3 = 14 + (s.vlan ? 4 : 0);
	size_t l4 = l3 + (s.family == 4 ? 20 + 4 * s.ip_option_words : 40);
	size_t l4len = s.proto == IPPROTO_TCP ? 20 : (s.proto == IPPROTO_UDP ? 8 : 0);
	return { l3, l4, l4 + l4len + s.payload };
}

static inline std::vector<uint8_t> build_frame(const FrameSpec &s)
{
	FrameLayout L = frame_layout(s);
	std::vector<uint8_t> f(L.end > s.pad_to ? L.end : s.pad_to, 0);
	const uint8_t dmac[6] = { 0x02, 0, 0xc6, 0x12, 0, 1 }, smac[6] = { 0x02, 0, 0xc6, 0x12, 0, 2 };
	size_t l4len = L.end - L.l4;

	memcpy(&f[0], dmac, 6);
	memcpy(&f[6], smac, 6);
	if (s.vlan) {
		put16(f, 12, 0x8100);
		put16(f, 14, 42);
	}
	put16(f, L.l3 - 2, s.family == 4 ? 0x0800 : 0x86dd);

	uint8_t *ip = &f[L.l3];
	if (s.family == 4) {
		ip[0] = 0x40 | (5 + s.ip_option_words);
		put16(f, L.l3 + 2, L.end - L.l3);
		ip[8] = 64;
		ip[9] = s.proto;
		inet_pton(AF_INET, s.src.c_str(), ip + 12);
		inet_pton(AF_INET, s.dst.c_str(), ip + 16);
		for (unsigned i = 0; i < s.ip_option_words * 4; i++)
			ip[20 + i] = 1; // NOP options
		uint16_t c = ~csum_fold(csum_partial(ip, L.l4 - L.l3, 0));
		memcpy(ip + 10, &c, 2);
	} else {
		ip[0] = 0x60;
		put16(f, L.l3 + 4, L.end - L.l4);
		ip[6] = s.proto;
		ip[7] = 64;
		inet_pton(AF_INET6, s.src.c_str(), ip + 8);
		inet_pton(AF_INET6, s.dst.c_str(), ip + 24);
	}

	for (size_t i = 0; i < s.payload; i++)
		f[L.end - s.payload + i] = (uint8_t)(i * 7 + 3);
	if (s.proto != IPPROTO_UDP && s.proto != IPPROTO_TCP)
		return f;

	put16(f, L.l4, s.sport);
	put16(f, L.l4 + 2, s.dport);
	size_t csum_off;
	if (s.proto == IPPROTO_UDP) {
		put16(f, L.l4 + 4, l4len);
		csum_off = L.l4 + 6;
	} else {
		f[L.l4 + 12] = 5 << 4; // doff
		f[L.l4 + 13] = 0x02;   // SYN
		put16(f, L.l4 + 14, 65535);
		csum_off = L.l4 + 16;
	}
	__u64 sum = s.family == 4 ?
		csum_pseudo_v4(ip + 12, ip + 16, s.proto, l4len) :
		csum_pseudo_v6(ip + 8, ip + 24, s.proto, l4len);
	uint16_t c = ~csum_fold(csum_partial(&f[L.l4], l4len, sum));
	if (s.proto == IPPROTO_UDP && c == 0)
		c = 0xffff;
	memcpy(&f[csum_off], &c, 2);
	return f;
}

// The flow ixdp_parse() must extract from a frame built from @s.
static inline struct ixdp_flow flow_of(const FrameSpec &s)
{
	struct ixdp_flow fl;

	memset(&fl, 0, sizeof(fl));
	fl.family = s.family == 4 ? IXDP_FAMILY_INET : IXDP_FAMILY_INET6;
	fl.proto = s.proto;
	fl.sport = s.sport;
	fl.dport = s.dport;
	inet_pton(s.family == 4 ? AF_INET : AF_INET6, s.src.c_str(), fl.saddr);
	inet_pton(s.family == 4 ? AF_INET : AF_INET6, s.dst.c_str(), fl.daddr);
	return fl;
}

#endif // IXDP_TEST_FRAMES_H
