/*
 * Stage 3, architectures: what differs between the machines CRIU dumps, in
 * one place per architecture (as elfutils' backends/): how a thread's
 * registers are decoded from its CoreEntry, and how they and the task's
 * identity are laid out in the core's notes.
 *
 * Input: the decoded CoreEntry of a thread (image stage). Output: plain
 * register state (struct c2c_regs) already in the byte layout of the notes,
 * and note descriptors for the plan stage. The protobuf-c types stay in the
 * .c files of this folder and of the image and model stages.
 */
#ifndef C2C_ARCH_H
#define C2C_ARCH_H

#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "error.h"

struct PbCoreEntry;

/* Words of elf_gregset_t the largest supported architecture has (ppc64: 48). */
#define C2C_GREG_MAX 48
/*
 * Register-set notes a thread can have after NT_PRSTATUS, and their bytes
 * (aarch64: 6 notes, 648 bytes with the pointer-authentication ones).
 */
#define C2C_REGSET_MAX 6
/* ia32: 108 (NT_PRFPREG) + 512 (NT_PRXFPREG) + 2696 (NT_X86_XSTATE, AVX-512 + PKRU) + 48 (NT_386_TLS) */
#define C2C_REGSET_BYTES 3364

#define C2C_PSARGS_MAX 80 /* ELF_PRARGSZ, include/linux/elfcore.h */
#define C2C_SIGINFO_SIZE 128 /* sizeof(siginfo_t) on every Linux architecture (SI_MAX_SIZE) */
/* Room for the largest NT_PRSTATUS or NT_PRPSINFO descriptor of any architecture. */
#define C2C_NOTE_DESC_MAX 512

/* One register-set note of a thread, in the kernel's regset order. */
struct c2c_regset {
	const char *name; /* note name: "CORE" or "LINUX" */
	uint32_t type;	  /* NT_* */
	uint32_t off, len; /* descriptor: len bytes at off in c2c_regs.data */
};

/* A thread's registers, in the layouts its notes take. */
struct c2c_regs {
	uint64_t greg[C2C_GREG_MAX]; /* elf_gregset_t: pr_reg of NT_PRSTATUS, one long a word */
	bool fpvalid;		     /* pr_fpvalid */
	size_t nsets;
	struct c2c_regset sets[C2C_REGSET_MAX];
	uint8_t data[C2C_REGSET_BYTES];
};

/* Who a note describes: the plain values NT_PRSTATUS and NT_PRPSINFO hold. */
struct c2c_task_info {
	uint32_t pid, tid, ppid, pgid, sid;
	uint32_t state; /* C2C_TASK_*, CRIU's task_state */
	int32_t nice;
	uint32_t uid, gid;
	uint64_t pf_flags;
	uint64_t sigpend, sighold;
};

/* CRIU task_state values (compel/include/uapi/task-state.h; doc §2.2.2). */
#define C2C_TASK_ALIVE 1
#define C2C_TASK_DEAD 2 /* zombie */
#define C2C_TASK_STOPPED 3

struct c2c_arch {
	const char *name;   /* as uname -m says */
	uint32_t mtype;	    /* CoreEntry.mtype (core.proto enum march) */
	uint16_t e_machine; /* EM_* */
	uint8_t elfclass;   /* ELFCLASS32 or ELFCLASS64: also the size of a long in the notes */
	bool big_endian;    /* ELFDATA2MSB: headers and every note field in big-endian order */
	uint32_t e_flags;   /* ELF_CORE_EFLAGS of the kernel's fill_elf_header */
	bool uid16;	    /* pr_uid/pr_gid of NT_PRPSINFO are 16-bit (__kernel_uid_t) */
	size_t ngreg;	    /* words (longs) of elf_gregset_t, kept as uint64_t in c2c_regs.greg */
	size_t prstatus_size, prpsinfo_size; /* at most C2C_NOTE_DESC_MAX */
	uint64_t page_size; /* page size when the auxv has no AT_PAGESZ (c2c_process.page_size) */
	/* The architecture of its 32-bit (compat) tasks, whose cores are of that machine; or NULL. */
	const struct c2c_arch *compat;

	/*
	 * Decode one thread's registers from its CoreEntry into *ret; *compat
	 * is set when the task is a 32-bit one. loc names the core image.
	 * Returns 0 or a negative error (missing register sets).
	 */
	int (*decode_thread)(struct c2c_ctx *ctx, const struct c2c_loc *loc,
			     const struct PbCoreEntry *ce, uint32_t tid, struct c2c_regs *ret,
			     bool *compat);
};

/*
 * The architecture of CoreEntry.mtype; NULL with an error naming it
 * (C2C_E_UNSUPPORTED) when ckpt2core cannot convert it.
 */
const struct c2c_arch *c2c_arch_lookup(struct c2c_ctx *ctx, const struct c2c_loc *loc,
				       uint32_t mtype);

/* NT_PRSTATUS descriptor (arch->prstatus_size bytes) of thread ti->tid. */
void c2c_arch_prstatus(const struct c2c_arch *arch, const struct c2c_task_info *ti,
		       const struct c2c_regs *regs, uint8_t *out);

/* NT_PRPSINFO descriptor (arch->prpsinfo_size bytes) of process ti->pid. */
void c2c_arch_prpsinfo(const struct c2c_arch *arch, const struct c2c_task_info *ti,
		       const char *fname, const char *psargs, uint8_t *out);

/*
 * Store a 16-, 32- or 64-bit value at p little endian (c2c_put*) or big endian
 * (c2c_put*_be), whatever the host's order: byte by byte, so that the compiler
 * makes a plain store of it on a host of the same order.
 */
static inline void c2c_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8);
}

static inline void c2c_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> 8 * i);
}

static inline void c2c_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> 8 * i);
}

static inline void c2c_put16_be(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}

static inline void c2c_put32_be(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> 8 * (3 - i));
}

static inline void c2c_put64_be(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> 8 * (7 - i));
}

/* EI_DATA of arch's cores: the byte order libelf encodes the headers in. */
static inline uint8_t c2c_arch_elfdata(const struct c2c_arch *arch)
{
	return arch->big_endian ? ELFDATA2MSB : ELFDATA2LSB;
}

/* Store a value at p in the byte order of arch. */
static inline void c2c_arch_put16(const struct c2c_arch *arch, uint8_t *p, uint16_t v)
{
	if (arch->big_endian)
		c2c_put16_be(p, v);
	else
		c2c_put16(p, v);
}

static inline void c2c_arch_put32(const struct c2c_arch *arch, uint8_t *p, uint32_t v)
{
	if (arch->big_endian)
		c2c_put32_be(p, v);
	else
		c2c_put32(p, v);
}

static inline void c2c_arch_put64(const struct c2c_arch *arch, uint8_t *p, uint64_t v)
{
	if (arch->big_endian)
		c2c_put64_be(p, v);
	else
		c2c_put64(p, v);
}

/* Bytes of a long (and of an auxv word, an NT_FILE field) in the notes of arch. */
static inline size_t c2c_arch_long(const struct c2c_arch *arch)
{
	return arch->elfclass == ELFCLASS32 ? 4 : 8;
}

/* Store a long of the target at p: its low 4 bytes on a 32-bit architecture. */
static inline void c2c_put_long(const struct c2c_arch *arch, uint8_t *p, uint64_t v)
{
	if (c2c_arch_long(arch) == 4)
		c2c_arch_put32(arch, p, (uint32_t)v);
	else
		c2c_arch_put64(arch, p, v);
}

/* Reserve a register-set note of len bytes in regs; NULL if it does not fit. */
uint8_t *c2c_regs_add_set(struct c2c_regs *regs, const char *name, uint32_t type, uint32_t len);

extern const struct c2c_arch c2c_arch_x86_64;
extern const struct c2c_arch c2c_arch_aarch64;
extern const struct c2c_arch c2c_arch_arm;
extern const struct c2c_arch c2c_arch_riscv64;
extern const struct c2c_arch c2c_arch_ia32; /* compat tasks of x86_64 (x86_64.c) */
extern const struct c2c_arch c2c_arch_ppc64;
extern const struct c2c_arch c2c_arch_s390x;

#endif /* C2C_ARCH_H */
