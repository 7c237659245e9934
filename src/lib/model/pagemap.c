/*
 * Stage 4, process model: page runs. A pagemap image (pagemap-<pid>.img, or
 * pagemap-shmem-<shmid>.img for shared memory) is a PagemapHead naming
 * pages-<pages_id>.img, then PagemapEntry records (criu-image-format §2.5).
 *
 * Rules exactly as CRIU applies them (criu/pagemap.c):
 *  - in_parent (CRIU <= 3.4) means PE_PARENT; no flags field means PE_PRESENT;
 *  - the page count is field 5 when present, else field 2 (compat_nr_pages);
 *  - the offset into the pages file advances only over PE_PRESENT entries;
 *  - PE_PARENT data is at the same address in parent/<same pagemap>, to any
 *    depth; PE_LAZY without PE_PRESENT has no data in the directory at all.
 * The result is a sorted list of extents, each pointing at its pages file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "pagemap.pb-c.h"
#include "process.h"
#include "util.h"

/* PagemapEntry.flags bits (criu/include/pagemap.h; doc §2.5). */
#define PE_PARENT 1U
#define PE_LAZY 2U
#define PE_PRESENT 4U

struct extvec {
	struct c2c_extent *v;
	size_t n, cap;
	struct c2c_loc *locs; /* with pending PE_PARENT runs: the record of each */
	size_t locs_cap;
};

static int extvec_push_at(struct c2c_ctx *ctx, struct extvec *ev, struct c2c_extent e,
			  const struct c2c_loc *loc)
{
	int r = c2c_array_grow(ctx, &ev->v, &ev->cap, ev->n + 1, sizeof(*ev->v));

	if (r == 0 && loc)
		r = c2c_array_grow(ctx, &ev->locs, &ev->locs_cap, ev->n + 1, sizeof(*ev->locs));
	if (r < 0)
		return r;
	if (loc)
		ev->locs[ev->n] = *loc;
	ev->v[ev->n++] = e;
	return 0;
}

static int extvec_push(struct c2c_ctx *ctx, struct extvec *ev, struct c2c_extent e)
{
	return extvec_push_at(ctx, ev, e, NULL);
}

int c2c_extent_cmp(const void *a, const void *b)
{
	return c2c_cmp_u64(((const struct c2c_extent *)a)->addr,
			   ((const struct c2c_extent *)b)->addr);
}

/* The key of c2c_pagemap_find: an address, and the page size the extents count in. */
struct extent_key {
	uint64_t addr, page_size;
};

static bool extent_below(const void *element, const void *key)
{
	const struct c2c_extent *e = element;
	const struct extent_key *k = key;

	return e->addr + e->npages * k->page_size <= k->addr;
}

size_t c2c_pagemap_find(const struct c2c_pagemap *pm, uint64_t addr)
{
	const struct extent_key k = { addr, pm->page_size };

	return c2c_lower_bound(pm->ext, pm->n, sizeof(*pm->ext), &k, extent_below);
}

void c2c_pagemap_release(struct c2c_pagemap *pm)
{
	free(pm->ext);
	*pm = (struct c2c_pagemap){ 0 };
}

int c2c_checkpoint_keep_blob(struct c2c_ctx *ctx, struct c2c_checkpoint *ck, struct c2c_blob *b,
			     const struct c2c_blob **ret)
{
	struct c2c_blob *copy;
	int r = c2c_array_grow(ctx, &ck->blobs, &ck->blobs_cap, ck->nblobs + 1,
			       sizeof(*ck->blobs));

	if (r < 0)
		return r;
	copy = malloc(sizeof(*copy));
	if (!copy)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	*copy = *b;
	*b = C2C_BLOB_INIT;
	ck->blobs[ck->nblobs++] = copy;
	*ret = copy;
	return 0;
}

/*
 * Append the parts of [addr, addr + npages) that the parent's extents cover;
 * any page the parent does not have is an error (CRIU checks at dump time that
 * every hole is covered, check_pagehole_in_parent()).
 */
static int take_from_parent(struct c2c_ctx *ctx, const struct c2c_pagemap *ppm, uint64_t addr,
			    uint64_t npages, const struct c2c_loc *loc, struct extvec *out,
			    uint64_t *lazy, uint64_t *parent)
{
	uint64_t ps = ppm->page_size, end = addr + npages * ps;
	size_t i = c2c_pagemap_find(ppm, addr);

	while (addr < end) {
		const struct c2c_extent *e = i < ppm->n ? &ppm->ext[i] : NULL;
		uint64_t eend, stop, skip;
		int r;

		if (!e || e->addr > addr)
			return c2c_fail(ctx, loc, C2C_E_INCONSISTENT,
					"page %#llx is marked in parent, but the parent images "
					"do not have it",
					(unsigned long long)addr);
		eend = e->addr + e->npages * ps;
		stop = eend < end ? eend : end;
		skip = (addr - e->addr) / ps;
		if (!e->blob)
			*lazy += (stop - addr) / ps;
		else
			*parent += (stop - addr) / ps;
		r = extvec_push(ctx, out,
				(struct c2c_extent){ addr, (stop - addr) / ps, e->blob,
						     e->blob ? e->off + skip * ps : 0 });
		if (r < 0)
			return r;
		addr = stop;
		i++;
	}
	return 0;
}

/* The pages_id of a pagemap's head record (msg, freed here). */
static int head_pages_id(struct c2c_ctx *ctx, const struct c2c_image *img, ProtobufCMessage *msg,
			 uint64_t *pages_id)
{
	const PbPagemapHead *h = (const PbPagemapHead *)msg;
	int r = 0;

	if (!h->has_pages_id)
		r = c2c_fail(ctx, &C2C_IMAGE_LOC(img), C2C_E_MISSING, "pagemap head has no pages_id");
	else
		*pages_id = h->pages_id;
	protobuf_c_message_free_unpacked(msg, NULL);
	return r;
}

/*
 * Flags and page count of an entry as CRIU reads them (see the top of this
 * file), checked: a page-aligned vaddr, no overflow of vaddr + len.
 */
static int entry_decode(struct c2c_ctx *ctx, const struct c2c_loc *loc, const PbPagemapEntry *e,
			uint64_t ps, uint32_t *flags, uint64_t *nr, uint64_t *len)
{
	uint64_t end;

	*len = 0; /* set on every path: callers read it only on success */
	*flags = e->has_flags ? e->flags : PE_PRESENT;
	*nr = e->has_nr_pages ? e->nr_pages : e->compat_nr_pages;
	if (e->has_in_parent && e->in_parent)
		*flags = PE_PARENT;
	if (loc->record > (int64_t)C2C_MAX_PAGEMAP_ENTRIES)
		return c2c_fail(ctx, loc, C2C_E_LIMIT, "more than %u pagemap entries",
				C2C_MAX_PAGEMAP_ENTRIES);
	if (!e->has_vaddr || e->vaddr % ps)
		return c2c_fail(ctx, loc, C2C_E_INCONSISTENT,
				"pagemap entry has no page-aligned vaddr");
	if (c2c_mul_overflow(*nr, ps, len) || c2c_add_overflow(e->vaddr, *len, &end))
		return c2c_fail(ctx, loc, C2C_E_INCONSISTENT,
				"pagemap entry %#llx + %llu pages overflows",
				(unsigned long long)e->vaddr, (unsigned long long)*nr);
	return 0;
}

/* One pass over the entries of a pagemap (after its head). */
struct walk {
	bool present_only;	      /* c2c_pagemap_present: the PE_PRESENT entries only */
	uint64_t page_size;	      /* of the dumped process: what nr_pages count */
	struct c2c_source *src;	      /* names the missing pages image (c2c_source_path) */
	const struct c2c_blob *pages; /* their pages image, NULL when it is missing */
	const char *dir, *pname;      /* the image directory and the pages image, for messages */
	uint64_t off;		      /* offset of the next PE_PRESENT entry's pages */
	uint64_t lazy;		      /* pages without data anywhere */
	struct extvec ev, pend;	      /* the extents; PE_PARENT runs still to resolve */
	struct c2c_loc parent_loc;    /* the first PE_PARENT record */
};

static int walk_present(struct c2c_ctx *ctx, struct walk *w, const PbPagemapEntry *e,
			const struct c2c_loc *loc, uint32_t flags, uint64_t nr, uint64_t len)
{
	uint64_t end;
	int r;

	/* Placement reads only the offsets: any that overflows is wrong. */
	if (c2c_add_overflow(w->off, len, &end))
		return c2c_fail(ctx, loc, C2C_E_INCONSISTENT, "pages image offset overflows");
	if (!nr || !(flags & PE_PRESENT))
		return 0;
	r = extvec_push(ctx, &w->ev, (struct c2c_extent){ e->vaddr, nr, NULL, w->off });
	w->off = end;
	return r;
}

static int walk_entry(struct c2c_ctx *ctx, void *data, const ProtobufCMessage *msg,
		      const struct c2c_loc *loc)
{
	const PbPagemapEntry *e = (const PbPagemapEntry *)msg;
	struct walk *w = data;
	uint64_t nr, len, end;
	uint32_t flags;
	int r = entry_decode(ctx, loc, e, w->page_size, &flags, &nr, &len);

	if (r < 0)
		return r;
	if (w->present_only)
		return walk_present(ctx, w, e, loc, flags, nr, len);
	if (nr == 0)
		return 0;
	if (flags & PE_PRESENT) {
		if (!w->pages) {
			/* As the source names it ("x.tar:pages-N.img" in an archive). */
			char *pp = c2c_source_path(w->src, w->pname);

			r = c2c_fail(ctx, loc, C2C_E_MISSING,
				     "pages image '%s' (pages_id of record 0) is missing",
				     pp ? pp : w->pname);
			free(pp);
			return r;
		}
		if (c2c_add_overflow(w->off, len, &end) || end > w->pages->size)
			return c2c_fail(ctx, loc, C2C_E_TRUNCATED,
					"entry %#llx needs bytes up to %llu of '%s', which has %llu",
					(unsigned long long)e->vaddr, (unsigned long long)end,
					w->pages->path, (unsigned long long)w->pages->size);
		r = extvec_push(ctx, &w->ev, (struct c2c_extent){ e->vaddr, nr, w->pages, w->off });
		w->off = end;
		return r;
	}
	if (flags & PE_PARENT) {
		if (!w->pend.n)
			w->parent_loc = *loc;
		return extvec_push_at(ctx, &w->pend, (struct c2c_extent){ e->vaddr, nr, NULL, 0 },
				      loc);
	}
	/* PE_LAZY only (or no flag at all): the data is not in this dump. */
	w->lazy += nr;
	return extvec_push(ctx, &w->ev, (struct c2c_extent){ e->vaddr, nr, NULL, 0 });
}

int c2c_pagemap_load(struct c2c_ctx *ctx, struct c2c_checkpoint *ck, struct c2c_source *src,
		     enum c2c_pagemap_kind kind, uint64_t id, uint64_t page_size,
		     struct c2c_pagemap *ret)
{
	enum c2c_image_kind ik = kind == C2C_PAGEMAP_TASK ? C2C_IMG_PAGEMAP : C2C_IMG_SHMEM_PAGEMAP;
	struct c2c_blob mapb = C2C_BLOB_INIT, pagesb = C2C_BLOB_INIT;
	struct walk w = { .page_size = page_size, .src = src, .dir = src->path,
			  .parent_loc = C2C_LOC_NONE };
	struct c2c_pagemap ppm = { .page_size = page_size };
	ProtobufCMessage *msg = NULL;
	struct c2c_image img;
	uint64_t parent = 0, pages_id = 0;
	char name[64], pname[32];
	int r;

	r = c2c_image_load_one(ctx, src, ik, id, &pb_pagemap_head__descriptor,
			       kind == C2C_PAGEMAP_SHMEM, &mapb, &msg, &img);
	if (r != 0)
		return r;
	c2c_image_name(ik, id, name, sizeof(name));
	r = head_pages_id(ctx, &img, msg, &pages_id);
	if (r < 0)
		goto out;
	snprintf(pname, sizeof(pname), "pages-%llu.img", (unsigned long long)pages_id);
	w.pname = pname;
	r = c2c_source_open_data(ctx, src, pname, &pagesb);
	if (r == 0)
		r = c2c_checkpoint_keep_blob(ctx, ck, &pagesb, &w.pages);
	if (r < 0)
		goto out;
	r = c2c_image_foreach(ctx, &img, &pb_pagemap_entry__descriptor, walk_entry, &w);
	if (r < 0)
		goto out;

	if (w.pend.n) {
		struct c2c_source *psrc;

		r = c2c_source_parent(ctx, src, &psrc);
		if (r == 1)
			r = c2c_fail(ctx, &w.parent_loc, C2C_E_MISSING,
				     "pages are marked in parent, but '%s' has no parent directory",
				     src->path);
		if (r < 0)
			goto out;
		r = c2c_pagemap_load(ctx, ck, psrc, kind, id, page_size, &ppm);
		if (r == 1)
			r = c2c_fail(ctx, &w.parent_loc, C2C_E_MISSING,
				     "pages are marked in parent, but '%s' has no '%s'", psrc->path,
				     name);
		if (r < 0)
			goto out;
		for (size_t i = 0; i < w.pend.n; i++) {
			r = take_from_parent(ctx, &ppm, w.pend.v[i].addr, w.pend.v[i].npages,
					     &w.pend.locs[i], &w.ev, &w.lazy, &parent);
			if (r < 0)
				goto out;
		}
	}

	if (w.ev.n > 1) /* qsort(NULL, 0, ...) is undefined */
		qsort(w.ev.v, w.ev.n, sizeof(*w.ev.v), c2c_extent_cmp);
	for (size_t i = 1; i < w.ev.n; i++) {
		const struct c2c_extent *a = &w.ev.v[i - 1];

		if (a->addr + a->npages * page_size > w.ev.v[i].addr) {
			r = c2c_fail(ctx, &C2C_LOC_FILE(mapb.path), C2C_E_INCONSISTENT,
				     "pagemap entries overlap at %#llx",
				     (unsigned long long)w.ev.v[i].addr);
			goto out;
		}
	}
	*ret = (struct c2c_pagemap){ w.ev.v, w.ev.n, w.lazy, parent, w.pages, page_size };
	w.ev.v = NULL;
	r = 0;
out:
	c2c_pagemap_release(&ppm);
	free(w.ev.v);
	free(w.ev.locs);
	free(w.pend.v);
	free(w.pend.locs);
	c2c_blob_release(&pagesb);
	c2c_blob_release(&mapb);
	return r;
}

int c2c_pagemap_present(struct c2c_ctx *ctx, const struct c2c_blob *b, uint64_t page_size,
			uint64_t *pages_id, struct c2c_extent **ret, size_t *ret_n)
{
	struct walk w = { .present_only = true, .page_size = page_size };
	ProtobufCMessage *msg = NULL;
	struct c2c_image img;
	int r;

	r = c2c_image_read_one(ctx, b, C2C_IMG_PAGEMAP, &pb_pagemap_head__descriptor, &img, &msg);
	if (r == 0)
		r = head_pages_id(ctx, &img, msg, pages_id);
	if (r < 0 || !ret)
		return r;
	/* The same rules as c2c_pagemap_load, present entries only. */
	r = c2c_image_foreach(ctx, &img, &pb_pagemap_entry__descriptor, walk_entry, &w);
	if (r < 0) {
		free(w.ev.v);
		return r;
	}
	*ret = w.ev.v;
	*ret_n = w.ev.n;
	return 0;
}
