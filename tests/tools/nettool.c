// SPDX-License-Identifier: GPL-2.0
/*
 * nettool.c - traffic for ixdp's end-to-end tests, run in the peer namespace.
 *
 *   udp-flows ADDR PORT FLOWS COUNT [-b SPORT_BASE] [-s PAYLOAD] [-t ROUND_MS]
 *       FLOWS connected UDP sockets each send COUNT sequence-numbered datagrams; every answer is
 *       checked for flow, sequence and payload.  Exit 0 only if every datagram came back intact.
 *   udp-refused ADDR PORT          exit 0 if the kernel answers "port unreachable"
 *   udp-echo-server PORT SECONDS   kernel UDP echo (the "other port" of the coexistence test)
 *   tcp-echo-server PORT SECONDS   kernel TCP echo, one connection at a time
 *   tcp-echo ADDR PORT BYTES       connect, send BYTES, expect them back
 *   tcp-streams ADDR PORT CONNS [-n MIN] [-m MAX] [-r SEED] [-t SECONDS] [-A ABORT_PPM]
 *               [-H HOLD_SECONDS]
 *       CONNS concurrent connections to an echo service: all connect first (and are held
 *       open together), then each sends a stream of MIN..MAX bytes (log-uniform) whose every
 *       byte is a function of (connection, offset), half-closes, and checks the echo byte by
 *       byte up to the server's FIN.  Exit 0 only if every stream came back whole.  -A resets
 *       that share of the connections (SO_LINGER 0) half way through instead.  -H keeps all of
 *       them open and idle that long before the streams start (to inspect the server).
 *   tcp-reconnect ADDR PORT SPORT N
 *       N times: connect from source port SPORT, echo 100 bytes, close with a reset (no
 *       TIME_WAIT on our side): the same 4-tuple, again and again.
 *   impair IF_A IF_B SECONDS [-l LOSS_PPM] [-d DUP_PPM] [-o REORDER_PPM] [-r SEED]
 *       a transparent relay between two interfaces (AF_PACKET, both directions) that drops,
 *       duplicates and reorders frames with the given probabilities (per million); prints what
 *       it did when the time is up or on SIGTERM.  (netem is not built into every kernel.)
 *   garbage IFNAME DST_MAC DST_IP PORT [-n ROUNDS] [-r SEED]
 *       AF_PACKET: malformed and hostile frames; prints "sent N invalid_to_service M"
 *
 * Every wait is bounded; a test that hangs is a test that fails.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Headers sit 2 bytes off a 4-byte boundary after Ethernet: read them through byte-aligned views. */
typedef struct iphdr nt_ip4_t __attribute__((aligned(1)));
typedef struct udphdr nt_udp_t __attribute__((aligned(1)));

#include "clock.h"
#include "csum.h"

#define MAGIC 0x69786470u /* "ixdp" */
#define MAX_FLOWS 4096

struct dgram_hdr {
	uint32_t magic;
	uint32_t flow;
	uint32_t seq;
	uint32_t len;
};

static int resolve(const char *addr, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST }, *ai;
	char ps[8];

	snprintf(ps, sizeof(ps), "%d", port);
	if (getaddrinfo(addr, ps, &hints, &ai))
		return -1;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

/* Deterministic payload bytes of (flow, seq): a corrupted or swapped answer is caught. */
static void fill_payload(unsigned char *p, size_t len, uint32_t flow, uint32_t seq)
{
	uint32_t x = flow * 2654435761u ^ seq * 40503u ^ 0x9e3779b9u;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = x;
	}
}

static int udp_flows(int argc, char **argv)
{
	struct sockaddr_storage dst;
	socklen_t dlen;
	int flows, count, opt, port, payload = 64, round_ms = 1000, sport_base = 0;
	static int fds[MAX_FLOWS];
	static struct pollfd pfd[MAX_FLOWS];
	unsigned char buf[2048], want[2048];
	long sent = 0, received = 0, corrupt = 0, missing = 0, late = 0;
	int f, seq;

	optind = 6;
	while ((opt = getopt(argc, argv, "b:s:t:")) != -1) {
		if (opt == 'b')
			sport_base = atoi(optarg);
		else if (opt == 's')
			payload = atoi(optarg);
		else if (opt == 't')
			round_ms = atoi(optarg);
		else
			return 2;
	}
	port = atoi(argv[3]);
	flows = atoi(argv[4]);
	count = atoi(argv[5]);
	if (flows < 1 || flows > MAX_FLOWS || count < 1 ||
	    payload < (int)sizeof(struct dgram_hdr) || payload > 1400)
		return 2;
	if (resolve(argv[2], port, &dst, &dlen)) {
		fprintf(stderr, "bad address %s\n", argv[2]);
		return 2;
	}
	for (f = 0; f < flows; f++) {
		fds[f] = socket(dst.ss_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (fds[f] < 0) {
			perror("socket");
			return 1;
		}
		if (sport_base) {
			struct sockaddr_storage src;
			socklen_t slen = dlen;

			memset(&src, 0, sizeof(src));
			src.ss_family = dst.ss_family;
			if (dst.ss_family == AF_INET)
				((struct sockaddr_in *)&src)->sin_port = htons(sport_base + f);
			else
				((struct sockaddr_in6 *)&src)->sin6_port = htons(sport_base + f);
			if (bind(fds[f], (struct sockaddr *)&src, slen)) {
				perror("bind");
				return 1;
			}
		}
		if (connect(fds[f], (struct sockaddr *)&dst, dlen)) {
			perror("connect");
			return 1;
		}
		pfd[f] = (struct pollfd){ .fd = fds[f], .events = POLLIN };
	}

	for (seq = 0; seq < count; seq++) {
		static unsigned char got[MAX_FLOWS];
		int outstanding = 0;
		uint64_t deadline;

		for (f = 0; f < flows; f++) {
			struct dgram_hdr h = { MAGIC, f, seq, payload };

			memcpy(buf, &h, sizeof(h));
			fill_payload(buf + sizeof(h), payload - sizeof(h), f, seq);
			got[f] = 0;
			if (send(fds[f], buf, payload, 0) == payload) {
				sent++;
				outstanding++;
			} else {
				got[f] = 1; /* not sent: nothing to wait for */
				fprintf(stderr, "send flow %d: %s\n", f, strerror(errno));
			}
		}
		deadline = clock_now_ms() + round_ms;
		while (outstanding > 0 && clock_now_ms() < deadline) {
			int n = poll(pfd, flows, (int)(deadline - clock_now_ms()));

			if (n <= 0)
				break;
			for (f = 0; f < flows; f++) {
				struct dgram_hdr h;
				ssize_t len;

				if (!(pfd[f].revents & POLLIN))
					continue;
				while ((len = recv(fds[f], buf, sizeof(buf), 0)) >= 0) {
					if (len < (ssize_t)sizeof(h)) {
						corrupt++;
						continue;
					}
					memcpy(&h, buf, sizeof(h));
					if (len != payload || h.magic != MAGIC ||
					    h.flow != (uint32_t)f || h.len != (uint32_t)payload) {
						corrupt++;
						continue;
					}
					if (h.seq != (uint32_t)seq) {
						late++;
						continue;
					}
					fill_payload(want, payload - sizeof(h), f, seq);
					if (memcmp(buf + sizeof(h), want, payload - sizeof(h))) {
						corrupt++;
						continue;
					}
					if (!got[f]) {
						got[f] = 1;
						received++;
						outstanding--;
					}
				}
			}
		}
		missing += outstanding;
	}
	printf("sent %ld received %ld missing %ld corrupt %ld late %ld\n", sent, received, missing,
	       corrupt, late);
	return (received == sent && !corrupt && sent == (long)flows * count) ? 0 : 1;
}

static int udp_refused(int argc, char **argv)
{
	struct sockaddr_storage dst;
	socklen_t dlen;
	struct pollfd p;
	char buf[64];
	int fd, try;

	if (argc < 4 || resolve(argv[2], atoi(argv[3]), &dst, &dlen))
		return 2;
	fd = socket(dst.ss_family, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&dst, dlen))
		return 1;
	for (try = 0; try < 5; try++) {
		if (send(fd, "probe", 5, 0) < 0 && errno == ECONNREFUSED)
			goto refused;
		p = (struct pollfd){ .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 500) > 0) {
			if (recv(fd, buf, sizeof(buf), 0) < 0 && errno == ECONNREFUSED)
				goto refused;
			printf("answered\n");
			return 1;
		}
	}
	printf("no answer\n");
	return 1;
refused:
	printf("refused\n");
	return 0;
}

static int listen_on(int type, int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, type, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    (type == SOCK_STREAM && listen(fd, 16))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int udp_echo_server(int argc, char **argv)
{
	uint64_t end;
	char buf[2048];
	int fd;

	if (argc < 4)
		return 2;
	end = clock_now_ms() + atoi(argv[3]) * 1000ull;
	fd = listen_on(SOCK_DGRAM, atoi(argv[2]));
	if (fd < 0)
		return 1;
	while (clock_now_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t n;

		if (poll(&p, 1, 200) <= 0)
			continue;
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
		if (n >= 0)
			sendto(fd, buf, n, 0, (struct sockaddr *)&from, flen);
	}
	return 0;
}

static int tcp_echo_server(int argc, char **argv)
{
	uint64_t end;
	char buf[4096];
	int lfd;

	if (argc < 4)
		return 2;
	end = clock_now_ms() + atoi(argv[3]) * 1000ull;
	lfd = listen_on(SOCK_STREAM, atoi(argv[2]));
	if (lfd < 0)
		return 1;
	while (clock_now_ms() < end) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		int c;

		if (poll(&p, 1, 200) <= 0)
			continue;
		c = accept(lfd, NULL, NULL);
		if (c < 0)
			continue;
		for (;;) {
			struct pollfd q = { .fd = c, .events = POLLIN };
			ssize_t n;

			if (clock_now_ms() >= end || poll(&q, 1, 1000) <= 0)
				break;
			n = recv(c, buf, sizeof(buf), 0);
			if (n <= 0 || send(c, buf, n, MSG_NOSIGNAL) != n)
				break;
		}
		close(c);
	}
	return 0;
}

static int tcp_echo(int argc, char **argv)
{
	struct sockaddr_storage dst;
	socklen_t dlen;
	static unsigned char out[1 << 20], in[1 << 20];
	size_t len, sent = 0, got = 0;
	uint64_t end = clock_now_ms() + 5000;
	int fd;

	if (argc < 5 || resolve(argv[2], atoi(argv[3]), &dst, &dlen))
		return 2;
	len = strtoul(argv[4], NULL, 10);
	if (len > sizeof(out))
		return 2;
	fill_payload(out, len, 7, 7);
	fd = socket(dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return 1;
	connect(fd, (struct sockaddr *)&dst, dlen);
	while (got < len && clock_now_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN | (sent < len ? POLLOUT : 0) };
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		if (p.revents & (POLLERR | POLLHUP)) {
			printf("connection failed\n");
			return 1;
		}
		if ((p.revents & POLLOUT) && sent < len) {
			n = send(fd, out + sent, len - sent, MSG_NOSIGNAL);
			if (n > 0)
				sent += n;
		}
		if (p.revents & POLLIN) {
			n = recv(fd, in + got, len - got, 0);
			if (n <= 0)
				break;
			got += n;
		}
	}
	close(fd);
	if (got != len || memcmp(in, out, len)) {
		printf("tcp echo: got %zu of %zu bytes%s\n", got, len,
		       got == len ? " (corrupt)" : "");
		return 1;
	}
	printf("tcp echo: %zu bytes intact\n", len);
	return 0;
}

static uint32_t rnd_state = 1;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

/* --- many concurrent streams ------------------------------------------------------------- */

struct stream {
	int fd;
	uint64_t len;		/* bytes to send */
	uint64_t sent;
	uint64_t got;
	int connected;
	int wr_closed;
	int done;		/* server's FIN seen (or failed) */
	int bad;
	int abort;		/* reset it half way through */
};

/* Close with a reset: SO_LINGER with a zero timeout. */
static void close_reset(int fd)
{
	struct linger l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

/* Byte @i of stream @c: any reordering, loss, duplication or mix-up between streams shows. */
static inline uint8_t stream_byte(uint32_t c, uint64_t i)
{
	uint64_t x = (i >> 3) * 0x9e3779b97f4a7c15ull ^ (uint64_t)c * 0xbf58476d1ce4e5b9ull;

	x ^= x >> 31;
	return (uint8_t)(x >> ((i & 7) * 8));
}

static int tcp_streams(int argc, char **argv)
{
	struct sockaddr_storage dst;
	socklen_t dlen;
	uint64_t min = 1, max = 1 << 20, deadline, total = 0;
	unsigned int conns, i, seed = 1, seconds = 120, connected = 0, finished = 0, bad = 0;
	unsigned int abort_ppm = 0, aborted = 0, hold = 0;
	static struct stream *st; /* lives as long as the process: kept reachable, never a leak */
	struct epoll_event ev, evs[256];
	static uint8_t buf[1 << 16];
	int ep, opt;

	optind = 5;
	while ((opt = getopt(argc, argv, "n:m:r:t:A:H:")) != -1) {
		if (opt == 'H')
			hold = strtoul(optarg, NULL, 0);
		else if (opt == 'A')
			abort_ppm = strtoul(optarg, NULL, 0);
		else if (opt == 'n')
			min = strtoull(optarg, NULL, 0);
		else if (opt == 'm')
			max = strtoull(optarg, NULL, 0);
		else if (opt == 'r')
			seed = strtoul(optarg, NULL, 0);
		else if (opt == 't')
			seconds = strtoul(optarg, NULL, 0);
		else
			return 2;
	}
	conns = strtoul(argv[4], NULL, 0);
	if (!conns || conns > 20000 || !min || max < min ||
	    resolve(argv[2], atoi(argv[3]), &dst, &dlen))
		return 2;
	st = calloc(conns, sizeof(*st));
	ep = epoll_create1(0);
	if (!st || ep < 0)
		return 1;
	rnd_state = seed | 1;
	deadline = clock_now_ms() + seconds * 1000ull;

	/* Phase 1: every connection open at once. */
	for (i = 0; i < conns; i++) {
		double r = (rnd() % 1000000) / 1e6;

		st[i].len = (uint64_t)(min * pow((double)max / min, r));
		if (st[i].len < min)
			st[i].len = min;
		if (st[i].len > max)
			st[i].len = max;
		st[i].abort = rnd() % 1000000 < abort_ppm;
		st[i].fd = socket(dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (st[i].fd < 0) {
			perror("socket");
			return 1;
		}
		if (connect(st[i].fd, (struct sockaddr *)&dst, dlen) && errno != EINPROGRESS) {
			perror("connect");
			return 1;
		}
		ev.events = EPOLLOUT;
		ev.data.u32 = i;
		epoll_ctl(ep, EPOLL_CTL_ADD, st[i].fd, &ev);
	}
	while (connected < conns && clock_now_ms() < deadline) {
		int n = epoll_wait(ep, evs, 256, 100), k;

		for (k = 0; k < n; k++) {
			struct stream *s = &st[evs[k].data.u32];
			int err = 0;
			socklen_t l = sizeof(err);

			if (s->connected)
				continue;
			getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &l);
			if (err) {
				fprintf(stderr, "connect %u: %s\n", evs[k].data.u32, strerror(err));
				return 1;
			}
			s->connected = 1;
			connected++;
			ev.events = EPOLLIN | EPOLLOUT;
			ev.data.u32 = evs[k].data.u32;
			epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
		}
	}
	if (connected < conns) {
		printf("only %u of %u connections established\n", connected, conns);
		return 1;
	}
	printf("%u connections open at once\n", conns);
	fflush(stdout);
	if (hold)
		sleep(hold);

	/* Phase 2: streams out, echoes in, checked byte by byte. */
	while (finished < conns && clock_now_ms() < deadline) {
		int n = epoll_wait(ep, evs, 256, 100), k;

		for (k = 0; k < n; k++) {
			uint32_t c = evs[k].data.u32;
			struct stream *s = &st[c];
			ssize_t m;

			if (s->done)
				continue;
			if ((evs[k].events & EPOLLOUT) && s->sent < s->len) {
				uint64_t want = s->len - s->sent, j;

				if (want > sizeof(buf))
					want = sizeof(buf);
				for (j = 0; j < want; j++)
					buf[j] = stream_byte(c, s->sent + j);
				m = send(s->fd, buf, want, MSG_NOSIGNAL);
				if (m > 0)
					s->sent += m;
				if (s->abort && s->sent >= s->len / 2) {
					close_reset(s->fd);
					s->done = 1;
					finished++;
					aborted++;
					continue;
				}
			}
			if (s->sent == s->len && !s->wr_closed) {
				shutdown(s->fd, SHUT_WR); /* half-close: the echo still flows back */
				s->wr_closed = 1;
				ev.events = EPOLLIN;
				ev.data.u32 = c;
				epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
			}
			if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
				while ((m = recv(s->fd, buf, sizeof(buf), 0)) > 0) {
					for (ssize_t j = 0; j < m && !s->bad; j++)
						if (buf[j] != stream_byte(c, s->got + j))
							s->bad = 1;
					s->got += m;
				}
				if (m == 0 || (m < 0 && errno != EAGAIN)) {
					if (m < 0 || s->got != s->len)
						s->bad = 1;
					s->done = 1;
					finished++;
					bad += s->bad;
					total += s->got;
					close(s->fd);
				}
			}
		}
	}
	printf("streams %u finished %u bad %u aborted %u bytes %llu\n", conns, finished, bad,
	       aborted, (unsigned long long)total);
	return finished == conns && !bad ? 0 : 1;
}

static int tcp_reconnect(int argc, char **argv)
{
	struct sockaddr_storage dst, src;
	socklen_t dlen;
	unsigned int n, i;
	char out[100], in[100];
	int sport;

	if (resolve(argv[2], atoi(argv[3]), &dst, &dlen))
		return 2;
	sport = atoi(argv[4]);
	n = strtoul(argv[5], NULL, 0);
	memset(&src, 0, sizeof(src));
	src.ss_family = dst.ss_family;
	if (dst.ss_family == AF_INET)
		((struct sockaddr_in *)&src)->sin_port = htons(sport);
	else
		((struct sockaddr_in6 *)&src)->sin6_port = htons(sport);
	for (i = 0; i < n; i++) {
		struct timeval tv = { 3, 0 };
		size_t got = 0;
		int fd = socket(dst.ss_family, SOCK_STREAM, 0), one = 1;

		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (bind(fd, (struct sockaddr *)&src, dlen) ||
		    connect(fd, (struct sockaddr *)&dst, dlen)) {
			printf("round %u: %s\n", i, strerror(errno));
			return 1;
		}
		fill_payload((unsigned char *)out, sizeof(out), i, sport);
		if (send(fd, out, sizeof(out), 0) != sizeof(out))
			return 1;
		while (got < sizeof(in)) {
			ssize_t m = recv(fd, in + got, sizeof(in) - got, 0);

			if (m <= 0) {
				printf("round %u: echo: %s\n", i, m ? strerror(errno) : "EOF");
				return 1;
			}
			got += m;
		}
		if (memcmp(in, out, sizeof(in))) {
			printf("round %u: corrupt echo\n", i);
			return 1;
		}
		close_reset(fd);
	}
	printf("%u connections from port %d, each reset and reopened\n", n, sport);
	return 0;
}

/* --- impairing relay ------------------------------------------------------------------------- */

static volatile sig_atomic_t impair_stop;

static void impair_on_signal(int sig)
{
	impair_stop = 1;
}

static int packet_socket(const char *ifname, int *ifindex)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL)), buf = 8 << 20;

	/* Big buffers: the relay should lose only what it is told to. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf));
	*ifindex = if_nametoindex(ifname);
	sll.sll_ifindex = *ifindex;
	if (fd < 0 || !*ifindex || bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		perror(ifname);
		return -1;
	}
	return fd;
}

struct held_frame {
	int len;
	unsigned char b[2048];
};

static int impair(int argc, char **argv)
{
	uint32_t loss = 0, dup = 0, reorder = 0;
	long fwd[2] = { 0 }, dropped[2] = { 0 }, duped[2] = { 0 }, reordered[2] = { 0 };
	struct held_frame held[2] = { { 0 } };
	int fd[2], ifindex[2], opt, i;
	uint64_t end;

	optind = 5;
	while ((opt = getopt(argc, argv, "l:d:o:r:")) != -1) {
		if (opt == 'l')
			loss = strtoul(optarg, NULL, 0);
		else if (opt == 'd')
			dup = strtoul(optarg, NULL, 0);
		else if (opt == 'o')
			reorder = strtoul(optarg, NULL, 0);
		else if (opt == 'r')
			rnd_state = strtoul(optarg, NULL, 0) | 1;
		else
			return 2;
	}
	fd[0] = packet_socket(argv[2], &ifindex[0]);
	fd[1] = packet_socket(argv[3], &ifindex[1]);
	if (fd[0] < 0 || fd[1] < 0)
		return 1;
	signal(SIGTERM, impair_on_signal);
	signal(SIGINT, impair_on_signal);
	end = clock_now_ms() + strtoul(argv[4], NULL, 0) * 1000ull;
	printf("relaying %s <-> %s\n", argv[2], argv[3]);
	fflush(stdout);

	while (!impair_stop && clock_now_ms() < end) {
		struct pollfd p[2] = { { fd[0], POLLIN, 0 }, { fd[1], POLLIN, 0 } };

		if (poll(p, 2, 50) <= 0) {
			/* Quiet: a frame held for reordering must not wait for ever. */
			for (i = 0; i < 2; i++)
				if (held[i].len) {
					send(fd[!i], held[i].b, held[i].len, 0);
					held[i].len = 0;
				}
			continue;
		}
		for (i = 0; i < 2; i++) {
			struct sockaddr_ll from;
			socklen_t fl = sizeof(from);
			unsigned char b[2048];
			ssize_t n;

			while ((n = recvfrom(fd[i], b, sizeof(b), 0, (struct sockaddr *)&from, &fl)) > 0) {
				int out = fd[!i];

				if (from.sll_pkttype == PACKET_OUTGOING)
					continue; /* our own sends on this interface */
				if (rnd() % 1000000 < loss) {
					dropped[i]++;
					continue;
				}
				if (!held[i].len && rnd() % 1000000 < reorder) {
					memcpy(held[i].b, b, n); /* goes out after the next frame */
					held[i].len = n;
					reordered[i]++;
					continue;
				}
				send(out, b, n, 0);
				fwd[i]++;
				if (rnd() % 1000000 < dup) {
					send(out, b, n, 0);
					duped[i]++;
				}
				if (held[i].len) {
					send(out, held[i].b, held[i].len, 0);
					held[i].len = 0;
				}
			}
		}
	}
	printf("%s->%s: forwarded %ld dropped %ld duplicated %ld reordered %ld\n", argv[2],
	       argv[3], fwd[0], dropped[0], duped[0], reordered[0]);
	printf("%s->%s: forwarded %ld dropped %ld duplicated %ld reordered %ld\n", argv[3],
	       argv[2], fwd[1], dropped[1], duped[1], reordered[1]);
	return 0;
}

/* --- hostile frames --------------------------------------------------------------------- */

/* A valid UDP/IPv4 frame to the service, payload 18 bytes: the template the mutations start from. */
static size_t build_udp4(unsigned char *f, const unsigned char *dmac, uint32_t dip, int port,
			 uint16_t sport, int payload)
{
	struct ether_header *eth = (struct ether_header *)f;
	nt_ip4_t *ip = (nt_ip4_t *)(eth + 1);
	nt_udp_t *uh = (nt_udp_t *)(ip + 1);
	uint32_t sip = htonl(0xc6120002); /* 198.18.0.2 */

	memcpy(eth->ether_dhost, dmac, 6);
	memcpy(eth->ether_shost, "\x02\x00\xc6\x12\x00\x02", 6);
	eth->ether_type = htons(ETHERTYPE_IP);
	memset(ip, 0, sizeof(*ip));
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->saddr = sip;
	ip->daddr = dip;
	ip->tot_len = htons(sizeof(*ip) + sizeof(*uh) + payload);
	ip->check = ~csum_fold(csum_partial(ip, sizeof(*ip), 0));
	uh->source = htons(sport);
	uh->dest = htons(port);
	uh->len = htons(sizeof(*uh) + payload);
	uh->check = 0;
	fill_payload((unsigned char *)(uh + 1), payload, sport, port);
	uh->check = ~csum_fold(csum_partial(
		uh, sizeof(*uh) + payload,
		csum_pseudo_v4(&ip->saddr, &ip->daddr, IPPROTO_UDP, sizeof(*uh) + payload)));
	if (!uh->check)
		uh->check = 0xffff;
	return sizeof(*eth) + sizeof(*ip) + sizeof(*uh) + payload;
}

static int garbage(int argc, char **argv)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_halen = 6 };
	unsigned char f[1514], dmac[6];
	long sent = 0, to_service_bad = 0, to_service_good = 0;
	int fd, opt, rounds = 20, port, round, k;
	uint32_t dip;

	if (argc < 6)
		return 2;
	optind = 6;
	while ((opt = getopt(argc, argv, "n:r:")) != -1) {
		if (opt == 'n')
			rounds = atoi(optarg);
		else if (opt == 'r')
			rnd_state = strtoul(optarg, NULL, 0) | 1;
		else
			return 2;
	}
	if (sscanf(argv[3], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &dmac[0], &dmac[1], &dmac[2], &dmac[3],
		   &dmac[4], &dmac[5]) != 6 ||
	    inet_pton(AF_INET, argv[4], &dip) != 1)
		return 2;
	port = atoi(argv[5]);
	sll.sll_ifindex = if_nametoindex(argv[2]);
	memcpy(sll.sll_addr, dmac, 6);
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0 || !sll.sll_ifindex) {
		perror("AF_PACKET");
		return 1;
	}

#define SEND(len)                                                                            \
	do {                                                                                 \
		if (sendto(fd, f, (len), 0, (struct sockaddr *)&sll, sizeof(sll)) == (len))  \
			sent++;                                                              \
		else                                                                         \
			fprintf(stderr, "send %d bytes: %s\n", (int)(len), strerror(errno)); \
	} while (0)

	for (round = 0; round < rounds; round++) {
		nt_ip4_t *ip = (nt_ip4_t *)(f + 14);
		nt_udp_t *uh = (nt_udp_t *)(f + 34);
		size_t full;
		int len;

		/* Random bytes of random length (at least an Ethernet header). */
		for (k = 0; k < 8; k++) {
			len = 14 + rnd() % (1514 - 14 + 1);
			for (int i = 0; i < len; i++)
				f[i] = rnd();
			memcpy(f, dmac, 6);
			SEND(len);
		}
		/* Random bytes behind a plausible IPv4 or IPv6 Ethernet header. */
		for (k = 0; k < 8; k++) {
			len = 14 + rnd() % 200;
			for (int i = 14; i < len; i++)
				f[i] = rnd();
			memcpy(f, dmac, 6);
			f[12] = k & 1 ? 0x86 : 0x08;
			f[13] = k & 1 ? 0xdd : 0x00;
			SEND(len);
		}
		/* A valid service datagram cut at every length from 14 to one short of whole. */
		full = build_udp4(f, dmac, dip, port, 40000 + round, 18);
		for (len = 14; len < (int)full; len++)
			SEND(len);
		/* Bad IHL values. */
		for (k = 0; k < 5; k++) {
			build_udp4(f, dmac, dip, port, 40000 + round, 18);
			ip->ihl = k;
			SEND((int)full);
		}
		/* IPv4 total length: bigger than the frame, smaller than the header, 0, max. */
		{
			const uint16_t lens[] = { 0,	1,    19, 27, (uint16_t)(full - 14 + 1),
						  1500, 65535 };

			for (k = 0; k < (int)(sizeof(lens) / sizeof(lens[0])); k++) {
				build_udp4(f, dmac, dip, port, 40000 + round, 18);
				ip->tot_len = htons(lens[k]);
				SEND((int)full);
			}
		}
		/* UDP length field: 0, 7, one too long, huge. */
		{
			const uint16_t lens[] = { 0, 7, 27, 65535 };

			for (k = 0; k < 4; k++) {
				build_udp4(f, dmac, dip, port, 40000 + round, 18);
				uh->len = htons(lens[k]);
				SEND((int)full);
			}
		}
		/*
		 * Well-formed, steered to ixdpd, but hostile: a corrupted UDP checksum and a corrupted
		 * IPv4 header checksum.  The reflector must drop and count them, never answer.
		 */
		build_udp4(f, dmac, dip, port, 40000 + round, 18);
		uh->check ^= htons(0x0101);
		SEND((int)full);
		to_service_bad++;
		build_udp4(f, dmac, dip, port, 40000 + round, 18);
		ip->check ^= htons(0x0101);
		SEND((int)full);
		to_service_bad++;
		/* Padded to the minimum frame and to a large frame: valid, must be answered. */
		build_udp4(f, dmac, dip, port, 40000 + round, 18);
		memset(f + full, 0xee, 1514 - full);
		SEND(1514);
		to_service_good++;
	}
	printf("sent %ld to_service_bad %ld to_service_good %ld\n", sent, to_service_bad,
	       to_service_good);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
		int min_args;
	} cmds[] = {
		{ "udp-flows", udp_flows, 6 },
		{ "udp-refused", udp_refused, 4 },
		{ "udp-echo-server", udp_echo_server, 4 },
		{ "tcp-echo-server", tcp_echo_server, 4 },
		{ "tcp-echo", tcp_echo, 5 },
		{ "tcp-streams", tcp_streams, 5 },
		{ "tcp-reconnect", tcp_reconnect, 6 },
		{ "impair", impair, 5 },
		{ "garbage", garbage, 6 },
	};
	size_t i;

	for (i = 0; argc > 1 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name) && argc >= cmds[i].min_args)
			return cmds[i].fn(argc, argv);
	fprintf(stderr, "usage: see the comment at the top of tests/tools/nettool.c\n");
	return 2;
}
