/*
 * Unit tests of src/lib/pagemap.c: pagemap images resolved into extents.
 *
 * Each case writes image directories d0 (the dump), d1, d2 (its pre-dumps,
 * linked by `parent` symlinks as CRIU makes them) into a scratch directory:
 * hand-encoded pagemap-1.img files and pages files whose page k is filled
 * with the byte TAGn + k, so the byte found at an extent's offset proves that
 * both its file and its offset are right.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "imgset.h"
#include "process.h"
#include "source.h"
#define TAG0 0x10 /* pages of d0 */
#define TAG1 0x40 /* pages of d1 */
#define TAG2 0x70 /* pages of d2 */

struct fx {
	struct c2c_ctx *ctx;
	char *root;
	char *d[3]; /* root/d0, root/d1, root/d2 */
	struct c2c_source *src;
	struct c2c_checkpoint *ck;
	struct c2c_pagemap pm;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || !(f->ctx = c2c_ctx_new()))
		return -1;
	f->root = tmpdir_new();
	for (int i = 0; i < 3; i++) {
		char name[4] = { 'd', (char)('0' + i), 0 };

		make_dir(f->root, name);
		if (asprintf(&f->d[i], "%s/%s", f->root, name) < 0)
			return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	c2c_pagemap_release(&f->pm);
	c2c_checkpoint_free(f->ck); /* the caller owns the source, as in convert.c */
	c2c_source_free(f->src);
	for (int i = 0; i < 3; i++)
		free(f->d[i]);
	tmpdir_remove(f->root);
	c2c_ctx_free(f->ctx);
	free(f);
	return 0;
}

/* Write img as dir/pagemap-1.img and free it. */
static void pm_write(const char *dir, struct tbuf *img)
{
	write_file(dir, "pagemap-1.img", img->p, img->n);
	tbuf_free(img);
}

/* dir/pages-<id>.img of npages pages, page k filled with tag + k. */
static void write_pages(const char *dir, uint32_t id, unsigned npages, int tag)
{
	uint8_t *buf = pages_new(npages, tag);
	char name[32];

	snprintf(name, sizeof(name), "pages-%u.img", id);
	write_file(dir, name, buf, npages * PG);
	free(buf);
}

/* Load pagemap-1.img of dir into f->pm, with a fresh checkpoint as its owner. */
static int load(struct fx *f, const char *dir)
{
	int r = c2c_source_open_dir(f->ctx, dir, &f->src);

	if (r < 0)
		return r;
	f->ck = calloc(1, sizeof(*f->ck));
	assert_non_null(f->ck);
	f->ck->src = f->src;
	f->ck->rootfd = -1; /* no --root */
	return c2c_pagemap_load(f->ctx, f->ck, f->src, C2C_PAGEMAP_TASK, 1, 4096, &f->pm);
}

/*
 * Extent i is [addr, addr + npages pages) at offset off of a pages file whose
 * page there has byte `tag` (page j of the extent: tag + j); tag 0: no data.
 */
static void expect_ext(struct fx *f, size_t i, uint64_t addr, uint64_t npages, uint64_t off,
		       int tag)
{
	const struct c2c_extent *e;

	if (i >= f->pm.n)
		fail_msg("extent %zu expected, only %zu", i, f->pm.n);
	e = &f->pm.ext[i];
	assert_int_equal(e->addr, addr);
	assert_int_equal(e->npages, npages);
	if (!tag) {
		assert_null(e->blob);
		assert_int_equal(e->off, 0);
		return;
	}
	assert_non_null(e->blob);
	assert_int_equal(e->off, off);
	for (uint64_t j = 0; j < npages; j++) {
		uint8_t b = 0;

		c2c_assert_ok(f->ctx, c2c_blob_pread(f->ctx, e->blob, &b, 1, e->off + j * PG));
		assert_int_equal(b, tag + (int)j);
	}
}

/* errmsg == "'<dir>/<name>': <rest>" */
static void expect_msg(struct fx *f, const char *dir, const char *name, const char *rest)
{
	char want[1024];

	snprintf(want, sizeof(want), "'%s/%s': %s", dir, name, rest);
	assert_string_equal(c2c_errmsg(f->ctx), want);
}

static void offsets_advance_over_present_only(void **state)
{
	struct fx *f = *state;
	struct tbuf img = { 0 };

	/* Entries out of address order; the pages file follows entry order. */
	pm_begin(&img, 1);
	pm_entry(&img, 0x30000, 2, PE_PRESENT);		  /* pages 0-1 */
	pm_entry(&img, 0x50000, 3, PE_LAZY);		  /* no data */
	pm_entry(&img, 0x10000, 1, PE_PRESENT | PE_LAZY); /* page 2 */
	pm_entry(&img, 0x60000, 0, PE_PRESENT);		  /* empty: ignored */
	pm_entry(&img, 0x70000, 1, PE_PRESENT);		  /* page 3 */
	pm_write(f->d[0], &img);
	write_pages(f->d[0], 1, 4, TAG0);

	c2c_assert_ok(f->ctx, load(f, f->d[0]));
	assert_int_equal(f->pm.n, 4);
	expect_ext(f, 0, 0x10000, 1, 2 * PG, TAG0 + 2);
	expect_ext(f, 1, 0x30000, 2, 0, TAG0);
	expect_ext(f, 2, 0x50000, 3, 0, 0);
	expect_ext(f, 3, 0x70000, 1, 3 * PG, TAG0 + 3);
	assert_int_equal(f->pm.lazy_pages, 3);
	assert_int_equal(f->ck->nblobs, 1);
	assert_string_suffix(f->ck->blobs[0]->path, "/d0/pages-1.img");
	assert_int_equal(f->ck->blobs[0]->size, 4 * PG);
}

static void nr_pages_wins_over_compat(void **state)
{
	struct fx *f = *state;
	struct tbuf img = { 0 }, m = { 0 };

	pm_begin(&img, 1);
	/* Both counts: field 5 (3 pages) wins over field 2 (7 pages). */
	tbuf_pb_varint(&m, 1, 0x10000);
	tbuf_pb_varint(&m, 2, 7);
	tbuf_pb_varint(&m, 4, PE_PRESENT);
	tbuf_pb_varint(&m, 5, 3);
	pm_raw(&img, &m);
	/* Only field 2, as CRIU <= 4.1 writes: 2 pages, data after the first 3. */
	tbuf_pb_varint(&m, 1, 0x20000);
	tbuf_pb_varint(&m, 2, 2);
	tbuf_pb_varint(&m, 4, PE_PRESENT);
	pm_raw(&img, &m);
	/* Field 5 present and 0 still wins: an empty entry, however big field 2 is. */
	tbuf_pb_varint(&m, 1, 0x30000);
	tbuf_pb_varint(&m, 2, 5);
	tbuf_pb_varint(&m, 4, PE_PRESENT);
	tbuf_pb_varint(&m, 5, 0);
	pm_raw(&img, &m);
	pm_write(f->d[0], &img);
	write_pages(f->d[0], 1, 5, TAG0);

	c2c_assert_ok(f->ctx, load(f, f->d[0]));
	assert_int_equal(f->pm.n, 2);
	expect_ext(f, 0, 0x10000, 3, 0, TAG0);
	expect_ext(f, 1, 0x20000, 2, 3 * PG, TAG0 + 3);
	assert_int_equal(f->pm.lazy_pages, 0);
}

static void no_flags_means_present(void **state)
{
	struct fx *f = *state;
	struct tbuf img = { 0 }, m = { 0 };

	pm_begin(&img, 1);
	tbuf_pb_varint(&m, 1, 0x10000); /* CRIU <= 3.4: vaddr and compat_nr_pages only */
	tbuf_pb_varint(&m, 2, 1);
	pm_raw(&img, &m);
	tbuf_pb_varint(&m, 1, 0x20000);
	tbuf_pb_varint(&m, 2, 1);
	tbuf_pb_varint(&m, 3, 0); /* in_parent = false changes nothing */
	pm_raw(&img, &m);
	pm_write(f->d[0], &img);
	write_pages(f->d[0], 1, 2, TAG0);

	c2c_assert_ok(f->ctx, load(f, f->d[0]));
	assert_int_equal(f->pm.n, 2);
	expect_ext(f, 0, 0x10000, 1, 0, TAG0);
	expect_ext(f, 1, 0x20000, 1, PG, TAG0 + 1);
}

static void in_parent_means_parent(void **state)
{
	struct fx *f = *state;
	struct tbuf img = { 0 }, m = { 0 };

	/* d0: one page here, then a CRIU <= 3.4 in_parent entry (no flags field). */
	pm_begin(&img, 1);
	pm_entry(&img, 0x10000, 1, PE_PRESENT);
	tbuf_pb_varint(&m, 1, 0x20000);
	tbuf_pb_varint(&m, 2, 2);
	tbuf_pb_varint(&m, 3, 1);
	pm_raw(&img, &m);
	pm_write(f->d[0], &img);
	write_pages(f->d[0], 1, 1, TAG0);
	make_symlink(f->d[0], "parent", "../d1");

	pm_begin(&img, 2);
	pm_entry(&img, 0x20000, 2, PE_PRESENT);
	pm_write(f->d[1], &img);
	write_pages(f->d[1], 2, 2, TAG1);

	c2c_assert_ok(f->ctx, load(f, f->d[0]));
	assert_int_equal(f->pm.n, 2);
	expect_ext(f, 0, 0x10000, 1, 0, TAG0);
	expect_ext(f, 1, 0x20000, 2, 0, TAG1);
	assert_int_equal(f->ck->nblobs, 2);
	assert_string_suffix(f->ck->blobs[1]->path, "/d0/parent/pages-2.img");
}

static void lazy_only_runs(void **state)
{
	struct fx *f = *state;
	struct tbuf img = { 0 };

	/* A lazy-pages dump: no data here and no pages file at all. */
	pm_begin(&img, 1);
	pm_entry(&img, 0x20000, 4, PE_LAZY);
	pm_entry(&img, 0x10000, 2, PE_LAZY);
	pm_write(f->d[0], &img);

	c2c_assert_ok(f->ctx, load(f, f->d[0]));
	assert_int_equal(f->pm.n, 2);
	expect_ext(f, 0, 0x10000, 2, 0, 0);
	expect_ext(f, 1, 0x20000, 4, 0, 0);
	assert_int_equal(f->pm.lazy_pages, 6);
	assert_int_equal(f->ck->nblobs, 0);
}

static void parent_two_levels(void **state)
{
	struct fx *f = *state;
	struct tbuf img = { 0 };

	pm_begin(&img, 1);
	pm_entry(&img, 0x20000, 2, PE_PARENT);
	pm_entry(&img, 0x10000, 1, PE_PRESENT); /* offset 0: the parent entry took none */
	pm_entry(&img, 0x40000, 1, PE_PARENT);
	pm_write(f->d[0], &img);
	write_pages(f->d[0], 1, 1, TAG0);
	make_symlink(f->d[0], "parent", "../d1");

	pm_begin(&img, 1);
	pm_entry(&img, 0x40000, 1, PE_PRESENT);
	pm_entry(&img, 0x20000, 2, PE_PRESENT);
	pm_entry(&img, 0x90000, 1, PE_PRESENT); /* not referred to by d0 */
	pm_write(f->d[1], &img);
	write_pages(f->d[1], 1, 4, TAG1);

	c2c_assert_ok(f->ctx, load(f, f->d[0]));
	assert_int_equal(f->pm.n, 3);
	expect_ext(f, 0, 0x10000, 1, 0, TAG0);
	expect_ext(f, 1, 0x20000, 2, PG, TAG1 + 1);
	expect_ext(f, 2, 0x40000, 1, 0, TAG1);
	assert_int_equal(f->pm.lazy_pages, 0);
}

static void parent_three_levels(void **state)
{
	struct fx *f = *state;
	struct tbuf img = { 0 };

	pm_begin(&img, 1);
	pm_entry(&img, 0x10000, 1, PE_PRESENT);
	pm_entry(&img, 0x20000, 2, PE_PARENT);
	pm_entry(&img, 0x30000, 1, PE_PARENT);
	pm_write(f->d[0], &img);
	write_pages(f->d[0], 1, 1, TAG0);
	make_symlink(f->d[0], "parent", "../d1");

	/* d1 has 0x30000 itself and passes 0x20000 on to d2. */
	pm_begin(&img, 1);
	pm_entry(&img, 0x20000, 2, PE_PARENT);
	pm_entry(&img, 0x30000, 1, PE_PRESENT);
	pm_write(f->d[1], &img);
	write_pages(f->d[1], 1, 1, TAG1);
	make_symlink(f->d[1], "parent", "../d2");

	pm_begin(&img, 1);
	pm_entry(&img, 0x08000, 1, PE_PRESENT);
	pm_entry(&img, 0x20000, 2, PE_PRESENT);
	pm_write(f->d[2], &img);
	write_pages(f->d[2], 1, 3, TAG2);

	c2c_assert_ok(f->ctx, load(f, f->d[0]));
	assert_int_equal(f->pm.n, 3);
	expect_ext(f, 0, 0x10000, 1, 0, TAG0);
	expect_ext(f, 1, 0x20000, 2, PG, TAG2 + 1);
	expect_ext(f, 2, 0x30000, 1, 0, TAG1);
	assert_int_equal(f->ck->nblobs, 3);
	assert_string_suffix(f->ck->blobs[2]->path, "/d0/parent/parent/pages-1.img");
	assert_ptr_equal(f->pm.ext[1].blob, f->ck->blobs[2]);
}

static void parent_range_spans_two_entries(void **state)
{
	struct fx *f = *state;
	struct tbuf img = { 0 };

	/* d0 wants 0x11000..0x15000 from the parent ... */
	pm_begin(&img, 1);
	pm_entry(&img, 0x11000, 4, PE_PARENT);
	pm_write(f->d[0], &img);
	write_pages(f->d[0], 1, 0, TAG0);
	make_symlink(f->d[0], "parent", "../d1");

	/* ... which has it in three entries, the middle one lazy, each cut at a page edge. */
	pm_begin(&img, 1);
	pm_entry(&img, 0x10000, 2, PE_PRESENT); /* pages 0-1 */
	pm_entry(&img, 0x12000, 1, PE_LAZY);
	pm_entry(&img, 0x13000, 3, PE_PRESENT); /* pages 2-4 */
	pm_write(f->d[1], &img);
	write_pages(f->d[1], 1, 5, TAG1);

	c2c_assert_ok(f->ctx, load(f, f->d[0]));
	assert_int_equal(f->pm.n, 3);
	expect_ext(f, 0, 0x11000, 1, PG, TAG1 + 1);
	expect_ext(f, 1, 0x12000, 1, 0, 0);
	expect_ext(f, 2, 0x13000, 2, 2 * PG, TAG1 + 2);
	assert_int_equal(f->pm.lazy_pages, 1); /* only the parent's lazy page d0 uses */
}

static void parent_lacks_page(void **state)
{
	struct fx *f = *state;
	struct tbuf img = { 0 };
	size_t rec;
	char rest[256];

	pm_begin(&img, 1);
	pm_entry(&img, 0x30000, 1, PE_PRESENT);
	rec = pm_entry(&img, 0x10000, 2, PE_PARENT);
	pm_write(f->d[0], &img);
	write_pages(f->d[0], 1, 1, TAG0);
	make_symlink(f->d[0], "parent", "../d1");

	pm_begin(&img, 1);
	pm_entry(&img, 0x10000, 1, PE_PRESENT);
	pm_write(f->d[1], &img);
	write_pages(f->d[1], 1, 1, TAG1);

	c2c_assert_fails(f->ctx, load(f, f->d[0]), C2C_E_INCONSISTENT);
	snprintf(rest, sizeof(rest),
		 "offset %zu (%#zx), record 2: page 0x11000 is marked in parent, but the parent "
		 "images do not have it",
		 rec, rec);
	expect_msg(f, f->d[0], "pagemap-1.img", rest);
}

static void parent_dir_missing(void **state)
{
	struct fx *f = *state;
	struct tbuf img = { 0 };
	size_t rec;
	char rest[512];

	pm_begin(&img, 1);
	rec = pm_entry(&img, 0x10000, 1, PE_PARENT);
	pm_entry(&img, 0x20000, 1, PE_PARENT);
	pm_write(f->d[0], &img);
	write_pages(f->d[0], 1, 0, TAG0);

	c2c_assert_fails(f->ctx, load(f, f->d[0]), C2C_E_MISSING);
	/* The location is the first entry that needs the parent. */
	snprintf(rest, sizeof(rest),
		 "offset %zu (%#zx), record 1: pages are marked in parent, but '%s' has no "
		 "parent directory",
		 rec, rec, f->d[0]);
	expect_msg(f, f->d[0], "pagemap-1.img", rest);
}

static void parent_link_dangling(void **state)
{
	struct fx *f = *state;
	struct tbuf img = { 0 };

	pm_begin(&img, 1);
	pm_entry(&img, 0x10000, 1, PE_PARENT);
	pm_write(f->d[0], &img);
	write_pages(f->d[0], 1, 0, TAG0);
	make_symlink(f->d[0], "parent", "../gone");

	c2c_assert_fails(f->ctx, load(f, f->d[0]), C2C_E_MISSING);
	expect_msg(f, f->d[0], "parent", "cannot open parent image directory");
}

static void parent_pagemap_missing(void **state)
{
	struct fx *f = *state;
	struct tbuf img = { 0 };

	pm_begin(&img, 1);
	pm_entry(&img, 0x10000, 1, PE_PARENT);
	pm_write(f->d[0], &img);
	write_pages(f->d[0], 1, 0, TAG0);
	make_symlink(f->d[0], "parent", "../d1"); /* d1 is empty */

	c2c_assert_fails(f->ctx, load(f, f->d[0]), C2C_E_MISSING);
	expect_msg(f, f->d[0], "parent/pagemap-1.img", "required image is missing");
}

static void parent_cycle(void **state)
{
	struct fx *f = *state;
	struct tbuf img = { 0 };
	char rest[512];

	pm_begin(&img, 1);
	pm_entry(&img, 0x10000, 1, PE_PARENT);
	pm_write(f->d[0], &img);
	write_pages(f->d[0], 1, 0, TAG0);
	make_symlink(f->d[0], "parent", ".");

	c2c_assert_fails(f->ctx, load(f, f->d[0]), C2C_E_INCONSISTENT);
	snprintf(rest, sizeof(rest), "parent chain loops back to '%s'", f->d[0]);
	expect_msg(f, f->d[0], "parent", rest);
}

static void parent_cycle_two_dirs(void **state)
{
	struct fx *f = *state;
	struct tbuf img = { 0 };
	char rest[512];

	for (int i = 0; i < 2; i++) {
		pm_begin(&img, 1);
		pm_entry(&img, 0x10000, 1, PE_PARENT);
		pm_write(f->d[i], &img);
		write_pages(f->d[i], 1, 0, TAG0);
	}
	make_symlink(f->d[0], "parent", "../d1");
	make_symlink(f->d[1], "parent", "../d0");

	c2c_assert_fails(f->ctx, load(f, f->d[0]), C2C_E_INCONSISTENT);
	snprintf(rest, sizeof(rest), "parent chain loops back to '%s'", f->d[0]);
	expect_msg(f, f->d[0], "parent/parent", rest);
}

static void present_past_end_of_pages(void **state)
{
	struct fx *f = *state;
	struct tbuf img = { 0 };
	size_t rec;
	char rest[512];

	pm_begin(&img, 1);
	pm_entry(&img, 0x10000, 1, PE_PRESENT);
	pm_entry(&img, 0x18000, 1, PE_LAZY);
	rec = pm_entry(&img, 0x20000, 2, PE_PRESENT); /* needs pages 1-2 of 2 */
	pm_write(f->d[0], &img);
	write_pages(f->d[0], 1, 2, TAG0);

	c2c_assert_fails(f->ctx, load(f, f->d[0]), C2C_E_TRUNCATED);
	snprintf(rest, sizeof(rest),
		 "offset %zu (%#zx), record 3: entry 0x20000 needs bytes up to 12288 of "
		 "'%s/pages-1.img', which has 8192",
		 rec, rec, f->d[0]);
	expect_msg(f, f->d[0], "pagemap-1.img", rest);
}

static void pages_image_missing(void **state)
{
	struct fx *f = *state;
	struct tbuf img = { 0 };
	size_t rec;
	char rest[512];

	pm_begin(&img, 7);
	rec = pm_entry(&img, 0x10000, 1, PE_PRESENT);
	pm_write(f->d[0], &img);

	c2c_assert_fails(f->ctx, load(f, f->d[0]), C2C_E_MISSING);
	snprintf(rest, sizeof(rest),
		 "offset %zu (%#zx), record 1: pages image '%s/pages-7.img' (pages_id of record 0) is missing", rec, rec,
		 f->d[0]);
	expect_msg(f, f->d[0], "pagemap-1.img", rest);
}

static void overlapping_entries(void **state)
{
	struct fx *f = *state;
	struct tbuf img = { 0 };

	pm_begin(&img, 1);
	pm_entry(&img, 0x10000, 2, PE_PRESENT);
	pm_entry(&img, 0x11000, 1, PE_LAZY);
	pm_write(f->d[0], &img);
	write_pages(f->d[0], 1, 2, TAG0);

	c2c_assert_fails(f->ctx, load(f, f->d[0]), C2C_E_INCONSISTENT);
	expect_msg(f, f->d[0], "pagemap-1.img", "pagemap entries overlap at 0x11000");
}

static void overlap_with_parent_range(void **state)
{
	struct fx *f = *state;
	struct tbuf img = { 0 };

	/* A page both here and "in parent": the merged list overlaps. */
	pm_begin(&img, 1);
	pm_entry(&img, 0x21000, 1, PE_PRESENT);
	pm_entry(&img, 0x20000, 2, PE_PARENT);
	pm_write(f->d[0], &img);
	write_pages(f->d[0], 1, 1, TAG0);
	make_symlink(f->d[0], "parent", "../d1");
	pm_begin(&img, 1);
	pm_entry(&img, 0x20000, 2, PE_PRESENT);
	pm_write(f->d[1], &img);
	write_pages(f->d[1], 1, 2, TAG1);

	c2c_assert_fails(f->ctx, load(f, f->d[0]), C2C_E_INCONSISTENT);
	expect_msg(f, f->d[0], "pagemap-1.img", "pagemap entries overlap at 0x21000");
}

static void unaligned_vaddr(void **state)
{
	struct fx *f = *state;
	struct tbuf img = { 0 };
	size_t rec;
	char rest[256];

	pm_begin(&img, 1);
	pm_entry(&img, 0x10000, 1, PE_PRESENT);
	rec = pm_entry(&img, 0x20010, 1, PE_PRESENT);
	pm_write(f->d[0], &img);
	write_pages(f->d[0], 1, 2, TAG0);

	c2c_assert_fails(f->ctx, load(f, f->d[0]), C2C_E_INCONSISTENT);
	snprintf(rest, sizeof(rest),
		 "offset %zu (%#zx), record 2: pagemap entry has no page-aligned vaddr", rec, rec);
	expect_msg(f, f->d[0], "pagemap-1.img", rest);
}

static void entry_overflows(void **state)
{
	struct fx *f = *state;
	struct tbuf img = { 0 };
	size_t rec;
	char rest[256];

	pm_begin(&img, 1);
	rec = pm_entry(&img, 0xfffffffffffff000ULL, 2, PE_PRESENT);
	pm_write(f->d[0], &img);
	write_pages(f->d[0], 1, 2, TAG0);

	c2c_assert_fails(f->ctx, load(f, f->d[0]), C2C_E_INCONSISTENT);
	snprintf(rest, sizeof(rest),
		 "offset %zu (%#zx), record 1: pagemap entry 0xfffffffffffff000 + 2 pages "
		 "overflows",
		 rec, rec);
	expect_msg(f, f->d[0], "pagemap-1.img", rest);
}

static void head_without_pages_id(void **state)
{
	struct fx *f = *state;
	struct tbuf img = { 0 }, empty = { 0 };

	img_begin(&img, C2C_IMG_PAGEMAP);
	tbuf_record(&img, &empty);
	pm_write(f->d[0], &img);

	c2c_assert_fails(f->ctx, load(f, f->d[0]), C2C_E_MISSING);
	expect_msg(f, f->d[0], "pagemap-1.img",
		   "offset 8 (0x8), record 0: pagemap head has no pages_id");
}

static void checkpoint_free_closes_pages(void **state)
{
	struct fx *f = *state;
	struct tbuf img = { 0 };
	int fds[2];

	pm_begin(&img, 1);
	pm_entry(&img, 0x10000, 1, PE_PARENT);
	pm_write(f->d[0], &img);
	write_pages(f->d[0], 1, 0, TAG0);
	make_symlink(f->d[0], "parent", "../d1");
	pm_begin(&img, 1);
	pm_entry(&img, 0x10000, 1, PE_PRESENT);
	pm_write(f->d[1], &img);
	write_pages(f->d[1], 1, 1, TAG1);

	c2c_assert_ok(f->ctx, load(f, f->d[0]));
	/* pagemap_load registered both pages files, open, with the checkpoint. */
	assert_int_equal(f->ck->nblobs, 2);
	for (int i = 0; i < 2; i++) {
		fds[i] = f->ck->blobs[i]->fd;
		assert_true(fds[i] >= 0);
		assert_null(f->ck->blobs[i]->data);
		assert_int_not_equal(fcntl(fds[i], F_GETFD), -1);
	}
	c2c_pagemap_release(&f->pm);
	assert_int_equal(f->pm.n, 0);
	assert_null(f->pm.ext);
	c2c_checkpoint_free(f->ck);
	f->ck = NULL;
	for (int i = 0; i < 2; i++) {
		errno = 0;
		assert_int_equal(fcntl(fds[i], F_GETFD), -1);
		assert_int_equal(errno, EBADF);
	}
}

static void find_edges(void **state)
{
	struct c2c_extent ext[] = {
		{ 0x10000, 2, NULL, 0 }, /* [0x10000, 0x12000) */
		{ 0x12000, 1, NULL, 0 }, /* adjacent */
		{ 0x20000, 4, NULL, 0 }, /* after a gap */
	};
	struct c2c_pagemap pm = { .ext = ext, .n = 3, .page_size = 4096 }, empty = { .ext = NULL },
			   one = { .ext = ext, .n = 1, .page_size = 4096 };

	(void)state;
	assert_int_equal(c2c_pagemap_find(&empty, 0), 0);
	assert_int_equal(c2c_pagemap_find(&empty, 0x10000), 0);
	assert_int_equal(c2c_pagemap_find(&pm, 0), 0);	       /* before everything */
	assert_int_equal(c2c_pagemap_find(&pm, 0xffff), 0);    /* just before the first */
	assert_int_equal(c2c_pagemap_find(&pm, 0x10000), 0);   /* first byte */
	assert_int_equal(c2c_pagemap_find(&pm, 0x11fff), 0);   /* last byte */
	assert_int_equal(c2c_pagemap_find(&pm, 0x12000), 1);   /* end = start of the next */
	assert_int_equal(c2c_pagemap_find(&pm, 0x12fff), 1);
	assert_int_equal(c2c_pagemap_find(&pm, 0x13000), 2);   /* in the gap: the next one */
	assert_int_equal(c2c_pagemap_find(&pm, 0x1ffff), 2);
	assert_int_equal(c2c_pagemap_find(&pm, 0x23fff), 2);   /* last byte of the last */
	assert_int_equal(c2c_pagemap_find(&pm, 0x24000), 3);   /* past the end: n */
	assert_int_equal(c2c_pagemap_find(&pm, UINT64_MAX), 3);
	assert_int_equal(c2c_pagemap_find(&one, 0x11000), 0);
	assert_int_equal(c2c_pagemap_find(&one, 0x12000), 1);
}

/* The process's page size: AT_PAGESZ (6) of the auxv, else the default. */
static void auxv_page_size(void **state)
{
	const uint64_t a64k[] = { 33, 0xfffff7ffc000, 6, 65536, 17, 100, 0, 0 };
	const uint64_t none[] = { 33, 0xfffff7ffc000, 17, 100 }; /* cut off, no AT_NULL */
	const uint64_t after_null[] = { 0, 0, 6, 16384 };
	const uint64_t bad[] = { 6, 12288 };
	struct c2c_ctx *ctx = c2c_ctx_new();
	uint64_t ps = 1;

	(void)state;
	assert_int_equal(c2c_auxv_page_size(ctx, NULL, a64k, 8, 4096, &ps), 0);
	assert_int_equal(ps, 65536);
	assert_int_equal(c2c_auxv_page_size(ctx, NULL, none, 4, 4096, &ps), 0);
	assert_int_equal(ps, 4096);
	assert_int_equal(c2c_auxv_page_size(ctx, NULL, after_null, 4, 4096, &ps), 0);
	assert_int_equal(ps, 4096);
	assert_int_equal(c2c_auxv_page_size(ctx, NULL, a64k, 3, 0, &ps), 0); /* odd count */
	assert_int_equal(ps, 0);
	assert_int_equal(c2c_auxv_page_size(ctx, NULL, bad, 2, 4096, &ps), C2C_E_INCONSISTENT);
	assert_non_null(strstr(c2c_errmsg(ctx), "AT_PAGESZ) 12288 is not a power of two"));
	c2c_ctx_free(ctx);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(offsets_advance_over_present_only, setup, teardown),
	cmocka_unit_test_setup_teardown(nr_pages_wins_over_compat, setup, teardown),
	cmocka_unit_test_setup_teardown(no_flags_means_present, setup, teardown),
	cmocka_unit_test_setup_teardown(in_parent_means_parent, setup, teardown),
	cmocka_unit_test_setup_teardown(lazy_only_runs, setup, teardown),
	cmocka_unit_test_setup_teardown(parent_two_levels, setup, teardown),
	cmocka_unit_test_setup_teardown(parent_three_levels, setup, teardown),
	cmocka_unit_test_setup_teardown(parent_range_spans_two_entries, setup, teardown),
	cmocka_unit_test_setup_teardown(parent_lacks_page, setup, teardown),
	cmocka_unit_test_setup_teardown(parent_dir_missing, setup, teardown),
	cmocka_unit_test_setup_teardown(parent_link_dangling, setup, teardown),
	cmocka_unit_test_setup_teardown(parent_pagemap_missing, setup, teardown),
	cmocka_unit_test_setup_teardown(parent_cycle, setup, teardown),
	cmocka_unit_test_setup_teardown(parent_cycle_two_dirs, setup, teardown),
	cmocka_unit_test_setup_teardown(present_past_end_of_pages, setup, teardown),
	cmocka_unit_test_setup_teardown(pages_image_missing, setup, teardown),
	cmocka_unit_test_setup_teardown(overlapping_entries, setup, teardown),
	cmocka_unit_test_setup_teardown(overlap_with_parent_range, setup, teardown),
	cmocka_unit_test_setup_teardown(unaligned_vaddr, setup, teardown),
	cmocka_unit_test_setup_teardown(entry_overflows, setup, teardown),
	cmocka_unit_test_setup_teardown(head_without_pages_id, setup, teardown),
	cmocka_unit_test_setup_teardown(checkpoint_free_closes_pages, setup, teardown),
	cmocka_unit_test(find_edges),
	cmocka_unit_test(auxv_page_size),
};

C2C_UNIT_MAIN(tests)
