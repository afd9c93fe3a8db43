// SPDX-License-Identifier: BSD-2-Clause
/*
 * fd.c - which fds are the shim's: a two-level table indexed by fd number.
 *
 * Every call the shim interposes looks its fd up here first, without the lock: an entry is one
 * word (the object's address with its kind in the low bits), written under shim.lock and read
 * with an atomic load.  A chunk of SHIM_FD_CHUNK entries is made on the first fd in its range
 * and never freed, so a reader never sees one go.
 */
#include <errno.h>
#include <stdlib.h>

#include "shim.h"

#define SHIM_FD_CHUNK 1024u
#define SHIM_FD_CHUNKS 4096u		/* fds up to 4 M */
#define SHIM_FD_KIND_MASK 3u

static uintptr_t *shim_fd_chunks[SHIM_FD_CHUNKS];

static uintptr_t *shim_fd_slot(int fd, bool make)
{
	unsigned int c = (unsigned int)fd / SHIM_FD_CHUNK;
	uintptr_t *chunk;

	if (fd < 0 || c >= SHIM_FD_CHUNKS)
		return NULL;
	chunk = __atomic_load_n(&shim_fd_chunks[c], __ATOMIC_ACQUIRE);
	if (!chunk && make) {
		chunk = calloc(SHIM_FD_CHUNK, sizeof(*chunk));
		if (!chunk)
			return NULL;
		__atomic_store_n(&shim_fd_chunks[c], chunk, __ATOMIC_RELEASE);
	}
	return chunk ? &chunk[(unsigned int)fd % SHIM_FD_CHUNK] : NULL;
}

/**
 * shim_fd_get - the shim's object for @fd, if it is one of @kind.
 * @fd:   any fd
 * @kind: SHIM_FD_SOCK or SHIM_FD_EPOLL
 *
 * Return: the object, or NULL (libc's fd, or another kind).
 */
void *shim_fd_get(int fd, enum shim_kind kind)
{
	uintptr_t *slot = shim_fd_slot(fd, false);
	uintptr_t v = slot ? __atomic_load_n(slot, __ATOMIC_ACQUIRE) : 0;

	if ((v & SHIM_FD_KIND_MASK) != kind)
		return NULL;
	return (void *)(v & ~(uintptr_t)SHIM_FD_KIND_MASK);
}

/**
 * shim_fd_set - @fd names @obj from now on (under shim.lock).
 * @fd:   a real fd the shim owns the meaning of
 * @kind: its kind
 * @obj:  the object (aligned to 4 at least)
 *
 * Return: 0, -EBADF (out of the table's range), -ENOMEM.
 */
int shim_fd_set(int fd, enum shim_kind kind, void *obj)
{
	uintptr_t *slot;

	if (fd < 0 || (unsigned int)fd / SHIM_FD_CHUNK >= SHIM_FD_CHUNKS)
		return -EBADF;
	slot = shim_fd_slot(fd, true);
	if (!slot)
		return -ENOMEM;
	__atomic_store_n(slot, (uintptr_t)obj | kind, __ATOMIC_RELEASE);
	return 0;
}

/**
 * shim_fd_clear - @fd is libc's again (under shim.lock).
 * @fd: the fd
 */
void shim_fd_clear(int fd)
{
	uintptr_t *slot = shim_fd_slot(fd, false);

	if (slot)
		__atomic_store_n(slot, 0, __ATOMIC_RELEASE);
}

/**
 * shim_fd_fork - in a fork child: the parent's ixdp sockets are not the child's to serve.
 * @keep_sock: called for each fd naming an ixdp socket: true keeps it one (a listener)
 * @on_epoll:  called for each epoll set the child inherited
 *
 * The fds of the others stay open and become libc's: a connection's fd is its unconnected
 * sentinel dup (reads and writes fail with ENOTCONN at once), and a close drops only the
 * child's fd.
 */
void shim_fd_fork(bool (*keep_sock)(void *s), void (*on_epoll)(void *ep))
{
	unsigned int c, i;

	for (c = 0; c < SHIM_FD_CHUNKS; c++) {
		uintptr_t *chunk = shim_fd_chunks[c];

		for (i = 0; chunk && i < SHIM_FD_CHUNK; i++) {
			void *p = (void *)(chunk[i] & ~(uintptr_t)SHIM_FD_KIND_MASK);

			if ((chunk[i] & SHIM_FD_KIND_MASK) == SHIM_FD_SOCK && !keep_sock(p))
				chunk[i] = 0;
			else if ((chunk[i] & SHIM_FD_KIND_MASK) == SHIM_FD_EPOLL)
				on_epoll(p);
		}
	}
}

/**
 * shim_fd_each - call @fn for every fd in [@first, @last] the table names something for.
 * @first: lowest fd
 * @last:  highest fd (may be far above any open one: only the table's chunks are walked)
 * @fn:    called with each such fd
 */
void shim_fd_each(unsigned int first, unsigned int last, void (*fn)(int fd))
{
	unsigned int c, i, end = last / SHIM_FD_CHUNK;

	for (c = first / SHIM_FD_CHUNK; c <= end && c < SHIM_FD_CHUNKS; c++) {
		uintptr_t *chunk = __atomic_load_n(&shim_fd_chunks[c], __ATOMIC_ACQUIRE);

		for (i = 0; chunk && i < SHIM_FD_CHUNK; i++) {
			unsigned int fd = c * SHIM_FD_CHUNK + i;

			if (fd >= first && fd <= last && __atomic_load_n(&chunk[i], __ATOMIC_ACQUIRE))
				fn((int)fd);
		}
	}
}
