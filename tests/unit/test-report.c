/*
 * Unit tests of src/lib/report/report.c: the JSON rendering of a report
 * (read back with jansson and checked member by member), the text of
 * strings that are not clean UTF-8, the tree rendering, and the container
 * metadata read from config.dump, spec.dump and stats-dump in an in-memory
 * member table. The metadata files are untrusted: a malformed one only
 * leaves fields empty and never records an error or a warning.
 */
#include <stdlib.h>

#include <jansson.h>

#include "error.h"
#include "helpers.h"
#include "image.h"
#include "report.h"
#include "stats.pb-c.h"
#include "util.h"

/* ------------------------------------------------------------ rendering */

/* As the model sets comm: at most 15 bytes and a NUL. */
static void set_comm(char comm[16], const char *s)
{
	snprintf(comm, 16, "%.15s", s);
}

/* A report as convert.c would leave it: one process with a core, one without. */
static struct c2c_report *sample_report(void)
{
	struct c2c_report *rep = calloc(1, sizeof(*rep));
	struct c2c_report_proc *p;

	assert_non_null(rep);
	rep->input = c2c_strdup("dump.tar");
	rep->kind = "archive";
	rep->meta.engine = c2c_strdup("CRI-O");
	rep->meta.name = c2c_strdup("counter");
	rep->meta.pod = c2c_strdup("counters");
	rep->has_stats = true;
	rep->stats = (struct c2c_dump_stats){ .freezing_time = 308, .frozen_time = 31752,
					      .pages_scanned = 2466, .pages_written = 1234 };
	rep->procs = calloc(2, sizeof(*rep->procs));
	assert_non_null(rep->procs);
	rep->nprocs = 2;
	p = &rep->procs[0];
	p->pid = 1;
	set_comm(p->comm, "bash");
	p->state = "alive";
	p->nthreads = 1;
	p->cmdline = c2c_strdup("bash -c x");
	p->nvmas = 23;
	p->pages_images = 100;
	p->pages_parent = 7;
	p->pages_lazy = 2;
	p->file_mapped_pages = 300;
	p->has_core = true;
	p->core_path = c2c_strdup("out/core.1");
	p->core_size = 1 << 20;
	p->core_disk = 4096;
	p->segments = 5;
	p->bytes_from_images = 409600;
	p->pages_missing = 3;
	p = &rep->procs[1];
	p->pid = 8;
	p->ppid = 1;
	set_comm(p->comm, "zomb");
	p->state = "zombie";
	p->skipped = "zombie";
	assert_non_null(rep->input);
	return rep;
}

/* ctx with rep as its report (ctx frees it). */
static struct c2c_ctx *ctx_with(struct c2c_report *rep)
{
	struct c2c_ctx *ctx = c2c_ctx_new();

	assert_non_null(ctx);
	ctx->report = rep;
	return ctx;
}

/* cmocka fixture: a context holding sample_report(). */
static int sample_setup(void **state)
{
	*state = ctx_with(sample_report());
	return 0;
}

static int sample_teardown(void **state)
{
	c2c_ctx_free(*state);
	return 0;
}

/* Render ctx's report as JSON and parse it back; the text is kept in *text when asked. */
static json_t *render_parse(const struct c2c_ctx *ctx, char **text)
{
	char *s = c2c_report(ctx, C2C_REPORT_JSON);
	json_error_t err;
	json_t *j;

	assert_non_null(s);
	j = json_loads(s, JSON_REJECT_DUPLICATES, &err);
	if (!j)
		fail_msg("report is not JSON: %s at %d: %s", err.text, err.position, s);
	if (text)
		*text = s;
	else
		free(s);
	return j;
}

static json_int_t int_of(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v))
		fail_msg("member %s is not an integer", key);
	return json_integer_value(v);
}

static const char *str_of(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_string(v))
		fail_msg("member %s is not a string", key);
	return json_string_value(v);
}

/* The keys of obj, in order, joined by spaces. */
static void assert_keys(json_t *obj, const char *want)
{
	char got[512] = "";
	size_t n = 0;

	assert_true(json_is_object(obj));
	for (void *it = json_object_iter(obj); it;
	     it = json_object_iter_next(obj, it))
		n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s", n ? " " : "",
				      json_object_iter_key(it));
	assert_string_equal(got, want);
}

static void json_round_trip(void **state)
{
	struct c2c_ctx *ctx = *state;
	json_t *c, *p, *q, *m, *core;
	json_t *j;

	j = render_parse(ctx, NULL);
	/* keys in the order of doc/report.schema.json */
	assert_keys(j, "input kind container criu_dump_stats container_details fs_diff processes warnings error");
	assert_string_equal(str_of(j, "input"), "dump.tar");
	assert_string_equal(str_of(j, "kind"), "archive");
	c = json_object_get(j, "container");
	assert_keys(c, "engine name id image pod namespace runtime created checkpointed");
	assert_string_equal(str_of(c, "engine"), "CRI-O");
	assert_string_equal(str_of(c, "name"), "counter");
	assert_string_equal(str_of(c, "pod"), "counters");
	assert_true(json_is_null(json_object_get(c, "id")));
	assert_true(json_is_null(json_object_get(c, "checkpointed")));
	c = json_object_get(j, "criu_dump_stats");
	assert_keys(c, "freezing_time_us frozen_time_us memdump_time_us memwrite_time_us "
		       "pages_scanned pages_skipped_parent pages_written pages_lazy");
	assert_int_equal(int_of(c, "freezing_time_us"), 308);
	assert_int_equal(int_of(c, "frozen_time_us"), 31752);
	assert_int_equal(int_of(c, "memdump_time_us"), 0);
	assert_int_equal(int_of(c, "pages_scanned"), 2466);
	assert_int_equal(int_of(c, "pages_written"), 1234);
	assert_int_equal(json_array_size(json_object_get(j, "processes")), 2);
	p = json_array_get(json_object_get(j, "processes"), 0);
	assert_keys(p, "pid ppid comm state threads arch page_size cmdline exe memory core skipped details");
	assert_int_equal(int_of(p, "pid"), 1);
	assert_int_equal(int_of(p, "ppid"), 0);
	assert_string_equal(str_of(p, "comm"), "bash");
	assert_string_equal(str_of(p, "state"), "alive");
	assert_int_equal(int_of(p, "threads"), 1);
	assert_string_equal(str_of(p, "cmdline"), "bash -c x");
	assert_true(json_is_null(json_object_get(p, "skipped")));
	m = json_object_get(p, "memory");
	assert_keys(m, "vmas pages_in_images pages_in_parent lazy_pages file_mapped_pages");
	assert_int_equal(int_of(m, "vmas"), 23);
	assert_int_equal(int_of(m, "pages_in_images"), 100);
	assert_int_equal(int_of(m, "pages_in_parent"), 7);
	assert_int_equal(int_of(m, "lazy_pages"), 2);
	assert_int_equal(int_of(m, "file_mapped_pages"), 300);
	core = json_object_get(p, "core");
	assert_keys(core, "path size disk_usage segments bytes_from_images bytes_from_root "
			  "pages_missing");
	assert_string_equal(str_of(core, "path"), "out/core.1");
	assert_int_equal(int_of(core, "size"), 1 << 20);
	assert_int_equal(int_of(core, "disk_usage"), 4096);
	assert_int_equal(int_of(core, "segments"), 5);
	assert_int_equal(int_of(core, "bytes_from_images"), 409600);
	assert_int_equal(int_of(core, "bytes_from_root"), 0);
	assert_int_equal(int_of(core, "pages_missing"), 3);
	q = json_array_get(json_object_get(j, "processes"), 1);
	assert_int_equal(int_of(q, "pid"), 8);
	assert_int_equal(int_of(q, "ppid"), 1);
	assert_string_equal(str_of(q, "state"), "zombie");
	assert_string_equal(str_of(q, "skipped"), "zombie");
	assert_true(json_is_null(json_object_get(q, "core")));
	assert_true(json_is_null(json_object_get(q, "cmdline")));
	assert_int_equal(json_array_size(json_object_get(j, "warnings")), 0);
	assert_true(json_is_null(json_object_get(j, "error")));
	json_decref(j);
}

/* One line, ", " and ": " between members: the format of the reports before jansson. */
static void json_format(void **state)
{
	struct c2c_report *rep = calloc(1, sizeof(*rep));
	struct c2c_ctx *ctx;
	char *s;

	(void)state;
	assert_non_null(rep);
	rep->input = c2c_strdup("d");
	ctx = ctx_with(rep);
	s = c2c_report(ctx, C2C_REPORT_JSON);
	assert_string_equal(s, "{\"input\": \"d\", \"kind\": null, \"container\": {\"engine\": null, "
			       "\"name\": null, \"id\": null, \"image\": null, \"pod\": null, "
			       "\"namespace\": null, \"runtime\": null, \"created\": null, "
			       "\"checkpointed\": null}, \"criu_dump_stats\": null, "
			       "\"container_details\": null, \"fs_diff\": null, "
			       "\"processes\": [], \"warnings\": [], \"error\": null}");
	free(s);
	c2c_ctx_free(ctx);
}

/*
 * Strings: quotes, backslashes and control characters are escaped; bytes
 * that are not UTF-8 (process memory, file names) become U+FFFD, one per
 * byte, and valid multi-byte characters stay as they are.
 */
static void json_strings(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "q\"b\\s/", "q\"b\\s/" },
		{ "nl\n tab\t cr\r bs\b ff\f \x01\x1f\x7f", "nl\n tab\t cr\r bs\b ff\f \x01\x1f\x7f" },
		{ "\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
		{ "a\xff" "b", "a\xef\xbf\xbd" "b" },                 /* never a lead byte */
		{ "\x80\xbf", "\xef\xbf\xbd\xef\xbf\xbd" },            /* lone continuations */
		{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },            /* overlong '/' */
		{ "\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* overlong, 3 bytes */
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* surrogate U+D800 */
		{ "\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* > U+10FFFF */
		{ "end\xe2\x82", "end\xef\xbf\xbd\xef\xbf\xbd" },      /* cut short */
		{ "\xc3(", "\xef\xbf\xbd(" },                          /* bad continuation */
		{ "", "" },
	};

	(void)state;
	for (size_t i = 0; i < C2C_ARRAY_SIZE(cases); i++) {
		struct c2c_report *rep = sample_report();
		struct c2c_ctx *ctx;
		json_t *p;
		json_t *j;
		char *s;

		free(rep->input);
		rep->input = c2c_strdup(cases[i].in);
		free(rep->procs[0].cmdline);
		rep->procs[0].cmdline = c2c_strdup(cases[i].in);
		set_comm(rep->procs[0].comm, cases[i].in);
		ctx = ctx_with(rep);
		c2c_warn(ctx, NULL, "%s", cases[i].in);
		j = render_parse(ctx, &s);
		p = json_array_get(json_object_get(j, "processes"), 0);
		assert_string_equal(str_of(j, "input"), cases[i].out);
		assert_string_equal(str_of(p, "cmdline"), cases[i].out);
		assert_string_equal(json_string_value(json_array_get(json_object_get(j, "warnings"), 0)),
				    cases[i].out);
		if (strlen(cases[i].in) < sizeof(rep->procs[0].comm))
			assert_string_equal(str_of(p, "comm"), cases[i].out);
		if (i == 1) /* escapes jansson writes: short forms where JSON has them */
			assert_non_null(strstr(s, "\"nl\\n tab\\t cr\\r bs\\b ff\\f \\u0001\\u001F\x7f\""));
		if (i == 0)
			assert_non_null(strstr(s, "\"q\\\"b\\\\s/\""));
		json_decref(j);
		free(s);
		c2c_ctx_free(ctx);
	}
}

/* Counts beyond jansson's signed integers are clamped, never negative (schema: minimum 0). */
static void json_large_counts(void **state)
{
	struct c2c_ctx *ctx = *state;
	json_t *j, *core;

	ctx->report->stats.pages_scanned = UINT64_MAX;
	ctx->report->stats.pages_lazy = (uint64_t)INT64_MAX;
	ctx->report->procs[0].core_size = C2C_MAX_CORE_SIZE;
	j = render_parse(ctx, NULL);
	assert_true(int_of(json_object_get(j, "criu_dump_stats"), "pages_scanned") == INT64_MAX);
	assert_true(int_of(json_object_get(j, "criu_dump_stats"), "pages_lazy") == INT64_MAX);
	core = json_object_get(json_array_get(json_object_get(j, "processes"), 0), "core");
	assert_true(int_of(core, "size") == (json_int_t)C2C_MAX_CORE_SIZE);
	json_decref(j);
}

static void json_error_member(void **state)
{
	struct c2c_ctx *ctx = *state;
	json_t *j, *e;

	ctx->report->err_code = C2C_E_TRUNCATED;
	ctx->report->err_msg =
		c2c_strdup("'d/mm-1.img': offset 12 (0xc), record 0: truncated record");
	j = render_parse(ctx, NULL);
	e = json_object_get(j, "error");
	assert_keys(e, "code message");
	assert_string_equal(str_of(e, "code"), c2c_strerror(C2C_E_TRUNCATED));
	assert_string_equal(str_of(e, "message"),
			    "'d/mm-1.img': offset 12 (0xc), record 0: truncated record");
	json_decref(j);
	/* a failure without a message still gives an error object */
	free(ctx->report->err_msg);
	ctx->report->err_msg = NULL;
	j = render_parse(ctx, NULL);
	assert_true(json_is_null(json_object_get(json_object_get(j, "error"), "message")));
	json_decref(j);
}

/* ctx->warnings, in the order issued, in both renderings. */
static void warnings_rendered(void **state)
{
	struct c2c_ctx *ctx = *state;
	struct c2c_loc loc = C2C_LOC_AT("d/pages-1.img", 8192);
	json_t *j, *w;
	char *t;

	c2c_warn(ctx, &loc, "page 0x%x missing, zero-filled", 0x7f00);
	c2c_warn(ctx, NULL, "unknown image %s skipped", "x.img");
	j = render_parse(ctx, NULL);
	w = json_object_get(j, "warnings");
	assert_int_equal(json_array_size(w), 2);
	assert_string_equal(json_string_value(json_array_get(w, 0)),
			    "'d/pages-1.img': offset 8192 (0x2000): page 0x7f00 missing, zero-filled");
	assert_string_equal(json_string_value(json_array_get(w, 1)), "unknown image x.img skipped");
	json_decref(j);
	t = c2c_report(ctx, C2C_REPORT_TREE);
	assert_non_null(t);
	assert_non_null(strstr(t, "\n  warning: 'd/pages-1.img': offset 8192 (0x2000): page 0x7f00 "
				  "missing, zero-filled\n  warning: unknown image x.img skipped\n"));
	free(t);
}

static void tree_rendering(void **state)
{
	struct c2c_ctx *ctx = *state;
	char *t;

	ctx->report->err_code = C2C_E_MISSING;
	ctx->report->err_msg = c2c_strdup("no pstree.img");
	t = c2c_report(ctx, C2C_REPORT_TREE);
	assert_non_null(t);
	assert_string_equal(t,
			    "dump.tar (archive)\n"
			    "  container  counter  image -\n"
			    "  engine     CRI-O  runtime -  pod -/counters\n"
			    "  created    -  checkpointed -\n"
			    "  CRIU dump  frozen 31.8 ms, memory dump 0.0 ms, 1234 pages written "
			    "of 2466 scanned\n"
			    "  processes\n"
			    "  1 bash [alive, 1 thread] bash -c x\n"
			    "       23 VMAs, 100 pages in the images (7 in parents), 2 lazy, "
			    "300 file-mapped, core out/core.1\n"
			    "    `- 8 zomb [zombie, 0 threads] -\n"
			    "         no core: zombie\n"
			    "  error: no pstree.img\n");
	free(t);
}

static void no_report(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();

	(void)state;
	assert_null(c2c_report(ctx, C2C_REPORT_JSON));
	assert_null(c2c_report(ctx, C2C_REPORT_TREE));
	c2c_ctx_free(ctx);
}

/* ------------------------------------------------------------- metadata */

#define CRIO_CONFIG                                                                        \
	"{\"id\": \"3f6c\", \"name\": \"k8s_counter\", \"rootfsImageName\": \"reg/counter:1\","  \
	" \"runtime\": \"runc\", \"createdTime\": \"2026-11-28T21:45:40Z\","                 \
	" \"checkpointedTime\": \"2026-11-28T21:47:15Z\", \"restored\": false, \"n\": -1.5e3}"
#define CRIO_SPEC                                                                          \
	"{\"ociVersion\": \"1.0.0\", \"annotations\": {\"io.container.manager\": \"cri-o\","  \
	" \"io.kubernetes.container.name\": \"counter\", \"io.kubernetes.pod.name\": \"counters\"," \
	" \"io.kubernetes.pod.namespace\": \"default\"}, \"process\": {\"args\": [\"bash\"]}}"

struct meta_file {
	const char *name;
	const void *data;
	size_t size;
};

/*
 * c2c_report_load_meta over an in-memory member table holding files; the
 * report and the context it was read with are returned for checks.
 */
static struct c2c_report *load_meta(struct c2c_ctx *ctx, const struct meta_file *files, size_t n)
{
	struct c2c_memtab *tab = c2c_memtab_new("test.tar");
	struct c2c_report *rep = calloc(1, sizeof(*rep));
	struct c2c_source *src = NULL;

	assert_non_null(tab);
	assert_non_null(rep);
	for (size_t i = 0; i < n; i++) {
		struct c2c_member m = { .name = c2c_strdup(files[i].name),
					.data = malloc(files[i].size ? files[i].size : 1),
					.size = files[i].size, .fd = -1 };

		assert_non_null(m.name);
		assert_non_null(m.data);
		memcpy(m.data, files[i].data, files[i].size);
		c2c_assert_ok(ctx, c2c_memtab_add(tab, m));
	}
	assert_null(c2c_memtab_sort(tab));
	c2c_assert_ok(ctx, c2c_source_open_tab(ctx, tab, "", &src));
	c2c_memtab_put(tab);
	c2c_report_load_meta(ctx, rep, src);
	c2c_source_free(src);
	return rep;
}

static struct c2c_report *load_config(struct c2c_ctx *ctx, const char *config, size_t len)
{
	const struct meta_file f = { "config.dump", config, len };

	return load_meta(ctx, &f, 1);
}

static void assert_meta_empty(const struct c2c_report *rep)
{
#define ASSERT_NO_META(field) assert_null(rep->meta.field);
	C2C_REPORT_META(ASSERT_NO_META)
#undef ASSERT_NO_META
	assert_false(rep->has_stats);
}

/* Nothing failed and nothing was warned about. */
static void assert_quiet(const struct c2c_ctx *ctx)
{
	assert_int_equal(c2c_errcode(ctx), 0);
	assert_string_equal(c2c_errmsg(ctx), "");
	assert_int_equal(ctx->warnings.count, 0);
}

static void meta_crio(void **state)
{
	const struct meta_file f[] = {
		{ "config.dump", CRIO_CONFIG, sizeof(CRIO_CONFIG) - 1 },
		{ "spec.dump", CRIO_SPEC, sizeof(CRIO_SPEC) - 1 },
	};
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct c2c_report *rep;

	(void)state;
	rep = load_meta(ctx, f, C2C_ARRAY_SIZE(f));
	assert_quiet(ctx);
	assert_string_equal(rep->meta.engine, "CRI-O");
	assert_string_equal(rep->meta.name, "counter"); /* the annotation before config's name */
	assert_string_equal(rep->meta.id, "3f6c");
	assert_string_equal(rep->meta.image, "reg/counter:1");
	assert_string_equal(rep->meta.pod, "counters");
	assert_string_equal(rep->meta.namespace, "default");
	assert_string_equal(rep->meta.runtime, "runc");
	assert_string_equal(rep->meta.created, "2026-11-28T21:45:40Z");
	assert_string_equal(rep->meta.checkpointed, "2026-11-28T21:47:15Z");
	assert_false(rep->has_stats);
	c2c_report_free(rep);
	c2c_ctx_free(ctx);
}

static void meta_engines(void **state)
{
	static const char podman[] = "{\"annotations\": {\"io.container.manager\": \"libpod\"}}";
	static const char containerd[] =
		"{\"annotations\": {\"io.kubernetes.cri.container-name\": \"c\","
		" \"io.kubernetes.cri.sandbox-name\": \"p\","
		" \"io.kubernetes.cri.sandbox-namespace\": \"ns\"}}";
	static const char other[] = "{\"annotations\": {\"io.container.manager\": \"mine\"}}";
	static const char none[] = "{\"annotations\": {}}";
	static const struct {
		const char *spec, *engine;
	} cases[] = {
		{ podman, "Podman" }, { containerd, "containerd" }, { other, "mine" },
		{ none, "unknown" },
	};

	(void)state;
	for (size_t i = 0; i < C2C_ARRAY_SIZE(cases); i++) {
		const struct meta_file f = { "spec.dump", cases[i].spec, strlen(cases[i].spec) };
		struct c2c_ctx *ctx = c2c_ctx_new();
		struct c2c_report *rep = load_meta(ctx, &f, 1);

		assert_quiet(ctx);
		assert_string_equal(rep->meta.engine, cases[i].engine);
		if (cases[i].spec == containerd) {
			assert_string_equal(rep->meta.name, "c");
			assert_string_equal(rep->meta.pod, "p");
			assert_string_equal(rep->meta.namespace, "ns");
		}
		c2c_report_free(rep);
		c2c_ctx_free(ctx);
	}
}

/* Files that are not metadata at all: every field stays empty, no error, no warning. */
static void meta_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"{",
		"{\"id\": \"3f6c\"",			 /* truncated */
		"{\"id\": \"3f6c\", \"name\": \"k8s_c",	 /* truncated inside a string */
		"{\"id\": \"3f6c\"}}",			 /* trailing bytes */
		"{\"id\": \"3f6c\"} x",
		"{\"id\" \"3f6c\"}",
		"{\"id\": 3f6c}",
		"{'id': '3f6c'}",
		"{\"id\": \"3f\\x6c\"}",		 /* bad escape */
		"{\"id\": \"3f\x01" "6c\"}",		 /* raw control character */
		"{\"id\": \"3f\\u0000\"}",		 /* NUL inside a string */
		"{\"id\": \"\\ud83d\"}",		 /* lone surrogate */
		"{\"id\": \"3f\xff" "6c\"}",		 /* not UTF-8 */
		"{\"id\": \"a\", \"id\": \"b\"}",	 /* which one? */
		"[\"id\", \"3f6c\"]",			 /* not an object */
		"\"3f6c\"",
		"null",
		"\xef\xbb\xbf{\"id\": \"3f6c\"}",	 /* byte order mark */
	};

	(void)state;
	for (size_t i = 0; i < C2C_ARRAY_SIZE(bad); i++) {
		const struct meta_file f[] = {
			{ "config.dump", bad[i], strlen(bad[i]) },
			{ "spec.dump", bad[i], strlen(bad[i]) },
		};
		struct c2c_ctx *ctx = c2c_ctx_new();
		struct c2c_report *rep = load_meta(ctx, f, C2C_ARRAY_SIZE(f));

		assert_quiet(ctx);
		if (rep->meta.engine || rep->meta.id)
			fail_msg("case %zu: %s read as metadata", i, bad[i]);
		assert_meta_empty(rep);
		c2c_report_free(rep);
		c2c_ctx_free(ctx);
	}
}

/* The length bounds the read: a valid prefix of the member is not the member. */
static void meta_length_bounds(void **state)
{
	static const char text[] = "{\"id\": \"3f6c\"}";
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct c2c_report *rep;

	(void)state;
	rep = load_config(ctx, text, sizeof(text) - 2); /* without the closing brace */
	assert_quiet(ctx);
	assert_meta_empty(rep);
	c2c_report_free(rep);
	rep = load_config(ctx, text, sizeof(text)); /* with a NUL byte after it */
	assert_quiet(ctx);
	assert_meta_empty(rep);
	c2c_report_free(rep);
	c2c_ctx_free(ctx);
}

/* Valid JSON, wrong types: those members are ignored, the others still read. */
static void meta_wrong_types(void **state)
{
	static const char config[] =
		"{\"id\": 42, \"name\": null, \"rootfsImageName\": [\"a\"], \"rootfsImage\": {},"
		" \"RawImageName\": \"raw:1\", \"runtime\": true, \"createdTime\": 1.5,"
		" \"checkpointedTime\": \"t\"}";
	static const char spec[] = "{\"annotations\": [\"io.container.manager\", \"cri-o\"]}";
	static const char spec2[] =
		"{\"annotations\": {\"io.container.manager\": 7,"
		" \"io.kubernetes.container.name\": {\"x\": 1}, \"io.kubernetes.pod.name\": \"p\"}}";
	const struct meta_file f[] = {
		{ "config.dump", config, sizeof(config) - 1 },
		{ "spec.dump", spec, sizeof(spec) - 1 },
	};
	const struct meta_file f2 = { "spec.dump", spec2, sizeof(spec2) - 1 };
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct c2c_report *rep;

	(void)state;
	rep = load_meta(ctx, f, C2C_ARRAY_SIZE(f));
	assert_quiet(ctx);
	assert_string_equal(rep->meta.engine, "unknown"); /* metadata, but no manager */
	assert_null(rep->meta.id);
	assert_null(rep->meta.name);
	assert_string_equal(rep->meta.image, "raw:1");
	assert_null(rep->meta.runtime);
	assert_null(rep->meta.created);
	assert_string_equal(rep->meta.checkpointed, "t");
	assert_null(rep->meta.pod);
	c2c_report_free(rep);
	rep = load_meta(ctx, &f2, 1);
	assert_quiet(ctx);
	assert_string_equal(rep->meta.engine, "unknown");
	assert_null(rep->meta.name);
	assert_string_equal(rep->meta.pod, "p");
	c2c_report_free(rep);
	c2c_ctx_free(ctx);
}

/* "{\"id\": \"3f6c\", \"x\": " + levels of [ + levels of ] + "}" */
static char *nested(size_t levels, size_t *len)
{
	static const char head[] = "{\"id\": \"3f6c\", \"x\": ";
	size_t n = sizeof(head) - 1 + 2 * levels + 1;
	char *s = malloc(n);

	assert_non_null(s);
	memcpy(s, head, sizeof(head) - 1);
	memset(s + sizeof(head) - 1, '[', levels);
	memset(s + sizeof(head) - 1 + levels, ']', levels);
	s[n - 1] = '}';
	*len = n;
	return s;
}

/*
 * Nesting: up to 64 levels counting the top object are read; one more and
 * the file is ignored; far deeper (past jansson's own cap) is no crash.
 */
static void meta_deep_nesting(void **state)
{
	static const struct {
		size_t levels;
		bool read;
	} cases[] = { { 1, true }, { 63, true }, { 64, false }, { 3000, false }, { 200000, false } };

	(void)state;
	for (size_t i = 0; i < C2C_ARRAY_SIZE(cases); i++) {
		struct c2c_ctx *ctx = c2c_ctx_new();
		struct c2c_report *rep;
		size_t len;
		char *s = nested(cases[i].levels, &len);

		rep = load_config(ctx, s, len);
		assert_quiet(ctx);
		if (cases[i].read) {
			assert_non_null(rep->meta.id);
			assert_string_equal(rep->meta.id, "3f6c");
		} else {
			assert_meta_empty(rep);
		}
		c2c_report_free(rep);
		free(s);
		c2c_ctx_free(ctx);
	}
}

/* A stats-dump image: its magic words, then one PbStatsEntry record (none when d is NULL). */
static void stats_image(struct tbuf *img, PbDumpStatsEntry *d)
{
	const struct c2c_imgdesc *desc = c2c_imgdesc_get(C2C_IMG_STATS);
	PbStatsEntry e = PB_STATS_ENTRY__INIT;
	struct tbuf msg = { 0 };
	uint8_t buf[256];

	if (desc->prefix)
		tbuf_u32(img, desc->prefix);
	tbuf_u32(img, desc->magic);
	e.dump = d;
	assert_true(pb_stats_entry__get_packed_size(&e) <= sizeof(buf));
	tbuf_put(&msg, buf, pb_stats_entry__pack(&e, buf));
	tbuf_record(img, &msg);
	tbuf_free(&msg);
}

static void meta_stats(void **state)
{
	PbDumpStatsEntry d = PB_DUMP_STATS_ENTRY__INIT;
	struct tbuf img = { 0 };
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct c2c_report *rep;
	struct meta_file f = { c2c_imgdesc_get(C2C_IMG_STATS)->name, NULL, 0 };

	(void)state;
	d.has_freezing_time = d.has_frozen_time = d.has_pages_scanned = true;
	d.has_pages_written = d.has_pages_lazy = d.has_pages_skipped_parent = true;
	d.freezing_time = 308;
	d.frozen_time = 31752;
	d.pages_scanned = 2466;
	d.pages_skipped_parent = 11;
	d.pages_written = 1234;
	d.pages_lazy = 5;
	stats_image(&img, &d);
	f.data = img.p;
	f.size = img.n;
	rep = load_meta(ctx, &f, 1);
	assert_quiet(ctx);
	assert_true(rep->has_stats);
	assert_int_equal(rep->stats.freezing_time, 308);
	assert_int_equal(rep->stats.frozen_time, 31752);
	assert_int_equal(rep->stats.memdump_time, 0); /* not written: protobuf's default */
	assert_int_equal(rep->stats.pages_scanned, 2466);
	assert_int_equal(rep->stats.pages_skipped_parent, 11);
	assert_int_equal(rep->stats.pages_written, 1234);
	assert_int_equal(rep->stats.pages_lazy, 5);
	assert_null(rep->meta.engine); /* stats alone are no container metadata */
	c2c_report_free(rep);

	/* Cut anywhere, or broken: no statistics, no error. */
	for (size_t cut = 0; cut < img.n; cut++) {
		f.size = cut;
		rep = load_meta(ctx, &f, 1);
		assert_quiet(ctx);
		assert_false(rep->has_stats);
		c2c_report_free(rep);
	}
	f.size = img.n;
	img.p[img.n - 1] = 0xff; /* the last varint runs off the record */
	rep = load_meta(ctx, &f, 1);
	assert_quiet(ctx);
	assert_false(rep->has_stats);
	c2c_report_free(rep);
	img.p[0] ^= 1; /* bad magic */
	rep = load_meta(ctx, &f, 1);
	assert_quiet(ctx);
	assert_false(rep->has_stats);
	c2c_report_free(rep);
	tbuf_free(&img);

	/* A record without dump statistics, or no record: none either. */
	stats_image(&img, NULL);
	f.data = img.p;
	f.size = img.n;
	rep = load_meta(ctx, &f, 1);
	assert_quiet(ctx);
	assert_false(rep->has_stats);
	c2c_report_free(rep);
	f.size = c2c_imgdesc_get(C2C_IMG_STATS)->prefix ? 8 : 4;
	rep = load_meta(ctx, &f, 1);
	assert_quiet(ctx);
	assert_false(rep->has_stats);
	c2c_report_free(rep);
	tbuf_free(&img);
	c2c_ctx_free(ctx);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(json_round_trip, sample_setup, sample_teardown),
	cmocka_unit_test(json_format),
	cmocka_unit_test(json_strings),
	cmocka_unit_test_setup_teardown(json_large_counts, sample_setup, sample_teardown),
	cmocka_unit_test_setup_teardown(json_error_member, sample_setup, sample_teardown),
	cmocka_unit_test_setup_teardown(warnings_rendered, sample_setup, sample_teardown),
	cmocka_unit_test_setup_teardown(tree_rendering, sample_setup, sample_teardown),
	cmocka_unit_test(no_report),
	cmocka_unit_test(meta_crio),
	cmocka_unit_test(meta_engines),
	cmocka_unit_test(meta_malformed),
	cmocka_unit_test(meta_length_bounds),
	cmocka_unit_test(meta_wrong_types),
	cmocka_unit_test(meta_deep_nesting),
	cmocka_unit_test(meta_stats),
};

C2C_UNIT_MAIN(tests)
