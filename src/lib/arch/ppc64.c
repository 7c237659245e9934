/*
 * Stage 3, ppc64 (64-bit little-endian, ELFv2): a thread's registers from
 * CRIU's thread_info_ppc64 (images/core-ppc64.proto; criu-image-format
 * §2.2.4) in the layouts of the kernel's regsets, in the order of
 * native_regsets[] in arch/powerpc/kernel/ptrace/ptrace-view.c, which
 * fill_thread_core_info (fs/binfmt_elf.c) walks for every thread:
 *
 *   REGSET_GPR  NT_PRSTATUS       pr_reg = elf_gregset_t, ELF_NGREG 48 longs:
 *                                 struct pt_regs gpr[32], nip, msr, orig_gpr3,
 *                                 ctr, link, xer, ccr, softe, trap, dar, dsisr,
 *                                 result (PT_REGS_COUNT 44), then 4 zero words
 *                                 (gpr_get membuf_zero)
 *   REGSET_FPR  NT_PRFPREG   264  ELF_NFPREG 33 doubles: fpr0..fpr31, fpscr
 *                                 (fpr_get; no active(): always written)
 *   REGSET_VMX  NT_PPC_VMX   544  34 vector128: vr0..vr31, vscr, then vrsave
 *                                 in the first word of the last one (vr_get);
 *                                 only if the thread used Altivec (vr_active)
 *   REGSET_VSX  NT_PPC_VSX   256  32 doubles: doubleword 1 of VSR0..VSR31, the
 *                                 half the FPRs do not hold (vsr_get); only if
 *                                 the thread used VSX (vsr_active)
 *
 * The images cannot give, and so they are left out (as a gcore leaves out
 * what it cannot read): the transactional-memory notes NT_PPC_TM_* (CRIU's
 * tmstate holds the checkpointed state only while a transaction is open),
 * NT_PPC_PPR, NT_PPC_DSCR, NT_PPC_TAR (not saved by CRIU), NT_PPC_EBB,
 * NT_PPC_PMU and NT_PPC_PKEY. pt_regs' softe, dar, dsisr and result are not
 * saved either and are written as 0: gdb shows none of them.
 */
#include <elf.h>
#include <string.h>

#include "arch.h"
#include "core.pb-c.h"
#include "util.h"

#ifndef EM_PPC64
#define EM_PPC64 21
#endif
/* Note types of include/uapi/linux/elf.h (older libc headers lack some). */
#ifndef NT_PPC_VMX
#define NT_PPC_VMX 0x100
#endif
#ifndef NT_PPC_VSX
#define NT_PPC_VSX 0x102
#endif

/* CoreEntry.mtype (images/core.proto enum march; doc §3.2). */
#define MTYPE_PPC64 4

/* arch/powerpc/include/uapi/asm/ptrace.h: PT_NIP 32 ... PT_TRAP 40 */
#define PPC_NGPR 32
#define PT_NIP 32
#define PT_MSR 33
#define PT_ORIG_R3 34
#define PT_CTR 35
#define PT_LNK 36
#define PT_XER 37
#define PT_CCR 38
#define PT_TRAP 40
#define PPC64_NGREG 48 /* ELF_NGREG, arch/powerpc/include/uapi/asm/elf.h */

#define PPC_NFPREG 33			/* ELF_NFPREG: fpr0..31, fpscr */
#define FPR_SIZE (PPC_NFPREG * 8)	/* 264 */
#define VMX_NVEC 34			/* vr0..31, vscr, vrsave (regset .n) */
#define VMX_SIZE (VMX_NVEC * 16)	/* 544 */
#define VMX_WORDS (2 * (VMX_NVEC - 1))	/* CRIU's vrregs: vr0..31 and vscr */
#define VMX_VRSAVE_OFF ((VMX_NVEC - 1) * 16)
#define VSX_NREG 32			/* ELF_NVSRHALFREG */
#define VSX_SIZE (VSX_NREG * 8)	/* 256 */

static int decode_thread(struct c2c_ctx *ctx, const struct c2c_loc *loc,
			 const struct PbCoreEntry *ce, uint32_t tid, struct c2c_regs *ret,
			 bool *compat)
{
	const PbThreadInfoPpc64 *ti = ce->ti_ppc64;
	const PbUserPpc64RegsEntry *g;
	uint8_t *b;

	if (!ti || !ti->gpregs)
		return c2c_fail(ctx, loc, C2C_E_MISSING,
				"thread %u has no registers (ti_ppc64.gpregs)", tid);
	g = ti->gpregs;
	if (g->n_gpr != PPC_NGPR)
		return c2c_fail(ctx, loc, C2C_E_INCONSISTENT,
				"thread %u has %zu general registers (ti_ppc64.gpregs.gpr), not %u",
				tid, g->n_gpr, PPC_NGPR);
	/* CRIU dumps no 32-bit (TIF_32BIT) ppc tasks: its ppc64 port is ELFv2 only. */
	*compat = false;
	*ret = (struct c2c_regs){ 0 };
	memcpy(ret->greg, g->gpr, PPC_NGPR * sizeof(uint64_t));
	ret->greg[PT_NIP] = g->nip;
	ret->greg[PT_MSR] = g->msr;
	ret->greg[PT_ORIG_R3] = g->orig_gpr3;
	ret->greg[PT_CTR] = g->ctr;
	ret->greg[PT_LNK] = g->link;
	ret->greg[PT_XER] = g->xer;
	ret->greg[PT_CCR] = g->ccr;
	ret->greg[PT_TRAP] = g->trap;

	/*
	 * NT_PRFPREG is written for every thread (no active()); without
	 * fpstate the thread never used the FPU and its saved state is zero.
	 */
	ret->fpvalid = true;
	b = c2c_regs_add_set(ret, "CORE", NT_PRFPREG, FPR_SIZE);
	memset(b, 0, FPR_SIZE);
	if (ti->fpstate) {
		if (ti->fpstate->n_fpregs != PPC_NFPREG)
			return c2c_fail(ctx, loc, C2C_E_INCONSISTENT,
					"thread %u has %zu FP registers (ti_ppc64.fpstate.fpregs), "
					"not %u",
					tid, ti->fpstate->n_fpregs, PPC_NFPREG);
		for (size_t i = 0; i < PPC_NFPREG; i++)
			c2c_put64(b + 8 * i, ti->fpstate->fpregs[i]);
	}
	if (ti->vrstate) {
		const PbUserPpc64VrstateEntry *v = ti->vrstate;

		if (v->n_vrregs != VMX_WORDS)
			return c2c_fail(ctx, loc, C2C_E_INCONSISTENT,
					"thread %u has %zu Altivec words (ti_ppc64.vrstate.vrregs), "
					"not %u",
					tid, v->n_vrregs, VMX_WORDS);
		b = c2c_regs_add_set(ret, "LINUX", NT_PPC_VMX, VMX_SIZE);
		memset(b, 0, VMX_SIZE);
		/* CRIU's words are each vector128's memory in order: copy them back as they were */
		for (size_t i = 0; i < VMX_WORDS; i++)
			c2c_put64(b + 8 * i, v->vrregs[i]);
		c2c_put32(b + VMX_VRSAVE_OFF, v->vrsave);
	}
	if (ti->vsxstate) {
		const PbUserPpc64VsxstateEntry *x = ti->vsxstate;

		if (x->n_vsxregs != VSX_NREG)
			return c2c_fail(ctx, loc, C2C_E_INCONSISTENT,
					"thread %u has %zu VSX words (ti_ppc64.vsxstate.vsxregs), not %u",
					tid, x->n_vsxregs, VSX_NREG);
		b = c2c_regs_add_set(ret, "LINUX", NT_PPC_VSX, VSX_SIZE);
		if (!b)
			return c2c_fail(ctx, loc, C2C_E_LIMIT, "thread %u: too many register sets",
					tid);
		for (size_t i = 0; i < VSX_NREG; i++)
			c2c_put64(b + 8 * i, x->vsxregs[i]);
	}
	return 0;
}

const struct c2c_arch c2c_arch_ppc64 = {
	.name = "ppc64le",
	.mtype = MTYPE_PPC64,
	.e_machine = EM_PPC64,
	.elfclass = ELFCLASS64,
	/*
	 * ELF_CORE_EFLAGS is (is_elf2_task() ? 2 : 0) (arch/powerpc/include/asm/elf.h):
	 * CRIU's ppc64 tasks are ELFv2. qemu's and gcore's cores write 0; gdb ignores it.
	 */
	.e_flags = 2,
	.ngreg = PPC64_NGREG,
	.prstatus_size = 504, /* 112 + pr_reg 384 + pr_fpvalid, pad */
	.prpsinfo_size = 136, /* LP64 elf_prpsinfo, 32-bit __kernel_uid_t */
	/*
	 * ELF_EXEC_PAGESIZE is PAGE_SIZE: 4 or 64 KiB by kernel configuration
	 * (distributions use 64 KiB). This is the default when the auxv has no
	 * AT_PAGESZ; the process's page size comes from AT_PAGESZ.
	 */
	.page_size = 65536,
	.decode_thread = decode_thread,
};
