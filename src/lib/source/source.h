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

/*
 * Page data of an archive member placed while the archive was read
 * (convert.c place_pages): runs of the member's bytes, each in a core file at
 * the offset its pages have in that core, or in the spool file.
 */
struct c2c_place_run {
	uint64_t member_off, len;
	uint64_t file_off;
	bool in_core;
};

struct c2c_placemap {
	struct c2c_place_run *runs; /* ascending member_off, covering the whole member */
	size_t n;
	int core_fd;	     /* the unnamed core file of process pid (owned) */
	int spool_fd;	     /* the archive's spool file, for runs not in_core (owned), or -1 */
	uint32_t pid;
	uint64_t core_bytes; /* member bytes placed in core_fd */
	/*
	 * Written in arrival order: the member came before the images that
	 * describe it, so its bytes are at verbatim_off + member offset in
	 * core_fd, and that file's layout is built around them (corebuild.h).
	 * pid is 0 until exactly one pagemap claims the member.
	 */
	bool verbatim;
	uint64_t verbatim_off;
};

void c2c_placemap_free(struct c2c_placemap *pm);

/*
 * Where member byte off is: *in_core says which file (core_fd or spool_fd),
 * *file_off where in it. Returns how many of the len bytes from off lie in
 * the same run (contiguous there), at least 1 when len > 0; 0 if off is
 * past the runs.
 */
uint64_t c2c_placemap_locate(const struct c2c_placemap *pm, uint64_t off, uint64_t len,
			     bool *in_core, uint64_t *file_off);

/* One image file: either loaded into memory (data) or open for reading (fd). */
struct c2c_blob {
	char *path;    /* display path: "<dir>/<name>" or "<archive>:<member>" */
	uint8_t *data; /* whole content (metadata images), or NULL */
	uint64_t size; /* size in bytes */
	int fd;	       /* open file (page data), or -1 */
	uint64_t base; /* where the content starts in fd (a spool file holds many) */
	bool borrowed; /* data belongs to the source, not to the blob */
	const struct c2c_placemap *map; /* placed member: where its runs are (fd unused) */
};

#define C2C_BLOB_INIT ((struct c2c_blob){ NULL, NULL, 0, -1, 0, false, NULL })

/*
 * Members of an archive (or of an in-memory image set), read once: small ones
 * held in memory, large ones (page data) in a spool file. Names are
 * normalized ("./" stripped) and unique.
 */
struct c2c_member {
	char *name;
	uint8_t *data;	/* content in memory, or NULL */
	uint64_t size;
	int fd;		/* spool file holding the content at `off`, or -1 */
	uint64_t off;
	char *link;	/* symlink target (only kept for a `parent` link), or NULL */
	struct c2c_placemap *map; /* page data placed into a core as it was read, or NULL */
	bool spooled;	/* fd is our own spool file (never the user's archive) */
	bool streamed;	/* page data handed to a consumer as it was read, not kept */
};

struct c2c_memtab {
	char *display; /* archive name for messages */
	struct c2c_member *v;
	size_t n, cap;
	uint64_t mem_bytes; /* held in memory, checked against a cap */
	int refs;
	bool sorted; /* by name, for binary search (after reading) */
};

struct c2c_source {
	char *path;	  /* directory as named, or "<archive>:<prefix>" for messages */
	int dirfd;	  /* open directory, or -1 for a member table */
	struct c2c_memtab *tab; /* member table, or NULL */
	char *prefix;	  /* member name prefix of this image set ("checkpoint/") */
	dev_t dev;	  /* identity, to detect parent cycles */
	ino_t ino;
	unsigned depth;	  /* 0 = the directory given, 1 = its parent, ... */
	struct c2c_source *child; /* the source whose parent/ this is, or NULL */
	struct c2c_source *parent; /* opened on first use, owned */
	struct c2c_source *ext_parent; /* --parent given by the user, owned */
	bool parent_checked;
	char *meta_dir;	  /* directory holding config.dump etc. (extracted archive), or NULL */
};

/* A member table with one reference; c2c_memtab_put() drops it. */
struct c2c_memtab *c2c_memtab_new(const char *display);
void c2c_memtab_put(struct c2c_memtab *tab);
/*
 * Append a member; the table takes over its name, data, link and fd (also on
 * failure, when they are released). Returns 0 or C2C_E_NOMEM.
 */
int c2c_memtab_add(struct c2c_memtab *tab, struct c2c_member m);

/* Free what a member holds (name, data, link, fd, placement). */
void c2c_member_release(struct c2c_member *m);

/* Look a member up by exact (normalized) name. */
struct c2c_member *c2c_memtab_find(struct c2c_memtab *tab, const char *name);

/* A borrowed blob over an in-memory member (its data and name stay the table's). */
struct c2c_blob c2c_member_blob(const struct c2c_member *m);

/*
 * Sort the table once it is complete (lookups become binary searches).
 * Returns a member whose name appears twice, or NULL.
 */
const struct c2c_member *c2c_memtab_sort(struct c2c_memtab *tab);

/*
 * A source over the members of tab whose names start with prefix (which is
 * "" or ends with '/'). Takes a reference to tab.
 */
int c2c_source_open_tab(struct c2c_ctx *ctx, struct c2c_memtab *tab, const char *prefix,
			struct c2c_source **ret);

/*
 * Load a metadata file that sits beside the images (config.dump, spec.dump,
 * stats-dump): at the archive root, in the extracted archive's directory, or
 * in the image directory itself. Returns 0, 1 when absent, or an error.
 */
int c2c_source_load_meta(struct c2c_ctx *ctx, struct c2c_source *src, const char *name,
			 struct c2c_blob *ret);

/*
 * Open a (possibly large) file that sits beside the images for reading by
 * offset, like rootfs-diff.tar: at the archive root or in the extracted
 * archive's directory. Returns 0, 1 when absent, or an error.
 */
int c2c_source_open_meta_data(struct c2c_ctx *ctx, struct c2c_source *src, const char *name,
			      struct c2c_blob *ret);

/* Use `parent` (any kind of source) as the parent image set of src; src owns it. */
void c2c_source_set_parent(struct c2c_source *src, struct c2c_source *parent);

/* Open an image directory. */
int c2c_source_open_dir(struct c2c_ctx *ctx, const char *path, struct c2c_source **ret);

/*
 * How messages name image `name` of src: "<dir>/<name>", or
 * "<archive>:<prefix><name>" for a member table. malloc'd; NULL when out of
 * memory.
 */
char *c2c_source_path(const struct c2c_source *src, const char *name);

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
