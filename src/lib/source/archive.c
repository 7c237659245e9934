/*
 * Stage 1: the one place that sets libarchive up (container-archives.md §2):
 * an archive from a file descriptor, from memory or from a blob of the
 * checkpoint, and the regular files of a tar inside a checkpoint
 * (rootfs-diff.tar), for the model to index. arcsource.c reads a whole
 * checkpoint archive from what c2c_archive_open opened.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arcsource.h"
#include "util.h"

/* Block size for reading a file descriptor (pipes deliver less; libarchive copes). */
#define FD_BLOCK (1 << 20)

/* libarchive's read callback over a blob: a short or failing read ends the archive. */
ssize_t c2c_blob_read_cb(struct archive *a, void *data, const void **out)
{
	struct c2c_blob_reader *br = data;
	uint64_t left = br->blob->size - br->pos;
	size_t n = left < sizeof(br->buf) ? (size_t)left : sizeof(br->buf);
	int r = 0;

	(void)a;
	if (n) {
		/* libarchive reports the damage; the blob's own message is not wanted. */
		c2c_try_begin(br->ctx);
		r = c2c_blob_pread(br->ctx, br->blob, br->buf, n, br->pos);
		c2c_try_end(br->ctx);
	}
	if (r < 0)
		return -1;
	br->pos += n;
	*out = br->buf;
	return (la_ssize_t)n;
}

int c2c_archive_open(struct c2c_ctx *ctx, const struct c2c_archive_in *in, const char *fail,
		     bool optional, struct archive **ret)
{
	struct archive *a = archive_read_new();
	int r;

	if (!a)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	/* Compression is detected from the content, whatever the file is called. */
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (in->fd >= 0)
		r = archive_read_open_fd(a, in->fd, FD_BLOCK);
	else if (in->buf)
		r = archive_read_open_memory(a, in->buf, in->len);
	else
		r = archive_read_open(a, in->reader, NULL, c2c_blob_read_cb, NULL);
	if (r == ARCHIVE_OK) {
		*ret = a;
		return 0;
	}
	if (optional)
		c2c_warn(ctx, &C2C_LOC_FILE(in->display), "%s: %s", fail, archive_error_string(a));
	else
		r = c2c_fail(ctx, &C2C_LOC_FILE(in->display), C2C_E_ARCHIVE, "%s: %s", fail,
			     archive_error_string(a));
	archive_read_free(a);
	return optional ? 1 : r;
}

void c2c_archive_close(struct archive *a)
{
	if (a)
		archive_read_free(a);
}

int c2c_archive_next_file(struct c2c_ctx *ctx, struct archive *a, const char *display,
			  char **path, uint64_t *size)
{
	struct archive_entry *e;
	int h;

	while ((h = archive_read_next_header(a, &e)) >= ARCHIVE_WARN && h != ARCHIVE_EOF) {
		const char *raw = archive_entry_pathname(e);
		char *rel;

		if (!raw || archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) ||
		    archive_entry_sparse_count(e))
			continue;
		/* Names are paths in the container's root, with or without a leading "/". */
		while (*raw == '/')
			raw++;
		rel = c2c_path_normalize(raw);
		if (!rel)
			continue; /* ".." components: no recorded path has them */
		*path = c2c_asprintf("/%s", rel);
		free(rel);
		if (!*path)
			return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		*size = (uint64_t)archive_entry_size(e);
		return 1;
	}
	if (h < ARCHIVE_WARN)
		c2c_warn(ctx, &C2C_LOC_FILE(display), "damaged, read up to the damage: %s",
			 archive_error_string(a));
	return 0;
}

int c2c_archive_file_data(struct archive *a, int dirfd, uint64_t size, uint64_t *off, int *fd)
{
	uint8_t buf[1 << 16];
	la_ssize_t k;

	*fd = -1;
	if (archive_filter_count(a) == 1) {
		*off = (uint64_t)archive_filter_bytes(a, -1); /* contiguous, in place */
		return 0;
	}
	/* Compressed: keep the member's bytes in an unnamed spool file. */
	*fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	while (*fd >= 0 && (k = archive_read_data(a, buf, sizeof(buf))) > 0)
		if (write(*fd, buf, (size_t)k) != k)
			break;
	if (*fd >= 0 && lseek(*fd, 0, SEEK_END) == (off_t)size)
		return 0;
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	return -1;
}
