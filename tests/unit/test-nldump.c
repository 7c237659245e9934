/*
 * Unit tests of src/lib/image/nldump.c: iproute2's raw dumps (ifaddr-,
 * route-<id>.img), on in-memory blobs, with the exact messages the user sees.
 * Messages are built by hand: struct nlmsghdr {u32 len; u16 type, flags;
 * u32 seq, pid}, struct ifaddrmsg (8 bytes), struct rtattr {u16 len, type}.
 */
#include <string.h>

#include "helpers.h"
#include "nldump.h"

static char path[] = "dir/ifaddr-2.img";

static struct c2c_blob blob_of(const struct tbuf *b)
{
	return (struct c2c_blob){ .path = path, .data = b->p, .size = b->n, .fd = -1 };
}

static void u16(struct tbuf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	tbuf_put(b, x, 2);
}

/* RTM_NEWADDR for 10.1.2.3/8 on ifindex 1: IFA_ADDRESS, IFA_LOCAL, IFA_LABEL "lo:a". */
static void newaddr(struct tbuf *b)
{
	static const uint8_t ifa[8] = { 2, 8, 0x80, 0, 1, 0, 0, 0 };
	static const uint8_t ip[4] = { 10, 1, 2, 3 };

	tbuf_u32(b, 16 + 8 + 8 + 8 + 12);
	u16(b, C2C_RTM_NEWADDR);
	u16(b, 2);
	tbuf_u32(b, 0);
	tbuf_u32(b, 0);
	tbuf_put(b, ifa, sizeof(ifa));
	u16(b, 8), u16(b, 1), tbuf_put(b, ip, 4);
	u16(b, 8), u16(b, 2), tbuf_put(b, ip, 4);
	u16(b, 9), u16(b, 3), tbuf_put(b, "lo:a\0\0\0\0", 8);
}

static void walks_messages_and_attributes(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct tbuf b = { 0 };
	struct c2c_blob blob;
	struct c2c_nldump d;
	struct c2c_nlmsg m;
	struct c2c_nlattr a;
	size_t pos = 0;
	uint16_t types[4];
	int n = 0;

	(void)state;
	tbuf_u32(&b, C2C_NLDUMP_IFADDR_MAGIC);
	newaddr(&b);
	newaddr(&b);
	blob = blob_of(&b);
	c2c_assert_ok(ctx, c2c_nldump_open(ctx, &blob, C2C_NLDUMP_IFADDR_MAGIC, &d));
	assert_int_equal(c2c_nldump_next(ctx, &d, &m), 1);
	assert_int_equal(m.type, C2C_RTM_NEWADDR);
	assert_int_equal(m.len, 36);
	assert_int_equal(m.off, 4 + 16);
	while (n < 4 && c2c_nldump_attr(ctx, &d, &m, 8, &pos, &a) == 1)
		types[n++] = a.type;
	assert_int_equal(n, 3);
	assert_int_equal(types[0], 1);
	assert_int_equal(types[2], 3);
	assert_int_equal(a.len, 5); /* "lo:a" and its NUL; the padding is not the attribute's */
	assert_int_equal(a.off, 4 + 16 + 8 + 16);
	assert_int_equal(c2c_nldump_next(ctx, &d, &m), 1);
	assert_int_equal(d.index, 1);
	assert_int_equal(c2c_nldump_next(ctx, &d, &m), 0);
	tbuf_free(&b);
	c2c_ctx_free(ctx);
}

static void wrong_magic(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct tbuf b = { 0 };
	struct c2c_blob blob;
	struct c2c_nldump d;

	(void)state;
	tbuf_u32(&b, C2C_NLDUMP_ROUTE_MAGIC);
	blob = blob_of(&b);
	c2c_assert_fails(ctx, c2c_nldump_open(ctx, &blob, C2C_NLDUMP_IFADDR_MAGIC, &d),
			 C2C_E_BADMAGIC);
	assert_string_equal(c2c_errmsg(ctx), "'dir/ifaddr-2.img': offset 0 (0x0): wrong magic "
					     "0x45311224, expected iproute2's 0x47361222");
	c2c_op_begin(ctx);
	b.n = 2;
	blob = blob_of(&b);
	c2c_assert_fails(ctx, c2c_nldump_open(ctx, &blob, C2C_NLDUMP_IFADDR_MAGIC, &d),
			 C2C_E_TRUNCATED);
	assert_string_equal(c2c_errmsg(ctx), "'dir/ifaddr-2.img': offset 0 (0x0): raw network "
					     "image too short for its magic (2 bytes)");
	tbuf_free(&b);
	c2c_ctx_free(ctx);
}

static void truncated_header_and_message(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct tbuf b = { 0 };
	struct c2c_blob blob;
	struct c2c_nldump d;
	struct c2c_nlmsg m;

	(void)state;
	tbuf_u32(&b, C2C_NLDUMP_IFADDR_MAGIC);
	newaddr(&b);
	/* a header cut after 10 bytes */
	blob = blob_of(&b);
	blob.size = 4 + 10;
	c2c_assert_ok(ctx, c2c_nldump_open(ctx, &blob, C2C_NLDUMP_IFADDR_MAGIC, &d));
	c2c_assert_fails(ctx, c2c_nldump_next(ctx, &d, &m), C2C_E_TRUNCATED);
	assert_string_equal(c2c_errmsg(ctx), "'dir/ifaddr-2.img': offset 4 (0x4), record 0: "
					     "truncated netlink header: need 16 bytes, 10 left");
	/* the payload cut short */
	c2c_op_begin(ctx);
	blob.size = b.n - 1;
	c2c_assert_ok(ctx, c2c_nldump_open(ctx, &blob, C2C_NLDUMP_IFADDR_MAGIC, &d));
	c2c_assert_fails(ctx, c2c_nldump_next(ctx, &d, &m), C2C_E_TRUNCATED);
	assert_string_equal(c2c_errmsg(ctx), "'dir/ifaddr-2.img': offset 4 (0x4), record 0: "
					     "truncated netlink message: need 52 bytes, 51 left");
	/* a length below the header's own */
	c2c_op_begin(ctx);
	b.p[4] = 8;
	blob = blob_of(&b);
	c2c_assert_ok(ctx, c2c_nldump_open(ctx, &blob, C2C_NLDUMP_IFADDR_MAGIC, &d));
	c2c_assert_fails(ctx, c2c_nldump_next(ctx, &d, &m), C2C_E_LIMIT);
	assert_string_equal(c2c_errmsg(ctx), "'dir/ifaddr-2.img': offset 4 (0x4), record 0: "
					     "netlink message length 8 outside 16..16384");
	tbuf_free(&b);
	c2c_ctx_free(ctx);
}

static void attribute_past_its_message(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct tbuf b = { 0 };
	struct c2c_blob blob;
	struct c2c_nldump d;
	struct c2c_nlmsg m;
	struct c2c_nlattr a;
	size_t pos = 0;

	(void)state;
	tbuf_u32(&b, C2C_NLDUMP_IFADDR_MAGIC);
	newaddr(&b);
	b.p[4 + 16 + 8] = 0x40; /* IFA_ADDRESS claims 64 bytes */
	blob = blob_of(&b);
	c2c_assert_ok(ctx, c2c_nldump_open(ctx, &blob, C2C_NLDUMP_IFADDR_MAGIC, &d));
	assert_int_equal(c2c_nldump_next(ctx, &d, &m), 1);
	c2c_assert_fails(ctx, c2c_nldump_attr(ctx, &d, &m, 8, &pos, &a), C2C_E_TRUNCATED);
	assert_string_equal(c2c_errmsg(ctx), "'dir/ifaddr-2.img': offset 28 (0x1c): netlink "
					     "attribute length 64 outside 4..28 (the bytes left "
					     "in its message)");
	tbuf_free(&b);
	c2c_ctx_free(ctx);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(walks_messages_and_attributes),
	cmocka_unit_test(wrong_magic),
	cmocka_unit_test(truncated_header_and_message),
	cmocka_unit_test(attribute_past_its_message),
};

C2C_UNIT_MAIN(tests)
