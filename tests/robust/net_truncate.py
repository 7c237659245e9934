#!/usr/bin/env python3
"""Truncation and byte-flip test of inspect's network and cgroup images.

    net_truncate.py --ckpt2core BIN --mkimg tools/c2c-mkimg.py --work DIR

These images are optional for inspect (and never read by a conversion), so
damage must be a warning, not a failed inspect. A checkpoint with every kind
(netdev-2, ifaddr-2, route-2, route6-2, netns-2, cgroup.img) is generated
with tools/c2c-mkimg.py; then each of these files, on a copy, is truncated at
every byte offset and has each byte flipped (xor 0xff), and
`ckpt2core inspect --network --cgroup --format json` must:
  - exit 0 or 1, never 2, a signal or a timeout, and print no sanitizer report;
  - print valid JSON;
  - when it exits 1, every warning about the damaged file names it and a byte
    offset ("'<dir>/<file>': offset N (0x..)") and ends in "; ignored".
A truncation inside an image (not at its end) must cause such a warning,
except a cut at a message boundary of a raw dump or a record boundary of
netdev (an array): that is a shorter valid image.

Exit status: 0 pass, 1 failure.
"""
import argparse
import json
import os
import re
import shutil
import struct
import subprocess
import sys

SANITIZER = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|"
                       r"SUMMARY: \w+Sanitizer|==\d+==ERROR")
VMAS = [{"kind": "anon", "start": "0x7f0000000000", "pages": 4},
        {"kind": "stack", "start": "0x7ffc00000000", "pages": 8}]
SPEC = {
    "processes": [{"pid": 1, "cg_set": 2, "vmas": VMAS}],
    "netns": [{"id": 2, "ext_key": "",
               "devices": [{"type": "LOOPBACK", "ifindex": 1, "mac": "00:00:00:00:00:00"},
                           {"type": "VETH", "ifindex": 2, "mac": "0a:58:0a:f4:01:05",
                            "peer_ifindex": 9, "peer_nsid": 1}],
               "addresses": [{"ifindex": 1, "address": "127.0.0.1", "prefixlen": 8},
                             {"ifindex": 2, "address": "10.0.0.2", "prefixlen": 24,
                              "broadcast": "10.0.0.255"},
                             {"ifindex": 2, "address": "fd00::2", "prefixlen": 64}],
               "routes": 2, "routes6": 1}],
    "cgroup": {"sets": [{"id": 2, "ctls": [{"name": "cpu", "path": "/a"},
                                           {"name": "", "path": "/b"}]}],
               "controllers": [{"cnames": ["cpu"]}]}}
FILES = ["netdev-2.img", "ifaddr-2.img", "route-2.img", "route6-2.img", "netns-2.img",
         "cgroup.img"]
RAW = {"ifaddr-2.img", "route-2.img", "route6-2.img"}


def raw_bounds(data):
    """Offsets where a message of an iproute2 dump ends (after the magic)."""
    pos, out = 4, {4}
    while pos + 16 <= len(data):
        (n,) = struct.unpack_from("<I", data, pos)
        pos += (n + 3) & ~3
        out.add(pos)
    return out


def framed_bounds(data):
    """Record boundaries of a CRIU image of an array (IMG_COMMON, magic, records)."""
    pos, out = 8, {8}
    while pos + 4 <= len(data):
        (n,) = struct.unpack_from("<I", data, pos)
        pos += 4 + n
        out.add(pos)
    return out


def run(a, d, name, what, must_warn):
    r = subprocess.run([a.ckpt2core, "inspect", "--network", "--cgroup", "--format", "json", d],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    err = r.stderr.decode(errors="replace")
    where = "%s %s" % (name, what)
    if r.returncode not in (0, 1):
        return "%s: exit %d: %s" % (where, r.returncode, err)
    if SANITIZER.search(err):
        return "%s: sanitizer report: %s" % (where, err)
    try:
        rep = json.loads(r.stdout)[0]
    except (ValueError, IndexError) as e:
        return "%s: no JSON report: %s" % (where, e)
    mine = [w for w in rep["warnings"] if ("/%s'" % name) in w]
    pat = re.compile(r"^'[^']*/%s': offset \d+ \(0x[0-9a-f]+\)(, record -?\d+)?: .*; ignored$"
                     % re.escape(name))
    for w in mine:
        if not pat.match(w):
            return "%s: warning without file and offset: %r" % (where, w)
    if must_warn and not mine:
        return "%s: no warning" % where
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt2core", required=True)
    ap.add_argument("--mkimg", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    spec = os.path.join(a.work, "spec.json")
    with open(spec, "w") as f:
        json.dump(SPEC, f)
    good = os.path.join(a.work, "good")
    subprocess.run([sys.executable, a.mkimg, spec, "-o", good], check=True)
    d = os.path.join(a.work, "case")
    shutil.copytree(good, d)
    fails, runs = [], 0
    for name in FILES:
        path = os.path.join(d, name)
        with open(os.path.join(good, name), "rb") as f:
            data = f.read()
        # a cut at a message or record boundary of an array is a shorter, valid image
        bounds = (raw_bounds(data) if name in RAW else
                  framed_bounds(data) if name == "netdev-2.img" else set())
        cases = [("truncated at %d" % n, data[:n], n < len(data) and n not in bounds)
                 for n in range(len(data))]
        cases += [("byte %d flipped" % i, data[:i] + bytes([data[i] ^ 0xff]) + data[i + 1:],
                   False) for i in range(len(data))]
        for what, content, must_warn in cases:
            with open(path, "wb") as f:
                f.write(content)
            msg = run(a, d, name, what, must_warn)
            runs += 1
            if msg:
                fails.append(msg)
                print("FAIL: " + msg)
        with open(path, "wb") as f:
            f.write(data)
    print("%d runs, %d failed" % (runs, len(fails)))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
