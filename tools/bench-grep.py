#!/usr/bin/env python3
"""Benchmark of `ckpt2core grep` (issue #14). Not a test: it measures, prints a
table and says whether the target was met.

It generates a synthetic checkpoint with tools/c2c-mkimg.py (--mem-mib of
page data, one process) and, in the same run, alternately times:

  grep -c  : `grep -c -a -F PATTERN pages-*.img` over the same pages files,
             the speed the issue asks ckpt2core to reach;
  ckpt2core: `ckpt2core grep PATTERN DIR`, which also maps every match to a
             process, address and mapping;

and, for a .tar.zst of the same images, `zstd -dc ARCHIVE | grep -c -a -F`
against `ckpt2core grep PATTERN ARCHIVE`, twice: members in lexical order
(as CRI-O and Podman write them: pagemaps before pages) and pages first
(tar's directory order of the fixtures: the pagemaps come after). Before every timed command the page
cache is dropped when /proc/sys/vm/drop_caches is writable (cold for both),
else both read warm. Medians over --runs; peak RSS of ckpt2core from
/usr/bin/time -v.

Target: ckpt2core's median <= --target (default 1.1) x grep -c's median,
for both inputs, and peak RSS <= 64 MiB.

Exit status: 0 target met, 1 missed, 2 error. Needs python3, coreutils,
grep, zstd, tar and /usr/bin/time.
"""
import argparse
import glob
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MKIMG = os.path.join(HERE, "c2c-mkimg.py")
DROP = "/proc/sys/vm/drop_caches"
PATTERN = "C2C_BENCH_NEEDLE_NOT_IN_MEMORY"


def drop(cold):
    subprocess.run(["sync"], check=True)
    if cold:
        with open(DROP, "w") as f:
            f.write("3\n")


def timed(argv, cold, shell=False):
    """Seconds and peak RSS (KiB) of one run."""
    drop(cold)
    cmd = ["/usr/bin/time", "-v"] + (["sh", "-c", argv] if shell else argv)
    t0 = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    dt = time.monotonic() - t0
    if r.returncode not in (0, 1):  # grep's "no match" is 1
        raise SystemExit("%s: exit %d\n%s" % (argv, r.returncode, r.stderr[-2000:]))
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr)
    return dt, int(m.group(1)) if m else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt2core", default=os.path.join(HERE, "..", "build", "ckpt2core"))
    ap.add_argument("--mem-mib", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--target", type=float, default=1.1)
    ap.add_argument("--workdir", default=None, help="default: a new directory in $TMPDIR")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    c2c = os.path.abspath(a.ckpt2core)
    if not os.access(c2c, os.X_OK):
        print("bench-grep: no ckpt2core at %s (build first)" % c2c, file=sys.stderr)
        return 2
    cold = os.access(DROP, os.W_OK)
    work = a.workdir or tempfile.mkdtemp(prefix="c2c-bench-grep.")
    os.makedirs(work, exist_ok=True)
    images = os.path.join(work, "images")
    archive = os.path.join(work, "checkpoint.tar.zst")
    pages_first = os.path.join(work, "checkpoint-pages-first.tar.zst")
    try:
        if not os.path.isdir(images):
            subprocess.run([sys.executable, MKIMG, "--synthetic", "--procs", "1", "--threads", "2",
                            "--vmas", "64", "--mem-mib", str(a.mem_mib), "--zero-fraction", "0",
                            "-o", images], check=True, stdout=subprocess.DEVNULL)
        if not os.path.exists(archive):
            # Lexical member order, as CRI-O and Podman write archives.
            subprocess.run(["sh", "-c", "cd '%s' && tar --sort=name -cf - . | zstd -q -T0 -o '%s'"
                            % (images, archive)], check=True)
        if not os.path.exists(pages_first):
            subprocess.run(["sh", "-c", "cd '%s' && tar -cf - $(ls pages-*) $(ls | grep -v '^pages-')"
                            " | zstd -q -T0 -o '%s'" % (images, pages_first)], check=True)
        pages = sorted(glob.glob(os.path.join(images, "pages-*.img")))
        size = sum(os.path.getsize(p) for p in pages)
        cases = [
            ("directory", ["grep", "-c", "-a", "-F", PATTERN] + pages,
             [c2c, "grep", PATTERN, images], False),
            (".tar.zst", "zstd -dc '%s' | grep -c -a -F %s" % (archive, PATTERN),
             [c2c, "grep", PATTERN, archive], True),
            ("pages 1st", "zstd -dc '%s' | grep -c -a -F %s" % (pages_first, PATTERN),
             [c2c, "grep", PATTERN, pages_first], True),
        ]
        print("bench-grep: %d MiB of pages, %d runs, %s cache" %
              (size >> 20, a.runs, "cold" if cold else "warm"))
        print("%-10s %12s %12s %7s %10s" % ("input", "reference", "ckpt2core", "ratio", "RSS MiB"))
        ok = True
        for name, ref, mine, shell in cases:
            rt, mt, rss = [], [], []
            for _ in range(a.runs):  # alternate, so drift hits both alike
                rt.append(timed(ref, cold, shell)[0])
                t, kib = timed(mine, cold)
                mt.append(t)
                rss.append(kib)
            r, m = statistics.median(rt), statistics.median(mt)
            ratio = m / r if r else float("inf")
            met = ratio <= a.target and max(rss) <= 64 * 1024
            ok &= met
            print("%-10s %10.2f s %10.2f s %7.2f %10.1f %s" % (name, r, m, ratio, max(rss) / 1024,
                                                             "met" if met else "MISSED"))
        print("target: ckpt2core <= %.2f x the reference, RSS <= 64 MiB: %s" %
              (a.target, "met" if ok else "missed"))
        return 0 if ok else 1
    finally:
        if not a.keep and not a.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
