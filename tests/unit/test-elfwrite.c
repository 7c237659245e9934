/*
 * Unit tests of src/lib/elfwrite.c: a core written from a hand-made plan, and
 * the adoption of a core file whose pages an archive reader already placed
 * (only when every placed byte is where the plan puts it; else a fresh copy).
 */
#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corebuild.h"
#include "elfwrite.h"
#include "helpers.h"
#include "util.h"

#define PG 4096ULL

struct fixture {
	char dir[64];
	int dirfd;
	int placed_fd; /* the "core" the reader wrote into */
	uint8_t pages[2 * PG];
	struct c2c_place_run runs[2];
	struct c2c_placemap map;
	struct c2c_blob blob;
	char path[32];
	struct c2c_segment segs[1];
	struct c2c_piece pieces[1];
	struct c2c_coreplan plan;
};

/*
 * One process (pid 7) with one segment of two pages at 0x10000, placed by the
 * reader at file offset place_off (the plan puts it at 4096).
 */
static struct fixture *fixture_new(uint64_t place_off)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/c2c-elfwrite.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY);
	assert_true(f->dirfd >= 0);
	memset(f->pages, 0xaa, PG);
	memset(f->pages + PG, 0xbb, PG);
	f->placed_fd = openat(f->dirfd, ".", O_TMPFILE | O_RDWR, 0600);
	assert_true(f->placed_fd >= 0);
	assert_int_equal(pwrite(f->placed_fd, f->pages, sizeof(f->pages), (off_t)place_off),
			 (ssize_t)sizeof(f->pages));
	f->runs[0] = (struct c2c_place_run){ 0, 2 * PG, place_off, true };
	f->runs[1] = (struct c2c_place_run){ 2 * PG, UINT64_MAX - 2 * PG, 0, false };
	f->map = (struct c2c_placemap){ f->runs, 2, f->placed_fd, -1, 7, 2 * PG, false, 0 };
	f->blob = C2C_BLOB_INIT;
	snprintf(f->path, sizeof(f->path), "a.tar:pages-1.img");
	f->blob.path = f->path;
	f->blob.size = 2 * PG;
	f->blob.map = &f->map;
	f->segs[0] = (struct c2c_segment){ .vaddr = 0x10000, .memsz = 2 * PG, .filesz = 2 * PG,
					   .flags = PF_R | PF_W, .piece0 = 0, .npieces = 1,
					   .offset = 4096, .region = 0x10000, .has_region = true };
	f->pieces[0] = (struct c2c_piece){ 0, 2 * PG, &f->blob, 0 };
	f->plan = (struct c2c_coreplan){ .pid = 7, .arch = &c2c_arch_x86_64, .segs = f->segs, .nsegs = 1,
					 .pieces = f->pieces, .npieces = 1,
					 .phoff = 4096 + 2 * PG };
	f->plan.notes_off = f->plan.phoff + 2 * sizeof(Elf64_Phdr);
	f->plan.size = f->plan.notes_off;
	return f;
}

static void fixture_free(struct fixture *f)
{
	unlinkat(f->dirfd, "core.7", 0);
	close(f->placed_fd);
	close(f->dirfd);
	rmdir(f->dir);
	free(f);
}

/* The written core: its two pages at 4096, program headers where the plan says. */
static void check_core(struct fixture *f)
{
	uint8_t buf[2 * PG], eh[64], ph[2 * 56];
	int fd = openat(f->dirfd, "core.7", O_RDONLY);
	struct stat st;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, f->plan.size);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(pread(fd, eh, sizeof(eh), 0), (ssize_t)sizeof(eh));
	assert_memory_equal(eh, ELFMAG, SELFMAG);
	assert_int_equal(get64(eh + 32), f->plan.phoff); /* e_phoff */
	assert_int_equal(pread(fd, ph, sizeof(ph), (off_t)f->plan.phoff), (ssize_t)sizeof(ph));
	assert_int_equal(get32(ph), PT_NOTE);
	assert_int_equal(get64(ph + 8), f->plan.notes_off);
	assert_int_equal(get32(ph + 56), PT_LOAD);
	assert_int_equal(get64(ph + 56 + 8), 4096);	 /* p_offset */
	assert_int_equal(get64(ph + 56 + 16), 0x10000); /* p_vaddr */
	assert_int_equal(pread(fd, buf, sizeof(buf), 4096), (ssize_t)sizeof(buf));
	assert_memory_equal(buf, f->pages, sizeof(buf));
	close(fd);
}

/*
 * Write and commit core.7 from the fixture's plan, check it, and say whether
 * it is the placed file itself (same inode: adopted, not copied).
 */
static bool write_and_check(struct fixture *f)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct c2c_outfile of;
	struct stat a, b;

	c2c_assert_ok(ctx, c2c_elfwrite_core(ctx, f->dirfd, f->dir, "core.7", &f->plan, &of));
	c2c_assert_ok(ctx, c2c_elfwrite_commit(ctx, &of, false));
	c2c_elfwrite_release(&of);
	c2c_ctx_free(ctx);
	check_core(f);
	assert_int_equal(fstat(f->placed_fd, &a), 0);
	assert_int_equal(fstatat(f->dirfd, "core.7", &b, 0), 0);
	return a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

static void write_adopts_placed_core(void **state)
{
	struct fixture *f = fixture_new(4096);

	(void)state;
	assert_true(write_and_check(f));
	fixture_free(f);
}

static void write_copies_when_placement_differs(void **state)
{
	struct fixture *f = fixture_new(8 * PG); /* not where the plan puts the pages */

	(void)state;
	assert_false(write_and_check(f));
	fixture_free(f);
}

static void write_copies_when_bytes_unclaimed(void **state)
{
	struct fixture *f = fixture_new(4096);

	(void)state;
	/* The reader placed a third page the plan does not use: it would be garbage there. */
	f->map.core_bytes = 3 * PG;
	assert_false(write_and_check(f));
	fixture_free(f);
}

static void write_other_pid_never_adopts(void **state)
{
	struct fixture *f = fixture_new(4096);

	(void)state;
	f->map.pid = 8; /* laid out for another process */
	assert_false(write_and_check(f));
	fixture_free(f);
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

/* Write core.7 from the fixture's plan. */
static void write_core(struct fixture *f)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct c2c_outfile of;

	unlinkat(f->dirfd, "core.7", 0);
	c2c_assert_ok(ctx, c2c_elfwrite_core(ctx, f->dirfd, f->dir, "core.7", &f->plan, &of));
	c2c_assert_ok(ctx, c2c_elfwrite_commit(ctx, &of, false));
	c2c_elfwrite_release(&of);
	c2c_ctx_free(ctx);
}

/* len bytes of core.7 at off. */
static void read_core(struct fixture *f, uint8_t *buf, size_t len, off_t off)
{
	int fd = openat(f->dirfd, "core.7", O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

/* A 32-bit architecture's core: Elf32_Ehdr and Elf32_Phdr, and PN_XNUM with Elf32_Shdr. */
static void write_elf32(void **state)
{
	struct fixture *f = fixture_new(8 * PG); /* copied, so core.7 can be written twice */
	const size_t nmany = 70000;
	struct c2c_segment *many;
	uint8_t eh[52], ph[2 * 32], sh[40];

	(void)state;
	f->plan.arch = &c2c_arch_arm;
	f->plan.page_size = PG;
	f->plan.notes_off = f->plan.phoff + 2 * sizeof(Elf32_Phdr);
	f->plan.size = f->plan.notes_off;
	write_core(f);
	read_core(f, eh, sizeof(eh), 0);
	assert_memory_equal(eh, ELFMAG, SELFMAG);
	assert_int_equal(eh[EI_CLASS], ELFCLASS32);
	assert_int_equal(eh[EI_DATA], ELFDATA2LSB);
	assert_int_equal(get16(eh + 16), ET_CORE);
	assert_int_equal(get16(eh + 18), EM_ARM);
	assert_int_equal(get32(eh + 28), f->plan.phoff); /* e_phoff */
	assert_int_equal(get32(eh + 36), 0);		  /* e_flags */
	assert_int_equal(get16(eh + 40), 52);		  /* e_ehsize */
	assert_int_equal(get16(eh + 42), 32);		  /* e_phentsize */
	assert_int_equal(get16(eh + 44), 2);		  /* e_phnum */
	read_core(f, ph, sizeof(ph), (off_t)f->plan.phoff);
	assert_int_equal(get32(ph), PT_NOTE);
	assert_int_equal(get32(ph + 4), f->plan.notes_off);
	assert_int_equal(get32(ph + 32), PT_LOAD);
	assert_int_equal(get32(ph + 32 + 4), 4096);	   /* p_offset */
	assert_int_equal(get32(ph + 32 + 8), 0x10000);	   /* p_vaddr */
	assert_int_equal(get32(ph + 32 + 16), 2 * PG);	   /* p_filesz */
	assert_int_equal(get32(ph + 32 + 20), 2 * PG);	   /* p_memsz */
	assert_int_equal(get32(ph + 32 + 24), PF_R | PF_W); /* p_flags */
	assert_int_equal(get32(ph + 32 + 28), PG);	   /* p_align */

	/* Extended numbering: e_phnum PN_XNUM, the count in section header 0. */
	many = calloc(nmany, sizeof(*many));
	assert_non_null(many);
	many[0] = f->segs[0];
	for (size_t i = 1; i < nmany; i++)
		many[i] = (struct c2c_segment){ .vaddr = 0x20000 + PG * i, .memsz = PG,
						.flags = PF_R, .piece0 = 1, .offset = 3 * PG };
	f->plan.segs = many;
	f->plan.nsegs = nmany;
	f->plan.notes_off = f->plan.phoff + (nmany + 1) * sizeof(Elf32_Phdr);
	f->plan.shoff = (f->plan.notes_off + 7) & ~7ULL;
	f->plan.size = f->plan.shoff + sizeof(Elf32_Shdr);
	write_core(f);
	read_core(f, eh, sizeof(eh), 0);
	assert_int_equal(get16(eh + 44), PN_XNUM);
	assert_int_equal(get32(eh + 32), f->plan.shoff); /* e_shoff */
	assert_int_equal(get16(eh + 46), 40);		  /* e_shentsize */
	assert_int_equal(get16(eh + 48), 1);		  /* e_shnum */
	read_core(f, sh, sizeof(sh), (off_t)f->plan.shoff);
	assert_int_equal(get32(sh + 4), SHT_NULL);
	assert_int_equal(get32(sh + 20), 1);	     /* sh_size = e_shnum */
	assert_int_equal(get32(sh + 28), nmany + 1); /* sh_info = the real phnum */
	free(many);
	fixture_free(f);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(write_adopts_placed_core),
	cmocka_unit_test(write_copies_when_placement_differs),
	cmocka_unit_test(write_copies_when_bytes_unclaimed),
	cmocka_unit_test(write_other_pid_never_adopts),
	cmocka_unit_test(write_elf32),
};

C2C_UNIT_MAIN(tests)
