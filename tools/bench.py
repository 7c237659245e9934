#!/usr/bin/env python3
"""ckpt2core benchmark (issue #6). Not a test: it measures, prints a table and
says which performance targets were met.

For every case it generates a synthetic checkpoint with tools/c2c-mkimg.py,
then, in the same run and on the same filesystem, times the physical reference
(`cp` of the checkpoint's pages files, or `zstd -d` to /dev/null for an archive)
and `ckpt2core INPUT -o OUT`, alternately, --runs times each (median reported).
Before every timed command the previous output is deleted, dirty data is
synced and, when /proc/sys/vm/drop_caches is writable, the page cache is
dropped (cold cache for both); otherwise both read the inputs once first (warm
cache for both). Peak RSS comes from /usr/bin/time -v, disk usage from du -k.

Cases: dir-<N>g for each --sizes N (GiB of page data), vmas-70k, threads-64,
and, when `ckpt2core --help` mentions archive input, tar.zst-<N>g (members in
directory order, as tar and the container engines write them) and
tar.zst-<N>g-sorted (sorted by name: mm and pagemap before pages). For the
archives, `zstd -d` writing its output to a file is timed too, as context.

Targets (issue #6): dir-4g time <= 1.25 x cp; peak RSS <= 64 MiB for the size
cases and the archive; vmas-70k < 1 s; tar.zst <= 1.3 x zstd -d; output disk
usage <= pages bytes + 1 MiB per core.

Exit status: 0 all targets met, 1 some target missed, 2 error (bad option,
not enough space, a command failed).

Only python3 (standard library), coreutils, /usr/bin/time, tar and zstd.
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

# Targets of issue #6.
T_RATIO_DIR = 1.25        # x cp, 4 GiB directory
T_RATIO_ARCHIVE = 1.3     # x zstd -d, 4 GiB .tar.zst
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


def plan_cases(args, archive_ok):
    f = args.zero_fraction
    cases = []
    for n in args.sizes:
        cases.append({'name': 'dir-%gg' % n, 'kind': 'dir', 'gib': n,
                      'gen': dict(procs=1, threads=4, vmas=args.size_vmas,
                                  mem_mib=n * 1024 / (1 - f), run_pages=args.run_pages,
                                  zero_fraction=f),
                      'need': 3 * n * GiB})
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
        # Members in directory order, as tar and the engines write them (here
        # pages-1.img comes before mm-1.img and pagemap-1.img), and sorted by
        # name (mm and pagemap first: pages go straight into the core).
        for order in ('dir', 'sorted'):
            cases.append({'name': 'tar.zst-%gg%s' % (n, '' if order == 'dir' else '-sorted'),
                          'kind': 'archive', 'gib': n, 'order': order,
                          'gen': dict(procs=1, threads=4, vmas=args.size_vmas,
                                      mem_mib=n * 1024 / (1 - f), run_pages=args.run_pages,
                                      zero_fraction=f),
                          # image dir + archive while packing; then archive + core
                          # (+ spool) + zstd -d's file
                          'need': 4 * n * GiB})
    return cases


def make_archive(args, case, base):
    """Podman-style export: checkpoint/ + config.dump + spec.dump, zstd."""
    stage = os.path.join(base, 'stage')
    os.makedirs(stage)
    img = os.path.join(stage, 'checkpoint')
    case['gen_s'] = mkimg(args, img, **case['gen'])
    case['pages_bytes'] = sum(os.path.getsize(p) for p in pages_files(img))
    case['ncores'] = nprocs_of(img)
    with open(os.path.join(stage, 'config.dump'), 'w') as f:
        json.dump({'id': '0' * 64, 'name': 'c2c-bench', 'rootfsImageName': 'c2c-bench:latest',
                   'runtime': 'crun', 'createdTime': '2026-01-01T00:00:00Z',
                   'checkpointedTime': '2026-01-01T00:00:01Z'}, f)
    with open(os.path.join(stage, 'spec.dump'), 'w') as f:
        json.dump({'ociVersion': '1.0.0',
                   'annotations': {'io.container.manager': 'libpod'}}, f)
    arch = os.path.join(base, 'checkpoint.tar.zst')
    t0 = time.monotonic()
    sort = ['--sort=name'] if case.get('order') == 'sorted' else []
    tar = subprocess.Popen(['tar', '-C', stage] + sort + ['-cf', '-', 'checkpoint',
                            'config.dump', 'spec.dump'], stdout=subprocess.PIPE)
    z = subprocess.run(['zstd', '-q', '-T0', '-%d' % args.zstd_level, '-o', arch],
                       stdin=tar.stdout)
    tar.stdout.close()
    if tar.wait() or z.returncode:
        raise BenchError('cannot create %s' % arch)
    case['pack_s'] = time.monotonic() - t0
    case['archive_bytes'] = os.path.getsize(arch)
    shutil.rmtree(stage)       # only the archive is converted
    return arch


def run_case(args, R, case, c2c, coredump):
    base = os.path.join(R.workdir, case['name'])
    os.makedirs(base)
    ref_out = os.path.join(base, 'ref-out')
    c2c_out = os.path.join(base, 'c2c-out')
    flush = base if args.flush else None
    if case['kind'] == 'archive':
        log('%s: generating %g GiB and packing .tar.zst ...' % (case['name'], case['gib']))
        inp = make_archive(args, case, base)
        inputs = [inp]
        ref_name = 'zstd -d'
        log('  generated in %.1f s, packed in %.1f s: %.1f MiB archive'
            % (case['gen_s'], case['pack_s'], case['archive_bytes'] / MiB))

        def ref_cmd():
            with open(os.devnull, 'wb') as dn:
                return R.timed(['zstd', '-d', '-q', '-c', inp], stdout=dn)

        def ctx_cmd():
            # Context only: the same decompression writing its output to a
            # file on the output filesystem, as ckpt2core must.
            os.makedirs(ref_out, exist_ok=True)
            return R.timed(['zstd', '-d', '-q', '-f', inp, '-o',
                            os.path.join(ref_out, 'checkpoint.tar')], flush_dir=flush)
    else:
        inp = os.path.join(base, 'images')
        log('%s: generating (%s) ...' % (case['name'], ' '.join(
            '--%s %s' % (k.replace('_', '-'), ('%g' % v) if isinstance(v, float) else v)
            for k, v in case['gen'].items())))
        case['gen_s'] = mkimg(args, inp, **case['gen'])
        inputs = pages_files(inp)
        case['pages_bytes'] = sum(os.path.getsize(p) for p in inputs)
        case['ncores'] = nprocs_of(inp)
        ref_name = 'cp'
        log('  generated in %.1f s: %d pages file(s), %.1f MiB'
            % (case['gen_s'], len(inputs), case['pages_bytes'] / MiB))

        def ref_cmd():
            os.makedirs(ref_out)
            return R.timed(['cp', '--'] + inputs + [ref_out], flush_dir=flush)
    case['ref_name'] = ref_name
    refs, runs, ctxs = [], [], []
    for i in range(args.runs):
        R.prepare(inputs, [ref_out])
        r = ref_cmd()
        if r['rc'] != 0:
            raise BenchError('%s failed: %s' % (ref_name, r['stderr']))
        refs.append(r)
        if case['kind'] == 'archive':
            R.prepare(inputs, [ref_out])
            x = ctx_cmd()
            if x['rc'] != 0:
                raise BenchError('zstd -d to a file failed: %s' % x['stderr'])
            ctxs.append(x)
            log('  run %d/%d: zstd -d > file %s s (context)' % (i + 1, args.runs,
                                                               fmt_s(x['wall'])))
        R.prepare(inputs, [ref_out, c2c_out])
        c = R.timed([c2c, '-q', inp, '-o', c2c_out], flush_dir=flush)
        if c['rc'] not in (0, 1):
            raise BenchError('ckpt2core failed on %s (exit %s): %s'
                             % (case['name'], c['rc'], c['stderr']))
        runs.append(c)
        log('  run %d/%d: %-7s %7s s (cpu %.2f)   ckpt2core %7s s (user %.2f sys %.2f, '
            'RSS %.1f MiB%s)'
            % (i + 1, args.runs, ref_name, fmt_s(r['wall']), r['user'] + r['sys'],
               fmt_s(c['wall']), c['user'], c['sys'], c['rss_kib'] / 1024,
               ', exit 1: warnings' if c['rc'] == 1 else ''))
    cores = sorted(glob.glob(os.path.join(c2c_out, 'core.*')))
    if len(cores) != case['ncores']:
        raise BenchError('%s: expected %d core(s), ckpt2core wrote %d'
                         % (case['name'], case['ncores'], len(cores)))
    case['disk_kib'] = du_kib(cores)
    case['core_bytes'] = sum(os.path.getsize(p) for p in cores)
    case['phnum'] = sum(phnum_of(p) or 0 for p in cores)
    case['ref_s'] = median(r['wall'] for r in refs)
    case['ctx_s'] = median(x['wall'] for x in ctxs) if ctxs else None
    case['c2c_s'] = median(c['wall'] for c in runs)
    case['rss_kib'] = max(c['rss_kib'] for c in runs)
    case['c2c_runs'] = [c['wall'] for c in runs]
    case['ref_runs'] = [r['wall'] for r in refs]
    case['c2c_user'] = median(c['user'] for c in runs)
    case['c2c_sys'] = median(c['sys'] for c in runs)
    case['ref_cpu'] = median(r['user'] + r['sys'] for r in refs)
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
    if not args.keep:
        shutil.rmtree(base)


# --------------------------------------------------------------------------
# verdicts and report
# --------------------------------------------------------------------------

def judge(case):
    """[(target text, measured text, ok)] for this case."""
    out = []
    ratio = case['c2c_s'] / case['ref_s'] if case['ref_s'] else None
    case['ratio'] = ratio
    limit_kib = case['pages_bytes'] // 1024 + case['ncores'] * T_DISK_PER_CORE // 1024
    case['disk_limit_kib'] = limit_kib
    rss_mib = case['rss_kib'] / 1024
    if case['kind'] == 'archive':
        out.append(('time <= %.2f x zstd -d' % T_RATIO_ARCHIVE, '%.2f x' % ratio,
                    ratio <= T_RATIO_ARCHIVE))
    elif case.get('gib', 0) >= 4:
        out.append(('time <= %.2f x cp' % T_RATIO_DIR, '%.2f x' % ratio, ratio <= T_RATIO_DIR))
    if case.get('gib'):
        out.append(('peak RSS <= %d MiB' % T_RSS_MIB, '%.1f MiB' % rss_mib,
                    rss_mib <= T_RSS_MIB))
    if case.get('vmas_case'):
        out.append(('time < %g s' % T_VMAS_S, '%s s' % fmt_s(case['c2c_s']),
                    case['c2c_s'] < T_VMAS_S))
    out.append(('disk <= pages + 1 MiB/core', '%d <= %d KiB' % (case['disk_kib'], limit_kib),
                case['disk_kib'] <= limit_kib))
    ph_kib = case['phnum'] * 56 // 1024
    if case['disk_kib'] > limit_kib and case['disk_kib'] <= limit_kib + ph_kib + 4:
        case['note'] = ('%s: over only by the ELF program header table (%d headers x 56 B = '
                        '%d KiB), which any ELF core of this process needs'
                        % (case['name'], case['phnum'], ph_kib))
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
    line = lambda r: '  '.join(x.rjust(w[i]) if 0 < i < len(hdr) - 2 else x.ljust(w[i])
                               for i, x in enumerate(r)).rstrip()
    log(line(hdr))
    log(line(['-' * x for x in w]))
    for r in rows:
        log(line(r))
    log()
    log('MB/s = pages bytes / 10^6 / ckpt2core time (median); ratio = ckpt2core / reference; '
        'RSS = max over runs; du = du -k of the cores; limit = pages + 1 MiB per core; '
        'load = 1-min load average after the case')
    log()
    log('targets:')
    ok_all = True
    for c in cases:
        for t, m, ok in c['checks']:
            ok_all &= ok
            log('  %-4s %-12s %-30s %s' % ('PASS' if ok else 'FAIL', c['name'], t, m))
    for c in cases:
        if c.get('note'):
            log('  note: ' + c['note'])
        if c.get('ctx_s'):
            log('  context: %s: zstd -d writing its output to a file on the same filesystem '
                'takes %s s (%.2f x zstd -d to /dev/null); ckpt2core is %.2f x that'
                % (c['name'], fmt_s(c['ctx_s']), c['ctx_s'] / c['ref_s'],
                   c['c2c_s'] / c['ctx_s']))
    return ok_all


# --------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog='bench.py', description='Benchmark ckpt2core against cp (issue #6).',
        epilog='Example: tools/bench.py --sizes 1,4   (needs ~17 GiB free under /var/tmp)')
    ap.add_argument('--ckpt2core', default=os.path.join(REPO, 'build', 'ckpt2core'),
                    help='binary to measure (default: build/ckpt2core)')
    ap.add_argument('--workdir', default='/var/tmp',
                    help='a fresh ckpt2core-bench.XXXX directory is made here (default '
                    '/var/tmp; not /tmp, which may be a small tmpfs)')
    ap.add_argument('--sizes', default='1,4',
                    help='GiB of page data of the directory cases, comma separated (default 1,4)')
    ap.add_argument('--cases', default='sizes,vmas,threads,archive',
                    help='which cases: any of sizes,vmas,threads,archive (default all)')
    ap.add_argument('--runs', type=int, default=3, help='timed runs per command (median)')
    ap.add_argument('--vmas', type=int, default=70000, help='VMAs of the vmas case')
    ap.add_argument('--threads', type=int, default=64, help='threads of the threads case')
    ap.add_argument('--archive-gib', type=float, default=4, help='size of the .tar.zst case')
    ap.add_argument('--zstd-level', type=int, default=3)
    ap.add_argument('--size-vmas', type=int, default=64,
                    help='VMAs of the size cases (default 64)')
    ap.add_argument('--run-pages', type=int, default=256,
                    help='pagemap run length of the size cases, in pages (default 256)')
    ap.add_argument('--zero-fraction', type=float, default=0.25,
                    help='fraction of runs left as holes in the size cases (default 0.25; '
                    'the mapping is enlarged so that the page data is still N GiB)')
    ap.add_argument('--cache', choices=('auto', 'cold', 'warm'), default='auto',
                    help='auto: cold when drop_caches is writable, else warm')
    ap.add_argument('--flush', action='store_true',
                    help='include `sync -f` of the output in the timed region of cp and '
                    'ckpt2core (data on disk, not only in the page cache)')
    ap.add_argument('--criu-coredump', metavar='CMD',
                    help="CRIU's converter (default: criu-coredump from PATH if present)")
    ap.add_argument('--coredump-timeout', type=int, default=600)
    ap.add_argument('--coredump-max-mib', type=int, default=1024,
                    help='skip CRIU coredump on cases with more page data')
    ap.add_argument('--keep', action='store_true', help='keep the generated data and outputs')
    ap.add_argument('--json', metavar='FILE', help='also write the results as JSON')
    a = ap.parse_args(argv)
    try:
        a.sizes = [float(x) for x in a.sizes.split(',') if x.strip()]
    except ValueError:
        ap.error('--sizes: comma-separated numbers of GiB, e.g. 1,4')
    a.cases = set(x.strip() for x in a.cases.split(',') if x.strip())
    bad = a.cases - {'sizes', 'vmas', 'threads', 'archive'}
    if bad:
        ap.error('--cases: unknown %s' % ','.join(sorted(bad)))
    if 'sizes' not in a.cases:
        a.sizes = []
    if a.runs < 1 or not 0 <= a.zero_fraction < 1 or any(s <= 0 for s in a.sizes):
        ap.error('need --runs >= 1, 0 <= --zero-fraction < 1, sizes > 0')
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
    if 'archive' in args.cases and archive_ok and not shutil.which('zstd'):
        raise BenchError('zstd is missing (Debian: apt-get install zstd)')
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
    log("CRIU coredump: %s" % (' '.join(coredump) if coredump else
                                'unavailable (no criu-coredump in PATH; Debian does not '
                                'package it; --criu-coredump CMD)'))
    log()
    done = []
    try:
        for case in cases:
            run_case(args, R, case, c2c, coredump)
            judge(case)
            done.append(case)
            log()
    finally:
        if args.keep:
            log('kept: %s' % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    ok = report(done, coredump_note)
    if 'archive' in args.cases and not archive_ok:
        log('  skip tar.zst-%gg: skipped: archives not supported by this build'
            % args.archive_gib)
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
