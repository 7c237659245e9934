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
	uint64_t page_size; /* bytes of a page of npages (the dumped process's) */
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

/* Credentials of a task (CRIU images/creds.proto; doc §2.2.3). */
struct c2c_creds {
	bool known;
	uint32_t uid, gid, euid, egid, suid, sgid, fsuid, fsgid;
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	uint32_t secbits;
	bool no_new_privs;
	uint32_t groups[32];
	size_t ngroups;	    /* of groups[] (the rest are left out) */
	char lsm_profile[128];
};

struct c2c_process {
	uint32_t pid, ppid, pgid, sid;
	uint32_t state, exit_code, pf_flags, stop_signo;
	uint32_t uid, gid;
	struct c2c_creds creds; /* the leader's (CredsEntry in its core image) */
	int32_t nice;
	char comm[16];
	const struct c2c_arch *arch; /* of its threads' CoreEntry.mtype */
	uint64_t page_size; /* AT_PAGESZ of its auxv, else the arch's default (c2c_auxv_page_size) */
	bool compat; /* 32-bit task */

	struct c2c_thread *threads; /* leader first */
	size_t nthreads;

	bool has_mm;
	const char *exe_path; /* executable (mm exe_file_id in files.img), or NULL */
	uint64_t arg_start, arg_end;
	uint64_t env_start, env_end; /* the environment strings in memory */
	uint64_t *auxv; /* (type, value) words, AT_NULL-terminated */
	size_t nauxv;
	struct c2c_vma *vmas; /* ascending, non-overlapping */
	size_t nvmas;
	struct c2c_pagemap pm;
};

struct c2c_rootdiff;
struct c2c_netns;
struct c2c_cgroups;
struct c2c_cg_set;

struct c2c_checkpoint {
	struct c2c_source *src;
	struct c2c_rootdiff *diff; /* the container's changed files (rootfs-diff.tar), or NULL */
	int rootfd;	  /* --root directory, or -1 */
	const char *root; /* its name (borrowed) */
	struct c2c_process *procs; /* in pstree order */
	size_t nprocs;
	bool *selected; /* per process: convert it */

	struct c2c_file *files; /* sorted by id */
	size_t nfiles, files_cap;
	bool files_loaded;
	struct c2c_memfd *memfds;
	size_t nmemfds, memfds_cap;

	struct c2c_shmem **shmems; /* sorted by shmid */
	size_t nshmems, shmems_cap;
	struct c2c_blob **blobs; /* every pages image opened */
	size_t nblobs, blobs_cap;

	/* inspect --network/--cgroup: each namespace and cgroup.img read once (network.c) */
	struct c2c_netns **netns;
	size_t nnetns, netns_cap;
	struct c2c_cgroups *cgroups; /* NULL until asked for */
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

/* Whether a blob starts with the ELF magic (a shorter blob does not; no error). */
bool c2c_blob_is_elf(struct c2c_ctx *ctx, const struct c2c_blob *b);

/*
 * rootfs.c: the NT_GNU_BUILD_ID descriptor of the ELF file in b (at most max
 * bytes into out): its length, 0 if it has none or is no 64-bit ELF file.
 * Call it between c2c_try_begin and c2c_try_end: a short file has no build-id.
 * Whether it is the one the checkpoint recorded for f (RegFileEntry.build_id).
 */
size_t c2c_blob_build_id(struct c2c_ctx *ctx, const struct c2c_blob *b, uint8_t *out, size_t max);
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
		size_t *ret_n, uint64_t *page_size);
int c2c_pagemap_present(struct c2c_ctx *ctx, const struct c2c_blob *pagemap, uint64_t page_size,
			uint64_t *pages_id, struct c2c_extent **ret, size_t *ret_n);

/*
 * The page size of a process whose auxv (mm_saved_auxv, n words) is given:
 * its AT_PAGESZ, or def when it has none. CRIU's pagemaps count pages of
 * this size and the kernel aligns a core's segments to it (4, 16 or 64 KiB
 * on aarch64). Returns 0 with *ret set, or C2C_E_INCONSISTENT when AT_PAGESZ
 * is not a power of two from 4 KiB to 1 MiB.
 */
int c2c_auxv_page_size(struct c2c_ctx *ctx, const struct c2c_loc *loc, const uint64_t *auxv,
		       size_t n, uint64_t def, uint64_t *ret);

/* pagemap.c: resolve one pagemap image (and its parents) into extents. */
enum c2c_pagemap_kind { C2C_PAGEMAP_TASK, C2C_PAGEMAP_SHMEM };

/*
 * Returns 0, 1 when the pagemap image does not exist (only allowed for
 * shmem), or a negative error.
 */
int c2c_pagemap_load(struct c2c_ctx *ctx, struct c2c_checkpoint *ck, struct c2c_source *src,
		     enum c2c_pagemap_kind kind, uint64_t id, uint64_t page_size,
		     struct c2c_pagemap *ret);

void c2c_pagemap_release(struct c2c_pagemap *pm);

/* qsort comparison of extents by address. */
int c2c_extent_cmp(const void *a, const void *b);

/* Index of the first extent that ends after addr (pm->n if none). */
size_t c2c_pagemap_find(const struct c2c_pagemap *pm, uint64_t addr);

/* memory.c: the name /proc/PID/maps would show for v (path, "[heap]", "[anon]", ...). */
const char *c2c_vma_name(const struct c2c_vma *v);
/* Its permissions as /proc/PID/maps shows them ("rw-p"). */
void c2c_vma_perms(const struct c2c_vma *v, char out[5]);

/* resources.c: one open file descriptor of a process. */
struct c2c_fd_info {
	int32_t fd;
	uint32_t type;	  /* fd_types (c2c_fd_type_name) */
	bool cloexec;
	uint32_t file_id; /* FileEntry.id */
	const char *path; /* REG: the file's path (borrowed from the checkpoint), or NULL */
	uint32_t pipe_id; /* PIPE */
	bool is_inet, is_unix;
	uint32_t family, sotype, proto, state; /* AF_*, SOCK_*, IPPROTO_*, TCP_* */
	uint32_t src_port, dst_port;
	char src[48], dst[48]; /* printable addresses (inet) */
	uint32_t ino, peer;    /* socket inode, unix peer's inode */
	char *unix_name;       /* unix: bound name, '@' for NUL bytes, or NULL */
};

/* resources.c: what a process holds besides memory. */
struct c2c_task_res {
	bool has_ids;
	uint32_t files_id;
	struct {
		uint32_t pid, net, ipc, uts, mnt, user, cgroup, time;
	} ns; /* CRIU's namespace ids (equal ids: the same namespace) */
	struct c2c_fd_info *fds; /* in fdinfo order */
	size_t nfds;
	const char *cwd, *root; /* borrowed from the checkpoint, or NULL */
	char *hostname, *domainname;
	char *env; /* the environment strings, NUL-separated, env_len bytes */
	size_t env_len;
	/* network.c, c2c_task_res_add_net: borrowed from the checkpoint, or NULL */
	const struct c2c_netns *netns; /* the namespace of ns.net */
	const struct c2c_cgroups *cgroups; /* cgroup.img */
	bool has_cg_set;
	uint32_t cg_set; /* the leader's cg_set (core-<pid>.img) */
	const struct c2c_cg_set *cgset; /* that set in cgroup.img, or NULL */
};

/*
 * Load p's file descriptors, directories, namespaces, host name and
 * environment (images a core does not need: absent ones leave fields
 * empty). Returns 0 or a negative error naming the image and offset.
 */
int c2c_task_res_load(struct c2c_ctx *ctx, struct c2c_checkpoint *ck, const struct c2c_process *p,
		      struct c2c_task_res *ret);
void c2c_task_res_release(struct c2c_task_res *res);
const char *c2c_fd_type_name(uint32_t type);
const char *c2c_sk_state_name(uint32_t state);

#endif /* C2C_PROCESS_H */
