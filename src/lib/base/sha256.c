/*
 * Stage 0, base: SHA-256 per FIPS 180-4 §4.1.2 (functions), §4.2.2
 * (constants), §5.1.1 (padding), §6.2 (computation). See sha256.h.
 */
#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "sha256.h"
#include "util.h"

/* floor(cbrt(v)) (or floor(sqrt(v)) with root 2) for v < 2^110, by bisection. */
static uint64_t iroot(unsigned __int128 v, int root)
{
	uint64_t lo = 0, hi = (uint64_t)1 << (root == 3 ? 37 : 55);

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo + 1) / 2;
		unsigned __int128 p = (unsigned __int128)mid * mid;

		if (root == 3)
			p *= mid;
		if (p <= v)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

void c2c_sha256_init(struct c2c_sha256 *s)
{
	unsigned n = 0;

	memset(s, 0, sizeof(*s));
	/*
	 * K: the first 32 bits of the fractional parts of the cube roots of the
	 * first 64 primes; H: of the square roots of the first 8 (§4.2.2, §5.3.3).
	 * floor(frac(x^(1/r)) * 2^32) = floor((p * 2^(32r))^(1/r)) mod 2^32.
	 */
	for (uint32_t p = 2; n < 64; p++) {
		bool prime = true;

		for (uint32_t d = 2; d * d <= p && prime; d++)
			prime = p % d != 0;
		if (!prime)
			continue;
		s->k[n] = (uint32_t)iroot((unsigned __int128)p << 96, 3);
		if (n < 8)
			s->h[n] = (uint32_t)iroot((unsigned __int128)p << 64, 2);
		n++;
	}
}

static uint32_t ror(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static void block(struct c2c_sha256 *s, const uint8_t *m)
{
	uint32_t w[64], v[8];

	for (int t = 0; t < 16; t++)
		w[t] = (uint32_t)m[4 * t] << 24 | (uint32_t)m[4 * t + 1] << 16 |
		       (uint32_t)m[4 * t + 2] << 8 | m[4 * t + 3];
	for (int t = 16; t < 64; t++) {
		uint32_t s0 = ror(w[t - 15], 7) ^ ror(w[t - 15], 18) ^ (w[t - 15] >> 3);
		uint32_t s1 = ror(w[t - 2], 17) ^ ror(w[t - 2], 19) ^ (w[t - 2] >> 10);

		w[t] = s1 + w[t - 7] + s0 + w[t - 16];
	}
	memcpy(v, s->h, sizeof(v));
	for (int t = 0; t < 64; t++) {
		uint32_t e = v[4], a = v[0];
		uint32_t t1 = v[7] + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) +
			      ((e & v[5]) ^ (~e & v[6])) + s->k[t] + w[t];
		uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) +
			      ((a & v[1]) ^ (a & v[2]) ^ (v[1] & v[2]));

		memmove(v + 1, v, 7 * sizeof(v[0]));
		v[4] += t1;
		v[0] = t1 + t2;
	}
	for (int i = 0; i < 8; i++)
		s->h[i] += v[i];
}

void c2c_sha256_update(struct c2c_sha256 *s, const void *data, size_t len)
{
	const uint8_t *p = data;

	s->len += len;
	while (len) {
		size_t k = 64 - s->nbuf < len ? 64 - s->nbuf : len;

		if (s->nbuf == 0 && len >= 64) {
			block(s, p);
			p += 64;
			len -= 64;
			continue;
		}
		memcpy(s->buf + s->nbuf, p, k);
		s->nbuf += k;
		p += k;
		len -= k;
		if (s->nbuf == 64) {
			block(s, s->buf);
			s->nbuf = 0;
		}
	}
}

void c2c_sha256_hex(struct c2c_sha256 *s, char *out)
{
	uint64_t bits = s->len * 8;
	uint8_t pad[72] = { 0x80 };
	size_t npad = (s->nbuf < 56 ? 56 : 120) - s->nbuf;

	/* 0x80, zeros, the message length in bits, big endian (§5.1.1). */
	for (int i = 0; i < 8; i++)
		pad[npad + (size_t)i] = (uint8_t)(bits >> (56 - 8 * i));
	c2c_sha256_update(s, pad, npad + 8);
	for (int i = 0; i < 8; i++)
		snprintf(out + 8 * i, 9, "%08x", s->h[i]);
}

struct c2c_sha256 *c2c_sha256_new(void)
{
	struct c2c_sha256 *s = malloc(sizeof(*s));

	if (s)
		c2c_sha256_init(s);
	return s;
}

void c2c_sha256_free(struct c2c_sha256 *s)
{
	free(s);
}
