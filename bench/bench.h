/* SPDX-License-Identifier: GPL-2.0 */
/* bench.h - what the benchmark programs share: CPU accounting, pinning, signals, options. */
/*
 * Each bench/NAME.c is a program of its own, built from that one file, so what they share lives
 * here as static (inline) functions.  The CPU accounting is the benchmarks' yardstick: the
 * programs that load a system (rr_client, xdpgen) sample it at exactly their window's edges,
 * because on veth the kernel bills each side's receive work to the sending CPU and neither
 * side's own time alone says what the work cost.
 */
#ifndef IXDP_BENCH_H
#define IXDP_BENCH_H

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <linux/types.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/clock.h"

/* Set by on_signal() (SIGINT, SIGTERM): every loop of these programs ends on it. */
static volatile sig_atomic_t stop __attribute__((unused)); /* a program may stop otherwise */

static inline void on_signal(int sig)
{
	stop = 1;
}

/* What the CPUs had done at one edge of a measured window; a window is two samples apart. */
struct cpu_sample {
	__u64 mono_ns;
	__u64 vm_busy_ns;	/* all CPUs: user + nice + system + irq + softirq */
	__u64 peer_idle_ns;	/* the peer's CPU: idle (tells a peer that sleeps from a starved one) */
	__u64 self_ns;		/* this process: shows when the load itself was starved */
	__u64 extra_ns;		/* more threads the caller names (rr_client: the ksoftirqds) */
	__u64 peer_ns;		/* the peer process (the server, the reflector), all its threads */
};

/*
 * Whole-VM busy time (user + nice + system + irq + softirq of the "cpu" line) and, when @cpu >= 0,
 * the idle time of that CPU, from /proc/stat.  USER_HZ ticks, tick-sampled: meaningful only over
 * seconds and when busy.
 */
static inline int proc_stat(int cpu, __u64 *vm_busy_ns, __u64 *cpu_idle_ns)
{
	unsigned long long user, nice, sys, idle, iowait, irq, softirq;
	long hz = sysconf(_SC_CLK_TCK);
	char line[512], want[16];
	int found = 0;
	FILE *f;

	if (hz <= 0)
		return -EIO;
	f = fopen("/proc/stat", "r");
	if (!f)
		return -errno;
	snprintf(want, sizeof(want), "cpu%d", cpu);
	*cpu_idle_ns = 0;
	while (fgets(line, sizeof(line), f) && !strncmp(line, "cpu", 3)) {
		char name[16];

		if (sscanf(line, "%15s %llu %llu %llu %llu %llu %llu %llu", name, &user, &nice,
			   &sys, &idle, &iowait, &irq, &softirq) != 8)
			continue;
		if (!strcmp(name, "cpu")) {
			*vm_busy_ns = (user + nice + sys + irq + softirq) * (1000000000ull / hz);
			found = 1;
		} else if (cpu >= 0 && !strcmp(name, want)) {
			*cpu_idle_ns = (idle + iowait) * (1000000000ull / hz);
		}
	}
	fclose(f);
	return found ? 0 : -EIO;
}

/*
 * Scheduler runtime of every thread of @pid (first field of /proc/PID/task/TID/schedstat, ns):
 * precise, unlike utime/stime, and it includes the softirq work done in the task's context.
 */
static inline int proc_runtime_ns(int pid, __u64 *ns)
{
	char path[64];
	struct dirent *de;
	DIR *dir;
	__u64 sum = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		unsigned long long run;
		char file[sizeof(path) + sizeof(de->d_name) + 16];
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s/schedstat", path, de->d_name);
		f = fopen(file, "r");
		if (!f)
			continue; /* the thread exited since readdir */
		if (fscanf(f, "%llu", &run) == 1)
			sum += run;
		fclose(f);
	}
	closedir(dir);
	*ns = sum;
	return 0;
}

/**
 * cpu_sample - sample the CPUs at one edge of the window.
 * @s:        out
 * @peer_pid: the process under load, whose runtime to sample (<= 0: none)
 * @peer_cpu: its CPU, whose idle time to sample (< 0: none)
 * @extra:    more threads whose runtime is summed into extra_ns (one that is gone counts 0)
 * @nr_extra: how many
 *
 * Return: 0, or a negative errno when /proc/stat, this process's or the peer's runtime could
 * not be read.
 */
static inline int cpu_sample(struct cpu_sample *s, int peer_pid, int peer_cpu, const int *extra,
			     unsigned int nr_extra)
{
	unsigned int i;
	__u64 ns;
	int ret;

	s->mono_ns = clock_now_ns();
	ret = proc_stat(peer_cpu, &s->vm_busy_ns, &s->peer_idle_ns);
	if (ret)
		return ret;
	ret = proc_runtime_ns(getpid(), &s->self_ns);
	if (ret)
		return ret;
	s->extra_ns = 0;
	for (i = 0; i < nr_extra; i++)
		if (!proc_runtime_ns(extra[i], &ns))
			s->extra_ns += ns;
	s->peer_ns = 0;
	if (peer_pid > 0)
		return proc_runtime_ns(peer_pid, &s->peer_ns);
	return 0;
}

/* Pin the calling thread to @cpu; 0 or a negative errno. */
static inline int pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -errno;
	return 0;
}

/*
 * RLIMIT_NOFILE up to its hard limit: every connection is an fd, and without CAP_SYS_RESOURCE
 * the hard limit is all there is.  @rl: in, the limits getrlimit() read; out, those in force.
 * Return: 0, or the negative errno of setrlimit() (@rl unchanged then).
 */
static inline int raise_nofile(struct rlimit *rl)
{
	struct rlimit want = { .rlim_cur = rl->rlim_max, .rlim_max = rl->rlim_max };

	if (rl->rlim_cur >= rl->rlim_max)
		return 0;
	if (setrlimit(RLIMIT_NOFILE, &want))
		return -errno;
	*rl = want;
	return 0;
}

/* A decimal option value in [@lo, @hi] into @v; 0, or -1 when it is not one. */
static inline int num_opt(const char *s, long lo, long hi, long *v)
{
	char *end;

	*v = strtol(s, &end, 10);
	return (end == s || *end || *v < lo || *v > hi) ? -1 : 0;
}

/* The TCP service echo_server serves and rr_client loads: 198.18.0.1:7000 unless -a or -p. */
static inline void service_init(struct sockaddr_in *a)
{
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons(7000);
	inet_pton(AF_INET, "198.18.0.1", &a->sin_addr);
}

/* -p PORT of the service; 0, or -1 when @s is not a port. */
static inline int port_opt(const char *s, struct sockaddr_in *a)
{
	long v;

	if (num_opt(s, 1, 65535, &v))
		return -1;
	a->sin_port = htons((__u16)v);
	return 0;
}

/* $BUILD/bench/@name (BUILD defaults to build): where make put the BPF object @name. */
static inline const char *build_path(const char *name)
{
	static char path[512];
	const char *build = getenv("BUILD");

	snprintf(path, sizeof(path), "%s/bench/%s", build ? build : "build", name);
	return path;
}

#endif /* IXDP_BENCH_H */
