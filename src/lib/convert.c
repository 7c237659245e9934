/*
 * The conversion driver: source -> process model -> core plans -> ELF files.
 *
 * All-or-nothing per input: every selected process is loaded and written to
 * a temporary file first; only when all succeeded are they renamed into
 * place. On any failure the temporaries (and any core already renamed in
 * this call) are removed, so the output directory is as it was.
 */
#include <errno.h>
#include <archive.h>
#include <fcntl.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arcsource.h"
#include "corebuild.h"
#include "elfwrite.h"
#include "process.h"
#include "util.h"

const char *c2c_version(void)
{
	return C2C_STR(C2C_VERSION_MAJOR) "." C2C_STR(C2C_VERSION_MINOR) "." C2C_STR(
		C2C_VERSION_PATCH);
}

/* Directories this conversion created, removed again if it fails. */
struct made_dirs {
	char *path;	    /* the output directory */
	size_t ncreated;
	size_t created[64]; /* prefixes of path ending at these offsets were created by us */
};

/* mkdir -p, owner-only: the directory will hold every secret of the processes. */
static int make_dirs(struct c2c_ctx *ctx, const char *outdir, struct made_dirs *md)
{
	char *path = c2c_strdup(outdir);
	int r = 0;

	if (!path)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	md->path = path;
	md->ncreated = 0;
	for (char *p = path + 1;; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) == 0) {
			if (md->ncreated < C2C_ARRAY_SIZE(md->created))
				md->created[md->ncreated++] = (size_t)(p - path);
		} else if (errno != EEXIST) {
			r = c2c_fail(ctx, &C2C_LOC_FILE(path), C2C_E_IO,
				     "cannot create output directory");
			*p = c;
			break;
		}
		*p = c;
		if (!c)
			break;
	}
	return r;
}

/* rmdir what make_dirs created, deepest first; non-empty ones stay. */
static void unmake_dirs(struct made_dirs *md)
{
	while (md->ncreated) {
		size_t end = md->created[--md->ncreated];
		char c = md->path[end];

		md->path[end] = '\0';
		(void)rmdir(md->path);
		md->path[end] = c;
	}
}

static int open_outdir(struct c2c_ctx *ctx, const char *outdir, struct made_dirs *md, int *ret)
{
	int fd;

	if (outdir[0] && make_dirs(ctx, outdir, md) < 0)
		return c2c_errcode(ctx);
	fd = open(outdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return c2c_fail(ctx, &C2C_LOC_FILE(outdir), C2C_E_IO,
				"cannot open output directory");
	*ret = fd;
	return 0;
}

/* Which image set of an archive to convert: checkpoint/ (container archives), else top level. */
static const char *image_prefix(struct c2c_memtab *tab)
{
	static const char *const prefixes[] = { "checkpoint/", "", "pre-checkpoint/" };
	char name[64];

	for (size_t i = 0; i < C2C_ARRAY_SIZE(prefixes); i++) {
		snprintf(name, sizeof(name), "%sinventory.img", prefixes[i]);
		if (c2c_memtab_find(tab, name))
			return prefixes[i];
	}
	return NULL;
}

static int open_archive(struct c2c_ctx *ctx, const char *input, int outfd, const char *outdir,
			struct c2c_source **ret)
{
	bool use_stdin = !strcmp(input, "-");
	const char *display = use_stdin ? "<stdin>" : input;
	struct archive *a = archive_read_new();
	struct c2c_memtab *tab = NULL;
	const char *prefix;
	struct stat st;
	int fd = -1, r;

	if (!a)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	/* Compression is detected from the content, whatever the file is called. */
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	fd = use_stdin ? STDIN_FILENO : open(input, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = c2c_fail(ctx, &C2C_LOC_FILE(display), C2C_E_IO, "cannot open");
		goto out;
	}
	if (archive_read_open_fd(a, fd, 1 << 20) != ARCHIVE_OK) {
		r = c2c_fail(ctx, &C2C_LOC_FILE(display), C2C_E_ARCHIVE,
			     "neither a CRIU image directory nor a checkpoint archive: %s",
			     archive_error_string(a));
		goto out;
	}
	r = c2c_archive_read(ctx, a, display,
			     !use_stdin && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? fd : -1,
			     outfd, outdir, &tab);
	if (r < 0)
		goto out;
	prefix = image_prefix(tab);
	if (!prefix) {
		r = c2c_fail(ctx, &C2C_LOC_FILE(display), C2C_E_MISSING,
			     "no CRIU images in the archive (no checkpoint/inventory.img)");
		goto out;
	}
	r = c2c_source_open_tab(ctx, tab, prefix, ret);
out:
	c2c_memtab_put(tab);
	archive_read_free(a);
	if (fd >= 0 && !use_stdin)
		close(fd);
	return r;
}

/*
 * An input is told by its content, never by its name: a CRIU image directory,
 * an extracted container archive (checkpoint/ beside config.dump), an archive
 * file in any compression, or "-" for an archive on standard input.
 */
static int open_input(struct c2c_ctx *ctx, const char *input, int outfd, const char *outdir,
		      struct c2c_source **ret)
{
	struct stat st;
	char *sub;
	int r;

	if (strcmp(input, "-") && stat(input, &st) < 0)
		return c2c_fail(ctx, &C2C_LOC_FILE(input), errno == ENOENT ? C2C_E_MISSING : C2C_E_IO,
				"cannot open input: %s", strerror(errno));
	if (!strcmp(input, "-") || !S_ISDIR(st.st_mode))
		return open_archive(ctx, input, outfd, outdir, ret);
	sub = c2c_asprintf("%s/inventory.img", input);
	if (!sub)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	r = access(sub, F_OK);
	free(sub);
	if (r == 0)
		return c2c_source_open_dir(ctx, input, ret);
	sub = c2c_asprintf("%s/checkpoint", input);
	if (!sub)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	r = c2c_source_open_dir(ctx, sub, ret);
	if (r == 0 && access(sub, F_OK) == 0) {
		char *inv = c2c_asprintf("%s/inventory.img", sub);

		if (!inv || access(inv, F_OK) < 0) {
			c2c_source_free(*ret);
			r = -1;
		}
		free(inv);
	}
	free(sub);
	if (r < 0) {
		c2c_clear_error(ctx);
		return c2c_fail(ctx, &C2C_LOC_FILE(input), C2C_E_MISSING,
				"no CRIU images here: neither inventory.img nor "
				"checkpoint/inventory.img");
	}
	return 0;
}

/* Why a process gets no core, or NULL if it gets one. */
static const char *skip_reason(const struct c2c_process *p)
{
	if (p->state == C2C_TASK_DEAD)
		return "is a zombie (it has no memory left)";
	if (p->compat)
		return "is a 32-bit task, which is not supported yet";
	return NULL;
}

/* Load src, plan and write every selected process's core into dirfd. */
static int convert_source(struct c2c_ctx *ctx, struct c2c_source *src, int dirfd,
			  const char *outdir)
{
	struct c2c_checkpoint *ck = NULL;
	struct c2c_outfile *outs = NULL;
	size_t nouts = 0;
	int r;

	r = c2c_checkpoint_load(ctx, src, ctx->pids, ctx->npids, &ck);
	if (r < 0)
		goto out;
	if (ctx->root) {
		r = c2c_root_open(ctx, ctx->root, &ck->rootfd);
		if (r < 0)
			goto out;
		ck->root = ctx->root;
	}
	outs = calloc(ck->nprocs ? ck->nprocs : 1, sizeof(*outs));
	if (!outs) {
		r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		goto out;
	}

	for (size_t i = 0; i < ck->nprocs; i++) {
		const struct c2c_process *p = &ck->procs[i];
		struct c2c_coreplan_opts opts = { ctx->flags, ctx->root ? ctx->file_pages
									: C2C_FILE_PAGES_NONE, ck };
		struct c2c_coreplan plan;
		const char *why;
		char name[32];

		if (!ck->selected[i])
			continue;
		why = skip_reason(p);
		if (why) {
			c2c_log(ctx, C2C_LOG_INFO, "process %u (%s) %s: no core written", p->pid,
				p->comm, why);
			continue;
		}
		/* Fail before writing anything if a core would be refused at the end. */
		snprintf(name, sizeof(name), "core.%u", p->pid);
		if (!(ctx->flags & C2C_FLAG_FORCE) && faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
			r = c2c_fail(ctx, &C2C_LOC_FILE(outdir), C2C_E_EXISTS,
				     "'%s' exists; not overwritten (use --force)", name);
			goto out;
		}
		r = c2c_corebuild_plan(ctx, p, &opts, &plan);
		if (r < 0)
			goto out;
		if (plan.lazy_pages)
			c2c_warn(ctx, NULL,
				 "process %u: %llu lazy pages are not in the images (the page "
				 "server had them): left out of the core",
				 p->pid, (unsigned long long)plan.lazy_pages);
		r = c2c_elfwrite_core(ctx, dirfd, outdir, name, &plan, &outs[nouts]);
		if (r == 0) {
			nouts++;
			c2c_log(ctx, C2C_LOG_DEBUG,
				"process %u (%s): %zu thread%s, %zu segments, %llu bytes from the "
				"images, %llu from files",
				p->pid, p->comm, p->nthreads, p->nthreads == 1 ? "" : "s", plan.nsegs,
				(unsigned long long)plan.data_bytes,
				(unsigned long long)plan.file_bytes);
		}
		c2c_coreplan_release(&plan);
		if (r < 0)
			goto out;
	}
	for (size_t i = 0; i < nouts; i++) {
		r = c2c_elfwrite_commit(ctx, &outs[i], ctx->flags & C2C_FLAG_FORCE);
		if (r < 0)
			goto out;
		c2c_log(ctx, C2C_LOG_INFO, "wrote '%s/%s'", outdir, outs[i].final_name);
	}
	r = (int)nouts;
out:
	for (size_t i = 0; i < nouts; i++) {
		if (r < 0)
			c2c_elfwrite_discard(&outs[i]);
		else
			c2c_elfwrite_release(&outs[i]);
	}
	free(outs);
	if (ck && ck->rootfd >= 0)
		close(ck->rootfd);
	c2c_checkpoint_free(ck);
	return r;
}

/* Common start of every conversion: clear state, libelf, the output directory. */
static int begin(struct c2c_ctx *ctx, const char *outdir, struct made_dirs *md, int *dirfd)
{
	c2c_clear_error(ctx);
	ctx->nwarnings = 0;
	/* libelf must be told which ELF version we use before any other call. */
	if (elf_version(EV_CURRENT) == EV_NONE)
		return c2c_fail(ctx, NULL, C2C_E_ELF, "libelf too old: %s", elf_errmsg(-1));
	if (!outdir)
		return c2c_fail(ctx, NULL, C2C_E_USAGE, "an output directory is required");
	/* The output directory first: archives spool their page data into it. */
	return open_outdir(ctx, outdir, md, dirfd);
}

static void end(struct made_dirs *md, int dirfd, int r)
{
	if (dirfd >= 0)
		close(dirfd);
	if (r < 0)
		unmake_dirs(md);
	free(md->path);
}

int c2c_convert(struct c2c_ctx *ctx, const char *input, const char *outdir)
{
	struct c2c_source *src = NULL;
	struct made_dirs md = { 0 };
	int dirfd = -1, r;

	r = begin(ctx, outdir, &md, &dirfd);
	if (r == 0 && !input)
		r = c2c_fail(ctx, NULL, C2C_E_USAGE, "an input is required");
	if (r == 0)
		r = open_input(ctx, input, dirfd, outdir, &src);
	if (r == 0 && ctx->parent_input) {
		struct c2c_source *psrc;

		r = open_input(ctx, ctx->parent_input, dirfd, outdir, &psrc);
		if (r == 0)
			c2c_source_set_parent(src, psrc);
	}
	if (r == 0)
		r = convert_source(ctx, src, dirfd, outdir);
	c2c_source_free(src);
	end(&md, dirfd, r);
	return r;
}

int c2c_convert_archive_memory(struct c2c_ctx *ctx, const void *buf, size_t len,
			       const char *outdir)
{
	struct c2c_source *src = NULL;
	struct c2c_memtab *tab = NULL;
	struct made_dirs md = { 0 };
	struct archive *a = NULL;
	const char *prefix;
	int dirfd = -1, r;

	r = begin(ctx, outdir, &md, &dirfd);
	if (r == 0 && !(a = archive_read_new()))
		r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	if (r == 0) {
		archive_read_support_filter_all(a);
		archive_read_support_format_tar(a);
		if (archive_read_open_memory(a, buf, len) != ARCHIVE_OK)
			r = c2c_fail(ctx, &C2C_LOC_FILE("<memory>"), C2C_E_ARCHIVE,
				     "not a checkpoint archive: %s", archive_error_string(a));
	}
	if (r == 0)
		r = c2c_archive_read(ctx, a, "<memory>", -1, dirfd, outdir, &tab);
	if (r == 0 && !(prefix = image_prefix(tab)))
		r = c2c_fail(ctx, &C2C_LOC_FILE("<memory>"), C2C_E_MISSING,
			     "no CRIU images in the archive (no checkpoint/inventory.img)");
	if (r == 0)
		r = c2c_source_open_tab(ctx, tab, prefix, &src);
	if (r == 0)
		r = convert_source(ctx, src, dirfd, outdir);
	c2c_source_free(src);
	c2c_memtab_put(tab);
	if (a)
		archive_read_free(a);
	end(&md, dirfd, r);
	return r;
}
