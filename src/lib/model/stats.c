/*
 * Stage 4, process model: the dump statistics CRIU writes to stats-dump
 * (criu-image-format §4; message pb_stats_entry of proto/stats.proto).
 *
 * Consumes the first record of stats-dump; produces struct c2c_dump_stats.
 * Fields CRIU did not write read as 0, as protobuf defaults them.
 */
#include "image.h"
#include "stats.h"
#include "stats.pb-c.h"

int c2c_stats_load(struct c2c_ctx *ctx, struct c2c_source *src, struct c2c_dump_stats *ret)
{
	struct c2c_blob b = C2C_BLOB_INIT;
	ProtobufCMessage *msg = NULL;
	const PbDumpStatsEntry *d;
	struct c2c_image img;
	int r;

	r = c2c_source_load_meta(ctx, src, c2c_imgdesc_get(C2C_IMG_STATS)->name, &b);
	if (r != 0)
		goto out;
	r = c2c_image_open(ctx, &b, C2C_IMG_STATS, &img);
	if (r < 0)
		goto out;
	r = c2c_image_next_msg(ctx, &img, &pb_stats_entry__descriptor, &msg);
	if (r <= 0) {
		r = r < 0 ? r : 1; /* an empty image holds no statistics */
		goto out;
	}
	d = ((const PbStatsEntry *)msg)->dump;
	if (!d) {
		r = 1;
		goto out;
	}
	*ret = (struct c2c_dump_stats){
		.freezing_time = d->freezing_time,
		.frozen_time = d->frozen_time,
		.memdump_time = d->memdump_time,
		.memwrite_time = d->memwrite_time,
		.pages_scanned = d->pages_scanned,
		.pages_skipped_parent = d->pages_skipped_parent,
		.pages_written = d->pages_written,
		.pages_lazy = d->pages_lazy,
	};
	r = 0;
out:
	if (msg)
		protobuf_c_message_free_unpacked(msg, NULL);
	c2c_blob_release(&b);
	return r;
}
