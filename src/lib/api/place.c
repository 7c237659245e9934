/*
 * Page placement for archives (see place.h). Only the image set a conversion
 * uses is placed: members at the top of the archive or under checkpoint/.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corebuild.h"
#include "place.h"
#include "util.h"

/* Beyond this many processes, pages are spooled (lookups stay cheap). */
#define PLACE_MAX_PROCS 4096

/* A task pagemap seen: only its head is decoded until its pages are placed. */
struct place_map {
	int dir; /* 0: top level, 1: checkpoint/ */
	uint32_t pid;
	uint64_t pages_id;
	size_t idx; /* member index */
};

struct place_mm {
	int dir;
	uint32_t pid;
	size_t idx; /* member index */
};

/* A pages member spooled before the images that describe it came. */
struct place_pages {
	int dir;
	uint32_t id;
	size_t idx;
};

/* A pages member written verbatim into a core of its own (see verbatim_map). */
struct place_verb {
	int dir;
	uint32_t id;
	size_t idx;
	unsigned int claims; /* pagemaps naming it: its core is used only when exactly one */
};

/*
 * Each such member holds two descriptors (its core, the spool) until the
 * cores are written; beyond this many, spool, so that a batch of -j
 * conversions stays far below the usual limit of 1024 open files.
 */
#define PLACE_MAX_VERBATIM 64

/* "checkpoint/<prefix><u32>.img" or "<prefix><u32>.img": the directory kind, or -1. */
static int parse_name(const char *name, const char *prefix, uint32_t *id)
{
	int dir = 0;
	size_t n = strlen(prefix);
	uint64_t v = 0;
	const char *p;

	if (!strncmp(name, "checkpoint/", 11)) {
		name += 11;
		dir = 1;
	}
	if (strncmp(name, prefix, n))
		return -1;
	p = name + n;
	if (*p < '0' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9' && v <= UINT32_MAX)
		v = v * 10 + (uint64_t)(*p++ - '0');
	if (v > UINT32_MAX || strcmp(p, ".img"))
		return -1;
	*id = (uint32_t)v;
	return dir;
}

static bool vma_below(const void *element, const void *key)
{
	return ((const struct c2c_vma *)element)->end <= *(const uint64_t *)key;
}

/* The VMA holding addr, or NULL; *next is the start of the next VMA above addr. */
static const struct c2c_vma *vma_at(const struct c2c_vma *v, size_t n, uint64_t addr,
				    uint64_t *next)
{
	size_t lo = c2c_lower_bound(v, n, sizeof(*v), &addr, vma_below);

	*next = lo < n ? v[lo].start : UINT64_MAX;
	return lo < n && v[lo].start <= addr ? &v[lo] : NULL;
}

static int push_run(struct c2c_place_run **runs, size_t *n, size_t *cap, struct c2c_place_run r)
{
	struct c2c_place_run *last = *n ? &(*runs)[*n - 1] : NULL;

	if (last && last->in_core == r.in_core &&
	    (!r.in_core || last->file_off + last->len == r.file_off)) {
		last->len += r.len;
		return 0;
	}
	if (c2c_array_grow(NULL, runs, cap, *n + 1, sizeof(**runs)) < 0)
		return -1;
	(*runs)[(*n)++] = r;
	return 0;
}

/*
 * The runs of a pages image: each PE_PRESENT entry goes, VMA by VMA, to the
 * core offset corebuild's layout gives it, or to the spool where the layout
 * has no place for it. Returns 0 (runs set), 1 to decline, -1 out of memory.
 */
static int plan_runs(const struct c2c_ctx *ctx, const struct c2c_vma *vmas, size_t nv,
		     uint64_t ps, const struct c2c_extent *ext, size_t n, struct c2c_placemap *out)
{
	bool file_pages = ctx->opts.root && ctx->opts.file_pages != C2C_FILE_PAGES_NONE;
	uint64_t *base = calloc(nv ? nv : 1, sizeof(*base)), pos = c2c_layout_data_start(ps);
	uint64_t total = 0;
	struct c2c_extent *sx = malloc((n ? n : 1) * sizeof(*sx));
	size_t cap = 0, k = 0;
	int r = -1;

	if (!base || !sx)
		goto out;
	memcpy(sx, ext, n * sizeof(*sx));
	if (n > 1)
		qsort(sx, n, sizeof(*sx), c2c_extent_cmp);
	/* Regions in address order, exactly as corebuild.c layout() assigns them. */
	for (size_t i = 0; i < nv; i++) {
		const struct c2c_vma *v = &vmas[i];
		bool own = false;

		while (k < n && sx[k].addr + sx[k].npages * ps <= v->start)
			k++;
		if (c2c_layout_private_pages(v, ctx->opts.flags))
			own = k < n && sx[k].addr < v->end;
		base[i] = UINT64_MAX;
		if (!c2c_layout_has_region(v, own, ctx->opts.flags, file_pages))
			continue;
		base[i] = c2c_layout_align(pos, v->end - v->start, ps);
		if (c2c_add_overflow(base[i], v->end - v->start, &pos) || pos > C2C_MAX_CORE_SIZE) {
			r = 1;
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct c2c_extent *e = &ext[i];
		uint64_t a = e->addr, end = e->addr + e->npages * ps;

		while (a < end) {
			uint64_t next, stop;
			const struct c2c_vma *v = vma_at(vmas, nv, a, &next);
			struct c2c_place_run run = { e->off + (a - e->addr), 0, 0, false };

			stop = v ? (v->end < end ? v->end : end) : (next < end ? next : end);
			run.len = stop - a;
			if (v && base[v - vmas] != UINT64_MAX &&
			    c2c_layout_private_pages(v, ctx->opts.flags)) {
				run.in_core = true;
				run.file_off = base[v - vmas] + (a - v->start);
			}
			if (push_run(&out->runs, &out->n, &cap, run) < 0)
				goto out;
			a = stop;
		}
		total = e->off + e->npages * ps;
	}
	/* Whatever follows the last entry: spooled, open-ended. */
	if (push_run(&out->runs, &out->n, &cap,
		     (struct c2c_place_run){ total, UINT64_MAX - total, 0, false }) < 0)
		goto out;
	r = 0;
out:
	free(base);
	free(sx);
	return r;
}

/* The one pagemap seen that names pages-<id>.img: 0 (*pm NULL if none yet), -1 if two do. */
static int pagemap_of(const struct c2c_place_state *st, int dir, uint64_t id,
		      const struct place_map **pm)
{
	*pm = NULL;
	for (size_t i = 0; i < st->nmaps; i++) {
		if (st->maps[i].dir != dir || st->maps[i].pages_id != id)
			continue;
		if (*pm)
			return -1; /* two pagemaps share it: spool */
		*pm = &st->maps[i];
	}
	return 0;
}

/* The mm image seen for process pid, or NULL. */
static const struct place_mm *mm_of(const struct c2c_place_state *st, int dir, uint32_t pid)
{
	const struct place_mm *mm = NULL;

	for (size_t i = 0; i < st->nmms; i++)
		if (st->mms[i].dir == dir && st->mms[i].pid == pid)
			mm = &st->mms[i];
	return mm;
}

/*
 * Where the pages of pages-<id>.img in directory kind dir go: 0 with *ret
 * set (core file created), 0 with *ret NULL when they cannot be placed (yet),
 * or a negative error.
 */
static int make_map(struct c2c_place_state *st, const struct c2c_memtab *tab, int dir,
		    uint32_t id, struct c2c_placemap **ret)
{
	const struct place_map *pm = NULL;
	const struct place_mm *mm = NULL;
	struct c2c_placemap *map = NULL;
	struct c2c_extent *ext = NULL;
	struct c2c_vma *vmas = NULL;
	uint64_t pages_id, page_size = 0;
	struct c2c_blob b;
	size_t nv = 0, next = 0;
	int r;

	*ret = NULL;
	if (pagemap_of(st, dir, id, &pm) < 0 || !pm || !c2c_opts_selected(&st->ctx->opts, pm->pid))
		return 0;
	if (!(mm = mm_of(st, dir, pm->pid)))
		return 0;
	/* A broken image is not placed: the loader reports it if it matters. */
	c2c_try_begin(st->ctx);
	b = c2c_member_blob(&tab->v[mm->idx]);
	r = c2c_mm_vmas(st->ctx, &b, &vmas, &nv, &page_size);
	/* Without AT_PAGESZ the page size is the arch's, known only later: spool. */
	if (r == 0 && page_size) {
		b = c2c_member_blob(&tab->v[pm->idx]);
		r = c2c_pagemap_present(st->ctx, &b, page_size, &pages_id, &ext, &next);
	}
	c2c_try_end(st->ctx);
	if (r < 0 || !page_size || !next) {
		free(vmas);
		free(ext);
		return 0;
	}
	map = calloc(1, sizeof(*map));
	if (!map) {
		free(vmas);
		free(ext);
		return c2c_fail(st->ctx, NULL, C2C_E_NOMEM, "out of memory");
	}
	map->core_fd = map->spool_fd = -1;
	map->pid = pm->pid;
	r = plan_runs(st->ctx, vmas, nv, page_size, ext, next, map);
	free(vmas);
	free(ext);
	if (r < 0) {
		c2c_placemap_free(map);
		return c2c_fail(st->ctx, NULL, C2C_E_NOMEM, "out of memory");
	}
	/* Declined, or no O_TMPFILE here: spool it. */
	if (r > 0 || (map->core_fd = openat(st->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC,
					    0600)) < 0) {
		c2c_placemap_free(map);
		return 0;
	}
	*ret = map;
	return 0;
}

/*
 * pages-<id>.img comes before the images that say where its pages go (the
 * pages-first member order of a GNU tar re-pack). Rather than spool it and
 * copy it into its core later (writing every byte twice, which costs a
 * disk write of it once the page cache fills), write it once, verbatim, at
 * C2C_LAYOUT_VERBATIM_START of an unnamed file that becomes its process's
 * core: the core's layout is then built around those bytes (corebuild.c).
 * 0 with *ret set, 0 with *ret NULL to spool (the member is shared by two
 * pagemaps, its process is not selected, or its images were already
 * read and could not be used), or a negative error.
 */
static int verbatim_map(struct c2c_place_state *st, int dir, uint32_t id,
			struct c2c_placemap **ret)
{
	const struct place_map *pm = NULL;
	struct c2c_placemap *map;

	if (pagemap_of(st, dir, id, &pm) < 0)
		return 0;
	if (pm && (!c2c_opts_selected(&st->ctx->opts, pm->pid) || mm_of(st, dir, pm->pid)))
		return 0; /* not wanted, or both came and make_map declined */
	if (st->nverbs >= PLACE_MAX_VERBATIM)
		return 0;
	map = calloc(1, sizeof(*map));
	if (map)
		map->runs = malloc(sizeof(*map->runs));
	if (!map || !map->runs) {
		c2c_placemap_free(map);
		return c2c_fail(st->ctx, NULL, C2C_E_NOMEM, "out of memory");
	}
	map->n = 1;
	map->runs[0] = (struct c2c_place_run){ 0, UINT64_MAX, C2C_LAYOUT_VERBATIM_START, true };
	map->spool_fd = -1;
	map->pid = pm ? pm->pid : 0;
	map->verbatim = true;
	map->verbatim_off = C2C_LAYOUT_VERBATIM_START;
	map->core_fd = openat(st->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (map->core_fd < 0) {
		c2c_placemap_free(map); /* no O_TMPFILE here: spool it */
		return 0;
	}
	*ret = map;
	return 0;
}

static int place(void *data, const struct c2c_memtab *tab, const char *name,
		 struct c2c_placemap **ret)
{
	uint32_t id;
	int dir = parse_name(name, "pages-", &id), r;

	*ret = NULL;
	if (dir < 0)
		return 0;
	r = make_map(data, tab, dir, id, ret);
	if (r < 0 || *ret)
		return r;
	return verbatim_map(data, dir, id, ret);
}

/* A pagemap naming pages-<id>.img came: the verbatim core is its process's, or nobody's. */
static void verbatim_claim(struct c2c_place_state *st, struct c2c_memtab *tab, int dir,
			   uint64_t id, uint32_t pid)
{
	for (size_t i = 0; i < st->nverbs; i++) {
		struct place_verb *vb = &st->verbs[i];
		struct c2c_placemap *map = tab->v[vb->idx].map;

		if (vb->dir != dir || vb->id != id || !map)
			continue;
		vb->claims++;
		map->pid = vb->claims == 1 && c2c_opts_selected(&st->ctx->opts, pid) ? pid : 0;
	}
}

/* Copy len bytes from `in` to `out`, skipping holes (they stay holes). 0 or -errno. */
static int copy_sparse(int in, uint64_t from, int out, uint64_t to, uint64_t len)
{
	uint64_t end = from + len, d = 0, n;

	while (from < end && (n = c2c_next_data(in, from, end - from, &d)) > 0) {
		loff_t i = (loff_t)d, o = (loff_t)(to + (d - from));

		while (i < (loff_t)(d + n)) {
			ssize_t k = copy_file_range(in, &i, out, &o, (size_t)(d + n - (uint64_t)i), 0);

			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				return k < 0 ? -errno : -EIO;
		}
		to += d + n - from;
		from = d + n;
	}
	return 0;
}

/*
 * Pages spooled before their mm and pagemap came: move them into the core
 * now, while they are likely still in the page cache, and punch them out of
 * the spool so that its dirty pages are dropped instead of written back.
 */
static int place_late(struct c2c_place_state *st, struct c2c_memtab *tab, int dir, uint64_t id)
{
	struct c2c_placemap *map = NULL;
	struct c2c_member *m = NULL;
	uint64_t core_end = 0;
	int r;

	for (size_t i = 0; i < st->npages; i++)
		if (st->pages[i].dir == dir && st->pages[i].id == id)
			m = &tab->v[st->pages[i].idx];
	if (!m || !m->spooled || m->map || m->fd < 0 || id > UINT32_MAX)
		return 0;
	r = make_map(st, tab, dir, (uint32_t)id, &map);
	if (r < 0 || !map)
		return r;
	map->core_bytes = 0;
	for (size_t i = 0; i < map->n; i++) {
		struct c2c_place_run *run = &map->runs[i];
		uint64_t len = m->size > run->member_off ? m->size - run->member_off : 0;

		if (!run->in_core) {
			run->file_off = m->off + run->member_off;
			continue;
		}
		if (len > run->len)
			len = run->len;
		if (!len)
			continue;
		r = copy_sparse(m->fd, m->off + run->member_off, map->core_fd, run->file_off, len);
		if (r < 0 && !map->core_bytes &&
		    (r == -EXDEV || r == -EINVAL || r == -ENOSYS || r == -EOPNOTSUPP)) {
			/* No in-kernel copy here: leave the pages in the spool (copied later). */
			c2c_placemap_free(map);
			return 0;
		}
		if (r < 0) {
			struct c2c_loc loc = { tab->display, m->name, C2C_NO_OFFSET, C2C_NO_RECORD };

			c2c_placemap_free(map);
			errno = -r;
			return c2c_fail(st->ctx, &loc, C2C_E_IO, "cannot move page data into a core");
		}
		/* Best effort: without hole punching the spool just keeps its copy. */
		(void)fallocate(m->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				(off_t)(m->off + run->member_off), (off_t)len);
		if (run->file_off + len > core_end)
			core_end = run->file_off + len;
		map->core_bytes += len;
	}
	if (core_end && ftruncate(map->core_fd, (off_t)core_end) < 0) {
		struct c2c_loc loc = { tab->display, m->name, C2C_NO_OFFSET, C2C_NO_RECORD };

		c2c_placemap_free(map);
		return c2c_fail(st->ctx, &loc, C2C_E_IO, "cannot size the core file");
	}
	map->spool_fd = m->fd;
	m->fd = -1;
	m->map = map;
	m->spooled = false;
	return 0;
}

static int added(void *data, struct c2c_memtab *tab, size_t i)
{
	struct c2c_place_state *st = data;
	const struct c2c_member *m = &tab->v[i];
	struct c2c_blob b = c2c_member_blob(m);
	uint32_t id;
	int dir;

	if (!m->data && m->map && m->map->verbatim && (dir = parse_name(m->name, "pages-", &id)) >= 0) {
		int r = c2c_array_grow(st->ctx, &st->verbs, &st->verbs_cap, st->nverbs + 1,
				       sizeof(*st->verbs));

		if (r < 0)
			return r;
		/* Claimed already when its pagemap came first. */
		st->verbs[st->nverbs++] = (struct place_verb){ dir, id, i, m->map->pid ? 1 : 0 };
		return 0;
	}
	if (!m->data) {
		/* Only our own spool: an archive used in place is the user's file. */
		if (m->spooled && (dir = parse_name(m->name, "pages-", &id)) >= 0 &&
		    st->npages < PLACE_MAX_PROCS) {
			int r = c2c_array_grow(st->ctx, &st->pages, &st->pages_cap, st->npages + 1,
					       sizeof(*st->pages));

			if (r < 0)
				return r;
			st->pages[st->npages++] = (struct place_pages){ dir, id, i };
		}
		return 0;
	}
	if ((dir = parse_name(m->name, "mm-", &id)) >= 0 && st->nmms < PLACE_MAX_PROCS) {
		int r = c2c_array_grow(st->ctx, &st->mms, &st->mms_cap, st->nmms + 1,
				       sizeof(*st->mms));

		if (r < 0)
			return r;
		st->mms[st->nmms++] = (struct place_mm){ dir, id, i };
		for (size_t k = 0; k < st->nmaps; k++)
			if (st->maps[k].dir == dir && st->maps[k].pid == id)
				return place_late(st, tab, dir, st->maps[k].pages_id);
	} else if ((dir = parse_name(m->name, "pagemap-", &id)) >= 0 &&
		   st->nmaps < PLACE_MAX_PROCS) {
		struct place_map pm = { dir, id, 0, i };
		int r;

		c2c_try_begin(st->ctx); /* the loader reports a broken image if it matters */
		r = c2c_pagemap_present(st->ctx, &b, 0, &pm.pages_id, NULL, NULL); /* head only */
		c2c_try_end(st->ctx);
		if (r < 0)
			return 0;
		r = c2c_array_grow(st->ctx, &st->maps, &st->maps_cap, st->nmaps + 1,
				   sizeof(*st->maps));
		if (r < 0)
			return r;
		st->maps[st->nmaps++] = pm;
		verbatim_claim(st, tab, dir, pm.pages_id, pm.pid);
		return place_late(st, tab, dir, pm.pages_id);
	}
	return 0;
}

void c2c_place_init(struct c2c_place_state *st, struct c2c_ctx *ctx, int dirfd,
		    struct c2c_placer *placer)
{
	*st = (struct c2c_place_state){ .ctx = ctx, .dirfd = dirfd };
	*placer = (struct c2c_placer){ .added = added, .place = place, .data = st };
}

void c2c_place_release(struct c2c_place_state *st)
{
	free(st->maps);
	free(st->mms);
	free(st->pages);
	free(st->verbs);
	*st = (struct c2c_place_state){ .dirfd = -1 };
}
