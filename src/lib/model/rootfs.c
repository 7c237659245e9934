/*
 * Stage 4, process model: file content from a root directory (--root). The images name each
 * mapped file by the path the process saw; its clean pages (text, read-only
 * data: CRIU never saves them) can be taken from a copy of the process's
 * files, a container's rootfs or / for a host process.
 *
 * A file is used only when it is the file the checkpoint saw: same size as
 * RegFileEntry.size and, when CRIU recorded one, the same NT_GNU_BUILD_ID
 * (criu-image-format §2.8). Anything else is left out with a warning; wrong
 * bytes never go into a core. files.img records no mtime, so none is checked.
 */
#include <jansson.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arcsource.h"
#include "process.h"
#include "util.h"

bool c2c_blob_is_elf(struct c2c_ctx *ctx, const struct c2c_blob *b)
{
	uint8_t magic[SELFMAG];
	int r;

	c2c_try_begin(ctx); /* a short file is simply not ELF: no error */
	r = c2c_blob_pread(ctx, b, magic, sizeof(magic), 0);
	c2c_try_end(ctx);
	return r == 0 && !memcmp(magic, ELFMAG, SELFMAG);
}

/*
 * The file's NT_GNU_BUILD_ID descriptor. Read through the blob (a file in the
 * root, or a member of rootfs-diff.tar at an offset), with libelf converting
 * the headers. Returns its length, 0 if none. Call it between c2c_try_begin and
 * c2c_try_end: a file too short for what its headers say has no build-id.
 */
size_t c2c_blob_build_id(struct c2c_ctx *ctx, const struct c2c_blob *b, uint8_t *out, size_t max)
{
	Elf64_Ehdr eh;
	Elf_Data d = { .d_type = ELF_T_EHDR, .d_version = EV_CURRENT };

	if (c2c_blob_pread(ctx, b, &eh, sizeof(eh), 0) < 0 || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return 0;
	d.d_buf = &eh;
	d.d_size = sizeof(eh);
	if (!elf64_xlatetom(&d, &d, ELFDATA2LSB) || eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    eh.e_phnum > 4096)
		return 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		uint8_t notes[65536];
		Elf64_Phdr ph;
		size_t off = 0;

		if (c2c_blob_pread(ctx, b, &ph, sizeof(ph), eh.e_phoff + i * sizeof(ph)) < 0)
			return 0;
		d = (Elf_Data){ .d_buf = &ph, .d_type = ELF_T_PHDR, .d_version = EV_CURRENT,
				.d_size = sizeof(ph) };
		if (!elf64_xlatetom(&d, &d, ELFDATA2LSB) || ph.p_type != PT_NOTE ||
		    ph.p_filesz > sizeof(notes) ||
		    c2c_blob_pread(ctx, b, notes, ph.p_filesz, ph.p_offset) < 0)
			continue;
		while (off + sizeof(Elf64_Nhdr) <= ph.p_filesz) {
			Elf64_Nhdr nh;
			size_t name, desc;

			memcpy(&nh, notes + off, sizeof(nh));
			d = (Elf_Data){ .d_buf = &nh, .d_type = ELF_T_NHDR, .d_version = EV_CURRENT,
					.d_size = sizeof(nh) };
			if (!elf64_xlatetom(&d, &d, ELFDATA2LSB))
				break;
			name = off + sizeof(nh);
			desc = name + c2c_round_up(nh.n_namesz, 4);
			if (desc + nh.n_descsz > ph.p_filesz)
				break;
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    !memcmp(notes + name, "GNU", 4) && nh.n_descsz <= max) {
				memcpy(out, notes + desc, nh.n_descsz);
				return nh.n_descsz;
			}
			off = desc + c2c_round_up(nh.n_descsz, 4);
		}
	}
	return 0;
}

/* Recorded words are the descriptor zero-padded to a multiple of 4 bytes. */
bool c2c_file_build_id_matches(const struct c2c_file *f, const uint8_t *id, size_t len)
{
	if (f->build_id_len < len || f->build_id_len >= len + 4)
		return false;
	for (size_t i = len; i < f->build_id_len; i++)
		if (f->build_id[i])
			return false;
	return !memcmp(f->build_id, id, len);
}

/* A file of rootfs-diff.tar: its bytes at `off` in the blob (or the spool). */
struct diff_entry {
	char *path; /* "/usr/bin/x", as the process saw it */
	uint64_t off, size;
	int fd;	    /* spool holding it (compressed diff), or -1: in the diff blob */
};

struct c2c_rootdiff {
	struct c2c_blob tar;
	struct diff_entry *v;
	size_t n, cap;
	json_t *deleted; /* deleted.files: a JSON array of paths (jansson), or NULL */
};

void c2c_rootdiff_free(struct c2c_rootdiff *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].path);
		if (d->v[i].fd >= 0)
			close(d->v[i].fd);
	}
	free(d->v);
	c2c_blob_release(&d->tar);
	json_decref(d->deleted);
	free(d);
}

/* Whether any mapped regular file of the checkpoint has this path. */
static bool mapped(const struct c2c_checkpoint *ck, const char *path)
{
	for (size_t i = 0; i < ck->nfiles; i++)
		if (ck->files[i].name && !strcmp(ck->files[i].name, path))
			return true;
	return false;
}

int c2c_rootdiff_load(struct c2c_ctx *ctx, struct c2c_checkpoint *ck, struct c2c_source *src,
		      int spooldirfd)
{
	struct c2c_rootdiff *d = calloc(1, sizeof(*d));
	struct c2c_blob_reader *br = NULL;
	struct c2c_archive_in in;
	struct archive *a = NULL;
	struct c2c_blob del = C2C_BLOB_INIT;
	char *path = NULL;
	uint64_t size;
	int r;

	if (!d)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	d->tar = C2C_BLOB_INIT;
	if (c2c_source_load_meta(ctx, src, "deleted.files", &del) == 0)
		/* Untrusted: a malformed file only means no deleted paths are known. */
		d->deleted = json_loadb((const char *)del.data, (size_t)del.size, 0, NULL);
	c2c_blob_release(&del);
	r = c2c_source_open_meta_data(ctx, src, "rootfs-diff.tar", &d->tar);
	if (r != 0)
		goto done;
	/* libarchive reads the nested tar straight from its blob (no copy). */
	br = malloc(sizeof(*br));
	if (!br) {
		r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		goto out;
	}
	*br = (struct c2c_blob_reader){ .ctx = ctx, .blob = &d->tar };
	in = (struct c2c_archive_in){ .display = d->tar.path, .fd = -1, .reader = br };
	r = c2c_archive_open(ctx, &in, "not a readable tar, ignored", true, &a);
	if (r < 0)
		goto out;
	while (r == 0 && (r = c2c_archive_next_file(ctx, a, d->tar.path, &path, &size)) == 1) {
		struct diff_entry de = { path, 0, size, -1 };

		r = 0;
		/* Only what a VMA maps. */
		if (!mapped(ck, path)) {
			free(path);
			continue;
		}
		if (c2c_archive_file_data(a, spooldirfd, size, &de.off, &de.fd) < 0) {
			c2c_warn(ctx, &C2C_LOC_FILE(d->tar.path),
				 "'%s' cannot be read from the diff, ignored", path);
			free(path);
			continue;
		}
		r = c2c_array_grow(ctx, &d->v, &d->cap, d->n + 1, sizeof(*d->v));
		if (r < 0) {
			if (de.fd >= 0)
				close(de.fd);
			free(path);
			goto out;
		}
		d->v[d->n++] = de;
	}
	if (r < 0)
		goto out;
done:
	r = 0;
	ck->diff = d;
	d = NULL;
out:
	c2c_archive_close(a);
	free(br);
	c2c_rootdiff_free(d);
	return r;
}

/* The file's bytes from rootfs-diff.tar, if the container changed it: 0 and ret, or 1. */
static int diff_file(struct c2c_ctx *ctx, const struct c2c_rootdiff *d, const char *path,
		     struct c2c_blob *ret)
{
	for (size_t i = 0; d && i < d->n; i++) {
		const struct diff_entry *de = &d->v[i];
		struct c2c_blob b = C2C_BLOB_INIT;

		if (strcmp(de->path, path))
			continue;
		b.path = c2c_asprintf("%s:%s", d->tar.path, path + 1);
		b.size = de->size;
		if (de->fd >= 0) {
			b.fd = fcntl(de->fd, F_DUPFD_CLOEXEC, 0);
		} else if (d->tar.data) {
			b.data = d->tar.data + de->off; /* the diff is held in memory */
			b.borrowed = true;
		} else {
			b.fd = fcntl(d->tar.fd, F_DUPFD_CLOEXEC, 0);
			b.base = d->tar.base + de->off;
		}
		if (!b.path || (!b.data && b.fd < 0)) {
			free(b.path);
			if (b.fd >= 0)
				close(b.fd);
			return c2c_fail(ctx, NULL, C2C_E_IO, "cannot reopen rootfs-diff.tar");
		}
		*ret = b;
		return 0;
	}
	return 1;
}

/* Whether deleted.files lists the path (the container deleted the file). */
static bool diff_deleted(const struct c2c_rootdiff *d, const char *path)
{
	size_t i;
	json_t *j;

	if (!d || !json_is_array(d->deleted))
		return false;
	json_array_foreach(d->deleted, i, j)
		if (json_is_string(j) && !strcmp(json_string_value(j), path))
			return true;
	return false;
}

static int check_file(struct c2c_ctx *ctx, struct c2c_checkpoint *ck, struct c2c_file *f)
{
	struct c2c_blob b = C2C_BLOB_INIT;
	uint8_t id[64];
	size_t len;
	int r;

	f->root_checked = true;
	if (f->deleted) {
		c2c_warn(ctx, NULL,
			 "'%s' was deleted when the checkpoint was taken: the file at that path "
			 "in '%s' is another one, its pages are left out",
			 f->name, ck->root);
		return 0;
	}
	/* The container's own changes win over the image's files in the root. */
	r = diff_file(ctx, ck->diff, f->name, &b);
	if (r == 1 && diff_deleted(ck->diff, f->name)) {
		c2c_warn(ctx, NULL,
			 "'%s' was deleted in the container (deleted.files): its pages are left "
			 "out",
			 f->name);
		return 0;
	}
	if (r == 1)
		r = c2c_root_open_file(ctx, ck->rootfd, ck->root, f->name, &b);
	if (r < 0)
		return r;
	if (r == 1) {
		c2c_warn(ctx, NULL, "'%s' is not in the root '%s': its pages are left out", f->name,
			 ck->root);
		return 0;
	}
	if (f->has_size && f->size != b.size) {
		c2c_warn(ctx, &C2C_LOC_FILE(b.path),
			 "file has %llu bytes, the checkpoint recorded %llu: another version, "
			 "its pages are left out",
			 (unsigned long long)b.size, (unsigned long long)f->size);
		goto out;
	}
	if (f->build_id_len) {
		c2c_try_begin(ctx);
		len = c2c_blob_build_id(ctx, &b, id, sizeof(id));
		c2c_try_end(ctx);
		if (!len || !c2c_file_build_id_matches(f, id, len)) {
			c2c_warn(ctx, &C2C_LOC_FILE(b.path),
				 "build-id differs from the one the checkpoint recorded: another "
				 "build, its pages are left out");
			goto out;
		}
	}
	r = c2c_checkpoint_keep_blob(ctx, ck, &b, &f->root_blob);
out:
	c2c_blob_release(&b);
	return r < 0 ? r : 0;
}

int c2c_checkpoint_vma_file(struct c2c_ctx *ctx, struct c2c_checkpoint *ck,
			    const struct c2c_vma *v, const struct c2c_blob **ret)
{
	int r = 0;

	*ret = NULL;
	if (ck->rootfd < 0 || !v->file)
		return 0;
	if (!v->file->root_checked)
		r = check_file(ctx, ck, v->file);
	*ret = v->file->root_blob;
	return r;
}
