/*
 * Stage 4, process model: the files the processes had mapped.
 *
 * Consumes files.img (or, before CRIU 3.4, reg-files.img), remap-fpath.img
 * and memfd.img (criu-image-format §2.8); produces the checkpoint's file
 * table, sorted by id, and the memfd inodes, sorted by inode. Loaded once,
 * on the first VMA or exe_file_id that needs them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files.pb-c.h"
#include "image.h"
#include "model.h"
#include "util.h"

/* FileEntry.type (fd_types, doc §2.8). */
#define FD_TYPE_REG 1
#define FD_TYPE_MEMFD 18
/* RemapFilePathEntry.remap_type: the file was deleted at dump time (doc §2.8). */
#define REMAP_LINKED 0
#define REMAP_GHOST 1

static int cmp_file(const void *a, const void *b)
{
	return c2c_cmp_u64(((const struct c2c_file *)a)->id, ((const struct c2c_file *)b)->id);
}

static bool file_below(const void *element, const void *key)
{
	return ((const struct c2c_file *)element)->id < *(const uint64_t *)key;
}

struct c2c_file *c2c_files_find(const struct c2c_checkpoint *ck, uint64_t id)
{
	size_t i = c2c_lower_bound(ck->files, ck->nfiles, sizeof(*ck->files), &id, file_below);

	return i < ck->nfiles && ck->files[i].id == id ? &ck->files[i] : NULL;
}

static int push_file(struct c2c_ctx *ctx, struct c2c_checkpoint *ck, const struct c2c_loc *loc,
		     struct c2c_file f)
{
	int r = ck->nfiles >= C2C_MAX_FILES
			? c2c_fail(ctx, loc, C2C_E_LIMIT, "more than %u file entries", C2C_MAX_FILES)
			: c2c_array_grow(ctx, &ck->files, &ck->files_cap, ck->nfiles + 1,
					 sizeof(*ck->files));

	if (r < 0) {
		free(f.path);
		free(f.name);
		return r;
	}
	ck->files[ck->nfiles++] = f;
	return 0;
}

static int add_reg_file(struct c2c_ctx *ctx, struct c2c_checkpoint *ck, const struct c2c_loc *loc,
			uint32_t id, const PbRegFileEntry *reg)
{
	struct c2c_file f = { .id = id, .type = FD_TYPE_REG };

	if (!reg || !reg->name)
		return c2c_fail(ctx, loc, C2C_E_MISSING, "regular file entry %u has no name", id);
	f.path = c2c_strdup(reg->name);
	f.name = c2c_strdup(reg->name);
	if (!f.path || !f.name) {
		free(f.path);
		free(f.name);
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	}
	f.has_size = reg->has_size;
	f.size = reg->size;
	/* CRIU copies the NT_GNU_BUILD_ID descriptor into u32 words, host order (doc §2.8). */
	for (size_t i = 0; i < reg->n_build_id && i * 4 < sizeof(f.build_id); i++) {
		memcpy(f.build_id + 4 * i, &reg->build_id[i], 4);
		f.build_id_len = 4 * (i + 1);
	}
	return push_file(ctx, ck, loc, f);
}

/* One entry of files.img (or of reg-files.img when legacy). */
struct file_table {
	struct c2c_checkpoint *ck;
	bool legacy;
};

static int add_file_entry(struct c2c_ctx *ctx, void *data, const ProtobufCMessage *msg,
			  const struct c2c_loc *loc)
{
	const struct file_table *ft = data;
	const PbFileEntry *fe = (const PbFileEntry *)msg;

	if (ft->legacy) {
		const PbRegFileEntry *reg = (const PbRegFileEntry *)msg;

		return add_reg_file(ctx, ft->ck, loc, reg->id, reg);
	}
	if (fe->type == FD_TYPE_REG)
		return add_reg_file(ctx, ft->ck, loc, fe->id, fe->reg);
	if (fe->type == FD_TYPE_MEMFD && fe->memfd)
		return push_file(ctx, ft->ck, loc,
				 (struct c2c_file){ .id = fe->id,
						    .type = FD_TYPE_MEMFD,
						    .inode_id = fe->memfd->inode_id });
	return 0;
}

/* files.img (CRIU >= 3.4) or reg-files.img (older); either may be absent. */
static int load_file_table(struct c2c_ctx *ctx, struct c2c_checkpoint *ck)
{
	struct c2c_blob b = C2C_BLOB_INIT;
	struct file_table ft = { ck, false };
	struct c2c_image img;
	int r;

	r = c2c_image_load(ctx, ck->src, C2C_IMG_FILES, 0, true, &b, &img);
	if (r == 1) {
		ft.legacy = true;
		r = c2c_image_load(ctx, ck->src, C2C_IMG_REG_FILES, 0, true, &b, &img);
	}
	if (r != 0)
		return r < 0 ? r : 0;
	r = c2c_image_foreach(ctx, &img,
			      ft.legacy ? &pb_reg_file_entry__descriptor
					: &pb_file_entry__descriptor,
			      add_file_entry, &ft);
	if (r < 0)
		goto out;
	if (ck->nfiles > 1) /* files is NULL when there are none */
		qsort(ck->files, ck->nfiles, sizeof(*ck->files), cmp_file);
	for (size_t i = 1; i < ck->nfiles; i++) {
		if (ck->files[i].id == ck->files[i - 1].id) {
			r = c2c_fail(ctx, &C2C_LOC_FILE(b.path), C2C_E_INCONSISTENT,
				     "file id %u appears twice", ck->files[i].id);
			goto out;
		}
	}
	r = 0;
out:
	c2c_blob_release(&b);
	return r;
}

/* remap-fpath.img: files deleted at dump time get the kernel's " (deleted)". */
static int add_remap(struct c2c_ctx *ctx, void *data, const ProtobufCMessage *msg,
		     const struct c2c_loc *loc)
{
	const PbRemapFilePathEntry *e = (const PbRemapFilePathEntry *)msg;
	struct c2c_file *f = c2c_files_find(data, e->orig_id);
	char *p;

	(void)loc;
	if (!f || !f->path || (e->remap_type != REMAP_GHOST && e->remap_type != REMAP_LINKED))
		return 0;
	p = c2c_asprintf("%s (deleted)", f->path);
	if (!p)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	free(f->path);
	f->path = p;
	f->deleted = true;
	return 0;
}

static int cmp_memfd(const void *a, const void *b)
{
	return c2c_cmp_u64(((const struct c2c_memfd *)a)->inode_id,
			   ((const struct c2c_memfd *)b)->inode_id);
}

/* memfd.img: the inodes behind memfd and shared anonymous mappings. */
static int add_memfd(struct c2c_ctx *ctx, void *data, const ProtobufCMessage *msg,
		     const struct c2c_loc *loc)
{
	const PbMemfdInodeEntry *e = (const PbMemfdInodeEntry *)msg;
	struct c2c_checkpoint *ck = data;
	char *path;
	int r = ck->nmemfds >= C2C_MAX_FILES
			? c2c_fail(ctx, loc, C2C_E_LIMIT, "too many memfd entries")
			: c2c_array_grow(ctx, &ck->memfds, &ck->memfds_cap, ck->nmemfds + 1,
					 sizeof(*ck->memfds));

	if (r < 0)
		return r;
	/*
	 * The kernel names a memfd "/memfd:NAME (deleted)"; CRIU saves a
	 * shared anonymous mapping as a memfd called "/dev/zero", whose
	 * kernel name is "/dev/zero (deleted)" (fixtures README).
	 */
	if (e->name && !strcmp(e->name, "/dev/zero"))
		path = c2c_strdup("/dev/zero (deleted)");
	else
		path = c2c_asprintf("/memfd:%s (deleted)", e->name ? e->name : "");
	if (!path)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	ck->memfds[ck->nmemfds++] = (struct c2c_memfd){ e->inode_id, e->shmid, path };
	return 0;
}

int c2c_files_load(struct c2c_ctx *ctx, struct c2c_checkpoint *ck)
{
	int r;

	if (ck->files_loaded)
		return 0;
	ck->files_loaded = true;
	r = load_file_table(ctx, ck);
	if (r == 0)
		r = c2c_image_load_each(ctx, ck->src, C2C_IMG_REMAP_FPATH, 0, true,
					&pb_remap_file_path_entry__descriptor, add_remap, ck);
	if (r >= 0)
		r = c2c_image_load_each(ctx, ck->src, C2C_IMG_MEMFD, 0, true,
					&pb_memfd_inode_entry__descriptor, add_memfd, ck);
	r = r < 0 ? r : 0;
	if (r == 0 && ck->nmemfds > 1) /* looked up by inode for every memfd VMA */
		qsort(ck->memfds, ck->nmemfds, sizeof(*ck->memfds), cmp_memfd);
	return r;
}


const struct c2c_memfd *c2c_files_memfd(const struct c2c_checkpoint *ck, uint64_t inode_id)
{
	const struct c2c_memfd key = { .inode_id = inode_id };

	return ck->nmemfds ? bsearch(&key, ck->memfds, ck->nmemfds, sizeof(*ck->memfds), cmp_memfd)
			   : NULL;
}

bool c2c_file_is_memfd(const struct c2c_file *f)
{
	return f->type == FD_TYPE_MEMFD;
}
