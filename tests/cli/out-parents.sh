# -o with a missing parent chain: every level is created.
# fixtures: sleep
. "$CLI_LIB"
c2c -o "$TMP/a/b/c" "$FIX/sleep/images"
expect_listing a b
expect_listing a/b c
expect_listing a/b/c core.19715
expect_core a/b/c/core.19715
finish
