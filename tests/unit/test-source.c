/*
 * Unit tests of src/lib/source/source.c: image directories and their parent
 * chains, loading and opening images, reads by offset, member tables (the
 * in-memory form of an archive), metadata beside the images, and opening
 * files inside a --root directory without ever leaving it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "imgset.h"
#include "source.h"
#include "util.h"

struct fx {
	struct c2c_ctx *ctx;
	char *dir;
	struct c2c_source *src;
	struct c2c_memtab *tab;
	struct c2c_blob b;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || !(f->ctx = c2c_ctx_new()))
		return -1;
	f->dir = tmpdir_new();
	f->b = C2C_BLOB_INIT;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	c2c_blob_release(&f->b);
	c2c_source_free(f->src);
	c2c_memtab_put(f->tab);
	tmpdir_remove(f->dir);
	c2c_ctx_free(f->ctx);
	free(f);
	return 0;
}

static char *path_of(const struct fx *f, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", f->dir, name) < 0)
		abort();
	return p;
}

/* errmsg == "'<dir>/<name>': <rest>" */
static void expect_msg(const struct fx *f, const char *name, const char *rest)
{
	char *want;

	if (asprintf(&want, "'%s/%s': %s", f->dir, name, rest) < 0)
		abort();
	assert_string_equal(c2c_errmsg(f->ctx), want);
	free(want);
}

/* The source of f->dir/name. */
static void open_sub(struct fx *f, const char *name)
{
	char *p = path_of(f, name);

	c2c_assert_ok(f->ctx, c2c_source_open_dir(f->ctx, p, &f->src));
	free(p);
}

static void open_dir_missing(void **state)
{
	struct fx *f = *state;
	char *p = path_of(f, "nope");

	c2c_assert_fails(f->ctx, c2c_source_open_dir(f->ctx, p, &f->src), C2C_E_MISSING);
	assert_null(f->src);
	expect_msg(f, "nope", "cannot open image directory: No such file or directory");
	free(p);
}

static void open_dir_not_a_dir(void **state)
{
	struct fx *f = *state;
	char *p = path_of(f, "file");

	write_file(f->dir, "file", "x", 1);
	c2c_assert_fails(f->ctx, c2c_source_open_dir(f->ctx, p, &f->src), C2C_E_IO);
	assert_null(f->src);
	expect_msg(f, "file", "cannot open image directory: Not a directory");
	free(p);
}

static void open_dir_fields(void **state)
{
	struct fx *f = *state;
	char *p = path_of(f, "d0");

	make_dir(f->dir, "d0");
	c2c_assert_ok(f->ctx, c2c_source_open_dir(f->ctx, p, &f->src));
	assert_string_equal(f->src->path, p);
	assert_true(f->src->dirfd >= 0);
	assert_null(f->src->tab);
	assert_int_equal(f->src->depth, 0);
	assert_null(f->src->parent);
	/* The descriptor is close-on-exec: a forked converter must not inherit it. */
	assert_true(fcntl(f->src->dirfd, F_GETFD) & FD_CLOEXEC);
	free(p);
}

static void parent_link_chain(void **state)
{
	struct fx *f = *state;
	struct c2c_source *p1, *p2, *p3 = NULL, *again;
	char want[1024];

	make_dir(f->dir, "d0");
	make_dir(f->dir, "d1");
	make_dir(f->dir, "d2");
	make_symlink(f->dir, "d0/parent", "../d1");
	/* The form copies that lose symlinks leave: a file holding the target. */
	write_file(f->dir, "d1/parent", "../d2\n", 6);
	write_file(f->dir, "d2/marker", "2", 1);
	open_sub(f, "d0");

	c2c_assert_ok(f->ctx, c2c_source_parent(f->ctx, f->src, &p1));
	snprintf(want, sizeof(want), "%s/d0/parent", f->dir);
	assert_string_equal(p1->path, want);
	assert_int_equal(p1->depth, 1);
	assert_ptr_equal(p1->child, f->src);
	assert_ptr_equal(f->src->parent, p1);

	c2c_assert_ok(f->ctx, c2c_source_parent(f->ctx, p1, &p2));
	snprintf(want, sizeof(want), "%s/d0/parent/parent", f->dir);
	assert_string_equal(p2->path, want);
	assert_int_equal(p2->depth, 2);
	/* It is d2: its file is there. */
	c2c_assert_ok(f->ctx, c2c_source_load(f->ctx, p2, "marker", false, &f->b));
	assert_int_equal(f->b.size, 1);
	assert_memory_equal(f->b.data, "2", 1);

	/* d2 has no parent; asking again gives the same answers. */
	assert_int_equal(c2c_source_parent(f->ctx, p2, &p3), 1);
	assert_null(p3);
	assert_int_equal(c2c_source_parent(f->ctx, p2, &p3), 1);
	c2c_assert_ok(f->ctx, c2c_source_parent(f->ctx, f->src, &again));
	assert_ptr_equal(again, p1);
	assert_int_equal(c2c_errcode(f->ctx), 0);
}

static void parent_cycle(void **state)
{
	struct fx *f = *state;
	struct c2c_source *p1, *p2 = NULL;
	char rest[1024];

	make_dir(f->dir, "d0");
	make_dir(f->dir, "d1");
	make_symlink(f->dir, "d0/parent", "../d1");
	make_symlink(f->dir, "d1/parent", "../d0");
	open_sub(f, "d0");

	c2c_assert_ok(f->ctx, c2c_source_parent(f->ctx, f->src, &p1));
	c2c_assert_fails(f->ctx, c2c_source_parent(f->ctx, p1, &p2), C2C_E_INCONSISTENT);
	assert_null(p2);
	assert_null(p1->parent);
	snprintf(rest, sizeof(rest), "parent chain loops back to '%s/d0'", f->dir);
	expect_msg(f, "d0/parent/parent", rest);
}

static void parent_depth_cap(void **state)
{
	struct fx *f = *state;
	struct c2c_source *s, *next = NULL;
	char name[32], target[32], want[256];
	unsigned levels = 0;
	int r;

	/* d0 -> d1 -> ... -> d65: one more than the cap allows. */
	for (unsigned i = 0; i <= C2C_MAX_PARENT_DEPTH + 1; i++) {
		snprintf(name, sizeof(name), "d%u", i);
		make_dir(f->dir, name);
		snprintf(name, sizeof(name), "d%u/parent", i);
		snprintf(target, sizeof(target), "../d%u", i + 1);
		if (i <= C2C_MAX_PARENT_DEPTH)
			make_symlink(f->dir, name, target);
	}
	open_sub(f, "d0");
	for (s = f->src; (r = c2c_source_parent(f->ctx, s, &next)) == 0; s = next)
		levels++;
	assert_int_equal(r, C2C_E_LIMIT);
	assert_int_equal(c2c_errcode(f->ctx), C2C_E_LIMIT);
	assert_int_equal(levels, C2C_MAX_PARENT_DEPTH);
	assert_int_equal(s->depth, C2C_MAX_PARENT_DEPTH);
	snprintf(want, sizeof(want), "parent chain deeper than %u directories",
		 C2C_MAX_PARENT_DEPTH);
	assert_non_null(strstr(c2c_errmsg(f->ctx), want));
	assert_string_suffix(c2c_errmsg(f->ctx), "/parent': parent chain deeper than 64 directories");
}

static void load_optional_and_required(void **state)
{
	struct fx *f = *state;

	make_dir(f->dir, "d0");
	open_sub(f, "d0");
	assert_int_equal(c2c_source_load(f->ctx, f->src, "x.img", true, &f->b), 1);
	assert_int_equal(c2c_errcode(f->ctx), 0);
	assert_null(f->b.path); /* untouched */
	assert_int_equal(f->b.fd, -1);

	c2c_assert_fails(f->ctx, c2c_source_load(f->ctx, f->src, "x.img", false, &f->b),
			 C2C_E_MISSING);
	expect_msg(f, "d0/x.img", "required image is missing");
}

static void load_present(void **state)
{
	struct fx *f = *state;
	char want[1024];

	make_dir(f->dir, "d0");
	write_file(f->dir, "d0/a.img", "abcdef", 6);
	write_file(f->dir, "d0/empty.img", "", 0);
	open_sub(f, "d0");

	c2c_assert_ok(f->ctx, c2c_source_load(f->ctx, f->src, "a.img", false, &f->b));
	assert_int_equal(f->b.size, 6);
	assert_memory_equal(f->b.data, "abcdef", 6);
	assert_int_equal(f->b.fd, -1); /* loaded: no descriptor kept */
	assert_false(f->b.borrowed);
	snprintf(want, sizeof(want), "%s/d0/a.img", f->dir);
	assert_string_equal(f->b.path, want);
	c2c_blob_release(&f->b);
	assert_null(f->b.data);

	c2c_assert_ok(f->ctx, c2c_source_load(f->ctx, f->src, "empty.img", false, &f->b));
	assert_int_equal(f->b.size, 0);
	assert_non_null(f->b.data);
}

static void load_size_cap(void **state)
{
	struct fx *f = *state;
	char *p, rest[256];
	int fd;

	make_dir(f->dir, "d0");
	p = path_of(f, "d0/big.img");
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)C2C_MAX_IMAGE_SIZE + 1), 0); /* sparse */
	close(fd);
	open_sub(f, "d0");

	c2c_assert_fails(f->ctx, c2c_source_load(f->ctx, f->src, "big.img", false, &f->b),
			 C2C_E_LIMIT);
	snprintf(rest, sizeof(rest), "image of %llu bytes exceeds the cap of %llu bytes",
		 C2C_MAX_IMAGE_SIZE + 1, C2C_MAX_IMAGE_SIZE);
	expect_msg(f, "d0/big.img", rest);
	assert_null(f->b.path);
	free(p);
}

static void open_data_file(void **state)
{
	struct fx *f = *state;
	uint8_t buf[3];

	make_dir(f->dir, "d0");
	write_file(f->dir, "d0/pages-1.img", "0123456789", 10);
	open_sub(f, "d0");

	c2c_assert_ok(f->ctx, c2c_source_open_data(f->ctx, f->src, "pages-1.img", &f->b));
	assert_null(f->b.data);
	assert_true(f->b.fd >= 0);
	assert_int_equal(f->b.size, 10);
	assert_int_equal(f->b.base, 0);
	c2c_assert_ok(f->ctx, c2c_blob_pread(f->ctx, &f->b, buf, 3, 7));
	assert_memory_equal(buf, "789", 3);
	c2c_blob_release(&f->b);

	/* Missing: 1 and nothing recorded (the caller names what refers to it). */
	assert_int_equal(c2c_source_open_data(f->ctx, f->src, "pages-2.img", &f->b), 1);
	assert_int_equal(c2c_errcode(f->ctx), 0);
}

static void open_data_refuses_links_and_dirs(void **state)
{
	struct fx *f = *state;

	make_dir(f->dir, "d0");
	make_dir(f->dir, "d0/sub.img");
	write_file(f->dir, "target", "secret", 6);
	make_symlink(f->dir, "d0/link.img", "../target");
	open_sub(f, "d0");

	/* A planted symlink is not followed. */
	c2c_assert_fails(f->ctx, c2c_source_open_data(f->ctx, f->src, "link.img", &f->b), C2C_E_IO);
	expect_msg(f, "d0/link.img", "cannot open: Too many levels of symbolic links");
	assert_int_equal(f->b.fd, -1);

	c2c_op_begin(f->ctx);
	assert_true(c2c_source_open_data(f->ctx, f->src, "sub.img", &f->b) < 0);
	assert_int_equal(c2c_errcode(f->ctx), C2C_E_IO);
	expect_msg(f, "d0/sub.img", "not a regular file");
	assert_int_equal(f->b.fd, -1);
}

static void blob_pread_short(void **state)
{
	struct fx *f = *state;
	uint8_t buf[16];

	make_dir(f->dir, "d0");
	write_file(f->dir, "d0/a.img", "0123456789", 10);
	open_sub(f, "d0");

	/* In memory. */
	c2c_assert_ok(f->ctx, c2c_source_load(f->ctx, f->src, "a.img", false, &f->b));
	c2c_assert_ok(f->ctx, c2c_blob_pread(f->ctx, &f->b, buf, 10, 0));
	c2c_assert_ok(f->ctx, c2c_blob_pread(f->ctx, &f->b, buf, 0, 10)); /* empty, at the end */
	c2c_assert_fails(f->ctx, c2c_blob_pread(f->ctx, &f->b, buf, 4, 8), C2C_E_TRUNCATED);
	expect_msg(f, "d0/a.img", "offset 8 (0x8): need 4 bytes, file has 2");
	c2c_blob_release(&f->b);

	/* By descriptor, an offset past the end and one that wraps around. */
	c2c_op_begin(f->ctx);
	c2c_assert_ok(f->ctx, c2c_source_open_data(f->ctx, f->src, "a.img", &f->b));
	c2c_assert_fails(f->ctx, c2c_blob_pread(f->ctx, &f->b, buf, 1, 12), C2C_E_TRUNCATED);
	expect_msg(f, "d0/a.img", "offset 12 (0xc): need 1 bytes, file has 0");
	c2c_op_begin(f->ctx);
	c2c_assert_fails(f->ctx, c2c_blob_pread(f->ctx, &f->b, buf, 2, UINT64_MAX - 1),
			 C2C_E_TRUNCATED);
	expect_msg(f, "d0/a.img",
		   "offset 18446744073709551614 (0xfffffffffffffffe): need 2 bytes, file has 0");

	/* The file shrank after it was opened: the offset where the data ended. */
	c2c_op_begin(f->ctx);
	assert_int_equal(truncate(f->b.path, 6), 0);
	c2c_assert_fails(f->ctx, c2c_blob_pread(f->ctx, &f->b, buf, 8, 2), C2C_E_TRUNCATED);
	expect_msg(f, "d0/a.img", "offset 6 (0x6): file ended early");
}

static void blob_pread_base(void **state)
{
	struct fx *f = *state;
	uint8_t buf[4];

	/* A member inside a bigger file (spool, archive used in place): base is added. */
	write_file(f->dir, "spool", "xxxxABCDEFGH", 12);
	f->b.path = path_of(f, "spool");
	f->b.fd = open(f->b.path, O_RDONLY | O_CLOEXEC);
	assert_true(f->b.fd >= 0);
	f->b.base = 4;
	f->b.size = 8;
	c2c_assert_ok(f->ctx, c2c_blob_pread(f->ctx, &f->b, buf, 4, 2));
	assert_memory_equal(buf, "CDEF", 4);
	c2c_assert_fails(f->ctx, c2c_blob_pread(f->ctx, &f->b, buf, 4, 6), C2C_E_TRUNCATED);
	expect_msg(f, "spool", "offset 6 (0x6): need 4 bytes, file has 2");
}

static void memtab_add_find_sort(void **state)
{
	struct fx *f = *state;
	struct c2c_memtab *tab = c2c_memtab_new("t.tar");
	const struct c2c_member *m;

	(void)f;
	assert_non_null(tab);
	assert_string_equal(tab->display, "t.tar");
	assert_int_equal(tab->refs, 1);
	assert_null(c2c_memtab_find(tab, "a"));
	assert_null(c2c_memtab_sort(tab)); /* empty */
	assert_null(c2c_memtab_find(tab, "a"));

	/* More members than the first allocation holds. */
	for (int i = 99; i >= 0; i--) {
		char name[16];

		snprintf(name, sizeof(name), "m%02d", i);
		memtab_data(tab, name, name, 3);
	}
	assert_int_equal(tab->n, 100);
	assert_false(tab->sorted);
	/* Before sorting, a linear search. */
	m = c2c_memtab_find(tab, "m42");
	assert_non_null(m);
	assert_memory_equal(m->data, "m42", 3);
	assert_null(c2c_memtab_sort(tab));
	assert_true(tab->sorted);
	assert_string_equal(tab->v[0].name, "m00");
	assert_string_equal(tab->v[99].name, "m99");
	for (int i = 0; i < 100; i++) {
		char name[16];

		snprintf(name, sizeof(name), "m%02d", i);
		m = c2c_memtab_find(tab, name);
		assert_non_null(m);
		assert_memory_equal(m->data, name, 3);
	}
	assert_null(c2c_memtab_find(tab, "m100"));
	assert_null(c2c_memtab_find(tab, ""));
	/* Adding unsorts it again. */
	memtab_data(tab, "a", "", 0);
	assert_false(tab->sorted);
	assert_non_null(c2c_memtab_find(tab, "a"));
	c2c_memtab_put(tab);
}

static void memtab_duplicate(void **state)
{
	struct fx *f = *state;
	const struct c2c_member *dup;

	f->tab = c2c_memtab_new("t.tar");
	memtab_data(f->tab, "b.img", "1", 1);
	memtab_data(f->tab, "dup.img", "2", 1);
	memtab_data(f->tab, "a.img", "3", 1);
	memtab_data(f->tab, "dup.img", "4", 1);
	dup = c2c_memtab_sort(f->tab);
	assert_non_null(dup);
	assert_string_equal(dup->name, "dup.img");
	assert_true(dup > f->tab->v && !strcmp(dup[-1].name, "dup.img"));
}

static void memtab_references(void **state)
{
	struct fx *f = *state;
	struct c2c_source *a, *b;

	f->tab = c2c_memtab_new("t.tar");
	memtab_data(f->tab, "x/inventory.img", "inv", 3);
	c2c_assert_ok(f->ctx, c2c_source_open_tab(f->ctx, f->tab, "x/", &a));
	c2c_assert_ok(f->ctx, c2c_source_open_tab(f->ctx, f->tab, "", &b));
	assert_int_equal(f->tab->refs, 3);
	c2c_source_free(a);
	assert_int_equal(f->tab->refs, 2);
	/* The table outlives our own reference while a source holds it. */
	c2c_memtab_put(f->tab);
	f->tab = NULL;
	c2c_assert_ok(f->ctx, c2c_source_load(f->ctx, b, "x/inventory.img", false, &f->b));
	assert_memory_equal(f->b.data, "inv", 3);
	c2c_blob_release(&f->b);
	c2c_source_free(b);
}

static void open_tab_prefix(void **state)
{
	struct fx *f = *state;

	f->tab = c2c_memtab_new("ck.tar");
	memtab_data(f->tab, "checkpoint/inventory.img", "inv", 3);
	memtab_data(f->tab, "inventory.img", "top", 3);
	memtab_link(f->tab, "checkpoint/link.img", "inventory.img");
	assert_null(c2c_memtab_sort(f->tab));
	c2c_assert_ok(f->ctx, c2c_source_open_tab(f->ctx, f->tab, "checkpoint/", &f->src));
	assert_string_equal(f->src->path, "ck.tar:checkpoint");
	assert_int_equal(f->src->dirfd, -1);
	assert_string_equal(f->src->prefix, "checkpoint/");

	/* Member data is borrowed from the table, not copied. */
	c2c_assert_ok(f->ctx, c2c_source_load(f->ctx, f->src, "inventory.img", false, &f->b));
	assert_string_equal(f->b.path, "ck.tar:checkpoint/inventory.img");
	assert_memory_equal(f->b.data, "inv", 3);
	assert_ptr_equal(f->b.data, c2c_memtab_find(f->tab, "checkpoint/inventory.img")->data);
	assert_true(f->b.borrowed);
	c2c_blob_release(&f->b);
	assert_memory_equal(c2c_memtab_find(f->tab, "checkpoint/inventory.img")->data, "inv", 3);

	/* A link member is no image, and the prefix is not a directory to leave. */
	assert_int_equal(c2c_source_load(f->ctx, f->src, "link.img", true, &f->b), 1);
	assert_int_equal(c2c_source_open_data(f->ctx, f->src, "link.img", &f->b), 1);
	assert_int_equal(c2c_source_load(f->ctx, f->src, "../inventory.img", true, &f->b), 1);
	c2c_assert_fails(f->ctx, c2c_source_load(f->ctx, f->src, "mm-1.img", false, &f->b),
			 C2C_E_MISSING);
	assert_string_equal(c2c_errmsg(f->ctx), "'ck.tar:checkpoint/mm-1.img': required image is missing");
}

static void open_tab_spooled_member(void **state)
{
	struct fx *f = *state;
	struct c2c_member m = { .fd = -1 };
	uint8_t buf[4];

	/* A member whose bytes sit at an offset of a spool file. */
	write_file(f->dir, "spool", "....PAGEDATA", 12);
	f->tab = c2c_memtab_new("ck.tar");
	m.name = strdup("pages-1.img");
	m.fd = open(f->dir, O_RDONLY | O_DIRECTORY);
	assert_true(m.fd >= 0);
	{
		int fd = openat(m.fd, "spool", O_RDONLY | O_CLOEXEC);

		close(m.fd);
		m.fd = fd;
	}
	m.off = 4;
	m.size = 8;
	m.spooled = true;
	assert_int_equal(c2c_memtab_add(f->tab, m), 0);
	c2c_assert_ok(f->ctx, c2c_source_open_tab(f->ctx, f->tab, "", &f->src));
	assert_string_equal(f->src->path, "ck.tar");

	c2c_assert_ok(f->ctx, c2c_source_open_data(f->ctx, f->src, "pages-1.img", &f->b));
	assert_string_equal(f->b.path, "ck.tar:pages-1.img");
	assert_int_equal(f->b.size, 8);
	assert_int_equal(f->b.base, 4);
	assert_true(f->b.fd >= 0);
	assert_int_not_equal(f->b.fd, f->tab->v[0].fd); /* its own descriptor */
	c2c_assert_ok(f->ctx, c2c_blob_pread(f->ctx, &f->b, buf, 4, 4));
	assert_memory_equal(buf, "DATA", 4);
	c2c_assert_fails(f->ctx, c2c_blob_pread(f->ctx, &f->b, buf, 4, 6), C2C_E_TRUNCATED);
	assert_string_equal(c2c_errmsg(f->ctx),
			    "'ck.tar:pages-1.img': offset 6 (0x6): need 4 bytes, file has 2");
}

static void tab_parent_links(void **state)
{
	struct fx *f = *state;
	struct c2c_source *p1, *p2, *none;

	f->tab = c2c_memtab_new("ck.tar");
	memtab_link(f->tab, "checkpoint/parent", "../pre-checkpoint");
	memtab_data(f->tab, "pre-checkpoint/parent", "./../pre2//\n", 12); /* file form */
	memtab_data(f->tab, "pre2/inventory.img", "p2", 2);
	assert_null(c2c_memtab_sort(f->tab));
	c2c_assert_ok(f->ctx, c2c_source_open_tab(f->ctx, f->tab, "checkpoint/", &f->src));

	c2c_assert_ok(f->ctx, c2c_source_parent(f->ctx, f->src, &p1));
	assert_string_equal(p1->prefix, "pre-checkpoint/");
	assert_string_equal(p1->path, "ck.tar:pre-checkpoint");
	assert_int_equal(p1->depth, 1);
	c2c_assert_ok(f->ctx, c2c_source_parent(f->ctx, p1, &p2));
	assert_string_equal(p2->prefix, "pre2/");
	c2c_assert_ok(f->ctx, c2c_source_load(f->ctx, p2, "inventory.img", false, &f->b));
	assert_memory_equal(f->b.data, "p2", 2);
	assert_int_equal(c2c_source_parent(f->ctx, p2, &none), 1);
	assert_int_equal(c2c_errcode(f->ctx), 0);
}

/* A member table with one `parent` member of target (link or file), opened at "a/". */
static int tab_parent_of(struct fx *f, const char *target, bool link)
{
	struct c2c_source *p = NULL;

	f->tab = c2c_memtab_new("ck.tar");
	if (link)
		memtab_link(f->tab, "a/parent", target);
	else
		memtab_data(f->tab, "a/parent", target, strlen(target));
	c2c_assert_ok(f->ctx, c2c_source_open_tab(f->ctx, f->tab, "a/", &f->src));
	return c2c_source_parent(f->ctx, f->src, &p);
}

static void tab_parent_outside(void **state)
{
	static const char *const bad[] = { "../../x", "/abs", "../..", "" };
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c2c_op_begin(f->ctx);
		assert_int_equal(tab_parent_of(f, bad[i], i % 2 == 0), C2C_E_INCONSISTENT);
		assert_string_equal(c2c_errmsg(f->ctx),
				    "'ck.tar:a/parent': parent link does not name a directory "
				    "inside the archive");
		c2c_source_free(f->src);
		c2c_memtab_put(f->tab);
		f->src = NULL;
		f->tab = NULL;
	}
}

static void tab_parent_cycle(void **state)
{
	struct fx *f = *state;

	assert_int_equal(tab_parent_of(f, "../a/", true), C2C_E_INCONSISTENT);
	assert_string_equal(c2c_errmsg(f->ctx),
			    "'ck.tar:a/parent': parent chain loops back to 'ck.tar:a'");
	assert_null(f->src->parent);
}

static void load_meta_tab(void **state)
{
	struct fx *f = *state;
	struct c2c_member m = { .fd = -1 };

	f->tab = c2c_memtab_new("ck.tar");
	memtab_data(f->tab, "config.dump", "{}", 2);
	memtab_data(f->tab, "checkpoint/stats-dump", "st", 2);
	/* A member too big for memory was spooled: not metadata. */
	m.name = strdup("spec.dump");
	m.fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	m.size = 1;
	assert_int_equal(c2c_memtab_add(f->tab, m), 0);
	assert_null(c2c_memtab_sort(f->tab));
	c2c_assert_ok(f->ctx, c2c_source_open_tab(f->ctx, f->tab, "checkpoint/", &f->src));

	/* At the archive root ... */
	c2c_assert_ok(f->ctx, c2c_source_load_meta(f->ctx, f->src, "config.dump", &f->b));
	assert_string_equal(f->b.path, "ck.tar:config.dump");
	assert_memory_equal(f->b.data, "{}", 2);
	c2c_blob_release(&f->b);
	/* ... or beside the images. */
	c2c_assert_ok(f->ctx, c2c_source_load_meta(f->ctx, f->src, "stats-dump", &f->b));
	assert_string_equal(f->b.path, "ck.tar:checkpoint/stats-dump");
	assert_memory_equal(f->b.data, "st", 2);
	c2c_blob_release(&f->b);
	assert_int_equal(c2c_source_load_meta(f->ctx, f->src, "spec.dump", &f->b), 1);
	assert_int_equal(c2c_source_load_meta(f->ctx, f->src, "deleted.files", &f->b), 1);
	assert_int_equal(c2c_errcode(f->ctx), 0);
	/* Large files beside the images are opened, not loaded. */
	c2c_assert_ok(f->ctx, c2c_source_open_meta_data(f->ctx, f->src, "spec.dump", &f->b));
	assert_true(f->b.fd >= 0);
	assert_int_equal(f->b.size, 1);
}

static void load_meta_dir(void **state)
{
	struct fx *f = *state;
	char *meta = path_of(f, "top");
	int fd;

	make_dir(f->dir, "top");
	make_dir(f->dir, "top/checkpoint");
	write_file(f->dir, "top/config.dump", "{\"a\":1}", 7);
	write_file(f->dir, "top/checkpoint/config.dump", "{\"b\":2}", 7);
	write_file(f->dir, "top/checkpoint/stats-dump", "st", 2);
	fd = open(f->dir, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	{
		int big = openat(fd, "top/spec.dump", O_WRONLY | O_CREAT, 0600);

		assert_true(big >= 0);
		assert_int_equal(ftruncate(big, (16 << 20) + 1), 0);
		close(big);
	}
	close(fd);
	write_file(f->dir, "top/checkpoint/spec.dump", "small", 5);
	open_sub(f, "top/checkpoint");

	/* Without a metadata directory: the image directory itself. */
	c2c_assert_ok(f->ctx, c2c_source_load_meta(f->ctx, f->src, "config.dump", &f->b));
	assert_memory_equal(f->b.data, "{\"b\":2}", 7);
	c2c_blob_release(&f->b);

	/* An extracted archive: its top directory first, then beside the images. */
	f->src->meta_dir = meta;
	c2c_assert_ok(f->ctx, c2c_source_load_meta(f->ctx, f->src, "config.dump", &f->b));
	assert_memory_equal(f->b.data, "{\"a\":1}", 7);
	c2c_blob_release(&f->b);
	c2c_assert_ok(f->ctx, c2c_source_load_meta(f->ctx, f->src, "stats-dump", &f->b));
	assert_memory_equal(f->b.data, "st", 2);
	c2c_blob_release(&f->b);
	/* Over 16 MiB is not metadata: ignored there (and not looked for further). */
	assert_int_equal(c2c_source_load_meta(f->ctx, f->src, "spec.dump", &f->b), 1);
	assert_null(f->b.path);
	assert_int_equal(c2c_source_load_meta(f->ctx, f->src, "nothing", &f->b), 1);
	assert_int_equal(c2c_errcode(f->ctx), 0);
	/* The large one is opened by c2c_source_open_meta_data. */
	c2c_assert_ok(f->ctx, c2c_source_open_meta_data(f->ctx, f->src, "spec.dump", &f->b));
	assert_int_equal(f->b.size, (16 << 20) + 1);
	assert_string_suffix(f->b.path, "/top/spec.dump");
}

/*
 * root/: lib/libc.so.6, usr/lib -> ../lib, lib64 -> /lib (absolute: inside
 * the root), esc -> ../../.. (climbs: stays at the root), out -> <abs path
 * of outside/> (absolute: means root/<that path>), dir/; outside/secret
 * beside root/ must never be reached.
 */
static int root_setup(struct fx *f)
{
	char *outside = path_of(f, "outside");
	int fd;

	make_dir(f->dir, "root");
	make_dir(f->dir, "root/lib");
	make_dir(f->dir, "root/usr");
	make_dir(f->dir, "root/dir");
	make_dir(f->dir, "outside");
	write_file(f->dir, "root/lib/libc.so.6", "ELFLIBC", 7);
	write_file(f->dir, "outside/secret", "SECRET", 6);
	make_symlink(f->dir, "root/usr/lib", "../lib");
	make_symlink(f->dir, "root/lib64", "/lib");
	make_symlink(f->dir, "root/esc", "../../..");
	make_symlink(f->dir, "root/out", outside);
	make_symlink(f->dir, "root/secret", "../outside/secret");
	free(outside);
	{
		char *root = path_of(f, "root");

		c2c_assert_ok(f->ctx, c2c_root_open(f->ctx, root, &fd));
		free(root);
	}
	return fd;
}

static void expect_root_file(struct fx *f, int rootfd, const char *path, const char *content)
{
	char *root = path_of(f, "root");
	uint8_t buf[16];
	size_t n = strlen(content);

	c2c_blob_release(&f->b);
	c2c_assert_ok(f->ctx, c2c_root_open_file(f->ctx, rootfd, root, path, &f->b));
	assert_int_equal(f->b.size, n);
	c2c_assert_ok(f->ctx, c2c_blob_pread(f->ctx, &f->b, buf, n, 0));
	assert_memory_equal(buf, content, n);
	free(root);
}

static void root_open_file_inside(void **state)
{
	struct fx *f = *state;
	int rootfd = root_setup(f);
	char want[1024];

	expect_root_file(f, rootfd, "/lib/libc.so.6", "ELFLIBC");
	snprintf(want, sizeof(want), "%s/root/lib/libc.so.6", f->dir);
	assert_string_equal(f->b.path, want);
	expect_root_file(f, rootfd, "lib/libc.so.6", "ELFLIBC");
	snprintf(want, sizeof(want), "%s/root/lib/libc.so.6", f->dir);
	assert_string_equal(f->b.path, want);
	expect_root_file(f, rootfd, "/usr/lib/libc.so.6", "ELFLIBC");
	expect_root_file(f, rootfd, "/lib64/libc.so.6", "ELFLIBC");
	/* ".." at the root stays at the root, in the path and in a link. */
	expect_root_file(f, rootfd, "/../../lib/libc.so.6", "ELFLIBC");
	expect_root_file(f, rootfd, "/dir/../../lib/./libc.so.6", "ELFLIBC");
	expect_root_file(f, rootfd, "/esc/lib/libc.so.6", "ELFLIBC");
	assert_int_equal(c2c_errcode(f->ctx), 0);
	close(rootfd);
}

static void root_open_file_never_outside(void **state)
{
	struct fx *f = *state;
	int rootfd = root_setup(f);
	char *root = path_of(f, "root"), *abs = path_of(f, "outside/secret");
	char rel[1024];

	/* The absolute path of the outside file means the same path under the root. */
	assert_int_equal(c2c_root_open_file(f->ctx, rootfd, root, abs, &f->b), 1);
	/* Neither through an absolute link to it ... */
	assert_int_equal(c2c_root_open_file(f->ctx, rootfd, root, "/out/secret", &f->b), 1);
	/* ... nor a relative one climbing out ... */
	assert_int_equal(c2c_root_open_file(f->ctx, rootfd, root, "/secret", &f->b), 1);
	/* ... nor enough ".." in the path. */
	snprintf(rel, sizeof(rel), "../../../../../../../..%s", abs);
	assert_int_equal(c2c_root_open_file(f->ctx, rootfd, root, rel, &f->b), 1);
	assert_int_equal(c2c_root_open_file(f->ctx, rootfd, root, "/esc/outside/secret", &f->b), 1);
	/* Directories and missing files are no file either; none of it is an error. */
	assert_int_equal(c2c_root_open_file(f->ctx, rootfd, root, "/dir", &f->b), 1);
	assert_int_equal(c2c_root_open_file(f->ctx, rootfd, root, "/lib/nothing", &f->b), 1);
	assert_int_equal(c2c_root_open_file(f->ctx, rootfd, root, "/lib/libc.so.6/x", &f->b), 1);
	assert_int_equal(c2c_errcode(f->ctx), 0);
	assert_null(f->b.path);
	free(abs);
	free(root);
	close(rootfd);
}

static void root_open_missing(void **state)
{
	struct fx *f = *state;
	char *p = path_of(f, "noroot");
	int fd = -1;

	c2c_assert_fails(f->ctx, c2c_root_open(f->ctx, p, &fd), C2C_E_MISSING);
	assert_int_equal(fd, -1);
	expect_msg(f, "noroot", "cannot open root directory: No such file or directory");
	free(p);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(open_dir_missing, setup, teardown),
	cmocka_unit_test_setup_teardown(open_dir_not_a_dir, setup, teardown),
	cmocka_unit_test_setup_teardown(open_dir_fields, setup, teardown),
	cmocka_unit_test_setup_teardown(parent_link_chain, setup, teardown),
	cmocka_unit_test_setup_teardown(parent_cycle, setup, teardown),
	cmocka_unit_test_setup_teardown(parent_depth_cap, setup, teardown),
	cmocka_unit_test_setup_teardown(load_optional_and_required, setup, teardown),
	cmocka_unit_test_setup_teardown(load_present, setup, teardown),
	cmocka_unit_test_setup_teardown(load_size_cap, setup, teardown),
	cmocka_unit_test_setup_teardown(open_data_file, setup, teardown),
	cmocka_unit_test_setup_teardown(open_data_refuses_links_and_dirs, setup, teardown),
	cmocka_unit_test_setup_teardown(blob_pread_short, setup, teardown),
	cmocka_unit_test_setup_teardown(blob_pread_base, setup, teardown),
	cmocka_unit_test_setup_teardown(memtab_add_find_sort, setup, teardown),
	cmocka_unit_test_setup_teardown(memtab_duplicate, setup, teardown),
	cmocka_unit_test_setup_teardown(memtab_references, setup, teardown),
	cmocka_unit_test_setup_teardown(open_tab_prefix, setup, teardown),
	cmocka_unit_test_setup_teardown(open_tab_spooled_member, setup, teardown),
	cmocka_unit_test_setup_teardown(tab_parent_links, setup, teardown),
	cmocka_unit_test_setup_teardown(tab_parent_outside, setup, teardown),
	cmocka_unit_test_setup_teardown(tab_parent_cycle, setup, teardown),
	cmocka_unit_test_setup_teardown(load_meta_tab, setup, teardown),
	cmocka_unit_test_setup_teardown(load_meta_dir, setup, teardown),
	cmocka_unit_test_setup_teardown(root_open_file_inside, setup, teardown),
	cmocka_unit_test_setup_teardown(root_open_file_never_outside, setup, teardown),
	cmocka_unit_test_setup_teardown(root_open_missing, setup, teardown),
};

C2C_UNIT_MAIN(tests)
