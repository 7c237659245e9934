/* mt-dyn.c: cross-architecture test program, dynamically linked, 4 threads.
 *
 * Three workers each block in their own call chain, several frames deep:
 *   worker 1: w1_start -> w1_outer -> w1_middle -> park_asm   (raw read(2) on a pipe,
 *             FP/SIMD registers loaded by inline asm just before the svc/ecall)
 *   worker 2: w2_start -> w2_a -> w2_b -> w2_c -> read() in libc on a pipe
 *   worker 3: w3_start -> w3_x -> w3_y -> pthread_mutex_lock() on a held mutex
 * When all three are parked the leader goes main -> leader_wait -> leader_die
 * -> abort(), so that qemu-user writes a core of the whole process.
 * Known data: the string `secret` and the int array `array`. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "simd.h"

char secret[] = "ARCH_SECRET_mt_dyn_" ARCH_NAME "_5b1d";
int array[8] = {11, -22, 333, -4444, 55555, -666666, 7777777, 0x7ffffff0};
double fp_known[4] = {1.5, -2.25, 3.125, 6.0e23};
uint64_t vec_known[3][8];

/* Filled in by the program itself, read back from the core by the capture
 * script: each thread's kernel tid and thread pointer (TPIDR_EL0 / tp / TPIDRURO),
 * which qemu's core does not record, and the leader's view of its own
 * /proc/self/maps (VMAs with their files), which qemu's core has no NT_FILE for. */
struct tp_record { uint64_t tid, tp; } thread_tp[4];   /* 64-bit fields on every ABI */
char maps_snapshot[16384];

static int pipes[2][2];
static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static sem_t parked;
static volatile long sink;

static void record_tp(int slot)
{
	thread_tp[slot].tid = syscall(SYS_gettid);
	thread_tp[slot].tp = arch_thread_pointer();
}

static void snapshot_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	if (f) {
		size_t n = fread(maps_snapshot, 1, sizeof maps_snapshot - 1, f);
		maps_snapshot[n] = 0;
		fclose(f);
	}
}

/* Worker 1's innermost frame: load known FP/SIMD values, then read(2) from a
 * pipe nobody writes to.  The registers are loaded in the same asm statement
 * as the system call, so no compiler code can touch them in between. */
static void __attribute__((noinline)) park_asm(int fd, void *buf, const uint64_t *v)
{
#if defined(__aarch64__)
	register long x0 asm("x0") = fd;
	register long x1 asm("x1") = (long)buf;
	register long x2 asm("x2") = 1;
	register long x8 asm("x8") = SYS_read;
	register const uint64_t *x9 asm("x9") = v;
	asm volatile("ldp q8, q9, [x9]\n\t"
		     "ldp q10, q11, [x9, #32]\n\t"
		     "fmov s31, #1.0\n\t"
		     "svc #0"
		     : "+r"(x0) : "r"(x1), "r"(x2), "r"(x8), "r"(x9)
		     : "memory", "v8", "v9", "v10", "v11", "v31");
	sink = x0;
#elif defined(__riscv)
	register long a0 asm("a0") = fd;
	register long a1 asm("a1") = (long)buf;
	register long a2 asm("a2") = 1;
	register long a7 asm("a7") = SYS_read;
	register const uint64_t *t0 asm("t0") = v;
	asm volatile("fld fs0, 0(t0)\n\t"
		     "fld fs1, 8(t0)\n\t"
		     "fld fs2, 16(t0)\n\t"
		     "fld fs3, 24(t0)\n\t"
		     "ecall"
		     : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7), "r"(t0)
		     : "memory", "fs0", "fs1", "fs2", "fs3");
	sink = a0;
#elif defined(__arm__)
	register long r0 asm("r0") = fd;
	register long r1 asm("r1") = (long)buf;
	register long r2 asm("r2") = 1;
	register long r7 asm("r7") = SYS_read;
	register const uint64_t *r4 asm("r4") = v;
	asm volatile("vldmia r4, {d8-d11}\n\t"
		     "svc #0"
		     : "+r"(r0) : "r"(r1), "r"(r2), "r"(r7), "r"(r4)
		     : "memory", "d8", "d9", "d10", "d11");
	sink = r0;
#elif defined(__powerpc64__)
	/* vs14/vs15 are f14/f15 (doubleword 0) plus the halves only NT_PPC_VSX
	 * holds; vs52/vs53 are v20/v21 (NT_PPC_VMX); f31 = 1.0 through fcfid */
	register long r0 asm("r0") = SYS_read;
	register long r3 asm("r3") = fd;
	register long r4 asm("r4") = (long)buf;
	register long r5 asm("r5") = 1;
	register const uint64_t *r9 asm("r9") = v;
	asm volatile("li 10, 16\n\t"
		     "li 11, 32\n\t"
		     "li 12, 48\n\t"
		     "lxvd2x 14, 0, 9\n\t"
		     "lxvd2x 15, 9, 10\n\t"
		     "lxvd2x 52, 9, 11\n\t"
		     "lxvd2x 53, 9, 12\n\t"
		     "li 10, 1\n\t"
		     "std 10, -8(1)\n\t"
		     "lfd 31, -8(1)\n\t"
		     "fcfid 31, 31\n\t"
		     "sc"
		     : "+r"(r0), "+r"(r3), "+r"(r4), "+r"(r5), "+r"(r9)
		     : : "memory", "cr0", "r6", "r7", "r8", "r10", "r11", "r12", "ctr",
		       "vs14", "vs15", "vs52", "vs53", "fr31");
	sink = r3;
#elif defined(__s390x__)
	/* f8-f11 are callee-saved (NT_PRFPREG); read is syscall 3, svc's immediate */
	register long r2 asm("r2") = fd;
	register long r3 asm("r3") = (long)buf;
	register long r4 asm("r4") = 1;
	register const uint64_t *r5 asm("r5") = v;
	asm volatile("ld %%f8, 0(%%r5)\n\t"
		     "ld %%f9, 8(%%r5)\n\t"
		     "ld %%f10, 16(%%r5)\n\t"
		     "ld %%f11, 24(%%r5)\n\t"
		     "svc %[nr]"
		     : "+r"(r2) : "r"(r3), "r"(r4), "r"(r5), [nr] "i"(SYS_read)
		     : "memory", "f8", "f9", "f10", "f11");
	sink = r2;
#else
	sink = read(fd, buf, 1);
	(void)v;
#endif
}

static void __attribute__((noinline)) w1_middle(int depth)
{
	char buf[16];
	record_tp(1);
	sem_post(&parked);
	park_asm(pipes[0][0], buf, vec_known[0]);
	sink += depth;
}

static void __attribute__((noinline)) w1_outer(int depth)
{
	w1_middle(depth + 1);
	sink++;
}

static void *w1_start(void *arg)
{
	w1_outer((int)(long)arg);
	return NULL;
}

static void __attribute__((noinline)) w2_c(int n)
{
	char buf[8];
	record_tp(2);
	sem_post(&parked);
	sink = read(pipes[1][0], buf, sizeof buf) + n;
}

static void __attribute__((noinline)) w2_b(int n) { w2_c(n * 2); sink++; }
static void __attribute__((noinline)) w2_a(int n) { w2_b(n + 3); sink++; }

static void *w2_start(void *arg)
{
	w2_a((int)(long)arg);
	return NULL;
}

static void __attribute__((noinline)) w3_y(double scale)
{
	record_tp(3);
	sem_post(&parked);
	pthread_mutex_lock(&held);
	sink = (long)scale;
}

static void __attribute__((noinline)) w3_x(double scale) { w3_y(scale * fp_known[1]); sink++; }

static void *w3_start(void *arg)
{
	w3_x((double)(long)arg);
	return NULL;
}

static void __attribute__((noinline)) leader_die(int code)
{
	sink = code;
	abort();
}

static void __attribute__((noinline)) leader_wait(int nthreads)
{
	struct timespec ts = {0, 300 * 1000 * 1000};
	for (int i = 0; i < nthreads; i++)
		sem_wait(&parked);
	/* every worker has posted; give each the moment it needs to enter its
	 * blocking call */
	nanosleep(&ts, NULL);
	snapshot_maps();
	leader_die(nthreads);
}

int main(void)
{
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 8; j++)
			vec_known[i][j] = simd_word(i + 1, j);
	if (pipe(pipes[0]) || pipe(pipes[1]))
		return 1;
	record_tp(0);
	sem_init(&parked, 0, 0);
	pthread_mutex_lock(&held);
	pthread_create(&t[0], NULL, w1_start, (void *)10L);
	pthread_create(&t[1], NULL, w2_start, (void *)20L);
	pthread_create(&t[2], NULL, w3_start, (void *)30L);
	leader_wait(3);
	return 0;
}
