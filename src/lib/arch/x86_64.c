/*
 * Stage 3, x86_64: a thread's registers from CRIU's thread_info_x86
 * (images/core-x86.proto; criu-image-format §2.2.1) in the layouts of the
 * kernel's regsets (arch/x86/kernel/ptrace.c x86_64_regsets):
 *   NT_PRSTATUS  user_regs_struct (arch/x86/include/asm/user_64.h)
 *   NT_PRFPREG   user_i387_struct, the FXSAVE image (512 bytes)
 *   NT_X86_XSTATE the XSAVE area in the standard (non-compacted) format
 * gdb 13 and 14+ accept exactly the standard sizes for the XCR0 written
 * here, with Intel's component offsets (elf-core-format §2.2-§2.3).
 *
 * ia32: a compat task (user_x86_regs_entry.mode COMPAT) gets what
 * compat_binfmt_elf writes with user_x86_32_view (arch/x86/kernel/ptrace.c
 * x86_32_regsets[]): an ELF32 EM_386 core whose threads have, in this order
 * (as a 6.18 kernel's core of a -m32 program has them, tests/arch/README.md):
 *   NT_PRSTATUS   i386 user_regs_struct, 17 words (ebx ... xss)
 *   NT_PRFPREG    user_i387_ia32_struct (108), convert_from_fxsr in
 *                 arch/x86/kernel/fpu/regset.c; owner CORE
 *   NT_PRXFPREG   the FXSAVE image (512), xfpregs_get; owner LINUX
 *   NT_X86_XSTATE as for x86_64; owner LINUX
 *   NT_386_TLS    3 x struct user_desc (GDT slots 12-14), regset_tls_get; only
 *                 when a slot is in use (regset_tls_active); owner LINUX
 * NT_386_IOPERM needs ioperm(2) state that CRIU does not save.
 */
#include <elf.h>
#include <string.h>

#include "arch.h"
#include "core.pb-c.h"
#include "util.h"

/* CoreEntry.mtype (images/core.proto enum march; doc §3.2). */
#define MTYPE_X86_64 1
/* user_x86_regs_entry.mode (doc §2.2.1). */
#define REGS_MODE_COMPAT 2

#define X86_64_NGREG 27 /* ELF_NGREG: sizeof(user_regs_struct) / 8 */
#define FXSAVE_SIZE 512	/* sizeof(struct user_i387_struct) */
#define IA32_NGREG 17	/* sizeof(struct user_regs_struct32) / 4 (asm/user32.h) */
#define I387_IA32_SIZE 108 /* sizeof(struct user_i387_ia32_struct), asm/user_32.h */
#define TLS_SLOTS 3	   /* GDT_ENTRY_TLS_ENTRIES, asm/segment.h */
#define TLS_FIRST 12	   /* GDT_ENTRY_TLS_MIN of a compat task (asm/segment.h, x86_64) */
#define USER_DESC_SIZE 16  /* sizeof(struct user_desc), uapi/asm/ldt.h */

/* XSAVE feature masks (arch/x86/include/asm/fpu/types.h; gdb x86-xstate.h). */
#define XFEATURE_SSE_MASK 0x3ULL     /* x87 | SSE */
#define XFEATURE_AVX_MASK 0x4ULL     /* YMM_Hi128 */
#define XFEATURE_MPX_MASK 0x18ULL    /* BNDREGS | BNDCSR */
#define XFEATURE_AVX512_MASK 0xe0ULL /* opmask | ZMM_Hi256 | Hi16_ZMM */
#define XFEATURE_PKRU_MASK 0x200ULL

/* Standard-format XSAVE component offsets (Intel SDM vol. 1 §13.4, CPUID 0xd). */
#define XSAVE_YMMH_OFF 576
#define XSAVE_BNDREGS_OFF 960
#define XSAVE_BNDCSR_OFF 1024
#define XSAVE_OPMASK_OFF 1088
#define XSAVE_ZMM_HI256_OFF 1152
#define XSAVE_HI16_ZMM_OFF 1664
#define XSAVE_PKRU_OFF 2688
#define XSAVE_MAX 2696 /* through PKRU */

/*
 * Software-usable bytes of the legacy region, where the kernel's regset puts
 * XCR0 (arch/x86/include/asm/user.h, "only the first 8 bytes ... will be set
 * to OS enabled xstate mask"), then the XSAVE header.
 */
#define XSAVE_XCR0_OFF 464
#define XSAVE_HDR_OFF 512
#define XSAVE_HDR_SIZE 64

static void copy_words32(uint8_t *dst, size_t max_words, const uint32_t *w, size_t n)
{
	for (size_t i = 0; i < n && i < max_words; i++)
		memcpy(dst + 4 * i, &w[i], 4);
}

static void copy_words64(uint8_t *dst, size_t max_words, const uint64_t *w, size_t n)
{
	for (size_t i = 0; i < n && i < max_words; i++)
		memcpy(dst + 8 * i, &w[i], 8);
}

static void put16(uint8_t *p, uint32_t v)
{
	uint16_t x = (uint16_t)v;

	memcpy(p, &x, 2);
}

/* The FXSAVE image, user_i387_struct (elf-core-format §1.5 NT_PRFPREG). */
static void build_fxsave(const PbUserX86FpregsEntry *fp, uint8_t *fx)
{
	memset(fx, 0, FXSAVE_SIZE);
	put16(fx + 0, fp->cwd);
	put16(fx + 2, fp->swd);
	put16(fx + 4, fp->twd);
	put16(fx + 6, fp->fop);
	memcpy(fx + 8, &fp->rip, 8);
	memcpy(fx + 16, &fp->rdp, 8);
	memcpy(fx + 24, &fp->mxcsr, 4);
	memcpy(fx + 28, &fp->mxcsr_mask, 4);
	copy_words32(fx + 32, 32, fp->st_space, fp->n_st_space);
	copy_words32(fx + 160, 64, fp->xmm_space, fp->n_xmm_space);
}

/*
 * The components CRIU saved (bit n = component n); x87 and SSE are always
 * part of the legacy area.
 */
static uint64_t xsave_features(const PbUserX86XsaveEntry *xs)
{
	/* Words CRIU saved of each component, by number (8, PT, never is). */
	const size_t saved[] = { [2] = xs->n_ymmh_space, [3] = xs->n_bndreg_state,
				 [4] = xs->n_bndcsr_state, [5] = xs->n_opmask_reg,
				 [6] = xs->n_zmm_upper, [7] = xs->n_hi16_zmm,
				 [9] = xs->n_pkru };
	uint64_t f = XFEATURE_SSE_MASK;

	for (size_t i = 0; i < C2C_ARRAY_SIZE(saved); i++)
		if (saved[i])
			f |= 1ULL << i;
	return f;
}

/*
 * XCR0 is not in the images: derive it from the components CRIU saved
 * (fixtures README), and with it the standard area size gdb expects.
 */
static size_t xstate_size(uint64_t f, uint64_t *xcr0)
{
	size_t size = 576;

	*xcr0 = XFEATURE_SSE_MASK;
	if (f & XFEATURE_AVX_MASK) {
		*xcr0 |= XFEATURE_AVX_MASK;
		size = 832;
	}
	if (f & XFEATURE_MPX_MASK) {
		*xcr0 |= XFEATURE_MPX_MASK;
		size = 1088;
	}
	if (f & XFEATURE_AVX512_MASK) {
		*xcr0 |= XFEATURE_AVX512_MASK | XFEATURE_AVX_MASK;
		size = 2688;
	}
	if (f & XFEATURE_PKRU_MASK) {
		*xcr0 |= XFEATURE_PKRU_MASK;
		size = XSAVE_MAX;
	}
	return size;
}

/*
 * NT_X86_XSTATE: CRIU's per-component arrays re-packed at the standard
 * offsets after the FXSAVE image, XCR0 in the software bytes, and a header
 * with XSTATE_BV masked by XCR0 and XCOMP_BV 0 (standard format).
 */
static void build_xstate(const PbUserX86XsaveEntry *xs, const uint8_t *fx, uint8_t *b,
			 size_t size, uint64_t xcr0)
{
	uint8_t full[XSAVE_MAX] = { 0 };

	memcpy(full, fx, FXSAVE_SIZE);
	copy_words32(full + XSAVE_YMMH_OFF, 64, xs->ymmh_space, xs->n_ymmh_space);
	copy_words64(full + XSAVE_BNDREGS_OFF, 8, xs->bndreg_state, xs->n_bndreg_state);
	copy_words64(full + XSAVE_BNDCSR_OFF, 8, xs->bndcsr_state, xs->n_bndcsr_state);
	copy_words64(full + XSAVE_OPMASK_OFF, 8, xs->opmask_reg, xs->n_opmask_reg);
	copy_words64(full + XSAVE_ZMM_HI256_OFF, 64, xs->zmm_upper, xs->n_zmm_upper);
	copy_words64(full + XSAVE_HI16_ZMM_OFF, 128, xs->hi16_zmm, xs->n_hi16_zmm);
	copy_words32(full + XSAVE_PKRU_OFF, 2, xs->pkru, xs->n_pkru);
	memcpy(b, full, size);
	memset(b + XSAVE_XCR0_OFF, 0, XSAVE_HDR_OFF - XSAVE_XCR0_OFF);
	c2c_put64(b + XSAVE_XCR0_OFF, xcr0);
	memset(b + XSAVE_HDR_OFF, 0, XSAVE_HDR_SIZE);
	c2c_put64(b + XSAVE_HDR_OFF, xs->xstate_bv & xcr0);
}

/*
 * user_i387_ia32_struct from the FXSAVE image, as convert_from_fxsr of a
 * 64-bit kernel: cwd and swd with the high half set, the full tag word
 * (twd_fxsr_to_i387), fip/foo the low halves of rip/rdp, fcs the task's cs
 * and fos its ds (the kernel has no selectors of the FPU's last operation in
 * 64-bit mode), then st0-st7 as 10-byte registers.
 */
static void build_i387_ia32(const uint8_t *fx, uint32_t cs, uint32_t ds, uint8_t *out)
{
	uint16_t cwd, swd;
	uint32_t tos, twd = 0xffff0000u;
	uint8_t ftw = fx[4];

	memcpy(&cwd, fx + 0, 2);
	memcpy(&swd, fx + 2, 2);
	tos = (swd >> 11) & 7;
	for (uint32_t i = 0; i < 8; i++) {
		/* physical register i is st((i - tos) & 7); 16-byte slots from offset 32 */
		const uint8_t *st = fx + 32 + 16 * ((i - tos) & 7);
		uint16_t sig[4], exp;
		uint32_t tag = 3; /* empty */

		memcpy(sig, st, 8);
		memcpy(&exp, st + 8, 2);
		if (ftw & (1u << i)) {
			if ((exp & 0x7fff) == 0x7fff)
				tag = 2; /* special */
			else if ((exp & 0x7fff) == 0)
				tag = (sig[0] | sig[1] | sig[2] | sig[3]) ? 2 : 1; /* special : zero */
			else
				tag = (sig[3] & 0x8000) ? 0 : 2; /* valid : special */
		}
		twd |= tag << (2 * i);
	}
	c2c_put32(out + 0, 0xffff0000u | cwd);
	c2c_put32(out + 4, 0xffff0000u | swd);
	c2c_put32(out + 8, twd);
	memcpy(out + 12, fx + 8, 4);  /* fip = rip */
	c2c_put32(out + 16, cs);      /* fcs */
	memcpy(out + 20, fx + 16, 4); /* foo = rdp */
	c2c_put32(out + 24, 0xffff0000u | ds); /* fos */
	for (size_t i = 0; i < 8; i++)
		memcpy(out + 28 + 10 * i, fx + 32 + 16 * i, 10);
}

/*
 * NT_386_TLS: the three GDT slots as struct user_desc, flags packed as the
 * bit-fields of uapi/asm/ldt.h (seg_32bit, contents:2, read_exec_only,
 * limit_in_pages, seg_not_present, useable). Slots CRIU did not list are
 * empty, as fill_user_desc shows an unused slot. Returns the slots in use.
 */
static int build_tls(struct c2c_ctx *ctx, const struct c2c_loc *loc, const PbThreadInfoX86 *ti,
		     uint32_t tid, uint8_t out[TLS_SLOTS * USER_DESC_SIZE], size_t *used)
{
	/* an empty slot: read_exec_only | seg_not_present */
	const uint32_t empty_flags = 0x28;

	*used = 0;
	for (uint32_t i = 0; i < TLS_SLOTS; i++) {
		c2c_put32(out + USER_DESC_SIZE * i, TLS_FIRST + i);
		memset(out + USER_DESC_SIZE * i + 4, 0, 8);
		c2c_put32(out + USER_DESC_SIZE * i + 12, empty_flags);
	}
	if (ti->n_tls > TLS_SLOTS)
		return c2c_fail(ctx, loc, C2C_E_INCONSISTENT,
				"thread %u has %zu TLS descriptors (thread_info.tls), more than %u",
				tid, ti->n_tls, TLS_SLOTS);
	for (size_t i = 0; i < ti->n_tls; i++) {
		const PbUserDescT *d = ti->tls[i];
		uint32_t slot = d->entry_number - TLS_FIRST, flags;
		uint8_t *p;

		if (d->entry_number < TLS_FIRST || slot >= TLS_SLOTS)
			return c2c_fail(ctx, loc, C2C_E_INCONSISTENT,
					"thread %u: TLS descriptor %zu is for GDT entry %u, not one "
					"of %u-%u (thread_info.tls)",
					tid, i, d->entry_number, TLS_FIRST, TLS_FIRST + TLS_SLOTS - 1);
		flags = (uint32_t)d->seg_32bit | (uint32_t)d->contents_h << 2 |
			(uint32_t)d->contents_l << 1 | (uint32_t)d->read_exec_only << 3 |
			(uint32_t)d->limit_in_pages << 4 | (uint32_t)d->seg_not_present << 5 |
			(uint32_t)d->useable << 6;
		p = out + USER_DESC_SIZE * slot;
		c2c_put32(p + 4, d->base_addr);
		c2c_put32(p + 8, d->limit);
		c2c_put32(p + 12, flags);
		if (d->base_addr || d->limit || flags != empty_flags)
			*used += 1;
	}
	return 0;
}

/* A compat task's registers, in the layouts of user_x86_32_view. */
static int decode_ia32(struct c2c_ctx *ctx, const struct c2c_loc *loc, const PbThreadInfoX86 *ti,
		       uint32_t tid, struct c2c_regs *ret)
{
	const PbUserX86RegsEntry *g = ti->gpregs;
	uint8_t tls[TLS_SLOTS * USER_DESC_SIZE], *b, *fx;
	size_t used;
	int r;

	{
		/* i386 user_regs_struct order; CRIU zero-extended each 32-bit value (doc §2.2.1) */
		const uint64_t regs[IA32_NGREG] = { g->bx, g->cx, g->dx,      g->si, g->di, g->bp,
						    g->ax, g->ds, g->es,      g->fs, g->gs, g->orig_ax,
						    g->ip, g->cs, g->flags, g->sp, g->ss };
		memcpy(ret->greg, regs, sizeof(regs));
	}
	r = build_tls(ctx, loc, ti, tid, tls, &used);
	if (r < 0)
		return r;
	if (ti->fpregs) {
		ret->fpvalid = true;
		b = c2c_regs_add_set(ret, "CORE", NT_PRFPREG, I387_IA32_SIZE);
		fx = c2c_regs_add_set(ret, "LINUX", NT_PRXFPREG, FXSAVE_SIZE);
		build_fxsave(ti->fpregs, fx);
		build_i387_ia32(fx, (uint32_t)g->cs, (uint32_t)g->ds, b);
		if (ti->fpregs->xsave) {
			uint64_t xcr0;
			size_t size = xstate_size(xsave_features(ti->fpregs->xsave), &xcr0);
			uint8_t *xb = c2c_regs_add_set(ret, "LINUX", NT_X86_XSTATE, (uint32_t)size);

			build_xstate(ti->fpregs->xsave, fx, xb, size, xcr0);
		}
	}
	if (used)
		memcpy(c2c_regs_add_set(ret, "LINUX", NT_386_TLS, sizeof(tls)), tls, sizeof(tls));
	return 0;
}

static int decode_thread(struct c2c_ctx *ctx, const struct c2c_loc *loc,
			 const struct PbCoreEntry *ce, uint32_t tid, struct c2c_regs *ret,
			 bool *compat)
{
	const PbThreadInfoX86 *ti = ce->thread_info;
	const PbUserX86RegsEntry *g;
	uint8_t *fx;

	if (!ti || !ti->gpregs)
		return c2c_fail(ctx, loc, C2C_E_MISSING,
				"thread %u has no registers (thread_info.gpregs)", tid);
	g = ti->gpregs;
	*compat = g->has_mode && g->mode == REGS_MODE_COMPAT;
	*ret = (struct c2c_regs){ 0 };
	if (*compat)
		return decode_ia32(ctx, loc, ti, tid, ret);
	{
		/* user_regs_struct order. */
		const uint64_t regs[X86_64_NGREG] = {
			g->r15, g->r14,	    g->r13, g->r12, g->bp,    g->bx,	  g->r11,
			g->r10, g->r9,	    g->r8,  g->ax,  g->cx,    g->dx,	  g->si,
			g->di,	g->orig_ax, g->ip,  g->cs,  g->flags, g->sp,	  g->ss,
			g->fs_base, g->gs_base, g->ds, g->es, g->fs, g->gs,
		};
		memcpy(ret->greg, regs, sizeof(regs));
	}
	if (!ti->fpregs)
		return 0;
	ret->fpvalid = true;
	fx = c2c_regs_add_set(ret, "CORE", NT_PRFPREG, FXSAVE_SIZE);
	build_fxsave(ti->fpregs, fx);
	if (ti->fpregs->xsave) {
		uint64_t xcr0;
		size_t size = xstate_size(xsave_features(ti->fpregs->xsave), &xcr0);
		uint8_t *xb = c2c_regs_add_set(ret, "LINUX", NT_X86_XSTATE, (uint32_t)size);

		build_xstate(ti->fpregs->xsave, fx, xb, size, xcr0);
	}
	return 0;
}

const struct c2c_arch c2c_arch_x86_64 = {
	.name = "x86_64",
	.mtype = MTYPE_X86_64,
	.e_machine = EM_X86_64,
	.elfclass = ELFCLASS64,
	.ngreg = X86_64_NGREG,
	.prstatus_size = 336, /* sizeof(struct elf_prstatus), include/linux/elfcore.h */
	.prpsinfo_size = 136, /* sizeof(struct elf_prpsinfo) */
	.page_size = 4096,    /* ELF_EXEC_PAGESIZE, arch/x86/include/asm/elf.h */
	.compat = &c2c_arch_ia32,
	.decode_thread = decode_thread,
};

/*
 * Not in c2c_arch_lookup's table: CoreEntry.mtype stays X86_64 for compat
 * tasks (doc §2.2.1); threads.c switches to it when decode_thread says compat.
 */
const struct c2c_arch c2c_arch_ia32 = {
	.name = "ia32",
	.mtype = MTYPE_X86_64,
	.e_machine = EM_386,
	.elfclass = ELFCLASS32,
	.e_flags = 0,	/* x86 defines no ELF_CORE_EFLAGS */
	.uid16 = true,	/* compat_elf_prpsinfo: __compat_uid_t is 16-bit */
	.ngreg = IA32_NGREG,
	.prstatus_size = 144, /* struct compat_elf_prstatus: 72 + pr_reg 68 + pr_fpvalid */
	.prpsinfo_size = 124, /* struct compat_elf_prpsinfo */
	.page_size = 4096,
	.decode_thread = decode_thread,
};
