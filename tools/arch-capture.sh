#!/bin/sh
# arch-capture.sh ARCH [OUTDIR]: make the cross-architecture test fixtures.
#
# For each program of tests/arch/src (mt-dyn: 4 threads, dynamically linked;
# st-static: one thread, static) this cross-compiles it for ARCH, runs it
# under qemu-user until it dies of a signal in a known state, and keeps
#   qemu.core   the core qemu-user wrote itself (the reference for gdb),
#   gcore.core  gdb's gcore of the same stopped process over qemu's gdb stub
#               (the reference for the FP/SIMD registers qemu's core lacks),
#   bin/PROG    the program (-g -O0),
#   gdb-stub.out gdb's session over the stub, with every thread's registers,
#   desc.json   the process state described from those (tools/arch-describe.py):
#               registers per thread, VMAs, memory of each PT_LOAD, auxv,
#   capture.txt what ran, and the note census of both cores,
# packed as OUTDIR/ARCH-PROG.tar.xz (default OUTDIR: fixtures/arch), and
# appends what was used to OUTDIR/PROVENANCE.md.
#
# One run of qemu gives both cores: gdb attaches through qemu's gdb stub (a
# unix socket in the work directory, so no TCP port is opened), lets the
# program run until the fatal signal stops it, writes gcore, then continues,
# so qemu delivers the signal and writes its own core of the very same state.
#
# Needs (installed by tools/deps.sh capture, which this runs): qemu-user,
# gdb-multiarch, the ARCH cross compiler and libc, python3, xz-utils.
# Regenerate: tools/arch-capture.sh aarch64; tools/arch-capture.sh arm;
# tools/arch-capture.sh ia32 (native, mt-dyn.c built static as mt-static, and
# st-static; the kernel's core is the reference, see capture_native)
# tools/arch-capture.sh ppc64le; tools/arch-capture.sh s390x
set -eu

arch=${1:?usage: arch-capture.sh ARCH [OUTDIR]}
top=$(cd "$(dirname "$0")/.." && pwd)
out=${2:-$top/fixtures/arch}
src=$top/tests/arch/src

# ARCH: cross compiler, qemu binary, CPU model, sysroot for -L, gdb arch name.
# The CPU models have FP/SIMD but no SVE, PAC or MTE: CRIU saves none of those,
# so a core that a kernel wrote from such a dump has only the plain notes
# (tests/arch/README.md).
case $arch in
aarch64) cc=aarch64-linux-gnu-gcc qemu=qemu-aarch64 cpu=cortex-a57
	sysroot=/usr/aarch64-linux-gnu gdbarch=aarch64 libcpkg=libc6-arm64-cross ;;
riscv64) # qemu 7.2 writes no riscv64 core and gdb 13's gcore of it has unreadable
	# NT_PRSTATUS notes: the reference is gdb on the live process (capture_live)
	cc=riscv64-linux-gnu-gcc qemu=qemu-riscv64 cpu=rv64
	sysroot=/usr/riscv64-linux-gnu gdbarch=riscv:rv64 libcpkg=libc6-riscv64-cross ;;
arm) # -marm: the inline asm of the programs uses r7, Thumb's frame pointer
	cc="arm-linux-gnueabihf-gcc -marm" qemu=qemu-arm cpu=cortex-a15
	sysroot=/usr/arm-linux-gnueabihf gdbarch=armv7 libcpkg=libc6-armhf-cross ;;
ia32) # a 32-bit program run natively on this x86_64 host (a compat task): the
	# reference is the kernel's own core (tests/arch/README.md "ia32"); -msse2
	# for the xmm registers the inline asm loads; asm/ headers from the amd64
	# linux-libc-dev (what gcc-multilib's /usr/include/asm link gives, tools/deps.sh)
	cc="gcc -m32 -msse2 -idirafter /usr/include/x86_64-linux-gnu" qemu= cpu= sysroot=
	gdbarch=i386 libcpkg=libc6-dev-i386 ;;
ppc64le) # POWER9: FP, VMX and VSX, the register sets CRIU saves (tests/arch/README.md)
	cc=powerpc64le-linux-gnu-gcc qemu=qemu-ppc64le cpu=power9
	sysroot=/usr/powerpc64le-linux-gnu gdbarch=powerpc:common64 libcpkg=libc6-ppc64el-cross ;;
s390x) # big endian; -cpu max has the vector facility (gcore saves v0-v31)
	cc=s390x-linux-gnu-gcc qemu=qemu-s390x cpu=max
	sysroot=/usr/s390x-linux-gnu gdbarch=s390:64-bit libcpkg=libc6-s390x-cross ;;
*) echo "arch-capture.sh: unknown ARCH $arch (aarch64, riscv64, arm, ia32, ppc64le, s390x)" >&2; exit 64 ;;
esac
# Install only what is missing: the cross compilers conflict with gcc-multilib
# in Debian 12, so a machine may hold one cross compiler but not the others.
missing_tool=
for t in "${cc%% *}" ${qemu:-gdb} gdb-multiarch python3 xz; do
	command -v "$t" >/dev/null || missing_tool=1
done
[ "$arch" = riscv64 ] || [ -z "$missing_tool" ] || sh "$top/tools/deps.sh" capture
for t in "${cc%% *}" ${qemu:-gdb} gdb-multiarch python3 xz; do
	command -v "$t" >/dev/null || { echo "arch-capture.sh: $t missing (tools/deps.sh capture)" >&2; exit 69; }
done

# The programs run from this fixed directory, so the paths in the fixtures
# (the executable seen in /proc/self/maps) are the same at every regeneration.
work=/tmp/c2c-arch/$arch
rm -rf "$work"
mkdir -p "$work" "$out"

cflags="-g -O0 -no-pie -fdebug-prefix-map=$src=/src/arch -DARCH_NAME=\"$arch\""
if [ "$arch" = ia32 ]; then
	# static, so that the tests need no 32-bit libraries
	$cc $cflags -static -pthread -o "$work/mt-static" "$src/mt-dyn.c"
else
	$cc $cflags -pthread -o "$work/mt-dyn" "$src/mt-dyn.c"
fi
$cc $cflags -static -o "$work/st-static" "$src/st-static.c"

# ia32: the program runs natively under gdb until its fatal signal stops it;
# gdb writes gcore.core, then detaches (removing its breakpoints from the
# text) and the pending signal kills the program: the kernel writes its core
# (core_pattern must be a plain file name, as "core").
capture_native() {
	prog=$1
	run=$work/$prog.run
	mkdir -p "$run"
	cd "$run"
	case $(cat /proc/sys/kernel/core_pattern) in
	'|'*|/*) echo "arch-capture.sh: core_pattern is $(cat /proc/sys/kernel/core_pattern):" \
		"the kernel core must land in the cwd (sysctl kernel.core_pattern=core)" >&2; exit 1 ;;
	esac
	rm -f core core.[0-9]*
	# A clean environment (the process keeps it in memory); gdb adds none
	# with startup-with-shell off and LINES/COLUMNS unset.
	(ulimit -c unlimited; exec env -i PATH=/usr/bin:/bin LANG=C.UTF-8 \
		timeout 300 gdb -nx -q -batch -iex 'set debuginfod enabled off' \
		-ex 'set startup-with-shell off' -ex 'unset environment LINES' \
		-ex 'unset environment COLUMNS' -ex "file $work/$prog" -ex run \
		-ex 'info threads' -ex 'gcore gcore.core' -ex detach) >gdb-native.log 2>&1 || true
	i=0
	while [ ! -s core ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	ref=$(ls core core.[0-9]* 2>/dev/null | head -n1)
	if [ -z "$ref" ] || [ ! -s gcore.core ]; then
		echo "arch-capture.sh: $prog: no kernel core or no gcore (see $run)" >&2
		exit 1
	fi
	fx=$work/fx/$arch-$prog
	mkdir -p "$fx/bin"
	cp "$work/$prog" "$fx/bin/$prog"
	mv "$ref" "$fx/kernel.core"
	mv gcore.core "$fx/"
	python3 "$top/tools/arch-describe.py" --arch "$arch" --core "$fx/kernel.core" \
		--gcore "$fx/gcore.core" --exe "$work/$prog" --exe-path "$work/$prog" \
		--core-name kernel.core -o "$fx/desc.json"
	{
		echo "arch $arch, program $prog, captured $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "kernel: $(uname -sr), core_pattern $(cat /proc/sys/kernel/core_pattern)"
		echo "gdb: gdb -batch -ex run -ex 'gcore gcore.core' -ex detach $work/$prog (env -i, ulimit -c unlimited)"
		echo "--- kernel.core notes (readelf -nW)"
		readelf -nW "$fx/kernel.core" | grep -E '^  [A-Z]' | cut -c1-90 || true
		echo "--- gcore.core notes (readelf -nW)"
		readelf -nW "$fx/gcore.core" | grep -E '^  [A-Z]' | cut -c1-90 || true
		echo "--- gdb (native)"
		cat gdb-native.log
	} >"$fx/capture.txt"
	tar -C "$work/fx" --owner=0 --group=0 --numeric-owner -cf - "$arch-$prog" |
		xz -9e -T1 >"$out/$arch-$prog.tar.xz"
	echo "arch-capture.sh: wrote $out/$arch-$prog.tar.xz ($(du -k "$out/$arch-$prog.tar.xz" | cut -f1) KiB)"
}

capture() {
	prog=$1
	run=$work/$prog.run
	mkdir -p "$run"
	cd "$run"
	lflag=
	[ "$prog" = st-static ] || lflag="-L $sysroot"
	sock=$run/gdb.sock
	# A clean environment: the guest keeps it in memory (and so in the cores).
	# shellcheck disable=SC2086
	(ulimit -c unlimited; exec env -i PATH=/usr/bin:/bin LANG=C.UTF-8 \
		$qemu -cpu $cpu $lflag -g "$sock" "$work/$prog") >qemu.log 2>&1 &
	qpid=$!
	i=0
	while [ ! -S "$sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	timeout 300 gdb-multiarch -nx -q -batch -iex 'set debuginfod enabled off' \
		-ex "set architecture $gdbarch" -ex "set sysroot $sysroot" -ex "file $work/$prog" \
		-ex "target remote $sock" -ex continue -ex 'info threads' \
		-ex 'echo @@ thread apply all info all-registers\n' \
		-ex 'thread apply all info all-registers' -ex 'echo @@ end\n' \
		-ex 'gcore gcore.core' -ex continue >gdb-stub.log 2>&1 || true
	wait $qpid || true
	ref=$(ls qemu_"$prog"_*.core 2>/dev/null | head -n1)
	if [ -z "$ref" ] || [ ! -s gcore.core ]; then
		echo "arch-capture.sh: $prog: no qemu core or no gcore (see $run)" >&2
		exit 1
	fi
	mv "$ref" qemu.core
	# the host core of qemu itself, if the kernel wrote one here
	rm -f core core.[0-9]*

	fx=$work/fx/$arch-$prog
	mkdir -p "$fx/bin"
	# -p: an executable newer than the core makes gdb warn "exec file is newer"
	cp -p "$work/$prog" "$fx/bin/$prog"
	mv qemu.core gcore.core "$fx/"
	# the registers as qemu's stub shows them: on ppc64le the reference for
	# the vector registers gcore does not save (tests/arch/README.md)
	cp gdb-stub.log "$fx/gdb-stub.out"
	python3 "$top/tools/arch-describe.py" --arch "$arch" --core "$fx/qemu.core" \
		--gcore "$fx/gcore.core" --exe "$work/$prog" --exe-path "$work/$prog" \
		--sysroot "$sysroot" --stub-log "$fx/gdb-stub.out" --core-name qemu.core \
		-o "$fx/desc.json"
	{
		echo "arch $arch, program $prog, captured $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "qemu: $qemu -cpu $cpu $lflag -g SOCKET $work/$prog (env -i, ulimit -c unlimited)"
		echo "gdb: gdb-multiarch -batch ... -ex 'target remote SOCKET' -ex continue -ex 'gcore gcore.core' -ex continue"
		[ -n "$lflag" ] && echo "sysroot: $sysroot"
		echo "--- qemu.core notes (readelf -nW)"
		readelf -nW "$fx/qemu.core" | grep -E '^  [A-Z]' || true
		echo "--- gcore.core notes (readelf -nW)"
		readelf -nW "$fx/gcore.core" | grep -E '^  [A-Z]' | sed 's/\s*description data:.*//' || true
		echo "--- gdb over the stub"
		cat gdb-stub.log
	} >"$fx/capture.txt"
	tar -C "$work/fx" --owner=0 --group=0 --numeric-owner -cf - "$arch-$prog" |
		xz -9e -T1 >"$out/$arch-$prog.tar.xz"
	echo "arch-capture.sh: wrote $out/$arch-$prog.tar.xz ($(du -k "$out/$arch-$prog.tar.xz" | cut -f1) KiB)"
}

# riscv64: qemu 7.2 writes no core of a riscv64 guest, so the reference is gdb's
# own output on the live process, stopped at its fatal signal over qemu's stub
# (gdb-live.out: the commands of tests/arch/gdb-arch.cmd, after gdb re-reads
# the shared library list so that it is in link_map order, as gdb lists it for
# any core); tools/arch-live.py then dumps the state the stub gives (registers
# of every thread, the memory of every mapping the program listed) and packs
# it, with the auxv of gdb's gcore of the same stop, into live.core, which
# tools/arch-describe.py describes (tests/arch/README.md "riscv64").
capture_live() {
	prog=$1
	run=$work/$prog.run
	mkdir -p "$run"
	cd "$run"
	lflag=
	[ "$prog" = st-static ] || lflag="-L $sysroot"
	sock=$run/gdb.sock
	# shellcheck disable=SC2086
	(ulimit -c 0; exec env -i PATH=/usr/bin:/bin LANG=C.UTF-8 \
		$qemu -cpu $cpu $lflag -g "$sock" "$work/$prog") >qemu.log 2>&1 &
	qpid=$!
	i=0
	while [ ! -S "$sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	timeout 300 gdb-multiarch -nx -q -batch -iex 'set debuginfod enabled off' \
		-ex "set architecture $gdbarch" -ex "set sysroot $sysroot" -ex "file $work/$prog" \
		-ex "target remote $sock" -ex continue -ex nosharedlibrary -ex sharedlibrary \
		-ex 'echo @@ begin\n' -x "$top/tests/arch/gdb-arch.cmd" -ex 'echo @@ end\n' \
		-ex "source $top/tools/arch-live.py" -ex 'python arch_live_dump("live")' \
		-ex 'gcore gcore.core' -ex kill >gdb-stub.log 2>&1 || true
	wait $qpid || true
	if [ ! -s live/live.json ] || [ ! -s gcore.core ]; then
		echo "arch-capture.sh: $prog: no live state or no gcore (see $run)" >&2
		exit 1
	fi
	fx=$work/fx/$arch-$prog
	mkdir -p "$fx/bin"
	cp "$work/$prog" "$fx/bin/$prog"
	sed -n '/^@@ begin$/,/^@@ end$/p' gdb-stub.log | sed '1d;$d' >"$fx/gdb-live.out"
	python3 "$top/tools/arch-live.py" build live gcore.core -o "$fx/live.core"
	mv gcore.core "$fx/"
	python3 "$top/tools/arch-describe.py" --arch "$arch" --core "$fx/live.core" \
		--gcore "$fx/live.core" --exe "$work/$prog" --exe-path "$work/$prog" \
		--sysroot "$sysroot" --core-name live.core -o "$fx/desc.json"
	{
		echo "arch $arch, program $prog, captured $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "qemu: $qemu -cpu $cpu $lflag -g SOCKET $work/$prog (env -i)"
		echo "gdb: gdb-multiarch -batch ... -ex 'target remote SOCKET' -ex continue -ex nosharedlibrary -ex sharedlibrary -x tests/arch/gdb-arch.cmd -ex 'python arch_live_dump(\"live\")' -ex 'gcore gcore.core' -ex kill"
		[ -n "$lflag" ] && echo "sysroot: $sysroot"
		echo "--- live.core notes (readelf -nW; tools/arch-live.py build)"
		readelf -nW "$fx/live.core" | grep -E '^  [A-Z]' || true
		echo "--- gcore.core notes (readelf -nW; gdb 13's NT_PRSTATUS: the x86_64 host's 336-byte layout)"
		readelf -nW "$fx/gcore.core" | grep -E '^  [A-Z]' | grep -v 'description data' || true
		echo "--- gdb over the stub"
		cat gdb-stub.log
	} >"$fx/capture.txt"
	tar -C "$work/fx" --owner=0 --group=0 --numeric-owner -cf - "$arch-$prog" |
		xz -9e -T1 >"$out/$arch-$prog.tar.xz"
	echo "arch-capture.sh: wrote $out/$arch-$prog.tar.xz ($(du -k "$out/$arch-$prog.tar.xz" | cut -f1) KiB)"
}

if [ "$arch" = ia32 ]; then
	capture_native mt-static
	capture_native st-static
elif [ "$arch" = riscv64 ]; then
	capture_live mt-dyn
	capture_live st-static
else
	capture mt-dyn
	capture st-static
fi

[ -s "$out/PROVENANCE.md" ] || printf '%s\n' "# Cross-architecture fixtures" "" \
	"Made by \`tools/arch-capture.sh ARCH\` (see tests/arch/README.md). Each \`ARCH-PROG.tar.xz\`" \
	"holds \`ARCH-PROG/\`: \`qemu.core\` (the reference: qemu-user's own core of the dying" \
	"program), \`gcore.core\` (gdb's gcore over qemu's gdb stub of the same stopped process)," \
	"\`bin/PROG\`, \`desc.json\` (tools/arch-describe.py) and \`capture.txt\` (commands, note" \
	"census, gdb's view over the stub). Nothing in them is typed in: every value comes from" \
	"the programs as they ran. Regenerating replaces the fixture of that ARCH and appends a" \
	"section here." >"$out/PROVENANCE.md"
{
	echo
	echo "## $arch, $(date -u +%Y-%m-%d)"
	echo
	echo "- command: \`tools/arch-capture.sh $arch\` (on $(uname -m), $(. /etc/os-release && echo "$PRETTY_NAME"))"
	echo "- compiler: \`$cc\`, $($cc --version | head -n1); flags: \`$cflags\` (+ -pthread / -static)"
	if [ -n "$qemu" ]; then
		echo "- qemu: $($qemu --version | head -n1), \`-cpu $cpu\`"
	else
		echo "- native run, kernel $(uname -r) on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
	fi
	echo "- gdb: $(gdb-multiarch --version | head -n1)"
	echo "- libc: $(dpkg-query -W -f='${Package} ${Version}' $libcpkg 2>/dev/null || echo unknown)"
	echo "- files: $(cd "$out" && ls "$arch"-*.tar.xz | tr '\n' ' ')"
} >>"$out/PROVENANCE.md"
