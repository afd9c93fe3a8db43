// SPDX-License-Identifier: GPL-2.0
/* log.c - levelled logging to stderr, or to syslog once ixdpd runs in the background. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <syslog.h>

#include "core/log.h"

enum log_level log_max_level = LOG_LVL_INFO;
static bool log_to_syslog;

static const char *const log_names[] = {
	[LOG_LVL_ERR] = "error",
	[LOG_LVL_WARN] = "warning",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

static const int log_syslog_prio[] = {
	[LOG_LVL_ERR] = LOG_ERR,
	[LOG_LVL_WARN] = LOG_WARNING,
	[LOG_LVL_INFO] = LOG_INFO,
	[LOG_LVL_DEBUG] = LOG_DEBUG,
};

/**
 * log_set_syslog - send further messages to syslog (true) or stderr (false).
 * @on: where to log
 */
void log_set_syslog(bool on)
{
	if (on && !log_to_syslog)
		openlog("ixdpd", LOG_PID, LOG_DAEMON);
	log_to_syslog = on;
}

/**
 * log_level_parse - parse "error", "warning", "info" or "debug".
 * @s:   the name
 * @lvl: set on success
 *
 * Return: 0, or -EINVAL for an unknown name.
 */
int log_level_parse(const char *s, enum log_level *lvl)
{
	unsigned int i;

	for (i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++) {
		if (!strcmp(s, log_names[i])) {
			*lvl = i;
			return 0;
		}
	}
	return -EINVAL;
}

/**
 * log_msg - log one message at @lvl if the configured level lets it through.
 * @lvl: severity
 * @fmt: printf format; a trailing newline is added
 */
void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (lvl > log_max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (log_to_syslog)
		syslog(log_syslog_prio[lvl], "%s", buf);
	else if (lvl <= LOG_LVL_WARN)
		fprintf(stderr, "ixdpd: %s: %s\n", log_names[lvl], buf);
	else
		fprintf(stderr, "ixdpd: %s\n", buf);
}
