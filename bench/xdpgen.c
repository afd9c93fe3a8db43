// SPDX-License-Identifier: GPL-2.0
/*
 * xdpgen.c - the raw benchmark's UDP load: live-frames BPF_PROG_RUN out of a veth, and a count of
 * what comes back.
 *
 * The kernel's own generators are out of reach here (pktgen is not built, xdp-trafficgen 1.3.1
 * does not load on 6.18: shared/notes/afxdp-veth.md §15), so the frames come from
 * BPF_F_TEST_XDP_LIVE_FRAMES: one template frame, a program that rewrites its source port per
 * frame and redirects it out of IFNAME.  Redirected frames enter the far veth end through
 * ndo_xdp_xmit, which needs a native XDP program there (the reflector under test has one).
 *
 * The same object's sink program is attached to IFNAME through a BPF link while the generator
 * runs (it goes away with the process) and counts the reflected frames.  Over exactly the
 * generation window xdpgen also samples whole-VM busy time (/proc/stat) and the CPU time of the
 * reflector process (-P), because on veth the receive work is billed to the sending CPU and
 * neither side's own time alone says what a packet costs.
 *
 * Output: key=value lines on stdout (for bench/raw.sh), errors on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench.h"
#include "core/clock.h"
#include "net/csum.h"
#include "xdpgen.h"

#define XDPGEN_FRAME_MIN 60		/* shortest Ethernet frame without FCS */
#define XDPGEN_FRAME_MAX 1514
#define XDPGEN_BATCH 64			/* frames per redirect flush (the kernel's maximum is 256) */
#define XDPGEN_REPEAT (1u << 20)	/* frames per BPF_PROG_RUN call: each has ~20 ms of setup */
#define XDPGEN_SETTLE_MS 200		/* wait for reflected frames still in flight */

struct opts {
	const char *ifname;
	const char *obj_path;
	int cpu;
	unsigned int seconds;
	unsigned int flows;
	unsigned int sport_base;
	unsigned int port;
	unsigned int frame_len;
	unsigned int repeat;
	unsigned int settle_ms;
	int refl_pid;
	int refl_cpu;
	unsigned char dst_mac[ETH_ALEN];
	struct in_addr saddr;
	struct in_addr daddr;
	int have_dst_mac;
};

static int if_mac(const char *ifname, unsigned char *mac)
{
	struct ifreq ifr = {};
	int fd, ret = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		ret = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	close(fd);
	return ret;
}

/* Ethernet + IPv4 + UDP with both checksums right: the ixdp reflector drops anything else. */
static void build_template(const struct opts *o, const unsigned char *src_mac, unsigned char *f)
{
	struct ethhdr *eth = (struct ethhdr *)f;
	struct iphdr *ip = (struct iphdr *)(eth + 1);
	struct udphdr *uh = (struct udphdr *)(ip + 1);
	__u16 ulen = o->frame_len - sizeof(*eth) - sizeof(*ip);
	unsigned char *payload = (unsigned char *)(uh + 1);
	unsigned int i;
	__u16 check;

	memset(f, 0, o->frame_len);
	memcpy(eth->h_dest, o->dst_mac, ETH_ALEN);
	memcpy(eth->h_source, src_mac, ETH_ALEN);
	eth->h_proto = htons(ETH_P_IP);

	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(o->frame_len - sizeof(*eth));
	ip->frag_off = htons(0x4000); /* DF */
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->saddr = o->saddr.s_addr;
	ip->daddr = o->daddr.s_addr;
	ip->check = ~csum_fold(csum_partial(ip, sizeof(*ip), 0));

	uh->source = htons(o->sport_base);
	uh->dest = htons(o->port);
	uh->len = htons(ulen);
	for (i = 0; i < ulen - sizeof(*uh); i++)
		payload[i] = 'a' + i % 26;
	check = ~csum_fold(csum_partial(uh, ulen, csum_pseudo_v4(&ip->saddr, &ip->daddr,
								 IPPROTO_UDP, ulen)));
	uh->check = check ? check : 0xffff;
}

static int set_rodata(struct bpf_object *obj, const struct xdpgen_cfg *cfg)
{
	struct bpf_map *map;
	const void *cur;
	size_t size;
	void *data;
	int ret;

	map = bpf_object__find_map_by_name(obj, ".rodata");
	if (!map)
		return -ENOENT;
	cur = bpf_map__initial_value(map, &size);
	/* cfg is the program's only rodata variable, so it sits at offset 0. */
	if (!cur || size < sizeof(*cfg))
		return -EINVAL;
	data = malloc(size);
	if (!data)
		return -ENOMEM;
	memcpy(data, cur, size);
	memcpy(data, cfg, sizeof(*cfg));
	ret = bpf_map__set_initial_value(map, data, size);
	free(data);
	return ret;
}

static __u64 percpu_sum(int map_fd, __u32 key)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	__u64 sum = 0, *vals;

	if (ncpu <= 0)
		return 0;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return 0;
	if (!bpf_map_lookup_elem(map_fd, &key, vals))
		for (i = 0; i < ncpu; i++)
			sum += vals[i];
	free(vals);
	return sum;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s -i IFNAME -m DST_MAC [options]\n"
		"  -i IFNAME   device to send out of (and to count reflected frames on)\n"
		"  -m MAC      destination MAC (the reflector's device)\n"
		"  -S ADDR     source IPv4 (default 198.18.0.2)\n"
		"  -D ADDR     destination IPv4 (default 198.18.0.1)\n"
		"  -p PORT     destination UDP port (default 9000)\n"
		"  -s PORT     first source port (default 10000)\n"
		"  -f N        flows: source ports (default 256)\n"
		"  -l BYTES    frame length without FCS, %d..%d (default 60)\n"
		"  -d SECONDS  how long to generate (default 5)\n"
		"  -c CPU      CPU to pin to (default: not pinned)\n"
		"  -r N        frames per BPF_PROG_RUN call (default %u)\n"
		"  -w MS       settle time for reflected frames (default %d)\n"
		"  -P PID      reflector process whose CPU time to report\n"
		"  -R CPU      the reflector's CPU, whose idle time to report\n"
		"  -o FILE     BPF object (default $BUILD/bench/xdpgen.bpf.o)\n",
		prog, XDPGEN_FRAME_MIN, XDPGEN_FRAME_MAX, XDPGEN_REPEAT, XDPGEN_SETTLE_MS);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	unsigned int mac[ETH_ALEN];
	int opt, i;

	*o = (struct opts){
		.cpu = -1,
		.refl_cpu = -1,
		.seconds = 5,
		.flows = 256,
		.sport_base = 10000,
		.port = 9000,
		.frame_len = XDPGEN_FRAME_MIN,
		.repeat = XDPGEN_REPEAT,
		.settle_ms = XDPGEN_SETTLE_MS,
	};
	inet_pton(AF_INET, "198.18.0.2", &o->saddr);
	inet_pton(AF_INET, "198.18.0.1", &o->daddr);
	o->obj_path = build_path("xdpgen.bpf.o");

	while ((opt = getopt(argc, argv, "i:m:S:D:p:s:f:l:d:c:r:w:P:R:o:h")) != -1) {
		switch (opt) {
		case 'i':
			o->ifname = optarg;
			break;
		case 'm':
			if (sscanf(optarg, "%x:%x:%x:%x:%x:%x", &mac[0], &mac[1], &mac[2], &mac[3],
				   &mac[4], &mac[5]) != ETH_ALEN)
				return -EINVAL;
			for (i = 0; i < ETH_ALEN; i++)
				o->dst_mac[i] = mac[i];
			o->have_dst_mac = 1;
			break;
		case 'S':
			if (inet_pton(AF_INET, optarg, &o->saddr) != 1)
				return -EINVAL;
			break;
		case 'D':
			if (inet_pton(AF_INET, optarg, &o->daddr) != 1)
				return -EINVAL;
			break;
		case 'p':
			o->port = strtoul(optarg, NULL, 0);
			break;
		case 's':
			o->sport_base = strtoul(optarg, NULL, 0);
			break;
		case 'f':
			o->flows = strtoul(optarg, NULL, 0);
			break;
		case 'l':
			o->frame_len = strtoul(optarg, NULL, 0);
			break;
		case 'd':
			o->seconds = strtoul(optarg, NULL, 0);
			break;
		case 'c':
			o->cpu = atoi(optarg);
			break;
		case 'r':
			o->repeat = strtoul(optarg, NULL, 0);
			break;
		case 'w':
			o->settle_ms = strtoul(optarg, NULL, 0);
			break;
		case 'P':
			o->refl_pid = atoi(optarg);
			break;
		case 'R':
			o->refl_cpu = atoi(optarg);
			break;
		case 'o':
			o->obj_path = optarg;
			break;
		default:
			return -EINVAL;
		}
	}
	if (!o->ifname || !o->have_dst_mac || !o->flows || o->flows > 65536 ||
	    o->sport_base + o->flows > 65536 || !o->port || o->port > 65535 ||
	    o->frame_len < XDPGEN_FRAME_MIN || o->frame_len > XDPGEN_FRAME_MAX || !o->seconds ||
	    !o->repeat || o->settle_ms > 10000)
		return -EINVAL;
	return 0;
}

/* Generate until the deadline; returns 0 or a negative errno from BPF_PROG_RUN. */
static int generate(int prog_fd, const struct opts *o, const void *frame, __u64 *calls)
{
	__u64 deadline = clock_now_ns() + (__u64)o->seconds * 1000000000ull;
	LIBBPF_OPTS(bpf_test_run_opts, run,
		.data_in = frame,
		.data_size_in = o->frame_len,
		.repeat = o->repeat,
		.batch_size = XDPGEN_BATCH,
		.flags = BPF_F_TEST_XDP_LIVE_FRAMES,
	);
	int ret;

	/* Each call is bounded by its repeat count; the loop by the deadline. */
	while (!stop && clock_now_ns() < deadline) {
		ret = bpf_prog_test_run_opts(prog_fd, &run);
		if (ret == -EINTR)
			break; /* a signal: stop, the frame count comes from the program */
		if (ret)
			return ret;
		(*calls)++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned char frame[XDPGEN_FRAME_MAX], src_mac[ETH_ALEN];
	LIBBPF_OPTS(bpf_link_create_opts, link_opts, .flags = XDP_FLAGS_DRV_MODE);
	struct bpf_program *gen, *sink;
	struct cpu_sample t0, t1;
	struct xdpgen_cfg cfg;
	struct bpf_object *obj;
	__u64 calls = 0, sent, frames, reflected, dt;
	int ret, ifindex, link_fd, seq_fd, sink_fd;
	struct opts o;

	if (parse_opts(argc, argv, &o)) {
		usage(argv[0]);
		return 2;
	}
	ifindex = if_nametoindex(o.ifname);
	if (!ifindex) {
		fprintf(stderr, "xdpgen: %s: %s\n", o.ifname, strerror(errno));
		return 1;
	}
	ret = if_mac(o.ifname, src_mac);
	if (ret) {
		fprintf(stderr, "xdpgen: MAC of %s: %s\n", o.ifname, strerror(-ret));
		return 1;
	}
	build_template(&o, src_mac, frame);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	obj = bpf_object__open_file(o.obj_path, NULL);
	if (!obj) {
		ret = -errno;
		fprintf(stderr, "xdpgen: open %s: %s\n", o.obj_path, strerror(-ret));
		return 1;
	}
	cfg = (struct xdpgen_cfg){
		.out_ifindex = ifindex,
		.nr_flows = o.flows,
		.sport_base = o.sport_base,
		.port = o.port,
	};
	ret = set_rodata(obj, &cfg);
	if (ret) {
		fprintf(stderr, "xdpgen: %s: no usable .rodata: %s\n", o.obj_path, strerror(-ret));
		goto err_close;
	}
	ret = bpf_object__load(obj);
	if (ret) {
		fprintf(stderr, "xdpgen: load %s: %s\n", o.obj_path, strerror(-ret));
		goto err_close;
	}
	gen = bpf_object__find_program_by_name(obj, "xdpgen_tx");
	sink = bpf_object__find_program_by_name(obj, "xdpgen_sink");
	seq_fd = bpf_object__find_map_fd_by_name(obj, "gen_seq");
	sink_fd = bpf_object__find_map_fd_by_name(obj, "sink_stats");
	if (!gen || !sink || seq_fd < 0 || sink_fd < 0) {
		fprintf(stderr, "xdpgen: %s lacks xdpgen_tx, xdpgen_sink or their maps\n",
			o.obj_path);
		ret = -ENOENT;
		goto err_close;
	}

	/* A link, not a netlink attach: the sink leaves the device when this process dies. */
	link_fd = bpf_link_create(bpf_program__fd(sink), ifindex, BPF_XDP, &link_opts);
	if (link_fd < 0) {
		ret = link_fd;
		fprintf(stderr, "xdpgen: attaching the sink (native XDP) to %s: %s\n", o.ifname,
			strerror(-ret));
		goto err_close;
	}
	if (o.cpu >= 0) {
		ret = pin_cpu(o.cpu);
		if (ret) {
			fprintf(stderr, "xdpgen: pin to CPU %d: %s\n", o.cpu, strerror(-ret));
			goto err_link;
		}
	}

	ret = cpu_sample(&t0, o.refl_pid, o.refl_cpu, NULL, 0);
	if (ret) {
		fprintf(stderr, "xdpgen: CPU sample (reflector pid %d): %s\n", o.refl_pid,
			strerror(-ret));
		goto err_link;
	}
	ret = generate(bpf_program__fd(gen), &o, frame, &calls);
	if (ret) {
		fprintf(stderr, "xdpgen: BPF_PROG_RUN (live frames): %s\n", strerror(-ret));
		goto err_link;
	}
	ret = cpu_sample(&t1, o.refl_pid, o.refl_cpu, NULL, 0);
	if (ret) {
		fprintf(stderr, "xdpgen: CPU sample: %s\n", strerror(-ret));
		goto err_link;
	}
	usleep(o.settle_ms * 1000);

	sent = percpu_sum(seq_fd, 0);
	frames = percpu_sum(sink_fd, XDPGEN_SINK_FRAMES);
	reflected = percpu_sum(sink_fd, XDPGEN_SINK_REFLECTED);
	dt = t1.mono_ns - t0.mono_ns;
	printf("sent=%llu\n", (unsigned long long)sent);
	printf("calls=%llu\n", (unsigned long long)calls);
	printf("elapsed_ns=%llu\n", (unsigned long long)dt);
	printf("offered_mpps=%.4f\n", dt ? sent * 1e3 / dt : 0.0);
	printf("sink_frames=%llu\n", (unsigned long long)frames);
	printf("reflected=%llu\n", (unsigned long long)reflected);
	printf("reflected_mpps=%.4f\n", dt ? reflected * 1e3 / dt : 0.0);
	printf("vm_busy_ns=%llu\n", (unsigned long long)(t1.vm_busy_ns - t0.vm_busy_ns));
	printf("refl_cpu_ns=%llu\n", (unsigned long long)(t1.peer_ns - t0.peer_ns));
	printf("gen_cpu_ns=%llu\n", (unsigned long long)(t1.self_ns - t0.self_ns));
	printf("refl_cpu_idle_ns=%llu\n", (unsigned long long)(t1.peer_idle_ns - t0.peer_idle_ns));
	printf("flows=%u\nframe_len=%u\ngen_cpu=%d\n", o.flows, o.frame_len, o.cpu);
	ret = 0;

err_link:
	close(link_fd);
err_close:
	bpf_object__close(obj);
	return ret ? 1 : 0;
}
