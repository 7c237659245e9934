/*
 * ckpt2core watch DIR -o OUTDIR: convert every checkpoint archive that
 * appears in DIR into OUTDIR/<archive name>/ (cores plus manifest.json), and
 * keep OUTDIR/index.json listing them all.
 *
 * One parent process watches (inotify, plus a scan at start) and decides;
 * each conversion runs in a forked worker, so a crash or a kill takes only
 * that archive with it. Per archive the parent keeps a small state machine:
 *
 *   pending  -> ready      close-write or moved-to event, or size and mtime
 *                          unchanged for the settle period
 *   ready    -> running    a worker slot is free (--jobs)
 *   running  -> done       worker converted it (tar end reached, cores renamed
 *                          into place with the manifest)
 *            -> pending    the archive changed while the worker read it, or
 *                          its tar end was not reached and it is still growing
 *            -> backoff    conversion failed (or the archive stays short)
 *   backoff  -> ready      after retry-delay * 2^(attempt-1)
 *            -> pending    the archive changed meanwhile (attempts reset)
 *            -> failed     after --retries attempts: logged and indexed once
 *
 * A worker converts into OUTDIR/.tmp-<name>.<pid>/ and renames that to
 * OUTDIR/<name>/ only when the cores and the manifest are complete, so a kill
 * at any point leaves nothing under a final name; the parent removes the
 * temporaries of workers it stops and, at start, those of an earlier run.
 *
 * Before converting, the worker reads the archive once: it computes its
 * SHA-256 and runs the bytes through libarchive's decompressors to check that
 * the compressed stream ends cleanly and that the tar inside reaches its end
 * (two zero blocks). Only then is c2c_convert() called. A restart trusts a
 * manifest whose recorded size and mtime match the archive; when they differ
 * the hash decides whether the content changed.
 *
 * Only the parent writes the index; every event is one line on stderr.
 */
#include <archive.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ckpt2core/ckpt2core.h"
#include "cli.h"
#include "watch.h"

#define EXIT_OK 0
#define EXIT_SOME_FAILED 1
#define EXIT_FATAL 2
#define EXIT_USAGE 64

#define MAX_JOBS 64
#define TICK_MS 250		  /* how often pending archives are stat()ed */
#define MAX_DELAY 3600.0	  /* cap of the retry back-off, seconds */
#define RETENTION_EVERY 3600.0	  /* how often --keep-cores runs while watching */
#define TAR_BLOCK 512

static const char *prog = "ckpt2core";

struct wopts {
	const char *dir, *outdir;
	char *absdir, *absroot;	 /* realpath()s: workers chdir into their output */
	const char *root;
	enum c2c_file_pages file_pages;
	unsigned int flags;
	bool once, json_log;
	int jobs, retries;
	int shard, shards;	 /* --shard I/N (N 0: all) */
	double settle, retry_delay, keep_days; /* keep_days < 0: keep forever */
};

enum state { ST_PENDING, ST_READY, ST_RUNNING, ST_BACKOFF, ST_DONE, ST_FAILED };

/* What a worker found; sent to the parent over a pipe (fits in PIPE_BUF). */
enum outcome {
	OUT_DONE = 1,	    /* converted, renamed into place */
	OUT_UNCHANGED,	    /* same hash as the conversion already done */
	OUT_INCOMPLETE,	    /* compressed stream or tar ends early */
	OUT_CHANGED,	    /* the archive changed while it was read */
	OUT_GONE,	    /* the archive disappeared */
	OUT_FAILED,	    /* conversion (or writing the output) failed */
};

struct wresult {
	int outcome;
	int64_t size, mtime_ns;
	uint32_t cores, warnings;
	char sha256[C2C_SHA256_HEX_LEN + 1];
	char code[32];	     /* c2c_strerror() of the failure, or "incomplete" ... */
	char message[1536];  /* the failure */
};

struct entry {
	char *name;
	enum state st;
	const char *closed;	   /* "close-write" or "moved-to" seen since the last change */
	int64_t size, mtime_ns;	   /* last seen */
	double changed_at;	   /* monotonic time size/mtime were last seen changing */
	int attempts;
	double next_try;	   /* backoff: monotonic time of the next attempt */
	int64_t try_size, try_mtime_ns; /* what the last attempt read */
	pid_t pid;		   /* running: the worker */
	int fd;			   /* running: read end of its result pipe */
	double started;
	/* done / failed */
	char sha256[C2C_SHA256_HEX_LEN + 1];	/* of the archive as last read */
	char done_sha256[C2C_SHA256_HEX_LEN + 1]; /* of the one OUTDIR/NAME was made from */
	char converted[32];
	uint32_t cores, warnings;
	bool cores_removed;
	char code[32];
	char *message;
	bool in_dir;		   /* the archive is (still) in DIR */
};

struct watch {
	struct wopts *o;
	struct entry *e;
	size_t n, cap;
	int running;
	int outfd;		   /* OUTDIR, for *at() calls */
	bool stopping;
};

/* ------------------------------------------------------------ small helpers */

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t mtime_ns_of(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* RFC 3339 UTC of ns since the epoch (ns < 0: now), with milliseconds or nanoseconds. */
static void format_time(char *buf, size_t n, int64_t ns, bool millis)
{
	struct timespec ts;
	struct tm tm;
	time_t t;
	int r;

	if (ns < 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	}
	t = (time_t)(ns / 1000000000);
	gmtime_r(&t, &tm);
	/* The result is checked so that gcc's -Wformat-truncation sees it used. */
	if (millis)
		r = snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (int)(ns % 1000000000 / 1000000));
	else
		r = snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (int)(ns % 1000000000));
	if (r < 0 || (size_t)r >= n)
		buf[0] = '\0'; /* callers pass 40 bytes: never happens */
}

/* A growing string; on allocation failure it stays truncated and sets oom. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[256], *big = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		sb_add(b, tmp, (size_t)n);
		return;
	}
	big = malloc((size_t)n + 1);
	if (!big) {
		b->oom = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb_add(b, big, (size_t)n);
	free(big);
}

/* ------------------------------------------------------------------- JSON */

/*
 * All JSON here goes through jansson. Files and log lines are dumped on one
 * line with ", " and ": " between members, keys in the order they were set
 * (the order of doc/report.schema.json), text kept in UTF-8.
 */
#define WJSON_FLAGS (JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))

/*
 * Bytes of the well-formed UTF-8 character at s (n bytes available), 0 if
 * there is none: no overlong form, no surrogate, nothing past U+10FFFF, the
 * rules json_string() applies.
 */
static size_t utf8_char(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t need;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
		cp = c & 0x1fu;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		cp = c & 0x0fu;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		cp = c & 0x07u;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	for (size_t k = 1; k < need; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3fu);
	}
	if (need == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
		return 0;
	if (need == 4 && (cp < 0x10000 || cp > 0x10ffff))
		return 0;
	return need;
}

/*
 * A JSON string holding s (NULL: ""). jansson takes UTF-8 only; archive
 * names and messages are bytes, so each byte that does not start a valid
 * character becomes U+FFFD instead of the value being lost. NULL only when
 * memory runs out.
 */
static json_t *jstr(const char *s)
{
	const unsigned char *u;
	size_t n, k = 0;
	json_t *j;
	char *fixed;

	if (!s)
		s = "";
	j = json_string(s);
	if (j)
		return j;
	u = (const unsigned char *)s;
	n = strlen(s);
	fixed = malloc(3 * n + 1);
	if (!fixed)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t len = utf8_char(u + i, n - i);

		if (len) {
			memcpy(fixed + k, u + i, len);
			k += len;
			i += len;
		} else {
			memcpy(fixed + k, "\xef\xbf\xbd", 3);
			k += 3;
			i++;
		}
	}
	fixed[k] = '\0';
	j = json_string(fixed);
	free(fixed);
	return j;
}

/* A JSON integer of v (NULL if out of memory). */
static json_t *jint(int64_t v)
{
	return json_integer((json_int_t)v);
}

/*
 * j (reference taken) as text plus "\n", from malloc; NULL if j is NULL or
 * memory ran out. flags: WJSON_FLAGS, with JSON_ENCODE_ANY for a bare string.
 */
static char *jdump(json_t *j, size_t flags, size_t *len)
{
	char *s = NULL;
	size_t n;

	if (!j)
		return NULL;
	n = json_dumpb(j, NULL, 0, flags);
	if (n && (s = malloc(n + 2))) {
		if (json_dumpb(j, s, n, flags) == n) {
			s[n] = '\n';
			s[n + 1] = '\0';
			if (len)
				*len = n + 1;
		} else {
			free(s);
			s = NULL;
		}
	}
	json_decref(j);
	return s;
}

/* ----------------------------------------------------------------- logging */

/*
 * One event, one line on stderr, written with a single write() so that lines
 * of workers and parent do not mix. Text: "ckpt2core: TIME EVENT 'NAME'
 * key=value ..."; JSON: {"time": ..., "event": ..., "archive": ..., ...}.
 */
struct logline {
	struct sbuf b;	/* text */
	json_t *j;	/* JSON; NULL if out of memory */
	bool json;
};

static void log_begin(struct logline *l, const struct wopts *o, const char *event,
		      const char *archive)
{
	char t[40];

	memset(l, 0, sizeof(*l));
	l->json = o->json_log;
	format_time(t, sizeof(t), -1, true);
	if (l->json) {
		l->j = json_pack("{s:s, s:s, s:o}", "time", t, "event", event, "archive",
				 archive ? jstr(archive) : json_null());
	} else {
		sb_printf(&l->b, "%s: %s %s", prog, t, event);
		if (archive) {
			sb_puts(&l->b, " '");
			sb_puts(&l->b, archive);
			sb_puts(&l->b, "'");
		}
	}
}

/* A member of the JSON line (value reference taken). */
static void log_set(struct logline *l, const char *key, json_t *v)
{
	if (l->j && json_object_set_new(l->j, key, v) < 0) {
		json_decref(l->j);
		l->j = NULL;
	}
}

static void log_str(struct logline *l, const char *key, const char *val)
{
	if (l->json) {
		log_set(l, key, jstr(val));
	} else if (strpbrk(val, " \t'\"=") || !*val) {
		char *q = jdump(jstr(val), WJSON_FLAGS | JSON_ENCODE_ANY, NULL);

		sb_printf(&l->b, " %s=", key);
		if (q) {
			q[strlen(q) - 1] = '\0'; /* the "\n" */
			sb_puts(&l->b, q); /* quoted, escaped */
		} else {
			l->b.oom = true;
		}
		free(q);
	} else {
		sb_printf(&l->b, " %s=%s", key, val);
	}
}

static void log_int(struct logline *l, const char *key, long long v)
{
	if (l->json)
		log_set(l, key, jint(v));
	else
		sb_printf(&l->b, " %s=%lld", key, v);
}

/* v in seconds, to the millisecond. */
static void log_num(struct logline *l, const char *key, double v)
{
	if (l->json)
		log_set(l, key, json_real((double)(long long)(v * 1000 + (v < 0 ? -0.5 : 0.5)) / 1000));
	else
		sb_printf(&l->b, " %s=%.3f", key, v);
}

static void log_end(struct logline *l)
{
	const char *p;
	size_t left;

	if (l->json) {
		free(l->b.p);
		l->b.p = jdump(l->j, WJSON_FLAGS, &l->b.len);
		l->j = NULL;
		if (!l->b.p)
			l->b.len = 0;
	} else {
		sb_puts(&l->b, "\n");
	}
	for (p = l->b.p, left = l->b.len; p && left;) {
		ssize_t w = write(STDERR_FILENO, p, left);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		p += w;
		left -= (size_t)w;
	}
	free(l->b.p);
}

/* An event with only a message (errors of the watcher itself). */
static void log_msg(const struct wopts *o, const char *event, const char *archive,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void log_msg(const struct wopts *o, const char *event, const char *archive,
		    const char *fmt, ...)
{
	struct logline l;
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_begin(&l, o, event, archive);
	log_str(&l, "message", msg);
	log_end(&l);
}

/* -------------------------------------------------- names and file helpers */

/* What kubelet (CRI-O, containerd) and Podman write. */
static bool is_archive_name(const char *name)
{
	static const char *const exts[] = { ".tar",	".tar.gz", ".tgz",  ".tar.zst", ".tzst",
					    ".tar.xz", ".txz",	   ".tar.bz2", ".tbz2" };
	size_t n = strlen(name);

	if (name[0] == '.') /* hidden: partial files of tools that rename into place */
		return false;
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		size_t e = strlen(exts[i]);

		if (n > e && !strcmp(name + n - e, exts[i]))
			return true;
	}
	return false;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path) == 0 || errno == ENOENT ? 0 : -1;
	return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* rm -rf PATH (no symlink is followed). */
static int rm_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * Name of the worker's temporary directory in OUTDIR: ".tmp-NAME.PID", NAME cut
 * to 200 bytes so that the whole stays under NAME_MAX (pod names alone may
 * have 253 characters).
 */
static void tmp_name(char *buf, size_t n, const char *name, pid_t pid)
{
	snprintf(buf, n, ".tmp-%.200s.%ld", name, (long)pid);
}

static char *path2(const char *a, const char *b)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", a, b) < 0)
		return NULL;
	return p;
}

/*
 * Write data to DIR/NAME atomically: DIR/.NAME.<pid>, fsync, rename.
 * Returns 0 or -1 with errno set.
 */
static int write_atomic(int dirfd, const char *name, const char *data, size_t len)
{
	char tmp[4096];
	const char *p = data;
	int fd, ret = -1, saved;

	const char *base = strrchr(name, '/');

	base = base ? base + 1 : name;
	snprintf(tmp, sizeof(tmp), "%.*s.%s.%ld", (int)(base - name), name, base, (long)getpid());
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto out;
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) < 0)
		goto out;
	if (close(fd) < 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name) < 0)
		goto out;
	ret = 0;
out:
	saved = errno;
	if (fd >= 0)
		close(fd);
	if (ret < 0)
		(void)unlinkat(dirfd, tmp, 0);
	errno = saved;
	return ret;
}

/*
 * What a manifest (worker_manifest()) and a failure record (record_failure())
 * both hold: "archive": {"size", "mtime_ns", "sha256"} and "attempts". The
 * sha256, or "", is copied to sha (C2C_SHA256_HEX_LEN + 1 bytes).
 */
static void read_record(json_t *root, struct entry *e, char *sha)
{
	json_t *a = json_object_get(root, "archive");
	const char *s = json_string_value(json_object_get(a, "sha256"));

	e->size = json_integer_value(json_object_get(a, "size"));
	e->mtime_ns = json_integer_value(json_object_get(a, "mtime_ns"));
	e->attempts = (int)json_integer_value(json_object_get(root, "attempts"));
	snprintf(sha, C2C_SHA256_HEX_LEN + 1, "%s", s ? s : "");
}

/* The string member key of o copied into buf (n bytes); "" if there is none. */
static void read_str(json_t *o, const char *key, char *buf, size_t n)
{
	const char *s = json_string_value(json_object_get(o, key));

	snprintf(buf, n, "%s", s ? s : "");
}

/* ------------------------------------------------- reading the archive once */

/*
 * Tar framing over the decompressed stream: 512-byte headers, each followed
 * by its data rounded up to 512 (size in octal, or base-256 when the first
 * byte has bit 7 set), the archive ends with two zero blocks (POSIX ustar;
 * GNU and pax extension headers are entries with data like any other).
 */
struct tarscan {
	uint8_t hdr[TAR_BLOCK];
	size_t fill;	   /* bytes of the current header block */
	uint64_t skip;	   /* data bytes (and padding) still to skip */
	uint64_t offset;   /* decompressed offset */
	int zeros;	   /* consecutive zero blocks */
	bool end, bad;
	char why[160];
};

static uint64_t tar_size(const uint8_t *f)
{
	uint64_t v = 0;

	if (f[0] & 0x80) { /* base-256 (GNU), positive only */
		for (int i = 1; i < 12; i++)
			v = v << 8 | f[i];
		return v;
	}
	for (int i = 0; i < 12 && f[i]; i++) {
		if (f[i] == ' ')
			continue;
		if (f[i] < '0' || f[i] > '7')
			break;
		v = v * 8 + (uint64_t)(f[i] - '0');
	}
	return v;
}

static void tar_header(struct tarscan *t)
{
	unsigned int sum = 0, want = 0;
	bool zero = true;

	for (int i = 0; i < TAR_BLOCK; i++)
		zero = zero && !t->hdr[i];
	if (zero) {
		if (++t->zeros == 2)
			t->end = true;
		return;
	}
	t->zeros = 0;
	for (int i = 0; i < TAR_BLOCK; i++)
		sum += (i >= 148 && i < 156) ? ' ' : t->hdr[i];
	for (int i = 148; i < 156 && t->hdr[i]; i++)
		if (t->hdr[i] >= '0' && t->hdr[i] <= '7')
			want = want * 8 + (unsigned int)(t->hdr[i] - '0');
	if (sum != want) {
		t->bad = true;
		snprintf(t->why, sizeof(t->why),
			 "offset %" PRIu64 " (0x%" PRIx64 ") of the tar: not a tar header (checksum)",
			 t->offset - TAR_BLOCK, t->offset - TAR_BLOCK);
		return;
	}
	t->skip = (tar_size(t->hdr + 124) + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
}

static void tar_feed(struct tarscan *t, const uint8_t *p, size_t n)
{
	while (n && !t->end && !t->bad) {
		if (t->skip) {
			size_t k = t->skip < n ? (size_t)t->skip : n;

			t->skip -= k;
			t->offset += k;
			p += k;
			n -= k;
			continue;
		}
		size_t k = TAR_BLOCK - t->fill < n ? TAR_BLOCK - t->fill : n;

		memcpy(t->hdr + t->fill, p, k);
		t->fill += k;
		t->offset += k;
		p += k;
		n -= k;
		if (t->fill == TAR_BLOCK) {
			t->fill = 0;
			tar_header(t);
		}
	}
}

struct rawread {
	int fd;
	struct c2c_sha256 *sha;
	uint8_t buf[1 << 16];
	int err;	/* errno of a failed read */
};

static la_ssize_t raw_read(struct archive *a, void *data, const void **buf)
{
	struct rawread *r = data;
	ssize_t n;

	(void)a;
	do
		n = read(r->fd, r->buf, sizeof(r->buf));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		r->err = errno;
		return -1;
	}
	c2c_sha256_update(r->sha, r->buf, (size_t)n);
	*buf = r->buf;
	return n;
}

/*
 * Read fd (the archive NAME) to its end: SHA-256 of the bytes into hex, and
 * whether the compressed stream (if any) ends cleanly and the tar inside
 * reaches its end-of-archive blocks. Returns 0 complete, 1 incomplete (why
 * says how), -1 read error (why says which).
 */
static int scan_archive(int fd, const char *name, char *hex, char *why, size_t whylen)
{
	struct rawread *r = malloc(sizeof(*r));
	struct tarscan *t = calloc(1, sizeof(*t));
	uint8_t *data = malloc(1 << 16);
	struct archive *a = archive_read_new();
	struct archive_entry *ent;
	int ret = -1;
	la_ssize_t n;

	if (r)
		r->sha = c2c_sha256_new();
	if (!r || !r->sha || !t || !data || !a) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	r->fd = fd;
	r->err = 0;
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_format_raw(a);
	if (archive_read_open(a, r, NULL, raw_read, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(a, &ent) != ARCHIVE_OK) {
		if (r->err)
			goto ioerr;
		snprintf(why, whylen, "'%s': %s", name,
			 archive_error_string(a) ? archive_error_string(a) : "unreadable");
		ret = 1;
		goto out;
	}
	while ((n = archive_read_data(a, data, 1 << 16)) > 0)
		if (!t->end && !t->bad)
			tar_feed(t, data, (size_t)n);
	if (n < 0) {
		if (r->err)
			goto ioerr;
		/* The decompressor did not reach the end of its stream. */
		snprintf(why, whylen, "'%s': decompressed offset %" PRIu64 ": %s", name,
			 t->offset,
			 archive_error_string(a) ? archive_error_string(a)
						 : "the compressed stream ends early");
		ret = 1;
		goto out;
	}
	/* Whatever libarchive did not need (padding after the stream) is hashed too. */
	while (raw_read(a, r, &(const void *){ NULL }) > 0)
		;
	if (r->err)
		goto ioerr;
	c2c_sha256_hex(r->sha, hex);
	if (t->bad) {
		snprintf(why, whylen, "'%s': %s", name, t->why);
		ret = 1;
	} else if (!t->end) {
		snprintf(why, whylen,
			 "'%s': tar ends at offset %" PRIu64 " (0x%" PRIx64
			 ") without its end-of-archive blocks",
			 name, t->offset, t->offset);
		ret = 1;
	} else {
		ret = 0;
	}
	goto out;
ioerr:
	snprintf(why, whylen, "'%s': read failed: %s", name, strerror(r->err));
	ret = -1;
out:
	if (a)
		archive_read_free(a);
	free(data);
	free(t);
	if (r)
		c2c_sha256_free(r->sha);
	free(r);
	return ret;
}

/* ------------------------------------------------------------------ worker */

struct wlog {
	const struct wopts *o;
	const char *name;
};

static void worker_log_cb(void *data, enum c2c_log_level level, const char *msg)
{
	const struct wlog *wl = data;
	struct logline l;

	log_begin(&l, wl->o, level == C2C_LOG_ERROR ? "error" : "warning", wl->name);
	log_str(&l, "message", msg);
	log_end(&l);
}

/* manifest.json in the (temporary) output directory. */
static int worker_manifest(const struct wopts *o, const char *name, const struct wresult *res,
			   const char *report, int attempt)
{
	char *path = path2(o->absdir, name), *text;
	json_t *rep = report ? json_loads(report, 0, NULL) : json_null();
	char mtime[48], now[48];
	size_t len = 0;
	int ret;

	format_time(mtime, sizeof(mtime), res->mtime_ns, false);
	format_time(now, sizeof(now), -1, true);
	text = jdump(json_pack("{s:s, s:{s:o, s:o, s:o, s:s, s:o, s:s}, s:s, s:i, s:o, s:o, s:o}",
			       "ckpt2core", c2c_version(), "archive", "name", jstr(name), "path",
			       jstr(path), "size", jint(res->size), "mtime", mtime, "mtime_ns",
			       jint(res->mtime_ns), "sha256", res->sha256, "converted", now,
			       "attempts", attempt, "cores", jint(res->cores), "warnings",
			       jint(res->warnings), "report", rep),
		     WJSON_FLAGS, &len);
	free(path);
	if (!text) {
		errno = report && !rep ? EINVAL : ENOMEM; /* (the report is jansson's own output) */
		return -1;
	}
	ret = write_atomic(AT_FDCWD, "manifest.json", text, len);
	free(text);
	return ret;
}

static void set_failure(struct wresult *res, int outcome, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void set_failure(struct wresult *res, int outcome, const char *code, const char *fmt, ...)
{
	va_list ap;

	res->outcome = outcome;
	snprintf(res->code, sizeof(res->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof(res->message), fmt, ap);
	va_end(ap);
}

/*
 * The worker process: hash and check NAME, convert it into
 * OUTDIR/.tmp-NAME.<pid>/ and rename that to OUTDIR/NAME. `known` is the hash
 * of the conversion already in OUTDIR/NAME (or ""). Fills res.
 */
static void worker_run(const struct wopts *o, int outfd, const char *name, const char *known,
		       int attempt, struct wresult *res)
{
	struct wlog wl = { o, name };
	struct c2c_ctx *ctx = NULL;
	char tmp[4200], why[1024];
	char *input = path2(o->absdir, name), *report = NULL;
	struct stat st, st2;
	bool made = false;
	int fd = -1, rc;

	tmp_name(tmp, sizeof(tmp), name, getpid());
	if (!input) {
		set_failure(res, OUT_FAILED, "out of memory", "out of memory");
		goto out;
	}
	fd = open(input, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (errno == ENOENT)
			set_failure(res, OUT_GONE, "gone", "'%s': no longer there", input);
		else
			set_failure(res, OUT_FAILED, "I/O error", "'%s': cannot open: %s", input,
				    strerror(errno));
		goto out;
	}
	res->size = st.st_size;
	res->mtime_ns = mtime_ns_of(&st);
	if (mkdirat(outfd, tmp, 0700) < 0) {
		set_failure(res, OUT_FAILED, "I/O error", "'%s/%s': cannot create: %s", o->outdir,
			    tmp, strerror(errno));
		goto out;
	}
	made = true;
	rc = scan_archive(fd, input, res->sha256, why, sizeof(why));
	if (rc != 0) {
		set_failure(res, rc < 0 ? OUT_FAILED : OUT_INCOMPLETE,
			    rc < 0 ? "I/O error" : "incomplete", "%s", why);
		goto out;
	}
	if (known[0] && !strcmp(known, res->sha256)) {
		res->outcome = OUT_UNCHANGED;
		goto out;
	}
	if (fchdir(outfd) < 0 || chdir(tmp) < 0) {
		set_failure(res, OUT_FAILED, "I/O error", "'%s/%s': %s", o->outdir, tmp,
			    strerror(errno));
		goto out;
	}
	ctx = c2c_ctx_new();
	if (!ctx || (o->absroot && c2c_ctx_set_root(ctx, o->absroot, o->file_pages) < 0)) {
		set_failure(res, OUT_FAILED, "out of memory", "out of memory");
		goto out;
	}
	c2c_ctx_set_flags(ctx, o->flags);
	c2c_ctx_set_log_fn(ctx, worker_log_cb, &wl, C2C_LOG_WARN);
	rc = c2c_convert(ctx, input, ".");
	/* The bytes converted must be the bytes hashed and checked. */
	if (stat(input, &st2) < 0 || st2.st_ino != st.st_ino || st2.st_dev != st.st_dev ||
	    st2.st_size != st.st_size || mtime_ns_of(&st2) != res->mtime_ns) {
		set_failure(res, OUT_CHANGED, "changed", "'%s': changed while it was converted",
			    input);
		goto out;
	}
	if (rc < 0) {
		set_failure(res, OUT_FAILED, c2c_strerror(rc), "%s", c2c_errmsg(ctx));
		goto out;
	}
	res->cores = (uint32_t)rc;
	res->warnings = (uint32_t)c2c_warning_count(ctx);
	report = c2c_report(ctx, C2C_REPORT_JSON);
	if (worker_manifest(o, name, res, report, attempt) < 0) {
		set_failure(res, OUT_FAILED, "I/O error", "'%s/%s/manifest.json': cannot write: %s",
			    o->outdir, tmp, strerror(errno));
		goto out;
	}
	/* Into place; an older conversion of the same name is swapped out, then removed. */
	if (renameat2(outfd, tmp, outfd, name, RENAME_NOREPLACE) < 0) {
		if (errno != EEXIST ||
		    renameat2(outfd, tmp, outfd, name, RENAME_EXCHANGE) < 0) {
			set_failure(res, OUT_FAILED, "I/O error", "'%s/%s': cannot rename into place: %s",
				    o->outdir, name, strerror(errno));
			goto out;
		}
		/* tmp now holds the older conversion, removed below */
	} else {
		made = false;
	}
	res->outcome = OUT_DONE;
out:
	/* (the worker may have chdir()ed into tmp: remove it relative to OUTDIR) */
	if (made && fchdir(outfd) == 0)
		(void)rm_tree(tmp);
	free(report);
	c2c_ctx_free(ctx);
	if (fd >= 0)
		close(fd);
	free(input);
}

/* ------------------------------------------------------------ entry table */

static struct entry *entry_find(struct watch *w, const char *name)
{
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->e[i].name, name))
			return &w->e[i];
	return NULL;
}

static struct entry *entry_add(struct watch *w, const char *name)
{
	struct entry *e;

	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		struct entry *ne = realloc(w->e, cap * sizeof(*ne));

		if (!ne)
			return NULL;
		w->e = ne;
		w->cap = cap;
	}
	e = &w->e[w->n];
	memset(e, 0, sizeof(*e));
	e->name = strdup(name);
	if (!e->name)
		return NULL;
	e->fd = -1;
	e->st = ST_PENDING;
	e->changed_at = mono_now();
	w->n++;
	return e;
}

static void entry_remove(struct watch *w, struct entry *e)
{
	size_t i = (size_t)(e - w->e);

	free(e->name);
	free(e->message);
	memmove(e, e + 1, (w->n - i - 1) * sizeof(*e));
	w->n--;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp((*(struct entry *const *)a)->name, (*(struct entry *const *)b)->name);
}

/* ------------------------------------------------------------------ index */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Core files (core.*) in OUTDIR/NAME, or -1 if the directory is not there;
 * with list (a JSON array), their names appended, sorted (-2: out of memory).
 */
static int count_cores(struct watch *w, const char *name, json_t *list)
{
	int dfd = openat(w->outfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC), n = 0;
	char **names = NULL;
	struct dirent *d;
	bool oom = false;
	DIR *dir;

	if (dfd < 0)
		return -1;
	dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return -1;
	}
	while ((d = readdir(dir))) {
		char **nn;

		if (strncmp(d->d_name, "core.", 5))
			continue;
		nn = list ? realloc(names, ((size_t)n + 1) * sizeof(*names)) : names;
		if (list && (!nn || !(nn[n] = strdup(d->d_name)))) {
			names = nn ? nn : names;
			oom = true;
			break;
		}
		names = nn;
		n++;
	}
	closedir(dir);
	if (list && names) {
		qsort(names, (size_t)n, sizeof(*names), cmp_str);
		for (int i = 0; i < n; i++) {
			if (!oom && json_array_append_new(list, jstr(names[i])) < 0)
				oom = true;
			free(names[i]);
		}
	}
	free(names);
	return oom ? -2 : n;
}

/* One archive of the index (doc/report.schema.json $defs/watch_index). */
static json_t *index_entry(struct watch *w, const struct entry *e)
{
	json_t *cores = json_array();
	char mtime[48];
	char *m;
	json_t *j;

	format_time(mtime, sizeof(mtime), e->mtime_ns, false);
	if (e->st != ST_DONE) {
		json_decref(cores);
		return json_pack("{s:o, s:s, s:o, s:s, s:o, s:i, s:n, s:n, s:n, s:[], s:b, s:i,"
				 " s:{s:o, s:o}}",
				 "archive", jstr(e->name), "status", "failed", "size", jint(e->size),
				 "mtime", mtime, "sha256", e->sha256[0] ? jstr(e->sha256) : json_null(),
				 "attempts", e->attempts, "output", "manifest", "converted", "cores",
				 "cores_removed", 0, "warnings", 0, "error", "code", jstr(e->code),
				 "message", jstr(e->message));
	}
	if (!cores || count_cores(w, e->name, cores) < -1) {
		json_decref(cores);
		return NULL;
	}
	m = path2(e->name, "manifest.json");
	j = json_pack("{s:o, s:s, s:o, s:s, s:o, s:i, s:o, s:o, s:s, s:o, s:b, s:o, s:n}",
		      "archive", jstr(e->name), "status", "done", "size", jint(e->size), "mtime",
		      mtime, "sha256", e->sha256[0] ? jstr(e->sha256) : json_null(), "attempts",
		      e->attempts, "output", jstr(e->name), "manifest", m ? jstr(m) : NULL,
		      "converted", e->converted, "cores", cores, "cores_removed",
		      (int)e->cores_removed, "warnings", jint(e->warnings), "error");
	free(m);
	return j;
}

/*
 * OUTDIR/index.json, rewritten atomically: every archive done or failed,
 * sorted by name. Schema: $defs/watch_index in doc/report.schema.json.
 */
static void write_index(struct watch *w)
{
	struct entry **sorted = calloc(w->n ? w->n : 1, sizeof(*sorted));
	json_t *list = json_array(), *idx = NULL;
	char now[48], *text = NULL;
	size_t len = 0;

	if (!sorted || !list)
		goto out;
	for (size_t i = 0; i < w->n; i++)
		sorted[i] = &w->e[i];
	qsort(sorted, w->n, sizeof(*sorted), cmp_entry);
	for (size_t i = 0; i < w->n; i++) {
		const struct entry *e = sorted[i];

		if (e->st != ST_DONE && e->st != ST_FAILED)
			continue;
		if (json_array_append_new(list, index_entry(w, e)) < 0)
			goto out;
	}
	format_time(now, sizeof(now), -1, true);
	idx = json_pack("{s:s, s:o, s:s, s:O}", "ckpt2core", c2c_version(), "watch",
			jstr(w->o->absdir), "updated", now, "archives", list);
	text = jdump(idx, WJSON_FLAGS, &len);
out:
	if (!text)
		log_msg(w->o, "error", NULL, "'%s/index.json': cannot write: out of memory",
			w->o->outdir);
	else if (write_atomic(w->outfd, "index.json", text, len) < 0)
		log_msg(w->o, "error", NULL, "'%s/index.json': cannot write: %s", w->o->outdir,
			strerror(errno));
	free(text);
	json_decref(list);
	free(sorted);
}

/* OUTDIR/.failed/NAME.json: a failure survives restarts (same size and mtime). */
static void record_failure(struct watch *w, const struct entry *e)
{
	char file[4200], *text;
	size_t len = 0;

	if (mkdirat(w->outfd, ".failed", 0755) < 0 && errno != EEXIST)
		return;
	text = jdump(json_pack("{s:{s:o, s:o, s:o, s:o}, s:i, s:o, s:o}", "archive", "name",
			       jstr(e->name), "size", jint(e->size), "mtime_ns", jint(e->mtime_ns),
			       "sha256", jstr(e->sha256), "attempts", e->attempts, "code",
			       jstr(e->code), "message", jstr(e->message)),
		     WJSON_FLAGS, &len);
	snprintf(file, sizeof(file), ".failed/%s.json", e->name);
	if (!text || write_atomic(w->outfd, file, text, len) < 0)
		log_msg(w->o, "error", e->name, "'%s/%s': cannot write: %s", w->o->outdir, file,
			!text ? "out of memory" : strerror(errno));
	free(text);
}

/* ------------------------------------------------------- state at start */

/* fn(w, name) for each name in OUTDIR/sub (sub "." : OUTDIR itself). */
static void each_name(struct watch *w, const char *sub,
		      void (*fn)(struct watch *w, const char *name))
{
	int dfd = openat(w->outfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *d;

	if (!dir) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	while ((d = readdir(dir)))
		fn(w, d->d_name);
	closedir(dir);
}

/* OUTDIR/.tmp-* (and .index.json.*) left by a run that was killed: removed. */
static void stale_tmp(struct watch *w, const char *name)
{
	char *p;

	if (strncmp(name, ".tmp-", 5) && strncmp(name, ".index.json.", 12))
		return;
	p = path2(w->o->outdir, name);
	if (p && rm_tree(p) == 0)
		log_msg(w->o, "cleanup", NULL, "removed '%s' (left by an interrupted run)", p);
	free(p);
}

/* The JSON object in the file A/B/C, or NULL. */
static json_t *load_object(const char *a, const char *b, const char *c)
{
	char *path = NULL;
	json_t *j;

	if (asprintf(&path, "%s/%s/%s", a, b, c) < 0)
		return NULL;
	j = json_load_file(path, 0, NULL);
	free(path);
	if (!json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* OUTDIR/NAME/manifest.json: a done conversion. */
static void load_done(struct watch *w, const char *name)
{
	struct entry *e;
	json_t *m;

	if (name[0] == '.' || !is_archive_name(name))
		return;
	m = load_object(w->o->outdir, name, "manifest.json");
	if (!m || !(e = entry_add(w, name))) {
		json_decref(m);
		return;
	}
	e->st = ST_DONE;
	read_record(m, e, e->sha256);
	snprintf(e->done_sha256, sizeof(e->done_sha256), "%s", e->sha256);
	e->cores = (uint32_t)json_integer_value(json_object_get(m, "cores"));
	e->warnings = (uint32_t)json_integer_value(json_object_get(m, "warnings"));
	read_str(m, "converted", e->converted, sizeof(e->converted));
	e->cores_removed = e->cores > 0 && count_cores(w, e->name, NULL) == 0;
	json_decref(m);
}

/* OUTDIR/.failed/NAME.json: a failure recorded (unless NAME was converted since). */
static void load_failed(struct watch *w, const char *file)
{
	size_t len = strlen(file);
	char name[NAME_MAX + 1];
	const char *msg;
	struct entry *e;
	json_t *f;

	if (len < 6 || strcmp(file + len - 5, ".json") || file[0] == '.')
		return;
	snprintf(name, sizeof(name), "%.*s", (int)(len - 5), file);
	if (entry_find(w, name))
		return;
	f = load_object(w->o->outdir, ".failed", file);
	if (!f || !(e = entry_add(w, name))) {
		json_decref(f);
		return;
	}
	e->st = ST_FAILED;
	read_record(f, e, e->sha256);
	read_str(f, "code", e->code, sizeof(e->code));
	msg = json_string_value(json_object_get(f, "message"));
	e->message = msg ? strdup(msg) : NULL;
	json_decref(f);
}

/* What an earlier run left in OUTDIR: temporaries removed, conversions and failures known. */
static void load_state(struct watch *w)
{
	each_name(w, ".", stale_tmp);
	each_name(w, ".", load_done);
	each_name(w, ".failed", load_failed);
}

/* --------------------------------------------------------------- the loop */

/* An archive name seen in DIR (scan or event); closed: how it was closed, or NULL. */
static void saw(struct watch *w, const char *name, const char *closed, const char *how)
{
	struct entry *e = entry_find(w, name);
	char *path = path2(w->o->absdir, name);
	struct stat st;
	int r = path ? stat(path, &st) : -1;

	free(path);
	if (r < 0 || !S_ISREG(st.st_mode))
		return; /* gone again, or not a file: an event for it (if any) follows */
	if (!e) {
		struct logline l;

		e = entry_add(w, name);
		if (!e) {
			log_msg(w->o, "error", name, "out of memory");
			return;
		}
		e->size = st.st_size;
		e->mtime_ns = mtime_ns_of(&st);
		log_begin(&l, w->o, "seen", name);
		log_str(&l, "how", how);
		log_int(&l, "size", (long long)e->size);
		log_end(&l);
	} else {
		e->in_dir = true;
		if (e->st == ST_DONE || e->st == ST_FAILED) {
			if (st.st_size == e->size && mtime_ns_of(&st) == e->mtime_ns)
				return;
			/* A different file under a done (or failed) name: look again. */
			log_msg(w->o, "changed", name, "size or mtime differs from the %s one",
				e->st == ST_DONE ? "converted" : "failed");
			if (e->st == ST_FAILED) {
				e->sha256[0] = '\0';
				free(e->message);
				e->message = NULL;
			}
			e->attempts = 0;
			e->st = ST_PENDING;
			e->changed_at = mono_now();
		}
		if (st.st_size != e->size || mtime_ns_of(&st) != e->mtime_ns) {
			if (e->st == ST_BACKOFF) {
				/* A failed attempt on an archive that grows: it was not finished. */
				log_msg(w->o, "growing", name, "changed since attempt %d", e->attempts);
				e->st = ST_PENDING;
				e->attempts = 0;
			}
			e->size = st.st_size;
			e->mtime_ns = mtime_ns_of(&st);
			e->changed_at = mono_now();
			e->closed = NULL;
		}
	}
	e->in_dir = true;
	if (closed)
		e->closed = closed;
}

static void gone(struct watch *w, const char *name)
{
	struct entry *e = entry_find(w, name);

	if (!e)
		return;
	e->in_dir = false;
	if (e->st == ST_PENDING || e->st == ST_READY || e->st == ST_BACKOFF) {
		log_msg(w->o, "gone", name, "removed before it was converted");
		entry_remove(w, e);
	}
	/* running: the worker holds it open and reports; done/failed: kept */
}

static void scan_dir(struct watch *w)
{
	DIR *dir = opendir(w->o->absdir);
	struct dirent *d;
	char **names = NULL;
	size_t n = 0;

	if (!dir) {
		log_msg(w->o, "error", NULL, "'%s': cannot read: %s", w->o->dir, strerror(errno));
		return;
	}
	while ((d = readdir(dir))) {
		char **nn;

		if (!is_archive_name(d->d_name))
			continue;
		if (!w->o->shards) {
			saw(w, d->d_name, NULL, "scan");
			continue;
		}
		nn = realloc(names, (n + 1) * sizeof(*names));
		if (!nn || !(nn[n] = strdup(d->d_name))) {
			names = nn ? nn : names;
			log_msg(w->o, "error", NULL, "out of memory");
			break;
		}
		names = nn;
		n++;
	}
	closedir(dir);
	/* --shard I/N: the archives at positions I, I+N, ... in name order. */
	if (names)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (i % (size_t)w->o->shards == (size_t)w->o->shard)
			saw(w, names[i], NULL, "scan");
		free(names[i]);
	}
	free(names);
}

static void start_worker(struct watch *w, struct entry *e)
{
	int p[2];
	pid_t pid, parent;
	struct logline l;
	char known[sizeof(e->done_sha256)];

	/* A done archive with another size or mtime: the hash decides. */
	snprintf(known, sizeof(known), "%s", e->done_sha256);
	if (pipe2(p, O_CLOEXEC) < 0) {
		log_msg(w->o, "error", e->name, "cannot start a worker: %s", strerror(errno));
		return;
	}
	e->attempts++;
	parent = getpid();
	pid = fork();
	if (pid < 0) {
		log_msg(w->o, "error", e->name, "cannot start a worker: %s", strerror(errno));
		e->attempts--;
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid == 0) {
		struct wresult res;
		sigset_t none;
		const char *q;
		size_t left;

		/* A worker must not outlive the watcher (its OUTDIR, its temporaries). */
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		sigemptyset(&none);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		close(p[0]);
		memset(&res, 0, sizeof(res));
		worker_run(w->o, w->outfd, e->name, known, e->attempts, &res);
		for (q = (const char *)&res, left = sizeof(res); left;) {
			ssize_t n = write(p[1], q, left);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			q += n;
			left -= (size_t)n;
		}
		_exit(0);
	}
	close(p[1]);
	e->pid = pid;
	e->fd = p[0];
	e->st = ST_RUNNING;
	e->started = mono_now();
	e->try_size = e->size;
	e->try_mtime_ns = e->mtime_ns;
	w->running++;
	log_begin(&l, w->o, "convert", e->name);
	log_int(&l, "attempt", e->attempts);
	log_int(&l, "worker", (long long)pid);
	log_int(&l, "running", w->running);
	log_end(&l);
}

static void backoff_or_fail(struct watch *w, struct entry *e, const struct wresult *res)
{
	struct logline l;

	snprintf(e->code, sizeof(e->code), "%s", res->code);
	free(e->message);
	e->message = strdup(res->message);
	if (res->sha256[0])
		snprintf(e->sha256, sizeof(e->sha256), "%s", res->sha256);
	if (e->attempts >= w->o->retries) {
		e->st = ST_FAILED;
		log_begin(&l, w->o, "failed", e->name);
		log_int(&l, "attempts", e->attempts);
		log_str(&l, "code", res->code);
		log_str(&l, "message", res->message);
		log_end(&l);
		record_failure(w, e);
		write_index(w);
		return;
	}
	double delay = w->o->retry_delay;

	for (int k = 1; k < e->attempts && delay < MAX_DELAY; k++)
		delay *= 2;
	if (delay > MAX_DELAY)
		delay = MAX_DELAY;
	e->st = ST_BACKOFF;
	e->next_try = mono_now() + delay;
	log_begin(&l, w->o, "retry", e->name);
	log_int(&l, "attempt", e->attempts);
	log_num(&l, "delay", delay);
	log_str(&l, "code", res->code);
	log_str(&l, "message", res->message);
	log_end(&l);
}

/* A worker exited: read its result and move the entry on. */
static void reap(struct watch *w, pid_t pid, int status)
{
	struct wresult res;
	struct entry *e = NULL;
	struct logline l;
	struct stat st;
	char *path;
	ssize_t n;

	for (size_t i = 0; i < w->n; i++)
		if (w->e[i].st == ST_RUNNING && w->e[i].pid == pid)
			e = &w->e[i];
	if (!e)
		return;
	w->running--;
	memset(&res, 0, sizeof(res));
	do
		n = read(e->fd, &res, sizeof(res));
	while (n < 0 && errno == EINTR);
	close(e->fd);
	e->fd = -1;
	e->pid = 0;
	if (n != (ssize_t)sizeof(res)) {
		char tmp[300], *full;

		/* Killed or crashed: its temporary is ours to remove. */
		tmp_name(tmp, sizeof(tmp), e->name, pid);
		full = path2(w->o->outdir, tmp);
		if (full)
			(void)rm_tree(full);
		free(full);
		if (w->stopping) {
			/* Stopped by us: not an attempt; converted after a restart. */
			e->st = ST_PENDING;
			e->attempts--;
			log_msg(w->o, "stopped", e->name, "conversion interrupted, nothing kept");
			return;
		}
		memset(&res, 0, sizeof(res));
		if (WIFSIGNALED(status))
			set_failure(&res, OUT_FAILED, "crashed", "worker killed by signal %d",
				    WTERMSIG(status));
		else
			set_failure(&res, OUT_FAILED, "crashed", "worker exited with status %d",
				    WEXITSTATUS(status));
	}
	switch (res.outcome) {
	case OUT_DONE:
		e->st = ST_DONE;
		e->size = res.size;
		e->mtime_ns = res.mtime_ns;
		e->cores = res.cores;
		e->warnings = res.warnings;
		e->cores_removed = false;
		snprintf(e->sha256, sizeof(e->sha256), "%s", res.sha256);
		snprintf(e->done_sha256, sizeof(e->done_sha256), "%s", res.sha256);
		format_time(e->converted, sizeof(e->converted), -1, true);
		/* A failure recorded earlier for this name is over. */
		if (asprintf(&path, "%s/.failed/%s.json", w->o->outdir, e->name) >= 0) {
			(void)unlink(path);
			free(path);
		}
		log_begin(&l, w->o, "converted", e->name);
		log_int(&l, "cores", res.cores);
		log_int(&l, "warnings", res.warnings);
		log_int(&l, "attempt", e->attempts);
		log_num(&l, "seconds", mono_now() - e->started);
		log_str(&l, "sha256", res.sha256);
		log_end(&l);
		write_index(w);
		break;
	case OUT_UNCHANGED:
		e->st = ST_DONE;
		e->size = res.size;
		e->mtime_ns = res.mtime_ns;
		snprintf(e->sha256, sizeof(e->sha256), "%s", res.sha256);
		log_msg(w->o, "unchanged", e->name, "same SHA-256 as the conversion already done");
		write_index(w);
		break;
	case OUT_GONE:
		log_msg(w->o, "gone", e->name, "%s", res.message);
		entry_remove(w, e);
		break;
	case OUT_CHANGED:
	case OUT_INCOMPLETE:
		/* Still being written (or replaced): not an attempt, wait for it to settle. */
		path = path2(w->o->absdir, e->name);
		if (!path || stat(path, &st) < 0 || st.st_size != res.size ||
		    mtime_ns_of(&st) != res.mtime_ns)
			res.outcome = OUT_CHANGED;
		free(path);
		if (res.outcome == OUT_CHANGED) {
			e->attempts--;
			e->st = ST_PENDING;
			e->closed = NULL;
			log_begin(&l, w->o, "growing", e->name);
			log_str(&l, "message", res.message);
			log_end(&l);
			break;
		}
		backoff_or_fail(w, e, &res);
		break;
	default:
		backoff_or_fail(w, e, &res);
		break;
	}
}

/* Move pending entries on (settled?) and backoff entries whose time came. */
static void tick(struct watch *w)
{
	double now = mono_now();
	struct timespec rt;

	clock_gettime(CLOCK_REALTIME, &rt);
	for (size_t i = 0; i < w->n; i++) {
		struct entry *e = &w->e[i];
		struct stat st;
		char *path;
		int r;

		if (e->st == ST_FAILED && e->in_dir) {
			/* A failed archive that changes (a writer that stalled) is looked at again. */
			path = path2(w->o->absdir, e->name);
			if (path && stat(path, &st) == 0 &&
			    (st.st_size != e->size || mtime_ns_of(&st) != e->mtime_ns))
				saw(w, e->name, NULL, "changed");
			free(path);
			if (e->st == ST_FAILED)
				continue;
			e->changed_at = now;
		}
		if (e->st != ST_PENDING && e->st != ST_BACKOFF)
			continue;
		path = path2(w->o->absdir, e->name);
		r = path ? stat(path, &st) : -1;
		free(path);
		if (r < 0) {
			if (errno == ENOENT) {
				gone(w, e->name);
				i--;
			}
			continue;
		}
		if (st.st_size != e->size || mtime_ns_of(&st) != e->mtime_ns) {
			e->size = st.st_size;
			e->mtime_ns = mtime_ns_of(&st);
			e->changed_at = now;
			e->closed = NULL;
			if (e->st == ST_BACKOFF) {
				/* A failed archive that grows was not finished: start over. */
				log_msg(w->o, "growing", e->name, "changed since attempt %d",
					e->attempts);
				e->st = ST_PENDING;
				e->attempts = 0;
			}
			continue;
		}
		if (e->st == ST_BACKOFF) {
			if (now >= e->next_try)
				e->st = ST_READY;
			continue;
		}
		{
			double age = (double)rt.tv_sec + (double)rt.tv_nsec / 1e9 -
				     (double)e->mtime_ns / 1e9;
			const char *why = e->closed ? e->closed :
					  now - e->changed_at >= w->o->settle ? "settled" :
					  age >= w->o->settle ? "settled" : NULL;
			struct logline l;

			if (!why)
				continue;
			e->st = ST_READY;
			log_begin(&l, w->o, "ready", e->name);
			log_str(&l, "how", why);
			log_int(&l, "size", (long long)e->size);
			log_end(&l);
		}
	}
}

/* --keep-cores: remove core files older than DAYS; manifests stay. */
static void retention(struct watch *w)
{
	struct timespec rt;
	bool changed = false;

	if (w->o->keep_days < 0)
		return;
	clock_gettime(CLOCK_REALTIME, &rt);
	for (size_t i = 0; i < w->n; i++) {
		struct entry *e = &w->e[i];
		int dfd, removed = 0, left = 0;
		struct dirent *d;
		DIR *dir;

		if (e->st != ST_DONE || e->cores_removed)
			continue;
		dfd = openat(w->outfd, e->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			continue;
		dir = fdopendir(dfd);
		if (!dir) {
			close(dfd);
			continue;
		}
		while ((d = readdir(dir))) {
			struct stat st;

			if (strncmp(d->d_name, "core.", 5) ||
			    fstatat(dfd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			if ((double)(rt.tv_sec - st.st_mtim.tv_sec) >= w->o->keep_days * 86400.0 &&
			    unlinkat(dfd, d->d_name, 0) == 0)
				removed++;
			else
				left++;
		}
		closedir(dir);
		if (removed) {
			struct logline l;

			log_begin(&l, w->o, "expired", e->name);
			log_int(&l, "cores_removed", removed);
			log_int(&l, "cores_left", left);
			log_end(&l);
			e->cores_removed = left == 0;
			changed = true;
		}
	}
	if (changed)
		write_index(w);
}

/* Stop: no new work; end the workers, remove their temporaries. */
static void stop_workers(struct watch *w)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->e[i].st == ST_RUNNING)
			kill(w->e[i].pid, SIGTERM);
	while (w->running > 0) {
		int status;
		pid_t pid = waitpid(-1, &status, 0);

		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			break;
		/* A worker that finished before the signal reports as usual. */
		reap(w, pid, status);
	}
}

static bool all_settled(const struct watch *w)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->e[i].st != ST_DONE && w->e[i].st != ST_FAILED)
			return false;
	return true;
}

static void handle_inotify(struct watch *w, int ifd, bool *rescan)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)(void *)p;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				*rescan = true;
				continue;
			}
			if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
				log_msg(w->o, "error", NULL, "'%s': the watched directory went away",
					w->o->dir);
				w->stopping = true;
				continue;
			}
			if (!ev->len || !is_archive_name(ev->name))
				continue;
			if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
				gone(w, ev->name);
			else if (ev->mask & IN_CLOSE_WRITE)
				saw(w, ev->name, "close-write", "close-write");
			else if (ev->mask & IN_MOVED_TO)
				saw(w, ev->name, "moved-to", "moved-to");
			else if (ev->mask & IN_CREATE)
				saw(w, ev->name, NULL, "create");
		}
	}
}

static void on_signal(int sig)
{
	(void)sig;
}

static int watch_loop(struct watch *w)
{
	sigset_t mask;
	int sfd = -1, ifd = -1, ret = EXIT_FATAL;
	double next_retention;
	bool rescan = false;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGHUP);
	/*
	 * Blocked and read from a signalfd. The handler never runs; it is there
	 * because the init process of a PID namespace (the watcher, in a
	 * container) receives only signals it has a handler for.
	 */
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		sigaction(SIGCHLD, &sa, NULL);
	}
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
	    (sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		log_msg(w->o, "error", NULL, "signalfd: %s", strerror(errno));
		goto out;
	}
	if (!w->o->once) {
		ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		if (ifd < 0 || inotify_add_watch(ifd, w->o->absdir,
						 IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE |
							 IN_DELETE | IN_MOVED_FROM |
							 IN_DELETE_SELF | IN_MOVE_SELF |
							 IN_ONLYDIR) < 0) {
			log_msg(w->o, "error", NULL, "'%s': cannot watch: %s", w->o->dir,
				strerror(errno));
			goto out;
		}
	}
	/* Watch first, then scan: nothing written in between is missed. */
	scan_dir(w);
	for (size_t i = 0; i < w->n; i++) {
		struct entry *e = &w->e[i];

		if (e->st == ST_DONE && e->in_dir)
			log_msg(w->o, "skip", e->name, "already converted (same size and mtime)");
		else if (e->st == ST_FAILED && e->in_dir)
			log_msg(w->o, "skip", e->name,
				"failed before with the same size and mtime: %s",
				e->message ? e->message : "");
	}
	write_index(w);
	retention(w);
	next_retention = mono_now() + RETENTION_EVERY;

	for (;;) {
		struct pollfd pfd[2] = { { sfd, POLLIN, 0 }, { ifd, POLLIN, 0 } };
		struct signalfd_siginfo si;
		bool busy = false;

		tick(w);
		for (size_t i = 0; i < w->n && !w->stopping && w->running < w->o->jobs; i++)
			if (w->e[i].st == ST_READY)
				start_worker(w, &w->e[i]);
		if (w->o->once && all_settled(w))
			break;
		if (w->stopping)
			break;
		for (size_t i = 0; i < w->n; i++)
			busy = busy || (w->e[i].st != ST_DONE && w->e[i].st != ST_FAILED);
		if (poll(pfd, ifd >= 0 ? 2 : 1, busy ? TICK_MS : 60000) < 0 && errno != EINTR) {
			log_msg(w->o, "error", NULL, "poll: %s", strerror(errno));
			goto out;
		}
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo == SIGCHLD)
				continue; /* reaped below */
			if (si.ssi_signo == SIGHUP) {
				rescan = true;
				continue;
			}
			log_msg(w->o, "stop", NULL, "%s: finishing", strsignal((int)si.ssi_signo));
			w->stopping = true;
		}
		for (;;) {
			int status;
			pid_t pid = waitpid(-1, &status, WNOHANG);

			if (pid <= 0)
				break;
			reap(w, pid, status);
		}
		if (ifd >= 0 && (pfd[1].revents & POLLIN))
			handle_inotify(w, ifd, &rescan);
		if (rescan) {
			rescan = false;
			scan_dir(w);
		}
		if (mono_now() >= next_retention) {
			retention(w);
			next_retention = mono_now() + RETENTION_EVERY;
		}
		if (w->stopping)
			break;
	}
	stop_workers(w);
	retention(w);
	write_index(w);
	ret = EXIT_OK;
	if (w->o->once && !w->stopping)
		for (size_t i = 0; i < w->n; i++)
			if (w->e[i].st == ST_FAILED && w->e[i].in_dir)
				ret = EXIT_SOME_FAILED;
out:
	if (ifd >= 0)
		close(ifd);
	if (sfd >= 0)
		close(sfd);
	return ret;
}

/* ------------------------------------------------------------ command line */

static void watch_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s watch DIR -o OUTDIR [OPTIONS]\n"
		"Convert each checkpoint archive that appears in DIR (e.g.\n"
		"/var/lib/kubelet/checkpoints) into OUTDIR/<archive name>/core.<pid>, with\n"
		"OUTDIR/<archive name>/manifest.json, and list them all in OUTDIR/index.json.\n"
		"Archives are *.tar, *.tar.gz, *.tgz, *.tar.zst, *.tzst, *.tar.xz, *.txz,\n"
		"*.tar.bz2, *.tbz2 (names starting with '.' are ignored). An archive is\n"
		"converted once it was closed after writing or renamed into DIR, or its size\n"
		"and mtime stayed the same for the settle period, and only if its compressed\n"
		"stream and its tar both reach their end.\n"
		"\n"
		"Options:\n"
		"  -o, --output OUTDIR     where the conversions go (required; created if missing)\n"
		"      --once              convert what DIR holds now, then exit\n"
		"  -j, --jobs N            convert up to N archives at a time, each in its own\n"
		"                          process (default 1, at most %d)\n"
		"      --keep-cores DAYS   remove core files older than DAYS (a decimal number);\n"
		"                          manifests stay and nothing is converted again\n"
		"      --log-format FMT    text (default) or json: one line per event on stderr\n"
		"      --settle SECONDS    how long size and mtime must stay the same when no\n"
		"                          close-write event came (default 5)\n"
		"      --retries N         attempts before an archive is reported failed\n"
		"                          (default 5)\n"
		"      --retry-delay SECONDS  wait before the second attempt; doubles with each\n"
		"                          further one, at most 3600 (default 10)\n"
		"  -r, --root DIR          read mapped files from DIR, as for a conversion\n"
		"      --file-pages MODE   none, headers (default) or all, with --root\n"
		"      --include-dontdump  keep MADV_DONTDUMP mappings\n"
		"      --shard I/N         with --once: only the archives at positions I, I+N,\n"
		"                          I+2N, ... of DIR in name order (0 <= I < N; for an\n"
		"                          Indexed Job: --shard $(JOB_COMPLETION_INDEX)/N, each\n"
		"                          index with its own OUTDIR)\n"
		"  -h, --help              show this help and exit\n"
		"\n"
		"Restarts convert nothing twice: a manifest records the archive's size, mtime\n"
		"and SHA-256. A failure is recorded in OUTDIR/.failed/ and kept while the\n"
		"archive keeps its size and mtime. SIGTERM or SIGINT stops the workers,\n"
		"removes their temporaries (OUTDIR/.tmp-*) and exits 0; SIGHUP rescans DIR.\n"
		"\n"
		"Exit status:\n"
		"  0   stopped by a signal, or --once and no archive failed\n"
		"  1   --once: some archive failed\n"
		"  2   DIR cannot be watched or OUTDIR cannot be written\n"
		"  64  usage error\n",
		prog, MAX_JOBS);
}

static int wusage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int wusage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: error: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s watch --help' for more information.\n", prog);
	return EXIT_USAGE;
}

static int parse_seconds(const char *s, double max, double *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0 && v <= max))
		return -1;
	*ret = v;
	return 0;
}

static int parse_count(const char *s, long max, int *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > max || s[0] == '+')
		return -1;
	*ret = (int)v;
	return 0;
}

int c2c_watch_main(int argc, char **argv)
{
	enum { OPT_ONCE = 256, OPT_KEEP, OPT_LOGFMT, OPT_SETTLE, OPT_RETRIES, OPT_DELAY,
	       OPT_FILE_PAGES, OPT_DONTDUMP, OPT_SHARD };
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "jobs", required_argument, NULL, 'j' },
		{ "keep-cores", required_argument, NULL, OPT_KEEP },
		{ "log-format", required_argument, NULL, OPT_LOGFMT },
		{ "settle", required_argument, NULL, OPT_SETTLE },
		{ "retries", required_argument, NULL, OPT_RETRIES },
		{ "retry-delay", required_argument, NULL, OPT_DELAY },
		{ "root", required_argument, NULL, 'r' },
		{ "file-pages", required_argument, NULL, OPT_FILE_PAGES },
		{ "include-dontdump", no_argument, NULL, OPT_DONTDUMP },
		{ "shard", required_argument, NULL, OPT_SHARD },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct wopts o = { .jobs = 1, .retries = 5, .settle = 5, .retry_delay = 10,
			   .keep_days = -1, .file_pages = C2C_FILE_PAGES_HEADERS };
	struct watch w = { .o = &o, .outfd = -1 };
	bool file_pages_set = false;
	int c, lockfd = -1, ret = EXIT_FATAL;
	struct logline l;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:j:r:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			o.outdir = optarg;
			break;
		case OPT_ONCE:
			o.once = true;
			break;
		case 'j':
			if (parse_count(optarg, MAX_JOBS, &o.jobs) < 0)
				return wusage_error("invalid --jobs '%s' (1 to 64)", optarg);
			break;
		case OPT_KEEP:
			if (parse_seconds(optarg, 1e6, &o.keep_days) < 0)
				return wusage_error("invalid --keep-cores '%s' (days, e.g. 7 or 0.5)",
						    optarg);
			break;
		case OPT_LOGFMT:
			if (strcmp(optarg, "text") && strcmp(optarg, "json"))
				return wusage_error("invalid --log-format '%s' (text or json)", optarg);
			o.json_log = !strcmp(optarg, "json");
			break;
		case OPT_SETTLE:
			if (parse_seconds(optarg, 86400, &o.settle) < 0)
				return wusage_error("invalid --settle '%s' (seconds)", optarg);
			break;
		case OPT_RETRIES:
			if (parse_count(optarg, 100, &o.retries) < 0)
				return wusage_error("invalid --retries '%s' (1 to 100)", optarg);
			break;
		case OPT_DELAY:
			if (parse_seconds(optarg, MAX_DELAY, &o.retry_delay) < 0)
				return wusage_error("invalid --retry-delay '%s' (seconds)", optarg);
			break;
		case 'r':
			o.root = optarg;
			break;
		case OPT_FILE_PAGES:
			file_pages_set = true;
			if (c2c_cli_file_pages(optarg, &o.file_pages) < 0)
				return wusage_error("invalid --file-pages '%s' (none, headers or all)",
						    optarg);
			break;
		case OPT_DONTDUMP:
			o.flags |= C2C_FLAG_INCLUDE_DONTDUMP;
			break;
		case OPT_SHARD: {
			char *end;
			long i, n;

			errno = 0;
			i = strtol(optarg, &end, 10);
			n = *end == '/' && end != optarg ? strtol(end + 1, &end, 10) : -1;
			if (errno || *end || optarg[0] < '0' || optarg[0] > '9' || n < 1 ||
			    n > 100000 || i < 0 || i >= n)
				return wusage_error("invalid --shard '%s' (I/N, 0 <= I < N)", optarg);
			o.shard = (int)i;
			o.shards = (int)n;
			break;
		}
		case 'h':
			watch_usage(stdout);
			return EXIT_OK;
		case ':':
			return wusage_error("option '%s' needs an argument", argv[optind - 1]);
		default:
			return wusage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind == argc)
		return wusage_error("%s", "no directory to watch given");
	if (argc - optind > 1)
		return wusage_error("watch takes one directory, not '%s' too", argv[optind + 1]);
	if (!o.outdir)
		return wusage_error("%s", "-o OUTDIR is required");
	if (file_pages_set && !o.root)
		return wusage_error("%s", "--file-pages needs --root");
	if (o.shards && !o.once)
		return wusage_error("%s", "--shard needs --once");
	o.dir = argv[optind];

	o.absdir = realpath(o.dir, NULL);
	if (!o.absdir) {
		fprintf(stderr, "%s: error: '%s': cannot watch: %s\n", prog, o.dir, strerror(errno));
		goto out;
	}
	if (o.root && !(o.absroot = realpath(o.root, NULL))) {
		fprintf(stderr, "%s: error: '%s': %s\n", prog, o.root, strerror(errno));
		goto out;
	}
	if (mkdir(o.outdir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "%s: error: '%s': cannot create: %s\n", prog, o.outdir,
			strerror(errno));
		goto out;
	}
	w.outfd = open(o.outdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w.outfd < 0) {
		fprintf(stderr, "%s: error: '%s': %s\n", prog, o.outdir, strerror(errno));
		goto out;
	}
	/* One watcher per OUTDIR: the index and the temporaries are its own. */
	lockfd = openat(w.outfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lockfd < 0 || flock(lockfd, LOCK_EX | LOCK_NB) < 0) {
		fprintf(stderr, "%s: error: '%s/.lock': %s\n", prog, o.outdir,
			errno == EWOULDBLOCK ? "another watcher uses this directory"
					     : strerror(errno));
		goto out;
	}
	signal(SIGXFSZ, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	log_begin(&l, &o, "watch", NULL);
	log_str(&l, "dir", o.absdir);
	log_str(&l, "output", o.outdir);
	log_int(&l, "jobs", o.jobs);
	log_str(&l, "mode", o.once ? "once" : "watch");
	log_end(&l);
	load_state(&w);
	ret = watch_loop(&w);
	log_begin(&l, &o, "exit", NULL);
	log_int(&l, "status", ret);
	log_end(&l);
out:
	for (size_t i = 0; i < w.n; i++) {
		free(w.e[i].name);
		free(w.e[i].message);
	}
	free(w.e);
	if (lockfd >= 0)
		close(lockfd);
	if (w.outfd >= 0)
		close(w.outfd);
	free(o.absdir);
	free(o.absroot);
	return ret;
}
