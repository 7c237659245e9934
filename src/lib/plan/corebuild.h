/*
 * Stage 5, core plan: everything one process's core file will contain,
 * decided before a byte is written: the note segment (built in memory, it is
 * small) and the PT_LOAD segments, each with the list of page-data pieces
 * that the writer streams from the pages images.
 */
#ifndef C2C_COREBUILD_H
#define C2C_COREBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "process.h"

/* A piece of page data: len bytes at blob_off in blob go to seg_off in the segment. */
struct c2c_piece {
	uint64_t seg_off;
	uint64_t len;
	const struct c2c_blob *blob;
	uint64_t blob_off;
};

struct c2c_segment {
	uint64_t vaddr, memsz, filesz;
	uint32_t flags; /* PF_R | PF_W | PF_X */
	size_t piece0, npieces;
	uint64_t offset; /* in the core file (c2c_corebuild_plan lays the file out) */
	uint64_t region; /* start of its VMA */
	bool has_region; /* the VMA has a region in the file (c2c_layout_has_region) */
	bool pinned;	 /* offset fixed: the data is already there (verbatim layout) */
};

struct c2c_coreplan {
	uint32_t pid;
	const struct c2c_arch *arch; /* e_machine */
	uint64_t page_size;	     /* the process's: alignment of the file's data */
	uint8_t *notes;
	size_t notes_len, notes_cap;
	struct c2c_segment *segs;
	size_t nsegs, segs_cap;
	struct c2c_piece *pieces;
	size_t npieces, pieces_cap;
	uint64_t data_bytes; /* page data copied from the images */
	uint64_t file_bytes; /* file data copied from the --root directory */
	uint64_t lazy_pages; /* pages left out because no image has them */
	uint64_t missing_pages; /* all pages left out (lazy and unsaved file pages) */

	/* Laid out around this member's verbatim bytes (C2C_LAYOUT_VERBATIM_START), or NULL. */
	const struct c2c_placemap *verbatim;

	/* File layout: data first, then the program headers, notes, section header 0. */
	uint64_t phoff, notes_off, shoff; /* shoff 0 unless PN_XNUM */
	uint64_t size;
};

/*
 * Core file layout. The ELF header is at 0 and page data starts at
 * c2c_layout_data_start(); the program header table, the notes and (PN_XNUM)
 * section header 0 follow the data. ELF places no order on these (gdb,
 * elfutils, lldb and readelf find them by e_phoff and p_offset), and data
 * first lets a streamed archive write each page straight to its final
 * offset before the process tree, and so the notes, are known.
 *
 * Data: every VMA that can hold data gets a region as large as the VMA, in
 * address order, and its segments sit at region + (p_vaddr - VMA start):
 * adjacent VMAs stay adjacent in the file as in a kernel core (elfutils
 * reads across them only then). Which VMAs get a region depends only on
 * mm-N.img, pagemap-N.img and the options, never on pages or files, so that
 * convert.c can place an archive's pages while reading it; parts no segment
 * covers are holes.
 *
 * Every offset is a multiple of the process's page size (the kernel's
 * ELF_EXEC_PAGESIZE, p_align): p_offset = p_vaddr mod page size.
 *
 * The exception is the verbatim layout (C2C_LAYOUT_VERBATIM_START): when an
 * archive's pages image came before its mm and pagemap, the core is laid
 * out around that image's bytes instead (layout() in corebuild.c).
 */
static inline uint64_t c2c_layout_data_start(uint64_t page_size)
{
	return page_size; /* the first page holds the ELF header */
}

/*
 * Where data of `size` bytes goes at or after pos. Big regions start 64 KiB
 * aligned: ext4 copies into aligned offsets with ~1.5x less kernel CPU
 * (tools/bench.py); the gap is a hole.
 */
static inline uint64_t c2c_layout_align(uint64_t pos, uint64_t size, uint64_t page_size)
{
	uint64_t a = size >= (1ULL << 20) && page_size < (64ULL << 10) ? (64ULL << 10) : page_size;

	return (pos + a - 1) & ~(a - 1);
}

/*
 * Where a pages image that came before its mm and pagemap images (an
 * archive in pages-first member order) is written, verbatim: 64 KiB, the
 * largest ELF_EXEC_PAGESIZE (arm64, ppc64), so every page of it is page
 * aligned whatever the process's page size turns out to be. Such a core
 * keeps those bytes where they are: its segments point into them, and
 * everything else is laid out after them (layout() in corebuild.c).
 */
#define C2C_LAYOUT_VERBATIM_START (64ULL << 10)

struct c2c_coreplan_opts {
	unsigned int flags;		  /* enum c2c_flags */
	enum c2c_file_pages file_pages; /* which file pages to take from the root */
	struct c2c_checkpoint *ck;	  /* for --root file access, or NULL */
};

/*
 * Whether the core of v's process takes v's pages from the process's own
 * pagemap (private mappings the kernel would dump; not vsyscall).
 */
bool c2c_layout_private_pages(const struct c2c_vma *v, unsigned int flags);

/*
 * Whether VMA v gets a region in the core: own_pages when the process's own
 * pages image holds pages of it (private mappings only), file_pages when
 * file pages may come from --root.
 */
bool c2c_layout_has_region(const struct c2c_vma *v, bool own_pages, unsigned int flags,
			   bool file_pages);

/* Plan the core of process p (which must have memory: not a zombie). */
int c2c_corebuild_plan(struct c2c_ctx *ctx, const struct c2c_process *p,
		       const struct c2c_coreplan_opts *opts, struct c2c_coreplan *plan);

void c2c_coreplan_release(struct c2c_coreplan *plan);

/*
 * Append an ELF note (name padded to 4, descriptor padded to 4, n_descsz the
 * unpadded length; elf-core-format §1.4).
 */
int c2c_corebuild_add_note(struct c2c_ctx *ctx, struct c2c_coreplan *plan, const char *name,
			   uint32_t type, const void *desc, size_t len);

#endif /* C2C_COREBUILD_H */
