/*
 * Unit tests of src/lib/arch-x86_64.c: the byte layout of NT_PRSTATUS,
 * NT_PRPSINFO and NT_X86_XSTATE descriptors (include/linux/elfcore.h,
 * arch/x86/include/asm/user_64.h, the Intel SDM standard XSAVE format).
 * Every descriptor is written into a larger buffer pre-filled with a canary
 * byte, so writing past its size is caught too.
 */
#include <stdlib.h>

#include "corebuild.h"
#include "helpers.h"

#define CANARY 0xa5

static void assert_bytes(const uint8_t *p, size_t from, size_t to, uint8_t val)
{
	for (size_t i = from; i < to; i++)
		if (p[i] != val)
			fail_msg("byte %zu is 0x%02x, expected 0x%02x", i, p[i], val);
}

static void prstatus_layout(void **state)
{
	struct c2c_process p = { .pid = 100, .ppid = 7, .pgid = 90, .sid = 80 };
	struct c2c_thread t = { .tid = 101, .sigpend = 0x1122334455667788ULL,
				.sighold = 0x0102030405060708ULL, .has_fpregs = true };
	uint8_t out[C2C_X86_PRSTATUS_SIZE + 16];

	(void)state;
	assert_int_equal(C2C_X86_PRSTATUS_SIZE, 336);
	for (int i = 0; i < C2C_X86_NGREG; i++)
		t.gpregs[i] = 0xabc000 + (uint64_t)i;
	memset(out, CANARY, sizeof(out));
	c2c_x86_prstatus(&p, &t, out);

	assert_bytes(out, 0, 16, 0); /* pr_info, pr_cursig: no signal */
	assert_int_equal(get64(out + 16), t.sigpend);
	assert_int_equal(get64(out + 24), t.sighold);
	assert_int_equal(get32(out + 32), 101); /* pr_pid is the thread's tid */
	assert_int_equal(get32(out + 36), 7);
	assert_int_equal(get32(out + 40), 90);
	assert_int_equal(get32(out + 44), 80);
	assert_bytes(out, 48, 112, 0); /* the four timevals */
	/* pr_reg in user_regs_struct order: r15 first ... gs last (27 words). */
	for (int i = 0; i < C2C_X86_NGREG; i++)
		assert_int_equal(get64(out + 112 + 8 * i), 0xabc000 + (uint64_t)i);
	assert_int_equal(112 + 8 * C2C_X86_NGREG, 328);
	assert_int_equal(get32(out + 328), 1); /* pr_fpvalid */
	assert_bytes(out, 332, 336, 0);	       /* tail padding */
	assert_bytes(out, 336, sizeof(out), CANARY);

	t.has_fpregs = false;
	c2c_x86_prstatus(&p, &t, out);
	assert_int_equal(get32(out + 328), 0);
}

static void prpsinfo_layout(void **state)
{
	struct c2c_process p = { .pid = 100, .ppid = 7, .pgid = 90, .sid = 80, .uid = 1000,
				 .gid = 1001, .nice = -5, .pf_flags = 0x400040,
				 .state = C2C_TASK_ALIVE };
	uint8_t out[C2C_X86_PRPSINFO_SIZE + 16];
	char psargs[C2C_X86_PSARGS_MAX];

	(void)state;
	assert_int_equal(C2C_X86_PRPSINFO_SIZE, 136);
	memset(out, CANARY, sizeof(out));
	c2c_x86_prpsinfo(&p, "sleeper", "sleeper -t 10", out);

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
	c2c_x86_prpsinfo(&p, "a-very-long-executable-name", psargs, out);
	assert_int_equal(out[0], 4);
	assert_int_equal(out[1], 'Z');
	assert_int_equal(out[2], 1);
	assert_string_equal((const char *)out + 40, "a-very-long-exe");
	assert_int_equal(strlen((const char *)out + 56), 79);
	assert_int_equal(out[135], 0);
	assert_bytes(out, 136, sizeof(out), CANARY);

	p.state = C2C_TASK_STOPPED;
	c2c_x86_prpsinfo(&p, "x", "", out);
	assert_int_equal(out[0], 3);
	assert_int_equal(out[1], 'T');
	assert_int_equal(out[2], 0);
}

/* xsave[i] = pattern(i): non-zero almost everywhere, different per offset. */
static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 7 + 1 + i / 251);
}

/* Run c2c_x86_xstate for features; check the size and the layout every size shares. */
static uint8_t *xstate(uint64_t features, uint64_t xstate_bv, size_t want_size, uint64_t want_xcr0)
{
	struct c2c_thread *t = calloc(1, sizeof(*t));
	uint8_t *out = malloc(C2C_XSAVE_MAX + 64);
	size_t size;

	assert_non_null(t);
	assert_non_null(out);
	t->has_xsave = true;
	t->xfeatures = features;
	t->xstate_bv = xstate_bv;
	for (size_t i = 0; i < C2C_XSAVE_MAX; i++)
		t->xsave[i] = pattern(i);
	memset(out, CANARY, C2C_XSAVE_MAX + 64);

	size = c2c_x86_xstate(t, out);
	assert_int_equal(size, want_size);
	/* Legacy region (FXSAVE image) up to the software-reserved bytes: copied. */
	for (size_t i = 0; i < 464; i++)
		if (out[i] != pattern(i))
			fail_msg("legacy byte %zu changed", i);
	assert_int_equal(get64(out + 464), want_xcr0); /* "XCR0" in sw_reserved */
	assert_bytes(out, 472, 512, 0);
	assert_int_equal(get64(out + 512), xstate_bv & want_xcr0); /* XSTATE_BV */
	assert_int_equal(get64(out + 520), 0);			   /* XCOMP_BV: standard */
	assert_bytes(out, 528, 576, 0);
	/* Every component byte is kept at its standard-format offset. */
	for (size_t i = 576; i < size; i++)
		if (out[i] != pattern(i))
			fail_msg("component byte %zu changed", i);
	assert_bytes(out, size, C2C_XSAVE_MAX + 64, CANARY);
	free(t);
	return out;
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
	assert_int_equal(out[576], pattern(576)); /* YMM_Hi128 */
	free(out);
}

static void xstate_mpx(void **state)
{
	(void)state;
	free(xstate(0x1f, 0x1f, 1088, 0x1f));
}

static void xstate_avx512(void **state)
{
	uint8_t *out;

	(void)state;
	/* AVX-512 without MPX: the standard format keeps MPX's (unused) slot. */
	out = xstate(0xe7, 0xe7, 2688, 0xe7);
	assert_int_equal(out[1088], pattern(1088)); /* opmask */
	assert_int_equal(out[1152], pattern(1152)); /* ZMM_Hi256 */
	assert_int_equal(out[1664], pattern(1664)); /* Hi16_ZMM */
	assert_int_equal(out[2687], pattern(2687));
	free(out);
}

static void xstate_avx512_pkru(void **state)
{
	uint8_t *out;

	(void)state;
	out = xstate(0x2ff, 0x2ff, 2696, 0x2ff);
	assert_int_equal(out[1088], pattern(1088));
	assert_int_equal(out[1152], pattern(1152));
	assert_int_equal(out[1664], pattern(1664));
	for (size_t i = 2688; i < 2696; i++) /* PKRU */
		assert_int_equal(out[i], pattern(i));
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

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(prstatus_layout),
	cmocka_unit_test(prpsinfo_layout),
	cmocka_unit_test(xstate_sse),
	cmocka_unit_test(xstate_avx),
	cmocka_unit_test(xstate_mpx),
	cmocka_unit_test(xstate_avx512),
	cmocka_unit_test(xstate_avx512_pkru),
	cmocka_unit_test(xstate_bv_masked_by_xcr0),
};

C2C_UNIT_MAIN(tests)
