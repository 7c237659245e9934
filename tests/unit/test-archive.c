/*
 * Unit tests of src/lib/source/arcsource.c, c2c_archive_read(): tar archives
 * written by libarchive into memory (plain and gzip) and read back through
 * archive_read_open_memory(), as c2c_convert_archive_memory() does; member
 * names, links, hostile entries, spooling of page data and the placer
 * callbacks.
 */
#include <archive.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arcsource.h"
#include "imgset.h"
#include "util.h"

struct fx {
	struct c2c_ctx *ctx;
	char *dir; /* spool directory */
	int dirfd;
	struct c2c_memtab *tab;
	struct ttar t;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || !(f->ctx = c2c_ctx_new()))
		return -1;
	f->dir = tmpdir_new();
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*state = f;
	return f->dirfd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	c2c_memtab_put(f->tab);
	tbuf_free(&f->t.out);
	close(f->dirfd);
	tmpdir_remove(f->dir);
	c2c_ctx_free(f->ctx);
	free(f);
	return 0;
}

/* c2c_archive_read over the first n bytes of the tar built. */
static int read_mem(struct fx *f, size_t n, const struct c2c_placer *placer)
{
	return tar_read(f->ctx, &f->t.out, n, f->dirfd, f->dir, placer, &f->tab);
}

static int read_tar(struct fx *f, const struct c2c_placer *placer)
{
	return read_mem(f, f->t.out.n, placer);
}

static const struct c2c_member *member(const struct fx *f, const char *name)
{
	const struct c2c_member *m = c2c_memtab_find(f->tab, name);

	if (!m)
		fail_msg("no member '%s'", name);
	return m;
}

/* The bytes of member name, wherever they are, equal want. */
static void expect_bytes(struct fx *f, const char *name, const void *want, size_t n)
{
	struct c2c_source *src;
	struct c2c_blob b = C2C_BLOB_INIT;
	uint8_t *buf = malloc(n + 1);

	assert_non_null(buf);
	c2c_assert_ok(f->ctx, c2c_source_open_tab(f->ctx, f->tab, "", &src));
	c2c_assert_ok(f->ctx, c2c_source_open_data(f->ctx, src, name, &b));
	assert_int_equal(b.size, n);
	c2c_assert_ok(f->ctx, c2c_blob_pread(f->ctx, &b, buf, n, 0));
	assert_memory_equal(buf, want, n);
	c2c_blob_release(&b);
	c2c_source_free(src);
	free(buf);
}

static const char inv[] = "inventory bytes";
static const char mm[] = "mm image bytes";

/* A CRI-O style archive: metadata at the top, images under checkpoint/. */
static void crio_archive(struct fx *f, bool gzip, const uint8_t *pages, size_t npages)
{
	tar_begin(&f->t, gzip);
	tar_dir(&f->t, "./");
	tar_file(&f->t, "./config.dump", "{}", 2);
	tar_dir(&f->t, "./checkpoint/");
	tar_file(&f->t, "./checkpoint/inventory.img", inv, sizeof(inv));
	tar_file(&f->t, "checkpoint//mm-1.img", mm, sizeof(mm));
	tar_file(&f->t, "./checkpoint/pages-1.img", pages, npages * PG);
	tar_symlink(&f->t, "./checkpoint/parent", "../pre-checkpoint");
	tar_file(&f->t, "./checkpoint/dump.log", "log", 3); /* not used: skipped */
	tar_file(&f->t, "./rootfs/etc/passwd", "root", 4);
	tar_end(&f->t);
}

static void check_crio(struct fx *f, const uint8_t *pages, size_t npages)
{
	static const char *const names[] = { "checkpoint/inventory.img", "checkpoint/mm-1.img",
					     "checkpoint/pages-1.img", "checkpoint/parent",
					     "config.dump" };
	const struct c2c_member *m;
	struct stat st;

	assert_int_equal(f->tab->n, 5);
	assert_true(f->tab->sorted);
	assert_string_equal(f->tab->display, "t.tar");
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(f->tab->v[i].name, names[i]);
	m = member(f, "checkpoint/inventory.img");
	assert_int_equal(m->size, sizeof(inv));
	assert_memory_equal(m->data, inv, sizeof(inv));
	assert_int_equal(m->fd, -1);
	assert_memory_equal(member(f, "checkpoint/mm-1.img")->data, mm, sizeof(mm));
	assert_memory_equal(member(f, "config.dump")->data, "{}", 2);
	assert_int_equal(f->tab->mem_bytes, sizeof(inv) + sizeof(mm) + 2);
	m = member(f, "checkpoint/parent");
	assert_string_equal(m->link, "../pre-checkpoint");
	assert_null(m->data);

	/* Page data: spooled to a file without a name, page aligned. */
	m = member(f, "checkpoint/pages-1.img");
	assert_null(m->data);
	assert_true(m->spooled);
	assert_null(m->map);
	assert_true(m->fd >= 0);
	assert_int_equal(m->size, npages * PG);
	assert_int_equal(m->off % PG, 0);
	assert_int_equal(fstat(m->fd, &st), 0);
	assert_int_equal(st.st_nlink, 0);
	assert_int_equal(dir_count(f->dir), 0);
	expect_bytes(f, "checkpoint/pages-1.img", pages, npages * PG);
	assert_int_equal(c2c_warning_count(f->ctx), 0);
}

static void plain_members(void **state)
{
	struct fx *f = *state;
	uint8_t *pages = pages_new(3, 0x41);

	crio_archive(f, false, pages, 3);
	c2c_assert_ok(f->ctx, read_tar(f, NULL));
	check_crio(f, pages, 3);
	free(pages);
}

static void gzip_members(void **state)
{
	struct fx *f = *state;
	uint8_t *pages = pages_new(3, 0x51);

	crio_archive(f, true, pages, 3);
	assert_int_equal(f->t.out.p[0], 0x1f); /* really gzip */
	assert_int_equal(f->t.out.p[1], 0x8b);
	c2c_assert_ok(f->ctx, read_tar(f, NULL));
	check_crio(f, pages, 3);
	free(pages);
}

static void in_place_regular_file(void **state)
{
	struct fx *f = *state;
	uint8_t *pages = pages_new(2, 0x61);
	const struct c2c_member *m;
	struct archive *a;
	int fd;

	crio_archive(f, false, pages, 2);
	write_file(f->dir, "t.tar", f->t.out.p, f->t.out.n);
	fd = openat(f->dirfd, "t.tar", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_fd(a, fd, 1 << 20), ARCHIVE_OK);
	c2c_assert_ok(f->ctx, c2c_archive_read(f->ctx, a, "t.tar", fd, f->dirfd, f->dir, NULL,
					       &f->tab));
	archive_read_free(a);
	close(fd);

	/* An uncompressed archive in a file: the pages are used where they are. */
	m = member(f, "checkpoint/pages-1.img");
	assert_false(m->spooled);
	assert_true(m->fd >= 0);
	assert_int_equal(m->off, tar_header_of(&f->t.out, "./checkpoint/pages-1.img") + 512);
	assert_int_equal(m->size, 2 * PG);
	expect_bytes(f, "checkpoint/pages-1.img", pages, 2 * PG);
	assert_int_equal(dir_count(f->dir), 1); /* t.tar only: nothing spooled */
	free(pages);
}

static void big_member_through_writer_thread(void **state)
{
	struct fx *f = *state;
	const unsigned n = (9U << 20) / PG; /* over the 8 MiB the writer thread starts at */
	uint8_t *pages = pages_new(n, 0);
	struct stat st;

	/* Some all-zero pages: they are skipped, and still read back as zeros. */
	memset(pages + 5 * PG, 0, 3 * PG);
	memset(pages + (n - 1) * PG, 0, PG);
	tar_begin(&f->t, true);
	tar_file(&f->t, "pages-7.img", pages, n * PG);
	tar_file(&f->t, "pages-8.img", "\1", 1); /* after a big one: spooled page aligned */
	tar_end(&f->t);
	c2c_assert_ok(f->ctx, read_tar(f, NULL));
	assert_int_equal(f->tab->n, 2);
	expect_bytes(f, "pages-7.img", pages, n * PG);
	expect_bytes(f, "pages-8.img", "\1", 1);
	assert_int_equal(member(f, "pages-8.img")->off, n * PG);
	assert_int_equal(fstat(member(f, "pages-7.img")->fd, &st), 0);
	assert_true((uint64_t)st.st_blocks * 512 < n * PG); /* the zero pages are holes */
	free(pages);
}

static void duplicate_member(void **state)
{
	struct fx *f = *state;

	tar_begin(&f->t, false);
	tar_file(&f->t, "checkpoint/core-1.img", "a", 1);
	tar_file(&f->t, "checkpoint/mm-1.img", "b", 1);
	tar_file(&f->t, "./checkpoint/core-1.img", "c", 1); /* the same after normalising */
	tar_end(&f->t);
	c2c_assert_fails(f->ctx, read_tar(f, NULL), C2C_E_INCONSISTENT);
	assert_null(f->tab);
	assert_string_equal(c2c_errmsg(f->ctx),
			    "'t.tar:checkpoint/core-1.img': member appears twice in the archive");
}

static void truncated_member(void **state)
{
	struct fx *f = *state;
	uint8_t *pages = pages_new(4, 0x21);
	const char *msg;
	size_t cut;

	/* Cut inside the data of a metadata member ... */
	crio_archive(f, false, pages, 4);
	cut = tar_header_of(&f->t.out, "./checkpoint/inventory.img") + 512 + 5;
	c2c_assert_fails(f->ctx, read_mem(f, cut, NULL), C2C_E_ARCHIVE);
	msg = c2c_errmsg(f->ctx);
	if (strncmp(msg, "'t.tar:checkpoint/inventory.img': cannot read member: ", 54))
		fail_msg("unexpected message: %s", msg);
	assert_non_null(strstr(msg, "runcated"));
	assert_null(f->tab);

	/* ... of a page member ... */
	c2c_op_begin(f->ctx);
	cut = tar_header_of(&f->t.out, "./checkpoint/pages-1.img") + 512 + PG + 100;
	c2c_assert_fails(f->ctx, read_mem(f, cut, NULL), C2C_E_ARCHIVE);
	msg = c2c_errmsg(f->ctx);
	if (strncmp(msg, "'t.tar:checkpoint/pages-1.img': cannot read member: ", 52))
		fail_msg("unexpected message: %s", msg);
	assert_null(f->tab);

	/* ... and inside a header: no member to name yet. */
	c2c_op_begin(f->ctx);
	cut = tar_header_of(&f->t.out, "./checkpoint/parent") + 200;
	c2c_assert_fails(f->ctx, read_mem(f, cut, NULL), C2C_E_ARCHIVE);
	msg = c2c_errmsg(f->ctx);
	if (strncmp(msg, "'t.tar': not a readable archive: ", 33))
		fail_msg("unexpected message: %s", msg);
	assert_null(f->tab);
	assert_int_equal(dir_count(f->dir), 0);
	free(pages);
}

static void hostile_names(void **state)
{
	static const char *const want[] = {
		"'t.tar:../x.img': member name leaves the archive: ignored",
		"'t.tar:/etc/abs.img': member name leaves the archive: ignored",
		"'t.tar:checkpoint/../../up.img': member name leaves the archive: ignored",
		"'t.tar:checkpoint/link.img': symbolic link ignored",
		"'t.tar:checkpoint/hard.img': hard link ignored: only regular files are read",
	};
	struct fx *f = *state;

	tar_begin(&f->t, false);
	tar_file(&f->t, "../x.img", "x", 1);
	tar_file(&f->t, "/etc/abs.img", "x", 1);
	tar_file(&f->t, "checkpoint/../../up.img", "x", 1);
	tar_file(&f->t, "checkpoint/./ok.img", "ok", 2);
	tar_symlink(&f->t, "checkpoint/link.img", "/etc/shadow");
	tar_hardlink(&f->t, "checkpoint/hard.img", "checkpoint/./ok.img");
	tar_end(&f->t);
	c2c_assert_ok(f->ctx, read_tar(f, NULL));
	assert_int_equal(f->tab->n, 1);
	assert_string_equal(f->tab->v[0].name, "checkpoint/ok.img");
	assert_int_equal(c2c_warning_count(f->ctx), 5);
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(f->ctx->warnings.v[i], want[i]);
}

static void huge_size_header(void **state)
{
	struct fx *f = *state;

	/*
	 * A metadata member claiming 8 GiB: too big to be held in memory, it is
	 * streamed to the spool (nothing that size is allocated), and the
	 * archive ends long before: truncated, naming the member.
	 */
	tar_begin(&f->t, false);
	tar_file(&f->t, "checkpoint/inventory.img", inv, sizeof(inv));
	tar_file(&f->t, "checkpoint/core-1.img", "core", 4);
	tar_end(&f->t);
	tar_patch_size(&f->t.out, "checkpoint/core-1.img", (8ULL << 30) - 1);
	c2c_assert_fails(f->ctx, read_tar(f, NULL), C2C_E_ARCHIVE);
	if (strncmp(c2c_errmsg(f->ctx), "'t.tar:checkpoint/core-1.img': cannot read member: ",
		    51) || !strstr(c2c_errmsg(f->ctx), "runcated"))
		fail_msg("unexpected message: %s", c2c_errmsg(f->ctx));
	assert_null(f->tab);
	assert_int_equal(dir_count(f->dir), 0);
	tbuf_free(&f->t.out);

	/* A page member claiming more than the archive holds: truncated, not a hang. */
	c2c_op_begin(f->ctx);
	tar_begin(&f->t, false);
	tar_file(&f->t, "checkpoint/pages-1.img", "page", 4);
	tar_end(&f->t);
	tar_patch_size(&f->t.out, "checkpoint/pages-1.img", (8ULL << 30) - 1);
	c2c_assert_fails(f->ctx, read_tar(f, NULL), C2C_E_ARCHIVE);
	if (strncmp(c2c_errmsg(f->ctx), "'t.tar:checkpoint/pages-1.img': cannot read member: ",
		    52))
		fail_msg("unexpected message: %s", c2c_errmsg(f->ctx));
	assert_null(f->tab);
}

/* A placer that records its calls; it places pages-2.img, page 0 in a core file. */
struct rec {
	char log[16][64];
	size_t n;
	int fail_at; /* added() fails on this call (1-based), or 0 */
	int dirfd;
};

static int rec_added(void *data, struct c2c_memtab *tab, size_t i)
{
	struct rec *r = data;

	assert_true(r->n < 16);
	assert_int_equal(i, tab->n - 1); /* the member just added */
	snprintf(r->log[r->n++], 64, "added %s", tab->v[i].name);
	return (int)r->n == r->fail_at ? C2C_E_USAGE : 0;
}

static int rec_place(void *data, const struct c2c_memtab *tab, const char *name,
		     struct c2c_placemap **ret)
{
	struct rec *r = data;
	struct c2c_placemap *map;

	(void)tab;
	assert_true(r->n < 16);
	snprintf(r->log[r->n++], 64, "place %s", name);
	*ret = NULL;
	if (strcmp(name, "pages-2.img"))
		return 0;
	map = calloc(1, sizeof(*map));
	assert_non_null(map);
	map->runs = calloc(2, sizeof(*map->runs));
	assert_non_null(map->runs);
	map->n = 2;
	map->runs[0] = (struct c2c_place_run){ 0, PG, 3 * PG, true };
	map->runs[1] = (struct c2c_place_run){ PG, UINT64_MAX - PG, 0, false };
	map->core_fd = openat(r->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	assert_true(map->core_fd >= 0);
	map->spool_fd = -1;
	map->pid = 2;
	*ret = map;
	return 0;
}

static void placer_called_in_order(void **state)
{
	static const char *const want[] = {
		"added inventory.img", "place pages-1.img", "added pages-1.img",
		"added mm-2.img",      "place pages-2.img", "added pages-2.img",
		/* the parent link is kept, but no placer needs to hear of it */
	};
	struct fx *f = *state;
	struct rec r = { .dirfd = f->dirfd };
	struct c2c_placer placer = { .added = rec_added, .place = rec_place, .data = &r };
	uint8_t *p1 = pages_new(2, 0x10), *p2 = pages_new(3, 0x20), buf[PG];
	const struct c2c_member *m;

	tar_begin(&f->t, true);
	tar_file(&f->t, "inventory.img", inv, sizeof(inv));
	tar_file(&f->t, "pages-1.img", p1, 2 * PG);
	tar_file(&f->t, "mm-2.img", mm, sizeof(mm));
	tar_file(&f->t, "pages-2.img", p2, 3 * PG);
	tar_symlink(&f->t, "parent", "../pre");
	tar_file(&f->t, "notes.txt", "x", 1); /* skipped: no callback */
	tar_end(&f->t);
	c2c_assert_ok(f->ctx, read_tar(f, &placer));
	assert_int_equal(r.n, sizeof(want) / sizeof(want[0]));
	assert_string_equal(member(f, "parent")->link, "../pre");
	for (size_t i = 0; i < r.n; i++)
		assert_string_equal(r.log[i], want[i]);

	/* pages-1.img was spooled whole. */
	m = member(f, "pages-1.img");
	assert_true(m->spooled);
	assert_null(m->map);
	expect_bytes(f, "pages-1.img", p1, 2 * PG);

	/* pages-2.img: page 0 in the core at 3 pages, the rest in the spool. */
	m = member(f, "pages-2.img");
	assert_false(m->spooled);
	assert_non_null(m->map);
	assert_int_equal(m->size, 3 * PG);
	assert_int_equal(m->map->core_bytes, PG);
	assert_true(m->map->spool_fd >= 0);
	assert_int_equal(pread(m->map->core_fd, buf, PG, 3 * PG), PG);
	assert_memory_equal(buf, p2, PG);
	assert_int_equal(m->map->runs[1].file_off % PG, 0);
	assert_int_equal(pread(m->map->spool_fd, buf, PG, (off_t)m->map->runs[1].file_off), PG);
	assert_memory_equal(buf, p2 + PG, PG);
	/* Read as one member, wherever its runs are. */
	expect_bytes(f, "pages-2.img", p2, 3 * PG);
	assert_int_equal(dir_count(f->dir), 0);
	free(p1);
	free(p2);
}

static void placer_error_stops(void **state)
{
	struct fx *f = *state;
	struct rec r = { .dirfd = f->dirfd, .fail_at = 2 };
	struct c2c_placer placer = { .added = rec_added, .place = rec_place, .data = &r };

	tar_begin(&f->t, false);
	tar_file(&f->t, "inventory.img", inv, sizeof(inv));
	tar_file(&f->t, "mm-1.img", mm, sizeof(mm));
	tar_file(&f->t, "core-1.img", "c", 1);
	tar_end(&f->t);
	assert_int_equal(read_tar(f, &placer), C2C_E_USAGE);
	assert_null(f->tab);
	assert_int_equal(r.n, 2); /* nothing after the failing call */
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(plain_members, setup, teardown),
	cmocka_unit_test_setup_teardown(gzip_members, setup, teardown),
	cmocka_unit_test_setup_teardown(in_place_regular_file, setup, teardown),
	cmocka_unit_test_setup_teardown(big_member_through_writer_thread, setup, teardown),
	cmocka_unit_test_setup_teardown(duplicate_member, setup, teardown),
	cmocka_unit_test_setup_teardown(truncated_member, setup, teardown),
	cmocka_unit_test_setup_teardown(hostile_names, setup, teardown),
	cmocka_unit_test_setup_teardown(huge_size_header, setup, teardown),
	cmocka_unit_test_setup_teardown(placer_called_in_order, setup, teardown),
	cmocka_unit_test_setup_teardown(placer_error_stops, setup, teardown),
};

C2C_UNIT_MAIN(tests)
