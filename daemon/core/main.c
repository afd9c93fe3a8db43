// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - ixdpd: the ixdp dataplane daemon.
 *
 * Exit status: 0 after a clean stop (SIGINT/SIGTERM/SIGHUP), 2 for a bad configuration (nothing
 * was touched), 1 when bringing the dataplane up failed (everything was undone).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "core/ixdpd.h"
#include "core/log.h"

/*
 * Without --foreground: fork, and let the parent exit only once the child reports that the
 * dataplane is up (status 0) or failed (its exit status), so a caller's exit status is real.
 */
static int daemonize(int *notify_fd)
{
	int pfd[2], status;
	unsigned char code;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(pfd[1]);
		if (read(pfd[0], &code, 1) == 1)
			_exit(code);
		waitpid(pid, &status, 0);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
	}
	close(pfd[0]);
	if (setsid() < 0)
		return -errno;
	*notify_fd = pfd[1];
	return 0;
}

static void report_ready(int notify_fd, unsigned char code)
{
	int fd;

	if (notify_fd < 0)
		return;
	if (write(notify_fd, &code, 1) != 1)
		pr_warn("cannot report start-up to the parent: %s", strerror(errno));
	close(notify_fd);
	if (code)
		return;
	/* Detach from the terminal: from here on, log to syslog. */
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	log_set_syslog(true);
}

int main(int argc, char **argv)
{
	static struct ixdpd d;
	int notify_fd = -1, ret;
	char err[768];

	ixdpd_init(&d);
	ret = cfg_parse_args(&d.cfg, argc, argv, err, sizeof(err));
	if (ret == 1)
		return 0;
	if (!ret)
		ret = cfg_validate(&d.cfg, err, sizeof(err));
	if (!ret)
		ret = ixdpd_check(&d, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "ixdpd: %s\n", err);
		return 2;
	}
	log_max_level = d.cfg.log_level;

	if (!d.cfg.foreground && daemonize(&notify_fd)) {
		fprintf(stderr, "ixdpd: cannot go to the background: %s\n", strerror(errno));
		return 1;
	}
	ret = ixdpd_start(&d);
	if (ret) {
		pr_err("start-up failed: %s", strerror(-ret));
		ixdpd_stop(&d);
		report_ready(notify_fd, 1);
		return 1;
	}
	report_ready(notify_fd, 0);
	sd_notifyf(0, "READY=1\nSTATUS=serving %s with %u workers\nMAINPID=%lu", d.nif.name,
		   d.cfg.workers, (unsigned long)getpid());

	ret = ixdpd_run(&d);
	sd_notify(0, "STOPPING=1");
	ixdpd_stop(&d);
	if (ret) {
		pr_err("control loop: %s", strerror(-ret));
		return 1;
	}
	return 0;
}
