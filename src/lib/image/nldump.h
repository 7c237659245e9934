/*
 * Stage 2, image reader: the raw network images CRIU has iproute2 write
 * (criu/net.c dump_ifaddr, dump_route: `ip addr save`, `ip route save` into
 * ifaddr-<id>.img, route-<id>.img, route6-<id>.img). Such an image is a u32
 * magic of iproute2's, then the netlink messages of the kernel's dump reply
 * as they came (ip/ipaddress.c save_nlmsg), each struct nlmsghdr and its
 * payload, NLMSG_ALIGN'ed (lib/libnetlink.c rtnl_from_file reads them so).
 * Words are host byte order, little endian for the checkpoints we read.
 *
 * This layer checks every length against the bytes left and knows the byte
 * offset of each message and attribute; what the attributes mean is for
 * model/network.c.
 */
#ifndef C2C_NLDUMP_H
#define C2C_NLDUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "source.h"

/* iproute2's magics: ip/ipaddress.c ipadd_dump_magic, ip/iproute.c route_dump_magic. */
#define C2C_NLDUMP_IFADDR_MAGIC 0x47361222U
#define C2C_NLDUMP_ROUTE_MAGIC 0x45311224U

/* Message types (include/uapi/linux/netlink.h, rtnetlink.h). */
#define C2C_NLMSG_DONE 3
#define C2C_RTM_NEWADDR 20
#define C2C_RTM_NEWROUTE 24

/* Cursor over the messages of one raw image. */
struct c2c_nldump {
	const struct c2c_blob *blob;
	uint64_t pos;	  /* next unread byte */
	uint64_t msg_off; /* offset of the current message's header */
	int64_t index;	  /* of the current message, -1 before the first */
};

/* One netlink message: its type and payload (after the 16-byte header). */
struct c2c_nlmsg {
	uint16_t type, flags;
	const uint8_t *data;
	size_t len;
	uint64_t off; /* of data in the image */
};

/* One attribute (struct rtattr) of a message. */
struct c2c_nlattr {
	uint16_t type;
	const uint8_t *data;
	size_t len;
	uint64_t off; /* of the attribute's header in the image */
};

/*
 * Check the image's magic and position before its first message: 0, or
 * C2C_E_TRUNCATED / C2C_E_BADMAGIC at offset 0.
 */
int c2c_nldump_open(struct c2c_ctx *ctx, const struct c2c_blob *blob, uint32_t magic,
		    struct c2c_nldump *d);

/*
 * Next message: 1 with *m set (borrowed from the blob), 0 at a clean end,
 * or C2C_E_TRUNCATED (a header or payload cut short) / C2C_E_LIMIT (a
 * length below the header, or above iproute2's 16 KiB buffer) at the
 * message's offset.
 */
int c2c_nldump_next(struct c2c_ctx *ctx, struct c2c_nldump *d, struct c2c_nlmsg *m);

/*
 * The attributes of message m that start hdr bytes into its payload (after
 * its fixed struct, e.g. 8 for struct ifaddrmsg): *pos starts at 0 and is
 * advanced; returns 1 with *a set, 0 after the last, or C2C_E_TRUNCATED at
 * the attribute's offset (a length shorter than its header or past the end
 * of the message).
 */
int c2c_nldump_attr(struct c2c_ctx *ctx, const struct c2c_nldump *d, const struct c2c_nlmsg *m,
		    size_t hdr, size_t *pos, struct c2c_nlattr *a);

/* The location of the current message (file, offset of its header, index). */
#define C2C_NLDUMP_LOC(d) ((struct c2c_loc){ (d)->blob->path, NULL, (d)->msg_off, (d)->index })

#endif /* C2C_NLDUMP_H */
