#!/usr/bin/env python3
"""Offline check of deploy/*.yaml and the Containerfile (issue #16).

Debian 12 packages no offline Kubernetes schema validator (no kubeconform,
kubeval or kube-linter; `kubectl --dry-run=client --validate` needs a
server), so this parses every manifest with PyYAML (python3-yaml) and checks
the fields that matter, against the Kubernetes API field names and against
the real CLI:

- every document: apiVersion/kind among the ones used here, metadata.name a
  DNS-1123 name, the namespace ckpt2core, no unknown top-level fields;
- pod templates (DaemonSet, Job): selector matches the template labels, no
  host network/PID/IPC, no service account token, seccomp RuntimeDefault;
  each container: an image with a tag (not latest), requests and limits for
  cpu and memory (valid quantities, requests <= limits),
  allowPrivilegeEscalation false, readOnlyRootFilesystem true, capabilities
  drop ALL and add nothing, not privileged; every volumeMount names a volume;
- the DaemonSet: a hostPath volume of /var/lib/kubelet/checkpoints mounted
  read-only, an output volume mounted writable, `watch` with it as DIR;
- the Job: Indexed, restartPolicy Never or OnFailure, --shard N equal to
  completions, non-root;
- the NetworkPolicy: selects every pod above, Ingress and Egress, no rules;
- the kustomization lists the files;
- the container args: every option exists in `ckpt2core watch --help`, and
  the args run for real with the real binary (mount paths mapped to
  scratch directories, $(JOB_COMPLETION_INDEX) = 0, --once added to the
  DaemonSet's) and exit 0;
- the Containerfile: a debian:12 build stage installing the build
  dependencies of tools/deps.sh, a gdb target, the runtime stage last (the
  default target), FROM scratch, a non-root USER, ENTRYPOINT the binary.

  deploy_check.py --ckpt2core BIN --source-dir DIR --work DIR
Exit status: 0 pass, 1 fail.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys

import yaml

KINDS = {("v1", "Namespace"), ("apps/v1", "DaemonSet"), ("batch/v1", "Job"),
         ("networking.k8s.io/v1", "NetworkPolicy"),
         ("kustomize.config.k8s.io/v1beta1", "Kustomization")}
TOP = {"apiVersion", "kind", "metadata", "spec"}
POD_SPEC = {"automountServiceAccountToken", "enableServiceLinks", "hostNetwork", "hostPID",
            "hostIPC", "terminationGracePeriodSeconds", "securityContext", "tolerations",
            "containers", "volumes", "restartPolicy", "nodeSelector", "affinity",
            "priorityClassName", "serviceAccountName"}
CONTAINER = {"name", "image", "imagePullPolicy", "args", "command", "env", "resources",
             "securityContext", "volumeMounts"}
CSC = {"allowPrivilegeEscalation", "privileged", "readOnlyRootFilesystem", "capabilities",
       "runAsUser", "runAsGroup", "runAsNonRoot", "seccompProfile"}
PSC = {"runAsUser", "runAsGroup", "runAsNonRoot", "fsGroup", "seccompProfile",
       "supplementalGroups"}
VOLUME_SOURCES = {"hostPath", "persistentVolumeClaim", "emptyDir"}
DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
QUANTITY = re.compile(r"^([0-9]+(\.[0-9]+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")
CHECKPOINTS = "/var/lib/kubelet/checkpoints"


class Fail(Exception):
    pass


errors = []


def check(cond, msg):
    if not cond:
        errors.append(msg)
    return cond


def quantity(q, what):
    m = QUANTITY.match(str(q))
    if not check(m is not None, "%s: %r is not a Kubernetes quantity" % (what, q)):
        return 0
    mult = {None: 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
            "Ki": 1024, "Mi": 1024 ** 2, "Gi": 1024 ** 3, "Ti": 1024 ** 4}[m.group(3)]
    return float(m.group(1)) * mult


def unknown(d, allowed, what):
    extra = set(d) - allowed
    check(not extra, "%s: unknown or unexpected fields %s" % (what, sorted(extra)))


def watch_options(binary):
    r = subprocess.run([binary, "watch", "--help"], capture_output=True, timeout=60)
    if r.returncode != 0:
        raise Fail("ckpt2core watch --help: exit %d" % r.returncode)
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-[a-zA-Z])\b", r.stdout.decode()))


def check_container(c, volumes, what, opts):
    unknown(c, CONTAINER, what)
    check(DNS1123.match(c.get("name", "")), "%s: bad name" % what)
    image = c.get("image", "")
    check(re.match(r"^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9./_-]+:[A-Za-z0-9._-]+$", image) and
          not image.endswith(":latest"), "%s: image %r needs a registry, a name and a tag "
          "(not latest)" % (what, image))
    res = c.get("resources", {})
    for k in ("cpu", "memory"):
        req = res.get("requests", {}).get(k)
        lim = res.get("limits", {}).get(k)
        if check(req is not None and lim is not None, "%s: resources need requests and "
                 "limits for %s" % (what, k)):
            check(quantity(req, what) <= quantity(lim, what), "%s: %s request %s > limit %s" % (
                what, k, req, lim))
    sc = c.get("securityContext", {})
    unknown(sc, CSC, what + ".securityContext")
    check(sc.get("allowPrivilegeEscalation") is False, "%s: allowPrivilegeEscalation must be "
          "false" % what)
    check(sc.get("readOnlyRootFilesystem") is True, "%s: readOnlyRootFilesystem must be true" % what)
    check(sc.get("privileged") in (None, False), "%s: privileged" % what)
    caps = sc.get("capabilities", {})
    check(caps.get("drop") == ["ALL"], "%s: capabilities must drop ALL" % what)
    check(not caps.get("add"), "%s: capabilities added: %s" % (what, caps.get("add")))
    mounts = {}
    for m in c.get("volumeMounts", []):
        check(m.get("name") in volumes, "%s: volumeMount %s names no volume" % (what, m))
        check(str(m.get("mountPath", "")).startswith("/"), "%s: mountPath %s" % (what, m))
        mounts[m["mountPath"]] = m
    args = c.get("args") or []
    check(not c.get("command"), "%s: command overrides the image's ENTRYPOINT" % what)
    check(all(isinstance(a, str) for a in args), "%s: every arg must be a string (quote "
          "numbers): %s" % (what, args))
    check(args[:1] == ["watch"], "%s: args do not run `ckpt2core watch`: %s" % (what, args))
    for a in args:
        if a.startswith("-"):
            check(a.split("=")[0] in opts, "%s: option %s is not in `ckpt2core watch --help`"
                  % (what, a))
    return mounts, args


def run_args(binary, args, mounts, work, what, env):
    """Run ARGS with the real binary, each mount path mapped to a scratch dir."""
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    real = []
    for a in args:
        a = re.sub(r"\$\(([A-Z_]+)\)", lambda m: env.get(m.group(1), "UNSET"), a)
        for mp in sorted(mounts, key=len, reverse=True):
            if a == mp or a.startswith(mp + "/"):
                a = os.path.join(work, mp.strip("/").replace("/", "_")) + a[len(mp):]
                break
        real.append(a)
    check("UNSET" not in " ".join(real), "%s: args use an undefined $(VAR): %s" % (what, args))
    for mp in mounts:
        os.makedirs(os.path.join(work, mp.strip("/").replace("/", "_")), exist_ok=True)
    if "--once" not in real:
        real.append("--once")
    r = subprocess.run([binary] + real, capture_output=True, timeout=120)
    check(r.returncode == 0, "%s: `ckpt2core %s` exits %d:\n%s" % (
        what, " ".join(real), r.returncode, r.stderr.decode(errors="replace")))
    return real


def check_pod_template(doc, what, opts, binary, work):
    spec = doc["spec"]
    tmpl = spec.get("template", {})
    labels = tmpl.get("metadata", {}).get("labels", {})
    sel = spec.get("selector", {}).get("matchLabels")
    if doc["kind"] == "DaemonSet":
        check(sel and all(labels.get(k) == v for k, v in sel.items()),
              "%s: selector %s does not match template labels %s" % (what, sel, labels))
    pod = tmpl.get("spec", {})
    unknown(pod, POD_SPEC, what + ".spec.template.spec")
    check(pod.get("automountServiceAccountToken") is False,
          "%s: automountServiceAccountToken must be false" % what)
    for k in ("hostNetwork", "hostPID", "hostIPC"):
        check(not pod.get(k), "%s: %s" % (what, k))
    psc = pod.get("securityContext", {})
    unknown(psc, PSC, what + ".securityContext")
    check(psc.get("seccompProfile", {}).get("type") == "RuntimeDefault",
          "%s: seccompProfile RuntimeDefault" % what)
    volumes = {}
    for v in pod.get("volumes", []):
        src = set(v) - {"name"}
        check(len(src) == 1 and src <= VOLUME_SOURCES, "%s: volume %s" % (what, v))
        volumes[v["name"]] = v
    containers = pod.get("containers", [])
    check(len(containers) == 1, "%s: one container expected" % what)
    out = []
    for c in containers:
        cw = "%s container %s" % (what, c.get("name"))
        mounts, args = check_container(c, volumes, cw, opts)
        env = {e["name"]: "0" for e in c.get("env", [])}
        out.append((c, mounts, args, volumes, psc))
        run_args(binary, args, mounts, os.path.join(work, doc["metadata"]["name"]), cw, env)
    return labels, out


def check_containerfile(path, deps_sh):
    with open(path) as f:
        text = f.read()
    # Join continued lines, drop comments.
    lines = [l for l in re.sub(r"\\\n", " ", text).splitlines()
             if l.strip() and not l.lstrip().startswith("#")]
    stages = []
    for l in lines:
        m = re.match(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?\s*$", l, re.I)
        if m:
            stages.append({"from": m.group(1), "name": m.group(2), "lines": []})
        elif stages:
            stages[-1]["lines"].append(l)
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, re.M))
    names = [s["name"] for s in stages]
    check(names[-1] == "runtime", "Containerfile: the last (default) stage is %s, not runtime"
          % names[-1])
    check("build" in names and "gdb" in names, "Containerfile: stages %s (build, gdb, "
          "runtime expected)" % names)
    by = {s["name"]: s for s in stages}
    base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), ""), by["build"]["from"])
    check(re.match(r"^(docker\.io/(library/)?)?debian:12(-slim)?$", base),
          "Containerfile: build stage FROM %s, expected debian:12" % base)
    check(by["runtime"]["from"] == "scratch", "Containerfile: runtime stage is not FROM scratch")
    for n in ("gdb", "runtime"):
        body = "\n".join(by[n]["lines"])
        user = re.findall(r"^USER\s+(\S+)", body, re.M)
        check(user and not user[-1].startswith("0") and not user[-1].startswith("root"),
              "Containerfile: stage %s runs as %s" % (n, user))
        check(re.search(r'^ENTRYPOINT\s+\["/usr/bin/ckpt2core"\]', body, re.M),
              "Containerfile: stage %s ENTRYPOINT is not /usr/bin/ckpt2core" % n)
    gdb_body = " ".join(by["gdb"]["lines"])
    check(re.search(r"apt-get install[^&]*\bgdb\b", gdb_body), "Containerfile: gdb not installed")
    rt = by["runtime"]["lines"]
    check(all(re.match(r"^(COPY --from=build |USER |ENTRYPOINT |CMD |LABEL )", l) for l in rt),
          "Containerfile: runtime stage does more than copy the rootfs: %s" % rt)
    build_body = " ".join(by["build"]["lines"])
    with open(deps_sh) as f:
        m = re.search(r'build_pkgs="([^"]*)"', f.read())
    need = set(m.group(1).split()) - {"libcmocka-dev", "xz-utils"}  # tests only
    installed = set(re.findall(r"[a-z0-9][a-z0-9.+-]+", " ".join(
        re.findall(r"apt-get install\s+(?:-\S+\s+)*(.*?)(?:&&|$)", build_body))))
    check(need <= installed, "Containerfile: build stage lacks %s (tools/deps.sh build)" % sorted(
        need - installed))
    check("-DC2C_TESTS=OFF" in build_body, "Containerfile: builds the tests (needs cmocka)")
    check("container-rootfs.sh" in build_body, "Containerfile: rootfs not made by "
          "tools/container-rootfs.sh (the script watch.container-rootfs tests)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt2core", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    src = os.path.abspath(a.source_dir)
    binary = os.path.abspath(a.ckpt2core)
    work = os.path.abspath(a.work)
    deploy = os.path.join(src, "deploy")
    try:
        opts = watch_options(binary)
        docs = []
        files = sorted(f for f in os.listdir(deploy) if f.endswith((".yaml", ".yml")))
        check(files, "no manifests in deploy/")
        for f in files:
            with open(os.path.join(deploy, f)) as fh:
                for d in yaml.safe_load_all(fh):
                    if d is not None:
                        docs.append((f, d))
        pods = {}
        kinds = {}
        kust = None
        for f, d in docs:
            what = "%s: %s" % (f, d.get("kind"))
            check((d.get("apiVersion"), d.get("kind")) in KINDS, "%s: apiVersion/kind %s/%s" % (
                f, d.get("apiVersion"), d.get("kind")))
            kinds.setdefault(d.get("kind"), []).append((f, d))
            if d.get("kind") == "Kustomization":
                kust = (f, d)
                continue
            unknown(d, TOP, what)
            md = d.get("metadata", {})
            check(DNS1123.match(md.get("name", "")), "%s: metadata.name %r" % (what, md.get("name")))
            if d["kind"] != "Namespace":
                check(md.get("namespace") == "ckpt2core", "%s: namespace %r" % (
                    what, md.get("namespace")))
            if d["kind"] in ("DaemonSet", "Job"):
                pods[(f, d["kind"])] = (d,) + check_pod_template(d, what, opts, binary, work)

        ds = [v for k, v in pods.items() if k[1] == "DaemonSet"]
        jobs = [v for k, v in pods.items() if k[1] == "Job"]
        check(len(ds) == 1 and len(jobs) == 1, "one DaemonSet and one Job expected")
        for d, labels, conts in ds:
            c, mounts, args, volumes, psc = conts[0]
            hp = [v for v in volumes.values() if v.get("hostPath", {}).get("path") == CHECKPOINTS]
            if check(len(hp) == 1, "DaemonSet: no hostPath volume of %s" % CHECKPOINTS):
                m = [m for m in mounts.values() if m["name"] == hp[0]["name"]]
                check(len(m) == 1 and m[0].get("readOnly") is True,
                      "DaemonSet: %s must be mounted readOnly: %s" % (CHECKPOINTS, m))
                check(m and args[1:2] == [m[0]["mountPath"]],
                      "DaemonSet: watch DIR %s is not the checkpoint mount" % args[1:2])
                out = args[args.index("-o") + 1] if "-o" in args else None
                check(out in mounts and not mounts[out].get("readOnly"),
                      "DaemonSet: -o %s is not a writable mount" % out)
            check(psc.get("runAsUser") == 0 and psc.get("runAsNonRoot") is False,
                  "DaemonSet: runs as %s; the kubelet's 0700 root directory needs uid 0 "
                  "(documented in daemonset.yaml)" % psc)
        for d, labels, conts in jobs:
            spec = d["spec"]
            c, mounts, args, volumes, psc = conts[0]
            check(spec.get("completionMode") == "Indexed", "Job: not Indexed")
            check(spec["template"]["spec"].get("restartPolicy") in ("Never", "OnFailure"),
                  "Job: restartPolicy")
            check("--once" in args, "Job: args without --once")
            shard = args[args.index("--shard") + 1] if "--shard" in args else ""
            check(shard == "$(JOB_COMPLETION_INDEX)/%d" % spec.get("completions", -1),
                  "Job: --shard %r does not match completions %s" % (shard, spec.get("completions")))
            check(psc.get("runAsNonRoot") is True and psc.get("runAsUser", 0) != 0,
                  "Job: not non-root")
        for f, np in kinds.get("NetworkPolicy", []):
            sel = np["spec"].get("podSelector", {}).get("matchLabels", {})
            check(set(np["spec"].get("policyTypes", [])) == {"Ingress", "Egress"},
                  "NetworkPolicy: policyTypes %s" % np["spec"].get("policyTypes"))
            check(not np["spec"].get("ingress") and not np["spec"].get("egress"),
                  "NetworkPolicy: has allow rules")
            for d, labels, conts in ds + jobs:
                check(all(labels.get(k) == v for k, v in sel.items()),
                      "NetworkPolicy does not select %s (%s)" % (d["kind"], labels))
        check(kinds.get("NetworkPolicy"), "no NetworkPolicy")
        if check(kust is not None, "no kustomization.yaml"):
            res = kust[1].get("resources", [])
            check(all(os.path.exists(os.path.join(deploy, r)) for r in res) and
                  {"daemonset.yaml", "networkpolicy.yaml", "namespace.yaml"} <= set(res),
                  "kustomization resources %s" % res)
        check_containerfile(os.path.join(src, "Containerfile"), os.path.join(src, "tools", "deps.sh"))
        for ign in (".containerignore", ".dockerignore"):
            p = os.path.join(src, ign)
            check(os.path.exists(p) and ".git" in open(p).read().split(), "%s missing or "
                  "does not exclude .git" % ign)
    except Fail as e:
        errors.append(str(e))
    if errors:
        for e in errors:
            print("FAIL: %s" % e)
        return 1
    shutil.rmtree(work, ignore_errors=True)
    print("PASS: deploy (%d manifests, Containerfile)" % len(docs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
