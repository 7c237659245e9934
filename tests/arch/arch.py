#!/usr/bin/env python3
"""Cross-architecture tests of ckpt2core against qemu-user's own cores (stdlib only).

A fixture (fixtures/arch/NAME.tar.xz, made by tools/arch-capture.sh) holds a
real program's core as qemu-user wrote it (qemu.core), gdb's gcore of the same
stopped process over qemu's gdb stub (gcore.core), the program (bin/) and the
description of the process (desc.json). For each fixture this harness

  1. generates the CRIU images CRIU would have written of that process
     (tools/c2c-mkimg.py from-desc),
  2. converts them with `ckpt2core IMAGES -o OUT`,
  3. runs gdb-multiarch with the same commands (gdb-arch.cmd) on qemu's core
     and on ours, normalises both and compares them line by line. Register
     lines that qemu's core cannot give (it has no NT_FPREGSET: v0-v31, fpsr,
     fpcr and their q/d/s/h/b views print <unavailable>) are taken from the
     same command on gcore.core instead. A register our core shows that
     neither reference has (tpidr, from NT_ARM_TLS) is checked against the
     thread pointer the program itself recorded (desc.json), tpidr2 against 0;
  4. runs eu-stack on both cores and compares the frame addresses, where
     eu-stack can unwind qemu's core (its frames agree with gdb's there).

It prints the percentage of matching lines and fails below 100 %.

  arch.py --ckpt2core BIN --fixture NAME|DIR [--work WORK] [--check all|gdb|eustack]
  arch.py --selfcheck --fixture NAME|DIR [--work WORK]    (no converter needed)

ia32 fixtures hold the kernel's own core (kernel.core, desc.json "core") in
place of qemu's; the same comparison applies (README.md "ia32").

riscv64 fixtures (qemu 7.2 writes no riscv64 core; README.md "riscv64") hold
gdb's own output on the live process over qemu's stub (gdb-live.out): that is
the reference. Their live.core (tools/arch-live.py: the state the stub gave)
stands in for qemu's core for the description, eu-stack and the selfcheck.

NAME is looked up as fixtures/arch/NAME.tar.xz of this source tree; a
directory is used as it is (an unpacked fixture). Exit status: 0 pass,
1 fail, 2 usage error, 77 skip (gdb-multiarch or eu-stack not installed).
"""

import argparse
import difflib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile

HERE = os.path.dirname(os.path.realpath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
GDB_CMD = os.path.join(HERE, 'gdb-arch.cmd')
MKIMG = os.path.join(TOP, 'tools', 'c2c-mkimg.py')
FIXTURES = os.path.join(TOP, 'fixtures', 'arch')

EXIT_FAIL, EXIT_SKIP = 1, 77
TIMEOUT = 300
MAX_DIFF_LINES = 200
WORK_MARK = '.arch-work'

# gdb's name for each architecture and where the cross libc lives (the
# sysroot qemu ran the dynamic programs with, tools/arch-capture.sh).
ARCH = {'aarch64': ('aarch64', '/usr/aarch64-linux-gnu'),
        'riscv64': ('riscv:rv64', '/usr/riscv64-linux-gnu'),
        'arm': ('armv7', '/usr/arm-linux-gnueabihf'),
        # a -m32 program run natively (compat task of x86_64); its libs, if any, are the host's
        'ia32': ('i386', '/'),
        'ppc64le': ('powerpc:common64', '/usr/powerpc64le-linux-gnu'),
        's390x': ('s390:64-bit', '/usr/s390x-linux-gnu')}


class Fail(Exception):
    pass


class Skip(Exception):
    pass


def log(msg=''):
    print(msg, flush=True)


def need_tool(name):
    path = shutil.which(name)
    if not path:
        raise Skip('%s is not installed (tools/deps.sh arch)' % name)
    return path


def fresh_dir(path):
    """Empty WORK; only a directory this harness made (or an empty one) is removed."""
    real = os.path.realpath(path)
    if os.path.exists(real):
        if os.listdir(real) and not os.path.exists(os.path.join(real, WORK_MARK)):
            raise Fail('refusing to empty %s: not a work dir made by arch.py' % path)
        shutil.rmtree(real)
    os.makedirs(real)
    open(os.path.join(real, WORK_MARK), 'w').close()
    return real


def run(cmd, timeout=TIMEOUT, **kw):
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        raise Fail('%s did not finish within %d s' % (cmd[0], timeout))
    except OSError as e:
        raise Fail('cannot run %s: %s' % (cmd[0], e))


# ---------------------------------------------------------------- fixture


class Fixture:
    def __init__(self, name, work):
        if os.path.isdir(name):
            self.dir = os.path.abspath(name)
        else:
            tarball = name if name.endswith('.tar.xz') else os.path.join(FIXTURES, name + '.tar.xz')
            if not os.path.isfile(tarball):
                raise Fail('no fixture %s (looked for %s)' % (name, tarball))
            dest = os.path.join(work, 'fixture')
            os.makedirs(dest)
            with tarfile.open(tarball) as tf:
                for m in tf.getmembers():
                    if m.name.startswith('/') or '..' in m.name.split('/') or \
                            not (m.isfile() or m.isdir()):
                        raise Fail('%s: unsafe member %s' % (tarball, m.name))
                tf.extractall(dest)
            subdirs = os.listdir(dest)
            if len(subdirs) != 1:
                raise Fail('%s: expected one top directory' % tarball)
            self.dir = os.path.join(dest, subdirs[0])
        self.name = os.path.basename(self.dir)
        with open(os.path.join(self.dir, 'desc.json')) as f:
            self.desc = json.load(f)
        self.arch = self.desc['arch']
        if self.arch not in ARCH:
            raise Fail('%s: unknown arch %s' % (self.name, self.arch))
        # the reference: qemu-user's core, or for ia32 the kernel's (desc.json "core")
        self.qemu_core = os.path.join(self.dir, self.desc.get('core', 'qemu.core'))
        self.kernel_core = self.desc.get('core') == 'kernel.core'
        # riscv64: the reference is gdb's output on the live process
        self.live = self.desc.get('core') == 'live.core'
        self.live_out = os.path.join(self.dir, 'gdb-live.out')
        self.gcore = os.path.join(self.dir, 'gcore.core')
        bins = os.listdir(os.path.join(self.dir, 'bin'))
        if len(bins) != 1:
            raise Fail('%s: expected one program in bin/' % self.name)
        self.exe = os.path.join(self.dir, 'bin', bins[0])
        with open(self.exe, 'rb') as f:
            head = f.read(64 * 1024)
        # a dynamically linked program names its interpreter (PT_INTERP):
        # ld-linux-*.so on arm and aarch64, ld64.so.1 on s390x, ld64.so.2 on ppc64le
        self.dynamic = b'/ld-linux' in head or b'/ld64.so.' in head
        self.tls = {t['tid']: int(t['tls'], 0) for t in self.desc['threads'] if 'tls' in t}
        # ia32: PKRU as the kernel's NT_X86_XSTATE holds it (XSAVE component 9)
        self.pkru = {t['tid']: int.from_bytes(bytes.fromhex(t['fp']['components']['9'])[:4],
                                              'little')
                     for t in self.desc['threads']
                     if '9' in t.get('fp', {}).get('components', {})}
        self.stub = stub_registers(os.path.join(self.dir, 'gdb-stub.out'))


_STUB_HDR = re.compile(r'^Thread \d+ \(Thread \d+\.(\d+) ')


def stub_registers(path):
    """{(lwp, reg): line} of `thread apply all info all-registers` in gdb's
    session over qemu's stub (gdb-stub.out, ppc64le fixtures): the reference for
    the registers of notes neither core has (gdb 13's gcore writes no
    NT_PPC_VMX/NT_PPC_VSX for qemu's target description). Empty without it."""
    out, lwp, inside = {}, None, False
    if not os.path.isfile(path):
        return out
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f.read().splitlines():
            if line.startswith('@@ '):
                inside = line.startswith('@@ thread apply all info all-registers')
                continue
            m = _STUB_HDR.match(line)
            if inside and m:
                lwp = int(m.group(1))
                continue
            m = _REG.match(line)
            if inside and m and lwp is not None:
                out[(lwp, m.group(1))] = line
    return out


def thread_pc(t):
    """A described thread's pc (ppc64le's pt_regs calls it nip, s390x's psw
    pswa, ia32's user_regs_struct eip)."""
    r = t['regs']
    return int(next(r[k] for k in ('pc', 'nip', 'pswa', 'eip') if k in r), 16)


def make_images(fx, work):
    out = os.path.join(work, 'images')
    r = run([sys.executable, MKIMG, 'from-desc', os.path.join(fx.dir, 'desc.json'), '-o', out])
    if r.returncode != 0:
        raise Fail('c2c-mkimg.py from-desc failed: %s' % r.stderr.decode(errors='replace'))
    return out


def convert(a, fx, work):
    images = make_images(fx, work)
    out = os.path.join(work, 'out')
    os.makedirs(out)
    cmd = shlex.split(a.wrapper or '') + [a.ckpt2core, images, '-o', out]
    if fx.kernel_core:
        # A kernel's core holds the executable's ELF header page (coredump_filter
        # bit 4), which CRIU never saves: with --root ckpt2core reads it from the
        # file as a kernel would (elfutils needs it to find the module). The
        # root holds the program at the path the process saw.
        root = os.path.join(work, 'root')
        dest = os.path.join(root, fx.desc['exe'].lstrip('/'))
        os.makedirs(os.path.dirname(dest))
        shutil.copy(fx.exe, dest)
        cmd += ['--root', root]
    log('convert: %s' % ' '.join(cmd))
    r = run(cmd)
    with open(os.path.join(work, 'convert.log'), 'wb') as f:
        f.write(b'exit %d\n--- stdout\n%s--- stderr\n%s' % (r.returncode, r.stdout, r.stderr))
    if r.stderr.strip():
        log('convert: stderr:\n' + r.stderr.decode(errors='replace').rstrip())
    if r.returncode != 0:
        raise Fail('converter exited with %d' % r.returncode)
    core = os.path.join(out, 'core.%d' % fx.desc['pid'])
    if not os.path.isfile(core):
        raise Fail('converter wrote no %s (it wrote: %s)' % (core, ', '.join(os.listdir(out))))
    return core


# -------------------------------------------------------------------- gdb

# Lines that name the machine, the dumping tool or things CRIU images do not
# hold, dropped from every output before comparing:
_DROP = [
    re.compile(r'^Core was generated by'),        # qemu: the guest argv; ours: the images' comm
    re.compile(r'^\[New LWP'),                    # thread discovery noise
    re.compile(r'libthread_db'),                  # host libthread_db paths
    # The signal a process died of: a checkpointed process was alive, so the
    # images carry no signal (and qemu writes no NT_SIGINFO: "Unable to read siginfo").
    re.compile(r'^Program terminated with signal'),
    re.compile(r"^warning: Can.t open file .* during file-backed mapping note processing"),
    # gdb 13 on a kernel's ia32 core from a CPU whose XSAVE layout is not Intel's
    # standard one (AMD: PKRU at 0x980, NT_X86_XSAVE_LAYOUT): it reads no FP
    # registers from that note (they come from gcore.core instead)
    re.compile(r"^warning: Section `\.reg-xstate/\d+' in core file too small"),
]
_SECTION = re.compile(r'^@@ (.*)$')
_THREAD_HDR = re.compile(r'^Thread \d+ \((?:Thread 0x[0-9a-f]+ \()?LWP (\d+)\)?\)?:')
_REG = re.compile(r'^([A-Za-z][A-Za-z0-9_]*)\s+(\S.*)$')
REG_SECTIONS = ('thread apply all info registers', 'thread apply all info all-registers')

# What gdb says of a live process over qemu's stub, and of a core of it, differs
# in what names the target, not the process: the thread's target id (the
# stub's "Thread 1.TID (CPU#n [running])", a core's "LWP TID" or, with
# libthread_db, "Thread 0x... (LWP TID)": both become "LWP TID", and the
# column padding of `info threads' with it), and the registers of qemu's
# target description that no Linux core holds (riscv64: the cycle, time and
# instret counters and the virtual priv register), which come in another
# place of the register list than a core's fcsr, fflags and frm.
_LIVE_TID = re.compile(r'Thread 1\.(\d+) \(CPU#\d+ \[running\]\)|Thread 0x[0-9a-f]+ \(LWP (\d+)\)')
LIVE_ONLY_REGS = {'riscv64': ('cycle', 'time', 'instret', 'priv')}


def live_normalise(lines, arch, reference):
    """Lines of a live reference (reference=True) or of a core, made comparable
    (see above): from the first command on (what gdb says when it opens a core,
    or when the live process stops, precedes it), target ids as LWP TID, `info
    threads' columns single-spaced, the stub-only registers dropped from the
    reference, and each thread's register lines in name order."""
    first = next((i for i, l in enumerate(lines) if _SECTION.match(l)), len(lines))
    lines = lines[first:]
    tids = [_LIVE_TID.sub(lambda m: 'LWP ' + (m.group(1) or m.group(2)), l) for l in lines]
    out, block = [], []
    for line, s, lwp, reg in annotate(tids):
        if reg:
            if reference and reg in LIVE_ONLY_REGS.get(arch, ()):
                continue
            block.append((reg, line))
            continue
        out += [l for _, l in sorted(block)]
        block = []
        if s == 'info threads' and not _SECTION.match(line):
            line = re.sub(r'\s+', ' ', line).rstrip()
        out.append(line)
    return out + [l for _, l in sorted(block)]


def run_gdb(fx, core, cwd):
    gdb = need_tool('gdb-multiarch')
    gdbarch, sysroot = ARCH[fx.arch]
    cmd = [gdb, '-nx', '-q', '-batch', '-iex', 'set debuginfod enabled off',
           '-iex', 'set architecture %s' % gdbarch]
    if fx.dynamic:
        cmd += ['-iex', 'set sysroot %s' % sysroot]
    cmd += ['-ex', 'file %s' % fx.exe, '-ex', 'core-file %s' % core, '-x', GDB_CMD]
    env = dict(os.environ, LC_ALL='C.UTF-8')
    env.pop('DEBUGINFOD_URLS', None)
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                           cwd=cwd, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise Fail('gdb on %s did not finish within %d s' % (core, TIMEOUT))
    return r.stdout.decode('utf-8', 'replace').splitlines()


_XSTATE_WARN_TAIL = re.compile(r"^(.+)warning: Section `\.reg-xstate/\d+' in core file too small\.$")


def normalise(lines):
    out = []
    lines = list(lines)
    for i, line in enumerate(lines):
        # the same warning (stderr) in the middle of an `info threads' line:
        # the line goes on after it
        m = _XSTATE_WARN_TAIL.match(line)
        if m and i + 1 < len(lines):
            lines[i + 1] = m.group(1) + lines[i + 1]
            continue
        if any(r.search(line) for r in _DROP):
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ''
        if line == '' and _DROP[4].search(nxt):
            continue                     # gdb's blank line before that warning
        out.append(line)
    return out


def annotate(lines):
    """[(line, section, lwp, reg)]: reg is the register name for register lines
    of the register sections, else None."""
    res = []
    section = lwp = None
    for line in lines:
        m = _SECTION.match(line)
        if m:
            section, lwp = m.group(1), None
        elif section in REG_SECTIONS and _THREAD_HDR.match(line):
            lwp = int(_THREAD_HDR.match(line).group(1))
        reg = None
        if section in REG_SECTIONS and lwp is not None:
            m = _REG.match(line)
            if m:
                reg = m.group(1)
        res.append((line, section, lwp, reg))
    return res


def expected_lines(ref, gc, pkru_lwps=None):
    """qemu's lines, with each register line that holds <unavailable> replaced
    by gcore's line for that register of that thread in the same command.
    Returns (expected, from_gcore, missing): missing = keys still unavailable."""
    gmap = {(s, lwp, reg): line for line, s, lwp, reg in annotate(gc) if reg}
    pkru_lwps = pkru_lwps or {}
    exp, taken, missing = [], 0, set()
    for line, s, lwp, reg in annotate(ref):
        if reg and '<unavailable>' in line and reg in pkru_lwps.get(lwp, ()):
            # gdb 13's gcore of an AMD-layout XSAVE reads PKRU at Intel's
            # offset, past the end: its 0 is not the task's PKRU, which is
            # checked against the kernel's note instead (actual_lines)
            missing.add((s, lwp, reg))
            continue
        if reg and '<unavailable>' in line:
            g = gmap.get((s, lwp, reg))
            if g is not None and '<unavailable>' not in g:
                exp.append(g)
                taken += 1
                continue
            missing.add((s, lwp, reg))
            continue
        exp.append(line)
    return exp, taken, missing


def actual_lines(fx, ours, ref, missing):
    """Our lines, less the register lines the references cannot judge:
    those still <unavailable> in both references (dropped from both sides),
    and registers no reference shows at all (checked here: tpidr against the
    thread pointer the program recorded, the ppc64le vector registers against
    gdb's line over qemu's stub; anything else is reported)."""
    ref_regs = {(s, lwp, reg) for line, s, lwp, reg in annotate(ref) if reg}
    out, extra, errors = [], [], []
    for line, s, lwp, reg in annotate(ours):
        key = (s, lwp, reg)
        if reg == 'pkru' and lwp in fx.pkru and key in missing:
            m = re.match(r'^\S+\s+(0x[0-9a-f]+)', line)
            if not m or int(m.group(1), 16) != fx.pkru[lwp]:
                errors.append('LWP %d: %s; the kernel\'s NT_X86_XSTATE has pkru %#x'
                              % (lwp, line, fx.pkru[lwp]))
            extra.append(key)
            continue
        if reg and key in missing:
            continue
        if reg and key not in ref_regs:
            m = re.match(r'^\S+\s+(0x[0-9a-f]+)', line)
            if (lwp, reg) in fx.stub:
                if line != fx.stub[(lwp, reg)]:
                    errors.append('LWP %d: %s differs from gdb over the stub:\n  ours: %s\n'
                                  '  stub: %s' % (lwp, reg, line, fx.stub[(lwp, reg)]))
                extra.append(key)
                continue
            if reg == 'tpidr' and m and lwp in fx.tls:
                if int(m.group(1), 16) != fx.tls[lwp]:
                    errors.append('LWP %d: tpidr %s, the program recorded %#x'
                                  % (lwp, m.group(1), fx.tls[lwp]))
                extra.append(key)
                continue
            if reg == 'tpidr2' and m:
                # NT_ARM_TLS's second word; the capture CPU has no SME, so the
                # kernel writes 0 there (tls_get in arch/arm64/kernel/ptrace.c)
                if int(m.group(1), 16) != 0:
                    errors.append('LWP %d: tpidr2 %s, expected 0 (no SME)' % (lwp, m.group(1)))
                extra.append(key)
                continue
            errors.append('LWP %d: register %s that neither reference shows: %s'
                          % (lwp, reg, line))
            extra.append(key)
            continue
        out.append(line)
    return out, extra, errors


def compare_lines(expected, actual, what, save_prefix):
    sm = difflib.SequenceMatcher(None, expected, actual, autojunk=False)
    matched = sum(b.size for b in sm.get_matching_blocks())
    pct = 100.0 * matched / len(expected) if expected else 0.0
    log('%s: %d/%d lines match (%.1f %%)%s' % (
        what, matched, len(expected), pct,
        '' if len(actual) == len(expected) else ', %d lines produced' % len(actual)))
    if expected != actual:
        diff = list(difflib.unified_diff(expected, actual, 'reference', 'ours', lineterm='', n=1))
        with open(save_prefix + '.diff', 'w') as f:
            f.write('\n'.join(diff) + '\n')
        for line in diff[:MAX_DIFF_LINES]:
            log(line[:300])
        if len(diff) > MAX_DIFF_LINES:
            log('... %d more diff lines in %s.diff' % (len(diff) - MAX_DIFF_LINES, save_prefix))
    return matched, len(expected), expected == actual and bool(expected)


def save(path, lines):
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


NT_GDB_TDESC = 0xff000000    # binutils include/elf/common.h


def gcore_without_tdesc(fx, work):
    """A copy of gcore.core whose NT_GDB_TDESC note is renamed to an unknown
    type. gcore saved qemu's target description there, and gdb would format
    the registers by it (fpsr/fpcr as plain numbers, no bf16 view of h0-h31,
    ~150 system registers): without it gdb describes the core as it describes
    any aarch64 Linux core (from AT_HWCAP and the notes), as it does for ours."""
    import struct
    with open(fx.gcore, 'rb') as f:
        data = bytearray(f.read())
    cls64 = data[4] == 2
    bo = '<' if data[5] == 1 else '>'        # EI_DATA: s390x cores are big endian
    phoff = struct.unpack_from(bo + 'Q' if cls64 else bo + 'I', data, 32 if cls64 else 28)[0]
    phnum = struct.unpack_from(bo + 'H', data, 56 if cls64 else 44)[0]
    for i in range(phnum):
        o = phoff + i * (56 if cls64 else 32)
        if struct.unpack_from(bo + 'I', data, o)[0] != 4:
            continue
        if cls64:
            off, size = struct.unpack_from(bo + 'Q', data, o + 8)[0], struct.unpack_from(bo + 'Q', data, o + 32)[0]
        else:
            off, size = struct.unpack_from(bo + 'I', data, o + 4)[0], struct.unpack_from(bo + 'I', data, o + 16)[0]
        n = off
        while n + 12 <= off + size:
            nsz, dsz, typ = struct.unpack_from(bo + 'III', data, n)
            if typ == NT_GDB_TDESC and data[n + 12:n + 12 + nsz].rstrip(b'\0') == b'GDB':
                struct.pack_into(bo + 'I', data, n + 8, 0x7fff0000)
            n += 12 + ((nsz + 3) & ~3) + ((dsz + 3) & ~3)
    path = os.path.join(work, 'gcore-notdesc.core')
    with open(path, 'wb') as f:
        f.write(data)
    return path


_BT_STOPPED = 'Backtrace stopped: not enough registers or memory available to unwind further'


def section_lines(lines, name):
    """(start, end) of section NAME's lines (after its @@ line) in lines."""
    start = next(i for i, l in enumerate(lines) if l == '@@ ' + name) + 1
    end = next((i for i in range(start, len(lines)) if _SECTION.match(lines[i])), len(lines))
    return start, end


def reference_gdb(fx, work):
    if fx.live:
        # gdb's output on the live process; the "gcore" side is gdb on
        # live.core (the stub's state), which must say the same (selfcheck)
        with open(fx.live_out) as f:
            ref = live_normalise(normalise(f.read().splitlines()), fx.arch, True)
        gc = live_normalise(normalise(run_gdb(fx, fx.qemu_core, work)), fx.arch, False)
        save(os.path.join(work, 'gdb-live.out'), ref)
        save(os.path.join(work, 'gdb-livecore.out'), gc)
        return ref, gc
    ref = normalise(run_gdb(fx, fx.qemu_core, work))
    gc = normalise(run_gdb(fx, gcore_without_tdesc(fx, work), work))
    if _BT_STOPPED in ref:
        # s390x: GCC keeps call-saved GPRs of leaf functions in FPRs, and qemu's
        # core has no NT_PRFPREG, so gdb cannot unwind it past frame #1. The bt
        # reference is then gdb's on qemu's core with gcore's FP note of each
        # thread added (merged_core: references only, no converter).
        merged = normalise(run_gdb(fx, merged_core(fx, work), work))
        a, b = section_lines(ref, 'thread apply all bt')
        c, d = section_lines(merged, 'thread apply all bt')
        ref = ref[:a] + merged[c:d] + ref[b:]
        log('gdb: thread apply all bt of qemu.core with gcore.core\'s FP notes '
            '(qemu.core alone: "%s")' % _BT_STOPPED)
    save(os.path.join(work, 'gdb-qemu.out'), ref)
    save(os.path.join(work, 'gdb-gcore.out'), gc)
    return ref, gc


def check_gdb(fx, core, work):
    ref, gc = reference_gdb(fx, work)
    # live: nothing of the reference is filled in from elsewhere
    exp, taken, missing = expected_lines(ref, [] if fx.live else gc,
                                         {l: ('pkru',) for l in fx.pkru})
    ours = normalise(run_gdb(fx, core, work))
    if fx.live:
        ours = live_normalise(ours, fx.arch, False)
    save(os.path.join(work, 'gdb-ours.out'), ours)
    act, extra, errors = actual_lines(fx, ours, ref, missing)
    save(os.path.join(work, 'gdb-expected.out'), exp)
    if fx.live:
        log('gdb: %d reference lines of gdb on the live process (gdb-live.out), '
            '%d register lines unavailable there (not compared)' % (len(exp), len(missing)))
    else:
        log('gdb: %d reference lines from qemu.core, %d register lines from gcore.core '
            '(qemu.core has no FP/SIMD note), %d register lines in neither (not compared)'
            % (len(exp) - taken, taken, len(missing)))
    if extra:
        log('gdb: %d register lines only in our core, checked against desc.json or gdb '
            'over qemu\'s stub (%d of them): %s'
            % (len(extra), sum(1 for s, l, r in extra if (l, r) in fx.stub),
               ', '.join(sorted({r for s, l, r in extra}))))
    m, t, ok = compare_lines(exp, act, 'gdb %s' % fx.name, os.path.join(work, 'gdb'))
    for e in errors:
        log('gdb: ' + e)
    return m, t, ok and not errors


# ---------------------------------------------------------------- eu-stack

_EU_FRAME = re.compile(r'^#(\d+)\s+(0x[0-9a-f]+)')
_EU_TID = re.compile(r'^TID (\d+):')
_BT_FRAME = re.compile(r'^#(\d+)\s+(?:(0x[0-9a-f]+) in )?')


def eustack(fx, core, work):
    eu = need_tool('eu-stack')
    r = run([eu, '-q', '--core', core, '--executable', fx.exe], cwd=work)
    lines = r.stdout.decode('utf-8', 'replace').splitlines()
    return [l for l in lines if not l.startswith('PID ')], r.returncode, \
        r.stderr.decode('utf-8', 'replace').strip()


def eu_frames(lines):
    frames, tid = {}, None
    for line in lines:
        m = _EU_TID.match(line)
        if m:
            tid = int(m.group(1))
            frames[tid] = []
        m = _EU_FRAME.match(line)
        if m and tid is not None:
            frames[tid].append(int(m.group(2), 16))
    return frames


def gdb_bt_frames(fx, ref):
    """Frame addresses of `thread apply all bt` on qemu's core, per LWP (frame 0
    printed without an address is at the thread's pc)."""
    pcs = {t['tid']: thread_pc(t) for t in fx.desc['threads']}
    frames, lwp, section = {}, None, None
    for line in ref:
        m = _SECTION.match(line)
        if m:
            section = m.group(1)
            continue
        if section != 'thread apply all bt':
            continue
        m = _THREAD_HDR.match(line)
        if m:
            lwp = int(m.group(1))
            frames[lwp] = []
            continue
        m = _BT_FRAME.match(line)
        if m and lwp is not None:
            frames[lwp].append(int(m.group(2), 16) if m.group(2) else pcs[lwp])
    return frames


def eustack_threads_pc0(fx, lines=None):
    """[(tid, pc of frame #0)] from eu-stack output, or (lines None) from desc.json."""
    if lines is None:
        return [(t['tid'], thread_pc(t)) for t in fx.desc['threads']]
    frames = eu_frames(lines)
    return [(t, (f[0] if f else None)) for t, f in frames.items()]


def eustack_usable(fx, ref_lines, ref_eu):
    """eu-stack 'works' on qemu's core when, for every thread, its frames
    start with all of gdb's frames there."""
    gdbf = gdb_bt_frames(fx, ref_lines)
    euf = eu_frames(ref_eu)
    bad = [t for t in gdbf if euf.get(t, [])[:len(gdbf[t])] != gdbf[t]]
    return not bad and bool(gdbf), bad


def check_eustack(fx, core, work):
    ref_eu, rc, err = eustack(fx, fx.qemu_core, work)
    save(os.path.join(work, 'eustack-qemu.out'), ref_eu)
    ref, _ = reference_gdb(fx, work)
    usable, bad = eustack_usable(fx, ref, ref_eu)
    ours, orc, oerr = eustack(fx, core, work)
    save(os.path.join(work, 'eustack-ours.out'), ours)
    if not usable:
        # the frames beyond #0 cannot be judged; what can: eu-stack finds every
        # thread of the description, in order, each with frame #0 at its pc
        log('eu-stack: frames not compared: on qemu.core eu-stack unwinds LWP %s '
            'differently from gdb (qemu writes no NT_FILE, and without it elfutils finds '
            'no module with unwind tables); checked: threads and frame #0. Our core:'
            % ', '.join(map(str, bad)))
        for line in ours:
            log('  ' + line)
        if oerr:
            log('  (stderr) ' + oerr.replace('\n', '\n  (stderr) '))
        want = eustack_threads_pc0(fx)
        got = eustack_threads_pc0(fx, ours)
        m = sum(1 for a, b in zip(want, got) if a == b)
        log('eu-stack %s: %d/%d threads with frame #0 at the described pc'
            % (fx.name, m, len(want)))
        if want != got:
            log('eu-stack: want (tid, pc#0) %s, got %s' % (
                [(t, hex(p)) for t, p in want], [(t, hex(p) if p is not None else None)
                                                  for t, p in got]))
        return m, len(want), want == got
    m, t, ok = compare_lines(ref_eu, ours, 'eu-stack %s' % fx.name,
                             os.path.join(work, 'eustack'))
    if not ok and oerr:
        log('eu-stack stderr on our core (exit %d):\n%s' % (orc, oerr))
    return m, t, ok


# --------------------------------------------------------------- selfcheck


def nt_file_of(desc, w, bo='<'):
    """NT_FILE of the described VMAs with files (w-byte words in byte order bo)."""
    import struct
    ps = desc['page_size']
    wc = 'Q' if w == 8 else 'I'
    files = [v for v in desc['vmas'] if v.get('path')]
    nt_file = struct.pack(bo + wc * 2, len(files), ps)
    for v in files:
        nt_file += struct.pack(bo + wc * 3, int(v['start'], 16), int(v['end'], 16),
                               int(v['pgoff'], 16) // ps)
    return nt_file + b''.join(v['path'].encode() + b'\0' for v in files)


def merged_core(fx, work, kernel_like=False):
    """A core the gdb comparison must accept, made without the converter:
    qemu.core whose notes are rewritten (a new PT_NOTE at the end of the file;
    the old note segment's header is pointed at it), memory unchanged.

    Plain: qemu's notes with gcore's FP/SIMD note of each thread after that
    thread's NT_PRSTATUS: exactly what the references hold.
    kernel_like: the notes in the order and sizes a Linux kernel writes them
    (tests/arch/README.md): per thread NT_PRSTATUS, and for the first one then
    NT_PRPSINFO, NT_SIGINFO (zero: the images hold no signal), NT_AUXV, NT_FILE
    (from desc.json's VMAs, 4 KiB pages), then NT_FPREGSET and NT_ARM_TLS
    (the thread pointer the program recorded, TPIDR2 0).
    Both must give 100 %: the expected output can be met."""
    import struct
    sys.path.insert(0, os.path.join(TOP, 'tools'))
    dm = __import__('importlib').import_module('arch-describe')
    q = dm.Elf(fx.qemu_core)
    g = dm.Elf(fx.gcore)
    bo = q.bo
    w = dm.ARCHES[fx.arch]['word']
    pid_off = dm.ARCHES[fx.arch]['pid_off']
    # gcore's FP/SIMD notes of each thread (s390x: NT_PRFPREG and the vector
    # registers, which gdb's s390 unwinder needs as well); ia32: gcore's
    # NT_X86_XSTATE (Intel's standard layout) stands in for the kernel's,
    # which gdb 13 cannot read on a CPU with another layout
    fp_types = ((dm.NT_X86_XSTATE,) if fx.arch == 'ia32' else
                (dm.NT_FPREGSET, dm.NT_ARM_VFP, dm.NT_S390_VXRS_LOW, dm.NT_S390_VXRS_HIGH))
    fpnotes, tid = {}, None
    for name, typ, d in g.notes():
        if typ == dm.NT_PRSTATUS:
            tid = struct.unpack_from(bo + 'i', d, pid_off)[0]
        elif typ in fp_types and tid is not None:
            fpnotes.setdefault(tid, []).append((name, typ, d))

    def note(name, typ, d):
        n = name.encode() + b'\0'
        return (struct.pack(bo + 'III', len(n), len(d), typ) + n + bytes(-len(n) % 4) +
                d + bytes(-len(d) % 4))
    qnotes = list(q.notes())
    blob = b''
    if fx.arch == 'ia32':
        # the reference is a kernel core already: its notes, with gcore's XSTATE;
        # kernel_like also zeroes NT_SIGINFO and rebuilds NT_FILE from desc.json
        t = None
        for name, typ, d in qnotes:
            if typ == dm.NT_PRSTATUS:
                t = struct.unpack_from('<i', d, pid_off)[0]
            if typ == dm.NT_X86_XSTATE and t in fpnotes:
                name, typ, d = fpnotes[t][0]
                if t in fx.pkru and len(d) >= 2696:
                    # gcore read PKRU at Intel's offset of an AMD-layout buffer:
                    # the kernel's value, at that offset (XSAVE_PKRU 2688)
                    d = bytearray(d)
                    struct.pack_into('<I', d, 2688, fx.pkru[t])
                    d = bytes(d)
            elif kernel_like and typ == dm.NT_SIGINFO:
                d = bytes(len(d))
            elif kernel_like and typ == dm.NT_FILE:
                d = nt_file_of(fx.desc, w)
            blob += note(name, typ, d)
    elif not kernel_like:
        for name, typ, d in qnotes:
            blob += note(name, typ, d)
            if typ == dm.NT_PRSTATUS:
                t = struct.unpack_from(bo + 'i', d, pid_off)[0]
                blob += b''.join(note(*n) for n in fpnotes.get(t, []))
    else:
        nt_file = nt_file_of(fx.desc, w, bo)
        proc = [n for n in qnotes if n[1] == dm.NT_PRPSINFO] + \
            [('CORE', dm.NT_SIGINFO, bytes(128))] + \
            [n for n in qnotes if n[1] == dm.NT_AUXV] + [('CORE', dm.NT_FILE, nt_file)]
        first = True
        for name, typ, d in qnotes:
            if typ != dm.NT_PRSTATUS:
                continue
            t = struct.unpack_from(bo + 'i', d, pid_off)[0]
            blob += note(name, typ, d)
            if first:
                blob += b''.join(note(*n) for n in proc)
                first = False
            blob += b''.join(note(*n) for n in fpnotes.get(t, []))
            if fx.arch == 'aarch64' and t in fx.tls:
                blob += note('LINUX', dm.NT_ARM_TLS, struct.pack(bo + 'QQ', fx.tls[t], 0))
    data = bytearray(q.data)
    data += bytes(-len(data) % 8)
    off = len(data)
    data += blob
    # patch the PT_NOTE program header (ELF64 or ELF32)
    phoff = struct.unpack_from(bo + 'Q' if q.cls64 else bo + 'I', q.data, 32 if q.cls64 else 28)[0]
    phentsize = 56 if q.cls64 else 32
    for i, ph in enumerate(q.phdrs):
        if ph['type'] == 4:
            o = phoff + i * phentsize
            if q.cls64:
                struct.pack_into(bo + 'Q', data, o + 8, off)
                struct.pack_into(bo + 'Q', data, o + 32, len(blob))
            else:
                struct.pack_into(bo + 'I', data, o + 4, off)
                struct.pack_into(bo + 'I', data, o + 16, len(blob))
    path = os.path.join(work, 'kernel-like.core' if kernel_like else 'merged.core')
    with open(path, 'wb') as f:
        f.write(data)
    return path


def selfcheck(fx, work):
    """Without a converter: the references agree with each other and with the
    description. gcore and qemu's core of the same stopped process must give
    the same general registers; the images generated from desc.json must be
    what the description says (tools/test-mkimg.py arch-desc, when crit is
    installed); and two cores made here from the references (merged_core) must
    pass the very checks the converter's core must pass."""
    if fx.live:
        return selfcheck_live(fx, work)
    errors = []
    ref, gc = reference_gdb(fx, work)
    gmap = {(s, l, r): line for line, s, l, r in annotate(gc) if r}
    same = 0
    for line, s, lwp, reg in annotate(ref):
        if reg and '<unavailable>' not in line and \
                re.match(r'^(x\d+|sp|pc|[wr]\d+|fp|lr|e[abcd]x|e[sd]i|e[bs]p|eip)$', reg):
            g = gmap.get((s, lwp, reg))
            # the values; gcore's memory has no link_map, so its gdb has no
            # shared library symbols to annotate addresses with
            if g is None or g.split()[:2] != line.split()[:2]:
                errors.append('LWP %s %s: qemu %r, gcore %r' % (lwp, reg, line, g))
            else:
                same += 1
    if not same:
        errors.append('no general register line found in gdb output of qemu.core')
    exp, taken, missing = expected_lines(ref, gc)
    if not taken:
        errors.append('gcore.core filled in no FP/SIMD register line')
    if not any(fx.desc['symbols'] and l.startswith(fx.desc['symbols']['secret'] + ' <secret>:')
               for l in ref):
        errors.append('x/s &secret: not found at the address of `secret`')
    log('selfcheck: %d general register lines agree between qemu.core and gcore.core; '
        '%d FP/SIMD lines come from gcore.core; %d lines unavailable in both'
        % (same, taken, len(missing)))
    imgdir = make_images(fx, work)
    if shutil.which('crit'):
        r = run([sys.executable, os.path.join(TOP, 'tools', 'test-mkimg.py'), 'arch-desc',
                 os.path.join(fx.dir, 'desc.json'), imgdir])
        if r.returncode != 0:
            errors.append('images differ from desc.json: %s' % r.stderr.decode(errors='replace'))
        else:
            log('selfcheck: crit reads back the generated images as described')
    ref_eu, rc, err = eustack(fx, fx.qemu_core, work)
    usable, bad = eustack_usable(fx, ref, ref_eu)
    log('selfcheck: eu-stack on qemu.core (exit %d) %s' % (
        rc, 'agrees with gdb' if usable else 'unwinds LWP %s differently from gdb' %
        ', '.join(map(str, bad))))
    if eustack_threads_pc0(fx, ref_eu) != eustack_threads_pc0(fx):
        errors.append('eu-stack on qemu.core: threads / frame #0 differ from desc.json')
    # the expected output can be met: cores with the references' notes, and
    # with the notes a kernel would write, over qemu's memory, must match 100 %
    for kl in (False, True):
        mwork = os.path.join(work, 'kernel-like' if kl else 'merged')
        os.makedirs(mwork)
        core = merged_core(fx, mwork, kl)
        m, t, ok = check_gdb(fx, core, mwork)
        if not ok:
            errors.append('%s does not give the expected gdb output (%d/%d lines)'
                          % (os.path.basename(core), m, t))
        m, t, ok = check_eustack(fx, core, mwork)
        if not ok:
            errors.append('%s does not give the expected eu-stack output (%d/%d lines)'
                          % (os.path.basename(core), m, t))
    for e in errors:
        log('selfcheck: ' + e)
    if errors:
        raise Fail('%d selfcheck error(s)' % len(errors))
    return 0


def selfcheck_live(fx, work):
    """A live fixture: gdb on live.core (the state the stub gave, as the
    description takes it) must print exactly what gdb printed on the live
    process; the images and eu-stack are checked as for the other fixtures."""
    errors = []
    ref, gc = reference_gdb(fx, work)
    m, t, ok = compare_lines(ref, gc, 'selfcheck: gdb on live.core against the live process',
                             os.path.join(work, 'gdb-livecore'))
    if not ok:
        errors.append('gdb on live.core differs from gdb on the live process (%d/%d)' % (m, t))
    if not any(l.startswith(fx.desc['symbols']['secret'] + ' <secret>:') for l in ref):
        errors.append('x/s &secret: not found at the address of `secret`')
    imgdir = make_images(fx, work)
    # crit before CRIU 4.1 (Debian 12's 3.17) knows no riscv64: it drops
    # CoreEntry.mtype 8 and ti_riscv64, so it cannot judge these images
    log('selfcheck: images not read back with crit (no riscv64 in CRIU < 4.1)')
    ref_eu, rc, err = eustack(fx, fx.qemu_core, work)
    usable, bad = eustack_usable(fx, ref, ref_eu)
    log('selfcheck: eu-stack on live.core (exit %d) %s' % (
        rc, 'agrees with gdb' if usable else 'unwinds LWP %s differently from gdb' %
        ', '.join(map(str, bad))))
    if eustack_threads_pc0(fx, ref_eu) != eustack_threads_pc0(fx):
        errors.append('eu-stack on live.core: threads / frame #0 differ from desc.json')
    for e in errors:
        log('selfcheck: ' + e)
    if errors:
        raise Fail('%d selfcheck error(s)' % len(errors))
    return 0


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--ckpt2core', help='the converter to test')
    ap.add_argument('--fixture', required=True, help='fixture name (fixtures/arch/NAME.tar.xz) '
                    'or an unpacked fixture directory')
    ap.add_argument('--work', help='work directory (emptied first; default: '
                    '/tmp/c2c-arch-test/NAME)')
    ap.add_argument('--wrapper', default='', help='command prefix for the converter, e.g. valgrind')
    ap.add_argument('--check', choices=('all', 'gdb', 'eustack'), default='all')
    ap.add_argument('--selfcheck', action='store_true',
                    help='check the fixture and this harness, without a converter')
    a = ap.parse_args(argv)
    if not a.selfcheck and not a.ckpt2core:
        ap.error('--ckpt2core is required (or --selfcheck)')
    try:
        name = os.path.basename(a.fixture.rstrip('/')).replace('.tar.xz', '')
        work = fresh_dir(a.work or os.path.join('/tmp', 'c2c-arch-test', name))
        need_tool('gdb-multiarch')
        fx = Fixture(a.fixture, work)
        if a.selfcheck:
            return selfcheck(fx, work)
        core = convert(a, fx, work)
        matched = total = 0
        ok = True
        if a.check in ('all', 'gdb'):
            m, t, k = check_gdb(fx, core, work)
            matched, total, ok = matched + m, total + t, ok and k
        if a.check in ('all', 'eustack'):
            m, t, k = check_eustack(fx, core, work)
            matched, total, ok = matched + m, total + t, ok and k
        pct = 100.0 * matched / total if total else 0.0
        log('%s: %d/%d reference lines match: %.1f %%' % (fx.name, matched, total, pct))
        if not ok or not total:
            raise Fail('%s: below 100 %% (see %s)' % (fx.name, work))
        return 0
    except Skip as e:
        log('SKIP: %s' % e)
        return EXIT_SKIP
    except Fail as e:
        log('FAIL: %s' % e)
        return EXIT_FAIL


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
