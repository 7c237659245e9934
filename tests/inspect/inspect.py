#!/usr/bin/env python3
"""`ckpt2core inspect --all` against what CRIU itself decodes from the images.

Fixture: counter (fixtures/counter.tar.xz: a CRIU 4.2 dump of a bash | python3
| tee pipeline) and fixtures/counter-decoded.tar.xz (its images decoded to
JSON by CRIU 4.2's own pycriu; fixtures/PROVENANCE.md). For every process the test
derives, from decoded/ alone, the file descriptors (fdinfo-<files_id> and
files.img), the sockets (INETSK entries), pipes, the host name (utsns), the
working and root directory (fs-<pid>) and the credentials (core-<pid>),
and compares them with inspect's JSON, for the image directory and for the
CRI-O archive of the same checkpoint. The environment must be KEY=VALUE
strings holding HOME=/root, and the memory map must list every VMA.

  inspect.py --ckpt2core BIN --fixtures DIR
"""
import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from c2ctest import Fail, run_main  # noqa: E402

ARCHIVE = "checkpoint-counters_default-counter-2026-11-28T21:47:15Z.tar"


def load(dec, name):
    with open(os.path.join(dec, name + ".json")) as f:
        return json.load(f)["entries"]


def expected(dec):
    files = {e["id"]: e for e in load(dec, "files.img")}
    want = {}
    for p in load(dec, "pstree.img"):
        pid = p["pid"]
        ids = load(dec, "ids-%d.img" % pid)[0]
        fds = []
        for fi in load(dec, "fdinfo-%d.img" % ids["files_id"]):
            fe = files[fi["id"]]
            d = {"fd": fi["fd"], "type": fi["type"]}
            if fe["type"] == "REG":
                d["path"] = fe["reg"]["name"]
            elif fe["type"] == "PIPE":
                d["pipe"] = fe["pipe"]["pipe_id"]
            elif fe["type"] == "INETSK":
                k = fe["isk"]
                d["socket"] = (k["proto"].lower(), k["state"], k["src_addr"][0], k["src_port"],
                               k["dst_addr"][0], k["dst_port"])
            fds.append(d)
        fs = load(dec, "fs-%d.img" % pid)[0]
        uts = load(dec, "utsns-%d.img" % ids["uts_ns_id"])[0]
        creds = load(dec, "core-%d.img" % pid)[0]["thread_core"]["creds"]
        want[pid] = {"fds": fds, "hostname": uts["nodename"],
                     "cwd": files[fs["cwd_id"]]["reg"]["name"],
                     "root": files[fs["root_id"]]["reg"]["name"],
                     "uid": creds["uid"], "gid": creds["gid"],
                     "cap_eff": "%08x%08x" % (creds["cap_eff"][1], creds["cap_eff"][0]),
                     "uts_ns": ids["uts_ns_id"], "net_ns": ids["net_ns_id"]}
    return want


def got_of(proc):
    d = proc["details"]
    fds = []
    for f in d["fds"]:
        g = {"fd": f["fd"], "type": f["type"]}
        if "path" in f:
            g["path"] = f["path"]
        if "pipe" in f:
            g["pipe"] = f["pipe"]
        if "socket" in f:
            s = f["socket"]
            g["socket"] = (s["protocol"], s["state"].replace("-", "_"), s["local_address"],
                           s["local_port"], s["remote_address"], s["remote_port"])
        fds.append(g)
    c = d["credentials"]
    return {"fds": fds, "hostname": d["hostname"], "cwd": d["cwd"], "root": d["root"],
            "uid": c["uid"][0], "gid": c["gid"][0], "cap_eff": c["capabilities"]["effective"],
            "uts_ns": d["namespaces"]["uts"], "net_ns": d["namespaces"]["net"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt2core", required=True)
    ap.add_argument("--fixtures", required=True)
    a = ap.parse_args()
    fx = os.path.join(a.fixtures, "counter")
    want = expected(os.path.join(a.fixtures, "counter-decoded"))
    checks = 0
    for inp in (os.path.join(fx, "images"),
                os.path.join(a.fixtures, "counter-archives", "archives", ARCHIVE)):
        r = subprocess.run([a.ckpt2core, "inspect", "--all", "--format", "json", inp],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise Fail("inspect %s: exit %d: %s" % (inp, r.returncode, r.stderr.decode()))
        rep = json.loads(r.stdout)[0]
        procs = {p["pid"]: p for p in rep["processes"]}
        if sorted(procs) != sorted(want):
            raise Fail("processes %s, want %s" % (sorted(procs), sorted(want)))
        for pid, w in want.items():
            g = got_of(procs[pid])
            for k in w:
                if g[k] != w[k]:
                    raise Fail("%s pid %d %s:\n got  %r\n want %r" % (inp, pid, k, g[k], w[k]))
                checks += 1
            env = procs[pid]["details"]["environment"]
            if not env or not all("=" in e for e in env) or "HOME=/root" not in env:
                raise Fail("pid %d environment %r" % (pid, env))
            maps = procs[pid]["details"]["maps"]
            if len(maps) != procs[pid]["memory"]["vmas"]:
                raise Fail("pid %d: %d maps, %d VMAs" % (pid, len(maps),
                                                       procs[pid]["memory"]["vmas"]))
            checks += 2
        # The text form shows the same host name and socket.
        r = subprocess.run([a.ckpt2core, "inspect", "--all", inp], stdout=subprocess.PIPE)
        text = r.stdout.decode()
        if "hostname counters" not in text or "tcp LISTEN 127.0.0.1:8088" not in text:
            raise Fail("tree output lacks host name or socket:\n%s" % text)
        checks += 1
    # The container: IP, annotations, sizes, mounts (spec.dump) and the root-FS
    # diff, against the archive's own members.
    import tarfile
    arc = os.path.join(a.fixtures, "counter-archives", "archives", ARCHIVE)
    r = subprocess.run([a.ckpt2core, "inspect", "--all", "--format", "json", arc],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    rep = json.loads(r.stdout)[0]
    with tarfile.open(arc) as t:
        names = {m.name: m for m in t.getmembers()}
        spec = json.load(t.extractfile(names["spec.dump"]))
        diff = tarfile.open(fileobj=t.extractfile(names["rootfs-diff.tar"]))
        want_diff = sorted(("/" + m.name.lstrip("./"), m.size) for m in diff.getmembers()
                           if m.isfile())
        pages = sum(m.size for n, m in names.items() if os.path.basename(n).startswith("pages-"))
        rootfs_diff = names["rootfs-diff.tar"].size
    cd = rep["container_details"]
    want_ip = [v for k, v in sorted(spec["annotations"].items())
               if k.startswith("io.kubernetes.cri-o.IP.")]
    if cd["ip"] != want_ip or cd["annotations"] != spec["annotations"] or \
            cd["hostname"] != spec["hostname"]:
        raise Fail("container_details %r" % cd)
    if cd["sizes"] != {"checkpoint": os.path.getsize(arc), "pages": pages,
                       "rootfs_diff": rootfs_diff}:
        raise Fail("sizes %r" % cd["sizes"])
    if [(m["destination"], m["type"], m["source"], m["options"]) for m in cd["mounts"]] != \
            [(m["destination"], m["type"], m["source"], m["options"]) for m in spec["mounts"]]:
        raise Fail("mounts %r" % cd["mounts"])
    got_diff = sorted((e["path"], e["size"]) for e in rep["fs_diff"]["changed"])
    if got_diff != want_diff:
        raise Fail("fs_diff %r, want %r" % (got_diff, want_diff))
    checks += 4

    # The details are an option of inspect only.
    r = subprocess.run([a.ckpt2core, "--files", os.path.join(fx, "images")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 64:
        raise Fail("--files without inspect: exit %d" % r.returncode)
    checks += 1
    return checks


if __name__ == "__main__":
    run_main(main)
