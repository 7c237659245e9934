/*
 * ckpt2core gdb|lldb: convert a checkpoint into a cache (once: later calls
 * reuse the cores) and run the debugger on one process's core with its
 * executable and the container's files, like `coredumpctl gdb`.
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
#include "sha256.h"

#define DBG_FAILED 2
#define DBG_USAGE 64

struct dbg_opts {
	bool lldb;
	const char *input, *root, *output;
	uint32_t pid;
	char **extra; /* after "--" */
	int nextra;
};

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
	uint8_t digest[C2C_SHA256_LEN];
	char hex[2 * C2C_SHA256_LEN + 1], root[PATH_MAX], dir[PATH_MAX];
	struct c2c_sha256 h;
	struct stat st;
	char *out;

	if (stat(o->input, &st) < 0) {
		fprintf(stderr, "ckpt2core: error: '%s': %s\n", o->input, strerror(errno));
		return NULL;
	}
	c2c_sha256_init(&h);
	hash_str(&h, "ckpt2core-cache-1");
	hash_str(&h, c2c_version());
	if ((S_ISDIR(st.st_mode) ? hash_dir(&h, o->input, 0) : hash_file(&h, o->input)) < 0) {
		fprintf(stderr, "ckpt2core: error: '%s': %s\n", o->input, strerror(errno));
		return NULL;
	}
	hash_str(&h, o->root && realpath(o->root, root) ? root : o->root);
	c2c_sha256_final(&h, digest);
	c2c_sha256_hex(digest, hex);
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

/*
 * Convert into dir (or reuse it); *ret_report is the manifest (report.json
 * in dir), which says which processes have cores. Returns 0 or an exit code.
 */
static int convert_cached(const struct dbg_opts *o, const char *dir, bool cached, json_t **ret)
{
	char tmp[PATH_MAX], path[PATH_MAX], *report = NULL;
	struct c2c_ctx *ctx = NULL;
	int r = DBG_FAILED;

	snprintf(path, sizeof(path), "%s/report.json", dir);
	if (cached && (*ret = json_load_file(path, 0, NULL)))
		return 0;
	if (cached) {
		snprintf(tmp, sizeof(tmp), "%s.tmp.%d", dir, (int)getpid());
		{
			char *slash = strrchr(tmp, '/');

			*slash = '\0';
			if (mkdirs(tmp) < 0) {
				fprintf(stderr, "ckpt2core: error: '%s': cannot create: %s\n", tmp,
					strerror(errno));
				return DBG_FAILED;
			}
			*slash = '/';
		}
	} else {
		snprintf(tmp, sizeof(tmp), "%s", dir);
	}
	if (!(ctx = c2c_ctx_new()))
		goto out;
	if (o->root && c2c_ctx_set_root(ctx, o->root, C2C_FILE_PAGES_HEADERS) < 0)
		goto out;
	if (!cached)
		c2c_ctx_set_flags(ctx, C2C_FLAG_FORCE);
	fprintf(stderr, "ckpt2core: converting '%s' into '%s'\n", o->input, dir);
	if (c2c_convert(ctx, o->input, tmp) < 0) {
		fprintf(stderr, "ckpt2core: error: %s\n", c2c_errmsg(ctx));
		goto out;
	}
	report = c2c_report(ctx, C2C_REPORT_JSON);
	snprintf(path, sizeof(path), "%s/report.json", tmp);
	if (!report || write_file(path, report) < 0) {
		fprintf(stderr, "ckpt2core: error: '%s': cannot write\n", path);
		goto out;
	}
	if (cached && rename(tmp, dir) < 0) {
		if (errno != EEXIST && errno != ENOTEMPTY) {
			fprintf(stderr, "ckpt2core: error: '%s': cannot rename: %s\n", tmp,
				strerror(errno));
			goto out;
		}
		/* Another ckpt2core made the same entry meanwhile: use that one. */
		snprintf(path, sizeof(path), "rm -rf -- '%s'", tmp);
		(void)!system(path);
		snprintf(path, sizeof(path), "%s/report.json", dir);
	} else {
		snprintf(path, sizeof(path), "%s/report.json", dir);
	}
	*ret = json_load_file(path, 0, NULL);
	r = *ret ? 0 : DBG_FAILED;
out:
	if (r && cached) {
		snprintf(path, sizeof(path), "rm -rf -- '%s'", tmp);
		(void)!system(path);
	}
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

int c2c_cli_debug(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },   { "root", required_argument, NULL, 'r' },
		{ "output", required_argument, NULL, 'o' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct dbg_opts o = { .lldb = !strcmp(argv[0], "lldb") };
	const char *cmd = o.lldb ? "lldb" : "gdb";
	char *dir = NULL, exe[PATH_MAX], core[PATH_MAX], root[PATH_MAX], iex[PATH_MAX + 32];
	json_t *rep = NULL, *p;
	char **av = NULL;
	int c, n = 0, code;

	opterr = 0;
	optind = 1;
	/* "+": stop at the first operand, so what follows INPUT is not taken for ours. */
	while ((c = getopt_long(argc, argv, "+:p:r:o:h", longopts, NULL)) != -1) {
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
		case 'o':
			o.output = optarg;
			break;
		case 'h':
			dbg_usage(stdout, cmd);
			return 0;
		default:
			return c2c_cli_usage_error("unknown or incomplete option (see --help)");
		}
	}
	if (optind >= argc || !strcmp(argv[optind], "--"))
		return c2c_cli_usage_error("an INPUT is required");
	o.input = argv[optind++];
	/* Options may also follow INPUT, up to "--". */
	while (optind < argc && strcmp(argv[optind], "--")) {
		int sub = optind;

		while ((c = getopt_long(argc, argv, "+:p:r:o:h", longopts, NULL)) != -1) {
			if (c == 'p')
				o.pid = (uint32_t)strtoul(optarg, NULL, 10);
			else if (c == 'r')
				o.root = optarg;
			else if (c == 'o')
				o.output = optarg;
			else
				return c2c_cli_usage_error("unknown or incomplete option (see --help)");
		}
		if (optind == sub && optind < argc && strcmp(argv[optind], "--"))
			return c2c_cli_usage_error("one INPUT only; debugger arguments go after --");
	}
	if (optind < argc && !strcmp(argv[optind], "--")) {
		o.extra = argv + optind + 1;
		o.nextra = argc - optind - 1;
	}

	dir = o.output ? strdup(o.output) : cache_dir(&o);
	if (!dir)
		return DBG_FAILED;
	code = convert_cached(&o, dir, !o.output, &rep);
	if (code)
		goto out;
	if (!(p = choose(&o, rep, &code)))
		goto out;
	snprintf(core, sizeof(core), "%s/core.%lld", dir,
		 (long long)json_integer_value(json_object_get(p, "pid")));
	root[0] = '\0';
	if (o.root && !realpath(o.root, root))
		snprintf(root, sizeof(root), "%s", o.root);
	exe[0] = '\0';
	if (json_string_value(json_object_get(p, "exe")))
		snprintf(exe, sizeof(exe), "%s%s", root, json_string_value(json_object_get(p, "exe")));
	av = calloc((size_t)o.nextra + 16, sizeof(*av));
	if (!av) {
		code = DBG_FAILED;
		goto out;
	}
	av[n++] = (char *)cmd;
	if (o.lldb) {
		if (*root) {
			snprintf(iex, sizeof(iex), "platform select --sysroot %s host", root);
			av[n++] = "-O";
			av[n++] = iex;
		}
		av[n++] = "--core";
		av[n++] = core;
		if (*exe)
			av[n++] = exe;
	} else {
		av[n++] = "-q";
		if (*root) {
			snprintf(iex, sizeof(iex), "set sysroot %s", root);
			av[n++] = "-iex";
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
	execvp(cmd, av);
	fprintf(stderr, "ckpt2core: error: cannot run %s: %s\n", cmd, strerror(errno));
	code = errno == ENOENT ? 127 : 126;
out:
	free(av);
	json_decref(rep);
	free(dir);
	return code;
}
