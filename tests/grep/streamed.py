#!/usr/bin/env python3
"""`ckpt2core grep` on archives of the incremental and shmem fixtures (issue #14
item 3): searched as they stream, or read again where streaming cannot stand
for the spooled search (memory partly in the parent's pages, incremental), they
must print exactly what the search of the image directory prints.

Fixtures: fixtures/incremental.tar.xz (images/ with parent -> ../pre) and
fixtures/shmem.tar.xz (pagemap-shmem-*.img, memfd); fixtures/PROVENANCE.md.
Archives are made here with tarfile, gzip'ed (so not used in place), members
in lexical order and pages first.

  streamed.py --ckpt2core BIN --fixtures DIR --work DIR
"""
import argparse
import os
import shutil
import subprocess
import sys
import tarfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from c2ctest import Fail, run_main  # noqa: E402

PATTERNS = [["-c", "-x", "0000"], ["-c", "-E", "[a-z]{5}"], ["-C", "4", "-E", "fx-[a-z]+"],
            ["-C", "8", "-E", "shm[a-z]*"], ["-c", "-x", "01"]]


def archive(path, members):
    """members: (name on disk, name in the archive), in archive order."""
    with tarfile.open(path, "w:gz", compresslevel=1) as t:
        for disk, name in members:
            t.add(disk, arcname=name, recursive=False)


def members(top, sub, prefix):
    out = []
    for n in sorted(os.listdir(os.path.join(top, sub))):
        out.append((os.path.join(top, sub, n), prefix + n))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt2core", required=True)
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    inc = os.path.join(a.fixtures, "incremental")
    shm = os.path.join(a.fixtures, "shmem")
    sets = {
        # checkpoint/parent -> ../pre resolves to the pre/ members.
        "incremental": (os.path.join(inc, "images"),
                        members(inc, "images", "checkpoint/") + members(inc, "pre", "pre/")),
        "shmem": (os.path.join(shm, "images"), members(shm, "images", "")),
    }
    checks = 0
    for name, (images, ms) in sets.items():
        pages = [m for m in ms if os.path.basename(m[1]).startswith("pages-")]
        orders = {"lexical": sorted(ms, key=lambda m: m[1]),
                  "pages-first": pages + [m for m in ms if m not in pages]}
        for order, mlist in orders.items():
            arc = os.path.join(a.work, "%s-%s.tar.gz" % (name, order))
            archive(arc, mlist)
            for args in PATTERNS:
                want = subprocess.run([a.ckpt2core, "grep"] + args + [images],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                got = subprocess.run([a.ckpt2core, "grep"] + args + [arc],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                if (got.returncode, got.stdout) != (want.returncode, want.stdout):
                    raise Fail("%s %s grep %s: exit %d, directory %d:\n%s\n--- directory:\n%s\n%s"
                               % (name, order, " ".join(args), got.returncode, want.returncode,
                                  got.stdout[:1500], want.stdout[:1500], got.stderr[:500]))
                checks += 1
    return checks


if __name__ == "__main__":
    run_main(main)
