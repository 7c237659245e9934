# pstree.img removed: without the process tree nothing can be converted.
# fixtures: sleep
. "$CLI_LIB"
copy_images sleep in
rm in/pstree.img || fail "rm"
mkdir out
c2c -o "$TMP/out" "$TMP/in"
expect_listing out
finish
