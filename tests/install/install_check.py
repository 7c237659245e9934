#!/usr/bin/env python3
"""Checks of what `cmake --install` puts on a system (tests/install).

  install_check.py stage --build B --stage S --libdir L --bindir D --includedir I
                         --mandir M --prefix P --cc CC [--cflags F] --fixture FIX
                         --pid N --version V
      cmake --install B --prefix S: the expected files and symlinks, the
      library's SONAME, a pkg-config file naming S; then build
      consumer.c against S with `pkg-config --cflags --libs ckpt2core` and run
      it on FIX/images (LD_LIBRARY_PATH=S/L). Also a DESTDIR install: the
      files land under DESTDIR/P and ckpt2core.pc names P.
  install_check.py exports --lib SO --header H
      the dynamic symbols SO defines are exactly the C2C_API functions of H,
      each with a CKPT2CORE_* version.
  install_check.py manpage --ckpt2core BIN --man PAGE
      the man page lists the options of `BIN --help` (short and long forms
      paired the same way) and the same exit codes.

Exit status: 0 pass, 1 fail, 77 skip (a tool the check needs is missing).
Python standard library only.
"""

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


class Fail(Exception):
    pass


class Skip(Exception):
    pass


def log(msg):
    print(msg, flush=True)


def need(tool):
    path = shutil.which(tool)
    if not path:
        raise Skip("%s is not installed" % tool)
    return path


def run(cmd, env=None, cwd=None):
    log("$ " + " ".join(shlex.quote(c) for c in cmd))
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                       timeout=300)
    out = r.stdout.decode("utf-8", "replace")
    if out.strip():
        log(out.rstrip())
    if r.returncode != 0:
        raise Fail("%s exited with %d" % (cmd[0], r.returncode))
    return out


def fresh(path):
    # Only directories this script made (under the build tree) are removed.
    if os.path.lexists(path):
        if not os.path.exists(os.path.join(path, ".install-check")):
            raise Fail("refusing to remove %s: not made by install_check.py" % path)
        shutil.rmtree(path)
    os.makedirs(path)
    open(os.path.join(path, ".install-check"), "w").close()


def rel(d):
    return d.lstrip("/") if os.path.isabs(d) else d


# ------------------------------------------------------------------- stage


def check_layout(root, a, errors):
    """Files and symlinks under ROOT (the prefix as seen on disk)."""
    libdir = os.path.join(root, rel(a.libdir))
    bindir = os.path.join(root, rel(a.bindir))
    major = a.version.split(".")[0]
    real = "libckpt2core.so.%s" % a.version
    expect_files = [
        os.path.join(bindir, "ckpt2core"),
        os.path.join(libdir, real),
        os.path.join(root, rel(a.includedir), "ckpt2core", "ckpt2core.h"),
        os.path.join(libdir, "pkgconfig", "ckpt2core.pc"),
        os.path.join(root, rel(a.mandir), "man1", "ckpt2core.1"),
    ]
    for p in expect_files:
        if not os.path.isfile(p) or os.path.islink(p):
            errors.append("missing regular file %s" % p)
    if not os.access(os.path.join(bindir, "ckpt2core"), os.X_OK):
        errors.append("%s is not executable" % os.path.join(bindir, "ckpt2core"))
    links = {
        os.path.join(bindir, "checkpointctl-coredump"): "ckpt2core",
        os.path.join(libdir, "libckpt2core.so.%s" % major): real,
        os.path.join(libdir, "libckpt2core.so"): "libckpt2core.so.%s" % major,
    }
    for link, target in links.items():
        if not os.path.islink(link):
            errors.append("%s is not a symlink" % link)
        elif os.readlink(link) != target:
            errors.append("%s -> %s, want -> %s" % (link, os.readlink(link), target))
    return libdir


def soname(lib):
    out = subprocess.run([need("readelf"), "-dW", lib], capture_output=True, text=True).stdout
    m = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", out)
    return m.group(1) if m else None


def pc_prefix(pc):
    with open(pc) as f:
        for line in f:
            if line.startswith("prefix="):
                return line.split("=", 1)[1].strip()
    return None


def cmd_stage(a):
    need("pkg-config")
    stage = os.path.abspath(a.stage)
    errors = []

    fresh(stage)
    run([a.cmake, "--install", a.build, "--prefix", stage])
    libdir = check_layout(stage, a, errors)
    lib = os.path.join(libdir, "libckpt2core.so.%s" % a.version)
    want_soname = "libckpt2core.so.%s" % a.version.split(".")[0]
    if os.path.isfile(lib) and soname(lib) != want_soname:
        errors.append("%s: SONAME %s, want %s" % (lib, soname(lib), want_soname))
    pc = os.path.join(libdir, "pkgconfig", "ckpt2core.pc")
    if os.path.isfile(pc):
        with open(pc) as f:
            text = f.read()
        log("--- %s\n%s---" % (pc, text))
        if pc_prefix(pc) != stage:
            errors.append("%s: prefix=%s, want %s" % (pc, pc_prefix(pc), stage))
        m = re.search(r"^Requires\.private:(.*)$", text, re.M)
        req = set(re.split(r"[\s,]+", m.group(1).strip())) if m else set()
        if req != {"libelf", "libarchive", "libprotobuf-c", "jansson", "libpcre2-8", "libdw"}:
            errors.append("%s: Requires.private %s" % (pc, sorted(req)))
    if errors:
        raise Fail("cmake --install --prefix:\n  " + "\n  ".join(errors))

    # A program of someone else's, built the way its README would say.
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(libdir, "pkgconfig"))
    env.pop("PKG_CONFIG_LIBDIR", None)
    if run(["pkg-config", "--modversion", "ckpt2core"], env=env).strip() != a.version:
        raise Fail("pkg-config --modversion is not %s" % a.version)
    flags = shlex.split(run(["pkg-config", "--cflags", "--libs", "ckpt2core"], env=env))
    if "-I%s" % os.path.join(stage, rel(a.includedir)) not in flags or \
            "-L%s" % libdir not in flags or "-lckpt2core" not in flags:
        raise Fail("pkg-config flags do not point into the staging prefix: %s" % flags)
    work = os.path.join(stage, "consumer-work")
    os.makedirs(work)
    exe = os.path.join(work, "consumer")
    run(shlex.split(a.cc) + shlex.split(a.cflags or "") +
        ["-std=c11", "-Wall", "-Wextra", "-Werror", os.path.join(HERE, "consumer.c"), "-o", exe] +
        flags, env=env)
    needed = subprocess.run([need("readelf"), "-dW", exe], capture_output=True, text=True).stdout
    if "[%s]" % want_soname not in needed:
        raise Fail("consumer does not link against %s:\n%s" % (want_soname, needed))
    renv = dict(env, LD_LIBRARY_PATH=libdir)
    out = os.path.join(work, "out")
    run([exe, os.path.join(a.fixture, "images"), out, str(a.pid)], env=renv)
    # The consumer must have used the staged library, not another one.
    ldd = run([need("ldd"), exe], env=renv)
    if not re.search(r"libckpt2core\.so\.\S+ => %s/" % re.escape(libdir), ldd):
        raise Fail("the consumer did not load libckpt2core from %s" % libdir)

    # Packaging: DESTDIR keeps the configured prefix in the installed files.
    dest = os.path.join(stage, "destdir")
    run([a.cmake, "-E", "env", "DESTDIR=" + dest, a.cmake, "--install", a.build])
    root = os.path.join(dest, rel(a.prefix))
    libdir2 = check_layout(root, a, errors)
    pc2 = os.path.join(libdir2, "pkgconfig", "ckpt2core.pc")
    if os.path.isfile(pc2) and pc_prefix(pc2) != a.prefix:
        errors.append("%s: prefix=%s, want %s" % (pc2, pc_prefix(pc2), a.prefix))
    if errors:
        raise Fail("DESTDIR install:\n  " + "\n  ".join(errors))
    log("install: staged install, pkg-config consumer and DESTDIR install OK")
    return 0


# ----------------------------------------------------------------- exports


def header_api(path):
    with open(path) as f:
        text = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
    return set(re.findall(r"\bC2C_API\b[^;{]*?\b(c2c_[A-Za-z0-9_]*)\s*\(", text))


def cmd_exports(a):
    need("nm")
    api = header_api(a.header)
    if not api:
        raise Fail("no C2C_API function found in %s" % a.header)
    out = subprocess.run(["nm", "-D", "--defined-only", a.lib], capture_output=True, text=True)
    if out.returncode != 0:
        raise Fail("nm failed: %s" % out.stderr.strip())
    exported, unversioned = set(), []
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        kind, name = parts[1], parts[2]
        if kind == "A":  # the version node itself (CKPT2CORE_0)
            if not name.startswith("CKPT2CORE_"):
                exported.add(name)
            continue
        base, _, ver = name.partition("@")
        exported.add(base)
        if not ver.lstrip("@").startswith("CKPT2CORE_"):
            unversioned.append(name)
    errors = []
    extra = sorted(exported - api)
    missing = sorted(api - exported)
    if extra:
        errors.append("exported but not C2C_API in the header: " + " ".join(extra))
    if missing:
        errors.append("C2C_API in the header but not exported: " + " ".join(missing))
    if unversioned:
        errors.append("without a CKPT2CORE_* version: " + " ".join(unversioned))
    if errors:
        raise Fail("%s:\n  %s" % (a.lib, "\n  ".join(errors)))
    log("exports: %s defines exactly the %d C2C_API functions: %s" %
        (os.path.basename(a.lib), len(api), " ".join(sorted(api))))
    return 0


# ----------------------------------------------------------------- manpage

_OPT = re.compile(r"^\s+(?:(-[A-Za-z0-9])(?: \S+)?, )?(--[a-z][a-z0-9-]*)\b")


def sections(lines, start, stops):
    """Lines from the one matching START up to one matching any of STOPS."""
    out, inside = [], False
    for line in lines:
        if re.match(start, line):
            inside = True
            continue
        if inside and any(re.match(s, line) for s in stops):
            break
        if inside:
            out.append(line)
    return out


def cmd_manpage(a):
    groff = need("groff")
    r = subprocess.run([a.ckpt2core, "--help"], capture_output=True, text=True)
    if r.returncode != 0:
        raise Fail("ckpt2core --help exited with %d" % r.returncode)
    help_lines = r.stdout.splitlines()
    r = subprocess.run([groff, "-man", "-Tascii", "-P-cbou", "-rLL=200n", "-ww", a.man],
                       capture_output=True, text=True)
    if r.returncode != 0 or r.stderr.strip():
        raise Fail("groff on %s: exit %d\n%s" % (a.man, r.returncode, r.stderr))
    man_lines = r.stdout.splitlines()

    def options(lines):
        return {m.group(2): m.group(1) for m in map(_OPT.match, lines) if m}

    help_opts = options(sections(help_lines, r"^Options:", [r"^\S"]))
    man_opts = options(sections(man_lines, r"^OPTIONS", [r"^[A-Z]"]))
    help_codes = {l.split()[0] for l in sections(help_lines, r"^Exit status:", [r"^\S"])
                  if re.match(r"^\s+\d+\s", l)}
    man_codes = {l.split()[0] for l in sections(man_lines, r"^EXIT STATUS", [r"^[A-Z]"])
                 if re.match(r"^\s+\d+\s", l)}
    errors = []
    if not help_opts:
        errors.append("no options found in --help")
    for o in sorted(set(help_opts) | set(man_opts)):
        if o not in man_opts:
            errors.append("%s (--help) is not in the man page's OPTIONS" % o)
        elif o not in help_opts:
            errors.append("%s (man page) is not in --help" % o)
        elif help_opts[o] != man_opts[o]:
            errors.append("%s: short form %s in --help, %s in the man page" %
                          (o, help_opts[o], man_opts[o]))
    if help_codes != man_codes:
        errors.append("exit codes: --help %s, man page %s" % (sorted(help_codes), sorted(man_codes)))
    text = "\n".join(man_lines)
    for ref in ("gdb(1)", "criu(8)"):
        if ref not in text:
            errors.append("SEE ALSO lacks %s" % ref)
    if errors:
        raise Fail("%s and --help disagree:\n  %s" % (a.man, "\n  ".join(errors)))
    log("manpage: %d options and exit codes %s match --help" %
        (len(help_opts), " ".join(sorted(help_codes, key=int))))
    return 0


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("stage")
    for opt in ("build", "stage", "libdir", "bindir", "includedir", "mandir", "prefix", "cc",
                "fixture", "version"):
        p.add_argument("--" + opt, required=True)
    p.add_argument("--cmake", default="cmake")
    p.add_argument("--cflags", default="")
    p.add_argument("--pid", type=int, required=True)
    p = sub.add_parser("exports")
    p.add_argument("--lib", required=True)
    p.add_argument("--header", required=True)
    p = sub.add_parser("manpage")
    p.add_argument("--ckpt2core", required=True)
    p.add_argument("--man", required=True)
    a = ap.parse_args(argv)
    try:
        return {"stage": cmd_stage, "exports": cmd_exports, "manpage": cmd_manpage}[a.cmd](a)
    except Skip as e:
        log("SKIP: %s" % e)
        return 77
    except Fail as e:
        log("FAIL: %s" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
