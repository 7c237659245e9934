#!/bin/sh
# check-layers.sh [SRCDIR]: fail on an include that goes up the pipeline, or
# on an include cycle between files, in src/lib (doc/architecture.md).
#
# Stage order, lowest first; a file may include headers of its own stage
# and of the stages before it only:
#   base source image arch model plan write report api
# Files are found by name in the stage folders; includes of headers that
# are not ours (<...>, generated *.pb-c.h) are not checked here.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
lib=${1:-$top/src/lib}
exec python3 - "$lib" <<'PY'
import os, re, sys

lib = sys.argv[1]
order = ["base", "source", "image", "arch", "model", "plan", "write", "report", "api"]
rank = {s: i for i, s in enumerate(order)}
stage_of, deps, bad = {}, {}, []

for s in order:
    d = os.path.join(lib, s)
    if not os.path.isdir(d):
        bad.append("missing stage folder %s" % d)
        continue
    for f in sorted(os.listdir(d)):
        if f.endswith((".c", ".h")):
            if f in stage_of:
                bad.append("%s is in both %s and %s" % (f, stage_of[f], s))
            stage_of[f] = s
for f in os.listdir(lib):
    if f.endswith((".c", ".h")):
        bad.append("%s: library sources belong in a stage folder" % f)

inc = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
for f, s in stage_of.items():
    with open(os.path.join(lib, s, f)) as fh:
        text = fh.read()
    deps[f] = []
    for h in inc.findall(text):
        h = os.path.basename(h)
        if h.endswith(".pb-c.h") or h == "ckpt2core/ckpt2core.h" or h == "ckpt2core.h":
            continue
        if h not in stage_of:
            bad.append("%s/%s includes \"%s\", which no stage has" % (s, f, h))
            continue
        if rank[stage_of[h]] > rank[s]:
            bad.append("%s/%s (stage %s) includes %s/%s (stage %s): upward" %
                       (s, f, s, stage_of[h], h, stage_of[h]))
        deps[f].append(h)

# Cycles between files (headers including each other, directly or not).
state = {}
def visit(f, path):
    state[f] = 1
    for h in deps.get(f, []):
        if state.get(h) == 1:
            bad.append("include cycle: " + " -> ".join(path[path.index(h):] + [h]))
        elif h not in state:
            visit(h, path + [h])
    state[f] = 2
for f in sorted(deps):
    if f not in state:
        visit(f, [f])

for b in bad:
    print("check-layers: " + b, file=sys.stderr)
print("check-layers: %d files in %d stages, %d problems" % (len(stage_of), len(order), len(bad)))
sys.exit(1 if bad else 0)
PY
