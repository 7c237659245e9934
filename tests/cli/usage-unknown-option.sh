# An unknown long option: getopt's message and the pointer to --help.
# fixtures: sleep
. "$CLI_LIB"
c2c --bogus -o "$TMP/out" "$FIX/sleep/images"
expect_listing .
finish
