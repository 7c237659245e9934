/*
 * Stage 3: file content from a root directory (--root). The images name each
 * mapped file by the path the process saw; its clean pages (text, read-only
 * data: CRIU never saves them) can be taken from a copy of the process's
 * files, a container's rootfs or / for a host process.
 *
 * A file is used only when it is the file the checkpoint saw: same size as
 * RegFileEntry.size and, when CRIU recorded one, the same NT_GNU_BUILD_ID
 * (criu-image-format §2.8). Anything else is left out with a warning; wrong
 * bytes never go into a core. files.img records no mtime, so none is checked.
 */
#include <elf.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>

#include "process.h"
#include "util.h"

/* NT_GNU_BUILD_ID (include/uapi/linux/elf.h, binutils elf/common.h). */
#define C2C_NT_GNU_BUILD_ID 3

bool c2c_blob_is_elf(const struct c2c_blob *b)
{
	uint8_t magic[SELFMAG];
	struct c2c_ctx scratch = { 0 };

	/* A short file is simply not ELF: read on a scratch context, no error. */
	return c2c_blob_pread(&scratch, b, magic, sizeof(magic), 0) == 0 &&
	       !memcmp(magic, ELFMAG, SELFMAG);
}

/* The file's NT_GNU_BUILD_ID descriptor, via libelf. Returns its length, 0 if none. */
static size_t file_build_id(int fd, uint8_t *out, size_t max)
{
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	size_t phnum = 0, len = 0;

	if (!e)
		return 0;
	if (elf_kind(e) != ELF_K_ELF || elf_getphdrnum(e, &phnum) != 0)
		goto out;
	for (size_t i = 0; i < phnum && !len; i++) {
		GElf_Phdr ph;
		Elf_Data *d;
		GElf_Nhdr nh;
		size_t off = 0, name_off, desc_off;

		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_NOTE)
			continue;
		d = elf_getdata_rawchunk(e, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_NHDR);
		if (!d)
			continue;
		while ((off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type == C2C_NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    !memcmp((char *)d->d_buf + name_off, "GNU", 4) && nh.n_descsz <= max) {
				memcpy(out, (char *)d->d_buf + desc_off, nh.n_descsz);
				len = nh.n_descsz;
				break;
			}
		}
	}
out:
	elf_end(e);
	return len;
}

/* Recorded words are the descriptor zero-padded to a multiple of 4 bytes. */
static bool build_id_matches(const struct c2c_file *f, const uint8_t *id, size_t len)
{
	if (f->build_id_len < len || f->build_id_len >= len + 4)
		return false;
	for (size_t i = len; i < f->build_id_len; i++)
		if (f->build_id[i])
			return false;
	return !memcmp(f->build_id, id, len);
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
		len = file_build_id(b.fd, id, sizeof(id));
		if (!len || !build_id_matches(f, id, len)) {
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
