/*
 * Stage 4, x86_64 specifics: the descriptors of NT_PRSTATUS, NT_PRPSINFO and
 * NT_X86_XSTATE. Layouts from the kernel's include/linux/elfcore.h and
 * arch/x86/include/asm/user_64.h, checked against BFD's
 * elf_x86_64_grok_prstatus/psinfo (elf-core-format §1.5, §2).
 */
#include <string.h>

#include "corebuild.h"
#include "util.h"

/* struct elf_prstatus offsets (x86_64, 336 bytes). */
#define PRS_SIGPEND 16
#define PRS_SIGHOLD 24
#define PRS_PID 32
#define PRS_PPID 36
#define PRS_PGRP 40
#define PRS_SID 44
#define PRS_REG 112
#define PRS_FPVALID 328

/* struct elf_prpsinfo offsets (x86_64, 136 bytes). */
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

/* XSAVE feature masks (arch/x86/include/asm/fpu/types.h; gdb x86-xstate.h). */
#define XFEATURE_SSE_MASK 0x3ULL     /* x87 | SSE */
#define XFEATURE_AVX_MASK 0x4ULL     /* YMM_Hi128 */
#define XFEATURE_MPX_MASK 0x18ULL    /* BNDREGS | BNDCSR */
#define XFEATURE_AVX512_MASK 0xe0ULL /* opmask | ZMM_Hi256 | Hi16_ZMM */
#define XFEATURE_PKRU_MASK 0x200ULL

/*
 * Offsets in the XSAVE area: software-usable bytes of the legacy region, where
 * the kernel's regset puts XCR0 (arch/x86/include/asm/user.h, "only the first
 * 8 bytes ... will be set to OS enabled xstate mask"), then the header.
 */
#define XSAVE_XCR0_OFF 464
#define XSAVE_HDR_OFF 512
#define XSAVE_HDR_SIZE 64

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

void c2c_x86_prstatus(const struct c2c_process *p, const struct c2c_thread *t,
		      uint8_t out[C2C_X86_PRSTATUS_SIZE])
{
	memset(out, 0, C2C_X86_PRSTATUS_SIZE);
	/*
	 * pr_info and pr_cursig stay 0: a checkpoint is not a crash, and gcore's
	 * cores of the same processes carry no signal either.
	 */
	put64(out + PRS_SIGPEND, t->sigpend);
	put64(out + PRS_SIGHOLD, t->sighold);
	put32(out + PRS_PID, t->tid);
	put32(out + PRS_PPID, p->ppid);
	put32(out + PRS_PGRP, p->pgid);
	put32(out + PRS_SID, p->sid);
	memcpy(out + PRS_REG, t->gpregs, sizeof(t->gpregs));
	put32(out + PRS_FPVALID, t->has_fpregs ? 1 : 0);
}

void c2c_x86_prpsinfo(const struct c2c_process *p, const char *fname, const char *psargs,
		      uint8_t out[C2C_X86_PRPSINFO_SIZE])
{
	/*
	 * The kernel's pr_state is ffz(~task_state) + 1 and pr_sname its letter
	 * in "RSDTZW" (fs/binfmt_elf.c fill_psinfo). CRIU only knows alive,
	 * stopped or dead; alive tasks are reported sleeping, as a checkpointed
	 * task was frozen out of whatever it did.
	 */
	static const char snames[] = "RSDTZW";
	int state = p->state == C2C_TASK_STOPPED ? 3 : p->state == C2C_TASK_DEAD ? 4 : 1;

	memset(out, 0, C2C_X86_PRPSINFO_SIZE);
	out[PRP_STATE] = (uint8_t)state;
	out[PRP_SNAME] = (uint8_t)snames[state];
	out[PRP_ZOMB] = p->state == C2C_TASK_DEAD;
	out[PRP_NICE] = (uint8_t)(int8_t)p->nice;
	put64(out + PRP_FLAG, p->pf_flags);
	put32(out + PRP_UID, p->uid);
	put32(out + PRP_GID, p->gid);
	put32(out + PRP_PID, p->pid);
	put32(out + PRP_PPID, p->ppid);
	put32(out + PRP_PGRP, p->pgid);
	put32(out + PRP_SID, p->sid);
	memcpy(out + PRP_FNAME, fname, strnlen(fname, 15));
	memcpy(out + PRP_PSARGS, psargs, strnlen(psargs, C2C_X86_PSARGS_MAX - 1));
}

/*
 * XCR0 is not in the images: derive it from the components CRIU saved
 * (fixtures README). gdb 13 and 14+ accept exactly the standard sizes for
 * that XCR0 with Intel offsets (elf-core-format §2.2-§2.3).
 */
size_t c2c_x86_xstate(const struct c2c_thread *t, uint8_t *out)
{
	uint64_t f = t->xfeatures, xcr0 = XFEATURE_SSE_MASK;
	size_t size = 576;

	if (f & XFEATURE_AVX_MASK) {
		xcr0 |= XFEATURE_AVX_MASK;
		size = 832;
	}
	if (f & XFEATURE_MPX_MASK) {
		xcr0 |= XFEATURE_MPX_MASK;
		size = 1088;
	}
	if (f & XFEATURE_AVX512_MASK) {
		xcr0 |= XFEATURE_AVX512_MASK | XFEATURE_AVX_MASK;
		size = 2688;
	}
	if (f & XFEATURE_PKRU_MASK) {
		xcr0 |= XFEATURE_PKRU_MASK;
		size = 2696;
	}
	memcpy(out, t->xsave, size);
	memset(out + XSAVE_XCR0_OFF, 0, XSAVE_HDR_OFF - XSAVE_XCR0_OFF);
	put64(out + XSAVE_XCR0_OFF, xcr0);
	memset(out + XSAVE_HDR_OFF, 0, XSAVE_HDR_SIZE); /* XCOMP_BV 0: standard format */
	put64(out + XSAVE_HDR_OFF, t->xstate_bv & xcr0);
	return size;
}
