/* SPDX-License-Identifier: GPL-2.0 */
/* rtnl.h - table dumps over netlink (libmnl): rtnetlink for the control thread's mirrors, sock_diag. */
#ifndef IXDP_RTNL_H
#define IXDP_RTNL_H

#include <linux/types.h>
#include <stddef.h>

#include <libmnl/libmnl.h>

int rtnl_dump_req(struct mnl_socket *sk, __u16 type, const void *req, size_t len, mnl_cb_t cb,
		  void *data);
int rtnl_dump(struct mnl_socket *sk, __u16 type, size_t hdrlen, mnl_cb_t cb, void *data);

#endif /* IXDP_RTNL_H */
