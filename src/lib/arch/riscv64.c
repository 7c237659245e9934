/*
 * Stage 3, riscv64: a thread's registers from CRIU's thread_info_riscv64
 * (images/core-riscv64.proto, CRIU 4.1; criu-image-format §2.2.4) in the
 * layouts of the kernel's regsets, in the order of riscv_user_regset[] in
 * arch/riscv/kernel/ptrace.c, which fill_thread_core_info (fs/binfmt_elf.c)
 * walks for every thread:
 *
 *   REGSET_X  NT_PRSTATUS  pr_reg = struct user_regs_struct
 *                          (arch/riscv/include/uapi/asm/ptrace.h): pc, ra, sp,
 *                          gp, tp, t0-t2, s0, s1, a0-a7, s2-s11, t3-t6; 32 words
 *   REGSET_F  NT_PRFPREG   264  struct __riscv_d_ext_state: f[32] (u64), fcsr
 *                          (u32), 4 bytes of padding (ELF_NFPREG 33 x 8);
 *                          owner "CORE", sets pr_fpvalid
 *
 * Newer kernels append regsets the images cannot give (CRIU saves neither):
 * NT_RISCV_VECTOR (only on CPUs with the V extension),
 * NT_RISCV_TAGGED_ADDR_CTRL (CONFIG_RISCV_ISA_SUPM, pointer masking) and
 * NT_RISCV_USER_CFI (shadow stack); they are left out, as a gcore leaves out
 * what it cannot read (include/uapi/linux/elf.h 0x901-0x903).
 *
 * gdb 13.1 reads these layouts (its riscv BFD backend takes a 376-byte
 * NT_PRSTATUS and a 264-byte .reg2); its own gcore writes NT_PRSTATUS in the
 * host's layout, which it then cannot read back (tests/arch/README.md).
 */
#include <elf.h>
#include <string.h>

#include "arch.h"
#include "core.pb-c.h"
#include "util.h"

#ifndef EM_RISCV
#define EM_RISCV 243 /* include/uapi/linux/elf-em.h */
#endif

/* CoreEntry.mtype (images/core.proto enum march: RISCV64 = 8; doc §3.2). */
#define MTYPE_RISCV64 8

#define RISCV_NGREG 32	     /* ELF_NGREG: sizeof(struct user_regs_struct) / 8 */
#define RISCV_NFREG 32	     /* f0..f31 */
#define D_EXT_SIZE 264	     /* sizeof(struct __riscv_d_ext_state): 32 x 8 + fcsr, padded */
#define D_EXT_FCSR_OFF (RISCV_NFREG * 8)

static int decode_thread(struct c2c_ctx *ctx, const struct c2c_loc *loc,
			 const struct PbCoreEntry *ce, uint32_t tid, struct c2c_regs *ret,
			 bool *compat)
{
	const PbThreadInfoRiscv64 *ti = ce->ti_riscv64;
	const PbUserRiscv64RegsEntry *g;
	uint8_t *b;

	if (!ti || !ti->gpregs)
		return c2c_fail(ctx, loc, C2C_E_MISSING,
				"thread %u has no registers (ti_riscv64.gpregs)", tid);
	g = ti->gpregs;
	/* CRIU has no riscv32 compat tasks (core-riscv64.proto only). */
	*compat = false;
	*ret = (struct c2c_regs){ 0 };
	{
		/* user_regs_struct order; pr_reg holds tp as the thread saw it (ti->tls is the same). */
		const uint64_t w[RISCV_NGREG] = {
			g->pc, g->ra, g->sp,  g->gp,  g->tp, g->t0, g->t1, g->t2,
			g->s0, g->s1, g->a0,  g->a1,  g->a2, g->a3, g->a4, g->a5,
			g->a6, g->a7, g->s2,  g->s3,  g->s4, g->s5, g->s6, g->s7,
			g->s8, g->s9, g->s10, g->s11, g->t3, g->t4, g->t5, g->t6,
		};

		memcpy(ret->greg, w, sizeof(w));
	}
	if (ti->fpsimd) {
		const PbUserRiscv64DExtEntry *fp = ti->fpsimd;

		if (fp->n_f > RISCV_NFREG)
			return c2c_fail(ctx, loc, C2C_E_INCONSISTENT,
					"thread %u has %zu FP registers (ti_riscv64.fpsimd.f), "
					"more than %u",
					tid, fp->n_f, RISCV_NFREG);
		/* fill_thread_core_info sets pr_fpvalid when it writes NT_PRFPREG. */
		ret->fpvalid = true;
		b = c2c_regs_add_set(ret, "CORE", NT_PRFPREG, D_EXT_SIZE);
		memset(b, 0, D_EXT_SIZE);
		for (size_t i = 0; i < fp->n_f; i++)
			c2c_put64(b + 8 * i, fp->f[i]);
		c2c_put32(b + D_EXT_FCSR_OFF, fp->fcsr);
	}
	return 0;
}

const struct c2c_arch c2c_arch_riscv64 = {
	.name = "riscv64",
	.mtype = MTYPE_RISCV64,
	.e_machine = EM_RISCV,
	.elfclass = ELFCLASS64,
	/*
	 * arch/riscv/include/asm/elf.h defines no ELF_CORE_EFLAGS, so
	 * fs/binfmt_elf.c writes 0 (its default); gdb then takes the float ABI
	 * from the executable, and the FP registers from NT_PRFPREG.
	 */
	.e_flags = 0,
	.ngreg = RISCV_NGREG,
	.prstatus_size = 376, /* sizeof(struct elf_prstatus): 112 + 256 + pr_fpvalid, pad */
	.prpsinfo_size = 136, /* sizeof(struct elf_prpsinfo), as every LP64 architecture */
	/*
	 * ELF_EXEC_PAGESIZE is PAGE_SIZE (arch/riscv/include/asm/elf.h), 4 KiB
	 * on riscv64 Linux; the process's page size comes from AT_PAGESZ.
	 */
	.page_size = 4096,
	.decode_thread = decode_thread,
};
