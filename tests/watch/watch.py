#!/usr/bin/env python3
"""ckpt2core watch, end to end with real files appearing (stdlib only).

Issue #16: `ckpt2core watch DIR -o OUTDIR` converts each checkpoint archive
that appears in DIR into OUTDIR/<archive name>/ (cores and manifest.json) and
lists them in OUTDIR/index.json; archives still being written are never
converted half; failures are retried with back-off and reported once;
restarts redo nothing; SIGTERM leaves nothing half under a final name.

  watch.py CASE --ckpt2core BIN --fixtures DIR --work DIR [--source-dir DIR]

DIR (--fixtures) holds counter-archives/ (fixtures/counter-archives.tar.xz,
unpacked by archive.unpack): the CRI-O/kubelet .tar and the Podman .tar.zst of
fixture `counter`. Every case runs the watcher with --log-format json and
checks that each line of its stderr is one JSON event.

No assertion depends on how fast anything runs: the harness waits for the
watcher's events (polling, generous timeouts) and then checks what they say
and what is on disk. The only time comparisons are lower bounds the watcher
guarantees (no retry before its logged back-off delay has passed).

Exit status: 0 pass, 1 fail, 2 usage error.
"""

import argparse
import bz2
import filecmp
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from datetime import datetime

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import corecmp  # noqa: E402

EXIT_FAIL = 1
WAIT = 120       # seconds to wait for an event before giving up
RUN_TIMEOUT = 300

CRIO_TAR = "checkpoint-counters_default-counter-2026-11-28T21:47:15Z.tar"
PODMAN_ZST = "counter-podman.tar.zst"
CORES = ["core.1", "core.3", "core.4"]


class Fail(Exception):
    """The check failed; the message says why."""


def log(msg=""):
    print(msg, flush=True)


def check(cond, msg):
    if not cond:
        raise Fail(msg)


class Ctx:
    def __init__(self, a):
        self.bin = os.path.abspath(a.ckpt2core)
        self.work = os.path.abspath(a.work)
        self.src = os.path.abspath(a.source_dir)
        arch = os.path.join(os.path.abspath(a.fixtures), "counter-archives", "archives")
        self.crio = os.path.join(arch, CRIO_TAR)
        self.podman = os.path.join(arch, PODMAN_ZST)
        for p in (self.bin, self.crio, self.podman):
            check(os.path.exists(p), "%s does not exist (fixtures not unpacked?)" % p)
        with open(os.path.join(self.src, "doc", "report.schema.json")) as f:
            self.schema = json.load(f)
        sys.path.insert(0, os.path.join(self.src, "tests", "archive"))
        from archive import validate  # the suite's JSON Schema validator
        self._validate = validate
        self._ref = {}

    def path(self, *parts):
        return os.path.join(self.work, *parts)

    def validate(self, doc, definition, what):
        schema = dict(self.schema)
        schema["$ref"] = "#/$defs/" + definition
        errs = self._validate(schema, doc)
        check(not errs, "%s does not match $defs/%s: %s" % (what, definition, "; ".join(errs[:5])))

    def ref(self, archive):
        """Cores of ARCHIVE converted directly (plain ckpt2core)."""
        if archive not in self._ref:
            out = self.path("ref-%d" % len(self._ref))
            r = subprocess.run([self.bin, archive, "-o", out, "-q"], capture_output=True,
                               timeout=RUN_TIMEOUT)
            check(r.returncode == 0, "reference conversion of %s: exit %d\n%s" % (
                archive, r.returncode, r.stderr.decode(errors="replace")))
            self._ref[archive] = out
        return self._ref[archive]


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def ts(ev):
    return datetime.strptime(ev["time"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


class Watcher:
    """A running `ckpt2core watch DIR -o OUT --log-format json ARGS...`."""

    def __init__(self, ctx, d, out, *args, name="watch", prefix=()):
        self.ctx = ctx
        self.logpath = ctx.path("%s.log" % name)
        self.cmd = list(prefix) + [ctx.bin, "watch", d, "-o", out, "--log-format", "json"] + \
            list(args)
        log("run: %s 2> %s" % (" ".join(self.cmd), self.logpath))
        self.err = open(self.logpath, "wb")
        self.p = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=self.err)
        self.rc = None

    def events(self):
        """Every complete line of the log, each of which must be one JSON event."""
        with open(self.logpath, "rb") as f:
            text = f.read().decode()
        evs = []
        for line in text.split("\n")[:-1]:  # the last piece is incomplete (or "")
            try:
                ev = json.loads(line)
            except ValueError:
                raise Fail("log line is not JSON: %r" % line)
            check(isinstance(ev, dict) and "event" in ev and "time" in ev and "archive" in ev,
                  "log line is not an event: %r" % line)
            evs.append(ev)
        return evs

    def of(self, event, archive=None):
        return [e for e in self.events() if e["event"] == event and
                (archive is None or e["archive"] == archive)]

    def wait_for(self, what, pred, timeout=WAIT):
        end = time.monotonic() + timeout
        while True:
            for ev in self.events():
                if pred(ev):
                    return ev
            if self.p.poll() is not None:
                raise Fail("watcher exited (%d) while waiting for %s\n%s" % (
                    self.p.returncode, what, self.show()))
            if time.monotonic() > end:
                raise Fail("no %s within %d s\n%s" % (what, timeout, self.show()))
            time.sleep(0.05)

    def wait_event(self, event, archive=None, timeout=WAIT):
        return self.wait_for("'%s' event%s" % (event, " for " + archive if archive else ""),
                             lambda e: e["event"] == event and
                             (archive is None or e["archive"] == archive), timeout)

    def stop(self, sig=signal.SIGTERM):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        try:
            self.rc = self.p.wait(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.p.kill()
            raise Fail("watcher did not exit within %d s of signal %d" % (RUN_TIMEOUT, sig))
        self.err.close()
        return self.rc

    def wait_exit(self):
        try:
            self.rc = self.p.wait(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.p.kill()
            raise Fail("watcher did not exit within %d s\n%s" % (RUN_TIMEOUT, self.show()))
        self.err.close()
        return self.rc

    def show(self):
        with open(self.logpath, "rb") as f:
            return "--- %s\n%s" % (self.logpath, f.read().decode(errors="replace")[-6000:])


def once(ctx, d, out, *args, name="once"):
    w = Watcher(ctx, d, out, "--once", *args, name=name)
    w.wait_exit()
    return w


def fresh(ctx, *names):
    paths = []
    for n in names:
        p = ctx.path(n)
        shutil.rmtree(p, ignore_errors=True)
        os.makedirs(p)
        paths.append(p)
    return paths


def load_json(path):
    with open(path) as f:
        return json.load(f)


def no_temporaries(out):
    left = [n for n in os.listdir(out) if n.startswith(".tmp-") or n.startswith(".index.json")]
    check(not left, "temporaries left in %s: %s" % (out, left))


def check_converted(ctx, out, name, archive_path, source=None):
    """OUTDIR/NAME holds the cores of SOURCE (default: the archive itself),
    byte for byte, and a manifest naming the archive's size, mtime and hash."""
    d = os.path.join(out, name)
    check(os.path.isdir(d), "%s was not converted (no %s)" % (name, d))
    check(sorted(os.listdir(d)) == CORES + ["manifest.json"],
          "%s holds %s, expected %s and manifest.json" % (d, sorted(os.listdir(d)), CORES))
    ref = ctx.ref(source or archive_path)
    for c in CORES:
        a, b = os.path.join(d, c), os.path.join(ref, c)
        # byte for byte, or, where the archive lists its pages first (verbatim
        # layout, tests/pylib/corecmp.py), the same notes and memory
        why = corecmp.layout_free_difference(a, b)
        check(why is None, "%s/%s differs from a direct conversion of the archive: %s"
              % (d, c, why))
    m = load_json(os.path.join(d, "manifest.json"))
    ctx.validate(m, "watch_manifest", "%s/manifest.json" % d)
    st = os.stat(archive_path)
    a = m["archive"]
    check(a["name"] == name and a["size"] == st.st_size and a["mtime_ns"] == st.st_mtime_ns,
          "manifest of %s records %s, the archive has size %d mtime_ns %d" % (
              name, a, st.st_size, st.st_mtime_ns))
    check(a["sha256"] == sha256_file(archive_path),
          "manifest of %s: sha256 %s is not the archive's" % (name, a["sha256"]))
    check(m["cores"] == 3 and [p["core"]["path"] for p in m["report"]["processes"]] ==
          ["./core.1", "./core.3", "./core.4"],
          "manifest of %s: cores %r, report paths %r" % (
              name, m["cores"], [p["core"] for p in m["report"]["processes"]]))
    return m


def index_of(ctx, out):
    idx = load_json(os.path.join(out, "index.json"))
    ctx.validate(idx, "watch_index", "%s/index.json" % out)
    names = [a["archive"] for a in idx["archives"]]
    check(names == sorted(names), "index not sorted: %s" % names)
    return {a["archive"]: a for a in idx["archives"]}


def write_slowly(path, data, chunk, pause, on_chunk=None):
    """Write DATA to PATH in chunks with pauses, one open() and one close()."""
    with open(path, "wb") as f:
        for i, off in enumerate(range(0, len(data), chunk)):
            f.write(data[off:off + chunk])
            f.flush()
            if on_chunk:
                on_chunk(i, off + chunk)
            time.sleep(pause)


def padded_bz2(src, dst, mib):
    """SRC's members plus a MIB MiB ctr.log (zeros, which ckpt2core ignores,
    as Podman's ctr.log) at the end, bzip2-compressed: an archive whose
    conversion takes seconds however fast the machine, because every byte of
    ctr.log must be decompressed. bzip2 streams concatenate, so 100 MiB of
    zeros is compressed once."""
    pre = bytearray()
    with tarfile.open(src) as t:
        for m in t.getmembers():
            pre += m.tobuf(format=tarfile.GNU_FORMAT)
            if m.isfile():
                data = t.extractfile(m).read()
                pre += data + b"\0" * (-len(data) % 512)
    chunk = 50 << 20
    pad = tarfile.TarInfo("ctr.log")
    pad.size = mib // 50 * chunk
    pad.mtime = 0
    zeros = bz2.compress(b"\0" * chunk, 1)
    with open(dst, "wb") as f:
        f.write(bz2.compress(bytes(pre) + pad.tobuf(format=tarfile.GNU_FORMAT), 1))
        for _ in range(mib // 50):
            f.write(zeros)
        f.write(bz2.compress(b"\0" * 1024, 1))


# ------------------------------------------------------------------- cases


def case_once(ctx):
    """--once converts the fixture archives into the documented layout."""
    d, out = fresh(ctx, "in", "out")
    for a in (ctx.crio, ctx.podman):
        shutil.copy(a, d)
    w = once(ctx, d, out, "--settle", "0")
    check(w.rc == 0, "--once exit %d, expected 0\n%s" % (w.rc, w.show()))
    for name in (CRIO_TAR, PODMAN_ZST):
        check_converted(ctx, out, name, os.path.join(d, name))
        check(len(w.of("converted", name)) == 1, "%s converted %d times" % (
            name, len(w.of("converted", name))))
    idx = index_of(ctx, out)
    check(sorted(idx) == sorted([CRIO_TAR, PODMAN_ZST]), "index lists %s" % sorted(idx))
    for name, a in idx.items():
        check(a["status"] == "done" and a["cores"] == CORES and a["output"] == name and
              a["manifest"] == name + "/manifest.json" and a["error"] is None and
              a["sha256"] == sha256_file(os.path.join(d, name)),
              "index entry of %s: %s" % (name, a))
    no_temporaries(out)
    check(w.of("exit")[-1]["status"] == 0, "exit event: %s" % w.of("exit"))
    # The same in text: one line per event, "ckpt2core: TIME EVENT 'NAME' ...".
    out2, = fresh(ctx, "out-text")
    r = subprocess.run([ctx.bin, "watch", d, "-o", out2, "--once", "--settle", "0"],
                       capture_output=True, timeout=RUN_TIMEOUT)
    lines = r.stderr.decode().splitlines()
    check(r.returncode == 0 and all(l.startswith("ckpt2core: ") for l in lines) and
          sum(" converted '" in l for l in lines) == 2,
          "text log: exit %d\n%s" % (r.returncode, r.stderr.decode()))


def case_events(ctx):
    """Watching: an archive copied in slowly, one renamed into place, one
    truncated, one deleted before conversion; then SIGTERM."""
    d, out = fresh(ctx, "in", "out")
    w = Watcher(ctx, d, out, "--settle", "1", "--retries", "3", "--retry-delay", "2")
    w.wait_event("watch")
    with open(ctx.crio, "rb") as f:
        crio = f.read()

    # 1. Copied in slowly: half, a pause longer than the settle period (the
    # watcher looks, finds no tar end and must not convert), then the rest.
    slow = "checkpoint-slow_default-counter-2026-12-01T10:00:00Z.tar"
    final = os.path.join(out, slow)

    def not_yet(i, done):
        check(not os.path.exists(final), "%s converted after %d of %d bytes" % (
            slow, done, len(crio)))
        if done >= len(crio) // 2 and not getattr(not_yet, "paused", False):
            not_yet.paused = True
            ev = w.wait_for("a look at the half-written %s" % slow,
                            lambda e: e["archive"] == slow and
                            e["event"] in ("retry", "growing"))
            check(ev.get("code", "incomplete") == "incomplete" or ev["event"] == "growing",
                  "half-written archive: %s" % ev)
            check(not os.path.exists(final), "%s converted half" % slow)

    write_slowly(os.path.join(d, slow), crio, 256 << 10, 0.05, not_yet)
    check(not_yet.paused, "the slow copy never paused")
    w.wait_event("converted", slow)
    check_converted(ctx, out, slow, os.path.join(d, slow), source=ctx.crio)

    # 2. Written under a hidden name, then renamed into place.
    hidden = os.path.join(d, ".partial-" + PODMAN_ZST)
    shutil.copy(ctx.podman, hidden)
    os.rename(hidden, os.path.join(d, PODMAN_ZST))
    ev = w.wait_event("converted", PODMAN_ZST)
    ready = w.of("ready", PODMAN_ZST)
    check(len(ready) == 1 and ready[0]["how"] == "moved-to",
          "renamed archive: ready events %s (expected one, how=moved-to)" % ready)
    check_converted(ctx, out, PODMAN_ZST, os.path.join(d, PODMAN_ZST))

    # 3. Truncated (60%, no tar end), closed: retried with back-off, then failed once.
    trunc = "checkpoint-trunc_default-counter-2026-12-01T10:05:00Z.tar"
    with open(os.path.join(d, trunc), "wb") as f:
        f.write(crio[:len(crio) * 6 // 10 // 512 * 512])
    failed = w.wait_event("failed", trunc)
    check(failed["attempts"] == 3 and failed["code"] == "incomplete" and
          "without its end-of-archive blocks" in failed["message"],
          "truncated archive: %s" % failed)

    # 4. Deleted while still being written.
    gone = "checkpoint-gone_default-counter-2026-12-01T10:10:00Z.tar"
    with open(os.path.join(d, gone), "wb") as f:
        f.write(crio[:len(crio) // 3])
        f.flush()
        w.wait_event("seen", gone)
        os.unlink(os.path.join(d, gone))
    w.wait_event("gone", gone)

    # Long enough for another round of retries, had the failure not been final.
    time.sleep(4)
    rc = w.stop(signal.SIGTERM)
    check(rc == 0, "SIGTERM: exit %d, expected 0\n%s" % (rc, w.show()))

    evs = w.events()
    conv = [e for e in evs if e["event"] == "convert" and e["archive"] == trunc]
    retry = [e for e in evs if e["event"] == "retry" and e["archive"] == trunc]
    check([e["attempt"] for e in conv] == [1, 2, 3], "truncated: attempts %s" % conv)
    check([e["delay"] for e in retry] == [2.0, 4.0], "truncated: back-off %s, expected 2 then 4"
          % [e["delay"] for e in retry])
    for r, nxt in zip(retry, conv[1:]):
        check(ts(nxt) - ts(r) >= r["delay"] - 0.002, "attempt %d came %.3f s after the retry "
              "event, before its %.1f s delay" % (nxt["attempt"], ts(nxt) - ts(r), r["delay"]))
    check(len([e for e in evs if e["event"] == "failed"]) == 1,
          "failed reported %d times" % len([e for e in evs if e["event"] == "failed"]))
    for name in (slow, PODMAN_ZST):
        check(len([e for e in evs if e["event"] == "converted" and e["archive"] == name]) == 1,
              "%s not converted exactly once" % name)
    check(not [e for e in evs if e["event"] == "convert" and e["archive"] == gone],
          "the deleted archive was converted: %s" % [e for e in evs if e["archive"] == gone])
    check(not [e for e in evs if e["archive"] and e["archive"].startswith(".")],
          "a hidden file was picked up")
    check(not os.path.exists(os.path.join(out, trunc)) and
          not os.path.exists(os.path.join(out, gone)), "output for the truncated or the deleted")
    idx = index_of(ctx, out)
    check(sorted(idx) == sorted([slow, PODMAN_ZST, trunc]), "index lists %s" % sorted(idx))
    check(idx[slow]["status"] == "done" and idx[PODMAN_ZST]["status"] == "done",
          "index: %s" % idx)
    t = idx[trunc]
    check(t["status"] == "failed" and t["attempts"] == 3 and t["error"]["code"] == "incomplete"
          and t["output"] is None and t["cores"] == [], "index entry of the truncated: %s" % t)
    no_temporaries(out)

    # Restart: nothing is converted again, the failure is not retried.
    w2 = once(ctx, d, out, "--settle", "0", name="restart")
    check(w2.rc == 1, "--once after a failure: exit %d, expected 1\n%s" % (w2.rc, w2.show()))
    check(not w2.of("convert"), "restart converted again: %s" % w2.of("convert"))
    check(sorted(e["archive"] for e in w2.of("skip")) == sorted([slow, PODMAN_ZST, trunc]),
          "restart: skip events %s" % w2.of("skip"))


def case_restart(ctx):
    """A second run converts nothing; a touched archive is recognised by its
    hash; a changed one is converted again, replacing the old output."""
    d, out = fresh(ctx, "in", "out")
    shutil.copy(ctx.crio, d)
    shutil.copy(ctx.podman, d)
    w = once(ctx, d, out, "--settle", "0", name="first")
    check(w.rc == 0, "first run: exit %d\n%s" % (w.rc, w.show()))
    core = os.path.join(out, CRIO_TAR, "core.3")
    st0 = os.stat(core)

    w = once(ctx, d, out, "--settle", "0", name="second")
    check(w.rc == 0 and not w.of("convert"), "second run converted: exit %d\n%s" % (
        w.rc, w.show()))
    check(sorted(e["archive"] for e in w.of("skip")) == sorted([CRIO_TAR, PODMAN_ZST]),
          "second run: skip events %s" % w.of("skip"))
    st1 = os.stat(core)
    check((st1.st_ino, st1.st_mtime_ns) == (st0.st_ino, st0.st_mtime_ns), "core.3 rewritten")

    # Same bytes, new mtime: the hash says it is the same archive.
    os.utime(os.path.join(d, CRIO_TAR), (time.time() - 100, time.time() - 100))
    w = once(ctx, d, out, "--settle", "0", name="touched")
    check(w.rc == 0 and len(w.of("unchanged", CRIO_TAR)) == 1 and not w.of("converted"),
          "touched archive: exit %d\n%s" % (w.rc, w.show()))
    st2 = os.stat(core)
    check((st2.st_ino, st2.st_mtime_ns) == (st0.st_ino, st0.st_mtime_ns), "core.3 rewritten")

    # Other bytes under the same name: converted again, old output replaced.
    crio_copy = ctx.path("crio-copy.tar")
    shutil.copy(ctx.crio, crio_copy)
    shutil.copy(ctx.podman, os.path.join(d, CRIO_TAR))
    w = once(ctx, d, out, "--settle", "0", name="replaced")
    check(w.rc == 0 and len(w.of("converted", CRIO_TAR)) == 1,
          "replaced archive: exit %d\n%s" % (w.rc, w.show()))
    m = check_converted(ctx, out, CRIO_TAR, os.path.join(d, CRIO_TAR), source=ctx.podman)
    check(m["report"]["container"]["engine"] == "Podman", "old output kept: %s" % m["report"]["container"])
    no_temporaries(out)

    # A conversion killed before the rename left a temporary: removed at start.
    stale = os.path.join(out, ".tmp-%s.99999" % PODMAN_ZST)
    os.makedirs(stale)
    open(os.path.join(stale, "core.1"), "w").close()
    w = once(ctx, d, out, "--settle", "0", name="stale")
    check(w.rc == 0 and not os.path.exists(stale) and w.of("cleanup"),
          "stale temporary: exit %d, still there: %s\n%s" % (w.rc, os.path.exists(stale), w.show()))

    # Two watchers on one OUTDIR: the second refuses.
    w1 = Watcher(ctx, d, out, "--settle", "0", name="holder")
    w1.wait_event("watch")
    r = subprocess.run([ctx.bin, "watch", d, "-o", out, "--once"], capture_output=True,
                       timeout=RUN_TIMEOUT)
    check(r.returncode == 2 and b"another watcher" in r.stderr,
          "second watcher: exit %d %s" % (r.returncode, r.stderr))
    check(w1.stop() == 0, "holder: exit %s" % w1.rc)


def case_sigterm(ctx):
    """SIGTERM while a worker converts: exit 0, no output under a final name,
    no temporaries; the next run converts the archive."""
    d, out = fresh(ctx, "in", "out")
    name = "checkpoint-big_default-counter-2026-12-01T11:00:00Z.tar.bz2"
    padded_bz2(ctx.crio, os.path.join(d, name), 1000)
    w = Watcher(ctx, d, out, "--settle", "0")
    ev = w.wait_event("convert", name)
    worker = ev["worker"]
    tmp = os.path.join(os.path.realpath(out), ".tmp-%s.%d" % (name, worker))

    def writing(_):
        # The worker has files open in its temporary directory: c2c_convert() runs.
        try:
            fds = os.listdir("/proc/%d/fd" % worker)
        except FileNotFoundError:
            raise Fail("worker %d ended before it wrote anything\n%s" % (worker, w.show()))
        for fd in fds:
            try:
                if os.readlink("/proc/%d/fd/%s" % (worker, fd)).startswith(tmp + "/"):
                    return True
            except OSError:
                pass
        return False

    w.wait_for("worker writing into %s" % tmp, writing)
    check(os.path.isdir(tmp), "no temporary %s" % tmp)
    rc = w.stop(signal.SIGTERM)
    check(rc == 0, "SIGTERM: exit %d, expected 0\n%s" % (rc, w.show()))
    check(not w.of("converted"), "converted before the signal arrived:\n%s" % w.show())
    check(w.of("stopped", name), "no 'stopped' event\n%s" % w.show())
    check(not os.path.exists(os.path.join(out, name)), "output under the final name")
    no_temporaries(out)
    check(not os.path.exists("/proc/%d" % worker), "worker %d still there" % worker)
    check(name not in index_of(ctx, out), "index lists the interrupted archive")

    # SIGINT the same way, during the read that precedes conversion.
    w = Watcher(ctx, d, out, "--settle", "0", name="sigint")
    w.wait_event("convert", name)
    rc = w.stop(signal.SIGINT)
    check(rc == 0 and not os.path.exists(os.path.join(out, name)),
          "SIGINT: exit %d\n%s" % (rc, w.show()))
    no_temporaries(out)

    # SIGKILL of the watcher: its worker dies with it (PR_SET_PDEATHSIG), and
    # the next start removes the temporary it left.
    w = Watcher(ctx, d, out, "--settle", "0", name="sigkill")
    worker = w.wait_event("convert", name)["worker"]
    w.stop(signal.SIGKILL)
    end = time.monotonic() + WAIT
    while os.path.exists("/proc/%d" % worker) and \
            open("/proc/%d/stat" % worker).read().rsplit(")", 1)[1].split()[0] != "Z":
        check(time.monotonic() < end, "worker %d outlived the killed watcher" % worker)
        time.sleep(0.05)
    check(not os.path.exists(os.path.join(out, name)), "output under the final name")
    check([n for n in os.listdir(out) if n.startswith(".tmp-")], "SIGKILL left no temporary?")

    # As PID 1 of a PID namespace (as in a container), SIGTERM from outside.
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "--pid", "--fork", "true"],
                                  capture_output=True).returncode == 0:
        w = Watcher(ctx, d, out, "--settle", "0", name="pid1",
                    prefix=(unshare, "--pid", "--fork", "--kill-child"))
        cleaned = w.wait_event("cleanup")
        check(".tmp-" in cleaned["message"], "cleanup: %s" % cleaned)
        w.wait_event("convert", name)
        inner = None
        end = time.monotonic() + WAIT
        while inner is None:
            kids = open("/proc/%d/task/%d/children" % (w.p.pid, w.p.pid)).read().split()
            inner = int(kids[0]) if kids else None
            check(inner or time.monotonic() < end, "no watcher under unshare")
            time.sleep(0.02)
        os.kill(inner, signal.SIGTERM)
        rc = w.wait_exit()
        check(rc == 0 and w.of("stop") and w.of("stopped", name),
              "PID 1 watcher and SIGTERM: exit %d\n%s" % (rc, w.show()))
        check(not os.path.exists(os.path.join(out, name)), "output under the final name")
    else:
        log("unshare --pid not permitted here: PID 1 case not run")

    w = once(ctx, d, out, "--settle", "0", name="after")
    check(w.rc == 0 and len(w.of("converted", name)) == 1, "next run: exit %d\n%s" % (
        w.rc, w.show()))
    if not (unshare and os.path.exists(ctx.path("pid1.log"))):
        check(w.of("cleanup"), "the killed watcher's temporary was not removed\n%s" % w.show())
    check_converted(ctx, out, name, os.path.join(d, name), source=ctx.crio)
    no_temporaries(out)


def case_jobs(ctx):
    """--jobs 2: two conversions at a time, never more, each archive once."""
    d, out = fresh(ctx, "in", "out")
    names = ["checkpoint-j%d_default-counter-2026-12-01T12:00:0%dZ.tar.bz2" % (i, i)
             for i in range(3)]
    padded_bz2(ctx.crio, os.path.join(d, names[0]), 300)
    for n in names[1:]:
        shutil.copy(os.path.join(d, names[0]), os.path.join(d, n))
    w = once(ctx, d, out, "--settle", "0", "--jobs", "2")
    check(w.rc == 0, "--jobs 2: exit %d\n%s" % (w.rc, w.show()))
    evs = w.events()
    running, peak, order = 0, 0, []
    for e in evs:
        if e["event"] == "convert":
            running += 1
            check(e["running"] == running, "running %d, counted %d" % (e["running"], running))
            order.append("start")
        elif e["event"] in ("converted", "retry", "failed"):
            running -= 1
            order.append("end")
        peak = max(peak, running)
    check(peak == 2, "at most %d conversions ran at a time, expected 2\n%s" % (peak, w.show()))
    check(order[:2] == ["start", "start"], "the first two did not run together: %s" % order)
    for n in names:
        check(len(w.of("converted", n)) == 1, "%s converted %d times" % (
            n, len(w.of("converted", n))))
        check_converted(ctx, out, n, os.path.join(d, n), source=ctx.crio)
    pids = {e["worker"] for e in w.of("convert")}
    check(len(pids) == 3 and os.getpid() not in pids, "workers %s" % pids)


def case_keep_cores(ctx):
    """--keep-cores DAYS removes old cores, keeps manifests, converts nothing again."""
    d, out = fresh(ctx, "in", "out")
    shutil.copy(ctx.crio, d)
    shutil.copy(ctx.podman, d)
    w = once(ctx, d, out, "--settle", "0", name="convert")
    check(w.rc == 0, "conversion: exit %d\n%s" % (w.rc, w.show()))
    old = time.time() - 3 * 86400
    for c in CORES:
        os.utime(os.path.join(out, CRIO_TAR, c), (old, old))
    w = once(ctx, d, out, "--settle", "0", "--keep-cores", "2", name="keep")
    check(w.rc == 0 and not w.of("convert"), "retention run: exit %d\n%s" % (w.rc, w.show()))
    exp = w.of("expired")
    check(len(exp) == 1 and exp[0]["archive"] == CRIO_TAR and exp[0]["cores_removed"] == 3,
          "expired events: %s" % exp)
    check(os.listdir(os.path.join(out, CRIO_TAR)) == ["manifest.json"],
          "left in %s: %s" % (CRIO_TAR, os.listdir(os.path.join(out, CRIO_TAR))))
    check(sorted(os.listdir(os.path.join(out, PODMAN_ZST))) == CORES + ["manifest.json"],
          "young cores removed")
    idx = index_of(ctx, out)
    check(idx[CRIO_TAR]["cores_removed"] and idx[CRIO_TAR]["cores"] == [] and
          idx[CRIO_TAR]["status"] == "done" and not idx[PODMAN_ZST]["cores_removed"],
          "index: %s" % idx)
    w = once(ctx, d, out, "--settle", "0", name="after")
    check(w.rc == 0 and not w.of("convert"), "after retention: converted again\n%s" % w.show())
    check(index_of(ctx, out)[CRIO_TAR]["cores_removed"], "cores_removed forgotten on restart")


def case_shard(ctx):
    """--once --shard I/N (the Indexed Job of deploy/): positions I, I+N, ...
    in name order, each shard with its own OUTDIR."""
    d, = fresh(ctx, "in")
    names = ["checkpoint-s%d_default-counter-2026-12-01T13:00:0%dZ.tar" % (i, i) for i in range(3)]
    for n in names:
        shutil.copy(ctx.crio, os.path.join(d, n))
    got = {}
    for i in range(2):
        out, = fresh(ctx, "out-%d" % i)
        w = once(ctx, d, out, "--settle", "0", "--shard", "%d/2" % i, name="shard-%d" % i)
        check(w.rc == 0, "--shard %d/2: exit %d\n%s" % (i, w.rc, w.show()))
        got[i] = sorted(e["archive"] for e in w.of("converted"))
        check(sorted(index_of(ctx, out)) == got[i], "shard %d: index %s" % (i, index_of(ctx, out)))
        for n in got[i]:
            check_converted(ctx, out, n, os.path.join(d, n), source=ctx.crio)
    check(got == {0: [names[0], names[2]], 1: [names[1]]}, "shards converted %s" % got)
    for bad in ("2/2", "-1/2", "1", "a/2", "0/0"):
        r = subprocess.run([ctx.bin, "watch", d, "-o", ctx.path("o"), "--once", "--shard", bad],
                           capture_output=True, timeout=60)
        check(r.returncode == 64 and b"invalid --shard" in r.stderr, "--shard %s: exit %d %r" % (
            bad, r.returncode, r.stderr))
    r = subprocess.run([ctx.bin, "watch", d, "-o", ctx.path("o"), "--shard", "0/2"],
                       capture_output=True, timeout=60)
    check(r.returncode == 64 and b"--shard needs --once" in r.stderr, "--shard without --once")


def case_usage(ctx):
    """watch --help lists the options; bad command lines exit 64."""
    r = subprocess.run([ctx.bin, "watch", "--help"], capture_output=True, timeout=60)
    text = r.stdout.decode()
    check(r.returncode == 0, "watch --help: exit %d" % r.returncode)
    for opt in ("--output", "--once", "--jobs", "--keep-cores", "--log-format", "--settle",
                "--retries", "--retry-delay", "--root", "--file-pages", "--include-dontdump",
                "--shard"):
        check(opt in text, "watch --help does not mention %s" % opt)
    r = subprocess.run([ctx.bin, "--help"], capture_output=True, timeout=60)
    check(b"watch DIR -o OUTDIR" in r.stdout, "ckpt2core --help does not mention watch")
    # The man page's WATCH section lists exactly the options of watch --help.
    helped = set(re.findall(r"^\s+(?:-\w, )?(--[a-z-]+)", text, re.M)) - {"--help"}
    groff = shutil.which("groff")
    if groff:
        r = subprocess.run([groff, "-man", "-Tascii", "-P-cbou", "-rLL=200n", "-ww",
                            os.path.join(ctx.src, "doc", "ckpt2core.1")],
                           capture_output=True, timeout=60)
        man = r.stdout.decode()
        sec = re.search(r"^WATCH\n(.*?)^[A-Z]", man, re.M | re.S)
        check(sec, "the man page has no WATCH section")
        tags = [l for l in sec.group(1).splitlines() if re.match(r"^ {7}-", l)]
        in_man = set(re.findall(r"--[a-z][a-z-]*", "\n".join(tags)))
        check(in_man == helped, "man page WATCH options %s, watch --help %s" % (
            sorted(in_man), sorted(helped)))
    else:
        log("groff not installed: man page not compared")
    d, = fresh(ctx, "in")
    for args, what in (([d], "-o OUTDIR is required"), (["-o", ctx.path("o")], "no directory"),
                       ([d, "-o", ctx.path("o"), "--jobs", "0"], "invalid --jobs"),
                       ([d, "-o", ctx.path("o"), "--log-format", "xml"], "invalid --log-format"),
                       ([d, "-o", ctx.path("o"), "--keep-cores", "-1"], "invalid --keep-cores"),
                       ([d, "-o", ctx.path("o"), "--bogus"], "unknown option"),
                       ([d, d, "-o", ctx.path("o")], "one directory")):
        r = subprocess.run([ctx.bin, "watch"] + args, capture_output=True, timeout=60)
        check(r.returncode == 64 and what in r.stderr.decode(),
              "watch %s: exit %d, stderr %r (expected 64, %r)" % (args, r.returncode, r.stderr, what))
    r = subprocess.run([ctx.bin, "watch", ctx.path("missing"), "-o", ctx.path("o")],
                       capture_output=True, timeout=60)
    check(r.returncode == 2 and b"missing" in r.stderr, "missing DIR: exit %d %r" % (
        r.returncode, r.stderr))


CASES = {
    "once": (case_once, "--once converts the fixture archives: layout, manifests, index, hashes"),
    "events": (case_events, "slow copy, rename into place, truncated (back-off, failed once), deleted; SIGTERM; restart"),
    "restart": (case_restart, "nothing redone; touched (same hash) and replaced archives; stale temporaries; one watcher per OUTDIR"),
    "sigterm": (case_sigterm, "SIGTERM/SIGINT mid-conversion: exit 0, nothing under a final name; next run converts"),
    "jobs": (case_jobs, "--jobs 2: two at a time, never more"),
    "keep-cores": (case_keep_cores, "--keep-cores removes old cores, keeps manifests"),
    "shard": (case_shard, "--once --shard I/N: the Indexed Job's split of a directory"),
    "usage": (case_usage, "watch --help and usage errors"),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("--ckpt2core", required=True)
    ap.add_argument("--fixtures", required=True, help="the unpacked fixtures (counter-archives/)")
    ap.add_argument("--work", required=True, help="scratch directory (emptied first, removed on success)")
    ap.add_argument("--source-dir", default=os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", ".."))
    ap.add_argument("--keep", action="store_true", help="keep the work dir on success")
    a = ap.parse_args()
    work = os.path.abspath(a.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    try:
        ctx = Ctx(a)
        CASES[a.case][0](ctx)
    except Fail as e:
        log("FAIL: %s: %s" % (a.case, e))
        log("work dir kept: %s" % work)
        return EXIT_FAIL
    log("PASS: %s" % a.case)
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
