#!/usr/bin/env python3
"""Checks used by tools/test-mkimg.sh (not meant to be run alone).

Reads images back with c2c-mkimg's decoder and resolves pages with a small
resolver written here from the format doc (§2.5 offsets count PE_PRESENT
entries only, §2.6 PE_PARENT goes to <dir>/parent/), independent of the
generator's own code. Each check exits 1 with a message on the first failure.
"""

import importlib.util
import json
import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location('mkimg', os.path.join(HERE, 'c2c-mkimg.py'))
mk = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mk)

PE_PARENT, PE_LAZY, PE_PRESENT = 1, 2, 4
PS = 4096


class CheckError(Exception):
    pass


def expect(cond, msg, *args):
    if not cond:
        raise CheckError(msg % args if args else msg)


def entries(path):
    return mk.read_image(path)['entries']


def one(path):
    e = entries(path)
    expect(len(e) == 1, '%s: %d entries, expected 1', path, len(e))
    return e[0]


def pagemap(dirpath, name):
    """(pages_id, [(vaddr, pages, flags)]) after CRIU's normalisation (§2.5)."""
    ents = entries(os.path.join(dirpath, name))
    out = []
    for e in ents[1:]:
        flags = e['flags'] if 'flags' in e else (PE_PARENT if e.get('in_parent') else PE_PRESENT)
        n = e['nr_pages'] if 'nr_pages' in e else e['compat_nr_pages']
        out.append((e['vaddr'], n, flags))
    return ents[0]['pages_id'], out


def read_page(dirpath, name, addr, depth=0):
    """bytes of the page at addr, None if only lazy, 'absent' if not dumped."""
    expect(depth < 16, 'parent chain too deep at %s', dirpath)
    pid, ents = pagemap(dirpath, name)
    off = 0
    for v, n, fl in ents:
        if v <= addr < v + n * PS:
            if fl & PE_PRESENT:
                with open(os.path.join(dirpath, 'pages-%d.img' % pid), 'rb') as f:
                    f.seek(off + addr - v)
                    data = f.read(PS)
                expect(len(data) == PS, '%s: pages file too short for %#x', dirpath, addr)
                return data
            if fl & PE_PARENT:
                parent = os.path.join(dirpath, 'parent')
                expect(os.path.isdir(parent), '%s: PE_PARENT but no parent dir', dirpath)
                return read_page(parent, name, addr, depth + 1)
            return None
        if fl & PE_PRESENT:
            off += n * PS
    return 'absent'


def cstr(page, at=0):
    expect(isinstance(page, bytes), 'page is %r, not data', page)
    return page[at:page.index(b'\0', at)].decode()


def marker(label, addr, tag=None):
    return 'C2C %s=%#x' % (label, addr) + (' tag=%s' % tag if tag else '')


def check_marker_page(page, label, addr, tag=None):
    expect(isinstance(page, bytes), 'no data for %s=%#x (%r)', label, addr, page)
    want = marker(label, addr, tag)
    expect(cstr(page) == want, 'page %#x: %r, expected %r', addr, cstr(page), want)
    expect(page[64:72] == struct.pack('<Q', addr), 'page %#x: filler is not the address', addr)


# -- A4 ---------------------------------------------------------------------

def same_memory(orig, new, style):
    names = [n for n in os.listdir(orig) if n.startswith('pagemap-')]
    expect(names, 'no pagemaps in %s', orig)
    for name in names:
        a, b = pagemap(orig, name), pagemap(new, name)
        expect(a[0] == b[0], '%s: pages_id %s vs %s', name, a[0], b[0])
        mask = PE_PARENT | PE_PRESENT if style == 'criu3-old' else 0xffffffff
        na = [(v, n, f & mask) for v, n, f in a[1]]
        expect(na == b[1], '%s: entries differ after normalisation', name)
        for e in entries(os.path.join(new, name))[1:]:
            expect('nr_pages' not in e, '%s: field 5 present in style %s', name, style)
            expect(e['compat_nr_pages'] > 0, '%s: compat_nr_pages is 0', name)
            expect(('flags' in e) == (style == 'criu3'), '%s: flags field presence', name)
        pa = os.path.join(orig, 'pages-%d.img' % a[0])
        pb = os.path.join(new, 'pages-%d.img' % b[0])
        expect(open(pa, 'rb').read() == open(pb, 'rb').read(), '%s: pages differ', name)
    if style == 'criu3-old' and os.path.exists(os.path.join(orig, 'files.img')):
        expect(os.path.exists(os.path.join(new, 'reg-files.img')) and
               not os.path.exists(os.path.join(new, 'files.img')), 'criu3-old: no reg-files.img')
        regs = [e['reg'] for e in entries(os.path.join(orig, 'files.img')) if 'reg' in e]
        expect(regs == entries(os.path.join(new, 'reg-files.img')), 'reg-files.img content')


# -- B1 ---------------------------------------------------------------------

# Fields Debian's crit 3.17 does not know (§3.1): it drops them when decoding.
NEWER_THAN_CRIT = {
    ('pagemap_entry', 'nr_pages'), ('memfd_inode_entry', 'mode'),
    ('inventory_entry', 'plugins_entry'), ('inventory_entry', 'dump_criu_run_id'),
    ('inventory_entry', 'allow_uprobes'), ('user_x86_xsave_entry', 'cet'),
    ('creds_entry', 'cap_amb'), ('thread_core_entry', 'cg_set'),
    ('task_core_entry', 'membarrier_registration_mask'), ('task_core_entry', 'stop_signo'),
    ('thread_info_aarch64', 'pac_keys'),
}


def strip_newer(mname, d):
    out = {}
    for k, v in d.items():
        if (mname, k) in NEWER_THAN_CRIT or k == 'extra':
            continue
        f = mk.FIELDS_BY_NAME[mname].get(k)
        if f and f[2] in mk.SCHEMA:
            v = [strip_newer(f[2], x) for x in v] if f[3] == 'rep' else strip_newer(f[2], v)
        out[k] = v
    return out


def crit_same(img, crit_json):
    mine = mk.read_image(img)
    crit = json.load(open(crit_json))
    expect(mine['magic'] == crit['magic'], 'magic %s vs %s', mine['magic'], crit['magic'])
    kind = mk.KINDS[mine['magic']]
    expect(len(mine['entries']) == len(crit['entries']), 'entry count %d vs %d',
           len(mine['entries']), len(crit['entries']))
    for i, (a, c) in enumerate(zip(mine['entries'], crit['entries'])):
        mname = kind[2].get('head') if (i == 0 and kind[2].get('head')) else kind[1]
        c = dict(c)
        c.pop('extra', None)
        if mname == 'pagemap_entry' and 'nr_pages' in c:
            c['compat_nr_pages'] = c.pop('nr_pages')     # crit 3.17 name of field 2
        want = mk.encode_message(mname, strip_newer(mname, a))
        got = mk.encode_message(mname, c)
        if want != got:
            da = mk.decode_message(mname, want)
            dc = mk.decode_message(mname, got)
            diff = [k for k in set(da) | set(dc) if da.get(k) != dc.get(k)]
            raise CheckError('entry %d: fields differ: %s' % (i, diff))


# -- B2: all-kinds ----------------------------------------------------------

def vma_at(mm, addr):
    return next(v for v in mm['vmas'] if v['start'] <= addr < v['end'])


def shm_page(d, shmid, off):
    return read_page(d, 'pagemap-shmem-%d.img' % shmid, off)


def memfd_shmid(d, file_id):
    """VMA shmid (a file id) -> FileEntry MEMFD -> inode -> pagemap shmid (§2.4)."""
    fe = next(e for e in entries(os.path.join(d, 'files.img')) if e['id'] == file_id)
    expect(fe['type'] == 'MEMFD', 'file %d is %s, not MEMFD', file_id, fe['type'])
    inode = next(i for i in entries(os.path.join(d, 'memfd.img'))
                 if i['inode_id'] == fe['memfd']['inode_id'])
    return inode


def all_kinds(d):
    j = lambda n: os.path.join(d, n)
    pst = [(e['pid'], e['ppid'], e['pgid'], e['sid'], e['threads'])
           for e in entries(j('pstree.img'))]
    expect(pst == [(1, 0, 1, 1, [1, 5]), (2, 1, 1, 1, [2]), (3, 1, 1, 1, [3])], 'pstree %s', pst)

    z = one(j('core-2.img'))
    expect(set(z) == {'mtype', 'tc'}, 'zombie core has %s', sorted(z))
    expect(z['tc']['task_state'] == 2 and z['tc']['exit_code'] == 0x2a00, 'zombie tc %s', z['tc'])
    for n in ('mm-2.img', 'pagemap-2.img', 'ids-2.img', 'core-4.img'):
        expect(not os.path.exists(j(n)), '%s should not exist', n)
    s = one(j('core-3.img'))
    expect(s['tc']['task_state'] == 3 and s['tc']['stop_signo'] == 19, 'stopped tc %s',
           {k: s['tc'].get(k) for k in ('task_state', 'stop_signo')})

    c1 = one(j('core-1.img'))
    g = c1['thread_info']['gpregs']
    expect((g['ip'], g['sp'], g['orig_ax'], g['cs'], g['ss'], g['flags'], g['mode']) ==
           (0x555555555123, 0x7ffc0001fe00, 230, 0x33, 0x2b, 0x202, 'NATIVE'), 'gpregs %s', g)
    expect(g['ax'] == 0xfffffffffffffffc, 'rax alias')
    fp = c1['thread_info']['fpregs']
    xmm0 = struct.pack('<4I', *fp['xmm_space'][:4])
    expect(xmm0 == bytes(range(16)), 'xmm0 %s', xmm0.hex())
    xs = fp['xsave']
    expect(xs['xstate_bv'] == 0x2e7, 'xstate_bv %#x', xs['xstate_bv'])
    ymm8 = (struct.pack('<4I', *fp['xmm_space'][32:36]) +
            struct.pack('<4I', *xs['ymmh_space'][32:36]))
    expect(ymm8 == bytes(range(0x80, 0xa0)), 'ymm8 %s', ymm8.hex())
    zmm3 = (struct.pack('<4I', *fp['xmm_space'][12:16]) +
            struct.pack('<4I', *xs['ymmh_space'][12:16]) +
            struct.pack('<4Q', *xs['zmm_upper'][12:16]))
    expect(zmm3 == bytes(range(0x30, 0x70)), 'zmm3 %s', zmm3.hex())
    zmm31 = struct.pack('<8Q', *xs['hi16_zmm'][120:128])
    expect(zmm31 == bytes(range(0x90, 0xd0)), 'zmm31 %s', zmm31.hex())
    expect(xs['opmask_reg'][1:3] == [0x1111, 0x2222] and xs['pkru'] == [0x55555554, 0],
           'opmask/pkru')
    expect(len(fp['st_space']) == 32 and len(fp['xmm_space']) == 64 and
           len(xs['ymmh_space']) == 64 and len(xs['hi16_zmm']) == 128, 'array sizes')
    tc = c1['tc']
    expect(tc['blk_sigset'] == 0x4000 and tc['flags'] == 0x400100 and tc['comm'] == 'demo' and
           tc['task_state'] == 1 and len(tc['sigactions']) == 62 and
           len(tc['rlimits']['rlimits']) == 16, 'leader tc')
    t1 = c1['thread_core']
    expect('blk_sigset' not in t1 and t1['creds']['uid'] == 1000 and t1['comm'] == 'demo' and
           t1['rseq_entry']['rseq_abi_pointer'] == 0x7f0000000fe0, 'leader thread_core %s', t1)
    c5 = one(j('core-5.img'))
    expect('tc' not in c5 and 'xsave' not in c5['thread_info']['fpregs'], 'worker core parts')
    t5 = c5['thread_core']
    expect(t5['blk_sigset'] == 1 and t5['comm'] == 'demo-worker' and
           t5['creds']['groups'] == [27, 100], 'worker thread_core %s', t5)

    files = {e['id']: e for e in entries(j('files.img'))}
    mm = one(j('mm-1.img'))
    exe = files[mm['exe_file_id']]['reg']
    expect(exe['name'] == '/usr/bin/demo' and exe['mode'] == 0o100755 and
           exe['build_id'] == [1, 2, 3, 4, 5], 'exe file %s', exe)
    data = next(e['reg'] for e in files.values() if e.get('reg', {}).get('name') == '/srv/data')
    expect(data['size'] == 8192, '/srv/data size hint %s', data.get('size'))
    want_status = {0x555555554000: 0x41, 0x555555555000: 0x41, 0x555555600000: 0x221,
                   0x7f0000000000: 0x201, 0x7f0000200000: 0x4081, 0x7f0000300000: 0x4081,
                   0x7f0000500000: 0x501, 0x7f0000600000: 0x81, 0x7ffff7fc0000: 0x1201,
                   0x7ffff7fc4000: 0x209, 0x7ffc00000000: 0x201, 0xffffffffff600000: 0x204}
    for addr, st in want_status.items():
        v = vma_at(mm, addr)
        expect(v['status'] == st, 'VMA %#x status %#x, expected %#x', addr, v['status'], st)
    expect(vma_at(mm, 0x7ffc00000000)['flags'] == 0x122, 'stack flags')
    expect(vma_at(mm, 0x7ffff7fc0000)['madv'] == 0x10000, 'vvar madv')
    expect(vma_at(mm, 0x555555555000)['pgoff'] == 0x1000, 'pgoff in bytes')
    expect(all(v['fd'] == -1 for v in mm['vmas']), 'fd -1')
    expect([v['start'] for v in mm['vmas']] == sorted(v['start'] for v in mm['vmas']), 'sorted')
    auxv = mm['mm_saved_auxv']
    pairs = dict(zip(auxv[0::2], auxv[1::2]))
    expect(pairs[6] == PS and pairs[33] == 0x7ffff7fc4000 and pairs[9] == 0x555555555000 and
           auxv[-2:] == [0, 0], 'auxv %s', auxv)

    P = 'pagemap-1.img'
    expect(cstr(read_page(d, P, 0x555555557000)) == 'DATA_SECRET_42', 'COW data page')
    for i in range(3):
        check_marker_page(read_page(d, P, 0x555555600000 + i * PS), 'pid=1 vaddr',
                          0x555555600000 + i * PS, 'heap')
    expect(read_page(d, P, 0x555555603000) == 'absent', 'heap page 3 must be absent')
    for i in range(64):      # run_pages 4, zero_fraction 0.5: every second run is a hole
        page = read_page(d, P, 0x7f0000000000 + i * PS)
        if (i // 4) % 2:
            expect(page == 'absent', 'anon page %d should be a hole', i)
        else:
            check_marker_page(page, 'pid=1 vaddr', 0x7f0000000000 + i * PS)
    _, ents = pagemap(d, P)
    lazy = [e for e in ents if e[0] == 0x7f0000100000]
    expect(lazy == [(0x7f0000100000, 2, PE_LAZY)], 'lazy-only entry %s', lazy)
    expect(read_page(d, P, 0x7f0000100000) is None, 'lazy page has no data')
    expect(read_page(d, P, 0x7f0000102000) == b'\xab' * PS, 'fill page')
    expect(read_page(d, P, 0x7ffff7fc4000)[:7] == bytes.fromhex('7f454c46020101'), 'vdso')
    stack = read_page(d, P, 0x7ffc0001f000)
    expect(stack[:12] == b'demo\0--flag\0', 'argv page %r', stack[:12])
    flags_of = {v: f for v, n, f in ents}
    expect(flags_of[0x555555557000] == PE_PRESENT and flags_of[0x7ffff7fc4000] == PE_PRESENT and
           flags_of[0x555555600000] == PE_LAZY | PE_PRESENT, 'auto flags %s', flags_of)
    shared = [(0x7f0000200000, 0x7f0000700000)]
    expect(not [e for e in ents if shared[0][0] <= e[0] < shared[0][1]],
           'task pagemap holds pages of shared mappings')
    for a, b in zip(ents, ents[1:]):
        expect(a[0] + a[1] * PS <= b[0], 'pagemap not sorted/overlapping')
        expect(not (a[0] + a[1] * PS == b[0] and a[2] == b[2]), 'unmerged neighbours at %#x', b[0])

    fx = memfd_shmid(d, vma_at(mm, 0x7f0000200000)['shmid'])
    expect(fx['name'] == 'fx-memfd' and fx['size'] == 0x100000, 'memfd inode %s', fx)
    expect(cstr(shm_page(d, fx['shmid'], 0)) == 'MEMFD_MARKER', 'memfd content')
    sa = memfd_shmid(d, vma_at(mm, 0x7f0000300000)['shmid'])
    expect(sa['name'] == '/dev/zero' and sa['size'] == 0x4000, 'anon-shared inode %s', sa)
    expect(cstr(shm_page(d, sa['shmid'], 0)) == 'SHARED_ANON_MARKER', 'anon-shared from pid 1')
    expect(cstr(shm_page(d, sa['shmid'], 0x2000)) == 'CHILD_WROTE_HERE', 'anon-shared from pid 3')
    mm3 = one(j('mm-3.img'))
    expect(vma_at(mm3, 0x7f1000000000)['shmid'] == vma_at(mm, 0x7f0000300000)['shmid'],
           'both processes map the same memfd file')
    auto = memfd_shmid(d, vma_at(mm, 0x7f0000400000)['shmid'])
    check_marker_page(shm_page(d, auto['shmid'], 0x1000), 'shmid=%d off' % auto['shmid'], 0x1000)
    expect(vma_at(mm, 0x7f0000500000)['shmid'] == 7, 'sysv shmid')
    expect(cstr(shm_page(d, 7, 0), 100) == 'SYSV_SHM_MARKER', 'sysv content')
    ipc = one(j('ipcns-shm-3.img'))
    expect(ipc['desc']['id'] == 7 and ipc['in_pagemaps'] and ipc['size'] == 0x10000, 'ipc %s', ipc)

    st = one(j('stats-dump'))['dump']
    present = 0
    for pid in (1, 3):
        pid_, es = pagemap(d, 'pagemap-%d.img' % pid)
        present += sum(n for _, n, f in es if f & PE_PRESENT)
        size = os.path.getsize(j('pages-%d.img' % pid_))
        expect(size == PS * sum(n for _, n, f in es if f & PE_PRESENT), 'pages-%d size', pid_)
    expect(st['pages_written'] == present and st['pages_lazy'] == 2, 'stats %s', st)
    fds = entries(j('fdinfo-%d.img' % one(j('ids-3.img'))['files_id']))
    expect([(f['fd'], files[f['id']]['reg']['name']) for f in fds] ==
           [(0, '/dev/null'), (3, '/srv/data')], 'fdinfo')
    expect(entries(j('seccomp.img')) == [{}], 'raw image')
    inv = one(j('inventory.img'))
    expect(inv['img_version'] == 2 and inv['fdinfo_per_id'], 'inventory %s', inv)
    raw = open(j('pstree.img'), 'rb').read(8)
    expect(raw == struct.pack('<II', 0x54564319, 0x50273030), 'pstree magic words')
    expect(open(j('stats-dump'), 'rb').read(8) == struct.pack('<II', 0x55105940, 0x57093306),
           'stats-dump service magic')


# -- B2: chain ----------------------------------------------------------------

def chain(root, style='criu4'):
    img = os.path.join(root, 'images')
    expect(os.readlink(os.path.join(img, 'parent')) == '../pre2', 'images/parent link')
    expect(os.readlink(os.path.join(root, 'pre2', 'parent')) == '../pre1', 'pre2/parent link')
    expect(not os.path.lexists(os.path.join(root, 'pre1', 'parent')), 'pre1 has no parent')
    for pre in ('pre1', 'pre2'):
        names = sorted(os.listdir(os.path.join(root, pre)))
        expect(not [n for n in names if n.startswith(('core-', 'mm-', 'pstree'))],
               '%s holds task images: %s', pre, names)
        inv = one(os.path.join(root, pre, 'inventory.img'))
        if style != 'criu3-old':
            expect('dump_uptime' in inv and inv.get('pre_dump_mode') == 1, 'pre inventory %s', inv)
    tags = ['pre1', 'pre1', 'final', 'final', 'pre2', 'pre2', 'pre2', 'pre2']
    for i, tag in enumerate(tags):
        a = 0x7f0000000000 + i * PS
        check_marker_page(read_page(img, 'pagemap-1.img', a), 'pid=1 vaddr', a, tag)
    raw = entries(os.path.join(img, 'pagemap-1.img'))[1:]
    expect(len(raw) == 3, 'final pagemap has %d entries', len(raw))
    if style == 'criu4':
        expect(all(e['compat_nr_pages'] == 0 and e['nr_pages'] > 0 for e in raw), 'criu4 fields')
    elif style == 'criu3':
        expect(all('nr_pages' not in e and e['compat_nr_pages'] > 0 and 'flags' in e
                   for e in raw), 'criu3 fields %s', raw)
    else:
        expect(all('flags' not in e and 'nr_pages' not in e for e in raw), 'criu3-old fields')
        expect([e.get('in_parent', False) for e in raw] == [True, False, True], 'in_parent')
    st = one(os.path.join(img, 'stats-dump'))['dump']
    expect(st['pages_skipped_parent'] == 6 and st['pages_written'] == 2, 'stats %s', st)


# -- B2: synthetic ------------------------------------------------------------

def synthetic(d, procs, threads, vmas, mib, frac, run):
    procs, threads, vmas, run = int(procs), int(threads), int(vmas), int(run)
    mib, frac = float(mib), float(frac)
    pst = entries(os.path.join(d, 'pstree.img'))
    expect(len(pst) == procs and all(len(e['threads']) == threads for e in pst), 'pstree')
    total_written = mapped = holes = 0
    for e in pst:
        pid = e['pid']
        mm = one(os.path.join(d, 'mm-%d.img' % pid))
        anon = [v for v in mm['vmas'] if not v['flags'] & 0x100]
        expect(len(anon) == vmas, '%d anon VMAs', len(anon))
        pages_id, ents = pagemap(d, 'pagemap-%d.img' % pid)
        written = 0
        with open(os.path.join(d, 'pages-%d.img' % pages_id), 'rb') as f:
            for v, n, fl in ents:
                expect(fl == PE_LAZY | PE_PRESENT, 'flags %d', fl)
                for i in range(n):
                    check_marker_page(f.read(PS), 'pid=%d vaddr' % pid, v + i * PS)
                written += n
            expect(f.read(1) == b'', 'pages file longer than the pagemap says')
        for v in anon:
            n = (v['end'] - v['start']) // PS
            got = sum(min(v['end'], a + k * PS) - max(v['start'], a) for a, k, _ in ents
                      if a < v['end'] and a + k * PS > v['start']) // PS
            mapped += n
            holes += n - got
        for t in e['threads']:
            c = one(os.path.join(d, 'core-%d.img' % t))
            sp = c['thread_info']['gpregs']['sp']
            expect(isinstance(read_page(d, 'pagemap-%d.img' % pid, sp & ~(PS - 1)), bytes),
                   'thread %d: no stack page at sp', t)
        total_written += written
    expect(abs(mapped * PS - mib * (1 << 20)) < vmas * procs * PS, 'mapped %d pages', mapped)
    expect(abs(holes / mapped - frac) < 0.05 + run * vmas / mapped, 'hole fraction %.3f vs %.3f',
           holes / mapped, frac)
    st = one(os.path.join(d, 'stats-dump'))['dump']
    expect(st['pages_written'] == total_written, 'stats pages_written')


def synthetic_lazy(d):
    pages_id, ents = pagemap(d, 'pagemap-1.img')
    expect(all(f == PE_LAZY for _, _, f in ents), 'lazy flags')
    expect(all(n <= 2 for _, n, _ in ents), 'no-merge: runs of 2 pages')
    expect(os.path.getsize(os.path.join(d, 'pages-%d.img' % pages_id)) == 0, 'lazy has no data')
    for e in entries(os.path.join(d, 'pagemap-1.img'))[1:]:
        expect('nr_pages' not in e and e['compat_nr_pages'] > 0, 'criu3 field 2')
    # 64 pages of anonymous VMAs + the one stack page at the thread's sp
    expect(one(os.path.join(d, 'stats-dump'))['dump']['pages_lazy'] == 64 + 1, 'pages_lazy')


# -- B3 ---------------------------------------------------------------------

BAD = [
    ('overlapping VMAs', {'processes': [{'pid': 1, 'vmas': [
        {'start': 0x10000, 'pages': 2}, {'start': 0x11000, 'pages': 2}]}]}, 'overlap'),
    ('item outside VMAs', {'processes': [{'pid': 1, 'vmas': [{'start': 0x10000, 'pages': 1}],
                                          'memory': [{'vaddr': 0x20000}]}]}, 'outside every VMA'),
    ('lazy in criu3-old', {'style': 'criu3-old', 'processes': [{'pid': 1, 'vmas': [
        {'start': 0x10000, 'pages': 1}], 'memory': [{'vaddr': 0x10000, 'flags': 'lazy'}]}]},
     'cannot express'),
    ('typo in a key', {'processes': [{'pid': 1, 'vmaz': []}]}, 'unknown key'),
    ('file-shared page', {'processes': [{'pid': 1, 'vmas': [
        {'kind': 'file-shared', 'path': '/x', 'start': 0x10000, 'pages': 1}],
        'memory': [{'vaddr': 0x10000}]}]}, 'never dumps'),
    ('zombie with memory', {'processes': [{'pid': 1}, {'pid': 2, 'state': 'zombie',
                                                       'memory': [{'vaddr': 0}]}]}, 'zombie'),
    ('bad register', {'processes': [{'pid': 1, 'threads': [{'tid': 1, 'regs': {'xyz': 1}}]}]},
     'unknown x86_64 register'),
    ('unaligned item', {'processes': [{'pid': 1, 'vmas': [{'start': 0x10000, 'pages': 1}],
                                       'memory': [{'vaddr': 0x10010}]}]}, 'page aligned'),
]


def bad_specs(tool, work):
    for name, spec, msg in BAD:
        path = os.path.join(work, 'bad.json')
        out = os.path.join(work, 'bad-out')
        json.dump(spec, open(path, 'w'))
        r = subprocess.run([sys.executable, tool, path, '-o', out], capture_output=True, text=True)
        expect(r.returncode == 2, '%s: exit %d, stderr %r', name, r.returncode, r.stderr)
        expect(msg in r.stderr, '%s: message %r lacks %r', name, r.stderr, msg)
        expect(not os.path.exists(out), '%s: partial output left behind', name)
        expect(not [n for n in os.listdir(work) if '.c2c-tmp.' in n], '%s: temp dir left', name)
    os.mkdir(os.path.join(work, 'taken'))
    open(os.path.join(work, 'taken', 'x'), 'w').close()
    r = subprocess.run([sys.executable, tool, '--synthetic', '-o', os.path.join(work, 'taken')],
                       capture_output=True, text=True)
    expect(r.returncode == 2 and 'exists' in r.stderr, 'existing output: %r', r.stderr)


# -- B4: an architecture description (tools/arch-describe.py) read back by crit

def _num(v):
    return int(v, 0) if isinstance(v, str) else v


def _crit(path):
    r = subprocess.run(['crit', 'decode', '-i', path], capture_output=True, text=True)
    expect(r.returncode == 0, 'crit decode %s: %s', path, r.stderr.strip()[-300:])
    return json.loads(r.stdout)['entries']


def arch_desc_ia32(t, c):
    """A compat thread of an ia32 description as crit decodes it: thread_info
    with mode COMPAT, the i386 registers zero-extended, fs_base/gs_base and
    r8-r15 zero, fpregs = the FXSAVE image, the XSAVE components, the TLS slots."""
    tid = t['tid']
    ti = c['thread_info']
    g = ti['gpregs']
    expect(g.get('mode') == 'COMPAT', 'core-%d: mode %r', tid, g.get('mode'))
    for k, v in t['regs'].items():
        f = mk.IA32_REGS[k]
        expect(_num(g[f]) == int(v, 0), 'core-%d: %s %r, described %s', tid, f, g[f], v)
    for f in ('r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'fs_base', 'gs_base'):
        expect(_num(g[f]) == 0, 'core-%d: %s %r', tid, f, g[f])
    fpd = t.get('fp')
    if fpd:
        fx = bytes.fromhex(fpd['fxsave'])
        fp = ti['fpregs']
        names = ('cwd', 'swd', 'twd', 'fop', 'rip', 'rdp', 'mxcsr', 'mxcsr_mask')
        for k, v in zip(names, struct.unpack_from('<HHHHQQII', fx, 0)):
            expect(_num(fp[k]) == v, 'core-%d: fpregs.%s %r', tid, k, fp[k])
        expect([_num(x) for x in fp['st_space']] == list(struct.unpack_from('<32I', fx, 32)),
               'core-%d: st_space', tid)
        expect([_num(x) for x in fp['xmm_space']] == list(struct.unpack_from('<64I', fx, 160)),
               'core-%d: xmm_space', tid)
        xs = fp['xsave']
        expect(_num(xs['xstate_bv']) == int(fpd['xstate_bv'], 0), 'core-%d: xstate_bv', tid)
        comps = fpd.get('components', {})
        if '2' in comps:
            b = bytes.fromhex(comps['2'])
            expect([_num(x) for x in xs['ymmh_space']] == list(struct.unpack('<64I', b)),
                   'core-%d: ymmh_space', tid)
        if '9' in comps:
            expect(_num(xs['pkru'][0]) == struct.unpack_from('<I', bytes.fromhex(comps['9']))[0],
                   'core-%d: pkru', tid)
    want = t.get('tls_desc', [])
    expect(len(ti.get('tls', [])) == len(want), 'core-%d: %d TLS slots', tid, len(ti.get('tls', [])))
    for d, w in zip(ti.get('tls', []), want):
        fl = int(w['flags'], 0)
        expect((d['entry_number'], _num(d['base_addr']), _num(d['limit'])) ==
               (w['entry_number'], int(w['base_addr'], 0), int(w['limit'], 0)),
               'core-%d: TLS slot %r', tid, d)
        bits = [d.get(k, False) for k in ('seg_32bit', 'contents_l', 'contents_h',
                                          'read_exec_only', 'limit_in_pages', 'seg_not_present')]
        bits.append(d.get('useable', d.get('usable', False)))   # crit versions differ
        expect(bits == [bool(fl >> i & 1) for i in range(7)], 'core-%d: TLS flags %r', tid, d)


def arch_desc(desc_path, imgdir):
    """Decode the images generated from DESC with crit (Debian's CRIU, an
    independent decoder) and check them against the description: mtype and
    thread_info_aarch64 / _arm / _ppc64 / _s390 of every thread, pstree, the VMAs, the saved auxv (as
    CRIU truncates it) and every described page, read from pages-N.img by the
    crit-decoded pagemap and compared with the bytes of the description's core."""
    desc = json.load(open(desc_path))
    core_path = os.path.join(os.path.dirname(os.path.abspath(desc_path)), desc['core'])
    core = open(core_path, 'rb').read()
    pid = desc['pid']
    ps = desc['page_size']
    tids = [t['tid'] for t in desc['threads']]
    pst = _crit(os.path.join(imgdir, 'pstree.img'))
    expect(len(pst) == 1 and pst[0]['pid'] == pid, 'pstree %r', pst)
    expect(pst[0]['threads'] == tids, 'pstree threads %r, described %r', pst[0]['threads'], tids)
    arch = desc['arch']
    for t in desc['threads']:
        c = _crit(os.path.join(imgdir, 'core-%d.img' % t['tid']))[0]
        expect(c['mtype'] == {'aarch64': 'AARCH64', 'arm': 'ARM', 'ia32': 'X86_64',
                              'ppc64le': 'PPC64', 's390x': 'S390'}[arch],
               'core-%d: mtype %r', t['tid'], c['mtype'])
        if arch != 'ia32':
            expect('thread_info' not in c, 'core-%d: has an x86 thread_info', t['tid'])
        fpd = t.get('fp', {})
        if arch == 'ia32':
            arch_desc_ia32(t, c)
            expect(('tc' in c) == (t['tid'] == pid), 'core-%d: tc only in the leader', t['tid'])
            continue
        expect('thread_info' not in c, 'core-%d: has an x86 thread_info', t['tid'])
        if arch == 'aarch64':
            ti = c['ti_aarch64']
            g = ti['gpregs']
            regs = [_num(x) for x in g['regs']]
            expect(len(regs) == 31, 'core-%d: %d gpregs', t['tid'], len(regs))
            for i in range(31):
                expect(regs[i] == int(t['regs']['x%d' % i], 0), 'core-%d: x%d', t['tid'], i)
            for k in ('sp', 'pc', 'pstate'):
                expect(_num(g[k]) == int(t['regs'][k], 0), 'core-%d: %s %r', t['tid'], k, g[k])
            fp = ti['fpsimd']
            vregs = [_num(x) for x in fp['vregs']]
            expect(len(vregs) == 64, 'core-%d: %d vregs', t['tid'], len(vregs))
            want = fpd.get('v', ['00' * 16] * 32)
            for i in range(32):
                lo, hi = struct.unpack('<QQ', bytes.fromhex(want[i]))
                expect(vregs[2 * i] == lo and vregs[2 * i + 1] == hi, 'core-%d: v%d',
                       t['tid'], i)
            for k in ('fpsr', 'fpcr'):
                expect(_num(fp[k]) == int(fpd.get(k, '0'), 0), 'core-%d: %s', t['tid'], k)
        elif arch == 's390x':
            ti = c['ti_s390']
            g = ti['gpregs']
            expect(_num(g['psw_mask']) == int(t['regs']['pswm'], 0), 'core-%d: psw mask', t['tid'])
            expect(_num(g['psw_addr']) == int(t['regs']['pswa'], 0), 'core-%d: psw addr', t['tid'])
            expect([_num(x) for x in g['gprs']] == [int(t['regs']['r%d' % i], 0) for i in range(16)],
                   'core-%d: r0-r15', t['tid'])
            expect([_num(x) for x in g['acrs']] == [int(t['regs']['a%d' % i], 0) for i in range(16)],
                   'core-%d: a0-a15', t['tid'])
            expect(_num(g['orig_gpr2']) == int(t['regs']['orig_gpr2'], 0), 'core-%d: orig_gpr2',
                   t['tid'])
            fp = ti['fpregs']
            expect(_num(fp['fpc']) == int(fpd.get('fpc', '0'), 0), 'core-%d: fpc', t['tid'])
            expect([_num(x) for x in fp['fprs']] == [int(x, 0) for x in fpd.get('f', ['0'] * 16)],
                   'core-%d: f0-f15', t['tid'])
            for k in ('vxrs_low', 'vxrs_high'):
                if k in fpd:
                    expect([_num(x) for x in ti[k]['regs']] == [int(x, 0) for x in fpd[k]],
                           'core-%d: %s', t['tid'], k)
        elif arch == 'ppc64le':
            ti = c['ti_ppc64']
            g = ti['gpregs']
            gpr = [_num(x) for x in g['gpr']]
            expect(gpr == [int(t['regs']['r%d' % i], 0) for i in range(32)], 'core-%d: r0-r31',
                   t['tid'])
            msr = int(t['regs']['msr'], 0)
            # CRIU sets MSR_VEC (bit 25) and MSR_VSX (bit 23) when it saved those states
            msr |= (1 << 25 if 'vr' in fpd else 0) | (1 << 23 if 'vsx' in fpd else 0)
            expect(_num(g['msr']) == msr, 'core-%d: msr %r', t['tid'], g['msr'])
            for k in ('nip', 'orig_gpr3', 'ctr', 'link', 'xer', 'ccr', 'trap'):
                expect(_num(g[k]) == int(t['regs'][k], 0), 'core-%d: %s %r', t['tid'], k, g[k])
            if 'fpr' in fpd:
                expect([_num(x) for x in ti['fpstate']['fpregs']] ==
                       [int(x, 0) for x in fpd['fpr']], 'core-%d: fpr0-31, fpscr', t['tid'])
            if 'vr' in fpd:
                vr = ti['vrstate']
                words = [_num(x) for x in vr['vrregs']]
                raw = b''.join(struct.pack('<QQ', words[2 * i], words[2 * i + 1])
                               for i in range(len(words) // 2))
                want = bytes.fromhex(''.join(fpd['vr'])) + \
                    int(fpd['vscr'], 0).to_bytes(16, 'little')
                expect(raw == want, 'core-%d: vr0-vr31, vscr', t['tid'])
                expect(_num(vr['vrsave']) == int(fpd['vrsave'], 0), 'core-%d: vrsave', t['tid'])
            if 'vsx' in fpd:
                expect([_num(x) for x in ti['vsxstate']['vsxregs']] ==
                       [int(x, 0) for x in fpd['vsx']], 'core-%d: vsx', t['tid'])
        else:
            ti = c['ti_arm']
            g = ti['gpregs']
            for k, v in t['regs'].items():
                expect(_num(g[k]) == int(v, 0), 'core-%d: %s %r', t['tid'], k, g.get(k))
            fp = ti['fpstate']
            d = [_num(x) for x in fp['vfp_regs']]
            expect(d == [int(x, 0) for x in fpd.get('d', ['0'] * 32)], 'core-%d: d0-d31',
                   t['tid'])
            expect(_num(fp['fpscr']) == int(fpd.get('fpscr', '0'), 0), 'core-%d: fpscr',
                   t['tid'])
        if arch not in ('ppc64le', 's390x'):    # thread pointer: r13, a0:a1; no tls field
            expect(_num(ti['tls']) == int(t.get('tls', '0'), 0), 'core-%d: tls %r', t['tid'],
                   ti['tls'])
        expect(('tc' in c) == (t['tid'] == pid), 'core-%d: tc only in the leader', t['tid'])
    mm = _crit(os.path.join(imgdir, 'mm-%d.img' % pid))[0]
    got = [(_num(v['start']), _num(v['end']), _num(v['prot'])) for v in mm['vmas']]
    prot = lambda s: (s[0] == 'r') | (s[1] == 'w') << 1 | (s[2] == 'x') << 2
    want = [(int(v['start'], 16), int(v['end'], 16), prot(v['prot'])) for v in desc['vmas']]
    expect(got == want, 'mm VMAs differ: %r vs %r', got[:3], want[:3])
    auxv = [_num(x) for x in mm['mm_saved_auxv']]
    if arch == 'ia32':
        # two 32-bit words per u64, the first in the low half (as CRIU read()s them)
        words = [w for x in auxv for w in (x & 0xffffffff, x >> 32)]
        want = [int(x, 0) for x in desc['auxv']]
        expect(words[:len(want)] == want[:len(words)] and
               len(auxv) <= mk.AT_VECTOR_WORDS['x86_64'], 'mm_saved_auxv differs')
    else:
        words = mk.AT_VECTOR_WORDS[arch]
        expect(auxv == [int(x, 0) for x in desc['auxv']][:words], 'mm_saved_auxv differs')
    # pages: PRESENT entries of the pagemap, in order, lay out pages-<id>.img
    # (crit 3.17 does not know CRIU 4's PagemapEntry.nr_pages, field 5: it
    # gives vaddr and flags, the page counts come from our decoder)
    pmpath = os.path.join(imgdir, 'pagemap-%d.img' % pid)
    pm = _crit(pmpath)
    pages_id, runs = pagemap(imgdir, os.path.basename(pmpath))
    expect(pm[0]['pages_id'] == pages_id, 'pagemap head %r', pm[0])
    expect([(_num(e['vaddr']), _num(e['flags'])) for e in pm[1:]] ==
           [(v, f) for v, n, f in runs], 'crit and our decoder read the pagemap differently')
    pages = open(os.path.join(imgdir, 'pages-%d.img' % pages_id), 'rb').read()
    where, off = {}, 0
    for vaddr, n, flags in runs:
        if flags & PE_PRESENT:
            for i in range(n):
                where[vaddr + i * ps] = off + i * ps
            off += n * ps
    expect(off == len(pages), 'pages-%d.img: %d bytes, pagemap says %d', pm[0]['pages_id'],
           len(pages), off)
    count = 0
    for m in desc['memory']:
        for i in range(m['pages']):
            va = int(m['vaddr'], 16) + i * ps
            expect(va in where, 'page %#x is not in the pagemap', va)
            co = m['core_offset'] + i * ps
            expect(pages[where[va]:where[va] + ps] == core[co:co + ps], 'page %#x differs', va)
            count += 1
    expect(count == len(where), '%d pages described, %d dumped', count, len(where))


CHECKS = {'same-memory': same_memory, 'crit-same': crit_same, 'all-kinds': all_kinds,
          'chain': chain, 'synthetic': synthetic, 'synthetic-lazy': synthetic_lazy,
          'bad-specs': bad_specs, 'arch-desc': arch_desc}

if __name__ == '__main__':
    try:
        CHECKS[sys.argv[1]](*sys.argv[2:])
    except (CheckError, mk.MkimgError, StopIteration, KeyError, OSError) as e:
        print('%s: %s' % (type(e).__name__, e), file=sys.stderr)
        sys.exit(1)
