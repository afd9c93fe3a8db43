/* SPDX-License-Identifier: GPL-2.0 */
/* config.h - ixdpd's configuration: one table of keys, read from an INI file and argv. */
#ifndef IXDP_CONFIG_H
#define IXDP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <net/if.h>
#include <sys/un.h>

#include "core/log.h"
#include "ixdp/steer.h"
#include "net/ports.h"

#define CFG_DEFAULT_CONTROL "/run/ixdp/ixdpd.sock"

enum cfg_xdp_mode {
	CFG_XDP_NATIVE,
	CFG_XDP_GENERIC,
	CFG_XDP_EXTERNAL,
};

enum cfg_zerocopy {
	CFG_ZC_AUTO,
	CFG_ZC_ON,
	CFG_ZC_OFF,
};

struct ixdp_config {
	char interface[IF_NAMESIZE];
	unsigned int workers;
	unsigned int cpus[IXDP_WORKERS_MAX];
	unsigned int nr_cpus;		/* 0: first CPUs of the allowed set */
	unsigned int flow_groups;
	enum cfg_xdp_mode xdp_mode;
	char control[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char app_group[64];		/* "": root only */
	struct ports_set app_ports;	/* where apps that are not root may listen; empty: nowhere */
	unsigned int reflect_udp;	/* 0: off */
	unsigned int echo_tcp;		/* 0: off */
	unsigned int sink_tcp;		/* 0: off */
	unsigned int queues;		/* 0: all rx queues of the interface */
	unsigned int rx_ring;
	unsigned int tx_ring;
	unsigned int fill_ring;		/* 0: derived from workers x rx_ring */
	unsigned int comp_ring;
	unsigned int frames;		/* 0: derived from the rings */
	unsigned int frame_size;
	enum cfg_zerocopy zerocopy;
	unsigned int idle_spin_us;
	unsigned int idle_backoff_ms;	/* 0: a worker never backs off (dedicated CPUs) */
	unsigned int eph_lo;		/* eph_lo > eph_hi: no reserved range */
	unsigned int eph_hi;
	unsigned int hash_seed;
	bool hash_seed_random;		/* flow-hash-seed = random: drawn at start */
	unsigned int half_open;		/* tcp-half-open: SYN_RCVD per worker */
	unsigned int half_open_listener; /* tcp-half-open-listener: SYN_RCVD per listener, worker */
	unsigned int app_ctx_conns;	/* connections per app context per worker */
	unsigned int app_rx_size;	/* receive area per app context per worker, bytes */
	unsigned int uid_contexts;	/* app contexts per non-root uid */
	unsigned int uid_listens;	/* distinct listens per non-root uid */
	unsigned int uid_conns;		/* TCP connections per non-root uid, all workers */
	bool foreground;
	enum log_level log_level;
};

void cfg_defaults(struct ixdp_config *c);
int cfg_set(struct ixdp_config *c, const char *key, const char *value, char *err, size_t errlen);
int cfg_load_file(struct ixdp_config *c, const char *path, char *err, size_t errlen);
int cfg_parse_args(struct ixdp_config *c, int argc, char **argv, char *err, size_t errlen);
int cfg_validate(const struct ixdp_config *c, char *err, size_t errlen);
void cfg_usage(FILE *out);
int cfg_err(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *cfg_xdp_mode_name(enum cfg_xdp_mode m);

#endif /* IXDP_CONFIG_H */
