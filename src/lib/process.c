/*
 * Stage 3: load the process model from the images.
 *
 * Consumes inventory.img, pstree.img, core-<tid>.img, mm-<pid>.img,
 * pagemap-<pid>.img (via pagemap.c), files.img or legacy reg-files.img,
 * memfd.img and remap-fpath.img; produces struct c2c_checkpoint. Message
 * layouts: criu-image-format §1.9, §2.1-§2.8. Every protobuf message is
 * unpacked and freed in the function that reads it; only plain values leave.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.pb-c.h"
#include "files.pb-c.h"
#include "image.h"
#include "inventory.pb-c.h"
#include "mm.pb-c.h"
#include "process.h"
#include "pstree.pb-c.h"
#include "util.h"

/* CoreEntry.mtype (images/core.proto; doc §3.2). */
#define MTYPE_X86_64 1
/* user_x86_regs_entry.mode (doc §2.2.1). */
#define REGS_MODE_COMPAT 2
/* FileEntry.type (fd_types, doc §2.8). */
#define FD_TYPE_REG 1
#define FD_TYPE_MEMFD 18
/* RemapFilePathEntry.remap_type: the file was deleted at dump time (doc §2.8). */
#define REMAP_LINKED 0
#define REMAP_GHOST 1
/* auxv terminator (include/uapi/linux/auxvec.h). */
#define AT_NULL 0

/*
 * Standard-format XSAVE offsets, Intel layout (Intel SDM vol. 1 §13.4; the
 * offsets gdb hard-codes, elf-core-format §2.2). CRIU stores each component
 * verbatim, so re-packing it at these offsets gives the layout gdb reads
 * whatever CPU took the checkpoint.
 */
#define XSAVE_YMMH_OFF 576
#define XSAVE_BNDREGS_OFF 960
#define XSAVE_BNDCSR_OFF 1024
#define XSAVE_OPMASK_OFF 1088
#define XSAVE_ZMM_HI256_OFF 1152
#define XSAVE_HI16_ZMM_OFF 1664
#define XSAVE_PKRU_OFF 2688

struct c2c_memfd {
	uint64_t inode_id;
	uint32_t shmid;
	char *path; /* "/memfd:NAME (deleted)" or "/dev/zero (deleted)" */
};

static int cmp_file(const void *a, const void *b)
{
	const struct c2c_file *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static struct c2c_file *find_file(const struct c2c_checkpoint *ck, uint64_t id)
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
		struct c2c_file *f = find_file(ck, e->orig_id);

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

static int ensure_files(struct c2c_ctx *ctx, struct c2c_checkpoint *ck)
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

/* Shared memory objects are loaded once, whatever number of VMAs map them. */
static int get_shmem(struct c2c_ctx *ctx, struct c2c_checkpoint *ck, uint64_t shmid,
		     const struct c2c_shmem **ret)
{
	struct c2c_shmem *s, **v;
	size_t lo = 0, hi = ck->nshmems;
	int r;

	/* Kept sorted by shmid: a binary search per VMA, not a scan. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ck->shmems[mid]->shmid < shmid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ck->nshmems && ck->shmems[lo]->shmid == shmid) {
		*ret = ck->shmems[lo];
		return 0;
	}
	if (ck->nshmems >= C2C_MAX_SHMEM_OBJECTS)
		return c2c_fail(ctx, NULL, C2C_E_LIMIT,
				"more than %u shared memory objects in one checkpoint",
				C2C_MAX_SHMEM_OBJECTS);
	s = calloc(1, sizeof(*s));
	v = s ? reallocarray(ck->shmems, ck->nshmems + 1, sizeof(*v)) : NULL;
	if (!v) {
		free(s);
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	}
	ck->shmems = v;
	s->shmid = shmid;
	r = c2c_pagemap_load(ctx, ck, ck->src, C2C_PAGEMAP_SHMEM, shmid, &s->pm);
	if (r < 0) {
		free(s);
		return r;
	}
	s->missing = r == 1;
	if (s->missing)
		c2c_warn(ctx, NULL,
			 "'%s/pagemap-shmem-%llu.img' is missing: content of the shared memory "
			 "object is left out",
			 ck->src->path, (unsigned long long)shmid);
	memmove(&ck->shmems[lo + 1], &ck->shmems[lo], (ck->nshmems - lo) * sizeof(*v));
	ck->shmems[lo] = s;
	ck->nshmems++;
	*ret = s;
	return 0;
}

static void copy_words32(uint8_t *dst, size_t max_words, const uint32_t *w, size_t n)
{
	for (size_t i = 0; i < n && i < max_words; i++)
		memcpy(dst + 4 * i, &w[i], 4);
}

static void copy_words64(uint8_t *dst, size_t max_words, const uint64_t *w, size_t n)
{
	for (size_t i = 0; i < n && i < max_words; i++)
		memcpy(dst + 8 * i, &w[i], 8);
}

static void put16(uint8_t *p, uint32_t v)
{
	uint16_t x = (uint16_t)v;

	memcpy(p, &x, 2);
}

/*
 * FXSAVE image in the layout of struct user_i387_struct
 * (arch/x86/include/asm/user_64.h; elf-core-format §1.5 NT_PRFPREG).
 */
static void build_fxsave(const PbUserX86FpregsEntry *fp, uint8_t *fx)
{
	memset(fx, 0, 512);
	put16(fx + 0, fp->cwd);
	put16(fx + 2, fp->swd);
	put16(fx + 4, fp->twd);
	put16(fx + 6, fp->fop);
	memcpy(fx + 8, &fp->rip, 8);
	memcpy(fx + 16, &fp->rdp, 8);
	memcpy(fx + 24, &fp->mxcsr, 4);
	memcpy(fx + 28, &fp->mxcsr_mask, 4);
	copy_words32(fx + 32, 32, fp->st_space, fp->n_st_space);
	copy_words32(fx + 160, 64, fp->xmm_space, fp->n_xmm_space);
}

/* Re-pack CRIU's per-component xsave arrays at the standard Intel offsets. */
static void build_xsave(const PbUserX86XsaveEntry *xs, struct c2c_thread *t)
{
	uint8_t *b = t->xsave;

	t->has_xsave = true;
	t->xstate_bv = xs->xstate_bv;
	t->xfeatures = 0x3; /* x87 and SSE are always part of the legacy area */
	memcpy(b, t->fxsave, 512);
	if (xs->n_ymmh_space) {
		t->xfeatures |= 1U << 2;
		copy_words32(b + XSAVE_YMMH_OFF, 64, xs->ymmh_space, xs->n_ymmh_space);
	}
	if (xs->n_bndreg_state) {
		t->xfeatures |= 1U << 3;
		copy_words64(b + XSAVE_BNDREGS_OFF, 8, xs->bndreg_state, xs->n_bndreg_state);
	}
	if (xs->n_bndcsr_state) {
		t->xfeatures |= 1U << 4;
		copy_words64(b + XSAVE_BNDCSR_OFF, 8, xs->bndcsr_state, xs->n_bndcsr_state);
	}
	if (xs->n_opmask_reg) {
		t->xfeatures |= 1U << 5;
		copy_words64(b + XSAVE_OPMASK_OFF, 8, xs->opmask_reg, xs->n_opmask_reg);
	}
	if (xs->n_zmm_upper) {
		t->xfeatures |= 1U << 6;
		copy_words64(b + XSAVE_ZMM_HI256_OFF, 64, xs->zmm_upper, xs->n_zmm_upper);
	}
	if (xs->n_hi16_zmm) {
		t->xfeatures |= 1U << 7;
		copy_words64(b + XSAVE_HI16_ZMM_OFF, 128, xs->hi16_zmm, xs->n_hi16_zmm);
	}
	if (xs->n_pkru) {
		t->xfeatures |= 1U << 9;
		copy_words32(b + XSAVE_PKRU_OFF, 2, xs->pkru, xs->n_pkru);
	}
}

/* Bit mask of the signals queued in a signal_queue_entry (siginfo: int si_signo first). */
static uint64_t pending_mask(const PbSignalQueueEntry *q)
{
	uint64_t m = 0;

	for (size_t i = 0; q && i < q->n_signals; i++) {
		int32_t signo;

		if (!q->signals[i]->has_siginfo || q->signals[i]->siginfo.len < 4)
			continue;
		memcpy(&signo, q->signals[i]->siginfo.data, 4);
		if (signo >= 1 && signo <= 64)
			m |= 1ULL << (signo - 1);
	}
	return m;
}

static void set_comm(char comm[16], const char *s)
{
	snprintf(comm, 16, "%s", s ? s : "");
}

static int load_core_image(struct c2c_ctx *ctx, struct c2c_checkpoint *ck, uint32_t pid,
			   uint32_t tid, struct c2c_blob *b, struct c2c_image *img, PbCoreEntry **ret)
{
	ProtobufCMessage *msg = NULL;
	char name[32];
	int r;

	c2c_image_name(C2C_IMG_CORE, tid, name, sizeof(name));
	r = c2c_source_load(ctx, ck->src, name, true, b);
	if (r == 1) {
		char *path = c2c_asprintf("%s/%s", ck->src->path, name);

		r = c2c_fail(ctx, &C2C_LOC_FILE(path ? path : name), C2C_E_MISSING,
			     "required image is missing: the registers of thread %u of process %u",
			     tid, pid);
		free(path);
	}
	if (r < 0)
		return r;
	r = c2c_image_open(ctx, b, C2C_IMG_CORE, img);
	if (r < 0)
		return r;
	r = c2c_image_next_msg(ctx, img, &pb_core_entry__descriptor, &msg);
	if (r == 0)
		return c2c_fail(ctx, &C2C_IMAGE_LOC(img), C2C_E_TRUNCATED, "core image has no entry");
	if (r < 0)
		return r;
	*ret = (PbCoreEntry *)msg;
	return 0;
}

/* One thread's registers from its CoreEntry (loc names the core image). */
static int thread_from_core(struct c2c_ctx *ctx, struct c2c_process *p, struct c2c_thread *t,
			    const PbCoreEntry *ce, const struct c2c_loc *loc)
{
	const PbThreadInfoX86 *ti = ce->thread_info;
	const PbUserX86RegsEntry *g;

	if (ce->mtype != MTYPE_X86_64)
		return c2c_fail(ctx, loc, C2C_E_UNSUPPORTED,
				"architecture %u (CoreEntry.mtype) is not supported; only x86_64 "
				"(1) is",
				ce->mtype);
	if (!ti || !ti->gpregs)
		return c2c_fail(ctx, loc, C2C_E_MISSING,
				"thread %u has no registers (thread_info.gpregs)", t->tid);
	g = ti->gpregs;
	if (g->has_mode && g->mode == REGS_MODE_COMPAT)
		p->compat = true;
	{
		const uint64_t regs[C2C_X86_NGREG] = {
			g->r15, g->r14,	    g->r13, g->r12, g->bp,    g->bx,	  g->r11,
			g->r10, g->r9,	    g->r8,  g->ax,  g->cx,    g->dx,	  g->si,
			g->di,	g->orig_ax, g->ip,  g->cs,  g->flags, g->sp,	  g->ss,
			g->fs_base, g->gs_base, g->ds, g->es, g->fs, g->gs,
		};
		memcpy(t->gpregs, regs, sizeof(regs));
	}
	if (ti->fpregs) {
		t->has_fpregs = true;
		build_fxsave(ti->fpregs, t->fxsave);
		if (ti->fpregs->xsave)
			build_xsave(ti->fpregs->xsave, t);
	}
	if (ce->thread_core) {
		const PbThreadCoreEntry *tc = ce->thread_core;

		set_comm(t->comm, tc->comm);
		t->sighold = tc->blk_sigset;
		t->sigpend = pending_mask(tc->signals_p);
		if (t->tid == p->pid) {
			p->nice = tc->sched_nice;
			if (tc->creds) {
				p->uid = tc->creds->uid;
				p->gid = tc->creds->gid;
			}
		}
	}
	return 0;
}

static int cmp_vma(const void *a, const void *b)
{
	const struct c2c_vma *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Attach the NT_FILE name and the shared memory object of a VMA. */
static int resolve_vma(struct c2c_ctx *ctx, struct c2c_checkpoint *ck, const struct c2c_loc *loc,
		       struct c2c_vma *v)
{
	struct c2c_file *f;
	int r;

	if (v->status & C2C_VMA_MEMFD) {
		r = ensure_files(ctx, ck);
		if (r < 0)
			return r;
		f = find_file(ck, v->shmid);
		if (!f || f->type != FD_TYPE_MEMFD)
			return c2c_fail(ctx, loc, C2C_E_INCONSISTENT,
					"memfd mapping %#llx refers to file id %llu, which is not a "
					"memfd in files.img",
					(unsigned long long)v->start, (unsigned long long)v->shmid);
		{
			const struct c2c_memfd key = { .inode_id = f->inode_id };
			const struct c2c_memfd *m =
				ck->nmemfds ? bsearch(&key, ck->memfds, ck->nmemfds,
						      sizeof(*ck->memfds), cmp_memfd)
					    : NULL;

			if (m) {
				v->path = m->path;
				return get_shmem(ctx, ck, m->shmid, &v->shm);
			}
		}
		return c2c_fail(ctx, loc, C2C_E_INCONSISTENT,
				"memfd mapping %#llx: inode %llu is not in memfd.img",
				(unsigned long long)v->start, (unsigned long long)f->inode_id);
	}
	if (v->status & (C2C_VMA_FILE_PRIVATE | C2C_VMA_FILE_SHARED)) {
		r = ensure_files(ctx, ck);
		if (r < 0)
			return r;
		f = find_file(ck, v->shmid);
		if (!f || !f->path) {
			c2c_warn(ctx, loc,
				 "mapping %#llx refers to file id %llu, which files.img does not "
				 "name: it is left out of NT_FILE",
				 (unsigned long long)v->start, (unsigned long long)v->shmid);
			return 0;
		}
		v->path = f->path;
		v->file = f;
		return 0;
	}
	if (v->status & C2C_VMA_ANON_SHARED) {
		/* SysV segments are not listed in NT_FILE (fixtures README). */
		if (!(v->status & C2C_VMA_SYSVIPC))
			v->path = "/dev/zero (deleted)";
		return get_shmem(ctx, ck, v->shmid, &v->shm);
	}
	return 0;
}

/* The VMAs of an MmEntry, checked, sorted and not overlapping (files not resolved). */
static int decode_vmas(struct c2c_ctx *ctx, const struct c2c_loc *loc, const PbMmEntry *mm,
		       struct c2c_vma **ret, size_t *ret_n)
{
	struct c2c_vma *vmas;
	size_t nv = 0;

	if (mm->n_vmas > C2C_MAX_VMAS)
		return c2c_fail(ctx, loc, C2C_E_LIMIT, "%zu VMAs exceed the cap of %u", mm->n_vmas,
				C2C_MAX_VMAS);
	vmas = calloc(mm->n_vmas ? mm->n_vmas : 1, sizeof(*vmas));
	if (!vmas)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const PbVmaEntry *e = mm->vmas[i];

		/* Guard-region and uprobes pseudo-VMAs describe no memory of their own. */
		if (e->status & (C2C_VMA_GUARD | C2C_VMA_UPROBES))
			continue;
		if (e->start >= e->end || e->start % C2C_PAGE_SIZE || e->end % C2C_PAGE_SIZE) {
			free(vmas);
			return c2c_fail(ctx, loc, C2C_E_INCONSISTENT,
					"VMA %zu [%#llx, %#llx) is empty or not page aligned", i,
					(unsigned long long)e->start, (unsigned long long)e->end);
		}
		vmas[nv++] = (struct c2c_vma){ .start = e->start,
					       .end = e->end,
					       .pgoff = e->pgoff,
					       .shmid = e->shmid,
					       .madv = e->madv,
					       .prot = e->prot,
					       .flags = e->flags,
					       .status = e->status };
	}
	if (nv > 1)
		qsort(vmas, nv, sizeof(*vmas), cmp_vma);
	for (size_t i = 1; i < nv; i++) {
		if (vmas[i].start < vmas[i - 1].end) {
			int r = c2c_fail(ctx, loc, C2C_E_INCONSISTENT,
					 "VMAs [%#llx, %#llx) and [%#llx, %#llx) overlap",
					 (unsigned long long)vmas[i - 1].start,
					 (unsigned long long)vmas[i - 1].end,
					 (unsigned long long)vmas[i].start,
					 (unsigned long long)vmas[i].end);
			free(vmas);
			return r;
		}
	}
	*ret = vmas;
	*ret_n = nv;
	return 0;
}

/* The MmEntry of an mm image (*msg to be freed by the caller) and where it is. */
static int read_mm_entry(struct c2c_ctx *ctx, const struct c2c_blob *b, ProtobufCMessage **msg,
			 struct c2c_loc *loc)
{
	struct c2c_image img;
	int r = c2c_image_open(ctx, b, C2C_IMG_MM, &img);

	if (r == 0)
		r = c2c_image_next_msg(ctx, &img, &pb_mm_entry__descriptor, msg);
	if (r == 0)
		r = c2c_fail(ctx, &C2C_IMAGE_LOC(&img), C2C_E_TRUNCATED, "mm image has no entry");
	if (r == 1)
		*loc = C2C_IMAGE_LOC(&img);
	return r < 0 ? r : 0;
}

int c2c_mm_vmas(struct c2c_ctx *ctx, const struct c2c_blob *b, struct c2c_vma **ret,
		size_t *ret_n)
{
	ProtobufCMessage *msg = NULL;
	struct c2c_loc loc;
	int r = read_mm_entry(ctx, b, &msg, &loc);

	if (r == 0)
		r = decode_vmas(ctx, &loc, (const PbMmEntry *)msg, ret, ret_n);
	if (msg)
		protobuf_c_message_free_unpacked(msg, NULL);
	return r;
}

static int load_mm(struct c2c_ctx *ctx, struct c2c_checkpoint *ck, struct c2c_process *p)
{
	struct c2c_blob b = C2C_BLOB_INIT;
	ProtobufCMessage *msg = NULL;
	struct c2c_loc loc;
	PbMmEntry *mm;
	size_t na;
	char name[32];
	int r;

	c2c_image_name(C2C_IMG_MM, p->pid, name, sizeof(name));
	r = c2c_source_load(ctx, ck->src, name, false, &b);
	if (r < 0)
		return r;
	r = read_mm_entry(ctx, &b, &msg, &loc);
	if (r < 0)
		goto out;
	mm = (PbMmEntry *)msg;
	p->has_mm = true;
	p->arg_start = mm->mm_arg_start;
	p->arg_end = mm->mm_arg_end;
	if (mm->has_exe_file_id) {
		const struct c2c_file *f;

		r = ensure_files(ctx, ck);
		if (r < 0)
			goto out;
		f = find_file(ck, mm->exe_file_id);
		p->exe_path = f ? f->path : NULL;
	}

	/*
	 * CRIU keeps at most AT_VECTOR_SIZE words and may cut off the AT_NULL
	 * pair (doc §2.4); the kernel's NT_AUXV always ends with it.
	 */
	if (mm->n_mm_saved_auxv > C2C_MAX_AUXV_WORDS) {
		r = c2c_fail(ctx, &loc, C2C_E_LIMIT, "auxv of %zu words exceeds the cap of %u",
			     mm->n_mm_saved_auxv, C2C_MAX_AUXV_WORDS);
		goto out;
	}
	for (na = 0; na + 1 < mm->n_mm_saved_auxv; na += 2)
		if (mm->mm_saved_auxv[na] == AT_NULL)
			break;
	p->auxv = calloc(na + 2, sizeof(*p->auxv));
	if (!p->auxv) {
		r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		goto out;
	}
	if (na)
		memcpy(p->auxv, mm->mm_saved_auxv, na * sizeof(*p->auxv));
	p->nauxv = na + 2;

	r = decode_vmas(ctx, &loc, mm, &p->vmas, &p->nvmas);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < p->nvmas; i++) {
		r = resolve_vma(ctx, ck, &loc, &p->vmas[i]);
		if (r < 0)
			goto out;
	}
	r = 0;
out:
	if (msg)
		protobuf_c_message_free_unpacked(msg, NULL);
	c2c_blob_release(&b);
	return r;
}

struct tree_entry {
	uint32_t pid, ppid, pgid, sid;
	uint32_t *threads;
	size_t nthreads;
	struct c2c_loc loc;
};

static int load_process(struct c2c_ctx *ctx, struct c2c_checkpoint *ck, const struct tree_entry *te,
			struct c2c_process *p)
{
	struct c2c_blob lb = C2C_BLOB_INIT;
	PbCoreEntry *lc = NULL;
	struct c2c_image limg;
	struct c2c_loc lloc;
	size_t k = 1;
	int r;

	p->pid = te->pid;
	p->ppid = te->ppid;
	p->pgid = te->pgid;
	p->sid = te->sid;

	/* The leader's core image says whether this is a zombie (no registers, no mm). */
	r = load_core_image(ctx, ck, te->pid, te->pid, &lb, &limg, &lc);
	if (r < 0)
		goto out;
	lloc = C2C_IMAGE_LOC(&limg);
	if (!lc->tc) {
		r = c2c_fail(ctx, &lloc, C2C_E_MISSING, "leader %u has no task core (tc)", te->pid);
		goto out;
	}
	p->state = lc->tc->task_state;
	p->exit_code = lc->tc->exit_code;
	p->pf_flags = lc->tc->flags;
	p->stop_signo = lc->tc->stop_signo;
	set_comm(p->comm, lc->tc->comm);
	if (p->state == C2C_TASK_DEAD)
		goto out;

	if (te->nthreads > C2C_MAX_THREADS) {
		r = c2c_fail(ctx, &te->loc, C2C_E_LIMIT, "%zu threads exceed the cap of %u",
			     te->nthreads, C2C_MAX_THREADS);
		goto out;
	}
	p->threads = calloc(te->nthreads + 1, sizeof(*p->threads));
	if (!p->threads) {
		r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		goto out;
	}
	/* Leader first, as the kernel writes the dumping thread first. */
	p->threads[0].tid = te->pid;
	for (size_t i = 0; i < te->nthreads; i++)
		if (te->threads[i] != te->pid)
			p->threads[k++].tid = te->threads[i];
	p->nthreads = k;
	r = thread_from_core(ctx, p, &p->threads[0], lc, &lloc);
	for (size_t i = 1; r == 0 && i < p->nthreads; i++) {
		struct c2c_blob b = C2C_BLOB_INIT;
		PbCoreEntry *ce = NULL;
		struct c2c_image img;

		r = load_core_image(ctx, ck, p->pid, p->threads[i].tid, &b, &img, &ce);
		if (r == 0)
			r = thread_from_core(ctx, p, &p->threads[i], ce, &C2C_IMAGE_LOC(&img));
		if (ce)
			protobuf_c_message_free_unpacked(&ce->base, NULL);
		c2c_blob_release(&b);
	}
	if (r < 0)
		goto out;
	/* The leader's blocked mask lives in tc (thread_core has it for the others). */
	p->threads[0].sighold = lc->tc->blk_sigset;
	p->threads[0].sigpend |= pending_mask(lc->tc->signals_s);
	if (!p->threads[0].comm[0])
		set_comm(p->threads[0].comm, lc->tc->comm);
	if (p->compat)
		goto out;
	r = load_mm(ctx, ck, p);
	if (r < 0)
		goto out;
	r = c2c_pagemap_load(ctx, ck, ck->src, C2C_PAGEMAP_TASK, p->pid, &p->pm);
out:
	if (lc)
		protobuf_c_message_free_unpacked(&lc->base, NULL);
	c2c_blob_release(&lb);
	return r;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void free_tree(struct tree_entry *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(t[i].threads);
	free(t);
}

static int load_pstree(struct c2c_ctx *ctx, struct c2c_source *src, struct tree_entry **ret,
		       size_t *nret)
{
	struct c2c_blob b = C2C_BLOB_INIT;
	ProtobufCMessage *msg = NULL;
	struct tree_entry *t = NULL;
	struct c2c_image img;
	size_t n = 0;
	int r;

	r = c2c_source_load(ctx, src, c2c_imgdesc_get(C2C_IMG_PSTREE)->name, false, &b);
	if (r < 0)
		return r;
	r = c2c_image_open(ctx, &b, C2C_IMG_PSTREE, &img);
	while (r == 0 &&
	       (r = c2c_image_next_msg(ctx, &img, &pb_pstree_entry__descriptor, &msg)) == 1) {
		PbPstreeEntry *e = (PbPstreeEntry *)msg;
		struct tree_entry *v = NULL;

		r = 0;
		if (n >= C2C_MAX_PROCESSES)
			r = c2c_fail(ctx, &C2C_IMAGE_LOC(&img), C2C_E_LIMIT,
				     "more than %u processes", C2C_MAX_PROCESSES);
		else if (!e->has_pid || e->pid == 0)
			r = c2c_fail(ctx, &C2C_IMAGE_LOC(&img), C2C_E_MISSING,
				     "process entry has no pid");
		else if (e->n_threads > C2C_MAX_THREADS)
			r = c2c_fail(ctx, &C2C_IMAGE_LOC(&img), C2C_E_LIMIT,
				     "%zu threads exceed the cap of %u", e->n_threads,
				     C2C_MAX_THREADS);
		else if (!(v = reallocarray(t, n + 1, sizeof(*t))))
			r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		if (r == 0) {
			t = v;
			t[n] = (struct tree_entry){ e->pid, e->ppid, e->pgid, e->sid, NULL,
						    e->n_threads, C2C_IMAGE_LOC(&img) };
			t[n].loc.file = src->path; /* the blob's path dies with this function */
			t[n].loc.offset = C2C_NO_OFFSET;
			t[n].loc.record = C2C_NO_RECORD;
			t[n].threads = malloc((e->n_threads ? e->n_threads : 1) * sizeof(uint32_t));
			if (!t[n].threads)
				r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
			else if (e->n_threads) /* threads is NULL when there are none */
				memcpy(t[n].threads, e->threads, e->n_threads * sizeof(uint32_t));
			n++;
		}
		protobuf_c_message_free_unpacked(msg, NULL);
		msg = NULL;
	}
	if (r == 0 && n == 0)
		r = c2c_fail(ctx, &C2C_LOC_FILE(b.path), C2C_E_MISSING, "process tree is empty");
	if (r == 0 && n > 1) {
		/* Sorted copy of the pids: a duplicate check in O(n log n), not O(n^2). */
		uint32_t *pids = malloc(n * sizeof(*pids));

		if (!pids)
			r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		for (size_t i = 0; r == 0 && i < n; i++)
			pids[i] = t[i].pid;
		if (r == 0)
			qsort(pids, n, sizeof(*pids), cmp_u32);
		for (size_t i = 1; r == 0 && i < n; i++)
			if (pids[i] == pids[i - 1])
				r = c2c_fail(ctx, &C2C_LOC_FILE(b.path), C2C_E_INCONSISTENT,
					     "pid %u appears twice in the process tree", pids[i]);
		free(pids);
	}
	c2c_blob_release(&b);
	if (r < 0) {
		free_tree(t, n);
		return r;
	}
	*ret = t;
	*nret = n;
	return 0;
}

/* inventory.img: only img_version matters to us (doc §1.9). */
static int check_inventory(struct c2c_ctx *ctx, struct c2c_source *src)
{
	struct c2c_blob b = C2C_BLOB_INIT;
	ProtobufCMessage *msg = NULL;
	struct c2c_image img;
	int r;

	r = c2c_source_load(ctx, src, c2c_imgdesc_get(C2C_IMG_INVENTORY)->name, false, &b);
	if (r < 0)
		return r;
	r = c2c_image_open(ctx, &b, C2C_IMG_INVENTORY, &img);
	if (r == 0)
		r = c2c_image_next_msg(ctx, &img, &pb_inventory_entry__descriptor, &msg);
	if (r == 0)
		r = c2c_fail(ctx, &C2C_IMAGE_LOC(&img), C2C_E_TRUNCATED, "inventory has no entry");
	if (r == 1) {
		PbInventoryEntry *inv = (PbInventoryEntry *)msg;

		r = 0;
		if (!inv->has_img_version || (inv->img_version != 1 && inv->img_version != 2))
			r = c2c_fail(ctx, &C2C_IMAGE_LOC(&img), C2C_E_UNSUPPORTED,
				     "image version %u is not supported (1 or 2 expected)",
				     inv->img_version);
		protobuf_c_message_free_unpacked(msg, NULL);
	}
	c2c_blob_release(&b);
	return r;
}

int c2c_checkpoint_load(struct c2c_ctx *ctx, struct c2c_source *src, const uint32_t *pids,
			size_t npids, struct c2c_checkpoint **ret)
{
	struct c2c_checkpoint *ck = calloc(1, sizeof(*ck));
	struct tree_entry *tree = NULL;
	size_t ntree = 0;
	int r;

	if (!ck)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	ck->src = src;
	ck->rootfd = -1;
	r = check_inventory(ctx, src);
	if (r < 0)
		goto out;
	r = load_pstree(ctx, src, &tree, &ntree);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < npids; i++) {
		size_t j = 0;

		while (j < ntree && tree[j].pid != pids[i])
			j++;
		if (j == ntree) {
			r = c2c_fail(ctx, &C2C_LOC_FILE(src->path), C2C_E_USAGE,
				     "pid %u is not in the checkpoint's process tree", pids[i]);
			goto out;
		}
	}
	ck->procs = calloc(ntree, sizeof(*ck->procs));
	ck->selected = calloc(ntree, sizeof(*ck->selected));
	if (!ck->procs || !ck->selected) {
		r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		goto out;
	}
	ck->nprocs = ntree;
	for (size_t i = 0; i < ntree; i++) {
		bool sel = npids == 0;

		for (size_t j = 0; j < npids && !sel; j++)
			sel = pids[j] == tree[i].pid;
		ck->selected[i] = sel;
		ck->procs[i].pid = tree[i].pid;
		ck->procs[i].ppid = tree[i].ppid;
		ck->procs[i].pgid = tree[i].pgid;
		ck->procs[i].sid = tree[i].sid;
		if (!sel)
			continue;
		r = load_process(ctx, ck, &tree[i], &ck->procs[i]);
		if (r < 0)
			goto out;
	}
	*ret = ck;
	ck = NULL;
	r = 0;
out:
	free_tree(tree, ntree);
	c2c_checkpoint_free(ck);
	return r;
}

void c2c_checkpoint_free(struct c2c_checkpoint *ck)
{
	if (!ck)
		return;
	for (size_t i = 0; i < ck->nprocs; i++) {
		struct c2c_process *p = &ck->procs[i];

		free(p->threads);
		free(p->auxv);
		free(p->vmas);
		c2c_pagemap_release(&p->pm);
	}
	free(ck->procs);
	free(ck->selected);
	for (size_t i = 0; i < ck->nfiles; i++) {
		free(ck->files[i].path);
		free(ck->files[i].name);
	}
	free(ck->files);
	for (size_t i = 0; i < ck->nmemfds; i++)
		free(ck->memfds[i].path);
	free(ck->memfds);
	for (size_t i = 0; i < ck->nshmems; i++) {
		c2c_pagemap_release(&ck->shmems[i]->pm);
		free(ck->shmems[i]);
	}
	free(ck->shmems);
	for (size_t i = 0; i < ck->nblobs; i++) {
		c2c_blob_release(ck->blobs[i]);
		free(ck->blobs[i]);
	}
	free(ck->blobs);
	c2c_rootdiff_free(ck->diff);
	free(ck);
}

int c2c_process_read_mem(struct c2c_ctx *ctx, const struct c2c_process *p, uint64_t addr,
			 void *buf, size_t len)
{
	uint8_t *out = buf;
	size_t i;

	memset(buf, 0, len);
	i = c2c_pagemap_find(&p->pm, addr);
	while (len && i < p->pm.n) {
		const struct c2c_extent *e = &p->pm.ext[i];
		uint64_t eend = e->addr + e->npages * C2C_PAGE_SIZE;
		uint64_t skip, n;
		int r;

		if (e->addr >= addr + len)
			break;
		if (e->addr > addr) {
			skip = e->addr - addr;
			out += skip;
			len -= skip;
			addr = e->addr;
		}
		n = eend - addr < len ? eend - addr : len;
		if (e->blob) {
			r = c2c_blob_pread(ctx, e->blob, out, n, e->off + (addr - e->addr));
			if (r < 0)
				return r;
		}
		out += n;
		len -= n;
		addr += n;
		i++;
	}
	return 0;
}
