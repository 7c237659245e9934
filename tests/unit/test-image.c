/*
 * Unit tests of src/lib/image.c: magic words and record framing, on in-memory
 * blobs (.data set, .fd = -1), with the exact messages the user will see.
 */
#include <stdlib.h>

#include "helpers.h"
#include "image.h"
#include "pagemap.pb-c.h"
#include "util.h"

#define IMG_COMMON 0x54564319U
#define PAGEMAP_MAGIC 0x56084025U
#define INVENTORY_MAGIC 0x58313116U

static char path[] = "dir/pagemap-1.img";

static struct c2c_blob blob_of(const struct tbuf *b)
{
	return (struct c2c_blob){ .path = path, .data = b->p, .size = b->n, .fd = -1 };
}

/* A pagemap image with the V1_1 prefix: IMG_COMMON, PAGEMAP. */
static void pagemap_magic(struct tbuf *b)
{
	tbuf_u32(b, IMG_COMMON);
	tbuf_u32(b, PAGEMAP_MAGIC);
}

static void descriptors(void **state)
{
	const struct c2c_imgdesc *d = c2c_imgdesc_get(C2C_IMG_PAGEMAP);
	char name[64];

	(void)state;
	assert_int_equal(d->magic, PAGEMAP_MAGIC);
	assert_int_equal(d->prefix, IMG_COMMON);
	assert_int_equal(c2c_imgdesc_get(C2C_IMG_INVENTORY)->magic, INVENTORY_MAGIC);
	assert_int_equal(c2c_imgdesc_get(C2C_IMG_INVENTORY)->prefix, 0);
	c2c_image_name(C2C_IMG_PAGEMAP, 42, name, sizeof(name));
	assert_string_equal(name, "pagemap-42.img");
	c2c_image_name(C2C_IMG_SHMEM_PAGEMAP, 7, name, sizeof(name));
	assert_string_equal(name, "pagemap-shmem-7.img");
	c2c_image_name(C2C_IMG_PSTREE, 42, name, sizeof(name));
	assert_string_equal(name, "pstree.img");
}

static void prefix_and_magic_accepted(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct tbuf b = { 0 }, msg = { 0 };
	struct c2c_blob blob;
	struct c2c_image img;
	const uint8_t *p;
	size_t len;

	(void)state;
	pagemap_magic(&b);
	tbuf_pb_varint(&msg, 1, 3); /* PagemapHead pages_id = 3 */
	tbuf_record(&b, &msg);
	blob = blob_of(&b);

	c2c_assert_ok(ctx, c2c_image_open(ctx, &blob, C2C_IMG_PAGEMAP, &img));
	assert_int_equal(img.pos, 8);
	assert_int_equal(img.record, -1);
	assert_int_equal(c2c_image_next(ctx, &img, &p, &len), 1);
	assert_int_equal(len, 2);
	assert_ptr_equal(p, b.p + 12);
	assert_int_equal(img.rec_off, 8);
	assert_int_equal(img.record, 0);
	assert_int_equal(c2c_image_next(ctx, &img, &p, &len), 0);
	assert_int_equal(c2c_errcode(ctx), 0);
	tbuf_free(&msg);
	tbuf_free(&b);
	c2c_ctx_free(ctx);
}

static void v1_without_prefix_accepted(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct tbuf b = { 0 }, msg = { 0 };
	struct c2c_blob blob;
	struct c2c_image img;
	ProtobufCMessage *m;

	(void)state;
	tbuf_u32(&b, PAGEMAP_MAGIC); /* ancient V1 image: no IMG_COMMON word */
	tbuf_pb_varint(&msg, 1, 9);
	tbuf_record(&b, &msg);
	blob = blob_of(&b);

	c2c_assert_ok(ctx, c2c_image_open(ctx, &blob, C2C_IMG_PAGEMAP, &img));
	assert_int_equal(img.pos, 4);
	assert_int_equal(c2c_image_next_msg(ctx, &img, &pb_pagemap_head__descriptor, &m), 1);
	assert_true(((PbPagemapHead *)m)->has_pages_id);
	assert_int_equal(((PbPagemapHead *)m)->pages_id, 9);
	protobuf_c_message_free_unpacked(m, NULL);

	/* Inventory never has a prefix word. */
	b.n = 0;
	tbuf_u32(&b, INVENTORY_MAGIC);
	blob = blob_of(&b);
	c2c_assert_ok(ctx, c2c_image_open(ctx, &blob, C2C_IMG_INVENTORY, &img));
	assert_int_equal(img.pos, 4);
	assert_int_equal(c2c_image_next(ctx, &img, &(const uint8_t *){ NULL }, &(size_t){ 0 }), 0);
	tbuf_free(&msg);
	tbuf_free(&b);
	c2c_ctx_free(ctx);
}

static void wrong_magic(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct tbuf b = { 0 };
	struct c2c_blob blob;
	struct c2c_image img;

	(void)state;
	/* Right prefix, wrong second word: the offset is that of the second word. */
	tbuf_u32(&b, IMG_COMMON);
	tbuf_u32(&b, 0x55053847U); /* CORE_MAGIC */
	blob = blob_of(&b);
	c2c_assert_fails(ctx, c2c_image_open(ctx, &blob, C2C_IMG_PAGEMAP, &img), C2C_E_BADMAGIC);
	assert_string_equal(c2c_errmsg(ctx), "'dir/pagemap-1.img': offset 4 (0x4): "
					     "wrong magic 0x55053847, expected 0x56084025");

	/* Neither the prefix nor the magic: offset 0. */
	c2c_op_begin(ctx);
	b.n = 0;
	tbuf_u32(&b, 0xdeadbeefU);
	tbuf_u32(&b, PAGEMAP_MAGIC);
	blob = blob_of(&b);
	c2c_assert_fails(ctx, c2c_image_open(ctx, &blob, C2C_IMG_PAGEMAP, &img), C2C_E_BADMAGIC);
	assert_string_equal(c2c_errmsg(ctx), "'dir/pagemap-1.img': offset 0 (0x0): "
					     "wrong magic 0xdeadbeef, expected 0x56084025");

	/* Inventory has no prefix: a zero first word is not one. */
	c2c_op_begin(ctx);
	b.n = 0;
	tbuf_u32(&b, 0);
	tbuf_u32(&b, INVENTORY_MAGIC);
	blob = blob_of(&b);
	c2c_assert_fails(ctx, c2c_image_open(ctx, &blob, C2C_IMG_INVENTORY, &img), C2C_E_BADMAGIC);
	assert_string_equal(c2c_errmsg(ctx), "'dir/pagemap-1.img': offset 0 (0x0): "
					     "wrong magic 0x00000000, expected 0x58313116");
	tbuf_free(&b);
	c2c_ctx_free(ctx);
}

static void shorter_than_magic(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	uint8_t data[8] = { 0x19, 0x43, 0x56, 0x54, 0x25, 0x40, 0x08, 0x56 };
	struct c2c_blob blob = { .path = path, .data = data, .size = 3, .fd = -1 };
	struct c2c_image img;

	(void)state;
	c2c_assert_fails(ctx, c2c_image_open(ctx, &blob, C2C_IMG_PAGEMAP, &img), C2C_E_TRUNCATED);
	assert_string_equal(c2c_errmsg(ctx), "'dir/pagemap-1.img': offset 0 (0x0): "
					     "image too short for its magic (3 bytes)");

	c2c_op_begin(ctx);
	blob.size = 0;
	c2c_assert_fails(ctx, c2c_image_open(ctx, &blob, C2C_IMG_PAGEMAP, &img), C2C_E_TRUNCATED);
	assert_string_equal(c2c_errmsg(ctx), "'dir/pagemap-1.img': offset 0 (0x0): "
					     "image too short for its magic (0 bytes)");

	/* The prefix word, then the file ends inside the image magic. */
	c2c_op_begin(ctx);
	blob.size = 6;
	c2c_assert_fails(ctx, c2c_image_open(ctx, &blob, C2C_IMG_PAGEMAP, &img), C2C_E_TRUNCATED);
	assert_string_equal(c2c_errmsg(ctx), "'dir/pagemap-1.img': offset 4 (0x4): "
					     "image ends after its first magic word");

	/* Exactly the two words: valid and empty. */
	c2c_op_begin(ctx);
	blob.size = 8;
	c2c_assert_ok(ctx, c2c_image_open(ctx, &blob, C2C_IMG_PAGEMAP, &img));
	assert_int_equal(c2c_image_next(ctx, &img, &(const uint8_t *){ NULL }, &(size_t){ 0 }), 0);
	c2c_ctx_free(ctx);
}

static void truncated_length_word(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct tbuf b = { 0 }, msg = { 0 };
	struct c2c_blob blob;
	struct c2c_image img;
	const uint8_t *p;
	size_t len;

	(void)state;
	pagemap_magic(&b);
	tbuf_pb_varint(&msg, 1, 1);
	tbuf_record(&b, &msg); /* record 0 at 8, 4 + 2 bytes */
	tbuf_put(&b, "\x05\x00", 2); /* record 1 at 14: half a length word */
	blob = blob_of(&b);

	c2c_assert_ok(ctx, c2c_image_open(ctx, &blob, C2C_IMG_PAGEMAP, &img));
	assert_int_equal(c2c_image_next(ctx, &img, &p, &len), 1);
	c2c_assert_fails(ctx, c2c_image_next(ctx, &img, &p, &len), C2C_E_TRUNCATED);
	assert_string_equal(c2c_errmsg(ctx), "'dir/pagemap-1.img': offset 14 (0xe), record 1: "
					     "truncated record length: need 4 bytes, 2 left");
	tbuf_free(&msg);
	tbuf_free(&b);
	c2c_ctx_free(ctx);
}

static void truncated_payload(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct tbuf b = { 0 };
	struct c2c_blob blob;
	struct c2c_image img;
	const uint8_t *p;
	size_t len;

	(void)state;
	pagemap_magic(&b);
	tbuf_u32(&b, 1409); /* record 0 claims 1409 bytes, 3 follow */
	tbuf_put(&b, "abc", 3);
	blob = blob_of(&b);

	c2c_assert_ok(ctx, c2c_image_open(ctx, &blob, C2C_IMG_PAGEMAP, &img));
	c2c_assert_fails(ctx, c2c_image_next(ctx, &img, &p, &len), C2C_E_TRUNCATED);
	assert_string_equal(c2c_errmsg(ctx), "'dir/pagemap-1.img': offset 8 (0x8), record 0: "
					     "truncated record: need 1409 bytes, 3 left");

	/* One byte short is still short. */
	c2c_op_begin(ctx);
	b.n = 8;
	tbuf_u32(&b, 4);
	tbuf_put(&b, "abc", 3);
	blob = blob_of(&b);
	c2c_assert_ok(ctx, c2c_image_open(ctx, &blob, C2C_IMG_PAGEMAP, &img));
	c2c_assert_fails(ctx, c2c_image_next(ctx, &img, &p, &len), C2C_E_TRUNCATED);
	assert_string_equal(c2c_errmsg(ctx), "'dir/pagemap-1.img': offset 8 (0x8), record 0: "
					     "truncated record: need 4 bytes, 3 left");
	tbuf_free(&b);
	c2c_ctx_free(ctx);
}

static void zero_length_record(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct tbuf b = { 0 }, empty = { 0 };
	struct c2c_blob blob;
	struct c2c_image img;
	ProtobufCMessage *m;
	const uint8_t *p;
	size_t len = 99;

	(void)state;
	pagemap_magic(&b);
	tbuf_record(&b, &empty);
	tbuf_record(&b, &empty);
	blob = blob_of(&b);

	c2c_assert_ok(ctx, c2c_image_open(ctx, &blob, C2C_IMG_PAGEMAP, &img));
	assert_int_equal(c2c_image_next(ctx, &img, &p, &len), 1);
	assert_int_equal(len, 0);
	assert_int_equal(img.pos, 12);
	/* An empty record is a valid message with every field absent. */
	assert_int_equal(c2c_image_next_msg(ctx, &img, &pb_pagemap_head__descriptor, &m), 1);
	assert_false(((PbPagemapHead *)m)->has_pages_id);
	assert_int_equal(img.record, 1);
	assert_int_equal(img.rec_off, 12);
	protobuf_c_message_free_unpacked(m, NULL);
	assert_int_equal(c2c_image_next(ctx, &img, &p, &len), 0);
	tbuf_free(&b);
	c2c_ctx_free(ctx);
}

static void record_over_cap(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	/*
	 * The cap is checked after the bytes-left check, so the blob must really
	 * hold the record: calloc of this size is mmap'ed and never touched
	 * beyond the header, so it costs no memory.
	 */
	uint64_t size = 12 + (uint64_t)C2C_MAX_RECORD_SIZE + 1;
	uint8_t *data = calloc(1, size);
	struct c2c_blob blob = { .path = path, .data = data, .size = size, .fd = -1 };
	struct c2c_image img;
	const uint8_t *p;
	size_t len;
	char want[256];

	(void)state;
	assert_non_null(data);
	memcpy(data, "\x19\x43\x56\x54\x25\x40\x08\x56", 8);
	data[8] = 1; /* length word (LE): C2C_MAX_RECORD_SIZE + 1 = 0x04000001 */
	data[11] = (uint8_t)(C2C_MAX_RECORD_SIZE >> 24);
	c2c_assert_ok(ctx, c2c_image_open(ctx, &blob, C2C_IMG_PAGEMAP, &img));
	c2c_assert_fails(ctx, c2c_image_next(ctx, &img, &p, &len), C2C_E_LIMIT);
	snprintf(want, sizeof(want),
		 "'dir/pagemap-1.img': offset 8 (0x8), record 0: "
		 "record of %u bytes exceeds the cap of %u",
		 C2C_MAX_RECORD_SIZE + 1, C2C_MAX_RECORD_SIZE);
	assert_string_equal(c2c_errmsg(ctx), want);

	/* Exactly the cap is allowed. */
	c2c_op_begin(ctx);
	data[8] = 0;
	c2c_assert_ok(ctx, c2c_image_open(ctx, &blob, C2C_IMG_PAGEMAP, &img));
	assert_int_equal(c2c_image_next(ctx, &img, &p, &len), 1);
	assert_int_equal(len, C2C_MAX_RECORD_SIZE);
	free(data);
	c2c_ctx_free(ctx);
}

static void undecodable_protobuf(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct tbuf b = { 0 }, ok = { 0 }, bad = { 0 };
	struct c2c_blob blob;
	struct c2c_image img;
	ProtobufCMessage *m = NULL;

	(void)state;
	pagemap_magic(&b);
	tbuf_pb_varint(&ok, 1, 5);
	tbuf_record(&b, &ok);
	tbuf_put(&bad, "\x08\xff", 2); /* field 1, varint cut off after a continuation byte */
	tbuf_record(&b, &bad);
	blob = blob_of(&b);

	c2c_assert_ok(ctx, c2c_image_open(ctx, &blob, C2C_IMG_PAGEMAP, &img));
	assert_int_equal(c2c_image_next_msg(ctx, &img, &pb_pagemap_head__descriptor, &m), 1);
	protobuf_c_message_free_unpacked(m, NULL);
	c2c_assert_fails(ctx, c2c_image_next_msg(ctx, &img, &pb_pagemap_head__descriptor, &m),
			 C2C_E_PROTOBUF);
	assert_string_equal(c2c_errmsg(ctx), "'dir/pagemap-1.img': offset 14 (0xe), record 1: "
					     "cannot decode 2-byte record as pagemap_head");
	tbuf_free(&ok);
	tbuf_free(&bad);
	tbuf_free(&b);
	c2c_ctx_free(ctx);
}

static void clean_eof(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct tbuf b = { 0 }, msg = { 0 };
	struct c2c_blob blob;
	struct c2c_image img;
	ProtobufCMessage *m = NULL;
	const uint8_t *p;
	size_t len;

	(void)state;
	pagemap_magic(&b);
	tbuf_pb_varint(&msg, 1, 1);
	tbuf_record(&b, &msg);
	tbuf_record(&b, &msg);
	blob = blob_of(&b);

	c2c_assert_ok(ctx, c2c_image_open(ctx, &blob, C2C_IMG_PAGEMAP, &img));
	assert_int_equal(c2c_image_next(ctx, &img, &p, &len), 1);
	assert_int_equal(c2c_image_next(ctx, &img, &p, &len), 1);
	assert_int_equal(img.record, 1);
	/* End of file: 0, no error, no record counted, and it stays at the end. */
	assert_int_equal(c2c_image_next(ctx, &img, &p, &len), 0);
	assert_int_equal(c2c_image_next_msg(ctx, &img, &pb_pagemap_head__descriptor, &m), 0);
	assert_null(m);
	assert_int_equal(img.record, 1);
	assert_int_equal(img.rec_off, b.n);
	assert_int_equal(c2c_errcode(ctx), 0);
	tbuf_free(&msg);
	tbuf_free(&b);
	c2c_ctx_free(ctx);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(descriptors),
	cmocka_unit_test(prefix_and_magic_accepted),
	cmocka_unit_test(v1_without_prefix_accepted),
	cmocka_unit_test(wrong_magic),
	cmocka_unit_test(shorter_than_magic),
	cmocka_unit_test(truncated_length_word),
	cmocka_unit_test(truncated_payload),
	cmocka_unit_test(zero_length_record),
	cmocka_unit_test(record_over_cap),
	cmocka_unit_test(undecodable_protobuf),
	cmocka_unit_test(clean_eof),
};

C2C_UNIT_MAIN(tests)
