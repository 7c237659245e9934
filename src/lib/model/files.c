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
	const struct c2c_file *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

struct c2c_file *c2c_files_find(const struct c2c_checkpoint *ck, uint64_t id)
{
	size_t lo = 0, hi = ck->nfiles;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ck->files[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ck->nfiles && ck->files[lo].id == id ? &ck->files[lo] : NULL;
}

static int push_file(struct c2c_ctx *ctx, struct c2c_checkpoint *ck, const struct c2c_loc *loc,
		     struct c2c_file f)
{
	struct c2c_file *v;

	if (ck->nfiles >= C2C_MAX_FILES) {
		free(f.path);
		free(f.name);
		return c2c_fail(ctx, loc, C2C_E_LIMIT, "more than %u file entries", C2C_MAX_FILES);
	}
	v = reallocarray(ck->files, ck->nfiles + 1, sizeof(*v));
	if (!v) {
		free(f.path);
		free(f.name);
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	}
	v[ck->nfiles++] = f;
	ck->files = v;
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

/* files.img (CRIU >= 3.4) or reg-files.img (older); either may be absent. */
static int load_file_table(struct c2c_ctx *ctx, struct c2c_checkpoint *ck)
{
	struct c2c_blob b = C2C_BLOB_INIT;
	ProtobufCMessage *msg = NULL;
	struct c2c_image img;
	bool legacy = false;
	int r;

	r = c2c_source_load(ctx, ck->src, c2c_imgdesc_get(C2C_IMG_FILES)->name, true, &b);
	if (r == 1) {
		legacy = true;
		r = c2c_source_load(ctx, ck->src, c2c_imgdesc_get(C2C_IMG_REG_FILES)->name, true,
				    &b);
	}
	if (r != 0)
		return r < 0 ? r : 0;
	r = c2c_image_open(ctx, &b, legacy ? C2C_IMG_REG_FILES : C2C_IMG_FILES, &img);
	if (r < 0)
		goto out;
	for (;;) {
		struct c2c_loc loc;

		r = c2c_image_next_msg(ctx, &img,
				       legacy ? &pb_reg_file_entry__descriptor
					      : &pb_file_entry__descriptor,
				       &msg);
		if (r <= 0)
			break;
		loc = C2C_IMAGE_LOC(&img);
		if (legacy) {
			PbRegFileEntry *reg = (PbRegFileEntry *)msg;

			r = add_reg_file(ctx, ck, &loc, reg->id, reg);
		} else {
			PbFileEntry *fe = (PbFileEntry *)msg;

			if (fe->type == FD_TYPE_REG)
				r = add_reg_file(ctx, ck, &loc, fe->id, fe->reg);
			else if (fe->type == FD_TYPE_MEMFD && fe->memfd)
				r = push_file(ctx, ck, &loc,
					      (struct c2c_file){ .id = fe->id,
								 .type = FD_TYPE_MEMFD,
								 .inode_id = fe->memfd->inode_id });
		}
		protobuf_c_message_free_unpacked(msg, NULL);
		msg = NULL;
		if (r < 0)
			goto out;
	}
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
static int load_remaps(struct c2c_ctx *ctx, struct c2c_checkpoint *ck)
{
	struct c2c_blob b = C2C_BLOB_INIT;
	ProtobufCMessage *msg = NULL;
	struct c2c_image img;
	int r;

	r = c2c_source_load(ctx, ck->src, c2c_imgdesc_get(C2C_IMG_REMAP_FPATH)->name, true, &b);
	if (r != 0)
		return r < 0 ? r : 0;
	r = c2c_image_open(ctx, &b, C2C_IMG_REMAP_FPATH, &img);
	while (r == 0 &&
	       (r = c2c_image_next_msg(ctx, &img, &pb_remap_file_path_entry__descriptor, &msg)) == 1) {
		PbRemapFilePathEntry *e = (PbRemapFilePathEntry *)msg;
		struct c2c_file *f = c2c_files_find(ck, e->orig_id);

		r = 0;
		if (f && f->path && (e->remap_type == REMAP_GHOST || e->remap_type == REMAP_LINKED)) {
			char *p = c2c_asprintf("%s (deleted)", f->path);

			if (!p)
				r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
			else {
				free(f->path);
				f->path = p;
				f->deleted = true;
			}
		}
		protobuf_c_message_free_unpacked(msg, NULL);
		msg = NULL;
	}
	c2c_blob_release(&b);
	return r < 0 ? r : 0;
}

static int cmp_memfd(const void *a, const void *b)
{
	const struct c2c_memfd *x = a, *y = b;

	return x->inode_id < y->inode_id ? -1 : x->inode_id > y->inode_id;
}

/* memfd.img: the inodes behind memfd and shared anonymous mappings. */
static int load_memfds(struct c2c_ctx *ctx, struct c2c_checkpoint *ck)
{
	struct c2c_blob b = C2C_BLOB_INIT;
	ProtobufCMessage *msg = NULL;
	struct c2c_image img;
	int r;

	r = c2c_source_load(ctx, ck->src, c2c_imgdesc_get(C2C_IMG_MEMFD)->name, true, &b);
	if (r != 0)
		return r < 0 ? r : 0;
	r = c2c_image_open(ctx, &b, C2C_IMG_MEMFD, &img);
	while (r == 0 &&
	       (r = c2c_image_next_msg(ctx, &img, &pb_memfd_inode_entry__descriptor, &msg)) == 1) {
		PbMemfdInodeEntry *e = (PbMemfdInodeEntry *)msg;
		struct c2c_memfd *v = NULL;
		char *path;

		/*
		 * The kernel names a memfd "/memfd:NAME (deleted)"; CRIU saves a
		 * shared anonymous mapping as a memfd called "/dev/zero", whose
		 * kernel name is "/dev/zero (deleted)" (fixtures README).
		 */
		if (e->name && !strcmp(e->name, "/dev/zero"))
			path = c2c_strdup("/dev/zero (deleted)");
		else
			path = c2c_asprintf("/memfd:%s (deleted)", e->name ? e->name : "");
		if (path && ck->nmemfds < C2C_MAX_FILES)
			v = reallocarray(ck->memfds, ck->nmemfds + 1, sizeof(*v));
		if (!v) {
			free(path);
			r = path ? c2c_fail(ctx, &C2C_IMAGE_LOC(&img), C2C_E_LIMIT,
					    "too many memfd entries")
				 : c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		} else {
			v[ck->nmemfds++] = (struct c2c_memfd){ e->inode_id, e->shmid, path };
			ck->memfds = v;
			r = 0;
		}
		protobuf_c_message_free_unpacked(msg, NULL);
		msg = NULL;
	}
	c2c_blob_release(&b);
	return r < 0 ? r : 0;
}

int c2c_files_load(struct c2c_ctx *ctx, struct c2c_checkpoint *ck)
{
	int r;

	if (ck->files_loaded)
		return 0;
	ck->files_loaded = true;
	r = load_file_table(ctx, ck);
	if (r == 0)
		r = load_remaps(ctx, ck);
	if (r == 0)
		r = load_memfds(ctx, ck);
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
