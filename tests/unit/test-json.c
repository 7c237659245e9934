/*
 * Unit tests of src/lib/json.c: the reader of container metadata
 * (config.dump, spec.dump: untrusted input) and the writer of reports.
 */
#include <stdlib.h>

#include "helpers.h"
#include "json.h"

static struct c2c_json *parse(const char *text)
{
	return c2c_json_parse(text, strlen(text));
}

/* The fields report.c reads from a CRI-O config.dump and spec.dump. */
static void objects_and_strings(void **state)
{
	struct c2c_json *j = parse("{\"id\":\"3f6c\", \"name\" : \"k8s_counter\", \"restored\":false,"
				   " \"n\": -1.5e3, \"x\": null, \"annotations\": {\"a.b\": \"v\"},"
				   " \"args\": [\"bash\", \"-c\"]}");

	(void)state;
	assert_non_null(j);
	assert_string_equal(c2c_json_get_str(j, "id"), "3f6c");
	assert_string_equal(c2c_json_get_str(j, "name"), "k8s_counter");
	assert_string_equal(c2c_json_get_str(c2c_json_get(j, "annotations"), "a.b"), "v");
	assert_null(c2c_json_get_str(j, "restored")); /* not a string */
	assert_int_equal(c2c_json_get(j, "restored")->type, C2C_JSON_BOOL);
	assert_false(c2c_json_get(j, "restored")->b);
	assert_string_equal(c2c_json_get(j, "n")->str, "-1.5e3");
	assert_int_equal(c2c_json_get(j, "x")->type, C2C_JSON_NULL);
	assert_int_equal(c2c_json_get(j, "args")->type, C2C_JSON_ARR);
	assert_string_equal(c2c_json_get(j, "args")->child->next->str, "-c");
	assert_null(c2c_json_get(j, "missing"));
	assert_null(c2c_json_get(NULL, "id"));
	c2c_json_free(j);
}

static void escapes(void **state)
{
	/* \u00e9 = é (2 bytes), a surrogate pair = U+1F600 (4 bytes), a lone half = U+FFFD. */
	struct c2c_json *j = parse("[\"a\\\"b\\\\c\\/d\\n\\t\", \"\\u00e9\", \"\\ud83d\\ude00\", \"\\ud83d\"]");
	const struct c2c_json *c;

	(void)state;
	assert_non_null(j);
	c = j->child;
	assert_string_equal(c->str, "a\"b\\c/d\n\t");
	assert_string_equal(c->next->str, "\xc3\xa9");
	assert_string_equal(c->next->next->str, "\xf0\x9f\x98\x80");
	assert_string_equal(c->next->next->next->str, "\xef\xbf\xbd");
	c2c_json_free(j);
}

/* Malformed text is "no value", never a crash or a partial tree. */
static void rejects_malformed(void **state)
{
	static const char *const bad[] = {
		"", "{", "[1,", "{\"a\" 1}", "{\"a\":}", "[1 2]", "\"open", "\"bad \\x escape\"",
		"\"ctl \x01\"", "{\"a\":1}}", "tru", "nul", "[\"\\u00\"]", "\"\\u0000\"", "{1:2}",
		"[] x",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(parse(bad[i]));
	/* The length bounds the read: a valid prefix of a longer buffer is not enough. */
	assert_null(c2c_json_parse("{\"a\":\"b\"}", 6));
}

static void depth_cap(void **state)
{
	char deep[200], ok[200];

	(void)state;
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	assert_null(c2c_json_parse(deep, sizeof(deep))); /* 100 levels > 64 */
	memset(ok, '[', 60);
	memset(ok + 60, ']', 60);
	struct c2c_json *j = c2c_json_parse(ok, 120);
	assert_non_null(j);
	c2c_json_free(j);
}

/* Report strings: quoted and escaped; text from process memory may not be UTF-8. */
static void writer(void **state)
{
	struct c2c_buf b = { 0 };
	char *s;

	(void)state;
	c2c_buf_printf(&b, "{\"a\": ");
	c2c_buf_json_str(&b, "q\"b\\s\n\x01\xc3\xa9\xff!");
	c2c_buf_printf(&b, ", \"n\": ");
	c2c_buf_json_str(&b, NULL);
	c2c_buf_printf(&b, "}");
	s = c2c_buf_take(&b);
	assert_string_equal(s, "{\"a\": \"q\\\"b\\\\s\\u000a\\u0001\xc3\xa9\\ufffd!\", \"n\": null}");
	/* and it reads back */
	struct c2c_json *j = parse(s);
	assert_non_null(j);
	assert_string_equal(c2c_json_get_str(j, "a"), "q\"b\\s\n\x01\xc3\xa9\xef\xbf\xbd!");
	c2c_json_free(j);
	free(s);
	/* an empty buffer gives "" */
	s = c2c_buf_take(&b);
	assert_string_equal(s, "");
	free(s);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(objects_and_strings),
	cmocka_unit_test(escapes),
	cmocka_unit_test(rejects_malformed),
	cmocka_unit_test(depth_cap),
	cmocka_unit_test(writer),
};

C2C_UNIT_MAIN(tests)
