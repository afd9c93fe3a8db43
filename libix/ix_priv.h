/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ix_priv.h - what libix's files share and apps never see.
 *
 * libix is built with -fvisibility=hidden: a function is exported only when its definition
 * carries IX_API (and its name matches libix.map); everything else stays inside the library.
 */
#ifndef IX_PRIV_H
#define IX_PRIV_H

#define IX_API __attribute__((visibility("default")))

/* ix_logf - format a message and hand it to the callback of ix_set_log(), if any. */
void ix_logf(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* IX_PRIV_H */
