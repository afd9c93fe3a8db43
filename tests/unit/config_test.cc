// SPDX-License-Identifier: GPL-2.0
// config_test.cc - ixdpd's configuration: defaults, every key's parser, the INI reader, argv
// overrides and the cross-key rules; every error names its key.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

extern "C" {
#include "core/config.h"
}

struct Cfg {
	struct ixdp_config c;
	char err[768] = "";
	Cfg() { cfg_defaults(&c); }
	int set(const char *k, const char *v) { return cfg_set(&c, k, v, err, sizeof(err)); }
	int args(std::vector<std::string> a)
	{
		std::vector<char *> argv;
		a.insert(a.begin(), "ixdpd");
		for (auto &s : a)
			argv.push_back(&s[0]);
		argv.push_back(nullptr);
		return cfg_parse_args(&c, argv.size() - 1, argv.data(), err, sizeof(err));
	}
	int validate() { return cfg_validate(&c, err, sizeof(err)); }
};

static std::string write_file(const std::string &text)
{
	char path[] = "/tmp/ixdp-config-test.XXXXXX";
	int fd = mkstemp(path);
	EXPECT_GE(fd, 0);
	EXPECT_EQ(write(fd, text.data(), text.size()), (ssize_t)text.size());
	close(fd);
	return path;
}

TEST(Config, Defaults)
{
	Cfg c;
	EXPECT_EQ(c.c.workers, 1u);
	EXPECT_EQ(c.c.flow_groups, 256u);
	EXPECT_EQ(c.c.xdp_mode, CFG_XDP_NATIVE);
	EXPECT_STREQ(c.c.control, CFG_DEFAULT_CONTROL);
	EXPECT_EQ(c.c.reflect_udp, 0u);
	EXPECT_EQ(c.c.eph_lo, 61000u);
	EXPECT_EQ(c.c.eph_hi, 65535u);
	EXPECT_EQ(c.validate(), -EINVAL); // no interface
	EXPECT_STREQ(c.err, "interface: required (e.g. --interface eth1)");
	ASSERT_EQ(c.set("interface", "eth1"), 0);
	EXPECT_EQ(c.validate(), 0) << c.err;
}

TEST(Config, Numbers)
{
	Cfg c;
	EXPECT_EQ(c.set("workers", "4"), 0);
	EXPECT_EQ(c.c.workers, 4u);
	for (const char *bad : { "0", "65", "-1", "4x", "", " 4", "0x4", "99999999999999999999" }) {
		EXPECT_EQ(c.set("workers", bad), -EINVAL) << bad;
		EXPECT_EQ(std::string(c.err).rfind("workers: ", 0), 0u) << c.err;
	}
	EXPECT_EQ(c.c.workers, 4u); // a failed set changes nothing
	EXPECT_EQ(c.set("reflect-udp", "65535"), 0);
	EXPECT_EQ(c.set("reflect-udp", "65536"), -EINVAL);
	EXPECT_EQ(c.set("flow-hash-seed", "4294967295"), 0);
	EXPECT_EQ(c.c.hash_seed, 4294967295u);
}

// idle-backoff-ms: 100 by default, 0 (never back off) to 10000.
TEST(Config, IdleBackoff)
{
	Cfg c;
	EXPECT_EQ(c.c.idle_backoff_ms, 100u);
	EXPECT_EQ(c.set("idle-backoff-ms", "0"), 0);
	EXPECT_EQ(c.c.idle_backoff_ms, 0u);
	EXPECT_EQ(c.set("idle-backoff-ms", "10000"), 0);
	EXPECT_EQ(c.c.idle_backoff_ms, 10000u);
	for (const char *bad : { "10001", "-1", "1ms", "" }) {
		EXPECT_EQ(c.set("idle-backoff-ms", bad), -EINVAL) << bad;
		EXPECT_EQ(std::string(c.err).rfind("idle-backoff-ms: ", 0), 0u) << c.err;
	}
	EXPECT_EQ(c.c.idle_backoff_ms, 10000u);
	ASSERT_EQ(c.args({ "--interface", "eth1", "--idle-backoff-ms", "250" }), 0) << c.err;
	EXPECT_EQ(c.c.idle_backoff_ms, 250u);
}

// The flow hash seed is drawn at start unless a number is configured; "random" asks for that.
TEST(Config, HashSeedAndHalfOpenLimits)
{
	Cfg c;
	EXPECT_TRUE(c.c.hash_seed_random);
	EXPECT_EQ(c.set("flow-hash-seed", "0"), 0);
	EXPECT_FALSE(c.c.hash_seed_random);
	EXPECT_EQ(c.c.hash_seed, 0u);
	EXPECT_EQ(c.set("flow-hash-seed", "random"), 0);
	EXPECT_TRUE(c.c.hash_seed_random);
	EXPECT_EQ(c.set("flow-hash-seed", "4294967296"), -EINVAL);
	EXPECT_STREQ(c.err, "flow-hash-seed: '4294967296' is not random or a number in 0..4294967295");
	EXPECT_TRUE(c.c.hash_seed_random) << "a failed set changed the seed mode";

	EXPECT_EQ(c.c.half_open, 4096u);
	EXPECT_EQ(c.c.half_open_listener, 1024u);
	EXPECT_EQ(c.set("tcp-half-open", "10"), 0);
	EXPECT_EQ(c.c.half_open, 10u);
	EXPECT_EQ(c.set("tcp-half-open-listener", "0"), -EINVAL);
	EXPECT_EQ(c.set("tcp-half-open-listener", "1000001"), -EINVAL);
	EXPECT_EQ(c.set("tcp-half-open-listener", "3"), 0);
	EXPECT_EQ(c.c.half_open_listener, 3u);

	EXPECT_EQ(c.c.uid_listens, 16u);
	EXPECT_EQ(c.c.uid_conns, 65536u);
	EXPECT_EQ(c.set("uid-listens", "0"), -EINVAL);
	EXPECT_EQ(c.set("uid-listens", "65"), -EINVAL);
	EXPECT_EQ(c.set("uid-listens", "3"), 0);
	EXPECT_EQ(c.c.uid_listens, 3u);
	EXPECT_EQ(c.set("uid-conns", "0"), -EINVAL);
	EXPECT_EQ(c.set("uid-conns", "16777217"), -EINVAL);
	EXPECT_EQ(c.set("uid-conns", "30"), 0);
	EXPECT_EQ(c.c.uid_conns, 30u);
}

TEST(Config, EnumsStringsAndLists)
{
	Cfg c;
	EXPECT_EQ(c.set("xdp-mode", "external"), 0);
	EXPECT_EQ(c.c.xdp_mode, CFG_XDP_EXTERNAL);
	EXPECT_EQ(c.set("xdp-mode", "Native"), -EINVAL);
	EXPECT_STREQ(c.err, "xdp-mode: 'Native' is not one of native, generic, external");
	EXPECT_EQ(c.set("zerocopy", "off"), 0);
	EXPECT_EQ(c.c.zerocopy, CFG_ZC_OFF);
	EXPECT_EQ(c.set("interface", "0123456789abcdef"), -EINVAL); // IFNAMSIZ
	EXPECT_EQ(c.set("interface", ""), -EINVAL);
	EXPECT_EQ(c.set("log-level", "debug"), 0);
	EXPECT_EQ(c.c.log_level, LOG_LVL_DEBUG);

	EXPECT_EQ(c.set("cpus", "3,0-2,7"), 0);
	ASSERT_EQ(c.c.nr_cpus, 5u);
	unsigned int want[] = { 3, 0, 1, 2, 7 };
	for (int i = 0; i < 5; i++)
		EXPECT_EQ(c.c.cpus[i], want[i]);
	for (const char *bad : { "", ",", "1-", "-1", "2-1", "a", "1,,2", "0-64" })
		EXPECT_EQ(c.set("cpus", bad), -EINVAL) << bad;

	EXPECT_EQ(c.set("ephemeral-ports", "40000-40999"), 0);
	EXPECT_EQ(c.c.eph_lo, 40000u);
	EXPECT_EQ(c.c.eph_hi, 40999u);
	EXPECT_EQ(c.set("ephemeral-ports", "none"), 0);
	EXPECT_GT(c.c.eph_lo, c.c.eph_hi);
	for (const char *bad : { "1", "0-10", "10-5", "1-65536", "a-b" })
		EXPECT_EQ(c.set("ephemeral-ports", bad), -EINVAL) << bad;
	EXPECT_EQ(c.set("no-such-key", "1"), -EINVAL);
	EXPECT_STREQ(c.err, "no-such-key: unknown key");
}

TEST(Config, CrossKeyRules)
{
	struct {
		std::vector<std::pair<const char *, const char *>> kv;
		const char *err_prefix;
	} cases[] = {
		{ { { "flow-groups", "96" } }, "flow-groups: 96 is not a power of two" },
		{ { { "workers", "8" }, { "flow-groups", "4" } }, "flow-groups: 4 is fewer" },
		{ { { "workers", "2" }, { "cpus", "1" } }, "cpus: 1 CPUs listed for 2 workers" },
		{ { { "rx-ring", "1000" } }, "rx-ring: ring sizes" },
		{ { { "tx-ring", "100" } }, "tx-ring: ring sizes" },
		{ { { "fill-ring", "3000" } }, "fill-ring: 3000" },
		{ { { "frame-size", "3000" } }, "frame-size: 3000" },
		{ { { "reflect-udp", "61234" } }, "reflect-udp: port 61234 is inside" },
		{ { { "echo-tcp", "65535" } }, "echo-tcp: port 65535 is inside" },
		{ { { "sink-tcp", "61000" } }, "sink-tcp: port 61000 is inside" },
		{ { { "echo-tcp", "7" }, { "sink-tcp", "7" } }, "sink-tcp: port 7 is the echo-tcp port" },
		{ { { "control", "ixdpd.sock" } }, "control: 'ixdpd.sock' is not an absolute path" },
		{ { { "app-ports", "8000, 80" } }, "app-ports: 80 is below 1024 (those stay root's)" },
		{ { { "app-ports", "60000-61000" } },
		  "app-ports: 60000-61000 overlaps ephemeral-ports 61000-65535" },
	};
	for (auto &tc : cases) {
		Cfg c;
		ASSERT_EQ(c.set("interface", "eth1"), 0);
		for (auto &kv : tc.kv)
			ASSERT_EQ(c.set(kv.first, kv.second), 0) << kv.first << c.err;
		EXPECT_EQ(c.validate(), -EINVAL) << tc.err_prefix;
		EXPECT_EQ(std::string(c.err).rfind(tc.err_prefix, 0), 0u) << c.err;
	}
	Cfg ok;
	ok.set("interface", "eth1");
	ok.set("reflect-udp", "61234");
	ok.set("ephemeral-ports", "none");
	EXPECT_EQ(ok.validate(), 0) << ok.err;
	ok.set("app-ports", "60000-65535"); // no ephemeral-ports: nothing to overlap
	EXPECT_EQ(ok.validate(), 0) << ok.err;
}

TEST(Config, AppPorts)
{
	Cfg c;
	EXPECT_EQ(c.c.app_ports.n, 0u); // default: none, only root listens
	EXPECT_FALSE(ports_set_has(&c.c.app_ports, 11211));
	ASSERT_EQ(c.set("app-ports", "11211, 8000-8099"), 0) << c.err;
	ASSERT_EQ(c.c.app_ports.n, 2u);
	EXPECT_EQ(c.c.app_ports.r[0].lo, 11211);
	EXPECT_EQ(c.c.app_ports.r[0].hi, 11211);
	EXPECT_EQ(c.c.app_ports.r[1].lo, 8000);
	EXPECT_EQ(c.c.app_ports.r[1].hi, 8099);
	for (unsigned int p : { 11211u, 8000u, 8050u, 8099u })
		EXPECT_TRUE(ports_set_has(&c.c.app_ports, p)) << p;
	for (unsigned int p : { 11210u, 11212u, 7999u, 8100u, 0u, 65535u })
		EXPECT_FALSE(ports_set_has(&c.c.app_ports, p)) << p;
	ASSERT_EQ(c.set("app-ports", " 9000 - 9001 ,1024"), 0) << c.err;
	EXPECT_EQ(c.c.app_ports.n, 2u);
	EXPECT_TRUE(ports_set_has(&c.c.app_ports, 9001));
	ASSERT_EQ(c.set("app-ports", "65535"), 0) << c.err;

	for (const char *bad : { "", ",", "8000,", ",8000", "8000,,8001", "0", "65536", "8000-",
				 "-8000", "8099-8000", "a", "80a", "8000-8099-9000", "0x50",
				 "1-70000", "none,8000", "8000 8001" }) {
		EXPECT_EQ(c.set("app-ports", bad), -EINVAL) << bad;
		EXPECT_EQ(std::string(c.err).rfind("app-ports: ", 0), 0u) << c.err;
		EXPECT_EQ(std::string(c.err).find('\n'), std::string::npos) << c.err;
	}
	EXPECT_EQ(c.c.app_ports.n, 1u); // a failed set changes nothing
	std::string many;
	for (int i = 0; i < PORTS_RANGES_MAX + 1; i++)
		many += (i ? "," : "") + std::to_string(2000 + i);
	EXPECT_EQ(c.set("app-ports", many.c_str()), -EINVAL);
	EXPECT_STREQ(c.err, "app-ports: more than 32 ports and ranges");
	ASSERT_EQ(c.set("app-ports", "none"), 0);
	EXPECT_EQ(c.c.app_ports.n, 0u);
	ASSERT_EQ(c.args({ "--app-ports", "8000-8001", "--interface", "eth1" }), 0) << c.err;
	EXPECT_TRUE(ports_set_has(&c.c.app_ports, 8001));
	EXPECT_EQ(c.args({ "--app-ports", "8000;8001" }), -EINVAL);
	EXPECT_EQ(std::string(c.err).rfind("--app-ports: ", 0), 0u) << c.err;
}

TEST(Config, IniFile)
{
	std::string path = write_file("# ixdpd\n; another comment\n\n[ixdpd]\n"
				      "  interface = veth7  \nworkers=2\ncpus = 0,1\n"
				      "reflect-udp = 7\n");
	Cfg c;
	ASSERT_EQ(cfg_load_file(&c.c, path.c_str(), c.err, sizeof(c.err)), 0) << c.err;
	EXPECT_STREQ(c.c.interface, "veth7");
	EXPECT_EQ(c.c.workers, 2u);
	EXPECT_EQ(c.c.nr_cpus, 2u);
	EXPECT_EQ(c.c.reflect_udp, 7u);
	unlink(path.c_str());

	static const std::string long_line = std::string(2000, 'x') + "\n";
	struct {
		const char *text, *err_suffix;
	} bad[] = {
		{ "interface = a\nbogus = 1\n", ":2: bogus: unknown key" },
		{ "workers = lots\n", ":1: workers: 'lots' is not a number in 1..64" },
		{ "[daemon]\n", ":1: unknown section [daemon] (only [ixdpd])" },
		{ "interface\n", ":1: expected 'key = value'" },
		{ "flow-groups =\n", ":1: flow-groups: '' is not a number in 1..4096" },
		{ long_line.c_str(), ":1: line too long" },
	};
	for (auto &b : bad) {
		Cfg c2;
		std::string p = write_file(b.text);
		EXPECT_EQ(cfg_load_file(&c2.c, p.c_str(), c2.err, sizeof(c2.err)), -EINVAL) << b.text;
		EXPECT_EQ(std::string(c2.err), p + b.err_suffix);
		unlink(p.c_str());
	}
	Cfg c3;
	EXPECT_EQ(cfg_load_file(&c3.c, "/nonexistent/ixdpd.conf", c3.err, sizeof(c3.err)), -ENOENT);
	EXPECT_STREQ(c3.err, "/nonexistent/ixdpd.conf: No such file or directory");
}

TEST(Config, CommandLineOverridesFileWhateverTheOrder)
{
	std::string path = write_file("interface = veth1\nworkers = 2\nreflect-udp = 9001\n");
	Cfg c;
	ASSERT_EQ(c.args({ "--reflect-udp", "9000", "-c", path, "--foreground" }), 0) << c.err;
	EXPECT_STREQ(c.c.interface, "veth1");
	EXPECT_EQ(c.c.workers, 2u);
	EXPECT_EQ(c.c.reflect_udp, 9000u);
	EXPECT_TRUE(c.c.foreground);
	unlink(path.c_str());

	Cfg d;
	EXPECT_EQ(d.args({ "--workers", "x" }), -EINVAL);
	EXPECT_STREQ(d.err, "--workers: 'x' is not a number in 1..64");
	Cfg e;
	EXPECT_EQ(e.args({ "--bogus", "1" }), -EINVAL);
	Cfg f;
	EXPECT_EQ(f.args({ "--interface", "a", "stray" }), -EINVAL);
	EXPECT_STREQ(f.err, "unexpected argument 'stray'");
	Cfg g;
	EXPECT_EQ(g.args({ "--workers" }), -EINVAL); // missing value
}
