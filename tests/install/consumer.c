/*
 * A program outside the project, built against the *installed* libckpt2core
 * with `pkg-config --cflags --libs ckpt2core` (tests/install/install_check.py):
 * only the public header and the exported API are available to it.
 *
 * consumer IMAGES OUTDIR PID: convert process PID of the CRIU image directory
 * IMAGES into OUTDIR/core.PID through the API, then check that the core starts
 * with an x86_64 ELF ET_CORE header. Exit 0 when everything holds.
 */
#include <ckpt2core/ckpt2core.h>

#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK(cond, ...)                                               \
	do {                                                           \
		if (!(cond)) {                                         \
			fprintf(stderr, "consumer: FAIL: %s: ", #cond); \
			fprintf(stderr, __VA_ARGS__);                  \
			fputc('\n', stderr);                           \
			failures++;                                    \
		}                                                      \
	} while (0)

static void log_cb(void *userdata, enum c2c_log_level level, const char *msg)
{
	unsigned *count = userdata;

	(*count)++;
	fprintf(stderr, "consumer: library [%d]: %s\n", (int)level, msg);
}

int main(int argc, char **argv)
{
	char want_version[32], path[4096];
	unsigned messages = 0;
	struct c2c_ctx *ctx;
	Elf64_Ehdr eh;
	unsigned long pid;
	FILE *f;
	int r;

	if (argc != 4) {
		fprintf(stderr, "usage: consumer IMAGES OUTDIR PID\n");
		return 64;
	}
	pid = strtoul(argv[3], NULL, 10);

	snprintf(want_version, sizeof(want_version), "%d.%d.%d", C2C_VERSION_MAJOR,
		 C2C_VERSION_MINOR, C2C_VERSION_PATCH);
	CHECK(strcmp(c2c_version(), want_version) == 0, "library %s, header %s",
	      c2c_version(), want_version);

	ctx = c2c_ctx_new();
	if (!ctx) {
		fprintf(stderr, "consumer: c2c_ctx_new failed\n");
		return 1;
	}
	c2c_ctx_set_log_fn(ctx, log_cb, &messages, C2C_LOG_INFO);
	c2c_ctx_set_flags(ctx, C2C_FLAG_FORCE);

	/* A failure is reported through the context, not printed or exited on. */
	snprintf(path, sizeof(path), "%s/no-such-checkpoint", argv[2]);
	r = c2c_convert(ctx, path, argv[2]);
	CHECK(r < 0, "converting a missing input returned %d", r);
	CHECK(c2c_errcode(ctx) == r, "c2c_errcode %d, returned %d", c2c_errcode(ctx), r);
	CHECK(c2c_errmsg(ctx)[0] != '\0', "no error message");
	CHECK(c2c_strerror(r)[0] != '\0', "no name for error %d", r);
	printf("expected failure: %s: %s\n", c2c_strerror(r), c2c_errmsg(ctx));

	CHECK(c2c_ctx_add_pid(ctx, (uint32_t)pid) == 0, "c2c_ctx_add_pid(%lu)", pid);
	r = c2c_convert(ctx, argv[1], argv[2]);
	CHECK(r == 1, "c2c_convert returned %d (%s: %s, at %s), want 1 core", r,
	      c2c_strerror(r), c2c_errmsg(ctx), c2c_errsite(ctx));
	CHECK(c2c_errcode(ctx) == 0, "error code %d after a success", c2c_errcode(ctx));
	printf("converted: %d core(s), %zu warning(s), %u message(s)\n", r,
	       c2c_warning_count(ctx), messages);
	c2c_ctx_free(ctx);

	snprintf(path, sizeof(path), "%s/core.%lu", argv[2], pid);
	f = fopen(path, "rb");
	CHECK(f != NULL, "cannot open %s", path);
	if (f) {
		CHECK(fread(&eh, sizeof(eh), 1, f) == 1, "%s is shorter than an ELF header", path);
		fclose(f);
		CHECK(memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0, "%s: no ELF magic", path);
		CHECK(eh.e_ident[EI_CLASS] == ELFCLASS64, "%s: class %d", path, eh.e_ident[EI_CLASS]);
		CHECK(eh.e_ident[EI_DATA] == ELFDATA2LSB, "%s: data %d", path, eh.e_ident[EI_DATA]);
		CHECK(eh.e_type == ET_CORE, "%s: e_type %d, want ET_CORE", path, eh.e_type);
		CHECK(eh.e_machine == EM_X86_64, "%s: e_machine %d", path, eh.e_machine);
		CHECK(eh.e_phnum > 1, "%s: %d program headers", path, eh.e_phnum);
		printf("%s: ELF64 ET_CORE x86_64, %d program headers\n", path, eh.e_phnum);
	}

	if (failures)
		fprintf(stderr, "consumer: %d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
