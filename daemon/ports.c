// SPDX-License-Identifier: GPL-2.0
/*
 * ports.c - keep the kernel off the dataplane's ephemeral ports.
 *
 * The XDP program claims replies to the reserved range on the dataplane's addresses, so a kernel
 * socket bound to such a port would never see its traffic.  While ixdpd runs, the range is added
 * to ip_local_reserved_ports (the kernel then never picks those ports itself).  The old value is
 * written to a state file first: if ixdpd dies without restoring it, the next start finds the
 * file and restores the operator's value before reserving again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "ports.h"

static int read_text(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		ret = -errno;
	else
		buf[n] = '\0';
	close(fd);
	buf[strcspn(buf, "\n")] = '\0';
	return ret;
}

static int write_text(const char *path, const char *text, int flags)
{
	size_t len = strlen(text);
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC | flags, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		ret = -errno ?: -EIO;
	if (close(fd) && !ret)
		ret = -errno;
	return ret;
}

/**
 * ports_merge - the sysctl value @current with the range lo-hi added.
 * @current: e.g. "" or "8080,9000-9010"
 * @lo:      first port
 * @hi:      last port
 * @out:     result, e.g. "8080,9000-9010,61000-65535"
 * @len:     size of @out
 *
 * Return: 0, or -ENOSPC.
 */
int ports_merge(const char *current, unsigned int lo, unsigned int hi, char *out, size_t len)
{
	int n;

	if (*current)
		n = snprintf(out, len, "%s,%u-%u", current, lo, hi);
	else
		n = snprintf(out, len, "%u-%u", lo, hi);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

/**
 * ports_reserve - add lo-hi to the kernel's reserved ports until ports_release().
 * @p:           state, filled here
 * @lo:          first port
 * @hi:          last port
 * @state_path:  file keeping the old value while the range is reserved
 * @sysctl_path: normally /proc/sys/net/ipv4/ip_local_reserved_ports
 *
 * Return: 0 or a negative errno (logged).
 */
int ports_reserve(struct ports *p, unsigned int lo, unsigned int hi, const char *state_path,
		  const char *sysctl_path)
{
	char merged[sizeof(p->saved) + 32];
	int ret;

	memset(p, 0, sizeof(*p));
	snprintf(p->state, sizeof(p->state), "%s", state_path);
	snprintf(p->sysctl, sizeof(p->sysctl), "%s", sysctl_path);

	/* A leftover state file means an ixdpd died holding the range: its value is the original. */
	if (!read_text(p->state, p->saved, sizeof(p->saved))) {
		pr_warn("restoring %s left by an earlier ixdpd: '%s'", p->sysctl, p->saved);
		ret = write_text(p->sysctl, *p->saved ? p->saved : "\n", O_TRUNC);
		if (ret)
			goto err;
	}
	ret = read_text(p->sysctl, p->saved, sizeof(p->saved));
	if (ret)
		goto err;
	ret = ports_merge(p->saved, lo, hi, merged, sizeof(merged));
	if (ret)
		goto err;
	ret = write_text(p->state, p->saved, O_CREAT | O_TRUNC);
	if (ret)
		goto err;
	ret = write_text(p->sysctl, merged, O_TRUNC);
	if (ret) {
		unlink(p->state);
		goto err;
	}
	p->reserved = 1;
	pr_info("reserved ports %u-%u from the kernel", lo, hi);
	return 0;
err:
	pr_err("reserving ports %u-%u in %s: %s", lo, hi, p->sysctl, strerror(-ret));
	return ret;
}

/**
 * ports_release - give the kernel its old reserved-ports value back.
 * @p: state of a successful ports_reserve(); anything else is ignored
 */
void ports_release(struct ports *p)
{
	int ret;

	if (!p->reserved)
		return;
	ret = write_text(p->sysctl, *p->saved ? p->saved : "\n", O_TRUNC);
	if (ret)
		pr_warn("restoring %s: %s", p->sysctl, strerror(-ret));
	else
		unlink(p->state);
	p->reserved = 0;
}
