/*
 * Stage 4, process model: the checkpoint as plain C structs. Nothing from
 * protobuf-c is visible here; the model's .c files decode the images and
 * copy what a core file needs:
 *   process.c  the process tree (inventory, pstree) and loading order
 *   threads.c  threads: names, signal masks, registers (through arch/)
 *   memory.c   VMAs, auxv, shared memory, reading process memory
 *   pagemap.c  page runs of a pagemap and its parents
 *   files.c    the file table, memfds, deleted files
 *   rootfs.c   mapped files from --root and the root-FS diff
 */
#ifndef C2C_PROCESS_H
#define C2C_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch.h"
#include "source.h"

/* VmaEntry.status bits (criu/include/image.h; doc §2.4). */
#define C2C_VMA_REGULAR 0x1U
#define C2C_VMA_STACK 0x2U
#define C2C_VMA_VSYSCALL 0x4U
#define C2C_VMA_VDSO 0x8U
#define C2C_VMA_HEAP 0x20U
#define C2C_VMA_FILE_PRIVATE 0x40U
#define C2C_VMA_FILE_SHARED 0x80U
#define C2C_VMA_ANON_SHARED 0x100U
#define C2C_VMA_ANON_PRIVATE 0x200U
#define C2C_VMA_SYSVIPC 0x400U
#define C2C_VMA_SOCKET 0x800U
#define C2C_VMA_VVAR 0x1000U
#define C2C_VMA_AIORING 0x2000U
#define C2C_VMA_MEMFD 0x4000U
#define C2C_VMA_SHSTK 0x8000U
#define C2C_VMA_GUARD 0x10000U
#define C2C_VMA_UPROBES 0x20000U
#define C2C_VMA_UNSUPP 0x80000000U

/* mmap PROT_* and MAP_* values as CRIU stores them (doc §2.4). */
#define C2C_PROT_READ 0x1U
#define C2C_PROT_WRITE 0x2U
#define C2C_PROT_EXEC 0x4U
#define C2C_MAP_SHARED 0x1U
#define C2C_MAP_PRIVATE 0x2U

/* VmaEntry.madv bit for MADV_DONTDUMP (1 << 16, doc §2.4). */
#define C2C_MADV_DONTDUMP (1ULL << 16)

/*
 * A run of pages: their bytes are at `off` in `blob`, or, when blob is NULL,
 * nowhere in the checkpoint (lazy pages). addr is a virtual address for a
 * task, an offset in the object for shared memory.
 */
struct c2c_extent {
	uint64_t addr;
	uint64_t npages;
	const struct c2c_blob *blob;
	uint64_t off;
};

/* Sorted, non-overlapping extents of one pagemap after parent resolution. */
struct c2c_pagemap {
	struct c2c_extent *ext;
	size_t n;
	uint64_t lazy_pages;   /* pages without data anywhere (PE_LAZY only) */
	uint64_t parent_pages; /* pages whose data is in a parent directory */
	const struct c2c_blob *own; /* this image's own pages-N.img, or NULL */
};

/* Content of one shared memory object (pagemap-shmem-<shmid>.img). */
struct c2c_shmem {
	uint64_t shmid;
	bool missing; /* no pagemap image: content unknown */
	struct c2c_pagemap pm;
};

/* A file of files.img (or reg-files.img) that a VMA maps. */
struct c2c_file {
	uint32_t id;
	uint32_t type;	   /* FileEntry.type: REG 1, MEMFD 18 */
	char *name;	   /* REG: path as recorded (for --root) */
	char *path;	   /* REG: NT_FILE name, " (deleted)" appended when it was */
	bool deleted;	   /* unlinked at dump time (remap-fpath.img) */
	bool has_size;	   /* size recorded (RegFileEntry.size) */
	uint64_t size;
	uint8_t build_id[64]; /* recorded NT_GNU_BUILD_ID descriptor, zero padded */
	size_t build_id_len;
	uint64_t inode_id; /* MEMFD: MemfdInodeEntry.inode_id */

	/* --root: the file's content, opened and checked on first use (rootfs.c) */
	bool root_checked;
	const struct c2c_blob *root_blob; /* NULL: missing or different */
};

struct c2c_vma {
	uint64_t start, end; /* [start, end), page aligned */
	uint64_t pgoff;	     /* byte offset in the file or object */
	uint64_t shmid;
	uint64_t madv;
	uint32_t prot, flags, status;
	const char *path;	       /* NT_FILE name, or NULL if not file backed */
	struct c2c_file *file;	       /* regular file mapped, or NULL */
	const struct c2c_shmem *shm; /* shared memory content, or NULL */
};

struct c2c_thread {
	uint32_t tid;
	char comm[16];
	uint64_t sigpend, sighold;
	struct c2c_regs regs; /* in the layouts of the notes (arch.h) */
};

struct c2c_process {
	uint32_t pid, ppid, pgid, sid;
	uint32_t state, exit_code, pf_flags, stop_signo;
	uint32_t uid, gid;
	int32_t nice;
	char comm[16];
	const struct c2c_arch *arch; /* of its threads' CoreEntry.mtype */
	bool compat; /* 32-bit task */

	struct c2c_thread *threads; /* leader first */
	size_t nthreads;

	bool has_mm;
	const char *exe_path; /* executable (mm exe_file_id in files.img), or NULL */
	uint64_t arg_start, arg_end;
	uint64_t *auxv; /* (type, value) words, AT_NULL-terminated */
	size_t nauxv;
	struct c2c_vma *vmas; /* ascending, non-overlapping */
	size_t nvmas;
	struct c2c_pagemap pm;
};

struct c2c_rootdiff;

struct c2c_checkpoint {
	struct c2c_source *src;
	struct c2c_rootdiff *diff; /* the container's changed files (rootfs-diff.tar), or NULL */
	int rootfd;	  /* --root directory, or -1 */
	const char *root; /* its name (borrowed) */
	struct c2c_process *procs; /* in pstree order */
	size_t nprocs;
	bool *selected; /* per process: convert it */

	struct c2c_file *files; /* sorted by id */
	size_t nfiles;
	bool files_loaded;
	struct c2c_memfd *memfds;
	size_t nmemfds;

	struct c2c_shmem **shmems;
	size_t nshmems;
	struct c2c_blob **blobs; /* every pages image opened */
	size_t nblobs;
};

/*
 * Load the process tree and, for every process whose pid is in pids (all when
 * npids is 0), its threads, memory map and page runs. Returns 0 or a
 * negative error; a pid not in the tree is C2C_E_USAGE.
 */
int c2c_checkpoint_load(struct c2c_ctx *ctx, struct c2c_source *src, const uint32_t *pids,
			size_t npids, struct c2c_checkpoint **ret);

void c2c_checkpoint_free(struct c2c_checkpoint *ck);

/*
 * Read len bytes of process memory at addr from the page runs of the images;
 * bytes with no data there read as zero. Returns 0 or a negative error.
 */
int c2c_process_read_mem(struct c2c_ctx *ctx, const struct c2c_process *p, uint64_t addr,
			 void *buf, size_t len);

/*
 * rootfs.c: the content of the regular file a VMA maps, from the --root
 * directory. Returns 0 with *ret set, or with *ret NULL when there is no
 * root, the file is missing or differs from what the checkpoint recorded
 * (a warning names it, once); or a negative error.
 */
int c2c_checkpoint_vma_file(struct c2c_ctx *ctx, struct c2c_checkpoint *ck,
			    const struct c2c_vma *v, const struct c2c_blob **ret);

/*
 * Keep an open data blob for the writer: the checkpoint takes it over (b is
 * reset) and *ret points at the kept copy until c2c_checkpoint_free().
 */
int c2c_checkpoint_keep_blob(struct c2c_ctx *ctx, struct c2c_checkpoint *ck, struct c2c_blob *b,
			     const struct c2c_blob **ret);

/*
 * rootfs.c: index the container's changed files (rootfs-diff.tar) and
 * deleted paths (deleted.files) that sit beside the images; with --root they
 * take precedence over the root directory. Absent files are no error.
 * Compressed diffs (containerd) have their needed members spooled to an
 * unnamed file in spooldirfd.
 */
int c2c_rootdiff_load(struct c2c_ctx *ctx, struct c2c_checkpoint *ck, struct c2c_source *src,
		      int spooldirfd);
void c2c_rootdiff_free(struct c2c_rootdiff *d);

/* Whether a blob starts with the ELF magic. */
bool c2c_blob_is_elf(const struct c2c_blob *b);

/*
 * rootfs.c: the NT_GNU_BUILD_ID descriptor of the ELF file in b (at most max
 * bytes into out): its length, 0 if it has none or is no 64-bit ELF file.
 * Whether it is the one the checkpoint recorded for f (RegFileEntry.build_id).
 */
size_t c2c_blob_build_id(const struct c2c_blob *b, uint8_t *out, size_t max);
bool c2c_file_build_id_matches(const struct c2c_file *f, const uint8_t *id, size_t len);

/*
 * For placing an archive's page data while it is read (convert.c): the VMAs
 * of an mm image (start, end, pgoff, prot, flags, status, madv; files not
 * resolved), sorted; and a task pagemap image's pages_id with its PE_PRESENT
 * entries in image order (addr, npages; off = their offset in the pages
 * image; blob NULL), or only the pages_id when ret is NULL. Return 0 or a
 * negative error; *ret is malloc'd.
 */
int c2c_mm_vmas(struct c2c_ctx *ctx, const struct c2c_blob *mm, struct c2c_vma **ret,
		size_t *ret_n);
int c2c_pagemap_present(struct c2c_ctx *ctx, const struct c2c_blob *pagemap, uint64_t *pages_id,
			struct c2c_extent **ret, size_t *ret_n);

/* pagemap.c: resolve one pagemap image (and its parents) into extents. */
enum c2c_pagemap_kind { C2C_PAGEMAP_TASK, C2C_PAGEMAP_SHMEM };

/*
 * Returns 0, 1 when the pagemap image does not exist (only allowed for
 * shmem), or a negative error.
 */
int c2c_pagemap_load(struct c2c_ctx *ctx, struct c2c_checkpoint *ck, struct c2c_source *src,
		     enum c2c_pagemap_kind kind, uint64_t id, struct c2c_pagemap *ret);

void c2c_pagemap_release(struct c2c_pagemap *pm);

/* Index of the first extent that ends after addr (pm->n if none). */
size_t c2c_pagemap_find(const struct c2c_pagemap *pm, uint64_t addr);

#endif /* C2C_PROCESS_H */
