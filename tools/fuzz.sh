#!/bin/sh
# fuzz.sh TARGET SECONDS [libFuzzer options...]: run one fuzz target
# (image, pagemap, checkpoint, archive; see tests/fuzz/) under libFuzzer with
# AddressSanitizer + UndefinedBehaviorSanitizer (leak checking included) for
# SECONDS, then print how many inputs it executed.
#
# Builds with clang and -DC2C_FUZZ=ON in build-fuzz/ (installs clang and
# libclang-rt-14-dev first if they are missing). The committed corpus
# tests/fuzz/corpus/TARGET is read, never written: new inputs go to
# build-fuzz/corpus/TARGET, crash/leak/timeout inputs to
# build-fuzz/artifacts/TARGET/ (add them to the committed corpus, named after
# the defect, once fixed). The run's log is build-fuzz/fuzz-TARGET.log.
# Exit status is libFuzzer's: 0 when nothing was found.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

if [ $# -lt 2 ]; then
	echo "usage: $0 image|pagemap|checkpoint|archive SECONDS [libFuzzer options...]" >&2
	exit 64
fi
target=$1
secs=$2
shift 2
case "$target" in
image | pagemap | net) max_len=65536 ;;
checkpoint) max_len=131072 ;;
archive) max_len=262144 ;;
*) echo "fuzz.sh: unknown target '$target'" >&2; exit 64 ;;
esac

# clang's libFuzzer runtime (Debian: libclang-rt-14-dev).
if ! command -v clang >/dev/null 2>&1 ||
	! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
	sudo=
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	echo "fuzz.sh: installing clang and libclang-rt-14-dev" >&2
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		clang libclang-rt-14-dev >/dev/null
fi
sh tools/deps.sh build

b=build-fuzz
# A build directory of its own, so it never races another fuzz.sh's configure.
if [ ! -f "$b/CMakeCache.txt" ]; then
	CC=clang cmake -S . -B "$b" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DC2C_FUZZ=ON \
		-DC2C_WERROR=OFF >/dev/null
fi
cmake --build "$b" --target "fuzz-$target" -j"$(nproc)" >/dev/null

# Scratch space for the cores each input writes: tmpfs when there is one.
tmp=$top/$b/tmp-$target
[ -d /dev/shm ] && [ -w /dev/shm ] && tmp=/dev/shm/c2c-fuzz-$target-$$
mkdir -p "$b/corpus/$target" "$b/artifacts/$target" "$tmp"
log=$b/fuzz-$target.log
status=0
TMPDIR=$tmp \
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
	"$b/tests/fuzz/fuzz-$target" "$b/corpus/$target" "tests/fuzz/corpus/$target" \
	-dict="tests/fuzz/fuzz-$target.dict" -max_len="$max_len" -timeout=10 \
	-rss_limit_mb=2048 -max_total_time="$secs" -print_final_stats=1 \
	-artifact_prefix="$b/artifacts/$target/" "$@" >"$log" 2>&1 || status=$?

rm -rf "$tmp"
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
ran=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
grep -E '^(==[0-9]+==ERROR|SUMMARY|artifact_prefix)|runtime error' "$log" | head -n 5 || true
echo "fuzz-$target: ${execs:-?} executions in ${ran:-?} s of $secs, exit status $status (log: $log)"
exit "$status"
