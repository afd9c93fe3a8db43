// SPDX-License-Identifier: GPL-2.0
/*
 * listen.c - the listen registry: which process listens on which (family, address, port), the
 * rules an app that is not root listens under, and the XDP service entries that follow them.
 * Workers claim and release under the registry's lock (LISTEN and UNLISTEN are rare); the
 * control thread changes the interface's address list under it.
 */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>

#include "app/listen.h"
#include "core/log.h"
#include "net/netif.h"
#include "net/steering.h"

/**
 * listen_init - an empty registry.
 * @r:   the registry
 * @st:  the XDP program, whose service table follows the listens
 * @nif: the interface (its addresses)
 */
void listen_init(struct listen_reg *r, struct steer *st, struct netif *nif)
{
	memset(r, 0, sizeof(*r));
	r->steer = st;
	r->nif = nif;
	r->local_range = PORTS_LOCAL_RANGE;
	pthread_mutex_init(&r->lock, NULL);
}

/**
 * listen_destroy - the registry is no longer used (every worker has stopped).
 * @r: the registry
 */
void listen_destroy(struct listen_reg *r)
{
	pthread_mutex_destroy(&r->lock);
}

static bool listen_overlap(const struct app_listen *l, int family, const __u32 addr[4],
			__u16 port)
{
	static const __u32 zero[4];

	if (l->port != port)
		return false;
	if (!l->family || !family)
		return true;
	if (l->family != family)
		return false;
	return !memcmp(l->addr, zero, 16) || !memcmp(addr, zero, 16) || !memcmp(l->addr, addr, 16);
}

/* Add or remove the XDP service entry of listen @l on interface address @ad, if it covers it. */
static int listen_steer_addr(struct listen_reg *r, const struct app_listen *l,
			  const struct ixdp_addr_key *ad, bool add, unsigned int *n)
{
	static const __u32 zero[4];
	struct ixdp_svc_key key = { .proto = IPPROTO_TCP, .family = ad->family, .port = l->port };

	if (l->family && (int)ad->family != l->family)
		return 0;
	if (memcmp(l->addr, zero, 16) && memcmp(l->addr, ad->addr, 16))
		return 0;
	memcpy(key.addr, ad->addr, sizeof(key.addr));
	(*n)++;
	return add ? steer_add_service(r->steer, &key, STEER_SVC_APP) :
		     steer_del_service(r->steer, &key);
}

/* Add or remove the XDP service entries of a listen: one per matching interface address. */
static int listen_steer(struct listen_reg *r, const struct app_listen *l, bool add)
{
	unsigned int i, n = 0;
	int ret = 0;

	for (i = 0; i < r->nif->nr_addrs && !ret; i++)
		ret = listen_steer_addr(r, l, &r->nif->addrs[i], add, &n);
	if (!ret && add && !n)
		ret = -EADDRNOTAVAIL;
	return ret;
}

/**
 * listen_set_addr - the interface gained address @ad (@add) or lost it: update the address list
 * the listens are checked against, and steer the listens that cover it.
 * @r:          the registry
 * @ad:         address
 * @prefix_len: its prefix length
 * @add:        gained (or its prefix changed), else lost
 *
 * Control thread; takes the registry lock, as workers read the list under it.
 *
 * Return: 0, or -ENOSPC (the list is full: not added).  Steering errors are logged.
 */
int listen_set_addr(struct listen_reg *r, const struct ixdp_addr_key *ad, __u8 prefix_len, bool add)
{
	unsigned int i, n = 0;
	int ret = 0;

	pthread_mutex_lock(&r->lock);
	if (add) {
		bool known = netif_addr_find(r->nif, ad) >= 0;

		ret = netif_addr_add(r->nif, ad, prefix_len);
		for (i = 0; i < APP_LISTEN_MAX && !ret && !known; i++)
			if ((r->listens[i].refs || r->listens[i].draining) &&
			    listen_steer_addr(r, &r->listens[i], ad, true, &n))
				pr_warn("app: cannot steer a listen to the new address");
	} else {
		for (i = 0; i < APP_LISTEN_MAX; i++)
			if (r->listens[i].refs || r->listens[i].draining)
				listen_steer_addr(r, &r->listens[i], ad, false, &n);
		netif_addr_del(r->nif, ad);
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

/*
 * The kernel's listeners on @port, each marked held if @ctx's process has it open; -errno
 * (logged) when the kernel or /proc does not answer.  Return: how many listen (may exceed
 * PORTS_LISTENERS_MAX: only that many are in @kl).
 */
static int listen_kernel(const struct app_ctx *ctx, __u16 port, struct ports_listener *kl)
{
	int n, held;

	n = ports_kernel_listeners(port, kl, PORTS_LISTENERS_MAX);
	if (n < 0) {
		pr_warn("app %u (pid %d, uid %u): port %u refused: cannot ask the kernel for its "
			"listeners: %s", ctx->id, ctx->pid, ctx->uid, port, strerror(-n));
		return n;
	}
	held = n ? ports_held(ctx->pid, kl, n < PORTS_LISTENERS_MAX ? n : PORTS_LISTENERS_MAX) : 0;
	if (held < 0) {
		pr_warn("app %u (pid %d, uid %u): port %u refused: cannot read its open files: %s",
			ctx->id, ctx->pid, ctx->uid, port, strerror(-held));
		return held;
	}
	return n;
}

/*
 * May @ctx, not root, listen on (@family, @addr, @port)?  Only on app-ports, never inside the
 * kernel's ephemeral range, never where the kernel listens for someone else (its own kernel
 * sockets are the app's: the shim listens through both): the XDP program would take those
 * clients (or replies) from the kernel.  Asked afresh on every claim, as the kernel's listeners
 * and range change; a question the kernel does not answer refuses the listen.
 */
static int listen_rule(struct listen_reg *r, const struct app_ctx *ctx, int family,
		       const __u32 addr[4], __u16 port)
{
	struct ports_listener kl[PORTS_LISTENERS_MAX];
	unsigned int lo = 1, hi = 0;
	int n = 0, ret;

	ret = ports_app_rule(&r->app_ports, lo, hi, NULL, 0, family, addr, port);
	if (!ret) {
		ret = ports_local_range(r->local_range, &lo, &hi);
		if (ret) {
			pr_warn("app %u (pid %d, uid %u): port %u refused: cannot read %s: %s",
				ctx->id, ctx->pid, ctx->uid, port, r->local_range, strerror(-ret));
			return ret;
		}
		n = listen_kernel(ctx, port, kl);
		if (n < 0)
			return n;
		if (n > PORTS_LISTENERS_MAX)
			ret = -PORTS_EKERNEL; /* more than we looked at: some listen there */
		else
			ret = ports_app_rule(&r->app_ports, lo, hi, kl, n, family, addr, port);
	}
	if (ret)
		pr_warn("app %u (pid %d, uid %u): port %u: %s", ctx->id, ctx->pid, ctx->uid, port,
			ports_refusal(ret));
	return ret;
}

/*
 * Does @ctx's process hold kernel socket @ino, listening on exactly (@family, @addr, @port)?
 * Then the kernel let it serve the port (it made, inherited or was sent that socket, or it is a
 * SO_REUSEPORT sibling of the same user), and it may share the port's listen with another
 * process.  Asked without the registry lock.
 */
static bool listen_proven(const struct app_ctx *ctx, int family, const __u32 addr[4], __u16 port,
			  __u64 ino)
{
	struct ports_listener kl[PORTS_LISTENERS_MAX];
	int n, i;

	if (!ino)
		return false;
	n = listen_kernel(ctx, port, kl);
	if (n > PORTS_LISTENERS_MAX)
		n = PORTS_LISTENERS_MAX;
	for (i = 0; i < n; i++) {
		if (kl[i].inode != ino || !kl[i].held || memcmp(kl[i].addr, addr, 16))
			continue;
		if (!kl[i].family || !family || kl[i].family == family)
			return true;
	}
	return false;
}

/**
 * listen_claim - a (context, worker) listens on (@family, @addr, @port): first claim fills the
 * XDP program's service table.  Several contexts of one process may share a port; contexts of
 * other processes only through the kernel's listening socket @ino, which they must hold.
 * @r:      the registry
 * @ctx:    the context
 * @family: IXDP_FAMILY_INET/INET6, 0 for both
 * @addr:   zero for any address of the family
 * @port:   port
 * @ino:    the inode of the app's kernel socket listening there (the shim's), or 0
 *
 * Worker threads call this (rarely: listens); it takes the registry lock.
 *
 * An app that is not root passes listen_rule() first; root listens anywhere.
 *
 * Return: 0, -EADDRINUSE (another process that does not hold @ino listening there, or a
 * diagnostic service), for an app that is not root -EACCES (below 1024 or not in app-ports),
 * -ERANGE (inside the kernel's ephemeral range), -EBUSY (the kernel listens there for another
 * process), the error of asking the kernel, or -EMFILE (its user already holds uid-listens
 * distinct listens, of all its contexts and processes); -ENOSPC, -EADDRNOTAVAIL (not one of the
 * interface's addresses), or the map's error.
 */
int listen_claim(struct listen_reg *r, const struct app_ctx *ctx, int family, const __u32 addr[4],
	       __u16 port, __u64 ino)
{
	struct app_listen *l, *free_slot = NULL;
	bool proven = false, asked = false;
	unsigned int i;
	int ret = 0;

	if (ctx->uid != 0) {
		ret = listen_rule(r, ctx, family, addr, port);
		if (ret)
			return ret;
	}
	for (i = 0; i < sizeof(r->reserved) / sizeof(r->reserved[0]); i++)
		if (r->reserved[i] == port)
			return -EADDRINUSE;
again:
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < APP_LISTEN_MAX; i++) {
		bool same;

		l = &r->listens[i];
		if (!l->refs && !l->draining) {
			if (!free_slot)
				free_slot = l;
			continue;
		}
		if (!listen_overlap(l, family, addr, port))
			continue;
		same = l->family == family && !memcmp(l->addr, addr, 16);
		if (same && l->draining) {
			/* listened again (by anyone allowed to): the entries are still there */
			l->draining = false;
			r->nr_draining--;
			l->pid = ctx->pid;
			l->uid = ctx->uid;
			l->refs = 1;
			goto out;
		}
		if (same && l->pid != ctx->pid && !asked && ino) {
			/* the kernel's word, asked without the lock (it reads /proc) */
			pthread_mutex_unlock(&r->lock);
			proven = listen_proven(ctx, family, addr, port, ino);
			asked = true;
			free_slot = NULL;
			goto again;
		}
		if (!same || (l->pid != ctx->pid && !proven)) {
			ret = -EADDRINUSE;	/* a draining listen's other addresses too */
			goto out;
		}
		l->refs++;
		goto out;
	}
	/* A new listen: a user other than root holds at most uid-listens of them. */
	if (ctx->uid != 0 && r->uid_listens) {
		unsigned int n = 0;

		for (i = 0; i < APP_LISTEN_MAX; i++)
			n += r->listens[i].refs && r->listens[i].uid == ctx->uid;
		if (n >= r->uid_listens) {
			pr_warn("app %u (pid %d): port %u refused: uid %u holds %u listens "
				"(uid-listens)", ctx->id, ctx->pid, port, ctx->uid, n);
			ret = -EMFILE;
			goto out;
		}
	}
	if (!free_slot) {
		ret = -ENOSPC;
		goto out;
	}
	*free_slot = (struct app_listen){ .family = family, .port = port, .pid = ctx->pid,
					  .uid = ctx->uid };
	memcpy(free_slot->addr, addr, sizeof(free_slot->addr));
	ret = listen_steer(r, free_slot, true);
	if (ret)
		listen_steer(r, free_slot, false);
	else
		free_slot->refs = 1;
out:
	pthread_mutex_unlock(&r->lock);
	return ret;
}

/**
 * listen_release - undo one listen_claim(); the last one empties the service table's entries.
 * @r: the registry
 */
void listen_release(struct listen_reg *r, int family, const __u32 addr[4], __u16 port)
{
	unsigned int i;

	pthread_mutex_lock(&r->lock);
	for (i = 0; i < APP_LISTEN_MAX; i++) {
		struct app_listen *l = &r->listens[i];

		if (!l->refs || l->port != port || l->family != family || memcmp(l->addr, addr, 16))
			continue;
		if (--l->refs)
			break;
		if (r->port_busy && r->port_busy(r->port_arg, port)) {
			l->draining = true;	/* listen_tick() lets go once they are gone */
			r->nr_draining++;
		} else {
			listen_steer(r, l, false);
		}
		break;
	}
	pthread_mutex_unlock(&r->lock);
}

/**
 * listen_tick - let go of the service entries of released listens whose connections are all
 * gone (the last FIN_WAIT or TIME_WAIT of the port ended): from then on the kernel has the port.
 * @r: the registry
 *
 * The control thread, on its timer.
 */
void listen_tick(struct listen_reg *r)
{
	unsigned int i;

	pthread_mutex_lock(&r->lock);
	for (i = 0; i < APP_LISTEN_MAX && r->nr_draining; i++) {
		struct app_listen *l = &r->listens[i];

		if (!l->draining || r->port_busy(r->port_arg, l->port))
			continue;
		listen_steer(r, l, false);
		l->draining = false;
		r->nr_draining--;
	}
	pthread_mutex_unlock(&r->lock);
}
