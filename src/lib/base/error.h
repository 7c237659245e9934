/*
 * Stage 0, base: errors, warnings and the context: the one place that knows how a failure is
 * described. Every failure is set exactly once, by the innermost code that
 * knows where in the input it happened; callers only propagate the code.
 */
#ifndef C2C_ERROR_H
#define C2C_ERROR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "ckpt2core/ckpt2core.h"

#define C2C_NO_OFFSET UINT64_MAX
#define C2C_NO_RECORD (-1)

/* Where in the input something happened. Any field may be unknown. */
struct c2c_loc {
	const char *file;   /* path of the image file (or archive) */
	const char *member; /* archive member, or NULL */
	uint64_t offset;    /* byte offset in file/member, or C2C_NO_OFFSET */
	int64_t record;	    /* record index in the image, or C2C_NO_RECORD */
};

#define C2C_LOC_FILE(f) ((struct c2c_loc){ (f), NULL, C2C_NO_OFFSET, C2C_NO_RECORD })
#define C2C_LOC_AT(f, off) ((struct c2c_loc){ (f), NULL, (off), C2C_NO_RECORD })
#define C2C_LOC_NONE ((struct c2c_loc){ NULL, NULL, C2C_NO_OFFSET, C2C_NO_RECORD })

#define C2C_MSG_MAX 256

/* A search pattern of c2c_grep (hex already decoded to its bytes). */
struct c2c_pattern {
	enum c2c_pattern_kind kind; /* FIXED or REGEX */
	unsigned int flags;	    /* enum c2c_pattern_flags */
	uint8_t *bytes;
	size_t len;
};

/* What the caller asked for (the public c2c_ctx_set_* setters fill it in). */
struct c2c_opts {
	unsigned int flags;	 /* enum c2c_flags */
	uint32_t *pids;		 /* convert only these (all when npids is 0) */
	size_t npids, pids_cap;
	char *root;		 /* --root, or NULL */
	enum c2c_file_pages file_pages; /* which file pages to take from root */
	char *parent_input;	 /* --parent, or NULL */
	char *image;		 /* --image, or NULL */
	char *sysroot_out;	 /* --sysroot-out, or NULL (OUTDIR/sysroot with --image) */
	struct c2c_pattern *patterns; /* c2c_grep */
	size_t npatterns;
};

/* Whether process pid is to be converted or searched (-p; all when none is given). */
bool c2c_opts_selected(const struct c2c_opts *o, uint32_t pid);

/* Progress of writing page data: fn(data, done, total) after each step. */
struct c2c_progress {
	c2c_progress_fn fn;
	void *data;
	uint64_t done, total;
};

/* Warnings of the current operation: all are counted, the first C2C_MAX_WARNINGS kept. */
#define C2C_MAX_WARNINGS 1000
struct c2c_warnings {
	char **v;
	size_t n;     /* kept */
	size_t cap;   /* of v */
	size_t count; /* issued */
};

struct c2c_report;

struct c2c_ctx {
	struct c2c_opts opts;
	struct c2c_progress progress;
	struct c2c_report *report; /* of the last operation (api/), or NULL */
	c2c_log_fn log_fn;
	void *log_data;
	enum c2c_log_level log_level;

	/* last failure */
	int err_code;
	int err_errno;
	char err_msg[C2C_MSG_MAX];
	char err_text[4096 + 2 * C2C_MSG_MAX]; /* formatted by c2c_errmsg() */
	char err_site[128];
	struct c2c_warnings warnings;
	unsigned int trying; /* c2c_try_begin depth: failures are not recorded */
	unsigned int warning; /* c2c_warn_begin depth: failures become warnings */
};


/*
 * Record a failure and return code. The first failure of an operation wins:
 * a later call does not overwrite it (outer layers must not re-describe an
 * error, but if one does by mistake the precise inner message survives).
 * If code is C2C_E_IO the current errno is saved and appended.
 */
int c2c_fail_at(struct c2c_ctx *ctx, const struct c2c_loc *loc, int code, const char *site,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define C2C_STR_(x) #x
#define C2C_STR(x) C2C_STR_(x)
#define c2c_fail(ctx, loc, code, ...) \
	c2c_fail_at((ctx), (loc), (code), __FILE__ ":" C2C_STR(__LINE__), __VA_ARGS__)

/* Forget the last failure and the warnings: the start of a new operation. */
void c2c_op_begin(struct c2c_ctx *ctx);

/*
 * Optional data (container metadata, a placement that may not apply): from
 * c2c_try_begin to the matching c2c_try_end, failures still return their
 * code but are not recorded in ctx, so reading what is optional never needs
 * failing and then clearing the error. Pairs nest.
 */
void c2c_try_begin(struct c2c_ctx *ctx);
void c2c_try_end(struct c2c_ctx *ctx);

/*
 * From c2c_warn_begin to the matching c2c_warn_end, a failure (other than
 * C2C_E_NOMEM) is issued as a warning with its location and message instead
 * of being recorded, and still returns its code: for optional images whose
 * damage must be told but must not fail the operation (inspect's network and
 * cgroup images). Inside c2c_try_begin nothing is recorded at all. Pairs nest.
 */
void c2c_warn_begin(struct c2c_ctx *ctx);
void c2c_warn_end(struct c2c_ctx *ctx);

/* Free what ctx holds below the api stage (options, warnings); not ctx itself. */
void c2c_ctx_release_base(struct c2c_ctx *ctx);

/* Warning: the output stays valid but is degraded. Kept in ctx->warnings. */
void c2c_warn(struct c2c_ctx *ctx, const struct c2c_loc *loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Informational and debug messages (no location). */
void c2c_log(struct c2c_ctx *ctx, enum c2c_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Format "'file:member': offset N (0xN), record R: " into buf. */
void c2c_loc_format(const struct c2c_loc *loc, char *buf, size_t size);

#endif /* C2C_ERROR_H */
