// SPDX-License-Identifier: BSD-2-Clause
/*
 * main.c - ix-echo: a TCP echo server (RFC 862) on ixev.
 *
 * One ixev loop per thread, all listening on the same port.  Received bytes are sent back from
 * where ixev received them (ixev_peek, ixev_send copies) and consumed only once ixev_send() has
 * taken them: when the send buffer is full the connection stops reading until IXEV_OUT, so a
 * client that does not read its echo sees its own TCP window close.  On EOF the connection is
 * closed with ixev_close(), which sends what is still queued before the FIN.
 *
 * Threads, signals and the stop are apps/common/server.c's.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/server.h"

#define ECHO_PORT_DEFAULT 7
#define ECHO_THREADS_DEFAULT 4
#define ECHO_ROUNDS 16 /* received spans one handler call echoes before yielding */

static void echo_handler(struct ixev_conn *c, unsigned int events)
{
	unsigned int rounds;
	const void *data;
	ssize_t n, sent;

	if (events & IXEV_HUP)
		goto close;
	for (rounds = 0; rounds < ECHO_ROUNDS; rounds++) {
		n = ixev_peek(c, &data);
		if (n == -EAGAIN)
			break;
		if (n <= 0)
			goto close; /* EOF (0) or the connection died */
		sent = ixev_send(c, data, n);
		if (sent == -EAGAIN)
			goto wait_out;
		if (sent < 0)
			goto close;
		ixev_consume(c, sent);
		if (sent < n)
			goto wait_out;
	}
	/* nothing left, or IXEV_IN still ready and the loop calls again after the others */
	ixev_set_handler(c, IXEV_IN | IXEV_HUP, echo_handler);
	return;
wait_out:
	ixev_set_handler(c, IXEV_OUT | IXEV_HUP, echo_handler);
	return;
close:
	ixev_close(c); /* queued bytes go out, then FIN; release() frees c */
}

static struct ixev_conn *echo_accept(struct ixev_loop *l, const struct ix_addr *remote,
				     uint16_t lport)
{
	struct ixev_conn *c = malloc(sizeof(*c));

	if (!c)
		return NULL; /* rejected: the client gets a reset */
	ixev_conn_init(c);
	ixev_set_handler(c, IXEV_IN | IXEV_HUP, echo_handler);
	return c;
}

static void echo_release(struct ixev_conn *c)
{
	free(c);
}

static const struct ixev_conn_ops echo_ops = {
	.accept = echo_accept,
	.release = echo_release,
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ix-echo [-p PORT] [-t THREADS] [-h]\n"
		"  a TCP echo server on ixdp\n"
		"  -p PORT     TCP port (default %d; below 1024 needs root)\n"
		"  -t THREADS  threads, each its own ixdpd context (default %d, at most %d)\n"
		"  -h          this help\n"
		"  $IXDP_CONTROL names ixdpd's control socket (default %s)\n",
		ECHO_PORT_DEFAULT, ECHO_THREADS_DEFAULT, APP_THREADS_MAX, IX_CONTROL_DEFAULT);
}

int main(int argc, char **argv)
{
	struct app_server srv = { .name = "ix-echo", .ops = &echo_ops, .port = ECHO_PORT_DEFAULT,
				  .nthreads = ECHO_THREADS_DEFAULT };
	int ret = app_options(&srv, argc, argv, "", NULL, NULL, usage);

	if (ret >= 0)
		return ret;
	return app_serve(&srv);
}
