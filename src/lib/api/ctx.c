/*
 * Stage 8, api: the public context object: its life cycle and the setters
 * that fill in the options (struct c2c_opts) and callbacks the operations
 * pass down to the stages.
 */
#include <stdlib.h>

#include "error.h"
#include "report.h"
#include "util.h"

struct c2c_ctx *c2c_ctx_new(void)
{
	struct c2c_ctx *ctx = calloc(1, sizeof(*ctx));

	if (ctx)
		ctx->log_level = C2C_LOG_WARN;
	return ctx;
}

void c2c_ctx_free(struct c2c_ctx *ctx)
{
	if (!ctx)
		return;
	c2c_ctx_release_base(ctx);
	c2c_report_free(ctx->report);
	free(ctx);
}

void c2c_ctx_set_log_fn(struct c2c_ctx *ctx, c2c_log_fn fn, void *userdata,
			enum c2c_log_level max_level)
{
	ctx->log_fn = fn;
	ctx->log_data = userdata;
	ctx->log_level = max_level;
}

void c2c_ctx_set_progress_fn(struct c2c_ctx *ctx, c2c_progress_fn fn, void *userdata)
{
	ctx->progress.fn = fn;
	ctx->progress.data = userdata;
}

void c2c_ctx_set_flags(struct c2c_ctx *ctx, unsigned int flags)
{
	ctx->opts.flags = flags;
}

int c2c_ctx_set_root(struct c2c_ctx *ctx, const char *root, enum c2c_file_pages mode)
{
	char *copy = NULL;

	if (root && !(copy = c2c_strdup(root)))
		return C2C_E_NOMEM;
	free(ctx->opts.root);
	ctx->opts.root = copy;
	ctx->opts.file_pages = mode;
	return 0;
}

/* Replace an option string with a copy of s (NULL clears). */
static int set_string(char **opt, const char *s)
{
	char *copy = NULL;

	if (s && !(copy = c2c_strdup(s)))
		return C2C_E_NOMEM;
	free(*opt);
	*opt = copy;
	return 0;
}

int c2c_ctx_set_image(struct c2c_ctx *ctx, const char *image, enum c2c_file_pages mode)
{
	int r = set_string(&ctx->opts.image, image);

	if (r == 0)
		ctx->opts.file_pages = mode;
	return r;
}

int c2c_ctx_set_sysroot_out(struct c2c_ctx *ctx, const char *dir)
{
	return set_string(&ctx->opts.sysroot_out, dir);
}

int c2c_ctx_set_parent(struct c2c_ctx *ctx, const char *input)
{
	char *copy = NULL;

	if (input && !(copy = c2c_strdup(input)))
		return C2C_E_NOMEM;
	free(ctx->opts.parent_input);
	ctx->opts.parent_input = copy;
	return 0;
}

int c2c_ctx_add_pid(struct c2c_ctx *ctx, uint32_t pid)
{
	/* NULL: the public API returns C2C_E_NOMEM without recording a failure. */
	int r = c2c_array_grow(NULL, &ctx->opts.pids, &ctx->opts.pids_cap, ctx->opts.npids + 1,
			       sizeof(*ctx->opts.pids));

	if (r == 0)
		ctx->opts.pids[ctx->opts.npids++] = pid;
	return r;
}

