/*
 * Stage 1: read a container checkpoint archive (any format and compression
 * libarchive detects) once into a member table (see source.h).
 */
#ifndef C2C_ARCSOURCE_H
#define C2C_ARCSOURCE_H

#include "source.h"

struct archive;

/*
 * Decides, while an archive is read, where page data goes (convert.c): a
 * member's bytes can be written straight into the core file they belong to.
 */
struct c2c_placer {
	/*
	 * Member tab->v[i] was just added (metadata in memory, page data
	 * spooled or placed). The placer may place page data spooled before
	 * the images describing it came (it then updates that member).
	 * Returns 0 or a negative error.
	 */
	int (*added)(void *data, struct c2c_memtab *tab, size_t i);
	/*
	 * The data of page member `name` comes next: 0 with *ret set (runs by
	 * member offset, the last one open-ended; runs not in_core get their
	 * spool offsets from the reader), 0 with *ret NULL to spool it whole,
	 * or a negative error.
	 */
	int (*place)(void *data, const struct c2c_memtab *tab, const char *name,
		     struct c2c_placemap **ret);
	void *data;
};

/*
 * Read every member of the opened archive `a`. display names it in messages.
 * infd is the archive's file when it is a regular file (uncompressed members
 * are then used in place), else -1. Page data of a compressed or streamed
 * archive is spooled to an unnamed file in spooldirfd (the output directory),
 * or, where placer (may be NULL) says so, written into unnamed core files.
 */
int c2c_archive_read(struct c2c_ctx *ctx, struct archive *a, const char *display, int infd,
		     int spooldirfd, const char *spooldir, const struct c2c_placer *placer,
		     struct c2c_memtab **ret);

#endif /* C2C_ARCSOURCE_H */
