# core-<tid>.img of a non-leader thread removed (the threads fixture has five
# threads: leader 19753 and 19756..19759): the missing image is named and
# the output directory stays empty.
# fixtures: threads
. "$CLI_LIB"
copy_images threads in
rm in/core-19757.img || fail "rm"
mkdir out
c2c -o "$TMP/out" "$TMP/in"
expect_listing out
finish
