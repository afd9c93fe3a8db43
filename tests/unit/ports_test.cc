// SPDX-License-Identifier: GPL-2.0
// ports_test.cc - reserving the ephemeral range from the kernel and giving it back, including
// after a crash, against a file standing in for the sysctl.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

extern "C" {
#include "ports.h"
}

static std::string slurp(const std::string &p)
{
	std::ifstream f(p);
	std::stringstream s;
	s << f.rdbuf();
	return s.str();
}

static void spit(const std::string &p, const std::string &text)
{
	std::ofstream(p) << text;
}

class Ports : public ::testing::Test {
protected:
	std::string dir, sysctl, state;
	void SetUp() override
	{
		char tmpl[] = "/tmp/ixdp-ports.XXXXXX";
		ASSERT_NE(mkdtemp(tmpl), nullptr);
		dir = tmpl;
		sysctl = dir + "/ip_local_reserved_ports";
		state = dir + "/ixdpd.sock.ports";
	}
	void TearDown() override
	{
		unlink(sysctl.c_str());
		unlink(state.c_str());
		rmdir(dir.c_str());
	}
};

TEST_F(Ports, Merge)
{
	char out[64];
	EXPECT_EQ(ports_merge("", 61000, 65535, out, sizeof(out)), 0);
	EXPECT_STREQ(out, "61000-65535");
	EXPECT_EQ(ports_merge("8080,9000-9010", 1, 2, out, sizeof(out)), 0);
	EXPECT_STREQ(out, "8080,9000-9010,1-2");
	EXPECT_EQ(ports_merge("8080", 61000, 65535, out, 8), -ENOSPC);
}

TEST_F(Ports, ReserveAndRelease)
{
	struct ports p;
	spit(sysctl, "8080\n");
	ASSERT_EQ(ports_reserve(&p, 61000, 61999, state.c_str(), sysctl.c_str()), 0);
	EXPECT_EQ(slurp(sysctl), "8080,61000-61999");
	EXPECT_EQ(slurp(state), "8080");
	ports_release(&p);
	EXPECT_EQ(slurp(sysctl), "8080");
	EXPECT_NE(access(state.c_str(), F_OK), 0);
	ports_release(&p); // twice is harmless
	EXPECT_EQ(slurp(sysctl), "8080");
}

TEST_F(Ports, EmptyOriginalIsRestoredAsEmpty)
{
	struct ports p;
	spit(sysctl, "\n");
	ASSERT_EQ(ports_reserve(&p, 61000, 65535, state.c_str(), sysctl.c_str()), 0);
	EXPECT_EQ(slurp(sysctl), "61000-65535");
	ports_release(&p);
	EXPECT_EQ(slurp(sysctl), "\n");
}

TEST_F(Ports, LeftoverFromACrashIsRestoredFirst)
{
	struct ports p;
	spit(sysctl, "8080,61000-61999\n"); // what a SIGKILLed ixdpd left
	spit(state, "8080");
	ASSERT_EQ(ports_reserve(&p, 62000, 62999, state.c_str(), sysctl.c_str()), 0);
	EXPECT_EQ(slurp(sysctl), "8080,62000-62999");
	ports_release(&p);
	EXPECT_EQ(slurp(sysctl), "8080");
}

TEST_F(Ports, UnwritableSysctlFailsCleanly)
{
	struct ports p;
	std::string missing = dir + "/no/such/sysctl";
	EXPECT_EQ(ports_reserve(&p, 1, 2, state.c_str(), missing.c_str()), -ENOENT);
	EXPECT_EQ(p.reserved, 0);
	EXPECT_NE(access(state.c_str(), F_OK), 0);
}
