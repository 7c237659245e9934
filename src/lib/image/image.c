/*
 * Stage 2: image framing (criu-image-format §1.2-§1.4; CRIU criu/image.c,
 * criu/protobuf.c). Framing words are host byte order, i.e. little endian for
 * the x86_64 checkpoints we convert.
 */
#include <stdio.h>
#include <string.h>

#include "image.h"
#include "util.h"

/* criu/include/magic.h: prefix words of every image but inventory. */
#define IMG_COMMON_MAGIC 0x54564319U  /* "Sarov" */
#define IMG_SERVICE_MAGIC 0x55105940U /* "Zlatoust": stats-* */

/* Image names and magics (criu/image-desc.c, criu/include/magic.h; doc §1.3). */
static const struct c2c_imgdesc imgdescs[_C2C_IMG_MAX] = {
	[C2C_IMG_INVENTORY] = { "inventory.img", false, 0x58313116U, 0, "inventory has no entry" },
	[C2C_IMG_PSTREE] = { "pstree.img", false, 0x50273030U, IMG_COMMON_MAGIC, NULL },
	[C2C_IMG_CORE] = { "core-", true, 0x55053847U, IMG_COMMON_MAGIC, "core image has no entry" },
	[C2C_IMG_IDS] = { "ids-", true, 0x54432030U, IMG_COMMON_MAGIC, NULL },
	[C2C_IMG_MM] = { "mm-", true, 0x57492820U, IMG_COMMON_MAGIC, "mm image has no entry" },
	[C2C_IMG_PAGEMAP] = { "pagemap-", true, 0x56084025U, IMG_COMMON_MAGIC,
			      "pagemap has no head record" },
	[C2C_IMG_SHMEM_PAGEMAP] = { "pagemap-shmem-", true, 0x56084025U, IMG_COMMON_MAGIC,
				    "pagemap has no head record" },
	[C2C_IMG_FILES] = { "files.img", false, 0x56303138U, IMG_COMMON_MAGIC, NULL },
	[C2C_IMG_REG_FILES] = { "reg-files.img", false, 0x50363636U, IMG_COMMON_MAGIC, NULL },
	[C2C_IMG_MEMFD] = { "memfd.img", false, 0x48453499U, IMG_COMMON_MAGIC, NULL },
	[C2C_IMG_REMAP_FPATH] = { "remap-fpath.img", false, 0x59133954U, IMG_COMMON_MAGIC, NULL },
	[C2C_IMG_STATS] = { "stats-dump", false, 0x57093306U, IMG_SERVICE_MAGIC, NULL },
	[C2C_IMG_FDINFO] = { "fdinfo-", true, 0x56213732U, IMG_COMMON_MAGIC, NULL },
	[C2C_IMG_FS] = { "fs-", true, 0x51403912U, IMG_COMMON_MAGIC, NULL },
	[C2C_IMG_UTSNS] = { "utsns-", true, 0x54473203U, IMG_COMMON_MAGIC, NULL },
	[C2C_IMG_NETDEV] = { "netdev-", true, 0x57373951U, IMG_COMMON_MAGIC, NULL },
	[C2C_IMG_NETNS] = { "netns-", true, 0x55933752U, IMG_COMMON_MAGIC, NULL },
	[C2C_IMG_CGROUP] = { "cgroup.img", false, 0x59383330U, IMG_COMMON_MAGIC,
			     "cgroup image has no entry" },
	/*
	 * Raw images (RAW_IMAGE_MAGIC 0 in magic.h: no CRIU words at all); their
	 * own magic is iproute2's, checked by nldump.c.
	 */
	[C2C_IMG_IFADDR] = { "ifaddr-", true, 0, 0, NULL },
	[C2C_IMG_ROUTE] = { "route-", true, 0, 0, NULL },
	[C2C_IMG_ROUTE6] = { "route6-", true, 0, 0, NULL },
};

void c2c_image_name(enum c2c_image_kind kind, uint64_t id, char *buf, size_t size)
{
	const struct c2c_imgdesc *d = &imgdescs[kind];

	if (d->numbered)
		snprintf(buf, size, "%s%llu.img", d->name, (unsigned long long)id);
	else
		snprintf(buf, size, "%s", d->name);
}

const struct c2c_imgdesc *c2c_imgdesc_get(enum c2c_image_kind kind)
{
	return &imgdescs[kind];
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int c2c_image_open(struct c2c_ctx *ctx, const struct c2c_blob *blob, enum c2c_image_kind kind,
		   struct c2c_image *img)
{
	const struct c2c_imgdesc *d = &imgdescs[kind];
	uint32_t w;

	*img = (struct c2c_image){ blob, kind, 0, 0, C2C_NO_RECORD };
	if (blob->size < 4)
		return c2c_fail(ctx, &C2C_LOC_AT(blob->path, 0), C2C_E_TRUNCATED,
				"image too short for its magic (%llu bytes)",
				(unsigned long long)blob->size);
	w = get_u32(blob->data);
	/*
	 * V1_1 images (every CRIU since 1.6) carry the prefix word; ancient V1
	 * images start with the image magic itself. Accept both, like pycriu.
	 */
	if (d->prefix && w == d->prefix) {
		if (blob->size < 8)
			return c2c_fail(ctx, &C2C_LOC_AT(blob->path, 4), C2C_E_TRUNCATED,
					"image ends after its first magic word");
		w = get_u32(blob->data + 4);
		img->pos = 8;
	} else {
		img->pos = 4;
	}
	if (w != d->magic)
		return c2c_fail(ctx, &C2C_LOC_AT(blob->path, img->pos - 4), C2C_E_BADMAGIC,
				"wrong magic 0x%08x, expected 0x%08x", w, d->magic);
	img->rec_off = img->pos;
	return 0;
}

int c2c_image_next(struct c2c_ctx *ctx, struct c2c_image *img, const uint8_t **payload,
		   size_t *len)
{
	uint64_t left = img->blob->size - img->pos;
	uint32_t n;

	img->rec_off = img->pos;
	if (left == 0)
		return 0;
	img->record++;
	if (left < 4)
		return c2c_fail(ctx, &C2C_IMAGE_LOC(img), C2C_E_TRUNCATED,
				"truncated record length: need 4 bytes, %llu left",
				(unsigned long long)left);
	n = get_u32(img->blob->data + img->pos);
	if (n > left - 4)
		return c2c_fail(ctx, &C2C_IMAGE_LOC(img), C2C_E_TRUNCATED,
				"truncated record: need %u bytes, %llu left", n,
				(unsigned long long)(left - 4));
	if (n > C2C_MAX_RECORD_SIZE)
		return c2c_fail(ctx, &C2C_IMAGE_LOC(img), C2C_E_LIMIT,
				"record of %u bytes exceeds the cap of %u", n, C2C_MAX_RECORD_SIZE);
	*payload = img->blob->data + img->pos + 4;
	*len = n;
	img->pos += 4 + (uint64_t)n;
	return 1;
}

int c2c_image_next_msg(struct c2c_ctx *ctx, struct c2c_image *img,
		       const ProtobufCMessageDescriptor *desc, ProtobufCMessage **ret)
{
	const uint8_t *p = NULL;
	size_t n = 0;
	int r = c2c_image_next(ctx, img, &p, &n);

	if (r <= 0)
		return r;
	*ret = protobuf_c_message_unpack(desc, NULL, n, p);
	if (!*ret)
		return c2c_fail(ctx, &C2C_IMAGE_LOC(img), C2C_E_PROTOBUF,
				"cannot decode %u-byte record as %s", (unsigned)n,
				/* our messages are CRIU's names with a "pb_" prefix */
				strncmp(desc->name, "pb_", 3) ? desc->name : desc->name + 3);
	return 1;
}

static int load_blob(struct c2c_ctx *ctx, struct c2c_source *src, enum c2c_image_kind kind,
		     uint64_t id, bool optional, struct c2c_blob *blob)
{
	char name[64];

	c2c_image_name(kind, id, name, sizeof(name));
	return c2c_source_load(ctx, src, name, optional, blob);
}

int c2c_image_load_raw(struct c2c_ctx *ctx, struct c2c_source *src, enum c2c_image_kind kind,
		       uint64_t id, bool optional, struct c2c_blob *blob)
{
	return load_blob(ctx, src, kind, id, optional, blob);
}

int c2c_image_load(struct c2c_ctx *ctx, struct c2c_source *src, enum c2c_image_kind kind,
		   uint64_t id, bool optional, struct c2c_blob *blob, struct c2c_image *img)
{
	int r = load_blob(ctx, src, kind, id, optional, blob);

	if (r != 0)
		return r;
	r = c2c_image_open(ctx, blob, kind, img);
	if (r < 0)
		c2c_blob_release(blob);
	return r;
}

int c2c_image_read_one(struct c2c_ctx *ctx, const struct c2c_blob *blob,
		       enum c2c_image_kind kind, const ProtobufCMessageDescriptor *desc,
		       struct c2c_image *img, ProtobufCMessage **msg)
{
	int r = c2c_image_open(ctx, blob, kind, img);

	if (r == 0)
		r = c2c_image_next_msg(ctx, img, desc, msg);
	if (r == 0)
		r = c2c_fail(ctx, &C2C_IMAGE_LOC(img), C2C_E_TRUNCATED, "%s",
			     imgdescs[kind].no_entry ? imgdescs[kind].no_entry
						     : "image has no entry");
	return r < 0 ? r : 0;
}

int c2c_image_load_one(struct c2c_ctx *ctx, struct c2c_source *src, enum c2c_image_kind kind,
		       uint64_t id, const ProtobufCMessageDescriptor *desc, bool optional,
		       struct c2c_blob *blob, ProtobufCMessage **msg, struct c2c_image *img)
{
	int r = load_blob(ctx, src, kind, id, optional, blob);

	if (r != 0)
		return r;
	r = c2c_image_read_one(ctx, blob, kind, desc, img, msg);
	if (r < 0)
		c2c_blob_release(blob);
	return r;
}

int c2c_image_foreach(struct c2c_ctx *ctx, struct c2c_image *img,
		      const ProtobufCMessageDescriptor *desc, c2c_record_fn fn, void *data)
{
	ProtobufCMessage *msg = NULL;
	int r;

	while ((r = c2c_image_next_msg(ctx, img, desc, &msg)) == 1) {
		r = fn(ctx, data, msg, &C2C_IMAGE_LOC(img));
		protobuf_c_message_free_unpacked(msg, NULL);
		if (r < 0)
			return r;
	}
	return r;
}

int c2c_image_load_each(struct c2c_ctx *ctx, struct c2c_source *src, enum c2c_image_kind kind,
			uint64_t id, bool optional, const ProtobufCMessageDescriptor *desc,
			c2c_record_fn fn, void *data)
{
	struct c2c_blob b = C2C_BLOB_INIT;
	struct c2c_image img;
	int r = c2c_image_load(ctx, src, kind, id, optional, &b, &img);

	if (r != 0)
		return r;
	r = c2c_image_foreach(ctx, &img, desc, fn, data);
	c2c_blob_release(&b);
	return r;
}
