/*
 * Stage 4, process model: CRIU's dump statistics (the stats-dump image,
 * criu-image-format §4) as a plain struct, for the report. Nothing from
 * protobuf-c is visible here.
 */
#ifndef C2C_STATS_H
#define C2C_STATS_H

#include <stdint.h>

#include "source.h"

/*
 * The fields of dump_stats_entry we keep, by unit (the report names each
 * after its field, times with a "_us" suffix): one list for the struct,
 * the decoding and the report.
 */
#define C2C_DUMP_STATS_TIMES(X) X(freezing_time) X(frozen_time) X(memdump_time) X(memwrite_time)
#define C2C_DUMP_STATS_PAGES(X) \
	X(pages_scanned) X(pages_skipped_parent) X(pages_written) X(pages_lazy)

/* Dump statistics: times in microseconds, counts in pages; 0 when CRIU wrote none. */
struct c2c_dump_stats {
#define C2C_DUMP_STATS_FIELD(field) uint64_t field;
	C2C_DUMP_STATS_TIMES(C2C_DUMP_STATS_FIELD)
	C2C_DUMP_STATS_PAGES(C2C_DUMP_STATS_FIELD)
#undef C2C_DUMP_STATS_FIELD
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
