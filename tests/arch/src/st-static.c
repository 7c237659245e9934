/* st-static.c: cross-architecture test program, statically linked, one thread.
 *
 * main -> level_one -> level_two -> level_three -> crash: a store through a
 * NULL pointer (SIGSEGV, si_addr 0) after FP registers were loaded with known
 * values.  Known data: the string `secret` and the int array `array`. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <string.h>
#include "simd.h"

char secret[] = "ARCH_SECRET_st_static_" ARCH_NAME "_9c2e";
int array[8] = {-1, 2, -3, 4, 0x12345678, -0x12345678, 1000000, 42};
uint64_t vec_known[8];
static volatile long sink;
int *volatile null_ptr;
/* read back from the core by the capture script (see mt-dyn.c) */
struct tp_record { uint64_t tid, tp; } thread_tp[1];   /* 64-bit fields on every ABI */
char maps_snapshot[8192];

static void snapshot_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	if (f) {
		size_t n = fread(maps_snapshot, 1, sizeof maps_snapshot - 1, f);
		maps_snapshot[n] = 0;
		fclose(f);
	}
}

static void __attribute__((noinline)) crash(const uint64_t *v)
{
#if defined(__aarch64__)
	register const uint64_t *x9 asm("x9") = v;
	register int *x10 asm("x10") = null_ptr;
	asm volatile("ldp q12, q13, [x9]\n\t"
		     "ldp q14, q15, [x9, #32]\n\t"
		     "movz w11, #0x2a\n\t"
		     "str w11, [x10]"
		     : : "r"(x9), "r"(x10) : "memory", "v12", "v13", "v14", "v15", "x11");
#elif defined(__riscv)
	register const uint64_t *t0 asm("t0") = v;
	register int *t1 asm("t1") = null_ptr;
	asm volatile("fld fs4, 0(t0)\n\t"
		     "fld fs5, 8(t0)\n\t"
		     "li t2, 42\n\t"
		     "sw t2, 0(t1)"
		     : : "r"(t0), "r"(t1) : "memory", "fs4", "fs5", "t2");
#elif defined(__arm__)
	register const uint64_t *r4 asm("r4") = v;
	register int *r5 asm("r5") = null_ptr;
	asm volatile("vldmia r4, {d12-d15}\n\t"
		     "mov r6, #42\n\t"
		     "str r6, [r5]"
		     : : "r"(r4), "r"(r5) : "memory", "d12", "d13", "d14", "d15", "r6");
#elif defined(__i386__)
	/* xmm4-xmm7 from v (-msse2), two known x87 values (1 and pi) on the FPU stack */
	asm volatile("movdqu (%0), %%xmm4\n\t"
		     "movdqu 16(%0), %%xmm5\n\t"
		     "movdqu 32(%0), %%xmm6\n\t"
		     "movdqu 48(%0), %%xmm7\n\t"
		     "fldpi\n\t"
		     "fld1\n\t"
		     "movl $42, (%1)"
		     : : "r"(v), "r"(null_ptr) : "memory", "xmm4", "xmm5", "xmm6", "xmm7");
#elif defined(__powerpc64__)
	/* vs16/vs17: f16/f17 and their VSX halves; vs54/vs55 = v22/v23 */
	register const uint64_t *r9 asm("r9") = v;
	register int *r10 asm("r10") = null_ptr;
	asm volatile("li 11, 16\n\t"
		     "li 12, 32\n\t"
		     "lxvd2x 16, 0, 9\n\t"
		     "lxvd2x 17, 9, 11\n\t"
		     "lxvd2x 54, 9, 12\n\t"
		     "li 12, 48\n\t"
		     "lxvd2x 55, 9, 12\n\t"
		     "li 11, 42\n\t"
		     "stw 11, 0(10)"
		     : : "r"(r9), "r"(r10)
		     : "memory", "r11", "r12", "vs16", "vs17", "vs54", "vs55");
#elif defined(__s390x__)
	register const uint64_t *r5 asm("r5") = v;
	register int *r6 asm("r6") = null_ptr;
	asm volatile("ld %%f12, 0(%%r5)\n\t"
		     "ld %%f13, 8(%%r5)\n\t"
		     "lhi %%r7, 42\n\t"
		     "st %%r7, 0(%%r6)"
		     : : "r"(r5), "r"(r6) : "memory", "f12", "f13", "r7");
#else
	(void)v;
	*null_ptr = 42;
#endif
}

static void __attribute__((noinline)) level_three(int n)
{
	sink = n;
	crash(vec_known);
	sink++;
}

static void __attribute__((noinline)) level_two(int n) { level_three(n * 3); sink++; }
static void __attribute__((noinline)) level_one(int n) { level_two(n + 1); sink++; }

int main(void)
{
	for (int j = 0; j < 8; j++)
		vec_known[j] = simd_word(7, j);
	thread_tp[0].tid = syscall(SYS_gettid);
	thread_tp[0].tp = arch_thread_pointer();
	snapshot_maps();
	level_one(array[0] + (int)strlen(secret));
	return 0;
}
