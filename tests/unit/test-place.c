/*
 * Unit tests of src/lib/api/place.c: page placement while an archive is read.
 * A tar of one process's images goes through c2c_archive_read() with the
 * placer of c2c_place_init(), its members in several orders; the pages must
 * land in the unnamed core file exactly where c2c_corebuild_plan() lays
 * them out, and what cannot be placed stays in the spool, without an error.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "arcsource.h"
#include "corebuild.h"
#include "imgset.h"
#include "place.h"
#include "process.h"

struct fx {
	struct c2c_ctx *ctx;
	char *dir; /* output directory: spool and core files */
	int dirfd;
	struct c2c_place_state st;
	struct c2c_placer placer;
	struct c2c_memtab *tab;
	struct c2c_source *src;
	struct c2c_checkpoint *ck;
	struct ttar t;
	uint8_t *pages;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || !(f->ctx = c2c_ctx_new()))
		return -1;
	f->dir = tmpdir_new();
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	c2c_place_init(&f->st, f->ctx, f->dirfd, &f->placer);
	f->pages = pages_new(5, 0x30);
	*state = f;
	return f->dirfd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	c2c_checkpoint_free(f->ck);
	c2c_source_free(f->src);
	c2c_place_release(&f->st);
	c2c_memtab_put(f->tab);
	tbuf_free(&f->t.out);
	close(f->dirfd);
	tmpdir_remove(f->dir);
	c2c_ctx_free(f->ctx);
	free(f->pages);
	free(f);
	return 0;
}

/*
 * Process 1: VMAs [0x10000, 0x14000) and [0x600000, 0x800000) (2 MiB: its
 * region is 64 KiB aligned). Its pagemap, in image order: 0x13000 (page 0
 * of pages-1.img), 0x10000-0x12000 (pages 1-2), 0x12000 lazy, 0x900000
 * outside every VMA (page 3), 0x7ff000 (page 4).
 */
enum member { M_INV, M_PSTREE, M_CORE, M_MM, M_PAGEMAP, M_PAGES, M_MAX };

static void images(struct c2c_memtab *tab, const char *prefix)
{
	static const struct tvma v[] = { TVMA_ANON(0x600000, 0x800000), TVMA_ANON(0x10000, 0x14000) };
	struct tbuf img = { 0 };
	char name[64];

	set_single(tab, prefix, v, 2, NULL, 0, 0);
	pm_begin(&img, 1);
	pm_entry(&img, 0x13000, 1, PE_PRESENT);
	pm_entry(&img, 0x10000, 2, PE_PRESENT);
	pm_entry(&img, 0x12000, 1, PE_LAZY);
	pm_entry(&img, 0x900000, 1, PE_PRESENT);
	pm_entry(&img, 0x7ff000, 1, PE_PRESENT);
	snprintf(name, sizeof(name), "%spagemap-1.img", prefix);
	memtab_img(tab, name, &img);
}

/* The images as tar members in `order` (pagemap replaced by bad_pagemap when given). */
static void make_tar(struct fx *f, const char *prefix, const enum member *order,
		     const struct tbuf *bad_pagemap)
{
	static const char *const names[M_MAX] = { "inventory.img", "pstree.img", "core-1.img",
						  "mm-1.img",	   "pagemap-1.img", "pages-1.img" };
	struct c2c_memtab *tab = c2c_memtab_new("build");
	char name[64];

	images(tab, prefix);
	tar_begin(&f->t, true);
	for (size_t i = 0; i < M_MAX; i++) {
		const struct c2c_member *m;

		snprintf(name, sizeof(name), "%s%s", prefix, names[order[i]]);
		if (order[i] == M_PAGES) {
			tar_file(&f->t, name, f->pages, 5 * PG);
		} else if (order[i] == M_PAGEMAP && bad_pagemap) {
			tar_file(&f->t, name, bad_pagemap->p, bad_pagemap->n);
		} else {
			m = c2c_memtab_find(tab, name);
			assert_non_null(m);
			tar_file(&f->t, name, m->data, m->size);
		}
	}
	tar_end(&f->t);
	c2c_memtab_put(tab);
}

static const struct c2c_member *pages_member(struct fx *f, const char *prefix)
{
	char name[64];
	const struct c2c_member *m;

	snprintf(name, sizeof(name), "%spages-1.img", prefix);
	m = c2c_memtab_find(f->tab, name);
	assert_non_null(m);
	return m;
}

/* The whole member reads back as written, wherever its runs went. */
static void expect_member_bytes(struct fx *f, const char *prefix)
{
	struct c2c_source *src;
	struct c2c_blob b = C2C_BLOB_INIT;
	uint8_t *buf = malloc(5 * PG);

	assert_non_null(buf);
	c2c_assert_ok(f->ctx, c2c_source_open_tab(f->ctx, f->tab, prefix, &src));
	c2c_assert_ok(f->ctx, c2c_source_open_data(f->ctx, src, "pages-1.img", &b));
	assert_int_equal(b.size, 5 * PG);
	c2c_assert_ok(f->ctx, c2c_blob_pread(f->ctx, &b, buf, 5 * PG, 0));
	assert_memory_equal(buf, f->pages, 5 * PG);
	c2c_blob_release(&b);
	c2c_source_free(src);
	free(buf);
}

/* Page k of pages-1.img is in the core file at off. */
static void expect_core_page(int corefd, uint64_t off, const uint8_t *pages, unsigned k)
{
	uint8_t buf[PG];

	assert_int_equal(pread(corefd, buf, PG, (off_t)off), PG);
	assert_memory_equal(buf, pages + k * PG, PG);
}

/* Read the tar with the placer: pages-1.img, placed into pid 1's core. */
static const struct c2c_member *read_placed(struct fx *f, const char *prefix)
{
	const struct c2c_member *m;

	c2c_assert_ok(f->ctx, tar_read(f->ctx, &f->t.out, f->t.out.n, f->dirfd, f->dir,
				       &f->placer, &f->tab));
	assert_int_equal(c2c_errcode(f->ctx), 0);
	m = pages_member(f, prefix);
	assert_non_null(m->map);
	assert_false(m->spooled);
	assert_int_equal(m->map->pid, 1);
	return m;
}

/* Read the tar with the placer; the pages must be in the core where the plan puts them. */
static void check_placed(struct fx *f, const char *prefix)
{
	const struct c2c_coreplan_opts opts = { 0, C2C_FILE_PAGES_NONE, NULL };
	const struct c2c_member *m;
	struct c2c_coreplan plan;
	uint64_t placed = 0;
	uint8_t buf[PG];

	m = read_placed(f, prefix);
	assert_false(m->map->verbatim);
	assert_true(m->map->core_fd >= 0);
	assert_int_equal(m->map->core_bytes, 4 * PG); /* all but the page outside the VMAs */
	assert_int_equal(dir_count(f->dir), 0);	      /* core and spool have no names */

	/* The layout: regions in address order from 4096; a 2 MiB one 64 KiB aligned. */
	expect_core_page(m->map->core_fd, 4096, f->pages, 1);		/* 0x10000 */
	expect_core_page(m->map->core_fd, 4096 + PG, f->pages, 2);	/* 0x11000 */
	expect_core_page(m->map->core_fd, 4096 + 3 * PG, f->pages, 0);	/* 0x13000 */
	expect_core_page(m->map->core_fd, 0x10000 + 0x1ff000, f->pages, 4); /* 0x7ff000 */
	/* The lazy page and the rest of the regions are holes. */
	assert_int_equal(pread(m->map->core_fd, buf, PG, 4096 + 2 * PG), PG);
	assert_memory_equal(buf, (uint8_t[PG]){ 0 }, PG);

	/* The same, from the plan the writer will follow. */
	c2c_assert_ok(f->ctx, c2c_source_open_tab(f->ctx, f->tab, prefix, &f->src));
	c2c_assert_ok(f->ctx, c2c_checkpoint_load(f->ctx, f->src, NULL, 0, &f->ck));
	c2c_assert_ok(f->ctx, c2c_corebuild_plan(f->ctx, &f->ck->procs[0], &opts, &plan));
	for (size_t i = 0; i < plan.nsegs; i++) {
		const struct c2c_segment *s = &plan.segs[i];

		for (size_t k = 0; k < s->npieces; k++) {
			const struct c2c_piece *pc = &plan.pieces[s->piece0 + k];
			uint8_t *got = malloc(pc->len);

			assert_non_null(got);
			assert_int_equal(pread(m->map->core_fd, got, pc->len,
					       (off_t)(s->offset + pc->seg_off)),
					 pc->len);
			assert_memory_equal(got, f->pages + pc->blob_off, pc->len);
			placed += pc->len;
			free(got);
		}
	}
	assert_int_equal(placed, m->map->core_bytes);
	c2c_coreplan_release(&plan);
	/* The page outside every VMA stayed in the spool: the member still reads whole. */
	expect_member_bytes(f, prefix);
}

/*
 * Pages before their images: written once, verbatim, at
 * C2C_LAYOUT_VERBATIM_START of the process's core; the plan points its
 * segments there.
 */
static void check_verbatim(struct fx *f, const char *prefix)
{
	const struct c2c_coreplan_opts opts = { 0, C2C_FILE_PAGES_NONE, NULL };
	const uint64_t v = C2C_LAYOUT_VERBATIM_START;
	const struct c2c_member *m;
	struct c2c_coreplan plan;
	uint64_t pinned = 0;

	m = read_placed(f, prefix);
	assert_true(m->map->verbatim);
	assert_int_equal(m->map->core_bytes, 5 * PG); /* the whole member, as it came */
	assert_int_equal(dir_count(f->dir), 0);
	for (unsigned k = 0; k < 5; k++)
		expect_core_page(m->map->core_fd, v + k * PG, f->pages, k);

	c2c_assert_ok(f->ctx, c2c_source_open_tab(f->ctx, f->tab, prefix, &f->src));
	c2c_assert_ok(f->ctx, c2c_checkpoint_load(f->ctx, f->src, NULL, 0, &f->ck));
	c2c_assert_ok(f->ctx, c2c_corebuild_plan(f->ctx, &f->ck->procs[0], &opts, &plan));
	assert_ptr_equal(plan.verbatim, m->map);
	for (size_t i = 0; i < plan.nsegs; i++) {
		const struct c2c_segment *s = &plan.segs[i];

		if (!s->pinned) {
			/* Everything else lies after the member's bytes. */
			assert_true(!s->filesz || s->offset >= v + 5 * PG);
			continue;
		}
		assert_int_equal(s->npieces, 1);
		assert_int_equal(s->offset, v + plan.pieces[s->piece0].blob_off);
		assert_int_equal(s->offset % PG, 0);
		assert_int_equal(s->filesz, plan.pieces[s->piece0].len);
		pinned += s->filesz;
	}
	assert_int_equal(pinned, 4 * PG); /* all but the page outside the VMAs */
	assert_true(plan.phoff >= v + 5 * PG);
	c2c_coreplan_release(&plan);
	expect_member_bytes(f, prefix);
}

static void images_before_pages(void **state)
{
	static const enum member order[] = { M_INV, M_PSTREE, M_CORE, M_MM, M_PAGEMAP, M_PAGES };
	struct fx *f = *state;

	make_tar(f, "checkpoint/", order, NULL);
	check_placed(f, "checkpoint/");
}

static void pages_first(void **state)
{
	/* As CRI-O and Podman write fixture counter: pages-1.img before its images. */
	static const enum member order[] = { M_PAGES, M_INV, M_PSTREE, M_CORE, M_MM, M_PAGEMAP };
	struct fx *f = *state;

	make_tar(f, "checkpoint/", order, NULL);
	check_verbatim(f, "checkpoint/");
}

static void pages_between_pagemap_and_mm(void **state)
{
	static const enum member order[] = { M_PAGEMAP, M_PAGES, M_INV, M_MM, M_PSTREE, M_CORE };
	struct fx *f = *state;

	/* Top level, as Podman's export has it. */
	make_tar(f, "", order, NULL);
	check_verbatim(f, "");
}

/* The pages member was not placed in a core: spooled whole (or kept verbatim for nobody), no error. */
#define SPOOLED UINT32_MAX /* expect_spooled: it must not be written verbatim either */

static void expect_spooled(struct fx *f, const char *prefix, uint32_t verbatim_pid)
{
	const struct c2c_member *m;

	c2c_assert_ok(f->ctx, tar_read(f->ctx, &f->t.out, f->t.out.n, f->dirfd, f->dir,
				       &f->placer, &f->tab));
	assert_int_equal(c2c_errcode(f->ctx), 0);
	assert_string_equal(c2c_errmsg(f->ctx), "");
	assert_int_equal(c2c_warning_count(f->ctx), 0);
	m = pages_member(f, prefix);
	if (verbatim_pid == SPOOLED)
		assert_null(m->map);
	if (m->map) {
		/*
		 * Came first, so written verbatim. Its core is laid out around the
		 * bytes whatever the pagemap says (the loader judges that), so a
		 * pagemap whose head reads claims it; one that does not read, none.
		 */
		assert_true(m->map->verbatim);
		assert_int_equal(m->map->pid, verbatim_pid);
	} else {
		assert_true(m->spooled);
		assert_true(m->fd >= 0);
	}
	expect_member_bytes(f, prefix);
}

/* With pagemap-1.img replaced by bad, pages before and after it: never placed. */
static void bad_pagemap_both_orders(struct fx *f, const struct tbuf *bad, uint32_t verbatim_pid)
{
	static const enum member orders[2][M_MAX] = {
		{ M_INV, M_PSTREE, M_CORE, M_MM, M_PAGEMAP, M_PAGES },
		{ M_PAGES, M_INV, M_PSTREE, M_CORE, M_MM, M_PAGEMAP },
	};

	for (int k = 0; k < 2; k++) {
		make_tar(f, "checkpoint/", orders[k], bad);
		expect_spooled(f, "checkpoint/", verbatim_pid);
		c2c_memtab_put(f->tab);
		f->tab = NULL;
		tbuf_free(&f->t.out);
		c2c_place_release(&f->st);
		c2c_place_init(&f->st, f->ctx, f->dirfd, &f->placer);
	}
}

static void corrupt_pagemap_not_placed(void **state)
{
	struct fx *f = *state;
	struct tbuf bad = { 0 };

	tbuf_put(&bad, "garbage!", 8); /* not a pagemap at all */
	bad_pagemap_both_orders(f, &bad, 0);
	tbuf_free(&bad);
}

static void broken_pagemap_entry_not_placed(void **state)
{
	struct fx *f = *state;
	struct tbuf bad = { 0 };

	/* A good head and entry, then a record whose length word runs past the end. */
	pm_begin(&bad, 1);
	pm_entry(&bad, 0x10000, 2, PE_PRESENT);
	tbuf_u32(&bad, 1000);
	tbuf_put(&bad, "\x08", 1);
	bad_pagemap_both_orders(f, &bad, 1);
	tbuf_free(&bad);
}

static void unselected_pid_not_placed(void **state)
{
	static const enum member order[] = { M_INV, M_PSTREE, M_CORE, M_MM, M_PAGEMAP, M_PAGES };
	struct fx *f = *state;

	/* Only pid 7 is converted: the pages of pid 1 are not worth a core. */
	assert_int_equal(c2c_ctx_add_pid(f->ctx, 7), 0);
	make_tar(f, "checkpoint/", order, NULL);
	expect_spooled(f, "checkpoint/", SPOOLED);
}

static void other_directory_not_placed(void **state)
{
	static const enum member order[] = { M_INV, M_PSTREE, M_CORE, M_MM, M_PAGEMAP, M_PAGES };
	struct fx *f = *state;

	/* Only the image set a conversion uses: the top level or checkpoint/. */
	make_tar(f, "pre-checkpoint/", order, NULL);
	expect_spooled(f, "pre-checkpoint/", SPOOLED);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(images_before_pages, setup, teardown),
	cmocka_unit_test_setup_teardown(pages_first, setup, teardown),
	cmocka_unit_test_setup_teardown(pages_between_pagemap_and_mm, setup, teardown),
	cmocka_unit_test_setup_teardown(corrupt_pagemap_not_placed, setup, teardown),
	cmocka_unit_test_setup_teardown(broken_pagemap_entry_not_placed, setup, teardown),
	cmocka_unit_test_setup_teardown(unselected_pid_not_placed, setup, teardown),
	cmocka_unit_test_setup_teardown(other_directory_not_placed, setup, teardown),
};

C2C_UNIT_MAIN(tests)
