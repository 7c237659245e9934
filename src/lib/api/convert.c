/*
 * Stage 8, api: the conversion driver: source -> process model -> core plans -> ELF files.
 *
 * All-or-nothing per input: every selected process is loaded and written to
 * a temporary file first; only when all succeeded are they renamed into
 * place. On any failure the temporaries (and any core already renamed in
 * this call) are removed, so the output directory is as it was.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "arcsource.h"
#include "corebuild.h"
#include "elfwrite.h"
#include "network.h"
#include "place.h"
#include "process.h"
#include "report.h"
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

/*
 * Read an opened archive in one pass into a member table. When converting
 * (place), page data is written straight into the cores where it can be
 * (place.h), else spooled in outdir.
 */
static int read_archive(struct c2c_ctx *ctx, struct archive *a, const char *display, int infd,
			int outfd, const char *outdir, bool place, struct c2c_memtab **tab)
{
	struct c2c_place_state ps;
	struct c2c_placer placer;
	int r;

	c2c_place_init(&ps, ctx, outfd, &placer);
	r = c2c_archive_read(ctx, a, display, infd, outfd, outdir, place ? &placer : NULL, tab);
	c2c_place_release(&ps);
	return r;
}

/*
 * Read the archive `in` (set up by the source stage) in one pass and open a
 * source over the image set in it. fail begins the message when it is not
 * an archive; infd (or -1) is its regular file, for members used in place.
 */
static int archive_source(struct c2c_ctx *ctx, const struct c2c_archive_in *in, const char *fail,
			  int infd, int outfd, const char *outdir, bool place,
			  struct c2c_source **ret)
{
	struct c2c_memtab *tab = NULL;
	struct archive *a = NULL;
	const char *prefix = NULL;
	int r = c2c_archive_open(ctx, in, fail, false, &a);

	if (r == 0)
		r = read_archive(ctx, a, in->display, infd, outfd, outdir, place, &tab);
	if (r == 0 && !(prefix = image_prefix(tab)))
		r = c2c_fail(ctx, &C2C_LOC_FILE(in->display), C2C_E_MISSING,
			     "no CRIU images in the archive (no checkpoint/inventory.img)");
	if (r == 0)
		r = c2c_source_open_tab(ctx, tab, prefix, ret);
	c2c_memtab_put(tab);
	c2c_archive_close(a);
	return r;
}

/* An archive file, or "-" for standard input. */
static int open_archive(struct c2c_ctx *ctx, const char *input, int outfd, const char *outdir,
			bool place, struct c2c_source **ret)
{
	bool use_stdin = !strcmp(input, "-");
	struct c2c_archive_in in = { .display = use_stdin ? "<stdin>" : input };
	struct stat st;
	int r;

	in.fd = use_stdin ? STDIN_FILENO : open(input, O_RDONLY | O_CLOEXEC);
	if (in.fd < 0)
		return c2c_fail(ctx, &C2C_LOC_FILE(in.display), C2C_E_IO, "cannot open");
	r = archive_source(ctx, &in, "cannot read it as a checkpoint archive",
			   !use_stdin && fstat(in.fd, &st) == 0 && S_ISREG(st.st_mode) ? in.fd : -1,
			   outfd, outdir, place, ret);
	if (!use_stdin)
		close(in.fd);
	return r;
}

/*
 * An input is told by its content, never by its name: a CRIU image directory,
 * an extracted container archive (checkpoint/ beside config.dump), an archive
 * file in any compression, or "-" for an archive on standard input.
 */
static int open_input(struct c2c_ctx *ctx, const char *input, int outfd, const char *outdir,
		      bool place, struct c2c_source **ret)
{
	struct stat st;
	char *sub;
	int r;

	if (strcmp(input, "-") && stat(input, &st) < 0)
		return c2c_fail(ctx, &C2C_LOC_FILE(input), errno == ENOENT ? C2C_E_MISSING : C2C_E_IO,
				"cannot open input: %s", strerror(errno));
	if (!strcmp(input, "-") || !S_ISDIR(st.st_mode)) {
		ctx->report->kind = "archive";
		return open_archive(ctx, input, outfd, outdir, place, ret);
	}
	ctx->report->kind = "image directory";
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
	c2c_try_begin(ctx); /* not an image directory: the error below says why */
	r = c2c_source_open_dir(ctx, sub, ret);
	c2c_try_end(ctx);
	if (r == 0 && access(sub, F_OK) == 0) {
		char *inv = c2c_asprintf("%s/inventory.img", sub);

		if (!inv || access(inv, F_OK) < 0) {
			c2c_source_free(*ret);
			r = -1;
		}
		free(inv);
	}
	free(sub);
	if (r < 0)
		return c2c_fail(ctx, &C2C_LOC_FILE(input), C2C_E_MISSING,
				"no CRIU images here: neither inventory.img nor "
				"checkpoint/inventory.img");
	/* An extracted container archive: metadata beside checkpoint/. */
	ctx->report->kind = "extracted archive";
	(*ret)->meta_dir = c2c_strdup(input);
	if (!(*ret)->meta_dir) {
		c2c_source_free(*ret);
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	}
	return 0;
}

/* Why a process gets no core, or NULL if it gets one. */
static const char *skip_reason(const struct c2c_process *p)
{
	if (p->state == C2C_TASK_DEAD)
		return "is a zombie (it has no memory left)";
	return NULL;
}

static const char *state_name(uint32_t state)
{
	return state == C2C_TASK_DEAD ? "zombie" : state == C2C_TASK_STOPPED ? "stopped" : "alive";
}

#define C2C_INSPECT_DETAILS                                                                  \
	(C2C_FLAG_INSPECT_FILES | C2C_FLAG_INSPECT_SOCKETS | C2C_FLAG_INSPECT_ENV |            \
	 C2C_FLAG_INSPECT_MAPS | C2C_FLAG_INSPECT_TASK | C2C_FLAG_INSPECT_NETWORK |            \
	 C2C_FLAG_INSPECT_CGROUP)

/* The process tree and memory figures of the report (c2c_report). */
static int report_processes(struct c2c_ctx *ctx, struct c2c_checkpoint *ck)
{
	struct c2c_report *rep = ctx->report;

	rep->procs = calloc(ck->nprocs ? ck->nprocs : 1, sizeof(*rep->procs));
	if (!rep->procs)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	for (size_t i = 0; i < ck->nprocs; i++) {
		const struct c2c_process *p = &ck->procs[i];
		struct c2c_report_proc *rp = &rep->procs[rep->nprocs];
		uint64_t len = p->arg_end > p->arg_start ? p->arg_end - p->arg_start : 0;

		if (!ck->selected[i])
			continue;
		rep->nprocs++;
		rp->pid = p->pid;
		rp->ppid = p->ppid;
		memcpy(rp->comm, p->comm, sizeof(rp->comm));
		rp->state = state_name(p->state);
		rp->nthreads = p->nthreads;
		rp->arch = p->arch ? p->arch->name : NULL;
		rp->page_size = p->has_mm ? p->page_size : 0;
		rp->nvmas = p->nvmas;
		rp->skipped = skip_reason(p);
		if (p->exe_path && !(rp->exe = c2c_strdup(p->exe_path)))
			return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		if ((ctx->opts.flags & C2C_INSPECT_DETAILS) && p->has_mm) {
			struct c2c_task_res res = { 0 };
			int r = c2c_task_res_load(ctx, ck, p, &res);

			unsigned int fl = ctx->opts.flags;

			if (r == 0)
				r = c2c_task_res_add_net(ctx, ck, p, fl & C2C_FLAG_INSPECT_NETWORK,
							 fl & C2C_FLAG_INSPECT_CGROUP, &res);
			if (r < 0) {
				c2c_task_res_release(&res);
				return r;
			}
			rp->details = c2c_report_details(p, &res, ctx->opts.flags);
			c2c_task_res_release(&res);
			if (!rp->details)
				return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		}
		for (size_t k = 0; k < p->pm.n; k++)
			if (p->pm.ext[k].blob)
				rp->pages_images += p->pm.ext[k].npages;
		rp->pages_lazy = p->pm.lazy_pages;
		rp->pages_parent = p->pm.parent_pages;
		for (size_t k = 0; k < p->nvmas; k++)
			if (p->vmas[k].file)
				rp->file_mapped_pages += (p->vmas[k].end - p->vmas[k].start) / p->page_size;
		/* The whole argv, as ps shows it: NULs between arguments become spaces. */
		if (len > 4096)
			len = 4096;
		if (p->has_mm && len && (rp->cmdline = calloc(1, len + 1))) {
			if (c2c_process_read_mem(ctx, p, p->arg_start, rp->cmdline, len) < 0)
				return c2c_errcode(ctx);
			for (uint64_t k = 0; k < len; k++)
				if (!rp->cmdline[k])
					rp->cmdline[k] = ' ';
			while (len && rp->cmdline[len - 1] == ' ')
				rp->cmdline[--len] = '\0';
		}
	}
	{
		uint64_t pages = 0;

		for (size_t i = 0; i < ck->nblobs; i++)
			pages += ck->blobs[i]->size;
		rep->pages_bytes = pages;
	}
	return 0;
}

/* Load src, plan and write every selected process's core into dirfd. */
static int convert_source(struct c2c_ctx *ctx, struct c2c_source *src, int dirfd,
			  const char *outdir)
{
	struct c2c_checkpoint *ck = NULL;
	struct c2c_outfile *outs = NULL;
	struct c2c_coreplan *plans = NULL;
	uint32_t *pids = NULL;
	size_t *rpi = NULL; /* index of each plan's process in the report */
	size_t nplans = 0, nouts = 0, nselected = 0;
	struct c2c_sysroot sysroot = { NULL };
	int r;

	r = c2c_checkpoint_load(ctx, src, ctx->opts.pids, ctx->opts.npids, &ck);
	if (r == 0)
		r = report_processes(ctx, ck);
	if (r < 0 || dirfd < 0) /* dirfd < 0: inspect only */
		goto out;
	if (ctx->opts.image || ctx->opts.sysroot_out) {
		r = c2c_sysroot_build(ctx, ck, src, outdir, &sysroot); /* the root is the sysroot */
		if (r < 0)
			goto out;
	} else if (ctx->opts.root) {
		r = c2c_root_open(ctx, ctx->opts.root, &ck->rootfd);
		if (r == 0)
			r = c2c_rootdiff_load(ctx, ck, src, dirfd);
		if (r < 0)
			goto out;
		ck->root = ctx->opts.root;
	}
	plans = calloc(ck->nprocs ? ck->nprocs : 1, sizeof(*plans));
	pids = calloc(ck->nprocs ? ck->nprocs : 1, sizeof(*pids));
	rpi = calloc(ck->nprocs ? ck->nprocs : 1, sizeof(*rpi));
	outs = calloc(ck->nprocs ? ck->nprocs : 1, sizeof(*outs));
	if (!plans || !pids || !rpi || !outs) {
		r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		goto out;
	}

	/* Plan every core first: all checks before any write, and a known total. */
	ctx->progress.done = ctx->progress.total = 0;
	for (size_t i = 0; i < ck->nprocs; i++) {
		const struct c2c_process *p = &ck->procs[i];
		struct c2c_coreplan_opts opts = { ctx->opts.flags, ck->rootfd >= 0 ? ctx->opts.file_pages
									   : C2C_FILE_PAGES_NONE, ck };
		const char *why;
		char name[32];

		if (!ck->selected[i])
			continue;
		nselected++; /* the report lists the selected processes in this order */
		why = skip_reason(p);
		if (why) {
			c2c_log(ctx, C2C_LOG_INFO, "process %u (%s) %s: no core written", p->pid,
				p->comm, why);
			continue;
		}
		snprintf(name, sizeof(name), "core.%u", p->pid);
		if (!(ctx->opts.flags & C2C_FLAG_FORCE) &&
		    faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
			r = c2c_fail(ctx, &C2C_LOC_FILE(outdir), C2C_E_EXISTS,
				     "'%s' exists; not overwritten (use --force)", name);
			goto out;
		}
		r = c2c_corebuild_plan(ctx, p, &opts, &plans[nplans]);
		if (r < 0)
			goto out;
		if (plans[nplans].lazy_pages)
			c2c_warn(ctx, NULL,
				 "process %u: %llu lazy pages are not in the images (the page "
				 "server had them): left out of the core",
				 p->pid, (unsigned long long)plans[nplans].lazy_pages);
		ctx->progress.total += plans[nplans].data_bytes + plans[nplans].file_bytes;
		rpi[nplans] = nselected - 1;
		pids[nplans++] = p->pid;
	}

	for (size_t i = 0; i < nplans; i++) {
		const struct c2c_coreplan *plan = &plans[i];
		struct c2c_report_proc *rp =
			rpi[i] < ctx->report->nprocs ? &ctx->report->procs[rpi[i]] : NULL;
		struct stat st;
		char name[32];

		snprintf(name, sizeof(name), "core.%u", pids[i]);
		r = c2c_elfwrite_core(ctx, dirfd, outdir, name, plan, &outs[nouts]);
		if (r < 0)
			goto out;
		if (rp) {
			rp->has_core = true;
			rp->core_path = c2c_asprintf("%s/%s", outdir, name);
			rp->core_size = outs[nouts].size;
			rp->core_disk =
				fstat(outs[nouts].fd, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
			rp->segments = plan->nsegs;
			rp->bytes_from_images = plan->data_bytes;
			rp->bytes_from_root = plan->file_bytes;
			rp->pages_missing = plan->missing_pages;
		}
		nouts++;
		c2c_log(ctx, C2C_LOG_DEBUG,
			"process %u (%s): %zu thread%s, %zu segments, %llu bytes from the images, "
			"%llu from files",
			pids[i], rp ? rp->comm : "?", rp ? rp->nthreads : 0,
			rp && rp->nthreads == 1 ? "" : "s", plan->nsegs,
			(unsigned long long)plan->data_bytes, (unsigned long long)plan->file_bytes);
	}
	for (size_t i = 0; i < nouts; i++) {
		r = c2c_elfwrite_commit(ctx, &outs[i], ctx->opts.flags & C2C_FLAG_FORCE);
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
	/* Nothing was kept: the report must not name cores that were discarded. */
	for (size_t i = 0; r < 0 && ctx->report && i < ctx->report->nprocs; i++) {
		struct c2c_report_proc *rp = &ctx->report->procs[i];

		rp->has_core = false;
		free(rp->core_path);
		rp->core_path = NULL;
	}
	for (size_t i = 0; plans && i < nplans; i++)
		c2c_coreplan_release(&plans[i]);
	free(plans);
	free(pids);
	free(rpi);
	free(outs);
	if (ck && ck->rootfd >= 0)
		close(ck->rootfd);
	c2c_checkpoint_free(ck);
	c2c_sysroot_end(&sysroot, r);
	return r;
}

/* Common start of every conversion: clear state, libelf, the output directory. */
static int begin(struct c2c_ctx *ctx, const char *outdir, struct made_dirs *md, int *dirfd)
{
	/* libelf must be told which ELF version we use before any other call. */
	if (elf_version(EV_CURRENT) == EV_NONE)
		return c2c_fail(ctx, NULL, C2C_E_ELF, "libelf too old: %s", elf_errmsg(-1));
	if (!outdir)
		return c2c_fail(ctx, NULL, C2C_E_USAGE, "an output directory is required");
	/* The output directory first: archives spool their page data into it. */
	return open_outdir(ctx, outdir, md, dirfd);
}

static void end(struct c2c_ctx *ctx, struct made_dirs *md, int dirfd, int r)
{
	if (dirfd >= 0)
		close(dirfd);
	if (r < 0) {
		unmake_dirs(md);
		ctx->report->err_code = r;
		ctx->report->err_msg = c2c_strdup(c2c_errmsg(ctx));
	}
	free(md->path);
}

int c2c_convert(struct c2c_ctx *ctx, const char *input, const char *outdir)
{
	struct c2c_source *src = NULL;
	struct made_dirs md = { 0 };
	int dirfd = -1, r;

	c2c_op_begin(ctx);
	if (c2c_report_begin(ctx, input) < 0)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	r = begin(ctx, outdir, &md, &dirfd);
	if (r == 0 && !input)
		r = c2c_fail(ctx, NULL, C2C_E_USAGE, "an input is required");
	if (r == 0)
		r = open_input(ctx, input, dirfd, outdir, true, &src);
	if (r == 0)
		c2c_report_load_meta(ctx, ctx->report, src);
	if (r == 0 && ctx->opts.parent_input) {
		struct c2c_source *psrc;

		r = open_input(ctx, ctx->opts.parent_input, dirfd, outdir, false, &psrc);
		if (r == 0)
			c2c_source_set_parent(src, psrc);
	}
	if (r == 0)
		r = convert_source(ctx, src, dirfd, outdir);
	c2c_source_free(src);
	end(ctx, &md, dirfd, r);
	return r;
}

int c2c_input_open_tmp(struct c2c_ctx *ctx, const char *input, int *ret_spoolfd,
		       struct c2c_source **ret)
{
	const char *tmp = getenv("TMPDIR");
	int fd, r;

	if (c2c_report_begin(ctx, input) < 0)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	if (!input)
		return c2c_fail(ctx, NULL, C2C_E_USAGE, "an input is required");
	/* Page data of a compressed archive is spooled, unnamed. */
	if (!tmp || !*tmp)
		tmp = "/tmp";
	fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return c2c_fail(ctx, &C2C_LOC_FILE(tmp), C2C_E_IO, "cannot open temporary directory");
	r = open_input(ctx, input, fd, tmp, false, ret);
	if (r < 0) {
		close(fd);
		return r;
	}
	*ret_spoolfd = fd;
	return 0;
}

int c2c_input_open_streamed(struct c2c_ctx *ctx, const char *input, const struct c2c_placer *placer,
			    int *ret_spoolfd, struct c2c_source **ret)
{
	struct c2c_archive_in in = { .display = input, .fd = -1 };
	const char *tmp = getenv("TMPDIR");
	struct c2c_memtab *tab = NULL;
	struct archive *a = NULL;
	const char *prefix = NULL;
	struct stat st;
	int tmpfd = -1, r;

	if (c2c_report_begin(ctx, input) < 0)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	ctx->report->kind = "archive";
	/* Members other than page data (rootfs-diff.tar) are still spooled. */
	if (!tmp || !*tmp)
		tmp = "/tmp";
	tmpfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tmpfd < 0)
		return c2c_fail(ctx, &C2C_LOC_FILE(tmp), C2C_E_IO, "cannot open temporary directory");
	in.fd = open(input, O_RDONLY | O_CLOEXEC);
	if (in.fd < 0) {
		r = c2c_fail(ctx, &C2C_LOC_FILE(input), C2C_E_IO, "cannot open");
		goto out;
	}
	r = c2c_archive_open(ctx, &in, "cannot read it as a checkpoint archive", false, &a);
	if (r == 0)
		r = c2c_archive_read(ctx, a, input,
				     fstat(in.fd, &st) == 0 && S_ISREG(st.st_mode) ? in.fd : -1,
				     tmpfd, tmp, placer, &tab);
	if (r == 0 && !(prefix = image_prefix(tab)))
		r = c2c_fail(ctx, &C2C_LOC_FILE(input), C2C_E_MISSING,
			     "no CRIU images in the archive (no checkpoint/inventory.img)");
	if (r == 0)
		r = c2c_source_open_tab(ctx, tab, prefix, ret);
out:
	c2c_memtab_put(tab);
	c2c_archive_close(a);
	if (in.fd >= 0)
		close(in.fd);
	if (r < 0) {
		close(tmpfd);
		return r;
	}
	*ret_spoolfd = tmpfd;
	return 0;
}

/* Bytes of the regular files of an input: the archive, or a directory's tree (a few levels). */
static uint64_t input_bytes(const char *path, int depth)
{
	struct stat st;
	uint64_t n = 0;
	DIR *d;
	struct dirent *e;

	if (lstat(path, &st) < 0)
		return 0;
	if (S_ISREG(st.st_mode))
		return (uint64_t)st.st_size;
	if (!S_ISDIR(st.st_mode) || depth > 3 || !(d = opendir(path)))
		return 0;
	while ((e = readdir(d))) {
		char *sub;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if ((sub = c2c_asprintf("%s/%s", path, e->d_name))) {
			n += input_bytes(sub, depth + 1);
			free(sub);
		}
	}
	closedir(d);
	return n;
}

int c2c_inspect(struct c2c_ctx *ctx, const char *input)
{
	struct c2c_source *src = NULL;
	int spoolfd = -1, r;

	c2c_op_begin(ctx);
	r = c2c_input_open_tmp(ctx, input, &spoolfd, &src);
	if (r == 0)
		c2c_report_load_meta(ctx, ctx->report, src);
	if (r == 0)
		r = convert_source(ctx, src, -1, NULL);
	if (r == 0)
		c2c_report_set_sizes(ctx->report, strcmp(input, "-") ? input_bytes(input, 0) : 0,
				     ctx->report->pages_bytes);
	c2c_source_free(src);
	if (spoolfd >= 0)
		close(spoolfd);
	if (r < 0 && ctx->report) {
		ctx->report->err_code = r;
		ctx->report->err_msg = c2c_strdup(c2c_errmsg(ctx));
	}
	return r < 0 ? r : 0;
}

int c2c_convert_archive_memory(struct c2c_ctx *ctx, const void *buf, size_t len,
			       const char *outdir)
{
	const struct c2c_archive_in in = { .display = "<memory>", .fd = -1, .buf = buf, .len = len };
	struct c2c_source *src = NULL;
	struct made_dirs md = { 0 };
	int dirfd = -1, r;

	c2c_op_begin(ctx);
	if (c2c_report_begin(ctx, "<memory>") < 0)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	r = begin(ctx, outdir, &md, &dirfd);
	if (r == 0)
		r = archive_source(ctx, &in, "not a checkpoint archive", -1, dirfd, outdir, true,
				   &src);
	if (r == 0) {
		ctx->report->kind = "archive";
		c2c_report_load_meta(ctx, ctx->report, src);
		r = convert_source(ctx, src, dirfd, outdir);
	}
	c2c_source_free(src);
	end(ctx, &md, dirfd, r);
	return r;
}
