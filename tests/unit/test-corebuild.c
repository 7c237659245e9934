/*
 * Unit tests of src/lib/corebuild.c: note encoding and the core plan of a
 * hand-built process whose page runs point at an in-memory pages blob.
 */
#include <elf.h>
#include <stdlib.h>

#include "corebuild.h"
#include "helpers.h"
#include "util.h"

#define PG 4096ULL


static void add_note_layout(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct c2c_coreplan plan = { .arch = &c2c_arch_x86_64 };
	static const uint8_t want[] = {
		/* namesz 5, descsz 5 (unpadded), type 1 */
		5, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0,
		'C', 'O', 'R', 'E', 0, 0, 0, 0, /* "CORE\0" padded to 8 */
		'a', 'b', 'c', 'd', 'e', 0, 0, 0, /* descriptor padded to 4 */
		/* namesz 6, descsz 8, type 0x202 */
		6, 0, 0, 0, 8, 0, 0, 0, 0x02, 0x02, 0, 0,
		'L', 'I', 'N', 'U', 'X', 0, 0, 0, /* "LINUX\0" padded to 8 */
		1, 2, 3, 4, 5, 6, 7, 8,
		/* empty descriptor: header and name only */
		5, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0,
		'C', 'O', 'R', 'E', 0, 0, 0, 0,
	};

	(void)state;
	c2c_assert_ok(ctx, c2c_corebuild_add_note(ctx, &plan, "CORE", 1, "abcde", 5));
	assert_int_equal(plan.notes_len, 28);
	c2c_assert_ok(ctx, c2c_corebuild_add_note(ctx, &plan, "LINUX", 0x202,
						  (const uint8_t[]){ 1, 2, 3, 4, 5, 6, 7, 8 }, 8));
	assert_int_equal(plan.notes_len, 56);
	c2c_assert_ok(ctx, c2c_corebuild_add_note(ctx, &plan, "CORE", 6, "", 0));
	assert_int_equal(plan.notes_len, sizeof(want));
	assert_memory_equal(plan.notes, want, sizeof(want));
	c2c_coreplan_release(&plan);
	assert_null(plan.notes);
	assert_int_equal(plan.notes_len, 0);
	c2c_ctx_free(ctx);
}

/* A big-endian architecture's note header: namesz, descsz and type in its byte order. */
static void add_note_big_endian(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct c2c_coreplan plan = { .arch = &c2c_arch_s390x };
	static const uint8_t want[] = { 0, 0, 0, 5, 0, 0, 0, 4, 0, 0, 3, 7, 'C', 'O', 'R', 'E',
					0,  0, 0, 0, 1, 2, 3, 4 };

	(void)state;
	c2c_assert_ok(ctx, c2c_corebuild_add_note(ctx, &plan, "CORE", 0x307,
						  (const uint8_t[]){ 1, 2, 3, 4 }, 4));
	assert_int_equal(plan.notes_len, sizeof(want));
	assert_memory_equal(plan.notes, want, sizeof(want));
	c2c_coreplan_release(&plan);
	c2c_ctx_free(ctx);
}

/* One note of a plan's note segment. */
struct note {
	uint32_t namesz, descsz, type;
	const char *name;
	const uint8_t *desc;
};

/* Split the note segment into at most max notes; returns how many. */
static size_t parse_notes(const struct c2c_coreplan *plan, struct note *v, size_t max)
{
	size_t pos = 0, n = 0;

	while (pos < plan->notes_len) {
		const uint8_t *p = plan->notes + pos;

		assert_true(n < max);
		assert_true(pos + 12 <= plan->notes_len);
		v[n] = (struct note){ get32(p), get32(p + 4), get32(p + 8), (const char *)p + 12,
				      NULL };
		v[n].desc = p + 12 + ((v[n].namesz + 3) & ~3U);
		pos += 12 + ((v[n].namesz + 3) & ~3U) + ((v[n].descsz + 3) & ~3U);
		assert_true(pos <= plan->notes_len);
		n++;
	}
	return n;
}

/*
 * A process with two threads and these mappings (in the images: the second
 * page of the executable, the first anonymous page, the DONTDUMP page):
 *   0x400000-0x403000 r-x /usr/bin/proc, offset 0
 *   0x500000-0x501000 r-- /lib/libc.so.6, offset 0x2000
 *   0x600000-0x602000 rw- anonymous (argv at its start)
 *   0x700000-0x701000 rw- anonymous, MADV_DONTDUMP
 *   0x7fff0000-0x7fff4000 r-- [vvar]
 */
struct world {
	uint8_t pages[3 * PG];
	struct c2c_blob blob;
	struct c2c_extent ext[3];
	struct c2c_thread threads[2];
	uint64_t auxv[4];
	struct c2c_vma vmas[5];
	struct c2c_process p;
};

static char pages_path[] = "d/pages-1.img";

/* No --root: only the images' pages. */
static const struct c2c_coreplan_opts no_opts = { 0, C2C_FILE_PAGES_NONE, NULL };
static const struct c2c_coreplan_opts dontdump_opts = { C2C_FLAG_INCLUDE_DONTDUMP,
							C2C_FILE_PAGES_NONE, NULL };

static struct world *world_new(void)
{
	struct world *w = calloc(1, sizeof(*w));
	const uint32_t anon = C2C_VMA_REGULAR | C2C_VMA_ANON_PRIVATE;
	const uint32_t file = C2C_VMA_REGULAR | C2C_VMA_FILE_PRIVATE;

	assert_non_null(w);
	memset(w->pages, 0x11, PG);
	memset(w->pages + PG, 0x22, PG);
	memcpy(w->pages + PG, "prog\0-x\0", 8);
	memset(w->pages + 2 * PG, 0x33, PG);
	w->blob = (struct c2c_blob){ .path = pages_path, .data = w->pages, .size = sizeof(w->pages),
				     .fd = -1, .borrowed = true };
	w->ext[0] = (struct c2c_extent){ 0x401000, 1, &w->blob, 0 };
	w->ext[1] = (struct c2c_extent){ 0x600000, 1, &w->blob, PG };
	w->ext[2] = (struct c2c_extent){ 0x700000, 1, &w->blob, 2 * PG };

	for (int i = 0; i < 2; i++) {
		struct c2c_thread *t = &w->threads[i];

		t->tid = 100 + (uint32_t)i;
		t->regs.fpvalid = true;
		memset(c2c_regs_add_set(&t->regs, "CORE", NT_PRFPREG, 512), 0x60 + i, 512);
		/* AVX on the leader only */
		memset(c2c_regs_add_set(&t->regs, "LINUX", NT_X86_XSTATE, i == 0 ? 832 : 576),
		       0x70 + i, i == 0 ? 832 : 576);
	}
	w->auxv[0] = 6; /* AT_PAGESZ */
	w->auxv[1] = 4096;

	w->vmas[0] = (struct c2c_vma){ .start = 0x400000, .end = 0x403000, .prot = 5,
				       .flags = C2C_MAP_PRIVATE, .status = file,
				       .path = "/usr/bin/proc" };
	w->vmas[1] = (struct c2c_vma){ .start = 0x500000, .end = 0x501000, .pgoff = 0x2000,
				       .prot = 1, .flags = C2C_MAP_PRIVATE, .status = file,
				       .path = "/lib/libc.so.6" };
	w->vmas[2] = (struct c2c_vma){ .start = 0x600000, .end = 0x602000, .prot = 3,
				       .flags = C2C_MAP_PRIVATE, .status = anon };
	w->vmas[3] = (struct c2c_vma){ .start = 0x700000, .end = 0x701000, .prot = 3,
				       .flags = C2C_MAP_PRIVATE, .status = anon,
				       .madv = C2C_MADV_DONTDUMP };
	w->vmas[4] = (struct c2c_vma){ .start = 0x7fff0000, .end = 0x7fff4000, .prot = 1,
				       .flags = C2C_MAP_PRIVATE,
				       .status = C2C_VMA_REGULAR | C2C_VMA_VVAR };

	w->p = (struct c2c_process){ .pid = 100, .ppid = 1, .pgid = 100, .sid = 100,
				     .state = C2C_TASK_ALIVE, .comm = "renamed",
				     .arch = &c2c_arch_x86_64, .page_size = 4096,
				     .threads = w->threads, .nthreads = 2, .has_mm = true,
				     .exe_path = "/usr/bin/proc", .arg_start = 0x600000,
				     .arg_end = 0x600008, .auxv = w->auxv, .nauxv = 4,
				     .vmas = w->vmas, .nvmas = 5,
				     .pm = { .ext = w->ext, .n = 3, .own = &w->blob, .page_size = 4096 } };
	return w;
}

static void expect_seg(const struct c2c_coreplan *plan, size_t i, uint64_t vaddr, uint64_t memsz,
		       uint64_t filesz, uint32_t flags, size_t npieces)
{
	const struct c2c_segment *s;

	if (i >= plan->nsegs)
		fail_msg("segment %zu expected, only %zu", i, plan->nsegs);
	s = &plan->segs[i];
	assert_int_equal(s->vaddr, vaddr);
	assert_int_equal(s->memsz, memsz);
	assert_int_equal(s->filesz, filesz);
	assert_int_equal(s->flags, flags);
	assert_int_equal(s->npieces, npieces);
}

static void expect_piece(const struct c2c_coreplan *plan, const struct c2c_segment *s, size_t k,
			 uint64_t seg_off, uint64_t len, const struct c2c_blob *blob,
			 uint64_t blob_off)
{
	const struct c2c_piece *pc = &plan->pieces[s->piece0 + k];

	assert_true(s->piece0 + k < plan->npieces);
	assert_int_equal(pc->seg_off, seg_off);
	assert_int_equal(pc->len, len);
	assert_ptr_equal(pc->blob, blob);
	assert_int_equal(pc->blob_off, blob_off);
}

static void plan_note_order(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct world *w = world_new();
	struct c2c_coreplan plan;
	struct note n[16];
	static const struct {
		const char *name;
		uint32_t type, descsz;
	} want[] = {
		{ "CORE", NT_PRSTATUS, 336 },	  { "CORE", NT_PRPSINFO, 136 },
		{ "CORE", NT_SIGINFO, 128 },	  { "CORE", NT_AUXV, 32 },
		{ "CORE", NT_FILE, 16 + 2 * 24 + 14 + 15 },
		{ "CORE", NT_PRFPREG, 512 },	  { "LINUX", NT_X86_XSTATE, 832 },
		{ "CORE", NT_PRSTATUS, 336 },	  { "CORE", NT_PRFPREG, 512 },
		{ "LINUX", NT_X86_XSTATE, 576 },
	};

	(void)state;
	c2c_assert_ok(ctx, c2c_corebuild_plan(ctx, &w->p, &no_opts, &plan));
	assert_int_equal(parse_notes(&plan, n, 16), C2C_ARRAY_SIZE(want));
	for (size_t i = 0; i < C2C_ARRAY_SIZE(want); i++) {
		if (n[i].type != want[i].type || strcmp(n[i].name, want[i].name) != 0 ||
		    n[i].descsz != want[i].descsz)
			fail_msg("note %zu is %s/%#x/%u, expected %s/%#x/%u", i, n[i].name,
				 n[i].type, n[i].descsz, want[i].name, want[i].type,
				 want[i].descsz);
		assert_int_equal(n[i].namesz, strlen(want[i].name) + 1);
	}

	/* Which thread each regset belongs to. */
	assert_int_equal(get32(n[0].desc + 32), 100);
	assert_int_equal(get32(n[7].desc + 32), 101);
	assert_int_equal(n[5].desc[0], 0x60);
	assert_int_equal(n[8].desc[511], 0x61);
	/* PRPSINFO: pid, the executable's name (not the renamed comm), argv with spaces. */
	assert_int_equal(get32(n[1].desc + 24), 100);
	assert_string_equal((const char *)n[1].desc + 40, "proc");
	assert_string_equal((const char *)n[1].desc + 56, "prog -x ");
	/* SIGINFO: nothing, no signal caused this core. */
	for (int i = 0; i < 128; i++)
		assert_int_equal(n[2].desc[i], 0);
	/* AUXV: the words as saved. */
	assert_memory_equal(n[3].desc, w->auxv, 32);
	c2c_coreplan_release(&plan);
	free(w);
	c2c_ctx_free(ctx);
}

static void plan_nt_file(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct world *w = world_new();
	struct c2c_coreplan plan;
	struct note n[16];
	const uint8_t *d;

	(void)state;
	c2c_assert_ok(ctx, c2c_corebuild_plan(ctx, &w->p, &no_opts, &plan));
	assert_int_equal(parse_notes(&plan, n, 16), 10);
	assert_int_equal(n[4].type, NT_FILE);
	d = n[4].desc;
	assert_int_equal(get64(d), 2);	      /* count: file-backed VMAs only */
	assert_int_equal(get64(d + 8), 4096); /* page size */
	assert_int_equal(get64(d + 16), 0x400000);
	assert_int_equal(get64(d + 24), 0x403000);
	assert_int_equal(get64(d + 32), 0); /* file offset in pages */
	assert_int_equal(get64(d + 40), 0x500000);
	assert_int_equal(get64(d + 48), 0x501000);
	assert_int_equal(get64(d + 56), 2); /* 0x2000 bytes */
	assert_memory_equal(d + 64, "/usr/bin/proc\0/lib/libc.so.6\0", 29);
	assert_int_equal(n[4].descsz, 64 + 29);
	c2c_coreplan_release(&plan);
	free(w);
	c2c_ctx_free(ctx);
}

static void plan_segments(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct world *w = world_new();
	struct c2c_coreplan plan;

	(void)state;
	c2c_assert_ok(ctx, c2c_corebuild_plan(ctx, &w->p, &no_opts, &plan));
	assert_int_equal(plan.nsegs, 5);
	/* The executable: empty marker at its start (first page not in the images, pgoff 0) ... */
	expect_seg(&plan, 0, 0x400000, 0, 0, PF_R | PF_X, 0);
	/* ... then only the page the images hold; none for 0x400000 or 0x402000. */
	expect_seg(&plan, 1, 0x401000, PG, PG, PF_R | PF_X, 1);
	expect_piece(&plan, &plan.segs[1], 0, 0, PG, &w->blob, 0);
	/* libc at pgoff 0x2000 with no page in the images: no segment at all. */
	/* Anonymous: one PT_LOAD, the missing page is zeros (no piece, but in the file). */
	expect_seg(&plan, 2, 0x600000, 2 * PG, 2 * PG, PF_R | PF_W, 1);
	expect_piece(&plan, &plan.segs[2], 0, 0, PG, &w->blob, PG);
	/* MADV_DONTDUMP and vvar: present, but no bytes in the file. */
	expect_seg(&plan, 3, 0x700000, PG, 0, PF_R | PF_W, 0);
	expect_seg(&plan, 4, 0x7fff0000, 4 * PG, 0, PF_R, 0);
	assert_int_equal(plan.npieces, 2);
	assert_int_equal(plan.data_bytes, 2 * PG);
	assert_int_equal(plan.lazy_pages, 0);
	c2c_coreplan_release(&plan);

	/* C2C_FLAG_INCLUDE_DONTDUMP keeps the DONTDUMP page. */
	c2c_assert_ok(ctx, c2c_corebuild_plan(ctx, &w->p, &dontdump_opts, &plan));
	assert_int_equal(plan.nsegs, 5);
	expect_seg(&plan, 3, 0x700000, PG, PG, PF_R | PF_W, 1);
	expect_piece(&plan, &plan.segs[3], 0, 0, PG, &w->blob, 2 * PG);
	expect_seg(&plan, 4, 0x7fff0000, 4 * PG, 0, PF_R, 0);
	assert_int_equal(plan.data_bytes, 3 * PG);
	c2c_coreplan_release(&plan);
	free(w);
	c2c_ctx_free(ctx);
}

static void plan_file_first_page_present(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct world *w = world_new();
	struct c2c_coreplan plan;

	(void)state;
	/* The images hold the executable's first page: no marker, the data segment starts there. */
	w->ext[0].addr = 0x400000;
	c2c_assert_ok(ctx, c2c_corebuild_plan(ctx, &w->p, &no_opts, &plan));
	assert_int_equal(plan.nsegs, 4);
	expect_seg(&plan, 0, 0x400000, PG, PG, PF_R | PF_X, 1);
	expect_piece(&plan, &plan.segs[0], 0, 0, PG, &w->blob, 0);
	expect_seg(&plan, 1, 0x600000, 2 * PG, 2 * PG, PF_R | PF_W, 1);
	c2c_coreplan_release(&plan);
	free(w);
	c2c_ctx_free(ctx);
}

static void plan_lazy_and_special(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct world *w = world_new();
	struct c2c_extent ext[2] = {
		{ 0x600000, 1, &w->blob, PG },
		{ 0x601000, 1, NULL, 0 }, /* lazy: no data anywhere */
	};
	struct c2c_vma vmas[3] = {
		{ .start = 0x600000, .end = 0x603000, .prot = 3, .flags = C2C_MAP_PRIVATE,
		  .status = C2C_VMA_REGULAR | C2C_VMA_ANON_PRIVATE },
		/* PROT_NONE anonymous memory that never had pages. */
		{ .start = 0x700000, .end = 0x702000, .prot = 0, .flags = C2C_MAP_PRIVATE,
		  .status = C2C_VMA_REGULAR | C2C_VMA_ANON_PRIVATE },
		/* [vsyscall]: CRIU has no copy; dumped as zeros, like the kernel. */
		{ .start = 0xffffffffff600000ULL, .end = 0xffffffffff601000ULL, .prot = 4,
		  .flags = C2C_MAP_PRIVATE, .status = C2C_VMA_REGULAR | C2C_VMA_VSYSCALL },
	};
	struct c2c_coreplan plan;

	(void)state;
	w->p.vmas = vmas;
	w->p.nvmas = 3;
	w->p.pm = (struct c2c_pagemap){ .ext = ext, .n = 2, .lazy_pages = 1, .page_size = 4096 };
	c2c_assert_ok(ctx, c2c_corebuild_plan(ctx, &w->p, &no_opts, &plan));
	assert_int_equal(plan.nsegs, 4);
	/* The lazy page splits the VMA and gets no segment; the zero page after it does. */
	expect_seg(&plan, 0, 0x600000, PG, PG, PF_R | PF_W, 1);
	expect_seg(&plan, 1, 0x602000, PG, PG, PF_R | PF_W, 0);
	expect_seg(&plan, 2, 0x700000, 2 * PG, 0, 0, 0);
	expect_seg(&plan, 3, 0xffffffffff600000ULL, PG, PG, PF_X, 0);
	assert_int_equal(plan.lazy_pages, 1);
	assert_int_equal(plan.data_bytes, PG);
	c2c_coreplan_release(&plan);
	free(w);
	c2c_ctx_free(ctx);
}

/*
 * File layout (corebuild.h): data from 4096, one region per VMA that can
 * hold data, in address order, each segment at region + (vaddr - VMA start);
 * program headers, notes and (PN_XNUM) section header 0 after the data.
 */
static void plan_layout(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct world *w = world_new();
	struct c2c_coreplan plan;
	struct c2c_vma *many;
	const size_t nmany = 70000;

	(void)state;
	c2c_assert_ok(ctx, c2c_corebuild_plan(ctx, &w->p, &no_opts, &plan));
	assert_int_equal(plan.nsegs, 5);
	/* The executable holds own pages: its region is [4096, 4096 + 3 pages). */
	assert_int_equal(plan.segs[0].offset, 4096);		/* marker at 0x400000 */
	assert_int_equal(plan.segs[1].offset, 4096 + PG);	/* 0x401000 */
	/* libc (no own pages, no --root) gets no region; the anonymous VMA comes next. */
	assert_int_equal(plan.segs[2].offset, 4096 + 3 * PG);
	/* DONTDUMP and vvar: no region, an empty segment at the current offset. */
	assert_int_equal(plan.segs[3].offset, 4096 + 5 * PG);
	assert_int_equal(plan.segs[4].offset, 4096 + 5 * PG);
	assert_int_equal(plan.phoff, 4096 + 5 * PG);
	assert_int_equal(plan.notes_off, plan.phoff + 6 * sizeof(Elf64_Phdr));
	assert_int_equal(plan.size, plan.notes_off + plan.notes_len);
	assert_int_equal(plan.shoff, 0);
	c2c_coreplan_release(&plan);

	/* Without own pages in it, an anonymous VMA still has its region; a file one not. */
	w->p.pm.own = NULL;
	c2c_assert_ok(ctx, c2c_corebuild_plan(ctx, &w->p, &no_opts, &plan));
	assert_int_equal(plan.segs[0].offset, 4096);
	assert_int_equal(plan.segs[1].offset, 4096);	/* packed */
	assert_int_equal(plan.segs[2].offset, 4096 + PG);
	c2c_coreplan_release(&plan);
	w->p.pm.own = &w->blob;

	/* Regions of 1 MiB and more start 64 KiB aligned. */
	w->vmas[2].end = 0x600000 + (1ULL << 20);
	c2c_assert_ok(ctx, c2c_corebuild_plan(ctx, &w->p, &no_opts, &plan));
	assert_int_equal(plan.segs[2].offset, 64 << 10);
	assert_int_equal(plan.segs[2].filesz, 1ULL << 20);
	assert_int_equal(plan.phoff, (64 << 10) + (1ULL << 20));
	c2c_coreplan_release(&plan);

	/* PN_XNUM: section header 0 follows the notes, 8-aligned, and ends the file. */
	many = calloc(nmany, sizeof(*many));
	assert_non_null(many);
	for (size_t i = 0; i < nmany; i++)
		many[i] = (struct c2c_vma){ .start = 0x10000000 + 2 * PG * i,
					    .end = 0x10000000 + 2 * PG * i + PG,
					    .flags = C2C_MAP_PRIVATE,
					    .status = C2C_VMA_REGULAR | C2C_VMA_ANON_PRIVATE };
	many[0].start = 0x600000; /* argv */
	many[0].end = 0x601000;
	many[0].prot = 3;
	w->p.vmas = many;
	w->p.nvmas = nmany;
	c2c_assert_ok(ctx, c2c_corebuild_plan(ctx, &w->p, &no_opts, &plan));
	assert_int_equal(plan.nsegs, nmany);
	assert_int_equal(plan.segs[0].offset, 4096);
	assert_int_equal(plan.phoff, 4096 + PG);
	assert_int_equal(plan.notes_off, plan.phoff + (nmany + 1) * sizeof(Elf64_Phdr));
	assert_int_equal(plan.shoff, (plan.notes_off + plan.notes_len + 7) & ~7ULL);
	assert_int_equal(plan.size, plan.shoff + sizeof(Elf64_Shdr));
	c2c_coreplan_release(&plan);
	free(many);
	free(w);
	c2c_ctx_free(ctx);
}

/*
 * A 32-bit process (arm): ILP32 NT_PRSTATUS and NT_PRPSINFO, NT_AUXV of
 * 32-bit words (CRIU's u64 words narrowed), NT_FILE of 32-bit longs, and the
 * layout of Elf32 program headers and (PN_XNUM) section header 0.
 */
static void plan_ilp32(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct world *w = world_new();
	struct c2c_coreplan plan;
	struct note n[16];
	struct c2c_vma *many;
	const size_t nmany = 70000;
	const uint8_t *d;

	(void)state;
	w->p.arch = &c2c_arch_arm;
	w->auxv[2] = 16; /* AT_HWCAP, a word whose high half a 32-bit task never has */
	w->auxv[3] = 0x0037b0d6;
	w->p.nauxv = 4;
	c2c_assert_ok(ctx, c2c_corebuild_plan(ctx, &w->p, &no_opts, &plan));
	assert_int_equal(parse_notes(&plan, n, 16), 10);
	assert_int_equal(n[0].type, NT_PRSTATUS);
	assert_int_equal(n[0].descsz, 148);
	assert_int_equal(get32(n[0].desc + 24), 100); /* pr_pid */
	assert_int_equal(n[1].type, NT_PRPSINFO);
	assert_int_equal(n[1].descsz, 124);
	assert_string_equal((const char *)n[1].desc + 28, "proc");
	assert_string_equal((const char *)n[1].desc + 44, "prog -x ");
	assert_int_equal(n[2].descsz, 128); /* siginfo_t is 128 bytes on 32-bit too */
	assert_int_equal(n[3].type, NT_AUXV);
	assert_int_equal(n[3].descsz, 16);
	assert_int_equal(get32(n[3].desc), 6);
	assert_int_equal(get32(n[3].desc + 4), 4096);
	assert_int_equal(get32(n[3].desc + 8), 16);
	assert_int_equal(get32(n[3].desc + 12), 0x0037b0d6);
	assert_int_equal(n[4].type, NT_FILE);
	d = n[4].desc;
	assert_int_equal(get32(d), 2);
	assert_int_equal(get32(d + 4), 4096);
	assert_int_equal(get32(d + 8), 0x400000);
	assert_int_equal(get32(d + 12), 0x403000);
	assert_int_equal(get32(d + 16), 0);
	assert_int_equal(get32(d + 20), 0x500000);
	assert_int_equal(get32(d + 24), 0x501000);
	assert_int_equal(get32(d + 28), 2);
	assert_memory_equal(d + 32, "/usr/bin/proc\0/lib/libc.so.6\0", 29);
	assert_int_equal(n[4].descsz, 32 + 29);
	assert_int_equal(plan.notes_off, plan.phoff + 6 * sizeof(Elf32_Phdr));
	assert_int_equal(plan.shoff, 0);
	c2c_coreplan_release(&plan);

	many = calloc(nmany, sizeof(*many));
	assert_non_null(many);
	for (size_t i = 0; i < nmany; i++)
		many[i] = (struct c2c_vma){ .start = 0x10000000 + 2 * PG * i,
					    .end = 0x10000000 + 2 * PG * i + PG,
					    .flags = C2C_MAP_PRIVATE,
					    .status = C2C_VMA_REGULAR | C2C_VMA_ANON_PRIVATE };
	many[0].start = 0x600000; /* argv */
	many[0].end = 0x601000;
	many[0].prot = 3;
	w->p.vmas = many;
	w->p.nvmas = nmany;
	c2c_assert_ok(ctx, c2c_corebuild_plan(ctx, &w->p, &no_opts, &plan));
	assert_int_equal(plan.nsegs, nmany);
	assert_int_equal(plan.notes_off, plan.phoff + (nmany + 1) * sizeof(Elf32_Phdr));
	assert_int_equal(plan.shoff, (plan.notes_off + plan.notes_len + 7) & ~7ULL);
	assert_int_equal(plan.size, plan.shoff + sizeof(Elf32_Shdr));
	c2c_coreplan_release(&plan);
	free(many);

	/* An ELF32 core whose offsets would pass 4 GiB is refused. */
	w->p.vmas = w->vmas;
	w->p.nvmas = 5;
	w->vmas[2].end = 0x600000 + (5ULL << 30);
	assert_int_equal(c2c_corebuild_plan(ctx, &w->p, &no_opts, &plan), C2C_E_LIMIT);
	assert_non_null(strstr(c2c_errmsg(ctx), "more than an ELF32 core's offsets can address"));
	free(w);
	c2c_ctx_free(ctx);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(add_note_layout),
	cmocka_unit_test(add_note_big_endian),
	cmocka_unit_test(plan_note_order),
	cmocka_unit_test(plan_nt_file),
	cmocka_unit_test(plan_segments),
	cmocka_unit_test(plan_file_first_page_present),
	cmocka_unit_test(plan_lazy_and_special),
	cmocka_unit_test(plan_layout),
	cmocka_unit_test(plan_ilp32),
};

C2C_UNIT_MAIN(tests)
