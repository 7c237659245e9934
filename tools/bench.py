#!/usr/bin/env python3
"""ckpt2core benchmark (issues #6 and #15). Not a test: it measures, prints a
table and says which performance targets were met.

For every case it generates a synthetic checkpoint with tools/c2c-mkimg.py
(several processes), then, in the same run and on the same filesystem, times
the physical reference and `ckpt2core INPUT -o OUT`, alternately, --runs
times each (median reported). Before every timed command the previous output
is deleted, dirty data is synced and, when /proc/sys/vm/drop_caches is
writable, the page cache is dropped (cold cache for both); otherwise both read
the inputs once first (warm cache for both). Peak RSS comes from
/usr/bin/time -v, disk usage from du -k.

Cases:
  dir-<N>g        image directory, for each --sizes N (GiB of page data);
                  reference `cp` of the pages files to the output filesystem
  vmas-70k, threads-64
  <fmt>-<order>-<N>g  archives (--formats tar,gz,zst x --orders), N = --archive-gib;
                  reference: decompression to a file on the output filesystem
                  (`zstd -dc > F`, `gzip -dc > F`, `cp` for .tar); decompression
                  to /dev/null is shown as context. Member orders:
                    lexical      Go's filepath.Walk, as CRI-O and Podman write
                                 (containers/storage pkg/archive): core-*, mm-*,
                                 pagemap-* before pages-*
                    pages-first  every pages-*.img first, then the rest: the order
                                 of the fixture archives (a GNU tar re-pack in
                                 readdir order), the worst case
                    readdir      plain `tar -c` of the directory (this
                                 filesystem's readdir order)
  xfs-<N>g        (--xfs) the image directory and the output on a loop-mounted
                  XFS with reflinks, for each --sizes N; references
                  `cp --reflink=never` and `cp --reflink=always`; checks that
                  the cores share the pages' extents (free space barely moves)

Targets (issues #6, #15): dir-4g time <= 1.1 x cp; peak RSS <= 64 MiB for the
size cases and the archives; vmas-70k < 1 s; lexical archives <= 1.1 x and
any other order <= 1.3 x decompression to a file; output disk usage <= the
non-zero pages + 1 MiB per core + the program headers (zero pages stay holes); on XFS the cores
take <= 1 MiB per core of new space and the largest size takes no more than
twice the time of the smallest.

Exit status: 0 all targets met, 1 some target missed, 2 error (bad option,
not enough space, a command failed).

Only python3 (standard library), coreutils, /usr/bin/time, tar, gzip and
zstd; --xfs also needs xfsprogs, losetup and root.
"""
import argparse
import glob
import json
import os
import platform
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
MKIMG = os.path.join(HERE, 'c2c-mkimg.py')
GNU_TIME = '/usr/bin/time'
DROP_CACHES = '/proc/sys/vm/drop_caches'
MiB = 1 << 20
GiB = 1 << 30

# Targets of issues #6 and #15.
T_RATIO_DIR = 1.1         # x cp, 4 GiB directory (#15 item 4)
T_RATIO_LEXICAL = 1.1     # x decompression to a file, lexical member order (#15 item 2)
T_RATIO_ANY = 1.3         # x decompression to a file, any member order (#15 item 3)
T_XFS_GROWTH = 2.0        # time of the largest XFS size / the smallest (#15 item 4)
T_RSS_MIB = 64
T_VMAS_S = 1.0
T_DISK_PER_CORE = MiB


class BenchError(Exception):
    pass


def log(msg=''):
    print(msg, flush=True)


def fmt_s(s):
    return '-' if s is None else ('%.3f' % s if s < 10 else '%.2f' % s)


# --------------------------------------------------------------------------
# running and measuring
# --------------------------------------------------------------------------

class Runner:
    def __init__(self, args, workdir):
        self.args = args
        self.workdir = workdir
        self.cold = False
        if args.cache in ('auto', 'cold'):
            try:
                with open(DROP_CACHES, 'w') as f:
                    f.write('3')
                self.cold = True
            except OSError as e:
                if args.cache == 'cold':
                    raise BenchError('--cache cold: cannot write %s: %s' % (DROP_CACHES, e))
        self.cache_note = ('cold: sync + echo 3 > %s before every timed command' % DROP_CACHES
                           if self.cold else
                           'warm: inputs read once before every timed command '
                           '(%s not writable or --cache warm)' % DROP_CACHES)

    def prepare(self, inputs, outputs):
        """Same starting state for every timed command: no previous output,
        nothing dirty, and either nothing cached or the inputs cached."""
        for o in outputs:
            if os.path.isdir(o) and not os.path.islink(o):
                shutil.rmtree(o)
            elif os.path.lexists(o):
                os.unlink(o)
        os.sync()
        if self.cold:
            with open(DROP_CACHES, 'w') as f:
                f.write('3')
        else:
            buf = bytearray(4 * MiB)
            for path in inputs:
                with open(path, 'rb', buffering=0) as f:
                    while f.readinto(buf):
                        pass

    def timed(self, argv, stdout=None, timeout=None, flush_dir=None):
        """Run argv under /usr/bin/time -v. Wall time is measured here
        (monotonic, includes `sync -f flush_dir` when --flush is given)."""
        fd, tfile = tempfile.mkstemp(prefix='time-', dir=self.workdir)
        os.close(fd)
        out = open(os.devnull, 'wb') if stdout is None else stdout
        try:
            t0 = time.monotonic()
            try:
                p = subprocess.run([GNU_TIME, '-v', '-o', tfile] + argv, stdout=out,
                                   stderr=subprocess.PIPE, timeout=timeout)
            except subprocess.TimeoutExpired:
                return {'timeout': True, 'wall': None, 'rc': None, 'rss_kib': None}
            if flush_dir:
                subprocess.run(['sync', '-f', flush_dir], check=True)
            wall = time.monotonic() - t0
            with open(tfile) as f:
                tv = f.read()
        finally:
            if stdout is None:
                out.close()
            os.unlink(tfile)

        def field(name, conv=float):
            m = re.search(r'^\s*' + re.escape(name) + r':\s*(\S+)\s*$', tv, re.M)
            return conv(m.group(1)) if m else None
        return {'timeout': False, 'wall': wall, 'rc': p.returncode,
                'rss_kib': field('Maximum resident set size (kbytes)', int),
                'user': field('User time (seconds)'), 'sys': field('System time (seconds)'),
                'stderr': p.stderr.decode(errors='replace')[-2000:]}


def du_kib(paths):
    if not paths:
        return 0
    p = subprocess.run(['du', '-k', '-c', '--'] + paths, stdout=subprocess.PIPE, check=True)
    return int(p.stdout.decode().strip().splitlines()[-1].split()[0])


def phnum_of(core):
    """Number of program headers of an ELF64 core (PN_XNUM: from section header 0)."""
    with open(core, 'rb') as f:
        eh = f.read(64)
        if len(eh) < 64 or eh[:4] != b'\x7fELF':
            return None
        shoff, = struct.unpack_from('<Q', eh, 40)
        phnum, = struct.unpack_from('<H', eh, 56)
        if phnum == 0xffff:
            f.seek(shoff)
            sh = f.read(64)
            phnum, = struct.unpack_from('<I', sh, 44)
        return phnum


def loadavg():
    try:
        with open('/proc/loadavg') as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# --------------------------------------------------------------------------
# cases
# --------------------------------------------------------------------------

def mkimg(args, out, **kw):
    argv = [sys.executable, MKIMG, '--synthetic', '-o', out]
    for k, v in kw.items():
        argv += ['--' + k.replace('_', '-'), str(v)]
    t0 = time.monotonic()
    p = subprocess.run(argv, stderr=subprocess.PIPE)
    if p.returncode:
        raise BenchError('generator failed (%s): %s' % (' '.join(argv),
                                                        p.stderr.decode(errors='replace')))
    return time.monotonic() - t0


def pages_files(d):
    return sorted(glob.glob(os.path.join(d, 'pages-*.img')))


def nprocs_of(d):
    # one mm-<pid>.img per live process; each gets a core
    return len(glob.glob(os.path.join(d, 'mm-*.img')))


ZERO_PAGE = bytes(4096)


def nonzero_bytes(paths):
    """Bytes of the 4 KiB pages of paths that are not all zero (what a core
    that keeps zero pages as holes must store)."""
    n = 0
    buf = bytearray(4 * MiB)
    for p in paths:
        with open(p, 'rb', buffering=0) as f:
            while True:
                k = f.readinto(buf)
                if not k:
                    break
                mv = memoryview(buf)[:k]
                for i in range(0, k, 4096):
                    page = mv[i:i + 4096]
                    if page != ZERO_PAGE[:len(page)]:
                        n += len(page)
    return n


def gen_params(args, gib):
    f = args.zero_fraction
    return dict(procs=args.procs, threads=4, vmas=args.size_vmas,
                mem_mib=gib * 1024 / (1 - f), run_pages=args.run_pages, zero_fraction=f)


def plan_cases(args, archive_ok):
    cases = []
    for n in args.sizes:
        cases.append({'name': 'dir-%gg' % n, 'kind': 'dir', 'gib': n,
                      'gen': gen_params(args, n), 'need': 3 * n * GiB})
    if 'vmas' in args.cases:
        cases.append({'name': 'vmas-%dk' % (args.vmas // 1000) if args.vmas % 1000 == 0
                      else 'vmas-%d' % args.vmas, 'kind': 'dir', 'vmas_case': True,
                      # one page per VMA, each its own pagemap entry and PT_LOAD
                      'gen': dict(procs=1, threads=1, vmas=args.vmas,
                                  mem_mib=args.vmas * 4096 / MiB),
                      'need': 3 * args.vmas * 4096 + 256 * MiB})
    if 'threads' in args.cases:
        cases.append({'name': 'threads-%d' % args.threads, 'kind': 'dir',
                      'gen': dict(procs=1, threads=args.threads, vmas=64, mem_mib=256),
                      'need': 3 * 256 * MiB})
    if 'archive' in args.cases and archive_ok:
        n = args.archive_gib
        for fmt in args.formats:
            for order in args.orders:
                cases.append({'name': '%s-%s-%gg' % (fmt, order, n), 'kind': 'archive',
                              'gib': n, 'order': order, 'fmt': fmt, 'gen': gen_params(args, n),
                              # image dir + archive while packing; then archive +
                              # cores (+ spool) + the reference's file
                              'need': 4 * n * GiB})
    if 'xfs' in args.cases:
        for n in args.xfs_sizes:
            cases.append({'name': 'xfs-%gg' % n, 'kind': 'xfs', 'gib': n,
                          'gen': gen_params(args, n), 'need': 3 * n * GiB + GiB})
    return cases


def member_order(stage, order):
    """The archive's member names in the order an engine writes them."""
    ck = os.path.join(stage, 'checkpoint')
    top = sorted(os.listdir(stage))
    if order == 'readdir':
        return None                         # plain tar -c: readdir order
    inner = sorted(os.listdir(ck))          # Go's filepath.Walk: lexical, byte order
    if order == 'pages-first':
        inner = [x for x in inner if x.startswith('pages-')] + \
                [x for x in inner if not x.startswith('pages-')]
    names = []
    for t in top:
        names.append(t)
        if t == 'checkpoint':
            names += ['checkpoint/' + x for x in inner]
    return names


COMPRESS = {'tar': None, 'gz': ['gzip', '-c', '-6'], 'zst': None}
SUFFIX = {'tar': '.tar', 'gz': '.tar.gz', 'zst': '.tar.zst'}


def make_archive(args, case, base):
    """A checkpoint archive: checkpoint/ + config.dump + spec.dump, in the
    case's member order and compression."""
    stage = os.path.join(base, 'stage')
    os.makedirs(stage)
    img = os.path.join(stage, 'checkpoint')
    case['gen_s'] = mkimg(args, img, **case['gen'])
    pf = pages_files(img)
    case['pages_bytes'] = sum(os.path.getsize(p) for p in pf)
    case['nonzero_bytes'] = nonzero_bytes(pf)
    case['ncores'] = nprocs_of(img)
    with open(os.path.join(stage, 'config.dump'), 'w') as f:
        json.dump({'id': '0' * 64, 'name': 'c2c-bench', 'rootfsImageName': 'c2c-bench:latest',
                   'runtime': 'crun', 'createdTime': '2026-01-01T00:00:00Z',
                   'checkpointedTime': '2026-01-01T00:00:01Z'}, f)
    with open(os.path.join(stage, 'spec.dump'), 'w') as f:
        json.dump({'ociVersion': '1.0.0',
                   'annotations': {'io.container.manager': 'libpod'}}, f)
    arch = os.path.join(base, 'checkpoint' + SUFFIX[case['fmt']])
    names = member_order(stage, case['order'])
    t0 = time.monotonic()
    if names is None:
        tar_argv = ['tar', '-C', stage, '-cf', '-', 'checkpoint', 'config.dump', 'spec.dump']
    else:
        lst = os.path.join(base, 'members.txt')
        with open(lst, 'w') as f:
            f.write(''.join(x + '\n' for x in names))
        tar_argv = ['tar', '-C', stage, '--no-recursion', '-T', lst, '-cf', '-']
    with open(arch, 'wb') as out:
        if case['fmt'] == 'tar':
            ok = subprocess.run(tar_argv, stdout=out).returncode == 0
        else:
            comp = (['zstd', '-q', '-T0', '-%d' % args.zstd_level, '-c']
                    if case['fmt'] == 'zst' else COMPRESS[case['fmt']])
            tar = subprocess.Popen(tar_argv, stdout=subprocess.PIPE)
            z = subprocess.run(comp, stdin=tar.stdout, stdout=out)
            tar.stdout.close()
            ok = tar.wait() == 0 and z.returncode == 0
    if not ok:
        raise BenchError('cannot create %s' % arch)
    # pages images that come before the last mm or pagemap image (whose pages
    # cannot go straight into place); pages-N is numbered by pages id, not pid
    listing = subprocess.run(['tar', '-tf', arch], stdout=subprocess.PIPE,
                             check=True).stdout.decode().split()
    base_names = [x.split('/')[-1] for x in listing]
    meta = [i for i, x in enumerate(base_names) if re.match(r'(mm|pagemap)-\d+\.img$', x)]
    case['pages_before_meta'] = sum(1 for i, x in enumerate(base_names)
                                    if x.startswith('pages-') and meta and i < max(meta))
    case['npages_images'] = sum(1 for x in base_names if x.startswith('pages-'))
    case['pack_s'] = time.monotonic() - t0
    case['archive_bytes'] = os.path.getsize(arch)
    shutil.rmtree(stage)       # only the archive is converted
    return arch


class Xfs:
    """A loop-mounted XFS with reflinks under the work directory."""

    def __init__(self, base, size):
        self.img = os.path.join(base, 'xfs.img')
        self.mnt = os.path.join(base, 'mnt')
        os.makedirs(self.mnt)
        with open(self.img, 'wb') as f:
            f.truncate(size)
        for argv in (['mkfs.xfs', '-q', '-f', '-m', 'reflink=1', self.img],
                     ['mount', '-o', 'loop', self.img, self.mnt]):
            p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if p.returncode:
                raise BenchError('%s: %s' % (' '.join(argv), p.stdout.decode(errors='replace')))

    def free(self):
        os.sync()
        st = os.statvfs(self.mnt)
        return st.f_bfree * st.f_frsize

    def close(self):
        subprocess.run(['umount', self.mnt])


def run_case(args, R, case, c2c, coredump):
    base = os.path.join(R.workdir, case['name'])
    os.makedirs(base)
    xfs = None
    ctx_cmds = []               # (label, function): context, not judged
    try:
        if case['kind'] == 'xfs':
            xfs = Xfs(base, int(case['need']))
            base = xfs.mnt
        ref_out = os.path.join(base, 'ref-out')
        c2c_out = os.path.join(base, 'c2c-out')
        flush = base if args.flush else None
        if case['kind'] == 'archive':
            log('%s: generating %g GiB and packing ...' % (case['name'], case['gib']))
            inp = make_archive(args, case, base)
            inputs = [inp]
            log('  generated in %.1f s, packed in %.1f s: %.1f MiB archive, %d of %d pages '
                'images before their mm or pagemap'
                % (case['gen_s'], case['pack_s'], case['archive_bytes'] / MiB,
                   case['pages_before_meta'], case['npages_images']))
            dst = os.path.join(ref_out, 'checkpoint.tar')
            fmt = case['fmt']
            ref_name = {'tar': 'cp', 'gz': 'gzip -dc >F', 'zst': 'zstd -dc >F'}[fmt]
            dec = {'gz': ['gzip', '-dc', inp], 'zst': ['zstd', '-dcq', inp]}.get(fmt)

            def ref_cmd():
                os.makedirs(ref_out, exist_ok=True)
                if dec is None:
                    return R.timed(['cp', '--', inp, dst], flush_dir=flush)
                with open(dst, 'wb') as f:
                    return R.timed(dec, stdout=f, flush_dir=flush)
            if dec:
                def null_cmd():
                    with open(os.devnull, 'wb') as dn:
                        return R.timed(dec, stdout=dn)
                ctx_cmds.append(('%s >/dev/null' % dec[0], null_cmd))
        else:
            inp = os.path.join(base, 'images')
            log('%s: generating (%s) ...' % (case['name'], ' '.join(
                '--%s %s' % (k.replace('_', '-'), ('%g' % v) if isinstance(v, float) else v)
                for k, v in case['gen'].items())))
            case['gen_s'] = mkimg(args, inp, **case['gen'])
            inputs = pages_files(inp)
            case['pages_bytes'] = sum(os.path.getsize(p) for p in inputs)
            case['nonzero_bytes'] = nonzero_bytes(inputs)
            case['ncores'] = nprocs_of(inp)
            log('  generated in %.1f s: %d pages file(s), %.1f MiB, %.1f MiB non-zero'
                % (case['gen_s'], len(inputs), case['pages_bytes'] / MiB,
                   case['nonzero_bytes'] / MiB))
            if case['kind'] == 'xfs':
                ref_name = 'cp --reflink=always'
                refl = ['--reflink=always']

                def phys_cmd():
                    os.makedirs(ref_out, exist_ok=True)
                    return R.timed(['cp', '--reflink=never', '--'] + inputs + [ref_out])
                ctx_cmds.append(('cp --reflink=never', phys_cmd))
            else:
                ref_name = 'cp'
                refl = []

            def ref_cmd():
                os.makedirs(ref_out, exist_ok=True)
                return R.timed(['cp'] + refl + ['--'] + inputs + [ref_out], flush_dir=flush)
        case['ref_name'] = ref_name
        refs, runs, base_runs, ctxs = [], [], [], {label: [] for label, _ in ctx_cmds}
        for i in range(args.runs):
            R.prepare(inputs, [ref_out])
            r = ref_cmd()
            if r['rc'] != 0:
                raise BenchError('%s failed: %s' % (ref_name, r['stderr']))
            refs.append(r)
            for label, fn in ctx_cmds:
                R.prepare(inputs, [ref_out])
                x = fn()
                if x['rc'] != 0:
                    raise BenchError('%s failed: %s' % (label, x['stderr']))
                ctxs[label].append(x)
            if args.baseline:
                R.prepare(inputs, [ref_out, c2c_out])
                b = R.timed([args.baseline, '-q', inp, '-o', c2c_out], flush_dir=flush)
                if b['rc'] not in (0, 1):
                    raise BenchError('baseline failed on %s (exit %s): %s'
                                     % (case['name'], b['rc'], b['stderr']))
                base_runs.append(b)
            R.prepare(inputs, [ref_out, c2c_out])
            free0 = xfs.free() if xfs else None
            c = R.timed([c2c, '-q', inp, '-o', c2c_out], flush_dir=flush)
            if c['rc'] not in (0, 1):
                raise BenchError('ckpt2core failed on %s (exit %s): %s'
                                 % (case['name'], c['rc'], c['stderr']))
            if xfs:
                c['new_space'] = free0 - xfs.free()
            runs.append(c)
            log('  run %d/%d: %-11s %7s s (cpu %.2f)   ckpt2core %7s s (user %.2f sys %.2f, '
                'RSS %.1f MiB%s)%s'
                % (i + 1, args.runs, ref_name, fmt_s(r['wall']), r['user'] + r['sys'],
                   fmt_s(c['wall']), c['user'], c['sys'], c['rss_kib'] / 1024,
                   ', exit 1: warnings' if c['rc'] == 1 else '',
                   ''.join('   %s %s s' % (label, fmt_s(v[-1]['wall']))
                           for label, v in ctxs.items()) +
                   ('   baseline %s s (RSS %.1f MiB)' % (fmt_s(base_runs[-1]['wall']),
                                                       base_runs[-1]['rss_kib'] / 1024)
                    if base_runs else '')))
        cores = sorted(glob.glob(os.path.join(c2c_out, 'core.*')))
        if len(cores) != case['ncores']:
            raise BenchError('%s: expected %d core(s), ckpt2core wrote %d'
                             % (case['name'], case['ncores'], len(cores)))
        case['disk_kib'] = du_kib(cores)
        case['core_bytes'] = sum(os.path.getsize(p) for p in cores)
        case['phnum'] = sum(phnum_of(p) or 0 for p in cores)
        case['ref_s'] = median(r['wall'] for r in refs)
        case['ctx'] = {label: median(x['wall'] for x in v) for label, v in ctxs.items()}
        case['c2c_s'] = median(c['wall'] for c in runs)
        case['base_s'] = median(b['wall'] for b in base_runs) if base_runs else None
        case['rss_kib'] = max(c['rss_kib'] for c in runs)
        case['c2c_runs'] = [c['wall'] for c in runs]
        case['ref_runs'] = [r['wall'] for r in refs]
        case['c2c_user'] = median(c['user'] for c in runs)
        case['c2c_sys'] = median(c['sys'] for c in runs)
        case['ref_cpu'] = median(r['user'] + r['sys'] for r in refs)
        if xfs:
            case['new_space'] = max(c['new_space'] for c in runs)
        case['baseline'] = args.baseline
        case['loadavg'] = loadavg()
        case['exit'] = runs[-1]['rc']
        # optional: CRIU's own converter (one run, it is slow)
        case['coredump'] = None
        if coredump and case['kind'] == 'dir':
            if case['pages_bytes'] > args.coredump_max_mib * MiB:
                case['coredump'] = 'skipped'
            else:
                cd_out = os.path.join(base, 'criu-out')
                R.prepare(inputs, [ref_out, c2c_out])
                os.makedirs(cd_out)
                r = R.timed(coredump + ['-i', inp, '-o', cd_out], timeout=args.coredump_timeout)
                case['coredump'] = ('>%ds' % args.coredump_timeout if r['timeout'] else
                                    'failed' if r['rc'] else
                                    '%s s, %.0f MiB' % (fmt_s(r['wall']), r['rss_kib'] / 1024))
    finally:
        if xfs:
            if not args.keep:
                shutil.rmtree(xfs.mnt + '/images', ignore_errors=True)
            xfs.close()
        if not args.keep:
            shutil.rmtree(os.path.join(R.workdir, case['name']), ignore_errors=True)


# --------------------------------------------------------------------------
# verdicts and report
# --------------------------------------------------------------------------

def judge(case, cases):
    """[(target text, measured text, ok)] for this case."""
    out = []
    ratio = case['c2c_s'] / case['ref_s'] if case['ref_s'] else None
    case['ratio'] = ratio
    # The non-zero pages, 1 MiB per core for notes and alignment, and the
    # program header table (56 B per PT_LOAD: 3.8 MiB for 70 000 VMAs),
    # which any ELF core of the process needs.
    limit_kib = (case['nonzero_bytes'] // 1024 + case['ncores'] * T_DISK_PER_CORE // 1024 +
                 case['phnum'] * 56 // 1024)
    case['disk_limit_kib'] = limit_kib
    rss_mib = case['rss_kib'] / 1024
    if case['kind'] == 'archive':
        t = T_RATIO_LEXICAL if case['order'] == 'lexical' else T_RATIO_ANY
        out.append(('time <= %.2f x %s' % (t, case['ref_name']), '%.2f x' % ratio,
                    ratio <= t))
    elif case['kind'] == 'dir' and case.get('gib', 0) >= 4:
        out.append(('time <= %.2f x cp' % T_RATIO_DIR, '%.2f x' % ratio, ratio <= T_RATIO_DIR))
    if case['kind'] == 'xfs':
        lim = case['ncores'] * T_DISK_PER_CORE
        out.append(('new space <= 1 MiB/core', '%.1f MiB' % (case['new_space'] / MiB),
                    case['new_space'] <= lim))
        small = [c for c in cases if c['kind'] == 'xfs' and c is not case and
                 c['gib'] < case['gib']]
        if small:
            s = min(small, key=lambda c: c['gib'])
            g = case['c2c_s'] / s['c2c_s'] if s['c2c_s'] else float('inf')
            out.append(('time(%s) <= %g x time(%s)' % (case['name'], T_XFS_GROWTH, s['name']),
                        '%.2f x' % g, g <= T_XFS_GROWTH))
    if case.get('gib'):
        out.append(('peak RSS <= %d MiB' % T_RSS_MIB, '%.1f MiB' % rss_mib,
                    rss_mib <= T_RSS_MIB))
    if case.get('vmas_case'):
        out.append(('time < %g s' % T_VMAS_S, '%s s' % fmt_s(case['c2c_s']),
                    case['c2c_s'] < T_VMAS_S))
    if case['kind'] != 'xfs':     # reflinked extents are counted by du, but not new
        out.append(('disk <= non-zero pages + 1 MiB/core + phdrs',
                    '%d <= %d KiB' % (case['disk_kib'], limit_kib),
                    case['disk_kib'] <= limit_kib))
    case['checks'] = out
    return out


def report(cases, coredump_note):
    hdr = ['case', 'pages MiB', 'cores', 'ref', 'ref s', 'ckpt2core s', 'MB/s', 'ratio',
           'RSS MiB', 'du KiB', 'limit KiB', 'load', 'CRIU coredump', 'verdict']
    rows = []
    for c in cases:
        fails = [t for t, _, ok in c['checks'] if not ok]
        mbps = c['pages_bytes'] / 1e6 / c['c2c_s'] if c['c2c_s'] else 0
        rows.append([c['name'], '%.1f' % (c['pages_bytes'] / MiB), str(c['ncores']),
                     c['ref_name'], fmt_s(c['ref_s']), fmt_s(c['c2c_s']), '%.0f' % mbps,
                     '%.2f' % c['ratio'], '%.1f' % (c['rss_kib'] / 1024), str(c['disk_kib']),
                     str(c['disk_limit_kib']),
                     '-' if c['loadavg'] is None else '%.1f' % c['loadavg'],
                     c['coredump'] or coredump_note,
                     'FAIL' if fails else 'pass'])
    w = [max(len(r[i]) for r in rows + [hdr]) for i in range(len(hdr))]
    line = lambda r: '  '.join(x.rjust(w[i]) if 0 < i < len(hdr) - 2 and i != 3 else x.ljust(w[i])
                               for i, x in enumerate(r)).rstrip()
    log(line(hdr))
    log(line(['-' * x for x in w]))
    for r in rows:
        log(line(r))
    log()
    log('MB/s = pages bytes / 10^6 / ckpt2core time (median); ratio = ckpt2core / reference; '
        'RSS = max over runs; du = du -k of the cores; limit = non-zero pages + 1 MiB per '
        'core + 56 B per program header; load = 1-min load average after the case')
    log()
    log('targets:')
    ok_all = True
    for c in cases:
        for t, m, ok in c['checks']:
            ok_all &= ok
            log('  %-4s %-18s %-36s %s' % ('PASS' if ok else 'FAIL', c['name'], t, m))
    for c in cases:
        if c.get('note'):
            log('  note: ' + c['note'])
        if c.get('base_s'):
            log('  baseline: %s: %s takes %s s (%.2f x the reference); ckpt2core %.2f x'
                % (c['name'], c['baseline'], fmt_s(c['base_s']),
                   c['base_s'] / c['ref_s'], c['ratio']))
        for label, v in (c.get('ctx') or {}).items():
            if v:
                log('  context: %s: %s takes %s s; ckpt2core is %.2f x that'
                    % (c['name'], label, fmt_s(v), c['c2c_s'] / v))
    return ok_all


def markdown(cases, cache_note, args):
    """The results as a Markdown table, one row per case."""
    out = ['| case | pages MiB | cores | reference | ref s | ckpt2core s | ratio | '
           'baseline s | peak RSS MiB | du of cores KiB (limit) | targets |',
           '|---|---|---|---|---|---|---|---|---|---|---|']
    for c in cases:
        fails = [t for t, _, ok in c['checks'] if not ok]
        verdict = 'all met' if not fails else 'MISSED: ' + '; '.join(fails)
        out.append('| %s | %.0f | %d | %s | %s | %s | %.2f | %s | %.1f | %d (%d) | %s |' % (
            c['name'], c['pages_bytes'] / MiB, c['ncores'], c['ref_name'].replace('|', '\\|'),
            fmt_s(c['ref_s']), fmt_s(c['c2c_s']), c['ratio'],
            fmt_s(c.get('base_s')) if c.get('base_s') else '-', c['rss_kib'] / 1024,
            c['disk_kib'], c['disk_limit_kib'], verdict))
    notes = []
    for c in cases:
        for label, v in (c.get('ctx') or {}).items():
            if v:
                notes.append('%s: %s %s s' % (c['name'], label, fmt_s(v)))
        if c.get('new_space') is not None:
            notes.append('%s: new space on the XFS %.2f MiB' % (c['name'], c['new_space'] / MiB))
    return ('\n'.join(out) + '\n\nMedians of %d runs; cache: %s. Context: %s.\n'
            % (args.runs, cache_note, '; '.join(notes) or 'none'))


# --------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog='bench.py', description='Benchmark ckpt2core against cp and decompression '
        '(issues #6, #15).',
        epilog='Example: tools/bench.py --sizes 1,4 --runs 5   (needs ~17 GiB free under '
        '/var/tmp)')
    ap.add_argument('--ckpt2core', default=os.path.join(REPO, 'build', 'ckpt2core'),
                    help='binary to measure (default: build/ckpt2core)')
    ap.add_argument('--workdir', default='/var/tmp',
                    help='a fresh ckpt2core-bench.XXXX directory is made here (default '
                    '/var/tmp; not /tmp, which may be a small tmpfs)')
    ap.add_argument('--sizes', default='1,4',
                    help='GiB of page data of the directory (and XFS) cases (default 1,4)')
    ap.add_argument('--cases', default='sizes,vmas,threads,archive,xfs',
                    help='any of sizes,vmas,threads,archive,xfs (default all; xfs is skipped '
                    'without root or mkfs.xfs)')
    ap.add_argument('--runs', type=int, default=5, help='timed runs per command (median)')
    ap.add_argument('--procs', type=int, default=3,
                    help='processes of the size, archive and XFS cases (default 3)')
    ap.add_argument('--vmas', type=int, default=70000, help='VMAs of the vmas case')
    ap.add_argument('--threads', type=int, default=64, help='threads of the threads case')
    ap.add_argument('--archive-gib', type=float, default=4, help='page data of the archives')
    ap.add_argument('--formats', default='tar,gz,zst',
                    help='archive compressions: any of tar,gz,zst (default all)')
    ap.add_argument('--orders', default='lexical,pages-first',
                    help='member orders: any of lexical,pages-first,readdir '
                    '(default lexical,pages-first)')
    ap.add_argument('--zstd-level', type=int, default=3)
    ap.add_argument('--size-vmas', type=int, default=64,
                    help='VMAs per process of the size cases (default 64)')
    ap.add_argument('--run-pages', type=int, default=256,
                    help='pagemap run length of the size cases, in pages (default 256)')
    ap.add_argument('--zero-fraction', type=float, default=0.25,
                    help='fraction of runs left as holes in the size cases (default 0.25; '
                    'the mapping is enlarged so that the page data is still N GiB)')
    ap.add_argument('--cache', choices=('auto', 'cold', 'warm'), default='auto',
                    help='auto: cold when drop_caches is writable, else warm')
    ap.add_argument('--flush', action='store_true',
                    help='include `sync -f` of the output in the timed region of the '
                    'references and ckpt2core (data on disk, not only in the page cache)')
    ap.add_argument('--criu-coredump', metavar='CMD',
                    help="CRIU's converter (default: criu-coredump from PATH if present)")
    ap.add_argument('--coredump-timeout', type=int, default=600)
    ap.add_argument('--coredump-max-mib', type=int, default=1024,
                    help='skip CRIU coredump on cases with more page data')
    ap.add_argument('--baseline', metavar='BIN', type=os.path.abspath,
                    help='also time this ckpt2core binary (an older build) in the same runs')
    ap.add_argument('--keep', action='store_true', help='keep the generated data and outputs')
    ap.add_argument('--json', metavar='FILE', help='also write the results as JSON')
    ap.add_argument('--markdown', metavar='FILE',
                    help='also write the results table as Markdown (doc/performance.md)')
    a = ap.parse_args(argv)
    try:
        a.sizes = [float(x) for x in a.sizes.split(',') if x.strip()]
    except ValueError:
        ap.error('--sizes: comma-separated numbers of GiB, e.g. 1,4')
    a.cases = set(x.strip() for x in a.cases.split(',') if x.strip())
    bad = a.cases - {'sizes', 'vmas', 'threads', 'archive', 'xfs'}
    if bad:
        ap.error('--cases: unknown %s' % ','.join(sorted(bad)))
    a.formats = [x.strip() for x in a.formats.split(',') if x.strip()]
    a.orders = [x.strip() for x in a.orders.split(',') if x.strip()]
    if set(a.formats) - set(SUFFIX) or set(a.orders) - {'lexical', 'pages-first', 'readdir'}:
        ap.error('--formats: tar,gz,zst; --orders: lexical,pages-first,readdir')
    xfs_sizes = a.sizes
    if 'sizes' not in a.cases:
        a.sizes = []
    if a.runs < 1 or not 0 <= a.zero_fraction < 1 or any(s <= 0 for s in xfs_sizes) \
            or a.procs < 1:
        ap.error('need --runs >= 1, --procs >= 1, 0 <= --zero-fraction < 1, sizes > 0')
    a.xfs_sizes = xfs_sizes
    return a


def main(argv):
    args = parse_args(argv)
    c2c = os.path.abspath(args.ckpt2core)
    if not os.access(c2c, os.X_OK):
        raise BenchError("'%s' is not an executable; build it first "
                         '(cmake -S . -B build && make -C build -j2) or pass --ckpt2core' % c2c)
    for tool in (GNU_TIME,):
        if not os.access(tool, os.X_OK):
            raise BenchError('%s is missing (Debian: apt-get install time)' % tool)
    helptext = subprocess.run([c2c, '--help'], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT).stdout.decode(errors='replace')
    archive_ok = bool(re.search(r'archive|\.tar\b', helptext, re.I))
    if 'archive' in args.cases and archive_ok:
        for tool in ('zstd', 'gzip', 'tar'):
            if not shutil.which(tool):
                raise BenchError('%s is missing (Debian: apt-get install %s)' % (tool, tool))
    xfs_skip = None
    if 'xfs' in args.cases and (not shutil.which('mkfs.xfs') or os.geteuid() != 0):
        xfs_skip = ('xfs cases: skipped: they need root (a loop mount) and mkfs.xfs '
                    '(tools/deps.sh bench)')
        args.cases.discard('xfs')
    coredump = None
    cd_cmd = args.criu_coredump or shutil.which('criu-coredump')
    if cd_cmd:
        coredump = cd_cmd.split()
        coredump_note = 'n/a'
    else:
        coredump_note = 'unavailable'
    cases = plan_cases(args, archive_ok)

    os.makedirs(args.workdir, exist_ok=True)
    st = os.statvfs(args.workdir)
    free = st.f_bavail * st.f_frsize
    need = (sum if args.keep else max)(c['need'] for c in cases) + GiB if cases else 0
    df = subprocess.run(['df', '-h', args.workdir], stdout=subprocess.PIPE).stdout.decode()
    if free < need:
        raise BenchError('not enough space in %s: %.1f GiB free, these cases need about '
                         '%.1f GiB%s. Use --workdir on a bigger filesystem or smaller --sizes.\n%s'
                         % (args.workdir, free / GiB, need / GiB,
                            ' (all kept: --keep)' if args.keep else '', df))
    workdir = tempfile.mkdtemp(prefix='ckpt2core-bench.', dir=args.workdir)
    fstype = subprocess.run(['findmnt', '-n', '-o', 'FSTYPE', '-T', workdir],
                            stdout=subprocess.PIPE).stdout.decode().strip() or '?'
    R = Runner(args, workdir)
    ver = subprocess.run([c2c, '--version'], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT).stdout.decode(errors='replace').strip()
    cpver = subprocess.run(['cp', '--version'], stdout=subprocess.PIPE).stdout.decode()
    log('ckpt2core benchmark: %s (%s)' % (c2c, ver.splitlines()[0] if ver else '?'))
    log('machine: %s, %d CPUs, %.1f GiB RAM; %s' % (
        platform.platform(), os.cpu_count(),
        os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / GiB,
        cpver.splitlines()[0] if cpver else 'cp ?'))
    log('workdir: %s (%s, %.1f GiB free, about %.1f GiB needed)'
        % (workdir, fstype, free / GiB, need / GiB))
    log('cache: %s' % R.cache_note)
    la = loadavg()
    if la is not None and la >= 0.5:
        log('WARNING: load average %.2f: other work on this machine disturbs the timings; '
            'ratios are more reliable than absolute times (runs alternate)' % la)
    log('timed region: the command%s; %d runs each, alternating, median'
        % (' + sync -f of its output' if args.flush else ' only (output may still be dirty in '
           'the page cache; --flush includes sync)', args.runs))
    if 'archive' in args.cases and not archive_ok:
        log('archive case: skipped: archives not supported by this build')
    if xfs_skip:
        log(xfs_skip)
    log("CRIU coredump: %s" % (' '.join(coredump) if coredump else
                                'unavailable (no criu-coredump in PATH; Debian does not '
                                'package it; --criu-coredump CMD)'))
    log()
    done = []
    try:
        for case in cases:
            run_case(args, R, case, c2c, coredump)
            judge(case, done)
            done.append(case)
            log()
    finally:
        if args.keep:
            log('kept: %s' % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    ok = report(done, coredump_note)
    if args.markdown:
        with open(args.markdown, 'w') as f:
            f.write(markdown(done, R.cache_note, args))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'cache': R.cache_note, 'flush': args.flush, 'runs': args.runs,
                       'ckpt2core': c2c, 'cases': done}, f, indent=1, default=str)
    return 0 if ok else 1


if __name__ == '__main__':
    try:
        sys.exit(main(sys.argv[1:]))
    except BenchError as e:
        print('bench: error: %s' % e, file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
