#!/bin/sh
# container-rootfs.sh BINARY DEST: the root file system of the runtime
# image (Containerfile, stage "rootfs"): BINARY as /usr/bin/ckpt2core, every
# shared library ldd lists for it (copied, symlinks resolved, at the path the
# dynamic loader looks for them), the loader itself, a checkpointctl-coredump
# link, an /etc/passwd naming uid 65532, and empty /checkpoints, /cores and
# /tmp as mount points. Nothing else: no shell, no package manager.
# tests/watch (watch.container-rootfs) runs the result with chroot.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 BINARY DEST" >&2; exit 64; }
bin=$1
dest=$2

mkdir -p "$dest/usr/bin" "$dest/etc" "$dest/checkpoints" "$dest/cores" "$dest/tmp"
chmod 1777 "$dest/tmp"
install -m 0755 "$bin" "$dest/usr/bin/ckpt2core"
ln -sf ckpt2core "$dest/usr/bin/checkpointctl-coredump"

# "libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)"
libs=$(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
[ -n "$libs" ] || { echo "$0: ldd lists no libraries for $bin" >&2; exit 1; }
for lib in $libs; do
	mkdir -p "$dest$(dirname "$lib")"
	cp -L "$lib" "$dest$lib"
done

printf 'root:x:0:0:root:/:/nonexistent\nckpt2core:x:65532:65532:ckpt2core:/:/nonexistent\n' \
	>"$dest/etc/passwd"
printf 'root:x:0:\nckpt2core:x:65532:\n' >"$dest/etc/group"
