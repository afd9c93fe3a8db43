// SPDX-License-Identifier: GPL-2.0
/*
 * parse_fuzz.c - libFuzzer target: the frame parser (shared with the XDP program) and the UDP
 * reflector, on arbitrary bytes.  ASan/UBSan catch any read or write outside the frame; the
 * asserts check what the parser promises about the offsets it returns.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ixdp/parse.h"
#include "net/reflect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ixdp_pkt pkt;
	uint8_t *frame;
	int ret;

	if (size > 65536)
		return 0;
	/* An exact-size heap copy, so ASan sees one byte past the end. */
	frame = malloc(size ? size : 1);
	if (!frame)
		return 0;
	memcpy(frame, data, size);

	ret = ixdp_parse(frame, frame + size, &pkt);
	assert(ret == IXDP_PARSE_L4 || ret == IXDP_PARSE_OTHER || ret == IXDP_PARSE_BAD);
	if (ret == IXDP_PARSE_L4) {
		assert(pkt.l3_off >= 14 && pkt.l4_off > pkt.l3_off);
		assert((size_t)pkt.l3_off + pkt.l3_len <= size);
		assert(pkt.l4_off + (pkt.flow.proto == IPPROTO_TCP ? 20u : 8u) <=
		       (size_t)pkt.l3_off + pkt.l3_len);
		assert(pkt.flow.family == IXDP_FAMILY_INET || pkt.flow.family == IXDP_FAMILY_INET6);
		if (pkt.flow.proto == IPPROTO_UDP) {
			ret = reflect_udp(frame, size, &pkt);
			assert(ret == -EBADMSG || ret == -EINVAL ||
			       (ret > 0 && (size_t)ret == (size_t)pkt.l3_off + pkt.l3_len));
		}
	}
	free(frame);
	return 0;
}
