/*
 * Stage 1, input source: the index of a container image's layers (--image):
 * each layer's member paths, normalized and sorted, and lookups across the
 * stack with the whiteouts of image-spec layer.md applied (".wh.NAME"
 * deletes NAME below, ".wh..wh..opq" makes a directory opaque); symlinks are
 * resolved here, inside the image, never by the kernel. oci.c says what an
 * image is; oci-layer.c reads the layers.
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

/* ------------------------------------------------------------ the index */

/*
 * "./usr//bin/" -> "/usr/bin" ("" for the root itself). Returns a new
 * string, or NULL with *bad set for a name that leaves the image (a ".."
 * component or a leading "/") or *nomem when out of memory.
 */
char *c2c_oci_norm_path(const char *name, bool *bad, bool *nomem)
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

	e.path = c2c_oci_norm_path(name, &bad, &nomem);
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
		e.link = link ? c2c_oci_norm_path(link, &bad, &nomem) : NULL;
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

	if (l->n > 1)
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

