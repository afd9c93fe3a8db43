// SPDX-License-Identifier: GPL-2.0
// stack_test.cc - a worker's TCP stack (daemon/tcp/) against a second, independent lwIP copy
// acting as the client, joined by an in-memory wire: handshake, echo, close, reset, loss and
// retransmission, flow control, neighbour waits, isolation of copies, addresses coming and going,
// and 1 to 10,000 connections with the per-segment cost reported (not asserted).
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <chrono>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

extern "C" {
#include "ixdp/ctl.h"
#include "net/csum.h"
#include "tcp/lwcopy.h"
#include "tcp/stack.h"
}

namespace {

using Frame = std::vector<uint8_t>;

const uint8_t kSrvMac[6] = { 0x02, 0, 0xc6, 0x12, 0, 1 };
const uint8_t kCliMac[6] = { 0x02, 0, 0xc6, 0x12, 0, 2 };
const char kSrvIp[] = "198.18.0.1";
const char kCliIp[] = "198.18.0.2";
const uint16_t kEcho = 7, kSink = 9;

uint32_t ip4(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

// The wire between the stack under test (server) and the client copy.
struct Wire {
	std::deque<Frame> to_srv, to_cli;
	int frames_out = 0;	// frames the server stack allocated and has not sent or dropped
	int drop_to_cli = -1;	// drop the n-th next frame towards the client
	bool cli_gone = false;	// drop everything towards the client (it vanished)
	int drop_to_srv = -1;
	bool neigh_known = true;
	int dropped_acks = 0;
	int resolves = 0;
	bool only_cli = false;	// drop frames to addresses other than the client's (spoofed peers)
	uint32_t cli_ip = 0;
	int to_others = 0;
};

// --- the server: the stack under test, with io callbacks onto the wire ----------------------

// Every frame its own buffer, as umem frames are: the stack may hold one back (pure ACKs).
void *srv_tx_alloc(void *ctx, __u32 len)
{
	static_cast<Wire *>(ctx)->frames_out++;
	return new uint8_t[len]();
}

void srv_tx_commit(void *ctx, void *buf, __u32 len)
{
	Wire *w = static_cast<Wire *>(ctx);
	std::unique_ptr<uint8_t[]> own(static_cast<uint8_t *>(buf));

	w->frames_out--;
	if (w->cli_gone)
		return;
	if (w->only_cli && len >= 34 && memcmp((uint8_t *)buf + 30, &w->cli_ip, 4)) {
		w->to_others++;
		return;
	}
	if (w->drop_to_cli == 0) {
		w->drop_to_cli = -1;
		return;
	}
	if (w->drop_to_cli > 0)
		w->drop_to_cli--;
	w->to_cli.emplace_back((uint8_t *)buf, (uint8_t *)buf + len);
}

void srv_tx_drop(void *ctx, void *buf)
{
	Wire *w = static_cast<Wire *>(ctx);

	delete[] static_cast<uint8_t *>(buf);
	w->frames_out--;
	w->dropped_acks++;
}

int srv_resolve(void *ctx, int family, const void *addr, __u8 mac[6])
{
	Wire *w = static_cast<Wire *>(ctx);
	w->resolves++;
	if (!w->neigh_known)
		return -EAGAIN;
	memcpy(mac, kCliMac, 6);
	return 0;
}

// --- the client: a plain lwIP copy driven with its raw API ---------------------------------

struct Client;

struct Conn {
	Client *cli = nullptr;
	struct tcp_pcb *pcb = nullptr;
	bool connected = false, closed_by_peer = false, reset = false;
	std::string got;
};

struct Client {
	struct lwcopy lw;
	struct netif nif;
	Wire *w;
	std::vector<Conn *> conns;
};

Client *g_cli; // the client copy's callbacks find it here (one client per test)

err_t cli_output4(struct netif *n, struct pbuf *p, const ip4_addr_t *dst)
{
	Client *c = static_cast<Client *>(n->state);
	Frame f(14 + p->tot_len);
	memcpy(&f[0], kSrvMac, 6);
	memcpy(&f[6], kCliMac, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	c->lw.ops.pbuf_copy_partial(p, &f[14], p->tot_len, 0);
	if (c->w->drop_to_srv == 0) {
		c->w->drop_to_srv = -1;
		return ERR_OK;
	}
	if (c->w->drop_to_srv > 0)
		c->w->drop_to_srv--;
	c->w->to_srv.push_back(std::move(f));
	return ERR_OK;
}

err_t cli_linkoutput(struct netif *, struct pbuf *)
{
	return ERR_IF;
}

err_t cli_netif_init(struct netif *n)
{
	n->output = cli_output4;
	n->linkoutput = cli_linkoutput;
	n->mtu = 1500;
	n->hwaddr_len = 6;
	memcpy(n->hwaddr, kCliMac, 6);
	n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHERNET;
	return ERR_OK;
}

err_t cli_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t)
{
	Conn *c = static_cast<Conn *>(arg);
	auto &ops = c->cli->lw.ops;
	if (!p) {
		c->closed_by_peer = true;
		return ERR_OK;
	}
	std::string chunk(p->tot_len, '\0');
	ops.pbuf_copy_partial(p, &chunk[0], p->tot_len, 0);
	c->got += chunk;
	ops.tcp_recved(pcb, p->tot_len);
	ops.pbuf_free(p);
	return ERR_OK;
}

void cli_err(void *arg, err_t)
{
	Conn *c = static_cast<Conn *>(arg);
	c->reset = true;
	c->pcb = nullptr;
}

err_t cli_connected(void *arg, struct tcp_pcb *, err_t)
{
	static_cast<Conn *>(arg)->connected = true;
	return ERR_OK;
}

class StackTest : public ::testing::Test {
protected:
	Wire w;
	struct stack *srv = nullptr;
	Client cli;
	uint64_t now = 1000000000ull;

	// A test fixture may set limits before the stack opens.
	virtual void tune(struct stack_cfg &) {}

	void SetUp() override
	{
		struct stack_cfg cfg = {};
		w.cli_ip = ip4(kCliIp);
		tune(cfg);
		memcpy(cfg.mac, kSrvMac, 6);
		cfg.mtu = 1500;
		cfg.nr_addrs = 1;
		cfg.addrs[0].a.family = IXDP_FAMILY_INET;
		cfg.addrs[0].a.addr[0] = ip4(kSrvIp);
		cfg.addrs[0].prefix_len = 24;
		struct stack_io io = { &w, srv_tx_alloc, srv_tx_commit, srv_tx_drop, srv_resolve };
		ASSERT_EQ(stack_open(&srv, &cfg, &io), 0);
		ASSERT_EQ(stack_listen(srv, kEcho, STACK_ECHO), 0);
		ASSERT_EQ(stack_listen(srv, kSink, STACK_SINK), 0);

		ASSERT_EQ(lwcopy_open(&cli.lw, nullptr), 0);
		cli.w = &w;
		g_cli = &cli;
		ip4_addr_t a, m, gw;
		a.addr = ip4(kCliIp);
		m.addr = ip4("255.255.255.0");
		gw.addr = 0;
		ASSERT_NE(cli.lw.ops.netif_add(&cli.nif, &a, &m, &gw, &cli, cli_netif_init,
					       cli.lw.ops.ip_input),
			  nullptr);
		cli.lw.ops.netif_set_default(&cli.nif);
		cli.lw.ops.netif_set_up(&cli.nif);
		cli.lw.ops.netif_set_link_up(&cli.nif);
	}

	void TearDown() override
	{
		for (Conn *c : cli.conns) {
			if (c->pcb) {
				cli.lw.ops.tcp_arg(c->pcb, nullptr);
				cli.lw.ops.tcp_err(c->pcb, nullptr);
				cli.lw.ops.tcp_abort(c->pcb);
			}
			delete c;
		}
		// pcbs the test handed to lwIP (closed: TIME_WAIT, or still closing) go with the copy.
		for (struct tcp_pcb **list : { cli.lw.ops.tcp_active_pcbs, cli.lw.ops.tcp_tw_pcbs })
			while (*list) {
				cli.lw.ops.tcp_arg(*list, nullptr);
				cli.lw.ops.tcp_err(*list, nullptr);
				cli.lw.ops.tcp_abort(*list);
			}
		stack_close(srv);
		cli.lw.ops.netif_remove(&cli.nif);
		lwcopy_close(&cli.lw);
	}

	Conn *connect(uint16_t port, uint16_t sport = 0, const char *dst_ip = kSrvIp)
	{
		auto &ops = cli.lw.ops;
		Conn *c = new Conn;
		c->cli = &cli;
		c->pcb = ops.tcp_new_ip_type(IPADDR_TYPE_V4);
		ops.tcp_arg(c->pcb, c);
		ops.tcp_recv(c->pcb, cli_recv);
		ops.tcp_err(c->pcb, cli_err);
		if (sport) {
			ip_addr_t any = IPADDR4_INIT(0);
			EXPECT_EQ(ops.tcp_bind(c->pcb, &any, sport), ERR_OK);
		}
		ip_addr_t dst = IPADDR4_INIT(ip4(dst_ip));
		EXPECT_EQ(ops.tcp_connect(c->pcb, &dst, port, cli_connected), ERR_OK);
		cli.conns.push_back(c);
		return c;
	}

	void send(Conn *c, const std::string &data)
	{
		size_t off = 0;
		while (off < data.size()) {
			size_t n = std::min<size_t>(data.size() - off, tcp_sndbuf(c->pcb));
			if (n && cli.lw.ops.tcp_write(c->pcb, data.data() + off, n,
						      TCP_WRITE_FLAG_COPY) == ERR_OK) {
				off += n;
				cli.lw.ops.tcp_output(c->pcb);
			}
			pump_once();
			ASSERT_TRUE(c->pcb) << "connection reset while sending";
		}
	}

	// Deliver what is on the wire, both ways, until it is quiet (bounded).
	bool pump_once()
	{
		bool moved = false;
		while (!w.to_srv.empty()) {
			Frame f = std::move(w.to_srv.front());
			w.to_srv.pop_front();
			struct ixdp_pkt pkt;
			if (ixdp_parse(f.data(), f.data() + f.size(), &pkt) == IXDP_PARSE_L4)
				stack_input(srv, f.data(), &pkt);
			moved = true;
		}
		while (!w.to_cli.empty()) {
			Frame f = std::move(w.to_cli.front());
			w.to_cli.pop_front();
			auto &ops = cli.lw.ops;
			struct pbuf *p = ops.pbuf_alloc(PBUF_RAW, f.size() - 14, PBUF_RAM);
			ops.pbuf_take(p, &f[14], f.size() - 14);
			ops.ip_input(p, &cli.nif);
			moved = true;
		}
		stack_poll(srv, now);
		lwcopy_run_deferred();
		return moved || !w.to_srv.empty() || !w.to_cli.empty();
	}

	void pump()
	{
		for (int i = 0; i < 100000 && pump_once(); i++)
			;
	}

	// Let 250 ms pass on both sides: TCP timers (retransmissions, delayed ACKs, TIME_WAIT).
	void tick(int n = 1)
	{
		for (int i = 0; i < n; i++) {
			now += STACK_TMR_NS;
			*cli.lw.ops.tcp_active_pcbs_changed = 0;
			cli.lw.ops.tcp_tmr();
			pump();
		}
	}
};

std::string pattern(size_t n, unsigned seed)
{
	std::string s(n, '\0');
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		s[i] = (char)x;
	}
	return s;
}

TEST_F(StackTest, HandshakeEchoClose)
{
	Conn *c = connect(kEcho);
	pump();
	ASSERT_TRUE(c->connected);
	EXPECT_EQ(stack_stats(srv)->conns, 1u);
	EXPECT_EQ(stack_stats(srv)->conns_opened, 1u);

	send(c, "hello, ixdp");
	pump();
	EXPECT_EQ(c->got, "hello, ixdp");

	ASSERT_EQ(cli.lw.ops.tcp_close(c->pcb), ERR_OK);
	c->pcb = nullptr; // lwIP's now (TIME_WAIT on the client side)
	pump();
	tick(2);
	EXPECT_EQ(stack_stats(srv)->conns, 0u) << "server pcb not out of the demux hash";
	EXPECT_EQ(stack_stats(srv)->conns_closed, 1u);
	EXPECT_EQ(stack_stats(srv)->bytes_in, 11u);
	EXPECT_EQ(stack_stats(srv)->bytes_out, 11u);
}

// Debian's PBUF_POOL pbufs are allocated at 616 bytes and filled to 1536 (shared/notes/lwip.md):
// watch every pbuf the stack allocates while it serves, and look at where lwIP took it from.
struct PbufSpy {
	static inline decltype(lw_ops::pbuf_alloc) real;
	static inline unsigned heap, other;
	static struct pbuf *alloc(pbuf_layer l, u16_t len, pbuf_type type)
	{
		struct pbuf *p = real(l, len, type);

		if (p && (p->type_internal & PBUF_TYPE_ALLOC_SRC_MASK) ==
				 PBUF_TYPE_ALLOC_SRC_MASK_STD_HEAP)
			heap++;
		else if (p)
			other++;
		return p;
	}
};

TEST_F(StackTest, EveryPbufTheStackAllocatesIsOnTheHeap)
{
	struct lw_ops *ops = &stack_lwcopy(srv)->ops;
	PbufSpy::real = ops->pbuf_alloc;
	ops->pbuf_alloc = PbufSpy::alloc;
	Conn *c = connect(kEcho);
	pump();
	std::string data = pattern(256 << 10, 7);
	send(c, data);
	for (int i = 0; i < 100 && c->got.size() < data.size(); i++)
		tick();
	ops->pbuf_alloc = PbufSpy::real;
	ASSERT_TRUE(c->got == data);
	EXPECT_GT(PbufSpy::heap, 100u) << "the spy saw too little to prove anything";
	EXPECT_EQ(PbufSpy::other, 0u) << "pbufs from a pool (PBUF_POOL overflows in Debian's build)";
}

TEST_F(StackTest, EchoOneMegabyteWithFlowControl)
{
	Conn *c = connect(kEcho);
	pump();
	std::string data = pattern(1 << 20, 1);
	send(c, data); // larger than both windows: the echo has to wait for the client to read
	for (int i = 0; i < 100 && c->got.size() < data.size(); i++)
		tick();
	ASSERT_EQ(c->got.size(), data.size());
	EXPECT_TRUE(c->got == data) << "echoed bytes differ";
	EXPECT_EQ(stack_stats(srv)->retrans, 0u);
}

TEST_F(StackTest, LostSegmentIsRetransmitted)
{
	Conn *c = connect(kEcho);
	pump();
	w.drop_to_cli = 0; // the server's first echo segment is lost
	send(c, "one");
	pump();
	EXPECT_EQ(c->got, "");
	for (int i = 0; i < 40 && c->got.empty(); i++)
		tick();
	EXPECT_EQ(c->got, "one");
	EXPECT_GE(stack_stats(srv)->retrans, 1u);

	w.drop_to_srv = 0; // and a client segment lost on the way in
	send(c, "two");
	for (int i = 0; i < 40 && c->got.size() < 6; i++)
		tick();
	EXPECT_EQ(c->got, "onetwo");
}

TEST_F(StackTest, ResetFreesTheServerSide)
{
	Conn *c = connect(kEcho);
	pump();
	send(c, "x");
	pump();
	cli.lw.ops.tcp_arg(c->pcb, nullptr);
	cli.lw.ops.tcp_err(c->pcb, nullptr);
	cli.lw.ops.tcp_abort(c->pcb); // RST
	c->pcb = nullptr;
	pump();
	EXPECT_EQ(stack_stats(srv)->conns, 0u);
	EXPECT_EQ(stack_stats(srv)->conns_closed, 1u);
}

// A peer that vanishes without a word (a lost RST, a dead host) is reaped by keepalive.
TEST_F(StackTest, KeepaliveReapsAVanishedPeer)
{
	Conn *c = connect(kEcho);
	pump();
	send(c, "x");
	pump();
	ASSERT_EQ(stack_stats(srv)->conns, 1u);
	w.cli_gone = true;
	tick(4 * 50); // 50 s: idle, not yet probing
	EXPECT_EQ(stack_stats(srv)->conns, 1u);
	tick(4 * 60); // idle 60 s + 3 probes 10 s apart, unanswered
	EXPECT_EQ(stack_stats(srv)->conns, 0u);
	EXPECT_EQ(stack_stats(srv)->conns_closed, 1u);
	w.cli_gone = false;
}

// TCP flags, ACK number and payload length of an IPv4 frame towards the client.
struct Seg {
	uint8_t flags;
	uint32_t ack;
	size_t payload;
};

Seg seg_of(const Frame &f)
{
	const uint8_t *tcp = &f[14 + 20];
	uint32_t ack;

	memcpy(&ack, tcp + 8, 4);
	return { tcp[13], ntohl(ack), f.size() - 14 - 20 - (size_t)(tcp[12] >> 4) * 4 };
}

void client_sends(Client &cli, Conn *c, int n, unsigned seed)
{
	tcp_nagle_disable(c->pcb);
	for (int i = 0; i < n; i++) {
		std::string chunk = pattern(1000, seed + i);
		ASSERT_EQ(cli.lw.ops.tcp_write(c->pcb, chunk.data(), chunk.size(), TCP_WRITE_FLAG_COPY),
			  ERR_OK);
		cli.lw.ops.tcp_output(c->pcb);
	}
}

void server_batch(struct stack *srv, std::deque<Frame> &frames)
{
	std::deque<Frame> batch;
	batch.swap(frames);
	for (Frame &f : batch) {
		struct ixdp_pkt pkt;
		ixdp_parse(f.data(), f.data() + f.size(), &pkt);
		stack_input(srv, f.data(), &pkt);
	}
}

// A batch of in-order segments gets one ACK, not one per two segments.
TEST_F(StackTest, PureAcksCoalescePerBatch)
{
	Conn *c = connect(kSink);
	pump();
	send(c, pattern(50000, 9)); // open the client's congestion window first
	pump();
	uint64_t base = stack_stats(srv)->bytes_in, coalesced = stack_stats(srv)->acks_coalesced;
	client_sends(cli, c, 8, 10);
	ASSERT_EQ(w.to_srv.size(), 8u);
	server_batch(srv, w.to_srv);
	EXPECT_TRUE(w.to_cli.empty()) << "pure ACKs sent before the batch ended";
	stack_flush(srv);
	ASSERT_EQ(w.to_cli.size(), 1u) << "not one ACK for the whole batch";
	EXPECT_GE(stack_stats(srv)->acks_coalesced - coalesced, 3u);
	EXPECT_EQ(w.frames_out, 0) << "a held frame was lost";
	pump();
	tick(1); // a delayed ACK for a last odd segment goes with the fast timer
	EXPECT_EQ(c->pcb->unacked, nullptr) << "the client still waits for an ACK";
	EXPECT_EQ(stack_stats(srv)->bytes_in - base, 8000u);
}

// Duplicate ACKs (a hole in the sequence) are never folded: the sender's fast retransmit
// counts them.
TEST_F(StackTest, DuplicateAcksAreKept)
{
	Conn *c = connect(kSink);
	pump();
	send(c, pattern(50000, 19));
	pump();
	uint64_t base = stack_stats(srv)->bytes_in;
	client_sends(cli, c, 6, 20);
	ASSERT_EQ(w.to_srv.size(), 6u);
	Frame hole = w.to_srv[1];
	w.to_srv.erase(w.to_srv.begin() + 1);
	server_batch(srv, w.to_srv);
	stack_flush(srv);
	std::map<uint32_t, int> acks;
	for (const Frame &f : w.to_cli) {
		Seg g = seg_of(f);
		if (g.flags == 0x10 && !g.payload)
			acks[g.ack]++;
	}
	int most = 0;
	for (auto &kv : acks)
		most = std::max(most, kv.second);
	EXPECT_GE(most, 3) << "the duplicate ACKs for the hole were folded";
	w.to_srv.push_back(hole);
	pump();
	tick(4);
	EXPECT_EQ(stack_stats(srv)->bytes_in - base, 6000u);
	EXPECT_EQ(w.frames_out, 0);
}

TEST_F(StackTest, SinkCountsAndAcks)
{
	Conn *c = connect(kSink);
	pump();
	std::string data = pattern(300000, 2);
	send(c, data);
	for (int i = 0; i < 20 && stack_stats(srv)->bytes_in < data.size(); i++)
		tick();
	EXPECT_EQ(stack_stats(srv)->bytes_in, data.size());
	EXPECT_EQ(c->got, "");
}

// lwIP delays the ACK of a lone segment to its next 250 ms timer; the stack sends it after a
// few milliseconds (a peer with Nagle on waits for it before its next small write).
TEST_F(StackTest, DelayedAckGoesOutWithinMilliseconds)
{
	Conn *c = connect(kSink);
	pump();
	send(c, std::string(100, 'x'));
	pump();
	ASSERT_TRUE(c->pcb);
	EXPECT_NE(c->pcb->unacked, nullptr) << "a lone segment was acknowledged at once";
	now += 6000000; // 6 ms, far from tcp_fasttmr()'s 250 ms
	pump();
	EXPECT_EQ(c->pcb->unacked, nullptr) << "the delayed ACK did not go out";
}

// An app connection (the stack's app API, as daemon/app/chan.c drives it) that the server closes
// first: its TIME_WAIT is kept in the stack's hash, not on a list lwIP walks for every SYN, is
// listed and counted, and a new SYN for the same 4-tuple takes it over.
struct AppSide {
	std::vector<struct stack_conn *> conns;
	int dead = 0;
};

void *app_knock(void *ctx, void *, struct stack_conn *c, const struct stack_conn_info *)
{
	static_cast<AppSide *>(ctx)->conns.push_back(c);
	return reinterpret_cast<void *>(static_cast<AppSide *>(ctx)->conns.size());
}
void app_readable(void *, void *) {}
void app_sent(void *, void *, __u32) {}
void app_connected(void *, void *, int) {}
void app_dead(void *ctx, void *, int) { static_cast<AppSide *>(ctx)->dead++; }

TEST_F(StackTest, ServerTimeWaitIsHashedListedAndTakenOverBySyn)
{
	static const struct stack_app_ops ops = { app_knock, app_readable, app_sent, app_connected,
						  app_dead };
	const __u32 any[4] = {};
	const uint16_t kApp = 8000, kPort = 40000;
	AppSide app;
	int lst;

	stack_set_app(srv, &ops, &app);
	ASSERT_EQ(stack_app_listen(srv, IXDP_FAMILY_INET, any, kApp, &lst), 0);
	Conn *c = connect(kApp, kPort);
	pump();
	ASSERT_TRUE(c->connected);
	ASSERT_EQ(app.conns.size(), 1u);
	stack_conn_close(srv, app.conns[0], false); // the server closes first
	pump();
	ASSERT_TRUE(c->closed_by_peer);
	cli.lw.ops.tcp_close(c->pcb);
	c->pcb = nullptr;
	pump();
	EXPECT_EQ(stack_stats(srv)->time_wait, 1u);
	EXPECT_EQ(stack_stats(srv)->conns, 0u);
	std::vector<struct stack_conn_info> info(4);
	ASSERT_EQ(stack_conns(srv, info.data(), info.size()), 1u);
	EXPECT_EQ(info[0].state, IXDP_TCP_TIME_WAIT);
	EXPECT_EQ(info[0].rport, kPort);

	tick(8); // the client's next ISN lies past the old connection's sequence space
	EXPECT_EQ(stack_stats(srv)->time_wait, 1u) << "TIME_WAIT lasts 2 MSL";
	Conn *again = connect(kApp, kPort);
	pump();
	EXPECT_TRUE(again->connected) << "a SYN for the TIME_WAIT 4-tuple was not accepted";
	EXPECT_EQ(stack_stats(srv)->tw_reused, 1u);
	EXPECT_EQ(stack_stats(srv)->time_wait, 0u);
	EXPECT_EQ(stack_stats(srv)->conns, 1u);
	EXPECT_EQ(app.conns.size(), 2u);
	stack_conn_close(srv, app.conns[1], true);
	pump();
}

TEST_F(StackTest, NoListenerGetsAReset)
{
	Conn *c = connect(8080);
	pump();
	EXPECT_TRUE(c->reset);
	EXPECT_FALSE(c->connected);
	EXPECT_EQ(stack_stats(srv)->conns, 0u);
}

TEST_F(StackTest, FramesWaitForTheirNeighbour)
{
	w.neigh_known = false;
	Conn *c = connect(kEcho);
	pump();
	EXPECT_FALSE(c->connected) << "SYN-ACK sent without a MAC";
	w.neigh_known = true;
	now += 2000000ull; // the next retry
	pump();
	EXPECT_TRUE(c->connected) << "the waiting SYN-ACK was not sent once the MAC was known";
	EXPECT_EQ(stack_stats(srv)->tx_unresolved, 0u);
}

TEST_F(StackTest, UnresolvedNeighbourGivesUp)
{
	w.neigh_known = false;
	connect(kEcho);
	pump(); // the first retry starts the 3 s wait
	now += 4000000000ull;
	pump();
	EXPECT_GE(stack_stats(srv)->tx_unresolved, 1u);
}

TEST_F(StackTest, OnlyLocalDestinations)
{
	Conn *c = connect(kEcho);
	ASSERT_EQ(w.to_srv.size(), 1u);
	Frame syn = w.to_srv.front();
	w.to_srv.clear();
	// Rewrite the destination to an address the stack does not own (checksums do not matter:
	// the stack must refuse before lwIP looks).
	uint32_t other = ip4("198.18.0.77");
	memcpy(&syn[14 + 16], &other, 4);
	struct ixdp_pkt pkt;
	ASSERT_EQ(ixdp_parse(syn.data(), syn.data() + syn.size(), &pkt), IXDP_PARSE_L4);
	EXPECT_EQ(stack_input(srv, syn.data(), &pkt), -EINVAL);
	EXPECT_EQ(stack_stats(srv)->rx_not_local, 1u);
	EXPECT_TRUE(w.to_cli.empty()) << "the stack answered (or forwarded) a foreign segment";
	(void)c;
}

// The kernel adds an address to the interface, later removes it: the stack serves it in between,
// and its removal resets the connections on it, and only those.
TEST_F(StackTest, AddressesComeAndGoAtRuntime)
{
	const char *second = "198.18.0.9";
	struct stack_addr a = {};
	a.a.family = IXDP_FAMILY_INET;
	a.a.addr[0] = ip4(second);
	a.prefix_len = 24;

	Conn *early = connect(kEcho, 0, second);
	pump();
	EXPECT_FALSE(early->connected) << "served an address before it was added";
	EXPECT_EQ(stack_stats(srv)->rx_not_local, 1u);

	ASSERT_EQ(stack_addr_add(srv, &a), 0);
	EXPECT_EQ(stack_addr_add(srv, &a), 0) << "adding twice is not an error";
	Conn *on2 = connect(kEcho, 0, second);
	Conn *on1 = connect(kEcho);
	pump();
	ASSERT_TRUE(on2->connected);
	ASSERT_TRUE(on1->connected);
	send(on2, "to the new address");
	pump();
	EXPECT_EQ(on2->got, "to the new address");
	EXPECT_EQ(stack_stats(srv)->conns, 2u);

	EXPECT_EQ(stack_addr_del(srv, &a.a), 1) << "one connection was on it";
	pump();
	EXPECT_TRUE(on2->reset) << "the peer was not told";
	EXPECT_FALSE(on1->reset);
	EXPECT_EQ(stack_stats(srv)->conns, 1u);
	EXPECT_EQ(stack_stats(srv)->addr_resets, 1u);
	EXPECT_EQ(stack_addr_del(srv, &a.a), -ENOENT);

	Conn *late = connect(kEcho, 0, second);
	pump();
	EXPECT_FALSE(late->connected) << "served an address after it was removed";
	send(on1, "the first address goes on");
	pump();
	EXPECT_EQ(on1->got, "the first address goes on");

	// Both families, beyond what one lwIP netif holds (one IPv4, three IPv6 addresses).
	for (unsigned i = 0; i < 8; i++) {
		struct stack_addr b = {};
		b.a.family = i & 1 ? IXDP_FAMILY_INET6 : IXDP_FAMILY_INET;
		b.a.addr[0] = i & 1 ? htonl(0x20010db8) : ip4("198.18.1.0") + htonl(i);
		b.a.addr[3] = i & 1 ? htonl(i) : 0;
		b.prefix_len = i & 1 ? 64 : 24;
		ASSERT_EQ(stack_addr_add(srv, &b), 0) << i;
	}
	a.a.addr[0] = ip4("198.18.1.2");
	Conn *v4 = connect(kEcho, 0, "198.18.1.2");
	pump();
	EXPECT_TRUE(v4->connected) << "an address on a further netif is not served";
	EXPECT_EQ(stack_addr_del(srv, &a.a), 1);
}

// Two stacks in one process: each its own lwIP state (both listen on the same port).
TEST(StackCopies, AreIsolated)
{
	Wire w1, w2;
	struct stack_cfg cfg = {};
	cfg.mtu = 1500;
	cfg.nr_addrs = 1;
	cfg.addrs[0].a.family = IXDP_FAMILY_INET;
	cfg.addrs[0].a.addr[0] = ip4(kSrvIp);
	cfg.addrs[0].prefix_len = 24;
	struct stack_io io1 = { &w1, srv_tx_alloc, srv_tx_commit, srv_tx_drop, srv_resolve };
	struct stack_io io2 = { &w2, srv_tx_alloc, srv_tx_commit, srv_tx_drop, srv_resolve };
	struct stack *a, *b;
	ASSERT_EQ(stack_open(&a, &cfg, &io1), 0);
	ASSERT_EQ(stack_open(&b, &cfg, &io2), 0);
	EXPECT_EQ(stack_listen(a, 7, STACK_ECHO), 0);
	EXPECT_EQ(stack_listen(b, 7, STACK_ECHO), 0) << "copies share lwIP's port table";
	EXPECT_EQ(stack_listen(a, 7, STACK_ECHO), -EADDRINUSE);
	EXPECT_STREQ(stack_how(a), "memfd");
	stack_close(a);
	stack_close(b);

	struct lwcopy x, y;
	ASSERT_EQ(lwcopy_open(&x, nullptr), 0);
	ASSERT_EQ(lwcopy_open(&y, nullptr), 0);
	EXPECT_NE(x.dl, y.dl);
	EXPECT_NE((void *)x.ops.tcp_active_pcbs, (void *)y.ops.tcp_active_pcbs);
	EXPECT_NE((void *)x.ops.tcp_ticks, (void *)y.ops.tcp_ticks);
	EXPECT_NE((void *)x.ops.tcp_write, (void *)y.ops.tcp_write);
	*x.ops.tcp_ticks = 1234;
	EXPECT_NE(*y.ops.tcp_ticks, 1234u);
	lwcopy_close(&x);
	lwcopy_close(&y);
}

// 1 to 4096 connections, round-robin 64-byte messages: the server stack's cost per segment
// stays flat (the hash demux).  Reported, not asserted: timing belongs in benchmarks.
TEST_F(StackTest, ManyConnectionsReportPerSegmentCost)
{
	std::vector<Conn *> conns;
	std::string msg = pattern(64, 3);
	for (unsigned n : { 1u, 64u, 1024u, 4096u, 10000u }) {
		while (conns.size() < n) {
			conns.push_back(connect(kEcho, 20000 + conns.size()));
			if (conns.size() % 256 == 0)
				pump();
		}
		pump();
		for (Conn *c : conns)
			ASSERT_TRUE(c->connected);
		EXPECT_EQ(stack_stats(srv)->conns, n);

		uint64_t segs0 = stack_stats(srv)->segs_in;
		double srv_ns = 0;
		for (int round = 0; round < 3; round++) {
			for (Conn *c : conns) {
				cli.lw.ops.tcp_write(c->pcb, msg.data(), msg.size(), TCP_WRITE_FLAG_COPY);
				cli.lw.ops.tcp_output(c->pcb);
			}
			// Time only the server's side: its input of every queued segment.
			while (!w.to_srv.empty()) {
				std::deque<Frame> batch;
				batch.swap(w.to_srv);
				auto t0 = std::chrono::steady_clock::now();
				for (Frame &f : batch) {
					struct ixdp_pkt pkt;
					ixdp_parse(f.data(), f.data() + f.size(), &pkt);
					stack_input(srv, f.data(), &pkt);
				}
				srv_ns += std::chrono::duration<double, std::nano>(
						  std::chrono::steady_clock::now() - t0)
						  .count();
				pump();
			}
		}
		uint64_t segs = stack_stats(srv)->segs_in - segs0;
		printf("[ report ] %4u connections: %.2f us per segment into the server stack "
		       "(%llu segments)\n",
		       n, srv_ns / segs / 1000, (unsigned long long)segs);
		for (Conn *c : conns)
			ASSERT_EQ(c->got.size(), msg.size() * 3) << "lost echoes";
		for (Conn *c : conns)
			c->got.clear();
	}
}

} // namespace

namespace {

// A bare SYN from (saddr, sport) to the server's port @dport, checksums valid.
Frame syn_frame(uint32_t saddr, uint16_t sport, uint16_t dport, uint32_t seq)
{
	Frame f(14 + 20 + 20);
	memcpy(&f[0], kSrvMac, 6);
	memcpy(&f[6], kCliMac, 6);
	f[12] = 0x08;
	uint8_t *ip = &f[14], *th = ip + 20;
	uint32_t daddr = ip4(kSrvIp);
	ip[0] = 0x45;
	ip[3] = 40;
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	memcpy(ip + 12, &saddr, 4);
	memcpy(ip + 16, &daddr, 4);
	uint16_t c = ~csum_fold(csum_partial(ip, 20, 0));
	memcpy(ip + 10, &c, 2);
	uint16_t sp = htons(sport), dp = htons(dport), win = htons(8192);
	uint32_t sq = htonl(seq);
	memcpy(th, &sp, 2);
	memcpy(th + 2, &dp, 2);
	memcpy(th + 4, &sq, 4);
	th[12] = 5 << 4;
	th[13] = 0x02; // SYN
	memcpy(th + 14, &win, 2);
	c = ~csum_fold(csum_partial(th, 20, csum_pseudo_v4(&saddr, &daddr, IPPROTO_TCP, 20)));
	memcpy(th + 16, &c, 2);
	return f;
}

int input(struct stack *srv, Frame f)
{
	struct ixdp_pkt pkt;
	if (ixdp_parse(f.data(), f.data() + f.size(), &pkt) != IXDP_PARSE_L4)
		return -EBADMSG;
	return stack_input(srv, f.data(), &pkt);
}

// Spoofed sources: 198.19.0.0/16, outside the server's /24.
uint32_t spoofed(unsigned i)
{
	return htonl(0xc6130000u + i / 50);
}

// Debian's lwIP 2.1.3 is built with TCP_LISTEN_BACKLOG 0: the backlog given to
// tcp_listen_with_backlog() (255 here) bounds nothing.  Without the stack's own limits (0 in
// this fixture) every SYN makes a half-open connection.
TEST_F(StackTest, LwipEnforcesNoListenBacklog)
{
	w.only_cli = true;
	for (unsigned i = 0; i < 600; i++)
		ASSERT_EQ(input(srv, syn_frame(spoofed(i), 10000 + i % 50, kEcho, i * 7919)), 0);
	stack_flush(srv);
	EXPECT_EQ(stack_stats(srv)->half_open, 600u) << "lwIP enforced a backlog after all";
	EXPECT_EQ(stack_stats(srv)->conns, 600u);
	EXPECT_EQ(stack_stats(srv)->syn_dropped, 0u);
	EXPECT_EQ(w.to_others, 600) << "one SYN-ACK each";
	tick(4 * 21); // TCP_SYN_RCVD_TIMEOUT: 20 s
	EXPECT_EQ(stack_stats(srv)->half_open, 0u);
	EXPECT_EQ(stack_stats(srv)->conns, 0u);
}

class StackFloodTest : public StackTest {
protected:
	static constexpr unsigned kWorkerMax = 500, kListenerMax = 300;
	void tune(struct stack_cfg &cfg) override
	{
		cfg.half_open_max = kWorkerMax;
		cfg.half_open_listener_max = kListenerMax;
	}
};

// A SYN flood beyond the limits: the SYNs beyond them are dropped unanswered and counted, per
// listener and per stack; an established connection goes on echoing throughout; once the
// half-open connections expired, a new connection gets in at once.
TEST_F(StackFloodTest, SynFloodBeyondTheLimits)
{
	w.only_cli = true;
	Conn *est = connect(kEcho);
	pump();
	ASSERT_TRUE(est->connected);
	send(est, "before");
	pump();
	ASSERT_EQ(est->got, "before");

	// 1000 SYNs to the echo listener: 300 get in (its limit), 700 dropped.
	for (unsigned i = 0; i < 1000; i++) {
		int ret = input(srv, syn_frame(spoofed(i), 10000 + i % 50, kEcho, i));
		ASSERT_EQ(ret, i < kListenerMax ? 0 : -ENOBUFS) << i;
	}
	EXPECT_EQ(stack_stats(srv)->half_open, kListenerMax);
	EXPECT_EQ(stack_stats(srv)->syn_dropped, 1000u - kListenerMax);
	// A retransmitted SYN of a half-open connection is no new one: it goes on to lwIP.
	EXPECT_EQ(input(srv, syn_frame(spoofed(0), 10000, kEcho, 0)), 0);
	EXPECT_EQ(stack_stats(srv)->half_open, kListenerMax);

	// The established connection echoes in the middle of the flood.
	send(est, " during");
	pump();
	EXPECT_EQ(est->got, "before during");

	// 1000 to the sink listener: the stack's limit (500) lets 200 more in.
	for (unsigned i = 1000; i < 2000; i++)
		input(srv, syn_frame(spoofed(i), 10000 + i % 50, kSink, i));
	EXPECT_EQ(stack_stats(srv)->half_open, kWorkerMax);
	EXPECT_EQ(stack_stats(srv)->syn_dropped, 2000u - kWorkerMax);
	EXPECT_EQ(w.to_others, (int)kWorkerMax + 1) << "SYN-ACKs: one per half-open, one resent";

	// A legitimate connection now: its SYN is dropped too.  Its retries are dropped as long as
	// the half-open connections live (lwIP: 20 s, TCP_SYN_RCVD_TIMEOUT), which outlasts an lwIP
	// client's six SYN retries (a Linux client's span 127 s).
	uint64_t dropped = stack_stats(srv)->syn_dropped;
	Conn *during = connect(kEcho);
	pump();
	EXPECT_FALSE(during->connected);
	EXPECT_EQ(stack_stats(srv)->syn_dropped, dropped + 1);
	for (int i = 0; i < 4 * 22; i++)
		tick();
	EXPECT_EQ(stack_stats(srv)->half_open, 0u) << "half-open connections outlived 20 s";
	EXPECT_GT(stack_stats(srv)->syn_dropped, dropped + 1) << "the client's SYN retries";
	EXPECT_EQ(stack_stats(srv)->conns, 1u);

	// After the flood: a new connection gets in at once and echoes.
	Conn *late = connect(kEcho);
	pump();
	ASSERT_TRUE(late->connected) << "a connection after the flood did not get in at once";
	send(late, "after");
	pump();
	EXPECT_EQ(late->got, "after");
	send(est, " after");
	pump();
	EXPECT_EQ(est->got, "before during after");
	EXPECT_EQ(stack_stats(srv)->conns, 2u);
}

// An app stops listening while a connection to it is half-open: the handshake's last ACK must
// not reach the closed listener (lwIP clears pcb->listener only on its own lists, which the
// stack keeps empty; a stale one is a use after free): the connection is reset instead.
TEST_F(StackTest, UnlistenWithAHalfOpenConnection)
{
	static const struct stack_app_ops ops = { app_knock, app_readable, app_sent, app_connected,
						  app_dead };
	const __u32 any[4] = {};
	const uint16_t kApp = 8000;
	AppSide app;
	int lst;

	stack_set_app(srv, &ops, &app);
	ASSERT_EQ(stack_app_listen(srv, IXDP_FAMILY_INET, any, kApp, &lst), 0);
	Conn *c = connect(kApp);
	server_batch(srv, w.to_srv); // the SYN
	stack_flush(srv);
	EXPECT_EQ(stack_stats(srv)->half_open, 1u);
	ASSERT_EQ(w.to_cli.size(), 1u); // the SYN-ACK
	{
		Frame f = std::move(w.to_cli.front());
		w.to_cli.pop_front();
		struct pbuf *p = cli.lw.ops.pbuf_alloc(PBUF_RAW, f.size() - 14, PBUF_RAM);
		cli.lw.ops.pbuf_take(p, &f[14], f.size() - 14);
		cli.lw.ops.ip_input(p, &cli.nif);
	}
	ASSERT_TRUE(c->connected);
	ASSERT_EQ(w.to_srv.size(), 1u); // the client's ACK, held back
	ASSERT_EQ(stack_app_unlisten(srv, &lst), 0);
	EXPECT_EQ(stack_stats(srv)->half_open, 1u) << "still half-open, its listener gone";
	pump();
	EXPECT_TRUE(app.conns.empty()) << "the closed listener's accept callback ran";
	EXPECT_TRUE(c->reset) << "the connection was not reset";
	EXPECT_EQ(stack_stats(srv)->half_open, 0u);
	EXPECT_EQ(stack_stats(srv)->conns, 0u);
}

// The connection hash's seed is drawn per stack unless given: a remote host cannot aim flows at
// one hash chain.
TEST(StackSeeds, DemuxSeedIsDrawnPerStack)
{
	Wire w1;
	struct stack_cfg cfg = {};
	cfg.mtu = 1500;
	struct stack_io io = { &w1, srv_tx_alloc, srv_tx_commit, srv_tx_drop, srv_resolve };
	struct stack *a, *b, *c;
	ASSERT_EQ(stack_open(&a, &cfg, &io), 0);
	ASSERT_EQ(stack_open(&b, &cfg, &io), 0);
	cfg.demux_seed = 0x5eed;
	ASSERT_EQ(stack_open(&c, &cfg, &io), 0);
	EXPECT_NE(stack_demux_seed(a), stack_demux_seed(b));
	EXPECT_NE(stack_demux_seed(a), 0u);
	EXPECT_EQ(stack_demux_seed(c), 0x5eedu);
	stack_close(a);
	stack_close(b);
	stack_close(c);
}

} // namespace

namespace {

// An app shuts its side down, then the peer closes: the server's pcb goes to TIME_WAIT while the
// app still holds the connection.  lwIP frees a TIME_WAIT pcb without a callback (here at once:
// a new SYN from the same port takes the 4-tuple over), so the stack must have let go of it:
// closing the old connection afterwards must not touch the new one (which, freed memory being
// reused, would otherwise be the very pcb the old connection still named).
TEST_F(StackTest, AppConnectionInTimeWaitOutlivesItsPcb)
{
	static const struct stack_app_ops ops = { app_knock, app_readable, app_sent, app_connected,
						  app_dead };
	const __u32 any[4] = {};
	const uint16_t kApp = 8000, kPort = 40001;
	AppSide app;
	int lst;

	stack_set_app(srv, &ops, &app);
	ASSERT_EQ(stack_app_listen(srv, IXDP_FAMILY_INET, any, kApp, &lst), 0);
	Conn *c = connect(kApp, kPort);
	pump();
	ASSERT_TRUE(c->connected);
	ASSERT_EQ(app.conns.size(), 1u);
	struct stack_conn *old = app.conns[0];
	ASSERT_EQ(stack_conn_shutdown(srv, old), 0);
	pump();
	ASSERT_TRUE(c->closed_by_peer);
	cli.lw.ops.tcp_close(c->pcb);
	c->pcb = nullptr;
	pump();
	EXPECT_EQ(stack_stats(srv)->time_wait, 1u) << "the server's side is not in TIME_WAIT";
	bool eof = false;
	EXPECT_FALSE(stack_conn_pending(old, &eof));
	EXPECT_TRUE(eof);
	EXPECT_EQ(stack_conn_send(srv, old, "x", 1), -ENOTCONN);
	EXPECT_EQ(stack_conn_shutdown(srv, old), -ENOTCONN);
	stack_conn_recvd(srv, old, 10);

	tick(8); // the client's next ISN lies past the old connection's sequence space
	Conn *again = connect(kApp, kPort);
	pump();
	ASSERT_TRUE(again->connected);
	EXPECT_EQ(stack_stats(srv)->tw_reused, 1u);
	ASSERT_EQ(app.conns.size(), 2u);
	stack_conn_close(srv, old, false); // the app is done with the old connection at last
	pump();
	EXPECT_FALSE(again->closed_by_peer) << "closing the old connection closed the new one";
	EXPECT_FALSE(again->reset) << "closing the old connection reset the new one";
	send(again, "still here");
	pump();
	char buf[32] = {};
	EXPECT_EQ(stack_conn_read(srv, app.conns[1], buf, sizeof(buf)), 10u);
	EXPECT_STREQ(buf, "still here");
	EXPECT_EQ(stack_stats(srv)->conns, 1u);
	stack_conn_close(srv, app.conns[1], true);
	pump();
}

} // namespace
