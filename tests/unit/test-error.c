/* Unit tests of src/lib/error.c: location format, first failure wins, errno text. */
#include <errno.h>

#include "error.h"
#include "helpers.h"

static char fmtbuf[512];

static const char *fmt(struct c2c_loc loc)
{
	c2c_loc_format(&loc, fmtbuf, sizeof(fmtbuf));
	return fmtbuf;
}

static void loc_format_file_only(void **state)
{
	(void)state;
	assert_string_equal(fmt(C2C_LOC_FILE("dir/mm-1.img")), "'dir/mm-1.img': ");
}

static void loc_format_file_offset(void **state)
{
	(void)state;
	assert_string_equal(fmt(C2C_LOC_AT("dir/mm-1.img", 12)),
			    "'dir/mm-1.img': offset 12 (0xc): ");
	assert_string_equal(fmt(C2C_LOC_AT("f", 0)), "'f': offset 0 (0x0): ");
	assert_string_equal(fmt(C2C_LOC_AT("f", 0x123456789abULL)),
			    "'f': offset 1250999896491 (0x123456789ab): ");
}

static void loc_format_file_offset_record(void **state)
{
	(void)state;
	assert_string_equal(fmt((struct c2c_loc){ "dir/mm-1.img", NULL, 12, 0 }),
			    "'dir/mm-1.img': offset 12 (0xc), record 0: ");
	assert_string_equal(fmt((struct c2c_loc){ "p.img", NULL, 4096, 41 }),
			    "'p.img': offset 4096 (0x1000), record 41: ");
	/* A record without an offset. */
	assert_string_equal(fmt((struct c2c_loc){ "p.img", NULL, C2C_NO_OFFSET, 3 }),
			    "'p.img': record 3: ");
}

static void loc_format_archive_member(void **state)
{
	struct c2c_loc member = { "a.tar", "member", C2C_NO_OFFSET, C2C_NO_RECORD };

	(void)state;
	assert_string_equal(fmt(member), "'a.tar:member': ");
	assert_string_equal(fmt((struct c2c_loc){ "a.tar", "ck/core-7.img", 8, 1 }),
			    "'a.tar:ck/core-7.img': offset 8 (0x8), record 1: ");
}

static void loc_format_no_file(void **state)
{
	(void)state;
	assert_string_equal(fmt(C2C_LOC_NONE), "");
	assert_string_equal(fmt(C2C_LOC_AT(NULL, 5)), "offset 5 (0x5): ");
	assert_string_equal(fmt((struct c2c_loc){ NULL, NULL, C2C_NO_OFFSET, 2 }), "record 2: ");
	c2c_loc_format(NULL, fmtbuf, sizeof(fmtbuf));
	assert_string_equal(fmtbuf, "");
}

static void loc_format_small_buffer(void **state)
{
	char buf[8];
	struct c2c_loc loc = C2C_LOC_AT("abcdefghij", 1);

	(void)state;
	memset(buf, 'X', sizeof(buf));
	c2c_loc_format(&loc, buf, sizeof(buf));
	assert_string_equal(buf, "'abcdef"); /* truncated, terminated, no overrun */
}

static void fail_message_and_code(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct c2c_loc loc = { "d/pagemap-1.img", NULL, 24, 2 };
	int line;

	(void)state;
	assert_non_null(ctx);
	assert_int_equal(c2c_errcode(ctx), 0);
	assert_string_equal(c2c_errmsg(ctx), "");
	assert_string_equal(c2c_errsite(ctx), "");

	line = __LINE__ + 1;
	assert_int_equal(c2c_fail(ctx, &loc, C2C_E_TRUNCATED, "need %d bytes, %d left", 9, 3),
			 C2C_E_TRUNCATED);
	assert_int_equal(c2c_errcode(ctx), C2C_E_TRUNCATED);
	assert_string_equal(c2c_errmsg(ctx),
			    "'d/pagemap-1.img': offset 24 (0x18), record 2: need 9 bytes, 3 left");
	{
		char site[64];

		snprintf(site, sizeof(site), "test-error.c:%d", line);
		assert_string_suffix(c2c_errsite(ctx), site);
	}

	/* No location at all: the bare message. */
	c2c_op_begin(ctx);
	assert_int_equal(c2c_errcode(ctx), 0);
	assert_string_equal(c2c_errmsg(ctx), "");
	c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	assert_string_equal(c2c_errmsg(ctx), "out of memory");
	c2c_ctx_free(ctx);
}

/* Failures inside c2c_try_begin/end return their code but leave no record. */
static void try_records_nothing(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();

	(void)state;
	c2c_try_begin(ctx);
	c2c_try_begin(ctx);
	assert_int_equal(c2c_fail(ctx, NULL, C2C_E_TRUNCATED, "optional"), C2C_E_TRUNCATED);
	c2c_try_end(ctx);
	assert_int_equal(c2c_fail(ctx, NULL, C2C_E_IO, "still optional"), C2C_E_IO);
	c2c_try_end(ctx);
	assert_int_equal(c2c_errcode(ctx), 0);
	assert_string_equal(c2c_errmsg(ctx), "");
	c2c_try_end(ctx); /* unbalanced: harmless */
	c2c_fail(ctx, NULL, C2C_E_MISSING, "required");
	assert_int_equal(c2c_errcode(ctx), C2C_E_MISSING);
	assert_string_equal(c2c_errmsg(ctx), "required");
	c2c_ctx_free(ctx);
}

static void first_failure_wins(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();

	(void)state;
	assert_non_null(ctx);
	c2c_fail(ctx, &C2C_LOC_AT("inner.img", 8), C2C_E_BADMAGIC, "wrong magic");
	/* An outer layer re-describing the error returns its code but changes nothing. */
	assert_int_equal(c2c_fail(ctx, &C2C_LOC_FILE("outer"), C2C_E_MISSING, "outer text"),
			 C2C_E_MISSING);
	assert_int_equal(c2c_errcode(ctx), C2C_E_BADMAGIC);
	assert_string_equal(c2c_errmsg(ctx), "'inner.img': offset 8 (0x8): wrong magic");

	/* After clearing, the next failure is recorded again. */
	c2c_op_begin(ctx);
	c2c_fail(ctx, &C2C_LOC_FILE("outer"), C2C_E_MISSING, "outer text");
	assert_int_equal(c2c_errcode(ctx), C2C_E_MISSING);
	assert_string_equal(c2c_errmsg(ctx), "'outer': outer text");
	c2c_ctx_free(ctx);
}

static void io_error_appends_strerror(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	char want[256];

	(void)state;
	assert_non_null(ctx);
	errno = ENOENT;
	assert_int_equal(c2c_fail(ctx, &C2C_LOC_FILE("dir/pages-1.img"), C2C_E_IO, "cannot open"),
			 C2C_E_IO);
	snprintf(want, sizeof(want), "'dir/pages-1.img': cannot open: %s", strerror(ENOENT));
	assert_string_equal(c2c_errmsg(ctx), want);

	/* Only C2C_E_IO looks at errno; a stale errno does not leak into other errors. */
	c2c_op_begin(ctx);
	errno = EACCES;
	c2c_fail(ctx, &C2C_LOC_FILE("x"), C2C_E_TRUNCATED, "short");
	assert_string_equal(c2c_errmsg(ctx), "'x': short");
	c2c_ctx_free(ctx);
}

static void strerror_names(void **state)
{
	(void)state;
	assert_string_equal(c2c_strerror(C2C_OK), "success");
	assert_string_equal(c2c_strerror(C2C_E_TRUNCATED), "truncated");
	assert_string_equal(c2c_strerror(C2C_E_BADMAGIC), "bad magic");
	assert_string_equal(c2c_strerror(C2C_E_EXISTS), "output exists");
	assert_string_equal(c2c_strerror(-1000), "unknown error");
}

struct logged {
	int calls;
	enum c2c_log_level level;
	char msg[512];
};

static void log_cb(void *data, enum c2c_log_level level, const char *msg)
{
	struct logged *l = data;

	l->calls++;
	l->level = level;
	snprintf(l->msg, sizeof(l->msg), "%s", msg);
}

static void warn_counts_and_logs(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct logged l = { 0 };

	(void)state;
	assert_non_null(ctx);
	c2c_warn(ctx, NULL, "dropped"); /* no callback yet: counted, not delivered */
	assert_int_equal(c2c_warning_count(ctx), 1);

	c2c_ctx_set_log_fn(ctx, log_cb, &l, C2C_LOG_WARN);
	c2c_warn(ctx, &C2C_LOC_AT("core-1.img", 16), "odd value %d", 7);
	assert_int_equal(c2c_warning_count(ctx), 2);
	assert_int_equal(l.calls, 1);
	assert_int_equal(l.level, C2C_LOG_WARN);
	assert_string_equal(l.msg, "'core-1.img': offset 16 (0x10): odd value 7");

	/* Above max_level: not delivered. */
	c2c_log(ctx, C2C_LOG_INFO, "info %d", 1);
	assert_int_equal(l.calls, 1);
	c2c_ctx_set_log_fn(ctx, log_cb, &l, C2C_LOG_DEBUG);
	c2c_log(ctx, C2C_LOG_INFO, "info %d", 2);
	assert_int_equal(l.calls, 2);
	assert_int_equal(l.level, C2C_LOG_INFO);
	assert_string_equal(l.msg, "info 2");
	assert_int_equal(c2c_warning_count(ctx), 2); /* log() is not a warning */
	c2c_ctx_free(ctx);
}

/* c2c_warn_begin: a failure becomes a warning with its location; NOMEM and try are unchanged. */
static void warn_mode_turns_failures_into_warnings(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct logged l = { 0 };

	(void)state;
	assert_non_null(ctx);
	c2c_ctx_set_log_fn(ctx, log_cb, &l, C2C_LOG_WARN);
	c2c_warn_begin(ctx);
	assert_int_equal(c2c_fail(ctx, &C2C_LOC_AT("ifaddr-2.img", 80), C2C_E_TRUNCATED,
				  "short by %d", 8),
			 C2C_E_TRUNCATED);
	assert_int_equal(c2c_errcode(ctx), 0);
	assert_int_equal(c2c_warning_count(ctx), 1);
	assert_string_equal(l.msg, "'ifaddr-2.img': offset 80 (0x50): short by 8; ignored");
	/* inside try: nothing at all */
	c2c_try_begin(ctx);
	c2c_fail(ctx, NULL, C2C_E_LIMIT, "hidden");
	c2c_try_end(ctx);
	assert_int_equal(c2c_warning_count(ctx), 1);
	/* running out of memory still fails the operation */
	assert_int_equal(c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory"), C2C_E_NOMEM);
	assert_int_equal(c2c_errcode(ctx), C2C_E_NOMEM);
	c2c_warn_end(ctx);
	c2c_op_begin(ctx);
	/* after the matching end, failures are recorded again */
	c2c_fail(ctx, NULL, C2C_E_LIMIT, "recorded");
	assert_int_equal(c2c_errcode(ctx), C2C_E_LIMIT);
	assert_int_equal(c2c_warning_count(ctx), 0);
	c2c_ctx_free(ctx);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(loc_format_file_only),
	cmocka_unit_test(loc_format_file_offset),
	cmocka_unit_test(loc_format_file_offset_record),
	cmocka_unit_test(loc_format_archive_member),
	cmocka_unit_test(loc_format_no_file),
	cmocka_unit_test(loc_format_small_buffer),
	cmocka_unit_test(fail_message_and_code),
	cmocka_unit_test(first_failure_wins),
	cmocka_unit_test(try_records_nothing),
	cmocka_unit_test(io_error_appends_strerror),
	cmocka_unit_test(strerror_names),
	cmocka_unit_test(warn_counts_and_logs),
	cmocka_unit_test(warn_mode_turns_failures_into_warnings),
};

C2C_UNIT_MAIN(tests)
