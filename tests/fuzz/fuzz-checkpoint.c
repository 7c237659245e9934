/*
 * Fuzz target: a whole CRIU image directory held in memory, through stages
 * 1-5: c2c_checkpoint_load(), then c2c_corebuild_plan() and the ELF writer
 * for every process that gets a core (the cores go to a private scratch
 * directory and are removed again).
 *
 * The input is a sequence of members (a tiny container format, written by
 * tests/fuzz/mkcorpus.py from the fixtures):
 *
 *   u8       h: bits 0-6 length of the name; bit 7 "zero-filled"
 *   name     h & 0x7f bytes ("inventory.img", "pre/pagemap-1.img", ...)
 *   u32 LE   size
 *   data     size bytes (fewer if the input ends), absent when zero-filled:
 *            the member is then `size` zero bytes (at most 16 MiB), which is
 *            how the seeds carry pages-N.img without their content
 *
 * Members form one member table; the image set is the top level, so a
 * member "parent" holding "pre" makes "pre/..." the parent pre-dump. A member
 * "fuzz-flags" sets options: bit 0 --include-dontdump.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "corebuild.h"
#include "elfwrite.h"
#include "error.h"
#include "process.h"
#include "source.h"
#include "util.h"

#include "fuzz-util.h"

#define ZERO_MAX (16ULL << 20)

static int zero_fd = -1;

static bool add_member(struct c2c_memtab *tab, const char *name, const uint8_t *data,
		       uint64_t size, bool zero)
{
	struct c2c_member m = { .fd = -1, .size = size };

	if (!*name || c2c_memtab_find(tab, name))
		return true; /* no name or a duplicate: skipped */
	if (!(m.name = strdup(name)))
		return false;
	if (zero)
		m.fd = dup(zero_fd);
	else if ((m.data = malloc(size ? size : 1)))
		memcpy(m.data, data, size);
	if (zero ? m.fd < 0 : !m.data) {
		free(m.name);
		return false;
	}
	return c2c_memtab_add(tab, m) == 0;
}

static struct c2c_memtab *carve(const uint8_t *data, size_t size, unsigned *flags)
{
	struct c2c_memtab *tab = c2c_memtab_new("fuzz");
	size_t pos = 0;

	*flags = 0;
	while (tab && pos < size) {
		uint8_t h = data[pos++];
		size_t nlen = h & 0x7f;
		bool zero = h & 0x80;
		char name[128];
		uint64_t n;

		if (size - pos < nlen + 4)
			break;
		memcpy(name, data + pos, nlen);
		name[nlen] = '\0';
		pos += nlen;
		n = fuzz_u32(data + pos);
		pos += 4;
		if (zero) {
			if (n > ZERO_MAX)
				n = ZERO_MAX;
		} else if (n > size - pos) {
			n = size - pos;
		}
		if (strlen(name) != nlen) /* an embedded NUL: skip */
			name[0] = '\0';
		if (!strcmp(name, "fuzz-flags") && !zero && n)
			*flags = data[pos];
		if (!add_member(tab, name, data + pos, n, zero)) {
			c2c_memtab_put(tab);
			return NULL;
		}
		if (!zero)
			pos += n;
	}
	return tab;
}

static void check_plan(const struct c2c_coreplan *plan)
{
	for (size_t i = 0; i < plan->nsegs; i++) {
		const struct c2c_segment *s = &plan->segs[i];

		FUZZ_CHECK(s->filesz <= s->memsz);
		FUZZ_CHECK(s->piece0 + s->npieces <= plan->npieces);
		if (i)
			FUZZ_CHECK(plan->segs[i - 1].vaddr <= s->vaddr);
		for (size_t k = 0; k < s->npieces; k++) {
			const struct c2c_piece *pc = &plan->pieces[s->piece0 + k];

			FUZZ_CHECK(pc->len > 0);
			FUZZ_CHECK(pc->seg_off + pc->len <= s->filesz);
			FUZZ_CHECK(pc->blob_off + pc->len <= pc->blob->size);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct c2c_ctx *ctx = NULL;
	struct c2c_memtab *tab = NULL;
	struct c2c_source *src = NULL;
	struct c2c_checkpoint *ck = NULL;
	const char *dir = fuzz_tmpdir();
	unsigned flags;
	int dirfd = -1;

	if (zero_fd < 0) {
		zero_fd = memfd_create("c2c-fuzz-zero", MFD_CLOEXEC);
		if (zero_fd < 0 || ftruncate(zero_fd, (off_t)ZERO_MAX) < 0)
			abort();
	}
	if (!(ctx = c2c_ctx_new()) || !(tab = carve(data, size, &flags)))
		goto out;
	if (c2c_source_open_tab(ctx, tab, "", &src) < 0)
		goto out;
	if (c2c_checkpoint_load(ctx, src, NULL, 0, &ck) < 0) {
		fuzz_report(ctx, "load", -1);
		FUZZ_CHECK(c2c_errcode(ctx) < 0 && c2c_errmsg(ctx)[0]);
		goto out;
	}
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		abort();
	for (size_t i = 0; i < ck->nprocs; i++) {
		const struct c2c_process *p = &ck->procs[i];
		struct c2c_coreplan_opts opts = {
			(flags & 1) ? C2C_FLAG_INCLUDE_DONTDUMP : 0, C2C_FILE_PAGES_NONE, ck
		};
		struct c2c_coreplan plan;
		struct c2c_outfile of;
		char name[32];
		int r;

		/* What convert.c skips: zombies get no core. */
		if (!ck->selected[i] || p->state == C2C_TASK_DEAD)
			continue;
		FUZZ_CHECK(p->nthreads >= 1 && p->has_mm);
		{
			/* inspect --all's readers: fds, sockets, utsns, fs, environment. */
			struct c2c_task_res res;

			r = c2c_task_res_load(ctx, ck, p, &res);
			fuzz_report(ctx, "task", r);
			if (r < 0) {
				FUZZ_CHECK(c2c_errcode(ctx) == r && c2c_errmsg(ctx)[0]);
				break;
			}
			c2c_task_res_release(&res);
		}
		r = c2c_corebuild_plan(ctx, p, &opts, &plan);
		fuzz_report(ctx, "plan", r);
		if (r < 0) {
			FUZZ_CHECK(c2c_errcode(ctx) == r && c2c_errmsg(ctx)[0]);
			break;
		}
		check_plan(&plan);
		snprintf(name, sizeof(name), "core.%u", p->pid);
		r = c2c_elfwrite_core(ctx, dirfd, dir, name, &plan, &of);
		fuzz_report(ctx, "write", r);
		if (r == 0) {
			if (c2c_elfwrite_commit(ctx, &of, true) == 0)
				FUZZ_CHECK(of.committed);
			c2c_elfwrite_discard(&of);
		}
		c2c_coreplan_release(&plan);
		if (r < 0)
			break;
	}
out:
	if (dirfd >= 0)
		close(dirfd);
	c2c_checkpoint_free(ck);
	c2c_source_free(src);
	c2c_memtab_put(tab);
	c2c_ctx_free(ctx);
	fuzz_tmpdir_clean();
	return 0;
}
