#!/usr/bin/env python3
"""Seed the fuzz corpora (tests/fuzz/corpus/<target>/) from the fixtures.

    mkcorpus.py FIXTURES [-o CORPUSDIR]

FIXTURES is a directory holding unpacked fixtures (<name>/images/, as the
e2e.unpack.* tests leave them in ${CMAKE_BINARY_DIR}/fixtures), or the
fixtures/ directory of the source tree (its *.tar.xz are unpacked into a
temporary directory). Seeds are named seed-<fixture>-<what>; files of any
other name (regression inputs named after the defect they found) are kept.
Only small inputs are written: the whole corpus stays well under 2 MB.

Input formats are described at the top of each fuzz-<target>.c.
"""
import argparse
import hashlib
import io
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile

# Images ckpt2core reads, and the kind number of each (enum c2c_image_kind).
KINDS = [
    ("inventory.img", 0), ("pstree.img", 1), ("core-", 2), ("ids-", 3), ("mm-", 4),
    ("pagemap-shmem-", 6), ("pagemap-", 5), ("files.img", 7), ("reg-files.img", 8),
    ("memfd.img", 9), ("remap-fpath.img", 10), ("stats-dump", 11),
]
IMAGE_MAX = 64 << 10       # fuzz-image seeds
CHECKPOINT_MAX = 48 << 10  # fuzz-checkpoint seeds (page data is zero-filled)
ARCHIVE_MAX = 200 << 10    # fuzz-archive seeds
ARCHIVE_FORMS = {"incremental": "tar.gz", "shmem": "tar.xz", "threads": "tar.zst",
                 "states": "tar.gz", "avx512": "tar.bz2", "deep": "tar.xz"}


# criu/include/magic.h, as they appear in an image (little endian).
MAGICS = [
    ("IMG_COMMON", 0x54564319), ("IMG_SERVICE", 0x55105940), ("INVENTORY", 0x58313116),
    ("PSTREE", 0x50273030), ("CORE", 0x55053847), ("IDS", 0x54432030), ("MM", 0x57492820),
    ("PAGEMAP", 0x56084025), ("FILES", 0x56303138), ("REG_FILES", 0x50363636),
    ("MEMFD_INODE", 0x48453499), ("REMAP_FPATH", 0x59133954), ("STATS", 0x57093306),
]
IMAGE_NAMES = ["inventory.img", "pstree.img", "core-", "ids-", "mm-", "pagemap-",
               "pagemap-shmem-", "pages-", "files.img", "reg-files.img", "memfd.img",
               "remap-fpath.img", "stats-dump", ".img", "parent"]
# Values are written to the dictionaries as they are (libFuzzer escapes).
ARCHIVE_WORDS = [("checkpoint", "checkpoint/"), ("pre_checkpoint", "pre-checkpoint/"),
                 ("dotdot", "../"), ("config", "config.dump"), ("spec", "spec.dump"),
                 ("ustar", r"ustar\x00"), ("gnu", r"ustar  \x00"), ("longlink", "././@LongLink"),
                 ("pax_path", "path="), ("pax_size", "size="), ("pax_linkpath", "linkpath="),
                 ("gzip", r"\x1f\x8b\x08"), ("xz", r"\xfd7zXZ\x00"), ("bzip2", "BZh9"),
                 ("zstd", r"(\xb5/\xfd"), ("lz4", r"\x04\x22\x4d\x18"), ("compress", r"\x1f\x9d")]


def dict_text(target):
    lines = [f"# fuzz-{target}: CRIU magics and names (written by mkcorpus.py)"]
    for name, m in MAGICS:
        lines.append(f'magic_{name.lower()}="' +
                     "".join(f"\\x{b:02x}" for b in struct.pack("<I", m)) + '"')
    if target in ("checkpoint", "archive"):
        for i, n in enumerate(IMAGE_NAMES):
            lines.append(f'name_{i}="{n}"')
    if target == "checkpoint":
        lines += ['name_pre="pre/"', 'name_flags="fuzz-flags"']
    if target == "archive":
        lines += [f'{k}="{v}"' for k, v in ARCHIVE_WORDS]
    return "\n".join(lines) + "\n"


def kind_of(name):
    for prefix, k in KINDS:
        if name == prefix or (prefix.endswith("-") and name.startswith(prefix)
                              and name.endswith(".img")):
            return k
    return None


def fixtures_in(root):
    """[(name, images_dir, pre_dir_or_None)] of the fixtures under root."""
    out = []
    for name in sorted(os.listdir(root)):
        images = os.path.join(root, name, "images")
        if os.path.isdir(images):
            pre = os.path.join(root, name, "pre")
            out.append((name, images, pre if os.path.isdir(pre) else None))
    return out


class Writer:
    def __init__(self, corpus):
        self.corpus = corpus
        self.seen = {}
        for t in ("image", "pagemap", "checkpoint", "archive"):
            d = os.path.join(corpus, t)
            os.makedirs(d, exist_ok=True)
            for f in os.listdir(d):
                if f.startswith("seed-"):
                    os.unlink(os.path.join(d, f))
            self.seen[t] = set()

    def put(self, target, name, data, limit):
        if len(data) > limit:
            return
        h = hashlib.sha1(data).hexdigest()
        if h in self.seen[target]:
            return
        self.seen[target].add(h)
        with open(os.path.join(self.corpus, target, "seed-" + name), "wb") as f:
            f.write(data)


def member(name, data=None, zero_size=None):
    """One member of the fuzz-checkpoint container format."""
    nb = name.encode()
    assert len(nb) < 128
    if zero_size is not None:
        return bytes([0x80 | len(nb)]) + nb + struct.pack("<I", zero_size)
    return bytes([len(nb)]) + nb + struct.pack("<I", len(data)) + data


def read(path):
    with open(path, "rb") as f:
        return f.read()


def checkpoint_seed(images, pre):
    out = b""
    for d, prefix in ((images, ""), (pre, "pre/")):
        if not d:
            continue
        for f in sorted(os.listdir(d)):
            p = os.path.join(d, f)
            if f == "parent":
                out += member(prefix + "parent", b"pre")
            elif f.startswith("pages-"):
                out += member(prefix + f, zero_size=os.path.getsize(p))
            elif kind_of(f) is not None:
                out += member(prefix + f, read(p))
    return out


def pagemap_seeds(w, fx, images, pre):
    for f in sorted(os.listdir(images)):
        k = kind_of(f)
        if k not in (5, 6):
            continue
        data = read(os.path.join(images, f))
        need = max([os.path.getsize(os.path.join(d, p)) for d in (images, pre) if d
                    for p in os.listdir(d) if p.startswith("pages-")] + [0])
        shift = 7
        while shift > 0 and (64 << 20) >> (2 * shift) < need:
            shift -= 1
        flags = (1 if k == 6 else 0) | shift << 4
        w.put("pagemap", f"{fx}-{f}", bytes([flags]) + data, IMAGE_MAX)
        if pre and os.path.exists(os.path.join(pre, f)):
            pdata = read(os.path.join(pre, f))
            for extra, what in ((2, "parent-file"), (2 | 8, "parent-link"),
                                (2 | 4, "parent-loop")):
                w.put("pagemap", f"{fx}-{f}-{what}",
                      bytes([flags | extra]) + struct.pack("<H", len(data)) + data + pdata,
                      IMAGE_MAX)


def tar_bytes(images, pre):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.GNU_FORMAT) as t:
        for d, prefix in ((images, "checkpoint/"), (pre, "pre/")):
            if not d:
                continue
            for f in sorted(os.listdir(d)):
                p = os.path.join(d, f)
                ti = t.gettarinfo(p, prefix + f)
                ti.uid = ti.gid = 0
                ti.uname = ti.gname = "root"
                ti.mtime = 0
                if f == "parent":
                    ti.type, ti.linkname, ti.size = tarfile.SYMTYPE, "../pre", 0
                    t.addfile(ti)
                else:
                    with open(p, "rb") as fh:
                        t.addfile(ti, fh)
    return bio.getvalue()


def compressions(raw):
    import bz2
    import gzip
    import lzma
    yield "tar", raw
    yield "tar.gz", gzip.compress(raw, 9, mtime=0)
    yield "tar.xz", lzma.compress(raw)
    yield "tar.bz2", bz2.compress(raw, 9)
    zstd = shutil.which("zstd")
    if zstd:
        yield "tar.zst", subprocess.run([zstd, "-19", "-q", "-c"], input=raw,
                                        stdout=subprocess.PIPE, check=True).stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("fixtures")
    ap.add_argument("-o", "--corpus",
                    default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus"))
    a = ap.parse_args()

    tmp = None
    root = a.fixtures
    if any(f.endswith(".tar.xz") for f in os.listdir(root)):
        tmp = tempfile.mkdtemp(prefix="c2c-corpus-")
        for f in sorted(os.listdir(root)):
            if f.endswith(".tar.xz"):
                with tarfile.open(os.path.join(root, f)) as t:
                    t.extractall(tmp)
        root = tmp
    try:
        w = Writer(a.corpus)
        for fx, images, pre in fixtures_in(root):
            for f in sorted(os.listdir(images)):
                k = kind_of(f)
                if k is not None:
                    w.put("image", f"{fx}-{f}", bytes([k]) + read(os.path.join(images, f)),
                          IMAGE_MAX)
            pagemap_seeds(w, fx, images, pre)
            w.put("checkpoint", fx, checkpoint_seed(images, pre), CHECKPOINT_MAX)
            # Archives: sleep in every form, a few others in one compression each.
            raw = tar_bytes(images, pre)
            for ext, data in compressions(raw):
                if fx == "sleep" or ext == ARCHIVE_FORMS.get(fx):
                    w.put("archive", f"{fx}.{ext}", data, ARCHIVE_MAX)
    finally:
        if tmp:
            shutil.rmtree(tmp)
    here = os.path.dirname(os.path.abspath(__file__))
    for t in sorted(w.seen):
        with open(os.path.join(here, f"fuzz-{t}.dict"), "w") as f:
            f.write(dict_text(t))
    total = 0
    for t in sorted(w.seen):
        d = os.path.join(a.corpus, t)
        n = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
        total += n
        print(f"{t}: {len(os.listdir(d))} inputs, {n} bytes")
    print(f"total {total} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
