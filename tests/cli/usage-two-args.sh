# Two checkpoint directories: only one is accepted, and neither is read.
# fixtures: sleep
. "$CLI_LIB"
c2c -o "$TMP/out" "$FIX/sleep/images" "$FIX/sleep/images"
expect_listing .
finish
