/*
 * ckpt2core grep: search the memory of checkpointed processes (c2c_grep)
 * and print each match with its process, address and mapping, as text or
 * JSON lines. Exit status as grep's: 0 a match, 1 none, 2 an error, 64 usage.
 */
#include <ctype.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt2core/ckpt2core.h"
#include "cli.h"

#define GREP_MATCH 0
#define GREP_NONE 1
#define GREP_ERROR 2
#define GREP_USAGE 64

#define MAX_PIDS 4096

struct grep_opts {
	bool json, count, list;
	size_t context;
	const char *input;
	bool several;
	/* --count and -l: matches of the process being searched */
	uint32_t cur_pid;
	char cur_comm[16];
	int64_t cur_count;
	bool have_cur;
};

static void grep_usage(FILE *f)
{
	fprintf(f,
		"Usage: ckpt2core grep [OPTIONS] PATTERN INPUT...\n"
		"       ckpt2core grep [OPTIONS] -e PATTERN [-e PATTERN]... INPUT...\n"
		"Search the memory of every checkpointed process (or those of --pid) for\n"
		"PATTERN, in one pass over each checkpoint, writing no core. Matches that\n"
		"cross page boundaries are found. Each is shown with pid, process name,\n"
		"virtual address, mapping (file, [heap], [stack], [anon], ...) with its\n"
		"permissions, and the offset in the mapping.\n"
		"\n"
		"Options:\n"
		"  -e, --regexp PATTERN     a pattern (repeatable); a match of any counts\n"
		"  -F, --fixed-strings      patterns are byte strings (default)\n"
		"  -E, --extended-regexp    patterns are Perl-compatible regular expressions\n"
		"                           (PCRE2, on bytes; a match is at most 4096 bytes)\n"
		"  -x, --hex                patterns are hex bytes (\"deadbeef\", spaces allowed)\n"
		"  -i, --ignore-case        ASCII letters match either case\n"
		"  -C, --context N          show N bytes (at most %d) around each match\n"
		"  -p, --pid N              search only process N (repeatable)\n"
		"  -c, --count              print the number of matches per process\n"
		"  -l, --files-with-matches print only the processes that match\n"
		"      --format text|json   json: one object per line\n"
		"  -h, --help               show this help and exit\n"
		"\n"
		"Exit status: 0 a match was found, 1 none, 2 an error, 64 usage error.\n",
		C2C_GREP_CONTEXT_MAX);
}

static void print_escaped(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\\' || p[i] == '"')
			printf("\\%c", p[i]);
		else if (isprint(p[i]))
			putchar(p[i]);
		else
			printf("\\x%02x", p[i]);
	}
}

static char *hex(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 1);

	for (size_t i = 0; s && i < n; i++)
		snprintf(s + 2 * i, 3, "%02x", p[i]);
	if (s)
		s[2 * n] = '\0';
	return s;
}

/* xxd-style lines of the bytes around a match, addresses included. */
static void print_dump(const struct c2c_match *m)
{
	uint64_t start = m->addr - m->nbefore;
	size_t total = m->nbefore + m->len + m->nafter;
	const uint8_t *base = m->before;

	for (size_t off = 0; off < total; off += 16) {
		size_t n = total - off < 16 ? total - off : 16;

		printf("    %016llx: ", (unsigned long long)(start + off));
		for (size_t i = 0; i < 16; i++) {
			if (i < n)
				printf("%02x", base[off + i]);
			else
				printf("  ");
			if (i % 2)
				putchar(' ');
		}
		putchar(' ');
		for (size_t i = 0; i < n; i++)
			putchar(isprint(base[off + i]) ? base[off + i] : '.');
		putchar('\n');
	}
}

static void print_json_match(const struct grep_opts *o, const struct c2c_match *m)
{
	char addr[32];
	char *mh = hex(m->data, m->len), *bh = hex(m->before, m->nbefore),
	     *ah = hex(m->after, m->nafter);
	json_t *j;
	char *s;

	snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)m->addr);
	j = json_pack("{s:s, s:I, s:s, s:s, s:I, s:s, s:s, s:I, s:I, s:I, s:s?, s:s?, s:s?}",
		      "input", o->input, "pid", (json_int_t)m->pid, "comm", m->comm, "address",
		      addr, "addr", (json_int_t)m->addr, "mapping", m->mapping, "perms", m->perms,
		      "mapping_start", (json_int_t)m->vma_start, "offset", (json_int_t)m->map_offset,
		      "pattern", (json_int_t)m->pattern, "match_hex", mh, "before_hex",
		      o->context ? bh : NULL, "after_hex", o->context ? ah : NULL);
	/* The matched bytes as text where they are valid UTF-8 (strings usually are). */
	if (j)
		json_object_set_new(j, "match", json_stringn((const char *)m->data, m->len));
	if (j && (s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER))) {
		puts(s);
		free(s);
	}
	json_decref(j);
	free(mh);
	free(bh);
	free(ah);
}

/* One process's --count or -l line. */
static void print_process(const struct grep_opts *o)
{
	if (!o->have_cur)
		return;
	if (o->json) {
		json_t *j = json_pack("{s:s, s:I, s:s, s:I}", "input", o->input, "pid",
				      (json_int_t)o->cur_pid, "comm", o->cur_comm, "count",
				      (json_int_t)o->cur_count);
		char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

		if (s)
			puts(s);
		free(s);
		json_decref(j);
		return;
	}
	if (o->several)
		printf("%s: ", o->input);
	if (o->count)
		printf("pid %u (%s): %lld\n", o->cur_pid, o->cur_comm, (long long)o->cur_count);
	else
		printf("pid %u (%s)\n", o->cur_pid, o->cur_comm);
}

static int on_match(void *data, const struct c2c_match *m)
{
	struct grep_opts *o = data;

	if (o->count || o->list) {
		if (!o->have_cur || o->cur_pid != m->pid) {
			print_process(o);
			o->have_cur = true;
			o->cur_pid = m->pid;
			snprintf(o->cur_comm, sizeof(o->cur_comm), "%s", m->comm);
			o->cur_count = 0;
		}
		o->cur_count++;
		return 0;
	}
	if (o->json) {
		print_json_match(o, m);
		return 0;
	}
	if (o->several)
		printf("%s: ", o->input);
	printf("pid %u (%s) 0x%llx %s %s +0x%llx: \"", m->pid, m->comm,
	       (unsigned long long)m->addr, m->mapping, m->perms,
	       (unsigned long long)m->map_offset);
	print_escaped(m->data, m->len);
	printf("\"\n");
	if (o->context)
		print_dump(m);
	return 0;
}

int c2c_cli_grep(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "regexp", required_argument, NULL, 'e' },
		{ "fixed-strings", no_argument, NULL, 'F' },
		{ "extended-regexp", no_argument, NULL, 'E' },
		{ "hex", no_argument, NULL, 'x' },
		{ "ignore-case", no_argument, NULL, 'i' },
		{ "context", required_argument, NULL, 'C' },
		{ "pid", required_argument, NULL, 'p' },
		{ "count", no_argument, NULL, 'c' },
		{ "files-with-matches", no_argument, NULL, 'l' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct grep_opts o = { 0 };
	enum c2c_pattern_kind kind = C2C_PATTERN_FIXED;
	const char *pats[256];
	uint32_t pids[MAX_PIDS];
	size_t npats = 0, npids = 0;
	unsigned int flags = 0;
	int c, ret = GREP_NONE;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":e:FExiC:p:clh", longopts, NULL)) != -1) {
		char *end;
		unsigned long v;

		switch (c) {
		case 'e':
			if (npats == sizeof(pats) / sizeof(pats[0]))
				return c2c_cli_usage_error("grep: at most 256 patterns");
			pats[npats++] = optarg;
			break;
		case 'F':
			kind = C2C_PATTERN_FIXED;
			break;
		case 'E':
			kind = C2C_PATTERN_REGEX;
			break;
		case 'x':
			kind = C2C_PATTERN_HEX;
			break;
		case 'i':
			flags |= C2C_PATTERN_ICASE;
			break;
		case 'C':
			v = strtoul(optarg, &end, 10);
			if (!*optarg || *end || v > C2C_GREP_CONTEXT_MAX)
				return c2c_cli_usage_error("grep: --context takes 0 to 1024 bytes");
			o.context = v;
			break;
		case 'p':
			v = strtoul(optarg, &end, 10);
			if (!*optarg || *end || v == 0 || v > UINT32_MAX)
				return c2c_cli_usage_error("grep: --pid takes a process id");
			if (npids == MAX_PIDS)
				return c2c_cli_usage_error("grep: too many --pid");
			pids[npids++] = (uint32_t)v;
			break;
		case 'c':
			o.count = true;
			break;
		case 'l':
			o.list = true;
			break;
		case 'f':
			if (!strcmp(optarg, "json"))
				o.json = true;
			else if (strcmp(optarg, "text"))
				return c2c_cli_usage_error("grep: --format is text or json");
			break;
		case 'h':
			grep_usage(stdout);
			return 0;
		default:
			return c2c_cli_usage_error("grep: unknown or incomplete option (see "
						   "'ckpt2core grep --help')");
		}
	}
	if (!npats && optind < argc)
		pats[npats++] = argv[optind++];
	if (!npats)
		return c2c_cli_usage_error("grep: a PATTERN is required");
	if (optind >= argc)
		return c2c_cli_usage_error("grep: an INPUT is required");
	o.several = argc - optind > 1;

	for (int i = optind; i < argc; i++) {
		struct c2c_ctx *ctx = c2c_ctx_new();
		int64_t n = -1;
		int r = ctx ? 0 : C2C_E_NOMEM;

		for (size_t k = 0; r == 0 && k < npats; k++)
			r = c2c_ctx_add_pattern(ctx, kind, pats[k], strlen(pats[k]), flags);
		for (size_t k = 0; r == 0 && k < npids; k++)
			r = c2c_ctx_add_pid(ctx, pids[k]);
		if (r == C2C_E_USAGE) {
			fprintf(stderr, "ckpt2core: error: %s\n", c2c_errmsg(ctx));
			c2c_ctx_free(ctx);
			return GREP_USAGE;
		}
		o.input = argv[i];
		o.have_cur = false;
		if (r == 0)
			n = c2c_grep(ctx, argv[i], o.context, on_match, &o);
		if (r == 0 && n >= 0)
			print_process(&o);
		fflush(stdout);
		if (r < 0 || n < 0) {
			fprintf(stderr, "ckpt2core: error: %s\n",
				ctx ? c2c_errmsg(ctx) : "out of memory");
			ret = GREP_ERROR;
		} else if (n > 0 && ret != GREP_ERROR) {
			ret = GREP_MATCH;
		}
		c2c_ctx_free(ctx);
	}
	return ret;
}
