/*
 * Stage 8, api: the sysroot of a conversion (--image, --sysroot-out): the
 * container's files that the checkpointed processes map, and their
 * executables, as a directory that `gdb -ex 'set sysroot DIR'` reads.
 *
 * Consumes the loaded checkpoint (which files each selected process maps,
 * with the size and build-id CRIU recorded, model/files.c) and an image
 * (source/oci.c: layers with whiteouts; the checkpoint's rootfs-diff.tar and
 * deleted.files on top). Produces DIR holding each needed file at its own
 * path in the image, plus the symlinks met on the way to it and those at the
 * top of the image (/lib -> usr/lib), absolute targets made relative so no
 * link leads out of DIR. Nothing else of the image is written.
 *
 * Invariants: DIR is built as a sibling "DIR.XXXXXX" and renamed into place
 * only when complete; on failure it is removed (c2c_sysroot_end removes DIR
 * too when the conversion after it fails). Every path written is a
 * normalized path of the image, created below DIR with *at() calls that
 * never follow a symlink.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "oci.h"
#include "process.h"
#include "util.h"

/* FileEntry.type of a regular file (criu images/fdinfo.proto, FD_TYPES__REG). */
#define C2C_FILE_TYPE_REG 1

/* Names at the top of an image that are symlinks in merged-/usr systems. */
static const char *const top_links[] = { "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32" };

/* A path a process saw, and the file the checkpoint recorded for it (or NULL). */
struct need {
	const char *path;
	const struct c2c_file *f;
	bool exe;
};

/* A file to write into the sysroot. */
struct put {
	char *canon;		   /* its own path in the image */
	struct c2c_oci_found found;
	const struct c2c_file *f;  /* what the checkpoint recorded, or NULL */
	bool written;
};

struct link {
	char *path, *target;
};

struct build {
	struct c2c_ctx *ctx;
	struct c2c_oci *oci;
	int tmpfd;
	struct need *needs;
	size_t nneeds;
	struct put *puts;
	size_t nputs;
	struct link *links;
	size_t nlinks;
};

/* rm -rf below dirfd/name, never following a symlink. */
static void remove_tree(int atfd, const char *name, unsigned depth)
{
	int fd;
	DIR *d;
	struct dirent *de;

	if (unlinkat(atfd, name, 0) == 0 || errno == ENOENT || depth > 2048)
		return;
	fd = openat(atfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			remove_tree(dirfd(d), de->d_name, depth + 1);
	closedir(d);
	(void)unlinkat(atfd, name, AT_REMOVEDIR);
}

/* mkdir -p of path's parent below dirfd; returns an fd of that parent, or -1. */
static int make_parent(int dirfd, const char *path, const char **base)
{
	char comp[256];
	int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	const char *p = path;

	while (fd >= 0) {
		const char *s;
		size_t k;
		int next;

		while (*p == '/')
			p++;
		s = strchr(p, '/');
		if (!s) {
			*base = p;
			return fd;
		}
		k = (size_t)(s - p);
		if (k >= sizeof(comp)) {
			close(fd);
			return -1;
		}
		memcpy(comp, p, k);
		comp[k] = '\0';
		if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
			close(fd);
			return -1;
		}
		next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
		p = s;
	}
	return -1;
}

static int on_link(void *data, const char *path, const char *target)
{
	struct build *b = data;
	struct link *v;

	for (size_t i = 0; i < b->nlinks; i++)
		if (!strcmp(b->links[i].path, path))
			return 0;
	v = reallocarray(b->links, b->nlinks + 1, sizeof(*v));
	if (!v)
		return c2c_fail(b->ctx, NULL, C2C_E_NOMEM, "out of memory");
	b->links = v;
	v[b->nlinks].path = c2c_strdup(path);
	v[b->nlinks].target = c2c_strdup(target);
	if (!v[b->nlinks].path || !v[b->nlinks].target) {
		free(v[b->nlinks].path);
		free(v[b->nlinks].target);
		return c2c_fail(b->ctx, NULL, C2C_E_NOMEM, "out of memory");
	}
	b->nlinks++;
	return 0;
}

static void free_links(struct build *b)
{
	for (size_t k = 0; k < b->nlinks; k++) {
		free(b->links[k].path);
		free(b->links[k].target);
	}
	free(b->links);
	b->links = NULL;
	b->nlinks = 0;
}

/* Resolve one needed path; queue its file. */
static int want_path(struct build *b, const char *path, const struct c2c_file *f, bool warn)
{
	struct c2c_oci_found *found = malloc(sizeof(*found));
	char canon[4096];
	struct put *v;
	int r;

	struct build probe = *b;

	if (!found)
		return c2c_fail(b->ctx, NULL, C2C_E_NOMEM, "out of memory");
	/* The links on the way count only when they lead to the file. */
	probe.links = NULL;
	probe.nlinks = 0;
	r = c2c_oci_resolve(b->ctx, b->oci, path, canon, found, on_link, &probe);
	for (size_t k = 0; r == 0 && k < probe.nlinks; k++)
		r = on_link(b, probe.links[k].path, probe.links[k].target);
	free_links(&probe);
	if (r == 1 && warn)
		c2c_warn(b->ctx, NULL, "'%s' is not in the image '%s' (or was deleted there): gdb "
				       "will not find it",
			 path, b->oci->path);
	if (r != 0) {
		r = r < 0 ? r : 0;
		goto out;
	}
	if (f && f->has_size && f->size != found->size) {
		c2c_warn(b->ctx, NULL,
			 "'%s' has %llu bytes in the image '%s', the checkpoint recorded %llu: "
			 "another version, not put in the sysroot",
			 path, (unsigned long long)found->size, b->oci->path,
			 (unsigned long long)f->size);
		goto out;
	}
	for (size_t i = 0; i < b->nputs; i++)
		if (!strcmp(b->puts[i].canon, canon))
			goto out;
	v = reallocarray(b->puts, b->nputs + 1, sizeof(*v));
	if (!v) {
		r = c2c_fail(b->ctx, NULL, C2C_E_NOMEM, "out of memory");
		goto out;
	}
	b->puts = v;
	v[b->nputs] = (struct put){ .canon = c2c_strdup(canon), .f = f };
	memcpy(&v[b->nputs].found, found, sizeof(*found));
	if (!v[b->nputs].canon) {
		r = c2c_fail(b->ctx, NULL, C2C_E_NOMEM, "out of memory");
		goto out;
	}
	b->nputs++;
out:
	free(found);
	return r;
}

/* Write every queued file not written yet, one pass per layer holding some. */
static int write_puts(struct build *b)
{
	struct c2c_oci_want *want = calloc(b->nputs ? b->nputs : 1, sizeof(*want));
	size_t *idx = calloc(b->nputs ? b->nputs : 1, sizeof(*idx));
	int r = 0;

	if (!want || !idx) {
		r = c2c_fail(b->ctx, NULL, C2C_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t l = 0; r == 0 && l < b->oci->nlayers; l++) {
		size_t n = 0;

		for (size_t i = 0; i < b->nputs; i++) {
			struct put *p = &b->puts[i];
			const char *base;
			int dfd;

			if (p->written || p->found.layer != l)
				continue;
			dfd = make_parent(b->tmpfd, p->canon, &base);
			want[n] = (struct c2c_oci_want){ .e = p->found.e, .path = p->canon, .fd = -1 };
			if (dfd >= 0) {
				want[n].fd = openat(dfd, base,
						    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
						    p->found.mode & 0111 ? 0755 : 0644);
				close(dfd);
			}
			if (want[n].fd < 0) {
				r = c2c_fail(b->ctx, NULL, C2C_E_IO, "cannot create '%s' in the sysroot",
					     p->canon);
				break;
			}
			idx[n++] = i;
		}
		if (r == 0 && n)
			r = c2c_oci_extract(b->ctx, b->oci, l, want, n);
		for (size_t k = 0; k < n; k++) {
			b->puts[idx[k]].written = r == 0;
			close(want[k].fd);
		}
	}
out:
	free(want);
	free(idx);
	return r;
}

/* PT_INTERP of an extracted executable (64-bit little-endian ELF), or "". */
static void interp_of(int dirfd, const char *canon, char *out, size_t max)
{
	int fd = openat(dirfd, canon + 1, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	Elf64_Ehdr eh;

	out[0] = '\0';
	if (fd < 0)
		return;
	if (pread(fd, &eh, sizeof(eh), 0) == sizeof(eh) && !memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
	    eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_ident[EI_DATA] == ELFDATA2LSB &&
	    eh.e_phentsize == sizeof(Elf64_Phdr) && eh.e_phnum < 4096) {
		for (unsigned i = 0; i < eh.e_phnum; i++) {
			Elf64_Phdr ph;

			if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) !=
			    sizeof(ph))
				break;
			if (ph.p_type != PT_INTERP || ph.p_filesz < 2 || ph.p_filesz > max)
				continue;
			if (pread(fd, out, ph.p_filesz, (off_t)ph.p_offset) != (ssize_t)ph.p_filesz ||
			    out[ph.p_filesz - 1] != '\0' || out[0] != '/')
				out[0] = '\0';
			break;
		}
	}
	close(fd);
}

/* Whether a relative target climbs above the image's root from the link's directory. */
static bool climbs_out(const char *link, const char *target)
{
	long depth = -1; /* components of the link's directory */

	for (const char *p = link; *p; p++)
		depth += *p == '/';
	for (const char *p = target; *p;) {
		size_t k = strcspn(p, "/");

		if (k == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				return true;
		} else if (k && !(k == 1 && p[0] == '.')) {
			depth++;
		}
		p += k;
		while (*p == '/')
			p++;
	}
	return false;
}

/*
 * The target as an absolute path of the image, ".." stopping at its root
 * (what c2c_oci_resolve did), into out. False if too long.
 */
static bool clamp_target(const char *link, const char *target, char *out, size_t max)
{
	size_t n = (size_t)(strrchr(link, '/') - link);

	if (n + 1 >= max)
		return false;
	memcpy(out, link, n);
	out[n] = '\0';
	for (const char *p = target; *p;) {
		size_t k = strcspn(p, "/");

		if (k == 2 && p[0] == '.' && p[1] == '.') {
			while (n && out[--n] != '/')
				;
			out[n] = '\0';
		} else if (k && !(k == 1 && p[0] == '.')) {
			if (n + 1 + k >= max)
				return false;
			out[n++] = '/';
			memcpy(out + n, p, k);
			n += k;
			out[n] = '\0';
		}
		p += k;
		while (*p == '/')
			p++;
	}
	if (!n) {
		out[0] = '/';
		out[1] = '\0';
	}
	return true;
}

/*
 * Symlinks of the image, recreated; an absolute target, or one climbing above
 * the root, becomes relative to DIR, so that no link leads out of it.
 */
static int write_links(struct build *b)
{
	for (size_t i = 0; i < b->nlinks; i++) {
		const struct link *l = &b->links[i];
		char target[8192];
		size_t n = 0;
		const char *base;
		int dfd;

		if (l->target[0] == '/' || climbs_out(l->path, l->target)) {
			const char *abs = l->target; /* the target as an absolute path */

			if (abs[0] != '/') {
				if (!clamp_target(l->path, l->target, target + 4096, 4096))
					continue;
				abs = target + 4096;
			}
			for (const char *p = l->path + 1; *p; p++)
				if (*p == '/' && n + 3 < 4096) {
					memcpy(target + n, "../", 3);
					n += 3;
				}
			memmove(target + n, abs + 1, strlen(abs + 1) + 1);
		} else {
			snprintf(target, sizeof(target), "%s", l->target);
		}
		dfd = make_parent(b->tmpfd, l->path, &base);
		if (dfd < 0 || (symlinkat(target, dfd, base) < 0 && errno != EEXIST)) {
			if (dfd >= 0)
				close(dfd);
			return c2c_fail(b->ctx, NULL, C2C_E_IO, "cannot create the link '%s' in the sysroot",
					l->path);
		}
		close(dfd);
	}
	return 0;
}

/* Each written ELF file against the build-id the checkpoint recorded. */
static void check_build_ids(struct build *b)
{
	for (size_t i = 0; i < b->nputs; i++) {
		const struct put *p = &b->puts[i];
		struct c2c_blob blob = C2C_BLOB_INIT;
		uint8_t id[64];
		size_t len;
		struct stat st;

		if (!p->written || !p->f || !p->f->build_id_len)
			continue;
		blob.fd = openat(b->tmpfd, p->canon + 1, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (blob.fd < 0 || fstat(blob.fd, &st) < 0) {
			c2c_blob_release(&blob);
			continue;
		}
		blob.size = (uint64_t)st.st_size;
		c2c_try_begin(b->ctx);
		len = c2c_blob_build_id(b->ctx, &blob, id, sizeof(id));
		c2c_try_end(b->ctx);
		if (!len || !c2c_file_build_id_matches(p->f, id, len))
			c2c_warn(b->ctx, NULL,
				 "'%s' of the image '%s' has %s build-id than the checkpoint "
				 "recorded: another build, gdb's symbols for it would be wrong",
				 p->canon, b->oci->path, len ? "another" : "no");
		c2c_blob_release(&blob);
	}
}

/* A digest named by config.dump: "sha256:HEX", "NAME@sha256:HEX" or bare HEX. */
static bool ref_digest(const char *v, char *out, size_t max)
{
	const char *at = v ? strstr(v, "@sha256:") : NULL;
	size_t n;

	if (!v)
		return false;
	if (at)
		v = at + 1;
	if (!strncmp(v, "sha256:", 7))
		v += 7;
	n = strspn(v, "0123456789abcdef");
	if (n != 64 || v[n])
		return false;
	snprintf(out, max, "sha256:%s", v);
	return true;
}

/*
 * config.dump names the image the container ran (container-archives.md:
 * rootfsImageRef/rootfsImageID, the image ID; rootfsImage/rootfsImageName,
 * NAME@sha256:manifest). Warn when it names digests and none is this image's.
 */
static void check_image_ref(struct c2c_ctx *ctx, struct c2c_source *src, const struct c2c_oci *oci)
{
	static const char *const keys[] = { "rootfsImageRef", "rootfsImageID", "rootfsImage",
					    "rootfsImageName" };
	const char *mine[] = { oci->manifest_digest, oci->index_digest, oci->config_digest };
	struct c2c_blob b = C2C_BLOB_INIT;
	json_t *j = NULL;
	char named[600] = "", d[80];
	bool any = false, match = false, known = false;
	int r;

	for (size_t k = 0; k < C2C_ARRAY_SIZE(mine); k++)
		known |= mine[k] != NULL;
	c2c_try_begin(ctx); /* optional: an unreadable config.dump only means no check */
	r = c2c_source_load_meta(ctx, src, "config.dump", &b);
	c2c_try_end(ctx);
	if (r == 0 && known)
		j = json_loadb((const char *)b.data, (size_t)b.size, 0, NULL);
	for (size_t i = 0; j && i < C2C_ARRAY_SIZE(keys); i++) {
		const char *v = json_string_value(json_object_get(j, keys[i]));

		if (!ref_digest(v, d, sizeof(d)))
			continue;
		any = true;
		if (strlen(named) + strlen(keys[i]) + strlen(d) + 8 < sizeof(named)) {
			size_t n = strlen(named);
			int k = snprintf(named + n, sizeof(named) - n, "%s%s %s", n ? ", " : "",
					 keys[i], d);

			if (k < 0)
				named[n] = '\0';
		}
		for (size_t k = 0; k < C2C_ARRAY_SIZE(mine); k++)
			match |= mine[k] && !strcmp(mine[k], d);
	}
	if (any && !match)
		c2c_warn(ctx, NULL,
			 "the image '%s' (%s%s%s%s) is not the one config.dump names (%s): its "
			 "files may not be the container's",
			 oci->path, oci->manifest_digest ? "manifest " : "",
			 oci->manifest_digest ? oci->manifest_digest : "",
			 oci->manifest_digest && oci->config_digest ? ", config " :
			 oci->config_digest ? "config " : "",
			 oci->config_digest ? oci->config_digest : "", named);
	else if (any)
		c2c_log(ctx, C2C_LOG_INFO, "the image '%s' is the one config.dump names", oci->path);
	json_decref(j);
	c2c_blob_release(&b);
}

/* The checkpoint's own changes on top: rootfs-diff.tar and deleted.files. */
static int push_diff(struct c2c_ctx *ctx, struct c2c_oci *oci, struct c2c_source *src)
{
	struct c2c_blob tar = C2C_BLOB_INIT, del = C2C_BLOB_INIT;
	const char **paths = NULL;
	size_t n = 0, i;
	json_t *j = NULL, *v;
	int r, rt;

	rt = c2c_source_open_meta_data(ctx, src, "rootfs-diff.tar", &tar);
	if (rt < 0)
		return rt;
	c2c_try_begin(ctx);
	r = c2c_source_load_meta(ctx, src, "deleted.files", &del);
	c2c_try_end(ctx);
	if (r == 0)
		j = json_loadb((const char *)del.data, (size_t)del.size, 0, NULL);
	if (json_is_array(j) && !(paths = calloc(json_array_size(j) + 1, sizeof(*paths)))) {
		r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(j, i, v)
		if (json_is_string(v))
			paths[n++] = json_string_value(v);
	r = 0;
	if (rt == 0 || n)
		r = c2c_oci_push_blob(ctx, oci, rt == 0 ? &tar : NULL, paths, n);
out:
	c2c_blob_release(&tar);
	c2c_blob_release(&del);
	free(paths);
	json_decref(j);
	return r;
}

/* Which files the selected processes need: every mapped regular file and the executable. */
static int collect_needs(struct c2c_ctx *ctx, const struct c2c_checkpoint *ck, struct build *b)
{
	size_t cap = 0;

	for (size_t i = 0; i < ck->nprocs; i++)
		if (ck->selected[i])
			cap += ck->procs[i].nvmas + 1;
	b->needs = calloc(cap ? cap : 1, sizeof(*b->needs));
	if (!b->needs)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	for (size_t i = 0; i < ck->nprocs; i++) {
		const struct c2c_process *p = &ck->procs[i];

		if (!ck->selected[i])
			continue;
		for (size_t k = 0; k <= p->nvmas; k++) {
			const struct c2c_file *f = k < p->nvmas ? p->vmas[k].file : NULL;
			bool seen = false;

			if (k == p->nvmas) /* the executable: the file whose NT_FILE name it has */
				for (size_t m = 0; !f && p->exe_path && m < ck->nfiles; m++)
					if (ck->files[m].path == p->exe_path)
						f = &ck->files[m];
			if (!f || f->type != C2C_FILE_TYPE_REG || !f->name || f->deleted)
				continue;
			for (size_t m = 0; m < b->nneeds && !seen; m++)
				if (b->needs[m].f == f) {
					b->needs[m].exe |= k == p->nvmas;
					seen = true;
				}
			if (!seen)
				b->needs[b->nneeds++] = (struct need){ f->name, f, k == p->nvmas };
		}
	}
	return 0;
}

/*
 * A symlink beside a file of the sysroot that leads to it: the name the
 * dynamic loader used (libz.so.1 -> libz.so.1.2.13, from the SONAME), which
 * is the name gdb looks for.
 */
static int alias_link(void *data, const char *path)
{
	struct build *b = data;
	struct c2c_oci_found *f = malloc(sizeof(*f));
	struct build probe = *b;
	char canon[4096];
	int r = 0;

	if (!f)
		return c2c_fail(b->ctx, NULL, C2C_E_NOMEM, "out of memory");
	probe.links = NULL;
	probe.nlinks = 0;
	if (c2c_oci_resolve(b->ctx, b->oci, path, canon, f, on_link, &probe) == 0)
		for (size_t i = 0; i < b->nputs; i++)
			if (b->puts[i].written && !strcmp(b->puts[i].canon, canon)) {
				/* Keep the links of this chain only. */
				for (size_t k = 0; r == 0 && k < probe.nlinks; k++)
					r = on_link(b, probe.links[k].path, probe.links[k].target);
				break;
			}
	free_links(&probe);
	free(f);
	return r;
}

/* Each directory holding a file of the sysroot, once. */
static int add_aliases(struct build *b)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < b->nputs; i++) {
		char dir[4096];
		const char *s = strrchr(b->puts[i].canon, '/');
		bool seen = false;
		size_t n = (size_t)(s - b->puts[i].canon);

		if (!b->puts[i].written || n >= sizeof(dir))
			continue;
		for (size_t k = 0; k < i && !seen; k++)
			seen = b->puts[k].written && !strncmp(b->puts[k].canon, b->puts[i].canon, n + 1) &&
			       !strchr(b->puts[k].canon + n + 1, '/');
		if (seen)
			continue;
		memcpy(dir, b->puts[i].canon, n);
		dir[n] = '\0';
		r = c2c_oci_links_in(b->ctx, b->oci, dir, alias_link, b);
	}
	return r;
}

static int build_tree(struct c2c_ctx *ctx, const struct c2c_checkpoint *ck, struct build *b)
{
	struct c2c_oci_found *f = malloc(sizeof(*f));
	size_t nexe = 0;
	int r = 0;

	if (!f)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	r = collect_needs(ctx, ck, b);
	for (size_t i = 0; r == 0 && i < b->nneeds; i++)
		r = want_path(b, b->needs[i].path, b->needs[i].f, true);
	for (size_t i = 0; r == 0 && i < C2C_ARRAY_SIZE(top_links); i++)
		if (c2c_oci_lookup(ctx, b->oci, top_links[i], f) == C2C_OCI_LNK)
			r = on_link(b, top_links[i], f->link);
	if (r == 0)
		r = write_puts(b);
	/* The dynamic loader by the name the executable asks for (/lib64/ld-linux...). */
	for (size_t i = 0; r == 0 && i < b->nneeds; i++) {
		char interp[4096], canon[4096];

		if (!b->needs[i].exe || c2c_oci_resolve(ctx, b->oci, b->needs[i].path, canon, f,
							NULL, NULL) != 0)
			continue;
		interp_of(b->tmpfd, canon, interp, sizeof(interp));
		nexe++;
		if (interp[0])
			r = want_path(b, interp, NULL, false);
	}
	if (r == 0 && nexe)
		r = write_puts(b);
	if (r == 0)
		r = add_aliases(b);
	if (r == 0)
		r = write_links(b);
	if (r == 0)
		check_build_ids(b);
	free(f);
	return r;
}

int c2c_sysroot_build(struct c2c_ctx *ctx, struct c2c_checkpoint *ck, struct c2c_source *src,
		      const char *outdir, struct c2c_sysroot *sr)
{
	struct build b = { .ctx = ctx, .tmpfd = -1 };
	const char *image = ctx->opts.image ? ctx->opts.image : ctx->opts.root;
	char *final = NULL, *tmp = NULL;
	bool exists;
	size_t nwritten = 0;
	int r;

	if (!image)
		return c2c_fail(ctx, NULL, C2C_E_USAGE, "--sysroot-out needs --image or --root");
	final = ctx->opts.sysroot_out ? c2c_strdup(ctx->opts.sysroot_out)
				      : c2c_asprintf("%s/sysroot", outdir);
	tmp = final ? c2c_asprintf("%s.XXXXXX", final) : NULL;
	if (!final || !tmp) {
		r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		goto out;
	}
	exists = faccessat(AT_FDCWD, final, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	if (exists && !(ctx->opts.flags & C2C_FLAG_FORCE)) {
		r = c2c_fail(ctx, &C2C_LOC_FILE(final), C2C_E_EXISTS,
			     "sysroot exists; not overwritten (use --force)");
		goto out;
	}
	r = c2c_oci_open(ctx, image, &b.oci);
	if (r == 0)
		r = push_diff(ctx, b.oci, src);
	if (r < 0)
		goto out;
	check_image_ref(ctx, src, b.oci);
	if (!mkdtemp(tmp)) {
		r = c2c_fail(ctx, &C2C_LOC_FILE(tmp), C2C_E_IO, "cannot create the sysroot");
		tmp[0] = '\0';
		goto out;
	}
	b.tmpfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b.tmpfd < 0) {
		r = c2c_fail(ctx, &C2C_LOC_FILE(tmp), C2C_E_IO, "cannot open the sysroot");
		goto out;
	}
	(void)fchmod(b.tmpfd, 0755);
	r = build_tree(ctx, ck, &b);
	if (r < 0)
		goto out;
	/* Into place: over an old one (--force) by exchange, then the old one goes. */
	if (exists ? renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_EXCHANGE) < 0
		   : rename(tmp, final) < 0) {
		r = c2c_fail(ctx, &C2C_LOC_FILE(final), C2C_E_IO, "cannot rename the sysroot into place");
		goto out;
	}
	if (!exists)
		tmp[0] = '\0';
	sr->path = final;
	final = NULL;
	for (size_t i = 0; i < b.nputs; i++)
		nwritten += b.puts[i].written;
	c2c_log(ctx, C2C_LOG_INFO, "wrote the sysroot '%s': %zu files from the %s '%s'", sr->path,
		nwritten, b.oci->kind, image);
	/* The conversion reads mapped files from it as from --root. */
	ck->rootfd = open(sr->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ck->rootfd < 0) {
		r = c2c_fail(ctx, &C2C_LOC_FILE(sr->path), C2C_E_IO, "cannot open the sysroot");
		goto out;
	}
	ck->root = sr->path;
out:
	if (b.tmpfd >= 0)
		close(b.tmpfd);
	if (tmp && tmp[0])
		remove_tree(AT_FDCWD, tmp, 0);
	for (size_t i = 0; i < b.nputs; i++)
		free(b.puts[i].canon);
	free_links(&b);
	free(b.puts);
	free(b.needs);
	c2c_oci_free(b.oci);
	free(tmp);
	free(final);
	return r;
}

void c2c_sysroot_end(struct c2c_sysroot *sr, int r)
{
	if (r < 0 && sr->path)
		remove_tree(AT_FDCWD, sr->path, 0);
	free(sr->path);
	sr->path = NULL;
}
