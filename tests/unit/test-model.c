/*
 * Unit tests of src/lib/model/: c2c_checkpoint_load() over image sets held
 * in a member table (c2c_source_open_tab), built with the generated protobuf
 * pack functions: the process tree, threads, zombies, pid selection, VMAs,
 * auxv, the file table with memfds and shared memory, and reads of process
 * memory across page runs and holes.
 */
#include <stdlib.h>

#include "core.pb-c.h"
#include "files.pb-c.h"
#include "imgset.h"
#include "process.h"
#include "source.h"

#define IP 16 /* index of ip in user_regs_struct (greg) */
#define SP 19

struct fx {
	struct c2c_ctx *ctx;
	struct c2c_memtab *tab;
	struct c2c_source *src;
	struct c2c_checkpoint *ck;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || !(f->ctx = c2c_ctx_new()) || !(f->tab = c2c_memtab_new("set")))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	c2c_checkpoint_free(f->ck);
	c2c_source_free(f->src);
	c2c_memtab_put(f->tab);
	c2c_ctx_free(f->ctx);
	free(f);
	return 0;
}

static int load(struct fx *f, const char *prefix, const uint32_t *pids, size_t npids)
{
	assert_null(c2c_memtab_sort(f->tab));
	c2c_assert_ok(f->ctx, c2c_source_open_tab(f->ctx, f->tab, prefix, &f->src));
	return c2c_checkpoint_load(f->ctx, f->src, pids, npids, &f->ck);
}

static const uint64_t auxv4[] = { 6, 4096, 0, 0 }; /* AT_PAGESZ, AT_NULL */

/*
 * Memory of a test process pid: one anonymous VMA [0x10000, 0x18000) whose
 * pagemap has [0x10000, 0x12000) present (pages tag, tag + 1), a hole at
 * 0x12000, [0x13000] lazy, [0x14000] present (tag + 2); pages-<pid>.img.
 */
static void add_memory(struct fx *f, const char *prefix, uint32_t pid, int tag)
{
	static const struct tvma v[] = { TVMA_ANON(0x10000, 0x18000) };
	struct tbuf img = { 0 };
	uint8_t *pages = pages_new(3, tag);
	char name[64];

	set_mm(f->tab, prefix, pid, v, 1, auxv4, 4, 0);
	pm_begin(&img, pid);
	pm_entry(&img, 0x10000, 2, PE_PRESENT);
	pm_entry(&img, 0x13000, 1, PE_LAZY);
	pm_entry(&img, 0x14000, 1, PE_PRESENT);
	snprintf(name, sizeof(name), "%spagemap-%u.img", prefix, pid);
	memtab_img(f->tab, name, &img);
	snprintf(name, sizeof(name), "%spages-%u.img", prefix, pid);
	memtab_data(f->tab, name, pages, 3 * PG);
	free(pages);
}

/*
 * The tree: 1 (one thread), 2 (child of 1, threads 5, 2, 6 listed with the
 * leader in the middle), 3 (child of 1, a zombie). skip_tid: leave that
 * thread's core image out.
 */
static void add_tree(struct fx *f, const char *prefix, uint32_t skip_tid)
{
	static const struct ttask t[] = {
		{ 1, 0, { 1 }, 1 },
		{ 2, 1, { 5, 2, 6 }, 3 },
		{ 3, 1, { 3 }, 1 },
	};
	static const uint32_t tids[] = { 1, 2, 5, 6 };

	set_inventory(f->tab, prefix);
	set_pstree(f->tab, prefix, t, 3);
	for (size_t i = 0; i < 4; i++)
		if (tids[i] != skip_tid)
			set_core(f->tab, prefix, tids[i], 1, C2C_TASK_ALIVE,
				 tids[i] == 1 ? "init" : "worker");
	set_core(f->tab, prefix, 3, 1, C2C_TASK_DEAD, "zombie");
	add_memory(f, prefix, 1, 0x10);
	add_memory(f, prefix, 2, 0x20);
}

static void tree_threads_zombie(void **state)
{
	struct fx *f = *state;
	const struct c2c_process *p;

	add_tree(f, "", 0);
	c2c_assert_ok(f->ctx, load(f, "", NULL, 0));
	assert_ptr_equal(f->ck->src, f->src);
	assert_int_equal(f->ck->nprocs, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_true(f->ck->selected[i]);
		assert_int_equal(f->ck->procs[i].pid, i + 1);
		assert_int_equal(f->ck->procs[i].pgid, 1);
		assert_int_equal(f->ck->procs[i].sid, 1);
	}

	p = &f->ck->procs[0];
	assert_int_equal(p->ppid, 0);
	assert_int_equal(p->state, C2C_TASK_ALIVE);
	assert_string_equal(p->comm, "init");
	assert_string_equal(p->arch->name, "x86_64");
	assert_false(p->compat);
	assert_int_equal(p->nthreads, 1);
	assert_int_equal(p->threads[0].tid, 1);
	assert_int_equal(p->threads[0].regs.greg[IP], 0x1001);
	assert_true(p->has_mm);

	/* Leader first, the others in pstree order, each with its own registers. */
	p = &f->ck->procs[1];
	assert_int_equal(p->ppid, 1);
	assert_int_equal(p->nthreads, 3);
	assert_int_equal(p->threads[0].tid, 2);
	assert_int_equal(p->threads[1].tid, 5);
	assert_int_equal(p->threads[2].tid, 6);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(p->threads[i].regs.greg[IP], 0x1000 + p->threads[i].tid);
		assert_int_equal(p->threads[i].regs.greg[SP], 0x7000 + p->threads[i].tid);
		assert_string_equal(p->threads[i].comm, "worker");
	}
	assert_int_equal(p->nvmas, 1);
	assert_int_equal(p->pm.n, 3);

	/* A zombie: its state and name, no threads, no memory. */
	p = &f->ck->procs[2];
	assert_int_equal(p->state, C2C_TASK_DEAD);
	assert_string_equal(p->comm, "zombie");
	assert_int_equal(p->nthreads, 0);
	assert_null(p->threads);
	assert_false(p->has_mm);
	assert_int_equal(p->nvmas, 0);
	assert_int_equal(c2c_warning_count(f->ctx), 0);
}

static void pid_filter(void **state)
{
	struct fx *f = *state;
	const uint32_t pids[] = { 2 };

	add_tree(f, "", 1); /* process 1 has no core image: not needed for pid 2 */
	c2c_assert_ok(f->ctx, load(f, "", pids, 1));
	assert_int_equal(f->ck->nprocs, 3);
	assert_false(f->ck->selected[0]);
	assert_true(f->ck->selected[1]);
	assert_false(f->ck->selected[2]);
	/* The unselected keep their place in the tree, unloaded. */
	assert_int_equal(f->ck->procs[0].pid, 1);
	assert_int_equal(f->ck->procs[0].nthreads, 0);
	assert_false(f->ck->procs[0].has_mm);
	assert_int_equal(f->ck->procs[2].ppid, 1);
	assert_int_equal(f->ck->procs[1].nthreads, 3);
	assert_true(f->ck->procs[1].has_mm);
}

static void pid_not_in_tree(void **state)
{
	struct fx *f = *state;
	const uint32_t pids[] = { 2, 9 };

	add_tree(f, "", 0);
	c2c_assert_fails(f->ctx, load(f, "", pids, 2), C2C_E_USAGE);
	assert_null(f->ck);
	assert_string_equal(c2c_errmsg(f->ctx), "'set': pid 9 is not in the checkpoint's process tree");
}

static void missing_core_image(void **state)
{
	struct fx *f = *state;

	add_tree(f, "checkpoint/", 6);
	c2c_assert_fails(f->ctx, load(f, "checkpoint/", NULL, 0), C2C_E_MISSING);
	assert_null(f->ck);
	assert_string_equal(c2c_errmsg(f->ctx),
			    "'set:checkpoint/core-6.img': required image is missing: the registers "
			    "of thread 6 of process 2");
}

static void missing_core_image_top_level(void **state)
{
	struct fx *f = *state;

	/* Images at the top of an archive: "set:core-6.img", as every other message names it. */
	add_tree(f, "", 6);
	c2c_assert_fails(f->ctx, load(f, "", NULL, 0), C2C_E_MISSING);
	assert_string_equal(c2c_errmsg(f->ctx),
			    "'set:core-6.img': required image is missing: the registers of thread 6 "
			    "of process 2");
}

static void missing_mm_and_pstree(void **state)
{
	struct fx *f = *state;
	static const struct ttask t[] = { { 4, 0, { 4 }, 1 } };

	set_inventory(f->tab, "");
	c2c_assert_fails(f->ctx, load(f, "", NULL, 0), C2C_E_MISSING);
	assert_string_equal(c2c_errmsg(f->ctx), "'set:pstree.img': required image is missing");

	c2c_op_begin(f->ctx);
	c2c_source_free(f->src);
	f->src = NULL;
	set_pstree(f->tab, "", t, 1);
	set_core(f->tab, "", 4, 1, C2C_TASK_ALIVE, "p");
	c2c_assert_fails(f->ctx, load(f, "", NULL, 0), C2C_E_MISSING);
	assert_string_equal(c2c_errmsg(f->ctx), "'set:mm-4.img': required image is missing");
}

static void unsupported_architecture(void **state)
{
	struct fx *f = *state;
	static const struct ttask t[] = { { 1, 0, { 1 }, 1 } };

	set_inventory(f->tab, "");
	set_pstree(f->tab, "", t, 1);
	set_core(f->tab, "", 1, 6, C2C_TASK_ALIVE, "p"); /* CoreEntry.mtype 6: mips */
	add_memory(f, "", 1, 0x10);
	c2c_assert_fails(f->ctx, load(f, "", NULL, 0), C2C_E_UNSUPPORTED);
	assert_string_equal(c2c_errmsg(f->ctx),
			    "'set:core-1.img': offset 8 (0x8), record 0: architecture mips "
			    "(CoreEntry.mtype 6) is not supported; only x86_64 (1), arm (2), "
			    "aarch64 (3), ppc64 (4), s390 (5) and riscv64 (8) are");
}

/* One process 1 with the given VMAs (no pages) and auxv. */
static int load_vmas(struct fx *f, const struct tvma *v, size_t nv, const uint64_t *auxv,
		     size_t nauxv)
{
	struct tbuf img = { 0 };

	set_single(f->tab, "", v, nv, auxv, nauxv, 0);
	pm_begin(&img, 1);
	memtab_img(f->tab, "pagemap-1.img", &img);
	return load(f, "", NULL, 0);
}

static void vmas_sorted(void **state)
{
	struct fx *f = *state;
	const struct tvma v[] = {
		TVMA_ANON(0x30000, 0x31000),
		TVMA_ANON(0x10000, 0x12000),
		{ 0x12000, 0x13000, 0, 2, 0x10000 | 1, 0, 0 }, /* guard region: skipped */
		TVMA_ANON(0x20000, 0x30000), /* adjacent to the first: fine */
	};
	const struct c2c_process *p;

	c2c_assert_ok(f->ctx, load_vmas(f, v, 4, auxv4, 4));
	p = &f->ck->procs[0];
	assert_int_equal(p->nvmas, 3);
	assert_int_equal(p->vmas[0].start, 0x10000);
	assert_int_equal(p->vmas[0].end, 0x12000);
	assert_int_equal(p->vmas[1].start, 0x20000);
	assert_int_equal(p->vmas[2].start, 0x30000);
	assert_int_equal(p->vmas[2].prot, 3);
	assert_int_equal(p->vmas[2].flags, C2C_MAP_PRIVATE);
	assert_int_equal(p->vmas[2].status, C2C_VMA_REGULAR | C2C_VMA_ANON_PRIVATE);
	assert_null(p->vmas[0].path);
	assert_int_equal(p->pm.n, 0);
}

static void vmas_overlap(void **state)
{
	struct fx *f = *state;
	const struct tvma v[] = {
		TVMA_ANON(0x12000, 0x14000),
		TVMA_ANON(0x10000, 0x13000),
	};

	c2c_assert_fails(f->ctx, load_vmas(f, v, 2, auxv4, 4), C2C_E_INCONSISTENT);
	assert_string_equal(c2c_errmsg(f->ctx), "'set:mm-1.img': offset 8 (0x8), record 0: VMAs "
						"[0x10000, 0x13000) and [0x12000, 0x14000) overlap");
}

static void vma_unaligned(void **state)
{
	struct fx *f = *state;
	const struct tvma v[] = {
		TVMA_ANON(0x10000, 0x11000),
		TVMA_ANON(0x20000, 0x20800),
	};

	c2c_assert_fails(f->ctx, load_vmas(f, v, 2, auxv4, 4), C2C_E_INCONSISTENT);
	assert_string_equal(c2c_errmsg(f->ctx),
			    "'set:mm-1.img': offset 8 (0x8), record 0: VMA 1 [0x20000, 0x20800) is "
			    "empty or not page aligned");
}

static void auxv_gets_at_null(void **state)
{
	struct fx *f = *state;
	const struct tvma v[] = { TVMA_ANON(0x10000, 0x11000) };
	const uint64_t cut[] = { 6, 4096, 25, 0x1234 };		  /* AT_NULL cut off */
	const uint64_t early[] = { 6, 4096, 0, 0, 99, 99 };	  /* words after AT_NULL */
	const uint64_t odd[] = { 6, 4096, 25 };			  /* a lone type word */
	const struct c2c_process *p;

	c2c_assert_ok(f->ctx, load_vmas(f, v, 1, cut, 4));
	p = &f->ck->procs[0];
	assert_int_equal(p->nauxv, 6);
	assert_memory_equal(p->auxv, ((const uint64_t[]){ 6, 4096, 25, 0x1234, 0, 0 }),
			    6 * sizeof(uint64_t));

	for (int k = 0; k < 2; k++) {
		c2c_checkpoint_free(f->ck);
		c2c_source_free(f->src);
		c2c_memtab_put(f->tab);
		f->ck = NULL;
		f->src = NULL;
		f->tab = c2c_memtab_new("set");
		c2c_assert_ok(f->ctx, load_vmas(f, v, 1, k ? odd : early, k ? 3 : 6));
		p = &f->ck->procs[0];
		assert_int_equal(p->nauxv, 4);
		assert_memory_equal(p->auxv, ((const uint64_t[]){ 6, 4096, 0, 0 }),
				    4 * sizeof(uint64_t));
	}
}

static void add_file(struct tbuf *img, uint32_t id, const char *name)
{
	PbFileEntry fe = PB_FILE_ENTRY__INIT;
	PbRegFileEntry reg = PB_REG_FILE_ENTRY__INIT;

	fe.has_type = fe.has_id = reg.has_id = true;
	fe.type = 1;
	fe.id = reg.id = id;
	reg.name = (char *)(uintptr_t)name;
	fe.reg = &reg;
	img_msg(img, &fe.base);
}

static void add_memfd_file(struct tbuf *img, uint32_t id, uint64_t inode)
{
	PbFileEntry fe = PB_FILE_ENTRY__INIT;
	PbMemfdFileEntry mf = PB_MEMFD_FILE_ENTRY__INIT;

	fe.has_type = fe.has_id = mf.has_inode_id = true;
	fe.type = 18;
	fe.id = id;
	mf.inode_id = inode;
	fe.memfd = &mf;
	img_msg(img, &fe.base);
}

/* files.img: 5 /usr/bin/prog, 7 /lib/libc.so.6, 9 a memfd of inode 77; memfd.img; shmem 300. */
static void add_files(struct fx *f)
{
	PbMemfdInodeEntry ino = PB_MEMFD_INODE_ENTRY__INIT;
	struct tbuf img = { 0 };
	uint8_t *pages = pages_new(1, 0x70);

	img_begin(&img, C2C_IMG_FILES);
	add_file(&img, 7, "/lib/libc.so.6");
	add_memfd_file(&img, 9, 77);
	add_file(&img, 5, "/usr/bin/prog");
	memtab_img(f->tab, "files.img", &img);

	ino.name = (char *)(uintptr_t)"shm";
	ino.has_inode_id = ino.has_shmid = true;
	ino.inode_id = 77;
	ino.shmid = 300;
	img_begin(&img, C2C_IMG_MEMFD);
	img_msg(&img, &ino.base);
	memtab_img(f->tab, "memfd.img", &img);

	img_begin(&img, C2C_IMG_SHMEM_PAGEMAP);
	{
		struct tbuf head = { 0 };

		tbuf_pb_varint(&head, 1, 30);
		tbuf_record(&img, &head);
		tbuf_free(&head);
	}
	pm_entry(&img, 0x1000, 1, PE_PRESENT); /* offset 0x1000 of the object */
	memtab_img(f->tab, "pagemap-shmem-300.img", &img);
	memtab_data(f->tab, "pages-30.img", pages, PG);
	free(pages);
}

static void file_vmas_and_memfd(void **state)
{
	struct fx *f = *state;
	const struct tvma v[] = {
		{ 0x400000, 0x401000, 5, 2, 0x41, 5, 0 },		 /* the executable */
		{ 0x500000, 0x502000, 1, 2, 0x41, 7, 0x3000 },	 /* libc */
		{ 0x600000, 0x602000, 3, 1, 0x4000 | 0x81, 9, 0 }, /* memfd, shared */
		{ 0x700000, 0x701000, 1, 2, 0x41, 8, 0 },		 /* id 8: not in files.img */
		{ 0x800000, 0x801000, 3, 1, 0x101, 400, 0 },	 /* shared anonymous, no pagemap */
	};
	struct tbuf img = { 0 };
	const struct c2c_process *p;

	set_single(f->tab, "", v, 5, auxv4, 4, 5);
	pm_begin(&img, 1);
	memtab_img(f->tab, "pagemap-1.img", &img);
	add_files(f);
	c2c_assert_ok(f->ctx, load(f, "", NULL, 0));

	p = &f->ck->procs[0];
	assert_string_equal(p->exe_path, "/usr/bin/prog");
	assert_int_equal(p->nvmas, 5);
	assert_string_equal(p->vmas[0].path, "/usr/bin/prog");
	assert_non_null(p->vmas[0].file);
	assert_int_equal(p->vmas[0].file->id, 5);
	assert_string_equal(p->vmas[1].path, "/lib/libc.so.6");
	assert_int_equal(p->vmas[1].pgoff, 0x3000);
	assert_string_equal(p->vmas[1].file->name, "/lib/libc.so.6");
	assert_false(p->vmas[1].file->deleted);
	/* The memfd: its kernel name, and the shared memory object behind it. */
	assert_string_equal(p->vmas[2].path, "/memfd:shm (deleted)");
	assert_null(p->vmas[2].file);
	assert_non_null(p->vmas[2].shm);
	assert_int_equal(p->vmas[2].shm->shmid, 300);
	assert_false(p->vmas[2].shm->missing);
	assert_int_equal(p->vmas[2].shm->pm.n, 1);
	assert_int_equal(p->vmas[2].shm->pm.ext[0].addr, 0x1000);
	assert_string_equal(p->vmas[2].shm->pm.ext[0].blob->path, "set:pages-30.img");
	/* An unknown file id: no name, a warning. */
	assert_null(p->vmas[3].path);
	assert_null(p->vmas[3].file);
	assert_string_equal(p->vmas[4].path, "/dev/zero (deleted)");
	assert_true(p->vmas[4].shm->missing);
	assert_int_equal(f->ck->nfiles, 3);
	assert_int_equal(f->ck->files[0].id, 5); /* sorted by id */
	assert_int_equal(f->ck->files[2].id, 9);
	assert_int_equal(f->ck->nshmems, 2);

	assert_int_equal(c2c_warning_count(f->ctx), 2);
	assert_string_equal(f->ctx->warnings.v[0],
			    "'set:mm-1.img': offset 8 (0x8), record 0: mapping 0x700000 refers to "
			    "file id 8, which files.img does not name: it is left out of NT_FILE");
	assert_string_equal(f->ctx->warnings.v[1],
			    "'set:pagemap-shmem-400.img' is missing: content of the shared memory "
			    "object is left out");
}

static void memfd_vma_of_regular_file(void **state)
{
	struct fx *f = *state;
	const struct tvma v[] = { { 0x600000, 0x601000, 3, 1, 0x4000 | 0x81, 7, 0 } };
	struct tbuf img = { 0 };

	set_single(f->tab, "", v, 1, auxv4, 4, 0);
	pm_begin(&img, 1);
	memtab_img(f->tab, "pagemap-1.img", &img);
	add_files(f);
	c2c_assert_fails(f->ctx, load(f, "", NULL, 0), C2C_E_INCONSISTENT);
	assert_string_equal(c2c_errmsg(f->ctx),
			    "'set:mm-1.img': offset 8 (0x8), record 0: memfd mapping 0x600000 "
			    "refers to file id 7, which is not a memfd in files.img");
}

static void read_mem_runs_and_holes(void **state)
{
	struct fx *f = *state;
	const struct c2c_process *p;
	uint8_t buf[0x5000], want[0x5000];

	add_tree(f, "", 0);
	c2c_assert_ok(f->ctx, load(f, "", NULL, 0));
	p = &f->ck->procs[1]; /* tag 0x20 */

	/* Across a run edge, the hole at 0x12000, the lazy page and into the last run. */
	memset(want, 0, sizeof(want));
	memset(want, 0x21, 0x10);		   /* 0x11ff0: end of the second page */
	memset(want + 0x10 + 0x2000, 0x22, 0x20); /* 0x14000: third page */
	memset(buf, 0xee, sizeof(buf));
	c2c_assert_ok(f->ctx, c2c_process_read_mem(f->ctx, p, 0x11ff0, buf, 0x2030));
	assert_memory_equal(buf, want, 0x2030);
	assert_int_equal(buf[0x2030], 0xee); /* not a byte more */

	/* Whole runs, from before the first. */
	memset(want, 0, sizeof(want));
	memset(want + 0x1000, 0x20, PG);
	memset(want + 0x2000, 0x21, PG);
	c2c_assert_ok(f->ctx, c2c_process_read_mem(f->ctx, p, 0xf000, buf, 0x5000));
	assert_memory_equal(buf, want, 0x5000);

	/* Only a hole, only the lazy page, past every run: zeros. */
	memset(want, 0, sizeof(want));
	memset(buf, 0xee, sizeof(buf));
	c2c_assert_ok(f->ctx, c2c_process_read_mem(f->ctx, p, 0x12100, buf, 0x100));
	c2c_assert_ok(f->ctx, c2c_process_read_mem(f->ctx, p, 0x13000, buf + 0x100, PG));
	c2c_assert_ok(f->ctx, c2c_process_read_mem(f->ctx, p, 0x15000, buf + 0x1100, 0x100));
	assert_memory_equal(buf, want, 0x1200);
	/* The other process reads its own pages. */
	c2c_assert_ok(f->ctx, c2c_process_read_mem(f->ctx, &f->ck->procs[0], 0x14000, buf, 1));
	assert_int_equal(buf[0], 0x12);
	assert_int_equal(c2c_errcode(f->ctx), 0);
}

static void read_mem_truncated_pages(void **state)
{
	struct fx *f = *state;
	struct c2c_process *p;
	uint8_t buf[16];
	struct c2c_blob *b;

	add_tree(f, "", 0);
	c2c_assert_ok(f->ctx, load(f, "", NULL, 0));
	p = &f->ck->procs[0];
	/* Pages that vanished after loading (a shorter file): the read says where. */
	b = (struct c2c_blob *)(uintptr_t)p->pm.ext[2].blob;
	b->size = 2 * PG + 8;
	c2c_assert_fails(f->ctx, c2c_process_read_mem(f->ctx, p, 0x14000, buf, 16),
			 C2C_E_TRUNCATED);
	assert_string_equal(c2c_errmsg(f->ctx),
			    "'set:pages-1.img': offset 8192 (0x2000): need 16 bytes, file has 8");
}

static void pages_image_missing_in_archive(void **state)
{
	struct fx *f = *state;
	const struct tvma v[] = { TVMA_ANON(0x10000, 0x11000) };
	struct tbuf img = { 0 };

	set_single(f->tab, "", v, 1, auxv4, 4, 0);
	pm_begin(&img, 9);
	pm_entry(&img, 0x10000, 1, PE_PRESENT);
	memtab_img(f->tab, "pagemap-1.img", &img);
	c2c_assert_fails(f->ctx, load(f, "", NULL, 0), C2C_E_MISSING);
	assert_string_equal(c2c_errmsg(f->ctx),
			    "'set:pagemap-1.img': offset 14 (0xe), record 1: pages image "
			    "'set:pages-9.img' (pages_id of record 0) is missing");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(tree_threads_zombie, setup, teardown),
	cmocka_unit_test_setup_teardown(pid_filter, setup, teardown),
	cmocka_unit_test_setup_teardown(pid_not_in_tree, setup, teardown),
	cmocka_unit_test_setup_teardown(missing_core_image, setup, teardown),
	cmocka_unit_test_setup_teardown(missing_core_image_top_level, setup, teardown),
	cmocka_unit_test_setup_teardown(missing_mm_and_pstree, setup, teardown),
	cmocka_unit_test_setup_teardown(unsupported_architecture, setup, teardown),
	cmocka_unit_test_setup_teardown(vmas_sorted, setup, teardown),
	cmocka_unit_test_setup_teardown(vmas_overlap, setup, teardown),
	cmocka_unit_test_setup_teardown(vma_unaligned, setup, teardown),
	cmocka_unit_test_setup_teardown(auxv_gets_at_null, setup, teardown),
	cmocka_unit_test_setup_teardown(file_vmas_and_memfd, setup, teardown),
	cmocka_unit_test_setup_teardown(memfd_vma_of_regular_file, setup, teardown),
	cmocka_unit_test_setup_teardown(read_mem_runs_and_holes, setup, teardown),
	cmocka_unit_test_setup_teardown(read_mem_truncated_pages, setup, teardown),
	cmocka_unit_test_setup_teardown(pages_image_missing_in_archive, setup, teardown),
};

C2C_UNIT_MAIN(tests)
