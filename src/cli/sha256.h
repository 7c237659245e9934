/*
 * SHA-256 (FIPS 180-4) for the watch mode's manifests: the archive a core
 * was converted from is recorded by size, mtime and this hash, so a restart
 * recognises what is done. Neither libarchive nor libelf exports a hash, and
 * one small function is cheaper than a new dependency.
 */
#ifndef C2C_CLI_SHA256_H
#define C2C_CLI_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define C2C_SHA256_LEN 32

struct c2c_sha256 {
	uint32_t h[8];
	uint64_t bytes;	  /* message length so far */
	uint8_t buf[64];  /* partial block */
	size_t fill;	  /* bytes in buf */
};

void c2c_sha256_init(struct c2c_sha256 *s);
void c2c_sha256_update(struct c2c_sha256 *s, const void *data, size_t len);
/* Pads, writes the digest to out and leaves s unusable until the next init. */
void c2c_sha256_final(struct c2c_sha256 *s, uint8_t out[C2C_SHA256_LEN]);
/* Lowercase hex of a digest into hex (2 * C2C_SHA256_LEN + 1 bytes). */
void c2c_sha256_hex(const uint8_t digest[C2C_SHA256_LEN], char *hex);

#endif
