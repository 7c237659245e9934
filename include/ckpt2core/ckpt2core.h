/*
 * ckpt2core: convert CRIU checkpoint images into ELF core files for gdb.
 *
 * This is the only public header of libckpt2core.
 *
 * Pipeline (each stage only uses the ones before it):
 *
 *   source      a CRIU image directory (later: archives, memory)
 *   image       framing of each image file: magic words, u32-length-prefixed
 *               protobuf records, raw pages-N.img data
 *   process     plain C model of the checkpoint: process tree, threads and
 *               registers, VMAs, page runs, file names
 *   core plan   ELF notes and PT_LOAD segments of one process
 *   ELF writer  libelf headers + notes, page data streamed into place
 *
 * Object lifecycle: c2c_ctx_new() creates a context that carries options, a
 * log callback, the last error and the warnings; every other call takes it
 * first. c2c_ctx_free() releases it. A context is not thread safe: use one per
 * thread. The library never prints and never exits; messages go to the log
 * callback, and c2c_errmsg() describes the last failure.
 *
 * Error convention: functions returning int return >= 0 on success and a
 * negative enum c2c_err value on failure; the context then holds the code, the
 * file (and archive member), byte offset and record index where the input was
 * found to be bad, and a message.
 */
#ifndef CKPT2CORE_H
#define CKPT2CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define C2C_API __attribute__((visibility("default")))
#else
#define C2C_API
#endif

/* Version of the library (also the version of the ckpt2core tool). */
#define C2C_VERSION_MAJOR 0
#define C2C_VERSION_MINOR 1
#define C2C_VERSION_PATCH 0

/*
 * Error codes, all negative: X(NAME, value, name) declares C2C_E_NAME = value
 * with the short name c2c_strerror() returns. The values and names are part
 * of the ABI and of the CLI's messages: never renumber or rename one.
 */
#define C2C_ERRORS(X)                                                                              \
	/* out of memory */                                                                        \
	X(NOMEM, -1, "out of memory")                                                              \
	/* system call failed; the saved errno says why */                                         \
	X(IO, -2, "i/o error")                                                                     \
	/* libarchive failed */                                                                    \
	X(ARCHIVE, -3, "archive error")                                                            \
	/* libelf failed */                                                                        \
	X(ELF, -4, "elf error")                                                                    \
	/* a record is not a decodable protobuf message */                                         \
	X(PROTOBUF, -5, "undecodable record")                                                      \
	/* an image does not start with its magic words */                                         \
	X(BADMAGIC, -6, "bad magic")                                                               \
	/* an image ends inside a record or page run */                                            \
	X(TRUNCATED, -7, "truncated")                                                              \
	/* a required image or field is absent */                                                  \
	X(MISSING, -8, "missing")                                                                  \
	/* images contradict each other */                                                         \
	X(INCONSISTENT, -9, "inconsistent images")                                                 \
	/* architecture or image version not handled */                                            \
	X(UNSUPPORTED, -10, "unsupported")                                                         \
	/* a count or size exceeds a sanity cap */                                                 \
	X(LIMIT, -11, "limit exceeded")                                                            \
	/* bad arguments to an API call */                                                         \
	X(USAGE, -12, "usage error")                                                               \
	/* output exists and overwriting was not asked for */                                      \
	X(EXISTS, -13, "output exists")

#define C2C_ERR_ENUM_(name, value, text) C2C_E_##name = (value),
enum c2c_err {
	C2C_OK = 0,
	C2C_ERRORS(C2C_ERR_ENUM_)
};
#undef C2C_ERR_ENUM_

/* Severity of a message passed to the log callback. */
enum c2c_log_level {
	C2C_LOG_ERROR = 0,
	C2C_LOG_WARN = 1,
	C2C_LOG_INFO = 2,
	C2C_LOG_DEBUG = 3,
};

/*
 * Log callback: called synchronously from inside library calls with a
 * complete one-line message (no trailing newline, no program name). The
 * message is valid only during the call.
 */
typedef void (*c2c_log_fn)(void *userdata, enum c2c_log_level level, const char *msg);

/* Flags for c2c_ctx_set_flags(). */
enum c2c_flags {
	/* Replace existing core files in the output directory. */
	C2C_FLAG_FORCE = 1 << 0,
	/* Keep the content of MADV_DONTDUMP mappings (the kernel leaves it out). */
	C2C_FLAG_INCLUDE_DONTDUMP = 1 << 1,
	/*
	 * What c2c_inspect() adds to each process of the report (the
	 * "details" object): open file descriptors with their files and pipes,
	 * sockets (protocol, state, addresses and ports, UNIX names), the
	 * environment read from memory, the memory map, and namespaces, host
	 * name, working and root directory and credentials.
	 */
	C2C_FLAG_INSPECT_FILES = 1 << 8,
	C2C_FLAG_INSPECT_SOCKETS = 1 << 9,
	C2C_FLAG_INSPECT_ENV = 1 << 10,
	C2C_FLAG_INSPECT_MAPS = 1 << 11,
	C2C_FLAG_INSPECT_TASK = 1 << 12,
	/*
	 * And for the container (the report's "container_details" and
	 * "fs_diff"): its IP addresses, annotations and sizes (checkpoint,
	 * memory pages, root-FS diff); the OCI mounts of spec.dump; the files
	 * the container changed (rootfs-diff.tar) and deleted (deleted.files).
	 */
	C2C_FLAG_INSPECT_METADATA = 1 << 13,
	C2C_FLAG_INSPECT_MOUNTS = 1 << 14,
	C2C_FLAG_INSPECT_FS_DIFF = 1 << 15,
	/*
	 * Per process again: the network namespace's interfaces (netdev-<id>.img:
	 * name, type, MTU, flags, MAC address, veth peer, master) with their
	 * IPv4 and IPv6 addresses (ifaddr-<id>.img) and the number of routes
	 * (route-, route6-<id>.img); and the cgroup of each controller
	 * hierarchy (cgroup.img, the cg_set of core-<pid>.img). A container
	 * whose network namespace was external (CRI-O, Podman) has no
	 * interfaces in its checkpoint; with this flag the container's IP
	 * addresses from its annotations are reported too.
	 */
	C2C_FLAG_INSPECT_NETWORK = 1 << 16,
	C2C_FLAG_INSPECT_CGROUP = 1 << 17,
};

/* Which pages of mapped files to copy from the root directory (c2c_ctx_set_root). */
enum c2c_file_pages {
	/* Only pages the images hold; gdb reads the rest from the files. */
	C2C_FILE_PAGES_NONE = 0,
	/*
	 * What the kernel and gcore write: a private file mapping with any page in
	 * the images whole, a mapping at offset 0 that starts with an ELF header
	 * whole (build-ids, program headers), MAP_SHARED file mappings whole.
	 */
	C2C_FILE_PAGES_HEADERS = 1,
	/* Every mapped file page: a self-contained core. */
	C2C_FILE_PAGES_ALL = 2,
};

struct c2c_ctx;

/* Create a context. Returns NULL only when out of memory. */
C2C_API struct c2c_ctx *c2c_ctx_new(void);

/* Free a context and everything it owns. Accepts NULL. */
C2C_API void c2c_ctx_free(struct c2c_ctx *ctx);

/*
 * Route messages to fn (NULL: drop them). Messages up to and including
 * max_level are delivered; the default is C2C_LOG_WARN.
 */
C2C_API void c2c_ctx_set_log_fn(struct c2c_ctx *ctx, c2c_log_fn fn, void *userdata,
				enum c2c_log_level max_level);

/*
 * Progress callback: called from c2c_convert() while page data is written,
 * with the bytes done so far and the total for this input (both include data
 * from the images and from --root files). Called often; keep it cheap.
 */
typedef void (*c2c_progress_fn)(void *userdata, uint64_t done, uint64_t total);

/* Route progress to fn (NULL: none). */
C2C_API void c2c_ctx_set_progress_fn(struct c2c_ctx *ctx, c2c_progress_fn fn, void *userdata);

/* Set enum c2c_flags bits (replaces the previous set). */
C2C_API void c2c_ctx_set_flags(struct c2c_ctx *ctx, unsigned int flags);

/*
 * Read the content of mapped files from `root` (a container's rootfs, or "/"
 * for a host process): each file is looked up at the path the process saw,
 * resolved inside root (symlinks and ".." cannot leave it), and used only if
 * its size and build-id match what the checkpoint recorded. Pages in the
 * images always win. root NULL (the default) opens no file at all.
 * Returns 0 or C2C_E_NOMEM.
 */
C2C_API int c2c_ctx_set_root(struct c2c_ctx *ctx, const char *root, enum c2c_file_pages mode);

/*
 * Take the container's files from its image: `image` is an OCI image layout
 * directory (oci-layout, index.json, blobs/sha256/), the same layout in a
 * tar (oci-archive), a docker-archive tar (manifest.json and layer tars, as
 * docker/podman save write it) or an unpacked rootfs directory, optionally
 * followed by ":REF" to pick the image of that ref.name or tag; layers (tar,
 * gzip or zstd) are applied in order with their whiteouts, then the
 * checkpoint's rootfs-diff.tar and deleted.files. c2c_convert() then writes a
 * sysroot, OUTDIR/sysroot (or c2c_ctx_set_sysroot_out), holding only the
 * files the converted processes map and their executables (and the symlinks
 * that lead to them, made relative), each checked against the size and
 * build-id the checkpoint recorded (a mismatch is a warning), and reads file
 * pages from it as from c2c_ctx_set_root() with `mode`, so that
 * `gdb -ex 'set sysroot OUTDIR/sysroot' EXE OUTDIR/core.PID` finds every
 * library. Where config.dump names the image by digest, a different image
 * is a warning. Hostile images (members with ".." or absolute names, missing
 * blobs, damaged layers) fail the conversion with the file, member and byte
 * offset; the sysroot is written under a temporary name and removed again
 * on failure. An existing sysroot is replaced only with C2C_FLAG_FORCE.
 * NULL clears. Returns 0 or C2C_E_NOMEM.
 */
C2C_API int c2c_ctx_set_image(struct c2c_ctx *ctx, const char *image, enum c2c_file_pages mode);

/*
 * Write the sysroot (see c2c_ctx_set_image) to `dir` instead of
 * OUTDIR/sysroot. Without an image the files come from the root of
 * c2c_ctx_set_root(). NULL: the default. Returns 0 or C2C_E_NOMEM.
 */
C2C_API int c2c_ctx_set_sysroot_out(struct c2c_ctx *ctx, const char *dir);

/*
 * Use `input` (an image directory or archive, e.g. a Podman pre-checkpoint
 * export) as the parent of the converted checkpoint: pages its pagemaps mark
 * PE_PARENT are read from there instead of from a `parent` link. NULL clears.
 * Returns 0 or C2C_E_NOMEM.
 */
C2C_API int c2c_ctx_set_parent(struct c2c_ctx *ctx, const char *input);

/*
 * Restrict conversion to the given pid (as in pstree.img); may be called
 * several times. Without any call every process is converted.
 * Returns 0 or C2C_E_NOMEM.
 */
C2C_API int c2c_ctx_add_pid(struct c2c_ctx *ctx, uint32_t pid);

/*
 * Convert the checkpoint `input` into one core file per process,
 * `outdir`/core.<pid>, creating `outdir` (mode 0700) if missing. `input` is
 * told by its content: a CRIU image directory, an extracted container
 * checkpoint (a directory holding checkpoint/), a checkpoint archive file
 * (tar, plain or gzip/zstd/xz/bzip2 compressed), or "-" for an archive on
 * standard input. Archives are read once; their page data is spooled to an
 * unnamed file inside `outdir` when it cannot be used in place. Cores are
 * written mode 0600 into temporary files and renamed into place only when every
 * selected process has been converted; on failure nothing is left behind.
 * Zombies get no core (a warning says so).
 *
 * Returns the number of cores written (>= 0) or a negative enum c2c_err.
 */
C2C_API int c2c_convert(struct c2c_ctx *ctx, const char *input, const char *outdir);

/*
 * Like c2c_convert() for a checkpoint archive held in memory (buf, len: a
 * tar, plain or compressed). The buffer is only read during the call.
 */
C2C_API int c2c_convert_archive_memory(struct c2c_ctx *ctx, const void *buf, size_t len,
				       const char *outdir);

/*
 * Read the checkpoint `input` like c2c_convert() but write no core: the
 * report (c2c_report) then describes the container, the process tree and
 * each process's memory. Returns 0 or a negative enum c2c_err.
 */
C2C_API int c2c_inspect(struct c2c_ctx *ctx, const char *input);

/* Kinds of c2c_grep() patterns. */
enum c2c_pattern_kind {
	C2C_PATTERN_FIXED = 0, /* the bytes as given */
	C2C_PATTERN_REGEX = 1, /* a Perl-compatible regular expression (PCRE2), bytes not UTF-8 */
	C2C_PATTERN_HEX = 2,   /* hex digits, two per byte ("deadbeef", spaces allowed) */
};

/* Flags of c2c_ctx_add_pattern(). */
enum c2c_pattern_flags {
	C2C_PATTERN_ICASE = 1 << 0, /* ASCII letters match either case (not with HEX) */
};

/*
 * Add a pattern for c2c_grep(); several may be added, a match of any counts.
 * pat is len bytes (not necessarily NUL-terminated). Returns 0,
 * C2C_E_USAGE for an empty pattern, bad hex or a regular expression that
 * does not compile (c2c_errmsg() says where), or C2C_E_NOMEM.
 */
C2C_API int c2c_ctx_add_pattern(struct c2c_ctx *ctx, enum c2c_pattern_kind kind,
				const char *pat, size_t len, unsigned int flags);

/* Bytes searched around a match for context, at most (c2c_grep). */
#define C2C_GREP_CONTEXT_MAX 1024

/*
 * One match found by c2c_grep(). Every pointer is valid only during the
 * callback.
 */
struct c2c_match {
	uint32_t pid;	     /* as in pstree.img */
	const char *comm;    /* the process's name */
	uint64_t addr;	     /* virtual address of the first matching byte */
	const char *mapping; /* file path, "[heap]", "[stack]", "[anon]", "[shmem]", ... */
	char perms[5];	     /* "rw-p" as /proc/PID/maps shows them */
	uint64_t vma_start, vma_end;
	uint64_t map_offset; /* offset of addr in the mapped file or object */
	size_t pattern;	     /* index of the pattern (order of c2c_ctx_add_pattern) */
	const uint8_t *data; /* the matching bytes */
	size_t len;
	const uint8_t *before, *after; /* up to `context` bytes around the match */
	size_t nbefore, nafter;
};

/* Called for each match, in process then address order; non-zero stops the search. */
typedef int (*c2c_match_fn)(void *userdata, const struct c2c_match *m);

/*
 * Search the memory of every process of checkpoint `input` (or those of
 * c2c_ctx_add_pid) for the patterns of c2c_ctx_add_pattern, in one pass
 * over the checkpoint, writing nothing but an unnamed spool file in $TMPDIR
 * for compressed archives. Memory is what the checkpoint holds: private and
 * shared pages; file pages CRIU did not save are not searched. Matches that
 * cross page and page-run boundaries are found wherever the memory is
 * contiguous. A regular expression's match is at most 4096 bytes long.
 * `context` (at most C2C_GREP_CONTEXT_MAX) bytes before and after each
 * match are passed along. Returns the number of matches (>= 0), or a
 * negative enum c2c_err.
 */
C2C_API int64_t c2c_grep(struct c2c_ctx *ctx, const char *input, size_t context,
			 c2c_match_fn fn, void *userdata);

/* One frame of a thread's stack (c2c_core_backtrace). Valid during the callback. */
struct c2c_frame {
	uint32_t tid;	    /* the thread (NT_PRSTATUS pr_pid) */
	size_t index;	    /* 0 = innermost */
	uint64_t pc;
	const char *module; /* the mapped file the pc is in, or NULL */
	const char *symbol; /* the function, or NULL */
	uint64_t offset;    /* pc - symbol address */
	const char *file;   /* source file from debug info, or NULL */
	int line;
};

/* Called for each frame, thread by thread, innermost first; non-zero stops. */
typedef int (*c2c_frame_fn)(void *userdata, const struct c2c_frame *f);

/*
 * Unwind every thread of the core file `core` with elfutils' libdwfl and
 * report each frame with its module, symbol and source line. `executable`
 * (may be NULL) is the program's file; `sysroot` (may be NULL) is a
 * directory the mapped files are found under (a container's rootfs), else
 * at their own paths or by build-id. Returns 0 or a negative enum c2c_err.
 */
C2C_API int c2c_core_backtrace(struct c2c_ctx *ctx, const char *core, const char *executable,
			       const char *sysroot, c2c_frame_fn fn, void *userdata);

/*
 * SHA-256 (FIPS 180-4) of a byte stream: the hash ckpt2core checks container
 * image blobs with, for callers that name inputs by their content (watch
 * mode's manifests, the debugger front end's cache).
 */
struct c2c_sha256;

/* #define: the hex digest's length (c2c_sha256_hex writes it and a NUL). */
#define C2C_SHA256_HEX_LEN 64

/* A new hash state, or NULL when memory ran out; c2c_sha256_free it. */
C2C_API struct c2c_sha256 *c2c_sha256_new(void);
C2C_API void c2c_sha256_update(struct c2c_sha256 *s, const void *data, size_t len);
/* The digest as C2C_SHA256_HEX_LEN lowercase hex digits and a NUL; s is then used up. */
C2C_API void c2c_sha256_hex(struct c2c_sha256 *s, char *out);
C2C_API void c2c_sha256_free(struct c2c_sha256 *s);

/* Formats of c2c_report(). */
enum c2c_report_format {
	/* One JSON object; schema in doc/report.schema.json (stable, versioned). */
	C2C_REPORT_JSON = 0,
	/* Human-readable text: metadata, then the process tree. */
	C2C_REPORT_TREE = 1,
};

/*
 * What the last c2c_convert() or c2c_inspect() found and did: input,
 * container metadata (engine, name, image, pod, namespace, runtime, times),
 * CRIU dump statistics, processes (pid, ppid, comm, state, threads, command
 * line, memory figures, the core written), warnings and the error.
 * Returns a new string (free() it), or NULL when there is no report or
 * memory ran out.
 */
C2C_API char *c2c_report(const struct c2c_ctx *ctx, enum c2c_report_format fmt);

/* Code of the last failure (0 if none). */
C2C_API int c2c_errcode(const struct c2c_ctx *ctx);

/*
 * One-line description of the last failure, for example
 * "'dir/mm-1.img': offset 12 (0xc), record 0: truncated record: need 1409
 * bytes, 3 left". Valid until the next call on ctx. "" if there was none.
 */
C2C_API const char *c2c_errmsg(const struct c2c_ctx *ctx);

/* Source location (file:line in the library) of the last failure, or "". */
C2C_API const char *c2c_errsite(const struct c2c_ctx *ctx);

/* Number of warnings issued since the last c2c_convert() started. */
C2C_API size_t c2c_warning_count(const struct c2c_ctx *ctx);

/* Short name of an error code ("truncated", "bad magic", ...). */
C2C_API const char *c2c_strerror(int code);

/* Version string, "MAJOR.MINOR.PATCH". */
C2C_API const char *c2c_version(void);

#ifdef __cplusplus
}
#endif

#endif /* CKPT2CORE_H */
