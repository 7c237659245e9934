/*
 * Stage 3, aarch64: a thread's registers from CRIU's thread_info_aarch64
 * (images/core-aarch64.proto; criu-image-format §2.2.4) in the layouts of
 * the kernel's regsets, in the order of aarch64_regsets[] in
 * arch/arm64/kernel/ptrace.c, which fill_thread_core_info (fs/binfmt_elf.c)
 * walks for every thread:
 *
 *   REGSET_GPR        NT_PRSTATUS        pr_reg = struct user_pt_regs
 *                                        (x0..x30, sp, pc, pstate; 34 words)
 *   REGSET_FPR        NT_FPREGSET  528   struct user_fpsimd_state: vregs[32]
 *                                        (__uint128_t), fpsr, fpcr, 2 x u32 pad
 *   REGSET_TLS        NT_ARM_TLS   16    TPIDR_EL0, then TPIDR2_EL0 or 8 zero
 *                                        bytes (tls_get; .n = 2 since SME
 *                                        support, Linux 6.3; earlier kernels
 *                                        wrote 8)
 *   REGSET_PAC_MASK   NT_ARM_PAC_MASK 16 struct user_pac_mask (see pac_mask)
 *   REGSET_PAC_ENABLED_KEYS NT_ARM_PAC_ENABLED_KEYS 8
 *   REGSET_PACA_KEYS  NT_ARM_PACA_KEYS 64 struct user_pac_address_keys
 *   REGSET_PACG_KEYS  NT_ARM_PACG_KEYS 16 struct user_pac_generic_keys
 *
 * Only these can be derived from the images. The kernel also writes, and the
 * images cannot give (so they are left out, as a gcore leaves out what it
 * cannot read):
 *   NT_ARM_HW_BREAK, NT_ARM_HW_WATCH (264 each): the debug architecture and
 *     slot counts of the host CPU and the thread's hardware breakpoints;
 *     CRIU saves neither (a checkpointed task has no debugger attached);
 *   NT_ARM_SYSTEM_CALL (4): pt_regs->syscallno, not saved;
 *   NT_ARM_SVE, NT_ARM_SSVE, NT_ARM_ZA, NT_ARM_ZT: CRIU saves no SVE/SME
 *     state (the FP/SIMD view is all there is; TPIDR2 is written as 0);
 *   NT_ARM_TAGGED_ADDR_CTRL (8): the PR_SET_TAGGED_ADDR_CTRL value, not saved;
 *   and, on newer kernels, NT_ARM_FPMR, NT_ARM_POE, NT_ARM_GCS.
 *
 * NT_ARM_TLS is written as 16 bytes, as current kernels do: gdb 13.1
 * (Debian 12's gdb-multiarch) sizes its TLS registers by the note, shows
 * tpidr and tpidr2 (0) and warns of nothing (tests/aarch64).
 */
#include <elf.h>
#include <string.h>

#include "arch.h"
#include "core.pb-c.h"
#include "util.h"

#ifndef EM_AARCH64
#define EM_AARCH64 183
#endif
/* Note types of include/uapi/linux/elf.h (older libc headers lack some). */
#ifndef NT_ARM_TLS
#define NT_ARM_TLS 0x401
#endif
#ifndef NT_ARM_PAC_MASK
#define NT_ARM_PAC_MASK 0x406
#endif
#ifndef NT_ARM_PACA_KEYS
#define NT_ARM_PACA_KEYS 0x407
#endif
#ifndef NT_ARM_PACG_KEYS
#define NT_ARM_PACG_KEYS 0x408
#endif
#ifndef NT_ARM_PAC_ENABLED_KEYS
#define NT_ARM_PAC_ENABLED_KEYS 0x40a
#endif

/* CoreEntry.mtype (images/core.proto enum march; doc §3.2). */
#define MTYPE_AARCH64 3

#define AARCH64_NXREG 31			 /* x0..x30 */
#define AARCH64_NGREG (AARCH64_NXREG + 3) /* + sp, pc, pstate: sizeof(user_pt_regs) / 8 */
#define FPSIMD_NVREG 32
#define FPSIMD_SIZE 528		     /* sizeof(struct user_fpsimd_state) */
#define FPSIMD_FPSR_OFF (FPSIMD_NVREG * 16) /* after vregs[32] */
#define TLS_SIZE 16		     /* tpidr, tpidr2 */
#define PAC_MASK_SIZE 16	     /* struct user_pac_mask { data_mask, insn_mask } */
#define PAC_ENABLED_KEYS_SIZE 8	     /* long */
#define PACA_KEYS_SIZE 64	     /* apia, apib, apda, apdb: __uint128_t each */
#define PACG_KEYS_SIZE 16	     /* apga */

/*
 * ptrauth_user_pac_mask() (arch/arm64/include/asm/pointer_auth.h) is
 * GENMASK_ULL(54, vabits_actual), the same for data and instructions. The
 * kernel's VA size is not in the images; 48 bits is the default of the
 * distributions' arm64 kernels (and of every 4 KiB-page kernel without
 * LVA). Stripping with this mask gives the same addresses as a 52-bit
 * kernel's mask for every user address below 2^48.
 */
#define PAC_VA_BITS 48
#define PAC_MASK (((1ULL << 55) - 1) & ~((1ULL << PAC_VA_BITS) - 1))

/* user_fpsimd_state: CRIU's vregs are already V0 low, V0 high, V1 low, ... */
static void build_fpsimd(const PbUserAarch64FpsimdContextEntry *fp, uint8_t *b)
{
	memset(b, 0, FPSIMD_SIZE);
	for (size_t i = 0; i < fp->n_vregs && i < 2 * FPSIMD_NVREG; i++)
		c2c_put64(b + 8 * i, fp->vregs[i]);
	c2c_put32(b + FPSIMD_FPSR_OFF, fp->fpsr);
	c2c_put32(b + FPSIMD_FPSR_OFF + 4, fp->fpcr);
}

/* The four pointer-authentication notes, from CRIU's pac_keys. */
static int add_pac(struct c2c_regs *ret, const PbPacKeys *pk)
{
	const PbPacAddressKeys *a = pk->pac_address_keys;
	const PbPacGenericKeys *g = pk->pac_generic_keys;
	uint8_t *b;

	if (a) {
		const uint64_t keys[8] = { a->apiakey_lo, a->apiakey_hi, a->apibkey_lo,
					   a->apibkey_hi, a->apdakey_lo, a->apdakey_hi,
					   a->apdbkey_lo, a->apdbkey_hi };

		/* pac_mask_get answers only when the CPU has address authentication. */
		b = c2c_regs_add_set(ret, "LINUX", NT_ARM_PAC_MASK, PAC_MASK_SIZE);
		if (!b)
			return -1;
		c2c_put64(b, PAC_MASK);
		c2c_put64(b + 8, PAC_MASK);
		if (a->has_pac_enabled_key) {
			b = c2c_regs_add_set(ret, "LINUX", NT_ARM_PAC_ENABLED_KEYS,
					     PAC_ENABLED_KEYS_SIZE);
			if (!b)
				return -1;
			c2c_put64(b, a->pac_enabled_key);
		}
		/* __uint128_t key = hi << 64 | lo, little endian: lo first. */
		b = c2c_regs_add_set(ret, "LINUX", NT_ARM_PACA_KEYS, PACA_KEYS_SIZE);
		if (!b)
			return -1;
		for (size_t i = 0; i < 8; i++)
			c2c_put64(b + 8 * i, keys[i]);
	}
	if (g) {
		b = c2c_regs_add_set(ret, "LINUX", NT_ARM_PACG_KEYS, PACG_KEYS_SIZE);
		if (!b)
			return -1;
		c2c_put64(b, g->apgakey_lo);
		c2c_put64(b + 8, g->apgakey_hi);
	}
	return 0;
}

static int decode_thread(struct c2c_ctx *ctx, const struct c2c_loc *loc,
			 const struct PbCoreEntry *ce, uint32_t tid, struct c2c_regs *ret,
			 bool *compat)
{
	const PbThreadInfoAarch64 *ti = ce->ti_aarch64;
	const PbUserAarch64RegsEntry *g;
	uint8_t *b;

	if (!ti || !ti->gpregs)
		return c2c_fail(ctx, loc, C2C_E_MISSING,
				"thread %u has no registers (ti_aarch64.gpregs)", tid);
	g = ti->gpregs;
	if (g->n_regs != AARCH64_NXREG)
		return c2c_fail(ctx, loc, C2C_E_INCONSISTENT,
				"thread %u has %zu general registers (ti_aarch64.gpregs.regs), "
				"not %u",
				tid, g->n_regs, AARCH64_NXREG);
	/* CRIU dumps 32-bit (AArch32) tasks of an arm64 kernel as ARM, never here. */
	*compat = false;
	*ret = (struct c2c_regs){ 0 };
	memcpy(ret->greg, g->regs, AARCH64_NXREG * sizeof(uint64_t));
	ret->greg[AARCH64_NXREG] = g->sp;
	ret->greg[AARCH64_NXREG + 1] = g->pc;
	ret->greg[AARCH64_NXREG + 2] = g->pstate;

	if (ti->fpsimd) {
		/* fill_thread_core_info sets pr_fpvalid when it writes NT_PRFPREG. */
		ret->fpvalid = true;
		b = c2c_regs_add_set(ret, "CORE", NT_FPREGSET, FPSIMD_SIZE);
		build_fpsimd(ti->fpsimd, b);
	}
	b = c2c_regs_add_set(ret, "LINUX", NT_ARM_TLS, TLS_SIZE);
	memset(b, 0, TLS_SIZE);
	c2c_put64(b, ti->tls);
	if (ti->pac_keys && add_pac(ret, ti->pac_keys) < 0)
		return c2c_fail(ctx, loc, C2C_E_LIMIT, "thread %u: too many register sets", tid);
	return 0;
}

const struct c2c_arch c2c_arch_aarch64 = {
	.name = "aarch64",
	.mtype = MTYPE_AARCH64,
	.e_machine = EM_AARCH64,
	.elfclass = ELFCLASS64,
	.ngreg = AARCH64_NGREG,
	.prstatus_size = 392, /* sizeof(struct elf_prstatus): 112 + 272 + pr_fpvalid, pad */
	.prpsinfo_size = 136, /* sizeof(struct elf_prpsinfo) */
	/*
	 * ELF_EXEC_PAGESIZE is PAGE_SIZE on arm64 (arch/arm64/include/asm/elf.h):
	 * 4, 16 or 64 KiB by kernel configuration. This is the default when the
	 * auxv has no AT_PAGESZ; the process's page size comes from AT_PAGESZ.
	 */
	.page_size = 4096,
	.decode_thread = decode_thread,
};
