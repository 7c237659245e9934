# The checkpoint directory does not exist: the error names it, and the
# output directory given with -o is not created.
. "$CLI_LIB"
c2c -o "$TMP/out" "$TMP/nosuch"
expect_absent out
expect_listing .
finish
