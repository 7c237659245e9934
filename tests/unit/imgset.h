/*
 * Builders of CRIU image sets held in memory, shared by the unit tests of the
 * source, archive, placement, model and pagemap modules: image files encoded
 * with the generated protobuf-c pack functions (or by hand, for the pagemap
 * tests' field combinations), member tables (struct c2c_memtab) that
 * c2c_source_open_tab() reads like an image directory, and tar archives
 * written by libarchive into memory.
 *
 * Every builder fails the running test (cmocka fail_msg) instead of returning
 * an error.
 */
#ifndef C2C_UNIT_IMGSET_H
#define C2C_UNIT_IMGSET_H

#include "helpers.h"
#include "image.h"
#include "mm.pb-c.h"

/* PagemapEntry.flags (criu/include/pagemap.h). */
#define PE_PARENT 1U
#define PE_LAZY 2U
#define PE_PRESENT 4U

#define PG 4096ULL

/* Start an image of `kind`: its prefix word (if any) and magic. */
void img_begin(struct tbuf *img, enum c2c_image_kind kind);

/* Append msg, packed, as one record; returns the record's offset. */
size_t img_msg(struct tbuf *img, const ProtobufCMessage *msg);

/* Start a pagemap image: both magic words, then a PagemapHead naming pages-<pages_id>.img. */
void pm_begin(struct tbuf *img, uint32_t pages_id);

/* Append a hand-built entry message (and free it); returns the record's offset. */
size_t pm_raw(struct tbuf *img, struct tbuf *msg);

/* An entry as CRIU >= 4.2 writes it: vaddr (1), flags (4), nr_pages (5). */
size_t pm_entry(struct tbuf *img, uint64_t vaddr, uint64_t nr, uint32_t flags);

/* npages pages (malloc'd), page k filled with the byte tag + k. */
uint8_t *pages_new(unsigned npages, int tag);

/* Members of a table; each takes a copy of what it is given. */
void memtab_data(struct c2c_memtab *tab, const char *name, const void *data, size_t n);
void memtab_link(struct c2c_memtab *tab, const char *name, const char *target);
/* Add img as member `name` and free it. */
void memtab_img(struct c2c_memtab *tab, const char *name, struct tbuf *img);

/*
 * One image of a process set under prefix ("" or "dir/"), as CRIU writes it.
 * inventory.img: img_version 2.
 */
void set_inventory(struct c2c_memtab *tab, const char *prefix);

/* A pstree.img entry: pid, ppid and its threads (the leader among them, as CRIU lists it). */
struct ttask {
	uint32_t pid, ppid;
	uint32_t threads[8];
	size_t nthreads;
};
void set_pstree(struct c2c_memtab *tab, const char *prefix, const struct ttask *t, size_t n);

/*
 * core-<tid>.img: CoreEntry of mtype (1 = x86_64) with general registers
 * (ip = 0x1000 + tid, sp = 0x7000 + tid), a task core of task_state and comm
 * and a thread core named comm. A zombie (task_state 2) gets no registers.
 */
void set_core(struct c2c_memtab *tab, const char *prefix, uint32_t tid, uint32_t mtype,
	      uint32_t task_state, const char *comm);

/* A VMA of an mm image. */
struct tvma {
	uint64_t start, end;
	uint32_t prot, flags, status;
	uint64_t shmid, pgoff;
};

/* Private anonymous read-write memory, as most of a test process is. */
#define TVMA_ANON(s, e) { (s), (e), 3, 2, 0x201, 0, 0 }

/* mm-<pid>.img: the VMAs in the order given, the auxv words, exe_file_id when not 0. */
void set_mm(struct c2c_memtab *tab, const char *prefix, uint32_t pid, const struct tvma *v,
	    size_t nv, const uint64_t *auxv, size_t nauxv, uint32_t exe_file_id);

/*
 * Process 1 alone: inventory.img, pstree.img, core-1.img (x86_64, alive,
 * named "p") and mm-1.img with the VMAs, auxv (AT_PAGESZ 4096 when auxv is
 * NULL) and exe_file_id; no pagemap.
 */
void set_single(struct c2c_memtab *tab, const char *prefix, const struct tvma *v, size_t nv,
		const uint64_t *auxv, size_t nauxv, uint32_t exe_file_id);

/*
 * A tar archive written by libarchive into memory (ustar; gzip when asked),
 * for c2c_archive_read() through archive_read_open_memory().
 */
struct ttar {
	struct archive *a;
	struct tbuf out;
};

void tar_begin(struct ttar *t, bool gzip);
void tar_file(struct ttar *t, const char *name, const void *data, size_t n);
void tar_symlink(struct ttar *t, const char *name, const char *target);
void tar_dir(struct ttar *t, const char *name);
void tar_hardlink(struct ttar *t, const char *name, const char *target);
/* Finish the archive; its bytes are in t->out (tbuf_free them). */
void tar_end(struct ttar *t);

/*
 * c2c_archive_read() over the first n bytes of tar, opened with
 * archive_read_open_memory() as archive "t.tar"; page data is spooled in
 * spooldir (placer may be NULL).
 */
struct c2c_placer;
int tar_read(struct c2c_ctx *ctx, const struct tbuf *tar, size_t n, int spooldirfd,
	     const char *spooldir, const struct c2c_placer *placer, struct c2c_memtab **ret);

/* How many entries directory dir has (besides . and ..). */
size_t dir_count(const char *dir);

/* Offset of the ustar header of member `name` in an uncompressed tar. */
size_t tar_header_of(const struct tbuf *tar, const char *name);
/* Make the header of member `name` claim `size` bytes (octal, checksum fixed). */
void tar_patch_size(struct tbuf *tar, const char *name, uint64_t size);

#endif /* C2C_UNIT_IMGSET_H */
