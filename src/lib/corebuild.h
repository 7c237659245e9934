/*
 * Stage 4, core plan: everything one process's core file will contain,
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
};

struct c2c_coreplan {
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
};

struct c2c_coreplan_opts {
	unsigned int flags;		  /* enum c2c_flags */
	enum c2c_file_pages file_pages; /* which file pages to take from the root */
	struct c2c_checkpoint *ck;	  /* for --root file access, or NULL */
};

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

/* arch-x86_64.c: x86_64 note descriptors (sizes per include/linux/elfcore.h). */
#define C2C_X86_PRSTATUS_SIZE 336
#define C2C_X86_PRPSINFO_SIZE 136
#define C2C_X86_SIGINFO_SIZE 128
#define C2C_X86_FPREGSET_SIZE 512
#define C2C_X86_PSARGS_MAX 80 /* ELF_PRARGSZ */

void c2c_x86_prstatus(const struct c2c_process *p, const struct c2c_thread *t,
		      uint8_t out[C2C_X86_PRSTATUS_SIZE]);
void c2c_x86_prpsinfo(const struct c2c_process *p, const char *fname, const char *psargs,
		      uint8_t out[C2C_X86_PRPSINFO_SIZE]);
/* NT_X86_XSTATE descriptor into out (C2C_XSAVE_MAX bytes); returns its size. */
size_t c2c_x86_xstate(const struct c2c_thread *t, uint8_t *out);

#endif /* C2C_COREBUILD_H */
