// SPDX-License-Identifier: GPL-2.0
// steer_test.cc - the XDP steering program run in the kernel (BPF_PROG_TEST_RUN); flow hash spread.
//
// The kernel tests live in a private network namespace with a 4-queue veth (t0/t1) and one AF_XDP
// socket per t0 queue.  In non-live test-run mode bpf_redirect_map() only looks the slot up, so
// the verdict is XDP_REDIRECT exactly when the slot the program picked holds a socket: putting a
// socket in one slot only, then in every slot but that one, pins down which slot was picked.

#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <array>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include <linux/bpf.h>
#include <linux/if_xdp.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

#include <gtest/gtest.h>

extern "C" {
#include "ixdp/steer.h"
}
#include "ixdp_steer.skel.h"

#include "frames.h"

namespace {

// --- the service table every kernel test starts from ------------------------------------------

constexpr uint16_t kUdpSvc = 9000;	// UDP, wildcard address, IPv4 and IPv6
constexpr uint16_t kTcpSvc = 8080;	// TCP, exact address: kLocal4 and kLocal6 only
constexpr uint16_t kRemoteSvc = 7000;	// UDP, exact address kOther4, which is not local
constexpr uint16_t kV6OnlySvc = 9100;	// UDP, wildcard address, IPv6 only
constexpr uint16_t kEphLo = 50000;
constexpr uint16_t kEphHi = 50999;
constexpr uint32_t kWorkers = 4;
constexpr uint32_t kQueues = 4;		// t0's rx queues: ctx.rx_queue_index stays below
constexpr uint32_t kSlots = 64;		// slots [0, kSlots) are the ones filled with decoys

const char kOther4[] = "198.18.0.9";
const char kOther6[] = "2001:db8::9";
const char kV4Words6[] = "c612:1::";	// addr[] words of kLocal4: only the family differs
const char kIfname[] = "t0";

// A non-trivial fg -> worker map: a permutation of the workers on groups 0..3, no identity.
uint32_t default_owner(uint32_t fg, uint32_t workers)
{
	return (fg * 3 + 1 + (fg >> 2)) % workers;
}

// --- the crafted-frame table -----------------------------------------------------------------

enum Kind {
	kSteer,		// ours: to slot q * nr_workers + owner, fg_stats counted
	kNotOurs,	// parsed L4, not ours: PASSED
	kOther,		// not TCP/UDP over IP: PASSED
	kBad,		// parser refuses: NOT_PARSED
};

struct Case {
	std::string name;
	Frame f;
	Kind kind;
};

std::vector<Case> crafted_cases()
{
	std::vector<Case> c;
	auto add = [&c](const std::string &name, const Frame &f, Kind k) {
		c.push_back({ name, f, k });
	};

	// Ethernet and VLAN tags.
	add("udp4 wildcard service", build(udp(4, kUdpSvc)), kSteer);
	add("udp4 wildcard service, non-local dst", build(udp(4, kUdpSvc, "198.19.2.7")), kSteer);
	add("udp4 802.1Q", build(udp(4, kUdpSvc).tag(ETH_P_8021Q)), kSteer);
	add("udp4 one 802.1ad tag", build(udp(4, kUdpSvc).tag(ETH_P_8021AD)), kSteer);
	add("udp4 QinQ 802.1ad+802.1Q",
	    build(udp(4, kUdpSvc).tag(ETH_P_8021AD).tag(ETH_P_8021Q)), kBad);
	add("udp4 QinQ 802.1Q+802.1Q",
	    build(udp(4, kUdpSvc).tag(ETH_P_8021Q).tag(ETH_P_8021Q)), kBad);
	add("udp6 wildcard service", build(udp(6, kUdpSvc)), kSteer);
	add("udp6 wildcard service, non-local dst", build(udp(6, kUdpSvc, "2001:db8::7")), kSteer);
	add("udp6 802.1Q", build(udp(6, kUdpSvc).tag(ETH_P_8021Q)), kSteer);
	add("udp6 QinQ", build(udp(6, kUdpSvc).tag(ETH_P_8021AD).tag(ETH_P_8021Q)), kBad);
	add("tcp4 802.1Q exact service", build(tcp(4, kTcpSvc, kLocal4).tag(ETH_P_8021Q)), kSteer);

	// Service matching: port, protocol, family, exact versus wildcard address.
	add("udp4 non-service port", build(udp(4, kUdpSvc + 1)), kNotOurs);
	add("udp6 non-service port", build(udp(6, kUdpSvc + 1)), kNotOurs);
	add("tcp4 to a UDP-only port", build(tcp(4, kUdpSvc)), kNotOurs);
	add("udp4 to an IPv6-only service", build(udp(4, kV6OnlySvc)), kNotOurs);
	add("udp6 IPv6-only service", build(udp(6, kV6OnlySvc)), kSteer);
	add("tcp4 exact service", build(tcp(4, kTcpSvc, kLocal4)), kSteer);
	add("tcp4 exact service port, other address", build(tcp(4, kTcpSvc, kOther4)), kNotOurs);
	add("udp4 to the TCP exact service", build(udp(4, kTcpSvc, kLocal4)), kNotOurs);
	add("tcp6 exact service", build(tcp(6, kTcpSvc, kLocal6)), kSteer);
	add("tcp6 exact service port, other address", build(tcp(6, kTcpSvc, kOther6)), kNotOurs);
	add("tcp6 to the IPv4 exact key's words", build(tcp(6, kTcpSvc, kV4Words6)), kNotOurs);
	add("udp4 exact service on a non-local addr", build(udp(4, kRemoteSvc, kOther4)), kSteer);
	add("udp4 exact service port, local address", build(udp(4, kRemoteSvc, kLocal4)), kNotOurs);

	// Ephemeral range edges, local and non-local destination, both protocols and families.
	const struct {
		const char *name;
		uint16_t port;
		bool local;
		Kind kind;
	} eph[] = {
		{ "eph_lo-1 local", kEphLo - 1, true, kNotOurs },
		{ "eph_lo local", kEphLo, true, kSteer },
		{ "eph_hi local", kEphHi, true, kSteer },
		{ "eph_hi+1 local", kEphHi + 1, true, kNotOurs },
		{ "eph_lo-1 non-local", kEphLo - 1, false, kNotOurs },
		{ "eph_lo non-local", kEphLo, false, kNotOurs },
		{ "eph_hi non-local", kEphHi, false, kNotOurs },
		{ "eph_hi+1 non-local", kEphHi + 1, false, kNotOurs },
	};
	for (int fam : { 4, 6 }) {
		for (uint8_t proto : { IPPROTO_UDP, IPPROTO_TCP }) {
			std::string p = (proto == IPPROTO_UDP ? "udp" : "tcp") +
					std::to_string(fam);

			for (const auto &e : eph) {
				const char *dst = fam == 4 ? (e.local ? kLocal4 : kOther4) :
							     (e.local ? kLocal6 : kOther6);

				add(p + " " + e.name, build(l4(fam, proto, e.port, dst)), e.kind);
			}
		}
	}
	add("udp6 eph_lo to the IPv4 local's words", build(udp(6, kEphLo, kV4Words6)), kNotOurs);

	// Not TCP/UDP over IP: the kernel's.
	add("ARP", arp(), kOther);
	add("ARP 802.1Q", arp({ ETH_P_8021Q }), kOther);
	add("LLDP", ethertype(0x88cc, 46), kOther);
	add("ICMP", build(l4(4, IPPROTO_ICMP, 0)), kOther);
	add("ICMPv6", build(l4(6, IPPROTO_ICMPV6, 0)), kOther);
	add("GRE over IPv4", build(l4(4, IPPROTO_GRE, 0)), kOther);
	add("SCTP over IPv4", build(l4(4, IPPROTO_SCTP, kUdpSvc)), kOther);
	add("IPv6 no next header", build(l4(6, 59, 0)), kOther);

	// Fragments: all of them, the first included, are the kernel's; DF is no fragment.
	add("udp4 first fragment", build(udp(4, kUdpSvc).with_frag(IXDP_IP_MF)), kBad);
	add("udp4 middle fragment", build(udp(4, kUdpSvc).with_frag(IXDP_IP_MF | 185)), kBad);
	add("udp4 last fragment", build(udp(4, kUdpSvc).with_frag(185)), kBad);
	add("udp4 offset 1 fragment", build(udp(4, kUdpSvc).with_frag(1)), kBad);
	add("udp4 DF set", build(udp(4, kUdpSvc).with_frag(0x4000)), kSteer);

	// IPv6 extension headers in front of L4.
	for (int ext : { 0, 43, 44, 50, 51, 60, 135, 139, 140 })
		add("udp6 behind extension header " + std::to_string(ext),
		    build(udp(6, kUdpSvc).with_ext(ext)), kBad);

	// IPv4 header length and version.
	for (uint8_t ihl = 6; ihl <= 15; ihl++)
		add("udp4 ihl " + std::to_string(ihl),
		    build(udp(4, kUdpSvc).with_ihl(ihl)), kSteer);
	add("tcp4 ihl 15 exact service", build(tcp(4, kTcpSvc, kLocal4).with_ihl(15)), kSteer);
	for (uint8_t ihl = 0; ihl < 5; ihl++)
		add("udp4 bad ihl " + std::to_string(ihl),
		    ip_byte0(build(udp(4, kUdpSvc)), 0x40 | ihl), kBad);
	// With ihl 4, daddr 198.18.35.40 reads as dport 9000 and sport 16 as a fitting UDP length:
	// only the ihl check stops this one.
	add("udp4 ihl 4 that parses as a service",
	    ip_byte0(build(udp(4, kUdpSvc, "198.18.35.40").from(kPeer4, 16)), 0x44), kBad);
	add("IPv4 ethertype, version 6", ip_byte0(build(udp(4, kUdpSvc)), 0x65), kBad);
	add("IPv6 ethertype, version 4", ip_byte0(build(udp(6, kUdpSvc)), 0x45), kBad);

	// IP length fields.
	Frame u4 = build(udp(4, kUdpSvc));
	add("udp4 tot_len frame+1", ip4_tot_len(u4, u4.end - u4.l3 + 1), kBad);
	add("udp4 tot_len 0xffff", ip4_tot_len(u4, 0xffff), kBad);
	add("udp4 tot_len below ihl*4", ip4_tot_len(u4, 19), kBad);
	add("udp4 tot_len 0", ip4_tot_len(u4, 0), kBad);
	add("udp4 tot_len cuts the UDP header", ip4_tot_len(u4, 20 + 4), kBad);
	add("udp4 tot_len cuts the UDP datagram", ip4_tot_len(u4, u4.end - u4.l3 - 1), kBad);
	add("udp4 Ethernet padding after tot_len",
	    build(udp(4, kUdpSvc).with_payload(2).with_pad(24)), kSteer);
	Frame u6 = build(udp(6, kUdpSvc));
	add("udp6 payload_len frame+1", ip6_payload_len(u6, u6.b.size() - u6.l4 + 1), kBad);
	add("udp6 payload_len cuts the UDP header", ip6_payload_len(u6, 4), kBad);
	add("udp6 Ethernet padding after payload", build(udp(6, kUdpSvc).with_pad(7)), kSteer);

	// UDP length: at least 8 and within the datagram; shorter than the datagram is fine.
	add("udp4 len datagram+1", udp_len(u4, u4.b.size() - u4.l4 + 1), kBad);
	add("udp4 len 7", udp_len(u4, 7), kBad);
	add("udp4 len 0", udp_len(u4, 0), kBad);
	add("udp4 len 8 (shorter than the datagram)", udp_len(u4, 8), kSteer);
	add("udp6 len datagram+1", udp_len(u6, u6.b.size() - u6.l4 + 1), kBad);
	add("udp6 len 7", udp_len(u6, 7), kBad);

	// TCP data offset.
	Frame t4 = build(tcp(4, kTcpSvc, kLocal4).with_payload(10));
	for (uint8_t doff = 0; doff < 5; doff++)
		add("tcp4 doff " + std::to_string(doff), tcp_doff(t4, doff), kBad);
	add("tcp4 doff beyond the datagram", tcp_doff(t4, 15), kBad);
	add("tcp4 doff 15 with options", build(tcp(4, kTcpSvc, kLocal4).with_doff(15)), kSteer);
	add("tcp6 doff 4", tcp_doff(build(tcp(6, kTcpSvc, kLocal6)), 4), kBad);
	add("tcp6 doff 8 with options", build(tcp(6, kTcpSvc, kLocal6).with_doff(8)), kSteer);
	return c;
}

// --- flow hash spread (userspace) ------------------------------------------------------------

typedef __u32 (*HashFn)(const struct ixdp_flow *f, __u32 seed);

__u32 real_hash(const struct ixdp_flow *f, __u32 seed)
{
	return ixdp_flow_hash(f, seed);
}

// A strawman that mixes well but folds the ports with xor first: ports moving together collapse.
__u32 xor_ports_hash(const struct ixdp_flow *f, __u32 seed)
{
	return ixdp_hash_final(ixdp_hash_round(seed ^ f->saddr[0] ^ f->daddr[0] ^ f->proto,
					       f->sport ^ f->dport));
}

// Flow i of the "ports move together" family: sport = 20000 + i, dport = 9000 + i.
struct ixdp_flow moving_ports_flow(uint32_t i, int family)
{
	struct ixdp_flow f = {};

	parse_addr(family, family == 4 ? kPeer4 : kPeer6, f.saddr);
	parse_addr(family, family == 4 ? kLocal4 : kLocal6, f.daddr);
	f.sport = 20000 + i;
	f.dport = 9000 + i;
	f.proto = IPPROTO_UDP;
	f.family = family;
	return f;
}

struct Spread {
	std::vector<uint32_t> hist;
	uint32_t hit = 0, max = 0;
	double chi2 = 0;
};

Spread spread(HashFn hash, uint32_t flows, uint32_t groups, int family, __u32 seed)
{
	Spread s;
	double expect = (double)flows / groups;

	s.hist.assign(groups, 0);
	for (uint32_t i = 0; i < flows; i++) {
		struct ixdp_flow f = moving_ports_flow(i, family);

		s.hist[hash(&f, seed) & (groups - 1)]++;
	}
	for (uint32_t n : s.hist) {
		s.hit += n != 0;
		s.max = std::max(s.max, n);
		s.chi2 += (n - expect) * (n - expect) / expect;
	}
	return s;
}

// Every group used, chi-square under its mean + 6 sigma, no group over 3x its share.
::testing::AssertionResult balanced(const Spread &s, uint32_t flows)
{
	uint32_t groups = s.hist.size();
	double dof = groups - 1;
	double bound = dof + 6 * std::sqrt(2 * dof);

	if (s.hit != groups)
		return ::testing::AssertionFailure() << s.hit << " of " << groups << " groups used";
	if (s.chi2 > bound)
		return ::testing::AssertionFailure() << "chi2 " << s.chi2 << " > " << bound;
	if (s.max > 3 * flows / groups)
		return ::testing::AssertionFailure() << "a group has " << s.max << " of " << flows;
	return ::testing::AssertionSuccess() << "chi2 " << s.chi2 << ", max " << s.max;
}

TEST(FlowHashSpread, PortsMovingTogetherUse256Groups)
{
	for (int family : { 4, 6 }) {
		for (__u32 seed : { 0u, 1u, 0xdeadbeefu }) {
			SCOPED_TRACE("family " + std::to_string(family) +
				     " seed " + std::to_string(seed));
			EXPECT_TRUE(balanced(spread(real_hash, 4096, 256, family, seed), 4096));
		}
	}
}

TEST(FlowHashSpread, SixtyFourFlowsUseAllFourGroups)
{
	for (int family : { 4, 6 }) {
		for (__u32 seed : { 0u, 1u, 0xdeadbeefu }) {
			SCOPED_TRACE("family " + std::to_string(family) +
				     " seed " + std::to_string(seed));
			EXPECT_TRUE(balanced(spread(real_hash, 64, 4, family, seed), 64));
		}
	}
}

// The bounds above must reject a hash that collapses ports moving together.
TEST(FlowHashSpread, BoundsRejectXorOfPorts)
{
	EXPECT_FALSE(balanced(spread(xor_ports_hash, 4096, 256, 4, 0), 4096));
	EXPECT_FALSE(balanced(spread(xor_ports_hash, 64, 4, 4, 0), 64));
}

// Every field of the 5-tuple, each IPv6 word and the seed must change the hash.
TEST(FlowHashSpread, EveryFieldCounts)
{
	for (uint32_t i = 0; i < 1000; i++) {
		struct ixdp_flow f = moving_ports_flow(i * 7919, 6);
		__u32 h = ixdp_flow_hash(&f, 0);

		for (int w = 0; w < 4; w++) {
			struct ixdp_flow g = f;

			g.saddr[w] ^= 1u << (i % 32);
			EXPECT_NE(ixdp_flow_hash(&g, 0), h) << "saddr word " << w;
			g = f;
			g.daddr[w] ^= 1u << (i % 32);
			EXPECT_NE(ixdp_flow_hash(&g, 0), h) << "daddr word " << w;
		}
		struct ixdp_flow g = f;
		g.sport ^= 1u << (i % 16);
		EXPECT_NE(ixdp_flow_hash(&g, 0), h);
		g = f;
		g.dport ^= 1u << (i % 16);
		EXPECT_NE(ixdp_flow_hash(&g, 0), h);
		g = f;
		g.proto = IPPROTO_TCP;
		EXPECT_NE(ixdp_flow_hash(&g, 0), h);
		g = f;
		std::swap(g.sport, g.dport);
		EXPECT_NE(ixdp_flow_hash(&g, 0), h) << "direction must count";
		EXPECT_NE(ixdp_flow_hash(&f, 1 + i), h) << "seed must count";
	}
}

// A new seed re-deals the flows: about 255 of 256 must change group.
TEST(FlowHashSpread, SeedRedealsGroups)
{
	uint32_t moved = 0;

	for (uint32_t i = 0; i < 4096; i++) {
		struct ixdp_flow f = moving_ports_flow(i, 4);

		moved += ixdp_flow_group(&f, 0, 255) != ixdp_flow_group(&f, 0x5eed, 255);
	}
	EXPECT_GE(moved, 4096u * 95 / 100);
}

// The table's frames, parsed in userspace: same class, and the very flow the builder recorded
// (the kernel tests compute expected flow groups from that flow).
TEST(SteerFrames, UserspaceParserAgreesWithTable)
{
	for (const Case &c : crafted_cases()) {
		struct ixdp_pkt pkt;
		int want = c.kind == kBad ? IXDP_PARSE_BAD :
			   c.kind == kOther ? IXDP_PARSE_OTHER : IXDP_PARSE_L4;
		int got = ixdp_parse(c.f.b.data(), c.f.b.data() + c.f.b.size(), &pkt);

		SCOPED_TRACE(c.name);
		EXPECT_EQ(got, want);
		if (got == IXDP_PARSE_L4 && want == IXDP_PARSE_L4) {
			EXPECT_EQ(memcmp(&pkt.flow, &c.f.flow, sizeof(pkt.flow)), 0);
			EXPECT_EQ(pkt.l3_off, c.f.l3);
			EXPECT_EQ(pkt.l4_off, c.f.l4);
		}
	}
}

// --- the kernel side -------------------------------------------------------------------------

// The private namespace, t0 and one AF_XDP socket per t0 queue; made once per process.
struct Rig {
	std::string error;
	int ifindex = 0;
	void *area = nullptr;
	struct xsk_umem *umem = nullptr;
	struct xsk_ring_prod fill[kQueues], tx[kQueues];
	struct xsk_ring_cons comp[kQueues], rx[kQueues];
	struct xsk_socket *xsk[kQueues] = {};

	int fd(uint32_t q) const { return xsk_socket__fd(xsk[q % kQueues]); }
};

std::string rig_init(Rig *r)
{
	const size_t frames = 256, size = frames * XSK_UMEM__DEFAULT_FRAME_SIZE;
	struct xsk_umem_config ucfg = {};
	struct xsk_socket_config scfg = {};
	int err;

	// Everything below happens in a namespace of our own: no interface outside is touched.
	if (unshare(CLONE_NEWNET))
		return std::string("unshare(CLONE_NEWNET): ") + strerror(errno);
	if (system("ip link set lo up && "
		   "ip link add t0 numrxqueues 4 numtxqueues 4 type veth "
		   "peer name t1 numrxqueues 4 numtxqueues 4 && "
		   "ip link set t0 up && ip link set t1 up"))
		return "could not create the veth pair t0/t1 with ip(8)";
	r->ifindex = if_nametoindex(kIfname);
	if (!r->ifindex)
		return "t0 vanished";

	r->area = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->area == MAP_FAILED)
		return std::string("mmap umem: ") + strerror(errno);
	ucfg.fill_size = 64;
	ucfg.comp_size = 64;
	ucfg.frame_size = XSK_UMEM__DEFAULT_FRAME_SIZE;
	err = xsk_umem__create(&r->umem, r->area, size, &r->fill[0], &r->comp[0], &ucfg);
	if (err)
		return std::string("xsk_umem__create: ") + strerror(-err);

	scfg.rx_size = 64;
	scfg.tx_size = 64;
	scfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;
	scfg.bind_flags = XDP_COPY;
	for (uint32_t q = 0; q < kQueues; q++) {
		err = xsk_socket__create_shared(&r->xsk[q], kIfname, q, r->umem, &r->rx[q],
						&r->tx[q], &r->fill[q], &r->comp[q], &scfg);
		if (err)
			return "AF_XDP socket on t0 queue " + std::to_string(q) + ": " +
			       strerror(-err);
	}
	return "";
}

Rig *rig_get()
{
	static Rig *rig;

	if (!rig) {
		rig = new Rig;
		rig->error = rig_init(rig);
	}
	return rig;
}

struct FgDelta {
	uint32_t fg;
	int64_t packets, bytes;

	bool operator==(const FgDelta &o) const
	{
		return fg == o.fg && packets == o.packets && bytes == o.bytes;
	}
};

std::ostream &operator<<(std::ostream &os, const FgDelta &d)
{
	return os << "{fg " << d.fg << ": +" << d.packets << " pkts, +" << d.bytes << " bytes}";
}

// Deltas of REDIRECTED, PASSED, NOT_PARSED, NO_SOCKET.
typedef std::array<int64_t, IXDP_CNT_MAX> Counters;

// One test run: the verdict and how every counter moved.
struct Outcome {
	int err = 0;
	uint32_t verdict = 0;
	Counters cnt = {};
	std::vector<FgDelta> fg;
};

Counters one(int counter)
{
	Counters c = {};

	c[counter] = 1;
	return c;
}

// Loads a fresh program (fresh maps) per test, with the service table above.
class SteerTest : public ::testing::Test {
protected:
	void SetUp() override
	{
		if (geteuid() != 0)
			GTEST_SKIP() << "needs root: BPF_PROG_TEST_RUN, XSKMAP, a private netns";
		rig_ = rig_get();
		ASSERT_EQ(rig_->error, "") << "test rig";
		skel_ = ixdp_steer__open_and_load();
		ASSERT_NE(skel_, nullptr) << "load ixdp_steer: " << strerror(errno);
		ncpu_ = libbpf_num_possible_cpus();
		ASSERT_GT(ncpu_, 0);
		in_xsks_.assign(IXDP_XSK_MAX, false);

		set_cfg(kWorkers, kQueues, IXDP_FG_DEFAULT - 1, 0);
		owners_.resize(IXDP_FG_MAX);
		for (uint32_t fg = 0; fg < IXDP_FG_MAX; fg++)
			set_owner(fg, default_owner(fg, kWorkers));

		add_service(IPPROTO_UDP, 4, kUdpSvc, "");
		add_service(IPPROTO_UDP, 6, kUdpSvc, "");
		add_service(IPPROTO_TCP, 4, kTcpSvc, kLocal4);
		add_service(IPPROTO_TCP, 6, kTcpSvc, kLocal6);
		add_service(IPPROTO_UDP, 4, kRemoteSvc, kOther4);
		add_service(IPPROTO_UDP, 6, kV6OnlySvc, "");
		add_local(4, kLocal4);
		add_local(6, kLocal6);
	}

	void TearDown() override
	{
		if (skel_)
			ixdp_steer__destroy(skel_);
	}

	int map_fd(struct bpf_map *m) { return bpf_map__fd(m); }

	void set_cfg(uint32_t workers, uint32_t queues, uint32_t fg_mask, uint32_t seed,
		     uint16_t eph_lo = kEphLo, uint16_t eph_hi = kEphHi)
	{
		__u32 zero = 0;

		cfg_ = {};
		cfg_.nr_workers = workers;
		cfg_.nr_queues = queues;
		cfg_.fg_mask = fg_mask;
		cfg_.hash_seed = seed;
		cfg_.eph_lo = eph_lo;
		cfg_.eph_hi = eph_hi;
		cfg_.abi = IXDP_STEER_ABI;
		EXPECT_EQ(bpf_map_update_elem(map_fd(skel_->maps.ixdp_cfg), &zero, &cfg_, 0), 0);
	}

	void set_owner(uint32_t fg, uint32_t owner)
	{
		owners_[fg] = owner;
		EXPECT_EQ(bpf_map_update_elem(map_fd(skel_->maps.fg_owner), &fg, &owner, 0), 0);
	}

	void add_service(uint8_t proto, int family, uint16_t port, const std::string &addr)
	{
		struct ixdp_svc_key k = {};
		__u32 id = ++services_;

		k.proto = proto;
		k.family = family;
		k.port = port;
		if (!addr.empty())
			parse_addr(family, addr, k.addr);
		EXPECT_EQ(bpf_map_update_elem(map_fd(skel_->maps.services), &k, &id, 0), 0);
	}

	void add_local(int family, const std::string &addr)
	{
		struct ixdp_addr_key k = {};
		__u32 one = 1;

		k.family = family;
		parse_addr(family, addr, k.addr);
		EXPECT_EQ(bpf_map_update_elem(map_fd(skel_->maps.local_addrs), &k, &one, 0), 0);
	}

	// Socket of queue @q into @slot (any bound socket does for the verdict; keep it plausible).
	void put_xsk(uint32_t slot, uint32_t q)
	{
		int fd = rig_->fd(q);

		ASSERT_EQ(bpf_map_update_elem(map_fd(skel_->maps.xsks), &slot, &fd, 0), 0)
			<< "slot " << slot << ": " << strerror(errno);
		in_xsks_[slot] = true;
	}

	void del_xsk(uint32_t slot)
	{
		if (!in_xsks_[slot])
			return;
		ASSERT_EQ(bpf_map_delete_elem(map_fd(skel_->maps.xsks), &slot), 0) << slot;
		in_xsks_[slot] = false;
	}

	// A socket in @slot and in no other slot.
	void only_xsk(uint32_t slot, uint32_t q)
	{
		for (uint32_t s = 0; s < kSlots; s++)
			if (s != slot)
				del_xsk(s);
		put_xsk(slot, q);
	}

	// Sockets in every slot of [0, kSlots) but @slot (-1: all of them).
	void all_xsks_but(int64_t slot)
	{
		for (uint32_t s = 0; s < kSlots; s++) {
			if (s == slot)
				del_xsk(s);
			else if (!in_xsks_[s])
				put_xsk(s, s / std::max(cfg_.nr_workers, 1u));
		}
	}

	Counters read_counters()
	{
		int stats_fd = map_fd(skel_->maps.steer_stats);
		std::vector<__u64> v(ncpu_);
		Counters sum = {};

		for (__u32 k = 0; k < IXDP_CNT_MAX; k++) {
			EXPECT_EQ(bpf_map_lookup_elem(stats_fd, &k, v.data()), 0);
			for (__u64 x : v)
				sum[k] += x;
		}
		return sum;
	}

	// All of fg_stats, summed over CPUs, in one batch.
	std::vector<struct ixdp_fg_stats> read_fg()
	{
		std::vector<__u32> keys(IXDP_FG_MAX);
		std::vector<struct ixdp_fg_stats> v((size_t)IXDP_FG_MAX * ncpu_), sum(IXDP_FG_MAX);
		__u32 out = 0, count = IXDP_FG_MAX;
		int err;

		err = bpf_map_lookup_batch(map_fd(skel_->maps.fg_stats), NULL, &out, keys.data(),
					   v.data(), &count, NULL);
		EXPECT_TRUE(err == 0 || err == -ENOENT) << strerror(-err);
		EXPECT_EQ(count, (__u32)IXDP_FG_MAX);
		for (__u32 i = 0; i < count; i++) {
			for (int cpu = 0; cpu < ncpu_; cpu++) {
				sum[keys[i]].packets += v[(size_t)i * ncpu_ + cpu].packets;
				sum[keys[i]].bytes += v[(size_t)i * ncpu_ + cpu].bytes;
			}
		}
		return sum;
	}

	// Run @b as if received on t0's queue @q; report the verdict and every counter's delta.
	Outcome run(const std::vector<uint8_t> &b, uint32_t q)
	{
		struct bpf_test_run_opts opts = {};
		struct xdp_md ctx = {};
		Outcome o;

		Counters c0 = read_counters();
		std::vector<struct ixdp_fg_stats> f0 = read_fg();

		ctx.data_end = b.size();	// the kernel insists it equals data_size_in
		ctx.ingress_ifindex = rig_->ifindex;
		ctx.rx_queue_index = q;
		opts.sz = sizeof(opts);
		opts.data_in = b.data();
		opts.data_size_in = b.size();
		opts.ctx_in = &ctx;
		opts.ctx_size_in = sizeof(ctx);
		o.err = bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.ixdp_steer), &opts);
		o.verdict = opts.retval;

		Counters c1 = read_counters();
		std::vector<struct ixdp_fg_stats> f1 = read_fg();
		for (int k = 0; k < IXDP_CNT_MAX; k++)
			o.cnt[k] = c1[k] - c0[k];
		for (uint32_t fg = 0; fg < IXDP_FG_MAX; fg++) {
			if (f1[fg].packets != f0[fg].packets || f1[fg].bytes != f0[fg].bytes)
				o.fg.push_back({ fg, (int64_t)(f1[fg].packets - f0[fg].packets),
						 (int64_t)(f1[fg].bytes - f0[fg].bytes) });
		}
		return o;
	}

	// Exactly one counter moved, and fg_stats[fg] gained (1, len) when fg >= 0, nothing else.
	void expect_outcome(const Outcome &o, uint32_t verdict, int counter, int64_t fg, size_t len)
	{
		std::vector<FgDelta> want_fg;

		if (fg >= 0)
			want_fg.push_back({ (uint32_t)fg, 1, (int64_t)len });
		ASSERT_EQ(o.err, 0) << strerror(-o.err);
		EXPECT_EQ(o.verdict, verdict) << "XDP_PASS 2, XDP_REDIRECT 4";
		EXPECT_EQ(o.cnt, one(counter)) << "REDIRECTED, PASSED, NOT_PARSED, NO_SOCKET";
		EXPECT_EQ(o.fg, want_fg);
	}

	uint32_t group_of(const Frame &f)
	{
		return ixdp_flow_group(&f.flow, cfg_.hash_seed, cfg_.fg_mask);
	}

	// @f on queue @q must go to slot q * nr_workers + fg_owner[fg] and to no other slot.
	void expect_steered(const Frame &f, uint32_t q)
	{
		uint32_t fg = group_of(f);
		uint32_t slot = q * cfg_.nr_workers + owners_[fg];

		ASSERT_LT(slot, kSlots);
		only_xsk(slot, q);
		expect_outcome(run(f.b, q), XDP_REDIRECT, IXDP_CNT_REDIRECTED, fg, f.b.size());
		all_xsks_but(slot);
		expect_outcome(run(f.b, q), XDP_PASS, IXDP_CNT_NO_SOCKET, fg, f.b.size());
	}

	// Not steered, whatever the sockets: PASSED, or NOT_PARSED for a frame the parser refuses.
	void expect_passed(const Frame &f, uint32_t q, bool bad)
	{
		all_xsks_but(-1);
		expect_outcome(run(f.b, q), XDP_PASS,
			       bad ? IXDP_CNT_NOT_PARSED : IXDP_CNT_PASSED, -1, 0);
	}

	Rig *rig_ = nullptr;
	struct ixdp_steer *skel_ = nullptr;
	int ncpu_ = 0;
	struct ixdp_steer_cfg cfg_ = {};
	std::vector<uint32_t> owners_;
	std::vector<bool> in_xsks_;
	__u32 services_ = 0;
};

TEST_F(SteerTest, CraftedFrames)
{
	std::vector<Case> cases = crafted_cases();

	for (size_t i = 0; i < cases.size(); i++) {
		const Case &c = cases[i];
		uint32_t q = i % kQueues;

		SCOPED_TRACE(c.name + " (queue " + std::to_string(q) + ")");
		if (c.kind == kSteer)
			expect_steered(c.f, q);
		else
			expect_passed(c.f, q, c.kind == kBad);
	}
}

// nr_workers == 0 (daemon not ready): everything parsed is PASSED, the rest still NOT_PARSED.
TEST_F(SteerTest, NoWorkersPassesEverything)
{
	std::vector<Case> cases = crafted_cases();

	set_cfg(0, kQueues, IXDP_FG_DEFAULT - 1, 0);
	for (size_t i = 0; i < cases.size(); i++) {
		SCOPED_TRACE(cases[i].name);
		expect_passed(cases[i].f, i % kQueues, cases[i].kind == kBad);
	}
}

// A queue outside the matrix has no row: NO_SOCKET even with every slot full.
TEST_F(SteerTest, QueueBeyondNrQueuesIsNoSocket)
{
	Frame f = build(udp(4, kUdpSvc));
	uint32_t fg;

	set_cfg(kWorkers, 2, IXDP_FG_DEFAULT - 1, 0);
	fg = group_of(f);
	all_xsks_but(-1);
	for (uint32_t q = 0; q < kQueues; q++) {
		SCOPED_TRACE("queue " + std::to_string(q));
		if (q < 2)
			expect_outcome(run(f.b, q), XDP_REDIRECT, IXDP_CNT_REDIRECTED, fg,
				       f.b.size());
		else
			expect_outcome(run(f.b, q), XDP_PASS, IXDP_CNT_NO_SOCKET, fg, f.b.size());
	}
}

// An owner outside the matrix's columns: NO_SOCKET even with every slot full.
TEST_F(SteerTest, OwnerBeyondNrWorkersIsNoSocket)
{
	Frame f = build(tcp(6, kTcpSvc, kLocal6));
	uint32_t fg = group_of(f);

	all_xsks_but(-1);
	for (uint32_t owner : { 4u, 5u, 63u, 64u, 0xffffffffu }) {
		SCOPED_TRACE("owner " + std::to_string(owner));
		set_owner(fg, owner);
		expect_outcome(run(f.b, 1), XDP_PASS, IXDP_CNT_NO_SOCKET, fg, f.b.size());
	}
	set_owner(fg, 3);
	expect_outcome(run(f.b, 1), XDP_REDIRECT, IXDP_CNT_REDIRECTED, fg, f.b.size());

	set_cfg(3, kQueues, IXDP_FG_DEFAULT - 1, 0);
	expect_outcome(run(f.b, 1), XDP_PASS, IXDP_CNT_NO_SOCKET, fg, f.b.size());
}

// eph_lo > eph_hi reserves no port at all.
TEST_F(SteerTest, EmptyEphemeralRange)
{
	set_cfg(kWorkers, kQueues, IXDP_FG_DEFAULT - 1, 0, 60000, 59999);
	for (uint16_t port : { 0, 59999, 60000, 65535 }) {
		SCOPED_TRACE("port " + std::to_string(port));
		expect_passed(build(udp(4, port, kLocal4)), 0, false);
		expect_passed(build(tcp(6, port, kLocal6)), 0, false);
	}
	expect_steered(build(udp(4, kUdpSvc)), 0);	// services still match
}

// The program clamps fg to the fg_owner/fg_stats tables whatever fg_mask says.
TEST_F(SteerTest, FgMaskWiderThanTables)
{
	Frame f = build(udp(6, kUdpSvc).from("2001:db8::42", 33333));

	set_cfg(kWorkers, kQueues, 0xffffffff, 0x1234);
	cfg_.fg_mask = IXDP_FG_MAX - 1;		// the group expect_steered must expect
	expect_steered(f, 2);
}

// Every cut of a valid frame: < ETH_HLEN the kernel refuses the run; from there on the parser
// must refuse it, since the IP length fields cover the whole frame.
TEST_F(SteerTest, TruncatedFrames)
{
	const std::vector<std::pair<std::string, Frame>> frames = {
		{ "udp4 service", build(udp(4, kUdpSvc)) },
		{ "udp4 802.1Q service", build(udp(4, kUdpSvc).tag(ETH_P_8021Q)) },
		{ "udp4 ihl 7 service", build(udp(4, kUdpSvc).with_ihl(7)) },
		{ "udp6 service", build(udp(6, kUdpSvc)) },
		{ "udp6 802.1Q service", build(udp(6, kUdpSvc).tag(ETH_P_8021Q)) },
		{ "tcp4 service", build(tcp(4, kTcpSvc, kLocal4)) },
		{ "tcp6 service with options", build(tcp(6, kTcpSvc, kLocal6).with_doff(7)) },
		{ "tcp4 eph", build(tcp(4, kEphLo, kLocal4).with_payload(0)) },
	};

	for (const auto &nf : frames) {
		const Frame &f = nf.second;

		SCOPED_TRACE(nf.first);
		// Whole it is ours (no socket in this test anywhere); only the cuts change that.
		expect_outcome(run(f.b, 0), XDP_PASS, IXDP_CNT_NO_SOCKET, group_of(f), f.b.size());
		for (size_t len = 0; len < f.b.size(); len++) {
			std::vector<uint8_t> cut(f.b.begin(), f.b.begin() + len);
			uint32_t q = len % kQueues;
			struct ixdp_pkt pkt;

			SCOPED_TRACE("length " + std::to_string(len));
			if (len < ETH_HLEN) {
				Outcome o = run(cut, q);

				EXPECT_EQ(o.err, -EINVAL);
				EXPECT_EQ(o.cnt, Counters{});
				EXPECT_TRUE(o.fg.empty());
				continue;
			}
			expect_outcome(run(cut, q), XDP_PASS, IXDP_CNT_NOT_PARSED, -1, 0);
			EXPECT_EQ(ixdp_parse(cut.data(), cut.data() + len, &pkt), IXDP_PARSE_BAD);
		}
	}
}

// Cuts that only eat Ethernet padding keep the datagram whole: still steered, bytes = the cut.
TEST_F(SteerTest, TruncatedPadding)
{
	Frame f = build(udp(4, kUdpSvc).with_payload(0).with_pad(32));

	for (size_t len = ETH_HLEN; len <= f.b.size(); len++) {
		std::vector<uint8_t> cut(f.b.begin(), f.b.begin() + len);

		SCOPED_TRACE("length " + std::to_string(len));
		if (len < f.end)
			expect_outcome(run(cut, 0), XDP_PASS, IXDP_CNT_NOT_PARSED, -1, 0);
		else
			expect_outcome(run(cut, 0), XDP_PASS, IXDP_CNT_NO_SOCKET, group_of(f), len);
	}
}

// ARP is never parsed past the EtherType: any cut from ETH_HLEN on is still the kernel's.
TEST_F(SteerTest, TruncatedArpIsPassed)
{
	Frame f = arp();

	for (size_t len = ETH_HLEN; len <= f.b.size(); len++) {
		SCOPED_TRACE("length " + std::to_string(len));
		expect_outcome(run(std::vector<uint8_t>(f.b.begin(), f.b.begin() + len), 0),
			       XDP_PASS, IXDP_CNT_PASSED, -1, 0);
	}
}

// Flow i of the matrix: services, families and ephemeral ports, addresses and ports varied.
Frame matrix_flow(uint32_t i)
{
	char v4[32], v6[64];
	uint16_t sport = 1024 + (i * 7717) % 60000;

	snprintf(v4, sizeof(v4), "198.%u.%u.%u", 18 + i % 2, (i * 37) % 256, 1 + (i * 11) % 250);
	snprintf(v6, sizeof(v6), "2001:db8:%x::%x", i * 13, 1 + i);
	switch (i % 4) {
	case 0:
		return build(udp(4, kUdpSvc).from(v4, sport));
	case 1:
		return build(tcp(4, kTcpSvc, kLocal4).from(v4, sport));
	case 2:
		return build(udp(6, kUdpSvc).from(v6, sport));
	default:
		if (i & 4)
			return build(l4(6, i & 8 ? IPPROTO_TCP : IPPROTO_UDP,
					kEphLo + (i * 131) % 1000, kLocal6).from(v6, sport));
		return build(l4(4, i & 8 ? IPPROTO_TCP : IPPROTO_UDP,
				kEphLo + (i * 131) % 1000, kLocal4).from(v4, sport));
	}
}

// BPF and userspace compute the same flow group, and the frame goes to q * nr_workers + owner.
TEST_F(SteerTest, TargetMatrix)
{
	struct Layout {
		uint32_t workers, queues, groups, seed;
	};
	const Layout layouts[] = {
		{ 4, 4, 1, 0 },
		{ 4, 4, 4, 0x5eed1234 },
		{ 4, 4, 256, 0 },
		{ 4, 4, 4096, 0xdeadbeef },
		{ 3, 4, 256, 7 },		// not square: catches queue * nr_queues
		{ 4, 2, 256, 0x9e3779b9 },	// more columns than rows
	};
	const uint32_t flows = 32;

	for (const Layout &l : layouts) {
		std::set<uint32_t> owners, groups;

		SCOPED_TRACE("workers " + std::to_string(l.workers) +
			     " queues " + std::to_string(l.queues) +
			     " groups " + std::to_string(l.groups) +
			     " seed " + std::to_string(l.seed));
		set_cfg(l.workers, l.queues, l.groups - 1, l.seed);
		for (uint32_t fg = 0; fg < IXDP_FG_MAX; fg++)
			set_owner(fg, default_owner(fg, l.workers));
		for (uint32_t i = 0; i < flows; i++) {
			Frame f = matrix_flow(i);

			SCOPED_TRACE("flow " + std::to_string(i));
			for (uint32_t q = 0; q < l.queues; q++)
				expect_steered(f, q);
			groups.insert(group_of(f));
			owners.insert(owners_[group_of(f)]);
			if (HasFatalFailure())
				return;
		}
		// The matrix is only a test if the flows reached several groups and every worker.
		EXPECT_GE(groups.size(), std::min(l.groups, flows / 2));
		EXPECT_EQ(owners.size(), std::min(l.workers, l.groups));
	}
}

}  // namespace
