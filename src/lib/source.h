/*
 * Stage 1, input source: where image files come from. Today a CRIU image
 * directory (and its parent/ chain of pre-dumps); archives and memory
 * sources plug in here without the later stages changing.
 *
 * Metadata images are loaded whole (they are small and capped); pages images
 * are only opened, and read by offset while the core is written.
 */
#ifndef C2C_SOURCE_H
#define C2C_SOURCE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* One image file: either loaded into memory (data) or open for reading (fd). */
struct c2c_blob {
	char *path;    /* display path: "<dir>/<name>" */
	uint8_t *data; /* whole content (metadata images), or NULL */
	uint64_t size; /* size in bytes */
	int fd;	       /* open file (page data), or -1 */
};

#define C2C_BLOB_INIT ((struct c2c_blob){ NULL, NULL, 0, -1 })

struct c2c_source {
	char *path;	  /* directory as the user named it (or parent path) */
	int dirfd;	  /* open directory */
	dev_t dev;	  /* identity, to detect parent cycles */
	ino_t ino;
	unsigned depth;	  /* 0 = the directory given, 1 = its parent, ... */
	struct c2c_source *child; /* the source whose parent/ this is, or NULL */
	struct c2c_source *parent; /* opened on first use */
	bool parent_checked;
};

/* Open an image directory. */
int c2c_source_open_dir(struct c2c_ctx *ctx, const char *path, struct c2c_source **ret);

/* Free a source and its opened parents. Accepts NULL. */
void c2c_source_free(struct c2c_source *src);

/*
 * Load image `name` whole into ret->data. Returns 0, or 1 when the file does
 * not exist and optional is true (ret untouched), or a negative error.
 */
int c2c_source_load(struct c2c_ctx *ctx, struct c2c_source *src, const char *name, bool optional,
		    struct c2c_blob *ret);

/*
 * Open image `name` for reading by offset (pages-N.img). Returns 0, 1 when it
 * does not exist (no error recorded: the caller names the image that refers
 * to it), or a negative error.
 */
int c2c_source_open_data(struct c2c_ctx *ctx, struct c2c_source *src, const char *name,
			 struct c2c_blob *ret);

/*
 * The parent image directory (the `parent` link CRIU writes for incremental
 * dumps). Returns 0 with *ret set, 1 when there is none, or a negative error
 * (missing target, cycle, too deep). The parent is owned by src.
 */
int c2c_source_parent(struct c2c_ctx *ctx, struct c2c_source *src, struct c2c_source **ret);

/*
 * A root directory holding the files the checkpointed processes had mapped
 * (a container's rootfs, or / for a host process), for --root.
 */
int c2c_root_open(struct c2c_ctx *ctx, const char *path, int *ret_fd);

/*
 * Open `path` (as the process saw it) inside the root: "..", absolute and
 * relative symlinks are all resolved within the root, never outside it.
 * Returns 0 with ret set, 1 if there is no such regular file (no error
 * recorded), or a negative error.
 */
int c2c_root_open_file(struct c2c_ctx *ctx, int rootfd, const char *root, const char *path,
		       struct c2c_blob *ret);

/* Read exactly len bytes at off; C2C_E_TRUNCATED if the blob is shorter. */
int c2c_blob_pread(struct c2c_ctx *ctx, const struct c2c_blob *blob, void *buf, size_t len,
		   uint64_t off);

/* Release what a blob holds (keeps the struct). */
void c2c_blob_release(struct c2c_blob *blob);

#endif /* C2C_SOURCE_H */
