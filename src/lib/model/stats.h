/*
 * Stage 4, process model: CRIU's dump statistics (the stats-dump image,
 * criu-image-format §4) as a plain struct, for the report. Nothing from
 * protobuf-c is visible here.
 */
#ifndef C2C_STATS_H
#define C2C_STATS_H

#include <stdint.h>

#include "source.h"

/* dump_stats_entry of stats-dump: times in microseconds, counts in pages. */
struct c2c_dump_stats {
	uint64_t freezing_time, frozen_time, memdump_time, memwrite_time;
	uint64_t pages_scanned, pages_skipped_parent, pages_written, pages_lazy;
};

/*
 * Read the dump statistics of the checkpoint in src (stats-dump beside or
 * among the images). Returns 0 with *ret filled, 1 when there are none (no
 * stats-dump, no record, or a record without dump statistics), or a negative
 * error (bad magic, truncated or undecodable record). *ret is written only
 * on success. The statistics are optional: callers that can do without them
 * wrap the call in c2c_try_begin()/c2c_try_end().
 */
int c2c_stats_load(struct c2c_ctx *ctx, struct c2c_source *src, struct c2c_dump_stats *ret);

#endif /* C2C_STATS_H */
