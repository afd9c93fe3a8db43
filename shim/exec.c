// SPDX-License-Identifier: BSD-2-Clause
/*
 * exec.c - the exec family and posix_spawn keep the preload: the new image is served by the
 * shim again even when the app hands it an environment without LD_PRELOAD or the IXDP_*
 * settings (a daemon that cleans its environment, a supervisor with a fixed one for its
 * children).
 *
 * What is put back is what this process started with (shim_exec_init(), from the constructor):
 * each of shim_exec_vars that the new environment lacks is added with its starting value, and
 * an LD_PRELOAD of the app's own that no longer names the shim gets the starting one in front.
 * Values the new environment sets itself are kept.  The ixdp sockets themselves do not cross
 * an exec: one without CLOEXEC stays open in the new image as the kernel socket under it,
 * which the new image's shim does not know (docs/shim.md).
 */
#include <errno.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

extern char **environ;

static const char *const shim_exec_vars[] = {
	"LD_PRELOAD", "IXDP_CONTROL", "IXDP_DEBUG", "IXDP_FALLBACK", "IXDP_SPIN_US",
	"IXDP_CONTEXTS",
	"ASAN_OPTIONS",		/* a sanitized shim's runtime needs its options too */
};
#define SHIM_EXEC_NVARS (sizeof(shim_exec_vars) / sizeof(shim_exec_vars[0]))
#define SHIM_EXEC_ARGS_MAX 4096	/* execl*(): arguments before the NULL */

static char *shim_exec_start[SHIM_EXEC_NVARS];	/* "NAME=value" at start, or NULL */

/**
 * shim_exec_init - remember the settings this process started with (constructor).
 */
void shim_exec_init(void)
{
	size_t i;

	for (i = 0; i < SHIM_EXEC_NVARS; i++) {
		const char *v = getenv(shim_exec_vars[i]);
		size_t n = strlen(shim_exec_vars[i]);
		char *e;

		if (!v)
			continue;
		e = malloc(n + strlen(v) + 2);
		if (!e)
			continue;	/* that one is not put back */
		memcpy(e, shim_exec_vars[i], n);
		e[n] = '=';
		strcpy(e + n + 1, v);
		shim_exec_start[i] = e;
	}
}

/* The entry of @envp for "NAME=" (@n = strlen(NAME) + 1), or NULL. */
static char *const *shim_env_find(char *const *envp, const char *name_eq, size_t n)
{
	for (; envp && *envp; envp++)
		if (!strncmp(*envp, name_eq, n))
			return envp;
	return NULL;
}

/*
 * @envp with the starting settings put back, in *@out (malloc'd, with *@extra: an LD_PRELOAD
 * string made here, or NULL); *@out is @envp itself when nothing is missing.
 * Return: 0 or -ENOMEM.
 */
static int shim_env_fix(char *const *envp, char ***out, char **extra)
{
	size_t n = 0, k = 0, i;
	char **env;

	*extra = NULL;
	*out = (char **)envp;
	while (envp && envp[n])
		n++;
	env = malloc((n + SHIM_EXEC_NVARS + 1) * sizeof(*env));
	if (!env)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		env[k++] = envp[i];
	env[k] = NULL;		/* kept terminated: shim_env_find() walks it */
	for (i = 0; i < SHIM_EXEC_NVARS; i++) {
		const char *start = shim_exec_start[i];
		size_t len = strlen(shim_exec_vars[i]) + 1;
		char *const *have;

		if (!start)
			continue;
		have = shim_env_find(env, start, len);
		if (!have) {
			env[k++] = (char *)start;
			env[k] = NULL;
		} else if (i == 0 && !strstr(*have + len, "libix-preload")) {
			/* LD_PRELOAD of its own without us: ours first, then its */
			char *p = malloc(strlen(start) + strlen(*have + len) + 2);

			if (!p) {
				free(env);
				return -ENOMEM;
			}
			strcpy(p, start);
			if ((*have)[len]) {
				strcat(p, ":");
				strcat(p, *have + len);
			}
			env[have - env] = p;
			*extra = p;
		}
	}
	if (k == n && !*extra) {
		free(env);
		return 0;
	}
	*out = env;
	return 0;
}

static void shim_env_free(char **env, char *const *envp, char *extra)
{
	if ((char *const *)env != envp)
		free(env);
	free(extra);
}

enum shim_exec_how { SHIM_EXECVE, SHIM_EXECVPE, SHIM_FEXECVE };

/* The exec @how with @envp's starting settings put back; errno as the exec left it. */
static int shim_exec(enum shim_exec_how how, const char *path, int fd, char *const argv[],
		     char *const envp[])
{
	char **env, *extra;
	int ret, err;

	if (shim_env_fix(envp, &env, &extra))
		env = (char **)envp, extra = NULL;	/* as it was: better than not at all */
	if (how == SHIM_EXECVE)
		ret = SHIM_LIBC(execve)(path, argv, env);
	else if (how == SHIM_EXECVPE)
		ret = SHIM_LIBC(execvpe)(path, argv, env);
	else
		ret = SHIM_LIBC(fexecve)(fd, argv, env);
	err = errno;
	shim_env_free(env, envp, extra);
	errno = err;
	return ret;
}

SHIM_API int execve(const char *path, char *const argv[], char *const envp[])
{
	return shim_exec(SHIM_EXECVE, path, -1, argv, envp);
}

SHIM_API int execvpe(const char *file, char *const argv[], char *const envp[])
{
	return shim_exec(SHIM_EXECVPE, file, -1, argv, envp);
}

SHIM_API int fexecve(int fd, char *const argv[], char *const envp[])
{
	return shim_exec(SHIM_FEXECVE, NULL, fd, argv, envp);
}

SHIM_API int execv(const char *path, char *const argv[])
{
	return shim_exec(SHIM_EXECVE, path, -1, argv, environ);
}

SHIM_API int execvp(const char *file, char *const argv[])
{
	return shim_exec(SHIM_EXECVPE, file, -1, argv, environ);
}

/*
 * execl*(): the arguments from @arg0 to the NULL (and, with @has_envp, the environment after
 * it: execle) into an argv, then the exec @how.
 */
static int shim_execl(enum shim_exec_how how, const char *path, const char *arg0, va_list ap,
		      bool has_envp)
{
	char **argv = malloc(SHIM_EXEC_ARGS_MAX * sizeof(*argv)), **envp = environ;
	size_t n = 0;
	int ret, err;

	if (!argv) {
		errno = ENOMEM;
		return -1;
	}
	argv[n++] = (char *)arg0;
	while (arg0 && (argv[n] = va_arg(ap, char *))) {
		if (++n == SHIM_EXEC_ARGS_MAX) {
			free(argv);
			errno = E2BIG;
			return -1;
		}
	}
	if (!arg0)
		argv[0] = NULL;
	if (has_envp)
		envp = va_arg(ap, char **);
	ret = shim_exec(how, path, -1, argv, envp);
	err = errno;
	free(argv);
	errno = err;
	return ret;
}

SHIM_API int execl(const char *path, const char *arg0, ...)
{
	va_list ap;
	int ret;

	va_start(ap, arg0);
	ret = shim_execl(SHIM_EXECVE, path, arg0, ap, false);
	va_end(ap);
	return ret;
}

SHIM_API int execlp(const char *file, const char *arg0, ...)
{
	va_list ap;
	int ret;

	va_start(ap, arg0);
	ret = shim_execl(SHIM_EXECVPE, file, arg0, ap, false);
	va_end(ap);
	return ret;
}

SHIM_API int execle(const char *path, const char *arg0, ...)
{
	va_list ap;
	int ret;

	va_start(ap, arg0);
	ret = shim_execl(SHIM_EXECVE, path, arg0, ap, true);
	va_end(ap);
	return ret;
}

/* posix_spawn(p) with @envp's starting settings put back (@search: posix_spawnp). */
static int shim_spawn(bool search, pid_t *pid, const char *path,
		      const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
		      char *const argv[], char *const envp[])
{
	char **env, *extra;
	int ret;

	if (shim_env_fix(envp, &env, &extra))
		env = (char **)envp, extra = NULL;
	ret = search ? SHIM_LIBC(posix_spawnp)(pid, path, fa, attr, argv, env) :
		       SHIM_LIBC(posix_spawn)(pid, path, fa, attr, argv, env);
	shim_env_free(env, envp, extra);
	return ret;
}

SHIM_API int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			 const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return shim_spawn(false, pid, path, fa, attr, argv, envp);
}

SHIM_API int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			  const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return shim_spawn(true, pid, file, fa, attr, argv, envp);
}
