#!/usr/bin/env python3
"""arch-live.py: the state of a live process stopped under qemu-user's gdb stub,
for architectures whose qemu writes no core (riscv64 with qemu 7.2).

Two halves (tools/arch-capture.sh runs both; tests/arch/README.md "riscv64"):

  inside gdb-multiarch, stopped at the fatal signal over qemu's stub:
      source tools/arch-live.py
      python arch_live_dump("DIR")
    writes DIR/live.json (per thread, in gdb's thread order: the tid and the
    registers as the stub gives them: pc, x1..x31, f0..f31 raw, fcsr) and
    DIR/mem-ADDR.bin, one per mapping of the program's own /proc/self/maps
    (the `maps_snapshot` global) whose memory the stub can read;

  on the host:
      arch-live.py build DIR GCORE -o live.core
    packs that into an ELF core in the kernel's riscv64 layout (NT_PRSTATUS
    376 and NT_FPREGSET 264 per thread, NT_PRPSINFO with the pid and the
    program's name, NT_AUXV taken unchanged from gdb's
    gcore of the same stop, which got it from the stub; one PT_LOAD per
    mapping, filesz 0 where the stub could not read), so that
    tools/arch-describe.py describes it as it describes qemu's cores.

Every value comes from the stub; nothing is typed in. The reference for what
gdb must print is gdb's own output on the live process (gdb-live.out), not
this container.
"""

import json
import os
import re
import struct
import sys

RISCV_GREGS = ['pc'] + ['x%d' % i for i in range(1, 32)]   # = user_regs_struct order
# f0..f31 by their psABI names, as gdb names them
RISCV_FREGS = (['ft%d' % i for i in range(8)] + ['fs0', 'fs1'] + ['fa%d' % i for i in range(8)] +
               ['fs%d' % i for i in range(2, 12)] + ['ft%d' % i for i in range(8, 12)])
_RAW = re.compile(r'\(raw (0x[0-9a-f]+)\)')


def arch_live_dump(out):
    import gdb  # noqa: only inside gdb
    inf = gdb.selected_inferior()
    os.makedirs(out, exist_ok=True)
    threads = []
    cur = gdb.selected_thread()
    for t in sorted(inf.threads(), key=lambda t: t.num):
        t.switch()
        fr = gdb.newest_frame()
        regs = [int(fr.read_register(n)) & (2**64 - 1) for n in RISCV_GREGS]
        f = []
        for name in RISCV_FREGS:
            # the raw 64 bits of the register (a union of float and double in gdb)
            txt = gdb.execute('info registers %s' % name, to_string=True)
            f.append(int(_RAW.search(txt).group(1), 16))
        fcsr = int(fr.read_register('fcsr')) & 0xffffffff
        threads.append({'tid': t.ptid[1], 'num': t.num, 'regs': ['0x%x' % v for v in regs],
                        'f': ['0x%x' % v for v in f], 'fcsr': '0x%x' % fcsr})
    cur.switch()
    snap = gdb.parse_and_eval('maps_snapshot')
    addr, size = int(snap.address), snap.type.sizeof
    maps = bytes(inf.read_memory(addr, size)).split(b'\0', 1)[0].decode()
    vmas = []
    for line in maps.splitlines():
        lo, hi = (int(x, 16) for x in line.split()[0].split('-'))
        v = {'start': '0x%x' % lo, 'end': '0x%x' % hi, 'prot': line.split()[1][:3],
             'file': None}
        if 'r' in v['prot']:
            try:
                data = bytes(inf.read_memory(lo, hi - lo))
            except gdb.MemoryError:
                data = None
            if data is not None:
                v['file'] = 'mem-%x.bin' % lo
                with open(os.path.join(out, v['file']), 'wb') as fh:
                    fh.write(data)
        vmas.append(v)
    with open(os.path.join(out, 'live.json'), 'w') as fh:
        json.dump({'format': 'c2c-arch-live 1', 'threads': threads, 'maps': maps,
                   'vmas': vmas}, fh, indent=1)
        fh.write('\n')


def notes_of(path):
    with open(path, 'rb') as f:
        d = f.read()
    phoff, = struct.unpack_from('<Q', d, 32)
    phentsize, phnum = struct.unpack_from('<HH', d, 54)
    for i in range(phnum):
        t, _, off, _, _, fsz = struct.unpack_from('<IIQQQQ', d, phoff + i * phentsize)
        if t != 4:
            continue
        o = off
        while o + 12 <= off + fsz:
            nsz, dsz, typ = struct.unpack_from('<III', d, o)
            name = d[o + 12:o + 12 + nsz].rstrip(b'\0')
            do = o + 12 + ((nsz + 3) & ~3)
            yield name, typ, d[do:do + dsz]
            o = do + ((dsz + 3) & ~3)


def note(name, typ, desc):
    n = name + b'\0'
    pad = lambda b: b + bytes(-len(b) % 4)
    return struct.pack('<III', len(n), len(desc), typ) + pad(n) + pad(desc)


def build(dirname, gcore, output):
    with open(os.path.join(dirname, 'live.json')) as f:
        live = json.load(f)
    auxv = next(d for n, t, d in notes_of(gcore) if n == b'CORE' and t == 6)
    notes = b''
    for th in live['threads']:
        # struct elf_prstatus (include/uapi/linux/elfcore.h, LP64): pr_pid at
        # 32, pr_reg (user_regs_struct, 32 x u64) at 112, pr_fpvalid at 368
        pr = bytearray(376)
        struct.pack_into('<i', pr, 32, th['tid'])
        struct.pack_into('<32Q', pr, 112, *(int(v, 16) for v in th['regs']))
        struct.pack_into('<i', pr, 368, 1)
        notes += note(b'CORE', 1, bytes(pr))
        # struct __riscv_d_ext_state: u64 f[32], u32 fcsr, padded to 264
        fp = struct.pack('<32QI', *(int(v, 16) for v in th['f']), int(th['fcsr'], 16))
        notes += note(b'CORE', 2, fp + bytes(264 - len(fp)))
        if th is live['threads'][0]:
            # struct elf_prpsinfo (LP64, 136 bytes): pr_pid at 24, pr_fname[16]
            # at 40; the process is its first thread (elfutils needs the pid)
            ps = bytearray(136)
            struct.pack_into('<i', ps, 24, th['tid'])
            exe = next((l.split(None, 5)[5] for l in live['maps'].splitlines()
                        if len(l.split(None, 5)) > 5), '')
            name = os.path.basename(exe).encode()[:15]
            ps[40:40 + len(name)] = name
            notes += note(b'CORE', 3, bytes(ps))
            notes += note(b'CORE', 6, auxv)
    vmas = live['vmas']
    phnum = 1 + len(vmas)
    off = 64 + 56 * phnum
    ph = struct.pack('<IIQQQQQQ', 4, 0, off, 0, 0, len(notes), 0, 4)
    body = notes
    off += len(notes)
    off += -off % 4096
    body += bytes(-(64 + 56 * phnum + len(notes)) % 4096)
    for v in vmas:
        lo, hi = int(v['start'], 16), int(v['end'], 16)
        data = b''
        if v['file']:
            with open(os.path.join(dirname, v['file']), 'rb') as f:
                data = f.read()
        flags = sum(b for c, b in (('r', 4), ('w', 2), ('x', 1)) if c in v['prot'])
        ph += struct.pack('<IIQQQQQQ', 1, flags, off, lo, 0, len(data), hi - lo, 4096)
        body += data
        off += len(data)
    # ELF64 header: ET_CORE, EM_RISCV (243), e_flags 0 as the kernel's
    eh = b'\x7fELF' + bytes([2, 1, 1, 0]) + bytes(8)
    eh += struct.pack('<HHIQQQIHHHHHH', 4, 243, 1, 0, 64, 0, 0, 64, 56, phnum, 64, 0, 0)
    with open(output, 'wb') as f:
        f.write(eh + ph + body)


if __name__ == '__main__' and 'gdb' not in sys.modules:
    if len(sys.argv) != 6 or sys.argv[1] != 'build' or sys.argv[4] != '-o':
        sys.exit('usage: arch-live.py build DIR GCORE -o OUT.core')
    build(sys.argv[2], sys.argv[3], sys.argv[5])
