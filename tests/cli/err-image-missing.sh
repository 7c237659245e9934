# --image names nothing: the error names it with the system's reason, and
# neither cores nor a sysroot are left (the output directory is not kept).
# fixtures: sleep
. "$CLI_LIB"
c2c --image "$TMP/noimage" -o "$TMP/out" "$FIX/sleep/images"
expect_absent out
expect_listing .
finish
