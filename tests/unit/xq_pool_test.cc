// SPDX-License-Identifier: GPL-2.0
// xq_pool_test.cc - the frame pool and the per-worker caches: frames are never lost, never
// handed out twice, and move between a cache and the pool in whole slabs.
#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

extern "C" {
#include "net/xq.h"
}

static const __u32 kFrames = 1024, kFrameSize = 4096;

TEST(XqPool, GetAndPutEverything)
{
	struct xq_pool p;
	ASSERT_EQ(xq_pool_init(&p, kFrames, kFrameSize), 0);
	EXPECT_EQ(xq_pool_free_frames(&p), kFrames);

	std::vector<__u64> a(kFrames + 10);
	EXPECT_EQ(xq_pool_get(&p, a.data(), kFrames + 10), kFrames); // no more than there are
	EXPECT_EQ(xq_pool_free_frames(&p), 0u);
	EXPECT_EQ(xq_pool_get(&p, a.data(), 1), 0u);
	std::set<__u64> seen(a.begin(), a.begin() + kFrames);
	EXPECT_EQ(seen.size(), kFrames);
	for (__u64 addr : seen) {
		EXPECT_EQ(addr % kFrameSize, 0u);
		EXPECT_LT(addr, (__u64)kFrames * kFrameSize);
	}
	xq_pool_put(&p, a.data(), kFrames);
	EXPECT_EQ(xq_pool_free_frames(&p), kFrames);
	xq_pool_destroy(&p);
}

TEST(XqPool, CacheMovesWholeSlabs)
{
	struct xq_pool p;
	struct xq_cache c;
	__u64 addr;

	ASSERT_EQ(xq_pool_init(&p, kFrames, kFrameSize), 0);
	xq_cache_init(&c, &p);
	ASSERT_TRUE(xq_cache_alloc(&c, &addr));
	EXPECT_EQ(c.n, XQ_SLAB - 1u);
	EXPECT_EQ(xq_pool_free_frames(&p), kFrames - XQ_SLAB);

	std::vector<__u64> held{ addr };
	for (int i = 0; i < 3 * XQ_SLAB; i++) {
		ASSERT_TRUE(xq_cache_alloc(&c, &addr));
		held.push_back(addr);
	}
	for (__u64 h : held)
		xq_cache_free(&c, h);
	EXPECT_LE(c.n, 2u * XQ_SLAB);
	EXPECT_EQ(xq_pool_free_frames(&p) + c.n, kFrames);
	xq_cache_flush(&c);
	EXPECT_EQ(c.n, 0u);
	EXPECT_EQ(xq_pool_free_frames(&p), kFrames);
	xq_pool_destroy(&p);
}

TEST(XqPool, ExhaustionIsReportedNotFatal)
{
	struct xq_pool p;
	struct xq_cache c;
	std::vector<__u64> held;
	__u64 addr;

	ASSERT_EQ(xq_pool_init(&p, 100, kFrameSize), 0); // not a whole number of slabs
	xq_cache_init(&c, &p);
	while (xq_cache_alloc(&c, &addr))
		held.push_back(addr);
	EXPECT_EQ(held.size(), 100u);
	EXPECT_EQ(std::set<__u64>(held.begin(), held.end()).size(), 100u);
	for (__u64 h : held)
		xq_cache_free(&c, h);
	xq_cache_flush(&c);
	EXPECT_EQ(xq_pool_free_frames(&p), 100u);
	xq_pool_destroy(&p);
}

// Workers on several threads taking and returning frames through their own caches.
TEST(XqPool, ConcurrentCachesLoseNothing)
{
	struct xq_pool p;
	const int kThreads = 4, kRounds = 20000;

	ASSERT_EQ(xq_pool_init(&p, kFrames, kFrameSize), 0);
	std::vector<std::thread> ts;
	std::vector<std::vector<__u64>> kept(kThreads);
	for (int t = 0; t < kThreads; t++) {
		ts.emplace_back([&p, &kept, t] {
			struct xq_cache c;
			std::vector<__u64> mine;
			__u64 a;

			xq_cache_init(&c, &p);
			for (int r = 0; r < kRounds; r++) {
				if ((r * 7 + t) % 3 != 0 && xq_cache_alloc(&c, &a))
					mine.push_back(a);
				else if (!mine.empty()) {
					xq_cache_free(&c, mine.back());
					mine.pop_back();
				}
			}
			for (__u64 m : mine)
				xq_cache_free(&c, m);
			xq_cache_flush(&c);
		});
	}
	for (auto &t : ts)
		t.join();
	EXPECT_EQ(xq_pool_free_frames(&p), kFrames);
	std::vector<__u64> all(kFrames);
	ASSERT_EQ(xq_pool_get(&p, all.data(), kFrames), kFrames);
	EXPECT_EQ(std::set<__u64>(all.begin(), all.end()).size(), kFrames);
	xq_pool_destroy(&p);
}

TEST(XqPool, FramesNeededCoverEveryRing)
{
	struct xq_params prm = {};
	unsigned int fill, comp, n;

	prm.nr_queues = 4;
	prm.nr_workers = 4;
	prm.rx_ring = 512;
	prm.tx_ring = 512;
	prm.frame_size = 4096;
	n = xq_frames_needed(&prm, &fill, &comp);
	EXPECT_EQ(fill, 2048u);
	EXPECT_EQ(comp, 2048u);
	EXPECT_GE(n, 4u * (2048 + 4 * (512 + 512)) + 4 * 2 * XQ_SLAB);
	EXPECT_EQ(n % ((2u << 20) / 4096), 0u); // whole hugepages
	prm.fill_ring = 8192;
	xq_frames_needed(&prm, &fill, &comp);
	EXPECT_EQ(fill, 8192u);
}
