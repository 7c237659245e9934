# mm-<pid>.img cut in the middle of its only record (a u32 length of 1409 at
# offset 8, then the MmEntry): the error names the file, the offset of the
# record and how much is missing, and the output directory stays empty.
# fixtures: sleep
. "$CLI_LIB"
copy_images sleep in
truncate -s 700 in/mm-19715.img || fail "truncate"
mkdir out
c2c -o "$TMP/out" "$TMP/in"
expect_listing out
finish
