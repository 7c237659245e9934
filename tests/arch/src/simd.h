/* simd.h: set a few FP/SIMD registers to values the test chooses, just before
 * a thread blocks, so that the core shows them.  The values are derived from
 * a seed so that every thread has its own.  Only the registers the calling
 * convention leaves alone across the blocking call are meaningful; we load the
 * callee-saved ones (aarch64 d8-d15 / v8-v15 low halves, riscv64 fs0-fs11,
 * arm d8-d15) and, on aarch64, the full 128 bits of v8-v11 in inline asm right
 * before the system call (see park_asm in mt-dyn.c). */
#ifndef ARCH_SIMD_H
#define ARCH_SIMD_H
#include <stdint.h>

static inline uint64_t simd_word(unsigned seed, unsigned i)
{
	/* 0xSS5EED00 | i in both halves: easy to recognise in a register dump */
	return ((uint64_t)(0xA0000000u | (seed << 16) | 0x5EE0u | i) << 32) |
	       (uint64_t)(0x0B000000u | (seed << 16) | 0x0D00u | i);
}

/* The thread pointer: GCC has no __builtin_thread_pointer for powerpc, where
 * the ABI keeps it in r13 (0x7000 past the TCB end; it is also pr_reg's r13). */
static inline uint64_t arch_thread_pointer(void)
{
#if defined(__powerpc64__)
	register uint64_t r13 asm("r13");
	return r13;
#else
	return (uint64_t)(uintptr_t)__builtin_thread_pointer();
#endif
}
#endif
