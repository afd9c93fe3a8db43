/* SPDX-License-Identifier: GPL-2.0 */
/* log.h - levelled, printf-checked logging for ixdpd and its tools. */
#ifndef IXDP_LOG_H
#define IXDP_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LVL_ERR,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

extern enum log_level log_max_level;

void log_set_syslog(bool on);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int log_level_parse(const char *s, enum log_level *lvl);

#define pr_err(...)  log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define pr_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define pr_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)

/* Debug messages are compiled out unless built with -DIXDP_DEBUG (hot paths stay clean). */
#ifdef IXDP_DEBUG
#define pr_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#else
#define pr_debug(...) do { if (0) log_msg(LOG_LVL_DEBUG, __VA_ARGS__); } while (0)
#endif

#endif /* IXDP_LOG_H */
