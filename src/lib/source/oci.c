/*
 * Stage 1, input source: a container image as a stack of layers (--image).
 *
 * Consumes an image path; produces a struct c2c_oci: its layers, bottom
 * first, each with an index of its members (headers only; no file data is
 * read until c2c_oci_extract()). Formats:
 *   - OCI image layout (image-spec image-layout.md): "oci-layout",
 *     "index.json" -> manifest (image-spec manifest.md: "config", "layers")
 *     -> blobs at blobs/<alg>/<hex>; a directory, or the same in a tar
 *     (oci-archive, skopeo copy);
 *   - docker-archive (docker/podman save): manifest.json, an array of
 *     { "Config", "RepoTags", "Layers": [member names] };
 *   - an unpacked rootfs directory (one layer, looked up in place).
 * Layers are tars, plain, gzip or zstd (libarchive tells them by content).
 * Whiteouts (image-spec layer.md): ".wh.NAME" deletes NAME of the layers
 * below, ".wh..wh..opq" makes its directory opaque (nothing below shows).
 *
 * Invariants: every path in an index is normalized ("/a/b": no "." or ".."
 * component, no "//", no trailing "/"); a member whose name has ".." or
 * starts with "/" is an error, never indexed. Symlink targets are only
 * resolved here, inside the image (c2c_oci_resolve), never by the kernel.
 * Blob names come from digests checked to be "sha256:" + 64 hex digits.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arcsource.h"
#include "oci.h"
#include "sha256.h"
#include "util.h"

#define OCI_MAX_LINKS 40 /* symlinks followed in one lookup, as the kernel (MAXSYMLINKS) */
#define OCI_MAX_INDEX_DEPTH 4 /* nested image indexes followed */

/* ------------------------------------------------------------ the index */

/*
 * "./usr//bin/" -> "/usr/bin" ("" for the root itself). Returns a new
 * string, or NULL with *bad set for a name that leaves the image (a ".."
 * component or a leading "/") or *nomem when out of memory.
 */
static char *norm_path(const char *name, bool *bad, bool *nomem)
{
	size_t len = strlen(name);
	char *out = malloc(len + 2);
	size_t n = 0;
	const char *p = name;

	*bad = *nomem = false;
	if (!out) {
		*nomem = true;
		return NULL;
	}
	if (name[0] == '/') {
		*bad = true;
		free(out);
		return NULL;
	}
	while (*p) {
		const char *s = strchr(p, '/');
		size_t k = s ? (size_t)(s - p) : strlen(p);

		if (k == 2 && p[0] == '.' && p[1] == '.') {
			*bad = true;
			free(out);
			return NULL;
		}
		if (k && !(k == 1 && p[0] == '.')) {
			out[n++] = '/';
			memcpy(out + n, p, k);
			n += k;
		}
		p += k;
		while (*p == '/')
			p++;
	}
	out[n] = '\0';
	return out;
}

int c2c_oci_layer_add(struct c2c_ctx *ctx, struct c2c_oci *oci, struct c2c_oci_layer *l,
		      const char *name, enum c2c_oci_type type, const char *link, uint64_t size,
		      uint32_t mode, uint64_t hdr_off)
{
	struct c2c_oci_entry e = { .size = size, .mode = mode, .hdr_off = hdr_off,
				   .type = (uint8_t)type, .seq = l->n };
	struct c2c_loc loc = { l->display, name, hdr_off, C2C_NO_RECORD };
	bool bad, nomem;
	char *base;

	e.path = norm_path(name, &bad, &nomem);
	if (bad)
		return c2c_fail(ctx, &loc, C2C_E_UNSUPPORTED,
				"member path leaves the image (absolute or with '..')");
	if (nomem)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	base = strrchr(e.path, '/');
	if (!base || !base[1]) { /* the root directory itself */
		free(e.path);
		return 0;
	}
	base++;
	if (!strncmp(base, ".wh.", 4)) {
		/* Markers apply to their directory (opaque) or to the name they strip. */
		if (!strcmp(base, ".wh..wh..opq")) {
			e.type = C2C_OCI_OPAQUE;
			base[-1] = '\0';
		} else if (!strncmp(base, ".wh..wh.", 8) || !base[4]) {
			free(e.path); /* aufs bookkeeping (.wh..wh.plnk, ...): not a file */
			return 0;
		} else {
			e.type = C2C_OCI_WHITEOUT;
			memmove(base, base + 4, strlen(base + 4) + 1);
		}
		link = NULL;
	}
	if (type == C2C_OCI_HARDLINK && e.type == C2C_OCI_HARDLINK) {
		e.link = link ? norm_path(link, &bad, &nomem) : NULL;
		if (!e.link) {
			free(e.path);
			if (nomem)
				return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
			return c2c_fail(ctx, &loc, C2C_E_UNSUPPORTED,
					"hard link target leaves the image");
		}
	} else if (link && e.type == C2C_OCI_LNK) {
		e.link = c2c_strdup(link);
		if (!e.link) {
			free(e.path);
			return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		}
	}
	if (++oci->nentries > C2C_MAX_OCI_ENTRIES) {
		free(e.path);
		free(e.link);
		return c2c_fail(ctx, &loc, C2C_E_LIMIT, "more than %llu members in the image",
				(unsigned long long)C2C_MAX_OCI_ENTRIES);
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		struct c2c_oci_entry *v = reallocarray(l->v, cap, sizeof(*v));

		if (!v) {
			free(e.path);
			free(e.link);
			return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = e;
	return 0;
}

/*
 * Order of the index: by path, with '/' sorting before every other byte so
 * that a directory's members directly follow it ("/a", "/a/b", "/a-b").
 */
static int path_cmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;

		if (x != y) {
			if (!x || !y)
				return x ? 1 : -1;
			if (x == '/' || y == '/')
				return x == '/' ? -1 : 1;
			return x < y ? -1 : 1;
		}
		if (!x)
			return 0;
	}
}

static int entry_cmp(const void *pa, const void *pb)
{
	const struct c2c_oci_entry *a = pa, *b = pb;
	int c = path_cmp(a->path, b->path);

	/* Markers sort first so a directory's own entry follows its opaque marker. */
	if (!c && (a->type == C2C_OCI_OPAQUE) != (b->type == C2C_OCI_OPAQUE))
		return a->type == C2C_OCI_OPAQUE ? -1 : 1;
	return c ? c : (a->seq < b->seq ? -1 : a->seq > b->seq);
}

void c2c_oci_layer_finish(struct c2c_oci_layer *l)
{
	size_t k = 0;

	qsort(l->v, l->n, sizeof(*l->v), entry_cmp);
	/* One entry per path: the last in the tar wins (an opaque marker is kept apart). */
	for (size_t i = 0; i < l->n; i++) {
		struct c2c_oci_entry *prev = k ? &l->v[k - 1] : NULL;

		if (prev && !path_cmp(prev->path, l->v[i].path) &&
		    (prev->type == C2C_OCI_OPAQUE) == (l->v[i].type == C2C_OCI_OPAQUE)) {
			/*
			 * A whiteout deletes from the layers below only: a file of this
			 * layer at the same path stays; a directory then shows nothing
			 * from below (as if opaque).
			 */
			struct c2c_oci_entry *keep = &l->v[i], *drop = prev;

			if (keep->type == C2C_OCI_WHITEOUT && drop->type != C2C_OCI_WHITEOUT) {
				keep = prev;
				drop = &l->v[i];
			}
			struct c2c_oci_entry kept = *keep, dropped = *drop;

			if (dropped.type == C2C_OCI_WHITEOUT && kept.type == C2C_OCI_DIR) {
				dropped.type = C2C_OCI_OPAQUE; /* sorts before the dir's own entry */
				*prev = dropped;
				l->v[k++] = kept;
				continue;
			}
			free(dropped.path);
			free(dropped.link);
			*prev = kept;
			continue;
		}
		l->v[k++] = l->v[i];
	}
	l->n = k;
}

/* First entry whose path is >= path (opaque markers of that path first). */
static size_t lower_bound(const struct c2c_oci_layer *l, const char *path)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (path_cmp(l->v[mid].path, path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The entry of path in l (not a marker unless asked for), or NULL. */
static const struct c2c_oci_entry *layer_get(const struct c2c_oci_layer *l, const char *path,
					     bool opaque)
{
	for (size_t i = lower_bound(l, path); i < l->n && !path_cmp(l->v[i].path, path); i++)
		if ((l->v[i].type == C2C_OCI_OPAQUE) == opaque)
			return &l->v[i];
	return NULL;
}

/* Whether l holds members below path (path is then a directory there). */
static bool layer_has_below(const struct c2c_oci_layer *l, const char *path)
{
	size_t n = strlen(path);

	for (size_t i = lower_bound(l, path); i < l->n; i++) {
		if (strncmp(l->v[i].path, path, n))
			return false;
		if (l->v[i].path[n] == '/' && l->v[i].type != C2C_OCI_WHITEOUT)
			return true;
		if (l->v[i].path[n] != '\0' && l->v[i].path[n] != '/')
			return false;
	}
	return false;
}

/*
 * Whether l hides path of the layers below: a whiteout of path or of a parent,
 * an opaque parent, or a parent that is no directory in l.
 */
static bool layer_hides(const struct c2c_oci_layer *l, const char *path)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return true;
	memcpy(buf, path, n + 1);
	for (char *s = buf + n;; ) {
		const struct c2c_oci_entry *e = layer_get(l, buf, false);

		if (e && e->type == C2C_OCI_WHITEOUT)
			return true;
		if (s != buf + n) { /* buf is a parent of path */
			if (layer_get(l, buf, true))
				return true;
			if (e && e->type != C2C_OCI_DIR)
				return true;
		}
		s = strrchr(buf, '/');
		if (!s || s == buf)
			break;
		*s = '\0';
	}
	return false;
}

/* path in an unpacked rootfs directory; path has no symlink in its parents. */
static enum c2c_oci_type dir_lookup(const struct c2c_oci_layer *l, const char *path,
				    struct c2c_oci_found *ret)
{
	struct stat st;
	ssize_t k;

	if (!path[1])
		return ret->type = C2C_OCI_DIR;
	if (fstatat(l->rootfd, path + 1, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return ret->type = C2C_OCI_NONE;
	ret->size = (uint64_t)st.st_size;
	ret->mode = st.st_mode & 07777;
	if (S_ISREG(st.st_mode))
		return ret->type = C2C_OCI_REG;
	if (S_ISDIR(st.st_mode))
		return ret->type = C2C_OCI_DIR;
	if (!S_ISLNK(st.st_mode))
		return ret->type = C2C_OCI_OTHER;
	k = readlinkat(l->rootfd, path + 1, ret->link, sizeof(ret->link) - 1);
	if (k <= 0)
		return ret->type = C2C_OCI_NONE;
	ret->link[k] = '\0';
	return ret->type = C2C_OCI_LNK;
}

enum c2c_oci_type c2c_oci_lookup(struct c2c_ctx *ctx, const struct c2c_oci *oci,
				 const char *path, struct c2c_oci_found *ret)
{
	(void)ctx;
	memset(ret, 0, offsetof(struct c2c_oci_found, link));
	ret->link[0] = '\0';
	for (size_t i = oci->nlayers; i-- > 0;) {
		const struct c2c_oci_layer *l = &oci->layers[i];
		const struct c2c_oci_entry *e;

		ret->layer = i;
		if (l->kind == C2C_OCI_LAYER_DIR) {
			if (dir_lookup(l, path, ret) != C2C_OCI_NONE)
				return ret->type;
			continue;
		}
		e = layer_get(l, path, false);
		if (e && e->type == C2C_OCI_HARDLINK) {
			/* The data is that of an earlier member of the same layer. */
			e = layer_get(l, e->link, false);
			if (!e || e->type != C2C_OCI_REG)
				return ret->type = C2C_OCI_NONE;
		}
		if (e && e->type != C2C_OCI_WHITEOUT) {
			ret->e = e;
			ret->type = e->type;
			ret->size = e->size;
			ret->mode = e->mode;
			if (e->type == C2C_OCI_LNK) {
				size_t n = strlen(e->link);

				if (n >= sizeof(ret->link))
					return ret->type = C2C_OCI_NONE;
				memcpy(ret->link, e->link, n + 1);
			}
			return ret->type;
		}
		if (!e && (layer_has_below(l, path) || layer_get(l, path, true)))
			return ret->type = C2C_OCI_DIR;
		if (layer_hides(l, path))
			break;
	}
	return ret->type = C2C_OCI_NONE;
}

int c2c_oci_resolve(struct c2c_ctx *ctx, const struct c2c_oci *oci, const char *path,
		    char *canon, struct c2c_oci_found *ret, c2c_oci_link_fn on_link, void *data)
{
	struct c2c_oci_found *f = NULL;
	char *rest = NULL; /* what is left to walk, from rest + pos */
	size_t cur = 0, pos = 0, links = 0, len = strlen(path);
	int r = 1;

	f = malloc(sizeof(*f));
	rest = malloc(8192);
	if (!f || !rest || len >= 4096) {
		r = !f || !rest ? c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory") : 1;
		goto out;
	}
	memcpy(rest, path, len + 1);
	canon[0] = '\0';
	for (;;) {
		size_t k, save;

		while (rest[pos] == '/')
			pos++;
		if (!rest[pos])
			break; /* ends at a directory */
		k = strcspn(rest + pos, "/");
		if (k == 1 && rest[pos] == '.') {
			pos += k;
			continue;
		}
		if (k == 2 && rest[pos] == '.' && rest[pos + 1] == '.') {
			while (cur && canon[--cur] != '/')
				; /* ".." of "/" is "/" */
			canon[cur] = '\0';
			pos += k;
			continue;
		}
		if (cur + 1 + k >= 4096)
			break;
		save = cur;
		canon[cur++] = '/';
		memcpy(canon + cur, rest + pos, k);
		cur += k;
		canon[cur] = '\0';
		pos += k;
		switch (c2c_oci_lookup(ctx, oci, canon, f)) {
		case C2C_OCI_DIR:
			continue;
		case C2C_OCI_LNK: {
			size_t tl = strlen(f->link), rl = strlen(rest + pos);

			if (++links > OCI_MAX_LINKS || tl + 1 + rl >= 8192)
				goto out;
			if (on_link && (r = on_link(data, canon, f->link)) < 0)
				goto out;
			r = 1;
			/* The target replaces the link; an absolute one starts at the image's root. */
			memmove(rest + tl, rest + pos, rl + 1);
			memcpy(rest, f->link, tl);
			pos = 0;
			cur = f->link[0] == '/' ? 0 : save;
			canon[cur] = '\0';
			continue;
		}
		case C2C_OCI_REG:
			while (rest[pos] == '/')
				pos++;
			if (rest[pos])
				goto out; /* a file used as a directory */
			*ret = *f;
			r = 0;
			goto out;
		default:
			goto out;
		}
	}
out:
	free(rest);
	free(f);
	return r;
}

int c2c_oci_links_in(struct c2c_ctx *ctx, const struct c2c_oci *oci, const char *dir,
		     int (*fn)(void *data, const char *path), void *data)
{
	char path[4096];
	size_t n = strlen(dir);
	int r = 0;

	(void)ctx;
	if (n + 2 >= sizeof(path))
		return 0;
	for (size_t i = 0; r == 0 && i < oci->nlayers; i++) {
		const struct c2c_oci_layer *l = &oci->layers[i];

		if (l->kind == C2C_OCI_LAYER_DIR) {
			int fd = n ? openat(l->rootfd, dir + 1,
					    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
				   : fcntl(l->rootfd, F_DUPFD_CLOEXEC, 0);
			DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
			struct dirent *de;

			if (!d) {
				if (fd >= 0)
					close(fd);
				continue;
			}
			while (r == 0 && (de = readdir(d)))
				if (de->d_type == DT_LNK &&
				    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) <
					    (int)sizeof(path))
					r = fn(data, path);
			closedir(d);
			continue;
		}
		memcpy(path, dir, n);
		path[n] = '/';
		path[n + 1] = '\0';
		for (size_t k = lower_bound(l, path); r == 0 && k < l->n; k++) {
			const struct c2c_oci_entry *e = &l->v[k];

			if (strncmp(e->path, path, n + 1))
				break;
			if (e->type == C2C_OCI_LNK && !strchr(e->path + n + 1, '/'))
				r = fn(data, e->path);
		}
	}
	return r;
}

/* ------------------------------------------------------------ reading layers */

/* A tar that is a member of the image tar: libarchive reads one through the other. */
struct nested {
	struct archive *outer;
	struct c2c_sha256 *sha; /* of the bytes read, or NULL */
};

/* A layer file, hashed as it is read when its digest is known. */
struct filerd {
	int fd;
	struct c2c_sha256 *sha;
	uint8_t buf[1 << 16];
};

static la_ssize_t file_read(struct archive *a, void *data, const void **out)
{
	struct filerd *fr = data;
	ssize_t k;

	(void)a;
	do
		k = read(fr->fd, fr->buf, sizeof(fr->buf));
	while (k < 0 && errno == EINTR);
	if (k > 0 && fr->sha)
		c2c_sha256_update(fr->sha, fr->buf, (size_t)k);
	*out = fr->buf;
	return k;
}

static la_ssize_t nested_read(struct archive *a, void *data, const void **buf)
{
	struct nested *n = data;
	la_ssize_t k;
	size_t len;
	la_int64_t off;
	int r;

	(void)a;
	r = archive_read_data_block(n->outer, buf, &len, &off);
	if (r == ARCHIVE_EOF)
		return 0;
	if (r < ARCHIVE_WARN)
		return -1;
	k = (la_ssize_t)len;
	if (n->sha && len)
		c2c_sha256_update(n->sha, *buf, len);
	return k;
}

/* An open layer: the tar reader, and what it reads from. */
struct layer_rd {
	struct archive *a, *outer;
	struct nested nested;
	struct c2c_blob_reader *br;
	struct filerd *fr;
	struct c2c_sha256 *sha; /* checking the layer's digest, or NULL */
};

static void layer_close(struct layer_rd *rd)
{
	if (rd->a)
		archive_read_free(rd->a);
	if (rd->outer)
		archive_read_free(rd->outer);
	if (rd->fr && rd->fr->fd >= 0)
		close(rd->fr->fd);
	free(rd->fr);
	free(rd->sha);
	free(rd->br);
	*rd = (struct layer_rd){ 0 };
}

static struct archive *tar_reader(void)
{
	struct archive *a = archive_read_new();

	if (a) {
		/* gzip, zstd, ... are told by their content (OCI media types say the same). */
		archive_read_support_filter_all(a);
		archive_read_support_format_tar(a);
	}
	return a;
}

/* Open the outer image tar and move to member `name`; 1 if it has none. */
static int outer_seek(struct c2c_ctx *ctx, const char *image, const char *name,
		      struct archive **ret)
{
	struct archive *a = tar_reader();
	struct archive_entry *e;
	int r;

	if (!a)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	if (archive_read_open_filename(a, image, 1 << 16) != ARCHIVE_OK) {
		r = c2c_fail(ctx, &C2C_LOC_FILE(image), C2C_E_ARCHIVE, "cannot read the image: %s",
			     archive_error_string(a));
		goto out;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		const char *m = archive_entry_pathname(e);

		while (m && m[0] == '.' && m[1] == '/')
			m += 2;
		if (m && !strcmp(m, name)) {
			*ret = a;
			return 0;
		}
	}
	if (r != ARCHIVE_EOF) {
		r = c2c_fail(ctx, &C2C_LOC_AT(image, (uint64_t)archive_filter_bytes(a, 0)),
			     C2C_E_ARCHIVE, "cannot read the image: %s", archive_error_string(a));
		goto out;
	}
	r = 1;
out:
	archive_read_free(a);
	return r;
}

static int layer_damaged(struct c2c_ctx *ctx, const struct c2c_oci_layer *l, struct archive *a,
			 const char *member);

static int layer_open(struct c2c_ctx *ctx, const struct c2c_oci *oci,
		      const struct c2c_oci_layer *l, bool hash, struct layer_rd *rd)
{
	int r = 0, ar = ARCHIVE_OK;

	*rd = (struct layer_rd){ 0 };
	rd->a = tar_reader();
	if (rd->a && hash && l->digest && (rd->sha = malloc(sizeof(*rd->sha))))
		c2c_sha256_init(rd->sha);
	if (!rd->a || (hash && l->digest && !rd->sha)) {
		layer_close(rd);
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	}
	switch (l->kind) {
	case C2C_OCI_LAYER_FILE:
		if (access(l->name, F_OK) < 0) {
			r = c2c_fail(ctx, &C2C_LOC_FILE(l->display),
				     errno == ENOENT ? C2C_E_MISSING : C2C_E_IO,
				     "layer blob is missing%s%s", errno == ENOENT ? ": " : "",
				     errno == ENOENT ? strerror(errno) : "");
			break;
		}
		rd->fr = malloc(sizeof(*rd->fr));
		if (!rd->fr) {
			r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
			break;
		}
		rd->fr->sha = rd->sha;
		rd->fr->fd = open(l->name, O_RDONLY | O_CLOEXEC);
		if (rd->fr->fd < 0) {
			r = c2c_fail(ctx, &C2C_LOC_FILE(l->display), C2C_E_IO, "cannot open the layer");
			break;
		}
		ar = archive_read_open(rd->a, rd->fr, NULL, file_read, NULL);
		break;
	case C2C_OCI_LAYER_MEMBER:
		r = outer_seek(ctx, oci->path, l->name, &rd->outer);
		if (r == 1)
			r = c2c_fail(ctx, &C2C_LOC_FILE(l->display), C2C_E_MISSING,
				     "layer is not in the image tar");
		if (r < 0)
			break;
		rd->nested.outer = rd->outer;
		rd->nested.sha = rd->sha;
		ar = archive_read_open(rd->a, &rd->nested, NULL, nested_read, NULL);
		break;
	case C2C_OCI_LAYER_BLOB:
		rd->br = malloc(sizeof(*rd->br));
		if (!rd->br) {
			r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
			break;
		}
		rd->br->ctx = ctx;
		rd->br->blob = &l->blob;
		rd->br->pos = 0;
		ar = archive_read_open(rd->a, rd->br, NULL, c2c_blob_read_cb, NULL);
		break;
	case C2C_OCI_LAYER_DIR:
		break;
	}
	if (r == 0 && ar < ARCHIVE_WARN)
		r = layer_damaged(ctx, l, rd->a, NULL);
	if (r < 0)
		layer_close(rd);
	return r;
}

/* A failure of libarchive in the middle of a layer: where the bytes stopped. */
static int layer_damaged(struct c2c_ctx *ctx, const struct c2c_oci_layer *l, struct archive *a,
			 const char *member)
{
	struct c2c_loc loc = { l->display, member, (uint64_t)archive_filter_bytes(a, -1),
			       C2C_NO_RECORD };

	return c2c_fail(ctx, &loc, C2C_E_ARCHIVE, "cannot read the layer: %s",
			archive_error_string(a) ? archive_error_string(a) : "damaged");
}

static enum c2c_oci_type entry_type(struct archive_entry *e)
{
	if (archive_entry_hardlink(e))
		return C2C_OCI_HARDLINK;
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
		return C2C_OCI_REG;
	case AE_IFDIR:
		return C2C_OCI_DIR;
	case AE_IFLNK:
		return C2C_OCI_LNK;
	default:
		return C2C_OCI_OTHER;
	}
}

/*
 * After the end of the tar: the bytes after it (padding) into the hash too,
 * then the whole blob against its digest (image-spec descriptor.md).
 */
static int layer_verify(struct c2c_ctx *ctx, const struct c2c_oci_layer *l, struct layer_rd *rd)
{
	char hex[65];

	if (!rd->sha)
		return 0;
	if (rd->fr) {
		const void *p;

		while (file_read(rd->a, rd->fr, &p) > 0)
			;
	} else if (rd->outer) {
		const void *p;

		while (nested_read(rd->a, &rd->nested, &p) > 0)
			;
	}
	c2c_sha256_hex(rd->sha, hex);
	if (strcmp(hex, l->digest + 7))
		return c2c_fail(ctx, &C2C_LOC_FILE(l->display), C2C_E_INCONSISTENT,
				"content does not match its digest (its sha256 is %s)", hex);
	return 0;
}

/* Index every member of a tar layer (headers only: libarchive skips the data). */
static int layer_index(struct c2c_ctx *ctx, struct c2c_oci *oci, struct c2c_oci_layer *l)
{
	struct archive_entry *e;
	struct layer_rd rd;
	int r, ar;

	r = layer_open(ctx, oci, l, true, &rd);
	if (r < 0)
		return r;
	while ((ar = archive_read_next_header(rd.a, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN) {
		const char *name = archive_entry_pathname(e);
		enum c2c_oci_type t = entry_type(e);
		la_int64_t size = archive_entry_size(e);

		if ((uint64_t)archive_filter_bytes(rd.a, 0) > C2C_MAX_OCI_LAYER) {
			struct c2c_loc loc = { l->display, name, (uint64_t)archive_filter_bytes(rd.a, -1),
					       C2C_NO_RECORD };

			r = c2c_fail(ctx, &loc, C2C_E_LIMIT,
				     "layer expands to more than %llu bytes (a compression bomb?)",
				     (unsigned long long)C2C_MAX_OCI_LAYER);
			goto out;
		}
		if (!name)
			continue;
		r = c2c_oci_layer_add(ctx, oci, l, name, t,
				      t == C2C_OCI_HARDLINK ? archive_entry_hardlink(e)
							    : archive_entry_symlink(e),
				      size > 0 ? (uint64_t)size : 0,
				      (uint32_t)archive_entry_perm(e),
				      (uint64_t)archive_read_header_position(rd.a));
		if (r < 0)
			goto out;
	}
	if (ar != ARCHIVE_EOF) {
		r = layer_damaged(ctx, l, rd.a, NULL);
		goto out;
	}
	r = layer_verify(ctx, l, &rd);
	if (r < 0)
		goto out;
	c2c_oci_layer_finish(l);
out:
	layer_close(&rd);
	return r;
}

/* Copy the current member's data into fd; its size must be `size`. */
static int copy_member(struct c2c_ctx *ctx, const struct c2c_oci_layer *l, struct archive *a,
		       const struct c2c_oci_entry *e, int fd)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	struct c2c_loc loc = { l->display, e->path + 1, e->hdr_off, C2C_NO_RECORD };
	int r;

	if (e->size > C2C_MAX_OCI_FILE)
		return c2c_fail(ctx, &loc,
				C2C_E_LIMIT, "member of %llu bytes, more than the %llu allowed",
				(unsigned long long)e->size, (unsigned long long)C2C_MAX_OCI_FILE);
	while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK ||
	       r == ARCHIVE_WARN) {
		uint64_t end;

		if (off < 0 || c2c_add_overflow((uint64_t)off, len, &end) || end > e->size)
			return c2c_fail(ctx, &loc,
					C2C_E_INCONSISTENT, "member data beyond its size");
		for (size_t w = 0; w < len;) {
			ssize_t k = pwrite(fd, (const char *)buf + w, len - w, off + (off_t)w);

			if (k <= 0)
				return c2c_fail(ctx, NULL, C2C_E_IO, "cannot write '%s'", e->path);
			w += (size_t)k;
		}
	}
	if (r != ARCHIVE_EOF)
		return layer_damaged(ctx, l, a, e->path + 1);
	/* Sparse members end in a hole: the size is the header's. */
	if (ftruncate(fd, (off_t)e->size) < 0)
		return c2c_fail(ctx, NULL, C2C_E_IO, "cannot write '%s'", e->path);
	return 0;
}

/* Copy a file of an unpacked rootfs into fd. */
static int copy_dir_file(struct c2c_ctx *ctx, const struct c2c_oci_layer *l, const char *path,
			 int fd)
{
	struct c2c_blob b = C2C_BLOB_INIT;
	uint8_t buf[1 << 16];
	int r = c2c_root_open_file(ctx, l->rootfd, l->name, path, &b);

	if (r == 1)
		return c2c_fail(ctx, &C2C_LOC_FILE(l->name), C2C_E_MISSING, "'%s' vanished", path);
	for (uint64_t off = 0; r == 0 && off < b.size;) {
		size_t n = b.size - off < sizeof(buf) ? (size_t)(b.size - off) : sizeof(buf);

		r = c2c_blob_pread(ctx, &b, buf, n, off);
		if (r == 0 && pwrite(fd, buf, n, (off_t)off) != (ssize_t)n)
			r = c2c_fail(ctx, NULL, C2C_E_IO, "cannot write '%s'", path);
		off += n;
	}
	c2c_blob_release(&b);
	return r;
}

int c2c_oci_extract(struct c2c_ctx *ctx, const struct c2c_oci *oci, size_t layer,
		    struct c2c_oci_want *want, size_t nwant)
{
	const struct c2c_oci_layer *l = &oci->layers[layer];
	struct archive_entry *ae;
	struct layer_rd rd;
	size_t left = 0;
	int r = 0, ar;

	if (l->kind == C2C_OCI_LAYER_DIR) {
		for (size_t i = 0; r == 0 && i < nwant; i++)
			if (!want[i].done && (r = copy_dir_file(ctx, l, want[i].path, want[i].fd)) == 0)
				want[i].done = true;
		return r;
	}
	for (size_t i = 0; i < nwant; i++)
		left += !want[i].done;
	if (!left)
		return 0;
	r = layer_open(ctx, oci, l, false, &rd);
	if (r < 0)
		return r;
	while (left && ((ar = archive_read_next_header(rd.a, &ae)) == ARCHIVE_OK ||
			ar == ARCHIVE_WARN)) {
		uint64_t pos = (uint64_t)archive_read_header_position(rd.a);

		/* A member is known by where its header is: later duplicates are other members. */
		for (size_t i = 0; i < nwant; i++) {
			if (want[i].done || want[i].e->hdr_off != pos)
				continue;
			r = copy_member(ctx, l, rd.a, want[i].e, want[i].fd);
			if (r < 0)
				goto out;
			want[i].done = true;
			left--;
			break;
		}
	}
	if (left && ar != ARCHIVE_EOF) {
		r = layer_damaged(ctx, l, rd.a, NULL);
		goto out;
	}
	for (size_t i = 0; i < nwant; i++)
		if (!want[i].done) {
			struct c2c_loc loc = { l->display, want[i].e->path + 1, want[i].e->hdr_off,
					       C2C_NO_RECORD };

			r = c2c_fail(ctx, &loc,
				     C2C_E_INCONSISTENT, "member not found on the second read");
			goto out;
		}
out:
	layer_close(&rd);
	return r;
}

/* ------------------------------------------------------------ image formats */

/* The small files of an image (JSON): from its directory, or from its tar. */
struct image_files {
	int dirfd;		 /* directory image, or -1 */
	struct c2c_memtab *tab;	 /* tar image: every member, small ones in memory */
};

/* Load a small file of the image; 1 when there is none. */
static int image_load(struct c2c_ctx *ctx, struct c2c_oci *oci, struct image_files *imf,
		      const char *name, const char *digest, json_t **ret)
{
	char *display = c2c_asprintf("%s%s%s", oci->path, imf->tab ? ":" : "/", name);
	struct c2c_blob b = C2C_BLOB_INIT;
	uint8_t *own = NULL;
	json_error_t je;
	json_t *j;
	int r = 0;

	if (!display)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	if (imf->tab) {
		struct c2c_member *m = c2c_memtab_find(imf->tab, name);

		if (!m) {
			r = 1;
			goto out;
		}
		if (!m->data && m->size > C2C_MAX_OCI_JSON) {
			r = c2c_fail(ctx, &C2C_LOC_FILE(display), C2C_E_LIMIT,
				     "%llu bytes, more than the %llu allowed for a JSON file",
				     (unsigned long long)m->size,
				     (unsigned long long)C2C_MAX_OCI_JSON);
			goto out;
		}
		b.data = m->data;
		b.size = m->size;
		if (!m->data && m->size) {
			/* Not kept by the first pass (past its memory budget): read it again. */
			struct archive *a = NULL;

			r = outer_seek(ctx, oci->path, name, &a);
			if (r == 0 && !(own = malloc(m->size)))
				r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
			if (r == 0 && archive_read_data(a, own, m->size) != (la_ssize_t)m->size)
				r = c2c_fail(ctx, &C2C_LOC_FILE(display), C2C_E_ARCHIVE,
					     "cannot read it: %s",
					     archive_error_string(a) ? archive_error_string(a)
								     : "truncated");
			if (a)
				archive_read_free(a);
			if (r != 0)
				goto out;
			b.data = own;
		}
	} else {
		int fd = openat(imf->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		struct stat st;

		if (fd < 0) {
			r = errno == ENOENT ? 1
					    : c2c_fail(ctx, &C2C_LOC_FILE(display), C2C_E_IO,
						       "cannot open");
			goto out;
		}
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
		    (uint64_t)st.st_size > C2C_MAX_OCI_JSON) {
			close(fd);
			r = c2c_fail(ctx, &C2C_LOC_FILE(display), C2C_E_LIMIT,
				     "not a regular file of at most %llu bytes",
				     (unsigned long long)C2C_MAX_OCI_JSON);
			goto out;
		}
		b = (struct c2c_blob){ display, NULL, (uint64_t)st.st_size, fd, 0, false, NULL };
		own = malloc(b.size ? b.size : 1);
		r = own ? c2c_blob_pread(ctx, &b, own, b.size, 0)
			: c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		close(fd);
		b.data = own;
		if (r < 0)
			goto out;
	}
	if (digest) {
		struct c2c_sha256 sha;
		char hex[65];

		c2c_sha256_init(&sha);
		c2c_sha256_update(&sha, b.data, (size_t)b.size);
		c2c_sha256_hex(&sha, hex);
		if (strcmp(hex, digest + 7)) {
			r = c2c_fail(ctx, &C2C_LOC_FILE(display), C2C_E_INCONSISTENT,
				     "content does not match its digest (its sha256 is %s)", hex);
			goto out;
		}
	}
	j = json_loadb((const char *)b.data, (size_t)b.size, 0, &je);
	if (!j) {
		r = c2c_fail(ctx, &C2C_LOC_AT(display, (uint64_t)je.position), C2C_E_INCONSISTENT,
			     "not valid JSON: %s", je.text);
		goto out;
	}
	*ret = j;
out:
	free(own);
	free(display);
	return r;
}

/* "sha256:" and 64 lowercase hex digits: the only digests we turn into blob names. */
static bool digest_ok(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7) || strlen(d) != 7 + 64)
		return false;
	for (const char *p = d + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

/* Member names in manifest.json: relative, no "..". */
static bool member_ok(const char *m)
{
	bool bad, nomem;
	char *n;

	if (!m || !*m)
		return false;
	n = norm_path(m, &bad, &nomem);
	free(n);
	return n && !bad;
}

static int add_layer(struct c2c_ctx *ctx, struct c2c_oci *oci, enum c2c_oci_layer_kind kind,
		     char *display, char *name)
{
	struct c2c_oci_layer *v;

	if (!display || !name) {
		free(display);
		free(name);
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	}
	if (oci->nlayers >= C2C_MAX_OCI_LAYERS) {
		free(display);
		free(name);
		return c2c_fail(ctx, &C2C_LOC_FILE(oci->path), C2C_E_LIMIT,
				"more than %u layers", C2C_MAX_OCI_LAYERS);
	}
	v = reallocarray(oci->layers, oci->nlayers + 1, sizeof(*v));
	if (!v) {
		free(display);
		free(name);
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	}
	oci->layers = v;
	v[oci->nlayers++] = (struct c2c_oci_layer){ .kind = kind, .display = display,
						   .name = name, .blob = C2C_BLOB_INIT,
						   .rootfd = -1 };
	return 0;
}

/* Where blob `digest` is: a path (directory image) or member name (tar image). */
static char *blob_name(const struct c2c_oci *oci, const struct image_files *imf,
		       const char *digest)
{
	if (imf->tab)
		return c2c_asprintf("blobs/sha256/%s", digest + 7);
	return c2c_asprintf("%s/blobs/sha256/%s", oci->path, digest + 7);
}

static int load_blob_json(struct c2c_ctx *ctx, struct c2c_oci *oci, struct image_files *imf,
			  const char *digest, const char *what, json_t **ret)
{
	char name[96];
	int r;

	snprintf(name, sizeof(name), "blobs/sha256/%s", digest + 7);
	r = image_load(ctx, oci, imf, name, digest, ret);
	if (r == 1)
		r = c2c_fail(ctx, &C2C_LOC_FILE(oci->path), C2C_E_MISSING,
			     "blob '%s' of the %s is missing", name, what);
	return r;
}

/* Is this index entry for this machine? (No platform: any.) */
static bool platform_ok(json_t *m)
{
	json_t *p = json_object_get(m, "platform");
	const char *arch = json_string_value(json_object_get(p, "architecture"));
	const char *os = json_string_value(json_object_get(p, "os"));

	return !p || ((!arch || !strcmp(arch, "amd64")) && (!os || !strcmp(os, "linux")));
}

/* index.json (or a nested index) -> the manifest digest. */
static int pick_manifest(struct c2c_ctx *ctx, struct c2c_oci *oci, struct image_files *imf,
			 json_t *index, const char *what, unsigned depth)
{
	json_t *ms = json_object_get(index, "manifests"), *m, *pick = NULL;
	size_t i;

	json_array_foreach(ms, i, m) {
		/* IMAGE:REF names one image of a layout by its ref.name (skopeo oci:DIR:REF). */
		const char *name = json_string_value(json_object_get(
			json_object_get(m, "annotations"), "org.opencontainers.image.ref.name"));

		if (oci->ref && !depth && (!name || strcmp(name, oci->ref)))
			continue;
		if (digest_ok(json_string_value(json_object_get(m, "digest"))) && platform_ok(m)) {
			pick = m;
			break;
		}
	}
	if (!pick && oci->ref && !depth)
		return c2c_fail(ctx, &C2C_LOC_FILE(what), C2C_E_MISSING,
				"no image named '%s' for linux/amd64 "
				"(org.opencontainers.image.ref.name)",
				oci->ref);
	if (!pick)
		return c2c_fail(ctx, &C2C_LOC_FILE(what), C2C_E_MISSING,
				"no image manifest for linux/amd64 (\"manifests\" with a sha256 "
				"digest)");
	if (json_array_size(ms) > 1 && !(oci->ref && !depth))
		c2c_warn(ctx, &C2C_LOC_FILE(what), "%zu manifests; using the first for linux/amd64",
			 json_array_size(ms));
	free(oci->manifest_digest);
	oci->manifest_digest = c2c_strdup(json_string_value(json_object_get(pick, "digest")));
	if (!oci->manifest_digest)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	{
		const char *mt = json_string_value(json_object_get(pick, "mediaType"));

		/* An index of indexes (multi-platform): one level down. */
		if (mt && strstr(mt, "index") && depth < OCI_MAX_INDEX_DEPTH) {
			json_t *sub = NULL;
			int r = load_blob_json(ctx, oci, imf, oci->manifest_digest, "image index",
					       &sub);

			if (!oci->index_digest) { /* the digest registries show for the image */
				oci->index_digest = oci->manifest_digest;
				oci->manifest_digest = NULL;
			}

			if (r == 0)
				r = pick_manifest(ctx, oci, imf, sub, oci->path, depth + 1);
			json_decref(sub);
			return r;
		}
	}
	return 0;
}

static int open_oci_layout(struct c2c_ctx *ctx, struct c2c_oci *oci, struct image_files *imf)
{
	json_t *index = NULL, *man = NULL, *layers, *l;
	char *idxname = c2c_asprintf("%s%sindex.json", oci->path, imf->tab ? ":" : "/");
	size_t i;
	int r;

	if (!idxname)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	r = image_load(ctx, oci, imf, "index.json", NULL, &index);
	if (r == 1)
		r = c2c_fail(ctx, &C2C_LOC_FILE(idxname), C2C_E_MISSING, "missing");
	if (r == 0)
		r = pick_manifest(ctx, oci, imf, index, idxname, 0);
	if (r == 0)
		r = load_blob_json(ctx, oci, imf, oci->manifest_digest, "manifest", &man);
	if (r < 0)
		goto out;
	{
		const char *cd = json_string_value(json_object_get(json_object_get(man, "config"),
								   "digest"));

		if (digest_ok(cd) && !(oci->config_digest = c2c_strdup(cd))) {
			r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
			goto out;
		}
	}
	layers = json_object_get(man, "layers");
	if (!json_is_array(layers)) {
		r = c2c_fail(ctx, &C2C_LOC_FILE(oci->path), C2C_E_INCONSISTENT,
			     "manifest %s has no \"layers\" array", oci->manifest_digest);
		goto out;
	}
	json_array_foreach(layers, i, l) {
		const char *d = json_string_value(json_object_get(l, "digest"));
		char *name;

		if (!digest_ok(d)) {
			r = c2c_fail(ctx, &C2C_LOC_FILE(oci->path), C2C_E_INCONSISTENT,
				     "layer %zu of manifest %s has no sha256 digest", i + 1,
				     oci->manifest_digest);
			goto out;
		}
		name = blob_name(oci, imf, d);
		r = add_layer(ctx, oci, imf->tab ? C2C_OCI_LAYER_MEMBER : C2C_OCI_LAYER_FILE,
			      imf->tab ? c2c_asprintf("%s:%s", oci->path, name) : c2c_strdup(name),
			      name);
		if (r < 0)
			goto out;
		oci->layers[oci->nlayers - 1].digest = c2c_strdup(d);
		if (!oci->layers[oci->nlayers - 1].digest) {
			r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
			goto out;
		}
		if (imf->tab && !c2c_memtab_find(imf->tab, oci->layers[oci->nlayers - 1].name)) {
			r = c2c_fail(ctx, &C2C_LOC_FILE(oci->layers[oci->nlayers - 1].display),
				     C2C_E_MISSING, "blob of layer %zu is missing", i + 1);
			goto out;
		}
		if (!imf->tab && access(name, F_OK) < 0) {
			r = c2c_fail(ctx, &C2C_LOC_FILE(name), C2C_E_MISSING,
				     "blob of layer %zu is missing", i + 1);
			goto out;
		}
	}
out:
	json_decref(index);
	json_decref(man);
	free(idxname);
	return r;
}

/* docker-archive: manifest.json names the config and the layer tars. */
static int open_docker(struct c2c_ctx *ctx, struct c2c_oci *oci, struct image_files *imf)
{
	json_t *man = NULL, *img, *layers, *l;
	const char *cfg;
	size_t i;
	int r = image_load(ctx, oci, imf, "manifest.json", NULL, &man);

	if (r != 0)
		return r == 1 ? c2c_fail(ctx, &C2C_LOC_FILE(oci->path), C2C_E_MISSING,
					 "no manifest.json")
			      : r;
	img = json_array_get(man, 0);
	for (size_t k = 0; oci->ref && k < json_array_size(man); k++) {
		json_t *tags = json_object_get(json_array_get(man, k), "RepoTags"), *t;
		size_t n;

		img = NULL;
		json_array_foreach(tags, n, t)
			if (json_is_string(t) && !strcmp(json_string_value(t), oci->ref))
				img = json_array_get(man, k);
		if (img)
			break;
	}
	if (!img && oci->ref) {
		r = c2c_fail(ctx, &C2C_LOC_FILE(oci->path), C2C_E_MISSING,
			     "no image tagged '%s' in manifest.json", oci->ref);
		goto out;
	}
	layers = json_object_get(img, "Layers");
	if (!json_is_array(layers)) {
		r = c2c_fail(ctx, &C2C_LOC_FILE(oci->path), C2C_E_INCONSISTENT,
			     "manifest.json has no image with \"Layers\"");
		goto out;
	}
	if (json_array_size(man) > 1 && !oci->ref)
		c2c_warn(ctx, &C2C_LOC_FILE(oci->path),
			 "manifest.json lists %zu images; using the first", json_array_size(man));
	/* The config's name is its digest: "HEX.json" or "blobs/sha256/HEX". */
	cfg = json_string_value(json_object_get(img, "Config"));
	if (cfg) {
		const char *base = strrchr(cfg, '/') ? strrchr(cfg, '/') + 1 : cfg;
		char d[7 + 64 + 1];

		snprintf(d, sizeof(d), "sha256:%.64s", base);
		if (digest_ok(d) && !(oci->config_digest = c2c_strdup(d))) {
			r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
			goto out;
		}
	}
	json_array_foreach(layers, i, l) {
		const char *m = json_string_value(l);

		if (!member_ok(m)) {
			r = c2c_fail(ctx, &C2C_LOC_FILE(oci->path), C2C_E_UNSUPPORTED,
				     "layer %zu of manifest.json is not a member name inside the "
				     "image",
				     i + 1);
			goto out;
		}
		while (m[0] == '.' && m[1] == '/')
			m += 2;
		r = add_layer(ctx, oci, imf->tab ? C2C_OCI_LAYER_MEMBER : C2C_OCI_LAYER_FILE,
			      c2c_asprintf("%s%s%s", oci->path, imf->tab ? ":" : "/", m),
			      imf->tab ? c2c_strdup(m) : c2c_asprintf("%s/%s", oci->path, m));
		if (r < 0)
			goto out;
		if ((imf->tab && !c2c_memtab_find(imf->tab, m)) ||
		    (!imf->tab && faccessat(imf->dirfd, m, F_OK, 0) < 0)) {
			r = c2c_fail(ctx, &C2C_LOC_FILE(oci->layers[oci->nlayers - 1].display),
				     C2C_E_MISSING, "layer %zu is missing", i + 1);
			goto out;
		}
	}
out:
	json_decref(man);
	return r;
}

/* Read the image tar's member list once, small members (JSON) into memory. */
static int read_image_tar(struct c2c_ctx *ctx, const char *image, struct c2c_memtab **ret)
{
	struct archive *a = tar_reader();
	struct c2c_memtab *tab = c2c_memtab_new(image);
	struct archive_entry *e;
	uint64_t held = 0;
	int r = 0, ar;

	if (!a || !tab) {
		r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		goto out;
	}
	if (archive_read_open_filename(a, image, 1 << 16) != ARCHIVE_OK) {
		r = c2c_fail(ctx, &C2C_LOC_FILE(image), C2C_E_ARCHIVE,
			     "not an image layout, archive or directory: %s",
			     archive_error_string(a));
		goto out;
	}
	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN) {
		const char *name = archive_entry_pathname(e);
		la_int64_t size = archive_entry_size(e);
		struct c2c_member m = { .fd = -1 };

		if (!name || archive_entry_filetype(e) != AE_IFREG)
			continue;
		while (name[0] == '.' && name[1] == '/')
			name += 2;
		if (c2c_memtab_find(tab, name))
			continue;
		m.name = c2c_strdup(name);
		m.size = size > 0 ? (uint64_t)size : 0;
		if (!m.name) {
			r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
			goto out;
		}
		if (m.size <= (1U << 20) && held + m.size <= 4 * C2C_MAX_OCI_JSON &&
		    (strstr(name, ".json") || !strncmp(name, "blobs/", 6) ||
		     !strcmp(name, "oci-layout"))) {
			/* Small blobs are manifests and configs (others are read again later). */
			struct c2c_loc loc = { image, name, C2C_NO_OFFSET, C2C_NO_RECORD };

			m.data = malloc(m.size ? m.size : 1);
			if (!m.data) {
				free(m.name);
				r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
				goto out;
			}
			if (m.size &&
			    archive_read_data(a, m.data, m.size) != (la_ssize_t)m.size) {
				free(m.data);
				free(m.name);
				loc.offset = (uint64_t)archive_filter_bytes(a, -1);
				r = c2c_fail(ctx, &loc, C2C_E_ARCHIVE, "cannot read the image: %s",
					     archive_error_string(a) ? archive_error_string(a)
								     : "truncated");
				goto out;
			}
			held += m.size;
		}
		r = c2c_memtab_add(tab, m);
		if (r < 0) {
			r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
			goto out;
		}
	}
	if (ar != ARCHIVE_EOF) {
		r = c2c_fail(ctx, &C2C_LOC_AT(image, (uint64_t)archive_filter_bytes(a, -1)),
			     C2C_E_ARCHIVE, "cannot read the image: %s", archive_error_string(a));
		goto out;
	}
	(void)c2c_memtab_sort(tab);
	*ret = tab;
	tab = NULL;
out:
	c2c_memtab_put(tab);
	if (a)
		archive_read_free(a);
	return r;
}

int c2c_oci_open(struct c2c_ctx *ctx, const char *image, struct c2c_oci **ret)
{
	struct image_files imf = { .dirfd = -1, .tab = NULL };
	struct c2c_oci *oci = calloc(1, sizeof(*oci));
	struct stat st;
	int r;

	if (!oci || !(oci->path = c2c_strdup(image))) {
		free(oci);
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	}
	/* IMAGE:REF when IMAGE:REF itself is no file: the first prefix that is one. */
	for (char *colon = oci->path; stat(oci->path, &st) < 0 && errno == ENOENT &&
				     (colon = strchr(colon, ':'));) {
		*colon = '\0';
		if (colon > oci->path && stat(oci->path, &st) == 0) {
			oci->ref = colon + 1;
			break;
		}
		*colon++ = ':';
	}
	image = oci->path;
	if (stat(image, &st) < 0) {
		r = c2c_fail(ctx, &C2C_LOC_FILE(image), errno == ENOENT ? C2C_E_MISSING : C2C_E_IO,
			     "cannot open the image%s%s", errno == ENOENT ? ": " : "",
			     errno == ENOENT ? strerror(errno) : "");
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		imf.dirfd = open(image, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (imf.dirfd < 0) {
			r = c2c_fail(ctx, &C2C_LOC_FILE(image), C2C_E_IO, "cannot open the image");
			goto out;
		}
	} else {
		r = read_image_tar(ctx, image, &imf.tab);
		if (r < 0)
			goto out;
	}
	/* Told by content: an OCI layout has index.json, a docker-archive manifest.json. */
	if (imf.tab ? c2c_memtab_find(imf.tab, "index.json") != NULL
		    : faccessat(imf.dirfd, "index.json", F_OK, 0) == 0) {
		oci->kind = imf.tab ? "oci-archive" : "OCI image layout";
		r = open_oci_layout(ctx, oci, &imf);
	} else if (imf.tab ? c2c_memtab_find(imf.tab, "manifest.json") != NULL
			   : faccessat(imf.dirfd, "manifest.json", F_OK, 0) == 0) {
		oci->kind = "docker-archive";
		r = open_docker(ctx, oci, &imf);
	} else if (imf.tab) {
		r = c2c_fail(ctx, &C2C_LOC_FILE(image), C2C_E_MISSING,
			     "neither index.json (oci-archive) nor manifest.json (docker-archive) "
			     "in the image tar");
	} else {
		oci->kind = "rootfs directory";
		r = add_layer(ctx, oci, C2C_OCI_LAYER_DIR, c2c_strdup(image), c2c_strdup(image));
		if (r == 0) {
			oci->layers[0].rootfd = imf.dirfd;
			imf.dirfd = -1;
		}
	}
	for (size_t i = 0; r == 0 && i < oci->nlayers; i++)
		if (oci->layers[i].kind != C2C_OCI_LAYER_DIR)
			r = layer_index(ctx, oci, &oci->layers[i]);
	if (r < 0)
		goto out;
	c2c_log(ctx, C2C_LOG_INFO, "image '%s': %s, %zu layer%s%s%s", image, oci->kind,
		oci->nlayers, oci->nlayers == 1 ? "" : "s",
		oci->manifest_digest ? ", manifest " : "",
		oci->manifest_digest ? oci->manifest_digest : "");
	*ret = oci;
	oci = NULL;
	r = 0;
out:
	if (imf.dirfd >= 0)
		close(imf.dirfd);
	c2c_memtab_put(imf.tab);
	c2c_oci_free(oci);
	return r;
}

int c2c_oci_push_blob(struct c2c_ctx *ctx, struct c2c_oci *oci, struct c2c_blob *blob,
		      const char *const *deleted, size_t ndeleted)
{
	struct c2c_oci_layer *l;
	int r;

	r = add_layer(ctx, oci, C2C_OCI_LAYER_BLOB,
		      c2c_strdup(blob ? blob->path : "deleted.files"),
		      c2c_strdup(blob ? blob->path : "deleted.files"));
	if (r < 0) {
		c2c_blob_release(blob);
		return r;
	}
	l = &oci->layers[oci->nlayers - 1];
	if (blob) {
		l->blob = *blob;
		*blob = C2C_BLOB_INIT;
		r = layer_index(ctx, oci, l);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < ndeleted; i++) {
		/* "/usr/x" -> the whiteout member "usr/.wh.x". */
		const char *p = deleted[i], *s;
		char *name;

		while (*p == '/')
			p++;
		s = strrchr(p, '/');
		name = s ? c2c_asprintf("%.*s/.wh.%s", (int)(s - p), p, s + 1)
			 : c2c_asprintf(".wh.%s", p);
		if (!name)
			return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		if (*p && (!s || s[1]) && member_ok(name))
			r = c2c_oci_layer_add(ctx, oci, l, name, C2C_OCI_REG, NULL, 0, 0,
					      C2C_NO_OFFSET);
		free(name);
		if (r < 0)
			return r;
	}
	c2c_oci_layer_finish(l);
	return 0;
}

void c2c_oci_free(struct c2c_oci *oci)
{
	if (!oci)
		return;
	for (size_t i = 0; i < oci->nlayers; i++) {
		struct c2c_oci_layer *l = &oci->layers[i];

		for (size_t k = 0; k < l->n; k++) {
			free(l->v[k].path);
			free(l->v[k].link);
		}
		free(l->v);
		free(l->display);
		free(l->name);
		free(l->digest);
		c2c_blob_release(&l->blob);
		if (l->rootfd >= 0)
			close(l->rootfd);
	}
	free(oci->layers);
	free(oci->manifest_digest);
	free(oci->index_digest);
	free(oci->config_digest);
	free(oci->path);
	free(oci);
}
