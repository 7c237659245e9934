/*
 * Fuzz target: stage 3, page-run resolution (pagemap.c). The input is
 *
 *   byte 0     flags: bit 0 shared-memory pagemap (pagemap-shmem-1.img)
 *                     instead of a task's (pagemap-1.img);
 *                     bit 1 the image set has a `parent` (then bytes 1-2, a
 *                     u16 LE, are the length of the child's pagemap, and the
 *                     rest of the input is the parent's pagemap);
 *                     bit 2 the parent's own `parent` points back to the
 *                     child (a loop);
 *                     bit 3 `parent` is a symbolic link instead of a file;
 *                     bits 4-6 size of every pages-N.img: 64 MiB >> (2 * n)
 *   then       the child's pagemap image (and the parent's)
 *
 * in a member table held in memory: img/pagemap-1.img, img/pages-0.img ..
 * img/pages-7.img, img/parent -> ../pre, pre/... (the pages images are a
 * sparse memfd: only their sizes matter here). c2c_pagemap_load() resolves
 * it; the result must be sorted, non-overlapping, inside its pages images.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "error.h"
#include "process.h"
#include "source.h"
#include "util.h"

#include "fuzz-util.h"

#define PAGES_MAX (64ULL << 20)

static int pages_fd = -1;

static bool add(struct c2c_memtab *tab, const char *name, const uint8_t *data, size_t n,
		int fd, uint64_t size, const char *link)
{
	struct c2c_member m = { .fd = -1 };
	bool ok;

	if (!(m.name = strdup(name)))
		return false;
	if (link) {
		ok = (m.link = strdup(link)) != NULL;
	} else if (fd >= 0) {
		m.size = size;
		ok = (m.fd = dup(fd)) >= 0;
	} else {
		m.size = n;
		if ((ok = (m.data = malloc(n ? n : 1)) != NULL))
			memcpy(m.data, data, n);
	}
	if (!ok) {
		free(m.name);
		return false;
	}
	return c2c_memtab_add(tab, m) == 0;
}

/* One image set: its pagemap, pages-0..7.img, and optionally a parent link. */
static bool add_set(struct c2c_memtab *tab, const char *dir, bool shmem, const uint8_t *map,
		    size_t n, uint64_t pages_size, const char *parent, bool parent_link)
{
	char name[64];

	snprintf(name, sizeof(name), "%s/%s1.img", dir, shmem ? "pagemap-shmem-" : "pagemap-");
	if (!add(tab, name, map, n, -1, 0, NULL))
		return false;
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "%s/pages-%d.img", dir, i);
		if (!add(tab, name, NULL, 0, pages_fd, pages_size, NULL))
			return false;
	}
	if (parent) {
		snprintf(name, sizeof(name), "%s/parent", dir);
		if (parent_link ? !add(tab, name, NULL, 0, -1, 0, parent)
				: !add(tab, name, (const uint8_t *)parent, strlen(parent), -1, 0,
				       NULL))
			return false;
	}
	return true;
}

static void check_result(const struct c2c_pagemap *pm)
{
	uint64_t lazy = 0;

	for (size_t i = 0; i < pm->n; i++) {
		const struct c2c_extent *e = &pm->ext[i];
		uint64_t len, end;

		FUZZ_CHECK(e->addr % pm->page_size == 0);
		FUZZ_CHECK(e->npages > 0);
		FUZZ_CHECK(!c2c_mul_overflow(e->npages, pm->page_size, &len));
		FUZZ_CHECK(!c2c_add_overflow(e->addr, len, &end));
		if (i + 1 < pm->n)
			FUZZ_CHECK(end <= pm->ext[i + 1].addr);
		if (e->blob) {
			uint64_t bend;

			FUZZ_CHECK(!c2c_add_overflow(e->off, len, &bend));
			FUZZ_CHECK(bend <= e->blob->size);
		} else {
			lazy += e->npages;
		}
		/* The lookup finds every extent by its first and last page. */
		FUZZ_CHECK(c2c_pagemap_find(pm, e->addr) == i);
		FUZZ_CHECK(c2c_pagemap_find(pm, end - 1) == i);
	}
	FUZZ_CHECK(pm->lazy_pages <= lazy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct c2c_ctx *ctx = NULL;
	struct c2c_memtab *tab = NULL;
	struct c2c_source *src = NULL;
	struct c2c_checkpoint *ck = NULL;
	struct c2c_pagemap pm = { 0 };
	const uint8_t *child = data + 1, *par = NULL;
	size_t nchild, npar = 0;
	uint8_t flags;
	bool shmem, has_parent, loop, link;
	uint64_t pages_size;
	int r;

	if (size < 1)
		return 0;
	if (pages_fd < 0) {
		pages_fd = memfd_create("c2c-fuzz-pages", MFD_CLOEXEC);
		if (pages_fd < 0 || ftruncate(pages_fd, (off_t)PAGES_MAX) < 0)
			abort();
	}
	flags = data[0];
	shmem = flags & 1;
	has_parent = flags & 2;
	loop = flags & 4;
	link = flags & 8;
	pages_size = PAGES_MAX >> (2 * ((flags >> 4) & 7));
	nchild = size - 1;
	if (has_parent) {
		size_t n;

		if (size < 3)
			return 0;
		n = (size_t)data[1] | (size_t)data[2] << 8;
		child = data + 3;
		nchild = size - 3 < n ? size - 3 : n;
		par = child + nchild;
		npar = size - 3 - nchild;
	}

	if (!(ctx = c2c_ctx_new()) || !(tab = c2c_memtab_new("fuzz.tar")))
		goto out;
	if (!add_set(tab, "img", shmem, child, nchild, pages_size, has_parent ? "../pre" : NULL,
		     link))
		goto out;
	if (has_parent && !add_set(tab, "pre", shmem, par, npar, pages_size,
				   loop ? "../img/" : NULL, link))
		goto out;
	if (c2c_source_open_tab(ctx, tab, "img/", &src) < 0)
		goto out;
	ck = calloc(1, sizeof(*ck));
	if (!ck)
		goto out;
	ck->src = src;
	ck->rootfd = -1;

	r = c2c_pagemap_load(ctx, ck, src, shmem ? C2C_PAGEMAP_SHMEM : C2C_PAGEMAP_TASK, 1, 4096,
			     &pm);
	fuzz_report(ctx, "pagemap", r);
	if (r == 0)
		check_result(&pm);
	else /* the pagemap image is always there: 1 (missing) is wrong too */
		FUZZ_CHECK(r < 0 && c2c_errcode(ctx) == r && c2c_errmsg(ctx)[0]);
	c2c_pagemap_release(&pm);
out:
	c2c_checkpoint_free(ck);
	c2c_source_free(src);
	c2c_memtab_put(tab);
	c2c_ctx_free(ctx);
	return 0;
}
