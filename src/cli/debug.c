/*
 * ckpt2core gdb|lldb|bt: convert a checkpoint into a cache (once: later
 * calls reuse the cores), then run the debugger on one process's core with
 * its executable and the container's files, like `coredumpctl gdb`, or
 * print every thread's symbolised stack (c2c_core_backtrace, no debugger).
 *
 * The cache entry is named by a SHA-256 over the input's content (the bytes
 * of an archive; for a directory, the names, sizes and modification times
 * of its files, since hashing every page again would cost more than the
 * conversion) and the options that change the cores. It is converted into a
 * temporary directory and renamed into place, so an interrupted conversion
 * is never taken for a finished one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt2core/ckpt2core.h"
#include "cli.h"

#define DBG_FAILED 2
#define DBG_USAGE 64

struct dbg_opts {
	bool lldb, bt;
	const char *input, *root, *image, *output;
	uint32_t pid;
	char **extra; /* after "--" */
	int nextra;
};

static void bt_usage(FILE *f)
{
	fprintf(f,
		"Usage: ckpt2core bt [OPTIONS] INPUT\n"
		"Convert INPUT (cached) and print a symbolised backtrace of every thread of\n"
		"every process (or of --pid N), unwound with elfutils' libdwfl: no debugger\n"
		"needed.\n"
		"\n"
		"Options:\n"
		"  -p, --pid N       only process N\n"
		"  -r, --root DIR    the container's files, for symbols\n"
		"  -i, --image IMAGE the container's image, for symbols\n"
		"  -o, --output DIR  convert into DIR instead of the cache\n"
		"  -h, --help        show this help and exit\n"
		"\n"
		"Exit status: 0, or 2 if the conversion or an unwind failed, 64 on a usage\n"
		"error.\n");
}

static void dbg_usage(FILE *f, const char *cmd)
{
	fprintf(f,
		"Usage: ckpt2core %s [OPTIONS] INPUT [-- DEBUGGER-ARGS...]\n"
		"Convert INPUT (cached: the next call reuses the cores) and run %s on one\n"
		"process's core, with its executable and the container's files.\n"
		"\n"
		"Options:\n"
		"  -p, --pid N       the process to debug; without it the only process with a\n"
		"                    core, else the container's main process (the root of the\n"
		"                    process tree), else a list to choose from\n"
		"  -r, --root DIR    the container's files (its rootfs, or / for a host\n"
		"                    process): symbols and file pages come from there\n"
		"  -i, --image IMAGE the container's image instead (OCI layout, oci-archive,\n"
		"                    docker-archive, rootfs; see ckpt2core --image)\n"
		"  -o, --output DIR  convert into DIR instead of the cache\n"
		"                    (${XDG_CACHE_HOME:-~/.cache}/ckpt2core)\n"
		"  -h, --help        show this help and exit\n"
		"\n"
		"Arguments after -- go to %s, e.g. -- -batch -ex bt\n"
		"Exit status: the debugger's, or 2 if the conversion failed, 64 on a usage\n"
		"error.\n",
		cmd, cmd, cmd);
}

static void hash_str(struct c2c_sha256 *h, const char *s)
{
	c2c_sha256_update(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

/* Names, sizes and times of a directory's files, in name order, recursively. */
static int hash_dir(struct c2c_sha256 *h, const char *path, int depth)
{
	struct dirent **names = NULL;
	int n = scandir(path, &names, NULL, alphasort);

	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		char sub[PATH_MAX];
		struct stat st;

		if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..") &&
		    snprintf(sub, sizeof(sub), "%s/%s", path, names[i]->d_name) <
			    (int)sizeof(sub) &&
		    lstat(sub, &st) == 0) {
			uint64_t v[3] = { (uint64_t)st.st_size, (uint64_t)st.st_mtim.tv_sec,
					  (uint64_t)st.st_mtim.tv_nsec };

			hash_str(h, names[i]->d_name);
			c2c_sha256_update(h, v, sizeof(v));
			if (S_ISDIR(st.st_mode) && depth < 4)
				(void)hash_dir(h, sub, depth + 1);
		}
		free(names[i]);
	}
	free(names);
	return 0;
}

static int hash_file(struct c2c_sha256 *h, const char *path)
{
	static uint8_t buf[1 << 16];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		c2c_sha256_update(h, buf, (size_t)n);
	close(fd);
	return n < 0 ? -1 : 0;
}

/* The cache directory for o's input, or NULL with a message. */
static char *cache_dir(const struct dbg_opts *o)
{
	const char *base = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char hex[C2C_SHA256_HEX_LEN + 1], root[PATH_MAX], dir[PATH_MAX];
	struct c2c_sha256 *h = c2c_sha256_new();
	struct stat st;
	char *out;

	if (!h)
		return NULL;
	if (stat(o->input, &st) < 0) {
		fprintf(stderr, "ckpt2core: error: '%s': %s\n", o->input, strerror(errno));
		c2c_sha256_free(h);
		return NULL;
	}
	hash_str(h, "ckpt2core-cache-1");
	hash_str(h, c2c_version());
	if ((S_ISDIR(st.st_mode) ? hash_dir(h, o->input, 0) : hash_file(h, o->input)) < 0) {
		fprintf(stderr, "ckpt2core: error: '%s': %s\n", o->input, strerror(errno));
		c2c_sha256_free(h);
		return NULL;
	}
	hash_str(h, o->root && realpath(o->root, root) ? root : o->root);
	hash_str(h, o->image && realpath(o->image, root) ? root : o->image);
	c2c_sha256_hex(h, hex);
	c2c_sha256_free(h);
	if (base && *base)
		snprintf(dir, sizeof(dir), "%s/ckpt2core", base);
	else if (home && *home)
		snprintf(dir, sizeof(dir), "%s/.cache/ckpt2core", home);
	else
		snprintf(dir, sizeof(dir), "/tmp/ckpt2core-cache-%u", (unsigned)getuid());
	if (asprintf(&out, "%s/%.32s", dir, hex) < 0)
		return NULL;
	return out;
}

/* mkdir -p, owner only (the cores hold every secret of the processes). */
static int mkdirs(const char *path)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -1;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int r = 0;

	if (!f)
		return -1;
	if (fputs(text, f) < 0)
		r = -1;
	if (fclose(f) != 0)
		r = -1;
	return r;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 ? -1 : 0;
}

/* Remove a directory tree of ours (a half-made cache entry). */
static void rmtree(const char *path)
{
	(void)nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static json_t *load_report(const char *dir)
{
	char *path;
	json_t *j;

	if (asprintf(&path, "%s/report.json", dir) < 0)
		return NULL;
	j = json_load_file(path, 0, NULL);
	free(path);
	return j;
}

/*
 * Convert into dir (or reuse it when cached); *ret is the manifest
 * (report.json in dir), which says which processes have cores. Returns 0
 * or an exit code.
 */
static int convert_cached(const struct dbg_opts *o, const char *dir, bool cached, json_t **ret)
{
	char *tmp = NULL, *path = NULL, *report = NULL, *slash;
	struct c2c_ctx *ctx = NULL;
	int r = DBG_FAILED;

	if (cached && (*ret = load_report(dir)))
		return 0;
	if (asprintf(&tmp, cached ? "%s.tmp.%d" : "%s", dir, (int)getpid()) < 0)
		return DBG_FAILED;
	slash = strrchr(tmp, '/');
	if (cached && slash) {
		*slash = '\0';
		if (mkdirs(tmp) < 0) {
			fprintf(stderr, "ckpt2core: error: '%s': cannot create: %s\n", tmp,
				strerror(errno));
			free(tmp);
			return DBG_FAILED;
		}
		*slash = '/';
	}
	if (!(ctx = c2c_ctx_new()))
		goto out;
	if (o->root && c2c_ctx_set_root(ctx, o->root, C2C_FILE_PAGES_HEADERS) < 0)
		goto out;
	/* The image's files go to DIR/sysroot, which the debugger then gets as its sysroot. */
	if (o->image && c2c_ctx_set_image(ctx, o->image, C2C_FILE_PAGES_HEADERS) < 0)
		goto out;
	if (!cached)
		c2c_ctx_set_flags(ctx, C2C_FLAG_FORCE);
	fprintf(stderr, "ckpt2core: converting '%s' into '%s'\n", o->input, dir);
	if (c2c_convert(ctx, o->input, tmp) < 0) {
		fprintf(stderr, "ckpt2core: error: %s\n", c2c_errmsg(ctx));
		goto out;
	}
	report = c2c_report(ctx, C2C_REPORT_JSON);
	if (!report || asprintf(&path, "%s/report.json", tmp) < 0 || write_file(path, report) < 0) {
		fprintf(stderr, "ckpt2core: error: '%s': cannot write the report\n", tmp);
		goto out;
	}
	if (cached && rename(tmp, dir) < 0) {
		if (errno != EEXIST && errno != ENOTEMPTY) {
			fprintf(stderr, "ckpt2core: error: '%s': cannot rename: %s\n", tmp,
				strerror(errno));
			goto out;
		}
		rmtree(tmp); /* another ckpt2core made the same entry meanwhile: use that one */
	}
	*ret = load_report(dir);
	r = *ret ? 0 : DBG_FAILED;
out:
	if (r && cached)
		rmtree(tmp);
	free(path);
	free(tmp);
	free(report);
	c2c_ctx_free(ctx);
	return r;
}

/* The process to debug: its report entry, or NULL with a message (*code set). */
static json_t *choose(const struct dbg_opts *o, json_t *rep, int *code)
{
	json_t *procs = json_object_get(rep, "processes"), *p, *only = NULL, *first = NULL;
	size_t i, ncores = 0;

	*code = DBG_USAGE;
	json_array_foreach(procs, i, p) {
		bool has = json_is_object(json_object_get(p, "core"));

		if (o->pid && json_integer_value(json_object_get(p, "pid")) == o->pid) {
			if (has)
				return p;
			fprintf(stderr, "ckpt2core: error: process %u has no core: %s\n", o->pid,
				json_string_value(json_object_get(p, "skipped")) ?: "unknown");
			*code = DBG_FAILED;
			return NULL;
		}
		if (has) {
			ncores++;
			only = p;
			if (!first && i == 0)
				first = p; /* the root of the process tree: the container's main process */
		}
	}
	if (o->pid) {
		fprintf(stderr, "ckpt2core: error: no process %u in '%s'\n", o->pid, o->input);
		return NULL;
	}
	if (ncores == 1)
		return only;
	if (first)
		return first;
	fprintf(stderr, "ckpt2core: several processes; choose one with --pid:\n");
	json_array_foreach(procs, i, p)
		if (json_is_object(json_object_get(p, "core")))
			fprintf(stderr, "  %6lld  %s\n",
				(long long)json_integer_value(json_object_get(p, "pid")),
				json_string_value(json_object_get(p, "cmdline")) ?: "");
	return NULL;
}

static int print_frame(void *data, const struct c2c_frame *f)
{
	uint32_t *last_tid = data;

	if (f->index == 0 && f->tid != *last_tid)
		printf("  thread %u:\n", f->tid);
	*last_tid = f->tid;
	printf("    #%-2zu 0x%016llx", f->index, (unsigned long long)f->pc);
	if (f->symbol)
		printf(" in %s+0x%llx", f->symbol, (unsigned long long)f->offset);
	else
		printf(" in ??");
	if (f->file)
		printf(" at %s:%d", f->file, f->line);
	if (f->module)
		printf(" (%s)", f->module);
	putchar('\n');
	return 0;
}

/* Every process with a core (or o->pid): its threads' stacks. */
static int print_stacks(const struct dbg_opts *o, const char *dir, json_t *rep, const char *root)
{
	json_t *procs = json_object_get(rep, "processes"), *p;
	int code = 0, shown = 0;
	size_t i;

	json_array_foreach(procs, i, p) {
		long long pid = json_integer_value(json_object_get(p, "pid"));
		const char *exe = json_string_value(json_object_get(p, "exe"));
		char core[PATH_MAX], exepath[PATH_MAX];
		struct c2c_ctx *ctx;
		uint32_t last = 0;

		if ((o->pid && pid != o->pid) || !json_is_object(json_object_get(p, "core")))
			continue;
		snprintf(core, sizeof(core), "%s/core.%lld", dir, pid);
		snprintf(exepath, sizeof(exepath), "%s%s", root, exe ? exe : "");
		printf("pid %lld (%s):\n", pid,
		       json_string_value(json_object_get(p, "comm")) ?: "?");
		shown++;
		if (!(ctx = c2c_ctx_new()))
			return DBG_FAILED;
		if (c2c_core_backtrace(ctx, core, exe && access(exepath, R_OK) == 0 ? exepath : NULL,
				       *root ? root : NULL, print_frame, &last) < 0) {
			fflush(stdout);
			fprintf(stderr, "ckpt2core: error: %s\n", c2c_errmsg(ctx));
			code = DBG_FAILED;
		}
		c2c_ctx_free(ctx);
	}
	if (!shown) {
		fprintf(stderr, o->pid ? "ckpt2core: error: process %u has no core\n"
				       : "ckpt2core: error: no process has a core%.0u\n",
			o->pid);
		return DBG_FAILED;
	}
	return code;
}

int c2c_cli_debug(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },   { "root", required_argument, NULL, 'r' },
		{ "image", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct dbg_opts o = { .lldb = !strcmp(argv[0], "lldb"), .bt = !strcmp(argv[0], "bt") };
	const char *cmd = o.lldb ? "lldb" : o.bt ? "bt" : "gdb";
	char *dir = NULL, exe[PATH_MAX], core[PATH_MAX], root[PATH_MAX], iex[PATH_MAX + 32];
	json_t *rep = NULL, *p;
	/* execvp takes char *const[]: our own writable copies of the words. */
	char lit_gdb[] = "gdb", lit_lldb[] = "lldb", lit_O[] = "-O", lit_core[] = "--core",
	     lit_q[] = "-q", lit_iex[] = "-iex";
	char **av = NULL;
	int c, n = 0, code;

	/* What follows "--" is the debugger's; before it, options and one INPUT in any order. */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			o.extra = argv + i + 1;
			o.nextra = argc - i - 1;
			argc = i;
			break;
		}
	}
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":p:r:i:o:h", longopts, NULL)) != -1) {
		char *end;
		unsigned long v;

		switch (c) {
		case 'p':
			v = strtoul(optarg, &end, 10);
			if (!*optarg || *end || !v || v > UINT32_MAX)
				return c2c_cli_usage_error("--pid takes a process id");
			o.pid = (uint32_t)v;
			break;
		case 'r':
			o.root = optarg;
			break;
		case 'i':
			o.image = optarg;
			break;
		case 'o':
			o.output = optarg;
			break;
		case 'h':
			if (o.bt)
				bt_usage(stdout);
			else
				dbg_usage(stdout, cmd);
			return 0;
		default:
			return c2c_cli_usage_error("unknown or incomplete option (see --help)");
		}
	}
	if (o.root && o.image)
		return c2c_cli_usage_error("--root and --image exclude each other");
	if (optind >= argc)
		return c2c_cli_usage_error("an INPUT is required");
	if (argc - optind > 1)
		return c2c_cli_usage_error("one INPUT only; debugger arguments go after --");
	o.input = argv[optind];

	dir = o.output ? strdup(o.output) : cache_dir(&o);
	if (!dir)
		return DBG_FAILED;
	code = convert_cached(&o, dir, !o.output, &rep);
	if (code)
		goto out;
	root[0] = '\0';
	if (o.image && snprintf(root, sizeof(root), "%s/sysroot", dir) >= (int)sizeof(root))
		root[0] = '\0';
	else if (o.root && !realpath(o.root, root))
		snprintf(root, sizeof(root), "%s", o.root);
	if (o.bt) {
		code = print_stacks(&o, dir, rep, root);
		goto out;
	}
	if (!(p = choose(&o, rep, &code)))
		goto out;
	snprintf(core, sizeof(core), "%s/core.%lld", dir,
		 (long long)json_integer_value(json_object_get(p, "pid")));
	exe[0] = '\0';
	if (json_string_value(json_object_get(p, "exe")))
		snprintf(exe, sizeof(exe), "%s%s", root, json_string_value(json_object_get(p, "exe")));
	if (*exe && access(exe, R_OK) < 0) {
		fprintf(stderr, "ckpt2core: warning: '%s': %s; the debugger gets the core only\n", exe,
			strerror(errno));
		exe[0] = '\0';
	}
	av = calloc((size_t)o.nextra + 16, sizeof(*av));
	if (!av) {
		code = DBG_FAILED;
		goto out;
	}
	av[n++] = o.lldb ? lit_lldb : lit_gdb;
	if (o.lldb) {
		if (*root) {
			snprintf(iex, sizeof(iex), "platform select --sysroot %s host", root);
			av[n++] = lit_O;
			av[n++] = iex;
		}
		av[n++] = lit_core;
		av[n++] = core;
		if (*exe)
			av[n++] = exe;
	} else {
		av[n++] = lit_q;
		if (*root) {
			snprintf(iex, sizeof(iex), "set sysroot %s", root);
			av[n++] = lit_iex;
			av[n++] = iex;
		}
		if (*exe)
			av[n++] = exe;
		av[n++] = core;
	}
	for (int i = 0; i < o.nextra; i++)
		av[n++] = o.extra[i];
	av[n] = NULL;
	fflush(NULL);
	execvp(av[0], av);
	fprintf(stderr, "ckpt2core: error: cannot run %s: %s\n", cmd, strerror(errno));
	code = errno == ENOENT ? 127 : 126;
out:
	free(av);
	json_decref(rep);
	free(dir);
	return code;
}
