// SPDX-License-Identifier: GPL-2.0
/*
 * config.c - ixdpd's configuration keys, their parsers, the INI reader and argv overrides.
 *
 * Every key is one row of cfg_keys[]: the INI file and the command line (--KEY VALUE) share it,
 * and docs/configuration.md documents the same rows.  Errors name the key and say what was
 * wrong; the caller prints them and exits with status 2 before touching the system.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

enum cfg_type {
	CFG_UINT,
	CFG_STR,
	CFG_ENUM,
	CFG_CPUS,
	CFG_RANGE,
	CFG_LOGLEVEL,
	CFG_PORTS,
	CFG_SEED,
};

struct cfg_key {
	const char *name;
	enum cfg_type type;
	size_t off;		/* into struct ixdp_config */
	size_t size;		/* CFG_STR: buffer size */
	unsigned long min, max;	/* CFG_UINT */
	const char *const *names; /* CFG_ENUM, NULL terminated, index = value */
	const char *arg;	/* for --help */
	const char *help;
};

static const char *const xdp_mode_names[] = { "native", "generic", "external", NULL };
static const char *const zerocopy_names[] = { "auto", "on", "off", NULL };

#define OFF(f) offsetof(struct ixdp_config, f)
#define SZ(f) sizeof(((struct ixdp_config *)0)->f)

static const struct cfg_key cfg_keys[] = {
	{ "interface", CFG_STR, OFF(interface), SZ(interface), 0, 0, NULL, "IF",
	  "network interface to serve (required)" },
	{ "workers", CFG_UINT, OFF(workers), 0, 1, IXDP_WORKERS_MAX, NULL, "N",
	  "worker threads (default 1)" },
	{ "cpus", CFG_CPUS, OFF(cpus), 0, 0, 0, NULL, "LIST",
	  "CPU of each worker, e.g. 0,1 or 2-5 (default: first allowed CPUs)" },
	{ "flow-groups", CFG_UINT, OFF(flow_groups), 0, 1, IXDP_FG_MAX, NULL, "N",
	  "flow groups, a power of two (default 256)" },
	{ "xdp-mode", CFG_ENUM, OFF(xdp_mode), 0, 0, 0, xdp_mode_names, "MODE",
	  "native, generic or external (default native)" },
	{ "control", CFG_STR, OFF(control), SZ(control), 0, 0, NULL, "PATH",
	  "control socket (default " CFG_DEFAULT_CONTROL "); apps attach here too" },
	{ "app-group", CFG_STR, OFF(app_group), SZ(app_group), 0, 0, NULL, "GROUP",
	  "besides root, members of GROUP may attach apps (default: root only)" },
	{ "app-ports", CFG_PORTS, OFF(app_ports), 0, 0, 0, NULL, "LIST|none",
	  "ports where apps that are not root may listen, e.g. 11211,8000-8099 (default none)" },
	{ "reflect-udp", CFG_UINT, OFF(reflect_udp), 0, 0, 65535, NULL, "PORT",
	  "diagnostic UDP reflector port (default 0: off)" },
	{ "echo-tcp", CFG_UINT, OFF(echo_tcp), 0, 0, 65535, NULL, "PORT",
	  "diagnostic TCP echo service port (default 0: off)" },
	{ "sink-tcp", CFG_UINT, OFF(sink_tcp), 0, 0, 65535, NULL, "PORT",
	  "diagnostic TCP sink service port (default 0: off)" },
	{ "queues", CFG_UINT, OFF(queues), 0, 0, IXDP_QUEUES_MAX, NULL, "N",
	  "rx queues to serve (default 0: all)" },
	{ "rx-ring", CFG_UINT, OFF(rx_ring), 0, 64, 16384, NULL, "N",
	  "AF_XDP RX ring entries per socket (default 2048)" },
	{ "tx-ring", CFG_UINT, OFF(tx_ring), 0, 64, 16384, NULL, "N",
	  "AF_XDP TX ring entries per socket (default 1024)" },
	{ "fill-ring", CFG_UINT, OFF(fill_ring), 0, 0, 65536, NULL, "N",
	  "fill ring entries per queue (default 0: workers x rx-ring, at least 2048)" },
	{ "comp-ring", CFG_UINT, OFF(comp_ring), 0, 0, 65536, NULL, "N",
	  "completion ring entries per queue (default 0: workers x tx-ring, at least 2048)" },
	{ "frames", CFG_UINT, OFF(frames), 0, 0, 1u << 22, NULL, "N",
	  "umem frames (default 0: enough for every ring)" },
	{ "frame-size", CFG_UINT, OFF(frame_size), 0, 2048, 4096, NULL, "BYTES",
	  "umem frame size, 2048 or 4096 (default 4096)" },
	{ "zerocopy", CFG_ENUM, OFF(zerocopy), 0, 0, 0, zerocopy_names, "MODE",
	  "AF_XDP zero-copy: auto, on or off (default auto)" },
	{ "idle-spin-us", CFG_UINT, OFF(idle_spin_us), 0, 0, 1000000, NULL, "US",
	  "microseconds an idle worker polls before it sleeps (default 200)" },
	{ "idle-backoff-ms", CFG_UINT, OFF(idle_backoff_ms), 0, 0, 10000, NULL, "MS",
	  "an idle worker whose CPU is shared sleeps at once this long (default 100; 0: never)" },
	{ "ephemeral-ports", CFG_RANGE, OFF(eph_lo), 0, 0, 0, NULL, "LO-HI|none",
	  "ports reserved for the dataplane's outgoing connections (default 61000-65535)" },
	{ "app-ctx-conns", CFG_UINT, OFF(app_ctx_conns), 0, 1, 1u << 24, NULL, "N",
	  "connections one app context may hold on each worker (default 16384)" },
	{ "app-rx-size", CFG_UINT, OFF(app_rx_size), 0, 64u << 10, 256u << 20, NULL, "BYTES",
	  "receive area of an app context on each worker (default 8388608)" },
	{ "uid-contexts", CFG_UINT, OFF(uid_contexts), 0, 1, 64, NULL, "N",
	  "app contexts one non-root user may hold at once (default 32)" },
	{ "uid-listens", CFG_UINT, OFF(uid_listens), 0, 1, 64, NULL, "N",
	  "distinct ports/addresses one non-root user may listen on at once (default 16)" },
	{ "uid-conns", CFG_UINT, OFF(uid_conns), 0, 1, 1u << 24, NULL, "N",
	  "TCP connections one non-root user's apps may hold on all workers (default 65536)" },
	{ "flow-hash-seed", CFG_SEED, OFF(hash_seed), 0, 0, UINT_MAX, NULL, "N|random",
	  "seed of the flow hash (default random: drawn at every start)" },
	{ "tcp-half-open", CFG_UINT, OFF(half_open), 0, 1, 1000000, NULL, "N",
	  "half-open TCP connections per worker; SYNs beyond are dropped (default 4096)" },
	{ "tcp-half-open-listener", CFG_UINT, OFF(half_open_listener), 0, 1, 1000000, NULL, "N",
	  "half-open TCP connections per listener and worker (default 1024)" },
	{ "log-level", CFG_LOGLEVEL, OFF(log_level), 0, 0, 0, NULL, "LEVEL",
	  "error, warning, info or debug (default info)" },
};

#define CFG_NKEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))

/**
 * cfg_err - format a configuration error ("key: reason") into @err.
 * @err: buffer
 * @len: its size
 * @fmt: printf format
 *
 * Return: -EINVAL, so callers can "return cfg_err(...)".
 */
int cfg_err(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/**
 * cfg_defaults - fill @c with the built-in defaults.
 * @c: configuration to reset
 */
void cfg_defaults(struct ixdp_config *c)
{
	memset(c, 0, sizeof(*c));
	c->workers = 1;
	c->flow_groups = IXDP_FG_DEFAULT;
	c->xdp_mode = CFG_XDP_NATIVE;
	snprintf(c->control, sizeof(c->control), "%s", CFG_DEFAULT_CONTROL);
	/*
	 * A burst of one segment per connection must fit: 512 overflowed at 1,024 connections
	 * (docs/benchmarks.md), and every frame dropped there costs a retransmission timeout.
	 */
	c->rx_ring = 2048;
	c->tx_ring = 1024;
	c->frame_size = 4096;
	c->zerocopy = CFG_ZC_AUTO;
	c->idle_spin_us = 200;
	c->idle_backoff_ms = 100;
	c->eph_lo = 61000;
	c->eph_hi = 65535;
	c->app_ctx_conns = 16384; /* CHAN_CTX_CONNS */
	c->app_rx_size = 8u << 20; /* APP_RX_SIZE */
	c->uid_contexts = 32; /* half of APP_CTX_MAX */
	c->uid_listens = 16; /* APP_UID_LISTENS: a quarter of APP_LISTEN_MAX */
	c->uid_conns = 65536; /* APP_UID_CONNS */
	c->log_level = LOG_LVL_INFO;
	c->hash_seed_random = true;
	c->half_open = 4096;
	c->half_open_listener = 1024;
}

/**
 * cfg_xdp_mode_name - the configuration name of an XDP mode.
 * @m: mode
 *
 * Return: a static string.
 */
const char *cfg_xdp_mode_name(enum cfg_xdp_mode m)
{
	return xdp_mode_names[m];
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* A whole-string decimal number in [min, max]. */
static int parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* "0,2,4-6": CPUs in the order given; at most IXDP_WORKERS_MAX entries, no empty items. */
static int parse_cpus(const char *s, struct ixdp_config *c, char *err, size_t len)
{
	char buf[512], *item, *rest;
	unsigned int n = 0;

	if (strlen(s) >= sizeof(buf))
		return cfg_err(err, len, "list too long");
	snprintf(buf, sizeof(buf), "%s", s);
	rest = buf;
	while ((item = strsep(&rest, ","))) {
		unsigned long lo, hi;
		char *dash = strchr(item, '-');

		if (dash)
			*dash = '\0';
		if (parse_ulong(item, 0, CPU_SETSIZE - 1, &lo) ||
		    parse_ulong(dash ? dash + 1 : item, 0, CPU_SETSIZE - 1, &hi) || hi < lo)
			return cfg_err(err, len, "'%s' is not a CPU list (e.g. 0,1 or 2-5)", s);
		for (; lo <= hi; lo++) {
			if (n == IXDP_WORKERS_MAX)
				return cfg_err(err, len, "more than %d CPUs", IXDP_WORKERS_MAX);
			c->cpus[n++] = lo;
		}
	}
	c->nr_cpus = n;
	return 0;
}

static int parse_range(const char *s, struct ixdp_config *c, char *err, size_t len)
{
	unsigned long lo, hi;
	char buf[32], *dash;

	if (!strcmp(s, "none")) {
		c->eph_lo = 1;
		c->eph_hi = 0;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	dash = strchr(buf, '-');
	if (!dash)
		return cfg_err(err, len, "'%s' is not a port range LO-HI or none", s);
	*dash = '\0';
	if (parse_ulong(buf, 1, 65535, &lo) || parse_ulong(dash + 1, 1, 65535, &hi) || hi < lo)
		return cfg_err(err, len, "'%s' is not a port range LO-HI (1-65535) or none", s);
	c->eph_lo = lo;
	c->eph_hi = hi;
	return 0;
}

/*
 * "11211, 8000-8099": ports and LO-HI ranges, comma separated, blanks around items allowed;
 * "none" for the empty list.  At most PORTS_RANGES_MAX items, no empty item.
 */
static int parse_ports(const char *s, struct ports_set *set, char *err, size_t len)
{
	char buf[512], *item, *rest;
	struct ports_set p = { 0 };

	if (!strcmp(s, "none")) {
		*set = p;
		return 0;
	}
	if (strlen(s) >= sizeof(buf))
		return cfg_err(err, len, "list too long");
	snprintf(buf, sizeof(buf), "%s", s);
	rest = buf;
	while ((item = strsep(&rest, ","))) {
		unsigned long lo, hi;
		char *dash;

		item = trim(item);
		dash = strchr(item, '-');
		if (dash)
			*dash = '\0';
		if (parse_ulong(trim(item), 1, 65535, &lo) ||
		    parse_ulong(dash ? trim(dash + 1) : item, 1, 65535, &hi) || hi < lo)
			return cfg_err(err, len,
				       "'%s' is not a list of ports 1-65535 and ranges LO-HI (e.g. "
				       "11211, 8000-8099) or none", s);
		if (p.n == PORTS_RANGES_MAX)
			return cfg_err(err, len, "more than %d ports and ranges", PORTS_RANGES_MAX);
		p.r[p.n].lo = lo;
		p.r[p.n].hi = hi;
		p.n++;
	}
	*set = p;
	return 0;
}

static const struct cfg_key *cfg_find(const char *name)
{
	size_t i;

	for (i = 0; i < CFG_NKEYS; i++)
		if (!strcmp(cfg_keys[i].name, name))
			return &cfg_keys[i];
	return NULL;
}

/**
 * cfg_set - set one key from its text value.
 * @c:      configuration
 * @key:    key name as in the INI file (e.g. "flow-groups")
 * @value:  text value
 * @err:    receives "KEY: reason" on failure
 * @errlen: size of @err
 *
 * Return: 0, or -EINVAL with @err filled.
 */
int cfg_set(struct ixdp_config *c, const char *key, const char *value, char *err, size_t errlen)
{
	const struct cfg_key *k = cfg_find(key);
	char *field = (char *)c;
	char why[256];
	unsigned long v;
	int i;

	if (!k)
		return cfg_err(err, errlen, "%s: unknown key", key);
	field += k->off;
	switch (k->type) {
	case CFG_UINT:
		if (parse_ulong(value, k->min, k->max, &v))
			return cfg_err(err, errlen, "%s: '%s' is not a number in %lu..%lu", key,
				       value, k->min, k->max);
		*(unsigned int *)field = v;
		return 0;
	case CFG_STR:
		if (!*value || strlen(value) >= k->size)
			return cfg_err(err, errlen, "%s: '%s' must be 1 to %zu characters", key,
				       value, k->size - 1);
		memcpy(field, value, strlen(value) + 1);
		return 0;
	case CFG_ENUM:
		for (i = 0; k->names[i]; i++) {
			if (!strcmp(value, k->names[i])) {
				*(int *)field = i;
				return 0;
			}
		}
		return cfg_err(err, errlen, "%s: '%s' is not one of %s%s%s%s%s", key, value,
			       k->names[0], k->names[1] ? ", " : "", k->names[1] ? k->names[1] : "",
			       k->names[2] ? ", " : "", k->names[2] ? k->names[2] : "");
	case CFG_CPUS:
		if (parse_cpus(value, c, why, sizeof(why)))
			return cfg_err(err, errlen, "%s: %s", key, why);
		return 0;
	case CFG_RANGE:
		if (parse_range(value, c, why, sizeof(why)))
			return cfg_err(err, errlen, "%s: %s", key, why);
		return 0;
	case CFG_PORTS:
		if (parse_ports(value, (struct ports_set *)field, why, sizeof(why)))
			return cfg_err(err, errlen, "%s: %s", key, why);
		return 0;
	case CFG_LOGLEVEL:
		if (log_level_parse(value, (enum log_level *)field))
			return cfg_err(err, errlen,
				       "%s: '%s' is not one of error, warning, info, debug", key,
				       value);
		return 0;
	case CFG_SEED:
		if (!strcmp(value, "random")) {
			c->hash_seed_random = true;
			return 0;
		}
		if (parse_ulong(value, k->min, k->max, &v))
			return cfg_err(err, errlen, "%s: '%s' is not random or a number in %lu..%lu",
				       key, value, k->min, k->max);
		*(unsigned int *)field = v;
		c->hash_seed_random = false;
		return 0;
	}
	return cfg_err(err, errlen, "%s: bad key type", key);
}

/**
 * cfg_load_file - read an INI file: "key = value" lines, '#' or ';' comments, an optional
 * [ixdpd] section header.
 * @c:      configuration to update
 * @path:   file to read
 * @err:    receives "PATH:LINE: KEY: reason" on failure
 * @errlen: size of @err
 *
 * Return: 0, -errno if the file cannot be read, -EINVAL for bad content.
 */
int cfg_load_file(struct ixdp_config *c, const char *path, char *err, size_t errlen)
{
	char line[1024], why[512];
	unsigned int lineno = 0;
	int ret = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s, *eq;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			ret = cfg_err(err, errlen, "%s:%u: line too long", path, lineno);
			break;
		}
		s = trim(line);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			if (strcmp(s, "[ixdpd]")) {
				ret = cfg_err(err, errlen, "%s:%u: unknown section %s (only [ixdpd])",
					      path, lineno, s);
				break;
			}
			continue;
		}
		eq = strchr(s, '=');
		if (!eq) {
			ret = cfg_err(err, errlen, "%s:%u: expected 'key = value'", path, lineno);
			break;
		}
		*eq = '\0';
		ret = cfg_set(c, trim(s), trim(eq + 1), why, sizeof(why));
		if (ret) {
			cfg_err(err, errlen, "%s:%u: %s", path, lineno, why);
			break;
		}
	}
	if (!ret && ferror(f))
		ret = cfg_err(err, errlen, "%s: read error", path);
	fclose(f);
	return ret;
}

enum { OPT_FOREGROUND = 1000, OPT_KEY_BASE = 1100 };

/**
 * cfg_usage - print ixdpd's usage, one line per key.
 * @out: stream
 */
void cfg_usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: ixdpd [-c FILE] [--foreground] [--KEY VALUE]...\n\n"
		     "  -c, --config FILE     read keys from an INI file first\n"
		     "  -f, --foreground      stay in the foreground, log to stderr\n"
		     "  -h, --help            this text\n\n"
		     "Keys (file: 'key = value'; command line: --key VALUE, which wins):\n");
	for (i = 0; i < CFG_NKEYS; i++) {
		char opt[64];

		snprintf(opt, sizeof(opt), "--%s %s", cfg_keys[i].name, cfg_keys[i].arg);
		fprintf(out, "  %-28s %s\n", opt, cfg_keys[i].help);
	}
}

/**
 * cfg_parse_args - apply -c FILE, then every --KEY VALUE override, to @c.
 * @c:      configuration holding the defaults
 * @argc:   argument count
 * @argv:   arguments
 * @err:    receives the reason on failure
 * @errlen: size of @err
 *
 * Return: 0 to run, 1 if help was printed, or a negative errno with @err filled.
 */
int cfg_parse_args(struct ixdp_config *c, int argc, char **argv, char *err, size_t errlen)
{
	struct option opts[CFG_NKEYS + 4];
	const char *file = NULL;
	char why[512];
	size_t i;
	int opt, ret;

	for (i = 0; i < CFG_NKEYS; i++)
		opts[i] = (struct option){ cfg_keys[i].name, required_argument, NULL,
					   OPT_KEY_BASE + (int)i };
	opts[i++] = (struct option){ "config", required_argument, NULL, 'c' };
	opts[i++] = (struct option){ "foreground", no_argument, NULL, 'f' };
	opts[i++] = (struct option){ "help", no_argument, NULL, 'h' };
	opts[i] = (struct option){ NULL, 0, NULL, 0 };

	/* First pass: the file, so that the command line overrides it whatever the order. */
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:fh", opts, NULL)) != -1) {
		if (opt == 'c')
			file = optarg;
		else if (opt == 'h') {
			cfg_usage(stdout);
			return 1;
		} else if (opt == '?' || opt == ':')
			return cfg_err(err, errlen, "%s: unknown option or missing value",
				       argv[optind - 1]);
	}
	if (optind < argc)
		return cfg_err(err, errlen, "unexpected argument '%s'", argv[optind]);
	if (file) {
		ret = cfg_load_file(c, file, err, errlen);
		if (ret)
			return ret;
	}

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:fh", opts, NULL)) != -1) {
		if (opt == 'f') {
			c->foreground = true;
		} else if (opt >= OPT_KEY_BASE) {
			const struct cfg_key *k = &cfg_keys[opt - OPT_KEY_BASE];

			ret = cfg_set(c, k->name, optarg, why, sizeof(why));
			if (ret)
				return cfg_err(err, errlen, "--%s", why);
		}
	}
	return 0;
}

/* A service port inside the range the dataplane keeps for its own outgoing connections. */
static bool cfg_in_eph(const struct ixdp_config *c, unsigned int port)
{
	return port && c->eph_lo <= c->eph_hi && port >= c->eph_lo && port <= c->eph_hi;
}

static bool is_pow2(unsigned int v)
{
	return v && !(v & (v - 1));
}

/**
 * cfg_validate - check the rules that span keys.
 * @c:      configuration
 * @err:    receives "KEY: reason" on failure
 * @errlen: size of @err
 *
 * Return: 0, or -EINVAL with @err filled.
 */
int cfg_validate(const struct ixdp_config *c, char *err, size_t errlen)
{
	unsigned int i;

	if (!c->interface[0])
		return cfg_err(err, errlen, "interface: required (e.g. --interface eth1)");
	if (!is_pow2(c->flow_groups))
		return cfg_err(err, errlen, "flow-groups: %u is not a power of two",
			       c->flow_groups);
	if (c->flow_groups < c->workers)
		return cfg_err(err, errlen, "flow-groups: %u is fewer than the %u workers",
			       c->flow_groups, c->workers);
	if (c->nr_cpus && c->nr_cpus != c->workers)
		return cfg_err(err, errlen, "cpus: %u CPUs listed for %u workers", c->nr_cpus,
			       c->workers);
	if (!is_pow2(c->rx_ring) || !is_pow2(c->tx_ring))
		return cfg_err(err, errlen, "%s: ring sizes must be powers of two",
			       is_pow2(c->rx_ring) ? "tx-ring" : "rx-ring");
	if (c->fill_ring && !is_pow2(c->fill_ring))
		return cfg_err(err, errlen, "fill-ring: %u is not a power of two", c->fill_ring);
	if (c->comp_ring && !is_pow2(c->comp_ring))
		return cfg_err(err, errlen, "comp-ring: %u is not a power of two", c->comp_ring);
	if (c->frame_size != 2048 && c->frame_size != 4096)
		return cfg_err(err, errlen, "frame-size: %u is not 2048 or 4096", c->frame_size);
	if (cfg_in_eph(c, c->reflect_udp))
		return cfg_err(err, errlen, "reflect-udp: port %u is inside ephemeral-ports %u-%u",
			       c->reflect_udp, c->eph_lo, c->eph_hi);
	if (cfg_in_eph(c, c->echo_tcp))
		return cfg_err(err, errlen, "echo-tcp: port %u is inside ephemeral-ports %u-%u",
			       c->echo_tcp, c->eph_lo, c->eph_hi);
	if (cfg_in_eph(c, c->sink_tcp))
		return cfg_err(err, errlen, "sink-tcp: port %u is inside ephemeral-ports %u-%u",
			       c->sink_tcp, c->eph_lo, c->eph_hi);
	if (c->echo_tcp && c->echo_tcp == c->sink_tcp)
		return cfg_err(err, errlen, "sink-tcp: port %u is the echo-tcp port", c->sink_tcp);
	for (i = 0; i < c->app_ports.n; i++) {
		unsigned int lo = c->app_ports.r[i].lo, hi = c->app_ports.r[i].hi;

		if (lo < 1024)
			return cfg_err(err, errlen, "app-ports: %u is below 1024 (those stay root's)",
				       lo);
		if (c->eph_lo <= c->eph_hi && lo <= c->eph_hi && hi >= c->eph_lo)
			return cfg_err(err, errlen,
				       "app-ports: %u-%u overlaps ephemeral-ports %u-%u", lo, hi,
				       c->eph_lo, c->eph_hi);
	}
	if (c->control[0] != '/')
		return cfg_err(err, errlen, "control: '%s' is not an absolute path", c->control);
	return 0;
}
