/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lwcopy.h - private copies of Debian's liblwip, one per worker.
 *
 * lwIP keeps all its state in globals.  Each worker gets its own copy of the library: the bytes
 * of liblwip.so are written to a memfd and dlopen()ed as /proc/self/fd/N with RTLD_LOCAL, so each
 * copy's GOT/PLT binds to its own globals.  ixdpd never links -llwip (every copy would bind to
 * that one instead); it reaches a copy only through that copy's table of function and data
 * pointers, struct lw_ops.  The executable exports three functions that every copy binds to:
 * tcpip_try_callback() (work lwIP would hand to its tcpip thread runs on the worker instead),
 * tcp_timer_needed() (a no-op: the worker runs tcp_tmr() itself every 250 ms) and
 * lwip_standard_chksum() (ixdp's faster checksum loop).
 */
#ifndef IXDP_LWCOPY_H
#define IXDP_LWCOPY_H

#include "lwip/init.h"
#include "lwip/ip.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "lwip/tcpip.h"
#include "lwip/timeouts.h"

/* The functions ixdp calls, by their lwIP names. */
#define LWCOPY_FUNCS(X)                                                                       \
	X(lwip_init) X(netif_add) X(netif_remove) X(netif_set_default) X(netif_set_up)        \
	X(netif_set_link_up) X(netif_add_ip6_address) X(netif_ip6_addr_set_state) X(ip_input) \
	X(netif_set_addr) X(netif_get_ip6_addr_match)                                          \
	X(pbuf_alloc) X(pbuf_free) X(pbuf_take) X(pbuf_copy_partial) X(tcp_new_ip_type)       \
	X(tcp_bind) X(tcp_listen_with_backlog) X(tcp_accept) X(tcp_recv) X(tcp_sent)          \
	X(tcp_err) X(tcp_arg) X(tcp_write) X(tcp_output) X(tcp_recved) X(tcp_close)           \
	X(tcp_abort) X(tcp_shutdown) X(tcp_connect) X(tcp_tmr) X(tcp_recv_null)              \
	X(sys_check_timeouts)

/* The globals ixdp reads or rewrites (the virtualised active list, timer ticks). */
#define LWCOPY_DATA(X) \
	X(tcp_active_pcbs) X(tcp_tw_pcbs) X(tcp_listen_pcbs) X(tcp_ticks) X(tcp_active_pcbs_changed)

struct lw_ops {
#define LWCOPY_FIELD(name) __typeof__(&name) name;
	LWCOPY_FUNCS(LWCOPY_FIELD)
	LWCOPY_DATA(LWCOPY_FIELD)
#undef LWCOPY_FIELD
};

struct lwcopy {
	void *dl;		/* dlopen handle */
	int fd;			/* the file it was loaded from: kept open for the copy's life */
	const char *how;	/* "memfd" or "tmpfile" */
	struct lw_ops ops;
};

int lwcopy_open(struct lwcopy *c, const char *tmpdir);
void lwcopy_check_timeouts(struct lwcopy *c);
void lwcopy_close(struct lwcopy *c);
unsigned int lwcopy_run_deferred(void);

#endif /* IXDP_LWCOPY_H */
