/*
 * Stage 1, input source: reading a container image's layers (--image): a
 * layer is a tar, plain, gzip or zstd (libarchive tells them by content), a
 * blob of an OCI layout, a member of an oci- or docker-archive, or a rootfs
 * directory. Indexing reads headers only; c2c_oci_extract copies the data of
 * the files asked for. Layers of a layout are checked against their digest.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arcsource.h"
#include "oci.h"
#include "sha256.h"
#include "util.h"


/* ------------------------------------------------------------ reading layers */

/* A tar that is a member of the image tar: libarchive reads one through the other. */
struct nested {
	struct archive *outer;
	struct c2c_sha256 *sha; /* of the bytes read, or NULL */
};

/* A layer file, hashed as it is read when its digest is known. */
struct filerd {
	int fd;
	struct c2c_sha256 *sha;
	uint8_t buf[1 << 16];
};

static la_ssize_t file_read(struct archive *a, void *data, const void **out)
{
	struct filerd *fr = data;
	ssize_t k;

	(void)a;
	do
		k = read(fr->fd, fr->buf, sizeof(fr->buf));
	while (k < 0 && errno == EINTR);
	if (k > 0 && fr->sha)
		c2c_sha256_update(fr->sha, fr->buf, (size_t)k);
	*out = fr->buf;
	return k;
}

static la_ssize_t nested_read(struct archive *a, void *data, const void **buf)
{
	struct nested *n = data;
	la_ssize_t k;
	size_t len;
	la_int64_t off;
	int r;

	(void)a;
	r = archive_read_data_block(n->outer, buf, &len, &off);
	if (r == ARCHIVE_EOF)
		return 0;
	if (r < ARCHIVE_WARN)
		return -1;
	k = (la_ssize_t)len;
	if (n->sha && len)
		c2c_sha256_update(n->sha, *buf, len);
	return k;
}

/* An open layer: the tar reader, and what it reads from. */
struct layer_rd {
	struct archive *a, *outer;
	struct nested nested;
	struct c2c_blob_reader *br;
	struct filerd *fr;
	struct c2c_sha256 *sha; /* checking the layer's digest, or NULL */
};

static void layer_close(struct layer_rd *rd)
{
	if (rd->a)
		archive_read_free(rd->a);
	if (rd->outer)
		archive_read_free(rd->outer);
	if (rd->fr && rd->fr->fd >= 0)
		close(rd->fr->fd);
	free(rd->fr);
	free(rd->sha);
	free(rd->br);
	*rd = (struct layer_rd){ 0 };
}

struct archive *c2c_oci_tar_reader(void)
{
	struct archive *a = archive_read_new();

	if (a) {
		/* gzip, zstd, ... are told by their content (OCI media types say the same). */
		archive_read_support_filter_all(a);
		archive_read_support_format_tar(a);
	}
	return a;
}

/* Open the outer image tar and move to member `name`; 1 if it has none. */
int c2c_oci_outer_seek(struct c2c_ctx *ctx, const char *image, const char *name,
		      struct archive **ret)
{
	struct archive *a = c2c_oci_tar_reader();
	struct archive_entry *e;
	int r;

	if (!a)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	if (archive_read_open_filename(a, image, 1 << 16) != ARCHIVE_OK) {
		r = c2c_fail(ctx, &C2C_LOC_FILE(image), C2C_E_ARCHIVE, "cannot read the image: %s",
			     archive_error_string(a));
		goto out;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		const char *m = archive_entry_pathname(e);

		while (m && m[0] == '.' && m[1] == '/')
			m += 2;
		if (m && !strcmp(m, name)) {
			*ret = a;
			return 0;
		}
	}
	if (r != ARCHIVE_EOF) {
		r = c2c_fail(ctx, &C2C_LOC_AT(image, (uint64_t)archive_filter_bytes(a, 0)),
			     C2C_E_ARCHIVE, "cannot read the image: %s", archive_error_string(a));
		goto out;
	}
	r = 1;
out:
	archive_read_free(a);
	return r;
}

static int layer_damaged(struct c2c_ctx *ctx, const struct c2c_oci_layer *l, struct archive *a,
			 const char *member);

static int layer_open(struct c2c_ctx *ctx, const struct c2c_oci *oci,
		      const struct c2c_oci_layer *l, bool hash, struct layer_rd *rd)
{
	int r = 0, ar = ARCHIVE_OK;

	*rd = (struct layer_rd){ 0 };
	rd->a = c2c_oci_tar_reader();
	if (rd->a && hash && l->digest && (rd->sha = malloc(sizeof(*rd->sha))))
		c2c_sha256_init(rd->sha);
	if (!rd->a || (hash && l->digest && !rd->sha)) {
		layer_close(rd);
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	}
	switch (l->kind) {
	case C2C_OCI_LAYER_FILE:
		if (access(l->name, F_OK) < 0) {
			r = c2c_fail(ctx, &C2C_LOC_FILE(l->display),
				     errno == ENOENT ? C2C_E_MISSING : C2C_E_IO,
				     "layer blob is missing%s%s", errno == ENOENT ? ": " : "",
				     errno == ENOENT ? strerror(errno) : "");
			break;
		}
		rd->fr = malloc(sizeof(*rd->fr));
		if (!rd->fr) {
			r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
			break;
		}
		rd->fr->sha = rd->sha;
		rd->fr->fd = open(l->name, O_RDONLY | O_CLOEXEC);
		if (rd->fr->fd < 0) {
			r = c2c_fail(ctx, &C2C_LOC_FILE(l->display), C2C_E_IO, "cannot open the layer");
			break;
		}
		ar = archive_read_open(rd->a, rd->fr, NULL, file_read, NULL);
		break;
	case C2C_OCI_LAYER_MEMBER:
		r = c2c_oci_outer_seek(ctx, oci->path, l->name, &rd->outer);
		if (r == 1)
			r = c2c_fail(ctx, &C2C_LOC_FILE(l->display), C2C_E_MISSING,
				     "layer is not in the image tar");
		if (r < 0)
			break;
		rd->nested.outer = rd->outer;
		rd->nested.sha = rd->sha;
		ar = archive_read_open(rd->a, &rd->nested, NULL, nested_read, NULL);
		break;
	case C2C_OCI_LAYER_BLOB:
		rd->br = malloc(sizeof(*rd->br));
		if (!rd->br) {
			r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
			break;
		}
		rd->br->ctx = ctx;
		rd->br->blob = &l->blob;
		rd->br->pos = 0;
		ar = archive_read_open(rd->a, rd->br, NULL, c2c_blob_read_cb, NULL);
		break;
	case C2C_OCI_LAYER_DIR:
		break;
	}
	if (r == 0 && ar < ARCHIVE_WARN)
		r = layer_damaged(ctx, l, rd->a, NULL);
	if (r < 0)
		layer_close(rd);
	return r;
}

/* A failure of libarchive in the middle of a layer: where the bytes stopped. */
static int layer_damaged(struct c2c_ctx *ctx, const struct c2c_oci_layer *l, struct archive *a,
			 const char *member)
{
	struct c2c_loc loc = { l->display, member, (uint64_t)archive_filter_bytes(a, -1),
			       C2C_NO_RECORD };

	return c2c_fail(ctx, &loc, C2C_E_ARCHIVE, "cannot read the layer: %s",
			archive_error_string(a) ? archive_error_string(a) : "damaged");
}

static enum c2c_oci_type entry_type(struct archive_entry *e)
{
	if (archive_entry_hardlink(e))
		return C2C_OCI_HARDLINK;
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
		return C2C_OCI_REG;
	case AE_IFDIR:
		return C2C_OCI_DIR;
	case AE_IFLNK:
		return C2C_OCI_LNK;
	default:
		return C2C_OCI_OTHER;
	}
}

/*
 * After the end of the tar: the bytes after it (padding) into the hash too,
 * then the whole blob against its digest (image-spec descriptor.md).
 */
static int layer_verify(struct c2c_ctx *ctx, const struct c2c_oci_layer *l, struct layer_rd *rd)
{
	char hex[65];

	if (!rd->sha)
		return 0;
	if (rd->fr) {
		const void *p;

		while (file_read(rd->a, rd->fr, &p) > 0)
			;
	} else if (rd->outer) {
		const void *p;

		while (nested_read(rd->a, &rd->nested, &p) > 0)
			;
	}
	c2c_sha256_hex(rd->sha, hex);
	if (strcmp(hex, l->digest + 7))
		return c2c_fail(ctx, &C2C_LOC_FILE(l->display), C2C_E_INCONSISTENT,
				"content does not match its digest (its sha256 is %s)", hex);
	return 0;
}

/* Index every member of a tar layer (headers only: libarchive skips the data). */
int c2c_oci_layer_index(struct c2c_ctx *ctx, struct c2c_oci *oci, struct c2c_oci_layer *l)
{
	struct archive_entry *e;
	struct layer_rd rd;
	int r, ar;

	r = layer_open(ctx, oci, l, true, &rd);
	if (r < 0)
		return r;
	while ((ar = archive_read_next_header(rd.a, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN) {
		const char *name = archive_entry_pathname(e);
		enum c2c_oci_type t = entry_type(e);
		la_int64_t size = archive_entry_size(e);

		if ((uint64_t)archive_filter_bytes(rd.a, 0) > C2C_MAX_OCI_LAYER) {
			struct c2c_loc loc = { l->display, name, (uint64_t)archive_filter_bytes(rd.a, -1),
					       C2C_NO_RECORD };

			r = c2c_fail(ctx, &loc, C2C_E_LIMIT,
				     "layer expands to more than %llu bytes (a compression bomb?)",
				     (unsigned long long)C2C_MAX_OCI_LAYER);
			goto out;
		}
		if (!name)
			continue;
		r = c2c_oci_layer_add(ctx, oci, l, name, t,
				      t == C2C_OCI_HARDLINK ? archive_entry_hardlink(e)
							    : archive_entry_symlink(e),
				      size > 0 ? (uint64_t)size : 0,
				      (uint32_t)archive_entry_perm(e),
				      (uint64_t)archive_read_header_position(rd.a));
		if (r < 0)
			goto out;
	}
	if (ar != ARCHIVE_EOF) {
		r = layer_damaged(ctx, l, rd.a, NULL);
		goto out;
	}
	r = layer_verify(ctx, l, &rd);
	if (r < 0)
		goto out;
	c2c_oci_layer_finish(l);
out:
	layer_close(&rd);
	return r;
}

/* Copy the current member's data into fd; its size must be `size`. */
static int copy_member(struct c2c_ctx *ctx, const struct c2c_oci_layer *l, struct archive *a,
		       const struct c2c_oci_entry *e, int fd)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	struct c2c_loc loc = { l->display, e->path + 1, e->hdr_off, C2C_NO_RECORD };
	int r;

	if (e->size > C2C_MAX_OCI_FILE)
		return c2c_fail(ctx, &loc,
				C2C_E_LIMIT, "member of %llu bytes, more than the %llu allowed",
				(unsigned long long)e->size, (unsigned long long)C2C_MAX_OCI_FILE);
	while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK ||
	       r == ARCHIVE_WARN) {
		uint64_t end;

		if (off < 0 || c2c_add_overflow((uint64_t)off, len, &end) || end > e->size)
			return c2c_fail(ctx, &loc,
					C2C_E_INCONSISTENT, "member data beyond its size");
		for (size_t w = 0; w < len;) {
			ssize_t k = pwrite(fd, (const char *)buf + w, len - w, off + (off_t)w);

			if (k <= 0)
				return c2c_fail(ctx, NULL, C2C_E_IO, "cannot write '%s'", e->path);
			w += (size_t)k;
		}
	}
	if (r != ARCHIVE_EOF)
		return layer_damaged(ctx, l, a, e->path + 1);
	/* Sparse members end in a hole: the size is the header's. */
	if (ftruncate(fd, (off_t)e->size) < 0)
		return c2c_fail(ctx, NULL, C2C_E_IO, "cannot write '%s'", e->path);
	return 0;
}

/* Copy a file of an unpacked rootfs into fd. */
static int copy_dir_file(struct c2c_ctx *ctx, const struct c2c_oci_layer *l, const char *path,
			 int fd)
{
	struct c2c_blob b = C2C_BLOB_INIT;
	uint8_t buf[1 << 16];
	int r = c2c_root_open_file(ctx, l->rootfd, l->name, path, &b);

	if (r == 1)
		return c2c_fail(ctx, &C2C_LOC_FILE(l->name), C2C_E_MISSING, "'%s' vanished", path);
	for (uint64_t off = 0; r == 0 && off < b.size;) {
		size_t n = b.size - off < sizeof(buf) ? (size_t)(b.size - off) : sizeof(buf);

		r = c2c_blob_pread(ctx, &b, buf, n, off);
		if (r == 0 && pwrite(fd, buf, n, (off_t)off) != (ssize_t)n)
			r = c2c_fail(ctx, NULL, C2C_E_IO, "cannot write '%s'", path);
		off += n;
	}
	c2c_blob_release(&b);
	return r;
}

int c2c_oci_extract(struct c2c_ctx *ctx, const struct c2c_oci *oci, size_t layer,
		    struct c2c_oci_want *want, size_t nwant)
{
	const struct c2c_oci_layer *l = &oci->layers[layer];
	struct archive_entry *ae;
	struct layer_rd rd;
	size_t left = 0;
	int r = 0, ar;

	if (l->kind == C2C_OCI_LAYER_DIR) {
		for (size_t i = 0; r == 0 && i < nwant; i++)
			if (!want[i].done && (r = copy_dir_file(ctx, l, want[i].path, want[i].fd)) == 0)
				want[i].done = true;
		return r;
	}
	for (size_t i = 0; i < nwant; i++)
		left += !want[i].done;
	if (!left)
		return 0;
	r = layer_open(ctx, oci, l, false, &rd);
	if (r < 0)
		return r;
	while (left && ((ar = archive_read_next_header(rd.a, &ae)) == ARCHIVE_OK ||
			ar == ARCHIVE_WARN)) {
		uint64_t pos = (uint64_t)archive_read_header_position(rd.a);

		/* A member is known by where its header is: later duplicates are other members. */
		for (size_t i = 0; i < nwant; i++) {
			if (want[i].done || want[i].e->hdr_off != pos)
				continue;
			r = copy_member(ctx, l, rd.a, want[i].e, want[i].fd);
			if (r < 0)
				goto out;
			want[i].done = true;
			left--;
			break;
		}
	}
	if (left && ar != ARCHIVE_EOF) {
		r = layer_damaged(ctx, l, rd.a, NULL);
		goto out;
	}
	for (size_t i = 0; i < nwant; i++)
		if (!want[i].done) {
			struct c2c_loc loc = { l->display, want[i].e->path + 1, want[i].e->hdr_off,
					       C2C_NO_RECORD };

			r = c2c_fail(ctx, &loc,
				     C2C_E_INCONSISTENT, "member not found on the second read");
			goto out;
		}
out:
	layer_close(&rd);
	return r;
}

