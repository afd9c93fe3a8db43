// SPDX-License-Identifier: BSD-2-Clause
/*
 * ix.c - libix's native API (include/ix/ix.h) over the shared-memory channels of
 * include/ixdp/app.h: attach, batched commands, events, the send areas and the wakeups.
 *
 * Choices the headers leave to the library, and that apps can rely on:
 *
 *   - Listening on "any address" (ix_listen() with a NULL @addr) sends LISTEN with family 0
 *     and an all-zero address: every address of the daemon's interface, both families (see
 *     enum ixdp_app_op).  An explicit AF_INET INADDR_ANY is IXDP_FAMILY_INET with a zero
 *     address (every IPv4 address only), and likewise for AF_INET6 in6addr_any.  ix_unlisten()
 *     must name the address the same way as the ix_listen() it undoes.
 *
 *   - Send area reservations: each channel (worker) has at most one outstanding ix_tx_alloc()
 *     buffer.  ix_send() of a pointer inside it (any sub-range) sends it in place and ends the
 *     reservation; the next ix_tx_alloc() for a handle of the same worker replaces a
 *     reservation never sent (its bytes are given back and must not be used again).  Copying
 *     sends (any other pointer) may be made while a reservation is outstanding; they do not
 *     end it.  A copying ix_send() of more than half the send area sends the first half-area
 *     only: its IX_EV_RESULT reports what was taken, as for any partial send.
 *
 *   - The send area of a channel is a FIFO of bytes: spans are handed out after each other
 *     (wrapping to the start when one would not fit before the end) and come back strictly in
 *     order, as the RESULTs of their SENDs arrive.  When a span does not fit, the events
 *     already published are moved to the private queue first (their RESULTs free spans), and
 *     only then does the call fail.
 *
 *   - LISTEN and UNLISTEN RESULTs never reach the app: ix_listen()/ix_unlisten() consume their
 *     own, and late ones (after a timeout) are dropped.  If a worker fails ix_listen() (or does
 *     not answer), the workers that did not fail are sent UNLISTEN before the error returns.
 *
 *   - A RECV whose bytes would lie outside the receive area reaches the app as IX_EV_DEAD with
 *     -EPROTO (the connection is unusable; close it).  Indices a worker publishes that make no
 *     sense end the context like a daemon crash: every call returns -ECONNRESET.
 *
 *   - Handles are opaque (ABI version 2).  Each context keeps a map handle -> worker, learned
 *     from the channel of the event that made the handle the context's (KNOCK, CONNECTED,
 *     MOVED), and forgotten at ix_close() (mapped again if the daemon refuses the CLOSE behind
 *     a short SEND), ix_reject() and a MOVE that succeeded: hmap.h,
 *     growing up to twice what the daemon lets the context hold (conns_max per worker, times
 *     the workers), so a lookup is O(1) and the table bounded.  A handle not in the map is
 *     -EBADF.
 *
 *   - A MOVED for a handle the context holds already (and is not moving away) says that its
 *     connection changed worker: libix re-points the handle to that channel and the app sees
 *     nothing (flow-group migration; docs/architecture.md has the plan).
 *
 *   - ix_move(): from the call until the MOVE's RESULT, the handle's RECV, SENT and DEAD
 *     events are held back (events of the handle libix had already taken from the rings and
 *     not yet returned are held back too).  On success they are dropped: they were the
 *     sender's view, and the new owner gets the bytes and the FIN/DEAD afresh.  On failure
 *     they are handed to the app after the RESULT, in their order: nothing was lost.  Other
 *     RESULTs of the handle (a SEND before the MOVE) are not held.
 *
 *   - ix_fd() is an epoll descriptor over the context's wake socket, its control connection
 *     and a private eventfd.  An ix_poll() that returns 0 leaves the context armed: the next
 *     event published by any worker makes ix_fd() readable.  A call that buffers events away
 *     from ix_poll() (ix_listen(), a full ring) makes it readable too.  Apps in their own
 *     loop call ix_poll(ctx, evs, max, 0) until it returns 0.
 */
#include <errno.h>
#include <sched.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ix/ix.h"
#include "ixdp/app.h"
#include "ixdp/ctl.h"
#include "hmap.h"
#include "ix_priv.h"

#define IX_FULL_WAIT_MS 1000	/* a full command ring waits this long for its worker */
#define IX_CTL_CHECK_NS (100 * 1000000ull)	/* ix_poll(.., 0) looks at the control socket */
#define IX_ERRMSG_MAX 4096	/* longest refusal message read from the daemon */
#define IX_NS_PER_MS 1000000ull
#define IX_MAP_MIN 1024		/* first size of a context's handle map */
#define IX_HENT_MOVING 1u	/* handle map flag: a MOVE is in flight, its events are held */
#define IX_CONNS_DEFAULT 16384	/* per worker, when the daemon does not say (conns_max 0) */

/* Events and ops are handed to the app with the daemon's numbers. */
#define IX_SAME(a, b) _Static_assert((int)(a) == (int)(b), #a " is " #b)
IX_SAME(IX_EV_RESULT, IXDP_APP_EV_RESULT);
IX_SAME(IX_EV_KNOCK, IXDP_APP_EV_KNOCK);
IX_SAME(IX_EV_CONNECTED, IXDP_APP_EV_CONNECTED);
IX_SAME(IX_EV_RECV, IXDP_APP_EV_RECV);
IX_SAME(IX_EV_SENT, IXDP_APP_EV_SENT);
IX_SAME(IX_EV_DEAD, IXDP_APP_EV_DEAD);
IX_SAME(IX_EV_MOVED, IXDP_APP_EV_MOVED);
IX_SAME(IX_OP_LISTEN, IXDP_APP_LISTEN);
IX_SAME(IX_OP_UNLISTEN, IXDP_APP_UNLISTEN);
IX_SAME(IX_OP_ACCEPT, IXDP_APP_ACCEPT);
IX_SAME(IX_OP_REJECT, IXDP_APP_REJECT);
IX_SAME(IX_OP_CONNECT, IXDP_APP_CONNECT);
IX_SAME(IX_OP_SEND, IXDP_APP_SEND);
IX_SAME(IX_OP_RECV_DONE, IXDP_APP_RECV_DONE);
IX_SAME(IX_OP_SHUTDOWN, IXDP_APP_SHUTDOWN);
IX_SAME(IX_OP_CLOSE, IXDP_APP_CLOSE);
IX_SAME(IX_OP_MOVE, IXDP_APP_MOVE);
#undef IX_SAME

enum ix_span_state {
	IX_SPAN_RESERVED,	/* ix_tx_alloc()'d, not sent */
	IX_SPAN_SENT,		/* SEND published or queued, RESULT awaited */
	IX_SPAN_DONE,		/* free once every older span is */
};

/* Bytes of a send area in use, in the order they were handed out. */
struct ix_span {
	uint64_t end;		/* stream position just past the span (and its wrap padding) */
	uint32_t seq;		/* SENT: the SEND's sequence number */
	uint32_t state;		/* enum ix_span_state */
};

struct ix_chan {
	struct ixdp_app_chan *hdr;
	struct ixdp_app_cmd *cmd;
	struct ixdp_app_ev *ev;
	uint8_t *rx;
	uint8_t *tx;
	int wake_fd;
	uint32_t cmd_mask;
	uint32_t ev_mask;
	uint32_t cmd_prod;	/* commands written, published or not */
	uint32_t ev_cons;

	/*
	 * The send area as a stream: position p is byte p % tx_size; [tx_tail, tx_head) is in
	 * use, split into spans[span_tail .. span_head).
	 */
	uint64_t tx_head;
	uint64_t tx_tail;
	struct ix_span *spans;
	uint32_t span_head;
	uint32_t span_tail;
	uint32_t span_cap;	/* a power of two, or 0 */

	/* the outstanding ix_tx_alloc() buffer */
	int has_resv;
	uint32_t resv_idx;	/* its span */
	uint64_t resv_prev;	/* tx_head before it */
	uint64_t resv_pos;	/* stream position of its first byte */
	uint8_t *resv_ptr;
	uint32_t resv_len;

	/* ix_listen()/ix_unlisten(): the RESULT awaited from this worker */
	uint32_t sync_seq;	/* 0: none */
	int sync_err;
};

struct ix_ctx {
	struct ixdp_app_shm *shm;
	size_t shm_size;
	int ctl_fd;
	int app_fd;
	int self_fd;		/* eventfd: events were buffered away from ix_poll() */
	int ep_fd;		/* ix_fd() */
	unsigned int nr_workers;
	unsigned int ifindex;	/* the daemon's interface (worker 0's channel says), 0: not said */
	uint32_t ctx_id;
	uint32_t rx_size;
	uint32_t tx_size;
	uint32_t seq;
	uint64_t spin_ns;	/* how long a wait spins before it sleeps: IX_SPIN_US or $IXDP_SPIN_US */
	int dead;
	int ending;		/* ix_end(): the daemon's EOF is expected, the rings still read */
	int armed;		/* app_sleeping left set by an ix_poll() that returned 0 */
	int no_autoarm;		/* ix_set_autoarm(0): only ix_arm_sleep() arms */
	int kicked;		/* self_fd holds a count */
	uint64_t dirty;		/* channels with unpublished commands */
	unsigned int rr_connect;
	unsigned int rr_drain;
	uint64_t ctl_checked;

	/* events taken from the rings while the app was not in ix_poll() */
	struct ix_event *fifo;
	uint32_t fifo_head;
	uint32_t fifo_tail;
	uint32_t fifo_cap;	/* a power of two, or 0 */
	ix_handle_t moved;	/* a MOVE's RESULT just taken (ix_ev_take -> ix_drain_chan) */
	int moved_err;

	/* handle -> channel (see the top of this file) */
	struct ix_hmap map;	/* val: the channel; flags: IX_HENT_MOVING */

	/* events of handles with a MOVE in flight, in order */
	struct ix_event *held;
	uint32_t held_len;
	uint32_t held_cap;

	struct ix_chan chan[];
};

/* --- logging ----------------------------------------------------------------------------- */

static pthread_mutex_t ix_log_lock = PTHREAD_MUTEX_INITIALIZER;
static ix_log_fn ix_log_cb;
static void *ix_log_arg;

/**
 * ix_set_log - set where libix's messages go (process-wide; default: nowhere).
 * @fn:  callback, NULL for none
 * @arg: its argument
 */
IX_API void ix_set_log(ix_log_fn fn, void *arg)
{
	pthread_mutex_lock(&ix_log_lock);
	ix_log_cb = fn;
	ix_log_arg = arg;
	pthread_mutex_unlock(&ix_log_lock);
}

/**
 * ix_logf - format a message and pass it to the log callback.
 * @level: enum ix_log_level
 * @fmt:   printf format
 *
 * The callback runs outside the lock, so it may call ix_set_log() itself.
 */
void ix_logf(int level, const char *fmt, ...)
{
	char msg[512];
	ix_log_fn fn;
	va_list ap;
	void *arg;

	pthread_mutex_lock(&ix_log_lock);
	fn = ix_log_cb;
	arg = ix_log_arg;
	pthread_mutex_unlock(&ix_log_lock);
	if (!fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fn(level, msg, arg);
}

/* --- small helpers ----------------------------------------------------------------------- */

static uint64_t ix_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t ix_deadline(int timeout_ms)
{
	return timeout_ms < 0 ? UINT64_MAX : ix_now_ns() + (uint64_t)timeout_ms * IX_NS_PER_MS;
}

/* Milliseconds to @deadline for poll(), rounded up: -1 for none, 0 when it has passed. */
static int ix_ms_left(uint64_t deadline)
{
	uint64_t now = ix_now_ns(), ms;

	if (deadline == UINT64_MAX)
		return -1;
	if (now >= deadline)
		return 0;
	ms = (deadline - now + IX_NS_PER_MS - 1) / IX_NS_PER_MS;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/*
 * One spin while waiting for events.  sched_yield(), not a pause: the worker often shares this
 * core, and a spinning app would keep it off the core for the whole spin (the worker yields
 * for the same reason).  With the core to itself, the call returns at once.
 */
static inline void ix_relax(void)
{
	sched_yield();
}

static int ix_is_pow2(uint32_t x)
{
	return x && !(x & (x - 1));
}

/* Does [off, off + len) lie inside [0, total)? */
static int ix_fits(uint64_t off, uint64_t len, uint64_t total)
{
	return off <= total && len <= total - off;
}

static uint32_t ix_next_seq(struct ix_ctx *ctx)
{
	if (++ctx->seq == 0)
		ctx->seq = 1;
	return ctx->seq;
}

static unsigned int ix_chan_nr(const struct ix_ctx *ctx, const struct ix_chan *ch)
{
	return (unsigned int)(ch - ctx->chan);
}

static void ix_set_dead(struct ix_ctx *ctx, const char *why)
{
	if (!ctx->dead && !ctx->ending)
		ix_logf(IX_LOG_ERR, "libix: context %u: %s", ctx->ctx_id, why);
	ctx->dead = 1;
}

/* --- the handle map --------------------------------------------------------------------- */

/* A power of two at least twice @per_worker * @nr handles (capped at 2^30 entries). */
static uint32_t ix_map_max(uint32_t per_worker, unsigned int nr)
{
	uint64_t want = 2ull * per_worker * nr;
	uint32_t cap = IX_MAP_MIN;

	while (cap < want && cap < (1u << 30))
		cap *= 2;
	return cap;
}

/* --- attach ------------------------------------------------------------------------------ */

/* What the attach reply carried besides bytes. */
struct ix_reply_fds {
	int fd[IXDP_APP_FDS_MAX];
	int nr;
	int extra;		/* more fds than IXDP_APP_FDS_MAX, or a truncated control message */
};

static int ix_ctl_connect(const char *path, uint64_t deadline, int *fdp)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int ms = ix_ms_left(deadline), fd, ret;
	struct timeval tv;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A Unix connect() blocks only while the backlog is full; SO_SNDTIMEO bounds it. */
	if (ms < 1)
		ms = 1;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		ret = (errno == EAGAIN || errno == EINPROGRESS) ? -ETIMEDOUT : -errno;
		close(fd);
		return ret;
	}
	*fdp = fd;
	return 0;
}

static void ix_take_fds(struct msghdr *msg, struct ix_reply_fds *r)
{
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		unsigned char *data = CMSG_DATA(cm);
		size_t i, n;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, data + i * sizeof(int), sizeof(fd));
			if (r->nr < IXDP_APP_FDS_MAX) {
				r->fd[r->nr++] = fd;
			} else {
				close(fd);
				r->extra = 1;
			}
		}
	}
	if (msg->msg_flags & MSG_CTRUNC)
		r->extra = 1;
}

/*
 * Read exactly @len bytes of the reply by @deadline, keeping the fds of any control message.
 * The daemon writes the reply with one sendmsg(), but a stream may still hand it over in parts.
 */
static int ix_ctl_read(int fd, void *buf, size_t len, struct ix_reply_fds *r, uint64_t deadline)
{
	size_t got = 0;

	while (got < len) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * IXDP_APP_FDS_MAX)];
			struct cmsghdr align;
		} cbuf;
		struct iovec iov = { .iov_base = (char *)buf + got, .iov_len = len - got };
		struct msghdr msg = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = cbuf.buf,
			.msg_controllen = sizeof(cbuf.buf),
		};
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int ms = ix_ms_left(deadline);
		ssize_t n;

		if (ms == 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, ms);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n <= 0)
			continue;
		n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		ix_take_fds(&msg, r);
		if (n == 0)
			return -ECONNRESET;
		got += n;
	}
	return 0;
}

static void ix_log_refusal(int fd, const struct ixdp_ctl_reply *rep, struct ix_reply_fds *r,
			   uint64_t deadline)
{
	char *msg;

	if (!rep->len || rep->len > IX_ERRMSG_MAX)
		goto no_msg;
	msg = malloc(rep->len + 1);
	if (!msg)
		goto no_msg;
	if (ix_ctl_read(fd, msg, rep->len, r, deadline)) {
		free(msg);
		goto no_msg;
	}
	msg[rep->len] = '\0';
	ix_logf(IX_LOG_ERR, "libix: ixdpd refused the attach: %s", msg);
	free(msg);
	return;
no_msg:
	ix_logf(IX_LOG_ERR, "libix: ixdpd refused the attach: %s", strerror(-rep->status));
}

struct ix_range {
	uint64_t off;
	uint64_t len;
};

static int ix_range_cmp(const void *a, const void *b)
{
	const struct ix_range *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* Do any two non-empty ranges overlap? */
static int ix_overlap(struct ix_range *r, unsigned int n)
{
	unsigned int i, j = 0;

	for (i = 0; i < n; i++)
		if (r[i].len)
			r[j++] = r[i];
	qsort(r, j, sizeof(*r), ix_range_cmp);
	for (i = 1; i < j; i++)
		if (r[i - 1].off + r[i - 1].len > r[i].off)
			return 1;
	return 0;
}

#define ix_refuse(...)                                                                      \
	do {                                                                                \
		ix_logf(IX_LOG_ERR,                                                         \
			"libix: the daemon's shared memory is inconsistent: " __VA_ARGS__); \
		ret = -EPROTO;                                                              \
		goto unmap;                                                                 \
	} while (0)

/*
 * Map the context's memory and check everything the daemon wrote into it before trusting any
 * offset: the library never touches memory outside the mapping, whatever the header says.
 */
static int ix_map(struct ix_ctx *ctx, const struct ixdp_app_attach *att, int memfd)
{
	unsigned int nr = att->nr_workers, w, nr_ranges = 0;
	struct ix_range *ranges = NULL;
	struct ixdp_app_shm h;
	uint64_t size = att->shm_size, chans;
	struct stat st;
	uint8_t *base;
	int ret;

	if (fstat(memfd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode) || size < sizeof(h) || size > (uint64_t)st.st_size ||
	    size > SIZE_MAX) {
		ix_logf(IX_LOG_ERR, "libix: the daemon's shared memory is %lld bytes, it said %llu",
			(long long)st.st_size, (unsigned long long)size);
		return -EPROTO;
	}
	base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (base == MAP_FAILED)
		return -errno;
	ctx->shm = (struct ixdp_app_shm *)base;
	ctx->shm_size = size;

	memcpy(&h, base, sizeof(h));
	if (h.magic != IXDP_APP_MAGIC || h.version != IXDP_APP_VERSION)
		ix_refuse("magic %#x version %u (libix: %#x version %u)", h.magic, h.version,
			  IXDP_APP_MAGIC, IXDP_APP_VERSION);
	if (h.hdr_size != sizeof(struct ixdp_app_shm) ||
	    h.cmd_size != sizeof(struct ixdp_app_cmd) || h.ev_size != sizeof(struct ixdp_app_ev) ||
	    h.chan_hdr_size != sizeof(struct ixdp_app_chan))
		ix_refuse("structure sizes %u/%u/%u/%u", h.hdr_size, h.cmd_size, h.ev_size,
			  h.chan_hdr_size);
	if (h.nr_workers != nr || h.shm_size != size)
		ix_refuse("%u workers and %llu bytes, the attach reply said %u and %llu",
			  h.nr_workers, (unsigned long long)h.shm_size, nr,
			  (unsigned long long)size);
	if (!ix_is_pow2(h.cmd_entries) || !ix_is_pow2(h.ev_entries))
		ix_refuse("ring sizes %u/%u", h.cmd_entries, h.ev_entries);
	if (h.chan_off % 64 || h.chan_size % 64 || h.chan_size < sizeof(struct ixdp_app_chan) ||
	    h.chan_off < sizeof(h) || __builtin_mul_overflow(h.chan_size, (uint64_t)nr, &chans) ||
	    !ix_fits(h.chan_off, chans, size))
		ix_refuse("channels at %llu, %llu bytes apart", (unsigned long long)h.chan_off,
			  (unsigned long long)h.chan_size);

	ranges = calloc(1 + 5 * nr, sizeof(*ranges));
	if (!ranges) {
		ret = -ENOMEM;
		goto unmap;
	}
	ranges[nr_ranges++] = (struct ix_range){ 0, sizeof(h) };
	ctx->rx_size = h.rx_size;
	ctx->tx_size = h.tx_size;
	ctx->ctx_id = h.ctx_id;
	ctx->map.min = IX_MAP_MIN;
	ctx->map.max = ix_map_max(h.conns_max ? h.conns_max : IX_CONNS_DEFAULT, nr);
	for (w = 0; w < nr; w++) {
		struct ixdp_app_chan *hdr = (void *)(base + h.chan_off + w * h.chan_size);
		struct ix_chan *ch = &ctx->chan[w];
		uint64_t cmd_off = hdr->cmd_off, ev_off = hdr->ev_off;
		uint64_t rx_off = hdr->rx_off, tx_off = hdr->tx_off;
		uint64_t cmd_len = (uint64_t)h.cmd_entries * sizeof(struct ixdp_app_cmd);
		uint64_t ev_len = (uint64_t)h.ev_entries * sizeof(struct ixdp_app_ev);
		uint32_t cmd_prod = hdr->cmd_prod, cmd_cons = hdr->cmd_cons;
		uint32_t ev_prod = hdr->ev_prod, ev_cons = hdr->ev_cons;

		if (cmd_off % __alignof__(struct ixdp_app_cmd) ||
		    ev_off % __alignof__(struct ixdp_app_ev) || !ix_fits(cmd_off, cmd_len, size) ||
		    !ix_fits(ev_off, ev_len, size) || !ix_fits(rx_off, h.rx_size, size) ||
		    !ix_fits(tx_off, h.tx_size, size))
			ix_refuse("worker %u: rings at %llu/%llu, areas at %llu/%llu", w,
				  (unsigned long long)cmd_off, (unsigned long long)ev_off,
				  (unsigned long long)rx_off, (unsigned long long)tx_off);
		if (cmd_prod - cmd_cons > h.cmd_entries || ev_prod - ev_cons > h.ev_entries)
			ix_refuse("worker %u: ring indices %u/%u %u/%u", w, cmd_prod, cmd_cons,
				  ev_prod, ev_cons);
		ranges[nr_ranges++] = (struct ix_range){ h.chan_off + w * h.chan_size,
							 sizeof(*hdr) };
		ranges[nr_ranges++] = (struct ix_range){ cmd_off, cmd_len };
		ranges[nr_ranges++] = (struct ix_range){ ev_off, ev_len };
		ranges[nr_ranges++] = (struct ix_range){ rx_off, h.rx_size };
		ranges[nr_ranges++] = (struct ix_range){ tx_off, h.tx_size };

		ch->hdr = hdr;
		ch->cmd = (struct ixdp_app_cmd *)(base + cmd_off);
		ch->ev = (struct ixdp_app_ev *)(base + ev_off);
		ch->rx = base + rx_off;
		ch->tx = base + tx_off;
		ch->cmd_mask = h.cmd_entries - 1;
		ch->ev_mask = h.ev_entries - 1;
		ch->cmd_prod = cmd_prod;
		ch->ev_cons = ev_cons;
	}
	if (ix_overlap(ranges, nr_ranges))
		ix_refuse("headers, rings or areas overlap");
	free(ranges);
	ctx->ifindex = nr ? ((struct ixdp_app_chan *)(base + h.chan_off))->ifindex : 0;
	__atomic_store_n(&ctx->shm->app_sleeping, 0, __ATOMIC_RELAXED);
	return 0;
unmap:
	free(ranges);
	munmap(base, size);
	ctx->shm = NULL;
	return ret;
}

#undef ix_refuse

/* The epoll set behind ix_fd(): the wake socket, the control connection, the kick eventfd. */
static int ix_fd_setup(struct ix_ctx *ctx)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ret;

	ctx->self_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ctx->self_fd < 0)
		return -errno;
	ctx->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (ctx->ep_fd < 0) {
		ret = -errno;
		goto close_self;
	}
	ev.data.fd = ctx->app_fd;
	if (epoll_ctl(ctx->ep_fd, EPOLL_CTL_ADD, ctx->app_fd, &ev))
		goto fail;
	ev.data.fd = ctx->self_fd;
	if (epoll_ctl(ctx->ep_fd, EPOLL_CTL_ADD, ctx->self_fd, &ev))
		goto fail;
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.fd = ctx->ctl_fd;
	if (epoll_ctl(ctx->ep_fd, EPOLL_CTL_ADD, ctx->ctl_fd, &ev))
		goto fail;
	return 0;
fail:
	ret = -errno;
	close(ctx->ep_fd);
	ctx->ep_fd = -1;
close_self:
	close(ctx->self_fd);
	ctx->self_fd = -1;
	return ret;
}

/*
 * How long a wait spins before it sleeps: IX_SPIN_US, or $IXDP_SPIN_US (0-1000000 µs; 0 sleeps at
 * once, for an app that shares its core with other work or whose CPU time is being measured).
 * A value that is not such a number is an error, not a silent default.
 */
static int ix_spin_setting(uint64_t *spin_ns)
{
	const char *v = getenv("IXDP_SPIN_US");
	unsigned long us;
	char *end;

	*spin_ns = IX_SPIN_US * 1000ull;
	if (!v)
		return 0;
	errno = 0;
	us = strtoul(v, &end, 10);
	if (!*v || *end || errno || us > 1000000 || *v == '-' || *v == '+' || *v == ' ') {
		ix_logf(IX_LOG_ERR, "libix: IXDP_SPIN_US=%s: not a number of microseconds 0-1000000",
			v);
		return -EINVAL;
	}
	*spin_ns = us * 1000ull;
	return 0;
}

/**
 * ix_attach - attach a new context to the daemon.
 * @control: control socket path; NULL: $IXDP_CONTROL, else IX_CONTROL_DEFAULT
 * @ctxp:    receives the context
 *
 * Return: 0; -EINVAL ($IXDP_SPIN_US is set but not 0-1000000), -ENOENT or -ECONNREFUSED (no
 * daemon there), -EACCES (refused), -EPROTO (another ABI version, or an inconsistent reply or
 * shared memory), -ETIMEDOUT, -EMFILE, -ENOMEM, or another negative errno from the socket calls.
 */
IX_API int ix_attach(const char *control, struct ix_ctx **ctxp)
{
	uint64_t deadline = ix_deadline(IX_ATTACH_TIMEOUT_MS);
	struct ixdp_ctl_req req = {
		.magic = IXDP_CTL_MAGIC,
		.version = IXDP_CTL_VERSION,
		.op = IXDP_CTL_APP_ATTACH,
		.arg = { IXDP_APP_MAGIC, IXDP_APP_VERSION },
	};
	struct ix_reply_fds r = { .nr = 0 };
	struct ixdp_app_attach att;
	struct ixdp_ctl_reply rep;
	struct ix_ctx *ctx;
	const char *path;
	uint64_t spin_ns;
	unsigned int w;
	int fd = -1, ret, i;

	if (!ctxp)
		return -EINVAL;
	*ctxp = NULL;
	ret = ix_spin_setting(&spin_ns);
	if (ret)
		return ret;
	path = control ? control : getenv("IXDP_CONTROL");
	if (!path || !*path)
		path = IX_CONTROL_DEFAULT;
	ret = ix_ctl_connect(path, deadline, &fd);
	if (ret) {
		ix_logf(IX_LOG_ERR, "libix: cannot reach ixdpd at %s: %s", path, strerror(-ret));
		return ret;
	}
	if (send(fd, &req, sizeof(req), MSG_NOSIGNAL | MSG_DONTWAIT) != sizeof(req)) {
		ret = errno == EPIPE ? -ECONNRESET : -errno;
		goto close_ctl;
	}
	ret = ix_ctl_read(fd, &rep, sizeof(rep), &r, deadline);
	if (ret)
		goto close_fds;
	if (rep.magic != IXDP_CTL_MAGIC || rep.version != IXDP_CTL_VERSION) {
		ix_logf(IX_LOG_ERR,
			"libix: ixdpd speaks control protocol %#x version %u, libix version %u",
			rep.magic, rep.version, IXDP_CTL_VERSION);
		ret = -EPROTO;
		goto close_fds;
	}
	if (rep.status) {
		ix_log_refusal(fd, &rep, &r, deadline);
		ret = rep.status < 0 ? rep.status : -EPROTO;
		goto close_fds;
	}
	if (rep.op != IXDP_CTL_APP_ATTACH || rep.len != sizeof(att)) {
		ix_logf(IX_LOG_ERR, "libix: attach reply for op %u with %u bytes", rep.op, rep.len);
		ret = -EPROTO;
		goto close_fds;
	}
	ret = ix_ctl_read(fd, &att, sizeof(att), &r, deadline);
	if (ret)
		goto close_fds;
	if (att.magic != IXDP_APP_MAGIC || att.version != IXDP_APP_VERSION) {
		ix_logf(IX_LOG_ERR, "libix: ixdpd speaks app ABI %#x version %u, libix version %u",
			att.magic, att.version, IXDP_APP_VERSION);
		ret = -EPROTO;
		goto close_fds;
	}
	if (!att.nr_workers || att.nr_workers > IXDP_APP_FDS_MAX - 2 ||
	    att.nr_fds != 2 + att.nr_workers || r.nr != att.nr_fds || r.extra) {
		ix_logf(IX_LOG_ERR,
			"libix: attach reply: %u workers, %u fds announced, %d received%s",
			att.nr_workers, att.nr_fds, r.nr, r.extra ? " and more" : "");
		ret = -EPROTO;
		goto close_fds;
	}

	ctx = calloc(1, sizeof(*ctx) + att.nr_workers * sizeof(struct ix_chan));
	if (!ctx) {
		ret = -ENOMEM;
		goto close_fds;
	}
	ctx->nr_workers = att.nr_workers;
	ctx->spin_ns = spin_ns;
	ctx->ctl_fd = fd;
	ctx->app_fd = r.fd[1];
	ret = ix_map(ctx, &att, r.fd[0]);
	if (ret)
		goto free_ctx;
	ret = ix_fd_setup(ctx);
	if (ret)
		goto unmap;
	close(r.fd[0]);		/* the mapping keeps the memory */
	for (w = 0; w < ctx->nr_workers; w++)
		ctx->chan[w].wake_fd = r.fd[2 + w];
	ix_logf(IX_LOG_INFO, "libix: attached to %s as context %u, %u workers", path, ctx->ctx_id,
		ctx->nr_workers);
	*ctxp = ctx;
	return 0;

unmap:
	munmap(ctx->shm, ctx->shm_size);
free_ctx:
	free(ctx);
close_fds:
	for (i = 0; i < r.nr; i++)
		close(r.fd[i]);
close_ctl:
	close(fd);
	return ret;
}

/**
 * ix_detach - close the context: the daemon resets its connections and frees its rings.
 * @ctx: the context (NULL: nothing)
 */
IX_API void ix_detach(struct ix_ctx *ctx)
{
	unsigned int w;

	if (!ctx)
		return;
	for (w = 0; w < ctx->nr_workers; w++) {
		close(ctx->chan[w].wake_fd);
		free(ctx->chan[w].spans);
	}
	close(ctx->ep_fd);
	close(ctx->self_fd);
	close(ctx->app_fd);
	close(ctx->ctl_fd);	/* the daemon sees the context end here */
	munmap(ctx->shm, ctx->shm_size);
	free(ctx->fifo);
	ix_hmap_free(&ctx->map);
	free(ctx->held);
	free(ctx);
}

/**
 * ix_nr_workers - number of the daemon's workers.
 * @ctx: the context
 *
 * Return: the count (0 for a NULL @ctx).
 */
IX_API unsigned int ix_nr_workers(const struct ix_ctx *ctx)
{
	return ctx ? ctx->nr_workers : 0;
}

/**
 * ix_ifindex - the interface the daemon serves, as an index of its network namespace (the
 * app's, when it runs beside the daemon): where an outgoing connection must route to go
 * through the daemon.
 * @ctx: the context
 *
 * Return: the index, or 0 (a NULL @ctx, or a daemon that does not say).
 */
IX_API unsigned int ix_ifindex(const struct ix_ctx *ctx)
{
	return ctx ? ctx->ifindex : 0;
}

/**
 * ix_fd - a descriptor that is readable when ix_poll() may have something to return.
 * @ctx: the context
 *
 * Return: the descriptor (an epoll set; libix's, not to be closed), or -EINVAL.
 */
IX_API int ix_fd(const struct ix_ctx *ctx)
{
	return ctx ? ctx->ep_fd : -EINVAL;
}

/* --- wakeups ------------------------------------------------------------------------------ */

static void ix_wake(int fd)
{
	char b = 0;

	/* EAGAIN: the worker's socket is full of wakeups already. */
	if (send(fd, &b, 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return;
}

static void ix_drain_wake(struct ix_ctx *ctx)
{
	char buf[64];
	int i;

	for (i = 0; i < 64; i++)
		if (recv(ctx->app_fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
			break;
}

/* Make ix_fd() readable: events wait in the private queue. */
static void ix_kick(struct ix_ctx *ctx)
{
	uint64_t one = 1;

	if (!ctx->kicked && write(ctx->self_fd, &one, sizeof(one)) == sizeof(one))
		ctx->kicked = 1;
}

/* Leave the armed state (see ix_poll()); @kick: hand the wakeup on to ix_fd(). */
static void ix_disarm(struct ix_ctx *ctx, int kick)
{
	uint64_t v;

	if (ctx->kicked && !kick) {
		if (read(ctx->self_fd, &v, sizeof(v)) < 0)
			v = 0;
		ctx->kicked = 0;
	}
	if (!ctx->armed)
		return;
	ctx->armed = 0;
	__atomic_store_n(&ctx->shm->app_sleeping, 0, __ATOMIC_RELAXED);
	ix_drain_wake(ctx);
	if (kick)
		ix_kick(ctx);
}

/* The control connection carries nothing after the attach: EOF or an error means the end. */
static void ix_check_ctl(struct ix_ctx *ctx)
{
	char buf[64];
	int i;

	for (i = 0; i < 16; i++) {
		ssize_t n = recv(ctx->ctl_fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0)
			continue;
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			ix_set_dead(ctx, "ixdpd closed the control connection");
		return;
	}
}

/* Publish every channel's queued commands, then wake the workers that sleep. */
static void ix_publish(struct ix_ctx *ctx)
{
	uint64_t dirty = ctx->dirty;
	unsigned int w;

	if (!dirty)
		return;
	for (w = 0; w < ctx->nr_workers; w++)
		if (dirty & (1ull << w))
			__atomic_store_n(&ctx->chan[w].hdr->cmd_prod, ctx->chan[w].cmd_prod,
					 __ATOMIC_RELEASE);
	ctx->dirty = 0;
	/*
	 * Pairs with the worker's fence between setting worker_sleeping and re-reading cmd_prod:
	 * either it sees the new commands or we see the flag.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (w = 0; w < ctx->nr_workers; w++)
		if ((dirty & (1ull << w)) &&
		    __atomic_load_n(&ctx->chan[w].hdr->worker_sleeping, __ATOMIC_RELAXED))
			ix_wake(ctx->chan[w].wake_fd);
}

static int ix_ev_pending(const struct ix_ctx *ctx)
{
	unsigned int w;

	for (w = 0; w < ctx->nr_workers; w++)
		if (__atomic_load_n(&ctx->chan[w].hdr->ev_prod, __ATOMIC_ACQUIRE) !=
		    ctx->chan[w].ev_cons)
			return 1;
	return 0;
}

/*
 * Wait for an event until @deadline (UINT64_MAX: none): spin ctx->spin_ns, then sleep on the
 * wake socket and the control connection.  Return 0 (look at the rings) or -ECONNRESET.
 */
static int ix_wait(struct ix_ctx *ctx, uint64_t deadline)
{
	struct pollfd pfd[2] = {
		{ .fd = ctx->app_fd, .events = POLLIN },
		{ .fd = ctx->ctl_fd, .events = POLLIN },
	};
	uint64_t now = ix_now_ns(), spin_end = now + ctx->spin_ns;
	int n;

	while (now < spin_end && now < deadline) {
		if (ix_ev_pending(ctx))
			return 0;
		ix_relax();
		now = ix_now_ns();
	}
	if (now >= deadline)
		return 0;
	__atomic_store_n(&ctx->shm->app_sleeping, 1, __ATOMIC_RELAXED);
	/* Pairs with the worker's fence between publishing events and reading app_sleeping. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (ix_ev_pending(ctx)) {
		__atomic_store_n(&ctx->shm->app_sleeping, 0, __ATOMIC_RELAXED);
		return 0;
	}
	n = poll(pfd, 2, ix_ms_left(deadline));
	__atomic_store_n(&ctx->shm->app_sleeping, 0, __ATOMIC_RELAXED);
	if (n > 0 && pfd[1].revents)
		ix_check_ctl(ctx);
	if (n > 0 && (pfd[0].revents & (POLLHUP | POLLERR | POLLNVAL)))
		ix_set_dead(ctx, "ixdpd closed the context's wake socket");
	else if (n > 0 && pfd[0].revents)
		ix_drain_wake(ctx);
	return ctx->dead ? -ECONNRESET : 0;
}

/* --- the send areas ---------------------------------------------------------------------- */

static struct ix_span *ix_span_at(struct ix_chan *ch, uint32_t idx)
{
	return &ch->spans[idx & (ch->span_cap - 1)];
}

static struct ix_span *ix_span_push(struct ix_chan *ch)
{
	if (ch->span_head - ch->span_tail == ch->span_cap) {
		uint32_t cap = ch->span_cap ? ch->span_cap * 2 : 64, i;
		struct ix_span *n = malloc(cap * sizeof(*n));

		if (!n)
			return NULL;
		for (i = ch->span_tail; i != ch->span_head; i++)
			n[i & (cap - 1)] = *ix_span_at(ch, i);
		free(ch->spans);
		ch->spans = n;
		ch->span_cap = cap;
	}
	return ix_span_at(ch, ch->span_head++);
}

/* Give back the spans at the front that are done. */
static void ix_tx_reap(struct ix_chan *ch)
{
	while (ch->span_tail != ch->span_head) {
		struct ix_span *s = ix_span_at(ch, ch->span_tail);

		if (s->state != IX_SPAN_DONE)
			break;
		ch->tx_tail = s->end;
		ch->span_tail++;
	}
	if (ch->span_tail == ch->span_head)
		ch->tx_head = ch->tx_tail = 0; /* empty: start again at offset 0, no wrap padding */
}

/* A SEND's RESULT arrived: its span is free once the older ones are. */
static void ix_tx_done(struct ix_ctx *ctx, struct ix_chan *ch, uint32_t seq)
{
	uint32_t i;

	for (i = ch->span_tail; i != ch->span_head; i++) {
		struct ix_span *s = ix_span_at(ch, i);

		if (s->state == IX_SPAN_SENT && s->seq == seq) {
			s->state = IX_SPAN_DONE;
			ix_tx_reap(ch);
			return;
		}
	}
	ix_logf(IX_LOG_WARN, "libix: worker %u answered send %u, which is not in flight",
		ix_chan_nr(ctx, ch), seq);
}

/*
 * Hand out @len contiguous bytes of @ch's send area: *@posp gets their stream position, *@prevp
 * the head before them (with any wrap padding between).  NULL with errno when they do not fit.
 */
static uint8_t *ix_tx_take(struct ix_ctx *ctx, struct ix_chan *ch, uint32_t len, uint64_t *posp,
			   uint64_t *prevp)
{
	uint64_t size = ctx->tx_size, off = ch->tx_head % size;
	uint64_t pad = off + len > size ? size - off : 0;
	struct ix_span *s;

	if (ch->tx_head - ch->tx_tail + pad + len > size) {
		errno = EAGAIN;
		return NULL;
	}
	s = ix_span_push(ch);
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	*prevp = ch->tx_head;
	*posp = ch->tx_head + pad;
	ch->tx_head = *posp + len;
	s->end = ch->tx_head;
	s->seq = 0;
	s->state = IX_SPAN_RESERVED;
	return ch->tx + *posp % size;
}

/* The outstanding reservation of @ch is given up. */
static void ix_resv_drop(struct ix_chan *ch)
{
	if (!ch->has_resv)
		return;
	ch->has_resv = 0;
	if (ch->resv_idx == ch->span_head - 1) {
		ch->span_head--;
		ch->tx_head = ch->resv_prev;
		ix_tx_reap(ch);
	} else {
		ix_span_at(ch, ch->resv_idx)->state = IX_SPAN_DONE;
		ix_tx_reap(ch);
	}
}

static int ix_drain_chan(struct ix_ctx *ctx, struct ix_chan *ch, struct ix_event *out, int max);

/* ix_tx_take(), and once more after taking the RESULTs already published. */
static uint8_t *ix_tx_get(struct ix_ctx *ctx, struct ix_chan *ch, uint32_t len, uint64_t *posp,
			  uint64_t *prevp)
{
	uint8_t *p = ix_tx_take(ctx, ch, len, posp, prevp);

	if (p || errno != EAGAIN)
		return p;
	ix_drain_chan(ctx, ch, NULL, 0);
	return ix_tx_take(ctx, ch, len, posp, prevp);
}

/* --- events ------------------------------------------------------------------------------ */

static struct ix_event *ix_fifo_slot(struct ix_ctx *ctx)
{
	if (ctx->fifo_head - ctx->fifo_tail == ctx->fifo_cap) {
		uint32_t cap = ctx->fifo_cap ? ctx->fifo_cap * 2 : 256, i;
		struct ix_event *n;

		if (cap > (1u << 30))
			return NULL;
		n = malloc(cap * sizeof(*n));
		if (!n)
			return NULL;
		for (i = ctx->fifo_tail; i != ctx->fifo_head; i++)
			n[i & (cap - 1)] = ctx->fifo[i & (ctx->fifo_cap - 1)];
		free(ctx->fifo);
		ctx->fifo = n;
		ctx->fifo_cap = cap;
	}
	return &ctx->fifo[ctx->fifo_head & (ctx->fifo_cap - 1)];
}

static int ix_fifo_pop(struct ix_ctx *ctx, struct ix_event *evs, int max)
{
	int n = 0;

	while (n < max && ctx->fifo_tail != ctx->fifo_head)
		evs[n++] = ctx->fifo[ctx->fifo_tail++ & (ctx->fifo_cap - 1)];
	return n;
}

/* The events a MOVE in flight holds back: they may be stale (see the top of this file). */
static int ix_holdable(int type)
{
	return type == IX_EV_RECV || type == IX_EV_SENT || type == IX_EV_DEAD;
}

/* Keep @ev aside until its handle's MOVE has its RESULT.  Return 0 or -ENOMEM. */
static int ix_hold(struct ix_ctx *ctx, const struct ix_event *ev)
{
	if (ctx->held_len == ctx->held_cap) {
		uint32_t cap = ctx->held_cap ? ctx->held_cap * 2 : 64;
		struct ix_event *n;

		if (cap > (1u << 30))
			return -ENOMEM;
		n = realloc(ctx->held, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		ctx->held = n;
		ctx->held_cap = cap;
	}
	ctx->held[ctx->held_len++] = *ev;
	return 0;
}

/* ix_move() of @h: its events already in the private queue are held back too, in order. */
static void ix_fifo_hold(struct ix_ctx *ctx, ix_handle_t h)
{
	uint32_t mask = ctx->fifo_cap - 1, r, w = ctx->fifo_tail;

	for (r = ctx->fifo_tail; r != ctx->fifo_head; r++) {
		struct ix_event *ev = &ctx->fifo[r & mask];

		if (ev->handle == h && ix_holdable(ev->type) && !ix_hold(ctx, ev))
			continue;
		if (w != r)
			ctx->fifo[w & mask] = *ev;
		w++;
	}
	ctx->fifo_head = w;
}

/*
 * The RESULT of @h's MOVE came (err): forget the handle, or keep it; its held events are
 * dropped, or queued for ix_poll() after the RESULT.  Return how many were queued.
 */
static int ix_move_done(struct ix_ctx *ctx, ix_handle_t h, int err)
{
	struct ix_hent *e = ix_hmap_find(&ctx->map, h);
	uint32_t r, w = 0;
	int queued = 0;

	if (!err)
		ix_hmap_del(&ctx->map, h);
	else if (e)
		e->flags &= ~IX_HENT_MOVING;
	for (r = 0; r < ctx->held_len; r++) {
		struct ix_event *ev = &ctx->held[r], *dst;

		if (ev->handle != h) {
			ctx->held[w++] = *ev;
			continue;
		}
		if (!err || !e)
			continue;	/* they travelled with the connection (or it is closed) */
		dst = ix_fifo_slot(ctx);
		if (!dst) {
			ix_logf(IX_LOG_ERR, "libix: no memory: an event of a connection is lost");
			continue;
		}
		*dst = *ev;
		ctx->fifo_head++;
		queued++;
	}
	ctx->held_len = w;
	if (queued)
		ix_kick(ctx);
	return queued;
}

/* @e's address @w (its addr or laddr) and @port as an ix_addr. */
static void ix_addr_from(const struct ixdp_app_ev *e, const __u32 w[4], uint16_t port,
			 struct ix_addr *a)
{
	a->port = port;
	if (e->family == IXDP_FAMILY_INET) {
		a->family = AF_INET;
		memcpy(&a->v4, &w[0], sizeof(a->v4));
	} else if (e->family == IXDP_FAMILY_INET6) {
		a->family = AF_INET6;
		memcpy(&a->v6, w, sizeof(a->v6));
	}
}

/* KNOCK, CONNECTED, MOVED: the remote and local ends into @out. */
static void ix_addr_get(const struct ixdp_app_ev *e, struct ix_event *out)
{
	ix_addr_from(e, e->addr, e->port, &out->remote);
	ix_addr_from(e, e->laddr, e->lport, &out->local);
}

/*
 * A MOVED for @h, which the context holds and is not moving away: its connection changed
 * worker, and its commands go to @ch from now on.  Return 1 when that was it (libix takes the
 * event), 0 for a connection another context handed over.
 */
static int ix_repoint(struct ix_ctx *ctx, struct ix_chan *ch, ix_handle_t h)
{
	struct ix_hent *e = ix_hmap_find(&ctx->map, h);

	if (!e || (e->flags & IX_HENT_MOVING))
		return 0;
	e->val = ix_chan_nr(ctx, ch);
	return 1;
}

/* 1: hand @ev to the app; 0: its handle has a MOVE in flight, and it is held back. */
static int ix_keep(struct ix_ctx *ctx, const struct ix_event *ev)
{
	const struct ix_hent *e = ix_hmap_find(&ctx->map, ev->handle);

	if (!e || !(e->flags & IX_HENT_MOVING))
		return 1;
	if (ix_hold(ctx, ev)) {
		ix_logf(IX_LOG_ERR, "libix: no memory to hold an event of a moving connection back");
		return 1;
	}
	return 0;
}

/*
 * Turn one event of worker @ch into @out, doing libix's part of it (send area, listen
 * results).  Return 1 when the app should see it, 0 when libix consumed it.
 */
static int ix_ev_take(struct ix_ctx *ctx, struct ix_chan *ch, const struct ixdp_app_ev *e,
		      struct ix_event *out)
{
	memset(out, 0, sizeof(*out));
	out->type = e->type;
	out->err = e->err;
	out->handle = e->handle;
	out->cookie = e->cookie;
	switch (e->type) {
	case IXDP_APP_EV_RESULT:
		if (e->op == IXDP_APP_LISTEN || e->op == IXDP_APP_UNLISTEN) {
			if (ch->sync_seq && e->seq == ch->sync_seq) {
				ch->sync_err = e->err;
				ch->sync_seq = 0;
			}
			return 0;
		}
		if (e->op == IXDP_APP_SEND)
			ix_tx_done(ctx, ch, e->seq);
		/* a CLOSE refused behind a short SEND: the handle is the app's again, as it was */
		if (e->op == IXDP_APP_CLOSE && e->err == -EAGAIN &&
		    ix_hmap_add(&ctx->map, e->handle, ix_chan_nr(ctx, ch)))
			ix_logf(IX_LOG_ERR, "libix: no room for handle %#llx: commands on it fail",
				(unsigned long long)e->handle);
		if (e->op == IXDP_APP_MOVE) {
			/* settled by ix_drain_chan() once this RESULT is stored */
			ctx->moved = e->handle;
			ctx->moved_err = e->err ? e->err : 0;
		}
		out->op = e->op;
		out->seq = e->seq;
		out->len = e->len;
		return 1;
	case IXDP_APP_EV_MOVED:
		if (ix_repoint(ctx, ch, e->handle))
			return 0;
		/* fall through */
	case IXDP_APP_EV_KNOCK:
		out->lport = e->lport;
		ix_addr_get(e, out);
		if (ix_hmap_add(&ctx->map, e->handle, ix_chan_nr(ctx, ch)))
			ix_logf(IX_LOG_ERR, "libix: no room for handle %#llx: commands on it fail",
				(unsigned long long)e->handle);
		return 1;
	case IXDP_APP_EV_CONNECTED:
		out->lport = e->lport;
		ix_addr_get(e, out);
		if (!e->err && e->handle && ix_hmap_add(&ctx->map, e->handle, ix_chan_nr(ctx, ch)))
			ix_logf(IX_LOG_ERR, "libix: no room for handle %#llx: commands on it fail",
				(unsigned long long)e->handle);
		return 1;
	case IXDP_APP_EV_RECV:
		if (!ix_fits(e->off, e->len, ctx->rx_size)) {
			ix_logf(IX_LOG_ERR,
				"libix: worker %u: received bytes at %llu+%u, outside the area",
				ix_chan_nr(ctx, ch), (unsigned long long)e->off, e->len);
			out->type = IX_EV_DEAD;
			out->err = -EPROTO;
			return 1;
		}
		out->data = ch->rx + e->off;
		out->len = e->len;
		return ix_keep(ctx, out);
	case IXDP_APP_EV_SENT:
		out->len = e->len;
		return ix_keep(ctx, out);
	case IXDP_APP_EV_DEAD:
		return ix_keep(ctx, out);
	}
	ix_logf(IX_LOG_WARN, "libix: worker %u sent an event of unknown type %u",
		ix_chan_nr(ctx, ch), e->type);
	return 0;
}

/*
 * Take the events @ch has published: into @out (at most @max) or, with @out NULL, all of them
 * into the private queue.  Return how many were stored.
 */
static int ix_drain_chan(struct ix_ctx *ctx, struct ix_chan *ch, struct ix_event *out, int max)
{
	uint32_t prod = __atomic_load_n(&ch->hdr->ev_prod, __ATOMIC_ACQUIRE), cons = ch->ev_cons;
	int n = 0;

	if (prod - cons > ch->ev_mask + 1) {
		ix_set_dead(ctx, "a worker published events it never wrote");
		return 0;
	}
	while (cons != prod && (!out || n < max)) {
		struct ixdp_app_ev e = ch->ev[cons & ch->ev_mask];
		struct ix_event *dst = out ? &out[n] : ix_fifo_slot(ctx);

		if (!dst) {
			ix_logf(IX_LOG_WARN,
				"libix: no memory to keep events; they wait in the ring");
			break;
		}
		cons++;
		if (!ix_ev_take(ctx, ch, &e, dst))
			continue;
		n++;
		if (!out) {
			ctx->fifo_head++;
			ix_kick(ctx);
		}
		if (ctx->moved) {
			ix_handle_t h = ctx->moved;

			ctx->moved = 0;
			/*
			 * Events given back by a failed MOVE wait in the private queue, which
			 * ix_poll() empties first: later ones of this channel must not pass them.
			 */
			if (ix_move_done(ctx, h, ctx->moved_err) && out)
				break;
		}
	}
	if (cons != ch->ev_cons) {
		ch->ev_cons = cons;
		__atomic_store_n(&ch->hdr->ev_cons, cons, __ATOMIC_RELEASE);
	}
	return n;
}

/* Every channel, starting with a different one each time. */
static int ix_drain_all(struct ix_ctx *ctx, struct ix_event *out, int max)
{
	unsigned int i, first = ctx->rr_drain;
	int n = 0;

	if (out && max <= 0)
		return 0;
	ctx->rr_drain = (first + 1) % ctx->nr_workers;
	for (i = 0; i < ctx->nr_workers; i++) {
		struct ix_chan *ch = &ctx->chan[(first + i) % ctx->nr_workers];

		n += ix_drain_chan(ctx, ch, out ? out + n : NULL, max - n);
		if (out && n >= max)
			break;
	}
	return n;
}

/* --- commands ---------------------------------------------------------------------------- */

/* 1: @ch's command ring has room; 0: full; -ECONNRESET: the worker's index makes no sense. */
static int ix_cmd_room(struct ix_ctx *ctx, struct ix_chan *ch)
{
	uint32_t used = ch->cmd_prod - __atomic_load_n(&ch->hdr->cmd_cons, __ATOMIC_ACQUIRE);

	if (used > ch->cmd_mask + 1) {
		ix_set_dead(ctx, "a worker consumed commands never written");
		return -ECONNRESET;
	}
	return used <= ch->cmd_mask;
}

/*
 * @ch's ring is full: publish it, wake its worker and wait (IX_FULL_WAIT_MS at most) for room,
 * meanwhile moving events into the private queue: a worker whose event ring is full takes no
 * more commands.
 */
static int ix_cmd_wait(struct ix_ctx *ctx, struct ix_chan *ch)
{
	uint64_t start = ix_now_ns(), deadline = start + IX_FULL_WAIT_MS * IX_NS_PER_MS;
	uint64_t spin_end = start + ctx->spin_ns, now;
	int ret;

	ix_disarm(ctx, 1);
	ix_publish(ctx);
	for (;;) {
		ix_drain_all(ctx, NULL, 0);
		ret = ix_cmd_room(ctx, ch);
		if (ret)
			return ret < 0 ? ret : 0;
		if (ctx->dead)
			return -ECONNRESET;
		now = ix_now_ns();
		if (now >= deadline) {
			ix_logf(IX_LOG_WARN, "libix: worker %u took no command for %d ms",
				ix_chan_nr(ctx, ch), IX_FULL_WAIT_MS);
			return -EAGAIN;
		}
		if (__atomic_load_n(&ch->hdr->worker_sleeping, __ATOMIC_RELAXED))
			ix_wake(ch->wake_fd);
		if (now < spin_end) {
			ix_relax();
		} else {
			struct pollfd p = { .fd = ctx->ctl_fd, .events = POLLIN };

			if (poll(&p, 1, 1) > 0)
				ix_check_ctl(ctx);
		}
	}
}

/* A zeroed slot of @ch's ring for a new command (waiting for room if the ring is full). */
static int ix_cmd_get(struct ix_ctx *ctx, struct ix_chan *ch, struct ixdp_app_cmd **cmdp)
{
	int ret = ix_cmd_room(ctx, ch);

	if (ret < 0)
		return ret;
	if (!ret) {
		ret = ix_cmd_wait(ctx, ch);
		if (ret)
			return ret;
	}
	*cmdp = &ch->cmd[ch->cmd_prod & ch->cmd_mask];
	memset(*cmdp, 0, sizeof(**cmdp));
	return 0;
}

/* Queue the command written in @cmd (published at the next ix_publish()); its seq. */
static long ix_cmd_put(struct ix_ctx *ctx, struct ix_chan *ch, struct ixdp_app_cmd *cmd)
{
	cmd->seq = ix_next_seq(ctx);
	ch->cmd_prod++;
	ctx->dirty |= 1ull << ix_chan_nr(ctx, ch);
	return cmd->seq;
}

static int ix_chan_of(struct ix_ctx *ctx, ix_handle_t h, struct ix_chan **chp)
{
	const struct ix_hent *e;

	if (!ctx)
		return -EINVAL;
	if (ctx->dead)
		return -ECONNRESET;
	e = ix_hmap_find(&ctx->map, h);
	if (!e)
		return -EBADF;
	*chp = &ctx->chan[e->val];
	return 0;
}

static long ix_simple(struct ix_ctx *ctx, ix_handle_t h, uint16_t op, uint16_t flags,
		      uint32_t len, uint64_t cookie)
{
	struct ixdp_app_cmd *cmd;
	struct ix_chan *ch;
	long ret;

	ret = ix_chan_of(ctx, h, &ch);
	if (ret)
		return ret;
	ret = ix_cmd_get(ctx, ch, &cmd);
	if (ret)
		return ret;
	cmd->op = op;
	cmd->flags = flags;
	cmd->len = len;
	cmd->handle = h;
	cmd->cookie = cookie;
	ret = ix_cmd_put(ctx, ch, cmd);
	if (op == IXDP_APP_CLOSE || op == IXDP_APP_REJECT)
		ix_hmap_del(&ctx->map, h);	/* invalid from here on */
	return ret;
}

static int ix_addr_put(const struct ix_addr *a, struct ixdp_app_cmd *cmd)
{
	memset(cmd->addr, 0, sizeof(cmd->addr));
	if (a->family == AF_INET) {
		cmd->family = IXDP_FAMILY_INET;
		memcpy(&cmd->addr[0], &a->v4, sizeof(a->v4));
	} else if (a->family == AF_INET6) {
		cmd->family = IXDP_FAMILY_INET6;
		memcpy(cmd->addr, &a->v6, sizeof(a->v6));
	} else {
		return -EINVAL;
	}
	return 0;
}

/**
 * ix_accept - take the connection of an IX_EV_KNOCK.
 * @ctx:    the context
 * @h:      the KNOCK's handle
 * @cookie: comes back in the connection's events
 *
 * Return: the command's sequence number, -EBADF, -EINVAL, -EAGAIN (ring full for 1 s),
 * -ECONNRESET.
 */
IX_API long ix_accept(struct ix_ctx *ctx, ix_handle_t h, uint64_t cookie)
{
	return ix_simple(ctx, h, IXDP_APP_ACCEPT, 0, 0, cookie);
}

/**
 * ix_reject - reset the connection of an IX_EV_KNOCK.
 * @ctx: the context
 * @h:   the KNOCK's handle
 *
 * Return: as ix_accept().
 */
IX_API long ix_reject(struct ix_ctx *ctx, ix_handle_t h)
{
	return ix_simple(ctx, h, IXDP_APP_REJECT, 0, 0, 0);
}

/**
 * ix_pass - hand the connection of an IX_EV_KNOCK to another context taking connections on its
 * listen (another process that holds the listener: ix_listen_fd()); ixdpd resets it when there
 * is none.  The handle is this context's no more.
 * @ctx: the context
 * @h:   the KNOCK's handle
 *
 * Return: as ix_accept().
 */
IX_API long ix_pass(struct ix_ctx *ctx, ix_handle_t h)
{
	return ix_simple(ctx, h, IXDP_APP_REJECT, IXDP_APP_REJECT_PASS, 0, 0);
}

/**
 * ix_connect - open a connection to @remote through the next worker (round-robin).
 * @ctx:    the context
 * @remote: AF_INET or AF_INET6 address, port not 0
 * @cookie: comes back in IX_EV_CONNECTED and the connection's events
 *
 * Return: as ix_accept().
 */
IX_API long ix_connect(struct ix_ctx *ctx, const struct ix_addr *remote, uint64_t cookie)
{
	struct ixdp_app_cmd *cmd, tmp;
	struct ix_chan *ch;
	int ret;

	if (!ctx || !remote || !remote->port || ix_addr_put(remote, &tmp))
		return -EINVAL;
	if (ctx->dead)
		return -ECONNRESET;
	ch = &ctx->chan[ctx->rr_connect++ % ctx->nr_workers];
	ret = ix_cmd_get(ctx, ch, &cmd);
	if (ret)
		return ret;
	cmd->op = IXDP_APP_CONNECT;
	cmd->cookie = cookie;
	memcpy(cmd->addr, tmp.addr, sizeof(cmd->addr));
	cmd->family = tmp.family;
	cmd->port = remote->port;
	return ix_cmd_put(ctx, ch, cmd);
}

/**
 * ix_recv_done - the app is done with the next @len received bytes of @h.
 * @ctx: the context
 * @h:   the connection
 * @len: bytes, 1 to UINT32_MAX
 *
 * Return: as ix_accept().
 */
IX_API long ix_recv_done(struct ix_ctx *ctx, ix_handle_t h, size_t len)
{
	if (!len || len > UINT32_MAX)
		return -EINVAL;
	return ix_simple(ctx, h, IXDP_APP_RECV_DONE, 0, (uint32_t)len, 0);
}

/**
 * ix_shutdown - send FIN after the queued bytes; receiving goes on.
 * @ctx: the context
 * @h:   the connection
 *
 * Return: as ix_accept().
 */
IX_API long ix_shutdown(struct ix_ctx *ctx, ix_handle_t h)
{
	return ix_simple(ctx, h, IXDP_APP_SHUTDOWN, 0, 0, 0);
}

/**
 * ix_close - close @h: FIN after the queued bytes, or RST with @reset.
 * @ctx:   the context
 * @h:     the connection; invalid from here on
 * @reset: non-zero for RST
 *
 * Return: as ix_accept().
 */
IX_API long ix_close(struct ix_ctx *ctx, ix_handle_t h, int reset)
{
	return ix_simple(ctx, h, IXDP_APP_CLOSE, reset ? IXDP_APP_CLOSE_RESET : 0, 0, 0);
}

/**
 * ix_move - hand @h to another context of this process.
 * @ctx:    the context that holds @h
 * @h:      the connection (OPEN or DEAD)
 * @to:     the new owner (attached by this process; read: its ctx_id)
 * @cookie: the new owner's, in its IX_EV_MOVED and the connection's later events
 *
 * Until the RESULT, the handle's RECV, SENT and DEAD events are held back (see the top of
 * this file): dropped if the MOVE succeeds, handed to the app after the RESULT if it fails.
 *
 * Return: the command's sequence number, -EBADF, -EINVAL (@to NULL or @ctx), -EBUSY (a MOVE
 * of @h is in flight already), -EAGAIN, -ECONNRESET.
 */
IX_API long ix_move(struct ix_ctx *ctx, ix_handle_t h, const struct ix_ctx *to, uint64_t cookie)
{
	struct ixdp_app_cmd *cmd;
	struct ix_hent *e;
	struct ix_chan *ch;
	long ret;

	if (!to || to == ctx)
		return -EINVAL;
	ret = ix_chan_of(ctx, h, &ch);
	if (ret)
		return ret;
	if (ix_hmap_find(&ctx->map, h)->flags & IX_HENT_MOVING)
		return -EBUSY;
	ret = ix_cmd_get(ctx, ch, &cmd);
	if (ret)
		return ret;
	cmd->op = IXDP_APP_MOVE;
	cmd->handle = h;
	cmd->cookie = cookie;
	cmd->len = to->ctx_id;
	ret = ix_cmd_put(ctx, ch, cmd);
	/* looked up again: events taken while waiting for room may have grown the map */
	e = ix_hmap_find(&ctx->map, h);
	if (e)
		e->flags |= IX_HENT_MOVING;
	ix_fifo_hold(ctx, h);
	return ret;
}

/**
 * ix_tx_alloc - reserve @len bytes of the send area of @h's worker, to build data in place.
 * @ctx: the context
 * @h:   any handle of the worker the data will be sent through
 * @len: bytes, at most half the area
 *
 * Replaces the worker's previous reservation if it was never sent (see the top of this file).
 *
 * Return: the buffer, or NULL with errno: EAGAIN (no room now), EINVAL, EBADF, ECONNRESET,
 * ENOMEM.
 */
IX_API void *ix_tx_alloc(struct ix_ctx *ctx, ix_handle_t h, size_t len)
{
	struct ix_chan *ch;
	uint64_t prev, pos;
	uint8_t *p;
	int ret;

	ret = ix_chan_of(ctx, h, &ch);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	if (!len || len > ctx->tx_size / 2) {
		errno = EINVAL;
		return NULL;
	}
	ix_resv_drop(ch);
	p = ix_tx_get(ctx, ch, (uint32_t)len, &pos, &prev);
	if (!p)
		return NULL;
	ch->has_resv = 1;
	ch->resv_idx = ch->span_head - 1;
	ch->resv_prev = prev;
	ch->resv_pos = pos;
	ch->resv_ptr = p;
	ch->resv_len = (uint32_t)len;
	return p;
}

/**
 * ix_send_flags - send @len bytes of @buf on @h: in place from the worker's ix_tx_alloc()
 * buffer, else copied into its send area.
 * @ctx:   the context
 * @h:     the connection
 * @buf:   the bytes
 * @len:   their count (a copy takes at most half the send area)
 * @flags: 0, or IX_SEND_RESUME: the first send after a short RESULT (include/ix/ix.h)
 *
 * Return: the command's sequence number (its IX_EV_RESULT says how many bytes were taken),
 * -EAGAIN (no room in the send area, or the ring stayed full for 1 s), -EBADF, -EINVAL,
 * -ENOMEM, -ECONNRESET.
 */
IX_API long ix_send_flags(struct ix_ctx *ctx, ix_handle_t h, const void *buf, size_t len,
			  unsigned int flags)
{
	const uint8_t *b = buf;
	struct ixdp_app_cmd *cmd;
	struct ix_span *s;
	struct ix_chan *ch;
	uint64_t pos, prev;
	uint8_t *p;
	long seq;
	int ret;

	ret = ix_chan_of(ctx, h, &ch);
	if (ret)
		return ret;
	if (!buf || !len || (flags & ~IX_SEND_RESUME))
		return -EINVAL;
	ret = ix_cmd_get(ctx, ch, &cmd);
	if (ret)
		return ret;
	/* inside the outstanding reservation (compared as integers: buf may be any pointer) */
	if (ch->has_resv && (uintptr_t)b >= (uintptr_t)ch->resv_ptr && len <= ch->resv_len &&
	    (uintptr_t)b - (uintptr_t)ch->resv_ptr <= ch->resv_len - len) {
		s = ix_span_at(ch, ch->resv_idx);
		if (ch->resv_idx == ch->span_head - 1) {
			/* the newest span: what follows the sent bytes is free again */
			pos = ch->resv_pos + (b - ch->resv_ptr);
			s->end = ch->tx_head = pos + len;
		}
		ch->has_resv = 0;
		p = (uint8_t *)b;
	} else {
		if (len > ctx->tx_size / 2)
			len = ctx->tx_size / 2;
		if (!len)
			return -EINVAL;
		p = ix_tx_get(ctx, ch, (uint32_t)len, &pos, &prev);
		if (!p)
			return -errno;
		memmove(p, buf, len);
		s = ix_span_at(ch, ch->span_head - 1);
	}
	cmd->op = IXDP_APP_SEND;
	cmd->flags = flags & IX_SEND_RESUME ? IXDP_APP_SEND_RESUME : 0;
	cmd->handle = h;
	cmd->off = (uint64_t)(p - ch->tx);
	cmd->len = (uint32_t)len;
	seq = ix_cmd_put(ctx, ch, cmd);
	s->state = IX_SPAN_SENT;
	s->seq = (uint32_t)seq;
	return seq;
}

/* ix_send - ix_send_flags() without flags. */
IX_API long ix_send(struct ix_ctx *ctx, ix_handle_t h, const void *buf, size_t len)
{
	return ix_send_flags(ctx, h, buf, len, 0);
}

/**
 * ix_flush - publish the queued commands now, waking sleeping workers.
 * @ctx: the context
 *
 * Return: 0, -EINVAL, -ECONNRESET.
 */
IX_API int ix_flush(struct ix_ctx *ctx)
{
	if (!ctx)
		return -EINVAL;
	if (ctx->dead)
		return -ECONNRESET;
	ix_publish(ctx);
	return 0;
}

/* --- listen ------------------------------------------------------------------------------ */

static uint64_t ix_all_workers(const struct ix_ctx *ctx)
{
	return ctx->nr_workers >= 64 ? ~0ull : (1ull << ctx->nr_workers) - 1;
}

/*
 * Send @tmpl to each worker of @mask and wait (IX_SYNC_TIMEOUT_MS in all) for its RESULT,
 * keeping other events for ix_poll().  Each worker's outcome is left in chan[w].sync_err
 * (-ETIMEDOUT: no answer).  Return 0 or -ECONNRESET.
 */
static int ix_sync(struct ix_ctx *ctx, const struct ixdp_app_cmd *tmpl, uint64_t mask)
{
	uint64_t deadline = ix_deadline(IX_SYNC_TIMEOUT_MS), pending = 0;
	struct ixdp_app_cmd *cmd;
	unsigned int w;
	int ret;

	ix_disarm(ctx, 1);
	for (w = 0; w < ctx->nr_workers; w++) {
		struct ix_chan *ch = &ctx->chan[w];

		ch->sync_seq = 0;
		ch->sync_err = -ETIMEDOUT;
		if (!(mask & (1ull << w)))
			continue;
		ret = ix_cmd_get(ctx, ch, &cmd);
		if (ret) {
			ch->sync_err = ret;
			continue;
		}
		*cmd = *tmpl;
		ch->sync_seq = (uint32_t)ix_cmd_put(ctx, ch, cmd);
		pending |= 1ull << w;
	}
	ix_publish(ctx);
	while (pending && !ctx->dead) {
		ix_drain_all(ctx, NULL, 0);
		for (w = 0; w < ctx->nr_workers; w++)
			if (!ctx->chan[w].sync_seq)
				pending &= ~(1ull << w);
		if (!pending || ix_now_ns() >= deadline)
			break;
		ix_wait(ctx, deadline);
	}
	for (w = 0; w < ctx->nr_workers; w++)
		ctx->chan[w].sync_seq = 0;	/* late answers are dropped */
	return ctx->dead ? -ECONNRESET : 0;
}

/* The rule behind a refused listen, for the log: ixdpd answers each with its own errno. */
static const char *ix_listen_why(int err)
{
	switch (err) {
	case -EACCES:
		return " (a user's app listens only on ixdpd's app-ports, never below 1024)";
	case -ERANGE:
		return " (the port is inside the kernel's ephemeral range)";
	case -EBUSY:
		return " (the kernel has a listener on it)";
	}
	return "";
}

/**
 * ix_listen_fd - accept connections to @port on @addr through every worker, as a holder of
 * kernel socket @fd, and maybe idle.
 * @ctx:    the context
 * @addr:   local address (port ignored); NULL: any address, both families
 * @port:   host order, not 0
 * @cookie: comes back in each IX_EV_KNOCK
 * @fd:     a kernel TCP socket of this process listening on the same address and port, or -1:
 *          processes holding it (forked, sent it, or SO_REUSEPORT siblings of one user) may
 *          share the port with each other, not only contexts of one process
 * @flags:  IX_LISTEN_IDLE: claim the port but take no connection until ix_listen_fd() without
 *          it (they wait in ixdpd)
 *
 * Waits for every worker's answer; if one fails, the others are made to stop listening again.
 *
 * Return: 0, the first worker's error (-EADDRINUSE, -EACCES, -ERANGE, -EBUSY, -EINVAL,
 * -ENOSPC, ...), -EBADF (@fd is not open), -ETIMEDOUT, -ECONNRESET.
 */
IX_API int ix_listen_fd(struct ix_ctx *ctx, const struct ix_addr *addr, uint16_t port,
			uint64_t cookie, int fd, unsigned int flags)
{
	struct ixdp_app_cmd tmpl = {
		.op = IXDP_APP_LISTEN,
		.cookie = cookie,
		.port = port,
		.family = 0,	/* with a zero address: any, both families */
	};
	struct stat st;
	uint64_t undo = 0;
	unsigned int w, bad = 0;
	int ret, err = 0;

	if (!ctx || !port || (addr && ix_addr_put(addr, &tmpl)) || (flags & ~IX_LISTEN_IDLE))
		return -EINVAL;
	if (fd >= 0) {
		if (fstat(fd, &st))
			return -errno;
		tmpl.handle = st.st_ino;	/* a socket's inode, as /proc/PID/fd shows it */
	}
	if (flags & IX_LISTEN_IDLE)
		tmpl.flags = IXDP_APP_LISTEN_IDLE;
	if (ctx->dead)
		return -ECONNRESET;
	ret = ix_sync(ctx, &tmpl, ix_all_workers(ctx));
	if (ret)
		return ret;
	for (w = 0; w < ctx->nr_workers; w++) {
		int e = ctx->chan[w].sync_err;

		/* a worker that did not answer may still listen: undo it too */
		if (!e || e == -ETIMEDOUT)
			undo |= 1ull << w;
		if (e && !err) {
			err = e;
			bad = w;
		}
	}
	if (!err)
		return 0;
	ix_logf(IX_LOG_WARN, "libix: listening on port %u failed on worker %u: %s%s", port, bad,
		strerror(-err), ix_listen_why(err));
	tmpl.op = IXDP_APP_UNLISTEN;
	tmpl.cookie = 0;
	tmpl.flags = 0;
	tmpl.handle = 0;
	if (undo && ix_sync(ctx, &tmpl, undo))
		return -ECONNRESET;
	return err;
}

/**
 * ix_listen - accept connections to @port on @addr through every worker: ix_listen_fd()
 * without a kernel socket (the port is shared only by contexts of this process), taking
 * connections at once.
 *
 * Return: as ix_listen_fd().
 */
IX_API int ix_listen(struct ix_ctx *ctx, const struct ix_addr *addr, uint16_t port,
		     uint64_t cookie)
{
	return ix_listen_fd(ctx, addr, port, cookie, -1, 0);
}

/**
 * ix_unlisten - stop accepting on @port (@addr as given to ix_listen()).
 * @ctx:  the context
 * @addr: as for ix_listen()
 * @port: host order
 *
 * Return: 0, the first worker's error (-ENOENT, ...), -ETIMEDOUT, -ECONNRESET, -EINVAL.
 */
IX_API int ix_unlisten(struct ix_ctx *ctx, const struct ix_addr *addr, uint16_t port)
{
	struct ixdp_app_cmd tmpl = {
		.op = IXDP_APP_UNLISTEN,
		.port = port,
		.family = 0,
	};
	unsigned int w;
	int ret;

	if (!ctx || !port || (addr && ix_addr_put(addr, &tmpl)))
		return -EINVAL;
	if (ctx->dead)
		return -ECONNRESET;
	ret = ix_sync(ctx, &tmpl, ix_all_workers(ctx));
	if (ret)
		return ret;
	for (w = 0; w < ctx->nr_workers; w++)
		if (ctx->chan[w].sync_err)
			return ctx->chan[w].sync_err;
	return 0;
}

/* --- poll -------------------------------------------------------------------------------- */

/*
 * Nothing to return: leave app_sleeping set so that the next event makes ix_fd() readable.
 * Return 1 if an event slipped in meanwhile (the context is not armed then).
 */
static int ix_arm(struct ix_ctx *ctx)
{
	__atomic_store_n(&ctx->shm->app_sleeping, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (ix_ev_pending(ctx)) {
		__atomic_store_n(&ctx->shm->app_sleeping, 0, __ATOMIC_RELAXED);
		return 1;
	}
	ctx->armed = 1;
	return 0;
}

/**
 * ix_set_autoarm - whether an ix_poll() that returns nothing arms the context (the default:
 * the next event then makes ix_fd() readable).
 * @ctx: the context
 * @on:  0: it does not; the app arms with ix_arm_sleep() before it sleeps on ix_fd() itself,
 *       and an app that polls without sleeping is sent no wakeups
 */
IX_API void ix_set_autoarm(struct ix_ctx *ctx, int on)
{
	if (ctx)
		ctx->no_autoarm = !on;
}

/**
 * ix_arm_sleep - arm the context before sleeping on ix_fd(): commands are published, and the
 * next event makes ix_fd() readable (the next ix_poll() disarms it again).
 * @ctx: the context
 *
 * Return: 0 (armed: sleep), 1 (events are waiting already: ix_poll() them, do not sleep),
 * -EINVAL, or -ECONNRESET (the daemon has gone).
 */
IX_API int ix_arm_sleep(struct ix_ctx *ctx)
{
	if (!ctx)
		return -EINVAL;
	if (ctx->dead && !ctx->ending)
		return -ECONNRESET;
	ix_publish(ctx);
	if (ctx->armed)
		return 0;
	if (ctx->fifo_tail != ctx->fifo_head)
		return 1;
	return ix_arm(ctx);
}

/**
 * ix_end - end the context but keep reading its rings (see ix.h).
 * @ctx: the context
 *
 * Commands queued so far are published first, so a MOVE among them is carried out or refused.
 * Then our side of the control connection is shut down: the daemon ends the context (MOVEs to
 * it are refused from now on), writes what it still owes it (every MOVED of a connection it
 * was given), resets its connections on every worker and only then closes its side.
 *
 * Return: 0 (also when ended already), -EINVAL, -ECONNRESET (the daemon has gone), or the
 * error of shutdown(2).
 */
IX_API int ix_end(struct ix_ctx *ctx)
{
	if (!ctx)
		return -EINVAL;
	if (ctx->ending)
		return 0;
	if (ctx->dead)
		return -ECONNRESET;
	ix_publish(ctx);
	if (shutdown(ctx->ctl_fd, SHUT_WR))
		return -errno;
	ctx->ending = 1;
	return 0;
}

/**
 * ix_poll - publish the queued commands, then return up to @max events.
 * @ctx:        the context
 * @evs:        receives the events
 * @max:        room in @evs, > 0
 * @timeout_ms: wait at most this long for the first (0: not at all; -1: no limit)
 *
 * Events kept while libix waited for something else (ix_listen(), a full ring) come first.
 *
 * Return: number of events (0 on timeout), -ECONNRESET, -EINVAL.
 */
IX_API int ix_poll(struct ix_ctx *ctx, struct ix_event *evs, int max, int timeout_ms)
{
	uint64_t deadline, now;
	int n, ret;

	if (!ctx || !evs || max <= 0)
		return -EINVAL;
	/* An ending context is read to the end: what the daemon wrote before its EOF counts. */
	if (ctx->dead && !ctx->ending)
		return -ECONNRESET;
	ix_disarm(ctx, 0);
	ix_publish(ctx);
	deadline = ix_deadline(timeout_ms);
	for (;;) {
		n = ix_fifo_pop(ctx, evs, max);
		n += ix_drain_all(ctx, evs + n, max - n);
		if (n)
			return n;
		if (ctx->dead)
			return -ECONNRESET;
		now = ix_now_ns();
		if (timeout_ms >= 0 && now >= deadline) {
			if (!ctx->no_autoarm && ix_arm(ctx))
				continue;
			if (now - ctx->ctl_checked >= IX_CTL_CHECK_NS) {
				ctx->ctl_checked = now;
				ix_check_ctl(ctx);
				if (ctx->dead && ctx->ending)
					continue; /* read what came before the EOF */
				if (ctx->dead)
					return -ECONNRESET;
			}
			return 0;
		}
		ret = ix_wait(ctx, deadline);
		if (ret && !ctx->ending)
			return ret;
	}
}
