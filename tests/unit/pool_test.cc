// SPDX-License-Identifier: GPL-2.0
// pool_test.cc - the frame pool and the per-worker caches: frames are never lost, never
// handed out twice, and move between a cache and the pool in whole slabs.
#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

extern "C" {
#include "net/pool.h"
#include "net/xq.h"
}

static const __u32 kFrames = 1024, kFrameSize = 4096;

TEST(Pool, GetAndPutEverything)
{
	struct pool p;
	ASSERT_EQ(pool_init(&p, kFrames, kFrameSize), 0);
	EXPECT_EQ(pool_free_frames(&p), kFrames);

	std::vector<__u64> a(kFrames + 10);
	EXPECT_EQ(pool_get(&p, a.data(), kFrames + 10), kFrames); // no more than there are
	EXPECT_EQ(pool_free_frames(&p), 0u);
	EXPECT_EQ(pool_get(&p, a.data(), 1), 0u);
	std::set<__u64> seen(a.begin(), a.begin() + kFrames);
	EXPECT_EQ(seen.size(), kFrames);
	for (__u64 addr : seen) {
		EXPECT_EQ(addr % kFrameSize, 0u);
		EXPECT_LT(addr, (__u64)kFrames * kFrameSize);
	}
	pool_put(&p, a.data(), kFrames);
	EXPECT_EQ(pool_free_frames(&p), kFrames);
	pool_destroy(&p);
}

TEST(Pool, CacheMovesWholeSlabs)
{
	struct pool p;
	struct pool_cache c;
	__u64 addr;

	ASSERT_EQ(pool_init(&p, kFrames, kFrameSize), 0);
	pool_cache_init(&c, &p);
	ASSERT_TRUE(pool_cache_alloc(&c, &addr));
	EXPECT_EQ(c.n, POOL_SLAB - 1u);
	EXPECT_EQ(pool_free_frames(&p), kFrames - POOL_SLAB);

	std::vector<__u64> held{ addr };
	for (int i = 0; i < 3 * POOL_SLAB; i++) {
		ASSERT_TRUE(pool_cache_alloc(&c, &addr));
		held.push_back(addr);
	}
	for (__u64 h : held)
		pool_cache_free(&c, h);
	EXPECT_LE(c.n, 2u * POOL_SLAB);
	EXPECT_EQ(pool_free_frames(&p) + c.n, kFrames);
	pool_cache_flush(&c);
	EXPECT_EQ(c.n, 0u);
	EXPECT_EQ(pool_free_frames(&p), kFrames);
	pool_destroy(&p);
}

TEST(Pool, ExhaustionIsReportedNotFatal)
{
	struct pool p;
	struct pool_cache c;
	std::vector<__u64> held;
	__u64 addr;

	ASSERT_EQ(pool_init(&p, 100, kFrameSize), 0); // not a whole number of slabs
	pool_cache_init(&c, &p);
	while (pool_cache_alloc(&c, &addr))
		held.push_back(addr);
	EXPECT_EQ(held.size(), 100u);
	EXPECT_EQ(std::set<__u64>(held.begin(), held.end()).size(), 100u);
	for (__u64 h : held)
		pool_cache_free(&c, h);
	pool_cache_flush(&c);
	EXPECT_EQ(pool_free_frames(&p), 100u);
	pool_destroy(&p);
}

// Workers on several threads taking and returning frames through their own caches.
TEST(Pool, ConcurrentCachesLoseNothing)
{
	struct pool p;
	const int kThreads = 4, kRounds = 20000;

	ASSERT_EQ(pool_init(&p, kFrames, kFrameSize), 0);
	std::vector<std::thread> ts;
	std::vector<std::vector<__u64>> kept(kThreads);
	for (int t = 0; t < kThreads; t++) {
		ts.emplace_back([&p, &kept, t] {
			struct pool_cache c;
			std::vector<__u64> mine;
			__u64 a;

			pool_cache_init(&c, &p);
			for (int r = 0; r < kRounds; r++) {
				if ((r * 7 + t) % 3 != 0 && pool_cache_alloc(&c, &a))
					mine.push_back(a);
				else if (!mine.empty()) {
					pool_cache_free(&c, mine.back());
					mine.pop_back();
				}
			}
			for (__u64 m : mine)
				pool_cache_free(&c, m);
			pool_cache_flush(&c);
		});
	}
	for (auto &t : ts)
		t.join();
	EXPECT_EQ(pool_free_frames(&p), kFrames);
	std::vector<__u64> all(kFrames);
	ASSERT_EQ(pool_get(&p, all.data(), kFrames), kFrames);
	EXPECT_EQ(std::set<__u64>(all.begin(), all.end()).size(), kFrames);
	pool_destroy(&p);
}

TEST(Pool, FramesNeededCoverEveryRing)
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
	EXPECT_GE(n, 4u * (2048 + 4 * (512 + 512)) + 4 * 2 * POOL_SLAB);
	EXPECT_EQ(n % ((2u << 20) / 4096), 0u); // whole hugepages
	prm.fill_ring = 8192;
	xq_frames_needed(&prm, &fill, &comp);
	EXPECT_EQ(fill, 8192u);
}
