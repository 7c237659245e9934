#!/usr/bin/env python3
"""LLDB as a client of ckpt2core's cores (tests/clients), checked against the
gdb oracles of the e2e fixtures (fixtures/PROVENANCE.md).

  lldb_check.py --ckpt2core BIN --fixture FIXDIR --work WORK [--root fixture|DIR] [--no-exe]

converts FIXDIR/images into WORK/out, loads each core in `lldb --batch`
(target create --core CORE EXE; with --no-exe lldb must find the executable
itself, from NT_FILE) and compares with FIXDIR/oracle/gdb-PID.out, which gdb
printed for a gcore of the same stopped process:

  threads    the same thread ids, in the same order (leader first)
  frames     for every thread, the frames gdb shows: same pc (where gdb prints
             one), same function name (gdb's "??" may be an unnamed symbol of
             lldb's), in the module that maps the pc; lldb may go on past
             main, where gdb stops
  registers  every thread's general-purpose registers, and x87/SSE control
             state and st0-7 (lldb 14 reads registers from NT_PRSTATUS and
             NT_FPREGSET only); xmm registers where the fixture's extra.cmd
             prints zmm registers with known values (avx512)
  memory     the generic globals fixture_secret and fixture_counters
  modules    every shared library of gdb's `info sharedlibrary`. One rule of
             lldb 14 decides about the dynamic loader: its link_map l_name
             points to the executable's PT_INTERP string, in the executable's
             first page, and lldb reads it from process memory only (never
             from the executable file, unlike gdb); a link_map entry with an
             unreadable name is taken for the main executable and dropped
             (DYLDRendezvous::SOEntryIsMainExecutable). So the loader is
             required exactly when the core holds those bytes: always with
             --root (the ELF header page is written), and without it only if
             CRIU saved that page.

Exit status: 0 pass, 1 fail, 77 skip (lldb not installed). Work files:
WORK/lldb-PID.out (lldb's stdout), WORK/lldb-PID.err, WORK/convert.log.
Python standard library only.
"""

import argparse
import os
import re
import shlex
import shutil
import struct
import subprocess
import sys

CONVERT_TIMEOUT = 600
LLDB_TIMEOUT = 300
WORK_MARK = ".clients-work"


class Fail(Exception):
    pass


class Skip(Exception):
    pass


def log(msg=""):
    print(msg, flush=True)


def read_lines(path):
    with open(path, errors="replace") as f:
        return f.read().splitlines()


# ----------------------------------------------------------------- fixture


class Fixture:
    def __init__(self, path):
        self.dir = os.path.abspath(path)
        self.name = os.path.basename(self.dir.rstrip("/"))
        self.images = os.path.join(self.dir, "images")
        if not os.path.isdir(self.images):
            raise Fail("%s: not a fixture (no images/)" % self.dir)
        self.exes = {}
        for line in read_lines(os.path.join(self.dir, "exe.txt")):
            if line.strip():
                pid, exe = line.split(None, 1)
                exe = exe.strip()
                self.exes[int(pid)] = exe if exe.startswith("/") else os.path.join(self.dir, exe)

    def oracle(self, pid):
        return os.path.join(self.dir, "oracle", "gdb-%d.out" % pid)

    def pids(self):
        # A process without an oracle is a zombie: gcore could not dump it.
        return [p for p in sorted(self.exes) if os.path.exists(self.oracle(p))]


# -------------------------------------------------------------- ELF reading

PT_LOAD, PT_NOTE, PT_INTERP = 1, 4, 3
NT_FILE = 0x46494C45


def read_phdrs(path):
    """(e_type, [(type, offset, vaddr, filesz, memsz)]) of an ELF64 LE file,
    with the PN_XNUM escape of cores with more than 65534 segments."""
    with open(path, "rb") as f:
        eh = f.read(64)
        if len(eh) < 64 or eh[:4] != b"\x7fELF" or eh[4] != 2 or eh[5] != 1:
            raise Fail("%s: not a 64-bit little-endian ELF file" % path)
        e_type, = struct.unpack_from("<H", eh, 16)
        phoff, shoff = struct.unpack_from("<QQ", eh, 32)
        phentsize, phnum = struct.unpack_from("<HH", eh, 54)
        if phnum == 0xFFFF:
            f.seek(shoff)
            phnum = struct.unpack_from("<I", f.read(64), 44)[0]
        f.seek(phoff)
        data = f.read(phentsize * phnum)
    out = []
    for i in range(phnum):
        p_type, _flags, off, vaddr, _paddr, filesz, memsz, _align = \
            struct.unpack_from("<IIQQQQQQ", data, i * phentsize)
        out.append((p_type, off, vaddr, filesz, memsz))
    return e_type, out


def nt_file(core):
    """[(start, end, pgoff, path)] of the core's NT_FILE note."""
    _, phdrs = read_phdrs(core)
    entries = []
    with open(core, "rb") as f:
        for p_type, off, _v, filesz, _m in phdrs:
            if p_type != PT_NOTE:
                continue
            f.seek(off)
            data = f.read(filesz)
            pos = 0
            while pos + 12 <= len(data):
                namesz, descsz, ntype = struct.unpack_from("<III", data, pos)
                desc = pos + 12 + (namesz + 3) // 4 * 4
                if ntype == NT_FILE:
                    count, _page = struct.unpack_from("<QQ", data, desc)
                    names = data[desc + 16 + 24 * count: desc + descsz].split(b"\0")
                    for i in range(count):
                        s, e, o = struct.unpack_from("<QQQ", data, desc + 16 + 24 * i)
                        entries.append((s, e, o, names[i].decode("utf-8", "replace")))
                pos = desc + (descsz + 3) // 4 * 4
    return entries


def core_holds(core, addr, size):
    """Whether the core's PT_LOADs hold file data for [addr, addr+size)."""
    _, phdrs = read_phdrs(core)
    for p_type, _off, vaddr, filesz, _memsz in phdrs:
        if p_type == PT_LOAD and vaddr <= addr and addr + size <= vaddr + filesz:
            return True
    return False


def pt_interp(exe):
    """(vaddr of the PT_INTERP string relative to the lowest PT_LOAD, string)."""
    _, phdrs = read_phdrs(exe)
    loads = [v for t, _o, v, _f, _m in phdrs if t == PT_LOAD]
    for p_type, off, vaddr, filesz, _m in phdrs:
        if p_type == PT_INTERP and loads:
            with open(exe, "rb") as f:
                f.seek(off)
                s = f.read(filesz).split(b"\0")[0].decode()
            return vaddr - (min(loads) & ~0xFFF), filesz, s
    return None


# ------------------------------------------------------------------ convert


def fresh_dir(path, fx):
    real = os.path.realpath(path)
    if (fx.dir + "/").startswith(real.rstrip("/") + "/"):
        raise Fail("refusing to use %s as work dir: it holds the fixture" % path)
    if os.path.exists(real):
        if os.listdir(real) and not os.path.exists(os.path.join(real, WORK_MARK)):
            raise Fail("refusing to empty %s: not a work dir made by lldb_check.py" % path)
        for dirpath, dirnames, _files in os.walk(real):
            for d in dirnames:
                os.chmod(os.path.join(dirpath, d), 0o755)
        shutil.rmtree(real)
    os.makedirs(real)
    open(os.path.join(real, WORK_MARK), "w").close()
    return real


def build_root(ckpt2core, fx, work):
    """A root for --root with every file the processes mapped, at the path they
    saw: the very rule of e2e.py's `--root fixture` (FIXDIR/root/<path>, for
    /srv/fx/<name>/<rel> FIXDIR/<rel>, else this machine's file), reused so the
    two client harnesses can never disagree about what the root holds."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
    import e2e  # noqa: E402  (the sibling harness)

    try:
        return e2e.build_root(argparse.Namespace(ckpt2core=ckpt2core), e2e.Fixture(fx.dir), work)
    except e2e.Fail as e:
        raise Fail(str(e))


def convert(a, fx, work):
    out = os.path.join(work, "out")
    os.makedirs(out)
    cmd = shlex.split(a.wrapper or "") + [a.ckpt2core, fx.images, "-o", out]
    if a.root:
        cmd += ["--root", build_root(a.ckpt2core, fx, work) if a.root == "fixture" else a.root]
    log("convert: " + " ".join(shlex.quote(c) for c in cmd))
    r = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                       timeout=CONVERT_TIMEOUT)
    with open(os.path.join(work, "convert.log"), "w") as f:
        f.write("$ %s\nexit %d\n--- stdout\n%s--- stderr\n%s" %
                (" ".join(cmd), r.returncode, r.stdout, r.stderr))
    if r.returncode != 0:
        raise Fail("converter exited with %d:\n%s" % (r.returncode, r.stderr.rstrip()))
    return out


# ------------------------------------------------------------ gdb's oracle

_G_THREAD = re.compile(r"^[* ] (\d+)\s+(?:Thread 0x[0-9a-f]+ \(LWP (\d+)\)|LWP (\d+)|process (\d+))")
_G_BLOCK = re.compile(r"^Thread (\d+) \((?:Thread 0x[0-9a-f]+ \()?(?:LWP|process) (\d+)\)?\):$")
_G_FRAME = re.compile(r"^#(\d+)\s+(?:(0x[0-9a-f]+) in )?(\S+) \(")
_G_REG = re.compile(r"^([a-z][a-z0-9_]*)\s+(0x[0-9a-f]+|-?\d+)\b(.*)$")
_G_MAP = re.compile(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s*(\S.*)?$")
_G_SOLIB = re.compile(r"^(?:0x[0-9a-f]+\s+0x[0-9a-f]+\s+|\s+)(?:Yes|No)(?: \(\*\))?\s+(/\S.*)$")


class Oracle:
    def __init__(self, path, extra_cmd):
        self.threads = []      # LWPs in gdb's order (thread 1 first)
        self.frames = {}       # lwp -> [(pc or None, name)]
        self.regs = {}         # lwp -> {name: int}
        self.maps = []         # (start, end, offset, path)
        self.solibs = []
        self.secret = None
        self.counters = None
        self.xmm = {}          # n -> 16 bytes, from p/x $zmmN.v8_int64 of extra.cmd
        lines = read_lines(path)
        cur = None
        for line in lines:
            m = _G_THREAD.match(line)
            if m and cur is None:
                self.threads.append(int(next(g for g in m.groups()[1:] if g)))
                continue
            m = _G_BLOCK.match(line)
            if m:
                cur = int(m.group(2))
                continue
            if not line.strip():
                cur = None
                continue
            if cur is not None:
                m = _G_FRAME.match(line)
                if m:
                    self.frames.setdefault(cur, []).append(
                        (int(m.group(2), 16) if m.group(2) else None, m.group(3)))
                    continue
                m = _G_REG.match(line)
                if m and not line.startswith("#"):
                    regs = self.regs.setdefault(cur, {})
                    if m.group(1).startswith("st"):
                        raw = re.search(r"\(raw 0x([0-9a-f]+)\)", line)
                        if raw:
                            regs[m.group(1)] = int(raw.group(1), 16)
                    else:
                        regs[m.group(1)] = int(m.group(2), 0)
                    continue
                cur = None
            m = _G_MAP.match(line)
            if m:
                self.maps.append((int(m.group(1), 16), int(m.group(2), 16), int(m.group(3), 16),
                                  (m.group(4) or "").strip()))
                continue
            m = _G_SOLIB.match(line)
            if m:
                self.solibs.append(m.group(1).strip())
                continue
            # generic cmd: "p fixture_secret" is the first print, "p fixture_counters" the second
            m = re.match(r'^\$1 = "([^"]*)"', line)
            if m:
                self.secret = m.group(1)
            m = re.match(r"^\$2 = \{([-0-9, ]+)\}$", line)
            if m:
                self.counters = [int(v) for v in m.group(1).split(",")]
        # extra.cmd's "p/x $zmmN.v8_int64" in order <-> the oracle's 8-int64 results in order
        zmm = []
        if extra_cmd and os.path.exists(extra_cmd):
            zmm = [int(n) for n in re.findall(r"^p/x \$zmm(\d+)\.v8_int64\s*$",
                                              "\n".join(read_lines(extra_cmd)), re.M)]
        vals = [m.group(1) for m in (re.match(r"^\$\d+ = \{((?:0x[0-9a-f]+, ){7}0x[0-9a-f]+)\}$", l)
                                     for l in lines) if m]
        if zmm and len(zmm) == len(vals):
            for n, v in zip(zmm, vals):
                q = [int(x, 16) for x in v.split(", ")]
                if n < 16:
                    self.xmm[n] = struct.pack("<QQ", q[0], q[1])

    def mapping(self, addr):
        for start, end, off, path in self.maps:
            if start <= addr < end:
                return start, off, path
        return None


# -------------------------------------------------------------------- lldb

_L_THREAD = re.compile(r"^[* ] thread #(\d+): tid = (\d+), (0x[0-9a-f]+)")
_L_BT_THREAD = re.compile(r"^[* ] thread #(\d+)")
_L_FRAME = re.compile(r"^\s+[* ]?\s*frame #(\d+): (0x[0-9a-f]+)(?: ([^`\s]+)`([^\s(]+))?")
_L_REG = re.compile(r"^\s+([a-z][a-z0-9]*) = (0x[0-9a-f]+|\{[^}]*\})")

GPRS = ["rax", "rbx", "rcx", "rdx", "rdi", "rsi", "rbp", "rsp", "r8", "r9", "r10", "r11",
        "r12", "r13", "r14", "r15", "rip", "rflags", "cs", "fs", "gs", "ss", "ds", "es"]
FPRS = ["fctrl", "fstat", "ftag", "fop", "fiseg", "fioff", "foseg", "fooff", "mxcsr"] + \
    ["st%d" % i for i in range(8)] + ["xmm%d" % i for i in range(16)]


def run_lldb(core, exe, nthreads, variables, work, pid):
    # lldb --batch stops at the first command that fails: the ones that may
    # (a variable the program does not have) only when gdb printed them, last.
    cmds = ["target create --core %s%s" % (shlex.quote(core), " " + shlex.quote(exe) if exe else ""),
            "thread list", "bt all", "image list -f"]
    for i in range(1, nthreads + 1):
        cmds += ["thread select %d" % i, "register read", "register read " + " ".join(FPRS)]
    if variables:
        cmds.append("target variable " + " ".join(variables))
    argv = [shutil.which("lldb"), "--batch", "--no-lldbinit", "--no-use-colors"]
    for c in cmds:
        argv += ["-o", c]
    env = dict(os.environ, LC_ALL="C.UTF-8")
    try:
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                           cwd=work, timeout=LLDB_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise Fail("lldb on %s did not finish within %d s" % (core, LLDB_TIMEOUT))
    out = r.stdout.decode("utf-8", "replace")
    # Debian's lldb 14 prints Python tracebacks (lldb.embedded_interpreter)
    # on stderr when its Python module is not found; they do not matter here.
    with open(os.path.join(work, "lldb-%d.out" % pid), "w") as f:
        f.write(out)
    with open(os.path.join(work, "lldb-%d.err" % pid), "w") as f:
        f.write(r.stderr.decode("utf-8", "replace"))
    # Split the transcript by command: "(lldb) CMD" starts each part.
    parts, cur = [], None
    for line in out.splitlines():
        if line.startswith("(lldb) "):
            cur = (line[7:], [])
            parts.append(cur)
        elif cur is not None:
            cur[1].append(line)
    return parts


class Lldb:
    def __init__(self, parts):
        self.threads = []          # (index, tid, pc)
        self.frames = {}           # index -> [(pc, module, name)]
        self.images = []
        self.regs = {}             # index -> {name: int or bytes}
        self.variables = []
        self.loaded = False
        selected = None
        for cmd, lines in parts:
            if cmd.startswith("target create"):
                self.loaded = any(l.startswith("Core file ") and "was loaded" in l for l in lines)
                self.create_output = lines
            elif cmd == "thread list":
                for l in lines:
                    m = _L_THREAD.match(l)
                    if m:
                        self.threads.append((int(m.group(1)), int(m.group(2)), int(m.group(3), 16)))
            elif cmd == "bt all":
                cur = None
                for l in lines:
                    m = _L_BT_THREAD.match(l)
                    if m:
                        cur = int(m.group(1))
                        self.frames[cur] = []
                        continue
                    m = _L_FRAME.match(l)
                    if m and cur is not None:
                        self.frames[cur].append((int(m.group(2), 16), m.group(3), m.group(4)))
            elif cmd == "image list -f":
                for l in lines:
                    m = re.match(r"^\[\s*\d+\] (\S.*)$", l)
                    if m:
                        self.images.append(m.group(1).strip())
            elif cmd.startswith("target variable"):
                self.variables = lines
            elif cmd.startswith("thread select"):
                selected = int(cmd.split()[2])
            elif cmd.startswith("register read") and selected is not None:
                regs = self.regs.setdefault(selected, {})
                for l in lines:
                    m = _L_REG.match(l)
                    if not m:
                        continue
                    v = m.group(2)
                    if v.startswith("{"):
                        regs[m.group(1)] = bytes(int(x, 16) for x in v[1:-1].split())
                    else:
                        regs[m.group(1)] = int(v, 16)


# ------------------------------------------------------------------ checks


def same_name(g, l):
    # aliases differ in leading underscores only (gdb: clone3, lldb: __clone3)
    return g == l or g.lstrip("_") == l.lstrip("_")


def check_frames(o, ll, tid, idx, exe_module, errors, stats):
    gframes = o.frames.get(tid, [])
    lframes = ll.frames.get(idx, [])
    if not gframes:
        errors.append("oracle has no backtrace for LWP %d" % tid)
        return
    if len(lframes) < len(gframes):
        errors.append("LWP %d: lldb shows %d frames, gdb %d" % (tid, len(lframes), len(gframes)))
    for i, (gpc, gname) in enumerate(gframes[:len(lframes)]):
        lpc, lmod, lname = lframes[i]
        where = "LWP %d frame #%d" % (tid, i)
        if gpc is not None and gpc != lpc:
            errors.append("%s: pc 0x%x, gdb 0x%x" % (where, lpc, gpc))
            continue
        mp = o.mapping(gpc if gpc is not None else lpc)
        want_mod = os.path.basename(mp[2]) if mp and mp[2].startswith("/") else None
        if want_mod and os.path.basename(mp[2]) == os.path.basename(exe_module or ""):
            want_mod = os.path.basename(exe_module)
        if want_mod and lmod != want_mod:
            errors.append("%s (%s): module %s, want %s" % (where, gname, lmod, want_mod))
            continue
        if gname == "??":
            # gdb has no symbol here; lldb may name it from its own tables
            continue
        if not lname or not same_name(gname, lname):
            errors.append("%s: function %s%s, gdb %s" %
                          (where, (lmod + "`") if lmod else "", lname, gname))
            continue
        stats[lmod] = stats.get(lmod, 0) + 1


def check_regs(o, ll, tid, idx, errors):
    g = o.regs.get(tid)
    l = ll.regs.get(idx, {})
    if not g:
        errors.append("oracle has no registers for LWP %d" % tid)
        return 0
    n = 0
    for name in GPRS:
        gname = "eflags" if name == "rflags" else name
        if name not in l:
            errors.append("LWP %d: lldb shows no %s" % (tid, name))
        elif gname in g and g[gname] & 0xFFFFFFFFFFFFFFFF != l[name]:
            errors.append("LWP %d: %s = 0x%x, gdb 0x%x" % (tid, name, l[name], g[gname]))
        else:
            n += 1
    for name in ["fctrl", "fstat", "fop", "fioff", "fooff", "mxcsr", "fiseg", "foseg"]:
        if name not in l:
            errors.append("LWP %d: lldb shows no %s (NT_FPREGSET)" % (tid, name))
            continue
        mask = 0xFFFF if name in ("fiseg", "foseg") else 0xFFFFFFFF  # selector part only
        if name in g and g[name] & mask != l[name] & mask:
            errors.append("LWP %d: %s = 0x%x, gdb 0x%x" % (tid, name, l[name], g[name]))
        else:
            n += 1
    if "ftag" in l and "ftag" in g:
        # lldb: FXSAVE's abridged tag byte (1 = in use); gdb: the full tag word (3 = empty)
        for i in range(8):
            if bool(l["ftag"] >> i & 1) != ((g["ftag"] >> 2 * i & 3) != 3):
                errors.append("LWP %d: ftag 0x%x disagrees with gdb's 0x%x for st%d" %
                              (tid, l["ftag"], g["ftag"], i))
                break
        else:
            n += 1
    for i in range(8):
        name = "st%d" % i
        if name in g:
            if not isinstance(l.get(name), bytes) or int.from_bytes(l[name], "little") != g[name]:
                errors.append("LWP %d: %s = %s, gdb raw 0x%020x" % (tid, name, l.get(name), g[name]))
            else:
                n += 1
    return n


def check_process(a, fx, pid, out, work):
    core = os.path.join(out, "core.%d" % pid)
    o = Oracle(fx.oracle(pid), os.path.join(fx.dir, "oracle", "extra.cmd"))
    exe = fx.exes[pid]
    errors = []
    entries = nt_file(core)
    if a.no_exe:
        if not entries or not os.path.isfile(entries[0][3]):
            raise Fail("core.%d: NT_FILE[0] %s is not a file on this machine" %
                       (pid, entries[0][3] if entries else None))
        exe_arg, exe_module = None, entries[0][3]
        if os.path.basename(exe_module) != os.path.basename(exe):
            errors.append("NT_FILE[0] is %s, not the executable %s" % (exe_module, exe))
    else:
        if not os.path.exists(exe):
            raise Fail("executable %s for pid %d is not on this machine" % (exe, pid))
        exe_arg, exe_module = exe, exe
    variables = [n for n, v in (("fixture_secret", o.secret), ("fixture_counters", o.counters))
                 if v is not None]
    ll = Lldb(run_lldb(core, exe_arg, len(o.threads), variables, work, pid))
    if not ll.loaded:
        raise Fail("lldb did not load core.%d:\n%s" % (pid, "\n".join(getattr(ll, "create_output", []))))

    # threads
    ltids = [t for _, t, _ in ll.threads]
    if ltids != o.threads:
        errors.append("threads: lldb %s, gdb %s" % (ltids, o.threads))
    if not ltids or ltids[0] != pid:
        errors.append("thread #1 is %s, not the leader %d" % (ltids[:1], pid))

    # frames and registers, thread by thread (by tid)
    stats = {}
    nregs = 0
    for idx, tid, _pc in ll.threads:
        if tid not in o.threads:
            continue
        check_frames(o, ll, tid, idx, exe_module, errors, stats)
        nregs += check_regs(o, ll, tid, idx, errors)
    if ll.threads:
        idx, tid, _ = ll.threads[0]
        r, g = ll.regs.get(idx, {}), o.regs.get(tid, {})
        log("core.%d: thread #1 (tid %d): rip 0x%x rsp 0x%x, gdb rip 0x%x rsp 0x%x" %
            (pid, tid, r.get("rip", -1), r.get("rsp", -1), g.get("rip", -1), g.get("rsp", -1)))

    # xmm from NT_FPREGSET, where the fixture knows the values
    for n, want in sorted(o.xmm.items()):
        have = ll.regs.get(1, {}).get("xmm%d" % n)
        if have != want:
            errors.append("xmm%d = %s, want %s (from the oracle's zmm%d)" %
                          (n, have.hex() if have else None, want.hex(), n))

    # memory: globals
    var = "\n".join(ll.variables)
    if o.secret is not None and 'fixture_secret = "%s' % o.secret not in var:
        line = next((l for l in ll.variables if "fixture_secret" in l), None)
        errors.append("fixture_secret: lldb %r, gdb %r" % (line, o.secret))
    if o.counters is not None:
        m = re.search(r"fixture_counters = \(([^)]*)\)", var)
        have = [int(v) for v in re.findall(r"\] = (-?\d+)", m.group(1))] if m else None
        if have != o.counters:
            errors.append("fixture_counters: lldb %s, gdb %s" % (have, o.counters))

    # modules
    if not ll.images or os.path.basename(ll.images[0]) != os.path.basename(exe_module):
        errors.append("lldb's first module is %s, want the executable %s" %
                      (ll.images[:1], exe_module))
    have = set(ll.images[1:])
    want = set(o.solibs)
    interp = pt_interp(exe_module if os.path.isfile(exe_module) else exe)
    base = next((s for s, _e, off, p in o.maps
                 if off == 0 and os.path.basename(p) == os.path.basename(exe)), None)
    if interp and base is not None:
        rel, size, path = interp
        held = core_holds(core, base + rel, size)
        if a.root and not held:
            errors.append("with --root the core must hold the executable's PT_INTERP string "
                          "at 0x%x" % (base + rel))
        if not held and path in want:
            want.discard(path)
            log("core.%d: the executable's PT_INTERP string (0x%x, %s) is not in the core: "
                "lldb 14 cannot name the dynamic loader, not required" % (pid, base + rel, path))
    missing = sorted(want - have)
    if missing:
        errors.append("modules gdb lists but lldb does not: %s (lldb: %s)" %
                      (" ".join(missing), " ".join(ll.images)))

    log("core.%d: %d threads, %d named frames (%s), %d registers, %d xmm, %d globals, "
        "%d modules checked" %
        (pid, len(ltids), sum(stats.values()),
         ", ".join("%s %d" % kv for kv in sorted(stats.items(), key=lambda kv: str(kv[0]))),
         nregs, len(o.xmm), len(variables), len(want)))
    return errors


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ckpt2core", required=True)
    ap.add_argument("--fixture", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--root", default="", help="convert with --root DIR, or 'fixture' to build one")
    ap.add_argument("--no-exe", action="store_true",
                    help="give lldb only the core: it finds the executable from NT_FILE")
    ap.add_argument("--wrapper", default="", help="command prefix for the converter (valgrind)")
    a = ap.parse_args(argv)
    try:
        if not shutil.which("lldb"):
            raise Skip("lldb is not installed")
        fx = Fixture(a.fixture)
        work = fresh_dir(a.work, fx)
        out = convert(a, fx, work)
        failed = []
        for pid in fx.pids():
            errors = check_process(a, fx, pid, out, work)
            for e in errors:
                log("core.%d: %s" % (pid, e))
            if errors:
                failed.append(pid)
        if failed:
            raise Fail("lldb's view differs from gdb's oracle for %s (transcripts: %s/lldb-PID.out)" %
                       (", ".join("core.%d" % p for p in failed), work))
        log("lldb: %s: every check passed" % fx.name)
        return 0
    except Skip as e:
        log("SKIP: %s" % e)
        return 77
    except Fail as e:
        log("FAIL: %s" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
