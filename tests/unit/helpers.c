/* Shared helpers of the unit tests; see helpers.h. */
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

int c2c_unit_run(int argc, char **argv, const char *group, const struct CMUnitTest *tests,
		 size_t n)
{
	const char *slash = strrchr(group, '/');

	group = slash ? slash + 1 : group; /* __FILE__ may be an absolute path */
	if (argc > 1) {
		size_t i;

		for (i = 0; i < n && strcmp(tests[i].name, argv[1]) != 0; i++)
			;
		if (i == n) {
			fprintf(stderr, "%s: no test case named '%s'\n", group, argv[1]);
			return 1;
		}
		cmocka_set_test_filter(argv[1]);
	}
	return _cmocka_run_group_tests(group, tests, n, NULL, NULL);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		abort();
	return p;
}

void tbuf_put(struct tbuf *b, const void *data, size_t len)
{
	if (b->n + len > b->cap) {
		b->cap = (b->n + len) * 2 + 64;
		b->p = xrealloc(b->p, b->cap);
	}
	if (len)
		memcpy(b->p + b->n, data, len);
	b->n += len;
}

void tbuf_u32(struct tbuf *b, uint32_t v)
{
	uint8_t w[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	tbuf_put(b, w, sizeof(w));
}

void tbuf_free(struct tbuf *b)
{
	free(b->p);
	*b = (struct tbuf){ 0 };
}

void tbuf_varint(struct tbuf *b, uint64_t v)
{
	do {
		uint8_t byte = (uint8_t)(v & 0x7f);

		v >>= 7;
		if (v)
			byte |= 0x80;
		tbuf_put(b, &byte, 1);
	} while (v);
}

void tbuf_pb_varint(struct tbuf *b, unsigned field, uint64_t v)
{
	tbuf_varint(b, (uint64_t)field << 3 | 0); /* key: field number, wire type 0 */
	tbuf_varint(b, v);
}

size_t tbuf_record(struct tbuf *img, const struct tbuf *msg)
{
	size_t off = img->n;

	tbuf_u32(img, (uint32_t)msg->n);
	tbuf_put(img, msg->p, msg->n);
	return off;
}

char *tmpdir_new(void)
{
	const char *base = getenv("TMPDIR");
	char *dir;

	if (!base || !*base)
		base = "/tmp";
	if (asprintf(&dir, "%s/c2c-unit-XXXXXX", base) < 0)
		abort();
	if (!mkdtemp(dir))
		fail_msg("mkdtemp %s: %s", dir, strerror(errno));
	return dir;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

void tmpdir_remove(char *dir)
{
	if (!dir)
		return;
	/* FTW_PHYS: never follow the parent symlinks the tests plant. */
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

static char *join(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		abort();
	return p;
}

void write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char *path = join(dir, name);
	FILE *f = fopen(path, "wb");

	if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	free(path);
}

void make_dir(const char *dir, const char *name)
{
	char *path = join(dir, name);

	if (mkdir(path, 0700) < 0)
		fail_msg("mkdir %s: %s", path, strerror(errno));
	free(path);
}

void make_symlink(const char *dir, const char *name, const char *target)
{
	char *path = join(dir, name);

	if (symlink(target, path) < 0)
		fail_msg("symlink %s: %s", path, strerror(errno));
	free(path);
}
