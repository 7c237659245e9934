/*
 * Helpers shared by the fuzz targets (header only: each target is one
 * translation unit holding LLVMFuzzerTestOneInput, linked either with
 * libFuzzer or with driver.c).
 */
#ifndef C2C_FUZZ_UTIL_H
#define C2C_FUZZ_UTIL_H

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt2core/ckpt2core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the library's output does not hold: report it as a crash. */
#define FUZZ_CHECK(cond)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                    \
			abort();                                                           \
		}                                                                          \
	} while (0)

static inline uint32_t fuzz_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* C2C_FUZZ_DEBUG=1: say how each input ended (to check what seeds reach). */
static inline void fuzz_report(struct c2c_ctx *ctx, const char *stage, int r)
{
	static int debug = -1;

	if (debug < 0)
		debug = getenv("C2C_FUZZ_DEBUG") != NULL;
	if (debug)
		fprintf(stderr, "fuzz: %s: %d %s\n", stage, r, r < 0 ? c2c_errmsg(ctx) : "");
}

static char fuzz_dir_path[4096];

/* Remove every entry of the scratch directory (cores are plain files). */
static inline void fuzz_tmpdir_clean(void)
{
	DIR *d;
	struct dirent *de;
	int dfd;

	if (!fuzz_dir_path[0] || !(d = opendir(fuzz_dir_path)))
		return;
	dfd = dirfd(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			(void)unlinkat(dfd, de->d_name, 0);
	closedir(d);
}

static inline void fuzz_tmpdir_remove(void)
{
	fuzz_tmpdir_clean();
	if (fuzz_dir_path[0])
		(void)rmdir(fuzz_dir_path);
}

/*
 * A private scratch directory for the outputs of this process, made once and
 * removed at exit. $TMPDIR (default /tmp) says where.
 */
static inline const char *fuzz_tmpdir(void)
{
	if (!fuzz_dir_path[0]) {
		const char *t = getenv("TMPDIR");

		snprintf(fuzz_dir_path, sizeof(fuzz_dir_path), "%s/c2c-fuzz-XXXXXX",
			 t && *t ? t : "/tmp");
		if (!mkdtemp(fuzz_dir_path)) {
			perror("mkdtemp");
			abort();
		}
		atexit(fuzz_tmpdir_remove);
	}
	return fuzz_dir_path;
}

#endif /* C2C_FUZZ_UTIL_H */
