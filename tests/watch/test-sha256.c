/*
 * The library's public SHA-256 (c2c_sha256_*, which watch mode and the
 * debugger front end use) against the FIPS 180-4 example
 * vectors, fed whole and one byte at a time (so every partial-block path of
 * c2c_sha256_update runs), and against 1,000,000 'a' in uneven chunks.
 * Usage: test-sha256 (exit 0 pass, 1 fail).
 */
#include <stdio.h>
#include <string.h>

#include "ckpt2core/ckpt2core.h"

static int check(const char *what, const char *msg, size_t len, size_t chunk, const char *want)
{
	struct c2c_sha256 *s = c2c_sha256_new();
	char hex[C2C_SHA256_HEX_LEN + 1];

	if (!s)
		return 1;
	for (size_t off = 0; off < len; off += chunk)
		c2c_sha256_update(s, msg + off, len - off < chunk ? len - off : chunk);
	c2c_sha256_hex(s, hex);
	c2c_sha256_free(s);
	if (strcmp(hex, want)) {
		fprintf(stderr, "FAIL %s (chunk %zu): got %s, want %s\n", what, chunk, hex, want);
		return 1;
	}
	return 0;
}

int main(void)
{
	static char million[1000000];
	static const struct {
		const char *msg, *want;
	} v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
		{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
		  "klmnopqrlmnopqrsmnopqrstnopqrstu",
		  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
	};
	int fail = 0;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t len = strlen(v[i].msg);

		fail |= check(v[i].msg, v[i].msg, len, len ? len : 1, v[i].want);
		fail |= check(v[i].msg, v[i].msg, len, 1, v[i].want);
	}
	memset(million, 'a', sizeof(million));
	fail |= check("1e6 x a", million, sizeof(million), 999,
		      "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	if (!fail)
		printf("sha256: all vectors pass\n");
	return fail;
}
