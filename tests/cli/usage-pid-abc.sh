# --pid with a value that is not a pid.
# fixtures: sleep
. "$CLI_LIB"
c2c --pid abc -o "$TMP/out" "$FIX/sleep/images"
expect_listing .
finish
