#!/usr/bin/env python3
"""Systematic corruption test: every image file of one fixture, damaged.

    corrupt.py --ckpt2core BIN --fixture DIR --work DIR [--budget SECONDS]

For each file of DIR/images (on a private copy of the directory):
  - truncate it at every record boundary: the framing (magic words, then u32
    length + record, criu-image-format §1.2) is parsed here; pages-*.img has
    no framing and is truncated at a spread of page boundaries;
  - truncate it at a spread of other offsets (inside magic words, length
    words and records);
  - flip (xor 0xff) the byte at a spread of offsets, including the magic
    words and the high byte of the first length words;
then run `ckpt2core -o OUT COPY` (with a timeout) and require:
  - exit status 0, 1 or 2 (the documented codes), never a signal, never a
    timeout, and no sanitizer report on stderr;
  - exit 2 comes with a "ckpt2core: error:" line, and OUT is absent or empty
    (no temporary, no partial core);
  - exit 0/1 leaves only complete core.<pid> files in OUT, mode 0600,
    starting with the ELF magic;
  - the image directory is not modified by the converter.

The number of runs is bounded: when the planned runs would take longer than
--budget seconds (estimated from the intact fixture's conversion time, so a
sanitizer or valgrind build is accounted for), an evenly spread subset of the
non-boundary cases is dropped first, then of the rest (and runs stop, without
failing, at 3 x the budget if the estimate was far off). Failing inputs are
kept in WORK/failures/ with the command that reproduces them.

Exit status: 0 pass, 1 failure, 77 fixture missing (skipped).
"""
import argparse
import os
import re
import shutil
import struct
import subprocess
import sys
import time

IMG_COMMON = 0x54564319
IMG_SERVICE = 0x55105940
PAGE = 4096
SANITIZER = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer|MemorySanitizer)|"
                       r"runtime error:|SUMMARY: \w+Sanitizer|==\d+==ERROR")


def framing(data):
    """Offsets of the record boundaries of a CRIU image (after the magic
    words, then after each complete record), and the offsets of the length
    words. Parsing stops at the first record that does not fit."""
    if len(data) < 4:
        return [], []
    (w,) = struct.unpack_from("<I", data, 0)
    pos = 8 if w in (IMG_COMMON, IMG_SERVICE) and len(data) >= 8 else 4
    bounds, lens = [pos], []
    while pos + 4 <= len(data):
        (n,) = struct.unpack_from("<I", data, pos)
        if pos + 4 + n > len(data):
            break
        lens.append(pos)
        pos += 4 + n
        bounds.append(pos)
    return bounds, lens


def spread(lo, hi, n):
    """n offsets evenly spread over [lo, hi)."""
    if hi <= lo:
        return []
    if hi - lo <= n:
        return list(range(lo, hi))
    return sorted({lo + (hi - lo) * i // n for i in range(n)})


def plan_file(name, data):
    """[(kind, offset, priority)] for one file; kind 'trunc' or 'flip'.
    Priority 0 cases (record boundaries, magic words) are dropped last."""
    size = len(data)
    cases = []
    if name.startswith("pages-"):
        npages = size // PAGE
        pts = sorted({0, 1, npages - 1} | set(spread(0, npages, 8))) if npages else [0]
        cases += [("trunc", p * PAGE, 0) for p in pts if 0 <= p * PAGE < size]
        cases += [("trunc", o, 1) for o in (1, size - 1) if 0 < o < size]
        cases += [("flip", o, 1) for o in spread(0, size, 8)]
        return cases
    bounds, lens = framing(data)
    bset = set(b for b in bounds if b < size)
    cases += [("trunc", b, 0) for b in sorted(bset)]
    cases.append(("trunc", 0, 0))
    other = {1, 2, 3, 5, 6, 7, 9, 10, 11, size - 1}
    other |= set(spread(1, size, 12))
    # inside the first length words and just after them
    for lp in lens[:3]:
        other |= {lp + 1, lp + 3, lp + 5}
    cases += [("trunc", o, 1) for o in sorted(other - bset - {0}) if 0 < o < size]
    flips = {0, 3, 4, 7} | set(spread(0, size, 12))
    for lp in lens[:3]:
        flips |= {lp, lp + 3, lp + 4}
    cases += [("flip", o, 0 if o < 8 else 1) for o in sorted(flips) if 0 <= o < size]
    return cases


def sanitizer_env():
    env = dict(os.environ)
    # A sanitizer report must not pass for the converter's "warnings" exit 1.
    for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        env[var] = (env.get(var, "") + ":exitcode=86").lstrip(":")
    env["LC_ALL"] = "C"
    return env


def listing(d):
    out = {}
    for f in sorted(os.listdir(d)):
        st = os.lstat(os.path.join(d, f))
        out[f] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


class Runner:
    def __init__(self, a):
        self.a = a
        self.env = sanitizer_env()
        self.failures = []
        self.codes = {}
        self.runs = 0

    def run(self, images, out, what):
        cmd = self.a.wrapper + [self.a.ckpt2core, "-o", out, images]
        t0 = time.monotonic()
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=self.env, timeout=self.a.timeout)
        except subprocess.TimeoutExpired:
            return None, "timeout after %d s" % self.a.timeout, time.monotonic() - t0
        self.runs += 1
        err = p.stderr.decode(errors="replace")
        return p.returncode, err, time.monotonic() - t0

    def check(self, rc, err, out):
        """Problems with one run's outcome ([] if fine)."""
        probs = []
        if rc is None:
            return [err]
        if rc < 0:
            probs.append("killed by signal %d" % -rc)
        elif rc not in (0, 1, 2):
            probs.append("exit status %d (0, 1 or 2 expected)" % rc)
        if SANITIZER.search(err):
            probs.append("sanitizer report")
        left = sorted(os.listdir(out)) if os.path.isdir(out) else []
        if rc == 2:
            if not re.search(r"^ckpt2core: error: ", err, re.M):
                probs.append("exit 2 without an error line")
            if left:
                probs.append("failed run left files in OUTDIR: %s" % left)
        elif rc in (0, 1):
            if not left:
                probs.append("exit %d but no core written" % rc)
            for f in left:
                p = os.path.join(out, f)
                st = os.lstat(p)
                if not re.fullmatch(r"core\.\d+", f):
                    probs.append("unexpected file in OUTDIR: %s" % f)
                elif (st.st_mode & 0o7777) != 0o600 or not os.path.isfile(p):
                    probs.append("%s: mode %o" % (f, st.st_mode))
                else:
                    with open(p, "rb") as fh:
                        if fh.read(4) != b"\x7fELF":
                            probs.append("%s: no ELF header" % f)
        return probs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ckpt2core", required=True)
    ap.add_argument("--fixture", required=True, help="unpacked fixture (holds images/)")
    ap.add_argument("--work", required=True)
    ap.add_argument("--timeout", type=int, default=60, help="seconds per run")
    ap.add_argument("--budget", type=float, default=60,
                    help="estimated seconds of conversions at most")
    ap.add_argument("--wrapper", default="", help="command prefix, e.g. valgrind")
    ap.add_argument("--only", help="only files whose name matches this regex")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    a.wrapper = a.wrapper.split()

    src = os.path.join(a.fixture, "images")
    if not os.path.isdir(src):
        print("corrupt.py: no fixture at %s: skipped" % src)
        return 77
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    images = os.path.join(a.work, "images")
    out = os.path.join(a.work, "out")
    faildir = os.path.join(a.work, "failures")
    shutil.copytree(src, images, symlinks=True)
    for f in os.listdir(images):
        os.chmod(os.path.join(images, f), 0o644)
    r = Runner(a)

    # The intact fixture converts, and tells how long a run takes.
    times = []
    for _ in range(3):
        shutil.rmtree(out, ignore_errors=True)
        rc, err, dt = r.run(images, out, "intact")
        probs = r.check(rc, err, out)
        if rc not in (0, 1) or probs:
            print("intact fixture: exit %s %s\n%s" % (rc, probs, err))
            return 1
        times.append(dt)
    per_run = sorted(times)[1]

    names = sorted(f for f in os.listdir(images)
                   if os.path.isfile(os.path.join(images, f)) and not os.path.islink(
                       os.path.join(images, f)) and (not a.only or re.search(a.only, f)))
    plan = []
    for name in names:
        with open(os.path.join(images, name), "rb") as fh:
            data = fh.read()
        plan += [(name, k, o, pr) for k, o, pr in plan_file(name, data)]
    total = len(plan)
    # A damaged image usually fails early, but the script's own work per case
    # (rewriting the file, checking OUTDIR) adds to the converter's time.
    per_case = per_run * 1.5 + 0.01
    fits = max(1, int(a.budget / per_case))
    if len(plan) > fits:
        # Drop an evenly spread part of the low-priority cases first.
        for prio in (1, 0):
            extra = len(plan) - fits
            idx = [i for i, c in enumerate(plan) if c[3] == prio]
            if extra <= 0 or not idx:
                continue
            drop = set(idx[int(j * len(idx) / min(extra, len(idx)))]
                       for j in range(min(extra, len(idx))))
            plan = [c for i, c in enumerate(plan) if i not in drop]
    print("fixture %s: %d files, %d cases planned, %d run (%.3f s per conversion, "
          "budget %.0f s)" % (os.path.basename(os.path.normpath(a.fixture)), len(names),
                              total, len(plan), per_run, a.budget))
    sys.stdout.flush()

    before = listing(images)
    t_start = time.monotonic()
    cur_name, cur_data = None, None
    skipped = 0
    for name, kind, off, _ in plan:
        if time.monotonic() - t_start > 3 * a.budget:
            skipped += 1  # a much slower machine than estimated: stop, do not fail
            continue
        path = os.path.join(images, name)
        if name != cur_name:
            with open(path, "rb") as fh:
                cur_name, cur_data = name, fh.read()
        bad = cur_data[:off] if kind == "trunc" else (
            cur_data[:off] + bytes([cur_data[off] ^ 0xFF]) + cur_data[off + 1:])
        with open(path, "wb") as fh:
            fh.write(bad)
        shutil.rmtree(out, ignore_errors=True)
        what = "%s %s at %d (of %d bytes)" % (name, "truncated" if kind == "trunc" else
                                              "byte flipped", off, len(cur_data))
        rc, err, dt = r.run(images, out, what)
        r.codes[rc] = r.codes.get(rc, 0) + 1
        probs = r.check(rc, err, out)
        after = listing(images)
        after.pop(name, None)
        b = dict(before)
        b.pop(name, None)
        if after != b:
            probs.append("the image directory changed: %s" % sorted(
                set(after.items()) ^ set(b.items())))
        if a.verbose:
            print("%-60s exit %s %s" % (what, rc, err.strip().splitlines()[-1:] if err else ""))
        if probs:
            keep = os.path.join(faildir, "%s.%s-%d" % (name, kind, off))
            os.makedirs(faildir, exist_ok=True)
            with open(keep, "wb") as fh:
                fh.write(bad)
            r.failures.append((what, rc, probs, err, keep))
            print("FAIL: %s: exit %s: %s\n  input kept as %s\n  stderr: %s" % (
                what, rc, "; ".join(probs), keep, err.strip()[-2000:]))
        # restore for the next case
        with open(path, "wb") as fh:
            fh.write(cur_data)
        os.utime(path, ns=(before[name][2], before[name][2]))
    shutil.rmtree(out, ignore_errors=True)
    elapsed = time.monotonic() - t_start
    if skipped:
        print("time is up (3 x budget): the last %d cases were not run" % skipped)
    print("%d runs in %.1f s; exit codes: %s" % (
        len(plan) - skipped, elapsed, ", ".join("%s: %d" % (k if k is not None else "timeout", v)
                                      for k, v in sorted(r.codes.items(),
                                                         key=lambda kv: str(kv[0])))))
    if r.failures:
        print("%d failures (reproduce: %s -o OUT DIR with the kept file as DIR/<image>)" % (
            len(r.failures), a.ckpt2core))
        return 1
    shutil.rmtree(a.work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
