#!/bin/sh
# container-rootfs.sh CKPT2CORE FIXTURES WORK: the runtime image's root file
# system (tools/container-rootfs.sh, as the Containerfile's "rootfs" stage
# makes it) is enough to run the watcher. The rootfs is built from the binary
# under test, /proc is bind-mounted (a container runtime mounts it), and
# `ckpt2core watch /checkpoints -o /cores --once` runs in it with chroot as
# uid 65532, the image's user. Its cores must equal a direct conversion.
# Exit 77 (skip) when not root or chroot/mount are not permitted here.
set -eu
bin=$1
arch=$2/counter-archives/archives
work=$3
src=$(cd "$(dirname "$0")/../.." && pwd)
crio=checkpoint-counters_default-counter-2026-11-28T21:47:15Z.tar

[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root for chroot"; exit 77; }
rm -rf "$work"
mkdir -p "$work"
root=$work/rootfs
sh "$src/tools/container-rootfs.sh" "$bin" "$root"
size=$(du -sh "$root" | cut -f1)
mkdir -p "$root/proc"
if ! mount --bind /proc "$root/proc" 2>/dev/null; then
	echo "SKIP: cannot bind-mount /proc here"
	exit 77
fi
trap 'umount "$root/proc"' EXIT
cp "$arch/$crio" "$arch/counter-podman.tar.zst" "$root/checkpoints/"
chown 65532:65532 "$root/cores"

if ! chroot --userspec=65532:65532 "$root" /usr/bin/ckpt2core --version >"$work/version" 2>&1; then
	if grep -q "Operation not permitted" "$work/version"; then
		echo "SKIP: chroot is not permitted here"
		exit 77
	fi
	echo "FAIL: ckpt2core does not run in the rootfs:"
	cat "$work/version"
	exit 1
fi
if [ -e "$root/bin/sh" ] || [ -e "$root/usr/bin/apt-get" ]; then
	echo "FAIL: the rootfs holds more than ckpt2core and its libraries"
	exit 1
fi
rc=0
chroot --userspec=65532:65532 "$root" /usr/bin/ckpt2core watch /checkpoints -o /cores --once \
	--settle 0 2>"$work/watch.log" || rc=$?
cat "$work/watch.log"
[ "$rc" -eq 0 ] || { echo "FAIL: watch --once in the rootfs: exit $rc"; exit 1; }
"$bin" -q "$arch/$crio" -o "$work/ref"
# Byte for byte, or (the Podman archive lists its pages first: verbatim
# layout) the same notes and memory (tests/pylib/corecmp.py).
same_core() {
	python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import corecmp
why = corecmp.layout_free_difference(sys.argv[2], sys.argv[3])
sys.exit("%s: %s" % (sys.argv[2], why) if why else 0)' "$(dirname "$0")/../pylib" "$1" "$2"
}
for a in "$crio" counter-podman.tar.zst; do
	for c in core.1 core.3 core.4; do
		same_core "$root/cores/$a/$c" "$work/ref/$c" ||
			{ echo "FAIL: $a/$c differs from a direct conversion"; exit 1; }
	done
	[ -f "$root/cores/$a/manifest.json" ] || { echo "FAIL: no manifest for $a"; exit 1; }
done
[ "$(stat -c %u "$root/cores/$crio/core.3")" = 65532 ] ||
	{ echo "FAIL: cores not written as uid 65532"; exit 1; }
echo "PASS: container-rootfs ($size rootfs)"
