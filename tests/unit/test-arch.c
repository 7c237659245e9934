/*
 * Unit tests of src/lib/arch/: the byte layout of NT_PRSTATUS and
 * NT_PRPSINFO (arch.c; include/linux/elfcore.h) and the x86_64 register
 * decoder (x86_64.c): user_regs_struct order, the FXSAVE image and
 * NT_X86_XSTATE in the Intel SDM standard XSAVE format; and the aarch64
 * decoder (aarch64.c): user_pt_regs in NT_PRSTATUS, user_fpsimd_state,
 * NT_ARM_TLS and the pointer-authentication notes; and the 32-bit arm
 * decoder (arm.c): the ILP32 NT_PRSTATUS (148) and NT_PRPSINFO (124, 16-bit
 * uid/gid), NT_PRFPREG (user_fp, 116) and NT_ARM_VFP (user_vfp, 260); and the
 * ppc64 decoder (ppc64.c): pt_regs in NT_PRSTATUS (504), NT_PRFPREG (264),
 * NT_PPC_VMX (544) and NT_PPC_VSX (256) in native_regsets[] order; and the
 * big-endian s390x decoder (s390x.c): s390_regs (336), NT_PRFPREG (136),
 * NT_S390_SYSTEM_CALL and the vector registers, every field big endian;
 * and x86_64's compat (ia32) tasks: the i386 notes of user_x86_32_view;
 * from CoreEntry messages built in memory. Every descriptor is written into a larger buffer
 * pre-filled with a canary byte, so writing past its size is caught too.
 */
#include <elf.h>
#include <stdlib.h>

#include "arch.h"
#include "core.pb-c.h"
#include "helpers.h"

#define X86_NGREG 27
#define XSAVE_MAX 2696

#define CANARY 0xa5

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static void assert_bytes(const uint8_t *p, size_t from, size_t to, uint8_t val)
{
	for (size_t i = from; i < to; i++)
		if (p[i] != val)
			fail_msg("byte %zu is 0x%02x, expected 0x%02x", i, p[i], val);
}

static void prstatus_layout(void **state)
{
	const struct c2c_arch *a = &c2c_arch_x86_64;
	struct c2c_task_info t = { .pid = 100, .tid = 101, .ppid = 7, .pgid = 90, .sid = 80,
				   .sigpend = 0x1122334455667788ULL,
				   .sighold = 0x0102030405060708ULL };
	struct c2c_regs regs = { .fpvalid = true };
	uint8_t out[336 + 16];

	(void)state;
	assert_int_equal(a->prstatus_size, 336);
	assert_int_equal(a->ngreg, X86_NGREG);
	for (int i = 0; i < X86_NGREG; i++)
		regs.greg[i] = 0xabc000 + (uint64_t)i;
	memset(out, CANARY, sizeof(out));
	c2c_arch_prstatus(a, &t, &regs, out);

	assert_bytes(out, 0, 16, 0); /* pr_info, pr_cursig: no signal */
	assert_int_equal(get64(out + 16), t.sigpend);
	assert_int_equal(get64(out + 24), t.sighold);
	assert_int_equal(get32(out + 32), 101); /* pr_pid is the thread's tid */
	assert_int_equal(get32(out + 36), 7);
	assert_int_equal(get32(out + 40), 90);
	assert_int_equal(get32(out + 44), 80);
	assert_bytes(out, 48, 112, 0); /* the four timevals */
	/* pr_reg in user_regs_struct order: r15 first ... gs last (27 words). */
	for (int i = 0; i < X86_NGREG; i++)
		assert_int_equal(get64(out + 112 + 8 * i), 0xabc000 + (uint64_t)i);
	assert_int_equal(112 + 8 * X86_NGREG, 328);
	assert_int_equal(get32(out + 328), 1); /* pr_fpvalid */
	assert_bytes(out, 332, 336, 0);	       /* tail padding */
	assert_bytes(out, 336, sizeof(out), CANARY);

	regs.fpvalid = false;
	c2c_arch_prstatus(a, &t, &regs, out);
	assert_int_equal(get32(out + 328), 0);
}

static void prpsinfo_layout(void **state)
{
	const struct c2c_arch *a = &c2c_arch_x86_64;
	struct c2c_task_info p = { .pid = 100, .tid = 100, .ppid = 7, .pgid = 90, .sid = 80,
				   .uid = 1000, .gid = 1001, .nice = -5, .pf_flags = 0x400040,
				   .state = C2C_TASK_ALIVE };
	uint8_t out[136 + 16];
	char psargs[C2C_PSARGS_MAX];

	(void)state;
	assert_int_equal(a->prpsinfo_size, 136);
	memset(out, CANARY, sizeof(out));
	c2c_arch_prpsinfo(a, &p, "sleeper", "sleeper -t 10", out);

	assert_int_equal(out[0], 1);   /* pr_state: sleeping */
	assert_int_equal(out[1], 'S'); /* pr_sname */
	assert_int_equal(out[2], 0);   /* pr_zomb */
	assert_int_equal((int8_t)out[3], -5);
	assert_bytes(out, 4, 8, 0);
	assert_int_equal(get64(out + 8), 0x400040);
	assert_int_equal(get32(out + 16), 1000);
	assert_int_equal(get32(out + 20), 1001);
	assert_int_equal(get32(out + 24), 100);
	assert_int_equal(get32(out + 28), 7);
	assert_int_equal(get32(out + 32), 90);
	assert_int_equal(get32(out + 36), 80);
	assert_string_equal((const char *)out + 40, "sleeper");
	assert_bytes(out, 40 + 7, 56, 0);
	assert_string_equal((const char *)out + 56, "sleeper -t 10");
	assert_bytes(out, 56 + 13, 136, 0);
	assert_bytes(out, 136, sizeof(out), CANARY);

	/* Long names are cut to leave a NUL: fname 15 bytes, psargs 79. */
	memset(psargs, 'a', sizeof(psargs));
	psargs[sizeof(psargs) - 1] = '\0';
	p.state = C2C_TASK_DEAD;
	c2c_arch_prpsinfo(a, &p, "a-very-long-executable-name", psargs, out);
	assert_int_equal(out[0], 4);
	assert_int_equal(out[1], 'Z');
	assert_int_equal(out[2], 1);
	assert_string_equal((const char *)out + 40, "a-very-long-exe");
	assert_int_equal(strlen((const char *)out + 56), 79);
	assert_int_equal(out[135], 0);
	assert_bytes(out, 136, sizeof(out), CANARY);

	p.state = C2C_TASK_STOPPED;
	c2c_arch_prpsinfo(a, &p, "x", "", out);
	assert_int_equal(out[0], 3);
	assert_int_equal(out[1], 'T');
	assert_int_equal(out[2], 0);
}

/* An arm CoreEntry with r<n> = 0x1000 + n ..., orig_r0, d<n> = 0x5000 + n. */
struct arm_entry {
	uint64_t d[32];
	PbUserArmRegsEntry g;
	PbUserArmVfpstateEntry fp;
	PbThreadInfoArm ti;
	PbCoreEntry ce;
};

static void arm_entry_init(struct arm_entry *e)
{
	*e = (struct arm_entry){ .g = PB_USER_ARM_REGS_ENTRY__INIT,
				 .fp = PB_USER_ARM_VFPSTATE_ENTRY__INIT,
				 .ti = PB_THREAD_INFO_ARM__INIT,
				 .ce = PB_CORE_ENTRY__INIT };
	e->g.r0 = 0x1000;
	e->g.r1 = 0x1001;
	e->g.r2 = 0x1002;
	e->g.r3 = 0x1003;
	e->g.r4 = 0x1004;
	e->g.r5 = 0x1005;
	e->g.r6 = 0x1006;
	e->g.r7 = 0x1007;
	e->g.r8 = 0x1008;
	e->g.r9 = 0x1009;
	e->g.r10 = 0x100a;
	e->g.fp = 0x100b;
	e->g.ip = 0x100c;
	e->g.sp = 0x100d;
	e->g.lr = 0x100e;
	e->g.pc = 0x100f;
	e->g.cpsr = 0x60000010;
	e->g.orig_r0 = 0xffffffff;
	for (int i = 0; i < 32; i++)
		e->d[i] = 0x0123456700005000ULL + (uint64_t)i;
	e->fp.vfp_regs = e->d;
	e->fp.n_vfp_regs = 32;
	e->fp.fpscr = 0x03000010;
	e->fp.fpexc = 0x40000000; /* not part of NT_ARM_VFP */
	e->fp.fpinst = 0xee000a00;
	e->ti.tls = 0x76fff4c0;
	e->ti.gpregs = &e->g;
	e->ti.fpstate = &e->fp;
	e->ce.mtype = 2;
	e->ce.ti_arm = &e->ti;
}

static void arm_prstatus(void **state)
{
	const struct c2c_arch *a = &c2c_arch_arm;
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct c2c_task_info t = { .pid = 300, .tid = 301, .ppid = 1, .pgid = 290, .sid = 280,
				   .sigpend = 0x1122334455667788ULL,
				   .sighold = 0x0102030405060708ULL };
	struct c2c_regs regs;
	struct arm_entry e;
	uint8_t out[148 + 16];
	bool compat = true;

	(void)state;
	arm_entry_init(&e);
	assert_ptr_equal(c2c_arch_lookup(ctx, NULL, 2), a);
	assert_int_equal(a->e_machine, EM_ARM);
	assert_int_equal(a->elfclass, ELFCLASS32);
	assert_int_equal(a->e_flags, 0);
	assert_int_equal(c2c_arch_long(a), 4);
	assert_int_equal(c2c_arch_long(&c2c_arch_aarch64), 8);
	assert_int_equal(c2c_arch_long(&c2c_arch_x86_64), 8);
	assert_int_equal(a->ngreg, 18);
	assert_int_equal(a->prstatus_size, 148);
	assert_int_equal(a->prpsinfo_size, 124);
	assert_int_equal(a->page_size, 4096);
	assert_int_equal(a->decode_thread(ctx, NULL, &e.ce, 301, &regs, &compat), 0);
	assert_false(compat);
	assert_true(regs.fpvalid);
	memset(out, CANARY, sizeof(out));
	c2c_arch_prstatus(a, &t, &regs, out);
	assert_bytes(out, 0, 16, 0); /* pr_info, pr_cursig */
	/* 32-bit longs: sig[0] of each mask, the low 32 signals. */
	assert_int_equal(get32(out + 16), 0x55667788);
	assert_int_equal(get32(out + 20), 0x05060708);
	assert_int_equal(get32(out + 24), 301); /* pr_pid */
	assert_int_equal(get32(out + 28), 1);
	assert_int_equal(get32(out + 32), 290);
	assert_int_equal(get32(out + 36), 280);
	assert_bytes(out, 40, 72, 0); /* four timevals of two 32-bit longs */
	/* pr_reg at 72: r0..r10, fp, ip, sp, lr, pc, cpsr, orig_r0. */
	for (int i = 0; i < 16; i++)
		assert_int_equal(get32(out + 72 + 4 * i), 0x1000 + (uint32_t)i);
	assert_int_equal(get32(out + 72 + 4 * 16), 0x60000010);
	assert_int_equal(get32(out + 72 + 4 * 17), 0xffffffff);
	assert_int_equal(72 + 4 * 18, 144);
	assert_int_equal(get32(out + 144), 1); /* pr_fpvalid, no tail padding */
	assert_bytes(out, 148, sizeof(out), CANARY);
	c2c_ctx_free(ctx);
}

static void arm_prpsinfo(void **state)
{
	const struct c2c_arch *a = &c2c_arch_arm;
	struct c2c_task_info p = { .pid = 300, .tid = 300, .ppid = 7, .pgid = 290, .sid = 280,
				   .uid = 1000, .gid = 1001, .nice = 3,
				   .pf_flags = 0x1100400040ULL, .state = C2C_TASK_ALIVE };
	uint8_t out[124 + 16];
	char psargs[C2C_PSARGS_MAX];

	(void)state;
	memset(out, CANARY, sizeof(out));
	c2c_arch_prpsinfo(a, &p, "st-static", "./st-static x", out);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 'S');
	assert_int_equal(out[2], 0);
	assert_int_equal(out[3], 3);
	assert_int_equal(get32(out + 4), 0x00400040); /* pr_flag: a 32-bit long */
	assert_int_equal(get16(out + 8), 1000);	      /* pr_uid: unsigned short */
	assert_int_equal(get16(out + 10), 1001);      /* pr_gid */
	assert_int_equal(get32(out + 12), 300);
	assert_int_equal(get32(out + 16), 7);
	assert_int_equal(get32(out + 20), 290);
	assert_int_equal(get32(out + 24), 280);
	assert_string_equal((const char *)out + 28, "st-static");
	assert_bytes(out, 28 + 9, 44, 0);
	assert_string_equal((const char *)out + 44, "./st-static x");
	assert_bytes(out, 44 + 13, 124, 0);
	assert_bytes(out, 124, sizeof(out), CANARY);

	/* IDs above 65535 are munged to overflowuid/overflowgid (65534). */
	p.uid = 100000;
	p.gid = 65535;
	memset(psargs, 'a', sizeof(psargs));
	psargs[sizeof(psargs) - 1] = '\0';
	c2c_arch_prpsinfo(a, &p, "a-very-long-executable-name", psargs, out);
	assert_int_equal(get16(out + 8), 65534);
	assert_int_equal(get16(out + 10), 65535);
	assert_string_equal((const char *)out + 28, "a-very-long-exe");
	assert_int_equal(strlen((const char *)out + 44), 79);
	assert_int_equal(out[123], 0);
	assert_bytes(out, 124, sizeof(out), CANARY);
}

static void arm_fp_vfp(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct c2c_regs regs;
	struct arm_entry e;
	const uint8_t *vfp;
	bool compat;

	(void)state;
	arm_entry_init(&e);
	assert_int_equal(c2c_arch_arm.decode_thread(ctx, NULL, &e.ce, 1, &regs, &compat), 0);
	/* arm_regsets order: NT_PRFPREG (user_fp, CORE), then NT_ARM_VFP (LINUX); no TLS note. */
	assert_int_equal(regs.nsets, 2);
	assert_int_equal(regs.sets[0].type, NT_PRFPREG);
	assert_string_equal(regs.sets[0].name, "CORE");
	assert_int_equal(regs.sets[0].len, 116);
	assert_bytes(regs.data + regs.sets[0].off, 0, 116, 0); /* no FPA state */
	assert_int_equal(regs.sets[1].type, 0x400); /* NT_ARM_VFP */
	assert_string_equal(regs.sets[1].name, "LINUX");
	assert_int_equal(regs.sets[1].len, 260);
	vfp = regs.data + regs.sets[1].off;
	for (int i = 0; i < 32; i++)
		assert_int_equal(get64(vfp + 8 * i), 0x0123456700005000ULL + (uint64_t)i);
	assert_int_equal(get32(vfp + 256), 0x03000010); /* fpscr; fpexc etc. not written */

	/* A D16 unit's 16 registers: d16..d31 zero. */
	e.fp.n_vfp_regs = 16;
	assert_int_equal(c2c_arch_arm.decode_thread(ctx, NULL, &e.ce, 1, &regs, &compat), 0);
	vfp = regs.data + regs.sets[1].off;
	assert_int_equal(get64(vfp + 8 * 15), 0x0123456700005000ULL + 15);
	assert_bytes(vfp, 8 * 16, 256, 0);
	assert_int_equal(get32(vfp + 256), 0x03000010);

	/* No VFP state: only NT_PRFPREG, which the kernel always writes. */
	e.ti.fpstate = NULL;
	assert_int_equal(c2c_arch_arm.decode_thread(ctx, NULL, &e.ce, 1, &regs, &compat), 0);
	assert_true(regs.fpvalid);
	assert_int_equal(regs.nsets, 1);
	assert_int_equal(regs.sets[0].type, NT_PRFPREG);

	/* Too many VFP registers, or none at all, are errors naming the thread. */
	e.ti.fpstate = &e.fp;
	e.fp.n_vfp_regs = 33;
	assert_int_equal(c2c_arch_arm.decode_thread(ctx, NULL, &e.ce, 9, &regs, &compat),
			 C2C_E_INCONSISTENT);
	assert_non_null(strstr(c2c_errmsg(ctx), "thread 9 has 33 VFP registers"));
	c2c_ctx_free(ctx);
	ctx = c2c_ctx_new();
	e.ce.ti_arm = NULL;
	assert_int_equal(c2c_arch_arm.decode_thread(ctx, NULL, &e.ce, 9, &regs, &compat),
			 C2C_E_MISSING);
	assert_string_equal(c2c_errmsg(ctx), "thread 9 has no registers (ti_arm.gpregs)");
	c2c_ctx_free(ctx);
}

/* xsave[i] = pattern(i): non-zero almost everywhere, different per offset. */
static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 7 + 1 + i / 251);
}

/* Bytes [off, off + size) of the standard XSAVE area, in a new buffer (malloc aligns it). */
static void *area(size_t off, size_t size)
{
	uint8_t *b = malloc(size);

	assert_non_null(b);
	for (size_t i = 0; i < size; i++)
		b[i] = pattern(off + i);
	return b;
}

/* The n words at off, as CRIU stores them. */
static uint32_t *words32(size_t off, size_t n)
{
	return area(off, 4 * n);
}

static uint64_t *words64(size_t off, size_t n)
{
	return area(off, 8 * n);
}

/*
 * Decode a thread whose CoreEntry holds the XSAVE components of features
 * (bit n = component n), filled with pattern(); check the FXSAVE note, the
 * size of the NT_X86_XSTATE note and the layout every size shares.
 */
static uint8_t *xstate(uint64_t features, uint64_t xstate_bv, size_t want_size, uint64_t want_xcr0)
{
	PbUserX86RegsEntry g = PB_USER_X86_REGS_ENTRY__INIT;
	PbUserX86XsaveEntry xs = PB_USER_X86_XSAVE_ENTRY__INIT;
	PbUserX86FpregsEntry fp = PB_USER_X86_FPREGS_ENTRY__INIT;
	PbThreadInfoX86 ti = PB_THREAD_INFO_X86__INIT;
	PbCoreEntry ce = PB_CORE_ENTRY__INIT;
	struct c2c_regs *regs = calloc(1, sizeof(*regs));
	struct c2c_ctx *ctx = c2c_ctx_new();
	uint8_t *out = malloc(XSAVE_MAX + 64);
	const uint8_t *fx, *x;
	bool compat = true;

	assert_non_null(regs);
	assert_non_null(out);
	/* The legacy area: 32 words of st_space at 32, 64 of xmm_space at 160. */
	fp.st_space = words32(32, 32);
	fp.n_st_space = 32;
	fp.xmm_space = words32(160, 64);
	fp.n_xmm_space = 64;
	fp.mxcsr = 0x1f80;
	fp.xsave = &xs;
	xs.xstate_bv = xstate_bv;
	if (features & 0x4)
		xs.ymmh_space = words32(576, xs.n_ymmh_space = 64);
	if (features & 0x8)
		xs.bndreg_state = words64(960, xs.n_bndreg_state = 8);
	if (features & 0x10)
		xs.bndcsr_state = words64(1024, xs.n_bndcsr_state = 8);
	if (features & 0x20)
		xs.opmask_reg = words64(1088, xs.n_opmask_reg = 8);
	if (features & 0x40)
		xs.zmm_upper = words64(1152, xs.n_zmm_upper = 64);
	if (features & 0x80)
		xs.hi16_zmm = words64(1664, xs.n_hi16_zmm = 128);
	if (features & 0x200)
		xs.pkru = words32(2688, xs.n_pkru = 2);
	ti.gpregs = &g;
	ti.fpregs = &fp;
	ce.mtype = 1;
	ce.thread_info = &ti;

	assert_int_equal(c2c_arch_x86_64.decode_thread(ctx, NULL, &ce, 1, regs, &compat), 0);
	assert_false(compat);
	assert_true(regs->fpvalid);
	assert_int_equal(regs->nsets, 2);
	assert_int_equal(regs->sets[0].type, NT_PRFPREG);
	assert_string_equal(regs->sets[0].name, "CORE");
	assert_int_equal(regs->sets[0].len, 512);
	assert_int_equal(regs->sets[1].type, NT_X86_XSTATE);
	assert_string_equal(regs->sets[1].name, "LINUX");
	assert_int_equal(regs->sets[1].len, want_size);
	fx = regs->data + regs->sets[0].off;
	x = regs->data + regs->sets[1].off;
	assert_int_equal(get32(fx + 24), 0x1f80); /* mxcsr */
	memset(out, CANARY, XSAVE_MAX + 64);
	memcpy(out, x, want_size);
	/* The FXSAVE image begins the XSAVE area. */
	assert_memory_equal(out, fx, 464);
	for (size_t i = 32; i < 416; i++)
		if (out[i] != pattern(i))
			fail_msg("legacy byte %zu is not the image's", i);
	assert_int_equal(get64(out + 464), want_xcr0); /* "XCR0" in sw_reserved */
	assert_bytes(out, 472, 512, 0);
	assert_int_equal(get64(out + 512), xstate_bv & want_xcr0); /* XSTATE_BV */
	assert_int_equal(get64(out + 520), 0);			   /* XCOMP_BV: standard */
	assert_bytes(out, 528, 576, 0);
	assert_bytes(out, want_size, XSAVE_MAX + 64, CANARY);

	free(fp.st_space);
	free(fp.xmm_space);
	free(xs.ymmh_space);
	free(xs.bndreg_state);
	free(xs.bndcsr_state);
	free(xs.opmask_reg);
	free(xs.zmm_upper);
	free(xs.hi16_zmm);
	free(xs.pkru);
	free(regs);
	c2c_ctx_free(ctx);
	return out;
}

/* Component bytes [from, to) are the image's, at their standard offsets. */
static void assert_component(const uint8_t *out, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (out[i] != pattern(i))
			fail_msg("component byte %zu is 0x%02x, not the image's 0x%02x", i, out[i],
				 pattern(i));
}

static void gpregs_order_and_compat(void **state)
{
	PbUserX86RegsEntry g = PB_USER_X86_REGS_ENTRY__INIT;
	PbThreadInfoX86 ti = PB_THREAD_INFO_X86__INIT;
	PbCoreEntry ce = PB_CORE_ENTRY__INIT;
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct c2c_regs regs;
	bool compat = true;

	(void)state;
	g.r15 = 1, g.ip = 17, g.gs = 27, g.orig_ax = 16, g.fs_base = 22;
	ti.gpregs = &g;
	ce.mtype = 1;
	ce.thread_info = &ti;
	assert_int_equal(c2c_arch_x86_64.decode_thread(ctx, NULL, &ce, 5, &regs, &compat), 0);
	assert_false(compat);
	assert_false(regs.fpvalid); /* no fpregs: no NT_PRFPREG, pr_fpvalid 0 */
	assert_int_equal(regs.nsets, 0);
	/* user_regs_struct: r15 is word 0, orig_ax 15, ip 16, fs_base 21, gs 26. */
	assert_int_equal(regs.greg[0], 1);
	assert_int_equal(regs.greg[15], 16);
	assert_int_equal(regs.greg[16], 17);
	assert_int_equal(regs.greg[21], 22);
	assert_int_equal(regs.greg[26], 27);

	g.has_mode = true;
	g.mode = 2; /* REGS_MODE_COMPAT */
	assert_int_equal(c2c_arch_x86_64.decode_thread(ctx, NULL, &ce, 5, &regs, &compat), 0);
	assert_true(compat);

	ti.gpregs = NULL;
	assert_int_equal(c2c_arch_x86_64.decode_thread(ctx, NULL, &ce, 5, &regs, &compat),
			 C2C_E_MISSING);
	assert_string_equal(c2c_errmsg(ctx), "thread 5 has no registers (thread_info.gpregs)");
	c2c_ctx_free(ctx);
}

static void unsupported_mtype(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();

	(void)state;
	assert_ptr_equal(c2c_arch_lookup(ctx, NULL, 1), &c2c_arch_x86_64);
	assert_null(c2c_arch_lookup(ctx, NULL, 6));
	assert_int_equal(c2c_errcode(ctx), C2C_E_UNSUPPORTED);
	assert_non_null(strstr(c2c_errmsg(ctx), "architecture mips (CoreEntry.mtype 6)"));
	assert_non_null(strstr(c2c_errmsg(ctx), "only x86_64 (1), arm (2), aarch64 (3), ppc64 (4), "
						"s390 (5) and riscv64 (8) are"));
	c2c_ctx_free(ctx);
}

/* An aarch64 CoreEntry with x<n> = 0x1000 + n, sp, pc, pstate, vregs[i] = 0x5000 + i. */
struct a64_entry {
	uint64_t x[31], vregs[64];
	PbUserAarch64RegsEntry g;
	PbUserAarch64FpsimdContextEntry fp;
	PbThreadInfoAarch64 ti;
	PbCoreEntry ce;
};

static void a64_entry_init(struct a64_entry *e)
{
	*e = (struct a64_entry){ .g = PB_USER_AARCH64_REGS_ENTRY__INIT,
				 .fp = PB_USER_AARCH64_FPSIMD_CONTEXT_ENTRY__INIT,
				 .ti = PB_THREAD_INFO_AARCH64__INIT,
				 .ce = PB_CORE_ENTRY__INIT };
	for (int i = 0; i < 31; i++)
		e->x[i] = 0x1000 + (uint64_t)i;
	for (int i = 0; i < 64; i++)
		e->vregs[i] = 0x5000 + (uint64_t)i;
	e->g.regs = e->x;
	e->g.n_regs = 31;
	e->g.sp = 0xfffffffff000;
	e->g.pc = 0x400123;
	e->g.pstate = 0x60001000;
	e->fp.vregs = e->vregs;
	e->fp.n_vregs = 64;
	e->fp.fpsr = 0x8000009f;
	e->fp.fpcr = 0x03c00000;
	e->ti.tls = 0xffffb7fff020ULL;
	e->ti.gpregs = &e->g;
	e->ti.fpsimd = &e->fp;
	e->ce.mtype = 3;
	e->ce.ti_aarch64 = &e->ti;
}

static void aarch64_prstatus(void **state)
{
	const struct c2c_arch *a = &c2c_arch_aarch64;
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct c2c_task_info t = { .pid = 200, .tid = 201, .ppid = 1, .pgid = 200, .sid = 200 };
	struct c2c_regs regs;
	struct a64_entry e;
	uint8_t out[392 + 16];
	bool compat = true;

	(void)state;
	a64_entry_init(&e);
	assert_ptr_equal(c2c_arch_lookup(ctx, NULL, 3), a);
	assert_int_equal(a->e_machine, EM_AARCH64);
	assert_int_equal(a->ngreg, 34);
	assert_int_equal(a->prstatus_size, 392);
	assert_int_equal(a->prpsinfo_size, 136);
	assert_int_equal(a->decode_thread(ctx, NULL, &e.ce, 201, &regs, &compat), 0);
	assert_false(compat);
	assert_true(regs.fpvalid);
	memset(out, CANARY, sizeof(out));
	c2c_arch_prstatus(a, &t, &regs, out);
	assert_int_equal(get32(out + 32), 201);
	/* pr_reg at 112: x0..x30, sp, pc, pstate (struct user_pt_regs). */
	for (int i = 0; i < 31; i++)
		assert_int_equal(get64(out + 112 + 8 * i), 0x1000 + (uint64_t)i);
	assert_int_equal(get64(out + 112 + 8 * 31), 0xfffffffff000);
	assert_int_equal(get64(out + 112 + 8 * 32), 0x400123);
	assert_int_equal(get64(out + 112 + 8 * 33), 0x60001000);
	assert_int_equal(112 + 8 * 34, 384);
	assert_int_equal(get32(out + 384), 1); /* pr_fpvalid */
	assert_bytes(out, 388, 392, 0);
	assert_bytes(out, 392, sizeof(out), CANARY);
	c2c_ctx_free(ctx);
}

static void aarch64_fpsimd_tls(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct c2c_regs regs;
	struct a64_entry e;
	const uint8_t *fp, *tls;
	bool compat;

	(void)state;
	a64_entry_init(&e);
	assert_int_equal(c2c_arch_aarch64.decode_thread(ctx, NULL, &e.ce, 1, &regs, &compat), 0);
	/* Kernel regset order: NT_PRFPREG (owner CORE), then NT_ARM_TLS (LINUX). */
	assert_int_equal(regs.nsets, 2);
	assert_int_equal(regs.sets[0].type, NT_FPREGSET);
	assert_string_equal(regs.sets[0].name, "CORE");
	assert_int_equal(regs.sets[0].len, 528);
	assert_int_equal(regs.sets[1].type, 0x401); /* NT_ARM_TLS */
	assert_string_equal(regs.sets[1].name, "LINUX");
	assert_int_equal(regs.sets[1].len, 16);
	fp = regs.data + regs.sets[0].off;
	/* V0 = vregs[0] (low) | vregs[1] (high) at 0, V31 at 496. */
	for (int i = 0; i < 64; i++)
		assert_int_equal(get64(fp + 8 * i), 0x5000 + (uint64_t)i);
	assert_int_equal(get32(fp + 512), 0x8000009f); /* fpsr */
	assert_int_equal(get32(fp + 516), 0x03c00000); /* fpcr */
	assert_bytes(fp, 520, 528, 0);		       /* __reserved[2] */
	tls = regs.data + regs.sets[1].off;
	assert_int_equal(get64(tls), 0xffffb7fff020ULL); /* tpidr */
	assert_bytes(tls, 8, 16, 0);			 /* tpidr2: not in the images */

	/* No FP/SIMD state: no NT_PRFPREG, pr_fpvalid 0, TLS still written. */
	e.ti.fpsimd = NULL;
	assert_int_equal(c2c_arch_aarch64.decode_thread(ctx, NULL, &e.ce, 1, &regs, &compat), 0);
	assert_false(regs.fpvalid);
	assert_int_equal(regs.nsets, 1);
	assert_int_equal(regs.sets[0].type, 0x401);

	/* Missing or short register sets are errors naming the thread. */
	e.g.n_regs = 30;
	assert_int_equal(c2c_arch_aarch64.decode_thread(ctx, NULL, &e.ce, 7, &regs, &compat),
			 C2C_E_INCONSISTENT);
	assert_non_null(strstr(c2c_errmsg(ctx), "thread 7 has 30 general registers"));
	c2c_ctx_free(ctx);
	ctx = c2c_ctx_new(); /* the first error of a context is kept */
	e.ce.ti_aarch64 = NULL;
	assert_int_equal(c2c_arch_aarch64.decode_thread(ctx, NULL, &e.ce, 7, &regs, &compat),
			 C2C_E_MISSING);
	assert_string_equal(c2c_errmsg(ctx), "thread 7 has no registers (ti_aarch64.gpregs)");
	c2c_ctx_free(ctx);
}

static void aarch64_pac(void **state)
{
	PbPacAddressKeys ak = PB_PAC_ADDRESS_KEYS__INIT;
	PbPacGenericKeys gk = PB_PAC_GENERIC_KEYS__INIT;
	PbPacKeys pk = PB_PAC_KEYS__INIT;
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct c2c_regs regs;
	struct a64_entry e;
	const uint8_t *b;
	bool compat;

	(void)state;
	a64_entry_init(&e);
	ak.apiakey_lo = 0x11, ak.apiakey_hi = 0x12, ak.apibkey_lo = 0x21, ak.apibkey_hi = 0x22;
	ak.apdakey_lo = 0x31, ak.apdakey_hi = 0x32, ak.apdbkey_lo = 0x41, ak.apdbkey_hi = 0x42;
	ak.has_pac_enabled_key = true;
	ak.pac_enabled_key = 0xf;
	gk.apgakey_lo = 0x51, gk.apgakey_hi = 0x52;
	pk.pac_address_keys = &ak;
	pk.pac_generic_keys = &gk;
	e.ti.pac_keys = &pk;
	assert_int_equal(c2c_arch_aarch64.decode_thread(ctx, NULL, &e.ce, 1, &regs, &compat), 0);
	/* ... TLS, then PAC_MASK, PAC_ENABLED_KEYS, PACA_KEYS, PACG_KEYS. */
	assert_int_equal(regs.nsets, 6);
	assert_int_equal(regs.sets[2].type, 0x406);
	assert_int_equal(regs.sets[2].len, 16);
	b = regs.data + regs.sets[2].off;
	assert_int_equal(get64(b), 0x007f000000000000ULL); /* GENMASK(54, 48) */
	assert_int_equal(get64(b + 8), 0x007f000000000000ULL);
	assert_int_equal(regs.sets[3].type, 0x40a);
	assert_int_equal(regs.sets[3].len, 8);
	assert_int_equal(get64(regs.data + regs.sets[3].off), 0xf);
	assert_int_equal(regs.sets[4].type, 0x407);
	assert_int_equal(regs.sets[4].len, 64);
	b = regs.data + regs.sets[4].off;
	assert_int_equal(get64(b), 0x11); /* apiakey low half first */
	assert_int_equal(get64(b + 8), 0x12);
	assert_int_equal(get64(b + 56), 0x42);
	assert_int_equal(regs.sets[5].type, 0x408);
	assert_int_equal(regs.sets[5].len, 16);
	b = regs.data + regs.sets[5].off;
	assert_int_equal(get64(b), 0x51);
	assert_int_equal(get64(b + 8), 0x52);
	for (size_t i = 0; i < regs.nsets; i++)
		assert_string_equal(regs.sets[i].name, i ? "LINUX" : "CORE");
	c2c_ctx_free(ctx);
}

/* A ppc64 CoreEntry with r<n> = 0x2000 + n, fpr[i] = 0x3000 + i, vrregs[i] = 0x4000 + i. */
struct ppc_entry {
	uint64_t gpr[32], fpr[33], vr[66], vsx[32];
	PbUserPpc64RegsEntry g;
	PbUserPpc64FpstateEntry fp;
	PbUserPpc64VrstateEntry vmx;
	PbUserPpc64VsxstateEntry vs;
	PbThreadInfoPpc64 ti;
	PbCoreEntry ce;
};

static void ppc_entry_init(struct ppc_entry *e)
{
	*e = (struct ppc_entry){ .g = PB_USER_PPC64_REGS_ENTRY__INIT,
				 .fp = PB_USER_PPC64_FPSTATE_ENTRY__INIT,
				 .vmx = PB_USER_PPC64_VRSTATE_ENTRY__INIT,
				 .vs = PB_USER_PPC64_VSXSTATE_ENTRY__INIT,
				 .ti = PB_THREAD_INFO_PPC64__INIT,
				 .ce = PB_CORE_ENTRY__INIT };
	for (int i = 0; i < 32; i++) {
		e->gpr[i] = 0x2000 + (uint64_t)i;
		e->vsx[i] = 0x6000 + (uint64_t)i;
	}
	for (int i = 0; i < 33; i++)
		e->fpr[i] = 0x3000 + (uint64_t)i;
	for (int i = 0; i < 66; i++)
		e->vr[i] = 0x4000 + (uint64_t)i;
	e->g.gpr = e->gpr;
	e->g.n_gpr = 32;
	e->g.nip = 0x10000cd8;
	e->g.msr = 0x900000000280f033ULL;
	e->g.orig_gpr3 = 0x33;
	e->g.ctr = 0x35;
	e->g.link = 0x36;
	e->g.xer = 0x37;
	e->g.ccr = 0x38;
	e->g.trap = 0xc00;
	e->fp.fpregs = e->fpr;
	e->fp.n_fpregs = 33;
	e->vmx.vrregs = e->vr;
	e->vmx.n_vrregs = 66;
	e->vmx.vrsave = 0xfffffffe;
	e->vs.vsxregs = e->vsx;
	e->vs.n_vsxregs = 32;
	e->ti.gpregs = &e->g;
	e->ti.fpstate = &e->fp;
	e->ti.vrstate = &e->vmx;
	e->ti.vsxstate = &e->vs;
	e->ce.mtype = 4;
	e->ce.ti_ppc64 = &e->ti;
}

static void ppc64_prstatus(void **state)
{
	const struct c2c_arch *a = &c2c_arch_ppc64;
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct c2c_task_info t = { .pid = 300, .tid = 301, .ppid = 1, .pgid = 300, .sid = 300 };
	struct c2c_regs regs;
	struct ppc_entry e;
	uint8_t out[504 + 16];
	bool compat = true;

	(void)state;
	ppc_entry_init(&e);
	assert_ptr_equal(c2c_arch_lookup(ctx, NULL, 4), a);
	assert_int_equal(a->e_machine, EM_PPC64);
	assert_int_equal(a->elfclass, ELFCLASS64);
	assert_int_equal(a->e_flags, 2); /* ELFv2 */
	assert_int_equal(a->ngreg, 48);
	assert_int_equal(a->prstatus_size, 504);
	assert_int_equal(a->prpsinfo_size, 136);
	assert_int_equal(a->decode_thread(ctx, NULL, &e.ce, 301, &regs, &compat), 0);
	assert_false(compat);
	assert_true(regs.fpvalid);
	memset(out, CANARY, sizeof(out));
	c2c_arch_prstatus(a, &t, &regs, out);
	assert_int_equal(get32(out + 32), 301);
	/* pr_reg at 112: gpr[32], nip, msr, orig_gpr3, ctr, link, xer, ccr, softe, trap, ... */
	for (int i = 0; i < 32; i++)
		assert_int_equal(get64(out + 112 + 8 * i), 0x2000 + (uint64_t)i);
	assert_int_equal(get64(out + 112 + 8 * 32), 0x10000cd8);
	assert_int_equal(get64(out + 112 + 8 * 33), 0x900000000280f033ULL);
	assert_int_equal(get64(out + 112 + 8 * 34), 0x33); /* orig_gpr3 */
	assert_int_equal(get64(out + 112 + 8 * 35), 0x35); /* ctr */
	assert_int_equal(get64(out + 112 + 8 * 36), 0x36); /* link */
	assert_int_equal(get64(out + 112 + 8 * 37), 0x37); /* xer */
	assert_int_equal(get64(out + 112 + 8 * 38), 0x38); /* ccr */
	assert_int_equal(get64(out + 112 + 8 * 39), 0);	   /* softe: not saved */
	assert_int_equal(get64(out + 112 + 8 * 40), 0xc00); /* trap */
	assert_bytes(out, 112 + 8 * 41, 496, 0);	   /* dar, dsisr, result, 4 pad words */
	assert_int_equal(get32(out + 496), 1);		   /* pr_fpvalid */
	assert_bytes(out, 500, 504, 0);
	assert_bytes(out, 504, sizeof(out), CANARY);
	c2c_ctx_free(ctx);
}

static void ppc64_fp_vmx_vsx(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct c2c_regs regs;
	struct ppc_entry e;
	const uint8_t *p;
	bool compat;

	(void)state;
	ppc_entry_init(&e);
	assert_int_equal(c2c_arch_ppc64.decode_thread(ctx, NULL, &e.ce, 1, &regs, &compat), 0);
	/* native_regsets[] order: FPR (CORE), VMX, VSX (LINUX) */
	assert_int_equal(regs.nsets, 3);
	assert_int_equal(regs.sets[0].type, NT_PRFPREG);
	assert_string_equal(regs.sets[0].name, "CORE");
	assert_int_equal(regs.sets[0].len, 264);
	assert_int_equal(regs.sets[1].type, 0x100); /* NT_PPC_VMX */
	assert_string_equal(regs.sets[1].name, "LINUX");
	assert_int_equal(regs.sets[1].len, 544);
	assert_int_equal(regs.sets[2].type, 0x102); /* NT_PPC_VSX */
	assert_string_equal(regs.sets[2].name, "LINUX");
	assert_int_equal(regs.sets[2].len, 256);
	p = regs.data + regs.sets[0].off;
	for (int i = 0; i < 33; i++) /* fpr0..31, fpscr */
		assert_int_equal(get64(p + 8 * i), 0x3000 + (uint64_t)i);
	p = regs.data + regs.sets[1].off;
	for (int i = 0; i < 66; i++) /* vr0..31 and vscr, words in memory order */
		assert_int_equal(get64(p + 8 * i), 0x4000 + (uint64_t)i);
	assert_int_equal(get32(p + 528), 0xfffffffe); /* vrsave */
	assert_bytes(p, 532, 544, 0);
	p = regs.data + regs.sets[2].off;
	for (int i = 0; i < 32; i++)
		assert_int_equal(get64(p + 8 * i), 0x6000 + (uint64_t)i);

	/* No vector state: NT_PRFPREG alone (it has no active(): always written). */
	e.ti.vrstate = NULL;
	e.ti.vsxstate = NULL;
	e.ti.fpstate = NULL;
	assert_int_equal(c2c_arch_ppc64.decode_thread(ctx, NULL, &e.ce, 1, &regs, &compat), 0);
	assert_int_equal(regs.nsets, 1);
	assert_true(regs.fpvalid);
	assert_bytes(regs.data + regs.sets[0].off, 0, 264, 0);

	/* Sizes from the images are checked. */
	e.ti.vrstate = &e.vmx;
	e.vmx.n_vrregs = 64;
	assert_int_equal(c2c_arch_ppc64.decode_thread(ctx, NULL, &e.ce, 7, &regs, &compat),
			 C2C_E_INCONSISTENT);
	assert_non_null(strstr(c2c_errmsg(ctx), "thread 7 has 64 Altivec words"));
	c2c_ctx_free(ctx);
	ctx = c2c_ctx_new();
	e.g.n_gpr = 31;
	assert_int_equal(c2c_arch_ppc64.decode_thread(ctx, NULL, &e.ce, 7, &regs, &compat),
			 C2C_E_INCONSISTENT);
	assert_non_null(strstr(c2c_errmsg(ctx), "thread 7 has 31 general registers"));
	c2c_ctx_free(ctx);
	ctx = c2c_ctx_new();
	e.ce.ti_ppc64 = NULL;
	assert_int_equal(c2c_arch_ppc64.decode_thread(ctx, NULL, &e.ce, 7, &regs, &compat),
			 C2C_E_MISSING);
	assert_string_equal(c2c_errmsg(ctx), "thread 7 has no registers (ti_ppc64.gpregs)");
	c2c_ctx_free(ctx);
}

static uint64_t get64_be(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t get32_be(const uint8_t *p)
{
	return (uint32_t)(get64_be(p) >> 32);
}

/* An s390x CoreEntry with r<n> = 0x7000 + n, a<n> = 0xa0 + n, f<n> = 0x8000 + n. */
struct s390_entry {
	uint64_t gprs[16], fprs[16], low[16], high[32];
	uint32_t acrs[16];
	PbUserS390RegsEntry g;
	PbUserS390FpregsEntry fp;
	PbUserS390VxrsLowEntry vl;
	PbUserS390VxrsHighEntry vh;
	PbThreadInfoS390 ti;
	PbCoreEntry ce;
};

static void s390_entry_init(struct s390_entry *e)
{
	*e = (struct s390_entry){ .g = PB_USER_S390_REGS_ENTRY__INIT,
				  .fp = PB_USER_S390_FPREGS_ENTRY__INIT,
				  .vl = PB_USER_S390_VXRS_LOW_ENTRY__INIT,
				  .vh = PB_USER_S390_VXRS_HIGH_ENTRY__INIT,
				  .ti = PB_THREAD_INFO_S390__INIT,
				  .ce = PB_CORE_ENTRY__INIT };
	for (int i = 0; i < 16; i++) {
		e->gprs[i] = 0x7000 + (uint64_t)i;
		e->fprs[i] = 0x8000 + (uint64_t)i;
		e->low[i] = 0x9000 + (uint64_t)i;
		e->acrs[i] = 0xa0 + (uint32_t)i;
	}
	for (int i = 0; i < 32; i++)
		e->high[i] = 0xb000 + (uint64_t)i;
	e->g.psw_mask = 0x0705200180000000ULL;
	e->g.psw_addr = 0x1000b04;
	e->g.gprs = e->gprs;
	e->g.n_gprs = 16;
	e->g.acrs = e->acrs;
	e->g.n_acrs = 16;
	e->g.orig_gpr2 = 0x22;
	e->g.system_call = 3;
	e->fp.fpc = 0x00080000;
	e->fp.fprs = e->fprs;
	e->fp.n_fprs = 16;
	e->vl.regs = e->low;
	e->vl.n_regs = 16;
	e->vh.regs = e->high;
	e->vh.n_regs = 32;
	e->ti.gpregs = &e->g;
	e->ti.fpregs = &e->fp;
	e->ti.vxrs_low = &e->vl;
	e->ti.vxrs_high = &e->vh;
	e->ce.mtype = 5;
	e->ce.ti_s390 = &e->ti;
}

static void s390x_prstatus_be(void **state)
{
	const struct c2c_arch *a = &c2c_arch_s390x;
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct c2c_task_info t = { .pid = 400, .tid = 401, .ppid = 1, .pgid = 400, .sid = 400,
				   .uid = 1000, .gid = 1001 };
	struct c2c_regs regs;
	struct s390_entry e;
	uint8_t out[336 + 16], ps[136 + 16];
	bool compat = true;

	(void)state;
	s390_entry_init(&e);
	assert_ptr_equal(c2c_arch_lookup(ctx, NULL, 5), a);
	assert_int_equal(a->e_machine, EM_S390);
	assert_true(a->big_endian);
	assert_int_equal(c2c_arch_elfdata(a), ELFDATA2MSB);
	assert_int_equal(a->ngreg, 27);
	assert_int_equal(a->prstatus_size, 336);
	assert_int_equal(a->decode_thread(ctx, NULL, &e.ce, 401, &regs, &compat), 0);
	assert_false(compat);
	memset(out, CANARY, sizeof(out));
	c2c_arch_prstatus(a, &t, &regs, out);
	assert_int_equal(get32_be(out + 32), 401); /* pr_pid */
	assert_int_equal(get32_be(out + 36), 1);   /* pr_ppid */
	/* pr_reg at 112: psw mask, addr, r0..r15, a0..a15 (u32), orig_gpr2 */
	assert_int_equal(get64_be(out + 112), 0x0705200180000000ULL);
	assert_int_equal(get64_be(out + 120), 0x1000b04);
	for (int i = 0; i < 16; i++) {
		assert_int_equal(get64_be(out + 128 + 8 * i), 0x7000 + (uint64_t)i);
		assert_int_equal(get32_be(out + 256 + 4 * i), 0xa0 + (uint64_t)i);
	}
	assert_int_equal(get64_be(out + 320), 0x22);
	assert_int_equal(get32_be(out + 328), 1); /* pr_fpvalid */
	assert_bytes(out, 332, 336, 0);
	assert_bytes(out, 336, sizeof(out), CANARY);

	memset(ps, CANARY, sizeof(ps));
	c2c_arch_prpsinfo(a, &t, "prog", "prog -x", ps);
	assert_int_equal(get32_be(ps + 16), 1000); /* pr_uid */
	assert_int_equal(get32_be(ps + 20), 1001);
	assert_int_equal(get32_be(ps + 24), 400); /* pr_pid */
	assert_string_equal((const char *)ps + 40, "prog");
	assert_bytes(ps, 136, sizeof(ps), CANARY);
	c2c_ctx_free(ctx);
}

static void s390x_regsets_be(void **state)
{
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct c2c_regs regs;
	struct s390_entry e;
	const uint8_t *p;
	bool compat;

	(void)state;
	s390_entry_init(&e);
	assert_int_equal(c2c_arch_s390x.decode_thread(ctx, NULL, &e.ce, 1, &regs, &compat), 0);
	/* s390_regsets[] order: FP (CORE), SYSTEM_CALL, VXRS_LOW, VXRS_HIGH (LINUX) */
	assert_int_equal(regs.nsets, 4);
	assert_int_equal(regs.sets[0].type, NT_PRFPREG);
	assert_string_equal(regs.sets[0].name, "CORE");
	assert_int_equal(regs.sets[0].len, 136);
	assert_int_equal(regs.sets[1].type, 0x307);
	assert_int_equal(regs.sets[1].len, 4);
	assert_int_equal(regs.sets[2].type, 0x309);
	assert_int_equal(regs.sets[2].len, 128);
	assert_int_equal(regs.sets[3].type, 0x30a);
	assert_int_equal(regs.sets[3].len, 256);
	p = regs.data + regs.sets[0].off;
	assert_int_equal(get32_be(p), 0x00080000); /* fpc, then 4 pad bytes */
	assert_bytes(p, 4, 8, 0);
	for (int i = 0; i < 16; i++)
		assert_int_equal(get64_be(p + 8 + 8 * i), 0x8000 + (uint64_t)i);
	assert_int_equal(get32_be(regs.data + regs.sets[1].off), 3);
	p = regs.data + regs.sets[2].off;
	for (int i = 0; i < 16; i++)
		assert_int_equal(get64_be(p + 8 * i), 0x9000 + (uint64_t)i);
	p = regs.data + regs.sets[3].off;
	for (int i = 0; i < 32; i++) /* v16 high, v16 low, v17 high, ... */
		assert_int_equal(get64_be(p + 8 * i), 0xb000 + (uint64_t)i);

	/* Without vector state: FP and SYSTEM_CALL only; short arrays are errors. */
	e.ti.vxrs_low = NULL;
	e.ti.vxrs_high = NULL;
	assert_int_equal(c2c_arch_s390x.decode_thread(ctx, NULL, &e.ce, 1, &regs, &compat), 0);
	assert_int_equal(regs.nsets, 2);
	e.g.n_acrs = 15;
	assert_int_equal(c2c_arch_s390x.decode_thread(ctx, NULL, &e.ce, 9, &regs, &compat),
			 C2C_E_INCONSISTENT);
	assert_non_null(strstr(c2c_errmsg(ctx), "thread 9 has 15 access registers"));
	c2c_ctx_free(ctx);
	ctx = c2c_ctx_new();
	e.ce.ti_s390 = NULL;
	assert_int_equal(c2c_arch_s390x.decode_thread(ctx, NULL, &e.ce, 9, &regs, &compat),
			 C2C_E_MISSING);
	assert_string_equal(c2c_errmsg(ctx), "thread 9 has no registers (ti_s390.gpregs)");
	c2c_ctx_free(ctx);
}

static void xstate_sse(void **state)
{
	(void)state;
	free(xstate(0x3, 0x3, 576, 0x3));
}

static void xstate_avx(void **state)
{
	uint8_t *out;

	(void)state;
	out = xstate(0x7, 0x7, 832, 0x7);
	assert_component(out, 576, 832); /* YMM_Hi128 */
	free(out);
}

static void xstate_mpx(void **state)
{
	uint8_t *out;

	(void)state;
	out = xstate(0x1f, 0x1f, 1088, 0x1f);
	assert_component(out, 576, 832);  /* YMM_Hi128 */
	assert_bytes(out, 832, 960, 0);	  /* no component there */
	assert_component(out, 960, 1088); /* BNDREGS, BNDCSR */
	free(out);
}

static void xstate_avx512(void **state)
{
	uint8_t *out;

	(void)state;
	/* AVX-512 without MPX: the standard format keeps MPX's (unused) slot. */
	out = xstate(0xe7, 0xe7, 2688, 0xe7);
	assert_component(out, 576, 832);   /* YMM_Hi128 */
	assert_bytes(out, 960, 1088, 0);   /* MPX slot: not saved */
	assert_component(out, 1088, 2688); /* opmask, ZMM_Hi256, Hi16_ZMM */
	free(out);
}

static void xstate_avx512_pkru(void **state)
{
	uint8_t *out;

	(void)state;
	out = xstate(0x2ff, 0x2ff, 2696, 0x2ff);
	assert_component(out, 576, 832);
	assert_bytes(out, 832, 960, 0);
	assert_component(out, 960, 2696); /* MPX through PKRU */
	free(out);
}

static void xstate_bv_masked_by_xcr0(void **state)
{
	(void)state;
	/* Components saved beyond what we describe never appear in XSTATE_BV. */
	free(xstate(0x7, 0xffffffffffffffffULL, 832, 0x7));
	/* Components CRIU saved but that were in their init state stay clear. */
	free(xstate(0xe7, 0x3, 2688, 0xe7));
	/* AVX-512 implies AVX in XCR0, even if the image lacks it. */
	free(xstate(0xe3, 0xe3, 2688, 0xe7));
	/* PKRU alone. */
	free(xstate(0x203, 0x203, 2696, 0x203));
}

/*
 * A compat (ia32) thread: i386 pr_reg order, the 144-byte ILP32 NT_PRSTATUS,
 * NT_PRFPREG as convert_from_fxsr makes it (108), NT_PRXFPREG (512),
 * NT_X86_XSTATE and NT_386_TLS (48) in x86_32_regsets order.
 */
static void ia32_notes(void **state)
{
	const struct c2c_arch *a = &c2c_arch_ia32;
	PbUserX86RegsEntry g = PB_USER_X86_REGS_ENTRY__INIT;
	PbUserX86FpregsEntry fp = PB_USER_X86_FPREGS_ENTRY__INIT;
	PbUserX86XsaveEntry xs = PB_USER_X86_XSAVE_ENTRY__INIT;
	PbUserDescT d12 = PB_USER_DESC_T__INIT, bad = PB_USER_DESC_T__INIT;
	PbUserDescT *tls[] = { &d12 };
	PbThreadInfoX86 ti = PB_THREAD_INFO_X86__INIT;
	PbCoreEntry ce = PB_CORE_ENTRY__INIT;
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct c2c_task_info info = { .pid = 7, .tid = 7 };
	uint32_t st[32] = { 0 };
	uint8_t out[C2C_NOTE_DESC_MAX];
	const uint8_t *i387, *t;
	struct c2c_regs regs;
	bool compat = false;
	uint32_t w;

	(void)state;
	assert_ptr_equal(c2c_arch_x86_64.compat, a);
	assert_int_equal(a->elfclass, ELFCLASS32);
	assert_int_equal(a->e_machine, EM_386);
	assert_int_equal(a->prstatus_size, 144);
	assert_int_equal(a->prpsinfo_size, 124);
	g.has_mode = true;
	g.mode = 2; /* COMPAT */
	g.bx = 0x101, g.cx = 0x102, g.dx = 0x103, g.si = 0x104, g.di = 0x105, g.bp = 0x106;
	g.ax = 0x107, g.ds = 0x2b, g.es = 0x2b, g.fs = 0, g.gs = 0x63, g.orig_ax = 0xffffffff;
	g.ip = 0x8049000, g.cs = 0x23, g.flags = 0x202, g.sp = 0xffffd000, g.ss = 0x2b;
	g.r8 = 0xdead; /* not part of a compat task's registers */
	/* one value on the x87 stack: TOP 7, physical register 7 = st0 = 1.0 */
	fp.cwd = 0x37f, fp.swd = 7 << 11, fp.twd = 0x80, fp.rip = 0x11223344, fp.rdp = 0x55667788;
	st[1] = 0x80000000u, st[2] = 0x3fff;
	fp.st_space = st, fp.n_st_space = 32;
	fp.xsave = &xs;
	xs.xstate_bv = 3;
	d12.entry_number = 12, d12.base_addr = 0x80f3380, d12.limit = 0xfffff;
	d12.seg_32bit = true, d12.read_exec_only = false, d12.limit_in_pages = true;
	d12.seg_not_present = false, d12.useable = true;
	ti.gpregs = &g, ti.fpregs = &fp, ti.tls = tls, ti.n_tls = 1;
	ce.mtype = 1, ce.thread_info = &ti;
	assert_int_equal(c2c_arch_x86_64.decode_thread(ctx, NULL, &ce, 7, &regs, &compat), 0);
	assert_true(compat);
	assert_true(regs.fpvalid);
	assert_int_equal(regs.nsets, 4);
	assert_int_equal(regs.sets[0].type, NT_PRFPREG);
	assert_string_equal(regs.sets[0].name, "CORE");
	assert_int_equal(regs.sets[0].len, 108);
	assert_int_equal(regs.sets[1].type, NT_PRXFPREG);
	assert_string_equal(regs.sets[1].name, "LINUX");
	assert_int_equal(regs.sets[1].len, 512);
	assert_int_equal(regs.sets[2].type, NT_X86_XSTATE);
	assert_int_equal(regs.sets[2].len, 576);
	assert_int_equal(regs.sets[3].type, NT_386_TLS);
	assert_string_equal(regs.sets[3].name, "LINUX");
	assert_int_equal(regs.sets[3].len, 48);

	/* NT_PRSTATUS: pr_pid at 24, pr_reg (17 x u32, ebx first) at 72, pr_fpvalid at 140 */
	memset(out, CANARY, sizeof(out));
	c2c_arch_prstatus(a, &info, &regs, out);
	memcpy(&w, out + 24, 4);
	assert_int_equal(w, 7);
	memcpy(&w, out + 72, 4);
	assert_int_equal(w, 0x101); /* ebx */
	memcpy(&w, out + 72 + 6 * 4, 4);
	assert_int_equal(w, 0x107); /* eax */
	memcpy(&w, out + 72 + 11 * 4, 4);
	assert_int_equal(w, 0xffffffff); /* orig_eax */
	memcpy(&w, out + 72 + 12 * 4, 4);
	assert_int_equal(w, 0x8049000); /* eip */
	memcpy(&w, out + 72 + 16 * 4, 4);
	assert_int_equal(w, 0x2b); /* xss */
	memcpy(&w, out + 140, 4);
	assert_int_equal(w, 1);
	assert_bytes(out, 144, sizeof(out), CANARY);
	memset(out, CANARY, sizeof(out));
	c2c_arch_prpsinfo(a, &info, "prog", "prog -x", out);
	assert_bytes(out, 124, sizeof(out), CANARY);

	/* user_i387_ia32_struct */
	i387 = regs.data + regs.sets[0].off;
	memcpy(&w, i387, 4);
	assert_int_equal(w, 0xffff037f);
	memcpy(&w, i387 + 4, 4);
	assert_int_equal(w, 0xffff3800);
	memcpy(&w, i387 + 8, 4);
	assert_int_equal(w, 0xffff3fff); /* register 7 valid (00), the others empty (11) */
	memcpy(&w, i387 + 12, 4);
	assert_int_equal(w, 0x11223344); /* fip */
	memcpy(&w, i387 + 16, 4);
	assert_int_equal(w, 0x23); /* fcs: the task's cs */
	memcpy(&w, i387 + 20, 4);
	assert_int_equal(w, 0x55667788); /* foo */
	memcpy(&w, i387 + 24, 4);
	assert_int_equal(w, 0xffff002b); /* fos: the task's ds */
	assert_int_equal(get16(i387 + 28 + 6), 0x8000); /* st0: 10 bytes, significand then exponent */
	assert_int_equal(get16(i387 + 28 + 8), 0x3fff);
	assert_int_equal(get16(i387 + 28 + 10), 0); /* st1 follows at once */

	/* NT_386_TLS: slot 12 as listed (flags 0x51), 13 and 14 empty (0x28) */
	t = regs.data + regs.sets[3].off;
	memcpy(&w, t, 4);
	assert_int_equal(w, 12);
	memcpy(&w, t + 4, 4);
	assert_int_equal(w, 0x80f3380);
	memcpy(&w, t + 12, 4);
	assert_int_equal(w, 0x51);
	memcpy(&w, t + 16, 4);
	assert_int_equal(w, 13);
	memcpy(&w, t + 28, 4);
	assert_int_equal(w, 0x28);
	memcpy(&w, t + 44, 4);
	assert_int_equal(w, 0x28);

	/* no slot in use: no NT_386_TLS (regset_tls_active) */
	ti.n_tls = 0;
	assert_int_equal(c2c_arch_x86_64.decode_thread(ctx, NULL, &ce, 7, &regs, &compat), 0);
	assert_int_equal(regs.nsets, 3);

	tls[0] = &bad;
	bad.entry_number = 15;
	ti.n_tls = 1;
	assert_int_equal(c2c_arch_x86_64.decode_thread(ctx, NULL, &ce, 7, &regs, &compat),
			 C2C_E_INCONSISTENT);
	assert_string_equal(c2c_errmsg(ctx), "thread 7: TLS descriptor 0 is for GDT entry 15, not "
					     "one of 12-14 (thread_info.tls)");
	c2c_ctx_free(ctx);
}

/*
 * riscv64: pr_reg is struct user_regs_struct (pc, ra, sp, gp, tp, t0-t2, s0,
 * s1, a0-a7, s2-s11, t3-t6), 32 words at 112 of a 376-byte NT_PRSTATUS; then
 * NT_PRFPREG (owner CORE) = struct __riscv_d_ext_state, 264 bytes.
 */
static void riscv64_notes(void **state)
{
	const struct c2c_arch *a = &c2c_arch_riscv64;
	struct c2c_ctx *ctx = c2c_ctx_new();
	struct c2c_task_info t = { .pid = 300, .tid = 301, .ppid = 1, .pgid = 300, .sid = 300 };
	PbUserRiscv64RegsEntry g = PB_USER_RISCV64_REGS_ENTRY__INIT;
	PbUserRiscv64DExtEntry fp = PB_USER_RISCV64_D_EXT_ENTRY__INIT;
	PbThreadInfoRiscv64 ti = PB_THREAD_INFO_RISCV64__INIT;
	PbCoreEntry ce = PB_CORE_ENTRY__INIT;
	uint64_t *w[32] = { &g.pc, &g.ra, &g.sp,  &g.gp,  &g.tp, &g.t0, &g.t1, &g.t2,
			    &g.s0, &g.s1, &g.a0,  &g.a1,  &g.a2, &g.a3, &g.a4, &g.a5,
			    &g.a6, &g.a7, &g.s2,  &g.s3,  &g.s4, &g.s5, &g.s6, &g.s7,
			    &g.s8, &g.s9, &g.s10, &g.s11, &g.t3, &g.t4, &g.t5, &g.t6 };
	uint64_t f[33];
	struct c2c_regs regs;
	uint8_t out[376 + 16];
	const uint8_t *b;
	bool compat = true;

	(void)state;
	for (int i = 0; i < 32; i++)
		*w[i] = 0x7000 + (uint64_t)i;
	for (int i = 0; i < 33; i++)
		f[i] = 0x3ff0000000000000ULL + (uint64_t)i;
	fp.f = f;
	fp.n_f = 32;
	fp.fcsr = 0xe1;
	ti.tls = g.tp;
	ti.gpregs = &g;
	ti.fpsimd = &fp;
	ce.mtype = 8;
	ce.ti_riscv64 = &ti;
	assert_ptr_equal(c2c_arch_lookup(ctx, NULL, 8), a);
	assert_int_equal(a->e_machine, 243); /* EM_RISCV */
	assert_int_equal(a->elfclass, ELFCLASS64);
	assert_int_equal(a->e_flags, 0);
	assert_int_equal(a->ngreg, 32);
	assert_int_equal(a->prstatus_size, 376);
	assert_int_equal(a->prpsinfo_size, 136);
	assert_int_equal(a->decode_thread(ctx, NULL, &ce, 301, &regs, &compat), 0);
	assert_false(compat);
	assert_true(regs.fpvalid);
	memset(out, CANARY, sizeof(out));
	c2c_arch_prstatus(a, &t, &regs, out);
	assert_int_equal(get32(out + 32), 301);
	for (int i = 0; i < 32; i++)
		assert_int_equal(get64(out + 112 + 8 * i), 0x7000 + (uint64_t)i);
	assert_int_equal(112 + 8 * 32, 368);
	assert_int_equal(get32(out + 368), 1); /* pr_fpvalid */
	assert_bytes(out, 372, 376, 0);
	assert_bytes(out, 376, sizeof(out), CANARY);

	assert_int_equal(regs.nsets, 1);
	assert_int_equal(regs.sets[0].type, NT_PRFPREG);
	assert_string_equal(regs.sets[0].name, "CORE");
	assert_int_equal(regs.sets[0].len, 264);
	b = regs.data + regs.sets[0].off;
	for (int i = 0; i < 32; i++)
		assert_int_equal(get64(b + 8 * i), 0x3ff0000000000000ULL + (uint64_t)i);
	assert_int_equal(get32(b + 256), 0xe1); /* fcsr */
	assert_bytes(b, 260, 264, 0);		/* padding */

	/* No FP state: no NT_PRFPREG, pr_fpvalid 0. */
	ti.fpsimd = NULL;
	assert_int_equal(a->decode_thread(ctx, NULL, &ce, 301, &regs, &compat), 0);
	assert_false(regs.fpvalid);
	assert_int_equal(regs.nsets, 0);

	/* Too many FP registers, or none at all, are errors naming the thread. */
	ti.fpsimd = &fp;
	fp.n_f = 33;
	assert_int_equal(a->decode_thread(ctx, NULL, &ce, 9, &regs, &compat), C2C_E_INCONSISTENT);
	assert_non_null(strstr(c2c_errmsg(ctx), "thread 9 has 33 FP registers"));
	c2c_ctx_free(ctx);
	ctx = c2c_ctx_new(); /* the first error of a context is kept */
	ce.ti_riscv64 = NULL;
	assert_int_equal(a->decode_thread(ctx, NULL, &ce, 9, &regs, &compat), C2C_E_MISSING);
	assert_string_equal(c2c_errmsg(ctx), "thread 9 has no registers (ti_riscv64.gpregs)");
	c2c_ctx_free(ctx);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(prstatus_layout),
	cmocka_unit_test(gpregs_order_and_compat),
	cmocka_unit_test(unsupported_mtype),
	cmocka_unit_test(prpsinfo_layout),
	cmocka_unit_test(aarch64_prstatus),
	cmocka_unit_test(aarch64_fpsimd_tls),
	cmocka_unit_test(aarch64_pac),
	cmocka_unit_test(arm_prstatus),
	cmocka_unit_test(arm_prpsinfo),
	cmocka_unit_test(arm_fp_vfp),
	cmocka_unit_test(ppc64_prstatus),
	cmocka_unit_test(ppc64_fp_vmx_vsx),
	cmocka_unit_test(s390x_prstatus_be),
	cmocka_unit_test(s390x_regsets_be),
	cmocka_unit_test(xstate_sse),
	cmocka_unit_test(xstate_avx),
	cmocka_unit_test(xstate_mpx),
	cmocka_unit_test(xstate_avx512),
	cmocka_unit_test(xstate_avx512_pkru),
	cmocka_unit_test(xstate_bv_masked_by_xcr0),
	cmocka_unit_test(ia32_notes),
	cmocka_unit_test(riscv64_notes),
};

C2C_UNIT_MAIN(tests)
