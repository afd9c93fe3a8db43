// SPDX-License-Identifier: BSD-2-Clause
/*
 * signal.c - the app's signal handlers, run through a wrapper that counts them, so that a wait
 * of the shim knows a handler ran on its thread even when the signal came while it spun or
 * drained in user space (where no system call returns EINTR for it), and whether that handler
 * asked for SA_RESTART.  sigaction() and signal() install the wrapper in the kernel in place of
 * the app's function and report the app's own action back; the wrapper calls that function.
 *
 * A wait (shim_wait(), epoll's) marks the counters when its call begins (shim_sig_mark()) and
 * ends the call with EINTR once a handler ran since, as the kernel ends its waits: poll,
 * select and epoll for any handler, reads, writes, accept and connect only for a handler
 * without SA_RESTART, or for any when the socket has a timeout (man 7 signal).  Its sleep
 * blocks every signal, looks at the counters, and sleeps in ppoll()/epoll_pwait() with the
 * thread's own mask, so a signal either comes before the look or ends the sleep.
 *
 * Not seen: siginterrupt(), sigset() and sysv_signal() change a handler's SA_RESTART or install
 * one through libc's inner sigaction, without the wrapper.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "shim.h"

__thread volatile unsigned int shim_sig_runs SHIM_TLS;
__thread volatile unsigned int shim_sig_breaks SHIM_TLS;
__thread struct shim_sigmark shim_sig_at SHIM_TLS;

static struct sigaction shim_sig_app[_NSIG];	/* the app's action where the wrapper stands */
static pthread_mutex_t shim_sig_lock = PTHREAD_MUTEX_INITIALIZER;

static void shim_sig_wrap(int sig, siginfo_t *info, void *uc)
{
	struct sigaction a = shim_sig_app[sig];
	int e = errno;

	shim_sig_runs++;
	if (!(a.sa_flags & SA_RESTART))
		shim_sig_breaks++;
	errno = e;
	if (a.sa_flags & SA_SIGINFO)
		a.sa_sigaction(sig, info, uc);
	else
		a.sa_handler(sig);
}

/* Does @act name a function of the app's (not SIG_DFL, not SIG_IGN)? */
static bool shim_sig_fn(const struct sigaction *act)
{
	if (act->sa_flags & SA_SIGINFO)
		return act->sa_sigaction != NULL;
	return act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN;
}

SHIM_API int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct sigaction mine, prev, was;
	int ret;

	if (sig <= 0 || sig >= _NSIG)
		return SHIM_LIBC(sigaction)(sig, act, old);
	pthread_mutex_lock(&shim_sig_lock);
	was = shim_sig_app[sig];
	if (act && shim_sig_fn(act)) {
		mine = *act;
		mine.sa_flags |= SA_SIGINFO;
		mine.sa_sigaction = shim_sig_wrap;
		shim_sig_app[sig] = *act;
		ret = SHIM_LIBC(sigaction)(sig, &mine, &prev);
		if (ret)
			shim_sig_app[sig] = was;
	} else {
		ret = SHIM_LIBC(sigaction)(sig, act, &prev);
	}
	pthread_mutex_unlock(&shim_sig_lock);
	if (!ret && old)
		*old = (prev.sa_flags & SA_SIGINFO) && prev.sa_sigaction == shim_sig_wrap ? was : prev;
	return ret;
}

/* signal(): glibc's (BSD) semantics, through the sigaction() above. */
SHIM_API sighandler_t signal(int sig, sighandler_t handler)
{
	struct sigaction act = { .sa_handler = handler, .sa_flags = SA_RESTART }, old;

	if (handler == SIG_ERR || sig <= 0 || sig >= _NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	sigemptyset(&act.sa_mask);
	sigaddset(&act.sa_mask, sig);
	if (sigaction(sig, &act, &old))
		return SIG_ERR;
	return (old.sa_flags & SA_SIGINFO) ? (sighandler_t)(void *)old.sa_sigaction :
					     old.sa_handler;
}

/* shim_sig_mark - a blocking call begins: the handlers that end it are those run from now. */
void shim_sig_mark(void)
{
	shim_sig_at.runs = shim_sig_runs;
	shim_sig_at.breaks = shim_sig_breaks;
}

/*
 * shim_sig_ended - has a handler run on this thread since shim_sig_mark() that ends the call?
 * @restart: the call is restarted after a handler with SA_RESTART (read, write, accept,
 *           connect without a timeout); false: any handler ends it (poll, select, epoll)
 */
bool shim_sig_ended(bool restart)
{
	return restart ? shim_sig_breaks != shim_sig_at.breaks : shim_sig_runs != shim_sig_at.runs;
}
