#!/bin/sh
# quickstart.sh: install what ckpt2core needs, build it, convert the embedded
# example checkpoint (fixture "sleep": CRIU 4.2 dump of /usr/bin/sleep) and
# show what gdb says about the core. Run from anywhere in the checkout.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

sh tools/deps.sh build
command -v gdb >/dev/null 2>&1 || sh tools/deps.sh test

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"

rm -rf build/example
mkdir -p build/example
tar -xJf fixtures/sleep.tar.xz -C build/example
./build/ckpt2core build/example/sleep/images -o build/example/out

echo
echo "== gdb /usr/bin/sleep build/example/out/core.19715"
gdb -nx -q -batch -iex 'set debuginfod enabled off' \
	-ex 'info threads' -ex 'bt' -ex 'info sharedlibrary' \
	/usr/bin/sleep build/example/out/core.19715 2>&1 | grep -v '^\[New LWP'
