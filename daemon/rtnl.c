// SPDX-License-Identifier: GPL-2.0
/* rtnl.c - table dumps over rtnetlink (libmnl), for the control thread's mirrors. */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <time.h>

#include "rtnl.h"

/**
 * rtnl_dump - ask the kernel for a whole table and feed every message of the answer to @cb.
 * @sk:     a bound NETLINK_ROUTE socket with a receive timeout (SO_RCVTIMEO)
 * @type:   RTM_GETNEIGH, RTM_GETROUTE, RTM_GETADDR, ...
 * @hdrlen: size of the request's family header (struct ndmsg, rtmsg, ifaddrmsg): sent zeroed,
 *          so for every family (AF_UNSPEC)
 * @cb:     called for each message
 * @data:   its argument
 *
 * Return: 0, -ETIMEDOUT (no answer within the socket's timeout), or a negative errno.
 */
int rtnl_dump(struct mnl_socket *sk, __u16 type, size_t hdrlen, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	unsigned int portid = mnl_socket_get_portid(sk);
	__u32 seq = (__u32)time(NULL);
	int ret;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	mnl_nlmsg_put_extra_header(nlh, hdrlen);
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
