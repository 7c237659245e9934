/*
 * Page placement for archives: while an archive streams by, decide for each
 * pages-N.img where its bytes go. The engines' tar order puts mm-N.img and
 * pagemap-N.img before pages-N.img (container-archives.md §2), and a core's
 * page offsets depend only on those (corebuild.h), so the pages of a process
 * are written once, straight into its unnamed core file, instead of into a
 * spool and then again into the core. Whatever cannot be placed is spooled;
 * the writer checks every placed byte against its plan before adopting the
 * file (elfwrite.c), so a wrong guess costs a copy, never a wrong core.
 */
#ifndef C2C_PLACE_H
#define C2C_PLACE_H

#include "arcsource.h"
#include "process.h"

struct c2c_place_state {
	struct c2c_ctx *ctx;
	int dirfd;	   /* output directory: core files are created here */
	struct place_map *maps; /* task pagemaps seen, decoded */
	size_t nmaps;
	struct place_mm *mms; /* mm images seen */
	size_t nmms;
	struct place_pages *pages; /* pages images spooled */
	size_t npages;
};

/* Set up st and the placer callbacks for c2c_archive_read. */
void c2c_place_init(struct c2c_place_state *st, struct c2c_ctx *ctx, int dirfd,
		    struct c2c_placer *placer);
void c2c_place_release(struct c2c_place_state *st);

#endif /* C2C_PLACE_H */
