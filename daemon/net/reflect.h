/* SPDX-License-Identifier: GPL-2.0 */
/* reflect.h - the diagnostic UDP reflector: answer a datagram with itself, addresses swapped. */
#ifndef IXDP_REFLECT_H
#define IXDP_REFLECT_H

#include <linux/types.h>

#include "ixdp/parse.h"

int reflect_udp(void *frame, __u32 len, const struct ixdp_pkt *pkt);

#endif /* IXDP_REFLECT_H */
