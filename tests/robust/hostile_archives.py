#!/usr/bin/env python3
"""Hostile checkpoint archives, generated here (no committed binaries).

    hostile_archives.py --ckpt2core BIN --fixtures DIR --work DIR --case NAME
    hostile_archives.py --list

Each case takes a real fixture's images (DIR/sleep/images, or
DIR/incremental/images for the parent cases) in the CRI-O layout
(checkpoint/*.img, config.dump, spec.dump, stats-dump), makes it hostile,
and runs `ckpt2core -o OUT ARCHIVE` in a fresh directory tree:

    WORK/tree/in/ARCHIVE      the input
    WORK/tree/cwd/            the converter's working directory
    WORK/tree/a/b/out/        OUTDIR (absent before the run)

and requires:
  - the expected exit status (2 when a needed image is refused, 0/1 when the
    bad member is only ignored), never a signal, no sanitizer report;
  - the message names the archive and the member;
  - nothing is created or changed anywhere in WORK/tree but OUTDIR, nor in
    /etc/passwd (the target of the link cases); a failed run leaves OUTDIR
    empty or absent, a successful one only core.<pid>;
  - bounded time (--timeout) and memory (peak RSS of the converter, --max-rss).

The bombs are streams a few hundred KiB long that expand to GiBs: a gzip
(deflate blocks of zeros repeated) and a zstd (RLE blocks) crafted by hand.
The page-data bomb runs with RLIMIT_FSIZE as a stand-in for a small disk.
Exit status: 0 pass, 1 fail, 77 fixture missing (skipped).
"""
import argparse
import io
import os
import re
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tarfile
import threading
import time
import zlib

SANITIZER = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|"
                       r"SUMMARY: \w+Sanitizer|==\d+==ERROR")
MiB = 1 << 20
GiB = 1 << 30

CONFIG_DUMP = b'{"id":"hostile","name":"hostile","rootfsImageName":"example"}\n'
SPEC_DUMP = b'{"ociVersion":"1.0.2-dev","annotations":{"io.container.manager":"cri-o"}}\n'


# ---------------------------------------------------------------- tar bits

def tar_header(name, size, typeflag=b"0", linkname=b"", mode=0o600, devmajor=0, devminor=0):
    """One ustar header block, by hand: any size (base-256 above 8 GiB)."""
    if isinstance(name, str):
        name = name.encode()
    if isinstance(linkname, str):
        linkname = linkname.encode()
    assert len(name) <= 100 and len(linkname) <= 100
    if size < 8 ** 11:
        size_f = b"%011o\0" % size
    else:  # GNU base-256: high bit set, big endian
        size_f = bytes([0x80]) + size.to_bytes(11, "big")
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108] = b"%07o\0" % mode
    h[108:116] = b"%07o\0" % 0
    h[116:124] = b"%07o\0" % 0
    h[124:136] = size_f
    h[136:148] = b"%011o\0" % 0
    h[148:156] = b" " * 8
    h[156:157] = typeflag
    h[157:157 + len(linkname)] = linkname
    h[257:265] = b"ustar\x0000"
    h[265:269] = b"root"
    h[297:301] = b"root"
    h[329:337] = b"%07o\0" % devmajor
    h[337:345] = b"%07o\0" % devminor
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def pad512(n):
    return b"\0" * (-n % 512)


class Images:
    """The images of one fixture, as (member name, bytes) in the CRI-O layout."""

    def __init__(self, d, prefix="checkpoint/"):
        self.members = []
        self.parent_link = None
        for f in sorted(os.listdir(d)):
            p = os.path.join(d, f)
            if os.path.islink(p):
                if f == "parent":
                    self.parent_link = os.readlink(p)
                continue
            with open(p, "rb") as fh:
                self.members.append((prefix + f, fh.read()))
        self.pid = None
        for n, _ in self.members:
            m = re.fullmatch(r"checkpoint/mm-(\d+)\.img", n)
            if m:
                self.pid = m.group(1)

    def data(self, name):
        return dict(self.members)[name]

    def without(self, *names):
        return [(n, d) for n, d in self.members if n not in names]


def write_tar(path, entries, fmt=tarfile.GNU_FORMAT):
    """entries: (name, bytes) regular files, or TarInfo with data/None."""
    with tarfile.open(path, "w", format=fmt) as t:
        for e in entries:
            if isinstance(e, tuple):
                name, data = e
                ti = tarfile.TarInfo(name)
                ti.size, ti.mode, ti.mtime = len(data), 0o600, 0
                t.addfile(ti, io.BytesIO(data))
            else:
                ti, data = e.info, e.data
                t.addfile(ti, io.BytesIO(data) if data is not None else None)


class Special:
    def __init__(self, name, typ, linkname="", data=None, devmajor=0, devminor=0):
        self.info = tarfile.TarInfo(name)
        self.info.type = typ
        self.info.linkname = linkname
        self.info.mode = 0o600
        self.info.devmajor, self.info.devminor = devmajor, devminor
        if data is not None:
            self.info.size = len(data)
        self.data = data


def extras():
    return [("config.dump", CONFIG_DUMP), ("spec.dump", SPEC_DUMP)]


def raw_tar(members):
    """A tar stream from (header bytes, data bytes) pairs, plus its end."""
    out = bytearray()
    for h, d in members:
        out += h + d + pad512(len(d))
    out += b"\0" * 1024
    return bytes(out)


# ---------------------------------------------------------------- bombs

def gzip_bomb(head, zeros, tail):
    """gzip of head + zeros x NUL + tail, with zeros a multiple of 1 MiB:
    each MiB is one identical deflate block after a full flush."""
    assert zeros % MiB == 0
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    out = bytearray(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff")
    out += c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(b"\0" * MiB) + c.flush(zlib.Z_FULL_FLUSH)
    zero_mib = b"\0" * MiB
    crc = zlib.crc32(head)
    for _ in range(zeros // MiB):
        out += block
        crc = zlib.crc32(zero_mib, crc)
    out += c.compress(tail) + c.flush(zlib.Z_FINISH)
    crc = zlib.crc32(tail, crc)
    out += struct.pack("<II", crc & 0xFFFFFFFF, (len(head) + zeros + len(tail)) & 0xFFFFFFFF)
    return bytes(out)


def zstd_bomb(head, zeros, tail):
    """One zstd frame: head and tail as raw blocks, the zeros as RLE blocks
    of 128 KiB (4 bytes each), no checksum."""
    blk = 128 << 10
    assert zeros % blk == 0
    out = bytearray(struct.pack("<I", 0xFD2FB528))
    out += bytes([0x00, (17 - 10) << 3])  # no FCS, no checksum; window 128 KiB

    def bh(last, typ, size):
        return struct.pack("<I", last | typ << 1 | size << 3)[:3]

    for i in range(0, len(head), blk):
        chunk = head[i:i + blk]
        out += bh(0, 0, len(chunk)) + chunk
    rle = bh(0, 1, blk) + b"\0"
    out += rle * (zeros // blk)
    out += bh(1, 0, len(tail)) + tail
    return bytes(out)


# ---------------------------------------------------------------- cases

def case_dotdot(fx, tree):
    im = Images(fx["sleep"])
    bad = ["checkpoint/../../../escape-dotdot.img", "../escape-dotdot2.img",
           "checkpoint/../../a/b/out/core.%s" % im.pid]
    write_tar(tree.archive, im.members + [(n, b"hostile\n") for n in bad] + extras())
    return dict(rc=(0, 1), names=bad, warn="leaves the archive")


def case_absolute(fx, tree):
    im = Images(fx["sleep"])
    bad = [os.path.join(tree.root, "escape-abs", "pstree.img"),
           os.path.join(tree.root, "a", "b", "out", "core.%s" % im.pid)]
    write_tar(tree.archive, im.members + [(n, b"hostile\n") for n in bad] + extras())
    return dict(rc=(0, 1), names=bad, warn="leaves the archive")


def case_symlink_passwd(fx, tree):
    """A needed image replaced by a symbolic link to /etc/passwd."""
    im = Images(fx["sleep"])
    write_tar(tree.archive, im.without("checkpoint/pstree.img") + [
        Special("checkpoint/pstree.img", tarfile.SYMTYPE, "/etc/passwd"),
        Special("checkpoint/stats-dump", tarfile.SYMTYPE, "../../../../../etc/passwd"),
    ] + extras())
    return dict(rc=(2,), names=["checkpoint/pstree.img"], warn="symbolic link ignored")


def case_symlink_image(fx, tree):
    """mm-N.img as a symbolic link to a copy elsewhere in the archive."""
    im = Images(fx["sleep"])
    mm = "checkpoint/mm-%s.img" % im.pid
    write_tar(tree.archive, im.without(mm) + [
        ("store/mm-%s.img" % im.pid, im.data(mm)),
        Special(mm, tarfile.SYMTYPE, "../store/mm-%s.img" % im.pid),
    ] + extras())
    return dict(rc=(2,), names=[mm], warn="symbolic link ignored")


def case_hardlink_passwd(fx, tree):
    im = Images(fx["sleep"])
    core = "checkpoint/core-%s.img" % im.pid
    write_tar(tree.archive, im.without(core) + [
        Special(core, tarfile.LNKTYPE, "/etc/passwd"),
    ] + extras())
    return dict(rc=(2,), names=[core], warn="hard link ignored")


def case_hardlink_image(fx, tree):
    """pages-1.img as a hard link to a copy outside checkpoint/."""
    im = Images(fx["sleep"])
    write_tar(tree.archive, im.without("checkpoint/pages-1.img") + [
        ("store/pages-1.img", im.data("checkpoint/pages-1.img")),
        Special("checkpoint/pages-1.img", tarfile.LNKTYPE, "store/pages-1.img"),
    ] + extras())
    return dict(rc=(2,), names=["checkpoint/pages-1.img"], warn="hard link ignored")


def case_device(fx, tree):
    """pages-1.img as /dev/zero's device node; a FIFO and a block device too."""
    im = Images(fx["sleep"])
    write_tar(tree.archive, im.without("checkpoint/pages-1.img") + [
        Special("checkpoint/pages-1.img", tarfile.CHRTYPE, devmajor=1, devminor=5),
        Special("checkpoint/fifo.img", tarfile.FIFOTYPE),
        Special("checkpoint/blk.img", tarfile.BLKTYPE, devmajor=7, devminor=0),
    ] + extras())
    return dict(rc=(2,), names=["checkpoint/pages-1.img"], warn="special file ignored")


def case_duplicate_pagemap(fx, tree):
    im = Images(fx["sleep"])
    pm = "checkpoint/pagemap-%s.img" % im.pid
    data = im.data(pm)
    # The second copy differs (its head names another pages image).
    write_tar(tree.archive, im.members + [(pm, data[:-1] + bytes([data[-1] ^ 1]))] + extras())
    return dict(rc=(2,), names=[pm], err="appears twice")


def case_duplicate_normalized(fx, tree):
    """The same member under two spellings ("./checkpoint//pagemap-N.img")."""
    im = Images(fx["sleep"])
    pm = "checkpoint/pagemap-%s.img" % im.pid
    write_tar(tree.archive, im.members + [("./checkpoint//pagemap-%s.img" % im.pid,
                                           im.data(pm))] + extras())
    return dict(rc=(2,), names=[pm], err="appears twice")


def case_long_name(fx, tree):
    """Names longer than PATH_MAX (pax and GNU long-name records)."""
    im = Images(fx["sleep"])
    long1 = "checkpoint/" + "d/" * 2100 + "pstree.img"
    long2 = "checkpoint/" + "e" * 5000 + ".img"
    with tarfile.open(tree.archive, "w", format=tarfile.PAX_FORMAT) as t:
        for n, d in im.members + [(long1, b"x"), (long2, b"y")] + extras():
            ti = tarfile.TarInfo(n)
            ti.size, ti.mode = len(d), 0o600
            t.addfile(ti, io.BytesIO(d))
    return dict(rc=(0, 1), names=["checkpoint/d/d/d/"], warn="leaves the archive")


def case_huge_size(fx, tree, compress):
    """pages-1.img claims 1 TiB in its header; the data is its real 120 KiB."""
    im = Images(fx["sleep"])
    members = []
    for n, d in im.without("checkpoint/pages-1.img") + extras():
        members.append((tar_header(n, len(d)), d))
    members.append((tar_header("checkpoint/pages-1.img", 1 << 40),
                    im.data("checkpoint/pages-1.img")))
    raw = raw_tar(members)
    with open(tree.archive, "wb") as f:
        f.write(gzip_wrap(raw) if compress else raw)
    return dict(rc=(2,), names=["checkpoint/pages-1.img"])


def gzip_wrap(raw):
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    return c.compress(raw) + c.flush()


def case_huge_size_meta(fx, tree):
    """A metadata image claiming 1 TiB, in a gzip stream that ends early."""
    im = Images(fx["sleep"])
    mm = "checkpoint/mm-%s.img" % im.pid
    members = [(tar_header(n, len(d)), d) for n, d in im.without(mm) + extras()]
    members.append((tar_header(mm, 1 << 40), im.data(mm)))
    with open(tree.archive, "wb") as f:
        f.write(gzip_wrap(raw_tar(members)))
    return dict(rc=(2,), names=[mm])


def case_bomb_meta(fx, tree):
    """gzip bomb: mm-N.img is 300 MiB of zeros (300 KiB compressed): over
    the cap on a metadata image (256 MiB), so it must be refused."""
    im = Images(fx["sleep"])
    mm = "checkpoint/mm-%s.img" % im.pid
    size = 300 * MiB
    head = raw_tar([(tar_header(n, len(d)), d) for n, d in im.without(mm) + extras()])[:-1024]
    head += tar_header(mm, size)
    with open(tree.archive, "wb") as f:
        f.write(gzip_bomb(head, size, b"\0" * 1024))
    return dict(rc=(2,), names=[mm], err="cap")


def case_bomb_pages(fx, tree):
    """zstd bomb: pages-1.img is 16 GiB of zeros (512 KiB compressed). The
    converter spools page data to OUTDIR; it runs here with a 256 MiB file
    size limit (a small disk), where it must stop with a clear error."""
    im = Images(fx["sleep"])
    size = 16 * GiB
    head = raw_tar([(tar_header(n, len(d)), d)
                    for n, d in im.without("checkpoint/pages-1.img") + extras()])[:-1024]
    head += tar_header("checkpoint/pages-1.img", size)
    with open(tree.archive, "wb") as f:
        f.write(zstd_bomb(head, size, b"\0" * 1024))
    return dict(rc=(2,), names=["checkpoint/pages-1.img"], fsize=256 * MiB)


def parent_case(fx, tree, target, inside=False):
    im = Images(fx["incremental"])
    assert im.parent_link, "the incremental fixture has a parent link"
    pre = Images(os.path.join(fx["incremental"], "..", "pre"), prefix="pre/").members
    write_tar(tree.archive, im.members + [
        Special("checkpoint/parent", tarfile.SYMTYPE, target)] + extras() +
        (pre if inside else []))
    if inside:  # the control: the same link resolved inside the archive works
        return dict(rc=(0,), names=[])
    return dict(rc=(2,), names=["checkpoint/parent"], err="inside the archive")


CASES = {
    "dotdot": case_dotdot,
    "absolute": case_absolute,
    "symlink-passwd": case_symlink_passwd,
    "symlink-image": case_symlink_image,
    "hardlink-passwd": case_hardlink_passwd,
    "hardlink-image": case_hardlink_image,
    "device": case_device,
    "duplicate-pagemap": case_duplicate_pagemap,
    "duplicate-normalized": case_duplicate_normalized,
    "long-name": case_long_name,
    "huge-size-plain": lambda fx, tree: case_huge_size(fx, tree, False),
    "huge-size-gzip": lambda fx, tree: case_huge_size(fx, tree, True),
    "huge-size-meta": case_huge_size_meta,
    "bomb-meta": case_bomb_meta,
    "bomb-pages": case_bomb_pages,
    # the real pre-dump, named by its absolute path on this machine
    "parent-absolute": lambda fx, tree: parent_case(
        fx, tree, os.path.abspath(os.path.join(fx["incremental"], "..", "pre"))),
    "parent-dotdot": lambda fx, tree: parent_case(fx, tree, "../../../../../../etc"),
    "parent-inside": lambda fx, tree: parent_case(fx, tree, "../pre", inside=True),
}
FIXTURE_OF = {"parent-absolute": "incremental", "parent-dotdot": "incremental",
              "parent-inside": "incremental"}


# ---------------------------------------------------------------- runner

class Tree:
    def __init__(self, work):
        self.root = os.path.join(os.path.abspath(work), "tree")
        shutil.rmtree(self.root, ignore_errors=True)
        for d in ("in", "cwd", "a/b"):
            os.makedirs(os.path.join(self.root, d))
        self.archive = os.path.join(self.root, "in", "checkpoint.tar")
        self.out = os.path.join(self.root, "a", "b", "out")

    def snapshot(self):
        snap = {}
        for dp, dns, fns in os.walk(self.root):
            if os.path.abspath(dp).startswith(self.out):
                dns[:] = []
                continue
            for n in dns + fns:
                p = os.path.join(dp, n)
                if p == self.out:
                    continue
                st = os.lstat(p)
                # OUTDIR's parent gains an entry: its mtime may change
                mtime = None if p == os.path.dirname(self.out) else st.st_mtime_ns
                snap[p] = (st.st_mode, st.st_size if not os.path.isdir(p) else 0, mtime)
        return snap


def file_state(p):
    st = os.stat(p)
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def run_case(a, name):
    fixdir = FIXTURE_OF.get(name, "sleep")
    fx = {k: os.path.join(a.fixtures, k, "images") for k in ("sleep", "incremental")}
    if not os.path.isdir(fx[fixdir]):
        print("fixture %s missing: skipped" % fx[fixdir])
        return 77
    tree = Tree(os.path.join(a.work, name))
    t0 = time.monotonic()
    exp = CASES[name](fx, tree)
    print("%s: archive of %d bytes made in %.1f s" % (name, os.path.getsize(tree.archive),
                                                       time.monotonic() - t0))
    before = tree.snapshot()
    passwd = file_state("/etc/passwd")

    env = dict(os.environ)
    for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        env[var] = (env.get(var, "") + ":exitcode=86").lstrip(":")
    env["LC_ALL"] = "C"
    fsize = exp.get("fsize")

    def limits():
        if fsize:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    cmd = a.wrapper + [a.ckpt2core, "-o", tree.out, tree.archive]
    errf = os.path.join(a.work, name + ".stderr")
    t0 = time.monotonic()
    with open(errf, "wb") as ef:
        p = subprocess.Popen(cmd, cwd=os.path.join(tree.root, "cwd"), env=env,
                             stdout=subprocess.DEVNULL, stderr=ef, preexec_fn=limits)
    timer = threading.Timer(a.timeout, p.kill)
    timer.start()
    _, status, ru = os.wait4(p.pid, 0)
    timer.cancel()
    p.returncode = os.waitstatus_to_exitcode(status)
    timed_out = time.monotonic() - t0 >= a.timeout
    elapsed = time.monotonic() - t0
    rss_mib = ru.ru_maxrss / 1024
    with open(errf, "rb") as ef:
        err = ef.read()
    os.unlink(errf)
    err = err.decode(errors="replace")
    rc = p.returncode
    print("exit %s in %.1f s, peak RSS %.0f MiB\n--- stderr:\n%s---" % (
        rc, elapsed, rss_mib, err if len(err) < 6000 else err[:3000] + "\n...\n" + err[-2000:]))

    probs = []
    if timed_out:
        probs.append("no result after %d s" % a.timeout)
    elif rc < 0:
        probs.append("killed by signal %d" % -rc)
    elif rc not in exp["rc"]:
        probs.append("exit %d, expected %s" % (rc, " or ".join(map(str, exp["rc"]))))
    if SANITIZER.search(err):
        probs.append("sanitizer report")
    if rss_mib > a.max_rss:
        probs.append("peak RSS %.0f MiB over %d MiB" % (rss_mib, a.max_rss))
    # the message names the archive and the member
    for n in exp["names"]:
        if not re.search(re.escape("'%s:" % tree.archive) + r"(\./)?" + re.escape(n), err):
            probs.append("no message names '%s:%s'" % (tree.archive, n[:80]))
    if exp.get("warn") and ("warning: " not in err or exp["warn"] not in err):
        probs.append("no warning saying '%s'" % exp["warn"])
    if exp.get("err") and not re.search(r"error: .*" + re.escape(exp["err"]), err):
        probs.append("no error saying '%s'" % exp["err"])
    if rc == 2 and not re.search(r"^ckpt2core: error: ", err, re.M):
        probs.append("exit 2 without an error line")
    # nothing written outside OUTDIR; OUTDIR clean
    after = tree.snapshot()
    if after != before:
        changed = sorted(set(after) ^ set(before)) + sorted(
            k for k in set(after) & set(before) if after[k] != before[k])
        probs.append("files created or changed outside OUTDIR: %s" % changed[:10])
    if file_state("/etc/passwd") != passwd:
        probs.append("/etc/passwd changed")
    left = sorted(os.listdir(tree.out)) if os.path.isdir(tree.out) else []
    if rc == 2 and left:
        probs.append("failed run left files in OUTDIR: %s" % left)
    if rc in (0, 1):
        bad = [f for f in left if not re.fullmatch(r"core\.\d+", f)]
        if bad or not left:
            probs.append("OUTDIR after success: %s" % left)
    for pb in probs:
        print("FAIL: %s: %s" % (name, pb))
    if not probs:
        print("PASS: %s" % name)
        shutil.rmtree(os.path.join(a.work, name), ignore_errors=True)
    return 1 if probs else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ckpt2core")
    ap.add_argument("--fixtures", help="directory of unpacked fixtures (NAME/images)")
    ap.add_argument("--work")
    ap.add_argument("--case", action="append", help="case to run (repeatable; default all)")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--timeout", type=int, default=120)
    ap.add_argument("--max-rss", type=int, default=768, help="MiB")
    ap.add_argument("--wrapper", default="")
    a = ap.parse_args()
    if a.list:
        print("\n".join(CASES))
        return 0
    if not (a.ckpt2core and a.fixtures and a.work):
        ap.error("--ckpt2core, --fixtures and --work are required")
    a.wrapper = a.wrapper.split()
    rcs = [run_case(a, c) for c in (a.case or list(CASES))]
    if any(r == 1 for r in rcs):
        return 1
    return 77 if all(r == 77 for r in rcs) else 0


if __name__ == "__main__":
    sys.exit(main())
