/*
 * Stage 8, api: page placement for archives: while an archive streams by, decide for each
 * pages-N.img where its bytes go. A core's page offsets depend only on
 * mm-N.img and pagemap-N.img (corebuild.h). When both came before pages-N.img
 * the pages are written once, straight into the process's unnamed core file.
 * CRI-O and Podman write members in lexical order (Go's filepath.Walk), so
 * mm and pagemap come first. A GNU tar re-pack in readdir order (the
 * fixture counter's archives) puts pages-1.img first: then the member is
 * written once, verbatim, into a file of its own that becomes its process's
 * core, laid out around those bytes (C2C_LAYOUT_VERBATIM_START,
 * corebuild.c). Only what that cannot take (more than PLACE_MAX_VERBATIM
 * such members, no O_TMPFILE) is spooled, and moved into the core (page
 * cache to page cache) and punched out of the spool once its mm and pagemap
 * arrive. The writer checks every placed byte against its plan before
 * adopting the file (elfwrite.c), so a wrong guess costs a copy, never a
 * wrong core.
 */
#ifndef C2C_PLACE_H
#define C2C_PLACE_H

#include "arcsource.h"
#include "process.h"

struct c2c_place_state {
	struct c2c_ctx *ctx;
	int dirfd;	   /* output directory: core files are created here */
	struct place_map *maps; /* task pagemaps seen, decoded */
	size_t nmaps, maps_cap;
	struct place_mm *mms; /* mm images seen */
	size_t nmms, mms_cap;
	struct place_pages *pages; /* pages images spooled */
	size_t npages, pages_cap;
	struct place_verb *verbs; /* pages images written verbatim into cores */
	size_t nverbs, verbs_cap;
};

/* Set up st and the placer callbacks for c2c_archive_read. */
void c2c_place_init(struct c2c_place_state *st, struct c2c_ctx *ctx, int dirfd,
		    struct c2c_placer *placer);
void c2c_place_release(struct c2c_place_state *st);

#endif /* C2C_PLACE_H */
