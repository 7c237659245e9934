/*
 * Stage 1: where images come from: an image directory, or a member table
 * (an archive read once by archive.c, or images held in memory).
 *
 * Image names are built by the library from numbers found in the images
 * ("mm-%u.img"), never taken from input as paths, so nothing here can be
 * steered outside the directory except through CRIU's own `parent` link,
 * which is followed on purpose (criu-image-format §2.6) with a depth cap and
 * a cycle check, and inside an archive never leaves it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source.h"
#include "util.h"

static int source_new(struct c2c_ctx *ctx, int dirfd, const char *path, struct c2c_source **ret)
{
	struct c2c_source *src;
	struct stat st;

	if (fstat(dirfd, &st) < 0) {
		close(dirfd);
		return c2c_fail(ctx, &C2C_LOC_FILE(path), C2C_E_IO, "cannot stat directory");
	}
	src = calloc(1, sizeof(*src));
	if (!src || !(src->path = c2c_strdup(path))) {
		free(src);
		close(dirfd);
		return c2c_fail(ctx, &C2C_LOC_FILE(path), C2C_E_NOMEM, "out of memory");
	}
	src->dirfd = dirfd;
	src->dev = st.st_dev;
	src->ino = st.st_ino;
	*ret = src;
	return 0;
}

int c2c_source_open_dir(struct c2c_ctx *ctx, const char *path, struct c2c_source **ret)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return c2c_fail(ctx, &C2C_LOC_FILE(path), errno == ENOENT ? C2C_E_MISSING : C2C_E_IO,
				"cannot open image directory%s%s", errno == ENOENT ? ": " : "",
				errno == ENOENT ? strerror(errno) : "");
	return source_new(ctx, fd, path, ret);
}

struct c2c_memtab *c2c_memtab_new(const char *display)
{
	struct c2c_memtab *tab = calloc(1, sizeof(*tab));

	if (tab && !(tab->display = c2c_strdup(display))) {
		free(tab);
		return NULL;
	}
	if (tab)
		tab->refs = 1;
	return tab;
}

void c2c_member_release(struct c2c_member *m)
{
	free(m->name);
	free(m->data);
	free(m->link);
	if (m->fd >= 0)
		close(m->fd);
	c2c_placemap_free(m->map);
}

void c2c_memtab_put(struct c2c_memtab *tab)
{
	if (!tab || --tab->refs > 0)
		return;
	for (size_t i = 0; i < tab->n; i++)
		c2c_member_release(&tab->v[i]);
	free(tab->v);
	free(tab->display);
	free(tab);
}

int c2c_memtab_add(struct c2c_memtab *tab, struct c2c_member m)
{
	if (c2c_array_grow(NULL, &tab->v, &tab->cap, tab->n + 1, sizeof(*tab->v)) < 0) {
		c2c_member_release(&m);
		return C2C_E_NOMEM;
	}
	tab->v[tab->n++] = m;
	tab->sorted = false;
	return 0;
}

static int cmp_member(const void *a, const void *b)
{
	return strcmp(((const struct c2c_member *)a)->name, ((const struct c2c_member *)b)->name);
}

const struct c2c_member *c2c_memtab_sort(struct c2c_memtab *tab)
{
	if (tab->n > 1)
		qsort(tab->v, tab->n, sizeof(*tab->v), cmp_member);
	tab->sorted = true;
	for (size_t i = 1; i < tab->n; i++)
		if (!strcmp(tab->v[i - 1].name, tab->v[i].name))
			return &tab->v[i];
	return NULL;
}

struct c2c_member *c2c_memtab_find(struct c2c_memtab *tab, const char *name)
{
	struct c2c_member key = { .name = (char *)(uintptr_t)name };

	if (!tab->sorted) /* while the archive is still being read */
		for (size_t i = 0; i < tab->n; i++)
			if (!strcmp(tab->v[i].name, name))
				return &tab->v[i];
	return tab->sorted && tab->n ? bsearch(&key, tab->v, tab->n, sizeof(*tab->v), cmp_member)
				     : NULL;
}

int c2c_source_open_tab(struct c2c_ctx *ctx, struct c2c_memtab *tab, const char *prefix,
			struct c2c_source **ret)
{
	struct c2c_source *src = calloc(1, sizeof(*src));

	if (!src)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	src->dirfd = -1;
	src->prefix = c2c_strdup(prefix);
	src->path = *prefix ? c2c_asprintf("%s:%.*s", tab->display, (int)strlen(prefix) - 1, prefix)
			    : c2c_strdup(tab->display);
	if (!src->prefix || !src->path) {
		free(src->prefix);
		free(src->path);
		free(src);
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	}
	src->tab = tab;
	tab->refs++;
	*ret = src;
	return 0;
}

void c2c_source_set_parent(struct c2c_source *src, struct c2c_source *parent)
{
	c2c_source_free(src->ext_parent);
	src->ext_parent = parent;
	parent->child = src;
	parent->depth = src->depth + 1;
}

void c2c_source_free(struct c2c_source *src)
{
	if (!src)
		return;
	c2c_source_free(src->parent);
	c2c_source_free(src->ext_parent);
	if (src->dirfd >= 0)
		close(src->dirfd);
	c2c_memtab_put(src->tab);
	free(src->prefix);
	free(src->path);
	free(src->meta_dir);
	free(src);
}

/* A blob over a member: its bytes in memory (borrowed) or a dup of the file holding them. */
static int member_blob(struct c2c_ctx *ctx, const struct c2c_memtab *tab,
		       const struct c2c_member *m, struct c2c_blob *ret)
{
	struct c2c_blob b = C2C_BLOB_INIT;
	int r;

	b.path = c2c_asprintf("%s:%s", tab->display, m->name);
	b.size = m->size;
	b.base = m->off;
	b.data = m->data;
	b.borrowed = true;
	b.map = m->map;
	/* A streamed member has no bytes to open: its blob only names it and gives its size. */
	if (!b.path || (!m->data && !m->map && !m->streamed &&
			(b.fd = fcntl(m->fd, F_DUPFD_CLOEXEC, 0)) < 0)) {
		r = b.path ? c2c_fail(ctx, &C2C_LOC_FILE(b.path), C2C_E_IO, "cannot open")
			   : c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		free(b.path);
		return r;
	}
	*ret = b;
	return 0;
}

/*
 * File `name` of an extracted archive's top directory, through a directory
 * source over it: loaded whole (load) or opened. 1 if there is no such
 * directory or file.
 */
static int meta_dir_file(struct c2c_ctx *ctx, const struct c2c_source *src, const char *name,
			 bool load, struct c2c_blob *ret)
{
	struct c2c_source view = { .path = src->meta_dir, .dirfd = -1 };
	int r;

	if (!src->meta_dir)
		return 1;
	view.dirfd = open(src->meta_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (view.dirfd < 0)
		return 1;
	r = load ? c2c_source_load(ctx, &view, name, true, ret)
		 : c2c_source_open_data(ctx, &view, name, ret);
	close(view.dirfd);
	return r;
}

int c2c_source_open_meta_data(struct c2c_ctx *ctx, struct c2c_source *src, const char *name,
			      struct c2c_blob *ret)
{
	const struct c2c_member *m;

	if (!src->tab)
		return meta_dir_file(ctx, src, name, false, ret);
	m = c2c_memtab_find(src->tab, name);
	return !m || m->link ? 1 : member_blob(ctx, src->tab, m, ret);
}

/* Metadata files are small; a bigger one is not what we think it is. */
#define C2C_MAX_META_SIZE (16U << 20)

int c2c_source_load_meta(struct c2c_ctx *ctx, struct c2c_source *src, const char *name,
			 struct c2c_blob *ret)
{
	int r;

	if (src->tab) {
		const struct c2c_member *m = c2c_memtab_find(src->tab, name);

		if (m && m->data && m->size <= C2C_MAX_META_SIZE)
			return member_blob(ctx, src->tab, m, ret);
		/* Not at the archive root: stats-dump may sit beside the images. */
		return m ? 1 : c2c_source_load(ctx, src, name, true, ret);
	}
	r = meta_dir_file(ctx, src, name, true, ret);
	if (r == 0 && ret->size > C2C_MAX_META_SIZE) {
		c2c_blob_release(ret);
		return 1;
	}
	return r == 1 ? c2c_source_load(ctx, src, name, true, ret) : r;
}

static char *display_path(const struct c2c_source *src, const char *name)
{
	if (src->tab)
		return c2c_asprintf("%s:%s%s", src->tab->display, src->prefix, name);
	return c2c_asprintf("%s/%s", src->path, name);
}

char *c2c_source_path(const struct c2c_source *src, const char *name)
{
	return display_path(src, name);
}

static struct c2c_member *find_member(const struct c2c_source *src, const char *name)
{
	char full[4096];

	if ((size_t)snprintf(full, sizeof(full), "%s%s", src->prefix, name) >= sizeof(full))
		return NULL;
	return c2c_memtab_find(src->tab, full);
}

int c2c_source_open_data(struct c2c_ctx *ctx, struct c2c_source *src, const char *name,
			 struct c2c_blob *ret)
{
	struct c2c_blob b = C2C_BLOB_INIT;
	struct stat st;

	b.path = display_path(src, name);
	if (!b.path)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	if (src->tab) {
		const struct c2c_member *m = find_member(src, name);

		free(b.path);
		return !m || m->link ? 1 : member_blob(ctx, src->tab, m, ret);
	}
	/* O_NOFOLLOW: an image is a plain file; a planted symlink is refused. */
	b.fd = openat(src->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (b.fd < 0) {
		int r = errno == ENOENT ? 1
					: c2c_fail(ctx, &C2C_LOC_FILE(b.path), C2C_E_IO, "cannot open");
		free(b.path);
		return r;
	}
	if (fstat(b.fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int r;

		/*
		 * Not a regular file is no failed call: clear errno, or the message
		 * ends in a stale one ("...: Too many levels of symbolic links";
		 * regression test: test-source open_data_refuses_links_and_dirs).
		 */
		if (fstat(b.fd, &st) == 0)
			errno = 0;
		r = c2c_fail(ctx, &C2C_LOC_FILE(b.path), C2C_E_IO, "not a regular file");
		c2c_blob_release(&b);
		return r;
	}
	b.size = (uint64_t)st.st_size;
	*ret = b;
	return 0;
}

int c2c_source_load(struct c2c_ctx *ctx, struct c2c_source *src, const char *name, bool optional,
		    struct c2c_blob *ret)
{
	struct c2c_blob b = C2C_BLOB_INIT;
	uint8_t *buf = NULL;
	int r;

	r = c2c_source_open_data(ctx, src, name, &b);
	if (r < 0)
		return r;
	if (r == 1) {
		char *p = display_path(src, name);

		if (optional) {
			free(p);
			return 1;
		}
		r = c2c_fail(ctx, &C2C_LOC_FILE(p ? p : name), C2C_E_MISSING,
			     "required image is missing");
		free(p);
		return r;
	}
	if (b.data) {
		*ret = b; /* already in memory (member table) */
		return 0;
	}
	if (b.size > C2C_MAX_IMAGE_SIZE) {
		r = c2c_fail(ctx, &C2C_LOC_FILE(b.path), C2C_E_LIMIT,
			     "image of %llu bytes exceeds the cap of %llu bytes",
			     (unsigned long long)b.size, (unsigned long long)C2C_MAX_IMAGE_SIZE);
		goto out;
	}
	buf = malloc(b.size ? b.size : 1);
	if (!buf) {
		r = c2c_fail(ctx, &C2C_LOC_FILE(b.path), C2C_E_NOMEM, "out of memory");
		goto out;
	}
	r = c2c_blob_pread(ctx, &b, buf, b.size, 0); /* reads the fd: b.data is still NULL */
	if (r < 0)
		goto out;
	b.data = buf;
	buf = NULL;
	close(b.fd);
	b.fd = -1;
	*ret = b;
	return 0;
out:
	free(buf);
	c2c_blob_release(&b);
	return r;
}

/*
 * Copies that lose symlinks (git checkouts on some systems, some archivers,
 * file sharing) turn CRIU's `parent` link into a small file holding the link
 * target. Read either form; returns the target or NULL.
 */
static char *parent_target_text(const uint8_t *data, size_t n)
{
	char *t;

	while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\r'))
		n--;
	if (!n || n >= 4096 || memchr(data, '\0', n) || memchr(data, '\n', n))
		return NULL;
	t = malloc(n + 1);
	if (t) {
		memcpy(t, data, n);
		t[n] = '\0';
	}
	return t;
}

static int open_parent_file(const struct c2c_source *src)
{
	uint8_t buf[4096];
	char *target;
	ssize_t n;
	int fd = openat(src->dirfd, "parent", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	target = n > 0 ? parent_target_text(buf, (size_t)n) : NULL;
	if (!target) {
		errno = ENOTDIR;
		return -1;
	}
	fd = openat(src->dirfd, target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(target);
	return fd;
}

/*
 * Resolve a `parent` link inside a member table: the target is relative to
 * the image set's prefix ("checkpoint/" + "../pre-checkpoint" =
 * "pre-checkpoint/"); it may not leave the archive.
 */
static char *tab_parent_prefix(const struct c2c_source *src, const char *target)
{
	char *out = malloc(strlen(src->prefix) + strlen(target) + 2);
	size_t len;
	const char *p = target;

	if (!out || target[0] == '/') {
		free(out);
		return NULL;
	}
	len = strlen(src->prefix);
	memcpy(out, src->prefix, len + 1);
	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == 2 && !strncmp(p, "..", 2)) {
			if (!len) {
				free(out);
				return NULL; /* above the archive root */
			}
			len--; /* drop the trailing '/' and the last component */
			while (len && out[len - 1] != '/')
				len--;
			out[len] = '\0';
		} else if (n && !(n == 1 && *p == '.')) {
			memcpy(out + len, p, n);
			len += n;
			out[len++] = '/';
			out[len] = '\0';
		}
		p += n + (e ? 1 : 0);
	}
	return out;
}

int c2c_source_parent(struct c2c_ctx *ctx, struct c2c_source *src, struct c2c_source **ret)
{
	struct c2c_source *p = NULL;
	char *path = NULL;
	int fd = -1, r;

	if (src->ext_parent) {
		*ret = src->ext_parent;
		return 0;
	}
	if (src->parent_checked) {
		*ret = src->parent;
		return src->parent ? 0 : 1;
	}
	path = display_path(src, "parent");
	if (!path)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	if (src->depth + 1 > C2C_MAX_PARENT_DEPTH) {
		r = c2c_fail(ctx, &C2C_LOC_FILE(path), C2C_E_LIMIT,
			     "parent chain deeper than %u directories", C2C_MAX_PARENT_DEPTH);
		goto out;
	}
	if (src->tab) {
		const struct c2c_member *m = find_member(src, "parent");
		char *target = NULL, *prefix = NULL;

		if (!m) {
			src->parent_checked = true;
			free(path);
			return 1;
		}
		target = m->link ? c2c_strdup(m->link)
				 : (m->data ? parent_target_text(m->data, (size_t)m->size) : NULL);
		prefix = target ? tab_parent_prefix(src, target) : NULL;
		free(target);
		if (!prefix) {
			r = c2c_fail(ctx, &C2C_LOC_FILE(path), C2C_E_INCONSISTENT,
				     "parent link does not name a directory inside the archive");
			goto out;
		}
		for (const struct c2c_source *s = src; s; s = s->child) {
			if (s->tab == src->tab && !strcmp(s->prefix, prefix)) {
				r = c2c_fail(ctx, &C2C_LOC_FILE(path), C2C_E_INCONSISTENT,
					     "parent chain loops back to '%s'", s->path);
				free(prefix);
				goto out;
			}
		}
		r = c2c_source_open_tab(ctx, src->tab, prefix, &p);
		free(prefix);
		if (r < 0)
			goto out;
	} else {
		fd = openat(src->dirfd, "parent", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 && errno == ENOTDIR)
			fd = open_parent_file(src);
		if (fd < 0) {
			struct stat st;

			/* A dangling link is a broken chain; no link at all means no parent. */
			if (errno == ENOENT &&
			    fstatat(src->dirfd, "parent", &st, AT_SYMLINK_NOFOLLOW) < 0) {
				src->parent_checked = true;
				free(path);
				return 1;
			}
			r = c2c_fail(ctx, &C2C_LOC_FILE(path),
				     errno == ENOENT ? C2C_E_MISSING : C2C_E_IO,
				     "cannot open parent image directory");
			goto out;
		}
		r = source_new(ctx, fd, path, &p);
		if (r < 0)
			goto out;
		for (const struct c2c_source *s = src; s; s = s->child) {
			if (s->dirfd >= 0 && s->dev == p->dev && s->ino == p->ino) {
				r = c2c_fail(ctx, &C2C_LOC_FILE(path), C2C_E_INCONSISTENT,
					     "parent chain loops back to '%s'", s->path);
				c2c_source_free(p);
				goto out;
			}
		}
	}
	p->depth = src->depth + 1;
	p->child = src;
	src->parent = p;
	src->parent_checked = true;
	*ret = p;
	r = 0;
out:
	free(path);
	return r;
}

int c2c_blob_pread(struct c2c_ctx *ctx, const struct c2c_blob *blob, void *buf, size_t len,
		   uint64_t off)
{
	uint8_t *p = buf;
	uint64_t end;

	if (c2c_add_overflow(off, len, &end) || end > blob->size)
		return c2c_fail(ctx, &C2C_LOC_AT(blob->path, off), C2C_E_TRUNCATED,
				"need %zu bytes, file has %llu", len,
				(unsigned long long)(blob->size > off ? blob->size - off : 0));
	if (blob->data) {
		memcpy(buf, blob->data + off, len);
		return 0;
	}
	if (blob->fd < 0 && !blob->map) /* a streamed member (c2c_member.streamed) */
		return c2c_fail(ctx, &C2C_LOC_AT(blob->path, off), C2C_E_USAGE,
				"page data was searched as the archive streamed by, not kept");
	while (len) {
		int fd = blob->fd;
		uint64_t at = blob->base + off;
		size_t want = len;
		ssize_t n;

		if (blob->map) {
			bool in_core = false;

			want = (size_t)c2c_placemap_locate(blob->map, off, len, &in_core, &at);
			fd = in_core ? blob->map->core_fd : blob->map->spool_fd;
			if (!want)
				return c2c_fail(ctx, &C2C_LOC_AT(blob->path, off), C2C_E_TRUNCATED,
						"file ended early");
		}
		n = pread(fd, p, want, (off_t)at);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return c2c_fail(ctx, &C2C_LOC_AT(blob->path, off), C2C_E_IO, "read failed");
		if (n == 0)
			return c2c_fail(ctx, &C2C_LOC_AT(blob->path, off), C2C_E_TRUNCATED,
					"file ended early");
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

void c2c_placemap_free(struct c2c_placemap *pm)
{
	if (!pm)
		return;
	if (pm->core_fd >= 0)
		close(pm->core_fd);
	if (pm->spool_fd >= 0)
		close(pm->spool_fd);
	free(pm->runs);
	free(pm);
}

static bool run_starts_by(const void *element, const void *key)
{
	return ((const struct c2c_place_run *)element)->member_off <= *(const uint64_t *)key;
}

uint64_t c2c_placemap_locate(const struct c2c_placemap *pm, uint64_t off, uint64_t len,
			     bool *in_core, uint64_t *file_off)
{
	/* The last run starting at or before off (the first run when none does). */
	size_t i = c2c_lower_bound(pm->runs, pm->n, sizeof(*pm->runs), &off, run_starts_by);
	const struct c2c_place_run *run = &pm->runs[i ? i - 1 : 0];
	uint64_t in;

	in = off - run->member_off;
	if (off < run->member_off || in >= run->len)
		return 0;
	*in_core = run->in_core;
	*file_off = run->file_off + in;
	return run->len - in < len ? run->len - in : len;
}

void c2c_blob_release(struct c2c_blob *blob)
{
	if (blob->fd >= 0)
		close(blob->fd);
	if (!blob->borrowed)
		free(blob->data);
	free(blob->path);
	*blob = C2C_BLOB_INIT;
}

struct c2c_blob c2c_member_blob(const struct c2c_member *m)
{
	struct c2c_blob b = C2C_BLOB_INIT;

	b.path = m->name;
	b.data = m->data;
	b.size = m->size;
	b.borrowed = true;
	return b;
}
