/*
 * Stage 4, process model: the threads of a process.
 *
 * Consumes core-<tid>.img (criu-image-format §2.2); produces each thread's
 * name, signal masks and registers. The registers are decoded by the
 * architecture of CoreEntry.mtype (arch/), which every thread of a process
 * must share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.pb-c.h"
#include "image.h"
#include "model.h"
#include "util.h"

uint64_t c2c_signals_pending(const PbSignalQueueEntry *q)
{
	uint64_t m = 0;

	for (size_t i = 0; q && i < q->n_signals; i++) {
		int32_t signo;

		if (!q->signals[i]->has_siginfo || q->signals[i]->siginfo.len < 4)
			continue;
		memcpy(&signo, q->signals[i]->siginfo.data, 4);
		if (signo >= 1 && signo <= 64)
			m |= 1ULL << (signo - 1);
	}
	return m;
}

void c2c_comm_set(char comm[16], const char *s)
{
	snprintf(comm, 16, "%s", s ? s : "");
}

int c2c_thread_core_load(struct c2c_ctx *ctx, struct c2c_checkpoint *ck, uint32_t pid,
			   uint32_t tid, struct c2c_blob *b, struct c2c_image *img, PbCoreEntry **ret)
{
	ProtobufCMessage *msg = NULL;
	int r = c2c_image_load_one(ctx, ck->src, C2C_IMG_CORE, tid, &pb_core_entry__descriptor, true,
				   b, &msg, img);

	if (r == 1) { /* the message says what is lost without it */
		char name[32], *path;

		c2c_image_name(C2C_IMG_CORE, tid, name, sizeof(name));
		/* Not "%s/%s" of src->path: that is "x.tar/core-N.img" for an archive's top level. */
		path = c2c_source_path(ck->src, name);
		r = c2c_fail(ctx, &C2C_LOC_FILE(path ? path : name), C2C_E_MISSING,
			     "required image is missing: the registers of thread %u of process %u",
			     tid, pid);
		free(path);
	}
	if (r < 0)
		return r;
	*ret = (PbCoreEntry *)msg;
	return 0;
}

/* A capability set: two u32 words, low then high (doc §2.2.3). */
static uint64_t cap_set(const uint32_t *w, size_t n)
{
	return (n > 0 ? w[0] : 0) | (n > 1 ? (uint64_t)w[1] << 32 : 0);
}

static void copy_creds(struct c2c_creds *c, const PbCredsEntry *e)
{
	c->known = true;
	c->uid = e->uid, c->gid = e->gid, c->euid = e->euid, c->egid = e->egid;
	c->suid = e->suid, c->sgid = e->sgid, c->fsuid = e->fsuid, c->fsgid = e->fsgid;
	c->cap_inh = cap_set(e->cap_inh, e->n_cap_inh);
	c->cap_prm = cap_set(e->cap_prm, e->n_cap_prm);
	c->cap_eff = cap_set(e->cap_eff, e->n_cap_eff);
	c->cap_bnd = cap_set(e->cap_bnd, e->n_cap_bnd);
	c->cap_amb = cap_set(e->cap_amb, e->n_cap_amb);
	c->secbits = e->secbits;
	c->no_new_privs = e->no_new_privs != 0;
	for (size_t i = 0; i < e->n_groups && c->ngroups < C2C_ARRAY_SIZE(c->groups); i++)
		c->groups[c->ngroups++] = e->groups[i];
	snprintf(c->lsm_profile, sizeof(c->lsm_profile), "%s",
		 e->lsm_profile ? e->lsm_profile : "");
}

/* One thread's registers and names from its CoreEntry (loc names the core image). */
int c2c_thread_decode(struct c2c_ctx *ctx, struct c2c_process *p, struct c2c_thread *t,
		      const PbCoreEntry *ce, const struct c2c_loc *loc)
{
	const struct c2c_arch *arch = c2c_arch_lookup(ctx, loc, ce->mtype);
	bool compat = false;
	int r;

	if (!arch)
		return C2C_E_UNSUPPORTED;
	r = arch->decode_thread(ctx, loc, ce, t->tid, &t->regs, &compat);
	if (r < 0)
		return r;
	/* mtype is the machine's; a 32-bit task's registers say it is compat */
	if (compat && arch->compat)
		arch = arch->compat;
	else if (compat)
		return c2c_fail(ctx, loc, C2C_E_UNSUPPORTED,
				"thread %u is a 32-bit task of %s, which is not supported", t->tid,
				arch->name);
	if (p->arch && arch != p->arch)
		return c2c_fail(ctx, loc, C2C_E_INCONSISTENT,
				"thread %u is %s, but its process %u is %s", t->tid, arch->name,
				p->pid, p->arch->name);
	p->arch = arch;
	if (!p->page_size)
		p->page_size = arch->page_size; /* until the auxv tells (c2c_mm_load) */
	if (compat)
		p->compat = true;
	if (ce->thread_core) {
		const PbThreadCoreEntry *tc = ce->thread_core;

		c2c_comm_set(t->comm, tc->comm);
		t->sighold = tc->blk_sigset;
		t->sigpend = c2c_signals_pending(tc->signals_p);
		if (t->tid == p->pid) {
			p->nice = tc->sched_nice;
			if (tc->creds) {
				p->uid = tc->creds->uid;
				p->gid = tc->creds->gid;
				copy_creds(&p->creds, tc->creds);
			}
		}
	}
	return 0;
}

