/* Builders of in-memory image sets and archives; see imgset.h. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <stdlib.h>

#include "core.pb-c.h"
#include "arcsource.h"
#include "imgset.h"
#include "inventory.pb-c.h"
#include "pstree.pb-c.h"
#include "process.h"

void img_begin(struct tbuf *img, enum c2c_image_kind kind)
{
	const struct c2c_imgdesc *d = c2c_imgdesc_get(kind);

	if (d->prefix)
		tbuf_u32(img, d->prefix);
	tbuf_u32(img, d->magic);
}

size_t img_msg(struct tbuf *img, const ProtobufCMessage *msg)
{
	size_t off = img->n, n = protobuf_c_message_get_packed_size(msg);
	uint8_t *p = malloc(n ? n : 1);

	assert_non_null(p);
	assert_int_equal(protobuf_c_message_pack(msg, p), n);
	tbuf_u32(img, (uint32_t)n);
	tbuf_put(img, p, n);
	free(p);
	return off;
}

void pm_begin(struct tbuf *img, uint32_t pages_id)
{
	struct tbuf head = { 0 };

	img_begin(img, C2C_IMG_PAGEMAP);
	tbuf_pb_varint(&head, 1, pages_id);
	tbuf_record(img, &head);
	tbuf_free(&head);
}

size_t pm_raw(struct tbuf *img, struct tbuf *msg)
{
	size_t off = tbuf_record(img, msg);

	tbuf_free(msg);
	return off;
}

size_t pm_entry(struct tbuf *img, uint64_t vaddr, uint64_t nr, uint32_t flags)
{
	struct tbuf m = { 0 };

	tbuf_pb_varint(&m, 1, vaddr);
	tbuf_pb_varint(&m, 4, flags);
	tbuf_pb_varint(&m, 5, nr);
	return pm_raw(img, &m);
}

uint8_t *pages_new(unsigned npages, int tag)
{
	uint8_t *buf = malloc(npages * PG + 1);

	assert_non_null(buf);
	for (unsigned k = 0; k < npages; k++)
		memset(buf + k * PG, tag + (int)k, PG);
	return buf;
}

static void add(struct c2c_memtab *tab, struct c2c_member m, const char *name)
{
	m.name = strdup(name);
	assert_non_null(m.name);
	assert_int_equal(c2c_memtab_add(tab, m), 0);
}

void memtab_data(struct c2c_memtab *tab, const char *name, const void *data, size_t n)
{
	struct c2c_member m = { .fd = -1, .size = n };

	m.data = malloc(n ? n : 1);
	assert_non_null(m.data);
	if (n)
		memcpy(m.data, data, n);
	add(tab, m, name);
}

void memtab_link(struct c2c_memtab *tab, const char *name, const char *target)
{
	struct c2c_member m = { .fd = -1 };

	m.link = strdup(target);
	assert_non_null(m.link);
	add(tab, m, name);
}

void memtab_img(struct c2c_memtab *tab, const char *name, struct tbuf *img)
{
	memtab_data(tab, name, img->p, img->n);
	tbuf_free(img);
}

/* Add img as prefix + name. */
static void put(struct c2c_memtab *tab, const char *prefix, const char *name, struct tbuf *img)
{
	char full[256];

	snprintf(full, sizeof(full), "%s%s", prefix, name);
	memtab_img(tab, full, img);
}

void set_inventory(struct c2c_memtab *tab, const char *prefix)
{
	PbInventoryEntry inv = PB_INVENTORY_ENTRY__INIT;
	struct tbuf img = { 0 };

	inv.has_img_version = true;
	inv.img_version = 2;
	img_begin(&img, C2C_IMG_INVENTORY);
	img_msg(&img, &inv.base);
	put(tab, prefix, "inventory.img", &img);
}

void set_pstree(struct c2c_memtab *tab, const char *prefix, const struct ttask *t, size_t n)
{
	struct tbuf img = { 0 };

	img_begin(&img, C2C_IMG_PSTREE);
	for (size_t i = 0; i < n; i++) {
		PbPstreeEntry e = PB_PSTREE_ENTRY__INIT;

		e.has_pid = e.has_ppid = e.has_pgid = e.has_sid = true;
		e.pid = t[i].pid;
		e.ppid = t[i].ppid;
		e.pgid = e.sid = t[0].pid;
		e.n_threads = t[i].nthreads;
		e.threads = (uint32_t *)(uintptr_t)t[i].threads;
		img_msg(&img, &e.base);
	}
	put(tab, prefix, "pstree.img", &img);
}

void set_core(struct c2c_memtab *tab, const char *prefix, uint32_t tid, uint32_t mtype,
	      uint32_t task_state, const char *comm)
{
	PbCoreEntry ce = PB_CORE_ENTRY__INIT;
	PbThreadInfoX86 ti = PB_THREAD_INFO_X86__INIT;
	PbUserX86RegsEntry g = PB_USER_X86_REGS_ENTRY__INIT;
	PbTaskCoreEntry tc = PB_TASK_CORE_ENTRY__INIT;
	PbThreadCoreEntry thc = PB_THREAD_CORE_ENTRY__INIT;
	struct tbuf img = { 0 };
	char name[32];

	ce.has_mtype = true;
	ce.mtype = mtype;
	g.has_ip = g.has_sp = true;
	g.ip = 0x1000 + tid;
	g.sp = 0x7000 + tid;
	ti.gpregs = &g;
	if (task_state != C2C_TASK_DEAD)
		ce.thread_info = &ti;
	tc.has_task_state = true;
	tc.task_state = task_state;
	tc.comm = (char *)(uintptr_t)comm;
	ce.tc = &tc;
	thc.comm = (char *)(uintptr_t)comm;
	ce.thread_core = &thc;
	img_begin(&img, C2C_IMG_CORE);
	img_msg(&img, &ce.base);
	snprintf(name, sizeof(name), "core-%u.img", tid);
	put(tab, prefix, name, &img);
}

void set_mm(struct c2c_memtab *tab, const char *prefix, uint32_t pid, const struct tvma *v,
	    size_t nv, const uint64_t *auxv, size_t nauxv, uint32_t exe_file_id)
{
	PbMmEntry mm = PB_MM_ENTRY__INIT;
	PbVmaEntry *e = calloc(nv ? nv : 1, sizeof(*e));
	PbVmaEntry **pe = calloc(nv ? nv : 1, sizeof(*pe));
	struct tbuf img = { 0 };
	char name[32];

	assert_true(e && pe);
	for (size_t i = 0; i < nv; i++) {
		pb_vma_entry__init(&e[i]);
		e[i].has_start = e[i].has_end = e[i].has_prot = e[i].has_flags = true;
		e[i].has_status = e[i].has_shmid = e[i].has_pgoff = true;
		e[i].start = v[i].start;
		e[i].end = v[i].end;
		e[i].prot = v[i].prot;
		e[i].flags = v[i].flags;
		e[i].status = v[i].status;
		e[i].shmid = v[i].shmid;
		e[i].pgoff = v[i].pgoff;
		pe[i] = &e[i];
	}
	mm.n_vmas = nv;
	mm.vmas = pe;
	mm.n_mm_saved_auxv = nauxv;
	mm.mm_saved_auxv = (uint64_t *)(uintptr_t)auxv;
	mm.has_exe_file_id = exe_file_id != 0;
	mm.exe_file_id = exe_file_id;
	img_begin(&img, C2C_IMG_MM);
	img_msg(&img, &mm.base);
	free(pe);
	free(e);
	snprintf(name, sizeof(name), "mm-%u.img", pid);
	put(tab, prefix, name, &img);
}

void set_single(struct c2c_memtab *tab, const char *prefix, const struct tvma *v, size_t nv,
		const uint64_t *auxv, size_t nauxv, uint32_t exe_file_id)
{
	static const struct ttask t[] = { { 1, 0, { 1 }, 1 } };
	static const uint64_t pagesz[] = { 6, 4096, 0, 0 };

	set_inventory(tab, prefix);
	set_pstree(tab, prefix, t, 1);
	set_core(tab, prefix, 1, 1, C2C_TASK_ALIVE, "p");
	if (!auxv) {
		auxv = pagesz;
		nauxv = 4;
	}
	set_mm(tab, prefix, 1, v, nv, auxv, nauxv, exe_file_id);
}

static la_ssize_t tar_write_cb(struct archive *a, void *data, const void *buf, size_t n)
{
	(void)a;
	tbuf_put(data, buf, n);
	return (la_ssize_t)n;
}

void tar_begin(struct ttar *t, bool gzip)
{
	*t = (struct ttar){ archive_write_new(), { 0 } };
	assert_non_null(t->a);
	assert_int_equal(archive_write_set_format_ustar(t->a), ARCHIVE_OK);
	if (gzip)
		assert_int_equal(archive_write_add_filter_gzip(t->a), ARCHIVE_OK);
	/* No padding of the last block: a tar ends after its two zero blocks. */
	assert_int_equal(archive_write_set_bytes_in_last_block(t->a, 1), ARCHIVE_OK);
	if (archive_write_open2(t->a, &t->out, NULL, tar_write_cb, NULL, NULL) != ARCHIVE_OK)
		fail_msg("archive_write_open2: %s", archive_error_string(t->a));
}

static void tar_entry(struct ttar *t, const char *name, unsigned type, const char *link,
		      const char *hardlink, const void *data, size_t n)
{
	struct archive_entry *e = archive_entry_new();

	assert_non_null(e);
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
	if (link)
		archive_entry_set_symlink(e, link);
	if (hardlink)
		archive_entry_set_hardlink(e, hardlink);
	archive_entry_set_size(e, (la_int64_t)n);
	if (archive_write_header(t->a, e) != ARCHIVE_OK)
		fail_msg("archive_write_header %s: %s", name, archive_error_string(t->a));
	if (n && archive_write_data(t->a, data, n) != (la_ssize_t)n)
		fail_msg("archive_write_data %s: %s", name, archive_error_string(t->a));
	archive_entry_free(e);
}

void tar_file(struct ttar *t, const char *name, const void *data, size_t n)
{
	tar_entry(t, name, AE_IFREG, NULL, NULL, data, n);
}

void tar_symlink(struct ttar *t, const char *name, const char *target)
{
	tar_entry(t, name, AE_IFLNK, target, NULL, NULL, 0);
}

void tar_dir(struct ttar *t, const char *name)
{
	tar_entry(t, name, AE_IFDIR, NULL, NULL, NULL, 0);
}

void tar_hardlink(struct ttar *t, const char *name, const char *target)
{
	tar_entry(t, name, AE_IFREG, NULL, target, NULL, 0);
}

void tar_end(struct ttar *t)
{
	assert_int_equal(archive_write_close(t->a), ARCHIVE_OK);
	archive_write_free(t->a);
	t->a = NULL;
}

size_t tar_header_of(const struct tbuf *tar, const char *name)
{
	size_t n = strlen(name);

	for (size_t off = 0; off + 512 <= tar->n; off += 512)
		if (!memcmp(tar->p + off, name, n + 1) && !memcmp(tar->p + off + 257, "ustar", 5))
			return off;
	fail_msg("no ustar header of '%s'", name);
	return 0;
}

void tar_patch_size(struct tbuf *tar, const char *name, uint64_t size)
{
	uint8_t *h = tar->p + tar_header_of(tar, name);
	unsigned sum = 0;
	char f[16];

	snprintf(f, sizeof(f), "%011llo", (unsigned long long)size);
	assert_int_equal(strlen(f), 11);
	memcpy(h + 124, f, 12); /* 11 digits and a NUL */
	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf(f, sizeof(f), "%06o", sum);
	memcpy(h + 148, f, 7); /* 6 digits, NUL, and the space left in place */
}

int tar_read(struct c2c_ctx *ctx, const struct tbuf *tar, size_t n, int spooldirfd,
	     const char *spooldir, const struct c2c_placer *placer, struct c2c_memtab **ret)
{
	struct archive *a = archive_read_new();
	int r;

	assert_non_null(a);
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_memory(a, tar->p, n), ARCHIVE_OK);
	r = c2c_archive_read(ctx, a, "t.tar", -1, spooldirfd, spooldir, placer, ret);
	archive_read_free(a);
	return r;
}

size_t dir_count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}
