/*
 * Reports: container metadata (config.dump, spec.dump; container-archives.md
 * §2.2-§2.3), CRIU dump statistics (stats-dump, criu-image-format §4), the
 * process tree and the cores written, rendered as JSON (the manifest, and
 * `inspect --format json`; schema in doc/report.schema.json) or as a tree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "image.h"
#include "json.h"
#include "report.h"
#include "stats.pb-c.h"
#include "util.h"


void c2c_report_free(struct c2c_report *rep)
{
	if (!rep)
		return;
	free(rep->input);
	free(rep->meta.engine);
	free(rep->meta.name);
	free(rep->meta.id);
	free(rep->meta.image);
	free(rep->meta.pod);
	free(rep->meta.namespace);
	free(rep->meta.runtime);
	free(rep->meta.created);
	free(rep->meta.checkpointed);
	for (size_t i = 0; i < rep->nprocs; i++) {
		free(rep->procs[i].cmdline);
		free(rep->procs[i].core_path);
	}
	free(rep->procs);
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

static struct c2c_json *load_json(struct c2c_ctx *ctx, struct c2c_source *src, const char *name)
{
	struct c2c_blob b = C2C_BLOB_INIT;
	struct c2c_json *j = NULL;

	c2c_try_begin(ctx); /* metadata is optional: a broken file is no failure */
	if (c2c_source_load_meta(ctx, src, name, &b) == 0)
		j = c2c_json_parse((const char *)b.data, (size_t)b.size);
	c2c_try_end(ctx);
	c2c_blob_release(&b);
	return j;
}

static void load_stats(struct c2c_ctx *ctx, struct c2c_report *rep, struct c2c_source *src)
{
	struct c2c_blob b = C2C_BLOB_INIT;
	ProtobufCMessage *msg = NULL;
	struct c2c_image img;

	c2c_try_begin(ctx);
	if (c2c_source_load_meta(ctx, src, c2c_imgdesc_get(C2C_IMG_STATS)->name, &b) == 0 &&
	    c2c_image_open(ctx, &b, C2C_IMG_STATS, &img) == 0 &&
	    c2c_image_next_msg(ctx, &img, &pb_stats_entry__descriptor, &msg) == 1) {
		const PbDumpStatsEntry *d = ((PbStatsEntry *)msg)->dump;

		if (d) {
			rep->has_stats = true;
			rep->stats.freezing_time = d->freezing_time;
			rep->stats.frozen_time = d->frozen_time;
			rep->stats.memdump_time = d->memdump_time;
			rep->stats.memwrite_time = d->memwrite_time;
			rep->stats.pages_scanned = d->pages_scanned;
			rep->stats.pages_skipped_parent = d->pages_skipped_parent;
			rep->stats.pages_written = d->pages_written;
			rep->stats.pages_lazy = d->pages_lazy;
		}
	}
	if (msg)
		protobuf_c_message_free_unpacked(msg, NULL);
	c2c_try_end(ctx);
	c2c_blob_release(&b);
}

void c2c_report_load_meta(struct c2c_ctx *ctx, struct c2c_report *rep, struct c2c_source *src)
{
	struct c2c_json *config = load_json(ctx, src, "config.dump");
	struct c2c_json *spec = load_json(ctx, src, "spec.dump");
	const struct c2c_json *ann = c2c_json_get(spec, "annotations");
	const char *mgr = c2c_json_get_str(ann, "io.container.manager");

	/* Engine: the annotation CRI-O and Podman set; containerd has its own keys. */
	if (mgr && !strcmp(mgr, "cri-o"))
		set(&rep->meta.engine, "CRI-O");
	else if (mgr && !strcmp(mgr, "libpod"))
		set(&rep->meta.engine, "Podman");
	else if (c2c_json_get(ann, "io.kubernetes.cri.container-name"))
		set(&rep->meta.engine, "containerd");
	else if (config || spec)
		set(&rep->meta.engine, mgr ? mgr : "unknown");
	set(&rep->meta.name, c2c_json_get_str(ann, "io.kubernetes.container.name"));
	set(&rep->meta.name, c2c_json_get_str(ann, "io.kubernetes.cri.container-name"));
	set(&rep->meta.name, c2c_json_get_str(config, "name"));
	set(&rep->meta.id, c2c_json_get_str(config, "id"));
	set(&rep->meta.image, c2c_json_get_str(config, "rootfsImageName"));
	set(&rep->meta.image, c2c_json_get_str(config, "rootfsImage"));
	set(&rep->meta.image, c2c_json_get_str(config, "RawImageName"));
	set(&rep->meta.pod, c2c_json_get_str(ann, "io.kubernetes.pod.name"));
	set(&rep->meta.pod, c2c_json_get_str(ann, "io.kubernetes.cri.sandbox-name"));
	set(&rep->meta.pod, c2c_json_get_str(config, "pod"));
	set(&rep->meta.namespace, c2c_json_get_str(ann, "io.kubernetes.pod.namespace"));
	set(&rep->meta.namespace, c2c_json_get_str(ann, "io.kubernetes.cri.sandbox-namespace"));
	set(&rep->meta.namespace, c2c_json_get_str(config, "namespace"));
	set(&rep->meta.runtime, c2c_json_get_str(config, "runtime"));
	set(&rep->meta.created, c2c_json_get_str(config, "createdTime"));
	set(&rep->meta.checkpointed, c2c_json_get_str(config, "checkpointedTime"));
	c2c_json_free(config);
	c2c_json_free(spec);
	load_stats(ctx, rep, src);
}

static void json_field(struct c2c_buf *b, const char *key, const char *value, bool comma)
{
	c2c_buf_json_str(b, key);
	c2c_buf_printf(b, ": ");
	c2c_buf_json_str(b, value);
	if (comma)
		c2c_buf_printf(b, ", ");
}

static char *render_json(const struct c2c_report *rep, const struct c2c_warnings *w)
{
	struct c2c_buf b = { 0 };

	c2c_buf_printf(&b, "{");
	json_field(&b, "input", rep->input, true);
	json_field(&b, "kind", rep->kind, true);
	c2c_buf_printf(&b, "\"container\": {");
	json_field(&b, "engine", rep->meta.engine, true);
	json_field(&b, "name", rep->meta.name, true);
	json_field(&b, "id", rep->meta.id, true);
	json_field(&b, "image", rep->meta.image, true);
	json_field(&b, "pod", rep->meta.pod, true);
	json_field(&b, "namespace", rep->meta.namespace, true);
	json_field(&b, "runtime", rep->meta.runtime, true);
	json_field(&b, "created", rep->meta.created, true);
	json_field(&b, "checkpointed", rep->meta.checkpointed, false);
	c2c_buf_printf(&b, "}, \"criu_dump_stats\": ");
	if (rep->has_stats)
		c2c_buf_printf(&b,
			       "{\"freezing_time_us\": %llu, \"frozen_time_us\": %llu, "
			       "\"memdump_time_us\": %llu, \"memwrite_time_us\": %llu, "
			       "\"pages_scanned\": %llu, \"pages_skipped_parent\": %llu, "
			       "\"pages_written\": %llu, \"pages_lazy\": %llu}",
			       (unsigned long long)rep->stats.freezing_time,
			       (unsigned long long)rep->stats.frozen_time,
			       (unsigned long long)rep->stats.memdump_time,
			       (unsigned long long)rep->stats.memwrite_time,
			       (unsigned long long)rep->stats.pages_scanned,
			       (unsigned long long)rep->stats.pages_skipped_parent,
			       (unsigned long long)rep->stats.pages_written,
			       (unsigned long long)rep->stats.pages_lazy);
	else
		c2c_buf_printf(&b, "null");
	c2c_buf_printf(&b, ", \"processes\": [");
	for (size_t i = 0; i < rep->nprocs; i++) {
		const struct c2c_report_proc *p = &rep->procs[i];

		c2c_buf_printf(&b, "%s{\"pid\": %u, \"ppid\": %u, ", i ? ", " : "", p->pid, p->ppid);
		json_field(&b, "comm", p->comm, true);
		json_field(&b, "state", p->state, true);
		c2c_buf_printf(&b, "\"threads\": %zu, ", p->nthreads);
		json_field(&b, "arch", p->arch, true);
		c2c_buf_printf(&b, p->page_size ? "\"page_size\": %llu, " : "\"page_size\": null, ",
			       (unsigned long long)p->page_size);
		json_field(&b, "cmdline", p->cmdline, true);
		c2c_buf_printf(&b,
			       "\"memory\": {\"vmas\": %zu, \"pages_in_images\": %llu, "
			       "\"pages_in_parent\": %llu, \"lazy_pages\": %llu, "
			       "\"file_mapped_pages\": %llu}, ",
			       p->nvmas, (unsigned long long)p->pages_images,
			       (unsigned long long)p->pages_parent,
			       (unsigned long long)p->pages_lazy,
			       (unsigned long long)p->file_mapped_pages);
		c2c_buf_printf(&b, "\"core\": ");
		if (p->has_core) {
			c2c_buf_printf(&b, "{\"path\": ");
			c2c_buf_json_str(&b, p->core_path);
			c2c_buf_printf(&b,
				       ", \"size\": %llu, \"disk_usage\": %llu, \"segments\": %zu, "
				       "\"bytes_from_images\": %llu, \"bytes_from_root\": %llu, "
				       "\"pages_missing\": %llu}",
				       (unsigned long long)p->core_size,
				       (unsigned long long)p->core_disk, p->segments,
				       (unsigned long long)p->bytes_from_images,
				       (unsigned long long)p->bytes_from_root,
				       (unsigned long long)p->pages_missing);
		} else {
			c2c_buf_printf(&b, "null");
		}
		c2c_buf_printf(&b, ", ");
		json_field(&b, "skipped", p->skipped, false);
		c2c_buf_printf(&b, "}");
	}
	c2c_buf_printf(&b, "], \"warnings\": [");
	for (size_t i = 0; i < w->n; i++) {
		c2c_buf_printf(&b, "%s", i ? ", " : "");
		c2c_buf_json_str(&b, w->v[i]);
	}
	c2c_buf_printf(&b, "], \"error\": ");
	if (rep->err_code) {
		c2c_buf_printf(&b, "{\"code\": ");
		c2c_buf_json_str(&b, c2c_strerror(rep->err_code));
		c2c_buf_printf(&b, ", \"message\": ");
		c2c_buf_json_str(&b, rep->err_msg);
		c2c_buf_printf(&b, "}");
	} else {
		c2c_buf_printf(&b, "null");
	}
	c2c_buf_printf(&b, "}");
	return c2c_buf_take(&b);
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
	struct c2c_buf b = { 0 };

	for (size_t i = 0; index && i < rep->nprocs; i++)
		index[i] = (uint64_t)rep->procs[i].pid << 32 | (uint32_t)i;
	if (index)
		qsort(index, rep->nprocs, sizeof(*index), cmp_pid_index);
	c2c_buf_printf(&b, "%s (%s)\n", rep->input, or_dash(rep->kind));
	if (rep->meta.engine)
		c2c_buf_printf(&b,
			       "  container  %s  image %s\n  engine     %s  runtime %s  pod %s/%s\n"
			       "  created    %s  checkpointed %s\n",
			       or_dash(rep->meta.name), or_dash(rep->meta.image),
			       or_dash(rep->meta.engine), or_dash(rep->meta.runtime),
			       or_dash(rep->meta.namespace), or_dash(rep->meta.pod),
			       or_dash(rep->meta.created), or_dash(rep->meta.checkpointed));
	if (rep->has_stats)
		c2c_buf_printf(&b,
			       "  CRIU dump  frozen %.1f ms, memory dump %.1f ms, %llu pages "
			       "written of %llu scanned\n",
			       (double)rep->stats.frozen_time / 1000.0,
			       (double)rep->stats.memdump_time / 1000.0,
			       (unsigned long long)rep->stats.pages_written,
			       (unsigned long long)rep->stats.pages_scanned);
	c2c_buf_printf(&b, "  processes\n");
	for (size_t i = 0; i < rep->nprocs; i++) {
		const struct c2c_report_proc *p = &rep->procs[i];
		size_t d = depth_of(rep, index, i);
		char arch[48] = ""; /* ", aarch64, 64 KiB pages" when known */

		if (p->arch && p->page_size)
			snprintf(arch, sizeof(arch), ", %s, %llu KiB pages", p->arch,
				 (unsigned long long)(p->page_size >> 10));
		c2c_buf_printf(&b, "  %*s%s%u %s [%s, %zu thread%s%s] %s\n", (int)(2 * d), "",
			       d ? "`- " : "", p->pid, p->comm, p->state, p->nthreads,
			       p->nthreads == 1 ? "" : "s", arch, or_dash(p->cmdline));
		if (p->skipped)
			c2c_buf_printf(&b, "  %*s     no core: %s\n", (int)(2 * d), "", p->skipped);
		else
			c2c_buf_printf(&b,
				       "  %*s     %zu VMAs, %llu pages in the images (%llu in parents), "
				       "%llu lazy, %llu file-mapped%s%s\n",
				       (int)(2 * d), "", p->nvmas,
				       (unsigned long long)p->pages_images,
				       (unsigned long long)p->pages_parent,
				       (unsigned long long)p->pages_lazy,
				       (unsigned long long)p->file_mapped_pages,
				       p->has_core ? ", core " : "",
				       p->has_core ? p->core_path : "");
	}
	for (size_t i = 0; i < w->n; i++)
		c2c_buf_printf(&b, "  warning: %s\n", w->v[i]);
	if (rep->err_code)
		c2c_buf_printf(&b, "  error: %s\n", or_dash(rep->err_msg));
	free(index);
	return c2c_buf_take(&b);
}

char *c2c_report(const struct c2c_ctx *ctx, enum c2c_report_format fmt)
{
	if (!ctx->report)
		return NULL;
	return fmt == C2C_REPORT_TREE ? render_tree(ctx->report, &ctx->warnings)
				     : render_json(ctx->report, &ctx->warnings);
}
