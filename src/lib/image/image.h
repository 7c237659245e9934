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
	_C2C_IMG_MAX,
};

struct c2c_imgdesc {
	const char *name;    /* file name, or its stem before "<id>.img" when numbered */
	bool numbered;	     /* one image per pid/tid/shmid: "<name><id>.img" */
	uint32_t magic;	     /* image-specific magic */
	uint32_t prefix;     /* IMG_COMMON or IMG_SERVICE word before it, or 0 */
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

#endif /* C2C_IMAGE_H */
