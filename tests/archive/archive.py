#!/usr/bin/env python3
"""Container checkpoint archives, batch, inspect and progress (stdlib only).

Issues #4 and #7: ckpt2core converts CRI-O/kubelet and Podman checkpoint
archives (plain tar or compressed, a file or standard input, or extracted) in
one pass, several of them in parallel, and describes them with `inspect`.

  archive.py CASE --ckpt2core BIN --fixtures DIR --work DIR
             [--source-dir DIR] [--schema FILE] [--wrapper CMD]

DIR (--fixtures) holds the unpacked e2e fixtures: counter/ (the CRIU images of
the `counter` process tree), counter-archives/ (fixtures/counter-archives.tar.xz:
archives/ with the CRI-O .tar and the Podman .tar.zst of the same checkpoint,
and rootfs-diff/) and sleep/.

Cases (see CASES at the end for one line each):
  crio-tar podman-zst stdin extracted-dir compressions decompress-once batch
  inspect-tree inspect-json progress rootfs-diff validator

Exit status: 0 pass, 1 fail, 2 usage error, 77 skip (strace is not installed
for decompress-once; doc/report.schema.json does not exist yet for batch and
inspect-json, which then run every other check first). Nothing else is a skip.
"""

import argparse
import bz2
import filecmp
import gzip
import io
import json
import lzma
import os
import pty
import re
import select
import shlex
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tarfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import corecmp  # noqa: E402

EXIT_FAIL = 1
EXIT_SKIP = 77

RUN_TIMEOUT = 300
PAGE = 4096

CRIO_TAR = "checkpoint-counters_default-counter-2026-11-28T21:47:15Z.tar"
PODMAN_ZST = "counter-podman.tar.zst"

# What the counter checkpoint holds (fixtures/PROVENANCE.md).
COUNTER_PROCS = {
    1: (0, "bash", "bash -c /usr/bin/python3 /home/counter/counter.py 8088 2>&1 | tee /home/counter/logfile"),
    3: (1, "python3", "/usr/bin/python3 /home/counter/counter.py 8088"),
    4: (1, "tee", "tee /home/counter/logfile"),
}
COUNTER_NAME = "counter"
COUNTER_IMAGE = "registry.example/counter:blog"


class Fail(Exception):
    """The check failed; the message says why."""


class Skip(Exception):
    """Something the check needs does not exist (yet)."""


def log(msg=""):
    print(msg, flush=True)


# ------------------------------------------------------------------ context


class Ctx:
    def __init__(self, a):
        self.bin = os.path.abspath(a.ckpt2core)
        self.fix = os.path.abspath(a.fixtures)
        self.work = os.path.abspath(a.work)
        self.src = os.path.abspath(a.source_dir)
        self.schema = a.schema or os.path.join(self.src, "doc", "report.schema.json")
        self.wrapper = shlex.split(a.wrapper or "")
        self.images = os.path.join(self.fix, "counter", "images")
        arch = os.path.join(self.fix, "counter-archives", "archives")
        self.crio = os.path.join(arch, CRIO_TAR)
        self.podman = os.path.join(arch, PODMAN_ZST)
        for p in (self.bin, self.images, self.crio, self.podman):
            if not os.path.exists(p):
                raise Fail("%s does not exist (fixtures not unpacked?)" % p)
        self._ref = None
        # Checks whose verdict waits for the schema: run last, skip if absent.
        self.pending_schema = []

    def path(self, *parts):
        return os.path.join(self.work, *parts)

    def ref(self):
        """Cores of counter/images converted directly: what every archive
        form of the same checkpoint must give, byte for byte."""
        if self._ref is None:
            self._ref = self.path("ref")
            r = run(self, [self.images, "-o", self._ref])
            expect_rc(r, 0, "reference conversion of %s" % self.images)
            cores = sorted(os.listdir(self._ref))
            if cores != ["core.1", "core.3", "core.4"]:
                raise Fail("reference conversion wrote %s, expected core.1 core.3 core.4" % cores)
        return self._ref


class Result:
    def __init__(self, cmd, rc, out, err):
        self.cmd, self.rc, self.out, self.err = cmd, rc, out, err

    def show(self):
        return "$ %s\nexit %d\n--- stdout\n%s--- stderr\n%s" % (
            " ".join(shlex.quote(c) for c in self.cmd), self.rc,
            self.out.decode(errors="replace"), self.err.decode(errors="replace"))


def run(ctx, args, stdin_data=None, stdin_file=None, wrap=True, cwd=None, env=None):
    """Run the converter with ARGS; returns a Result (stdout/stderr bytes)."""
    cmd = (ctx.wrapper if wrap else []) + [ctx.bin] + args
    log("run: %s%s" % (" ".join(shlex.quote(c) for c in cmd),
                       " < %s" % stdin_file if stdin_file else ""))
    stdin = subprocess.DEVNULL
    fin = None
    if stdin_file:
        fin = stdin = open(stdin_file, "rb")
    elif stdin_data is not None:
        stdin = subprocess.PIPE
    try:
        r = subprocess.run(cmd, input=stdin_data, stdin=None if stdin_data is not None else stdin,
                           capture_output=True, timeout=RUN_TIMEOUT, cwd=cwd or ctx.work, env=env)
    except subprocess.TimeoutExpired:
        raise Fail("%s did not finish within %d s" % (cmd, RUN_TIMEOUT))
    finally:
        if fin:
            fin.close()
    res = Result(cmd, r.returncode, r.stdout, r.stderr)
    with open(ctx.path("commands.log"), "a") as f:
        f.write(res.show() + "\n")
    return res


def expect_rc(r, want, what):
    if r.rc != want:
        raise Fail("%s: exit status %d, expected %d\n%s" % (what, r.rc, want, r.show()))


def fresh_work(path):
    """An empty work dir. Only a directory this harness made (it holds
    .archive-work) or an empty one is removed."""
    mark = os.path.join(path, ".archive-work")
    if os.path.exists(path):
        if os.listdir(path) and not os.path.exists(mark):
            raise Fail("refusing to empty %s: not a work dir made by archive.py" % path)
        remove_work(path, keep_dir=True)
    else:
        os.makedirs(path)
    open(mark, "w").close()


def remove_work(path, keep_dir=False):
    """Empty a work dir, its mark last, so that an interrupted removal still
    leaves a dir the next run recognises."""
    make_writable(path)
    for n in os.listdir(path):
        if n != ".archive-work":
            p = os.path.join(path, n)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            else:
                os.unlink(p)
    if not keep_dir:
        shutil.rmtree(path, ignore_errors=True)


def make_writable(root):
    for d, dirs, files in os.walk(root):
        for n in [d] + [os.path.join(d, x) for x in dirs + files]:
            if not os.path.islink(n):
                os.chmod(n, os.stat(n).st_mode | 0o700 if os.path.isdir(n) else os.stat(n).st_mode | 0o200)


def same_cores(ref, out, what):
    """OUT holds exactly REF's core files, each byte-identical or, where its
    pages came before their mm and pagemap (verbatim layout, corecmp.py),
    the same to a debugger: notes and memory image."""
    want = sorted(os.listdir(ref))
    got = sorted(n for n in os.listdir(out))
    if got != want:
        raise Fail("%s: %s holds %s, expected %s" % (what, out, got, want))
    kinds = []
    for n in want:
        a, b = os.path.join(ref, n), os.path.join(out, n)
        why = corecmp.layout_free_difference(a, b)
        if why:
            raise Fail("%s: %s differs from %s (direct conversion of the images): %s"
                       % (what, b, a, why))
        kinds.append("%s %s" % (n, "byte-identical" if filecmp.cmp(a, b, shallow=False)
                                else "same notes and memory"))
        mode = stat.S_IMODE(os.stat(b).st_mode)
        if mode != 0o600:
            raise Fail("%s: %s has mode %o, expected 600" % (what, b, mode))
    log("ok: %s: %s, as the direct conversion" % (what, ", ".join(kinds)))


def convert_and_compare(ctx, name, args, **kw):
    out = ctx.path(name)
    r = run(ctx, args + ["-o", out], **kw)
    expect_rc(r, 0, name)
    same_cores(ctx.ref(), out, name)
    return r


# ----------------------------------------------------------- JSON Schema


class SchemaError(Exception):
    pass


# Keywords that only annotate. Anything else the validator does not know
# makes it fail loudly, so that the schema cannot outgrow it unnoticed.
_ANNOTATIONS = {"$schema", "$id", "$comment", "title", "description", "default",
                "examples", "format", "readOnly", "writeOnly", "deprecated", "$defs",
                "definitions"}


def _type_ok(t, v):
    if t == "null":
        return v is None
    if t == "boolean":
        return isinstance(v, bool)
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool) or (isinstance(v, float) and v.is_integer())
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t == "string":
        return isinstance(v, str)
    if t == "array":
        return isinstance(v, list)
    if t == "object":
        return isinstance(v, dict)
    raise SchemaError("unknown type %r in schema" % t)


def _resolve(root, ref):
    if not ref.startswith("#"):
        raise SchemaError("only local $ref are supported, not %r" % ref)
    node = root
    for part in ref[1:].split("/")[1:] if ref != "#" else []:
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            raise SchemaError("$ref %r does not resolve" % ref)
        node = node[part]
    return node


def validate(schema, doc, root=None, where="$"):
    """Errors of DOC against SCHEMA (list of strings; empty = valid).

    The subset of JSON Schema (2020-12 / draft 7) a report schema needs:
    type (also as a list: null unions), properties, required,
    additionalProperties, items, $ref (#/$defs/.., #/definitions/..), enum,
    const, anyOf/oneOf/allOf, minimum/maximum, minLength, minItems/maxItems,
    maxLength, pattern. An unsupported keyword raises SchemaError."""
    root = schema if root is None else root
    if schema is True:
        return []
    if schema is False:
        return ["%s: not allowed (schema false)" % where]
    if not isinstance(schema, dict):
        raise SchemaError("%s: schema node is %r, not an object" % (where, schema))
    errs = []
    for k in schema:
        if k not in _ANNOTATIONS and k not in _KEYWORDS:
            raise SchemaError("%s: keyword %r is not supported by this validator" % (where, k))
    if "$ref" in schema:
        errs += validate(_resolve(root, schema["$ref"]), doc, root, where)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_type_ok(t, doc) for t in types):
            return errs + ["%s: %s is not of type %s" % (where, _short(doc), "/".join(types))]
    if "enum" in schema and doc not in schema["enum"]:
        errs.append("%s: %s is not one of %s" % (where, _short(doc), schema["enum"]))
    if "const" in schema and doc != schema["const"]:
        errs.append("%s: %s is not %s" % (where, _short(doc), _short(schema["const"])))
    for k, combine in (("anyOf", any), ("oneOf", None), ("allOf", all)):
        if k not in schema:
            continue
        results = [validate(s, doc, root, where) for s in schema[k]]
        oks = sum(1 for e in results if not e)
        if k == "anyOf" and oks == 0 or k == "oneOf" and oks != 1:
            errs.append("%s: %d of the %s alternatives match: %s" % (
                where, oks, k, "; ".join(e[0] for e in results if e)))
        if k == "allOf":
            for e in results:
                errs += e
    if isinstance(doc, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in doc:
                errs.append("%s: required property %r is missing" % (where, name))
        for name, v in doc.items():
            if name in props:
                errs += validate(props[name], v, root, "%s.%s" % (where, name))
            elif "additionalProperties" in schema:
                errs += validate(schema["additionalProperties"], v, root, "%s.%s" % (where, name))
    if isinstance(doc, list):
        if "items" in schema:
            for i, v in enumerate(doc):
                errs += validate(schema["items"], v, root, "%s[%d]" % (where, i))
        if "minItems" in schema and len(doc) < schema["minItems"]:
            errs.append("%s: %d items, at least %d expected" % (where, len(doc), schema["minItems"]))
        if "maxItems" in schema and len(doc) > schema["maxItems"]:
            errs.append("%s: %d items, at most %d expected" % (where, len(doc), schema["maxItems"]))
    if isinstance(doc, (int, float)) and not isinstance(doc, bool):
        if "minimum" in schema and doc < schema["minimum"]:
            errs.append("%s: %s < minimum %s" % (where, doc, schema["minimum"]))
        if "maximum" in schema and doc > schema["maximum"]:
            errs.append("%s: %s > maximum %s" % (where, doc, schema["maximum"]))
    if isinstance(doc, str):
        if "minLength" in schema and len(doc) < schema["minLength"]:
            errs.append("%s: string shorter than %d" % (where, schema["minLength"]))
        if "maxLength" in schema and len(doc) > schema["maxLength"]:
            errs.append("%s: string longer than %d characters" % (where, schema["maxLength"]))
        if "pattern" in schema and not re.search(schema["pattern"], doc):
            errs.append("%s: %r does not match %r" % (where, doc, schema["pattern"]))
    return errs


_KEYWORDS = {"$ref", "type", "enum", "const", "anyOf", "oneOf", "allOf", "properties",
             "required", "additionalProperties", "items", "minItems", "maxItems",
             "minimum", "maximum", "minLength", "maxLength", "pattern"}


def unsupported_keywords(node, where="#"):
    """Keywords anywhere in a schema that validate() does not implement."""
    bad = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k not in _ANNOTATIONS and k not in _KEYWORDS:
                bad.append("%s/%s" % (where, k))
            if k in ("properties", "$defs", "definitions"):
                for n, sub in v.items():
                    bad += unsupported_keywords(sub, "%s/%s/%s" % (where, k, n))
            elif k in ("items", "additionalProperties"):
                bad += unsupported_keywords(v, "%s/%s" % (where, k))
            elif k in ("anyOf", "oneOf", "allOf"):
                for i, sub in enumerate(v):
                    bad += unsupported_keywords(sub, "%s/%s/%d" % (where, k, i))
    return bad


def _short(v):
    s = json.dumps(v)
    return s if len(s) < 80 else s[:77] + "..."


def load_schema(ctx):
    if not os.path.exists(ctx.schema):
        return None
    try:
        with open(ctx.schema) as f:
            return json.load(f)
    except ValueError as e:
        raise Fail("%s: not valid JSON: %s" % (ctx.schema, e))


def check_schema(ctx, doc, what, definition):
    """Validate DOC against doc/report.schema.json's $defs/DEFINITION
    ("manifest" or "inspect_output", as the schema's description says), or
    remember that the schema is missing: the case then ends with a skip
    after its other checks."""
    schema = load_schema(ctx)
    if schema is None:
        ctx.pending_schema.append(what)
        log("note: %s: %s does not exist yet, schema check pending" % (what, ctx.schema))
        return
    defs = schema.get("$defs", {})
    if definition not in defs:
        raise Fail("%s has no $defs/%s to validate %s against" % (ctx.schema, definition, what))
    bad = unsupported_keywords(schema)
    if bad:
        raise Fail("%s uses keywords this validator does not implement: %s" % (ctx.schema, bad))
    try:
        errs = validate({"$ref": "#/$defs/" + definition}, doc, schema)
    except SchemaError as e:
        raise Fail("%s: cannot validate against %s: %s" % (what, ctx.schema, e))
    if errs:
        raise Fail("%s does not validate against %s $defs/%s:\n  %s" % (
            what, ctx.schema, definition, "\n  ".join(errs[:40])))
    log("ok: %s validates against %s $defs/%s" % (what, os.path.relpath(ctx.schema, ctx.src), definition))


# ---------------------------------------------------------------- helpers


def rewrite_tar(src, dst, edit=None, fmt=tarfile.GNU_FORMAT):
    """Copy tar SRC to DST member by member; EDIT(member, data) returns new
    data (bytes) or None to keep it."""
    with tarfile.open(src) as ti, tarfile.open(dst, "w", format=fmt) as to:
        for m in ti.getmembers():
            data = ti.extractfile(m).read() if m.isfile() else None
            if edit and data is not None:
                new = edit(m, data)
                if new is not None:
                    data = new
                    m.size = len(data)
            to.addfile(m, io.BytesIO(data) if data is not None else None)


def extract_tar(src, dest):
    """Extract a tar we made or ship (names were listed first)."""
    with tarfile.open(src) as t:
        for m in t.getmembers():
            if m.name.startswith("/") or ".." in m.name.split("/") or not (m.isfile() or m.isdir()):
                raise Fail("%s: unexpected member %r" % (src, m.name))
        if hasattr(tarfile, "fully_trusted_filter"):
            t.extractall(dest, filter="fully_trusted")
        else:
            t.extractall(dest)


# ------------------------------------------------------------------- ELF


def elf_loads(path):
    """[(vaddr, memsz, offset, filesz)] of the PT_LOADs of an ELF64 LE core."""
    with open(path, "rb") as f:
        eh = f.read(64)
        if eh[:4] != b"\x7fELF" or eh[4] != 2 or eh[5] != 1:
            raise Fail("%s: not an ELF64 little-endian file" % path)
        e_phoff, = struct.unpack_from("<Q", eh, 32)
        e_shoff, = struct.unpack_from("<Q", eh, 40)
        e_phentsize, e_phnum = struct.unpack_from("<HH", eh, 54)
        if e_phnum == 0xFFFF:  # PN_XNUM: the count is in section header 0's sh_info
            f.seek(e_shoff + 44)
            e_phnum, = struct.unpack("<I", f.read(4))
        f.seek(e_phoff)
        table = f.read(e_phnum * e_phentsize)
    loads = []
    for i in range(e_phnum):
        p_type, _flags, off, vaddr, _pa, filesz, memsz, _al = struct.unpack_from("<IIQQQQQQ", table, i * e_phentsize)
        if p_type == 1:
            loads.append((vaddr, memsz, off, filesz))
    return loads


def core_read(path, loads, vaddr, n):
    """N bytes at VADDR as the core holds them, or None if the core holds
    no bytes there (outside every PT_LOAD or past its p_filesz)."""
    for v, memsz, off, filesz in loads:
        if v <= vaddr and vaddr + n <= v + memsz:
            if vaddr + n > v + filesz:
                return None
            with open(path, "rb") as f:
                f.seek(off + vaddr - v)
                return f.read(n)
    return None


# ------------------------------------------------------------------ cases


def case_crio_tar(ctx):
    convert_and_compare(ctx, "out", [ctx.crio])


def case_podman_zst(ctx):
    convert_and_compare(ctx, "out", [ctx.podman])


GDB_GENERIC = ["set pagination off", "set width 0", "set height 0", "set confirm off",
               "info threads", "thread apply all bt", "thread apply all info all-registers",
               "info auxv", "info sharedlibrary", "info proc mappings"]


def clients_view(ctx, core, exe, extra):
    """What gdb (the oracle's commands), eu-stack and lldb print for CORE,
    with the core's own path taken out."""
    outs = {}
    args = ["gdb", "-nx", "-q", "-batch"]
    for c in GDB_GENERIC:
        args += ["-ex", c]
    if os.path.exists(extra):
        args += ["-x", extra]
    cmds = {"gdb": args + [exe, core],
            "eu-stack": ["eu-stack", "--core", core, "--executable", exe]}
    if shutil.which("lldb"):
        cmds["lldb"] = ["lldb", "--batch", "-o", "target create --core %s %s" % (core, exe),
                        "-o", "thread list", "-o", "bt all"]
    for name, argv in cmds.items():
        if not shutil.which(argv[0]):
            continue
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=RUN_TIMEOUT)
        outs[name] = p.stdout.decode(errors="replace").replace(core, "CORE")
    return outs


def case_verbatim_clients(ctx):
    """Issue #15: the Podman archive lists each pages image before its mm and
    pagemap, so its cores are laid out around those pages (verbatim). gdb
    with the oracle's commands, eu-stack and lldb must print for them exactly
    what they print for the cores of the same images read from a directory."""
    out = ctx.path("out")
    r = run(ctx, [ctx.podman, "-o", out])
    expect_rc(r, 0, "podman archive")
    ref = ctx.ref()
    exes = {}
    with open(os.path.join(ctx.fix, "counter", "exe.txt")) as f:
        for line in f:
            pid, exe = line.split()
            exes["core." + pid] = exe if exe.startswith("/") else os.path.join(
                ctx.fix, "counter", exe)
    extra = os.path.join(ctx.fix, "counter", "oracle", "extra.cmd")
    checked = []
    for n in sorted(os.listdir(ref)):
        a, b = os.path.join(ref, n), os.path.join(out, n)
        # verbatim: the pages image starts at 64 KiB (C2C_LAYOUT_VERBATIM_START)
        if filecmp.cmp(a, b, shallow=False) or 0x10000 not in corecmp.load_offsets(b):
            raise Fail("%s: expected the verbatim layout (pages first in the archive), got "
                       "the directory's layout" % n)
        va, vb = clients_view(ctx, a, exes[n], extra), clients_view(ctx, b, exes[n], extra)
        for tool in sorted(va):
            if va[tool] != vb[tool]:
                raise Fail("%s: %s prints differently for the verbatim core:\n%s\n--- vs "
                           "directory ---\n%s" % (n, tool, vb[tool][-3000:], va[tool][-3000:]))
            if len(va[tool].splitlines()) < 5:
                raise Fail("%s: %s printed almost nothing:\n%s" % (n, tool, va[tool]))
            checked.append("%s %s (%d lines)" % (n, tool, len(va[tool].splitlines())))
    log("ok: same output: " + ", ".join(checked))


def case_stdin(ctx):
    # A pipe, not a file redirect: a redirected file would be seekable.
    with open(ctx.podman, "rb") as f:
        data = f.read()
    convert_and_compare(ctx, "out-zst", ["-"], stdin_data=data)
    with open(ctx.crio, "rb") as f:
        data = f.read()
    convert_and_compare(ctx, "out-tar", ["-"], stdin_data=data)


def case_extracted_dir(ctx):
    x = ctx.path("extracted")
    os.makedirs(x)
    extract_tar(ctx.crio, x)
    # CRI-O stores checkpoint/ as drw-------: without x nobody but root could
    # enter it. A user who extracts the archive has to do the same.
    for d, dirs, _files in os.walk(x):
        for n in dirs:
            p = os.path.join(d, n)
            os.chmod(p, os.stat(p).st_mode | 0o700)
    if not os.path.isdir(os.path.join(x, "checkpoint")) or not os.path.exists(os.path.join(x, "config.dump")):
        raise Fail("extracted CRI-O archive has no checkpoint/ or config.dump")
    convert_and_compare(ctx, "out", [x])
    # With a trailing slash and through a relative path too.
    convert_and_compare(ctx, "out-rel", ["extracted/"])


def case_compressions(ctx):
    """Compression is detected by content, never by file name."""
    with open(ctx.crio, "rb") as f:
        tar = f.read()
    variants = {
        "c.tar.gz": gzip.compress(tar, 6, mtime=0),
        "c.tar.xz": lzma.compress(tar, preset=1),
        "c.tar.bz2": bz2.compress(tar, 9),
        "plain-tar-named.tar.gz": tar,     # a plain tar with a misleading name
        "podman-named.tar.gz": None,       # Podman's zstd export, named .tar.gz
        "no-extension": None,              # zstd without any hint
    }
    for name, data in variants.items():
        p = ctx.path(name)
        if data is None:
            shutil.copyfile(ctx.podman, p)
        else:
            with open(p, "wb") as f:
                f.write(data)
        convert_and_compare(ctx, "out-" + name, [p])

    # Entry names like ./checkpoint/... (tar run in the directory), pax headers.
    p = ctx.path("dot-pax.tar")
    with tarfile.open(ctx.crio) as ti, tarfile.open(p, "w", format=tarfile.PAX_FORMAT) as to:
        for m in ti.getmembers():
            data = ti.extractfile(m).read() if m.isfile() else None
            m.name = "./" + m.name
            to.addfile(m, io.BytesIO(data) if data is not None else None)
    convert_and_compare(ctx, "out-dot-pax", [p])

    # A compressed archive cut in half: one error naming it, nothing left behind.
    p = ctx.path("half.tar.zst")
    with open(ctx.podman, "rb") as f:
        data = f.read()
    with open(p, "wb") as f:
        f.write(data[:len(data) // 2])
    out = ctx.path("out-half")
    r = run(ctx, [p, "-o", out])
    expect_rc(r, 2, "truncated .tar.zst")
    err = r.err.decode(errors="replace")
    if "'%s" % p not in err or len(err.strip().splitlines()) != 1:
        raise Fail("truncated .tar.zst: expected one error naming %s, got:\n%s" % (p, err))
    if os.path.exists(out) and os.listdir(out):
        raise Fail("truncated .tar.zst: %s holds %s" % (out, os.listdir(out)))
    log("ok: truncated archive: %s" % err.strip())


# --- placement (issue #6)

_PLACED = re.compile(r"(core\.\d+): (\d+) bytes of pages already in place")


def reorder_tar(src, dst, key):
    """Write the members of tar SRC to a gzip tar DST in the order KEY gives."""
    with tarfile.open(src) as ti:
        members = [(m, ti.extractfile(m).read() if m.isfile() else None) for m in ti.getmembers()]
    members.sort(key=lambda md: key(md[0].name))
    with tarfile.open(dst, "w:gz", format=tarfile.GNU_FORMAT) as to:
        for m, data in members:
            to.addfile(m, io.BytesIO(data) if data is not None else None)


def placed_cores(r):
    return {m.group(1): int(m.group(2)) for m in _PLACED.finditer(r.err.decode(errors="replace"))}


def case_placement(ctx):
    """Page data of a compressed archive goes straight into the cores, in
    any member order: placed while read when mm and pagemap came first,
    moved right after they come otherwise. Cores stay byte-identical."""
    ref = ctx.ref()
    pages = {"core.1": 286720, "core.3": 9076736, "core.4": 126976}  # pages-N.img sizes
    orders = {
        "sorted": lambda n: (0, n),                 # mm, pagemap before pages
        "reversed": lambda n: (0, tuple(-ord(c) for c in n)),  # pages first
        "engine": None,                             # CRI-O's own (readdir) order
    }
    for name, key in orders.items():
        p = ctx.path("%s.tar.gz" % name)
        reorder_tar(ctx.crio, p, key or (lambda n: 0))  # stable: original order
        out = ctx.path("out-" + name)
        r = run(ctx, [p, "-o", out, "-v", "-v"])
        expect_rc(r, 0, "%s order" % name)
        same_cores(ref, out, "%s order" % name)
        got = placed_cores(r)
        if got != pages:
            raise Fail("%s order: placed %s, expected every process's pages in place %s\n%s"
                       % (name, got, pages, r.show()))
        log("ok: %s order: %s" % (name, ", ".join("%s %d B" % kv for kv in sorted(got.items()))))

    # -p: only the selected process is placed; the others are not converted.
    out = ctx.path("out-p3")
    r = run(ctx, [ctx.path("sorted.tar.gz"), "-o", out, "-p", "3", "-v", "-v"])
    expect_rc(r, 0, "-p 3")
    if sorted(os.listdir(out)) != ["core.3"] or not filecmp.cmp(
            os.path.join(out, "core.3"), os.path.join(ref, "core.3"), shallow=False):
        raise Fail("-p 3: expected core.3 identical to the direct conversion, got %s"
                   % sorted(os.listdir(out)))
    if placed_cores(r) != {"core.3": pages["core.3"]}:
        raise Fail("-p 3: placed %s\n%s" % (placed_cores(r), r.show()))

    # A pages image shorter than its pagemap says: the loader's error, nothing left.
    def cut(m, data):
        return data[:len(data) // 2] if m.name.endswith("pages-2.img") else None
    for name, key in (("short-sorted", orders["sorted"]), ("short-reversed", orders["reversed"])):
        plain = ctx.path(name + ".tar")
        rewrite_tar(ctx.crio, plain, cut)
        p = ctx.path(name + ".tar.gz")
        reorder_tar(plain, p, key)
        out = ctx.path("out-" + name)
        r = run(ctx, [p, "-o", out])
        expect_rc(r, 2, name)
        err = r.err.decode(errors="replace")
        if "pages-2.img" not in err or "checkpoint/pagemap-3.img" not in err:
            raise Fail("%s: expected an error naming pagemap-3.img and pages-2.img:\n%s" % (name, err))
        if os.path.exists(out) and os.listdir(out):
            raise Fail("%s: %s holds %s after the failure" % (name, out, os.listdir(out)))
        log("ok: %s: %s" % (name, err.strip()))


# --- decompress-once

_STRACE_SYSCALLS = ("openat,open,creat,read,readv,pread64,preadv,preadv2,lseek,mmap,"
                    "copy_file_range,sendfile,splice")
_LINE = re.compile(r"^(?:\[pid\s+)?(\d+)\]?\s+(\w+)\((.*)\)\s+=\s+(-?\d+|0x[0-9a-f]+)(?:<(.*?)>)?")
_FDARG = re.compile(r"^(-?\d+)<(.*?)>")


def strace_run(ctx, args, log_path, stdin_data=None):
    strace = shutil.which("strace")
    if not strace:
        raise Skip("strace is not installed (tools/deps.sh test should install it)")
    env = dict(os.environ)
    env.pop("TMPDIR", None)  # spool files go to OUTDIR, never to /tmp by default
    # LeakSanitizer cannot run under ptrace; the sanitizer build's leak checks
    # happen in every other test.
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":")
    cmd = [strace, "-f", "-y", "-qq", "-s", "0", "-e", "trace=" + _STRACE_SYSCALLS, "-o", log_path, ctx.bin] + args
    log("run: %s" % " ".join(shlex.quote(c) for c in cmd))
    r = subprocess.run(cmd, input=stdin_data, stdin=None if stdin_data is not None else subprocess.DEVNULL,
                       capture_output=True, timeout=RUN_TIMEOUT, cwd=ctx.work, env=env)
    res = Result(cmd, r.returncode, r.stdout, r.stderr)
    with open(ctx.path("commands.log"), "a") as f:
        f.write(res.show() + "\n")
    if b"PTRACE_TRACEME" in r.stderr or b"ptrace(PTRACE_SEIZE" in r.stderr:
        raise Fail("strace cannot trace here (ptrace not permitted):\n%s" % res.show())
    calls = []
    pending = {}  # pid -> first half of a call another thread interrupted
    with open(log_path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            m = re.match(r"^(\d+)\s+(.*) <unfinished \.\.\.>$", line)
            if m:
                pending[m.group(1)] = m.group(2)
                continue
            m = re.match(r"^(\d+)\s+<\.\.\. \w+ resumed>(.*)$", line)
            if m and m.group(1) in pending:
                line = "%s %s%s" % (m.group(1), pending.pop(m.group(1)), m.group(2))
            m = _LINE.match(line)
            if m:
                calls.append((m.group(2), m.group(3), int(m.group(4), 0), m.group(5)))
    return res, calls


def io_census(calls, target):
    """What the process did with file TARGET (a path) or, with TARGET None,
    with its standard input."""
    c = dict(opens=0, read=0, positional=[], mmaps=0, seeks=[])
    for name, args, ret, retpath in calls:
        if name in ("openat", "open", "creat"):
            if target and retpath == target and ret >= 0:
                c["opens"] += 1
            continue
        if name == "mmap":  # mmap(addr, len, prot, flags, FD, off): fd is the 5th argument
            if target and "<%s>" % target in args:
                c["mmaps"] += 1
            continue
        fd = _FDARG.match(args)
        if not fd:
            continue
        fdnum, path = int(fd.group(1)), fd.group(2)
        mine = (path == target) if target else (fdnum == 0 or path.startswith("pipe:"))
        if name in ("copy_file_range", "sendfile", "splice"):
            if mine and ret > 0:
                c["positional"].append((name, ret))
            continue
        if not mine:
            continue
        if name in ("read", "readv") and ret > 0:
            c["read"] += ret
        elif name in ("pread64", "preadv", "preadv2") and ret > 0:
            c["positional"].append((name, ret))
        elif name == "lseek" and "SEEK_DATA" not in args and "SEEK_HOLE" not in args:
            # SEEK_DATA/SEEK_HOLE only probe for holes before a positional
            # copy of page data (never a re-read of the stream); other seeks
            # move the reading position.
            c["seeks"].append((args, ret))
    return c


def created_outside(calls, outdir):
    """Files the process created (O_CREAT/O_TMPFILE) outside OUTDIR."""
    bad = []
    n = 0
    for name, args, ret, retpath in calls:
        if name in ("openat", "open", "creat") and ret >= 0 and (
                name == "creat" or "O_CREAT" in args or "O_TMPFILE" in args):
            n += 1
            if not retpath or not (retpath + "/").startswith(outdir.rstrip("/") + "/"):
                bad.append("%s(%s) = %d<%s>" % (name, args, ret, retpath))
    log("%d files created (cores and spool files), %d outside OUTDIR" % (n, len(bad)))
    return bad


def case_decompress_once(ctx):
    # 1. Standard input through a pipe written by this process, which counts
    #    the bytes: a pipe cannot be rewound, so one successful conversion
    #    proves one pass over the compressed stream.
    size = os.path.getsize(ctx.podman)
    out = ctx.path("out-pipe")
    cmd = ctx.wrapper + [ctx.bin, "-", "-o", out]
    log("run: %s  (stdin: a pipe fed %s)" % (" ".join(shlex.quote(c) for c in cmd), ctx.podman))
    with open(ctx.path("pipe.stdout"), "w+b") as fo, open(ctx.path("pipe.stderr"), "w+b") as fe:
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=fo, stderr=fe, cwd=ctx.work)
        written = 0
        try:
            with open(ctx.podman, "rb") as f:
                while True:
                    chunk = f.read(65536)
                    if not chunk:
                        break
                    p.stdin.write(chunk)
                    written += len(chunk)
            p.stdin.close()
        except BrokenPipeError:
            pass
        try:
            p.wait(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            raise Fail("conversion from a pipe did not finish within %d s" % RUN_TIMEOUT)
        fo.seek(0)
        fe.seek(0)
        res = Result(cmd, p.returncode, fo.read(), fe.read())
    expect_rc(res, 0, "conversion from a pipe")
    same_cores(ctx.ref(), out, "pipe")
    log("ok: the converter took %d of %d bytes from the pipe and converted in one pass" % (written, size))

    # 2. strace: each archive file is opened once; a compressed one is read
    #    sequentially, each byte at most once, never by offset or mmap, and
    #    spool files are created only in OUTDIR.
    gz = ctx.path("crio.tar.gz")
    with open(ctx.crio, "rb") as f, open(gz, "wb") as g:
        g.write(gzip.compress(f.read(), 6, mtime=0))
    for arc, compressed in ((ctx.podman, True), (gz, True), (ctx.crio, False)):
        name = os.path.basename(arc)
        out = ctx.path("out-strace-" + name)
        res, calls = strace_run(ctx, [arc, "-o", out], ctx.path("strace-%s.log" % name))
        expect_rc(res, 0, "conversion of %s under strace" % name)
        same_cores(ctx.ref(), out, name + " (strace)")
        real = os.path.realpath(arc)
        c = io_census(calls, real)
        size = os.path.getsize(arc)
        log("%s: opened %d time(s), %d of %d bytes read sequentially, %d positional reads, %d mmaps" % (
            name, c["opens"], c["read"], size, len(c["positional"]), c["mmaps"]))
        if c["opens"] != 1:
            raise Fail("%s was opened %d times, expected once (see %s)" % (name, c["opens"], ctx.path("strace-%s.log" % name)))
        if c["read"] > size:
            raise Fail("%s: %d bytes read sequentially, more than its %d bytes: read more than once" % (name, c["read"], size))
        # The stream only moves forward: every lseek lands at or after the
        # position of the one before (a plain tar skips page data this way).
        pos = [ret for _args, ret in c["seeks"]]
        if any(b < a for a, b in zip(pos, pos[1:])):
            raise Fail("%s was rewound: lseek results %s" % (name, pos))
        if compressed and c["read"] < size * 9 // 10:
            raise Fail("%s: only %d of %d bytes read" % (name, c["read"], size))
        if compressed:
            if c["positional"] or c["mmaps"]:
                raise Fail("%s is compressed but was read by offset or mapped: %s, %d mmaps" % (
                    name, c["positional"][:5], c["mmaps"]))
            back = [s for s in c["seeks"] if "SEEK_SET" in s[0] or "SEEK_END" in s[0]]
            if back:
                raise Fail("%s is compressed but was repositioned: %s" % (name, back[:5]))
        bad = created_outside(calls, os.path.realpath(out))
        if bad:
            raise Fail("%s: files created outside OUTDIR %s:\n  %s" % (name, out, "\n  ".join(bad[:10])))
        log("ok: %s opened once, read once%s; every file created is in OUTDIR" % (
            name, "" if compressed else " (members read in place by offset: uncompressed)"))

    # 3. The same from standard input (a pipe) under strace: fd 0 read in full once.
    out = ctx.path("out-strace-stdin")
    with open(ctx.podman, "rb") as f:
        data = f.read()
    res, calls = strace_run(ctx, ["-", "-o", out], ctx.path("strace-stdin.log"), stdin_data=data)
    expect_rc(res, 0, "conversion of standard input under strace")
    same_cores(ctx.ref(), out, "stdin (strace)")
    c = io_census(calls, None)
    if c["read"] != len(data) or c["positional"]:
        raise Fail("standard input: %d bytes read (expected %d), positional %s" % (c["read"], len(data), c["positional"][:5]))
    bad = created_outside(calls, os.path.realpath(out))
    if bad:
        raise Fail("stdin: files created outside OUTDIR %s:\n  %s" % (out, "\n  ".join(bad[:10])))
    log("ok: standard input read once, %d bytes" % len(data))


# --- batch


def case_batch(ctx):
    ind = ctx.path("in")
    os.makedirs(ind)
    good_tar = os.path.join(ind, "c-crio.tar")
    bad_tar = os.path.join(ind, "c-bad.tar")
    good_zst = os.path.join(ind, "c-podman.tar.zst")
    shutil.copyfile(ctx.crio, good_tar)
    shutil.copyfile(ctx.podman, good_zst)

    def truncate_mm3(m, data):
        if m.name.lstrip("./") == "checkpoint/mm-3.img":
            return data[:100]
        return None

    rewrite_tar(ctx.crio, bad_tar, truncate_mm3)
    out = ctx.path("out")
    manifest = ctx.path("manifest.json")
    inputs = [good_tar, bad_tar, good_zst]
    r = run(ctx, ["-j", "2", "-o", out, "--json", manifest] + inputs)
    expect_rc(r, 3, "batch with one corrupted archive")
    # exit 3 is documented
    h = run(ctx, ["--help"])
    if not re.search(rb"^\s*3\s+.*(some|several).*fail", h.out + h.err, re.M):
        raise Fail("--help does not document exit status 3 (some inputs failed):\n%s" % h.show())

    # The two good ones, each in OUTDIR/<stem>/; nothing for the bad one.
    got = sorted(os.listdir(out))
    if got != ["c-crio", "c-podman"]:
        raise Fail("batch OUTDIR holds %s, expected c-crio c-podman\n%s" % (got, r.show()))
    same_cores(ctx.ref(), os.path.join(out, "c-crio"), "batch c-crio")
    same_cores(ctx.ref(), os.path.join(out, "c-podman"), "batch c-podman")

    # One clear error naming the archive and the member.
    err = r.err.decode(errors="replace")
    errors = [l for l in err.splitlines() if "error" in l.lower()]
    want = "'%s:checkpoint/mm-3.img': offset " % bad_tar
    if len(errors) != 1 or want not in errors[0]:
        raise Fail("expected exactly one error line containing %r, got:\n%s" % (want, err))
    if "c-crio" in errors[0] or "c-podman" in errors[0]:
        raise Fail("the error line names a good input: %s" % errors[0])
    log("ok: one error: %s" % errors[0])

    # The manifest lists all three, in order, with their error/core fields.
    with open(manifest) as f:
        try:
            m = json.load(f)
        except ValueError as e:
            raise Fail("manifest is not JSON: %s" % e)
    ins = m.get("inputs") if isinstance(m, dict) else None
    if not isinstance(ins, list) or len(ins) != 3:
        raise Fail("manifest: expected an object with 3 inputs, got %s" % _short(m))
    for want_in, e in zip(inputs, ins):
        if os.path.realpath(e.get("input", "")) != os.path.realpath(want_in):
            raise Fail("manifest input %r, expected %r" % (e.get("input"), want_in))
        name = os.path.basename(want_in)
        if want_in == bad_tar:
            if not e.get("error") or want not in json.dumps(e["error"]) and want not in str(e["error"].get("message", "")):
                raise Fail("manifest: %s has error %s, expected one naming %r" % (name, _short(e.get("error")), want))
            written = [p for p in e.get("processes", []) if p.get("core")]
            if written:
                raise Fail("manifest: the failed input %s lists cores %s" % (name, written))
        else:
            if e.get("error") is not None:
                raise Fail("manifest: %s has error %s" % (name, e["error"]))
            procs = {p["pid"]: p for p in e.get("processes", [])}
            if sorted(procs) != [1, 3, 4]:
                raise Fail("manifest: %s processes %s, expected 1 3 4" % (name, sorted(procs)))
            for pid, (ppid, comm, cmdline) in COUNTER_PROCS.items():
                p = procs[pid]
                if (p.get("ppid"), p.get("comm"), p.get("cmdline")) != (ppid, comm, cmdline):
                    raise Fail("manifest: %s pid %d: %s" % (name, pid, _short(p)))
                core = p.get("core") or {}
                path = core.get("path", "")
                path = path if os.path.isabs(path) else os.path.join(ctx.work, path)
                stem = os.path.basename(want_in).split(".")[0]
                if os.path.realpath(path) != os.path.realpath(os.path.join(out, stem, "core.%d" % pid)):
                    raise Fail("manifest: %s pid %d core path %r" % (name, pid, core.get("path")))
                if core.get("size") != os.path.getsize(path):
                    raise Fail("manifest: %s core.%d size %s, the file has %d" % (name, pid, core.get("size"), os.path.getsize(path)))
            if (e.get("container") or {}).get("name") != COUNTER_NAME:
                raise Fail("manifest: %s container %s" % (name, _short(e.get("container"))))
    log("ok: manifest lists the 3 inputs with their cores and the error")
    check_schema(ctx, m, "batch manifest", "manifest")


# --- inspect


def case_inspect_tree(ctx):
    empty = ctx.path("cwd")
    os.makedirs(empty)
    r = run(ctx, ["inspect", ctx.crio], cwd=empty)
    expect_rc(r, 0, "inspect")
    if os.listdir(empty):
        raise Fail("inspect wrote files: %s" % os.listdir(empty))
    text = r.out.decode(errors="replace")
    log(text.rstrip())
    lines = text.splitlines()

    def line_with(*words):
        for i, l in enumerate(lines):
            if all(w in l for w in words):
                return i, l
        raise Fail("inspect output has no line with %s:\n%s" % (" and ".join(map(repr, words)), text))

    line_with("container", COUNTER_NAME)
    line_with("image", COUNTER_IMAGE)
    line_with("CRI-O")
    found = {}
    for pid, (ppid, comm, cmdline) in COUNTER_PROCS.items():
        pat = re.compile(r"^(\s*)(?:\S+\s+)?%d\s+%s\b.*%s\s*$" % (pid, re.escape(comm), re.escape(cmdline)))
        for i, l in enumerate(lines):
            if pat.match(l):
                found[pid] = (i, l)
                break
        else:
            raise Fail("inspect: no process line for %d %s with command line %r:\n%s" % (pid, comm, cmdline, text))
    # bash -> python3, tee: the children come after bash, indented deeper.
    def indent(l):
        return len(l) - len(l.lstrip(" |`-"))
    b = found[1]
    for pid in (3, 4):
        c = found[pid]
        if c[0] <= b[0] or indent(c[1]) <= indent(b[1]):
            raise Fail("inspect: %d is not shown under bash (1):\n%s" % (pid, text))
    log("ok: inspect shows bash -> python3, tee with their command lines, container and image")


def inspect_json(ctx, args, what, **kw):
    r = run(ctx, ["inspect", "--format", "json"] + args, **kw)
    expect_rc(r, 0, what)
    try:
        doc = json.loads(r.out)
    except ValueError as e:
        raise Fail("%s: output is not JSON: %s\n%s" % (what, e, r.show()))
    return doc


def report_facts(rep, engine=None):
    """Check one report (an input of inspect or the manifest) against the
    counter checkpoint."""
    errs = []
    procs = {p.get("pid"): p for p in rep.get("processes", [])}
    if sorted(procs) != [1, 3, 4]:
        errs.append("processes %s, expected 1 3 4" % sorted(procs))
    for pid, (ppid, comm, cmdline) in COUNTER_PROCS.items():
        p = procs.get(pid, {})
        got = (p.get("ppid"), p.get("comm"), p.get("cmdline"), p.get("state"), p.get("threads"))
        if got != (ppid, comm, cmdline, "alive", 1):
            errs.append("pid %d: %s" % (pid, got))
    if engine:
        c = rep.get("container") or {}
        got = (c.get("name"), c.get("image"), c.get("engine"))
        if got != (COUNTER_NAME, COUNTER_IMAGE, engine):
            errs.append("container %s, expected %s" % (got, (COUNTER_NAME, COUNTER_IMAGE, engine)))
    return errs


def case_inspect_json(ctx):
    doc = inspect_json(ctx, [ctx.crio], "inspect --format json")
    reps = doc if isinstance(doc, list) else (doc.get("inputs") if isinstance(doc, dict) else None)
    if not isinstance(reps, list) or len(reps) != 1:
        raise Fail("inspect --format json: expected one report, got %s" % _short(doc))
    errs = report_facts(reps[0], "CRI-O")
    if errs:
        raise Fail("inspect --format json of the CRI-O archive:\n  " + "\n  ".join(errs))
    log("ok: inspect --format json has bash -> python3, tee, container counter, image, CRI-O")
    check_schema(ctx, doc, "inspect --format json", "inspect_output")

    # Every input kind tells the same (#7: "works on every input kind of #4").
    x = ctx.path("extracted")
    os.makedirs(x)
    extract_tar(ctx.crio, x)
    make_writable(x)
    if reps[0].get("kind") != "archive":
        raise Fail("inspect --format json: kind %r for the CRI-O tar, expected 'archive'" % reps[0].get("kind"))
    kinds = [("podman .tar.zst", [ctx.podman], {}, "Podman", "archive"),
             ("stdin", ["-"], {"stdin_data": open(ctx.podman, "rb").read()}, "Podman", "archive"),
             ("extracted dir", [x], {}, "CRI-O", "extracted archive"),
             ("image dir", [ctx.images], {}, None, "image directory")]
    for what, args, kw, engine, kind in kinds:
        d = inspect_json(ctx, args, "inspect --format json (%s)" % what, **kw)
        rs = d if isinstance(d, list) else d.get("inputs")
        errs = report_facts(rs[0], engine)
        if what == "stdin" and rs[0].get("input") != "-":
            errs.append("input %r, expected '-'" % rs[0].get("input"))
        if rs[0].get("kind") != kind:
            errs.append("kind %r, expected %r" % (rs[0].get("kind"), kind))
        if engine is None and any(v is not None for v in (rs[0].get("container") or {}).values()):
            errs.append("an image directory has container metadata %s" % _short(rs[0].get("container")))
        if errs:
            raise Fail("inspect --format json (%s):\n  %s" % (what, "\n  ".join(errs)))
        check_schema(ctx, d, "inspect --format json (%s)" % what, "inspect_output")
        log("ok: inspect (%s) tells the same" % what)


# --- progress


def run_pty(cmd, cwd):
    """Run CMD with stderr on a pseudo-terminal (stdout a pipe); returns
    (exit status, bytes the terminal received, stdout)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave, cwd=cwd)
    os.close(slave)
    got = bytearray()
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        if time.monotonic() > deadline:
            p.kill()
            raise Fail("%s did not finish within %d s" % (cmd, RUN_TIMEOUT))
        r, _, _ = select.select([master], [], [], 1.0)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the slave side is closed
                break
            if not chunk:
                break
            got += chunk
        elif p.poll() is not None:
            # drained and exited
            try:
                while True:
                    r, _, _ = select.select([master], [], [], 0.1)
                    if not r:
                        break
                    chunk = os.read(master, 65536)
                    if not chunk:
                        break
                    got += chunk
            except OSError:
                pass
            break
    os.close(master)
    out = p.stdout.read()
    p.wait()
    return p.returncode, bytes(got), out


PROGRESS = re.compile(rb"\d+(?:\.\d+)? (?:MiB|GiB) / \d+(?:\.\d+)? (?:MiB|GiB)\s+\d+%.*?ETA")


def case_progress(ctx):
    syn = ctx.path("syn")
    mkimg = os.path.join(ctx.src, "tools", "c2c-mkimg.py")
    cmd = [sys.executable, mkimg, "--synthetic", "--procs", "2", "--mem-mib", "384",
           "--run-pages", "16", "--zero-fraction", "0.25", "-o", syn]
    log("run: %s" % " ".join(cmd))
    r = subprocess.run(cmd, capture_output=True, timeout=RUN_TIMEOUT)
    if r.returncode:
        raise Fail("c2c-mkimg.py failed:\n%s" % r.stderr.decode(errors="replace"))

    out = ctx.path("out-tty")
    cmd = [ctx.bin, syn, "-o", out]
    log("run (stderr on a pty): %s" % " ".join(cmd))
    t0 = time.monotonic()
    rc, tty, _ = run_pty(cmd, ctx.work)
    log("took %.2f s; the terminal received %d bytes:\n%r" % (time.monotonic() - t0, len(tty), tty[-600:]))
    if rc != 0:
        raise Fail("conversion on a terminal exited %d:\n%r" % (rc, tty))
    if not PROGRESS.search(tty) or b"%" not in tty or b"ETA" not in tty:
        raise Fail("no progress line (\"N MiB / M MiB  P%% ... ETA\") on the terminal:\n%r" % tty)
    if b"100%" not in tty:
        raise Fail("the progress line never reached 100%%:\n%r" % tty[-600:])
    # The progress line is cleared before every message and at the end.
    text = tty.replace(b"\r\n", b"\n")
    for line in text.split(b"\n"):
        if b"wrote" in line and PROGRESS.search(line.split(b"\x1b[K")[-1]):
            raise Fail("a message is mixed with the progress line: %r" % line)
    log("ok: progress line on the terminal")

    for what, extra in (("piped", []), ("quiet on a terminal", ["-q"])):
        out2 = ctx.path("out-" + what.split()[0])
        if what == "piped":
            r = run(ctx, [syn, "-o", out2], wrap=False)
            rc, err = r.rc, r.err
        else:
            rc, err, _ = run_pty([ctx.bin, syn, "-o", out2] + extra, ctx.work)
        if rc != 0:
            raise Fail("%s conversion exited %d: %r" % (what, rc, err))
        if PROGRESS.search(err) or b"ETA" in err or b"\r" in err.replace(b"\r\n", b"\n") or b"\x1b[" in err:
            raise Fail("%s: progress output where there should be none:\n%r" % (what, err))
        log("ok: no progress when %s (%d bytes of stderr: %r)" % (what, len(err), err[:200]))
        if not filecmp.cmp(os.path.join(out, "core.1"), os.path.join(out2, "core.1"), shallow=False):
            raise Fail("%s: core.1 differs from the terminal run's" % what)


# --- interrupted conversions


def case_interrupt(ctx):
    """Issue #5: after SIGINT or SIGTERM in the middle of a large conversion
    (and of a compressed archive, whose page data is spooled), nothing is left
    in OUTDIR: cores and spool files have no name until they are complete."""
    syn = ctx.path("syn")
    mkimg = os.path.join(ctx.src, "tools", "c2c-mkimg.py")
    cmd = [sys.executable, mkimg, "--synthetic", "--procs", "2", "--mem-mib", "768",
           "--run-pages", "64", "-o", syn]
    log("run: %s" % " ".join(cmd))
    r = subprocess.run(cmd, capture_output=True, timeout=RUN_TIMEOUT)
    if r.returncode:
        raise Fail("c2c-mkimg.py failed:\n%s" % r.stderr.decode(errors="replace"))
    arc = ctx.path("syn.tar.gz")
    with tarfile.open(arc, "w:gz", compresslevel=1) as t:
        t.add(syn, "checkpoint")
    for sig, inp in ((signal.SIGINT, syn), (signal.SIGTERM, syn), (signal.SIGINT, arc)):
        out = ctx.path("out-%s-%s" % (sig.name, os.path.basename(inp)))
        cmd = [ctx.bin, inp, "-o", out]
        log("run: %s, then %s once page data is being written" % (" ".join(cmd), sig.name))
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, cwd=ctx.work)
        # Wait until the process holds an (unnamed) file open in OUTDIR: a core
        # or the spool being written. Such fds read "OUTDIR/#N (deleted)".
        deadline = time.monotonic() + 60
        busy = False
        while not busy and p.poll() is None and time.monotonic() < deadline:
            try:
                fds = os.listdir("/proc/%d/fd" % p.pid)
            except OSError:
                fds = []
            for fd in fds:
                try:
                    busy = busy or os.readlink("/proc/%d/fd/%s" % (p.pid, fd)).startswith(out + "/")
                except OSError:
                    pass
        if p.poll() is not None:
            raise Fail("the conversion ended (exit %s) before it could be interrupted; "
                       "make the checkpoint bigger" % p.returncode)
        p.send_signal(sig)
        p.wait(timeout=RUN_TIMEOUT)
        left = sorted(os.listdir(out)) if os.path.isdir(out) else []
        log("exit %s; OUTDIR holds %s" % (p.returncode, left))
        if p.returncode != -sig:
            raise Fail("expected death by %s, got exit %s" % (sig.name, p.returncode))
        if left:
            raise Fail("%s left %s in OUTDIR" % (sig.name, left))
    log("ok: interrupted conversions leave nothing behind")


# --- rootfs-diff


def decode_img(ctx, path):
    mkimg = os.path.join(ctx.src, "tools", "c2c-mkimg.py")
    r = subprocess.run([sys.executable, mkimg, "decode", path], capture_output=True, timeout=RUN_TIMEOUT)
    if r.returncode:
        raise Fail("cannot decode %s: %s" % (path, r.stderr.decode(errors="replace")))
    return json.loads(r.stdout)


def case_rootfs_diff(ctx):
    img = os.path.join(ctx.fix, "sleep", "images")
    exe = "/usr/bin/sleep"
    if not os.path.exists(exe):
        raise Fail("%s is not on this machine" % exe)
    with open(exe, "rb") as f:
        exe_bytes = f.read()
    # The executable's text mapping, from the images.
    files = decode_img(ctx, os.path.join(img, "files.img"))["entries"]
    ids = [e["id"] for e in files if (e.get("reg") or {}).get("name") == exe]
    if len(ids) != 1:
        raise Fail("files.img of the sleep fixture names %s %d times" % (exe, len(ids)))
    mms = [n for n in os.listdir(img) if n.startswith("mm-")]
    if len(mms) != 1:
        raise Fail("sleep fixture: expected one mm image, found %s" % mms)
    pid = int(mms[0][3:-4])
    vmas = decode_img(ctx, os.path.join(img, mms[0]))["entries"][0]["vmas"]
    text = [v for v in vmas if int(str(v["shmid"]), 0) == ids[0] and int(v["status"]) & 0x40 and int(v["prot"]) & 4]
    if len(text) != 1:
        raise Fail("sleep fixture: expected one executable mapping of %s, got %s" % (exe, text))
    # Pages the images hold (CRIU saves a private file page once it was
    # written or touched in some ways): pycriu's decoding of the pagemap.
    with open(os.path.join(ctx.fix, "sleep", "decoded", "pagemap-%d.img.json" % pid)) as f:
        pm = json.load(f)["entries"][1:]
    in_images = set()
    for e in pm:
        if "PE_PRESENT" in str(e.get("flags", "")):
            v0 = int(str(e["vaddr"]), 0)
            in_images.update(range(v0, v0 + int(e["nr_pages"]) * PAGE, PAGE))
    # The first page of the text mapping that only the file can give.
    s0, e0, off0 = (int(str(text[0][k]), 0) for k in ("start", "end", "pgoff"))
    vaddr = pgoff = None
    for a in range(s0, e0, PAGE):
        fo = off0 + a - s0
        if a not in in_images and exe_bytes[fo:fo + PAGE].strip(b"\0"):
            vaddr, pgoff = a, fo
            break
    if vaddr is None:
        raise Fail("every page of %s's text mapping is in the images: nothing to test" % exe)
    page = exe_bytes[pgoff:pgoff + PAGE]

    # checkpoint/ = the sleep images; rootfs-diff.tar holds usr/bin/sleep.
    diff = io.BytesIO()
    with tarfile.open(fileobj=diff, mode="w", format=tarfile.GNU_FORMAT) as t:
        ti = tarfile.TarInfo("usr/bin/sleep")
        ti.size, ti.mode, ti.mtime = len(exe_bytes), 0o755, 0
        t.addfile(ti, io.BytesIO(exe_bytes))
    arc = ctx.path("sleep-rootfs-diff.tar")
    with tarfile.open(arc, "w", format=tarfile.GNU_FORMAT) as t:
        ti = tarfile.TarInfo("checkpoint")
        ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o700, 0
        t.addfile(ti)
        for n in sorted(os.listdir(img)):
            t.add(os.path.join(img, n), arcname="checkpoint/" + n)
        ti = tarfile.TarInfo("rootfs-diff.tar")
        ti.size, ti.mode, ti.mtime = len(diff.getvalue()), 0o600, 0
        t.addfile(ti, io.BytesIO(diff.getvalue()))
    empty = ctx.path("empty-root")
    os.makedirs(empty)

    def convert(src, name):
        out = ctx.path(name)
        r = run(ctx, [src, "--root", empty, "--file-pages", "all", "-o", out, "--json", out + ".json"])
        # 1: warnings (the other mapped files are not in the empty root)
        if r.rc not in (0, 1) or not os.path.exists(os.path.join(out, "core.%d" % pid)):
            raise Fail("%s: conversion failed\n%s" % (name, r.show()))
        core = os.path.join(out, "core.%d" % pid)
        return r, core, elf_loads(core)

    # Control: the images alone with the empty root cannot have the page.
    r0, core0, loads0 = convert(img, "out-images")
    if core_read(core0, loads0, vaddr, PAGE) == page:
        raise Fail("control: the images alone already give %s's text page at %#x" % (exe, vaddr))
    if exe not in r0.err.decode(errors="replace"):
        log("note: no warning names %s in the control run" % exe)

    r, core, loads = convert(arc, "out-archive")
    got = core_read(core, loads, vaddr, PAGE)
    if got != page:
        raise Fail("the core has %s at %#x, not %s's page at file offset %#x from rootfs-diff.tar\n%s" % (
            "no bytes" if got is None else ("zeros" if got == bytes(PAGE) else "other bytes"),
            vaddr, exe, pgoff, r.show()))
    # Every page of the executable's mappings that the images do not hold.
    checked = 0
    for v in vmas:
        if int(str(v["shmid"]), 0) != ids[0] or not int(v["status"]) & 0x40:
            continue
        s, e, off = int(str(v["start"]), 0), int(str(v["end"]), 0), int(str(v["pgoff"]), 0)
        for a in range(s, e, PAGE):
            fo = off + a - s
            if a in in_images or fo >= len(exe_bytes):
                continue  # the images' page wins; past EOF is SIGBUS, not data
            want = exe_bytes[fo:fo + PAGE].ljust(PAGE, b"\0")
            got = core_read(core, loads, a, PAGE)
            if got is None and want == bytes(PAGE):
                continue  # a zero page may be left as a hole
            if got != want:
                raise Fail("core at %#x: %s, expected %s's bytes at %#x from rootfs-diff.tar" % (
                    a, "no bytes" if got is None else "other bytes", exe, fo))
            checked += 1
    if exe in [l.split("'")[1] for l in r.err.decode(errors="replace").splitlines() if "not in the root" in l]:
        raise Fail("the converter warns that %s is not in the root, though rootfs-diff.tar has it:\n%s" % (exe, r.show()))
    log("ok: %s's page at %#x (file offset %#x) and %d pages of its mappings in all come from "
        "rootfs-diff.tar (empty --root)" % (exe, vaddr, pgoff, checked))
    # The manifest counts those bytes as from the root (schema: "files under
    # --root (or the archive's rootfs-diff.tar)"); the control got none.
    def from_root(name):
        with open(ctx.path(name + ".json")) as f:
            m = json.load(f)
        cores = [p["core"] for i in m["inputs"] for p in i["processes"] if p.get("core")]
        if len(cores) != 1:
            raise Fail("%s.json: expected one core, got %s" % (name, _short(cores)))
        return cores[0].get("bytes_from_root")
    ctl, got = from_root("out-images"), from_root("out-archive")
    if ctl != 0 or not isinstance(got, int) or got < checked * PAGE:
        raise Fail("manifest bytes_from_root: %s with the archive (at least %d expected), %s without "
                   "rootfs-diff.tar (0 expected)" % (got, checked * PAGE, ctl))
    log("ok: manifest: bytes_from_root %d (control: 0)" % got)


# --- validator self test


def case_validator(ctx):
    """The schema validator itself, so that a missing schema (skip) does not
    hide a validator that accepts everything."""
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object", "required": ["inputs"], "additionalProperties": False,
        "properties": {"version": {"type": "string"},
                       "inputs": {"type": "array", "items": {"$ref": "#/$defs/input"}}},
        "$defs": {"input": {"type": "object", "required": ["input", "error"],
                            "properties": {"input": {"type": "string"},
                                           "kind": {"enum": ["dir", "archive"]},
                                           "n": {"type": "integer", "minimum": 0},
                                           "error": {"type": ["null", "object"],
                                                     "properties": {"message": {"type": "string"}}},
                                           "x": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/input"}]}},
                            "additionalProperties": {"type": "string"}}}}
    good = [{"inputs": []},
            {"version": "1", "inputs": [{"input": "a", "kind": "dir", "n": 3, "error": None, "extra": "s"}]},
            {"inputs": [{"input": "a", "error": {"message": "m"}, "x": {"input": "b", "error": None}}]}]
    bad = [[], {"inputs": {}}, {"inputs": [], "zzz": 1}, {"inputs": [{"input": "a"}]},
           {"inputs": [{"input": "a", "error": None, "kind": "tar"}]},
           {"inputs": [{"input": "a", "error": None, "n": -1}]},
           {"inputs": [{"input": "a", "error": None, "n": True}]},
           {"inputs": [{"input": "a", "error": None, "n": 1.5}]},
           {"inputs": [{"input": "a", "error": "str"}]},
           {"inputs": [{"input": "a", "error": None, "extra": 1}]},
           {"inputs": [{"input": "a", "error": None, "x": {"input": 1, "error": None}}]}]
    for d in good:
        e = validate(schema, d)
        if e:
            raise Fail("validator rejects a valid document %s: %s" % (_short(d), e))
    for d in bad:
        if not validate(schema, d):
            raise Fail("validator accepts an invalid document %s" % _short(d))
    try:
        validate({"type": "object", "patternProperties": {}}, {})
    except SchemaError:
        pass
    else:
        raise Fail("validator silently ignores an unsupported keyword")
    log("ok: the validator accepts %d valid and rejects %d invalid documents" % (len(good), len(bad)))
    if unsupported_keywords({"properties": {"a": {"items": {"anyOf": [{"if": {}}]}}}}) != ["#/properties/a/items/anyOf/0/if"]:
        raise Fail("unsupported_keywords() misses a nested keyword")
    schema = load_schema(ctx)
    if schema is not None:
        bad = unsupported_keywords(schema)
        if bad:
            raise Fail("%s uses keywords the validator does not implement: %s" % (ctx.schema, bad))
        for d in ("report", "manifest", "inspect_output"):
            if d not in schema.get("$defs", {}):
                raise Fail("%s has no $defs/%s" % (ctx.schema, d))
        log("ok: %s uses only supported keywords and has $defs report, manifest, inspect_output" % ctx.schema)


CASES = {
    "crio-tar": (case_crio_tar, "the CRI-O/kubelet .tar converts to the cores of counter/images, byte for byte"),
    "podman-zst": (case_podman_zst, "the same for the Podman .tar.zst"),
    "stdin": (case_stdin, "the same from standard input (a pipe): .tar.zst and plain .tar"),
    "extracted-dir": (case_extracted_dir, "the same from the extracted CRI-O archive"),
    "compressions": (case_compressions, "gzip, xz, bzip2, misleading names, ./ names, pax; a truncated one fails cleanly"),
    "interrupt": (case_interrupt, "SIGINT/SIGTERM mid-conversion leave nothing in OUTDIR"),
    "placement": (case_placement, "page data written once, straight into the cores, in any member order"),
    "verbatim-clients": (case_verbatim_clients, "pages-first cores: gdb, eu-stack, lldb print what they print for the directory's cores"),
    "decompress-once": (case_decompress_once, "one pass: a pipe, and strace: opened once, read once"),
    "batch": (case_batch, "3 archives, -j 2, one corrupted: 2 converted, one error, exit 3, manifest"),
    "inspect-tree": (case_inspect_tree, "inspect on the CRI-O tar: tree, command lines, container"),
    "inspect-json": (case_inspect_json, "inspect --format json: the same facts, schema, every input kind"),
    "progress": (case_progress, "progress line on a terminal, none when piped or -q"),
    "rootfs-diff": (case_rootfs_diff, "file pages from rootfs-diff.tar with an empty --root"),
    "validator": (case_validator, "self test of the JSON Schema validator"),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("--ckpt2core", required=True)
    ap.add_argument("--fixtures", required=True, help="the unpacked e2e fixtures")
    ap.add_argument("--work", required=True, help="scratch directory (emptied first, removed on success)")
    ap.add_argument("--source-dir", default=os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", ".."))
    ap.add_argument("--schema", help="report schema (default: SOURCE/doc/report.schema.json)")
    ap.add_argument("--wrapper", help="command prefix for the converter (e.g. valgrind)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir on success")
    a = ap.parse_args()
    try:
        fresh_work(os.path.abspath(a.work))
        fn = CASES[a.case][0]
        if a.case == "validator":
            ctx = argparse.Namespace(schema=a.schema or os.path.join(os.path.abspath(a.source_dir), "doc", "report.schema.json"),
                                     src=os.path.abspath(a.source_dir))
        else:
            ctx = Ctx(a)
        fn(ctx)
        if getattr(ctx, "pending_schema", None):
            raise Skip("every other check passed; %s does not exist yet, so %s could not be "
                       "validated" % (ctx.schema, ", ".join(ctx.pending_schema)))
    except Fail as e:
        log("FAIL: %s: %s" % (a.case, e))
        log("work dir kept: %s" % a.work)
        return EXIT_FAIL
    except Skip as e:
        log("SKIP: %s: %s" % (a.case, e))
        return EXIT_SKIP
    log("PASS: %s" % a.case)
    if not a.keep:
        remove_work(a.work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
