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

#endif /* C2C_API_INTERNAL_H */
