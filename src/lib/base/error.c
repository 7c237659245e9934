/*
 * Error records, warnings and the public context object.
 *
 * Messages follow the house format: the subject in single quotes, the byte
 * offset in decimal and hex (so `xxd -s` and `dd skip=` work), lowercase text
 * without a full stop. The CLI adds the program name and prints.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "util.h"

/* Short names of the codes, from the one list of the public header. */
#define ERR_NAME(name, value, text) { C2C_E_##name, text },
static const struct {
	int code;
	const char *name;
} err_names[] = {
	{ C2C_OK, "success" },
	C2C_ERRORS(ERR_NAME)
};
#undef ERR_NAME

const char *c2c_strerror(int code)
{
	for (size_t i = 0; i < C2C_ARRAY_SIZE(err_names); i++)
		if (err_names[i].code == code)
			return err_names[i].name;
	return "unknown error";
}

int c2c_errcode(const struct c2c_ctx *ctx)
{
	return ctx->err_code;
}

const char *c2c_errmsg(const struct c2c_ctx *ctx)
{
	return ctx->err_code ? ctx->err_text : "";
}

const char *c2c_errsite(const struct c2c_ctx *ctx)
{
	return ctx->err_code ? ctx->err_site : "";
}

size_t c2c_warning_count(const struct c2c_ctx *ctx)
{
	return ctx->warnings.count;
}

void c2c_loc_format(const struct c2c_loc *loc, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	if (!loc)
		return;
	if (loc->file)
		n += (size_t)snprintf(buf + n, size - n, "'%s%s%s'", loc->file,
				      loc->member ? ":" : "", loc->member ? loc->member : "");
	if (n < size && loc->offset != C2C_NO_OFFSET)
		n += (size_t)snprintf(buf + n, size - n, "%soffset %llu (0x%llx)", n ? ": " : "",
				      (unsigned long long)loc->offset,
				      (unsigned long long)loc->offset);
	if (n < size && loc->record != C2C_NO_RECORD)
		n += (size_t)snprintf(buf + n, size - n, "%srecord %lld",
				      loc->offset != C2C_NO_OFFSET ? ", " : (n ? ": " : ""),
				      (long long)loc->record);
	if (n && n + 2 < size)
		snprintf(buf + n, size - n, ": ");
}

int c2c_fail_at(struct c2c_ctx *ctx, const struct c2c_loc *loc, int code, const char *site,
		const char *fmt, ...)
{
	int saved = errno;
	char where[4096];
	va_list ap;

	if (ctx->err_code || ctx->trying)
		return code;
	if (ctx->warning && code != C2C_E_NOMEM) {
		char msg[C2C_MSG_MAX];

		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		c2c_warn(ctx, loc, "%s; ignored", msg);
		return code;
	}
	ctx->err_code = code;
	ctx->err_errno = code == C2C_E_IO ? saved : 0;
	va_start(ap, fmt);
	vsnprintf(ctx->err_msg, sizeof(ctx->err_msg), fmt, ap);
	va_end(ap);
	snprintf(ctx->err_site, sizeof(ctx->err_site), "%s", site);
	c2c_loc_format(loc, where, sizeof(where));
	if (ctx->err_errno)
		snprintf(ctx->err_text, sizeof(ctx->err_text), "%s%s: %s", where, ctx->err_msg,
			 strerror(ctx->err_errno));
	else
		snprintf(ctx->err_text, sizeof(ctx->err_text), "%s%s", where, ctx->err_msg);
	return code;
}

static void warnings_clear(struct c2c_warnings *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
	*w = (struct c2c_warnings){ 0 };
}

void c2c_ctx_release_base(struct c2c_ctx *ctx)
{
	free(ctx->opts.pids);
	free(ctx->opts.root);
	free(ctx->opts.parent_input);
	free(ctx->opts.image);
	free(ctx->opts.sysroot_out);
	for (size_t i = 0; i < ctx->opts.npatterns; i++)
		free(ctx->opts.patterns[i].bytes);
	free(ctx->opts.patterns);
	ctx->opts = (struct c2c_opts){ 0 };
	warnings_clear(&ctx->warnings);
}

void c2c_try_begin(struct c2c_ctx *ctx)
{
	ctx->trying++;
}

void c2c_try_end(struct c2c_ctx *ctx)
{
	if (ctx->trying)
		ctx->trying--;
}

void c2c_warn_begin(struct c2c_ctx *ctx)
{
	ctx->warning++;
}

void c2c_warn_end(struct c2c_ctx *ctx)
{
	if (ctx->warning)
		ctx->warning--;
}

void c2c_op_begin(struct c2c_ctx *ctx)
{
	warnings_clear(&ctx->warnings);
	ctx->trying = 0;
	ctx->warning = 0;
	ctx->err_code = 0;
	ctx->err_errno = 0;
	ctx->err_msg[0] = '\0';
	ctx->err_text[0] = '\0';
	ctx->err_site[0] = '\0';
}

static void emit(struct c2c_ctx *ctx, enum c2c_log_level level, const char *msg)
{
	if (ctx->log_fn && level <= ctx->log_level)
		ctx->log_fn(ctx->log_data, level, msg);
}

void c2c_warn(struct c2c_ctx *ctx, const struct c2c_loc *loc, const char *fmt, ...)
{
	char where[4096], text[C2C_MSG_MAX * 2], msg[sizeof(where) + sizeof(text)];
	va_list ap;

	ctx->warnings.count++;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	c2c_loc_format(loc, where, sizeof(where));
	snprintf(msg, sizeof(msg), "%s%s", where, text);
	/* A warning that cannot be kept is still counted and logged, never a failure. */
	if (ctx->warnings.n < C2C_MAX_WARNINGS &&
	    c2c_array_grow(NULL, &ctx->warnings.v, &ctx->warnings.cap, ctx->warnings.n + 1,
			   sizeof(*ctx->warnings.v)) == 0 &&
	    (ctx->warnings.v[ctx->warnings.n] = c2c_strdup(msg)))
		ctx->warnings.n++;
	emit(ctx, C2C_LOG_WARN, msg);
}

void c2c_log(struct c2c_ctx *ctx, enum c2c_log_level level, const char *fmt, ...)
{
	char msg[4096];
	va_list ap;

	if (!ctx->log_fn || level > ctx->log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(ctx, level, msg);
}

bool c2c_opts_selected(const struct c2c_opts *o, uint32_t pid)
{
	for (size_t i = 0; i < o->npids; i++)
		if (o->pids[i] == pid)
			return true;
	return o->npids == 0;
}
