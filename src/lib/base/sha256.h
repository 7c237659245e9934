/*
 * Stage 0, base: SHA-256 (FIPS 180-4), for checking the blobs of a container
 * image against their "sha256:" digests (OCI image-spec descriptor.md).
 * Written from the standard; the round constants are derived at init from
 * their definition (fractional parts of cube and square roots of primes), so
 * no table is typed in. Not for anything secret: no side-channel care.
 */
#ifndef C2C_SHA256_H
#define C2C_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "ckpt2core/ckpt2core.h" /* the public part: new, update, hex, free */

struct c2c_sha256 {
	uint32_t h[8];
	uint32_t k[64];
	uint8_t buf[64];
	size_t nbuf;
	uint64_t len; /* bytes hashed */
};

void c2c_sha256_init(struct c2c_sha256 *s);

#endif /* C2C_SHA256_H */
