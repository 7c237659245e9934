/* Small string helpers (the library has no other allocation wrappers), sparse files. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

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
