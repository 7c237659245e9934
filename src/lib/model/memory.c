/*
 * Stage 4, process model: a process's memory map and memory.
 *
 * Consumes mm-<pid>.img (criu-image-format §2.4) and, through pagemap.c, the
 * pagemaps of the process and of the shared memory objects it maps;
 * produces the sorted VMAs with their files and shared memory resolved, the
 * auxv, and reads of process memory from the page runs.
 */
#include <elf.h> /* AT_NULL, AT_PAGESZ */
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "mm.pb-c.h"
#include "model.h"
#include "util.h"

/* Page sizes Linux architectures have: 4 KiB (the smallest) to 1 MiB. */
#define PAGE_SIZE_MIN 4096ULL
#define PAGE_SIZE_MAX (1ULL << 20)

int c2c_auxv_page_size(struct c2c_ctx *ctx, const struct c2c_loc *loc, const uint64_t *auxv,
		       size_t n, uint64_t def, uint64_t *ret)
{
	*ret = def;
	for (size_t i = 0; i + 1 < n && auxv[i] != AT_NULL; i += 2) {
		uint64_t ps = auxv[i + 1];

		if (auxv[i] != AT_PAGESZ)
			continue;
		if (ps < PAGE_SIZE_MIN || ps > PAGE_SIZE_MAX || (ps & (ps - 1)))
			return c2c_fail(ctx, loc, C2C_E_INCONSISTENT,
					"the auxv's page size (AT_PAGESZ) %llu is not a power of "
					"two from 4 KiB to 1 MiB",
					(unsigned long long)ps);
		*ret = ps;
		return 0;
	}
	return 0;
}

static bool shmem_below(const void *element, const void *key)
{
	return (*(const struct c2c_shmem *const *)element)->shmid < *(const uint64_t *)key;
}

/* Shared memory objects are loaded once, whatever number of VMAs map them. */
static int get_shmem(struct c2c_ctx *ctx, struct c2c_checkpoint *ck, uint64_t shmid,
		     uint64_t page_size, const struct c2c_shmem **ret)
{
	struct c2c_shmem *s;
	size_t lo;
	int r;

	/* Kept sorted by shmid: a binary search per VMA, not a scan. */
	lo = c2c_lower_bound(ck->shmems, ck->nshmems, sizeof(*ck->shmems), &shmid, shmem_below);
	if (lo < ck->nshmems && ck->shmems[lo]->shmid == shmid) {
		*ret = ck->shmems[lo];
		if (ck->shmems[lo]->pm.page_size != page_size)
			return c2c_fail(ctx, NULL, C2C_E_INCONSISTENT,
					"shared memory object %llu is mapped by processes with "
					"page sizes %llu and %llu",
					(unsigned long long)shmid,
					(unsigned long long)ck->shmems[lo]->pm.page_size,
					(unsigned long long)page_size);
		return 0;
	}
	if (ck->nshmems >= C2C_MAX_SHMEM_OBJECTS)
		return c2c_fail(ctx, NULL, C2C_E_LIMIT,
				"more than %u shared memory objects in one checkpoint",
				C2C_MAX_SHMEM_OBJECTS);
	r = c2c_array_grow(ctx, &ck->shmems, &ck->shmems_cap, ck->nshmems + 1,
			   sizeof(*ck->shmems));
	if (r < 0)
		return r;
	s = calloc(1, sizeof(*s));
	if (!s)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	s->shmid = shmid;
	r = c2c_pagemap_load(ctx, ck, ck->src, C2C_PAGEMAP_SHMEM, shmid, page_size, &s->pm);
	if (r < 0) {
		free(s);
		return r;
	}
	s->missing = r == 1;
	s->pm.page_size = page_size;
	if (s->missing) {
		/* Named as the source names its images ("x.tar:..." in an archive). */
		char name[64], *path;

		c2c_image_name(C2C_IMG_SHMEM_PAGEMAP, shmid, name, sizeof(name));
		path = c2c_source_path(ck->src, name);
		c2c_warn(ctx, NULL,
			 "'%s' is missing: content of the shared memory object is left out",
			 path ? path : name);
		free(path);
	}
	memmove(&ck->shmems[lo + 1], &ck->shmems[lo], (ck->nshmems - lo) * sizeof(*ck->shmems));
	ck->shmems[lo] = s;
	ck->nshmems++;
	*ret = s;
	return 0;
}


static int cmp_vma(const void *a, const void *b)
{
	return c2c_cmp_u64(((const struct c2c_vma *)a)->start, ((const struct c2c_vma *)b)->start);
}

/* Attach the NT_FILE name and the shared memory object of a VMA. */
static int resolve_vma(struct c2c_ctx *ctx, struct c2c_checkpoint *ck, const struct c2c_loc *loc,
		       uint64_t page_size, struct c2c_vma *v)
{
	struct c2c_file *f;
	int r;

	if (v->status & C2C_VMA_MEMFD) {
		r = c2c_files_load(ctx, ck);
		if (r < 0)
			return r;
		f = c2c_files_find(ck, v->shmid);
		if (!f || !c2c_file_is_memfd(f))
			return c2c_fail(ctx, loc, C2C_E_INCONSISTENT,
					"memfd mapping %#llx refers to file id %llu, which is not a "
					"memfd in files.img",
					(unsigned long long)v->start, (unsigned long long)v->shmid);
		{
			const struct c2c_memfd *m = c2c_files_memfd(ck, f->inode_id);

			if (m) {
				v->path = m->path;
				return get_shmem(ctx, ck, m->shmid, page_size, &v->shm);
			}
		}
		return c2c_fail(ctx, loc, C2C_E_INCONSISTENT,
				"memfd mapping %#llx: inode %llu is not in memfd.img",
				(unsigned long long)v->start, (unsigned long long)f->inode_id);
	}
	if (v->status & (C2C_VMA_FILE_PRIVATE | C2C_VMA_FILE_SHARED)) {
		r = c2c_files_load(ctx, ck);
		if (r < 0)
			return r;
		f = c2c_files_find(ck, v->shmid);
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
		return get_shmem(ctx, ck, v->shmid, page_size, &v->shm);
	}
	return 0;
}

/*
 * The VMAs of an MmEntry, checked (aligned to page_size), sorted and not
 * overlapping (files not resolved).
 */
static int decode_vmas(struct c2c_ctx *ctx, const struct c2c_loc *loc, const PbMmEntry *mm,
		       uint64_t page_size, struct c2c_vma **ret, size_t *ret_n)
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
		if (e->start >= e->end || e->start % page_size || e->end % page_size) {
			free(vmas);
			return c2c_fail(ctx, loc, C2C_E_INCONSISTENT,
					"VMA %zu [%#llx, %#llx) is empty or not page aligned", i,
					(unsigned long long)e->start, (unsigned long long)e->end);
		}
		/* VmaEntry's fields in struct c2c_vma's order; path, file, shm come later. */
		vmas[nv++] = (struct c2c_vma){ e->start, e->end, e->pgoff, e->shmid, e->madv,
					       e->prot, e->flags, e->status, NULL, NULL, NULL };
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

int c2c_mm_vmas(struct c2c_ctx *ctx, const struct c2c_blob *b, struct c2c_vma **ret,
		size_t *ret_n, uint64_t *page_size)
{
	ProtobufCMessage *msg = NULL;
	struct c2c_image img;
	const PbMmEntry *mm;
	int r = c2c_image_read_one(ctx, b, C2C_IMG_MM, &pb_mm_entry__descriptor, &img, &msg);

	if (r == 0) {
		/* Without AT_PAGESZ the page size is the arch's, which the mm image does not tell: 0. */
		mm = (const PbMmEntry *)msg;
		r = c2c_auxv_page_size(ctx, &C2C_IMAGE_LOC(&img), mm->mm_saved_auxv,
				       mm->n_mm_saved_auxv, 0, page_size);
		if (r == 0)
			r = decode_vmas(ctx, &C2C_IMAGE_LOC(&img), mm,
					*page_size ? *page_size : PAGE_SIZE_MIN, ret, ret_n);
		protobuf_c_message_free_unpacked(msg, NULL);
	}
	return r;
}

int c2c_mm_load(struct c2c_ctx *ctx, struct c2c_checkpoint *ck, struct c2c_process *p)
{
	struct c2c_blob b = C2C_BLOB_INIT;
	ProtobufCMessage *msg = NULL;
	struct c2c_image img;
	struct c2c_loc loc;
	PbMmEntry *mm;
	size_t na, nw;
	int r;

	r = c2c_image_load_one(ctx, ck->src, C2C_IMG_MM, p->pid, &pb_mm_entry__descriptor, false, &b,
			       &msg, &img);
	if (r < 0)
		return r;
	loc = C2C_IMAGE_LOC(&img);
	mm = (PbMmEntry *)msg;
	p->has_mm = true;
	p->arg_start = mm->mm_arg_start;
	p->arg_end = mm->mm_arg_end;
	p->env_start = mm->mm_env_start;
	p->env_end = mm->mm_env_end;
	if (mm->has_exe_file_id) {
		const struct c2c_file *f;

		r = c2c_files_load(ctx, ck);
		if (r < 0)
			goto out;
		f = c2c_files_find(ck, mm->exe_file_id);
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
	/*
	 * A compat task's /proc/pid/auxv holds 32-bit words, which CRIU read
	 * into u64s: each stored word packs two, the first in the low half
	 * (doc §2.4).
	 */
	nw = p->compat ? 2 * mm->n_mm_saved_auxv : mm->n_mm_saved_auxv;
	p->auxv = calloc(nw + 2, sizeof(*p->auxv));
	if (!p->auxv) {
		r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nw; i++)
		p->auxv[i] = !p->compat ? mm->mm_saved_auxv[i] :
			     i % 2 ? mm->mm_saved_auxv[i / 2] >> 32 :
				     (uint32_t)mm->mm_saved_auxv[i / 2];
	for (na = 0; na + 1 < nw; na += 2)
		if (p->auxv[na] == AT_NULL)
			break;
	/* up to AT_NULL, which the kernel's NT_AUXV always ends with */
	p->auxv[na] = AT_NULL;
	p->auxv[na + 1] = 0;
	p->nauxv = na + 2;
	r = c2c_auxv_page_size(ctx, &loc, p->auxv, p->nauxv,
			       p->page_size ? p->page_size : PAGE_SIZE_MIN, &p->page_size);
	if (r < 0)
		goto out;

	r = decode_vmas(ctx, &loc, mm, p->page_size, &p->vmas, &p->nvmas);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < p->nvmas; i++) {
		r = resolve_vma(ctx, ck, &loc, p->page_size, &p->vmas[i]);
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

int c2c_process_read_mem(struct c2c_ctx *ctx, const struct c2c_process *p, uint64_t addr,
			 void *buf, size_t len)
{
	uint8_t *out = buf;
	size_t i;

	memset(buf, 0, len);
	i = c2c_pagemap_find(&p->pm, addr);
	while (len && i < p->pm.n) {
		const struct c2c_extent *e = &p->pm.ext[i];
		uint64_t eend = e->addr + e->npages * p->pm.page_size;
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


/* The name /proc/PID/maps would show for v. */
const char *c2c_vma_name(const struct c2c_vma *v)
{
	static const struct {
		uint32_t status;
		const char *name;
	} kinds[] = {
		{ C2C_VMA_HEAP, "[heap]" },	    { C2C_VMA_STACK, "[stack]" },
		{ C2C_VMA_VDSO, "[vdso]" },	    { C2C_VMA_VVAR, "[vvar]" },
		{ C2C_VMA_VSYSCALL, "[vsyscall]" }, { C2C_VMA_SYSVIPC, "[sysv-shm]" },
	};

	if (v->path)
		return v->path;
	for (size_t i = 0; i < C2C_ARRAY_SIZE(kinds); i++)
		if (v->status & kinds[i].status)
			return kinds[i].name;
	return v->shm ? "[shmem]" : "[anon]";
}

void c2c_vma_perms(const struct c2c_vma *v, char out[5])
{
	out[0] = v->prot & C2C_PROT_READ ? 'r' : '-';
	out[1] = v->prot & C2C_PROT_WRITE ? 'w' : '-';
	out[2] = v->prot & C2C_PROT_EXEC ? 'x' : '-';
	out[3] = v->flags & C2C_MAP_SHARED ? 's' : 'p';
	out[4] = '\0';
}
