#!/usr/bin/env python3
"""`ckpt2core inspect --network --cgroup` against the values put into a spec.

No fixture has network or cgroup images (CRI-O's have an external network
namespace), so the checkpoints are generated with tools/c2c-mkimg.py:

  1. a pod-like namespace (lo, a veth with a peer, a bridge; v4 and v6
     addresses with broadcast, label and scopes; route counts) and three
     cgroup sets, two processes in different sets (one with the old
     TaskCoreEntry.cg_set too, which ThreadCoreEntry.cg_set overrides):
     inspect's JSON and text must show exactly the spec's values, and
     Debian's `crit decode` of netdev-2.img and cgroup.img must agree with
     inspect's JSON (skipped without crit);
  2. the real `ip addr save` capture tests/inspect/ifaddr-real.img (made on
     the build machine: `unshare -rn`, lo up, `ip addr add 10.1.2.3/8 dev lo
     label lo:a`, `ip addr add fd00::5/64 dev lo`, `ip addr save`; iproute2
     6.1, Linux 6.x): c2c-mkimg's ifaddr writer reproduces it byte for byte
     from REAL_ADDRS, and inspect decodes these four addresses from it;
  3. an external namespace (netns-2.img with ext_key only), and the
     namespace CRIU ran in (inventory.img root_ids): interfaces are reported
     as not in the checkpoint, saying why;
  4. the CRI-O archive of the counter fixture: no interfaces, the container
     IP from the annotations (with --network alone), in --all too;
  5. a truncated ifaddr image and a cgroup.img with a bad magic: warnings
     naming the file and byte offset, exit 1, the rest still shown.
Every JSON report is validated against doc/report.schema.json (when the
jsonschema module is installed).

  network.py --ckpt2core BIN --mkimg tools/c2c-mkimg.py --work DIR [--fixtures DIR]
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys

# This directory's inspect.py would shadow the standard module jsonschema imports.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(
    os.path.abspath(__file__))]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from c2ctest import Fail, run_main  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ARCHIVE = "checkpoint-counters_default-counter-2026-11-28T21:47:15Z.tar"
VMAS = [{"kind": "anon", "start": "0x7f0000000000", "pages": 4},
        {"kind": "stack", "start": "0x7ffc00000000", "pages": 8}]

DEVICES = [
    {"type": "LOOPBACK", "ifindex": 1, "name": "lo", "mac": "00:00:00:00:00:00",
     "flags": ["UP", "LOOPBACK", "RUNNING", "LOWER_UP"], "mtu": 65536},
    {"type": "VETH", "ifindex": 3, "name": "eth0", "mac": "0a:58:0a:f4:01:05", "mtu": 1450,
     "flags": ["UP", "BROADCAST", "RUNNING", "MULTICAST", "LOWER_UP"],
     "peer_ifindex": 12, "peer_nsid": 0},
    {"type": "BRIDGE", "ifindex": 4, "name": "br0", "mac": "02:42:ac:11:00:01", "mtu": 1500,
     "flags": ["UP", "BROADCAST", "MULTICAST"], "master": 0},
    {"type": "VETH", "ifindex": 5, "name": "veth1", "mac": "9e:d9:2e:45:d3:f7", "mtu": 1500,
     "flags": ["BROADCAST", "MULTICAST"], "master": 4},
]
ADDRESSES = [
    {"ifindex": 1, "address": "127.0.0.1", "prefixlen": 8, "scope": "host"},
    {"ifindex": 3, "address": "10.244.1.5", "prefixlen": 24, "broadcast": "10.244.1.255"},
    {"ifindex": 3, "address": "10.244.9.9", "prefixlen": 32, "label": "eth0:vip"},
    {"ifindex": 3, "address": "fe80::858:aff:fef4:105", "prefixlen": 64, "scope": "link"},
    {"ifindex": 3, "address": "2001:db8::5", "prefixlen": 64},
    {"ifindex": 1, "address": "::1", "prefixlen": 128, "scope": "host", "proto": 1},
]
CGROUP = {
    "sets": [{"id": 1, "ctls": [{"name": "", "path": "/"}]},
             {"id": 2, "ctls": [{"name": "cpu,cpuacct", "path": "/kubepods/pod1/app",
                                 "cgns_prefix": 15},
                                {"name": "memory", "path": "/kubepods/pod1/app"},
                                {"name": "name=systemd", "path": "/system.slice/x.scope"}]},
             {"id": 3, "ctls": [{"name": "", "path": "/kubepods/pod1/helper"}]}],
    "controllers": [{"cnames": ["cpu", "cpuacct"]}, {"cnames": ["memory"]},
                    {"cnames": ["name=systemd"]}]}
SPEC = {
    "processes": [{"pid": 1, "comm": "app", "cg_set": 2, "vmas": VMAS},
                  {"pid": 7, "comm": "helper", "cg_set": 3, "tc": {"cg_set": 9}, "vmas": VMAS}],
    "netns": [{"id": 2, "devices": DEVICES, "addresses": ADDRESSES, "routes": 3, "routes6": 2}],
    "cgroup": CGROUP,
    # CRIU ran in another (the host's) namespace, 1, as when it dumps a container's
    "inventory": {"root_ids": {"net_ns_id": 1}}}

# What the capture holds, with its netlink sequence number, port id and cache
# timestamps, so that the generated blob can be compared byte for byte.
_CAP = {"seq": "0x6b117a87", "pid": "0x21e2",
        "cacheinfo": ["0xffffffff", "0xffffffff", "0xb2cc", "0xb2cc"]}
REAL_ADDRS = [
    dict(_CAP, ifindex=1, address="127.0.0.1", prefixlen=8, scope="host"),
    dict(_CAP, ifindex=1, address="10.1.2.3", prefixlen=8, label="lo:a"),
    dict(_CAP, ifindex=1, address="fd00::5", prefixlen=64),
    dict(_CAP, ifindex=1, address="::1", prefixlen=128, scope="host", proto=1),
]
SCOPES = {"global", "host", "link"}


class Env:
    def __init__(self, a):
        self.a = a
        self.checks = 0

    def gen(self, name, spec):
        d = os.path.join(self.a.work, name)
        shutil.rmtree(d, ignore_errors=True)
        sp = os.path.join(self.a.work, name + ".json")
        with open(sp, "w") as f:
            json.dump(spec, f)
        r = subprocess.run([sys.executable, self.a.mkimg, sp, "-o", d],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode:
            raise Fail("c2c-mkimg %s: %s" % (name, r.stderr.decode()))
        return d

    def inspect(self, inp, *opts, want_rc=(0,)):
        r = subprocess.run([self.a.ckpt2core, "inspect", *opts, inp],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode not in want_rc:
            raise Fail("inspect %s %s: exit %d, want %s: %s" % (
                " ".join(opts), inp, r.returncode, want_rc, r.stderr.decode()))
        return r.stdout.decode(), r.stderr.decode()

    def json(self, inp, *opts, want_rc=(0,)):
        out, _ = self.inspect(inp, "--format", "json", *opts, want_rc=want_rc)
        rep = json.loads(out)[0]
        self.valid(rep, "inspect %s %s" % (" ".join(opts), inp))
        return rep

    def valid(self, doc, what):
        """doc (one report of inspect --format json) against doc/report.schema.json."""
        try:
            import jsonschema
        except ImportError:
            return
        with open(os.path.join(HERE, "..", "..", "doc", "report.schema.json")) as f:
            defs = json.load(f)["$defs"]
        try:
            jsonschema.validate([doc], dict(defs["inspect_output"], **{"$defs": defs}))
        except jsonschema.ValidationError as e:
            raise Fail("%s: not valid against report.schema.json: %s" % (what, e.message))
        self.checks += 1

    def eq(self, what, got, want):
        if got != want:
            raise Fail("%s:\n got  %r\n want %r" % (what, got, want))
        self.checks += 1


def want_interfaces():
    out = []
    for d in DEVICES:
        addrs = []
        for a in ADDRESSES:
            if a["ifindex"] != d["ifindex"]:
                continue
            v6 = ":" in a["address"]
            addrs.append({"family": "inet6" if v6 else "inet", "address": a["address"],
                          "prefixlen": a["prefixlen"], "scope": a.get("scope", "global"),
                          "flags": 0x80, "peer": None, "broadcast": a.get("broadcast"),
                          # the kernel labels every v4 address, by default with the link's name
                          "label": None if v6 else a.get("label", d["name"])})
        out.append({"name": d["name"], "ifindex": d["ifindex"], "type": d["type"].lower(),
                    "mtu": d["mtu"], "flags": d["flags"], "mac": d["mac"],
                    "peer": ({"ifindex": d["peer_ifindex"], "nsid": d["peer_nsid"]}
                             if "peer_ifindex" in d else None),
                    "master": d.get("master") or None, "addresses": addrs})
    return out


def want_cgroup(set_id):
    s = next(s for s in CGROUP["sets"] if s["id"] == set_id)
    return {"set": set_id, "in_checkpoint": True,
            "paths": [{"controllers": c["name"], "path": c["path"],
                       "cgns_prefix": c.get("cgns_prefix", 0)} for c in s["ctls"]]}


def check_generated(e):
    d = e.gen("pod", SPEC)
    rep = e.json(d, "--network", "--cgroup")
    procs = {p["pid"]: p for p in rep["processes"]}
    for pid, set_id in ((1, 2), (7, 3)):
        det = procs[pid]["details"]
        e.eq("pid %d details keys" % pid, sorted(det), ["cgroup", "network"])
        net = det["network"]
        e.eq("pid %d network head" % pid,
             (net["net_ns"], net["in_checkpoint"], net["external"], net["criu_namespace"],
              net["addresses"], net["routes"]), (2, True, None, False, [], {"ipv4": 3, "ipv6": 2}))
        e.eq("pid %d interfaces" % pid, net["interfaces"], want_interfaces())
        e.eq("pid %d cgroup" % pid, det["cgroup"], want_cgroup(set_id))
    e.eq("warnings", rep["warnings"], [])

    text, _ = e.inspect(d, "--network", "--cgroup")
    for line in ("netdev  3: eth0 veth mtu 1450 <UP,BROADCAST,RUNNING,MULTICAST,LOWER_UP> "
                 "link 0a:58:0a:f4:01:05 peer if12 nsid 0",
                 "netdev  5: veth1 veth mtu 1500 <BROADCAST,MULTICAST> link 9e:d9:2e:45:d3:f7 "
                 "master if4",
                 "inet  10.244.1.5/24 brd 10.244.1.255 scope global eth0",
                 "inet  10.244.9.9/32 scope global eth0:vip",
                 "inet6 fe80::858:aff:fef4:105/64 scope link eth0",
                 "inet6 ::1/128 scope host lo",
                 "routes  ipv4 3, ipv6 2",
                 "cgroup  cpu,cpuacct:/kubepods/pod1/app",
                 "cgroup  name=systemd:/system.slice/x.scope",
                 "cgroup  :/kubepods/pod1/helper"):
        if line not in text:
            raise Fail("text output lacks %r:\n%s" % (line, text))
        e.checks += 1

    # --all has both; other flags alone have neither.
    det = e.json(d, "--all")["processes"][0]["details"]
    e.eq("--all network", det["network"]["interfaces"], want_interfaces())
    e.eq("--all cgroup", det["cgroup"], want_cgroup(2))
    det = e.json(d, "--task")["processes"][0]["details"]
    e.eq("--task alone", ("network" in det, "cgroup" in det), (False, False))

    # crit (CRIU's own decoder) reads the same links and sets from the images.
    crit = shutil.which("crit")
    if not crit:
        print("network: crit not installed, crit cross-check skipped")
        return rep
    def decode(name):
        r = subprocess.run([crit, "decode", "-i", os.path.join(d, name)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode:
            raise Fail("crit decode %s: %s" % (name, r.stderr.decode()))
        return json.loads(r.stdout)["entries"]
    got = procs[1]["details"]["network"]["interfaces"]
    crit_devs = [(x["name"], x["ifindex"], x["type"].lower(), x["mtu"], int(str(x["flags"]), 0),
                  ":".join("%02x" % b for b in base64.b64decode(x["address"])),
                  x.get("peer_ifindex"), x.get("master") or None) for x in decode("netdev-2.img")]
    flagbits = {"UP": 1, "BROADCAST": 2, "LOOPBACK": 8, "RUNNING": 0x40, "MULTICAST": 0x1000,
                "LOWER_UP": 0x10000}
    ours = [(g["name"], g["ifindex"], g["type"], g["mtu"], sum(flagbits[f] for f in g["flags"]),
             g["mac"], g["peer"]["ifindex"] if g["peer"] else None, g["master"]) for g in got]
    e.eq("crit netdev-2.img vs inspect", crit_devs, ours)
    cg = decode("cgroup.img")[0]
    for pid, set_id in ((1, 2), (7, 3)):
        s = next(s for s in cg["sets"] if s["id"] == set_id)
        e.eq("crit cgroup.img set %d vs inspect" % set_id,
             [(c["name"], c["path"]) for c in s["ctls"]],
             [(c["controllers"], c["path"]) for c in procs[pid]["details"]["cgroup"]["paths"]])
    for pid in (1, 7):
        # crit before 3.18 does not know ThreadCoreEntry.cg_set (Debian 12 has 3.17)
        core = decode("core-%d.img" % pid)[0]
        if "cg_set" in core["thread_core"]:
            e.eq("crit core-%d.img cg_set vs inspect" % pid, core["thread_core"]["cg_set"],
                 procs[pid]["details"]["cgroup"]["set"])
    return rep


def check_real_capture(e):
    real = os.path.join(HERE, "ifaddr-real.img")
    d = e.gen("real-gen", {"processes": [{"pid": 1, "vmas": VMAS}],
                           "netns": [{"devices": [DEVICES[0]], "addresses": REAL_ADDRS}]})
    with open(real, "rb") as f, open(os.path.join(d, "ifaddr-2.img"), "rb") as g:
        e.eq("generated ifaddr blob equals the real `ip addr save` capture", g.read(), f.read())
    d = e.gen("real", {"processes": [{"pid": 1, "vmas": VMAS}],
                       "netns": [{"devices": [DEVICES[0]], "ifaddr_file": real}]})
    lo = e.json(d, "--network")["processes"][0]["details"]["network"]["interfaces"][0]
    e.eq("addresses of the real capture",
         [(a["family"], a["address"], a["prefixlen"], a["scope"], a["label"])
          for a in lo["addresses"]],
         [("inet", "127.0.0.1", 8, "host", "lo"), ("inet", "10.1.2.3", 8, "global", "lo:a"),
          ("inet6", "fd00::5", 64, "global", None), ("inet6", "::1", 128, "host", None)])


def check_external(e):
    d = e.gen("external", {"processes": [{"pid": 1, "vmas": VMAS}],
                           "netns": [{"ext_key": "extRootNetNS"}],
                           "inventory": {"root_ids": {"net_ns_id": 1}}})
    net = e.json(d, "--network")["processes"][0]["details"]["network"]
    e.eq("external namespace", (net["in_checkpoint"], net["external"], net["criu_namespace"],
                                net["interfaces"]), (False, "extRootNetNS", False, []))
    # in CRIU's own namespace (the generator's default root_ids): never dumped
    c = e.gen("criu-ns", {"processes": [{"pid": 1, "vmas": VMAS}]})
    net = e.json(c, "--network")["processes"][0]["details"]["network"]
    e.eq("CRIU's namespace", (net["in_checkpoint"], net["external"], net["criu_namespace"]),
         (False, None, True))
    text, _ = e.inspect(c, "--network")
    if "interfaces not in the checkpoint (the namespace CRIU ran in, never dumped)" not in text:
        raise Fail("text output for CRIU's namespace:\n%s" % text)
    e.checks += 1
    text, _ = e.inspect(d, "--network", "--cgroup")
    for line in ("interfaces not in the checkpoint (external namespace 'extRootNetNS')",
                 "cgroup  not in the checkpoint (no cgroup.img)"):
        if line not in text:
            raise Fail("text output lacks %r:\n%s" % (line, text))
        e.checks += 1


def check_crio(e):
    arc = os.path.join(e.a.fixtures or "", "counter-archives", "archives", ARCHIVE)
    if not e.a.fixtures or not os.path.exists(arc):
        print("network: counter archive not unpacked, CRI-O case skipped")
        return
    for opts in (("--network",), ("--all",)):
        rep = e.json(arc, *opts)
        e.eq("CRI-O %s container ip" % opts[0], rep["container_details"]["ip"], ["10.88.0.25"])
        for p in rep["processes"]:
            # the fixture's processes share CRIU's (the host's) namespace (PROVENANCE.md)
            n = p["details"]["network"]
            e.eq("CRI-O pid %d network" % p["pid"],
                 (n["in_checkpoint"], n["criu_namespace"], n["interfaces"]), (False, True, []))
    text, _ = e.inspect(arc, "--network")
    if "  ip         10.88.0.25" not in text or "interfaces not in the checkpoint" not in text:
        raise Fail("CRI-O text output:\n%s" % text)
    e.checks += 1


def check_damage(e):
    d = e.gen("damaged", SPEC)
    with open(os.path.join(d, "ifaddr-2.img"), "r+b") as f:
        f.truncate(100)     # inside the second message (offset 80, 80 bytes long)
    with open(os.path.join(d, "cgroup.img"), "r+b") as f:
        f.seek(4)
        f.write(b"\0\0\0\0")
    rep = e.json(d, "--network", "--cgroup", want_rc=(1,))
    w = rep["warnings"]
    want = ["'%s/ifaddr-2.img': offset 80 (0x50), record 1: truncated netlink message: need "
            % d, "'%s/cgroup.img': offset 4 (0x4): wrong magic 0x00000000" % d]
    for prefix in want:
        if not any(x.startswith(prefix) and x.endswith("; ignored") for x in w):
            raise Fail("no warning %r in %r" % (prefix, w))
        e.checks += 1
    net = rep["processes"][0]["details"]["network"]
    e.eq("addresses before the damage",
         [a["address"] for i in net["interfaces"] for a in i["addresses"]], ["127.0.0.1"])
    e.eq("cgroup of a bad cgroup.img", rep["processes"][0]["details"]["cgroup"]["in_checkpoint"],
         False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt2core", required=True)
    ap.add_argument("--mkimg", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--fixtures")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    e = Env(a)
    check_generated(e)
    check_real_capture(e)
    check_external(e)
    check_crio(e)
    check_damage(e)
    return e.checks


if __name__ == "__main__":
    run_main(main)
