/*
 * Shared helpers of the cmocka unit tests (house style §4.6 item 1).
 *
 * Each tests/unit/test-<module>.c ends with C2C_UNIT_MAIN(tests): CTest runs
 * the binary once per case with the case name as argv[1] (CMake scans the
 * cmocka_unit_test*() calls), and without an argument every case runs.
 */
#ifndef C2C_UNIT_HELPERS_H
#define C2C_UNIT_HELPERS_H

/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ckpt2core/ckpt2core.h"

/* Little-endian fields of encoded ELF structures (x86_64 host = file order). */
static inline uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static inline uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/*
 * Assert that a library call succeeded; on failure print the context's error
 * message, which says far more than "-7 < 0" (libarchive assertEqualIntA).
 */
#define c2c_assert_ok(ctx, expr)                                                              \
	do {                                                                                  \
		int c2c_r_ = (expr);                                                          \
		if (c2c_r_ < 0)                                                               \
			fail_msg("%s returned %d (%s): %s [%s]", #expr, c2c_r_,               \
				 c2c_strerror(c2c_r_), c2c_errmsg(ctx), c2c_errsite(ctx));    \
	} while (0)

/* Assert that a call failed with `code` and that the context recorded exactly that code. */
#define c2c_assert_fails(ctx, expr, code)                                                     \
	do {                                                                                  \
		int c2c_r_ = (expr);                                                          \
		if (c2c_r_ != (code))                                                         \
			fail_msg("%s returned %d, expected %d (%s); message: %s", #expr,      \
				 c2c_r_, (code), c2c_strerror(code), c2c_errmsg(ctx));        \
		assert_int_equal(c2c_errcode(ctx), (code));                                   \
	} while (0)

/*
 * Run the cases of `tests`; argv[1], when given, must name one of them
 * exactly (a typo in CMake must fail, not run zero cases and pass).
 */
int c2c_unit_run(int argc, char **argv, const char *group, const struct CMUnitTest *tests,
		 size_t n);

#define C2C_UNIT_MAIN(tests)                                                            \
	int main(int argc, char **argv)                                                 \
	{                                                                               \
		return c2c_unit_run(argc, argv, __FILE__, (tests),                      \
				    sizeof(tests) / sizeof((tests)[0]));                \
	}

/* A growable byte buffer for building image files in memory. Aborts on OOM. */
struct tbuf {
	uint8_t *p;
	size_t n, cap;
};

void tbuf_put(struct tbuf *b, const void *data, size_t len);
void tbuf_u32(struct tbuf *b, uint32_t v); /* little endian, like CRIU's framing words */
void tbuf_free(struct tbuf *b);

/*
 * The little protobuf encoder the pagemap tests need: only varint fields
 * (wire type 0), which is all PagemapHead and PagemapEntry hold. Hand
 * encoding, rather than the generated pack functions, lets a test write field
 * combinations no CRIU version would (both page counts, in_parent with flags).
 */
void tbuf_varint(struct tbuf *b, uint64_t v);
void tbuf_pb_varint(struct tbuf *b, unsigned field, uint64_t v);

/* Append msg as one record (u32 length + bytes); returns the record's offset. */
size_t tbuf_record(struct tbuf *img, const struct tbuf *msg);

/* A scratch directory (mkdtemp under $TMPDIR or /tmp), removed recursively. */
char *tmpdir_new(void);
void tmpdir_remove(char *dir);

/* Write a file (or make a directory / symlink) at dir/name; fail the test on error. */
void write_file(const char *dir, const char *name, const void *data, size_t len);
void make_dir(const char *dir, const char *name);
void make_symlink(const char *dir, const char *name, const char *target);

/* Assert that s ends with suffix. */
#define assert_string_suffix(s, suffix)                                                      \
	do {                                                                                 \
		const char *s_ = (s), *x_ = (suffix);                                        \
		size_t ns_ = strlen(s_), nx_ = strlen(x_);                                   \
		if (ns_ < nx_ || strcmp(s_ + ns_ - nx_, x_) != 0)                            \
			fail_msg("\"%s\" does not end with \"%s\"", s_, x_);                 \
	} while (0)

#endif /* C2C_UNIT_HELPERS_H */
