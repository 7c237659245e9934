/*
 * Stage 8, api: c2c_grep, a search of the processes' memory in one pass over
 * the checkpoint, without writing cores.
 *
 * Consumes the process model (VMAs, page runs of the process and of the
 * shared memory objects it maps); produces matches with their process,
 * address and mapping. Page data is streamed through a window of
 * SEARCH_CHUNK bytes plus an overlap kept from the previous window, so a
 * match that crosses a page or page-run boundary is found wherever the
 * memory is contiguous within one VMA, and memory use does not grow with
 * the checkpoint. Fixed strings are found with memmem, everything else
 * (regular expressions, caseless strings) with PCRE2.
 *
 * An archive file is searched while it is decompressed: page members are
 * never spooled. The window then runs over member offsets, and each match is
 * recorded by (member, offset) with its context bytes, to be resolved to a
 * process, address and mapping once the whole archive (the process model)
 * has been read; see "Streamed archives" below.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "arcsource.h"
#include "process.h"
#include "pump.h"
#include "util.h"

#define SEARCH_CHUNK (1U << 20) /* page data read per window */
#define MATCH_MAX 4096U		/* longest match a window can hold (documented in the header) */
#define PATTERN_MAX MATCH_MAX

struct matcher {
	const struct c2c_pattern *pat;
	pcre2_code *re; /* NULL: case-sensitive fixed string, memmem */
	pcre2_match_data *md;
};

/* A match found in the current window, before it is sorted and reported. */
struct hit {
	uint64_t addr;
	size_t len, pattern;
};

struct stream;

struct search {
	struct c2c_ctx *ctx;
	struct stream *st; /* while an archive streams: matches are recorded, not reported */
	struct matcher *m;
	size_t nm;
	size_t context;
	c2c_match_fn fn;
	void *userdata;
	int64_t count;
	bool stop;

	const struct c2c_process *p;
	const struct c2c_vma *v;
	char mapping[64];
	const char *mapname;

	/* The window: bytes [base, base + len) of the VMA's memory. */
	uint8_t *buf;
	size_t len, cap;
	uint64_t base;
	uint64_t done; /* matches starting below this were reported */
	struct hit *hits;
	size_t nhits, hits_cap;
	/*
	 * Per pattern: where its last reported match ended. A window searches on
	 * from there, not from its own start, so a match never overlaps the one
	 * before it whatever the window boundaries (grep -o), and a stream cut
	 * into other windows (an archive member) finds the same matches.
	 */
	uint64_t *resume;
};

static int compile(struct c2c_ctx *ctx, const struct c2c_pattern *pat, struct matcher *m)
{
	uint32_t opts = PCRE2_NEVER_UTF | PCRE2_NEVER_UCP;
	PCRE2_SIZE erroff;
	int err;

	m->pat = pat;
	if (pat->kind == C2C_PATTERN_FIXED && !(pat->flags & C2C_PATTERN_ICASE))
		return 0;
	if (pat->kind == C2C_PATTERN_FIXED)
		opts = PCRE2_LITERAL; /* which allows no NEVER_* option; without UTF it is bytes */
	else
		opts |= PCRE2_DOTALL; /* memory is not made of lines */
	if (pat->flags & C2C_PATTERN_ICASE)
		opts |= PCRE2_CASELESS;
	m->re = pcre2_compile(pat->bytes, pat->len, opts, &err, &erroff, NULL);
	if (!m->re) {
		PCRE2_UCHAR msg[128];

		pcre2_get_error_message(err, msg, sizeof(msg));
		return c2c_fail(ctx, NULL, C2C_E_USAGE,
				"regular expression '%.*s': offset %zu: %s", (int)pat->len,
				(const char *)pat->bytes, (size_t)erroff, (const char *)msg);
	}
	(void)pcre2_jit_compile(m->re, PCRE2_JIT_COMPLETE); /* interpreted if JIT is missing */
	m->md = pcre2_match_data_create_from_pattern(m->re, NULL);
	if (!m->md)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	return 0;
}

static void matchers_free(struct matcher *m, size_t n)
{
	for (size_t i = 0; m && i < n; i++) {
		pcre2_match_data_free(m[i].md);
		pcre2_code_free(m[i].re);
	}
	free(m);
}

static int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int c2c_ctx_add_pattern(struct c2c_ctx *ctx, enum c2c_pattern_kind kind, const char *pat,
			size_t len, unsigned int flags)
{
	struct c2c_pattern np = { kind == C2C_PATTERN_REGEX ? C2C_PATTERN_REGEX : C2C_PATTERN_FIXED,
				  flags, NULL, 0 };
	struct matcher m = { 0 };
	struct c2c_pattern *v;
	int r;

	if (!pat || !len)
		return c2c_fail(ctx, NULL, C2C_E_USAGE, "empty pattern");
	if (len > PATTERN_MAX)
		return c2c_fail(ctx, NULL, C2C_E_USAGE, "pattern of %zu bytes: at most %u", len,
				PATTERN_MAX);
	if (!(np.bytes = malloc(len)))
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	if (kind == C2C_PATTERN_HEX) {
		int hi = -1;

		np.flags &= ~(unsigned int)C2C_PATTERN_ICASE;
		for (size_t i = 0; i < len; i++) {
			int d = hex_value((unsigned char)pat[i]);

			if (pat[i] == ' ' && hi < 0)
				continue;
			if (d < 0) {
				free(np.bytes);
				return c2c_fail(ctx, NULL, C2C_E_USAGE,
						"hex pattern '%.*s': '%c' at offset %zu is not a hex "
						"digit",
						(int)len, pat, pat[i], i);
			}
			if (hi < 0) {
				hi = d;
			} else {
				np.bytes[np.len++] = (uint8_t)(hi << 4 | d);
				hi = -1;
			}
		}
		if (hi >= 0 || !np.len) {
			free(np.bytes);
			return c2c_fail(ctx, NULL, C2C_E_USAGE,
					"hex pattern '%.*s': an even number of hex digits is needed",
					(int)len, pat);
		}
	} else {
		memcpy(np.bytes, pat, len);
		np.len = len;
	}
	r = compile(ctx, &np, &m); /* refuse a bad expression now, not at search time */
	pcre2_match_data_free(m.md);
	pcre2_code_free(m.re);
	if (r < 0) {
		free(np.bytes);
		return r;
	}
	v = reallocarray(ctx->opts.patterns, ctx->opts.npatterns + 1, sizeof(*v));
	if (!v) {
		free(np.bytes);
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	}
	v[ctx->opts.npatterns++] = np;
	ctx->opts.patterns = v;
	return 0;
}

/* At most one match per byte of a window: bounded by SEARCH_CHUNK. */
static int add_hit(struct search *s, uint64_t addr, size_t len, size_t pattern)
{
	if (s->nhits == s->hits_cap) {
		size_t ncap = s->hits_cap ? 2 * s->hits_cap : 64;
		struct hit *h = reallocarray(s->hits, ncap, sizeof(*h));

		if (!h)
			return c2c_fail(s->ctx, NULL, C2C_E_NOMEM, "out of memory");
		s->hits = h;
		s->hits_cap = ncap;
	}
	s->hits[s->nhits++] = (struct hit){ addr, len, pattern };
	return 0;
}

/* Matches of pattern k starting in [from, limit) of the window (offsets). */
static int find(struct search *s, size_t k, size_t from, size_t limit)
{
	const struct matcher *m = &s->m[k];
	size_t pos = from;
	int r = 0;

	if (s->resume[k] > s->base + from)
		pos = (size_t)(s->resume[k] - s->base);

	while (r == 0 && pos < limit) {
		size_t at, len;

		if (!m->re) {
			const uint8_t *f = memmem(s->buf + pos, s->len - pos, m->pat->bytes,
						  m->pat->len);

			if (!f)
				break;
			at = (size_t)(f - s->buf);
			len = m->pat->len;
		} else {
			int rc = pcre2_match(m->re, s->buf, s->len, pos, 0, m->md, NULL);
			PCRE2_SIZE *ov;

			if (rc == PCRE2_ERROR_NOMATCH)
				break;
			if (rc < 0) {
				PCRE2_UCHAR msg[128];

				pcre2_get_error_message(rc, msg, sizeof(msg));
				if (s->st)
					return c2c_fail(s->ctx,
							&C2C_LOC_AT(s->mapname, s->base + pos),
							C2C_E_LIMIT, "regular expression: %s",
							(const char *)msg);
				return c2c_fail(s->ctx, NULL, C2C_E_LIMIT,
						"process %u: regular expression at %#llx: %s",
						s->p->pid, (unsigned long long)(s->base + pos),
						(const char *)msg);
			}
			ov = pcre2_get_ovector_pointer(m->md);
			at = ov[0];
			len = ov[1] - ov[0];
		}
		if (at >= limit)
			break;
		if (len) { /* an empty match says nothing, as with grep -o */
			r = add_hit(s, s->base + at, len, k);
			s->resume[k] = s->base + at + len;
		}
		pos = at + (len ? len : 1); /* non-overlapping, as grep -o */
	}
	return r;
}

static int cmp_hit(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->pattern < y->pattern ? -1 : x->pattern > y->pattern;
}

static int stream_record(struct search *s, const struct hit *h, const uint8_t *before, size_t nb,
			 size_t na);

/*
 * Report the matches starting in [done, limit) of the window, in address
 * order; final says the window ends where the VMA's contiguous memory ends.
 */
static int search_window(struct search *s, bool final)
{
	size_t from = (size_t)(s->done - s->base), limit;
	int r = 0;

	if (final)
		limit = s->len;
	else
		limit = s->len > MATCH_MAX + s->context ? s->len - MATCH_MAX - s->context : 0;
	if (limit <= from)
		return 0;
	s->nhits = 0;
	for (size_t k = 0; r == 0 && k < s->nm; k++)
		r = find(s, k, from, limit);
	if (r < 0)
		return r;
	if (s->nhits > 1) /* qsort of no array at all is undefined */
		qsort(s->hits, s->nhits, sizeof(*s->hits), cmp_hit);
	for (size_t i = 0; i < s->nhits && !s->stop; i++) {
		const struct hit *h = &s->hits[i];
		size_t off = (size_t)(h->addr - s->base);
		size_t nb = off < s->context ? off : s->context;
		size_t end = off + h->len;
		size_t na = s->len - end < s->context ? s->len - end : s->context;
		struct c2c_match mt;

		if (s->st) {
			r = stream_record(s, h, s->buf + off - nb, nb, na);
			if (r < 0)
				return r;
			continue;
		}
		mt = (struct c2c_match){
			.pid = s->p->pid,
			.comm = s->p->comm,
			.addr = h->addr,
			.mapping = s->mapname,
			.vma_start = s->v->start,
			.vma_end = s->v->end,
			.map_offset = h->addr - s->v->start +
				      (s->v->path || s->v->shm ? s->v->pgoff : 0),
			.pattern = h->pattern,
			.data = s->buf + off,
			.len = h->len,
			.before = s->buf + off - nb,
			.nbefore = nb,
			.after = s->buf + end,
			.nafter = na,
		};

		c2c_vma_perms(s->v, mt.perms);
		s->count++;
		if (s->fn && s->fn(s->userdata, &mt))
			s->stop = true;
	}
	s->done = s->base + limit;
	return 0;
}

/* Search what the window holds and start a new one at addr (a gap, or the VMA's end). */
static int flush(struct search *s, uint64_t next)
{
	int r = s->len ? search_window(s, true) : 0;

	s->len = 0;
	s->base = s->done = next;
	for (size_t k = 0; k < s->nm; k++)
		s->resume[k] = 0;
	return r;
}

/*
 * Append len bytes of memory at addr to the stream: from blob at off, or
 * from mem (a chunk of a streamed archive member).
 */
static int feed(struct search *s, uint64_t addr, const struct c2c_blob *blob, uint64_t off,
		const uint8_t *mem, uint64_t len)
{
	int r = 0;

	if (addr != s->base + s->len)
		r = flush(s, addr);
	while (r == 0 && len && !s->stop) {
		size_t n = s->cap - s->len < len ? s->cap - s->len : (size_t)len;

		if (mem) {
			memcpy(s->buf + s->len, mem, n);
			mem += n;
		} else if ((r = c2c_blob_pread(s->ctx, blob, s->buf + s->len, n, off)) < 0) {
			break;
		}
		s->len += n;
		off += n;
		len -= n;
		if (s->len == s->cap) {
			/* Keep the overlap (and context before it) for the next window. */
			size_t keep = MATCH_MAX + 2 * s->context;

			r = search_window(s, false);
			memmove(s->buf, s->buf + s->len - keep, keep);
			s->base += s->len - keep;
			s->len = keep;
		}
	}
	return r;
}

/* The data-holding runs of pm within [lo, hi) of its address space, shifted by delta. */
static int feed_runs(struct search *s, const struct c2c_pagemap *pm, uint64_t lo, uint64_t hi,
		     uint64_t delta)
{
	int r = 0;

	for (size_t i = c2c_pagemap_find(pm, lo); r == 0 && i < pm->n && !s->stop; i++) {
		const struct c2c_extent *e = &pm->ext[i];
		uint64_t a = e->addr, b = e->addr + e->npages * pm->page_size;

		if (a >= hi)
			break;
		if (!e->blob) /* lazy pages: no data anywhere */
			continue;
		if (a < lo)
			a = lo;
		if (b > hi)
			b = hi;
		r = feed(s, a + delta, e->blob, e->off + (a - e->addr), NULL, b - a);
	}
	return r;
}

static int search_process(struct search *s, const struct c2c_process *p)
{
	int r = 0;

	s->p = p;
	for (size_t i = 0; r == 0 && i < p->nvmas && !s->stop; i++) {
		const struct c2c_vma *v = &p->vmas[i];

		s->v = v;
		s->mapname = c2c_vma_name(v);
		s->len = 0;
		s->base = s->done = v->start;
		memset(s->resume, 0, s->nm * sizeof(*s->resume));
		if (v->shm)
			r = feed_runs(s, &v->shm->pm, v->pgoff, v->pgoff + (v->end - v->start),
				      v->start - v->pgoff);
		else
			r = feed_runs(s, &p->pm, v->start, v->end, 0);
		if (r == 0 && !s->stop)
			r = flush(s, v->end);
	}
	return r;
}

/*
 * Streamed archives.
 *
 * Page members are searched as libarchive decompresses them (the stream and
 * chunk callbacks of arcsource.h), in a worker thread so that searching one
 * chunk overlaps decompressing the next. What the bytes of a member are
 * depends on the order of the archive:
 *
 * - exact: pagemap-N and mm-N came before pages-M (lexical order, as CRI-O
 *   and Podman sort): the member is cut into the units the process model will
 *   search, runs contiguous in memory within one VMA, and each is searched
 *   alone, exactly as the directory search would.
 * - raw: they did not (directory order, pages first): the member is searched
 *   as one stream. A match is kept at resolution only if it lies within one
 *   contiguous run of one VMA, and its context is cut to that run; a dropped
 *   one may have hidden an overlapping occurrence, see lost_overlaps. (A
 *   regular expression's look-around or anchor can still see across a break
 *   in memory where the directory search sees the end of the run.)
 *
 * Matches are recorded by (member, offset), with their context bytes, and
 * resolved to process, address and mapping once the model is loaded; the
 * output is then in the same order as the directory search's. Memory is the
 * window plus the matches (capped by STREAM_REC_MAX).
 *
 * Where streaming cannot give what the spooled search gives, the archive is
 * read again the old way (c2c_input_open_tmp): memory contiguous across two
 * pages images (incremental dumps whose pages sit partly in the parent; a
 * shmem or memfd object whose pages are beside the process's), a run whose
 * member offsets are not contiguous, units that differ from the model's, too
 * many matches to hold. Standard input cannot be read twice, so it is never
 * streamed.
 */
#define STREAM_REC_MAX (256ULL << 20) /* bytes of recorded matches */
#define STREAM_MAX_MEMBERS 65536U

struct rec {
	uint64_t off; /* in the member */
	uint32_t member, len, pattern;
	uint16_t nb, na; /* context before and after, in bytes */
	bool fits;	 /* raw: lies within a run of memory of a selected process */
	uint8_t *bytes;	 /* nb + len + na */
};

/* A run of member bytes searched alone (exact members). */
struct unit {
	uint64_t off, len;
};

struct smember {
	char *path; /* "<archive>:<member>", as the model's blob names it */
	bool exact, skipped; /* skipped: a process not selected, not searched */
	bool used;	     /* a selected process's memory is in it */
	struct unit *units;  /* ascending off (exact) */
	size_t nunits, units_cap;
};

struct stream {
	struct c2c_ctx *ctx;  /* the caller's */
	struct c2c_ctx *wctx; /* the search's while streaming: the worker reports here */
	struct search *s;
	const char *display;
	struct smember *mem;
	size_t nmem, mem_cap;
	struct rec *recs;
	size_t nrecs, recs_cap;
	uint64_t rec_bytes;
	bool overflow; /* too many matches: read again the old way */
	/* The member streaming now. */
	uint64_t pos;
	size_t ui;
	/* The worker (base/pump.c): one chunk at a time. */
	struct c2c_pump pump;
	bool threaded;
	int werr;
};

static int stream_record(struct search *s, const struct hit *h, const uint8_t *before, size_t nb,
			 size_t na)
{
	struct stream *st = s->st;
	size_t n = nb + h->len + na;
	uint8_t *b;

	if (st->overflow)
		return 0;
	if (st->rec_bytes + n + sizeof(struct rec) > STREAM_REC_MAX) {
		st->overflow = true;
		return 0;
	}
	if (c2c_array_grow(s->ctx, &st->recs, &st->recs_cap, st->nrecs + 1, sizeof(*st->recs)) < 0)
		return c2c_errcode(s->ctx);
	if (!(b = malloc(n)))
		return c2c_fail(s->ctx, NULL, C2C_E_NOMEM, "out of memory");
	memcpy(b, before, n);
	st->recs[st->nrecs++] = (struct rec){ .off = h->addr,
					      .member = (uint32_t)(st->nmem - 1),
					      .len = (uint32_t)h->len,
					      .pattern = (uint32_t)h->pattern,
					      .nb = (uint16_t)nb,
					      .na = (uint16_t)na,
					      .bytes = b };
	st->rec_bytes += n + sizeof(struct rec);
	return 0;
}

/* The next len bytes of the current member (worker thread, or inline). */
static int stream_consume(struct stream *st, const uint8_t *buf, size_t len)
{
	struct search *s = st->s;
	struct smember *m = &st->mem[st->nmem - 1];
	uint64_t pos = st->pos, end = pos + len;
	int r = 0;

	st->pos = end;
	if (m->skipped)
		return 0;
	if (!m->exact)
		return feed(s, pos, NULL, 0, buf, len);
	while (r == 0 && pos < end && st->ui < m->nunits) {
		const struct unit *u = &m->units[st->ui];
		uint64_t a = pos > u->off ? pos : u->off;
		uint64_t b = u->off + u->len < end ? u->off + u->len : end;

		if (a >= end)
			break;
		if (a == u->off)
			r = flush(s, a); /* a unit starts: search it alone */
		if (r == 0)
			r = feed(s, a, NULL, 0, buf + (a - (end - len)), b - a);
		pos = b;
		if (b == u->off + u->len)
			st->ui++;
	}
	return r;
}

/* The pump's work: search one chunk in the worker thread; a failure stops it. */
static bool stream_work(void *arg, const uint8_t *buf, size_t len)
{
	struct stream *st = arg;
	int r = stream_consume(st, buf, len);

	if (r < 0)
		st->werr = r;
	return r >= 0;
}

/* Wait until the worker is idle; then its failure, if any, is the caller's. */
static int stream_wait(struct stream *st)
{
	if (st->threaded)
		(void)c2c_pump_wait(&st->pump);
	if (!st->werr)
		return 0;
	return c2c_fail(st->ctx, NULL, st->werr, "%s", c2c_errmsg(st->wctx));
}

/* "<dir>/<prefix><u32>.img": the u32, with *dirlen the length of "<dir>/"; -1 if not. */
static int64_t member_id(const char *name, const char *prefix, size_t *dirlen)
{
	const char *base = strrchr(name, '/');
	size_t n = strlen(prefix);
	uint64_t v = 0;
	const char *p;

	base = base ? base + 1 : name;
	*dirlen = (size_t)(base - name);
	if (strncmp(base, prefix, n))
		return -1;
	p = base + n;
	if (*p < '0' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9' && v <= UINT32_MAX)
		v = v * 10 + (uint64_t)(*p++ - '0');
	return v > UINT32_MAX || strcmp(p, ".img") ? -1 : (int64_t)v;
}

static int push_unit(struct stream *st, struct smember *m, uint64_t off, uint64_t len)
{
	if (c2c_array_grow(st->ctx, &m->units, &m->units_cap, m->nunits + 1, sizeof(*m->units)) < 0)
		return c2c_errcode(st->ctx);
	m->units[m->nunits++] = (struct unit){ off, len };
	return 0;
}

/*
 * The units of pages-<id>.img in the directory name[0, dirlen) from the
 * pagemap and mm images already read: 0 (m->exact set when they were all
 * there and sound), or a negative error. Broken images are left for the
 * loader to report.
 */
static int plan_units(struct stream *st, const struct c2c_memtab *tab, const char *name,
		      size_t dirlen, uint64_t id, struct smember *m)
{
	const struct c2c_member *pm = NULL, *mm = NULL;
	struct c2c_extent *ext = NULL;
	struct c2c_vma *vmas = NULL;
	size_t next = 0, nv = 0, vi = 0, d;
	uint64_t pages_id, ps = 0, pend = UINT64_MAX, oend = UINT64_MAX;
	int64_t pid = -1;
	size_t pv = SIZE_MAX;
	struct c2c_blob b;
	int r = 0;

	for (size_t i = 0; i < tab->n; i++) {
		const struct c2c_member *x = &tab->v[i];
		int64_t k;

		if (!x->data || strncmp(x->name, name, dirlen) ||
		    (k = member_id(x->name, "pagemap-", &d)) < 0 || d != dirlen)
			continue;
		b = c2c_member_blob(x);
		c2c_try_begin(st->ctx);
		r = c2c_pagemap_present(st->ctx, &b, 0, &pages_id, NULL, NULL);
		c2c_try_end(st->ctx);
		if (r < 0 || pages_id != id)
			continue;
		if (pm)
			return 0; /* two pagemaps name it: raw */
		pm = x;
		pid = k;
	}
	for (size_t i = 0; pm && i < tab->n; i++) {
		const struct c2c_member *x = &tab->v[i];

		if (x->data && !strncmp(x->name, name, dirlen) &&
		    member_id(x->name, "mm-", &d) == pid && d == dirlen)
			mm = x;
	}
	if (!mm)
		return 0;
	if (!c2c_opts_selected(&st->ctx->opts, (uint32_t)pid)) {
		m->exact = m->skipped = true; /* no units: a selected process using it falls back */
		return 0;
	}
	c2c_try_begin(st->ctx);
	b = c2c_member_blob(mm);
	r = c2c_mm_vmas(st->ctx, &b, &vmas, &nv, &ps);
	if (r == 0 && ps) { /* without AT_PAGESZ the page size is known only later: raw */
		b = c2c_member_blob(pm);
		r = c2c_pagemap_present(st->ctx, &b, ps, &pages_id, &ext, &next);
	}
	c2c_try_end(st->ctx);
	if (r < 0 || !ps)
		goto out;
	/* Each extent, cut at VMA boundaries; pieces outside every VMA are not searched. */
	for (size_t i = 0; r == 0 && i < next; i++) {
		uint64_t a = ext[i].addr, end, off = ext[i].off;

		if (c2c_mul_overflow(ext[i].npages, ps, &end) || c2c_add_overflow(a, end, &end))
			goto out;
		while (r == 0 && a < end) {
			uint64_t stop;

			while (vi < nv && vmas[vi].end <= a)
				vi++;
			if (vi > 0 && vmas[vi - 1].end > a) /* extents out of order: raw */
				goto out;
			if (vi == nv)
				break;
			if (vmas[vi].start > a) {
				off += (vmas[vi].start < end ? vmas[vi].start : end) - a;
				a = vmas[vi].start < end ? vmas[vi].start : end;
				continue;
			}
			stop = vmas[vi].end < end ? vmas[vi].end : end;
			if (pv == vi && pend == a && oend == off)
				m->units[m->nunits - 1].len += stop - a;
			else
				r = push_unit(st, m, off, stop - a);
			pv = vi;
			pend = stop;
			off += stop - a;
			oend = off;
			a = stop;
		}
	}
	if (r == 0)
		m->exact = true;
out:
	if (!m->exact)
		m->nunits = 0;
	free(vmas);
	free(ext);
	return r;
}

static int on_stream(void *data, const struct c2c_memtab *tab, const char *name)
{
	struct stream *st = data;
	struct search *s = st->s;
	struct smember *m;
	int64_t id;
	size_t dirlen;
	int r;

	if ((id = member_id(name, "pages-", &dirlen)) < 0 || st->nmem >= STREAM_MAX_MEMBERS)
		return 0; /* rootfs-diff.tar, a big image...: spooled as before */
	r = c2c_array_grow(st->ctx, &st->mem, &st->mem_cap, st->nmem + 1, sizeof(*st->mem));
	if (r < 0)
		return r;
	m = &st->mem[st->nmem];
	*m = (struct smember){ c2c_asprintf("%s:%s", st->display, name), false, false, false, NULL,
			       0, 0 };
	if (!m->path)
		return c2c_fail(st->ctx, NULL, C2C_E_NOMEM, "out of memory");
	st->nmem++;
	r = plan_units(st, tab, name, dirlen, (uint64_t)id, m);
	if (r < 0)
		return r;
	st->pos = 0;
	st->ui = 0;
	s->mapname = m->path;
	s->len = 0;
	s->base = s->done = 0;
	memset(s->resume, 0, s->nm * sizeof(*s->resume));
	return 1;
}

static int on_chunk(void *data, const uint8_t *buf, size_t len)
{
	struct stream *st = data;
	int r = stream_wait(st);

	if (r < 0)
		return r;
	if (!len) { /* the member ended: search what the window still holds */
		r = flush(st->s, st->pos);
		return r < 0 ? c2c_fail(st->ctx, NULL, r, "%s", c2c_errmsg(st->wctx)) : 0;
	}
	if (!st->threaded) {
		r = stream_consume(st, buf, len);
		return r < 0 ? c2c_fail(st->ctx, NULL, r, "%s", c2c_errmsg(st->wctx)) : 0;
	}
	(void)c2c_pump_hand(&st->pump, buf, len); /* a failure is in werr, seen next time */
	return 0;
}

static int cmp_rec(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	if (x->member != y->member)
		return x->member < y->member ? -1 : 1;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return x->pattern < y->pattern ? -1 : x->pattern > y->pattern;
}

static int cmp_member_path(const void *key, const void *elem)
{
	return strcmp(key, ((const struct smember *const *)elem)[0]->path);
}

/* The streamed member a blob of the model is, or -1 (in memory, in place in the file). */
static int64_t streamed_member(const struct stream *st, struct smember **byname,
			       const struct c2c_blob *b)
{
	struct smember **m;

	if (b->data || b->fd >= 0 || b->map || !b->path)
		return -1;
	m = bsearch(b->path, byname, st->nmem, sizeof(*byname), cmp_member_path);
	return m ? (int64_t)(*m - st->mem) : -1;
}

static bool unit_below(const void *element, const void *key)
{
	return ((const struct unit *)element)->off < *(const uint64_t *)key;
}

/*
 * Report the recorded matches of [off, off + len) of member mi, which is
 * memory at addr; checking (!emit), mark them as fitting instead.
 */
static void emit_segment(struct stream *st, size_t mi, uint64_t off, uint64_t len, uint64_t addr,
			 bool emit)
{
	struct search *s = st->s;
	size_t lo = 0, hi = st->nrecs;

	while (lo < hi) { /* first record of (mi, >= off) */
		size_t mid = lo + (hi - lo) / 2;
		const struct rec *x = &st->recs[mid];

		if (x->member < mi || (x->member == mi && x->off < off))
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < st->nrecs && !s->stop; i++) {
		struct rec *x = &st->recs[i];
		uint64_t rel = x->off - off, tail;
		size_t nb, na;
		struct c2c_match mt;

		if (x->member != mi || x->off >= off + len)
			break;
		if (x->len > len - rel)
			continue; /* raw: it runs past this run of memory */
		if (!emit) {
			x->fits = true;
			continue;
		}
		tail = len - rel - x->len;
		nb = rel < x->nb ? (size_t)rel : x->nb;
		na = tail < x->na ? (size_t)tail : x->na;
		mt = (struct c2c_match){
			.pid = s->p->pid,
			.comm = s->p->comm,
			.addr = addr + rel,
			.mapping = s->mapname,
			.vma_start = s->v->start,
			.vma_end = s->v->end,
			.map_offset = addr + rel - s->v->start +
				      (s->v->path || s->v->shm ? s->v->pgoff : 0),
			.pattern = x->pattern,
			.data = x->bytes + x->nb,
			.len = x->len,
			.before = x->bytes + x->nb - nb,
			.nbefore = nb,
			.after = x->bytes + x->nb + x->len,
			.nafter = na,
		};
		c2c_vma_perms(s->v, mt.perms);
		s->count++;
		if (s->fn && s->fn(s->userdata, &mt))
			s->stop = true;
	}
}

/* A run of memory contiguous within one VMA, as the walk below builds it. */
struct seg {
	uint64_t addr, end;
	int64_t mi;  /* streamed member, or -1: read from its blob */
	uint64_t off; /* where it starts in the member */
	bool open;
};

/*
 * Close seg. Checking (!emit): 1 when a streamed run is not one the member
 * was searched as. Else report its matches.
 */
static int seg_close(struct stream *st, struct seg *g, bool emit)
{
	const struct smember *m;
	uint64_t len = g->end - g->addr;
	size_t k;

	if (!g->open)
		return 0;
	g->open = false;
	if (g->mi < 0)
		return emit ? flush(st->s, g->end) : 0;
	m = &st->mem[g->mi];
	if (emit) {
		emit_segment(st, (size_t)g->mi, g->off, len, g->addr, true);
		return 0;
	}
	if (m->skipped)
		return 1;
	st->mem[g->mi].used = true;
	if (!m->exact) {
		emit_segment(st, (size_t)g->mi, g->off, len, g->addr, false);
		return 0;
	}
	k = c2c_lower_bound(m->units, m->nunits, sizeof(*m->units), &g->off, unit_below);
	return k < m->nunits && m->units[k].off == g->off && m->units[k].len == len ? 0 : 1;
}

/*
 * The runs of VMA v (those feed_runs searches) as segments: checking
 * (!emit) returns 1 when streaming cannot stand for the spooled search
 * here; emitting searches the rest (blobs still readable) and reports what
 * was recorded, in address order.
 */
static int walk_vma(struct stream *st, struct smember **byname, const struct c2c_vma *v, bool emit)
{
	struct search *s = st->s;
	const struct c2c_pagemap *pm = v->shm ? &v->shm->pm : &s->p->pm;
	uint64_t lo = v->shm ? v->pgoff : v->start, hi = lo + (v->end - v->start);
	uint64_t delta = v->shm ? v->start - v->pgoff : 0;
	struct seg g = { 0 };
	int r = 0;

	for (size_t i = c2c_pagemap_find(pm, lo); r == 0 && i < pm->n && !s->stop; i++) {
		const struct c2c_extent *e = &pm->ext[i];
		uint64_t a = e->addr, b = e->addr + e->npages * pm->page_size, off;
		int64_t mi;

		if (a >= hi)
			break;
		if (!e->blob)
			continue;
		if (a < lo)
			a = lo;
		if (b > hi)
			b = hi;
		off = e->off + (a - e->addr);
		mi = streamed_member(st, byname, e->blob);
		if (g.open && g.end == a + delta) {
			if (mi != g.mi || (mi >= 0 && off != g.off + (g.end - g.addr)))
				return emit ? 0 : 1; /* contiguous memory from two places */
		} else {
			r = seg_close(st, &g, emit);
			if (r != 0)
				break;
			g = (struct seg){ a + delta, a + delta, mi, off, true };
		}
		g.end = b + delta;
		if (mi < 0 && emit)
			r = feed(s, a + delta, e->blob, off, NULL, b - a);
	}
	if (r == 0 && !s->stop)
		r = seg_close(st, &g, emit);
	return r;
}

/* Check (!emit) or report every selected process; 1 means: read again the old way. */
static int walk_all(struct stream *st, struct smember **byname, const struct c2c_checkpoint *ck,
		    bool emit)
{
	struct search *s = st->s;
	int r = 0;

	for (size_t i = 0; r == 0 && i < ck->nprocs && !s->stop; i++) {
		const struct c2c_process *p = &ck->procs[i];

		if (!ck->selected[i] || !p->has_mm)
			continue;
		s->p = p;
		for (size_t k = 0; r == 0 && k < p->nvmas && !s->stop; k++) {
			s->v = &p->vmas[k];
			s->mapname = c2c_vma_name(s->v);
			s->len = 0;
			s->base = s->done = s->v->start;
			memset(s->resume, 0, s->nm * sizeof(*s->resume));
			r = walk_vma(st, byname, s->v, emit);
			if (r == 0 && emit && !s->stop)
				r = flush(s, s->v->end);
		}
	}
	return r;
}

/* Whether pattern p can match where a match of it overlaps (a border, or any regex). */
static bool may_overlap(const struct c2c_pattern *p)
{
	bool icase = p->flags & C2C_PATTERN_ICASE;

	if (p->kind == C2C_PATTERN_REGEX)
		return true;
	for (size_t b = 1; b < p->len; b++) {
		size_t i = 0;

		while (i < p->len - b &&
		       (icase ? tolower(p->bytes[i]) == tolower(p->bytes[b + i])
			      : p->bytes[i] == p->bytes[b + i]))
			i++;
		if (i == p->len - b)
			return true;
	}
	return false;
}

/*
 * Raw members: a match that straddles a break in memory is dropped, and the
 * stream went on after it where the spooled search restarts at the break. An
 * occurrence that overlapped it would then be missed: only a pattern that
 * can overlap itself has one, and only then is the archive read again.
 */
static bool lost_overlaps(const struct stream *st, const struct c2c_pattern *pats)
{
	for (size_t i = 0; i < st->nrecs; i++) {
		const struct rec *x = &st->recs[i];

		if (x->fits || !st->mem[x->member].used || st->mem[x->member].exact)
			continue;
		/* Breaks are at page boundaries, and pages are multiples of 4 KiB. */
		if (x->off / 4096 != (x->off + x->len - 1) / 4096 && may_overlap(&pats[x->pattern]))
			return true;
	}
	return false;
}

static int cmp_member_ptr(const void *a, const void *b)
{
	return strcmp((*(const struct smember *const *)a)->path,
		      (*(const struct smember *const *)b)->path);
}

static void stream_release(struct stream *st)
{
	if (st->threaded)
		(void)c2c_pump_finish(&st->pump);
	for (size_t i = 0; i < st->nrecs; i++)
		free(st->recs[i].bytes);
	free(st->recs);
	for (size_t i = 0; i < st->nmem; i++) {
		free(st->mem[i].path);
		free(st->mem[i].units);
	}
	free(st->mem);
	c2c_ctx_free(st->wctx);
}

/*
 * Search the archive file `input` as it streams by. Returns 0 (matches
 * reported), 1 when it must be read again the old way (nothing reported),
 * or a negative error.
 */
static int grep_streamed(struct search *s, const char *input)
{
	struct c2c_ctx *ctx = s->ctx;
	struct stream st = { .ctx = ctx, .s = s, .display = input };
	struct c2c_placer placer = { .data = &st, .stream = on_stream, .chunk = on_chunk };
	struct smember **byname = NULL;
	struct c2c_checkpoint *ck = NULL;
	struct c2c_source *src = NULL;
	int tmpfd = -1, r;

	if (!(st.wctx = c2c_ctx_new()))
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	st.threaded = c2c_pump_start(&st.pump, stream_work, &st) == 0;
	s->ctx = st.wctx; /* the window's failures, in the worker, go there */
	s->st = &st;
	r = c2c_input_open_streamed(ctx, input, &placer, &tmpfd, &src);
	s->ctx = ctx;
	s->st = NULL;
	if (r == 0)
		r = c2c_checkpoint_load(ctx, src, ctx->opts.pids, ctx->opts.npids, &ck);
	if (r < 0)
		goto out;
	if (st.overflow) {
		r = 1;
		goto out;
	}
	byname = malloc((st.nmem ? st.nmem : 1) * sizeof(*byname));
	if (!byname) {
		r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < st.nmem; i++)
		byname[i] = &st.mem[i];
	if (st.nmem > 1)
		qsort(byname, st.nmem, sizeof(*byname), cmp_member_ptr);
	if (st.nrecs > 1)
		qsort(st.recs, st.nrecs, sizeof(*st.recs), cmp_rec);
	r = walk_all(&st, byname, ck, false);
	if (r == 0 && lost_overlaps(&st, ctx->opts.patterns))
		r = 1;
	if (r == 0) {
		s->count = 0;
		s->stop = false;
		r = walk_all(&st, byname, ck, true);
	}
out:
	free(byname);
	c2c_checkpoint_free(ck);
	c2c_source_free(src);
	if (tmpfd >= 0)
		close(tmpfd);
	stream_release(&st);
	return r;
}

/* An archive file is streamed; a directory, or standard input (see above), is not. */
static bool streamable(const char *input)
{
	struct stat st;

	return input && strcmp(input, "-") && stat(input, &st) == 0 && S_ISREG(st.st_mode);
}

int64_t c2c_grep(struct c2c_ctx *ctx, const char *input, size_t context, c2c_match_fn fn,
		 void *userdata)
{
	struct search s = { .ctx = ctx, .context = context, .fn = fn, .userdata = userdata };
	struct c2c_checkpoint *ck = NULL;
	struct c2c_source *src = NULL;
	int spoolfd = -1, r;

	c2c_op_begin(ctx);
	if (!ctx->opts.npatterns)
		return c2c_fail(ctx, NULL, C2C_E_USAGE, "no pattern to search for");
	if (context > C2C_GREP_CONTEXT_MAX)
		return c2c_fail(ctx, NULL, C2C_E_USAGE, "context of %zu bytes: at most %u", context,
				C2C_GREP_CONTEXT_MAX);
	s.m = calloc(ctx->opts.npatterns, sizeof(*s.m));
	s.resume = calloc(ctx->opts.npatterns, sizeof(*s.resume));
	s.cap = SEARCH_CHUNK + MATCH_MAX + 2 * context;
	s.buf = malloc(s.cap);
	if (!s.m || !s.resume || !s.buf) {
		r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		goto out;
	}
	s.nm = ctx->opts.npatterns;
	for (size_t i = 0; i < s.nm; i++) {
		r = compile(ctx, &ctx->opts.patterns[i], &s.m[i]);
		if (r < 0)
			goto out;
	}
	if (streamable(input)) {
		r = grep_streamed(&s, input);
		if (r <= 0)
			goto out;
		c2c_log(ctx, C2C_LOG_DEBUG,
			"'%s': streamed page data cannot stand alone here: read again, spooled",
			input);
		s.count = 0;
	}
	r = c2c_input_open_tmp(ctx, input, &spoolfd, &src);
	if (r == 0)
		r = c2c_checkpoint_load(ctx, src, ctx->opts.pids, ctx->opts.npids, &ck);
	for (size_t i = 0; r == 0 && ck && i < ck->nprocs && !s.stop; i++)
		if (ck->selected[i] && ck->procs[i].has_mm)
			r = search_process(&s, &ck->procs[i]);
out:
	c2c_checkpoint_free(ck);
	c2c_source_free(src);
	if (spoolfd >= 0)
		close(spoolfd);
	matchers_free(s.m, s.nm);
	free(s.hits);
	free(s.resume);
	free(s.buf);
	return r < 0 ? r : s.count;
}
