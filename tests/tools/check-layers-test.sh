#!/bin/sh
# tools/check-layers.sh must pass on the tree and fail on a copy of it with an
# upward include (base including a report header) and with an include cycle
# between two headers of one stage.
set -eu
top=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
sh "$top/tools/check-layers.sh" "$top/src/lib"

cp -r "$top/src/lib" "$work/up"
printf '#include "report.h"\n' >>"$work/up/base/util.c"
if sh "$top/tools/check-layers.sh" "$work/up" 2>"$work/up.err"; then
	echo "an upward include was not found" >&2
	exit 1
fi
grep -q 'base/util.c (stage base) includes report/report.h (stage report): upward' "$work/up.err"

cp -r "$top/src/lib" "$work/cycle"
printf '#include "process.h"\n' >>"$work/cycle/model/model.h"
printf '#include "model.h"\n' >>"$work/cycle/model/process.h"
if sh "$top/tools/check-layers.sh" "$work/cycle" 2>"$work/cycle.err"; then
	echo "an include cycle was not found" >&2
	exit 1
fi
grep -q 'include cycle: ' "$work/cycle.err"
echo "check-layers: finds upward includes and cycles"
