/*
 * ckpt2core command line: parse options, hand them to the library, print its
 * messages and reports, map the results to an exit code. No conversion logic
 * lives here. Several inputs are converted in parallel with -j, each with its
 * own library context.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ckpt2core/ckpt2core.h"
#include "cli.h"
#include "watch.h"

/* Exit codes (documented in --help, README and the man page). */
#define EXIT_OK 0	      /* every core written, no warnings */
#define EXIT_WARNINGS 1	      /* cores written, with warnings */
#define EXIT_FAILED 2	      /* conversion failed; nothing left behind */
#define EXIT_SOME_FAILED 3    /* several inputs: some failed, others converted */
#define EXIT_USAGE 64	      /* bad command line (EX_USAGE) */
#define EXIT_PLUGIN_DESCR 42  /* checkpointctl's plugin protocol */

#define MAX_JOBS 64

static const char *prog = "ckpt2core";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [OPTIONS] INPUT...\n"
		"       %s inspect [--format tree|json] [--all|--files|--sockets|...] [--pid N]... INPUT...\n"
		"       %s grep [OPTIONS] PATTERN INPUT...   (see ckpt2core grep --help)\n"
		"       %s gdb|lldb|bt [OPTIONS] INPUT [-- ARGS]  (see ckpt2core gdb --help)\n"
		"       %s watch DIR -o OUTDIR [--once] [--jobs N] [--keep-cores DAYS] ...\n"
		"                 (convert each archive that appears in DIR; watch --help)\n"
		"Convert CRIU checkpoints into ELF core files, one per process, named\n"
		"core.<pid> (pid as in the checkpoint's pstree.img), that gdb reads like a\n"
		"gcore of the live process:  gdb EXECUTABLE OUTDIR/core.<pid>\n"
		"\n"
		"An INPUT is told by its content: a CRIU image directory, an extracted\n"
		"container checkpoint (a directory holding checkpoint/), a checkpoint archive\n"
		"(Kubernetes/CRI-O, Podman, containerd; tar, plain or gzip/zstd/xz/bzip2), or\n"
		"- for an archive on standard input. Each archive is read once.\n"
		"\n"
		"Options:\n"
		"  -o, --output OUTDIR     write the cores into OUTDIR (created if missing,\n"
		"                          default: the current directory); with several\n"
		"                          inputs, into OUTDIR/<input name>/\n"
		"  -p, --pid N             convert only process N (repeatable)\n"
		"  -f, --force             replace existing core files\n"
		"  -r, --root DIR          read mapped files from DIR (a container's rootfs, or /\n"
		"                          for a host process) at the paths the process saw;\n"
		"                          without it no file outside the checkpoint is opened\n"
		"      --file-pages MODE   which file pages go into the core with --root/--image:\n"
		"                            none     only pages the images hold\n"
		"                            headers  what the kernel and gcore write: ELF headers,\n"
		"                                     written private and all shared file mappings\n"
		"                                     (default)\n"
		"                            all      every mapped file page (self-contained core)\n"
		"      --image IMAGE       the container's image: an OCI layout directory, an\n"
		"                          oci-archive or docker-archive tar, or a rootfs\n"
		"                          directory; the files the processes map go into\n"
		"                          OUTDIR/sysroot (gdb: set sysroot OUTDIR/sysroot)\n"
		"                          and are read from there as with --root\n"
		"      --sysroot-out DIR   write that sysroot to DIR (also with --root)\n"
		"      --parent INPUT      the parent checkpoint of an incremental one (e.g. a\n"
		"                          Podman pre-checkpoint archive), for PE_PARENT pages\n"
		"      --include-dontdump  keep MADV_DONTDUMP mappings (the kernel leaves them out)\n"
		"  -j, --jobs N            convert up to N inputs in parallel (default 1)\n"
		"      --json FILE         write a JSON manifest of every input (- for stdout)\n"
		"      --format FMT        inspect: tree (default) or json\n"
		"      --files             inspect: each process's open files and pipes\n"
		"      --sockets           inspect: its sockets (protocol, state, addresses)\n"
		"      --env               inspect: its environment, read from memory\n"
		"      --maps              inspect: its memory map\n"
		"      --task              inspect: host name, namespaces, directories, credentials\n"
		"      --metadata          inspect: the container's IP, annotations and sizes\n"
		"      --mounts            inspect: the container's OCI mounts\n"
		"      --fs-diff           inspect: the files the container changed and deleted\n"
		"      --network           inspect: its network interfaces, MAC and IP addresses,\n"
		"                          route counts (and the container's IP)\n"
		"      --cgroup            inspect: its cgroup in each controller hierarchy\n"
		"      --all               inspect: all of these\n"
		"  -v, --verbose           more detail (repeat for the library's source location\n"
		"                          of an error)\n"
		"  -q, --quiet             print errors only (and no progress bar)\n"
		"  -h, --help              show this help and exit\n"
		"  -V, --version           show the version and exit\n"
		"\n"
		"Cores are written mode 0600, unnamed until every process of an input has\n"
		"converted; on failure nothing is left behind. Zombies have no memory and get\n"
		"no core. On a terminal a progress bar shows on stderr.\n"
		"\n"
		"Exit status:\n"
		"  0   every core written, no warnings\n"
		"  1   cores written, with warnings (e.g. pages no image holds)\n"
		"  2   conversion failed (the error names the file, member and byte offset)\n"
		"  3   several inputs: some failed, the others were converted\n"
		"  64  usage error\n",
		prog, prog, prog, prog, prog);
}

struct opts {
	const char *outdir, *root, *parent, *json, *image, *sysroot_out;
	enum c2c_file_pages file_pages;
	unsigned int flags;
	uint32_t pids[1024];
	size_t npids;
	int verbose, jobs;
	bool quiet, inspect, tree;
};

/* One input of a run. */
struct job {
	const char *input;
	char *outdir;	/* where its cores go */
	char *label;	/* prefix of its messages in a batch, or NULL */
	int result;	/* c2c result */
	size_t warnings;
	char *report;	/* inspect output (tree or JSON) */
	char *json;	/* report for the --json manifest */
};

struct run {
	const struct opts *o;
	struct job *jobs;
	size_t njobs;
	atomic_size_t next;
	bool progress; /* draw a progress bar on stderr */
	pthread_mutex_t lock;
};

struct logctx {
	const struct opts *o;
	const struct job *job;
	struct run *run;
	struct timespec start;
	double last_draw;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void log_cb(void *data, enum c2c_log_level level, const char *msg)
{
	const struct logctx *lc = data;
	const char *label = lc->job->label;

	if (lc->o->quiet && level > C2C_LOG_ERROR)
		return;
	pthread_mutex_lock(&lc->run->lock);
	if (lc->run->progress)
		fputs("\r\033[K", stderr); /* clear the progress line first */
	fprintf(stderr, "%s: %s%s%s%s%s\n", prog,
		level == C2C_LOG_ERROR ? "error: " : level == C2C_LOG_WARN ? "warning: " : "",
		label ? "[" : "", label ? label : "", label ? "] " : "", msg);
	pthread_mutex_unlock(&lc->run->lock);
}

static void human(char *buf, size_t n, double bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	size_t u = 0;

	while (bytes >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		bytes /= 1024;
		u++;
	}
	snprintf(buf, n, "%.1f %s", bytes, units[u]);
}

/* A progress line on the terminal: bytes done / total, rate, ETA (10 times a second at most). */
static void progress_cb(void *data, uint64_t done, uint64_t total)
{
	struct logctx *lc = data;
	double t = now_s(), el = t - ((double)lc->start.tv_sec + (double)lc->start.tv_nsec / 1e9);
	char d[32], tot[32], rate[32];

	if (t - lc->last_draw < 0.1 && done < total)
		return;
	lc->last_draw = t;
	human(d, sizeof(d), (double)done);
	human(tot, sizeof(tot), (double)total);
	human(rate, sizeof(rate), el > 0 ? (double)done / el : 0);
	pthread_mutex_lock(&lc->run->lock);
	fprintf(stderr, "\r\033[K%s%s%s%s / %s  %3.0f%%  %s/s  ETA %.0fs",
		lc->job->label ? "[" : "", lc->job->label ? lc->job->label : "",
		lc->job->label ? "] " : "", d, tot,
		total ? 100.0 * (double)done / (double)total : 100.0,
		rate, done && total > done ? el * (double)(total - done) / (double)done : 0.0);
	fflush(stderr);
	pthread_mutex_unlock(&lc->run->lock);
}

static void run_job(struct run *run, struct job *job)
{
	const struct opts *o = run->o;
	struct logctx lc = { o, job, run, { 0, 0 }, 0 };
	struct c2c_ctx *ctx = c2c_ctx_new();

	if (!ctx) {
		job->result = C2C_E_NOMEM;
		fprintf(stderr, "%s: error: out of memory\n", prog);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &lc.start);
	c2c_ctx_set_flags(ctx, o->flags);
	c2c_ctx_set_log_fn(ctx, log_cb, &lc, o->verbose ? C2C_LOG_DEBUG : C2C_LOG_INFO);
	if (run->progress)
		c2c_ctx_set_progress_fn(ctx, progress_cb, &lc);
	for (size_t i = 0; i < o->npids; i++)
		c2c_ctx_add_pid(ctx, o->pids[i]);
	if ((o->root && c2c_ctx_set_root(ctx, o->root, o->file_pages) < 0) ||
	    (o->image && c2c_ctx_set_image(ctx, o->image, o->file_pages) < 0) ||
	    (o->sysroot_out && c2c_ctx_set_sysroot_out(ctx, o->sysroot_out) < 0) ||
	    (o->parent && c2c_ctx_set_parent(ctx, o->parent) < 0)) {
		job->result = C2C_E_NOMEM;
		goto out;
	}
	job->result = o->inspect ? c2c_inspect(ctx, job->input)
				 : c2c_convert(ctx, job->input, job->outdir);
	if (run->progress) {
		pthread_mutex_lock(&run->lock);
		fputs("\r\033[K", stderr);
		pthread_mutex_unlock(&run->lock);
	}
	job->warnings = c2c_warning_count(ctx);
	if (job->result < 0) {
		pthread_mutex_lock(&run->lock);
		if (o->verbose > 1)
			fprintf(stderr, "%s: error: %s%s%s[%s at %s] %s\n", prog,
				job->label ? "[" : "", job->label ? job->label : "",
				job->label ? "] " : "", c2c_strerror(job->result), c2c_errsite(ctx),
				c2c_errmsg(ctx));
		else
			fprintf(stderr, "%s: error: %s%s%s%s\n", prog, job->label ? "[" : "",
				job->label ? job->label : "", job->label ? "] " : "",
				c2c_errmsg(ctx));
		pthread_mutex_unlock(&run->lock);
	}
	if (o->inspect)
		job->report = c2c_report(ctx, o->tree ? C2C_REPORT_TREE : C2C_REPORT_JSON);
	if (o->json)
		job->json = c2c_report(ctx, C2C_REPORT_JSON);
out:
	c2c_ctx_free(ctx);
}

static void *worker(void *arg)
{
	struct run *run = arg;
	size_t i;

	while ((i = atomic_fetch_add(&run->next, 1)) < run->njobs)
		run_job(run, &run->jobs[i]);
	return NULL;
}

/* "checkpoint-pod_ns-ctr-2026-...tar.zst" -> "checkpoint-pod_ns-ctr-2026-..." */
static char *stem_of(const char *input)
{
	static const char *const exts[] = { ".tar.gz", ".tgz",	".tar.zst", ".tzst", ".tar.xz",
					    ".txz",    ".tar.bz2", ".tbz2", ".tar",  ".gz",
					    ".zst",    ".xz",	".bz2" };
	const char *base;
	size_t n;
	char *s;

	if (!strcmp(input, "-"))
		return strdup("stdin");
	n = strlen(input);
	while (n > 1 && input[n - 1] == '/')
		n--;
	base = input + n;
	while (base > input && base[-1] != '/')
		base--;
	n -= (size_t)(base - input);
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		size_t e = strlen(exts[i]);

		if (n > e && !strncmp(base + n - e, exts[i], e)) {
			n -= e;
			break;
		}
	}
	if (!n || (n == 1 && base[0] == '.') || (n == 2 && !strncmp(base, "..", 2)))
		return strdup("input");
	s = strndup(base, n);
	return s;
}

static int usage_error(void)
{
	fprintf(stderr, "Try '%s --help' for more information.\n", prog);
	return EXIT_USAGE;
}

int c2c_cli_usage_error(const char *msg)
{
	fprintf(stderr, "%s: error: %s\n", prog, msg);
	return usage_error();
}

int c2c_cli_file_pages(const char *arg, enum c2c_file_pages *ret)
{
	static const struct {
		const char *name;
		enum c2c_file_pages v;
	} modes[] = {
		{ "none", C2C_FILE_PAGES_NONE },
		{ "headers", C2C_FILE_PAGES_HEADERS },
		{ "all", C2C_FILE_PAGES_ALL },
	};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (!strcmp(arg, modes[i].name)) {
			*ret = modes[i].v;
			return 0;
		}
	}
	return -1;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *ret)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v > max || s[0] == '-' || s[0] == '+')
		return -1;
	*ret = v;
	return 0;
}

static int write_manifest(const struct opts *o, struct job *jobs, size_t n)
{
	FILE *f = strcmp(o->json, "-") ? fopen(o->json, "we") : stdout;

	if (!f) {
		fprintf(stderr, "%s: error: '%s': cannot write the manifest: %s\n", prog, o->json,
			strerror(errno));
		return -1;
	}
	fprintf(f, "{\"ckpt2core\": \"%s\", \"inputs\": [", c2c_version());
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\n%s", i ? "," : "", jobs[i].json ? jobs[i].json : "null");
	fprintf(f, "\n]}\n");
	if (f != stdout ? fclose(f) != 0 : fflush(f) != 0) {
		fprintf(stderr, "%s: error: '%s': cannot write the manifest\n", prog, o->json);
		return -1;
	}
	return 0;
}

/* Cores and spool files are held open until an input's cores are committed. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	enum { OPT_INCLUDE_DONTDUMP = 256, OPT_FILE_PAGES, OPT_PARENT, OPT_JSON, OPT_FORMAT,
	       OPT_PLUGIN_DESCR, OPT_FILES, OPT_SOCKETS, OPT_ENV, OPT_MAPS, OPT_TASK, OPT_ALL,
	       OPT_METADATA, OPT_MOUNTS, OPT_FS_DIFF, OPT_IMAGE, OPT_SYSROOT_OUT, OPT_NETWORK,
	       OPT_CGROUP };
	/* inspect's detail options and the flags they set (--all: every one). */
	static const struct {
		int opt;
		unsigned int flag;
	} inspect_opts[] = {
		{ OPT_FILES, C2C_FLAG_INSPECT_FILES },	     { OPT_SOCKETS, C2C_FLAG_INSPECT_SOCKETS },
		{ OPT_ENV, C2C_FLAG_INSPECT_ENV },	     { OPT_MAPS, C2C_FLAG_INSPECT_MAPS },
		{ OPT_TASK, C2C_FLAG_INSPECT_TASK },	     { OPT_METADATA, C2C_FLAG_INSPECT_METADATA },
		{ OPT_MOUNTS, C2C_FLAG_INSPECT_MOUNTS },     { OPT_FS_DIFF, C2C_FLAG_INSPECT_FS_DIFF },
		{ OPT_NETWORK, C2C_FLAG_INSPECT_NETWORK },
		{ OPT_CGROUP, C2C_FLAG_INSPECT_CGROUP },
	};
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "pid", required_argument, NULL, 'p' },
		{ "force", no_argument, NULL, 'f' },
		{ "root", required_argument, NULL, 'r' },
		{ "file-pages", required_argument, NULL, OPT_FILE_PAGES },
		{ "parent", required_argument, NULL, OPT_PARENT },
		{ "image", required_argument, NULL, OPT_IMAGE },
		{ "sysroot-out", required_argument, NULL, OPT_SYSROOT_OUT },
		{ "include-dontdump", no_argument, NULL, OPT_INCLUDE_DONTDUMP },
		{ "jobs", required_argument, NULL, 'j' },
		{ "json", required_argument, NULL, OPT_JSON },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "plugin-description", no_argument, NULL, OPT_PLUGIN_DESCR },
		{ "files", no_argument, NULL, OPT_FILES },
		{ "sockets", no_argument, NULL, OPT_SOCKETS },
		{ "env", no_argument, NULL, OPT_ENV },
		{ "maps", no_argument, NULL, OPT_MAPS },
		{ "task", no_argument, NULL, OPT_TASK },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "metadata", no_argument, NULL, OPT_METADATA },
		{ "mounts", no_argument, NULL, OPT_MOUNTS },
		{ "fs-diff", no_argument, NULL, OPT_FS_DIFF },
		{ "network", no_argument, NULL, OPT_NETWORK },
		{ "cgroup", no_argument, NULL, OPT_CGROUP },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .outdir = ".", .file_pages = C2C_FILE_PAGES_HEADERS, .jobs = 1,
			  .tree = true };
	struct run run = { .o = &o };
	bool file_pages_set = false, format_set = false, details_set = false;
	pthread_t threads[MAX_JOBS];
	size_t nthreads = 0, failed = 0, warned = 0;
	int c, ret = EXIT_OK;

	opterr = 0; /* getopt's own messages would name argv[0], not "ckpt2core: error:" */
	/* Past a file-size limit, writes fail with EFBIG and are reported; no silent kill. */
	signal(SIGXFSZ, SIG_IGN);
	if (argc > 1 && !strcmp(argv[1], "grep"))
		return c2c_cli_grep(argc - 1, argv + 1);
	if (argc > 1 && (!strcmp(argv[1], "gdb") || !strcmp(argv[1], "lldb") ||
			 !strcmp(argv[1], "bt")))
		return c2c_cli_debug(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "watch"))
		return c2c_watch_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "inspect")) {
		o.inspect = true;
		argv++;
		argc--;
	}
	while ((c = getopt_long(argc, argv, ":o:p:fr:j:vqhV", longopts, NULL)) != -1) {
		unsigned long v;

		switch (c) {
		case 'o':
			o.outdir = optarg;
			break;
		case 'p':
			if (parse_uint(optarg, 0x7fffffffUL, &v) < 0) {
				fprintf(stderr, "%s: error: invalid pid '%s'\n", prog, optarg);
				return usage_error();
			}
			if (o.npids == sizeof(o.pids) / sizeof(o.pids[0])) {
				fprintf(stderr, "%s: error: too many --pid options\n", prog);
				return usage_error();
			}
			o.pids[o.npids++] = (uint32_t)v;
			break;
		case 'f':
			o.flags |= C2C_FLAG_FORCE;
			break;
		case 'r':
			o.root = optarg;
			break;
		case OPT_FILE_PAGES:
			file_pages_set = true;
			if (c2c_cli_file_pages(optarg, &o.file_pages) < 0) {
				fprintf(stderr,
					"%s: error: invalid --file-pages '%s' (none, headers or all)\n",
					prog, optarg);
				return usage_error();
			}
			break;
		case OPT_PARENT:
			o.parent = optarg;
			break;
		case OPT_IMAGE:
			o.image = optarg;
			break;
		case OPT_SYSROOT_OUT:
			o.sysroot_out = optarg;
			break;
		case OPT_INCLUDE_DONTDUMP:
			o.flags |= C2C_FLAG_INCLUDE_DONTDUMP;
			break;
		case OPT_FILES:
		case OPT_SOCKETS:
		case OPT_ENV:
		case OPT_MAPS:
		case OPT_TASK:
		case OPT_METADATA:
		case OPT_MOUNTS:
		case OPT_FS_DIFF:
		case OPT_NETWORK:
		case OPT_CGROUP:
		case OPT_ALL:
			for (size_t i = 0; i < sizeof(inspect_opts) / sizeof(inspect_opts[0]); i++)
				if (inspect_opts[i].opt == c || c == OPT_ALL)
					o.flags |= inspect_opts[i].flag;
			details_set = true;
			break;
		case 'j':
			if (parse_uint(optarg, MAX_JOBS, &v) < 0) {
				fprintf(stderr, "%s: error: invalid --jobs '%s' (1 to %d)\n", prog,
					optarg, MAX_JOBS);
				return usage_error();
			}
			o.jobs = (int)v;
			break;
		case OPT_JSON:
			o.json = optarg;
			break;
		case OPT_FORMAT:
			format_set = true;
			if (!strcmp(optarg, "tree") || !strcmp(optarg, "json")) {
				o.tree = !strcmp(optarg, "tree");
			} else {
				fprintf(stderr, "%s: error: invalid --format '%s' (tree or json)\n",
					prog, optarg);
				return usage_error();
			}
			break;
		case 'v':
			o.verbose++;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("%s %s\n", prog, c2c_version());
			return EXIT_OK;
		case OPT_PLUGIN_DESCR:
			/* checkpointctl runs checkpointctl-<name> plugins; 42 ends the probe. */
			printf("Convert a checkpoint into ELF core files for gdb (ckpt2core)\n");
			return EXIT_PLUGIN_DESCR;
		case ':':
			fprintf(stderr, "%s: error: option '%s' needs an argument\n", prog,
				argv[optind - 1]);
			return usage_error();
		default:
			if (optopt)
				fprintf(stderr, "%s: error: unknown option '-%c'\n", prog, optopt);
			else
				fprintf(stderr, "%s: error: unknown option '%s'\n", prog,
					argv[optind - 1]);
			return usage_error();
		}
	}
	if (optind == argc) {
		fprintf(stderr, "%s: error: no checkpoint given\n", prog);
		return usage_error();
	}
	if (file_pages_set && !o.root && !o.image) {
		fprintf(stderr, "%s: error: --file-pages needs --root or --image\n", prog);
		return usage_error();
	}
	if (o.image && o.root) {
		fprintf(stderr, "%s: error: --image and --root exclude each other\n", prog);
		return usage_error();
	}
	if (o.sysroot_out && !o.root && !o.image) {
		fprintf(stderr, "%s: error: --sysroot-out needs --image or --root\n", prog);
		return usage_error();
	}
	if (o.sysroot_out && argc - optind > 1) {
		fprintf(stderr, "%s: error: --sysroot-out takes a single input\n", prog);
		return usage_error();
	}
	if ((o.image || o.sysroot_out) && o.inspect) {
		fprintf(stderr, "%s: error: --image and --sysroot-out are options of a conversion\n",
			prog);
		return usage_error();
	}
	if (details_set && !o.inspect) {
		fprintf(stderr, "%s: error: --files, --sockets, --env, --maps, --task, --metadata, "
			"--mounts, --fs-diff, --network, --cgroup and --all are options of "
			"'inspect'\n", prog);
		return usage_error();
	}
	if (format_set && !o.inspect) {
		fprintf(stderr, "%s: error: --format is an option of 'inspect'\n", prog);
		return usage_error();
	}
	raise_fd_limit();

	run.njobs = (size_t)(argc - optind);
	run.jobs = calloc(run.njobs, sizeof(*run.jobs));
	if (!run.jobs || pthread_mutex_init(&run.lock, NULL)) {
		fprintf(stderr, "%s: error: out of memory\n", prog);
		return EXIT_FAILED;
	}
	run.progress = !o.quiet && !o.inspect && isatty(STDERR_FILENO);
	for (size_t i = 0; i < run.njobs; i++) {
		struct job *j = &run.jobs[i];

		j->input = argv[optind + (int)i];
		if (run.njobs == 1) {
			j->outdir = strdup(o.outdir);
			continue;
		}
		/* Batch: each input's cores in OUTDIR/<input name>, made unique. */
		j->label = stem_of(j->input);
		for (size_t k = 0; j->label && k < i; k++) {
			if (!strcmp(run.jobs[k].label, j->label)) {
				char *u = NULL;

				if (asprintf(&u, "%s-%zu", j->label, i + 1) < 0)
					u = NULL;
				free(j->label);
				j->label = u;
				k = (size_t)-1; /* check the new name again from the start */
			}
		}
		if (j->label && asprintf(&j->outdir, "%s/%s", o.outdir, j->label) < 0)
			j->outdir = NULL;
		if (!j->label || !j->outdir) {
			fprintf(stderr, "%s: error: out of memory\n", prog);
			return EXIT_FAILED;
		}
	}

	if (o.jobs > 1 && run.njobs > 1) {
		for (int i = 0; i < o.jobs && (size_t)i < run.njobs; i++)
			if (pthread_create(&threads[nthreads], NULL, worker, &run) == 0)
				nthreads++;
	}
	worker(&run); /* the main thread works too (and alone without -j) */
	for (size_t i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);

	for (size_t i = 0; i < run.njobs; i++) {
		if (run.jobs[i].result < 0)
			failed++;
		else if (run.jobs[i].warnings)
			warned++;
		if (o.inspect && o.tree && run.jobs[i].report)
			fputs(run.jobs[i].report, stdout);
	}
	if (o.inspect && !o.tree) {
		printf("[");
		for (size_t i = 0; i < run.njobs; i++)
			printf("%s\n%s", i ? "," : "", run.jobs[i].report ? run.jobs[i].report : "null");
		printf("\n]\n");
	}
	if (o.json && write_manifest(&o, run.jobs, run.njobs) < 0)
		failed = failed ? failed : run.njobs;
	if (failed)
		ret = failed < run.njobs ? EXIT_SOME_FAILED : EXIT_FAILED;
	else if (warned)
		ret = EXIT_WARNINGS;
	for (size_t i = 0; i < run.njobs; i++) {
		if (run.jobs[i].result == C2C_E_USAGE && run.njobs == 1)
			ret = EXIT_USAGE;
		free(run.jobs[i].outdir);
		free(run.jobs[i].label);
		free(run.jobs[i].report);
		free(run.jobs[i].json);
	}
	free(run.jobs);
	pthread_mutex_destroy(&run.lock);
	return ret;
}
