// SPDX-License-Identifier: GPL-2.0
// w2w_test.cc - the worker-to-worker frame ring: a full ring takes a short count and leaves the
// rest with the caller, frames come out in the order they went in, across the slot wrap and the
// 2^32 index wrap, and a producer and a consumer on two threads lose and reorder nothing.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

extern "C" {
#include "core/w2w.h"
}

namespace {

struct pktio_frame frame(__u64 seq)
{
	struct pktio_frame f = {};

	f.addr = seq * 2048;
	f.len = (__u32)(seq % 1500) + 60;
	return f;
}

void expect_frame(const struct pktio_frame &f, __u64 seq)
{
	EXPECT_EQ(f.addr, seq * 2048) << "frame " << seq;
	EXPECT_EQ(f.len, (__u32)(seq % 1500) + 60) << "frame " << seq;
}

class W2wRing : public ::testing::Test {
protected:
	struct w2w m {};
	struct w2w_ring *r = nullptr;

	void SetUp() override
	{
		ASSERT_EQ(w2w_init(&m, 2), 0);
		r = w2w_ring(&m, 0, 1);
	}
	void TearDown() override { w2w_destroy(&m); }
};

TEST_F(W2wRing, PairsHaveTheirOwnRings)
{
	EXPECT_NE(w2w_ring(&m, 0, 1), w2w_ring(&m, 1, 0));
	EXPECT_EQ(w2w_ring(&m, 1, 0), &m.rings[2]);
	EXPECT_EQ((uintptr_t)w2w_ring(&m, 1, 1) % 64, 0u);
}

TEST_F(W2wRing, EmptyGivesNothing)
{
	struct pktio_frame f[4];

	EXPECT_FALSE(w2w_pending(r));
	EXPECT_EQ(w2w_recv(r, f, 4), 0u);
}

TEST_F(W2wRing, FullTakesAShortCount)
{
	std::vector<struct pktio_frame> in, out(W2W_RING + 8);

	for (__u64 i = 0; i < W2W_RING + 8; i++)
		in.push_back(frame(i));
	EXPECT_EQ(w2w_send(r, in.data(), 100), 100u);
	EXPECT_EQ(w2w_send(r, in.data() + 100, W2W_RING), W2W_RING - 100u); // room for 156 only
	EXPECT_EQ(w2w_send(r, in.data() + W2W_RING, 8), 0u);		    // full: none taken
	EXPECT_TRUE(w2w_pending(r));

	EXPECT_EQ(w2w_recv(r, out.data(), 10), 10u); // no more than asked
	EXPECT_EQ(w2w_send(r, in.data() + W2W_RING, 8), 8u); // room again
	EXPECT_EQ(w2w_recv(r, out.data() + 10, W2W_RING + 8), W2W_RING - 2u);
	EXPECT_FALSE(w2w_pending(r));
	for (__u64 i = 0; i < W2W_RING + 8; i++)
		expect_frame(out[i], i);
}

// Bursts of a size that does not divide the ring: slots wrap at every position.
TEST_F(W2wRing, OrderKeptAcrossTheSlotWrap)
{
	struct pktio_frame in[37], out[64];
	__u64 sent = 0, got = 0;

	for (int round = 0; round < 1000; round++) {
		for (unsigned int i = 0; i < 37; i++)
			in[i] = frame(sent + i);
		ASSERT_EQ(w2w_send(r, in, 37), 37u);
		sent += 37;
		unsigned int n = w2w_recv(r, out, round % 2 ? 64 : 37);
		for (unsigned int i = 0; i < n; i++)
			expect_frame(out[i], got + i);
		got += n;
	}
	unsigned int n;
	while ((n = w2w_recv(r, out, 64)))
		for (unsigned int i = 0; i < n; i++, got++)
			expect_frame(out[i], got);
	EXPECT_EQ(got, sent);
}

// The free-running indices wrap at 2^32: counts and order survive it.
TEST_F(W2wRing, OrderKeptAcrossTheIndexWrap)
{
	struct pktio_frame in[50], out[50];
	__u64 seq = 0, got = 0;

	r->prod = r->cons = r->prod_seen = r->cons_seen = 0xffffff00u;
	for (int round = 0; round < 20; round++) {
		for (unsigned int i = 0; i < 50; i++)
			in[i] = frame(seq++);
		ASSERT_EQ(w2w_send(r, in, 50), 50u);
		ASSERT_EQ(w2w_recv(r, out, 50), 50u);
		for (unsigned int i = 0; i < 50; i++)
			expect_frame(out[i], got++);
	}
	EXPECT_LT(r->prod, 0xffffff00u); // it did wrap
	for (unsigned int i = 0; i < W2W_RING + 1; i++)
		in[i % 50] = frame(i);
	unsigned int taken = 0;
	for (int i = 0; i < 6; i++)
		taken += w2w_send(r, in, 50);
	EXPECT_EQ(taken, (unsigned int)W2W_RING); // full after the wrap too
}

// One producer, one consumer, on two threads: every frame arrives once, in order.
TEST_F(W2wRing, TwoThreadsLoseNothing)
{
	const __u64 kFrames = 2000000;
	auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
	bool late = false;

	std::thread producer([&] {
		struct pktio_frame in[64];
		__u64 seq = 0;

		while (seq < kFrames && std::chrono::steady_clock::now() < deadline) {
			unsigned int n = 1 + seq % 64, sent;

			if (n > kFrames - seq)
				n = kFrames - seq;
			for (unsigned int i = 0; i < n; i++)
				in[i] = frame(seq + i);
			sent = w2w_send(r, in, n); // a short count: offer the rest again
			seq += sent;
			if (!sent)
				std::this_thread::yield();
		}
	});
	struct pktio_frame out[64];
	__u64 got = 0, bad = 0;

	while (got < kFrames) {
		if (std::chrono::steady_clock::now() > deadline) {
			late = true;
			break;
		}
		unsigned int n = w2w_recv(r, out, 1 + got % 61);
		for (unsigned int i = 0; i < n; i++, got++)
			bad += out[i].addr != got * 2048 || out[i].len != (__u32)(got % 1500) + 60;
		if (!n)
			std::this_thread::yield();
	}
	producer.join();
	EXPECT_FALSE(late) << "got " << got << " of " << kFrames << " in 60 s";
	EXPECT_EQ(got, kFrames);
	EXPECT_EQ(bad, 0u);
	EXPECT_FALSE(w2w_pending(r));
}

} // namespace
