// SPDX-License-Identifier: GPL-2.0
/*
 * xsk_reflect.c - the raw benchmark's baseline: a bare AF_XDP L2 reflector (libxdp xsk API).
 *
 * The least an AF_XDP program can do to send every frame back: one umem, one socket per rx queue,
 * copy mode (veth has no zero-copy), a busy-poll loop that swaps the MAC addresses in place and
 * transmits the frame from the buffer it arrived in.  No parsing, no checksums, no flow state:
 * whatever ixdpd does beyond this is what the benchmark's ratio prices.
 *
 * Per queue the frames circulate fill -> RX -> TX -> completion -> fill and never leave the
 * queue, so the queue owns a fixed slice of the umem and needs no allocator.  A frame is taken
 * off the RX ring only when the TX ring has room for it: under overload the kernel drops at the
 * RX ring (rx_ring_full) rather than this program dropping frames it already paid to receive.
 *
 * The XDP program is attached through a BPF link (it leaves the device when this process dies),
 * the loop ends after -d seconds or on SIGINT/SIGTERM, and the counters are printed at exit as
 * key=value lines.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

#include "bench.h"
#include "core/clock.h"

#define REFL_BATCH 64		/* frames per RX peek, TX reserve and completion reap */
#define REFL_RX_RING 512	/* ring sizes as ixdpd's defaults: the ratio compares software */
#define REFL_TX_RING 512
#define REFL_FILL_RING 2048
#define REFL_COMP_RING 2048
#define REFL_FRAMES REFL_FILL_RING /* per queue: the fill ring can always take every frame back */
#define REFL_FRAME_SIZE XSK_UMEM__DEFAULT_FRAME_SIZE
#define REFL_KICKS_MAX 8	/* sendto calls per queue per loop: copy mode sends 32 per call */
#define REFL_CLOCK_EVERY 1024	/* loop iterations between two looks at the clock */
#define REFL_QUEUES_MAX 64	/* the XSKMAP's size in xsk_reflect.bpf.c */
#define REFL_BUSY_TRIES 50	/* binds tried while the queue's old buffer pool is freed */
#define REFL_BUSY_WAIT_US 100000

struct refl_queue {
	struct xsk_ring_prod fill;
	struct xsk_ring_cons comp;
	struct xsk_ring_cons rx;
	struct xsk_ring_prod tx;
	struct xsk_socket *xsk;
	__u64 rx_packets;
	__u64 tx_packets;
	__u64 kicks;
	__u64 kick_errors;
};

struct refl {
	const char *ifname;
	const char *obj_path;
	int ifindex;
	int cpu;
	unsigned int seconds;
	unsigned int nr_queues;
	void *area;
	size_t area_size;
	struct xsk_umem *umem;
	struct refl_queue *q;
	struct bpf_object *obj;
	int link_fd;
	__u64 loops;
	__u64 idle_loops;
};

/* One socket per rx queue: count /sys/class/net/IF/queues/rx-N (ip netns exec remounts /sys). */
static int count_rx_queues(const char *ifname)
{
	char path[128];
	struct dirent *de;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", ifname);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((de = readdir(dir)))
		if (!strncmp(de->d_name, "rx-", 3))
			n++;
	closedir(dir);
	return n ? n : -ENOENT;
}

static void fill_queue(struct refl *r, unsigned int qi)
{
	struct refl_queue *q = &r->q[qi];
	__u64 base = (__u64)qi * REFL_FRAMES * REFL_FRAME_SIZE;
	__u32 idx = 0, i;

	/* Empty ring of REFL_FILL_RING entries and REFL_FRAMES == REFL_FILL_RING: always fits. */
	xsk_ring_prod__reserve(&q->fill, REFL_FRAMES, &idx);
	for (i = 0; i < REFL_FRAMES; i++)
		*xsk_ring_prod__fill_addr(&q->fill, idx + i) = base + (__u64)i * REFL_FRAME_SIZE;
	xsk_ring_prod__submit(&q->fill, REFL_FRAMES);
}

/*
 * The kernel frees a closed socket's buffer pool from a work item, after the XSKMAP that held
 * the socket is gone: right after the previous reflector on this queue exited, bind() can still
 * find the queue taken (EBUSY).  Retry for a bounded time.
 */
static int create_socket(struct refl *r, unsigned int qi, const struct xsk_socket_config *cfg)
{
	struct refl_queue *q = &r->q[qi];
	unsigned int tries;
	int ret = -EBUSY;

	for (tries = 0; tries < REFL_BUSY_TRIES && ret == -EBUSY; tries++) {
		if (tries)
			usleep(REFL_BUSY_WAIT_US);
		ret = xsk_socket__create_shared(&q->xsk, r->ifname, qi, r->umem, &q->rx, &q->tx,
						&q->fill, &q->comp, cfg);
	}
	return ret;
}

static int refl_open(struct refl *r)
{
	struct xsk_umem_config ucfg = {
		.fill_size = REFL_FILL_RING,
		.comp_size = REFL_COMP_RING,
		.frame_size = REFL_FRAME_SIZE,
		.frame_headroom = 0,
	};
	struct xsk_socket_config scfg = {
		.rx_size = REFL_RX_RING,
		.tx_size = REFL_TX_RING,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_COPY | XDP_USE_NEED_WAKEUP,
	};
	LIBBPF_OPTS(bpf_link_create_opts, link_opts, .flags = XDP_FLAGS_DRV_MODE);
	struct bpf_program *prog;
	unsigned int i;
	int map_fd, fd, ret;

	r->q = calloc(r->nr_queues, sizeof(*r->q));
	if (!r->q)
		return -ENOMEM;
	r->area_size = (size_t)r->nr_queues * REFL_FRAMES * REFL_FRAME_SIZE;
	r->area = mmap(NULL, r->area_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (r->area == MAP_FAILED) {
		ret = -errno;
		fprintf(stderr, "xsk_reflect: umem of %zu bytes: %s\n", r->area_size,
			strerror(-ret));
		goto err_free;
	}
	/* Queue 0 uses the rings registered with the umem; every other queue gets its own. */
	ret = xsk_umem__create(&r->umem, r->area, r->area_size, &r->q[0].fill, &r->q[0].comp,
			       &ucfg);
	if (ret) {
		fprintf(stderr, "xsk_reflect: umem registration: %s\n", strerror(-ret));
		goto err_unmap;
	}
	for (i = 0; i < r->nr_queues; i++) {
		ret = create_socket(r, i, &scfg);
		if (ret) {
			fprintf(stderr, "xsk_reflect: AF_XDP socket on %s queue %u: %s\n",
				r->ifname, i, strerror(-ret));
			goto err_socks;
		}
		fill_queue(r, i);
	}

	r->obj = bpf_object__open_file(r->obj_path, NULL);
	if (!r->obj) {
		ret = -errno;
		fprintf(stderr, "xsk_reflect: open %s: %s\n", r->obj_path, strerror(-ret));
		goto err_socks;
	}
	ret = bpf_object__load(r->obj);
	if (ret) {
		fprintf(stderr, "xsk_reflect: load %s: %s\n", r->obj_path, strerror(-ret));
		goto err_obj;
	}
	prog = bpf_object__find_program_by_name(r->obj, "xsk_reflect_rx");
	map_fd = bpf_object__find_map_fd_by_name(r->obj, "xsks");
	if (!prog || map_fd < 0) {
		fprintf(stderr, "xsk_reflect: %s lacks xsk_reflect_rx or xsks\n", r->obj_path);
		ret = -ENOENT;
		goto err_obj;
	}
	/* Sockets go into the map before the program sees a frame: nothing falls to the stack. */
	for (i = 0; i < r->nr_queues; i++) {
		fd = xsk_socket__fd(r->q[i].xsk);
		if (bpf_map_update_elem(map_fd, &i, &fd, BPF_ANY)) {
			ret = -errno;
			fprintf(stderr, "xsk_reflect: xsks[%u]: %s\n", i, strerror(-ret));
			goto err_obj;
		}
	}
	r->link_fd = bpf_link_create(bpf_program__fd(prog), r->ifindex, BPF_XDP, &link_opts);
	if (r->link_fd < 0) {
		ret = r->link_fd;
		fprintf(stderr, "xsk_reflect: attaching XDP (native) to %s: %s\n", r->ifname,
			strerror(-ret));
		goto err_obj;
	}
	return 0;

err_obj:
	bpf_object__close(r->obj);
	r->obj = NULL;
err_socks:
	for (i = 0; i < r->nr_queues; i++)
		if (r->q[i].xsk)
			xsk_socket__delete(r->q[i].xsk);
	xsk_umem__delete(r->umem);
err_unmap:
	munmap(r->area, r->area_size);
err_free:
	free(r->q);
	r->q = NULL;
	return ret;
}

static void refl_close(struct refl *r)
{
	unsigned int i;

	close(r->link_fd);
	bpf_object__close(r->obj);
	for (i = 0; i < r->nr_queues; i++)
		xsk_socket__delete(r->q[i].xsk);
	xsk_umem__delete(r->umem);
	munmap(r->area, r->area_size);
	free(r->q);
}

/* RX burst -> swap MACs in place -> TX, as many frames as the TX ring has room for. */
static __attribute__((noinline)) unsigned int refl_rx(struct refl *r, struct refl_queue *q)
{
	__u32 room = xsk_prod_nb_free(&q->tx, REFL_BATCH), n, idx_rx = 0, idx_tx = 0, i;

	if (room > REFL_BATCH)
		room = REFL_BATCH;
	if (!room)
		return 0;
	n = xsk_ring_cons__peek(&q->rx, room, &idx_rx);
	if (!n)
		return 0;
	xsk_ring_prod__reserve(&q->tx, n, &idx_tx); /* cannot fail: room >= n */
	for (i = 0; i < n; i++) {
		const struct xdp_desc *rd = xsk_ring_cons__rx_desc(&q->rx, idx_rx + i);
		struct xdp_desc *td = xsk_ring_prod__tx_desc(&q->tx, idx_tx + i);
		unsigned char *eth = xsk_umem__get_data(r->area, rd->addr);
		unsigned char tmp[ETH_ALEN];

		memcpy(tmp, eth, ETH_ALEN);
		memcpy(eth, eth + ETH_ALEN, ETH_ALEN);
		memcpy(eth + ETH_ALEN, tmp, ETH_ALEN);
		td->addr = rd->addr;
		td->len = rd->len;
	}
	xsk_ring_prod__submit(&q->tx, n);
	xsk_ring_cons__release(&q->rx, n);
	q->rx_packets += n;
	return n;
}

/* Frames the kernel has not yet taken off the TX ring. */
static inline __u32 refl_tx_pending(const struct refl_queue *q)
{
	return q->tx.cached_prod - __atomic_load_n(q->tx.consumer, __ATOMIC_ACQUIRE);
}

/*
 * Copy mode transmits only inside sendto() and at most 32 frames per call, and its TX ring
 * always asks for a wakeup: kick while frames are pending, a bounded number of times.
 * Returns a negative errno for an error that is not transient.
 */
static __attribute__((noinline)) int refl_kick(struct refl_queue *q)
{
	unsigned int k;

	for (k = 0; k < REFL_KICKS_MAX && refl_tx_pending(q); k++) {
		if (!xsk_ring_prod__needs_wakeup(&q->tx))
			break;
		q->kicks++;
		if (sendto(xsk_socket__fd(q->xsk), NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
			continue;
		switch (errno) {
		case EAGAIN:
			continue; /* the 32-frame budget ran out with frames left: kick again */
		case EBUSY:
		case ENOBUFS:
		case ENETDOWN:
			q->kick_errors++;
			return 0; /* the device dropped or refused: try again next loop */
		default:
			q->kick_errors++;
			return -errno;
		}
	}
	return 0;
}

/* Sent frames go straight back to the fill ring of the queue that owns them. */
static __attribute__((noinline)) unsigned int refl_reap(struct refl_queue *q)
{
	__u32 n, idx_cq = 0, idx_fq = 0, i;

	n = xsk_ring_cons__peek(&q->comp, REFL_BATCH, &idx_cq);
	if (!n)
		return 0;
	/* Cannot fail: the fill ring has room for every frame of the queue (REFL_FRAMES). */
	if (xsk_ring_prod__reserve(&q->fill, n, &idx_fq) != n) {
		xsk_ring_cons__cancel(&q->comp, n);
		return 0;
	}
	for (i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&q->fill, idx_fq + i) =
			*xsk_ring_cons__comp_addr(&q->comp, idx_cq + i);
	xsk_ring_prod__submit(&q->fill, n);
	xsk_ring_cons__release(&q->comp, n);
	q->tx_packets += n;
	return n;
}

static int refl_loop(struct refl *r)
{
	__u64 deadline = clock_now_ns() + (__u64)r->seconds * 1000000000ull;
	unsigned int i, work;
	int ret;

	while (!stop) {
		work = 0;
		for (i = 0; i < r->nr_queues; i++) {
			struct refl_queue *q = &r->q[i];

			work += refl_rx(r, q);
			ret = refl_kick(q);
			if (ret)
				return ret;
			work += refl_reap(q);
		}
		r->loops++;
		if (!work)
			r->idle_loops++;
		if (!(r->loops % REFL_CLOCK_EVERY) && clock_now_ns() >= deadline)
			break;
	}
	return 0;
}

static void refl_report(const struct refl *r, __u64 wall_ns)
{
	__u64 rx = 0, tx = 0, kicks = 0, kick_errors = 0;
	struct xdp_statistics st, sum = {};
	struct rusage ru;
	unsigned int i;

	for (i = 0; i < r->nr_queues; i++) {
		socklen_t len = sizeof(st);

		rx += r->q[i].rx_packets;
		tx += r->q[i].tx_packets;
		kicks += r->q[i].kicks;
		kick_errors += r->q[i].kick_errors;
		if (getsockopt(xsk_socket__fd(r->q[i].xsk), SOL_XDP, XDP_STATISTICS, &st, &len))
			continue;
		sum.rx_dropped += st.rx_dropped;
		sum.rx_invalid_descs += st.rx_invalid_descs;
		sum.tx_invalid_descs += st.tx_invalid_descs;
		sum.rx_ring_full += st.rx_ring_full;
		sum.rx_fill_ring_empty_descs += st.rx_fill_ring_empty_descs;
		sum.tx_ring_empty_descs += st.tx_ring_empty_descs;
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("queues=%u\ncpu=%d\nwall_ns=%llu\n", r->nr_queues, r->cpu,
	       (unsigned long long)wall_ns);
	printf("rx_packets=%llu\ntx_completed=%llu\nkicks=%llu\nkick_errors=%llu\n",
	       (unsigned long long)rx, (unsigned long long)tx, (unsigned long long)kicks,
	       (unsigned long long)kick_errors);
	printf("loops=%llu\nidle_loops=%llu\n", (unsigned long long)r->loops,
	       (unsigned long long)r->idle_loops);
	printf("xsk_rx_dropped=%llu\nxsk_rx_ring_full=%llu\nxsk_fill_empty=%llu\n",
	       (unsigned long long)sum.rx_dropped, (unsigned long long)sum.rx_ring_full,
	       (unsigned long long)sum.rx_fill_ring_empty_descs);
	printf("xsk_rx_invalid=%llu\nxsk_tx_invalid=%llu\nxsk_tx_ring_empty=%llu\n",
	       (unsigned long long)sum.rx_invalid_descs, (unsigned long long)sum.tx_invalid_descs,
	       (unsigned long long)sum.tx_ring_empty_descs);
	printf("utime_us=%llu\nstime_us=%llu\n",
	       (unsigned long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
	       (unsigned long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec);
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s -i IFNAME [-c CPU] [-d SECONDS] [-q QUEUES] [-o FILE]\n"
		"  -i IFNAME   device to reflect on (native XDP, AF_XDP copy mode)\n"
		"  -c CPU      CPU to pin to (default: not pinned)\n"
		"  -d SECONDS  run time limit (default 10)\n"
		"  -q QUEUES   rx queues to serve (default: all of the device's)\n"
		"  -o FILE     BPF object (default $BUILD/bench/xsk_reflect.bpf.o)\n",
		prog);
}

int main(int argc, char **argv)
{
	struct refl r = { .cpu = -1, .seconds = 10, .link_fd = -1 };
	__u64 t0;
	int opt, ret, nq = 0;

	r.obj_path = build_path("xsk_reflect.bpf.o");
	while ((opt = getopt(argc, argv, "i:c:d:q:o:h")) != -1) {
		switch (opt) {
		case 'i':
			r.ifname = optarg;
			break;
		case 'c':
			r.cpu = atoi(optarg);
			break;
		case 'd':
			r.seconds = strtoul(optarg, NULL, 0);
			break;
		case 'q':
			nq = atoi(optarg);
			break;
		case 'o':
			r.obj_path = optarg;
			break;
		default:
			usage(argv[0]);
			return 2;
		}
	}
	if (!r.ifname || !r.seconds || nq < 0 || nq > REFL_QUEUES_MAX) {
		usage(argv[0]);
		return 2;
	}
	r.ifindex = if_nametoindex(r.ifname);
	if (!r.ifindex) {
		fprintf(stderr, "xsk_reflect: %s: %s\n", r.ifname, strerror(errno));
		return 1;
	}
	if (!nq) {
		nq = count_rx_queues(r.ifname);
		if (nq < 0) {
			fprintf(stderr, "xsk_reflect: rx queues of %s: %s\n", r.ifname,
				strerror(-nq));
			return 1;
		}
		if (nq > REFL_QUEUES_MAX)
			nq = REFL_QUEUES_MAX;
	}
	r.nr_queues = nq;
	if (r.cpu >= 0) {
		ret = pin_cpu(r.cpu);
		if (ret) {
			fprintf(stderr, "xsk_reflect: pin to CPU %d: %s\n", r.cpu, strerror(-ret));
			return 1;
		}
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	ret = refl_open(&r);
	if (ret)
		return 1;
	/* bench/raw.sh waits for this line before it starts the load. */
	printf("ready queues=%u\n", r.nr_queues);
	fflush(stdout);

	t0 = clock_now_ns();
	ret = refl_loop(&r);
	if (ret)
		fprintf(stderr, "xsk_reflect: sendto: %s\n", strerror(-ret));
	refl_report(&r, clock_now_ns() - t0);
	refl_close(&r);
	return ret ? 1 : 0;
}
