/* SPDX-License-Identifier: GPL-2.0 */
/*
 * control.h - the control socket server, run by the control thread's epoll loop.
 *
 * Requests are struct ixdp_ctl_req (include/ixdp/ctl.h); the daemon's handler fills a reply
 * buffer.  Clients are non-blocking and bounded: at most CTL_CLIENTS_MAX at once (CTL_UID_SLOTS
 * of them per user other than root, the last CTL_ROOT_SLOTS root's), a request must arrive
 * within CTL_TIMEOUT_MS, a reply that cannot be written is buffered until EPOLLOUT.
 */
#ifndef IXDP_CTL_SRV_H
#define IXDP_CTL_SRV_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/un.h>

#include "ixdp/ctl.h"

#define CTL_CLIENTS_MAX 16
#define CTL_UID_SLOTS (CTL_CLIENTS_MAX / 4) /* held at once by one user other than root */
#define CTL_ROOT_SLOTS 2	/* the last free slots: root's (and ixdpd's own user's) only */
#define CTL_TIMEOUT_MS 5000

struct ctl_buf {
	char *data;
	size_t len;
	size_t cap;
};

/*
 * Fill @reply's payload and return 0, or return -errno having written nothing or only a
 * NUL-terminated message (ctl_buf_printf) saying why.
 */
typedef int (*ctl_handler_t)(void *ctx, const struct ixdp_ctl_req *req, uid_t uid,
			     struct ctl_buf *reply);

/* IXDP_CTL_APP_ATTACH: the connection @fd is handed over (app.c), with its request. */
typedef void (*ctl_attach_t)(void *ctx, int fd, const struct ixdp_ctl_req *req);

struct ctl_client {
	int fd;
	uid_t uid;
	size_t in_len;
	struct ixdp_ctl_req req;
	struct ctl_buf out;
	size_t out_off;
	unsigned long long deadline_ms;
};

struct ctl {
	int listen_fd;
	int epfd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	ctl_handler_t handler;
	ctl_attach_t attach;
	void *ctx;
	struct ctl_client clients[CTL_CLIENTS_MAX];
};

int ctl_open(struct ctl *c, const char *path, int epfd, ctl_handler_t handler, void *ctx);
void ctl_set_attach(struct ctl *c, ctl_attach_t attach, gid_t group);
void ctl_close(struct ctl *c);
int ctl_owns(const struct ctl *c, int fd);
void ctl_event(struct ctl *c, int fd, unsigned int events);
void ctl_expire(struct ctl *c);
int ctl_buf_add(struct ctl_buf *b, const void *data, size_t len);
void *ctl_buf_reserve(struct ctl_buf *b, size_t len);
int ctl_buf_printf(struct ctl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ctl_connect(const char *path, int timeout_ms);
int ctl_call(int fd, const struct ixdp_ctl_req *req, struct ixdp_ctl_reply *rep, void **payload,
	     int timeout_ms);

#endif /* IXDP_CTL_SRV_H */
