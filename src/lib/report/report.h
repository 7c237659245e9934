/*
 * Stage 7, report: what one conversion (or inspection) found and did, for the JSON manifest
 * and `ckpt2core inspect`: container metadata, CRIU dump statistics, the
 * process tree with memory figures, the cores written, warnings and the
 * error. Built by convert.c; rendered by report.c.
 */
#ifndef C2C_REPORT_H
#define C2C_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>

#include "process.h"
#include "source.h"
#include "stats.h"

struct json_t;

struct c2c_report_proc {
	uint32_t pid, ppid;
	char comm[16];
	const char *state; /* "alive", "stopped", "zombie" */
	size_t nthreads;
	const char *arch;   /* "x86_64", "aarch64" (c2c_arch.name); NULL if unknown (zombie) */
	uint64_t page_size; /* bytes; 0 if unknown (no memory) */
	char *cmdline;	   /* argv from memory, NULs as spaces; NULL if unknown */
	char *exe;	   /* the executable's path as the process saw it, or NULL */
	struct json_t *details; /* inspect's C2C_FLAG_INSPECT_* details (details.c), or NULL */
	size_t nvmas;
	uint64_t pages_images, pages_lazy; /* private pages with data / without */
	uint64_t pages_parent;		   /* of pages_images, from a parent directory */
	uint64_t file_mapped_pages;	   /* pages of file mappings */
	const char *skipped;		   /* why no core, or NULL */
	bool has_core;
	char *core_path;
	uint64_t core_size, core_disk; /* apparent size, bytes allocated */
	size_t segments;
	uint64_t bytes_from_images, bytes_from_root;
	uint64_t pages_missing;
};

/*
 * Container metadata fields, in the order of doc/report.schema.json's
 * container object, whose members are named after them.
 */
#define C2C_REPORT_META(X) \
	X(engine) X(name) X(id) X(image) X(pod) X(namespace) X(runtime) X(created) X(checkpointed)

struct c2c_report {
	char *input;
	const char *kind; /* "image directory", "extracted archive", "archive" */
	struct {
#define C2C_REPORT_META_FIELD(field) char *field;
		C2C_REPORT_META(C2C_REPORT_META_FIELD)
#undef C2C_REPORT_META_FIELD
	} meta; /* each NULL when unknown */
	/* inspect --metadata/--mounts (details.c), --fs-diff: JSON objects, or NULL */
	struct json_t *container_details, *fs_diff;
	uint64_t pages_bytes; /* of the pages images the loaded processes use */
	bool has_stats;
	struct c2c_dump_stats stats; /* valid when has_stats */
	struct c2c_report_proc *procs;
	size_t nprocs;
	int err_code;
	char *err_msg;
};

struct c2c_ctx;

/* Start a fresh report for `input` in ctx (replacing the previous one). */
int c2c_report_begin(struct c2c_ctx *ctx, const char *input);
void c2c_report_free(struct c2c_report *rep);

/*
 * Container metadata and dump statistics from the files beside the images:
 * config.dump, spec.dump, stats-dump (container-archives.md §2.2-§2.4).
 * Missing or malformed files only leave fields empty.
 */
void c2c_report_load_meta(struct c2c_ctx *ctx, struct c2c_report *rep, struct c2c_source *src);

/*
 * A JSON string of text that need not be UTF-8 (process memory, file names):
 * each byte that does not start a well-formed sequence becomes U+FFFD; null
 * for NULL; NULL only when memory ran out. report.c.
 */
struct json_t *c2c_report_text_n(const char *s, size_t n);
struct json_t *c2c_report_text(const char *s);

/*
 * details.c: the details of process p that flags (C2C_FLAG_INSPECT_*) ask
 * for, as a new JSON object (jansson; NULL when memory ran out), and their
 * text lines for the tree output.
 */
struct json_t *c2c_report_details(const struct c2c_process *p, const struct c2c_task_res *res,
				  unsigned int flags);
void c2c_report_details_text(FILE *f, const struct json_t *d);

/*
 * details.c: what C2C_FLAG_INSPECT_METADATA, _MOUNTS and _FS_DIFF ask of the
 * container, from spec.dump, rootfs-diff.tar and deleted.files beside the
 * images (optional: what is missing or broken stays null, never an error),
 * into rep; and the sizes of the checkpoint (bytes of its input) and of its
 * pages images (pages_bytes) once they are known.
 */
void c2c_report_container_details(struct c2c_ctx *ctx, struct c2c_report *rep,
				  struct c2c_source *src, const struct json_t *spec);
void c2c_report_set_sizes(struct c2c_report *rep, uint64_t checkpoint_bytes,
			  uint64_t pages_bytes);
void c2c_report_container_text(FILE *f, const struct c2c_report *rep);

#endif /* C2C_REPORT_H */
