/*
 * Small helpers shared by every stage, and the documented sanity caps that
 * bound what hostile input can make us allocate.
 */
#ifndef C2C_UTIL_H
#define C2C_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "banned.h"

#define C2C_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Caps on sizes and counts read from images (checked before any allocation).
 * They are far above what real checkpoints hold: the kernel's default
 * vm.max_map_count is 65530, and the biggest metadata image of a 70 000-VMA
 * process is a few MiB.
 */
#define C2C_MAX_IMAGE_SIZE (256ULL << 20)  /* one metadata image read into memory */
#define C2C_MAX_RECORD_SIZE (64U << 20)    /* one protobuf record */
#define C2C_MAX_PROCESSES (1U << 20)       /* entries of pstree.img */
#define C2C_MAX_THREADS (1U << 20)         /* threads of one process */
#define C2C_MAX_VMAS (1U << 22)            /* VMAs of one process */
#define C2C_MAX_PAGEMAP_ENTRIES (1U << 24) /* entries of one pagemap image */
#define C2C_MAX_AUXV_WORDS 1024U           /* mm_saved_auxv words (CRIU stores <= 64) */
#define C2C_MAX_FILES (1U << 22)           /* entries of files.img */
#define C2C_MAX_SHMEM_OBJECTS (1U << 16)   /* shared memory objects of a checkpoint */
#define C2C_MAX_PARENT_DEPTH 64U           /* parent/parent/... chain of pre-dumps */
#define C2C_MAX_NT_FILE_SIZE (16ULL << 20) /* kernel's CORE_FILE_NOTE_SIZE_MAX */
#define C2C_MAX_ARCHIVE_MEM (1ULL << 30)   /* archive members held in memory */
#define C2C_MAX_SPOOL_SIZE (1ULL << 40)    /* page data spooled from one archive */
#define C2C_MAX_CORE_SIZE (1ULL << 62)     /* apparent core size: offsets stay within off_t */

static inline bool c2c_add_overflow(uint64_t a, uint64_t b, uint64_t *r)
{
	return __builtin_add_overflow(a, b, r);
}

static inline bool c2c_mul_overflow(uint64_t a, uint64_t b, uint64_t *r)
{
	return __builtin_mul_overflow(a, b, r);
}

/* -1, 0 or 1 as x is below, equal to or above y: the body of every qsort comparison. */
static inline int c2c_cmp_u64(uint64_t x, uint64_t y)
{
	return x < y ? -1 : x > y;
}

/* Whether the n bytes at p are all zero (n > 0): an all-zero page stays a hole. */
static inline bool c2c_all_zero(const uint8_t *p, size_t n)
{
	return n && p[0] == 0 && !memcmp(p, p + 1, n - 1);
}

static inline uint64_t c2c_round_up(uint64_t v, uint64_t align)
{
	return (v + align - 1) & ~(align - 1);
}

struct c2c_ctx;

/*
 * Make room for at least `need` elements of `elem` bytes in a growable
 * array. vp points at the array pointer (NULL for an empty array), cap at
 * its capacity in elements; both are updated, the capacity doubling from 16.
 * Returns 0, or C2C_E_NOMEM with the array unchanged and "out of memory"
 * recorded in ctx (nothing recorded when ctx is NULL).
 */
int c2c_array_grow(struct c2c_ctx *ctx, void *vp, size_t *cap, size_t need, size_t elem);

/*
 * Binary search: v holds n elements of elem bytes, ordered so that
 * below(element, key) holds for a prefix of them and for none after it.
 * Returns the index of the first element for which it does not hold
 * (n if there is none): the lower bound of key.
 */
size_t c2c_lower_bound(const void *v, size_t n, size_t elem, const void *key,
		       bool (*below)(const void *element, const void *key));

/*
 * A relative path with its "." and empty components dropped: "./a//b/"
 * gives "a/b", "./" gives "". Returns a new string, or NULL for an empty or
 * absolute path, one with a ".." component or of 4096 bytes or more, or
 * when memory ran out.
 */
char *c2c_path_normalize(const char *path);

/* Duplicate a string; NULL when out of memory. */
char *c2c_strdup(const char *s);

/* printf into a new string; NULL when out of memory. */
char *c2c_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * The first run of data (not a hole) of fd within [off, off + len): its
 * length, 0 when there is only hole, with *data its offset. Without
 * SEEK_DATA support the whole range counts as data. Moves fd's file offset.
 */
uint64_t c2c_next_data(int fd, uint64_t off, uint64_t len, uint64_t *data);

#endif /* C2C_UTIL_H */
