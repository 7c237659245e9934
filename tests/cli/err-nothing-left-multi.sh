# All or nothing across processes: in the states fixture only process 4's
# pages (pages-3.img) are cut short, so processes 1 and 3 alone would
# convert, yet no core at all (and no temporary .core.* file) may be left.
# fixtures: states
. "$CLI_LIB"
copy_images states in
truncate -s 4096 in/pages-3.img || fail "truncate"
mkdir out
c2c -o "$TMP/out" "$TMP/in"
expect_listing out
finish
