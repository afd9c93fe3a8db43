// SPDX-License-Identifier: GPL-2.0
// parse_test.cc - the frame parser shared by the XDP program and the workers, run in userspace:
// offsets and flow for every valid shape, the verdict for every malformed one.
#include <gtest/gtest.h>

#include "frames.h"

static int parse(const std::vector<uint8_t> &f, struct ixdp_pkt *pkt, size_t len = SIZE_MAX)
{
	if (len == SIZE_MAX)
		len = f.size();
	return ixdp_parse(f.data(), f.data() + len, pkt);
}

struct ValidCase {
	const char *name;
	FrameSpec spec;
};

class ParseValid : public ::testing::TestWithParam<ValidCase> {};

TEST_P(ParseValid, OffsetsAndFlow)
{
	const FrameSpec &s = GetParam().spec;
	std::vector<uint8_t> f = build_frame(s);
	FrameLayout L = frame_layout(s);
	struct ixdp_flow want = flow_of(s);
	struct ixdp_pkt pkt;

	ASSERT_EQ(parse(f, &pkt), IXDP_PARSE_L4);
	EXPECT_EQ(pkt.l3_off, L.l3);
	EXPECT_EQ(pkt.l4_off, L.l4);
	EXPECT_EQ(pkt.l3_len, L.end - L.l3);
	EXPECT_EQ(pkt.eth_proto, s.family == 4 ? 0x0800 : 0x86dd);
	EXPECT_EQ(memcmp(&pkt.flow, &want, sizeof(want)), 0);
}

static const FrameSpec v4udp{}, v4tcp{ .proto = IPPROTO_TCP };
static const FrameSpec v6udp{ .family = 6, .src = "2001:db8::2", .dst = "2001:db8::1" };
static const FrameSpec v6tcp{ .family = 6, .proto = IPPROTO_TCP, .src = "2001:db8::2",
			      .dst = "2001:db8::1" };

static FrameSpec with(FrameSpec s, bool vlan, unsigned opts = 0, size_t pad = 0)
{
	s.vlan = vlan;
	s.ip_option_words = opts;
	s.pad_to = pad;
	return s;
}

INSTANTIATE_TEST_SUITE_P(
	Shapes, ParseValid,
	::testing::Values(ValidCase{ "v4udp", v4udp }, ValidCase{ "v4tcp", v4tcp },
			  ValidCase{ "v6udp", v6udp }, ValidCase{ "v6tcp", v6tcp },
			  ValidCase{ "v4udp_vlan", with(v4udp, true) },
			  ValidCase{ "v6tcp_vlan", with(v6tcp, true) },
			  ValidCase{ "v4udp_options1", with(v4udp, false, 1) },
			  ValidCase{ "v4tcp_options10", with(v4tcp, true, 10) },
			  ValidCase{ "v4udp_padded", with(v4udp, false, 0, 60) },
			  ValidCase{ "v6udp_padded", with(v6udp, false, 0, 1514) }),
	[](const ::testing::TestParamInfo<ValidCase> &i) { return std::string(i.param.name); });

// Every truncation of a valid frame is BAD (nothing is read past the end; ASan/valgrind
// would see it), except where the frame still holds a complete shorter datagram.
TEST(Parse, EveryTruncationIsBad)
{
	for (const FrameSpec &s : { v4udp, v4tcp, v6udp, v6tcp, with(v4udp, true, 3) }) {
		std::vector<uint8_t> f = build_frame(s);

		for (size_t len = 0; len < f.size(); len++) {
			std::vector<uint8_t> cut(f.begin(), f.begin() + len);
			struct ixdp_pkt pkt;

			EXPECT_EQ(parse(cut, &pkt), IXDP_PARSE_BAD) << "length " << len;
		}
	}
}

TEST(Parse, NotIpIsOther)
{
	std::vector<uint8_t> f = build_frame(v4udp);
	struct ixdp_pkt pkt;

	put16(f, 12, 0x0806); // ARP
	EXPECT_EQ(parse(f, &pkt), IXDP_PARSE_OTHER);
	EXPECT_EQ(pkt.eth_proto, 0x0806);
}

TEST(Parse, IcmpIsOther)
{
	FrameSpec s = v4udp;
	s.proto = IPPROTO_ICMP;
	s.payload = 8;
	struct ixdp_pkt pkt;

	EXPECT_EQ(parse(build_frame(s), &pkt), IXDP_PARSE_OTHER);
}

TEST(Parse, QinQIsBad)
{
	std::vector<uint8_t> f = build_frame(with(v4udp, true));
	struct ixdp_pkt pkt;

	put16(f, 16, 0x8100); // the inner ethertype is another tag
	EXPECT_EQ(parse(f, &pkt), IXDP_PARSE_BAD);
}

TEST(Parse, Ipv4HeaderFieldsChecked)
{
	struct ixdp_pkt pkt;

	for (int ihl = 0; ihl < 5; ihl++) {
		std::vector<uint8_t> f = build_frame(v4udp);
		f[14] = 0x40 | ihl;
		EXPECT_EQ(parse(f, &pkt), IXDP_PARSE_BAD) << "ihl " << ihl;
	}
	std::vector<uint8_t> f = build_frame(v4udp);
	f[14] = 0x65; // version 6 behind an IPv4 ethertype
	EXPECT_EQ(parse(f, &pkt), IXDP_PARSE_BAD);

	for (uint16_t tot : { 0, 19, 27, 47, 65535 }) {
		f = build_frame(v4udp);
		put16(f, 16, tot);
		EXPECT_EQ(parse(f, &pkt), IXDP_PARSE_BAD) << "tot_len " << tot;
	}
}

TEST(Parse, FragmentsAreBad)
{
	struct ixdp_pkt pkt;

	for (uint16_t frag : { 0x2000 /* MF, first */, 0x0001 /* offset 8 */, 0x2010 }) {
		std::vector<uint8_t> f = build_frame(v4udp);
		put16(f, 20, frag);
		EXPECT_EQ(parse(f, &pkt), IXDP_PARSE_BAD) << std::hex << frag;
	}
	std::vector<uint8_t> f = build_frame(v4udp);
	put16(f, 20, 0x4000); // DF alone is not a fragment
	EXPECT_EQ(parse(f, &pkt), IXDP_PARSE_L4);
}

TEST(Parse, Ipv6ExtensionHeadersAreBad)
{
	struct ixdp_pkt pkt;

	for (uint8_t nh : { 0, 43, 44, 50, 51, 60, 135, 139, 140 }) {
		std::vector<uint8_t> f = build_frame(v6udp);
		f[14 + 6] = nh;
		EXPECT_EQ(parse(f, &pkt), IXDP_PARSE_BAD) << "next header " << (int)nh;
	}
	std::vector<uint8_t> f = build_frame(v6udp);
	f[14 + 6] = 58; // ICMPv6
	EXPECT_EQ(parse(f, &pkt), IXDP_PARSE_OTHER);
	put16(f, 14 + 4, 1000); // payload length beyond the frame
	EXPECT_EQ(parse(f, &pkt), IXDP_PARSE_BAD);
}

TEST(Parse, L4LengthsChecked)
{
	struct ixdp_pkt pkt;

	for (uint16_t ulen : { 0, 7, 27, 65535 }) {
		std::vector<uint8_t> f = build_frame(v4udp);
		put16(f, 34 + 4, ulen);
		EXPECT_EQ(parse(f, &pkt), IXDP_PARSE_BAD) << "udp len " << ulen;
	}
	std::vector<uint8_t> f = build_frame(v4udp);
	put16(f, 34 + 4, 8 + 10); // shorter than the IP payload: allowed
	EXPECT_EQ(parse(f, &pkt), IXDP_PARSE_L4);

	FrameSpec tcp2 = v4tcp;
	tcp2.payload = 2; // 22 bytes of TCP: doff 6 (24 bytes of header) overruns the datagram
	for (int doff : { 0, 4, 6 }) {
		f = build_frame(tcp2);
		f[34 + 12] = doff << 4;
		EXPECT_EQ(parse(f, &pkt), IXDP_PARSE_BAD) << "doff " << doff;
	}
	f = build_frame(v4tcp);
	f[34 + 12] = 6 << 4; // 4 bytes of options taken from the 18-byte payload: fine
	EXPECT_EQ(parse(f, &pkt), IXDP_PARSE_L4);
}
