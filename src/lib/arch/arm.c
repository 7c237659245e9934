/*
 * Stage 3, arm (32-bit, EABI): a thread's registers from CRIU's
 * thread_info_arm (images/core-arm.proto; criu-image-format §2.2.4) in the
 * layouts of the regsets of a 32-bit arm kernel, in the order of
 * arm_regsets[] in arch/arm/kernel/ptrace.c, which fill_thread_core_info
 * (fs/binfmt_elf.c) walks for every thread:
 *
 *   REGSET_GPR  NT_PRSTATUS      pr_reg = 18 x u32: r0..r10, fp, ip, sp, lr,
 *                                pc, cpsr, orig_r0 (ELF_NGREG 18)
 *   REGSET_FPR  NT_PRFPREG  116  struct user_fp (arch/arm/include/asm/user.h):
 *                                the FPA emulator's state, 8 x 12-byte fp_reg,
 *                                fpsr, fpcr, ftype[8], init_flag; owner CORE
 *   REGSET_VFP  NT_ARM_VFP  260  struct user_vfp: fpregs[32] (u64, d0..d31),
 *                                fpscr (ARM_VFPREGS_SIZE); owner LINUX
 *
 * NT_PRFPREG: the FPR regset has a core_note_type and no active() hook, so
 * the kernel writes it for every thread (and sets pr_fpvalid), whether or
 * not the FPA emulator (CONFIG_FPE_NWFPE/FASTFPE) is built in: fpa_get copies
 * thread_info->fpstate, which flush_thread zeroes at exec and only the
 * emulator ever fills. An EABI (hard- or soft-float VFP) program never runs
 * FPA instructions, and CRIU saves no FPA state, so it is written as zeros.
 * gdb uses it only for targets without VFP (.reg2, ARM_LINUX_SIZEOF_NWFPE);
 * with VFP it reads .reg-arm-vfp.
 *
 * NT_ARM_VFP: vfp_get copies the hardware state of d0..d31 then fpscr;
 * fpexc, fpinst and fpinst2 of CRIU's fpstate are not part of the note. A
 * VFPv3-D16 CPU still has 32 slots (d16..d31 zero).
 *
 * TLS (TPIDRURO, CRIU's ti_arm.tls) has no core note on arm: the 32-bit
 * kernel has no TLS regset (gdb reads it with PTRACE_GET_THREAD_AREA from a
 * live process only; no core, kernel's or gcore's, holds it). A compat task
 * of an arm64 kernel (user_aarch32_view) would get NT_PRSTATUS and
 * NT_ARM_VFP only; CRIU dumps native 32-bit tasks here.
 *
 * ELF header: ELFCLASS32, EM_ARM, e_flags 0 (arch/arm defines no
 * ELF_CORE_EFLAGS; qemu-arm's and gdb's gcore cores have 0 too).
 */
#include <elf.h>
#include <string.h>

#include "arch.h"
#include "core.pb-c.h"
#include "util.h"

#ifndef EM_ARM
#define EM_ARM 40
#endif
#ifndef NT_ARM_VFP
#define NT_ARM_VFP 0x400
#endif

/* CoreEntry.mtype (images/core.proto enum march; doc §3.2). */
#define MTYPE_ARM 2

#define ARM_NGREG 18	   /* sizeof(elf_gregset_t) / 4 */
#define USER_FP_SIZE 116   /* sizeof(struct user_fp) */
#define VFP_NREGS 32	   /* d0..d31 */
#define VFP_SIZE 260	   /* ARM_VFPREGS_SIZE: 32 x 8 + fpscr */

static int decode_thread(struct c2c_ctx *ctx, const struct c2c_loc *loc,
			 const struct PbCoreEntry *ce, uint32_t tid, struct c2c_regs *ret,
			 bool *compat)
{
	const PbThreadInfoArm *ti = ce->ti_arm;
	const PbUserArmRegsEntry *g;
	uint8_t *b;

	if (!ti || !ti->gpregs)
		return c2c_fail(ctx, loc, C2C_E_MISSING,
				"thread %u has no registers (ti_arm.gpregs)", tid);
	g = ti->gpregs;
	*compat = false;
	*ret = (struct c2c_regs){ 0 };
	{
		const uint32_t w[ARM_NGREG] = { g->r0, g->r1, g->r2,  g->r3, g->r4, g->r5,
						g->r6, g->r7, g->r8,  g->r9, g->r10, g->fp,
						g->ip, g->sp, g->lr, g->pc, g->cpsr, g->orig_r0 };

		for (size_t i = 0; i < ARM_NGREG; i++)
			ret->greg[i] = w[i];
	}
	/* fill_thread_core_info sets pr_fpvalid when it writes NT_PRFPREG: always here. */
	ret->fpvalid = true;
	b = c2c_regs_add_set(ret, "CORE", NT_PRFPREG, USER_FP_SIZE);
	memset(b, 0, USER_FP_SIZE);
	if (ti->fpstate) {
		const PbUserArmVfpstateEntry *fp = ti->fpstate;

		if (fp->n_vfp_regs > VFP_NREGS)
			return c2c_fail(ctx, loc, C2C_E_INCONSISTENT,
					"thread %u has %zu VFP registers (ti_arm.fpstate.vfp_regs), "
					"more than %u",
					tid, fp->n_vfp_regs, VFP_NREGS);
		b = c2c_regs_add_set(ret, "LINUX", NT_ARM_VFP, VFP_SIZE);
		memset(b, 0, VFP_SIZE);
		for (size_t i = 0; i < fp->n_vfp_regs; i++)
			c2c_put64(b + 8 * i, fp->vfp_regs[i]);
		c2c_put32(b + 8 * VFP_NREGS, fp->fpscr);
	}
	return 0;
}

const struct c2c_arch c2c_arch_arm = {
	.name = "arm",
	.mtype = MTYPE_ARM,
	.e_machine = EM_ARM,
	.elfclass = ELFCLASS32,
	.e_flags = 0,
	.uid16 = true, /* __kernel_uid_t is unsigned short on arm */
	.ngreg = ARM_NGREG,
	.prstatus_size = 148, /* 72 + pr_reg 72 + pr_fpvalid */
	.prpsinfo_size = 124,
	.page_size = 4096, /* PAGE_SIZE: arm has 4 KiB pages only */
	.decode_thread = decode_thread,
};
