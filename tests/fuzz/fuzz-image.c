/*
 * Fuzz target: stage 2, the image reader. The first input byte picks the
 * image kind (modulo the number of kinds); the rest is one image file: magic
 * words, then u32-length-prefixed records, each decoded as the protobuf
 * message ckpt2core reads from that kind of image (pagemaps: a PagemapHead,
 * then PagemapEntry records).
 *
 * Seeds: every metadata image of the fixtures, prefixed with its kind
 * (tests/fuzz/mkcorpus.py).
 */
#include <stdint.h>
#include <stdlib.h>

#include "error.h"
#include "image.h"

#include "core.pb-c.h"
#include "files.pb-c.h"
#include "inventory.pb-c.h"
#include "mm.pb-c.h"
#include "net.pb-c.h"
#include "pagemap.pb-c.h"
#include "pstree.pb-c.h"
#include "stats.pb-c.h"
#include "task.pb-c.h"

#include "fuzz-util.h"

/* The message of each kind's records (the first record's, when it differs). */
static const ProtobufCMessageDescriptor *const first_desc[_C2C_IMG_MAX] = {
	[C2C_IMG_INVENTORY] = &pb_inventory_entry__descriptor,
	[C2C_IMG_PSTREE] = &pb_pstree_entry__descriptor,
	[C2C_IMG_CORE] = &pb_core_entry__descriptor,
	[C2C_IMG_IDS] = &pb_task_kobj_ids_entry__descriptor,
	[C2C_IMG_MM] = &pb_mm_entry__descriptor,
	[C2C_IMG_PAGEMAP] = &pb_pagemap_head__descriptor,
	[C2C_IMG_SHMEM_PAGEMAP] = &pb_pagemap_head__descriptor,
	[C2C_IMG_FILES] = &pb_file_entry__descriptor,
	[C2C_IMG_REG_FILES] = &pb_reg_file_entry__descriptor,
	[C2C_IMG_MEMFD] = &pb_memfd_inode_entry__descriptor,
	[C2C_IMG_REMAP_FPATH] = &pb_remap_file_path_entry__descriptor,
	[C2C_IMG_STATS] = &pb_stats_entry__descriptor,
	[C2C_IMG_FDINFO] = &pb_fdinfo_entry__descriptor,
	[C2C_IMG_FS] = &pb_fs_entry__descriptor,
	[C2C_IMG_UTSNS] = &pb_utsns_entry__descriptor,
	[C2C_IMG_NETDEV] = &pb_net_device_entry__descriptor,
	[C2C_IMG_NETNS] = &pb_netns_entry__descriptor,
	[C2C_IMG_CGROUP] = &pb_cgroup_entry__descriptor,
	/* the raw kinds (ifaddr, route) have no records: fuzz-net reads them */
};

static char path[] = "fuzz.img";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct c2c_ctx *ctx;
	struct c2c_blob blob = C2C_BLOB_INIT;
	struct c2c_image img;
	enum c2c_image_kind kind;
	ProtobufCMessage *msg;
	int r;

	if (size < 1)
		return 0;
	kind = (enum c2c_image_kind)(data[0] % _C2C_IMG_MAX);
	ctx = c2c_ctx_new();
	if (!ctx)
		return 0;
	blob.path = path;
	blob.data = (uint8_t *)(uintptr_t)(data + 1); /* only read: borrowed */
	blob.size = size - 1;
	blob.fd = -1;
	blob.borrowed = true;

	r = first_desc[kind] ? c2c_image_open(ctx, &blob, kind, &img) : 0;
	if (r == 0 && first_desc[kind]) {
		const ProtobufCMessageDescriptor *d = first_desc[kind];

		while ((r = c2c_image_next_msg(ctx, &img, d, &msg)) == 1) {
			FUZZ_CHECK(img.pos <= blob.size);
			protobuf_c_message_free_unpacked(msg, NULL);
			if (kind == C2C_IMG_PAGEMAP || kind == C2C_IMG_SHMEM_PAGEMAP)
				d = &pb_pagemap_entry__descriptor;
		}
		FUZZ_CHECK(r <= 0);
		if (r == 0)
			FUZZ_CHECK(img.pos == blob.size);
	}
	fuzz_report(ctx, "image", r);
	/* Every failure is described, with a non-empty message. */
	if (r < 0) {
		FUZZ_CHECK(c2c_errcode(ctx) == r);
		FUZZ_CHECK(c2c_errmsg(ctx)[0] != '\0');
	}
	c2c_ctx_free(ctx);
	return 0;
}
