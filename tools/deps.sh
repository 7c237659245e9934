#!/bin/sh
# deps.sh build|test|arch|capture|bench: install the Debian 12 packages ckpt2core needs to build
# (and, with "test", to run its test suite). Only missing packages are
# installed; apt-get update runs only when something is missing.
set -eu

build_pkgs="cmake gcc make pkg-config libelf-dev libprotobuf-c-dev protobuf-c-compiler
libarchive-dev libjansson-dev libpcre2-dev libdw-dev libcmocka-dev xz-utils"
# gdb, eu-stack/eu-readelf, readelf and libc debug symbols: the end-to-end tests
# compare gdb's and eu-stack's view of our cores with gcore oracles that were
# taken with them. python3 runs the harness (and provides /usr/bin/python3.11,
# the executable of fixture counter). python3-yaml: the offline check of the
# Kubernetes manifests in deploy/ (tests/watch/deploy_check.py). zstd compresses
# the docker-archive layers of tests/oci.
test_pkgs="gdb elfutils binutils libc6-dbg python3 python3-yaml clang strace lldb zstd"
# Cross-architecture tests (tests/arch, label arch): gdb-multiarch reads the
# aarch64, arm, ppc64le, s390x and riscv64 cores, with the cross libcs as sysroots
# (/usr/aarch64-linux-gnu, /usr/arm-linux-gnueabihf, /usr/powerpc64le-linux-gnu,
# /usr/s390x-linux-gnu, /usr/riscv64-linux-gnu) for the shared libraries of the
# dynamic programs;
# eu-stack (elfutils) is the second client; crit (package criu) cross-checks the
# images tools/c2c-mkimg.py generates; qemu-user runs the programs.
arch_pkgs="gdb-multiarch qemu-user libc6-arm64-cross libc6-armhf-cross libc6-ppc64el-cross
libc6-s390x-cross libc6-riscv64-cross criu xz-utils python3 elfutils"
# Regenerating the fixtures (tools/arch-capture.sh) also needs the cross compilers.
# gcc -m32 for the ia32 fixture (a static program, so the tests need no 32-bit
# runtime: gdb-multiarch reads its i386 cores): gcc-12-multilib and libc6-dev-i386,
# not gcc-multilib, which conflicts with the cross compilers (its /usr/include/asm
# link; arch-capture.sh passes -idirafter /usr/include/x86_64-linux-gnu instead).
capture_pkgs="$arch_pkgs crossbuild-essential-arm64 crossbuild-essential-armhf
crossbuild-essential-ppc64el crossbuild-essential-s390x crossbuild-essential-riscv64
gcc-12-multilib libc6-dev-i386 gdb"

# tools/bench.py and tools/bench-grep.py: GNU time for peak RSS, the compressors
# of the archive cases, xfsprogs for the reflink case on a loop-mounted XFS.
bench_pkgs="$build_pkgs time zstd gzip tar xfsprogs python3"

case "${1:-build}" in
build) pkgs=$build_pkgs ;;
test) pkgs="$build_pkgs $test_pkgs $arch_pkgs" ;;
arch) pkgs="$arch_pkgs" ;;
capture) pkgs="$capture_pkgs" ;;
bench) pkgs="$bench_pkgs" ;;
*) echo "usage: $0 build|test|arch|capture|bench" >&2; exit 64 ;;
esac

missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "deps.sh: installing:$missing" >&2
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
