/*
 * Stage 1: read a container checkpoint archive (any format and compression
 * libarchive detects) once into a member table (see source.h).
 */
#ifndef C2C_ARCSOURCE_H
#define C2C_ARCSOURCE_H

#include "source.h"

struct archive;

/*
 * Read every member of the opened archive `a`. display names it in messages.
 * infd is the archive's file when it is a regular file (uncompressed members
 * are then used in place), else -1. Page data of a compressed or streamed
 * archive is spooled to an unnamed file in spooldirfd (the output directory).
 */
int c2c_archive_read(struct c2c_ctx *ctx, struct archive *a, const char *display, int infd,
		     int spooldirfd, const char *spooldir, struct c2c_memtab **ret);

#endif /* C2C_ARCSOURCE_H */
