/*
 * ckpt2core command line: parse options, hand them to the library, print its
 * messages and map the result to an exit code. No conversion logic lives here.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt2core/ckpt2core.h"

/* Exit codes (documented in --help, README and the man page). */
#define EXIT_OK 0	    /* every core written, no warnings */
#define EXIT_WARNINGS 1	    /* cores written, with warnings */
#define EXIT_FAILED 2	    /* conversion failed; nothing left behind */
#define EXIT_USAGE 64	    /* bad command line (EX_USAGE) */

static const char *prog = "ckpt2core";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [OPTIONS] DIR\n"
		"Convert a CRIU checkpoint image directory into ELF core files, one per\n"
		"process, named core.<pid> (pid as in the checkpoint's pstree.img), that gdb\n"
		"reads like a gcore of the live process:  gdb EXECUTABLE OUTDIR/core.<pid>\n"
		"\n"
		"Options:\n"
		"  -o, --output OUTDIR     write the cores into OUTDIR (created if missing,\n"
		"                          default: the current directory)\n"
		"  -p, --pid N             convert only process N (repeatable)\n"
		"  -f, --force             replace existing core files\n"
		"  -r, --root DIR          read mapped files from DIR (a container's rootfs, or /\n"
		"                          for a host process) at the paths the process saw;\n"
		"                          without it no file outside the checkpoint is opened\n"
		"      --file-pages MODE   which file pages go into the core with --root:\n"
		"                            none     only pages the images hold\n"
		"                            headers  what the kernel and gcore write: ELF headers,\n"
		"                                     written private and all shared file mappings\n"
		"                                     (default)\n"
		"                            all      every mapped file page (self-contained core)\n"
		"      --include-dontdump  keep MADV_DONTDUMP mappings (the kernel leaves them out)\n"
		"  -v, --verbose           more detail (repeat for the library's source location\n"
		"                          of an error)\n"
		"  -q, --quiet             print errors only\n"
		"  -h, --help              show this help and exit\n"
		"  -V, --version           show the version and exit\n"
		"\n"
		"Cores are written mode 0600 to temporary files and renamed into place only\n"
		"when every process converted; on failure nothing is left behind. Zombies\n"
		"have no memory and get no core.\n"
		"\n"
		"Exit status:\n"
		"  0   every core written, no warnings\n"
		"  1   cores written, with warnings (e.g. pages the images do not hold)\n"
		"  2   conversion failed (the error names the file and byte offset)\n"
		"  64  usage error\n",
		prog);
}

struct cli {
	int verbose;
	bool quiet;
};

static void log_cb(void *data, enum c2c_log_level level, const char *msg)
{
	const struct cli *cli = data;

	if (cli->quiet && level > C2C_LOG_ERROR)
		return;
	switch (level) {
	case C2C_LOG_ERROR:
		fprintf(stderr, "%s: error: %s\n", prog, msg);
		break;
	case C2C_LOG_WARN:
		fprintf(stderr, "%s: warning: %s\n", prog, msg);
		break;
	default:
		fprintf(stderr, "%s: %s\n", prog, msg);
		break;
	}
}

static int usage_error(void)
{
	fprintf(stderr, "Try '%s --help' for more information.\n", prog);
	return EXIT_USAGE;
}

static int parse_pid(const char *s, uint32_t *ret)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v > 0x7fffffffUL || s[0] == '-')
		return -1;
	*ret = (uint32_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_INCLUDE_DONTDUMP = 256, OPT_FILE_PAGES };
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "pid", required_argument, NULL, 'p' },
		{ "force", no_argument, NULL, 'f' },
		{ "root", required_argument, NULL, 'r' },
		{ "file-pages", required_argument, NULL, OPT_FILE_PAGES },
		{ "include-dontdump", no_argument, NULL, OPT_INCLUDE_DONTDUMP },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli cli = { 0, false };
	const char *outdir = ".", *root = NULL;
	enum c2c_file_pages file_pages = C2C_FILE_PAGES_HEADERS;
	bool file_pages_set = false;
	unsigned int flags = 0;
	struct c2c_ctx *ctx;
	int c, r, ret;

	opterr = 0; /* getopt's own messages would name argv[0], not "ckpt2core: error:" */
	ctx = c2c_ctx_new();
	if (!ctx) {
		fprintf(stderr, "%s: error: out of memory\n", prog);
		return EXIT_FAILED;
	}
	while ((c = getopt_long(argc, argv, ":o:p:fr:vqhV", opts, NULL)) != -1) {
		uint32_t pid;

		switch (c) {
		case 'o':
			outdir = optarg;
			break;
		case 'p':
			if (parse_pid(optarg, &pid) < 0) {
				fprintf(stderr, "%s: error: invalid pid '%s'\n", prog, optarg);
				ret = usage_error();
				goto out;
			}
			if (c2c_ctx_add_pid(ctx, pid) < 0) {
				fprintf(stderr, "%s: error: out of memory\n", prog);
				ret = EXIT_FAILED;
				goto out;
			}
			break;
		case 'f':
			flags |= C2C_FLAG_FORCE;
			break;
		case 'r':
			root = optarg;
			break;
		case OPT_FILE_PAGES:
			file_pages_set = true;
			if (!strcmp(optarg, "none"))
				file_pages = C2C_FILE_PAGES_NONE;
			else if (!strcmp(optarg, "headers"))
				file_pages = C2C_FILE_PAGES_HEADERS;
			else if (!strcmp(optarg, "all"))
				file_pages = C2C_FILE_PAGES_ALL;
			else {
				fprintf(stderr,
					"%s: error: invalid --file-pages '%s' (none, headers or all)\n",
					prog, optarg);
				ret = usage_error();
				goto out;
			}
			break;
		case OPT_INCLUDE_DONTDUMP:
			flags |= C2C_FLAG_INCLUDE_DONTDUMP;
			break;
		case 'v':
			cli.verbose++;
			break;
		case 'q':
			cli.quiet = true;
			break;
		case 'h':
			usage(stdout);
			ret = EXIT_OK;
			goto out;
		case 'V':
			printf("%s %s\n", prog, c2c_version());
			ret = EXIT_OK;
			goto out;
		case ':':
			fprintf(stderr, "%s: error: option '%s' needs an argument\n", prog,
				argv[optind - 1]);
			ret = usage_error();
			goto out;
		default:
			if (optopt)
				fprintf(stderr, "%s: error: unknown option '-%c'\n", prog, optopt);
			else
				fprintf(stderr, "%s: error: unknown option '%s'\n", prog,
					argv[optind - 1]);
			ret = usage_error();
			goto out;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "%s: error: %s\n", prog,
			optind == argc ? "no checkpoint directory given"
				       : "only one checkpoint directory can be given");
		ret = usage_error();
		goto out;
	}
	if (file_pages_set && !root) {
		fprintf(stderr, "%s: error: --file-pages needs --root\n", prog);
		ret = usage_error();
		goto out;
	}
	if (root && c2c_ctx_set_root(ctx, root, file_pages) < 0) {
		fprintf(stderr, "%s: error: out of memory\n", prog);
		ret = EXIT_FAILED;
		goto out;
	}
	c2c_ctx_set_flags(ctx, flags);
	c2c_ctx_set_log_fn(ctx, log_cb, &cli, cli.verbose ? C2C_LOG_DEBUG : C2C_LOG_INFO);

	r = c2c_convert(ctx, argv[optind], outdir);
	if (r < 0) {
		if (cli.verbose > 1)
			fprintf(stderr, "%s: error: [%s at %s] %s\n", prog, c2c_strerror(r),
				c2c_errsite(ctx), c2c_errmsg(ctx));
		else
			fprintf(stderr, "%s: error: %s\n", prog, c2c_errmsg(ctx));
		ret = r == C2C_E_USAGE ? EXIT_USAGE : EXIT_FAILED;
		goto out;
	}
	ret = c2c_warning_count(ctx) ? EXIT_WARNINGS : EXIT_OK;
out:
	c2c_ctx_free(ctx);
	return ret;
}
