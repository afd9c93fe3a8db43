// SPDX-License-Identifier: GPL-2.0
/*
 * ports.c - ports and the kernel: keep the kernel off the dataplane's ephemeral ports, and ask
 * it what an app's listen would take from it.
 *
 * The XDP program claims replies to the reserved range on the dataplane's addresses, so a kernel
 * socket bound to such a port would never see its traffic.  While ixdpd runs, the range is added
 * to ip_local_reserved_ports (the kernel then never picks those ports itself).  The old value is
 * written to a state file first: if ixdpd dies without restoring it, the next start finds the
 * file and restores the operator's value before reserving again.
 *
 * The other way round, an app that is not root must not take a port from the kernel: once it
 * listens, the XDP program steers the port on the matching addresses away from the kernel, so a
 * kernel service there would lose its clients to the app.  ports_kernel_listeners() asks the
 * kernel (sock_diag, NETLINK_SOCK_DIAG) for its TCP listeners on a port, ports_local_range()
 * reads its ephemeral range (its own outgoing connections' replies would be stolen too), and
 * ports_app_rule() decides.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>

#include <libmnl/libmnl.h>

#include "core/log.h"
#include "ixdp/steer.h"
#include "net/ports.h"
#include "net/rtnl.h"

#define PORTS_DIAG_TIMEOUT_MS 1000	/* bound on the kernel's answer to one dump */
#define PORTS_TCP_LISTEN 10		/* TCP_LISTEN of the kernel's enum (include/net/tcp_states.h) */

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

/**
 * ports_local_range - the kernel's ephemeral port range, net.ipv4.ip_local_port_range (it
 * applies to IPv6 too), in the caller's network namespace.
 * @path: normally PORTS_LOCAL_RANGE
 * @lo:   first port
 * @hi:   last port
 *
 * Return: 0, -errno if the file cannot be read, -EINVAL if it does not hold "LO HI".
 */
int ports_local_range(const char *path, unsigned int *lo, unsigned int *hi)
{
	char buf[64];
	int ret = read_text(path, buf, sizeof(buf)), n = 0;

	if (ret)
		return ret;
	if (sscanf(buf, "%u %u %n", lo, hi, &n) != 2 || buf[n] || *lo > *hi || *hi > 65535)
		return -EINVAL;
	return 0;
}

struct ports_dump {
	__u16 port;
	struct ports_listener *out;
	unsigned int max, n;
};

static int ports_diag_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_get_type(a) == INET_DIAG_SKV6ONLY && !mnl_attr_validate(a, MNL_TYPE_U8))
		tb[INET_DIAG_SKV6ONLY] = a;
	return MNL_CB_OK;
}

/* One socket of the dump: keep it if it listens on the port. */
static int ports_diag_msg(const struct nlmsghdr *nlh, void *data)
{
	static const __u32 v4mapped[3] = { 0, 0, __builtin_bswap32(0xffff) };
	const struct nlattr *tb[INET_DIAG_MAX + 1] = { 0 };
	struct ports_dump *d = data;
	const struct inet_diag_msg *m;
	struct ports_listener *l;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*m))
		return MNL_CB_OK;
	m = mnl_nlmsg_get_payload(nlh);
	if (m->idiag_state != PORTS_TCP_LISTEN || __builtin_bswap16(m->id.idiag_sport) != d->port)
		return MNL_CB_OK;
	if (d->n++ >= d->max)
		return MNL_CB_OK; /* counted: the caller sees n > max */
	l = &d->out[d->n - 1];
	memset(l, 0, sizeof(*l));
	l->port = d->port;
	l->inode = m->idiag_inode;
	if (m->idiag_family == AF_INET) {
		l->family = IXDP_FAMILY_INET;
		l->addr[0] = m->id.idiag_src[0];
	} else if (!memcmp(m->id.idiag_src, v4mapped, sizeof(v4mapped))) {
		l->family = IXDP_FAMILY_INET; /* ::ffff:a.b.c.d takes IPv4 a.b.c.d */
		l->addr[0] = m->id.idiag_src[3];
	} else {
		memcpy(l->addr, m->id.idiag_src, sizeof(l->addr));
		l->family = IXDP_FAMILY_INET6;
		mnl_attr_parse(nlh, sizeof(*m), ports_diag_attr, tb);
		/* A dual-stack wildcard ([::] without IPV6_V6ONLY) takes IPv4 too. */
		if (!(l->addr[0] | l->addr[1] | l->addr[2] | l->addr[3]) &&
		    !(tb[INET_DIAG_SKV6ONLY] && mnl_attr_get_u8(tb[INET_DIAG_SKV6ONLY])))
			l->family = 0;
	}
	return MNL_CB_OK;
}

static int ports_diag_dump(struct mnl_socket *sk, __u8 family, struct ports_dump *d)
{
	struct inet_diag_req_v2 req = {
		.sdiag_family = family,
		.sdiag_protocol = IPPROTO_TCP,
		.idiag_states = 1u << PORTS_TCP_LISTEN,
	};
	int ret;

	ret = rtnl_dump_req(sk, SOCK_DIAG_BY_FAMILY, &req, sizeof(req), ports_diag_msg, d);
	/* A kernel without IPv6 has no AF_INET6 table: nothing listens there. */
	return ret == -ENOENT && family == AF_INET6 ? 0 : ret;
}

/**
 * ports_kernel_listeners - the kernel's TCP sockets in LISTEN on @port, IPv4 and IPv6, in the
 * caller's network namespace (sock_diag).
 * @port: host order
 * @out:  receives up to @max of them
 * @max:  room in @out
 *
 * Each answer is bounded by PORTS_DIAG_TIMEOUT_MS.
 *
 * Return: how many listen there (may exceed @max: only @max are in @out), or a negative errno
 * (-ETIMEDOUT, or the socket's: -EPERM, -ENOMEM, ...).
 */
int ports_kernel_listeners(__u16 port, struct ports_listener *out, unsigned int max)
{
	struct timeval tv = { PORTS_DIAG_TIMEOUT_MS / 1000, (PORTS_DIAG_TIMEOUT_MS % 1000) * 1000 };
	struct ports_dump d = { .port = port, .out = out, .max = max };
	struct mnl_socket *sk;
	int ret;

	sk = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
	if (!sk)
		return -errno;
	if (setsockopt(mnl_socket_get_fd(sk), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    mnl_socket_bind(sk, 0, MNL_SOCKET_AUTOPID)) {
		ret = -errno;
		goto out;
	}
	ret = ports_diag_dump(sk, AF_INET, &d);
	if (!ret)
		ret = ports_diag_dump(sk, AF_INET6, &d);
	if (!ret)
		ret = (int)d.n;
out:
	mnl_socket_close(sk);
	return ret;
}

/**
 * ports_held - which of the kernel listeners @kl process @pid has open (sets their held).
 * @pid: the process (an app's, from its control socket's credentials)
 * @kl:  listeners from ports_kernel_listeners()
 * @n:   how many
 *
 * Holding a listening socket is the kernel's own word on who may serve its port: the process
 * made it, inherited it across fork or was sent it, or it is a SO_REUSEPORT sibling the kernel
 * let the same user bind.  Reads /proc/@pid/fd (one readlink per open fd).
 *
 * Return: how many it holds, or a negative errno (-ESRCH: no such process, -EACCES, ...).
 */
int ports_held(pid_t pid, struct ports_listener *kl, unsigned int n)
{
	char path[64], link[64];
	struct dirent *de;
	unsigned int i;
	int held = 0;
	DIR *dir;

	for (i = 0; i < n; i++)
		kl[i].held = false;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return errno == ENOENT ? -ESRCH : -errno;
	while (n && (de = readdir(dir))) {
		unsigned long long ino;
		char tail;
		ssize_t len;

		if (de->d_name[0] == '.')
			continue;
		len = readlinkat(dirfd(dir), de->d_name, link, sizeof(link) - 1);
		if (len <= 0)
			continue;	/* closed meanwhile */
		link[len] = '\0';
		if (sscanf(link, "socket:[%llu%c", &ino, &tail) != 2 || tail != ']')
			continue;
		for (i = 0; i < n; i++) {
			if (kl[i].inode == ino && !kl[i].held) {
				kl[i].held = true;
				held++;
			}
		}
	}
	closedir(dir);
	return held;
}

/* Would a listen on (@family, @addr) take traffic kernel listener @l serves? */
static bool ports_covers(const struct ports_listener *l, int family, const __u32 addr[4])
{
	static const __u32 zero[4];

	if (l->family && family && l->family != family)
		return false;
	return !memcmp(l->addr, zero, 16) || !memcmp(addr, zero, 16) ||
	       !memcmp(l->addr, addr, 16);
}

/**
 * ports_app_rule - may an app that is not root listen on (@family, @addr, @port)?
 * @allowed: the configured app-ports
 * @eph_lo:  the kernel's ephemeral range (ports_local_range())
 * @eph_hi:  its end
 * @kl:      the kernel's listeners on @port (ports_kernel_listeners())
 * @nkl:     how many
 * @family:  IXDP_FAMILY_INET/INET6, 0 for both
 * @addr:    zero for any address of the family
 * @port:    host order
 *
 * A kernel listener counts when the families meet and either side is a wildcard or the
 * addresses are equal: the XDP program would steer its clients to the app.  One the app holds
 * itself (held: ports_held()) does not: its clients are the app's either way.
 *
 * Return: 0, -PORTS_ENOTALLOWED (below 1024 or not in @allowed), -PORTS_EEPHEMERAL,
 * -PORTS_EKERNEL; ports_refusal() says which in words.
 */
int ports_app_rule(const struct ports_set *allowed, unsigned int eph_lo, unsigned int eph_hi,
		   const struct ports_listener *kl, unsigned int nkl, int family,
		   const __u32 addr[4], __u16 port)
{
	unsigned int i;

	if (port < 1024 || !ports_set_has(allowed, port))
		return -PORTS_ENOTALLOWED;
	if (port >= eph_lo && port <= eph_hi)
		return -PORTS_EEPHEMERAL;
	for (i = 0; i < nkl; i++)
		if (kl[i].port == port && !kl[i].held && ports_covers(&kl[i], family, addr))
			return -PORTS_EKERNEL;
	return 0;
}

/**
 * ports_refusal - the rule behind a refusal of ports_app_rule(), in words.
 * @err: its return value
 *
 * Return: a static string ("" for anything else).
 */
const char *ports_refusal(int err)
{
	switch (-err) {
	case PORTS_ENOTALLOWED:
		return "not in ixdpd's app-ports (only root listens elsewhere)";
	case PORTS_EEPHEMERAL:
		return "inside the kernel's ephemeral range (net.ipv4.ip_local_port_range)";
	case PORTS_EKERNEL:
		return "the kernel has a listener on it";
	}
	return "";
}
