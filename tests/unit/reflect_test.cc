// SPDX-License-Identifier: GPL-2.0
// reflect_test.cc - the UDP reflector: answers are the question with addresses and ports
// swapped and valid checksums; corrupt questions are refused, never answered.
#include <gtest/gtest.h>

#include "frames.h"

extern "C" {
#include "reflect.h"
}

static bool l4_csum_ok(const std::vector<uint8_t> &f, const FrameSpec &s)
{
	FrameLayout L = frame_layout(s);
	const uint8_t *ip = &f[L.l3];
	size_t l4len = L.end - L.l4;
	__u64 sum = s.family == 4 ? csum_pseudo_v4(ip + 12, ip + 16, s.proto, l4len) :
				    csum_pseudo_v6(ip + 8, ip + 24, s.proto, l4len);

	return csum_fold(csum_partial(&f[L.l4], l4len, sum)) == 0xffff;
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

class Reflect : public ::testing::TestWithParam<FrameSpec> {};

TEST_P(Reflect, SwapsAndKeepsChecksumsValid)
{
	FrameSpec s = GetParam();
	std::vector<uint8_t> f = build_frame(s), orig = f;
	FrameLayout L = frame_layout(s);

	int len = reflect(f);
	ASSERT_EQ(len, (int)L.end); // padding is not sent back

	FrameSpec back = s;
	std::swap(back.src, back.dst);
	std::swap(back.sport, back.dport);
	back.pad_to = 0;
	std::vector<uint8_t> want = build_frame(back);
	// MACs swapped; TTL / hop limit 64 (as built); the whole answer equals a frame built the
	// other way round, checksums included.
	std::swap_ranges(want.begin(), want.begin() + 6, want.begin() + 6);
	f.resize(len);
	EXPECT_EQ(f, want);
	EXPECT_TRUE(l4_csum_ok(f, back));
	if (s.family == 4) {
		EXPECT_EQ(csum_fold(csum_partial(&f[L.l3], L.l4 - L.l3, 0)), 0xffff);
	}
}

static FrameSpec spec(int family, bool vlan, size_t payload, unsigned opts = 0, size_t pad = 0)
{
	FrameSpec s;
	s.family = family;
	s.vlan = vlan;
	s.payload = payload;
	s.ip_option_words = opts;
	s.pad_to = pad;
	if (family == 6) {
		s.src = "2001:db8::2";
		s.dst = "2001:db8::1";
	}
	return s;
}

INSTANTIATE_TEST_SUITE_P(Shapes, Reflect,
			 ::testing::Values(spec(4, false, 18), spec(4, true, 1), spec(4, false, 0),
					   spec(4, false, 1472), spec(4, false, 18, 3),
					   spec(4, false, 4, 0, 60), spec(6, false, 18),
					   spec(6, true, 1439), spec(6, false, 1, 0, 200)));

TEST(Reflect, RefusesBadChecksums)
{
	std::vector<uint8_t> f = build_frame(spec(4, false, 18));
	f[34 + 6] ^= 0x01; // UDP checksum
	EXPECT_EQ(reflect(f), -EBADMSG);

	f = build_frame(spec(4, false, 18));
	f[24] ^= 0x01; // IPv4 header checksum
	EXPECT_EQ(reflect(f), -EBADMSG);

	f = build_frame(spec(4, false, 18));
	f.back() ^= 0x40; // payload corrupted in flight
	EXPECT_EQ(reflect(f), -EBADMSG);

	f = build_frame(spec(6, false, 18));
	f[54 + 6] = f[54 + 7] = 0; // a zero UDP checksum is not allowed over IPv6
	EXPECT_EQ(reflect(f), -EBADMSG);
}

TEST(Reflect, ZeroChecksumOverIpv4IsAccepted)
{
	std::vector<uint8_t> f = build_frame(spec(4, false, 18));
	f[34 + 6] = f[34 + 7] = 0; // "no checksum" (RFC 768)
	ASSERT_EQ(reflect(f), 60);
	EXPECT_EQ(f[40], 0);
	EXPECT_EQ(f[41], 0);
}

TEST(Reflect, RefusesTcp)
{
	FrameSpec s;
	s.proto = IPPROTO_TCP;
	std::vector<uint8_t> f = build_frame(s);
	EXPECT_EQ(reflect(f), -EINVAL);
}
