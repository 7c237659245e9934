/* Small helpers: strings, growable arrays, binary search, paths, sparse files. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "util.h"

int c2c_array_grow(struct c2c_ctx *ctx, void *vp, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 16;
	void *v, *p;

	if (need <= *cap)
		return 0;
	while (ncap < need && ncap <= SIZE_MAX / 2)
		ncap *= 2;
	/* vp is a T ** of the caller's type: copied as bytes, never accessed as void *. */
	memcpy(&v, vp, sizeof(v));
	p = ncap >= need ? reallocarray(v, ncap, elem) : NULL;
	if (!p)
		return ctx ? c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory") : C2C_E_NOMEM;
	memcpy(vp, &p, sizeof(p));
	*cap = ncap;
	return 0;
}

size_t c2c_lower_bound(const void *v, size_t n, size_t elem, const void *key,
		       bool (*below)(const void *element, const void *key))
{
	const char *base = v;
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (below(base + mid * elem, key))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

char *c2c_path_normalize(const char *path)
{
	size_t n = strlen(path);
	const char *p = path;
	char *out, *o;

	if (!n || n >= 4096 || path[0] == '/')
		return NULL;
	out = o = malloc(n + 1);
	if (!out)
		return NULL;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len == 2 && !strncmp(p, "..", 2)) {
			free(out);
			return NULL;
		}
		if (len && !(len == 1 && *p == '.')) {
			if (o != out)
				*o++ = '/';
			memcpy(o, p, len);
			o += len;
		}
		p += len + (e ? 1 : 0);
	}
	*o = '\0';
	return out;
}

char *c2c_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);

	if (d)
		memcpy(d, s, n);
	return d;
}

char *c2c_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

uint64_t c2c_next_data(int fd, uint64_t off, uint64_t len, uint64_t *data)
{
	off_t d = lseek(fd, (off_t)off, SEEK_DATA), h;

	if (d < 0 && errno == ENXIO)
		return 0; /* only a hole up to the end of the file */
	if (d < 0) /* no SEEK_DATA here: treat it all as data */
		d = (off_t)off;
	if ((uint64_t)d >= off + len)
		return 0;
	h = lseek(fd, d, SEEK_HOLE);
	if (h < 0 || (uint64_t)h > off + len)
		h = (off_t)(off + len);
	*data = (uint64_t)d;
	return (uint64_t)(h - d);
}
