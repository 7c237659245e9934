/*
 * Stage 3: the table of architectures and the note layouts they share.
 * NT_PRSTATUS and NT_PRPSINFO are struct elf_prstatus and elf_prpsinfo of
 * include/linux/elfcore.h, which are the same on every LP64 Linux
 * architecture up to pr_reg (elf_gregset_t, whose size each one sets);
 * checked against BFD's elf_x86_64_grok_prstatus/psinfo (elf-core-format
 * §1.5, §2) and, for aarch64 (392 and 136 bytes), against
 * include/linux/elfcore.h with arch/arm64/include/asm/elf.h (ELF_NGREG 34).
 * s390x (336 and 136, big endian) against arch/s390/include/asm/elf.h (s390_regs).
 * ppc64 (504 and 136) against arch/powerpc/include/uapi/asm/elf.h (ELF_NGREG 48).
 * For ILP32 (arm: 148 and 124 bytes) against BFD's elf32_arm_nabi_grok_prstatus
 * and _psinfo (pr_pid at 24, pr_reg at 72; pr_fname at 28, pr_psargs at 44).
 */
#include <string.h>

#include "arch.h"
#include "util.h"

/*
 * struct elf_prstatus and elf_prpsinfo are built of ints, shorts and longs
 * (and __kernel_uid_t): their offsets follow from the size of a long, 8
 * (LP64) or 4 (ILP32, e.g. arm: 148 and 124 bytes, with 16-bit pr_uid and
 * pr_gid; arch/arm/include/uapi/asm/posix_types.h).
 *
 * elf_prstatus: pr_info (3 ints) 0, pr_cursig (short) 12, pad, pr_sigpend
 * 16, pr_sighold, pr_pid, pr_ppid, pr_pgrp, pr_sid, 4 timevals (2 longs
 * each), pr_reg, pr_fpvalid (int).
 */
#define PRS_SIGPEND 16
#define PRS_SIGHOLD(l) (PRS_SIGPEND + (l))
#define PRS_PID(l) (PRS_SIGPEND + 2 * (l))
#define PRS_REG(l) (PRS_PID(l) + 16 + 8 * (l))

/*
 * elf_prpsinfo: pr_state, pr_sname, pr_zomb, pr_nice (chars) 0..3, pr_flag
 * (long, aligned), pr_uid, pr_gid, pr_pid, pr_ppid, pr_pgrp, pr_sid (ints),
 * pr_fname[16], pr_psargs[80].
 */
#define PRP_STATE 0
#define PRP_SNAME 1
#define PRP_ZOMB 2
#define PRP_NICE 3
#define PRP_FLAG(l) (l)
#define PRP_UID(l) (2 * (l))
#define PRP_GID(l, u) (PRP_UID(l) + (u))
#define PRP_PID(l, u) (PRP_UID(l) + 2 * (u))
#define PRP_FNAME(l, u) (PRP_PID(l, u) + 16)
#define PRP_PSARGS(l, u) (PRP_FNAME(l, u) + 16)

static const struct c2c_arch *const arches[] = {
	&c2c_arch_x86_64,
	&c2c_arch_aarch64,
	&c2c_arch_arm,
	&c2c_arch_ppc64,
	&c2c_arch_s390x,
	&c2c_arch_riscv64,
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
		 "architecture %s (CoreEntry.mtype %u) is not supported; only x86_64 (1), "
		 "arm (2), aarch64 (3), ppc64 (4), s390 (5) and riscv64 (8) are",
		 mtype_name(mtype), mtype);
	return NULL;
}

/* pr_pid, pr_ppid, pr_pgrp and pr_sid: four u32 in a row in both structs (pid_t). */
static void put_ids(const struct c2c_arch *arch, uint8_t *p, uint32_t pid,
		    const struct c2c_task_info *ti)
{
	c2c_arch_put32(arch, p, pid);
	c2c_arch_put32(arch, p + 4, ti->ppid);
	c2c_arch_put32(arch, p + 8, ti->pgid);
	c2c_arch_put32(arch, p + 12, ti->sid);
}

void c2c_arch_prstatus(const struct c2c_arch *arch, const struct c2c_task_info *ti,
		       const struct c2c_regs *regs, uint8_t *out)
{
	size_t l = c2c_arch_long(arch), pid = PRS_PID(l), reg = PRS_REG(l);

	memset(out, 0, arch->prstatus_size);
	/*
	 * pr_info and pr_cursig stay 0: a checkpoint is not a crash, and gcore's
	 * cores of the same processes carry no signal either. pr_sigpend and
	 * pr_sighold are sig[0] of the masks: the low 32 signals on ILP32.
	 */
	c2c_put_long(arch, out + PRS_SIGPEND, ti->sigpend);
	c2c_put_long(arch, out + PRS_SIGHOLD(l), ti->sighold);
	put_ids(arch, out + pid, ti->tid, ti);
	for (size_t i = 0; i < arch->ngreg; i++)
		c2c_put_long(arch, out + reg + i * l, regs->greg[i]);
	/* pr_fpvalid follows pr_reg */
	c2c_arch_put32(arch, out + reg + arch->ngreg * l, regs->fpvalid ? 1 : 0);
}

/* A 16-bit __kernel_uid_t holds what from_kuid_munged gives: high2lowuid. */
static uint32_t low_id(uint32_t id)
{
	return id & ~0xffffu ? 65534 /* overflowuid */ : id;
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
	size_t l = c2c_arch_long(arch), u = arch->uid16 ? 2 : 4, pid = PRP_PID(l, u);

	memset(out, 0, arch->prpsinfo_size);
	out[PRP_STATE] = (uint8_t)state;
	out[PRP_SNAME] = (uint8_t)snames[state];
	out[PRP_ZOMB] = ti->state == C2C_TASK_DEAD;
	out[PRP_NICE] = (uint8_t)(int8_t)ti->nice;
	c2c_put_long(arch, out + PRP_FLAG(l), ti->pf_flags);
	if (arch->uid16) {
		uint16_t uid = (uint16_t)low_id(ti->uid), gid = (uint16_t)low_id(ti->gid);

		c2c_arch_put16(arch, out + PRP_UID(l), uid);
		c2c_arch_put16(arch, out + PRP_GID(l, u), gid);
	} else {
		c2c_arch_put32(arch, out + PRP_UID(l), ti->uid);
		c2c_arch_put32(arch, out + PRP_GID(l, u), ti->gid);
	}
	put_ids(arch, out + pid, ti->pid, ti);
	memcpy(out + PRP_FNAME(l, u), fname, strnlen(fname, 15));
	memcpy(out + PRP_PSARGS(l, u), psargs, strnlen(psargs, C2C_PSARGS_MAX - 1));
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
