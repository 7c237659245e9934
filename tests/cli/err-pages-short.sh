# pages-1.img one page short (122880 -> 118784 bytes): the last pagemap entry
# points past its end. The error names the pagemap record (file, offset,
# record), the page address, and the size needed versus the size found.
# fixtures: sleep
. "$CLI_LIB"
copy_images sleep in
truncate -s 118784 in/pages-1.img || fail "truncate"
mkdir out
c2c -o "$TMP/out" "$TMP/in"
expect_listing out
finish
