/*
 * JSON (RFC 8259) reader and writer, just enough for container metadata and
 * reports. The reader is recursive descent with a depth cap; it never reads
 * past len and rejects anything malformed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"

#define JSON_MAX_DEPTH 64

struct parser {
	const char *p, *end;
	int depth;
};

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static void put_utf8(char **o, unsigned cp)
{
	char *q = *o;

	if (cp < 0x80) {
		*q++ = (char)cp;
	} else if (cp < 0x800) {
		*q++ = (char)(0xc0 | cp >> 6);
		*q++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*q++ = (char)(0xe0 | cp >> 12);
		*q++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*q++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*q++ = (char)(0xf0 | cp >> 18);
		*q++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*q++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*q++ = (char)(0x80 | (cp & 0x3f));
	}
	*o = q;
}

static int hex4(const char *p, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

/* A string literal at ps->p (the opening quote); decoded into a new string. */
static char *parse_string(struct parser *ps)
{
	const char *p = ps->p + 1;
	char *out, *o;

	/* Decoded text is never longer than the literal. */
	out = o = malloc((size_t)(ps->end - ps->p) + 1);
	if (!out)
		return NULL;
	while (p < ps->end && *p != '"') {
		unsigned cp;

		if ((unsigned char)*p < 0x20)
			goto bad;
		if (*p != '\\') {
			*o++ = *p++;
			continue;
		}
		if (++p >= ps->end)
			goto bad;
		switch (*p) {
		case '"': case '\\': case '/':
			*o++ = *p;
			break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			if (ps->end - p < 5 || hex4(p + 1, &cp) < 0)
				goto bad;
			p += 4;
			/* A surrogate pair is two escapes; a lone half becomes U+FFFD. */
			if (cp >= 0xd800 && cp < 0xdc00 && ps->end - p >= 7 && p[1] == '\\' &&
			    p[2] == 'u') {
				unsigned lo;

				if (hex4(p + 3, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					p += 6;
				}
			}
			if (cp >= 0xd800 && cp < 0xe000)
				cp = 0xfffd;
			if (cp == 0)
				goto bad; /* no NUL inside our C strings */
			put_utf8(&o, cp);
			break;
		default:
			goto bad;
		}
		p++;
	}
	if (p >= ps->end)
		goto bad;
	*o = '\0';
	ps->p = p + 1;
	return out;
bad:
	free(out);
	return NULL;
}

static struct c2c_json *parse_value(struct parser *ps);

static struct c2c_json *new_node(enum c2c_json_type t)
{
	struct c2c_json *j = calloc(1, sizeof(*j));

	if (j)
		j->type = t;
	return j;
}

static struct c2c_json *parse_container(struct parser *ps, bool obj)
{
	struct c2c_json *j = new_node(obj ? C2C_JSON_OBJ : C2C_JSON_ARR), **tail;

	if (!j || ++ps->depth > JSON_MAX_DEPTH)
		goto bad;
	tail = &j->child;
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) {
		ps->p++;
		ps->depth--;
		return j;
	}
	for (;;) {
		char *key = NULL;
		struct c2c_json *v;

		skip_ws(ps);
		if (obj) {
			if (ps->p >= ps->end || *ps->p != '"' || !(key = parse_string(ps)))
				goto bad;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				free(key);
				goto bad;
			}
			ps->p++;
		}
		v = parse_value(ps);
		if (!v) {
			free(key);
			goto bad;
		}
		v->key = key;
		*tail = v;
		tail = &v->next;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) {
			ps->p++;
			ps->depth--;
			return j;
		}
		goto bad;
	}
bad:
	c2c_json_free(j);
	return NULL;
}

static bool literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n))
		return false;
	ps->p += n;
	return true;
}

static struct c2c_json *parse_value(struct parser *ps)
{
	struct c2c_json *j;
	const char *start;

	skip_ws(ps);
	if (ps->p >= ps->end)
		return NULL;
	switch (*ps->p) {
	case '{':
		return parse_container(ps, true);
	case '[':
		return parse_container(ps, false);
	case '"':
		j = new_node(C2C_JSON_STR);
		if (j && !(j->str = parse_string(ps))) {
			free(j);
			j = NULL;
		}
		return j;
	case 't':
	case 'f':
		j = new_node(C2C_JSON_BOOL);
		if (j && (j->b = literal(ps, "true"), j->b || literal(ps, "false")))
			return j;
		free(j);
		return NULL;
	case 'n':
		return literal(ps, "null") ? new_node(C2C_JSON_NULL) : NULL;
	default:
		start = ps->p;
		while (ps->p < ps->end && strchr("+-0123456789.eE", *ps->p))
			ps->p++;
		if (ps->p == start)
			return NULL;
		j = new_node(C2C_JSON_NUM);
		if (j && !(j->str = malloc((size_t)(ps->p - start) + 1))) {
			free(j);
			return NULL;
		}
		if (j) {
			memcpy(j->str, start, (size_t)(ps->p - start));
			j->str[ps->p - start] = '\0';
		}
		return j;
	}
}

struct c2c_json *c2c_json_parse(const char *text, size_t len)
{
	struct parser ps = { text, text + len, 0 };
	struct c2c_json *j = parse_value(&ps);

	skip_ws(&ps);
	if (j && ps.p != ps.end) {
		c2c_json_free(j);
		return NULL;
	}
	return j;
}

void c2c_json_free(struct c2c_json *j)
{
	while (j) {
		struct c2c_json *next = j->next;

		c2c_json_free(j->child);
		free(j->key);
		free(j->str);
		free(j);
		j = next;
	}
}

const struct c2c_json *c2c_json_get(const struct c2c_json *obj, const char *key)
{
	if (!obj || obj->type != C2C_JSON_OBJ)
		return NULL;
	for (const struct c2c_json *c = obj->child; c; c = c->next)
		if (c->key && !strcmp(c->key, key))
			return c;
	return NULL;
}

const char *c2c_json_get_str(const struct c2c_json *obj, const char *key)
{
	const struct c2c_json *v = c2c_json_get(obj, key);

	return v && v->type == C2C_JSON_STR ? v->str : NULL;
}

static void buf_append(struct c2c_buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->s, cap);
		if (!p) {
			b->failed = true;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void c2c_buf_printf(struct c2c_buf *b, const char *fmt, ...)
{
	char small[512], *big = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		buf_append(b, small, (size_t)n);
		return;
	}
	va_start(ap, fmt);
	n = vasprintf(&big, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	buf_append(b, big, (size_t)n);
	free(big);
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if it is not one. */
static size_t utf8_len(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = u[0] < 0x80 ? 1 : (u[0] & 0xe0) == 0xc0 ? 2 : (u[0] & 0xf0) == 0xe0 ? 3
		   : (u[0] & 0xf8) == 0xf0 ? 4 : 0;

	if (u[0] == 0xc0 || u[0] == 0xc1 || u[0] > 0xf4)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((u[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

void c2c_buf_json_str(struct c2c_buf *b, const char *s)
{
	if (!s) {
		buf_append(b, "null", 4);
		return;
	}
	buf_append(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		size_t n = utf8_len(s);
		char esc[8];

		if (c >= 0x80) {
			/* Text from process memory need not be UTF-8: keep JSON valid. */
			if (n)
				buf_append(b, s, n);
			else
				buf_append(b, "\\ufffd", 6);
			s += n ? n - 1 : 0;
		} else if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			buf_append(b, esc, 2);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			buf_append(b, esc, 6);
		} else {
			buf_append(b, (const char *)&c, 1);
		}
	}
	buf_append(b, "\"", 1);
}

char *c2c_buf_take(struct c2c_buf *b)
{
	char *s = b->s;

	if (b->failed) {
		free(s);
		s = NULL;
	} else if (!s) {
		s = calloc(1, 1);
	}
	*b = (struct c2c_buf){ 0 };
	return s;
}
