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
 *       AF_PACKET: malformed and hostile frames; prints "sent N to_service_bad M
 *       to_service_good G replies_ok R replies_bad B": the reflector's answers as they arrived
 *       here (addresses, ports, payload and both checksums checked), counted by this receiver.
 *   tcp-garbage IFNAME DST_MAC DST_IP PORT [-6 DST_IP6] [-n ROUNDS] [-r SEED]
 *       AF_PACKET, from this host's address and ports 30000-39999: SYNs with garbage options,
 *       bad data offsets, truncated TCP headers, bad checksums, VLAN-tagged SYNs, stray ACK/RST/
 *       FIN, flag soup, and the same over IPv6 with -6; prints "sent N"
 *   syn-flood IFNAME DST_MAC DST_IP PORT COUNT [-p PORT2] [-t MS]
 *       COUNT SYNs, each from its own address and port in 198.19.0.0/16 (no route back: their
 *       SYN-ACKs go nowhere), spread over MS milliseconds (default 2000); with -p the second
 *       half goes to PORT2.  Prints "sent N"
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

#include "core/clock.h"
#include "net/csum.h"

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

/*
 * The reflector's answers to the valid datagrams, as they arrive on @rx within a second of the
 * last one (bounded): UDP from @dip:@port to 198.18.0.2, ports 40000.., with the payload the
 * datagram carried and valid IPv4 and UDP checksums.  Anything else from @dip:@port is bad.
 */
static void count_replies(int rx, uint32_t dip, int port, int rounds, long *ok, long *bad)
{
	uint64_t end = clock_now_ms() + 1000;
	/* Received 2 bytes into an aligned buffer, so the IP and UDP headers are 4-byte aligned. */
	unsigned char buf[2 + 2048] __attribute__((aligned(8))), *b = buf + 2, want[64];

	while (clock_now_ms() < end) {
		struct pollfd p = { .fd = rx, .events = POLLIN };
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		struct iphdr *ip = (struct iphdr *)(b + 14);
		struct udphdr *uh = (struct udphdr *)(b + 34);
		ssize_t n;
		int sport;

		if (poll(&p, 1, (int)(end - clock_now_ms())) <= 0)
			break;
		while ((n = recvfrom(rx, b, 2048, 0, (struct sockaddr *)&from, &fl)) > 0) {
			if (from.sll_pkttype == PACKET_OUTGOING || n < 42 || b[12] != 0x08 ||
			    b[13] != 0 || ip->protocol != IPPROTO_UDP || ip->saddr != dip ||
			    ntohs(uh->source) != port)
				continue;
			sport = ntohs(uh->dest);
			fill_payload(want, 18, sport, port);
			if (ip->ihl == 5 && ntohs(ip->tot_len) == 20 + 8 + 18 && n >= 14 + 46 &&
			    ip->daddr == htonl(0xc6120002) && sport >= 40000 && sport < 40000 + rounds &&
			    ntohs(uh->len) == 8 + 18 && !memcmp(uh + 1, want, 18) &&
			    csum_fold(csum_partial(ip, 20, 0)) == 0xffff &&
			    csum_fold(csum_partial(uh, 26, csum_pseudo_v4(&ip->saddr, &ip->daddr,
									    IPPROTO_UDP, 26))) == 0xffff)
				(*ok)++;
			else
				(*bad)++;
		}
	}
}

static int garbage(int argc, char **argv)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_halen = 6 };
	unsigned char f[1514], dmac[6];
	long sent = 0, to_service_bad = 0, to_service_good = 0, replies_ok = 0, replies_bad = 0;
	int fd, rx, rx_ifindex, opt, rounds = 20, port, round, k;
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
	rx = packet_socket(argv[2], &rx_ifindex); /* before the first send: no answer is missed */
	if (rx < 0)
		return 1;

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
	count_replies(rx, dip, port, rounds, &replies_ok, &replies_bad);
	printf("sent %ld to_service_bad %ld to_service_good %ld replies_ok %ld replies_bad %ld\n",
	       sent, to_service_bad, to_service_good, replies_ok, replies_bad);
	return 0;
}

/* --- hostile TCP ----------------------------------------------------------------------- */

struct tcp_frame {
	int v6;
	int vlan;		/* 802.1Q tag (VID 5) */
	uint32_t saddr[4], daddr[4];
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	const uint8_t *opts;
	int optlen;		/* padded to 4 with EOL */
	int doff;		/* 0: the right one */
	int plen;
	int cut;		/* bytes cut off the TCP segment (IP lengths follow the cut) */
	int bad_csum;
};

static size_t build_tcp(unsigned char *f, const unsigned char *dmac, const struct tcp_frame *t)
{
	size_t l2 = t->vlan ? 18 : 14, l3 = t->v6 ? 40 : 20, opt = (t->optlen + 3) & ~3;
	size_t l4 = 20 + opt + t->plen - t->cut;
	unsigned char *ip = f + l2, *th = ip + l3;
	uint32_t u;
	uint16_t c;
	int i;

	memset(f, 0, l2 + l3 + 20 + opt + t->plen);
	memcpy(f, dmac, 6);
	memcpy(f + 6, "\x02\x00\xc6\x12\x00\x02", 6);
	if (t->vlan) {
		f[12] = 0x81;
		f[15] = 5;
	}
	f[l2 - 2] = t->v6 ? 0x86 : 0x08;
	f[l2 - 1] = t->v6 ? 0xdd : 0x00;
	if (t->v6) {
		ip[0] = 0x60;
		ip[4] = l4 >> 8;
		ip[5] = l4;
		ip[6] = IPPROTO_TCP;
		ip[7] = 64;
		memcpy(ip + 8, t->saddr, 16);
		memcpy(ip + 24, t->daddr, 16);
	} else {
		ip[0] = 0x45;
		ip[2] = (20 + l4) >> 8;
		ip[3] = 20 + l4;
		ip[8] = 64;
		ip[9] = IPPROTO_TCP;
		memcpy(ip + 12, t->saddr, 4);
		memcpy(ip + 16, t->daddr, 4);
		c = ~csum_fold(csum_partial(ip, 20, 0));
		memcpy(ip + 10, &c, 2);
	}
	th[0] = t->sport >> 8;
	th[1] = t->sport;
	th[2] = t->dport >> 8;
	th[3] = t->dport;
	u = htonl(t->seq);
	memcpy(th + 4, &u, 4);
	u = htonl(t->ack);
	memcpy(th + 8, &u, 4);
	th[12] = (t->doff ? t->doff : (int)(20 + opt) / 4) << 4;
	th[13] = t->flags;
	th[14] = t->win >> 8;
	th[15] = t->win;
	if (t->optlen)
		memcpy(th + 20, t->opts, t->optlen);
	for (i = 0; i < t->plen; i++)
		th[20 + opt + i] = (uint8_t)(t->seq + i);
	if (l4 >= 18) {
		c = ~csum_fold(csum_partial(th, l4, t->v6 ? csum_pseudo_v6(ip + 8, ip + 24, IPPROTO_TCP, l4)
							   : csum_pseudo_v4(ip + 12, ip + 16,
									    IPPROTO_TCP, l4)));
		if (t->bad_csum)
			c ^= 0x0101;
		memcpy(th + 16, &c, 2);
	}
	return l2 + l3 + l4;
}

static int mac_of(const char *s, unsigned char mac[6])
{
	return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3],
		      &mac[4], &mac[5]) == 6 ? 0 : -1;
}

/* sendto() on AF_PACKET, waiting out a full device queue (ENOBUFS) a bounded while. */
static int raw_send(int fd, const void *f, size_t n, const struct sockaddr_ll *sll)
{
	int tries;

	for (tries = 0; tries < 1000; tries++) {
		if (sendto(fd, f, n, 0, (const struct sockaddr *)sll, sizeof(*sll)) == (ssize_t)n)
			return 0;
		if (errno != ENOBUFS && errno != EAGAIN)
			break;
		usleep(100);
	}
	fprintf(stderr, "send %zu bytes: %s\n", n, strerror(errno));
	return -1;
}

static int raw_sender(const char *ifname, const unsigned char *dmac, struct sockaddr_ll *sll)
{
	int fd = socket(AF_PACKET, SOCK_RAW, 0);

	memset(sll, 0, sizeof(*sll));
	sll->sll_family = AF_PACKET;
	sll->sll_halen = 6;
	sll->sll_ifindex = if_nametoindex(ifname);
	memcpy(sll->sll_addr, dmac, 6);
	if (fd < 0 || !sll->sll_ifindex) {
		perror("AF_PACKET");
		return -1;
	}
	return fd;
}

static int tcp_garbage(int argc, char **argv)
{
	static const uint8_t good_opts[] = { 2, 4, 0x05, 0xb4, 3, 3, 7, 4, 2, 8, 10, 0, 0, 0, 1,
					     0, 0, 0, 0, 1, 1 };
	static const uint8_t bad_opts[][8] = {
		{ 2, 0 },		/* MSS of length 0 */
		{ 2, 4, 0, 0 },		/* MSS 0 */
		{ 3, 3, 200 },		/* window scale 200 */
		{ 3, 1, 1, 1 },		/* window scale of length 1 */
		{ 8, 40 },		/* timestamps longer than the options */
		{ 0xff, 1, 2, 3 },	/* unknown kind, length 1 */
		{ 4, 0 },		/* SACK permitted of length 0 */
		{ 5, 2, 1, 1 },		/* a SACK block of nothing */
	};
	struct sockaddr_ll sll;
	unsigned char f[1600], dmac[6];
	uint8_t opts[40];
	uint32_t d6[4] = { 0 }, s6[4] = { 0 };
	long sent = 0;
	int fd, opt, rounds = 10, round, k, v6 = 0;
	struct tcp_frame t;

	optind = 6;
	while ((opt = getopt(argc, argv, "6:n:r:")) != -1) {
		if (opt == '6') {
			if (inet_pton(AF_INET6, optarg, d6) != 1)
				return 2;
			v6 = 1;
		} else if (opt == 'n') {
			rounds = atoi(optarg);
		} else if (opt == 'r') {
			rnd_state = strtoul(optarg, NULL, 0) | 1;
		} else {
			return 2;
		}
	}
	if (mac_of(argv[3], dmac))
		return 2;
	memset(&t, 0, sizeof(t));
	if (inet_pton(AF_INET, argv[4], &t.daddr[0]) != 1)
		return 2;
	inet_pton(AF_INET6, "2001:db8::2", s6);
	fd = raw_sender(argv[2], dmac, &sll);
	if (fd < 0)
		return 1;
#define TSEND()                                                                             \
	do {                                                                                \
		size_t n_ = build_tcp(f, dmac, &t);                                         \
		if (!raw_send(fd, f, n_, &sll))                                             \
			sent++;                                                             \
	} while (0)

	for (round = 0; round < rounds; round++) {
		int fam;

		for (fam = 0; fam <= v6; fam++) {
			struct tcp_frame base = { .v6 = fam, .dport = atoi(argv[5]), .win = 65535,
						  .flags = 0x02 };

			if (fam) {
				memcpy(base.saddr, s6, 16);
				memcpy(base.daddr, d6, 16);
			} else {
				base.saddr[0] = htonl(0xc6120002);
				base.daddr[0] = t.daddr[0];
			}
#define NEXT() (t = base, t.sport = 30000 + rnd() % 10000, t.seq = rnd())
			/* Well-formed options, then each garbage option, then random option bytes. */
			NEXT();
			t.opts = good_opts;
			t.optlen = sizeof(good_opts);
			TSEND();
			for (k = 0; k < (int)(sizeof(bad_opts) / sizeof(bad_opts[0])); k++) {
				NEXT();
				t.opts = bad_opts[k];
				t.optlen = sizeof(bad_opts[k]); /* the rest: EOL */
				TSEND();
			}
			for (k = 0; k < 4; k++) {
				int j;

				NEXT();
				t.optlen = rnd() % 41;
				for (j = 0; j < t.optlen; j++)
					opts[j] = rnd();
				t.opts = opts;
				TSEND();
			}
			/* Data offsets below 5, beyond the segment, and just right with no room. */
			for (k = 0; k < 16; k++) {
				NEXT();
				t.doff = k ? k : 1;
				TSEND();
			}
			/* The TCP header cut at every length short of 20 bytes (IP lengths agree). */
			for (k = 1; k <= 20; k++) {
				NEXT();
				t.cut = k;
				TSEND();
			}
			/* Bad checksum, VLAN-tagged (valid), stray segments, every flag at once. */
			NEXT();
			t.bad_csum = 1;
			TSEND();
			NEXT();
			t.vlan = 1;
			TSEND();
			NEXT();
			t.vlan = 1;
			t.opts = bad_opts[2];
			t.optlen = 4;
			TSEND();
			{
				static const uint8_t stray[] = { 0x10, 0x04, 0x14, 0x01, 0x11, 0x18,
								 0x3f, 0x00, 0x12, 0x06, 0x03 };

				for (k = 0; k < (int)sizeof(stray); k++) {
					NEXT();
					t.flags = stray[k];
					t.ack = rnd();
					t.plen = k * 10;
					TSEND();
				}
			}
#undef NEXT
		}
	}
	printf("sent %ld\n", sent);
	return 0;
}

static int syn_flood(int argc, char **argv)
{
	struct sockaddr_ll sll;
	unsigned char f[128], dmac[6];
	struct tcp_frame t = { .win = 65535, .flags = 0x02 };
	long count, sent = 0, i;
	int fd, opt, ms = 2000, port, port2 = 0, bursts = 20, b;

	optind = 7;
	while ((opt = getopt(argc, argv, "p:t:")) != -1) {
		if (opt == 'p')
			port2 = atoi(optarg);
		else if (opt == 't')
			ms = atoi(optarg);
		else
			return 2;
	}
	port = atoi(argv[5]);
	count = atol(argv[6]);
	if (mac_of(argv[3], dmac) || inet_pton(AF_INET, argv[4], &t.daddr[0]) != 1 || count < 1 ||
	    count > 1000000 || ms < 0 || ms > 60000)
		return 2;
	fd = raw_sender(argv[2], dmac, &sll);
	if (fd < 0)
		return 1;
	for (b = 0, i = 0; b < bursts; b++) {
		uint64_t due = clock_now_ms() + ms / bursts;

		for (; i < count * (b + 1) / bursts; i++) {
			size_t n;

			/* 198.19.0.0/16: address i / 4, port 10000 + (i % 4) * 1000 + i % 997. */
			t.saddr[0] = htonl(0xc6130000u + (uint32_t)(i / 4));
			t.sport = 10000 + (i % 4) * 1000 + i % 997;
			t.dport = port2 && i >= count / 2 ? port2 : port;
			t.seq = (uint32_t)i * 2654435761u;
			n = build_tcp(f, dmac, &t);
			if (!raw_send(fd, f, n, &sll))
				sent++;
		}
		while (clock_now_ms() < due)
			usleep(1000);
	}
	printf("sent %ld\n", sent);
	return sent == count ? 0 : 1;
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
		{ "tcp-garbage", tcp_garbage, 6 },
		{ "syn-flood", syn_flood, 7 },
	};
	size_t i;

	for (i = 0; argc > 1 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name) && argc >= cmds[i].min_args)
			return cmds[i].fn(argc, argv);
	fprintf(stderr, "usage: see the comment at the top of tests/tools/nettool.c\n");
	return 2;
}
