/*
 * Stage 4, process model: load the checkpoint's process tree.
 *
 * Consumes inventory.img and pstree.img, then for each selected process its
 * leader's core image (threads.c), mm and pagemap (memory.c, pagemap.c) and
 * the files they name (files.c); produces struct c2c_checkpoint. Message
 * layouts: criu-image-format §1.9, §2.1-§2.8. Every protobuf message is
 * unpacked and freed in the function that reads it; only plain values leave.
 */
#include <stdlib.h>
#include <string.h>

#include "core.pb-c.h"
#include "image.h"
#include "inventory.pb-c.h"
#include "model.h"
#include "network.h"
#include "pstree.pb-c.h"
#include "util.h"

struct tree_entry {
	uint32_t pid, ppid, pgid, sid;
	uint32_t *threads;
	size_t nthreads;
	struct c2c_loc loc;
};

static int load_process(struct c2c_ctx *ctx, struct c2c_checkpoint *ck, const struct tree_entry *te,
			struct c2c_process *p)
{
	struct c2c_blob lb = C2C_BLOB_INIT;
	PbCoreEntry *lc = NULL;
	struct c2c_image limg;
	struct c2c_loc lloc;
	size_t k = 1;
	int r;

	p->pid = te->pid;
	p->ppid = te->ppid;
	p->pgid = te->pgid;
	p->sid = te->sid;

	/* The leader's core image says whether this is a zombie (no registers, no mm). */
	r = c2c_thread_core_load(ctx, ck, te->pid, te->pid, &lb, &limg, &lc);
	if (r < 0)
		goto out;
	lloc = C2C_IMAGE_LOC(&limg);
	if (!lc->tc) {
		r = c2c_fail(ctx, &lloc, C2C_E_MISSING, "leader %u has no task core (tc)", te->pid);
		goto out;
	}
	p->state = lc->tc->task_state;
	p->exit_code = lc->tc->exit_code;
	p->pf_flags = lc->tc->flags;
	p->stop_signo = lc->tc->stop_signo;
	c2c_comm_set(p->comm, lc->tc->comm);
	if (p->state == C2C_TASK_DEAD)
		goto out;

	if (te->nthreads > C2C_MAX_THREADS) {
		r = c2c_fail(ctx, &te->loc, C2C_E_LIMIT, "%zu threads exceed the cap of %u",
			     te->nthreads, C2C_MAX_THREADS);
		goto out;
	}
	p->threads = calloc(te->nthreads + 1, sizeof(*p->threads));
	if (!p->threads) {
		r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		goto out;
	}
	/* Leader first, as the kernel writes the dumping thread first. */
	p->threads[0].tid = te->pid;
	for (size_t i = 0; i < te->nthreads; i++)
		if (te->threads[i] != te->pid)
			p->threads[k++].tid = te->threads[i];
	p->nthreads = k;
	r = c2c_thread_decode(ctx, p, &p->threads[0], lc, &lloc);
	for (size_t i = 1; r == 0 && i < p->nthreads; i++) {
		struct c2c_blob b = C2C_BLOB_INIT;
		PbCoreEntry *ce = NULL;
		struct c2c_image img;

		r = c2c_thread_core_load(ctx, ck, p->pid, p->threads[i].tid, &b, &img, &ce);
		if (r == 0)
			r = c2c_thread_decode(ctx, p, &p->threads[i], ce, &C2C_IMAGE_LOC(&img));
		if (ce)
			protobuf_c_message_free_unpacked(&ce->base, NULL);
		c2c_blob_release(&b);
	}
	if (r < 0)
		goto out;
	/* The leader's blocked mask lives in tc (thread_core has it for the others). */
	p->threads[0].sighold = lc->tc->blk_sigset;
	p->threads[0].sigpend |= c2c_signals_pending(lc->tc->signals_s);
	if (!p->threads[0].comm[0])
		c2c_comm_set(p->threads[0].comm, lc->tc->comm);
	r = c2c_mm_load(ctx, ck, p);
	if (r < 0)
		goto out;
	r = c2c_pagemap_load(ctx, ck, ck->src, C2C_PAGEMAP_TASK, p->pid, p->page_size, &p->pm);
out:
	if (lc)
		protobuf_c_message_free_unpacked(&lc->base, NULL);
	c2c_blob_release(&lb);
	return r;
}

static int cmp_u32(const void *a, const void *b)
{
	return c2c_cmp_u64(*(const uint32_t *)a, *(const uint32_t *)b);
}

static void free_tree(struct tree_entry *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(t[i].threads);
	free(t);
}

/* The process tree being read from pstree.img. */
struct tree {
	struct tree_entry *v;
	size_t n, cap;
	const char *dir; /* the image directory, for messages after pstree.img is released */
};

static int add_tree_entry(struct c2c_ctx *ctx, void *data, const ProtobufCMessage *msg,
			  const struct c2c_loc *loc)
{
	const PbPstreeEntry *e = (const PbPstreeEntry *)msg;
	struct tree *t = data;
	struct tree_entry *te;
	int r;

	if (t->n >= C2C_MAX_PROCESSES)
		return c2c_fail(ctx, loc, C2C_E_LIMIT, "more than %u processes", C2C_MAX_PROCESSES);
	if (!e->has_pid || e->pid == 0)
		return c2c_fail(ctx, loc, C2C_E_MISSING, "process entry has no pid");
	if (e->n_threads > C2C_MAX_THREADS)
		return c2c_fail(ctx, loc, C2C_E_LIMIT, "%zu threads exceed the cap of %u",
				e->n_threads, C2C_MAX_THREADS);
	r = c2c_array_grow(ctx, &t->v, &t->cap, t->n + 1, sizeof(*t->v));
	if (r < 0)
		return r;
	te = &t->v[t->n++];
	*te = (struct tree_entry){ e->pid, e->ppid, e->pgid, e->sid, NULL, e->n_threads,
				   C2C_LOC_FILE(t->dir) };
	te->threads = malloc((e->n_threads ? e->n_threads : 1) * sizeof(uint32_t));
	if (!te->threads)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	if (e->n_threads) /* threads is NULL when there are none */
		memcpy(te->threads, e->threads, e->n_threads * sizeof(uint32_t));
	return 0;
}

static int load_pstree(struct c2c_ctx *ctx, struct c2c_source *src, struct tree_entry **ret,
		       size_t *nret)
{
	struct c2c_blob b = C2C_BLOB_INIT;
	struct tree tree = { .dir = src->path };
	struct c2c_image img;
	int r;

	r = c2c_image_load(ctx, src, C2C_IMG_PSTREE, 0, false, &b, &img);
	if (r < 0)
		return r;
	r = c2c_image_foreach(ctx, &img, &pb_pstree_entry__descriptor, add_tree_entry, &tree);
	if (r == 0 && tree.n == 0)
		r = c2c_fail(ctx, &C2C_LOC_FILE(b.path), C2C_E_MISSING, "process tree is empty");
	if (r == 0 && tree.n > 1) {
		/* Sorted copy of the pids: a duplicate check in O(n log n), not O(n^2). */
		uint32_t *pids = malloc(tree.n * sizeof(*pids));

		if (!pids)
			r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		for (size_t i = 0; r == 0 && i < tree.n; i++)
			pids[i] = tree.v[i].pid;
		if (r == 0)
			qsort(pids, tree.n, sizeof(*pids), cmp_u32);
		for (size_t i = 1; r == 0 && i < tree.n; i++)
			if (pids[i] == pids[i - 1])
				r = c2c_fail(ctx, &C2C_LOC_FILE(b.path), C2C_E_INCONSISTENT,
					     "pid %u appears twice in the process tree", pids[i]);
		free(pids);
	}
	c2c_blob_release(&b);
	if (r < 0) {
		free_tree(tree.v, tree.n);
		return r;
	}
	*ret = tree.v;
	*nret = tree.n;
	return 0;
}

/* inventory.img: only img_version matters to us (doc §1.9). */
static int check_inventory(struct c2c_ctx *ctx, struct c2c_source *src)
{
	struct c2c_blob b = C2C_BLOB_INIT;
	ProtobufCMessage *msg = NULL;
	const PbInventoryEntry *inv;
	struct c2c_image img;
	int r;

	r = c2c_image_load_one(ctx, src, C2C_IMG_INVENTORY, 0, &pb_inventory_entry__descriptor,
			       false, &b, &msg, &img);
	if (r < 0)
		return r;
	inv = (const PbInventoryEntry *)msg;
	if (!inv->has_img_version || (inv->img_version != 1 && inv->img_version != 2))
		r = c2c_fail(ctx, &C2C_IMAGE_LOC(&img), C2C_E_UNSUPPORTED,
			     "image version %u is not supported (1 or 2 expected)",
			     inv->img_version);
	protobuf_c_message_free_unpacked(msg, NULL);
	c2c_blob_release(&b);
	return r;
}

int c2c_checkpoint_load(struct c2c_ctx *ctx, struct c2c_source *src, const uint32_t *pids,
			size_t npids, struct c2c_checkpoint **ret)
{
	struct c2c_checkpoint *ck = calloc(1, sizeof(*ck));
	struct tree_entry *tree = NULL;
	size_t ntree = 0;
	int r;

	if (!ck)
		return c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
	ck->src = src;
	ck->rootfd = -1;
	r = check_inventory(ctx, src);
	if (r < 0)
		goto out;
	r = load_pstree(ctx, src, &tree, &ntree);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < npids; i++) {
		size_t j = 0;

		while (j < ntree && tree[j].pid != pids[i])
			j++;
		if (j == ntree) {
			r = c2c_fail(ctx, &C2C_LOC_FILE(src->path), C2C_E_USAGE,
				     "pid %u is not in the checkpoint's process tree", pids[i]);
			goto out;
		}
	}
	ck->procs = calloc(ntree, sizeof(*ck->procs));
	ck->selected = calloc(ntree, sizeof(*ck->selected));
	if (!ck->procs || !ck->selected) {
		r = c2c_fail(ctx, NULL, C2C_E_NOMEM, "out of memory");
		goto out;
	}
	ck->nprocs = ntree;
	for (size_t i = 0; i < ntree; i++) {
		bool sel = npids == 0;

		for (size_t j = 0; j < npids && !sel; j++)
			sel = pids[j] == tree[i].pid;
		ck->selected[i] = sel;
		ck->procs[i].pid = tree[i].pid;
		ck->procs[i].ppid = tree[i].ppid;
		ck->procs[i].pgid = tree[i].pgid;
		ck->procs[i].sid = tree[i].sid;
		if (!sel)
			continue;
		r = load_process(ctx, ck, &tree[i], &ck->procs[i]);
		if (r < 0)
			goto out;
	}
	*ret = ck;
	ck = NULL;
	r = 0;
out:
	free_tree(tree, ntree);
	c2c_checkpoint_free(ck);
	return r;
}

void c2c_checkpoint_free(struct c2c_checkpoint *ck)
{
	if (!ck)
		return;
	for (size_t i = 0; i < ck->nprocs; i++) {
		struct c2c_process *p = &ck->procs[i];

		free(p->threads);
		free(p->auxv);
		free(p->vmas);
		c2c_pagemap_release(&p->pm);
	}
	c2c_checkpoint_net_free(ck);
	free(ck->procs);
	free(ck->selected);
	for (size_t i = 0; i < ck->nfiles; i++) {
		free(ck->files[i].path);
		free(ck->files[i].name);
	}
	free(ck->files);
	for (size_t i = 0; i < ck->nmemfds; i++)
		free(ck->memfds[i].path);
	free(ck->memfds);
	for (size_t i = 0; i < ck->nshmems; i++) {
		c2c_pagemap_release(&ck->shmems[i]->pm);
		free(ck->shmems[i]);
	}
	free(ck->shmems);
	for (size_t i = 0; i < ck->nblobs; i++) {
		c2c_blob_release(ck->blobs[i]);
		free(ck->blobs[i]);
	}
	free(ck->blobs);
	c2c_rootdiff_free(ck->diff);
	free(ck);
}
