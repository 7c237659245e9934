/*
 * A small JSON reader for the metadata files of container archives
 * (config.dump, spec.dump: container-archives.md §2.2-§2.3) and a writer for
 * our own reports. The reader builds a tree with a depth cap; input is
 * untrusted and any malformed text is simply "no value".
 */
#ifndef C2C_JSON_H
#define C2C_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum c2c_json_type { C2C_JSON_NULL, C2C_JSON_BOOL, C2C_JSON_NUM, C2C_JSON_STR, C2C_JSON_ARR,
		     C2C_JSON_OBJ };

struct c2c_json {
	enum c2c_json_type type;
	char *key;   /* member name inside an object, or NULL */
	char *str;   /* string value (decoded), or number text */
	bool b;
	struct c2c_json *child, *next;
};

/* Parse text; NULL if it is not valid JSON (or nests deeper than 64). */
struct c2c_json *c2c_json_parse(const char *text, size_t len);
void c2c_json_free(struct c2c_json *j);

/* Member `key` of an object, or NULL. */
const struct c2c_json *c2c_json_get(const struct c2c_json *obj, const char *key);
/* String value of `key`, or NULL (also when it is not a string). */
const char *c2c_json_get_str(const struct c2c_json *obj, const char *key);

/* A growable string buffer for writing JSON and text reports. */
struct c2c_buf {
	char *s;
	size_t len, cap;
	bool failed; /* out of memory: s is freed at c2c_buf_take */
};

void c2c_buf_printf(struct c2c_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string literal (quoted, escaped), or null for NULL. */
void c2c_buf_json_str(struct c2c_buf *b, const char *s);
/* The built string (caller frees), or NULL if memory ran out. */
char *c2c_buf_take(struct c2c_buf *b);

#endif /* C2C_JSON_H */
