/*
 * Unit tests of source/oci.c: the merged view of an image's layers
 * (image-spec layer.md whiteouts: ".wh.NAME" deletes NAME below,
 * ".wh..wh..opq" makes a directory opaque) and path resolution inside the
 * image. Layers are built in memory with c2c_oci_layer_add(), as the tar
 * reader does for each member.
 */
#include "helpers.h"

#include <stdlib.h>

#include "error.h"
#include "oci.h"
#include "sha256.h"

struct member {
	const char *name;
	enum c2c_oci_type type;
	const char *link;
};

/* An image of n layers, bottom first, each a NULL-terminated member list. */
static struct c2c_oci *image(struct c2c_ctx *ctx, const struct member *const *layers, size_t n)
{
	struct c2c_oci *oci = calloc(1, sizeof(*oci));

	assert_non_null(oci);
	oci->layers = calloc(n, sizeof(*oci->layers));
	assert_non_null(oci->layers);
	oci->nlayers = n;
	oci->path = strdup("img");
	for (size_t i = 0; i < n; i++) {
		struct c2c_oci_layer *l = &oci->layers[i];

		*l = (struct c2c_oci_layer){ .kind = C2C_OCI_LAYER_FILE, .blob = C2C_BLOB_INIT,
					     .rootfd = -1 };
		l->display = strdup("layer");
		l->name = strdup("layer");
		for (size_t k = 0; layers[i][k].name; k++)
			c2c_assert_ok(ctx, c2c_oci_layer_add(ctx, oci, l, layers[i][k].name,
							     layers[i][k].type, layers[i][k].link,
							     7, 0644, 512 * k));
		c2c_oci_layer_finish(l);
	}
	return oci;
}

static enum c2c_oci_type look(struct c2c_ctx *ctx, const struct c2c_oci *oci, const char *path,
			      size_t *layer)
{
	struct c2c_oci_found *f = malloc(sizeof(*f));
	enum c2c_oci_type t;

	assert_non_null(f);
	t = c2c_oci_lookup(ctx, oci, path, f);
	if (layer)
		*layer = f->layer;
	free(f);
	return t;
}

static const struct member lower[] = {
	{ "./usr/", C2C_OCI_DIR, NULL },
	{ "./usr/lib/libgone.so", C2C_OCI_REG, NULL },
	{ "usr/lib/libkept.so", C2C_OCI_REG, NULL },
	{ "usr/share/doc/a", C2C_OCI_REG, NULL },
	{ "opt/app/old", C2C_OCI_REG, NULL },
	{ "opt/app/sub/deep", C2C_OCI_REG, NULL },
	{ "etc/tree/x", C2C_OCI_REG, NULL },
	{ "bin/tool", C2C_OCI_REG, NULL },
	{ NULL, 0, NULL },
};
static const struct member upper[] = {
	{ "usr/lib/.wh.libgone.so", C2C_OCI_REG, NULL },
	{ "opt/app/.wh..wh..opq", C2C_OCI_REG, NULL },
	{ "opt/app/new", C2C_OCI_REG, NULL },
	{ "etc/.wh.tree", C2C_OCI_REG, NULL },
	{ "bin/tool", C2C_OCI_REG, NULL }, /* replaces the lower one */
	{ "usr/.wh..wh..plnk", C2C_OCI_REG, NULL }, /* aufs bookkeeping: ignored */
	{ NULL, 0, NULL },
};

/* What a path must be in the merged image, and from which layer (ANY: not checked). */
#define ANY ((size_t)-1)
struct expect {
	const char *path;
	enum c2c_oci_type type;
	size_t layer;
};

/* Look every path of e up in the image of `lower` under `upper`. */
static void expect_all(const struct expect *e, size_t n)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	const struct member *const layers[] = { lower, upper };
	struct c2c_oci *oci = image(ctx, layers, 2);

	for (size_t i = 0; i < n; i++) {
		size_t layer = ANY;

		if (look(ctx, oci, e[i].path, &layer) != e[i].type)
			fail_msg("%s: type %d expected", e[i].path, e[i].type);
		if (e[i].layer != ANY)
			assert_int_equal(layer, e[i].layer);
	}
	c2c_oci_free(oci);
	c2c_ctx_free(ctx);
}

static void whiteout_deletes_lower_file(void **state)
{
	static const struct expect e[] = {
		{ "/usr/lib/libgone.so", C2C_OCI_NONE, ANY },
		{ "/usr/lib/libkept.so", C2C_OCI_REG, 0 },
		{ "/bin/tool", C2C_OCI_REG, 1 },
		/* A deleted directory takes everything below it. */
		{ "/etc/tree", C2C_OCI_NONE, ANY },
		{ "/etc/tree/x", C2C_OCI_NONE, ANY },
		/* Directories known only from their members. */
		{ "/usr/share", C2C_OCI_DIR, ANY },
		{ "/usr", C2C_OCI_DIR, ANY },
	};

	(void)state;
	expect_all(e, sizeof(e) / sizeof(e[0]));
}

static void opaque_dir_hides_lower_content(void **state)
{
	static const struct expect e[] = {
		{ "/opt/app", C2C_OCI_DIR, ANY },
		{ "/opt/app/old", C2C_OCI_NONE, ANY },
		{ "/opt/app/sub/deep", C2C_OCI_NONE, ANY },
		{ "/opt/app/new", C2C_OCI_REG, 1 },
	};

	(void)state;
	expect_all(e, sizeof(e) / sizeof(e[0]));
}

static void whiteout_applies_only_below(void **state)
{
	/* A whiteout and a new file of the same name in one layer: the new file stays. */
	static const struct member top[] = {
		{ "usr/lib/libkept.so", C2C_OCI_REG, NULL },
		{ "usr/lib/.wh.libkept.so", C2C_OCI_REG, NULL },
		{ NULL, 0, NULL },
	};
	struct c2c_ctx *ctx = c2c_ctx_new();
	const struct member *const layers[] = { lower, top };
	struct c2c_oci *oci = image(ctx, layers, 2);
	size_t layer = 9;

	(void)state;
	assert_int_equal(look(ctx, oci, "/usr/lib/libkept.so", &layer), C2C_OCI_REG);
	assert_int_equal(layer, 1);
	c2c_oci_free(oci);
	c2c_ctx_free(ctx);
}

static void member_leaving_image_is_an_error(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	const struct member *const layers[] = { lower };
	struct c2c_oci *oci = image(ctx, layers, 1);

	(void)state;
	assert_int_equal(c2c_oci_layer_add(ctx, oci, &oci->layers[0], "../../etc/x", C2C_OCI_REG,
					   NULL, 1, 0644, 1024),
			 C2C_E_UNSUPPORTED);
	assert_string_equal(c2c_errmsg(ctx), "'layer:../../etc/x': offset 1024 (0x400): member "
					     "path leaves the image (absolute or with '..')");
	c2c_op_begin(ctx);
	assert_int_equal(c2c_oci_layer_add(ctx, oci, &oci->layers[0], "/etc/x", C2C_OCI_REG,
					   NULL, 1, 0644, 0),
			 C2C_E_UNSUPPORTED);
	c2c_op_begin(ctx);
	assert_int_equal(c2c_oci_layer_add(ctx, oci, &oci->layers[0], "usr/a/../../x",
					   C2C_OCI_REG, NULL, 1, 0644, 0),
			 C2C_E_UNSUPPORTED);
	c2c_oci_free(oci);
	c2c_ctx_free(ctx);
}

static void resolve_stays_inside(void **state)
{
	static const struct member links[] = {
		{ "lib", C2C_OCI_LNK, "usr/lib" },
		{ "usr/lib/escape", C2C_OCI_LNK, "../../../../../usr/lib/libkept.so" },
		{ "usr/lib/abs", C2C_OCI_LNK, "/lib/libkept.so" },
		{ "usr/lib/loop", C2C_OCI_LNK, "loop" },
		{ "usr/lib/gone", C2C_OCI_LNK, "libgone.so" },
		{ NULL, 0, NULL },
	};
	struct c2c_ctx *ctx = c2c_ctx_new();
	const struct member *const layers[] = { lower, upper, links };
	struct c2c_oci *oci = image(ctx, layers, 3);
	struct c2c_oci_found *f = malloc(sizeof(*f));
	char canon[4096];

	(void)state;
	assert_non_null(f);
	assert_int_equal(c2c_oci_resolve(ctx, oci, "/lib/libkept.so", canon, f, NULL, NULL), 0);
	assert_string_equal(canon, "/usr/lib/libkept.so");
	/* ".." stops at the image's root, as RESOLVE_IN_ROOT does. */
	assert_int_equal(c2c_oci_resolve(ctx, oci, "/usr/lib/escape", canon, f, NULL, NULL), 0);
	assert_string_equal(canon, "/usr/lib/libkept.so");
	assert_int_equal(c2c_oci_resolve(ctx, oci, "/usr/lib/abs", canon, f, NULL, NULL), 0);
	assert_string_equal(canon, "/usr/lib/libkept.so");
	assert_int_equal(c2c_oci_resolve(ctx, oci, "/usr/lib/loop", canon, f, NULL, NULL), 1);
	assert_int_equal(c2c_oci_resolve(ctx, oci, "/usr/lib/gone", canon, f, NULL, NULL), 1);
	assert_int_equal(c2c_oci_resolve(ctx, oci, "/usr/lib/libkept.so/x", canon, f, NULL, NULL),
			 1);
	free(f);
	c2c_oci_free(oci);
	c2c_ctx_free(ctx);
}

/* FIPS 180-4 examples (NIST CSRC "SHA256.pdf"), fed in pieces of every size. */
static void sha256_known_digests(void **state)
{
	static const struct {
		const char *msg;
		const char *hex;
	} v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	};
	char hex[65];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		for (size_t step = 1; step <= 64; step++) {
			struct c2c_sha256 s;
			size_t n = strlen(v[i].msg);

			c2c_sha256_init(&s);
			for (size_t off = 0; off < n; off += step)
				c2c_sha256_update(&s, v[i].msg + off, n - off < step ? n - off : step);
			c2c_sha256_hex(&s, hex);
			assert_string_equal(hex, v[i].hex);
		}
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(sha256_known_digests),
	cmocka_unit_test(whiteout_deletes_lower_file),
	cmocka_unit_test(opaque_dir_hides_lower_content),
	cmocka_unit_test(whiteout_applies_only_below),
	cmocka_unit_test(member_leaving_image_is_an_error),
	cmocka_unit_test(resolve_stays_inside),
};

C2C_UNIT_MAIN(tests)
