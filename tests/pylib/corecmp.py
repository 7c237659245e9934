"""Whether two ELF cores say the same to a debugger, whatever their layout.

A core converted from an archive whose pages came before their mm and
pagemap images is laid out around those pages (src/lib/plan/corebuild.c,
verbatim layout): its program headers point into them, so its bytes differ
from the core of the same images read from a directory. What gdb, elfutils
and lldb read must not: the ELF header's identity, the notes, and the memory
image, i.e. every address range's permissions, whether the core has data
for it, and that data. Adjacent PT_LOADs with the same flags that both
hold their whole range are one range here (a split segment reads the same).
"""
import hashlib
import struct


class CoreError(Exception):
    pass


def _read(f, off, n):
    f.seek(off)
    b = f.read(n)
    if len(b) != n:
        raise CoreError('short read at %d' % off)
    return b


def core_view(path):
    """(identity, notes, [(vaddr, memsz, flags, has_data, sha256 of data)])."""
    with open(path, 'rb') as f:
        eh = _read(f, 0, 64)
        if eh[:4] != b'\x7fELF':
            raise CoreError('%s: not ELF' % path)
        c64 = eh[4] == 2
        end = '<' if eh[5] == 1 else '>'
        if c64:
            (typ, mach, ver, entry, phoff, shoff, flags, ehsize, phentsize, phnum,
             shentsize, shnum, shstrndx) = struct.unpack(end + 'HHIQQQIHHHHHH', eh[16:64])
        else:
            (typ, mach, ver, entry, phoff, shoff, flags, ehsize, phentsize, phnum,
             shentsize, shnum, shstrndx) = struct.unpack(end + 'HHIIIIIHHHHHH', eh[16:52])
        if phnum == 0xffff:        # PN_XNUM: the count is in section header 0's sh_info
            sh = _read(f, shoff, shentsize)
            phnum = struct.unpack_from(end + 'I', sh, 44 if c64 else 28)[0]
        ident = (eh[:16], typ, mach, ver, entry, flags, ehsize, phentsize)
        notes = []
        loads = []
        for i in range(phnum):
            ph = _read(f, phoff + i * phentsize, phentsize)
            if c64:
                p_type, p_flags, off, vaddr, _, filesz, memsz, align = \
                    struct.unpack(end + 'IIQQQQQQ', ph)
            else:
                p_type, off, vaddr, _, filesz, memsz, p_flags, align = \
                    struct.unpack(end + 'IIIIIIII', ph)
            if p_type == 4:            # PT_NOTE
                notes.append(_read(f, off, filesz))
            elif p_type == 1:          # PT_LOAD
                loads.append([vaddr, memsz, filesz, p_flags, align, off])
        merged = []
        for vaddr, memsz, filesz, p_flags, align, off in loads:
            full = memsz > 0 and filesz == memsz
            last = merged[-1] if merged else None
            if (last and full and last['full'] and last['flags'] == p_flags and
                    last['vaddr'] + last['memsz'] == vaddr):
                last['memsz'] += memsz
                last['parts'].append((off, filesz))
                continue
            merged.append({'vaddr': vaddr, 'memsz': memsz, 'filesz': filesz, 'flags': p_flags,
                           'align': align, 'full': full, 'parts': [(off, filesz)]})
        out = []
        for m in merged:
            h = hashlib.sha256()
            for off, n in m['parts']:
                f.seek(off)
                while n:
                    b = f.read(min(n, 1 << 20))
                    if not b:
                        raise CoreError('%s: segment at %#x runs past the end' % (path, m['vaddr']))
                    h.update(b)
                    n -= len(b)
            out.append((m['vaddr'], m['memsz'], m['filesz'] if not m['full'] else m['memsz'],
                        m['flags'], m['align'], h.hexdigest()))
        return ident, notes, out


def load_offsets(path):
    """p_offset of every PT_LOAD that holds data, in program header order."""
    with open(path, 'rb') as f:
        eh = _read(f, 0, 64)
        end = '<' if eh[5] == 1 else '>'
        c64 = eh[4] == 2
        phoff = struct.unpack_from(end + ('Q' if c64 else 'I'), eh, 32 if c64 else 28)[0]
        phentsize, phnum = struct.unpack_from(end + 'HH', eh, 54 if c64 else 42)
        shoff = struct.unpack_from(end + ('Q' if c64 else 'I'), eh, 40 if c64 else 32)[0]
        if phnum == 0xffff:
            shentsize = struct.unpack_from(end + 'H', eh, 58 if c64 else 46)[0]
            phnum = struct.unpack_from(end + 'I', _read(f, shoff, shentsize), 44 if c64 else 28)[0]
        out = []
        for i in range(phnum):
            ph = _read(f, phoff + i * phentsize, phentsize)
            if c64:
                p_type, _, off, _, _, filesz, _, _ = struct.unpack(end + 'IIQQQQQQ', ph)
            else:
                p_type, off, _, _, filesz, _, _, _ = struct.unpack(end + 'IIIIIIII', ph)
            if p_type == 1 and filesz:
                out.append(off)
        return out


def core_difference(a, b):
    """None when cores a and b say the same to a debugger, else what differs."""
    va, vb = core_view(a), core_view(b)
    if va[0] != vb[0]:
        return 'ELF headers differ'
    if va[1] != vb[1]:
        return 'notes differ'
    if len(va[2]) != len(vb[2]):
        return 'memory ranges differ: %d vs %d' % (len(va[2]), len(vb[2]))
    for x, y in zip(va[2], vb[2]):
        if x != y:
            return 'memory at %#x differs (%r vs %r)' % (x[0], x[1:5], y[1:5])
    return None


def layout_free_difference(a, b):
    """None when cores a and b are byte-identical or say the same to a
    debugger (a core of a pages-first archive, laid out around its pages,
    against the direct conversion), else what differs."""
    import filecmp
    return None if filecmp.cmp(a, b, shallow=False) else core_difference(a, b)
