#!/usr/bin/env python3
"""End-to-end tests of ckpt2core against gcore oracles (stdlib only).

A fixture directory (unpacked from fixtures/NAME.tar.xz) holds a real CRIU
checkpoint (images/) and, for every process N of it that gcore could dump, an
oracle taken from the same stopped process: oracle/gdb-N.out (normalised gdb
output), oracle/pages-N.sha (`vaddr sha1` of every non-zero 4 KiB page),
oracle/notes-N.txt (note census), oracle/eustack-N.out and oracle/extra.cmd.
See fixtures/PROVENANCE.md and the shared fixtures README.

Subcommands (each check converts afresh into WORK/out unless --reuse):
  unpack TARBALL DESTDIR            extract once; later runs are no-ops
  gdb     --ckpt2core BIN --fixture FIXDIR --work WORK
  pages   --ckpt2core BIN --fixture FIXDIR --work WORK
  eustack --ckpt2core BIN --fixture FIXDIR --work WORK
  notes   --ckpt2core BIN --fixture FIXDIR --work WORK
  selfcheck [--fixture FIXDIR] [--core CORE]
                                    test this harness without a converter

Exit status: 0 pass, 1 fail, 2 usage error, 77 skip (a required tool such as
gdb is not installed: CTest's SKIP_RETURN_CODE). Nothing else is a skip.
"""

import argparse
import difflib
import hashlib
import json
import mmap
import os
import re
import shlex
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
from collections import namedtuple

HERE = os.path.dirname(os.path.realpath(__file__))
GENERIC_CMD = os.path.join(HERE, "gdb-generic.cmd")

EXIT_FAIL = 1
EXIT_SKIP = 77

PAGE = 4096
ZERO_PAGE = bytes(PAGE)

# Timeouts in seconds. CTest's own TIMEOUT (600) bounds a whole check; these
# bound one child so that a hang names the command that hung.
CONVERT_TIMEOUT = 300
GDB_TIMEOUT = 300
TOOL_TIMEOUT = 400  # eu-stack on manyvmas (70 000 VMAs) takes 30-60 s alone, over 120 s on a loaded 2-CPU box

# Longest diff printed to the log; the full one is saved in WORK.
MAX_DIFF_LINES = 300


class Fail(Exception):
    """The check failed; the message says why."""


class Skip(Exception):
    """A tool the check needs is not installed."""


def log(msg=""):
    print(msg, flush=True)


# ---------------------------------------------------------------- fixtures


class Fixture:
    """One unpacked fixture directory."""

    def __init__(self, path):
        self.dir = os.path.abspath(path)
        self.name = os.path.basename(self.dir.rstrip("/"))
        if not os.path.isdir(os.path.join(self.dir, "images")):
            raise Fail("%s: not a fixture (no images/)" % self.dir)
        # exe.txt: "PID EXE" per process, EXE relative to the fixture unless
        # absolute. It lists every process of pstree.img, zombies included.
        self.exes = {}
        with open(os.path.join(self.dir, "exe.txt")) as f:
            for line in f:
                if line.strip():
                    pid, exe = line.split(None, 1)
                    exe = exe.strip()
                    self.exes[int(pid)] = exe if exe.startswith("/") else os.path.join(self.dir, exe)

    @property
    def images(self):
        return os.path.join(self.dir, "images")

    def oracle(self, kind, pid, ext):
        return os.path.join(self.dir, "oracle", "%s-%d.%s" % (kind, pid, ext))

    def oracle_pids(self):
        """Processes with a gcore oracle. gcore cannot dump a zombie, so a
        process of exe.txt without one is a zombie and must get no core."""
        return [p for p in sorted(self.exes) if os.path.exists(self.oracle("gdb", p, "out"))]

    def exe(self, pid):
        exe = self.exes[pid]
        if not os.path.exists(exe):
            raise Fail("executable %s for pid %d is not on this machine" % (exe, pid))
        return exe


def read_lines(path):
    with open(path, errors="replace") as f:
        return f.read().splitlines()


# ------------------------------------------------------------------ unpack


def tar_members_safe(tf, top):
    """Reject anything that would land outside DESTDIR/top: the tarball is
    ours, but a broken one should fail loudly, not write elsewhere."""
    for m in tf.getmembers():
        parts = m.name.split("/")
        if parts[0] != top or ".." in parts or m.name.startswith("/"):
            raise Fail("unexpected member %r in tarball (top dir must be %s/)" % (m.name, top))
        if not (m.isfile() or m.isdir() or m.issym()):
            raise Fail("unexpected member type for %r" % m.name)
        if m.issym() and (m.linkname.startswith("/") or
                          os.path.normpath(os.path.join(os.path.dirname(m.name), m.linkname)).split("/")[0] != top):
            raise Fail("symlink %r -> %r leaves the fixture" % (m.name, m.linkname))


def make_writable(root):
    """The shared fixtures are read-only and so may be the tarball's modes;
    tests and re-extraction must be able to write and delete."""
    for d, dirs, files in os.walk(root):
        for n in [d] + [os.path.join(d, x) for x in dirs + files]:
            if not os.path.islink(n):
                os.chmod(n, os.stat(n).st_mode | 0o200)


def cmd_unpack(a):
    tarball, dest = os.path.abspath(a.tarball), os.path.abspath(a.destdir)
    name = os.path.basename(tarball)
    if not name.endswith(".tar.xz"):
        raise Fail("%s: expected NAME.tar.xz" % tarball)
    name = name[: -len(".tar.xz")]
    with open(tarball, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    target = os.path.join(dest, name)
    stamp = os.path.join(dest, ".%s.sha256" % name)
    if os.path.isdir(target) and os.path.exists(stamp) and open(stamp).read().strip() == digest:
        log("unpack: %s is up to date" % target)
        return 0
    os.makedirs(dest, exist_ok=True)
    # Extract beside the target and rename, so that an interrupted run never
    # leaves a half-extracted fixture that a later run would take as done.
    tmp = tempfile.mkdtemp(prefix=".%s." % name, dir=dest)
    try:
        with tarfile.open(tarball, "r:xz") as tf:
            tar_members_safe(tf, name)
            if hasattr(tarfile, "data_filter"):
                tf.extractall(tmp, filter="data")
            else:  # Python without extraction filters: members checked above
                tf.extractall(tmp)
        make_writable(tmp)
        if os.path.exists(target):
            make_writable(target)
            shutil.rmtree(target)
        os.rename(os.path.join(tmp, name), target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with open(stamp, "w") as f:
        f.write(digest + "\n")
    log("unpack: %s -> %s" % (tarball, target))
    return 0


# --------------------------------------------------------------- converter


def need_tool(name):
    path = shutil.which(name)
    if not path:
        raise Skip("%s is not installed" % name)
    return path


WORK_MARK = ".e2e-work"


def fresh_dir(path, fx):
    """Empty WORK for a new run. Only a directory this harness made (it holds
    WORK_MARK) or an empty one is removed: a mistyped --work must not wipe
    anything else, least of all the fixture."""
    real = os.path.realpath(path)
    if (fx.dir + "/").startswith(real.rstrip("/") + "/"):
        raise Fail("refusing to use %s as work dir: it holds the fixture" % path)
    if os.path.exists(real):
        if os.listdir(real) and not os.path.exists(os.path.join(real, WORK_MARK)):
            raise Fail("refusing to empty %s: not a work dir made by e2e.py" % path)
        make_writable(real)
        shutil.rmtree(real)
    os.makedirs(real)
    open(os.path.join(real, WORK_MARK), "w").close()
    return real


def convert(a, fx):
    """Run the converter on FIXDIR/images into WORK/out and check which cores
    it wrote. Returns WORK/out."""
    out = os.path.join(os.path.abspath(a.work), "out")
    if a.reuse and os.path.isdir(out):
        log("convert: reusing %s" % out)
    else:
        work = fresh_dir(a.work, fx)
        os.makedirs(out)
        cmd = shlex.split(a.wrapper or "") + [a.ckpt2core, fx.images, "-o", out]
        if a.root:
            root = build_root(a, fx, work) if a.root == "fixture" else a.root
            cmd += ["--root", root]
            if a.file_pages:
                cmd += ["--file-pages", a.file_pages]
        log("convert: %s" % " ".join(shlex.quote(c) for c in cmd))
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                               timeout=CONVERT_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise Fail("converter did not finish within %d s" % CONVERT_TIMEOUT)
        except OSError as e:
            raise Fail("cannot run converter: %s" % e)
        with open(os.path.join(work, "convert.log"), "w") as f:
            f.write("$ %s\nexit %d\n--- stdout\n%s--- stderr\n%s" % (" ".join(cmd), r.returncode, r.stdout, r.stderr))
        if r.stderr.strip():
            log("convert: stderr:\n" + r.stderr.rstrip())
        # A zombie or any other normal process state is no error: the
        # conversion as a whole must succeed.
        if r.returncode != 0:
            raise Fail("converter exited with %d" % r.returncode)
    check_core_set(fx, out)
    return out


def iter_notes(core, phdrs=None):
    """(type, descriptor bytes) of every note in CORE's PT_NOTE segments
    (Elf64_Nhdr, name and descriptor each padded to 4 bytes)."""
    if phdrs is None:
        _hdr, phdrs = read_elf(core)
    with open(core, "rb") as f:
        for ph in phdrs:
            if ph.type != 4:  # PT_NOTE
                continue
            f.seek(ph.offset)
            data = f.read(ph.filesz)
            off = 0
            while off + 12 <= len(data):
                namesz, descsz, ntype = struct.unpack_from("<III", data, off)
                desc = off + 12 + (namesz + 3) // 4 * 4
                yield ntype, data[desc:desc + descsz]
                off = desc + (descsz + 3) // 4 * 4


def nt_file_paths(core):
    """Paths named by the NT_FILE note of CORE (kernel format: count,
    page size, count x (start, end, pgoff), then the NUL-terminated names)."""
    paths = []
    for ntype, desc in iter_notes(core):
        if ntype == 0x46494C45 and len(desc) >= 16:  # NT_FILE
            count = struct.unpack_from("<Q", desc, 0)[0]
            paths += [n.decode("utf-8", "replace") for n in desc[16 + 24 * count:].split(b"\0") if n]
    return paths


def build_root(a, fx, work):
    """A root directory for --root that holds every file the fixture's
    processes mapped, at the path they saw: the fixture's own files from
    FIXDIR/root/<path> or, for /srv/fx/<name>/<rel>, FIXDIR/<rel> (its bin/);
    system files from this machine (the same Debian 12 the fixture ran on).
    Files are hard-linked where possible. A first conversion without --root
    names the files (NT_FILE)."""
    probe = os.path.join(work, "probe")
    os.makedirs(probe)
    r = subprocess.run([a.ckpt2core, "-q", fx.images, "-o", probe], capture_output=True,
                       text=True, timeout=CONVERT_TIMEOUT)
    if r.returncode != 0:
        raise Fail("probe conversion failed (%d): %s" % (r.returncode, r.stderr.strip()))
    root = os.path.join(work, "root")
    os.makedirs(root)
    wanted = set()
    for name in os.listdir(probe):
        wanted.update(nt_file_paths(os.path.join(probe, name)))
    for path in sorted(wanted):
        if not path.startswith("/") or path.endswith(" (deleted)"):
            continue
        src = os.path.join(fx.dir, "root", path.lstrip("/"))
        parts = path.split("/")
        if not os.path.isfile(src) and path.startswith("/srv/fx/") and len(parts) > 4:
            src = os.path.join(fx.dir, *parts[4:])
        if not os.path.isfile(src):
            src = path
        if not os.path.isfile(src):
            log("root: %s: no copy of it here, left out" % path)
            continue
        dst = os.path.join(root, path.lstrip("/"))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
    log("root: %s holds %d files" % (root, sum(len(f) for _, _, f in os.walk(root))))
    return root


def check_core_set(fx, out):
    want = set(fx.oracle_pids())
    have = set()
    for n in os.listdir(out):
        m = re.fullmatch(r"core\.(\d+)", n)
        if m:
            have.add(int(m.group(1)))
    errors = []
    for p in sorted(want - have):
        errors.append("no core.%d for process %d" % (p, p))
    for p in sorted(have - want):
        if p in fx.exes:
            # e.g. states pid 2: a zombie has no memory or registers to dump
            errors.append("core.%d written for process %d, which has no oracle (a zombie): it must get none" % (p, p))
        else:
            errors.append("core.%d names no process of the checkpoint (pids: %s)" % (p, sorted(fx.exes)))
    if errors:
        raise Fail("; ".join(errors))
    log("convert: cores %s" % ", ".join("core.%d" % p for p in sorted(have)))


# -------------------------------------------------------------- comparison


def compare_lines(expected, actual, what, label_exp, label_act, save_prefix=None):
    """Line-by-line comparison. Prints `WHAT: M/N lines match` (M = oracle
    lines matched in order) and, on mismatch, a unified diff. Returns
    (matched, total, equal)."""
    sm = difflib.SequenceMatcher(None, expected, actual, autojunk=False)
    matched = sum(b.size for b in sm.get_matching_blocks())
    equal = expected == actual
    log("%s: %d/%d lines match%s" % (what, matched, len(expected),
                                     "" if equal or len(actual) == len(expected)
                                     else " (%d lines produced)" % len(actual)))
    if not equal:
        diff = list(difflib.unified_diff(expected, actual, label_exp, label_act, lineterm="", n=2))
        if save_prefix:
            with open(save_prefix + ".diff", "w") as f:
                f.write("\n".join(diff) + "\n")
        for line in diff[:MAX_DIFF_LINES]:
            log(line)
        if len(diff) > MAX_DIFF_LINES:
            log("... %d more diff lines%s" % (len(diff) - MAX_DIFF_LINES,
                                              " in %s.diff" % save_prefix if save_prefix else ""))
    return matched, len(expected), equal


# --------------------------------------------------------------------- gdb

# The oracle was normalised with exactly these rules (shared tools/gdbrun.sh);
# any other difference is a real one.
_GDB_DROP = [
    re.compile(r"^Core was generated by"),           # names the dumping command line
    re.compile(r"^\[New LWP"),                       # host-dependent thread discovery noise
    re.compile(r"libthread_db"),                     # "[Thread debugging using libthread_db ...", host paths
    # The files of file-backed mappings live on the fixture machine, not here.
    re.compile(r"^warning: Can.t open file .*during file-backed mapping note processing"),
    # gdb 13's gcore loses AVX-512 state on AMD (Intel XSAVE offsets assumed),
    # so the oracle cannot be trusted for these; fixture avx512 checks them with
    # `p/x` in extra.cmd instead, whose `$N = ...` lines are kept.
    re.compile(r"^k[0-7]  "),
    re.compile(r"^zmm[0-9]*  "),
]
_GDB_SIGNAL = re.compile(r"^(Program terminated with signal).*")


def normalise_gdb(lines):
    out = []
    for i, line in enumerate(lines):
        if any(r.search(line) for r in _GDB_DROP):
            continue
        # gdb prints a blank line before each warning, and the oracle filter
        # dropped only the warning line. The oracle machine had the fixture's
        # files at their paths (/srv/fx/...), so there gdb warned only about
        # files nobody can open, "... (deleted)" ones (memfd, /dev/zero): keep
        # the blank line of those, drop that of any other.
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line == "" and _GDB_DROP[3].search(nxt) and \
                " (deleted) during file-backed" not in nxt:
            continue
        out.append(_GDB_SIGNAL.sub(r"\1 ...", line))
    return out


def run_gdb(exe, core, extra, cwd):
    if not os.path.exists(GENERIC_CMD):  # gdb would only warn and go on
        raise Fail("%s is missing" % GENERIC_CMD)
    cmd = [need_tool("gdb"), "-nx", "-q", "-batch", "-iex", "set debuginfod enabled off",
           "-x", GENERIC_CMD]
    if extra and os.path.exists(extra):
        cmd += ["-x", extra]
    cmd += [exe, core]
    env = dict(os.environ, LC_ALL="C.UTF-8")  # the oracles were taken in a UTF-8 locale
    env.pop("DEBUGINFOD_URLS", None)
    try:
        # stderr into the same pipe, as 2>&1 did for the oracle: warnings
        # appear in the order gdb printed them.
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                           cwd=cwd, timeout=GDB_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise Fail("gdb on %s did not finish within %d s" % (core, GDB_TIMEOUT))
    return r.stdout.decode("utf-8", "replace").splitlines()


_MAPPING = re.compile(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(/.*)$")


def host_drift(fx, pid):
    """Files that gdb reads from this machine (executable, libraries) must be
    the ones the fixture ran, or symbols and backtraces differ for reasons
    outside the converter. Compare the first page of each offset-0 mapping in
    the oracle's `info proc mappings` with the oracle's page hash."""
    opath = fx.oracle("pages", pid, "sha")
    if not os.path.exists(opath):
        return []
    pages = load_oracle_pages(opath)
    notes = []
    seen = set()
    for line in read_lines(fx.oracle("gdb", pid, "out")):
        m = _MAPPING.match(line)
        if not m or int(m.group(4), 16) != 0 or m.group(5) in seen:
            continue
        path = m.group(5).strip()
        seen.add(path)
        local = path
        prefix = "/srv/fx/%s/" % fx.name  # the fixture's own binaries ran from here
        if path.startswith(prefix):
            local = os.path.join(fx.dir, path[len(prefix):])
        want = pages.get(int(m.group(1), 16))
        if want is None or not os.path.isfile(local):
            continue
        with open(local, "rb") as f:
            data = f.read(PAGE)
        data += bytes(PAGE - len(data))
        if hashlib.sha1(data).hexdigest() != want:
            notes.append("%s on this machine differs from the file the fixture ran" % local)
    return notes


def cmd_gdb(a):
    need_tool("gdb")
    fx = Fixture(a.fixture)
    out = convert(a, fx)
    work = os.path.dirname(out)
    total = matched = 0
    failed = []
    for pid in fx.oracle_pids():
        expected = read_lines(fx.oracle("gdb", pid, "out"))
        core = os.path.join(out, "core.%d" % pid)
        raw = run_gdb(fx.exe(pid), core, os.path.join(fx.dir, "oracle", "extra.cmd"), work)
        actual = normalise_gdb(raw)
        prefix = os.path.join(work, "gdb-%d" % pid)
        with open(prefix + ".raw", "w") as f:
            f.write("\n".join(raw) + "\n")
        with open(prefix + ".out", "w") as f:
            f.write("\n".join(actual) + "\n")
        m, t, ok = compare_lines(expected, actual, "gdb core.%d" % pid,
                                 "oracle/gdb-%d.out" % pid, "core.%d" % pid, prefix)
        matched += m
        total += t
        if not ok:
            failed.append(pid)
            for n in host_drift(fx, pid):
                log("note: " + n)
    log("gdb: %d/%d lines match" % (matched, total))
    if failed:
        raise Fail("gdb output differs from the oracle for %s" % ", ".join("core.%d" % p for p in failed))
    return 0


# -------------------------------------------------------------------- ELF

Phdr = namedtuple("Phdr", "type flags offset vaddr paddr filesz memsz align")

PT_LOAD, PT_NOTE = 1, 4
PN_XNUM = 0xFFFF  # <elf.h>: e_phnum escape, real count in shdr[0].sh_info
ET_CORE, EM_X86_64 = 4, 62


def read_elf(path):
    """ELF64 little-endian header and program headers of PATH.
    Returns (header dict, [Phdr]). Raises Fail on anything malformed."""
    with open(path, "rb") as f:
        data = f.read(64)
        size = os.fstat(f.fileno()).st_size
        if len(data) < 64 or data[:4] != b"\x7fELF":
            raise Fail("%s: not an ELF file" % path)
        if data[4] != 2 or data[5] != 1:
            raise Fail("%s: not ELF64 little-endian (class %d, data %d)" % (path, data[4], data[5]))
        # Elf64_Ehdr after e_ident: e_type, e_machine, e_version, e_entry,
        # e_phoff, e_shoff, e_flags, e_ehsize, e_phentsize, e_phnum,
        # e_shentsize, e_shnum, e_shstrndx
        (e_type, e_machine, _ver, _entry, e_phoff, e_shoff, _flags, _ehsize, e_phentsize,
         e_phnum, e_shentsize, e_shnum, _shstrndx) = struct.unpack_from("<HHIQQQIHHHHHH", data, 16)
        hdr = dict(type=e_type, machine=e_machine, phoff=e_phoff, shoff=e_shoff,
                   phentsize=e_phentsize, phnum=e_phnum, shnum=e_shnum, xnum=False)
        if e_phnum == PN_XNUM:
            # Extended numbering (gABI): section header 0 carries the count
            # in sh_info, at offset 44 of Elf64_Shdr.
            if e_shoff == 0 or e_shoff + 64 > size:
                raise Fail("%s: e_phnum is PN_XNUM but there is no section header 0" % path)
            f.seek(e_shoff + 44)
            hdr["phnum"] = struct.unpack("<I", f.read(4))[0]
            hdr["xnum"] = True
        if hdr["phnum"] and e_phentsize != 56:
            raise Fail("%s: e_phentsize %d, expected 56" % (path, e_phentsize))
        end = e_phoff + hdr["phnum"] * 56
        if end > size:
            raise Fail("%s: program headers end at %#x, past the end of the file (%#x)" % (path, end, size))
        f.seek(e_phoff)
        table = f.read(hdr["phnum"] * 56)
    hdr["size"] = size
    return hdr, [Phdr(*p) for p in struct.iter_unpack("<IIQQQQQQ", table)]


def core_pages(path):
    """{vaddr: sha1} of every non-zero 4 KiB page inside the p_filesz of each
    PT_LOAD. A page the file does not hold (p_filesz < p_memsz) is absent,
    like a zero page: gdb would read it from elsewhere or as zeros."""
    hdr, phdrs = read_elf(path)
    pages = {}
    if hdr["size"] == 0:
        return pages
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        for p in phdrs:
            if p.type != PT_LOAD or p.filesz == 0:
                continue
            if p.offset + p.filesz > hdr["size"]:
                raise Fail("%s: PT_LOAD at %#x ends past the end of the file" % (path, p.vaddr))
            for o in range(0, p.filesz, PAGE):
                chunk = m[p.offset + o: p.offset + min(o + PAGE, p.filesz)]
                if chunk == ZERO_PAGE[: len(chunk)]:
                    continue
                pages[p.vaddr + o] = hashlib.sha1(chunk).hexdigest()
    return pages


# ---------------------------------------------------------------- pagemaps

# CRIU images/pagemap.proto flags
PE_PARENT, PE_LAZY, PE_PRESENT = 1, 2, 4
_PE_NAMES = {"PE_PARENT": PE_PARENT, "PE_LAZY": PE_LAZY, "PE_PRESENT": PE_PRESENT}


def load_pagemap(path):
    """[(vaddr, nr_pages, flags)] from a pagemap decoded by pycriu. Old
    images (CRIU < 3.x) have no flags but in_parent, and compat_nr_pages."""
    with open(path) as f:
        entries = json.load(f)["entries"][1:]  # [0] is the pagemap head
    runs = []
    for e in entries:
        v = e["vaddr"]
        v = int(v, 16) if isinstance(v, str) else int(v)
        n = int(e.get("nr_pages") or e.get("compat_nr_pages") or 0)
        if "flags" in e:
            fl = e["flags"]
            if isinstance(fl, str):
                fl = sum(_PE_NAMES[t.strip()] for t in fl.split("|") if t.strip())
        else:
            fl = PE_PARENT if e.get("in_parent") else PE_PRESENT
        runs.append((v, n, int(fl)))
    return runs


def held_pages(fx, pid):
    """Addresses of the pages that the images hold for process PID's private
    memory: PE_PRESENT runs, and PE_PARENT runs that the parent (pre-)dump
    holds in turn. Returns (held set, note)."""
    levels = []
    for sub in ("decoded", "decoded-pre"):  # the dump, then its parent pre-dump
        p = os.path.join(fx.dir, sub, "pagemap-%d.img.json" % pid)
        if os.path.exists(p):
            levels.append(load_pagemap(p))
    if not levels:
        raise Fail("%s: no decoded/pagemap-%d.img.json" % (fx.dir, pid))
    note = ""
    held = None  # pages held at the level below the current one
    for depth, runs in reversed(list(enumerate(levels))):
        mine = set()
        unresolved = 0
        for v, n, fl in runs:
            pages = range(v, v + n * PAGE, PAGE)
            if fl & PE_PRESENT:
                mine.update(pages)
            elif fl & PE_PARENT:
                if held is None:
                    # No decoded parent pagemap to consult: count the run as
                    # held, the parent is expected to have it.
                    mine.update(pages)
                    unresolved += n
                else:
                    mine.update(x for x in pages if x in held)
        if unresolved:
            note = "%d PE_PARENT pages taken as held without a decoded parent pagemap" % unresolved
        held = mine
    return held, note


def image_page_hashes(fx, pid):
    """{vaddr: sha1 or None (zero page)} of the private pages the images
    hold, read from the pages-*.img files the way a converter must: PE_PRESENT
    runs take consecutive pages of the pagemap's pages file, PE_PARENT runs
    come from the parent. Used by selfcheck to show that the oracle and the
    images agree on every page the `pages` check demands."""
    result = None
    for dj, idir in (("decoded-pre", "pre"), ("decoded", "images")):  # parent first
        p = os.path.join(fx.dir, dj, "pagemap-%d.img.json" % pid)
        if not os.path.exists(p):
            continue
        with open(p) as f:
            pages_id = json.load(f)["entries"][0]["pages_id"]
        level = {}
        with open(os.path.join(fx.dir, idir, "pages-%d.img" % pages_id), "rb") as f:
            for v, n, fl in load_pagemap(p):
                for i in range(n):
                    a = v + i * PAGE
                    if fl & PE_PRESENT:
                        d = f.read(PAGE)
                        level[a] = None if d == ZERO_PAGE else hashlib.sha1(d).hexdigest()
                    elif fl & PE_PARENT and result is not None and a in result:
                        level[a] = result[a]
        result = level
    return result


def load_oracle_pages(path):
    with open(path) as f:
        return {int(v, 16): h for v, h in (line.split() for line in f if line.strip())}


def cmd_pages(a):
    fx = Fixture(a.fixture)
    out = convert(a, fx)
    failed = []
    tot_all = tot_all_ok = 0
    for pid in fx.oracle_pids():
        oracle = load_oracle_pages(fx.oracle("pages", pid, "sha"))
        ours = core_pages(os.path.join(out, "core.%d" % pid))
        held, note = held_pages(fx, pid)
        if note:
            log("pages core.%d: note: %s" % (pid, note))
        must = sorted(v for v in oracle if a.all_pages or v in held)
        missing = [v for v in must if v not in ours]
        wrong = [v for v in must if v in ours and ours[v] != oracle[v]]
        all_ok = sum(1 for v, h in oracle.items() if ours.get(v) == h)
        # Informational: non-zero pages we wrote at image-held addresses where
        # the oracle has none (zero there, or not dumped by gcore).
        extra = sum(1 for v in held if v in ours and v not in oracle)
        tot_all += len(oracle)
        tot_all_ok += all_ok
        log("pages core.%d: image-held %d/%d match; all oracle pages %d/%d (%.1f%%)%s" % (
            pid, len(must) - len(missing) - len(wrong), len(must), all_ok, len(oracle),
            100.0 * all_ok / max(len(oracle), 1),
            "; %d non-zero image pages the oracle has as zero" % extra if extra else ""))
        if missing or wrong:
            failed.append(pid)
            bad = sorted([(v, "missing (absent or zero in the core)") for v in missing] +
                         [(v, "different bytes") for v in wrong])
            for v, why in bad[:20]:
                log("  %#x: %s" % (v, why))
            if len(bad) > 20:
                log("  ... %d more" % (len(bad) - 20))
    log("pages: all oracle pages %d/%d matched (%.1f%%, not a pass criterion)" % (
        tot_all_ok, tot_all, 100.0 * tot_all_ok / max(tot_all, 1)))
    if failed:
        raise Fail("pages the images hold are missing or differ in %s" %
                   ", ".join("core.%d" % p for p in failed))
    return 0


# ---------------------------------------------------------------- eu-stack


def eustack_norm(lines):
    """The "PID n - core" line names the pid eu-stack took from the core; the
    pid is checked by `notes`, so the line is left out of the comparison."""
    return [line for line in lines if not line.startswith("PID ")]


def cmd_eustack(a):
    eu = need_tool("eu-stack")
    fx = Fixture(a.fixture)
    out = convert(a, fx)
    work = os.path.dirname(out)
    failed = []
    matched = total = 0
    for pid in fx.oracle_pids():
        path = fx.oracle("eustack", pid, "out")
        if not os.path.exists(path):
            continue
        core = os.path.join(out, "core.%d" % pid)
        try:
            r = subprocess.run([eu, "--core", core, "--executable", fx.exe(pid)], capture_output=True,
                               cwd=work, timeout=TOOL_TIMEOUT, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise Fail("eu-stack on %s did not finish within %d s" % (core, TOOL_TIMEOUT))
        actual = eustack_norm(r.stdout.decode("utf-8", "replace").splitlines())
        prefix = os.path.join(work, "eustack-%d" % pid)
        with open(prefix + ".out", "w") as f:
            f.write("\n".join(actual) + "\n")
        m, t, ok = compare_lines(eustack_norm(read_lines(path)), actual, "eu-stack core.%d" % pid,
                                 "oracle/eustack-%d.out" % pid, "core.%d" % pid, prefix)
        matched += m
        total += t
        if not ok:
            failed.append(pid)
            err = r.stderr.decode("utf-8", "replace").strip()
            if err:
                log("eu-stack stderr (exit %d):\n%s" % (r.returncode, err))
    log("eu-stack: %d/%d lines match" % (matched, total))
    if failed:
        raise Fail("eu-stack output differs from the oracle for %s" % ", ".join("core.%d" % p for p in failed))
    return 0


# ------------------------------------------------------------------- notes

# Sizes from the x86_64 kernel ABI (linux/elfcore.h, asm/user.h, siginfo_t).
SZ_PRSTATUS, SZ_FPREGSET, SZ_PRPSINFO, SZ_SIGINFO = 0x150, 512, 136, 128
PER_THREAD = ("NT_PRSTATUS", "NT_FPREGSET", "NT_X86_XSTATE")
PER_PROCESS = {"NT_PRPSINFO": SZ_PRPSINFO, "NT_SIGINFO": SZ_SIGINFO, "NT_AUXV": None, "NT_FILE": None}
OWNER = {"NT_X86_XSTATE": "LINUX"}  # everything else above is "CORE"

# binutils `readelf -nW`: "  CORE   0x00000150\tNT_PRSTATUS (prstatus structure)"
_RE_NOTE = re.compile(r"^  (\S+)\s+0x([0-9a-f]{8})\t(NT_\w+|Unknown note type: \(0x[0-9a-f]+\))")
# elfutils `eu-readelf --notes`: "  CORE                 336  PRSTATUS"
_RE_EU_NOTE = re.compile(r"^  (\S+)\s+(\d+)  (\S.*)$")
_RE_EU_PID = re.compile(r"^    (?:uid: \d+, gid: \d+, )?pid: (\d+), ppid: (\d+)")
# binutils `readelf -lW` program header row
_RE_PHDR = re.compile(r"^  (\S+)\s+0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) ([RWE ]{3}) 0x([0-9a-f]+)$")
# gdb `info threads` row: "* 1    Thread 0x7f.. (LWP 19753) ..." or "  2    LWP 19756 ..."
_RE_THREAD = re.compile(r"^[* ] (\d+)\s+(?:Thread 0x[0-9a-f]+ \()?LWP (\d+)")


def run_tool(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, timeout=TOOL_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise Fail("%s did not finish within %d s" % (" ".join(cmd), TOOL_TIMEOUT))
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def oracle_threads(fx, pid):
    """LWPs in gdb thread-number order = NT_PRSTATUS order in the core (gdb
    numbers core threads in note order; the first is the current thread)."""
    rows = []
    for line in read_lines(fx.oracle("gdb", pid, "out")):
        m = _RE_THREAD.match(line)
        if m:
            rows.append((int(m.group(1)), int(m.group(2))))
    return [lwp for _, lwp in sorted(set(rows))]


def oracle_note_counts(fx, pid):
    """notes-N.txt is `uniq -c` of "OWNER TYPE" over the gcore core's notes."""
    counts = {}
    for line in read_lines(fx.oracle("notes", pid, "txt")):
        parts = line.split()
        if len(parts) == 3 and parts[0].isdigit():
            counts[parts[2]] = int(parts[0])
    return counts


def note_pids(core, phdrs):
    """NT_PRSTATUS pr_pid (offset 32) of each thread and NT_PRPSINFO pr_pid
    (offset 24), straight from the note bytes."""
    tids, ps_pid = [], None
    for ntype, desc in iter_notes(core, phdrs):
        if ntype == 1 and len(desc) >= 36:
            tids.append(struct.unpack_from("<i", desc, 32)[0])
        elif ntype == 3 and len(desc) >= 28:
            ps_pid = struct.unpack_from("<i", desc, 24)[0]
    return tids, ps_pid


def check_notes(core, expect_threads=None, expect_tids=None, expect_pid=None):
    """Structural checks of one core; returns a list of problems (empty = ok)
    and prints a summary."""
    errors = []
    hdr, phdrs = read_elf(core)
    if hdr["type"] != ET_CORE:
        errors.append("e_type %d, expected ET_CORE (4)" % hdr["type"])
    if hdr["machine"] != EM_X86_64:
        errors.append("e_machine %d, expected EM_X86_64 (62)" % hdr["machine"])

    # --- notes as binutils sees them
    rc, text, err = run_tool([need_tool("readelf"), "-nW", core])
    if rc != 0 or err.strip():
        errors.append("readelf -n: exit %d: %s" % (rc, err.strip()[:2000]))
    notes = []
    for line in text.splitlines():
        m = _RE_NOTE.match(line)
        if m:
            notes.append((m.group(1), int(m.group(2), 16), m.group(3)))
    if not notes:
        errors.append("readelf -n found no notes")
        return errors
    if notes[0][2] != "NT_PRSTATUS":
        errors.append("first note is %s, expected NT_PRSTATUS" % notes[0][2])
    for t, size in PER_PROCESS.items():
        found = [n for n in notes if n[2] == t]
        if len(found) != 1:
            errors.append("%d %s notes, expected exactly 1" % (len(found), t))
        elif size is not None and found[0][1] != size:
            errors.append("%s has size %d, expected %d" % (t, found[0][1], size))
    for owner, size, t in notes:
        if t in PER_PROCESS or t in PER_THREAD:
            if owner != OWNER.get(t, "CORE"):
                errors.append("%s has owner %s, expected %s" % (t, owner, OWNER.get(t, "CORE")))
    # Per-thread notes, with the process-wide ones (which the kernel writes
    # right after the first thread's NT_PRSTATUS) left out, must come as
    # PRSTATUS, FPREGSET, X86_XSTATE per thread; further per-thread notes
    # (e.g. NT_X86_SHSTK) may follow a thread's three.
    groups = []
    for owner, size, t in notes:
        if t in PER_PROCESS:
            continue
        if t == "NT_PRSTATUS":
            groups.append([])
        if groups:
            groups[-1].append((t, size))
    xsizes = set()
    for i, g in enumerate(groups):
        types = [t for t, _ in g]
        if types[:3] != list(PER_THREAD):
            errors.append("thread %d: notes %s, expected %s first" % (i + 1, types, list(PER_THREAD)))
            continue
        if g[0][1] != SZ_PRSTATUS:
            errors.append("thread %d: NT_PRSTATUS size %d, expected %d" % (i + 1, g[0][1], SZ_PRSTATUS))
        if g[1][1] != SZ_FPREGSET:
            errors.append("thread %d: NT_FPREGSET size %d, expected %d" % (i + 1, g[1][1], SZ_FPREGSET))
        xsizes.add(g[2][1])
    if len(xsizes) > 1:
        errors.append("NT_X86_XSTATE sizes differ between threads: %s" % sorted(xsizes))
    if expect_threads is not None and len(groups) != expect_threads:
        errors.append("%d threads (NT_PRSTATUS), the oracle has %d" % (len(groups), expect_threads))

    # --- the same notes as elfutils sees them: a second parser, and the pids
    rc, text, err = run_tool([need_tool("eu-readelf"), "--notes", core])
    if rc != 0:
        errors.append("eu-readelf --notes: exit %d: %s" % (rc, err.strip()[:2000]))
    eu_notes, tids, ps_pid, last = [], [], None, None
    for line in text.splitlines():
        m = _RE_EU_NOTE.match(line)
        if m and m.group(1) != "Owner":
            last = m.group(3)
            eu_notes.append((m.group(1), int(m.group(2))))
            continue
        m = _RE_EU_PID.match(line)
        if m and last == "PRSTATUS":
            tids.append(int(m.group(1)))
        elif m and last == "PRPSINFO":
            ps_pid = int(m.group(1))
        if m:
            last = None
    if not eu_notes and hdr["xnum"]:
        # eu-readelf 0.188 reads notes only through section headers when a
        # file has any, and extended numbering needs section header 0 (a
        # kernel core with > 65535 segments prints no notes either). Read the
        # pids from the note bytes instead; readelf above is the second parser.
        log("  eu-readelf lists no notes of a PN_XNUM core (elfutils 0.188 reads "
            "sections first); pids taken from the note bytes")
        eu_notes = [(o, s) for o, s, _ in notes]
        tids, ps_pid = note_pids(core, phdrs)
    if eu_notes != [(o, s) for o, s, _ in notes]:
        errors.append("eu-readelf and readelf disagree on the notes: %s vs %s" %
                      (eu_notes, [(o, s) for o, s, _ in notes]))
    if expect_tids is not None and tids != expect_tids:
        errors.append("NT_PRSTATUS pids in note order %s, the oracle's threads are %s" % (tids, expect_tids))
    if expect_pid is not None and ps_pid != expect_pid:
        errors.append("NT_PRPSINFO pid %s, expected %d (the pid in pstree.img)" % (ps_pid, expect_pid))

    # --- program headers as binutils sees them, against our own parser
    rc, text, err = run_tool([need_tool("readelf"), "-lW", core])
    if rc != 0 or err.strip():
        errors.append("readelf -l: exit %d: %s" % (rc, err.strip()[:2000]))
    rows = []
    for line in text.splitlines():
        m = _RE_PHDR.match(line)
        if m:
            rows.append((m.group(1),) + tuple(int(m.group(i), 16) for i in (2, 3, 5)))
    mine = [({PT_LOAD: "LOAD", PT_NOTE: "NOTE"}.get(p.type, str(p.type)), p.offset, p.vaddr, p.filesz)
            for p in phdrs]
    if rows != mine:
        errors.append("readelf -l shows %d program headers, our parser %d (or they differ)" %
                      (len(rows), len(mine)))
    if not rows or rows[0][0] != "NOTE":
        errors.append("first program header is %s, expected NOTE" % (rows[0][0] if rows else "none"))
    loads = [p for p in phdrs if p.type == PT_LOAD]
    for p in loads:
        if p.offset % PAGE:
            errors.append("PT_LOAD %#x: offset %#x is not page aligned" % (p.vaddr, p.offset))
            break
    for p, q in zip(loads, loads[1:]):
        if q.vaddr < p.vaddr + p.memsz:
            errors.append("PT_LOADs not in ascending, non-overlapping order: %#x+%#x then %#x" %
                          (p.vaddr, p.memsz, q.vaddr))
            break
    for p in phdrs:
        if p.filesz and p.offset + p.filesz > hdr["size"]:
            errors.append("segment at %#x (type %d) ends past the end of the file" % (p.vaddr, p.type))
            break
    log("notes %s: %d notes, %d threads, %d PT_LOAD%s" % (
        os.path.basename(core), len(notes), len(groups), len(loads),
        ", PN_XNUM" if hdr["xnum"] else ""))
    return errors


def cmd_notes(a):
    need_tool("readelf")
    need_tool("eu-readelf")
    fx = Fixture(a.fixture)
    out = convert(a, fx)
    failed = []
    for pid in fx.oracle_pids():
        counts = oracle_note_counts(fx, pid)
        tids = oracle_threads(fx, pid)
        if counts.get("NT_PRSTATUS") != len(tids):
            raise Fail("oracle for %d is inconsistent: %s NT_PRSTATUS, %d threads in gdb-%d.out" %
                       (pid, counts.get("NT_PRSTATUS"), len(tids), pid))
        errors = check_notes(os.path.join(out, "core.%d" % pid), expect_threads=counts["NT_PRSTATUS"],
                             expect_tids=tids, expect_pid=pid)
        for e in errors:
            log("  core.%d: %s" % (pid, e))
        if errors:
            failed.append(pid)
    if failed:
        raise Fail("structural checks failed for %s" % ", ".join("core.%d" % p for p in failed))
    log("notes: all structural checks pass")
    return 0


# --------------------------------------------------------------- selfcheck


def synthetic_core(path, xnum):
    """A minimal ET_CORE file: one PT_NOTE and three PT_LOADs (a data page,
    a zero page, a page-and-a-half), optionally with PN_XNUM numbering.
    Returns {vaddr: sha1} of the non-zero pages it holds."""
    loads = [(0x400000, b"A" * PAGE), (0x401000, ZERO_PAGE), (0x7f0000000000, b"B" * PAGE + b"C" * 2048)]
    phnum = 1 + len(loads)
    note = struct.pack("<III", 5, 4, 1) + b"CORE\0\0\0\0" + b"\0" * 4  # tiny fake NT_PRSTATUS
    phoff, shoff = 64, 64 + phnum * 56
    data_off = PAGE
    ph = [struct.pack("<IIQQQQQQ", PT_NOTE, 4, shoff + 64, 0, 0, len(note), 0, 4)]
    blobs, off, expect = [], data_off, {}
    for vaddr, blob in loads:
        ph.append(struct.pack("<IIQQQQQQ", PT_LOAD, 6, off, vaddr, 0, len(blob), len(blob), PAGE))
        blobs.append((off, blob))
        for o in range(0, len(blob), PAGE):
            c = blob[o:o + PAGE]
            if c.strip(b"\0"):
                expect[vaddr + o] = hashlib.sha1(c).hexdigest()
        off += (len(blob) + PAGE - 1) // PAGE * PAGE
    ehdr = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8) + struct.pack(
        "<HHIQQQIHHHHHH", ET_CORE, EM_X86_64, 1, 0, phoff, shoff if xnum else 0, 0, 64, 56,
        PN_XNUM if xnum else phnum, 64 if xnum else 0, 1 if xnum else 0, 0)
    # Section header 0 under PN_XNUM: sh_info = real e_phnum (gABI)
    shdr0 = struct.pack("<IIQQQQIIQQ", 0, 0, 0, 0, 0, 0, 0, phnum, 0, 0)
    with open(path, "wb") as f:
        f.write(ehdr + b"".join(ph) + shdr0 + note)
        for o, blob in blobs:
            f.seek(o)
            f.write(blob)
    return expect


def selfcheck_elf(tmp, errors):
    for xnum in (False, True):
        path = os.path.join(tmp, "synthetic%s.core" % ("-xnum" if xnum else ""))
        expect = synthetic_core(path, xnum)
        hdr, phdrs = read_elf(path)
        got = core_pages(path)
        if hdr["xnum"] != xnum or len(phdrs) != 4 or got != expect:
            errors.append("synthetic core (xnum=%s): parsed %d phdrs, pages %s, expected %s" %
                          (xnum, len(phdrs), sorted(got), sorted(expect)))
        if shutil.which("readelf"):
            rc, text, err = run_tool(["readelf", "-lW", path])
            rows = [m.group(1) for m in map(_RE_PHDR.match, text.splitlines()) if m]
            if rows != ["NOTE", "LOAD", "LOAD", "LOAD"]:
                errors.append("readelf -lW on synthetic core (xnum=%s): %s %s" % (xnum, rows, err.strip()))
        log("selfcheck: synthetic core xnum=%s: %d phdrs, %d non-zero pages" % (xnum, len(phdrs), len(got)))


def selfcheck_fixture(fx, errors):
    for pid in fx.oracle_pids():
        oracle = read_lines(fx.oracle("gdb", pid, "out"))
        # 1. The oracle is already normalised: normalising changes nothing.
        if normalise_gdb(oracle) != oracle:
            errors.append("gdb-%d.out changes under normalisation" % pid)
        # 2. Raw gdb noise around the oracle normalises back to the oracle.
        raw = ["[New LWP %d]" % pid, "[Thread debugging using libthread_db enabled]",
               'Using host libthread_db library "/lib/x86_64-linux-gnu/libthread_db.so.1".',
               "Core was generated by `%s'." % fx.name,
               "warning: Can't open file /srv/x during file-backed mapping note processing"]
        for line in oracle:
            raw.append(line)
            if line.startswith("mxcsr "):
                raw += ["k%d             0x0                 0" % i for i in range(8)]
                raw += ["zmm%d           {v32_bfloat16 = {0x0 <repeats 32 times>}}" % i for i in range(32)]
        raw.append("Program terminated with signal SIGSEGV, Segmentation fault.")
        if normalise_gdb(raw) != oracle + ["Program terminated with signal ..."]:
            errors.append("normalising noisy gdb-%d.out does not give the oracle back" % pid)
        # `p/x $k1` results are kept (avx512's extra.cmd checks them).
        if fx.name == "avx512" and not any(l.startswith("$1 = 0x1111") for l in normalise_gdb(oracle)):
            errors.append("avx512: $1 = 0x1111 lost")
        # 3. The comparator passes the oracle itself and catches a change.
        if not compare_lines(oracle, list(oracle), "selfcheck gdb-%d identity" % pid, "a", "b")[2]:
            errors.append("comparator rejects identical gdb-%d output" % pid)
        changed = list(oracle)
        changed[len(changed) // 2] += " (changed)"
        if compare_lines(oracle, changed, "selfcheck gdb-%d with one changed line" % pid, "oracle", "changed")[2]:
            errors.append("comparator accepts a changed gdb-%d output" % pid)
        # 4. Two oracle parsers agree on the thread count.
        tids = oracle_threads(fx, pid)
        counts = oracle_note_counts(fx, pid)
        if not tids or counts.get("NT_PRSTATUS") != len(tids):
            errors.append("pid %d: %d threads in gdb-%d.out, %s NT_PRSTATUS in notes-%d.txt" %
                          (pid, len(tids), pid, counts.get("NT_PRSTATUS"), pid))
        eu = read_lines(fx.oracle("eustack", pid, "out"))
        eu_tids = [int(l.split()[1].rstrip(":")) for l in eu if l.startswith("TID ")]
        if eu_tids != tids:
            errors.append("pid %d: eu-stack oracle threads %s, gdb oracle threads %s" % (pid, eu_tids, tids))
        # 5. Pagemaps parse and line up with the oracle's page addresses.
        held, note = held_pages(fx, pid)
        opages = load_oracle_pages(fx.oracle("pages", pid, "sha"))
        inside = sum(1 for v in opages if v in held)
        log("selfcheck: pid %d: %d threads %s; images hold %d pages, %d/%d oracle pages among them%s" % (
            pid, len(tids), tids, len(held), inside, len(opages), "; " + note if note else ""))
        if not inside:
            errors.append("pid %d: no oracle page lies in the pages the images hold" % pid)
        # 6. The bytes of every page the images hold are the oracle's: what
        # `pages` demands of a converter is achievable.
        img = image_page_hashes(fx, pid)
        if set(img) != held:
            errors.append("pid %d: held_pages and the pages files disagree on %d pages" %
                          (pid, len(set(img) ^ held)))
        bad = [v for v, h in img.items() if h != opages.get(v)]
        if bad:
            errors.append("pid %d: %d image pages differ from the oracle, first %#x" % (pid, len(bad), bad[0]))
        if not os.path.exists(fx.exes[pid]):
            errors.append("pid %d: executable %s missing" % (pid, fx.exes[pid]))
        for n in host_drift(fx, pid):
            errors.append("pid %d: %s" % (pid, n))
    # 7. A parent chain must resolve completely (incremental = threads).
    if os.path.isdir(os.path.join(fx.dir, "decoded-pre")):
        for pid in fx.oracle_pids():
            runs = load_pagemap(os.path.join(fx.dir, "decoded", "pagemap-%d.img.json" % pid))
            want = {v + i * PAGE for v, n, fl in runs if fl & (PE_PRESENT | PE_PARENT) for i in range(n)}
            held, _ = held_pages(fx, pid)
            if held != want:
                errors.append("pid %d: %d PE_PARENT pages do not resolve in the parent" % (pid, len(want - held)))
    if not os.path.islink(os.path.join(fx.images, "parent")) and os.path.isdir(os.path.join(fx.dir, "pre")):
        errors.append("images/parent is not a symlink")


def cmd_selfcheck(a):
    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        selfcheck_elf(tmp, errors)
    if a.fixture:
        selfcheck_fixture(Fixture(a.fixture), errors)
    if a.core:
        # Any core (a kernel core, a gcore): parse, hash, run the structural
        # checks and print what they say. Its problems are reported, not
        # counted: a gcore core is not laid out like ours.
        pages = core_pages(a.core)
        log("selfcheck: %s: %d non-zero pages" % (a.core, len(pages)))
        for e in check_notes(a.core):
            log("  notes: " + e)
    for e in errors:
        log("selfcheck: " + e)
    if errors:
        raise Fail("%d selfcheck problems" % len(errors))
    log("selfcheck: ok")
    return 0


# -------------------------------------------------------------------- main


def run_check(fn, a):
    """fn(a) with the harness's exit codes: a Skip is 77, a Fail 1."""
    try:
        return fn(a) or 0
    except Skip as e:
        log("SKIP: %s" % e)
        return EXIT_SKIP
    except Fail as e:
        log("FAIL: %s" % e)
        return EXIT_FAIL


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("unpack", help="extract a fixture tarball")
    p.add_argument("tarball")
    p.add_argument("destdir")
    p.set_defaults(fn=cmd_unpack)
    for name, fn in (("gdb", cmd_gdb), ("pages", cmd_pages), ("eustack", cmd_eustack), ("notes", cmd_notes)):
        p = sub.add_parser(name)
        p.add_argument("--ckpt2core", required=True, help="the converter to test")
        p.add_argument("--fixture", required=True, help="unpacked fixture directory")
        p.add_argument("--work", required=True, help="work directory (emptied first)")
        p.add_argument("--reuse", action="store_true", help="use WORK/out as it is if it exists")
        p.add_argument("--wrapper", default="", help="command prefix for the converter, e.g. valgrind")
        p.add_argument("--root", default="",
                       help="convert with --root: a directory, or 'fixture' to build one from "
                            "the fixture's files and this machine's")
        p.add_argument("--file-pages", default="", help="convert with --file-pages MODE")
        p.add_argument("--all-pages", action="store_true",
                       help="pages: every non-zero oracle page must match, not only those the "
                            "images hold")
        p.set_defaults(fn=fn)
    p = sub.add_parser("selfcheck", help="test the harness on the oracles and on synthetic cores")
    p.add_argument("--fixture")
    p.add_argument("--core", help="also parse and check this core file (report only)")
    p.set_defaults(fn=cmd_selfcheck)
    a = ap.parse_args(argv)
    return run_check(a.fn, a)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
