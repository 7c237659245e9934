/*
 * Stage 5: the core plan of one process.
 *
 * Notes, in the kernel's order (fs/binfmt_elf.c write_note_info;
 * elf-core-format §1.4):
 *   PRSTATUS(t0) PRPSINFO SIGINFO AUXV FILE regsets(t0)
 *   then PRSTATUS regsets for every other thread, where regsets are the
 *   architecture's register-set notes in its regset order (on x86_64
 *   FPREGSET and X86_XSTATE; arch/).
 *
 * Segments: one PT_LOAD per VMA in address order, split where the content
 * changes between "known" (page data from the images, or zeros for anonymous
 * and shared memory that was never touched) and "unknown" (file pages CRIU
 * did not save, lazy pages). Unknown ranges get no PT_LOAD (see plan_vma), so
 * gdb falls back to the file named in NT_FILE or the executable instead of
 * reading wrong zeros. Ranges the kernel itself does not dump (vvar,
 * MADV_DONTDUMP, inaccessible anonymous memory) keep a p_filesz = 0 PT_LOAD.
 */
#include <elf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corebuild.h"
#include "util.h"

void c2c_coreplan_release(struct c2c_coreplan *plan)
{
	free(plan->notes);
	free(plan->segs);
	free(plan->pieces);
	*plan = (struct c2c_coreplan){ 0 };
}

int c2c_corebuild_add_note(struct c2c_ctx *ctx, struct c2c_coreplan *plan, const char *name,
			   uint32_t type, const void *desc, size_t len)
{
	size_t namesz = strlen(name) + 1;
	size_t total = sizeof(Elf64_Nhdr) + c2c_round_up(namesz, 4) + c2c_round_up(len, 4);
	Elf64_Nhdr nh = { (Elf64_Word)namesz, (Elf64_Word)len, type };
	Elf_Data src = { .d_buf = &nh, .d_type = ELF_T_NHDR, .d_version = EV_CURRENT,
			 .d_size = sizeof(nh) };
	Elf_Data dst;
	uint8_t *p;
	int r;

	r = c2c_array_grow(ctx, &plan->notes, &plan->notes_cap, plan->notes_len + total, 1);
	if (r < 0)
		return r;
	p = plan->notes + plan->notes_len;
	memset(p, 0, total);
	/* libelf converts the note header to the file's byte order. */
	dst = (Elf_Data){ .d_buf = p, .d_type = ELF_T_NHDR, .d_version = EV_CURRENT,
			  .d_size = sizeof(nh) };
	if (!elf64_xlatetof(&dst, &src, c2c_arch_elfdata(plan->arch)))
		return c2c_fail(ctx, NULL, C2C_E_ELF, "cannot encode note header: %s",
				elf_errmsg(-1));
	memcpy(p + sizeof(nh), name, namesz);
	if (len)
		memcpy(p + sizeof(nh) + c2c_round_up(namesz, 4), desc, len);
	plan->notes_len += total;
	return 0;
}

/* Segment builder state for one VMA. */
struct segbuild {
	struct c2c_ctx *ctx;
	struct c2c_coreplan *plan;
	uint32_t pflags;
	bool omit_unknown; /* no PT_LOAD at all for pages whose data is elsewhere */
	bool open, known;
};

static int seg_emit(struct segbuild *sb, uint64_t start, uint64_t end, bool known,
		    const struct c2c_blob *blob, uint64_t blob_off)
{
	struct c2c_coreplan *pl = sb->plan;
	struct c2c_segment *s;
	int r;

	if (start >= end)
		return 0;
	if (!known && sb->omit_unknown) {
		sb->open = false;
		sb->plan->missing_pages += (end - start) / sb->plan->page_size;
		return 0;
	}
	if (!sb->open || sb->known != known) {
		r = c2c_array_grow(sb->ctx, &pl->segs, &pl->segs_cap, pl->nsegs + 1,
				   sizeof(*pl->segs));
		if (r < 0)
			return r;
		pl->segs[pl->nsegs++] = (struct c2c_segment){ .vaddr = start, .flags = sb->pflags, .piece0 = pl->npieces };
		sb->open = true;
		sb->known = known;
	}
	s = &pl->segs[pl->nsegs - 1];
	s->memsz = end - s->vaddr;
	s->filesz = known ? s->memsz : 0;
	if (known && blob) {
		r = c2c_array_grow(sb->ctx, &pl->pieces, &pl->pieces_cap, pl->npieces + 1,
			 sizeof(*pl->pieces));
		if (r < 0)
			return r;
		pl->pieces[pl->npieces++] =
			(struct c2c_piece){ start - s->vaddr, end - start, blob, blob_off };
		s->npieces++;
	}
	return 0;
}

/* An empty PT_LOAD at addr (see plan_vma). */
static int seg_marker(struct segbuild *sb, uint64_t addr)
{
	struct c2c_coreplan *pl = sb->plan;
	int r = c2c_array_grow(sb->ctx, &pl->segs, &pl->segs_cap, pl->nsegs + 1, sizeof(*pl->segs));

	if (r == 0)
		pl->segs[pl->nsegs++] = (struct c2c_segment){ .vaddr = addr, .flags = sb->pflags, .piece0 = pl->npieces };
	sb->open = false;
	return r;
}

/* A run of pages with a source inside one VMA; blob NULL = no data anywhere. */
struct span {
	uint64_t start, end;
	const struct c2c_blob *blob;
	uint64_t off;
};

struct spanvec {
	struct span *v;
	size_t n, cap;
};

static int span_push(struct c2c_ctx *ctx, struct spanvec *sv, struct span s)
{
	int r;

	if (s.start >= s.end)
		return 0;
	r = c2c_array_grow(ctx, &sv->v, &sv->cap, sv->n + 1, sizeof(*sv->v));
	if (r == 0)
		sv->v[sv->n++] = s;
	return r;
}

/*
 * Spans of pm's extents inside [lo, hi) of its own address space, shifted by
 * delta into the VMA's addresses, minus the ranges already in `mask` (sorted).
 */
static int collect(struct c2c_ctx *ctx, const struct c2c_pagemap *pm, uint64_t lo, uint64_t hi,
		   int64_t delta, const struct spanvec *mask, struct spanvec *out)
{
	size_t mi = 0;

	for (size_t i = c2c_pagemap_find(pm, lo); i < pm->n && pm->ext[i].addr < hi; i++) {
		const struct c2c_extent *e = &pm->ext[i];
		uint64_t s = e->addr > lo ? e->addr : lo;
		uint64_t end = e->addr + e->npages * pm->page_size;

		if (end > hi)
			end = hi;
		s += (uint64_t)delta;
		end += (uint64_t)delta;
		/* Subtract the masked ranges (private COW pages win over the object). */
		while (s < end) {
			uint64_t cut = end;
			int r;

			while (mask && mi < mask->n && mask->v[mi].end <= s)
				mi++;
			if (mask && mi < mask->n && mask->v[mi].start <= s) {
				s = mask->v[mi].end;
				continue;
			}
			if (mask && mi < mask->n && mask->v[mi].start < cut)
				cut = mask->v[mi].start;
			r = span_push(ctx, out,
				      (struct span){ s, cut, e->blob,
						     e->blob ? e->off + (s - (uint64_t)delta - e->addr)
							     : 0 });
			if (r < 0)
				return r;
			s = cut;
		}
	}
	return 0;
}

static int cmp_span(const void *a, const void *b)
{
	return c2c_cmp_u64(((const struct span *)a)->start, ((const struct span *)b)->start);
}

static uint32_t pflags_of(uint32_t prot)
{
	return (prot & C2C_PROT_READ ? PF_R : 0) | (prot & C2C_PROT_WRITE ? PF_W : 0) |
	       (prot & C2C_PROT_EXEC ? PF_X : 0);
}

/*
 * Fill [a, b) of a file mapping from the file's bytes at the matching offset.
 * Beyond the end of the file there is nothing to read: the part of the last
 * page past it reads as zeros (as the kernel maps it), whole pages past it are
 * left out.
 */
static int emit_from_file(struct segbuild *sb, const struct c2c_vma *v, uint64_t a, uint64_t b,
			  const struct c2c_blob *fb, uint64_t *short_pages)
{
	uint64_t foff = v->pgoff + (a - v->start), ps = sb->plan->page_size;
	uint64_t n = fb->size > foff ? fb->size - foff : 0;
	uint64_t tail;
	int r;

	if (n > b - a)
		n = b - a;
	tail = c2c_round_up(a + n, ps);
	if (tail > b)
		tail = b;
	r = seg_emit(sb, a, a + n, true, n ? fb : NULL, foff);
	if (r == 0)
		r = seg_emit(sb, a + n, tail, true, NULL, 0);
	if (r == 0 && tail < b) {
		*short_pages += (b - tail) / ps;
		r = seg_emit(sb, tail, b, false, NULL, 0);
	}
	if (r == 0 && n)
		sb->plan->file_bytes += n;
	return r;
}

/* Whether --file-pages takes the whole of a file mapping from the root. */
static bool fill_whole(struct c2c_ctx *ctx, const struct c2c_coreplan_opts *o,
		       const struct c2c_vma *v, const struct spanvec *priv,
		       const struct c2c_blob *fb)
{
	bool has_image_pages = false;

	if (o->file_pages == C2C_FILE_PAGES_ALL)
		return true;
	if (o->file_pages != C2C_FILE_PAGES_HEADERS)
		return false;
	/* What the kernel and gcore write (fs/coredump.c vma_dump_size, default filter). */
	if (v->flags & C2C_MAP_SHARED)
		return true; /* CRIU never saves shared file pages; the file may be gone later */
	for (size_t i = 0; i < priv->n && !has_image_pages; i++)
		has_image_pages = priv->v[i].blob != NULL;
	if (has_image_pages)
		return true; /* an anon_vma: the kernel dumps such a private mapping whole */
	return v->pgoff == 0 && c2c_blob_is_elf(ctx, fb);
}

/*
 * Content the kernel leaves out (fs/coredump.c vma_dump_size): vvar is not
 * readable, MADV_DONTDUMP is honoured, socket rings are device memory.
 */
static bool dumps_nothing(const struct c2c_vma *v, unsigned int flags)
{
	return (v->status & (C2C_VMA_VVAR | C2C_VMA_SOCKET)) ||
	       ((v->madv & C2C_MADV_DONTDUMP) && !(flags & C2C_FLAG_INCLUDE_DONTDUMP));
}

/* A regular file mapping (a memfd is shared memory, not a file to read). */
static bool is_file_vma(const struct c2c_vma *v)
{
	return (v->status & (C2C_VMA_FILE_PRIVATE | C2C_VMA_FILE_SHARED)) &&
	       !(v->status & C2C_VMA_MEMFD);
}

static int plan_vma_segments(struct c2c_ctx *ctx, struct c2c_coreplan *plan,
			     const struct c2c_process *p, const struct c2c_vma *v,
			     const struct c2c_coreplan_opts *o, bool *own)
{
	struct segbuild sb = { ctx, plan, pflags_of(v->prot), false, false, false };
	struct spanvec priv = { 0 }, all = { 0 };
	const struct c2c_blob *fb = NULL;
	uint64_t cur, short_pages = 0;
	bool gaps_known, is_file;
	unsigned int flags = o->flags;
	int r = 0;

	/*
	 * The vsyscall page is always dumped; CRIU has no copy, and on current
	 * kernels (vsyscall=xonly) the kernel itself writes a hole.
	 */
	if (dumps_nothing(v, flags))
		return seg_emit(&sb, v->start, v->end, false, NULL, 0);
	if (v->status & C2C_VMA_VSYSCALL)
		return seg_emit(&sb, v->start, v->end, true, NULL, 0);

	is_file = is_file_vma(v);
	/*
	 * Pages whose data exists but not in the images (file pages CRIU did not
	 * save, lazy pages, shared memory without its pagemap) get no PT_LOAD:
	 * even a p_filesz = 0 segment makes gdb read zeros when the file is not
	 * at its recorded path (a container's rootfs rarely is), which breaks
	 * PIE relocation (gdb compares the program headers at AT_PHDR) and shows
	 * wrong bytes. Without a segment gdb reads the file, then the
	 * executable, or reports the memory as unavailable.
	 */
	sb.omit_unknown = true;
	/* Private pages: COW copies of file pages, anonymous memory, private memfd maps. */
	if (c2c_layout_private_pages(v, flags)) {
		r = collect(ctx, &p->pm, v->start, v->end, 0, NULL, &priv);
		if (r < 0)
			goto out;
	}
	for (size_t i = 0; i < priv.n; i++) {
		r = span_push(ctx, &all, priv.v[i]);
		if (r < 0)
			goto out;
		if (priv.v[i].blob && priv.v[i].blob == p->pm.own)
			*own = true;
	}
	if (v->shm && !v->shm->missing) {
		uint64_t len = v->end - v->start;

		r = collect(ctx, &v->shm->pm, v->pgoff, v->pgoff + len,
			    (int64_t)(v->start - v->pgoff), &priv, &all);
		if (r < 0)
			goto out;
		if (all.n > 1) /* all.v is NULL when empty */
			qsort(all.v, all.n, sizeof(*all.v), cmp_span);
	}

	/*
	 * Pages no image holds: zeros for anonymous and shared memory (never
	 * touched), unknown for files (gdb reads the file) and for shared memory
	 * whose pagemap is missing. An inaccessible anonymous mapping without
	 * data is left out, as the kernel does for a VMA that never had pages.
	 */
	gaps_known = !is_file && !(v->shm && v->shm->missing) &&
		     (v->status & (C2C_VMA_ANON_PRIVATE | C2C_VMA_ANON_SHARED | C2C_VMA_MEMFD |
				   C2C_VMA_AIORING | C2C_VMA_SHSTK | C2C_VMA_VDSO));
	if (gaps_known && all.n == 0 && !(v->prot & (C2C_PROT_READ | C2C_PROT_WRITE | C2C_PROT_EXEC))) {
		sb.omit_unknown = false;
		r = seg_emit(&sb, v->start, v->end, false, NULL, 0);
		goto out;
	}
	/* --root: file pages the images lack, where --file-pages asks for them. */
	if (is_file && o->ck && o->file_pages != C2C_FILE_PAGES_NONE) {
		r = c2c_checkpoint_vma_file(ctx, o->ck, v, &fb);
		if (r < 0)
			goto out;
		if (fb && !fill_whole(ctx, o, v, &priv, fb))
			fb = NULL;
	}

	/*
	 * elfutils finds a module only at the start of a segment (it then reads
	 * the ELF header from the file NT_FILE names there). When the images do
	 * not hold the first page of a file mapped at offset 0, mark its start
	 * with an empty PT_LOAD (p_memsz = 0): libdwfl sees the module, and gdb
	 * still reads nothing from it.
	 */
	if (is_file && v->pgoff == 0 && !fb &&
	    (all.n == 0 || all.v[0].start != v->start || !all.v[0].blob)) {
		r = seg_marker(&sb, v->start);
		if (r < 0)
			goto out;
	}
	cur = v->start;
	for (size_t i = 0; i < all.n; i++) {
		const struct span *s = &all.v[i];

		r = fb ? emit_from_file(&sb, v, cur, s->start, fb, &short_pages)
		       : seg_emit(&sb, cur, s->start, gaps_known, NULL, 0);
		if (r == 0)
			r = seg_emit(&sb, s->start, s->end, s->blob != NULL, s->blob, s->off);
		if (r < 0)
			goto out;
		if (s->blob)
			plan->data_bytes += s->end - s->start;
		else
			plan->lazy_pages += (s->end - s->start) / plan->page_size;
		cur = s->end;
	}
	r = fb ? emit_from_file(&sb, v, cur, v->end, fb, &short_pages)
	       : seg_emit(&sb, cur, v->end, gaps_known, NULL, 0);
	if (r == 0 && short_pages)
		c2c_warn(ctx, &C2C_LOC_FILE(fb->path),
			 "file is shorter than the mapping at %#llx: %llu pages past its end are "
			 "left out",
			 (unsigned long long)v->start, (unsigned long long)short_pages);
out:
	free(priv.v);
	free(all.v);
	return r;
}

bool c2c_layout_private_pages(const struct c2c_vma *v, unsigned int flags)
{
	return !dumps_nothing(v, flags) && !(v->status & C2C_VMA_VSYSCALL) &&
	       !(v->flags & C2C_MAP_SHARED);
}

bool c2c_layout_has_region(const struct c2c_vma *v, bool own_pages, unsigned int flags,
			   bool file_pages)
{
	if (dumps_nothing(v, flags))
		return false; /* never any data */
	if (own_pages)
		return true;
	if (is_file_vma(v))
		return file_pages; /* only files from --root can fill it */
	return (v->prot & (C2C_PROT_READ | C2C_PROT_WRITE | C2C_PROT_EXEC)) != 0;
}

static int plan_vma(struct c2c_ctx *ctx, struct c2c_coreplan *plan, const struct c2c_process *p,
		    const struct c2c_vma *v, const struct c2c_coreplan_opts *o)
{
	size_t first = plan->nsegs;
	bool own = false, region;
	int r = plan_vma_segments(ctx, plan, p, v, o, &own);

	region = c2c_layout_has_region(v, own, o->flags,
				       o->ck && o->file_pages != C2C_FILE_PAGES_NONE);
	for (size_t i = first; r == 0 && i < plan->nsegs; i++) {
		plan->segs[i].has_region = region;
		plan->segs[i].region = v->start;
	}
	return r;
}

/* The process's own pages image when it was written verbatim into its core (place.c). */
static const struct c2c_blob *verbatim_blob(const struct c2c_process *p)
{
	const struct c2c_blob *b = p->pm.own;

	return b && b->map && b->map->verbatim && b->map->core_fd >= 0 && b->map->pid == p->pid
		       ? b
		       : NULL;
}

static int push_seg(struct c2c_ctx *ctx, struct c2c_segment **v, size_t *n, size_t *cap,
		    struct c2c_segment s)
{
	int r = c2c_array_grow(ctx, v, cap, *n + 1, sizeof(**v));

	if (r == 0)
		(*v)[(*n)++] = s;
	return r;
}

/* Whether every piece of the VMA's segments [i, j) is whole pages of vb. */
static bool all_verbatim(const struct c2c_coreplan *plan, size_t i, size_t j,
			 const struct c2c_blob *vb)
{
	uint64_t ps = plan->page_size;

	for (; i < j; i++)
		for (size_t k = 0; k < plan->segs[i].npieces; k++) {
			const struct c2c_piece *pc = &plan->pieces[plan->segs[i].piece0 + k];

			if (pc->blob != vb || pc->blob_off % ps || pc->len % ps || pc->seg_off % ps)
				return false;
		}
	return true;
}

/*
 * Verbatim layout: the pages of VMAs whose data all comes from the verbatim
 * member stay where they are. Each such segment is split into PT_LOADs that
 * point into the member (p_offset = start + offset of the page there) and,
 * for the pages no image holds (zeros), PT_LOADs of their own, which become
 * holes. gdb, elfutils and lldb read a core by p_vaddr and p_offset and
 * need neither ascending offsets nor one segment per VMA (elf-core-format
 * §2). A VMA with data from anywhere else (parent images, shared memory,
 * --root files) keeps one region, and its pages are copied.
 */
static int split_verbatim(struct c2c_ctx *ctx, struct c2c_coreplan *plan, const struct c2c_blob *vb)
{
	struct c2c_segment *segs = NULL;
	struct c2c_piece *pieces = NULL;
	size_t nsegs = 0, segs_cap = 0, npieces = 0, pieces_cap = 0, i = 0;
	uint64_t base = plan->verbatim->verbatim_off;
	int r = 0;

	while (r == 0 && i < plan->nsegs) {
		size_t j = i + 1;
		bool pin;

		while (plan->segs[i].has_region && j < plan->nsegs && plan->segs[j].has_region &&
		       plan->segs[j].region == plan->segs[i].region)
			j++;
		pin = plan->segs[i].has_region && all_verbatim(plan, i, j, vb);
		for (; r == 0 && i < j; i++) {
			const struct c2c_segment *s = &plan->segs[i];
			struct c2c_segment g = *s;
			uint64_t cur = 0;

			if (!pin || !s->filesz) {
				g.piece0 = npieces;
				g.has_region = g.has_region && !pin;
				r = c2c_array_grow(ctx, &pieces, &pieces_cap, npieces + s->npieces + 1,
						   sizeof(*pieces));
				if (r == 0 && s->npieces) {
					memcpy(pieces + npieces, plan->pieces + s->piece0,
					       s->npieces * sizeof(*pieces));
					npieces += s->npieces;
				}
				if (r == 0)
					r = push_seg(ctx, &segs, &nsegs, &segs_cap, g);
				continue;
			}
			for (size_t k = 0; r == 0 && k <= s->npieces; k++) {
				const struct c2c_piece *pc =
					k < s->npieces ? &plan->pieces[s->piece0 + k] : NULL;
				uint64_t to = pc ? pc->seg_off : s->filesz;
				struct c2c_segment *last;

				if (to > cur) /* zeros: a segment of its own, a hole */
					r = push_seg(ctx, &segs, &nsegs, &segs_cap,
						     (struct c2c_segment){ .vaddr = s->vaddr + cur,
									   .memsz = to - cur,
									   .filesz = to - cur,
									   .flags = s->flags,
									   .piece0 = npieces });
				if (r < 0 || !pc)
					break;
				last = to == cur && cur ? &segs[nsegs - 1] : NULL;
				cur = pc->seg_off + pc->len;
				if (last && last->pinned &&
				    last->offset + last->filesz == base + pc->blob_off) {
					last->memsz += pc->len; /* continues in both files */
					last->filesz += pc->len;
					pieces[npieces - 1].len += pc->len;
					continue;
				}
				r = c2c_array_grow(ctx, &pieces, &pieces_cap, npieces + 1,
						   sizeof(*pieces));
				if (r == 0) {
					pieces[npieces] = (struct c2c_piece){ 0, pc->len, vb, pc->blob_off };
					r = push_seg(ctx, &segs, &nsegs, &segs_cap,
						     (struct c2c_segment){ .vaddr = s->vaddr + pc->seg_off,
									   .memsz = pc->len,
									   .filesz = pc->len,
									   .flags = s->flags,
									   .piece0 = npieces++,
									   .npieces = 1,
									   .offset = base + pc->blob_off,
									   .pinned = true });
				}
			}
		}
	}
	if (r < 0) {
		free(segs);
		free(pieces);
		return r;
	}
	free(plan->segs);
	free(plan->pieces);
	plan->segs = segs;
	plan->nsegs = nsegs;
	plan->segs_cap = segs_cap;
	plan->pieces = pieces;
	plan->npieces = npieces;
	plan->pieces_cap = pieces_cap;
	return 0;
}

/* Offsets of everything in the file (see c2c_layout_data_start in corebuild.h). */
static int layout(struct c2c_ctx *ctx, const struct c2c_process *p, struct c2c_coreplan *plan)
{
	uint64_t ps = plan->page_size;
	uint64_t pos = c2c_layout_data_start(ps), base = 0, phnum;
	bool elf32 = p->arch->elfclass == ELFCLASS32;
	const struct c2c_blob *vb = verbatim_blob(p);
	const struct c2c_vma *v = NULL;
	size_t vi = 0;

	if (vb && vb->size < C2C_MAX_CORE_SIZE) {
		int r;

		plan->verbatim = vb->map;
		r = split_verbatim(ctx, plan, vb);
		if (r < 0)
			return r;
		pos = c2c_round_up(vb->map->verbatim_off + vb->size, ps);
	}
	phnum = plan->nsegs + 1;
	for (size_t i = 0; i < plan->nsegs; i++) {
		struct c2c_segment *s = &plan->segs[i];

		if (s->pinned)
			continue;
		if (!s->has_region) {
			/* Packed where it is; p_offset page aligned even when empty. */
			s->offset = s->filesz ? c2c_layout_align(pos, s->filesz, ps)
					      : c2c_round_up(pos, ps);
			if (c2c_add_overflow(s->offset, s->filesz, &pos))
				goto too_big;
			continue;
		}
		/* Segments of one VMA are consecutive, VMAs in address order. */
		if (!v || v->start != s->region) {
			while (vi < p->nvmas && p->vmas[vi].start != s->region)
				vi++;
			if (vi == p->nvmas)
				return c2c_fail(ctx, NULL, C2C_E_INCONSISTENT,
						"segment without its VMA");
			v = &p->vmas[vi];
			base = c2c_layout_align(pos, v->end - v->start, ps);
			if (c2c_add_overflow(base, v->end - v->start, &pos))
				goto too_big;
		}
		s->offset = base + (s->vaddr - v->start);
	}
	/* Program headers 8-aligned (Elf64_Phdr; Elf32_Phdr needs 4), notes 4-aligned after them. */
	plan->phoff = c2c_round_up(pos, 8);
	plan->notes_off = plan->phoff + phnum * (elf32 ? sizeof(Elf32_Phdr) : sizeof(Elf64_Phdr));
	plan->size = plan->notes_off + plan->notes_len;
	if (phnum >= PN_XNUM) {
		plan->shoff = c2c_round_up(plan->size, 8);
		plan->size = plan->shoff + (elf32 ? sizeof(Elf32_Shdr) : sizeof(Elf64_Shdr));
	}
	if (plan->size > C2C_MAX_CORE_SIZE || plan->size < pos)
		goto too_big;
	if (elf32 && plan->size > UINT32_MAX)
		return c2c_fail(ctx, NULL, C2C_E_LIMIT,
				"process %u: its core would be %llu bytes, more than an ELF32 "
				"core's offsets can address (4 GiB)",
				p->pid, (unsigned long long)plan->size);
	return 0;
too_big:
	return c2c_fail(ctx, NULL, C2C_E_LIMIT,
			"process %u: its core would be larger than %llu bytes (even sparse)",
			p->pid, (unsigned long long)C2C_MAX_CORE_SIZE);
}

/*
 * NT_FILE (fs/binfmt_elf.c fill_files_note): every file-backed VMA in address
 * order; count, page size and {start, end, pgoff in pages} are longs of the
 * target (4 bytes on a 32-bit architecture).
 */
static int add_nt_file(struct c2c_ctx *ctx, struct c2c_coreplan *plan, const struct c2c_process *p)
{
	const struct c2c_arch *arch = p->arch;
	uint64_t l = c2c_arch_long(arch), count = 0, size = 2 * l, pos, spos;
	uint8_t *buf;
	int r;

	for (size_t i = 0; i < p->nvmas; i++) {
		if (!p->vmas[i].path)
			continue;
		count++;
		size += 3 * l + strlen(p->vmas[i].path) + 1;
	}
	if (size > C2C_MAX_NT_FILE_SIZE) {
		/* The kernel drops the note in this case too (fill_files_note). */
		c2c_warn(ctx, NULL, "process %u: NT_FILE would be %llu bytes, over the kernel's "
				    "limit of %llu: left out",
			 p->pid, (unsigned long long)size, (unsigned long long)C2C_MAX_NT_FILE_SIZE);
		return 0;
	}
	buf = calloc(1, size);
	if (!buf)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	c2c_put_long(arch, buf, count);
	/* the kernel's PAGE_SIZE; offsets count its pages */
	c2c_put_long(arch, buf + l, p->page_size);
	pos = 2 * l;
	spos = 2 * l + count * 3 * l;
	for (size_t i = 0; i < p->nvmas; i++) {
		const struct c2c_vma *v = &p->vmas[i];
		size_t n;

		if (!v->path)
			continue;
		c2c_put_long(arch, buf + pos, v->start);
		c2c_put_long(arch, buf + pos + l, v->end);
		c2c_put_long(arch, buf + pos + 2 * l, v->pgoff / p->page_size);
		pos += 3 * l;
		n = strlen(v->path) + 1;
		memcpy(buf + spos, v->path, n);
		spos += n;
	}
	r = c2c_corebuild_add_note(ctx, plan, "CORE", NT_FILE, buf, size);
	free(buf);
	return r;
}

/*
 * NT_AUXV: mm->saved_auxv as the kernel's longs. CRIU saves every word as a
 * u64; a 32-bit task's words are 32-bit values (the low half).
 */
static int add_nt_auxv(struct c2c_ctx *ctx, struct c2c_coreplan *plan, const struct c2c_process *p)
{
	size_t l = c2c_arch_long(p->arch);
	uint8_t *buf;
	int r;

	/* words of the target's size and byte order (CRIU saves u64 words) */
	buf = calloc(p->nauxv ? p->nauxv : 1, l);
	if (!buf)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	for (size_t i = 0; i < p->nauxv; i++)
		c2c_put_long(p->arch, buf + i * l, p->auxv[i]);
	r = c2c_corebuild_add_note(ctx, plan, "CORE", NT_AUXV, buf, p->nauxv * l);
	free(buf);
	return r;
}

/* pr_psargs: argv from process memory, NULs turned into spaces, at most 79 bytes. */
static int read_psargs(struct c2c_ctx *ctx, const struct c2c_process *p,
		       char out[C2C_PSARGS_MAX])
{
	uint64_t len = p->arg_end > p->arg_start ? p->arg_end - p->arg_start : 0;
	int r;

	memset(out, 0, C2C_PSARGS_MAX);
	if (len >= C2C_PSARGS_MAX)
		len = C2C_PSARGS_MAX - 1;
	r = c2c_process_read_mem(ctx, p, p->arg_start, out, len);
	if (r < 0)
		return r;
	for (uint64_t i = 0; i < len; i++)
		if (!out[i])
			out[i] = ' ';
	return 0;
}

/*
 * pr_fname is the "filename of executable" (include/linux/elfcore.h): the
 * basename of the executable, which is what comm was at exec time. A process
 * that renamed itself (prctl, pthread_setname_np on the main thread) keeps
 * its real name here, so gdb's check of the core against the executable it is
 * given (BFD compares pr_fname with the file's name when the core holds no
 * build-id, and CRIU does not save the clean ELF header page that holds it)
 * does not warn "core file may not match specified executable file".
 */
static void exe_name(const struct c2c_process *p, char out[16])
{
	const char *base, *del;
	size_t n;

	if (!p->exe_path) {
		snprintf(out, 16, "%s", p->comm);
		return;
	}
	base = strrchr(p->exe_path, '/');
	base = base ? base + 1 : p->exe_path;
	del = strstr(base, " (deleted)");
	n = del && !del[10] ? (size_t)(del - base) : strlen(base);
	snprintf(out, 16, "%.*s", (int)n, base);
}

/* The task-identity values of thread t's notes. */
static struct c2c_task_info task_info(const struct c2c_process *p, const struct c2c_thread *t)
{
	return (struct c2c_task_info){ .pid = p->pid,
				       .tid = t->tid,
				       .ppid = p->ppid,
				       .pgid = p->pgid,
				       .sid = p->sid,
				       .state = p->state,
				       .nice = p->nice,
				       .uid = p->uid,
				       .gid = p->gid,
				       .pf_flags = p->pf_flags,
				       .sigpend = t->sigpend,
				       .sighold = t->sighold };
}

/* NT_PRSTATUS and the register-set notes of one thread. */
static int add_thread_notes(struct c2c_ctx *ctx, struct c2c_coreplan *plan,
			    const struct c2c_process *p, const struct c2c_thread *t, uint8_t *buf,
			    bool leader_rest)
{
	const struct c2c_arch *arch = p->arch;
	const struct c2c_task_info ti = task_info(p, t);
	int r;

	c2c_arch_prstatus(arch, &ti, &t->regs, buf);
	r = c2c_corebuild_add_note(ctx, plan, "CORE", NT_PRSTATUS, buf, arch->prstatus_size);
	if (r == 0 && leader_rest) {
		char psargs[C2C_PSARGS_MAX], fname[16];
		/* No signal caused a checkpoint: an all-zero siginfo, as for pr_cursig. */
		static const uint8_t sig[C2C_SIGINFO_SIZE];

		r = read_psargs(ctx, p, psargs);
		exe_name(p, fname);
		if (r == 0) {
			c2c_arch_prpsinfo(arch, &ti, fname, psargs, buf);
			r = c2c_corebuild_add_note(ctx, plan, "CORE", NT_PRPSINFO, buf,
						   arch->prpsinfo_size);
		}
		if (r == 0)
			r = c2c_corebuild_add_note(ctx, plan, "CORE", NT_SIGINFO, sig,
						   sizeof(sig));
		if (r == 0)
			r = add_nt_auxv(ctx, plan, p);
		if (r == 0)
			r = add_nt_file(ctx, plan, p);
	}
	for (size_t i = 0; r == 0 && i < t->regs.nsets; i++) {
		const struct c2c_regset *rs = &t->regs.sets[i];

		r = c2c_corebuild_add_note(ctx, plan, rs->name, rs->type, t->regs.data + rs->off,
					   rs->len);
	}
	return r;
}

int c2c_corebuild_plan(struct c2c_ctx *ctx, const struct c2c_process *p,
		       const struct c2c_coreplan_opts *opts, struct c2c_coreplan *plan)
{
	uint8_t buf[C2C_NOTE_DESC_MAX];
	int r = 0;

	*plan = (struct c2c_coreplan){ .arch = p->arch, .page_size = p->page_size };
	for (size_t i = 0; r == 0 && i < p->nthreads; i++)
		r = add_thread_notes(ctx, plan, p, &p->threads[i], buf, i == 0);
	for (size_t i = 0; r == 0 && i < p->nvmas; i++)
		r = plan_vma(ctx, plan, p, &p->vmas[i], opts);
	if (r == 0)
		r = layout(ctx, p, plan);
	plan->pid = p->pid;
	if (r < 0)
		c2c_coreplan_release(plan);
	return r;
}
