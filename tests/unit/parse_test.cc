// SPDX-License-Identifier: GPL-2.0
// parse_test.cc - the frame parser shared by the XDP program and the workers, run in userspace:
// offsets and flow for every valid shape, the verdict for every malformed one.
#include <gtest/gtest.h>

#include "frames.h"

static int parse(const Frame &f, struct ixdp_pkt *pkt)
{
	return ixdp_parse(f.b.data(), f.b.data() + f.b.size(), pkt);
}

struct ValidCase {
	const char *name;
	Spec spec;
};

static void PrintTo(const ValidCase &c, std::ostream *os)
{
	PrintTo(c.spec, os);
}

class ParseValid : public ::testing::TestWithParam<ValidCase> {};

TEST_P(ParseValid, OffsetsAndFlow)
{
	const Spec &s = GetParam().spec;
	Frame f = build(s);
	struct ixdp_pkt pkt;

	ASSERT_EQ(parse(f, &pkt), IXDP_PARSE_L4);
	EXPECT_EQ(pkt.l3_off, f.l3);
	EXPECT_EQ(pkt.l4_off, f.l4);
	EXPECT_EQ(pkt.l3_len, f.end - f.l3);
	EXPECT_EQ(pkt.eth_proto, s.family == 4 ? 0x0800 : 0x86dd);
	EXPECT_EQ(memcmp(&pkt.flow, &f.flow, sizeof(f.flow)), 0);
}

static const Spec v4udp = udp(4, 9000), v4tcp = tcp(4, 9000);
static const Spec v6udp = udp(6, 9000), v6tcp = tcp(6, 9000);

INSTANTIATE_TEST_SUITE_P(
	Shapes, ParseValid,
	::testing::Values(ValidCase{ "v4udp", v4udp }, ValidCase{ "v4tcp", v4tcp },
			  ValidCase{ "v6udp", v6udp }, ValidCase{ "v6tcp", v6tcp },
			  ValidCase{ "v4udp_vlan", Spec(v4udp).tag(ETH_P_8021Q) },
			  ValidCase{ "v4udp_8021ad", Spec(v4udp).tag(ETH_P_8021AD) },
			  ValidCase{ "v6tcp_vlan", Spec(v6tcp).tag(ETH_P_8021Q) },
			  ValidCase{ "v6tcp_options", Spec(v6tcp).with_doff(8) },
			  ValidCase{ "v4udp_options1", Spec(v4udp).with_ihl(6) },
			  ValidCase{ "v4tcp_options10", Spec(v4tcp).tag(ETH_P_8021Q).with_ihl(15) },
			  // Padded up to the Ethernet minimum of 60 bytes; 80 bytes up to 1514.
			  ValidCase{ "v4udp_padded", Spec(v4udp).with_payload(2).with_pad(16) },
			  ValidCase{ "v6udp_padded", Spec(v6udp).with_pad(1514 - 80) }),
	[](const ::testing::TestParamInfo<ValidCase> &i) { return std::string(i.param.name); });

// Every truncation of a valid frame is BAD (nothing is read past the end; ASan/valgrind
// would see it), except where the frame still holds a complete shorter datagram.
TEST(Parse, EveryTruncationIsBad)
{
	for (const Spec &s : { v4udp, v4tcp, v6udp, v6tcp,
			       Spec(v4udp).tag(ETH_P_8021Q).with_ihl(8) }) {
		Frame f = build(s);

		for (size_t len = 0; len < f.b.size(); len++) {
			std::vector<uint8_t> cut(f.b.begin(), f.b.begin() + len);
			struct ixdp_pkt pkt;

			EXPECT_EQ(ixdp_parse(cut.data(), cut.data() + len, &pkt), IXDP_PARSE_BAD)
				<< "length " << len;
		}
	}
}

TEST(Parse, NotIpIsOther)
{
	Frame f = build(v4udp);
	struct ixdp_pkt pkt;

	put16(f.b, f.l3 - 2, ETH_P_ARP);
	EXPECT_EQ(parse(f, &pkt), IXDP_PARSE_OTHER);
	EXPECT_EQ(pkt.eth_proto, ETH_P_ARP);
}

TEST(Parse, IcmpIsOther)
{
	struct ixdp_pkt pkt;

	EXPECT_EQ(parse(build(l4(4, IPPROTO_ICMP, 0)), &pkt), IXDP_PARSE_OTHER);
	EXPECT_EQ(parse(build(l4(6, IPPROTO_ICMPV6, 0)), &pkt), IXDP_PARSE_OTHER);
}

TEST(Parse, QinQIsBad)
{
	Frame f = build(Spec(v4udp).tag(ETH_P_8021Q));
	struct ixdp_pkt pkt;

	put16(f.b, f.l3 - 2, ETH_P_8021Q); // the inner ethertype is another tag
	EXPECT_EQ(parse(f, &pkt), IXDP_PARSE_BAD);
	EXPECT_EQ(parse(build(Spec(v4udp).tag(ETH_P_8021AD).tag(ETH_P_8021Q)), &pkt),
		  IXDP_PARSE_BAD);
}

TEST(Parse, Ipv4HeaderFieldsChecked)
{
	struct ixdp_pkt pkt;

	for (int ihl = 0; ihl < 5; ihl++)
		EXPECT_EQ(parse(ip_byte0(build(v4udp), 0x40 | ihl), &pkt), IXDP_PARSE_BAD)
			<< "ihl " << ihl;
	// version 6 behind an IPv4 ethertype
	EXPECT_EQ(parse(ip_byte0(build(v4udp), 0x65), &pkt), IXDP_PARSE_BAD);

	for (uint16_t tot : { 0, 19, 27, 47, 65535 })
		EXPECT_EQ(parse(ip4_tot_len(build(v4udp), tot), &pkt), IXDP_PARSE_BAD)
			<< "tot_len " << tot;
}

TEST(Parse, FragmentsAreBad)
{
	struct ixdp_pkt pkt;

	for (uint16_t frag : { 0x2000 /* MF, first */, 0x0001 /* offset 8 */, 0x2010 })
		EXPECT_EQ(parse(build(Spec(v4udp).with_frag(frag)), &pkt), IXDP_PARSE_BAD)
			<< std::hex << frag;
	// DF alone is not a fragment
	EXPECT_EQ(parse(build(Spec(v4udp).with_frag(0x4000)), &pkt), IXDP_PARSE_L4);
}

TEST(Parse, Ipv6ExtensionHeadersAreBad)
{
	struct ixdp_pkt pkt;

	// Only named in the fixed header, and really there.
	for (uint8_t nh : { 0, 43, 44, 50, 51, 60, 135, 139, 140 }) {
		EXPECT_EQ(parse(ip6_next_header(build(v6udp), nh), &pkt), IXDP_PARSE_BAD)
			<< "next header " << (int)nh;
		EXPECT_EQ(parse(build(Spec(v6udp).with_ext(nh)), &pkt), IXDP_PARSE_BAD)
			<< "extension header " << (int)nh;
	}
	Frame f = ip6_next_header(build(v6udp), IPPROTO_ICMPV6);
	EXPECT_EQ(parse(f, &pkt), IXDP_PARSE_OTHER);
	// payload length beyond the frame
	EXPECT_EQ(parse(ip6_payload_len(f, 1000), &pkt), IXDP_PARSE_BAD);
}

TEST(Parse, L4LengthsChecked)
{
	struct ixdp_pkt pkt;

	for (uint16_t ulen : { 0, 7, 27, 65535 })
		EXPECT_EQ(parse(udp_len(build(v4udp), ulen), &pkt), IXDP_PARSE_BAD)
			<< "udp len " << ulen;
	// shorter than the IP payload: allowed
	EXPECT_EQ(parse(udp_len(build(v4udp), 8 + 10), &pkt), IXDP_PARSE_L4);

	// 22 bytes of TCP: doff 6 (24 bytes of header) overruns the datagram
	Frame tcp2 = build(Spec(v4tcp).with_payload(2));
	for (int doff : { 0, 4, 6 })
		EXPECT_EQ(parse(tcp_doff(tcp2, doff), &pkt), IXDP_PARSE_BAD) << "doff " << doff;
	// 4 bytes of options taken from the 18-byte payload: fine
	EXPECT_EQ(parse(tcp_doff(build(v4tcp), 6), &pkt), IXDP_PARSE_L4);
}
