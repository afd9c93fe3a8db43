/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ports.h - reserve the dataplane's ephemeral port range from the kernel
 * (net.ipv4.ip_local_reserved_ports, per network namespace) and give it back on exit.
 */
#ifndef IXDP_PORTS_H
#define IXDP_PORTS_H

#include <stddef.h>

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

#endif /* IXDP_PORTS_H */
