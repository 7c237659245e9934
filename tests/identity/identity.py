#!/usr/bin/env python3
"""Byte identity of the cores across refactors.

cores.sha256 holds the SHA-256 of every core that ckpt2core wrote for the
committed fixtures (each image directory, and both counter archives) when
it was recorded: before
the src/lib stage-folder move of issue #12 (binary of commit 35aa5b9). The
check converts the same inputs again and compares.

One change since, on purpose: the Podman archive lists every pages image
before its mm and pagemap images, and since issue #15 such pages are written
once, verbatim, and the core is laid out around them (corebuild.c). Its
three cores were recorded again then; archive.podman-zst checks that they
hold the same notes and memory as the direct conversion of the images
(tests/pylib/corecmp.py), which the hashes of "counter" pin.

  identity.py check  --ckpt2core BIN --fixtures DIR --work DIR
  identity.py record --ckpt2core BIN --fixtures DIR --work DIR > cores.sha256
"""
import argparse
import hashlib
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = ["sleep", "threads", "avx512", "deep", "states", "counter", "shmem",
            "incremental", "manyvmas"]
ARCHIVES = ["checkpoint-counters_default-counter-2026-11-28T21:47:15Z.tar",
            "counter-podman.tar.zst"]


def cases(fx):
    """(case name, ckpt2core arguments) for every recorded conversion."""
    for f in FIXTURES:
        images = os.path.join(fx, f, "images")
        yield f, [images]
    arc = os.path.join(fx, "counter-archives", "archives")
    for a in ARCHIVES:
        yield "archive:" + a, [os.path.join(arc, a)]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def convert(binary, args, out):
    shutil.rmtree(out, ignore_errors=True)
    r = subprocess.run([binary, "-q", "-o", out] + args, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode not in (0, 1):
        raise SystemExit("ckpt2core %s: exit %d: %s" % (" ".join(args), r.returncode,
                                                        r.stderr.strip()))
    return {n: sha256(os.path.join(out, n)) for n in sorted(os.listdir(out))
            if n.startswith("core.")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["check", "record"])
    ap.add_argument("--ckpt2core", required=True)
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()

    got = {}
    for name, args in cases(a.fixtures):
        for core, digest in convert(a.ckpt2core, args, os.path.join(a.work, "out")).items():
            got["%s %s" % (name, core)] = digest
    if a.mode == "record":
        for k in sorted(got):
            print("%s  %s" % (got[k], k))
        return 0

    want = {}
    with open(os.path.join(HERE, "cores.sha256")) as f:
        for line in f:
            digest, key = line.rstrip("\n").split("  ", 1)
            want[key] = digest
    bad = 0
    for k in sorted(set(want) | set(got)):
        if want.get(k) != got.get(k):
            print("MISMATCH %s: recorded %s, now %s" % (k, want.get(k), got.get(k)))
            bad += 1
    print("%d passed, %d failed" % (len(want) - bad, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
