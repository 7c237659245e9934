/*
 * Stage 1, input source: a container image as the files it provides (--image).
 * An OCI image layout (directory, or the same in a tar: oci-archive), a
 * docker-archive (manifest.json + layer tars, docker/podman save) or an
 * unpacked rootfs directory, seen as a stack of layers. Layers are indexed
 * once (headers only) and looked up top-down with the OCI whiteouts applied;
 * only the members asked for are extracted later.
 */
#ifndef C2C_OCI_H
#define C2C_OCI_H

#include <archive.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "source.h"


/* What a path is in a layer (or in the merged image). */
enum c2c_oci_type {
	C2C_OCI_NONE = 0, /* not there (or deleted by a whiteout) */
	C2C_OCI_REG,
	C2C_OCI_DIR,
	C2C_OCI_LNK,
	C2C_OCI_HARDLINK, /* tar hard link: link names the member path it shares data with */
	C2C_OCI_WHITEOUT, /* ".wh.NAME": NAME of the layers below is deleted */
	C2C_OCI_OPAQUE,	  /* ".wh..wh..opq": the layers below contribute nothing in this dir */
	C2C_OCI_OTHER,	  /* device, fifo, ...: never extracted */
};

/* One member of a layer, as indexed. */
struct c2c_oci_entry {
	char *path;	  /* "/usr/bin/x": normalized; for markers, the path they apply to */
	char *link;	  /* LNK: target as stored; HARDLINK: normalized target path; or NULL */
	uint64_t size;	  /* REG: bytes */
	uint64_t hdr_off; /* where the member's header is in the (uncompressed) layer tar */
	uint32_t mode;	  /* permission bits */
	uint8_t type;	  /* enum c2c_oci_type */
	size_t seq;	  /* order in the layer: the later of two equal paths wins */
};

enum c2c_oci_layer_kind {
	C2C_OCI_LAYER_FILE,   /* a tar file (a blob of an image layout directory) */
	C2C_OCI_LAYER_MEMBER, /* a tar that is a member of the image tar (oci-/docker-archive) */
	C2C_OCI_LAYER_BLOB,   /* a tar read through a blob (the checkpoint's rootfs-diff.tar) */
	C2C_OCI_LAYER_DIR,    /* an unpacked rootfs directory */
};

struct c2c_oci_layer {
	enum c2c_oci_layer_kind kind;
	char *display; /* for messages: "IMAGE/blobs/sha256/HEX", "IMAGE:abc/layer.tar" */
	char *name;    /* FILE: path; MEMBER: member name in the image tar; DIR: directory */
	char *digest;  /* "sha256:HEX" the blob must hash to (OCI layouts), or NULL */
	struct c2c_blob blob; /* BLOB (owned) */
	int rootfd;    /* DIR, else -1 */
	struct c2c_oci_entry *v; /* sorted by path, one entry per path (the last one) */
	size_t n, cap;
};

struct c2c_oci {
	char *path;	  /* IMAGE as given, without ":REF" */
	const char *ref;  /* REF of IMAGE:REF (an OCI ref.name, a docker-archive tag), or NULL */
	const char *kind; /* "OCI image layout", "oci-archive", "docker-archive", "rootfs directory" */
	char *manifest_digest; /* "sha256:HEX" of the manifest, or NULL when not known */
	char *index_digest;    /* "sha256:HEX" of a multi-platform image index, or NULL */
	char *config_digest;   /* "sha256:HEX" of the image config (the image ID), or NULL */
	struct c2c_oci_layer *layers; /* bottom first */
	size_t nlayers;
	uint64_t nentries; /* over all layers, against C2C_MAX_OCI_ENTRIES */
};

/* Caps on what an image can make us hold (checked before allocating). */
#define C2C_MAX_OCI_LAYERS 1024U	     /* layers of one image (Docker's limit is 127) */
#define C2C_MAX_OCI_ENTRIES (1ULL << 22)     /* members indexed over all layers */
#define C2C_MAX_OCI_JSON (4ULL << 20)	     /* index.json, a manifest, manifest.json */
#define C2C_MAX_OCI_FILE (1ULL << 34)	     /* one extracted file */
#define C2C_MAX_OCI_LAYER (1ULL << 36)	     /* one layer's tar, uncompressed */

/*
 * Open IMAGE (its kind is told by its content), or IMAGE:REF for the image
 * of that org.opencontainers.image.ref.name (or docker-archive RepoTag) when
 * several are there, and index every layer's
 * members. Errors name the file, member and byte offset: a missing blob, an
 * unreadable or truncated layer, a member path with ".." or a leading "/".
 * Returns 0 or a negative error.
 */
int c2c_oci_open(struct c2c_ctx *ctx, const char *image, struct c2c_oci **ret);

/* Free an image and its layers. Accepts NULL. */
void c2c_oci_free(struct c2c_oci *oci);

/*
 * Put a tar read through blob (taken over, also on failure) on top of the
 * layers, and whiteouts for the `ndeleted` paths of deleted: the checkpoint's
 * rootfs-diff.tar and deleted.files. blob may be NULL (only deletions).
 */
int c2c_oci_push_blob(struct c2c_ctx *ctx, struct c2c_oci *oci, struct c2c_blob *blob,
		      const char *const *deleted, size_t ndeleted);

/*
 * Index one member of a layer: its name as the tar has it ("./usr/x",
 * "usr/.wh.x", ...). Whiteout names become markers. Returns 0, or
 * C2C_E_UNSUPPORTED for a name with ".." or a leading "/" (the error names
 * the layer, member and offset), C2C_E_LIMIT, C2C_E_NOMEM.
 */
int c2c_oci_layer_add(struct c2c_ctx *ctx, struct c2c_oci *oci, struct c2c_oci_layer *l,
		      const char *name, enum c2c_oci_type type, const char *link, uint64_t size,
		      uint32_t mode, uint64_t hdr_off);

/* Sort a layer's index once all its members are in (lookups need it). */
void c2c_oci_layer_finish(struct c2c_oci_layer *l);

/* What a path is in the merged image. */
struct c2c_oci_found {
	enum c2c_oci_type type;	    /* NONE, REG, DIR, LNK or OTHER */
	size_t layer;		    /* the layer it comes from */
	const struct c2c_oci_entry *e; /* its entry (for a hard link, the target's), or NULL */
	char link[4096];	    /* LNK: its target */
	uint64_t size;
	uint32_t mode;
};

/*
 * Look up a path (normalized, no symlink in it) top-down: the first layer
 * that has it decides, unless a layer above deletes it or one of its parent
 * directories (whiteout) or makes a parent opaque. A directory that only
 * holds members (no entry of its own) counts as one. Returns ret->type.
 */
enum c2c_oci_type c2c_oci_lookup(struct c2c_ctx *ctx, const struct c2c_oci *oci,
				 const char *path, struct c2c_oci_found *ret);

/* Called for each symlink met while resolving: its own path and its target. */
typedef int (*c2c_oci_link_fn)(void *data, const char *path, const char *target);

/*
 * Resolve `path` as the process saw it to a regular file of the merged
 * image: symlinks are followed inside the image ("/" and ".." stop at the
 * image's root, at most 40 links), so no path can leave it. canon (4096
 * bytes) receives the file's own path. Returns 0 with *ret, 1 when there is
 * no such regular file, or a negative error (from on_link).
 */
int c2c_oci_resolve(struct c2c_ctx *ctx, const struct c2c_oci *oci, const char *path,
		    char *canon, struct c2c_oci_found *ret, c2c_oci_link_fn on_link, void *data);

/*
 * Call fn(data, path) for each symlink directly in directory `dir` (a
 * canonical path) of any layer, whiteouts not applied (resolve the path to
 * know what it is in the merged image). Returns 0 or fn's negative result.
 */
int c2c_oci_links_in(struct c2c_ctx *ctx, const struct c2c_oci *oci, const char *dir,
		     int (*fn)(void *data, const char *path), void *data);

/* A file to extract from a layer: its entry, and where its bytes go. */
struct c2c_oci_want {
	const struct c2c_oci_entry *e; /* tar layers: the member */
	const char *path; /* rootfs directory: the file's own path (c2c_oci_resolve canon) */
	int fd;	   /* written from offset 0 */
	bool done; /* set when written */
};

/*
 * Write the content of the wanted members of layer `layer` (entries of
 * that layer) into their fds, in one pass over it. Returns 0 or a negative
 * error naming the layer, member and offset.
 */
int c2c_oci_extract(struct c2c_ctx *ctx, const struct c2c_oci *oci, size_t layer,
		    struct c2c_oci_want *want, size_t nwant);

/*
 * Shared by oci.c, oci-index.c and oci-layer.c only. A member or link name
 * normalized to "/a/b" (NULL: *bad when it has ".." or is absolute, *nomem);
 * a libarchive reader of tar in any compression; the member `name` of the
 * image tar `image`, positioned at its data in *ret; a layer's index.
 */
char *c2c_oci_norm_path(const char *name, bool *bad, bool *nomem);
struct archive *c2c_oci_tar_reader(void);
int c2c_oci_outer_seek(struct c2c_ctx *ctx, const char *image, const char *name,
		       struct archive **ret);
int c2c_oci_layer_index(struct c2c_ctx *ctx, struct c2c_oci *oci, struct c2c_oci_layer *l);

#endif /* C2C_OCI_H */
