# pages-1.img removed: the pagemap record that first needs it is named (file,
# offset, record) together with the missing file; the output stays empty.
# fixtures: sleep
. "$CLI_LIB"
copy_images sleep in
rm in/pages-1.img || fail "rm"
mkdir out
c2c -o "$TMP/out" "$TMP/in"
expect_listing out
finish
