/*
 * Fuzz target: a container image tar for --image (source/oci.c): format
 * detection (oci-archive: index.json and blobs/sha256/; docker-archive:
 * manifest.json), the JSON of index, manifests and manifest.json, every
 * layer read through the image tar (tar in any compression), member names
 * and whiteouts; then lookups and symlink resolution in the merged image and
 * the extraction of what they find.
 *
 * Besides "no crash, no leak": a resolved path is never outside the image
 * (it starts with "/" and has no ".." component).
 *
 * Seeds: small oci-archive and docker-archive tars with whiteouts, an opaque
 * directory, links and hard links (tests/fuzz/mkcorpus-oci.py).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz-util.h"
#include "oci.h"

static const char *const paths[] = { "/usr/bin/x", "/lib/libc.so.6", "/usr/lib/libz.so.1",
				     "/opt/app/old", "/a/../../etc/passwd", "/bin/sh" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char image[4200], canon[4096];
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct c2c_oci *oci = NULL;
	struct c2c_oci_found *f = malloc(sizeof(*f));
	int fd;

	if (!ctx || !f)
		goto out;
	snprintf(image, sizeof(image), "%s/image.tar", fuzz_tmpdir());
	fd = open(image, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, data, size) == (ssize_t)size);
	close(fd);
	if (c2c_oci_open(ctx, image, &oci) < 0)
		goto out;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct c2c_oci_want w = { .fd = -1 };
		char *out;

		if (c2c_oci_resolve(ctx, oci, paths[i], canon, f, NULL, NULL) != 0)
			continue;
		FUZZ_CHECK(canon[0] == '/' && !strstr(canon, "/../"));
		if (f->type != C2C_OCI_REG || !f->e || f->size > (1 << 20))
			continue;
		out = malloc(strlen(image) + 8);
		FUZZ_CHECK(out);
		snprintf(out, strlen(image) + 8, "%s.file", image);
		w.e = f->e;
		w.path = canon;
		w.fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		FUZZ_CHECK(w.fd >= 0);
		c2c_try_begin(ctx);
		(void)c2c_oci_extract(ctx, oci, f->layer, &w, 1);
		c2c_try_end(ctx);
		close(w.fd);
		unlink(out);
		free(out);
	}
out:
	c2c_oci_free(oci);
	free(f);
	c2c_ctx_free(ctx);
	fuzz_tmpdir_clean();
	return 0;
}
