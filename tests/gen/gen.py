#!/usr/bin/env python3
"""Generated-checkpoint tests (issue #3, acceptance items 3 and 4).

Each case writes CRIU image directories at test time with the project's own
generator (tools/c2c-mkimg.py, from a JSON spec built here), converts them
with the ckpt2core CLI and asserts the exact result: core content read from
the ELF file at virtual addresses, warning and error text, exit status.
Nothing binary is committed; everything is produced under --work.

    gen.py CASE --ckpt2core BIN --mkimg tools/c2c-mkimg.py --work DIR [--fixtures DIR]

Cases: chain3 chain3-missing styles lazy cycle root dontdump manyvmas multiproc.
Exit status: 0 pass, 1 fail, 77 skipped (a needed tool such as gdb is missing).

The core is parsed here, independently of the converter and of binutils:
ELF header, program headers (with PN_XNUM extended numbering), PT_NOTE
records (NT_PRSTATUS, NT_PRPSINFO, NT_FILE); memory is read at a virtual
address from the PT_LOAD that holds it with file data (p_filesz).
The generator's images are decoded here too (image framing and the protobuf
wire format), to check that each case really exercises what it claims to.
Python 3 standard library only.
"""

import argparse
import bisect
import json
import os
import re
import shutil
import struct
import subprocess
import sys

PS = 4096
SKIP = 77

# CRIU PagemapEntry flags (images/pagemap.proto, criu/include/pagemap.h).
PE_PARENT, PE_LAZY, PE_PRESENT = 1, 2, 4


class Fail(Exception):
    pass


class Skip(Exception):
    pass


def log(msg):
    print(msg, flush=True)


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def expect_eq(got, want, what):
    if got != want:
        raise Fail("%s:\n  got:  %r\n  want: %r" % (what, got, want))


# ---------------------------------------------------------------------------
# ELF core reader
# ---------------------------------------------------------------------------

PT_LOAD, PT_NOTE = 1, 4
PN_XNUM = 0xffff
NT_PRSTATUS, NT_PRPSINFO, NT_FILE = 1, 3, 0x46494c45


class Core:
    """An x86_64 ELF core file, read with plain struct unpacking."""

    def __init__(self, path):
        self.path = path
        self.f = open(path, "rb")
        eh = self.f.read(64)
        check(len(eh) == 64 and eh[:4] == b"\x7fELF", "%s: not an ELF file" % path)
        check(eh[4] == 2 and eh[5] == 1, "%s: not ELFCLASS64 little-endian" % path)
        (_, self.e_type, self.e_machine, _, _, self.e_phoff, self.e_shoff, _, _,
         self.e_phentsize, self.e_phnum, self.e_shentsize, self.e_shnum,
         self.e_shstrndx) = struct.unpack("<16sHHIQQQIHHHHHH", eh)
        check(self.e_type == 4, "%s: e_type %d, not ET_CORE" % (path, self.e_type))
        check(self.e_machine == 62, "%s: e_machine %d, not EM_X86_64" % (path, self.e_machine))
        check(self.e_phentsize == 56, "%s: e_phentsize %d" % (path, self.e_phentsize))
        self.shdr0 = None
        phnum = self.e_phnum
        if phnum == PN_XNUM:
            # Extended numbering (elf(5), fs/binfmt_elf.c fill_extnum_info):
            # the real count is in section header 0's sh_info.
            check(self.e_shoff and self.e_shnum == 1 and self.e_shentsize == 64,
                  "%s: PN_XNUM but e_shoff %#x e_shnum %d e_shentsize %d" %
                  (path, self.e_shoff, self.e_shnum, self.e_shentsize))
            self.f.seek(self.e_shoff)
            sh = struct.unpack("<IIQQQQIIQQ", self.f.read(64))
            self.shdr0 = dict(zip(("name", "type", "flags", "addr", "offset", "size",
                                   "link", "info", "addralign", "entsize"), sh))
            phnum = self.shdr0["info"]
        self.phnum = phnum
        self.f.seek(self.e_phoff)
        raw = self.f.read(56 * phnum)
        check(len(raw) == 56 * phnum, "%s: program header table truncated" % path)
        self.phdrs = [dict(zip(("type", "flags", "offset", "vaddr", "paddr", "filesz",
                                "memsz", "align"), struct.unpack_from("<IIQQQQQQ", raw, 56 * i)))
                      for i in range(phnum)]
        self.loads = [p for p in self.phdrs if p["type"] == PT_LOAD]
        self.data_loads = [p for p in self.loads if p["filesz"]]
        self._starts = [p["vaddr"] for p in self.data_loads]
        for a, b in zip(self.data_loads, self.data_loads[1:]):
            check(a["vaddr"] + a["filesz"] <= b["vaddr"],
                  "%s: PT_LOADs with data overlap at %#x" % (path, b["vaddr"]))
        self.notes = []
        for p in self.phdrs:
            if p["type"] != PT_NOTE:
                continue
            self.f.seek(p["offset"])
            buf = self.f.read(p["filesz"])
            check(len(buf) == p["filesz"], "%s: PT_NOTE truncated" % path)
            off = 0
            while off + 12 <= len(buf):
                namesz, descsz, ntype = struct.unpack_from("<III", buf, off)
                off += 12
                name = buf[off:off + namesz].rstrip(b"\0").decode("latin-1")
                off += (namesz + 3) & ~3
                desc = buf[off:off + descsz]
                check(len(desc) == descsz, "%s: note %#x truncated" % (path, ntype))
                off += (descsz + 3) & ~3
                self.notes.append((name, ntype, desc))

    def close(self):
        self.f.close()

    def note_descs(self, ntype, name="CORE"):
        return [d for n, t, d in self.notes if t == ntype and n == name]

    def prstatus(self):
        """[{pid, ppid, pgrp, sid}] of each NT_PRSTATUS, in note order."""
        out = []
        for d in self.note_descs(NT_PRSTATUS):
            check(len(d) == 336, "NT_PRSTATUS of %d bytes, expected 336" % len(d))
            pid, ppid, pgrp, sid = struct.unpack_from("<iiii", d, 32)
            out.append({"pid": pid, "ppid": ppid, "pgrp": pgrp, "sid": sid})
        return out

    def prpsinfo(self):
        d = self.note_descs(NT_PRPSINFO)
        check(len(d) == 1 and len(d[0]) == 136, "expected one 136-byte NT_PRPSINFO")
        d = d[0]
        pid, ppid, pgrp, sid = struct.unpack_from("<iiii", d, 24)
        return {"state": d[0], "sname": chr(d[1]), "pid": pid, "ppid": ppid, "pgrp": pgrp,
                "sid": sid, "fname": d[40:56].rstrip(b"\0").decode("latin-1")}

    def nt_file(self):
        """[(start, end, pgoff_bytes, name)] of the NT_FILE note."""
        d = self.note_descs(NT_FILE)
        check(len(d) == 1, "expected one NT_FILE note, found %d" % len(d))
        d = d[0]
        count, page_size = struct.unpack_from("<QQ", d, 0)
        names = d[16 + 24 * count:].split(b"\0")
        check(len(names) >= count, "NT_FILE: %d names for %d entries" % (len(names), count))
        out = []
        for i in range(count):
            s, e, pg = struct.unpack_from("<QQQ", d, 16 + 24 * i)
            out.append((s, e, pg * page_size, names[i].decode()))
        return out

    def _load_at(self, addr):
        i = bisect.bisect_right(self._starts, addr) - 1
        if i >= 0:
            p = self.data_loads[i]
            if addr < p["vaddr"] + p["filesz"]:
                return p
        return None

    def has_data(self, addr):
        """True when some PT_LOAD holds file data for the byte at addr."""
        return self._load_at(addr) is not None

    def read(self, addr, n):
        """n bytes at virtual address addr, or None when any of them has no data."""
        out = b""
        while n:
            p = self._load_at(addr)
            if p is None:
                return None
            k = min(n, p["vaddr"] + p["filesz"] - addr)
            self.f.seek(p["offset"] + addr - p["vaddr"])
            chunk = self.f.read(k)
            check(len(chunk) == k, "%s: PT_LOAD at %#x extends past the end of the file" %
                  (self.path, p["vaddr"]))
            out += chunk
            addr += k
            n -= k
        return out

    def load_table(self):
        return [(p["vaddr"], p["memsz"], p["filesz"], p["flags"]) for p in self.loads]

    def load_bytes(self):
        """Every PT_LOAD's file data, in table order."""
        out = []
        for p in self.loads:
            self.f.seek(p["offset"])
            out.append(self.f.read(p["filesz"]))
        return out


def file_contains(path, needle):
    """Whether the bytes `needle` occur anywhere in the file (streamed)."""
    keep = len(needle) - 1
    tail = b""
    with open(path, "rb") as f:
        while True:
            buf = f.read(1 << 20)
            if not buf:
                return False
            if needle in tail + buf:
                return True
            tail = (tail + buf)[-keep:] if keep else b""


# ---------------------------------------------------------------------------
# CRIU image reader (framing + protobuf wire format), for checking premises
# ---------------------------------------------------------------------------

IMG_COMMON = 0x54564319


def read_varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7f) << shift
        shift += 7
        if not c & 0x80:
            return v, i


def pb_fields(b):
    """{field number: [values]}: varints as ints, length-delimited as bytes."""
    out, i = {}, 0
    while i < len(b):
        key, i = read_varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(b, i)
        elif wt == 1:
            v = struct.unpack_from("<Q", b, i)[0]
            i += 8
        elif wt == 5:
            v = struct.unpack_from("<I", b, i)[0]
            i += 4
        elif wt == 2:
            n, i = read_varint(b, i)
            v = b[i:i + n]
            i += n
        else:
            raise Fail("unsupported protobuf wire type %d" % wt)
        out.setdefault(num, []).append(v)
    return out


def image_records(path):
    """[(offset of the record's length word, {field: [values]})]."""
    with open(path, "rb") as f:
        b = f.read()
    pos = 8 if struct.unpack_from("<I", b, 0)[0] == IMG_COMMON else 4
    out = []
    while pos < len(b):
        n = struct.unpack_from("<I", b, pos)[0]
        out.append((pos, pb_fields(b[pos + 4:pos + 4 + n])))
        pos += 4 + n
    return out


def pagemap_entries(path):
    """PagemapEntry records after the head: [(record index, offset, fields)]."""
    recs = image_records(path)
    return [(i, off, f) for i, (off, f) in enumerate(recs) if i > 0]


def pm_vaddr(f):
    return f[1][0]


def pm_npages(f):
    return f[5][0] if 5 in f else f[2][0]


def pm_flags(f):
    if f.get(3, [0])[0]:
        return PE_PARENT
    return f[4][0] if 4 in f else PE_PRESENT


# ---------------------------------------------------------------------------
# Expected page content: the generator's marker pages (tools/README.md)
# ---------------------------------------------------------------------------

def marker_text(pid, addr, tag=None):
    return "C2C pid=%d vaddr=%#x" % (pid, addr) + (" tag=%s" % tag if tag else "")


def marker_page(pid, addr, tag=None):
    """`C2C pid=<pid> vaddr=<addr>[ tag=<tag>]`, NUL-padded to 64 bytes, then
    the page's address as little-endian u64 words."""
    head = marker_text(pid, addr, tag).encode() + b"\0"
    head = head.ljust(max(64, (len(head) + 7) & ~7), b"\0")
    return head + struct.pack("<Q", addr) * ((PS - len(head)) // 8)


def expect_pages(core, pid, base, tags, what):
    """tags: list, one per page from base: a marker tag (or "" for no tag)."""
    for i, tag in enumerate(tags):
        addr = base + i * PS
        got = core.read(addr, PS)
        if got is None:
            raise Fail("%s: page %#x has no data in %s" % (what, addr, core.path))
        want = marker_page(pid, addr, tag or None)
        if got != want:
            raise Fail("%s: page %#x: got %r..., want %r..." %
                       (what, addr, got[:64].rstrip(b"\0"), want[:64].rstrip(b"\0")))


# ---------------------------------------------------------------------------
# Running things
# ---------------------------------------------------------------------------

class Env:
    def __init__(self, a):
        self.bin = os.path.abspath(a.ckpt2core)
        self.mkimg = os.path.abspath(a.mkimg)
        self.work = os.path.abspath(a.work)
        self.fixtures = os.path.abspath(a.fixtures) if a.fixtures else None
        if os.path.lexists(self.work):
            shutil.rmtree(self.work)
        os.makedirs(self.work)

    def path(self, *p):
        return os.path.join(self.work, *p)

    def generate(self, name, spec):
        """Write SPEC as WORK/NAME.json and generate WORK/NAME; returns the path."""
        sp, out = self.path(name + ".json"), self.path(name)
        with open(sp, "w") as f:
            json.dump(spec, f, indent=1)
        r = subprocess.run([sys.executable, self.mkimg, sp, "-o", out],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise Fail("c2c-mkimg %s failed (exit %d): %s" % (sp, r.returncode, r.stderr.strip()))
        return out

    def convert(self, imgdir, outdir, *opts):
        """Run ckpt2core IMGDIR -o OUTDIR [OPTS]: (exit code, stderr lines)."""
        cmd = [self.bin, imgdir, "-o", outdir] + list(opts)
        log("$ " + " ".join(cmd))
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
        lines = r.stderr.splitlines()
        for ln in lines:
            log("  | " + ln)
        log("  exit %d" % r.returncode)
        return r.returncode, lines


def warnings_of(lines):
    return [ln[len("ckpt2core: warning: "):] for ln in lines
            if ln.startswith("ckpt2core: warning: ")]


def errors_of(lines):
    return [ln[len("ckpt2core: error: "):] for ln in lines if ln.startswith("ckpt2core: error: ")]


def listing(d):
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def expect_failure(env, imgdir, outdir, want_error, *opts):
    """Conversion must exit 2 with exactly one error line, WANT_ERROR, and
    leave no core (not even a temporary file) behind."""
    rc, lines = env.convert(imgdir, outdir, *opts)
    expect_eq(rc, 2, "exit status of converting %s" % imgdir)
    expect_eq(errors_of(lines), [want_error], "error lines")
    expect_eq(listing(outdir), [], "files left in %s" % outdir)


def need_tool(name):
    p = shutil.which(name)
    if not p:
        raise Skip("%s is not installed" % name)
    return p


def gdb_strings(core, addrs):
    """gdb -batch 'x/s ADDR' for each address: {addr: the string gdb prints}."""
    gdb = need_tool("gdb")
    cmd = [gdb, "-nx", "-batch", "-c", core]
    for a in addrs:
        cmd += ["-ex", "x/s %#x" % a]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, LC_ALL="C", TERM="dumb"))
    out = {}
    for ln in r.stdout.splitlines():
        m = re.match(r"^(0x[0-9a-f]+):\s+\"(.*)\"$", ln)
        if m:
            out[int(m.group(1), 16)] = m.group(2)
    return out, r


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------

BASE = 0x7f0000000000


def hexa(a):
    return "%#x" % a


def chain_spec(final_memory, pre2_memory, pre1_memory, extra_vmas=()):
    return {
        "style": "criu4",
        "predumps": [{"name": "pre1", "memory": {"1": pre1_memory}},
                     {"name": "pre2", "memory": {"1": pre2_memory}}],
        "processes": [{
            "pid": 1, "comm": "chain3",
            "vmas": [{"kind": "anon", "start": hexa(BASE), "pages": 16}] + list(extra_vmas) +
                    [{"kind": "stack", "start": "0x7ffc00000000", "pages": 8}],
            "memory": final_memory}]}


def chain_items():
    """Memory items of pre1, pre2 and the final dump for case chain3."""
    P = lambda i: hexa(BASE + i * PS)
    pre1 = [{"vaddr": P(0), "pages": 16, "tag": "pre1"}]
    pre2 = [{"vaddr": P(0), "pages": 4, "flags": "parent"},
            {"vaddr": P(4), "pages": 4, "tag": "pre2a", "merge": False},
            {"vaddr": P(8), "pages": 2, "tag": "pre2b", "merge": False},
            {"vaddr": P(10), "pages": 6, "flags": "parent"}]
    final = [{"vaddr": P(0), "pages": 2, "flags": "parent"},
             {"vaddr": P(2), "pages": 2, "tag": "final"},
             {"vaddr": P(4), "pages": 8, "flags": "parent"},
             {"vaddr": P(12), "pages": 4, "tag": "final"}]
    return pre1, pre2, final


def case_chain3(env):
    """pre1 <- pre2 <- images. Pages of the 16-page VMA at BASE resolve to:
         0-1   final PE_PARENT -> pre2 PE_PARENT -> pre1  (three levels)
         2-3   final
         4-7   pre2 (first entry)  } one final PE_PARENT entry of 8 pages spans
         8-9   pre2 (second entry) } two pre2 entries with data and a pre2
         10-11 pre1 via pre2       } PE_PARENT entry resolved in pre1
         12-15 final"""
    pre1, pre2, final = chain_items()
    out = env.generate("chain", chain_spec(final, pre2, pre1))
    images = os.path.join(out, "images")
    expect_eq(os.readlink(os.path.join(images, "parent")), "../pre2", "images/parent")
    expect_eq(os.readlink(os.path.join(out, "pre2", "parent")), "../pre1", "pre2/parent")

    # Premises: the pagemaps hold the runs described above.
    def runs(d):
        return [(pm_vaddr(f), pm_npages(f), pm_flags(f) & (PE_PARENT | PE_PRESENT))
                for _, _, f in pagemap_entries(os.path.join(out, d, "pagemap-1.img"))]
    expect_eq(runs("images"), [(BASE, 2, PE_PARENT), (BASE + 2 * PS, 2, PE_PRESENT),
                               (BASE + 4 * PS, 8, PE_PARENT), (BASE + 12 * PS, 4, PE_PRESENT)],
              "final pagemap runs")
    expect_eq(runs("pre2"), [(BASE, 4, PE_PARENT), (BASE + 4 * PS, 4, PE_PRESENT),
                             (BASE + 8 * PS, 2, PE_PRESENT), (BASE + 10 * PS, 6, PE_PARENT)],
              "pre2 pagemap runs")
    expect_eq(runs("pre1"), [(BASE, 16, PE_PRESENT)], "pre1 pagemap runs")

    o = env.path("out")
    rc, lines = env.convert(images, o)
    expect_eq(rc, 0, "exit status")
    expect_eq(warnings_of(lines), [], "warnings")
    expect_eq(listing(o), ["core.1"], "cores written")
    core = Core(os.path.join(o, "core.1"))
    tags = ["pre1"] * 2 + ["final"] * 2 + ["pre2a"] * 4 + ["pre2b"] * 2 + ["pre1"] * 2 + \
        ["final"] * 4
    expect_pages(core, 1, BASE, tags, "3-deep chain")
    log("all 16 pages resolved through the chain have the right marker")
    core.close()

    # gdb reads the same bytes from the core.
    addrs = [BASE + i * PS for i in (0, 1, 2, 4, 7, 8, 10, 11, 15)]
    got, r = gdb_strings(os.path.join(o, "core.1"), addrs)
    for a in addrs:
        want = marker_text(1, a, tags[(a - BASE) // PS])
        if got.get(a) != want:
            raise Fail("gdb x/s %#x: got %r, want %r\ngdb stdout:\n%s\ngdb stderr:\n%s" %
                       (a, got.get(a), want, r.stdout, r.stderr))
    log("gdb x/s agrees on %d pages" % len(addrs))


def case_chain3_missing(env):
    """The chain of case chain3, broken: a page marked PE_PARENT is missing."""
    pre1, pre2, final = chain_items()
    # A page marked PE_PARENT in the final dump that no parent has: the error
    # names the final pagemap and the offset/index of the record marking it.
    # (a) the missing page is in the only PE_PARENT entry;
    # (b) it is in a later PE_PARENT entry than the first one;
    # (c) pre2 marks it PE_PARENT too, and pre1 does not have it: the error
    #     is about pre2's pagemap, reached through images/parent;
    # (d) one PE_PARENT entry whose first pages the parents have (through
    #     two levels) and whose last pages no parent has.
    X = BASE + 16 * PS          # in a second VMA that no pre-dump has pages of
    vma2 = [{"kind": "anon", "start": hexa(X), "pages": 4}]
    variants = {
        "a": (final[1:2] + [{"vaddr": hexa(X + PS), "pages": 2, "flags": "parent"}],
              pre2, pre1, "images", X + PS),
        "b": (final + [{"vaddr": hexa(X + 2 * PS), "pages": 1, "flags": "parent"}],
              pre2, pre1, "images", X + 2 * PS),
        "c": (final + [{"vaddr": hexa(X), "pages": 1, "flags": "parent"}],
              pre2 + [{"vaddr": hexa(X), "pages": 1, "flags": "parent"}],
              pre1, "pre2", X),
        "d": (final[:3] + [{"vaddr": hexa(BASE + 12 * PS), "pages": 2, "tag": "final"},
                           {"vaddr": hexa(BASE + 14 * PS), "pages": 4, "flags": "parent"}],
              pre2, pre1, "images", X),
    }
    failed = []
    for v, (fm, p2m, p1m, where, miss) in sorted(variants.items()):
        out = env.generate("broken-" + v, chain_spec(fm, p2m, p1m, vma2))
        images = os.path.join(out, "images")
        pm = os.path.join(out, where, "pagemap-1.img")
        rec = [(i, off) for i, off, f in pagemap_entries(pm)
               if pm_flags(f) & PE_PARENT and pm_vaddr(f) <= miss < pm_vaddr(f) + pm_npages(f) * PS]
        check(len(rec) == 1, "premise: one PE_PARENT record of %s covers %#x" % (pm, miss))
        idx, off = rec[0]
        shown = images if where == "images" else os.path.join(images, "parent")
        want = ("'%s/pagemap-1.img': offset %d (%#x), record %d: page %#x is marked in "
                "parent, but the parent images do not have it" % (shown, off, off, idx, miss))
        try:
            expect_failure(env, images, env.path("out-broken-" + v), want)
            log("missing parent page (%s): %s" % (v, want))
        except Fail as e:
            log("variant %s: FAIL: %s" % (v, e))
            failed.append(v)
    check(not failed, "variants %s failed (see above)" % ", ".join(failed))


def styles_spec(style):
    """The same checkpoint for every style: an executable with a copied-on-write
    data page, heap, anonymous memory, a legacy shared anonymous mapping, a
    second executable mapping of another file, and a pre-dump with a parent hole."""
    P = lambda i: hexa(BASE + i * PS)
    return {
        "style": style,
        "files": [{"path": "/usr/bin/demo", "size": 16384},
                  {"path": "/usr/lib/libdemo.so.1", "size": 8192}],
        "predumps": [{"name": "pre", "memory": {"1": [
            {"vaddr": P(0), "pages": 8, "tag": "pre"},
            {"vaddr": "0x555555557000", "tag": "pre-data"}]}}],
        "processes": [{
            "pid": 1, "comm": "demo", "exe": "/usr/bin/demo",
            "threads": [{"tid": 1}, {"tid": 2}],
            "vmas": [
                {"kind": "file-private", "path": "/usr/bin/demo", "start": "0x555555554000",
                 "pages": 1},
                {"kind": "file-private", "path": "/usr/bin/demo", "start": "0x555555555000",
                 "pages": 2, "pgoff": "0x1000", "prot": "r-x"},
                {"kind": "file-private", "path": "/usr/bin/demo", "start": "0x555555557000",
                 "pages": 1, "pgoff": "0x3000", "prot": "rw-"},
                {"kind": "heap", "start": "0x555555600000", "pages": 4},
                {"kind": "anon", "start": hexa(BASE), "pages": 16},
                {"kind": "file-private", "path": "/usr/lib/libdemo.so.1",
                 "start": "0x7f0000100000", "pages": 2, "prot": "r-x"},
                {"kind": "anon-shared", "legacy": True, "shmid": 4242,
                 "start": "0x7f0000200000", "pages": 2},
                {"kind": "stack", "start": "0x7ffc00000000", "pages": 8}],
            "memory": [
                {"vaddr": "0x555555557000", "flags": "parent"},
                {"vaddr": "0x555555600000", "pages": 3, "tag": "heap"},
                {"vaddr": P(0), "pages": 4, "flags": "parent"},
                {"vaddr": P(4), "pages": 4, "tag": "final"},
                {"vaddr": P(8), "pages": 8, "run_pages": 2, "zero_fraction": 0.5,
                 "tag": "sparse"},
                {"vaddr": "0x7f0000200000", "text": "SHARED_ANON_LEGACY"}]}]}


def case_styles(env):
    cores = {}
    for style in ("criu4", "criu3", "criu3-old"):
        out = env.generate(style, styles_spec(style))
        images = os.path.join(out, "images")
        # Premises: the images are in the format the style names.
        entries = []
        for d in ("images", "pre"):
            entries += [f for _, _, f in pagemap_entries(os.path.join(out, d, "pagemap-1.img"))]
        entries += [f for _, _, f in
                    pagemap_entries(os.path.join(images, "pagemap-shmem-4242.img"))]
        fields = set().union(*[set(f) for f in entries])
        if style == "criu4":
            check(all(f.get(2) == [0] and 5 in f and 4 in f for f in entries),
                  "criu4 premise: compat_nr_pages 0, nr_pages and flags in every entry")
        elif style == "criu3":
            check(5 not in fields and 3 not in fields and all(4 in f and f[2][0] for f in entries),
                  "criu3 premise: only compat_nr_pages, flags in every entry")
        else:
            check(5 not in fields and 4 not in fields and all(f[2][0] for f in entries),
                  "criu3-old premise: only compat_nr_pages, no flags field")
            check(any(f.get(3) == [1] for f in entries), "criu3-old premise: in_parent entries")
        files = sorted(n for n in os.listdir(images) if n in ("files.img", "reg-files.img"))
        expect_eq(files, ["reg-files.img"] if style == "criu3-old" else ["files.img"],
                  "%s: file table image" % style)

        o = env.path("out-" + style)
        rc, lines = env.convert(images, o)
        expect_eq(rc, 0, "%s: exit status" % style)
        expect_eq(warnings_of(lines), [], "%s: warnings" % style)
        cores[style] = Core(os.path.join(o, "core.1"))

    ref = cores["criu4"]
    # The reference is right on its own: markers where the spec put them.
    expect_pages(ref, 1, BASE, ["pre"] * 4 + ["final"] * 4, "criu4 anon")
    expect_pages(ref, 1, 0x555555557000, ["pre-data"], "criu4 data page via parent")
    expect_pages(ref, 1, 0x555555600000, ["heap"] * 3, "criu4 heap")
    expect_eq(ref.read(0x7f0000200000, 19), b"SHARED_ANON_LEGACY\0", "criu4 shared anon")
    sparse = [ref.read(BASE + i * PS, PS) for i in range(8, 16)]
    check(sum(p == marker_page(1, BASE + (8 + i) * PS, "sparse") for i, p in enumerate(sparse))
          == 4 and sum(p == bytes(PS) for p in sparse) == 4,
          "criu4: half of the sparse range is markers, half zero pages")
    want_files = [(0x555555554000, 0x555555555000, 0, "/usr/bin/demo"),
                  (0x555555555000, 0x555555557000, 0x1000, "/usr/bin/demo"),
                  (0x555555557000, 0x555555558000, 0x3000, "/usr/bin/demo"),
                  (0x7f0000100000, 0x7f0000102000, 0, "/usr/lib/libdemo.so.1"),
                  (0x7f0000200000, 0x7f0000202000, 0, "/dev/zero (deleted)")]
    expect_eq(ref.nt_file(), want_files, "criu4 NT_FILE")
    expect_eq([p["pid"] for p in ref.prstatus()], [1, 2], "criu4 NT_PRSTATUS pids")

    for style in ("criu3", "criu3-old"):
        c = cores[style]
        expect_eq(c.load_table(), ref.load_table(), "%s: PT_LOAD table vs criu4" % style)
        for p, a, b in zip(ref.loads, ref.load_bytes(), c.load_bytes()):
            if a != b:
                raise Fail("%s: PT_LOAD %#x differs from criu4's" % (style, p["vaddr"]))
        expect_eq(c.nt_file(), ref.nt_file(), "%s: NT_FILE vs criu4" % style)
        expect_eq(c.prstatus(), ref.prstatus(), "%s: NT_PRSTATUS pids vs criu4" % style)
        log("%s: %d PT_LOADs, data and NT_FILE identical to criu4" % (style, len(c.loads)))
    for c in cores.values():
        c.close()


def case_lazy(env):
    """Lazy runs (PE_LAZY without PE_PRESENT): no data anywhere in the images."""
    P = lambda i: BASE + i * PS
    spec = {"processes": [
        {"pid": 7, "comm": "lazy",
         "vmas": [{"kind": "anon", "start": hexa(BASE), "pages": 8},
                  {"kind": "heap", "start": "0x555555600000", "pages": 4},
                  {"kind": "stack", "start": "0x7ffc00000000", "pages": 8}],
         "memory": [{"vaddr": hexa(P(0)), "pages": 2, "tag": "near"},
                    {"vaddr": hexa(P(2)), "pages": 3, "flags": "lazy"},
                    {"vaddr": hexa(P(5)), "pages": 1, "tag": "near"},
                    {"vaddr": hexa(P(6)), "pages": 2, "flags": "lazy"},
                    {"vaddr": "0x555555600000", "pages": 1, "flags": "lazy"},
                    {"vaddr": "0x555555601000", "pages": 1, "tag": "heap"}]},
        {"pid": 9, "ppid": 7, "comm": "lazy-child",
         "vmas": [{"kind": "anon", "start": hexa(BASE), "pages": 4},
                  {"kind": "stack", "start": "0x7ffc00000000", "pages": 8}],
         "memory": [{"vaddr": hexa(P(0)), "pages": 1, "flags": "lazy"},
                    {"vaddr": hexa(P(1)), "pages": 1, "tag": "child"}]},
        {"pid": 11, "ppid": 7, "comm": "eager",
         "vmas": [{"kind": "anon", "start": hexa(BASE), "pages": 1},
                  {"kind": "stack", "start": "0x7ffc00000000", "pages": 8}],
         "memory": [{"vaddr": hexa(P(0)), "tag": "eager"}]}]}
    out = env.generate("lazy", spec)
    lazy_runs = [(pm_vaddr(f), pm_npages(f)) for _, _, f in
                 pagemap_entries(os.path.join(out, "pagemap-7.img")) if pm_flags(f) == PE_LAZY]
    expect_eq(lazy_runs, [(0x555555600000, 1), (P(2), 3), (P(6), 2)],
              "premise: PE_LAZY-only runs of pid 7")

    o = env.path("out")
    rc, lines = env.convert(out, o)
    expect_eq(rc, 1, "exit status (warnings)")
    expect_eq(warnings_of(lines), [
        "process 7: 6 lazy pages are not in the images (the page server had them): "
        "left out of the core",
        "process 9: 1 lazy pages are not in the images (the page server had them): "
        "left out of the core"], "warnings")
    expect_eq(listing(o), ["core.11", "core.7", "core.9"], "cores written")

    c = Core(os.path.join(o, "core.7"))
    for a in [P(2), P(3), P(4), P(6), P(7), 0x555555600000]:
        for b in (a, a + PS - 1):
            check(not c.has_data(b), "pid 7: lazy byte %#x is in a PT_LOAD with data" % b)
    expect_pages(c, 7, P(0), ["near"] * 2, "pid 7 before the lazy run")
    expect_pages(c, 7, P(5), ["near"], "pid 7 between the lazy runs")
    expect_pages(c, 7, 0x555555601000, ["heap"], "pid 7 heap after a lazy page")
    c.close()
    c = Core(os.path.join(o, "core.9"))
    check(not c.has_data(P(0)) and not c.has_data(P(1) - 1), "pid 9: lazy page has data")
    expect_pages(c, 9, P(1), ["child"], "pid 9 after the lazy page")
    c.close()
    c = Core(os.path.join(o, "core.11"))
    expect_pages(c, 11, P(0), ["eager"], "pid 11")
    c.close()
    log("lazy pages left out, neighbours present, one warning per process")


def case_cycle(env):
    item_parent = [{"vaddr": hexa(BASE), "pages": 2, "flags": "parent"}]
    proc = {"pid": 1, "comm": "cycle",
            "vmas": [{"kind": "anon", "start": hexa(BASE), "pages": 4},
                     {"kind": "stack", "start": "0x7ffc00000000", "pages": 8}],
            "memory": item_parent}

    # 1. parent -> itself.
    out = env.generate("self", {"parent_link": ".", "processes": [proc]})
    expect_eq(os.readlink(os.path.join(out, "parent")), ".", "premise: self link")
    expect_failure(env, out, env.path("out-self"),
                   "'%s/parent': parent chain loops back to '%s'" % (out, out))

    # 2. images/parent -> ../pre1, pre1/parent -> ../images.
    spec = {"predumps": [{"name": "pre1", "parent_link": "../images",
                          "memory": {"1": item_parent}}],
            "processes": [proc]}
    out = env.generate("two", spec)
    images = os.path.join(out, "images")
    expect_eq(os.readlink(os.path.join(images, "parent")), "../pre1", "premise: images/parent")
    expect_eq(os.readlink(os.path.join(out, "pre1", "parent")), "../images",
              "premise: pre1/parent")
    expect_failure(env, images, env.path("out-two"),
                   "'%s/parent/parent': parent chain loops back to '%s'" % (images, images))

    # 3. A three-directory cycle entered from outside it: images -> pre2 -> pre1 -> pre2.
    spec = {"predumps": [{"name": "pre1", "parent_link": "../pre2",
                          "memory": {"1": item_parent}},
                         {"name": "pre2", "memory": {"1": item_parent}}],
            "processes": [proc]}
    out = env.generate("three", spec)
    images = os.path.join(out, "images")
    expect_failure(env, images, env.path("out-three"),
                   "'%s/parent/parent/parent': parent chain loops back to '%s/parent'" %
                   (images, images))

    # 4. Not a cycle but a broken chain: the parent link dangles.
    out = env.generate("dangling", {"parent_link": "../no-such-predump", "processes": [proc]})
    expect_failure(env, out, env.path("out-dangling"),
                   "'%s/parent': cannot open parent image directory" % out)
    log("cycles and a dangling parent are errors naming the chain")


def case_root(env):
    """--root: mapped files come from the root, resolved inside it."""
    secret = b"OUTSIDE_SECRET_c2c_gen_" + os.urandom(8).hex().encode()
    hostside = b"HOSTSIDE_NOT_ROOT_" + os.urandom(8).hex().encode()
    inroot = b"INROOT_CONTENT_" + os.urandom(8).hex().encode()
    match = b"MATCHING_FILE_" + os.urandom(8).hex().encode()
    size = 2 * PS

    def content(tag):
        return (tag + b"\0").ljust(size, b"\x5a")

    root = env.path("root")
    outside = env.path("outside")
    for d in (root + "/app", root + "/data", outside, env.path("data")):
        os.makedirs(d, exist_ok=True)
    # Outside the root: files an escaping path would reach on the host.
    with open(os.path.join(outside, "secret.bin"), "wb") as f:
        f.write(content(secret))
    with open(env.path("data", "real.bin"), "wb") as f:
        f.write(content(hostside))
    # Inside the root.
    with open(os.path.join(root, "data", "real.bin"), "wb") as f:
        f.write(content(inroot))
    with open(os.path.join(root, "app", "match.bin"), "wb") as f:
        f.write(content(match))
    with open(os.path.join(root, "app", "wrongsize.bin"), "wb") as f:
        f.write(content(match) + b"!")
    os.symlink("../../outside/secret.bin", os.path.join(root, "app", "rel-escape.bin"))
    os.symlink(os.path.join(outside, "secret.bin"), os.path.join(root, "app", "abs-escape.bin"))
    os.symlink("../../data/real.bin", os.path.join(root, "app", "rel-inroot.bin"))
    os.symlink("/data/real.bin", os.path.join(root, "app", "abs-inroot.bin"))

    # (path in the images, start, content of the file that must be used or
    # None, which of the two pages the images hold (copied on write)).
    # Pages in the images always win over the file; in mode "headers" a
    # private mapping is written whole only when the images hold a page of it.
    maps = [
        ("/app/rel-escape.bin", 0x7f0000100000, None, 1),
        ("/app/abs-escape.bin", 0x7f0000110000, None, None),
        ("/app/../../outside/secret.bin", 0x7f0000120000, None, 0),
        (os.path.join(outside, "secret.bin"), 0x7f0000130000, None, None),
        ("/app/rel-inroot.bin", 0x7f0000140000, inroot, None),
        ("/app/abs-inroot.bin", 0x7f0000150000, inroot, 1),
        ("/app/match.bin", 0x7f0000160000, match, 0),
        ("/app/wrongsize.bin", 0x7f0000170000, "size", 1),
    ]
    spec = {"files": [{"path": p, "size": size} for p, _, _, _ in maps],
            "processes": [{
                "pid": 1, "comm": "rooted", "exe": "/app/match.bin",
                "vmas": [{"kind": "file-private", "path": p, "start": hexa(s), "pages": 2}
                         for p, s, _, _ in maps] +
                        [{"kind": "anon", "start": hexa(BASE), "pages": 1},
                         {"kind": "stack", "start": "0x7ffc00000000", "pages": 8}],
                "memory": [{"vaddr": hexa(BASE), "tag": "anon"}] +
                          [{"vaddr": hexa(s + cow * PS), "tag": "cow"}
                           for _, s, _, cow in maps if cow is not None]}]}
    out = env.generate("root-images", spec)

    for mode in ("all", "headers"):
        o = env.path("out-" + mode)
        rc, lines = env.convert(out, o, "--root", root, "--file-pages", mode)
        want = ["'%s' is not in the root '%s': its pages are left out" % (p, root)
                for p, _, w, _ in maps if w is None]
        want.append("'%s/app/wrongsize.bin': file has %d bytes, the checkpoint recorded %d: "
                    "another version, its pages are left out" % (root, size + 1, size))
        expect_eq(rc, 1, "exit status (warnings), --file-pages %s" % mode)
        expect_eq(sorted(warnings_of(lines)), sorted(want), "warnings, --file-pages %s" % mode)
        core = os.path.join(o, "core.1")
        for needle, what in ((secret, "the file outside the root"),
                             (hostside, "the host file a symlink would reach without the root")):
            check(not file_contains(core, needle), "%s: content of %s is in the core" % (mode, what))
        c = Core(core)
        expect_pages(c, 1, BASE, ["anon"], "anonymous page")
        for p, s, w, cow in maps:
            from_file = isinstance(w, bytes) and (mode == "all" or cow is not None)
            for i in range(2):
                a = s + i * PS
                what = "--file-pages %s: %s page %d" % (mode, p, i)
                if i == cow:
                    expect_pages(c, 1, a, ["cow"], what + " (from the images)")
                elif from_file:
                    expect_eq(c.read(a, PS), content(w)[i * PS:(i + 1) * PS], what)
                else:
                    # Left out: no data (a file at offset 0 may keep an empty
                    # marker segment, p_memsz 0, at its start).
                    for b in (a, a + PS - 1):
                        check(not c.has_data(b), "%s: %#x has data" % (what, b))
        names = [n for _, _, _, n in c.nt_file()]
        expect_eq(names, [p for p, _, _, _ in maps], "%s: NT_FILE names" % mode)
        c.close()
    log("escaping paths never reach outside the root; symlinks resolve inside it")


def case_dontdump(env):
    D = 0x7f0000100000
    spec = {"processes": [{
        "pid": 1, "comm": "dontdump",
        "vmas": [{"kind": "anon", "start": hexa(BASE), "pages": 2},
                 {"kind": "anon", "start": hexa(D), "pages": 4, "madv": "0x10000"},
                 {"kind": "stack", "start": "0x7ffc00000000", "pages": 8}],
        "memory": [{"vaddr": hexa(BASE), "pages": 2, "tag": "dump"},
                   {"vaddr": hexa(D), "pages": 3, "tag": "dontdump"}]}]}
    out = env.generate("dontdump", spec)
    mm = image_records(os.path.join(out, "mm-1.img"))[0][1]
    madv = [pb_fields(v).get(9, [0])[0] for v in mm[14]]   # MmEntry.vmas, VmaEntry.madv
    check(any(m & 0x10000 for m in madv), "premise: a VMA with MADV_DONTDUMP (bit 16) in madv")

    o = env.path("out")
    rc, lines = env.convert(out, o)
    expect_eq((rc, warnings_of(lines)), (0, []), "default: exit status and warnings")
    c = Core(os.path.join(o, "core.1"))
    seg = [p for p in c.loads if p["vaddr"] == D]
    expect_eq([(p["memsz"], p["filesz"]) for p in seg], [(4 * PS, 0)],
              "default: the MADV_DONTDUMP VMA's PT_LOAD (memsz, filesz)")
    check(not any(c.has_data(D + i * PS) for i in range(4)), "default: dontdump pages have data")
    expect_pages(c, 1, BASE, ["dump"] * 2, "default: ordinary VMA")
    check(not file_contains(c.path, b"tag=dontdump"), "default: dontdump marker in the core")
    c.close()

    o = env.path("out-include")
    rc, lines = env.convert(out, o, "--include-dontdump")
    expect_eq((rc, warnings_of(lines)), (0, []), "--include-dontdump: exit and warnings")
    c = Core(os.path.join(o, "core.1"))
    seg = [p for p in c.loads if p["vaddr"] == D]
    check(seg and seg[0]["memsz"] == 4 * PS, "--include-dontdump: PT_LOAD of the VMA")
    expect_pages(c, 1, D, ["dontdump"] * 3, "--include-dontdump: dontdump VMA")
    expect_eq(c.read(D + 3 * PS, PS), bytes(PS), "--include-dontdump: untouched page is zero")
    expect_pages(c, 1, BASE, ["dump"] * 2, "--include-dontdump: ordinary VMA")
    c.close()
    log("MADV_DONTDUMP: p_filesz 0 by default, pages present with --include-dontdump")


GDB_OK_WARNING = re.compile(r"^warning: Can't open file .* during file-backed mapping note "
                            r"processing$")


def case_manyvmas(env):
    check(env.fixtures, "--fixtures is required")
    fx = os.path.join(env.fixtures, "manyvmas")
    images = os.path.join(fx, "images")
    check(os.path.isdir(images), "%s: fixture not unpacked (fx_manyvmas)" % images)
    readelf, eu_readelf, gdb = need_tool("readelf"), need_tool("eu-readelf"), need_tool("gdb")
    with open(os.path.join(fx, "pids.txt")) as f:
        pid = int(f.read().split()[0])
    o = env.path("out")
    rc, lines = env.convert(images, o)
    expect_eq((rc, warnings_of(lines)), (0, []), "exit status and warnings")
    core = os.path.join(o, "core.%d" % pid)
    c = Core(core)
    expect_eq(c.e_phnum, PN_XNUM, "e_phnum")
    check(c.phnum > 70000, "only %d program headers" % c.phnum)
    # What the kernel writes (fs/binfmt_elf.c fill_extnum_info).
    expect_eq((c.e_shnum, c.e_shstrndx, c.e_shentsize), (1, 0, 64), "e_shnum, e_shstrndx, e_shentsize")
    expect_eq({k: c.shdr0[k] for k in ("name", "type", "flags", "size", "link", "info")},
              {"name": 0, "type": 0, "flags": 0, "size": 1, "link": 0, "info": c.phnum},
              "section header 0 (sh_size = e_shnum 1, sh_link = SHN_UNDEF, sh_info = count)")
    nloads = len(c.loads)
    log("e_phnum PN_XNUM, sh_info %d, %d PT_LOAD" % (c.phnum, nloads))
    c.close()

    env_c = dict(os.environ, LC_ALL="C")
    r = subprocess.run([readelf, "-lW", core], capture_output=True, text=True, env=env_c)
    expect_eq(r.returncode, 0, "readelf -lW exit status")
    m = re.search(r"^There are (\d+) program headers", r.stdout, re.M)
    check(m, "readelf -lW: no program header count")
    expect_eq(int(m.group(1)), c.phnum, "readelf -lW program header count")
    rows = len(re.findall(r"^\s+(LOAD|NOTE)\s", r.stdout, re.M))
    expect_eq(rows, c.phnum, "readelf -lW rows")
    known = "readelf: Warning: Unexpected value (%d) in info field." % c.phnum
    bad = [ln for ln in (r.stdout + r.stderr).splitlines()
           if re.search(r"warning|error", ln, re.I) and ln.strip() != known and
           not re.match(r"^\s+(LOAD|NOTE)\s", ln)]
    expect_eq(bad, [], "readelf -lW warnings")
    log("readelf -lW: %d program headers, no warnings" % rows)

    r = subprocess.run([eu_readelf, "-l", core], capture_output=True, text=True, env=env_c)
    expect_eq(r.returncode, 0, "eu-readelf -l exit status")
    expect_eq(r.stderr.strip(), "", "eu-readelf -l stderr")
    check(not re.search(r"warning|invalid|error", r.stdout, re.I), "eu-readelf -l complains")
    rows = len(re.findall(r"^\s+(LOAD|NOTE)\s", r.stdout, re.M))
    expect_eq(rows, c.phnum, "eu-readelf -l rows")
    log("eu-readelf -l: %d program headers, no warnings" % rows)

    exe = None
    if os.path.isfile(os.path.join(fx, "exe.txt")):
        with open(os.path.join(fx, "exe.txt")) as f:
            for ln in f:
                p, e = ln.split(None, 1)
                if int(p) == pid:
                    exe = os.path.join(fx, e.strip())
    cmd = [gdb, "-nx", "-batch"] + ([exe] if exe else []) + [core, "-ex", "info inferiors",
                                                             "-ex", "bt 1"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env_c)
    out = (r.stdout + r.stderr).splitlines()
    expect_eq(r.returncode, 0, "gdb exit status")
    bad = [ln for ln in out if "warning:" in ln.lower() and not GDB_OK_WARNING.match(ln)]
    expect_eq(bad, [], "gdb warnings")
    check(any(("core.%d" % pid) in ln for ln in out) or
          any(ln.startswith("Core was generated by") for ln in out), "gdb did not load the core")
    log("gdb loads the core without warnings")


def case_multiproc(env):
    spec = {"processes": [
        {"pid": 1, "comm": "init", "threads": [{"tid": 1}, {"tid": 4}],
         "vmas": [{"kind": "anon", "start": hexa(BASE), "pages": 2},
                  {"kind": "stack", "start": "0x7ffc00000000", "pages": 16}],
         "memory": [{"vaddr": hexa(BASE), "pages": 2, "tag": "p1"}]},
        {"pid": 2, "ppid": 1, "state": "zombie", "comm": "dead-child", "exit_code": "0x2a00"},
        {"pid": 3, "ppid": 1, "pgid": 3, "state": "stopped", "comm": "stopped-child",
         "threads": [{"tid": 3}, {"tid": 5}, {"tid": 6}],
         "vmas": [{"kind": "anon", "start": hexa(BASE), "pages": 1},
                  {"kind": "stack", "start": "0x7ffd00000000", "pages": 32}],
         "memory": [{"vaddr": hexa(BASE), "tag": "p3"}]},
        {"pid": 8, "ppid": 3, "pgid": 3, "comm": "grandchild",
         "vmas": [{"kind": "anon", "start": hexa(BASE), "pages": 1},
                  {"kind": "stack", "start": "0x7ffd00000000", "pages": 8}],
         "memory": [{"vaddr": hexa(BASE), "tag": "p8"}]}]}
    out = env.generate("multi", spec)
    # The pstree, decoded here: {pid: (ppid, pgid, sid, threads)}.
    tree = {}
    for _, f in image_records(os.path.join(out, "pstree.img")):
        thr = []
        for t in f.get(5, []):
            if isinstance(t, bytes):       # packed repeated
                i = 0
                while i < len(t):
                    v, i = read_varint(t, i)
                    thr.append(v)
            else:
                thr.append(t)
        tree[f[1][0]] = (f.get(2, [0])[0], f[3][0], f[4][0], thr)
    expect_eq(sorted(tree), [1, 2, 3, 8], "premise: pstree pids")
    check(not os.path.exists(os.path.join(out, "mm-2.img")), "premise: the zombie has no mm")

    o = env.path("out")
    rc, lines = env.convert(out, o)
    expect_eq(rc, 0, "exit status")
    expect_eq(warnings_of(lines), [], "warnings")
    check("ckpt2core: process 2 (dead-child) is a zombie (it has no memory left): "
          "no core written" in lines, "no note about the zombie")
    expect_eq(listing(o), ["core.1", "core.3", "core.8"], "cores written")
    for pid, tag in ((1, "p1"), (3, "p3"), (8, "p8")):
        c = Core(os.path.join(o, "core.%d" % pid))
        ppid, pgid, sid, threads = tree[pid]
        got = c.prstatus()
        expect_eq([p["pid"] for p in got], threads, "pid %d: NT_PRSTATUS pids (leader first)" % pid)
        expect_eq({(p["ppid"], p["pgrp"], p["sid"]) for p in got}, {(ppid, pgid, sid)},
                  "pid %d: NT_PRSTATUS ppid, pgrp, sid" % pid)
        ps = c.prpsinfo()
        expect_eq((ps["pid"], ps["ppid"], ps["pgrp"], ps["sid"]), (pid, ppid, pgid, sid),
                  "pid %d: NT_PRPSINFO ids" % pid)
        if pid == 3:
            expect_eq(ps["sname"], "T", "stopped task's pr_sname")
        else:
            check(ps["sname"] not in "TZ", "pid %d: pr_sname %r" % (pid, ps["sname"]))
        expect_pages(c, pid, BASE, [tag], "pid %d memory" % pid)
        log("core.%d: threads %s, ppid %d pgrp %d sid %d, pr_sname %s" %
            (pid, threads, ppid, pgid, sid, ps["sname"]))
        c.close()


CASES = {
    "chain3": case_chain3,
    "chain3-missing": case_chain3_missing,
    "styles": case_styles,
    "lazy": case_lazy,
    "cycle": case_cycle,
    "root": case_root,
    "dontdump": case_dontdump,
    "manyvmas": case_manyvmas,
    "multiproc": case_multiproc,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("--ckpt2core", required=True)
    ap.add_argument("--mkimg", required=True, help="tools/c2c-mkimg.py")
    ap.add_argument("--work", required=True, help="scratch directory (replaced)")
    ap.add_argument("--fixtures", help="unpacked fixtures (for manyvmas)")
    a = ap.parse_args()
    try:
        env = Env(a)
        CASES[a.case](env)
    except Skip as e:
        log("SKIP: %s" % e)
        return SKIP
    except Fail as e:
        log("FAIL: %s" % e)
        return 1
    log("PASS: %s" % a.case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
