// SPDX-License-Identifier: GPL-2.0
/* rtnl.c - table dumps over netlink (libmnl): rtnetlink for the control thread's mirrors, sock_diag. */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <time.h>

#include "net/rtnl.h"

/**
 * rtnl_dump_req - ask the kernel for a whole table and feed every message of the answer to @cb.
 * @sk:     a bound netlink socket (NETLINK_ROUTE, NETLINK_SOCK_DIAG, ...) with a receive
 *          timeout (SO_RCVTIMEO)
 * @type:   RTM_GETNEIGH, RTM_GETROUTE, RTM_GETADDR, SOCK_DIAG_BY_FAMILY, ...
 * @req:    the request's family header (struct ndmsg, inet_diag_req_v2, ...); NULL: @len zeroes
 * @len:    its size
 * @cb:     called for each message
 * @data:   its argument
 *
 * Return: 0, -ETIMEDOUT (no answer within the socket's timeout), or a negative errno (the
 * kernel's, from an NLMSG_ERROR answer, or the socket's).
 */
int rtnl_dump_req(struct mnl_socket *sk, __u16 type, const void *req, size_t len, mnl_cb_t cb,
		  void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	unsigned int portid = mnl_socket_get_portid(sk);
	__u32 seq = (__u32)time(NULL);
	void *hdr;
	int ret;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	hdr = mnl_nlmsg_put_extra_header(nlh, len);
	if (req)
		memcpy(hdr, req, len);
	if (mnl_socket_sendto(sk, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ret = mnl_socket_recvfrom(sk, buf, sizeof(buf));
		if (ret < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		ret = mnl_cb_run(buf, ret, seq, portid, cb, data);
		if (ret < 0)
			return -errno;
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

/**
 * rtnl_dump - rtnl_dump_req() with a zeroed family header of @hdrlen bytes (struct ndmsg,
 * rtmsg, ifaddrmsg: for every family, AF_UNSPEC).
 * @sk:     as rtnl_dump_req()
 * @type:   as rtnl_dump_req()
 * @hdrlen: size of the family header
 * @cb:     as rtnl_dump_req()
 * @data:   as rtnl_dump_req()
 *
 * Return: as rtnl_dump_req().
 */
int rtnl_dump(struct mnl_socket *sk, __u16 type, size_t hdrlen, mnl_cb_t cb, void *data)
{
	return rtnl_dump_req(sk, type, NULL, hdrlen, cb, data);
}
