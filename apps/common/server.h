/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * server.h - what the ixev servers in apps/ share: one ixev loop per thread, all listening on
 * one port; signals taken by the main thread; a bounded, clean stop.
 */
#ifndef APPS_SERVER_H
#define APPS_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "ix/ixev.h"

#define APP_THREADS_MAX 64
#define APP_RUN_TIMEOUT_MS 100	/* how often a loop looks at the stop flag */
#define APP_STOP_TIMEOUT_S 5	/* for the threads to finish after the stop */
#define APP_SIGNAL_POLL_MS 200	/* how often main looks for a thread that gave up */

/* One server thread; ixev_loop_arg() of its loop. */
struct app_thread {
	unsigned int id;
	struct ixev_loop *loop;
	void *user;		/* the app's, from app_server.thread_init */
	pthread_t tid;
	int err;		/* why the thread stopped early (negative errno), 0 if it did not */
	int done;		/* atomic */
	struct app_thread *all;	/* every thread of the server (--dispatch hands over to them) */
	unsigned int nr_all;
	unsigned int rr;	/* thread 0: the next one app_next_loop() gives */
};

struct app_server {
	const char *name;	/* "ix-echo": the prefix of every message */
	const struct ixev_conn_ops *ops;
	unsigned long port;
	unsigned long nthreads;
	/* optional: set t->user up before the thread's loop is created; 0 or -errno */
	int (*thread_init)(struct app_thread *t, void *arg);
	void *arg;
	bool can_dispatch;	/* the app hands connections over (app_next_loop()) */
	bool dispatch;		/* --dispatch: thread 0 alone listens and hands them over */
};

int app_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);
int app_options(struct app_server *srv, int argc, char **argv, const char *extra_opts,
		int (*extra)(int opt, const char *arg, void *ctx), void *ctx,
		void (*usage)(FILE *f));
int app_serve(const struct app_server *srv);
const char *app_listen_why(int err);
struct ixev_loop *app_next_loop(struct app_thread *t);

#endif /* APPS_SERVER_H */
