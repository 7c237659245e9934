/*
 * Stage 6, ELF writer: lays out and writes one core file from a core plan.
 * The file is created without a name in the output directory (O_TMPFILE) and
 * only linked to its final name by c2c_elfwrite_commit(): a failure, a signal
 * or a crash never leaves a partial core behind, and no handler is needed.
 * Where the filesystem has no O_TMPFILE, a hidden temporary name is used and
 * renamed at commit.
 */
#ifndef C2C_ELFWRITE_H
#define C2C_ELFWRITE_H

#include <stdbool.h>

#include "corebuild.h"

struct c2c_outfile {
	int dirfd;	  /* output directory (borrowed) */
	const char *dir;  /* its name, for messages (borrowed) */
	int fd;		  /* the unnamed file until committed, or -1 */
	char *tmp_name;	  /* fallback without O_TMPFILE: hidden temporary name, or NULL */
	char *final_name; /* "core.<pid>" */
	bool committed;
	uint64_t size;	  /* bytes (apparent size) */
};

/* Write the core of `plan` into a new temporary file in dirfd. */
int c2c_elfwrite_core(struct c2c_ctx *ctx, int dirfd, const char *dir, const char *final_name,
		      const struct c2c_coreplan *plan, struct c2c_outfile *ret);

/* Give the core its final name (refusing to replace one unless force). */
int c2c_elfwrite_commit(struct c2c_ctx *ctx, struct c2c_outfile *of, bool force);

/* Drop the unnamed file (or remove the committed one) and free names. */
void c2c_elfwrite_discard(struct c2c_outfile *of);

/* Free names only (keep the committed file). */
void c2c_elfwrite_release(struct c2c_outfile *of);

#endif /* C2C_ELFWRITE_H */
