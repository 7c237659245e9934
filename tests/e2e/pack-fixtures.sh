#!/bin/bash
# pack-fixtures.sh SRCDIR DESTDIR [NAME...]: build DESTDIR/NAME.tar.xz from the
# full fixture trees in SRCDIR (the shared copy, ../shared/fixtures), keeping
# only what the converter and tests/e2e/e2e.py need. Run by hand when a fixture
# is regenerated; CI only unpacks the committed tarballs.
#
# The archives are byte-for-byte reproducible: sorted names, owner 0, mtime 0,
# single-threaded xz -6. Modes get u+w so that extracted trees can be removed
# and re-extracted (the shared copy is read-only).
set -euo pipefail

src=${1:?usage: pack-fixtures.sh SRCDIR DESTDIR [NAME...]}
dest=${2:?usage: pack-fixtures.sh SRCDIR DESTDIR [NAME...]}
shift 2
names=("$@")
[ ${#names[@]} -gt 0 ] ||
	names=(sleep threads avx512 deep states counter shmem incremental manyvmas)

stage=$(mktemp -d)
trap 'chmod -R u+w "$stage"; rm -rf "$stage"' EXIT
mkdir -p "$dest"

for n in "${names[@]}"; do
	f=$src/$n
	s=$stage/$n
	mkdir -p "$s/decoded"
	# dump.log is CRIU's own log: large and never read by a converter.
	# stats-dump stays: it is part of the image directory as CRIU wrote it.
	for d in images bin oracle root pre; do
		if [ -e "$f/$d" ]; then cp -a "$f/$d" "$s/$d"; fi
	done
	cp -a "$f/exe.txt" "$f/pids.txt" "$s/"
	# Only the pagemaps: e2e.py needs them to know which pages the images
	# hold (decoded-pre/: those of the parent pre-dump of `incremental`).
	cp -a "$f"/decoded/pagemap-*.img.json "$s/decoded/"
	if [ -d "$f/decoded-pre" ]; then
		mkdir -p "$s/decoded-pre"
		cp -a "$f"/decoded-pre/pagemap-*.img.json "$s/decoded-pre/"
	fi
	chmod -R u+w "$s"
	rm -f "$s/images/dump.log"
	# The shared copy flattened CRIU's parent link into a regular file that
	# holds the link target; CRIU writes a symlink, so restore one.
	if [ -f "$s/images/parent" ] && [ ! -L "$s/images/parent" ]; then
		target=$(cat "$s/images/parent")
		rm -f "$s/images/parent"
		ln -s "$target" "$s/images/parent"
	fi
	tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
		--format=gnu -cf - "$n" | xz -6 -T1 -c >"$dest/$n.tar.xz"
	printf '%-12s %s\n' "$n" "$(du -h "$dest/$n.tar.xz" | cut -f1)"
done
