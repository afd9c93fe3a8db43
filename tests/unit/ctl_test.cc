// SPDX-License-Identifier: GPL-2.0
// ctl_test.cc - the control protocol, both ends: a server on a real Unix socket driven by an
// epoll loop on a thread, against ixdpctl's client call and against misbehaving clients; and
// where the server agrees to put its socket (the directory's owner and mode, symbolic links).
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern "C" {
#include "core/control.h"
}

enum { OP_ECHO = 100, OP_FAIL = 101, OP_BIG = 102 };

static int handler(void *ctx, const struct ixdp_ctl_req *req, uid_t uid, struct ctl_buf *reply)
{
	switch (req->op) {
	case OP_ECHO:
		return ctl_buf_add(reply, req->arg, sizeof(req->arg));
	case OP_FAIL:
		ctl_buf_printf(reply, "no flow group %u", req->arg[0]);
		return -ERANGE;
	case OP_BIG: {
		char *p = (char *)ctl_buf_reserve(reply, req->arg[0]);
		if (!p)
			return -ENOMEM;
		for (__u32 i = 0; i < req->arg[0]; i++)
			p[i] = (char)(i * 13);
		return 0;
	}
	}
	return -EOPNOTSUPP; // no message: the server adds strerror()
}

class Ctl : public ::testing::Test {
protected:
	struct ctl srv;
	std::string path;
	int epfd = -1;
	std::atomic<bool> stop{ false };
	std::thread loop;

	void SetUp() override
	{
		char dir[] = "/tmp/ixdp-ctl.XXXXXX";
		ASSERT_NE(mkdtemp(dir), nullptr);
		path = std::string(dir) + "/sub/ixdpd.sock"; // the directory is created by ctl_open
		epfd = epoll_create1(0);
		ASSERT_EQ(ctl_open(&srv, path.c_str(), epfd, handler, nullptr), 0);
		loop = std::thread([this] {
			struct epoll_event ev[8];
			while (!stop) {
				int n = epoll_wait(epfd, ev, 8, 20);
				for (int i = 0; i < n; i++)
					ctl_event(&srv, ev[i].data.fd, ev[i].events);
			}
		});
	}
	void TearDown() override
	{
		stop = true;
		loop.join();
		ctl_close(&srv);
		close(epfd);
		EXPECT_NE(access(path.c_str(), F_OK), 0) << "socket file left behind";
		std::string dir = path.substr(0, path.rfind('/'));
		rmdir(dir.c_str());
		rmdir(dir.substr(0, dir.rfind('/')).c_str());
	}
	int call(__u16 op, __u32 a0, struct ixdp_ctl_reply *rep, void **payload)
	{
		struct ixdp_ctl_req req = {};
		req.op = op;
		req.arg[0] = a0;
		req.arg[3] = 0xdeadbeef;
		int fd = ctl_connect(path.c_str(), 1000);
		EXPECT_GE(fd, 0);
		int ret = ctl_call(fd, &req, rep, payload, 5000);
		close(fd);
		return ret;
	}
};

TEST_F(Ctl, RequestAndReply)
{
	struct ixdp_ctl_reply rep;
	void *payload;

	ASSERT_EQ(call(OP_ECHO, 42, &rep, &payload), 0);
	EXPECT_EQ(rep.status, 0);
	EXPECT_EQ(rep.op, OP_ECHO);
	ASSERT_EQ(rep.len, 16u);
	EXPECT_EQ(((__u32 *)payload)[0], 42u);
	EXPECT_EQ(((__u32 *)payload)[3], 0xdeadbeefu);
	free(payload);
}

TEST_F(Ctl, ErrorsCarryAMessage)
{
	struct ixdp_ctl_reply rep;
	void *payload;

	ASSERT_EQ(call(OP_FAIL, 9999, &rep, &payload), 0);
	EXPECT_EQ(rep.status, -ERANGE);
	EXPECT_STREQ((char *)payload, "no flow group 9999");
	free(payload);
	ASSERT_EQ(call(7, 0, &rep, &payload), 0);
	EXPECT_EQ(rep.status, -EOPNOTSUPP);
	EXPECT_STREQ((char *)payload, strerror(EOPNOTSUPP));
	free(payload);
}

TEST_F(Ctl, BigReplyOutlivesTheSocketBuffer)
{
	struct ixdp_ctl_reply rep;
	void *payload;
	const __u32 n = 4u << 20;

	ASSERT_EQ(call(OP_BIG, n, &rep, &payload), 0);
	ASSERT_EQ(rep.len, n);
	const char *p = (const char *)payload;
	for (__u32 i = 0; i < n; i += 4099)
		ASSERT_EQ(p[i], (char)(i * 13));
	free(payload);
	// Over the protocol's limit: refused, not sent.
	ASSERT_EQ(call(OP_BIG, IXDP_CTL_REPLY_MAX, &rep, &payload), 0);
	EXPECT_EQ(rep.status, -ENOMEM);
	free(payload);
}

TEST_F(Ctl, VersionMismatchIsAnsweredClearly)
{
	struct ixdp_ctl_req req = {};
	struct ixdp_ctl_reply rep;
	char msg[256] = "";
	int fd = ctl_connect(path.c_str(), 1000);

	ASSERT_GE(fd, 0);
	req.magic = IXDP_CTL_MAGIC;
	req.version = IXDP_CTL_VERSION + 1;
	req.op = OP_ECHO;
	ASSERT_EQ(send(fd, &req, sizeof(req), 0), (ssize_t)sizeof(req));
	ASSERT_EQ(recv(fd, &rep, sizeof(rep), MSG_WAITALL), (ssize_t)sizeof(rep));
	EXPECT_EQ(rep.status, -EPROTO);
	ASSERT_LT(rep.len, sizeof(msg));
	ASSERT_EQ(recv(fd, msg, rep.len, MSG_WAITALL), (ssize_t)rep.len);
	EXPECT_NE(std::string(msg).find("control protocol mismatch"), std::string::npos) << msg;
	close(fd);
}

TEST_F(Ctl, RequestInPiecesAndSeveralPerConnection)
{
	struct ixdp_ctl_req req = {};
	struct ixdp_ctl_reply rep;
	int fd = ctl_connect(path.c_str(), 1000);

	ASSERT_GE(fd, 0);
	for (int round = 0; round < 3; round++) {
		req.magic = IXDP_CTL_MAGIC;
		req.version = IXDP_CTL_VERSION;
		req.op = OP_ECHO;
		req.arg[0] = round;
		for (size_t i = 0; i < sizeof(req); i++) {
			ASSERT_EQ(send(fd, (char *)&req + i, 1, 0), 1);
			usleep(100);
		}
		ASSERT_EQ(recv(fd, &rep, sizeof(rep), MSG_WAITALL), (ssize_t)sizeof(rep));
		__u32 args[4];
		ASSERT_EQ(recv(fd, args, sizeof(args), MSG_WAITALL), (ssize_t)sizeof(args));
		EXPECT_EQ(args[0], (__u32)round);
	}
	close(fd);
}

TEST_F(Ctl, SilentAndSurplusClientsAreDropped)
{
	int silent[CTL_CLIENTS_MAX + 2];
	char c;

	for (int i = 0; i < CTL_CLIENTS_MAX + 2; i++)
		silent[i] = ctl_connect(path.c_str(), 1000);
	usleep(100000);
	// Clients past the limit are closed at once.
	struct timeval tv = { 2, 0 };
	setsockopt(silent[CTL_CLIENTS_MAX + 1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	EXPECT_EQ(recv(silent[CTL_CLIENTS_MAX + 1], &c, 1, 0), 0);
	// The rest are dropped once their deadline passes (forced here instead of waiting 5 s).
	for (int i = 0; i < CTL_CLIENTS_MAX; i++)
		srv.clients[i].deadline_ms = 0;
	ctl_expire(&srv);
	setsockopt(silent[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	EXPECT_EQ(recv(silent[0], &c, 1, 0), 0);
	for (int fd : silent)
		close(fd);
	struct ixdp_ctl_reply rep;
	void *payload;
	ASSERT_EQ(call(OP_ECHO, 1, &rep, &payload), 0); // room again for a well-behaved client
	free(payload);
}

// A child as user @uid opens @n silent clients; it writes how many the server kept and whether
// every refused one read an -EUSERS reply with a message, then holds them until @hold closes.
static pid_t foreign_clients(const std::string &path, uid_t uid, int n, int report,
			     const int hold[2])
{
	pid_t pid = fork();

	if (pid)
		return pid;
	alarm(30); // bounded, whatever the parent does
	close(hold[1]);
	if (setresgid(uid, uid, uid) || setresuid(uid, uid, uid))
		_exit(2);
	std::vector<int> fds;
	for (int i = 0; i < n; i++)
		fds.push_back(ctl_connect(path.c_str(), 1000));
	usleep(200000);
	unsigned char kept = 0, replied = 1;
	for (int fd : fds) {
		struct ixdp_ctl_reply rep;
		char msg[256];
		ssize_t got = recv(fd, &rep, sizeof(rep), MSG_DONTWAIT);

		if (got < 0 && errno == EAGAIN) {
			kept++;
			continue;
		}
		got = got == (ssize_t)sizeof(rep) && rep.len < sizeof(msg) ?
			recv(fd, msg, rep.len, MSG_DONTWAIT) : -1;
		if (got != (ssize_t)rep.len || rep.status != -EUSERS || rep.magic != IXDP_CTL_MAGIC ||
		    !memchr(msg, 0, rep.len))
			replied = 0;
	}
	unsigned char out[2] = { kept, replied };
	if (write(report, out, 2) != 2)
		_exit(3);
	char c;
	while (read(hold[0], &c, 1) > 0) // until the parent closes it
		;
	_exit(0);
}

TEST_F(Ctl, UsersHoldAFairShareOfTheSlotsAndRootAlwaysGetsIn)
{
	if (geteuid() != 0)
		GTEST_SKIP() << "needs root to play other users";
	// The socket's directories must let the other users in (the test's umask made them 0700).
	std::string dir = path.substr(0, path.rfind('/'));
	chmod(dir.c_str(), 0755);
	chmod(dir.substr(0, dir.rfind('/')).c_str(), 0755);
	chmod(path.c_str(), 0666);
	int report[2], hold[2];
	ASSERT_EQ(pipe(report), 0);
	ASSERT_EQ(pipe(hold), 0);
	// Users one after another, each trying for more than the whole table.
	const unsigned int want[4] = { CTL_UID_SLOTS, CTL_UID_SLOTS, CTL_UID_SLOTS,
				       CTL_CLIENTS_MAX - 3 * CTL_UID_SLOTS - CTL_ROOT_SLOTS };
	pid_t kids[4];
	for (int k = 0; k < 4; k++) {
		unsigned char got[2] = { 0, 0 };

		kids[k] = foreign_clients(path, 60000 + k, CTL_CLIENTS_MAX + 2, report[1], hold);
		ASSERT_GT(kids[k], 0);
		ASSERT_EQ(read(report[0], got, 2), 2) << "user " << k << " reported nothing";
		EXPECT_EQ(got[0], want[k]) << "control slots kept for uid " << 60000 + k;
		EXPECT_EQ(got[1], 1) << "a refused client of uid " << 60000 + k
				     << " had no -EUSERS reply";
	}
	// Every slot but root's is taken: root still gets in, twice at once.
	struct ixdp_ctl_reply rep;
	void *payload;
	int extra = ctl_connect(path.c_str(), 1000);
	ASSERT_GE(extra, 0);
	EXPECT_EQ(call(OP_ECHO, 7, &rep, &payload), 0) << "root shut out of the control socket";
	EXPECT_EQ(rep.status, 0);
	free(payload);
	close(extra);
	close(hold[1]);
	for (pid_t k : kids) {
		int st = -1;

		waitpid(k, &st, 0);
		EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "child status " << st;
	}
	close(hold[0]);
	close(report[0]);
	close(report[1]);
}

TEST_F(Ctl, SecondServerOnTheSamePathIsRefused)
{
	struct ctl other;
	int ep = epoll_create1(0);

	EXPECT_EQ(ctl_open(&other, path.c_str(), ep, handler, nullptr), -EADDRINUSE);
	ctl_close(&other);
	close(ep);
	EXPECT_EQ(access(path.c_str(), F_OK), 0) << "the refused server removed the live socket";
}

TEST(CtlClient, NoDaemon)
{
	EXPECT_EQ(ctl_connect("/nonexistent/ixdpd.sock", 1000), -ENOENT);
	EXPECT_EQ(ctl_connect(std::string(200, 'x').c_str(), 1000), -ENAMETOOLONG);
}

// ctl_open() on @path in a fresh server; returns its result and closes it again.
static int open_close(const std::string &path)
{
	struct ctl c;
	int ep = epoll_create1(0), ret = ctl_open(&c, path.c_str(), ep, handler, nullptr);

	ctl_close(&c);
	close(ep);
	return ret;
}

class CtlPath : public ::testing::Test {
protected:
	std::string top, dir, path;
	void SetUp() override
	{
		char t[] = "/tmp/ixdp-ctlpath.XXXXXX";
		ASSERT_NE(mkdtemp(t), nullptr);
		top = t;
		dir = top + "/run";
		path = dir + "/ixdpd.sock";
		ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
	}
	void TearDown() override
	{
		unlink(path.c_str());
		chmod(dir.c_str(), 0755);
		rmdir(dir.c_str());
		unlink((top + "/link").c_str());
		unlink((top + "/target").c_str());
		rmdir(top.c_str());
	}
};

TEST_F(CtlPath, DirectoryWritableByOthersIsRefusedUnlessSticky)
{
	for (mode_t m : { 0777, 0775, 0757, 0770 }) {
		ASSERT_EQ(chmod(dir.c_str(), m), 0);
		EXPECT_EQ(open_close(path), -EPERM) << std::oct << m;
		EXPECT_NE(access(path.c_str(), F_OK), 0) << "a socket was made in a refused directory";
	}
	for (mode_t m : { 01777, 01770, 0755, 0700, 0750 }) {
		ASSERT_EQ(chmod(dir.c_str(), m), 0);
		EXPECT_EQ(open_close(path), 0) << std::oct << m;
	}
}

TEST_F(CtlPath, DirectoryOfAnotherUserIsRefused)
{
	if (geteuid() != 0)
		GTEST_SKIP() << "needs root to give the directory away";
	ASSERT_EQ(chown(dir.c_str(), 65534, (gid_t)-1), 0);
	EXPECT_EQ(open_close(path), -EPERM);
	ASSERT_EQ(chown(dir.c_str(), 0, (gid_t)-1), 0);
	EXPECT_EQ(open_close(path), 0);
}

TEST_F(CtlPath, SymlinkedDirectoryIsNotFollowed)
{
	std::string link = top + "/link";
	ASSERT_EQ(symlink(dir.c_str(), link.c_str()), 0);
	int ret = open_close(link + "/ixdpd.sock");
	EXPECT_TRUE(ret == -ELOOP || ret == -ENOTDIR) << ret;
	EXPECT_NE(access(path.c_str(), F_OK), 0) << "a socket was made through the link";
}

TEST_F(CtlPath, SymlinkAtTheSocketPathIsNotReplaced)
{
	std::string target = top + "/target";
	int fd = open(target.c_str(), O_CREAT | O_WRONLY, 0600);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(write(fd, "keep", 4), 4);
	close(fd);
	ASSERT_EQ(symlink(target.c_str(), path.c_str()), 0);
	EXPECT_EQ(open_close(path), -ELOOP);
	char buf[256] = "";
	ASSERT_GT(readlink(path.c_str(), buf, sizeof(buf) - 1), 0) << "the link was removed";
	EXPECT_EQ(std::string(buf), target);
	struct stat st;
	ASSERT_EQ(stat(target.c_str(), &st), 0);
	EXPECT_TRUE(S_ISREG(st.st_mode) && st.st_size == 4 && (st.st_mode & 07777) == 0600);

	ASSERT_EQ(unlink(path.c_str()), 0); // a dangling one: bind would not follow it, still refused
	ASSERT_EQ(symlink((top + "/nowhere").c_str(), path.c_str()), 0);
	EXPECT_EQ(open_close(path), -ELOOP);
	EXPECT_NE(access((top + "/nowhere").c_str(), F_OK), 0);
}

TEST_F(CtlPath, OtherFilesAreNotReplacedAStaleSocketIs)
{
	int fd = open(path.c_str(), O_CREAT | O_WRONLY, 0644);
	ASSERT_GE(fd, 0);
	close(fd);
	EXPECT_EQ(open_close(path), -EEXIST);
	struct stat st;
	ASSERT_EQ(lstat(path.c_str(), &st), 0);
	EXPECT_TRUE(S_ISREG(st.st_mode)) << "the file was replaced";
	ASSERT_EQ(unlink(path.c_str()), 0);

	// A socket nobody answers on (a daemon killed with SIGKILL left it): replaced.
	struct sockaddr_un sun = {};
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path.c_str());
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ASSERT_EQ(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	EXPECT_EQ(open_close(path), 0);
	EXPECT_NE(access(path.c_str(), F_OK), 0) << "ctl_close left the socket";
}
