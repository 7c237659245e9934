# --pid as the last word, without its value.
# fixtures: sleep
. "$CLI_LIB"
c2c -o "$TMP/out" "$FIX/sleep/images" --pid
expect_listing .
finish
