// SPDX-License-Identifier: GPL-2.0
// reflect_test.cc - the UDP reflector: answers are the question with addresses and ports
// swapped and valid checksums; corrupt questions are refused, never answered.
#include <gtest/gtest.h>

#include <vector>

#include "frames.h"

extern "C" {
#include "net/reflect.h"
}

// Checked as a receiver would, from the bytes: the flow only says which sum applies.
static bool l4_csum_ok(const Frame &f)
{
	const uint8_t *ip = &f.b[f.l3];
	size_t len = f.end - f.l4;
	uint8_t proto = f.flow.proto;
	__u64 sum = 0;

	if (f.flow.family == 6)
		sum = csum_pseudo_v6(ip + 8, ip + 24, proto, len);
	else if (proto != IPPROTO_ICMP)
		sum = csum_pseudo_v4(ip + 12, ip + 16, proto, len);
	return csum_fold(csum_partial(&f.b[f.l4], len, sum)) == 0xffff;
}

static bool ip4_csum_ok(const Frame &f)
{
	return csum_fold(csum_partial(&f.b[f.l3], f.l4 - f.l3, 0)) == 0xffff;
}

static int reflect(std::vector<uint8_t> &f)
{
	struct ixdp_pkt pkt;

	if (ixdp_parse(f.data(), f.data() + f.size(), &pkt) != IXDP_PARSE_L4)
		return -1000;
	return reflect_udp(f.data(), f.size(), &pkt);
}

TEST(Csum, Rfc1071Example)
{
	// RFC 1071 §3: the sum of 00 01 f2 03 f4 f5 f6 f7 is ddf2.
	const uint8_t b[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	uint16_t folded = csum_fold(csum_partial(b, sizeof(b), 0));

	EXPECT_EQ(ntohs(folded), 0xddf2);
	// Odd lengths pad with a zero byte.
	const uint8_t odd[] = { 0x12, 0x34, 0x56 };
	EXPECT_EQ(ntohs(csum_fold(csum_partial(odd, 3, 0))), 0x1234 + 0x5600);
}

// The 16-byte loop against RFC 1071 done byte pair by byte pair, at every alignment and length
// up to a jumbo segment, also continuing a running sum (lwIP's checksum calls end up here too).
TEST(Csum, MatchesBytePairsAtEveryAlignmentAndLength)
{
	std::vector<uint8_t> buf(9100 + 8);
	uint32_t x = 12345;
	for (auto &b : buf) {
		x = x * 1103515245 + 12345;
		b = (uint8_t)(x >> 16);
	}
	buf[100] = buf[101] = 0xff; // all-ones words: the end-around carry
	for (size_t off = 0; off < 8; off++) {
		for (size_t len = 0; len <= 9100; len += len < 200 ? 1 : 97) {
			uint64_t ref = 0x1234;
			for (size_t i = 0; i < len; i += 2)
				ref += (uint32_t)buf[off + i] << 8 | (i + 1 < len ? buf[off + i + 1] : 0);
			while (ref >> 16)
				ref = (ref & 0xffff) + (ref >> 16);
			uint16_t got = csum_fold(csum_partial(&buf[off], len, htons(0x1234)));
			ASSERT_EQ(ntohs(got), ref) << "offset " << off << " length " << len;
		}
	}
}

// The reflector's tests compare against built frames: the builder's sums must hold.
TEST(Csum, BuiltFramesVerify)
{
	for (const Spec &s : { udp(4, 9000), tcp(4, 9000), udp(6, 9000), tcp(6, 9000),
			       udp(4, 9000).tag(ETH_P_8021Q).with_ihl(15).with_payload(1),
			       tcp(4, 9000).with_doff(8).with_pad(10), tcp(6, 9000).with_doff(15),
			       udp(6, 9000).with_ext(0), tcp(6, 9000).with_ext(60),
			       l4(4, IPPROTO_ICMP, 0), l4(6, IPPROTO_ICMPV6, 0).with_payload(3) }) {
		Frame f = build(s);

		SCOPED_TRACE(testing::PrintToString(s));
		EXPECT_TRUE(l4_csum_ok(f));
		if (s.family == 4) {
			EXPECT_TRUE(ip4_csum_ok(f));
		}
	}
}

// A UDP sum that comes out 0 goes as 0xffff: 0 says "no checksum".  One source port in each
// run of 65535 gives that sum.
TEST(Csum, UdpZeroSumIsSentAsFfff)
{
	unsigned ffff = 0;

	for (uint32_t port = 0; port <= 0xffff; port++) {
		Frame f = build(udp(4, 9000).from(kPeer4, port));
		uint16_t c = f.b[f.l4 + 6] << 8 | f.b[f.l4 + 7];

		ASSERT_NE(c, 0) << "sport " << port;
		ASSERT_TRUE(l4_csum_ok(f)) << "sport " << port;
		ffff += c == 0xffff;
	}
	EXPECT_GE(ffff, 1u);
}

class Reflect : public ::testing::TestWithParam<Spec> {};

TEST_P(Reflect, SwapsAndKeepsChecksumsValid)
{
	const Spec &s = GetParam();
	Frame f = build(s);

	int len = reflect(f.b);
	ASSERT_EQ(len, (int)f.end); // padding is not sent back

	Spec back = s;
	back.from(s.dst, s.dport).to(s.src, s.sport).with_pad(0);
	Frame want = build(back);
	// MACs swapped; TTL / hop limit 64 (as built); the whole answer equals a frame built the
	// other way round, checksums included.
	std::swap_ranges(want.b.begin(), want.b.begin() + 6, want.b.begin() + 6);
	f.b.resize(len);
	EXPECT_EQ(f.b, want.b);
	EXPECT_TRUE(l4_csum_ok(f));
	if (s.family == 4) {
		EXPECT_TRUE(ip4_csum_ok(f));
	}
}

// A UDP frame to port 9000, padded up to @pad_to bytes when it is shorter.
static Spec spec(int family, bool vlan, size_t payload, unsigned opts = 0, size_t pad_to = 0)
{
	Spec s = udp(family, 9000).with_payload(payload).with_ihl(5 + opts);
	size_t len;

	if (vlan)
		s.tag(ETH_P_8021Q);
	len = build(s).b.size();
	return s.with_pad(pad_to > len ? pad_to - len : 0);
}

INSTANTIATE_TEST_SUITE_P(Shapes, Reflect,
			 ::testing::Values(spec(4, false, 18), spec(4, true, 1), spec(4, false, 0),
					   spec(4, false, 1472), spec(4, false, 18, 3),
					   spec(4, false, 4, 0, 60), spec(6, false, 18),
					   spec(6, true, 1439), spec(6, false, 1, 0, 200)));

TEST(Reflect, RefusesBadChecksums)
{
	Frame f = build(spec(4, false, 18));
	f.b[f.l4 + 6] ^= 0x01; // UDP checksum
	EXPECT_EQ(reflect(f.b), -EBADMSG);

	f = build(spec(4, false, 18));
	f.b[f.l3 + 10] ^= 0x01; // IPv4 header checksum
	EXPECT_EQ(reflect(f.b), -EBADMSG);

	f = build(spec(4, false, 18));
	f.b.back() ^= 0x40; // payload corrupted in flight
	EXPECT_EQ(reflect(f.b), -EBADMSG);

	f = build(spec(6, false, 18));
	f.b[f.l4 + 6] = f.b[f.l4 + 7] = 0; // a zero UDP checksum is not allowed over IPv6
	EXPECT_EQ(reflect(f.b), -EBADMSG);
}

TEST(Reflect, ZeroChecksumOverIpv4IsAccepted)
{
	Frame f = build(spec(4, false, 18));
	f.b[f.l4 + 6] = f.b[f.l4 + 7] = 0; // "no checksum" (RFC 768)
	ASSERT_EQ(reflect(f.b), 60);
	EXPECT_EQ(f.b[f.l4 + 6], 0);
	EXPECT_EQ(f.b[f.l4 + 7], 0);
}

TEST(Reflect, RefusesTcp)
{
	Frame f = build(tcp(4, 9000));
	EXPECT_EQ(reflect(f.b), -EINVAL);
}
