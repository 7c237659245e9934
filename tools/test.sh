#!/bin/sh
# test.sh [--no-sanitize]: install the build and test dependencies, build,
# and run the whole test suite (unit, CLI, end-to-end with gdb/eu-stack);
# then build again with AddressSanitizer + UndefinedBehaviorSanitizer and run
# the suite once more under them. Both builds treat warnings as errors
# (C2C_WERROR, off by default for packagers). The stage-folder rule is checked
# first (tools/check-layers.sh). Exit status is ctest's.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc)

sh tools/deps.sh test
sh tools/check-layers.sh

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DC2C_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest -j"$jobs" --output-on-failure)

if [ "${1:-}" != "--no-sanitize" ]; then
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DC2C_WERROR=ON -DC2C_SANITIZE=address,undefined >/dev/null
	cmake --build build-asan -j"$jobs"
	(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest -j"$jobs" --output-on-failure)
fi
