# Only one of several cores exists (core.3 of states): the run is refused
# before anything is written, so core.1 and core.4 do not appear either, and
# the existing file is untouched.
# fixtures: states
. "$CLI_LIB"
mkdir out
echo keep >out/core.3
c2c -o "$TMP/out" "$FIX/states/images"
expect_text out/core.3 keep
expect_listing out core.3
finish
