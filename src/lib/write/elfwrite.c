/*
 * Stage 6: write an ELF core file as corebuild.c laid it out:
 *
 *   Elf64_Ehdr (Elf32_Ehdr for a 32-bit architecture) | pad to a page |
 *   segment data, page aligned | PT_NOTE phdr, PT_LOAD phdrs | notes |
 *   [section header 0 if PN_XNUM]
 *
 * The header values, program headers and note contents are the kernel's
 * (fs/binfmt_elf.c elf_core_dump; elf-core-format §1.1); only their places in
 * the file differ (see c2c_layout_data_start). libelf encodes the ELF header,
 * program headers and note headers; we write everything at its offset. Page
 * data is copied with copy_file_range so that it never passes through our
 * memory (and filesystems may share extents); never-touched pages stay holes.
 * Pages an archive reader already placed in this core are not written again.
 */
#include <errno.h>
#include <fcntl.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elfwrite.h"
#include "util.h"

/* Kernel's PT_NOTE p_align (4 since v6.x; gdb rejects 8, elf-core-format §3.3). */
#define CORE_NOTE_ALIGN 4
/* Largest single copy_file_range call, so that progress is reported regularly. */
#define COPY_STEP (64ULL << 20)
/* Zero pages are found, and left as holes, in blocks of the smallest page size. */
#define ZERO_BLOCK 4096U
#define ZERO_CHUNK (128U << 10)
/* Window of punch_zero_pages: bounds the mapped, resident part of the core. */
#define PUNCH_WINDOW (8ULL << 20)
/* FICLONERANGE needs ranges aligned to the filesystem block: 4 KiB on XFS and btrfs as made by default. */
#define CLONE_ALIGN 4096U

static void progress(struct c2c_ctx *ctx, uint64_t n)
{
	struct c2c_progress *pr = &ctx->progress;

	pr->done += n;
	if (pr->fn)
		pr->fn(pr->data, pr->done, pr->total);
}

static int write_all(struct c2c_ctx *ctx, int fd, const char *path, const void *buf, size_t len,
		     uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return c2c_fail(ctx, &C2C_LOC_AT(path, off), C2C_E_IO, "write failed");
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* The writer's copy state for one core. */
struct copier {
	uint8_t *buf;	  /* ZERO_CHUNK, allocated on first use */
	bool no_clone;	  /* FICLONERANGE failed once: this filesystem pair cannot share */
	bool holes_known; /* the source is our own spool or core: zero pages are holes already */
	bool unnamed;	  /* the core is an O_TMPFILE: safe to map (punch_zero_pages) */
};

static int copy_range(struct c2c_ctx *ctx, const struct c2c_blob *src, uint64_t src_off, int fd,
		      const char *path, uint64_t out_off, uint64_t len, struct copier *cp);

/*
 * Copy len bytes of a pages image into the core at out_off, skipping the
 * source's holes (a spool file is sparse where an archive held zero pages):
 * they stay holes in the core, never written zeros.
 */
static int copy_piece(struct c2c_ctx *ctx, const struct c2c_blob *src, uint64_t src_off, int fd,
		      const char *path, uint64_t out_off, uint64_t len, struct copier *cp)
{
	uint64_t pos = src->base + src_off, end = pos + len;

	/* A placed member: copy run by run from the file each run is in. */
	while (src->map && len) {
		struct c2c_blob lin = C2C_BLOB_INIT;
		bool in_core = false;
		uint64_t at = 0, n = c2c_placemap_locate(src->map, src_off, len, &in_core, &at);
		int r;

		if (!n)
			return c2c_fail(ctx, &C2C_LOC_AT(src->path, src_off), C2C_E_TRUNCATED,
					"pages image ended early");
		lin.path = src->path;
		lin.fd = in_core ? src->map->core_fd : src->map->spool_fd;
		lin.size = n;
		lin.base = at;
		cp->holes_known = true;
		r = copy_piece(ctx, &lin, 0, fd, path, out_off, n, cp);
		cp->holes_known = false;
		if (r < 0)
			return r;
		src_off += n;
		out_off += n;
		len -= n;
	}
	if (src->map)
		return 0;
	if (src->data)
		return copy_range(ctx, src, src_off, fd, path, out_off, len, cp);
	while (pos < end) {
		uint64_t data = 0, n = c2c_next_data(src->fd, pos, end - pos, &data);
		int r;

		if (!n)
			break;
		r = copy_range(ctx, src, data - src->base, fd, path,
			       out_off + (data - src->base - src_off), n, cp);
		if (r < 0)
			return r;
		progress(ctx, data - pos); /* the hole counts as done */
		pos = data + n;
	}
	if (pos < end)
		progress(ctx, end - pos);
	return 0;
}

/*
 * Share the bytes instead of copying them where the filesystem can (XFS,
 * btrfs: FICLONERANGE on block-aligned ranges; the pages images hold whole
 * pages and cores put them at page-aligned offsets). 1 done, 0 not possible
 * here, or a negative error.
 */
static int clone_range(struct copier *cp, int in, uint64_t from, int out, uint64_t to,
		       uint64_t len)
{
	struct file_clone_range fcr = { in, from, len, to };

	if (cp->no_clone || (from | to | len) % CLONE_ALIGN)
		return 0;
	if (ioctl(out, FICLONERANGE, &fcr) == 0)
		return 1;
	if (errno == EOPNOTSUPP || errno == EXDEV || errno == EINVAL || errno == ENOTTY ||
	    errno == EBADF || errno == ENOSYS || errno == EPERM || errno == ETXTBSY)
		cp->no_clone = true;
	else if (errno != EAGAIN && errno != EINTR)
		return -errno;
	return 0;
}

/* Write the runs of non-zero ZERO_BLOCKs of buf (len bytes) at `to`; all-zero blocks stay holes. */
static int write_nonzero(struct c2c_ctx *ctx, int fd, const char *path, const uint8_t *buf,
			 size_t len, uint64_t to)
{
	size_t at = 0;

	while (at < len) {
		size_t start;
		int r;

		while (at < len && c2c_all_zero(buf + at, len - at < ZERO_BLOCK ? len - at : ZERO_BLOCK))
			at += ZERO_BLOCK;
		start = at;
		while (at < len && !c2c_all_zero(buf + at, len - at < ZERO_BLOCK ? len - at : ZERO_BLOCK))
			at += ZERO_BLOCK;
		if (at > len)
			at = len;
		if (at > start && (r = write_all(ctx, fd, path, buf + start, at - start, to + start)) < 0)
			return r;
	}
	return 0;
}

/*
 * Copy len bytes of page data from src to out where copy_file_range cannot
 * (another filesystem pair, an old kernel); all-zero pages are not written,
 * so they stay holes in the core, as in one written from an archive
 * (arcsource.c). Chunks of ZERO_CHUNK stay in the CPU's cache between the
 * read, the check and the write.
 */
static int copy_skip_zeros(struct c2c_ctx *ctx, const struct c2c_blob *src, uint64_t in,
			   int fd, const char *path, uint64_t out, uint64_t len,
			   struct copier *cp)
{
	if (!cp->buf && !(cp->buf = malloc(ZERO_CHUNK)))
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	while (len) {
		size_t n = len < ZERO_CHUNK ? (size_t)len : ZERO_CHUNK;
		int r = c2c_blob_pread(ctx, src, cp->buf, n, in - src->base);

		if (r == 0)
			r = write_nonzero(ctx, fd, path, cp->buf, n, out);
		if (r < 0)
			return r;
		in += n;
		out += n;
		len -= n;
		progress(ctx, n);
	}
	return 0;
}

/*
 * Zero pages of [off, off + len) of the core, just copied in by
 * copy_file_range, become holes: the copy stays in the kernel (cheaper than
 * reading the pages into a buffer to check them first: 1.8x cp instead of
 * 1.1x for a cold 1 GiB directory, tools/bench.py), then the written range is
 * checked through a read-only window on our own unnamed core file (nobody
 * else can truncate it under the mapping) and its zero pages are punched out
 * before they are written back. Best effort: where mmap or hole punching is
 * not available the zeros stay, as they were.
 */
static void punch_zero_pages(int fd, uint64_t off, uint64_t len)
{
	uint64_t end = off + len, pos = off & ~(uint64_t)(ZERO_BLOCK - 1);

	if (off % ZERO_BLOCK)
		pos += ZERO_BLOCK; /* only whole blocks */
	while (pos + ZERO_BLOCK <= end) {
		uint64_t w = end - pos < PUNCH_WINDOW ? (end - pos) & ~(uint64_t)(ZERO_BLOCK - 1)
						     : PUNCH_WINDOW;
		void *map = mmap(NULL, (size_t)w, PROT_READ, MAP_SHARED, fd, (off_t)pos);
		const uint8_t *m = map;
		uint64_t run = 0, at;

		if (map == MAP_FAILED)
			return;
		for (at = 0; at < w; at += ZERO_BLOCK) {
			if (c2c_all_zero(m + at, ZERO_BLOCK)) {
				run += ZERO_BLOCK;
				continue;
			}
			if (run)
				(void)fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
						(off_t)(pos + at - run), (off_t)run);
			run = 0;
		}
		if (run)
			(void)fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					(off_t)(pos + at - run), (off_t)run);
		munmap(map, (size_t)w);
		pos += w;
	}
}

/* Copy len bytes (no holes expected) from src at src_off into the core at out_off. */
static int copy_range(struct c2c_ctx *ctx, const struct c2c_blob *src, uint64_t src_off, int fd,
		      const char *path, uint64_t out_off, uint64_t len, struct copier *cp)
{
	loff_t in = (loff_t)(src->base + src_off), out = (loff_t)out_off;
	int r;

	if (src->data) {
		r = write_all(ctx, fd, path, src->data + src_off, len, out_off);
		if (r == 0)
			progress(ctx, len);
		return r;
	}
	r = clone_range(cp, src->fd, (uint64_t)in, fd, out_off, len);
	if (r < 0) {
		errno = -r;
		return c2c_fail(ctx, &C2C_LOC_AT(src->path, (uint64_t)in), C2C_E_IO,
				"cannot share page data with '%s'", path);
	}
	if (r > 0) {
		progress(ctx, len);
		return 0;
	}
	while (len) {
		ssize_t n = copy_file_range(src->fd, &in, fd, &out, len < COPY_STEP ? len : COPY_STEP,
					    0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
			      errno == EOPNOTSUPP || errno == EBADF))
			break; /* not supported between these files: plain copy below */
		if (n < 0)
			return c2c_fail(ctx, &C2C_LOC_AT(src->path, (uint64_t)in), C2C_E_IO,
					"cannot copy page data into '%s'", path);
		if (n == 0)
			return c2c_fail(ctx, &C2C_LOC_AT(src->path, (uint64_t)in), C2C_E_TRUNCATED,
					"pages image ended early");
		len -= (uint64_t)n;
		progress(ctx, (uint64_t)n);
	}
	if (!cp->holes_known && cp->unnamed)
		punch_zero_pages(fd, out_off, (uint64_t)out - out_off);
	if (!len)
		return 0;
	return copy_skip_zeros(ctx, src, (uint64_t)in, fd, path, (uint64_t)out, len, cp);
}

/*
 * Convert n records of type t to the file's representation (the byte order
 * data, ELFDATA2LSB or ELFDATA2MSB) with libelf, for an ELFCLASS64 or (elf32)
 * an ELFCLASS32 file.
 */
static int xlate_class(struct c2c_ctx *ctx, bool elf32, uint8_t data, Elf_Type t, void *dst,
		       void *src, size_t size)
{
	Elf_Data in = { .d_buf = src, .d_type = t, .d_version = EV_CURRENT, .d_size = size };
	Elf_Data out = { .d_buf = dst, .d_type = t, .d_version = EV_CURRENT, .d_size = size };

	if (!(elf32 ? elf32_xlatetof(&out, &in, data) : elf64_xlatetof(&out, &in, data)))
		return c2c_fail(ctx, NULL, C2C_E_ELF, "cannot encode ELF headers: %s",
				elf_errmsg(-1));
	return 0;
}

/*
 * The ELF32 forms of the headers (32-bit tasks: arm), narrowed from the ELF64
 * ones: every value fits, as c2c_corebuild_plan refuses an ELF32 core whose
 * offsets would not. e_ident says ELFCLASS32.
 */
static void narrow_ehdr(const Elf64_Ehdr *e, Elf32_Ehdr *o)
{
	memcpy(o->e_ident, e->e_ident, EI_NIDENT);
	o->e_ident[EI_CLASS] = ELFCLASS32;
	o->e_type = e->e_type;
	o->e_machine = e->e_machine;
	o->e_version = e->e_version;
	o->e_entry = (Elf32_Addr)e->e_entry;
	o->e_phoff = (Elf32_Off)e->e_phoff;
	o->e_shoff = (Elf32_Off)e->e_shoff;
	o->e_flags = e->e_flags;
	o->e_ehsize = sizeof(Elf32_Ehdr);
	o->e_phentsize = sizeof(Elf32_Phdr);
	o->e_phnum = e->e_phnum;
	o->e_shentsize = e->e_shentsize ? sizeof(Elf32_Shdr) : 0;
	o->e_shnum = e->e_shnum;
	o->e_shstrndx = e->e_shstrndx;
}

static void narrow_phdr(const Elf64_Phdr *p, Elf32_Phdr *o)
{
	*o = (Elf32_Phdr){ .p_type = p->p_type,
			   .p_offset = (Elf32_Off)p->p_offset,
			   .p_vaddr = (Elf32_Addr)p->p_vaddr,
			   .p_paddr = (Elf32_Addr)p->p_paddr,
			   .p_filesz = (Elf32_Word)p->p_filesz,
			   .p_memsz = (Elf32_Word)p->p_memsz,
			   .p_flags = p->p_flags,
			   .p_align = (Elf32_Word)p->p_align };
}

/* Encode (libelf) and write the headers in the class of the plan's architecture. */
static int put_headers(struct c2c_ctx *ctx, int fd, const char *path,
		       const struct c2c_coreplan *plan, Elf64_Ehdr *eh, Elf64_Phdr *ph,
		       size_t phnum, bool xnum)
{
	/* sh_size = e_shnum (1) and sh_info = the real count, as the kernel writes. */
	Elf64_Shdr sh = { .sh_type = SHT_NULL, .sh_size = 1, .sh_info = (Elf64_Word)phnum };
	bool elf32 = plan->arch->elfclass == ELFCLASS32;
	uint8_t data = c2c_arch_elfdata(plan->arch);
	Elf32_Shdr sh32 = { .sh_type = SHT_NULL, .sh_size = 1, .sh_info = (Elf32_Word)phnum };
	Elf32_Ehdr eh32;
	Elf32_Phdr *ph32 = NULL;
	void *e = eh, *p = ph, *h = &sh;
	size_t esz = sizeof(*eh), psz = sizeof(*ph), hsz = sizeof(sh);
	int r;

	if (elf32) {
		if (!(ph32 = calloc(phnum, sizeof(*ph32))))
			return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		narrow_ehdr(eh, &eh32);
		for (size_t i = 0; i < phnum; i++)
			narrow_phdr(&ph[i], &ph32[i]);
		e = &eh32, p = ph32, h = &sh32;
		esz = sizeof(eh32), psz = sizeof(*ph32), hsz = sizeof(sh32);
	}
	r = xlate_class(ctx, elf32, data, ELF_T_EHDR, e, e, esz);
	if (r == 0)
		r = xlate_class(ctx, elf32, data, ELF_T_PHDR, p, p, phnum * psz);
	if (r == 0)
		r = write_all(ctx, fd, path, e, esz, 0);
	if (r == 0)
		r = write_all(ctx, fd, path, p, phnum * psz, plan->phoff);
	if (r == 0 && xnum) {
		r = xlate_class(ctx, elf32, data, ELF_T_SHDR, h, h, hsz);
		if (r == 0)
			r = write_all(ctx, fd, path, h, hsz, plan->shoff);
	}
	free(ph32);
	return r;
}

/*
 * ELF header, program headers and, with extended numbering, section header 0.
 * libelf encodes them; we place them, because elf_update() with a section
 * header table at the end of a large core fills the gap before it with zeros
 * instead of leaving holes. Built as ELF64, narrowed for a 32-bit task.
 */
static int write_headers(struct c2c_ctx *ctx, int fd, const char *path,
			 const struct c2c_coreplan *plan)
{
	size_t phnum = plan->nsegs + 1;
	bool xnum = phnum >= PN_XNUM;
	Elf64_Ehdr eh = { 0 };
	Elf64_Phdr *ph;
	int r;

	ph = calloc(phnum, sizeof(*ph));
	if (!ph)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	/* Header values as the kernel's fill_elf_header and fill_extnum_info. */
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = c2c_arch_elfdata(plan->arch);
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_ident[EI_OSABI] = ELFOSABI_NONE;
	eh.e_type = ET_CORE;
	eh.e_machine = plan->arch->e_machine;
	eh.e_version = EV_CURRENT;
	eh.e_flags = plan->arch->e_flags;
	eh.e_phoff = plan->phoff;
	eh.e_ehsize = sizeof(Elf64_Ehdr);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = xnum ? PN_XNUM : (Elf64_Half)phnum;
	if (xnum) {
		eh.e_shoff = plan->shoff;
		eh.e_shentsize = sizeof(Elf64_Shdr);
		eh.e_shnum = 1;
		eh.e_shstrndx = SHN_UNDEF;
	}
	ph[0] = (Elf64_Phdr){ .p_type = PT_NOTE,
			      .p_offset = plan->notes_off,
			      .p_filesz = plan->notes_len,
			      .p_align = CORE_NOTE_ALIGN };
	for (size_t i = 0; i < plan->nsegs; i++) {
		const struct c2c_segment *s = &plan->segs[i];

		ph[i + 1] = (Elf64_Phdr){ .p_type = PT_LOAD,
					  .p_flags = s->flags,
					  .p_offset = s->offset,
					  .p_vaddr = s->vaddr,
					  .p_filesz = s->filesz,
					  .p_memsz = s->memsz,
					  /* ELF_EXEC_PAGESIZE: the process's page size */
					  .p_align = plan->page_size };
	}
	r = put_headers(ctx, fd, path, plan, &eh, ph, phnum, xnum);
	free(ph);
	return r;
}

/* An unnamed file in dirfd; the hidden-name fallback for filesystems without O_TMPFILE. */
static int create_file(struct c2c_ctx *ctx, struct c2c_outfile *of, const char *path)
{
	char *tmpl;

	of->fd = openat(of->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (of->fd >= 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return c2c_fail(ctx, &C2C_LOC_FILE(of->dir), C2C_E_IO, "cannot create a file");
	of->tmp_name = c2c_asprintf(".%s.XXXXXX", of->final_name);
	tmpl = of->tmp_name ? c2c_asprintf("%s/%s", of->dir, of->tmp_name) : NULL;
	if (!tmpl)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	of->fd = mkostemp(tmpl, O_CLOEXEC);
	if (of->fd >= 0)
		memcpy(of->tmp_name, tmpl + strlen(of->dir) + 1, strlen(of->tmp_name));
	free(tmpl);
	if (of->fd < 0)
		return c2c_fail(ctx, &C2C_LOC_FILE(path), C2C_E_IO, "cannot create a file");
	return 0;
}

/* The member whose pages were placed in an unnamed core laid out for this process, or NULL. */
static const struct c2c_placemap *placed_for(const struct c2c_coreplan *plan)
{
	for (size_t i = 0; i < plan->npieces; i++) {
		const struct c2c_placemap *pm = plan->pieces[i].blob->map;

		if (pm && pm->core_fd >= 0 && pm->pid == plan->pid)
			return pm;
	}
	return NULL;
}

/*
 * Whether every byte placed in pm's core is exactly where this plan puts it,
 * and nowhere else: then that file becomes the core and those pieces are not
 * copied. Otherwise (the reader's layout and the plan disagree, which only a
 * hostile or unusual checkpoint causes) the core is written afresh and the
 * placed file only read.
 */
static bool placement_matches(const struct c2c_coreplan *plan, const struct c2c_placemap *pm)
{
	uint64_t matched = 0;

	/* Laid out around the member's bytes: its pinned segments are in place by construction. */
	if (pm->verbatim)
		return plan->verbatim == pm;

	for (size_t i = 0; i < plan->nsegs; i++) {
		const struct c2c_segment *s = &plan->segs[i];

		for (size_t k = 0; k < s->npieces; k++) {
			const struct c2c_piece *pc = &plan->pieces[s->piece0 + k];
			uint64_t off = pc->blob_off, dst = s->offset + pc->seg_off, len = pc->len;

			if (pc->blob->map != pm)
				continue;
			while (len) {
				bool in_core = false;
				uint64_t at = 0, n = c2c_placemap_locate(pm, off, len, &in_core, &at);

				if (!n || !in_core || at != dst)
					return false;
				matched += n;
				off += n;
				dst += n;
				len -= n;
			}
		}
	}
	return matched == pm->core_bytes;
}

static int cmp_range(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/*
 * A verbatim core holds the whole pages image, also the pages no segment
 * points at (copied elsewhere, or of mappings a core leaves out): punch
 * them out, so that the core takes no more disk than its data. Best effort.
 */
static void punch_unused(const struct c2c_coreplan *plan, int fd)
{
	const struct c2c_placemap *pm = plan->verbatim;
	uint64_t (*r)[2] = NULL, pos = pm->verbatim_off, end = pm->verbatim_off + pm->core_bytes;
	size_t n = 0;

	for (size_t i = 0; i < plan->nsegs; i++)
		n += plan->segs[i].pinned;
	r = malloc((n ? n : 1) * sizeof(*r));
	if (!r)
		return;
	n = 0;
	for (size_t i = 0; i < plan->nsegs; i++)
		if (plan->segs[i].pinned) {
			r[n][0] = plan->segs[i].offset;
			r[n++][1] = plan->segs[i].offset + plan->segs[i].filesz;
		}
	qsort(r, n, sizeof(*r), cmp_range);
	for (size_t i = 0; i <= n && pos < end; i++) {
		uint64_t stop = i < n ? r[i][0] : end;

		if (stop > end)
			stop = end;
		if (stop > pos)
			(void)fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)pos,
					(off_t)(stop - pos));
		if (i < n && r[i][1] > pos)
			pos = r[i][1];
	}
	free(r);
}

int c2c_elfwrite_core(struct c2c_ctx *ctx, int dirfd, const char *dir, const char *final_name,
		      const struct c2c_coreplan *plan, struct c2c_outfile *ret)
{
	struct c2c_outfile of = { dirfd, dir, -1, NULL, NULL, false, 0 };
	const struct c2c_placemap *placed = placed_for(plan);
	struct copier cp = { NULL, false, false, false };
	char *path = NULL;
	int r;

	of.final_name = c2c_strdup(final_name);
	path = c2c_asprintf("%s/%s", dir, final_name);
	if (!of.final_name || !path) {
		r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		goto out;
	}
	if (placed && !placement_matches(plan, placed)) {
		c2c_log(ctx, C2C_LOG_DEBUG,
			"%s: pages placed while reading do not match the plan: copied instead",
			final_name);
		placed = NULL;
	} else if (placed) {
		c2c_log(ctx, C2C_LOG_DEBUG, "%s: %llu bytes of pages already in place", final_name,
			(unsigned long long)placed->core_bytes);
	}
	if (placed && (of.fd = fcntl(placed->core_fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		r = c2c_fail(ctx, &C2C_LOC_FILE(path), C2C_E_IO, "cannot reopen the core file");
		goto out;
	}
	if (!placed) {
		r = create_file(ctx, &of, path);
		if (r < 0)
			goto out;
	}
	cp.unnamed = !of.tmp_name;
	/* A core holds every secret of the process: owner-only, whatever the umask. */
	if (fchmod(of.fd, 0600) < 0) {
		r = c2c_fail(ctx, &C2C_LOC_FILE(path), C2C_E_IO, "cannot set mode 0600");
		goto out;
	}
	r = write_headers(ctx, of.fd, path, plan);
	if (r < 0)
		goto out;
	r = write_all(ctx, of.fd, path, plan->notes, plan->notes_len, plan->notes_off);
	if (r < 0)
		goto out;
	/*
	 * One copy per run of pieces that continue each other in both files
	 * (adjacent pages of a pagemap run split across VMAs): 70 000 one-page
	 * VMAs become a handful of copy_file_range calls.
	 */
	{
		const struct c2c_blob *blob = NULL;
		uint64_t from = 0, to = 0, len = 0;

		for (size_t i = 0; r == 0 && i < plan->nsegs; i++) {
			const struct c2c_segment *s = &plan->segs[i];

			for (size_t k = 0; r == 0 && k < s->npieces; k++) {
				const struct c2c_piece *pc = &plan->pieces[s->piece0 + k];
				uint64_t dst = s->offset + pc->seg_off;

				if (placed && pc->blob->map == placed &&
				    (!placed->verbatim || s->pinned)) {
					progress(ctx, pc->len); /* already in place */
					continue;
				}
				if (len && pc->blob == blob && pc->blob_off == from + len &&
				    dst == to + len) {
					len += pc->len;
					continue;
				}
				if (len)
					r = copy_piece(ctx, blob, from, of.fd, path, to, len,
						       &cp);
				blob = pc->blob;
				from = pc->blob_off;
				to = dst;
				len = pc->len;
			}
		}
		if (r == 0 && len)
			r = copy_piece(ctx, blob, from, of.fd, path, to, len, &cp);
	}
	if (r == 0 && placed && placed->verbatim)
		punch_unused(plan, of.fd);
	if (r < 0)
		goto out;
	/* Untouched pages are holes: size the file without writing them. */
	if (ftruncate(of.fd, (off_t)plan->size) < 0) {
		r = c2c_fail(ctx, &C2C_LOC_FILE(path), C2C_E_IO, "cannot set file size");
		goto out;
	}
	of.size = plan->size;
	*ret = of;
	of = (struct c2c_outfile){ .fd = -1 };
	r = 0;
out:
	c2c_elfwrite_discard(&of);
	free(path);
	free(cp.buf);
	return r;
}

/* Link the unnamed file to `name`; fails with EEXIST if name exists (even a dangling symlink). */
static int link_fd(const struct c2c_outfile *of, const char *name)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", of->fd);
	return linkat(AT_FDCWD, proc, of->dirfd, name, AT_SYMLINK_FOLLOW);
}

int c2c_elfwrite_commit(struct c2c_ctx *ctx, struct c2c_outfile *of, bool force)
{
	char *path, tmp[64];
	int r;

	if (of->tmp_name) {
		/* RENAME_NOREPLACE: an existing core (or a planted symlink) is never replaced. */
		r = renameat2(of->dirfd, of->tmp_name, of->dirfd, of->final_name,
			      force ? 0 : RENAME_NOREPLACE);
	} else if (!force) {
		r = link_fd(of, of->final_name);
	} else {
		/* Link under a fresh hidden name, then rename over the old core atomically. */
		for (unsigned i = 0;; i++) {
			snprintf(tmp, sizeof(tmp), ".%s.%u.%u", of->final_name, (unsigned)getpid(), i);
			r = link_fd(of, tmp);
			if (r == 0 || errno != EEXIST || i > 100)
				break;
		}
		if (r == 0) {
			r = renameat(of->dirfd, tmp, of->dirfd, of->final_name);
			if (r < 0)
				unlinkat(of->dirfd, tmp, 0);
		}
	}
	if (r < 0) {
		int code = errno == EEXIST ? C2C_E_EXISTS : C2C_E_IO;

		path = c2c_asprintf("%s/%s", of->dir, of->final_name);
		r = c2c_fail(ctx, &C2C_LOC_FILE(path ? path : of->final_name), code,
			     code == C2C_E_EXISTS ? "exists; not overwritten (use --force)"
						  : "cannot give the finished core its name");
		free(path);
		return r;
	}
	free(of->tmp_name);
	of->tmp_name = NULL;
	of->committed = true;
	return 0;
}

void c2c_elfwrite_discard(struct c2c_outfile *of)
{
	if (of->committed && of->final_name)
		unlinkat(of->dirfd, of->final_name, 0);
	else if (of->tmp_name)
		unlinkat(of->dirfd, of->tmp_name, 0);
	c2c_elfwrite_release(of);
}

void c2c_elfwrite_release(struct c2c_outfile *of)
{
	if (of->fd >= 0)
		close(of->fd);
	of->fd = -1;
	free(of->tmp_name);
	free(of->final_name);
	of->tmp_name = of->final_name = NULL;
}
