/*
 * Stage 3: the table of architectures and the note layouts they share.
 * NT_PRSTATUS and NT_PRPSINFO are struct elf_prstatus and elf_prpsinfo of
 * include/linux/elfcore.h, which are the same on every LP64 Linux
 * architecture up to pr_reg (elf_gregset_t, whose size each one sets);
 * checked against BFD's elf_x86_64_grok_prstatus/psinfo (elf-core-format
 * §1.5, §2) and, for aarch64 (392 and 136 bytes), against
 * include/linux/elfcore.h with arch/arm64/include/asm/elf.h (ELF_NGREG 34).
 */
#include <string.h>

#include "arch.h"
#include "util.h"

/* struct elf_prstatus offsets (LP64). */
#define PRS_SIGPEND 16
#define PRS_SIGHOLD 24
#define PRS_PID 32
#define PRS_PPID 36
#define PRS_PGRP 40
#define PRS_SID 44
#define PRS_REG 112

/* struct elf_prpsinfo offsets (LP64, 136 bytes). */
#define PRP_STATE 0
#define PRP_SNAME 1
#define PRP_ZOMB 2
#define PRP_NICE 3
#define PRP_FLAG 8
#define PRP_UID 16
#define PRP_GID 20
#define PRP_PID 24
#define PRP_PPID 28
#define PRP_PGRP 32
#define PRP_SID 36
#define PRP_FNAME 40
#define PRP_PSARGS 56

static const struct c2c_arch *const arches[] = {
	&c2c_arch_x86_64,
	&c2c_arch_aarch64,
};

/* Names of CoreEntry.mtype values (core.proto enum march; doc §3.2). */
static const char *mtype_name(uint32_t mtype)
{
	static const char *const names[] = { "unknown", "x86_64",  "arm",	  "aarch64", "ppc64",
					     "s390",	"mips",	   "loongarch64", "riscv64" };

	return mtype < C2C_ARRAY_SIZE(names) ? names[mtype] : "unknown";
}

const struct c2c_arch *c2c_arch_lookup(struct c2c_ctx *ctx, const struct c2c_loc *loc,
				       uint32_t mtype)
{
	for (size_t i = 0; i < C2C_ARRAY_SIZE(arches); i++)
		if (arches[i]->mtype == mtype)
			return arches[i];
	c2c_fail(ctx, loc, C2C_E_UNSUPPORTED,
		 "architecture %s (CoreEntry.mtype %u) is not supported; only x86_64 (1) "
		 "and aarch64 (3) are",
		 mtype_name(mtype), mtype);
	return NULL;
}

/* pr_pid, pr_ppid, pr_pgrp and pr_sid: four u32 in a row in both structs. */
_Static_assert(PRS_SID == PRS_PID + 12 && PRP_SID == PRP_PID + 12, "pid fields in a row");

static void put_ids(uint8_t *p, uint32_t pid, const struct c2c_task_info *ti)
{
	c2c_put32(p, pid);
	c2c_put32(p + 4, ti->ppid);
	c2c_put32(p + 8, ti->pgid);
	c2c_put32(p + 12, ti->sid);
}

void c2c_arch_prstatus(const struct c2c_arch *arch, const struct c2c_task_info *ti,
		       const struct c2c_regs *regs, uint8_t *out)
{
	size_t greg_bytes = arch->ngreg * 8;

	memset(out, 0, arch->prstatus_size);
	/*
	 * pr_info and pr_cursig stay 0: a checkpoint is not a crash, and gcore's
	 * cores of the same processes carry no signal either.
	 */
	c2c_put64(out + PRS_SIGPEND, ti->sigpend);
	c2c_put64(out + PRS_SIGHOLD, ti->sighold);
	put_ids(out + PRS_PID, ti->tid, ti);
	memcpy(out + PRS_REG, regs->greg, greg_bytes);
	c2c_put32(out + PRS_REG + greg_bytes, regs->fpvalid ? 1 : 0); /* pr_fpvalid follows pr_reg */
}

void c2c_arch_prpsinfo(const struct c2c_arch *arch, const struct c2c_task_info *ti,
		       const char *fname, const char *psargs, uint8_t *out)
{
	/*
	 * The kernel's pr_state is ffz(~task_state) + 1 and pr_sname its letter
	 * in "RSDTZW" (fs/binfmt_elf.c fill_psinfo). CRIU only knows alive,
	 * stopped or dead; alive tasks are reported sleeping, as a checkpointed
	 * task was frozen out of whatever it did.
	 */
	static const char snames[] = "RSDTZW";
	int state = ti->state == C2C_TASK_STOPPED ? 3 : ti->state == C2C_TASK_DEAD ? 4 : 1;

	memset(out, 0, arch->prpsinfo_size);
	out[PRP_STATE] = (uint8_t)state;
	out[PRP_SNAME] = (uint8_t)snames[state];
	out[PRP_ZOMB] = ti->state == C2C_TASK_DEAD;
	out[PRP_NICE] = (uint8_t)(int8_t)ti->nice;
	c2c_put64(out + PRP_FLAG, ti->pf_flags);
	c2c_put32(out + PRP_UID, ti->uid);
	c2c_put32(out + PRP_GID, ti->gid);
	put_ids(out + PRP_PID, ti->pid, ti);
	memcpy(out + PRP_FNAME, fname, strnlen(fname, 15));
	memcpy(out + PRP_PSARGS, psargs, strnlen(psargs, C2C_PSARGS_MAX - 1));
}

uint8_t *c2c_regs_add_set(struct c2c_regs *regs, const char *name, uint32_t type, uint32_t len)
{
	uint32_t off = regs->nsets ? regs->sets[regs->nsets - 1].off +
					     regs->sets[regs->nsets - 1].len :
				     0;

	if (regs->nsets == C2C_REGSET_MAX || len > C2C_REGSET_BYTES - off)
		return NULL;
	regs->sets[regs->nsets++] = (struct c2c_regset){ name, type, off, len };
	return regs->data + off;
}
