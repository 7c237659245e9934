/*
 * Stage 2, image reader: the framing of CRIU image files. An image is one or
 * two u32 magic words, then records of u32 length + protobuf message, to end
 * of file (criu-image-format §1). This layer checks every length against the
 * bytes left, and knows the byte offset and index of each record so that every
 * error can name them.
 */
#ifndef C2C_IMAGE_H
#define C2C_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "source.h"

enum c2c_image_kind {
	C2C_IMG_INVENTORY,
	C2C_IMG_PSTREE,
	C2C_IMG_CORE,
	C2C_IMG_IDS,
	C2C_IMG_MM,
	C2C_IMG_PAGEMAP, /* pagemap-<pid>.img */
	C2C_IMG_SHMEM_PAGEMAP, /* pagemap-shmem-<shmid>.img, same framing */
	C2C_IMG_FILES,
	C2C_IMG_REG_FILES,
	C2C_IMG_MEMFD,
	C2C_IMG_REMAP_FPATH,
	C2C_IMG_STATS,
	C2C_IMG_FDINFO, /* fdinfo-<files_id>.img */
	C2C_IMG_FS,	/* fs-<pid>.img */
	C2C_IMG_UTSNS,	/* utsns-<uts_ns_id>.img */
	C2C_IMG_NETDEV, /* netdev-<net_ns_id>.img */
	C2C_IMG_NETNS,	/* netns-<net_ns_id>.img */
	C2C_IMG_CGROUP, /* cgroup.img */
	/* raw images: no CRIU framing, read with nldump.h */
	C2C_IMG_IFADDR, /* ifaddr-<net_ns_id>.img: `ip addr save` */
	C2C_IMG_ROUTE,	/* route-<net_ns_id>.img: `ip route save` */
	C2C_IMG_ROUTE6, /* route6-<net_ns_id>.img: `ip -6 route save` */
	_C2C_IMG_MAX,
};

struct c2c_imgdesc {
	const char *name;    /* file name, or its stem before "<id>.img" when numbered */
	bool numbered;	     /* one image per pid/tid/shmid: "<name><id>.img" */
	uint32_t magic;	     /* image-specific magic */
	uint32_t prefix;     /* IMG_COMMON or IMG_SERVICE word before it, or 0 */
	const char *no_entry; /* the error when an image of one entry (or a head) has none */
};

const struct c2c_imgdesc *c2c_imgdesc_get(enum c2c_image_kind kind);

/* File name of an image ("mm-42.img"); id is ignored for unnumbered kinds. */
void c2c_image_name(enum c2c_image_kind kind, uint64_t id, char *buf, size_t size);

/* Cursor over the records of one loaded image. */
struct c2c_image {
	const struct c2c_blob *blob;
	enum c2c_image_kind kind;
	uint64_t pos;	  /* next unread byte */
	uint64_t rec_off; /* offset of the current record's length word */
	int64_t record;	  /* index of the current record, -1 before the first */
};

/* Check the magic words of a loaded image and position before its first record. */
int c2c_image_open(struct c2c_ctx *ctx, const struct c2c_blob *blob, enum c2c_image_kind kind,
		   struct c2c_image *img);

/*
 * Next record: 1 with *payload and *len set (borrowed from the blob), 0 at a clean
 * end of file, or a negative error (truncated length word or payload).
 */
int c2c_image_next(struct c2c_ctx *ctx, struct c2c_image *img, const uint8_t **payload,
		   size_t *len);

/*
 * Next record decoded as a protobuf message of type desc: 1 with *ret set
 * (free with protobuf_c_message_free_unpacked(*ret, NULL)), 0 at end of
 * file, or a negative error.
 */
int c2c_image_next_msg(struct c2c_ctx *ctx, struct c2c_image *img,
		       const ProtobufCMessageDescriptor *desc, ProtobufCMessage **ret);

/* Location of the current record (file, offset of its length word, index). */
#define C2C_IMAGE_LOC(img) \
	((struct c2c_loc){ (img)->blob->path, NULL, (img)->rec_off, (img)->record })

/*
 * Loading images from a source. Every image is named by its kind and, for
 * numbered kinds, an id (pid, tid, shmid); the blob holds the loaded image
 * and the cursor img points into it, so both stay with the caller, who
 * releases the blob (c2c_blob_release) when done. On failure the blob is
 * released here and nothing needs freeing.
 */

/*
 * Load image kind/id from src whole and check its magic: 0 with *blob and
 * *img (before the first record) set; 1 when the image does not exist and
 * optional is true (nothing recorded); or a negative error, C2C_E_MISSING
 * ("required image is missing") when it does not exist and is required.
 */
int c2c_image_load(struct c2c_ctx *ctx, struct c2c_source *src, enum c2c_image_kind kind,
		   uint64_t id, bool optional, struct c2c_blob *blob, struct c2c_image *img);

/*
 * Load a raw image (no CRIU framing: ifaddr-, route-) whole into *blob: 0,
 * 1 when absent and optional, or a negative error.
 */
int c2c_image_load_raw(struct c2c_ctx *ctx, struct c2c_source *src, enum c2c_image_kind kind,
		       uint64_t id, bool optional, struct c2c_blob *blob);

/*
 * The first record of the loaded image blob (of kind) decoded as desc: 0
 * with *img and *msg set (free it with protobuf_c_message_free_unpacked),
 * or a negative error; an image without records is C2C_E_TRUNCATED with its
 * kind's no_entry message ("mm image has no entry").
 */
int c2c_image_read_one(struct c2c_ctx *ctx, const struct c2c_blob *blob,
		       enum c2c_image_kind kind, const ProtobufCMessageDescriptor *desc,
		       struct c2c_image *img, ProtobufCMessage **msg);

/*
 * c2c_image_load, then c2c_image_read_one: an image of one entry (inventory,
 * core, mm) or one read from its head record (pagemap). Returns 0, 1 (absent
 * and optional) or a negative error, as those two.
 */
int c2c_image_load_one(struct c2c_ctx *ctx, struct c2c_source *src, enum c2c_image_kind kind,
		       uint64_t id, const ProtobufCMessageDescriptor *desc, bool optional,
		       struct c2c_blob *blob, ProtobufCMessage **msg, struct c2c_image *img);

/*
 * Called for each record: msg is freed when it returns, loc (the record's
 * location) is valid during the call. Returns 0 to go on, or a negative
 * error to stop with.
 */
typedef int (*c2c_record_fn)(struct c2c_ctx *ctx, void *data, const ProtobufCMessage *msg,
			     const struct c2c_loc *loc);

/*
 * fn(ctx, data, record, loc) for every remaining record of img decoded as
 * desc. Returns 0 at the end of the image, or the first negative error (of
 * the framing, the decoding or fn).
 */
int c2c_image_foreach(struct c2c_ctx *ctx, struct c2c_image *img,
		      const ProtobufCMessageDescriptor *desc, c2c_record_fn fn, void *data);

/*
 * c2c_image_load, then c2c_image_foreach over every record, then release:
 * a whole image of many entries (files, memfds, remaps). Returns 0, 1 when
 * the image does not exist and optional is true, or a negative error.
 */
int c2c_image_load_each(struct c2c_ctx *ctx, struct c2c_source *src, enum c2c_image_kind kind,
			uint64_t id, bool optional, const ProtobufCMessageDescriptor *desc,
			c2c_record_fn fn, void *data);

#endif /* C2C_IMAGE_H */
