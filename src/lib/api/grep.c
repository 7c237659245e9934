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
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "process.h"
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

struct search {
	struct c2c_ctx *ctx;
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
		if (len) /* an empty match says nothing, as with grep -o */
			r = add_hit(s, s->base + at, len, k);
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
		struct c2c_match mt = {
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
	return r;
}

/* Append len bytes of memory at addr (from blob at off) to the stream. */
static int feed(struct search *s, uint64_t addr, const struct c2c_blob *blob, uint64_t off,
		uint64_t len)
{
	int r = 0;

	if (addr != s->base + s->len)
		r = flush(s, addr);
	while (r == 0 && len && !s->stop) {
		size_t n = s->cap - s->len < len ? s->cap - s->len : (size_t)len;

		r = c2c_blob_pread(s->ctx, blob, s->buf + s->len, n, off);
		if (r < 0)
			break;
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
		r = feed(s, a + delta, e->blob, e->off + (a - e->addr), b - a);
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
	s.cap = SEARCH_CHUNK + MATCH_MAX + 2 * context;
	s.buf = malloc(s.cap);
	if (!s.m || !s.buf) {
		r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		goto out;
	}
	s.nm = ctx->opts.npatterns;
	for (size_t i = 0; i < s.nm; i++) {
		r = compile(ctx, &ctx->opts.patterns[i], &s.m[i]);
		if (r < 0)
			goto out;
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
	free(s.buf);
	return r < 0 ? r : s.count;
}
