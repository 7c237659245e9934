# --pid 999, which pstree.img does not list: a usage error naming the pid
# and the checkpoint; the output directory is not created.
# fixtures: states
. "$CLI_LIB"
c2c --pid 999 -o "$TMP/out" "$FIX/states/images"
expect_absent out
finish
