/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ports.h - ports and the kernel: reserve the dataplane's ephemeral port range from the kernel
 * (net.ipv4.ip_local_reserved_ports, per network namespace) and give it back on exit; and the
 * rules for where an app that is not root may listen (app-ports, the kernel's own listeners and
 * its ephemeral range).
 */
#ifndef IXDP_PORTS_H
#define IXDP_PORTS_H

#include <errno.h>
#include <stdbool.h>
#include <sys/types.h>
#include <stddef.h>
#include <linux/types.h>

#define PORTS_LOCAL_RANGE "/proc/sys/net/ipv4/ip_local_port_range"
#define PORTS_RANGES_MAX 32	/* ranges in a port list (app-ports) */
#define PORTS_LISTENERS_MAX 64	/* kernel listeners on one port that are looked at */

/* A list of port ranges, e.g. app-ports "11211, 8000-8099": lo <= hi, in the order given. */
struct ports_set {
	unsigned int n;
	struct {
		__u16 lo, hi;
	} r[PORTS_RANGES_MAX];
};

/* Is @port in the list?  (Parsed by config.c: app-ports.) */
static inline bool ports_set_has(const struct ports_set *s, unsigned int port)
{
	unsigned int i;

	for (i = 0; i < s->n; i++)
		if (port >= s->r[i].lo && port <= s->r[i].hi)
			return true;
	return false;
}

/* A kernel TCP socket in LISTEN, as sock_diag reports it. */
struct ports_listener {
	int family;		/* IXDP_FAMILY_INET or _INET6; 0: an IPv6 wildcard taking IPv4 too */
	__u32 addr[4];		/* network order, IPv4 in [0]; zero: any address */
	__u16 port;
	__u64 inode;		/* the socket's: /proc/PID/fd/N names it socket:[inode] */
	bool held;		/* ports_held(): the process asked about has it open */
};

/* Refusals of a non-root listen; each rule its own errno, so the app can name it. */
#define PORTS_ENOTALLOWED EACCES	/* not in app-ports (or below 1024) */
#define PORTS_EEPHEMERAL ERANGE		/* inside the kernel's ephemeral range */
#define PORTS_EKERNEL EBUSY		/* the kernel has a listener on it */

struct ports {
	char saved[4096];	/* the sysctl's value before we changed it */
	char state[128];	/* file in the runtime directory that keeps it across a crash */
	char sysctl[128];
	int reserved;
};

int ports_reserve(struct ports *p, unsigned int lo, unsigned int hi, const char *state_path,
		  const char *sysctl_path);
void ports_release(struct ports *p);
int ports_merge(const char *current, unsigned int lo, unsigned int hi, char *out, size_t len);

int ports_local_range(const char *path, unsigned int *lo, unsigned int *hi);
int ports_kernel_listeners(__u16 port, struct ports_listener *out, unsigned int max);
int ports_held(pid_t pid, struct ports_listener *kl, unsigned int n);
int ports_app_rule(const struct ports_set *allowed, unsigned int eph_lo, unsigned int eph_hi,
		   const struct ports_listener *kl, unsigned int nkl, int family,
		   const __u32 addr[4], __u16 port);
const char *ports_refusal(int err);

#endif /* IXDP_PORTS_H */
