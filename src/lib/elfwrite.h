/*
 * Stage 5, ELF writer: lays out and writes one core file from a core plan.
 * The file is created as a temporary in the output directory and only renamed
 * to its final name by c2c_elfwrite_commit(), so a failure never leaves a
 * partial core behind.
 */
#ifndef C2C_ELFWRITE_H
#define C2C_ELFWRITE_H

#include <stdbool.h>

#include "corebuild.h"

struct c2c_outfile {
	int dirfd;	  /* output directory (borrowed) */
	const char *dir;  /* its name, for messages (borrowed) */
	char *tmp_name;	  /* temporary name inside dir, or NULL once committed */
	char *final_name; /* "core.<pid>" */
	bool committed;
};

/* Write the core of `plan` into a new temporary file in dirfd. */
int c2c_elfwrite_core(struct c2c_ctx *ctx, int dirfd, const char *dir, const char *final_name,
		      const struct c2c_coreplan *plan, struct c2c_outfile *ret);

/* Rename the temporary to its final name (refusing to replace unless force). */
int c2c_elfwrite_commit(struct c2c_ctx *ctx, struct c2c_outfile *of, bool force);

/* Remove the temporary (or, if committed, the final file) and free names. */
void c2c_elfwrite_discard(struct c2c_outfile *of);

/* Free names only (keep the committed file). */
void c2c_elfwrite_release(struct c2c_outfile *of);

#endif /* C2C_ELFWRITE_H */
