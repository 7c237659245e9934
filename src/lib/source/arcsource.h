/*
 * Stage 1: read a container checkpoint archive (any format and compression
 * libarchive detects) once into a member table (see source.h).
 */
#ifndef C2C_ARCSOURCE_H
#define C2C_ARCSOURCE_H

#include "source.h"

struct archive;

/* Feeds a blob to libarchive chunk by chunk (c2c_archive_in.reader). */
struct c2c_blob_reader {
	struct c2c_ctx *ctx;
	const struct c2c_blob *blob;
	uint64_t pos;
	uint8_t buf[1 << 16];
};

/* libarchive's read callback over a c2c_blob_reader (data): a short or failing read ends it. */
ssize_t c2c_blob_read_cb(struct archive *a, void *data, const void **out); /* la_ssize_t */

/* Where an archive is read from: the first of fd, buf and reader that is set. */
struct c2c_archive_in {
	const char *display; /* names the archive in messages */
	int fd;		     /* an open file (a pipe will do), or -1 */
	const void *buf;     /* len bytes in memory, or NULL */
	size_t len;
	/* A blob (a tar inside the checkpoint); the reader must outlive the archive. */
	struct c2c_blob_reader *reader;
};

/*
 * Set up libarchive for `in` (the tar format, in any compression it detects
 * from the content, whatever the name) and open it: 0 with *ret set (for
 * c2c_archive_read or c2c_archive_next_file; c2c_archive_close it), or
 * C2C_E_NOMEM. When it is not readable: C2C_E_ARCHIVE, recorded at
 * in->display as "<fail>: <libarchive's reason>", or, when optional, 1 and
 * the same text as a warning.
 */
int c2c_archive_open(struct c2c_ctx *ctx, const struct c2c_archive_in *in, const char *fail,
		     bool optional, struct archive **ret);

/* Free an archive of c2c_archive_open. Accepts NULL. */
void c2c_archive_close(struct archive *a);

/*
 * The next regular file of a tar that is itself a file of the checkpoint
 * (rootfs-diff.tar), skipping links, sparse files and other kinds: 1 with
 * *path (the member's name as an absolute, normalized path, "/usr/bin/x"; a
 * new string, the caller's) and *size; 0 at the end of the archive, or at
 * damage (a warning at display says so); or C2C_E_NOMEM. Members whose
 * names have ".." components are skipped too.
 */
int c2c_archive_next_file(struct c2c_ctx *ctx, struct archive *a, const char *display,
			  char **path, uint64_t *size);

/*
 * Where the bytes of the current file (of c2c_archive_next_file) are: 0 with
 * *fd -1 and *off their offset in the archive (an uncompressed one holds
 * them in place), or 0 with *fd an unnamed file in dirfd holding the size
 * bytes (compressed); -1 when they cannot be read (nothing recorded).
 */
int c2c_archive_file_data(struct archive *a, int dirfd, uint64_t size, uint64_t *off, int *fd);

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
	/*
	 * Optional (grep), asked before place: 1 to take the data of page member
	 * `name` as it is decompressed instead of keeping it anywhere, 0 to
	 * place or spool it, or a negative error. A taken member is added with
	 * its size and no data (c2c_member.streamed).
	 */
	int (*stream)(void *data, const struct c2c_memtab *tab, const char *name);
	/*
	 * The next len bytes of the member taken by stream, in order; buf stays
	 * intact until the next call returns (two buffers alternate). len 0
	 * ends the member, also when its read failed. Returns 0 or a negative
	 * error (the read stops).
	 */
	int (*chunk)(void *data, const uint8_t *buf, size_t len);
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
