// SPDX-License-Identifier: GPL-2.0
/*
 * ixdpctl.c - inspect and steer a running ixdpd over its control socket.
 *
 *   ixdpctl [--control PATH] status [--json]     summary table
 *   ixdpctl [--control PATH] stats [--json]      every counter, flow groups included
 *   ixdpctl [--control PATH] fg list             flow groups: owner, packets, bytes, conns
 *   ixdpctl [--control PATH] conns [--json]      TCP connections: addresses, state, worker
 *   ixdpctl [--control PATH] fg move [--force] GROUP WORKER
 *   ixdpctl counters                             what every worker counter counts
 *
 * Exit status: 0 success, 1 the daemon refused or could not be reached, 2 usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/control.h"

#define CTL_TIMEOUT 5000

struct stats_view {
	const struct ixdp_ctl_stats *s;
	const struct ixdp_ctl_worker *w;
	const struct ixdp_ctl_queue *q;
	const struct ixdp_ctl_fg *fg;
	const __u64 *fgw;
};

static const char *const xdp_mode_names[] = { "native", "generic", "external" };
static const char *const counter_names[IXDP_CNT_MAX] = {
	[IXDP_CNT_REDIRECTED] = "redirected",
	[IXDP_CNT_PASSED] = "passed",
	[IXDP_CNT_NOT_PARSED] = "not_parsed",
	[IXDP_CNT_NO_SOCKET] = "no_socket",
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: ixdpctl [--control PATH] COMMAND\n\n"
		"  status [--json]         workers, queues, flow groups, XDP counters\n"
		"  stats [--json]          status plus every flow group\n"
		"  fg list                 flow groups with owner, packets, bytes, connections\n"
		"  conns [--json]          TCP connections: local, remote, state, worker, group\n"
		"  fg move [--force] GROUP WORKER\n"
		"                          steer flow group GROUP to worker WORKER; a group with\n"
		"                          TCP connections only with --force, which resets them\n"
		"  counters                what each counter of `stats --json` counts\n\n"
		"  --control PATH          control socket (default %s)\n",
		CFG_DEFAULT_CONTROL);
}

/* The frames a worker dropped, and the TCP segments its stack dropped, as one number each. */
static __u64 worker_rx_dropped(const struct ixdp_ctl_worker *w)
{
	return w->c.rx_invalid + w->c.rx_unhandled;
}

static __u64 worker_tcp_dropped(const struct ixdp_ctl_worker *w)
{
	return w->tcp.rx_not_local + w->tcp.rx_nomem + w->tcp.tx_nobuf + w->tcp.tx_unresolved;
}

/* `ixdpctl counters`: the lists of include/ixdp/ctl.h, as `stats --json` names them. */
static void print_counters(void)
{
	printf("%-34s %s\n", "workers[].KEY", "per worker, since it started");
#define COUNTER(field, key, text) printf("  %-32s %s\n", key, text);
	IXDP_CTL_WORKER_COUNTERS(COUNTER)
	printf("%-34s %s\n", "workers[].tcp.KEY", "its TCP stack");
	IXDP_CTL_TCP_COUNTERS(COUNTER)
	printf("%-34s %s\n", "workers[].app.KEY", "its app channels, every context together");
	IXDP_CTL_APP_COUNTERS(COUNTER)
#undef COUNTER
}

/* @str as a JSON string: quoted, with '"', '\\' and control characters escaped. */
static void json_str(const char *str)
{
	const unsigned char *p;

	putchar('"');
	for (p = (const unsigned char *)str; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static int call(const char *path, struct ixdp_ctl_req *req, struct ixdp_ctl_reply *rep,
		void **payload)
{
	int fd, ret;

	fd = ctl_connect(path, CTL_TIMEOUT);
	if (fd < 0) {
		fprintf(stderr, "ixdpctl: cannot reach ixdpd at %s: %s\n", path, strerror(-fd));
		return -1;
	}
	ret = ctl_call(fd, req, rep, payload, CTL_TIMEOUT);
	close(fd);
	if (ret == -EPROTO) {
		fprintf(stderr,
			"ixdpctl: ixdpd at %s speaks another control protocol version "
			"(ixdpctl speaks %u)\n",
			path, IXDP_CTL_VERSION);
		return -1;
	}
	if (ret) {
		fprintf(stderr, "ixdpctl: %s: %s\n", path, strerror(-ret));
		return -1;
	}
	if (rep->status) {
		fprintf(stderr, "ixdpctl: %s\n",
			*payload && **(char **)payload ? (char *)*payload : strerror(-rep->status));
		free(*payload);
		*payload = NULL;
		return -1;
	}
	return 0;
}

/* Check the payload is as long as its own counts say, then point the view into it. */
static int view_stats(const void *p, size_t len, struct stats_view *v)
{
	const struct ixdp_ctl_stats *s = p;
	size_t need;

	if (len < sizeof(*s))
		return -EPROTO;
	need = sizeof(*s) + s->nr_workers * sizeof(*v->w) + s->nr_queues * sizeof(*v->q) +
	       s->nr_fg * sizeof(*v->fg) + (size_t)s->nr_fg * s->nr_workers * sizeof(__u64);
	if (s->nr_workers > IXDP_WORKERS_MAX || s->nr_queues > IXDP_QUEUES_MAX ||
	    s->nr_fg > IXDP_FG_MAX || len != need)
		return -EPROTO;
	v->s = s;
	v->w = (const struct ixdp_ctl_worker *)(s + 1);
	v->q = (const struct ixdp_ctl_queue *)(v->w + s->nr_workers);
	v->fg = (const struct ixdp_ctl_fg *)(v->q + s->nr_queues);
	v->fgw = (const __u64 *)(v->fg + s->nr_fg);
	return 0;
}

static const char *xdp_mode(const struct ixdp_ctl_stats *s)
{
	return s->xdp_mode < 3 ? xdp_mode_names[s->xdp_mode] : "unknown";
}

/* Active connections per flow group, the groups that have any, eight to a line. */
static void print_fg_conns(const struct stats_view *v)
{
	unsigned int g, n = 0;

	printf("\nconnections per flow group (group:conns, groups with none left out):");
	for (g = 0; g < v->s->nr_fg; g++) {
		if (!v->fg[g].conns)
			continue;
		printf("%s%u:%u", n++ % 8 ? " " : "\n  ", v->fg[g].id, v->fg[g].conns);
	}
	printf(n ? "\n" : " none\n");
}

static void print_status(const struct stats_view *v)
{
	const struct ixdp_ctl_stats *s = v->s;
	unsigned int i;

	printf("interface   %s (ifindex %u)\n", s->ifname, s->ifindex);
	printf("xdp         %s, %s mode, program id %u\n", xdp_mode(s),
	       s->xdp_native ? "driver" : "generic (skb)", s->xdp_prog_id);
	printf("af_xdp      %s, %u queues x %u workers\n", s->zerocopy ? "zero-copy" : "copy",
	       s->nr_queues, s->nr_workers);
	printf("umem        %llu MiB on %s, %llu frames of %u, %llu free, %llu with the kernel\n",
	       (unsigned long long)s->umem_bytes >> 20, s->hugepages ? "hugepages" : "4 KiB pages",
	       (unsigned long long)s->pool_frames, s->frame_size, (unsigned long long)s->pool_free,
	       (unsigned long long)s->pool_kernel);
	printf("flow groups %u, hash seed ", s->nr_fg);
	if (s->hash_seed_shown)
		printf("%#x", s->hash_seed);
	else
		printf("(root only)");
	printf(" (%s)\n", s->hash_seed_random ? "drawn at start" : "configured");
	if (s->reflect_udp)
		printf("reflector   UDP port %u\n", s->reflect_udp);
	if (s->echo_tcp)
		printf("echo        TCP port %u\n", s->echo_tcp);
	if (s->sink_tcp)
		printf("sink        TCP port %u\n", s->sink_tcp);
	printf("apps        %u attached (%llu since start, %llu ended, %llu refused)\n", s->apps,
	       (unsigned long long)s->apps_attached, (unsigned long long)s->apps_detached,
	       (unsigned long long)s->apps_refused);
	printf("uptime      %.1f s\n\n", s->uptime_ns / 1e9);

	printf("%-6s %4s %6s %6s %5s %12s %12s %9s %9s %9s\n", "worker", "cpu", "busy%", "cpu%",
	       "fgs", "rx", "tx", "rx_drop", "tx_drop", "xsk_drop");
	for (i = 0; i < s->nr_workers; i++) {
		const struct ixdp_ctl_worker *w = &v->w[i];

		printf("%-6u %4u %6.1f %6.1f %5u %12llu %12llu %9llu %9llu %9llu\n", w->id, w->cpu,
		       w->busy_pct_x100 / 100.0, w->cpu_pct_x100 / 100.0, w->flow_groups,
		       (unsigned long long)w->c.rx_packets, (unsigned long long)w->c.tx_packets,
		       (unsigned long long)worker_rx_dropped(w), (unsigned long long)w->c.tx_dropped,
		       (unsigned long long)w->xsk_rx_dropped);
	}
	printf("\n%-6s %6s %6s %12s %10s %9s\n", "worker", "burst", "batch", "rx_bursts", "sleeps",
	       "cpu_lost");
	for (i = 0; i < s->nr_workers; i++) {
		const struct ixdp_ctl_worker *w = &v->w[i];

		printf("%-6u %6u %6.1f %12llu %10llu %9llu\n", w->id, w->rx_burst,
		       w->c.rx_bursts ? (double)w->c.rx_packets / w->c.rx_bursts : 0.0,
		       (unsigned long long)w->c.rx_bursts, (unsigned long long)w->c.sleeps,
		       (unsigned long long)w->c.cpu_lost);
	}
	if (s->tcp) {
		printf("\n%-6s %8s %8s %12s %12s %8s %8s\n", "worker", "conns", "tw", "segs_in",
		       "segs_out", "retrans", "dropped");
		for (i = 0; i < s->nr_workers; i++) {
			const struct ixdp_ctl_worker *w = &v->w[i];

			printf("%-6u %8u %8u %12llu %12llu %8llu %8llu\n", w->id, w->tcp_conns,
			       w->tcp_time_wait, (unsigned long long)w->tcp.segs_in,
			       (unsigned long long)w->tcp.segs_out,
			       (unsigned long long)w->tcp.retrans,
			       (unsigned long long)worker_tcp_dropped(w));
		}
		print_fg_conns(v);
	}
	printf("\n%-6s %12s\n", "queue", "fill_empty");
	for (i = 0; i < s->nr_queues; i++)
		printf("%-6u %12llu\n", v->q[i].id, (unsigned long long)v->q[i].fill_empty);
	printf("\nxdp: redirected %llu, passed to kernel %llu, not parsed %llu, no socket %llu\n",
	       (unsigned long long)s->xdp[IXDP_CNT_REDIRECTED],
	       (unsigned long long)s->xdp[IXDP_CNT_PASSED],
	       (unsigned long long)s->xdp[IXDP_CNT_NOT_PARSED],
	       (unsigned long long)s->xdp[IXDP_CNT_NO_SOCKET]);
}

static void print_fg(const struct stats_view *v)
{
	unsigned int g;

	printf("%-6s %6s %12s %14s %8s\n", "group", "owner", "packets", "bytes", "conns");
	for (g = 0; g < v->s->nr_fg; g++)
		printf("%-6u %6u %12llu %14llu %8u\n", v->fg[g].id, v->fg[g].owner,
		       (unsigned long long)v->fg[g].packets, (unsigned long long)v->fg[g].bytes,
		       v->fg[g].conns);
}

#define JU64(name, val) printf("\"%s\":%llu", name, (unsigned long long)(val))
#define JSON_WORKER(field, key, text) printf(",\"%s\":%llu", key, (unsigned long long)w->c.field);
#define JSON_TCP(field, key, text) printf(",\"%s\":%llu", key, (unsigned long long)w->tcp.field);
#define JSON_APP(field, key, text) printf(",\"%s\":%llu", key, (unsigned long long)w->app.field);

static void print_json(const struct stats_view *v, int with_fg)
{
	const struct ixdp_ctl_stats *s = v->s;
	unsigned int i, g;
	char ifname[sizeof(s->ifname) + 1];

	memcpy(ifname, s->ifname, sizeof(s->ifname));
	ifname[sizeof(s->ifname)] = '\0';
	printf("{\"interface\":");
	json_str(ifname);
	printf(",\"ifindex\":%u,", s->ifindex);
	printf("\"uptime_s\":%.3f,", s->uptime_ns / 1e9);
	printf("\"xdp\":{\"mode\":\"%s\",\"attach\":\"%s\",\"prog_id\":%u", xdp_mode(s),
	       s->xdp_native ? "driver" : "skb", s->xdp_prog_id);
	for (i = 0; i < IXDP_CNT_MAX; i++) {
		putchar(',');
		JU64(counter_names[i], s->xdp[i]);
	}
	printf("},\"af_xdp\":{\"mode\":\"%s\",\"queues\":%u,\"frame_size\":%u,",
	       s->zerocopy ? "zero-copy" : "copy", s->nr_queues, s->frame_size);
	JU64("umem_bytes", s->umem_bytes);
	printf(",\"hugepages\":%s,", s->hugepages ? "true" : "false");
	JU64("frames", s->pool_frames);
	putchar(',');
	JU64("frames_free", s->pool_free);
	putchar(',');
	JU64("frames_kernel", s->pool_kernel);
	printf("},\"apps\":{\"attached_now\":%u,", s->apps);
	JU64("attached", s->apps_attached);
	putchar(',');
	JU64("detached", s->apps_detached);
	putchar(',');
	JU64("refused", s->apps_refused);
	printf("},\"flow_hash\":{\"seed\":");
	if (s->hash_seed_shown)
		printf("%u", s->hash_seed);
	else
		printf("null");
	printf(",\"random\":%s}", s->hash_seed_random ? "true" : "false");
	printf(",\"reflect_udp\":%u,\"echo_tcp\":%u,\"sink_tcp\":%u,\"workers\":[",
	       s->reflect_udp, s->echo_tcp, s->sink_tcp);
	for (i = 0; i < s->nr_workers; i++) {
		const struct ixdp_ctl_worker *w = &v->w[i];

		printf("%s{\"id\":%u,\"cpu\":%u", i ? "," : "", w->id, w->cpu);
		IXDP_CTL_WORKER_COUNTERS(JSON_WORKER)
		putchar(',');
		JU64("rx_dropped", worker_rx_dropped(w));
		putchar(',');
		JU64("xsk_rx_dropped", w->xsk_rx_dropped);
		putchar(',');
		JU64("cpu_ns", w->cpu_ns);
		printf(",\"busy_pct\":%.2f,\"cpu_pct\":%.2f,\"flow_groups\":%u,",
		       w->busy_pct_x100 / 100.0, w->cpu_pct_x100 / 100.0, w->flow_groups);
		printf("\"rx_burst\":%u,\"mean_batch\":%.2f,", w->rx_burst,
		       w->c.rx_bursts ? (double)w->c.rx_packets / w->c.rx_bursts : 0.0);
		printf("\"tcp\":{\"conns\":%u,\"time_wait\":%u,\"half_open\":%u",
		       w->tcp_conns, w->tcp_time_wait, w->tcp_half_open);
		IXDP_CTL_TCP_COUNTERS(JSON_TCP)
		putchar(',');
		JU64("dropped", worker_tcp_dropped(w));
		printf("},\"app\":{\"contexts\":%u,\"conns\":%u", w->app_contexts, w->app_conns);
		IXDP_CTL_APP_COUNTERS(JSON_APP)
		printf("}}");
	}
	printf("],\"queues\":[");
	for (i = 0; i < s->nr_queues; i++) {
		printf("%s{\"id\":%u,", i ? "," : "", v->q[i].id);
		JU64("fill_empty", v->q[i].fill_empty);
		putchar('}');
	}
	printf("]");
	if (with_fg) {
		printf(",\"flow_groups\":[");
		for (g = 0; g < s->nr_fg; g++) {
			printf("%s{\"id\":%u,\"owner\":%u,", g ? "," : "", v->fg[g].id,
			       v->fg[g].owner);
			JU64("packets", v->fg[g].packets);
			putchar(',');
			JU64("bytes", v->fg[g].bytes);
			printf(",\"conns\":%u,\"worker_packets\":[", v->fg[g].conns);
			for (i = 0; i < s->nr_workers; i++)
				printf("%s%llu", i ? "," : "",
				       (unsigned long long)v->fgw[(size_t)g * s->nr_workers + i]);
			printf("]}");
		}
		printf("]");
	}
	printf("}\n");
}

static const char *const tcp_state_names[] = {
	"CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD", "ESTABLISHED", "FIN_WAIT_1",
	"FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT",
};

static void format_endpoint(int family, const __u32 *addr, __u16 port, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(family == IXDP_FAMILY_INET6 ? AF_INET6 : AF_INET, addr, a, sizeof(a));
	snprintf(out, len, family == IXDP_FAMILY_INET6 ? "[%s]:%u" : "%s:%u", a, port);
}

static int print_conns(const void *p, size_t len, int json)
{
	const struct ixdp_ctl_conns *h = p;
	const struct ixdp_ctl_conn *c;
	char l[64], r[64];
	__u32 i;

	if (len < sizeof(*h) || len != sizeof(*h) + (size_t)h->count * sizeof(*c))
		return -EPROTO;
	c = (const struct ixdp_ctl_conn *)(h + 1);
	if (json)
		printf("{\"truncated\":%u,\"conns\":[", h->truncated);
	else
		printf("%-46s %-46s %-12s %6s %6s %8s\n", "local", "remote", "state", "worker", "group",
		       "app pid");
	for (i = 0; i < h->count; i++, c++) {
		const char *st = c->state < 11 ? tcp_state_names[c->state] : "?";

		format_endpoint(c->family, c->laddr, c->lport, l, sizeof(l));
		format_endpoint(c->family, c->raddr, c->rport, r, sizeof(r));
		if (json)
			printf("%s{\"local\":\"%s\",\"remote\":\"%s\",\"state\":\"%s\","
			       "\"worker\":%u,\"flow_group\":%u,\"app_pid\":%u}",
			       i ? "," : "", l, r, st, c->worker, c->fg, c->pid);
		else if (c->pid)
			printf("%-46s %-46s %-12s %6u %6u %8u\n", l, r, st, c->worker, c->fg, c->pid);
		else
			printf("%-46s %-46s %-12s %6u %6u %8s\n", l, r, st, c->worker, c->fg, "-");
	}
	if (json)
		printf("]}\n");
	else if (h->truncated)
		printf("(%u more not listed)\n", h->truncated);
	return 0;
}

static int parse_u32(const char *s, __u32 *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v > 0xffffffffUL)
		return -EINVAL;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "control", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = getenv("IXDP_CONTROL") ?: CFG_DEFAULT_CONTROL;
	struct ixdp_ctl_req req = { 0 };
	struct ixdp_ctl_reply rep;
	struct stats_view v;
	void *payload = NULL;
	int opt, json = 0, ret = 1;
	const char *cmd;

	while ((opt = getopt_long(argc, argv, "+s:jh", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			path = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind++];
	if (optind < argc && !strcmp(argv[argc - 1], "--json")) {
		json = 1;
		argc--;
	}

	if (!strcmp(cmd, "status") || !strcmp(cmd, "stats") ||
	    (!strcmp(cmd, "fg") && optind < argc && !strcmp(argv[optind], "list"))) {
		int fg_list = !strcmp(cmd, "fg");

		if (optind + fg_list != argc) {
			usage(stderr);
			return 2;
		}
		req.op = IXDP_CTL_STATS;
		if (call(path, &req, &rep, &payload))
			return 1;
		if (view_stats(payload, rep.len, &v)) {
			fprintf(stderr, "ixdpctl: malformed stats reply from %s\n", path);
			goto out;
		}
		if (json)
			print_json(&v, strcmp(cmd, "status") != 0);
		else if (fg_list)
			print_fg(&v);
		else
			print_status(&v);
		if (!json && !fg_list && !strcmp(cmd, "stats")) {
			putchar('\n');
			print_fg(&v);
		}
		ret = 0;
	} else if (!strcmp(cmd, "counters") && optind == argc && !json) {
		print_counters();
		ret = 0;
	} else if (!strcmp(cmd, "conns") && optind == argc) {
		req.op = IXDP_CTL_CONNS;
		if (call(path, &req, &rep, &payload))
			return 1;
		if (print_conns(payload, rep.len, json)) {
			fprintf(stderr, "ixdpctl: malformed conns reply from %s\n", path);
			goto out;
		}
		ret = 0;
	} else if (!strcmp(cmd, "fg") && optind < argc && !strcmp(argv[optind], "move")) {
		const char *pos[2];
		int i, npos = 0;

		for (i = optind + 1; i < argc; i++) {
			if (!strcmp(argv[i], "--force")) {
				req.arg[2] |= IXDP_CTL_FG_FORCE;
			} else if (npos == 2) {
				usage(stderr);
				return 2;
			} else {
				pos[npos++] = argv[i];
			}
		}
		if (npos != 2) {
			usage(stderr);
			return 2;
		}
		req.op = IXDP_CTL_FG_MOVE;
		if (parse_u32(pos[0], &req.arg[0]) || parse_u32(pos[1], &req.arg[1])) {
			fprintf(stderr, "ixdpctl: fg move: GROUP and WORKER are numbers\n");
			return 2;
		}
		if (call(path, &req, &rep, &payload))
			return 1;
		printf("flow group %u -> worker %u\n", req.arg[0], req.arg[1]);
		ret = 0;
	} else {
		usage(stderr);
		return 2;
	}
out:
	free(payload);
	return ret;
}
