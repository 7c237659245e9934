#!/usr/bin/env python3
"""Known-answer end-to-end test of the aarch64 backend (issue 13).

Writes an aarch64 CRIU image directory with tools/c2c-mkimg.py from a spec whose
register, FP/SIMD, TLS and memory values are chosen here, converts it with
ckpt2core, and checks the core with the tools that read it:

  readelf -nW    note order, owners and sizes of the kernel's arm64 core
                 (fs/binfmt_elf.c, arch/arm64/kernel/ptrace.c aarch64_regsets)
  readelf -lW    PT_LOAD p_align and file offsets follow the page size
  gdb-multiarch  info registers, FP/SIMD (v0, v31, fpsr, fpcr), tpidr, x/ of
                 known memory, info proc mappings (NT_FILE with the page size)
  eu-stack       reads the core: both threads, frame #0 at the spec's pc
  inspect        arch and page size in the tree and JSON reports

--page-size picks 4096, 16384 or 65536; --pac gives the threads CRIU's pac_keys
(NT_ARM_PAC_MASK, PAC_ENABLED_KEYS, PACA_KEYS, PACG_KEYS follow NT_ARM_TLS). Exit 0 pass, 1 fail, 77 skip (a tool is
missing). Standalone:
  python3 tests/aarch64/a64.py --ckpt2core build/ckpt2core --page-size 65536
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PID, TID2 = 4242, 4243
DATA = 0x420000          # known text at DATA, known words at DATA + page
LIB = 0x500000           # file-private mapping of a library at pgoff 2 pages
STACK_END = 0xfffff7ff0000

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def vregs():
    """64 words: V<n> = vregs[2n] (low) | vregs[2n+1] (high)."""
    return ["0x%016x" % (0x0101010101010101 * (n // 2 + 1) + (n & 1) * 0x1000000000000000)
            for n in range(64)]


# Pointer-authentication keys as CRIU 4.1+ saves them on a PAC CPU (the same for
# every thread of a process unless one of them reset its keys).
PAC = {"pac_address_keys": {"apiakey_lo": 0x11, "apiakey_hi": 0x12, "apibkey_lo": 0x21,
                            "apibkey_hi": 0x22, "apdakey_lo": 0x31, "apdakey_hi": 0x32,
                            "apdbkey_lo": 0x41, "apdbkey_hi": 0x42, "pac_enabled_key": 0xf},
       "pac_generic_keys": {"apgakey_lo": 0x51, "apgakey_hi": 0x52}}


def spec(ps, pac):
    regs1 = {"x%d" % i: "0x%x" % (0xa000 + i) for i in range(31)}
    regs1.update({"sp": "0x%x" % (STACK_END - 0x200), "pc": "0x400008", "pstate": "0x60001000"})
    return {
        "page_size": ps,
        "processes": [{
            "pid": PID, "comm": "a64known", "arch": "aarch64",
            "exe": "/usr/bin/a64known",
            "vmas": [
                {"kind": "anon", "start": "0x400000", "size": 2 * ps, "prot": "r-x"},
                {"kind": "anon", "start": "0x%x" % DATA, "size": 2 * ps},
                {"kind": "file-private", "path": "/usr/lib/aarch64-linux-gnu/libknown.so",
                 "start": "0x%x" % LIB, "size": ps, "pgoff": 2 * ps},
                {"kind": "stack", "start": "0x%x" % (STACK_END - 4 * ps), "size": 4 * ps},
            ],
            "memory": [
                {"vaddr": "0x%x" % DATA, "text": "A64_KNOWN_SECRET_%d" % ps},
                {"vaddr": "0x%x" % (DATA + ps), "hex": "efbeadde0df0ad0b"},
                {"vaddr": "0x%x" % LIB, "text": "COW page of libknown"},
            ],
            "threads": [
                {"tid": PID, "regs": regs1, "tls": "0xfffff7ff8700",
                 "fpsimd": {"vregs": vregs(), "fpsr": "0x8000009f", "fpcr": "0x3000000"}},
                {"tid": TID2, "regs": {"x0": "0x3333", "sp": "0x%x" % (STACK_END - 0x10000),
                                       "pc": "0x40000c", "pstate": "0x80000000"},
                 "tls": "0xfffff7ff9700", "fpsimd": {"fpsr": "0", "fpcr": "0"}},
            ] if not pac else [
                dict(t, thread_info={"pac_keys": PAC}) for t in spec(ps, False)["processes"][0]["threads"]],
            # gdb takes pointer authentication from AT_HWCAP (HWCAP_PACA | HWCAP_PACG),
            # as a PAC CPU's auxv has it, then reads NT_ARM_PAC_MASK.
            "mm": {"auxv": {"AT_HWCAP": (1 << 30) | (1 << 31) | 0xff}} if pac else {},
        }],
    }


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=120, **kw)
    return p.returncode, p.stdout, p.stderr


def notes(core):
    """(owner, size, type text) of every note, in file order."""
    _, out, _ = run(["readelf", "-nW", core])
    res = []
    for line in out.splitlines():
        m = re.match(r"\s+(\S+)\s+0x([0-9a-f]+)\s+(NT_\w+|Unknown note type: \(0x[0-9a-f]+\))", line)
        if m:
            res.append((m.group(1), int(m.group(2), 16), m.group(3)))
    return res


def check_notes(core, pac):
    got = notes(core)
    thread = [("CORE", 392, "NT_PRSTATUS"), ("CORE", 528, "NT_FPREGSET"),
              ("LINUX", 16, "NT_ARM_TLS"), ("LINUX", 16, "NT_ARM_PAC_MASK"),
              ("LINUX", 8, "NT_ARM_PAC_ENABLED_KEYS"), ("LINUX", 64, "NT_ARM_PACA_KEYS"),
              ("LINUX", 16, "NT_ARM_PACG_KEYS")]
    process = [("CORE", 136, "NT_PRPSINFO"), ("CORE", 128, "NT_SIGINFO")]
    # Kernel order: thread 1's NT_PRSTATUS, the process notes (PRPSINFO,
    # SIGINFO, AUXV, FILE), thread 1's other regsets, then every other thread.
    # readelf 2.40 names the PAC key notes "Unknown note type: (0x407)" etc.
    names = [{"(0x407)": "NT_ARM_PACA_KEYS", "(0x408)": "NT_ARM_PACG_KEYS",
              "(0x40a)": "NT_ARM_PAC_ENABLED_KEYS"}.get(n[2].split(": ")[-1], n[2]) for n in got]
    got = [(n[0], n[1], names[i]) for i, n in enumerate(got)]
    regsets = ["NT_FPREGSET", "NT_ARM_TLS"]
    if pac:
        regsets += ["NT_ARM_PAC_MASK", "NT_ARM_PAC_ENABLED_KEYS", "NT_ARM_PACA_KEYS",
                    "NT_ARM_PACG_KEYS"]
    want = (["NT_PRSTATUS", "NT_PRPSINFO", "NT_SIGINFO", "NT_AUXV", "NT_FILE"] + regsets +
            ["NT_PRSTATUS"] + regsets)
    check(names == want, "note order %s" % names)
    for n in got:
        for w in thread + process:
            if n[2] == w[2]:
                check(n[:2] == w[:2], "%s owner %s size %d (want %s %d)" % (n[2], n[0], n[1],
                                                                         w[0], w[1]))


def check_layout(core, ps):
    _, out, _ = run(["readelf", "-lW", core])
    loads = [l.split() for l in out.splitlines() if l.strip().startswith("LOAD")]
    check(len(loads) >= 4, "%d PT_LOAD segments" % len(loads))
    for l in loads:
        off, vaddr, align = int(l[1], 16), int(l[2], 16), int(l[-1], 16)
        check(align == ps and off % ps == 0 and off % ps == vaddr % ps,
              "PT_LOAD %#x: p_offset %#x, p_align %#x follow the page size %#x" %
              (vaddr, off, align, ps))
    _, hdr, _ = run(["readelf", "-hW", core])
    check(re.search(r"Machine:\s+AArch64", hdr) is not None, "e_machine EM_AARCH64")


def gdb(core, *cmds):
    cmd = ["gdb-multiarch", "-nx", "-q", "-batch", "-ex", "core-file " + core]
    for c in cmds:
        cmd += ["-ex", c]
    _, out, err = run(cmd)
    return out + err


def reg(out, name):
    m = re.search(r"^%s\s+(0x[0-9a-f]+)" % re.escape(name), out, re.M)
    return int(m.group(1), 16) if m else None


def check_gdb_pac(core):
    out = gdb(core, "info registers pauth_dmask pauth_cmask")
    mask = 0x007f000000000000  # GENMASK(54, 48): 48-bit VA (aarch64.c)
    check(reg(out, "pauth_dmask") == mask and reg(out, "pauth_cmask") == mask,
          "gdb: pauth_dmask, pauth_cmask from NT_ARM_PAC_MASK")


def check_gdb(core, ps):
    out = gdb(core, "info threads", "info registers", "p/x $v0.d.u", "p/x $v31.d.u",
              "info registers fpsr fpcr tpidr tpidr2", "x/s 0x%x" % DATA,
              "x/2xw 0x%x" % (DATA + ps), "x/s 0x%x" % LIB, "info proc mappings",
              "thread 2", "info registers x0 sp pc cpsr tpidr")
    check("Unexpected size" not in out and "too small" not in out, "no section-size warning")
    check(re.search(r"LWP %d\s+0x0+400008" % PID, out) is not None, "thread 1 (LWP %d) at pc 0x400008" % PID)
    check(re.search(r"LWP %d\s+0x0+40000c" % TID2, out) is not None, "thread 2 (LWP %d) at pc 0x40000c" % TID2)
    first = out.split("[Switching to thread 2")[0]
    for i in range(31):
        check(reg(first, "x%d" % i) == 0xa000 + i, "x%d = %#x" % (i, 0xa000 + i))
    check(reg(first, "sp") == STACK_END - 0x200, "sp")
    check(reg(first, "pc") == 0x400008, "pc")
    check(reg(first, "cpsr") == 0x60001000, "cpsr (pstate) 0x60001000")
    v = vregs()
    check("{%s, %s}" % (hex(int(v[0], 16)), hex(int(v[1], 16))) in out, "v0 = vregs[0] | vregs[1] << 64")
    check("{%s, %s}" % (hex(int(v[62], 16)), hex(int(v[63], 16))) in out, "v31 = vregs[62] | vregs[63] << 64")
    check(reg(first, "fpsr") == 0x8000009f, "fpsr 0x8000009f")
    check(reg(first, "fpcr") == 0x3000000, "fpcr 0x3000000")
    check(reg(first, "tpidr") == 0xfffff7ff8700, "tpidr of thread 1 (NT_ARM_TLS)")
    check(reg(first, "tpidr2") == 0, "tpidr2 0 (not in the images)")
    check('"A64_KNOWN_SECRET_%d"' % ps in out, "x/s of the known text")
    check(re.search(r"0x%x:\s+0xdeadbeef\s+0x0badf00d" % (DATA + ps), out) is not None, "x/2xw of known words")
    check('"COW page of libknown"' in out, "x/s of the COW page of the file mapping")
    m = re.search(r"0x%x\s+0x%x\s+0x%x\s+0x%x\s+\S*libknown.so" % (LIB, LIB + ps, ps, 2 * ps), out)
    check(m is not None, "info proc mappings: libknown.so at file offset %#x (NT_FILE page size)" % (2 * ps))
    second = out.split("[Switching to thread 2")[-1]
    check(reg(second, "x0") == 0x3333 and reg(second, "pc") == 0x40000c and
          reg(second, "tpidr") == 0xfffff7ff9700, "thread 2: x0, pc, tpidr")
    if failures:
        print(out)


def check_eustack(core):
    rc, out, err = run(["eu-stack", "--core", core])
    print(out + err)
    check("PID %d" % PID in out and "TID %d:" % PID in out and "TID %d:" % TID2 in out,
          "eu-stack: both threads")
    check(re.search(r"TID %d:\n#0\s+0x0+400008" % PID, out) is not None, "eu-stack: thread 1 #0 at pc")
    check(re.search(r"TID %d:\n#0\s+0x0+40000c" % TID2, out) is not None, "eu-stack: thread 2 #0 at pc")


def check_inspect(exe, images, ps):
    rc, out, err = run([exe, "inspect", images])
    want = "[alive, 2 threads, aarch64, %d KiB pages]" % (ps >> 10)
    check(rc == 0 and want in out, "inspect tree: %s" % want)
    rc, out, err = run([exe, "inspect", "--format", "json", images])
    p = json.loads(out)[0]["processes"][0] if rc == 0 else {}
    check(p.get("arch") == "aarch64" and p.get("page_size") == ps, "inspect JSON: arch, page_size")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt2core", required=True)
    ap.add_argument("--page-size", type=int, default=4096, choices=(4096, 16384, 65536))
    ap.add_argument("--pac", action="store_true", help="threads with pointer-authentication keys")
    ap.add_argument("--work", default=None)
    a = ap.parse_args()
    for tool in ("gdb-multiarch", "readelf", "eu-stack"):
        if not shutil.which(tool):
            print("SKIP: %s is not installed (tools/deps.sh test)" % tool)
            return 77
    work = a.work or "/tmp/c2c-a64-test/%d%s" % (a.page_size, "-pac" if a.pac else "")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    with open(os.path.join(work, "spec.json"), "w") as f:
        json.dump(spec(a.page_size, a.pac), f, indent=1)
    images, out = os.path.join(work, "images"), os.path.join(work, "out")
    rc, o, e = run([sys.executable, os.path.join(SRC, "tools", "c2c-mkimg.py"),
                    os.path.join(work, "spec.json"), "-o", images])
    if rc:
        print("FAIL: c2c-mkimg.py: " + e)
        return 1
    rc, o, e = run([a.ckpt2core, "-o", out, images])
    check(rc == 0, "ckpt2core converts (%s)" % e.strip())
    core = os.path.join(out, "core.%d" % PID)
    if rc:
        return 1
    check_notes(core, a.pac)
    check_layout(core, a.page_size)
    check_gdb(core, a.page_size)
    if a.pac:
        check_gdb_pac(core)
    check_eustack(core)
    check_inspect(a.ckpt2core, images, a.page_size)
    print("%s: %d failures" % ("FAIL" if failures else "PASS", len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
