/*
 * Stage 8, api: c2c_core_backtrace, the symbolised stack of every thread of
 * a core file, unwound by elfutils' libdwfl (as eu-stack and
 * systemd-coredump do), without gdb.
 *
 * Modules come from the core's NT_FILE note (dwfl_core_file_report). With a
 * sysroot, each module's file is opened below it: elfutils 0.188 (Debian 12)
 * has no dwfl_set_sysroot, so the sysroot is handed to our find_elf callback
 * through each module's user-data slot, set before anything loads them.
 */
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "util.h"

#define MAX_FRAMES 256 /* per thread, as eu-stack's default -n */

struct bt {
	Dwfl_Callbacks callbacks; /* live as long as dwfl */
	char *debuginfo_path;	  /* NULL: elfutils' default search path */
	struct c2c_ctx *ctx;
	Dwfl *dwfl;
	const char *sysroot; /* or NULL */
	c2c_frame_fn fn;
	void *userdata;
	uint32_t tid;
	size_t index;
	int stop;
};

/* Open a module's file below the sysroot; else elfutils' own search. */
static int find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		    char **file_name, Elf **elfp)
{
	const struct bt *b = *userdata;

	if (b && b->sysroot && modname && modname[0] == '/') {
		char *path = c2c_asprintf("%s%s", b->sysroot, modname);
		int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;

		if (fd >= 0) {
			*file_name = path;
			*elfp = NULL;
			return fd;
		}
		free(path);
	}
	return dwfl_build_id_find_elf(mod, userdata, modname, base, file_name, elfp);
}

static int set_module_data(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
			   void *arg)
{
	(void)mod;
	(void)name;
	(void)start;
	*userdata = arg;
	return DWARF_CB_OK;
}

static int on_frame(Dwfl_Frame *state, void *arg)
{
	struct bt *b = arg;
	struct c2c_frame f = { .tid = b->tid, .index = b->index++ };
	Dwarf_Addr pc, pc_adj;
	bool activation;
	Dwfl_Module *mod;

	if (!dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	/* A return address points after the call: look up the call itself. */
	pc_adj = pc - (activation ? 0 : 1);
	f.pc = pc;
	mod = dwfl_addrmodule(b->dwfl, pc_adj);
	if (mod) {
		GElf_Off off = 0;
		GElf_Sym sym;
		const char *name = dwfl_module_addrinfo(mod, pc_adj, &off, &sym, NULL, NULL, NULL);
		Dwfl_Line *line = dwfl_module_getsrc(mod, pc_adj);

		f.module = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
		if (name) {
			f.symbol = name;
			f.offset = off + (pc - pc_adj);
		}
		if (line)
			f.file = dwfl_lineinfo(line, NULL, &f.line, NULL, NULL, NULL);
	}
	if (b->fn && (b->stop = b->fn(b->userdata, &f)))
		return DWARF_CB_ABORT;
	return b->index < MAX_FRAMES ? DWARF_CB_OK : DWARF_CB_ABORT;
}

static int on_thread(Dwfl_Thread *thread, void *arg)
{
	struct bt *b = arg;

	b->tid = (uint32_t)dwfl_thread_tid(thread);
	b->index = 0;
	/* An unwinding error ends this thread's stack, not the whole backtrace. */
	(void)dwfl_thread_getframes(thread, on_frame, b);
	return b->stop ? DWARF_CB_ABORT : DWARF_CB_OK;
}

int c2c_core_backtrace(struct c2c_ctx *ctx, const char *core, const char *executable,
		       const char *sysroot, c2c_frame_fn fn, void *userdata)
{
	struct bt b = { .ctx = ctx, .sysroot = sysroot, .fn = fn, .userdata = userdata };
	Elf *elf = NULL;
	int fd, r = 0;

	c2c_op_begin(ctx);
	if (!core)
		return c2c_fail(ctx, NULL, C2C_E_USAGE, "a core file is required");
	fd = open(core, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return c2c_fail(ctx, &C2C_LOC_FILE(core), C2C_E_IO, "cannot open core file");
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	b.callbacks = (Dwfl_Callbacks){ .find_elf = find_elf,
					.find_debuginfo = dwfl_standard_find_debuginfo,
					.debuginfo_path = &b.debuginfo_path };
	b.dwfl = dwfl_begin(&b.callbacks);
	if (!elf || !b.dwfl) {
		r = c2c_fail(ctx, &C2C_LOC_FILE(core), C2C_E_ELF, "cannot read core file: %s",
			     elf ? dwfl_errmsg(-1) : elf_errmsg(-1));
		goto out;
	}
	if (dwfl_core_file_report(b.dwfl, elf, executable) < 0 ||
	    dwfl_report_end(b.dwfl, NULL, NULL) != 0) {
		r = c2c_fail(ctx, &C2C_LOC_FILE(core), C2C_E_ELF, "cannot read core file: %s",
			     dwfl_errmsg(-1));
		goto out;
	}
	(void)dwfl_getmodules(b.dwfl, set_module_data, &b, 0);
	if (dwfl_core_file_attach(b.dwfl, elf) < 0) {
		r = c2c_fail(ctx, &C2C_LOC_FILE(core), C2C_E_ELF, "cannot read threads: %s",
			     dwfl_errmsg(-1));
		goto out;
	}
	if (dwfl_getthreads(b.dwfl, on_thread, &b) < 0 && !b.stop)
		r = c2c_fail(ctx, &C2C_LOC_FILE(core), C2C_E_ELF, "cannot unwind: %s",
			     dwfl_errmsg(-1));
out:
	dwfl_end(b.dwfl);
	elf_end(elf);
	close(fd);
	return r;
}
