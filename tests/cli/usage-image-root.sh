# --image and --root both say where the files come from: a usage error.
. "$CLI_LIB"
c2c --image "$TMP/a" --root "$TMP/b" -o "$TMP/out" "$TMP/in"
expect_listing .
finish
