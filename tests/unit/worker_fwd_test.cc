// SPDX-License-Identifier: GPL-2.0
// worker_fwd_test.cc - two real worker threads over a packet I/O backend the test implements
// (struct pktio_ops over queues in memory: the seam's second implementation), with the UDP
// reflector on.  Frames put on the wrong worker's RX queue are forwarded over the w2w ring and
// answered by their group's owner, a sleeping owner is woken for them at once, a full ring
// drops and counts the rest, and every frame is back in the pool after the workers are gone.
#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include <sys/eventfd.h>
#include <unistd.h>

#include "frames.h"

extern "C" {
#include "core/w2w.h"
#include "core/worker.h"
}

namespace {

const unsigned int kWorkers = 2;
const __u32 kSeed = 0x1234567;
const __u16 kPort = 9000;

// The backend: one queue per worker; RX frames are put there by the test, TX frames kept.
struct FakeIo {
	struct pktio io;	// first: the backend's callbacks get &io
	struct pool pool;
	std::mutex mu;
	std::deque<struct pktio_frame> rx[kWorkers];
	std::vector<struct pktio_frame> tx[kWorkers];	// sent, not yet reaped
	std::vector<struct pktio_frame> sent[kWorkers];	// every frame ever sent (copies of addr/len)
	std::vector<std::vector<uint8_t>> sent_bytes[kWorkers];
	int efd[kWorkers];
};

FakeIo *fake(struct pktio *io) { return reinterpret_cast<FakeIo *>(io); }

unsigned int fake_rx(struct pktio *io, unsigned int w, unsigned int, struct pktio_frame *f,
		     unsigned int max)
{
	FakeIo *b = fake(io);
	std::lock_guard<std::mutex> l(b->mu);
	unsigned int n = 0;

	while (n < max && !b->rx[w].empty()) {
		f[n++] = b->rx[w].front();
		b->rx[w].pop_front();
	}
	return n;
}

unsigned int fake_tx(struct pktio *io, unsigned int w, unsigned int, const struct pktio_frame *f,
		     unsigned int n)
{
	FakeIo *b = fake(io);
	std::lock_guard<std::mutex> l(b->mu);

	for (unsigned int i = 0; i < n; i++) {
		const uint8_t *p = static_cast<const uint8_t *>(pool_frame(&b->pool, f[i].addr));

		b->tx[w].push_back(f[i]);
		b->sent[w].push_back(f[i]);
		b->sent_bytes[w].emplace_back(p, p + f[i].len);
	}
	return n;
}

unsigned int fake_reap(struct pktio *io, unsigned int w, struct pool_cache *c)
{
	FakeIo *b = fake(io);
	std::lock_guard<std::mutex> l(b->mu);
	unsigned int n = b->tx[w].size();

	for (const auto &f : b->tx[w])
		pool_cache_free(c, pool_frame_base(&b->pool, f.addr));
	b->tx[w].clear();
	return n;
}

unsigned int fake_refill(struct pktio *, unsigned int, struct pool_cache *) { return 0; }
unsigned int fake_flush(struct pktio *, unsigned int) { return 0; }

unsigned int fake_wait_fds(struct pktio *io, unsigned int w, struct pollfd *pfd, unsigned int max)
{
	if (!max)
		return 0;
	pfd[0] = { fake(io)->efd[w], POLLIN, 0 };
	return 1;
}

int fake_set_owner(struct pktio *, __u32, __u32) { return 0; }
void fake_stats(struct pktio *, struct pktio_stats *st) { memset(st, 0, sizeof(*st)); }
void fake_close(struct pktio *) {}

const struct pktio_ops fake_ops = {
	fake_rx, fake_tx, fake_reap, fake_refill, fake_flush, fake_wait_fds, fake_set_owner,
	fake_stats, fake_close,
};

class WorkerFwd : public ::testing::Test {
protected:
	FakeIo b;
	struct fg_table fg {};
	struct w2w w2w {};
	struct worker ws[kWorkers] {};
	struct neigh neigh {};
	bool started[kWorkers] = {};

	void SetUp() override
	{
		ASSERT_EQ(pool_open(&b.pool, 1024, 2048), 0);
		b.io = { &fake_ops, "fake", &b.pool, 1, kWorkers, false };
		for (unsigned int w = 0; w < kWorkers; w++) {
			b.efd[w] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			ASSERT_GE(b.efd[w], 0);
		}
		fg_init(&fg, 256, kWorkers);
		ASSERT_EQ(w2w_init(&w2w, kWorkers), 0);
		struct stack_cfg sc = {};
		memcpy(sc.mac, "\x02\x00\xc6\x12\x00\x01", 6);
		sc.mtu = 1500;
		sc.hash_seed = kSeed;
		sc.fg_mask = fg.nr - 1;
		for (unsigned int w = 0; w < kWorkers; w++) {
			struct chan_cfg cc = {};

			cc.worker = w;
			cc.fg = &fg;
			cc.hash_seed = kSeed;
			cc.fg_mask = fg.nr - 1;
			ASSERT_EQ(worker_init(&ws[w], w, w, &b.io, &fg, ws, &w2w), 0);
			ws[w].hash_seed = kSeed;
			ws[w].reflect_udp = kPort;
			ws[w].spin_ns = 0; // idle: sleep at once, so a forward must wake the owner
			ASSERT_EQ(worker_open_stack(&ws[w], &sc, &neigh, &cc), 0);
		}
	}

	void TearDown() override
	{
		for (unsigned int w = 0; w < kWorkers; w++)
			worker_stop(&ws[w]);
		for (unsigned int w = 0; w < kWorkers; w++)
			worker_destroy(&ws[w]);
		w2w_destroy(&w2w);
		// Every frame is back: the backend held none, the workers and the rings returned theirs.
		{
			std::lock_guard<std::mutex> l(b.mu);
			for (unsigned int w = 0; w < kWorkers; w++) {
				for (const auto &f : b.rx[w])
					pool_put(&b.pool, &f.addr, 1);
				for (const auto &f : b.tx[w]) {
					__u64 a = pool_frame_base(&b.pool, f.addr);
					pool_put(&b.pool, &a, 1);
				}
			}
		}
		EXPECT_EQ(pool_free_frames(&b.pool), b.pool.nr_frames);
		pool_close(&b.pool);
		for (unsigned int w = 0; w < kWorkers; w++)
			close(b.efd[w]);
	}

	void start(unsigned int w)
	{
		ASSERT_EQ(worker_start(&ws[w]), 0);
		started[w] = true;
	}

	// A UDP datagram to the reflector, source port @sport, put on worker @w's RX queue.
	void inject(unsigned int w, __u16 sport)
	{
		Frame f = build(Spec().from(kPeer4, sport).to(kLocal4, kPort));
		__u64 addr;
		__u64 one = 1;

		ASSERT_EQ(pool_get(&b.pool, &addr, 1), 1u);
		memcpy(pool_frame(&b.pool, addr), f.b.data(), f.b.size());
		{
			std::lock_guard<std::mutex> l(b.mu);
			b.rx[w].push_back({ addr, (__u32)f.b.size(), 0 });
		}
		ASSERT_EQ(write(b.efd[w], &one, sizeof(one)), (ssize_t)sizeof(one));
	}

	// A source port whose flow falls in a group worker @owner owns.
	__u16 port_owned_by(unsigned int owner, __u16 from = 40000)
	{
		for (__u16 p = from;; p++) {
			struct ixdp_flow flow = build(Spec().from(kPeer4, p).to(kLocal4, kPort)).flow;

			if (fg_owner(&fg, ixdp_flow_group(&flow, kSeed, fg.nr - 1)) == owner)
				return p;
		}
	}

	size_t sent(unsigned int w)
	{
		std::lock_guard<std::mutex> l(b.mu);
		return b.sent[w].size();
	}

	bool wait_sent(unsigned int w, size_t n, std::chrono::milliseconds limit)
	{
		auto end = std::chrono::steady_clock::now() + limit;

		while (sent(w) < n && std::chrono::steady_clock::now() < end)
			std::this_thread::sleep_for(std::chrono::microseconds(200));
		return sent(w) >= n;
	}
};

TEST_F(WorkerFwd, WrongWorkerForwardsAndTheOwnerAnswers)
{
	const unsigned int kFrames = 100;
	std::vector<__u16> ports;

	start(0);
	start(1);
	for (unsigned int i = 0; i < kFrames; i++) {
		ports.push_back(port_owned_by(0, ports.empty() ? 40000 : ports.back() + 1));
		inject(1, ports.back());
	}
	ASSERT_TRUE(wait_sent(0, kFrames, std::chrono::seconds(5)))
		<< sent(0) << " of " << kFrames << " answered by the owner";
	std::this_thread::sleep_for(std::chrono::milliseconds(20));
	EXPECT_EQ(sent(1), 0u); // the wrong worker answered none itself
	EXPECT_EQ(STAT_READ(ws[1].st.rx_packets), kFrames);
	EXPECT_EQ(STAT_READ(ws[1].st.misrouted), kFrames);
	EXPECT_EQ(STAT_READ(ws[1].st.fwd_out), kFrames);
	EXPECT_EQ(STAT_READ(ws[1].st.fwd_dropped), 0u);
	EXPECT_EQ(STAT_READ(ws[0].st.fwd_in), kFrames);
	EXPECT_EQ(STAT_READ(ws[0].st.misrouted), 0u);
	EXPECT_EQ(STAT_READ(ws[0].st.rx_packets), 0u); // not from the backend: over the ring
	EXPECT_EQ(STAT_READ(ws[0].st.tx_packets), kFrames);
	// Answers in order, each the reflection of its datagram: back to the peer's port.
	std::lock_guard<std::mutex> l(b.mu);
	for (unsigned int i = 0; i < kFrames && i < b.sent_bytes[0].size(); i++) {
		const auto &a = b.sent_bytes[0][i];
		Frame f = build(Spec().from(kPeer4, ports[i]).to(kLocal4, kPort));

		ASSERT_EQ(a.size(), f.b.size());
		EXPECT_EQ(a[f.l4 + 2] << 8 | a[f.l4 + 3], ports[i]) << "answer " << i;
		EXPECT_EQ(a[f.l4] << 8 | a[f.l4 + 1], kPort) << "answer " << i;
	}
}

// The owner sleeps in poll() (no spin): each forwarded frame must wake it, not wait out its
// sleep (up to 200 ms).  20 frames one at a time, each answered before the next is sent.
TEST_F(WorkerFwd, SleepingOwnerIsWoken)
{
	const unsigned int kFrames = 20;
	__u16 port = 40000;

	start(0);
	start(1);
	std::this_thread::sleep_for(std::chrono::milliseconds(50));
	auto t0 = std::chrono::steady_clock::now();
	for (unsigned int i = 0; i < kFrames; i++) {
		port = port_owned_by(0, port + 1);
		inject(1, port);
		ASSERT_TRUE(wait_sent(0, i + 1, std::chrono::seconds(2))) << "frame " << i;
	}
	auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
			  std::chrono::steady_clock::now() - t0)
			  .count();
	EXPECT_GT(STAT_READ(ws[0].st.sleeps), (__u64)kFrames / 2); // it did sleep between frames
	EXPECT_LT(ms, 1000) << "20 forwarded frames took " << ms << " ms: the owner was not woken";
}

// The owner is not running: the ring to it fills, the rest of each burst is dropped, counted,
// and freed; the frames left on the ring return to the pool when the owner is destroyed.
TEST_F(WorkerFwd, FullRingDropsAndCounts)
{
	const unsigned int kFrames = W2W_RING + 44;
	__u16 port = 40000;

	start(1);
	for (unsigned int i = 0; i < kFrames; i++) {
		port = port_owned_by(0, port + 1);
		inject(1, port);
	}
	auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
	while (STAT_READ(ws[1].st.misrouted) < kFrames && std::chrono::steady_clock::now() < end)
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	EXPECT_EQ(STAT_READ(ws[1].st.misrouted), kFrames);
	EXPECT_EQ(STAT_READ(ws[1].st.fwd_out), (__u64)W2W_RING);
	EXPECT_EQ(STAT_READ(ws[1].st.fwd_dropped), 44u);
	EXPECT_EQ(sent(0) + sent(1), 0u);
	// TearDown: worker 0 never ran; destroying it takes its ring's 256 frames back.
}

// Frames of the worker's own groups never touch the ring.
TEST_F(WorkerFwd, OwnFramesStayLocal)
{
	__u16 port = 40000;

	start(0);
	start(1);
	for (unsigned int i = 0; i < 50; i++) {
		port = port_owned_by(1, port + 1);
		inject(1, port);
	}
	ASSERT_TRUE(wait_sent(1, 50, std::chrono::seconds(5)));
	EXPECT_EQ(STAT_READ(ws[1].st.misrouted), 0u);
	EXPECT_EQ(STAT_READ(ws[1].st.fwd_out), 0u);
	EXPECT_EQ(STAT_READ(ws[0].st.fwd_in), 0u);
	EXPECT_EQ(sent(0), 0u);
}

} // namespace
