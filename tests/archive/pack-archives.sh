#!/bin/bash
# pack-archives.sh SRCDIR DEST: build DEST (fixtures/counter-archives.tar.xz)
# from the shared `counter` fixture's engine archives, SRCDIR being that
# fixture (../shared/fixtures/counter). Run by hand when the archives are
# regenerated (fixtures/src/make-archives.sh); CI only unpacks the tarball.
#
# The tarball holds counter-archives/archives/ (the CRI-O/kubelet .tar and the
# Podman .tar.zst, byte-identical) and counter-archives/rootfs-diff/. It is
# reproducible byte for byte, like tests/e2e/pack-fixtures.sh: sorted names,
# owner 0, mtime 0, modes u+w, single-threaded xz -6.
set -euo pipefail

src=${1:?usage: pack-archives.sh SRCDIR DEST}
dest=${2:?usage: pack-archives.sh SRCDIR DEST}

stage=$(mktemp -d)
trap 'chmod -R u+w "$stage"; rm -rf "$stage"' EXIT
mkdir "$stage/counter-archives"
cp -a "$src/archives" "$src/rootfs-diff" "$stage/counter-archives/"
chmod -R u+w "$stage"
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
	--format=gnu -cf - counter-archives | xz -6 -T1 -c >"$dest"
printf '%s %s\n' "$dest" "$(stat -c %s "$dest")"
