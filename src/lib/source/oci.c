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

#define OCI_MAX_INDEX_DEPTH 4 /* nested image indexes followed */

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

			r = c2c_oci_outer_seek(ctx, oci->path, name, &a);
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
	n = c2c_oci_norm_path(m, &bad, &nomem);
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
	struct archive *a = c2c_oci_tar_reader();
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
			r = c2c_oci_layer_index(ctx, oci, &oci->layers[i]);
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
		r = c2c_oci_layer_index(ctx, oci, l);
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

