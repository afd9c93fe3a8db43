// SPDX-License-Identifier: GPL-2.0
// ports_test.cc - reserving the ephemeral range from the kernel and giving it back, including
// after a crash, against a file standing in for the sysctl; the listen rules for apps that are
// not root (ports_app_rule), the kernel's ephemeral range read from a file, and the kernel's
// listeners found over sock_diag in a network namespace of the test's own.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <sched.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

extern "C" {
#include "ixdp/steer.h"
#include "net/ports.h"
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

static const __u32 any[4] = { 0 };

static struct ports_listener v4(const char *a, __u16 port)
{
	struct ports_listener l = { IXDP_FAMILY_INET, { 0 }, port };
	inet_pton(AF_INET, a, &l.addr[0]);
	return l;
}

static struct ports_listener v6(const char *a, __u16 port, bool v6only)
{
	struct ports_listener l = { IXDP_FAMILY_INET6, { 0 }, port };
	inet_pton(AF_INET6, a, l.addr);
	if (!(l.addr[0] | l.addr[1] | l.addr[2] | l.addr[3]) && !v6only)
		l.family = 0; // as ports_kernel_listeners() reports a dual-stack wildcard
	return l;
}

TEST(PortsRule, AppPortsEphemeralRangeAndKernelListeners)
{
	struct ports_set allowed = { 3, { { 5432, 5432 }, { 8000, 8099 }, { 40500, 40500 } } };
	struct ports_set none = { 0, {} };
	__u32 dut[4] = { 0 }, other[4] = { 0 }, dut6[4];
	inet_pton(AF_INET, "198.18.0.1", &dut[0]);
	inet_pton(AF_INET, "198.18.0.9", &other[0]);
	inet_pton(AF_INET6, "2001:db8::1", dut6);

	// app-ports: nothing by default, never below 1024, only what is listed.
	EXPECT_EQ(ports_app_rule(&none, 1, 0, nullptr, 0, 0, any, 8000), -EACCES);
	EXPECT_EQ(ports_app_rule(&allowed, 1, 0, nullptr, 0, 0, any, 8000), 0);
	EXPECT_EQ(ports_app_rule(&allowed, 1, 0, nullptr, 0, 0, any, 8099), 0);
	EXPECT_EQ(ports_app_rule(&allowed, 1, 0, nullptr, 0, 0, any, 8100), -EACCES);
	struct ports_set low = { 1, { { 1, 2000 } } }; // config.c refuses this; the rule too
	EXPECT_EQ(ports_app_rule(&low, 1, 0, nullptr, 0, 0, any, 80), -EACCES);
	EXPECT_EQ(ports_app_rule(&low, 1, 0, nullptr, 0, 0, any, 1024), 0);

	// The kernel's ephemeral range, inclusive at both ends.
	EXPECT_EQ(ports_app_rule(&allowed, 40500, 40999, nullptr, 0, 0, any, 40500), -ERANGE);
	EXPECT_EQ(ports_app_rule(&allowed, 40000, 40500, nullptr, 0, 0, any, 40500), -ERANGE);
	EXPECT_EQ(ports_app_rule(&allowed, 40501, 40999, nullptr, 0, 0, any, 40500), 0);

	// A kernel listener: same port, families meet, a wildcard on either side or the same
	// address.
	struct {
		struct ports_listener k;
		int family;
		const __u32 *addr;
		int want;
	} cases[] = {
		{ v4("198.18.0.1", 5432), 0, any, -EBUSY },
		{ v4("198.18.0.1", 5432), IXDP_FAMILY_INET, any, -EBUSY },
		{ v4("198.18.0.1", 5432), IXDP_FAMILY_INET, dut, -EBUSY },
		{ v4("198.18.0.1", 5432), IXDP_FAMILY_INET, other, 0 },
		{ v4("198.18.0.1", 5433), IXDP_FAMILY_INET, dut, 0 },	// another port
		{ v4("198.18.0.1", 5432), IXDP_FAMILY_INET6, any, 0 },	// another family
		{ v4("0.0.0.0", 5432), IXDP_FAMILY_INET, dut, -EBUSY },
		{ v4("127.0.0.1", 5432), 0, any, -EBUSY },		// conservative: any address
		{ v4("127.0.0.1", 5432), IXDP_FAMILY_INET, dut, 0 },
		{ v6("::", 5432, false), IXDP_FAMILY_INET, dut, -EBUSY }, // dual stack
		{ v6("::", 5432, true), IXDP_FAMILY_INET, dut, 0 },	   // IPV6_V6ONLY
		{ v6("::", 5432, true), IXDP_FAMILY_INET6, dut6, -EBUSY },
		{ v6("::", 5432, true), 0, any, -EBUSY },
		{ v6("2001:db8::1", 5432, false), IXDP_FAMILY_INET6, dut6, -EBUSY },
		{ v6("2001:db8::2", 5432, false), IXDP_FAMILY_INET6, dut6, 0 },
		{ v6("2001:db8::2", 5432, false), IXDP_FAMILY_INET, any, 0 },
	};
	for (auto &tc : cases) {
		char text[64];
		inet_ntop(tc.k.family == IXDP_FAMILY_INET ? AF_INET : AF_INET6, tc.k.addr, text,
			  sizeof(text));
		EXPECT_EQ(ports_app_rule(&allowed, 32768, 60999, &tc.k, 1, tc.family, tc.addr, 5432),
			  tc.want)
			<< text << " port " << tc.k.port << " family " << tc.family;
	}
	// The first rule broken is the one named: app-ports, then the range, then the kernel.
	struct ports_listener k = v4("0.0.0.0", 40500);
	EXPECT_EQ(ports_app_rule(&allowed, 40000, 40999, &k, 1, 0, any, 40500), -ERANGE);
	EXPECT_EQ(ports_app_rule(&none, 40000, 40999, &k, 1, 0, any, 40500), -EACCES);

	EXPECT_STREQ(ports_refusal(-EBUSY), "the kernel has a listener on it");
	EXPECT_NE(std::string(ports_refusal(-EACCES)).find("app-ports"), std::string::npos);
	EXPECT_NE(std::string(ports_refusal(-ERANGE)).find("ip_local_port_range"),
		  std::string::npos);
	EXPECT_STREQ(ports_refusal(-ENOMEM), "");
}

TEST_F(Ports, KernelEphemeralRangeFromItsFile)
{
	unsigned int lo = 0, hi = 0;
	spit(sysctl, "32768\t60999\n"); // as /proc/sys shows it
	ASSERT_EQ(ports_local_range(sysctl.c_str(), &lo, &hi), 0);
	EXPECT_EQ(lo, 32768u);
	EXPECT_EQ(hi, 60999u);
	for (const char *bad : { "", "32768", "60999 32768", "1 70000", "a b", "1 2 3" }) {
		spit(sysctl, bad);
		EXPECT_EQ(ports_local_range(sysctl.c_str(), &lo, &hi), -EINVAL) << bad;
	}
	std::string missing = dir + "/none";
	EXPECT_EQ(ports_local_range(missing.c_str(), &lo, &hi), -ENOENT);
	ASSERT_EQ(ports_local_range(PORTS_LOCAL_RANGE, &lo, &hi), 0); // the real one parses
	EXPECT_LE(lo, hi);
}

static int listen_on(int family, const char *addr, __u16 port, int v6only)
{
	int fd = socket(family, SOCK_STREAM, 0), one = 1;
	struct sockaddr_storage ss = {};
	socklen_t len;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET) {
		auto *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		inet_pton(AF_INET, addr, &s4->sin_addr);
		len = sizeof(*s4);
	} else {
		auto *s6 = (struct sockaddr_in6 *)&ss;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &s6->sin6_addr);
		len = sizeof(*s6);
	}
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 1)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * In a child in a network namespace of its own (nothing else listens there; only loopback,
 * which the child brings up): listeners on IPv4 and IPv6, found with their addresses.
 */
static int kernel_listeners_child()
{
	struct ports_listener kl[PORTS_LISTENERS_MAX];
	int n;

	if (unshare(CLONE_NEWNET) || system("ip link set lo up"))
		return 10;
	if (ports_kernel_listeners(5432, kl, PORTS_LISTENERS_MAX) != 0)
		return 11; // a new namespace: nobody listens
	if (listen_on(AF_INET, "127.0.0.1", 5432, 0) < 0 || listen_on(AF_INET, "0.0.0.0", 5433, 0) < 0 ||
	    listen_on(AF_INET6, "::", 5434, 0) < 0 || listen_on(AF_INET6, "::", 5435, 1) < 0 ||
	    listen_on(AF_INET6, "::1", 5432, 1) < 0)
		return 12;
	n = ports_kernel_listeners(5432, kl, PORTS_LISTENERS_MAX);
	if (n != 2)
		return 13;
	for (int i = 0; i < n; i++) {
		if (kl[i].port != 5432)
			return 14;
		if (kl[i].family == IXDP_FAMILY_INET && kl[i].addr[0] != htonl(INADDR_LOOPBACK))
			return 15;
		if (kl[i].family == IXDP_FAMILY_INET6 && kl[i].addr[3] != htonl(1))
			return 16;
	}
	if (kl[0].family == kl[1].family)
		return 17;
	n = ports_kernel_listeners(5433, kl, PORTS_LISTENERS_MAX);
	if (n != 1 || kl[0].family != IXDP_FAMILY_INET || kl[0].addr[0])
		return 18;
	n = ports_kernel_listeners(5434, kl, PORTS_LISTENERS_MAX);
	if (n != 1 || kl[0].family != 0) // dual stack: IPv4 too
		return 19;
	n = ports_kernel_listeners(5435, kl, PORTS_LISTENERS_MAX);
	if (n != 1 || kl[0].family != IXDP_FAMILY_INET6)
		return 20;
	if (ports_kernel_listeners(5432, kl, 1) != 2) // counted beyond the room given
		return 21;
	// ports_held(): this process holds its listeners (by inode); a child that closed them not
	n = ports_kernel_listeners(5433, kl, PORTS_LISTENERS_MAX);
	if (n != 1 || !kl[0].inode || ports_held(getpid(), kl, 1) != 1 || !kl[0].held)
		return 22;
	pid_t child = fork();
	if (child == 0) {
		for (int fd = 3; fd < 64; fd++)
			close(fd);
		pause();
		_exit(0);
	}
	usleep(100 * 1000);
	int held = ports_held(child, kl, 1);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	if (held != 0 || kl[0].held)
		return 23;
	if (ports_held(child, kl, 1) != -ESRCH) // gone
		return 24;
	// the rule: a kernel listener the app holds is its own, not "the kernel listens there"
	struct ports_set any = { 1, { { 1024, 65535 } } };
	kl[0].held = true;
	if (ports_app_rule(&any, 1, 0, kl, 1, IXDP_FAMILY_INET, kl[0].addr, 5433) != 0)
		return 25;
	kl[0].held = false;
	if (ports_app_rule(&any, 1, 0, kl, 1, IXDP_FAMILY_INET, kl[0].addr, 5433) != -PORTS_EKERNEL)
		return 26;
	return 0;
}

TEST(PortsKernel, ListenersFoundOverSockDiag)
{
	if (geteuid() != 0)
		GTEST_SKIP() << "needs root: a network namespace of its own";
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(kernel_listeners_child());
	int status = 0;
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 0) << "step " << WEXITSTATUS(status) << " failed";
}
