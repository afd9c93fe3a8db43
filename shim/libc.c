// SPDX-License-Identifier: BSD-2-Clause
/*
 * libc.c - libc's own socket, I/O and epoll functions, found behind the shim's (RTLD_NEXT).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "shim.h"

struct shim_libc shim_libc;

static void *shim_libc_sym(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (!p) {
		/* no libc to fall back to: nothing can work (write(2) itself is the one we lack) */
		static const char msg[] = "libix-preload: libc function missing\n";

		if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
			abort();
		abort();
	}
	return p;
}

#define SHIM_SYM(name) (shim_libc.name = shim_libc_sym(#name))

/**
 * shim_libc_init - find libc's functions: from the shim's constructor, or sooner from the
 * first interposed call that comes before it (SHIM_LIBC); once.
 */
void shim_libc_init(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	SHIM_SYM(syscall);	/* first: what an allocator's start-up calls, dlsym's malloc too */
	SHIM_SYM(listen);
	SHIM_SYM(connect);
	SHIM_SYM(accept4);
	SHIM_SYM(read);
	SHIM_SYM(write);
	SHIM_SYM(readv);
	SHIM_SYM(writev);
	SHIM_SYM(recvfrom);
	SHIM_SYM(sendto);
	SHIM_SYM(recvmsg);
	SHIM_SYM(sendmsg);
	SHIM_SYM(close);
	SHIM_SYM(close_range);
	SHIM_SYM(shutdown);
	SHIM_SYM(fcntl);
	SHIM_SYM(ioctl);
	SHIM_SYM(dup);
	SHIM_SYM(dup3);
	SHIM_SYM(getsockname);
	SHIM_SYM(getpeername);
	SHIM_SYM(getsockopt);
	SHIM_SYM(setsockopt);
	SHIM_SYM(epoll_create1);
	SHIM_SYM(epoll_ctl);
	SHIM_SYM(epoll_wait);
	SHIM_SYM(epoll_pwait);
	SHIM_SYM(poll);
	SHIM_SYM(ppoll);
	SHIM_SYM(select);
	SHIM_SYM(pselect);
	SHIM_SYM(sendfile);
	SHIM_SYM(sigaction);
	SHIM_SYM(execve);
	SHIM_SYM(execvpe);
	SHIM_SYM(fexecve);
	SHIM_SYM(posix_spawn);
	SHIM_SYM(posix_spawnp);
	shim_libc.epoll_pwait2 = dlsym(RTLD_NEXT, "epoll_pwait2");
}
