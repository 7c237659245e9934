# Helpers for the CLI golden cases, sourced by each tests/cli/<case>.sh
# (driver: run-case.sh, which sets TMP, FIX and PATH and makes TMP the
# current directory).
#
# A case prepares its input, runs the invocation under test once with `c2c`
# (whose stderr is the golden text and whose status becomes the case's exit
# status via `finish`), then checks the output directory. A failed check
# prints to fd 3 and exits 125, which the driver reports as such.

rc=

fail()
{
	printf 'CHECK FAILED: %s\n' "$*" >&3
	exit 125
}

# copy_images FIXTURE DEST: a private, writable copy of FIXTURE's images, for
# corrupting. The unpacked fixture itself is never modified.
copy_images()
{
	[ -d "$FIX/$1/images" ] || fail "fixture '$FIX/$1' is not unpacked"
	cp -R "$FIX/$1/images" "$2" || fail "cannot copy fixture '$1'"
	chmod -R u+w "$2" || fail "cannot make '$2' writable"
}

# c2c ARGS...: the invocation under test. Stderr goes to the case's stderr
# (compared with <case>.stderr); the exit status is left in $rc.
c2c()
{
	rc=0
	# C2C_WRAPPER is a command prefix and is split on purpose.
	# shellcheck disable=SC2086
	$C2C_WRAPPER ckpt2core "$@" || rc=$?
}

# c2c_setup ARGS...: a preparatory conversion, which must succeed with no
# message at all under -q.
c2c_setup()
{
	_err=$($C2C_WRAPPER ckpt2core -q "$@" 2>&1 >/dev/null) || fail "setup run 'ckpt2core -q $*' failed: $_err"
	[ -z "$_err" ] || fail "setup run 'ckpt2core -q $*' printed: $_err"
}

# finish: end the case with the status of the invocation under test.
finish()
{
	[ -n "$rc" ] || fail "the case never ran ckpt2core through c2c"
	exit "$rc"
}

# expect_listing DIR [NAME...]: DIR holds exactly these entries (dot files
# included, so a left-over temporary '.core.*' fails the check).
expect_listing()
{
	_dir=$1
	shift
	[ -d "$_dir" ] || fail "'$_dir' is not a directory"
	# names are ours and plain, so ls is fine here
	# shellcheck disable=SC2012
	_got=$(ls -A "$_dir" | LC_ALL=C sort | tr '\n' ' ')
	_want=$(for n in "$@"; do printf '%s\n' "$n"; done | LC_ALL=C sort | tr '\n' ' ')
	[ "$_got" = "$_want" ] || fail "'$_dir' holds [ $_got], expected [ $_want]"
}

# expect_absent PATH: nothing (not even a dangling symlink) is at PATH.
expect_absent()
{
	if [ -e "$1" ] || [ -L "$1" ]; then
		fail "'$1' exists"
	fi
}

# expect_mode FILE OCTAL: FILE is a regular file (not a symlink) with these
# permission bits.
expect_mode()
{
	if [ ! -f "$1" ] || [ -L "$1" ]; then
		fail "'$1' is not a regular file"
	fi
	_m=$(stat -c %a "$1")
	[ "$_m" = "$2" ] || fail "'$1' has mode $_m, expected $2"
}

# expect_core FILE: FILE is a regular file holding an ELF core (ET_CORE).
expect_core()
{
	if [ ! -f "$1" ] || [ -L "$1" ]; then
		fail "'$1' is not a regular file"
	fi
	# e_ident[0..3] = 7f 'E' 'L' 'F', e_type (offset 16, little endian) = 4
	_h=$(od -An -tx1 -N18 "$1" | tr -d ' \n')
	case $_h in
	7f454c46????????????????????????0400) ;;
	*) fail "'$1' is not an ELF core (header $_h)" ;;
	esac
}

# expect_same A B: A and B have the same bytes.
expect_same()
{
	cmp -s "$1" "$2" || fail "'$1' and '$2' differ"
}

# expect_symlink PATH TARGET: PATH is still a symlink to TARGET.
expect_symlink()
{
	[ -L "$1" ] || fail "'$1' is no longer a symlink"
	_t=$(readlink "$1")
	[ "$_t" = "$2" ] || fail "'$1' points to '$_t', expected '$2'"
}

# expect_text FILE TEXT: FILE holds exactly TEXT and a newline.
expect_text()
{
	_c=$(cat "$1") || fail "cannot read '$1'"
	[ "$_c" = "$2" ] || fail "'$1' holds '$_c', expected '$2'"
}
