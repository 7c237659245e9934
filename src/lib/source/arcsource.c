/*
 * Stage 1: container checkpoint archives (CRI-O/kubelet tar, Podman export in
 * any compression, containerd), read in one pass with libarchive
 * (container-archives.md §2). The result is a member table for source.c.
 *
 * Every member is read exactly once. Small members (images, config.dump...)
 * are kept in memory under a cap; page data goes where the placer (place.c)
 * says, straight into an unnamed core, or else to one spool file in the
 * output directory (O_TMPFILE: it never has a name, and disappears with the
 * process). A writer thread writes big page members while libarchive
 * decompresses the next chunk. An uncompressed archive given as a regular
 * file is not copied at all: members point at their bytes inside it.
 *
 * Entry names are untrusted data: they are only compared, never used as
 * paths. Absolute names, ".." components, links other than CRIU's `parent`,
 * and device nodes are ignored; duplicates are an error.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "arcsource.h"
#include "pump.h"
#include "util.h"

#define SPOOL_ALIGN 4096ULL /* spooled members start page aligned: extents can be shared */
#define COPY_BUF (1U << 20)

/* Members we use; everything else in an archive (logs, volumes) is skipped. */
static bool wanted(const char *name)
{
	const char *base = strrchr(name, '/');
	size_t n = strlen(name);

	base = base ? base + 1 : name;
	if (n > 4 && !strcmp(name + n - 4, ".img"))
		return true;
	return !strcmp(base, "parent") || !strcmp(base, "stats-dump") ||
	       !strcmp(name, "config.dump") || !strcmp(name, "spec.dump") ||
	       !strcmp(name, "deleted.files") || !strcmp(name, "rootfs-diff.tar") ||
	       !strcmp(name, "status") || !strcmp(name, "status.dump");
}

/* Page data (and the rootfs diff) is spooled; metadata is held in memory. */
static bool spooled(const char *name, int64_t size)
{
	const char *base = strrchr(name, '/');

	base = base ? base + 1 : name;
	return !strncmp(base, "pages-", 6) || !strcmp(name, "rootfs-diff.tar") ||
	       size > (int64_t)C2C_MAX_IMAGE_SIZE;
}

static int spool_open(struct c2c_ctx *ctx, int dirfd, const char *dir, int *fd)
{
	if (*fd >= 0)
		return 0;
	*fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (*fd < 0)
		return c2c_fail(ctx, &C2C_LOC_FILE(dir), C2C_E_IO,
				"cannot create a spool file for page data");
	return 0;
}

static int add_member(struct c2c_ctx *ctx, struct c2c_memtab *tab, struct c2c_member m)
{
	return c2c_memtab_add(tab, m) < 0 ? c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory") : 0;
}

/* Read the current entry's data into memory (at most cap bytes). */
static int read_to_mem(struct c2c_ctx *ctx, struct archive *a, const struct c2c_loc *loc,
		       uint64_t claimed, uint8_t **ret, uint64_t *ret_size)
{
	uint64_t cap = claimed + 1, n = 0;
	uint8_t *buf = malloc(cap ? cap : 1);

	if (!buf)
		return c2c_fail(ctx, loc, C2C_E_NOMEM, "out of memory");
	for (;;) {
		la_ssize_t k = archive_read_data(a, buf + n, (size_t)(cap - n));

		if (k < 0) {
			free(buf);
			return c2c_fail(ctx, loc, C2C_E_ARCHIVE, "cannot read member: %s",
					archive_error_string(a));
		}
		if (k == 0)
			break;
		n += (uint64_t)k;
		if (n == cap) {
			free(buf);
			return c2c_fail(ctx, loc, C2C_E_INCONSISTENT,
					"member holds more than the %llu bytes its header claims",
					(unsigned long long)claimed);
		}
	}
	*ret = buf;
	*ret_size = n;
	return 0;
}

/*
 * Keep this much free in the output directory's filesystem: an archive is
 * hostile input, and a small compressed stream can expand to any size.
 */
#define SPOOL_RESERVE (256ULL << 20)
#define SPOOL_CHECK_EVERY (64ULL << 20)

/*
 * Where the bytes of one page member go, chunk by chunk (runs as the placer
 * gave them). It runs in a writer thread for big members, so it records its
 * failure instead of touching the context.
 */
struct sink {
	struct c2c_place_run *runs;
	size_t nruns, ri;
	int spoolfd, corefd;
	uint64_t n; /* member bytes consumed */
	uint64_t written, checked, core_end;
	struct {
		int fd;
		uint64_t off;
		const uint8_t *p;
		size_t len;
	} w; /* pending: one write per run of non-zero pages contiguous in one file */
	int err; /* 0, C2C_E_IO (err_errno set) or C2C_E_LIMIT */
	int err_errno;
};

static void sink_flush(struct sink *s)
{
	const uint8_t *p = s->w.p;
	size_t len = s->w.len;
	uint64_t off = s->w.off;

	s->w.len = 0;
	while (len && !s->err) {
		ssize_t n = pwrite(s->w.fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			s->err = C2C_E_IO;
			s->err_errno = n < 0 ? errno : ENOSPC;
			return;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
		s->written += (uint64_t)n;
	}
}

/*
 * Write the next k bytes of the member. All-zero pages are skipped: they cost
 * no disk, and a compression bomb of zeros expands to nothing.
 */
static void sink_put(struct sink *s, const uint8_t *buf, size_t k)
{
	for (size_t at = 0; at < k && !s->err;) {
		uint64_t x = s->n + at, step = SPOOL_ALIGN - x % SPOOL_ALIGN, off;
		const struct c2c_place_run *run;
		int fd;

		while (s->ri + 1 < s->nruns && x - s->runs[s->ri].member_off >= s->runs[s->ri].len)
			s->ri++;
		run = &s->runs[s->ri];
		if (step > k - at)
			step = k - at;
		if (step > run->len - (x - run->member_off))
			step = run->len - (x - run->member_off);
		fd = run->in_core ? s->corefd : s->spoolfd;
		off = run->file_off + (x - run->member_off);
		if (run->in_core && off + step > s->core_end)
			s->core_end = off + step;
		if (c2c_all_zero(buf + at, (size_t)step)) {
			sink_flush(s);
		} else if (s->w.len && s->w.fd == fd && s->w.off + s->w.len == off &&
			   s->w.p + s->w.len == buf + at) {
			s->w.len += (size_t)step;
		} else {
			sink_flush(s);
			s->w.fd = fd;
			s->w.off = off;
			s->w.p = buf + at;
			s->w.len = (size_t)step;
		}
		at += (size_t)step;
	}
	sink_flush(s); /* buf is reused */
	s->n += k;
	if (!s->err && s->written - s->checked >= SPOOL_CHECK_EVERY) {
		struct statvfs sv;

		if (fstatvfs(s->spoolfd, &sv) == 0 &&
		    (uint64_t)sv.f_bavail * sv.f_frsize < SPOOL_RESERVE)
			s->err = C2C_E_LIMIT;
		s->checked = s->written;
	}
}

/* The pump's work: write one decompressed chunk (c2c_pump runs it in its thread). */
static bool sink_work(void *arg, const uint8_t *buf, size_t len)
{
	struct sink *s = arg;

	sink_put(s, buf, len);
	return !s->err;
}

/* Members smaller than this are written by the reading thread itself. */
#define WRITER_THREAD_MIN (8ULL << 20)

/* The next chunk of the member: its length (0 at the end) or a negative error. */
static la_ssize_t next_chunk(struct c2c_ctx *ctx, struct archive *a, const struct c2c_loc *loc,
			     uint8_t *buf, uint64_t done)
{
	la_ssize_t k = archive_read_data(a, buf, COPY_BUF);

	if (k < 0)
		return c2c_fail(ctx, loc, C2C_E_ARCHIVE, "cannot read member: %s",
				archive_error_string(a));
	if (done + (uint64_t)k > C2C_MAX_SPOOL_SIZE)
		return c2c_fail(ctx, loc, C2C_E_LIMIT,
				"archive expands past the cap of %llu bytes of page data",
				(unsigned long long)C2C_MAX_SPOOL_SIZE);
	return k;
}

/*
 * Decompress into one buffer while a writer thread writes the other. Returns
 * 0 or a negative error, or 1 when no thread could be started (nothing read).
 */
static int pump_threaded(struct c2c_ctx *ctx, struct archive *a, const struct c2c_loc *loc,
			 uint8_t *bufs[2], struct sink *s)
{
	struct c2c_pump pump;
	uint64_t n = 0;
	int r = 0, cur = 0;

	if (c2c_pump_start(&pump, sink_work, s) < 0)
		return 1;
	for (;;) {
		la_ssize_t k = next_chunk(ctx, a, loc, bufs[cur], n);

		if (k <= 0) {
			r = (int)k;
			break;
		}
		if (!c2c_pump_hand(&pump, bufs[cur], (size_t)k))
			break; /* the writer failed: s->err says why */
		n += (uint64_t)k;
		cur ^= 1;
	}
	(void)c2c_pump_finish(&pump);
	return r;
}

/*
 * Stream the current entry's data where `runs` say: into the core file
 * (in_core, at the offset the page has in that core) or into the spool.
 * Runs not in_core get spool offsets here; the last run is open-ended and
 * takes whatever follows.
 */
static int read_runs(struct c2c_ctx *ctx, struct archive *a, const struct c2c_loc *loc,
		     int spoolfd, int corefd, uint64_t *spool_end, uint8_t *bufs[2],
		     uint64_t claimed, struct c2c_place_run *runs, size_t nruns,
		     uint64_t *ret_size)
{
	struct sink s = { .runs = runs, .nruns = nruns, .spoolfd = spoolfd, .corefd = corefd };
	struct c2c_place_run *tail = &runs[nruns - 1];
	int r = 1;

	for (size_t i = 0; i < nruns; i++) {
		if (runs[i].in_core)
			continue;
		runs[i].file_off = c2c_round_up(*spool_end, SPOOL_ALIGN);
		if (&runs[i] != tail)
			*spool_end = runs[i].file_off + runs[i].len;
	}
	if (claimed >= WRITER_THREAD_MIN)
		r = pump_threaded(ctx, a, loc, bufs, &s);
	if (r == 1) { /* small member, or no thread: write inline */
		la_ssize_t k = 0;

		while (!s.err && (k = next_chunk(ctx, a, loc, bufs[0], s.n)) > 0)
			sink_put(&s, bufs[0], (size_t)k);
		r = s.err ? 0 : (int)k;
	}
	if (r < 0)
		return r;
	if (s.err == C2C_E_IO) {
		errno = s.err_errno;
		return c2c_fail(ctx, loc, C2C_E_IO, "cannot write page data into the output directory");
	}
	if (s.err == C2C_E_LIMIT)
		return c2c_fail(ctx, loc, C2C_E_LIMIT,
				"page data would leave less than %llu MiB free in the output "
				"directory: stopped",
				(unsigned long long)(SPOOL_RESERVE >> 20));
	if (!tail->in_core && s.n > tail->member_off)
		*spool_end = tail->file_off + (s.n - tail->member_off);
	/* Both files must cover trailing zero pages too: size them, sparse. */
	if (*spool_end && ftruncate(spoolfd, (off_t)*spool_end) < 0)
		return c2c_fail(ctx, loc, C2C_E_IO, "cannot size the spool file");
	if (corefd >= 0 && s.core_end && ftruncate(corefd, (off_t)s.core_end) < 0)
		return c2c_fail(ctx, loc, C2C_E_IO, "cannot size the core file");
	*ret_size = s.n;
	return 0;
}

/*
 * Hand page member m to the placer's chunk callback as it is decompressed:
 * nothing is kept, m gets only its size. The two buffers alternate so that
 * the consumer may work on one chunk while the next is decompressed.
 */
static int read_streamed(struct c2c_ctx *ctx, struct archive *a, const struct c2c_loc *loc,
			 const struct c2c_placer *placer, uint8_t *bufs[2], struct c2c_member *m)
{
	struct c2c_loc at = *loc;
	uint64_t n = 0;
	int cur = 0, r, end;

	for (;;) {
		la_ssize_t k;

		at.offset = n; /* a damaged stream is reported where it broke */
		k = next_chunk(ctx, a, &at, bufs[cur], n);
		if (k <= 0) {
			r = (int)k;
			break;
		}
		r = placer->chunk(placer->data, bufs[cur], (size_t)k);
		if (r < 0)
			break;
		n += (uint64_t)k;
		cur ^= 1;
	}
	end = placer->chunk(placer->data, NULL, 0);
	m->size = n;
	m->streamed = true;
	return r < 0 ? r : end;
}

/* Read page member m: placed where the placer says, else spooled whole. */
static int read_pages(struct c2c_ctx *ctx, struct archive *a, const struct c2c_loc *loc,
		      const struct c2c_memtab *tab, const struct c2c_placer *placer, int spoolfd,
		      uint64_t *spool_end, uint8_t *bufs[2], uint64_t claimed,
		      struct c2c_member *m)
{
	struct c2c_place_run whole = { 0, UINT64_MAX, 0, false };
	struct c2c_placemap *map = NULL;
	int r;

	if (placer && placer->stream) {
		r = placer->stream(placer->data, tab, m->name);
		if (r != 0)
			return r < 0 ? r : read_streamed(ctx, a, loc, placer, bufs, m);
	}
	if (placer && placer->place) {
		r = placer->place(placer->data, tab, m->name, &map);
		if (r < 0)
			return r;
	}
	r = read_runs(ctx, a, loc, spoolfd, map ? map->core_fd : -1, spool_end, bufs, claimed,
		      map ? map->runs : &whole, map ? map->n : 1, &m->size);
	if (r == 0 && !map && (m->fd = fcntl(spoolfd, F_DUPFD_CLOEXEC, 0)) < 0)
		r = c2c_fail(ctx, loc, C2C_E_IO, "cannot reopen the spool file");
	m->spooled = !map;
	m->off = whole.file_off;
	if (r < 0 || !map)
		goto out;
	if ((map->spool_fd = fcntl(spoolfd, F_DUPFD_CLOEXEC, 0)) < 0) {
		r = c2c_fail(ctx, loc, C2C_E_IO, "cannot reopen the spool file");
		goto out;
	}
	/* What the core really received (the member may be shorter than its pagemap says). */
	map->core_bytes = 0;
	for (size_t i = 0; i < map->n; i++) {
		const struct c2c_place_run *run = &map->runs[i];

		if (run->in_core && m->size > run->member_off)
			map->core_bytes += m->size - run->member_off < run->len
						   ? m->size - run->member_off
						   : run->len;
	}
	m->map = map;
	map = NULL;
out:
	c2c_placemap_free(map);
	return r;
}

int c2c_archive_read(struct c2c_ctx *ctx, struct archive *a, const char *display, int infd,
		     int spooldirfd, const char *spooldir, const struct c2c_placer *placer,
		     struct c2c_memtab **ret)
{
	struct c2c_memtab *tab = c2c_memtab_new(display);
	struct archive_entry *e;
	uint64_t spool_end = 0, mem_total = 0;
	uint8_t *bufs[2] = { NULL, NULL };
	int spoolfd = -1, r = 0;
	bool in_place;

	if (!tab || !(bufs[0] = malloc(COPY_BUF)) || !(bufs[1] = malloc(COPY_BUF))) {
		free(bufs[0]);
		c2c_memtab_put(tab);
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	}
	for (;;) {
		struct c2c_member m = { .fd = -1 };
		struct c2c_loc loc = { display, NULL, C2C_NO_OFFSET, C2C_NO_RECORD };
		const char *raw;
		int64_t claimed;
		int h = archive_read_next_header(a, &e);

		if (h == ARCHIVE_EOF)
			break;
		if (h < ARCHIVE_WARN) {
			r = c2c_fail(ctx, &loc, C2C_E_ARCHIVE, "not a readable archive: %s",
				     archive_error_string(a));
			goto out;
		}
		raw = archive_entry_pathname(e);
		loc.member = raw;
		if (!raw) {
			c2c_warn(ctx, &loc, "member without a name skipped");
			continue;
		}
		m.name = c2c_path_normalize(raw); /* NULL: absolute, or with ".." */
		if (!m.name) {
			c2c_warn(ctx, &loc, "member name leaves the archive: ignored");
			continue;
		}
		if (!m.name[0]) { /* "./", the top directory itself */
			free(m.name);
			continue;
		}
		if (!wanted(m.name) || archive_entry_filetype(e) == AE_IFDIR) {
			free(m.name);
			continue;
		}
		loc.member = m.name;
		claimed = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
		if (archive_entry_filetype(e) == AE_IFLNK) {
			const char *t = archive_entry_symlink(e);
			const char *base = strrchr(m.name, '/');

			base = base ? base + 1 : m.name;
			if (strcmp(base, "parent") || !t) {
				c2c_warn(ctx, &loc, "symbolic link ignored");
				free(m.name);
				continue;
			}
			m.link = c2c_strdup(t);
			if (!m.link) {
				free(m.name);
				r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
				goto out;
			}
			r = add_member(ctx, tab, m);
			if (r < 0)
				goto out;
			continue;
		}
		if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e)) {
			c2c_warn(ctx, &loc, "%s ignored: only regular files are read",
				 archive_entry_hardlink(e) ? "hard link" : "special file");
			free(m.name);
			continue;
		}
		if (claimed < 0) {
			free(m.name);
			r = c2c_fail(ctx, &loc, C2C_E_INCONSISTENT, "negative member size");
			goto out;
		}
		/*
		 * An uncompressed archive in a regular file: the member's bytes are
		 * already on disk, contiguous, right after the header just read.
		 */
		in_place = infd >= 0 && archive_filter_count(a) == 1 &&
			   archive_entry_sparse_count(e) == 0 && spooled(m.name, claimed);
		if (in_place) {
			m.fd = fcntl(infd, F_DUPFD_CLOEXEC, 0);
			m.off = (uint64_t)archive_filter_bytes(a, -1);
			m.size = (uint64_t)claimed;
			if (m.fd < 0) {
				free(m.name);
				r = c2c_fail(ctx, &loc, C2C_E_IO, "cannot reopen the archive");
				goto out;
			}
			r = archive_read_data_skip(a) == ARCHIVE_OK
				    ? 0
				    : c2c_fail(ctx, &loc, C2C_E_ARCHIVE, "cannot skip member: %s",
					       archive_error_string(a));
		} else if (spooled(m.name, claimed)) {
			r = spool_open(ctx, spooldirfd, spooldir, &spoolfd);
			if (r == 0)
				r = read_pages(ctx, a, &loc, tab, placer, spoolfd, &spool_end, bufs,
					       (uint64_t)claimed, &m);
		} else {
			if ((uint64_t)claimed + mem_total > C2C_MAX_ARCHIVE_MEM)
				r = c2c_fail(ctx, &loc, C2C_E_LIMIT,
					     "metadata members exceed the cap of %llu bytes",
					     (unsigned long long)C2C_MAX_ARCHIVE_MEM);
			else
				r = read_to_mem(ctx, a, &loc, (uint64_t)claimed, &m.data, &m.size);
			mem_total += m.size;
		}
		if (r < 0) {
			c2c_member_release(&m);
			goto out;
		}
		r = add_member(ctx, tab, m);
		if (r < 0)
			goto out;
		if (placer && placer->added && (r = placer->added(placer->data, tab, tab->n - 1)) < 0)
			goto out;
	}
	tab->mem_bytes = mem_total;
	/* Duplicates are found by sorting, not by a scan per member (quadratic). */
	{
		const struct c2c_member *dup = c2c_memtab_sort(tab);

		if (dup) {
			struct c2c_loc loc = { display, dup->name, C2C_NO_OFFSET, C2C_NO_RECORD };

			r = c2c_fail(ctx, &loc, C2C_E_INCONSISTENT,
				     "member appears twice in the archive");
			goto out;
		}
	}
	*ret = tab;
	tab = NULL;
out:
	if (spoolfd >= 0)
		close(spoolfd);
	free(bufs[0]);
	free(bufs[1]);
	c2c_memtab_put(tab);
	return r;
}
