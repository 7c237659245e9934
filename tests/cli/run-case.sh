#!/bin/sh
# Driver for the CLI golden tests (house style §4.6 item 2).
#
#   run-case.sh CASEDIR CASE CKPT2CORE FIXTURES
#
# Runs CASEDIR/CASE.sh with /bin/sh in a fresh scratch directory and compares
#   - its exit status with CASE.exit (one number), and
#   - its stderr with CASE.stderr (exact text), or, if CASE.stderr.glob exists
#     instead, line by line with the shell patterns in that file,
# after replacing the scratch directory by @TMP@ and FIXTURES by @FIX@.
# Its stdout must be empty (cases that test stdout capture it themselves).
#
# The case sees:
#   TMP      its scratch directory, also the current directory (removed on success)
#   FIX      the unpacked e2e fixtures (read only: copy before corrupting)
#   CLI_LIB  tests/cli/lib.sh, the helpers it sources
#   C2C_WRAPPER  optional command prefix for the converter (e.g. valgrind)
# and finds the converter on PATH as plain `ckpt2core`, so that argv[0] and
# therefore getopt's own messages are the same wherever the build tree is.
# The case's stderr is the text under test; its checks report to fd 3.
set -u

if [ $# -ne 4 ]; then
	echo "usage: $0 CASEDIR CASE CKPT2CORE FIXTURES" >&2
	exit 2
fi
casedir=$1
case=$2
bin=$3
FIX=$4
script=$casedir/$case.sh

for f in "$script" "$casedir/$case.exit"; do
	if [ ! -f "$f" ]; then
		echo "run-case: '$f' is missing" >&2
		exit 2
	fi
done
if [ -f "$casedir/$case.stderr.glob" ]; then
	golden=$casedir/$case.stderr.glob
	mode=glob
elif [ -f "$casedir/$case.stderr" ]; then
	golden=$casedir/$case.stderr
	mode=exact
else
	echo "run-case: neither '$casedir/$case.stderr' nor '$casedir/$case.stderr.glob' exists" >&2
	exit 2
fi
if [ ! -x "$bin" ]; then
	echo "run-case: converter '$bin' is not executable" >&2
	exit 2
fi
want_rc=$(tr -d ' \t\n' <"$casedir/$case.exit")

ws=$(mktemp -d "${TMPDIR:-/tmp}/c2c-cli-$case.XXXXXX") || exit 2
TMP=$ws/tmp
mkdir "$TMP" "$ws/bin" || exit 2
ln -s "$bin" "$ws/bin/ckpt2core" || exit 2
PATH=$ws/bin:$PATH
CLI_LIB=$casedir/lib.sh
C2C_WRAPPER=${C2C_WRAPPER:-}
export TMP FIX CLI_LIB C2C_WRAPPER PATH
# A fixed environment: messages must not depend on the user's locale or umask.
LC_ALL=C
export LC_ALL
umask 022

(cd "$TMP" && exec sh "$script" 3>&2 2>"$ws/stderr.raw" >"$ws/stdout")
rc=$?

# Literal (not regex) replacement of both directories, longest first.
awk -v tmp="$TMP" -v fix="$FIX" '
function subst(s, from, to,    out, i) {
	out = ""
	while (from != "" && (i = index(s, from)) > 0) {
		out = out substr(s, 1, i - 1) to
		s = substr(s, i + length(from))
	}
	return out s
}
{
	if (length(tmp) >= length(fix)) {
		$0 = subst($0, tmp, "@TMP@"); $0 = subst($0, fix, "@FIX@")
	} else {
		$0 = subst($0, fix, "@FIX@"); $0 = subst($0, tmp, "@TMP@")
	}
	print
}' "$ws/stderr.raw" >"$ws/stderr"

ok=1
if [ "$rc" = 125 ]; then
	echo "FAIL: a check inside $case.sh failed (see above)"
	ok=0
elif [ "$rc" != "$want_rc" ]; then
	echo "FAIL: exit status $rc, expected $want_rc"
	ok=0
fi

if [ "$mode" = exact ]; then
	if ! cmp -s "$golden" "$ws/stderr"; then
		echo "FAIL: stderr differs from $case.stderr (- expected, + actual):"
		diff -u "$golden" "$ws/stderr" | sed 1,2d
		ok=0
	fi
else
	# Each line of the glob file is a shell pattern for one line of stderr.
	n_want=$(wc -l <"$golden")
	n_got=$(wc -l <"$ws/stderr")
	glob_ok=1
	if [ "$n_want" -ne "$n_got" ]; then
		glob_ok=0
	else
		exec 4<"$golden" 5<"$ws/stderr"
		while IFS= read -r pat <&4 && IFS= read -r line <&5; do
			# shellcheck disable=SC2254
			case $line in
			$pat) ;;
			*) glob_ok=0 ;;
			esac
		done
		exec 4<&- 5<&-
	fi
	if [ $glob_ok = 0 ]; then
		echo "FAIL: stderr does not match $case.stderr.glob"
		echo "--- patterns:"
		cat "$golden"
		echo "--- stderr:"
		cat "$ws/stderr"
		ok=0
	fi
fi

if [ -s "$ws/stdout" ]; then
	echo "FAIL: unexpected output on stdout:"
	cat "$ws/stdout"
	ok=0
fi

if [ $ok = 1 ]; then
	rm -rf "$ws"
	echo "PASS: $case"
	exit 0
fi
echo "(scratch directory kept: $ws)"
exit 1
