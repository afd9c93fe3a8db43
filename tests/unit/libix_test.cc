// SPDX-License-Identifier: GPL-2.0
// libix_test.cc - libix (ix and ixev) against a harness that plays ixdpd: it answers the attach
// on a real Unix socket with a poisoned-then-laid-out memfd and socketpairs, then consumes
// commands and produces events on the rings the way a worker does, step by step or from a
// thread.  Fixed seeds; waits have generous bounds and no test asserts a duration's upper end
// beyond them.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ix/ix.h"
#include "ix/ixev.h"
#include "ixdp/app.h"
#include "ixdp/ctl.h"
#include "ixdp/steer.h"

namespace {

using Clock = std::chrono::steady_clock;

std::mutex log_mu;
std::vector<std::string> logs;

void log_cb(int level, const char *msg, void *arg)
{
	std::lock_guard<std::mutex> g(log_mu);
	logs.push_back(msg);
}

bool logged(const std::string &needle)
{
	std::lock_guard<std::mutex> g(log_mu);
	for (auto &l : logs)
		if (l.find(needle) != std::string::npos)
			return true;
	return false;
}

uint64_t mkh(uint32_t gen, unsigned int w, uint32_t slot)
{
	return (uint64_t)gen << 32 | (uint64_t)w << 24 | slot;
}

long ms_since(Clock::time_point t)
{
	return (long)std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t)
		.count();
}

// The daemon's answer to one attach.
struct Reply {
	int status = 0;
	std::string msg;
	uint32_t ctl_magic = IXDP_CTL_MAGIC;
	uint16_t ctl_version = IXDP_CTL_VERSION;
	uint16_t app_version = IXDP_APP_VERSION;
	int drop_fds = 0;	// send this many fds fewer than announced
	bool close_only = false; // close the connection instead of answering
	std::function<void(struct ixdp_app_shm *, uint8_t *base)> corrupt;
};

class Harness {
public:
	unsigned int nr = 2;
	uint32_t cmd_entries = 256, ev_entries = 1024, rx_size = 1u << 20, tx_size = 1u << 20;

	std::string dir, path;
	int lfd = -1, conn = -1, memfd = -1, app_peer = -1;
	std::vector<int> worker_peer;
	uint8_t *base = nullptr;
	size_t size = 0;
	std::vector<uint32_t> cmd_cons, ev_prod;
	struct ixdp_ctl_req req {};
	bool got_req = false;

	Harness()
	{
		char tmpl[] = "/tmp/libix-test.XXXXXX";
		struct sockaddr_un sun = {};

		if (!mkdtemp(tmpl))
			abort();
		dir = tmpl;
		path = dir + "/control.sock";
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path.c_str());
		lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (lfd < 0 || bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) || listen(lfd, 4))
			abort();
	}
	~Harness()
	{
		for (int fd : { lfd, conn, memfd, app_peer })
			if (fd >= 0)
				close(fd);
		for (int fd : worker_peer)
			if (fd >= 0)
				close(fd);
		if (base)
			munmap(base, size);
		unlink(path.c_str());
		rmdir(dir.c_str());
	}

	struct ixdp_app_shm *shm() { return (struct ixdp_app_shm *)base; }
	struct ixdp_app_chan *chan(unsigned int w)
	{
		return (struct ixdp_app_chan *)(base + shm()->chan_off + w * shm()->chan_size);
	}
	struct ixdp_app_cmd *cmds(unsigned int w)
	{
		return (struct ixdp_app_cmd *)(base + chan(w)->cmd_off);
	}
	struct ixdp_app_ev *evs(unsigned int w)
	{
		return (struct ixdp_app_ev *)(base + chan(w)->ev_off);
	}
	uint8_t *rx(unsigned int w) { return base + chan(w)->rx_off; }
	uint8_t *tx(unsigned int w) { return base + chan(w)->tx_off; }

	// The memfd: random bytes everywhere first, then the layout over them.
	void build(std::vector<int> &app_ends)
	{
		uint64_t off, x = 0x9e3779b97f4a7c15ull;
		std::vector<uint64_t> chan_at;

		auto align = [](uint64_t v) { return (v + 63) & ~63ull; };
		off = align(sizeof(struct ixdp_app_shm));
		uint64_t chan_off = off, chan_size = align(sizeof(struct ixdp_app_chan));
		off += chan_size * nr;
		struct layout {
			uint64_t cmd, ev, rx, tx;
		};
		std::vector<layout> lay(nr);
		for (unsigned int w = 0; w < nr; w++) {
			lay[w].cmd = off;
			off = align(off + (uint64_t)cmd_entries * 64);
			lay[w].ev = off;
			off = align(off + (uint64_t)ev_entries * 64);
			lay[w].rx = off;
			off = align(off + rx_size);
			lay[w].tx = off;
			off = align(off + tx_size);
		}
		size = off;
		memfd = memfd_create("libix-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (memfd < 0 || ftruncate(memfd, size) ||
		    fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW))
			abort();
		base = (uint8_t *)mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
		if (base == MAP_FAILED)
			abort();
		for (size_t i = 0; i + 8 <= size; i += 8) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			memcpy(base + i, &x, 8);
		}
		struct ixdp_app_shm *h = shm();
		memset(h, 0, sizeof(*h));
		h->magic = IXDP_APP_MAGIC;
		h->version = IXDP_APP_VERSION;
		h->hdr_size = sizeof(struct ixdp_app_shm);
		h->cmd_size = sizeof(struct ixdp_app_cmd);
		h->ev_size = sizeof(struct ixdp_app_ev);
		h->chan_hdr_size = sizeof(struct ixdp_app_chan);
		h->nr_workers = nr;
		h->shm_size = size;
		h->chan_off = chan_off;
		h->chan_size = chan_size;
		h->cmd_entries = cmd_entries;
		h->ev_entries = ev_entries;
		h->rx_size = rx_size;
		h->tx_size = tx_size;
		h->ctx_id = 42;
		h->app_sleeping = 7; // libix clears it
		for (unsigned int w = 0; w < nr; w++) {
			struct ixdp_app_chan *c = chan(w);

			memset(c, 0, sizeof(*c));
			c->cmd_off = lay[w].cmd;
			c->ev_off = lay[w].ev;
			c->rx_off = lay[w].rx;
			c->tx_off = lay[w].tx;
			c->ifindex = 5; // the daemon's interface: libix reads worker 0's
		}
		cmd_cons.assign(nr, 0);
		ev_prod.assign(nr, 0);

		int sv[2];
		if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
			abort();
		app_peer = sv[0];
		app_ends.push_back(sv[1]);
		for (unsigned int w = 0; w < nr; w++) {
			if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
				abort();
			worker_peer.push_back(sv[0]);
			app_ends.push_back(sv[1]);
		}
	}

	// Accept one attach and answer it as @r says.
	void serve(const Reply &r, std::vector<int> app_ends)
	{
		struct pollfd p = { lfd, POLLIN, 0 };
		size_t got = 0;

		if (poll(&p, 1, 5000) != 1)
			return;
		conn = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
		if (conn < 0)
			return;
		while (got < sizeof(req)) {
			ssize_t n = recv(conn, (char *)&req + got, sizeof(req) - got, 0);
			if (n <= 0)
				return;
			got += n;
		}
		got_req = true;
		if (r.close_only) {
			close(conn);
			conn = -1;
			return;
		}
		if (r.corrupt)
			r.corrupt(shm(), base);

		struct {
			struct ixdp_ctl_reply rep;
			union {
				struct ixdp_app_attach att;
				char msg[256];
			};
		} m;
		memset(&m, 0, sizeof(m));
		m.rep.magic = r.ctl_magic;
		m.rep.version = r.ctl_version;
		m.rep.op = IXDP_CTL_APP_ATTACH;
		m.rep.status = r.status;
		std::vector<int> fds;
		if (r.status) {
			snprintf(m.msg, sizeof(m.msg), "%s", r.msg.c_str());
			m.rep.len = r.msg.size() + 1;
		} else {
			m.rep.len = sizeof(m.att);
			m.att.magic = IXDP_APP_MAGIC;
			m.att.version = r.app_version;
			m.att.nr_fds = 2 + nr;
			m.att.shm_size = size;
			m.att.ctx_id = 42;
			m.att.nr_workers = nr;
			fds.push_back(memfd);
			fds.insert(fds.end(), app_ends.begin(), app_ends.end());
			fds.resize(fds.size() - r.drop_fds);
		}
		union {
			char buf[CMSG_SPACE(sizeof(int) * IXDP_APP_FDS_MAX)];
			struct cmsghdr align;
		} u;
		memset(&u, 0, sizeof(u));
		struct iovec iov = { &m, sizeof(m.rep) + m.rep.len };
		struct msghdr msg = {};
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		if (!fds.empty()) {
			msg.msg_control = u.buf;
			msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
			struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
			memcpy(CMSG_DATA(cm), fds.data(), sizeof(int) * fds.size());
		}
		if (sendmsg(conn, &msg, MSG_NOSIGNAL) < 0)
			abort();
	}

	int attach(struct ix_ctx **ctx, const Reply &r = Reply())
	{
		std::vector<int> app_ends;

		build(app_ends);
		std::thread t([&] { serve(r, app_ends); });
		int ret = ix_attach(path.c_str(), ctx);
		t.join();
		for (int fd : app_ends) // ours: the app has its own copies now
			close(fd);
		return ret;
	}

	int attach_loop(struct ixev_loop **l, const struct ixev_conn_ops *ops, void *arg)
	{
		std::vector<int> app_ends;

		build(app_ends);
		std::thread t([&] { serve(Reply(), app_ends); });
		int ret = ixev_loop_create(path.c_str(), ops, arg, l);
		t.join();
		for (int fd : app_ends)
			close(fd);
		return ret;
	}

	// Play the daemon's end of ix_end(): wait (bounded) for the app's EOF, run @before_close
	// (what the daemon still writes), then close the control connection.
	std::thread end_on_eof(std::function<void()> before_close = {})
	{
		return std::thread([this, before_close] {
			struct pollfd p = { conn, POLLIN, 0 };
			char b;

			if (poll(&p, 1, 6000) != 1 || recv(conn, &b, 1, 0) != 0)
				return; // no EOF: the app gives up by itself, and says so
			if (before_close)
				before_close();
			close(conn);
			conn = -1;
		});
	}

	uint32_t published(unsigned int w)
	{
		return __atomic_load_n(&chan(w)->cmd_prod, __ATOMIC_ACQUIRE);
	}

	// Take every published command of worker @w, as a worker does.
	std::vector<struct ixdp_app_cmd> take(unsigned int w, unsigned int max = ~0u)
	{
		std::vector<struct ixdp_app_cmd> out;
		uint32_t prod = published(w);

		while (cmd_cons[w] != prod && out.size() < max) {
			out.push_back(cmds(w)[cmd_cons[w] & (cmd_entries - 1)]);
			cmd_cons[w]++;
		}
		__atomic_store_n(&chan(w)->cmd_cons, cmd_cons[w], __ATOMIC_RELEASE);
		return out;
	}

	// Publish one event of worker @w and wake the app if it sleeps.
	bool put(unsigned int w, const struct ixdp_app_ev &ev)
	{
		uint32_t cons = __atomic_load_n(&chan(w)->ev_cons, __ATOMIC_ACQUIRE);

		if (ev_prod[w] - cons >= ev_entries)
			return false;
		memcpy(&evs(w)[ev_prod[w] & (ev_entries - 1)], &ev, sizeof(ev));
		__atomic_store_n(&chan(w)->ev_prod, ++ev_prod[w], __ATOMIC_RELEASE);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(&shm()->app_sleeping, __ATOMIC_RELAXED)) {
			char b = 1;
			(void)!send(app_peer, &b, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		}
		return true;
	}

	uint32_t ev_cons(unsigned int w)
	{
		return __atomic_load_n(&chan(w)->ev_cons, __ATOMIC_ACQUIRE);
	}

	// Where libix mapped the memfd: the other mapping of it, from /proc/self/maps.
	uint8_t *app_base()
	{
		FILE *f = fopen("/proc/self/maps", "r");
		char line[512];
		uint8_t *found = nullptr;

		while (f && fgets(line, sizeof(line), f)) {
			unsigned long lo, hi;

			if (!strstr(line, "memfd:libix-test") ||
			    sscanf(line, "%lx-%lx", &lo, &hi) != 2)
				continue;
			if ((uint8_t *)lo != base && hi - lo == ((size + 4095) & ~4095ul))
				found = (uint8_t *)lo;
		}
		if (f)
			fclose(f);
		return found;
	}
	// Offset in worker @w's tx (rx) area of a pointer libix handed out.
	int64_t app_tx_off(const void *p, unsigned int w)
	{
		return (const uint8_t *)p - (app_base() + chan(w)->tx_off);
	}
	int64_t app_rx_off(const void *p, unsigned int w)
	{
		return (const uint8_t *)p - (app_base() + chan(w)->rx_off);
	}

	// Did worker @w get a wakeup byte (drained)?
	bool woken(unsigned int w, int timeout_ms)
	{
		struct pollfd p = { worker_peer[w], POLLIN, 0 };
		char buf[64];

		if (poll(&p, 1, timeout_ms) != 1)
			return false;
		while (recv(worker_peer[w], buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
		return true;
	}
};

struct ixdp_app_ev ev_result(uint16_t op, uint32_t seq, uint64_t h, int err = 0, uint32_t len = 0)
{
	struct ixdp_app_ev e = {};
	e.type = IXDP_APP_EV_RESULT;
	e.op = op;
	e.seq = seq;
	e.handle = h;
	e.err = err;
	e.len = len;
	return e;
}

struct ixdp_app_ev ev_of(uint16_t type, uint64_t h, uint64_t cookie, uint64_t off = 0,
			 uint32_t len = 0, int err = 0)
{
	struct ixdp_app_ev e = {};
	e.type = type;
	e.handle = h;
	e.cookie = cookie;
	e.off = off;
	e.len = len;
	e.err = err;
	return e;
}

struct ixdp_app_ev ev_knock(uint64_t h, uint64_t cookie, const char *ip4, uint16_t port,
			    uint16_t lport)
{
	struct ixdp_app_ev e = ev_of(IXDP_APP_EV_KNOCK, h, cookie);
	inet_pton(AF_INET, ip4, &e.addr[0]);
	e.family = IXDP_FAMILY_INET;
	e.port = port;
	e.lport = lport;
	return e;
}

class Libix : public ::testing::Test {
protected:
	Harness h;
	struct ix_ctx *ctx = nullptr;
	struct ix_event evs[64];

	void SetUp() override
	{
		{
			std::lock_guard<std::mutex> g(log_mu);
			logs.clear();
		}
		ix_set_log(log_cb, nullptr);
	}
	void TearDown() override
	{
		ix_detach(ctx);
		ix_set_log(nullptr, nullptr);
	}
	void attach_ok()
	{
		ASSERT_EQ(h.attach(&ctx), 0);
		ASSERT_NE(ctx, nullptr);
	}
	// Give the context handle @hd on worker @w, as a daemon does: a KNOCK on that channel
	// (version 2 handles are opaque: libix learns the worker from the event's channel).
	void learn(uint64_t hd, unsigned int w)
	{
		struct ixdp_app_ev e = {};
		struct ix_event ev;

		e.type = IXDP_APP_EV_KNOCK;
		e.handle = hd;
		ASSERT_TRUE(h.put(w, e));
		ASSERT_EQ(ix_poll(ctx, &ev, 1, 1000), 1);
		ASSERT_EQ(ev.type, IX_EV_KNOCK);
		ASSERT_EQ(ev.handle, hd);
	}
	// The same, with the worker the test's own handles (mkh) carry in bits 24-31.
	void learn(uint64_t hd) { learn(hd, (unsigned int)(hd >> 24) & 0xff); }
};

// --- attach ------------------------------------------------------------------------------

TEST_F(Libix, AttachSucceedsAndValidates)
{
	attach_ok();
	EXPECT_TRUE(h.got_req);
	EXPECT_EQ(h.req.magic, IXDP_CTL_MAGIC);
	EXPECT_EQ(h.req.version, IXDP_CTL_VERSION);
	EXPECT_EQ(h.req.op, IXDP_CTL_APP_ATTACH);
	EXPECT_EQ(h.req.arg[0], IXDP_APP_MAGIC);
	EXPECT_EQ(h.req.arg[1], (uint32_t)IXDP_APP_VERSION);
	EXPECT_EQ(ix_nr_workers(ctx), 2u);
	EXPECT_EQ(ix_ifindex(ctx), 5u);
	EXPECT_EQ(ix_ifindex(nullptr), 0u);
	EXPECT_GE(ix_fd(ctx), 0);
	EXPECT_EQ(h.shm()->app_sleeping, 0u);
	EXPECT_EQ(ix_flush(ctx), 0);
	EXPECT_EQ(ix_poll(ctx, evs, 64, 0), 0);

	// The control connection stays open; detaching closes it: the daemon sees EOF.
	char b;
	EXPECT_EQ(recv(h.conn, &b, 1, MSG_DONTWAIT), -1);
	EXPECT_EQ(errno, EAGAIN);
	ix_detach(ctx);
	ctx = nullptr;
	struct pollfd p = { h.conn, POLLIN, 0 };
	ASSERT_EQ(poll(&p, 1, 5000), 1);
	EXPECT_EQ(recv(h.conn, &b, 1, 0), 0);
}

TEST_F(Libix, AttachEnvironmentPath)
{
	std::vector<int> ends;
	h.build(ends);
	std::thread t([&] { h.serve(Reply(), ends); });
	setenv("IXDP_CONTROL", h.path.c_str(), 1);
	int ret = ix_attach(nullptr, &ctx);
	unsetenv("IXDP_CONTROL");
	t.join();
	for (int fd : ends)
		close(fd);
	EXPECT_EQ(ret, 0);
}

TEST_F(Libix, AttachNoDaemon)
{
	auto t0 = Clock::now();
	std::string missing = h.dir + "/nobody.sock";
	EXPECT_EQ(ix_attach(missing.c_str(), &ctx), -ENOENT);
	EXPECT_EQ(ctx, nullptr);

	// A socket file nobody listens on any more.
	std::string stale = h.dir + "/stale.sock";
	struct sockaddr_un sun = {};
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", stale.c_str());
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ASSERT_EQ(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	EXPECT_EQ(ix_attach(stale.c_str(), &ctx), -ECONNREFUSED);
	unlink(stale.c_str());
	EXPECT_LT(ms_since(t0), 4000); // not the attach timeout
	EXPECT_TRUE(logged("cannot reach ixdpd"));
}

TEST_F(Libix, AttachWrongAbiVersion)
{
	Reply r;
	r.app_version = IXDP_APP_VERSION + 1;
	EXPECT_EQ(h.attach(&ctx, r), -EPROTO);
	EXPECT_EQ(ctx, nullptr);
	EXPECT_TRUE(logged("version"));
}

TEST_F(Libix, AttachWrongControlVersion)
{
	Reply r;
	r.ctl_version = IXDP_CTL_VERSION + 1;
	EXPECT_EQ(h.attach(&ctx, r), -EPROTO);
	Harness h2;
	Reply r2;
	r2.ctl_magic = 0x12345678;
	EXPECT_EQ(h2.attach(&ctx, r2), -EPROTO);
}

TEST_F(Libix, AttachRefused)
{
	Reply r;
	r.status = -EACCES;
	r.msg = "permission denied: uid 1000 is not root and not in ixdpd's app-group";
	EXPECT_EQ(h.attach(&ctx, r), -EACCES);
	EXPECT_EQ(ctx, nullptr);
	EXPECT_TRUE(logged("not in ixdpd's app-group"));

	Harness h2;
	Reply r2;
	r2.status = -EPROTO;
	r2.msg = "app ABI version 1, ixdpd speaks version 2";
	EXPECT_EQ(h2.attach(&ctx, r2), -EPROTO);
	EXPECT_TRUE(logged("ixdpd speaks version 2"));
}

TEST_F(Libix, AttachDaemonHangsUp)
{
	Reply r;
	r.close_only = true;
	EXPECT_EQ(h.attach(&ctx, r), -ECONNRESET);
	EXPECT_EQ(ctx, nullptr);
}

// Each corruption of the layout is refused, and every descriptor received is closed again.
TEST_F(Libix, AttachCorruptedLayout)
{
	using Fix = std::function<void(struct ixdp_app_shm *, uint8_t *)>;
	auto ch = [](struct ixdp_app_shm *s, uint8_t *b, unsigned int w) {
		return (struct ixdp_app_chan *)(b + s->chan_off + w * s->chan_size);
	};
	std::vector<std::pair<const char *, Fix>> cases = {
		{ "magic", [](auto *s, auto *) { s->magic ^= 1; } },
		{ "version", [](auto *s, auto *) { s->version++; } },
		{ "hdr_size", [](auto *s, auto *) { s->hdr_size = 64; } },
		{ "cmd_size", [](auto *s, auto *) { s->cmd_size = 32; } },
		{ "ev_size", [](auto *s, auto *) { s->ev_size = 128; } },
		{ "chan_hdr_size", [](auto *s, auto *) { s->chan_hdr_size = 128; } },
		{ "nr_workers", [](auto *s, auto *) { s->nr_workers = 3; } },
		{ "shm_size", [](auto *s, auto *) { s->shm_size -= 64; } },
		{ "cmd_entries", [](auto *s, auto *) { s->cmd_entries = 200; } },
		{ "ev_entries", [](auto *s, auto *) { s->ev_entries = 0; } },
		{ "chan_off", [](auto *s, auto *) { s->chan_off = s->shm_size - 64; } },
		{ "chan_size", [](auto *s, auto *) { s->chan_size = 1ull << 62; } },
		{ "tx_off",
		  [ch](auto *s, auto *b) { ch(s, b, 1)->tx_off = s->shm_size - s->tx_size + 1; } },
		{ "rx_off", [ch](auto *s, auto *b) { ch(s, b, 0)->rx_off = ~0ull - 10; } },
		{ "cmd_off", [ch](auto *s, auto *b) { ch(s, b, 1)->cmd_off = s->shm_size; } },
		{ "ev_off align", [ch](auto *s, auto *b) { ch(s, b, 0)->ev_off += 4; } },
		{ "rx_size", [](auto *s, auto *) { s->rx_size = ~0u; } },
		{ "overlap",
		  [ch](auto *s, auto *b) { ch(s, b, 1)->tx_off = ch(s, b, 1)->rx_off + 64; } },
		{ "overlap header", [ch](auto *s, auto *b) { ch(s, b, 0)->cmd_off = 0; } },
		{ "indices", [ch](auto *s, auto *b) { ch(s, b, 1)->ev_prod = 5000; } },
	};
	for (auto &c : cases) {
		SCOPED_TRACE(c.first);
		Harness hh;
		Reply r;
		std::vector<int> ends;
		r.corrupt = c.second;
		hh.build(ends);
		std::vector<int> peers = { hh.app_peer };
		peers.insert(peers.end(), hh.worker_peer.begin(), hh.worker_peer.end());
		std::thread t([&] { hh.serve(r, ends); });
		EXPECT_EQ(ix_attach(hh.path.c_str(), &ctx), -EPROTO);
		t.join();
		EXPECT_EQ(ctx, nullptr);
		for (int fd : ends)
			close(fd);
		// libix closed its copies: our datagram peers cannot reach them any more
		for (int fd : peers) {
			char b = 0;
			EXPECT_EQ(send(fd, &b, 1, MSG_DONTWAIT | MSG_NOSIGNAL), -1);
		}
		char b;
		struct pollfd p = { hh.conn, POLLIN, 0 };
		ASSERT_EQ(poll(&p, 1, 5000), 1);
		EXPECT_EQ(recv(hh.conn, &b, 1, 0), 0);
	}
	EXPECT_TRUE(logged("inconsistent"));
}

TEST_F(Libix, AttachMissingDescriptors)
{
	Reply r;
	r.drop_fds = 1;
	EXPECT_EQ(h.attach(&ctx, r), -EPROTO);
	EXPECT_EQ(ctx, nullptr);
}

TEST_F(Libix, DaemonGoneGivesConnReset)
{
	attach_ok();
	uint64_t hd = mkh(1, 0, 1);
	learn(hd);
	learn(hd);
	EXPECT_GT(ix_accept(ctx, hd, 9), 0);
	close(h.conn);
	h.conn = -1;
	auto t0 = Clock::now();
	EXPECT_EQ(ix_poll(ctx, evs, 64, 10000), -ECONNRESET);
	EXPECT_LT(ms_since(t0), 5000);
	EXPECT_EQ(ix_poll(ctx, evs, 64, 0), -ECONNRESET);
	EXPECT_EQ(ix_accept(ctx, hd, 9), -ECONNRESET);
	EXPECT_EQ(ix_send(ctx, hd, "x", 1), -ECONNRESET);
	EXPECT_EQ(ix_flush(ctx), -ECONNRESET);
	EXPECT_EQ(ix_listen(ctx, nullptr, 80, 0), -ECONNRESET);
	EXPECT_EQ(ix_tx_alloc(ctx, hd, 10), nullptr);
	EXPECT_EQ(errno, ECONNRESET);
	EXPECT_TRUE(logged("closed the control connection"));
}

TEST_F(Libix, DaemonGoneNoticedByNonBlockingPoll)
{
	attach_ok();
	close(h.conn);
	h.conn = -1;
	int ret = 0;
	auto t0 = Clock::now();
	while (ret == 0 && ms_since(t0) < 5000)
		ret = ix_poll(ctx, evs, 64, 0);
	EXPECT_EQ(ret, -ECONNRESET);
}

// ix_end(): the daemon sees EOF while libix keeps reading; what it writes before closing its
// side comes out of ix_poll(), then -ECONNRESET, and nothing is logged as an error.
TEST_F(Libix, EndReadsTheRingsToTheDaemonsEof)
{
	attach_ok();
	char b;
	EXPECT_EQ(ix_end(ctx), 0);
	EXPECT_EQ(ix_end(ctx), 0); // once is enough
	EXPECT_EQ(recv(h.conn, &b, 1, 0), 0); // the daemon's side reads EOF
	EXPECT_EQ(ix_poll(ctx, evs, 64, 50), 0); // not ended until the daemon says so

	uint64_t hd = mkh(6, 1, 3);
	ASSERT_TRUE(h.put(1, ev_of(IXDP_APP_EV_MOVED, hd, 0xbeef)));
	close(h.conn); // written before the EOF: still delivered
	h.conn = -1;
	auto t0 = Clock::now();
	ASSERT_EQ(ix_poll(ctx, evs, 64, 5000), 1);
	EXPECT_EQ(evs[0].type, IX_EV_MOVED);
	EXPECT_EQ(evs[0].handle, hd);
	EXPECT_EQ(ix_poll(ctx, evs, 64, 5000), -ECONNRESET);
	EXPECT_LT(ms_since(t0), 5000);
	EXPECT_EQ(ix_poll(ctx, evs, 64, 0), -ECONNRESET);
	EXPECT_EQ(ix_end(ctx), 0);
	EXPECT_FALSE(logged("closed the control connection"));
	EXPECT_EQ(ix_end(nullptr), -EINVAL);
}

// Written after the poll that found the rings empty, before the EOF that poll then sees: the
// EOF is no reason to leave them unread.
TEST_F(Libix, EndDrainsWhatCameBeforeAnEofSeenByANonBlockingPoll)
{
	attach_ok();
	ASSERT_EQ(ix_end(ctx), 0);
	uint64_t hd = mkh(6, 0, 4);
	ASSERT_TRUE(h.put(0, ev_of(IXDP_APP_EV_MOVED, hd, 0xcafe)));
	close(h.conn);
	h.conn = -1;
	int ret = 0, got = 0;
	auto t0 = Clock::now();
	while (ret >= 0 && ms_since(t0) < 5000) {
		ret = ix_poll(ctx, evs, 64, 0);
		got += ret > 0 ? ret : 0;
	}
	EXPECT_EQ(got, 1);
	EXPECT_EQ(ret, -ECONNRESET);
}

TEST_F(Libix, EndAfterTheDaemonWentIsConnReset)
{
	attach_ok();
	close(h.conn);
	h.conn = -1;
	EXPECT_EQ(ix_poll(ctx, evs, 64, 5000), -ECONNRESET);
	EXPECT_EQ(ix_end(ctx), -ECONNRESET);
}

// --- commands ----------------------------------------------------------------------------

TEST_F(Libix, CommandsLandOnTheHandlesWorkerAndWaitForFlush)
{
	attach_ok();
	uint64_t h1 = mkh(3, 1, 77), h0 = mkh(9, 0, 5), h2 = mkh(9, 0, 6);
	learn(h1);
	learn(h0);
	learn(h2);
	long s1 = ix_accept(ctx, h1, 0xc00c1e);
	long s2 = ix_recv_done(ctx, h1, 1500);
	long s3 = ix_shutdown(ctx, h1);
	long s4 = ix_close(ctx, h1, 1);
	long s5 = ix_reject(ctx, h0);
	long s6 = ix_close(ctx, h2, 0);
	for (long s : { s1, s2, s3, s4, s5, s6 })
		EXPECT_GT(s, 0);
	EXPECT_LT(s1, s2);
	EXPECT_LT(s5, s6);

	// Nothing visible before a flush.
	EXPECT_EQ(h.published(0), 0u);
	EXPECT_EQ(h.published(1), 0u);
	EXPECT_EQ(ix_flush(ctx), 0);
	auto c1 = h.take(1);
	auto c0 = h.take(0);
	ASSERT_EQ(c1.size(), 4u);
	ASSERT_EQ(c0.size(), 2u);

	EXPECT_EQ(c1[0].op, IXDP_APP_ACCEPT);
	EXPECT_EQ(c1[0].handle, h1);
	EXPECT_EQ(c1[0].cookie, 0xc00c1eu);
	EXPECT_EQ(c1[0].seq, (uint32_t)s1);
	EXPECT_EQ(c1[1].op, IXDP_APP_RECV_DONE);
	EXPECT_EQ(c1[1].len, 1500u);
	EXPECT_EQ(c1[1].seq, (uint32_t)s2);
	EXPECT_EQ(c1[2].op, IXDP_APP_SHUTDOWN);
	EXPECT_EQ(c1[3].op, IXDP_APP_CLOSE);
	EXPECT_EQ(c1[3].flags, IXDP_APP_CLOSE_RESET);
	EXPECT_EQ(c0[0].op, IXDP_APP_REJECT);
	EXPECT_EQ(c0[0].handle, h0);
	EXPECT_EQ(c0[1].op, IXDP_APP_CLOSE);
	EXPECT_EQ(c0[1].handle, h2);
	EXPECT_EQ(c0[1].flags, 0);
	// Closed and rejected handles are forgotten: no command reaches a ring for them.
	EXPECT_EQ(ix_send(ctx, h1, "x", 1), -EBADF);
	EXPECT_EQ(ix_accept(ctx, h0, 1), -EBADF);
	EXPECT_EQ(ix_close(ctx, h2, 0), -EBADF);
	for (auto &c : c1) { // the poisoned slot was cleared
		EXPECT_EQ(c.pad, 0);
		for (uint8_t b : c.reserved)
			EXPECT_EQ(b, 0);
	}

	// ix_poll publishes too.
	learn(h0);
	EXPECT_GT(ix_accept(ctx, h0, 1), 0);
	EXPECT_EQ(h.published(0), 2u);
	EXPECT_EQ(ix_poll(ctx, evs, 64, 0), 0);
	EXPECT_EQ(h.published(0), 3u);
}

// A MOVED for a handle the context holds: its connection changed worker (migration).  libix
// takes the event itself and sends the handle's later commands to the new worker's ring.
TEST_F(Libix, MovedForAHeldHandleRepointsIt)
{
	attach_ok();
	uint64_t hd = mkh(4, 0, 9), other = mkh(4, 0, 10);
	learn(hd, 0);
	learn(other, 0);
	struct ixdp_app_ev e = ev_of(IXDP_APP_EV_MOVED, hd, 0x5eed);
	ASSERT_TRUE(h.put(1, e));
	EXPECT_EQ(ix_poll(ctx, evs, 64, 200), 0); // the app sees nothing
	EXPECT_EQ(h.ev_cons(1), 1u);		   // ... but libix took it
	EXPECT_GT(ix_recv_done(ctx, hd, 10), 0);
	EXPECT_GT(ix_close(ctx, other, 0), 0);
	EXPECT_EQ(ix_flush(ctx), 0);
	auto c0 = h.take(0);
	auto c1 = h.take(1);
	ASSERT_EQ(c1.size(), 1u);
	EXPECT_EQ(c1[0].op, IXDP_APP_RECV_DONE);
	EXPECT_EQ(c1[0].handle, hd);
	ASSERT_EQ(c0.size(), 1u); // the other connection stayed on worker 0
	EXPECT_EQ(c0[0].handle, other);

	// A MOVED for a handle it does not hold is a connection handed over: the app sees it.
	uint64_t fresh = mkh(5, 0, 11);
	ASSERT_TRUE(h.put(0, ev_of(IXDP_APP_EV_MOVED, fresh, 0xfeed)));
	ASSERT_EQ(ix_poll(ctx, evs, 64, 1000), 1);
	EXPECT_EQ(evs[0].type, IX_EV_MOVED);
	EXPECT_EQ(evs[0].handle, fresh);
	EXPECT_EQ(evs[0].cookie, 0xfeedu);
}

TEST_F(Libix, BadHandlesTouchNoRing)
{
	attach_ok();
	EXPECT_EQ(ix_accept(ctx, 0, 1), -EBADF);
	EXPECT_EQ(ix_accept(ctx, mkh(1, 2, 0), 1), -EBADF); // worker 2 of 2
	EXPECT_EQ(ix_send(ctx, mkh(1, 200, 3), "x", 1), -EBADF);
	EXPECT_EQ(ix_close(ctx, mkh(1, 64, 3), 0), -EBADF);
	EXPECT_EQ(ix_tx_alloc(ctx, mkh(1, 5, 3), 10), nullptr);
	EXPECT_EQ(errno, EBADF);
	// Version 2: a well-formed handle of a real worker is still nothing the context was given.
	EXPECT_EQ(ix_accept(ctx, mkh(1, 1, 1), 1), -EBADF);
	EXPECT_EQ(ix_move(ctx, mkh(1, 0, 1), ctx, 1), -EINVAL);
	EXPECT_EQ(ix_move(ctx, mkh(1, 0, 1), nullptr, 1), -EINVAL);
	EXPECT_EQ(ix_recv_done(ctx, mkh(1, 0, 1), 0), -EINVAL);
	EXPECT_EQ(ix_flush(ctx), 0);
	EXPECT_EQ(h.published(0), 0u);
	EXPECT_EQ(h.published(1), 0u);
}

TEST_F(Libix, ConnectRoundRobinAndAddresses)
{
	attach_ok();
	struct ix_addr a = {};
	a.family = AF_INET;
	a.port = 8080;
	inet_pton(AF_INET, "10.1.2.3", &a.v4);
	struct ix_addr b = {};
	b.family = AF_INET6;
	b.port = 443;
	inet_pton(AF_INET6, "2001:db8::1", &b.v6);
	EXPECT_GT(ix_connect(ctx, &a, 11), 0);
	EXPECT_GT(ix_connect(ctx, &b, 12), 0);
	struct ix_addr bad = a;
	bad.family = AF_UNIX;
	EXPECT_EQ(ix_connect(ctx, &bad, 1), -EINVAL);
	bad = a;
	bad.port = 0;
	EXPECT_EQ(ix_connect(ctx, &bad, 1), -EINVAL);
	ix_flush(ctx);
	auto c0 = h.take(0), c1 = h.take(1);
	ASSERT_EQ(c0.size(), 1u);
	ASSERT_EQ(c1.size(), 1u);
	EXPECT_EQ(c0[0].op, IXDP_APP_CONNECT);
	EXPECT_EQ(c0[0].family, IXDP_FAMILY_INET);
	EXPECT_EQ(c0[0].port, 8080);
	EXPECT_EQ(c0[0].cookie, 11u);
	EXPECT_EQ(memcmp(&c0[0].addr[0], &a.v4, 4), 0);
	EXPECT_EQ(c0[0].addr[1] | c0[0].addr[2] | c0[0].addr[3], 0u);
	EXPECT_EQ(c1[0].family, IXDP_FAMILY_INET6);
	EXPECT_EQ(memcmp(c1[0].addr, &b.v6, 16), 0);

	// CONNECTED comes back with the remote address and the local address and port.
	struct ixdp_app_ev e = ev_of(IXDP_APP_EV_CONNECTED, mkh(1, 1, 4), 12);
	struct in6_addr mine;
	inet_pton(AF_INET6, "2001:db8::1", &mine);
	e.family = IXDP_FAMILY_INET6;
	memcpy(e.addr, &b.v6, 16);
	memcpy(e.laddr, &mine, 16);
	e.port = 443;
	e.lport = 40123;
	h.put(1, e);
	ASSERT_EQ(ix_poll(ctx, evs, 64, 1000), 1);
	EXPECT_EQ(evs[0].type, IX_EV_CONNECTED);
	EXPECT_EQ(evs[0].handle, mkh(1, 1, 4));
	EXPECT_EQ(evs[0].cookie, 12u);
	EXPECT_EQ(evs[0].remote.family, AF_INET6);
	EXPECT_EQ(evs[0].remote.port, 443);
	EXPECT_EQ(evs[0].lport, 40123);
	EXPECT_EQ(memcmp(&evs[0].remote.v6, &b.v6, 16), 0);
	EXPECT_EQ(evs[0].local.family, AF_INET6);
	EXPECT_EQ(evs[0].local.port, 40123);
	EXPECT_EQ(memcmp(&evs[0].local.v6, &mine, 16), 0);

	// A KNOCK names the address the peer reached (a wildcard listener's connection too).
	e = ev_knock(mkh(1, 0, 5), 0, "198.51.100.7", 5555, 80);
	inet_pton(AF_INET, "198.18.0.1", &e.laddr[0]);
	h.put(0, e);
	ASSERT_EQ(ix_poll(ctx, evs, 64, 1000), 1);
	EXPECT_EQ(evs[0].type, IX_EV_KNOCK);
	EXPECT_EQ(evs[0].local.family, AF_INET);
	EXPECT_EQ(evs[0].local.port, 80);
	EXPECT_EQ(evs[0].local.v4.s_addr, inet_addr("198.18.0.1"));
	EXPECT_EQ(evs[0].remote.v4.s_addr, inet_addr("198.51.100.7"));
}

// A full ring is published and waited on; events that arrive meanwhile are kept, in order.
TEST_F(Libix, RingFullWaitsAndBuffersEvents)
{
	attach_ok();
	uint64_t hd = mkh(1, 0, 1);
	learn(hd);
	for (uint32_t i = 0; i < 10; i++)
		h.put(0, ev_of(IXDP_APP_EV_SENT, hd, 5, 0, 100 + i));
	for (uint32_t i = 0; i < h.cmd_entries; i++)
		ASSERT_GT(ix_recv_done(ctx, hd, i + 1), 0);
	EXPECT_EQ(h.published(0), 0u); // not yet: the ring is full, the next command publishes

	std::atomic<bool> ok{ false };
	std::thread worker([&] {
		auto t0 = Clock::now();
		// The worker takes nothing until its events are consumed (event ring "full").
		while (ms_since(t0) < 5000 &&
		       (h.published(0) != h.cmd_entries || h.ev_cons(0) != 11))
			std::this_thread::sleep_for(std::chrono::microseconds(100));
		ok = h.published(0) == h.cmd_entries && h.ev_cons(0) == 11; // + learn()'s KNOCK
		h.take(0);
	});
	long seq = ix_recv_done(ctx, hd, 999);
	worker.join();
	EXPECT_TRUE(ok);
	EXPECT_GT(seq, 0);
	ix_flush(ctx);
	auto c = h.take(0);
	ASSERT_EQ(c.size(), 1u);
	EXPECT_EQ(c[0].len, 999u);
	// The kept events come first, in order.
	ASSERT_EQ(ix_poll(ctx, evs, 64, 0), 10);
	for (int i = 0; i < 10; i++) {
		EXPECT_EQ(evs[i].type, IX_EV_SENT);
		EXPECT_EQ(evs[i].len, 100u + i);
	}
	EXPECT_EQ(ix_poll(ctx, evs, 64, 0), 0);
}

TEST_F(Libix, RingFullGivesUpAfterABound)
{
	attach_ok();
	uint64_t hd = mkh(1, 1, 1);
	learn(hd);
	for (uint32_t i = 0; i < h.cmd_entries; i++)
		ASSERT_GT(ix_shutdown(ctx, hd), 0);
	__atomic_store_n(&h.chan(1)->worker_sleeping, 1, __ATOMIC_RELAXED);
	auto t0 = Clock::now();
	EXPECT_EQ(ix_shutdown(ctx, hd), -EAGAIN);
	EXPECT_GE(ms_since(t0), 900);
	EXPECT_EQ(h.published(1), h.cmd_entries);
	EXPECT_TRUE(h.woken(1, 0)); // the sleeping worker was woken
	EXPECT_TRUE(logged("took no command"));
	// Room again: the next command goes in.
	h.take(1);
	EXPECT_GT(ix_shutdown(ctx, hd), 0);
}

// --- events ------------------------------------------------------------------------------

TEST_F(Libix, RecvPointsIntoTheRxArea)
{
	attach_ok();
	uint64_t hd = mkh(2, 1, 9);
	learn(hd);
	memcpy(h.rx(1) + 4096, "hello, world", 12);
	h.put(1, ev_of(IXDP_APP_EV_RECV, hd, 0xabc, 4096, 12));
	h.put(1, ev_of(IXDP_APP_EV_RECV, hd, 0xabc, 0, 0)); // FIN
	h.put(1, ev_of(IXDP_APP_EV_RECV, hd, 0xabc, h.rx_size - 4, 8)); // out of the area
	ASSERT_EQ(ix_poll(ctx, evs, 64, 1000), 3);
	EXPECT_EQ(evs[0].type, IX_EV_RECV);
	EXPECT_EQ(evs[0].handle, hd);
	EXPECT_EQ(evs[0].cookie, 0xabcu);
	EXPECT_EQ(h.app_rx_off(evs[0].data, 1), 4096);
	EXPECT_EQ(evs[0].len, 12u);
	EXPECT_EQ(memcmp(evs[0].data, "hello, world", 12), 0);
	EXPECT_EQ(evs[1].type, IX_EV_RECV);
	EXPECT_EQ(evs[1].len, 0u);
	EXPECT_EQ(evs[2].type, IX_EV_DEAD); // refused, reported as the connection's end
	EXPECT_EQ(evs[2].err, -EPROTO);
	EXPECT_EQ(h.ev_cons(1), 4u); // learn()'s KNOCK and these

	EXPECT_GT(ix_recv_done(ctx, hd, 12), 0);
	ix_flush(ctx);
	auto c = h.take(1);
	ASSERT_EQ(c.size(), 1u);
	EXPECT_EQ(c[0].op, IXDP_APP_RECV_DONE);
	EXPECT_EQ(c[0].handle, hd);
	EXPECT_EQ(c[0].len, 12u);
}

TEST_F(Libix, PollReturnsAtMostMaxAndKeepsOrder)
{
	attach_ok();
	for (uint32_t i = 0; i < 100; i++)
		h.put(i % 2, ev_of(IXDP_APP_EV_SENT, mkh(1, i % 2, 1), i, 0, i));
	std::vector<uint32_t> seen[2];
	int total = 0;
	while (total < 100) {
		int n = ix_poll(ctx, evs, 7, 1000);
		ASSERT_GT(n, 0);
		ASSERT_LE(n, 7);
		for (int i = 0; i < n; i++)
			seen[(evs[i].handle >> 24) & 0xff].push_back((uint32_t)evs[i].len);
		total += n;
	}
	for (unsigned int w = 0; w < 2; w++) {
		ASSERT_EQ(seen[w].size(), 50u);
		for (uint32_t i = 0; i < 50; i++)
			EXPECT_EQ(seen[w][i], 2 * i + w);
	}
	EXPECT_EQ(ix_poll(ctx, evs, 64, 0), 0);
	EXPECT_EQ(ix_poll(ctx, nullptr, 64, 0), -EINVAL);
	EXPECT_EQ(ix_poll(ctx, evs, 0, 0), -EINVAL);
}

TEST_F(Libix, PollTimeoutIsHonoured)
{
	attach_ok();
	auto t0 = Clock::now();
	EXPECT_EQ(ix_poll(ctx, evs, 64, 0), 0);
	t0 = Clock::now();
	EXPECT_EQ(ix_poll(ctx, evs, 64, 60), 0);
	long ms = ms_since(t0);
	EXPECT_GE(ms, 59);
	EXPECT_LT(ms, 5000);
}

// $IXDP_SPIN_US sets how long a wait spins: a bad value fails the attach before any daemon is
// asked, 0 sleeps at once, a long spin burns the CPU for the whole wait.
static long thread_cpu_ms()
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

TEST_F(Libix, SpinSettingRejectsBadValues)
{
	std::string missing = h.dir + "/nobody.sock";
	for (const char *bad : { "", "x", "12us", "-1", "+5", " 5", "1000001", "99999999999999999999" }) {
		setenv("IXDP_SPIN_US", bad, 1);
		EXPECT_EQ(ix_attach(missing.c_str(), &ctx), -EINVAL) << "IXDP_SPIN_US='" << bad << "'";
		EXPECT_EQ(ctx, nullptr);
	}
	unsetenv("IXDP_SPIN_US");
	EXPECT_TRUE(logged("IXDP_SPIN_US"));
}

// One attach per test: the harness maps each context's memory once.
TEST_F(Libix, SpinSettingLongSpinsTheWholeWait)
{
	setenv("IXDP_SPIN_US", "1000000", 1);
	attach_ok();
	unsetenv("IXDP_SPIN_US");
	long cpu0 = thread_cpu_ms();
	EXPECT_EQ(ix_poll(ctx, evs, 64, 100), 0);
	long spun = thread_cpu_ms() - cpu0;
	EXPECT_GE(spun, 50) << "a 100 ms wait with a 1 s spin used " << spun << " ms of CPU";
}

TEST_F(Libix, SpinSettingZeroSleepsAtOnce)
{
	setenv("IXDP_SPIN_US", "0", 1);
	attach_ok();
	unsetenv("IXDP_SPIN_US");
	long cpu0 = thread_cpu_ms();
	EXPECT_EQ(ix_poll(ctx, evs, 64, 100), 0);
	long slept = thread_cpu_ms() - cpu0;
	EXPECT_LE(slept, 20) << "a 100 ms wait with no spin used " << slept << " ms of CPU";
}

// --- send area ---------------------------------------------------------------------------

TEST_F(Libix, TxAllocSendsInPlace)
{
	attach_ok();
	uint64_t hd = mkh(1, 1, 2);
	learn(hd);
	uint8_t *p = (uint8_t *)ix_tx_alloc(ctx, hd, 1000);
	ASSERT_NE(p, nullptr);
	int64_t off = h.app_tx_off(p, 1);
	ASSERT_GE(off, 0);
	ASSERT_LE(off + 1000, (int64_t)h.tx_size);
	for (int i = 0; i < 1000; i++)
		p[i] = (uint8_t)(i * 7);
	long seq = ix_send(ctx, hd, p, 1000);
	ASSERT_GT(seq, 0);
	ix_flush(ctx);
	auto c = h.take(1);
	ASSERT_EQ(c.size(), 1u);
	EXPECT_EQ(c[0].op, IXDP_APP_SEND);
	EXPECT_EQ(c[0].handle, hd);
	EXPECT_EQ(c[0].seq, (uint32_t)seq);
	EXPECT_EQ(c[0].off, (uint64_t)off);
	EXPECT_EQ(c[0].len, 1000u);
	EXPECT_EQ(h.tx(1)[off + 999], (uint8_t)(999 * 7));

	// Copying: the bytes land after the first ones, which are still in flight.
	char msg[300];
	for (int i = 0; i < 300; i++)
		msg[i] = (char)(i ^ 0x5a);
	long seq2 = ix_send(ctx, hd, msg, sizeof(msg));
	ASSERT_GT(seq2, 0);
	ix_flush(ctx);
	c = h.take(1);
	ASSERT_EQ(c.size(), 1u);
	EXPECT_GE(c[0].off, 1000u);
	EXPECT_EQ(memcmp(h.tx(1) + c[0].off, msg, sizeof(msg)), 0);

	// A sub-range of a reservation is sent in place too.
	uint8_t *q = (uint8_t *)ix_tx_alloc(ctx, hd, 500);
	ASSERT_NE(q, nullptr);
	long seq3 = ix_send(ctx, hd, q + 10, 100);
	ASSERT_GT(seq3, 0);
	ix_flush(ctx);
	c = h.take(1);
	ASSERT_EQ(c.size(), 1u);
	EXPECT_EQ(c[0].off, (uint64_t)h.app_tx_off(q + 10, 1));
	EXPECT_EQ(c[0].len, 100u);

	EXPECT_EQ(ix_tx_alloc(ctx, hd, h.tx_size / 2 + 1), nullptr);
	EXPECT_EQ(errno, EINVAL);
	EXPECT_EQ(ix_tx_alloc(ctx, hd, 0), nullptr);
	EXPECT_EQ(ix_send(ctx, hd, msg, 0), -EINVAL);
}

// ix_send_flags() puts RESUME on the SEND; a CLOSE the daemon refuses (behind a short SEND)
// gives the handle back, so the rest can be sent and the CLOSE sent again.
TEST_F(Libix, ResumeFlagAndARefusedCloseKeepsTheHandle)
{
	attach_ok();
	uint64_t hd = mkh(1, 0, 9);
	learn(hd);
	EXPECT_EQ(ix_send_flags(ctx, hd, "ab", 2, 0x2), -EINVAL);
	long seq = ix_send_flags(ctx, hd, "ab", 2, IX_SEND_RESUME);
	ASSERT_GT(seq, 0);
	long cl = ix_close(ctx, hd, 0);
	ASSERT_GT(cl, 0);
	ix_flush(ctx);
	auto c = h.take(0);
	ASSERT_EQ(c.size(), 2u);
	EXPECT_EQ(c[0].flags, IXDP_APP_SEND_RESUME);
	EXPECT_EQ(ix_send(ctx, hd, "c", 1), -EBADF); // closed, as far as libix knows
	struct ix_event evs[4];
	h.put(0, ev_result(IXDP_APP_SEND, (uint32_t)seq, hd, 0, 1));
	h.put(0, ev_result(IXDP_APP_CLOSE, (uint32_t)cl, hd, -EAGAIN));
	ASSERT_EQ(ix_poll(ctx, evs, 4, 1000), 2);
	EXPECT_EQ(evs[1].op, IX_OP_CLOSE);
	EXPECT_EQ(evs[1].err, -EAGAIN);
	EXPECT_GT(ix_send_flags(ctx, hd, "b", 1, IX_SEND_RESUME), 0); // the app's again
	EXPECT_GT(ix_close(ctx, hd, 0), 0);
	ix_flush(ctx);
	c = h.take(0);
	ASSERT_EQ(c.size(), 2u);
	EXPECT_EQ(c[0].op, IXDP_APP_SEND);
	EXPECT_EQ(c[1].op, IXDP_APP_CLOSE);
}

// One outstanding reservation per worker: the next one replaces it; copies do not.
TEST_F(Libix, TxReservationRule)
{
	attach_ok();
	uint64_t hd = mkh(1, 0, 2), other = mkh(4, 0, 3);
	learn(hd);
	learn(other);
	uint8_t *p1 = (uint8_t *)ix_tx_alloc(ctx, hd, 1000);
	uint8_t *p2 = (uint8_t *)ix_tx_alloc(ctx, other, 2000);
	ASSERT_NE(p1, nullptr);
	EXPECT_EQ(p2, p1); // the unsent one was given back
	// A copying send while the reservation is outstanding goes after it.
	long s1 = ix_send(ctx, hd, "abc", 3);
	ASSERT_GT(s1, 0);
	long s2 = ix_send(ctx, other, p2, 2000);
	ASSERT_GT(s2, 0);
	ix_flush(ctx);
	auto c = h.take(0);
	ASSERT_EQ(c.size(), 2u);
	EXPECT_EQ(c[0].off, (uint64_t)h.app_tx_off(p2, 0) + 2000);
	EXPECT_EQ(c[1].off, (uint64_t)h.app_tx_off(p2, 0));
	EXPECT_EQ(c[1].handle, other);
	// Sending the reservation ended it: the same pointer is copied now.
	long s3 = ix_send(ctx, hd, p2, 10);
	ASSERT_GT(s3, 0);
	ix_flush(ctx);
	c = h.take(0);
	ASSERT_EQ(c.size(), 1u);
	EXPECT_NE(c[0].off, (uint64_t)h.app_tx_off(p2, 0));
}

// Spans are freed strictly in order, as RESULTs come; a full area says -EAGAIN.
TEST_F(Libix, TxAreaFreedInOrder)
{
	attach_ok();
	uint64_t hd = mkh(1, 1, 2);
	learn(hd);
	const size_t q = h.tx_size / 4;
	std::vector<char> buf(h.tx_size, 'x');
	long seq[4];
	for (int i = 0; i < 4; i++) {
		buf[0] = (char)('A' + i);
		seq[i] = ix_send(ctx, hd, buf.data(), q);
		ASSERT_GT(seq[i], 0);
	}
	EXPECT_EQ(ix_send(ctx, hd, buf.data(), 1), -EAGAIN);
	EXPECT_EQ(ix_tx_alloc(ctx, hd, 1), nullptr);
	EXPECT_EQ(errno, EAGAIN);
	ix_flush(ctx);
	auto c = h.take(1);
	ASSERT_EQ(c.size(), 4u);
	for (int i = 0; i < 4; i++) {
		EXPECT_EQ(c[i].off, i * q);
		EXPECT_EQ(h.tx(1)[c[i].off], 'A' + i);
	}

	// B's result before A's (out of order): nothing is free yet.
	h.put(1, ev_result(IXDP_APP_SEND, (uint32_t)seq[1], hd, 0, (uint32_t)q));
	EXPECT_EQ(ix_send(ctx, hd, buf.data(), 1), -EAGAIN);
	// A's result: A and B are free.  ix_send takes the published results itself.
	h.put(1, ev_result(IXDP_APP_SEND, (uint32_t)seq[0], hd, 0, 100));
	long s5 = ix_send(ctx, hd, buf.data(), 2 * q);
	ASSERT_GT(s5, 0);
	ix_flush(ctx);
	c = h.take(1);
	ASSERT_EQ(c.size(), 1u);
	EXPECT_EQ(c[0].off, 0u);
	EXPECT_EQ(c[0].len, 2 * q);
	// The results still reach the app.
	ASSERT_EQ(ix_poll(ctx, evs, 64, 0), 2);
	EXPECT_EQ(evs[0].type, IX_EV_RESULT);
	EXPECT_EQ(evs[0].op, IX_OP_SEND);
	EXPECT_EQ(evs[0].seq, (uint32_t)seq[1]);
	EXPECT_EQ(evs[1].seq, (uint32_t)seq[0]);
	EXPECT_EQ(evs[1].len, 100u);

	// Copies larger than half the area are cut to half: the RESULT tells what was taken.
	for (long s : { seq[2], seq[3], s5 })
		h.put(1, ev_result(IXDP_APP_SEND, (uint32_t)s, hd, 0, 1));
	EXPECT_EQ(ix_poll(ctx, evs, 64, 1000), 3);
	long s6 = ix_send(ctx, hd, buf.data(), h.tx_size);
	ASSERT_GT(s6, 0);
	ix_flush(ctx);
	c = h.take(1);
	ASSERT_EQ(c.size(), 1u);
	EXPECT_EQ(c[0].len, h.tx_size / 2);
}

// A reservation wraps to the start of the area rather than split.
TEST_F(Libix, TxAllocWraps)
{
	attach_ok();
	uint64_t hd = mkh(1, 0, 2);
	learn(hd);
	const size_t big = h.tx_size / 2 - 100;
	long a = ix_send(ctx, hd, std::string(big, 'a').data(), big);
	long b = ix_send(ctx, hd, std::string(big, 'b').data(), big);
	ASSERT_GT(a, 0);
	ASSERT_GT(b, 0);
	h.put(0, ev_result(IXDP_APP_SEND, (uint32_t)a, hd, 0, (uint32_t)big));
	ASSERT_EQ(ix_poll(ctx, evs, 64, 1000), 1);
	uint8_t *p = (uint8_t *)ix_tx_alloc(ctx, hd, 1000); // 200 bytes left at the end
	ASSERT_NE(p, nullptr);
	EXPECT_EQ(h.app_tx_off(p, 0), 0);
}

// --- listen ------------------------------------------------------------------------------

// A thread that answers LISTEN/UNLISTEN like workers do, with @err_of(worker, op).
struct Workers {
	Harness &h;
	std::function<int(unsigned int, uint16_t)> err_of;
	std::vector<struct ixdp_app_cmd> seen[2];
	std::function<void(unsigned int)> before_answer;
	std::atomic<bool> stop{ false };
	std::thread t;

	Workers(Harness &hh, std::function<int(unsigned int, uint16_t)> f,
		std::function<void(unsigned int)> before = nullptr)
		: h(hh), err_of(f), before_answer(before)
	{
		t = std::thread([this] {
			while (!stop) {
				for (unsigned int w = 0; w < h.nr; w++) {
					for (auto &c : h.take(w)) {
						seen[w].push_back(c);
						if (c.op != IXDP_APP_LISTEN &&
						    c.op != IXDP_APP_UNLISTEN)
							continue;
						if (before_answer)
							before_answer(w);
						h.put(w,
						      ev_result(c.op, c.seq, 0, err_of(w, c.op)));
					}
				}
				std::this_thread::sleep_for(std::chrono::microseconds(200));
			}
		});
	}
	void finish()
	{
		if (t.joinable()) {
			stop = true;
			t.join();
		}
	}
	~Workers() { finish(); }
};

TEST_F(Libix, ListenWaitsForEveryWorkerAndKeepsOtherEvents)
{
	attach_ok();
	std::vector<struct ixdp_app_cmd> seen[2];
	{
		// A connection arrives on worker 1 before its answer.
		Workers w(h, [](unsigned int, uint16_t) { return 0; },
			  [&](unsigned int wk) {
				  if (wk == 1)
					  h.put(1, ev_knock(mkh(1, 1, 7), 55, "192.0.2.9", 40000, 80));
			  });
		EXPECT_EQ(ix_listen(ctx, nullptr, 80, 55), 0);
		w.finish();
		seen[0] = w.seen[0];
		seen[1] = w.seen[1];
	}
	for (unsigned int wk = 0; wk < 2; wk++) {
		ASSERT_EQ(seen[wk].size(), 1u);
		EXPECT_EQ(seen[wk][0].op, IXDP_APP_LISTEN);
		EXPECT_EQ(seen[wk][0].family, 0); // any address, both families
		EXPECT_EQ(seen[wk][0].addr[0] | seen[wk][0].addr[1] | seen[wk][0].addr[2] |
				  seen[wk][0].addr[3],
			  0u);
		EXPECT_EQ(seen[wk][0].port, 80);
		EXPECT_EQ(seen[wk][0].cookie, 55u);
	}
	// The KNOCK was kept, and made ix_fd() readable; the RESULTs were not handed out.
	struct pollfd p = { ix_fd(ctx), POLLIN, 0 };
	EXPECT_EQ(poll(&p, 1, 0), 1);
	ASSERT_EQ(ix_poll(ctx, evs, 64, 0), 1);
	EXPECT_EQ(evs[0].type, IX_EV_KNOCK);
	EXPECT_EQ(evs[0].cookie, 55u);
	EXPECT_EQ(evs[0].lport, 80);
	EXPECT_EQ(evs[0].remote.family, AF_INET);
	EXPECT_EQ(evs[0].remote.port, 40000);
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &evs[0].remote.v4, ip, sizeof(ip));
	EXPECT_STREQ(ip, "192.0.2.9");
	EXPECT_EQ(ix_poll(ctx, evs, 64, 0), 0);
}

TEST_F(Libix, ListenExplicitAddress)
{
	attach_ok();
	Workers w(h, [](unsigned int, uint16_t) { return 0; });
	struct ix_addr a = {};
	a.family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::5", &a.v6);
	EXPECT_EQ(ix_listen(ctx, &a, 8443, 1), 0);
	a.family = 99;
	EXPECT_EQ(ix_listen(ctx, &a, 8443, 1), -EINVAL);
	EXPECT_EQ(ix_listen(ctx, nullptr, 0, 1), -EINVAL);
	w.finish();
	for (unsigned int wk = 0; wk < 2; wk++) {
		ASSERT_EQ(w.seen[wk].size(), 1u);
		EXPECT_EQ(w.seen[wk][0].family, IXDP_FAMILY_INET6);
		EXPECT_EQ(memcmp(w.seen[wk][0].addr, &a.v6, 16), 0);
	}
}

TEST_F(Libix, ListenPartialFailureIsUndone)
{
	attach_ok();
	Workers w(h, [](unsigned int wk, uint16_t op) {
		return op == IXDP_APP_LISTEN && wk == 1 ? -EADDRINUSE : 0;
	});
	EXPECT_EQ(ix_listen(ctx, nullptr, 8080, 3), -EADDRINUSE);
	w.finish();
	ASSERT_EQ(w.seen[0].size(), 2u);
	EXPECT_EQ(w.seen[0][0].op, IXDP_APP_LISTEN);
	EXPECT_EQ(w.seen[0][1].op, IXDP_APP_UNLISTEN);
	EXPECT_EQ(w.seen[0][1].port, 8080);
	EXPECT_EQ(w.seen[0][1].family, 0);
	ASSERT_EQ(w.seen[1].size(), 1u); // the worker that failed is left alone
	EXPECT_EQ(ix_poll(ctx, evs, 64, 0), 0);
	EXPECT_TRUE(logged("failed on worker 1"));
}

TEST_F(Libix, UnlistenReportsFirstError)
{
	attach_ok();
	Workers w(h, [](unsigned int wk, uint16_t op) { return wk == 0 ? -ENOENT : 0; });
	EXPECT_EQ(ix_unlisten(ctx, nullptr, 9000), -ENOENT);
	w.finish();
	EXPECT_EQ(w.seen[0].size(), 1u);
	EXPECT_EQ(w.seen[1].size(), 1u);
	EXPECT_EQ(w.seen[1][0].op, IXDP_APP_UNLISTEN);
}

// --- wakeups -----------------------------------------------------------------------------

TEST_F(Libix, WakesOnlySleepingWorkers)
{
	attach_ok();
	__atomic_store_n(&h.chan(0)->worker_sleeping, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&h.chan(1)->worker_sleeping, 0, __ATOMIC_RELAXED);
	learn(mkh(1, 0, 1));
	learn(mkh(1, 1, 1));
	h.woken(0, 0);
	h.woken(1, 0);
	EXPECT_GT(ix_accept(ctx, mkh(1, 0, 1), 1), 0);
	EXPECT_GT(ix_accept(ctx, mkh(1, 1, 1), 1), 0);
	EXPECT_FALSE(h.woken(0, 0)); // not before the flush
	EXPECT_EQ(ix_flush(ctx), 0);
	EXPECT_TRUE(h.woken(0, 2000));
	EXPECT_FALSE(h.woken(1, 0));
	EXPECT_EQ(ix_flush(ctx), 0); // nothing new: no wakeup
	EXPECT_FALSE(h.woken(0, 0));
}

TEST_F(Libix, SleepingAppIsWoken)
{
	attach_ok();
	std::atomic<bool> saw_sleep{ false };
	std::thread worker([&] {
		auto t0 = Clock::now();
		while (ms_since(t0) < 5000 &&
		       !__atomic_load_n(&h.shm()->app_sleeping, __ATOMIC_ACQUIRE))
			std::this_thread::sleep_for(std::chrono::microseconds(200));
		saw_sleep = __atomic_load_n(&h.shm()->app_sleeping, __ATOMIC_ACQUIRE) != 0;
		h.put(0, ev_of(IXDP_APP_EV_DEAD, mkh(1, 0, 3), 8, 0, 0, -ETIMEDOUT));
	});
	int n = ix_poll(ctx, evs, 64, 10000);
	worker.join();
	EXPECT_TRUE(saw_sleep);
	ASSERT_EQ(n, 1);
	EXPECT_EQ(evs[0].type, IX_EV_DEAD);
	EXPECT_EQ(evs[0].err, -ETIMEDOUT);
	EXPECT_EQ(h.shm()->app_sleeping, 0u);
}

TEST_F(Libix, FdBecomesReadableAfterAnEmptyPoll)
{
	attach_ok();
	learn(mkh(1, 0, 1));
	struct pollfd p = { ix_fd(ctx), POLLIN, 0 };
	EXPECT_EQ(ix_poll(ctx, evs, 64, 0), 0); // armed
	EXPECT_EQ(poll(&p, 1, 0), 0);
	h.put(1, ev_of(IXDP_APP_EV_SENT, mkh(1, 1, 3), 8, 0, 10));
	EXPECT_EQ(poll(&p, 1, 2000), 1);
	EXPECT_EQ(ix_poll(ctx, evs, 64, 0), 1);
	EXPECT_EQ(ix_poll(ctx, evs, 64, 0), 0);
	EXPECT_EQ(poll(&p, 1, 0), 0); // drained, re-armed

	// Events kept by a call that waited (a full ring) make it readable as well.
	for (uint32_t i = 0; i < h.cmd_entries; i++)
		ASSERT_GT(ix_shutdown(ctx, mkh(1, 0, 1)), 0);
	h.put(0, ev_of(IXDP_APP_EV_SENT, mkh(1, 0, 3), 8, 0, 10));
	std::thread worker([&] {
		auto t0 = Clock::now();
		while (ms_since(t0) < 5000 && h.ev_cons(0) != 2) // the KNOCK of learn(), and this
			std::this_thread::sleep_for(std::chrono::microseconds(100));
		h.take(0);
	});
	EXPECT_GT(ix_shutdown(ctx, mkh(1, 0, 1)), 0);
	worker.join();
	EXPECT_EQ(poll(&p, 1, 2000), 1);
	EXPECT_EQ(ix_poll(ctx, evs, 64, 0), 1);
}

TEST_F(Libix, ArmedOnlyForASleeperWithoutAutoarm)
{
	attach_ok();
	struct pollfd p = { ix_fd(ctx), POLLIN, 0 };
	ix_set_autoarm(ctx, 0);
	EXPECT_EQ(ix_poll(ctx, evs, 64, 0), 0); // not armed: no wakeups while the app spins
	EXPECT_EQ(h.shm()->app_sleeping, 0u);
	h.put(0, ev_of(IXDP_APP_EV_SENT, mkh(1, 0, 3), 8, 0, 10));
	EXPECT_EQ(poll(&p, 1, 0), 0); // no wakeup was sent
	EXPECT_EQ(ix_arm_sleep(ctx), 1); // an event waits: poll it, do not sleep
	EXPECT_EQ(h.shm()->app_sleeping, 0u);
	EXPECT_EQ(ix_poll(ctx, evs, 64, 0), 1);
	EXPECT_EQ(ix_arm_sleep(ctx), 0); // armed now
	EXPECT_EQ(h.shm()->app_sleeping, 1u);
	EXPECT_EQ(ix_arm_sleep(ctx), 0); // still
	h.put(1, ev_of(IXDP_APP_EV_SENT, mkh(1, 1, 3), 8, 0, 10));
	EXPECT_EQ(poll(&p, 1, 2000), 1); // the sleeper is woken
	EXPECT_EQ(ix_poll(ctx, evs, 64, 0), 1);
	EXPECT_EQ(h.shm()->app_sleeping, 0u); // the poll disarmed it
	EXPECT_EQ(ix_poll(ctx, evs, 64, 0), 0);
	EXPECT_EQ(h.shm()->app_sleeping, 0u); // and does not arm it again
	ix_set_autoarm(ctx, 1);
	EXPECT_EQ(ix_poll(ctx, evs, 64, 0), 0);
	EXPECT_EQ(h.shm()->app_sleeping, 1u); // the default again
	EXPECT_EQ(ix_arm_sleep(nullptr), -EINVAL);
}

// --- ixev --------------------------------------------------------------------------------

struct TConn {
	struct ixev_conn c; // first: the handler's conn is the TConn
	std::string got;
	std::vector<unsigned int> events;
	int hup_err = 0;
	bool eof = false;
	bool released = false;
	bool echo = true;
	bool close_on_hup = true;
	int dialed = 1; // 1: not yet
};

struct Ixev {
	std::deque<TConn> conns;
	bool reject = false;
	int accepts = 0;
};

void t_handler(struct ixev_conn *c, unsigned int ev)
{
	TConn *t = (TConn *)c;
	char buf[4096];
	ssize_t n;

	t->events.push_back(ev);
	if (ev & IXEV_HUP) {
		t->hup_err = (int)ixev_recv(c, buf, sizeof(buf));
		if (t->close_on_hup)
			ixev_close(c); // t is released: touch nothing after this
		return;
	}
	if (!(ev & IXEV_IN))
		return;
	while ((n = ixev_recv(c, buf, sizeof(buf))) > 0) {
		t->got.append(buf, n);
		if (t->echo) {
			EXPECT_EQ(ixev_send(c, buf, n), n);
		}
	}
	if (n == 0)
		t->eof = true;
}

struct ixev_conn *t_accept(struct ixev_loop *l, const struct ix_addr *remote, uint16_t lport)
{
	Ixev *s = (Ixev *)ixev_loop_arg(l);

	s->accepts++;
	if (s->reject)
		return nullptr;
	s->conns.emplace_back();
	TConn *t = &s->conns.back();
	ixev_conn_init(&t->c);
	ixev_set_handler(&t->c, IXEV_IN, t_handler);
	return &t->c;
}

void t_release(struct ixev_conn *c) { ((TConn *)c)->released = true; }
void t_dialed(struct ixev_conn *c, int err) { ((TConn *)c)->dialed = err; }

const struct ixev_conn_ops t_ops = { t_accept, t_dialed, t_release };

class IxevTest : public ::testing::Test {
protected:
	Harness h;
	Ixev st;
	struct ixev_loop *l = nullptr;

	void SetUp() override
	{
		{
			std::lock_guard<std::mutex> g(log_mu);
			logs.clear();
		}
		ix_set_log(log_cb, nullptr);
		ASSERT_EQ(h.attach_loop(&l, &t_ops, &st), 0);
		ASSERT_EQ(ixev_loop_arg(l), &st);
		ASSERT_NE(ixev_loop_ix(l), nullptr);
	}
	void TearDown() override
	{
		destroy();
		ix_set_log(nullptr, nullptr);
	}
	// ixev_loop_destroy() against a daemon that answers the end (and first runs @before_close).
	void destroy(std::function<void()> before_close = {})
	{
		if (!l)
			return;
		std::thread d = h.end_on_eof(before_close);
		auto t0 = Clock::now();
		ixev_loop_destroy(l);
		d.join();
		l = nullptr;
		EXPECT_LT(ms_since(t0), 2000);
		EXPECT_FALSE(logged("no end from ixdpd"));
	}
	// A connection knocks on worker @w and is accepted: its cookie.
	uint64_t knock(uint64_t hd, unsigned int w)
	{
		h.put(w, ev_knock(hd, 0, "198.51.100.7", 5555, 7));
		EXPECT_EQ(ixev_run(l, 1000), 1);
		auto c = h.take(w);
		EXPECT_EQ(c.size(), 1u);
		if (c.size() != 1)
			return 0;
		EXPECT_EQ(c[0].op, IXDP_APP_ACCEPT);
		EXPECT_EQ(c[0].handle, hd);
		EXPECT_NE(c[0].cookie, 0u);
		return c[0].cookie;
	}
};

TEST_F(IxevTest, EchoRoundTrip)
{
	uint64_t hd = mkh(7, 1, 3);
	uint64_t ck = knock(hd, 1);
	ASSERT_EQ(st.conns.size(), 1u);
	TConn &t = st.conns.back();
	EXPECT_EQ(t.c.handle, hd);

	memcpy(h.rx(1) + 2048, "hello world", 11);
	h.put(1, ev_of(IXDP_APP_EV_RECV, hd, ck, 2048, 11));
	EXPECT_EQ(ixev_run(l, 1000), 1);
	EXPECT_EQ(t.got, "hello world");
	ASSERT_EQ(t.events.size(), 1u);
	EXPECT_EQ(t.events[0], (unsigned int)IXEV_IN);
	auto c = h.take(1);
	ASSERT_EQ(c.size(), 2u);
	EXPECT_EQ(c[0].op, IXDP_APP_RECV_DONE);
	EXPECT_EQ(c[0].len, 11u);
	EXPECT_EQ(c[1].op, IXDP_APP_SEND);
	EXPECT_EQ(c[1].handle, hd);
	ASSERT_EQ(c[1].len, 11u);
	EXPECT_EQ(memcmp(h.tx(1) + c[1].off, "hello world", 11), 0);

	// The connection takes 5 bytes: the rest waits for SENT.
	h.put(1, ev_result(IXDP_APP_SEND, c[1].seq, hd, 0, 5));
	EXPECT_EQ(ixev_run(l, 1000), 1);
	EXPECT_TRUE(h.take(1).empty());
	EXPECT_EQ(t.c.tx_len, 6u);
	h.put(1, ev_of(IXDP_APP_EV_SENT, hd, ck, 0, 5));
	EXPECT_EQ(ixev_run(l, 1000), 1);
	c = h.take(1);
	ASSERT_EQ(c.size(), 1u);
	EXPECT_EQ(c[0].op, IXDP_APP_SEND);
	ASSERT_EQ(c[0].len, 6u);
	EXPECT_EQ(memcmp(h.tx(1) + c[0].off, " world", 6), 0);
	h.put(1, ev_result(IXDP_APP_SEND, c[0].seq, hd, 0, 6));
	EXPECT_EQ(ixev_run(l, 1000), 1);
	EXPECT_EQ(t.c.tx_len, 0u);
	EXPECT_TRUE(h.take(1).empty());

	// EOF.
	h.put(1, ev_of(IXDP_APP_EV_RECV, hd, ck, 0, 0));
	EXPECT_EQ(ixev_run(l, 1000), 1);
	EXPECT_TRUE(t.eof);

	// Death: IXEV_HUP (not in the mask), the error from ixev_recv, close in the handler.
	h.put(1, ev_of(IXDP_APP_EV_DEAD, hd, ck, 0, 0, -ECONNRESET));
	EXPECT_EQ(ixev_run(l, 1000), 1);
	EXPECT_TRUE(t.events.back() & IXEV_HUP);
	EXPECT_EQ(t.hup_err, 0); // EOF came first
	EXPECT_TRUE(t.released);
	c = h.take(1);
	ASSERT_EQ(c.size(), 1u);
	EXPECT_EQ(c[0].op, IXDP_APP_CLOSE);
	EXPECT_EQ(c[0].handle, hd);

	// Events for the closed connection are dropped.
	size_t n_events = t.events.size();
	h.put(1, ev_of(IXDP_APP_EV_RECV, hd, ck, 0, 5));
	h.put(1, ev_of(IXDP_APP_EV_SENT, hd, ck, 0, 5));
	h.put(1, ev_of(IXDP_APP_EV_DEAD, hd, ck, 0, 0, -ECONNRESET));
	h.put(1, ev_result(IXDP_APP_CLOSE, c[0].seq, hd, -EBADF));
	EXPECT_EQ(ixev_run(l, 1000), 4);
	EXPECT_EQ(t.events.size(), n_events);
	EXPECT_TRUE(h.take(1).empty());
}

TEST_F(IxevTest, DeadBeforeEofReportsTheError)
{
	uint64_t hd = mkh(1, 0, 9);
	uint64_t ck = knock(hd, 0);
	TConn &t = st.conns.back();
	EXPECT_EQ(ixev_send(&t.c, "abc", 3), 3);
	EXPECT_EQ(ixev_loop_sending(l), 1u);
	h.put(0, ev_of(IXDP_APP_EV_DEAD, hd, ck, 0, 0, -ETIMEDOUT));
	EXPECT_EQ(ixev_run(l, 1000), 1);
	EXPECT_EQ(t.hup_err, -ETIMEDOUT);
	EXPECT_TRUE(t.released);
	EXPECT_EQ(ixev_loop_sending(l), 0u); // what it held died with it
}

TEST_F(IxevTest, RejectWhenAcceptDeclines)
{
	st.reject = true;
	uint64_t hd = mkh(2, 1, 4);
	h.put(1, ev_knock(hd, 0, "198.51.100.7", 5555, 7));
	EXPECT_EQ(ixev_run(l, 1000), 1);
	EXPECT_EQ(st.accepts, 1);
	auto c = h.take(1);
	ASSERT_EQ(c.size(), 1u);
	EXPECT_EQ(c[0].op, IXDP_APP_REJECT);
	EXPECT_EQ(c[0].handle, hd);
}

// ixev_close with bytes still buffered: released at once, the loop sends the rest, then CLOSE.
TEST_F(IxevTest, CloseFlushesThenCloses)
{
	uint64_t hd = mkh(1, 1, 5);
	uint64_t ck = knock(hd, 1);
	TConn &t = st.conns.back();
	std::string data(100, 'z');
	EXPECT_EQ(ixev_loop_sending(l), 0u);
	EXPECT_EQ(ixev_send(&t.c, data.data(), data.size()), 100);
	EXPECT_EQ(ixev_loop_sending(l), 1u);
	EXPECT_EQ(ixev_run(l, 0), 0);
	auto c = h.take(1);
	ASSERT_EQ(c.size(), 1u);
	ASSERT_EQ(c[0].op, IXDP_APP_SEND);
	EXPECT_EQ(c[0].len, 100u);
	h.put(1, ev_result(IXDP_APP_SEND, c[0].seq, hd, 0, 40));
	EXPECT_EQ(ixev_run(l, 1000), 1);

	ixev_close(&t.c);
	EXPECT_TRUE(t.released);
	EXPECT_EQ(ixev_send(&t.c, "x", 1), -EPIPE);
	EXPECT_EQ(ixev_run(l, 0), 0);
	EXPECT_TRUE(h.take(1).empty()); // still waiting for SENT
	EXPECT_EQ(ixev_loop_sending(l), 1u); // closed, its last 60 bytes still to go

	// Bytes for it are given back at once.  The rest goes as the SEND after a short one
	// (RESUME), the CLOSE right behind it.
	h.put(1, ev_of(IXDP_APP_EV_RECV, hd, ck, 0, 30));
	h.put(1, ev_of(IXDP_APP_EV_SENT, hd, ck, 0, 40));
	EXPECT_EQ(ixev_run(l, 1000), 2);
	c = h.take(1);
	ASSERT_EQ(c.size(), 3u);
	EXPECT_EQ(c[0].op, IXDP_APP_RECV_DONE);
	EXPECT_EQ(c[0].len, 30u);
	EXPECT_EQ(c[1].op, IXDP_APP_SEND);
	EXPECT_EQ(c[1].len, 60u);
	EXPECT_EQ(c[1].flags, IXDP_APP_SEND_RESUME);
	EXPECT_EQ(c[2].op, IXDP_APP_CLOSE);
	EXPECT_EQ(c[2].flags, 0);
	EXPECT_EQ(ixev_loop_sending(l), 1u); // until the SEND's RESULT says it all went
	h.put(1, ev_result(IXDP_APP_SEND, c[1].seq, hd, 0, 60));
	EXPECT_EQ(ixev_run(l, 1000), 1);
	EXPECT_TRUE(h.take(1).empty());
	EXPECT_EQ(t.events.size(), 0u);
	EXPECT_EQ(ixev_loop_sending(l), 0u);
}

// What the app sends goes at once, without waiting for RESULTs, and the CLOSE behind it: a
// reply and its FIN reach the worker in one batch.
TEST_F(IxevTest, SendsAndCloseGoTogether)
{
	uint64_t hd = mkh(1, 1, 5);
	knock(hd, 1);
	TConn &t = st.conns.back();
	EXPECT_EQ(ixev_send(&t.c, "head", 4), 4);
	EXPECT_EQ(ixev_run(l, 0), 0);
	EXPECT_EQ(ixev_send(&t.c, "body", 4), 4);
	ixev_close(&t.c);
	EXPECT_EQ(ixev_run(l, 0), 0);
	auto c = h.take(1);
	ASSERT_EQ(c.size(), 3u);
	EXPECT_EQ(c[0].op, IXDP_APP_SEND);
	EXPECT_EQ(std::string((char *)h.tx(1) + c[0].off, c[0].len), "head");
	EXPECT_EQ(c[0].flags, 0);
	EXPECT_EQ(c[1].op, IXDP_APP_SEND);
	EXPECT_EQ(std::string((char *)h.tx(1) + c[1].off, c[1].len), "body");
	EXPECT_EQ(c[2].op, IXDP_APP_CLOSE);
	EXPECT_EQ(ixev_loop_sending(l), 1u);
	h.put(1, ev_result(IXDP_APP_SEND, c[0].seq, hd, 0, 4));
	h.put(1, ev_result(IXDP_APP_SEND, c[1].seq, hd, 0, 4));
	EXPECT_EQ(ixev_run(l, 1000), 2);
	EXPECT_TRUE(h.take(1).empty()); // the CLOSE went through: nothing more
	EXPECT_EQ(ixev_loop_sending(l), 0u);
}

// A short SEND: the daemon took nothing behind it and refused the CLOSE; the bytes not taken
// go again in order, first with RESUME, once every verdict is in and SENT came; then the CLOSE.
TEST_F(IxevTest, ShortSendResumesInOrderThenCloses)
{
	uint64_t hd = mkh(1, 1, 5);
	uint64_t ck = knock(hd, 1);
	TConn &t = st.conns.back();
	std::string a(100, 'a'), b(50, 'b');
	EXPECT_EQ(ixev_send(&t.c, a.data(), a.size()), 100);
	EXPECT_EQ(ixev_run(l, 0), 0);
	EXPECT_EQ(ixev_send(&t.c, b.data(), b.size()), 50);
	ixev_close(&t.c);
	EXPECT_EQ(ixev_run(l, 0), 0);
	auto c = h.take(1);
	ASSERT_EQ(c.size(), 3u);
	ASSERT_EQ(c[2].op, IXDP_APP_CLOSE);
	h.put(1, ev_result(IXDP_APP_SEND, c[0].seq, hd, 0, 40));
	h.put(1, ev_result(IXDP_APP_SEND, c[1].seq, hd, 0, 0));
	h.put(1, ev_result(IXDP_APP_SEND, c[1].seq, hd, 0, 0)); // a stray one: ignored
	EXPECT_EQ(ixev_run(l, 1000), 3);
	EXPECT_TRUE(h.take(1).empty()); // the CLOSE's verdict is still to come
	h.put(1, ev_of(IXDP_APP_EV_SENT, hd, ck, 0, 40));
	EXPECT_EQ(ixev_run(l, 1000), 1);
	EXPECT_TRUE(h.take(1).empty()); // ... still
	h.put(1, ev_result(IXDP_APP_CLOSE, c[2].seq, hd, -EAGAIN));
	EXPECT_EQ(ixev_run(l, 1000), 1);
	c = h.take(1);
	ASSERT_EQ(c.size(), 2u);
	EXPECT_EQ(c[0].op, IXDP_APP_SEND);
	EXPECT_EQ(c[0].flags, IXDP_APP_SEND_RESUME);
	EXPECT_EQ(std::string((char *)h.tx(1) + c[0].off, c[0].len), a.substr(40) + b);
	EXPECT_EQ(c[1].op, IXDP_APP_CLOSE);
	EXPECT_EQ(c[1].flags, 0);
	EXPECT_EQ(ixev_loop_sending(l), 1u);
	h.put(1, ev_result(IXDP_APP_SEND, c[0].seq, hd, 0, c[0].len));
	EXPECT_EQ(ixev_run(l, 1000), 1);
	EXPECT_TRUE(h.take(1).empty());
	EXPECT_EQ(ixev_loop_sending(l), 0u);
}

// TCP_CORK's way: corked bytes wait (one SEND for a reply written in pieces) until uncorked,
// IXEV_CORK_FULL of them, a shutdown, or IXEV_CORK_MS.
TEST_F(IxevTest, CorkHoldsBytesUntilUncorkedOrFull)
{
	uint64_t hd = mkh(1, 0, 5);
	knock(hd, 0);
	TConn &t = st.conns.back();
	EXPECT_EQ(ixev_cork(&t.c, 1), 0);
	EXPECT_EQ(ixev_send(&t.c, "head ", 5), 5);
	EXPECT_EQ(ixev_run(l, 0), 0);
	EXPECT_EQ(ixev_send(&t.c, "body", 4), 4);
	EXPECT_EQ(ixev_run(l, 0), 0);
	EXPECT_TRUE(h.take(0).empty());
	EXPECT_EQ(ixev_loop_sending(l), 1u); // held bytes still count: the loop must be run
	EXPECT_EQ(ixev_cork(&t.c, 0), 0);
	EXPECT_EQ(ixev_run(l, 0), 0);
	auto c = h.take(0);
	ASSERT_EQ(c.size(), 1u);
	EXPECT_EQ(std::string((char *)h.tx(0) + c[0].off, c[0].len), "head body");
	h.put(0, ev_result(IXDP_APP_SEND, c[0].seq, hd, 0, c[0].len));
	EXPECT_EQ(ixev_run(l, 1000), 1);

	EXPECT_EQ(ixev_cork(&t.c, 1), 0); // a full chunk goes at once
	std::string big(IXEV_CORK_FULL, 'f');
	EXPECT_EQ(ixev_send(&t.c, big.data(), big.size()), (ssize_t)big.size());
	EXPECT_EQ(ixev_run(l, 0), 0);
	c = h.take(0);
	ASSERT_EQ(c.size(), 1u);
	EXPECT_EQ(c[0].len, IXEV_CORK_FULL);
	h.put(0, ev_result(IXDP_APP_SEND, c[0].seq, hd, 0, c[0].len));
	EXPECT_EQ(ixev_run(l, 1000), 1);

	EXPECT_EQ(ixev_send(&t.c, "x", 1), 1); // held, then let go by its age
	EXPECT_EQ(ixev_run(l, 0), 0);
	EXPECT_TRUE(h.take(0).empty());
	std::this_thread::sleep_for(std::chrono::milliseconds(IXEV_CORK_MS + 20));
	EXPECT_EQ(ixev_run(l, 0), 0);
	c = h.take(0);
	ASSERT_EQ(c.size(), 1u);
	EXPECT_EQ(c[0].len, 1u);
	h.put(0, ev_result(IXDP_APP_SEND, c[0].seq, hd, 0, 1));
	EXPECT_EQ(ixev_run(l, 1000), 1);

	EXPECT_EQ(ixev_send(&t.c, "end", 3), 3); // a shutdown sends what waits, FIN behind it
	EXPECT_EQ(ixev_shutdown(&t.c), 0);
	EXPECT_EQ(ixev_run(l, 0), 0);
	c = h.take(0);
	ASSERT_EQ(c.size(), 2u);
	EXPECT_EQ(c[0].op, IXDP_APP_SEND);
	EXPECT_EQ(c[1].op, IXDP_APP_SHUTDOWN);
	EXPECT_EQ(ixev_cork(nullptr, 1), -EINVAL);
}

// A live connection's SHUTDOWN refused behind a short SEND goes again after the rest.
TEST_F(IxevTest, RefusedShutdownGoesAgain)
{
	uint64_t hd = mkh(1, 0, 5);
	uint64_t ck = knock(hd, 0);
	TConn &t = st.conns.back();
	EXPECT_EQ(ixev_send(&t.c, "0123456789", 10), 10);
	EXPECT_EQ(ixev_shutdown(&t.c), 0);
	EXPECT_EQ(ixev_run(l, 0), 0);
	auto c = h.take(0);
	ASSERT_EQ(c.size(), 2u);
	EXPECT_EQ(c[1].op, IXDP_APP_SHUTDOWN);
	h.put(0, ev_result(IXDP_APP_SEND, c[0].seq, hd, 0, 4));
	h.put(0, ev_result(IXDP_APP_SHUTDOWN, c[1].seq, hd, -EAGAIN));
	h.put(0, ev_of(IXDP_APP_EV_SENT, hd, ck, 0, 4));
	ixev_run(l, 1000);
	c = h.take(0);
	ASSERT_EQ(c.size(), 2u);
	EXPECT_EQ(std::string((char *)h.tx(0) + c[0].off, c[0].len), "456789");
	EXPECT_EQ(c[0].flags, IXDP_APP_SEND_RESUME);
	EXPECT_EQ(c[1].op, IXDP_APP_SHUTDOWN);
	EXPECT_EQ(t.hup_err, 0); // the connection lives on
	EXPECT_FALSE(t.released);
}

// An orphan whose connection died behind a short SEND: freed at DEAD; the CLOSE refused
// after that is turned into a reset, so the daemon lets go of the handle too.
TEST_F(IxevTest, RefusedCloseOfADeadOrphanResets)
{
	uint64_t hd = mkh(1, 1, 5);
	uint64_t ck = knock(hd, 1);
	TConn &t = st.conns.back();
	EXPECT_EQ(ixev_send(&t.c, "xyz", 3), 3);
	ixev_close(&t.c);
	EXPECT_EQ(ixev_run(l, 0), 0);
	auto c = h.take(1);
	ASSERT_EQ(c.size(), 2u);
	h.put(1, ev_result(IXDP_APP_SEND, c[0].seq, hd, 0, 1));
	h.put(1, ev_of(IXDP_APP_EV_DEAD, hd, ck, 0, 0));
	h.put(1, ev_result(IXDP_APP_CLOSE, c[1].seq, hd, -EAGAIN));
	ixev_run(l, 1000);
	c = h.take(1);
	ASSERT_EQ(c.size(), 1u);
	EXPECT_EQ(c[0].op, IXDP_APP_CLOSE);
	EXPECT_EQ(c[0].flags, IXDP_APP_CLOSE_RESET);
	EXPECT_EQ(c[0].handle, hd);
	EXPECT_EQ(ixev_loop_sending(l), 0u);
}

// Send buffering: IXEV_SEND_MAX bounds it, IXEV_OUT says when there is room again.
TEST_F(IxevTest, SendBufferBoundAndOut)
{
	uint64_t hd = mkh(1, 0, 6);
	knock(hd, 0);
	TConn &t = st.conns.back();
	t.echo = false;
	ixev_set_handler(&t.c, IXEV_IN | IXEV_OUT, t_handler);
	EXPECT_EQ(ixev_run(l, 0), 1); // OUT was ready: the handler runs once
	ASSERT_EQ(t.events.size(), 1u);
	EXPECT_EQ(t.events[0], (unsigned int)IXEV_OUT);

	std::vector<char> big(IXEV_SEND_MAX + 100, 'q');
	EXPECT_EQ(ixev_send(&t.c, big.data(), big.size()), (ssize_t)IXEV_SEND_MAX);
	EXPECT_EQ(ixev_send(&t.c, "x", 1), -EAGAIN);
	EXPECT_FALSE(t.c.ready & IXEV_OUT);
	EXPECT_EQ(ixev_run(l, 0), 0);
	auto c = h.take(0); // in SENDs of at most half the area each, as many as fit
	ASSERT_GE(c.size(), 1u);
	size_t sent = 0;
	for (auto &x : c) {
		EXPECT_EQ(x.op, IXDP_APP_SEND);
		EXPECT_LE(x.len, h.tx_size / 2);
		sent += x.len;
	}
	EXPECT_LE(sent, (size_t)IXEV_SEND_MAX);
	h.put(0, ev_result(IXDP_APP_SEND, c[0].seq, hd, 0, c[0].len));
	EXPECT_EQ(ixev_run(l, 1000), 1);
	ASSERT_EQ(t.events.size(), 2u);
	EXPECT_EQ(t.events[1], (unsigned int)IXEV_OUT);
	EXPECT_EQ(t.c.tx_len, IXEV_SEND_MAX - c[0].len);
	if (sent < IXEV_SEND_MAX) { // the area had room again: the next chunk went out at once
		c = h.take(0);
		ASSERT_GE(c.size(), 1u);
		EXPECT_EQ(c[0].op, IXDP_APP_SEND);
	}
}

TEST_F(IxevTest, PeekAndConsume)
{
	uint64_t hd = mkh(1, 1, 8);
	uint64_t ck = knock(hd, 1);
	TConn &t = st.conns.back();
	ixev_set_handler(&t.c, 0, nullptr);
	memcpy(h.rx(1) + 0, "abc", 3);
	memcpy(h.rx(1) + 2048, "defg", 4);
	h.put(1, ev_of(IXDP_APP_EV_RECV, hd, ck, 0, 3));
	h.put(1, ev_of(IXDP_APP_EV_RECV, hd, ck, 2048, 4));
	EXPECT_EQ(ixev_run(l, 1000), 2);
	EXPECT_EQ(t.c.rx_len, 7u);
	const void *p;
	ASSERT_EQ(ixev_peek(&t.c, &p), 3);
	EXPECT_EQ(h.app_rx_off(p, 1), 0);
	ixev_consume(&t.c, 4); // across two spans
	ASSERT_EQ(ixev_peek(&t.c, &p), 3);
	EXPECT_EQ(memcmp(p, "efg", 3), 0);
	char b[8];
	EXPECT_EQ(ixev_recv(&t.c, b, sizeof(b)), 3);
	EXPECT_EQ(ixev_recv(&t.c, b, sizeof(b)), -EAGAIN);
	EXPECT_EQ(ixev_peek(&t.c, &p), -EAGAIN);
	ixev_run(l, 0);
	auto c = h.take(1);
	ASSERT_EQ(c.size(), 2u);
	EXPECT_EQ(c[0].len, 4u);
	EXPECT_EQ(c[1].len, 3u);
}

TEST_F(IxevTest, Dial)
{
	st.conns.emplace_back();
	TConn &ok = st.conns.back();
	ixev_conn_init(&ok.c);
	st.conns.emplace_back();
	TConn &bad = st.conns.back();
	ixev_conn_init(&bad.c);
	struct ix_addr a = {};
	a.family = AF_INET;
	a.port = 9;
	inet_pton(AF_INET, "203.0.113.1", &a.v4);
	ASSERT_EQ(ixev_dial(l, &ok.c, &a), 0);
	ASSERT_EQ(ixev_dial(l, &bad.c, &a), 0);
	EXPECT_EQ(ixev_send(&ok.c, "early", 5), 5); // buffered until connected
	EXPECT_EQ(ixev_run(l, 0), 0);
	auto c0 = h.take(0), c1 = h.take(1);
	ASSERT_EQ(c0.size(), 1u);
	ASSERT_EQ(c1.size(), 1u);
	EXPECT_EQ(c0[0].op, IXDP_APP_CONNECT);
	EXPECT_NE(c0[0].cookie, c1[0].cookie);

	uint64_t hd = mkh(1, 0, 12);
	struct ixdp_app_ev up = ev_of(IXDP_APP_EV_CONNECTED, hd, c0[0].cookie);
	up.lport = 40001;
	EXPECT_EQ(ixev_local_port(&ok.c), 0); // dialing
	h.put(0, up);
	h.put(1, ev_of(IXDP_APP_EV_CONNECTED, 0, c1[0].cookie, 0, 0, -ECONNREFUSED));
	EXPECT_EQ(ixev_run(l, 1000), 2);
	EXPECT_EQ(ok.dialed, 0);
	EXPECT_EQ(ok.c.handle, hd);
	EXPECT_EQ(ixev_local_port(&ok.c), 40001);
	EXPECT_EQ(ixev_local_port(&bad.c), 0); // released
	EXPECT_EQ(ixev_local_port(nullptr), 0);
	EXPECT_EQ(bad.dialed, -ECONNREFUSED);
	EXPECT_TRUE(bad.released);
	EXPECT_FALSE(ok.released);
	c0 = h.take(0);
	ASSERT_EQ(c0.size(), 1u);
	EXPECT_EQ(c0[0].op, IXDP_APP_SEND);
	EXPECT_EQ(memcmp(h.tx(0) + c0[0].off, "early", 5), 0);

	// Closed while dialing: the late CONNECTED is reset.
	st.conns.emplace_back();
	TConn &gone = st.conns.back();
	ixev_conn_init(&gone.c);
	ASSERT_EQ(ixev_dial(l, &gone.c, &a), 0);
	ixev_run(l, 0);
	auto c = h.take(0);
	auto d = h.take(1);
	c.insert(c.end(), d.begin(), d.end());
	ASSERT_EQ(c.size(), 1u);
	ixev_close(&gone.c);
	EXPECT_TRUE(gone.released);
	h.put(1, ev_of(IXDP_APP_EV_CONNECTED, mkh(1, 1, 2), c[0].cookie));
	ixev_run(l, 1000);
	d = h.take(1);
	ASSERT_EQ(d.size(), 1u);
	EXPECT_EQ(d[0].op, IXDP_APP_CLOSE);
	EXPECT_EQ(d[0].flags, IXDP_APP_CLOSE_RESET);
}

TEST_F(IxevTest, ManyConnectionsAndStaleCookies)
{
	// Enough connections to grow the tables, closed and reopened: a reused slot's old
	// cookie reaches nobody.
	std::vector<uint64_t> cookies;
	for (uint32_t i = 0; i < 200; i++)
		cookies.push_back(knock(mkh(1, i % 2, i), i % 2));
	for (auto &t : st.conns)
		ixev_close(&t.c);
	for (auto &t : st.conns)
		EXPECT_TRUE(t.released);
	ixev_run(l, 0);
	h.take(0);
	h.take(1);
	size_t before = st.conns.size();
	uint64_t fresh = knock(mkh(2, 0, 0), 0);
	EXPECT_EQ((uint32_t)fresh, (uint32_t)cookies[199]); // the last slot freed is reused...
	EXPECT_NE(fresh, cookies[199]);			  // ...with another generation
	TConn &t = st.conns.back();
	EXPECT_EQ(st.conns.size(), before + 1);
	memcpy(h.rx(0), "old", 3);
	h.put(1, ev_of(IXDP_APP_EV_RECV, mkh(1, 1, 199), cookies[199], 0, 3));
	EXPECT_EQ(ixev_run(l, 1000), 1);
	EXPECT_TRUE(t.got.empty());
	EXPECT_TRUE(t.events.empty());
}

} // namespace

// A conn another loop moved here, whose MOVED the daemon writes after the loop began to end
// (before its EOF): the loop takes it and releases it.  A live conn is released too.
TEST_F(IxevTest, DestroyReleasesAConnMovedHereAtTheEnd)
{
	knock(mkh(7, 0, 1), 0);
	ASSERT_EQ(st.conns.size(), 1u);
	st.conns.emplace_back();
	TConn *moved = &st.conns.back();
	ixev_conn_init(&moved->c);
	ixev_set_handler(&moved->c, IXEV_IN, t_handler);
	destroy([&] {
		h.put(1, ev_of(IXDP_APP_EV_MOVED, mkh(8, 1, 2), (uint64_t)(uintptr_t)&moved->c));
	});
	EXPECT_TRUE(st.conns.front().released);
	EXPECT_TRUE(moved->released);
	EXPECT_TRUE(moved->c.closing);
}

// A daemon that never answers the end: the loop gives up after IX_END_TIMEOUT_MS, says so,
// and still releases its live conns.
TEST_F(IxevTest, DestroyWithoutTheDaemonsAnswerIsBounded)
{
	knock(mkh(7, 0, 1), 0);
	auto t0 = Clock::now();
	ixev_loop_destroy(l);
	l = nullptr;
	EXPECT_GE(ms_since(t0), IX_END_TIMEOUT_MS - 100);
	EXPECT_LT(ms_since(t0), IX_END_TIMEOUT_MS + 2000);
	EXPECT_TRUE(logged("no end from ixdpd"));
	EXPECT_TRUE(st.conns.front().released);
}

// ixev_moving() from ixev_move() to the settlement: the target's MOVED (even after the
// sender's RESULT freed its slot) makes the conn the target's; a refusal makes it the
// sender's again, live, its handler called.
TEST_F(IxevTest, MovingUntilTheTargetTakesItOrTheDaemonRefuses)
{
	Harness h2;
	Ixev st2;
	struct ixev_loop *l2 = nullptr;
	ASSERT_EQ(h2.attach_loop(&l2, &t_ops, &st2), 0);

	knock(mkh(3, 0, 1), 0);
	knock(mkh(3, 0, 2), 0);
	ASSERT_EQ(st.conns.size(), 2u);
	TConn &a = st.conns.front(), &b = st.conns.back();

	ASSERT_EQ(ixev_move(&a.c, l2), 0);
	EXPECT_EQ(ixev_moving(&a.c), 1);
	ASSERT_EQ(ix_flush(ixev_loop_ix(l)), 0);
	auto cmds = h.take(0);
	ASSERT_EQ(cmds.size(), 1u);
	EXPECT_EQ(cmds[0].op, IXDP_APP_MOVE);
	h.put(0, ev_result(IXDP_APP_MOVE, cmds[0].seq, mkh(3, 0, 1)));
	ixev_run(l, 100);
	EXPECT_EQ(ixev_moving(&a.c), 1); // the sender let go, the target has not taken it yet
	h2.put(0, ev_of(IXDP_APP_EV_MOVED, mkh(3, 0, 1), cmds[0].cookie));
	ixev_run(l2, 100);
	EXPECT_EQ(ixev_moving(&a.c), 0);
	EXPECT_EQ(a.c.loop, l2);

	ASSERT_EQ(ixev_move(&b.c, l2), 0);
	ASSERT_EQ(ix_flush(ixev_loop_ix(l)), 0);
	cmds = h.take(0);
	ASSERT_EQ(cmds.size(), 1u);
	EXPECT_EQ(ixev_moving(&b.c), 1);
	h.put(0, ev_result(IXDP_APP_MOVE, cmds[0].seq, mkh(3, 0, 2), -ESRCH));
	ixev_run(l, 100);
	EXPECT_EQ(ixev_moving(&b.c), 0);
	EXPECT_EQ(b.c.loop, l);

	ixev_close(&a.c);
	std::thread d = h2.end_on_eof();
	ixev_loop_destroy(l2);
	d.join();
}
