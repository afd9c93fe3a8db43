// SPDX-License-Identifier: GPL-2.0
/*
 * steering.c - load, attach or find the XDP steering program and fill its maps.
 *
 * native/generic: the program comes from the skeleton built into ixdpd and is attached through a
 * BPF link, which the kernel removes when the last reference to it closes, so a SIGKILLed ixdpd
 * leaves nothing on the interface.  external: the operator attached build/bpf/ixdp_steer.bpf.o
 * with iproute2; we find it with a netlink query (bpf_xdp_query), check it is ours and take its
 * maps through the program's map ids.  On exit we leave it passing everything to the kernel.
 */
#include <errno.h>
#include <linux/if_link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/log.h"
#include "ixdp_steer.skel.h"
#include "net/steering.h"

struct steer_map_spec {
	const char *name;
	__u32 type;
	__u32 key_size;
	__u32 value_size;
	__u32 max_entries;
	size_t fd_off;
};

#define FD(f) offsetof(struct steer, f)

static const struct steer_map_spec steer_maps[] = {
	{ IXDP_MAP_CFG, BPF_MAP_TYPE_ARRAY, 4, sizeof(struct ixdp_steer_cfg), 1, FD(cfg_fd) },
	{ IXDP_MAP_FG_OWNER, BPF_MAP_TYPE_ARRAY, 4, 4, IXDP_FG_MAX, FD(fg_owner_fd) },
	{ IXDP_MAP_XSKS, BPF_MAP_TYPE_XSKMAP, 4, 4, IXDP_XSK_MAX, FD(xsks_fd) },
	{ IXDP_MAP_SERVICES, BPF_MAP_TYPE_HASH, sizeof(struct ixdp_svc_key), 4, IXDP_SERVICES_MAX,
	  FD(services_fd) },
	{ IXDP_MAP_LOCAL_ADDRS, BPF_MAP_TYPE_HASH, sizeof(struct ixdp_addr_key), 4,
	  IXDP_LOCAL_ADDRS_MAX, FD(local_addrs_fd) },
	{ IXDP_MAP_FG_STATS, BPF_MAP_TYPE_PERCPU_ARRAY, 4, sizeof(struct ixdp_fg_stats),
	  IXDP_FG_MAX, FD(fg_stats_fd) },
	{ IXDP_MAP_STEER_STATS, BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, IXDP_CNT_MAX, FD(stats_fd) },
};

#define STEER_NMAPS (sizeof(steer_maps) / sizeof(steer_maps[0]))

static int *steer_fd(struct steer *s, const struct steer_map_spec *m)
{
	return (int *)((char *)s + m->fd_off);
}

static int steer_libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	if (level == LIBBPF_DEBUG && log_max_level < LOG_LVL_DEBUG)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	/* Known noise: libxdp tags objects with a section libbpf does not know. */
	if (strstr(buf, "skipping unrecognized data section"))
		return 0;
	log_msg(level == LIBBPF_WARN ? LOG_LVL_WARN : LOG_LVL_DEBUG, "libbpf: %s", buf);
	return 0;
}

static int steer_query(struct steer *s, __u32 *prog_id)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int ret;

	ret = bpf_xdp_query(s->ifindex, 0, &q);
	if (ret)
		return ret;
	s->attached_native = q.attach_mode == XDP_ATTACHED_DRV;
	*prog_id = q.prog_id ? q.prog_id : (q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id);
	return 0;
}

static int steer_attach(struct steer *s, const char *ifname)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts);
	__u32 existing = 0;
	int ret;

	s->skel = ixdp_steer__open_and_load();
	if (!s->skel) {
		ret = -errno;
		pr_err("loading the XDP program: %s", strerror(-ret));
		return ret;
	}
	s->prog_fd = bpf_program__fd(s->skel->progs.ixdp_steer);

	opts.flags = s->mode == CFG_XDP_GENERIC ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	s->link_fd = bpf_link_create(s->prog_fd, s->ifindex, BPF_XDP, &opts);
	if (s->link_fd < 0) {
		ret = -errno;
		if (ret == -EBUSY || ret == -EEXIST) {
			steer_query(s, &existing);
			pr_err("%s already has an XDP program (id %u): use xdp-mode = external if it "
			       "is ixdp_steer, or remove it with 'ip link set dev %s xdp off'",
			       ifname, existing, ifname);
		} else {
			pr_err("attaching XDP (%s) to %s: %s", cfg_xdp_mode_name(s->mode), ifname,
			       strerror(-ret));
		}
		return ret;
	}
	return steer_query(s, &s->prog_id);
}

/* Take the maps of an attached program after checking each is the one this daemon expects. */
static int steer_find_maps(struct steer *s, const char *ifname)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), map_ids[16], i, j;
	int ret;

	info.nr_map_ids = 16;
	info.map_ids = (__u64)(unsigned long)map_ids;
	if (bpf_obj_get_info_by_fd(s->prog_fd, &info, &len))
		return -errno;
	if (strcmp(info.name, IXDP_PROG_NAME)) {
		pr_err("%s: the attached XDP program is '%s', not %s", ifname, info.name,
		       IXDP_PROG_NAME);
		return -ENOENT;
	}
	for (i = 0; i < info.nr_map_ids && i < 16; i++) {
		struct bpf_map_info mi = {};
		__u32 mlen = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(map_ids[i]);

		if (fd < 0)
			return -errno;
		if (bpf_obj_get_info_by_fd(fd, &mi, &mlen)) {
			ret = -errno;
			close(fd);
			return ret;
		}
		for (j = 0; j < STEER_NMAPS; j++)
			if (!strcmp(mi.name, steer_maps[j].name) &&
			    *steer_fd(s, &steer_maps[j]) < 0)
				break;
		if (j == STEER_NMAPS) {
			close(fd);
			continue;
		}
		if (mi.type != steer_maps[j].type || mi.key_size != steer_maps[j].key_size ||
		    mi.value_size != steer_maps[j].value_size ||
		    mi.max_entries != steer_maps[j].max_entries) {
			pr_err("%s: map %s of the attached program has another layout: it was built "
			       "from another ixdp version",
			       ifname, mi.name);
			close(fd);
			return -EPROTO;
		}
		*steer_fd(s, &steer_maps[j]) = fd;
	}
	for (j = 0; j < STEER_NMAPS; j++) {
		if (*steer_fd(s, &steer_maps[j]) < 0) {
			pr_err("%s: the attached program has no map %s", ifname,
			       steer_maps[j].name);
			return -EPROTO;
		}
	}
	return 0;
}

/* Empty a hash map: an earlier ixdpd on an external program may have left its services. */
static int steer_clear_hash(int fd, size_t key_size)
{
	unsigned char key[64], next[64];
	int n = 0;

	while (!bpf_map_get_next_key(fd, NULL, next) && n++ < IXDP_SERVICES_MAX * 2) {
		memcpy(key, next, key_size);
		if (bpf_map_delete_elem(fd, key))
			return -errno;
	}
	return 0;
}

static int steer_find(struct steer *s, const char *ifname)
{
	int ret;

	ret = steer_query(s, &s->prog_id);
	if (ret) {
		pr_err("%s: XDP query: %s", ifname, strerror(-ret));
		return ret;
	}
	if (!s->prog_id) {
		pr_err("%s: xdp-mode = external but no XDP program is attached (attach it with "
		       "'ip link set dev %s xdp obj ixdp_steer.bpf.o sec xdp')",
		       ifname, ifname);
		return -ENOENT;
	}
	s->prog_fd = bpf_prog_get_fd_by_id(s->prog_id);
	if (s->prog_fd < 0) {
		ret = -errno;
		pr_err("%s: XDP program %u: %s", ifname, s->prog_id, strerror(-ret));
		return ret;
	}
	ret = steer_find_maps(s, ifname);
	if (!ret)
		ret = steer_clear_hash(s->services_fd, sizeof(struct ixdp_svc_key));
	if (!ret)
		ret = steer_clear_hash(s->local_addrs_fd, sizeof(struct ixdp_addr_key));
	return ret;
}

/**
 * steer_open - attach the steering program to @ifindex, or find the one attached there.
 * @s:       zeroed on entry
 * @ifindex: interface
 * @ifname:  its name, for messages
 * @mode:    native, generic (attach through a BPF link) or external (find)
 *
 * The program passes every frame to the kernel until steer_configure() names the workers.
 *
 * Return: 0, or a negative errno with the cause logged and nothing left attached.
 */
int steer_open(struct steer *s, unsigned int ifindex, const char *ifname, enum cfg_xdp_mode mode)
{
	size_t i;
	int ret;

	memset(s, 0, sizeof(*s));
	s->link_fd = -1;
	s->prog_fd = -1;
	s->ifindex = ifindex;
	s->mode = mode;
	for (i = 0; i < STEER_NMAPS; i++)
		*steer_fd(s, &steer_maps[i]) = -1;
	s->nr_cpus = libbpf_num_possible_cpus();
	if (s->nr_cpus <= 0)
		return s->nr_cpus ? s->nr_cpus : -EINVAL;
	libbpf_set_print(steer_libbpf_log);

	if (mode == CFG_XDP_EXTERNAL) {
		ret = steer_find(s, ifname);
	} else {
		ret = steer_attach(s, ifname);
		for (i = 0; !ret && i < STEER_NMAPS; i++) {
			struct bpf_map *m =
				bpf_object__find_map_by_name(s->skel->obj, steer_maps[i].name);

			*steer_fd(s, &steer_maps[i]) = m ? bpf_map__fd(m) : -ENOENT;
			if (!m)
				ret = -ENOENT;
		}
	}
	if (ret) {
		steer_close(s);
		return ret;
	}
	return 0;
}

/**
 * steer_close - detach (own program) or neutralise (external program) and release everything.
 * @s: handle; safe on a partly opened one
 */
void steer_close(struct steer *s)
{
	size_t i;

	if (!s->ifindex)
		return; /* never opened */
	if (s->mode == CFG_XDP_EXTERNAL && s->cfg_fd >= 0) {
		struct ixdp_steer_cfg off = { 0 };
		__u32 zero = 0;

		/* The program stays attached: make it hand everything to the kernel again. */
		bpf_map_update_elem(s->cfg_fd, &zero, &off, BPF_ANY);
	}
	if (s->link_fd >= 0)
		close(s->link_fd);
	if (s->skel) {
		ixdp_steer__destroy(s->skel);
	} else {
		for (i = 0; i < STEER_NMAPS; i++)
			if (*steer_fd(s, &steer_maps[i]) >= 0)
				close(*steer_fd(s, &steer_maps[i]));
		if (s->prog_fd >= 0)
			close(s->prog_fd);
	}
	memset(s, 0, sizeof(*s));
	s->link_fd = -1;
	s->prog_fd = -1;
	for (i = 0; i < STEER_NMAPS; i++)
		*steer_fd(s, &steer_maps[i]) = -1;
}

static int steer_update(int fd, const void *key, const void *value)
{
	return bpf_map_update_elem(fd, key, value, BPF_ANY) ? -errno : 0;
}

/**
 * steer_configure - set the program's parameters; nr_workers > 0 starts steering.
 * @s:   handle
 * @cfg: parameters
 *
 * Return: 0 or a negative errno.
 */
int steer_configure(struct steer *s, const struct ixdp_steer_cfg *cfg)
{
	__u32 zero = 0;

	return steer_update(s->cfg_fd, &zero, cfg);
}

/**
 * steer_set_owner - point flow group @fg at @worker.
 * @s:      handle
 * @fg:     flow group
 * @worker: worker index
 *
 * Return: 0 or a negative errno.
 */
int steer_set_owner(struct steer *s, __u32 fg, __u32 worker)
{
	return steer_update(s->fg_owner_fd, &fg, &worker);
}

/**
 * steer_set_xsk - put AF_XDP socket @fd into slot @slot (queue * workers + worker).
 * @s:    handle
 * @slot: XSKMAP index
 * @fd:   bound AF_XDP socket
 *
 * Return: 0 or a negative errno.
 */
int steer_set_xsk(struct steer *s, __u32 slot, int fd)
{
	return steer_update(s->xsks_fd, &slot, &fd);
}

/**
 * steer_add_service - claim (proto, address or wildcard, port) for ixdp.
 * @s:   handle
 * @key: service key
 * @id:  service id
 *
 * Return: 0 or a negative errno (-E2BIG when the table is full).
 */
int steer_add_service(struct steer *s, const struct ixdp_svc_key *key, __u32 id)
{
	return steer_update(s->services_fd, key, &id);
}

/**
 * steer_del_service - give (proto, address, port) back to the kernel.
 * @s:   handle
 * @key: service key
 *
 * Return: 0 or a negative errno (-ENOENT when it was not there).
 */
int steer_del_service(struct steer *s, const struct ixdp_svc_key *key)
{
	return bpf_map_delete_elem(s->services_fd, key) ? -errno : 0;
}

/**
 * steer_add_local_addr - declare a dataplane address (its ephemeral range becomes ixdp's).
 * @s:   handle
 * @key: address
 *
 * Return: 0 or a negative errno.
 */
int steer_add_local_addr(struct steer *s, const struct ixdp_addr_key *key)
{
	__u32 one = 1;

	return steer_update(s->local_addrs_fd, key, &one);
}

/**
 * steer_del_local_addr - the address is no longer the dataplane's.
 * @s:   handle
 * @key: address
 *
 * Return: 0 or a negative errno (-ENOENT when it was not there).
 */
int steer_del_local_addr(struct steer *s, const struct ixdp_addr_key *key)
{
	return bpf_map_delete_elem(s->local_addrs_fd, key) ? -errno : 0;
}

/**
 * steer_read_counters - sum the per-CPU steer_stats counters.
 * @s:   handle
 * @out: receives IXDP_CNT_MAX totals
 *
 * Return: 0 or a negative errno.
 */
int steer_read_counters(struct steer *s, __u64 out[IXDP_CNT_MAX])
{
	__u64 *v = calloc(s->nr_cpus, sizeof(*v));
	__u32 k;
	int c, ret = 0;

	if (!v)
		return -ENOMEM;
	for (k = 0; k < IXDP_CNT_MAX; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(s->stats_fd, &k, v)) {
			ret = -errno;
			break;
		}
		for (c = 0; c < s->nr_cpus; c++)
			out[k] += v[c];
	}
	free(v);
	return ret;
}

/**
 * steer_read_fg - sum flow group @fg's per-CPU packet and byte counts.
 * @s:   handle
 * @fg:  flow group
 * @out: receives the totals
 *
 * Return: 0 or a negative errno.
 */
int steer_read_fg(struct steer *s, __u32 fg, struct ixdp_fg_stats *out)
{
	struct ixdp_fg_stats *v = calloc(s->nr_cpus, sizeof(*v));
	int c, ret = 0;

	if (!v)
		return -ENOMEM;
	out->packets = out->bytes = 0;
	if (bpf_map_lookup_elem(s->fg_stats_fd, &fg, v)) {
		ret = -errno;
	} else {
		for (c = 0; c < s->nr_cpus; c++) {
			out->packets += v[c].packets;
			out->bytes += v[c].bytes;
		}
	}
	free(v);
	return ret;
}
