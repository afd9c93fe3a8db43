// SPDX-License-Identifier: GPL-2.0
/*
 * hmap_test.cc - libix's handle map (libix/hmap.c), which routes every command of a context to
 * its channel and every ixev event to its slot: random adds, replaces and deletes checked
 * against std::unordered_map after each step, growth to its bound and -ENOMEM past it.
 */
#include <gtest/gtest.h>

#include <random>
#include <unordered_map>
#include <vector>

extern "C" {
#include "../../libix/hmap.h"
}

namespace {

void expect_same(const struct ix_hmap *m, const std::unordered_map<uint64_t, uint32_t> &ref,
		 const std::vector<uint64_t> &universe)
{
	ASSERT_EQ(m->len, ref.size());
	ASSERT_LE(m->len * 2, m->cap);
	for (uint64_t h : universe) {
		const struct ix_hent *e = ix_hmap_find(m, h);
		auto it = ref.find(h);

		if (it == ref.end()) {
			ASSERT_EQ(e, nullptr) << std::hex << h;
		} else {
			ASSERT_NE(e, nullptr) << std::hex << h;
			ASSERT_EQ(e->val, it->second) << std::hex << h;
		}
	}
}

/* Handles shaped like the daemon's (generation << 32 | worker << 24 | slot), so probe runs
 * collide and deletes have to shift entries back across them. */
TEST(Hmap, MatchesAReferenceMapUnderRandomChurn)
{
	std::mt19937_64 rng(42);
	std::vector<uint64_t> universe;
	std::unordered_map<uint64_t, uint32_t> ref;
	struct ix_hmap m = {};

	m.min = 16;
	m.max = 1u << 16;
	for (uint64_t gen = 1; gen <= 3; gen++)
		for (uint64_t w = 0; w < 4; w++)
			for (uint64_t slot = 0; slot < 700; slot++)
				universe.push_back(gen << 32 | w << 24 | slot);
	for (int step = 0; step < 40000; step++) {
		uint64_t h = universe[rng() % universe.size()];
		uint32_t v = (uint32_t)rng();

		if (rng() % 3) {
			ASSERT_EQ(ix_hmap_add(&m, h, v), 0);
			ref[h] = v;
		} else {
			ix_hmap_del(&m, h);
			ref.erase(h);
		}
		if (step % 997 == 0)
			expect_same(&m, ref, universe);
	}
	expect_same(&m, ref, universe);
	for (uint64_t h : universe) {
		ix_hmap_del(&m, h);
		ref.erase(h);
	}
	expect_same(&m, ref, universe);
	ix_hmap_free(&m);
	EXPECT_EQ(m.cap, 0u);
}

TEST(Hmap, HandleZeroIsNeverStored)
{
	struct ix_hmap m = {};

	m.min = 16;
	m.max = 16;
	EXPECT_EQ(ix_hmap_add(&m, 0, 1), -EINVAL);
	EXPECT_EQ(ix_hmap_find(&m, 0), nullptr);
	ix_hmap_del(&m, 0);
	EXPECT_EQ(m.len, 0u);
	ix_hmap_free(&m);
}

TEST(Hmap, GrowsToItsBoundThenRefuses)
{
	struct ix_hmap m = {};
	uint64_t h;

	m.min = 16;
	m.max = 64;
	for (h = 1; h <= 32; h++)
		ASSERT_EQ(ix_hmap_add(&m, h << 24, (uint32_t)h), 0);
	EXPECT_EQ(m.cap, 64u);
	EXPECT_EQ(ix_hmap_add(&m, 33ull << 24, 33), -ENOMEM);
	/* replacing is not growing */
	EXPECT_EQ(ix_hmap_add(&m, 5ull << 24, 500), 0);
	EXPECT_EQ(ix_hmap_find(&m, 5ull << 24)->val, 500u);
	for (h = 1; h <= 32; h++)
		ASSERT_NE(ix_hmap_find(&m, h << 24), nullptr);
	ix_hmap_del(&m, 1ull << 24);
	EXPECT_EQ(ix_hmap_add(&m, 33ull << 24, 33), 0);
	ix_hmap_free(&m);
}

} // namespace
