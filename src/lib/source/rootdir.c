/*
 * Stage 1: the root directory of --root, which holds the files the
 * checkpointed processes had mapped (a container's rootfs, or / for a host
 * process). A path the process saw is resolved inside the root and never
 * leaves it: openat2(RESOLVE_IN_ROOT), or the same walk done by hand where
 * the kernel lacks it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "source.h"
#include "util.h"

int c2c_root_open(struct c2c_ctx *ctx, const char *path, int *ret_fd)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return c2c_fail(ctx, &C2C_LOC_FILE(path), errno == ENOENT ? C2C_E_MISSING : C2C_E_IO,
				"cannot open root directory%s%s", errno == ENOENT ? ": " : "",
				errno == ENOENT ? strerror(errno) : "");
	*ret_fd = fd;
	return 0;
}

/*
 * What RESOLVE_IN_ROOT does, one component at a time, for systems without
 * openat2: ".." never climbs above the root, and symlinks (absolute ones
 * from the root) are expanded in place, at most 40 of them. Returns an fd of
 * the regular file opened read-only, or -1 with errno set.
 */
#define ROOT_MAX_LINKS 40
#define ROOT_MAX_DEPTH 256

static int open_in_root_slow(int rootfd, const char *path)
{
	int stack[ROOT_MAX_DEPTH], depth = 0, links = 0, fd = -1;
	char *rest = NULL, *work;
	size_t len = strlen(path);

	if (len >= 4096 || !(rest = malloc(8192)))
		return errno = ENAMETOOLONG, -1;
	memcpy(rest, path, len + 1);
	stack[0] = rootfd;
	work = rest;
	for (;;) {
		char comp[256], target[4096];
		const char *slash;
		size_t n;
		ssize_t tl;
		int next;

		while (*work == '/')
			work++;
		if (!*work) {
			errno = EISDIR; /* the path named a directory */
			break;
		}
		slash = strchr(work, '/');
		n = slash ? (size_t)(slash - work) : strlen(work);
		if (n >= sizeof(comp)) {
			errno = ENAMETOOLONG;
			break;
		}
		memcpy(comp, work, n);
		comp[n] = '\0';
		work += n;
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			if (depth > 0)
				close(stack[depth--]);
			continue;
		}
		tl = readlinkat(stack[depth], comp, target, sizeof(target) - 1);
		if (tl >= 0) {
			size_t restlen = strlen(work);

			if (++links > ROOT_MAX_LINKS || (size_t)tl + restlen + 2 > 8192) {
				errno = ELOOP;
				break;
			}
			target[tl] = '\0';
			/* Splice the target in front of what is left of the path ("" or "/..."). */
			memmove(rest + tl, work, restlen + 1);
			memcpy(rest, target, (size_t)tl);
			work = rest;
			if (target[0] == '/')
				while (depth > 0)
					close(stack[depth--]);
			continue;
		}
		if (!*work) {
			fd = openat(stack[depth], comp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
			break;
		}
		next = openat(stack[depth], comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			break;
		if (depth + 1 >= ROOT_MAX_DEPTH) {
			close(next);
			errno = ENAMETOOLONG;
			break;
		}
		stack[++depth] = next;
	}
	{
		int saved = errno;

		while (depth > 0)
			close(stack[depth--]);
		free(rest);
		errno = saved;
	}
	return fd;
}

int c2c_root_open_file(struct c2c_ctx *ctx, int rootfd, const char *root, const char *path,
		       struct c2c_blob *ret)
{
	/*
	 * RESOLVE_IN_ROOT makes the root the process's "/" for this lookup:
	 * "..", absolute paths and symlinks cannot leave it (openat2(2), Linux
	 * 5.6). Magic links (/proc/self/...) are refused outright.
	 */
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	struct c2c_blob b = C2C_BLOB_INIT;
	struct stat st;
	int fd;

	fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	if (fd < 0 && (errno == ENOSYS || errno == EPERM))
		fd = open_in_root_slow(rootfd, path); /* old kernel, seccomp, valgrind */
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP || errno == EXDEV)
			return 1;
		return c2c_fail(ctx, &C2C_LOC_FILE(root), C2C_E_IO, "cannot open '%s' in the root",
				path);
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return 1;
	}
	b.path = c2c_asprintf("%s%s%s", root, path[0] == '/' ? "" : "/", path);
	if (!b.path) {
		close(fd);
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	}
	b.fd = fd;
	b.size = (uint64_t)st.st_size;
	*ret = b;
	return 0;
}
