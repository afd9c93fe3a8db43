// SPDX-License-Identifier: GPL-2.0
/*
 * worker_test.cc - the control thread's mailbox to a worker (worker_call / worker_control),
 * with a thread of the test playing the worker and a hook that delays it on purpose: a late
 * answer is never taken for a later call, and a later call's arguments never run under an
 * earlier op.
 */
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <sys/eventfd.h>
#include <unistd.h>

extern "C" {
#include "core/worker.h"
}

namespace {

/* What the hook does to the worker thread that calls it. */
std::atomic<bool> hold{ false };	/* block until cleared */
std::atomic<bool> park{ false };	/* once: say so, wait for go, then 20 ms more */
std::atomic<bool> parked{ false };
std::atomic<bool> go{ false };

void wait_for(const std::atomic<bool> &flag, bool value)
{
	for (int i = 0; i < 5000 && flag.load() != value; i++)
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void hook(struct worker *w)
{
	(void)w;
	wait_for(hold, false);
	if (park.load()) {
		parked = true;
		wait_for(go, true);
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
		park = false;
	}
}

class WorkerMailbox : public ::testing::Test {
protected:
	struct worker w {};
	std::atomic<bool> stop{ false };
	std::thread t;

	void SetUp() override
	{
		hold = park = parked = go = false;
		w.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		ASSERT_GE(w.wake_fd, 0);
		w.running = true; /* no stack, no channels: only NONE (0) and unknown ops (-EOPNOTSUPP) */
		w.control_hook = hook;
		t = std::thread([this] {
			while (!stop.load()) {
				worker_control(&w);
				std::this_thread::sleep_for(std::chrono::microseconds(50));
			}
		});
	}

	void TearDown() override
	{
		hold = false;
		go = true;
		stop = true;
		t.join();
		close(w.wake_fd);
	}
};

TEST_F(WorkerMailbox, CallsGetTheirOwnAnswers)
{
	struct worker_cmd bad = {}, none = {};

	bad.op = -1;
	none.op = WORKER_OP_NONE;
	for (int i = 0; i < 100; i++) {
		EXPECT_EQ(worker_call(&w, &bad, 1000), -EOPNOTSUPP);
		EXPECT_EQ(worker_call(&w, &none, 1000), 0);
	}
}

TEST_F(WorkerMailbox, LateAnswerIsNotTakenForTheNextCall)
{
	struct worker_cmd bad = {}, none = {};

	bad.op = -1;
	none.op = WORKER_OP_NONE;

	/* The worker is stuck: the call times out, and the next one finds the mailbox busy. */
	hold = true;
	EXPECT_EQ(worker_call(&w, &bad, 50), -ETIMEDOUT);
	EXPECT_EQ(worker_call(&w, &none, 50), -EBUSY);

	/* It answers late; then, having read the mailbox, it is delayed while the next call
	 * is posted.  The next call must get its own op's answer, not a rerun of the old op. */
	hold = false;
	std::this_thread::sleep_for(std::chrono::milliseconds(20));
	park = true;
	wait_for(parked, true);
	ASSERT_TRUE(parked.load());
	go = true;
	EXPECT_EQ(worker_call(&w, &none, 2000), 0);
	EXPECT_EQ(none.result, 0);
	EXPECT_EQ(worker_call(&w, &bad, 2000), -EOPNOTSUPP);
}

TEST_F(WorkerMailbox, NotRunningIsRefused)
{
	struct worker_cmd none = {};

	none.op = WORKER_OP_NONE;
	w.running = false;
	EXPECT_EQ(worker_call(&w, &none, 10), -ESRCH);
	w.running = true;
}

} // namespace
