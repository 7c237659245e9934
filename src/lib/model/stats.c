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
	const PbDumpStatsEntry *d = NULL;
	struct c2c_image img;
	int r;

	r = c2c_source_load_meta(ctx, src, c2c_imgdesc_get(C2C_IMG_STATS)->name, &b);
	if (r == 0)
		r = c2c_image_open(ctx, &b, C2C_IMG_STATS, &img);
	if (r == 0)
		r = c2c_image_next_msg(ctx, &img, &pb_stats_entry__descriptor, &msg);
	if (r >= 0 && msg)
		d = ((const PbStatsEntry *)msg)->dump;
	if (r >= 0)
		r = d ? 0 : 1; /* none: no stats-dump, no record, or a record without them */
	if (r == 0) {
#define C2C_STATS_COPY(field) ret->field = d->field;
		C2C_DUMP_STATS_TIMES(C2C_STATS_COPY)
		C2C_DUMP_STATS_PAGES(C2C_STATS_COPY)
#undef C2C_STATS_COPY
	}
	if (msg)
		protobuf_c_message_free_unpacked(msg, NULL);
	c2c_blob_release(&b);
	return r;
}
