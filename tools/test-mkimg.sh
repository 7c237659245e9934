#!/bin/bash
# test-mkimg.sh: self test of tools/c2c-mkimg.py, the CRIU image generator.
#
# Usage: tools/test-mkimg.sh FIXTURE...
#   FIXTURE is a fixture directory holding images/ (optionally decoded/, pre/,
#   decoded-pre/ as in ../shared/fixtures/<name>/), or an image directory itself.
#   With no FIXTURE only the self-contained checks (part B) run.
# Exit: 0 all passed, 1 a check failed, 77 a FIXTURE does not exist (CTest skip).
#
# Part A, per real CRIU dump (these pin the encoder to CRIU's own bytes):
#   A1 decode -> encode of every image gives the same bytes;
#   A2 pycriu's JSON (decoded/) -> encode gives the real image's bytes;
#   A3 spec-from-images -> generate reproduces the whole directory byte for byte;
#   A4 the same spec in styles criu3 / criu3-old describes the same memory.
# Part B, generated from tools/examples/*.json and --synthetic:
#   B1 crit (Debian's CRIU 3.17, an independent protobuf decoder) reads back what
#      we wrote, field by field (skipped when crit is not installed);
#   B2 contents: markers, texts, shared memory routing, zombie/stopped cores,
#      registers, parent-chain resolution, styles, synthetic page accounting;
#   B3 bad specs are refused with exit status 2.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOOL="$HERE/c2c-mkimg.py"
# resolve once: version-manager shims (pyenv) cost ~0.1 s per start
PY=${PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/test-mkimg.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
fails=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
mk() { "$PY" "$TOOL" "$@"; }

have_crit=0
if command -v crit >/dev/null 2>&1 && crit --help >/dev/null 2>&1; then
	have_crit=1
fi

# ---- part A ---------------------------------------------------------------

image_dirs() { # FIXTURE -> "imagedir decodeddir" lines
	local fx=$1
	if [ -e "$fx/inventory.img" ]; then
		echo "$fx -"
		return
	fi
	[ -d "$fx/images" ] && echo "$fx/images $fx/decoded"
	[ -d "$fx/pre" ] && echo "$fx/pre $fx/decoded-pre"
}

check_roundtrip() { # A1
	local dir=$1 n ok=0 bad=0 img
	for img in "$dir"/*; do
		n=$(basename "$img")
		case $n in pages-*|dump.log|parent|*.json) continue ;; esac
		[ -f "$img" ] || continue
		if mk decode "$img" >"$WORK/rt.json" 2>"$WORK/err" &&
			mk encode "$WORK/rt.json" -o "$WORK/rt.img" 2>>"$WORK/err" &&
			cmp -s "$img" "$WORK/rt.img"; then
			ok=$((ok + 1))
		else
			bad=$((bad + 1))
			fail "A1 round trip $img: $(head -c 300 "$WORK/err")"
		fi
	done
	[ $bad -eq 0 ] && pass "A1 decode/encode byte round trip: $ok images in $dir"
}

check_pycriu() { # A2
	local dir=$1 dec=$2 ok=0 skip=0 bad=0 j n
	[ -d "$dec" ] || return 0
	for j in "$dec"/*.json; do
		n=$(basename "$j" .json)
		[ -f "$dir/$n" ] || continue
		if ! mk encode "$j" -o "$WORK/p.img" 2>"$WORK/err"; then
			# pycriu renders sockets etc. in forms (IP strings...) we do not parse
			if grep -q "unknown field" "$WORK/err"; then
				skip=$((skip + 1))
				continue
			fi
			bad=$((bad + 1))
			fail "A2 encode $j: $(cat "$WORK/err")"
		elif ! cmp -s "$WORK/p.img" "$dir/$n"; then
			bad=$((bad + 1))
			fail "A2 pycriu JSON -> bytes differ for $n"
		else
			ok=$((ok + 1))
		fi
	done
	[ $bad -eq 0 ] && pass "A2 pycriu JSON re-encodes to CRIU's bytes: $ok images ($skip with unsupported message types skipped) in $dec"
}

check_mirror() { # A3, A4
	local dir=$1 out="$WORK/mirror" f b bad=0
	rm -rf "$out" "$WORK/spec.json"
	if ! mk spec-from-images "$dir" -o "$WORK/spec.json" 2>"$WORK/err"; then
		grep -q "no pstree.img" "$WORK/err" && return 0   # pre-dump dirs
		fail "A3 spec-from-images $dir: $(cat "$WORK/err")"
		return
	fi
	if ! mk "$WORK/spec.json" -o "$out" 2>"$WORK/err"; then
		fail "A3 generate mirror of $dir: $(cat "$WORK/err")"
		return
	fi
	for f in "$dir"/*; do
		b=$(basename "$f")
		case $b in dump.log|*.json) continue ;; esac
		if [ -L "$f" ]; then
			[ "$(readlink "$f")" = "$(readlink "$out/$b")" ] ||
				{ bad=$((bad + 1)); fail "A3 mirror: symlink $b differs"; }
			continue
		fi
		[ -f "$f" ] || continue
		cmp -s "$f" "$out/$b" || { bad=$((bad + 1)); fail "A3 mirror differs: $b"; }
	done
	for f in "$out"/*; do
		b=$(basename "$f")
		[ -e "$dir/$b" ] || { bad=$((bad + 1)); fail "A3 mirror has extra file $b"; }
	done
	[ $bad -eq 0 ] && pass "A3 spec-from-images + generate reproduces $dir byte for byte"
	for style in criu3 criu3-old; do
		"$PY" - "$WORK/spec.json" "$style" "$WORK/spec-$style.json" <<-'EOF'
			import json, sys
			s = json.load(open(sys.argv[1]))
			s['style'] = sys.argv[2]
			json.dump(s, open(sys.argv[3], 'w'))
		EOF
		rm -rf "$WORK/m-$style"
		if ! mk "$WORK/spec-$style.json" -o "$WORK/m-$style" 2>"$WORK/err"; then
			grep -q "cannot express" "$WORK/err" && { pass "A4 $style refuses flags it cannot express"; continue; }
			fail "A4 generate $style of $dir: $(cat "$WORK/err")"
			continue
		fi
		if "$PY" "$HERE/test-mkimg.py" same-memory "$dir" "$WORK/m-$style" "$style" 2>"$WORK/err"; then
			pass "A4 $style rendering of $dir describes the same memory"
		else
			fail "A4 $style rendering of $dir: $(cat "$WORK/err")"
		fi
	done
}

for fx in "$@"; do
	if [ ! -e "$fx" ]; then
		echo "SKIP $fx does not exist"
		exit 77
	fi
	while read -r dir dec; do
		check_roundtrip "$dir"
		check_pycriu "$dir" "$dec"
		check_mirror "$dir"
	done < <(image_dirs "$fx")
done

# ---- part B ---------------------------------------------------------------

gen_ok() { # NAME SPEC OUT [extra args]
	local name=$1 spec=$2 out=$3
	shift 3
	rm -rf "$out"
	if mk ${spec:+"$spec"} -o "$out" "$@" 2>"$WORK/err"; then
		return 0
	fi
	fail "$name: generation failed: $(cat "$WORK/err")"
	return 1
}

crit_check() { # B1: crit decode -> our encode must equal our image (minus fields crit 3.17 lacks)
	local dir=$1 img n bad=0 ok=0
	[ $have_crit -eq 1 ] || { echo "SKIP B1 crit not installed ($dir)"; return; }
	for img in "$dir"/*; do
		n=$(basename "$img")
		case $n in pages-*|parent) continue ;; esac
		[ -f "$img" ] || continue
		if ! crit decode -i "$img" -o "$WORK/crit.json" 2>"$WORK/err"; then
			bad=$((bad + 1))
			fail "B1 crit cannot decode $img: $(tail -1 "$WORK/err")"
		elif ! "$PY" "$HERE/test-mkimg.py" crit-same "$img" "$WORK/crit.json" 2>"$WORK/err"; then
			bad=$((bad + 1))
			fail "B1 crit reads $n differently: $(cat "$WORK/err")"
		else
			ok=$((ok + 1))
		fi
	done
	[ $bad -eq 0 ] && pass "B1 crit reads back all $ok images of $dir field by field"
}

semantic() { # NAME CHECK ARGS...
	local name=$1
	shift
	if "$PY" "$HERE/test-mkimg.py" "$@" 2>"$WORK/err"; then
		pass "$name"
	else
		fail "$name: $(cat "$WORK/err")"
	fi
}

EX="$HERE/examples"
if gen_ok "B all-kinds" "$EX/all-kinds.json" "$WORK/ak"; then
	crit_check "$WORK/ak"
	semantic "B2 all-kinds contents (markers, shmem routing, states, registers)" all-kinds "$WORK/ak"
fi
if gen_ok "B chain" "$EX/chain.json" "$WORK/chain"; then
	crit_check "$WORK/chain/images"
	semantic "B2 parent chain pre1 <- pre2 <- images resolves every page" chain "$WORK/chain"
fi
for style in criu3 criu3-old; do
	"$PY" - "$EX/chain.json" "$style" "$WORK/chain-$style.json" <<-'EOF'
		import json, sys
		s = json.load(open(sys.argv[1]))
		s['style'] = sys.argv[2]
		json.dump(s, open(sys.argv[3], 'w'))
	EOF
	if gen_ok "B chain-$style" "$WORK/chain-$style.json" "$WORK/chain-$style"; then
		crit_check "$WORK/chain-$style/images"
		semantic "B2 parent chain in style $style (wire fields + resolution)" chain "$WORK/chain-$style" "$style"
	fi
done
if gen_ok "B synthetic" "" "$WORK/syn" --synthetic --procs 3 --threads 2 --vmas 5 \
	--mem-mib 2 --zero-fraction 0.3 --run-pages 3; then
	crit_check "$WORK/syn"
	semantic "B2 synthetic: markers at every page, holes, accounting" synthetic "$WORK/syn" 3 2 5 2 0.3 3
fi
if gen_ok "B synthetic-lazy" "" "$WORK/synl" --synthetic --lazy --no-merge --style criu3 \
	--mem-mib 0.25 --run-pages 2; then
	semantic "B2 synthetic --lazy --no-merge --style criu3" synthetic-lazy "$WORK/synl"
fi
semantic "B3 bad specs are refused with a message" bad-specs "$TOOL" "$WORK"

# B4: aarch64 and arm processes described from qemu-user cores, and an ia32
# (compat) one from a kernel core (fixtures/arch, tools/arch-capture.sh), become
# CRIU images; crit must read back the same registers, VMAs, auxv and pages.
for fx in "$HERE"/../fixtures/arch/aarch64-mt-dyn.tar.xz "$HERE"/../fixtures/arch/arm-mt-dyn.tar.xz \
	"$HERE"/../fixtures/arch/ia32-st-static.tar.xz; do
	[ -f "$fx" ] || { echo "SKIP B4 $fx missing"; continue; }
	[ $have_crit -eq 1 ] || { echo "SKIP B4 crit not installed"; continue; }
	name=$(basename "$fx" .tar.xz)
	tar -C "$WORK" -xJf "$fx"
	if mk from-desc "$WORK/$name/desc.json" -o "$WORK/$name-img" 2>"$WORK/err"; then
		crit_check "$WORK/$name-img"
		semantic "B4 $name: crit reads back the described process" arch-desc \
			"$WORK/$name/desc.json" "$WORK/$name-img"
	else
		fail "B4 $name: generation failed: $(cat "$WORK/err")"
	fi
done

if [ $fails -ne 0 ]; then
	echo "$fails check(s) failed"
	exit 1
fi
echo "all checks passed"
