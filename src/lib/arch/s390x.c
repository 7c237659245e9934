/*
 * Stage 3, s390x (64-bit, big endian): a thread's registers from CRIU's
 * thread_info_s390 (images/core-s390.proto; criu-image-format §2.2.4) in the
 * layouts of the kernel's regsets, in the order of s390_regsets[] in
 * arch/s390/kernel/ptrace.c, which fill_thread_core_info (fs/binfmt_elf.c)
 * walks for every thread. Every field is big endian (c2c_arch.big_endian):
 *
 *   NT_PRSTATUS          pr_reg = s390_regs: psw mask, psw addr, gprs[16],
 *                        acrs[16] (u32), orig_gpr2: 216 bytes, 27 longs
 *   NT_PRFPREG      136  s390_fp_regs: fpc u32, pad u32, fprs[16]
 *   NT_S390_SYSTEM_CALL 4  the interrupted system call's number
 *   NT_S390_VXRS_LOW 128 doubleword 1 of v0..v15 (doubleword 0 is f0..f15)
 *   NT_S390_VXRS_HIGH 256 v16..v31
 *
 * Left out, as the images cannot give them: NT_S390_LAST_BREAK (the breaking-
 * event address, not saved by CRIU), NT_S390_TDB (only after a transaction
 * abort). CRIU's guarded-storage and runtime-instrumentation control blocks
 * (NT_S390_GS_CB, NT_S390_GS_BC, NT_S390_RI_CB) are not decoded yet.
 */
#include <elf.h>
#include <string.h>

#include "arch.h"
#include "core.pb-c.h"
#include "util.h"

#ifndef EM_S390
#define EM_S390 22
#endif
/* Note types of include/uapi/linux/elf.h. */
#ifndef NT_S390_SYSTEM_CALL
#define NT_S390_SYSTEM_CALL 0x307
#endif
#ifndef NT_S390_VXRS_LOW
#define NT_S390_VXRS_LOW 0x309
#endif
#ifndef NT_S390_VXRS_HIGH
#define NT_S390_VXRS_HIGH 0x30a
#endif

/* CoreEntry.mtype (images/core.proto enum march; doc §3.2). */
#define MTYPE_S390 5

#define S390_NGPR 16
#define S390_NACR 16
/* s390_regs in longs: psw (2), gprs, acrs (two u32 a long), orig_gpr2 */
#define S390_NGREG (2 + S390_NGPR + S390_NACR / 2 + 1)
#define FPREGS_SIZE (8 + 16 * 8) /* s390_fp_regs */
#define NFPRS 16
#define VXRS_LOW_N 16		  /* __NUM_VXRS_LOW */
#define VXRS_HIGH_N 16		  /* __NUM_VXRS_HIGH, __vector128 each */

static int check_n(struct c2c_ctx *ctx, const struct c2c_loc *loc, uint32_t tid, size_t n,
		   size_t want, const char *what)
{
	if (n == want)
		return 0;
	return c2c_fail(ctx, loc, C2C_E_INCONSISTENT, "thread %u has %zu %s, not %zu", tid, n,
			what, want);
}

static int decode_thread(struct c2c_ctx *ctx, const struct c2c_loc *loc,
			 const struct PbCoreEntry *ce, uint32_t tid, struct c2c_regs *ret,
			 bool *compat)
{
	const PbThreadInfoS390 *ti = ce->ti_s390;
	const PbUserS390RegsEntry *g;
	uint8_t *b;
	int r;

	if (!ti || !ti->gpregs)
		return c2c_fail(ctx, loc, C2C_E_MISSING,
				"thread %u has no registers (ti_s390.gpregs)", tid);
	g = ti->gpregs;
	if ((r = check_n(ctx, loc, tid, g->n_gprs, S390_NGPR,
			 "general registers (ti_s390.gpregs.gprs)")) < 0 ||
	    (r = check_n(ctx, loc, tid, g->n_acrs, S390_NACR,
			 "access registers (ti_s390.gpregs.acrs)")) < 0)
		return r;
	/* CRIU's s390 port dumps 64-bit tasks only. */
	*compat = false;
	*ret = (struct c2c_regs){ 0 };
	ret->greg[0] = g->psw_mask;
	ret->greg[1] = g->psw_addr;
	memcpy(ret->greg + 2, g->gprs, S390_NGPR * sizeof(uint64_t));
	/* a big-endian long holding acrs[2i] then acrs[2i + 1] */
	for (size_t i = 0; i < S390_NACR / 2; i++)
		ret->greg[2 + S390_NGPR + i] = (uint64_t)g->acrs[2 * i] << 32 | g->acrs[2 * i + 1];
	ret->greg[S390_NGREG - 1] = g->orig_gpr2;

	/* s390_fpregs_get has no active(): NT_PRFPREG is always written. */
	ret->fpvalid = true;
	b = c2c_regs_add_set(ret, "CORE", NT_PRFPREG, FPREGS_SIZE);
	memset(b, 0, FPREGS_SIZE);
	if (ti->fpregs) {
		if ((r = check_n(ctx, loc, tid, ti->fpregs->n_fprs, NFPRS,
				 "FP registers (ti_s390.fpregs.fprs)")) < 0)
			return r;
		c2c_put32_be(b, ti->fpregs->fpc);
		for (size_t i = 0; i < NFPRS; i++)
			c2c_put64_be(b + 8 + 8 * i, ti->fpregs->fprs[i]);
	}
	b = c2c_regs_add_set(ret, "LINUX", NT_S390_SYSTEM_CALL, 4);
	c2c_put32_be(b, g->system_call);
	if (ti->vxrs_low) {
		if ((r = check_n(ctx, loc, tid, ti->vxrs_low->n_regs, VXRS_LOW_N,
				 "vector words (ti_s390.vxrs_low.regs)")) < 0)
			return r;
		b = c2c_regs_add_set(ret, "LINUX", NT_S390_VXRS_LOW, VXRS_LOW_N * 8);
		for (size_t i = 0; i < VXRS_LOW_N; i++)
			c2c_put64_be(b + 8 * i, ti->vxrs_low->regs[i]);
	}
	if (ti->vxrs_high) {
		if ((r = check_n(ctx, loc, tid, ti->vxrs_high->n_regs, 2 * VXRS_HIGH_N,
				 "vector words (ti_s390.vxrs_high.regs)")) < 0)
			return r;
		b = c2c_regs_add_set(ret, "LINUX", NT_S390_VXRS_HIGH, VXRS_HIGH_N * 16);
		if (!b)
			return c2c_fail(ctx, loc, C2C_E_LIMIT, "thread %u: too many register sets",
					tid);
		/* regs[2n] is the high doubleword: first in big-endian memory */
		for (size_t i = 0; i < 2 * VXRS_HIGH_N; i++)
			c2c_put64_be(b + 8 * i, ti->vxrs_high->regs[i]);
	}
	return 0;
}

const struct c2c_arch c2c_arch_s390x = {
	.name = "s390x",
	.mtype = MTYPE_S390,
	.e_machine = EM_S390,
	.elfclass = ELFCLASS64,
	.big_endian = true,
	.e_flags = 0, /* arch/s390 defines no ELF_CORE_EFLAGS */
	.ngreg = S390_NGREG,
	.prstatus_size = 336, /* 112 + pr_reg 216 + pr_fpvalid, pad */
	.prpsinfo_size = 136, /* __kernel_uid_t is unsigned int on s390x */
	.page_size = 4096,    /* PAGE_SIZE: s390 has 4 KiB pages only */
	.decode_thread = decode_thread,
};
