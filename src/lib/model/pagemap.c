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
};

static int extvec_push_at(struct c2c_ctx *ctx, struct extvec *ev, struct c2c_extent e,
			  const struct c2c_loc *loc)
{
	if (ev->n == ev->cap) {
		size_t cap = ev->cap ? ev->cap * 2 : 16;
		struct c2c_extent *v = reallocarray(ev->v, cap, sizeof(*v));
		struct c2c_loc *l;

		if (!v)
			return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		ev->v = v;
		if (loc) {
			l = reallocarray(ev->locs, cap, sizeof(*l));
			if (!l)
				return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
			ev->locs = l;
		}
		ev->cap = cap;
	}
	if (loc)
		ev->locs[ev->n] = *loc;
	ev->v[ev->n++] = e;
	return 0;
}

static int extvec_push(struct c2c_ctx *ctx, struct extvec *ev, struct c2c_extent e)
{
	return extvec_push_at(ctx, ev, e, NULL);
}

static int cmp_extent(const void *a, const void *b)
{
	const struct c2c_extent *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

size_t c2c_pagemap_find(const struct c2c_pagemap *pm, uint64_t addr)
{
	size_t lo = 0, hi = pm->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct c2c_extent *e = &pm->ext[mid];

		if (e->addr + e->npages * pm->page_size <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void c2c_pagemap_release(struct c2c_pagemap *pm)
{
	free(pm->ext);
	*pm = (struct c2c_pagemap){ 0 };
}

int c2c_checkpoint_keep_blob(struct c2c_ctx *ctx, struct c2c_checkpoint *ck, struct c2c_blob *b,
			     const struct c2c_blob **ret)
{
	struct c2c_blob **v, *copy = malloc(sizeof(*copy));

	if (!copy)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	v = reallocarray(ck->blobs, ck->nblobs + 1, sizeof(*v));
	if (!v) {
		free(copy);
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	}
	*copy = *b;
	*b = C2C_BLOB_INIT;
	v[ck->nblobs++] = copy;
	ck->blobs = v;
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

/* Open a pagemap image and read its head: the pages image it names. */
static int open_pagemap(struct c2c_ctx *ctx, const struct c2c_blob *b, enum c2c_image_kind ik,
			struct c2c_image *img, uint64_t *pages_id)
{
	ProtobufCMessage *msg = NULL;
	int r = c2c_image_open(ctx, b, ik, img);

	if (r == 0)
		r = c2c_image_next_msg(ctx, img, &pb_pagemap_head__descriptor, &msg);
	if (r == 0)
		r = c2c_fail(ctx, &C2C_IMAGE_LOC(img), C2C_E_TRUNCATED,
			     "pagemap has no head record");
	else if (r == 1 && !((PbPagemapHead *)msg)->has_pages_id)
		r = c2c_fail(ctx, &C2C_IMAGE_LOC(img), C2C_E_MISSING, "pagemap head has no pages_id");
	else if (r == 1)
		*pages_id = ((PbPagemapHead *)msg)->pages_id;
	if (msg)
		protobuf_c_message_free_unpacked(msg, NULL);
	return r < 0 ? r : 0;
}

/*
 * Flags and page count of an entry as CRIU reads them (see the top of this
 * file), checked: a page-aligned vaddr, no overflow of vaddr + len.
 */
static int entry_decode(struct c2c_ctx *ctx, const struct c2c_image *img, const PbPagemapEntry *e,
			uint64_t ps, uint32_t *flags, uint64_t *nr, uint64_t *len)
{
	uint64_t end;

	*flags = e->has_flags ? e->flags : PE_PRESENT;
	*nr = e->has_nr_pages ? e->nr_pages : e->compat_nr_pages;
	if (e->has_in_parent && e->in_parent)
		*flags = PE_PARENT;
	if (img->record > (int64_t)C2C_MAX_PAGEMAP_ENTRIES)
		return c2c_fail(ctx, &C2C_IMAGE_LOC(img), C2C_E_LIMIT, "more than %u pagemap entries",
				C2C_MAX_PAGEMAP_ENTRIES);
	if (!e->has_vaddr || e->vaddr % ps)
		return c2c_fail(ctx, &C2C_IMAGE_LOC(img), C2C_E_INCONSISTENT,
				"pagemap entry has no page-aligned vaddr");
	if (c2c_mul_overflow(*nr, ps, len) || c2c_add_overflow(e->vaddr, *len, &end))
		return c2c_fail(ctx, &C2C_IMAGE_LOC(img), C2C_E_INCONSISTENT,
				"pagemap entry %#llx + %llu pages overflows",
				(unsigned long long)e->vaddr, (unsigned long long)*nr);
	return 0;
}

int c2c_pagemap_load(struct c2c_ctx *ctx, struct c2c_checkpoint *ck, struct c2c_source *src,
		     enum c2c_pagemap_kind kind, uint64_t id, uint64_t page_size,
		     struct c2c_pagemap *ret)
{
	enum c2c_image_kind ik = kind == C2C_PAGEMAP_TASK ? C2C_IMG_PAGEMAP : C2C_IMG_SHMEM_PAGEMAP;
	struct c2c_blob mapb = C2C_BLOB_INIT, pagesb = C2C_BLOB_INIT;
	const struct c2c_blob *pages = NULL;
	struct extvec ev = { 0 }, pend = { 0 };
	struct c2c_pagemap ppm = { .page_size = page_size };
	struct c2c_loc parent_loc = C2C_LOC_NONE;
	ProtobufCMessage *msg = NULL;
	struct c2c_image img;
	uint64_t off = 0, lazy = 0, parent = 0, pages_id = 0;
	bool pages_missing = false;
	char name[64], pname[32];
	int r;

	c2c_image_name(ik, id, name, sizeof(name));
	r = c2c_source_load(ctx, src, name, kind == C2C_PAGEMAP_SHMEM, &mapb);
	if (r != 0)
		return r;
	r = open_pagemap(ctx, &mapb, ik, &img, &pages_id);
	if (r < 0)
		goto out;
	snprintf(pname, sizeof(pname), "pages-%llu.img", (unsigned long long)pages_id);
	r = c2c_source_open_data(ctx, src, pname, &pagesb);
	if (r < 0)
		goto out;
	if (r == 1)
		pages_missing = true;
	else if ((r = c2c_checkpoint_keep_blob(ctx, ck, &pagesb, &pages)) < 0)
		goto out;

	while ((r = c2c_image_next_msg(ctx, &img, &pb_pagemap_entry__descriptor, &msg)) == 1) {
		PbPagemapEntry *e = (PbPagemapEntry *)msg;
		uint64_t nr = 0, len = 0, end; /* set by entry_decode; gcc -O2 cannot tell */
		uint32_t flags;

		r = entry_decode(ctx, &img, e, page_size, &flags, &nr, &len);
		if (r < 0)
			goto out;
		if (nr == 0)
			goto next;
		if (flags & PE_PRESENT) {
			if (pages_missing) {
				/* As the source names it ("x.tar:pages-N.img" in an archive). */
				char *pp = c2c_source_path(src, pname);

				r = c2c_fail(ctx, &C2C_IMAGE_LOC(&img), C2C_E_MISSING,
					     "pages image '%s' (pages_id of record 0) is missing",
					     pp ? pp : pname);
				free(pp);
				goto out;
			}
			if (c2c_add_overflow(off, len, &end) || end > pages->size) {
				r = c2c_fail(ctx, &C2C_IMAGE_LOC(&img), C2C_E_TRUNCATED,
					     "entry %#llx needs bytes up to %llu of '%s', which "
					     "has %llu",
					     (unsigned long long)e->vaddr, (unsigned long long)end,
					     pages->path, (unsigned long long)pages->size);
				goto out;
			}
			r = extvec_push(ctx, &ev, (struct c2c_extent){ e->vaddr, nr, pages, off });
			off = end;
		} else if (flags & PE_PARENT) {
			if (!pend.n)
				parent_loc = C2C_IMAGE_LOC(&img);
			r = extvec_push_at(ctx, &pend, (struct c2c_extent){ e->vaddr, nr, NULL, 0 },
					   &C2C_IMAGE_LOC(&img));
		} else {
			/* PE_LAZY only (or no flag at all): the data is not in this dump. */
			lazy += nr;
			r = extvec_push(ctx, &ev, (struct c2c_extent){ e->vaddr, nr, NULL, 0 });
		}
		if (r < 0)
			goto out;
next:
		protobuf_c_message_free_unpacked(msg, NULL);
		msg = NULL;
	}
	if (r < 0)
		goto out;

	if (pend.n) {
		struct c2c_source *psrc;

		r = c2c_source_parent(ctx, src, &psrc);
		if (r == 1)
			r = c2c_fail(ctx, &parent_loc, C2C_E_MISSING,
				     "pages are marked in parent, but '%s' has no parent directory",
				     src->path);
		if (r < 0)
			goto out;
		r = c2c_pagemap_load(ctx, ck, psrc, kind, id, page_size, &ppm);
		if (r == 1)
			r = c2c_fail(ctx, &parent_loc, C2C_E_MISSING,
				     "pages are marked in parent, but '%s' has no '%s'", psrc->path,
				     name);
		if (r < 0)
			goto out;
		for (size_t i = 0; i < pend.n; i++) {
			r = take_from_parent(ctx, &ppm, pend.v[i].addr, pend.v[i].npages,
					     &pend.locs[i], &ev, &lazy, &parent);
			if (r < 0)
				goto out;
		}
	}

	if (ev.n > 1) /* qsort(NULL, 0, ...) is undefined */
		qsort(ev.v, ev.n, sizeof(*ev.v), cmp_extent);
	for (size_t i = 1; i < ev.n; i++) {
		const struct c2c_extent *a = &ev.v[i - 1];

		if (a->addr + a->npages * page_size > ev.v[i].addr) {
			r = c2c_fail(ctx, &C2C_LOC_FILE(mapb.path), C2C_E_INCONSISTENT,
				     "pagemap entries overlap at %#llx",
				     (unsigned long long)ev.v[i].addr);
			goto out;
		}
	}
	*ret = (struct c2c_pagemap){ ev.v, ev.n, lazy, parent, pages, page_size };
	ev.v = NULL;
	r = 0;
out:
	if (msg)
		protobuf_c_message_free_unpacked(msg, NULL);
	c2c_pagemap_release(&ppm);
	free(ev.v);
	free(pend.v);
	free(pend.locs);
	c2c_blob_release(&pagesb);
	c2c_blob_release(&mapb);
	return r;
}

int c2c_pagemap_present(struct c2c_ctx *ctx, const struct c2c_blob *b, uint64_t page_size,
			uint64_t *pages_id, struct c2c_extent **ret, size_t *ret_n)
{
	struct extvec ev = { 0 };
	ProtobufCMessage *msg = NULL;
	struct c2c_image img;
	uint64_t off = 0;
	int r;

	r = open_pagemap(ctx, b, C2C_IMG_PAGEMAP, &img, pages_id);
	if (r < 0 || !ret)
		return r;
	/* The same rules as c2c_pagemap_load, present entries only. */
	while ((r = c2c_image_next_msg(ctx, &img, &pb_pagemap_entry__descriptor, &msg)) == 1) {
		const PbPagemapEntry *e = (PbPagemapEntry *)msg;
		uint64_t nr = 0, len = 0, end = 0;
		uint32_t flags = 0;

		r = entry_decode(ctx, &img, e, page_size, &flags, &nr, &len);
		if (r == 0 && c2c_add_overflow(off, len, &end))
			r = c2c_fail(ctx, &C2C_IMAGE_LOC(&img), C2C_E_INCONSISTENT,
				     "pages image offset overflows");
		if (r < 0)
			goto out;
		if (nr && (flags & PE_PRESENT)) {
			r = extvec_push(ctx, &ev, (struct c2c_extent){ e->vaddr, nr, NULL, off });
			if (r < 0)
				goto out;
			off = end;
		}
		protobuf_c_message_free_unpacked(msg, NULL);
		msg = NULL;
	}
	if (r < 0)
		goto out;
	*ret = ev.v;
	*ret_n = ev.n;
	ev.v = NULL;
	r = 0;
out:
	if (msg)
		protobuf_c_message_free_unpacked(msg, NULL);
	free(ev.v);
	return r;
}
