// SPDX-License-Identifier: GPL-2.0
/*
 * config_fuzz.c - libFuzzer target: ixdpd's INI reader and key parsers on arbitrary file
 * contents.  Whatever the file says, the reader returns 0 or an error naming what was wrong,
 * and a configuration it accepts passes or fails cfg_validate() cleanly.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ixdp_config c;
	char path[64], err[768];
	int fd, ret;

	fd = memfd_create("ixdpd.conf", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	cfg_defaults(&c);
	err[0] = '\0';
	ret = cfg_load_file(&c, path, err, sizeof(err));
	assert(ret == 0 || (ret == -EINVAL && err[0]));
	if (!ret) {
		ret = cfg_validate(&c, err, sizeof(err));
		assert(ret == 0 || (ret == -EINVAL && strchr(err, ':')));
		assert(c.workers >= 1 && c.workers <= IXDP_WORKERS_MAX);
		assert(c.nr_cpus <= IXDP_WORKERS_MAX);
		assert(memchr(c.interface, '\0', sizeof(c.interface)));
		assert(memchr(c.control, '\0', sizeof(c.control)));
		assert(c.app_ports.n <= PORTS_RANGES_MAX);
		for (unsigned int i = 0; i < c.app_ports.n; i++)
			assert(c.app_ports.r[i].lo >= 1 && c.app_ports.r[i].lo <= c.app_ports.r[i].hi);
		if (!ret)
			for (unsigned int i = 0; i < c.app_ports.n; i++)
				assert(c.app_ports.r[i].lo >= 1024);
	}
	close(fd);
	return 0;
}
