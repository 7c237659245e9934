#!/usr/bin/env python3
"""End-to-end tests of `ckpt2core grep` on the counter fixture.

Fixture: fixtures/counter.tar.xz and fixtures/counter-archives.tar.xz (CRIU 4.2
dumps of a Python HTTP counter whose process 3 holds the request string
RANDOM_1432_KEY; fixtures/PROVENANCE.md). Every address grep reports is
checked against the bytes at that address in the core ckpt2core writes for
the same checkpoint, read through the core's PT_LOAD segments. Compressed
archives of the image directory, members in lexical and in pages-first order,
are searched as they stream and must print what the directory search prints.

  grep.py --ckpt2core BIN --fixtures DIR --work DIR
"""
import argparse
import gzip
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from c2ctest import Fail, run_main  # noqa: E402

KEY = b"RANDOM_1432_KEY"
ARCHIVE = "checkpoint-counters_default-counter-2026-11-28T21:47:15Z.tar"


def run(cmd, want_rc):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != want_rc:
        raise Fail("%s: exit %d (want %d): %s" % (" ".join(cmd), r.returncode, want_rc,
                                                 r.stderr.decode(errors="replace")))
    return r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def loads(path):
    """(vaddr, filesz, offset) of every PT_LOAD of an ELF64 core (PN_XNUM aware)."""
    with open(path, "rb") as f:
        eh = f.read(64)
        phoff, = struct.unpack_from("<Q", eh, 32)
        shoff, = struct.unpack_from("<Q", eh, 40)
        phnum, = struct.unpack_from("<H", eh, 56)
        if phnum == 0xffff:
            f.seek(shoff)
            phnum = struct.unpack_from("<I", f.read(64), 44)[0]
        f.seek(phoff)
        tab = f.read(56 * phnum)
    out = []
    for i in range(phnum):
        p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack_from("<IIQQQQ", tab, 56 * i)
        if p_type == 1:
            out.append((p_vaddr, p_filesz, p_offset))
    return out


def core_bytes(core, segs, addr, n):
    for vaddr, filesz, off in segs:
        if vaddr <= addr and addr + n <= vaddr + filesz:
            with open(core, "rb") as f:
                f.seek(off + addr - vaddr)
                return f.read(n)
    raise Fail("%s: no PT_LOAD holds [%#x, %#x)" % (core, addr, addr + n))


def make_archive(images, path, names):
    """A gzip'ed tar of the images in the order of names: compressed, so streamed."""
    with tarfile.open(path, "w:gz", compresslevel=1) as t:
        for n in names:
            t.add(os.path.join(images, n), arcname=n)


def without_input(text):
    return re.sub(r'"input":"[^"]*",', "", text)


def streamed(c2c, images, work, found):
    """Archives searched as they stream (issue #14 item 3) give the directory's output."""
    names = sorted(os.listdir(images))
    pages = [n for n in names if n.startswith("pages-")]
    lexical = os.path.join(work, "lexical.tar.gz")
    pages_first = os.path.join(work, "pages-first.tar.gz")
    make_archive(images, lexical, names)
    make_archive(images, pages_first, pages + [n for n in names if n not in pages])
    addr, b = found
    # A match straddling two members in archive order (pages-1|pages-2 in
    # both): bytes of two processes, never contiguous memory.
    straddle = None
    for x, y in zip(pages, pages[1:]):
        with open(os.path.join(images, x), "rb") as f:
            tail = f.read()[-16:]
        with open(os.path.join(images, y), "rb") as f:
            head = f.read(16)
        if len(set(tail)) > 4 and len(set(head)) > 4:
            straddle = (tail + head).hex()
            break
    cases = [
        ["-C", "16", KEY.decode()],
        ["--format", "json", "-C", "8", KEY.decode()],
        ["-E", "-C", "4", "RANDOM_[0-9]+_KEY|py[a-z]{4,}"],
        ["-i", "-c", "PYTHON"],
        ["-x", "-c", "0000"],  # overlaps itself: read again where streaming cannot tell
        ["-x", "--pid", "3", "-C", "4", b.hex()],  # across a page boundary in one member
        ["--pid", "1", "-c", "-x", "00"],
    ]
    if straddle:
        cases.append(["-x", straddle])
    checks = 0
    for args in cases:
        want = subprocess.run([c2c, "grep"] + args + [images], stdout=subprocess.PIPE)
        for arc in (lexical, pages_first):
            got = subprocess.run([c2c, "grep"] + args + [arc], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
            if got.returncode != want.returncode or \
                    without_input(got.stdout.decode(errors="replace")) != \
                    without_input(want.stdout.decode(errors="replace")):
                raise Fail("grep %s: %s (exit %d) differs from the directory (exit %d):\n%s\n%s"
                           % (" ".join(args), arc, got.returncode, want.returncode,
                              got.stdout[:2000], got.stderr[:2000]))
            checks += 1
        if args[-1] == b.hex():
            if ("0x%x " % addr) not in want.stdout.decode():
                raise Fail("match across the page boundary at %#x not found" % addr)
        if straddle and args[-1] == straddle and want.returncode != 1:
            raise Fail("bytes straddling two pages images matched: %r" % want.stdout)
    if not straddle:
        raise Fail("no pages images with varied bytes at their boundary")

    # Hostile: the archive ends inside a pages member's data.
    raw = os.path.join(work, "lexical.tar")
    with tarfile.open(raw, "w") as t:
        for n in names:
            t.add(os.path.join(images, n), arcname=n)
    with tarfile.open(raw) as t:
        m = [m for m in t.getmembers() if m.name == pages[-1]][0]
        cut = m.offset_data + m.size // 2
    trunc = os.path.join(work, "truncated.tar.gz")
    with open(raw, "rb") as f, gzip.open(trunc, "wb", compresslevel=1) as g:
        g.write(f.read(cut))
    _, err = run([c2c, "grep", KEY.decode(), trunc], 2)
    if ("'%s:%s'" % (trunc, pages[-1])) not in err or "offset" not in err:
        raise Fail("truncated archive: error does not name archive, member and offset: %r" % err)
    return checks + 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt2core", required=True)
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    c2c = a.ckpt2core
    archive = os.path.join(a.fixtures, "counter-archives", "archives", ARCHIVE)
    images = os.path.join(a.fixtures, "counter", "images")
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    out = os.path.join(a.work, "cores")
    run([c2c, "-q", archive, "-o", out], 0)
    core = os.path.join(out, "core.3")
    segs = loads(core)
    checks = 0

    # The acceptance command of issue #14, options after the operands.
    text, _ = run([c2c, "grep", "RANDOM_1432_KEY", archive, "--format", "json"], 0)
    matches = [json.loads(l) for l in text.splitlines()]
    if len(matches) != 2:
        raise Fail("want 2 matches, got %d: %s" % (len(matches), text))
    for m in matches:
        if m["pid"] != 3 or m["match"] != KEY.decode():
            raise Fail("unexpected match %r" % m)
        addr = int(m["address"], 16)
        if addr != m["addr"]:
            raise Fail("address %s and addr %d differ" % (m["address"], m["addr"]))
        got = core_bytes(core, segs, addr, len(KEY))
        if got != KEY:
            raise Fail("core.3 at %#x holds %r, not %r" % (addr, got, KEY))
        if m["offset"] != addr - m["mapping_start"] or m["perms"] != "rw-p":
            raise Fail("mapping fields of %r" % m)
        checks += 1

    # The image directory gives the same matches as the archive.
    text2, _ = run([c2c, "grep", "--format", "json", KEY.decode(), images], 0)
    if [(m["pid"], m["addr"]) for m in map(json.loads, text2.splitlines())] != \
            [(m["pid"], m["addr"]) for m in matches]:
        raise Fail("directory and archive disagree:\n%s\n%s" % (text, text2))
    checks += 1

    # A pattern that crosses a page boundary: 32 non-zero-ish bytes around the
    # first page boundary inside a PT_LOAD of at least two pages, as hex.
    found = None
    for vaddr, filesz, off in segs:
        if filesz < 8192:
            continue
        b = core_bytes(core, segs, vaddr + 4096 - 16, 32)
        if len(set(b)) > 8:
            found = (vaddr + 4096 - 16, b)
            break
    if not found:
        raise Fail("no PT_LOAD with a varied page boundary in core.3")
    addr, b = found
    text, _ = run([c2c, "grep", "-x", b.hex(), "--pid", "3", "--format", "json", archive], 0)
    addrs = [json.loads(l)["addr"] for l in text.splitlines()]
    if addr not in addrs:
        raise Fail("match across the page boundary at %#x not found: %s" % (addr, addrs))
    checks += 1

    # Regular expression, caseless, count, list, context, several patterns.
    text, _ = run([c2c, "grep", "-E", "-c", "RANDOM_[0-9]{4}_KEY", archive], 0)
    if text.strip() != "pid 3 (python3): 2":
        raise Fail("--count: %r" % text)
    text, _ = run([c2c, "grep", "-i", "-l", "random_1432_key", archive], 0)
    if text.strip() != "pid 3 (python3)":
        raise Fail("-i -l: %r" % text)
    text, _ = run([c2c, "grep", "-C", "8", KEY.decode(), archive], 0)
    lines = text.splitlines()
    if not lines[0].startswith("pid 3 (python3) 0x") or KEY.decode() not in lines[0] or \
            not any(l.startswith("    ") for l in lines):
        raise Fail("text output with context: %r" % text)
    text, _ = run([c2c, "grep", "-c", "-e", "RANDOM_1432_KEY", "-e", "NO_SUCH_BYTES_AT_ALL",
                   archive], 0)
    if text.strip() != "pid 3 (python3): 2":
        raise Fail("two patterns: %r" % text)
    checks += 4

    checks += streamed(c2c, images, a.work, found)

    # grep's exit status: 1 no match, 2 bad input, 64 usage.
    run([c2c, "grep", "NO_SUCH_BYTES_AT_ALL", archive], 1)
    run([c2c, "grep", "--pid", "1", KEY.decode(), archive], 1)
    _, err = run([c2c, "grep", KEY.decode(), os.path.join(a.work, "missing")], 2)
    if "missing" not in err:
        raise Fail("error does not name the input: %r" % err)
    run([c2c, "grep", "-E", "(unclosed", archive], 64)
    run([c2c, "grep", "-x", "abc", archive], 64)
    run([c2c, "grep"], 64)
    checks += 6
    return checks


if __name__ == "__main__":
    run_main(main)
