// SPDX-License-Identifier: GPL-2.0
/*
 * lwcopy.c - load private copies of liblwip and the hooks every copy binds to.
 *
 * Measured facts behind this (shared/notes/lwip.md §2): a memfd + dlopen(RTLD_LOCAL) copy binds
 * its GOT/PLT to itself while the executable does not link lwIP; the memfd must stay open, or a
 * later memfd reuses the number and dlopen returns the old handle; all copies share the process
 * heap (Debian's build uses malloc for pcbs and pbufs), so one copy may free what another
 * allocated.  Where executable memfds are refused (vm.memfd_noexec, systemd's
 * MemoryDenyWriteExecute=), an unlinked O_TMPFILE copy in @tmpdir is dlopen()ed the same way.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "net/csum.h"
#include "tcp/lwcopy.h"

/* gcc says __SANITIZE_ADDRESS__, clang __has_feature(address_sanitizer). */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LWCOPY_ASAN
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(LWCOPY_ASAN)
#include <sanitizer/lsan_interface.h>
#define lsan_disable() __lsan_disable()
#define lsan_enable() __lsan_enable()
#else
#define lsan_disable() do { } while (0)
#define lsan_enable() do { } while (0)
#endif

#ifndef LWCOPY_LIB
#define LWCOPY_LIB "/usr/lib/x86_64-linux-gnu/liblwip.so.0"
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

#define LWCOPY_DEFERRED_MAX 256

/* The library's bytes, read once and shared by every copy. */
static struct {
	pthread_mutex_t lock;
	unsigned char *bytes;
	size_t len;
} lw_image = { PTHREAD_MUTEX_INITIALIZER, NULL, 0 };

/* Work lwIP queued for its (absent) tcpip thread: run by the worker that queued it. */
static __thread struct {
	tcpip_callback_fn fn;
	void *ctx;
} lw_deferred[LWCOPY_DEFERRED_MAX];
static __thread unsigned int lw_ndeferred;

/**
 * tcpip_try_callback - lwIP's hand-off to its tcpip thread, interposed into every copy.
 * @function: what to run
 * @ctx:      its argument
 *
 * Copies call this for loopback traffic and on some allocation failures.  The work is queued on
 * the calling worker and run by lwcopy_run_deferred() after its current batch.
 *
 * Return: ERR_OK, or ERR_MEM when the worker's queue is full.
 */
__attribute__((visibility("default"))) err_t tcpip_try_callback(tcpip_callback_fn function,
								 void *ctx)
{
	if (lw_ndeferred == LWCOPY_DEFERRED_MAX)
		return ERR_MEM;
	lw_deferred[lw_ndeferred].fn = function;
	lw_deferred[lw_ndeferred].ctx = ctx;
	lw_ndeferred++;
	return ERR_OK;
}

/**
 * tcp_timer_needed - interposed into every copy: lwIP never arms its own TCP timer, the worker
 * calls tcp_tmr() every TCP_TMR_INTERVAL itself (over the whole virtualised pcb list).
 */
__attribute__((visibility("default"))) void tcp_timer_needed(void)
{
}

/**
 * lwip_standard_chksum - lwIP's one's-complement sum over a buffer, interposed into every copy
 * (the copies call it through their PLT): csum_partial() instead of lwIP's portable 16-bit loop,
 * for every segment verified on input and every header and segment summed on output.
 * @dataptr: bytes
 * @len:     how many
 *
 * Return: the folded sum, not complemented, in the byte order of the data (as lwIP's).
 */
__attribute__((visibility("default"))) u16_t lwip_standard_chksum(const void *dataptr, int len)
{
	return csum_fold(csum_partial(dataptr, len > 0 ? len : 0, 0));
}

/**
 * lwcopy_run_deferred - run the calling thread's deferred lwIP work (bounded: what was queued
 * when the call started, at most LWCOPY_DEFERRED_MAX items).
 *
 * Return: items run.
 */
unsigned int lwcopy_run_deferred(void)
{
	unsigned int i, n = lw_ndeferred;

	lw_ndeferred = 0;
	for (i = 0; i < n; i++)
		lw_deferred[i].fn(lw_deferred[i].ctx);
	return n;
}

static int lw_image_load(void)
{
	struct stat st;
	ssize_t got;
	size_t off = 0;
	int fd, ret = 0;

	pthread_mutex_lock(&lw_image.lock);
	if (lw_image.bytes)
		goto out;
	fd = open(LWCOPY_LIB, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		ret = -errno;
		pr_err("lwIP: %s: %s (install liblwip0)", LWCOPY_LIB, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	lw_image.bytes = malloc(st.st_size);
	if (!lw_image.bytes) {
		ret = -ENOMEM;
		close(fd);
		goto out;
	}
	while (off < (size_t)st.st_size) {
		got = read(fd, lw_image.bytes + off, st.st_size - off);
		if (got <= 0) {
			ret = got < 0 ? -errno : -EIO;
			free(lw_image.bytes);
			lw_image.bytes = NULL;
			close(fd);
			goto out;
		}
		off += got;
	}
	lw_image.len = off;
	close(fd);
out:
	pthread_mutex_unlock(&lw_image.lock);
	return ret;
}

static int lw_write_all(int fd)
{
	size_t off = 0;

	while (off < lw_image.len) {
		ssize_t n = write(fd, lw_image.bytes + off, lw_image.len - off);

		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		off += n;
	}
	return 0;
}

/* Write the image to a fresh file and dlopen it through /proc/self/fd. */
static int lw_load_from(struct lwcopy *c, int fd)
{
	char path[64];
	int ret;

	ret = lw_write_all(fd);
	if (ret) {
		close(fd);
		return ret;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	c->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!c->dl) {
		pr_debug("lwIP: dlopen %s: %s", path, dlerror());
		close(fd);
		return -ENOEXEC;
	}
	c->fd = fd;
	return 0;
}

static int lw_bind_symbols(struct lwcopy *c)
{
#define LWCOPY_SYM(name)                                                         \
	c->ops.name = (__typeof__(c->ops.name))dlsym(c->dl, #name);              \
	if (!c->ops.name) {                                                      \
		pr_err("lwIP: %s has no symbol %s", LWCOPY_LIB, #name);          \
		return -ENOENT;                                                  \
	}
	LWCOPY_FUNCS(LWCOPY_SYM)
	LWCOPY_DATA(LWCOPY_SYM)
#undef LWCOPY_SYM
	return 0;
}

/**
 * lwcopy_open - load a new, independent copy of lwIP and initialise it (lwip_init()).
 * @c:      filled on success
 * @tmpdir: directory for the O_TMPFILE fallback (e.g. the runtime directory), or NULL
 *
 * Return: 0, or a negative errno (logged); nothing stays loaded on failure.
 */
int lwcopy_open(struct lwcopy *c, const char *tmpdir)
{
	int fd, ret;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	ret = lw_image_load();
	if (ret)
		return ret;

	fd = memfd_create("liblwip", MFD_CLOEXEC | MFD_EXEC);
	if (fd < 0 && errno == EINVAL) /* kernels before 6.3 know no MFD_EXEC */
		fd = memfd_create("liblwip", MFD_CLOEXEC);
	ret = fd < 0 ? -errno : lw_load_from(c, fd);
	c->how = "memfd";
	if (ret && tmpdir) {
		fd = open(tmpdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0700);
		ret = fd < 0 ? -errno : lw_load_from(c, fd);
		c->how = "tmpfile";
	}
	if (ret) {
		pr_err("lwIP: cannot load a copy (memfd%s%s): %s", tmpdir ? " or O_TMPFILE in " : "",
		       tmpdir ? tmpdir : "", strerror(-ret));
		return ret;
	}
	ret = lw_bind_symbols(c);
	if (ret) {
		lwcopy_close(c);
		return ret;
	}
	/*
	 * lwip_init() allocates lwIP's own bookkeeping, which lwIP never frees (it has no deinit):
	 * once a copy is unloaded nothing points at it, and LeakSanitizer would call it ours.
	 */
	lsan_disable();
	c->ops.lwip_init();
	lsan_enable();
	return 0;
}

/**
 * lwcopy_check_timeouts - run the copy's due lwIP timeouts (sys_check_timeouts()).
 * @c: copy
 *
 * A cyclic timeout re-arms itself with a fresh allocation on a list that lives in the copy: when
 * the copy is unloaded the list goes with it, so LeakSanitizer does not count those allocations.
 */
void lwcopy_check_timeouts(struct lwcopy *c)
{
	lsan_disable();
	c->ops.sys_check_timeouts();
	lsan_enable();
}

/**
 * lwcopy_close - unload a copy.  Every pcb and pbuf of it must be gone.
 * @c: copy; safe on one that failed to open
 */
void lwcopy_close(struct lwcopy *c)
{
	if (c->dl)
		dlclose(c->dl);
	if (c->fd >= 0)
		close(c->fd);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}
