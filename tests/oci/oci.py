#!/usr/bin/env python3
"""End-to-end tests of --image: container images built here from scratch.

No registry, no network. The files are those the processes of fixture
`counter` (fixtures/counter.tar.xz, see fixtures/PROVENANCE.md) map: a root
built by tests/e2e/e2e.py build_root() (a probe conversion names them by
NT_FILE; they come from this Debian 12 machine, which the fixture ran on).
From that root each check builds an image:

  lower layer  every file, except that python3.11 and libz are decoys (other
               bytes), plus the merged-/usr links (lib -> usr/lib, ...) and
               usr/lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/...
  upper layer  the real python3.11; a whiteout deleting the lower layer's
               _lzma module; gconv/ made opaque (gconv-modules.cache gone)
  on top       an extracted checkpoint archive (checkpoint/ -> the images)
               whose rootfs-diff.tar holds the real libz, and config.dump

then runs `ckpt2core DIR --image IMAGE -o OUT` and checks the sysroot (what
is in it, bytes and build-ids, the whited-out files absent, links inside
it) and gdb with `set sysroot OUT/sysroot`: no ?? frame in libc, libc's
symbols read. Checks: layout, oci-archive, docker-archive (zstd layers),
and hostile images (members ../../etc/x and /etc/x, a missing blob, a layer
whose bytes do not match its digest, a truncated gzip layer, symlinks
leading out of the image) with their exact error text and nothing left in
OUT.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import e2e  # noqa: E402  (build_root, Fixture, fresh_dir, iter_notes, need_tool)

Fail, Skip, log = e2e.Fail, e2e.Skip, e2e.log

PY = "/usr/bin/python3.11"
LZMA = "/usr/lib/python3.11/lib-dynload/_lzma.cpython-311-x86_64-linux-gnu.so"
GCONV = "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache"
LIBZ = "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13"
LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6"
LINKS = {"bin": "usr/bin", "lib": "usr/lib", "lib64": "../../usr/lib64",  # climbs: clamped
         "usr/lib64/ld-linux-x86-64.so.2": "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"}


def build_id(path):
    """NT_GNU_BUILD_ID (type 3) of an ELF file's PT_NOTE segments, or None."""
    for ntype, desc in e2e.iter_notes(path):
        if ntype == 3:
            return desc.hex()
    return None


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ---------------------------------------------------------------- building images


def tar_bytes(members, compress=None):
    """A tar of members: (name, kind, data-or-target); kind 'f', 'l' (symlink) or 'd'."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, kind, data in members:
            ti = tarfile.TarInfo(name)
            ti.mtime = 0
            if kind == "l":
                ti.type, ti.linkname = tarfile.SYMTYPE, data
                tf.addfile(ti)
            elif kind == "d":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                tf.addfile(ti)
            else:
                ti.size, ti.mode = len(data), 0o755
                tf.addfile(ti, io.BytesIO(data))
    raw = buf.getvalue()
    if compress == "gzip":
        return gzip.compress(raw, mtime=0)
    if compress == "zstd":
        return subprocess.run([e2e.need_tool("zstd"), "-q", "-c"], input=raw,
                              capture_output=True, check=True).stdout
    return raw


def layers_from_root(root):
    """(lower, upper) member lists from the root directory of build_root()."""
    lower, upper = [], []
    for name, target in LINKS.items():
        lower.append((name, "l", target))
    for d, _dirs, files in os.walk(root):
        for fn in sorted(files):
            full = os.path.join(d, fn)
            path = "/" + os.path.relpath(full, root)
            with open(full, "rb") as f:
                data = f.read()
            if path in (PY, LIBZ):
                lower.append((path[1:], "f", b"decoy, not the file the process mapped\n"))
                if path == PY:
                    upper.append((path[1:], "f", data))
            else:
                lower.append((path[1:], "f", data))
    # The names the loader used (the SONAME links beside each library), as on this machine.
    for d, _dirs, files in os.walk(root):
        host = "/" + os.path.relpath(d, root)
        if not os.path.isdir(host) or host == "/.":
            continue
        targets = {os.path.realpath(os.path.join(host, fn)) for fn in files}
        for fn in sorted(os.listdir(host)):
            link = os.path.join(host, fn)
            if os.path.islink(link) and os.path.realpath(link) in targets:
                lower.append((link[1:], "l", os.readlink(link)))
    lower.append(("etc/only-in-lower", "f", b"never needed\n"))
    gconv = os.path.dirname(GCONV)[1:]
    upper += [(os.path.dirname(LZMA)[1:] + "/.wh." + os.path.basename(LZMA), "f", b""),
              (gconv + "/.wh..wh..opq", "f", b""),
              (gconv + "/new-in-upper", "f", b"upper\n")]
    return lower, upper


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def write_blob(layout, data):
    d = digest(data)
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(layout, "blobs", "sha256", d[7:]), "wb") as f:
        f.write(data)
    return d


def oci_layout(path, layer_blobs):
    """An OCI image layout directory: oci-layout, index.json, blobs/sha256/.
    Returns (manifest digest, config digest, layer digests)."""
    os.makedirs(path)
    with open(os.path.join(path, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    ldig = [write_blob(path, b) for b in layer_blobs]
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": ldig}}).encode()
    cdig = write_blob(path, config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdig,
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d,
                    "size": len(b)} for d, b in zip(ldig, layer_blobs)]}).encode()
    mdig = write_blob(path, manifest)
    with open(os.path.join(path, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mdig,
            "size": len(manifest), "platform": {"architecture": "amd64", "os": "linux"},
            "annotations": {"org.opencontainers.image.ref.name": "counter:test"}}]}, f)
    return mdig, cdig, ldig


def tar_dir(src, dst):
    """The directory's content as a tar (members relative, as skopeo writes them)."""
    with tarfile.open(dst, "w") as tf:
        for name in sorted(os.listdir(src)):
            tf.add(os.path.join(src, name), arcname=name)


def docker_archive(path, layer_tars):
    """A docker-archive tar: manifest.json, <hex>.json config, <id>/layer.tar."""
    config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    cdig = digest(config)
    members, names = [], []
    for i, data in enumerate(layer_tars):
        name = "%064x/layer.tar" % (i + 1)
        names.append(name)
        members.append((name, "f", data))
    members.append((cdig[7:] + ".json", "f", config))
    members.append(("manifest.json", "f", json.dumps(
        [{"Config": cdig[7:] + ".json", "RepoTags": ["counter:test"], "Layers": names}]).encode()))
    with open(path, "wb") as f:
        f.write(tar_bytes(members))
    return cdig


def checkpoint_dir(work, fx, root, image_ref):
    """An extracted checkpoint archive: checkpoint/ (the fixture's images),
    rootfs-diff.tar with the real libz, config.dump naming the image."""
    ck = os.path.join(work, "checkpoint-archive")
    os.makedirs(ck)
    os.symlink(fx.images, os.path.join(ck, "checkpoint"))
    with open(os.path.join(root, LIBZ[1:]), "rb") as f:
        libz = f.read()
    with open(os.path.join(ck, "rootfs-diff.tar"), "wb") as f:
        f.write(tar_bytes([(LIBZ[1:], "f", libz)]))
    with open(os.path.join(ck, "config.dump"), "w") as f:
        json.dump({"id": "0" * 64, "name": "counter", "rootfsImageName": "localhost/counter:test",
                   "rootfsImageRef": image_ref}, f)
    return ck


# ---------------------------------------------------------------- running and checking


def run(a, args):
    cmd = [a.ckpt2core] + args
    log("$ " + " ".join(cmd))
    r = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=600)
    if r.stderr.strip():
        log(r.stderr.rstrip())
    return r


def check_sysroot(root, out, sysroot):
    """What the sysroot holds, against the root the image was built from."""
    if not os.path.isdir(sysroot):
        raise Fail("no sysroot at %s" % sysroot)
    leftovers = [n for n in os.listdir(os.path.dirname(sysroot)) if n.startswith("sysroot.")]
    if leftovers:
        raise Fail("temporary sysroot left behind: %s" % leftovers)
    for path in (LZMA, GCONV, "/etc/only-in-lower", os.path.dirname(GCONV) + "/new-in-upper"):
        if os.path.lexists(os.path.join(sysroot, path[1:])):
            raise Fail("%s is in the sysroot but must not be (whiteout, opaque or not needed)"
                       % path)
    n = 0
    for d, _dirs, files in os.walk(root):
        for fn in files:
            path = "/" + os.path.relpath(os.path.join(d, fn), root)
            if path in (LZMA, GCONV):
                continue
            mine = os.path.join(sysroot, path[1:])
            if not os.path.isfile(mine):
                raise Fail("%s is missing from the sysroot" % path)
            if sha(mine) != sha(os.path.join(d, fn)):
                raise Fail("%s in the sysroot is not the file the process mapped" % path)
            want = build_id(os.path.join(d, fn)) if path.startswith("/usr/lib/x86") or \
                path.startswith("/usr/bin") else None
            if want and build_id(mine) != want:
                raise Fail("%s: build-id %s, expected %s" % (path, build_id(mine), want))
            n += 1
    # Every link stays inside the sysroot; the loader's name leads to the loader.
    for d, dirs, files in os.walk(sysroot):
        for fn in dirs + files:
            p = os.path.join(d, fn)
            if os.path.islink(p):
                real = os.path.realpath(p)
                if not (real + "/").startswith(os.path.realpath(sysroot) + "/"):
                    raise Fail("link %s leads out of the sysroot, to %s" % (p, real))
    ld = os.path.join(sysroot, "lib64/ld-linux-x86-64.so.2")
    if not os.path.isfile(ld) or sha(ld) != sha(os.path.join(root, "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")):
        raise Fail("/lib64/ld-linux-x86-64.so.2 does not lead to the loader in the sysroot")
    log("sysroot: %d files as expected, whiteouts applied, links inside" % n)


def check_gdb(out, sysroot):
    gdb = e2e.need_tool("gdb")
    exe = os.path.join(sysroot, PY[1:])
    cmd = [gdb, "-nx", "-batch", "-iex", "set debuginfod enabled off",
           "-ex", "set sysroot " + sysroot, "-ex", "bt", "-ex", "info sharedlibrary",
           exe, os.path.join(out, "core.3")]
    env = dict(os.environ, LC_ALL="C")
    env.pop("DEBUGINFOD_URLS", None)
    r = subprocess.run(cmd, capture_output=True, text=True, errors="replace", env=env,
                       timeout=300, stdin=subprocess.DEVNULL, cwd="/")
    text = r.stdout + r.stderr
    log(text.rstrip())
    frames = [line for line in text.splitlines() if re.match(r"#\d+ ", line)]
    if not frames:
        raise Fail("gdb printed no backtrace")
    bad = [f for f in frames if "??" in f and ("libc" in f or f.startswith("#0 "))]
    if bad:
        raise Fail("frames without symbols: %s" % bad)
    libc = [line for line in text.splitlines() if "libc.so.6" in line and "0x" in line]
    if not libc or not all(re.search(r"\sYes( \(\*\))?\s", line) for line in libc):
        raise Fail("libc's symbols were not read: %s" % libc)
    # Every library gdb finds through the sysroot, but the one the whiteout deleted.
    unread = [line for line in text.splitlines()
              if re.match(r"^(0x[0-9a-f]+\s+0x[0-9a-f]+)?\s+No\s+/", line)
              and os.path.basename(LZMA) not in line]
    if unread:
        raise Fail("libraries gdb did not find in the sysroot: %s" % unread)


def expect_warnings(stderr, mdig):
    for path in (LZMA, GCONV):
        if "'%s' is not in the image" % path not in stderr:
            raise Fail("no warning names the whited-out %s" % path)
    if mdig and "is not the one config.dump names" in stderr:
        raise Fail("config.dump names this image, yet a mismatch was reported")


def prepare(a):
    fx = e2e.Fixture(a.fixture)
    work = e2e.fresh_dir(a.work, fx)
    a.root = "fixture"
    root = e2e.build_root(a, fx, work)
    for path in (PY, LZMA, GCONV, LIBZ, LIBC):
        if not os.path.isfile(os.path.join(root, path[1:])):
            raise Skip("%s is not on this machine" % path)
    return fx, work, root


def convert_ok(a, args, out):
    r = run(a, args + ["-o", out])
    if r.returncode not in (0, 1):
        raise Fail("ckpt2core exited with %d" % r.returncode)
    return r


def cmd_image(a):
    """layout, oci-archive, docker-archive: convert, check sysroot and gdb."""
    fx, work, root = prepare(a)
    lower, upper = layers_from_root(root)
    out = os.path.join(work, "out")
    if a.kind == "docker-archive":
        image = os.path.join(work, "image.tar")
        cdig = docker_archive(image, [tar_bytes(lower, "zstd"), tar_bytes(upper)])
        ref, mdig = cdig[7:], cdig  # CRI-O/containerd: rootfsImageRef is the image ID
    else:
        layout = os.path.join(work, "layout")
        mdig, _cdig, _l = oci_layout(layout, [tar_bytes(lower, "gzip"), tar_bytes(upper, "gzip")])
        image = layout
        if a.kind == "oci-archive":
            image = os.path.join(work, "image.oci.tar")
            tar_dir(layout, image)
        ref = "localhost/counter@" + mdig
    ck = checkpoint_dir(work, fx, root, ref)
    # The tarballs by IMAGE:REF (skopeo's oci:DIR:REF, a docker-archive's RepoTag).
    r = convert_ok(a, [ck, "--image", image if a.kind == "layout" else image + ":counter:test"],
                   out)
    expect_warnings(r.stderr, mdig)
    sysroot = os.path.join(out, "sysroot")
    check_sysroot(root, out, sysroot)
    check_gdb(out, sysroot)

    # --sysroot-out elsewhere, and a config.dump naming another image.
    with open(os.path.join(ck, "config.dump"), "w") as f:
        json.dump({"rootfsImageRef": "f" * 64}, f)
    out2, sr2 = os.path.join(work, "out2"), os.path.join(work, "elsewhere", "files")
    os.makedirs(os.path.dirname(sr2))
    r = convert_ok(a, [ck, "--image", image, "--sysroot-out", sr2], out2)
    if "is not the one config.dump names (rootfsImageRef sha256:%s)" % ("f" * 64) not in r.stderr:
        raise Fail("no warning that config.dump names another image")
    check_sysroot(root, out2, sr2)
    # It exists now: kept without --force, replaced with it.
    r = run(a, [ck, "--image", image, "--sysroot-out", sr2, "-o", os.path.join(work, "out3")])
    if r.returncode != 2 or "sysroot exists; not overwritten (use --force)" not in r.stderr:
        raise Fail("an existing sysroot was not refused (%d)" % r.returncode)
    convert_ok(a, [ck, "--image", image, "--sysroot-out", sr2, "-f"], os.path.join(work, "out3"))
    check_sysroot(root, out2, sr2)
    log("ok")


def expect_error(a, args, out, pattern):
    r = run(a, args + ["-o", out])
    if r.returncode != 2:
        raise Fail("exit %d, expected 2" % r.returncode)
    last = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
    if not re.fullmatch(pattern, last):
        raise Fail("error text:\n  %s\nexpected:\n  %s" % (last, pattern))
    left = os.listdir(out) if os.path.isdir(out) else []
    if left:
        raise Fail("left behind in %s: %s" % (out, left))


def cmd_hostile(a):
    """Images that must fail, with the file, member and offset, leaving nothing."""
    fx, work, _root = prepare(a)
    good = tar_bytes([("usr/bin/x", "f", b"x")], "gzip")
    # A member climbing out of the image.
    evil = os.path.join(work, "evil")
    _m, _c, ldig = oci_layout(evil, [good, tar_bytes([("../../etc/x", "f", b"pwned\n")], "gzip")])
    expect_error(a, [fx.images, "--image", evil], os.path.join(work, "out-evil"),
                 re.escape("ckpt2core: error: '%s/blobs/sha256/%s:../../etc/x': offset 0 (0x0): "
                           "member path leaves the image (absolute or with '..')"
                           % (evil, ldig[1][7:])))
    absolute = os.path.join(work, "absolute")
    _m, _c, ldig = oci_layout(absolute, [tar_bytes([("usr/a", "f", b"a"), ("/etc/x", "f", b"x")])])
    expect_error(a, [fx.images, "--image", absolute], os.path.join(work, "out-abs"),
                 re.escape("ckpt2core: error: '%s/blobs/sha256/%s:/etc/x': offset 1024 (0x400): "
                           "member path leaves the image (absolute or with '..')"
                           % (absolute, ldig[0][7:])))
    # A layer blob that is not there.
    missing = os.path.join(work, "missing")
    _m, _c, ldig = oci_layout(missing, [good, tar_bytes([("usr/bin/y", "f", b"y")], "gzip")])
    os.unlink(os.path.join(missing, "blobs", "sha256", ldig[1][7:]))
    expect_error(a, [fx.images, "--image", missing], os.path.join(work, "out-missing"),
                 re.escape("ckpt2core: error: '%s/blobs/sha256/%s': blob of layer 2 is missing"
                           % (missing, ldig[1][7:])))
    # A layer whose bytes are not those its digest names (a valid tar all the same).
    tampered = os.path.join(work, "tampered")
    layer = tar_bytes([("usr/bin/y", "f", b"original")])
    _m, _c, ldig = oci_layout(tampered, [good, layer])
    blob = os.path.join(tampered, "blobs", "sha256", ldig[1][7:])
    changed = layer.replace(b"original", b"changed!")
    with open(blob, "wb") as f:
        f.write(changed)
    expect_error(a, [fx.images, "--image", tampered], os.path.join(work, "out-tampered"),
                 re.escape("ckpt2core: error: '%s': content does not match its digest (its "
                           "sha256 is %s)" % (blob, hashlib.sha256(changed).hexdigest())))
    # IMAGE:REF naming no image of the layout.
    tagged = os.path.join(work, "tagged")
    oci_layout(tagged, [good])
    expect_error(a, [fx.images, "--image", tagged + ":other"], os.path.join(work, "out-tag"),
                 re.escape("ckpt2core: error: '%s/index.json': no image named 'other' for "
                           "linux/amd64 (org.opencontainers.image.ref.name)" % tagged))
    # A gzip layer cut short.
    cut = os.path.join(work, "cut")
    big = tar_bytes([("usr/lib/big", "f", os.urandom(256 << 10))], "gzip")
    _m, _c, ldig = oci_layout(cut, [big])
    blob = os.path.join(cut, "blobs", "sha256", ldig[0][7:])
    with open(blob, "r+b") as f:
        f.truncate(len(big) // 2)
    expect_error(a, [fx.images, "--image", cut], os.path.join(work, "out-cut"),
                 re.escape("ckpt2core: error: '%s': offset " % blob) + r"\d+ \(0x[0-9a-f]+\): "
                 r"cannot read the layer: .*")
    # Symlinks leading out of the image are resolved inside it: nothing of the host is read.
    escape = os.path.join(work, "escape")
    oci_layout(escape, [tar_bytes([(PY[1:], "l", "../../../../../../../../etc/passwd"),
                                   ("usr/lib/x86_64-linux-gnu", "l", "/../../../../usr/lib/x86_64-linux-gnu"),
                                   ("usr/lib/locale", "l", "/../../proc/self/root/usr/lib/locale")])])
    out = os.path.join(work, "out-escape")
    r = run(a, [fx.images, "--image", escape, "-o", out])
    if r.returncode != 1 or "'%s' is not in the image" % PY not in r.stderr:
        raise Fail("an escaping symlink was not contained (%d)" % r.returncode)
    inside = [os.path.join(d, f) for d, dirs, files in os.walk(os.path.join(out, "sysroot"))
              for f in dirs + files if os.path.islink(os.path.join(d, f))
              or os.path.isfile(os.path.join(d, f))]
    if inside:
        raise Fail("files read through escaping links: %s" % inside)
    # The same in an oci-archive: the member of the image tar is named.
    evil_tar = os.path.join(work, "evil.tar")
    tar_dir(evil, evil_tar)
    _m, _c, ldig = None, None, [d for d in sorted(os.listdir(os.path.join(evil, "blobs", "sha256")))]
    r = run(a, [fx.images, "--image", evil_tar, "-o", os.path.join(work, "out-evil-tar")])
    if r.returncode != 2 or not re.search(r"'%s:blobs/sha256/[0-9a-f]{64}:\.\./\.\./etc/x': offset 0 "
                                          r"\(0x0\): member path leaves the image" % re.escape(evil_tar),
                                          r.stderr):
        raise Fail("oci-archive traversal not reported as expected (%d)" % r.returncode)
    log("ok")


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("check", choices=["layout", "oci-archive", "docker-archive", "hostile"])
    p.add_argument("--ckpt2core", required=True)
    p.add_argument("--fixture", required=True)
    p.add_argument("--work", required=True)
    a = p.parse_args(argv)
    a.ckpt2core = os.path.abspath(a.ckpt2core)
    a.kind = a.check
    return e2e.run_check(cmd_hostile if a.check == "hostile" else cmd_image, a)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
