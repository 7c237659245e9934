/*
 * Regression driver for the fuzz targets when libFuzzer is not used (gcc, or
 * -DC2C_FUZZ=OFF): runs LLVMFuzzerTestOneInput once over each file named on
 * the command line, and over every regular file of each directory named
 * (not recursive; hidden files skipped), in name order. This is how the
 * committed corpora run as ordinary CTest tests, under any sanitizer.
 *
 * --mutate N (house style §4.6 item 5, libarchive test_fuzz.c): after each
 * input, also run N copies of it with bytes overwritten from a fixed-seed
 * generator (every other copy about 1% of the bytes, the others 1 to 4
 * bytes): cheap, deterministic, no clang needed. A failing copy is written to $TMPDIR/mutated-<input>-<n> first, so
 * it can be replayed and added to the corpus.
 *
 * Exit 0 when every input ran; a crash, a sanitizer report or an abort in
 * the target ends the process as it would under libFuzzer.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz-util.h"

static unsigned long mutations;

/* xorshift64*: the same sequence on every machine. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static uint64_t hash_name(const char *path)
{
	const char *base = strrchr(path, '/');
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a of the file name */

	for (const char *p = base ? base + 1 : path; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	return h;
}

static void run_mutated(const char *path, const uint8_t *orig, size_t n)
{
	uint8_t *buf;
	char keep[4096];
	const char *base = strrchr(path, '/');
	const char *tmp = getenv("TMPDIR");

	if (!n || !(buf = malloc(n)))
		return;
	base = base ? base + 1 : path;
	for (unsigned long i = 0; i < mutations; i++) {
		uint64_t s = hash_name(path) ^ (0x9E3779B97F4A7C15ULL * (i + 1));
		/*
		 * Even copies: about 1% of the bytes; odd ones: 1 to 4 bytes, which
		 * often get past the first image of a structured input.
		 */
		size_t flips = i % 2 ? 1 + (i / 2) % 4 : (n / 100 ? n / 100 : 1);
		FILE *f;

		memcpy(buf, orig, n);
		for (size_t k = 0; k < flips; k++) {
			uint64_t v = rng_next(&s);

			buf[v % n] = (uint8_t)(v >> 56);
		}
		/* Keep the input on disk while it runs: a crash leaves it behind. */
		snprintf(keep, sizeof(keep), "%s/mutated-%s-%lu", tmp && *tmp ? tmp : "/tmp", base, i);
		f = fopen(keep, "wb");
		if (f) {
			fwrite(buf, 1, n, f);
			fclose(f);
		}
		LLVMFuzzerTestOneInput(buf, n);
		if (f)
			(void)unlink(keep);
	}
	free(buf);
}

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f) {
		fprintf(stderr, "driver: cannot open '%s': %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		size_t k;

		if (n == cap) {
			uint8_t *b = realloc(buf, cap ? cap * 2 : 65536);

			if (!b) {
				fprintf(stderr, "driver: out of memory reading '%s'\n", path);
				free(buf);
				fclose(f);
				return -1;
			}
			buf = b;
			cap = cap ? cap * 2 : 65536;
		}
		k = fread(buf + n, 1, cap - n, f);
		n += k;
		if (k == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "driver: cannot read '%s'\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	/* An exact-size copy, so that ASan sees reads past the end of the input. */
	{
		uint8_t *exact = malloc(n ? n : 1);

		if (!exact) {
			free(buf);
			return -1;
		}
		memcpy(exact, buf, n);
		free(buf);
		fprintf(stderr, "driver: %s (%zu bytes)\n", path, n);
		LLVMFuzzerTestOneInput(exact, n);
		if (mutations)
			run_mutated(path, exact, n);
		free(exact);
	}
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, size_t *count)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int r = 0;

	if (!d) {
		fprintf(stderr, "driver: cannot open directory '%s': %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **v = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*v));

			if (!v) {
				r = -1;
				break;
			}
			names = v;
		}
		if (!(names[n] = malloc(strlen(dir) + strlen(de->d_name) + 2))) {
			r = -1;
			break;
		}
		sprintf(names[n], "%s/%s", dir, de->d_name);
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		struct stat st;

		if (r == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
			if (run_file(names[i]) < 0)
				r = -1;
			else
				(*count)++;
		}
		free(names[i]);
	}
	free(names);
	return r;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int bad = 0;

	int first = 1;

	if (argc > 2 && !strcmp(argv[1], "--mutate")) {
		mutations = strtoul(argv[2], NULL, 10);
		first = 3;
	}
	if (argc <= first) {
		fprintf(stderr, "usage: %s [--mutate N] FILE|DIR...\n", argv[0]);
		return 64;
	}
	for (int i = first; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "driver: '%s': %s\n", argv[i], strerror(errno));
			bad = 1;
		} else if (S_ISDIR(st.st_mode)) {
			if (run_dir(argv[i], &count) < 0)
				bad = 1;
		} else if (run_file(argv[i]) < 0) {
			bad = 1;
		} else {
			count++;
		}
	}
	fprintf(stderr, "driver: %zu inputs ran, %lu mutated copies of each\n", count, mutations);
	if (count == 0) {
		fprintf(stderr, "driver: no input found\n");
		bad = 1;
	}
	return bad;
}
