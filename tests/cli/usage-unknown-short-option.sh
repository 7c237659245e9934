# An unknown short option.
# fixtures: sleep
. "$CLI_LIB"
c2c -x -o "$TMP/out" "$FIX/sleep/images"
expect_listing .
finish
