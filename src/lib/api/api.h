/*
 * Stage 8, api: functions the public operations share (not exported).
 */
#ifndef C2C_API_INTERNAL_H
#define C2C_API_INTERNAL_H

#include "source.h"

/*
 * Open `input` (directory, extracted archive or archive) for reading only,
 * with a fresh report: an archive's page data is spooled, unnamed, in
 * $TMPDIR (or /tmp), whose directory fd is returned in *ret_spoolfd (close
 * it after freeing the source). Returns 0 or a negative error.
 */
int c2c_input_open_tmp(struct c2c_ctx *ctx, const char *input, int *ret_spoolfd,
		       struct c2c_source **ret);

struct c2c_placer;

/*
 * As c2c_input_open_tmp for an archive file `input`, read with placer (its
 * stream and chunk callbacks take page members as they are decompressed,
 * arcsource.h). Returns 0 or a negative error.
 */
int c2c_input_open_streamed(struct c2c_ctx *ctx, const char *input, const struct c2c_placer *placer,
			    int *ret_spoolfd, struct c2c_source **ret);

struct c2c_checkpoint;

/* sysroot.c: the sysroot written for a conversion (--image, --sysroot-out). */
struct c2c_sysroot {
	char *path; /* where it is, once renamed into place, or NULL */
};

/*
 * Write the sysroot of the selected processes of ck: the files they map
 * and their executables, from --image (or --root), with the checkpoint's
 * rootfs-diff.tar and deleted.files on top, into --sysroot-out or
 * OUTDIR/sysroot; then point ck's root at it (ck->rootfd, ck->root) so the
 * conversion reads file pages from there. Returns 0 or a negative error
 * (nothing of the sysroot is left then).
 */
int c2c_sysroot_build(struct c2c_ctx *ctx, struct c2c_checkpoint *ck, struct c2c_source *src,
		      const char *outdir, struct c2c_sysroot *sr);

/* End of the conversion with result r: a failed one removes the sysroot. */
void c2c_sysroot_end(struct c2c_sysroot *sr, int r);

#endif /* C2C_API_INTERNAL_H */
