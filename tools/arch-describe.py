#!/usr/bin/env python3
"""arch-describe.py: describe the process state in a qemu-user (or kernel) core as JSON.

Used by tools/arch-capture.sh. Reads

  * REF.core     the core qemu-user wrote when the guest died of a signal
                 (registers of every thread, NT_AUXV, memory of each PT_LOAD),
  * GCORE.core   (optional) gdb's `gcore` of the same stopped process, taken
                 over qemu's gdb stub: the FP/SIMD registers qemu's own core
                 lacks (NT_FPREGSET); on ppc64le the vector registers come
                 from gdb's session over the stub (--stub-log),
  * BIN          the program, for two of its globals that the program fills in
                 itself before it dies: `thread_tp` (tid and thread pointer of
                 each thread) and `maps_snapshot` (its /proc/self/maps), which
                 stand in for the NT_ARM_TLS and NT_FILE notes qemu does not write,

and prints a description (format "c2c-arch-desc 1", see tests/arch/README.md):
threads with registers, VMAs with permissions and backing files, the memory
of each PT_LOAD as page runs pointing into REF.core, and the auxv.

  arch-describe.py --arch aarch64 --core REF.core [--gcore G.core] --exe BIN
                   [--sysroot DIR] [--stub-log gdb-stub.out] [--core-name NAME] [-o OUT.json]

For ia32 (a -m32 program run natively) REF.core is the kernel's own core, and
the FPU state and TLS descriptors come from its notes (x86_state_by_tid).

Python 3 standard library only; all numbers come from the files, none are typed in.
"""

import argparse
import hashlib
import json
import os
import re
import struct
import sys

NT_PRSTATUS, NT_FPREGSET, NT_PRPSINFO, NT_AUXV = 1, 2, 3, 6
NT_SIGINFO, NT_FILE = 0x53494749, 0x46494C45
NT_ARM_VFP, NT_ARM_TLS, NT_ARM_SVE = 0x400, 0x401, 0x405
NT_PPC_VMX, NT_PPC_VSX = 0x100, 0x102          # include/uapi/linux/elf.h
NT_S390_VXRS_LOW, NT_S390_VXRS_HIGH = 0x309, 0x30a
NOTE_NAMES = {1: 'NT_PRSTATUS', 2: 'NT_FPREGSET', 3: 'NT_PRPSINFO', 6: 'NT_AUXV',
              NT_SIGINFO: 'NT_SIGINFO', NT_FILE: 'NT_FILE', NT_ARM_VFP: 'NT_ARM_VFP',
              NT_ARM_TLS: 'NT_ARM_TLS', 0x402: 'NT_ARM_HW_BREAK', 0x403: 'NT_ARM_HW_WATCH',
              0x404: 'NT_ARM_SYSTEM_CALL', NT_ARM_SVE: 'NT_ARM_SVE',
              0x406: 'NT_ARM_PAC_MASK', 0x409: 'NT_ARM_TAGGED_ADDR_CTRL',
              0xff000000: 'NT_GDB_TDESC', 0x202: 'NT_X86_XSTATE',
              NT_PPC_VMX: 'NT_PPC_VMX', NT_PPC_VSX: 'NT_PPC_VSX',
              0x306: 'NT_S390_LAST_BREAK', 0x307: 'NT_S390_SYSTEM_CALL',
              NT_S390_VXRS_LOW: 'NT_S390_VXRS_LOW', NT_S390_VXRS_HIGH: 'NT_S390_VXRS_HIGH'}

NT_PRXFPREG, NT_386_TLS, NT_X86_XSTATE, NT_X86_XSAVE_LAYOUT = 0x46e62b7f, 0x200, 0x202, 0x205
NOTE_NAMES.update({NT_PRXFPREG: 'NT_PRXFPREG', NT_386_TLS: 'NT_386_TLS',
                   NT_X86_XSAVE_LAYOUT: 'NT_X86_XSAVE_LAYOUT'})

EM = {183: 'aarch64', 243: 'riscv64', 40: 'arm', 62: 'x86_64', 3: 'ia32', 21: 'ppc64le',
      22: 's390x'}

# Per architecture: offset of pr_pid and pr_reg in struct elf_prstatus, the
# register names of pr_reg in order, and the word size. From the kernel's
# include/uapi/linux/elfcore.h layout (struct elf_prstatus_common, then
# elf_gregset_t) with each ABI's long and timeval sizes.
ARCHES = {
    'aarch64': {'pid_off': 32, 'reg_off': 112, 'word': 8,
                'regs': ['x%d' % i for i in range(31)] + ['sp', 'pc', 'pstate']},
    'riscv64': {'pid_off': 32, 'reg_off': 112, 'word': 8,
                'regs': ['pc', 'ra', 'sp', 'gp', 'tp', 't0', 't1', 't2', 's0', 's1'] +
                        ['a%d' % i for i in range(8)] + ['s%d' % i for i in range(2, 12)] +
                        ['t3', 't4', 't5', 't6']},
    # i386 struct user_regs_struct (arch/x86/include/asm/user_32.h)
    'ia32': {'pid_off': 24, 'reg_off': 72, 'word': 4,
             'regs': ['ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp', 'eax', 'xds', 'xes', 'xfs',
                      'xgs', 'orig_eax', 'eip', 'xcs', 'eflags', 'esp', 'xss']},
    'arm': {'pid_off': 24, 'reg_off': 72, 'word': 4,
            'regs': ['r%d' % i for i in range(11)] + ['fp', 'ip', 'sp', 'lr', 'pc', 'cpsr',
                                                       'orig_r0']},
    # struct pt_regs (arch/powerpc/include/uapi/asm/ptrace.h): the 44 words
    # PT_REGS_COUNT of ELF_NGREG 48; gpr_get zeroes the last 4
    'ppc64le': {'pid_off': 32, 'reg_off': 112, 'word': 8,
                'regs': ['r%d' % i for i in range(32)] +
                        ['nip', 'msr', 'orig_gpr3', 'ctr', 'link', 'xer', 'ccr', 'softe',
                         'trap', 'dar', 'dsisr', 'result']},
    # s390_regs (arch/s390/include/uapi/asm/ptrace.h): psw mask and address,
    # gprs[16], acrs[16] (u32), orig_gpr2
    's390x': {'pid_off': 32, 'reg_off': 112, 'word': 8,
              'fmt': '18Q16IQ',
              'regs': ['pswm', 'pswa'] + ['r%d' % i for i in range(16)] +
                      ['a%d' % i for i in range(16)] + ['orig_gpr2']},
}


class Elf:
    def __init__(self, path):
        self.path = path
        with open(path, 'rb') as f:
            self.data = f.read()
        d = self.data
        if d[:4] != b'\x7fELF':
            raise SystemExit('%s: not an ELF file' % path)
        self.cls64 = d[4] == 2
        if d[5] not in (1, 2):
            raise SystemExit('%s: EI_DATA %d is neither ELFDATA2LSB nor ELFDATA2MSB' % (path, d[5]))
        self.bo = '<' if d[5] == 1 else '>'       # struct byte order of every field
        if self.cls64:
            (self.type, self.machine, _, _, phoff, shoff, _, _, phentsize, phnum,
             shentsize, shnum, shstrndx) = struct.unpack_from(self.bo + 'HHIQQQIHHHHHH', d, 16)
        else:
            (self.type, self.machine, _, _, phoff, shoff, _, _, phentsize, phnum,
             shentsize, shnum, shstrndx) = struct.unpack_from(self.bo + 'HHIIIIIHHHHHH', d, 16)
        self.phdrs = []
        for i in range(phnum):
            o = phoff + i * phentsize
            if self.cls64:
                t, fl, off, va, _, fsz, msz, al = struct.unpack_from(self.bo + 'IIQQQQQQ', d, o)
            else:
                t, off, va, _, fsz, msz, fl, al = struct.unpack_from(self.bo + 'IIIIIIII', d, o)
            self.phdrs.append({'type': t, 'flags': fl, 'offset': off, 'vaddr': va,
                               'filesz': fsz, 'memsz': msz, 'align': al})
        self.shdrs = []
        for i in range(shnum):
            o = shoff + i * shentsize
            if self.cls64:
                nm, t, fl, addr, off, size, link, info, al, es = struct.unpack_from(
                    self.bo + 'IIQQQQIIQQ', d, o)
            else:
                nm, t, fl, addr, off, size, link, info, al, es = struct.unpack_from(
                    self.bo + 'IIIIIIIIII', d, o)
            self.shdrs.append({'type': t, 'addr': addr, 'offset': off, 'size': size,
                               'link': link, 'entsize': es})

    def notes(self):
        for ph in self.phdrs:
            if ph['type'] != 4:
                continue
            o, end = ph['offset'], ph['offset'] + ph['filesz']
            while o + 12 <= end:
                nsz, dsz, typ = struct.unpack_from(self.bo + 'III', self.data, o)
                name = self.data[o + 12:o + 12 + nsz].rstrip(b'\0').decode('ascii', 'replace')
                do = o + 12 + ((nsz + 3) & ~3)
                yield name, typ, self.data[do:do + dsz]
                o = do + ((dsz + 3) & ~3)

    def symbols(self):
        out = {}
        for sh in self.shdrs:
            if sh['type'] != 2:          # SHT_SYMTAB
                continue
            strtab = self.shdrs[sh['link']]
            es = sh['entsize'] or (24 if self.cls64 else 16)
            for i in range(sh['size'] // es):
                o = sh['offset'] + i * es
                if self.cls64:
                    nm, info, _, shn, val, size = struct.unpack_from(self.bo + 'IBBHQQ', self.data, o)
                else:
                    nm, val, size, info, _, shn = struct.unpack_from(self.bo + 'IIIBBH', self.data, o)
                s = strtab['offset'] + nm
                name = self.data[s:self.data.index(b'\0', s)].decode('ascii', 'replace')
                if name and shn != 0:
                    out[name] = (val, size)
        return out

    def loads(self):
        return [p for p in self.phdrs if p['type'] == 1]

    def read(self, addr, size):
        """size bytes at addr, from one or more adjacent PT_LOADs."""
        out = b''
        while len(out) < size:
            a = addr + len(out)
            p = next((p for p in self.loads()
                      if p['vaddr'] <= a < p['vaddr'] + p['filesz']), None)
            if p is None:
                raise SystemExit('%s: 0x%x is not in the core' % (self.path, a))
            o = p['offset'] + a - p['vaddr']
            n = min(size - len(out), p['vaddr'] + p['filesz'] - a)
            out += self.data[o:o + n]
        return out


def prstatus_threads(core, arch):
    a = ARCHES[arch]
    w = a['word']
    fmt = core.bo + a.get('fmt', '%d%s' % (len(a['regs']), 'Q' if w == 8 else 'I'))
    threads = []
    for name, typ, desc in core.notes():
        if name == 'CORE' and typ == NT_PRSTATUS:
            signo, code, errno, cursig = struct.unpack_from(core.bo + 'iiih', desc, 0)
            pid, ppid, pgrp, sid = struct.unpack_from(core.bo + 'iiii', desc, a['pid_off'])
            vals = struct.unpack_from(fmt, desc, a['reg_off'])
            threads.append({'tid': pid, 'ppid': ppid, 'pgrp': pgrp, 'sid': sid,
                            'cursig': cursig, 'prstatus_size': len(desc),
                            'regs': dict(zip(a['regs'], ('0x%x' % v for v in vals)))})
    return threads


def fp_by_tid(gcore, arch):
    """FP/SIMD state per tid from gcore's notes (each FP note follows its thread's
    NT_PRSTATUS)."""
    out = {}
    tid = None
    a = ARCHES[arch]
    for name, typ, desc in gcore.notes():
        if name == 'CORE' and typ == NT_PRSTATUS:
            tid = struct.unpack_from(gcore.bo + 'i', desc, a['pid_off'])[0]
        elif tid is not None and arch == 'aarch64' and typ == NT_FPREGSET:
            # struct user_fpsimd_state: __uint128_t vregs[32]; u32 fpsr, fpcr; u32 __reserved[2]
            out[tid] = {'v': [desc[16 * i:16 * i + 16].hex() for i in range(32)],
                        'fpsr': '0x%x' % struct.unpack_from(gcore.bo + 'I', desc, 512)[0],
                        'fpcr': '0x%x' % struct.unpack_from(gcore.bo + 'I', desc, 516)[0],
                        'note': 'NT_FPREGSET', 'size': len(desc)}
        elif tid is not None and arch == 'riscv64' and typ == NT_FPREGSET:
            # struct __riscv_d_ext_state: u64 f[32]; u32 fcsr
            out[tid] = {'f': ['0x%x' % v for v in struct.unpack_from(gcore.bo + '32Q', desc, 0)],
                        'fcsr': '0x%x' % struct.unpack_from(gcore.bo + 'I', desc, 256)[0],
                        'note': 'NT_FPREGSET', 'size': len(desc)}
        elif tid is not None and arch == 'arm' and typ == NT_ARM_VFP:
            # struct user_vfp: u64 fpregs[32]; u32 fpscr
            out[tid] = {'d': ['0x%x' % v for v in struct.unpack_from(gcore.bo + '32Q', desc, 0)],
                        'fpscr': '0x%x' % struct.unpack_from(gcore.bo + 'I', desc, 256)[0],
                        'note': 'NT_ARM_VFP', 'size': len(desc)}
        elif tid is not None and arch == 's390x' and typ == NT_FPREGSET:
            # s390_fp_regs: u32 fpc, u32 pad, u64 fprs[16]
            out[tid] = {'fpc': '0x%x' % struct.unpack_from(gcore.bo + 'I', desc, 0)[0],
                        'f': ['0x%x' % v for v in struct.unpack_from(gcore.bo + '16Q', desc, 8)],
                        'note': 'NT_FPREGSET', 'size': len(desc)}
        elif tid is not None and arch == 's390x' and typ == NT_S390_VXRS_LOW and tid in out:
            # doubleword 1 of v0-v15 (u64 each)
            out[tid]['vxrs_low'] = ['0x%x' % v for v in struct.unpack_from(gcore.bo + '16Q', desc)]
        elif tid is not None and arch == 's390x' and typ == NT_S390_VXRS_HIGH and tid in out:
            # v16-v31: __vector128, the high doubleword first
            out[tid]['vxrs_high'] = ['0x%x' % v for v in struct.unpack_from(gcore.bo + '32Q', desc)]
        elif tid is not None and arch == 'ppc64le' and typ == NT_FPREGSET:
            # elf_fpregset_t: fpr0..fpr31, fpscr (ELF_NFPREG 33 doubles)
            out[tid] = {'fpr': ['0x%x' % v for v in struct.unpack_from(gcore.bo + '33Q', desc, 0)],
                        'note': 'NT_FPREGSET', 'size': len(desc)}
    return out


def stub_vector_regs(path):
    """ppc64le: Altivec and VSX registers per tid, from the session of gdb over
    qemu's stub (gdb-stub.out: `thread apply all info all-registers` between
    "@@" markers), since gdb 13's gcore writes no NT_PPC_VMX/NT_PPC_VSX for
    qemu's target description. vr as 16 little-endian bytes (memory order of a
    vector128), vsx = doubleword 1 of VSR0-31 (the low 64 bits of gdb's
    uint128; doubleword 0 is the FPR)."""
    out, tid, inside = {}, None, False
    with open(path) as f:
        for line in f:
            if line.startswith('@@ '):
                inside = line.startswith('@@ thread apply all info all-registers')
                continue
            if not inside:
                continue
            m = re.match(r'^Thread \d+ \(Thread \d+\.(\d+) ', line)
            if m:
                tid = int(m.group(1))
                out[tid] = {'vr': [None] * 32, 'vsx': [None] * 32}
                continue
            m = re.match(r'^(vr|vs)(\d+)\s+\{.*?uint128 = (0x[0-9a-f]+)', line)
            if m and tid is not None:
                n, v = int(m.group(2)), int(m.group(3), 16)
                if m.group(1) == 'vr':
                    out[tid]['vr'][n] = v.to_bytes(16, 'little').hex()
                elif n < 32:
                    out[tid]['vsx'][n] = '0x%x' % (v & (1 << 64) - 1)
                continue
            m = re.match(r'^(vscr|vrsave)\s+(0x[0-9a-f]+)', line)
            if m and tid is not None:
                out[tid][m.group(1)] = m.group(2)
    for tid, v in out.items():
        if None in v['vr'] or None in v['vsx'] or 'vscr' not in v or 'vrsave' not in v:
            raise SystemExit('%s: thread %d: incomplete vector registers' % (path, tid))
    return out


# XSAVE components CRIU keeps (user_x86_xsave_entry), with their standard
# (non-compacted) offsets and sizes: Intel SDM vol. 1 §13.4, CPUID leaf 0xd.
XSAVE_STD = {2: (576, 256), 5: (1088, 64), 6: (1152, 512), 7: (1664, 1024), 9: (2688, 8)}


def x86_state_by_tid(core):
    """What a kernel core of an x86 (here: ia32) process says of each thread's
    FPU and TLS: the FXSAVE image (NT_PRXFPREG), the XSAVE header and the
    components CRIU saves (NT_X86_XSTATE, at the offsets NT_X86_XSAVE_LAYOUT
    gives, else the standard ones), XCR0 (the software bytes at 464) and the
    three GDT TLS slots (NT_386_TLS, struct user_desc)."""
    out, tid, notes = {}, None, list(core.notes())
    layout = dict(XSAVE_STD)
    for name, typ, d in notes:
        if typ == NT_X86_XSAVE_LAYOUT:
            # struct x86_xfeat_component {u32 type, size, offset, flags} (uapi/linux/elf.h)
            for i in range(len(d) // 16):
                c, size, off, _ = struct.unpack_from('<IIII', d, 16 * i)
                layout[c] = (off, size)
            break
    for name, typ, d in notes:
        if name == 'CORE' and typ == NT_PRSTATUS:
            tid = struct.unpack_from('<i', d, ARCHES['ia32']['pid_off'])[0]
            out[tid] = {}
        elif tid is None:
            continue
        elif typ == NT_PRXFPREG:
            out[tid]['fxsave'] = d.hex()
        elif typ == NT_X86_XSTATE:
            xcr0 = struct.unpack_from('<Q', d, 464)[0]
            comps = {str(c): d[o:o + n].hex() for c, (o, n) in sorted(layout.items())
                     if xcr0 & (1 << c) and o + n <= len(d)}
            out[tid].update(xcr0='0x%x' % xcr0,
                            xstate_bv='0x%x' % struct.unpack_from('<Q', d, 512)[0],
                            xstate_size=len(d), components=comps)
        elif typ == NT_386_TLS:
            descs = []
            for i in range(len(d) // 16):
                num, base, limit, fl = struct.unpack_from('<IIII', d, 16 * i)
                descs.append({'entry_number': num, 'base_addr': '0x%x' % base,
                              'limit': '0x%x' % limit, 'flags': '0x%x' % fl})
            out[tid]['tls_desc'] = descs
    return out


def note_census(elf):
    return ['%s %s %d' % (n, NOTE_NAMES.get(t, hex(t)), len(d)) for n, t, d in elf.notes()]


def parse_maps(text, sysroot):
    vmas = []
    for line in text.splitlines():
        f = line.split(None, 5)
        if len(f) < 5:
            continue
        lo, hi = (int(x, 16) for x in f[0].split('-'))
        path = f[5].strip() if len(f) > 5 else ''
        v = {'start': '0x%x' % lo, 'end': '0x%x' % hi, 'prot': f[1][:3],
             'shared': f[1][3] == 's', 'pgoff': '0x%x' % int(f[2], 16)}
        if path.startswith('/'):
            v['host_path'] = path
            # qemu -L SYSROOT opened SYSROOT/x when the guest asked for /x
            if sysroot and path.startswith(sysroot.rstrip('/') + '/'):
                path = path[len(sysroot.rstrip('/')):]
            v['path'] = path
        elif path:
            v['name'] = path
        vmas.append(v)
    return vmas


def kernel_core_vmas(core, listed, w):
    """The VMAs of a kernel core: one per PT_LOAD (prot from p_flags), the
    backing file and offset from NT_FILE (fs/binfmt_elf.c fill_files_note:
    count, page size, {start, end, pgoff in pages}, names), and the name
    ([heap], [stack], [vdso], ...) and sharing of the program's own listing
    of the mapping that starts at the same address."""
    d = next(d for n, t, d in core.notes() if t == NT_FILE)
    wc = 'Q' if w == 8 else 'I'
    count, fps = struct.unpack_from('<2' + wc, d, 0)
    ents = [struct.unpack_from('<3' + wc, d, w * (2 + 3 * i)) for i in range(count)]
    names = d[w * (2 + 3 * count):].split(b'\0')
    files = {e[0]: (e, names[i].decode('utf-8', 'replace')) for i, e in enumerate(ents)}
    by_start = {int(v['start'], 16): v for v in listed}
    vmas = []
    for p in core.loads():
        lo, hi = p['vaddr'], p['vaddr'] + p['memsz']
        prot = ''.join(c if p['flags'] & b else '-' for c, b in (('r', 4), ('w', 2), ('x', 1)))
        old = by_start.get(lo, {})
        v = {'start': '0x%x' % lo, 'end': '0x%x' % hi, 'prot': prot,
             'shared': old.get('shared', False), 'pgoff': '0x0'}
        if lo in files:
            (_, _, pg), path = files[lo]
            v.update(pgoff='0x%x' % (pg * fps), host_path=path, path=path)
        elif 'name' in old:
            v['name'] = old['name']
        vmas.append(v)
    return vmas


def file_page(path, off, ps):
    try:
        with open(path, 'rb') as f:
            f.seek(off)
            b = f.read(ps)
    except OSError:
        return None
    return b + bytes(ps - len(b))


def memory_runs(core, vmas, ps):
    """Page runs of every PT_LOAD with data. Zero pages are left out (they read
    as zero anyway), and so are pages of a private file mapping that equal the
    file's page: CRIU dumps only the anonymous (copied-on-write) pages of such
    mappings, never page-cache ones."""
    runs = []
    zero = bytes(ps)
    for p in core.loads():
        if not p['filesz']:
            continue
        vma = next((v for v in vmas if int(v['start'], 16) <= p['vaddr'] < int(v['end'], 16)),
                   None)
        cur = None
        for i in range(p['filesz'] // ps):
            va = p['vaddr'] + i * ps
            off = p['offset'] + i * ps
            page = core.data[off:off + ps]
            keep = page != zero
            if keep and vma and 'host_path' in vma and not vma['shared']:
                fo = int(vma['pgoff'], 16) + va - int(vma['start'], 16)
                keep = page != file_page(vma['host_path'], fo, ps)
            if keep and cur and cur['_end'] == va:
                cur['pages'] += 1
                cur['_end'] += ps
            elif keep:
                cur = {'vaddr': va, 'pages': 1, 'core_offset': off, '_end': va + ps}
                runs.append(cur)
    for r in runs:
        del r['_end']
        o = r['core_offset']
        r['sha1'] = hashlib.sha1(core.data[o:o + r['pages'] * ps]).hexdigest()
        r['vaddr'] = '0x%x' % r['vaddr']
    return runs


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--arch', required=True, choices=sorted(ARCHES))
    ap.add_argument('--core', required=True)
    ap.add_argument('--gcore')
    ap.add_argument('--exe', required=True)
    ap.add_argument('--exe-path', help='path the process saw for its executable '
                    '(default: from its /proc/self/maps)')
    ap.add_argument('--sysroot', default='')
    ap.add_argument('--stub-log', help='ppc64le: gdb-stub.out, the vector registers '
                    'over qemu\'s stub')
    ap.add_argument('--core-name', help='name of the core in the fixture (default: basename)')
    ap.add_argument('-o', '--output')
    a = ap.parse_args(argv)

    core = Elf(a.core)
    if EM.get(core.machine) != a.arch:
        raise SystemExit('%s: e_machine %d is not %s' % (a.core, core.machine, a.arch))
    exe = Elf(a.exe)
    syms = exe.symbols()
    w = ARCHES[a.arch]['word']

    auxv_raw = next(d for n, t, d in core.notes() if t == NT_AUXV)
    auxv = list(struct.unpack(core.bo + '%d%s' % (len(auxv_raw) // w, 'Q' if w == 8 else 'I'), auxv_raw))
    ps = next(auxv[i + 1] for i in range(0, len(auxv), 2) if auxv[i] == 6)   # AT_PAGESZ

    addr, size = syms['maps_snapshot']
    maps_text = core.read(addr, size).split(b'\0', 1)[0].decode('utf-8', 'replace')
    vmas = parse_maps(maps_text, a.sysroot)

    if a.arch == 'ia32':
        # a kernel core: its PT_LOADs are the VMAs at the time of death (the
        # heap may have shrunk since the program listed its maps)
        vmas = kernel_core_vmas(core, vmas, w)
    # the VMAs the program listed must be exactly the core's PT_LOADs
    loads = [(p['vaddr'], p['vaddr'] + p['memsz']) for p in core.loads()]
    listed = [(int(v['start'], 16), int(v['end'], 16)) for v in vmas]
    if loads != listed:
        raise SystemExit('maps_snapshot and the core\'s PT_LOADs disagree:\n%s\n%s' %
                         (listed, loads))

    addr, size = syms['thread_tp']
    rec = {}
    for i in range(size // 16):      # struct tp_record { uint64_t tid, tp; }
        tid, tp = struct.unpack(core.bo + 'QQ', core.read(addr + 16 * i, 16))
        if tid:
            rec[tid] = tp

    threads = prstatus_threads(core, a.arch)
    fps = fp_by_tid(Elf(a.gcore), a.arch) if a.gcore else {}
    x86 = x86_state_by_tid(core) if a.arch == 'ia32' else {}
    for t in threads:
        if t['tid'] in rec:
            t['tls'] = '0x%x' % rec[t['tid']]
        if t['tid'] in fps:
            t['fp'] = fps[t['tid']]
        if t['tid'] in x86:
            st = x86[t['tid']]
            if 'tls_desc' in st:
                t['tls_desc'] = st.pop('tls_desc')
            t['fp'] = dict(st, note='NT_PRXFPREG + NT_X86_XSTATE of the core')
    if a.arch == 'ppc64le' and a.stub_log:
        vec = stub_vector_regs(a.stub_log)
        for t in threads:
            if t['tid'] in vec and 'fp' in t:
                t['fp'].update(vec[t['tid']])

    psinfo = next((d for n, t, d in core.notes() if t == NT_PRPSINFO), b'')
    comm = ''
    if psinfo:
        # struct elf_prpsinfo: pr_fname[16] then pr_psargs[80] at the end
        comm = psinfo[-96:-80].split(b'\0', 1)[0].decode('utf-8', 'replace')
    exe_path = a.exe_path or next((v['path'] for v in vmas if v.get('host_path') and
                                   os.path.basename(v['host_path']) ==
                                   os.path.basename(a.exe)), None)

    desc = {
        'format': 'c2c-arch-desc 1',
        'arch': a.arch,
        'page_size': ps,
        'core': a.core_name or os.path.basename(a.core),
        'exe': exe_path,
        'exe_size': os.path.getsize(a.exe),   # reg_file_entry.size CRIU records
        'comm': comm or os.path.basename(a.exe)[:15],
        'pid': threads[0]['tid'],
        'threads': threads,
        'vmas': vmas,
        'auxv': ['0x%x' % x for x in auxv],
        'memory': memory_runs(core, vmas, ps),
        'notes': {'core': note_census(core),
                  'gcore': note_census(Elf(a.gcore)) if a.gcore else []},
        'symbols': {k: '0x%x' % syms[k][0] for k in ('secret', 'array') if k in syms},
    }
    text = json.dumps(desc, indent=1) + '\n'
    if a.output:
        with open(a.output, 'w') as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
