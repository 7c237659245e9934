/*
 * Fuzz target: the public entry point for a checkpoint archive held in
 * memory, c2c_convert_archive_memory(): libarchive's format and compression
 * detection (tar; gzip, zstd, xz, bzip2, ...), member names, links and sizes
 * (arcsource.c), then the whole conversion into a private scratch directory.
 *
 * Besides "no crash, no leak", the output contract is checked: after a
 * failure the directory is empty (no temporary, no partial core); after a
 * success it holds only core.<pid> files, as many as reported.
 *
 * Seeds: tars of the smaller fixtures in the CRI-O layout (checkpoint/...),
 * plain and compressed (tests/fuzz/mkcorpus.py).
 */
#include <dirent.h>
#include <stdint.h>
#include <string.h>

#include "fuzz-util.h"

static void check_outdir(const char *dir, int r)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	FUZZ_CHECK(d);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (r < 0) {
			fprintf(stderr, "left behind after a failure: %s\n", de->d_name);
			FUZZ_CHECK(!"output directory not empty after a failure");
		}
		FUZZ_CHECK(!strncmp(de->d_name, "core.", 5));
		n++;
	}
	closedir(d);
	FUZZ_CHECK(r < 0 || n == r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *dir = fuzz_tmpdir();
	struct c2c_ctx *ctx = c2c_ctx_new();
	int r;

	if (!ctx)
		return 0;
	c2c_ctx_set_flags(ctx, C2C_FLAG_FORCE);
	r = c2c_convert_archive_memory(ctx, data, size, dir);
	fuzz_report(ctx, "convert", r);
	if (r < 0)
		FUZZ_CHECK(c2c_errcode(ctx) == r && c2c_errmsg(ctx)[0]);
	check_outdir(dir, r);
	c2c_ctx_free(ctx);
	fuzz_tmpdir_clean();
	return 0;
}
