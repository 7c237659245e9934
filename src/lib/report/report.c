/*
 * Reports: container metadata (config.dump, spec.dump; container-archives.md
 * §2.2-§2.3), CRIU dump statistics (stats-dump, criu-image-format §4), the
 * process tree and the cores written, rendered as JSON (the manifest, and
 * `inspect --format json`; schema in doc/report.schema.json) or as a tree.
 * JSON is read and written with jansson; the tree is printed into a memory
 * stream (open_memstream): the library never prints.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "error.h"
#include "report.h"
#include "util.h"


void c2c_report_free(struct c2c_report *rep)
{
	if (!rep)
		return;
	free(rep->input);
#define FREE_META(field) free(rep->meta.field);
	C2C_REPORT_META(FREE_META)
#undef FREE_META
	for (size_t i = 0; i < rep->nprocs; i++) {
		free(rep->procs[i].cmdline);
		free(rep->procs[i].exe);
		json_decref(rep->procs[i].details);
		free(rep->procs[i].core_path);
	}
	free(rep->procs);
	json_decref(rep->container_details);
	json_decref(rep->fs_diff);
	free(rep->err_msg);
	free(rep);
}

int c2c_report_begin(struct c2c_ctx *ctx, const char *input)
{
	struct c2c_report *rep = calloc(1, sizeof(*rep));

	c2c_report_free(ctx->report);
	ctx->report = rep;
	if (!rep || !(rep->input = c2c_strdup(input ? input : "")))
		return C2C_E_NOMEM;
	return 0;
}

static void set(char **field, const char *value)
{
	if (value && !*field)
		*field = c2c_strdup(value);
}

/*
 * Metadata files are untrusted. A file that is not a JSON object (RFC 8259
 * text in UTF-8, as jansson reads it: no trailing bytes, no NUL inside
 * strings), that repeats a key (which of two values an engine meant is
 * anybody's guess) or that nests deeper than this is ignored as a whole.
 * jansson's own parser stops at JSON_PARSER_MAX_DEPTH (2048); the engines
 * write a few levels, and the cap is the one the reader before jansson had.
 * The size is capped by c2c_source_load_meta().
 */
#define META_MAX_DEPTH 64

static bool too_deep(json_t *j, unsigned depth)
{
	if (!json_is_object(j) && !json_is_array(j))
		return false;
	if (depth >= META_MAX_DEPTH)
		return true;
	if (json_is_array(j)) {
		for (size_t i = 0; i < json_array_size(j); i++)
			if (too_deep(json_array_get(j, i), depth + 1))
				return true;
		return false;
	}
	for (void *it = json_object_iter(j); it; it = json_object_iter_next(j, it))
		if (too_deep(json_object_iter_value(it), depth + 1))
			return true;
	return false;
}

static json_t *load_json(struct c2c_ctx *ctx, struct c2c_source *src, const char *name)
{
	struct c2c_blob b = C2C_BLOB_INIT;
	json_t *j = NULL;

	c2c_try_begin(ctx); /* metadata is optional: a broken file is no failure */
	if (c2c_source_load_meta(ctx, src, name, &b) == 0 && b.data)
		j = json_loadb((const char *)b.data, (size_t)b.size, JSON_REJECT_DUPLICATES, NULL);
	c2c_try_end(ctx);
	c2c_blob_release(&b);
	if (j && (!json_is_object(j) || too_deep(j, 0))) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

/* Member key of obj when it is a string, else NULL (also when obj is NULL or no object). */
static const char *str_of(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Dump statistics are optional too: a broken stats-dump is no failure. */
static void load_stats(struct c2c_ctx *ctx, struct c2c_report *rep, struct c2c_source *src)
{
	c2c_try_begin(ctx);
	rep->has_stats = c2c_stats_load(ctx, src, &rep->stats) == 0;
	c2c_try_end(ctx);
}

void c2c_report_load_meta(struct c2c_ctx *ctx, struct c2c_report *rep, struct c2c_source *src)
{
	json_t *config = load_json(ctx, src, "config.dump");
	json_t *spec = load_json(ctx, src, "spec.dump");
	const json_t *ann = json_object_get(spec, "annotations");
	const char *mgr;

	if (!json_is_object(ann))
		ann = NULL;
	mgr = str_of(ann, "io.container.manager");
	/* Engine: the annotation CRI-O and Podman set; containerd has its own keys. */
	if (mgr && !strcmp(mgr, "cri-o"))
		set(&rep->meta.engine, "CRI-O");
	else if (mgr && !strcmp(mgr, "libpod"))
		set(&rep->meta.engine, "Podman");
	else if (json_object_get(ann, "io.kubernetes.cri.container-name"))
		set(&rep->meta.engine, "containerd");
	else if (config || spec)
		set(&rep->meta.engine, mgr ? mgr : "unknown");
	set(&rep->meta.name, str_of(ann, "io.kubernetes.container.name"));
	set(&rep->meta.name, str_of(ann, "io.kubernetes.cri.container-name"));
	set(&rep->meta.name, str_of(config, "name"));
	set(&rep->meta.id, str_of(config, "id"));
	set(&rep->meta.image, str_of(config, "rootfsImageName"));
	set(&rep->meta.image, str_of(config, "rootfsImage"));
	set(&rep->meta.image, str_of(config, "RawImageName"));
	set(&rep->meta.pod, str_of(ann, "io.kubernetes.pod.name"));
	set(&rep->meta.pod, str_of(ann, "io.kubernetes.cri.sandbox-name"));
	set(&rep->meta.pod, str_of(config, "pod"));
	set(&rep->meta.namespace, str_of(ann, "io.kubernetes.pod.namespace"));
	set(&rep->meta.namespace, str_of(ann, "io.kubernetes.cri.sandbox-namespace"));
	set(&rep->meta.namespace, str_of(config, "namespace"));
	set(&rep->meta.runtime, str_of(config, "runtime"));
	set(&rep->meta.created, str_of(config, "createdTime"));
	set(&rep->meta.checkpointed, str_of(config, "checkpointedTime"));
	c2c_report_container_details(ctx, rep, src, spec);
	json_decref(config);
	json_decref(spec);
	load_stats(ctx, rep, src);
}

/*
 * JSON output: a jansson tree, dumped on one line with ", " and ": " between
 * members (no JSON_INDENT, no JSON_COMPACT) and keys in insertion order, which
 * is the order of doc/report.schema.json (JSON_PRESERVE_ORDER is jansson's
 * only behaviour since 2.8; the flag says that we rely on it). Non-ASCII text
 * stays UTF-8 (no JSON_ENSURE_ASCII). This is byte for byte the format the
 * reports had before jansson, except for control characters: jansson writes
 * \n, \t and the like in their short forms and DEL as it is.
 */
#define REPORT_JSON_FLAGS JSON_PRESERVE_ORDER

/*
 * Length of the well-formed UTF-8 sequence at s, within n bytes (RFC 3629:
 * no overlong form, no surrogate, nothing above U+10FFFF: what jansson's
 * json_stringn() accepts), or 0 if none starts there.
 */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	uint32_t cp, min;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1fU, min = 0x80;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0fU, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07U, min = 0x10000;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fU);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/*
 * A JSON string of the n bytes at s, or null when s is NULL; NULL when memory
 * ran out. Text from process memory (comm, cmdline) and file names need not
 * be UTF-8, which json_stringn() refuses: each byte that does not start a
 * well-formed sequence becomes U+FFFD, so one bad byte costs one character
 * and never the report. Control characters stay and are escaped by jansson.
 */
json_t *c2c_report_text_n(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	char *clean, *o;
	json_t *j;
	size_t i, k;

	if (!s)
		return json_null();
	for (i = 0; i < n && (k = utf8_seq(u + i, n - i)); i += k)
		;
	if (i == n)
		return json_stringn(s, n);
	if (n > SIZE_MAX / 3 || !(clean = malloc(3 * n)))
		return NULL;
	for (i = 0, o = clean; i < n; i += k) {
		k = utf8_seq(u + i, n - i);
		if (k) {
			memcpy(o, s + i, k);
			o += k;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3); /* U+FFFD */
			o += 3;
			k = 1;
		}
	}
	j = json_stringn(clean, (size_t)(o - clean));
	free(clean);
	return j;
}

json_t *c2c_report_text(const char *s)
{
	return c2c_report_text_n(s, s ? strlen(s) : 0);
}

_Static_assert(sizeof(json_int_t) == sizeof(int64_t), "jansson without 64-bit integers");

/*
 * A count or size as a JSON integer. jansson's integers are signed: a value
 * above INT64_MAX (only a hostile stats-dump holds one) is clamped rather
 * than wrapped to a negative number, which the schema does not allow.
 */
static json_t *count(uint64_t v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* o, or NULL (and o released) when building it failed. */
static json_t *built(json_t *o, int r)
{
	if (r) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *container_json(const struct c2c_report *rep)
{
	json_t *o = json_object();
	int r = 0;

#define PUT_META(field) r |= json_object_set_new(o, #field, c2c_report_text(rep->meta.field));
	C2C_REPORT_META(PUT_META)
#undef PUT_META
	return built(o, r);
}

static json_t *stats_json(const struct c2c_report *rep)
{
	json_t *o = json_object();
	int r = 0;

#define PUT_TIME(field) r |= json_object_set_new(o, #field "_us", count(rep->stats.field));
#define PUT_PAGES(field) r |= json_object_set_new(o, #field, count(rep->stats.field));
	C2C_DUMP_STATS_TIMES(PUT_TIME)
	C2C_DUMP_STATS_PAGES(PUT_PAGES)
#undef PUT_TIME
#undef PUT_PAGES
	return built(o, r);
}

/* Integer members of a process's memory and core objects: field, key (schema order). */
#define PROC_MEMORY(X)                                                                       \
	X(nvmas, "vmas") X(pages_images, "pages_in_images") X(pages_parent, "pages_in_parent") \
	X(pages_lazy, "lazy_pages") X(file_mapped_pages, "file_mapped_pages")
#define PROC_CORE(X)                                                                      \
	X(core_size, "size") X(core_disk, "disk_usage") X(segments, "segments")             \
	X(bytes_from_images, "bytes_from_images") X(bytes_from_root, "bytes_from_root")     \
	X(pages_missing, "pages_missing")
#define PUT_COUNT(field, key) r |= json_object_set_new(o, key, count(p->field));

static json_t *memory_json(const struct c2c_report_proc *p)
{
	json_t *o = json_object();
	int r = 0;

	PROC_MEMORY(PUT_COUNT)
	return built(o, r);
}

static json_t *core_json(const struct c2c_report_proc *p)
{
	json_t *o = json_object();
	int r = json_object_set_new(o, "path", c2c_report_text(p->core_path));

	PROC_CORE(PUT_COUNT)
	return built(o, r);
}

static json_t *process_json(const struct c2c_report_proc *p)
{
	json_t *o = json_object();
	int r = 0;

	r |= json_object_set_new(o, "pid", count(p->pid));
	r |= json_object_set_new(o, "ppid", count(p->ppid));
	r |= json_object_set_new(o, "comm", c2c_report_text_n(p->comm, strnlen(p->comm, sizeof(p->comm))));
	r |= json_object_set_new(o, "state", c2c_report_text(p->state));
	r |= json_object_set_new(o, "threads", count(p->nthreads));
	r |= json_object_set_new(o, "arch", c2c_report_text(p->arch));
	r |= json_object_set_new(o, "page_size", p->page_size ? count(p->page_size) : json_null());
	r |= json_object_set_new(o, "cmdline", c2c_report_text(p->cmdline));
	r |= json_object_set_new(o, "exe", c2c_report_text(p->exe));
	r |= json_object_set_new(o, "memory", memory_json(p));
	r |= json_object_set_new(o, "core", p->has_core ? core_json(p) : json_null());
	r |= json_object_set_new(o, "skipped", c2c_report_text(p->skipped));
	r |= json_object_set(o, "details", p->details ? p->details : json_null());
	return built(o, r);
}

static json_t *error_json(const struct c2c_report *rep)
{
	json_t *o = json_object();
	int r = json_object_set_new(o, "code", c2c_report_text(c2c_strerror(rep->err_code)));

	r |= json_object_set_new(o, "message", c2c_report_text(rep->err_msg));
	return built(o, r);
}

static json_t *processes_json(const struct c2c_report *rep)
{
	json_t *a = json_array();
	int r = 0;

	for (size_t i = 0; i < rep->nprocs; i++)
		r |= json_array_append_new(a, process_json(&rep->procs[i]));
	return built(a, r);
}

static json_t *warnings_json(const struct c2c_warnings *w)
{
	json_t *a = json_array();
	int r = 0;

	for (size_t i = 0; i < w->n; i++)
		r |= json_array_append_new(a, c2c_report_text(w->v[i]));
	return built(a, r);
}

/*
 * The report as one JSON object (doc/report.schema.json $defs/report), in
 * memory from malloc (json_dumpb into our buffer, so that an application's
 * json_set_alloc_funcs() cannot change who frees it); NULL when memory ran
 * out.
 */
static char *render_json(const struct c2c_report *rep, const struct c2c_warnings *w)
{
	json_t *o = json_object();
	char *s = NULL;
	size_t n;
	int r = 0;

	r |= json_object_set_new(o, "input", c2c_report_text(rep->input));
	r |= json_object_set_new(o, "kind", c2c_report_text(rep->kind));
	r |= json_object_set_new(o, "container", container_json(rep));
	r |= json_object_set_new(o, "criu_dump_stats", rep->has_stats ? stats_json(rep) : json_null());
	r |= json_object_set(o, "container_details",
			     rep->container_details ? rep->container_details : json_null());
	r |= json_object_set(o, "fs_diff", rep->fs_diff ? rep->fs_diff : json_null());
	r |= json_object_set_new(o, "processes", processes_json(rep));
	r |= json_object_set_new(o, "warnings", warnings_json(w));
	r |= json_object_set_new(o, "error", rep->err_code ? error_json(rep) : json_null());
	if (r)
		goto out;
	n = json_dumpb(o, NULL, 0, REPORT_JSON_FLAGS);
	if (n == 0 || n == SIZE_MAX || !(s = malloc(n + 1)))
		goto out;
	if (json_dumpb(o, s, n, REPORT_JSON_FLAGS) != n) {
		free(s);
		s = NULL;
		goto out;
	}
	s[n] = '\0';
out:
	json_decref(o);
	return s;
}

/* Tree indentation stops here (a hostile pstree can be one long chain). */
#define TREE_MAX_DEPTH 32

static int cmp_pid_index(const void *a, const void *b)
{
	const uint64_t x = *(const uint64_t *)a >> 32, y = *(const uint64_t *)b >> 32;

	return x < y ? -1 : x > y;
}

/* Depth of process i in the tree: its ancestors among the reported processes. */
static size_t depth_of(const struct c2c_report *rep, const uint64_t *index, size_t i)
{
	uint32_t ppid = rep->procs[i].ppid;
	size_t d = 0;

	while (ppid && d < TREE_MAX_DEPTH) {
		uint64_t key = (uint64_t)ppid << 32;
		const uint64_t *hit = index ? bsearch(&key, index, rep->nprocs, sizeof(*index),
						      cmp_pid_index)
					    : NULL;

		if (!hit)
			break;
		d++;
		ppid = rep->procs[(uint32_t)*hit].ppid;
	}
	return d;
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static char *render_tree(const struct c2c_report *rep, const struct c2c_warnings *w)
{
	/* pid << 32 | position, sorted: parents are found by binary search */
	uint64_t *index = rep->nprocs ? malloc(rep->nprocs * sizeof(*index)) : NULL;
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	bool failed;

	if (!f)
		goto out;
	for (size_t i = 0; index && i < rep->nprocs; i++)
		index[i] = (uint64_t)rep->procs[i].pid << 32 | (uint32_t)i;
	if (index)
		qsort(index, rep->nprocs, sizeof(*index), cmp_pid_index);
	fprintf(f, "%s (%s)\n", rep->input, or_dash(rep->kind));
	if (rep->meta.engine)
		fprintf(f,
			"  container  %s  image %s\n  engine     %s  runtime %s  pod %s/%s\n"
			"  created    %s  checkpointed %s\n",
			or_dash(rep->meta.name), or_dash(rep->meta.image),
			or_dash(rep->meta.engine), or_dash(rep->meta.runtime),
			or_dash(rep->meta.namespace), or_dash(rep->meta.pod),
			or_dash(rep->meta.created), or_dash(rep->meta.checkpointed));
	if (rep->has_stats)
		fprintf(f,
			"  CRIU dump  frozen %.1f ms, memory dump %.1f ms, %llu pages "
			"written of %llu scanned\n",
			(double)rep->stats.frozen_time / 1000.0,
			(double)rep->stats.memdump_time / 1000.0,
			(unsigned long long)rep->stats.pages_written,
			(unsigned long long)rep->stats.pages_scanned);
	c2c_report_container_text(f, rep);
	fprintf(f, "  processes\n");
	for (size_t i = 0; i < rep->nprocs; i++) {
		const struct c2c_report_proc *p = &rep->procs[i];
		size_t d = depth_of(rep, index, i);
		char arch[48] = ""; /* ", aarch64, 64 KiB pages" when known */

		if (p->arch && p->page_size)
			snprintf(arch, sizeof(arch), ", %s, %llu KiB pages", p->arch,
				 (unsigned long long)(p->page_size >> 10));
		fprintf(f, "  %*s%s%u %s [%s, %zu thread%s%s] %s\n", (int)(2 * d), "",
			d ? "`- " : "", p->pid, p->comm, p->state, p->nthreads,
			p->nthreads == 1 ? "" : "s", arch, or_dash(p->cmdline));
		if (p->skipped)
			fprintf(f, "  %*s     no core: %s\n", (int)(2 * d), "", p->skipped);
		else
			fprintf(f,
				"  %*s     %zu VMAs, %llu pages in the images (%llu in parents), "
				"%llu lazy, %llu file-mapped%s%s\n",
				(int)(2 * d), "", p->nvmas,
				(unsigned long long)p->pages_images,
				(unsigned long long)p->pages_parent,
				(unsigned long long)p->pages_lazy,
				(unsigned long long)p->file_mapped_pages,
				p->has_core ? ", core " : "",
				p->has_core ? p->core_path : "");
		c2c_report_details_text(f, p->details);
	}
	for (size_t i = 0; i < w->n; i++)
		fprintf(f, "  warning: %s\n", w->v[i]);
	if (rep->err_code)
		fprintf(f, "  error: %s\n", or_dash(rep->err_msg));
	failed = ferror(f) != 0;
	if (fclose(f) != 0 || failed) {
		free(s);
		s = NULL;
	}
out:
	free(index);
	return s;
}

char *c2c_report(const struct c2c_ctx *ctx, enum c2c_report_format fmt)
{
	if (!ctx->report)
		return NULL;
	return fmt == C2C_REPORT_TREE ? render_tree(ctx->report, &ctx->warnings)
				     : render_json(ctx->report, &ctx->warnings);
}
