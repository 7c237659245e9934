# -q still prints errors.
# fixtures: sleep
. "$CLI_LIB"
copy_images sleep in
rm in/pstree.img || fail "rm"
c2c -q -o "$TMP/out" "$TMP/in"
expect_absent out
finish
