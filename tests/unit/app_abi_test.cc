// SPDX-License-Identifier: GPL-2.0
// app_abi_test.cc - the shared-memory ABI of include/ixdp/app.h, field by field: sizes, offsets,
// the cache-line split between writers, the power-of-two rules and the opaque handles.  A
// change here is an ABI change: bump IXDP_APP_VERSION with it.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "ix/ix.h"
#include "ixdp/app.h"
#include "ixdp/ctl.h"
#include "ixdp/steer.h"

#define OFF(type, field) offsetof(struct type, field)
#define SIZE(type, field) sizeof(((struct type *)0)->field)

namespace {

constexpr bool pow2(uint64_t x) { return x && !(x & (x - 1)); }

TEST(AppAbi, Constants)
{
	EXPECT_EQ(IXDP_APP_MAGIC, 0x50415849u);
	// 2: handles are opaque (no worker field), MOVE/MOVED, conns_max in the header.
	// 3: LISTEN's IDLE flag and kernel socket inode (shared listens across processes).
	// 4: SENDs in flight behind each other: a short one stops what follows until RESUME.
	EXPECT_EQ(IXDP_APP_VERSION, 4);
	EXPECT_EQ(IXDP_APP_SEND_RESUME, 0x1);
	EXPECT_EQ(IXDP_APP_LISTEN_IDLE, 0x1);
	EXPECT_TRUE(IXDP_APP_HELD_MAX > 0);
	EXPECT_EQ(IXDP_APP_ENTRY, 64);
	EXPECT_TRUE(pow2(IXDP_APP_ENTRY));
	EXPECT_EQ(IXDP_APP_FDS_MAX, 2 + IXDP_WORKERS_MAX);
	EXPECT_EQ(IXDP_APP_CLOSE_RESET, 0x1);
	EXPECT_EQ(IXDP_CTL_APP_ATTACH, 4);
	// The magic spells "IXAP" in memory (little-endian).
	uint32_t m = IXDP_APP_MAGIC;
	EXPECT_EQ(memcmp(&m, "IXAP", 4), 0);
}

TEST(AppAbi, OpsAndEventTypes)
{
	EXPECT_EQ(IXDP_APP_NOP, 0);
	EXPECT_EQ(IXDP_APP_LISTEN, 1);
	EXPECT_EQ(IXDP_APP_UNLISTEN, 2);
	EXPECT_EQ(IXDP_APP_ACCEPT, 3);
	EXPECT_EQ(IXDP_APP_REJECT, 4);
	EXPECT_EQ(IXDP_APP_CONNECT, 5);
	EXPECT_EQ(IXDP_APP_SEND, 6);
	EXPECT_EQ(IXDP_APP_RECV_DONE, 7);
	EXPECT_EQ(IXDP_APP_SHUTDOWN, 8);
	EXPECT_EQ(IXDP_APP_CLOSE, 9);
	EXPECT_EQ(IXDP_APP_MOVE, 10);
	EXPECT_EQ(IXDP_APP_EV_NONE, 0);
	EXPECT_EQ(IXDP_APP_EV_RESULT, 1);
	EXPECT_EQ(IXDP_APP_EV_KNOCK, 2);
	EXPECT_EQ(IXDP_APP_EV_CONNECTED, 3);
	EXPECT_EQ(IXDP_APP_EV_RECV, 4);
	EXPECT_EQ(IXDP_APP_EV_SENT, 5);
	EXPECT_EQ(IXDP_APP_EV_DEAD, 6);
	EXPECT_EQ(IXDP_APP_EV_MOVED, 7);
	// libix hands the daemon's numbers to apps unchanged.
	EXPECT_EQ((int)IX_EV_RESULT, (int)IXDP_APP_EV_RESULT);
	EXPECT_EQ((int)IX_EV_KNOCK, (int)IXDP_APP_EV_KNOCK);
	EXPECT_EQ((int)IX_EV_CONNECTED, (int)IXDP_APP_EV_CONNECTED);
	EXPECT_EQ((int)IX_EV_RECV, (int)IXDP_APP_EV_RECV);
	EXPECT_EQ((int)IX_EV_SENT, (int)IXDP_APP_EV_SENT);
	EXPECT_EQ((int)IX_EV_DEAD, (int)IXDP_APP_EV_DEAD);
	EXPECT_EQ((int)IX_OP_LISTEN, (int)IXDP_APP_LISTEN);
	EXPECT_EQ((int)IX_OP_CLOSE, (int)IXDP_APP_CLOSE);
	EXPECT_EQ((int)IXDP_FAMILY_INET, 4);
	EXPECT_EQ((int)IXDP_FAMILY_INET6, 6);
}

TEST(AppAbi, Command)
{
	EXPECT_EQ(sizeof(struct ixdp_app_cmd), (size_t)IXDP_APP_ENTRY);
	EXPECT_EQ(alignof(struct ixdp_app_cmd), 8u);
	EXPECT_EQ(OFF(ixdp_app_cmd, op), 0u);
	EXPECT_EQ(OFF(ixdp_app_cmd, flags), 2u);
	EXPECT_EQ(OFF(ixdp_app_cmd, len), 4u);
	EXPECT_EQ(OFF(ixdp_app_cmd, handle), 8u);
	EXPECT_EQ(OFF(ixdp_app_cmd, cookie), 16u);
	EXPECT_EQ(OFF(ixdp_app_cmd, off), 24u);
	EXPECT_EQ(OFF(ixdp_app_cmd, addr), 32u);
	EXPECT_EQ(SIZE(ixdp_app_cmd, addr), 16u);
	EXPECT_EQ(OFF(ixdp_app_cmd, port), 48u);
	EXPECT_EQ(OFF(ixdp_app_cmd, family), 50u);
	EXPECT_EQ(OFF(ixdp_app_cmd, pad), 51u);
	EXPECT_EQ(OFF(ixdp_app_cmd, seq), 52u);
	EXPECT_EQ(OFF(ixdp_app_cmd, reserved), 56u);
	EXPECT_EQ(SIZE(ixdp_app_cmd, reserved), 8u);
}

TEST(AppAbi, Event)
{
	EXPECT_EQ(sizeof(struct ixdp_app_ev), (size_t)IXDP_APP_ENTRY);
	EXPECT_EQ(alignof(struct ixdp_app_ev), 8u);
	EXPECT_EQ(OFF(ixdp_app_ev, type), 0u);
	EXPECT_EQ(OFF(ixdp_app_ev, op), 2u);
	EXPECT_EQ(OFF(ixdp_app_ev, err), 4u);
	EXPECT_EQ(OFF(ixdp_app_ev, handle), 8u);
	EXPECT_EQ(OFF(ixdp_app_ev, cookie), 16u);
	EXPECT_EQ(OFF(ixdp_app_ev, off), 24u);
	EXPECT_EQ(OFF(ixdp_app_ev, len), 32u);
	EXPECT_EQ(OFF(ixdp_app_ev, seq), 36u);
	EXPECT_EQ(OFF(ixdp_app_ev, laddr), 24u); // KNOCK, CONNECTED, MOVED: over off, len, seq
	EXPECT_EQ(SIZE(ixdp_app_ev, laddr), 16u);
	EXPECT_EQ(OFF(ixdp_app_ev, addr), 40u);
	EXPECT_EQ(SIZE(ixdp_app_ev, addr), 16u);
	EXPECT_EQ(OFF(ixdp_app_ev, port), 56u);
	EXPECT_EQ(OFF(ixdp_app_ev, family), 58u);
	EXPECT_EQ(OFF(ixdp_app_ev, pad), 59u);
	EXPECT_EQ(OFF(ixdp_app_ev, lport), 60u);
	EXPECT_EQ(OFF(ixdp_app_ev, pad2), 62u);
	EXPECT_TRUE(std::is_signed<decltype(((struct ixdp_app_ev *)0)->err)>::value);
}

TEST(AppAbi, ContextHeader)
{
	EXPECT_EQ(sizeof(struct ixdp_app_shm), 128u);
	EXPECT_EQ(alignof(struct ixdp_app_shm), 64u);
	EXPECT_EQ(OFF(ixdp_app_shm, magic), 0u);
	EXPECT_EQ(OFF(ixdp_app_shm, version), 4u);
	EXPECT_EQ(OFF(ixdp_app_shm, hdr_size), 6u);
	EXPECT_EQ(OFF(ixdp_app_shm, cmd_size), 8u);
	EXPECT_EQ(OFF(ixdp_app_shm, ev_size), 10u);
	EXPECT_EQ(OFF(ixdp_app_shm, chan_hdr_size), 12u);
	EXPECT_EQ(OFF(ixdp_app_shm, nr_workers), 14u);
	EXPECT_EQ(OFF(ixdp_app_shm, shm_size), 16u);
	EXPECT_EQ(OFF(ixdp_app_shm, chan_off), 24u);
	EXPECT_EQ(OFF(ixdp_app_shm, chan_size), 32u);
	EXPECT_EQ(OFF(ixdp_app_shm, cmd_entries), 40u);
	EXPECT_EQ(OFF(ixdp_app_shm, ev_entries), 44u);
	EXPECT_EQ(OFF(ixdp_app_shm, rx_size), 48u);
	EXPECT_EQ(OFF(ixdp_app_shm, tx_size), 52u);
	EXPECT_EQ(OFF(ixdp_app_shm, ctx_id), 56u);
	EXPECT_EQ(OFF(ixdp_app_shm, conns_max), 60u);
	// What the app writes is alone on its cache line.
	EXPECT_EQ(OFF(ixdp_app_shm, app_sleeping), 64u);
	EXPECT_EQ(OFF(ixdp_app_shm, reserved1), 68u);
	EXPECT_EQ(SIZE(ixdp_app_shm, reserved1), 60u);
	// The size fields can hold what they describe.
	EXPECT_LE(sizeof(struct ixdp_app_shm), (size_t)UINT16_MAX);
	EXPECT_LE(sizeof(struct ixdp_app_chan), (size_t)UINT16_MAX);
	EXPECT_GE(UINT16_MAX, IXDP_WORKERS_MAX);
}

TEST(AppAbi, ChannelHeader)
{
	EXPECT_EQ(sizeof(struct ixdp_app_chan), 192u);
	EXPECT_EQ(alignof(struct ixdp_app_chan), 64u);
	// app line
	EXPECT_EQ(OFF(ixdp_app_chan, cmd_prod), 0u);
	EXPECT_EQ(OFF(ixdp_app_chan, ev_cons), 4u);
	EXPECT_EQ(OFF(ixdp_app_chan, reserved0), 8u);
	EXPECT_EQ(SIZE(ixdp_app_chan, reserved0), 56u);
	// worker line
	EXPECT_EQ(OFF(ixdp_app_chan, cmd_cons), 64u);
	EXPECT_EQ(OFF(ixdp_app_chan, ev_prod), 68u);
	EXPECT_EQ(OFF(ixdp_app_chan, worker_sleeping), 72u);
	EXPECT_EQ(OFF(ixdp_app_chan, reserved1), 76u);
	EXPECT_EQ(SIZE(ixdp_app_chan, reserved1), 52u);
	// constant line
	EXPECT_EQ(OFF(ixdp_app_chan, cmd_off), 128u);
	EXPECT_EQ(OFF(ixdp_app_chan, ev_off), 136u);
	EXPECT_EQ(OFF(ixdp_app_chan, rx_off), 144u);
	EXPECT_EQ(OFF(ixdp_app_chan, tx_off), 152u);
	EXPECT_EQ(OFF(ixdp_app_chan, ifindex), 160u);
	EXPECT_EQ(SIZE(ixdp_app_chan, ifindex), 4u);
	EXPECT_EQ(OFF(ixdp_app_chan, reserved3), 164u);
	EXPECT_EQ(OFF(ixdp_app_chan, reserved2), 168u);
	EXPECT_EQ(SIZE(ixdp_app_chan, reserved2), 24u);
	// Each writer's fields fill exactly one 64-byte line.
	EXPECT_EQ(OFF(ixdp_app_chan, cmd_cons) - OFF(ixdp_app_chan, cmd_prod), 64u);
	EXPECT_EQ(OFF(ixdp_app_chan, cmd_off) - OFF(ixdp_app_chan, cmd_cons), 64u);
}

TEST(AppAbi, AttachReply)
{
	EXPECT_EQ(sizeof(struct ixdp_app_attach), 24u);
	EXPECT_EQ(OFF(ixdp_app_attach, magic), 0u);
	EXPECT_EQ(OFF(ixdp_app_attach, version), 4u);
	EXPECT_EQ(OFF(ixdp_app_attach, nr_fds), 6u);
	EXPECT_EQ(OFF(ixdp_app_attach, shm_size), 8u);
	EXPECT_EQ(OFF(ixdp_app_attach, ctx_id), 16u);
	EXPECT_EQ(OFF(ixdp_app_attach, nr_workers), 20u);
	// The request and reply framing it travels in.
	EXPECT_EQ(sizeof(struct ixdp_ctl_req), 32u);
	EXPECT_EQ(sizeof(struct ixdp_ctl_reply), 16u);
	EXPECT_EQ(OFF(ixdp_ctl_reply, status), 8u);
	EXPECT_EQ(OFF(ixdp_ctl_reply, len), 12u);
}

// Ring indices are free-running: entry = index & (entries - 1) needs entries a power of two,
// and 64-byte entries keep every entry on its own cache line in a ring at a 64-byte offset.
TEST(AppAbi, PowerOfTwoRules)
{
	for (uint32_t entries : { 1u, 2u, 64u, 256u, 1024u, 1u << 20 })
		EXPECT_TRUE(pow2(entries));
	for (uint32_t entries : { 0u, 3u, 200u, 1000u })
		EXPECT_FALSE(pow2(entries));
	// Wrap-around of the free-running indices: used = prod - cons is right across 2^32.
	uint32_t cons = 0xfffffff0u, prod = cons + 32;
	EXPECT_EQ(prod - cons, 32u);
	EXPECT_EQ((prod - 1) & 255u, (uint32_t)((0xfffffff0ull + 31) & 255u));
	EXPECT_EQ(64 % alignof(struct ixdp_app_cmd), 0u);
	EXPECT_EQ(64 % alignof(struct ixdp_app_ev), 0u);
}

// Version 2: the ABI says nothing of a handle's bits (libix maps handles to workers itself,
// tests/unit/libix_test.cc); what stays is the 64-bit field in both entries and 0 never valid.
TEST(AppAbi, Handle)
{
	EXPECT_EQ(SIZE(ixdp_app_cmd, handle), 8u);
	EXPECT_EQ(SIZE(ixdp_app_ev, handle), 8u);
	EXPECT_EQ(sizeof(ix_handle_t), 8u);
	EXPECT_TRUE(std::is_unsigned<ix_handle_t>::value);
#ifdef IXDP_APP_HANDLE_WORKER
	ADD_FAILURE() << "version 2 handles are opaque: no IXDP_APP_HANDLE_WORKER";
#endif
}

TEST(AppAbi, Move)
{
	EXPECT_EQ(IXDP_APP_MOVE, 10);
	EXPECT_EQ(IXDP_APP_OP_MAX, 11);
	EXPECT_EQ(IXDP_APP_EV_MOVED, 7);
	EXPECT_EQ(IXDP_APP_EV_MAX, 8);
	EXPECT_EQ((int)IX_OP_MOVE, IXDP_APP_MOVE);
	EXPECT_EQ((int)IX_EV_MOVED, IXDP_APP_EV_MOVED);
	// MOVE names the target in len: a ctx_id fits it.
	EXPECT_EQ(SIZE(ixdp_app_cmd, len), SIZE(ixdp_app_shm, ctx_id));
}

} // namespace
