/*
 * Stage 2: the framing of iproute2's `ip addr save` / `ip route save`
 * output, which CRIU stores as ifaddr-/route-/route6-<id>.img (nldump.h).
 * Layouts: struct nlmsghdr {u32 len; u16 type, flags; u32 seq, pid} and
 * struct rtattr {u16 len, type} (include/uapi/linux/netlink.h, rtnetlink.h),
 * both aligned to 4 bytes (NLMSG_ALIGNTO, RTA_ALIGNTO).
 */
#include <stdio.h>

#include "nldump.h"
#include "util.h"

#define NLMSG_HDRLEN 16U
#define RTA_HDRLEN 4U
/* rtnl_from_file's buffer (lib/libnetlink.c): iproute2 rejects longer messages. */
#define NLDUMP_MAX_MSG 16384U

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint64_t align4(uint64_t n)
{
	return (n + 3) & ~(uint64_t)3;
}

int c2c_nldump_open(struct c2c_ctx *ctx, const struct c2c_blob *blob, uint32_t magic,
		    struct c2c_nldump *d)
{
	uint32_t w;

	*d = (struct c2c_nldump){ blob, 0, 0, -1 };
	if (blob->size < 4)
		return c2c_fail(ctx, &C2C_LOC_AT(blob->path, 0), C2C_E_TRUNCATED,
				"raw network image too short for its magic (%llu bytes)",
				(unsigned long long)blob->size);
	w = get_u32(blob->data);
	if (w != magic)
		return c2c_fail(ctx, &C2C_LOC_AT(blob->path, 0), C2C_E_BADMAGIC,
				"wrong magic 0x%08x, expected iproute2's 0x%08x", w, magic);
	d->pos = d->msg_off = 4;
	return 0;
}

int c2c_nldump_next(struct c2c_ctx *ctx, struct c2c_nldump *d, struct c2c_nlmsg *m)
{
	uint64_t left = d->blob->size - d->pos;
	const uint8_t *p = d->blob->data + d->pos;
	uint32_t len;

	d->msg_off = d->pos;
	if (left == 0)
		return 0;
	d->index++;
	if (left < NLMSG_HDRLEN)
		return c2c_fail(ctx, &C2C_NLDUMP_LOC(d), C2C_E_TRUNCATED,
				"truncated netlink header: need %u bytes, %llu left", NLMSG_HDRLEN,
				(unsigned long long)left);
	len = get_u32(p);
	if (len < NLMSG_HDRLEN || len > NLDUMP_MAX_MSG)
		return c2c_fail(ctx, &C2C_NLDUMP_LOC(d), C2C_E_LIMIT,
				"netlink message length %u outside %u..%u", len, NLMSG_HDRLEN,
				NLDUMP_MAX_MSG);
	/* The last message's padding may be missing: only its own bytes are required. */
	if (len > left)
		return c2c_fail(ctx, &C2C_NLDUMP_LOC(d), C2C_E_TRUNCATED,
				"truncated netlink message: need %u bytes, %llu left", len,
				(unsigned long long)left);
	*m = (struct c2c_nlmsg){ .type = get_u16(p + 4), .flags = get_u16(p + 6),
				 .data = p + NLMSG_HDRLEN, .len = len - NLMSG_HDRLEN,
				 .off = d->pos + NLMSG_HDRLEN };
	d->pos += align4(len) < left ? align4(len) : left;
	return 1;
}

int c2c_nldump_attr(struct c2c_ctx *ctx, const struct c2c_nldump *d, const struct c2c_nlmsg *m,
		    size_t hdr, size_t *pos, struct c2c_nlattr *a)
{
	size_t at = *pos ? *pos : hdr;
	uint16_t len;

	if (at >= m->len)
		return 0;
	if (m->len - at < RTA_HDRLEN)
		return c2c_fail(ctx, &C2C_LOC_AT(d->blob->path, m->off + at), C2C_E_TRUNCATED,
				"truncated netlink attribute header: need %u bytes, %zu left in "
				"the message", RTA_HDRLEN, m->len - at);
	len = get_u16(m->data + at);
	if (len < RTA_HDRLEN || len > m->len - at)
		return c2c_fail(ctx, &C2C_LOC_AT(d->blob->path, m->off + at), C2C_E_TRUNCATED,
				"netlink attribute length %u outside %u..%zu (the bytes left in "
				"its message)", len, RTA_HDRLEN, m->len - at);
	*a = (struct c2c_nlattr){ .type = get_u16(m->data + at + 2),
				  .data = m->data + at + RTA_HDRLEN,
				  .len = len - RTA_HDRLEN,
				  .off = m->off + at };
	at += (size_t)align4(len);
	/* *pos 0 means "start": past the end is kept as m->len, never 0 again. */
	*pos = at < m->len ? at : m->len;
	return 1;
}
